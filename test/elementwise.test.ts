import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, randomTensor, sizeOf, strides, unravel } from './helpers';

function broadcastRef(a: Float64Array, as: number[], b: Float64Array, bs: number[], f: (x: number, y: number) => number) {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as], pb = [...Array(rank - bs.length).fill(1), ...bs];
  const out = pa.map((d, i) => (d === 1 ? pb[i] : d));
  const sa = strides(pa), sb = strides(pb);
  const y = new Float64Array(sizeOf(out));
  for (let i = 0; i < y.length; i++) {
    const idx = unravel(i, out);
    let ia = 0, ib = 0;
    idx.forEach((k, d) => {
      ia += (pa[d] === 1 ? 0 : k) * sa[d];
      ib += (pb[d] === 1 ? 0 : k) * sb[d];
    });
    y[i] = f(a[ia], b[ib]);
  }
  return { y, shape: out };
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[], []], [[1], []], [[3], [3]], [[2, 3], [3]], [[4, 1, 5], [3, 1]], [[1], [7, 1, 1]], [[257, 129], [129]],
  [[2, 3, 4, 5], [1, 3, 1, 1]], [[17], [1]], [[0, 3], [3]], [[6, 1], [1, 6]], [[3, 1, 2], [3, 4, 2]], [[65536, 3], [65536, 1]],
  // Axes the kernels merge (size 1 dropped, neighbours that both operands step through as one):
  [[8, 6, 5, 7], [8, 6, 1, 1]], [[2, 1, 3, 1, 4], [1, 5, 3, 1, 4]], [[1, 4, 1, 6], [3, 4, 2, 6]], [[5, 1, 1], [1, 1, 7]], [[3, 300, 40], [3, 1, 1]],
];

/** Rounds to the nearest integer, halves to even (torch.round's rule). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

describe('elementwise binary ops with broadcasting', () => {
  const cases: [string, (a: cc.Tensor, b: cc.Tensor) => cc.Tensor, (x: number, y: number) => number][] = [
    ['add', cc.add, (x, y) => x + y],
    ['sub', cc.sub, (x, y) => x - y],
    ['mul', cc.mul, (x, y) => x * y],
    ['div', cc.div, (x, y) => x / y],
    ['maximum', cc.maximum, Math.max],
    ['minimum', cc.minimum, Math.min],
    ['pow', cc.pow, (x, y) => Math.pow(Math.abs(x) + 0.5, y)],
  ];
  for (const [name, op, ref] of cases) {
    it(`${name} matches a float64 reference over ${SHAPE_PAIRS.length} shape pairs`, () => {
      SHAPE_PAIRS.forEach(([sa, sb], k) => {
        const A = randomTensor(sa, 10 + k), B = randomTensor(sb, 100 + k);
        let a = A.t;
        if (name === 'pow') a = cc.add(cc.abs(A.t), 0.5); // positive bases
        const y = op(a, B.t);
        const expected = broadcastRef(A.v, sa, B.v, sb, ref);
        expect(y.shape).to.deep.equal(expected.shape);
        expectClose(y.dataSync(), expected.y, 2e-6, 1e-30, `${name} ${JSON.stringify([sa, sb])}`);
      });
    });
  }

  it('a number operand gives the same bits as a one-element tensor, on either side', () => {
    const { t } = randomTensor([1000], 77, -3, 3);
    const s = Math.fround(0.3712), st = cc.tensor(s);
    for (const [name, op] of cases) {
      if (name === 'pow') continue;
      expect(Array.from(op(t, st).dataSync()), `${name}(x, s)`).to.deep.equal(Array.from((op as unknown as (a: cc.Tensor, b: number) => cc.Tensor)(t, s).dataSync()));
      expect(Array.from(op(st, t).dataSync()), `${name}(s, x)`).to.deep.equal(Array.from((op as unknown as (a: number, b: cc.Tensor) => cc.Tensor)(s, t).dataSync()));
    }
  });

  it('maximum and minimum pass NaN on from either side and keep their choice on ties, in long runs too', () => {
    // 1000 elements (whole vectors and a remainder), NaN, infinities and both zeros at every lane
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1];
    const n = 1000;
    const av = Array.from({ length: n }, (_, i) => specials[i % specials.length]);
    const bv = Array.from({ length: n }, (_, i) => specials[Math.floor(i / specials.length) % specials.length]);
    const bits = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer));
    // the reference: NaN if either is NaN, else a > b ? a : b (a tie, 0 against -0 included, takes b)
    const max = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b);
    const min = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b);
    const a = cc.tensor(av), b = cc.tensor(bv);
    expect(bits(cc.maximum(a, b).dataSync()), 'maximum').to.deep.equal(bits(av.map((x, i) => max(x, bv[i]))));
    expect(bits(cc.minimum(a, b).dataSync()), 'minimum').to.deep.equal(bits(av.map((x, i) => min(x, bv[i]))));
    for (const s of [NaN, -0, 1]) {
      expect(bits(cc.maximum(a, s).dataSync()), `maximum(x, ${s})`).to.deep.equal(bits(av.map((x) => max(x, s))));
      expect(bits(cc.minimum(s, a).dataSync()), `minimum(${s}, x)`).to.deep.equal(bits(av.map((x) => min(s, x))));
    }
  });

  it('sign is -1, 0 or 1 and keeps NaN, in long runs too', () => {
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 2.5, -3];
    const v = Array.from({ length: 1000 }, (_, i) => specials[i % specials.length]);
    const y = Array.from(cc.sign(cc.tensor(v)).dataSync());
    v.forEach((x, i) => {
      const want = Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0;
      if (Number.isNaN(want)) expect(Number.isNaN(y[i]), `sign(${x})`).to.equal(true);
      else expect(Object.is(y[i], want), `sign(${x}) = ${y[i]}`).to.equal(true);
    });
  });

  it('takes numbers on either side', () => {
    const x = cc.tensor([1, 2, 4]);
    expect(Array.from(cc.add(x, 1).dataSync())).to.deep.equal([2, 3, 5]);
    expect(Array.from(cc.sub(10, x).dataSync())).to.deep.equal([9, 8, 6]);
    expect(Array.from(cc.div(x, 2).dataSync())).to.deep.equal([0.5, 1, 2]);
    expect(Array.from(cc.mul(3, x).dataSync())).to.deep.equal([3, 6, 12]);
    expect(Array.from(x.pow(2).dataSync())).to.deep.equal([1, 4, 16]);
  });

  it('follows IEEE rules for division by zero and NaN', () => {
    const y = cc.div(cc.tensor([1, -1, 0, NaN]), cc.tensor([0, 0, 0, 1])).dataSync();
    expect(y[0]).to.equal(Infinity);
    expect(y[1]).to.equal(-Infinity);
    expect(Number.isNaN(y[2])).to.equal(true);
    expect(Number.isNaN(y[3])).to.equal(true);
    expect(Number.isNaN(cc.maximum(cc.tensor([NaN, 1]), cc.tensor([0, NaN])).dataSync()[1])).to.equal(true);
  });

  it('rejects shapes that do not broadcast, int32 tensors and bad operands', () => {
    expectError(() => cc.add(cc.zeros([2, 3]), cc.zeros([4])), 'E_SHAPE', /add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    expectError(() => cc.mul(cc.zeros([2], 'int32'), cc.zeros([2])), 'E_DTYPE', /mul: expected `a` of dtype float32, got int32/);
    expectError(() => cc.add(cc.zeros([2]), 'x' as unknown as number), 'E_ARG', /add: expected `b` to be a tensor or a number/);
    expectError(() => cc.add(1 as unknown as cc.Tensor, 2), 'E_ARG', /at least one tensor/);
    expectError(() => cc.sub({} as cc.Tensor, cc.zeros([1])), 'E_ARG', /sub: expected `a`/);
  });
});

describe('unary ops, scale and pow', () => {
  const cases: [string, (x: cc.Tensor) => cc.Tensor, (v: number) => number, number, number][] = [
    ['neg', cc.neg, (v) => -v, -5, 5],
    ['abs', cc.abs, Math.abs, -5, 5],
    ['exp', cc.exp, Math.exp, -20, 20],
    ['log', cc.log, Math.log, 1e-3, 100],
    ['sqrt', cc.sqrt, Math.sqrt, 0, 100],
    ['square', cc.square, (v) => v * v, -10, 10],
    ['reciprocal', cc.reciprocal, (v) => 1 / v, 0.1, 10],
    ['sign', cc.sign, Math.sign, -2, 2],
    ['floor', cc.floor, Math.floor, -9, 9],
    ['ceil', cc.ceil, Math.ceil, -9, 9],
    ['sin', cc.sin, Math.sin, -10, 10],
    ['cos', cc.cos, Math.cos, -10, 10],
    ['tan', cc.tan, Math.tan, -1.5, 1.5],
    ['atan', cc.atan, Math.atan, -20, 20],
    ['log1p', cc.log1p, Math.log1p, -0.99, 100],
    ['expm1', cc.expm1, Math.expm1, -5, 5],
    ['log2', cc.log2, Math.log2, 1e-3, 1e3],
    ['log10', cc.log10, Math.log10, 1e-3, 1e3],
    ['rsqrt', cc.rsqrt, (v) => 1 / Math.sqrt(v), 1e-3, 1e3],
    ['round', cc.round, roundHalfEven, -9, 9],
    ['trunc', cc.trunc, Math.trunc, -9, 9],
    ['asin', cc.asin, Math.asin, -1, 1],
    ['acos', cc.acos, Math.acos, -1, 1],
    ['sinh', cc.sinh, Math.sinh, -20, 20],
    ['cosh', cc.cosh, Math.cosh, -20, 20],
    ['asinh', cc.asinh, Math.asinh, -100, 100],
    ['acosh', cc.acosh, Math.acosh, 1, 100],
    ['atanh', cc.atanh, Math.atanh, -0.99, 0.99],
    ['exp2', cc.exp2, (v) => 2 ** v, -100, 100],
  ];
  for (const [name, op, ref, low, high] of cases) {
    it(`${name} matches Math.${name} on 1, odd and large sizes`, () => {
      for (const [k, shape] of [[1], [7], [3, 5, 11], [1 << 17]].entries()) {
        const { t, v } = randomTensor(shape, 7 + k, low, high);
        expectClose(op(t).dataSync(), v.map(ref), 2e-6, 1e-37, name);
      }
    });
  }

  it('log1p and expm1 keep small x exact where log(1 + x) and exp(x) - 1 lose it', () => {
    const small = [1e-10, -3e-9, 2.5e-7, 1e-4];
    const x = cc.tensor(small);
    const f = Float64Array.from(small, Math.fround);
    expectClose(cc.log1p(x).dataSync(), f.map(Math.log1p), 2e-7, 0, 'log1p');
    expectClose(cc.expm1(x).dataSync(), f.map(Math.expm1), 2e-7, 0, 'expm1');
    expect(cc.log(cc.add(x, 1)).dataSync()[0]).to.equal(0);   // what the naive form gives
  });

  it('log2 and log10 round once from float64: within 0.5 ulp and a hair, whole at powers of 2 and 10', () => {
    // Every 4099th positive float, subnormals included (scripts-free version of session 65's
    // sweep of every float: at most 0.50001 ulp).
    const bits = Uint32Array.from({ length: 0x7f800000 / 4099 }, (_, i) => i * 4099 + 1);
    const v = new Float32Array(bits.buffer);
    const x = cc.tensor(v);
    for (const [name, op, ref] of [['log2', cc.log2, Math.log2], ['log10', cc.log10, Math.log10]] as const) {
      const y = op(x).dataSync();
      let worst = 0;
      for (let i = 0; i < v.length; i++) {
        const r = ref(v[i]), rf = Math.fround(r);
        const ulp = Math.abs(Math.fround(Math.abs(rf) * (1 + 2 ** -23)) - Math.abs(rf)) || 2 ** -149;
        worst = Math.max(worst, Math.abs(y[i] - r) / ulp);
      }
      expect(worst, name).to.be.below(0.5001);
    }
    const powers10 = Array.from({ length: 11 }, (_, k) => 10 ** k);
    expect(Array.from(cc.log10(cc.tensor(powers10)).dataSync())).to.deep.equal(powers10.map((_, k) => k));
    const powers2 = Array.from({ length: 277 }, (_, k) => 2 ** (k - 149));
    expect(Array.from(cc.log2(cc.tensor(powers2)).dataSync())).to.deep.equal(powers2.map((_, k) => k - 149));
    for (const op of [cc.log2, cc.log10]) {
      const y = Array.from(op(cc.tensor([0, -0, Infinity, -1, -Infinity, NaN])).dataSync());
      expect(y.slice(0, 3)).to.deep.equal([-Infinity, -Infinity, Infinity]);
      expect(y.slice(3).every(Number.isNaN)).to.equal(true);
    }
  });

  it('round halves to even as torch.round; trunc rounds toward zero', () => {
    const v = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 2.5000002, 1e8 + 0.5, -7.7];
    expect(Array.from(cc.round(cc.tensor(v)).dataSync())).to.deep.equal([0, 2, 2, -0, -2, -2, 0, 3, 1e8, -8]);
    expect(Array.from(cc.trunc(cc.tensor([2.7, -2.7, -0.3, 5])).dataSync())).to.deep.equal([2, -2, -0, 5]);
  });

  it('the new maths follow IEEE at the edges as PyTorch does', () => {
    const at = (f: (t: cc.Tensor) => cc.Tensor, v: number[]) => Array.from(f(cc.tensor(v)).dataSync());
    expect(at(cc.rsqrt, [0, -0, Infinity, 4])).to.deep.equal([Infinity, -Infinity, 0, 0.5]);
    expect(at(cc.rsqrt, [-1]).map(Number.isNaN)).to.deep.equal([true]);
    expect(at(cc.log1p, [-1, Infinity])).to.deep.equal([-Infinity, Infinity]);
    expect(at(cc.log1p, [-2]).map(Number.isNaN)).to.deep.equal([true]);
    expect(at(cc.expm1, [-Infinity, Infinity, 100])).to.deep.equal([-1, Infinity, Infinity]);
    expect(at(cc.log2, [0, 1024, Infinity])).to.deep.equal([-Infinity, 10, Infinity]);
    expect(at(cc.log10, [0, 1000])).to.deep.equal([-Infinity, 3]);
    expect(at(cc.atan, [Infinity, -Infinity])).to.deep.equal([Math.fround(Math.PI / 2), -Math.fround(Math.PI / 2)]);
    expect(at(cc.sin, [Infinity, NaN]).map(Number.isNaN)).to.deep.equal([true, true]);
    expect(at(cc.cos, [-Infinity]).map(Number.isNaN)).to.deep.equal([true]);
    for (const f of [cc.round, cc.trunc]) expect(at(f, [Infinity, -Infinity])).to.deep.equal([Infinity, -Infinity]);
    // Huge arguments: reduced exactly (glibc's sinf / cosf), not by a float32 multiple of pi.
    const big = Float64Array.from([1e5, 123456.7, 3e7, 1e30], Math.fround);
    expectClose(cc.sin(cc.tensor(Array.from(big))).dataSync(), big.map(Math.sin), 2e-6, 1e-7, 'sin big');
    expectClose(cc.cos(cc.tensor(Array.from(big))).dataSync(), big.map(Math.cos), 2e-6, 1e-7, 'cos big');
  });

  it('log, sqrt at the edges follow IEEE as PyTorch does', () => {
    const y = cc.log(cc.tensor([0, -1, Infinity])).dataSync();
    expect(y[0]).to.equal(-Infinity);
    expect(Number.isNaN(y[1])).to.equal(true);
    expect(y[2]).to.equal(Infinity);
    expect(Number.isNaN(cc.sqrt(cc.tensor([-1])).dataSync()[0])).to.equal(true);
  });

  it('scale computes alpha * x + beta and pow takes any exponent', () => {
    const { t, v } = randomTensor([5, 9], 3);
    expectClose(cc.scale(t, 2.5, -1).dataSync(), v.map((x) => Math.fround(2.5 * x) - 1), 1e-6, 1e-7);
    const p = cc.add(cc.abs(t), 1);
    const pv = v.map((x) => Math.fround(Math.abs(x) + 1));
    for (const e of [0, 0.5, 2, 3, -1.5]) expectClose(cc.pow(p, e).dataSync(), pv.map((x) => x ** e), 2e-6, 0, `pow ${e}`);
  });

  it('pow with a scalar exponent: correctly rounded (float64 exp and log) for positive normal bases, std::pow\'s rules elsewhere', () => {
    // Every positive normal float's bits and [0.001, 4), in runs long enough for whole vectors,
    // against the float64 result rounded once; the edges (0, -0, negatives, subnormals, inf, NaN)
    // as C's pow, which JavaScript's Math.pow follows for a finite exponent.
    const n = 100003;
    const bits = Uint32Array.from({ length: n }, (_, i) => (i % 2 ? 0x00800000 + ((i * 2654435761) >>> 0) % (0x7f800000 - 0x00800000) : 0));
    const v = new Float32Array(bits.buffer);
    for (let i = 0; i < n; i += 2) v[i] = Math.fround(0.001 + (((i * 40503) >>> 0) % 65536) / 16384);
    const edges = [0, -0, -2, -8, 1e-40, -1e-40, Infinity, -Infinity, NaN, 1, 3, 4, 0.5];
    for (const e of [2.5, 0.75, -1.5, 1 / 3, 3, 7, -0.1, 100, -100, 1]) {
      const x = cc.tensor(Float32Array.from([...v, ...edges]));
      const y = cc.pow(x, e).dataSync();
      const ef = Math.fround(e);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.fround(Math.pow(v[i], ef));
        if (Object.is(y[i], want)) continue;
        const ulps = Math.abs(new Int32Array(Float32Array.from([y[i]]).buffer)[0] - new Int32Array(Float32Array.from([want]).buffer)[0]);
        if (ulps > 1) expect.fail(`pow(${v[i]}, ${e}) = ${y[i]}, expected ${want}`);
        off++;
      }
      expect(off, `pow(x, ${e}): results an ulp off`).to.be.at.most(2);
      edges.forEach((b, k) => expect(Object.is(y[n + k], Math.fround(Math.pow(Math.fround(b), ef))), `pow(${b}, ${e}) = ${y[n + k]}`).to.equal(true));
    }
    expect(cc.pow(cc.tensor([3, 2, 10]), 3).tolist()).to.deep.equal([27, 8, 1000]);   // exact results stay exact
  });

  it('rejects int32 input', () => {
    expectError(() => cc.exp(cc.zeros([2], 'int32')), 'E_DTYPE', /exp: expected `x` of dtype float32/);
  });
});
