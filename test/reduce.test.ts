import { expect } from 'chai';
import * as cc from '../lib';
import { expectBitIdentical, expectClose, expectError, randomTensor, sizeOf, unravel } from './helpers';

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
        const expected = reduceRef(v, shape, used, f);
        expect(y.shape).to.deep.equal(shape.filter((_, i) => !used.includes(i)));
        expect(yk.shape).to.deep.equal(shape.map((d, i) => (used.includes(i) ? 1 : d)));
        // Accumulated in float64, so only the final rounding to float32 differs.
        expectClose(y.dataSync(), expected, 1e-6, 1e-6, `${f} ${JSON.stringify([shape, axes])}`);
        expectClose(yk.dataSync(), expected, 1e-6, 1e-6);
      });
    });
  }

  it('accepts negative axes and rejects bad or repeated ones', () => {
    const { t } = randomTensor([2, 3, 4], 1);
    expect(cc.sum(t, -1).shape).to.deep.equal([2, 3]);
    expectError(() => cc.sum(t, 3), 'E_ARG', /sum: expected `axis` to be an axis in \[-3, 2\]/);
    expectError(() => cc.mean(t, [0, -3]), 'E_ARG', /repeated axis/);
    expectError(() => cc.max(t, 1.5), 'E_ARG');
    expectError(() => cc.max(cc.zeros([0, 3]), 0), 'E_SHAPE', /no identity/);
    // A 2**31-long list of axes (sparse, or a Proxy) is refused at once: it used to hang.
    expectError(() => cc.sum(t, new Array(2 ** 31)), 'E_ARG', /at most 3 axes/);
    expectError(() => cc.sum(t, new Proxy([1, 2], { get: (t, k) => (k === 'length' ? 2 ** 31 : (t as unknown as Record<PropertyKey, unknown>)[k as string]) }) as unknown as number[]), 'E_ARG', /at most 3 axes/);
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
