/**
 * k-means clustering (Lloyd's iterations from a k-means++ start, Arthur and Vassilvitskii 2007):
 * the codebook of VLAD pooling (`F.vlad`) and so of multi-scale orderless pooling (MOP-CNN). The
 * distances and the centre updates run on x's device (cdist, argmin, indexAdd); the seeding's
 * draws come from a Philox stream of `seed`, so a seed gives the same centres on every run,
 * whatever the global random state.
 */
import { noGrad } from '../autograd';
import { isfinite } from '../composite';
import { tensor, zeros } from '../creation';
import { PhiloxStream } from '../data/philox';
import { tidy, keep } from '../engine';
import { fail } from '../errors';
import { argmin, div, indexAdd, indexSelect, min, reshape, square, sum, unsqueeze } from '../ops';
import { cdist } from '../nn/functional/distance';
import { Tensor } from '../tensor';
import { checkFloat, checkInt, checkOptions, shapeStr } from '../validate';

type F32 = Tensor<'float32'>;

export interface KMeansOptions {
  /** The most Lloyd iterations (each assigns every point, then moves every centre). Default 100. */
  maxIter?: number;
  /** The seed of the k-means++ draws. Default 0. */
  seed?: number;
}

export interface KMeansResult {
  /** [k, D]: the mean of each cluster (a cluster that empties keeps its last centre). */
  centers: F32;
  /** [M] int32: the cluster of each point (its nearest centre; ties to the lower index). */
  assignments: Tensor<'int32'>;
  /** The sum of the squared distances of the points to their centres (float64, on the host). */
  inertia: number;
  /** The iterations run: fewer than maxIter when the assignments stopped changing. */
  iterations: number;
}

/**
 * Clusters the rows of x [M, D] into k groups, as scikit-learn's KMeans (one k-means++ start,
 * Lloyd's iterations until no point changes cluster). No gradient.
 * @example const { centers } = vision.kmeans(features.reshape([-1, 512]), 100, { seed: 1 });
 */
export function kmeans(x: Tensor, k: number, options: KMeansOptions = {}): KMeansResult {
  const op = 'kmeans';
  const o = checkOptions<KMeansOptions>(op, options, ['maxIter', 'seed']);
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 2 || t.shape[1] < 1) fail('E_SHAPE', `${op}: expected x of shape [M, D] with D >= 1, got ${shapeStr(t.shape)}`);
  const M = t.shape[0];
  checkInt(op, 'k', k, 1);
  if (k > M) fail('E_ARG', `${op}: k = ${k} clusters need at least k points, got ${M}`);
  const maxIter = checkInt(op, 'maxIter', o.maxIter ?? 100, 1);
  const seed = checkInt(op, 'seed', o.seed ?? 0, 0);
  if (tidy(() => min(isfinite(t)).item()) !== 1) fail('E_ARG', `${op}: x holds a NaN or an infinity`);
  return noGrad(() => {
    let centers = seedCenters(t as F32, k, new PhiloxStream(seed, 0, 0, 0));
    let assigned = new Int32Array(M).fill(-1);
    let iterations = 0;
    let inertia = 0;
    for (;;) {
      const [near, d2] = tidy(() => {
        const d = cdist(t, centers);
        return [argmin(d, 1), sum(square(min(d, 1)))];
      });
      const next = near.dataSync() as Int32Array;
      inertia = d2.item();
      d2.dispose();
      const changed = next.some((c, i) => c !== assigned[i]);
      assigned = Int32Array.from(next);
      if (!changed || iterations === maxIter) {
        return { centers, assignments: near, inertia, iterations };
      }
      near.dispose();
      iterations++;
      const moved = tidy(() => {
        const index = tensor(assigned, { dtype: 'int32', device: t.device });
        const sums = indexAdd(zeros([k, t.shape[1]], { device: t.device }), 0, index, t);
        const counts = new Float32Array(k);
        for (const c of assigned) counts[c]++;
        const mean = div(sums, unsqueeze(tensor(counts.map((n) => Math.max(n, 1)), { device: t.device }), 1)) as F32;
        if (!counts.includes(0)) return keep(mean);
        // An emptied cluster (its mean 0 above) keeps its centre.
        const emptied = tensor(counts.map((n) => (n === 0 ? 1 : 0)), { device: t.device });
        return keep(mean.add(unsqueeze(emptied, 1).mul(centers)) as F32);
      });
      centers.dispose();
      centers = moved;
    }
  });
}

/** k-means++: the first centre a uniform draw, each next one drawn with probability proportional to its squared distance to the nearest centre so far. */
function seedCenters(x: F32, k: number, rng: PhiloxStream): F32 {
  const M = x.shape[0];
  const picked: number[] = [rng.below(M)];
  let nearest: Float64Array | null = null;
  while (picked.length < k) {
    const last = picked[picked.length - 1];
    const d = tidy(() => square(reshape(cdist(x, indexSelect(x, 0, tensor([last], { dtype: 'int32', device: x.device }))), [M])).dataSync());
    if (nearest === null) nearest = Float64Array.from(d);
    else for (let i = 0; i < M; i++) nearest[i] = Math.min(nearest[i], d[i]);
    let total = 0;
    for (const v of nearest) total += v;
    let next: number;
    if (total > 0) {
      let r = rng.uniform() * total;
      next = M - 1;
      for (let i = 0; i < M; i++) {
        r -= nearest[i];
        if (r < 0) { next = i; break; }
      }
    } else {
      // Every point sits on a centre already: take the first not yet picked.
      next = Array.from({ length: M }, (_, i) => i).find((i) => !picked.includes(i))!;
    }
    picked.push(next);
  }
  return tidy(() => keep(indexSelect(x, 0, tensor(Int32Array.from(picked), { dtype: 'int32', device: x.device }))));
}
