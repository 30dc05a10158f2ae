/**
 * Tools of the GPU tests (test/cuda-*.test.ts): a `describe` that runs only where the CUDA
 * backend is available (and is reported as skipped elsewhere, never as passed), and the
 * comparison of an op on the GPU with the same op on the CPU backend.
 *
 * The comparison is by normalised error: max |gpu - cpu| / max(1, max |cpu|) per output, under
 * a bound each test states (1e-5 for plain float32 kernels; looser where cuDNN may use TF32,
 * which keeps 10 mantissa bits: a relative error of about 1e-3 per product).
 */
import { expect } from 'chai';
import { cuda, tensor, type Tensor } from '../lib';
import { randomTensor } from './helpers';

let available: boolean | undefined;
let reason = '';

/** Whether the CUDA backend can run here (checked once). */
export function cudaAvailable(): boolean {
  if (available === undefined) {
    try {
      const i = cuda.info();
      available = i.available;
      reason = i.reason;
    } catch (e) {
      available = false;
      reason = (e as Error).message;
    }
  }
  return available;
}

/**
 * `describe` for GPU tests: on a machine without a usable GPU every test in it is skipped (mocha
 * reports them as pending), with the reason printed once.
 */
export function describeCuda(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite {
  return describe(`${title} [cuda]`, function () {
    before(function () {
      if (!cudaAvailable()) {
        if (!printedSkip) console.log(`      (GPU tests skipped: ${reason})`);
        printedSkip = true;
        this.skip();
      }
    });
    fn.call(this);
  });
}
let printedSkip = false;

/** Random float32 values in [low, high) as a CPU tensor (seeded). */
export function randomCpu(shape: readonly number[], seed: number, low = -1, high = 1): Tensor<'float32'> {
  return randomTensor(shape, seed, low, high).t;
}

/** An int32 CPU tensor of labels in [0, classes). */
export function randomLabels(n: number, classes: number, seed: number): Tensor<'int32'> {
  let s = seed >>> 0;
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s % classes;
  }
  return tensor(v);
}

/** max |a - b| / max(1, max |b|) (0 for empty; Infinity when NaN/Inf positions differ). */
export function normalisedError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 1;
  for (let i = 0; i < b.length; i++) {
    const x = a[i], y = b[i];
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) return Infinity;
      continue;
    }
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  return diff / scale;
}

/** Asserts that the GPU values are within `bound` (normalised error) of the CPU's. */
export function expectSameValues(gpu: Tensor, cpu: Tensor, bound: number, what: string): void {
  expect(gpu.device, `${what}: device`).to.equal('cuda');
  expect(cpu.device, `${what}: device`).to.equal('cpu');
  expect(gpu.shape, `${what}: shape`).to.deep.equal(cpu.shape);
  expect(gpu.dtype, `${what}: dtype`).to.equal(cpu.dtype);
  const g = gpu.dataSync(), c = cpu.dataSync();
  const err = normalisedError(g, c);
  expect(err, `${what}: normalised error ${err} > ${bound}`).to.be.at.most(bound);
}

/**
 * Runs `fn` on CPU inputs and on GPU copies of them, and compares every output and, when
 * `grads` is set, the gradients of sum(output * weights) with respect to every float input
 * that requires grad (random weights, the same on both devices).
 *
 * @example
 * compareDevices((x) => F.relu(x), [randomCpu([2, 3, 4, 4], 1)], { bound: 1e-6, grads: true });
 */
export function compareDevices(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  options: { bound?: number; gradBound?: number; grads?: boolean; what?: string } = {},
): void {
  const bound = options.bound ?? 1e-5;
  const gradBound = options.gradBound ?? bound;
  const what = options.what ?? 'op';
  const prepare = (device: 'cpu' | 'cuda') =>
    inputs.map((t) => {
      const moved = t.to(device);
      const leaf = moved === t ? t.detach() : moved;
      if (options.grads && leaf.dtype === 'float32') leaf.requiresGrad = true;
      return leaf;
    });
  const cpuIn = prepare('cpu');
  const gpuIn = prepare('cuda');
  const asList = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);
  const cpuOut = asList(fn(...cpuIn));
  const gpuOut = asList(fn(...gpuIn));
  expect(gpuOut.length).to.equal(cpuOut.length);
  cpuOut.forEach((c, i) => expectSameValues(gpuOut[i], c, bound, `${what} output ${i}`));
  if (!options.grads) return;
  let cpuLoss: Tensor | null = null, gpuLoss: Tensor | null = null;
  cpuOut.forEach((c, i) => {
    if (c.dtype !== 'float32' || !c.requiresGrad) return;
    const w = randomCpu(c.shape, 1000 + i);
    const cl = c.mul(w).sum();
    const gl = gpuOut[i].mul(w.to('cuda')).sum();
    cpuLoss = cpuLoss ? cpuLoss.add(cl) : cl;
    gpuLoss = gpuLoss ? gpuLoss.add(gl) : gl;
  });
  if (!cpuLoss || !gpuLoss) return;
  (cpuLoss as Tensor).backward();
  (gpuLoss as Tensor).backward();
  cpuIn.forEach((c, i) => {
    if (!c.requiresGrad) return;
    const cg = c.grad, gg = gpuIn[i].grad;
    expect(gg, `${what}: gradient of input ${i} on the GPU`).to.not.equal(null);
    expectSameValues(gg as Tensor, cg as Tensor, gradBound, `${what} gradient of input ${i}`);
  });
}
