/**
 * Embedding lookup, as torch.nn.functional.embedding: the rows of a [V, D] weight picked by int32
 * indices. Composed from indexSelect (forward) and indexAdd (the gradient), so it runs on every
 * device; PyTorch's `paddingIdx` (that row gets no gradient), `maxNorm` (the looked-up rows are
 * renormalised in place first) and `scaleGradByFreq` are supported. Sparse gradients are not.
 */
import { noGrad, record, traceAs } from '../../autograd';
import { norm } from '../../composite';
import { full } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native } from '../../native';
import { div, gt, indexAdd, indexSelect, mul, ne, reciprocal, reshape, scale, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkBool, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor, describe, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

export interface EmbeddingOptions {
  /** This row (negative counts from the end) gets no gradient. Default none. */
  paddingIdx?: number | null;
  /** Rows looked up whose `normType`-norm exceeds this are scaled to it, in place in `weight`, before the lookup. */
  maxNorm?: number | null;
  /** The norm of `maxNorm`: p > 0 or Infinity. Default 2. */
  normType?: number;
  /** Scale each row's gradient by 1 / (its count in `input`). Default false. */
  scaleGradByFreq?: boolean;
  /** Sparse gradients: only false (they are dense here). */
  sparse?: boolean;
}

/** @internal The option names of F.embedding (and nn.Embedding's, after the sizes). */
export const EMBEDDING_KEYS = ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'] as const;

/** @internal paddingIdx checked against `rows` and made non-negative (null: none), as PyTorch. */
export function paddingIndex(op: string, value: unknown, rows: number): number | null {
  if (value === undefined || value === null) return null;
  const p = checkInt(op, 'paddingIdx', value);
  if (p < -rows || p >= rows) fail('E_ARG', `${op}: expected \`paddingIdx\` within the ${rows} embeddings ([${-rows}, ${rows - 1}]), got ${p}`);
  return p < 0 ? p + rows : p;
}

/** @internal The other options checked: { maxNorm (null: none), normType, scaleGradByFreq }. */
export function embeddingOptions(op: string, o: EmbeddingOptions): { maxNorm: number | null; normType: number; scaleGradByFreq: boolean } {
  let maxNorm: number | null = null;
  if (o.maxNorm !== undefined && o.maxNorm !== null) {
    maxNorm = checkNumber(op, 'maxNorm', o.maxNorm);
    if (!(maxNorm > 0)) fail('E_ARG', `${op}: expected \`maxNorm\` > 0, got ${maxNorm}`);
  }
  const normType = o.normType === undefined ? 2 : checkNumber(op, 'normType', o.normType, true);
  if (!(normType > 0)) fail('E_ARG', `${op}: expected \`normType\` > 0 (or Infinity), got ${describe(o.normType)}`);
  const scaleGradByFreq = o.scaleGradByFreq === undefined ? false : checkBool(op, 'scaleGradByFreq', o.scaleGradByFreq);
  if (o.sparse !== undefined && checkBool(op, 'sparse', o.sparse)) fail('E_ARG', `${op}: sparse gradients are not supported (\`sparse: true\`); the gradient of \`weight\` is dense`);
  return { maxNorm, normType, scaleGradByFreq };
}

/**
 * The rows of `weight` [V, D] at `input`'s int32 indices: output shape [...input.shape, D], as
 * torch.nn.functional.embedding. The gradient of `weight` adds each output row's gradient into
 * its row (repeated indices add up), except the `paddingIdx` row, which gets none; with
 * `scaleGradByFreq` each is divided by how often its index occurs in `input`. With `maxNorm`, the
 * rows that `input` references and whose norm exceeds it are first multiplied by
 * maxNorm / (norm + 1e-7) in place, in `weight` itself, as PyTorch (outside the graph: a weight
 * saved by an earlier op of the same graph then fails its backward with E_STATE). An index out of
 * [0, V) is E_INDEX when the op runs.
 * @example const vectors = F.embedding(tokens, table, { paddingIdx: 0 });   // [B, T] -> [B, T, D]
 */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): F32 {
  const op = 'embedding';
  const o = checkOptions<EmbeddingOptions>(op, options, EMBEDDING_KEYS);
  const idx = checkTensor(op, 'input', input);
  if (idx.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`input\` to hold int32 indices, got ${idx.dtype}`);
  const w = checkTensor(op, 'weight', weight);
  if (w.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`weight\` of dtype float32, got ${w.dtype}`);
  if (w.rank !== 2) fail('E_SHAPE', `${op}: expected \`weight\` of shape [numEmbeddings, embeddingDim], got ${shapeStr(w.shape)}`);
  checkSameDevice(op, { input: idx, weight: w });
  const [V, D] = w.shape;
  const pad = paddingIndex(op, o.paddingIdx, V);
  const { maxNorm, normType, scaleGradByFreq } = embeddingOptions(op, o);
  const tw = w as F32, M = idx.size;
  const outShape = [...idx.shape, D];
  return traceAs(op, [tw], { indices: idx, maxNorm }, () => tidy(() => {
    const flat = reshape(idx as Tensor<'int32'>, [M]);
    if (maxNorm !== null && M > 0) renorm(op, tw, flat, maxNorm, normType);
    if (pad === null && !scaleGradByFreq) return reshape(indexSelect(tw, 0, flat), outShape);
    // One recorded op: the forward is the lookup, the backward indexAdd with each row's gradient
    // scaled (0 for the padding row, 1 / count with scaleGradByFreq).
    const rows = noGrad(() => indexSelect(tw, 0, flat));
    const rowScale = noGrad(() => {
      let s: F32 = full<'float32'>([M], 1, { device: tw.device });
      if (scaleGradByFreq) {
        const counts = indexAdd(full<'float32'>([V], 0, { device: tw.device }), 0, flat, s);
        s = reciprocal(indexSelect(counts, 0, flat));
      }
      return pad === null ? s : where(ne(flat, pad), s, 0);
    });
    const y = record(op, rows, [tw], (dy, [sflat, sscale]) => {
      const g = mul(dy, reshape(sscale, [M, 1]));
      return [indexAdd(full<'float32'>([V, D], 0, { device: dy.device }), 0, sflat as Tensor<'int32'>, g)];
    }, [flat, rowScale]);
    return reshape(y, outShape);
  }));
}

/** @internal PyTorch's embedding_renorm_: each referenced row of norm > maxNorm scaled by maxNorm / (norm + 1e-7), in place. */
export function renorm(op: string, w: F32, flat: Tensor<'int32'>, maxNorm: number, normType: number): void {
  noGrad(() => tidy(() => {
    const [V] = w.shape;
    const used = gt(indexAdd(full<'float32'>([V], 0, { device: w.device }), 0, flat, full<'float32'>([flat.size], 1, { device: w.device })), 0);
    const n = norm(w, { p: normType, dim: 1 });
    const factor = where(mul(used, gt(n, maxNorm)), div(maxNorm, scale(n, 1, 1e-7)), 1);
    native.copyInto(w.handle(op), mul(w, reshape(factor, [V, 1])).handle(op));
  }));
}
