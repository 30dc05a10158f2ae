/**
 * The native row ops behind norm, logsumexp, F.normalize and F.cosineSimilarity
 * (native/cpu/vector_norm.cc, logsumexp.cc, normalize.cc, cosine_similarity.cc): values against
 * float64 references written plainly here (rows, columns, rows long enough to be cut into blocks,
 * axes that are not adjacent), gradients against finite differences, PyTorch 1.13's values at
 * the edges (zero vectors, eps clamps, ties, NaN, ±inf, empty axes), the same bits for any
 * thread count, typed errors, and the same results on the GPU (skipped without one).
 * test/composite.test.ts and test/sorting.test.ts hold the committed PyTorch fixtures.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F } = cc;

// ---- float64 references ---------------------------------------------------------------------

/** Each output's values (in order of the reduced axes), x's values in float64, reduced axes sorted. */
function groups(values: ArrayLike<number>, shape: number[], axes: number[]): number[][] {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outputs = keptShape.reduce((a, b) => a * b, 1);
  const out: number[][] = Array.from({ length: outputs }, () => []);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const n = shape.reduce((a, b) => a * b, 1);
  for (let e = 0; e < n; e++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) {
      const idx = Math.floor(e / strides[d]) % shape[d];
      o = o * keptShape[d] + (axes.includes(d) ? 0 : idx);
    }
    out[o].push(values[e]);
  }
  return out;
}

function normRef(v: number[], p: number): number {
  if (p === Infinity) return v.some(Number.isNaN) ? NaN : Math.max(0, ...v.map(Math.abs));
  if (p === -Infinity) return v.some(Number.isNaN) ? NaN : Math.min(Infinity, ...v.map(Math.abs));
  if (p === 0) return v.filter((x) => x !== 0).length;
  return v.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);
}

function logsumexpRef(v: number[]): number {
  const m = Math.max(-Infinity, ...v.filter((x) => !Number.isNaN(x)));
  const shift = Math.abs(m) === Infinity ? 0 : m;
  return Math.log(v.reduce((s, x) => s + Math.exp(x - shift), 0)) + shift;
}

const data = (t: cc.Tensor) => Array.from(t.dataSync());

/** x's values moved so that the elements of `axis` come last: [outer*inner rows of len]. */
function rowsAlong(values: ArrayLike<number>, shape: number[], axis: number): number[][] {
  return groups(values, shape, [axis]);
}

describe('norm (native vector norm) against a float64 reference', () => {
  const cases: { shape: number[]; dims: number[] }[] = [
    { shape: [7, 33], dims: [1] },              // rows
    { shape: [5, 6, 7], dims: [1] },            // columns (inner > 1)
    { shape: [2, 40000], dims: [1] },           // rows cut into blocks of 16384
    { shape: [3, 4, 5], dims: [0, 2] },         // not adjacent: permuted into a run
    { shape: [3, 4, 5], dims: [0, 1, 2] },      // everything
    { shape: [6, 20000], dims: [0, 1] },        // a full reduction in blocks
  ];
  for (const p of [2, 1, Infinity, -Infinity, 0, 0.5, 3]) {
    it(`p = ${p}: rows, columns, long rows, non-adjacent axes, keepdim`, () => {
      for (const { shape, dims } of cases) {
        const { t, v } = randomTensor(shape, 11 + shape.length, -2, 2);
        const vals = Array.from(v, Math.fround);
        if (p === 0) for (let i = 0; i < vals.length; i += 3) vals[i] = 0;
        const x = cc.tensor(Float32Array.from(vals), { shape });
        const expected = groups(vals, shape, dims).map((g) => normRef(g, p));
        for (const keepdim of [false, true]) {
          const y = cc.norm(x, { p, dim: dims, keepdim });
          expect(y.shape, `${shape} ${dims}`).to.deep.equal(keepdim ? shape.map((d, i) => (dims.includes(i) ? 1 : d)) : shape.filter((_, i) => !dims.includes(i)));
          expectClose(y.dataSync(), expected, p === 0.5 ? 2e-5 : 2e-6, 1e-6, `norm p=${p} ${shape} over ${dims}`);
        }
        t.dispose();
      }
    });
  }

  it('the default (all axes, p = 2), and an empty list of axes is all of them', () => {
    const x = cc.tensor([[3, 4], [0, 0]]);
    expect(cc.norm(x).item()).to.equal(5);
    expect(cc.norm(x, { dim: [] }).item()).to.equal(5);
    expect(cc.norm(cc.tensor(-2.5)).item()).to.equal(2.5);
  });
});

describe('norm: gradients and PyTorch semantics at the edges', () => {
  it('gradients match finite differences (every order, rows, columns, non-adjacent axes)', () => {
    // Values away from 0 (|x| and sgn(x) have a kink there) with distinct |x| (the inf norms' ties).
    const away = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => (((i * 7 + seed) % 5) < 2 ? -1 : 1) * (0.2 + 0.9 * (((i * 13 + seed) % n) / n)));
    for (const p of [2, 1, 3, 0.5, 1.5]) {
      tapeCheck(`norm p=${p} rows`, [{ shape: [3, 5], values: away(15, 1) }], ([x]) => cc.norm(x, { p, dim: 1 }));
      tapeCheck(`norm p=${p} columns`, [{ shape: [2, 4, 3], values: away(24, 2) }], ([x]) => cc.norm(x, { p, dim: 1, keepdim: true }));
      tapeCheck(`norm p=${p} axes 0, 2`, [{ shape: [2, 3, 4], values: away(24, 3) }], ([x]) => cc.norm(x, { p, dim: [0, 2] }));
    }
    const distinct = Float64Array.from({ length: 12 }, (_, i) => (i % 2 ? -1 : 1) * (0.3 + 0.13 * ((i * 5) % 12)));
    for (const p of [Infinity, -Infinity]) {
      tapeCheck(`norm p=${p}`, [{ shape: [3, 4], values: distinct }], ([x]) => cc.norm(x, { p, dim: 1 }));
      tapeCheck(`norm p=${p} columns`, [{ shape: [3, 4], values: distinct }], ([x]) => cc.norm(x, { p, dim: 0 }));
    }
  });

  it('zero vectors: gradient 0 (not NaN) for every order; p = 0 has a zero gradient', () => {
    for (const p of [2, 1, 3, 0.5, 1.5, Infinity, 0]) {
      const x = cc.zeros([2, 3], { requiresGrad: true });
      cc.norm(x, { p, dim: 1 }).sum().backward();
      expect(data(x.grad!), `p = ${p}`).to.deep.equal([0, 0, 0, 0, 0, 0]);
    }
    // x = 0 inside a nonzero vector: sgn(0) = 0, and |x|^(p-1) is not evaluated there for p < 1.
    for (const p of [0.5, 1, 1.5, 3]) {
      const x = cc.tensor([0, 2, -3], { requiresGrad: true });
      cc.norm(x, { p }).backward();
      expect(x.grad!.dataSync()[0], `p = ${p}`).to.equal(0);
    }
  });

  it("the inf norms' ties share the gradient; a NaN wins and its gradient is 0, as PyTorch's", () => {
    const x = cc.tensor([3, -3, 1], { requiresGrad: true });
    cc.norm(x, { p: Infinity }).backward();
    expect(data(x.grad!)).to.deep.equal([0.5, -0.5, 0]);
    const z = cc.tensor([1, -1, 3], { requiresGrad: true });
    cc.norm(z, { p: -Infinity }).backward();
    expect(data(z.grad!)).to.deep.equal([0.5, -0.5, 0]);
    const n = cc.tensor([1, NaN, 3], { requiresGrad: true });
    const y = cc.norm(n, { p: Infinity });
    expect(Number.isNaN(y.item())).to.equal(true);
    y.backward();
    expect(data(n.grad!)).to.deep.equal([0, 0, 0]);
  });

  it('NaN: the norm is NaN (p = 0 counts it); gradients as PyTorch (p = 1: sgn, NaN -> 0; others NaN)', () => {
    for (const p of [2, 3, 0.5]) {
      const x = cc.tensor([1, NaN, 0], { requiresGrad: true });
      const y = cc.norm(x, { p });
      expect(Number.isNaN(y.item()), `p = ${p}`).to.equal(true);
      y.backward();
      expect(data(x.grad!).every(Number.isNaN), `p = ${p} gradient`).to.equal(true);
    }
    const x = cc.tensor([1, NaN, 0], { requiresGrad: true });
    cc.norm(x, { p: 1 }).backward();
    expect(data(x.grad!)).to.deep.equal([1, 0, 0]);
    expect(cc.norm(cc.tensor([NaN, 0, 1, -2]), { p: 0 }).item()).to.equal(3);
  });

  it('empty: an empty axis gives 0 (p = 2, 1, 0, 3), an empty output is empty; the inf norms refuse an empty axis', () => {
    for (const p of [2, 1, 0, 3]) {
      expect(data(cc.norm(cc.zeros([2, 0]), { p, dim: 1 }))).to.deep.equal([0, 0]);
      expect(cc.norm(cc.zeros([0, 3]), { p, dim: 1 }).shape).to.deep.equal([0]);
    }
    expect(cc.norm(cc.zeros([0, 3]), { p: Infinity, dim: 1 }).shape).to.deep.equal([0]);
    expectError(() => cc.norm(cc.zeros([2, 0]), { p: Infinity, dim: 1 }), 'E_SHAPE', /inf norm over axis 1 of size 0/);
    expectError(() => cc.norm(cc.zeros([0]), { p: -Infinity }), 'E_SHAPE', /-inf norm/);
  });

  it('rows and columns agree on large values (squares up to the float range, as PyTorch, whose rows give inf past it)', () => {
    const x = cc.tensor([[3e18, 4e18], [4e18, 3e18]]);
    expectClose(data(cc.norm(x, { dim: 1 })), [5e18, 5e18], 1e-6, 0);
    expectClose(data(cc.norm(x, { dim: 0 })), [5e18, 5e18], 1e-6, 0);
  });
});

describe('logsumexp (native) against a float64 reference', () => {
  it('rows, columns, long rows, non-adjacent axes, keepdim; large values do not overflow', () => {
    const cases: { shape: number[]; dims: number[]; scale: number }[] = [
      { shape: [6, 50], dims: [1], scale: 3 },
      { shape: [4, 5, 6], dims: [1], scale: 3 },
      { shape: [2, 40000], dims: [1], scale: 10 },
      { shape: [3, 4, 5], dims: [0, 2], scale: 3 },
      { shape: [3, 4, 5], dims: [0, 1, 2], scale: 3 },
      { shape: [3, 7], dims: [1], scale: 1000 },
    ];
    for (const { shape, dims, scale } of cases) {
      const { v } = randomTensor(shape, 5 + shape[0], -scale, scale);
      const vals = Array.from(v, Math.fround);
      const x = cc.tensor(Float32Array.from(vals), { shape });
      const expected = groups(vals, shape, dims).map(logsumexpRef);
      for (const keepdim of [false, true]) {
        const y = cc.logsumexp(x, dims, keepdim);
        expect(y.shape).to.deep.equal(keepdim ? shape.map((d, i) => (dims.includes(i) ? 1 : d)) : shape.filter((_, i) => !dims.includes(i)));
        expectClose(y.dataSync(), expected, 1e-6, 1e-6, `logsumexp ${shape} over ${dims}`);
      }
    }
  });

  it('gradients match finite differences; the gradient is dy times the softmax', () => {
    tapeCheck('logsumexp rows', [{ shape: [3, 6] }], ([x]) => cc.logsumexp(x.mul(3), 1));
    tapeCheck('logsumexp columns', [{ shape: [2, 4, 3] }], ([x]) => cc.logsumexp(x.mul(3), 1, true));
    tapeCheck('logsumexp axes 0, 2', [{ shape: [2, 3, 4] }], ([x]) => cc.logsumexp(x, [0, 2]));
    const x = cc.tensor([[1, 2, 3], [0, 0, 0]], { requiresGrad: true });
    cc.logsumexp(x, 1).backward(cc.tensor([2, 1]));
    const e = [1, 2, 3].map(Math.exp), s = e[0] + e[1] + e[2];
    expectClose(data(x.grad!), [...e.map((v) => (2 * v) / s), 1 / 3, 1 / 3, 1 / 3], 1e-6, 1e-7);
  });

  it('-inf rows give -inf (gradient NaN), +inf gives +inf, NaN propagates, empty rows give -inf (as PyTorch)', () => {
    const x = cc.tensor([[-Infinity, -Infinity, -Infinity], [Infinity, 1, -Infinity], [NaN, 1, 2], [Infinity, NaN, 0]], { requiresGrad: true });
    const y = cc.logsumexp(x, 1);
    const v = data(y);
    expect(v[0]).to.equal(-Infinity);
    expect(v[1]).to.equal(Infinity);
    expect(Number.isNaN(v[2]) && Number.isNaN(v[3])).to.equal(true);
    y.backward(cc.ones([4]));
    const g = data(x.grad!);
    expect(g.slice(0, 3).every(Number.isNaN)).to.equal(true);                 // exp(-inf - -inf)
    expect(Number.isNaN(g[3]) && g[4] === 0 && g[5] === 0).to.equal(true);      // exp(inf - inf), exp(1 - inf)
    expect(data(cc.logsumexp(cc.zeros([2, 0]), 1))).to.deep.equal([-Infinity, -Infinity]);
    expect(cc.logsumexp(cc.zeros([0, 3]), 1).shape).to.deep.equal([0]);
    // A long row (blocks) of -inf, and one whose maximum sits in its last block.
    const long = new Float32Array(2 * 40000).fill(-Infinity);
    long[40000 + 39999] = 5;
    expect(data(cc.logsumexp(cc.tensor(long, { shape: [2, 40000] }), 1))).to.deep.equal([-Infinity, 5]);
  });
});

describe('F.normalize (native) against a float64 reference', () => {
  const normalizeRef = (vals: number[], shape: number[], axis: number, p: number, eps: number) => {
    const out = new Array<number>(vals.length);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const rows = rowsAlong(vals, shape, axis);
    const inner = strides[axis], len = shape[axis];
    rows.forEach((row, r) => {
      const d = Math.max(normRef(row, p), eps);
      const o = Math.floor(r / inner), i = r % inner;
      row.forEach((v, k) => { out[(o * len + k) * inner + i] = v / d; });
    });
    return out;
  };

  it('rows, columns (NCHW over C), long rows; p = 2, 1, inf, 3; eps', () => {
    const cases: { shape: number[]; dim: number }[] = [
      { shape: [9, 37], dim: 1 }, { shape: [2, 5, 3, 4], dim: 1 }, { shape: [2, 20000], dim: 1 }, { shape: [4, 6], dim: 0 },
    ];
    for (const p of [2, 1, Infinity, 3]) {
      for (const { shape, dim } of cases) {
        const { v } = randomTensor(shape, 3 + dim, -1, 1);
        const vals = Array.from(v, Math.fround);
        const x = cc.tensor(Float32Array.from(vals), { shape });
        expectClose(F.normalize(x, { p, dim }).dataSync(), normalizeRef(vals, shape, dim, p, 1e-12), 2e-6, 1e-7, `normalize p=${p} ${shape} dim ${dim}`);
        expectClose(F.normalize(x, { p, dim, eps: 5 }).dataSync(), normalizeRef(vals, shape, dim, p, 5), 2e-6, 1e-7, `normalize eps 5 p=${p} ${shape}`);
      }
    }
  });

  it('gradients match finite differences (rows, columns, every p, the eps clamp)', () => {
    const away = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => (((i * 7 + seed) % 5) < 2 ? -1 : 1) * (0.2 + 0.9 * (((i * 13 + seed) % n) / n)));
    for (const p of [2, 1, 3, 1.5]) {
      tapeCheck(`normalize p=${p}`, [{ shape: [3, 5], values: away(15, 4) }], ([x]) => F.normalize(x, { p }));
      tapeCheck(`normalize p=${p} columns`, [{ shape: [2, 3, 4], values: away(24, 5) }], ([x]) => F.normalize(x, { p, dim: 1 }));
    }
    const distinct = Float64Array.from({ length: 12 }, (_, i) => (i % 2 ? -1 : 1) * (0.3 + 0.13 * ((i * 5) % 12)));
    tapeCheck('normalize p=inf', [{ shape: [3, 4], values: distinct }], ([x]) => F.normalize(x, { p: Infinity }));
    tapeCheck('normalize clamped by eps', [{ shape: [3, 4] }], ([x]) => F.normalize(x, { eps: 10 }));
  });

  it("PyTorch's values at the clamp, at zero vectors and for NaN", () => {
    // PyTorch 1.13, float64 from these float32 inputs: F.normalize(x) and its gradient for dy.
    const x = cc.tensor([[1e-13, 0, 0], [3, 4, 0]], { requiresGrad: true });
    const y = F.normalize(x);
    expectClose(data(y), [0.099999998245167, 0, 0, 0.6, 0.8, 0], 1e-6, 1e-9);
    y.backward(cc.tensor([[1, 2, 3], [0.5, -1, 2]]));
    expectClose(data(x.grad!), [1e12, 2e12, 3e12, 0.16, -0.12, 0.4], 1e-6, 1e-6);
    const n = cc.tensor([[NaN, 1], [3, 4]], { requiresGrad: true });
    const yn = F.normalize(n);
    expect(data(yn).slice(0, 2).every(Number.isNaN)).to.equal(true);
    yn.sum().backward();
    expect(data(n.grad!).slice(0, 2).every(Number.isNaN)).to.equal(true);
    expect(data(n.grad!).slice(2).every(Number.isFinite)).to.equal(true);
    expect(F.normalize(cc.zeros([0, 3])).shape).to.deep.equal([0, 3]);
    expect(F.normalize(cc.zeros([2, 0])).shape).to.deep.equal([2, 0]);
  });
});

describe('F.cosineSimilarity (native) against a float64 reference', () => {
  const cosRef = (a: number[], b: number[], eps: number) => {
    let aa = 0, bb = 0, ab = 0;
    a.forEach((u, i) => { aa += u * u; bb += b[i] * b[i]; ab += u * b[i]; });
    return ab / (Math.sqrt(Math.max(aa, eps * eps)) * Math.sqrt(Math.max(bb, eps * eps)));
  };

  it('rows, columns, long rows, dim 0, eps', () => {
    const cases: { shape: number[]; dim: number }[] = [
      { shape: [11, 29], dim: 1 }, { shape: [2, 5, 6], dim: 1 }, { shape: [3, 20000], dim: 1 }, { shape: [7, 4], dim: 0 },
    ];
    for (const { shape, dim } of cases) {
      const ta = randomTensor(shape, 21, -1, 1), tb = randomTensor(shape, 22, -1, 1);
      const a = Array.from(ta.v, Math.fround), b = Array.from(tb.v, Math.fround);
      const ra = rowsAlong(a, shape, dim), rb = rowsAlong(b, shape, dim);
      for (const eps of [1e-8, 3]) {
        const y = F.cosineSimilarity(ta.t, tb.t, { dim, eps });
        expect(y.shape).to.deep.equal(shape.filter((_, i) => i !== dim));
        expectClose(y.dataSync(), ra.map((r, i) => cosRef(r, rb[i], eps)), 2e-6, 1e-7, `cos ${shape} dim ${dim} eps ${eps}`);
      }
    }
  });

  it('broadcasts (each operand expanded, its gradient summed back), as PyTorch', () => {
    const a = cc.randn([4, 3]), b = cc.randn([3]);
    const y = F.cosineSimilarity(a, b, { dim: -1 });
    expect(y.shape).to.deep.equal([4]);
    const ref = F.cosineSimilarity(a, b.reshape([1, 3]).expand([4, 3]), { dim: 1 });
    expectBitIdentical(y.dataSync(), ref.dataSync(), 'broadcast');
    tapeCheck('cos broadcast', [{ shape: [4, 3] }, { shape: [1, 3] }], ([u, v]) => F.cosineSimilarity(u, v));
    // The axis may be one an operand lacks (PyTorch expands both first): [3] along dim 0 of [2, 3].
    const c = cc.randn([2, 3]), d = cc.randn([3]);
    expectBitIdentical(F.cosineSimilarity(c, d, { dim: 0 }).dataSync(), F.cosineSimilarity(c, d.reshape([1, 3]).expand([2, 3]), { dim: 0 }).dataSync(), 'dim 0');
    expectError(() => F.cosineSimilarity(cc.zeros([2, 3]), cc.zeros([3]), { dim: 2 }), 'E_ARG', /dim/);
  });

  it('gradients match finite differences (rows, columns, dim 0)', () => {
    tapeCheck('cos rows', [{ shape: [4, 6] }, { shape: [4, 6] }], ([a, b]) => F.cosineSimilarity(a, b));
    tapeCheck('cos columns', [{ shape: [2, 5, 3] }, { shape: [2, 5, 3] }], ([a, b]) => F.cosineSimilarity(a, b, { dim: 1 }));
    tapeCheck('cos dim 0', [{ shape: [5, 2] }, { shape: [5, 2] }], ([a, b]) => F.cosineSimilarity(a, b, { dim: 0 }));
  });

  it("PyTorch 1.13's gradient where eps clamps a norm (the clamp is not differentiated), zero vectors, NaN", () => {
    // PyTorch 1.13 in float64 from these float32 inputs (F.cosine_similarity(a, b, eps=1e-8)).
    const a = cc.tensor([[1e-9, 2e-9, 0], [1, 2, 3]], { requiresGrad: true });
    const b = cc.tensor([[1, 0.5, -1], [0.5, 1, 2]], { requiresGrad: true });
    const y = F.cosineSimilarity(a, b, { eps: 1e-8 });
    expectClose(data(y), [0.13333332956240912, 0.9914601339836674], 1e-6, 1e-8);
    y.sum().backward();
    expectClose(data(a.grad!), [65333333.408751816, 30666666.81750363, -66666666.666666664, -0.012497396646852961, -0.024994793293705922, 0.020828994411421553], 1e-5, 1e-7);
    expectClose(data(b.grad!), [0.007407407197911622, 0.10370370077076267, 0.05925925758329295, 0.02221759403884968, 0.04443518807769936, -0.027771992548562163], 1e-5, 1e-8);
    const z = cc.zeros([1, 2], { requiresGrad: true }), w = cc.zeros([1, 2], { requiresGrad: true });
    const yz = F.cosineSimilarity(z, w);
    expect(data(yz)).to.deep.equal([0]);
    yz.sum().backward();
    expect(data(z.grad!)).to.deep.equal([0, 0]);
    expect(Number.isNaN(F.cosineSimilarity(cc.zeros([1, 3]), cc.zeros([1, 3]), { eps: 0 }).item())).to.equal(true);
    const n = F.cosineSimilarity(cc.tensor([[NaN, 1], [1, 0]]), cc.tensor([[1, 1], [1, 0]]));
    expect(Number.isNaN(data(n)[0])).to.equal(true);
    expect(data(n)[1]).to.equal(1);
    expect(F.cosineSimilarity(cc.zeros([0, 3]), cc.zeros([0, 3])).shape).to.deep.equal([0]);
    expect(data(F.cosineSimilarity(cc.zeros([2, 0]), cc.zeros([2, 0])))).to.deep.equal([0, 0]);
  });
});

describe('the row ops give the same bits for any thread count', () => {
  it('forward and backward of norm, logsumexp, normalize and cosineSimilarity on 1, 2 and 3 threads', () => {
    const shapes = [[1024, 512], [3, 40000], [4, 64, 9], [2, 100000]];
    const run = (): Float32Array[] => {
      const out: Float32Array[] = [];
      for (const [k, shape] of shapes.entries()) {
        const a = randomCpu(shape, 50 + k), b = randomCpu(shape, 60 + k);
        const x = a.detach(), y = b.detach();
        x.requiresGrad = true;
        y.requiresGrad = true;
        for (const p of [2, 1, Infinity, 3]) {
          const n = cc.norm(x, { p, dim: 1 });
          n.backward(randomCpu(n.shape, 7));
          out.push(n.dataSync(), x.grad!.dataSync());
          x.zeroGrad();
        }
        const l = cc.logsumexp(x, 1);
        l.backward(randomCpu(l.shape, 8));
        out.push(l.dataSync(), x.grad!.dataSync());
        x.zeroGrad();
        const u = F.normalize(x);
        u.backward(randomCpu(u.shape, 9));
        out.push(u.dataSync(), x.grad!.dataSync());
        x.zeroGrad();
        const c = F.cosineSimilarity(x, y);
        c.backward(randomCpu(c.shape, 10));
        out.push(c.dataSync(), x.grad!.dataSync(), y.grad!.dataSync());
        x.zeroGrad();
        y.zeroGrad();
        out.push(cc.norm(a).dataSync(), cc.logsumexp(a, [0, 1]).dataSync());
      }
      return out;
    };
    const before = cc.getNumThreads();
    const results: Float32Array[][] = [];
    try {
      for (const n of [1, 2, 3]) {
        cc.setNumThreads(n);
        results.push(run());
      }
    } finally {
      cc.setNumThreads(before);
    }
    for (const r of results.slice(1)) r.forEach((t, i) => expectBitIdentical(t, results[0][i], `result ${i}`));
  });
});

describe('the row ops refuse bad arguments with typed errors', () => {
  it('in lib/ and at the native boundary', () => {
    const x = cc.zeros([2, 3]);
    expectError(() => cc.norm(x, { p: -2 }), 'E_ARG', /`p`/);
    expectError(() => cc.norm(x, { p: NaN }), 'E_ARG');
    expectError(() => cc.norm(cc.zeros([2], 'int32')), 'E_DTYPE');
    expectError(() => cc.logsumexp(x, [0, 0]), 'E_ARG', /twice/);
    expectError(() => F.normalize(x, { p: 0 }), 'E_ARG', /p/);
    expectError(() => F.normalize(x, { eps: Infinity }), 'E_ARG');
    expectError(() => F.cosineSimilarity(cc.tensor(1), cc.tensor(2)), 'E_SHAPE', /scalars/);
    expectError(() => F.cosineSimilarity(x, cc.zeros([2, 3], 'int32')), 'E_DTYPE');
    const h = x.handle('test'), c = cc.zeros([2, 3, 4]).handle('test');
    expectError(() => native.vectorNorm(c, [0, 2], 2, false), 'E_ARG', /adjacent/);
    expectError(() => native.vectorNorm(h, [1], -1, false), 'E_ARG', /`p`/);
    expectError(() => native.logsumexp(c, [0, 2], false), 'E_ARG', /adjacent/);
    expectError(() => native.vectorNormBackward(cc.zeros([3]).handle('t'), h, cc.zeros([2]).handle('t'), [1], 2), 'E_SHAPE', /dy/);
    expectError(() => native.logsumexpBackward(cc.zeros([2]).handle('t'), h, cc.zeros([3]).handle('t'), [1]), 'E_SHAPE');
    expectError(() => native.normalizeForward(cc.tensor(1).handle('t'), 0, 2, 1e-12), 'E_SHAPE', /scalar/);
    expectError(() => native.normalizeForward(h, 2, 2, 1e-12), 'E_ARG');
    expectError(() => native.normalizeBackward(cc.zeros([3, 2]).handle('t'), h, 1, 2, 1e-12), 'E_SHAPE', /same shape/);
    expectError(() => native.cosineSimilarityForward(h, cc.zeros([3, 2]).handle('t'), 1, 1e-8), 'E_SHAPE', /same shape/);
    expectError(() => native.cosineSimilarityBackward(cc.zeros([3]).handle('t'), h, h, 1, 1e-8), 'E_SHAPE', /dy/);
    // cdist's kernel takes one batch shape and one width (lib/ broadcasts first).
    expectError(() => native.cdistEuclidean(h, cc.zeros([3, 4]).handle('t')), 'E_SHAPE', /one batch shape/);
    expectError(() => native.cdistEuclidean(cc.zeros([2, 2, 2]).handle('t'), cc.zeros([3, 4, 2]).handle('t')), 'E_SHAPE', /one batch shape/);
    expectError(() => native.cdistEuclidean(cc.zeros([2]).handle('t'), cc.zeros([2]).handle('t')), 'E_SHAPE');
    expectError(() => native.cdistEuclidean(cc.zeros([2, 3], 'int32').handle('t'), h), 'E_DTYPE');
  });
});

describeCuda('the row ops on the GPU', () => {
  it('match the CPU, with gradients (rows, columns, long rows, non-adjacent axes)', () => {
    const rows = randomCpu([64, 300], 71), cols = randomCpu([3, 8, 50], 72), long = randomCpu([2, 40000], 73);
    for (const p of [2, 1, Infinity, -Infinity, 3, 0.5]) {
      compareDevices((t) => cc.norm(t, { p, dim: 1 }), [rows], { grads: true, what: `norm p=${p} rows` });
      compareDevices((t) => cc.norm(t, { p, dim: 1 }), [cols], { grads: true, what: `norm p=${p} columns` });
      compareDevices((t) => cc.norm(t, { p, dim: [0, 2] }), [cols], { grads: true, what: `norm p=${p} axes 0, 2` });
    }
    compareDevices((t) => cc.norm(t, { p: 0, dim: 1 }), [rows], { what: 'norm p=0' });
    compareDevices((t) => cc.norm(t), [long], { grads: true, what: 'norm of everything (blocks)' });
    compareDevices((t) => cc.logsumexp(t.mul(5), 1), [rows], { grads: true, what: 'logsumexp rows' });
    compareDevices((t) => cc.logsumexp(t.mul(5), 1), [cols], { grads: true, what: 'logsumexp columns' });
    compareDevices((t) => cc.logsumexp(t.mul(5), 1), [long], { grads: true, what: 'logsumexp long rows' });
    for (const p of [2, 1, Infinity, 3]) {
      compareDevices((t) => F.normalize(t, { p }), [rows], { grads: true, what: `normalize p=${p}` });
      compareDevices((t) => F.normalize(t, { p, dim: 1 }), [cols], { grads: true, what: `normalize p=${p} columns` });
    }
    compareDevices((t) => F.normalize(t, { eps: 30 }), [rows], { grads: true, what: 'normalize clamped' });
    compareDevices((a, b) => F.cosineSimilarity(a, b), [rows, randomCpu([64, 300], 74)], { grads: true, what: 'cos rows' });
    compareDevices((a, b) => F.cosineSimilarity(a, b, { dim: 1 }), [cols, randomCpu([3, 8, 50], 75)], { grads: true, what: 'cos columns' });
    compareDevices((a, b) => F.cosineSimilarity(a, b), [long, randomCpu([2, 40000], 76)], { grads: true, what: 'cos long rows' });
  });

  it('more rows than the 2^20 blocks of row_reduce.cuh\'s chunk kernel: each block loops over rows', () => {
    // chunk_partials caps its grid at 2^20 blocks; only here does a block take a second row.
    cc.manualSeed(43);
    const x = cc.rand([(1 << 20) + 7, 3], -1, 1), y = cc.rand([(1 << 20) + 7, 3], -1, 1);
    compareDevices((t) => cc.norm(t, { dim: 1 }), [x], { grads: true, what: 'norm of 2^20 + 7 rows' });
    compareDevices((t) => cc.logsumexp(t, 1), [x], { grads: true, what: 'logsumexp of 2^20 + 7 rows' });
    compareDevices((a, b) => F.cosineSimilarity(a, b), [x, y], { grads: true, what: 'cos of 2^20 + 7 rows' });
  });

  it('keep the edge semantics: NaN, -inf rows, zero vectors, empty axes', () => {
    const x = cc.tensor([[NaN, 1, 2], [-Infinity, -Infinity, -Infinity], [0, 0, 0]]).to('cuda');
    const l = data(cc.logsumexp(x, 1));
    expect(Number.isNaN(l[0]) && l[1] === -Infinity).to.equal(true);
    expectClose([l[2]], [Math.log(3)], 1e-6, 0);
    const n = data(cc.norm(x, { dim: 1 }));
    expect(Number.isNaN(n[0]) && n[1] === Infinity && n[2] === 0).to.equal(true);
    expect(data(cc.norm(x, { p: 0, dim: 1 }))).to.deep.equal([3, 3, 0]);
    const z = cc.zeros([2, 3], { requiresGrad: true, device: 'cuda' });
    cc.norm(z, { dim: 1 }).sum().backward();
    expect(data(z.grad!)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(data(cc.logsumexp(cc.zeros([2, 0], { device: 'cuda' }), 1))).to.deep.equal([-Infinity, -Infinity]);
    expectError(() => cc.norm(cc.zeros([2, 0], { device: 'cuda' }), { p: Infinity, dim: 1 }), 'E_SHAPE');
  });
});

