/** `Adagrad`: per-coordinate learning rates that shrink with the sum of the squared gradients. */
import { full } from '../creation';
import { keep } from '../engine';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { adagradStep } from './functional';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface AdagradOptions {
  /** The learning rate (default 0.01). */
  lr: number;
  /** Learning-rate decay: step t uses lr / (1 + (t - 1) * lrDecay) (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /**
   * Where each parameter's sum of squared gradients starts (default 0). A group's own value is
   * used for its parameters (PyTorch 1.13 takes the constructor's for every group).
   */
  initialAccumulatorValue: number;
  /** Added to the denominator (default 1e-10). */
  eps: number;
}

/**
 * Adagrad, as torch.optim.Adagrad (Duchi, Hazan and Singer 2011): with `g = grad +
 * weightDecay * param`, `sum += g²`, then `param -= lr / (1 + (t - 1) * lrDecay) * g /
 * (sqrt(sum) + eps)`.
 *
 * @example const opt = new optim.Adagrad(model.parameters(), { lr: 0.01 });
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsArg<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    options = checkOptions<Partial<AdagradOptions>>('Adagrad', options, ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps']);
    super('Adagrad', params, { lr: 0.01, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<AdagradOptions>): void {
    const op = 'Adagrad';
    checkLr(op, group.lr);
    checkNonNegative(op, 'lrDecay', group.lrDecay);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
    checkNonNegative(op, 'initialAccumulatorValue', group.initialAccumulatorValue);
    checkNonNegative(op, 'eps', group.eps);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdagradOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.sum = keep(full<'float32'>(param.shape, group.initialAccumulatorValue, { device: param.device }));
    }
    state.step = (state.step as number) + 1;
    adagradStep(param, grad, state.sum as Tensor<'float32'>,
      { lr: group.lr, lrDecay: group.lrDecay, weightDecay: group.weightDecay, eps: group.eps, step: state.step });
  }
}
