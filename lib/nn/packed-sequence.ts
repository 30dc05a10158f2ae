/**
 * Batches of sequences of different lengths for the recurrent layers, as torch.nn.utils.rnn:
 * `padSequence` stacks them with padding, `packPaddedSequence` marks each sample's length, and an
 * RNN, LSTM or GRU given the `PackedSequence` runs each sample over its own steps alone (going
 * backwards, from its own last step); `padPackedSequence` turns the output back into a padded
 * tensor. The final states are each sample's own.
 *
 * Unlike PyTorch's, a PackedSequence keeps the batch padded ([T, N, *], T the longest length,
 * the padding zeroed) with the lengths beside it, in the batch's own order: no sorting is needed
 * (`enforceSorted` only checks the order, as PyTorch's). `data` and `batchSizes` give PyTorch's
 * packed layout when asked for.
 * @example
 * const seqs = [cc.randn([5, 8]), cc.randn([3, 8]), cc.randn([2, 8])];
 * const packed = nn.utils.rnn.packSequence(seqs);
 * const [out, [h]] = lstm.forwardWithState(packed);               // h: each sample's last step
 * const [padded, lengths] = nn.utils.rnn.padPackedSequence(out);   // [5, 3, H], zeros past each length
 */
import { full, tensor } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { concat, indexSelect, narrow, reshape, stack, transpose, where } from '../ops';
import { Tensor } from '../tensor';
import { checkBool, checkFloat, checkInt, checkNumber, checkOptions, checkTensor, describe, isTensor, shapeStr } from '../validate';

type F32 = Tensor<'float32'>;

export class PackedSequence {
  readonly padded: F32;
  readonly lengths: readonly number[];

  /**
   * Prefer packPaddedSequence / packSequence. `padded` [T, N, *] time-major with the padding
   * zeroed (taken as it is, not copied), `lengths` N values in [1, T], the longest T.
   */
  constructor(padded: F32, lengths: readonly number[]) {
    const op = 'PackedSequence';
    const p = checkFloat(op, 'padded', padded);
    if (p.rank < 2) fail('E_SHAPE', `${op}: expected \`padded\` of shape [T, N, *], got ${shapeStr(p.shape)}`);
    const list = lengthList(op, lengths, p.shape[1], p.shape[0]);
    if (list.length > 0 && Math.max(...list) !== p.shape[0]) fail('E_ARG', `${op}: the longest length ${Math.max(...list)} is not the ${p.shape[0]} steps of \`padded\``);
    this.padded = p;
    this.lengths = list;
  }

  /** PyTorch's batch_sizes: for each step, how many samples are that long. */
  get batchSizes(): number[] {
    return Array.from({ length: this.padded.shape[0] }, (_, t) => this.lengths.filter((l) => l > t).length);
  }

  /** The samples by decreasing length (ties in batch order): PyTorch's sorted_indices. */
  get sortedIndices(): number[] {
    return this.lengths.map((l, n) => [l, n]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, n]) => n);
  }

  /** PyTorch's packed data [sum of lengths, *]: step by step, the samples still running, longest first. */
  get data(): F32 {
    const [T, N] = this.padded.shape;
    const order = this.sortedIndices, rows: number[] = [];
    for (let t = 0; t < T; t++) for (const n of order) if (this.lengths[n] > t) rows.push(t * N + n);
    return tidy(() => indexSelect(reshape(this.padded, [T * N, ...this.padded.shape.slice(2)]), 0, tensor(Int32Array.from(rows), { dtype: 'int32' })));
  }

  /** Frees the padded batch. */
  dispose(): void {
    this.padded.dispose();
  }
}

/** @internal Whether `v` is a PackedSequence (what the recurrent layers accept in place of a tensor). */
export const isPacked = (v: unknown): v is PackedSequence => v instanceof PackedSequence;

/** @internal Per step, which samples still run: [T, N, 1, ...] ones and zeros (broadcasting over the features). */
export function stepMask(lengths: readonly number[], shape: readonly number[], device: string): F32 {
  const [T, N] = shape;
  const m = new Float32Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) m[t * N + n] = t < lengths[n] ? 1 : 0;
  return tensor(m, { shape: [T, N, ...shape.slice(2).map(() => 1)], device });
}

function lengthList(op: string, lengths: unknown, N: number, T: number): number[] {
  let list: unknown = lengths;
  if (isTensor(lengths)) {
    const t = checkTensor(op, 'lengths', lengths);
    if (t.dtype !== 'int32' || t.rank !== 1) fail('E_ARG', `${op}: expected \`lengths\` as numbers or an int32 tensor [N], got ${t.dtype} ${shapeStr(t.shape)}`);
    list = Array.from(t.dataSync());
  }
  if (!Array.isArray(list) || list.length !== N) fail('E_ARG', `${op}: expected ${N} lengths (one per sample), got ${describe(lengths)}`);
  return list.map((l: unknown) => {
    const v = checkInt(op, 'lengths', l, 1);
    if (v > T) fail('E_ARG', `${op}: a length ${v} is longer than the ${T} steps of the input`);
    return v;
  });
}

export interface PackOptions {
  /** input is [N, T, *] instead of [T, N, *] (default false). */
  batchFirst?: boolean;
  /** Require the lengths in decreasing order, as PyTorch's default (default true); false accepts any order. */
  enforceSorted?: boolean;
}

/**
 * Marks each sample's length in a padded batch, as torch.nn.utils.rnn.pack_padded_sequence:
 * input [T, N, *] (or [N, T, *] with batchFirst), lengths N values in [1, T] (numbers or an
 * int32 tensor). The gradient reaches the input's unpadded steps.
 * @example const packed = nn.utils.rnn.packPaddedSequence(x, [5, 3, 2]);
 */
export function packPaddedSequence(input: Tensor, lengths: readonly number[] | Tensor, options: PackOptions = {}): PackedSequence {
  const op = 'packPaddedSequence';
  const o = checkOptions<PackOptions>(op, options, ['batchFirst', 'enforceSorted']);
  const x = checkFloat(op, 'input', input);
  const batchFirst = checkBool(op, 'batchFirst', o.batchFirst ?? false);
  if (x.rank < 2) fail('E_SHAPE', `${op}: expected \`input\` of shape ${batchFirst ? '[N, T, *]' : '[T, N, *]'}, got ${shapeStr(x.shape)}`);
  const [T, N] = batchFirst ? [x.shape[1], x.shape[0]] : [x.shape[0], x.shape[1]];
  const list = lengthList(op, lengths, N, T);
  if (N === 0) fail('E_ARG', `${op}: expected at least one sequence`);
  if (checkBool(op, 'enforceSorted', o.enforceSorted ?? true) && list.some((l, i) => i > 0 && l > list[i - 1])) {
    fail('E_ARG', `${op}: \`lengths\` must be in decreasing order (${list.join(', ')}); sort the batch or pass { enforceSorted: false }`);
  }
  const longest = Math.max(...list);
  const padded = tidy(() => {
    const timeMajor = narrow(batchFirst ? transpose(x, 0, 1) : x, 0, 0, longest);
    return where(stepMask(list, timeMajor.shape, x.device), timeMajor, 0);
  });
  return new PackedSequence(padded, list);
}

export interface PadPackedOptions {
  /** Output [N, T, *] instead of [T, N, *] (default false). */
  batchFirst?: boolean;
  /** The value past each sample's length (default 0). */
  paddingValue?: number;
  /** Pad to this many steps (at least the longest length) instead of the longest length. */
  totalLength?: number | null;
}

/**
 * A PackedSequence back as a padded tensor, as torch.nn.utils.rnn.pad_packed_sequence: returns
 * [padded [T, N, *] (or [N, T, *]), lengths int32 [N]].
 * @example const [y, lengths] = nn.utils.rnn.padPackedSequence(out, { batchFirst: true });
 */
export function padPackedSequence(sequence: PackedSequence, options: PadPackedOptions = {}): [F32, Tensor<'int32'>] {
  const op = 'padPackedSequence';
  if (!isPacked(sequence)) fail('E_ARG', `${op}: expected a PackedSequence, got ${describe(sequence)}`);
  const o = checkOptions<PadPackedOptions>(op, options, ['batchFirst', 'paddingValue', 'totalLength']);
  const batchFirst = checkBool(op, 'batchFirst', o.batchFirst ?? false);
  const value = checkNumber(op, 'paddingValue', o.paddingValue ?? 0, true);
  const p = sequence.padded;
  const T = p.shape[0];
  const total = o.totalLength === undefined || o.totalLength === null ? T : checkInt(op, 'totalLength', o.totalLength, 0);
  if (total < T) fail('E_ARG', `${op}: \`totalLength\` ${total} is shorter than the longest sequence (${T})`);
  const y = tidy(() => {
    let out: F32 = value === 0 ? p : where(stepMask(sequence.lengths, p.shape, p.device), p, value);
    if (total > T) out = concat([out, full([total - T, ...p.shape.slice(1)], value, { device: p.device }) as F32], 0);
    out = batchFirst ? transpose(out, 0, 1) : out;
    return (out === p ? reshape(p, [...p.shape]) : out) as F32;   // always a tensor of its own
  });
  return [y, tensor(Int32Array.from(sequence.lengths), { dtype: 'int32' })];
}

/**
 * Stacks sequences [L_i, *] of different lengths into one padded tensor [max L, N, *] (or
 * [N, max L, *]), as torch.nn.utils.rnn.pad_sequence.
 * @example nn.utils.rnn.padSequence([a, b, c], { batchFirst: true })
 */
export function padSequence(sequences: readonly Tensor[], options: { batchFirst?: boolean; paddingValue?: number } = {}): F32 {
  const op = 'padSequence';
  const o = checkOptions<{ batchFirst?: boolean; paddingValue?: number }>(op, options, ['batchFirst', 'paddingValue']);
  const batchFirst = checkBool(op, 'batchFirst', o.batchFirst ?? false);
  const value = checkNumber(op, 'paddingValue', o.paddingValue ?? 0, true);
  const list = sequenceList(op, sequences);
  const longest = Math.max(...list.map((t) => t.shape[0]));
  return tidy(() => {
    const padded = list.map((t) => (t.shape[0] === longest ? t
      : concat([t, full([longest - t.shape[0], ...t.shape.slice(1)], value, { device: t.device }) as F32], 0)));
    return stack(padded, batchFirst ? 0 : 1);
  });
}

function sequenceList(op: string, sequences: unknown): F32[] {
  if (!Array.isArray(sequences) || sequences.length === 0) fail('E_ARG', `${op}: expected a non-empty array of tensors [L, *], got ${describe(sequences)}`);
  const list = sequences.map((s: unknown, i) => checkFloat(op, `sequences[${i}]`, s));
  const rest = list[0].shape.slice(1);
  list.forEach((t, i) => {
    if (t.rank < 1 || t.rank !== rest.length + 1 || t.shape.slice(1).some((d, a) => d !== rest[a])) {
      fail('E_SHAPE', `${op}: expected every sequence of shape [L, ${rest.join(', ')}], got ${shapeStr(t.shape)} at ${i}`);
    }
    if (t.device !== list[0].device) fail('E_DEVICE', `${op}: sequences[${i}] is on ${t.device}, sequences[0] on ${list[0].device}`);
  });
  return list;
}

/**
 * Packs sequences [L_i, *] of different lengths, as torch.nn.utils.rnn.pack_sequence
 * (padSequence, then packPaddedSequence with their lengths).
 * @example const packed = nn.utils.rnn.packSequence([a, b, c], { enforceSorted: false });
 */
export function packSequence(sequences: readonly Tensor[], options: { enforceSorted?: boolean } = {}): PackedSequence {
  const op = 'packSequence';
  const o = checkOptions<{ enforceSorted?: boolean }>(op, options, ['enforceSorted']);
  const list = sequenceList(op, sequences);
  const lengths = list.map((t) => t.shape[0]);
  if (lengths.some((l) => l === 0)) fail('E_ARG', `${op}: every sequence needs at least one step, got lengths ${lengths.join(', ')}`);
  const padded = padSequence(list);
  try {
    return packPaddedSequence(padded, lengths, { enforceSorted: o.enforceSorted ?? true });
  } finally {
    padded.dispose();   // the packed batch is a tensor of its own (the tape keeps what its gradient needs)
  }
}
