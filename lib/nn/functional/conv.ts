/**
 * The convolution family (survey section 3.1): conv2d (with stride, padding, dilation and
 * groups), conv1d (conv2d over a height of 1), convTranspose2d (the FCN "deconvolution": the
 * adjoint of conv2d, which upsamples) and linear. PyTorch's shapes, names and defaults; NCHW.
 * Each has a public forward op (in `F`) and an internal backward function that the autograd
 * tape calls, returning only the gradients asked for.
 *
 * Every op reaches the same three native kernels: conv2d forward, backward-data and
 * backward-filter, which take the geometry as conv2d sees it (x -> y):
 * `[strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups]`.
 */
import { record } from '../../autograd';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkInt, checkOptions, describe, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

/** A size for both spatial dimensions, or [height, width]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Step between applications of the kernel (default 1). */
  stride?: Pair;
  /**
   * Zeros added on each side (default 0); `'valid'` is 0, `'same'` keeps the size at stride 1,
   * with any odd extra padding on the bottom/right (as PyTorch).
   */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps (default 1; the survey's dilated convolution). */
  dilation?: Pair;
  /** Channels split into this many independent groups (default 1; C for depthwise). */
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number | readonly [number];
  padding?: number | readonly [number] | 'same' | 'valid';
  dilation?: number | readonly [number];
  groups?: number;
}

export interface ConvTranspose1dOptions {
  stride?: number | readonly [number];
  /** Removed from each end of the output: output = (L - 1)s - 2p + d(k - 1) + outputPadding + 1. */
  padding?: number | readonly [number];
  /** Added to the end of the output to pick among the lengths a strided conv maps alike. */
  outputPadding?: number | readonly [number];
  groups?: number;
  dilation?: number | readonly [number];
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  /** Removed from each side of the output: output = (i - 1)s - 2p + d(k - 1) + outputPadding + 1. */
  padding?: Pair;
  /** Added to the bottom/right of the output to pick among the sizes a strided conv maps alike. */
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}

/** Which gradients a backward call computes (each defaults to true). */
export interface ConvGradients {
  needInput?: boolean;
  needWeight?: boolean;
  needBias?: boolean;
}

/** The gradients asked for; the others are null. */
export interface ConvBackwardResult {
  dx: F32 | null;
  dw: F32 | null;
  db: F32 | null;
}

// ---- argument checks -------------------------------------------------------------------------

function rank(op: string, name: string, t: Tensor, r: number, layout: string): void {
  if (t.shape.length !== r) fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${layout}, got ${shapeStr(t.shape)}`);
}

function optionalBias(op: string, b: unknown, channels: number): F32 | null {
  if (b === undefined || b === null) return null;
  const t = checkFloat(op, 'b', b);
  if (t.shape.length !== 1 || t.shape[0] !== channels) fail('E_SHAPE', `${op}: expected \`b\` of shape [${channels}], got ${shapeStr(t.shape)}`);
  return t;
}

/** @internal An integer or a pair of them (dims of them: 1, 2 or 3), each at least `min`. */
export function pair(op: string, name: string, value: unknown, min: number, dims = 2): number[] {
  const values = typeof value === 'number' ? new Array<number>(dims).fill(value) : value;
  if (!Array.isArray(values) || values.length !== dims) {
    const many = ['an array of one', 'a pair of integers', 'three of them'][dims - 1];
    fail('E_ARG', `${op}: expected \`${name}\` to be an integer or ${many}, got ${describe(value)}`);
  }
  return values.map((v: unknown) => checkInt(op, name, v, min));
}

function groupsArg(op: string, groups: unknown): number {
  return checkInt(op, 'groups', groups, 1);
}

function outputSize(inSize: number, padSum: number, dilation: number, k: number, stride: number): number {
  const span = inSize + padSum - dilation * (k - 1) - 1;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
}

/** conv2d's geometry and output shape, with every check of the public op. */
interface Conv2dPlan {
  geometry: number[];
  yShape: number[];
}

function planConv2d(op: string, x: F32, w: F32, opts: Conv2dOptions, spatialDims = 2): Conv2dPlan {
  checkOptions(op, opts, ['stride', 'padding', 'dilation', 'groups']);
  const [N, C, H, W] = x.shape;
  const [K, Cg, kh, kw] = w.shape;
  // conv1d runs as conv2d over a height of 1: stride and dilation 1, no padding along it.
  const lift = (v: number[], height = 1) => (spatialDims === 1 ? [height, v[0]] : v);
  const stride = lift(pair(op, 'stride', opts.stride ?? 1, 1, spatialDims));
  const dilation = lift(pair(op, 'dilation', opts.dilation ?? 1, 1, spatialDims));
  const groups = groupsArg(op, opts.groups ?? 1);
  let pads: number[];  // top, left, bottom, right
  const padding = opts.padding ?? 0;
  if (padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else if (padding === 'same') {
    if (stride.some((s) => s !== 1)) fail('E_ARG', `${op}: padding 'same' needs stride 1, got stride ${describe(opts.stride)}`);
    const total = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
    const before = total.map((t) => Math.floor(t / 2));
    pads = [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  } else if (typeof padding === 'string') {
    return fail('E_ARG', `${op}: expected \`padding\` to be an integer, a pair, 'same' or 'valid', got ${describe(padding)}`);
  } else {
    const p = lift(pair(op, 'padding', padding, 0, spatialDims), 0);
    pads = [p[0], p[1], p[0], p[1]];
  }
  if (K < 1 || Cg < 1 || kh < 1 || kw < 1) fail('E_SHAPE', `${op}: \`w\` ${shapeStr(w.shape)} has an empty dimension`);
  if (C % groups !== 0 || K % groups !== 0) {
    fail('E_SHAPE', `${op}: groups = ${groups} must divide the input channels ${C} and the output channels ${K}`);
  }
  if (C !== Cg * groups) {
    fail('E_SHAPE', `${op}: \`x\` has ${C} channels but \`w\` ${shapeStr(w.shape)} expects ${Cg * groups} (w.shape[1] * groups)`);
  }
  const Ho = outputSize(H, pads[0] + pads[2], dilation[0], kh, stride[0]);
  const Wo = outputSize(W, pads[1] + pads[3], dilation[1], kw, stride[1]);
  if (Ho < 1 || Wo < 1) {
    fail('E_SHAPE', `${op}: the kernel ${shapeStr(w.shape.slice(4 - spatialDims))} (dilation ${shapeStr(dilation.slice(2 - spatialDims))}) ` +
      `is larger than the padded input ${shapeStr(x.shape.slice(4 - spatialDims))}`);
  }
  return {
    geometry: [stride[0], stride[1], pads[0], pads[1], pads[2], pads[3], dilation[0], dilation[1], groups],
    yShape: [N, K, Ho, Wo],
  };
}

function checkDy(op: string, dy: F32, shape: readonly number[]): void {
  if (dy.shape.length !== shape.length || dy.shape.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `${op}: expected \`dy\` of shape ${shapeStr(shape)} (the forward's output), got ${shapeStr(dy.shape)}`);
  }
}

function needs(op: string, g: ConvGradients): Required<ConvGradients> {
  checkOptions(op, g, ['needInput', 'needWeight', 'needBias']);
  return {
    needInput: checkBool(op, 'needInput', g.needInput ?? true),
    needWeight: checkBool(op, 'needWeight', g.needWeight ?? true),
    needBias: checkBool(op, 'needBias', g.needBias ?? true),
  };
}

const wrap = (h: Handle, shape: readonly number[]): F32 => new Tensor(h, shape, 'float32');

/** The tape's per-input flags [x, w, b] as the backward functions' options. */
const asked = (need: readonly boolean[]): ConvGradients => ({ needInput: need[0], needWeight: need[1], needBias: need[2] });
const convGrads = (r: ConvBackwardResult): (F32 | null)[] => [r.dx, r.dw, r.db];

// ---- conv2d ----------------------------------------------------------------------------------

/**
 * 2-D convolution (cross-correlation, as every framework computes it) of x [N, C, H, W] with
 * w [K, C / groups, kh, kw], plus b [K]. Output [N, K, Ho, Wo] with
 * Ho = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1.
 * @example
 * const y = F.conv2d(x, w, b, { stride: 2, padding: 1 });          // a ResNet-style downsample
 * const z = F.conv2d(x, w, null, { padding: 'same', dilation: 2 }); // dilated, size kept
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): F32 {
  const { tx, tw, tb, y, geometry } = conv2dNative(x, w, b, opts);
  const o = { ...opts };
  return record('conv2d', y, [tx, tw, tb], (dy, [sx, sw], need) => convGrads(conv2dBackward(dy, sx, sw, o, asked(need))), [tx, tw], { geometry });
}

/**
 * @internal conv2d followed by min(max(·, lo), hi) (ReLU: 0, Infinity; ReLU6: 0, 6) as one
 * native op, which clamps the outputs where it makes them (nn/fused-activation.ts). Inference
 * only: it records no gradient, so callers use it with gradients off.
 */
export function conv2dClamped(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions, lo: number, hi: number): F32 {
  return conv2dNative(x, w, b, opts, [lo, hi]).y;
}

/** conv2d's checks and its native forward (with a fused clamp to [lo, hi], when given). */
function conv2dNative(x: Tensor, w: Tensor, b: Tensor | null | undefined, opts: Conv2dOptions, clamp?: [number, number]) {
  const op = 'conv2d';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 4, '[N, C, H, W]');
  rank(op, 'w', tw, 4, '[K, C / groups, kh, kw]');
  const tb = optionalBias(op, b, tw.shape[0]);
  const plan = planConv2d(op, tx, tw, opts);
  const handles = [tx.handle(op), tw.handle(op), tb ? tb.handle(op) : null, plan.geometry] as const;
  const y = wrap(clamp ? native.conv2dForward(...handles, clamp[0], clamp[1]) : native.conv2dForward(...handles), plan.yShape);
  return { tx, tw, tb, y, geometry: plan.geometry };
}

/**
 * @internal Gradients of sum(conv2d(x, w, b, opts) * dy): dx, dw and db (those asked for; b's
 * gradient needs no b, only its existence, which the caller knows).
 */
export function conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, opts: Conv2dOptions = {}, grads: ConvGradients = {}): ConvBackwardResult {
  const op = 'conv2d backward';
  const tdy = checkFloat(op, 'dy', dy), tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 4, '[N, C, H, W]');
  rank(op, 'w', tw, 4, '[K, C / groups, kh, kw]');
  const plan = planConv2d(op, tx, tw, opts);
  checkDy(op, tdy, plan.yShape);
  const need = needs(op, grads);
  return {
    dx: need.needInput ? wrap(native.conv2dBackwardData(tdy.handle(op), tw.handle(op), null, plan.geometry, tx.shape), tx.shape) : null,
    dw: need.needWeight ? wrap(native.conv2dBackwardFilter(tdy.handle(op), tx.handle(op), plan.geometry, tw.shape), tw.shape) : null,
    db: need.needBias ? wrap(native.biasBackward(tdy.handle(op), 1), [tw.shape[0]]) : null,
  };
}

// ---- conv1d: conv2d over a height of 1 -------------------------------------------------------

/** Runs fn on 4-D views (height 1) of 3-D tensors, disposing of the views afterwards. */
function asImages<T>(op: string, ts: F32[], fn: (views: F32[]) => T): T {
  const views = ts.map((t) => {
    rank(op, 'x/w/dy', t, 3, '[N, C, L] (x, dy) or [K, C / groups, k] (w)');
    return wrap(native.reshape(t.handle(op), [t.shape[0], t.shape[1], 1, t.shape[2]]), [t.shape[0], t.shape[1], 1, t.shape[2]]);
  });
  try {
    return fn(views);
  } finally {
    for (const v of views) v.dispose();
  }
}

function squeezeHeight(t: F32 | null): F32 | null {
  if (t === null) return null;
  const shape = [t.shape[0], t.shape[1], t.shape[3]];
  const out = wrap(native.reshape(t.handle('conv1d'), shape), shape);
  t.dispose();
  return out;
}

/**
 * 1-D convolution of x [N, C, L] with w [K, C / groups, k], plus b [K] (text and sequences).
 * @example F.conv1d(x, w, b, { padding: 'same', dilation: 2 })
 */
export function conv1d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv1dOptions = {}): F32 {
  const op = 'conv1d';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 3, '[N, C, L]');
  rank(op, 'w', tw, 3, '[K, C / groups, k]');
  const tb = optionalBias(op, b, tw.shape[0]);
  let geometry: number[] = [];
  const y = asImages(op, [tx, tw], ([x4, w4]) => {
    const plan = planConv2d(op, x4, w4, opts as Conv2dOptions, 1);
    geometry = plan.geometry;
    const y4 = wrap(native.conv2dForward(x4.handle(op), w4.handle(op), tb ? tb.handle(op) : null, plan.geometry), plan.yShape);
    return squeezeHeight(y4) as F32;
  });
  const o = { ...opts };
  return record(op, y, [tx, tw, tb], (dy, [sx, sw], need) => convGrads(conv1dBackward(dy, sx, sw, o, asked(need))), [tx, tw], { geometry });
}

/** @internal Gradients of sum(conv1d(x, w, b, opts) * dy). */
export function conv1dBackward(dy: Tensor, x: Tensor, w: Tensor, opts: Conv1dOptions = {}, grads: ConvGradients = {}): ConvBackwardResult {
  const op = 'conv1d backward';
  const tdy = checkFloat(op, 'dy', dy), tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 3, '[N, C, L]');
  rank(op, 'w', tw, 3, '[K, C / groups, k]');
  rank(op, 'dy', tdy, 3, '[N, K, Lo]');
  return asImages(op, [tdy, tx, tw], ([dy4, x4, w4]) => {
    const plan = planConv2d(op, x4, w4, opts as Conv2dOptions, 1);
    checkDy(op, dy4, plan.yShape);
    const need = needs(op, grads);
    return {
      dx: squeezeHeight(need.needInput ? wrap(native.conv2dBackwardData(dy4.handle(op), w4.handle(op), null, plan.geometry, x4.shape), x4.shape) : null),
      dw: squeezeHeight(need.needWeight ? wrap(native.conv2dBackwardFilter(dy4.handle(op), x4.handle(op), plan.geometry, w4.shape), w4.shape) : null),
      db: need.needBias ? wrap(native.biasBackward(tdy.handle(op), 1), [tw.shape[0]]) : null,
    };
  });
}

// ---- convTranspose2d: conv2d's adjoint -------------------------------------------------------

/**
 * The transposed convolution's plan in conv2d's terms: its output y is the conv's input and its
 * input x the conv's output. outputPadding becomes a smaller bottom/right padding of that conv.
 */
function planConvTranspose2d(op: string, x: F32, w: F32, opts: ConvTranspose2dOptions, spatialDims = 2): Conv2dPlan {
  checkOptions(op, opts, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  const [N, C, H, W] = x.shape;
  const [Cw, Kg, kh, kw] = w.shape;
  // convTranspose1d runs as convTranspose2d over a height of 1: stride and dilation 1, no padding along it.
  const lift = (v: number[], height: number) => (spatialDims === 1 ? [height, v[0]] : v);
  const stride = lift(pair(op, 'stride', opts.stride ?? 1, 1, spatialDims), 1);
  const dilation = lift(pair(op, 'dilation', opts.dilation ?? 1, 1, spatialDims), 1);
  if (typeof opts.padding === 'string') fail('E_ARG', `${op}: expected \`padding\` to be an integer or ${spatialDims === 1 ? 'an array of one' : 'a pair of integers'}, got ${describe(opts.padding)}`);
  const padding = lift(pair(op, 'padding', opts.padding ?? 0, 0, spatialDims), 0);
  const outputPadding = lift(pair(op, 'outputPadding', opts.outputPadding ?? 0, 0, spatialDims), 0);
  const groups = groupsArg(op, opts.groups ?? 1);
  for (let d = 0; d < 2; d++) {
    if (outputPadding[d] >= stride[d] && outputPadding[d] >= dilation[d]) {
      const shown = (v: number[]) => shapeStr(spatialDims === 1 ? v.slice(1) : v);
      fail('E_ARG', `${op}: outputPadding ${shown(outputPadding)} must be smaller than the stride ${shown(stride)} or the dilation ${shown(dilation)}`);
    }
  }
  if (Cw < 1 || Kg < 1 || kh < 1 || kw < 1) fail('E_SHAPE', `${op}: \`w\` ${shapeStr(w.shape)} has an empty dimension`);
  if (C !== Cw) fail('E_SHAPE', `${op}: \`x\` has ${C} channels but \`w\` ${shapeStr(w.shape)} expects ${Cw} (w.shape[0])`);
  if (C % groups !== 0) fail('E_SHAPE', `${op}: groups = ${groups} must divide the input channels ${C}`);
  const size = (i: number, d: number, k: number) => (i - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k - 1) + outputPadding[d] + 1;
  const Ho = size(H, 0, kh), Wo = size(W, 1, kw);
  if (Ho < 1 || Wo < 1) fail('E_SHAPE', `${op}: the output would be empty (${Ho}x${Wo}) for input ${shapeStr(x.shape)} and kernel ${kh}x${kw}`);
  return {
    geometry: [stride[0], stride[1], padding[0], padding[1], padding[0] - outputPadding[0], padding[1] - outputPadding[1], dilation[0], dilation[1], groups],
    yShape: [N, Kg * groups, Ho, Wo],
  };
}

/**
 * Transposed 2-D convolution (the FCN "deconvolution", which upsamples) of x [N, C, H, W] with
 * w [C, K / groups, kh, kw], plus b [K]: the adjoint of conv2d with the same settings. Output
 * [N, K, (H - 1)s - 2p + d(kh - 1) + outputPadding + 1, ...].
 * @example F.convTranspose2d(score, w, null, { stride: 2, padding: 1 })  // 2x upsampling with a 4x4 kernel
 */
export function convTranspose2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose2dOptions = {}): F32 {
  const op = 'convTranspose2d';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 4, '[N, C, H, W]');
  rank(op, 'w', tw, 4, '[C, K / groups, kh, kw]');
  const plan = planConvTranspose2d(op, tx, tw, opts);
  const tb = optionalBias(op, b, plan.yShape[1]);
  const y = wrap(native.conv2dBackwardData(tx.handle(op), tw.handle(op), tb ? tb.handle(op) : null, plan.geometry, plan.yShape), plan.yShape);
  const o = { ...opts };
  return record(op, y, [tx, tw, tb], (dy, [sx, sw], need) => convGrads(convTranspose2dBackward(dy, sx, sw, o, asked(need))), [tx, tw], { geometry: plan.geometry });
}

/**
 * @internal Gradients of sum(convTranspose2d(x, w, b, opts) * dy): dx = conv2d(dy, w), dw from
 * the same correlation with x and dy swapped, db = dy summed over N, H, W.
 */
export function convTranspose2dBackward(dy: Tensor, x: Tensor, w: Tensor, opts: ConvTranspose2dOptions = {}, grads: ConvGradients = {}): ConvBackwardResult {
  const op = 'convTranspose2d backward';
  const tdy = checkFloat(op, 'dy', dy), tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 4, '[N, C, H, W]');
  rank(op, 'w', tw, 4, '[C, K / groups, kh, kw]');
  const plan = planConvTranspose2d(op, tx, tw, opts);
  checkDy(op, tdy, plan.yShape);
  const need = needs(op, grads);
  return {
    dx: need.needInput ? wrap(native.conv2dForward(tdy.handle(op), tw.handle(op), null, plan.geometry), tx.shape) : null,
    dw: need.needWeight ? wrap(native.conv2dBackwardFilter(tx.handle(op), tdy.handle(op), plan.geometry, tw.shape), tw.shape) : null,
    db: need.needBias ? wrap(native.biasBackward(tdy.handle(op), 1), [plan.yShape[1]]) : null,
  };
}

/**
 * Transposed 1-D convolution of x [N, C, L] with w [C, K / groups, k], plus b [K]: the adjoint of
 * conv1d with the same settings, as torch.nn.functional.conv_transpose1d (run as
 * convTranspose2d over a height of 1). Output [N, K, (L - 1)s - 2p + d(k - 1) + outputPadding + 1].
 * @example F.convTranspose1d(x, w, b, { stride: 2, padding: 1 })   // 2x upsampling of a sequence with k = 4
 */
export function convTranspose1d(x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose1dOptions = {}): F32 {
  const op = 'convTranspose1d';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 3, '[N, C, L]');
  rank(op, 'w', tw, 3, '[C, K / groups, k]');
  const [y, tb] = asImages(op, [tx, tw], ([x4, w4]) => {
    const plan = planConvTranspose2d(op, x4, w4, opts as ConvTranspose2dOptions, 1);
    const bias = optionalBias(op, b, plan.yShape[1]);
    return [squeezeHeight(wrap(native.conv2dBackwardData(x4.handle(op), w4.handle(op), bias ? bias.handle(op) : null, plan.geometry, plan.yShape), plan.yShape)) as F32, bias] as const;
  });
  const o = { ...opts };
  return record(op, y, [tx, tw, tb], (dy, [sx, sw], need) => convGrads(convTranspose1dBackward(dy, sx, sw, o, asked(need))), [tx, tw]);
}

/** @internal Gradients of sum(convTranspose1d(x, w, b, opts) * dy). */
export function convTranspose1dBackward(dy: Tensor, x: Tensor, w: Tensor, opts: ConvTranspose1dOptions = {}, grads: ConvGradients = {}): ConvBackwardResult {
  const op = 'convTranspose1d backward';
  const tdy = checkFloat(op, 'dy', dy), tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  rank(op, 'x', tx, 3, '[N, C, L]');
  rank(op, 'w', tw, 3, '[C, K / groups, k]');
  rank(op, 'dy', tdy, 3, '[N, K, Lo]');
  return asImages(op, [tdy, tx, tw], ([dy4, x4, w4]) => {
    const plan = planConvTranspose2d(op, x4, w4, opts as ConvTranspose2dOptions, 1);
    checkDy(op, dy4, plan.yShape);
    const need = needs(op, grads);
    return {
      dx: squeezeHeight(need.needInput ? wrap(native.conv2dForward(dy4.handle(op), w4.handle(op), null, plan.geometry), x4.shape) : null),
      dw: squeezeHeight(need.needWeight ? wrap(native.conv2dBackwardFilter(x4.handle(op), dy4.handle(op), plan.geometry, w4.shape), w4.shape) : null),
      db: need.needBias ? wrap(native.biasBackward(tdy.handle(op), 1), [plan.yShape[1]]) : null,
    };
  });
}

// ---- linear ----------------------------------------------------------------------------------

function checkLinear(op: string, x: F32, w: F32): void {
  if (x.shape.length < 1) fail('E_SHAPE', `${op}: expected \`x\` of shape [..., in], got ${shapeStr(x.shape)}`);
  rank(op, 'w', w, 2, '[out, in]');
  const inFeatures = x.shape[x.shape.length - 1];
  if (inFeatures !== w.shape[1]) fail('E_SHAPE', `${op}: \`x\` ${shapeStr(x.shape)} has ${inFeatures} features but \`w\` ${shapeStr(w.shape)} expects ${w.shape[1]}`);
}

/**
 * Fully connected layer: y = x w^T + b for x [..., in], w [out, in], b [out]; y [..., out].
 * @example F.linear(features.reshape([N, -1]), w, b)
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): F32 {
  const op = 'linear';
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  checkLinear(op, tx, tw);
  const tb = optionalBias(op, b, tw.shape[0]);
  const y = wrap(native.linearForward(tx.handle(op), tw.handle(op), tb ? tb.handle(op) : null), [...tx.shape.slice(0, -1), tw.shape[0]]);
  return record(op, y, [tx, tw, tb], (dy, [sx, sw], need) => convGrads(linearBackward(dy, sx, sw, asked(need))), [tx, tw]);
}

/** @internal Gradients of sum(linear(x, w, b) * dy): dx = dy w, dw = dy^T x, db = sum of dy's rows. */
export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, grads: ConvGradients = {}): ConvBackwardResult {
  const op = 'linear backward';
  const tdy = checkFloat(op, 'dy', dy), tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  checkLinear(op, tx, tw);
  checkDy(op, tdy, [...tx.shape.slice(0, -1), tw.shape[0]]);
  const need = needs(op, grads);
  return {
    dx: need.needInput ? wrap(native.linearBackwardData(tdy.handle(op), tw.handle(op)), tx.shape) : null,
    dw: need.needWeight ? wrap(native.linearBackwardWeight(tdy.handle(op), tx.handle(op)), tw.shape) : null,
    db: need.needBias ? wrap(native.biasBackward(tdy.handle(op), -1), [tw.shape[0]]) : null,
  };
}
