/** `ASGD`: averaged stochastic gradient descent (Polyak and Juditsky 1992). */
import { fail } from '../errors';
import { add, mul, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkNumber, checkOptions } from '../validate';
import { assign, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface AsgdOptions {
  /** The learning rate (default 0.01). */
  lr: number;
  /** Decay term (default 1e-4). */
  lambd: number;
  /** Power of the eta update (default 0.75). */
  alpha: number;
  /** The step from which to average (default 1e6). */
  t0: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * ASGD, as torch.optim.ASGD (PyTorch 1.13): with `g = grad + weightDecay * param`,
 * `param = param * (1 - lambd * eta) - eta * g`; the average `ax` follows `param` (ax +=
 * mu (param - ax)); then `eta = lr / (1 + lambd lr t)^alpha` and `mu = 1 / max(1, t - t0)`.
 * The state's `ax` holds the averaged parameters (copy them into a model to evaluate it);
 * `eta` and `mu` are kept in float32, as PyTorch's state tensors.
 *
 * @example const opt = new optim.ASGD(model.parameters(), { lr: 0.01, t0: 100 });
 */
export class ASGD extends Optimizer<AsgdOptions> {
  constructor(params: ParamsArg<AsgdOptions>, options: Partial<AsgdOptions> = {}) {
    options = checkOptions<Partial<AsgdOptions>>('ASGD', options, ['lr', 'lambd', 'alpha', 't0', 'weightDecay']);
    super('ASGD', params, { lr: 0.01, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<AsgdOptions>): void {
    const op = 'ASGD';
    checkLr(op, group.lr);
    checkNonNegative(op, 'lambd', group.lambd);
    checkNumber(op, 'alpha', group.alpha);
    if (Number.isNaN(checkNumber(op, 't0', group.t0, true))) fail('E_ARG', `${op}: expected \`t0\` to be a number, got NaN`);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AsgdOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.eta = Math.fround(group.lr);
      state.mu = 1;
      state.ax = this.zerosLikeParam(param);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const ax = state.ax as Tensor<'float32'>;
    const eta = state.eta as number, mu = state.mu as number;
    const { lr, lambd, alpha, t0, weightDecay } = group;
    inPlaceUpdate(() => {
      const g = weightDecay !== 0 ? add(grad, mul(param, weightDecay)) : grad;
      const p2 = sub(mul(param, 1 - lambd * eta), mul(g, eta));
      const ax2 = mu !== 1 ? add(ax, mul(sub(p2, ax), mu)) : p2;
      assign('ASGD.step', param, p2);
      assign('ASGD.step', ax, ax2);
    });
    state.eta = Math.fround(lr / (1 + lambd * lr * step) ** alpha);
    state.mu = Math.fround(1 / Math.max(1, step - t0));
  }
}
