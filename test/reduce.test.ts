import { expect } from 'chai';
import * as cc from '../lib';
import { expectBitIdentical, expectClose, expectError, randomTensor, rng, sizeOf, unravel } from './helpers';

function reduceRef(v: Float64Array, shape: number[], axes: number[], f: 'sum' | 'mean' | 'max' | 'min') {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new Float64Array(sizeOf(outShape)).fill(f === 'max' ? -Infinity : f === 'min' ? Infinity : 0);
  const outStrides = outShape.map((_, i) => sizeOf(outShape.slice(i + 1)));
  for (let i = 0; i < v.length; i++) {
    const idx = unravel(i, shape);
    let o = 0;
    idx.forEach((k, d) => (o += (axes.includes(d) ? 0 : k) * outStrides[d]));
    acc[o] = f === 'max' ? Math.max(acc[o], v[i]) : f === 'min' ? Math.min(acc[o], v[i]) : acc[o] + v[i];
  }
  const count = sizeOf(axes.map((a) => shape[a]));
  return f === 'mean' ? acc.map((x) => x / count) : acc;
}

/**
 * A reduction against its float64 reference: max and min exactly up to the final rounding (1e-6);
 * sums and means within 2^-23 of the magnitudes summed besides (Note [sum order]: four floats
 * add in float32 before float64, two roundings within that bound), so a sum that cancels to a
 * small value may be further than 1e-6 from it, as PyTorch's float32 sums are.
 */
function expectReduced(actual: ArrayLike<number>, v: Float64Array, shape: number[], axes: number[], f: 'sum' | 'mean' | 'max' | 'min', what: string) {
  const expected = reduceRef(v, shape, axes, f);
  if (f === 'max' || f === 'min') return expectClose(actual, expected, 1e-6, 1e-6, what);
  const magnitudes = reduceRef(v.map(Math.abs), shape, axes, f);
  expect(actual.length, `${what} length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(expected[i]) || !Number.isFinite(expected[i])) expect(actual[i], `${what}[${i}]`).to.deep.equal(expected[i]);
    else if (!(diff <= 1e-6 + 1e-6 * Math.abs(expected[i]) + 2 ** -23 * magnitudes[i])) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${diff}, magnitudes ${magnitudes[i]})`);
    }
  }
}

const CASES: [number[], number[]][] = [
  [[7], [0]], [[1], []], [[3, 4], [0]], [[3, 4], [1]], [[3, 4], [0, 1]], [[2, 3, 4, 5], [1]], [[2, 3, 4, 5], [2, 3]],
  [[2, 3, 4, 5], [0, 2]], [[2, 3, 4, 5], [0, 3]], [[2, 3, 4, 5], [1, 2, 3]], [[100003], [0]], [[3, 70001], [1]],
  [[5000, 300], [0]], [[64, 6, 5, 5], [0, 2, 3]],
];

describe('reductions', () => {
  for (const f of ['sum', 'mean', 'max', 'min'] as const) {
    it(`${f} over axes matches a float64 reference (keepdim and not)`, () => {
      CASES.forEach(([shape, axes], k) => {
        const { t, v } = randomTensor(shape, 40 + k);
        const all = axes.length === 0;
        const y = cc[f](t, all ? undefined : axes, false);
        const yk = cc[f](t, all ? undefined : axes, true);
        const used = all ? shape.map((_, i) => i) : axes;
        expect(y.shape).to.deep.equal(shape.filter((_, i) => !used.includes(i)));
        expect(yk.shape).to.deep.equal(shape.map((d, i) => (used.includes(i) ? 1 : d)));
        expectReduced(y.dataSync(), v, shape, used, f, `${f} ${JSON.stringify([shape, axes])}`);
        expectReduced(yk.dataSync(), v, shape, used, f, `${f} ${JSON.stringify([shape, axes])} keepdim`);
      });
    });
  }

  it('accepts negative axes and rejects bad or repeated ones', () => {
    const { t } = randomTensor([2, 3, 4], 1);
    expect(cc.sum(t, -1).shape).to.deep.equal([2, 3]);
    expectError(() => cc.sum(t, 3), 'E_ARG', /sum: expected `axis` to be an axis in \[-3, 2\]/);
    expectError(() => cc.mean(t, [0, -3]), 'E_ARG', /axis 0 appears twice/);
    expectError(() => cc.max(t, 1.5), 'E_ARG');
    expectError(() => cc.max(cc.zeros([0, 3]), 0), 'E_SHAPE', /no identity/);
    // A 2**31-long list of axes (sparse, or a Proxy) is refused at once: it used to hang.
    expectError(() => cc.sum(t, new Array(2 ** 31)), 'E_ARG', /at most 3 axes/);
    expectError(() => cc.sum(t, new Proxy([1, 2], { get: (t, k) => (k === 'length' ? 2 ** 31 : (t as unknown as Record<PropertyKey, unknown>)[k as string]) }) as unknown as number[]), 'E_ARG', /at most 3 axes/);
  });

  it('an empty list of axes reduces every axis, as PyTorch 1.13 (sum(dim=[]))', () => {
    const { t, v } = randomTensor([2, 3], 2);
    const total = v.reduce((a, b) => a + b, 0);
    for (const [f, want] of [[cc.sum, total], [cc.mean, total / 6], [cc.max, Math.max(...v)]] as const) {
      const y = f(t, []);
      expect(y.shape).to.deep.equal([]);
      expect(y.dataSync()[0]).to.be.closeTo(want, 1e-5);
      expect(f(t, [], true).shape).to.deep.equal([1, 1]);
    }
    // and its gradient reaches every element
    const x = cc.ones([2, 3], { requiresGrad: true });
    cc.sum(x, []).backward();
    expect(Array.from((x.grad as cc.Tensor<'float32'>).dataSync())).to.deep.equal([1, 1, 1, 1, 1, 1]);
  });

  it('sum of an empty axis is 0 and its mean NaN, as PyTorch', () => {
    expect(Array.from(cc.sum(cc.zeros([0, 2]), 0).dataSync())).to.deep.equal([0, 0]);
    expect(Number.isNaN(cc.mean(cc.zeros([0])).dataSync()[0])).to.equal(true);
  });

  it('max and min propagate NaN', () => {
    expect(Number.isNaN(cc.max(cc.tensor([1, NaN, 3])).item())).to.equal(true);
    // Long rows (the vectorised runs: 16 lanes, a tail, blocks of 16384): a NaN anywhere wins;
    // without one the extremes are exact, infinities included.
    for (const n of [1000, 1007, 40000]) {
      for (const at of [-1, 3, 500, n - 1, Math.min(n - 1, 20000)]) {
        const v = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 100);
        v[Math.min(n - 2, 700)] = -Infinity;
        if (at >= 0) v[at] = NaN;
        for (const f of ['max', 'min'] as const) {
          const got = cc.tidy(() => cc[f](cc.tensor(v)).item());
          const want = at >= 0 ? NaN : f === 'max' ? Math.max(...v) : -Infinity;
          expect(Object.is(got, want), `${f} of ${n} with NaN at ${at}: ${got}`).to.equal(true);
        }
      }
    }
    expect(Number.isNaN(cc.min(cc.tensor([[1, 2], [NaN, 0]]), 1).dataSync()[1])).to.equal(true);
  });

  it('argmax picks the first maximum, treats NaN as largest, and flattens without an axis', () => {
    const x = cc.tensor([[1, 5, 5], [7, 2, NaN], [-1, -1, -2]]);
    expect(Array.from(cc.argmax(x, 1).dataSync())).to.deep.equal([1, 2, 0]);
    expect(cc.argmax(x, 1).dtype).to.equal('int32');
    expect(Array.from(cc.argmax(x, 0, true).dataSync())).to.deep.equal([1, 0, 1]);
    expect(cc.argmax(x, 0, true).shape).to.deep.equal([1, 3]);
    expect(cc.argmax(cc.tensor([[0, 9], [3, 4]])).item()).to.equal(1);
    const { t, v } = randomTensor([13, 1001], 9);
    const got = cc.argmax(t, 1).dataSync();
    for (let r = 0; r < 13; r++) {
      const row = Array.from(v.slice(r * 1001, (r + 1) * 1001));
      expect(got[r]).to.equal(row.indexOf(Math.max(...row)));
    }
    expectError(() => cc.argmax(cc.zeros([0])), 'E_SHAPE');
  });

  it('argmax over rows (vectors of 16, then a tail) agrees with the first-maximum loop: ties, NaN, -0 and 0, infinities', () => {
    // The sequential definition: the first index whose value beats every earlier one, NaN beating all.
    const first = (row: Float32Array) => {
      let best = 0;
      for (let r = 1; r < row.length && !Number.isNaN(row[best]); r++) if (row[r] > row[best] || Number.isNaN(row[r])) best = r;
      return best;
    };
    for (const len of [1, 5, 15, 16, 17, 31, 32, 33, 100, 4096]) {
      const rows: Float32Array[] = [];
      const { v } = randomTensor([len], 40 + len, -3, 3);
      rows.push(Float32Array.from(v));
      rows.push(new Float32Array(len).fill(2));  // all tied: 0
      for (const at of [0, len >> 1, len - 1]) {
        const tie = Float32Array.from(v); tie[at] = 7; tie[len - 1] = 7; rows.push(tie);  // ties: the first 7
        const nan = Float32Array.from(v); nan[at] = NaN; nan[len - 1] = NaN; rows.push(nan);  // the first NaN
        const zeros = new Float32Array(len).fill(-1); zeros[at] = -0; zeros[len - 1] = 0; rows.push(zeros);  // the first zero, either sign
        const inf = Float32Array.from(v); inf[at] = Infinity; rows.push(inf);
        const neg = new Float32Array(len).fill(-Infinity); neg[at] = -1e30; rows.push(neg);
      }
      const x = cc.tensor(Float32Array.from(rows.flatMap((r) => Array.from(r))), { shape: [rows.length, len] });
      const got = Array.from(cc.argmax(x, 1).dataSync());
      expect(got, `rows of ${len}`).to.deep.equal(rows.map(first));
      x.dispose();
    }
  });

  it('sums within a float32 rounding of float64 (terms of four floats, then float64 lanes), and counts exactly', () => {
    // Note [sum order]: each term of four floats rounds twice in float32, within 2^-23 of their
    // magnitudes; the rest is float64. Uniform values in (-1, 1): the sum, an error bound of
    // 2^-23 of the magnitudes (the worst case), and in fact within a few ulps of the result.
    for (const [n, seed] of [[1_000_003, 7], [4096, 8], [200, 9]]) {
      const { t, v } = randomTensor([n], seed);
      const got = cc.sum(t).item();
      let ref = 0, magnitude = 0;
      for (const a of v) (ref += a), (magnitude += Math.abs(a));
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(ref))) - 23);
      expect(Math.abs(got - ref), `n=${n}`).to.be.at.most(Math.min(2 ** -23 * magnitude, 4 * ulp));
    }
    // masks of 1 and 0 (a count) and integers: exact while a term stays under 2^24
    const next = rng(10);
    const mask = Float32Array.from({ length: 3_000_017 }, () => (next() < 0.3 ? 1 : 0));
    expect(cc.sum(cc.tensor(mask)).item()).to.equal(mask.reduce((a, b) => a + b, 0));
    const ints = Float32Array.from({ length: 100_000 }, (_, i) => (i % 201) - 100);
    expect(cc.sum(cc.tensor(ints)).item()).to.equal(ints.reduce((a, b) => a + b, 0));
    expect(cc.mean(cc.ones([64, 1000]), 1).dataSync().every((m) => m === 1)).to.equal(true);
    // the mean of a constant is that constant, for every length of the tail after the whole
    // chunks of 64 (x + x and x + 0 are exact in float32; 2x + x would not be)
    for (let n = 1; n <= 200; n++) {
      const m = cc.tidy(() => cc.mean(cc.full([3, n], 1.1), 1).dataSync());
      expect(Array.from(m), `n=${n}`).to.deep.equal([Math.fround(1.1), Math.fround(1.1), Math.fround(1.1)]);
    }
    // over rows too (eight, then four rows a pass add in float32 first): the mean of a constant
    // for every count of rows up to 40, and column counts of a [30001, 7] mask
    for (let n = 1; n <= 40; n++) {
      const m = cc.tidy(() => cc.mean(cc.full([2, n, 5], 1.1), 1).dataSync());
      expect(Array.from(m).every((v) => v === Math.fround(1.1)), `rows n=${n}`).to.equal(true);
    }
    const rows = cc.tensor(mask.subarray(0, 30001 * 7), { shape: [30001, 7] });
    const counts = Array.from({ length: 7 }, (_, j) => mask.subarray(0, 30001 * 7).filter((_, i) => i % 7 === j && mask[i] === 1).length);
    expect(Array.from(cc.sum(rows, 0).dataSync())).to.deep.equal(counts);
  });

  it('gives bit-identical results for 1, 2 and 3 threads', () => {
    const { t } = randomTensor([3, 200001], 5);
    const { t: u } = randomTensor([4000, 130], 6);
    const results: Float32Array[][] = [];
    for (const n of [1, 2, 3]) {
      cc.setNumThreads(n);
      results.push([cc.sum(t).dataSync(), cc.sum(t, 1).dataSync(), cc.mean(u, 0).dataSync(), cc.max(u, [0, 1]).dataSync()]);
    }
    cc.setNumThreads(require('os').cpus().length);
    for (const r of results.slice(1)) r.forEach((a, i) => expectBitIdentical(a, results[0][i], `reduction ${i}`));
  });
});

// The layouts of native/cpu/reduce.cc after merging axes: rows (a kept last axis, reduced
// axes anywhere before it), runs (a reduced last axis), and runs then rows. Sizes are odd and
// not multiples of 16 (the vector width), wider than one chunk of 2048, and long enough over
// few outputs that the rows are split into blocks whose partials are combined in order.
const LAYOUTS: [number[], number[], string][] = [
  [[3, 5, 7, 9], [0, 2], 'rows: reduced, kept, reduced, kept'],
  [[2, 17, 33], [1], 'rows: mean over dim 1 of [N, C, L]'],
  [[37, 1000], [0], 'rows: an outer axis'],
  [[9, 4100], [0], 'rows: two chunks and a tail'],
  [[70001, 3], [0], 'rows: split into blocks (few outputs)'],
  [[4, 20011, 5], [1], 'rows: split into blocks, outer axes kept'],
  [[5, 1, 3, 1, 19], [0, 3], 'rows: size-1 axes, one of them reduced'],
  [[5, 1, 3, 1, 19], [1, 2], 'runs: a size-1 axis merged away'],
  [[6, 5, 4, 3, 2], [0, 2, 4], 'runs of 2, then rows'],
  [[6, 5, 4, 3, 2], [1, 3], 'rows of 2'],
  [[2, 3, 20000], [0, 2], 'runs longer than a block, then rows'],
  [[3, 7, 300], [0, 2], 'runs of 300, then rows'],
];

describe('reductions: every layout (rows, runs, both)', () => {
  for (const f of ['sum', 'mean', 'max', 'min'] as const) {
    it(`${f} matches a float64 reference, keepdim and not`, () => {
      LAYOUTS.forEach(([shape, axes, what], k) => {
        const { t, v } = randomTensor(shape, 70 + k, -2, 3);
        cc.tidy(() => {
          const y = cc[f](t, axes), yk = cc[f](t, axes, true);
          expect(y.shape, what).to.deep.equal(shape.filter((_, i) => !axes.includes(i)));
          expect(yk.shape, what).to.deep.equal(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
          expectReduced(y.dataSync(), v, shape, axes, f, `${f} ${what}`);
          expectReduced(yk.dataSync(), v, shape, axes, f, `${f} ${what} keepdim`);
        });
        t.dispose();
      });
    });
  }

  it('NaN and infinities reach exactly the outputs that hold them, in every layout', () => {
    LAYOUTS.forEach(([shape, axes, what], k) => {
      const { v } = randomTensor(shape, 90 + k);
      const n = v.length;
      for (const at of [0, 17, n >> 1, n - 1]) v[at] = NaN;
      v[(n >> 2) + 1] = Infinity;
      v[(3 * n) >> 2] = -Infinity;
      const t = cc.tensor(Float32Array.from(v), { shape });
      for (const f of ['sum', 'mean', 'max', 'min'] as const) {
        cc.tidy(() => expectReduced(cc[f](t, axes).dataSync(), v, shape, axes, f, `${f} ${what}`));
      }
      t.dispose();
    });
  });

  it('empty axes: a sum of nothing is 0, a mean NaN, max an E_SHAPE; an empty kept axis gives an empty result', () => {
    const x = cc.zeros([3, 0, 4, 5]);
    expect(Array.from(cc.sum(x, [1, 3]).dataSync())).to.deep.equal(new Array(12).fill(0));
    expect(cc.sum(x, [1, 3], true).shape).to.deep.equal([3, 1, 4, 1]);
    expect(Array.from(cc.mean(x, [0, 1]).dataSync()).every(Number.isNaN)).to.equal(true);
    expect(cc.mean(x, [0, 1]).shape).to.deep.equal([4, 5]);
    expect(cc.sum(x, [0, 2]).shape).to.deep.equal([0, 5]);
    expect(cc.max(x, [0, 2]).shape).to.deep.equal([0, 5]);
    expect(cc.sum(x, [0, 2]).dataSync().length).to.equal(0);
    expectError(() => cc.max(x, [1, 3]), 'E_SHAPE', /no identity/);
    expectError(() => cc.min(x, [0, 1]), 'E_SHAPE', /no identity/);
  });

  it('gives bit-identical results for 1, 2 and 3 threads in every layout', () => {
    const shapes: [number[], number[]][] = [...LAYOUTS.map(([s, a]) => [s, a] as [number[], number[]]), [[8, 16, 20, 20], [0, 2]], [[64, 30, 70], [1]], [[120001, 2], [0]]];
    const inputs = shapes.map(([shape], k) => randomTensor(shape, 110 + k).t);
    const results: (Float32Array | Int32Array)[][] = [];
    for (const n of [1, 2, 3]) {
      cc.setNumThreads(n);
      results.push(shapes.flatMap(([, axes], k) => cc.tidy(() => [
        cc.sum(inputs[k], axes).dataSync(), cc.mean(inputs[k], axes).dataSync(), cc.max(inputs[k], axes).dataSync(),
        cc.argmax(inputs[k], axes[0]).dataSync(), cc.argmin(inputs[k], axes[0]).dataSync(),
      ])));
    }
    cc.setNumThreads(require('os').cpus().length);
    for (const r of results.slice(1)) r.forEach((a, i) => expectBitIdentical(a, results[0][i], `${JSON.stringify(shapes[Math.floor(i / 5)])} result ${i % 5}`));
    for (const x of inputs) x.dispose();
  });

  it('int32 sum / max / min in every layout are exact', () => {
    LAYOUTS.forEach(([shape, axes, what], k) => {
      const next = rng(130 + k);
      const v = Int32Array.from({ length: sizeOf(shape) }, () => Math.floor(next() * 2001) - 1000);
      const t = cc.tensor(v, { shape, dtype: 'int32' });
      for (const f of ['sum', 'max', 'min'] as const) {
        const want = reduceRef(Float64Array.from(v), shape, axes, f);
        cc.tidy(() => expect(Array.from(cc[f](t, axes).dataSync()), `${f} ${what}`).to.deep.equal(Array.from(want)));
      }
      t.dispose();
    });
  });
});

describe('argmax / argmin along an axis with a kept last axis', () => {
  // The sequential definition along the axis: the first index whose value beats every earlier
  // one, a NaN beating all (the first NaN wins, for argmin too).
  function argRef(v: ArrayLike<number>, shape: number[], axis: number, largest: boolean): number[] {
    const len = shape[axis], inner = sizeOf(shape.slice(axis + 1)), outer = sizeOf(shape.slice(0, axis));
    const out: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (r: number) => v[(o * len + r) * inner + i];
        let best = 0;
        for (let r = 1; r < len && !Number.isNaN(at(best)); r++) {
          if ((largest ? at(r) > at(best) : at(r) < at(best)) || Number.isNaN(at(r))) best = r;
        }
        out.push(best);
      }
    }
    return out;
  }

  const SHAPES: [number[], number][] = [[[5, 7], 0], [[3, 17, 33], 1], [[9, 4100], 0], [[70001, 3], 0], [[4, 20011, 5], 1], [[2, 1, 19], 1], [[6, 5, 4, 3, 2], 2]];

  for (const [dtype, largest] of [['float32', true], ['float32', false], ['int32', true], ['int32', false]] as const) {
    it(`${largest ? 'argmax' : 'argmin'} of ${dtype}: ties, NaN, keepdim, split blocks`, () => {
      SHAPES.forEach(([shape, axis], k) => {
        const next = rng(150 + k);
        const n = sizeOf(shape);
        // Few distinct values, so that ties are everywhere (across the blocks of a split too).
        const v = Float64Array.from({ length: n }, () => Math.floor(next() * 7) - 3);
        if (dtype === 'float32') {
          for (let j = 0; j < 6; j++) v[Math.floor(next() * n)] = NaN;
          v[Math.floor(next() * n)] = Infinity;
          v[Math.floor(next() * n)] = -Infinity;
          v[Math.floor(next() * n)] = -0;
        } else {
          v[Math.floor(next() * n)] = 2147483647;
          v[Math.floor(next() * n)] = -2147483648;
        }
        const t = dtype === 'float32' ? cc.tensor(Float32Array.from(v), { shape }) : cc.tensor(Int32Array.from(v), { shape, dtype: 'int32' });
        const f = largest ? cc.argmax : cc.argmin;
        cc.tidy(() => {
          const y = f(t, axis), yk = f(t, axis, true);
          const want = argRef(v, shape, axis, largest);
          expect(Array.from(y.dataSync()), `${JSON.stringify(shape)} over ${axis}`).to.deep.equal(want);
          expect(yk.shape).to.deep.equal(shape.map((d, i) => (i === axis ? 1 : d)));
          expect(Array.from(yk.dataSync())).to.deep.equal(want);
        });
        t.dispose();
      });
    });
  }
});
