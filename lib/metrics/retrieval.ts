/**
 * Retrieval measures for embeddings, as the metric-learning papers report them: every query is
 * compared with every gallery item (cosine similarity or euclidean distance, `cdist`), the
 * gallery is ranked per query (`topk` / `sort`, stable: ties by gallery position), and an item
 * is relevant when it has the query's label.
 *
 * - recall@k: the fraction of queries with at least one relevant item among their k nearest
 *   (the "Recall@K" of Song et al. 2016 and later deep metric learning papers).
 * - mean average precision: the mean over queries of AP = (1/R) sum over the relevant ranks r of
 *   precision@r, R being the query's number of relevant gallery items.
 *
 * A query with no relevant item in the gallery is left out of both (neither a hit nor a miss).
 * With `excludeSelf`, the queries are the gallery (query i is gallery item i: leave-one-out), and
 * each query's own item is ranked last and not counted. Queries are processed `batchSize` at a
 * time, so a 10000 x 10000 evaluation never holds the whole ranking at once. The ranking runs on
 * the embeddings' device; the counting is done in float64 on the host.
 */
import { cdist, normalize } from '../nn/functional/distance';
import { fail } from '../errors';
import { arange } from '../creation';
import { tidy } from '../engine';
import { noGrad } from '../autograd';
import { eq, matmul, narrow, neg, unsqueeze, where } from '../ops';
import { sort, topk } from '../sorting';
import type { Tensor } from '../tensor';
import { checkBool, collectChecked, checkFloat, checkInt, checkOptions, checkSameDevice, checkTensor, checkDtype, describe, shapeStr } from '../validate';

export interface RetrievalOptions {
  /** How items are compared: 'euclidean' distance (default) or 'cosine' similarity. */
  metric?: 'euclidean' | 'cosine';
  /**
   * The queries are the gallery (same tensors, or the same rows): each query's own item is
   * left out of its ranking. Default false.
   */
  excludeSelf?: boolean;
  /** Queries ranked at once. Default 512. */
  batchSize?: number;
}

interface Checked {
  q: Tensor<'float32'>;
  g: Tensor<'float32'>;
  qLabels: Int32Array;
  gLabels: Int32Array;
  metric: 'euclidean' | 'cosine';
  excludeSelf: boolean;
  batchSize: number;
  /** relevant[i]: how many gallery items share query i's label (its own left out). */
  relevant: Int32Array;
}

async function checkArgs(op: string, queries: unknown, queryLabels: unknown, gallery: unknown, galleryLabels: unknown, options: unknown): Promise<Checked> {
  const o = checkOptions<RetrievalOptions>(op, options, ['metric', 'excludeSelf', 'batchSize']);
  const q = checkFloat(op, 'queries', queries), g = checkFloat(op, 'gallery', gallery);
  checkSameDevice(op, { queries: q, gallery: g });
  if (q.rank !== 2 || g.rank !== 2 || q.shape[1] !== g.shape[1]) {
    fail('E_SHAPE', `${op}: expected queries [Q, D] and gallery [G, D], got ${shapeStr(q.shape)} and ${shapeStr(g.shape)}`);
  }
  const labels = (name: string, t: unknown, n: number): Tensor => {
    const l = checkTensor(op, name, t);
    checkDtype(op, name, l, 'int32');
    if (l.rank !== 1 || l.shape[0] !== n) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [${n}], got ${shapeStr(l.shape)}`);
    return l;
  };
  const ql = labels('queryLabels', queryLabels, q.shape[0]);
  const gl = labels('galleryLabels', galleryLabels, g.shape[0]);
  const metric = o.metric ?? 'euclidean';
  if (metric !== 'euclidean' && metric !== 'cosine') fail('E_ARG', `${op}: expected \`metric\` 'euclidean' or 'cosine', got ${describe(metric)}`);
  const excludeSelf = checkBool(op, 'excludeSelf', o.excludeSelf ?? false);
  if (excludeSelf && q.shape[0] !== g.shape[0]) {
    fail('E_SHAPE', `${op}: excludeSelf needs the queries to be the gallery, got ${q.shape[0]} queries and ${g.shape[0]} gallery items`);
  }
  const batchSize = checkInt(op, 'batchSize', o.batchSize ?? 512, 1);
  const qLabels = (await ql.data()) as Int32Array, gLabels = (await gl.data()) as Int32Array;
  const counts = new Map<number, number>();
  for (const l of gLabels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const relevant = Int32Array.from(qLabels, (l) => (counts.get(l) ?? 0) - (excludeSelf ? 1 : 0));
  return { q, g, qLabels, gLabels, metric, excludeSelf, batchSize, relevant };
}

/**
 * Distances of queries [start, start + n) to the whole gallery, [n, G], smaller is nearer
 * (minus the similarity for cosine); with excludeSelf each query's own item is +Infinity.
 */
function distances(c: Checked, unitGallery: Tensor<'float32'> | null, start: number, n: number): Tensor<'float32'> {
  return tidy(() => {
    const q = narrow(c.q, 0, start, n);
    const d = unitGallery ? neg(matmul(normalize(q), unitGallery, { transB: true })) : cdist(q, c.g);
    if (!c.excludeSelf) return d;
    const G = c.g.shape[0], device = c.q.device;
    const self = eq(unsqueeze(arange(start, start + n, 1, { dtype: 'int32', device }), 1), unsqueeze(arange(0, G, 1, { dtype: 'int32', device }), 0));
    return where(self, Infinity, d);
  });
}

/** Calls visit(query, ranked gallery positions) for every query, `batchSize` queries at a time. */
async function forEachRanking(c: Checked, depth: number, visit: (query: number, ranked: Int32Array) => void): Promise<void> {
  const Q = c.q.shape[0];
  // No gradients: embeddings that require grad must not grow a graph here.
  const unitGallery = c.metric === 'cosine' ? noGrad(() => normalize(c.g)) : null;
  try {
    for (let start = 0; start < Q; start += c.batchSize) {
      const n = Math.min(c.batchSize, Q - start);
      const indices = noGrad(() => tidy(() => {
        const d = distances(c, unitGallery, start, n);
        return depth < d.shape[1] ? topk(d, depth, { largest: false }).indices : sort(d).indices;
      }));
      const ranked = (await indices.data()) as Int32Array;
      indices.dispose();
      for (let i = 0; i < n; i++) visit(start + i, ranked.subarray(i * depth, (i + 1) * depth));
    }
  } finally {
    unitGallery?.dispose();
  }
}

/**
 * Recall@k of a retrieval: the fraction of queries with an item of their label among their k
 * nearest gallery items. `k` a number gives one figure, an array one per entry.
 * @example
 * const [r1, r5] = await metrics.retrieval.recallAtK(emb, labels, emb, labels, [1, 5], { excludeSelf: true });
 */
export async function recallAtK(queries: Tensor, queryLabels: Tensor, gallery: Tensor, galleryLabels: Tensor, k?: number, options?: RetrievalOptions): Promise<number>;
export async function recallAtK(queries: Tensor, queryLabels: Tensor, gallery: Tensor, galleryLabels: Tensor, k: readonly number[], options?: RetrievalOptions): Promise<number[]>;
export async function recallAtK(queries: Tensor, queryLabels: Tensor, gallery: Tensor, galleryLabels: Tensor, k: number | readonly number[] = 1, options?: RetrievalOptions): Promise<number | number[]> {
  const op = 'recallAtK';
  const c = await checkArgs(op, queries, queryLabels, gallery, galleryLabels, options);
  const ranked = c.g.shape[0] - (c.excludeSelf ? 1 : 0);
  const list = typeof k === 'number' ? [k] : Array.isArray(k) && k.length > 0 ? k : fail('E_ARG', `${op}: expected \`k\` to be a number or a non-empty array, got ${describe(k)}`);
  const ks = collectChecked(op, 'k', list, (v, i) => checkInt(op, typeof k === 'number' ? 'k' : `k[${i}]`, v, 1, Math.max(1, ranked)));
  const depth = Math.min(Math.max(...ks), ranked);
  const hits = ks.map(() => 0);
  let counted = 0;
  await forEachRanking(c, depth, (query, order) => {
    if (c.relevant[query] <= 0) return;
    counted++;
    const label = c.qLabels[query];
    let first = -1;   // the rank of the first relevant item
    for (let r = 0; r < depth && first < 0; r++) if (c.gLabels[order[r]] === label) first = r;
    ks.forEach((kk, i) => { if (first >= 0 && first < kk) hits[i]++; });
  });
  const recall = hits.map((h) => (counted === 0 ? NaN : h / counted));
  return typeof k === 'number' ? recall[0] : recall;
}

/**
 * Mean average precision of a retrieval over the whole ranked gallery (mAP, as the retrieval
 * papers report it): for each query, the mean of precision@r over the ranks r of its relevant
 * items; then the mean over queries. NaN when no query has a relevant item.
 * @example const map = await metrics.retrieval.meanAveragePrecision(q, ql, g, gl, { metric: 'cosine' });
 */
export async function meanAveragePrecision(queries: Tensor, queryLabels: Tensor, gallery: Tensor, galleryLabels: Tensor, options?: RetrievalOptions): Promise<number> {
  const op = 'meanAveragePrecision';
  const c = await checkArgs(op, queries, queryLabels, gallery, galleryLabels, options);
  const depth = c.g.shape[0];
  const ranked = depth - (c.excludeSelf ? 1 : 0);   // the query's own item is last: not counted
  let total = 0, counted = 0;
  await forEachRanking(c, depth, (query, order) => {
    const R = c.relevant[query];
    if (R <= 0) return;
    const label = c.qLabels[query];
    let found = 0, ap = 0;
    for (let r = 0; r < ranked && found < R; r++) {
      if (c.gLabels[order[r]] === label) {
        found++;
        ap += found / (r + 1);
      }
    }
    total += ap / R;
    counted++;
  });
  return counted === 0 ? NaN : total / counted;
}
