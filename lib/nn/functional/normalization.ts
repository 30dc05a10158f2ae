/**
 * Normalisation over each sample instead of over the batch: layer normalisation (Ba, Kiros and
 * Hinton 2016), group normalisation (Wu and He 2018) and instance normalisation (Ulyanov,
 * Vedaldi and Lempitsky 2016), with PyTorch's shapes, defaults and formulas:
 * y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and the biased variance taken
 * over each sample's group of values.
 *
 * Note [per-sample norms through batch norm]: each of the three normalises rows of a 2-d view
 * of x, [rows, values], a row being one sample's group. That is batch norm in training mode
 * on x reshaped to [1, rows, values] (rows as channels, no running statistics, no affine),
 * whose native kernels (CPU and CUDA, float64 sums, backward through the batch statistics)
 * compute exactly those statistics and gradients; PyTorch computes instance norm the same
 * way. The affine part is then batch norm again in evaluation mode as a per-channel scale and
 * shift (group and instance norm: perChannelAffine), or a broadcast multiply and add per element
 * of the normalised shape (layer norm), whose gradients the tape sums.
 * A row of one value normalises to 0 (x - mean = 0), as PyTorch's layer and group norm (its
 * instance norm refuses it, and so does ours); batch norm refuses that shape, so it is x * 0
 * here (NaN stays NaN, the gradient is 0).
 */
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { ones, zeros } from '../../creation';
import { add, mul } from '../../ops';
import type { Tensor } from '../../tensor';
import { checkFloat, checkInt, checkNumber, checkOptions, describe, shapeStr } from '../../validate';
import { batchNorm, batchNormWithStats } from './layers';

type F32 = Tensor<'float32'>;

/** Normalises each row of x viewed as [rows, values] (Note [per-sample norms through batch norm]). */
function normalizeRows(x: F32, rows: number, eps: number): F32 {
  if (x.size === 0 || x.size === rows) return mul(x, 0);
  const { y, mean, invstd } = batchNormWithStats(x.reshape([1, rows, x.size / rows]), null, null, null, null, { training: true, eps });
  mean.dispose();
  invstd.dispose();
  return y.reshape(x.shape);
}

function checkEps(op: string, eps: unknown): number {
  const e = checkNumber(op, 'eps', eps);
  if (e < 0) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${e}`);
  return e;
}

/** An optional affine parameter of the given shape, or null. */
function affineParam(op: string, name: string, value: unknown, shape: readonly number[]): F32 | null {
  if (value === undefined || value === null) return null;
  const t = checkFloat(op, name, value);
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  return t;
}

/**
 * y * weight + bias, with weight and bias [C] broadcast over y [N, C, ...]: batch norm in
 * evaluation mode with mean 0, variance 1 and eps 0, whose scale is then exactly weight,
 * so y is (y - 0) * weight + bias, the bits of a multiply and an add, in one pass; its
 * backward (dx = weight * dy, dweight = sum dy * y, dbias = sum dy per channel) sums a channel
 * at a time. A broadcast multiply and add took two passes forward and two reductions over
 * [N, H, W] backward (group norm on [8, 256, 28, 28]: 0.14x PyTorch's speed forward+backward).
 */
function perChannelAffine(y: F32, weight: F32 | null, bias: F32 | null): F32 {
  if (weight === null && bias === null) return y;
  const C = y.shape[1];
  const zero = zeros([C], { device: y.device }), one = ones([C], { device: y.device });
  return batchNorm(y, zero, one, weight, bias, { training: false, eps: 0 });
}

export interface LayerNormOptions {
  /** Scale, of the normalised shape (default none). */
  weight?: Tensor | null;
  /** Shift, of the normalised shape (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Layer normalisation, as torch.nn.functional.layer_norm: normalises over the last dimensions
 * of x, which must equal `normalizedShape`, per sample.
 * @example const y = F.layerNorm(x, [768], { weight: gamma, bias: beta });   // x [N, L, 768]
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], options: LayerNormOptions = {}): F32 {
  const op = 'layerNorm';
  const t = checkFloat(op, 'x', x);
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  if (!Array.isArray(shape) || shape.length === 0) fail('E_ARG', `${op}: expected \`normalizedShape\` to be a size or a non-empty array of sizes, got ${describe(normalizedShape)}`);
  shape.forEach((d, i) => checkInt(op, `normalizedShape[${i}]`, d, 1));
  const k = shape.length;
  if (t.rank < k || shape.some((d, i) => d !== t.shape[t.rank - k + i])) {
    fail('E_SHAPE', `${op}: expected \`x\` to end in the normalized shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  options = checkOptions<LayerNormOptions>(op, options, ['weight', 'bias', 'eps']);
  const weight = affineParam(op, 'weight', options.weight, shape), bias = affineParam(op, 'bias', options.bias, shape);
  const eps = checkEps(op, options.eps ?? 1e-5);
  const values = shape.reduce((a, b) => a * b, 1);
  return tidy(() => {
    let y = normalizeRows(t, t.size / values, eps);
    if (weight !== null) y = mul(y, weight);
    if (bias !== null) y = add(y, bias);
    return y;
  });
}

export interface GroupNormOptions {
  /** Scale per channel, [C] (default none). */
  weight?: Tensor | null;
  /** Shift per channel, [C] (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Group normalisation, as torch.nn.functional.group_norm: the C channels of x [N, C, ...] are
 * split into `numGroups` groups of consecutive channels, each normalised per sample.
 * @example const y = F.groupNorm(x, 8, { weight: gamma, bias: beta });   // x [N, 64, H, W]
 */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormOptions = {}): F32 {
  const op = 'groupNorm';
  const t = checkFloat(op, 'x', x);
  if (t.rank < 2) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, ...], got ${shapeStr(t.shape)}`);
  const groups = checkInt(op, 'numGroups', numGroups, 1);
  const C = t.shape[1];
  if (C % groups !== 0) fail('E_SHAPE', `${op}: expected the channels (${C}) to be divisible by numGroups (${groups}), got x of shape ${shapeStr(t.shape)}`);
  options = checkOptions<GroupNormOptions>(op, options, ['weight', 'bias', 'eps']);
  const weight = affineParam(op, 'weight', options.weight, [C]), bias = affineParam(op, 'bias', options.bias, [C]);
  const eps = checkEps(op, options.eps ?? 1e-5);
  return tidy(() => perChannelAffine(normalizeRows(t, t.shape[0] * groups, eps), weight, bias));
}

export interface InstanceNormOptions {
  /** Scale per channel, [C] (default none). */
  weight?: Tensor | null;
  /** Shift per channel, [C] (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Instance normalisation, as torch.nn.functional.instance_norm without running statistics:
 * each channel of each sample of x [N, C, ...] normalised over its positions.
 * @example const y = F.instanceNorm(x);   // style transfer's normalisation, x [N, C, H, W]
 */
export function instanceNorm(x: Tensor, options: InstanceNormOptions = {}): F32 {
  const op = 'instanceNorm';
  const t = checkFloat(op, 'x', x);
  if (t.rank < 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, L] or [N, C, H, W], got ${shapeStr(t.shape)}`);
  options = checkOptions<InstanceNormOptions>(op, options, ['weight', 'bias', 'eps']);
  const C = t.shape[1];
  if (t.size !== 0 && t.size === t.shape[0] * C) fail('E_SHAPE', `${op}: expected more than 1 position per channel, got x of shape ${shapeStr(t.shape)}`);
  const weight = affineParam(op, 'weight', options.weight, [C]), bias = affineParam(op, 'bias', options.bias, [C]);
  const eps = checkEps(op, options.eps ?? 1e-5);
  return tidy(() => perChannelAffine(normalizeRows(t, t.shape[0] * C, eps), weight, bias));
}
