/**
 * What one repeated input hides (bench/README.md, "Reading the table"; JOURNAL.md, session 60):
 * each op timed on one input over and over, as the harness's groups do, and on 16 inputs in turn,
 * as training meets them (each step's activations new). A kernel that branches on the data reads
 * faster on one input: on a small tensor the CPU's branch predictor learns the whole pattern.
 * Ours only; not one of issue 6's groups.
 *
 *   node dist/bench/one-input.js [--threads 1] [--only pool]   (after `npx tsc -p .`; ~20 s)
 *
 * Each figure is the median time of one call and `syncBlocking()` over ~0.5 s, outputs freed.
 * The last row is the DataLoader on MNIST (batch 64, LeNet-5's normalisation): the time to
 * assemble one batch, which `fit` spends on the JavaScript thread while the worker computes.
 */
import { performance } from 'perf_hooks';
import * as cc from '../lib';

const F = cc.F;

function median(fn: (i: number) => void): number {
  for (let i = 0; i < 10; i++) fn(i);
  cc.syncBlocking();
  const samples: number[] = [];
  const end = performance.now() + 500;
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    fn(i);
    cc.syncBlocking();
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const drop = (r: cc.Tensor | cc.Tensor[]) => (Array.isArray(r) ? r : [r]).forEach((t) => t.dispose());

// name, input shape, the op
const CASES: [string, number[], (x: cc.Tensor) => cc.Tensor | cc.Tensor[]][] = [
  ['maxPool2d 2x2, indices [64,6,28,28]', [64, 6, 28, 28], (x) => F.maxPool2d(x, 2, { returnIndices: true })],
  ['maxPool2d 2x2, indices [64,16,10,10]', [64, 16, 10, 10], (x) => F.maxPool2d(x, 2, { returnIndices: true })],
  ['maxPool2d 2x2 [64,16,10,10]', [64, 16, 10, 10], (x) => F.maxPool2d(x, 2)],
  ['maxPool2d 3x3/2 [8,256,27,27]', [8, 256, 27, 27], (x) => F.maxPool2d(x, 3, { stride: 2 })],
  ['mixedPool2d 2x2 [64,6,28,28]', [64, 6, 28, 28], (x) => F.mixedPool2d(x, 2)],
  ['where(x > 0, x, y) [32,16,12,12]', [32, 16, 12, 12], (x) => cc.tidy(() => cc.where(cc.gt(x, 0), x, cc.neg(x)))],
  ['maximum(x, -x) [32,16,12,12]', [32, 16, 12, 12], (x) => cc.tidy(() => cc.maximum(x, cc.neg(x)))],
  ['sign [32,16,12,12]', [32, 16, 12, 12], (x) => cc.sign(x)],
];

function main(): void {
  const args = process.argv.slice(2);
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const threads = Number(at('--threads') ?? 2);
  const only = at('--only');
  cc.setNumThreads(threads);
  console.log(`one input against 16 in turn, ${threads} thread(s), median us a call`);
  console.log(`${'case'.padEnd(40)} ${'one input'.padStart(10)} ${'16 in turn'.padStart(11)}`);
  cc.manualSeed(0);
  for (const [name, shape, op] of CASES) {
    if (only && !name.includes(only)) continue;
    const xs = Array.from({ length: 16 }, () => cc.randn(shape));
    const one = median(() => drop(op(xs[0])));
    const turn = median((i) => drop(op(xs[i % 16])));
    console.log(`${name.padEnd(40)} ${one.toFixed(1).padStart(10)} ${turn.toFixed(1).padStart(11)}`);
    xs.forEach((x) => x.dispose());
  }
  if (!only || 'DataLoader'.includes(only)) {
    const loader = new cc.data.DataLoader(cc.data.mnist({ split: 'train' }), { batchSize: 64, shuffle: true, seed: 1, normalize: cc.models.LeNet5.defaultRecipe.normalize });
    let best = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      const t0 = performance.now();
      let batches = 0;
      for (const { x, y } of loader) {
        x.dispose();
        y.dispose();
        batches++;
      }
      best = Math.min(best, ((performance.now() - t0) * 1000) / batches);
    }
    console.log(`${'DataLoader MNIST b64 normalised, a batch'.padEnd(40)} ${best.toFixed(1).padStart(10)} ${'-'.padStart(11)}`);
  }
}

main();
