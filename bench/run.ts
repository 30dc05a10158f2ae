/**
 * The benchmark harness: `npm run bench -- [filter…] [--threads N] [--json out.json] [--svg out.svg] [--quick]`.
 * Each group prints a table of our time (median of repeats after warm-up, with min and max)
 * beside the same work in the reference libraries, and the ratio (above 1x: we are faster).
 * See bench/README.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as cc from '../lib';
import { benchConv } from './conv';
import { benchGemm } from './gemm';
import { benchLayers } from './layers';
import { benchLoss } from './loss';
import { benchModels } from './models';
import { benchPool } from './pool';
import { benchResponsiveness } from './responsiveness';
import { ratioChart } from './chart';
import { printTable, type BenchOptions, type Row } from './harness';

const GROUPS: Record<string, { references: string[]; run: (opts: BenchOptions) => Promise<{ rows: Row[]; notes: string[]; peakGflops?: Record<number, number> }> }> = {
  conv: { references: ['PyTorch'], run: benchConv },
  gemm: { references: ['OpenBLAS'], run: benchGemm },
  loss: { references: ['PyTorch'], run: benchLoss },
  pool: { references: ['PyTorch'], run: benchPool },
  layers: { references: ['PyTorch'], run: benchLayers },
  models: { references: ['PyTorch'], run: benchModels },
  responsiveness: { references: ['naive'], run: benchResponsiveness },
};

function usage(): never {
  console.log(`usage: npm run bench -- [group…] [--threads N[,M…]] [--json out.json] [--svg out.svg] [--quick]
groups: ${Object.keys(GROUPS).join(', ')} (default: all)
--threads   thread counts to run (default: 1 and ${os.cpus().length}, this machine's cores)
--json      also write the results as JSON
--svg       also draw a chart: the reference's time over ours per case (default with --json: beside it, .svg)
--quick     one tiny run of each case (a smoke test, not a measurement)`);
  process.exit(0);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const filters: string[] = [];
  let json: string | undefined;
  let svg: string | undefined;
  const opts: BenchOptions = { threads: [...new Set([1, os.cpus().length])], quick: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') usage();
    else if (a === '--json') json = args[++i];
    else if (a === '--svg') svg = args[++i];
    else if (a === '--quick') opts.quick = true;
    else if (a === '--threads') {
      opts.threads = (args[++i] ?? '').split(',').map(Number);
      if (!opts.threads.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`--threads: expected positive integers, got ${args[i]}`);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a} (see --help)`);
    else filters.push(a);
  }
  const unknown = filters.filter((f) => !Object.keys(GROUPS).some((g) => g.includes(f)));
  if (unknown.length) throw new Error(`no benchmark group matches ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
  const selected = Object.entries(GROUPS).filter(([name]) => filters.length === 0 || filters.some((f) => name.includes(f)));
  console.log(`cudnn-convnet benchmarks on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), node ${process.version}, device cpu`);
  const results: Record<string, { rows: Row[]; notes: string[]; peakGflops?: Record<number, number> }> = {};
  for (const [name, group] of selected) {
    const result = await group.run(opts);
    results[name] = result;
    printTable(name, result.rows, group.references);
    for (const note of result.notes) console.log(`  note: ${note}`);
  }
  if (json) {
    fs.writeFileSync(json, JSON.stringify({ machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, backends: cc.backends(), results }, null, 2));
    console.log(`\nwrote ${json}`);
  }
  svg ??= json ? json.replace(/\.json$/i, '') + '.svg' : undefined;
  if (svg) {
    const groups = selected.map(([name, g]) => ({ name, reference: g.references[0], rows: results[name].rows }));
    fs.writeFileSync(svg, ratioChart(`cudnn-convnet beside the references: ${os.cpus()[0]?.model ?? 'CPU'}`, groups));
    console.log(`wrote ${svg}`);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
