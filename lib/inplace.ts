/**
 * In-place writes as PyTorch's trailing-underscore methods (`x.copy_(src)`, `x.add_(y)`,
 * `x.uniform_()`, …): the tensor keeps its identity and its memory, and takes new values. Each
 * computes the new value with the ordinary ops (gradients off, temporaries freed) and writes it
 * with the native in-place copy, in queue order (reads queued before see the old values, reads
 * after the new ones). Every write bumps the memory's version counter, so a graph that saved
 * this tensor (or a view of its memory: detach(), a Parameter) fails backward with E_STATE
 * afterwards instead of computing a wrong gradient, as PyTorch's version counters do.
 *
 * The rules, as PyTorch's:
 * - a leaf that requires grad may be written only with gradients off (`noGrad`), as an
 *   optimizer step or an init does: E_STATE otherwise;
 * - a tensor computed by a recorded op (it has a gradFn) is refused with E_STATE: PyTorch
 *   would rebase the graph's history onto the in-place op, which this library does not do
 *   (write into a `clone()` or a `detach()`ed copy instead);
 * - an operand that requires grad is refused with E_STATE while gradients are recorded
 *   (PyTorch would make this tensor part of the graph; here the gradient would be lost).
 */
import { isGradEnabled, noGrad } from './autograd';
import { bernoulli, full, rand } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { native } from './native';
import * as ops from './ops';
import type { Tensor } from './tensor';
import { broadcastShapes, checkFloat32Value, checkNumber, checkOptions, checkTensor, describe, isTensor, shapeStr } from './validate';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The tensor an in-place op writes, checked against the rules above. */
export function checkWritable<T extends Tensor>(op: string, t: T): T {
  const x = checkTensor(op, 'this', t) as T;
  if (x.gradFn !== null) {
    fail('E_STATE', `${op}: this tensor was computed by \`${x.gradFn.name}\` and is part of a graph; PyTorch would rebase the graph's history onto the ` +
      'in-place op, this library does not: write into a clone() (or a detach()ed copy) instead');
  }
  if (x.requiresGrad && isGradEnabled()) {
    fail('E_STATE', `${op}: a leaf tensor that requires grad cannot be written in place while gradients are recorded; ` +
      'write it inside noGrad(() => ...), as an optimizer step does');
  }
  return x;
}

/** An operand of an in-place op: one that requires grad would silently lose its gradient. */
function checkOperand(op: string, name: string, value: unknown): void {
  if (isTensor(value) && value.requiresGrad && isGradEnabled()) {
    fail('E_STATE', `${op}: \`${name}\` requires grad: PyTorch would put this tensor into the graph, which an in-place op here does not do; ` +
      `pass \`${name}\`.detach(), or run it inside noGrad(() => ...)`);
  }
}

/** Writes `make()` (of t's shape, dtype and device) into t's memory, in queue order; returns t. */
function write<T extends Tensor>(op: string, t: T, make: () => Tensor): T {
  noGrad(() => tidy(() => {
    const v = make();
    if (!sameShape(v.shape, t.shape) || v.dtype !== t.dtype || v.device !== t.device) {
      fail('E_INTERNAL', `${op}: made a value of shape ${shapeStr(v.shape)} (${v.dtype}, ${v.device}) for a tensor of ${shapeStr(t.shape)} (${t.dtype}, ${t.device})`);
    }
    if (v !== t) native.copyInto(t.handle(op), v.handle(op));
  }));
  return t;
}

/** E_SHAPE unless `shape` broadcasts to t's shape (an in-place result keeps t's shape). */
function checkBroadcastsTo(op: string, name: string, shape: readonly number[], t: Tensor): void {
  const out = broadcastShapes(op, t.shape, shape);
  if (!sameShape(out, t.shape)) {
    fail('E_SHAPE', `${op}: \`${name}\` of shape ${shapeStr(shape)} does not broadcast to this tensor's shape ${shapeStr(t.shape)} (an in-place result keeps it)`);
  }
}

/** `src` moved to t's device, cast to its dtype and broadcast to its shape. */
function conformed(op: string, t: Tensor, src: Tensor): Tensor {
  let v: Tensor = src;
  if (v.device !== t.device) v = ops.toDevice(v, t.device);
  if (v.dtype !== t.dtype) v = ops.cast(v, t.dtype);
  if (!sameShape(v.shape, t.shape)) v = ops.expand(v, t.shape);
  return v;
}

/**
 * `x.copy_(src)`: x takes src's values, src broadcast to x's shape, cast to x's dtype (float to
 * int truncates toward zero) and moved to x's device, as torch.Tensor.copy_. Returns x.
 */
export function copy_<T extends Tensor>(x: T, src: Tensor): T {
  const op = 'copy_';
  const t = checkWritable(op, x);
  const s = checkTensor(op, 'src', src);
  checkOperand(op, 'src', s);
  checkBroadcastsTo(op, 'src', s.shape, t);
  if (s === t) return t;
  if (s.device === t.device && s.dtype === t.dtype && sameShape(s.shape, t.shape)) {
    native.copyInto(t.handle(op), s.handle(op));
    return t;
  }
  return write(op, t, () => conformed(op, t, s));
}

/** A number to write into t: finite or not for float32, an integer in range for int32 (truncated, as PyTorch). */
function valueFor(op: string, name: string, t: Tensor, value: unknown): number {
  if (t.dtype === 'float32') return checkFloat32Value(op, name, value);
  checkNumber(op, name, value);
  const v = Math.trunc(value as number);
  if (v < -(2 ** 31) || v > 2 ** 31 - 1) fail('E_ARG', `${op}: \`${name}\` ${describe(value)} does not fit int32`);
  return v;
}

/** `x.fill_(value)`: every entry set to `value` (a number or a 0-D tensor), as torch.Tensor.fill_. Returns x. */
export function fill_<T extends Tensor>(x: T, value: number | Tensor): T {
  const op = 'fill_';
  const t = checkWritable(op, x);
  if (isTensor(value)) {
    const v = checkTensor(op, 'value', value);
    if (v.rank !== 0) fail('E_SHAPE', `${op}: expected a number or a 0-D tensor \`value\`, got shape ${shapeStr(v.shape)}`);
    checkOperand(op, 'value', v);
    return write(op, t, () => conformed(op, t, v));
  }
  const n = valueFor(op, 'value', t, value);
  if (t.dtype === 'float32') {
    native.fillInto(t.handle(op), n);
    return t;
  }
  return write(op, t, () => full(t.shape, n, { dtype: t.dtype, device: t.device }));
}

/** `x.zero_()`: `fill_(0)`. Returns x. */
export function zero_<T extends Tensor>(x: T): T {
  return fill_(x, 0);
}

export interface AlphaOptions {
  /** The multiplier of `other` (default 1), as PyTorch's `alpha`. */
  alpha?: number;
}

type Arith = 'add_' | 'sub_' | 'mul_' | 'div_';

function arithmetic<T extends Tensor>(op: Arith, x: T, other: Tensor | number, options: AlphaOptions = {}): T {
  const t = checkWritable(op, x);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: in-place arithmetic is for float32 tensors here, got ${t.dtype} (cast with float(), or use the out-of-place op)`);
  const o = checkOptions<AlphaOptions>(op, options, op === 'add_' || op === 'sub_' ? ['alpha'] : []);
  const alpha = o.alpha === undefined ? 1 : checkNumber(op, 'alpha', o.alpha, true);
  let operand: Tensor | number;
  if (isTensor(other)) {
    operand = checkTensor(op, 'other', other);
    checkOperand(op, 'other', operand);
    checkBroadcastsTo(op, 'other', operand.shape, t);
    if (operand.device !== t.device) fail('E_DEVICE', `${op}: \`other\` is on ${operand.device} but this tensor is on ${t.device}`);
  } else {
    operand = checkNumber(op, 'other', other, true);
  }
  return write(op, t, () => {
    let b: Tensor | number = operand;
    if (isTensor(b) && b.dtype !== 'float32') b = ops.cast(b, 'float32');
    if (alpha !== 1) b = typeof b === 'number' ? b * alpha : ops.mul(b, alpha);
    const y = op === 'add_' ? ops.add(t, b) : op === 'sub_' ? ops.sub(t, b) : op === 'mul_' ? ops.mul(t, b) : ops.div(t, b);
    return sameShape(y.shape, t.shape) ? y : ops.expand(y, t.shape);
  });
}

/** `x.add_(other, { alpha })`: x += alpha * other (other broadcast to x's shape), as torch.Tensor.add_. float32 x. Returns x. */
export function add_<T extends Tensor>(x: T, other: Tensor | number, options?: AlphaOptions): T { return arithmetic('add_', x, other, options); }
/** `x.sub_(other, { alpha })`: x -= alpha * other. Returns x. */
export function sub_<T extends Tensor>(x: T, other: Tensor | number, options?: AlphaOptions): T { return arithmetic('sub_', x, other, options); }
/** `x.mul_(other)`: x *= other. Returns x. */
export function mul_<T extends Tensor>(x: T, other: Tensor | number): T { return arithmetic('mul_', x, other); }
/** `x.div_(other)`: x /= other (true division). Returns x. */
export function div_<T extends Tensor>(x: T, other: Tensor | number): T { return arithmetic('div_', x, other); }

/** `x.clamp_(min, max)`: x limited to [min, max] in place (clamp's rules; float32 or int32). Returns x. */
export function clamp_<T extends Tensor>(x: T, min?: Tensor | number | null, max?: Tensor | number | null): T {
  const op = 'clamp_';
  const t = checkWritable(op, x);
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (!isTensor(v)) continue;
    checkOperand(op, name, v);
    checkBroadcastsTo(op, name, checkTensor(op, name, v).shape, t);
  }
  // clamp checks the other arguments, before anything is written.
  return write(op, t, () => ops.clamp(t, min, max));
}

function checkFloatTarget(op: string, t: Tensor): void {
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: fills float32 tensors, got ${t.dtype}`);
}

/** `x.uniform_(low, high)`: uniform on [low, high) (default [0, 1)) from the seeded generator (the numbers `rand` would draw). float32. Returns x. */
export function uniform_<T extends Tensor>(x: T, low = 0, high = 1): T {
  const op = 'uniform_';
  const t = checkWritable(op, x);
  checkFloatTarget(op, t);
  checkNumber(op, 'low', low);
  checkNumber(op, 'high', high);
  if (!(low <= high)) fail('E_ARG', `${op}: expected low <= high, got low ${low}, high ${high}`);
  native.randomUniformInto(t.handle(op), low, high);
  return t;
}

/** `x.normal_(mean, std)`: normal values (default 0, 1) from the seeded generator (the numbers `randn` would draw). float32. Returns x. */
export function normal_<T extends Tensor>(x: T, mean = 0, std = 1): T {
  const op = 'normal_';
  const t = checkWritable(op, x);
  checkFloatTarget(op, t);
  checkNumber(op, 'mean', mean);
  checkNumber(op, 'std', std);
  if (std < 0) fail('E_ARG', `${op}: expected std >= 0, got ${std}`);
  native.randomNormalInto(t.handle(op), mean, std);
  return t;
}

/**
 * `x.bernoulli_(p)`: 1 with probability p, else 0, seeded; `p` a number in [0, 1] (default 0.5)
 * or a float32 tensor of probabilities that broadcasts to x's shape (its values are not checked:
 * 1 where a uniform draw is below p). float32 or int32 x. Returns x.
 */
export function bernoulli_<T extends Tensor>(x: T, p: number | Tensor = 0.5): T {
  const op = 'bernoulli_';
  const t = checkWritable(op, x);
  if (isTensor(p)) {
    const tp = checkTensor(op, 'p', p);
    if (tp.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`p\` of dtype float32, got ${tp.dtype}`);
    if (tp.device !== t.device) fail('E_DEVICE', `${op}: \`p\` is on ${tp.device} but this tensor is on ${t.device}`);
    checkOperand(op, 'p', tp);
    checkBroadcastsTo(op, 'p', tp.shape, t);
    return write(op, t, () => {
      const draw = ops.lt(rand(t.shape, { device: t.device }), tp);
      return t.dtype === 'float32' ? draw : ops.cast(draw, t.dtype);
    });
  }
  checkNumber(op, 'p', p);
  if (p < 0 || p > 1) fail('E_ARG', `${op}: expected p in [0, 1], got ${p}`);
  return write(op, t, () => {
    const draw = bernoulli(t.shape, p, { device: t.device });
    return t.dtype === 'float32' ? draw : ops.cast(draw, t.dtype);
  });
}
