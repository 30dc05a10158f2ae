/**
 * The convolution family and the matrix products on the GPU (native/cuda/conv2d.cc on cuDNN,
 * linear.cc and matmul.cc on cuBLAS), compared with the CPU backend.
 *
 * Two kinds of check:
 *  - "direct": the forward and the explicit backward functions (conv2dBackward, ...), which call
 *    only this family's natives, so a failure points at them alone;
 *  - "autograd": compareDevices with grads: true through the tape (which also runs the GPU's
 *    elementwise ops and sums).
 *
 * Bounds (normalised error: max |gpu - cpu| / max(1, max |cpu|), see cuda-helpers.ts):
 *  - convolutions with allowTF32Cudnn false (CUDNN_FMA_MATH, plain float32): 1e-4. Float32
 *    sums in another order give about 1e-6 here, but cuDNN may pick Winograd or FFT algorithms,
 *    whose float32 transforms lose about a digit more (1e-5 relative to the largest value);
 *    1e-4 keeps a margin and still fails TF32 (about 3e-4 on these reduction lengths: TF32 keeps
 *    10 mantissa bits, 5e-4 relative per product).
 *  - convolutions with the default settings (TF32 allowed): 1e-2.
 *  - cuBLAS products without TF32 (allowTF32Matmul false, the default) and the bias gradient
 *    (a plain sum): 1e-5, the plain float32 bound.
 *
 * Paths: conv2d runs on cuDNN's backend (graph) API with cached plans by default (every block
 * but one, native/cuda/conv_graph.cc); the block that sets CONVNET_CUDNN_GRAPH=0 runs the main
 * cases on the legacy API (the fallback for problems the graph API cannot run) and compares the
 * two paths.
 */
import { expect } from 'chai';
import { cuda, F, matmul } from '../lib';
import { Tensor } from '../lib/tensor';
import {
  conv1dBackward, conv2dBackward, convTranspose2dBackward, linearBackward,
  type Conv1dOptions, type Conv2dOptions, type ConvTranspose2dOptions,
} from '../lib/nn/functional/conv';
import { native } from '../lib/native';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectError } from './helpers';

const CONV_BOUND = 1e-4;  // FMA math (see above)
const TF32_BOUND = 1e-2;  // cuDNN's default TF32
const PLAIN_BOUND = 1e-5; // cuBLAS float32, sums

type Case = { name: string; x: number[]; w: number[]; bias: boolean; opts: Conv2dOptions };

/** The non-null gradients of a backward result, in the order dx, dw, db. */
const present = (r: { dx: Tensor | null; dw: Tensor | null; db: Tensor | null }): Tensor[] =>
  [r.dx, r.dw, r.db].filter((t): t is Tensor => t !== null);

/** The output's shape for a conv2d case (CPU run, cheap next to the checks). */
function dyFor(x: Tensor, w: Tensor, opts: Conv2dOptions, seed: number): Tensor {
  const y = F.conv2d(x, w, null, opts);
  const dy = randomCpu(y.shape, seed);
  y.dispose();
  return dy;
}

/** conv2d forward and all three gradients through the explicit backward, on both devices. */
function checkConv2dDirect(c: Case, seed: number, bound = CONV_BOUND): void {
  const x = randomCpu(c.x, seed), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
  compareDevices((xx, ww, bb) => F.conv2d(xx, ww, c.bias ? bb : null, c.opts), [x, w, b], { bound, what: `${c.name} forward` });
  const dy = dyFor(x, w, c.opts, seed + 3);
  compareDevices((d, xx, ww) => present(conv2dBackward(d, xx, ww, c.opts)), [dy, x, w], { bound, what: `${c.name} backward` });
}

function checkConv2dAutograd(c: Case, seed: number, bound = CONV_BOUND): void {
  const x = randomCpu(c.x, seed), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
  const inputs = c.bias ? [x, w, b] : [x, w];
  compareDevices((xx, ww, bb) => F.conv2d(xx, ww, bb ?? null, c.opts), inputs, { bound, grads: true, what: `${c.name} autograd` });
}

// LeNet-5 (batch 2) and AlexNet (batch 1-2; conv2, conv4 and conv5 with its groups = 2).
const NETWORK_CASES: Case[] = [
  { name: 'LeNet-5 C1', x: [2, 1, 32, 32], w: [6, 1, 5, 5], bias: true, opts: {} },
  { name: 'LeNet-5 C3', x: [2, 6, 14, 14], w: [16, 6, 5, 5], bias: true, opts: {} },
  { name: 'LeNet-5 C5', x: [2, 16, 5, 5], w: [120, 16, 5, 5], bias: true, opts: {} },
  { name: 'AlexNet conv1', x: [1, 3, 227, 227], w: [96, 3, 11, 11], bias: true, opts: { stride: 4 } },
  { name: 'AlexNet conv2 (groups 2)', x: [2, 96, 27, 27], w: [256, 48, 5, 5], bias: true, opts: { padding: 2, groups: 2 } },
  { name: 'AlexNet conv3', x: [2, 256, 13, 13], w: [384, 256, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'AlexNet conv4 (groups 2)', x: [2, 384, 13, 13], w: [384, 192, 3, 3], bias: true, opts: { padding: 1, groups: 2 } },
  { name: 'AlexNet conv5 (groups 2)', x: [2, 384, 13, 13], w: [256, 192, 3, 3], bias: true, opts: { padding: 1, groups: 2 } },
];

// Geometry: every stride and dilation of (1, 2, 4) with paddings 0..2, odd sizes, no bias.
const GEOMETRY_CASES: Case[] = [];
for (const stride of [1, 2, 4]) {
  for (const dilation of [1, 2, 4]) {
    for (const padding of [0, 1, 2]) {
      GEOMETRY_CASES.push({
        name: `stride ${stride} dilation ${dilation} padding ${padding}`,
        x: [2, 3, 19, 23], w: [5, 3, 3, 3], bias: padding === 1, opts: { stride, dilation, padding },
      });
    }
  }
}

const MORE_CASES: Case[] = [
  { name: 'rectangular kernel, pairs of stride/padding/dilation', x: [3, 4, 17, 12], w: [7, 4, 3, 2], bias: true, opts: { stride: [2, 1], padding: [1, 0], dilation: [1, 2] } },
  // 'same' with an even kernel pads one more row/column at the bottom/right than at the top/left
  // (cuDNN cannot: the input is zero-padded at the bottom/right first).
  { name: "'same' with an even kernel (asymmetric padding)", x: [2, 3, 9, 10], w: [4, 3, 4, 2], bias: true, opts: { padding: 'same' } },
  { name: "'same' with an even kernel and dilation 3", x: [1, 2, 15, 8], w: [3, 2, 2, 4], bias: false, opts: { padding: 'same', dilation: 3 } },
  { name: 'groups 3', x: [2, 6, 10, 9], w: [9, 2, 3, 3], bias: true, opts: { groups: 3, padding: 1 } },
  { name: 'depthwise (groups = C)', x: [2, 8, 15, 13], w: [8, 1, 3, 3], bias: true, opts: { groups: 8, padding: 1 } },
  { name: 'depthwise with multiplier 2, stride 2', x: [2, 5, 16, 16], w: [10, 1, 5, 5], bias: false, opts: { groups: 5, padding: 2, stride: 2 } },
  { name: 'depthwise, dilation 2, batch 1', x: [1, 16, 12, 12], w: [16, 1, 3, 3], bias: true, opts: { groups: 16, dilation: 2, padding: 2 } },
  { name: '1x1 kernel', x: [2, 33, 7, 5], w: [17, 33, 1, 1], bias: true, opts: {} },
  { name: 'kernel as large as the padded input', x: [2, 3, 5, 5], w: [4, 3, 7, 7], bias: true, opts: { padding: 1 } },
  { name: 'batch 1, large-ish image, channels not multiples of 32', x: [1, 35, 64, 48], w: [37, 35, 3, 3], bias: true, opts: { padding: 1 } },
];

type TCase = { name: string; x: number[]; w: number[]; bias: boolean; opts: ConvTranspose2dOptions };
// conv_transpose2d is conv2d's backward-data; outputPadding makes its bottom/right padding
// smaller than the top/left one (cuDNN gets a larger output and the result is cropped).
const TRANSPOSE_CASES: TCase[] = [
  { name: 'stride 2, padding 1, outputPadding 1', x: [2, 4, 7, 6], w: [4, 3, 3, 3], bias: true, opts: { stride: 2, padding: 1, outputPadding: 1 } },
  { name: 'stride 3, outputPadding [2, 1], groups 2', x: [2, 4, 5, 5], w: [4, 2, 4, 3], bias: true, opts: { stride: 3, padding: [1, 2], outputPadding: [2, 1], groups: 2 } },
  { name: 'dilation 2, outputPadding 1 (< dilation), stride 1', x: [1, 3, 6, 8], w: [3, 5, 3, 3], bias: false, opts: { dilation: 2, outputPadding: 1, padding: 1 } },
  { name: 'no padding, stride 2 (DCGAN-like)', x: [2, 8, 4, 4], w: [8, 6, 4, 4], bias: true, opts: { stride: 2 } },
  { name: 'stride 2, padding 0, outputPadding 1', x: [2, 3, 5, 4], w: [3, 4, 3, 3], bias: true, opts: { stride: 2, outputPadding: 1 } },
  // outputPadding 2 >= stride 1 (allowed: < dilation 3): the conv's bottom padding would be -2,
  // which the graph path does not express; the legacy path's padded copies run it (after one more
  // graph attempt on cuDNN's symmetric problem).
  { name: 'dilation 3, outputPadding 2 (negative bottom padding)', x: [2, 3, 6, 5], w: [3, 4, 3, 3], bias: true, opts: { dilation: 3, outputPadding: 2 } },
];

type C1Case = { name: string; x: number[]; w: number[]; bias: boolean; opts: Conv1dOptions };
const CONV1D_CASES: C1Case[] = [
  { name: 'conv1d', x: [3, 4, 50], w: [6, 4, 5], bias: true, opts: { padding: 2 } },
  { name: 'conv1d stride 2 dilation 2 groups 2', x: [2, 6, 37], w: [4, 3, 3], bias: true, opts: { stride: 2, dilation: 2, groups: 2 } },
  { name: "conv1d 'same' with an even kernel", x: [2, 3, 20], w: [5, 3, 4], bias: false, opts: { padding: 'same' } },
];

/** Sets the CUDA options for the tests of a describe, restoring the previous ones after. */
function withOptions(opts: Parameters<typeof cuda.setOptions>[0]): void {
  let saved: ReturnType<typeof cuda.options> | null = null;
  before(function () {
    saved = cuda.options();
    cuda.setOptions(opts);
  });
  after(function () {
    if (saved) cuda.setOptions(saved);
  });
}

describeCuda('conv2d on cuDNN (plain float32: allowTF32Cudnn false)', function () {
  withOptions({ allowTF32Cudnn: false, benchmark: false, deterministic: false });
  let seed = 100;
  for (const c of [...NETWORK_CASES, ...GEOMETRY_CASES, ...MORE_CASES]) {
    it(`direct: ${c.name}`, function () {
      checkConv2dDirect(c, (seed += 10));
    });
  }
  for (const c of [NETWORK_CASES[1], NETWORK_CASES[4], GEOMETRY_CASES[13], MORE_CASES[1], MORE_CASES[4], MORE_CASES[5]]) {
    it(`autograd: ${c.name}`, function () {
      checkConv2dAutograd(c, (seed += 10));
    });
  }

  it('direct: each gradient alone (needInput / needWeight / needBias)', function () {
    const c = MORE_CASES[0];
    const x = randomCpu(c.x, 7), w = randomCpu(c.w, 8);
    const dy = dyFor(x, w, c.opts, 9);
    for (const g of [{ needInput: true, needWeight: false, needBias: false }, { needInput: false, needWeight: true, needBias: false },
      { needInput: false, needWeight: false, needBias: true }]) {
      compareDevices((d, xx, ww) => present(conv2dBackward(d, xx, ww, c.opts, g)), [dy, x, w], { bound: CONV_BOUND, what: JSON.stringify(g) });
    }
  });
});

describeCuda('conv2d with a fused activation (clamp after the convolution, on the GPU)', function () {
  withOptions({ allowTF32Cudnn: false, benchmark: false, deterministic: false });
  it('matches the CPU (lib/nn/fused-activation.ts: ReLU, ReLU6, Hardtanh bounds)', function () {
    const geometry = [1, 1, 1, 1, 1, 1, 1, 1, 4];  // 3x3, padding 1, groups 4 (depthwise)
    for (const [lo, hi] of [[0, Infinity], [0, 6], [-0.5, 0.25]]) {
      const x = randomCpu([2, 4, 9, 9], 11, -3, 3), w = randomCpu([4, 1, 3, 3], 12), b = randomCpu([4], 13);
      compareDevices((xx, ww, bb) => new Tensor(native.conv2dForward(xx.handle('t'), ww.handle('t'), bb.handle('t'), geometry, lo, hi), [2, 4, 9, 9], 'float32'),
        [x, w, b], { bound: CONV_BOUND, what: `clamp [${lo}, ${hi}]` });
    }
  });
});

describeCuda('conv_transpose2d and conv1d on cuDNN (allowTF32Cudnn false)', function () {
  withOptions({ allowTF32Cudnn: false, benchmark: false, deterministic: false });
  let seed = 5000;
  for (const c of TRANSPOSE_CASES) {
    it(`direct: convTranspose2d ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1);
      const b = randomCpu([c.w[1] * (c.opts.groups ?? 1)], seed + 2);
      compareDevices((xx, ww, bb) => F.convTranspose2d(xx, ww, c.bias ? bb : null, c.opts), [x, w, b], { bound: CONV_BOUND, what: `${c.name} forward` });
      const y = F.convTranspose2d(x, w, null, c.opts);
      const dy = randomCpu(y.shape, seed + 3);
      compareDevices((d, xx, ww) => present(convTranspose2dBackward(d, xx, ww, c.opts)), [dy, x, w], { bound: CONV_BOUND, what: `${c.name} backward` });
    });
    it(`autograd: convTranspose2d ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1);
      const b = randomCpu([c.w[1] * (c.opts.groups ?? 1)], seed + 2);
      compareDevices((xx, ww, bb) => F.convTranspose2d(xx, ww, bb ?? null, c.opts), c.bias ? [x, w, b] : [x, w],
        { bound: CONV_BOUND, grads: true, what: c.name });
    });
  }
  for (const c of CONV1D_CASES) {
    it(`direct: ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
      compareDevices((xx, ww, bb) => F.conv1d(xx, ww, c.bias ? bb : null, c.opts), [x, w, b], { bound: CONV_BOUND, what: `${c.name} forward` });
      const y = F.conv1d(x, w, null, c.opts);
      const dy = randomCpu(y.shape, seed + 3);
      // db of a 3-D dy runs the reduction kernel (cuDNN's backward-bias takes 4-D only).
      compareDevices((d, xx, ww) => present(conv1dBackward(d, xx, ww, c.opts)), [dy, x, w], { bound: CONV_BOUND, what: `${c.name} backward` });
    });
    it(`autograd: ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
      compareDevices((xx, ww, bb) => F.conv1d(xx, ww, bb ?? null, c.opts), c.bias ? [x, w, b] : [x, w], { bound: CONV_BOUND, grads: true, what: c.name });
    });
  }
});

describeCuda('conv2d settings: TF32, benchmark, deterministic, the algorithm cache', function () {
  let saved: ReturnType<typeof cuda.options> | null = null;
  before(function () {
    saved = cuda.options();
  });
  afterEach(function () {
    if (saved) cuda.setOptions(saved);
  });
  const alex = NETWORK_CASES[5];  // AlexNet conv3: reduction length 2304 per output

  it(`default settings (TF32 allowed) stay within ${TF32_BOUND}`, function () {
    cuda.setOptions({ allowTF32Cudnn: true, benchmark: false });
    checkConv2dDirect(alex, 9001, TF32_BOUND);
    checkConv2dDirect(MORE_CASES[4], 9011, TF32_BOUND);
  });

  it('benchmark true (timed search) matches the heuristic choice and the CPU', function () {
    const x = randomCpu(alex.x, 9100), w = randomCpu(alex.w, 9101), b = randomCpu([alex.w[0]], 9102);
    const dy = dyFor(x, w, alex.opts, 9103);
    const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => t.to('cuda'));
    const run = () => [F.conv2d(xg, wg, bg, alex.opts), ...present(conv2dBackward(dyg, xg, wg, alex.opts))].map((t) => t.to('cpu'));
    cuda.setOptions({ allowTF32Cudnn: false, benchmark: false });
    const heuristic = run();
    cuda.setOptions({ allowTF32Cudnn: false, benchmark: true });
    const timed = run();
    const timedAgain = run();  // the search's result comes from the cache now
    // A few more problems through the search (asymmetric padding, groups), against the CPU.
    for (const c of [MORE_CASES[0], MORE_CASES[1], MORE_CASES[3]]) checkConv2dDirect(c, 9200);
    heuristic.forEach((h, i) => {
      const a = h.dataSync(), t = timed[i].dataSync(), u = timedAgain[i].dataSync();
      let diff = 0, scale = 1;
      for (let j = 0; j < a.length; j++) {
        diff = Math.max(diff, Math.abs(a[j] - t[j]), Math.abs(a[j] - u[j]));
        scale = Math.max(scale, Math.abs(a[j]));
      }
      expect(diff / scale, `output ${i}: heuristic vs timed search`).to.be.at.most(CONV_BOUND);
    });
  });

  it('the algorithm cache: the same problem twice gives the same bits (forward and, deterministic, backward)', function () {
    cuda.setOptions({ allowTF32Cudnn: false, benchmark: false, deterministic: true });
    const c = NETWORK_CASES[4];
    const x = randomCpu(c.x, 9300).to('cuda'), w = randomCpu(c.w, 9301).to('cuda'), b = randomCpu([c.w[0]], 9302).to('cuda');
    const dy = dyFor(x.to('cpu'), w.to('cpu'), c.opts, 9303).to('cuda');
    const once = () => [F.conv2d(x, w, b, c.opts), ...present(conv2dBackward(dy, x, w, c.opts))].map((t) => t.dataSync());
    const first = once();
    const second = once();  // every direction's algorithm list comes from the cache
    const bytes = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    first.forEach((f, i) => expect(bytes(second[i]).equals(bytes(f)), `output ${i} bit-identical`).to.equal(true));
    const cpu = [F.conv2d(x.to('cpu'), w.to('cpu'), b.to('cpu'), c.opts), ...present(conv2dBackward(dy.to('cpu'), x.to('cpu'), w.to('cpu'), c.opts))];
    cpu.forEach((t, i) => {
      const a = t.dataSync();
      let diff = 0, scale = 1;
      for (let j = 0; j < a.length; j++) {
        diff = Math.max(diff, Math.abs(a[j] - first[i][j]));
        scale = Math.max(scale, Math.abs(a[j]));
      }
      expect(diff / scale, `deterministic output ${i} vs CPU`).to.be.at.most(CONV_BOUND);
    });
  });

  it('switching allowTF32Cudnn between calls is honoured (the cache is keyed by the math type)', function () {
    cuda.setOptions({ allowTF32Cudnn: true });
    checkConv2dDirect(alex, 9400, TF32_BOUND);
    cuda.setOptions({ allowTF32Cudnn: false });
    checkConv2dDirect(alex, 9400, CONV_BOUND);
  });
});

/**
 * Runs fn with CONVNET_CUDNN_GRAPH set to `value` ('1' the graph-API path, '0' the legacy API),
 * which native/cuda/conv_graph.cc reads at each call (Node's process.env writes the process
 * environment).
 */
function withPath<T>(value: '0' | '1', fn: () => T): T {
  const saved = process.env.CONVNET_CUDNN_GRAPH;
  process.env.CONVNET_CUDNN_GRAPH = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.CONVNET_CUDNN_GRAPH;
    else process.env.CONVNET_CUDNN_GRAPH = saved;
  }
}
const withGraph = <T>(fn: () => T): T => withPath('1', fn);
const withLegacy = <T>(fn: () => T): T => withPath('0', fn);

/** conv2d's forward and explicit backward on the GPU, as CPU tensors. */
function gpuConvOutputs(c: Case, seed: number): Tensor[] {
  const x = randomCpu(c.x, seed), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
  const dy = dyFor(x, w, c.opts, seed + 3);
  const [xg, wg, bg, dyg] = [x, w, b, dy].map((t) => t.to('cuda'));
  return [F.conv2d(xg, wg, c.bias ? bg : null, c.opts), ...present(conv2dBackward(dyg, xg, wg, c.opts))].map((t) => t.to('cpu'));
}

/** The normalised difference of two tensors of one shape. */
function normDiff(a: Tensor, b: Tensor): number {
  const u = a.dataSync(), v = b.dataSync();
  let diff = 0, scale = 1;
  for (let j = 0; j < u.length; j++) {
    diff = Math.max(diff, Math.abs(u[j] - v[j]));
    scale = Math.max(scale, Math.abs(u[j]));
  }
  return diff / scale;
}

// By default conv2d runs on cuDNN's graph API (every test above runs it); these run the legacy
// API (the fallback) on the same cases, and compare the two.
describeCuda('conv2d on the cuDNN legacy API (CONVNET_CUDNN_GRAPH=0) and against the graph path', function () {
  withOptions({ allowTF32Cudnn: false, benchmark: false, deterministic: false });
  let seed = 12000;
  for (const c of [...NETWORK_CASES, ...MORE_CASES]) {
    it(`legacy, direct: ${c.name}`, function () {
      withLegacy(() => checkConv2dDirect(c, (seed += 10)));
    });
  }
  for (const c of TRANSPOSE_CASES) {
    it(`legacy, direct: convTranspose2d ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1);
      const b = randomCpu([c.w[1] * (c.opts.groups ?? 1)], seed + 2);
      const y = F.convTranspose2d(x, w, null, c.opts);
      const dy = randomCpu(y.shape, seed + 3);
      withLegacy(() => {
        compareDevices((xx, ww, bb) => F.convTranspose2d(xx, ww, c.bias ? bb : null, c.opts), [x, w, b], { bound: CONV_BOUND, what: `${c.name} forward` });
        compareDevices((d, xx, ww) => present(convTranspose2dBackward(d, xx, ww, c.opts)), [dy, x, w], { bound: CONV_BOUND, what: `${c.name} backward` });
      });
    });
  }

  // Asymmetric padding ('same', even kernels), groups, depthwise, dilation, rectangular geometry.
  const AGREE: Case[] = [NETWORK_CASES[1], NETWORK_CASES[4], GEOMETRY_CASES[13], GEOMETRY_CASES[26], ...MORE_CASES];
  for (const c of AGREE) {
    it(`graph path and legacy path agree: ${c.name}`, function () {
      const graph = withGraph(() => gpuConvOutputs(c, 13000));
      const legacy = withLegacy(() => gpuConvOutputs(c, 13000));
      expect(legacy.length).to.equal(graph.length);
      graph.forEach((g, i) => expect(normDiff(g, legacy[i]), `${c.name} output ${i}`).to.be.at.most(CONV_BOUND));
    });
  }

  it('graph path and legacy path agree with benchmark and deterministic on', function () {
    for (const opts of [{ benchmark: true, deterministic: false }, { benchmark: false, deterministic: true }, { benchmark: true, deterministic: true }]) {
      cuda.setOptions(opts);
      try {
        for (const c of [NETWORK_CASES[4], MORE_CASES[1], MORE_CASES[4]]) {
          const graph = withGraph(() => gpuConvOutputs(c, 13100));
          const legacy = withLegacy(() => gpuConvOutputs(c, 13100));
          graph.forEach((g, i) => expect(normDiff(g, legacy[i]), `${JSON.stringify(opts)} ${c.name} output ${i}`).to.be.at.most(CONV_BOUND));
        }
      } finally {
        cuda.setOptions({ benchmark: false, deterministic: false });
      }
    }
  });

  // The point of the graph path: a cached plan costs a few microseconds of host time per call,
  // the legacy calls ~40 us or more in cuDNN 9 (GPU run). A graph path that silently fell back
  // to the legacy one for everything would pass every check above; this one would fail.
  it('the graph path costs less host time per call than the legacy path (LeNet C3, forward and backward)', function () {
    const c = NETWORK_CASES[1];
    const x = randomCpu(c.x, 1).to('cuda'), w = randomCpu(c.w, 2).to('cuda'), b = randomCpu([c.w[0]], 3).to('cuda');
    const dy = dyFor(x.to('cpu'), w.to('cpu'), c.opts, 4).to('cuda');
    const step = () => {
      for (const t of [F.conv2d(x, w, b, c.opts), ...present(conv2dBackward(dy, x, w, c.opts))]) t.dispose();
    };
    const usPerStep = (n: number): number => {
      step();
      x.add(0).dataSync();  // waits for the GPU
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) step();
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / n);
        x.add(0).dataSync();
      }
      return best;
    };
    const graph = withGraph(() => usPerStep(200));
    const legacy = withLegacy(() => usPerStep(200));
    console.log(`      host time per forward + backward step: graph ${graph.toFixed(1)} us, legacy ${legacy.toFixed(1)} us`);
    expect(graph, 'graph path host time per step (us)').to.be.below(0.8 * legacy);
  });
});

describeCuda('bias gradient on the GPU', function () {
  it('biasBackward over each axis of 2-D, 3-D, 4-D and 5-D dy matches the CPU', function () {
    for (const shape of [[7, 300], [1, 5], [4, 3, 9], [2, 5, 7, 3], [3, 4, 1, 1], [2, 3, 4, 5, 6], [1000, 33]]) {
      for (let axis = 0; axis < shape.length; axis++) {
        const dy = randomCpu(shape, 300 + axis);
        compareDevices((d) => new Tensor(native.biasBackward(d.handle('test'), axis), [shape[axis]], 'float32'), [dy],
          { bound: PLAIN_BOUND, what: `dy ${JSON.stringify(shape)} axis ${axis}` });
      }
    }
  });
});

describeCuda('linear and matmul on cuBLAS (allowTF32Matmul false)', function () {
  withOptions({ allowTF32Matmul: false });
  const LINEAR: { name: string; x: number[]; w: number[]; bias: boolean }[] = [
    { name: 'LeNet-5 F6 (2-D)', x: [2, 120], w: [84, 120], bias: true },
    { name: 'LeNet-5 output (2-D)', x: [2, 84], w: [10, 84], bias: true },
    { name: 'AlexNet fc8', x: [2, 4096], w: [1000, 4096], bias: true },
    { name: '3-D input', x: [3, 5, 37], w: [29, 37], bias: true },
    { name: '3-D input, no bias, batch 1', x: [1, 7, 64], w: [33, 64], bias: false },
    { name: '4-D input', x: [2, 2, 3, 10], w: [6, 10], bias: true },
  ];
  let seed = 7000;
  for (const c of LINEAR) {
    it(`direct: linear ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
      compareDevices((xx, ww, bb) => F.linear(xx, ww, c.bias ? bb : null), [x, w, b], { bound: PLAIN_BOUND, what: `${c.name} forward` });
      const dy = randomCpu([...c.x.slice(0, -1), c.w[0]], seed + 3);
      compareDevices((d, xx, ww) => present(linearBackward(d, xx, ww)), [dy, x, w], { bound: PLAIN_BOUND, what: `${c.name} backward` });
    });
    it(`autograd: linear ${c.name}`, function () {
      const x = randomCpu(c.x, (seed += 10)), w = randomCpu(c.w, seed + 1), b = randomCpu([c.w[0]], seed + 2);
      compareDevices((xx, ww, bb) => F.linear(xx, ww, bb ?? null), c.bias ? [x, w, b] : [x, w], { bound: PLAIN_BOUND, grads: true, what: c.name });
    });
  }

  const MATMUL: { name: string; a: number[]; b: number[]; transA?: boolean; transB?: boolean }[] = [
    { name: '2-D', a: [33, 65], b: [65, 17] },
    { name: '2-D transA', a: [65, 33], b: [65, 17], transA: true },
    { name: '2-D transB', a: [33, 65], b: [17, 65], transB: true },
    { name: '2-D transA transB', a: [65, 33], b: [17, 65], transA: true, transB: true },
    { name: 'batched, same batch (strided)', a: [4, 9, 13], b: [4, 13, 7] },
    { name: 'batched, b shared (folded into M)', a: [2, 3, 9, 13], b: [13, 7] },
    { name: 'batched, b shared with transA (strided, stride 0)', a: [2, 3, 13, 9], b: [13, 7], transA: true },
    { name: 'batched, a shared (stride 0)', a: [9, 13], b: [5, 13, 7], transB: false },
    { name: 'broadcast batch [3,1] x [4] (one GEMM per matrix)', a: [3, 1, 6, 5], b: [4, 5, 7] },
    { name: 'broadcast batch [2,1,3] x [1,4,1], transA transB', a: [2, 1, 3, 5, 6], b: [1, 4, 1, 7, 5], transA: true, transB: true },
    { name: 'vector @ batched matrix', a: [13], b: [3, 13, 4] },
    { name: 'batched matrix @ vector', a: [3, 4, 13], b: [13] },
    { name: 'empty inner dimension (zeros)', a: [3, 0], b: [0, 4] },
  ];
  for (const c of MATMUL) {
    it(`direct: matmul ${c.name}`, function () {
      const a = randomCpu(c.a, (seed += 10)), b = randomCpu(c.b, seed + 1);
      compareDevices((aa, bb) => matmul(aa, bb, { transA: c.transA, transB: c.transB }), [a, b], { bound: PLAIN_BOUND, what: c.name });
    });
  }
  for (const c of MATMUL.filter((m) => m.a.length > 2 || m.b.length > 2)) {
    it(`autograd: matmul ${c.name}`, function () {
      const a = randomCpu(c.a, (seed += 10)), b = randomCpu(c.b, seed + 1);
      compareDevices((aa, bb) => matmul(aa, bb, { transA: c.transA, transB: c.transB }), [a, b], { bound: PLAIN_BOUND, grads: true, what: c.name });
    });
  }

  it(`allowTF32Matmul true stays within ${TF32_BOUND}`, function () {
    cuda.setOptions({ allowTF32Matmul: true });
    try {
      compareDevices((aa, bb) => matmul(aa, bb), [randomCpu([4, 64, 300], 8001), randomCpu([4, 300, 50], 8002)], { bound: TF32_BOUND });
      compareDevices((xx, ww, bb) => F.linear(xx, ww, bb), [randomCpu([8, 512], 8003), randomCpu([64, 512], 8004), randomCpu([64], 8005)], { bound: TF32_BOUND });
    } finally {
      cuda.setOptions({ allowTF32Matmul: false });
    }
  });
});

describeCuda('the convolution family refuses mixed devices', function () {
  it('E_DEVICE for conv2d, conv_transpose2d, linear and matmul with one operand on the CPU', function () {
    const x = randomCpu([1, 2, 5, 5], 1).to('cuda'), w = randomCpu([3, 2, 3, 3], 2), b = randomCpu([3], 3).to('cuda');
    expectError(() => F.conv2d(x, w, b), 'E_DEVICE');
    expectError(() => F.conv2d(x, w.to('cuda'), b.to('cpu')), 'E_DEVICE');
    expectError(() => F.convTranspose2d(x, randomCpu([2, 3, 3, 3], 4)), 'E_DEVICE');
    expectError(() => F.linear(randomCpu([2, 4], 5).to('cuda'), randomCpu([3, 4], 6)), 'E_DEVICE');
    expectError(() => matmul(randomCpu([2, 4], 5).to('cuda'), randomCpu([4, 3], 6)), 'E_DEVICE');
  });
});
