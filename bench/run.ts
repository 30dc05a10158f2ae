/**
 * The benchmark harness: `npm run bench -- [group…] [--only WORD] [--threads N] [--json out.json] [--svg out.svg] [--quick] [--device cuda]`.
 * Each group prints a table of our time (median of repeats after warm-up, with min and max)
 * beside the same work in the reference libraries, and the ratio (above 1x: we are faster).
 * `--device cuda` runs the groups that have GPU cases (conv, models) on the GPU beside PyTorch
 * on the GPU. See bench/README.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import { Worker } from 'worker_threads';
import * as cc from '../lib';
import { benchConv } from './conv';
import { benchGemm } from './gemm';
import { benchLayers } from './layers';
import { benchLoss } from './loss';
import { benchModels } from './models';
import { benchOps } from './ops';
import { benchPool } from './pool';
import { benchResponsiveness } from './responsiveness';
import { ratioChart } from './chart';
import { mergePasses, printTable, recheckSlowRows, wanted, type BenchOptions, type GroupResult } from './harness';
import { torchBlasLine } from './python_worker';
import { TFJS_BACKENDS, tfjsColumn } from './tfjs';

const TFJS = TFJS_BACKENDS.map(tfjsColumn);

interface Group {
  references: string[];
  run: (opts: BenchOptions) => Promise<GroupResult>;
  /** The group also has GPU cases (`--device cuda`), with these references. */
  cuda?: { references: string[] };
}

const GROUPS: Record<string, Group> = {
  conv: { references: ['PyTorch'], run: benchConv, cuda: { references: ['PyTorch', 'cuDNN best', 'cuDNN best (graph)'] } },
  gemm: { references: ['OpenBLAS', 'PyTorch', ...TFJS], run: benchGemm },
  loss: { references: ['PyTorch'], run: benchLoss },
  pool: { references: ['PyTorch'], run: benchPool },
  layers: { references: ['PyTorch'], run: benchLayers },
  ops: { references: ['PyTorch'], run: benchOps },
  models: { references: ['PyTorch', ...TFJS], run: benchModels, cuda: { references: ['PyTorch'] } },
  responsiveness: { references: ['naive'], run: benchResponsiveness },
};

function usage(): never {
  console.log(`usage: npm run bench -- [group…] [--only WORD[,WORD…]] [--threads N[,M…]] [--passes N] [--json out.json] [--svg out.svg] [--quick] [--device cpu|cuda] [--cudnn-benchmark on|off]
groups: ${Object.keys(GROUPS).join(', ')} (default: all; with --device cuda: ${Object.keys(GROUPS).filter((g) => GROUPS[g].cuda).join(', ')})
--only      the cases whose name contains one of the words (e.g. --only dropout, --only "c2 bwd");
            models match on their sections (lenet5 train step b64, lenet5 train epoch, lenet5 inference,
            alexnet64 train step, resnet18, resnet50, googlenet, inception_v3, densenet121, mobilenet_v2)
--threads   thread counts to run (default: 1 and ${os.cpus().length}, this machine's cores; with --device cuda: ${os.cpus().length})
--passes    run each group N times and keep each side's lowest median (default 2 on the CPU,
            1 with --quick, on the GPU and for responsiveness; see bench/README.md)
--recheck   after each group, measure its rows under 1x again alone, N passes of both sides
            (default 3 on the CPU, 0: none; not with --quick or on the GPU), printed under the
            table beside the run's ratio (the table keeps the run's figures)
--json      also write the results as JSON
--svg       also draw a chart: the reference's time over ours per case (default with --json: beside it, .svg)
--quick     one tiny run of each case (a smoke test, not a measurement; on the GPU a few short runs)
--device    where our side runs (default cpu); cuda: beside PyTorch on the GPU
--cudnn-benchmark  with --device cuda: cuDNN's algorithm search on both sides (default on)`);
  process.exit(0);
}

function cudaLine(): string {
  const i = cc.cuda.info();
  if (!i.available) return `device cuda: NOT AVAILABLE (${i.reason})`;
  const d = i.devices[0];
  return `device cuda: ${d?.name ?? 'GPU'} (sm ${d?.computeCapability ?? '?'}, ${((d?.totalMemory ?? 0) / 2 ** 30).toFixed(0)} GiB), ` +
    `driver ${i.driverVersion}, runtime ${i.runtimeVersion}, cuDNN ${i.cudnn?.version ?? '-'}, cuBLAS ${i.cublas?.version ?? '-'}`;
}

/**
 * How much compute the machine's cores give in parallel right now: the fastest of a few 512^3
 * products at `threads` threads over the fastest at one, interleaved (~0.3 s). Near 1x, every
 * figure at that thread count is about a 1-thread figure, for PyTorch as for us. Seen on this
 * project's 2-core machine with a `nice -n 19` build running: 104 against 106 GFLOP/s, 204 once
 * `kernel.sched_autogroup_enabled` was 0 (bench/README.md, "A quiet machine"). Also possible: a
 * VM's vCPUs placed on one physical core's two hardware threads, which share its FMA units.
 */
function parallelSpeedup(threads: number): number {
  const before = cc.getNumThreads();
  const a = cc.randn([512, 512]), b = cc.randn([512, 512]);
  const best: Record<number, number> = { 1: Infinity, [threads]: Infinity };
  for (let round = 0; round < 4; round++) {
    for (const n of [1, threads]) {
      cc.setNumThreads(n);
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        cc.matmul(a, b).dispose();
        cc.syncBlocking();
        if (round > 0) best[n] = Math.min(best[n], performance.now() - t0);
      }
    }
  }
  cc.setNumThreads(before);
  a.dispose();
  b.dispose();
  return best[1] / best[threads];
}

/**
 * The round trip of a cache line between two threads, in ns: one thread writes a shared word and
 * spins until a second thread, in a worker, answers (~0.3 s at most). Every op the queue hands to
 * its worker pays a few such trips (the task, its tensors' counts, the output's memory), so small
 * ops' figures follow it: on this project's 2-vCPU VM it read 80 ns at one moment and 450-520 ns
 * at another (the vCPUs moved to cores further apart), and a queued 64^3 product took 4.0 us at
 * the first against 5-7 at the second (bench/JOURNAL.md, session 51). PyTorch, on one thread for
 * such sizes, does not notice. Null when the two threads did not run at once.
 */
async function coreRoundTripNs(): Promise<number | null> {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const rounds = 20000;
  const worker = new Worker(`
    const { workerData: flag } = require('worker_threads');
    Atomics.store(flag, 1, 1);
    const deadline = Date.now() + 1000;
    for (let i = 0; i < ${rounds}; i++) {
      for (let spins = 1; Atomics.load(flag, 0) !== 2 * i + 1; spins++) if ((spins & 1023) === 0 && Date.now() > deadline) process.exit(0);
      Atomics.store(flag, 0, 2 * i + 2);
    }`, { eval: true, workerData: flag });
  try {
    const start = Date.now();
    while (Atomics.load(flag, 1) !== 1) {
      if (Date.now() - start > 5000) return null;
      await new Promise((r) => setTimeout(r, 1));
    }
    const deadline = performance.now() + 300;
    const t0 = performance.now();
    let i = 0;
    for (; i < rounds; i++) {
      Atomics.store(flag, 0, 2 * i + 1);
      for (let spins = 1; Atomics.load(flag, 0) !== 2 * i + 2; spins++) if ((spins & 1023) === 0 && performance.now() > deadline) return null;
    }
    return ((performance.now() - t0) * 1e6) / i;
  } finally {
    await worker.terminate();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const filters: string[] = [];
  let json: string | undefined;
  let svg: string | undefined;
  const opts: BenchOptions = { threads: [...new Set([1, os.cpus().length])], quick: false, device: 'cpu' };
  let threadsGiven = false;
  let passes: number | undefined;
  let recheck: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') usage();
    else if (a === '--json') json = args[++i];
    else if (a === '--svg') svg = args[++i];
    else if (a === '--quick') opts.quick = true;
    else if (a === '--only') {
      opts.only = (args[++i] ?? '').split(',').filter((w) => w !== '');
      if (!opts.only.length) throw new Error('--only: expected words of case names, e.g. --only dropout or --only "c2 fwd,c3 fwd"');
    }
    else if (a === '--passes') {
      passes = Number(args[++i]);
      if (!Number.isInteger(passes) || passes < 1) throw new Error(`--passes: expected a positive integer, got ${args[i]}`);
    }
    else if (a === '--recheck') {
      recheck = Number(args[++i]);
      if (!Number.isInteger(recheck) || recheck < 0) throw new Error(`--recheck: expected a whole number of passes (0: none), got ${args[i]}`);
    } else if (a === '--threads') {
      opts.threads = (args[++i] ?? '').split(',').map(Number);
      threadsGiven = true;
      if (!opts.threads.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`--threads: expected positive integers, got ${args[i]}`);
    } else if (a === '--device') {
      const d = args[++i];
      if (d !== 'cpu' && d !== 'cuda') throw new Error(`--device: expected cpu or cuda, got ${d}`);
      opts.device = d;
    } else if (a === '--cudnn-benchmark') {
      const v = args[++i];
      if (v !== 'on' && v !== 'off') throw new Error(`--cudnn-benchmark: expected on or off, got ${v}`);
      opts.cudnnBenchmark = v === 'on';
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a} (see --help)`);
    else filters.push(a);
  }
  const unknown = filters.filter((f) => !Object.keys(GROUPS).some((g) => g.includes(f)));
  if (unknown.length) throw new Error(`no benchmark group matches ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
  const gpu = opts.device === 'cuda';
  let selected = Object.entries(GROUPS).filter(([name]) => filters.length === 0 || filters.some((f) => name.includes(f)));
  if (gpu) {
    const cpuOnly = selected.filter(([, g]) => !g.cuda).map(([name]) => name);
    if (filters.length && cpuOnly.length) throw new Error(`--device cuda: ${cpuOnly.join(', ')} ha${cpuOnly.length > 1 ? 've' : 's'} no GPU cases (GPU groups: ${Object.keys(GROUPS).filter((g) => GROUPS[g].cuda).join(', ')})`);
    selected = selected.filter(([, g]) => g.cuda);
    // The GPU does not care how many CPU threads we use: one run, at the machine's cores.
    if (!threadsGiven) opts.threads = [os.cpus().length];
    opts.cudnnBenchmark ??= true;
    if (!cc.cuda.isAvailable()) throw new Error(`--device cuda: the CUDA device is not available: ${cc.cuda.info().reason}`);
  }
  const references = (g: Group) => (gpu ? g.cuda!.references : g.references);
  // The VM's CPU model reads "AMD EPYC" on both Zen 4 and Zen 5, whose 512-bit FMA rates (and so
  // some of conv2d's choices) differ: say which this is.
  const cpu = cc.backends().cpu;
  const fma = cpu.gemmKernel === 'avx512' ? `, AVX-512 FMAs ${cpu.avx512FmaHalved ? 'halved (Zen 4 class)' : 'full width'}` : '';
  console.log(`cudnn-convnet benchmarks on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores${fma}), node ${process.version}, device ${opts.device}`);
  if (gpu) console.log(cudaLine());
  const most = Math.max(...opts.threads);
  const speedup = !gpu && most > 1 ? parallelSpeedup(most) : undefined;
  if (speedup !== undefined) {
    const shared = speedup < 1.3 ? `: the cores are not computing in parallel now (other work on them? see bench/README.md, "A quiet machine"), so the ${most}-thread figures are about 1-thread figures, on both sides` : '';
    console.log(`parallel compute: a 512^3 product at ${most} threads runs ${speedup.toFixed(2)}x the 1-thread rate${shared}`);
  }
  const roundTrip = gpu ? null : await coreRoundTripNs();
  if (!gpu) console.log(`core-to-core round trip: ${roundTrip === null ? 'not measured (the two threads did not run at once)' : `${roundTrip.toFixed(0)} ns`} (what small queued ops pay a few times each; see bench/README.md, "A quiet machine")`);
  // Which BLAS the CPU reference multiplies with decides whether several of its rows are fair.
  const blasLine = !gpu && selected.some(([name]) => name !== 'responsiveness') ? await torchBlasLine(opts.threads[0]) : null;
  if (blasLine) console.log(blasLine);
  const results: Record<string, GroupResult> = {};
  for (const [name, group] of selected) {
    // --only: the responsiveness group is one measurement, run when a word names it.
    if (name === 'responsiveness' && !wanted(opts, name)) continue;
    const n = opts.quick || name === 'responsiveness' ? 1 : (passes ?? (gpu ? 1 : 2));
    const runs: GroupResult[] = [];
    for (let pass = 0; pass < n; pass++) runs.push(await group.run(opts));
    const result = n > 1 ? mergePasses(runs) : runs[0];
    if (opts.only && result.rows.length === 0) {
      console.log(`\n${name}: no case matches --only ${opts.only.join(',')}`);
      continue;
    }
    results[name] = result;
    printTable(gpu ? `${name} (cuda)` : name, result.rows, references(group), { referenceMs: result.referenceMs });
    for (const note of result.notes) console.log(`  note: ${note}`);
    const rechecks = opts.quick || gpu || name === 'responsiveness' ? 0 : (recheck ?? 3);
    if (rechecks > 0) for (const line of await recheckSlowRows(group.run, opts, result, rechecks)) console.log(line);
  }
  if (json) {
    const machine: Record<string, unknown> = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, device: opts.device, parallelSpeedup: speedup, coreRoundTripNs: roundTrip ?? undefined, torchBlas: blasLine ?? undefined };
    if (gpu) Object.assign(machine, { gpu: cc.cuda.info().devices[0]?.name, cuda: cc.cuda.options(), cudnnBenchmark: opts.cudnnBenchmark });
    fs.writeFileSync(json, JSON.stringify({ machine, backends: cc.backends(), results }, null, 2));
    console.log(`\nwrote ${json}`);
  }
  svg ??= json ? json.replace(/\.json$/i, '') + '.svg' : undefined;
  if (svg) {
    // One section per reference (on the CPU every group has one; the GPU conv group three: PyTorch, cuDNN's fastest algorithm timed as ours and in a CUDA graph).
    const groups = selected.flatMap(([name, g]) => references(g).map((reference) => ({ name, reference, rows: results[name].rows })));
    const where = gpu ? (cc.cuda.info().devices[0]?.name ?? 'GPU') : (os.cpus()[0]?.model ?? 'CPU');
    fs.writeFileSync(svg, ratioChart(`cudnn-convnet beside the references: ${where}`, groups));
    console.log(`wrote ${svg}`);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
