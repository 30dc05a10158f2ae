/**
 * The optimizers' fused update steps, functional form (as torch.optim._functional): each
 * updates a parameter and its state tensors in place, in one pass, on the queue. The optimizer
 * classes keep the state and call these for every parameter.
 */
import { fail } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkDtype, checkInt, checkNumber, checkOptions, checkTensor, describe, shapeStr } from '../validate';

function likeParam(op: string, name: string, t: unknown, param: Tensor): Tensor {
  const x = checkTensor(op, name, t);
  checkDtype(op, name, x, 'float32');
  if (x.shape.length !== param.shape.length || x.shape.some((d, i) => d !== param.shape[i])) {
    fail('E_SHAPE', `${op}: expected \`${name}\` of the parameter's shape ${shapeStr(param.shape)}, got ${shapeStr(x.shape)}`);
  }
  return x;
}

function nonNegative(op: string, name: string, v: unknown): number {
  const n = checkNumber(op, name, v);
  if (n < 0) fail('E_ARG', `${op}: expected \`${name}\` >= 0, got ${n}`);
  return n;
}

export interface SgdStepOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** Whether this is the first step (the momentum buffer then starts as the gradient). */
  firstStep?: boolean;
}

/**
 * One SGD step in place, as torch.optim.SGD: weight decay, momentum with dampening, Nesterov.
 * `momentumBuffer` (the parameter's shape) is needed when momentum != 0 and updated in place.
 *
 * @example optim.sgdStep(w, dw, buf, { lr: 0.01, momentum: 0.9, firstStep: step === 1 })
 */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, options: SgdStepOptions): void {
  const op = 'sgdStep';
  const p = checkTensor(op, 'param', param);
  checkDtype(op, 'param', p, 'float32');
  const g = likeParam(op, 'grad', grad, p);
  options = checkOptions<SgdStepOptions>(op, options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'firstStep']);
  const lr = nonNegative(op, 'lr', options.lr);
  const momentum = nonNegative(op, 'momentum', options.momentum ?? 0);
  const dampening = nonNegative(op, 'dampening', options.dampening ?? 0);
  const weightDecay = nonNegative(op, 'weightDecay', options.weightDecay ?? 0);
  const nesterov = checkBool(op, 'nesterov', options.nesterov ?? false);
  const firstStep = checkBool(op, 'firstStep', options.firstStep ?? false);
  if (nesterov && (momentum <= 0 || dampening !== 0)) fail('E_ARG', `${op}: Nesterov momentum needs momentum > 0 and dampening 0`);
  let buffer = null;
  if (momentum !== 0) {
    if (momentumBuffer === null || momentumBuffer === undefined) fail('E_ARG', `${op}: momentum ${momentum} needs a momentum buffer`);
    buffer = likeParam(op, 'momentumBuffer', momentumBuffer, p).handle(op);
  }
  native.sgdStep(p.handle(op), g.handle(op), buffer, lr, momentum, dampening, nesterov, weightDecay, firstStep);
}

export interface AdamStepOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** The step number, 1 for the first (used by the bias corrections). */
  step: number;
  /** AdamW: decay the weights directly instead of adding weightDecay * param to the gradient. */
  decoupled?: boolean;
}

/**
 * One Adam (or AdamW, with `decoupled`) step in place, as torch.optim.Adam / AdamW, with bias
 * correction; pass `maxExpAvgSq` for AMSGrad. expAvg, expAvgSq (and maxExpAvgSq) are the
 * parameter's shape, start at zero and are updated in place.
 *
 * @example optim.adamStep(w, dw, m, v, null, { lr: 1e-3, step: t })
 */
export function adamStep(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor | null, options: AdamStepOptions): void {
  const op = 'adamStep';
  const p = checkTensor(op, 'param', param);
  checkDtype(op, 'param', p, 'float32');
  const g = likeParam(op, 'grad', grad, p);
  const m = likeParam(op, 'expAvg', expAvg, p);
  const v = likeParam(op, 'expAvgSq', expAvgSq, p);
  const vMax = maxExpAvgSq === null || maxExpAvgSq === undefined ? null : likeParam(op, 'maxExpAvgSq', maxExpAvgSq, p).handle(op);
  options = checkOptions<AdamStepOptions>(op, options, ['lr', 'betas', 'eps', 'weightDecay', 'step', 'decoupled']);
  const betas: unknown = options.betas === undefined ? [0.9, 0.999] : options.betas;
  if (!Array.isArray(betas) || betas.length !== 2) fail('E_ARG', `${op}: expected \`betas\` to be [beta1, beta2], got ${describe(betas)}`);
  const [beta1, beta2] = betas as [number, number];
  for (const [name, b] of [['betas[0]', beta1], ['betas[1]', beta2]] as const) {
    if (checkNumber(op, name, b) < 0 || b >= 1) fail('E_ARG', `${op}: expected \`${name}\` in [0, 1), got ${b}`);
  }
  native.adamStep(p.handle(op), g.handle(op), m.handle(op), v.handle(op), vMax, nonNegative(op, 'lr', options.lr), beta1, beta2,
    nonNegative(op, 'eps', options.eps ?? 1e-8), nonNegative(op, 'weightDecay', options.weightDecay ?? 0),
    checkInt(op, 'step', options.step, 1), checkBool(op, 'decoupled', options.decoupled ?? false));
}

export interface RmspropStepOptions {
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalize by the estimated variance (needs `gradAvg`). */
  centered?: boolean;
}

/**
 * One RMSprop step in place, as torch.optim.RMSprop. `squareAvg` (and `momentumBuffer` when
 * momentum != 0, `gradAvg` when centered) are the parameter's shape, start at zero and are
 * updated in place.
 *
 * @example optim.rmspropStep(w, dw, sq, null, null, { lr: 0.01 })
 */
export function rmspropStep(param: Tensor, grad: Tensor, squareAvg: Tensor, momentumBuffer: Tensor | null, gradAvg: Tensor | null,
  options: RmspropStepOptions): void {
  const op = 'rmspropStep';
  const p = checkTensor(op, 'param', param);
  checkDtype(op, 'param', p, 'float32');
  const g = likeParam(op, 'grad', grad, p);
  const sq = likeParam(op, 'squareAvg', squareAvg, p);
  options = checkOptions<RmspropStepOptions>(op, options, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered']);
  const alpha = nonNegative(op, 'alpha', options.alpha ?? 0.99);
  if (alpha > 1) fail('E_ARG', `${op}: expected \`alpha\` in [0, 1], got ${alpha}`);
  const momentum = nonNegative(op, 'momentum', options.momentum ?? 0);
  const centered = checkBool(op, 'centered', options.centered ?? false);
  let buffer = null, average = null;
  if (momentum !== 0) {
    if (momentumBuffer === null || momentumBuffer === undefined) fail('E_ARG', `${op}: momentum ${momentum} needs a momentum buffer`);
    buffer = likeParam(op, 'momentumBuffer', momentumBuffer, p).handle(op);
  }
  if (centered) {
    if (gradAvg === null || gradAvg === undefined) fail('E_ARG', `${op}: centered needs a gradient average (gradAvg)`);
    average = likeParam(op, 'gradAvg', gradAvg, p).handle(op);
  }
  native.rmspropStep(p.handle(op), g.handle(op), sq.handle(op), buffer, average, nonNegative(op, 'lr', options.lr), alpha,
    nonNegative(op, 'eps', options.eps ?? 1e-8), nonNegative(op, 'weightDecay', options.weightDecay ?? 0), momentum, centered);
}

export interface AdagradStepOptions {
  lr: number;
  /** The learning rate is lr / (1 + (step - 1) * lrDecay) (default 0). */
  lrDecay?: number;
  weightDecay?: number;
  eps?: number;
  /** The step number, 1 for the first (used by lrDecay). */
  step: number;
}

/**
 * One Adagrad step in place, as torch.optim.Adagrad. `stateSum` is the parameter's shape,
 * starts at `initialAccumulatorValue` (0 by default) and is updated in place.
 *
 * @example optim.adagradStep(w, dw, sum, { lr: 0.01, step: t })
 */
export function adagradStep(param: Tensor, grad: Tensor, stateSum: Tensor, options: AdagradStepOptions): void {
  const op = 'adagradStep';
  const p = checkTensor(op, 'param', param);
  checkDtype(op, 'param', p, 'float32');
  const g = likeParam(op, 'grad', grad, p);
  const sum = likeParam(op, 'stateSum', stateSum, p);
  options = checkOptions<AdagradStepOptions>(op, options, ['lr', 'lrDecay', 'weightDecay', 'eps', 'step']);
  native.adagradStep(p.handle(op), g.handle(op), sum.handle(op), nonNegative(op, 'lr', options.lr),
    nonNegative(op, 'lrDecay', options.lrDecay ?? 0), nonNegative(op, 'weightDecay', options.weightDecay ?? 0),
    nonNegative(op, 'eps', options.eps ?? 1e-10), checkInt(op, 'step', options.step, 1));
}
