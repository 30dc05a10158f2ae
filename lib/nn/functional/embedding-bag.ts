/**
 * Bags of embeddings reduced to one vector each, as torch.nn.functional.embedding_bag: the rows
 * of a [V, D] weight that each bag's int32 indices pick, summed, averaged or maxed (a text
 * classifier's bag of words, a recommender's bag of items), without the [bag, length, D]
 * tensor in between on the CPU.
 *
 * On the CPU one native pass reduces each bag's rows (native/cpu/embedding_bag.cc), recording
 * where each maximum came from; the backward is composed: each bag's gradient spread back to its
 * rows with index_add ('sum', 'mean'), or scattered to the maxima ('max': the first one of a
 * dimension alone, as PyTorch's CPU kernel). On the GPU the forward is composed too: F.embedding's
 * lookup (so `maxNorm`, `scaleGradByFreq` and the padding row's missing gradient are its), then
 * index_add per bag, or a gather of each dimension's first maximum from a [bags, longest bag, D]
 * block padded with -inf.
 */
import { noGrad, record } from '../../autograd';
import { full, tensor, zeros } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native } from '../../native';
import { argmax, clamp, concat, div, gather, indexAdd, indexSelect, mul, narrow, ne, reshape, squeeze, sum, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkBool, checkInt, checkOptions, checkSameDevice, checkTensor, describe, isTensor, shapeStr } from '../../validate';
import { embedding, embeddingOptions, paddingIndex, renorm, type EmbeddingOptions } from './embedding';

type F32 = Tensor<'float32'>;

export interface EmbeddingBagOptions extends Omit<EmbeddingOptions, 'paddingIdx'> {
  /** How a bag's rows become one: 'sum', 'mean' (the default) or 'max'. Empty bags give zeros. */
  mode?: 'sum' | 'mean' | 'max';
  /** A weight for each index (input's shape, float32), multiplying its row: 'sum' mode only, as PyTorch. */
  perSampleWeights?: Tensor | null;
  /** `offsets` has one more entry, the input's length, ending the last bag (PyTorch's CSR layout). Default false. */
  includeLastOffset?: boolean;
  /** Indices equal to this (negative counts from the end) are left out of their bag (and of its mean's count). */
  paddingIdx?: number | null;
}

/** @internal The option names of F.embeddingBag (and nn.EmbeddingBag's, after the sizes). */
export const EMBEDDING_BAG_KEYS = ['mode', 'perSampleWeights', 'includeLastOffset', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'] as const;

/** @internal mode checked. */
export function bagMode(op: string, value: unknown): 'sum' | 'mean' | 'max' {
  const mode = value ?? 'mean';
  if (mode !== 'sum' && mode !== 'mean' && mode !== 'max') fail('E_ARG', `${op}: expected \`mode\` 'sum', 'mean' or 'max', got ${describe(value)}`);
  return mode;
}

/** The bags as B + 1 bounds into the flat input (bag b is [bounds[b], bounds[b + 1])), from a 2-D input's rows or a 1-D input's offsets. */
function bagBounds(op: string, idx: Tensor, offsets: unknown, includeLast: boolean): Int32Array {
  const M = idx.size;
  if (idx.rank === 2) {
    if (offsets !== null && offsets !== undefined) {
      fail('E_ARG', `${op}: a 2-D \`input\` is a batch of bags of the same length, so \`offsets\` must be null, got ${describe(offsets)}`);
    }
    const [B, L] = idx.shape;
    return Int32Array.from({ length: B + 1 }, (_, b) => b * L);
  }
  if (offsets === null || offsets === undefined) fail('E_ARG', `${op}: a 1-D \`input\` needs \`offsets\`, each bag's first position`);
  let list: number[];
  if (isTensor(offsets)) {
    const t = checkTensor(op, 'offsets', offsets);
    if (t.dtype !== 'int32' || t.rank !== 1) fail('E_ARG', `${op}: expected \`offsets\` as an int32 tensor [bags] or numbers, got ${t.dtype} ${shapeStr(t.shape)}`);
    list = Array.from(t.dataSync());
  } else {
    if (!Array.isArray(offsets)) fail('E_ARG', `${op}: expected \`offsets\` as an int32 tensor [bags] or numbers, got ${describe(offsets)}`);
    list = offsets.map((v: unknown) => checkInt(op, 'offsets', v));
  }
  if (includeLast && list.length === 0) fail('E_ARG', `${op}: with \`includeLastOffset\`, \`offsets\` holds at least the end of the input`);
  if (list.length > 0 && list[0] !== 0) fail('E_ARG', `${op}: expected \`offsets[0]\` 0 (the first bag starts the input), as PyTorch; got ${list[0]}`);
  for (let b = 0; b < list.length; b++) {
    if (list[b] > M) fail('E_ARG', `${op}: expected \`offsets\` within the input's ${M} indices, got offsets[${b}] = ${list[b]}`);
    if (b > 0 && list[b] < list[b - 1]) fail('E_ARG', `${op}: expected non-decreasing \`offsets\`, got offsets[${b}] = ${list[b]} after ${list[b - 1]}`);
  }
  // PyTorch's CSR layout: the extra offset is the input's length (1.13's backward corrupts its heap otherwise).
  if (includeLast && list[list.length - 1] !== M) fail('E_ARG', `${op}: with \`includeLastOffset\`, the last offset is the input's length ${M}, got ${list[list.length - 1]}`);
  const bounds = new Int32Array(includeLast ? list.length : list.length + 1);
  bounds.set(list);
  if (!includeLast) bounds[list.length] = M;
  return bounds;
}

/**
 * Each bag's rows of `weight` [V, D] reduced to one: output [bags, D], as
 * torch.nn.functional.embedding_bag. A 2-D `input` [bags, length] is bags of the same length; a
 * 1-D one is cut into bags by `offsets` (each bag's first position, from 0, non-decreasing; the
 * last bag runs to the end; with `includeLastOffset` an extra last offset, the input's length,
 * says so). The gradient
 * reaches `weight` (except the padding row's) and `perSampleWeights`. An index out of [0, V) is
 * E_INDEX when the op runs.
 * @example F.embeddingBag(tokens, table, offsets, { mode: 'sum' })   // 1-D tokens, [bags] offsets -> [bags, D]
 */
export function embeddingBag(input: Tensor, weight: Tensor, offsets: Tensor | readonly number[] | null = null, options: EmbeddingBagOptions = {}): F32 {
  const op = 'embeddingBag';
  const o = checkOptions<EmbeddingBagOptions>(op, options, EMBEDDING_BAG_KEYS);
  const idx = checkTensor(op, 'input', input);
  if (idx.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`input\` to hold int32 indices, got ${idx.dtype}`);
  if (idx.rank !== 1 && idx.rank !== 2) fail('E_SHAPE', `${op}: expected \`input\` of shape [indices] (with offsets) or [bags, length], got ${shapeStr(idx.shape)}`);
  const w = checkTensor(op, 'weight', weight);
  if (w.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`weight\` of dtype float32, got ${w.dtype}`);
  if (w.rank !== 2) fail('E_SHAPE', `${op}: expected \`weight\` of shape [numEmbeddings, embeddingDim], got ${shapeStr(w.shape)}`);
  checkSameDevice(op, { input: idx, weight: w });
  const [V, D] = w.shape;
  const mode = bagMode(op, o.mode);
  const pad = paddingIndex(op, o.paddingIdx, V);
  const { maxNorm, normType, scaleGradByFreq } = embeddingOptions(op, o);
  if (mode === 'max' && scaleGradByFreq) fail('E_ARG', `${op}: 'max' mode does not scale the gradient by frequency (\`scaleGradByFreq\`), as PyTorch`);
  let psw: F32 | null = null;
  if (o.perSampleWeights !== undefined && o.perSampleWeights !== null) {
    if (mode !== 'sum') fail('E_ARG', `${op}: \`perSampleWeights\` go with mode 'sum' only, as PyTorch; got mode '${mode}'`);
    const t = checkTensor(op, 'perSampleWeights', o.perSampleWeights);
    if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`perSampleWeights\` of dtype float32, got ${t.dtype}`);
    if (t.rank !== idx.rank || t.shape.some((d, k) => d !== idx.shape[k])) fail('E_SHAPE', `${op}: expected \`perSampleWeights\` of \`input\`'s shape ${shapeStr(idx.shape)}, got ${shapeStr(t.shape)}`);
    checkSameDevice(op, { input: idx, perSampleWeights: t });
    psw = t as F32;
  }
  const includeLast = o.includeLastOffset === undefined ? false : checkBool(op, 'includeLastOffset', o.includeLastOffset);
  const bounds = bagBounds(op, idx, offsets, includeLast);
  if (w.device === 'cpu') return cpuBags(op, idx as Tensor<'int32'>, w as F32, bounds, mode, pad, psw, { maxNorm, normType, scaleGradByFreq });
  const B = bounds.length - 1, M = idx.size, device = w.device;
  return tidy((): F32 => {
    const flat = reshape(idx as Tensor<'int32'>, [M]);
    const rows = embedding(flat, w, { paddingIdx: pad, maxNorm, normType, scaleGradByFreq });   // [M, D]
    // Which bag each index is in; B (a bag dropped at the end) for those past the last bag's end.
    const bagOf = bagIndex(bounds, M);
    const bagIds = tensor(bagOf, { dtype: 'int32', device });
    const kept = pad === null ? null : where(ne(flat, pad), 1, 0);   // [M]: 0 for padding entries
    // Each bag's count of indices that are not padding ('mean' divides by it; an empty bag gives 0).
    const counts = () => narrow(indexAdd(zeros([B + 1], { device }), 0, bagIds, kept ?? full<'float32'>([M], 1, { device })), 0, 0, B);
    if (mode !== 'max') {
      let terms = rows;
      if (psw) terms = mul(terms, reshape(psw, [M, 1]));
      if (kept) terms = mul(terms, reshape(kept, [M, 1]));
      const sums = narrow(indexAdd(zeros([B + 1, D], { device }), 0, bagIds, terms), 0, 0, B);
      return mode === 'sum' ? sums : div(sums, reshape(clamp(counts(), 1), [B, 1]));   // an empty bag: 0 / 1
    }
    // 'max': the bags as a [B, longest, D] block of row positions, -inf where a bag is shorter or
    // holds padding; each dimension's first maximum gathered (its gradient goes there alone).
    let longest = 0;
    for (let b = 0; b < B; b++) longest = Math.max(longest, bounds[b + 1] - bounds[b]);
    if (B === 0 || longest === 0) return zeros<'float32'>([B, D], { device });
    const positions = new Int32Array(B * longest).fill(M);   // M: the -inf row
    for (let b = 0; b < B; b++) for (let i = bounds[b]; i < bounds[b + 1]; i++) positions[b * longest + i - bounds[b]] = i;
    const candidates = kept ? where(reshape(ne(kept, 0), [M, 1]), rows, -Infinity) : rows;
    const table = concat([candidates, full<'float32'>([1, D], -Infinity, { device })], 0);
    const block = reshape(indexSelect(table, 0, tensor(positions, { dtype: 'int32', device })), [B, longest, D]);
    const first = noGrad(() => argmax(block, 1, true));
    const maxima = squeeze(gather(block, 1, first), 1);
    return where(reshape(ne(counts(), 0), [B, 1]), maxima, 0) as F32;   // an empty bag: 0
  });
}

const MODE_CODE = { sum: 0, mean: 1, max: 2 } as const;

/** Which bag each of the M indices is in; B (past the last bag) for none. */
function bagIndex(bounds: Int32Array, M: number): Int32Array {
  const B = bounds.length - 1, bagOf = new Int32Array(M).fill(B);
  for (let b = 0; b < B; b++) bagOf.fill(b, bounds[b], bounds[b + 1]);
  return bagOf;
}

/** The CPU's embeddingBag: the native forward, and its backward composed of index_select and index_add / scatter_add. */
function cpuBags(op: string, idx: Tensor<'int32'>, w: F32, bounds: Int32Array, mode: 'sum' | 'mean' | 'max', pad: number | null,
  psw: F32 | null, o: { maxNorm: number | null; normType: number; scaleGradByFreq: boolean }): F32 {
  const B = bounds.length - 1, M = idx.size, [V, D] = w.shape;
  return tidy((): F32 => {
    const flat = reshape(idx, [M]);
    if (o.maxNorm !== null && M > 0) renorm(op, w, flat, o.maxNorm, o.normType);
    const sw = psw ? reshape(psw, [M]) : null;
    const boundsT = tensor(bounds, { dtype: 'int32' });
    const [yh, ah] = native.embeddingBagForward(w.handle(op), flat.handle(op), boundsT.handle(op), sw ? sw.handle(op) : null, MODE_CODE[mode], pad ?? -1);
    const y = new Tensor<'float32'>(yh, [B, D], 'float32');
    const maximaAt = ah === null ? null : new Tensor<'int32'>(ah, [B, D], 'int32');
    // Saved: the indices and bounds, then 'max''s positions, or the weight and per-sample weights (sum only).
    const saved = [flat, boundsT, ...(maximaAt ? [maximaAt] : []), ...(sw ? [w, sw] : [])];
    return record(op, y, [w, sw], (dy, [sflat, sbounds, ...rest]) => {
      const sat = maximaAt ? rest[0] : null;
      const [sweight, ssw] = sw ? rest : [null, null];
      const dw = new Tensor<'float32'>(native.embeddingBagBackward(dy.handle(op), sflat.handle(op), sbounds.handle(op), ssw ? ssw.handle(op) : null,
        sat ? sat.handle(op) : null, MODE_CODE[mode], pad ?? -1, o.scaleGradByFreq, V), [V, D], 'float32');
      if (!ssw) return [dw, null];
      // d perSampleWeights[i] = <dy[bag i], w[index i]> (0 for padding).
      const f = sflat as Tensor<'int32'>;
      const dRows = indexSelect(dy as F32, 0, tensor(bagIndex(bounds, M), { dtype: 'int32' }));
      const products = sum(mul(dRows, indexSelect(sweight as F32, 0, f)), 1);
      return [dw, pad === null ? products : where(ne(f, pad), products, 0)];
    }, saved);
  });
}
