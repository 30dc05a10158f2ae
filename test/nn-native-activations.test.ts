/**
 * The rest of torch.nn's pointwise activations, native on the CPU (one pass each way;
 * native/cpu/silu.cc, mish.cc, softplus.cc, softsign.cc, tanh.cc, piecewise_linear.cc, elu.cc;
 * the gated linear unit, glu.cc):
 * values and gradients against float64 over a sweep within a few ulp, the piecewise-linear ones
 * bit for bit as PyTorch's float32 formulas, special values, finite differences through the tape,
 * typed errors. (The GPU composes them from tensor ops: test/cuda-layers.test.ts compares the two.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { activationBackward } from '../lib/nn/functional/activation';
import { expectError, rng, tapeCheck } from './helpers';

const { F } = cc;
type F32 = cc.Tensor<'float32'>;
const f = Math.fround;

/** The sweep: every 1/1000 on [-12, 12], 4000 random values on [-40, 40], and some far out. */
function sweep(): Float32Array {
  const next = rng(61), v: number[] = [];
  for (let i = -12000; i <= 12000; i++) v.push(i / 1000);
  for (let i = 0; i < 4000; i++) v.push((next() - 0.5) * 80);
  v.push(-103, -100, -95, -90, -88, -87.5, -87, -60, 60, 87, 88, 100, 1e-30, -1e-30, 1e-45, -1e-45, 1e6, -1e6);
  return Float32Array.from(v);
}

/** y and dx (the gradient of sum(y * dy)) of fn at x through autograd, dy a fixed pattern. */
function valueAndGradient(fn: (t: F32) => F32, x: Float32Array): { y: Float32Array; dx: Float32Array; dy: Float32Array } {
  const t = cc.tensor(x, { requiresGrad: true }) as F32;
  const y = fn(t);
  const dy = Float32Array.from(x, (_, i) => f(0.5 + (i % 7) * 0.25));
  y.backward(cc.tensor(dy));
  const out = { y: y.dataSync() as Float32Array, dx: t.grad!.dataSync() as Float32Array, dy };
  t.dispose();
  y.dispose();
  return out;
}

/** |got - want| in float32 ulps of `scale` (at least 2^-149, the smallest subnormal's spacing). */
const ulps = (got: number, want: number, scale: number) => Math.abs(got - want) / Math.max(Math.abs(scale) * 2 ** -23, 2 ** -149);
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

interface Smooth {
  name: string;
  fn: (t: F32) => F32;
  /** float64 value and derivative at v, each with the scale its error is measured against. */
  y: (v: number) => [number, number];
  dx: (v: number) => [number, number];
  /** the ulps allowed at v (value, derivative). */
  allowed: (v: number) => [number, number];
}

const SELU_ALPHA = 1.6732632423543772848170429916717, SELU_SCALE = 1.0507009873554804934193349852946;

const smooth: Smooth[] = [
  {
    name: 'silu', fn: (t) => F.silu(t),
    y: (v) => [v * sigmoid(v), v * sigmoid(v)],
    dx: (v) => { const s = sigmoid(v); return [s * (1 + v * (1 - s)), s + Math.abs(v * s * (1 - s))]; },
    // 1 - s cancels for large x: the error of s (an ulp of 1) times x. Below -87 s is subnormal,
    // a few bits: its rounding times x (PyTorch's x / (1 + exp(-x)) gives -0 there).
    allowed: (v) => [v < -87 ? 4 + Math.abs(v) : 4, 4 + 1.5 * Math.abs(v)],
  },
  {
    name: 'mish', fn: (t) => F.mish(t),
    y: (v) => { const t = Math.tanh(softplus(v)); return [v * t, v * t]; },
    dx: (v) => {
      const t = Math.tanh(softplus(v)), term = v * sigmoid(v) * (1 - t * t);
      return [t + term, Math.abs(t) + Math.abs(term)];
    },
    allowed: (v) => [v < -87 ? 6 + Math.abs(v) : 6, 6 + 2 * Math.abs(v)],  // as silu's
  },
  ...[[1, 20], [2, 20], [0.5, 20], [1, 5]].map(([beta, threshold]): Smooth => ({
    name: `softplus beta ${beta} threshold ${threshold}`, fn: (t) => F.softplus(t, beta, threshold),
    y: (v) => { const r = beta * v > threshold ? v : softplus(beta * v) / beta; return [r, r]; },
    dx: (v) => { const r = beta * v > threshold ? 1 : sigmoid(beta * v); return [r, r]; },
    allowed: () => [3, 3],
  })),
  {
    name: 'logSigmoid', fn: (t) => F.logSigmoid(t),
    y: (v) => { const r = -softplus(-v); return [r, r]; },
    dx: (v) => [sigmoid(-v), sigmoid(-v)],
    allowed: () => [3, 4],  // from y: y's error carries over near y = 0
  },
  {
    name: 'softsign', fn: (t) => F.softsign(t),
    y: (v) => [v / (1 + Math.abs(v)), v / (1 + Math.abs(v))],
    dx: (v) => [1 / (1 + Math.abs(v)) ** 2, 1 / (1 + Math.abs(v)) ** 2],
    allowed: () => [2, 3],
  },
  {
    name: 'tanhshrink', fn: (t) => F.tanhshrink(t),
    // x - tanh(x) cancels near 0, as PyTorch's: the error is the size of x's ulp
    y: (v) => [v - Math.tanh(v), Math.abs(v)],
    dx: (v) => [Math.tanh(v) ** 2, Math.tanh(v) ** 2],
    allowed: () => [3, 4],
  },
  {
    name: 'selu', fn: (t) => F.selu(t),
    y: (v) => { const r = SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)); return [r, r]; },
    dx: (v) => { const r = SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v)); return [r, r]; },
    allowed: () => [3, 3],
  },
  ...[0.5, 2].map((alpha): Smooth => ({
    name: `celu ${alpha}`, fn: (t) => F.celu(t, alpha),
    y: (v) => { const r = v > 0 ? v : alpha * Math.expm1(v / alpha); return [r, r]; },
    dx: (v) => { const r = v > 0 ? 1 : Math.exp(v / alpha); return [r, r]; },
    allowed: () => [3, 3],
  })),
];

describe('torch.nn\'s other activations: native on the CPU', () => {
  for (const c of smooth) {
    it(`${c.name}: value and gradient within a few ulp of float64 over a sweep`, () => {
      const x = sweep();
      const { y, dx, dy } = valueAndGradient(c.fn, x);
      x.forEach((v, i) => {
        const [want, scale] = c.y(v), [wantD, scaleD] = c.dx(v), [okY, okD] = c.allowed(v);
        const e = ulps(y[i], want, scale);
        if (!(e <= okY)) expect.fail(`${c.name}(${v}) = ${y[i]}, float64 ${want}: ${e.toFixed(2)} ulp (allowed ${okY})`);
        // dx = dy * derivative: dy's factor is exact in float64, one more rounding in float32
        const g = ulps(dx[i], dy[i] * wantD, dy[i] * scaleD);
        if (!(g <= okD + 0.5)) expect.fail(`${c.name}'(${v}) = ${dx[i] / dy[i]}, float64 ${wantD}: ${g.toFixed(2)} ulp (allowed ${okD})`);
      });
    });
  }

  it('special values, as PyTorch: NaN stays NaN, infinities give its limits (or its NaN)', () => {
    const x = Float32Array.from([NaN, Infinity, -Infinity, 0, -0]);
    // [y at NaN, inf, -inf, 0], [dx at inf, -inf, 0]; NaN gives a NaN gradient in each
    const cases: [string, (t: F32) => F32, number[], number[]][] = [
      ['silu', (t) => F.silu(t), [NaN, Infinity, NaN, 0], [NaN, NaN, 0.5]],
      ['mish', (t) => F.mish(t), [NaN, Infinity, NaN, 0], [NaN, NaN, 0.6]],
      ['softplus', (t) => F.softplus(t), [NaN, Infinity, 0, Math.LN2], [1, 0, 0.5]],
      ['logSigmoid', (t) => F.logSigmoid(t), [NaN, 0, -Infinity, -Math.LN2], [0, 1, 0.5]],
      ['softsign', (t) => F.softsign(t), [NaN, NaN, NaN, 0], [0, 0, 1]],
      ['tanhshrink', (t) => F.tanhshrink(t), [NaN, Infinity, -Infinity, 0], [1, 1, 0]],
      ['selu', (t) => F.selu(t), [NaN, Infinity, -SELU_ALPHA * SELU_SCALE, 0], [SELU_SCALE, 0, SELU_ALPHA * SELU_SCALE]],
      ['celu 0.5', (t) => F.celu(t, 0.5), [NaN, Infinity, -0.5, 0], [1, 0, 1]],
    ];
    for (const [name, fn, ys, dxs] of cases) {
      const t = cc.tensor(x, { requiresGrad: true }) as F32;
      const y = fn(t);
      y.sum().backward();
      const yv = Array.from(y.dataSync()), g = Array.from(t.grad!.dataSync());
      expect(yv.slice(0, 4), `${name} values`).to.deep.equal(ys.map(f));
      expect(g.slice(1, 4), `${name} gradients`).to.deep.equal(dxs.map(f));
      expect(Number.isNaN(g[0]), `${name}' at NaN`).to.equal(true);
    }
  });

  it('keeps subnormal results: softplus and logSigmoid far out, as PyTorch', () => {
    const x = cc.tensor([-88, -100, 88, 100], { requiresGrad: true }) as F32;
    const y = F.softplus(x);
    const ls = F.logSigmoid(x);
    const want = [Math.exp(-88), Math.exp(-100)].map(f);
    expect(Array.from(y.dataSync()).slice(0, 2)).to.deep.equal(want);
    expect(Array.from(ls.dataSync()).slice(2)).to.deep.equal(want.map((v) => -v));
    ls.sum().backward();
    expect(Array.from(x.grad!.dataSync()).slice(2)).to.deep.equal(want);
  });

  // PyTorch's float32 formulas, compared bit for bit; NaN stays NaN forward (softshrink too, as
  // PyTorch since 2.0) and passes dy backward.
  const pieces: [string, (t: F32) => F32, (v: number) => number, (v: number) => boolean][] = [
    ['softshrink 0.5', (t) => F.softshrink(t, 0.5), (v) => (v > 0.5 ? f(v - 0.5) : v < -0.5 ? f(v + 0.5) : Number.isNaN(v) ? v : 0),
      (v) => !(v >= -0.5 && v <= 0.5)],
    ['softshrink 0', (t) => F.softshrink(t, 0), (v) => (v > 0 ? v : v < 0 ? v : Number.isNaN(v) ? v : 0), (v) => !(v >= 0 && v <= 0)],
    ['hardshrink 0.3', (t) => F.hardshrink(t, 0.3), (v) => (v >= -f(0.3) && v <= f(0.3) ? 0 : v), (v) => !(v >= -f(0.3) && v <= f(0.3))],
    ['threshold 0.1 20', (t) => F.threshold(t, 0.1, 20), (v) => (v <= f(0.1) ? 20 : v), (v) => !(v <= f(0.1))],
    ['hardtanh -2 3', (t) => F.hardtanh(t, -2, 3), (v) => (Number.isNaN(v) ? v : Math.min(Math.max(v, -2), 3)), (v) => !(v <= -2 || v >= 3)],
    ['relu6', (t) => F.relu6(t), (v) => (Number.isNaN(v) ? v : Math.min(Math.max(v, 0), 6)), (v) => !(v <= 0 || v >= 6)],
  ];
  for (const [name, fn, ref, passes] of pieces) {
    it(`${name}: PyTorch's float32 formula bit for bit, no gradient on its bounds`, () => {
      const x = Float32Array.from([...sweep(), -0.5, 0.5, f(0.3), -f(0.3), f(0.1), -2, 3, 0, 6, -0, NaN, Infinity, -Infinity,
        f(0.5) + 2 ** -24, -0.5 - 2 ** -24]);
      const { y, dx, dy } = valueAndGradient(fn, x);
      x.forEach((v, i) => {
        const want = ref(v);
        if (!(Object.is(y[i] + 0, want + 0) || (Number.isNaN(y[i]) && Number.isNaN(want)))) expect.fail(`${name}(${v}) = ${y[i]}, want ${want}`);
        const g = passes(v) ? dy[i] : 0;
        if (dx[i] !== g) expect.fail(`${name}'(${v}) = ${dx[i]}, want ${g}`);
      });
    });
  }

  it('gradients match finite differences through the tape', () => {
    const values = Float64Array.from({ length: 48 }, (_, i) => -5.9 + i * 0.25 + 0.013);  // off the kinks
    for (const [name, fn] of [
      ['silu', (t: F32) => F.silu(t)], ['mish', (t: F32) => F.mish(t)], ['softplus', (t: F32) => F.softplus(t, 2, 6)],
      ['logSigmoid', (t: F32) => F.logSigmoid(t)], ['softsign', (t: F32) => F.softsign(t)], ['tanhshrink', (t: F32) => F.tanhshrink(t)],
      ['softshrink', (t: F32) => F.softshrink(t, 0.5)], ['hardshrink', (t: F32) => F.hardshrink(t, 0.5)],
      ['threshold', (t: F32) => F.threshold(t, 0.1, 2)], ['hardtanh', (t: F32) => F.hardtanh(t, -2, 2)], ['selu', (t: F32) => F.selu(t)],
      ['celu', (t: F32) => F.celu(t, 0.5)],
    ] as const) {
      tapeCheck(name, [{ shape: [6, 8], values }], ([t]) => F.softsign(fn(t)), { h: 1e-3, rtol: 1e-2, atol: 1e-3, samples: 48 });
    }
  });

  it('chains through the tape; empty tensors; bad input fails typed (dtype, disposed, backward shapes)', () => {
    const fns: [string, (t: cc.Tensor) => F32][] = [
      ['silu', F.silu], ['mish', F.mish], ['softplus', (t) => F.softplus(t)], ['logSigmoid', F.logSigmoid], ['softsign', F.softsign],
      ['tanhshrink', F.tanhshrink], ['softshrink', (t) => F.softshrink(t)], ['hardshrink', (t) => F.hardshrink(t)],
      ['threshold', (t) => F.threshold(t, 0, 1)], ['hardtanh', (t) => F.hardtanh(t)], ['selu', F.selu], ['celu', (t) => F.celu(t, 2)],
    ];
    const d = cc.zeros([2]);
    d.dispose();
    for (const [name, fn] of fns) {
      const e = cc.zeros([0, 3], { requiresGrad: true }) as F32;
      const ye = fn(e);
      ye.sum().backward();
      expect([ye.shape, e.grad!.shape], name).to.deep.equal([[0, 3], [0, 3]]);
      expectError(() => fn(cc.zeros([2], 'int32')), 'E_DTYPE', new RegExp(`${name}: expected \`x\` of dtype float32`));
      expectError(() => fn(d), 'E_DISPOSED');
    }
    for (const kind of ['silu', 'mish', 'softplus', 'logSigmoid', 'softsign', 'tanhshrink', 'softshrink', 'hardshrink', 'threshold',
      'hardtanh', 'selu', 'celu'] as const) {
      expectError(() => activationBackward(kind, cc.zeros([3]), cc.zeros([2]), cc.zeros([2])), 'E_SHAPE');
    }
    expectError(() => F.softplus(cc.zeros([2]), 0), 'E_ARG');
    expectError(() => F.softshrink(cc.zeros([2]), -1), 'E_ARG');
    expectError(() => F.hardtanh(cc.zeros([2]), 2, 1), 'E_ARG');
    expectError(() => F.celu(cc.zeros([2]), 0), 'E_ARG');
  });

  // Pieces of a pointwise loop start at multiples of 16 elements (Note [pieces of whole vectors],
  // native/core/thread_pool.cc): with pieces anywhere, the elements near a piece's end ran through
  // the AVX-512 clones' 8-lane remainder, which rounds a * b + c twice, and changed their last bit.
  it('the results do not depend on the thread count (the old activations too)', () => {
    const ops: [string, (t: cc.Tensor) => cc.Tensor][] = [
      ['silu', F.silu], ['mish', F.mish], ['softplus', (t) => F.softplus(t, 2)], ['logSigmoid', F.logSigmoid],
      ['tanhshrink', F.tanhshrink], ['selu', F.selu], ['tanh', F.tanh], ['elu', F.elu], ['gelu', F.gelu], ['sigmoid', F.sigmoid],
    ];
    const before = cc.getNumThreads();
    try {
      for (const n of [210003, 65543, 98313]) {
        const x = cc.randn([n], 0, 4);
        const run = () => ops.map(([, fn]) => fn(x).dataSync());
        cc.setNumThreads(1);
        const one = run();
        cc.setNumThreads(2);
        const two = run();
        one.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(two[i].buffer)), `${ops[i][0]} [${n}]`).to.equal(true));
      }
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('glu: value and both halves\' gradients within a few ulp of float64, along each axis; any thread count', () => {
    const shape = [2, 6, 5, 4], next = rng(71);
    const values = Float32Array.from({ length: 240 }, () => (next() - 0.5) * 24);
    values.set([100, -100, 88, -88, 0, -0, 1e-30]);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    for (const dim of [-4, 1, 3, -1]) {
      const d = (dim + 4) % 4, half = shape[d] / 2;
      const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1), outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
      const x = cc.tensor(values, { shape, requiresGrad: true }) as F32;
      const y = F.glu(x, dim);
      expect(y.shape).to.deep.equal(shape.map((s, i) => (i === d ? half : s)));
      const dyv = Float32Array.from({ length: y.size }, (_, i) => f(0.5 + (i % 7) * 0.25));
      y.backward(cc.tensor(dyv, { shape: [...y.shape] }));
      const yv = y.dataSync(), gv = x.grad!.dataSync();
      for (let o = 0; o < outer; o++) {
        for (let h = 0; h < half * inner; h++) {
          const ia = o * 2 * half * inner + h, ib = ia + half * inner, iy = o * half * inner + h;
          const a = values[ia], b = values[ib], s = sigmoid(b), g = dyv[iy];
          const checks: [string, number, number, number, number][] = [
            ['y', yv[iy], a * s, a * s, 3], ['da', gv[ia], g * s, g * s, 3.5],
            // 1 - s cancels for large b (PyTorch's form too): s's error times s a dy, in ulps of s a dy
            ['db', gv[ib], g * (1 - s) * s * a, g * a * s, 4],
          ];
          for (const [what, got, want, scale, allowed] of checks) {
            const e = ulps(got, want, scale);
            if (!(e <= allowed)) expect.fail(`glu dim ${dim} ${what} at a ${a}, b ${b}: ${got}, float64 ${want}: ${e.toFixed(2)} ulp`);
          }
        }
      }
    }
    tapeCheck('glu dim 2', [{ shape: [2, 3, 4] }], ([t]) => F.glu(t, 2));
    const before = cc.getNumThreads();
    try {
      const big = cc.randn([3, 2 * 70001], 0, 4, { requiresGrad: true }) as F32;
      const run = () => {
        big.grad = null;
        const y = F.glu(big, 1);
        y.backward(cc.onesLike(y));
        return [y.dataSync(), big.grad!.dataSync()];
      };
      cc.setNumThreads(1);
      const one = run();
      cc.setNumThreads(2);
      const two = run();
      one.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(two[i].buffer)), `glu ${i}`).to.equal(true));
    } finally {
      cc.setNumThreads(before);
    }
    expect(F.glu(cc.zeros([0, 4]), 1).shape).to.deep.equal([0, 2]);
    // NaN in either half gives NaN (the gate's too)
    const gated = F.glu(cc.tensor([NaN, 1, 2, NaN]), 0).dataSync();
    expect(Number.isNaN(gated[0]) && Number.isNaN(gated[1])).to.equal(true);
    expectError(() => F.glu(cc.zeros([3]), 0), 'E_SHAPE');
    expectError(() => F.glu(cc.zeros([4], 'int32'), 0), 'E_DTYPE');
  });

  it('softmin: softmax of -x as float64, along the last axis and a middle one, gradient too; large inputs; 0-D', () => {
    const shape = [3, 7, 5], next = rng(73);
    const values = Float32Array.from({ length: 105 }, () => (next() - 0.5) * 20);
    values.set([1000, -1000, 88, 1e30]);
    for (const dim of [-1, 1, 0]) {
      const d = (dim + 3) % 3, inner = shape.slice(d + 1).reduce((a, b) => a * b, 1), len = shape[d];
      const x = cc.tensor(values, { shape, requiresGrad: true }) as F32;
      const y = F.softmin(x, dim);
      const dyv = Float32Array.from({ length: 105 }, (_, i) => f(0.5 + (i % 7) * 0.25 - (i % 3)));
      y.backward(cc.tensor(dyv, { shape }));
      const yv = y.dataSync(), gv = x.grad!.dataSync();
      for (let base = 0; base < 105; base++) {
        if (Math.floor(base / inner) % len !== 0) continue;   // the first element of each slice along d
        const idx = Array.from({ length: len }, (_, l) => base + l * inner);
        const min = Math.min(...idx.map((i) => values[i]));
        // exp of (min - x) rounded to float32, as the kernel (and PyTorch's softmax) has it
        const e = idx.map((i) => Math.exp(f(min - values[i]))), total = e.reduce((a, b) => a + b, 0);
        const p = e.map((v) => v / total);
        const dot = idx.reduce((acc, i, l) => acc + dyv[i] * p[l], 0);
        idx.forEach((i, l) => {
          if (Math.abs(yv[i] - p[l]) > 4e-7 * p[l] + 1e-30) expect.fail(`softmin dim ${dim} y[${i}] ${yv[i]}, float64 ${p[l]}`);
          const g = p[l] * (dot - dyv[i]);
          if (Math.abs(gv[i] - g) > 1e-6 * (Math.abs(g) + p[l]) + 1e-44) expect.fail(`softmin dim ${dim} dx[${i}] ${gv[i]}, float64 ${g}`);
        });
      }
    }
    expect(F.softmin(cc.tensor(3, { shape: [] }), 0).item()).to.equal(1);
    tapeCheck('softmin dim 1', [{ shape: [2, 4, 3] }], ([t]) => F.softmin(t, 1));
    const before = cc.getNumThreads();
    try {
      const big = cc.randn([97, 1031], 0, 4);
      const run = () => [F.softmin(big, 1).dataSync(), F.softmin(big, 0).dataSync()];
      cc.setNumThreads(1);
      const one = run();
      cc.setNumThreads(2);
      const two = run();
      one.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(two[i].buffer)), `softmin ${i}`).to.equal(true));
    } finally {
      cc.setNumThreads(before);
    }
  });
});
