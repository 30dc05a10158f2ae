/**
 * More of torch.nn.functional, composed from existing differentiable ops: `bilinear`, the 1-D
 * adaptive and Lp pools (over the 2-D ones with a unit height, as `maxPool1d`), `dropout1d`, and
 * the SELU-preserving `alphaDropout` / `featureAlphaDropout`. Gradients come from the ops they
 * are made of.
 */
import { record } from '../../autograd';
import { bernoulli } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { add, clone, matmul, mul, permute, reshape, scale, sum } from '../../ops';
import type { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkNumber, checkOptions, checkSameDevice, describe, shapeStr } from '../../validate';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, lpPool2d, single, type Size1 } from './pool';

type F32 = Tensor<'float32'>;
type I32 = Tensor<'int32'>;

/**
 * y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o], as torch.nn.functional.bilinear:
 * x1 [..., in1] and x2 [..., in2] with the same leading axes, weight [out, in1, in2], bias [out]
 * or null. Composed as one matmul and a product summed over in2.
 * @example F.bilinear(a, b, weight, bias)   // [N, out] from [N, in1] and [N, in2]
 */
export function bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | null = null): F32 {
  const op = 'bilinear';
  const x1 = checkFloat(op, 'input1', input1), x2 = checkFloat(op, 'input2', input2), w = checkFloat(op, 'weight', weight);
  const b = bias === null || bias === undefined ? null : checkFloat(op, 'bias', bias);
  checkSameDevice(op, b ? { input1: x1, input2: x2, weight: w, bias: b } : { input1: x1, input2: x2, weight: w });
  if (w.rank !== 3) fail('E_SHAPE', `${op}: expected \`weight\` of shape [out, in1, in2], got ${shapeStr(w.shape)}`);
  const [out, in1, in2] = w.shape;
  if (x1.rank === 0 || x2.rank === 0) fail('E_SHAPE', `${op}: expected inputs of at least one axis, got ${shapeStr(x1.shape)} and ${shapeStr(x2.shape)}`);
  const lead = x1.shape.slice(0, -1);
  if (x1.rank !== x2.rank || lead.some((d, i) => d !== x2.shape[i])) {
    fail('E_SHAPE', `${op}: input1 and input2 must have the same size except the last dim, got ${shapeStr(x1.shape)} and ${shapeStr(x2.shape)}`);
  }
  if (x1.shape[x1.rank - 1] !== in1) fail('E_SHAPE', `${op}: input1 ${shapeStr(x1.shape)} has ${x1.shape[x1.rank - 1]} features, the weight ${shapeStr(w.shape)} takes ${in1}`);
  if (x2.shape[x2.rank - 1] !== in2) fail('E_SHAPE', `${op}: input2 ${shapeStr(x2.shape)} has ${x2.shape[x2.rank - 1]} features, the weight ${shapeStr(w.shape)} takes ${in2}`);
  if (b && (b.rank !== 1 || b.shape[0] !== out)) fail('E_SHAPE', `${op}: expected \`bias\` of shape [${out}], got ${shapeStr(b.shape)}`);
  const n = lead.reduce((a, d) => a * d, 1);
  return tidy(() => {
    const t = reshape(matmul(reshape(x1, [n, in1]), reshape(permute(w, [1, 0, 2]), [in1, out * in2])), [n, out, in2]);
    let y = sum(mul(t, reshape(x2, [n, 1, in2])), 2);
    if (b) y = add(y, b);
    return reshape(y, [...lead, out]);
  });
}

// ---- 1-D pools over the 2-D ones ---------------------------------------------------------------

function input1d(op: string, x: unknown): F32 {
  const t = checkFloat(op, 'x', x);
  if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, L] or [C, L], got ${shapeStr(t.shape)}`);
  if (t.shape.some((d) => d === 0)) fail('E_SHAPE', `${op}: expected non-zero sizes, got ${shapeStr(t.shape)}`);
  return t;
}

/** [..., L] viewed as [..., 1, L], and back. */
const withHeight = <T extends Tensor>(t: T): T => reshape(t, [...t.shape.slice(0, -1), 1, t.shape[t.rank - 1]]) as T;
const withoutHeight = <T extends Tensor>(t: T): T => reshape(t, [...t.shape.slice(0, -2), t.shape[t.rank - 1]]) as T;

/**
 * Adaptive average pooling of [N, C, L] or [C, L] to `outputSize` along L, as
 * torch.nn.functional.adaptive_avg_pool1d: output i averages [floor(i L / o), ceil((i + 1) L / o)).
 * @example F.adaptiveAvgPool1d(x, 1)   // global average pooling over time
 */
export function adaptiveAvgPool1d(x: Tensor, outputSize: Size1): F32 {
  const op = 'adaptiveAvgPool1d';
  const t = input1d(op, x);
  const o = single(op, 'outputSize', outputSize, 1);
  return tidy(() => withoutHeight(adaptiveAvgPool2d(withHeight(t), [1, o])));
}

/**
 * Adaptive max pooling of [N, C, L] or [C, L] to `outputSize` along L (windows as
 * adaptiveAvgPool1d), as torch.nn.functional.adaptive_max_pool1d; with `returnIndices`, also the
 * int32 index along L of each maximum.
 * @example F.adaptiveMaxPool1d(x, 4)
 */
export function adaptiveMaxPool1d(x: Tensor, outputSize: Size1, options?: { returnIndices?: false }): F32;
export function adaptiveMaxPool1d(x: Tensor, outputSize: Size1, options: { returnIndices: true }): [F32, I32];
export function adaptiveMaxPool1d(x: Tensor, outputSize: Size1, options: { returnIndices?: boolean } = {}): F32 | [F32, I32] {
  const op = 'adaptiveMaxPool1d';
  const opts = checkOptions<{ returnIndices?: boolean }>(op, options, ['returnIndices']);
  const t = input1d(op, x);
  const o = single(op, 'outputSize', outputSize, 1);
  const withIndices = opts.returnIndices === undefined ? false : checkBool(op, 'returnIndices', opts.returnIndices);
  return tidy(() => {
    if (!withIndices) return withoutHeight(adaptiveMaxPool2d(withHeight(t), [1, o]));
    const [y, i] = adaptiveMaxPool2d(withHeight(t), [1, o], { returnIndices: true });
    return [withoutHeight(y), withoutHeight(i)] as [F32, I32];
  });
}

export interface LpPool1dOptions {
  /** Default: the kernel size. */
  stride?: Size1 | null;
  /** Round the output length up (a window cut by the end has its sum scaled to the full kernel, as PyTorch). Default false. */
  ceilMode?: boolean;
}

/**
 * 1-D power-average pooling over [N, C, L] or [C, L], as torch.nn.functional.lp_pool1d:
 * y = (sum over the window of x^p)^(1/p), no padding (`F.lpPool2d` over a unit height).
 * @example F.lpPool1d(x, 2, 3, { stride: 2 })
 */
export function lpPool1d(x: Tensor, normType: number, kernelSize: Size1, options: LpPool1dOptions = {}): F32 {
  const op = 'lpPool1d';
  const o = checkOptions<LpPool1dOptions>(op, options, ['stride', 'ceilMode']);
  const t = input1d(op, x);
  if (typeof normType !== 'number' || !(normType > 0) || !Number.isFinite(normType)) {
    fail('E_ARG', `${op}: expected \`normType\` to be a positive finite number, got ${describe(normType)}`);
  }
  const k = single(op, 'kernelSize', kernelSize, 1);
  const s = o.stride === undefined || o.stride === null ? k : single(op, 'stride', o.stride, 1);
  const ceilMode = o.ceilMode === undefined ? false : checkBool(op, 'ceilMode', o.ceilMode);
  const L = t.shape[t.rank - 1];
  if (L < k) fail('E_SHAPE', `${op}: input ${shapeStr(t.shape)} is shorter than the kernel (${k})`);
  return tidy(() => withoutHeight(lpPool2d(withHeight(t), normType, [1, k], { stride: [1, s], ceilMode })));
}

// ---- dropout variants ----------------------------------------------------------------------------

function checkP(op: string, p: unknown): number {
  const v = checkNumber(op, 'p', p);
  if (!(v >= 0 && v <= 1)) fail('E_ARG', `${op}: dropout probability has to be between 0 and 1, but got ${v}`);
  return v;
}

/** A copy of x whose gradient is dy (what the dropouts return when nothing is dropped). */
function identity(op: string, x: F32): F32 {
  return record(op, clone(x), [x], (dy) => [dy]);
}

/**
 * Channel dropout over [N, C, L] (or [C, L], unbatched), as torch.nn.functional.dropout1d: in
 * training, each whole channel is zeroed with probability p and the others scaled by
 * 1 / (1 - p); otherwise a copy of x. The mask comes from `bernoulli` (seeded by `manualSeed`).
 * @example F.dropout1d(x, 0.2, model.training)
 */
export function dropout1d(x: Tensor, p = 0.5, training = true): F32 {
  return channelDropout('dropout1d', x, p, training, 3, '2D or 3D input ([C, L] or [N, C, L])');
}

/**
 * Zeroes each whole channel of x (rank `batchedRank`, or one less without the batch axis) with
 * probability p in training and scales the rest by 1 / (1 - p): dropout1d's and dropout3d's body.
 */
function channelDropout(op: string, x: unknown, p: number, training: boolean, batchedRank: number, layout: string): F32 {
  const t = checkFloat(op, 'x', x);
  checkP(op, p);
  checkBool(op, 'training', training);
  if (t.rank !== batchedRank && t.rank !== batchedRank - 1) fail('E_SHAPE', `${op}: expected ${layout}, got ${shapeStr(t.shape)}`);
  if (!training || p === 0) return identity(op, t);
  // One draw per channel: [N, C, 1, ...] (or [C, 1, ...]).
  const channels = t.rank === batchedRank ? 2 : 1;
  const shape = t.shape.map((d, i) => (i < channels ? d : 1));
  return tidy(() => {
    const keep = bernoulli(shape, 1 - p, { device: t.device });
    return mul(t, p === 1 ? keep : scale(keep, 1 / (1 - p)));
  });
}

/**
 * Channel dropout of volumes, as torch.nn.functional.dropout3d: in training, each whole channel
 * volume of x [N, C, D, H, W] (or [C, D, H, W]) is zeroed with probability p and the others
 * scaled by 1 / (1 - p); otherwise a copy of x.
 * @example F.dropout3d(features, 0.2, model.training)
 */
export function dropout3d(x: Tensor, p = 0.5, training = true): F32 {
  return channelDropout('dropout3d', x, p, training, 5, '4D or 5D input ([C, D, H, W] or [N, C, D, H, W])');
}

/** SELU's alpha * scale: the value a saturated negative SELU unit takes is -ALPHA. */
const ALPHA = 1.7580993408473766;

function alphaDropoutImpl(op: string, x: unknown, p: unknown, training: unknown, feature: boolean): F32 {
  const t = checkFloat(op, 'x', x);
  const q = checkP(op, p);
  checkBool(op, 'training', training);
  if (feature && t.rank < 2) fail('E_SHAPE', `${op}: feature dropout requires at least 2 dimensions in the input, got ${shapeStr(t.shape)}`);
  if (!training || q === 0 || t.size === 0) return identity(op, t);
  if (q === 1) return tidy(() => mul(t, 0));
  const shape = feature ? [t.shape[0], t.shape[1], ...t.shape.slice(2).map(() => 1)] : t.shape;
  // PyTorch's _dropout_impl: a = 1 / sqrt((alpha^2 p + 1)(1 - p)), b = (mask - 1) alpha a + alpha a p,
  // y = x (mask a) + b: the mean and variance of SELU's fixed point (0, 1) are kept.
  const a = 1 / Math.sqrt((ALPHA * ALPHA * q + 1) * (1 - q));
  return tidy(() => {
    const mask = bernoulli(shape, 1 - q, { device: t.device });
    const b = scale(mask, ALPHA * a, ALPHA * a * q - ALPHA * a);
    return add(mul(t, scale(mask, a)), b);
  });
}

/**
 * Alpha dropout (Klambauer et al. 2017), as torch.nn.functional.alpha_dropout: in training, each
 * element is set to SELU's negative saturation value with probability p, then an affine map
 * restores zero mean and unit variance; otherwise a copy of x. `training` defaults to false,
 * as PyTorch's.
 * @example F.alphaDropout(x, 0.1, model.training)
 */
export function alphaDropout(x: Tensor, p = 0.5, training = false): F32 {
  return alphaDropoutImpl('alphaDropout', x, p, training, false);
}

/**
 * Alpha dropout of whole channels ([N, C, ...]: one draw per (n, c)), as
 * torch.nn.functional.feature_alpha_dropout. `training` defaults to false, as PyTorch's.
 * @example F.featureAlphaDropout(x, 0.1, model.training)
 */
export function featureAlphaDropout(x: Tensor, p = 0.5, training = false): F32 {
  return alphaDropoutImpl('featureAlphaDropout', x, p, training, true);
}

/** @internal For the module classes: checks p like the functions do. */
export function checkDropoutP(op: string, p: unknown): number {
  return checkP(op, p);
}
