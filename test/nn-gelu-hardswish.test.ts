/**
 * GELU (exact and tanh form), hard sigmoid and hard swish on the CPU, one native pass each way
 * (native/cpu/gelu.cc, hardswish.cc): values and gradients against float64 over a sweep, ulp-tight;
 * hard sigmoid and hard swish bit for bit as PyTorch's float32 formulas, their gradients' branches
 * at -3 and 3 and for NaN as PyTorch's. (The GPU composes them: test/cuda-layers.test.ts.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { activationBackward } from '../lib/nn/functional/activation';
import { erfc64, expectError, rng } from './helpers';

const { F } = cc;
type F32 = cc.Tensor<'float32'>;

/** The sweep: every 1/1000 on [-12, 12], and 4000 random values on [-40, 40]. */
function sweep(): Float32Array {
  const next = rng(49), v: number[] = [];
  for (let i = -12000; i <= 12000; i++) v.push(i / 1000);
  for (let i = 0; i < 4000; i++) v.push((next() - 0.5) * 80);
  return Float32Array.from(v);
}

/** y and dx (the gradient of sum(y)) of fn at x, through autograd. */
function valueAndGradient(fn: (t: F32) => F32, x: Float32Array): [Float32Array, Float32Array] {
  const t = cc.tensor(x, { requiresGrad: true }) as F32;
  const y = fn(t);
  y.sum().backward();
  const out: [Float32Array, Float32Array] = [y.dataSync() as Float32Array, t.grad!.dataSync() as Float32Array];
  t.dispose();
  y.dispose();
  return out;
}

/** |got - want| in float32 ulps of `scale` (at least 2^-100: results that small may underflow). */
const ulps = (got: number, want: number, scale: number) => Math.abs(got - want) / (Math.max(Math.abs(scale), 2 ** -100) * 2 ** -23);
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const KBETA = Math.sqrt(2 / Math.PI), KAPPA = 0.044715;

describe('F.gelu, F.hardsigmoid, F.hardswish: native on the CPU', () => {
  it('gelu: within 4.5 ulp of float64 x/2 erfc(-x/sqrt2), the gradient within 4.5 ulp of its terms', () => {
    const x = sweep();
    const [y, dx] = valueAndGradient((t) => F.gelu(t), x);
    x.forEach((v, i) => {
      const cdf = 0.5 * erfc64(-v / Math.SQRT2), pdf = Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
      const e = ulps(y[i], v * cdf, v * cdf);
      if (!(e <= 4.5)) expect.fail(`gelu(${v}) = ${y[i]}, float64 ${v * cdf}: ${e.toFixed(2)} ulp`);
      // relative to the terms' size: dx has a zero near -0.75
      const g = ulps(dx[i], cdf + v * pdf, cdf + Math.abs(v * pdf));
      if (!(g <= 4.5)) expect.fail(`gelu'(${v}) = ${dx[i]}, float64 ${cdf + v * pdf}: ${g.toFixed(2)} ulp`);
    });
  });

  it('gelu tanh form: within a few ulp of float64 x sigmoid(2u), plus what rounding u to float costs', () => {
    const x = sweep();
    const [y, dx] = valueAndGradient((t) => F.gelu(t, { approximate: 'tanh' }), x);
    x.forEach((v, i) => {
      const u = KBETA * (v + KAPPA * v ** 3), s = sigmoid(2 * u), c = sigmoid(-2 * u);
      // u is PyTorch's float32 formula: its rounding moves y by about |2u| (1 - s) ulp
      const allowed = 4 + 2 * Math.abs(2 * u) * (u < 0 ? 1 : c);
      const e = ulps(y[i], v * s, v * s);
      if (!(e <= allowed)) expect.fail(`gelu tanh(${v}) = ${y[i]}, float64 ${v * s}: ${e.toFixed(2)} ulp (allowed ${allowed.toFixed(1)})`);
      const term = 2 * v * s * c * KBETA * (1 + 3 * KAPPA * v * v);
      const g = ulps(dx[i], s + term, s + Math.abs(term));
      if (!(g <= 4 + 4 * Math.abs(2 * u))) expect.fail(`gelu tanh'(${v}) = ${dx[i]}, float64 ${s + term}: ${g.toFixed(2)} ulp`);
    });
  });

  it('gelu: special values, as PyTorch (NaN stays NaN; -inf gives NaN as x * 0 does there)', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const [y, dx] = valueAndGradient((t) => F.gelu(t, { approximate }), Float32Array.from([NaN, Infinity, -Infinity, 0, -0, -30, 30, 1e30, -1e30]));
      expect(Number.isNaN(y[0]) && Number.isNaN(dx[0]), `${approximate} NaN`).to.equal(true);
      expect(y[1], `${approximate} inf`).to.equal(Infinity);
      expect(Number.isNaN(y[2]), `${approximate} -inf`).to.equal(true);
      expect(Object.is(y[3], 0) && Object.is(y[4], -0) && Object.is(y[5], -0), `${approximate} zeros: ${y.slice(3, 6)}`).to.equal(true);
      expect([y[6], y[7], y[8]], approximate).to.deep.equal([30, 1e30 as number, -0].map(Math.fround));
      expect([dx[3], dx[6]], `${approximate} dx at 0 and 30`).to.deep.equal([0.5, 1]);
    }
  });

  // PyTorch 1.13's CPU kernels, step by step in float32.
  const f = Math.fround;
  const relu6Shifted = (v: number) => { const a = f(v + 3), b = a < 0 ? 0 : a; return 6 < b ? 6 : b; };
  const hardsigmoid32 = (v: number) => f(relu6Shifted(v) / 6);
  const hardswish32 = (v: number) => f(f(v * relu6Shifted(v)) / 6);
  const hardsigmoidGrad = (v: number, d: number) => (v > -3 && v < 3 ? f(d * f(1 / 6)) : 0);
  const hardswishGrad = (v: number, d: number) => (v < -3 ? 0 : v <= 3 ? f(d * f(f(v / 3) + 0.5)) : d);

  for (const [name, fn, ref, grad] of [
    ['hardsigmoid', (t: F32) => F.hardsigmoid(t), hardsigmoid32, hardsigmoidGrad],
    ['hardswish', (t: F32) => F.hardswish(t), hardswish32, hardswishGrad],
  ] as const) {
    it(`${name}: PyTorch's float32 formula bit for bit, its gradient's branches at -3, 3 and NaN`, () => {
      const x = Float32Array.from([...sweep(), -3, 3, -3.0000002, 3.0000002, -0, 0, NaN, Infinity, -Infinity, 1e-45, -1e-45]);
      const t = cc.tensor(x, { requiresGrad: true }) as F32;
      const y = fn(t);
      const dyValues = Float32Array.from(x, (_, i) => f(0.5 + (i % 7) * 0.25));
      y.backward(cc.tensor(dyValues));
      const yv = y.dataSync(), dx = t.grad!.dataSync();
      x.forEach((v, i) => {
        const want = ref(v);
        if (!(Object.is(yv[i], want) || (Number.isNaN(yv[i]) && Number.isNaN(want)))) expect.fail(`${name}(${v}) = ${yv[i]}, want ${want}`);
        const g = grad(v, dyValues[i]);
        if (!Object.is(dx[i], g)) expect.fail(`${name}'(${v}) = ${dx[i]}, want ${g}`);
      });
    });
  }

  it('chains through the tape; empty tensors; bad input fails typed (dtype, disposed, backward shapes)', () => {
    const x = cc.randn([4, 5], 0, 1, { requiresGrad: true }) as F32;
    const y = F.hardswish(F.gelu(x));
    y.sum().backward();
    expect(x.grad!.shape).to.deep.equal([4, 5]);
    const d = cc.zeros([2]);
    d.dispose();
    for (const [name, fn] of [['gelu', F.gelu], ['gelu', (t: cc.Tensor) => F.gelu(t, { approximate: 'tanh' })],
      ['hardswish', F.hardswish], ['hardsigmoid', F.hardsigmoid]] as const) {
      const e = cc.zeros([0, 3], { requiresGrad: true }) as F32;
      const ye = fn(e);
      ye.sum().backward();
      expect([ye.shape, e.grad!.shape], name).to.deep.equal([[0, 3], [0, 3]]);
      expectError(() => fn(cc.zeros([2], 'int32')), 'E_DTYPE', new RegExp(`${name}: expected \`x\` of dtype float32`));
      expectError(() => fn(d), 'E_DISPOSED');
    }
    for (const kind of ['gelu', 'geluTanh', 'hardswish', 'hardsigmoid'] as const) {
      expectError(() => activationBackward(kind, cc.zeros([3]), cc.zeros([2]), cc.zeros([2])), 'E_SHAPE');
    }
  });
});
