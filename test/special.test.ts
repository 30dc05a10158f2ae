/**
 * The inverse trigonometric and hyperbolic functions, erfc, erfinv, exp2, lgamma, digamma and
 * polygamma: values and derivatives against PyTorch's float64 at the same float32 inputs
 * (test/fixtures/make/special.py), gradients against finite differences, the edges and the
 * errors; then the GPU against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, tapeCheck } from './helpers';

interface Case { op: string; n?: number; x: (number | string)[]; y: (number | string)[]; dx: (number | string)[] }

// NaN and the infinities come as strings (JSON has no such numbers): Number() reads them.
const numbers = (v: (number | string)[]) => v.map(Number);
type Unary = (x: cc.Tensor) => cc.Tensor;
const apply = (c: Case): Unary => (c.op === 'polygamma' ? (x) => cc.polygamma(c.n!, x) : (cc as unknown as Record<string, Unary>)[c.op]);

describe('special functions: asin ... atanh, erfc, erfinv, exp2, lgamma, digamma, polygamma', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('special');

  for (const c of cases) {
    const name = c.op === 'polygamma' ? `polygamma(${c.n})` : c.op;
    it(`${name} matches PyTorch's float64, values and derivatives`, () => {
      const xs = numbers(c.x);
      const x = cc.tensor(xs, { requiresGrad: true });
      const y = apply(c)(x);
      // The float64 reference rounded to float32 (so that an overflow is Infinity on both
      // sides); glibc's float functions are within 2 ulp, ours in double within 1.
      expectClose(y.dataSync(), numbers(c.y).map(Math.fround), 1e-6, 1e-44, `${name} values`);
      y.sum().backward();
      const want = numbers(c.dx).map(Math.fround);
      // digamma's derivative at its poles (0, -1, -2 ...): ours +Infinity, PyTorch's float64
      // trigamma 1e32-ish (its sin(pi x) is not quite 0 there).
      if (c.op === 'polygamma' && c.n === 0) xs.forEach((v, i) => { if (v <= 0 && Number.isInteger(v)) want[i] = Infinity; });
      // exp2's derivative comes from y: Infinity where y overflows float32 (PyTorch's float32 too).
      if (c.op === 'exp2') numbers(c.y).forEach((v, i) => { if (Math.fround(v) === Infinity) want[i] = Infinity; });
      // The derivatives are formed in float32 (1 - x^2 cancels near +-1): a looser bound.
      expectClose(x.grad!.dataSync(), want, 1e-4, 1e-30, `${name} derivative`);
    });
  }

  it('gradients match finite differences', () => {
    const inside = (lo: number, hi: number) => ({ shape: [9], values: Float64Array.from({ length: 9 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 9) });
    tapeCheck('asin', [inside(-0.9, 0.9)], ([x]) => cc.asin(x));
    tapeCheck('acos', [inside(-0.9, 0.9)], ([x]) => cc.acos(x));
    tapeCheck('sinh', [inside(-3, 3)], ([x]) => cc.sinh(x));
    tapeCheck('cosh', [inside(-3, 3)], ([x]) => cc.cosh(x));
    tapeCheck('asinh', [inside(-5, 5)], ([x]) => cc.asinh(x));
    tapeCheck('acosh', [inside(1.2, 6)], ([x]) => cc.acosh(x));
    tapeCheck('atanh', [inside(-0.8, 0.8)], ([x]) => cc.atanh(x));
    tapeCheck('erfc', [inside(-2, 2)], ([x]) => cc.erfc(x));
    tapeCheck('erfinv', [inside(-0.9, 0.9)], ([x]) => cc.erfinv(x));
    tapeCheck('exp2', [inside(-3, 3)], ([x]) => cc.exp2(x));
    tapeCheck('lgamma', [inside(0.3, 6)], ([x]) => cc.lgamma(x));
    tapeCheck('lgamma (negative)', [inside(-2.9, -2.1)], ([x]) => cc.lgamma(x));
    tapeCheck('digamma', [inside(0.5, 6)], ([x]) => cc.digamma(x));
    for (const n of [1, 2, 3]) tapeCheck(`polygamma(${n})`, [inside(0.6, 5)], ([x]) => cc.polygamma(n, x), { rtol: 1e-2 });
    tapeCheck('methods', [inside(0.2, 0.8)], ([x]) => x.asin().add(x.erfinv()).add(x.lgamma()).add(x.polygamma(1)));
  });

  it('the edges, as PyTorch', () => {
    const at = (f: Unary, v: number[]) => Array.from(f(cc.tensor(v)).dataSync());
    expect(at(cc.erfinv, [1, -1, 0, -0])).to.deep.equal([Infinity, -Infinity, 0, -0]);
    expect(at(cc.erfinv, [1.5, NaN]).map(Number.isNaN)).to.deep.equal([true, true]);
    expect(at(cc.digamma, [0, -0])).to.deep.equal([-Infinity, Infinity]);
    expect(at(cc.digamma, [-1, -7, NaN]).map(Number.isNaN)).to.deep.equal([true, true, true]);
    expect(at(cc.lgamma, [0, -1, -4, 1, 2, Infinity, -Infinity])).to.deep.equal([Infinity, Infinity, Infinity, 0, 0, Infinity, Infinity]);
    expect(at((t) => cc.polygamma(1, t), [0, -3])).to.deep.equal([Infinity, Infinity]);
    // The limits at the infinities (PyTorch: NaN for n >= 2 at +inf, +-inf at -inf).
    expect(at((t) => cc.polygamma(2, t), [Infinity])).to.deep.equal([0]);
    expect(at((t) => cc.polygamma(1, t), [Infinity])).to.deep.equal([0]);
    expect(at(cc.digamma, [Infinity])).to.deep.equal([Infinity]);
    for (const n of [0, 1, 2, 3]) expect(at((t) => cc.polygamma(n, t), [-Infinity]).map(Number.isNaN), `n = ${n}`).to.deep.equal([true]);
    expect(at(cc.atanh, [1, -1])).to.deep.equal([Infinity, -Infinity]);
    expect(at(cc.acosh, [1, 0.5]).map((v) => (Number.isNaN(v) ? 'NaN' : v))).to.deep.equal([0, 'NaN']);
    expect(at(cc.exp2, [128, -150, 3])).to.deep.equal([Infinity, 0, 8]);
    expect(at(cc.sinh, [-0, Infinity])).to.deep.equal([-0, Infinity]);
    expect(at(cc.asin, [-0, 1, -1])).to.deep.equal([-0, Math.fround(Math.PI / 2), -Math.fround(Math.PI / 2)]);
    // Empty input: an empty result of the same shape, from every function (and its vector paths).
    for (const f of [cc.asin, cc.acos, cc.sinh, cc.cosh, cc.asinh, cc.acosh, cc.atanh, cc.erfc, cc.erfinv, cc.exp2, cc.lgamma, cc.digamma, (t: cc.Tensor) => cc.polygamma(3, t)]) {
      expect(f(cc.zeros([0, 3])).shape).to.deep.equal([0, 3]);
    }
    expect(at(cc.acos, [1, -1, 0])).to.deep.equal([0, Math.fround(Math.PI), Math.fround(Math.PI / 2)]);
  });

  it('lgamma of negatives: within half an ulp of mpmath, and glibc within 4 ulp at the floats around its zeros', () => {
    // test/fixtures/make/lgamma_negative.py: the floats around lgamma's 22 zeros in (-13, -2),
    // uniform and log-uniform negatives down to -2^23, tiny ones, subnormals, the floats next
    // to the poles. Results under 2^-10 in magnitude come from glibc's lgammaf_r (the double
    // reflection cancels there); the rest from the double path, rounded once.
    const { x, y } = loadFixture<{ x: number[]; y: number[] }>('lgamma_negative');
    const got = cc.lgamma(cc.tensor(x)).dataSync();
    const ulp = (r: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(r), 2 ** -126))) - 23);
    let worst = 0, worstNear = 0, near = 0;
    x.forEach((v, i) => {
      const err = Math.abs(got[i] - y[i]) / ulp(y[i]);
      expect(Number.isFinite(got[i]), `lgamma(${v})`).to.equal(true);
      if (Math.abs(y[i]) < 2 ** -10) {
        near++;
        worstNear = Math.max(worstNear, err);
      } else {
        expect(err, `lgamma(${v}) = ${got[i]}, mpmath ${y[i]}`).to.be.at.most(0.5001);
        worst = Math.max(worst, err);
      }
    });
    expect(near, 'points near the zeros').to.be.above(100);
    expect(worstNear, 'glibc near the zeros').to.be.at.most(4);
    expect(worst).to.be.above(0.4);   // the sweep reaches the rounding bound (and is not vacuous)
  });

  it('lgamma gives each element the same bits whatever its neighbours (the paths gather and scatter lanes)', () => {
    // Every kind of lane, shuffled into 1000 elements (four blocks of the CPU's 256, and a
    // partial one): positives, negatives, lanes near the zeros (glibc), poles, 0, -0, the
    // infinities, NaN.
    const kinds = [3.5, 0.25, 1e-30, 40, -0.5, -2.5, -3.7, -1e-30, -2.4570247, -7.999, -1e6 - 0.5, 0, -0, -1, -4, Infinity, -Infinity, NaN, 1, 2];
    const values = Array.from({ length: 1000 }, (_, i) => kinds[(i * 7 + ((i * i) % 13)) % kinds.length]);
    const all = cc.lgamma(cc.tensor(values)).dataSync();
    const one = (v: number) => cc.lgamma(cc.tensor([v])).dataSync()[0];
    const bits = (v: number) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v));
    values.forEach((v, i) => expect(bits(all[i]), `x = ${v} at ${i}`).to.equal(bits(one(v))));
    // and all positive blocks (the direct path) against the same values scattered among negatives
    const positive = Array.from({ length: 600 }, (_, i) => 0.01 + i * 0.05);
    const mixed = positive.flatMap((v) => [v, -v - 0.001]);
    const direct = cc.lgamma(cc.tensor(positive)).dataSync(), gathered = cc.lgamma(cc.tensor(mixed)).dataSync();
    positive.forEach((v, i) => expect(gathered[2 * i], `x = ${v}`).to.equal(direct[i]));
  });

  it('digamma (the CPU vector path) is float64 digamma rounded, but near ties, over a sweep of both signs', () => {
    // special_math.h's digamma in float64 (glibc-free: JavaScript's tan and log), against the
    // CPU's vectorised one (native/cpu/elementwise.cc, digamma_vector): every 4099th float of
    // each sign, and 601 floats around digamma's zeros, 1, 2, 10 and two half-integers.
    const digamma64 = (v: number): number => {
      if (v === 0) return Object.is(v, -0) ? Infinity : -Infinity;
      let result = 0, x = v;
      if (x < 0) {
        if (x === Math.floor(x)) return NaN;
        result = -Math.PI / Math.tan(Math.PI * (x - Math.trunc(x)));
        x = 1 - x;
      }
      for (; x < 10; x += 1) result -= 1 / x;
      if (x === 10) return result + 2.25175258906672110764;
      const z = 1 / (x * x);
      const series = x < 1e17 ? z * ((((((8.33333333333333333333e-2 * z - 2.10927960927960927961e-2) * z + 7.57575757575757575758e-3) * z -
        4.16666666666666666667e-3) * z + 3.96825396825396825397e-3) * z - 8.33333333333333333333e-3) * z + 8.33333333333333333333e-2) : 0;
      return result + Math.log(x) - 0.5 / x - series;
    };
    const bits: number[] = [];
    for (let b = 0; b < 0x7f800000; b += 4099) bits.push(b, (b | 0x80000000) >>> 0);
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    for (const z of [1.4616321449683622, -0.5040830082644554, -1.5734984731623305, -2.6107208684441446, -3.635293366436901, 1, 2, 10, -0.5, -9.5]) {
      f[0] = z;
      for (let k = -300; k <= 300; k++) bits.push((u[0] + k) >>> 0);
    }
    bits.push(0x7f800000, 0xff800000, 0x7fc00000, 0x80000000);   // inf, -inf, NaN, -0
    const x = new Float32Array(new Uint32Array(bits).buffer);
    const y = cc.digamma(cc.tensor(x)).dataSync();
    const ulp = (r: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(r), 2 ** -126))) - 23);
    let differ = 0;
    x.forEach((v, i) => {
      const want = digamma64(v);
      if (Number.isNaN(want)) return expect(Number.isNaN(y[i]), `digamma(${v})`).to.equal(true);
      if (y[i] === Math.fround(want)) return;
      differ++;
      expect(Math.abs(y[i] - want) / ulp(want), `digamma(${v}) = ${y[i]}, float64 ${want}`).to.be.at.most(0.51);
    });
    expect(differ, 'results that are not float64 digamma rounded').to.be.at.most(5);
  });

  it('erfinv inverts erf, and turns uniforms into normals', () => {
    const u = cc.linspace(-0.99, 0.99, 199);
    expectClose(cc.erf(cc.erfinv(u)).dataSync(), u.dataSync(), 1e-6, 1e-7, 'erf(erfinv(u))');
    // The normal quantile at 0.975 is 1.959963985; sqrt(2) erfinv(2p - 1).
    expectClose(cc.scale(cc.erfinv(cc.tensor([0.95])), Math.SQRT2).dataSync(), [1.959963985], 1e-6, 0, 'probit');
  });

  it('polygamma(n) for large n and x: (-1)^(n+1) n! / x^(n+1) and so on', () => {
    // psi^(n)(x) ~ (-1)^(n+1) (n - 1)! / x^n (1 + n / (2x)) for large x.
    const x = 1000, n = 6;
    const approx = -120 / x ** 6 * (1 + n / (2 * x));
    expectClose(cc.polygamma(n, cc.tensor([x])).dataSync(), [approx], 1e-5, 0, 'polygamma(6, 1000)');
    // psi^(n)(1) = (-1)^(n+1) n! zeta(n + 1); zeta(8) = pi^8 / 9450.
    expectClose(cc.polygamma(7, cc.tensor([1])).dataSync(), [5040 * Math.PI ** 8 / 9450], 1e-6, 0, 'polygamma(7, 1)');
  });

  it('refuses bad input with typed errors and loses nothing', () => {
    const x = cc.tensor([0.5, 0.25]);
    expectError(() => cc.polygamma(-1, x), 'E_ARG', /polygamma.*n/);
    expectError(() => cc.polygamma(1.5, x), 'E_ARG', /integer/);
    expectError(() => cc.polygamma('1' as never, x), 'E_ARG');
    expectError(() => cc.polygamma(1, [0.5] as never), 'E_ARG');
    expectError(() => cc.erfinv(cc.tensor([1, 2], { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => cc.lgamma(null as never), 'E_ARG');
    expectError(() => x.polygamma(-2), 'E_ARG');
    expect(Array.from(x.dataSync())).to.deep.equal([0.5, 0.25]);
  });
});

describeCuda('special functions on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const unit = randomCpu([4, 33], 61, -0.95, 0.95);
    const wide = randomCpu([4, 33], 62, -6, 6);
    const positive = randomCpu([4, 33], 63, 0.05, 30);
    for (const op of ['asin', 'acos', 'atanh', 'erfinv'] as const) compareDevices((t) => cc[op](t), [unit], { bound: 2e-6, grads: true, what: op });
    for (const op of ['sinh', 'cosh', 'asinh', 'erfc', 'exp2', 'lgamma'] as const) compareDevices((t) => cc[op](t), [wide], { bound: 2e-6, grads: true, what: op });
    compareDevices((t) => cc.acosh(t.add(1)), [positive], { bound: 2e-6, grads: true, what: 'acosh' });
    for (const n of [0, 1, 2, 5]) compareDevices((t) => cc.polygamma(n, t), [positive], { bound: 2e-6, grads: true, what: `polygamma(${n})` });
    compareDevices((t) => cc.digamma(t), [wide], { bound: 2e-6, grads: true, what: 'digamma, negative x' });
    const edges = cc.tensor([0, -0, 1, -1, 2, -3, 1.5, NaN, Infinity, -Infinity]);
    // The same infinities and NaNs (bound 0 for the double code both sides share).
    for (const op of ['erfinv', 'digamma'] as const) compareDevices((t) => cc[op](t), [edges], { bound: 0, what: `${op} edges` });
    for (const op of ['lgamma', 'atanh', 'acosh'] as const) compareDevices((t) => cc[op](t), [edges], { bound: 2e-6, what: `${op} edges` });
  });
});
