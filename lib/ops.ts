/**
 * The tensor ops of the foundation: arithmetic with broadcasting, unary maths, reductions,
 * matmul, and layout (reshape, transpose, concat, slice, indexing). Each validates its
 * arguments here, then enqueues the native kernel and returns the output at once.
 */
import { expandTo, isRecording, noGrad, record, sumTo } from './autograd';
import { tidy } from './engine';
import { fail } from './errors';
import { BinaryOp, CompareOp, ReduceOp, UnaryOp, native, type BinaryOpCode, type Handle, type ReduceOpCode, type UnaryOpCode } from './native';
import { requireCuda } from './cuda';
import type { SortResult } from './sorting';
import { DEVICE_CODE, DTYPE_CODE, Tensor, type DType, type Device } from './tensor';
import {
  broadcastShapes, checkAxis, checkReductionAxes, checkFloat, checkFloat32Value, checkBool, checkDtype, checkInt, checkNumber, checkOptions, checkSameDevice, checkShape, checkTensor, checkArrayLength, MAX_RANK,
  collectChecked, describe, isTensor, shapeStr, sizeOf,
} from './validate';

type F32 = Tensor<'float32'>;

// A number operand is rounded to float32 and applied by the scalar kernel: the same results
// as a one-element tensor that broadcasts, without making one.
/** @internal The native binary op `op` with broadcasting and its gradient (lib/pointwise.ts's hypot and friends). */
export function binary(op: keyof typeof BinaryOp, a: Tensor | number, b: Tensor | number): F32 {
  const code = BinaryOp[op] as BinaryOpCode;
  let y: F32;
  if (isTensor(a) && isTensor(b)) {
    const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
    checkSameDevice(op, { a: ta, b: tb });
    // Operands of one shape (the usual case) give y theirs, frozen already (the Tensor constructor).
    const shape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShapes(op, ta.shape, tb.shape);
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

/**
 * The gradient of a step or constant (sign, floor, round, pow with exponent 0, ...): zeros of
 * dy's shape, whatever dy holds, as PyTorch's zeros_like (dy * 0 would turn an infinite dy into NaN).
 */
function noSlope(dy: Tensor): F32 {
  return new Tensor(native.fill(dy.shape.slice(), DTYPE_CODE.float32, 0, DEVICE_CODE[dy.device]), dy.shape, 'float32');
}

function powExponentGrad(dy: F32, a: Operand, b: Tensor, y: F32): F32 {
  const g = mul(dy, mul(y, typeof a === 'number' ? Math.log(Math.fround(a)) : log(a)));
  if (typeof a === 'number') return a === 0 ? where(ge(b, 0), 0, g) : g;
  return where(mul(eq(a, 0), ge(b, 0)), 0, g);
}

/** d y / d a and d y / d b, each multiplied by dy (before summing back to the operands' shapes). */
const BINARY_GRADS: Record<keyof typeof BinaryOp, (dy: F32, a: Operand, b: Operand, y: F32, needA: boolean, needB: boolean) => [Tensor | null, Tensor | null]> = {
  add: (dy) => [dy, dy],
  sub: (dy, _a, _b, _y, _na, needB) => [dy, needB ? neg(dy) : null],
  mul: (dy, a, b, _y, needA, needB) => [needA ? mul(dy, b) : null, needB ? mul(dy, a) : null],
  // d(a/b)/db = -a/b^2 = -y/b
  div: (dy, _a, b, y, needA, needB) => [needA ? div(dy, b) : null, needB ? neg(div(mul(dy, y), b)) : null],
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (NaN for a < 0).
  // PyTorch's (pow_backward_self / _exponent): 0 to a where b = 0 (0 * 0^-1 would be NaN), and
  // 0 to b where a = 0 and b >= 0 (0^b log 0 would be NaN).
  // (needA: a is a tensor; needB: b is.)
  pow: (dy, a, b, y, needA, needB) => [
    !needA ? null : typeof b === 'number' ? (b === 0 ? noSlope(dy) : mul(dy, scale(pow(a, b - 1), b))) : where(eq(b, 0), 0, mul(dy, mul(b, pow(a, sub(b, 1))))),
    !needB ? null : powExponentGrad(dy, a, b as Tensor, y),
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
  // a - b * floor(a / b) and a - b * trunc(a / b): d/da = 1, d/db = -floor(a / b) (-trunc), as PyTorch.
  remainder: (dy, a, b, _y, needA, needB) => [needA ? dy : null, needB ? neg(mul(dy, floor(div(a, b)))) : null],
  fmod: (dy, a, b, _y, needA, needB) => [needA ? dy : null, needB ? neg(mul(dy, trunc(div(a, b)))) : null],
  // d atan2(a, b) = (b da - a db) / (a^2 + b^2)
  atan2: (dy, a, b, _y, needA, needB) => {
    const sq = (v: Operand) => (typeof v === 'number' ? v * v : square(v));
    const r = add(sq(a), sq(b));
    return [needA ? mul(dy, div(b, r)) : null, needB ? neg(mul(dy, div(a, r))) : null];
  },
  // PyTorch's: y / a to a (+-1; 0 where a is 0), none to b (zeros).
  copysign: (dy, a, _b, y, needA, needB) => [needA ? mul(dy, mul(sign(a as Tensor), sign(y))) : null, needB ? noSlope(dy) : null],
  // PyTorch's: a / y and b / y (NaN at the origin, as there).
  hypot: (dy, a, b, y, needA, needB) => [needA ? mul(dy, div(a, y)) : null, needB ? mul(dy, div(b, y)) : null],
  // exp(a - y) and exp(b - y): sigmoid(a - b) and sigmoid(b - a), never overflowing (y >= a, b).
  logaddexp: (dy, a, b, y, needA, needB) => [needA ? mul(dy, exp(sub(a, y))) : null, needB ? mul(dy, exp(sub(b, y))) : null],
  logaddexp2: (dy, a, b, y, needA, needB) => [needA ? mul(dy, exp2(sub(a, y))) : null, needB ? mul(dy, exp2(sub(b, y))) : null],
  // PyTorch's: xlogy(dy, b) to a, 0 where a is 0 and b <= 0 (log(b) is -inf or NaN there); a / b to b.
  xlogy: (dy, a, b, _y, needA, needB) => {
    let ga: Tensor | null = null;
    if (needA) {
      const logTerm = binary('xlogy', dy, b);
      const undefinedLog = typeof b === 'number' ? (b <= 0 ? eq(a, 0) : null) : mul(eq(a, 0), le(b, 0));
      ga = undefinedLog ? where(undefinedLog, 0, logTerm) : logTerm;
    }
    return [ga, needB ? mul(dy, div(a, b)) : null];
  },
  // Masks: no gradient (lib/indexing.ts runs them without recording).
  logicalAnd: () => [null, null],
  logicalOr: () => [null, null],
  logicalXor: () => [null, null],
};

function recordBinary(op: keyof typeof BinaryOp, y: F32, a: Operand, b: Operand): F32 {
  if (!isRecording([a, b])) return y;
  // Number operands are rounded to float32 like the kernel did; tensors are saved, except by
  // add and sub, whose gradients need no values (a handle each on memory that other ops mostly
  // keep anyway, but whose in-place writes would then fail backward for nothing).
  const na = typeof a === 'number' ? Math.fround(a) : null, nb = typeof b === 'number' ? Math.fround(b) : null;
  const needsY = op === 'div' || op === 'pow' || op === 'copysign' || op === 'hypot' || op === 'logaddexp' || op === 'logaddexp2';
  const keepsOperands = op !== 'add' && op !== 'sub';
  const operands = keepsOperands ? [a, b].filter(isTensor) : [];
  const saved = [...operands, ...(needsY ? [y] : [])];
  const shapes = [isTensor(a) ? a.shape : null, isTensor(b) ? b.shape : null];
  return record(op, y, [a, b], (dy, s, needs) => {
    let k = 0;
    const operand = (n: number | null): Operand => n ?? (keepsOperands ? s[k++] : 0);
    const sa = operand(na), sb = operand(nb);
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
  sign: { saves: 'none', grad: (dy) => noSlope(dy) },
  floor: { saves: 'none', grad: (dy) => noSlope(dy) },
  ceil: { saves: 'none', grad: (dy) => noSlope(dy) },
  // d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
  erf: { saves: 'x', grad: (dy, x) => mul(dy, scale(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))) },
  sin: { saves: 'x', grad: (dy, x) => mul(dy, cos(x)) },
  cos: { saves: 'x', grad: (dy, x) => neg(mul(dy, sin(x))) },
  tan: { saves: 'y', grad: (dy, y) => mul(dy, add(square(y), 1)) },       // 1 + tan^2
  atan: { saves: 'x', grad: (dy, x) => div(dy, add(square(x), 1)) },
  log1p: { saves: 'x', grad: (dy, x) => div(dy, add(x, 1)) },
  expm1: { saves: 'y', grad: (dy, y) => mul(dy, add(y, 1)) },
  log2: { saves: 'x', grad: (dy, x) => div(dy, scale(x, Math.LN2)) },
  log10: { saves: 'x', grad: (dy, x) => div(dy, scale(x, Math.LN10)) },
  rsqrt: { saves: 'y', grad: (dy, y) => mul(dy, scale(mul(square(y), y), -0.5)) },   // -x^(-3/2) / 2
  round: { saves: 'none', grad: (dy) => noSlope(dy) },
  trunc: { saves: 'none', grad: (dy) => noSlope(dy) },
  // The inverse functions' derivatives from x, as PyTorch's (+-inf at the ends of the domain).
  asin: { saves: 'x', grad: (dy, x) => mul(dy, rsqrt(scale(square(x), -1, 1))) },     // 1 / sqrt(1 - x^2)
  acos: { saves: 'x', grad: (dy, x) => mul(dy, scale(rsqrt(scale(square(x), -1, 1)), -1)) },
  sinh: { saves: 'x', grad: (dy, x) => mul(dy, cosh(x)) },
  cosh: { saves: 'x', grad: (dy, x) => mul(dy, sinh(x)) },
  asinh: { saves: 'x', grad: (dy, x) => mul(dy, rsqrt(add(square(x), 1))) },
  acosh: { saves: 'x', grad: (dy, x) => mul(dy, rsqrt(sub(square(x), 1))) },
  atanh: { saves: 'x', grad: (dy, x) => div(dy, scale(square(x), -1, 1)) },            // 1 / (1 - x^2)
  erfc: { saves: 'x', grad: (dy, x) => mul(dy, scale(exp(neg(square(x))), -2 / Math.sqrt(Math.PI))) },
  erfinv: { saves: 'y', grad: (dy, y) => mul(dy, scale(exp(square(y)), Math.sqrt(Math.PI) / 2)) },   // 1 / erf'(y)
  exp2: { saves: 'y', grad: (dy, y) => mul(dy, scale(y, Math.LN2)) },
  lgamma: { saves: 'x', grad: (dy, x) => mul(dy, polygamma(0, x)) },
  frac: { saves: 'none', grad: (dy) => dy },   // x - trunc(x): 1, as PyTorch
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
    return record('pow', y, [t], (dy, [x]) => [e === 0 ? noSlope(dy) : mul(dy, scale(pow(x, e - 1), e))], [t], { exponent: e });
  }
  return binary('pow', a, b);
}
/** Elementwise maximum (NaN propagates). */
export const maximum = (a: Tensor | number, b: Tensor | number): F32 => binary('maximum', a, b);
/** Elementwise minimum (NaN propagates). */
export const minimum = (a: Tensor | number, b: Tensor | number): F32 => binary('minimum', a, b);
/**
 * The remainder of a / b with the sign of b (Python's %, torch.remainder): remainder(-3, 5) = 2.
 * From the exact fmod, so every result is exact. @example remainder(angles, 2 * Math.PI)
 */
export const remainder = (a: Tensor | number, b: Tensor | number): F32 => binary('remainder', a, b);
/** The remainder of a / b with the sign of a (C's fmod, torch.fmod): fmod(-3, 5) = -3. Exact. */
export const fmod = (a: Tensor | number, b: Tensor | number): F32 => binary('fmod', a, b);
/** The angle of the point (b, a) in (-pi, pi], elementwise (torch.atan2(a, b): a is y, b is x). */
export const atan2 = (a: Tensor | number, b: Tensor | number): F32 => binary('atan2', a, b);

export const neg = (x: Tensor): F32 => unary('neg', x);
export const abs = (x: Tensor): F32 => unary('abs', x);
export const exp = (x: Tensor): F32 => unary('exp', x);
/** Natural logarithm (log 0 = -Infinity, log of a negative = NaN). */
export const log = (x: Tensor): F32 => unary('log', x);
export const sqrt = (x: Tensor): F32 => unary('sqrt', x);
export const square = (x: Tensor): F32 => unary('square', x);
export const reciprocal = (x: Tensor): F32 => unary('reciprocal', x);
/** -1, 0 or 1 elementwise; NaN stays NaN, as NumPy's (PyTorch gives 0: its issue #41245). */
export const sign = (x: Tensor): F32 => unary('sign', x);
export const floor = (x: Tensor): F32 => unary('floor', x);
export const ceil = (x: Tensor): F32 => unary('ceil', x);
/** The error function, elementwise (as torch.erf; GELU is built on it). @example erf(x) */
export const erf = (x: Tensor): F32 => unary('erf', x);
/** Sine, elementwise (radians). */
export const sin = (x: Tensor): F32 => unary('sin', x);
/** Cosine, elementwise (radians). */
export const cos = (x: Tensor): F32 => unary('cos', x);
/** Tangent, elementwise (radians). */
export const tan = (x: Tensor): F32 => unary('tan', x);
/** Arctangent, elementwise, in (-pi/2, pi/2). */
export const atan = (x: Tensor): F32 => unary('atan', x);
/** log(1 + x), accurate for small x (as torch.log1p). */
export const log1p = (x: Tensor): F32 => unary('log1p', x);
/** exp(x) - 1, accurate for small x (as torch.expm1). */
export const expm1 = (x: Tensor): F32 => unary('expm1', x);
/** Base-2 logarithm. */
export const log2 = (x: Tensor): F32 => unary('log2', x);
/** Base-10 logarithm. @example scale(log10(div(1, mse)), 10)   // PSNR of images in [0, 1] */
export const log10 = (x: Tensor): F32 => unary('log10', x);
/** 1 / sqrt(x) (rsqrt 0 = Infinity). */
export const rsqrt = (x: Tensor): F32 => unary('rsqrt', x);
/** Rounds to the nearest integer, halves to even, as torch.round: round(0.5) = 0, round(1.5) = 2. */
export const round = (x: Tensor): F32 => unary('round', x);
/** Rounds toward zero. */
export const trunc = (x: Tensor): F32 => unary('trunc', x);
/** x - trunc(x) elementwise (the sign of x), as torch.frac. @example frac(tensor([1.5, -2.25]))   // [0.5, -0.25] */
export const frac = (x: Tensor): F32 => unary('frac', x);
/** Arcsine, elementwise, in [-pi/2, pi/2] (NaN outside [-1, 1]). */
export const asin = (x: Tensor): F32 => unary('asin', x);
/** Arccosine, elementwise, in [0, pi] (NaN outside [-1, 1]). */
export const acos = (x: Tensor): F32 => unary('acos', x);
/** Hyperbolic sine, elementwise. */
export const sinh = (x: Tensor): F32 => unary('sinh', x);
/** Hyperbolic cosine, elementwise. */
export const cosh = (x: Tensor): F32 => unary('cosh', x);
/** Inverse hyperbolic sine, elementwise. */
export const asinh = (x: Tensor): F32 => unary('asinh', x);
/** Inverse hyperbolic cosine, elementwise (NaN below 1). */
export const acosh = (x: Tensor): F32 => unary('acosh', x);
/** Inverse hyperbolic tangent, elementwise (+-Infinity at +-1, NaN outside [-1, 1]). */
export const atanh = (x: Tensor): F32 => unary('atanh', x);
/** 1 - erf(x), accurate where erf(x) is near 1 (as torch.erfc). */
export const erfc = (x: Tensor): F32 => unary('erfc', x);
/**
 * The inverse of erf on [-1, 1] (+-Infinity at +-1, NaN outside), as torch.erfinv.
 * @example scale(erfinv(scale(u, 2, -1)), Math.SQRT2)   // uniform u in (0, 1) to a standard normal
 */
export const erfinv = (x: Tensor): F32 => unary('erfinv', x);
/** 2^x, elementwise. */
export const exp2 = (x: Tensor): F32 => unary('exp2', x);
/** log |gamma(x)|, elementwise (Infinity at 0 and the negative integers), as torch.lgamma. */
export const lgamma = (x: Tensor): F32 => unary('lgamma', x);

/**
 * The n-th derivative of the digamma function, elementwise, as torch.polygamma(n, x): digamma for
 * n = 0, trigamma for n = 1. Computed in float64 (cpu/special_math.h, the same code on the GPU).
 * Differentiable (its gradient is polygamma(n + 1, x)).
 * @example polygamma(1, x)   // trigamma: the variance of log of a gamma variable
 */
export function polygamma(n: number, x: Tensor): F32 {
  checkInt('polygamma', 'n', n, 0);
  const t = checkFloat('polygamma', 'x', x);
  const y = new Tensor<'float32'>(native.polygamma(n, t.handle('polygamma')), t.shape, 'float32');
  return record('polygamma', y, [t], (dy, [u]) => [mul(dy, polygamma(n + 1, u))], [t]);
}
/**
 * psi(x), the derivative of lgamma, elementwise, as torch.digamma: -Infinity at +0 (PyTorch's
 * choice), NaN at the negative integers.
 */
export const digamma = (x: Tensor): F32 => polygamma(0, x);

/** alpha * x + beta in one pass. @example scale(x, 1 / 255, -0.5) */
export function scale(x: Tensor, alpha: number, beta = 0): F32 {
  const t = checkFloat('scale', 'x', x);
  checkNumber('scale', 'alpha', alpha, true);
  checkNumber('scale', 'beta', beta, true);
  const y = new Tensor<'float32'>(native.affine(t.handle('scale'), alpha, beta), t.shape, 'float32');
  const a = Math.fround(alpha);
  return record('scale', y, [t], (dy) => [scale(dy, a)], [], { alpha: a, beta: Math.fround(beta) });
}

// ---- reductions ----------------------------------------------------------------------------

const ALL_AXES: (readonly number[])[] = [];
/** [0, 1, …, rank - 1], frozen and shared. */
function allAxes(rank: number): readonly number[] {
  return (ALL_AXES[rank] ??= Object.freeze(Array.from({ length: rank }, (_, i) => i)));
}

function reduce(op: keyof typeof ReduceOp, x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const t0 = checkTensor(op, 'x', x);
  // int32: sum (exact, in int64; a result outside int32 is an E_RANGE error), max and min.
  if (t0.dtype === 'int32' && op === 'mean') fail('E_DTYPE', 'mean: expected `x` of dtype float32, got int32 (a mean is not an integer: cast to float32 first, as PyTorch asks)');
  const t = t0.dtype === 'int32' ? t0 : checkFloat(op, 'x', x);
  checkBool(op, 'keepdim', keepdim);
  // Every axis when none are given, as PyTorch 1.13's sum(dim=[]) too (the addon did; the shape
  // given to the result kept x's, a [2, 3] tensor holding one value). The common case of a loss
  // or a metric: no list built per call.
  const given = axis === undefined ? [] : checkReductionAxes(op, 'axis', axis, t.rank);
  const axes: readonly number[] = given.length === 0 ? allAxes(t.rank) : given;
  if ((op === 'max' || op === 'min') && axes.some((a) => t.shape[a] === 0)) {
    fail('E_SHAPE', `${op}: cannot reduce an axis of size 0 (shape ${shapeStr(t.shape)}): there is no identity`);
  }
  const shape = keepdim ? t.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !axes.includes(i));
  const y = new Tensor(native.reduce(ReduceOp[op] as ReduceOpCode, t.handle(op), axes, keepdim), shape, t.dtype);
  if (t.dtype === 'int32' || !isRecording([t])) return y;
  const kept = t.shape.map((d, i) => (axes.includes(i) ? 1 : d));   // y's shape with keepdim
  const count = axes.reduce((n, a) => n * t.shape[a], 1);
  const shape0 = t.shape;
  const yf = y as F32;
  if (op === 'sum' || op === 'mean') {
    return record(op, yf, [t], (dy) => [expandTo(op === 'mean' ? scale(reshape(dy, kept), 1 / count) : reshape(dy, kept), shape0)], [], { axes, keepdim });
  }
  if (op === 'nansum') return record(op, yf, [t], (dy, [sx]) => [where(eq(sx, sx), reshape(dy, kept), 0)], [t]);
  return recordExtremum(op, t as F32, yf, axes);
}

/**
 * Records y, the max or min of float32 x over `axes` (sorted; y with or without keepdim): the
 * gradient goes to the positions equal to the result, split evenly among ties (as PyTorch's
 * amax / amin). isMax = 1 - |sign(x - y)| is 1 exactly where x == y. @internal (aminmax too)
 */
export function recordExtremum(op: string, x: F32, y: F32, axes: readonly number[]): F32 {
  if (!isRecording([x])) return y;
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return record(op, y, [x], (dy, [sx, sy]) => {
    const isMax = scale(abs(sign(sub(sx, reshape(sy, kept)))), -1, 1);
    const ties = sum(isMax, axes, true);
    return [mul(isMax, div(reshape(dy, kept), ties))];
  }, [x, y], { axes, keepdim: y.rank === x.rank && x.rank > 0 });
}

type Axes = number | readonly number[];

/**
 * Sum over `axis` (an axis, a list, or all when omitted), accumulated in float64. An int32
 * tensor sums to int32, exactly (in int64): a sum outside the int32 range is an E_RANGE error
 * at the next wait (PyTorch sums int32 to int64, which this library does not have).
 * @example sum(x)  // scalar;  sum(x, [2, 3], true)  // [N, C, 1, 1];  argmax(logits, 1).eq(labels).sum()
 */
export function sum(x: Tensor<'int32'>, axis?: Axes, keepdim?: boolean): Tensor<'int32'>;
export function sum(x: Tensor, axis?: Axes, keepdim?: boolean): F32;
export function sum(x: Tensor, axis?: Axes, keepdim = false): Tensor { return reduce('sum', x, axis, keepdim); }
/** Mean over `axis` (all when omitted). The mean of nothing is NaN, as PyTorch. float32 only. */
export const mean = (x: Tensor, axis?: Axes, keepdim = false): F32 => reduce('mean', x, axis, keepdim) as F32;
/** pointwise.nansum's float32 case (checked there): one native pass that reads each NaN as 0. */
export const nansumFloat = (x: Tensor, axis: readonly number[], keepdim: boolean): F32 => reduce('nansum', x, axis, keepdim) as F32;
/** Largest value over `axis` (all when omitted); NaN propagates. float32 or int32. */
export function max(x: Tensor<'int32'>, axis?: Axes, keepdim?: boolean): Tensor<'int32'>;
export function max(x: Tensor, axis?: Axes, keepdim?: boolean): F32;
export function max(x: Tensor, axis?: Axes, keepdim = false): Tensor { return reduce('max', x, axis, keepdim); }
/** Smallest value over `axis` (all when omitted); NaN propagates. float32 or int32. */
export function min(x: Tensor<'int32'>, axis?: Axes, keepdim?: boolean): Tensor<'int32'>;
export function min(x: Tensor, axis?: Axes, keepdim?: boolean): F32;
export function min(x: Tensor, axis?: Axes, keepdim = false): Tensor { return reduce('min', x, axis, keepdim); }

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepdim: boolean): Tensor<'int32'> {
  const t = checkTensor(op, 'x', x);
  checkBool(op, 'keepdim', keepdim);
  if (t.size === 0 && axis === undefined) fail('E_SHAPE', `${op}: the tensor is empty`);
  if (axis === undefined) {
    const flat = noGrad(() => reshape(t, [t.size]));
    try {
      return argExtremum(op, flat, 0, false);
    } finally {
      flat.dispose();
    }
  }
  if (t.rank === 0) {
    // A 0-D tensor's axis 0 (or -1), as PyTorch: the index of its one value, 0-D.
    checkAxis(op, 'axis', axis, 1);
    return argExtremum(op, t, undefined, false);
  }
  const a = checkAxis(op, 'axis', axis, t.rank);
  const shape = keepdim ? t.shape.map((d, i) => (i === a ? 1 : d)) : t.shape.filter((_, i) => i !== a);
  if (t.size === 0) {
    // Lines of an empty tensor: none if the axis is not empty (as PyTorch), else no index to give.
    if (t.shape[a] === 0) fail('E_SHAPE', `${op}: cannot take the ${op} over axis ${a} of size 0 (shape ${shapeStr(t.shape)})`);
    return new Tensor(native.fill(shape, DTYPE_CODE.int32, 0, DEVICE_CODE[t.device]), shape, 'int32');
  }
  return new Tensor(native.argmax(t.handle(op), a, keepdim, op === 'argmax'), shape, 'int32');
}

/**
 * Index of the largest value along `axis` (of the flattened tensor when omitted); the first on
 * ties; a NaN counts as the largest. float32 or int32 x; int32 result.
 * @example argmax(logits, 1)   // predicted classes [N]
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor<'int32'> {
  return argExtremum('argmax', x, axis, keepdim);
}

/**
 * Index of the smallest value along `axis` (of the flattened tensor when omitted); the first on
 * ties; a NaN wins here too (as torch.argmin). float32 or int32 x; int32 result.
 * @example argmin(distances, 1)   // the nearest centre of each row
 */
export function argmin(x: Tensor, axis?: number, keepdim = false): Tensor<'int32'> {
  return argExtremum('argmin', x, axis, keepdim);
}

// ---- comparisons and selection ---------------------------------------------------------------

// Comparisons give float32 masks of 1 and 0 (PyTorch gives bool; this library has no bool
// dtype), never record a gradient, and take float32 or int32 operands of one dtype, or a
// number: rounded to float32 against a float32 tensor (as the arithmetic does), compared
// exactly against an int32 one (PyTorch compares an int tensor with a float number in float32).
function compare(op: keyof typeof CompareOp, a: Tensor | number, b: Tensor | number): F32 {
  const code = CompareOp[op];
  if (isTensor(a) && isTensor(b)) {
    const ta = checkTensor(op, 'a', a), tb = checkTensor(op, 'b', b);
    if (ta.dtype !== tb.dtype) fail('E_DTYPE', `${op}: expected \`a\` and \`b\` of one dtype, got ${ta.dtype} and ${tb.dtype}`);
    checkSameDevice(op, { a: ta, b: tb });
    const shape = broadcastShapes(op, ta.shape, tb.shape);
    return new Tensor(native.compare(code, ta.handle(op), tb.handle(op)), shape, 'float32');
  }
  if (isTensor(a)) {
    const ta = checkTensor(op, 'a', a);
    return new Tensor(native.compareScalar(code, ta.handle(op), scalar(op, 'b', b), false), ta.shape, 'float32');
  }
  if (isTensor(b)) {
    const tb = checkTensor(op, 'b', b);
    return new Tensor(native.compareScalar(code, tb.handle(op), scalar(op, 'a', a), true), tb.shape, 'float32');
  }
  return fail('E_ARG', `${op}: expected at least one tensor, got ${describe(a)} and ${describe(b)}`);
}

/** a == b as a float32 mask of 1 and 0 (PyTorch returns bool), broadcasting. NaN == anything is 0. @example argmax(logits, 1).eq(labels).sum() */
export const eq = (a: Tensor | number, b: Tensor | number): F32 => compare('eq', a, b);
/** a != b as a float32 1/0 mask, broadcasting. NaN != anything is 1. */
export const ne = (a: Tensor | number, b: Tensor | number): F32 => compare('ne', a, b);
/** a < b as a float32 1/0 mask, broadcasting (0 where either is NaN). */
export const lt = (a: Tensor | number, b: Tensor | number): F32 => compare('lt', a, b);
/** a <= b as a float32 1/0 mask, broadcasting (0 where either is NaN). */
export const le = (a: Tensor | number, b: Tensor | number): F32 => compare('le', a, b);
/** a > b as a float32 1/0 mask, broadcasting (0 where either is NaN). */
export const gt = (a: Tensor | number, b: Tensor | number): F32 => compare('gt', a, b);
/** a >= b as a float32 1/0 mask, broadcasting (0 where either is NaN). */
export const ge = (a: Tensor | number, b: Tensor | number): F32 => compare('ge', a, b);

// A number operand of where as a 0-dimensional tensor of `dtype` on `device` (it broadcasts).
function whereOperand(name: string, value: Tensor | number, dtype: DType, device: Device): { handle: ReturnType<Tensor['handle']>; own: boolean } {
  if (isTensor(value)) return { handle: value.handle('where'), own: false };
  if (dtype === 'int32') checkInt('where', name, value, -(2 ** 31), 2 ** 31 - 1);
  return { handle: native.fill([], DTYPE_CODE[dtype], value, DEVICE_CODE[device]), own: true };
}

/**
 * `cond ? a : b` elementwise, as torch.where: `cond` is a float32 mask (nonzero, NaN included,
 * is true) or an int32 tensor; `a` and `b` are tensors of one dtype (float32 or int32) or
 * numbers; all three broadcast. A selection, not arithmetic: a NaN or an infinity in the branch
 * not taken never reaches the result or the gradients. Gradients flow to `a` where cond is
 * true and to `b` where it is false.
 * @example where(gt(x, 0), x, 0)   // relu;  where(isValid, loss, 0)
 */
export function where(cond: Tensor, a: Tensor<'int32'>, b: Tensor<'int32'> | number): Tensor<'int32'>;
export function where(cond: Tensor, a: number, b: Tensor<'int32'>): Tensor<'int32'>;
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): F32;
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const op = 'where';
  const c = checkTensor(op, 'cond', cond);
  const ta = isTensor(a) ? checkTensor(op, 'a', a) : null, tb = isTensor(b) ? checkTensor(op, 'b', b) : null;
  if (ta === null) checkNumber(op, 'a', a, true);
  if (tb === null) checkNumber(op, 'b', b, true);
  if (ta && tb && ta.dtype !== tb.dtype) fail('E_DTYPE', `${op}: expected \`a\` and \`b\` of one dtype, got ${ta.dtype} and ${tb.dtype}`);
  checkSameDevice(op, { cond: c, ...(ta ? { a: ta } : {}), ...(tb ? { b: tb } : {}) });
  const dtype: DType = ta?.dtype ?? tb?.dtype ?? 'float32';
  if (dtype === 'float32') {
    if (ta === null) checkFloat32Value(op, 'a', a);
    if (tb === null) checkFloat32Value(op, 'b', b);
  }
  const shape = broadcastShapes(op, broadcastShapes(op, c.shape, ta ? ta.shape : []), tb ? tb.shape : []);
  const ha = whereOperand('a', a, dtype, c.device);
  let hb: { handle: ReturnType<Tensor['handle']>; own: boolean };
  try {
    hb = whereOperand('b', b, dtype, c.device);
  } catch (e) {
    if (ha.own) native.release(ha.handle);
    throw e;
  }
  let y: Tensor;
  try {
    y = new Tensor(native.where(c.handle(op), ha.handle, hb.handle), shape, dtype);
  } finally {
    if (ha.own) native.release(ha.handle);
    if (hb.own) native.release(hb.handle);
  }
  if (dtype !== 'float32') return y;
  const shapeA = ta ? ta.shape : null, shapeB = tb ? tb.shape : null;
  // dy masked by cond (a selection again, so a NaN in dy where the other branch was taken stays there).
  return record(op, y as F32, [a, b], (dy, [sc], needs) => [
    needs[0] && shapeA ? sumTo(where(sc, dy, 0), shapeA) : null,
    needs[1] && shapeB ? sumTo(where(sc, 0, dy), shapeB) : null,
  ], [c]);
}

/**
 * Limits x to [min, max] (either may be omitted or null; numbers or tensors that broadcast), as
 * torch.clamp: NaN stays NaN, a NaN bound gives NaN; min > max gives max everywhere. The
 * gradient is 1 where min <= x <= max (bounds included) and 0 outside (a NaN x gets none), as
 * PyTorch; with tensor bounds, min (max) gets it where it was taken, by PyTorch's rules (see
 * clampByTensors). float32 or int32 x (an int32 x takes integer bounds and stays int32).
 * Number bounds run as one native pass (and one for the gradient); tensor bounds as
 * maximum/minimum.
 * @example clamp(x, 0, 1);  clamp(x, undefined, 6)   // relu6 without the lower bound
 */
export function clamp<D extends DType>(x: Tensor<D>, min?: Tensor | number | null, max?: Tensor | number | null): Tensor<D> {
  const op = 'clamp';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const hasMin = min !== undefined && min !== null, hasMax = max !== undefined && max !== null;
  if (!hasMin && !hasMax) fail('E_ARG', 'clamp: expected at least one of `min` and `max`');
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (v === undefined || v === null) continue;
    if (isTensor(v)) {
      const tv = checkTensor(op, name, v);
      if (tv.dtype !== t.dtype) fail('E_DTYPE', `clamp: expected \`${name}\` of x's dtype ${t.dtype}, got ${tv.dtype}`);
    } else if (t.dtype === 'int32') {
      checkInt(op, name, v, -(2 ** 31), 2 ** 31 - 1);
    } else {
      checkFloat32Value(op, name, v);
    }
  }
  if (!isTensor(min) && !isTensor(max)) {
    // Number bounds: one native pass each way (native/cpu/clamp.cc), a missing bound as an infinity.
    const lo = hasMin ? (min as number) : -Infinity, hi = hasMax ? (max as number) : Infinity;
    const y = new Tensor(native.clamp(t.handle(op), lo, hi), t.shape, t.dtype) as Tensor<D>;
    if (t.dtype !== 'float32') return y;
    return record(op, y as F32, [t], (dy, [sx]) => [new Tensor(native.clampBackward(dy.handle(op), sx.handle(op), lo, hi), sx.shape, 'float32')], [t], { min: lo, max: hi }) as Tensor<D>;
  }
  if (t.dtype === 'float32') return clampByTensors(t as F32, hasMin ? min! : null, hasMax ? max! : null) as Tensor<D>;
  // int32 with tensor bounds: (x < min) ? min : x, then (y > max) ? max : y, broadcasting.
  let y: Tensor = t;
  if (hasMin) {
    const below = lt(y, min as Tensor | number);
    y = where(below, min as Tensor | number, y);
    below.dispose();
  }
  if (hasMax) {
    const above = gt(y, max as Tensor | number);
    const next = where(above, max as Tensor | number, y);
    above.dispose();
    if (y !== t) y.dispose();
    y = next;
  }
  return y as Tensor<D>;
}

/**
 * clamp of float32 x by tensor bounds (or a tensor and a number), broadcasting: min(max(x, lo),
 * hi) with NaN from any of the three, and PyTorch's gradients (clamp_backward_min_max): x's where
 * lo <= x <= hi, lo's where x < lo < hi, hi's where x > hi or hi < lo (so where x < lo = hi,
 * nobody's, as in PyTorch).
 */
function clampByTensors(t: F32, lo: Tensor | number | null, hi: Tensor | number | null): F32 {
  const y = noGrad(() => tidy(() => {
    const low = lo === null ? t : maximum(t, lo);
    return hi === null ? low : minimum(low, hi);
  }));
  const bounds = [lo, hi].filter(isTensor) as Tensor[];
  const shapes = [t.shape, ...bounds.map((b) => b.shape)];
  return record('clamp', y, [t, ...bounds], (dy, saved, needs) => tidy(() => {
    const [sx, ...sb] = saved;
    const l = lo === null ? null : isTensor(lo) ? sb[0] : lo;
    const h = hi === null ? null : isTensor(hi) ? sb[sb.length - 1] : hi;
    const both = (p: Tensor | null, q: Tensor | null): Tensor | null => (p && q ? mul(p, q) : p ?? q);
    const grads: (Tensor | null)[] = [];
    if (needs[0]) grads.push(sumTo(where(both(l === null ? null : ge(sx, l), h === null ? null : le(sx, h))!, dy, 0), shapes[0]));
    else grads.push(null);
    let k = 1;
    if (isTensor(lo)) {
      grads.push(needs[k] ? sumTo(where(both(lt(sx, l!), h === null ? null : lt(l!, h))!, dy, 0), shapes[k]) : null);
      k++;
    }
    if (isTensor(hi)) {
      const over = gt(sx, h!);
      grads.push(needs[k] ? sumTo(where(l === null ? over : maximum(over, lt(h!, l)), dy, 0), shapes[k]) : null);
    }
    return grads as F32[];
  }), [t, ...bounds]);
}

export interface VarOptions {
  /** Bessel's correction, as PyTorch 1.13's `unbiased` (true by default: divide by N - 1). */
  unbiased?: boolean;
  /** Divide by N - correction (PyTorch's `correction`; overrides `unbiased`). */
  correction?: number;
  /** Keep the reduced axes with size 1. */
  keepdim?: boolean;
}

function varianceOptions(op: string, options: VarOptions): { correction: number; keepdim: boolean } {
  if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { unbiased, correction, keepdim }, got ${describe(options)}`);
  checkOptions(op, options, ['unbiased', 'correction', 'keepdim']);
  const unbiased = options.unbiased === undefined ? true : checkBool(op, 'unbiased', options.unbiased);
  const correction = options.correction === undefined ? (unbiased ? 1 : 0) : checkNumber(op, 'correction', options.correction);
  if (correction < 0) fail('E_ARG', `${op}: expected \`correction\` >= 0, got ${correction}`);
  const keepdim = options.keepdim === undefined ? false : checkBool(op, 'keepdim', options.keepdim);
  return { correction, keepdim };
}

/**
 * var or std (`takeSqrt`) over `dim` in one native op each way (native/cpu/var_std.cc: the mean,
 * then the squared deviations, in float64), the float32 mean kept for the backward.
 */
function varianceOrStd(op: 'var' | 'std', x: Tensor, dim: Axes | undefined, options: VarOptions, takeSqrt: boolean): F32 {
  const t = checkFloat(op, 'x', x);
  const { correction, keepdim } = varianceOptions(op, options);
  // No axes (or an empty list, as PyTorch 1.13): all of them.
  const given = dim === undefined ? [] : checkReductionAxes(op, 'dim', dim, t.rank);
  const axes = given.length === 0 ? t.shape.map((_, i) => i) : given;
  const shape = keepdim ? t.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !axes.includes(i));
  const [hy, hmean] = native.varStd(t.handle(op), axes, correction, keepdim, takeSqrt);
  const y = new Tensor(hy, shape, 'float32');
  const mean = new Tensor(hmean, shape, 'float32');
  if (!isRecording([t])) {
    mean.dispose();
    return y;
  }
  const out = record(op, y, [t], (dy, [sx, sy, sm]) => {
    const bop = `${op} backward`;
    return [new Tensor(native.varStdBackward(dy.handle(bop), sx.handle(bop), sy.handle(bop), sm.handle(bop), axes, correction, takeSqrt), sx.shape, 'float32')];
  }, [t, y, mean]);
  mean.dispose();   // (record keeps its own handle on it)
  return out;
}

/**
 * Variance over `dim` (an axis, a list, or all when omitted or empty), as torch.var:
 * sum((x - mean)^2) / (N - correction), with correction 1 (`unbiased: true`) by default. As
 * PyTorch: N - correction <= 0 divides by 0 (Infinity, or NaN where every value is the mean), an
 * empty reduction gives NaN, a NaN or infinite value gives NaN. One native op each way
 * (native/cpu/var_std.cc: float64 sums, the same bits for any thread count); its gradient is
 * 2 (x - mean) / (N - correction) times dy. float32.
 * @example variance(x, 1, { keepdim: true });  x.var(undefined, { unbiased: false })
 */
export function variance(x: Tensor, dim?: Axes, options: VarOptions = {}): F32 {
  return varianceOrStd('var', x, dim, options, false);
}

/**
 * Standard deviation over `dim` (all when omitted): the square root of `variance` with the
 * same options (unbiased by default, as torch.std). One native op each way; its gradient is
 * (x - mean) / ((N - correction) std) times dy, and 0 where std is 0 (a constant slice), as
 * PyTorch's.
 * @example std(x, [0, 2, 3])   // per channel
 */
export function std(x: Tensor, dim?: Axes, options: VarOptions = {}): F32 {
  return varianceOrStd('std', x, dim, options, true);
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
  const y = matmulForward(a, b, options);
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
  checkOptions(op, options, MATMUL_OPTIONS);
  let ta = checkFloat(op, 'a', a);
  let tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  const transA = options.transA === undefined ? false : checkBool(op, 'transA', options.transA);
  const transB = options.transB === undefined ? false : checkBool(op, 'transB', options.transB);
  if (ta.rank === 0 || tb.rank === 0) fail('E_SHAPE', `${op}: expected tensors with at least 1 axis, got ${shapeStr(ta.shape)} and ${shapeStr(tb.shape)}`);
  const vectorA = ta.rank === 1, vectorB = tb.rank === 1;
  // Vectors become [1, k] / [k, 1] views (not recorded: matmul records itself).
  if (vectorA) ta = noGrad(() => reshape(ta, [1, ta.size]));
  if (vectorB) tb = noGrad(() => reshape(tb, [tb.size, 1]));
  try {
    const m = ta.shape[ta.rank - (transA && !vectorA ? 1 : 2)], ka = ta.shape[ta.rank - (transA && !vectorA ? 2 : 1)];
    const kb = tb.shape[tb.rank - (transB && !vectorB ? 1 : 2)], n = tb.shape[tb.rank - (transB && !vectorB ? 2 : 1)];
    if (ka !== kb) {
      fail('E_SHAPE', `${op}: expected \`b\` with ${ka} rows${transB ? ' (transposed)' : ''} to match \`a\` ${shapeStr(a.shape)}, got ${shapeStr(b.shape)}`);
    }
    // Two matrices (the usual case) need no batch shape worked out.
    if (a.rank === 2 && b.rank === 2) return new Tensor(native.matmul(ta.handle(op), tb.handle(op), transA, transB), [m, n], 'float32');
    const batch = broadcastShapes(op, ta.shape.slice(0, -2), tb.shape.slice(0, -2));
    const shape = [...batch, ...(vectorA ? [] : [m]), ...(vectorB ? [] : [n])];
    const handle = native.matmul(ta.handle(op), tb.handle(op), transA && !vectorA, transB && !vectorB);
    if (vectorA || vectorB) {
      const full = new Tensor<'float32'>(handle, [...batch, m, n], 'float32');
      try {
        return noGrad(() => reshape(full, shape));
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

const MATMUL_OPTIONS = ['transA', 'transB'] as const;

// ---- layout ----------------------------------------------------------------------------------

/**
 * The same values with another shape (a view: no copy). One size may be -1 (inferred).
 * @example x.reshape([N, -1])
 */
export function reshape<D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const t = checkTensor('reshape', 'x', x) as Tensor<D>;
  checkArrayLength('reshape', 'shape', shape, MAX_RANK, 'E_SHAPE');
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) fail('E_SHAPE', `reshape: only one size may be -1, got ${shapeStr(shape)}`);
  const known = checkShape('reshape', 'shape', shape.map((d) => (d === -1 ? 1 : d)));
  const knownSize = sizeOf(known);
  const out = shape.map((d) => (d === -1 ? (knownSize === 0 ? 0 : t.size / knownSize) : d));
  if (!out.every(Number.isInteger) || sizeOf(out) !== t.size) {
    fail('E_SHAPE', `reshape: cannot view shape ${shapeStr(t.shape)} (${t.size} elements) as ${shapeStr(shape)}`);
  }
  const y = new Tensor(native.reshape(t.handle('reshape'), out), out, t.dtype);
  y._viewOf(t);
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
  // A 0-D tensor takes axis 0 or -1 and stays as it is, as in PyTorch.
  const a = checkAxis('squeeze', 'dim', dim, Math.max(1, t.rank));
  if (t.rank === 0) return reshape(t, []);
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
  return permuteReversed('permute', t, axes, 0);
}

/**
 * @internal x's axes in the order `axes` (checked), y's axis i read backwards where bit i of
 * `reversed` is set: permute, flip and rot90 in one native pass. The gradient undoes both.
 */
export function permuteReversed<D extends DType>(op: string, x: Tensor<D>, axes: readonly number[], reversed: number): Tensor<D> {
  const y = new Tensor(native.permute(x.handle(op), axes, reversed), axes.map((a) => x.shape[a]), x.dtype);
  const inverse = axes.map((_, i) => axes.indexOf(i));
  let back = 0;  // dx's axis a is dy's axis inverse[a], read backwards where that one was
  inverse.forEach((d, a) => { if ((reversed >> d) & 1) back |= 1 << a; });
  return record(op, y, [x], (dy) => [permuteReversed(op, dy, inverse, back)], [], { perm: axes, reversed });
}

/** Swaps two axes (a copy); by default the last two. @example w.transpose()  // [out, in] -> [in, out] */
export function transpose<D extends DType>(x: Tensor<D>, dim0 = -2, dim1 = -1): Tensor<D> {
  const t = checkTensor('transpose', 'x', x) as Tensor<D>;
  if (t.rank < 2) return reshape(t, t.shape);
  const a = checkAxis('transpose', 'dim0', dim0, t.rank), b = checkAxis('transpose', 'dim1', dim1, t.rank);
  const perm = t.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(t, perm);
}

// Whether two shapes are equal, but for axis `except` (if given).
/** @internal Whether two shapes are equal (but for axis `except`). */
export function sameShape(x: readonly number[], y: readonly number[], except = -1): boolean {
  if (x.length !== y.length) return false;
  for (let k = 0; k < x.length; k++) if (k !== except && x[k] !== y[k]) return false;
  return true;
}

// The check of entry i of a list of tensors, its name (`tensors[i]`) made only for an error.
function checkEntry(op: string): (t: unknown, i: number) => Tensor {
  return (t, i) => (isTensor(t) && !t.isDisposed ? t : checkTensor(op, `tensors[${i}]`, t));
}

/** Joins tensors along an existing axis. @example concat([a, b], 1)  // channels */
export function concat<D extends DType>(tensors: readonly Tensor<D>[], axis = 0): Tensor<D> {
  if (!Array.isArray(tensors) || tensors.length === 0) fail('E_ARG', `concat: expected a non-empty array of tensors, got ${describe(tensors)}`);
  // collectChecked, not map: a sparse `new Array(2 ** 31 - 1)` was walked index by index for minutes.
  // (Names of entries are made only for an error: a string and an object a tensor were most of
  // joining 64 small tensors.)
  const ts = collectChecked('concat', 'tensors', tensors, checkEntry('concat')) as Tensor<D>[];
  const first = ts[0];
  const a = checkAxis('concat', 'axis', axis, first.rank);
  const shape = first.shape.slice();
  shape[a] = 0;
  const sizes: number[] = [], starts: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.dtype !== first.dtype) fail('E_DTYPE', `concat: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    if (t.device !== first.device) fail('E_DEVICE', `concat: \`tensors[${i}]\` is on ${t.device} but \`tensors[0]\` is on ${first.device}`);
    if (!sameShape(t.shape, first.shape, a)) {
      fail('E_SHAPE', `concat: tensors[${i}] has shape ${shapeStr(t.shape)}, which does not match ${shapeStr(first.shape)} outside axis ${a}`);
    }
    starts.push(shape[a]);
    sizes.push(t.shape[a]);
    shape[a] += t.shape[a];
  }
  const y = new Tensor(native.concat(handlesOf('concat', ts), a), shape, first.dtype);
  return record('concat', y, ts, (dy, _s, needs) => sizes.map((n, i) => (needs[i] ? narrow(dy, a, starts[i], n) : null)), [], { axis: a });
}

/** PyTorch's name for `concat` (`torch.cat`). @example cat([a, b], 1) */
export const cat = concat;

/** The tensors' native handles, for native.concat. */
function handlesOf(op: string, ts: readonly Tensor[]): Float64Array {
  const handles = new Float64Array(ts.length);
  for (let i = 0; i < ts.length; i++) handles[i] = ts[i].handle(op);
  return handles;
}

/**
 * Joins tensors of one shape along a new axis `dim` (as torch.stack). Differentiable.
 * @example stack([a, b], 0)   // two [3] tensors -> [2, 3]
 */
export function stack<D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<D> {
  const op = 'stack';
  if (!Array.isArray(tensors) || tensors.length === 0) fail('E_ARG', `stack: expected a non-empty array of tensors, got ${describe(tensors)}`);
  const ts = collectChecked(op, 'tensors', tensors, checkEntry(op)) as Tensor<D>[];
  const first = ts[0];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (!sameShape(t.shape, first.shape)) {
      fail('E_SHAPE', `stack: tensors[${i}] has shape ${shapeStr(t.shape)}, expected tensors[0]'s ${shapeStr(first.shape)}`);
    }
    if (t.dtype !== first.dtype) fail('E_DTYPE', `stack: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    if (t.device !== first.device) fail('E_DEVICE', `stack: \`tensors[${i}]\` is on ${t.device} but \`tensors[0]\` is on ${first.device}`);
  }
  const a = checkAxis(op, 'dim', dim, first.rank + 1);
  if (a < first.rank) {
    // Joined along axis a, tensors of one shape lie in memory exactly as stacked before axis a,
    // so the stack is the concatenation's memory seen in the stacked shape: one native join and
    // a native view of it, one Tensor (through concat and reshape, with their checks again and
    // a Tensor between, 64 [1, 28, 28] samples took ~19 us; an unsqueezed view per tensor cost
    // ~3 us each before that).
    const shape = [...first.shape.slice(0, a), ts.length, ...first.shape.slice(a)];
    const joined = native.concat(handlesOf(op, ts), a);
    let view: Handle;
    try {
      view = native.reshape(joined, shape);
    } finally {
      native.release(joined);
    }
    const y = new Tensor(view, shape, first.dtype);
    const count = ts.length, itemShape = first.shape;
    return record(op, y, ts, (dy, _s, needs) =>
      Array.from({ length: count }, (_, i) => (needs[i] ? reshape(narrow(dy, a, i, 1), itemShape) : null)));
  }
  const views = ts.map((t) => unsqueeze(t, a));
  try {
    return concat(views, a);
  } finally {
    for (const v of views) v.dispose();
  }
}

/**
 * Splits x along `dim` into pieces (copies), as torch.split: pieces of `splitSize` (the last
 * one smaller when the size does not divide), or of the listed sizes, which must add up to the
 * axis. Differentiable. @example const [train, test] = split(x, [800, 200])
 */
export function split<D extends DType>(x: Tensor<D>, splitSizeOrSections: number | readonly number[], dim = 0): Tensor<D>[] {
  const op = 'split';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const a = checkAxis(op, 'dim', dim, t.rank);
  const n = t.shape[a];
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    const size = checkInt(op, 'splitSize', splitSizeOrSections, n === 0 ? 0 : 1);
    sizes = [];
    if (size === 0 || n === 0) sizes.push(0);
    else for (let start = 0; start < n; start += size) sizes.push(Math.min(size, n - start));
  } else if (Array.isArray(splitSizeOrSections)) {
    sizes = collectChecked(op, 'sections', splitSizeOrSections, (v, i) => checkInt(op, `sections[${i}]`, v, 0));
    const total = sizes.reduce((p, q) => p + q, 0);
    if (total !== n) fail('E_ARG', `split: the sections ${describe(splitSizeOrSections)} add up to ${total}, but axis ${a} has size ${n}`);
  } else {
    return fail('E_ARG', `split: expected \`splitSizeOrSections\` to be a size or an array of sizes, got ${describe(splitSizeOrSections)}`);
  }
  return splitSizes(t, a, sizes);
}

/**
 * @internal x (checked) cut along axis a into pieces of `sizes` (adding up to its size there),
 * without that axis with `dropAxis` (sizes all 1). Untaped, one native op for all the pieces
 * (unbind of 512 rows by a narrow and a reshape each ran at 0.09x PyTorch's speed); taped, a
 * narrow each, whose gradients the tape already has.
 */
export function splitSizes<D extends DType>(t: Tensor<D>, a: number, sizes: readonly number[], dropAxis = false): Tensor<D>[] {
  const shapeOf = (size: number) => (dropAxis ? t.shape.filter((_, k) => k !== a) : t.shape.map((d, k) => (k === a ? size : d)));
  if (sizes.length > 1 && !isRecording([t])) {
    const handles = native.split(t.handle('split'), a, sizes, dropAxis);
    return handles.map((h, i) => new Tensor<D>(h, shapeOf(sizes[i]), t.dtype));
  }
  let start = 0;
  return tidy(() => sizes.map((size) => {
    const piece = narrow(t, a, start, size);
    start += size;
    return dropAxis ? reshape(piece, shapeOf(size)) : piece;
  }));
}

/**
 * Splits x along `dim` into `chunks` pieces of ceil(size / chunks) (copies), as torch.chunk:
 * the last may be smaller, and there may be fewer than `chunks`. Differentiable.
 * @example const [q, k, v] = chunk(qkv, 3, -1)
 */
export function chunk<D extends DType>(x: Tensor<D>, chunks: number, dim = 0): Tensor<D>[] {
  const t = checkTensor('chunk', 'x', x) as Tensor<D>;
  checkInt('chunk', 'chunks', chunks, 1);
  const a = checkAxis('chunk', 'dim', dim, t.rank);
  // An empty axis gives `chunks` empty pieces, as PyTorch (split by 0 would give one).
  if (t.shape[a] === 0) return splitSizes(t, a, Array.from({ length: chunks }, () => 0));
  return split(t, Math.ceil(t.shape[a] / chunks), a);
}

/**
 * x broadcast to `shape` (as torch.expand, but a copy): axes of size 1 grow, new leading axes
 * may be added, -1 keeps a size. Differentiable (the gradient is summed back).
 * @example bias.expand([N, C])   // bias [C]
 */
export function expand<D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const op = 'expand';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (!Array.isArray(shape) || shape.length < t.rank || shape.length > MAX_RANK) fail('E_SHAPE', `expand: expected a shape of ${t.rank} to ${MAX_RANK} axes, got ${describe(shape)}`);
  const lead = shape.length - t.rank;
  const out = shape.map((d, i) => {
    const own = i < lead ? null : t.shape[i - lead];
    if (d === -1) {
      if (own === null) fail('E_SHAPE', `expand: -1 is not allowed for the new leading axis ${i} in ${shapeStr(shape)}`);
      return own;
    }
    checkInt(op, `shape[${i}]`, d, 0);
    if (own !== null && own !== 1 && own !== d) fail('E_SHAPE', `expand: cannot expand ${shapeStr(t.shape)} to ${shapeStr(shape)}: axis ${i} has size ${own}, not 1`);
    return d;
  });
  const y = new Tensor(native.expand(t.handle(op), out), out, t.dtype);
  if (t.dtype !== 'float32') return y;
  const shape0 = t.shape;
  return record(op, y as unknown as F32, [t], (dy) => [sumTo(dy, shape0)], [], { shape: out }) as unknown as Tensor<D>;
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
  }, [], { begin: b, size: s });
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
 * y = x with src added at the entries `index` (int32, 1-D) along `dim`, as torch.index_add:
 * y[..., index[k], ...] += src[..., k, ...]; src is x's shape with `index`'s length along `dim`.
 * Repeated indices add up, in index order (the same bits for any thread count). A copy: x is
 * left as it was. @example indexAdd(counts, 0, labels, ones)
 */
export function indexAdd(x: Tensor, dim: number, index: Tensor<'int32'>, src: Tensor): F32 {
  const t = checkFloat('indexAdd', 'x', x);
  const i = checkTensor('indexAdd', 'index', index);
  checkDtype('indexAdd', 'index', i, 'int32');
  const s = checkFloat('indexAdd', 'src', src);
  checkSameDevice('indexAdd', { x: t, index: i, src: s });
  const a = checkAxis('indexAdd', 'dim', dim, t.rank);
  if (i.rank !== 1) fail('E_SHAPE', `indexAdd: expected \`index\` of shape [K], got ${shapeStr(i.shape)}`);
  const expected = t.shape.map((d, k) => (k === a ? i.size : d));
  if (!sameShape(s.shape, expected)) fail('E_SHAPE', `indexAdd: expected \`src\` of shape ${shapeStr(expected)}, got ${shapeStr(s.shape)}`);
  const y = new Tensor<'float32'>(native.indexAdd(t.handle('indexAdd'), a, i.handle('indexAdd'), s.handle('indexAdd')), t.shape, 'float32');
  // dx = dy; dsrc = dy at the picked entries.
  return record('indexAdd', y, [t, i, s], (dy, [si]) => [dy, null, indexSelect(dy, a, si as Tensor<'int32'>)], [i]);
}

/**
 * y = x with src added where `index` points along `dim`, as torch.scatter_add (for dim 0 of a
 * 2-D tensor: y[index[i][j]][j] += src[i][j]). `index` (int32) has x's rank, is no larger than
 * src anywhere and than x outside `dim`; src's entries beyond index's shape are not used.
 * Repeated indices add up in index order (the same bits for any thread count). A copy.
 * @example scatterAdd(zeros([numClasses]), 0, labels, ones([n]))   // a histogram of labels
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor<'int32'>, src: Tensor): F32 {
  const t = checkFloat('scatterAdd', 'x', x);
  const i = checkTensor('scatterAdd', 'index', index);
  checkDtype('scatterAdd', 'index', i, 'int32');
  const s = checkFloat('scatterAdd', 'src', src);
  checkSameDevice('scatterAdd', { x: t, index: i, src: s });
  const a = checkAxis('scatterAdd', 'dim', dim, t.rank);
  if (i.rank !== t.rank || s.rank !== t.rank || i.shape.some((d, k) => d > s.shape[k] || (k !== a && d > t.shape[k]))) {
    fail('E_SHAPE', `scatterAdd: expected \`index\` of rank ${t.rank} no larger than \`src\` ${shapeStr(s.shape)} and than \`x\` ${shapeStr(t.shape)} outside axis ${a}, got ${shapeStr(i.shape)}`);
  }
  // Only the part of src that index covers is used (so its gradient is dy at index, 0 beyond).
  return tidy(() => {
    const part = sameShape(s.shape, i.shape) ? s : slice(s, s.shape.map(() => 0), i.shape);
    const y = new Tensor<'float32'>(native.scatterAdd(t.handle('scatterAdd'), a, i.handle('scatterAdd'), part.handle('scatterAdd')), t.shape, 'float32');
    return record('scatterAdd', y, [t, i, part], (dy, [si]) => [dy, null, gather(dy, a, si as Tensor<'int32'>)], [i]);
  });
}

/**
 * Running sums along `dim`, as torch.cumsum: y[..., k] = x[..., 0] + ... + x[..., k]. float32
 * sums in float64, rounded once per entry (the same bits on every device and thread count);
 * int32 ones in int64 and stay int32: a running sum outside int32 is an E_RANGE error at the next
 * wait. @example cumsum(tensor([1, 2, 3]), 0)   // [1, 3, 6]
 */
export function cumsum<D extends DType>(x: Tensor<D>, dim: number): Tensor<D> {
  const t = checkTensor('cumsum', 'x', x) as Tensor<D>;
  if (t.rank === 0) {  // a scalar is its own running sum (dim 0 or -1, as PyTorch)
    checkAxis('cumsum', 'dim', dim, 1);
    return reshape(cumsum(reshape(t, [1]), 0), []);
  }
  const a = checkAxis('cumsum', 'dim', dim, t.rank);
  const y = new Tensor(native.cumsum(t.handle('cumsum'), a, false), t.shape, t.dtype);
  if (t.dtype !== 'float32') return y;
  // dx[k] = dy[k] + dy[k + 1] + ...: the running sum of dy from the end.
  return record('cumsum', y as F32, [t], (dy) => [new Tensor(native.cumsum(dy.handle('cumsum backward'), a, true), dy.shape, 'float32')]) as Tensor<D>;
}

/**
 * Running products along `dim`, as torch.cumprod: y[..., k] = x[..., 0] * ... * x[..., k].
 * float32, multiplied in float64 and rounded once per entry (the same bits on every device and
 * thread count). Its gradient is PyTorch's, zeros included.
 * @example cumprod(tensor([1, 2, 3]), 0)   // [1, 2, 6]
 */
export function cumprod(x: Tensor, dim: number): F32 {
  const op = 'cumprod';
  const t = checkFloat(op, 'x', x);
  if (t.rank === 0) {  // a scalar is its own running product (dim 0 or -1, as PyTorch)
    checkAxis(op, 'dim', dim, 1);
    return tidy(() => reshape(cumprod(reshape(t, [1]), 0), []));
  }
  const a = checkAxis(op, 'dim', dim, t.rank);
  const y = new Tensor<'float32'>(native.cumprod(t.handle(op), a), t.shape, 'float32');
  return record(op, y, [t], (dy, [sx, sy]) => [cumprodBackward(dy, sx as F32, sy as F32, a)], [t, y]);
}

/**
 * The product over `dim` (of all of x when omitted), as torch.prod: float32, multiplied in
 * float64 in a fixed order (native/cpu/prod.cc: the same bits on every device and thread count);
 * the product of nothing is 1. Its gradient is PyTorch's, exact with zeros (the product of the
 * others): cumprod's backward with dy at the last running product.
 * @example prod(tensor([[1, 2], [3, 4]]), 1)   // [2, 12]
 */
export function prod(x: Tensor, dim?: number, keepdim = false): F32 {
  const op = 'prod';
  const t = checkFloat(op, 'x', x);
  checkBool(op, 'keepdim', keepdim);
  if (dim === undefined) {
    return tidy(() => {
      const y = prod(reshape(t, [t.size]), 0);
      return keepdim ? reshape(y, t.shape.map(() => 1)) : y;
    });
  }
  const a = checkAxis(op, 'dim', dim, Math.max(1, t.rank));
  if (t.rank === 0) return tidy(() => cumprod(t, a));
  const n = t.shape[a];
  const kept = t.shape.map((d, i) => (i === a ? 1 : d));
  const y = new Tensor<'float32'>(native.prod(t.handle(op), a), kept, 'float32');
  const out = record(op, y, [t], (dy, [sx]) => {
    // d prod / dx = d (the last running product) / dx: cumprod's backward with dy there alone.
    if (n <= 1) return [n === 0 ? zerosOf(sx) : dy];
    const before = zerosOf(sx, n - 1, a);
    const running = new Tensor<'float32'>(native.cumprod(sx.handle(`${op} backward`), a), sx.shape, 'float32');
    return [cumprodBackward(concat([before, dy], a), sx as F32, running, a)];
  }, [t]);
  return keepdim ? out : tidy(() => reshape(out, t.shape.filter((_, i) => i !== a)));
}

/**
 * The running maximum along `dim` and the position it came from, as torch.cummax:
 * `{ values, indices }` of x's shape (int32 indices). An equal value moves the position on; a
 * NaN takes over, and each later NaN moves it again. float32 or int32; the gradient of `values`
 * goes to those positions. @example cummax(tensor([1, 3, 2, 3]), 0)   // values [1, 3, 3, 3], indices [0, 1, 1, 3]
 */
export function cummax<D extends DType>(x: Tensor<D>, dim: number): SortResult<D> {
  return cumExtremum('cummax', x, dim, true);
}

/** The running minimum along `dim` and its position, as torch.cummin (cummax's rules, reversed). */
export function cummin<D extends DType>(x: Tensor<D>, dim: number): SortResult<D> {
  return cumExtremum('cummin', x, dim, false);
}

function cumExtremum<D extends DType>(op: string, x: Tensor<D>, dim: number, largest: boolean): SortResult<D> {
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  if (t.rank === 0) {  // a scalar is its own running extreme, at 0 (dim 0 or -1, as PyTorch)
    checkAxis(op, 'dim', dim, 1);
    return tidy(() => {
      const r = cumExtremum(op, reshape(t, [1]), 0, largest);
      return { values: reshape(r.values, []), indices: reshape(r.indices, []) };
    });
  }
  const a = checkAxis(op, 'dim', dim, t.rank);
  const [vh, ih] = native.cumExtremum(t.handle(op), a, largest);
  const values = new Tensor<D>(vh, t.shape, t.dtype), indices = new Tensor<'int32'>(ih, t.shape, 'int32');
  if (t.dtype !== 'float32') return { values, indices };
  // dx: dy added up at the positions each value came from.
  const y = record(op, values as unknown as F32, [t], (dy, [si]) => [scatterAdd(zerosOf(dy), a, si as Tensor<'int32'>, dy)], [indices]);
  return { values: y as unknown as Tensor<D>, indices };
}

/** Zeros of t's shape (with `length` along `axis` instead, when given) on t's device. */
function zerosOf(t: Tensor, length?: number, axis?: number): F32 {
  const shape = t.shape.map((d, i) => (i === axis ? length! : d));
  return new Tensor<'float32'>(native.fill(shape, DTYPE_CODE.float32, 0, DEVICE_CODE[t.device]), shape, 'float32');
}

// dx[k] = sum over j >= k of dy[j] * y[j] / x[k] where the line has no zero before k (PyTorch's
// formula, dividing by x). With a first zero at z: dx[k] for k < z as above (y[j] = 0 from z on);
// dx[z] = sum over j >= z of dy[j] * (the running product with x[z] taken as 1); 0 after z.
function cumprodBackward(dy: F32, x: F32, y: F32, a: number): F32 {
  const reverseCumsum = (v: F32) => new Tensor<'float32'>(native.cumsum(v.handle('cumprod backward'), a, true), v.shape, 'float32');
  return tidy(() => {
    const isZero = eq(x, 0);
    const zerosSoFar = cumsum(isZero, a);
    const before = eq(zerosSoFar, 0);   // no zero at or before this position
    const plain = div(reverseCumsum(mul(dy, y)), where(before, x, 1));
    const firstZero = mul(isZero, eq(zerosSoFar, 1));
    const withoutIt = new Tensor<'float32'>(native.cumprod(where(firstZero, 1, x).handle('cumprod backward'), a), x.shape, 'float32');
    return where(before, plain, where(firstZero, reverseCumsum(mul(dy, withoutIt)), 0));
  });
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
