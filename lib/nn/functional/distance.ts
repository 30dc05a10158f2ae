/**
 * Distances and similarities between embeddings, as PyTorch's `F.normalize`,
 * `F.cosine_similarity`, `F.pairwise_distance`, `F.pdist` and `torch.cdist`. `normalize` and
 * `cosineSimilarity` are native ops each way (native/cpu/normalize.cc, cosine_similarity.cc: one
 * pass for the norms, one for the result, where PyTorch-like compositions took 4-8); the p-norms
 * of the other two are the native vector norm (composite.ts), with PyTorch's gradient at 0.
 * cdist's matmul path is a native op too (cdist.cc), whose gradient at a distance of 0 is 0 (as
 * PyTorch's norm backward), not 0 * Infinity = NaN.
 */
import { noGrad, record } from '../../autograd';
import { zerosLike } from '../../creation';
import { vectorNorm } from '../../composite';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native } from '../../native';
import { abs, add, ceil, clamp, div, expand, indexSelect, matmul, mul, ne, sub, sum, transpose, unsqueeze, where } from '../../ops';
import { unbind } from '../../indexing';
import { triuIndices } from '../../shapes';
import { Tensor } from '../../tensor';
import { broadcastShapes, checkAxis, checkBool, checkFloat, checkNumber, checkOptions, checkSameDevice, describe, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

export interface NormalizeOptions {
  /** The norm's exponent (> 0, or Infinity). Default 2. */
  p?: number;
  /** The axis the norm is taken over. Default 1. */
  dim?: number;
  /** The smallest divisor. Default 1e-12. */
  eps?: number;
}
export interface CosineSimilarityOptions {
  /** The axis of the vectors. Default 1. */
  dim?: number;
  /** The smallest norm each vector is divided by. Default 1e-8. */
  eps?: number;
}
export interface PairwiseDistanceOptions {
  /** The norm's exponent (> 0, or Infinity). Default 2. */
  p?: number;
  /** Added to every component of x1 - x2 (as PyTorch). Default 1e-6. */
  eps?: number;
  /** Keep the reduced last axis with size 1. Default false. */
  keepdim?: boolean;
}
/** torch.cdist's `compute_mode`: when p = 2 goes through a matrix product. */
export type CdistComputeMode = 'use_mm_for_euclid_dist_if_necessary' | 'use_mm_for_euclid_dist' | 'donot_use_mm_for_euclid_dist';
const COMPUTE_MODES: readonly CdistComputeMode[] = ['use_mm_for_euclid_dist_if_necessary', 'use_mm_for_euclid_dist', 'donot_use_mm_for_euclid_dist'];

export interface CdistOptions {
  /** The norm's exponent (>= 0, or Infinity; 0 counts the coordinates that differ). Default 2. */
  p?: number;
  /**
   * For p = 2: through a matrix product when N or M is above 25 (the default,
   * 'use_mm_for_euclid_dist_if_necessary'), always ('use_mm_for_euclid_dist'), or never
   * ('donot_use_mm_for_euclid_dist': the differences themselves, exact near 0 but [..., N, M, D]
   * in memory), as torch.cdist's `compute_mode`.
   */
  computeMode?: CdistComputeMode;
}

function exponent(op: string, value: unknown, zero = false): number {
  const p = value === undefined ? 2 : checkNumber(op, 'p', value, true);
  if (!(p > 0 || (zero && p === 0))) fail('E_ARG', `${op}: expected \`p\` ${zero ? '>=' : '>'} 0 (or Infinity), got ${describe(value)}`);
  return p;
}

/**
 * x divided by its p-norm over `dim` (at least `eps`), as PyTorch's `F.normalize`: rows of unit
 * length for embeddings. A zero vector stays zero; its gradient is dy / eps (PyTorch's too).
 * @example const unit = F.normalize(embeddings);   // [N, D], each row of length 1
 */
export function normalize(x: Tensor, options?: NormalizeOptions): F32 {
  const op = 'normalize';
  const o = checkOptions<NormalizeOptions>(op, options, ['p', 'dim', 'eps']);
  const t = checkFloat(op, 'x', x);
  const p = exponent(op, o.p);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-12);
  if (t.rank === 0) fail('E_SHAPE', `${op}: expected a tensor of at least one axis, got a scalar`);
  const axis = checkAxis(op, 'dim', o.dim ?? 1, t.rank);
  const y = new Tensor(native.normalizeForward(t.handle(op), axis, p, eps), t.shape, 'float32');
  return record(op, y, [t], (dy, [sx]) => {
    const bop = `${op} backward`;
    return [new Tensor(native.normalizeBackward(dy.handle(bop), sx.handle(bop), axis, p, eps), sx.shape, 'float32')];
  }, [t], { axis, p, eps });
}

// x1 and x2 of one device, float32, broadcast together; their common rank.
function pairArgs(op: string, x1: unknown, x2: unknown): { a: F32; b: F32; shape: number[] } {
  const a = checkFloat(op, 'x1', x1), b = checkFloat(op, 'x2', x2);
  checkSameDevice(op, { x1: a, x2: b });
  return { a, b, shape: broadcastShapes(op, a.shape, b.shape) };
}

/**
 * Cosine of the angle between x1 and x2 along `dim` (broadcasting), as PyTorch 1.13's
 * `F.cosine_similarity`: sum(x1 * x2) / (max(|x1|, eps) max(|x2|, eps)), one native op each way.
 * Its gradient treats the clamped norms as PyTorch's does (the clamp is not differentiated).
 * @example F.cosineSimilarity(a, b)   // [N] from two [N, D]
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, options?: CosineSimilarityOptions): F32 {
  const op = 'cosineSimilarity';
  const o = checkOptions<CosineSimilarityOptions>(op, options, ['dim', 'eps']);
  const { a, b, shape } = pairArgs(op, x1, x2);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-8);
  if (shape.length === 0) fail('E_SHAPE', `${op}: expected tensors of at least one axis, got scalars`);
  // An axis of the broadcast shape, which an operand may lack (PyTorch expands both first).
  const axis = checkAxis(op, 'dim', o.dim ?? 1, shape.length);
  return tidy(() => {
    // The kernel takes one shape: a broadcast operand is expanded first (a copy; its gradient sums back).
    const full = (t: F32) => (t.rank === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : expand(t, shape));
    const u = full(a), v = full(b);
    const y = new Tensor(native.cosineSimilarityForward(u.handle(op), v.handle(op), axis, eps), shape.filter((_, i) => i !== axis), 'float32');
    return record(op, y, [u, v], (dy, [su, sv]) => {
      const bop = `${op} backward`;
      const [du, dv] = native.cosineSimilarityBackward(dy.handle(bop), su.handle(bop), sv.handle(bop), axis, eps);
      return [new Tensor(du, su.shape, 'float32'), new Tensor(dv, sv.shape, 'float32')];
    }, [u, v]);
  });
}

/**
 * The p-norm of x1 - x2 + eps over the last axis (broadcasting), as PyTorch's
 * `F.pairwise_distance`. @example F.pairwiseDistance(anchor, positive)   // [N]
 */
export function pairwiseDistance(x1: Tensor, x2: Tensor, options?: PairwiseDistanceOptions): F32 {
  const op = 'pairwiseDistance';
  const o = checkOptions<PairwiseDistanceOptions>(op, options, ['p', 'eps', 'keepdim']);
  const { a, b, shape } = pairArgs(op, x1, x2);
  const p = exponent(op, o.p);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-6);
  const keepdim = checkBool(op, 'keepdim', o.keepdim ?? false);
  if (shape.length === 0) fail('E_SHAPE', `${op}: expected tensors of at least one axis, got scalars`);
  return tidy(() => vectorNorm(op, add(sub(a, b), eps), p, [shape.length - 1], keepdim));
}

/**
 * The p-norm distance between every row of x1 and every row of x2, as torch.cdist: [N, D] and
 * [M, D] give [N, M]; [B, N, D] and [B, M, D] give [B, N, M] (batch axes broadcast). For p = 2
 * with N or M above 25 it goes through a matmul as PyTorch does (|a|^2 + |b|^2 - 2 a.b, clamped
 * at 0 before the root): fast, but a distance near 0 loses precision to cancellation
 * (`computeMode: 'donot_use_mm_for_euclid_dist'` avoids it). Other cases take the differences by
 * broadcasting ([..., N, M, D] in memory).
 * @example
 * const d = cdist(queries, gallery);                        // [Q, G]
 * const nearest = topk(d, 5, { largest: false }).indices;   // the 5 nearest of each query
 */
export function cdist(x1: Tensor, x2: Tensor, options?: CdistOptions): F32 {
  const op = 'cdist';
  const o = checkOptions<CdistOptions>(op, options, ['p', 'computeMode']);
  const a = checkFloat(op, 'x1', x1), b = checkFloat(op, 'x2', x2);
  checkSameDevice(op, { x1: a, x2: b });
  const p = exponent(op, o.p, true);   // p = 0: the count of coordinates that differ (as PyTorch)
  const mode = o.computeMode ?? 'use_mm_for_euclid_dist_if_necessary';
  if (!COMPUTE_MODES.includes(mode)) {
    fail('E_ARG', `${op}: expected \`computeMode\` to be one of ${COMPUTE_MODES.map((m) => `'${m}'`).join(', ')}, got ${describe(o.computeMode)}`);
  }
  if (a.rank < 2 || b.rank < 2) fail('E_SHAPE', `${op}: expected x1 [..., N, D] and x2 [..., M, D] of at least 2 axes, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.shape[a.rank - 1] !== b.shape[b.rank - 1]) {
    fail('E_SHAPE', `${op}: x1 ${shapeStr(a.shape)} and x2 ${shapeStr(b.shape)} must have the same number of columns`);
  }
  const batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const n = a.shape[a.rank - 2], m = b.shape[b.rank - 2];
  return tidy(() => {
    const mm = mode === 'use_mm_for_euclid_dist' || (mode === 'use_mm_for_euclid_dist_if_necessary' && (n > 25 || m > 25));
    if (p === 2 && mm) return euclidean(op, a, b, batch);
    const diff = sub(unsqueeze(a, -2), unsqueeze(b, -3));        // [..., N, M, D]
    return p === 0 ? countDiffering(op, diff, [a, b]) : vectorNorm(op, diff, p, [diff.rank - 1], false);
  });
}

/**
 * The p = 0 distance (how many coordinates differ) over the last axis of the differences, as
 * PyTorch's cdist and pdist take it: sum(min(ceil(|d|), 1)), so a NaN difference (inf - inf too)
 * gives NaN (vector_norm's count would take it as differing). Its gradient is 0.
 */
function countDiffering(op: string, diff: F32, inputs: F32[]): F32 {
  const y = noGrad(() => sum(clamp(ceil(abs(diff)), null, 1), [diff.rank - 1]));
  return record(op, y, inputs, () => inputs.map((t) => zerosLike(t)), []);
}

/**
 * The p-norm distance between every pair of rows of x [N, M], as torch.nn.functional.pdist: the
 * upper triangle of cdist(x, x) without its diagonal, row by row ([N (N - 1) / 2]: d(0, 1), d(0,
 * 2), ..., d(1, 2), ...). p >= 0 or Infinity (default 2); the differences are taken directly (no
 * matmul), and the gradient at a distance of 0 is 0, as PyTorch's.
 * @example F.pdist(embeddings)   // every pairwise distance of a batch, for a retrieval loss
 */
export function pdist(x: Tensor, p = 2): F32 {
  const op = 'pdist';
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 2) fail('E_SHAPE', `${op}: expected x of shape [N, M], got ${shapeStr(t.shape)}`);
  const q = exponent(op, p, true);
  const n = t.shape[0];
  return tidy(() => {
    const pairs = triuIndices(n, n, 1, { device: t.device });   // [2, n (n - 1) / 2]: rows i < j
    const [i, j] = unbind(pairs, 0) as Tensor<'int32'>[];
    const diff = sub(indexSelect(t, 0, i), indexSelect(t, 0, j));
    if (q === 0) return countDiffering(op, diff, [t]);
    // No coordinates: every distance is 0, as PyTorch's (vectorNorm refuses the inf norm of nothing).
    if (t.shape[1] === 0) return sum(diff, [1]);
    return vectorNorm(op, diff, q, [1], false);
  });
}

/**
 * cdist's matmul path, one native op (cdist.cc: a GEMM, then the norms added and the root taken
 * in one pass). Gradient, with w = dy / d (0 where d is 0, as PyTorch's root behind its clamp):
 * da_i = sum_j w_ij (a_i - b_j) = a_i sum_j w_ij - (w b)_i, and db likewise with w's columns.
 */
function euclidean(op: string, a: F32, b: F32, batch: number[]): F32 {
  // The kernel takes one batch shape: a broadcast operand is expanded (a copy; its gradient sums back).
  const full = (t: F32) => {
    const shape = [...batch, ...t.shape.slice(-2)];
    return t.rank === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : expand(t, shape);
  };
  const u = full(a), v = full(b);
  const shape = [...batch, u.shape[u.rank - 2], v.shape[v.rank - 2]];
  const y = new Tensor(native.cdistEuclidean(u.handle(op), v.handle(op)), shape, 'float32');
  return record(op, y, [u, v], (dy, [su, sv, sd], need) => {
    const w = where(ne(sd, 0), div(dy, sd), 0);   // a NaN distance gives a NaN gradient
    return [
      need[0] ? sub(mul(su, sum(w, -1, true)), matmul(w, sv)) : null,
      need[1] ? sub(mul(sv, transpose(sum(w, -2, true))), matmul(w, su, { transA: true })) : null,
    ];
  }, [u, v, y]);
}
