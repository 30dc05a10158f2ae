// cumsum and cumprod (native/cpu/cumsum.cc), indexAdd and scatterAdd (native/cpu/indexing.cc's kernels,
// public since session 28): values against float64 references, gradients by finite
// differences, the same bits for any thread count, errors by class and code.
import { expect } from 'chai';
import * as cc from '../lib';
import { expectBitIdentical, expectError, expectRejects, randomTensor, rng, sizeOf, tapeCheck } from './helpers';

/**
 * The running sums (or products) of v (shape `shape`) along `axis` in float64, each rounded once
 * to float32.
 */
function cumsumRef(v: ArrayLike<number>, shape: number[], axis: number, round = Math.fround, product = false): number[] {
  const len = shape[axis], inner = sizeOf(shape.slice(axis + 1)), outer = sizeOf(shape.slice(0, axis));
  const y = new Array<number>(v.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = product ? 1 : 0;
      for (let k = 0; k < len; k++) {
        const at = (o * len + k) * inner + j;
        acc = product ? acc * v[at] : acc + v[at];
        y[at] = round(acc);
      }
    }
  }
  return y;
}

describe('cumsum', () => {
  it('sums in float64 in order along any axis: the reference bit for bit', () => {
    const cases: [number[], number][] = [[[7], 0], [[3, 5, 11], 0], [[3, 5, 11], 1], [[3, 5, 11], 2], [[2, 3001], 1],
      [[700, 3], 0], [[5, 1100], 0], [[2, 9, 1030], 1], [[1, 1, 1], 2]];
    for (const [k, [shape, axis]] of cases.entries()) {
      const { t, v } = randomTensor(shape, 11 + k, -100, 100);
      expectBitIdentical(cc.cumsum(t, axis).dataSync(), Float32Array.from(cumsumRef(v, shape, axis)), `${shape} axis ${axis}`);
      expectBitIdentical(t.cumsum(axis - shape.length).dataSync(), Float32Array.from(cumsumRef(v, shape, axis)), 'negative dim');
    }
  });

  it('keeps long sums exact where float32 accumulation drifts', () => {
    // 1 + 1e-8 * k: float32 running sums from 1 lose every 1e-8 (half an ulp of 1 is 6e-8).
    const n = 100000;
    const v = new Float32Array(n).fill(Math.fround(1e-4));
    v[0] = 1;
    const y = cc.cumsum(cc.tensor(v), 0).dataSync();
    expectBitIdentical(y, Float32Array.from(cumsumRef(v, [n], 0)), 'long');
    let naive = 0;
    for (const x of v) naive = Math.fround(naive + x);
    expect(Math.abs(y[n - 1] - (1 + 1e-4 * (n - 1)))).to.be.below(Math.abs(naive - (1 + 1e-4 * (n - 1))) / 10);
  });

  it('the same bits for 1, 2 and 3 threads', () => {
    const { t } = randomTensor([64, 3000], 3);
    const { t: u } = randomTensor([300, 2000], 4);
    const results: Float32Array[][] = [];
    for (const n of [1, 2, 3]) {
      cc.setNumThreads(n);
      results.push([cc.cumsum(t, 1).dataSync(), cc.cumsum(u, 0).dataSync()]);
    }
    cc.setNumThreads(require('os').cpus().length);
    for (const r of results.slice(1)) r.forEach((a, i) => expectBitIdentical(a, results[0][i], `cumsum ${i}`));
  });

  it('its gradient is the running sum of dy from the end', () => {
    for (const [shape, axis] of [[[6], 0], [[3, 4, 5], 1], [[3, 4, 5], 2], [[4, 3], 0]] as [number[], number][]) {
      tapeCheck(`cumsum ${shape} ${axis}`, [{ shape }], ([x]) => cc.cumsum(x, axis));
    }
    const x = cc.tensor([1, 2, 3, 4], { requiresGrad: true });
    cc.cumsum(x, 0).backward(cc.tensor([1, 10, 100, 1000]));
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1111, 1110, 1100, 1000]);
  });

  it('int32 sums in int64 and stays int32; a running sum outside int32 is E_RANGE at the next wait', async () => {
    const y = cc.cumsum(cc.tensor(Int32Array.from([5, -7, 2147483647, -2147483647, 3]), { dtype: 'int32' }), 0);
    expect(y.dtype).to.equal('int32');
    // The running sums 5, -2, 2147483645, -2, 1 are all in range.
    expect(Array.from(y.dataSync())).to.deep.equal([5, -2, 2147483645, -2, 1]);
    const m = cc.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), { dtype: 'int32', shape: [2, 3] });
    expect(Array.from(m.cumsum(0).dataSync())).to.deep.equal([1, 2, 3, 5, 7, 9]);
    expect(Array.from(m.cumsum(1).dataSync())).to.deep.equal([1, 3, 6, 4, 9, 15]);
    const over = cc.tensor(Int32Array.from([2147483647, 1, -5]), { dtype: 'int32' });
    await expectRejects(cc.cumsum(over, 0).data(), 'E_RANGE', /cumsum: the running int32 sum at position 1 is outside the int32 range/);
    // Rows four at a time (the overflow in the third row of five) and columns: the first position.
    const rows = new Int32Array(15).fill(1);
    rows[7] = 2147483647;
    await expectRejects(cc.cumsum(cc.tensor(rows, { dtype: 'int32', shape: [5, 3] }), 1).data(), 'E_RANGE', /at position 7 /);
    const cols = new Int32Array(3 * 600).fill(-1);
    cols[600 + 599] = -2147483647;
    await expectRejects(cc.cumsum(cc.tensor(cols, { dtype: 'int32', shape: [3, 600] }), 0).data(), 'E_RANGE', /at position 1799 /);   // -1 - 2147483647 still fits; one more -1 does not
    const under = cc.tensor(Int32Array.from([0, -2147483647, 0, -2]), { dtype: 'int32', shape: [2, 2] });
    await expectRejects(cc.cumsum(under, 0).data(), 'E_RANGE');
    expect(Array.from(cc.cumsum(m, 1).dataSync())).to.deep.equal([1, 3, 6, 4, 9, 15]);   // the queue goes on
  });

  it('scalars, empty tensors, NaN and infinities', () => {
    const s = cc.tensor(2.5);
    expect(cc.cumsum(s, 0).shape).to.deep.equal([]);
    expect(cc.cumsum(s, -1).item()).to.equal(2.5);
    expect(cc.cumsum(cc.zeros([0, 3]), 0).shape).to.deep.equal([0, 3]);
    expect(cc.cumsum(cc.zeros([2, 0]), 0).shape).to.deep.equal([2, 0]);
    const y = Array.from(cc.cumsum(cc.tensor([1, NaN, 2, Infinity, -Infinity]), 0).dataSync());
    expect(y[0]).to.equal(1);
    expect(y.slice(1).every(Number.isNaN)).to.equal(true);
    expect(Array.from(cc.cumsum(cc.tensor([1, Infinity, 2]), 0).dataSync())).to.deep.equal([1, Infinity, Infinity]);
  });

  it('rejects bad arguments by class and code', () => {
    expectError(() => cc.cumsum(cc.zeros([2, 3]), 2), 'E_ARG', /cumsum: /);
    expectError(() => cc.cumsum(cc.zeros([2, 3]), 0.5), 'E_ARG', /cumsum: /);
    expectError(() => cc.cumsum(cc.tensor(1), 1), 'E_ARG', /cumsum: /);
    expectError(() => cc.cumsum([1, 2] as unknown as cc.Tensor, 0), 'E_ARG', /cumsum: expected `x`/);
    expectError(() => cc.cumsum(cc.zeros([2]), undefined as unknown as number), 'E_ARG', /cumsum: /);
  });
});

describe('cumprod', () => {
  it('multiplies in float64 in order along any axis: the reference bit for bit, at 1, 2 and 3 threads', () => {
    const cases: [number[], number][] = [[[7], 0], [[3, 5, 11], 0], [[3, 5, 11], 1], [[3, 5, 11], 2], [[2, 301], 1], [[5, 1100], 0], [[2, 9, 1030], 1]];
    for (const threads of [1, 2, 3]) {
      cc.setNumThreads(threads);
      for (const [k, [shape, axis]] of cases.entries()) {
        // Factors near 1 (0.9 to 1.1), so that long lines neither vanish nor overflow.
        const { t, v } = randomTensor(shape, 40 + k, 0.9, 1.1);
        expectBitIdentical(cc.cumprod(t, axis).dataSync(), Float32Array.from(cumsumRef(v, shape, axis, Math.fround, true)), `${shape} axis ${axis}, ${threads} threads`);
      }
    }
    cc.setNumThreads(require('os').cpus().length);
    expect(cc.tensor([[1, 2], [3, 4]]).cumprod(-1).tolist()).to.deep.equal([[1, 2], [3, 12]]);
  });

  it("its gradient is PyTorch's, with zeros in a line (none, one, two)", () => {
    // PyTorch 1.13: torch.cumprod(x, 1).backward(dy) for these x and dy.
    const x = cc.tensor([[1, 2, 0, 3, 0, 2], [0.5, 2, 3, 4, 1, -1], [0, 2, 3, 1, 1, 1]], { requiresGrad: true });
    const y = cc.cumprod(x, 1);
    expect(y.tolist()).to.deep.equal([[1, 2, 0, 0, 0, 0], [0.5, 1, 3, 12, 12, -12], [0, 0, 0, 0, 0, 0]]);
    y.backward(cc.tensor([[1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6]]));
    expect(x.grad!.tolist()).to.deep.equal([[5, 2, 30, 0, 0, 0], [33, 8, 5, 3, 0, 12], [113, 0, 0, 0, 0, 0]]);
    for (const [shape, axis] of [[[6], 0], [[3, 4, 5], 1], [[3, 4, 5], 2], [[4, 3], 0]] as [number[], number][]) {
      tapeCheck(`cumprod ${shape} ${axis}`, [{ shape }], ([t]) => cc.cumprod(t, axis));
    }
    // Zeros at the first and a middle position (the product is linear in each entry, so the
    // central differences are exact up to rounding).
    const values = Float64Array.from([0, 0.5, -1.5, 2, 0.25, 0, 1.5, 0.75, -0.5, 0, 0, 1.25]);
    tapeCheck('cumprod with zeros', [{ shape: [2, 6], values }], ([t]) => cc.cumprod(t, 1));
  });

  it('scalars, empty tensors, and typed errors', () => {
    expect(cc.cumprod(cc.tensor(2.5), 0).item()).to.equal(2.5);
    expect(cc.cumprod(cc.zeros([0, 3]), 1).shape).to.deep.equal([0, 3]);
    expectError(() => cc.cumprod(cc.tensor([1, 2], { dtype: 'int32' }), 0), 'E_DTYPE', /cumprod/);
    expectError(() => cc.cumprod(cc.zeros([2, 3]), 2), 'E_ARG', /cumprod: /);
    expectError(() => cc.cumprod(cc.zeros([2]), 'x' as never), 'E_ARG', /cumprod: /);
  });
});

describe('prod, cummax, cummin', () => {
  it("prod: cumprod's last running product, PyTorch's values and gradients (zeros included)", () => {
    // PyTorch 1.13: torch.prod(p, 1).backward(ones) and torch.prod(q).backward().
    const p = cc.tensor([[1, 2, 0, 3], [2, 0, 0, 4], [1, 2, 3, 4]], { requiresGrad: true });
    const y = cc.prod(p, 1);
    expect(y.tolist()).to.deep.equal([0, 0, 24]);
    y.backward(cc.ones([3]));
    expect(p.grad!.tolist()).to.deep.equal([[0, 0, 6, 0], [0, 0, 0, 0], [24, 12, 8, 6]]);
    const q = cc.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    cc.prod(q).backward();
    expect(q.grad!.tolist()).to.deep.equal([[24, 12], [8, 6]]);
    expect([cc.prod(q, 0, true).shape, cc.prod(q, undefined, true).shape, q.prod(-1).tolist()]).to.deep.equal([[1, 2], [1, 1], [2, 12]]);
    // The product of nothing is 1.
    expect([cc.prod(cc.zeros([0])).item(), cc.prod(cc.zeros([2, 0]), 1).tolist(), cc.prod(cc.tensor(3), 0).item()]).to.deep.equal([1, [1, 1], 3]);
    // The order of native/cpu/prod.cc: entry i into lane i % 16, the lanes then multiplied in order.
    const laneProd = (line: number[]) => {
      const lanes = new Array(16).fill(1);
      line.forEach((v, i) => { lanes[i % 16] *= v; });
      return Math.fround(lanes.reduce((p, l) => p * l));
    };
    for (const threads of [1, 2, 3]) {
      cc.setNumThreads(threads);
      for (const [k, [shape, axis]] of ([[[5, 37], 1], [[37, 300], 0], [[3, 19, 260], 1], [[4, 3], 1], [[9], 0]] as [number[], number][]).entries()) {
        const { t, v } = randomTensor(shape, 60 + k, 0.8, 1.25);
        const len = shape[axis], inner = sizeOf(shape.slice(axis + 1)), outer = sizeOf(shape.slice(0, axis));
        const want: number[] = [];
        for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) want.push(laneProd(Array.from({ length: len }, (_, i) => v[(o * len + i) * inner + j])));
        expectBitIdentical(cc.prod(t, axis).dataSync(), Float32Array.from(want), `prod ${shape} axis ${axis}, ${threads} threads`);
      }
    }
    cc.setNumThreads(require('os').cpus().length);
    tapeCheck('prod dim 1', [{ shape: [3, 5] }], ([x]) => cc.prod(x, 1));
    tapeCheck('prod of all', [{ shape: [2, 3] }], ([x]) => cc.prod(x));
    expectError(() => cc.prod(cc.tensor([1], { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => cc.prod(q, 2), 'E_ARG');
    expectError(() => cc.prod(q, [0, 1] as never), 'E_ARG');
  });

  it("cummax and cummin: PyTorch's values, positions (ties move on, NaN takes over) and gradients", () => {
    // PyTorch 1.13: torch.cummax(x, 1), torch.cummin(x, 1), and the gradient of sum(cummax(x, 1).values * arange(8)).
    const x = cc.tensor([[1, 3, 2, 3, NaN, 5, NaN, 0], [4, 4, 1, 1, 6, 0, 0, 7]], { requiresGrad: true });
    const mx = cc.cummax(x, 1), mn = x.cummin(1);
    expect(mx.values.tolist()).to.deep.equal([[1, 3, 3, 3, NaN, NaN, NaN, NaN], [4, 4, 4, 4, 6, 6, 6, 7]]);
    expect(mx.indices.tolist()).to.deep.equal([[0, 1, 1, 3, 4, 4, 6, 6], [0, 1, 1, 1, 4, 4, 4, 7]]);
    expect(mn.values.tolist()).to.deep.equal([[1, 1, 1, 1, NaN, NaN, NaN, NaN], [4, 4, 1, 1, 1, 0, 0, 0]]);
    expect(mn.indices.tolist()).to.deep.equal([[0, 0, 0, 0, 4, 4, 6, 6], [0, 1, 2, 3, 3, 5, 6, 6]]);
    mx.values.mul(cc.arange(0, 8).float()).sum().backward();
    expect(x.grad!.tolist()).to.deep.equal([[0, 3, 0, 3, 9, 0, 13, 0], [0, 6, 0, 0, 15, 0, 0, 7]]);
    // Along other axes, against a plain loop; int32; scalars; empty.
    const { t, v } = randomTensor([4, 6, 5], 9);
    for (const axis of [0, 1, 2]) {
      const r = cc.cummin(t, axis);
      const got = r.values.dataSync(), at = r.indices.dataSync();
      const inner = [30, 5, 1][axis], len = [4, 6, 5][axis];
      for (let i = 0; i < v.length; i++) {
        const k = Math.floor(i / inner) % len, start = i - k * inner;
        let best = 0;
        for (let j = 1; j <= k; j++) if (v[start + j * inner] <= v[start + best * inner]) best = j;
        expect([got[i], at[i]], `axis ${axis} at ${i}`).to.deep.equal([Math.fround(v[start + best * inner]), best]);
      }
    }
    const ints = cc.cummax(cc.tensor([2, 5, 5, 1], { dtype: 'int32' }), 0);
    expect([ints.values.dtype, ints.values.tolist(), ints.indices.tolist()]).to.deep.equal(['int32', [2, 5, 5, 5], [0, 1, 2, 2]]);
    const s = cc.cummax(cc.tensor(7), -1);
    expect([s.values.shape, s.values.item(), s.indices.item()]).to.deep.equal([[], 7, 0]);
    expect(cc.cummin(cc.zeros([0, 3]), 0).indices.shape).to.deep.equal([0, 3]);
    tapeCheck('cummax dim 0', [{ shape: [5, 3] }], ([a]) => cc.cummax(a, 0).values);
    expectError(() => cc.cummax(cc.zeros([2]), 1), 'E_ARG', /cummax/);
    expectError(() => cc.cummin('x' as never, 0), 'E_ARG', /cummin/);
  });
});

describe('indexAdd and scatterAdd', () => {
  it('indexAdd adds rows of src at the index, repeated indices adding up in order; x is left alone', () => {
    const { t: x, v: xv } = randomTensor([4, 3, 5], 1);
    const { t: src, v: sv } = randomTensor([4, 6, 5], 2);
    const idx = [2, 0, 2, 1, 2, 0];
    const y = cc.indexAdd(x, 1, cc.tensor(Int32Array.from(idx), { dtype: 'int32' }), src);
    const ref = Float64Array.from(xv);
    for (let o = 0; o < 4; o++) for (let k = 0; k < 6; k++) for (let j = 0; j < 5; j++) {
      const at = (o * 3 + idx[k]) * 5 + j;
      ref[at] = Math.fround(ref[at] + sv[(o * 6 + k) * 5 + j]);
    }
    expectBitIdentical(y.dataSync(), Float32Array.from(ref), 'indexAdd');
    expectBitIdentical(x.dataSync(), Float32Array.from(xv), 'x unchanged');
  });

  it('indexAdd over wide rows (several column blocks, a ragged last one) gives the same bits at 1, 2 and 4 threads (other blocks)', () => {
    const [O, L, K, W] = [2, 5, 9, 2 * 2048 + 77];
    const { t: x, v: xv } = randomTensor([O, L, W], 3);
    const { t: src, v: sv } = randomTensor([O, K, W], 4);
    const idx = [4, 0, 4, 2, 1, 4, 0, 3, 4];
    const index = cc.tensor(Int32Array.from(idx), { dtype: 'int32' });
    const ref = Float64Array.from(xv);
    for (let o = 0; o < O; o++) for (let k = 0; k < K; k++) for (let j = 0; j < W; j++) {
      const at = (o * L + idx[k]) * W + j;
      ref[at] = Math.fround(ref[at] + sv[(o * K + k) * W + j]);
    }
    const threads = cc.getNumThreads();
    try {
      for (const n of [1, 2, 4]) {
        cc.setNumThreads(n);
        expectBitIdentical(cc.indexAdd(x, 1, index, src).dataSync(), Float32Array.from(ref), `indexAdd at ${n} thread(s)`);
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('scatterAdd matches torch.scatter_add on every axis, src larger than index included', () => {
    for (const axis of [0, 1, 2]) {
      const xs = [3, 4, 5], is = [2, 3, 4], ss = [4, 3, 6];
      const { t: x, v: xv } = randomTensor(xs, 10 + axis);
      const { t: src, v: sv } = randomTensor(ss, 20 + axis);
      const next = rng(30 + axis);
      const iv = Int32Array.from({ length: sizeOf(is) }, () => Math.floor(next() * xs[axis]));
      const y = cc.scatterAdd(x, axis, cc.tensor(iv, { dtype: 'int32', shape: is }), src);
      const ref = Float64Array.from(xv);
      for (let a = 0; a < is[0]; a++) for (let b = 0; b < is[1]; b++) for (let c = 0; c < is[2]; c++) {
        const p = [a, b, c];
        p[axis] = iv[(a * is[1] + b) * is[2] + c];
        const at = (p[0] * xs[1] + p[1]) * xs[2] + p[2];
        ref[at] = Math.fround(ref[at] + sv[(a * ss[1] + b) * ss[2] + c]);
      }
      expectBitIdentical(y.dataSync(), Float32Array.from(ref), `axis ${axis}`);
    }
    // A histogram of labels, the README's example.
    const labels = cc.tensor(Int32Array.from([2, 0, 2, 3, 2]), { dtype: 'int32' });
    expect(Array.from(cc.scatterAdd(cc.zeros([4]), 0, labels, cc.ones([5])).dataSync())).to.deep.equal([1, 0, 3, 1]);
  });

  it('gradients: dy to x, dy at the index to src (0 where src is past the index)', () => {
    const i1 = cc.tensor(Int32Array.from([1, 0, 1]), { dtype: 'int32' });
    tapeCheck('indexAdd', [{ shape: [2, 2, 3] }, { shape: [2, 3, 3] }], ([x, s]) => cc.indexAdd(x, 1, i1, s));
    const i2 = cc.tensor(Int32Array.from([0, 2, 2, 1, 0, 0]), { dtype: 'int32', shape: [2, 3] });
    tapeCheck('scatterAdd', [{ shape: [3, 3] }, { shape: [2, 3] }], ([x, s]) => cc.scatterAdd(x, 0, i2, s));
    tapeCheck('scatterAdd, larger src', [{ shape: [3, 4] }, { shape: [3, 5] }], ([x, s]) => cc.scatterAdd(x, 0, i2, s));
    const s = cc.ones([3, 5]);
    s.requiresGrad = true;
    cc.scatterAdd(cc.zeros([3, 4]), 0, i2, s).sum().backward();
    expect(Array.from(s.grad!.dataSync())).to.deep.equal([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('the same bits for 1 and 2 threads with many repeated indices', () => {
    const { t: src } = randomTensor([20000, 8], 5);
    const next = rng(6);
    const idx = cc.tensor(Int32Array.from({ length: 20000 * 8 }, () => Math.floor(next() * 7)), { dtype: 'int32', shape: [20000, 8] });
    const out: Float32Array[] = [];
    for (const n of [1, 2]) {
      cc.setNumThreads(n);
      out.push(cc.scatterAdd(cc.zeros([7, 8]), 0, idx, src).dataSync());
    }
    cc.setNumThreads(require('os').cpus().length);
    expectBitIdentical(out[1], out[0], 'threads');
  });

  it('empty indices leave x as it was; NaN in src reaches only where it is added', () => {
    const x = cc.tensor([[1, 2], [3, 4], [5, 6]]);
    expect(cc.scatterAdd(x, 0, cc.tensor(new Int32Array(0), { dtype: 'int32', shape: [0, 2] }), cc.zeros([0, 2])).arraySync()).to.deep.equal(x.arraySync());
    expect(cc.indexAdd(x, 0, cc.tensor(new Int32Array(0), { dtype: 'int32' }), cc.zeros([0, 2])).arraySync()).to.deep.equal(x.arraySync());
    const y = Array.from(cc.scatterAdd(x, 0, cc.tensor(Int32Array.from([2, 0]), { dtype: 'int32', shape: [1, 2] }), cc.tensor([[NaN, 1]])).dataSync());
    expect(y.map((v) => (Number.isNaN(v) ? 'NaN' : v))).to.deep.equal([1, 3, 3, 4, 'NaN', 6]);
  });

  it('a bad index is E_INDEX at the next wait; bad shapes and dtypes are typed errors', async () => {
    const bad = cc.tensor(Int32Array.from([0, 3]), { dtype: 'int32' });
    await expectRejects(cc.scatterAdd(cc.zeros([3]), 0, bad, cc.ones([2])).data(), 'E_INDEX', /index 3 at position 1 is out of range/);
    await expectRejects(cc.indexAdd(cc.zeros([3, 2]), 0, bad, cc.ones([2, 2])).data(), 'E_INDEX');
    const neg = cc.tensor(Int32Array.from([-1]), { dtype: 'int32' });
    await expectRejects(cc.scatterAdd(cc.zeros([3]), 0, neg, cc.ones([1])).data(), 'E_INDEX');
    const i = cc.tensor(Int32Array.from([0, 1]), { dtype: 'int32' });
    expectError(() => cc.indexAdd(cc.zeros([3, 2]), 0, i, cc.ones([3, 2])), 'E_SHAPE', /indexAdd: expected `src` of shape \[2, 2\], got \[3, 2\]/);
    expectError(() => cc.indexAdd(cc.zeros([3, 2]), 0, cc.tensor(Int32Array.from([0]), { dtype: 'int32', shape: [1, 1] }), cc.ones([1, 2])), 'E_SHAPE');
    expectError(() => cc.scatterAdd(cc.zeros([3]), 0, i, cc.ones([1])), 'E_SHAPE', /scatterAdd: expected `index` of rank 1 no larger than `src` \[1\]/);
    expectError(() => cc.scatterAdd(cc.zeros([3, 1]), 0, cc.tensor(Int32Array.from([0, 1]), { dtype: 'int32', shape: [1, 2] }), cc.ones([1, 2])), 'E_SHAPE');
    expectError(() => cc.scatterAdd(cc.zeros([3]), 0, cc.zeros([2]) as unknown as cc.Tensor<'int32'>, cc.ones([2])), 'E_DTYPE', /scatterAdd: expected `index` of dtype int32/);
    expectError(() => cc.scatterAdd(cc.zeros([3], 'int32'), 0, i, cc.ones([2])), 'E_DTYPE');
    expectError(() => cc.indexAdd(cc.zeros([3]), 1, i, cc.ones([2])), 'E_ARG', /indexAdd: /);
  });
});
