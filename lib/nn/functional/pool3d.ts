/**
 * 3-D pooling over x [N, C, D, H, W] (or [C, D, H, W]), as torch.nn.functional's max_pool3d,
 * avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d, max_unpool3d and lp_pool3d.
 *
 * A box window is the product of one window per axis, and max and mean are separable over it:
 * each op is its 2-D op over (H, W) for every depth slice, then the same 2-D op over (D, 1) of
 * that result, viewed as [N * C, 1, D, Ho * Wo]. Every per-axis rule carries over: padding
 * (never the maximum, counted or not in a mean's divisor, which is a product of per-axis
 * counts), ceilMode's last window, dilation, adaptive bins; a maximum is the first in (d, h, w)
 * order as PyTorch's scan finds it, and a NaN wins. The gradients are the two stages' own.
 * Indices, as PyTorch's, are flat in each (D, H, W) volume: d * H * W + h * W + w.
 */
import { tensor } from '../../creation';
import { traceAs } from '../../autograd';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { abs, div, gather, indexSelect, mul, pow, reshape, sign, stack, sum } from '../../ops';
import { relu } from './activation';
import { Tensor } from '../../tensor';
import { checkBool, checkDtype, checkFloat, checkInt, checkOptions, checkTensor, describe, shapeStr } from '../../validate';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool2d, maxPool2d, unpooledSize, unpoolPlanes } from './pool';
import { triple, type Triple } from './conv3d';

type F32 = Tensor<'float32'>;
type I32 = Tensor<'int32'>;

export interface MaxPool3dOptions {
  /** Default: the kernel size. */
  stride?: Triple | null;
  /** Implicit -inf padding on each side, at most half the kernel. Default 0. */
  padding?: Triple;
  /** Spacing between the window's taps. Default 1. */
  dilation?: Triple;
  /** Let the last window start past the end (inside the input or its left padding). Default false. */
  ceilMode?: boolean;
  /** Also return the int32 flat index in the (D, H, W) volume of each maximum. Default false. */
  returnIndices?: boolean;
}

export interface AvgPool3dOptions {
  stride?: Triple | null;
  /** Implicit zero padding, at most half the kernel. Default 0. */
  padding?: Triple;
  ceilMode?: boolean;
  /** Count the padding in the divisor. Default true. */
  countIncludePad?: boolean;
  /** Divide each window's sum by this instead. */
  divisorOverride?: number | null;
}

export interface MaxUnpool3dOptions {
  /** Default: the kernel size. */
  stride?: Triple | null;
  /** The pooling's padding. Default 0. */
  padding?: Triple;
  /** The output's [D, H, W] (or its whole shape), where the default (i - 1) stride - 2 padding + kernel is ambiguous. */
  outputSize?: readonly number[] | null;
}

type OutputSize3 = number | readonly [number | null, number | null, number | null];

/** x as [N * C, D, H, W] (the planes of each depth slice), checked. */
function volume(op: string, name: string, x: unknown): F32 {
  const t = checkFloat(op, name, x);
  if (t.rank !== 4 && t.rank !== 5) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [N, C, D, H, W] or [C, D, H, W], got ${shapeStr(t.shape)}`);
  if (t.shape.slice(-4).some((d) => d === 0)) fail('E_SHAPE', `${op}: expected non-zero channel and spatial sizes, got ${shapeStr(t.shape)}`);
  return t;
}

const planes = (t: Tensor): number => t.shape.slice(0, -3).reduce((a, b) => a * b, 1);

interface Window3 { k: [number, number, number]; s: [number, number, number]; p: [number, number, number]; d: [number, number, number]; ceilMode: boolean }

function window3(op: string, kernelSize: unknown, o: { stride?: unknown; padding?: unknown; dilation?: unknown; ceilMode?: unknown }): Window3 {
  const k = triple(op, 'kernelSize', kernelSize, 1);
  const s = o.stride === undefined || o.stride === null ? k : triple(op, 'stride', o.stride, 1);
  const p = o.padding === undefined ? [0, 0, 0] as [number, number, number] : triple(op, 'padding', o.padding, 0);
  const d = o.dilation === undefined ? [1, 1, 1] as [number, number, number] : triple(op, 'dilation', o.dilation, 1);
  const ceilMode = o.ceilMode === undefined ? false : checkBool(op, 'ceilMode', o.ceilMode);
  if (p.some((pa, a) => pa > Math.floor(k[a] / 2))) {
    fail('E_ARG', `${op}: padding must be at most half the kernel size, got padding ${p.join('x')} for kernel ${k.join('x')}`);
  }
  return { k, s, p, d, ceilMode };
}

/**
 * The int32 flat (d, h, w) index of each maximum from the two stages' indices: `plane` (h * W + w
 * per depth slice, [P, D, Ho, Wo]) and `depth` (d * Ho * Wo + q over the pooled slices,
 * [P, 1, Do, Ho * Wo]): plane's entry at depth's index, plus d * H * W from a table.
 */
function flatIndices(plane: I32, depth: I32, H: number, W: number, outShape: readonly number[]): I32 {
  const [P, D, Ho, Wo] = plane.shape, Q = Ho * Wo, Do = depth.shape[2];
  const offsets = new Int32Array(D * Q);
  for (let d = 0; d < D; d++) offsets.fill(d * H * W, d * Q, (d + 1) * Q);
  const at = reshape(depth, [P, Do * Q]);
  const hw = gather(reshape(plane, [P, D * Q]), 1, at);
  const dOffset = reshape(indexSelect(tensor(offsets, { dtype: 'int32', device: plane.device }), 0, reshape(at, [P * Do * Q])), [P, Do * Q]);
  return reshape(sum(stack([hw, dOffset]), 0), outShape);
}

/**
 * 3-D max pooling: the maximum of each window (padding never wins); with `returnIndices`, also
 * the int32 flat index d * H * W + h * W + w of each maximum in its volume.
 * @example F.maxPool3d(clip, [1, 2, 2])   // C3D's first pooling: frames kept, each halved
 */
export function maxPool3d(x: Tensor, kernelSize: Triple, options?: MaxPool3dOptions & { returnIndices?: false }): F32;
export function maxPool3d(x: Tensor, kernelSize: Triple, options: MaxPool3dOptions & { returnIndices: true }): [F32, I32];
export function maxPool3d(x: Tensor, kernelSize: Triple, options: MaxPool3dOptions = {}): F32 | [F32, I32] {
  const op = 'maxPool3d';
  const o = checkOptions<MaxPool3dOptions>(op, options, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const t = volume(op, 'x', x);
  const w = window3(op, kernelSize, o);
  const withIndices = o.returnIndices === undefined ? false : checkBool(op, 'returnIndices', o.returnIndices);
  const [D, H, W] = t.shape.slice(-3), P = planes(t);
  const plane = { stride: [w.s[1], w.s[2]] as [number, number], padding: [w.p[1], w.p[2]] as [number, number], dilation: [w.d[1], w.d[2]] as [number, number], ceilMode: w.ceilMode };
  const depth = { stride: [w.s[0], 1] as [number, number], padding: [w.p[0], 0] as [number, number], dilation: [w.d[0], 1] as [number, number], ceilMode: w.ceilMode };
  if (!withIndices) {
    return traceAs(op, [t], { window: w }, () => tidy(() => {
      const y1 = maxPool2d(reshape(t, [P, D, H, W]), [w.k[1], w.k[2]], plane);
      const [Ho, Wo] = y1.shape.slice(2);
      const y2 = maxPool2d(reshape(y1, [P, 1, D, Ho * Wo]), [w.k[0], 1], depth);
      return reshape(y2, [...t.shape.slice(0, -3), y2.shape[2], Ho, Wo]);
    }));
  }
  return tidy(() => {
    const x4 = reshape(t, [P, D, H, W]);
    const [y1, i1] = maxPool2d(x4, [w.k[1], w.k[2]], { ...plane, returnIndices: true });
    const [Ho, Wo] = y1.shape.slice(2);
    const [y2, i2] = maxPool2d(reshape(y1, [P, 1, D, Ho * Wo]), [w.k[0], 1], { ...depth, returnIndices: true });
    const outShape = [...t.shape.slice(0, -3), y2.shape[2], Ho, Wo];
    return [reshape(y2, outShape), flatIndices(i1, i2, H, W, outShape)] as [F32, I32];
  });
}

/**
 * 3-D average pooling: each window's mean; `countIncludePad` (default true) counts the zero
 * padding in the divisor, `divisorOverride` replaces it.
 * @example F.avgPool3d(x, 2)   // [N, C, D/2, H/2, W/2]
 */
export function avgPool3d(x: Tensor, kernelSize: Triple, options: AvgPool3dOptions = {}): F32 {
  const op = 'avgPool3d';
  const o = checkOptions<AvgPool3dOptions>(op, options, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const t = volume(op, 'x', x);
  const w = window3(op, kernelSize, o);
  const include = o.countIncludePad === undefined ? true : checkBool(op, 'countIncludePad', o.countIncludePad);
  const override = o.divisorOverride === undefined || o.divisorOverride === null ? null : checkInt(op, 'divisorOverride', o.divisorOverride, 1);
  // With an override, both stages sum (divisor 1) and the sum is divided once.
  const divisorOverride = override === null ? undefined : 1;
  const [D, H, W] = t.shape.slice(-3), P = planes(t);
  return traceAs(op, [t], { window: w, countIncludePad: include, divisor: override ?? 0 }, () => tidy(() => {
    const y1 = avgPool2d(reshape(t, [P, D, H, W]), [w.k[1], w.k[2]], { stride: [w.s[1], w.s[2]], padding: [w.p[1], w.p[2]], ceilMode: w.ceilMode, countIncludePad: include, divisorOverride });
    const [Ho, Wo] = y1.shape.slice(2);
    const y2 = avgPool2d(reshape(y1, [P, 1, D, Ho * Wo]), [w.k[0], 1], { stride: [w.s[0], 1], padding: [w.p[0], 0], ceilMode: w.ceilMode, countIncludePad: include, divisorOverride });
    const y = reshape(y2, [...t.shape.slice(0, -3), y2.shape[2], Ho, Wo]);
    return override === null ? y : div(y, override);
  }));
}

export interface LpPool3dOptions {
  /** Default: the kernel size. */
  stride?: Triple | null;
  /** Round the output sizes up (a window cut by the end has its sum scaled to the full kernel, as PyTorch). Default false. */
  ceilMode?: boolean;
}

/**
 * 3-D power-average pooling, as torch.nn.functional.lp_pool3d (PyTorch 2.2): y = (sum over the
 * window of x^p)^(1/p), no padding; PyTorch's formula, avgPool3d of x^p times the window's size
 * (so also its gradient, 0 where a window's sum is 0).
 * @example F.lpPool3d(x, 2, [1, 3, 3], { stride: [1, 2, 2] })
 */
export function lpPool3d(x: Tensor, normType: number, kernelSize: Triple, options: LpPool3dOptions = {}): F32 {
  const op = 'lpPool3d';
  const o = checkOptions<LpPool3dOptions>(op, options, ['stride', 'ceilMode']);
  const t = volume(op, 'x', x);
  if (typeof normType !== 'number' || !(normType > 0) || !Number.isFinite(normType)) {
    fail('E_ARG', `${op}: expected \`normType\` to be a positive finite number, got ${describe(normType)}`);
  }
  const w = window3(op, kernelSize, o);
  return tidy(() => {
    const mean = avgPool3d(pow(t, normType), w.k, { stride: w.s, ceilMode: w.ceilMode });
    return pow(mul(mul(sign(mean), relu(abs(mean))), w.k[0] * w.k[1] * w.k[2]), 1 / normType);
  });
}

function outputSize3(op: string, value: unknown, x: readonly number[]): [number, number, number] {
  const v = typeof value === 'number' ? [value, value, value] : value;
  const ok = (d: unknown) => d === null || (typeof d === 'number' && Number.isSafeInteger(d) && d > 0);
  if (!Array.isArray(v) || v.length !== 3 || !v.every(ok)) {
    fail('E_ARG', `${op}: expected \`outputSize\` to be a positive integer or three of them (each may be null), got ${describe(value)}`);
  }
  return [v[0] ?? x[x.length - 3], v[1] ?? x[x.length - 2], v[2] ?? x[x.length - 1]];
}

/**
 * Adaptive average pooling to a fixed [od, oh, ow]: output (i, j, l) averages depths
 * [floor(i D / od), ceil((i + 1) D / od)) and the same for rows and columns. 1 is global pooling.
 * @example F.adaptiveAvgPool3d(features, 1)   // [N, C, 1, 1, 1]
 */
export function adaptiveAvgPool3d(x: Tensor, outputSize: OutputSize3): F32 {
  const op = 'adaptiveAvgPool3d';
  const t = volume(op, 'x', x);
  const [od, oh, ow] = outputSize3(op, outputSize, t.shape);
  const [D, H, W] = t.shape.slice(-3), P = planes(t);
  return traceAs(op, [t], { outputSize: [od, oh, ow] }, () => tidy(() => {
    const y1 = adaptiveAvgPool2d(reshape(t, [P, D, H, W]), [oh, ow]);
    const y2 = adaptiveAvgPool2d(reshape(y1, [P, 1, D, oh * ow]), [od, oh * ow]);
    return reshape(y2, [...t.shape.slice(0, -3), od, oh, ow]);
  }));
}

/**
 * Adaptive max pooling to a fixed [od, oh, ow] over adaptiveAvgPool3d's bins; with
 * `returnIndices`, also the int32 flat index of each maximum in its volume.
 * @example F.adaptiveMaxPool3d(x, [1, 7, 7])
 */
export function adaptiveMaxPool3d(x: Tensor, outputSize: OutputSize3, options?: { returnIndices?: false }): F32;
export function adaptiveMaxPool3d(x: Tensor, outputSize: OutputSize3, options: { returnIndices: true }): [F32, I32];
export function adaptiveMaxPool3d(x: Tensor, outputSize: OutputSize3, options: { returnIndices?: boolean } = {}): F32 | [F32, I32] {
  const op = 'adaptiveMaxPool3d';
  const o = checkOptions<{ returnIndices?: boolean }>(op, options, ['returnIndices']);
  const t = volume(op, 'x', x);
  const [od, oh, ow] = outputSize3(op, outputSize, t.shape);
  const withIndices = o.returnIndices === undefined ? false : checkBool(op, 'returnIndices', o.returnIndices);
  const [D, H, W] = t.shape.slice(-3), P = planes(t);
  const outShape = [...t.shape.slice(0, -3), od, oh, ow];
  if (!withIndices) {
    return traceAs(op, [t], { outputSize: [od, oh, ow] }, () => tidy(() => {
      const y1 = adaptiveMaxPool2d(reshape(t, [P, D, H, W]), [oh, ow]);
      return reshape(adaptiveMaxPool2d(reshape(y1, [P, 1, D, oh * ow]), [od, oh * ow]), outShape);
    }));
  }
  return tidy(() => {
    const x4 = reshape(t, [P, D, H, W]);
    const [y1, i1] = adaptiveMaxPool2d(x4, [oh, ow], { returnIndices: true });
    const [y2, i2] = adaptiveMaxPool2d(reshape(y1, [P, 1, D, oh * ow]), [od, oh * ow], { returnIndices: true });
    return [reshape(y2, outShape), flatIndices(i1, i2, H, W, outShape)] as [F32, I32];
  });
}

/**
 * The inverse of maxPool3d with its indices, as torch.nn.functional.max_unpool3d: each value of
 * x goes back to the place in its (D, H, W) volume its flat index names, zeros elsewhere (the
 * rules of maxUnpool2d: a later index to the same place wins, and takes the gradient).
 * @example const [y, idx] = F.maxPool3d(x, 2, { returnIndices: true }); F.maxUnpool3d(y, idx, 2)
 */
export function maxUnpool3d(x: Tensor, indices: Tensor, kernelSize: Triple, options: MaxUnpool3dOptions = {}): F32 {
  const op = 'maxUnpool3d';
  const o = checkOptions<MaxUnpool3dOptions>(op, options, ['stride', 'padding', 'outputSize']);
  const t = volume(op, 'x', x);
  const ti = checkTensor(op, 'indices', indices);
  checkDtype(op, 'indices', ti, 'int32');
  if (ti.rank !== t.rank || ti.shape.some((d, i) => d !== t.shape[i])) fail('E_SHAPE', `${op}: expected \`indices\` of x's shape ${shapeStr(t.shape)}, got ${shapeStr(ti.shape)}`);
  const k = triple(op, 'kernelSize', kernelSize, 1);
  const s = o.stride === undefined || o.stride === null ? k : triple(op, 'stride', o.stride, 1);
  const p = o.padding === undefined ? [0, 0, 0] : triple(op, 'padding', o.padding, 0);
  const size = unpooledSize(op, t.shape, k, s, p, o.outputSize);
  const lead = t.shape.slice(0, -3), volumeSize = size[0] * size[1] * size[2];
  const inSize = t.shape.slice(-3).reduce((a, b) => a * b, 1);
  // Each volume as one plane of height 1: the flat index is its column.
  return tidy(() => reshape(unpoolPlanes(op, reshape(t, [...lead, 1, inSize]), reshape(ti, [...lead, 1, inSize]) as I32, [...lead, 1, volumeSize]), [...lead, ...size]));
}
