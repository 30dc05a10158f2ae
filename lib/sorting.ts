/**
 * Sorting along an axis, as PyTorch: `topk`, `sort` and `argsort`. One native op does all three
 * (native/cpu/sort.cc, native/cuda/sort.cu): the k first of each row in sorted order, with their
 * int32 positions. NaN counts as the largest (first when descending, last when ascending); equal
 * values always come in position order (lower index first), so every sort here is stable and a
 * result never depends on the device or the thread count. float32 or int32 input; the values of
 * a float32 input are differentiable (the gradient goes back to the selected positions).
 */
import { noGrad, record } from './autograd';
import { fail } from './errors';
import { native } from './native';
import { DEVICE_CODE, Tensor, type DType } from './tensor';
import { checkAxis, checkBool, checkOptions, checkTensor, describe, shapeStr } from './validate';

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
  return selectSorted(op, t, axis, k, largest);
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
