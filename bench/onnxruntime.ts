/**
 * Our CPU inference beside ONNX Runtime's on the same models: the runtime a Node.js user would
 * otherwise serve with (onnxruntime-node, CPU execution provider, all graph optimizations, which
 * among others fold batch norms into the convolutions). Each model is exported with onnx.export,
 * its ONNX Runtime output checked against ours, then both are timed at the same thread count
 * (ONNX Runtime's intra-op threads; one inter-op thread, sequential execution): medians in ms
 * of a whole call, input in and output read back. Ours is shown as it is and, for the models
 * with batch norms, folded (`nn.utils.fuseConvBn`, what ONNX Runtime does to its graph).
 *
 *   node dist/bench/onnxruntime.js [--threads 2] [--only ResNet]   (after `npx tsc -p .`; ~2 min)
 */
import * as os from 'os';
import { performance } from 'perf_hooks';
import * as ort from 'onnxruntime-node';
import * as cc from '../lib';
import { timeTidied } from './side-by-side';

interface Case { name: string; make: () => cc.nn.Module; shape: number[]; fold: boolean }

const CASES: Case[] = [
  { name: 'LeNet-5 b1', make: () => cc.models.LeNet5(), shape: [1, 1, 28, 28], fold: false },
  { name: 'LeNet-5 b1000', make: () => cc.models.LeNet5(), shape: [1000, 1, 28, 28], fold: false },
  { name: 'ResNet-18 224x224 b1', make: () => cc.models.resnet18(), shape: [1, 3, 224, 224], fold: true },
  { name: 'ResNet-18 224x224 b8', make: () => cc.models.resnet18(), shape: [8, 3, 224, 224], fold: true },
  { name: 'MobileNet v2 224x224 b1', make: () => cc.models.mobilenetV2(), shape: [1, 3, 224, 224], fold: true },
  { name: 'AlexNet 224x224 b1', make: () => cc.models.AlexNet(), shape: [1, 3, 224, 224], fold: false },
  { name: 'LSTM 256->128 x2 bidir T32 b16', make: () => new cc.nn.LSTM(256, 128, { numLayers: 2, bidirectional: true }), shape: [32, 16, 256], fold: false },
];

/** The median ms of `call` (awaited): three warm-up calls, then at least 10 calls and 400 ms. */
async function timeAsync(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await call();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 10 || performance.now() - start < 400) {
    const s = performance.now();
    await call();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
  cc.setNumThreads(threads);
  cc.manualSeed(0);
  const rows: string[] = [];
  for (const c of CASES.filter((k) => k.name.includes(only))) {
    const model = c.make().eval();
    const x = cc.randn(c.shape);
    const bytes = cc.onnx.export(model, x, null, { dynamicAxes: { input: [0], output: [0] } });
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const data = x.dataSync() as Float32Array;
    const runOrt = () => session.run({ input: new ort.Tensor('float32', data, c.shape) });
    // The same values first (ONNX Runtime's sums in another order: a relative 1e-3 of the largest output).
    const want = cc.noGrad(() => model.call(x)).dataSync() as Float32Array;
    const got = (await runOrt()).output.data as Float32Array;
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    if (!(worst <= 1e-3 * scale + 1e-5)) throw new Error(`${c.name}: ONNX Runtime's output differs from ours by ${worst} (largest ${scale})`);
    const ours = timeTidied(() => { cc.noGrad(() => model.call(x)).dataSync(); });
    let folded = NaN;
    if (c.fold) {
      cc.nn.utils.fuseConvBn(model);
      folded = timeTidied(() => { cc.noGrad(() => model.call(x)).dataSync(); });
    }
    const theirs = await timeAsync(runOrt);
    const best = Number.isNaN(folded) ? ours : Math.min(ours, folded);
    rows.push(`${c.name.padEnd(32)} ${ours.toFixed(2).padStart(9)} ${(Number.isNaN(folded) ? '-' : folded.toFixed(2)).padStart(9)} ${theirs.toFixed(2).padStart(9)} ${`${(theirs / best).toFixed(2)}x`.padStart(10)}`);
    console.error(rows[rows.length - 1]);
    model.dispose();
    x.dispose();
    await session.release();
  }
  console.log(`our CPU inference beside ONNX Runtime ${ort.env.versions.node} (CPU), ${threads} thread(s); medians in ms, a call with its output read back`);
  console.log(`${'case'.padEnd(32)} ${'ours'.padStart(9)} ${'folded'.padStart(9)} ${'ORT'.padStart(9)} ${'ORT/ours'.padStart(10)}`);
  for (const r of rows) console.log(r);
  console.log('  note: folded: ours after nn.utils.fuseConvBn (ONNX Runtime folds batch norms into convolutions itself); ORT/ours from our better one; above 1x we are faster');
}

void main();
