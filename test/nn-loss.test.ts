import { expect } from 'chai';
import * as cc from '../lib';
import * as L from '../lib/nn/functional/loss';
import { expectBitIdentical, expectClose, expectError, expectRejects, gradCheck, loadFixture, randomTensor, rng, sizeOf } from './helpers';

const { F, nn } = cc;
type Red = 'mean' | 'sum' | 'none';
type F32 = cc.Tensor<'float32'>;
const REDUCTIONS: Red[] = ['mean', 'sum', 'none'];

// ---- float64 references, written from the formulas ---------------------------------------------

/** The reduced loss from per-sample values: none → the values, mean → sum / denominator. */
function reduce(per: number[], reduction: string, denominator: number): number[] {
  if (reduction === 'none') return per;
  const total = per.reduce((a, b) => a + b, 0);
  return [reduction === 'sum' ? total : total / denominator];
}
/** d loss / d per-sample value i. */
function scaleOf(reduction: string, dloss: ArrayLike<number>, denominator: number): (i: number) => number {
  if (reduction === 'none') return (i) => dloss[i];
  return () => (reduction === 'sum' ? dloss[0] : dloss[0] / denominator);
}
const labelsOf = (values: number[], shape?: number[]) => cc.tensor(values, { dtype: 'int32', shape: shape ?? [values.length] });
function randomLabels(n: number, classes: number, seed: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => Math.floor(next() * classes));
}
const dlossFor = (reduction: string, perSample: number[], seed: number): { t: F32; v: Float64Array } =>
  reduction === 'none' ? randomTensor(perSample, seed) : { t: cc.tensor(0.625, { shape: [] }) as F32, v: Float64Array.of(0.625) };

interface ClassOpts { weight?: number[]; ignoreIndex?: number; labelSmoothing?: number; reduction?: Red }

/** Cross-entropy (or NLL when `logProbs`) over x [N, C, d...], per PyTorch. */
function classRef(x: Float64Array, shape: number[], target: number[], o: ClassOpts, dloss: ArrayLike<number>, nll = false) {
  const [N, C] = shape, S = sizeOf(shape.slice(2)), ls = o.labelSmoothing ?? 0, ignore = o.ignoreIndex ?? -100;
  const w = (c: number) => (o.weight ? o.weight[c] : 1);
  let W = 0;
  for (let c = 0; c < C; c++) W += w(c);
  const per: number[] = [], lse: number[] = [];
  let den = 0;
  for (let i = 0; i < N * S; i++) {
    const at = (c: number) => x[Math.floor(i / S) * C * S + c * S + (i % S)];
    const t = target[i];
    let m = -Infinity, s = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, at(c));
    for (let c = 0; c < C; c++) s += Math.exp(at(c) - m);
    lse.push(m + Math.log(s));
    if (t === ignore) { per.push(0); continue; }
    den += w(t);
    if (nll) { per.push(-w(t) * at(t)); continue; }
    let smooth = 0;
    for (let c = 0; c < C; c++) smooth -= w(c) * (at(c) - lse[i]);
    per.push((1 - ls) * -w(t) * (at(t) - lse[i]) + (ls / C) * smooth);
  }
  const red = o.reduction ?? 'mean';
  const g = scaleOf(red, dloss, den);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < N * S; i++) {
    const t = target[i];
    if (t === ignore) continue;
    const idx = (c: number) => Math.floor(i / S) * C * S + c * S + (i % S);
    if (nll) { dx[idx(t)] = -w(t) * g(i); continue; }
    for (let c = 0; c < C; c++) {
      const p = Math.exp(x[idx(c)] - lse[i]);
      dx[idx(c)] = g(i) * (p * ((1 - ls) * w(t) + (ls * W) / C) - (c === t ? (1 - ls) * w(t) : 0) - (ls / C) * w(c));
    }
  }
  return { loss: reduce(per, red, den), dx };
}

function hingeRef(x: Float64Array, N: number, C: number, target: number[], p: number, margin: number, reduction: Red, dloss: ArrayLike<number>) {
  const per: number[] = [];
  const dx = new Float64Array(x.length);
  const g = scaleOf(reduction, dloss, N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) {
      const delta = j === target[i] ? 1 : -1;
      const z = Math.max(0, margin - delta * x[i * C + j]);
      s += z ** p;
      dx[i * C + j] = z > 0 ? -delta * p * z ** (p - 1) : 0;
    }
    per.push(s);
  }
  for (let i = 0; i < N * C; i++) dx[i] *= g(Math.floor(i / C));
  return { loss: reduce(per, reduction, N), dx };
}

function multiMarginRef(x: Float64Array, N: number, C: number, target: number[], p: number, margin: number, weight: number[] | undefined, reduction: Red, dloss: ArrayLike<number>) {
  const per: number[] = [];
  const dx = new Float64Array(x.length);
  const g = scaleOf(reduction, dloss, N);
  for (let i = 0; i < N; i++) {
    const y = target[i], wy = weight ? weight[y] : 1;
    let s = 0;
    for (let j = 0; j < C; j++) {
      if (j === y) continue;
      const z = margin - x[i * C + y] + x[i * C + j];
      if (z <= 0) continue;
      s += wy * z ** p;
      const d = (g(i) * wy * p * z ** (p - 1)) / C;
      dx[i * C + j] += d;
      dx[i * C + y] -= d;
    }
    per.push(s / C);
  }
  return { loss: reduce(per, reduction, N), dx };
}

function contrastiveRef(a: Float64Array, b: Float64Array, N: number, D: number, y: number[], margin: number, reduction: Red, dloss: ArrayLike<number>) {
  const per: number[] = [];
  const da = new Float64Array(a.length);
  const g = scaleOf(reduction, dloss, N);
  for (let i = 0; i < N; i++) {
    let d2 = 0;
    for (let k = 0; k < D; k++) d2 += (a[i * D + k] - b[i * D + k]) ** 2;
    const d = Math.sqrt(d2), gap = Math.max(0, margin - d);
    per.push(0.5 * (y[i] * d2 + (1 - y[i]) * gap * gap));
    const coef = g(i) * (y[i] - (d > 0 ? ((1 - y[i]) * gap) / d : 0));
    for (let k = 0; k < D; k++) da[i * D + k] = coef * (a[i * D + k] - b[i * D + k]);
  }
  return { loss: reduce(per, reduction, N), da, db: da.map((v) => -v) };
}

interface TripletOpts { margin?: number; p?: 1 | 2; eps?: number; swap?: boolean; squared?: boolean; reduction?: Red }
function tripletRef(a: Float64Array, pos: Float64Array, neg: Float64Array, N: number, D: number, o: TripletOpts, dloss: ArrayLike<number>) {
  const m = o.margin ?? 1, p = o.p ?? 2, eps = o.squared ? 0 : o.eps ?? 1e-6, red = o.reduction ?? 'mean';
  const g = scaleOf(red, dloss, N);
  const dist = (x: Float64Array, y: Float64Array, i: number) => {
    let s = 0;
    for (let k = 0; k < D; k++) {
      const u = x[i * D + k] - y[i * D + k] + eps;
      s += p === 1 && !o.squared ? Math.abs(u) : u * u;
    }
    return p === 2 && !o.squared ? Math.sqrt(s) : s;
  };
  const grad = (u: number, d: number) => (o.squared ? 2 * u : p === 1 ? Math.sign(u) : d > 0 ? u / d : 0);
  const per: number[] = [];
  const [da, dp, dn] = [new Float64Array(a.length), new Float64Array(a.length), new Float64Array(a.length)];
  for (let i = 0; i < N; i++) {
    const dap = dist(a, pos, i), dan = dist(a, neg, i), dpn = o.swap ? dist(pos, neg, i) : Infinity;
    const dneg = Math.min(dan, dpn);
    per.push(Math.max(0, m + dap - dneg));
    const gi = m + dap - dneg >= 0 ? g(i) : 0;
    const gan = !o.swap || dan < dpn ? -gi : dan === dpn ? -gi / 2 : 0;
    const gpn = o.swap ? (dpn < dan ? -gi : dan === dpn ? -gi / 2 : 0) : 0;
    for (let k = 0; k < D; k++) {
      const j = i * D + k;
      const ap = grad(a[j] - pos[j] + eps, dap) * gi, an = grad(a[j] - neg[j] + eps, dan) * gan;
      const pn = gpn ? grad(pos[j] - neg[j] + eps, dpn) * gpn : 0;
      da[j] = ap + an;
      dp[j] = -ap + pn;
      dn[j] = -an - pn;
    }
  }
  return { loss: reduce(per, red, N), da, dp, dn };
}

function klRef(x: Float64Array, t: Float64Array, shape: number[], reduction: Red | 'batchmean', logTarget: boolean, dloss: ArrayLike<number>) {
  const per = Array.from(x, (xi, i) => (logTarget ? Math.exp(t[i]) * (t[i] - xi) : (t[i] === 0 ? 0 : t[i] * Math.log(t[i])) - t[i] * xi));
  const den = reduction === 'batchmean' ? shape[0] : x.length;
  const red = reduction === 'batchmean' ? 'mean' : reduction;
  const g = scaleOf(red, dloss, den);
  const dx = Float64Array.from(x, (_, i) => -(logTarget ? Math.exp(t[i]) : t[i]) * g(i));
  const dt = Float64Array.from(x, (xi, i) => (logTarget ? g(i) * Math.exp(t[i]) * (t[i] - xi + 1) : t[i] === 0 ? NaN : g(i) * (Math.log(t[i]) + 1 - xi)));
  return { loss: reduce(per, red, den), dx, dt };
}

// ---- tests ---------------------------------------------------------------------------------------

describe('F: losses', () => {
  afterEach(() => cc.setNumThreads(require('os').cpus().length));

  describe('crossEntropy and nllLoss', () => {
    const CASES: { shape: number[]; o: ClassOpts; ignoreEvery?: number }[] = [
      { shape: [1, 1], o: {} },
      { shape: [7, 5], o: {} },
      { shape: [7, 5], o: { weight: [0.5, 1, 2, 0.25, 1.5] } },
      { shape: [9, 4], o: { ignoreIndex: 2 } },
      { shape: [9, 4], o: { ignoreIndex: -100 }, ignoreEvery: 3 },
      { shape: [6, 6], o: { labelSmoothing: 0.1 } },
      { shape: [8, 3], o: { labelSmoothing: 0.3, weight: [1, 2, 3], ignoreIndex: -1 }, ignoreEvery: 4 },
      { shape: [3, 4, 5], o: { weight: [1, 0.5, 2, 1] } },                                  // K = 1
      { shape: [2, 3, 4, 5], o: { labelSmoothing: 0.2, ignoreIndex: 7 }, ignoreEvery: 5 },  // K = 2
      // segmentation-like: blocks of 256 positions and a remainder (Note [cross-entropy over positions])
      { shape: [2, 21, 19, 33], o: { ignoreIndex: 255 }, ignoreEvery: 7 },
      { shape: [1, 700, 5, 7], o: { weight: Array.from({ length: 700 }, (_, c) => 0.5 + (c % 3)), labelSmoothing: 0.1 } },
      { shape: [40, 1000], o: { labelSmoothing: 0.05 } },
      { shape: [5, 37], o: { ignoreIndex: 0 }, ignoreEvery: 1 },                             // all ignored
    ];
    for (const [k, c] of CASES.entries()) {
      for (const reduction of REDUCTIONS) {
        it(`match a float64 reference: ${JSON.stringify(c.shape)} ${JSON.stringify(c.o)} ${reduction}`, () => {
          const o = { ...c.o, reduction };
          const perSample = [c.shape[0], ...c.shape.slice(2)];
          const target = randomLabels(sizeOf(perSample), c.shape[1], 100 + k);
          if (c.ignoreEvery) for (let i = 0; i < target.length; i += c.ignoreEvery) target[i] = o.ignoreIndex ?? -100;
          const { t: x, v } = randomTensor(c.shape, 10 + k, -4, 4);
          const tt = labelsOf(target, perSample);
          const d = dlossFor(reduction, perSample, 50 + k);
          const topts = { ...o, weight: o.weight && cc.tensor(o.weight) };
          const ref = classRef(v, c.shape, target, o, d.v);
          const loss = F.crossEntropy(x, tt, topts);
          expect(loss.shape).to.deep.equal(reduction === 'none' ? perSample : []);
          expectClose(loss.dataSync(), ref.loss, 2e-5, 1e-6, 'crossEntropy');
          expectClose(L.crossEntropyBackward(d.t, x, tt, topts).dataSync(), ref.dx, 2e-4, 1e-6, 'crossEntropy dx');
          if (!o.labelSmoothing) {
            const nref = classRef(v, c.shape, target, o, d.v, true);
            expectClose(F.nllLoss(x, tt, topts).dataSync(), nref.loss, 1e-6, 1e-6, 'nllLoss');
            expectClose(L.nllLossBackward(d.t, x, tt, topts).dataSync(), nref.dx, 1e-6, 1e-7, 'nllLoss dx');
          }
          if (c.ignoreEvery === 1 && reduction === 'mean') expect(Number.isNaN(loss.dataSync()[0])).to.equal(true);
        });
      }
    }

    it('pass finite-difference gradient checks', () => {
      for (const [shape, o] of [[[4, 5], { weight: [1, 2, 0.5, 1, 1], labelSmoothing: 0.2 }], [[2, 3, 2, 2], { ignoreIndex: 1 }]] as [number[], ClassOpts][]) {
        const perSample = [shape[0], ...shape.slice(2)];
        const target = labelsOf(randomLabels(sizeOf(perSample), shape[1], 3), perSample);
        const { v } = randomTensor(shape, 4, -2, 2);
        for (const reduction of REDUCTIONS) {
          const opts = { ...o, reduction, weight: o.weight && cc.tensor(o.weight) };
          gradCheck({
            what: `crossEntropy ${reduction}`, inputs: [{ shape, values: v }],
            forward: ([x]) => F.crossEntropy(x, target, opts),
            backward: (dy, [x]) => [L.crossEntropyBackward(dy, x, target, opts)],
          });
          gradCheck({
            what: `nllLoss ${reduction}`, inputs: [{ shape, values: v }],
            forward: ([x]) => F.nllLoss(x, target, { ...opts, labelSmoothing: undefined } as L.NllLossOptions),
            backward: (dy, [x]) => [L.nllLossBackward(dy, x, target, { weight: opts.weight, ignoreIndex: o.ignoreIndex, reduction })],
          });
        }
      }
    });

    it('follow PyTorch on an empty batch: mean is NaN, sum is 0', () => {
      const x = cc.zeros([0, 3]), t = cc.zeros([0], 'int32');
      expect(Number.isNaN(F.crossEntropy(x, t).dataSync()[0])).to.equal(true);
      expect(F.crossEntropy(x, t, { reduction: 'sum' }).dataSync()[0]).to.equal(0);
      expect(F.nllLoss(x, t, { reduction: 'none' }).shape).to.deep.equal([0]);
      expect(L.crossEntropyBackward(cc.tensor(1, { shape: [] }), x, t).shape).to.deep.equal([0, 3]);
    });

    it('stay finite for large logits (the max is subtracted) and give NaN for NaN logits', () => {
      const x = cc.tensor([[1000, 0, -1000], [NaN, 1, 2]]);
      const per = F.crossEntropy(x, labelsOf([1, 0]), { reduction: 'none' }).dataSync();
      expectClose([per[0]], [1000], 1e-6, 0);
      expect(Number.isNaN(per[1])).to.equal(true);
    });
  });

  describe('hingeLoss (the survey\'s one-vs-all L1/L2-SVM)', () => {
    for (const p of [1, 2] as const) {
      for (const reduction of REDUCTIONS) {
        it(`p = ${p}, ${reduction}: matches the formula, forward and backward`, () => {
          for (const [k, [N, C, margin]] of [[1, 1, 1], [6, 4, 1], [33, 10, 0.5], [5, 3, 0]].entries()) {
            const { t: x, v } = randomTensor([N, C], 20 + k, -2, 2);
            const target = randomLabels(N, C, 30 + k);
            const d = dlossFor(reduction, [N], 40 + k);
            const ref = hingeRef(v, N, C, target, p, margin, reduction, d.v);
            const o = { p, margin, reduction };
            expectClose(F.hingeLoss(x, labelsOf(target), o).dataSync(), ref.loss, 1e-6, 1e-6, 'hinge');
            expectClose(L.hingeLossBackward(d.t, x, labelsOf(target), o).dataSync(), ref.dx, 1e-6, 1e-7, 'hinge dx');
          }
        });
      }
    }

    it('pass gradient checks away from the kinks, and differ from PyTorch\'s MultiMarginLoss', () => {
      const [N, C] = [5, 4];
      const target = randomLabels(N, C, 7);
      const { v } = randomTensor([N, C], 8, -2, 2);
      // Keep |margin - delta * x| >= 0.05 > h so the finite difference does not straddle a kink.
      for (let i = 0; i < N * C; i++) {
        const delta = i % C === target[Math.floor(i / C)] ? 1 : -1;
        if (Math.abs(1 - delta * v[i]) < 0.05) v[i] -= delta * 0.1;
      }
      for (const p of [1, 2] as const) {
        gradCheck({
          what: `hinge p=${p}`, inputs: [{ shape: [N, C], values: v }],
          forward: ([x]) => F.hingeLoss(x, labelsOf(target), { p, reduction: 'none' }),
          backward: (dy, [x]) => [L.hingeLossBackward(dy, x, labelsOf(target), { p, reduction: 'none' })],
        });
      }
      // One sample, scores [2, 0, -1], class 0, margin 1: one-vs-all = max(0, 1-2) + (1+0) + (1-1) = 1;
      // PyTorch's (1/C) sum_{j != y} max(0, 1 - 2 + x_j) = (0 + 0) / 3 = 0.
      const x = cc.tensor([[2, 0, -1]]), t = labelsOf([0]);
      expect(F.hingeLoss(x, t).dataSync()[0]).to.equal(1);
      expect(F.multiMarginLoss(x, t).dataSync()[0]).to.equal(0);
    });
  });

  describe('multiMarginLoss (PyTorch\'s MultiMarginLoss)', () => {
    for (const reduction of REDUCTIONS) {
      it(`${reduction}: matches a float64 reference with p, margin and weight`, () => {
        for (const [k, [N, C, p, margin, weighted]] of ([[4, 3, 1, 1, false], [9, 7, 2, 1, true], [64, 10, 1, 0.5, true], [3, 5, 2, 0, false]] as [number, number, 1 | 2, number, boolean][]).entries()) {
          const { t: x, v } = randomTensor([N, C], 60 + k, -1.5, 1.5);
          const target = randomLabels(N, C, 70 + k);
          const weight = weighted ? Array.from({ length: C }, (_, c) => 0.5 + c / C) : undefined;
          const d = dlossFor(reduction, [N], 80 + k);
          const ref = multiMarginRef(v, N, C, target, p, margin, weight, reduction, d.v);
          const o = { p, margin, reduction, weight: weight && cc.tensor(weight) };
          expectClose(F.multiMarginLoss(x, labelsOf(target), o).dataSync(), ref.loss, 1e-6, 1e-6, 'multiMargin');
          expectClose(L.multiMarginLossBackward(d.t, x, labelsOf(target), o).dataSync(), ref.dx, 1e-6, 1e-7, 'multiMargin dx');
        }
      });
    }

    it('takes PyTorch\'s 1-D form and passes gradient checks away from the kinks', () => {
      const x1 = cc.tensor([0.3, 1.2, -0.5]);
      const loss = F.multiMarginLoss(x1, cc.tensor(1, { dtype: 'int32', shape: [] }), { reduction: 'none' });
      expect(loss.shape).to.deep.equal([]);
      expectClose(loss.dataSync(), [(Math.max(0, 1 - 1.2 + 0.3) + Math.max(0, 1 - 1.2 - 0.5)) / 3], 1e-6, 1e-7);
      expect(L.multiMarginLossBackward(cc.tensor(1, { shape: [] }), x1, labelsOf([1]), {}).shape).to.deep.equal([3]);
      const [N, C] = [4, 5];
      const target = randomLabels(N, C, 9);
      const { v } = randomTensor([N, C], 10, -1, 1);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < C; j++) {
          const z = 1 - v[i * C + target[i]] + v[i * C + j];
          if (j !== target[i] && Math.abs(z) < 0.05) v[i * C + j] += 0.1;
        }
      }
      for (const p of [1, 2] as const) {
        const o = { p, weight: cc.tensor([1, 2, 0.5, 1, 3]) };
        gradCheck({
          what: `multiMargin p=${p}`, inputs: [{ shape: [N, C], values: v }],
          forward: ([x]) => F.multiMarginLoss(x, labelsOf(target), o),
          backward: (dy, [x]) => [L.multiMarginLossBackward(dy, x, labelsOf(target), o)],
        });
      }
    });
  });

  describe('contrastiveLoss (Hadsell et al. 2006)', () => {
    for (const reduction of REDUCTIONS) {
      it(`${reduction}: matches the formula with float32 and int32 labels`, () => {
        for (const [k, [N, D, margin]] of [[1, 1, 1], [8, 3, 1], [50, 16, 2], [6, 4, 0]].entries()) {
          const { t: a, v: va } = randomTensor([N, D], 90 + k), { t: b, v: vb } = randomTensor([N, D], 95 + k);
          const y = randomLabels(N, 2, 99 + k);
          const d = dlossFor(reduction, [N], 120 + k);
          const ref = contrastiveRef(va, vb, N, D, y, margin, reduction, d.v);
          for (const labels of [labelsOf(y), cc.tensor(y)]) {
            expectClose(F.contrastiveLoss(a, b, labels, { margin, reduction }).dataSync(), ref.loss, 1e-6, 1e-7, 'contrastive');
            const [da, db] = L.contrastiveLossBackward(d.t, a, b, labels, { margin, reduction });
            expectClose(da.dataSync(), ref.da, 1e-5, 1e-7, 'contrastive da');
            expectClose(db.dataSync(), ref.db, 1e-5, 1e-7, 'contrastive db');
          }
        }
      });
    }

    it('is (1/2N) sum [y d^2 + (1-y) max(0, m-d)^2], has a 0 gradient (no NaN) for a dissimilar pair at d = 0, and passes gradient checks', () => {
      const a = cc.tensor([[0, 0], [1, 1], [2, 2]]), b = cc.tensor([[3, 4], [1, 1], [2, 2.5]]);
      const y = cc.tensor([1, 0, 0]);
      // pairs: d = 5 (similar): 25; d = 0 (dissimilar): (2 - 0)^2 = 4; d = 0.5: 1.5^2 = 2.25.
      expectClose(F.contrastiveLoss(a, b, y, { margin: 2 }).dataSync(), [(25 + 4 + 2.25) / 6], 1e-6, 0);
      const [da] = L.contrastiveLossBackward(cc.tensor(1, { shape: [] }), a, b, y, { margin: 2 });
      expect(Array.from(da.dataSync().slice(2, 4))).to.deep.equal([0, 0]);
      const { v: va } = randomTensor([6, 3], 1), { v: vb } = randomTensor([6, 3], 2);
      const labels = cc.tensor([1, 0, 1, 0, 0, 1]);
      gradCheck({
        what: 'contrastive', inputs: [{ shape: [6, 3], values: va }, { shape: [6, 3], values: vb }],
        forward: ([p, q]) => F.contrastiveLoss(p, q, labels, { margin: 1.7, reduction: 'none' }),
        backward: (dy, [p, q]) => L.contrastiveLossBackward(dy, p, q, labels, { margin: 1.7, reduction: 'none' }),
      });
    });
  });

  describe('tripletMarginLoss', () => {
    const OPTIONS: TripletOpts[] = [
      {}, { p: 1 }, { margin: 0.5, swap: true }, { p: 1, swap: true, eps: 0.1 }, { margin: 0 },
      { squared: true }, { squared: true, margin: 0.2, swap: true },
    ];
    for (const o of OPTIONS) {
      it(`${JSON.stringify(o)}: matches a float64 reference for every reduction`, () => {
        for (const [k, [N, D]] of [[1, 1], [7, 5], [64, 32]].entries()) {
          const [a, p, n] = [randomTensor([N, D], 130 + k), randomTensor([N, D], 140 + k), randomTensor([N, D], 150 + k)];
          for (const reduction of REDUCTIONS) {
            const d = dlossFor(reduction, [N], 160 + k);
            const ref = tripletRef(a.v, p.v, n.v, N, D, { ...o, reduction }, d.v);
            expectClose(F.tripletMarginLoss(a.t, p.t, n.t, { ...o, reduction }).dataSync(), ref.loss, 1e-5, 1e-6, 'triplet');
            const grads = L.tripletMarginLossBackward(d.t, a.t, p.t, n.t, { ...o, reduction });
            grads.forEach((g, i) => expectClose(g.dataSync(), [ref.da, ref.dp, ref.dn][i], 1e-4, 1e-6, `triplet grad ${i}`));
          }
        }
      });
    }

    it('pass gradient checks (all three inputs) away from the hinge and |u| kinks', () => {
      for (const o of [{ margin: 0.8 }, { p: 1 as const, margin: 2 }, { swap: true, margin: 1.2 }, { squared: true, margin: 0.5 }]) {
        const [N, D] = [5, 3];
        let seed = 1, values: Float64Array[] = [];
        // Inputs whose triplets keep 0.05 away from the hinge (margin + d(a,p) - d(a,n) = 0),
        // and whose components of a-p, a-n, p-n keep away from 0 (the L1 norm's kinks).
        for (;; seed += 3) {
          values = [randomTensor([N, D], seed).v, randomTensor([N, D], seed + 1).v, randomTensor([N, D], seed + 2).v];
          // With margin 100 every hinge is open, so the loss minus 100 is d(a,p) - d(a,n).
          const gaps = tripletRef(values[0], values[1], values[2], N, D, { ...o, reduction: 'none', margin: 100 }, new Float64Array(N)).loss;
          const hingeOk = gaps.every((l) => Math.abs(l - 100 + o.margin) > 0.05);
          const diffsOk = values[0].every((q, j) => Math.abs(q - values[1][j]) > 0.05 && Math.abs(q - values[2][j]) > 0.05 && Math.abs(values[1][j] - values[2][j]) > 0.05);
          if (hingeOk && diffsOk) break;
        }
        gradCheck({
          what: `triplet ${JSON.stringify(o)}`, inputs: values.map((v) => ({ shape: [N, D], values: v })),
          forward: ([a, p, n]) => F.tripletMarginLoss(a, p, n, { ...o, reduction: 'none' }),
          backward: (dy, [a, p, n]) => L.tripletMarginLossBackward(dy, a, p, n, { ...o, reduction: 'none' }),
          h: 5e-3,
        });
      }
    });

    it('squared: true is the survey\'s ||a-p||^2 - ||a-n||^2 + m, unlike PyTorch\'s distances', () => {
      const a = cc.tensor([[0, 0]]), p = cc.tensor([[1, 1]]), n = cc.tensor([[2, 0]]);
      // survey: max(0, 2 - 4 + 3) = 1; PyTorch: max(0, sqrt 2 - 2 + 3) (+ eps effects).
      expectClose(F.tripletMarginLoss(a, p, n, { squared: true, margin: 3 }).dataSync(), [1], 1e-6, 0);
      expectClose(F.tripletMarginLoss(a, p, n, { margin: 3, eps: 0 }).dataSync(), [Math.SQRT2 + 1], 1e-6, 0);
    });
  });

  describe('tripletMarginWithDistanceLoss', () => {
    it('is tripletMarginLoss with the default distance; any distance function, against float64', () => {
      const [a, p, n] = [randomTensor([5, 3], 41), randomTensor([5, 3], 42), randomTensor([5, 3], 43)];
      for (const reduction of REDUCTIONS) {
        for (const swap of [false, true]) {
          expectClose(F.tripletMarginWithDistanceLoss(a.t, p.t, n.t, { swap, reduction, margin: 0.7 }).dataSync(),
            F.tripletMarginLoss(a.t, p.t, n.t, { swap, reduction, margin: 0.7 }).dataSync(), 1e-6, 1e-6, `default ${reduction} ${swap}`);
        }
      }
      // A cosine distance 1 - cos(x, y), written out in float64.
      const cosd = (x: Float64Array, y: Float64Array, i: number) => {
        let xy = 0, xx = 0, yy = 0;
        for (let k = 0; k < 3; k++) { xy += x[i * 3 + k] * y[i * 3 + k]; xx += x[i * 3 + k] ** 2; yy += y[i * 3 + k] ** 2; }
        return 1 - xy / Math.max(Math.sqrt(xx * yy), 1e-8);
      };
      const want = Array.from({ length: 5 }, (_, i) => Math.max(cosd(a.v, p.v, i) - Math.min(cosd(a.v, n.v, i), cosd(p.v, n.v, i)) + 0.3, 0));
      const distanceFunction = (x: cc.Tensor, y: cc.Tensor) => cc.sub(1, F.cosineSimilarity(x, y));
      expectClose(F.tripletMarginWithDistanceLoss(a.t, p.t, n.t, { distanceFunction, margin: 0.3, swap: true, reduction: 'none' }).dataSync(), want, 1e-5, 1e-6, 'cosine');
      gradCheck({
        what: 'triplet with a cosine distance', inputs: [a, p, n].map((t) => ({ shape: [5, 3], values: t.v })),
        forward: ([x, y, z]) => F.tripletMarginWithDistanceLoss(x, y, z, { distanceFunction, margin: 2, reduction: 'none' }),
        backward: (dy, [x, y, z]) => {
          const vs = [x, y, z].map((t) => t.detach().requiresGrad_());
          F.tripletMarginWithDistanceLoss(vs[0], vs[1], vs[2], { distanceFunction, margin: 2, reduction: 'none' }).backward(dy);
          return vs.map((t) => t.grad);
        },
      });
    });

    it('nn.TripletMarginWithDistanceLoss, and typed errors for bad options and a bad distance', () => {
      const [a, p, n] = [cc.randn([4, 2]), cc.randn([4, 2]), cc.randn([4, 2])];
      const m = new nn.TripletMarginWithDistanceLoss({ margin: 0.5, distanceFunction: function l1(x, y) { return F.pairwiseDistance(x, y, { p: 1 }); } });
      expect(m.call(a, p, n).item()).to.be.closeTo(F.tripletMarginWithDistanceLoss(a, p, n, { margin: 0.5, distanceFunction: (x, y) => F.pairwiseDistance(x, y, { p: 1 }) }).item(), 1e-6);
      expect(String(m)).to.match(/TripletMarginWithDistanceLoss\(margin=0.5, distanceFunction=l1\)/);
      expectError(() => F.tripletMarginWithDistanceLoss(a, p, n, { margin: 0 }), 'E_ARG', /margin/);
      expectError(() => F.tripletMarginWithDistanceLoss(a, p, n, { distanceFunction: 3 as never }), 'E_ARG', /distanceFunction/);
      expectError(() => F.tripletMarginWithDistanceLoss(a, p, n, { distanceFunction: () => 1 as never }), 'E_ARG', /float32 tensor/);
      expectError(() => F.tripletMarginWithDistanceLoss(a, p, cc.randn([4, 2, 1])), 'E_SHAPE', /same rank/);
      expectError(() => F.tripletMarginWithDistanceLoss(a.int(), p, n), 'E_DTYPE');
      expectError(() => new nn.TripletMarginWithDistanceLoss({ p: 2 } as never), 'E_ARG', /unknown option/);
    });
  });

  describe('klDiv', () => {
    for (const reduction of ['mean', 'sum', 'none', 'batchmean'] as const) {
      for (const logTarget of [false, true]) {
        it(`${reduction}, logTarget ${logTarget}: matches a float64 reference, both gradients`, () => {
          for (const [k, shape] of [[1], [4, 7], [3, 2, 5], [16, 1000]].entries()) {
            const { t: x, v } = randomTensor(shape, 170 + k, -5, 0);
            const tv = randomTensor(shape, 180 + k, logTarget ? -5 : 0, logTarget ? 0 : 1).v;
            if (!logTarget) tv[0] = 0; // 0 log 0 = 0; its target gradient is NaN, as PyTorch's
            const t = cc.tensor(Float32Array.from(tv), { shape });
            const d = reduction === 'none' ? randomTensor(shape, 190 + k) : { t: cc.tensor(0.625, { shape: [] }) as F32, v: [0.625] };
            const ref = klRef(v, tv, shape, reduction, logTarget, d.v);
            const loss = F.klDiv(x, t, { reduction, logTarget });
            expect(loss.shape).to.deep.equal(reduction === 'none' ? shape : []);
            expectClose(loss.dataSync(), ref.loss, 1e-5, 1e-6, 'klDiv');
            const [dx, dt] = L.klDivBackward(d.t, x, t, { reduction, logTarget }, true);
            expectClose(dx.dataSync(), ref.dx, 1e-6, 1e-9, 'klDiv dx');
            expectClose(dt!.dataSync(), ref.dt, 1e-5, 1e-8, 'klDiv dtarget');
            expect(L.klDivBackward(d.t, x, t, { reduction, logTarget })[1]).to.equal(null);
          }
        });
      }
    }

    it('defaults to PyTorch\'s mean over every element, and passes gradient checks', () => {
      const x = cc.tensor([[-1, -2], [-0.5, -3]]), t = cc.tensor([[0.5, 0.5], [1, 0]]);
      const total = 0.5 * (Math.log(0.5) + 1) + 0.5 * (Math.log(0.5) + 2) + 1 * (0 + 0.5);
      expectClose(F.klDiv(x, t).dataSync(), [total / 4], 1e-6, 0);
      expectClose(F.klDiv(x, t, { reduction: 'batchmean' }).dataSync(), [total / 2], 1e-6, 0);
      const { v } = randomTensor([3, 4], 5, -3, -0.1), { v: tv } = randomTensor([3, 4], 6, 0.1, 1);
      for (const logTarget of [false, true]) {
        gradCheck({
          what: `klDiv logTarget ${logTarget}`, inputs: [{ shape: [3, 4], values: v }, { shape: [3, 4], values: logTarget ? v.map((q) => q / 2) : tv }],
          forward: ([a, b]) => F.klDiv(a, b, { reduction: 'batchmean', logTarget }),
          backward: (dy, [a, b]) => L.klDivBackward(dy, a, b, { reduction: 'batchmean', logTarget }, true),
        });
      }
    });
  });

  it('agree with PyTorch (committed fixtures): crossEntropy, nllLoss, multiMarginLoss, tripletMarginLoss, klDiv', () => {
    type Flat = { shape: number[]; values: number[]; dtype?: string };
    type Case = { op: string; kwargs: Record<string, unknown>; inputs: Record<string, Flat>; loss: Flat; dloss: Flat; grads: Record<string, Flat> };
    const { cases } = loadFixture<{ cases: Case[] }>('loss');
    const seen = new Set<string>();
    for (const c of cases) {
      const t = Object.fromEntries(Object.entries(c.inputs).map(([k, f]) => [k, cc.tensor(f.values, { shape: f.shape, dtype: f.dtype === 'int32' ? 'int32' : 'float32' })]));
      const dloss = cc.tensor(c.dloss.values, { shape: c.dloss.shape });
      const k = c.kwargs as Record<string, never>;
      let loss: cc.Tensor, grads: Record<string, cc.Tensor>;
      const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
      if (c.op === 'crossEntropy' || c.op === 'nllLoss') {
        const o = { weight: t.weight, ignoreIndex: k.ignoreIndex, reduction: k.reduction, ...(c.op === 'crossEntropy' ? { labelSmoothing: k.labelSmoothing } : {}) };
        loss = (c.op === 'crossEntropy' ? F.crossEntropy : F.nllLoss)(t.input, t.target, o);
        grads = { input: (c.op === 'crossEntropy' ? L.crossEntropyBackward : L.nllLossBackward)(dloss, t.input, t.target, o) };
      } else if (c.op === 'multiMarginLoss') {
        const o = { p: k.p, margin: k.margin, weight: t.weight, reduction: k.reduction };
        loss = F.multiMarginLoss(t.input, t.target, o);
        grads = { input: L.multiMarginLossBackward(dloss, t.input, t.target, o) };
      } else if (c.op === 'tripletMarginLoss') {
        const o = { p: k.p, margin: k.margin, eps: k.eps, swap: k.swap, reduction: k.reduction };
        loss = F.tripletMarginLoss(t.anchor, t.positive, t.negative, o);
        const [da, dp, dn] = L.tripletMarginLossBackward(dloss, t.anchor, t.positive, t.negative, o);
        grads = { anchor: da, positive: dp, negative: dn };
      } else {
        const o = { reduction: k.reduction, logTarget: k.logTarget };
        loss = F.klDiv(t.input, t.target, o);
        const [dx, dt] = L.klDivBackward(dloss, t.input, t.target, o, true);
        grads = { input: dx, target: dt! };
      }
      seen.add(c.op);
      expect(loss.shape, what).to.deep.equal(c.loss.shape);
      expectClose(loss.dataSync(), c.loss.values, 2e-5, 2e-6, `${what} loss`);
      for (const [name, g] of Object.entries(c.grads)) expectClose(grads[name].dataSync(), g.values, 1e-4, 2e-6, `${what} d${name}`);
    }
    expect([...seen].sort()).to.deep.equal(['crossEntropy', 'klDiv', 'multiMarginLoss', 'nllLoss', 'tripletMarginLoss']);
    expect(cases.length).to.be.above(150);
  });

  it('give bit-identical losses and gradients for 1, 2 and 3 threads', () => {
    const run = () => {
      const out: (Float32Array | Int32Array)[] = [];
      const push = (...ts: (cc.Tensor | null)[]) => ts.forEach((t) => out.push(t!.dataSync()));
      const x = randomTensor([515, 100], 1, -3, 3).t, t = labelsOf(randomLabels(515, 100, 2));
      const dl = cc.tensor(0.5, { shape: [] });
      for (const reduction of ['mean', 'none'] as const) {
        const d = reduction === 'none' ? randomTensor([515], 3).t : dl;
        const o = { weight: randomTensor([100], 4, 0.1, 1).t, labelSmoothing: 0.1, ignoreIndex: 5, reduction };
        push(F.crossEntropy(x, t, o), L.crossEntropyBackward(d, x, t, o), F.nllLoss(x, t, { reduction }), L.nllLossBackward(d, x, t, { reduction }));
        push(F.hingeLoss(x, t, { p: 2, reduction }), L.hingeLossBackward(d, x, t, { p: 2, reduction }));
        push(F.multiMarginLoss(x, t, { reduction }), L.multiMarginLossBackward(d, x, t, { reduction }));
      }
      const xk = randomTensor([4, 5, 30, 30], 5, -3, 3).t, tk = labelsOf(randomLabels(3600, 5, 6), [4, 30, 30]);
      push(F.crossEntropy(xk, tk, { labelSmoothing: 0.1 }), L.crossEntropyBackward(dl, xk, tk, { labelSmoothing: 0.1 }));
      const [a, b, n] = [randomTensor([700, 64], 7).t, randomTensor([700, 64], 8).t, randomTensor([700, 64], 9).t];
      const y = labelsOf(randomLabels(700, 2, 10));
      push(F.contrastiveLoss(a, b, y, { margin: 12 }), ...L.contrastiveLossBackward(dl, a, b, y, { margin: 12 }));
      push(F.tripletMarginLoss(a, b, n, { swap: true }), ...L.tripletMarginLossBackward(dl, a, b, n, { swap: true }));
      const lp = randomTensor([64, 1000], 11, -8, 0).t, q = randomTensor([64, 1000], 12, 0, 1).t;
      push(F.klDiv(lp, q, { reduction: 'batchmean' }), ...L.klDivBackward(dl, lp, q, { reduction: 'batchmean' }, true));
      return out;
    };
    cc.setNumThreads(1);
    const one = run();
    for (const threads of [2, 3]) {
      cc.setNumThreads(threads);
      run().forEach((r, i) => expectBitIdentical(r, one[i], `output ${i} with ${threads} threads`));
    }
  });

  describe('refuse bad input with typed errors', () => {
    const x = cc.zeros([4, 3]), t = labelsOf([0, 1, 2, 0]), s = cc.tensor(1, { shape: [] });

    it('crossEntropy / nllLoss', () => {
      for (const [op, fn] of [['crossEntropy', F.crossEntropy], ['nllLoss', F.nllLoss]] as const) {
        expectError(() => fn(cc.zeros([4]), labelsOf([0])), 'E_SHAPE', new RegExp(`${op}: expected \`input\` of shape \\[N, C\\]`));
        expectError(() => fn(x, labelsOf([0, 1])), 'E_SHAPE', /expected `target` of shape \[4\]/);
        expectError(() => fn(cc.zeros([2, 3, 4]), labelsOf([0, 1])), 'E_SHAPE', /\[2, 4\]/);
        expectError(() => fn(x, cc.zeros([4])), 'E_DTYPE', /int32 class labels, got float32/);
        expectError(() => fn(cc.zeros([4, 3], 'int32'), t), 'E_DTYPE', /`input` of dtype float32/);
        expectError(() => fn(x, t, { weight: cc.ones([4]) }), 'E_SHAPE', /`weight` of shape \[3\]/);
        expectError(() => fn(x, t, { weight: cc.ones([3], 'int32') }), 'E_DTYPE');
        expectError(() => fn(x, t, { ignoreIndex: 0.5 }), 'E_ARG', /ignoreIndex/);
        expectError(() => fn(x, t, { reduction: 'avg' as Red }), 'E_ARG', /reduction/);
        expectError(() => fn(x, t, { ignore_index: 1 } as never), 'E_ARG', /unknown option `ignore_index`/);
        expectError(() => fn(cc.zeros([4, 0]), t), 'E_SHAPE', /at least one class/);
      }
      expectError(() => F.crossEntropy(x, t, { labelSmoothing: 1.5 }), 'E_ARG', /labelSmoothing/);
      expectError(() => F.crossEntropy(x, t, { labelSmoothing: NaN }), 'E_ARG', /labelSmoothing/);
      expectError(() => F.nllLoss(x, t, { labelSmoothing: 0.1 } as never), 'E_ARG', /unknown option/);
      expectError(() => L.crossEntropyBackward(cc.zeros([4]), x, t), 'E_SHAPE', /scalar `dloss`/);
      expectError(() => L.crossEntropyBackward(s, x, t, { reduction: 'none' }), 'E_SHAPE', /`dloss` of shape \[4\]/);
      expectError(() => L.nllLossBackward(cc.zeros([], 'int32'), x, t), 'E_DTYPE', /dloss/);
    });

    it('hingeLoss / multiMarginLoss', () => {
      for (const fn of [F.hingeLoss, F.multiMarginLoss]) {
        expectError(() => fn(x, t, { p: 3 as 1 }), 'E_ARG', /`p` to be 1 or 2/);
        expectError(() => fn(x, t, { margin: -1 }), 'E_ARG', /margin/);
        expectError(() => fn(x, t, { margin: NaN }), 'E_ARG', /margin/);
        expectError(() => fn(x, cc.zeros([4])), 'E_DTYPE');
        expectError(() => fn(cc.zeros([4, 3, 1]), t), 'E_SHAPE');
        expectError(() => fn(x, labelsOf([1, 2])), 'E_SHAPE');
      }
      expectError(() => F.hingeLoss(cc.zeros([3]), labelsOf([0])), 'E_SHAPE');
      expectError(() => F.multiMarginLoss(cc.zeros([3]), labelsOf([0, 1])), 'E_SHAPE', /\[\] or \[1\]/);
      expectError(() => F.multiMarginLoss(x, t, { weight: cc.ones([2]) }), 'E_SHAPE', /weight/);
      expectError(() => F.hingeLoss(x, t, { weight: cc.ones([3]) } as never), 'E_ARG', /unknown option/);
      expectError(() => L.hingeLossBackward(cc.zeros([3]), x, t, { reduction: 'none' }), 'E_SHAPE');
    });

    it('contrastiveLoss / tripletMarginLoss', () => {
      expectError(() => F.contrastiveLoss(x, cc.zeros([4, 2]), t), 'E_SHAPE', /`b` of shape \[4, 3\]/);
      expectError(() => F.contrastiveLoss(x, x, labelsOf([1])), 'E_SHAPE', /`y` of shape \[4\]/);
      expectError(() => F.contrastiveLoss(cc.zeros([4]), cc.zeros([4]), t), 'E_SHAPE', /\[N, D\]/);
      expectError(() => F.contrastiveLoss(x, cc.zeros([4, 3], 'int32'), t), 'E_DTYPE');
      expectError(() => F.contrastiveLoss(x, x, t, { margin: -0.5 }), 'E_ARG', /margin/);
      expectError(() => F.tripletMarginLoss(x, x, cc.zeros([3, 3])), 'E_SHAPE', /`negative` of shape \[4, 3\]/);
      expectError(() => F.tripletMarginLoss(x, x, x, { p: 3 as 2 }), 'E_ARG', /`p`/);
      expectError(() => F.tripletMarginLoss(x, x, x, { squared: true, p: 1 }), 'E_ARG', /squared/);
      expectError(() => F.tripletMarginLoss(x, x, x, { eps: -1 }), 'E_ARG', /eps/);
      expectError(() => F.tripletMarginLoss(x, x, x, { swap: 1 as unknown as boolean }), 'E_ARG', /swap/);
      expectError(() => F.tripletMarginLoss(x, x, x, { margin: Infinity }), 'E_ARG', /margin/);
      expectError(() => L.tripletMarginLossBackward(cc.zeros([2]), x, x, x, { reduction: 'none' }), 'E_SHAPE');
    });

    it('klDiv', () => {
      expectError(() => F.klDiv(x, cc.zeros([3, 4])), 'E_SHAPE', /`target` of shape \[4, 3\]/);
      expectError(() => F.klDiv(x, cc.zeros([4, 3], 'int32')), 'E_DTYPE', /`target` of dtype float32/);
      expectError(() => F.klDiv(x, x, { reduction: 'avg' as 'mean' }), 'E_ARG', /'batchmean'/);
      expectError(() => F.klDiv(x, x, { logTarget: 'yes' as unknown as boolean }), 'E_ARG', /logTarget/);
      expectError(() => F.crossEntropy(x, t, { reduction: 'batchmean' as Red }), 'E_ARG', /reduction/);
      const d = cc.zeros([4, 3]);
      d.dispose();
      expectError(() => F.klDiv(d, x), 'E_DISPOSED');
      expectError(() => F.klDiv(x, x, 'mean' as never), 'E_ARG', /options to be an object/);
    });

    it('the native layer checks again (bypassing TypeScript)', () => {
      const native = require('../lib/native').native;
      const h = (q: cc.Tensor) => q.handle();
      expectError(() => native.crossEntropyForward(h(x), h(labelsOf([0])), null, -100, 0, 1), 'E_SHAPE');
      expectError(() => native.crossEntropyForward(h(x), h(t), null, -100, 0, 3), 'E_ARG', /reduction/);
      expectError(() => native.nllLossForward(h(x), h(x), null, -100, 1), 'E_DTYPE');
      expectError(() => native.hingeLossForward(h(x), h(t), 3, 1, 1), 'E_ARG', /`p`/);
      expectError(() => native.multiMarginLossForward(h(x), h(t), 1, -1, null, 1), 'E_ARG', /margin/);
      expectError(() => native.multiMarginLossForward(h(x), h(t), 1, 1, h(cc.ones([2])), 1), 'E_SHAPE', /weight/);
      expectError(() => native.contrastiveLossForward(h(x), h(cc.zeros([4, 2])), h(t), 1, 1), 'E_SHAPE');
      expectError(() => native.tripletMarginLossForward(h(x), h(x), h(x), 1, 1, 0, false, true, 1), 'E_ARG', /squared/);
      expectError(() => native.tripletMarginLossForward(h(x), h(x), h(x), NaN, 2, 0, false, false, 1), 'E_ARG', /margin/);
      expectError(() => native.klDivForward(h(x), h(t), 3, false), 'E_DTYPE');
      expectError(() => native.klDivBackward(h(s), h(x), h(x), 0, false, false), 'E_SHAPE', /dloss/);
    });

    it('labels out of range are E_INDEX at the next wait, naming the op and the position', async () => {
      const bad = labelsOf([0, 3, 1, -2]);
      for (const [op, run] of [
        ['crossEntropy', () => F.crossEntropy(x, bad)],
        ['crossEntropy backward', () => L.crossEntropyBackward(s, x, bad)],
        ['nllLoss', () => F.nllLoss(x, bad)],
        ['nllLoss backward', () => L.nllLossBackward(s, x, bad)],
        ['hingeLoss', () => F.hingeLoss(x, bad)],
        ['hingeLoss backward', () => L.hingeLossBackward(s, x, bad)],
        ['multiMarginLoss', () => F.multiMarginLoss(x, bad)],
        ['multiMarginLoss backward', () => L.multiMarginLossBackward(s, x, bad)],
      ] as [string, () => cc.Tensor][]) {
        const loss = run();
        await expectRejects(loss.data(), 'E_INDEX', new RegExp(`^${op} \\(queued\\): target 3 at position 1 is out of range for 3 classes`));
      }
      // The ignored index may be anything, in range or not; the queue keeps working afterwards.
      const ok = F.crossEntropy(x, labelsOf([0, -7, 1, 2]), { ignoreIndex: -7, reduction: 'sum' });
      expectClose(await ok.data(), [3 * Math.log(3)], 1e-6, 0);
    });
  });
});
