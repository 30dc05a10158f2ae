/**
 * metrics.retrieval.recallAtK and metrics.retrieval.meanAveragePrecision (lib/metrics/retrieval.ts): hand-checked
 * cases, a float64 reference on random embeddings (both metrics, leave-one-out, several batch
 * sizes), and typed errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectRejects, rng } from './helpers';

const { metrics } = cc;
const ints = (v: number[]) => cc.tensor(new Int32Array(v), { dtype: 'int32' });
const column = (v: number[]) => cc.tensor(v).reshape([v.length, 1]);

/** recall@k and mAP written plainly in float64 (ties broken by gallery position, as the library). */
function reference(q: number[][], ql: number[], g: number[][], gl: number[], metric: 'euclidean' | 'cosine', excludeSelf: boolean, ks: number[]) {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const dist = (a: number[], b: number[]) => metric === 'euclidean'
    ? Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0))
    : -a.reduce((s, x, i) => s + x * b[i], 0) / Math.max(norm(a), 1e-12) / Math.max(norm(b), 1e-12);
  const hits = ks.map(() => 0);
  let apSum = 0, counted = 0;
  q.forEach((qv, i) => {
    const order = g.map((_, j) => j).filter((j) => !excludeSelf || j !== i)
      .map((j) => ({ j, d: dist(qv, g[j]) })).sort((a, b) => a.d - b.d || a.j - b.j).map((e) => e.j);
    const rel = order.map((j) => gl[j] === ql[i]);
    const R = rel.filter(Boolean).length;
    if (R === 0) return;
    counted++;
    const first = rel.indexOf(true);
    ks.forEach((k, n) => { if (first < k) hits[n]++; });
    let found = 0, ap = 0;
    rel.forEach((r, p) => { if (r) { found++; ap += found / (p + 1); } });
    apSum += ap / R;
  });
  return { recall: hits.map((h) => h / counted), map: apSum / counted };
}

describe('metrics: recall@k and mean average precision', () => {
  it('hand-checked cases: a separate gallery, and leave-one-out (excludeSelf)', async () => {
    // gallery 0, 1, 2, 10 with labels 0 0 1 1; queries 0.4 (1), 9 (0), 1.2 (0):
    // first relevant ranks 2, 2, 0; APs (1/3 + 2/4) / 2, the same, (1 + 2/3) / 2.
    const g = column([0, 1, 2, 10]), gl = ints([0, 0, 1, 1]);
    const q = column([0.4, 9, 1.2]), ql = ints([1, 0, 0]);
    const [r1, r2, r3] = await metrics.retrieval.recallAtK(q, ql, g, gl, [1, 2, 3]);
    expect([r1, r2, r3]).to.deep.equal([1 / 3, 1 / 3, 1]);
    expect(await metrics.retrieval.recallAtK(q, ql, g, gl)).to.equal(1 / 3);
    const ap = (1 / 3 + 2 / 4) / 2;
    expect(await metrics.retrieval.meanAveragePrecision(q, ql, g, gl)).to.be.closeTo((ap + ap + (1 + 2 / 3) / 2) / 3, 1e-12);
    // 0, 1, 5, 6, 20 with labels 0 0 1 1 0, each against the others: APs .75 .75 1 1 (1/3 + 2/4) / 2.
    const e = column([0, 1, 5, 6, 20]), el = ints([0, 0, 1, 1, 0]);
    expect(await metrics.retrieval.recallAtK(e, el, e, el, 1, { excludeSelf: true })).to.be.closeTo(0.8, 1e-12);
    expect(await metrics.retrieval.recallAtK(e, el, e, el, [4], { excludeSelf: true })).to.deep.equal([1]);
    expect(await metrics.retrieval.meanAveragePrecision(e, el, e, el, { excludeSelf: true })).to.be.closeTo((0.75 + 0.75 + 1 + 1 + (1 / 3 + 2 / 4) / 2) / 5, 1e-12);
    // Without excludeSelf each query finds itself first.
    expect(await metrics.retrieval.recallAtK(e, el, e, el, 1)).to.equal(1);
    // cosine: direction only; a query whose label is not in the gallery is left out.
    const cq = cc.tensor([[1, 0], [0, 3], [1, 1]]), cg = cc.tensor([[5, 0.1], [0.2, 1], [-1, 0]]);
    expect(await metrics.retrieval.recallAtK(cq, ints([1, 2, 7]), cg, ints([1, 2, 1]), 1, { metric: 'cosine' })).to.equal(1);
    expect(await metrics.retrieval.recallAtK(cq, ints([7, 7, 7]), cg, ints([1, 2, 1]), 1)).to.be.NaN;
  });

  it('match a float64 reference on random embeddings (euclidean and cosine, leave-one-out, batches)', async () => {
    const next = rng(3);
    const rows = (n: number, d: number) => Array.from({ length: n }, () => Array.from({ length: d }, () => Math.fround(next() * 2 - 1)));
    const q = rows(37, 8), g = rows(53, 8);
    const ql = q.map(() => Math.floor(next() * 5)), gl = g.map(() => Math.floor(next() * 5));
    const tq = cc.tensor(q), tg = cc.tensor(g), tql = ints(ql), tgl = ints(gl);
    const ks = [1, 3, 10];
    for (const metric of ['euclidean', 'cosine'] as const) {
      for (const batchSize of [1, 10, 512]) {
        const want = reference(q, ql, g, gl, metric, false, ks);
        const what = `${metric} batch ${batchSize}`;
        const got = await metrics.retrieval.recallAtK(tq, tql, tg, tgl, ks, { metric, batchSize });
        got.forEach((r, i) => expect(r, `${what} recall@${ks[i]}`).to.be.closeTo(want.recall[i], 1e-12));
        expect(await metrics.retrieval.meanAveragePrecision(tq, tql, tg, tgl, { metric, batchSize }), what).to.be.closeTo(want.map, 1e-9);
        const self = reference(g, gl, g, gl, metric, true, ks);
        const gotSelf = await metrics.retrieval.recallAtK(tg, tgl, tg, tgl, ks, { metric, batchSize, excludeSelf: true });
        gotSelf.forEach((r, i) => expect(r, `${what} self recall@${ks[i]}`).to.be.closeTo(self.recall[i], 1e-12));
        expect(await metrics.retrieval.meanAveragePrecision(tg, tgl, tg, tgl, { metric, batchSize, excludeSelf: true }), `${what} self`).to.be.closeTo(self.map, 1e-9);
      }
    }
  });

  it('leave no tensors behind, and build no graph from embeddings that require grad', async () => {
    const e = cc.randn([50, 4], 0, 1, { requiresGrad: true }), l = ints(Array.from({ length: 50 }, (_, i) => i % 3));
    const before = cc.memory().tensors;
    for (const metric of ['euclidean', 'cosine'] as const) {
      await metrics.retrieval.recallAtK(e, l, e, l, [1, 5], { metric, batchSize: 7, excludeSelf: true });
      await metrics.retrieval.meanAveragePrecision(e, l, e, l, { metric, batchSize: 7 });
    }
    expect(cc.memory().tensors).to.equal(before);
  });

  it('refuse bad arguments with typed errors', async () => {
    const e = cc.randn([4, 3]), l = ints([0, 1, 0, 1]);
    await expectRejects(metrics.retrieval.recallAtK(e, l, cc.randn([4, 2]), l), 'E_SHAPE');
    await expectRejects(metrics.retrieval.recallAtK(e, ints([0, 1]), e, l), 'E_SHAPE', /queryLabels/);
    await expectRejects(metrics.retrieval.recallAtK(e, cc.tensor([0, 1, 0, 1]), e, l), 'E_DTYPE');
    await expectRejects(metrics.retrieval.recallAtK(e, l, e, l, 0), 'E_ARG', /k/);
    await expectRejects(metrics.retrieval.recallAtK(e, l, e, l, 4, { excludeSelf: true }), 'E_ARG', /k/);
    await expectRejects(metrics.retrieval.recallAtK(e, l, e, l, [] as number[]), 'E_ARG');
    await expectRejects(metrics.retrieval.meanAveragePrecision(e, l, e, l, { metric: 'manhattan' as 'cosine' }), 'E_ARG', /metric/);
    await expectRejects(metrics.retrieval.meanAveragePrecision(e, l, e, l, { batchSize: 0 }), 'E_ARG');
    await expectRejects(metrics.retrieval.meanAveragePrecision(e, l, e, l, { k: 1 } as cc.metrics.retrieval.RetrievalOptions), 'E_ARG', /unknown option/);
    await expectRejects(metrics.retrieval.meanAveragePrecision(e, l, cc.randn([5, 3]), ints([0, 0, 0, 0, 0]), { excludeSelf: true }), 'E_SHAPE');
  });
});
