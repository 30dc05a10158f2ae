/**
 * Is our training PyTorch's, step for step? LeNet-5's epoch on MNIST (the default recipe's Adam
 * and one-cycle schedule, batch 64, no augmentation) from the same initial weights (ours, seeded,
 * handed to PyTorch) in the same batch order (a fixed permutation), on both sides; the largest
 * difference of the per-step losses over stretches of the epoch, and both test accuracies.
 * Identical to float rounding, the losses agree to ~1e-7 until the rounding differences grow
 * (training a ReLU net amplifies them, as it would between two PyTorch builds).
 * bench/lenet5-accuracy.ts compares the accuracies over many seeds.
 *
 *   node dist/bench/lenet5-same-start.js [--seed 0] [--threads 2]   (after `npx tsc -p .`; ~15 s)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { runPython } from './harness';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const seed = arg('--seed', 0), threads = arg('--threads', os.cpus().length);
  cc.setNumThreads(threads);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-same-start-'));
  try {
    const train = cc.data.mnist({ split: 'train' }), test = cc.data.mnist({ split: 'test' });
    const { mean, std } = cc.models.LeNet5.defaultRecipe.normalize;
    const normalized = (a: Float32Array) => Float32Array.from(a, (v) => (v - mean) / std);
    const xtr = normalized(train.x), xte = normalized(test.x);
    const N = train.length, B = 64, steps = Math.ceil(N / B), size = 28 * 28;
    // The batch order: a Fisher-Yates shuffle driven by a 32-bit LCG (any fixed order will do).
    const perm = Int32Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1, s = 12345 + seed; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    fs.writeFileSync(path.join(work, 'perm.bin'), perm);
    cc.manualSeed(seed);
    const model = cc.models.LeNet5();
    const entries = Object.entries(model.stateDict());
    fs.writeFileSync(path.join(work, 'w0.json'), JSON.stringify(entries.map(([k, t]) => [k, t.shape])));
    fs.writeFileSync(path.join(work, 'w0.bin'), Buffer.concat(await Promise.all(entries.map(async ([, t]) => Buffer.from((await t.data()).slice().buffer)))));

    const recipe = cc.models.LeNet5.defaultRecipe;
    const opt = new cc.optim.Adam(model.parameters(), { lr: recipe.maxLr });
    const schedule = new cc.optim.OneCycleLR(opt, { maxLr: recipe.maxLr, totalSteps: steps, pctStart: recipe.pctStart });
    const losses: number[] = [];
    for (let step = 0; step < steps; step++) {
      const idx = perm.subarray(step * B, Math.min(N, (step + 1) * B));
      const xb = new Float32Array(idx.length * size), yb = new Int32Array(idx.length);
      idx.forEach((i, k) => { xb.set(xtr.subarray(i * size, (i + 1) * size), k * size); yb[k] = train.y[i]; });
      const loss = cc.tidy(() => {
        const l = cc.F.crossEntropy(model.call(cc.tensor(xb, { shape: [idx.length, 1, 28, 28] })), cc.tensor(yb, { shape: [idx.length], dtype: 'int32' }));
        l.backward();
        return l.detach();
      });
      opt.step();
      opt.zeroGrad();
      schedule.step();
      losses.push((await loss.data())[0]);
      loss.dispose();
    }
    const accuracy = (await model.evaluate(new cc.data.ArrayDataset(xte, [test.length, 1, 28, 28], test.y), { batchSize: 1000 })).accuracy!;
    opt.dispose();
    model.dispose();
    fs.writeFileSync(path.join(work, 'ours.json'), JSON.stringify({ losses, accuracy }));

    const script = path.resolve(__dirname, '..', '..', 'bench', 'lenet5_same_start_torch.py');
    const ref = runPython(`import runpy, sys; sys.argv = ${JSON.stringify([script, work, String(threads)])}; runpy.run_path(sys.argv[0], run_name='__main__')`, {},
      process.env.CONVNET_TORCH_PYTHON ?? '/usr/bin/python3');
    console.log(`LeNet-5, one epoch on MNIST from the same initial weights (manualSeed(${seed})) in the same batch order, ${threads} thread(s)`);
    console.log(`  ours: test accuracy ${(100 * accuracy).toFixed(2)}%, last loss ${losses[steps - 1].toFixed(5)}`);
    if ('error' in ref) {
      console.log(`  PyTorch: not measured: ${ref.error}`);
      return;
    }
    const r = ref.result as { version: string; accuracy: number; lastLoss: number; lossDiff: [number, number, number][]; apart: number };
    console.log(`  PyTorch ${r.version}: test accuracy ${(100 * r.accuracy).toFixed(2)}%, last loss ${r.lastLoss.toFixed(5)}`);
    console.log(`  largest |loss difference|: ${r.lossDiff.map(([a, b, d]) => `steps ${a}-${b - 1}: ${d.toExponential(1)}`).join(', ')}; ` +
      `first step over 1e-4: ${r.apart < steps ? r.apart : 'none'}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`lenet5-same-start: ${(e as Error).message}`);
  process.exitCode = 1;
});
