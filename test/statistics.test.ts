/**
 * Order statistics (lib/statistics.ts), counting (lib/counting.ts) and the matrix helpers
 * (lib/matrices.ts): values, positions and gradients against PyTorch (test/fixtures/make/
 * statistics.py, float64), gradients against finite differences, the documented tie and NaN
 * rules, typed errors, and the GPU against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { orderPositionsBySort } from '../lib/statistics';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, rng, tapeCheck } from './helpers';

// NaN and the infinities come as strings (JSON has no such numbers): Number() reads them.
type Values = { shape: number[]; values: (number | string)[]; dtype?: 'int32' };
interface Case {
  op: string; x: Values; y: Values; dy?: Values; dx?: Values; indices?: Values; inverse?: Values; counts?: Values; weights?: Values;
  dim?: number | null; keepdim?: boolean; k?: number; q?: number | number[]; interpolation?: cc.QuantileInterpolation;
  minlength?: number; bins?: number; min?: number; max?: number; offset?: number; dim1?: number; dim2?: number;
}

const numbers = (v: Values) => v.values.map(Number);
const make = (v: Values, requiresGrad = false) => cc.tensor(numbers(v), { shape: v.shape, dtype: v.dtype ?? 'float32', requiresGrad });
const same = (a: cc.Tensor, b: Values, what: string) => {
  expect(a.shape, `${what} shape`).to.deep.equal(b.shape);
  expectClose(a.dataSync(), numbers(b), 2e-6, 1e-6, what);
};

/** The op of a case on x: its value, and the positions or the inverse and counts where it has them. */
function apply(c: Case, x: cc.Tensor): { y: cc.Tensor; indices?: cc.Tensor; inverse?: cc.Tensor; counts?: cc.Tensor } {
  const dim = c.dim ?? undefined, keepdim = c.keepdim ?? false;
  switch (c.op) {
    case 'median': return dim === undefined ? { y: cc.median(x) } : pair(cc.median(x, dim, keepdim));
    case 'nanmedian': return dim === undefined ? { y: cc.nanmedian(x) } : pair(cc.nanmedian(x, dim, keepdim));
    case 'kthvalue': return pair(cc.kthvalue(x, c.k!, dim, keepdim));
    case 'mode': return pair(cc.mode(x, dim, keepdim));
    case 'quantile': return { y: cc.quantile(x, c.q!, { dim, keepdim, interpolation: c.interpolation }) };
    case 'nanquantile': return { y: cc.nanquantile(x, c.q!, { dim, keepdim, interpolation: c.interpolation }) };
    case 'unique': {
      const r = cc.unique(x, { returnInverse: true, returnCounts: true, dim });
      return { y: r.values, inverse: r.inverse, counts: r.counts };
    }
    case 'uniqueConsecutive': {
      const r = cc.uniqueConsecutive(x, { returnInverse: true, returnCounts: true, dim });
      return { y: r.values, inverse: r.inverse, counts: r.counts };
    }
    case 'bincount': return { y: cc.bincount(cc.cast(x, 'int32'), { minlength: c.minlength, weights: c.weights && make(c.weights) }) };
    case 'histc': return { y: cc.histc(x, { bins: c.bins, min: c.min, max: c.max }) };
    case 'diag': return { y: cc.diag(x, c.offset) };
    case 'diagonal': return { y: cc.diagonal(x, c.offset, c.dim1, c.dim2) };
    case 'trace': return { y: cc.trace(x) };
    case 'outer': return { y: cc.outer(x, cc.arange(1, 4).float()) };
    case 'bmm': return { y: cc.bmm(x, cc.arange(0, 24).float().reshape([2, 4, 3]).div(10)) };
    default: throw new Error(c.op);
  }
}
const pair = (r: cc.SortResult) => ({ y: r.values, indices: r.indices });

describe('order statistics, counting and matrix helpers', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('statistics');

  for (const c of cases) {
    const what = `${c.op} ${JSON.stringify({ dim: c.dim, keepdim: c.keepdim, k: c.k, q: c.q, interpolation: c.interpolation, bins: c.bins, offset: c.offset })}`;
    it(`${what} matches PyTorch (values${c.indices || c.inverse ? ', positions' : ''}${c.dx ? ', gradients' : ''})`, () => {
      const x = make(c.x, c.dx !== undefined);
      const r = apply(c, x);
      same(r.y, c.y, 'y');
      if (c.indices) expect(Array.from(r.indices!.dataSync()), 'indices').to.deep.equal(numbers(c.indices));
      if (c.inverse) expect(r.inverse!.tolist(), 'inverse').to.deep.equal(make(c.inverse).tolist());
      if (c.counts) expect(Array.from(r.counts!.dataSync()), 'counts').to.deep.equal(numbers(c.counts));
      if (c.dx) {
        r.y.backward(make(c.dy!));
        expectClose(x.grad!.dataSync(), numbers(c.dx), 1e-5, 1e-6, 'dx');
      }
    });
  }

  it('gradients match finite differences', () => {
    // Distinct values 0.1 apart, so that a small step changes no order.
    const values = Float64Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) / 10 - 1);
    tapeCheck('median dim 1', [{ shape: [4, 6], values }], ([x]) => cc.median(x, 1).values);
    tapeCheck('kthvalue dim 0', [{ shape: [4, 6], values }], ([x]) => cc.kthvalue(x, 2, 0, true).values);
    tapeCheck('quantile linear', [{ shape: [4, 6], values }], ([x]) => cc.quantile(x, [0.15, 0.5, 0.8], { dim: 1 }));
    tapeCheck('quantile midpoint, all', [{ shape: [4, 6], values }], ([x]) => cc.quantile(x, 0.5, { interpolation: 'midpoint' }));
    tapeCheck('nanquantile', [{ shape: [4, 6], values }], ([x]) => cc.nanquantile(x, 0.35, { dim: 0 }));
    tapeCheck('bincount weights', [{ shape: [6] }], ([w]) => cc.bincount(cc.tensor([3, 0, 3, 1, 5, 3], { dtype: 'int32' }), { weights: w }));
    tapeCheck('diag of a vector', [{ shape: [3] }], ([x]) => cc.diag(x, 1));
    tapeCheck('diagonal', [{ shape: [3, 2, 4] }], ([x]) => cc.diagonal(x, -1, 2, 0));
    tapeCheck('trace, outer, bmm', [{ shape: [3, 3] }, { shape: [4] }, { shape: [2, 3, 3] }],
      ([m, v, b]) => cc.trace(m).add(cc.outer(v, v).sum()).add(cc.bmm(b, b).sum()));
    tapeCheck('meshgrid', [{ shape: [3] }, { shape: [2] }], ([a, b]) => {
      const [ga, gb] = cc.meshgrid([a, b], { indexing: 'xy' });
      return ga.mul(gb);
    });
  });

  it('ties go by position, NaN is the largest value, and a line with a NaN has a NaN median', () => {
    const x = cc.tensor([[2, 2, 2, 2], [3, 1, 2, 1], [NaN, 1, NaN, 0]]);
    // Equal values in position order, as the stable sort: the 2nd smallest of [2, 2, 2, 2] is at 1.
    expect(cc.kthvalue(x, 2, 1).indices.tolist()).to.deep.equal([1, 3, 1]);
    expect(cc.kthvalue(x, 4, 1).values.tolist()).to.deep.equal([2, 3, NaN]);
    const m = cc.median(x, 1);
    expect(m.values.tolist()).to.deep.equal([2, 1, NaN]);
    expect(m.indices.tolist()).to.deep.equal([1, 3, 0]);   // the first NaN's position
    const n = cc.nanmedian(cc.tensor([[NaN, 1, NaN, 0], [NaN, NaN, NaN, NaN]]), 1);
    expect(n.values.tolist()).to.deep.equal([0, NaN]);
    expect(n.indices.tolist()).to.deep.equal([3, 0]);
    expect(cc.median(x).item()).to.be.NaN;
    expect(cc.nanmedian(x).item()).to.equal(2);
    // int32 works too, without NaN handling.
    const i = cc.median(cc.tensor([[5, 1, 3, 3]], { dtype: 'int32' }), 1);
    expect([i.values.dtype, i.values.tolist(), i.indices.tolist()]).to.deep.equal(['int32', [3], [2]]);
  });

  it("the CPU's selection gives the sort's positions (the GPU's path): ties, NaNs, every axis, 1 to 3 threads", () => {
    // Few distinct values (many ties), some NaN lines, a line of only NaNs, int32 too.
    const v = Float32Array.from({ length: 6 * 7 * 9 }, (_, i) => ((i * 37) % 11 === 3 ? NaN : (i * 13) % 5));
    v.fill(NaN, 9, 18);
    const xs = [cc.tensor(v, { shape: [6, 7, 9] }), cc.tensor(Int32Array.from(v, (f) => (Number.isNaN(f) ? 2147483647 : f)), { dtype: 'int32', shape: [6, 7, 9] })];
    for (const threads of [1, 2, 3]) {
      cc.setNumThreads(threads);
      for (const x of xs) {
        for (const a of [0, 1, 2]) {
          for (const [which, k] of [['median', 1], ['nanmedian', 1], ['kth', 1], ['kth', 3], ['kth', x.shape[a]]] as const) {
            const ours = (cc.tidy(() => ({ 'median': cc.median(x, a, true), 'nanmedian': cc.nanmedian(x, a, true), 'kth': cc.kthvalue(x, k, a, true) })[which].indices));
            const bySort = cc.tidy(() => orderPositionsBySort(x, a, which, k));
            expect(ours.tolist(), `${x.dtype} ${which} ${k} axis ${a}, ${threads} threads`).to.deep.equal(bySort.tolist());
          }
        }
      }
    }
    cc.setNumThreads(require('os').cpus().length);
  });

  it("median() without dim shares its gradient among the entries equal to it, as PyTorch's", () => {
    const x = cc.tensor([1, 5, 2, 2, 9, 2], { requiresGrad: true });
    cc.median(x).mul(6).backward();
    expect(x.grad!.tolist()).to.deep.equal([0, 0, 2, 2, 0, 2]);
    const s = cc.tensor(4, { requiresGrad: true });
    const y = cc.median(s, 0);
    expect([y.values.shape, y.values.item(), y.indices.item()]).to.deep.equal([[], 4, 0]);
  });

  it('mode: the most frequent value, the smallest on a tie, at its last position', () => {
    const r = cc.mode(cc.tensor([[3, 1, 2, 1, 2], [NaN, NaN, 4, 0, 0]]), 1);
    expect(r.values.tolist()).to.deep.equal([1, 0]);   // each NaN counts alone
    expect(r.indices.tolist()).to.deep.equal([3, 4]);
    const k = cc.mode(cc.tensor([[7, 7, 1]], { dtype: 'int32' }), 1, true);
    expect([k.values.shape, k.values.tolist(), k.indices.tolist()]).to.deep.equal([[1, 1], [[7]], [[1]]]);
  });

  it('quantile: scalar and listed q, a tensor q, NaN lines, and a whole rank at an infinity', () => {
    const x = cc.tensor([[1, 2, 3, 4], [1, NaN, 2, 3]]);
    expect(cc.quantile(x, 0.5, { dim: 1 }).tolist()).to.deep.equal([2.5, NaN]);
    expect(cc.quantile(x, cc.tensor([0.25, 0.5]), { dim: 1 }).shape).to.deep.equal([2, 2]);
    expect(cc.quantile(x, cc.tensor(0.5), { dim: 1 }).shape).to.deep.equal([2]);
    expect(cc.nanquantile(x, 0.5, { dim: 1, keepdim: true }).tolist()).to.deep.equal([[2.5], [2]]);
    expect(cc.quantile(cc.tensor([1, 2, 3, 4]), 0.4, { interpolation: 'nearest' }).item()).to.equal(2);   // rank 1.2
    expect(cc.quantile(cc.tensor([1, 2, 3, 4, 5]), [0.375, 0.625], { interpolation: 'nearest' }).tolist()).to.deep.equal([3, 3]);   // ranks 1.5, 2.5: half to even
    // PyTorch's lerp gives NaN here (inf - inf); the value at a whole rank is taken as it is.
    expect(cc.quantile(cc.tensor([1, Infinity]), 1).item()).to.equal(Infinity);
    expect(cc.quantile(cc.tensor(3), 0.5).item()).to.equal(3);
    expect(cc.quantile(cc.tensor([[1, 2], [3, 4]]), 0.5, { keepdim: true }).shape).to.deep.equal([1, 1]);
  });

  it('unique: -0 and +0 are one value, each NaN its own, after the numbers; empty input', () => {
    const r = cc.unique(cc.tensor([3, NaN, -0, 1, NaN, 0, 3]), { returnCounts: true, returnInverse: true });
    expect((r.values.tolist() as number[]).map(Math.abs)).to.deep.equal([0, 1, 3, NaN, NaN]);   // -0 or +0
    expect(r.counts.tolist()).to.deep.equal([2, 1, 2, 1, 1]);
    expect(r.inverse.tolist()).to.deep.equal([2, 3, 0, 1, 4, 0, 2]);
    expect(cc.unique(cc.tensor([2, 2, 1], { dtype: 'int32' })).tolist()).to.deep.equal([1, 2]);
    const e = cc.unique(cc.zeros([0, 3]), { returnInverse: true });
    expect([e.values.shape, e.inverse.shape, e.counts.shape]).to.deep.equal([[0], [0, 3], [0]]);
  });

  it('unique of a large x (the native radix sort): values, counts and inverse against a reference, int32 and float32', () => {
    const next = rng(5);
    for (const dtype of ['int32', 'float32'] as const) {
      const n = 50000;
      const v = Array.from({ length: n }, (_, i) => {
        if (dtype === 'int32') return i % 3 === 0 ? Math.floor(next() * 2 ** 32) - 2 ** 31 : Math.floor(next() * 1000) - 500;
        return i % 97 === 0 ? NaN : i % 89 === 0 ? -0 : Math.fround((Math.floor(next() * 2000) - 1000) / 8);
      });
      const x = cc.tensor(dtype === 'int32' ? Int32Array.from(v) : Float32Array.from(v), { dtype, shape: [250, 200] });
      const r = cc.unique(x, { returnInverse: true, returnCounts: true });
      const numbers = [...new Set(v.filter((a) => !Number.isNaN(a)).map((a) => (a === 0 ? 0 : a)))].sort((a, b) => a - b);
      const nans = v.filter((a) => Number.isNaN(a)).length;
      const values = r.values.dataSync();
      expect(values.length).to.equal(numbers.length + nans);
      expect(Array.from(values.subarray(0, numbers.length)).map((a) => (a === 0 ? 0 : a))).to.deep.equal(numbers);
      expect(Array.from(values.subarray(numbers.length)).every(Number.isNaN)).to.equal(true);
      const counts = r.counts.dataSync(), inverse = r.inverse.dataSync();
      expect(r.inverse.shape).to.deep.equal([250, 200]);
      const seen = new Int32Array(values.length);
      for (let i = 0; i < n; i++) {
        const g = inverse[i];
        seen[g]++;
        if (Number.isNaN(v[i])) expect(Number.isNaN(values[g])).to.equal(true);
        else if (values[g] !== v[i]) expect.fail(`${dtype} entry ${i}: group ${g} holds ${values[g]}, not ${v[i]}`);
      }
      expect(Array.from(seen)).to.deep.equal(Array.from(counts));
      expect((cc.unique(x) as cc.Tensor).dataSync()).to.deep.equal(values);
    }
    // the first of -0 and +0 in x is the value kept
    expect(Object.is((cc.unique(cc.tensor([-0, 0, 0])) as cc.Tensor).dataSync()[0], -0)).to.equal(true);
  });

  it('unique along a dim: rows equal up to -0 meet, a NaN entry makes a row its own, after the numbers', () => {
    const x = cc.tensor([[1, 2], [0, 1], [1, 2], [NaN, 1], [NaN, 1], [-0, 1]]);
    const r = cc.unique(x, { dim: 0, returnInverse: true, returnCounts: true });
    // PyTorch 1.13 gives [[0, 1], [nan, 1], [nan, 1], [-0, 1], [1, 2]] here: its order with NaN
    // depends on where they sit, and the two zero rows never meet.
    expect((r.values.tolist() as number[][]).map((row) => row.map(Math.abs))).to.deep.equal([[0, 1], [1, 2], [NaN, 1], [NaN, 1]]);
    expect(r.counts.tolist()).to.deep.equal([2, 2, 1, 1]);
    expect(r.inverse.tolist()).to.deep.equal([1, 0, 1, 2, 3, 0]);
    // The first of equal slices is the one kept; the values come from x on its device.
    expect((cc.unique(cc.tensor([[3, 1], [3, 1]]), { dim: 1 }) as cc.Tensor).tolist()).to.deep.equal([[1, 3], [1, 3]]);
    const e = cc.unique(cc.zeros([0, 3]), { dim: 0, returnInverse: true, returnCounts: true });
    expect([e.values.shape, e.inverse.shape, e.counts.shape]).to.deep.equal([[0, 3], [0], [0]]);
    expect(cc.uniqueConsecutive(cc.tensor([1, 1, NaN, NaN, -0, 0, 1])).tolist()).to.deep.equal([1, NaN, NaN, -0, 1]);
    const c = cc.uniqueConsecutive(cc.tensor([[5, 5, 6]], { dtype: 'int32' }), { returnInverse: true });
    expect([c.values.tolist(), c.inverse.tolist()]).to.deep.equal([[5, 6], [[0, 0, 1]]]);
    expect((cc.tensor([2, 2, 3]).uniqueConsecutive() as cc.Tensor).tolist()).to.deep.equal([2, 3]);
    // PyTorch's refusals: a 0-D x with dim; an empty axis other than dim.
    expectError(() => cc.unique(cc.tensor(3), { dim: 0 }), 'E_SHAPE');
    expectError(() => cc.unique(cc.zeros([3, 0]), { dim: 0 }), 'E_SHAPE');
    expectError(() => cc.uniqueConsecutive(cc.zeros([3, 0]), { dim: 0 }), 'E_SHAPE');
    expectError(() => cc.unique(x, { dim: 2 }), 'E_ARG');
    expectError(() => cc.uniqueConsecutive(x, { sorted: true } as never), 'E_ARG');
    expectError(() => cc.uniqueConsecutive(x, { dim: 0.5 }), 'E_ARG');
  });

  it('bincount and histc: lengths, weights, NaN and the range', () => {
    expect(cc.bincount(cc.zeros([0], 'int32')).shape).to.deep.equal([0]);
    expect(cc.bincount(cc.zeros([0], 'int32'), { minlength: 3 }).tolist()).to.deep.equal([0, 0, 0]);
    expect(cc.bincount(cc.tensor([1, 1], { dtype: 'int32' })).dtype).to.equal('int32');
    // The native count: many blocks of private histograms (short), one pass (long), minlength.
    for (const [n, range, minlength] of [[300001, 1000, 0], [5000, 1 << 20, 0], [70000, 7, 12]]) {
      const v = Int32Array.from({ length: n }, (_, i) => Math.floor(((i * 2654435761) % 4294967296) / 4294967296 * range));
      const want = new Array(Math.max(minlength, v.reduce((m, x) => Math.max(m, x), -1) + 1)).fill(0);
      for (const value of v) want[value]++;
      expect(cc.bincount(cc.tensor(v, { dtype: 'int32' }), { minlength }).tolist(), `${n} in [0, ${range})`).to.deep.equal(want);
    }
    expectError(() => cc.bincount(cc.tensor(Int32Array.from({ length: 100000 }, (_, i) => (i === 77777 ? -5 : i)), { dtype: 'int32' })), 'E_ARG', /-5 at 77777/);
    // NaN and values out of range are left out; max itself is in the last bin.
    expect(cc.histc(cc.tensor([NaN, -1, 0, 3, 3.5, 1.5]), { bins: 3, min: 0, max: 3 }).tolist()).to.deep.equal([1, 1, 1]);
    // min = max: the data's range, widened by 1 each way when the data are one value.
    expect(cc.histc(cc.tensor([2, 2]), { bins: 2 }).tolist()).to.deep.equal([0, 2]);
    expect(cc.histc(cc.tensor([1, 2, 1, 4, 2.5]), { bins: 4, min: 5, max: 5 }).tolist()).to.deep.equal([2, 1, 1, 1]);
    // The native count against PyTorch's float32 arithmetic: many blocks of private histograms
    // (few bins), one pass (many), the ends, NaN and values outside.
    const f = Math.fround;
    for (const [n, bins, lo, hi] of [[200003, 100, -3, 3], [150000, 30000, -2.5, 1.75], [1000, 7, 0.1, 0.7]]) {
      const v = Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? hi : i % 83 === 0 ? lo : ((i * 2654435761) % 4294967296) / 4294967296 * 8 - 4));
      const [flo, fhi] = [f(lo), f(hi)];
      const want = new Array(bins).fill(0);
      for (const x of v) {
        if (!(x >= flo && x <= fhi)) continue;
        const b = Math.floor(f(f(f(x - flo) * f(bins)) / f(fhi - flo)));
        want[Math.min(b, bins - 1)]++;
      }
      expect(Array.from(cc.histc(cc.tensor(v), { bins, min: lo, max: hi }).dataSync()), `${n} into ${bins}`).to.deep.equal(want);
    }
    expect(Array.from(cc.histc(cc.zeros([0]), { bins: 3, min: 0, max: 1 }).dataSync())).to.deep.equal([0, 0, 0]);   // empty x
    expectError(() => cc.histc(cc.tensor([1, 2]), { min: 1, max: 1 + 1e-12 }), 'E_ARG', /empty in float32/);
    expectError(() => native.histc(cc.tensor([1]).handle('t'), 4, 2, 1), 'E_ARG', /lo < hi/);
    expectError(() => native.histc(cc.tensor([1]).handle('t'), 0, 0, 1), 'E_ARG', /bins/);
    expectError(() => native.histc(cc.tensor([1], { dtype: 'int32' }).handle('t'), 4, 0, 1), 'E_DTYPE');
  });

  it('diag, diagonal, trace, outer, bmm, meshgrid: shapes and edges', () => {
    expect(cc.diag(cc.tensor([[1, 2], [3, 4]]), 5).shape).to.deep.equal([0]);
    expect(cc.diag(cc.tensor([[1, 2], [3, 4]]), -9).shape).to.deep.equal([0]);
    expect(cc.diag(cc.tensor([1, 2], { dtype: 'int32' }), -1).tolist()).to.deep.equal([[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
    expect(cc.diag(cc.zeros([0])).shape).to.deep.equal([0, 0]);
    expect(cc.diagonal(cc.zeros([2, 3, 4]), 0, -1, -2).shape).to.deep.equal([2, 3]);
    expect(cc.trace(cc.tensor([[1, 2, 3], [4, 5, 6]])).item()).to.equal(6);
    const [a, b, c] = cc.meshgrid([cc.tensor([1, 2]), cc.tensor(7), cc.tensor([3, 4, 5])]);
    expect([a.shape, b.shape, c.shape]).to.deep.equal([[2, 1, 3], [2, 1, 3], [2, 1, 3]]);
    const [x, y] = cc.meshgrid([cc.tensor([1, 2, 3]), cc.tensor([4, 5])], { indexing: 'xy' });
    expect([x.tolist(), y.tolist()]).to.deep.equal([[[1, 2, 3], [1, 2, 3]], [[4, 4, 4], [5, 5, 5]]]);
    expect(cc.softmax(cc.tensor([0, 0]), 0).tolist()).to.deep.equal([0.5, 0.5]);
    expect(cc.logSoftmax(cc.tensor([0, 0]), 0).tolist()).to.deep.equal([-Math.LN2, -Math.LN2].map(Math.fround));
  });

  it('the Tensor methods', () => {
    const t = cc.tensor([[4, 1, 3], [2, 2, 9]]);
    expect(t.median().item()).to.equal(2);
    expect(t.median(1).values.tolist()).to.deep.equal([3, 2]);
    expect(t.nanmedian(0, true).values.shape).to.deep.equal([1, 3]);
    expect(t.kthvalue(1).values.tolist()).to.deep.equal([1, 2]);
    expect(t.mode().values.tolist()).to.deep.equal([1, 2]);
    expect(t.quantile(0.5, { dim: 1 }).tolist()).to.deep.equal([3, 2]);
    expect(t.nanquantile(1).item()).to.equal(9);
    expect((t.unique() as cc.Tensor).tolist()).to.deep.equal([1, 2, 3, 4, 9]);
    expect(t.histc({ bins: 2, min: 0, max: 10 }).tolist()).to.deep.equal([5, 1]);
    expect(cc.tensor([1, 1], { dtype: 'int32' }).bincount().tolist()).to.deep.equal([0, 2]);
    expect([t.diag().tolist(), t.diagonal(1).tolist(), t.trace().item()]).to.deep.equal([[4, 2], [1, 9], 6]);
    expect(cc.tensor([1, 2]).outer(cc.tensor([3])).tolist()).to.deep.equal([[3], [6]]);
    expect(cc.ones([1, 2, 2]).bmm(cc.ones([1, 2, 1])).tolist()).to.deep.equal([[[2], [2]]]);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    expectError(() => cc.kthvalue(x, 3), 'E_ARG', /k/);
    expectError(() => cc.kthvalue(x, 0), 'E_ARG', /k/);
    expectError(() => cc.median(x, 2), 'E_ARG');
    expect(Number.isNaN(cc.median(cc.zeros([0])).dataSync()[0]), 'the median of nothing is NaN, as PyTorch').to.equal(true);
    expectError(() => cc.median(cc.zeros([2, 0]), 1), 'E_SHAPE');
    expectError(() => cc.median(x, 0, 'yes' as never), 'E_ARG');
    expectError(() => cc.mode('x' as never), 'E_ARG');
    expectError(() => cc.quantile(x, 1.5), 'E_ARG', /\[0, 1\]/);
    expectError(() => cc.quantile(x, NaN), 'E_ARG');
    expectError(() => cc.quantile(x, [0.5, 'a'] as never), 'E_ARG');
    expectError(() => cc.quantile(x, cc.zeros([2, 2])), 'E_SHAPE');
    expectError(() => cc.quantile(x, 0.5, { interpolation: 'cubic' as never }), 'E_ARG', /interpolation/);
    expectError(() => cc.quantile(x, 0.5, { dims: 1 } as never), 'E_ARG');
    expectError(() => cc.quantile(cc.tensor([1], { dtype: 'int32' }), 0.5), 'E_DTYPE');
    expectError(() => cc.quantile(cc.zeros([0]), 0.5), 'E_SHAPE');
    expectError(() => cc.unique(x, { returnInverse: 1 } as never), 'E_ARG');
    expectError(() => cc.bincount(x as never), 'E_DTYPE');
    expectError(() => cc.bincount(cc.tensor([[1]], { dtype: 'int32' })), 'E_SHAPE');
    expectError(() => cc.bincount(cc.tensor([1, -2], { dtype: 'int32' })), 'E_ARG', /non-negative/);
    expectError(() => cc.bincount(cc.tensor([1, 2], { dtype: 'int32' }), { weights: cc.ones([3]) }), 'E_SHAPE');
    expectError(() => cc.bincount(cc.tensor([1, 2], { dtype: 'int32' }), { minlength: -1 }), 'E_ARG');
    expectError(() => cc.histc(x, { bins: 0 }), 'E_ARG');
    expectError(() => cc.histc(x, { min: 3, max: 1 }), 'E_ARG', /larger/);
    expectError(() => cc.histc(cc.tensor([1, NaN])), 'E_ARG', /not finite/);
    expectError(() => cc.histc(x, { min: -Infinity, max: 1 }), 'E_ARG', /not finite/);
    // PyTorch 1.13: "value cannot be converted to type float without overflow"; 3e38 still fits.
    expectError(() => cc.histc(x, { min: -1e300, max: 3 }), 'E_ARG', /overflows float32/);
    expectError(() => cc.histc(x, { min: 0, max: 1e39 }), 'E_ARG', /overflows float32/);
    expect(Array.from(cc.histc(cc.tensor([0.5, 1, 2]), { bins: 4, min: -1e38, max: 3e38 }).dataSync())).to.deep.equal([3, 0, 0, 0]);
    expectError(() => cc.bmm(x, x), 'E_SHAPE');
    expectError(() => cc.bmm(cc.ones([2, 2, 3]), cc.ones([3, 3, 2])), 'E_SHAPE');
    expectError(() => cc.outer(x, x), 'E_SHAPE');
    expectError(() => cc.diag(cc.zeros([2, 2, 2])), 'E_SHAPE');
    expectError(() => cc.diag(x, 0.5), 'E_ARG');
    expectError(() => cc.diagonal(x, 0, 1, 1), 'E_ARG');
    expectError(() => cc.diagonal(cc.zeros([3])), 'E_SHAPE');
    expectError(() => cc.trace(cc.zeros([3])), 'E_SHAPE');
    expectError(() => cc.meshgrid([]), 'E_ARG');
    expectError(() => cc.meshgrid([x]), 'E_SHAPE');
    expectError(() => cc.meshgrid([cc.ones([2]), cc.ones([2], 'int32')]), 'E_DTYPE');
    expectError(() => cc.meshgrid([cc.ones([2])], { indexing: 'yx' as never }), 'E_ARG');
    expectError(() => cc.meshgrid([cc.ones([2])], { indexing: {} as never }), 'E_ARG');   // the fuzzer's: was a TypeError in String()
    // Nothing was lost: x is intact after every refusal.
    expect(x.tolist()).to.deep.equal([[1, 2], [3, 4]]);
  });
});

describeCuda('order statistics, counting and matrix helpers on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([5, 9], 41);
    compareDevices((t) => cc.median(t, 1).values, [x], { grads: true, what: 'median' });
    compareDevices((t) => [cc.median(t, 0).indices.float(), cc.kthvalue(t, 3, 1).indices.float()], [x], { what: 'positions' });
    compareDevices((t) => cc.median(t), [x], { grads: true, what: 'median of all' });
    compareDevices((t) => cc.quantile(t, [0.1, 0.5, 0.95], { dim: 0 }), [x], { grads: true, what: 'quantile' });
    compareDevices((t) => cc.nanquantile(t, 0.3, { dim: 1, interpolation: 'nearest' }), [x], { grads: true, what: 'nanquantile' });
    compareDevices((t) => cc.mode(t.mul(2).round(), 1).values, [x], { what: 'mode' });
    compareDevices((t) => cc.histc(t, { bins: 7 }), [x], { what: 'histc' });
    compareDevices((t) => [cc.diag(t, 1), cc.diagonal(t, -1), cc.trace(t), cc.outer(cc.diag(t), cc.diag(t))], [x], { grads: true, what: 'diag' });
    compareDevices((t) => cc.bmm(t.reshape([3, 3, 5]), t.reshape([3, 5, 3])), [randomCpu([45], 42)], { grads: true, what: 'bmm' });
    const u = cc.unique(cc.tensor([3, 1, 3], { device: 'cuda' }), { returnCounts: true });
    expect([u.values.device, u.values.tolist(), u.counts.tolist()]).to.deep.equal(['cuda', [1, 3], [1, 2]]);
    const rows = cc.unique(cc.tensor([[2, 1], [0, 5], [2, 1]], { device: 'cuda' }), { dim: 0, returnInverse: true });
    expect([rows.values.device, rows.values.tolist(), rows.inverse.device, rows.inverse.tolist()]).to.deep.equal(['cuda', [[0, 5], [2, 1]], 'cuda', [1, 0, 1]]);
    expect(cc.uniqueConsecutive(cc.tensor([[1, 1, 2]], { device: 'cuda' }), { dim: 1 }).tolist()).to.deep.equal([[1, 2]]);
    expect(cc.bincount(cc.tensor([2, 0], { dtype: 'int32', device: 'cuda' })).tolist()).to.deep.equal([1, 0, 1]);
    expect(cc.meshgrid([cc.tensor([1, 2], { device: 'cuda' })])[0].device).to.equal('cuda');
    const seq = cc.tensor([[1, 3, 5, 7], [2, 4, 6, 8]]), vals = cc.tensor([[0, 3, 9], [4, NaN, 5]]);
    for (const right of [false, true]) expect(cc.searchsorted(seq.to('cuda'), vals.to('cuda'), { right }).tolist()).to.deep.equal(cc.searchsorted(seq, vals, { right }).tolist());
  });
});
