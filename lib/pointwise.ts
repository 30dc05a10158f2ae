/**
 * Pointwise maths and NaN-aware reductions with PyTorch's names: `logaddexp`, `logit`, `xlogy`,
 * `hypot`, `lerp`, `addcmul`, `nanToNum`, `nansum`, `amax`, `aminmax`... logaddexp(2), hypot and
 * copysign are native binary ops (lib/ops.ts's `binary`, one pass on either device), addcmul,
 * addcdiv and lerp one native op with their gradients recorded here, nansum a native reduction
 * (lib/ops.ts's, reading each NaN as 0); the rest are
 * composed from the tensor ops (where, maximum, sum...), so they run on any device and their
 * gradients are the tape's through their parts. Binary ones broadcast and take a number on either
 * side (rounded to float32, as the arithmetic does); float32 unless said otherwise.
 */
import { noGrad, record, sumTo } from './autograd';
import { isfinite } from './composite';
import { full } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import {
  abs, add, binary, cast, clone, cos, div, eq, gt, log, lt, max, maximum, min, mul, nansumFloat, ne, neg, recordExtremum, sin, square, sub, sum, where,
} from './ops';
import { native, TernaryOp } from './native';
import { Tensor, type DType } from './tensor';
import {
  broadcastShapes, checkArrayLength, checkAxis, checkBool, checkFloat, checkNumber, checkOptions, checkSameDevice, checkTensor, describe, FLOAT32_MAX, isTensor, MAX_RANK, shapeStr,
} from './validate';

type F32 = Tensor<'float32'>;
type Axes = number | readonly number[];

/**
 * The operands of a pointwise op: float32 tensors or numbers (`numbers` names those that may
 * be numbers), at least one tensor, all on one device, shapes that broadcast. Returns the
 * first tensor (whose device the numbers take).
 */
function checkOperands(op: string, operands: Record<string, unknown>, numbers: readonly string[]): Tensor {
  const tensors: Record<string, Tensor> = {};
  let shape: number[] = [];
  let first: Tensor | null = null;
  for (const name of Object.keys(operands)) {
    const v = operands[name];
    if (numbers.includes(name) && typeof v === 'number') continue;
    if (numbers.includes(name) && !isTensor(v)) fail('E_ARG', `${op}: expected \`${name}\` to be a Tensor or a number, got ${describe(v)}`);
    const t = checkFloat(op, name, v);
    tensors[name] = t;
    shape = broadcastShapes(op, shape, t.shape);
    first ??= t;
  }
  if (first === null) fail('E_ARG', `${op}: expected at least one tensor, got ${Object.values(operands).map((v) => describe(v)).join(' and ')}`);
  checkSameDevice(op, tensors);
  return first;
}

/** A number operand as a 0-D float32 tensor on `like`'s device (it broadcasts); a tensor as it is. */
function asTensor(v: Tensor | number, like: Tensor): F32 {
  return (typeof v === 'number' ? full([], v, { device: like.device }) : v) as F32;
}

/** @internal logaddexp of two float32 tensors, unchecked (logcumsumexp's scan). */
export function logAddExpPair(a: F32, b: F32): F32 {
  return binary('logaddexp', a, b);
}

/**
 * log(exp(a) + exp(b)) elementwise, computed stably (no overflow, no underflow to -Infinity),
 * as torch.logaddexp; broadcasting. Its gradient to a is sigmoid(a - b).
 * @example logaddexp(tensor([-1000, 1000]), tensor([-1000, 0]))   // [-999.3068, 1000]
 */
export function logaddexp(a: Tensor | number, b: Tensor | number): F32 {
  checkOperands('logaddexp', { a, b }, ['a', 'b']);
  return binary('logaddexp', a, b);
}

/** log2(2^a + 2^b) elementwise, computed stably, as torch.logaddexp2. @example logaddexp2(tensor([1]), tensor([1]))   // [2] */
export function logaddexp2(a: Tensor | number, b: Tensor | number): F32 {
  checkOperands('logaddexp2', { a, b }, ['a', 'b']);
  return binary('logaddexp2', a, b);
}

/**
 * log(x / (1 - x)) elementwise, as torch.logit: NaN outside [0, 1], ±Infinity at 1 and 0. With
 * `eps` (>= 0), x is first clamped to [eps, 1 - eps] (and its gradient is 0 outside); a negative
 * eps, null or undefined clamps nothing.
 * @example logit(tensor([0.5, 0.75]))   // [0, 1.0986]
 */
export function logit(x: Tensor, eps?: number | null): F32 {
  const op = 'logit';
  const t = checkFloat(op, 'x', x);
  const e = eps === undefined || eps === null ? -1 : checkNumber(op, 'eps', eps);
  // PyTorch's clamp is x < lo ? lo : x > hi ? hi : x, which differs from clamp() when eps > 0.5.
  const lo = Math.fround(e), hi = Math.fround(1 - lo);
  const y = noGrad(() => tidy(() => {
    const z = e < 0 ? t : where(lt(t, lo), lo, where(gt(t, hi), hi, t));
    return log(div(z, sub(1, z)));
  }));
  // PyTorch's gradient, dy / (x (1 - x)): NaN where x is outside [0, 1] (where y is NaN; the
  // composition's own gradient was finite there), 0 outside [eps, 1 - eps] with eps.
  return record(op, y, [t], (dy, [sx]) => [tidy(() => {
    const g = div(dy, mul(sx, sub(1, sx)));
    return where(maximum(lt(sx, e < 0 ? 0 : lo), gt(sx, e < 0 ? 1 : hi)), e < 0 ? NaN : 0, g);
  })], [t]);
}

/**
 * x * log(y) elementwise, but 0 where x is 0 (even where y is 0 or Infinity), and NaN where y is
 * NaN, as torch.xlogy; broadcasting, a number on either side. PyTorch's gradients: log(y) to x
 * (0 where x is 0 and y <= 0), x / y to y.
 * @example xlogy(tensor([0, 2]), tensor([0, Math.E]))   // [0, 2]
 */
export function xlogy(x: Tensor | number, y: Tensor | number): F32 {
  checkOperands('xlogy', { x, y }, ['x', 'y']);
  return binary('xlogy', x, y);
}

/**
 * sqrt(a^2 + b^2) elementwise, as torch.hypot, without overflow or underflow in the squares
 * (float64 inside); Infinity where either is infinite, even beside a NaN (as C's hypot). Its
 * gradients are a / y and b / y, as PyTorch's (NaN at the origin).
 * @example hypot(tensor([3, 1e30]), tensor([4, 1e30]))   // [5, 1.4142e30]
 */
export function hypot(a: Tensor | number, b: Tensor | number): F32 {
  checkOperands('hypot', { a, b }, ['a', 'b']);
  return binary('hypot', a, b);
}

/** The native addcmul, addcdiv or lerp of float32 tensors already checked; c null for lerpScalar. */
function addcLerp(op: keyof typeof TernaryOp, a: F32, b: F32, c: F32 | null, value: number): F32 {
  const name = op === 'lerpScalar' ? 'lerp' : op;
  let shape = broadcastShapes(name, a.shape, b.shape);
  if (c) shape = broadcastShapes(name, shape, c.shape);
  return new Tensor(native.addcLerp(TernaryOp[op], a.handle(name), b.handle(name), c ? c.handle(name) : null, value), shape, 'float32');
}

/**
 * start + weight * (end - start) elementwise, as torch.lerp, computed as PyTorch does from the
 * nearer end (end - (end - start) * (1 - weight) for |weight| >= 0.5); `weight` a number or a
 * tensor; all broadcast. One native pass. @example lerp(zeros([3]), ones([3]), 0.25)   // [0.25, 0.25, 0.25]
 */
export function lerp(start: Tensor, end: Tensor, weight: Tensor | number): F32 {
  const op = 'lerp';
  checkOperands(op, { start, end, weight }, ['weight']);
  if (typeof weight === 'number') checkNumber(op, 'weight', weight, true);
  const s = start as F32, e = end as F32;
  if (typeof weight === 'number') {
    const w = Math.fround(weight);
    const y = addcLerp('lerpScalar', s, e, null, w);
    return record(op, y, [s, e], (dy, _saved, needs) => [needs[0] ? sumTo(mul(dy, 1 - w), s.shape) : null, needs[1] ? sumTo(mul(dy, w), e.shape) : null]);
  }
  const w = weight as F32;
  const y = addcLerp(op, s, e, w, 0);
  // d/dstart = 1 - w, d/dend = w, d/dweight = end - start
  return record(op, y, [s, e, w], (dy, [ss, se, sw], needs) => [
    needs[0] ? sumTo(mul(dy, sub(1, sw)), s.shape) : null,
    needs[1] ? sumTo(mul(dy, sw), e.shape) : null,
    needs[2] ? sumTo(mul(dy, sub(se, ss)), w.shape) : null,
  ], [s, e, w]);
}

export interface AddcOptions {
  /** The factor of the product (or quotient), default 1. */
  value?: number;
}

/**
 * input + value * t1 * t2 elementwise, as torch.addcmul; all three broadcast. One native pass.
 * @example addcmul(x, a, b, { value: 0.5 })
 */
export function addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, options: AddcOptions = {}): F32 {
  return addc('addcmul', input, tensor1, tensor2, options);
}

/**
 * input + value * t1 / t2 elementwise, as torch.addcdiv (Adam's update is one); all three
 * broadcast. One native pass. @example addcdiv(param, m, sqrt(v).add(1e-8), { value: -lr })
 */
export function addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, options: AddcOptions = {}): F32 {
  return addc('addcdiv', input, tensor1, tensor2, options);
}

function addc(op: 'addcmul' | 'addcdiv', input: Tensor, t1: Tensor, t2: Tensor, options: AddcOptions): F32 {
  checkOperands(op, { input, tensor1: t1, tensor2: t2 }, []);
  const o = checkOptions<AddcOptions>(op, options, ['value']);
  const value = Math.fround(checkNumber(op, 'value', o.value ?? 1, true));
  const [a, b, c] = [input, t1, t2] as F32[];
  // (value * t1) * t2 or / t2, PyTorch's order of the float32 steps.
  const y = addcLerp(op, a, b, c, value);
  return record(op, y, [a, b, c], (dy, [sb, sc], needs) => {
    const scaled = mul(dy, value);
    const g1 = op === 'addcmul' ? mul(scaled, sc) : div(scaled, sc);
    const g2 = op === 'addcmul' ? mul(scaled, sb) : neg(div(mul(scaled, sb), square(sc)));   // d(b / c)/dc = -b / c^2
    return [needs[0] ? sumTo(dy, a.shape) : null, needs[1] ? sumTo(g1, b.shape) : null, needs[2] ? sumTo(g2, c.shape) : null];
  }, [b, c]);
}

export { frac } from './ops';

/**
 * The normalised sinc, sin(pi x) / (pi x) elementwise, 1 at 0 (where its gradient is 0), as
 * torch.sinc. @example sinc(tensor([0, 0.5]))   // [1, 0.6366]
 */
export function sinc(x: Tensor): F32 {
  const t = checkFloat('sinc', 'x', x);
  const y = noGrad(() => tidy(() => {
    const zero = eq(t, 0);
    const px = mul(where(zero, 1, t), Math.PI);
    return where(zero, 1, div(sin(px), px));
  }));
  // d/dx = pi (u cos u - sin u) / u^2 with u = pi x, whose numerator cancels near 0 (in float32
  // it was off by half its size and of the wrong sign at |x| ~ 1e-4): there, for |u| < 1/4, its
  // series pi (-u/3 + u^3/30 - u^5/840), exact to float32 (the next term is 2e-8 of the first).
  return record('sinc', y, [t], (dy, [sx]) => [tidy(() => {
    const u = mul(sx, Math.PI);
    const small = lt(abs(u), 0.25);
    const v = where(small, 1, u);
    const direct = div(sub(mul(cos(v), v), sin(v)), square(v));
    const u2 = square(u);
    const series = mul(u, add(mul(u2, add(mul(u2, -1 / 840), 1 / 30)), -1 / 3));
    return mul(dy, mul(where(small, series, direct), Math.PI));
  })], [t]);
}

/** Degrees to radians elementwise, as torch.deg2rad. @example deg2rad(tensor([180]))   // [3.1416] */
export function deg2rad(x: Tensor): F32 {
  return mul(checkFloat('deg2rad', 'x', x), Math.PI / 180);
}

/** Radians to degrees elementwise, as torch.rad2deg. @example rad2deg(tensor([Math.PI]))   // [180] */
export function rad2deg(x: Tensor): F32 {
  return mul(checkFloat('rad2deg', 'x', x), 180 / Math.PI);
}

/**
 * The Heaviside step, as torch.heaviside: 0 where x < 0, 1 where x > 0, `values` (a tensor that
 * broadcasts, or a number) where x is 0; 0 where x is NaN. Its gradient goes to `values` where x
 * is 0 (PyTorch has none).
 * @example heaviside(tensor([-2, 0, 3]), 0.5)   // [0, 0.5, 1]
 */
export function heaviside(x: Tensor, values: Tensor | number): F32 {
  const like = checkOperands('heaviside', { x, values }, ['values']);
  return tidy(() => where(eq(x, 0), asTensor(values, like), gt(x, 0)));
}

/**
 * |a| with the sign of b elementwise, as torch.copysign: b's sign bit, so -0 counts as negative
 * (and a NaN by its sign bit, as PyTorch); b may be a number. The gradient goes to a (±1, 0 at
 * a = 0), zeros to b, as PyTorch's.
 * @example copysign(tensor([1, -2, 3]), tensor([-0, 1, -1]))   // [-1, 2, -3]
 */
export function copysign(a: Tensor, b: Tensor | number): F32 {
  checkOperands('copysign', { a, b }, ['b']);
  return binary('copysign', a, b);
}

/**
 * 1 where x's sign bit is set (x < 0, -0, a NaN with its sign bit), else 0, as torch.signbit: a
 * float32 mask, as the comparisons (PyTorch gives bool). float32 or int32.
 * @example signbit(tensor([-1, -0, 0, 2]))   // [1, 1, 0, 0]
 */
export function signbit(x: Tensor): F32 {
  const t = checkTensor('signbit', 'x', x);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `signbit: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  // copysign(1, x) < 0 reads the sign bit, -0's and a NaN's included
  return t.dtype === 'int32' ? lt(t, 0) : tidy(() => lt(binary('copysign', 1, t), 0));
}

export interface NanToNumOptions {
  /** What NaN becomes (default 0). */
  nan?: number;
  /** What +Infinity becomes (default float32's largest value, 3.4028e38). */
  posinf?: number;
  /** What -Infinity becomes (default float32's most negative value). */
  neginf?: number;
}

/**
 * x with NaN, +Infinity and -Infinity replaced, as torch.nan_to_num (by default 0 and float32's
 * largest and most negative values). The gradient passes where x is finite, 0 elsewhere. An
 * int32 x comes back as a copy. @example nanToNum(tensor([NaN, Infinity, 1]), { posinf: 9 })   // [0, 9, 1]
 */
export function nanToNum<D extends DType>(x: Tensor<D>, options: NanToNumOptions = {}): Tensor<D> {
  const op = 'nanToNum';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  const o = checkOptions<NanToNumOptions>(op, options, ['nan', 'posinf', 'neginf']);
  const nan = checkNumber(op, 'nan', o.nan ?? 0, true);
  const posinf = checkNumber(op, 'posinf', o.posinf ?? FLOAT32_MAX, true);
  const neginf = checkNumber(op, 'neginf', o.neginf ?? -FLOAT32_MAX, true);
  if (t.dtype === 'int32') return clone(t);
  return replaceNonFinite(t as F32, nan, posinf, neginf) as Tensor<D>;
}

/** The native nan_to_num of a float32 x; the gradient passes where x is finite. */
function replaceNonFinite(x: F32, nan: number, posinf: number, neginf: number): F32 {
  const y = new Tensor<'float32'>(native.nanToNum(x.handle('nanToNum'), nan, posinf, neginf), x.shape, 'float32');
  return record('nanToNum', y, [x], (dy, [sx]) => [where(isfinite(sx), dy, 0)], [x]);
}

// ---- reductions -------------------------------------------------------------------------------

/**
 * The axes a reduction takes, sorted: those of `dim` (an axis or a list; none or an empty list:
 * all of them, as PyTorch 1.13). A 0-D x takes dim 0 or -1, as PyTorch.
 */
function reductionAxes(op: string, x: Tensor, dim: Axes | undefined | null): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  if (!Array.isArray(list)) fail('E_ARG', `${op}: expected \`dim\` to be an axis or an array of axes, got ${describe(dim)}`);
  checkArrayLength(op, 'dim', list, MAX_RANK);
  const axes = list.map((a) => checkAxis(op, 'dim', a, Math.max(1, x.rank)));
  if (new Set(axes).size !== axes.length) fail('E_ARG', `${op}: an axis appears twice in \`dim\` ${describe(dim)}`);
  if (x.rank === 0 || axes.length === 0) return x.shape.map((_, i) => i);
  return axes.sort((p, q) => p - q);
}

/**
 * The sum over `dim` (all axes when omitted) with NaNs counted as 0, as torch.nansum; the
 * gradient is 0 at the NaNs. One pass (no copy with the NaNs replaced), with the same bits as
 * `sum` of that copy. An int32 x (which holds no NaN) sums as `sum`.
 * @example nansum(tensor([1, NaN, 2]))   // 3
 */
export function nansum(x: Tensor<'int32'>, dim?: Axes | null, keepdim?: boolean): Tensor<'int32'>;
export function nansum(x: Tensor, dim?: Axes | null, keepdim?: boolean): F32;
export function nansum(x: Tensor, dim?: Axes | null, keepdim = false): Tensor {
  const op = 'nansum';
  const t = checkTensor(op, 'x', x);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  const axes = reductionAxes(op, t, dim);
  checkBool(op, 'keepdim', keepdim);
  if (t.dtype === 'int32') return sum(t as Tensor<'int32'>, axes, keepdim);
  return nansumFloat(t, axes, keepdim);
}

/**
 * The mean over `dim` (all axes when omitted) of the values that are not NaN, as
 * torch.nanmean: NaN where every value is NaN (or there is none), with a gradient of 0 there
 * (PyTorch's is NaN). float32.
 * @example nanmean(tensor([[1, NaN], [NaN, NaN]]), 1)   // [1, NaN]
 */
export function nanmean(x: Tensor, dim?: Axes | null, keepdim = false): F32 {
  const op = 'nanmean';
  const t = checkFloat(op, 'x', x);
  const axes = reductionAxes(op, t, dim);
  checkBool(op, 'keepdim', keepdim);
  return tidy(() => div(nansumFloat(t, axes, keepdim), sum(eq(t, t), axes, keepdim)));
}

/**
 * How many entries are nonzero (NaN included) over `dim` (all of x when omitted), as
 * torch.count_nonzero: int32 (PyTorch: int64). float32 or int32 x.
 * @example countNonzero(tensor([[0, 1], [2, NaN]]), 0)   // [1, 2]
 */
export function countNonzero(x: Tensor, dim?: Axes | null): Tensor<'int32'> {
  const op = 'countNonzero';
  const t = checkTensor(op, 'x', x);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  const axes = reductionAxes(op, t, dim);
  return tidy(() => sum(cast(ne(t, 0), 'int32'), axes));
}

function extremum<D extends DType>(op: string, x: Tensor<D>, dim: Axes | undefined | null, keepdim: boolean, largest: boolean): Tensor<D> {
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  const axes = reductionAxes(op, t, dim);
  checkBool(op, 'keepdim', keepdim);
  const empty = axes.find((a) => t.shape[a] === 0);
  if (empty !== undefined) fail('E_SHAPE', `${op}: cannot reduce axis ${empty} of size 0 (shape ${shapeStr(t.shape)}): there is no identity`);
  return (largest ? max(t as Tensor, axes, keepdim) : min(t as Tensor, axes, keepdim)) as Tensor<D>;
}

/**
 * The largest value over `dim` (an axis or a list; all when omitted or empty), as torch.amax:
 * NaN propagates; the gradient is shared evenly by the entries equal to the maximum. float32 or
 * int32. @example amax(tensor([[1, 5], [5, 2]]), [0, 1])   // 5, its gradient 0.5 to each 5
 */
export function amax<D extends DType>(x: Tensor<D>, dim?: Axes | null, keepdim = false): Tensor<D> {
  return extremum('amax', x, dim, keepdim, true);
}

/** The smallest value over `dim` (all when omitted), as torch.amin (amax's rules). @example amin(x, 1, true) */
export function amin<D extends DType>(x: Tensor<D>, dim?: Axes | null, keepdim = false): Tensor<D> {
  return extremum('amin', x, dim, keepdim, false);
}

export interface AminmaxOptions {
  /** The axis to reduce (default: all of x). */
  dim?: number | null;
  /** Keep the reduced axis (all of them without `dim`) as size 1. */
  keepdim?: boolean;
}

/** The smallest and the largest values, as torch.aminmax's pair. */
export interface AminmaxResult<D extends DType = DType> { min: Tensor<D>; max: Tensor<D> }

/**
 * `{ min, max }` over `dim` (all of x when omitted), as torch.aminmax: amin's and amax's rules
 * (NaN propagates; gradients shared by equal extremes). float32 or int32.
 * @example const { min, max } = aminmax(tensor([3, 1, 4]))   // 1, 4
 */
export function aminmax<D extends DType>(x: Tensor<D>, options: AminmaxOptions = {}): AminmaxResult<D> {
  const op = 'aminmax';
  const o = checkOptions<AminmaxOptions>(op, options, ['dim', 'keepdim']);
  if (o.dim !== undefined && o.dim !== null && typeof o.dim !== 'number') fail('E_ARG', `${op}: expected \`dim\` to be an axis, got ${describe(o.dim)}`);
  const keepdim = checkBool(op, 'keepdim', o.keepdim ?? false);
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.device !== 'cpu') return tidy(() => ({ min: extremum(op, t, o.dim, keepdim, false), max: extremum(op, t, o.dim, keepdim, true) }));
  // On the CPU, both from one read of x (native/cpu/reduce.cc), with amin's and amax's values.
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  const axes = reductionAxes(op, t, o.dim);
  const empty = axes.find((a) => t.shape[a] === 0);
  if (empty !== undefined) fail('E_SHAPE', `${op}: cannot reduce axis ${empty} of size 0 (shape ${shapeStr(t.shape)}): there is no identity`);
  const shape = keepdim ? t.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !axes.includes(i));
  const [lo, hi] = native.aminmax(t.handle(op), o.dim ?? null, keepdim);
  const min = new Tensor<D>(lo, shape, t.dtype), max = new Tensor<D>(hi, shape, t.dtype);
  if (t.dtype === 'int32') return { min, max };
  return { min: recordExtremum('amin', t as F32, min as F32, axes) as Tensor<D>, max: recordExtremum('amax', t as F32, max as F32, axes) as Tensor<D> };
}
