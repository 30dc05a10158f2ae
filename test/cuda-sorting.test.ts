/**
 * topk / sort / argsort on the GPU (native/cuda/sort.cu) against the CPU: the same indices and
 * value bits (the keys make the order unique), rows in shared memory and long rows in the
 * global-memory fallback, NaN / ties / -0 / int32, gradients; and the distances and retrieval
 * metrics on GPU embeddings. Skipped (and said so) where CUDA is not usable (describeCuda).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { tensor, type Tensor as T } from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical } from './helpers';

const { F, metrics } = cc;

/** topk / sort on CPU and GPU: identical indices and value bits. */
function compareSort(x: T, what: string, run: (t: T) => cc.SortResult): void {
  const cpu = run(x), gpu = run(x.to('cuda'));
  expect(gpu.values.device, what).to.equal('cuda');
  expect(gpu.values.shape, what).to.deep.equal(cpu.values.shape);
  expectBitIdentical(gpu.indices.to('cpu').dataSync(), cpu.indices.dataSync(), `${what} indices`);
  expectBitIdentical(gpu.values.to('cpu').dataSync(), cpu.values.dataSync(), `${what} values`);
}

describeCuda('cuda: topk, sort, argsort, distances, retrieval metrics', () => {
  it('sort and topk: the CPU bits, short rows (shared memory) and long rows (global scratch), every axis', () => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1, 1, -1];
    for (const [shape, dim] of [[[7], -1], [[5, 33], 1], [[3, 4096], -1], [[2, 4097], 1], [[2, 20000], -1], [[6, 300, 3], 1], [[400, 5], 0]] as [number[], number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // Rounded values for ties, and the special values sprinkled in.
      const values = Float32Array.from(randomCpu([n], n).dataSync(), (v, i) => (i % 37 === 5 ? special[i % special.length] : Math.round(v * 8)));
      const x = tensor(values, { shape });
      for (const descending of [false, true]) compareSort(x, `sort ${shape} dim ${dim} descending ${descending}`, (t) => cc.sort(t, { dim, descending }));
      const len = shape[(dim + shape.length) % shape.length];
      for (const k of [1, Math.min(5, len), len]) {
        for (const largest of [true, false]) compareSort(x, `topk ${shape} dim ${dim} k ${k} largest ${largest}`, (t) => cc.topk(t, k, { dim, largest }));
      }
    }
    const xi = tensor(new Int32Array([5, -2147483648, 2147483647, 5, 0, -7]), { dtype: 'int32', shape: [2, 3] });
    compareSort(xi, 'sort int32', (t) => cc.sort(t, { descending: true }));
    expect(cc.argsort(xi.to('cuda'), { dim: 0 }).to('cpu').tolist()).to.deep.equal(cc.argsort(xi, { dim: 0 }).tolist());
    expect(cc.topk(cc.zeros([3, 0]).to('cuda'), 0).values.shape).to.deep.equal([3, 0]);
  });

  it('more rows than blocks: a block sorts several rows, in shared memory and in its slice of the global scratch', () => {
    // sort.cu: at most 524280 blocks for short rows, and 2^27 / (8 P) blocks for long ones (2048
    // for rows of 4100: P = 8192); every other test has fewer rows than that, so only here does a
    // block reuse its keys for a second row.
    cc.manualSeed(44);
    const short = cc.rand([524280 + 9, 3], -1, 1), long = cc.floor(cc.rand([2100, 4100], -50, 50));
    compareSort(short, 'topk of 524289 rows', (t) => cc.topk(t, 2, { dim: 1 }));
    compareSort(long, 'topk of 2100 rows of 4100 (global scratch)', (t) => cc.topk(t, 5, { dim: 1, largest: false }));
  });

  it('gradients of topk values, and the distances, match the CPU', () => {
    compareDevices((x) => cc.topk(x, 4).values, [randomCpu([5, 50], 1)], { grads: true, what: 'topk' });
    compareDevices((x) => cc.sort(x, { dim: 0, descending: true }).values, [randomCpu([70, 3], 2)], { grads: true, what: 'sort' });
    compareDevices((x) => F.normalize(x), [randomCpu([6, 9], 3)], { grads: true, what: 'normalize' });
    compareDevices((a, b) => F.cosineSimilarity(a, b), [randomCpu([6, 9], 4), randomCpu([6, 9], 5)], { grads: true, what: 'cosineSimilarity' });
    compareDevices((a, b) => F.pairwiseDistance(a, b), [randomCpu([6, 9], 6), randomCpu([6, 9], 7)], { grads: true, what: 'pairwiseDistance' });
    compareDevices((a, b) => cc.cdist(a, b), [randomCpu([40, 16], 8), randomCpu([30, 16], 9)], { grads: true, bound: 1e-4, what: 'cdist matmul' });
    compareDevices((a, b) => cc.cdist(a, b, { p: 1 }), [randomCpu([2, 5, 4], 10), randomCpu([2, 3, 4], 11)], { grads: true, what: 'cdist p=1' });
  });

  // The GPU's distances differ from the CPU's in the last bits (another summation order, TF32
  // if enabled), which may swap two near-equal neighbours: the figures agree closely, not exactly.
  it('recall@k and mAP of GPU embeddings match the CPU figures', async () => {
    const e = randomCpu([300, 16], 12);
    const labels = tensor(Int32Array.from({ length: 300 }, (_, i) => i % 7), { dtype: 'int32' });
    for (const metric of ['euclidean', 'cosine'] as const) {
      const o = { metric, excludeSelf: true, batchSize: 128 };
      const cpu = await metrics.retrieval.recallAtK(e, labels, e, labels, [1, 5], o);
      const g = e.to('cuda'), gl = labels.to('cuda');
      const gpu = await metrics.retrieval.recallAtK(g, gl, g, gl, [1, 5], o);
      gpu.forEach((r, i) => expect(r, `${metric} recall ${i}`).to.be.closeTo(cpu[i], 0.01));
      expect(await metrics.retrieval.meanAveragePrecision(g, gl, g, gl, o), metric).to.be.closeTo(await metrics.retrieval.meanAveragePrecision(e, labels, e, labels, o), 0.005);
    }
  });
});
