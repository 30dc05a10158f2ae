/**
 * Matrix helpers with PyTorch's names: `bmm`, `outer`, `diag`, `diagonal`, `trace` and
 * `meshgrid`. Each is composed from the tensor ops (matmul, indexSelect, expand...), so it runs on
 * any device and its gradient is the tape's through its parts.
 */
import { tensor, zeros } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { concat, expand, indexSelect, matmul, mul, permute, reshape, sum } from './ops';
import { Tensor } from './tensor';
import { checkAxis, checkFloat, checkInt, checkSameDevice, checkTensor, collectChecked, describe, shapeStr } from './validate';

type F32 = Tensor<'float32'>;

/**
 * Batched matrix product, as torch.bmm: a [b, n, m] times b [b, m, p] is [b, n, p], batch by
 * batch (no broadcasting: `matmul` broadcasts).
 * @example bmm(queries, keys.transpose(1, 2))   // [b, n, n] scores
 */
export function bmm(a: Tensor, b: Tensor): F32 {
  const op = 'bmm';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  if (ta.rank !== 3 || tb.rank !== 3 || ta.shape[0] !== tb.shape[0] || ta.shape[2] !== tb.shape[1]) {
    fail('E_SHAPE', `${op}: expected [b, n, m] and [b, m, p], got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  }
  return matmul(ta, tb);
}

/**
 * The outer product of two vectors, as torch.outer: y[i][j] = a[i] * b[j], [n] and [m] give
 * [n, m]. @example outer(tensor([1, 2]), tensor([3, 4, 5]))   // [[3, 4, 5], [6, 8, 10]]
 */
export function outer(a: Tensor, b: Tensor): F32 {
  const op = 'outer';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  if (ta.rank !== 1 || tb.rank !== 1) fail('E_SHAPE', `${op}: expected two vectors, got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  return tidy(() => mul(reshape(ta, [ta.size, 1]), reshape(tb, [1, tb.size])));
}

/** The flat positions (row * cols + col) of diagonal `offset` of a rows x cols matrix. */
function diagonalPositions(rows: number, cols: number, offset: number): Int32Array {
  const first = offset >= 0 ? offset : -offset * cols;
  const length = Math.max(0, offset >= 0 ? Math.min(rows, cols - offset) : Math.min(rows + offset, cols));
  return Int32Array.from({ length }, (_, i) => first + i * (cols + 1));
}

/**
 * Diagonal `offset` of the plane of axes `dim1` and `dim2` (default 0, 1), as torch.diagonal:
 * those two axes are removed and the diagonal becomes the last axis. A positive offset is above
 * the main diagonal, a negative one below; past the edge the diagonal is empty. A copy.
 * @example diagonal(tensor([[1, 2], [3, 4]]))   // [1, 4]
 */
export function diagonal<T extends Tensor>(x: T, offset = 0, dim1 = 0, dim2 = 1): T {
  const op = 'diagonal';
  const t = checkTensor(op, 'x', x);
  if (t.rank < 2) fail('E_SHAPE', `${op}: expected a tensor of rank 2 or more, got ${shapeStr(t.shape)}`);
  const k = checkInt(op, 'offset', offset);
  const a1 = checkAxis(op, 'dim1', dim1, t.rank), a2 = checkAxis(op, 'dim2', dim2, t.rank);
  if (a1 === a2) fail('E_ARG', `${op}: expected two different axes, got ${dim1} and ${dim2}`);
  const rows = t.shape[a1], cols = t.shape[a2];
  const kept = t.shape.map((_, i) => i).filter((i) => i !== a1 && i !== a2);
  const at = diagonalPositions(rows, cols, Math.max(-rows, Math.min(cols, k)));
  return tidy(() => {
    const plane = reshape(permute(t, [...kept, a1, a2]), [...kept.map((i) => t.shape[i]), rows * cols]);
    return indexSelect(plane, kept.length, tensor(at, { dtype: 'int32', device: t.device }));
  }) as T;
}

/**
 * As torch.diag: a vector [n] becomes the square matrix with it on diagonal `offset` (zeros
 * elsewhere, n + |offset| on a side); a matrix gives its diagonal `offset` as a vector.
 * @example diag(tensor([1, 2]))   // [[1, 0], [0, 2]]
 */
export function diag<T extends Tensor>(x: T, offset = 0): T {
  const op = 'diag';
  const t = checkTensor(op, 'x', x);
  const k = checkInt(op, 'offset', offset);
  if (t.rank === 2) return diagonal(t, k) as T;
  if (t.rank !== 1) fail('E_SHAPE', `${op}: expected a vector or a matrix, got ${shapeStr(t.shape)}`);
  const n = t.size, side = n + Math.abs(k);
  if (side * side > 2 ** 31 - 1) fail('E_SHAPE', `${op}: the ${side} x ${side} matrix would have more than 2^31 - 1 entries`);
  // The matrix picks from x with one zero after it: entry i of the diagonal is x[i], the rest x[n].
  const pick = new Int32Array(side * side).fill(n);
  diagonalPositions(side, side, k).forEach((p, i) => { pick[p] = i; });
  return tidy(() => {
    const padded = concat([t, zeros([1], { dtype: t.dtype, device: t.device })]);
    return reshape(indexSelect(padded, 0, tensor(pick, { dtype: 'int32', device: t.device })), [side, side]);
  }) as T;
}

/** The sum of a matrix's main diagonal, as torch.trace (a 0-D tensor). @example trace(eye(3))   // 3 */
export function trace<T extends Tensor>(x: T): T {
  const t = checkTensor('trace', 'x', x);
  if (t.rank !== 2) fail('E_SHAPE', `trace: expected a matrix, got ${shapeStr(t.shape)}`);
  return tidy(() => sum(diagonal(t))) as T;
}

export interface MeshgridOptions {
  /**
   * 'ij' (default, as PyTorch's): output i varies along axis i. 'xy' (NumPy's and MATLAB's):
   * the first two axes swapped, so that the first input varies along the columns.
   */
  indexing?: 'ij' | 'xy';
}

/**
 * Coordinate grids from 1-D tensors, as torch.meshgrid: for inputs of sizes n0, n1, ..., each
 * output has shape [n0, n1, ...] (with 'xy', [n1, n0, ...]) and tensor i's values along axis i.
 * @example const [ys, xs] = meshgrid([arange(0, 3), arange(0, 4)]);   // two [3, 4] grids
 */
export function meshgrid<T extends Tensor>(tensors: readonly T[], options: MeshgridOptions = {}): T[] {
  const op = 'meshgrid';
  if (!Array.isArray(tensors) || tensors.length === 0) fail('E_ARG', `${op}: expected a non-empty array of tensors`);
  const list = collectChecked(op, 'tensors', tensors, (v, i) => checkTensor(op, `tensors[${i}]`, v), 64);
  if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { indexing }`);
  for (const key of Object.keys(options)) if (key !== 'indexing') fail('E_ARG', `${op}: unknown option \`${key}\`; expected indexing`);
  const indexing = options.indexing ?? 'ij';
  if (indexing !== 'ij' && indexing !== 'xy') fail('E_ARG', `${op}: expected \`indexing\` 'ij' or 'xy', got ${describe(indexing)}`);
  list.forEach((t, i) => {
    if (t.rank > 1) fail('E_SHAPE', `${op}: expected 0-D or 1-D tensors, got ${shapeStr(t.shape)} at ${i}`);
    if (t.dtype !== list[0].dtype) fail('E_DTYPE', `${op}: expected tensors of one dtype, got ${list[0].dtype} and ${t.dtype}`);
  });
  checkSameDevice(op, Object.fromEntries(list.map((t, i) => [`tensors[${i}]`, t])));
  // 'xy' is 'ij' with the first two inputs' roles swapped in the shape.
  const axisOf = (i: number) => (indexing === 'xy' && list.length >= 2 && i < 2 ? 1 - i : i);
  const shape = new Array<number>(list.length);
  list.forEach((t, i) => { shape[axisOf(i)] = t.size; });
  return list.map((t, i) => tidy(() => {
    const along = shape.map((_, a) => (a === axisOf(i) ? t.size : 1));
    return expand(reshape(t, along), shape);
  }) as T);
}
