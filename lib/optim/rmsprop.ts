/** `RMSprop`: divide the gradient by a running root mean square of its recent values. */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { rmspropStep } from './functional';
import { Optimizer, checkBool, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface RmspropOptions {
  /** The learning rate (default 0.01). */
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0: none). */
  momentum: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment (default false). */
  centered: boolean;
}

/**
 * RMSprop, as torch.optim.RMSprop (Hinton, lecture 6e; centered as Graves 2013): with
 * `g = grad + weightDecay * param`, `squareAvg = alpha * squareAvg + (1 - alpha) * g²`, then
 * `param -= lr * g / (sqrt(squareAvg) + eps)` (through a momentum buffer when momentum > 0;
 * `centered` subtracts the squared running mean of g under the root).
 *
 * @example const opt = new optim.RMSprop(model.parameters(), { lr: 1e-3, momentum: 0.9 });
 */
export class RMSprop extends Optimizer<RmspropOptions> {
  constructor(params: ParamsArg<RmspropOptions>, options: Partial<RmspropOptions> = {}) {
    options = checkOptions<Partial<RmspropOptions>>('RMSprop', options, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered']);
    super('RMSprop', params, { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<RmspropOptions>): void {
    const op = 'RMSprop';
    checkLr(op, group.lr);
    const alpha = checkNonNegative(op, 'alpha', group.alpha);
    if (alpha > 1) fail('E_ARG', `${op}: expected \`alpha\` in [0, 1], got ${alpha}`);
    checkNonNegative(op, 'eps', group.eps);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
    checkNonNegative(op, 'momentum', group.momentum);
    checkBool(op, 'centered', group.centered);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<RmspropOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.squareAvg = this.zerosLikeParam(param);
    }
    // A group's momentum or centered may be switched on after the first step: their state starts then.
    if (group.momentum > 0 && state.momentumBuffer === undefined) state.momentumBuffer = this.zerosLikeParam(param);
    if (group.centered && state.gradAvg === undefined) state.gradAvg = this.zerosLikeParam(param);
    state.step = (state.step as number) + 1;
    rmspropStep(param, grad, state.squareAvg as Tensor<'float32'>,
      group.momentum > 0 ? (state.momentumBuffer as Tensor<'float32'>) : null,
      group.centered ? (state.gradAvg as Tensor<'float32'>) : null,
      { lr: group.lr, alpha: group.alpha, eps: group.eps, weightDecay: group.weightDecay, momentum: group.momentum, centered: group.centered });
  }
}
