/**
 * The benchmark harness's tools: timing with warm-up and repeats (median, min, max), the
 * reference runner that times the same work in Python (NumPy/OpenBLAS, PyTorch), and the table.
 */
import { spawnSync } from 'child_process';
import { performance } from 'perf_hooks';

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  repeats: number;
}

export interface BenchOptions {
  threads: number[];
  quick: boolean;
  /** Where our side runs (default 'cpu'); the groups that have GPU cases take 'cuda' (`--device cuda`). */
  device?: 'cpu' | 'cuda';
  /** With device 'cuda': cuDNN's algorithm search on both sides (`cuda.setOptions({ benchmark })`, torch.backends.cudnn.benchmark). */
  cudnnBenchmark?: boolean;
  /** `--only WORD[,WORD…]`: the cases whose name contains one of the words (all when unset). */
  only?: string[];
}

/** Whether a case runs under `--only` (see wanted's callers for what each group matches on). */
export const wanted = (opts: BenchOptions, name: string): boolean => !opts.only?.length || opts.only.some((w) => name.includes(w));

/** What a group returns: its rows, notes under the table, and how to print it. */
export interface GroupResult {
  rows: Row[];
  notes: string[];
  peakGflops?: Record<number, number>;
  /** The references' columns in milliseconds even where rows count FLOPs (the GPU conv table). */
  referenceMs?: boolean;
  /** The rows under 1x against a reference, measured again alone right after (run.ts's --recheck). */
  recheck?: Row[];
}

/** The references each row is slower than (a ratio under 1x), by name. */
export function slowerThan(row: Row): string[] {
  return Object.entries(row.references).filter(([, t]) => t !== undefined && t.medianMs < row.ours.medianMs).map(([name]) => name);
}

/**
 * run.ts's --recheck: the rows of `result` slower than a reference, measured again alone right
 * after by `run` (the group's, with --only naming them), `passes` passes of both sides (each
 * side's lowest median, as --passes). On a shared machine a neighbour's burst lands on some rows
 * of a 15-minute run (bench/README.md, "A quiet machine"); a row still under 1x alone is a real
 * one. The table and the chart keep the run's figures; the rows measured again become
 * result.recheck (in the JSON). Returns the lines to print under the table.
 */
export async function recheckSlowRows(run: (opts: BenchOptions) => Promise<GroupResult>, opts: BenchOptions, result: GroupResult,
  passes: number): Promise<string[]> {
  const slow = result.rows.filter((r) => slowerThan(r).length > 0);
  if (!slow.length) return [];
  const again: GroupResult[] = [];
  for (let pass = 0; pass < passes; pass++) again.push(await run({ ...opts, only: [...new Set(slow.map((r) => r.case))] }));
  const merged = mergePasses(again);
  const ratio = (r: Row, ref: string) => `${(r.references[ref]!.medianMs / r.ours.medianMs).toFixed(2)}x`;
  const lines = [`  recheck: the rows under 1x, alone right after (${passes} passes of both sides, each side's lowest median):`];
  result.recheck = [];
  for (const r of slow) {
    const a = merged.rows.find((x) => x.case === r.case && x.threads === r.threads);
    for (const ref of slowerThan(r)) {
      const now = a?.references[ref]
        ? `${ratio(a, ref)} (ours ${a.ours.medianMs.toFixed(3)} ms, ${ref} ${a.references[ref]!.medianMs.toFixed(3)} ms)`
        : 'not measured alone (the group runs this case only as part of a section)';
      lines.push(`    ${r.case}, ${r.threads} thr, against ${ref}: ${ratio(r, ref)} in the run, ${now}`);
    }
    if (a) result.recheck.push(a);
  }
  return lines;
}

/**
 * The passes of one group merged (`--passes N`): for each case, our figure and each reference's
 * from the pass where that side's median was lowest, the min and max over all passes. Every
 * pass runs both sides one after the other, so a slow minute on a shared machine (another
 * tenant crowding the caches: medians 1.5x their usual on this VM) falls on one pass of one
 * side instead of deciding the ratio. Notes: the first pass's, and the others' that differ.
 */
export function mergePasses(passes: GroupResult[]): GroupResult {
  const best = (ts: (Timing | undefined)[]): Timing | undefined => {
    const got = ts.filter((t): t is Timing => t !== undefined);
    if (!got.length) return undefined;
    const lowest = got.reduce((a, b) => (b.medianMs < a.medianMs ? b : a));
    return {
      medianMs: lowest.medianMs, minMs: Math.min(...got.map((t) => t.minMs)), maxMs: Math.max(...got.map((t) => t.maxMs)),
      repeats: got.reduce((n, t) => n + t.repeats, 0),
    };
  };
  const [first, ...rest] = passes;
  // The measured peak (gemm): the highest of the passes', and %peak against it.
  let peakGflops: Record<number, number> | undefined;
  for (const p of passes)
    for (const [t, g] of Object.entries(p.peakGflops ?? {})) (peakGflops ??= {})[Number(t)] = Math.max(peakGflops[Number(t)] ?? 0, g);
  const rows = first.rows.map((row) => {
    const same = passes.map((p) => p.rows.find((r) => r.case === row.case && r.threads === row.threads));
    const references: Record<string, Timing | undefined> = {};
    for (const name of Object.keys(row.references)) references[name] = best(same.map((r) => r?.references[name]));
    const ours = best(same.map((r) => r?.ours))!;
    const peak = peakGflops?.[row.threads];
    const peakFraction = row.peakFraction !== undefined && row.flops && peak ? row.flops / (ours.medianMs * 1e6) / peak : row.peakFraction;
    return { ...row, ours, references, peakFraction };
  });
  const notes = [...first.notes];
  rest.forEach((p, i) => p.notes.forEach((n) => { if (!first.notes.includes(n)) notes.push(`pass ${i + 2}: ${n}`); }));
  notes.push(`each figure: the lowest median of ${passes.length} passes (ours and the references each run once a pass), min and max over all`);
  return { ...first, rows, notes, peakGflops };
}

/** One row of results: our figure beside the references' figures for the same work. */
export interface Row {
  case: string;
  threads: number;
  flops?: number;
  /** Images per timed run (whole-model cases): the table adds images/s. */
  images?: number;
  /** The fraction of the machine's measured peak reached (GEMM; see bench/gemm.ts). */
  peakFraction?: number;
  /**
   * Memory-bound cases: the bytes the op must move at the least (each input read once, each
   * output written once). The table adds GB/s and the fraction of `bandwidth`.
   */
  bytes?: number;
  /** The machine's copy bandwidth at this thread count, in bytes per second (measureBandwidth). */
  bandwidth?: number;
  ours: Timing;
  references: Record<string, Timing | undefined>;
}

/**
 * Times `fn` (which must include waiting for its result): `warmup` untimed runs, then repeats
 * until both `minRepeats` runs and `minTotalMs` have passed (kMaxSamples at most). A synchronous
 * `fn` is not awaited: an await costs a microtask turn, ~1.5 us, which a 10 us op would count
 * and the Python side does not.
 */
export async function time(fn: () => Promise<void> | void, opts: { warmup?: number; minRepeats?: number; minTotalMs?: number } = {}): Promise<Timing> {
  const { warmup = 2, minRepeats = 5, minTotalMs = 300 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRepeats || performance.now() - start < minTotalMs) {
    const t0 = performance.now();
    const pending = fn();
    if (pending) await pending;
    samples.push(performance.now() - t0);
    if (samples.length >= kMaxSamples) break;
  }
  return summarize(samples);
}

/**
 * The most samples a figure takes, on both sides (time() and pythonTimer; the pool, layer and
 * model scripts run for their time alone). It was 1000: a 10 us op then stopped after 10 ms,
 * inside its first thousand calls, which on this VM run ~1.5x slower than the steady state
 * (max-pool backward [64,16,10,10]: 15 us against 9-10), while the pool script's PyTorch side
 * ran its full 0.5 s.
 */
export const kMaxSamples = 100000;

export function summarize(samples: number[]): Timing {
  const sorted = samples.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs: median, minMs: sorted[0], maxMs: sorted[sorted.length - 1], repeats: sorted.length };
}

/**
 * Python source of `timed(fn)`: `warmup` calls (1 with quick), then calls until `minRepeats` samples and
 * `seconds` have passed (kMaxSamples at most); returns the Timing dict our side reports. For the
 * reference scripts, so that every group times its reference the same way.
 */
export function pythonTimer(quick: boolean, seconds: number, minRepeats = 5, warmup = 2): string {
  return `
def timed(fn):
    import time
    for _ in range(${quick ? 1 : warmup}): fn()
    samples = []; start = time.perf_counter()
    while len(samples) < ${quick ? 1 : minRepeats} or time.perf_counter() - start < ${quick ? 0 : seconds}:
        t0 = time.perf_counter(); fn(); samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= ${kMaxSamples}: break
    samples.sort()
    m = len(samples) // 2
    med = samples[m] if len(samples) % 2 else (samples[m - 1] + samples[m]) / 2
    return {"medianMs": med, "minMs": samples[0], "maxMs": samples[-1], "repeats": len(samples)}
`;
}

/**
 * Runs a Python script that prints one JSON object on its last line. Returns null (and the
 * reason) when Python or the module is missing, so the harness still runs without them.
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed for this process alone: the machine sets
 * them to an older kernel for safety, which would understate OpenBLAS.
 */
export function runPython(script: string, env: Record<string, string>, python = 'python3'): { result: unknown; stderr: string } | { error: string } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.OPENBLAS_CORETYPE;
  delete childEnv.OPENBLAS_L2_SIZE;
  const r = spawnSync(python, ['-c', script], { env: childEnv, encoding: 'utf8', maxBuffer: 16 << 20, timeout: pythonTimeoutMs() });
  if (r.error) return { error: `${python}: ${r.error.message}` };
  if (r.status !== 0) return { error: `${python} exited with ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}` };
  const lines = r.stdout.trim().split('\n');
  try {
    return { result: JSON.parse(lines[lines.length - 1]), stderr: r.stderr };
  } catch {
    return { error: `${python}: could not read its output` };
  }
}

/** How long one reference script may run: `CONVNET_BENCH_PYTHON_TIMEOUT` seconds (default: no limit). */
export function pythonTimeoutMs(): number | undefined {
  const s = Number(process.env.CONVNET_BENCH_PYTHON_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}

const torchPythons = new Map<string, string>();

/**
 * The Python that runs the PyTorch side: `CONVNET_TORCH_PYTHON` when set; on the CPU Debian's
 * `/usr/bin/python3` (as every CPU group always did); for 'cuda' the first of `python3` (PATH),
 * `$VIRTUAL_ENV/bin/python3`, `/opt/torch/.venv/bin/python3`, `/usr/bin/python3` whose torch
 * sees a GPU (else `python3`, and the reference columns say why they are empty).
 */
export function torchPython(device: 'cpu' | 'cuda' = 'cpu'): string {
  if (process.env.CONVNET_TORCH_PYTHON) return process.env.CONVNET_TORCH_PYTHON;
  if (device === 'cpu') return '/usr/bin/python3';
  let found = torchPythons.get(device);
  if (found === undefined) {
    const candidates = ['python3', process.env.VIRTUAL_ENV ? `${process.env.VIRTUAL_ENV}/bin/python3` : '', '/opt/torch/.venv/bin/python3', '/usr/bin/python3'].filter((p) => p);
    found = candidates.find((p) => spawnSync(p, ['-c', 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)'], { stdio: 'ignore', timeout: 120000 }).status === 0) ?? 'python3';
    torchPythons.set(device, found);
  }
  return found;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padEnd(n) : s.padStart(n);
}

/**
 * The machine's memory bandwidth as our code sees it at the current thread count: the best of a
 * few copies of a 256 MiB tensor (clone: one read and one write of every byte), in bytes per
 * second. Memory-bound rows report their traffic as a fraction of it.
 */
export async function measureBandwidth(cc: typeof import('../lib')): Promise<number> {
  const n = 64 << 20;
  const x = cc.zeros([n]);
  cc.syncBlocking();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    cc.clone(x).dispose();
    cc.syncBlocking();
    best = Math.min(best, performance.now() - t0);
  }
  x.dispose();
  cc.emptyCache();
  return (2 * 4 * n) / (best / 1000);
}

function gflops(flops: number | undefined, t: Timing | undefined): string {
  if (!t || !flops) return '-';
  return (flops / (t.medianMs * 1e6)).toFixed(1);
}

/**
 * Prints the rows as a table: time, GFLOP/s (and images/s, % of peak, GB/s and % of the
 * measured memory bandwidth where rows have them) for ours and each reference, and ratios.
 */
export function printTable(title: string, rows: Row[], referenceNames: string[], options: { referenceMs?: boolean } = {}): void {
  const withImages = rows.some((r) => r.images !== undefined);
  const withPeak = rows.some((r) => r.peakFraction !== undefined);
  const withBytes = rows.some((r) => r.bytes !== undefined);
  const withFlops = rows.some((r) => r.flops !== undefined) && !options.referenceMs;
  const width = Math.max(31, ...rows.map((r) => r.case.length));
  const head = [pad('case', width, true), pad('thr', 4), pad('ours ms', 10), pad('min–max', 19), pad('GFLOP/s', 8)];
  if (withPeak) head.push(pad('%peak', 6));
  if (withBytes) head.push(pad('GB/s', 7), pad('%bw', 5));
  if (withImages) head.push(pad('img/s', 9));
  for (const name of referenceNames) {
    head.push(pad(`${name} ${withImages || !withFlops ? 'ms' : 'GF/s'}`, 14));
    if (withImages) head.push(pad(`${name} img/s`, 13));
    head.push(pad(`ours/${name}`, 12));
  }
  console.log(`\n${title}`);
  console.log(head.join(' '));
  const perSecond = (n: number | undefined, t: Timing | undefined) => (n === undefined || !t ? '-' : (n / (t.medianMs / 1000)).toFixed(0));
  for (const r of rows) {
    const cells = [
      pad(r.case, width, true), pad(String(r.threads), 4), pad(r.ours.medianMs.toFixed(3), 10),
      pad(`${r.ours.minMs.toFixed(3)}–${r.ours.maxMs.toFixed(3)}`, 19), pad(gflops(r.flops, r.ours), 8),
    ];
    if (withPeak) cells.push(pad(r.peakFraction === undefined ? '-' : `${(100 * r.peakFraction).toFixed(0)}%`, 6));
    if (withBytes) {
      const rate = r.bytes === undefined ? undefined : r.bytes / (r.ours.medianMs / 1000);
      cells.push(pad(rate === undefined ? '-' : (rate / 1e9).toFixed(1), 7));
      cells.push(pad(rate === undefined || !r.bandwidth ? '-' : `${((100 * rate) / r.bandwidth).toFixed(0)}%`, 5));
    }
    if (withImages) cells.push(pad(perSecond(r.images, r.ours), 9));
    for (const name of referenceNames) {
      const ref = r.references[name];
      if (withImages || !withFlops) {
        cells.push(pad(ref ? ref.medianMs.toFixed(3) : '-', 14));
        if (withImages) cells.push(pad(perSecond(r.images, ref), 13));
      } else {
        cells.push(pad(gflops(r.flops, ref) === '-' && ref ? `${ref.medianMs.toFixed(3)} ms` : gflops(r.flops, ref), 14));
      }
      // A ratio above 1 means we are faster.
      cells.push(pad(ref ? (ref.medianMs / r.ours.medianMs).toFixed(2) + 'x' : '-', 12));
    }
    console.log(cells.join(' '));
  }
}
