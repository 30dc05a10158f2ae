/**
 * worker_threads computing at the same time: every environment's ops go to the one process-wide
 * queue (the CPU) or stream (the GPU, where the cuDNN and cuBLAS handles are one per process too,
 * and each launch holds cuda::launch_mutex, native/cuda/context.h). Three workers each train a
 * small convolutional layer side by side, and each must end with exactly the numbers the same
 * steps give alone on the main thread: nothing of one environment's work may leak into another's
 * or be reordered within it. On the GPU the options (deterministic algorithms, no TF32) make the
 * numbers repeatable; without the lock, two threads would use one cuDNN handle at once.
 * Each case runs in a child process, so a crash is a failed test and not a dead mocha.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { describeCuda } from './cuda-helpers';

const lib = JSON.stringify(path.resolve(__dirname, '..', 'lib'));

// An async function's body: `steps` training steps of a conv + ReLU + max pool + linear layer on
// `device`, from manualSeed(seed); returns the weights' gradients and the last loss as arrays.
const training = (device: string, steps: number) => `
  const cc = require(${lib});
  cc.manualSeed(seed);
  const x = cc.randn([8, 3, 32, 32]).to('${device}');
  const w = cc.randn([16, 3, 3, 3]).mul(0.2).to('${device}').requiresGrad_();
  const fc = cc.randn([16 * 16 * 16, 10]).mul(0.01).to('${device}').requiresGrad_();
  let loss;
  for (let i = 0; i < ${steps}; i++) {
    const h = cc.F.maxPool2d(cc.F.relu(cc.F.conv2d(x, w, null, { padding: 1 })), 2);
    loss = h.flatten(1).matmul(fc).square().mean();
    loss.backward();
    if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return [Array.from(await w.grad.data()), Array.from(await fc.grad.data()), Array.from(await loss.data())];`;

// Runs `training` alone on the main thread for seeds 1-3, then in three workers at once (seeds
// 1-3) while the main thread trains with seed 4, and expects each worker's result to be bit for
// bit the lone one.
function expectSameAsAlone(device: string, steps: number): void {
  const body = training(device, steps);
  const worker = `const { parentPort, workerData: seed } = require('worker_threads');
    parentPort.once('message', async () => parentPort.postMessage(JSON.stringify(await (async () => { ${body} })())));
    parentPort.postMessage('ready');`;
  const script = `
    const { Worker } = require('worker_threads');
    const cc = require(${lib});
    if ('${device}' === 'cuda') cc.cuda.setOptions({ deterministic: true, allowTF32Cudnn: false, allowTF32Matmul: false, benchmark: false });
    const train = async (seed) => JSON.stringify(await (async () => { ${body} })());
    const next = (w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    (async () => {
      const alone = [];
      for (const seed of [1, 2, 3]) alone.push(await train(seed));
      const workers = [1, 2, 3].map((seed) => new Worker(${JSON.stringify(worker)}, { eval: true, workerData: seed }));
      await Promise.all(workers.map(next));
      const results = Promise.all(workers.map(next));
      workers.forEach((w) => w.postMessage('go'));
      await train(4);
      const got = await results;
      console.log(JSON.stringify(got.map((g, i) => g === alone[i])));
      await Promise.all(workers.map((w) => w.terminate()));
    })().catch((e) => { console.log(e.stack); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 240000 });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.signal, out).to.equal(null);
  expect(r.status, out).to.equal(0);
  expect(out.trim()).to.equal('[true,true,true]');
}

describe('worker_threads computing side by side', function () {
  this.timeout(300000);

  it('on the CPU: three workers training at once each get what the same steps give alone', () => expectSameAsAlone('cpu', 12));
});

describeCuda('worker_threads launching GPU work side by side', function () {
  this.timeout(300000);

  it('three workers training on the GPU at once (one stream, one cuDNN and cuBLAS handle) each get what the same steps give alone', () => expectSameAsAlone('cuda', 40));
});
