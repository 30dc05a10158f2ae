/**
 * The tensor ops of the foundation: arithmetic with broadcasting, unary maths, reductions,
 * matmul, and layout (reshape, transpose, concat, slice, indexing). Each validates its
 * arguments here, then enqueues the native kernel and returns the output at once.
 */
import { expandTo, isRecording, noGrad, record, sumTo } from './autograd';
import { fail } from './errors';
import { BinaryOp, ReduceOp, UnaryOp, native, type BinaryOpCode, type ReduceOpCode, type UnaryOpCode } from './native';
import { requireCuda } from './cuda';
import { DEVICE_CODE, DTYPE_CODE, Tensor, type DType, type Device } from './tensor';
import {
  broadcastShapes, checkAxis, checkFloat, checkBool, checkDtype, checkInt, checkNumber, checkOptions, checkSameDevice, checkShape, checkTensor,
  describe, isTensor, shapeStr, sizeOf,
} from './validate';

type F32 = Tensor<'float32'>;

// A number operand is rounded to float32 and applied by the scalar kernel: the same results
// as a one-element tensor that broadcasts, without making one.
function binary(op: keyof typeof BinaryOp, a: Tensor | number, b: Tensor | number): F32 {
  const code = BinaryOp[op] as BinaryOpCode;
  let y: F32;
  if (isTensor(a) && isTensor(b)) {
    const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
    checkSameDevice(op, { a: ta, b: tb });
    const shape = broadcastShapes(op, ta.shape, tb.shape);
    y = new Tensor(native.binary(code, ta.handle(op), tb.handle(op)), shape, 'float32');
  } else if (isTensor(a)) {
    const ta = checkFloat(op, 'a', a);
    y = new Tensor(native.binaryScalar(code, ta.handle(op), scalar(op, 'b', b), false), ta.shape, 'float32');
  } else if (isTensor(b)) {
    const tb = checkFloat(op, 'b', b);
    y = new Tensor(native.binaryScalar(code, tb.handle(op), scalar(op, 'a', a), true), tb.shape, 'float32');
  } else {
    return fail('E_ARG', `${op}: expected at least one tensor, got ${describe(a)} and ${describe(b)}`);
  }
  return recordBinary(op, y, a, b);
}

// ---- gradients of the arithmetic ---------------------------------------------------------------
// Each computes the gradient with the operands broadcast to y's shape, then sums it back to
// each operand's shape (sumTo). A number operand (float32-rounded, as the forward used it)
// gets no gradient.

type Operand = Tensor | number;

/** d y / d a and d y / d b, each multiplied by dy (before summing back to the operands' shapes). */
const BINARY_GRADS: Record<keyof typeof BinaryOp, (dy: F32, a: Operand, b: Operand, y: F32, needA: boolean, needB: boolean) => [Tensor | null, Tensor | null]> = {
  add: (dy) => [dy, dy],
  sub: (dy, _a, _b, _y, _na, needB) => [dy, needB ? neg(dy) : null],
  mul: (dy, a, b, _y, needA, needB) => [needA ? mul(dy, b) : null, needB ? mul(dy, a) : null],
  // d(a/b)/db = -a/b^2 = -y/b
  div: (dy, _a, b, y, needA, needB) => [needA ? div(dy, b) : null, needB ? neg(div(mul(dy, y), b)) : null],
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (NaN for a < 0; PyTorch masks a = 0 with b >= 0 to 0, this does not)
  pow: (dy, a, b, y, needA, needB) => [
    needA ? mul(dy, mul(b, typeof b === 'number' ? pow(a, b - 1) : pow(a, sub(b, 1)))) : null,
    needB ? mul(dy, mul(y, typeof a === 'number' ? Math.log(Math.fround(a)) : log(a))) : null,
  ],
  // Ties (a = b) split the gradient evenly between a and b, as PyTorch: the mask
  // (sign(a - b) + 1) / 2 is 1 where a wins, 0 where b wins and 1/2 on a tie.
  maximum: (dy, a, b, _y, needA, needB) => {
    const winsA = scale(sign(sub(a, b)), 0.5, 0.5);
    return [needA ? mul(dy, winsA) : null, needB ? mul(dy, scale(winsA, -1, 1)) : null];
  },
  minimum: (dy, a, b, _y, needA, needB) => {
    const winsA = scale(sign(sub(b, a)), 0.5, 0.5);
    return [needA ? mul(dy, winsA) : null, needB ? mul(dy, scale(winsA, -1, 1)) : null];
  },
};

function recordBinary(op: keyof typeof BinaryOp, y: F32, a: Operand, b: Operand): F32 {
  if (!isRecording([a, b])) return y;
  // Number operands are rounded to float32 like the kernel did; tensors are saved.
  const na = typeof a === 'number' ? Math.fround(a) : null, nb = typeof b === 'number' ? Math.fround(b) : null;
  const needsY = op === 'div' || op === 'pow';
  const saved = [...(isTensor(a) ? [a] : []), ...(isTensor(b) ? [b] : []), ...(needsY ? [y] : [])];
  const shapes = [isTensor(a) ? a.shape : null, isTensor(b) ? b.shape : null];
  return record(op, y, [a, b], (dy, s, needs) => {
    let k = 0;
    const sa: Operand = na ?? s[k++], sb: Operand = nb ?? s[k++];
    const sy = (needsY ? s[k] : dy) as F32;
    const [ga, gb] = BINARY_GRADS[op](dy, sa, sb, sy, needs[0], needs[1]);
    return [ga && shapes[0] ? sumTo(ga, shapes[0]) : null, gb && shapes[1] ? sumTo(gb, shapes[1]) : null];
  }, saved);
}

function scalar(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number') fail('E_ARG', `${op}: expected \`${name}\` to be a tensor or a number, got ${describe(value)}`);
  return value;
}

/** dx from dy, the input x and the output y of each unary op. */
const UNARY_GRADS: Record<keyof typeof UnaryOp, { saves: 'x' | 'y' | 'none'; grad: (dy: F32, xy: F32) => Tensor }> = {
  neg: { saves: 'none', grad: (dy) => neg(dy) },
  abs: { saves: 'x', grad: (dy, x) => mul(dy, sign(x)) },          // 0 at x = 0, as PyTorch
  exp: { saves: 'y', grad: (dy, y) => mul(dy, y) },
  log: { saves: 'x', grad: (dy, x) => div(dy, x) },
  sqrt: { saves: 'y', grad: (dy, y) => div(scale(dy, 0.5), y) },
  square: { saves: 'x', grad: (dy, x) => mul(dy, scale(x, 2)) },
  reciprocal: { saves: 'y', grad: (dy, y) => neg(mul(dy, square(y))) },   // d(1/x)/dx = -1/x^2 = -y^2
  // Piecewise constant: zero gradients almost everywhere (PyTorch's choice too).
  sign: { saves: 'none', grad: (dy) => scale(dy, 0) },
  floor: { saves: 'none', grad: (dy) => scale(dy, 0) },
  ceil: { saves: 'none', grad: (dy) => scale(dy, 0) },
};

function unary(op: keyof typeof UnaryOp, x: Tensor): F32 {
  const t = checkFloat(op, 'x', x);
  const y = new Tensor<'float32'>(native.unary(UnaryOp[op] as UnaryOpCode, t.handle(op)), t.shape, 'float32');
  const { saves, grad } = UNARY_GRADS[op];
  return record(op, y, [t], (dy, s) => [grad(dy, s[0] as F32)], saves === 'x' ? [t] : saves === 'y' ? [y] : []);
}

/** a + b, broadcasting. @example add(x, 1); add(x, bias.reshape([1, C, 1, 1])) */
export const add = (a: Tensor | number, b: Tensor | number): F32 => binary('add', a, b);
/** a - b, broadcasting. */
export const sub = (a: Tensor | number, b: Tensor | number): F32 => binary('sub', a, b);
/** a * b elementwise, broadcasting. */
export const mul = (a: Tensor | number, b: Tensor | number): F32 => binary('mul', a, b);
/** a / b elementwise, broadcasting (IEEE: x / 0 is ±Infinity or NaN). */
export const div = (a: Tensor | number, b: Tensor | number): F32 => binary('div', a, b);
/** a ^ b elementwise; a number exponent uses a faster kernel. @example pow(x, 2) */
export function pow(a: Tensor | number, b: Tensor | number): F32 {
  if (typeof b === 'number' && isTensor(a)) {
    const t = checkFloat('pow', 'a', a);
    checkNumber('pow', 'exponent', b, true);
    const y = new Tensor<'float32'>(native.powScalar(t.handle('pow'), b), t.shape, 'float32');
    // d(x^e)/dx = e x^(e-1), and 0 for e = 0 (as PyTorch, even at x = 0).
    const e = Math.fround(b);
    return record('pow', y, [t], (dy, [x]) => [e === 0 ? scale(dy, 0) : mul(dy, scale(pow(x, e - 1), e))], [t]);
  }
  return binary('pow', a, b);
}
/** Elementwise maximum (NaN propagates). */
export const maximum = (a: Tensor | number, b: Tensor | number): F32 => binary('maximum', a, b);
/** Elementwise minimum (NaN propagates). */
export const minimum = (a: Tensor | number, b: Tensor | number): F32 => binary('minimum', a, b);

export const neg = (x: Tensor): F32 => unary('neg', x);
export const abs = (x: Tensor): F32 => unary('abs', x);
export const exp = (x: Tensor): F32 => unary('exp', x);
/** Natural logarithm (log 0 = -Infinity, log of a negative = NaN). */
export const log = (x: Tensor): F32 => unary('log', x);
export const sqrt = (x: Tensor): F32 => unary('sqrt', x);
export const square = (x: Tensor): F32 => unary('square', x);
export const reciprocal = (x: Tensor): F32 => unary('reciprocal', x);
export const sign = (x: Tensor): F32 => unary('sign', x);
export const floor = (x: Tensor): F32 => unary('floor', x);
export const ceil = (x: Tensor): F32 => unary('ceil', x);

/** alpha * x + beta in one pass. @example scale(x, 1 / 255, -0.5) */
export function scale(x: Tensor, alpha: number, beta = 0): F32 {
  const t = checkFloat('scale', 'x', x);
  checkNumber('scale', 'alpha', alpha, true);
  checkNumber('scale', 'beta', beta, true);
  const y = new Tensor<'float32'>(native.affine(t.handle('scale'), alpha, beta), t.shape, 'float32');
  const a = Math.fround(alpha);
  return record('scale', y, [t], (dy) => [scale(dy, a)]);
}

// ---- reductions ----------------------------------------------------------------------------

function reduce(op: keyof typeof ReduceOp, x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean): F32 {
  const t = checkFloat(op, 'x', x);
  checkBool(op, 'keepdim', keepdim);
  const list = axis === undefined ? t.shape.map((_, i) => i) : typeof axis === 'number' ? [axis] : axis;
  if (!Array.isArray(list)) fail('E_ARG', `${op}: expected \`axis\` to be an axis or an array of axes, got ${describe(axis)}`);
  const axes = [...new Set(list.map((a) => checkAxis(op, 'axis', a, t.rank)))].sort((p, q) => p - q);
  if (axes.length !== list.length) fail('E_ARG', `${op}: repeated axis in ${describe(axis)}`);
  if ((op === 'max' || op === 'min') && axes.some((a) => t.shape[a] === 0)) {
    fail('E_SHAPE', `${op}: cannot reduce an axis of size 0 (shape ${shapeStr(t.shape)}): there is no identity`);
  }
  const shape = keepdim ? t.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !axes.includes(i));
  const y = new Tensor<'float32'>(native.reduce(ReduceOp[op] as ReduceOpCode, t.handle(op), axes, keepdim), shape, 'float32');
  if (!isRecording([t])) return y;
  const kept = t.shape.map((d, i) => (axes.includes(i) ? 1 : d));   // y's shape with keepdim
  const count = axes.reduce((n, a) => n * t.shape[a], 1);
  const shape0 = t.shape;
  if (op === 'sum' || op === 'mean') {
    return record(op, y, [t], (dy) => [expandTo(op === 'mean' ? scale(reshape(dy, kept), 1 / count) : reshape(dy, kept), shape0)]);
  }
  // max / min: the gradient goes to the positions equal to the result, split evenly among
  // ties (as PyTorch's amax / amin). isMax = 1 - |sign(x - y)| is 1 exactly where x == y.
  return record(op, y, [t], (dy, [sx, sy]) => {
    const isMax = scale(abs(sign(sub(sx, reshape(sy, kept)))), -1, 1);
    const ties = sum(isMax, axes, true);
    return [mul(isMax, div(reshape(dy, kept), ties))];
  }, [t, y]);
}

/**
 * Sum over `axis` (an axis, a list, or all when omitted), accumulated in float64.
 * @example sum(x)  // scalar;  sum(x, [2, 3], true)  // [N, C, 1, 1]
 */
export const sum = (x: Tensor, axis?: number | readonly number[], keepdim = false): F32 => reduce('sum', x, axis, keepdim);
/** Mean over `axis` (all when omitted). The mean of nothing is NaN, as PyTorch. */
export const mean = (x: Tensor, axis?: number | readonly number[], keepdim = false): F32 => reduce('mean', x, axis, keepdim);
/** Largest value over `axis` (all when omitted); NaN propagates. */
export const max = (x: Tensor, axis?: number | readonly number[], keepdim = false): F32 => reduce('max', x, axis, keepdim);
/** Smallest value over `axis` (all when omitted); NaN propagates. */
export const min = (x: Tensor, axis?: number | readonly number[], keepdim = false): F32 => reduce('min', x, axis, keepdim);

/**
 * Index of the largest value along `axis` (of the flattened tensor when omitted); the first on
 * ties; a NaN counts as the largest. int32.
 * @example argmax(logits, 1)   // predicted classes [N]
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor<'int32'> {
  const t = checkFloat('argmax', 'x', x);
  checkBool('argmax', 'keepdim', keepdim);
  if (t.size === 0) fail('E_SHAPE', 'argmax: the tensor is empty');
  if (axis === undefined) {
    const flat = noGrad(() => reshape(t, [t.size]));
    try {
      return argmax(flat, 0, false);
    } finally {
      flat.dispose();
    }
  }
  const a = checkAxis('argmax', 'axis', axis, t.rank);
  const shape = keepdim ? t.shape.map((d, i) => (i === a ? 1 : d)) : t.shape.filter((_, i) => i !== a);
  return new Tensor(native.argmax(t.handle('argmax'), a, keepdim), shape, 'int32');
}

// ---- matmul ----------------------------------------------------------------------------------

export interface MatmulOptions {
  /** Use a's last two axes transposed (no copy is made). */
  transA?: boolean;
  /** Use b's last two axes transposed (no copy is made). */
  transB?: boolean;
}

/**
 * Matrix product as torch.matmul: 2-D @ 2-D, batched over leading axes with broadcasting, and
 * 1-D operands treated as a row (a) or column (b) vector that is then removed from the result.
 *
 * @example matmul(x, w, { transB: true })   // x [N, in] @ w[out, in]^T -> [N, out]
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): F32 {
  const y = noGrad(() => matmulForward(a, b, options));
  if (!isRecording([a, b])) return y;
  // Backward in the 2-D form of the forward (vectors made [1, k] / [k, 1]), then each gradient
  // summed over the batch axes its operand was broadcast along and given the operand's shape.
  const tA = options.transA === true && a.rank > 1, tB = options.transB === true && b.rank > 1;
  const aShape = a.rank === 1 ? [1, a.size] : a.shape, bShape = b.rank === 1 ? [b.size, 1] : b.shape;
  const m = aShape[aShape.length - (tA ? 1 : 2)], n = bShape[bShape.length - (tB ? 2 : 1)];
  const batch = y.shape.slice(0, y.rank - (a.rank === 1 ? 0 : 1) - (b.rank === 1 ? 0 : 1));
  const aShape0 = a.shape, bShape0 = b.shape;   // (the closure keeps shapes, not the tensors)
  return record('matmul', y, [a, b], (dy, [sa, sb], needs) => {
    const A = reshape(sa, aShape), B = reshape(sb, bShape), g = reshape(dy, [...batch, m, n]);
    // y = op(A) op(B):  d op(A) = g op(B)^T,  d op(B) = op(A)^T g; transposed back where op transposes.
    const dA = needs[0] ? (tA ? matmul(B, g, { transA: tB, transB: true }) : matmul(g, B, { transB: !tB })) : null;
    const dB = needs[1] ? (tB ? matmul(g, A, { transA: true, transB: tA }) : matmul(A, g, { transA: !tA })) : null;
    return [dA && reshape(sumTo(dA, aShape), aShape0), dB && reshape(sumTo(dB, bShape), bShape0)];
  }, [a, b]);
}

function matmulForward(a: Tensor, b: Tensor, options: MatmulOptions): F32 {
  const op = 'matmul';
  checkOptions(op, options, ['transA', 'transB']);
  let ta = checkFloat(op, 'a', a);
  let tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  const transA = options.transA === undefined ? false : checkBool(op, 'transA', options.transA);
  const transB = options.transB === undefined ? false : checkBool(op, 'transB', options.transB);
  if (ta.rank === 0 || tb.rank === 0) fail('E_SHAPE', `${op}: expected tensors with at least 1 axis, got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  const vectorA = ta.rank === 1, vectorB = tb.rank === 1;
  if (vectorA) ta = reshape(ta, [1, ta.size]);
  if (vectorB) tb = reshape(tb, [tb.size, 1]);
  try {
    const m = ta.shape[ta.rank - (transA && !vectorA ? 1 : 2)], ka = ta.shape[ta.rank - (transA && !vectorA ? 2 : 1)];
    const kb = tb.shape[tb.rank - (transB && !vectorB ? 1 : 2)], n = tb.shape[tb.rank - (transB && !vectorB ? 2 : 1)];
    if (ka !== kb) {
      fail('E_SHAPE', `${op}: expected \`b\` with ${ka} rows${transB ? ' (transposed)' : ''} to match \`a\` ${shapeStr(a.shape)}, got ${shapeStr(b.shape)}`);
    }
    const batch = broadcastShapes(op, ta.shape.slice(0, -2), tb.shape.slice(0, -2));
    const shape = [...batch, ...(vectorA ? [] : [m]), ...(vectorB ? [] : [n])];
    const handle = native.matmul(ta.handle(op), tb.handle(op), transA && !vectorA, transB && !vectorB);
    if (vectorA || vectorB) {
      const full = new Tensor<'float32'>(handle, [...batch, m, n], 'float32');
      try {
        return reshape(full, shape);
      } finally {
        full.dispose();
      }
    }
    return new Tensor(handle, shape, 'float32');
  } finally {
    if (vectorA) ta.dispose();
    if (vectorB) tb.dispose();
  }
}

// ---- layout ----------------------------------------------------------------------------------

/**
 * The same values with another shape (a view: no copy). One size may be -1 (inferred).
 * @example x.reshape([N, -1])
 */
export function reshape<D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const t = checkTensor('reshape', 'x', x) as Tensor<D>;
  if (!Array.isArray(shape)) fail('E_SHAPE', `reshape: expected \`shape\` to be an array of sizes, got ${describe(shape)}`);
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) fail('E_SHAPE', `reshape: only one size may be -1, got ${shapeStr(shape)}`);
  const known = checkShape('reshape', 'shape', shape.map((d) => (d === -1 ? 1 : d)));
  const knownSize = sizeOf(known);
  const out = shape.map((d) => (d === -1 ? (knownSize === 0 ? 0 : t.size / knownSize) : d));
  if (!out.every(Number.isInteger) || sizeOf(out) !== t.size) {
    fail('E_SHAPE', `reshape: cannot view shape ${shapeStr(t.shape)} (${t.size} elements) as ${shapeStr(shape)}`);
  }
  const y = new Tensor(native.reshape(t.handle('reshape'), out), out, t.dtype);
  const shape0 = t.shape;
  return record('reshape', y, [t], (dy) => [reshape(dy, shape0)]);
}

/** Merges axes startDim..endDim into one (a view). @example x.flatten(1)  // [N, C*H*W] */
export function flatten<D extends DType>(x: Tensor<D>, startDim = 0, endDim = -1): Tensor<D> {
  const t = checkTensor('flatten', 'x', x) as Tensor<D>;
  if (t.rank === 0) return reshape(t, [1]);
  const s = checkAxis('flatten', 'startDim', startDim, t.rank), e = checkAxis('flatten', 'endDim', endDim, t.rank);
  if (s > e) fail('E_ARG', `flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(t, [...t.shape.slice(0, s), sizeOf(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)]);
}

/** Removes axis `dim` of size 1, or every axis of size 1 (a view). */
export function squeeze<D extends DType>(x: Tensor<D>, dim?: number): Tensor<D> {
  const t = checkTensor('squeeze', 'x', x) as Tensor<D>;
  if (dim === undefined) return reshape(t, t.shape.filter((d) => d !== 1));
  const a = checkAxis('squeeze', 'dim', dim, t.rank);
  return t.shape[a] === 1 ? reshape(t, t.shape.filter((_, i) => i !== a)) : reshape(t, t.shape);
}

/** Inserts an axis of size 1 at `dim` (a view). @example x.unsqueeze(0)  // a batch of one */
export function unsqueeze<D extends DType>(x: Tensor<D>, dim: number): Tensor<D> {
  const t = checkTensor('unsqueeze', 'x', x) as Tensor<D>;
  const a = checkAxis('unsqueeze', 'dim', dim, t.rank + 1);
  return reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)]);
}

/** Reorders the axes (a copy). @example x.permute([0, 2, 3, 1])  // NCHW -> NHWC */
export function permute<D extends DType>(x: Tensor<D>, perm: readonly number[]): Tensor<D> {
  const t = checkTensor('permute', 'x', x) as Tensor<D>;
  if (!Array.isArray(perm) || perm.length !== t.rank) fail('E_ARG', `permute: expected ${t.rank} axes, got ${describe(perm)}`);
  const axes = perm.map((p) => checkAxis('permute', 'perm', p, t.rank));
  if (new Set(axes).size !== axes.length) fail('E_ARG', `permute: ${describe(perm)} is not a permutation of the axes`);
  const y = new Tensor(native.permute(t.handle('permute'), axes), axes.map((a) => t.shape[a]), t.dtype);
  const inverse = axes.map((_, i) => axes.indexOf(i));
  return record('permute', y, [t], (dy) => [permute(dy, inverse)]);
}

/** Swaps two axes (a copy); by default the last two. @example w.transpose()  // [out, in] -> [in, out] */
export function transpose<D extends DType>(x: Tensor<D>, dim0 = -2, dim1 = -1): Tensor<D> {
  const t = checkTensor('transpose', 'x', x) as Tensor<D>;
  if (t.rank < 2) return reshape(t, t.shape);
  const a = checkAxis('transpose', 'dim0', dim0, t.rank), b = checkAxis('transpose', 'dim1', dim1, t.rank);
  const perm = t.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(t, perm);
}

/** Joins tensors along an existing axis. @example concat([a, b], 1)  // channels */
export function concat<D extends DType>(tensors: readonly Tensor<D>[], axis = 0): Tensor<D> {
  if (!Array.isArray(tensors) || tensors.length === 0) fail('E_ARG', `concat: expected a non-empty array of tensors, got ${describe(tensors)}`);
  const ts = tensors.map((t, i) => checkTensor('concat', `tensors[${i}]`, t)) as Tensor<D>[];
  const first = ts[0];
  const a = checkAxis('concat', 'axis', axis, first.rank);
  const shape = first.shape.slice();
  shape[a] = 0;
  ts.forEach((t, i) => {
    if (t.dtype !== first.dtype) fail('E_DTYPE', `concat: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    checkSameDevice('concat', { 'tensors[0]': first, [`tensors[${i}]`]: t });
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== a && d !== first.shape[k])) {
      fail('E_SHAPE', `concat: tensors[${i}] has shape ${shapeStr(t.shape)}, which does not match ${shapeStr(first.shape)} outside axis ${a}`);
    }
    shape[a] += t.shape[a];
  });
  const y = new Tensor(native.concat(ts.map((t) => t.handle('concat')), a), shape, first.dtype);
  const sizes = ts.map((t) => t.shape[a]);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((p, n) => p + n, 0));
  return record('concat', y, ts, (dy, _s, needs) => sizes.map((n, i) => (needs[i] ? narrow(dy, a, starts[i], n) : null)));
}

/**
 * A box of the tensor: `size[i]` elements from `begin[i]` on each axis (a size of -1 means "to
 * the end"). A copy. @example x.slice([0, 0], [2, -1])  // the first two rows
 */
export function slice<D extends DType>(x: Tensor<D>, begin: readonly number[], size?: readonly number[]): Tensor<D> {
  const t = checkTensor('slice', 'x', x) as Tensor<D>;
  if (!Array.isArray(begin) || begin.length !== t.rank) fail('E_ARG', `slice: expected \`begin\` with ${t.rank} entries, got ${describe(begin)}`);
  if (size !== undefined && (!Array.isArray(size) || size.length !== t.rank)) fail('E_ARG', `slice: expected \`size\` with ${t.rank} entries, got ${describe(size)}`);
  const b = begin.map((v, i) => checkInt('slice', `begin[${i}]`, v, 0, t.shape[i]));
  const s = b.map((v, i) => {
    const want = size === undefined ? -1 : size[i];
    if (want === -1) return t.shape[i] - v;
    return checkInt('slice', `size[${i}]`, want, 0, t.shape[i] - v);
  });
  const y = new Tensor(native.slice(t.handle('slice'), b, s, b.map(() => 1)), s, t.dtype);
  const full = t.shape;
  // The gradient is dy padded with zeros back to x's shape, one axis at a time.
  return record('slice', y, [t], (dy) => {
    let g: Tensor = dy;
    for (let d = 0; d < full.length; d++) {
      const before = b[d], after = full[d] - b[d] - s[d];
      if (before === 0 && after === 0) continue;
      const pad = (size: number) => new Tensor(native.fill(g.shape.map((v, k) => (k === d ? size : v)), 0, 0, DEVICE_CODE[g.device]), g.shape.map((v, k) => (k === d ? size : v)), 'float32');
      g = concat([...(before > 0 ? [pad(before)] : []), g, ...(after > 0 ? [pad(after)] : [])], d);
    }
    return [g];
  });
}

/** `length` elements from `start` along `dim` (a copy), as torch.narrow. */
export function narrow<D extends DType>(x: Tensor<D>, dim: number, start: number, length: number): Tensor<D> {
  const t = checkTensor('narrow', 'x', x) as Tensor<D>;
  const a = checkAxis('narrow', 'dim', dim, t.rank);
  checkInt('narrow', 'start', start, 0, t.shape[a]);
  checkInt('narrow', 'length', length, 0, t.shape[a] - start);
  return slice(t, t.shape.map((_, i) => (i === a ? start : 0)), t.shape.map((d, i) => (i === a ? length : d)));
}

/**
 * The entries `index` (int32, 1-D) along `dim`, as torch.index_select. Indices are checked
 * when the op runs: one out of range is an E_INDEX error at the next wait.
 * @example images.indexSelect(0, batchIndices)
 */
export function indexSelect<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>): Tensor<D> {
  const t = checkTensor('indexSelect', 'x', x) as Tensor<D>;
  const i = checkTensor('indexSelect', 'index', index);
  checkDtype('indexSelect', 'index', i, 'int32');
  checkSameDevice('indexSelect', { x: t, index: i });
  if (i.rank !== 1) fail('E_SHAPE', `indexSelect: expected \`index\` of shape [K], got ${shapeStr(i.shape)}`);
  const a = checkAxis('indexSelect', 'dim', dim, t.rank);
  const shape = t.shape.map((d, k) => (k === a ? i.size : d));
  const y = new Tensor(native.indexSelect(t.handle('indexSelect'), a, i.handle('indexSelect')), shape, t.dtype);
  const shape0 = t.shape;
  // dx: zeros with dy added at the picked positions (repeated indices add up).
  return record('indexSelect', y, [t, i], (dy, [si]) => {
    const zeros = native.fill(shape0.slice(), 0, 0, DEVICE_CODE[dy.device]);
    try {
      return [new Tensor(native.indexAdd(zeros, a, si.handle('indexSelect backward'), dy.handle('indexSelect backward')), shape0, 'float32'), null];
    } finally {
      native.release(zeros);
    }
  }, [i]);
}

/**
 * torch.gather: y[i][j] = x[i][index[i][j]] along `dim` (for dim 1 of a 2-D tensor). `index`
 * has x's rank and is no larger than x outside `dim`; y has index's shape.
 * @example logits.gather(1, target.unsqueeze(1))   // the score of each true class
 */
export function gather<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>): Tensor<D> {
  const t = checkTensor('gather', 'x', x) as Tensor<D>;
  const i = checkTensor('gather', 'index', index);
  checkDtype('gather', 'index', i, 'int32');
  checkSameDevice('gather', { x: t, index: i });
  const a = checkAxis('gather', 'dim', dim, t.rank);
  if (i.rank !== t.rank || i.shape.some((d, k) => k !== a && d > t.shape[k])) {
    fail('E_SHAPE', `gather: expected \`index\` of rank ${t.rank} no larger than ${shapeStr(t.shape)} outside axis ${a}, got ${shapeStr(i.shape)}`);
  }
  const y = new Tensor(native.gather(t.handle('gather'), a, i.handle('gather')), i.shape, t.dtype);
  const shape0 = t.shape;
  // dx: zeros with dy scatter-added where index points (repeated indices add up).
  return record('gather', y, [t, i], (dy, [si]) => {
    const zeros = native.fill(shape0.slice(), 0, 0, DEVICE_CODE[dy.device]);
    try {
      return [new Tensor(native.scatterAdd(zeros, a, si.handle('gather backward'), dy.handle('gather backward')), shape0, 'float32'), null];
    } finally {
      native.release(zeros);
    }
  }, [i]);
}

/**
 * One-hot rows (float32 [..., numClasses]) from int32 labels; a label out of range is an
 * E_INDEX error at the next wait. @example oneHot(labels, 10)
 */
export function oneHot(labels: Tensor<'int32'>, numClasses: number): F32 {
  const t = checkTensor('oneHot', 'labels', labels);
  checkDtype('oneHot', 'labels', t, 'int32');
  checkInt('oneHot', 'numClasses', numClasses, 1, 2 ** 31 - 1);
  return new Tensor(native.oneHot(t.handle('oneHot'), numClasses), [...t.shape, numClasses], 'float32');
}

/** Converts to another dtype (float -> int truncates toward zero). */
export function cast<T extends DType>(x: Tensor, dtype: T): Tensor<T> {
  const t = checkTensor('cast', 'x', x);
  if (dtype !== 'float32' && dtype !== 'int32') fail('E_DTYPE', `cast: expected dtype 'float32' or 'int32', got ${describe(dtype)}`);
  const y = new Tensor(native.cast(t.handle('cast'), DTYPE_CODE[dtype]), t.shape, dtype);
  // Only a float32 -> float32 copy (clone) is differentiable.
  return dtype === 'float32' && t.dtype === 'float32' ? record('clone', y, [t], (dy) => [dy]) : y;
}

/** A copy with its own memory. */
export function clone<D extends DType>(x: Tensor<D>): Tensor<D> {
  const t = checkTensor('clone', 'x', x) as Tensor<D>;
  return cast(t, t.dtype) as Tensor<D>;
}

// ---- devices --------------------------------------------------------------------------------

/** 'cpu' or 'cuda' from a device name ('cuda:0' is the one GPU the backend uses). */
export function parseDevice(op: string, device: unknown): Device {
  if (device === 'cpu' || device === 'cuda') return device;
  if (typeof device === 'string' && /^cuda:\d+$/.test(device)) {
    if (device !== 'cuda:0') fail('E_DEVICE', `${op}: only one GPU (cuda:0) is supported, got ${JSON.stringify(device)}`);
    return 'cuda';
  }
  return fail('E_DEVICE', `${op}: unknown device ${describe(device)}; expected 'cpu' or 'cuda'`);
}

/**
 * `x.to(device)`: x itself when it is there, else a copy on `device` (see `Tensor.to`). The
 * copy is recorded, so gradients come back to x's device.
 * @example const g = toDevice(randn([2, 2]), 'cuda');
 */
export function toDevice<D extends DType>(x: Tensor<D>, device: string): Tensor<D> {
  const op = 'to';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const target = parseDevice(op, device);
  t.handle(op);
  if (target === t.device) return t;
  if (target === 'cuda') requireCuda(op);
  const y = new Tensor(native.toDevice(t.handle(op), DEVICE_CODE[target]), t.shape, t.dtype);
  if (t.dtype !== 'float32') return y;
  const from = t.device;
  return record('to', y as Tensor<'float32'>, [t], (dy) => [toDevice(dy, from)]) as unknown as Tensor<D>;
}
