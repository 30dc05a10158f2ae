/**
 * The other layers of the survey's toolbox: PReLU and Maxout (section 3.3), softmax and
 * log-softmax, dropout (3.5), local response normalisation and batch normalisation (3.6).
 * Shapes, defaults and formulas are PyTorch's (NCHW); Maxout, which PyTorch lacks, groups
 * consecutive channels. Each op has a public forward (in `F`) and an internal backward the
 * autograd tape calls; ops whose backward needs more than the forward's inputs and output
 * (dropout's mask, batch norm's statistics) also have an internal forward that returns it.
 */
import { record } from '../../autograd';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { bernoulli } from '../../creation';
import { tidy } from '../../engine';
import { clone, mul, scale } from '../../ops';
import { Tensor } from '../../tensor';
import { checkAxis, checkBool, checkFloat, checkInt, checkNumber, checkOptions, describe, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

function wrap(h: Handle, shape: readonly number[]): F32 {
  return new Tensor(h, shape, 'float32');
}

function sameShape(op: string, names: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    fail('E_SHAPE', `${op}: ${names} must have the same shape, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
}

function rankAtLeast(op: string, x: Tensor, rank: number, expected: string): void {
  if (x.rank < rank) fail('E_SHAPE', `${op}: expected \`x\` of shape ${expected}, got ${shapeStr(x.shape)}`);
}

// ---- PReLU ----------------------------------------------------------------------------------

function preluWeight(op: string, x: Tensor, weight: unknown): F32 {
  const w = checkFloat(op, 'weight', weight);
  const channels = x.rank >= 2 ? x.shape[1] : 1;
  if (w.rank !== 1 || (w.shape[0] !== 1 && w.shape[0] !== channels)) {
    fail('E_SHAPE', `${op}: expected \`weight\` of shape [1] or [${channels}] (the channels of x ${shapeStr(x.shape)}), got ${shapeStr(w.shape)}`);
  }
  return w;
}

/**
 * PReLU (He et al. 2015): max(x, 0) + weight * min(x, 0), with one learned slope per channel
 * (axis 1; `weight` of shape [C]) or one for all (`weight` of shape [1]).
 * @example F.prelu(x, full([16], 0.25))   // x: [N, 16, H, W]
 */
export function prelu(x: Tensor, weight: Tensor): F32 {
  const tx = checkFloat('prelu', 'x', x);
  const w = preluWeight('prelu', tx, weight);
  const y = wrap(native.preluForward(tx.handle('prelu'), w.handle('prelu')), tx.shape);
  return record('prelu', y, [tx, w], (dy, [sx, sw]) => {
    const { dx, dweight } = preluBackward(dy, sx, sw);
    return [dx, dweight];
  }, [tx, w]);
}

/** @internal dx and dweight (summed over the batch and positions) from dy, x and weight. */
export function preluBackward(dy: Tensor, x: Tensor, weight: Tensor): { dx: F32; dweight: F32 } {
  const op = 'prelu backward';
  const [tdy, tx] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x)];
  sameShape(op, 'dy and x', tdy, tx);
  const w = preluWeight(op, tx, weight);
  const [dx, dw] = native.preluBackward(tdy.handle(op), tx.handle(op), w.handle(op));
  return { dx: wrap(dx, tx.shape), dweight: wrap(dw, w.shape) };
}

// ---- Maxout ---------------------------------------------------------------------------------

function maxoutShape(op: string, x: Tensor, pieces: unknown): number[] {
  checkInt(op, 'pieces', pieces, 1);
  rankAtLeast(op, x, 2, '[N, C, ...]');
  if (x.shape[1] % (pieces as number) !== 0) {
    fail('E_SHAPE', `${op}: the ${x.shape[1]} channels of x ${shapeStr(x.shape)} are not divisible by pieces = ${pieces}`);
  }
  const shape = x.shape.slice();
  shape[1] /= pieces as number;
  return shape;
}

/**
 * Maxout (Goodfellow et al. 2013) across channels: the C channels form C / pieces groups of
 * `pieces` consecutive channels and each output channel is the maximum of its group,
 * [N, C, ...] -> [N, C / pieces, ...] (like `x.view(N, C / pieces, pieces, ...).max(2)`).
 * The gradient goes to the first maximum of each group.
 * @example F.maxout(x, 2)   // [8, 64, 7, 7] -> [8, 32, 7, 7]
 */
export function maxout(x: Tensor, pieces: number): F32 {
  const tx = checkFloat('maxout', 'x', x);
  const shape = maxoutShape('maxout', tx, pieces);
  const y = wrap(native.maxoutForward(tx.handle('maxout'), pieces), shape);
  return record('maxout', y, [tx], (dy, [sx]) => [maxoutBackward(dy, sx, pieces)], [tx]);
}

/** @internal dx from dy and the forward's x (the winners are found again). */
export function maxoutBackward(dy: Tensor, x: Tensor, pieces: number): F32 {
  const op = 'maxout backward';
  const [tdy, tx] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x)];
  const shape = maxoutShape(op, tx, pieces);
  if (tdy.shape.length !== shape.length || tdy.shape.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `${op}: expected \`dy\` of shape ${shapeStr(shape)}, got ${shapeStr(tdy.shape)}`);
  }
  return wrap(native.maxoutBackward(tdy.handle(op), tx.handle(op), pieces), tx.shape);
}

// ---- softmax, logSoftmax ---------------------------------------------------------------------

function softmaxDim(op: string, x: Tensor, dim: unknown): number {
  return checkAxis(op, 'dim', dim, Math.max(x.rank, 1));
}

/**
 * Softmax along `dim` (negative counts from the end): exp(x - max) / sum(exp(x - max)), stable
 * for large inputs; sums in float64.
 * @example F.softmax(logits, 1)   // [N, classes], rows sum to 1
 */
export function softmax(x: Tensor, dim: number): F32 {
  const tx = checkFloat('softmax', 'x', x);
  const axis = softmaxDim('softmax', tx, dim);
  const y = wrap(native.softmaxForward(tx.handle('softmax'), axis, false), tx.shape);
  return record('softmax', y, [tx], (dy, [sy]) => [softmaxBackward('softmax', dy, sy, dim)], [y], { axis });
}

/**
 * Log-softmax along `dim`: (x - max) - log(sum(exp(x - max))), stable for large inputs.
 * @example F.logSoftmax(logits, -1)
 */
export function logSoftmax(x: Tensor, dim: number): F32 {
  const tx = checkFloat('logSoftmax', 'x', x);
  const axis = softmaxDim('logSoftmax', tx, dim);
  const y = wrap(native.softmaxForward(tx.handle('logSoftmax'), axis, true), tx.shape);
  return record('logSoftmax', y, [tx], (dy, [sy]) => [softmaxBackward('logSoftmax', dy, sy, dim)], [y], { axis });
}

/**
 * @internal dx from dy and the forward's output y: softmax y * (dy - sum(dy * y)),
 * logSoftmax dy - exp(y) * sum(dy).
 */
export function softmaxBackward(kind: 'softmax' | 'logSoftmax' | 'softmin', dy: Tensor, y: Tensor, dim: number): F32 {
  const op = `${kind} backward`;
  const [tdy, ty] = [checkFloat(op, 'dy', dy), checkFloat(op, 'y', y)];
  sameShape(op, 'dy and y', tdy, ty);
  // softmin (softmax of -x, CPU only: the GPU composes softmin): dx = y * (sum(dy * y) - dy)
  return wrap(native.softmaxBackward(tdy.handle(op), ty.handle(op), softmaxDim(op, ty, dim), kind === 'logSoftmax', kind === 'softmin'), ty.shape);
}

// ---- dropout --------------------------------------------------------------------------------

function checkP(op: string, p: unknown): number {
  const v = checkNumber(op, 'p', p);
  if (v < 0 || v > 1) fail('E_ARG', `${op}: expected \`p\` in [0, 1], got ${v}`);
  return v;
}

/**
 * @internal Dropout that also returns its mask (1 kept, 0 dropped; null when nothing was drawn:
 * evaluation or p = 0, where y is a copy of x).
 */
export function dropoutWithMask(x: Tensor, p = 0.5, training = true): { y: F32; mask: F32 | null } {
  const tx = checkFloat('dropout', 'x', x);
  checkP('dropout', p);
  checkBool('dropout', 'training', training);
  if (!training || p === 0) return { y: record('dropout', clone(tx), [tx], (dy) => [dy]), mask: null };
  const [yh, mh] = native.dropoutForward(tx.handle('dropout'), p);
  const y = wrap(yh, tx.shape), mask = wrap(mh, tx.shape);
  return { y: record('dropout', y, [tx], (dy, [sm]) => [dropoutBackward(dy, sm, p)], [mask]), mask };
}

/**
 * Inverted dropout (Srivastava et al. 2014): in training, zeroes each element with probability
 * `p` and scales the others by 1 / (1 - p); otherwise (or with p = 0) returns a copy of x.
 * The mask comes from the seeded Philox generator (`manualSeed`): element i uses the 32-bit
 * word u of lane i % 4 of the call's counter block first + i / 4, kept when u / 2^32 (its top
 * 24 bits) >= p.
 * @example const h = F.dropout(x, 0.5, model.training)
 */
export function dropout(x: Tensor, p = 0.5, training = true): F32 {
  const { y, mask } = dropoutWithMask(x, p, training);
  mask?.dispose();
  return y;
}

/** @internal dx = dy * mask / (1 - p); a null mask (nothing dropped) gives a copy of dy. */
export function dropoutBackward(dy: Tensor, mask: Tensor | null, p: number): F32 {
  const op = 'dropout backward';
  const tdy = checkFloat(op, 'dy', dy);
  checkP(op, p);
  if (mask === null) return clone(tdy);
  const tm = checkFloat(op, 'mask', mask);
  sameShape(op, 'dy and mask', tdy, tm);
  return wrap(native.dropoutBackward(tdy.handle(op), tm.handle(op), p), tdy.shape);
}

/**
 * Channel dropout (PyTorch's `F.dropout2d`, Tompson et al. 2015): in training, zeroes each whole
 * channel plane of x [N, C, H, W] (or [C, H, W]) with probability `p` and scales the others by
 * 1 / (1 − p); otherwise returns a copy of x. The mask comes from `bernoulli` (seeded by
 * `manualSeed`) on x's device; composed from tensor ops, so the gradient is dy times the
 * scaled mask.
 * @example const h = F.dropout2d(features, 0.2, model.training)
 */
export function dropout2d(x: Tensor, p = 0.5, training = true): F32 {
  const op = 'dropout2d';
  const tx = checkFloat(op, 'x', x);
  checkP(op, p);
  checkBool(op, 'training', training);
  if (tx.rank !== 3 && tx.rank !== 4) fail('E_SHAPE', `${op}: expected x of shape [N, C, H, W] or [C, H, W], got ${shapeStr(tx.shape)}`);
  if (!training || p === 0) return record(op, clone(tx), [tx], (dy) => [dy]);
  const planes = tx.rank === 4 ? [tx.shape[0], tx.shape[1], 1, 1] : [tx.shape[0], 1, 1];
  return tidy(() => {
    const keep = bernoulli(planes, 1 - p, { device: tx.device });
    return mul(tx, p === 1 ? keep : scale(keep, 1 / (1 - p)));
  });
}

// ---- local response normalisation -----------------------------------------------------------

function lrnArgs(op: string, x: Tensor, size: unknown, alpha: unknown, beta: unknown, k: unknown): void {
  rankAtLeast(op, x, 3, '[N, C, ...] (rank 3 or more)');
  checkInt(op, 'size', size, 1);
  checkNumber(op, 'alpha', alpha);
  checkNumber(op, 'beta', beta);
  checkNumber(op, 'k', k);
}

/**
 * Local response normalisation across channels (Krizhevsky et al. 2012), as PyTorch's:
 * y = x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta, the window
 * holding size/2 channels before and (size-1)/2 after (zeros beyond the edges).
 * The paper's alpha has no division by size: its alpha = 1e-4 is alpha = 5e-4 here (what
 * `models.AlexNet({ variant: 'original' })` uses); Caffe's AlexNet passes 1e-4 to this same
 * formula.
 * @example F.localResponseNorm(x, 5, 5e-4, 0.75, 2)   // the 2012 paper's setting
 */
export function localResponseNorm(x: Tensor, size: number, alpha = 1e-4, beta = 0.75, k = 1): F32 {
  const op = 'localResponseNorm';
  const tx = checkFloat(op, 'x', x);
  lrnArgs(op, tx, size, alpha, beta, k);
  const y = wrap(native.lrnForward(tx.handle(op), size, alpha, beta, k), tx.shape);
  return record(op, y, [tx], (dy, [sx]) => [localResponseNormBackward(dy, sx, size, alpha, beta, k)], [tx], { size, alpha, beta, k });
}

/** @internal dx from dy and the forward's x (the denominators are recomputed). */
export function localResponseNormBackward(dy: Tensor, x: Tensor, size: number, alpha = 1e-4, beta = 0.75, k = 1): F32 {
  const op = 'localResponseNorm backward';
  const [tdy, tx] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x)];
  sameShape(op, 'dy and x', tdy, tx);
  lrnArgs(op, tx, size, alpha, beta, k);
  return wrap(native.lrnBackward(tdy.handle(op), tx.handle(op), size, alpha, beta, k), tx.shape);
}

// ---- batch normalisation --------------------------------------------------------------------

export interface BatchNormOptions {
  /** Batch statistics (and running-stat updates) when true, the running statistics when false. Default true. */
  training?: boolean;
  /** Weight of the new batch statistics in the running ones. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/** @internal A per-channel vector [channels] (float32), or null where optional and absent (also nn/fusion.ts). */
export function perChannel(op: string, name: string, value: unknown, channels: number, optional: boolean): F32 | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    fail('E_ARG', `${op}: expected \`${name}\` to be a Tensor, got ${describe(value)}`);
  }
  const t = checkFloat(op, name, value);
  if (t.rank !== 1 || t.shape[0] !== channels) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [${channels}], got ${shapeStr(t.shape)}`);
  return t;
}

const h = (t: F32 | null, op: string): Handle | null => (t ? t.handle(op) : null);

/**
 * @internal Batch norm that also returns the mean and 1 / sqrt(var + eps) it used (the batch's
 * in training, the running ones in evaluation), which backward needs.
 */
export function batchNormWithStats(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null,
  options: BatchNormOptions = {},
): { y: F32; mean: F32; invstd: F32 } {
  const op = 'batchNorm';
  const tx = checkFloat(op, 'x', x);
  rankAtLeast(op, tx, 2, '[N, C] or [N, C, ...]');
  options = checkOptions<BatchNormOptions>(op, options, ['training', 'momentum', 'eps']);
  const { training = true, momentum = 0.1, eps = 1e-5 } = options;
  checkBool(op, 'training', training);
  checkNumber(op, 'momentum', momentum);
  if (momentum < 0 || momentum > 1) fail('E_ARG', `${op}: expected \`momentum\` in [0, 1], got ${momentum}`);
  checkNumber(op, 'eps', eps);
  if (eps < 0) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${eps}`);
  const C = tx.shape[1];
  const rm = perChannel(op, 'runningMean', runningMean, C, training);
  const rv = perChannel(op, 'runningVar', runningVar, C, training);
  if ((rm === null) !== (rv === null)) fail('E_ARG', `${op}: give both runningMean and runningVar, or neither`);
  const w = perChannel(op, 'weight', weight, C, true), b = perChannel(op, 'bias', bias, C, true);
  if (training && tx.size / Math.max(C, 1) === 1) {
    fail('E_SHAPE', `${op}: expected more than 1 value per channel when training, got x of shape ${shapeStr(tx.shape)}`);
  }
  const [yh, mh, sh] = native.batchNormForward(tx.handle(op), h(rm, op), h(rv, op), h(w, op), h(b, op), training, momentum, eps);
  const y = wrap(yh, tx.shape), mean = wrap(mh, [C]), invstd = wrap(sh, [C]);
  // The running statistics get no gradient (they are updated in place, not computed).
  record(op, y, [tx, rm, rv, w, b], (dy, [sx, sm, ss, sw]) => {
    const g = batchNormBackward(dy, sx, sw ?? null, sm, ss, training);
    return [g.dx, null, null, g.dweight, g.dbias];
  }, w ? [tx, mean, invstd, w] : [tx, mean, invstd], { training, eps });
  return { y, mean, invstd };
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) over x [N, C] or [N, C, ...], per channel:
 * y = (x - mean) / sqrt(var + eps) * weight + bias. In training (the default) it uses the
 * batch's mean and (biased) variance and updates `runningMean` and `runningVar` **in place**:
 * running = (1 - momentum) * running + momentum * batch stat, with the unbiased variance, as
 * PyTorch. In evaluation it uses the running statistics. `weight` and `bias` are optional.
 * @example
 * const runningMean = zeros([16]), runningVar = ones([16]);
 * const y = F.batchNorm(x, runningMean, runningVar, gamma, beta, { training: true });
 */
export function batchNorm(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null,
  options: BatchNormOptions = {},
): F32 {
  const { y, mean, invstd } = batchNormWithStats(x, runningMean, runningVar, weight, bias, options);
  mean.dispose();
  invstd.dispose();
  return y;
}

/**
 * @internal dx, dweight and dbias from dy, the forward's x, weight, and the mean and invstd it
 * returned; `training` says whether they were batch statistics (which depend on x).
 */
export function batchNormBackward(
  dy: Tensor, x: Tensor, weight: Tensor | null | undefined, mean: Tensor, invstd: Tensor, training: boolean,
): { dx: F32; dweight: F32; dbias: F32 } {
  const op = 'batchNorm backward';
  const [tdy, tx] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x)];
  rankAtLeast(op, tx, 2, '[N, C] or [N, C, ...]');
  sameShape(op, 'dy and x', tdy, tx);
  checkBool(op, 'training', training);
  const C = tx.shape[1];
  const w = perChannel(op, 'weight', weight, C, true);
  const m = perChannel(op, 'mean', mean, C, false) as F32, s = perChannel(op, 'invstd', invstd, C, false) as F32;
  const [dx, dw, db] = native.batchNormBackward(tdy.handle(op), tx.handle(op), h(w, op), m.handle(op), s.handle(op), training);
  return { dx: wrap(dx, tx.shape), dweight: wrap(dw, [C]), dbias: wrap(db, [C]) };
}
