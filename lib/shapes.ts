/**
 * Rearranging, joining and combining tensors with PyTorch's names: `tile`, `movedim`,
 * `unflatten`, `hstack`..., `rot90`, `diff`, `takeAlongDim`, `tensordot`, `cross`, `kron`,
 * `blockDiag`, `cartesianProd`, `triuIndices`, `vander`, `cov`, `corrcoef` and `logcumsumexp`.
 * Most are composed from the tensor ops (permute, concat, gather, matmul...), so they run on any
 * device and their gradient is the tape's through their parts; diff and cross are one native pass
 * each and record their own gradients, as logcumsumexp records PyTorch's.
 * Where PyTorch returns a view, these return a copy, as permute does here, except the reshapes
 * (`unflatten`, `atleast1d`...), which are views as `reshape` is.
 */
import { noGrad, record } from './autograd';
import { flip, repeat } from './composite';
import { ones, tensor, zeros } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { diagonal, meshgrid } from './matrices';
import { native } from './native';
import {
  abs, cast, clamp, clone, concat, cumprod, div, exp, expand, gather, gt, le, log, lt, matmul, mean, mul, narrow, neg, permute, permuteReversed, reshape, sameShape, sqrt,
  squeeze, stack, sub, sum, where, add,
} from './ops';
import { logAddExpPair } from './pointwise';
import { Tensor, type DType, type Device } from './tensor';
import {
  broadcastShapes, checkArrayLength, checkAxis, checkBool, checkDtype, checkFloat, checkHostBytes, checkInt, checkOptions, checkSameDevice, checkTensor,
  collectChecked, describe, MAX_RANK, shapeStr, sizeOf,
} from './validate';

type F32 = Tensor<'float32'>;

/** A list of axes: a number or an array of them, each checked against `rank`. */
function axisList(op: string, name: string, value: unknown, rank: number): number[] {
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list)) fail('E_ARG', `${op}: expected \`${name}\` to be an axis or an array of axes, got ${describe(value)}`);
  checkArrayLength(op, name, list, MAX_RANK);
  const axes = list.map((a) => checkAxis(op, name, a, rank));
  if (new Set(axes).size !== axes.length) fail('E_ARG', `${op}: an axis appears twice in \`${name}\` ${describe(value)}`);
  return axes;
}

/** A non-empty array of tensors of one dtype on one device. */
function checkList<T extends Tensor>(op: string, tensors: unknown): T[] {
  if (!Array.isArray(tensors) || tensors.length === 0) fail('E_ARG', `${op}: expected a non-empty array of tensors, got ${describe(tensors)}`);
  const list = collectChecked(op, 'tensors', tensors, (v, i) => checkTensor(op, `tensors[${i}]`, v)) as T[];
  list.forEach((t, i) => {
    if (t.dtype !== list[0].dtype) fail('E_DTYPE', `${op}: expected tensors of one dtype, got ${list[0].dtype} and ${t.dtype} at ${i}`);
  });
  checkSameDevice(op, Object.fromEntries(list.map((t, i) => [`tensors[${i}]`, t])));
  return list;
}

/** x permuted to `perm`, or x itself when that is the identity. */
function permuted<D extends DType>(x: Tensor<D>, perm: readonly number[]): Tensor<D> {
  return perm.every((p, i) => p === i) ? x : permute(x, perm);
}

// ---- rearranging ------------------------------------------------------------------------------

/**
 * x repeated `dims[i]` times along each axis, as torch.tile: fewer counts than axes count as
 * leading 1s, more add leading axes (then it is `repeat`). A copy.
 * @example tile(tensor([[1, 2]]), [2])   // [[1, 2, 1, 2]]
 */
export function tile<T extends Tensor>(x: T, dims: number | readonly number[]): T {
  const op = 'tile';
  const t = checkTensor(op, 'x', x);
  const list = typeof dims === 'number' ? [dims] : dims;
  if (!Array.isArray(list)) fail('E_ARG', `${op}: expected \`dims\` to be a count or an array of counts, got ${describe(dims)}`);
  checkArrayLength(op, 'dims', list, MAX_RANK);
  const counts = list.map((r, i) => checkInt(op, `dims[${i}]`, r, 0));
  return repeat(t, [...Array(Math.max(0, t.rank - counts.length)).fill(1), ...counts]) as T;
}

/**
 * Moves axes `source` to positions `destination` (an axis each, or lists of one length), the
 * other axes keeping their order, as torch.movedim. A copy.
 * @example movedim(zeros([2, 3, 4]), 0, -1).shape   // [3, 4, 2]
 */
export function movedim<T extends Tensor>(x: T, source: number | readonly number[], destination: number | readonly number[]): T {
  const op = 'movedim';
  const t = checkTensor(op, 'x', x);
  const rank = Math.max(1, t.rank);
  const src = axisList(op, 'source', source, rank), dst = axisList(op, 'destination', destination, rank);
  if (src.length !== dst.length) fail('E_ARG', `${op}: expected \`source\` and \`destination\` of one length, got ${src.length} and ${dst.length}`);
  if (t.rank === 0) return reshape(t, []) as T;
  const perm = new Array<number>(t.rank).fill(-1);
  src.forEach((s, i) => { perm[dst[i]] = s; });
  const rest = t.shape.map((_, i) => i).filter((i) => !src.includes(i));
  for (let i = 0, k = 0; i < perm.length; i++) if (perm[i] === -1) perm[i] = rest[k++];
  return (perm.every((p, i) => p === i) ? clone(t) : permute(t, perm)) as T;
}

/** Swaps axes `axis0` and `axis1`, as torch.swapaxes (= transpose with both axes given). A copy. @example swapaxes(x, 0, 2) */
export function swapaxes<T extends Tensor>(x: T, axis0: number, axis1: number): T {
  const op = 'swapaxes';
  const t = checkTensor(op, 'x', x);
  const a = checkAxis(op, 'axis0', axis0, Math.max(1, t.rank)), b = checkAxis(op, 'axis1', axis1, Math.max(1, t.rank));
  if (a === b) return clone(t) as T;
  return permute(t, t.shape.map((_, i) => (i === a ? b : i === b ? a : i))) as T;
}

/**
 * Splits axis `dim` into the axes `sizes` (one of them may be -1: inferred), as
 * torch.unflatten. A view, as reshape. @example unflatten(zeros([2, 12]), 1, [3, -1]).shape   // [2, 3, 4]
 */
export function unflatten<T extends Tensor>(x: T, dim: number, sizes: readonly number[]): T {
  const op = 'unflatten';
  const t = checkTensor(op, 'x', x);
  const a = checkAxis(op, 'dim', dim, t.rank);
  if (!Array.isArray(sizes) || sizes.length === 0) fail('E_ARG', `${op}: expected \`sizes\` to be a non-empty array of sizes, got ${describe(sizes)}`);
  checkArrayLength(op, 'sizes', sizes, MAX_RANK);
  const s = sizes.map((d, i) => checkInt(op, `sizes[${i}]`, d, -1));
  if (s.filter((d) => d === -1).length > 1) fail('E_ARG', `${op}: only one size may be -1, got ${shapeStr(s)}`);
  const known = s.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const out = s.map((d) => (d === -1 && known > 0 ? t.shape[a] / known : d));
  if (!out.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(out) !== t.shape[a]) {
    fail('E_SHAPE', `${op}: cannot split axis ${a} of size ${t.shape[a]} (x ${shapeStr(t.shape)}) into ${shapeStr(s)}`);
  }
  return reshape(t, [...t.shape.slice(0, a), ...out, ...t.shape.slice(a + 1)]) as T;
}

/** x with at least `k` axes: PyTorch's atleast_1d/2d/3d rules for one tensor. */
function atleast(x: Tensor, k: 1 | 2 | 3): Tensor {
  if (x.rank >= k) return reshape(x, x.shape);
  if (x.rank === 0) return reshape(x, Array(k).fill(1));
  if (x.rank === 1) return reshape(x, k === 2 ? [1, x.size] : [1, x.size, 1]);
  return reshape(x, [...x.shape, 1]);   // 2-D to 3-D
}

function atleastAll(op: string, k: 1 | 2 | 3, x: Tensor | readonly Tensor[]): Tensor | Tensor[] {
  if (Array.isArray(x)) {
    if (x.length === 0) return [];
    return checkList(op, x).map((t) => atleast(t, k));
  }
  return atleast(checkTensor(op, 'x', x), k);
}

/**
 * x as a tensor of at least one axis, as torch.atleast_1d (a 0-D tensor becomes [1]); an array
 * of tensors gives an array. A view. @example atleast1d(tensor(3)).shape   // [1]
 */
export function atleast1d<T extends Tensor>(x: readonly T[]): T[];
export function atleast1d<T extends Tensor>(x: T): T;
export function atleast1d(x: Tensor | readonly Tensor[]): Tensor | Tensor[] {
  return atleastAll('atleast1d', 1, x);
}

/** x with at least two axes, as torch.atleast_2d: [n] becomes [1, n]. A view. @example atleast2d(tensor([1, 2])).shape   // [1, 2] */
export function atleast2d<T extends Tensor>(x: readonly T[]): T[];
export function atleast2d<T extends Tensor>(x: T): T;
export function atleast2d(x: Tensor | readonly Tensor[]): Tensor | Tensor[] {
  return atleastAll('atleast2d', 2, x);
}

/** x with at least three axes, as torch.atleast_3d: [n] becomes [1, n, 1], [m, n] [m, n, 1]. A view. */
export function atleast3d<T extends Tensor>(x: readonly T[]): T[];
export function atleast3d<T extends Tensor>(x: T): T;
export function atleast3d(x: Tensor | readonly Tensor[]): Tensor | Tensor[] {
  return atleastAll('atleast3d', 3, x);
}

/** concat of the tensors made at least k-D, along `axis` (-1: 0 if the first is 1-D, else 1). */
function stackAlong<T extends Tensor>(op: string, tensors: readonly T[], k: 1 | 2 | 3, axis: number, column = false): T {
  const list = checkList<T>(op, tensors);
  return tidy(() => {
    const parts = list.map((t) => (column && t.rank <= 1 ? reshape(t, [t.size, 1]) : atleast(t, k)));
    const a = axis >= 0 ? axis : parts[0].rank === 1 ? 0 : 1;
    parts.forEach((p, i) => {
      if (p.rank !== parts[0].rank || !sameShape(p.shape, parts[0].shape, a)) {
        fail('E_SHAPE', `${op}: tensors[${i}] ${shapeStr(list[i].shape)} does not fit tensors[0] ${shapeStr(list[0].shape)} outside axis ${a}`);
      }
    });
    return concat(parts, a);
  }) as T;
}

/** Joins tensors column-wise, as torch.hstack: 1-D ones end to end, others along axis 1. @example hstack([tensor([1]), tensor([2, 3])])   // [1, 2, 3] */
export function hstack<T extends Tensor>(tensors: readonly T[]): T {
  return stackAlong('hstack', tensors, 1, -1);
}

/** Joins tensors row-wise, as torch.vstack: each made at least 2-D, then joined along axis 0. @example vstack([tensor([1, 2]), tensor([3, 4])])   // [[1, 2], [3, 4]] */
export function vstack<T extends Tensor>(tensors: readonly T[]): T {
  return stackAlong('vstack', tensors, 2, 0);
}

/** Joins tensors depth-wise, as torch.dstack: each made at least 3-D, then joined along axis 2. */
export function dstack<T extends Tensor>(tensors: readonly T[]): T {
  return stackAlong('dstack', tensors, 3, 2);
}

/** Joins tensors as columns, as torch.column_stack: 0-D and 1-D ones become [n, 1], then all join along axis 1. @example columnStack([tensor([1, 2]), tensor([3, 4])])   // [[1, 3], [2, 4]] */
export function columnStack<T extends Tensor>(tensors: readonly T[]): T {
  return stackAlong('columnStack', tensors, 2, 1, true);
}

/**
 * Rotates x by 90 degrees `k` times in the plane of `dims` (from the first axis towards the
 * second), as torch.rot90. A copy. @example rot90(tensor([[1, 2], [3, 4]]))   // [[2, 4], [1, 3]]
 */
export function rot90<T extends Tensor>(x: T, k = 1, dims: readonly number[] = [0, 1]): T {
  const op = 'rot90';
  const t = checkTensor(op, 'x', x);
  const turns = checkInt(op, 'k', k);
  if (!Array.isArray(dims) || dims.length !== 2) fail('E_ARG', `${op}: expected \`dims\` to be two axes, got ${describe(dims)}`);
  if (t.rank < 2) fail('E_SHAPE', `${op}: expected a tensor of rank 2 or more, got ${shapeStr(t.shape)}`);
  const [a, b] = dims.map((d) => checkAxis(op, 'dims', d, t.rank));
  if (a === b) fail('E_ARG', `${op}: expected two different axes, got ${describe(dims)}`);
  const swap = t.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  const identity = t.shape.map((_, i) => i);
  // One native pass (ops.ts's permuteReversed): k = 1 is flip(b) then the swap, so y's axis a
  // (x's b) runs backwards; k = 3 is flip(a) then the swap; k = 2 flips both.
  switch (((turns % 4) + 4) % 4) {
    case 1: return permuteReversed(op, t, swap, 1 << a) as T;
    case 2: return permuteReversed(op, t, identity, (1 << a) | (1 << b)) as T;
    case 3: return permuteReversed(op, t, swap, 1 << b) as T;
    default: return permuteReversed(op, t, identity, 0) as T;
  }
}

export interface DiffOptions {
  /** How many times to take differences (default 1). */
  n?: number;
  /** The axis (default -1, the last). */
  dim?: number;
  /** Values put before x along `dim` first (x's shape elsewhere). */
  prepend?: Tensor;
  /** Values put after x along `dim` first. */
  append?: Tensor;
}

/**
 * The n-th forward difference along `dim`, as torch.diff: y[i] = x[i + 1] - x[i], n times (each
 * shortens the axis by one; past its length it is empty). float32.
 * @example diff(tensor([1, 4, 9, 16]))   // [3, 5, 7];  diff(x, { n: 2, prepend: zeros([1]) })
 */
export function diff(x: Tensor, options: DiffOptions = {}): F32 {
  const op = 'diff';
  const t = checkFloat(op, 'x', x);
  if (t.rank === 0) fail('E_SHAPE', `${op}: expected a tensor of at least one axis, got a 0-D one`);
  const o = checkOptions<DiffOptions>(op, options, ['n', 'dim', 'prepend', 'append']);
  const n = checkInt(op, 'n', o.n ?? 1, 0);
  const a = checkAxis(op, 'dim', o.dim ?? -1, t.rank);
  const extra = (name: 'prepend' | 'append'): F32 | null => {
    const v = o[name];
    if (v === undefined || v === null) return null;
    const e = checkFloat(op, name, v);
    checkSameDevice(op, { x: t, [name]: e });
    if (e.rank !== t.rank || !sameShape(e.shape, t.shape, a)) fail('E_SHAPE', `${op}: expected \`${name}\` of x's shape ${shapeStr(t.shape)} outside axis ${a}, got ${shapeStr(e.shape)}`);
    return e;
  };
  const before = extra('prepend'), after = extra('append');
  return tidy(() => {
    let y: F32 = before || after ? concat([...(before ? [before] : []), t, ...(after ? [after] : [])], a) : t;
    for (let i = 0; i < n && y.shape[a] > 0; i++) y = diffOnce(y, a);
    return y === t ? clone(t) : y;
  });
}

// One difference along axis a (of size 1 or more) in one native pass (native/cpu/diff.cc). Its
// gradient: dx[i] = dy[i - 1] - dy[i] (dy taken as 0 outside), minus the diff of dy with a zero
// on each side.
function diffOnce(x: F32, a: number): F32 {
  const y = new Tensor(native.diff(x.handle('diff'), a), x.shape.map((d, k) => (k === a ? d - 1 : d)), 'float32');
  return record('diff', y, [x], (dy) => {
    const edge = zeros(dy.shape.map((d, k) => (k === a ? 1 : d)), { device: dy.device });
    return [neg(diffOnce(concat([edge, dy, edge], a) as F32, a))];
  });
}

/**
 * Picks values of x along `dim` at `indices` (int32, x's rank; the other axes broadcast), as
 * torch.take_along_dim; without `dim`, from the flattened x at the flattened indices (1-D).
 * Gradients go back to the picked entries. @example takeAlongDim(x, argsort(x, { dim: 1 }), 1)   // x sorted
 */
export function takeAlongDim<D extends DType>(x: Tensor<D>, indices: Tensor<'int32'>, dim?: number | null): Tensor<D> {
  const op = 'takeAlongDim';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const i = checkTensor(op, 'indices', indices) as Tensor<'int32'>;
  checkDtype(op, 'indices', i, 'int32');
  checkSameDevice(op, { x: t, indices: i });
  if (dim === undefined || dim === null) return tidy(() => gather(reshape(t, [t.size]), 0, reshape(i, [i.size])));
  if (i.rank !== t.rank) fail('E_SHAPE', `${op}: expected \`indices\` of x's rank ${t.rank}, got ${shapeStr(i.shape)}`);
  const a = checkAxis(op, 'dim', dim, Math.max(1, t.rank));
  if (t.rank === 0) return tidy(() => reshape(gather(reshape(t, [1]), 0, reshape(i, [1])), []));
  const shape = broadcastShapes(op, t.shape.map((d, k) => (k === a ? i.shape[a] : d)), i.shape);
  const xShape = shape.map((d, k) => (k === a ? t.shape[a] : d));
  return tidy(() => gather(sameShape(t.shape, xShape) ? t : expand(t, xShape), a, sameShape(i.shape, shape) ? i : expand(i, shape)));
}

// ---- products ---------------------------------------------------------------------------------

/**
 * Sums products over axes of a and b, as torch.tensordot: `dims` a count (a's last that many
 * axes with b's first ones; default 2) or two lists of axes to pair up. The result has a's
 * remaining axes, then b's. One matmul. @example tensordot(a, b, [[1, 0], [0, 1]])
 */
export function tensordot(a: Tensor, b: Tensor, dims: number | readonly [number | readonly number[], number | readonly number[]] = 2): F32 {
  const op = 'tensordot';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  let da: number[], db: number[];
  if (typeof dims === 'number') {
    const n = checkInt(op, 'dims', dims, 0);
    if (n > ta.rank || n > tb.rank) fail('E_ARG', `${op}: expected \`dims\` at most the ranks of a ${shapeStr(ta.shape)} and b ${shapeStr(tb.shape)}, got ${n}`);
    da = Array.from({ length: n }, (_, i) => ta.rank - n + i);
    db = Array.from({ length: n }, (_, i) => i);
  } else if (Array.isArray(dims) && dims.length === 2) {
    da = axisList(op, 'dims[0]', dims[0], Math.max(1, ta.rank));
    db = axisList(op, 'dims[1]', dims[1], Math.max(1, tb.rank));
    if (da.length !== db.length) fail('E_ARG', `${op}: expected two lists of axes of one length, got ${describe(dims)}`);
  } else {
    return fail('E_ARG', `${op}: expected \`dims\` to be a count or two lists of axes, got ${describe(dims)}`);
  }
  da.forEach((p, i) => {
    if (ta.shape[p] !== tb.shape[db[i]]) fail('E_SHAPE', `${op}: axis ${p} of a ${shapeStr(ta.shape)} and axis ${db[i]} of b ${shapeStr(tb.shape)} differ in size`);
  });
  const freeA = ta.shape.map((_, i) => i).filter((i) => !da.includes(i));
  const freeB = tb.shape.map((_, i) => i).filter((i) => !db.includes(i));
  const k = sizeOf(da.map((p) => ta.shape[p]));
  return tidy(() => {
    const A = reshape(permuted(ta, [...freeA, ...da]), [sizeOf(freeA.map((p) => ta.shape[p])), k]);
    const B = reshape(permuted(tb, [...db, ...freeB]), [k, sizeOf(freeB.map((p) => tb.shape[p]))]);
    return reshape(matmul(A, B), [...freeA.map((p) => ta.shape[p]), ...freeB.map((p) => tb.shape[p])]);
  });
}

/**
 * The cross product of 3-vectors along `dim`, as torch.linalg.cross: a and b of one rank, size 3
 * along `dim`, broadcasting elsewhere. The default dim is -1, as linalg.cross (torch.cross's old
 * default, the first axis of size 3, is not followed).
 * @example cross(tensor([1, 0, 0]), tensor([0, 1, 0]))   // [0, 0, 1]
 */
export function cross(a: Tensor, b: Tensor, dim = -1): F32 {
  const op = 'cross';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  if (ta.rank !== tb.rank) fail('E_SHAPE', `${op}: expected a and b of one rank, got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  const d = checkAxis(op, 'dim', dim, Math.max(1, ta.rank));
  if (ta.rank === 0 || ta.shape[d] !== 3 || tb.shape[d] !== 3) {
    fail('E_SHAPE', `${op}: expected size 3 along axis ${dim}, got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  }
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return tidy(() => crossSameShape(sameShape(ta.shape, shape) ? ta : expand(ta, shape), sameShape(tb.shape, shape) ? tb : expand(tb, shape), d));
}

// One native pass (native/cpu/cross.cc) over a and b of one shape. Gradients: b x dy to a, dy x a to b.
function crossSameShape(a: F32, b: F32, d: number): F32 {
  const y = new Tensor(native.cross(a.handle('cross'), b.handle('cross'), d), a.shape, 'float32');
  return record('cross', y, [a, b], (dy, s, needs) => [needs[0] ? crossSameShape(s[1] as F32, dy, d) : null, needs[1] ? crossSameShape(dy, s[0] as F32, d) : null], [a, b]);
}

/**
 * The Kronecker product, as torch.kron: for [m, n] and [p, q], the [m p, n q] matrix of blocks
 * a[i][j] * b; any ranks (the smaller padded with leading 1s).
 * @example kron(eye(2), ones([2, 2]))   // [4, 4], two blocks of ones
 */
export function kron(a: Tensor, b: Tensor): F32 {
  const op = 'kron';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  const r = Math.max(ta.rank, tb.rank);
  if (2 * r > MAX_RANK) fail('E_SHAPE', `${op}: expected ranks of at most ${MAX_RANK / 2}, got ${r}`);
  const sa = [...Array(r - ta.rank).fill(1), ...ta.shape], sb = [...Array(r - tb.rank).fill(1), ...tb.shape];
  return tidy(() => {
    const product = mul(reshape(ta, sa.flatMap((d) => [d, 1])), reshape(tb, sb.flatMap((d) => [1, d])));
    return reshape(product, sa.map((d, i) => d * sb[i]));
  });
}

/**
 * A block-diagonal matrix of the tensors (0-D ones as [1, 1], 1-D [n] as [1, n]), zeros
 * elsewhere, as torch.block_diag (which takes them as separate arguments). One dtype.
 * @example blockDiag([ones([2, 2]), tensor(5)])   // [3, 3]
 */
export function blockDiag<T extends Tensor>(tensors: readonly T[]): T {
  const op = 'blockDiag';
  if (Array.isArray(tensors) && tensors.length === 0) return zeros([1, 0]) as unknown as T;   // as PyTorch's block_diag()
  const list = checkList<T>(op, tensors);
  list.forEach((t, i) => {
    if (t.rank > 2) fail('E_SHAPE', `${op}: expected tensors of at most 2 axes, got ${shapeStr(t.shape)} at ${i}`);
  });
  const { dtype, device } = list[0];
  return tidy(() => {
    const blocks = list.map((t) => (t.rank === 2 ? t : reshape(t, [1, t.size])));
    const cols = blocks.reduce((n, m) => n + m.shape[1], 0);
    let before = 0;
    const bands: Tensor[] = [];
    for (const m of blocks) {
      const [r, c] = m.shape;
      const parts = [...(before > 0 ? [zeros([r, before], { dtype, device })] : []), ...(c > 0 ? [m] : []),
        ...(cols - before - c > 0 ? [zeros([r, cols - before - c], { dtype, device })] : [])];
      before += c;
      if (r > 0) bands.push(parts.length === 0 ? zeros([r, 0], { dtype, device }) : parts.length === 1 ? parts[0] : concat(parts, 1));
    }
    return bands.length === 0 ? zeros([0, cols], { dtype, device }) : bands.length === 1 ? clone(bands[0]) : concat(bands, 0);
  }) as T;
}

/**
 * The cartesian product of 1-D tensors, as torch.cartesian_prod: [n0 n1 ..., k] rows of every
 * combination, the last tensor varying fastest; one tensor gives itself (a view).
 * @example cartesianProd([tensor([1, 2]), tensor([3, 4])])   // [[1, 3], [1, 4], [2, 3], [2, 4]]
 */
export function cartesianProd<T extends Tensor>(tensors: readonly T[]): T {
  const op = 'cartesianProd';
  const list = checkList<T>(op, tensors);
  list.forEach((t, i) => {
    if (t.rank !== 1) fail('E_SHAPE', `${op}: expected 1-D tensors, got ${shapeStr(t.shape)} at ${i}`);
  });
  if (list.length === 1) return reshape(list[0], list[0].shape) as T;
  return tidy(() => stack(meshgrid(list).map((g) => reshape(g, [g.size])), 1)) as T;
}

export interface IndicesOptions {
  /** 'cpu' (default) or 'cuda'. */
  device?: Device | string;
}

function triangleIndices(op: string, row: number, col: number, offset: number, options: IndicesOptions, keep: (r: number, c: number) => boolean): Tensor<'int32'> {
  const rows = checkInt(op, 'row', row, 0, 2 ** 31 - 1), cols = checkInt(op, 'col', col, 0, 2 ** 31 - 1);
  checkInt(op, 'offset', offset);
  const o = checkOptions<IndicesOptions>(op, options, ['device']);
  let n = 0;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (keep(r, c)) n++;
  checkHostBytes(op, 8 * n, `${n} index pairs`);
  const out = new Int32Array(2 * n);
  for (let r = 0, k = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!keep(r, c)) continue;
      out[k] = r;
      out[n + k++] = c;
    }
  }
  return tensor(out, { dtype: 'int32', shape: [2, n], device: o.device });
}

/**
 * The [row, col] indices of the lower triangle (on and below diagonal `offset`) of a row x col
 * matrix, as torch.tril_indices: int32 [2, N], row by row. @example trilIndices(3, 3)   // [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
 */
export function trilIndices(row: number, col: number, offset = 0, options: IndicesOptions = {}): Tensor<'int32'> {
  return triangleIndices('trilIndices', row, col, offset, options, (r, c) => c - r <= offset);
}

/** The [row, col] indices of the upper triangle (on and above diagonal `offset`), as torch.triu_indices: int32 [2, N]. */
export function triuIndices(row: number, col: number, offset = 0, options: IndicesOptions = {}): Tensor<'int32'> {
  return triangleIndices('triuIndices', row, col, offset, options, (r, c) => c - r >= offset);
}

/**
 * The Vandermonde matrix of a 1-D x, as torch.vander: N columns (default x's length) of powers
 * x^(N-1), ..., x^0, or x^0, ..., x^(N-1) when `increasing`. Powers by running products.
 * @example vander(tensor([1, 2, 3]), 3)   // [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
 */
export function vander(x: Tensor, N?: number | null, increasing = false): F32 {
  const op = 'vander';
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 1) fail('E_SHAPE', `${op}: expected a 1-D x, got ${shapeStr(t.shape)}`);
  const cols = N === undefined || N === null ? t.size : checkInt(op, 'N', N, 0);
  checkBool(op, 'increasing', increasing);
  const n = t.size;
  if (cols === 0 || n === 0) return zeros<'float32'>([n, cols], { device: t.device });
  return tidy(() => {
    const powers = cumprod(concat([ones([n, 1], { device: t.device }), expand(reshape(t, [n, 1]), [n, cols - 1])], 1), 1);
    return increasing ? powers : flip(powers, 1);
  });
}

// ---- statistics -------------------------------------------------------------------------------

export interface CovOptions {
  /** Divide by (the number of observations) - correction (default 1: Bessel's). */
  correction?: number;
  /** int32 frequency of each observation (1-D, one per column). */
  fweights?: Tensor;
  /** float32 weight of each observation (1-D, one per column). */
  aweights?: Tensor;
}

/** A 1-D (or 0-D) weight per observation, its values read back to refuse negative ones (as PyTorch). */
function checkWeights(op: string, name: string, value: unknown, dtype: DType, n: number, x: Tensor): Tensor | null {
  if (value === undefined || value === null) return null;
  const w = checkTensor(op, name, value);
  checkDtype(op, name, w, dtype);
  checkSameDevice(op, { x, [name]: w });
  if (w.rank > 1 || w.size !== n) fail('E_SHAPE', `${op}: expected \`${name}\` with one value per observation (${n}), got ${shapeStr(w.shape)}`);
  const v = w.dataSync();
  for (let i = 0; i < v.length; i++) if (!(v[i] >= 0)) fail('E_ARG', `${op}: expected non-negative \`${name}\`, got ${v[i]} at ${i}`);
  return w;
}

/**
 * The covariance matrix of the variables in x's rows (observations in its columns), as
 * torch.cov: [v, v] for [v, n], a 0-D tensor for one variable (1-D x). `correction` 1 by
 * default (0: the maximum-likelihood estimate); `fweights` (int32 counts) and `aweights`
 * (float32) weigh the observations. A non-positive divisor gives Infinity or NaN, as PyTorch's
 * (which warns). @example cov(tensor([[0, 1, 2], [2, 1, 0]]))   // [[1, -1], [-1, 1]]
 */
export function cov(x: Tensor, options: CovOptions = {}): F32 {
  const op = 'cov';
  const t = checkFloat(op, 'x', x);
  if (t.rank > 2) fail('E_SHAPE', `${op}: expected a 0-D, 1-D or 2-D x (variables in rows), got ${shapeStr(t.shape)}`);
  const o = checkOptions<CovOptions>(op, options, ['correction', 'fweights', 'aweights']);
  const correction = checkInt(op, 'correction', o.correction ?? 1);
  const n = t.rank < 2 ? t.size : t.shape[1];
  const fw = checkWeights(op, 'fweights', o.fweights, 'int32', n, t);
  const aw = checkWeights(op, 'aweights', o.aweights, 'float32', n, t) as F32 | null;
  return tidy(() => {
    const input = t.rank < 2 ? reshape(t, [1, t.size]) : t;
    let w: F32 | null = fw ? reshape(cast(fw, 'float32'), [n]) : null;
    if (aw) w = w ? mul(w, reshape(aw, [n])) : reshape(aw, [n]);
    const wSum: F32 | number = w ? sum(w) : n;
    const avg = w ? div(sum(mul(input, w), 1, true), wSum) : mean(input, 1, true);
    let divisor: F32 | number;
    if (w && aw && correction !== 0) divisor = sub(wSum, div(mul(sum(mul(w, reshape(aw, [n]))), correction), wSum));
    else divisor = typeof wSum === 'number' ? wSum - correction : sub(wSum, correction);
    divisor = typeof divisor === 'number' ? Math.max(divisor, 0) : where(le(divisor, 0), 0, divisor);
    const centred = sub(input, avg);
    const c = matmul(centred, w ? mul(centred, w) : centred, { transB: true });
    return squeeze(div(c, divisor));
  });
}

/**
 * The Pearson correlation coefficients of the variables in x's rows, as torch.corrcoef: cov
 * divided by the standard deviations, clamped to [-1, 1]; a 0-D 1 for one variable (NaN where a
 * variable is constant). @example corrcoef(tensor([[0, 1, 2], [2, 1, 0]]))   // [[1, -1], [-1, 1]]
 */
export function corrcoef(x: Tensor): F32 {
  const t = checkFloat('corrcoef', 'x', x);
  if (t.rank > 2) fail('E_SHAPE', `corrcoef: expected a 0-D, 1-D or 2-D x (variables in rows), got ${shapeStr(t.shape)}`);
  return tidy(() => {
    const c = cov(t);
    if (c.rank === 0) return div(c, c);
    const s = sqrt(diagonal(c));
    return clamp(div(div(c, reshape(s, [s.size, 1])), reshape(s, [1, s.size])), -1, 1);
  });
}

// ---- running log-sum-exp ----------------------------------------------------------------------

/**
 * log(cumsum(exp(x))) along axis a without overflow or underflow (from the end when `reverse`):
 * Hillis and Steele's scan, whose step s combines each entry with the one s before it by a
 * stable log-add-exp. log2(n) steps, no value ever exponentiated unshifted, so [-1000, 0, 1000]
 * gives [-1000, 0, 1000] (a shift by the line's maximum alone would give -Infinity first).
 */
function runningLogSumExp(x: F32, a: number, reverse: boolean): F32 {
  const n = x.shape[a];
  let y = x;
  for (let s = 1; s < n; s *= 2) {
    const prev = y;
    y = tidy(() => {
      const combined = logAddExpPair(narrow(prev, a, reverse ? 0 : s, n - s), narrow(prev, a, reverse ? s : 0, n - s));
      const kept = narrow(prev, a, reverse ? n - s : 0, s);
      return concat(reverse ? [combined, kept] : [kept, combined], a);
    });
    if (prev !== x) prev.dispose();
  }
  return y === x ? clone(x) : y;
}

/**
 * log(sum(exp(x))) of the entries up to each one along `dim`, as torch.logcumsumexp: stable for
 * any range of values (a scan of log-add-exps, log2(n) steps), -Infinity entries adding
 * nothing. Its gradient is PyTorch's: sum over later i of dy[i] exp(x[j] - y[i]), done in log
 * space. float32. @example logcumsumexp(tensor([-1000, 0, 1000]), 0)   // [-1000, 0, 1000]
 */
export function logcumsumexp(x: Tensor, dim: number): F32 {
  const op = 'logcumsumexp';
  const t = checkFloat(op, 'x', x);
  const a = checkAxis(op, 'dim', dim, Math.max(1, t.rank));
  if (t.rank === 0) return tidy(() => reshape(logcumsumexp(reshape(t, [1]), 0), []));
  const y = noGrad(() => tidy(() => runningLogSumExp(t, a, false)));
  return record(op, y, [t], (dy, [sx, sy]) => [logcumsumexpBackward(dy, sx as F32, sy as F32, a)], [t, y]);
}

// PyTorch's backward (after TensorFlow's): dx[j] = exp(x[j]) sum over i >= j of dy[i] exp(-y[i]),
// with the positive and negative parts of dy each summed in log space by the reversed scan.
function logcumsumexpBackward(dy: F32, x: F32, y: F32, a: number): F32 {
  return tidy(() => {
    const lowest = -3.4028234663852886e38;
    const logAbs = log(abs(dy));
    const part = (mask: F32) => exp(add(runningLogSumExp(sub(where(mask, logAbs, lowest), y), a, true), x));
    return sub(part(gt(dy, 0)), part(lt(dy, 0)));
  });
}
