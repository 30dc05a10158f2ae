/**
 * Pooling (survey section 3.2): max, average, Lp, mixed, adaptive and region-of-interest pooling
 * over NCHW float32 inputs ([N, C, H, W], or [C, H, W] where PyTorch takes it), with PyTorch's
 * names, output sizes and defaults. Each forward op is public (in `F`); its backward function is
 * internal (the autograd tape calls it) and takes what the backward needs: the input's shape,
 * the indices of the maxima, the input and output, or the mixing weights.
 *
 * Output size along an axis: o = floor((i + 2p - d(k - 1) - 1) / s) + 1; `ceilMode` rounds up,
 * but the last window must start inside the input or the left padding (PyTorch's rule).
 */
import { isRecording, record } from '../../autograd';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { Tensor } from '../../tensor';
import { checkBool, checkDtype, checkFloat, checkInt, checkNumber, checkOptions, checkTensor, describe, shapeStr } from '../../validate';
import { tidy } from '../../engine';
import { concat, flatten, matmul, reshape } from '../../ops';
import { tensor } from '../../creation';

type F32 = Tensor<'float32'>;
type I32 = Tensor<'int32'>;
/** A size for both spatial axes, or [height, width]. */
export type Size2 = number | readonly [number, number];

export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  /** Implicit -inf padding on both sides, at most half the kernel. Default 0. */
  padding?: Size2;
  /** Spacing between the window's taps. Default 1. */
  dilation?: Size2;
  /** Round the output size up instead of down. Default false. */
  ceilMode?: boolean;
  /** Also return the int32 indices of the maxima (flat h * W + w within each plane). */
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  stride?: Size2;
  /** Implicit zero padding, at most half the kernel. Default 0. */
  padding?: Size2;
  ceilMode?: boolean;
  /** Count the padding in the divisor. Default true. */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number;
}

export interface LpPool2dOptions {
  stride?: Size2;
  ceilMode?: boolean;
  /** The power mean (sum x^p / |R|)^(1/p) instead of PyTorch's (sum x^p)^(1/p). Default false. */
  mean?: boolean;
}

export interface RoIAlignOptions {
  /** Feature-map pixels per box unit: 1 / the backbone's stride (1 / 16 for Mask R-CNN's C4). Default 1. */
  spatialScale?: number;
  /**
   * Samples per bin along each axis, at most MAX_SAMPLING_RATIO (1024); 0 or less (the default,
   * -1): ceil(bin size), adaptive.
   */
  samplingRatio?: number;
  /** Shift the boxes by -0.5 pixel so that a pixel's value sits at its centre (Detectron2's ROIAlignV2). Default false. */
  aligned?: boolean;
}

export interface MixedPool2dOptions {
  stride?: Size2;
  padding?: Size2;
  ceilMode?: boolean;
  /** How training draws lambda per (sample, channel): 0 or 1 ('bernoulli', default) or uniform in [0, 1). */
  mode?: 'bernoulli' | 'uniform';
  /** The fixed lambda of evaluation. Default 0.5. */
  lambda?: number;
  /** Draw lambda (training) or use `lambda` (evaluation). Default false. */
  training?: boolean;
  /** Also return the lambdas used, float32 [N, C]. */
  returnLambda?: boolean;
}

export interface StochasticPool2dOptions {
  stride?: Size2;
  /** Implicit padding, at most half the kernel; never picked, and not counted. Default 0. */
  padding?: Size2;
  ceilMode?: boolean;
  /** Sample one value per window (training) or take the windows' expectation (evaluation). Default false. */
  training?: boolean;
}

// ---- argument checks -------------------------------------------------------------------------

// Each op's option names (an unknown one is E_ARG: checkOptions).
const MAX_POOL_KEYS = ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices'];
const AVG_POOL_KEYS = ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'];
const LP_POOL_KEYS = ['stride', 'ceilMode', 'mean'];
const MIXED_POOL_KEYS = ['stride', 'padding', 'ceilMode', 'mode', 'lambda', 'training', 'returnLambda'];
const STOCHASTIC_POOL_KEYS = ['stride', 'padding', 'ceilMode', 'training'];
const ROI_ALIGN_KEYS = ['spatialScale', 'samplingRatio', 'aligned'];

function input(op: string, name: string, x: unknown, ranks: readonly number[] = [3, 4]): F32 {
  const t = checkFloat(op, name, x);
  if (!ranks.includes(t.rank)) {
    fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${ranks.includes(3) ? '[N, C, H, W] or [C, H, W]' : '[N, C, H, W]'}, got ${shapeStr(t.shape)}`);
  }
  if (t.shape.slice(-3).some((d) => d === 0)) {
    fail('E_SHAPE', `${op}: expected non-zero channel and spatial sizes, got ${shapeStr(t.shape)}`);
  }
  return t as F32;
}

/** A positive (or, with min 0, non-negative) integer pair from a number or a pair. */
function pair(op: string, name: string, value: unknown, min = 1): [number, number] {
  const v = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= min)) {
    fail('E_ARG', `${op}: expected \`${name}\` to be ${min > 0 ? 'a positive' : 'a non-negative'} integer or a pair of them, got ${describe(value)}`);
  }
  return [v[0], v[1]];
}

function flag(op: string, name: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : checkBool(op, name, value);
}

function pooledSize(i: number, k: number, p: number, s: number, d: number, ceilMode: boolean): number {
  const span = i + 2 * p - d * (k - 1) - 1;
  let o = Math.floor((span + (ceilMode ? s - 1 : 0)) / s) + 1;
  if (ceilMode && (o - 1) * s >= i + p) o--;
  return o;
}

/**
 * The first output position along an axis whose window has no tap inside the input (-1: none).
 * Only a dilated window can skip over the whole input: with padding at most half the kernel,
 * an undilated one always reaches it.
 */
function emptyWindow(out: number, i: number, k: number, s: number, p: number, d: number): number {
  if (d === 1) return -1;
  for (let o = 0; o < out; o++) {
    const start = o * s - p;
    let t = 0;
    while (t < k && (start + t * d < 0 || start + t * d >= i)) t++;
    if (t === k) return o;
  }
  return -1;
}

interface Window {
  /** [kh, kw, sh, sw, ph, pw, dh, dw], as the native functions take it. */
  params: number[];
  ceilMode: boolean;
  /** The output's shape for this input. */
  shape: number[];
}

/** The window of a 2-D pool over input shape `x`, checked as PyTorch's pool2d_shape_check. */
function window(op: string, x: readonly number[], kernelSize: unknown, o: { stride?: unknown; padding?: unknown; dilation?: unknown; ceilMode?: unknown }): Window {
  const [kh, kw] = pair(op, 'kernelSize', kernelSize);
  const [sh, sw] = o.stride === undefined || o.stride === null ? [kh, kw] : pair(op, 'stride', o.stride);
  const [ph, pw] = o.padding === undefined ? [0, 0] : pair(op, 'padding', o.padding, 0);
  const [dh, dw] = o.dilation === undefined ? [1, 1] : pair(op, 'dilation', o.dilation);
  const ceilMode = flag(op, 'ceilMode', o.ceilMode, false);
  if (ph > Math.floor(kh / 2) || pw > Math.floor(kw / 2)) {
    fail('E_ARG', `${op}: padding must be at most half the kernel size, got padding ${ph}x${pw} for kernel ${kh}x${kw}`);
  }
  const [h, w] = x.slice(-2);
  const oh = pooledSize(h, kh, ph, sh, dh, ceilMode), ow = pooledSize(w, kw, pw, sw, dw, ceilMode);
  if (oh < 1 || ow < 1) fail('E_SHAPE', `${op}: input ${shapeStr(x)} is too small for the window (output ${oh}x${ow})`);
  for (const [axis, out, i, k, s, p, d] of [['row', oh, h, kh, sh, ph, dh], ['column', ow, w, kw, sw, pw, dw]] as const) {
    const o = emptyWindow(out, i, k, s, p, d);
    if (o >= 0) {
      // PyTorch returns -inf there with an index outside the plane, whose backward writes into
      // another plane's gradient.
      fail('E_SHAPE', `${op}: the window of output ${axis} ${o} holds only padding (input ${shapeStr(x)}, kernel ${kh}x${kw}, dilation ${dh}x${dw}, padding ${ph}x${pw}): it has no value to take`);
    }
  }
  return { params: [kh, kw, sh, sw, ph, pw, dh, dw], ceilMode, shape: [...x.slice(0, -2), oh, ow] };
}

function checkInputShape(op: string, value: unknown, ranks: readonly number[] = [3, 4]): number[] {
  if (!Array.isArray(value) || !ranks.includes(value.length) || !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail('E_SHAPE', `${op}: expected \`inputShape\` [N, C, H, W]${ranks.includes(3) ? ' or [C, H, W]' : ''}, got ${describe(value)}`);
  }
  return value.slice() as number[];
}

function grad(op: string, name: string, value: unknown, shape: readonly number[]): F32 {
  const t = checkTensor(op, name, value);
  checkDtype(op, name, t, 'float32');
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  return t as F32;
}

function indicesArg(op: string, name: string, value: unknown, shape: readonly number[]): I32 {
  const t = checkTensor(op, name, value);
  checkDtype(op, name, t, 'int32');
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  return t as I32;
}

const f32 = (h: Handle, shape: readonly number[]) => new Tensor(h, shape, 'float32');
const i32 = (h: Handle, shape: readonly number[]) => new Tensor(h, shape, 'int32');

// ---- max pooling -----------------------------------------------------------------------------

/**
 * 2-D max pooling: the maximum of each window (padding never wins). With `returnIndices`, also
 * the int32 index (h * W + w within the plane) of the first maximum; a NaN propagates.
 * @example const y = F.maxPool2d(x, 2);                      // [N, C, H/2, W/2]
 * @example const [y, idx] = F.maxPool2d(x, 3, { stride: 2, returnIndices: true });
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, options?: MaxPool2dOptions & { returnIndices?: false }): F32;
export function maxPool2d(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions & { returnIndices: true }): [F32, I32];
export function maxPool2d(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): F32 | [F32, I32] {
  options = checkOptions<MaxPool2dOptions>('maxPool2d', options, MAX_POOL_KEYS);
  const op = 'maxPool2d';
  const t = input(op, 'x', x);
  const win = window(op, t.shape, kernelSize, options);
  const withIndices = flag(op, 'returnIndices', options.returnIndices, false);
  // The backward needs the indices: ask for them whenever the op is recorded.
  const recording = isRecording([t]);
  const [yh, ih] = native.maxPool2dForward(t.handle(op), win.params, win.ceilMode, withIndices || recording);
  const y = f32(yh, win.shape), indices = ih === null ? null : i32(ih as Handle, win.shape);
  const xs = t.shape;
  record(op, y, [t], (dy, [si]) => [maxPool2dBackward(dy, si, xs)], indices ? [indices] : [], { window: win.params, ceilMode: win.ceilMode });
  if (withIndices) return [y, indices as I32];
  indices?.dispose();
  return y;
}

/** @internal dx of maxPool2d and adaptiveMaxPool2d: dy sent to the indices of the maxima. */
export function maxPool2dBackward(dy: Tensor, indices: Tensor, inputShape: readonly number[]): F32 {
  const op = 'maxPool2d backward';
  const xs = checkInputShape(op, inputShape);
  const tdy = checkTensor(op, 'dy', dy);
  const gdy = grad(op, 'dy', tdy, [...xs.slice(0, -2), ...tdy.shape.slice(-2)]);
  const ti = indicesArg(op, 'indices', indices, gdy.shape);
  return f32(native.maxPoolBackward(gdy.handle(op), ti.handle(op), xs), xs);
}

// ---- max unpooling ---------------------------------------------------------------------------

export interface MaxUnpool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  /** The pooling's padding. Default 0. */
  padding?: Size2;
  /**
   * The output's [H, W] (or its whole shape), where the default size (H - 1) * stride - 2 *
   * padding + kernel is ambiguous (the pooled input's H or W was not a multiple of the stride):
   * each within (default - stride, default + stride), as PyTorch.
   */
  outputSize?: readonly number[];
}

const MAX_UNPOOL_KEYS = ['stride', 'padding', 'outputSize'];

/**
 * @internal The unpooled sizes of x's last k.length axes ([H, W], or [D, H, W] for
 * maxUnpool3d; PyTorch's _unpool_output_size): the default, or `outputSize` checked against it.
 */
export function unpooledSize(op: string, x: readonly number[], k: readonly number[], s: readonly number[], p: readonly number[], outputSize: unknown): number[] {
  const dims = k.length, names = ['D', 'H', 'W'].slice(-dims);
  const defaults = k.map((_, d) => (x[x.length - dims + d] - 1) * s[d] - 2 * p[d] + k[d]);
  if (outputSize === undefined || outputSize === null) {
    if (defaults.some((d) => d < 1)) fail('E_SHAPE', `${op}: input ${shapeStr(x)} unpools to an empty ${defaults.join('x')} output`);
    return defaults;
  }
  // the length first: a sparse array of 2^31 - 1 holes must not be walked
  if (!Array.isArray(outputSize) || (outputSize.length !== dims && outputSize.length !== x.length) ||
      !outputSize.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) {
    fail('E_ARG', `${op}: expected \`outputSize\` [${names.join(', ')}] or the output's whole shape (rank ${x.length}) in integers, got ${describe(outputSize)}`);
  }
  const size = outputSize.slice(-dims);
  for (let d = 0; d < dims; d++) {
    const lo = Math.max(0, defaults[d] - s[d]), hi = defaults[d] + s[d];
    if (!(size[d] > lo && size[d] < hi)) {
      fail('E_ARG', `${op}: \`outputSize\` ${describe(outputSize)}: ${names[d]} must be between ${lo + 1} and ${hi - 1} for input ${shapeStr(x)}, got ${size[d]}`);
    }
  }
  return size;
}

/**
 * The inverse of maxPool2d with its indices (unpooling by the pooling's "switches", as in
 * Zeiler and Fergus's deconvnet and SegNet's decoder): each value of x goes back to the place
 * its index names in the larger output plane, zeros elsewhere. Where two indices name one place
 * (overlapping windows), the later one's value stays, as in PyTorch; the gradient goes to that
 * one only (PyTorch 1.13 sends it to both). An index outside the output plane is E_INDEX.
 * @example const [y, idx] = F.maxPool2d(x, 2, { returnIndices: true });
 *          const back = F.maxUnpool2d(y, idx, 2);   // x's shape, the maxima in place
 */
export function maxUnpool2d(x: Tensor, indices: Tensor, kernelSize: Size2, options: MaxUnpool2dOptions = {}): F32 {
  options = checkOptions<MaxUnpool2dOptions>('maxUnpool2d', options, MAX_UNPOOL_KEYS);
  const op = 'maxUnpool2d';
  const t = input(op, 'x', x);
  const ti = indicesArg(op, 'indices', indices, t.shape);
  const k = pair(op, 'kernelSize', kernelSize);
  const s = options.stride === undefined || options.stride === null ? k : pair(op, 'stride', options.stride);
  const p = options.padding === undefined ? [0, 0] as [number, number] : pair(op, 'padding', options.padding, 0);
  const [oh, ow] = unpooledSize(op, t.shape, k, s, p, options.outputSize);
  return unpoolPlanes(op, t, ti, [...t.shape.slice(0, -2), oh, ow]);
}

/**
 * @internal Each value of x [..., h, w] to the place its index (checked, x's shape) names in its
 * plane of `outShape` [..., H, W] (same leading dims), recorded; maxUnpool3d's core too.
 */
export function unpoolPlanes(op: string, t: F32, ti: I32, outShape: number[]): F32 {
  // The backward needs to know which inputs stayed: the forward marks them when recorded.
  const [yh, kh] = native.maxUnpool2dForward(t.handle(op), ti.handle(op), outShape, isRecording([t]));
  const y = f32(yh, outShape), kept = kh === null ? null : i32(kh as Handle, t.shape);
  const xs = t.shape;
  record(op, y, [t], (dy, [si, sk]) => [maxUnpool2dBackward(dy, si, sk, xs)], kept ? [ti, kept] : []);
  kept?.dispose();  // record keeps its own handle
  return y;
}

/**
 * @internal maxUnpool2d's forward with `kept` (int32, x's shape: 1 where x[i]'s value stayed in
 * the output, 0 where a later index to the same place replaced it), what its backward takes.
 */
export function maxUnpool2dForward(x: Tensor, indices: Tensor, outputShape: readonly number[]): [F32, I32] {
  const op = 'maxUnpool2d';
  const t = input(op, 'x', x);
  const ti = indicesArg(op, 'indices', indices, t.shape);
  const [yh, kh] = native.maxUnpool2dForward(t.handle(op), ti.handle(op), checkInputShape(op, outputShape), true);
  return [f32(yh, outputShape), i32(kh as Handle, t.shape)];
}

/** @internal dx of maxUnpool2d: dy at each index, for the inputs whose values stayed (`kept`). */
export function maxUnpool2dBackward(dy: Tensor, indices: Tensor, kept: Tensor, inputShape: readonly number[]): F32 {
  const op = 'maxUnpool2d backward';
  const xs = checkInputShape(op, inputShape);
  const tdy = checkTensor(op, 'dy', dy);
  const gdy = grad(op, 'dy', tdy, [...xs.slice(0, -2), ...tdy.shape.slice(-2)]);
  const ti = indicesArg(op, 'indices', indices, xs);
  const tk = indicesArg(op, 'kept', kept, xs);
  return f32(native.maxUnpool2dBackward(gdy.handle(op), ti.handle(op), tk.handle(op), xs), xs);
}

// ---- average pooling -------------------------------------------------------------------------

function divisorArg(op: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail('E_ARG', `${op}: expected \`divisorOverride\` to be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/**
 * 2-D average pooling: each window's mean; `countIncludePad` (default true) counts the zero
 * padding in the divisor, `divisorOverride` replaces it.
 * @example F.avgPool2d(x, 2)   // [N, C, H/2, W/2]
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): F32 {
  options = checkOptions<AvgPool2dOptions>('avgPool2d', options, AVG_POOL_KEYS);
  const op = 'avgPool2d';
  const t = input(op, 'x', x);
  const win = window(op, t.shape, kernelSize, options);
  const include = flag(op, 'countIncludePad', options.countIncludePad, true);
  const divisor = divisorArg(op, options.divisorOverride);
  const y = f32(native.avgPool2dForward(t.handle(op), win.params, win.ceilMode, include, divisor), win.shape);
  const xs = t.shape, o = { ...options };
  return record(op, y, [t], (dy) => [avgPool2dBackward(dy, xs, kernelSize, o)], [], { window: win.params, ceilMode: win.ceilMode, countIncludePad: include, divisor });
}

/** @internal dx of avgPool2d (the same kernelSize and options as the forward). */
export function avgPool2dBackward(dy: Tensor, inputShape: readonly number[], kernelSize: Size2, options: AvgPool2dOptions = {}): F32 {
  options = checkOptions<AvgPool2dOptions>('avgPool2dBackward', options, AVG_POOL_KEYS);
  const op = 'avgPool2d backward';
  const xs = checkInputShape(op, inputShape);
  if (xs.slice(-3).some((d) => d === 0)) fail('E_SHAPE', `${op}: expected non-zero channel and spatial sizes, got ${shapeStr(xs)}`);
  const win = window(op, xs, kernelSize, options);
  const include = flag(op, 'countIncludePad', options.countIncludePad, true);
  const divisor = divisorArg(op, options.divisorOverride);
  const tdy = grad(op, 'dy', dy, win.shape);
  return f32(native.avgPool2dBackward(tdy.handle(op), xs, win.params, win.ceilMode, include, divisor), xs);
}

// ---- Lp pooling ------------------------------------------------------------------------------

function normTypeArg(op: string, p: unknown): number {
  if (typeof p !== 'number' || !(p > 0) || !Number.isFinite(p)) {
    fail('E_ARG', `${op}: expected \`normType\` to be a positive finite number, got ${describe(p)}`);
  }
  return p;
}

/**
 * 2-D power-average pooling, as PyTorch's LPPool2d: y = (sum over the window of x^p)^(1/p)
 * (p = 1: sum pooling; p -> infinity: max pooling of |x|). With `mean: true`, the power mean
 * (sum x^p / |R|)^(1/p), so p = 1 is average pooling. No padding. As PyTorch, a ceilMode window
 * cut by the edge has its sum scaled to the full kernel, and negative inputs go through x^p as
 * they are (NaN for fractional p). Windows whose sum is 0 get a zero gradient.
 * @example F.lpPool2d(x, 2, 3, { stride: 2 })
 */
export function lpPool2d(x: Tensor, normType: number, kernelSize: Size2, options: LpPool2dOptions = {}): F32 {
  options = checkOptions<LpPool2dOptions>('lpPool2d', options, LP_POOL_KEYS);
  const op = 'lpPool2d';
  const p = normTypeArg(op, normType);
  const t = input(op, 'x', x);
  const win = window(op, t.shape, kernelSize, { stride: options.stride, ceilMode: options.ceilMode });
  const mean = flag(op, 'mean', options.mean, false);
  const y = f32(native.lpPool2dForward(t.handle(op), p, win.params, win.ceilMode, mean), win.shape);
  const o = { ...options };
  return record(op, y, [t], (dy, [sx, sy]) => [lpPool2dBackward(dy, sx, sy, p, kernelSize, o)], [t, y]);
}

/** @internal dx of lpPool2d, from dy and the forward's x and y. */
export function lpPool2dBackward(dy: Tensor, x: Tensor, y: Tensor, normType: number, kernelSize: Size2, options: LpPool2dOptions = {}): F32 {
  options = checkOptions<LpPool2dOptions>('lpPool2dBackward', options, LP_POOL_KEYS);
  const op = 'lpPool2d backward';
  const p = normTypeArg(op, normType);
  const tx = input(op, 'x', x);
  const win = window(op, tx.shape, kernelSize, { stride: options.stride, ceilMode: options.ceilMode });
  const mean = flag(op, 'mean', options.mean, false);
  const [tdy, ty] = [grad(op, 'dy', dy, win.shape), grad(op, 'y', y, win.shape)];
  return f32(native.lpPool2dBackward(tdy.handle(op), tx.handle(op), ty.handle(op), p, win.params, win.ceilMode, mean), tx.shape);
}

// ---- mixed pooling ---------------------------------------------------------------------------

/**
 * Mixed pooling (Yu et al. 2014): y = lambda * max + (1 - lambda) * mean over each window, one
 * lambda per (sample, channel). The mean counts padding as zeros (avgPool2d with
 * countIncludePad), so y = lambda * maxPool2d(x) + (1 - lambda) * avgPool2d(x). In training,
 * lambda is drawn from the seeded generator (`manualSeed`): 0 or 1 with probability 1/2
 * ('bernoulli') or uniform in [0, 1); in evaluation it is `lambda` (default 0.5). With
 * `returnLambda`, also returns the float32 [N, C] lambdas, which the backward needs.
 * @example F.mixedPool2d(x, 2, { training: true })
 */
export function mixedPool2d(x: Tensor, kernelSize: Size2, options?: MixedPool2dOptions & { returnLambda?: false }): F32;
export function mixedPool2d(x: Tensor, kernelSize: Size2, options: MixedPool2dOptions & { returnLambda: true }): [F32, F32];
export function mixedPool2d(x: Tensor, kernelSize: Size2, options: MixedPool2dOptions = {}): F32 | [F32, F32] {
  options = checkOptions<MixedPool2dOptions>('mixedPool2d', options, MIXED_POOL_KEYS);
  const returnLambda = flag('mixedPool2d', 'returnLambda', options.returnLambda, false);
  // Recorded, it keeps the forward's lambdas and argmax for the backward (not drawn again).
  const recording = isRecording([x]);
  const [y, lambda, indices] = mixedPool(x, kernelSize, options, recording);
  if (indices !== null) {
    const xs = (x as Tensor).shape, o = { ...options };
    record('mixedPool2d', y, [x], (dy, [si, sl]) => [mixedPool2dBackward(dy, si, sl, xs, kernelSize, o)], [indices, lambda]);
    indices.dispose();
  }
  if (returnLambda) return [y, lambda];
  lambda.dispose();
  return y;
}

/**
 * @internal mixedPool2d with what its backward needs: the output, the lambdas (float32 [N, C])
 * and the int32 index of each window's maximum (as maxPool2d's).
 */
export function mixedPool2dForward(x: Tensor, kernelSize: Size2, options: MixedPool2dOptions = {}): [F32, F32, I32] {
  options = checkOptions<MixedPool2dOptions>('mixedPool2dForward', options, MIXED_POOL_KEYS);
  const [y, lambda, indices] = mixedPool(x, kernelSize, options, true);
  return [y, lambda, indices as I32];
}

function mixedPool(x: Tensor, kernelSize: Size2, options: MixedPool2dOptions, withIndices: boolean): [F32, F32, I32 | null] {
  const op = 'mixedPool2d';
  const t = input(op, 'x', x);
  const win = window(op, t.shape, kernelSize, { stride: options.stride, padding: options.padding, ceilMode: options.ceilMode });
  const mode = options.mode ?? 'bernoulli';
  if (mode !== 'bernoulli' && mode !== 'uniform') fail('E_ARG', `${op}: expected \`mode\` 'bernoulli' or 'uniform', got ${describe(mode)}`);
  const lambda = checkNumber(op, 'lambda', options.lambda ?? 0.5);
  if (lambda < 0 || lambda > 1) fail('E_ARG', `${op}: expected \`lambda\` in [0, 1], got ${lambda}`);
  const training = flag(op, 'training', options.training, false);
  const [y, lam, indices] = native.mixedPool2dForward(t.handle(op), win.params, win.ceilMode, training ? (mode === 'bernoulli' ? 1 : 2) : 0, lambda, withIndices);
  return [f32(y, win.shape), f32(lam, t.shape.slice(0, -2)), indices ? i32(indices, win.shape) : null];
}

/** @internal dx of mixedPool2d, from dy and the forward's indices and lambdas (mixedPool2dForward). */
export function mixedPool2dBackward(dy: Tensor, indices: Tensor, lambda: Tensor, inputShape: readonly number[], kernelSize: Size2, options: MixedPool2dOptions = {}): F32 {
  options = checkOptions<MixedPool2dOptions>('mixedPool2dBackward', options, MIXED_POOL_KEYS);
  const op = 'mixedPool2d backward';
  const xs = checkInputShape(op, inputShape);
  if (xs.slice(-3).some((d) => d === 0)) fail('E_SHAPE', `${op}: expected non-zero channel and spatial sizes, got ${shapeStr(xs)}`);
  const win = window(op, xs, kernelSize, { stride: options.stride, padding: options.padding, ceilMode: options.ceilMode });
  const tdy = grad(op, 'dy', dy, win.shape);
  const ti = indicesArg(op, 'indices', indices, win.shape);
  const tl = grad(op, 'lambda', lambda, xs.slice(0, -2));
  return f32(native.mixedPool2dBackward(tdy.handle(op), ti.handle(op), tl.handle(op), xs, win.params, win.ceilMode), xs);
}

// ---- stochastic pooling ----------------------------------------------------------------------

/**
 * Stochastic pooling (Zeiler and Fergus 2013): in training, each window outputs one of its values,
 * picked at random with probability proportional to it (p_i = a_i / sum a over the window, for
 * the non-negative values a ReLU gives; negative values have probability 0), from the seeded
 * generator (`manualSeed`); the gradient goes to the picked value alone. In evaluation, the
 * expectation of that pick, sum a_i^2 / sum a_i (the paper's probabilistic weighting). A window
 * with nothing positive outputs 0 (no gradient); a NaN wins (as in maxPool2d); padding is never
 * picked. PyTorch has no stochastic pooling; the rules are in native/cpu/stochastic_pool_window.h.
 * @example F.stochasticPool2d(F.relu(x), 3, { stride: 2, training: true })
 */
export function stochasticPool2d(x: Tensor, kernelSize: Size2, options: StochasticPool2dOptions = {}): F32 {
  options = checkOptions<StochasticPool2dOptions>('stochasticPool2d', options, STOCHASTIC_POOL_KEYS);
  const training = flag('stochasticPool2d', 'training', options.training, false);
  const recording = isRecording([x]);
  const [y, indices] = stochasticPool(x, kernelSize, options, training, training && recording);
  const xs = x as F32, o = { ...options };
  if (!training) return record('stochasticPool2d', y, [xs], (dy, [sx]) => [stochasticPool2dBackward(dy, sx, null, kernelSize, o)], [xs]);
  if (indices !== null) {
    record('stochasticPool2d', y, [xs], (dy, [sx, si]) => [stochasticPool2dBackward(dy, sx, si, kernelSize, o)], [xs, indices]);
    indices.dispose();
  }
  return y;
}

/**
 * @internal stochasticPool2d in training with what its backward needs: the output and the int32
 * index of each window's pick (flat h * W + w within the plane; -1 where nothing was picked).
 */
export function stochasticPool2dForward(x: Tensor, kernelSize: Size2, options: Omit<StochasticPool2dOptions, 'training'> = {}): [F32, I32] {
  options = checkOptions<StochasticPool2dOptions>('stochasticPool2dForward', options, STOCHASTIC_POOL_KEYS.slice(0, 3));
  const [y, indices] = stochasticPool(x, kernelSize, options, true, true);
  return [y, indices as I32];
}

function stochasticPool(x: Tensor, kernelSize: Size2, options: StochasticPool2dOptions, training: boolean, withIndices: boolean): [F32, I32 | null] {
  const op = 'stochasticPool2d';
  const t = input(op, 'x', x);
  const win = window(op, t.shape, kernelSize, { stride: options.stride, padding: options.padding, ceilMode: options.ceilMode });
  const [y, indices] = native.stochasticPool2dForward(t.handle(op), win.params, win.ceilMode, training, withIndices);
  return [f32(y, win.shape), indices ? i32(indices, win.shape) : null];
}

/**
 * @internal dx of stochasticPool2d: from the picks' indices in training (stochasticPool2dForward),
 * or, with `indices` null, of the evaluation's expectation at x.
 */
export function stochasticPool2dBackward(dy: Tensor, x: Tensor, indices: Tensor | null, kernelSize: Size2, options: StochasticPool2dOptions = {}): F32 {
  options = checkOptions<StochasticPool2dOptions>('stochasticPool2dBackward', options, STOCHASTIC_POOL_KEYS);
  const op = 'stochasticPool2d backward';
  const tx = input(op, 'x', x);
  const win = window(op, tx.shape, kernelSize, { stride: options.stride, padding: options.padding, ceilMode: options.ceilMode });
  const tdy = grad(op, 'dy', dy, win.shape);
  const ti = indices === null ? null : indicesArg(op, 'indices', indices, win.shape);
  return f32(native.stochasticPool2dBackward(tdy.handle(op), tx.handle(op), ti === null ? null : ti.handle(op), win.params, win.ceilMode), tx.shape);
}

// ---- adaptive pooling ------------------------------------------------------------------------

/** An adaptive output size: a number, or a pair whose null entries keep the input's size. */
function outputSizeArg(op: string, value: unknown, x: readonly number[]): [number, number] {
  const v = typeof value === 'number' ? [value, value] : value;
  const ok = (d: unknown) => d === null || (typeof d === 'number' && Number.isSafeInteger(d) && d > 0);
  if (!Array.isArray(v) || v.length !== 2 || !v.every(ok)) {
    fail('E_ARG', `${op}: expected \`outputSize\` to be a positive integer or a pair of them (or null), got ${describe(value)}`);
  }
  return [v[0] ?? x[x.length - 2], v[1] ?? x[x.length - 1]];
}

/**
 * Adaptive average pooling to a fixed output size: output (i, j) averages rows
 * [floor(i H / oh), ceil((i + 1) H / oh)) and the same for columns. outputSize 1 is global
 * average pooling.
 * @example F.adaptiveAvgPool2d(x, [6, 6])
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): F32 {
  const op = 'adaptiveAvgPool2d';
  const t = input(op, 'x', x);
  const size = outputSizeArg(op, outputSize, t.shape);
  const [yh] = native.adaptivePool2dForward(0, t.handle(op), size, false);
  const y = f32(yh, [...t.shape.slice(0, -2), ...size]);
  const xs = t.shape;
  return record(op, y, [t], (dy) => [adaptiveAvgPool2dBackward(dy, xs)], [], { outputSize: size });
}

/** @internal dx of adaptiveAvgPool2d. */
export function adaptiveAvgPool2dBackward(dy: Tensor, inputShape: readonly number[]): F32 {
  const op = 'adaptiveAvgPool2d backward';
  const xs = checkInputShape(op, inputShape);
  const tdy = checkTensor(op, 'dy', dy);
  const gdy = grad(op, 'dy', tdy, [...xs.slice(0, -2), ...tdy.shape.slice(-2)]);
  return f32(native.adaptiveAvgPool2dBackward(gdy.handle(op), xs), xs);
}

/**
 * Adaptive max pooling to a fixed output size (windows as adaptiveAvgPool2d), with the indices
 * of the maxima on request.
 * @example F.adaptiveMaxPool2d(x, 1)   // global max pooling
 */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null], options?: { returnIndices?: false }): F32;
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null], options: { returnIndices: true }): [F32, I32];
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null], options: { returnIndices?: boolean } = {}): F32 | [F32, I32] {
  options = checkOptions<{ returnIndices?: boolean }>('adaptiveMaxPool2d', options, ['returnIndices']);
  const op = 'adaptiveMaxPool2d';
  const t = input(op, 'x', x);
  const size = outputSizeArg(op, outputSize, t.shape);
  const withIndices = flag(op, 'returnIndices', options.returnIndices, false);
  const shape = [...t.shape.slice(0, -2), ...size];
  const recording = isRecording([t]);
  const [yh, ih] = native.adaptivePool2dForward(1, t.handle(op), size, withIndices || recording);
  const y = f32(yh, shape), indices = ih === null ? null : i32(ih as Handle, shape);
  const xs = t.shape;
  record(op, y, [t], (dy, [si]) => [maxPool2dBackward(dy, si, xs)], indices ? [indices] : [], { outputSize: size });
  if (withIndices) return [y, indices as I32];
  indices?.dispose();
  return y;
}

/** @internal dx of adaptiveMaxPool2d: dy sent to the indices of the maxima. */
export function adaptiveMaxPool2dBackward(dy: Tensor, indices: Tensor, inputShape: readonly number[]): F32 {
  return maxPool2dBackward(dy, indices, inputShape);
}

export interface SpatialPyramidPool2dOptions {
  /** 'max' (default, as SPP-net) or 'avg'. */
  mode?: 'max' | 'avg';
}

/**
 * Spatial pyramid pooling (He, Zhang, Ren and Sun, "Spatial pyramid pooling in deep
 * convolutional networks for visual recognition", 2014; the survey's SPP): x [N, C, H, W] of
 * any height and width pooled to n x n bins for each level n, flattened and joined, so that a
 * fully connected layer after it takes images of any size: [N, C · Σ n²], level by level, each
 * [C, n, n] in order. The bins are adaptive pooling's (`F.adaptiveMaxPool2d`: rows
 * [floor(i H / n), ceil((i + 1) H / n))), which cover the map exactly (the paper's
 * ceil-size, floor-stride windows can leave its last rows out).
 * @example F.spatialPyramidPool2d(features, [1, 2, 4])   // [N, 21 C] for any H, W >= 1
 */
export function spatialPyramidPool2d(x: Tensor, levels: readonly number[], options: SpatialPyramidPool2dOptions = {}): F32 {
  const op = 'spatialPyramidPool2d';
  const t = input(op, 'x', x, [4]);
  const o = checkOptions<SpatialPyramidPool2dOptions>(op, options, ['mode']);
  const mode = o.mode ?? 'max';
  if (mode !== 'max' && mode !== 'avg') fail('E_ARG', `${op}: expected \`mode\` 'max' or 'avg', got ${describe(mode)}`);
  const sizes = checkLevels(op, levels);
  return tidy(() => {
    const parts = sizes.map((n) => flatten(mode === 'max' ? adaptiveMaxPool2d(t, n) : adaptiveAvgPool2d(t, n), 1));
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  });
}

/** @internal The pyramid's levels: 1 to 64 positive integers (each at most 2^16). */
export function checkLevels(op: string, levels: unknown): number[] {
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= 65536;
  if (!Array.isArray(levels) || levels.length < 1 || levels.length > 64 || ![...levels].every(ok)) {
    fail('E_ARG', `${op}: expected \`levels\` to be 1 to 64 positive integers (bins a side), got ${describe(levels)}`);
  }
  return [...levels] as number[];
}

// ---- spectral pooling ------------------------------------------------------------------------

/**
 * Spectral pooling (Rippel, Snoek and Adams, "Spectral representations for convolutional neural
 * networks", 2015; the survey's spectral pooling): x [N, C, H, W] (or [C, H, W]) to outputSize
 * by keeping only the lowest frequencies of each map's discrete Fourier transform, the h x w
 * nearest 0, and transforming back. It keeps far more of the map than max or average pooling of
 * the same size, and lets the size shrink by any factor. Fourier resampling, so a larger size
 * interpolates (a zero-padded spectrum), and the map's mean is kept.
 *
 * The crop and both transforms are linear and separable, so this is one real matrix a side:
 * y = A_h x A_w^T, with A[n][m] = (1/M) Σ_k w_k cos(2π k (n/out - m/M)) over the frequencies k
 * from -L/2 to L/2 (L = min(out, M)): w_k = 1, and 1/2 at k = ±L/2 for an even L, where the
 * Nyquist frequency is split between ±L/2 so that the result is real (the paper's corner cases;
 * the same as its real part). Two matrix products, on either device, differentiable.
 * @example F.spectralPool2d(features, [7, 7])
 */
export function spectralPool2d(x: Tensor, outputSize: Size2): F32 {
  const op = 'spectralPool2d';
  const t = input(op, 'x', x);
  const [h, w] = pair(op, 'outputSize', outputSize);
  const rows = t.shape[t.rank - 2], cols = t.shape[t.rank - 1];
  if (h * rows > 2 ** 26 || w * cols > 2 ** 26) fail('E_ARG', `${op}: sizes ${shapeStr([rows, cols])} to ${shapeStr([h, w])} need resampling matrices of over 2^26 entries`);
  return tidy(() => {
    const aw = tensor(spectralMatrix(w, cols), { shape: [w, cols], device: t.device });
    const ah = tensor(spectralMatrix(h, rows), { shape: [h, rows], device: t.device });
    return matmul(ah, matmul(t, aw, { transB: true }));
  });
}

// The matrices of the last few sizes (each O(out · M · L) cosines to build; 112 from 224 is 2.8M).
const spectralMatrices = new Map<string, Float32Array>();

/** @internal spectralPool2d's [out, size] matrix, row-major (see spectralPool2d). */
export function spectralMatrix(out: number, size: number): Float32Array {
  const key = `${out},${size}`;
  const cached = spectralMatrices.get(key);
  if (cached) return cached;
  const L = Math.min(out, size), half = Math.floor(L / 2);
  const a = new Float32Array(out * size);
  for (let n = 0; n < out; n++) {
    for (let m = 0; m < size; m++) {
      const phase = 2 * Math.PI * (n / out - m / size);
      let sum = 1;   // k = 0
      for (let k = 1; k <= half; k++) sum += (L % 2 === 0 && k === half ? 1 : 2) * Math.cos(k * phase);   // ±k together
      a[n * size + m] = sum / size;
    }
  }
  if (spectralMatrices.size >= 32) spectralMatrices.delete(spectralMatrices.keys().next().value as string);
  spectralMatrices.set(key, a);
  return a;
}

// ---- RoI pooling -----------------------------------------------------------------------------

function roiArgs(op: string, x: unknown, boxes: unknown, outputSize: unknown, spatialScale: unknown): { t: F32; b: F32; size: [number, number]; scale: number } {
  const t = input(op, 'x', x, [4]);
  const b = checkTensor(op, 'boxes', boxes);
  checkDtype(op, 'boxes', b, 'float32');
  if (b.rank !== 2 || b.shape[1] !== 5) fail('E_SHAPE', `${op}: expected \`boxes\` of shape [K, 5] (batch index, x1, y1, x2, y2), got ${shapeStr(b.shape)}`);
  const size = pair(op, 'outputSize', outputSize);
  const scale = checkNumber(op, 'spatialScale', spatialScale);
  if (scale <= 0) fail('E_ARG', `${op}: expected \`spatialScale\` > 0, got ${scale}`);
  return { t, b: b as F32, size, scale };
}

/**
 * Region-of-interest max pooling (Fast R-CNN), as torchvision.ops.roi_pool: each box
 * (batch index, x1, y1, x2, y2), in input coordinates times `spatialScale`, is rounded to the
 * grid, cut into outputSize bins, and each bin max-pooled; empty bins give 0. A batch index out
 * of range is an E_INDEX error at the next wait.
 * @example F.roiPool(features, boxes, 7, 1 / 16)   // [K, C, 7, 7]
 */
export function roiPool(x: Tensor, boxes: Tensor, outputSize: Size2, spatialScale = 1): F32 {
  const [y, argmax] = roiPoolWithArgmax(x, boxes, outputSize, spatialScale);
  argmax.dispose();
  return y;
}

/** @internal roiPool and the int32 index of each bin's maximum (-1 for an empty bin), for the backward. */
export function roiPoolWithArgmax(x: Tensor, boxes: Tensor, outputSize: Size2, spatialScale = 1): [F32, I32] {
  const op = 'roiPool';
  const { t, b, size, scale } = roiArgs(op, x, boxes, outputSize, spatialScale);
  const shape = [b.shape[0], t.shape[1], ...size];
  const [yh, ah] = native.roiPoolForward(t.handle(op), b.handle(op), size, scale);
  const y = f32(yh, shape), argmax = i32(ah, shape);
  // Gradients reach x only: the box coordinates are rounded to the grid (piecewise constant).
  const xs = t.shape;
  record(op, y, [t, b], (dy, [sa, sb]) => [roiPoolBackward(dy, sa, sb, xs), null], [argmax, b]);
  return [y, argmax];
}

/** @internal dx of roiPool (to x only). */
export function roiPoolBackward(dy: Tensor, argmax: Tensor, boxes: Tensor, inputShape: readonly number[]): F32 {
  const op = 'roiPool backward';
  const xs = checkInputShape(op, inputShape, [4]);
  const b = checkTensor(op, 'boxes', boxes);
  checkDtype(op, 'boxes', b, 'float32');
  if (b.rank !== 2 || b.shape[1] !== 5) fail('E_SHAPE', `${op}: expected \`boxes\` of shape [K, 5], got ${shapeStr(b.shape)}`);
  const tdy = checkTensor(op, 'dy', dy);
  const gdy = grad(op, 'dy', tdy, [b.shape[0], xs[1], ...tdy.shape.slice(-2)]);
  const ta = indicesArg(op, 'argmax', argmax, gdy.shape);
  return f32(native.roiPoolBackward(gdy.handle(op), ta.handle(op), b.handle(op), xs), xs);
}

// ---- RoI align -------------------------------------------------------------------------------

/**
 * The largest `samplingRatio` roiAlign takes (native/cpu/roi_align_geometry.h's
 * kMaxSamplingRatio): a bin averages samplingRatio^2 samples per channel wherever the box lies,
 * so 1024 is already 2^20 a bin (about 27 s for one box of 256 channels at 7x7 on 2 cores), and
 * torchvision's "any int" let 1e6 hang (1e12 a bin). Models use 0 (adaptive), 2 or 4.
 */
export const MAX_SAMPLING_RATIO = 1024;

/** @internal roiAlign's and nn.RoIAlign's samplingRatio: an int32, at most MAX_SAMPLING_RATIO (<= 0: adaptive). */
export function checkSamplingRatio(op: string, value: unknown): number {
  const ratio = checkInt(op, 'samplingRatio', value, -(2 ** 31), 2 ** 31 - 1);
  if (ratio > MAX_SAMPLING_RATIO) {
    fail('E_ARG', `${op}: expected \`samplingRatio\` <= ${MAX_SAMPLING_RATIO} (${MAX_SAMPLING_RATIO}^2 samples per bin and channel already), got ${ratio}; 0 or less samples adaptively (about one per pixel)`);
  }
  return ratio;
}

function roiAlignOptions(op: string, options: unknown): { scale: number; samplingRatio: number; aligned: boolean } {
  const o = checkOptions<RoIAlignOptions>(op, options, ROI_ALIGN_KEYS);
  const scale = o.spatialScale === undefined ? 1 : checkNumber(op, 'spatialScale', o.spatialScale);
  if (scale <= 0) fail('E_ARG', `${op}: expected \`spatialScale\` > 0, got ${scale}`);
  const samplingRatio = o.samplingRatio === undefined ? -1 : checkSamplingRatio(op, o.samplingRatio);
  return { scale, samplingRatio, aligned: flag(op, 'aligned', o.aligned, false) };
}

/**
 * Region-of-interest align (Mask R-CNN), as torchvision.ops.roi_align: each box
 * (batch index, x1, y1, x2, y2), in input coordinates times `spatialScale`, is cut into
 * outputSize bins without rounding, and each bin is the mean of samplingRatio x samplingRatio
 * bilinear samples (ceil(bin size) per axis when samplingRatio <= 0). Samples further than a
 * pixel outside the map count as 0. Gradients reach x only (as torchvision's). A batch index out
 * of range is an E_INDEX error at the next wait; a box with a NaN or infinite coordinate gives NaN
 * in all its bins and no gradient (torchvision's is undefined there).
 *
 * Unlike torchvision, samplingRatio is bounded: above MAX_SAMPLING_RATIO (1024, i.e. 2^20
 * samples per bin and channel) it is an E_ARG error, since torchvision's 1e6 means 1e12 samples
 * per bin and never finishes. The adaptive grid needs no bound: only its samples within a pixel
 * of the map are visited, so even an astronomically large box costs about what the map's area
 * costs (a few samples per pixel), however large the box.
 * @example F.roiAlign(features, boxes, 7, { spatialScale: 1 / 16, samplingRatio: 2, aligned: true })   // [K, C, 7, 7]
 */
export function roiAlign(x: Tensor, boxes: Tensor, outputSize: Size2, options: RoIAlignOptions = {}): F32 {
  const op = 'roiAlign';
  const { t, b, size } = roiArgs(op, x, boxes, outputSize, 1);  // the scale is an option here, checked below
  const o = roiAlignOptions(op, options);
  const y = f32(native.roiAlignForward(t.handle(op), b.handle(op), size, o.scale, o.samplingRatio, o.aligned), [b.shape[0], t.shape[1], ...size]);
  // Gradients reach x only: torchvision's roi_align has none for the boxes either.
  const xs = t.shape, saved = { spatialScale: o.scale, samplingRatio: o.samplingRatio, aligned: o.aligned };
  record(op, y, [t, b], (dy, [sb]) => [roiAlignBackward(dy, sb, xs, saved), null], [b]);
  return y;
}

/** @internal dx of roiAlign (to x only); outputSize is dy's last two sizes. */
export function roiAlignBackward(dy: Tensor, boxes: Tensor, inputShape: readonly number[], options: RoIAlignOptions = {}): F32 {
  const op = 'roiAlign backward';
  const xs = checkInputShape(op, inputShape, [4]);
  const b = checkTensor(op, 'boxes', boxes);
  checkDtype(op, 'boxes', b, 'float32');
  if (b.rank !== 2 || b.shape[1] !== 5) fail('E_SHAPE', `${op}: expected \`boxes\` of shape [K, 5], got ${shapeStr(b.shape)}`);
  const o = roiAlignOptions(op, options);
  const tdy = checkTensor(op, 'dy', dy);
  if (tdy.rank !== 4) fail('E_SHAPE', `${op}: expected \`dy\` of shape [K, C, oh, ow], got ${shapeStr(tdy.shape)}`);
  const gdy = grad(op, 'dy', tdy, [b.shape[0], xs[1], ...tdy.shape.slice(-2)]);
  return f32(native.roiAlignBackward(gdy.handle(op), b.handle(op), xs, o.scale, o.samplingRatio, o.aligned), xs);
}

// ---- 1-D max and average pooling ---------------------------------------------------------------
// Over [N, C, L] (or [C, L]) as the 2-D pools over a unit height, as conv1d is done over conv2d:
// the reshapes are views, and the gradients are the 2-D pools' own.

/** A size of a 1-D pool: an integer or a one-element array (PyTorch's 1-tuple). */
export type Size1 = number | readonly [number];

export interface MaxPool1dOptions {
  /** Default: the kernel size. */
  stride?: Size1 | null;
  /** Implicit -inf padding on both sides, at most half the kernel. Default 0. */
  padding?: Size1;
  dilation?: Size1;
  ceilMode?: boolean;
  /** Also return the int32 index (along L) of each maximum. */
  returnIndices?: boolean;
}

export interface AvgPool1dOptions {
  stride?: Size1 | null;
  /** Implicit zero padding, at most half the kernel. Default 0. */
  padding?: Size1;
  ceilMode?: boolean;
  /** Count the padding in the divisor. Default true. */
  countIncludePad?: boolean;
}

/** @internal An integer >= min from a number or a one-element array. */
export function single(op: string, name: string, value: unknown, min: number): number {
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail('E_ARG', `${op}: expected \`${name}\` to be ${min > 0 ? 'a positive' : 'a non-negative'} integer (or a one-element array), got ${describe(value)}`);
  }
  return v;
}

interface Window1 { k: number; s: number; p: number; d: number; ceilMode: boolean; x: F32 }

function window1(op: string, x: unknown, kernelSize: unknown, o: { stride?: unknown; padding?: unknown; dilation?: unknown; ceilMode?: unknown }): Window1 {
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, L] or [C, L], got ${shapeStr(t.shape)}`);
  if (t.shape.slice(-2).some((d) => d === 0)) fail('E_SHAPE', `${op}: expected non-zero channel and length sizes, got ${shapeStr(t.shape)}`);
  const k = single(op, 'kernelSize', kernelSize, 1);
  const s = o.stride === undefined || o.stride === null ? k : single(op, 'stride', o.stride, 1);
  const p = o.padding === undefined ? 0 : single(op, 'padding', o.padding, 0);
  const d = o.dilation === undefined ? 1 : single(op, 'dilation', o.dilation, 1);
  const ceilMode = flag(op, 'ceilMode', o.ceilMode, false);
  if (p > Math.floor(k / 2)) fail('E_ARG', `${op}: padding must be at most half the kernel size, got padding ${p} for kernel ${k}`);
  const L = t.shape[t.rank - 1];
  const out = pooledSize(L, k, p, s, d, ceilMode);
  if (out < 1) fail('E_SHAPE', `${op}: input ${shapeStr(t.shape)} is too small for the window (output length ${out})`);
  return { k, s, p, d, ceilMode, x: t };
}

/** [..., L] viewed as [..., 1, L], and back. */
const withHeight = <T extends Tensor>(t: T): T => reshape(t, [...t.shape.slice(0, -1), 1, t.shape[t.rank - 1]]) as T;
const withoutHeight = <T extends Tensor>(t: T): T => reshape(t, [...t.shape.slice(0, -2), t.shape[t.rank - 1]]) as T;

export interface MaxUnpool1dOptions {
  /** Default: the kernel size. */
  stride?: Size1 | null;
  /** The pooling's padding. Default 0. */
  padding?: Size1;
  /** The output's length [L] (or its whole shape), where the default (Lin - 1) * stride - 2 * padding + kernel is ambiguous. */
  outputSize?: readonly number[];
}

/**
 * The inverse of maxPool1d with its indices, as torch.nn.functional.max_unpool1d: each value of
 * x [N, C, L] (or [C, L]) goes back to the position along L its index names, zeros elsewhere
 * (maxUnpool2d over a height of 1: the same rules for repeated indices and the gradient).
 * @example const [y, idx] = F.maxPool1d(x, 2, { returnIndices: true }); F.maxUnpool1d(y, idx, 2)   // x's length
 */
export function maxUnpool1d(x: Tensor, indices: Tensor, kernelSize: Size1, options: MaxUnpool1dOptions = {}): F32 {
  const op = 'maxUnpool1d';
  const o = checkOptions<MaxUnpool1dOptions>(op, options, MAX_UNPOOL_KEYS);
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, L] or [C, L], got ${shapeStr(t.shape)}`);
  const k = single(op, 'kernelSize', kernelSize, 1);
  const s = o.stride === undefined || o.stride === null ? k : single(op, 'stride', o.stride, 1);
  const p = o.padding === undefined ? 0 : single(op, 'padding', o.padding, 0);
  let outputSize: number[] | undefined;
  if (o.outputSize !== undefined && o.outputSize !== null) {
    if (!Array.isArray(o.outputSize) || (o.outputSize.length !== 1 && o.outputSize.length !== t.rank)) {
      fail('E_ARG', `${op}: expected \`outputSize\` [L] or the output's whole shape (rank ${t.rank}), got ${describe(o.outputSize)}`);
    }
    const L = o.outputSize[o.outputSize.length - 1], want = (t.shape[t.rank - 1] - 1) * s - 2 * p + k;
    if (typeof L !== 'number' || !Number.isSafeInteger(L) || !(L > Math.max(0, want - s) && L < want + s)) {
      fail('E_ARG', `${op}: \`outputSize\` ${describe(o.outputSize)}: the length must be between ${Math.max(0, want - s) + 1} and ${want + s - 1} for x ${shapeStr(t.shape)}`);
    }
    outputSize = [1, L];
  }
  const ti = checkTensor(op, 'indices', indices);
  if (ti.rank !== t.rank) fail('E_SHAPE', `${op}: expected \`indices\` of x's shape ${shapeStr(t.shape)}, got ${shapeStr(ti.shape)}`);
  return tidy(() => withoutHeight(maxUnpool2d(withHeight(t), withHeight(ti), [1, k], { stride: [1, s], padding: [0, p], outputSize })));
}

/**
 * 1-D max pooling over [N, C, L] or [C, L], as torch.nn.functional.max_pool1d; with
 * `returnIndices`, also the int32 index along L of each (first) maximum.
 * @example F.maxPool1d(x, 3, { stride: 2, padding: 1 })
 */
export function maxPool1d(x: Tensor, kernelSize: Size1, options?: MaxPool1dOptions & { returnIndices?: false }): F32;
export function maxPool1d(x: Tensor, kernelSize: Size1, options: MaxPool1dOptions & { returnIndices: true }): [F32, I32];
export function maxPool1d(x: Tensor, kernelSize: Size1, options: MaxPool1dOptions = {}): F32 | [F32, I32] {
  const op = 'maxPool1d';
  const o = checkOptions<MaxPool1dOptions>(op, options, MAX_POOL_KEYS);
  const w = window1(op, x, kernelSize, o);
  const withIndices = flag(op, 'returnIndices', o.returnIndices, false);
  const opts = { stride: [1, w.s] as [number, number], padding: [0, w.p] as [number, number], dilation: [1, w.d] as [number, number], ceilMode: w.ceilMode };
  return tidy(() => {
    const x4 = withHeight(w.x);
    if (!withIndices) return withoutHeight(maxPool2d(x4, [1, w.k], opts));
    const [y, i] = maxPool2d(x4, [1, w.k], { ...opts, returnIndices: true });
    return [withoutHeight(y), withoutHeight(i)] as [F32, I32];
  });
}

/**
 * 1-D average pooling over [N, C, L] or [C, L], as torch.nn.functional.avg_pool1d
 * (`countIncludePad` default true).
 * @example F.avgPool1d(x, 4, { stride: 2 })
 */
export function avgPool1d(x: Tensor, kernelSize: Size1, options: AvgPool1dOptions = {}): F32 {
  const op = 'avgPool1d';
  const o = checkOptions<AvgPool1dOptions>(op, options, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
  const w = window1(op, x, kernelSize, o);
  const include = flag(op, 'countIncludePad', o.countIncludePad, true);
  return tidy(() => withoutHeight(avgPool2d(withHeight(w.x), [1, w.k], { stride: [1, w.s], padding: [0, w.p], ceilMode: w.ceilMode, countIncludePad: include })));
}
