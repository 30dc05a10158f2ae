/**
 * Small ops read back at once (`syncBlocking()` after each, as the `loss` and `layers` groups
 * time them), over time and across processes: each of `--processes` fresh processes times each
 * case for `--windows` windows of `--ms` milliseconds and prints every window's median, in us.
 *
 *   node dist/bench/read-back.js [--processes 3] [--windows 8] [--ms 250] [--threads 2] [--only TEXT]
 *
 * A single median hides what this shows: a process that settles into a slow way of handing ops
 * between the JavaScript thread and the queue's worker stays in it for seconds (Note [grace for
 * the reader] and Note [freed where allocated], native/core/queue.cc). Not one of issue 6's
 * groups; ~30 s. No PyTorch: its side of these cases is in the `loss` and `layers` groups.
 */
import { execFileSync } from 'child_process';
import * as cc from '../lib';
import { multiMarginLossBackward } from '../lib/nn/functional/loss';
import { time } from './harness';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function cases(): [string, () => void][] {
  const x = cc.randn([64, 10]);
  const t = cc.tensor(Int32Array.from({ length: 64 }, (_, i) => (i * 7919) % 10), { shape: [64] });
  const one = cc.tensor(1, { shape: [] });
  const samples = Array.from({ length: 64 }, () => cc.randn([1, 28, 28]));
  return [
    ['logSoftmax fwd [64,10]', () => { cc.F.logSoftmax(x, 1); }],
    ['softmax fwd [64,10]', () => { cc.F.softmax(x, 1); }],
    ['multiMarginLoss fwd+bwd [64,10]', () => { cc.F.multiMarginLoss(x, t); multiMarginLossBackward(one, x, t); }],
    ['stack 64 x [1,28,28]', () => { cc.stack(samples); }],
  ];
}

/** One process: every case's window medians, as one JSON line. */
async function child(windows: number, ms: number, threads: number, only: string): Promise<void> {
  cc.setNumThreads(threads);
  const out: Record<string, number[]> = {};
  for (const [name, op] of cases()) {
    if (only && !name.includes(only)) continue;
    const run = () => { cc.tidy(op); cc.syncBlocking(); };
    for (let i = 0; i < 200; i++) run();
    out[name] = [];
    for (let w = 0; w < windows; w++) out[name].push((await time(run, { warmup: 0, minRepeats: 1, minTotalMs: ms })).medianMs * 1000);
  }
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const processes = Number(arg('processes', '3')), windows = Number(arg('windows', '8')), ms = Number(arg('ms', '250'));
  const threads = Number(arg('threads', '2')), only = arg('only', '');
  if (process.argv.includes('--child')) return child(windows, ms, threads, only);
  console.log(`small ops read back at once, ${threads} thread(s): the median of each ${ms} ms window, in us, one line a process`);
  const results: Record<string, number[]>[] = [];
  for (let p = 0; p < processes; p++) {
    const line = execFileSync(process.execPath, [__filename, '--child', '--windows', String(windows), '--ms', String(ms),
      '--threads', String(threads), '--only', only], { encoding: 'utf8' });
    results.push(JSON.parse(line.trim().split('\n').pop()!) as Record<string, number[]>);
  }
  for (const name of Object.keys(results[0] ?? {})) {
    console.log(name);
    results.forEach((r, p) => console.log(`  process ${p + 1}: ${r[name].map((v) => v.toFixed(1).padStart(6)).join('')}`));
  }
}

void main();
