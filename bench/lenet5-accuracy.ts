/**
 * Issue 6's "at the same test accuracy after the same epochs", measured: LeNet-5 trained for one
 * epoch on MNIST from fresh models, seeds 0 .. N-1, on both sides (ours: `lenet5Epoch` in
 * bench/models.ts; PyTorch: bench/models_torch.py --only epoch, the same model, recipe and
 * thread count), each side's test accuracies, their mean and standard deviation, and the
 * difference of the means with its standard error and Welch's t. Seeds do not match across the
 * sides (two different generators), so the comparison is between the two distributions, and a
 * |t| below 2 says the difference is within what the seeds alone make.
 *
 *   node dist/bench/lenet5-accuracy.js [--seeds 8] [--threads 2]      (after `npx tsc -p .`)
 *
 * About 2 s an epoch ours and 6 s PyTorch's on 2 cores: 8 seeds take about a minute.
 */
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { runPython } from './harness';
import { lenet5Epoch } from './models';

function stats(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const seeds = arg('--seeds', 8), threads = arg('--threads', os.cpus().length);
  if (!Number.isSafeInteger(seeds) || seeds < 2 || !Number.isSafeInteger(threads) || threads < 1) {
    throw new Error('usage: node dist/bench/lenet5-accuracy.js [--seeds N >= 2] [--threads N]');
  }
  cc.setNumThreads(threads);
  const train = cc.data.mnist({ split: 'train' }), test = cc.data.mnist({ split: 'test' });
  const ours: number[] = [];
  for (let seed = 0; seed < seeds; seed++) ours.push((await lenet5Epoch(train, test, seed)).accuracy);
  const script = path.resolve(__dirname, '..', '..', 'bench', 'models_torch.py');
  const argv = [script, String(threads), '60000', '32', String(seeds), 'mnist', '--only', 'epoch'];
  const ref = runPython(`import runpy, sys; sys.argv = ${JSON.stringify(argv)}; runpy.run_path(sys.argv[0], run_name='__main__')`, {},
    process.env.CONVNET_TORCH_PYTHON ?? '/usr/bin/python3');
  const pct = (x: number) => (100 * x).toFixed(2) + '%';
  const a = stats(ours);
  console.log(`LeNet-5, one epoch on MNIST (60k, batch 64, Adam, one-cycle max lr ${cc.models.LeNet5.defaultRecipe.maxLr}, no augmentation), ` +
    `test accuracy on 10k, seeds 0-${seeds - 1}, ${threads} thread(s)`);
  console.log(`  ours:    ${ours.map(pct).join(' ')}  mean ${pct(a.mean)} sd ${pct(a.sd)}`);
  if ('error' in ref) {
    console.log(`  PyTorch: not measured: ${ref.error}`);
    return;
  }
  const result = ref.result as Record<string, unknown> & { version: string };
  const theirs = (result['lenet5 train epoch b64 (60k)'] as { accuracies?: number[] } | undefined)?.accuracies ?? [];
  const b = stats(theirs);
  console.log(`  PyTorch ${result.version}: ${theirs.map(pct).join(' ')}  mean ${pct(b.mean)} sd ${pct(b.sd)}`);
  const se = Math.sqrt(a.sd ** 2 / ours.length + b.sd ** 2 / theirs.length);
  const diff = a.mean - b.mean;
  console.log(`  ours - PyTorch: ${(100 * diff).toFixed(2)} points, standard error ${(100 * se).toFixed(2)}, Welch's t ${(se > 0 ? diff / se : 0).toFixed(2)}` +
    ` (${Math.abs(diff) <= 2 * se ? 'within' : 'beyond'} two standard errors)`);
}

main().catch((e) => {
  console.error(`lenet5-accuracy: ${(e as Error).message}`);
  process.exitCode = 1;
});
