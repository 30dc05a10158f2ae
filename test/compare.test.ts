/**
 * Comparisons (eq ne lt le gt ge), where, clamp, int32 reductions, argmin, var/std, and the
 * layout conveniences (stack, split, chunk, expand) on the CPU, against float64 references
 * written plainly in JS (native/cpu/compare.cc, where.cc, reduce.cc; lib/ops.ts).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { expectBitIdentical, expectClose, expectError, expectRejects, gradCheck, loadFixture, randomTensor, rng, sizeOf, strides, unravel } from './helpers';

type T = cc.Tensor;
const ints = (values: number[], shape?: number[]): cc.Tensor<'int32'> =>
  cc.tensor(new Int32Array(values), shape ? { dtype: 'int32', shape } : { dtype: 'int32' });
const floats = (values: number[], shape?: number[]): cc.Tensor<'float32'> =>
  cc.tensor(Float32Array.from(values), shape ? { shape } : {});

/** Broadcast reference over any number of operands. */
function broadcastRef(ops: { v: ArrayLike<number>; shape: number[] }[], f: (...xs: number[]) => number) {
  const rank = Math.max(...ops.map((o) => o.shape.length));
  const padded = ops.map((o) => [...Array(rank - o.shape.length).fill(1), ...o.shape]);
  const out = Array.from({ length: rank }, (_, d) => Math.max(...padded.map((p) => p[d])));
  if (padded.some((p) => p.some((s) => s === 0))) out.forEach((_, d) => { if (padded.some((p) => p[d] === 0)) out[d] = 0; });
  const st = padded.map(strides);
  const y = new Float64Array(sizeOf(out));
  for (let i = 0; i < y.length; i++) {
    const idx = unravel(i, out);
    const args = ops.map((o, k) => o.v[idx.reduce((s, j, d) => s + (padded[k][d] === 1 ? 0 : j) * st[k][d], 0)]);
    y[i] = f(...args);
  }
  return { y, shape: out };
}

const SPECIAL = [0, -0, 1, -1, 0.5, 2.5, -2.5, 1e-30, 1e30, Infinity, -Infinity, NaN, 3, 3, -1];
const CMP: [string, (a: T | number, b: T | number) => T, (x: number, y: number) => boolean][] = [
  ['eq', cc.eq, (x, y) => x === y],
  ['ne', cc.ne, (x, y) => x !== y],
  ['lt', cc.lt, (x, y) => x < y],
  ['le', cc.le, (x, y) => x <= y],
  ['gt', cc.gt, (x, y) => x > y],
  ['ge', cc.ge, (x, y) => x >= y],
];
const SHAPE_PAIRS: [number[], number[]][] = [
  [[], []], [[3], [3]], [[2, 3], [3]], [[4, 1, 5], [3, 1]], [[1], [7, 1, 1]], [[257, 129], [129]], [[0, 3], [3]], [[6, 1], [1, 6]], [[3, 1, 2], [3, 4, 2]],
  [[8, 6, 5, 7], [8, 6, 1, 1]], [[2, 1, 3, 1, 4], [1, 5, 3, 1, 4]], [[5, 1, 1], [1, 1, 7]],
];

describe('comparisons: eq ne lt le gt ge', () => {
  for (const [name, op, ref] of CMP) {
    it(`${name}: float32 every pair of special values (NaN, ±Inf, ±0) as a 1/0 float32 mask`, () => {
      const n = SPECIAL.length;
      const a = floats(SPECIAL.flatMap((x) => SPECIAL.map(() => x)), [n, n]);
      const b = floats(SPECIAL, [n]);
      const y = op(a, b);
      expect(y.dtype).to.equal('float32');
      expect(y.requiresGrad).to.equal(false);
      const expected = SPECIAL.flatMap((x) => SPECIAL.map((v) => (ref(x, v) ? 1 : 0)));
      expectBitIdentical(y.dataSync(), Float32Array.from(expected), name);
    });
    it(`${name}: broadcasting over ${SHAPE_PAIRS.length} shape pairs, float32 and int32`, () => {
      SHAPE_PAIRS.forEach(([sa, sb], k) => {
        const A = randomTensor(sa, 10 + k, -2, 2), B = randomTensor(sb, 100 + k, -2, 2);
        // rounded halves so that ties occur
        const av = Array.from(A.v, (x) => Math.round(x * 2) / 2), bv = Array.from(B.v, (x) => Math.round(x * 2) / 2);
        const expected = broadcastRef([{ v: av, shape: sa }, { v: bv, shape: sb }], (x, v) => (ref(x, v) ? 1 : 0));
        const y = op(floats(av, sa), floats(bv, sb));
        expect(y.shape).to.deep.equal(expected.shape);
        expectClose(y.dataSync(), expected.y, 0, 0, `${name} float32 ${JSON.stringify([sa, sb])}`);
        const yi = op(ints(av.map((x) => x * 2), sa), ints(bv.map((x) => x * 2), sb));
        expectClose(yi.dataSync(), expected.y, 0, 0, `${name} int32 ${JSON.stringify([sa, sb])}`);
      });
    });
    it(`${name}: a number operand on either side (float32 rounding, int32 exact, extremes)`, () => {
      const xs = floats(SPECIAL);
      for (const s of [0, -0, 1, 0.1, NaN, Infinity, -Infinity, 3]) {
        const f = Math.fround(s);
        expectClose(op(xs, s).dataSync(), SPECIAL.map((x) => (ref(Math.fround(x), f) ? 1 : 0)), 0, 0, `${name} x op ${s}`);
        expectClose(op(s, xs).dataSync(), SPECIAL.map((x) => (ref(f, Math.fround(x)) ? 1 : 0)), 0, 0, `${name} ${s} op x`);
      }
      const iv = [-2147483648, -2147483647, -1, 0, 1, 2147483646, 2147483647];
      const xi = ints(iv);
      for (const s of [0, 2147483647, -2147483648, 2147483646.5, 0.5, -0.5, 2 ** 40, NaN, Infinity]) {
        expectClose(op(xi, s).dataSync(), iv.map((x) => (ref(x, s) ? 1 : 0)), 0, 0, `${name} int32 x op ${s}`);
        expectClose(op(s, xi).dataSync(), iv.map((x) => (ref(s, x) ? 1 : 0)), 0, 0, `${name} int32 ${s} op x`);
      }
      // int32 tensors against int32 tensors at the extremes (no float rounding: 2^31-1 vs 2^31-2 differ)
      const yi = op(xi, ints([-2147483648, -2147483648, 0, 0, 2, 2147483647, 2147483646]));
      const other = [-2147483648, -2147483648, 0, 0, 2, 2147483647, 2147483646];
      expectClose(yi.dataSync(), iv.map((x, i) => (ref(x, other[i]) ? 1 : 0)), 0, 0, `${name} int32 extremes`);
    });
  }

  it('Tensor methods, and accuracy on the device: argmax(logits, 1).eq(labels).sum()', () => {
    const logits = floats([0.1, 2, 0.3, 5, 1, 0, 0, 0, 9, 1, 1, 0], [4, 3]);
    const labels = ints([1, 0, 1, 0]);
    const correct = logits.argmax(1).eq(labels).sum();
    expect(correct.item()).to.equal(3);   // predictions 1, 0, 2, 0
    const correctInt = cc.cast(logits.argmax(1).eq(labels), 'int32').sum();
    expect(correctInt.dtype).to.equal('int32');
    expect(correctInt.item()).to.equal(3);
    const x = floats([1, 2, 3]);
    expect(x.ne(2).arraySync()).to.deep.equal([1, 0, 1]);
    expect(x.lt(2).arraySync()).to.deep.equal([1, 0, 0]);
    expect(x.le(2).arraySync()).to.deep.equal([1, 1, 0]);
    expect(x.gt(2).arraySync()).to.deep.equal([0, 0, 1]);
    expect(x.ge(2).arraySync()).to.deep.equal([0, 1, 1]);
    const w = floats([1, 2, 3]).requiresGrad_();
    expect(w.gt(1).requiresGrad).to.equal(false);
  });

  it('typed errors: mixed dtypes, shapes that do not broadcast, two numbers, a non-number', () => {
    expectError(() => cc.eq(floats([1]), ints([1])), 'E_DTYPE', /eq: expected `a` and `b` of one dtype/);
    expectError(() => cc.lt(floats([1, 2]), floats([1, 2, 3])), 'E_SHAPE');
    expectError(() => cc.gt(1, 2), 'E_ARG');
    expectError(() => cc.ge(floats([1]), '1' as unknown as number), 'E_ARG');
    const t = floats([1]);
    t.dispose();
    expectError(() => cc.ne(t, 1), 'E_DISPOSED');
  });
});

describe('where', () => {
  it('matches a reference with broadcasting of all three (float32 and int32 cond)', () => {
    const shapes: [number[], number[], number[]][] = [
      [[], [], []], [[3], [3], [3]], [[2, 1], [3], [2, 3]], [[4, 1, 5], [3, 1], [1]], [[1, 6], [6, 1], []], [[0, 2], [2], [2]], [[129, 257], [257], [129, 1]],
      // a condition that is one value along the rows (expand's form): whole rows of a or of b
      [[3, 1], [3, 70], [70]], [[2, 1, 1], [5, 1], [1, 40]],
      // axes merged by the kernel (size 1 dropped, blocks that all three step through as one)
      [[6, 1, 1], [6, 5, 7], [1, 5, 7]], [[2, 1, 3, 1, 4], [2, 5, 3, 1, 4], [1]],
    ];
    shapes.forEach(([sc, sa, sb], k) => {
      const next = rng(k + 1);
      const cv = Array.from({ length: sizeOf(sc) }, () => (next() < 0.5 ? 0 : next() < 0.5 ? 1 : -3));
      const A = randomTensor(sa, 20 + k), B = randomTensor(sb, 40 + k);
      const expected = broadcastRef([{ v: cv, shape: sc }, { v: A.v, shape: sa }, { v: B.v, shape: sb }], (c, a, b) => (c !== 0 ? Math.fround(a) : Math.fround(b)));
      for (const cond of [floats(cv, sc), ints(cv, sc)]) {
        const y = cc.where(cond, A.t, B.t);
        expect(y.shape).to.deep.equal(expected.shape);
        expectClose(y.dataSync(), expected.y, 0, 0, `where ${JSON.stringify([sc, sa, sb])} cond ${cond.dtype}`);
      }
    });
  });

  it('cond: NaN is true, -0 is false; NaN and Inf in the branch not taken do not leak; bits are copied', () => {
    const cond = floats([NaN, -0, 0, 1, -1e-40, 0]);
    const a = floats([1, NaN, Infinity, -0, 2, -Infinity]);
    const b = floats([NaN, 3, 4, Infinity, NaN, -0]);
    const y = cc.where(cond, a, b).dataSync();
    expect(Array.from(y)).to.deep.equal([1, 3, 4, -0, 2, -0]);
    expect(Object.is(y[3], -0)).to.equal(true);
    expect(Object.is(y[5], -0)).to.equal(true);
    // int32 a/b at the extremes, and numbers for a or b
    const ci = ints([1, 0, 1]);
    expect(cc.where(ci, ints([2147483647, 0, -2147483648]), -2147483648).arraySync()).to.deep.equal([2147483647, -2147483648, -2147483648]);
    expect(cc.where(ci, 7, ints([1, 2, 3])).dtype).to.equal('int32');
    expect(cc.where(ci, 0.5, -Infinity).arraySync()).to.deep.equal([0.5, -Infinity, 0.5]);
    expect(floats([1, 2, 3]).where(ci, 0).arraySync()).to.deep.equal([1, 0, 3]);
  });

  it('long runs (the vectorised loops) select bit for bit, with a one-value cond, a or b and every dtype of cond', () => {
    // 1000 elements, so that whole vectors and a remainder run; the cond's specials (NaN true,
    // -0 false, a subnormal true) fall at every lane position
    const n = 1000, next = rng(5);
    const specials = [NaN, -0, 0, 1, -1e-40, -3];
    const cv = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? specials[(i / 7) % specials.length] : next() < 0.5 ? 0 : 1));
    const av = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? [NaN, -0, Infinity][i % 3] : next() * 4 - 2));
    const bv = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? [-Infinity, -0, NaN][i % 3] : next() * 4 - 2));
    const bits = (t: cc.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    const f32bits = (v: number[]) => Array.from(new Uint32Array(Float32Array.from(v).buffer));
    const pick = (c: number, a: number, b: number) => (c !== 0 && !Object.is(c, -0) ? a : b);  // NaN !== 0: true
    const ref = (c: (i: number) => number, a: (i: number) => number, b: (i: number) => number) => f32bits(Array.from({ length: n }, (_, i) => pick(c(i), a(i), b(i))));
    for (const cond of [floats(cv), ints(cv.map((c) => (Number.isNaN(c) || (c !== 0 && Math.abs(c) < 1) ? 1 : c)))]) {
      const cAt = cond.dtype === 'float32' ? (i: number) => Math.fround(cv[i]) : (i: number) => (cond.dataSync() as Int32Array)[i];
      expect(bits(cc.where(cond, floats(av), floats(bv))), `${cond.dtype}: all whole`).to.deep.equal(ref(cAt, (i) => av[i], (i) => bv[i]));
      expect(bits(cc.where(cond, floats(av), -0)), `${cond.dtype}: b a number`).to.deep.equal(ref(cAt, (i) => av[i], () => -0));
      expect(bits(cc.where(cond, floats([2.5]), floats(bv))), `${cond.dtype}: a one element`).to.deep.equal(ref(cAt, () => 2.5, (i) => bv[i]));
    }
    expect(bits(cc.where(floats([NaN]), floats(av), floats(bv))), 'a one-element cond').to.deep.equal(f32bits(av));
    expect(bits(cc.where(floats([-0]), floats(av), floats(bv))), 'a one-element -0 cond').to.deep.equal(f32bits(bv));
  });

  it('gradients flow to a where cond holds and to b elsewhere (finite differences), summed over broadcasting', () => {
    const cv = Float64Array.from([1, 0, 0, 1, 1, 0]);
    const a = randomTensor([2, 3], 3), b = randomTensor([3], 4);
    const cond = floats(Array.from(cv), [2, 3]);
    gradCheck({
      inputs: [{ shape: [2, 3], values: a.v }, { shape: [3], values: b.v }],
      forward: ([x, y]) => cc.where(cond, x, y),
      backward: (dy, [x, y]) => {
        x.requiresGrad = true;
        y.requiresGrad = true;
        cc.where(cond, x, y).mul(dy).sum().backward();
        return [x.grad, y.grad];
      },
      what: 'where',
    });
  });

  it('a NaN or Inf in the unselected branch leaves the gradients finite (unlike a*c + b*(1-c))', () => {
    const a = floats([1, NaN, 3]).requiresGrad_();
    const b = floats([Infinity, 5, 6]).requiresGrad_();
    const y = cc.where(floats([1, 0, 1]), a, b);
    expect(Array.from(y.dataSync())).to.deep.equal([1, 5, 3]);
    y.sum().backward();
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([1, 0, 1]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([0, 1, 0]);
    // where's own gradients are clean; a NaN that the branch not taken makes in its own
    // backward (log's dy / x = 0 / 0 at x = 0) is still NaN, as in PyTorch: mask x first.
    const x = floats([0, 2]).requiresGrad_();
    cc.where(x.gt(0), cc.log(x), 0).sum().backward();
    expect(Number.isNaN(x.grad!.dataSync()[0])).to.equal(true);
    const x2 = floats([0, 2]).requiresGrad_();
    cc.where(x2.gt(0), cc.log(cc.where(x2.gt(0), x2, 1)), 0).sum().backward();
    expect(Array.from(x2.grad!.dataSync())).to.deep.equal([0, 0.5]);
  });

  it('typed errors', () => {
    expectError(() => cc.where(floats([1]), floats([1]), ints([1])), 'E_DTYPE');
    expectError(() => cc.where(floats([1, 0]), floats([1, 2, 3]), 0), 'E_SHAPE');
    expectError(() => cc.where(1 as unknown as T, floats([1]), 0), 'E_ARG');
    expectError(() => cc.where(floats([1]), ints([1]), 0.5), 'E_ARG');
    expectError(() => cc.where(floats([1]), 'a' as unknown as number, 0), 'E_ARG');
  });
});

describe('clamp', () => {
  it('values (NaN stays NaN, ±Inf, bounds given as numbers or tensors, one bound, min > max gives max)', () => {
    const x = floats([-Infinity, -2, -1, 0, 0.5, 1, 2, Infinity, NaN]);
    expect(x.clamp(-1, 1).arraySync()).to.deep.equal([-1, -1, -1, 0, 0.5, 1, 1, 1, NaN]);
    expect(cc.clamp(x, 0).arraySync()).to.deep.equal([0, 0, 0, 0, 0.5, 1, 2, Infinity, NaN]);
    expect(cc.clamp(x, null, 0).arraySync()).to.deep.equal([-Infinity, -2, -1, 0, 0, 0, 0, 0, NaN]);
    expect(cc.clamp(floats([0, 5]), 3, 1).arraySync()).to.deep.equal([1, 1]);
    expect(cc.clamp(floats([[0, 5], [2, 2]].flat(), [2, 2]), floats([1, 3]), floats([[2], [2.5]].flat(), [2, 1])).arraySync()).to.deep.equal([[1, 2], [2, 2.5]]);   // 5 in [3, 2]: max
    expect(cc.clamp(ints([-2147483648, 0, 2147483647]), -5, 5).arraySync()).to.deep.equal([-5, 0, 5]);
    expect(cc.clamp(ints([1, 9]), -5, 5).dtype).to.equal('int32');
  });

  it('gradient 1 inside [min, max] with the bounds included, 0 outside (as PyTorch); finite differences away from the bounds', () => {
    const x = floats([-2, -1, 0, 1, 2, NaN]).requiresGrad_();
    cc.clamp(x, -1, 1).sum().backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([0, 1, 1, 1, 0, 0]);   // NaN: none, as PyTorch
    const v = randomTensor([4, 5], 7, -2, 2).v.map((t) => (Math.abs(Math.abs(t) - 1) < 0.05 ? t + 0.2 : t));
    gradCheck({
      inputs: [{ shape: [4, 5], values: v }],
      forward: ([t]) => cc.clamp(t, -1, 1),
      backward: (dy, [t]) => {
        t.requiresGrad = true;
        cc.clamp(t, -1, 1).mul(dy).sum().backward();
        return [t.grad];
      },
      h: 1e-3,
      what: 'clamp',
    });
  });

  // test/fixtures/make/clamp.py: x holds the bounds themselves, ±Infinity and NaN, so these pin
  // PyTorch's rule at the boundaries; number bounds run the one-pass native op (cpu/clamp.cc).
  it('agrees with PyTorch 1.13 (committed fixtures): number bounds (min, max, both, min > max, min == max, NaN), tensor bounds broadcast', () => {
    type V = { shape: number[]; values: (number | string)[] };
    const nums = (v: V) => v.values.map((x) => (typeof x === 'string' ? Number(x) : x));
    const fx = (v: V) => cc.tensor(Float32Array.from(nums(v)), { shape: v.shape });
    const bound = (b: V | number | string | null) => (b === null ? null : typeof b === 'object' ? fx(b).requiresGrad_() : Number(b));
    const { cases } = loadFixture<{ cases: { kind: string; min: V | number | string | null; max: V | number | string | null; x: V; dy: V; y: V; dx: V; dmin?: V; dmax?: V }[] }>('clamp');
    expect(cases.length).to.equal(10);
    for (const c of cases) {
      const what = `clamp(${JSON.stringify(c.kind === 'tensor' ? 'tensors' : [c.min, c.max])})`;
      const x = fx(c.x).requiresGrad_(), lo = bound(c.min), hi = bound(c.max);
      const y = cc.clamp(x, lo, hi);
      expectClose(y.dataSync(), nums(c.y), 0, 0, what);
      y.backward(fx(c.dy));
      expectClose(x.grad!.dataSync(), nums(c.dx), 1e-7, 0, `${what} dx`);
      if (c.dmin) expectClose((lo as T).grad!.dataSync(), nums(c.dmin), 1e-6, 1e-7, `${what} dmin`);
      if (c.dmax) expectClose((hi as T).grad!.dataSync(), nums(c.dmax), 1e-6, 1e-7, `${what} dmax`);
    }
  });

  it('number bounds: one pass each way, the same bits for 1 and 2 threads, empty inputs, int32 limits, no gradient for int32', () => {
    const { t: x } = randomTensor([70001], 3, -3, 3);
    const dy = randomTensor([70001], 4).t;
    const run = (threads: number) => {
      cc.setNumThreads(threads);
      const xg = x.detach().requiresGrad_();
      const y = cc.clamp(xg, -1, 2);
      y.backward(dy);
      return [y.dataSync(), xg.grad!.dataSync()];
    };
    const threads = cc.getNumThreads();
    try {
      const [y1, g1] = run(1), [y2, g2] = run(2);
      expectBitIdentical(y1, y2, 'y');
      expectBitIdentical(g1, g2, 'dx');
      const xs = x.dataSync();
      for (let i = 0; i < xs.length; i++) {
        if (y1[i] !== Math.min(Math.max(xs[i], -1), 2)) expect.fail(`clamp at ${i}: ${xs[i]} gave ${y1[i]}`);
      }
    } finally {
      cc.setNumThreads(threads);
    }
    expect(cc.clamp(cc.zeros([0, 3]), 0, 1).shape).to.deep.equal([0, 3]);
    expect(Array.from(cc.clamp(ints([-2147483648, -7, 0, 7, 2147483647]), -5).dataSync())).to.deep.equal([-5, -5, 0, 7, 2147483647]);
    expect(Array.from(cc.clamp(ints([-2147483648, -7, 0, 7, 2147483647]), null, 5).dataSync())).to.deep.equal([-2147483648, -7, 0, 5, 5]);
    expect(Array.from(cc.clamp(ints([-3, 0, 3]), 2, 1).dataSync())).to.deep.equal([1, 1, 1]);
    expect(cc.clamp(floats([-0]), 0).dataSync()[0]).to.equal(-0);   // -0 is not below 0
  });

  it('typed errors', () => {
    expectError(() => cc.clamp(floats([1])), 'E_ARG', /at least one/);
    expectError(() => cc.clamp(floats([1]), ints([0])), 'E_DTYPE');
    expectError(() => cc.clamp(ints([1]), 0.5), 'E_ARG');
    expectError(() => cc.clamp(floats([1]), '0' as unknown as number), 'E_ARG');
  });
});

describe('int32 reductions, argmin', () => {
  const I32_MAX = 2147483647, I32_MIN = -2147483648;

  it('sum / max / min of int32 over all and over axes (keepdim) stay int32 and are exact', () => {
    const shape = [3, 4, 5];
    const next = rng(5);
    const v = Array.from({ length: 60 }, () => Math.floor(next() * 2e7) - 1e7);
    const x = ints(v, shape);
    const ref = (axes: number[], f: (a: number, b: number) => number, init: number) => {
      const out = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const y = new Array(sizeOf(out)).fill(init);
      const st = strides(out);
      v.forEach((val, i) => {
        const idx = unravel(i, shape);
        const o = idx.reduce((s, k, d) => s + (axes.includes(d) ? 0 : k) * st[d], 0);
        y[o] = f(y[o], val);
      });
      return { y, out };
    };
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2], [1, 2]]) {
      for (const [name, f, init] of [['sum', (a: number, b: number) => a + b, 0], ['max', Math.max, -Infinity], ['min', Math.min, Infinity]] as const) {
        const { y, out } = ref(axes, f, init);
        const got = (cc as unknown as Record<string, (t: T, a: number[], k: boolean) => T>)[name](x, axes, true);
        expect(got.dtype).to.equal('int32');
        expect(got.shape).to.deep.equal(out);
        expect(Array.from(got.dataSync()), `${name} ${axes}`).to.deep.equal(y);
      }
    }
    expect(x.sum().item()).to.equal(v.reduce((a, b) => a + b, 0));
    expect(x.sum(1).shape).to.deep.equal([3, 5]);
    expect(ints([], [0, 3]).sum(0).arraySync()).to.deep.equal([0, 0, 0]);
    // long rows (a full reduction in blocks on every thread; rows over the last axis)
    const big = Array.from({ length: 100003 }, (_, i) => ((i * 2654435761) % 40001) - 20000);
    const total = big.reduce((a, b) => a + b, 0);
    expect(ints(big).sum().item()).to.equal(total);
    expect(ints(big).max().item()).to.equal(Math.max(...big));
    expect(ints(big).min().item()).to.equal(Math.min(...big));
    const rows = ints(big.slice(0, 100000), [4, 25000]).sum(1).dataSync();
    expect(Array.from(rows)).to.deep.equal([0, 1, 2, 3].map((k) => big.slice(k * 25000, k * 25000 + 25000).reduce((a, b) => a + b, 0)));
  });

  it('an int32 sum at the extremes is exact; one outside int32 is E_RANGE at the next wait', async () => {
    expect(ints([I32_MAX, 0, -1, 1]).sum().item()).to.equal(I32_MAX);
    expect(ints([I32_MIN, I32_MAX, I32_MAX, -I32_MAX]).sum().item()).to.equal(I32_MIN + I32_MAX);
    expect(ints([I32_MIN, I32_MAX], [2, 1]).max().item()).to.equal(I32_MAX);
    expect(ints([I32_MIN, I32_MAX]).min().item()).to.equal(I32_MIN);
    await expectRejects(ints([I32_MAX, 1]).sum().data(), 'E_RANGE', /outside the int32 range/);
    await expectRejects(ints([I32_MIN, -1, 5, 5], [2, 2]).sum(1).data(), 'E_RANGE');
    await expectRejects(ints(new Array(40000).fill(60000)).sum().data(), 'E_RANGE');   // over blocks
    await expectRejects(ints([-1, I32_MIN, 2, -1, 3, 4], [1, 3, 2]).sum([0, 2]).data(), 'E_RANGE');   // general layout
    // the queue goes on after the error
    expect(ints([1, 2]).sum().item()).to.equal(3);
  });

  it('argmin / argmax of float32 and int32: the first on ties, NaN wins, axes and keepdim', () => {
    const f = floats([3, 1, 1, 5, NaN, 0, -Infinity, 2], [2, 4]);
    expect(f.argmin(1).arraySync()).to.deep.equal([1, 0]);
    expect(f.argmin().item()).to.equal(4);
    expect(f.argmax().item()).to.equal(4);
    expect(cc.argmin(floats([2, -0, 0, -1, -1])).item()).to.equal(3);
    expect(cc.argmin(floats([0, -0])).item()).to.equal(0);
    const i = ints([5, -2147483648, 7, 2147483647, -2147483648, 2147483647], [2, 3]);
    expect(i.argmin(1).arraySync()).to.deep.equal([1, 1]);
    expect(i.argmax(1).arraySync()).to.deep.equal([2, 0]);
    expect(i.argmax(0, true).arraySync()).to.deep.equal([[1, 0, 1]]);   // a tie: the first
    expect(i.argmin(0).arraySync()).to.deep.equal([0, 0, 0]);
    expect(i.argmin().item()).to.equal(1);
    // a longer row against a reference (the vectorised argmax and the generic loop)
    const r = randomTensor([7, 300], 9);
    const am = r.t.argmin(1).dataSync();
    for (let k = 0; k < 7; k++) {
      const row = Array.from(r.v.slice(k * 300, k * 300 + 300), Math.fround);
      expect(am[k]).to.equal(row.indexOf(Math.min(...row)));
    }
  });

  it('typed errors: mean of int32, empty argmin, bad axis', () => {
    expectError(() => cc.mean(ints([1, 2])), 'E_DTYPE', /mean/);
    expectError(() => cc.argmin(floats([])), 'E_SHAPE');
    expectError(() => cc.argmin(floats([1, 2]), 1), 'E_ARG');
    expectError(() => cc.max(ints([], [0])), 'E_SHAPE');
  });
});

describe('var and std', () => {
  const refVar = (v: number[], correction: number) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(0, v.length - correction);
  };

  it('over all, over axes, keepdim, unbiased (default) and not, correction', () => {
    const X = randomTensor([3, 4, 5], 11, -3, 3);
    const v = Array.from(X.v, Math.fround);
    expectClose([X.t.var().item()], [refVar(v, 1)], 1e-5, 1e-6, 'var all');
    expectClose([X.t.std(undefined, { unbiased: false }).item()], [Math.sqrt(refVar(v, 0))], 1e-5, 1e-6, 'std all biased');
    const y = cc.variance(X.t, [0, 2], { keepdim: true });
    expect(y.shape).to.deep.equal([1, 4, 1]);
    const expected = [0, 1, 2, 3].map((c) => refVar([0, 1, 2].flatMap((n) => v.slice(n * 20 + c * 5, n * 20 + c * 5 + 5)), 1));
    expectClose(y.dataSync(), expected, 1e-5, 1e-6, 'var [0, 2]');
    const s = cc.std(X.t, 2, { correction: 2 });
    expect(s.shape).to.deep.equal([3, 4]);
    expectClose(s.dataSync(), Array.from({ length: 12 }, (_, k) => Math.sqrt(refVar(v.slice(k * 5, k * 5 + 5), 2))), 1e-5, 1e-6, 'std correction 2');
    // one element, unbiased: 0 / 0 = NaN, as PyTorch
    expect(Number.isNaN(floats([3]).var().item())).to.equal(true);
    expect(floats([3]).var(undefined, { unbiased: false }).item()).to.equal(0);
  });

  it('gradients by finite differences', () => {
    const X = randomTensor([3, 5], 12, -2, 2);
    for (const [name, fn] of [['var', (t: T) => cc.variance(t, 1)], ['std', (t: T) => cc.std(t, 0, { unbiased: false })], ['std all', (t: T) => cc.std(t)]] as const) {
      gradCheck({
        inputs: [{ shape: [3, 5], values: X.v }],
        forward: ([t]) => fn(t),
        backward: (dy, [t]) => {
          t.requiresGrad = true;
          fn(t).mul(dy).sum().backward();
          return [t.grad];
        },
        h: 1e-3,
        what: name,
      });
    }
  });

  it('typed errors', () => {
    expectError(() => cc.variance(ints([1, 2])), 'E_DTYPE');
    expectError(() => cc.std(floats([1, 2]), 0, { unbias: true } as unknown as cc.VarOptions), 'E_ARG');
    expectError(() => cc.std(floats([1, 2]), 0, { correction: -1 }), 'E_ARG');
    expectError(() => cc.variance(floats([1, 2]), 2), 'E_ARG');
  });
});

describe('stack, split, chunk, expand, tolist and the method forms', () => {
  it('stack along each axis (with gradients), and its errors', () => {
    const a = floats([1, 2, 3, 4, 5, 6], [2, 3]).requiresGrad_(), b = floats([7, 8, 9, 10, 11, 12], [2, 3]).requiresGrad_();
    expect(cc.stack([a, b]).arraySync()).to.deep.equal([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]);
    expect(cc.stack([a, b], 1).arraySync()).to.deep.equal([[[1, 2, 3], [7, 8, 9]], [[4, 5, 6], [10, 11, 12]]]);
    expect(cc.stack([a, b], -1).shape).to.deep.equal([2, 3, 2]);
    cc.stack([a, b], 2).mul(floats([1, 2], [2])).sum().backward();
    expect(a.grad!.arraySync()).to.deep.equal([[1, 1, 1], [1, 1, 1]]);
    expect(b.grad!.arraySync()).to.deep.equal([[2, 2, 2], [2, 2, 2]]);
    // Along an existing axis the stack is a view of the concatenation: its gradient too.
    a.zeroGrad();
    b.zeroGrad();
    cc.stack([a, b], 1).mul(floats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3])).sum().backward();
    expect(a.grad!.arraySync()).to.deep.equal([[1, 2, 3], [7, 8, 9]]);
    expect(b.grad!.arraySync()).to.deep.equal([[4, 5, 6], [10, 11, 12]]);
    // Along axis 0 (a batch of samples): each input's gradient is its slice of dy.
    a.zeroGrad();
    b.zeroGrad();
    cc.stack([a, b], 0).mul(floats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3])).sum().backward();
    expect(a.grad!.arraySync()).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    expect(b.grad!.arraySync()).to.deep.equal([[7, 8, 9], [10, 11, 12]]);
    expect(cc.stack([ints([1]), ints([2])]).dtype).to.equal('int32');
    expect(cc.stack([ints([1, 2]), ints([3, 4])]).arraySync()).to.deep.equal([[1, 2], [3, 4]]);
    expectError(() => cc.stack([a, cc.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' })]), 'E_DTYPE', /stack: tensors\[1\] is int32/);
    const gone = cc.zeros([2, 3]);
    gone.dispose();
    expectError(() => cc.stack([a, gone]), 'E_DISPOSED', /`tensors\[1\]` has been disposed/);
    expectError(() => cc.concat([a, 7 as unknown as cc.Tensor]), 'E_ARG', /`tensors\[1\]` to be a Tensor/);
    expectError(() => cc.stack([a, floats([1, 2])]), 'E_SHAPE');
    expectError(() => cc.stack([]), 'E_ARG');
    expectError(() => cc.stack([a, b], 3), 'E_ARG');
  });

  it('split, chunk, unbind and tensorSplit untaped (one native op) give the narrows\' values, int32 too, long rows split across threads', () => {
    for (const [shape, dtype] of [[[3, 7001, 5], 'float32'], [[40000, 3], 'int32'], [[2, 3, 0], 'float32']] as const) {
      const n = shape.reduce((p, s) => p * s, 1);
      const x = cc.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7919) % 100003), { dtype: 'int32', shape: [...shape] });
      const t = dtype === 'int32' ? x : cc.cast(x, 'float32');
      for (let a = 0; a < shape.length; a++) {
        const len = shape[a], sizes = [Math.floor(len / 3), 0, len - Math.floor(len / 3) - 1, 1].filter((s) => s >= 0);
        if (sizes.reduce((p, s) => p + s, 0) !== len) continue;
        const pieces = cc.split(t, sizes, a);
        let start = 0;
        pieces.forEach((p, k) => {
          const want = cc.narrow(t, a, start, sizes[k]);
          expect(p.shape).to.deep.equal(want.shape);
          expect(p.dtype).to.equal(dtype);
          expect(Array.from(p.dataSync()), `split ${shape} axis ${a} piece ${k}`).to.deep.equal(Array.from(want.dataSync()));
          start += sizes[k];
        });
      }
      const rows = cc.unbind(t, shape.length - 1);
      rows.forEach((r, k) => expect(Array.from(r.dataSync()), `unbind ${shape} ${k}`).to.deep.equal(Array.from(cc.narrow(t, shape.length - 1, k, 1).dataSync())));
    }
    const v = cc.arange(0, 10);
    expect(cc.tensorSplit(v, [3, 7]).map((p) => p.arraySync())).to.deep.equal([[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]);
    expect(cc.tensorSplit(v, [6, 2]).map((p) => p.arraySync())).to.deep.equal([[0, 1, 2, 3, 4, 5], [], [2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(cc.unbind(cc.zeros([2, 0, 3]), 1)).to.deep.equal([]);
  });

  it('split by size and by sections, chunk as torch.chunk (fewer pieces when it must)', () => {
    const x = cc.arange(0, 10);
    expect(x.split(3).map((t) => t.arraySync())).to.deep.equal([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(cc.split(x, [2, 0, 8]).map((t) => t.shape[0])).to.deep.equal([2, 0, 8]);
    expect(x.chunk(3).map((t) => t.arraySync())).to.deep.equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(cc.arange(0, 6).chunk(4).map((t) => t.shape[0])).to.deep.equal([2, 2, 2]);
    const m = floats([1, 2, 3, 4, 5, 6], [2, 3]).requiresGrad_();
    const [p, q] = m.chunk(2, 1);
    expect(p.arraySync()).to.deep.equal([[1, 2], [4, 5]]);
    expect(q.arraySync()).to.deep.equal([[3], [6]]);
    q.mul(2).sum().backward();
    expect(m.grad!.arraySync()).to.deep.equal([[0, 0, 2], [0, 0, 2]]);
    expectError(() => x.split([3, 3]), 'E_ARG', /add up to 6/);
    expectError(() => x.split(0), 'E_ARG');
    expectError(() => x.chunk(0), 'E_ARG');
  });

  it('expand: broadcasting a copy (-1 keeps a size, new leading axes), int32 bits, gradient summed back', () => {
    const b = floats([1, NaN, -0], [3, 1]).requiresGrad_();
    const y = b.expand([2, 3, 4]);
    expect(y.shape).to.deep.equal([2, 3, 4]);
    expect(y.arraySync()).to.deep.equal([[[1, 1, 1, 1], [NaN, NaN, NaN, NaN], [-0, -0, -0, -0]], [[1, 1, 1, 1], [NaN, NaN, NaN, NaN], [-0, -0, -0, -0]]]);
    expect(Object.is(y.dataSync()[8], -0)).to.equal(true);
    y.sum().backward();
    expect(b.grad!.arraySync()).to.deep.equal([[8], [8], [8]]);
    expect(cc.expand(ints([2147483647, -2147483648], [1, 2]), [3, -1]).arraySync()).to.deep.equal([[2147483647, -2147483648], [2147483647, -2147483648], [2147483647, -2147483648]]);
    expectError(() => b.expand([2, 1]), 'E_SHAPE');
    expectError(() => b.expand([-1, 3, 1]), 'E_SHAPE');
    expectError(() => b.expand([4]), 'E_SHAPE');
  });

  it('expand: every layout of the native copy (rows copied, values repeated, one long row) against a loop, at 1 and 2 threads', () => {
    const next = rng(41), threads0 = cc.getNumThreads();
    const cases: [number[], number[]][] = [
      [[600, 1], [600, 700]], [[1, 700], [600, 700]], [[], [300, 500]], [[1], [70000]], [[8, 64, 1, 1], [8, 64, 5, 7]],
      [[3, 1, 5], [2, 3, 4, 5]], [[1, 3, 1], [4, 3, 2]], [[5, 1], [5, 1]], [[2, 1, 1, 3], [2, 2, 0, 3]], [[1, 1], [3, 40000]],
    ];
    for (const [from, to] of cases) {
      const n = sizeOf(from);
      // random bits: NaN payloads and -0 must come through as they are
      const bits = Int32Array.from({ length: n }, () => (next() * 2 ** 32) | 0);
      const want = new Int32Array(sizeOf(to));
      const st = strides(from), lead = to.length - from.length;
      for (let i = 0; i < want.length; i++) {
        const at = unravel(i, to);
        want[i] = bits[from.reduce((o, d, k) => o + (d === 1 ? 0 : at[k + lead] * st[k]), 0)];
      }
      for (const threads of [1, 2]) {
        cc.setNumThreads(threads);
        const got = cc.tidy(() => [
          cc.expand(cc.tensor(bits, { shape: from, dtype: 'int32' }), to).dataSync(),
          cc.expand(cc.tensor(new Float32Array(bits.buffer), { shape: from }), to).dataSync(),
        ]);
        expectBitIdentical(got[0], want, `int32 ${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
        expectBitIdentical(got[1], new Float32Array(want.buffer), `float32 ${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
      }
      cc.setNumThreads(threads0);
    }
    // The native entry point checks the shapes itself (typed errors, no crash).
    const x = cc.ones([3, 1]);
    for (const shape of [[2, 1], [4], [3, 1, 2], [-1, 2]]) expectError(() => native.expand(x.handle('test'), shape), 'E_SHAPE');
    expectError(() => native.expand(x.handle('test'), [3, 2.5]), 'E_ARG');
  });

  it('tolist, and methods for the unary and activation functions', () => {
    const x = floats([-1.5, 0.5, 2], [3]);
    expect(x.tolist()).to.deep.equal([-1.5, 0.5, 2]);
    expect(x.reciprocal().tolist()).to.deep.equal([1 / -1.5, 2, 0.5].map(Math.fround));
    expect(x.sign().tolist()).to.deep.equal([-1, 1, 1]);
    expect(x.floor().tolist()).to.deep.equal([-2, 0, 2]);
    expect(x.ceil().tolist()).to.deep.equal([-1, 1, 2]);
    expect(x.relu().tolist()).to.deep.equal([0, 0.5, 2]);
    expectClose(x.sigmoid().dataSync(), [-1.5, 0.5, 2].map((v) => 1 / (1 + Math.exp(-v))), 1e-6, 1e-7, 'sigmoid');
    expectClose(x.tanh().dataSync(), [-1.5, 0.5, 2].map(Math.tanh), 1e-6, 1e-7, 'tanh');
    const sm = [-1.5, 0.5, 2].map(Math.exp), total = sm.reduce((a, b) => a + b, 0);
    expectClose(x.softmax(0).dataSync(), sm.map((v) => v / total), 1e-6, 1e-7, 'softmax');
    expectClose(x.logSoftmax(-1).dataSync(), sm.map((v) => Math.log(v / total)), 1e-6, 1e-6, 'logSoftmax');
  });
});
