/** `Adadelta`: per-coordinate steps from running averages of squared gradients and squared updates (Zeiler 2012). */
import { fail } from '../errors';
import { add, div, mul, sqrt, square, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { assign, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface AdadeltaOptions {
  /** Scales the delta before it is applied (default 1). */
  lr: number;
  /** Smoothing constant of both running averages, in [0, 1] (default 0.9). */
  rho: number;
  /** Added inside both square roots (default 1e-6). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Adadelta, as torch.optim.Adadelta: with `g = grad + weightDecay * param`,
 * `squareAvg = rho * squareAvg + (1 - rho) * g²`, `delta = sqrt(accDelta + eps) /
 * sqrt(squareAvg + eps) * g`, `accDelta = rho * accDelta + (1 - rho) * delta²`, then
 * `param -= lr * delta`.
 *
 * @example const opt = new optim.Adadelta(model.parameters());
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: ParamsArg<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    options = checkOptions<Partial<AdadeltaOptions>>('Adadelta', options, ['lr', 'rho', 'eps', 'weightDecay']);
    super('Adadelta', params, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<AdadeltaOptions>): void {
    const op = 'Adadelta';
    checkLr(op, group.lr);
    const rho = checkNonNegative(op, 'rho', group.rho);
    if (rho > 1) fail('E_ARG', `${op}: expected \`rho\` in [0, 1], got ${rho}`);
    checkNonNegative(op, 'eps', group.eps);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdadeltaOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.squareAvg = this.zerosLikeParam(param);
      state.accDelta = this.zerosLikeParam(param);
    }
    state.step = (state.step as number) + 1;
    const sq = state.squareAvg as Tensor<'float32'>, acc = state.accDelta as Tensor<'float32'>;
    const { lr, rho, eps, weightDecay } = group;
    inPlaceUpdate(() => {
      const g = weightDecay !== 0 ? add(grad, mul(param, weightDecay)) : grad;
      const sq2 = add(mul(sq, rho), mul(square(g), 1 - rho));
      const delta = mul(div(sqrt(add(acc, eps)), sqrt(add(sq2, eps))), g);
      const acc2 = add(mul(acc, rho), mul(square(delta), 1 - rho));
      const p2 = sub(param, mul(delta, lr));
      assign('Adadelta.step', sq, sq2);
      assign('Adadelta.step', acc, acc2);
      assign('Adadelta.step', param, p2);
    });
  }
}
