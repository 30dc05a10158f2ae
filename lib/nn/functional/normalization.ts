/**
 * Normalisation over each sample instead of over the batch: layer normalisation (Ba, Kiros and
 * Hinton 2016), group normalisation (Wu and He 2018) and instance normalisation (Ulyanov,
 * Vedaldi and Lempitsky 2016), with PyTorch's shapes, defaults and formulas:
 * y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and the biased variance taken
 * over each sample's group of values.
 *
 * Note [per-sample norms as native ops]: each of the three normalises rows of a 2-d view of x,
 * [rows, values], a row being one sample's group, with a fused native op in the spirit of
 * PyTorch's native_layer_norm / native_group_norm (native/cpu/layer_norm.cc, group_norm.cc and
 * their .cu twins): one call computes each row's mean and rstd = 1 / sqrt(var + eps) and y with
 * the affine part, ((x - mean) * rstd) * weight + bias, and saves mean and rstd; one backward call
 * gives dx, dweight and dbias (only those the tape wants), the reductions over rows in float64
 * or float blocks added in a fixed order, so no bit depends on the thread count. Layer norm's
 * affine tensors have the normalised shape (one value per element of a row); group norm's are
 * per channel. Instance norm is group norm with one group per channel (as fast as the batch norm
 * on a [1, N * C, H * W] view it used to be, and one op with its affine part instead of two).
 * Before these ops the norms ran as batch norm on a [1, rows, values] view plus a broadcast
 * multiply and add (layer norm) or an evaluation-mode batch norm (group and instance norm) for
 * the affine part: `node dist/bench/run.js ops --threads 2` had layer norm at 0.27-0.75x
 * PyTorch's speed and group norm's forward+backward at 0.37x.
 * y has the bits of the normalised x times weight, plus bias, as separate ops would give
 * (no fused multiply-add, and a missing weight or bias is no multiply or add).
 * A row of one value normalises to 0 (x - mean = 0), as PyTorch's layer and group norm (its
 * instance norm refuses it, and so does ours), even with eps = 0; its gradient is 0.
 */
import { noGrad, record } from '../../autograd';
import { tidy } from '../../engine';
import { add, mean as meanOf, mul, variance } from '../../ops';
import { batchNorm } from './layers';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkInt, checkNumber, checkOptions, describe, MAX_RANK, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

const wrap = (h: Handle, shape: readonly number[]): F32 => new Tensor(h, shape, 'float32');
const handleOf = (t: F32 | null, op: string): Handle | null => (t ? t.handle(op) : null);

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

type Forward = (x: Handle, arg: number, w: Handle | null, b: Handle | null, eps: number) => [Handle, Handle, Handle];
type Backward = (dy: Handle, x: Handle, arg: number, w: Handle | null, mean: Handle, rstd: Handle, needDw: boolean,
  needDb: boolean) => [Handle, Handle | null, Handle | null];

/**
 * Runs a native per-sample norm (Note [per-sample norms as native ops]) and records its
 * backward: `arg` is layer norm's values per row or group norm's number of groups, `rows` the
 * number of rows (the length of the saved mean and rstd).
 */
function perSampleNorm(
  op: string, forward: Forward, backward: Backward, x: F32, arg: number, rows: number, weight: F32 | null,
  bias: F32 | null, eps: number,
): F32 {
  const [yh, mh, rh] = forward(x.handle(op), arg, handleOf(weight, op), handleOf(bias, op), eps);
  const y = wrap(yh, x.shape), mean = wrap(mh, [rows]), rstd = wrap(rh, [rows]);
  record(op, y, [x, weight, bias], (dy, [sx, sm, sr, sw], needsGrad) => {
    const bop = `${op} backward`;
    const [dx, dw, db] = backward(dy.handle(bop), sx.handle(bop), arg, sw ? sw.handle(bop) : null, sm.handle(bop),
      sr.handle(bop), weight !== null && needsGrad[1], bias !== null && needsGrad[2]);
    return [wrap(dx, sx.shape), dw && weight ? wrap(dw, weight.shape) : null, db && bias ? wrap(db, bias.shape) : null];
  }, weight ? [x, mean, rstd, weight] : [x, mean, rstd], { arg, eps });
  mean.dispose();   // the tape holds its own views of what it saved
  rstd.dispose();
  return y;
}

/** Group norm's native op on x [N, C, ...] (instance norm: groups = C). */
function groupNormRows(op: string, x: F32, groups: number, weight: F32 | null, bias: F32 | null, eps: number): F32 {
  return perSampleNorm(op, native.groupNormForward, native.groupNormBackward, x, groups, x.shape[0] * groups, weight, bias, eps);
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
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_RANK) fail('E_ARG', `${op}: expected \`normalizedShape\` to be a size or a non-empty array of at most ${MAX_RANK} sizes, got ${describe(normalizedShape)}`);
  shape.forEach((d, i) => checkInt(op, `normalizedShape[${i}]`, d, 1));
  const k = shape.length;
  if (t.rank < k || shape.some((d, i) => d !== t.shape[t.rank - k + i])) {
    fail('E_SHAPE', `${op}: expected \`x\` to end in the normalized shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
  options = checkOptions<LayerNormOptions>(op, options, ['weight', 'bias', 'eps']);
  const weight = affineParam(op, 'weight', options.weight, shape), bias = affineParam(op, 'bias', options.bias, shape);
  const eps = checkEps(op, options.eps ?? 1e-5);
  const values = shape.reduce((a, b) => a * b, 1);
  return perSampleNorm(op, native.layerNormForward, native.layerNormBackward, t, values, t.size / values, weight, bias, eps);
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
  return groupNormRows(op, t, groups, weight, bias, eps);
}

export interface InstanceNormOptions {
  /** Scale per channel, [C] (default none). */
  weight?: Tensor | null;
  /** Shift per channel, [C] (default none). */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running mean [C], updated in place when the input's statistics are used (default none). */
  runningMean?: Tensor | null;
  /** Running variance [C] (unbiased), likewise (default none). */
  runningVar?: Tensor | null;
  /** Normalize with each instance's own statistics (default true); false: with the running ones. */
  useInputStats?: boolean;
  /** Weight of the new statistics in the running ones (default 0.1). */
  momentum?: number;
}

/**
 * Instance normalisation, as torch.nn.functional.instance_norm: each channel of each sample of
 * x [N, C, ...] normalised over its positions. With `runningMean` and `runningVar`, those are
 * moved toward the batch's mean over samples of each instance's mean and unbiased variance (in
 * place, as PyTorch: r = (1 - momentum) r + momentum s); with `useInputStats: false` the running
 * statistics normalise instead (evaluation of a tracking InstanceNorm).
 * @example const y = F.instanceNorm(x);   // style transfer's normalisation, x [N, C, H, W]
 */
export function instanceNorm(x: Tensor, options: InstanceNormOptions = {}): F32 {
  const op = 'instanceNorm';
  const t = checkFloat(op, 'x', x);
  if (t.rank < 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, L] or [N, C, H, W], got ${shapeStr(t.shape)}`);
  options = checkOptions<InstanceNormOptions>(op, options, ['weight', 'bias', 'eps', 'runningMean', 'runningVar', 'useInputStats', 'momentum']);
  const C = t.shape[1];
  const weight = affineParam(op, 'weight', options.weight, [C]), bias = affineParam(op, 'bias', options.bias, [C]);
  const eps = checkEps(op, options.eps ?? 1e-5);
  const rm = affineParam(op, 'runningMean', options.runningMean, [C]), rv = affineParam(op, 'runningVar', options.runningVar, [C]);
  if ((rm === null) !== (rv === null)) fail('E_ARG', `${op}: give both \`runningMean\` and \`runningVar\`, or neither`);
  const useInput = checkBool(op, 'useInputStats', options.useInputStats ?? true);
  const momentum = checkNumber(op, 'momentum', options.momentum ?? 0.1);
  if (momentum < 0 || momentum > 1) fail('E_ARG', `${op}: expected \`momentum\` in [0, 1], got ${momentum}`);
  if (!useInput) {
    if (rm === null || rv === null) fail('E_ARG', `${op}: \`useInputStats: false\` normalises with the running statistics: give \`runningMean\` and \`runningVar\``);
    return batchNorm(t, rm, rv, weight, bias, { training: false, eps });
  }
  if (t.size !== 0 && t.size === t.shape[0] * C) fail('E_SHAPE', `${op}: expected more than 1 position per channel, got x of shape ${shapeStr(t.shape)}`);
  const y = groupNormRows(op, t, C, weight, bias, eps);
  if (rm !== null && rv !== null && t.shape[0] > 0) {
    noGrad(() => tidy(() => {
      const positions = t.shape.map((_, i) => i).slice(2);
      const mean = meanOf(meanOf(t, positions), [0]);
      const unbiased = meanOf(variance(t, positions, { correction: 1 }), [0]);
      rm.copy_(add(mul(rm, 1 - momentum), mul(mean, momentum)));
      rv.copy_(add(mul(rv, 1 - momentum), mul(unbiased, momentum)));
    }));
  }
  return y;
}
