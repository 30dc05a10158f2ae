/**
 * Sorting along an axis, as PyTorch: `topk`, `sort` and `argsort`; and the binary search into
 * sorted rows, `searchsorted` and `bucketize` (native/cpu/searchsorted.cc). One native op does all three
 * (native/cpu/sort.cc, native/cuda/sort.cu): the k first of each row in sorted order, with their
 * int32 positions. NaN counts as the largest (first when descending, last when ascending); equal
 * values always come in position order (lower index first), so every sort here is stable and a
 * result never depends on the device or the thread count. float32 or int32 input; the values of
 * a float32 input are differentiable (the gradient goes back to the selected positions).
 */
import { noGrad, record } from './autograd';
import { fail } from './errors';
import { native } from './native';
import { tensor } from './creation';
import { DEVICE_CODE, Tensor, type DType } from './tensor';
import { sameShape } from './ops';
import { checkAxis, checkBool, checkNumber, checkOptions, checkSameDevice, checkTensor, describe, isTensor, shapeStr } from './validate';

/** Values and their int32 positions along the sorted axis, as PyTorch's (values, indices). */
export interface SortResult<D extends DType = DType> { values: Tensor<D>; indices: Tensor<'int32'> }

export interface TopkOptions {
  /** The axis to select along. Default -1 (the last). */
  dim?: number;
  /** The k largest (default true), or the k smallest. */
  largest?: boolean;
  /**
   * Whether the k come sorted. Default true. They always do here (PyTorch leaves the order
   * unspecified when false), so false changes nothing.
   */
  sorted?: boolean;
}

export interface SortOptions {
  /** The axis to sort along. Default -1 (the last). */
  dim?: number;
  /** Largest first. Default false (ascending). */
  descending?: boolean;
  /** Keep equal values in position order. Always done here, so the option only exists for PyTorch's sake. */
  stable?: boolean;
}

function checkInput(op: string, x: unknown): Tensor {
  const t = checkTensor(op, 'x', x);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  return t;
}

// The one native call behind the three; a 0-D x is sorted as a 1-element row (as PyTorch).
function selectSorted<D extends DType>(op: string, x: Tensor<D>, dim: number, k: number, largest: boolean): SortResult<D> {
  const scalar = x.rank === 0;
  const axis = checkAxis(op, 'dim', dim, Math.max(1, x.rank));
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  const src = scalar ? noGrad(() => x.reshape([1])) : x;
  let vh, ih;
  try {
    [vh, ih] = native.topk(src.handle(op), axis, k, largest);
  } finally {
    if (scalar) src.dispose();
  }
  let values = new Tensor<D>(vh, scalar ? [1] : shape, x.dtype);
  let indices = new Tensor<'int32'>(ih, scalar ? [1] : shape, 'int32');
  if (scalar) {
    const v = values.reshape([]), i = indices.reshape([]);
    values.dispose();
    indices.dispose();
    values = v;
    indices = i;
  }
  if (x.dtype !== 'float32') return { values, indices };
  // values = x.gather(axis, indices): the gradient scatters dy back to the selected positions
  // (distinct within a row, so nothing adds up).
  const shape0 = x.shape;
  const y = record(op, values as unknown as Tensor<'float32'>, [x, indices], (dy, [si]) => {
    if (shape0.length === 0) return [dy, null];
    const zeros = native.fill(shape0.slice(), 0, 0, DEVICE_CODE[dy.device]);
    try {
      return [new Tensor(native.scatterAdd(zeros, axis, si.handle(`${op} backward`), dy.handle(`${op} backward`)), shape0, 'float32'), null];
    } finally {
      native.release(zeros);
    }
  }, [indices]);
  return { values: y as unknown as Tensor<D>, indices };
}

/**
 * The k largest (or smallest) entries along `dim`, as torch.topk: `{ values, indices }`, both of
 * x's shape with `dim` of size k, in sorted order; equal values by lower index first; NaN counts
 * as the largest. Gradients flow from `values` back to the selected positions.
 * @example
 * const { values, indices } = topk(scores, 5);               // the 5 best of each row
 * const nearest = topk(distances, 1, { largest: false }).indices;
 */
export function topk<D extends DType>(x: Tensor<D>, k: number, options?: TopkOptions): SortResult<D> {
  const op = 'topk';
  const t = checkInput(op, x) as Tensor<D>;
  const o = checkOptions<TopkOptions>(op, options, ['dim', 'largest', 'sorted']);
  const largest = checkBool(op, 'largest', o.largest ?? true);
  checkBool(op, 'sorted', o.sorted ?? true);
  const dim = o.dim ?? -1;
  const axis = checkAxis(op, 'dim', dim, Math.max(1, t.rank));
  const len = t.rank === 0 ? 1 : t.shape[axis];
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 0 || k > len) {
    fail('E_ARG', `topk: expected \`k\` in [0, ${len}] (the size of axis ${axis} of ${shapeStr(t.shape)}), got ${describe(k)}`);
  }
  // A 0-D x has no axis to hold 0 values: PyTorch returns x itself for k = 0 as for k = 1.
  return selectSorted(op, t, axis, t.rank === 0 ? 1 : k, largest);
}

/**
 * x sorted along `dim`, as torch.sort: `{ values, indices }` with `indices` the positions the
 * values came from. Ascending by default; NaN last (first when descending); stable.
 * @example const { values, indices } = sort(tensor([3, 1, 2]));   // [1, 2, 3], [1, 2, 0]
 */
export function sort<D extends DType>(x: Tensor<D>, options?: SortOptions): SortResult<D> {
  const op = 'sort';
  const t = checkInput(op, x) as Tensor<D>;
  const o = checkOptions<SortOptions>(op, options, ['dim', 'descending', 'stable']);
  const descending = checkBool(op, 'descending', o.descending ?? false);
  checkBool(op, 'stable', o.stable ?? false);
  const axis = checkAxis(op, 'dim', o.dim ?? -1, Math.max(1, t.rank));
  return selectSorted(op, t, axis, t.rank === 0 ? 1 : t.shape[axis], descending);
}

/**
 * The positions that sort x along `dim` (int32), as torch.argsort: `sort(x, options).indices`.
 * @example argsort(tensor([[3, 1, 2]]), { descending: true })   // [[0, 2, 1]]
 */
export function argsort(x: Tensor, options?: SortOptions): Tensor<'int32'> {
  const { values, indices } = noGrad(() => sort(x, options));
  values.dispose();
  return indices;
}

export interface SearchsortedOptions {
  /** false (default): the first position whose boundary is >= the value; true: > the value. */
  right?: boolean;
  /** PyTorch's other spelling of `right`: 'left' or 'right'. */
  side?: 'left' | 'right';
}

/**
 * Where each value would go in the sorted last axis of `sortedSequence`, as torch.searchsorted:
 * int32 positions of values' shape, by binary search. A 1-D sequence serves every value;
 * otherwise the sequence [..., M] and values [..., K] share their leading axes, row by row. Left
 * (default): the first position whose boundary is >= the value; right: the first > it. A NaN
 * value goes to M (PyTorch's loops). float32 or int32, one dtype for both.
 * @example searchsorted(cumsum(probs, 0), rand([5]))   // 5 draws from a categorical distribution
 */
export function searchsorted(sortedSequence: Tensor, values: Tensor | number, options: SearchsortedOptions = {}): Tensor<'int32'> {
  const op = 'searchsorted';
  const seq = checkTensor(op, 'sortedSequence', sortedSequence);
  const o = checkOptions<SearchsortedOptions>(op, options, ['right', 'side']);
  const right = sideOf(op, o);
  return searchIn(op, seq, values, right);
}

/**
 * The bucket of each entry of `input` among 1-D sorted `boundaries`, as torch.bucketize:
 * `searchsorted(boundaries, input, { right })`. With right false, boundaries[i-1] < x <=
 * boundaries[i]; with right true, boundaries[i-1] <= x < boundaries[i].
 * @example bucketize(tensor([0.1, 0.5, 2]), tensor([0.5, 1]))   // [0, 0, 2]
 */
export function bucketize(input: Tensor | number, boundaries: Tensor, options: { right?: boolean } = {}): Tensor<'int32'> {
  const op = 'bucketize';
  const b = checkTensor(op, 'boundaries', boundaries);
  if (b.rank !== 1) fail('E_SHAPE', `${op}: expected 1-D boundaries, got ${shapeStr(b.shape)}`);
  const o = checkOptions<{ right?: boolean }>(op, options, ['right']);
  return searchIn(op, b, input, checkBool(op, 'right', o.right ?? false));
}

function sideOf(op: string, o: SearchsortedOptions): boolean {
  const right = o.right === undefined ? undefined : checkBool(op, 'right', o.right);
  if (o.side === undefined) return right ?? false;
  if (o.side !== 'left' && o.side !== 'right') fail('E_ARG', `${op}: expected \`side\` 'left' or 'right', got ${describe(o.side)}`);
  if (right !== undefined && right !== (o.side === 'right')) fail('E_ARG', `${op}: \`side\` '${o.side}' contradicts \`right\` ${right}`);
  return o.side === 'right';
}

function searchIn(op: string, seq: Tensor, values: Tensor | number, right: boolean): Tensor<'int32'> {
  if (seq.dtype !== 'float32' && seq.dtype !== 'int32') fail('E_DTYPE', `${op}: expected boundaries of dtype float32 or int32, got ${describe(seq.dtype)}`);
  if (seq.rank === 0) fail('E_SHAPE', `${op}: expected boundaries of at least one axis, got a scalar`);
  const v = isTensor(values) ? values : tensor(checkNumber(op, 'values', values, true), { dtype: seq.dtype, device: seq.device });
  try {
    checkTensor(op, 'values', v);
    if (v.dtype !== seq.dtype) fail('E_DTYPE', `${op}: expected values of the boundaries' dtype ${seq.dtype}, got ${v.dtype}`);
    checkSameDevice(op, { boundaries: seq, values: v });
    if (seq.rank > 1 && !(v.rank === seq.rank && sameShape(v.shape.slice(0, -1), seq.shape.slice(0, -1)))) {
      fail('E_SHAPE', `${op}: expected values with the boundaries' leading axes ${shapeStr(seq.shape.slice(0, -1))}, got ${shapeStr(v.shape)}`);
    }
    return new Tensor<'int32'>(native.searchsorted(seq.handle(op), v.handle(op), right), v.shape, 'int32');
  } finally {
    if (v !== values) v.dispose();
  }
}
