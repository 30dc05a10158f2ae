/**
 * topk, sort and argsort (lib/sorting.ts) and the distances F.normalize, F.cosineSimilarity,
 * F.pairwiseDistance and cdist (lib/nn/functional/distance.ts): values and indices against
 * PyTorch (committed fixtures, test/fixtures/make/retrieval.py), NaN / tie / -0 order, a float64
 * reference on long rows, gradients against finite differences, typed errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectBitIdentical, expectClose, expectError, loadFixture, rng, tapeCheck } from './helpers';

const { F } = cc;

type Values = { shape: number[]; values: (number | string)[]; dtype?: string };
type SortCase = { op: 'sort' | 'topk'; dim: number; descending?: boolean; largest?: boolean; k?: number; x: Values; values: Values; indices: Values };
type GradCase = { op: string; kwargs: Record<string, unknown>; inputs: Values[]; y: Values; dy: Values; grads: Values[] };

const nums = (v: Values) => v.values.map((x) => (typeof x === 'string' ? Number(x) : x));
const fromFixture = (v: Values) => cc.tensor(Float32Array.from(nums(v)), { shape: v.shape });

/** The float64 reference: positions of a row sorted as PyTorch's stable sort (NaN largest). */
function referenceOrder(row: number[], descending: boolean): number[] {
  const rank = (v: number) => (Number.isNaN(v) ? Infinity : v);
  return row.map((_, i) => i).sort((i, j) => {
    const a = row[i], b = row[j];
    const an = Number.isNaN(a), bn = Number.isNaN(b);
    let c = an && bn ? 0 : an ? 1 : bn ? -1 : rank(a) - rank(b);
    if (Number.isNaN(c)) c = 0;   // Infinity - Infinity
    if (descending) c = -c;
    return c !== 0 ? c : i - j;
  });
}

describe('topk, sort, argsort', () => {
  const { cases } = loadFixture<{ cases: (SortCase | GradCase)[] }>('retrieval');
  const sortCases = cases.filter((c): c is SortCase => c.op === 'sort' || c.op === 'topk');

  it('agree with PyTorch: values, stable indices, NaN largest, -0 == +0 (committed fixtures)', () => {
    expect(sortCases.length).to.be.greaterThan(40);
    for (const c of sortCases) {
      const x = fromFixture(c.x);
      const what = `${c.op} ${JSON.stringify(c.x.shape)} dim ${c.dim} ${c.op === 'sort' ? `descending ${c.descending}` : `k ${c.k} largest ${c.largest}`}`;
      const r = c.op === 'sort' ? cc.sort(x, { dim: c.dim, descending: c.descending, stable: true }) : cc.topk(x, c.k!, { dim: c.dim, largest: c.largest });
      expect(r.values.shape, what).to.deep.equal(c.values.shape);
      expectClose(r.values.dataSync(), nums(c.values), 0, 0, what);
      expect(Array.from(r.indices.dataSync()), `${what} indices`).to.deep.equal(c.indices.values);
      expect(r.indices.dtype).to.equal('int32');
    }
  });

  it('long rows and every axis against a float64 reference, -0 and NaN bits kept', () => {
    const next = rng(7);
    // Values with many ties (multiples of 1/4) and some NaNs, rows longer than any block.
    const shape = [3, 2500, 2];
    const values = Array.from({ length: 3 * 2500 * 2 }, () => (next() < 0.01 ? NaN : Math.round(next() * 40) / 4 - 5));
    const x = cc.tensor(Float32Array.from(values), { shape });
    for (const descending of [false, true]) {
      const { values: v, indices } = cc.sort(x, { dim: 1, descending });
      const vv = v.dataSync(), ii = indices.dataSync();
      for (let o = 0; o < 3; o++) {
        for (let i = 0; i < 2; i++) {
          const row = Array.from({ length: 2500 }, (_, r) => values[(o * 2500 + r) * 2 + i]);
          const order = referenceOrder(row, descending);
          for (let r = 0; r < 2500; r++) {
            const at = (o * 2500 + r) * 2 + i;
            if (ii[at] !== order[r]) expect.fail(`row ${o},${i} position ${r}: index ${ii[at]}, expected ${order[r]}`);
            expect(Object.is(vv[at], Math.fround(row[order[r]])) || (Number.isNaN(vv[at]) && Number.isNaN(row[order[r]]))).to.equal(true);
          }
        }
      }
      // topk is the sort's first k
      const top = cc.topk(x, 17, { dim: 1, largest: descending });
      expect(Array.from(top.indices.dataSync())).to.deep.equal(Array.from(indices.narrow(1, 0, 17).dataSync()));
    }
    // contiguous rows (the last axis): topk skips blocks that cannot beat its k-th value
    // (native/cpu/sort.cc); ties, NaN, -0/+0 and rows that get better along the way included
    const rows = [values.slice(0, 2500), values.slice(2500, 5000).map((v, r) => (Number.isNaN(v) ? v : v + r / 100)),
      values.slice(5000, 7500).map((v) => (v === 0 ? -0 : v)), Array.from({ length: 2500 }, (_, r) => (r % 300 === 7 ? NaN : r % 5 === 0 ? -0 : 0))].map((row) => row.map(Math.fround));
    const xr = cc.tensor(Float32Array.from(rows.flat()), { shape: [4, 2500] });
    const xi = cc.tensor(Int32Array.from(rows.flat().map((v) => (Number.isNaN(v) ? 0 : Math.round(v * 4)))), { shape: [4, 2500], dtype: 'int32' });
    for (const largest of [false, true]) {
      for (const k of [1, 5, 17, 156]) {
        for (const [t, plain] of [[xr, rows], [xi, rows.map((r) => r.map((v) => (Number.isNaN(v) ? 0 : Math.round(v * 4))))]] as const) {
          const got = Array.from(cc.topk(t, k, { largest }).indices.dataSync());
          const want = plain.flatMap((row) => referenceOrder(row, largest).slice(0, k));
          expect(got, `${t.dtype} k ${k} largest ${largest}`).to.deep.equal(want);
        }
      }
    }
    const z = cc.sort(cc.tensor([0, -0, -1, 0]));
    expect(Array.from(z.indices.dataSync())).to.deep.equal([2, 0, 1, 3]);
    expect(Object.is(z.values.dataSync()[2], -0)).to.equal(true);   // the value itself, -0 kept
  });

  it('int32 inputs, scalars, empty rows, k = 0; argsort; Tensor methods; the same result for any thread count', () => {
    const xi = cc.tensor(new Int32Array([5, -2147483648, 2147483647, 5, 0]), { dtype: 'int32' });
    const s = cc.sort(xi, { descending: true });
    expect(s.values.dtype).to.equal('int32');
    expect(s.values.tolist()).to.deep.equal([2147483647, 5, 5, 0, -2147483648]);
    expect(s.indices.tolist()).to.deep.equal([2, 0, 3, 4, 1]);
    expect(cc.argsort(cc.tensor([[3, 1, 2]]), { descending: true }).tolist()).to.deep.equal([[0, 2, 1]]);
    const t = cc.tensor([[3, 1, 2], [0, 5, 4]]);
    expect(t.topk(2).indices.tolist()).to.deep.equal([[0, 2], [1, 2]]);
    expect(t.topk(1, { dim: 0, largest: false }).values.tolist()).to.deep.equal([[0, 1, 2]]);
    expect(t.sort({ dim: 0, descending: true }).indices.tolist()).to.deep.equal([[0, 1, 1], [1, 0, 0]]);
    expect(t.argsort().tolist()).to.deep.equal([[1, 2, 0], [0, 2, 1]]);
    const scalar = cc.topk(cc.tensor(4), 1);
    expect(scalar.values.shape).to.deep.equal([]);
    expect(scalar.values.item()).to.equal(4);
    expect(scalar.indices.item()).to.equal(0);
    expect(cc.topk(t, 0).values.shape).to.deep.equal([2, 0]);
    expect(cc.sort(cc.zeros([0, 3])).values.shape).to.deep.equal([0, 3]);
    expect(cc.sort(cc.zeros([2, 0])).indices.shape).to.deep.equal([2, 0]);
    const big = cc.randn([64, 3000]);
    const before = cc.getNumThreads();
    const one = (() => { cc.setNumThreads(1); return cc.topk(big, 50); })();
    const a1 = one.values.dataSync(), i1 = one.indices.dataSync();
    cc.setNumThreads(before);
    const many = cc.topk(big, 50);
    expectBitIdentical(many.values.dataSync(), a1, 'values');
    expectBitIdentical(many.indices.dataSync(), i1, 'indices');
  });

  it('long rows by the radix sort: every bit pattern of float32 and int32, ties, most of a row by topk', () => {
    const next = rng(11);
    const n = 60000;
    // Random bits (every exponent, both signs, infinities and NaNs among them) and ties.
    const bits = Uint32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0x3f800000 : (next() * 2 ** 32) >>> 0));
    const floats = new Float32Array(bits.buffer);
    floats[5] = -0;
    floats[9] = 0;
    const ints = Int32Array.from(bits, (b, i) => (i % 5 === 0 ? 12345 : b | 0));
    const xf = cc.tensor(floats), xi = cc.tensor(ints, { dtype: 'int32' });
    for (const descending of [false, true]) {
      for (const [x, plain] of [[xf, Array.from(floats)], [xi, Array.from(ints)]] as const) {
        const { values, indices } = cc.sort(x, { descending });
        const order = referenceOrder(plain, descending);
        const ii = indices.dataSync(), vv = values.dataSync();
        for (let r = 0; r < n; r++) {
          if (ii[r] !== order[r]) expect.fail(`${x.dtype} descending ${descending} position ${r}: index ${ii[r]}, expected ${order[r]}`);
          if (!Object.is(vv[r], x.dtype === 'int32' ? plain[order[r]] : floats[order[r]]) && !Number.isNaN(vv[r])) expect.fail(`${x.dtype} value at ${r}`);
        }
        // topk of most of the row takes the same sort
        const k = Math.floor(n * 0.6);
        expect(Array.from(cc.topk(x, k, { largest: descending }).indices.dataSync())).to.deep.equal(order.slice(0, k));
      }
    }
    // small integers: the top digits are the same for all and skipped
    const small = Int32Array.from({ length: 5000 }, () => Math.floor(next() * 300) - 150);
    const s = cc.sort(cc.tensor(small, { dtype: 'int32' }));
    expect(Array.from(s.indices.dataSync())).to.deep.equal(referenceOrder(Array.from(small), false));
  });

  it('the gradient of values goes back to the selected positions (finite differences)', () => {
    const values = Float64Array.from({ length: 4 * 7 }, (_, i) => Math.sin(i * 2.1) * 3);   // distinct, well apart
    tapeCheck('topk dim -1', [{ shape: [4, 7], values }], ([x]) => cc.topk(x, 3).values);
    tapeCheck('topk dim 0 smallest', [{ shape: [4, 7], values }], ([x]) => cc.topk(x, 2, { dim: 0, largest: false }).values);
    tapeCheck('sort descending', [{ shape: [2, 14], values }], ([x]) => cc.sort(x, { descending: true }).values.square());
    const x = cc.tensor([[1, 5, 3]], { requiresGrad: true });
    cc.topk(x, 2).values.mul(cc.tensor([[10, 20]])).sum().backward();
    expect(x.grad!.tolist()).to.deep.equal([[0, 10, 20]]);
  });

  it('refuse bad arguments with typed errors', () => {
    const x = cc.zeros([2, 3]);
    expectError(() => cc.topk(x, 4), 'E_ARG', /k/);
    expectError(() => cc.topk(x, -1), 'E_ARG');
    expectError(() => cc.topk(x, 1.5), 'E_ARG');
    expectError(() => cc.topk(x, 1, { dim: 2 }), 'E_ARG', /dim/);
    expectError(() => cc.sort(x, { dim: -3 }), 'E_ARG', /dim/);
    expectError(() => cc.topk(x, 1, { largest: 'yes' as unknown as boolean }), 'E_ARG');
    expectError(() => cc.sort(x, { descending: 1 as unknown as boolean }), 'E_ARG');
    expectError(() => cc.sort(x, { axis: 1 } as unknown as cc.SortOptions), 'E_ARG', /unknown option/);
    expectError(() => cc.topk([1, 2] as unknown as cc.Tensor, 1), 'E_ARG');
    const disposed = cc.zeros([3]);
    disposed.dispose();
    expectError(() => cc.sort(disposed), 'E_DISPOSED');
  });
});

describe('searchsorted, bucketize', () => {
  it("PyTorch's positions: left and right, one row for all values or a row each, NaN, int32, scalars", () => {
    // PyTorch 1.13's torch.searchsorted / torch.bucketize on these inputs.
    const seq = cc.tensor([1, 3, 5, 7, 9]);
    const v = cc.tensor([[3, 6, 9], [1, NaN, 10]]);
    expect(cc.searchsorted(seq, v).tolist()).to.deep.equal([[1, 3, 4], [0, 5, 5]]);
    expect(cc.searchsorted(seq, v, { right: true }).tolist()).to.deep.equal([[2, 3, 5], [1, 5, 5]]);
    const rows = cc.tensor([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]]), w = cc.tensor([[3, 6, 9], [3, 6, 9]]);
    expect(cc.searchsorted(rows, w).tolist()).to.deep.equal([[1, 3, 4], [1, 2, 4]]);
    expect(cc.searchsorted(rows, w, { side: 'right' }).tolist()).to.deep.equal([[2, 3, 5], [1, 3, 4]]);
    expect(cc.bucketize(cc.tensor([0.1, 0.5, 2]), cc.tensor([0.5, 1])).tolist()).to.deep.equal([0, 0, 2]);
    expect(cc.bucketize(cc.tensor([0.1, 0.5, 2]), cc.tensor([0.5, 1]), { right: true }).tolist()).to.deep.equal([0, 1, 2]);
    expect(cc.searchsorted(cc.tensor([1, 2, 2, 3], { dtype: 'int32' }), cc.tensor([2], { dtype: 'int32' })).tolist()).to.deep.equal([1]);
    const scalar = cc.searchsorted(cc.tensor([1, 2]), 1.5);
    expect([scalar.shape, scalar.item()]).to.deep.equal([[], 1]);
    expect(cc.searchsorted(cc.zeros([0]), cc.tensor([1, 2])).tolist()).to.deep.equal([0, 0]);
  });

  it('agrees with a count of the boundaries below (or not above) each value, at 1 and 2 threads', () => {
    const next = rng(5);
    const b = Float32Array.from({ length: 300 }, () => Math.round(next() * 50) / 4).sort();   // repeats included
    const vals = Float32Array.from({ length: 5000 }, () => Math.round(next() * 60 - 5) / 4);
    for (const threads of [1, 2]) {
      cc.setNumThreads(threads);
      for (const right of [false, true]) {
        const got = cc.searchsorted(cc.tensor(b), cc.tensor(vals), { right }).dataSync();
        vals.forEach((x, i) => {
          const want = b.filter((y) => (right ? y <= x : y < x)).length;
          if (got[i] !== want) expect.fail(`value ${x} (right ${right}): ${got[i]}, expected ${want}`);
        });
      }
    }
    cc.setNumThreads(require('os').cpus().length);
  });

  it('refuses bad arguments with typed errors', () => {
    const seq = cc.tensor([1, 2, 3]);
    expectError(() => cc.searchsorted(seq, cc.tensor([1], { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => cc.searchsorted(cc.tensor(1), cc.tensor([1])), 'E_SHAPE');
    expectError(() => cc.searchsorted(cc.zeros([2, 3]), cc.zeros([3, 2])), 'E_SHAPE', /leading axes/);
    expectError(() => cc.searchsorted(seq, seq, { side: 'middle' as never }), 'E_ARG');
    expectError(() => cc.searchsorted(seq, seq, { side: 'left', right: true }), 'E_ARG', /contradicts/);
    expectError(() => cc.searchsorted(seq, 'a' as never), 'E_ARG');
    expectError(() => cc.bucketize(seq, cc.zeros([2, 2])), 'E_SHAPE');
    expectError(() => cc.bucketize(seq, seq, { side: 'left' } as never), 'E_ARG');
  });
});

describe('F.normalize, F.cosineSimilarity, F.pairwiseDistance, cdist', () => {
  const { cases } = loadFixture<{ cases: (SortCase | GradCase)[] }>('retrieval');
  const gradCases = cases.filter((c): c is GradCase => 'grads' in c);

  function apply(c: GradCase, xs: cc.Tensor[]): cc.Tensor {
    const k = { ...c.kwargs } as Record<string, unknown>;
    if (k.p === 'Infinity') k.p = Infinity;
    switch (c.op) {
      case 'normalize': return F.normalize(xs[0], k);
      case 'cosineSimilarity': return F.cosineSimilarity(xs[0], xs[1], k);
      case 'pairwiseDistance': return F.pairwiseDistance(xs[0], xs[1], k);
      default: return cc.cdist(xs[0], xs[1], k);
    }
  }

  it('agree with PyTorch (float64 from the same float32 inputs), values and gradients (committed fixtures)', () => {
    expect(gradCases.length).to.equal(17);
    for (const c of gradCases) {
      const what = `${c.op} ${JSON.stringify(c.inputs.map((i) => i.shape))} ${JSON.stringify(c.kwargs)}`;
      const xs = c.inputs.map((v) => cc.tensor(nums(v), { shape: v.shape, requiresGrad: true }));
      const y = apply(c, xs);
      expect(y.shape, what).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), nums(c.y), 2e-5, 2e-5, what);
      y.mul(fromFixture(c.dy)).sum().backward();
      xs.forEach((x, i) => expectClose(x.grad!.dataSync(), nums(c.grads[i]), 1e-4, 1e-4, `${what} gradient ${i}`));
    }
  });

  it('a NaN stays NaN through the norms (PyTorch: NaN, not 0)', () => {
    const x = cc.tensor([[NaN, 1], [3, 4]]);
    const n = Array.from(F.normalize(x).dataSync());
    expect(n.slice(0, 2).every(Number.isNaN)).to.equal(true);
    expect(n.slice(2)).to.deep.equal([0.6000000238418579, 0.800000011920929]);
    expect(Number.isNaN(F.pairwiseDistance(x, cc.zeros([2, 2])).dataSync()[0])).to.equal(true);
    expect(Number.isNaN(cc.cdist(x, cc.zeros([1, 2])).dataSync()[0])).to.equal(true);
  });

  it('gradients against finite differences, and 0 (not NaN) where a norm or a distance is 0', () => {
    tapeCheck('normalize', [{ shape: [3, 5] }], ([x]) => F.normalize(x));
    tapeCheck('cosineSimilarity', [{ shape: [4, 6] }, { shape: [4, 6] }], ([a, b]) => F.cosineSimilarity(a, b));
    tapeCheck('pairwiseDistance p=2', [{ shape: [4, 6] }, { shape: [4, 6] }], ([a, b]) => F.pairwiseDistance(a, b));
    tapeCheck('cdist small', [{ shape: [3, 4] }, { shape: [5, 4] }], ([a, b]) => cc.cdist(a, b));
    tapeCheck('cdist matmul path', [{ shape: [30, 3] }, { shape: [4, 3] }], ([a, b]) => cc.cdist(a, b), { rtol: 5e-2, atol: 5e-3 });
    // p = 1 has a kink where two coordinates meet: these differences are -0.2 + multiples of 0.5.
    const grid = (n: number, step: number, offset: number) => Float64Array.from({ length: n }, (_, i) => ((i * step) % 11) * 0.5 + offset);
    tapeCheck('cdist batched p=1', [{ shape: [2, 3, 4], values: grid(24, 7, 0.1) }, { shape: [2, 2, 4], values: grid(16, 5, 0.3) }], ([a, b]) => cc.cdist(a, b, { p: 1 }));
    tapeCheck('cdist p=3', [{ shape: [3, 4] }, { shape: [2, 4] }], ([a, b]) => cc.cdist(a, b, { p: 3 }));
    // Coincident points and zero vectors: finite gradients, 0 at the kink.
    for (const n of [3, 30]) {
      const a = cc.randn([n, 4]);
      const x = a.clone();
      x.requiresGrad = true;
      cc.cdist(x, a).sum().backward();
      expect(Array.from(x.grad!.dataSync()).every(Number.isFinite), `cdist n=${n}`).to.equal(true);
    }
    const z = cc.zeros([2, 3], { requiresGrad: true });
    F.normalize(z).sum().backward();
    // d(x / eps)/dx = 1 / eps through the division, 0 through the clamped norm (PyTorch's too).
    expect(Array.from(z.grad!.dataSync())).to.deep.equal(new Array(6).fill(999999995904));
    const d = cc.cdist(cc.tensor([[0, 0], [3, 4]]), cc.tensor([[0, 0]]));
    expect(d.tolist()).to.deep.equal([[0], [5]]);
  });

  it('cdist\'s matmul path (one native op): a float64 reference on a large case, broadcast batches, empty sizes, any thread count', () => {
    const r = rng(44);
    const [B, N, M, D] = [2, 70, 260, 37];
    const av = Float32Array.from({ length: B * N * D }, () => r() * 4 - 2), bv = Float32Array.from({ length: M * D }, () => r() * 4 - 2);
    const want = new Float64Array(B * N * M);
    for (let k = 0; k < B; k++) {
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < M; j++) {
          let s = 0;
          for (let c = 0; c < D; c++) s += (av[(k * N + i) * D + c] - bv[j * D + c]) ** 2;
          want[(k * N + i) * M + j] = Math.sqrt(s);
        }
      }
    }
    const a = cc.tensor(av, { shape: [B, N, D] }), b = cc.tensor(bv, { shape: [M, D] });
    const before = cc.getNumThreads();
    let runs: Float32Array[];
    try {
      runs = [1, 2, 3].map((threads) => {
        cc.setNumThreads(threads);
        return cc.cdist(a, b).dataSync() as Float32Array;
      });
    } finally {
      cc.setNumThreads(before);
    }
    // Distances of ~8 from norms of ~12: the GEMM's cancellation costs a few float32 ulps of the norms.
    expectClose(runs[0], want, 2e-5, 1e-5, 'cdist [2,70,37] x [260,37]');
    expectBitIdentical(runs[0], runs[1], 'cdist at 1 and 2 threads');
    expectBitIdentical(runs[0], runs[2], 'cdist at 1 and 3 threads');
    // A batch broadcast against a plain matrix: the gradient of b sums over the batch.
    tapeCheck('cdist matmul path, broadcast batch', [{ shape: [2, 30, 3] }, { shape: [4, 3] }], ([x, y]) => cc.cdist(x, y), { rtol: 5e-2, atol: 5e-3 });
    tapeCheck('cdist matmul path, batch of 1 against 2', [{ shape: [1, 3, 2] }, { shape: [2, 27, 2] }], ([x, y]) => cc.cdist(x, y), { rtol: 5e-2, atol: 5e-3 });
    expect(cc.cdist(cc.zeros([30, 0]), cc.zeros([5, 0])).tolist()).to.deep.equal(new Array(30).fill(new Array(5).fill(0)));
    expect(cc.cdist(cc.zeros([2, 0, 3]), cc.zeros([30, 3])).shape).to.deep.equal([2, 0, 30]);
  });

  it('cdist\'s computeMode chooses the matmul path as PyTorch\'s compute_mode', () => {
    // Two points 1e-3 apart, 1000 from the origin: through the matmul the squared norms (1e6)
    // swamp the squared distance (1e-6) and it reads 0; the differences give it exactly.
    const far = cc.tensor([[1000, 0]]), near = cc.tensor([[1000, 0.0010000000474974513]]);
    const mm = cc.cdist(far, near, { computeMode: 'use_mm_for_euclid_dist' }).dataSync()[0];
    const direct = cc.cdist(far, near, { computeMode: 'donot_use_mm_for_euclid_dist' }).dataSync()[0];
    expect(mm).to.equal(0);
    expect(direct).to.equal(Math.fround(0.0010000000474974513));
    expect(cc.cdist(far, near).dataSync()[0], 'small: no matmul by default').to.equal(direct);
    // Above 25 rows the default takes the matmul; 'donot' keeps the differences.
    const many = cc.concat([far, cc.zeros([29, 2])]);
    expect(cc.cdist(many, near).dataSync()[0]).to.equal(0);
    expect(cc.cdist(many, near, { computeMode: 'donot_use_mm_for_euclid_dist' }).dataSync()[0]).to.equal(direct);
    // p != 2 never takes the matmul.
    expect(cc.cdist(far, near, { p: 1, computeMode: 'use_mm_for_euclid_dist' }).dataSync()[0]).to.equal(direct);
    expectError(() => cc.cdist(far, near, { computeMode: 'mm' as cc.CdistComputeMode }), 'E_ARG', /computeMode/);
  });

  it('pdist: every pair i < j in row order, against float64 for each p; gradients; empty cases; typed errors', () => {
    const N = 6, M = 4;
    const r = rng(31);
    const v = Float64Array.from({ length: N * M }, () => r() * 4 - 2);
    const x = cc.tensor(Float32Array.from(v), { shape: [N, M] });
    for (const p of [2, 1, 3, 0.5, Infinity, 0]) {
      const want: number[] = [];
      for (let i = 0; i < N; i++) {
        for (let j = i + 1; j < N; j++) {
          const d = Array.from({ length: M }, (_, k) => Math.abs(Math.fround(v[i * M + k]) - Math.fround(v[j * M + k])));
          want.push(p === Infinity ? Math.max(...d) : p === 0 ? d.filter((u) => u !== 0).length : d.reduce((a, u) => a + u ** p, 0) ** (1 / p));
        }
      }
      expectClose(cc.F.pdist(x, p).dataSync(), want, 1e-5, 1e-6, `pdist p ${p}`);
    }
    for (const p of [2, 1, 3]) tapeCheck(`pdist p ${p}`, [{ shape: [4, 3] }], ([t]) => cc.F.pdist(t, p));
    // Equal rows: distance 0, gradient 0 (not NaN), as PyTorch.
    const same = cc.tensor([[1, 2], [1, 2]], { requiresGrad: true });
    cc.F.pdist(same).sum().backward();
    expect(Array.from(same.grad!.dataSync())).to.deep.equal([0, 0, 0, 0]);
    expect(cc.F.pdist(cc.zeros([1, 3])).shape).to.deep.equal([0]);
    expect(cc.F.pdist(cc.zeros([0, 3])).shape).to.deep.equal([0]);
    expect(Array.from(cc.F.pdist(cc.zeros([3, 0]), Infinity).dataSync())).to.deep.equal([0, 0, 0]);
    expectError(() => cc.F.pdist(cc.zeros([2, 3, 4])), 'E_SHAPE', /\[N, M\]/);
    expectError(() => cc.F.pdist(x, -1), 'E_ARG', /p/);
    expectError(() => cc.F.pdist(x.int()), 'E_DTYPE');
  });

  it('cdist with p = 0 counts the coordinates that differ, as PyTorch (its gradient is 0)', () => {
    const a = cc.tensor([[1, 2, 3], [0, 0, 0]], { requiresGrad: true }), b = cc.tensor([[1, 5, 3], [1, 2, 3], [0, 0, 0]]);
    const d = cc.cdist(a, b, { p: 0 });
    expect(Array.from(d.dataSync())).to.deep.equal([1, 0, 3, 3, 3, 0]);
    d.sum().backward();
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    // A NaN difference (inf - inf too) makes the count NaN, as PyTorch's min(ceil(|d|), 1) does.
    const x = cc.tensor([[NaN, 1], [0, 1], [Infinity, 1]]);
    expect(Array.from(cc.cdist(x, x, { p: 0 }).dataSync())).to.deep.equal([NaN, NaN, NaN, NaN, 0, 1, NaN, 1, NaN]);
    expect(Array.from(cc.F.pdist(x, 0).dataSync())).to.deep.equal([NaN, NaN, 1]);
  });

  it('refuse bad arguments with typed errors', () => {
    const a = cc.zeros([3, 4]);
    expectError(() => cc.cdist(a, cc.zeros([3, 5])), 'E_SHAPE', /columns/);
    expectError(() => cc.cdist(cc.zeros([4]), a), 'E_SHAPE');
    expectError(() => cc.cdist(cc.zeros([2, 3, 4]), cc.zeros([3, 3, 4])), 'E_SHAPE');
    expectError(() => cc.cdist(a, a, { p: -1 }), 'E_ARG', /p/);
    expectError(() => cc.cdist(a, a, { p: NaN }), 'E_ARG', /p/);
    expectError(() => cc.cdist(a, a, { q: 2 } as unknown as cc.CdistOptions), 'E_ARG', /unknown option/);
    expectError(() => F.normalize(a, { dim: 2 }), 'E_ARG');
    expectError(() => F.normalize(cc.tensor(1)), 'E_SHAPE');
    expectError(() => F.normalize(a, { p: -1 }), 'E_ARG');
    expectError(() => F.cosineSimilarity(a, cc.zeros([2, 4])), 'E_SHAPE');
    expectError(() => F.pairwiseDistance(a, cc.zeros([3, 4], { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => F.pairwiseDistance(a, a, { eps: 'x' as unknown as number }), 'E_ARG');
  });
});
