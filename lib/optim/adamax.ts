/** `Adamax`: Adam with the infinity norm of the gradients in place of their second moment. */
import { abs, add, div, maximum, mul, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { assign, checkBetas, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface AdamaxOptions {
  /** The learning rate (default 2e-3). */
  lr: number;
  /** Decay rates of the first moment and of the infinity norm (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to |g| before the maximum (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Adamax, as torch.optim.Adamax (Kingma and Ba 2015, section 7.1): with `g = grad +
 * weightDecay * param`, `expAvg = beta1 * expAvg + (1 - beta1) * g`, `expInf = max(beta2 *
 * expInf, |g| + eps)`, then `param -= lr / (1 - beta1^t) * expAvg / expInf`.
 *
 * @example const opt = new optim.Adamax(model.parameters(), { lr: 2e-3 });
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: ParamsArg<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    options = checkOptions<Partial<AdamaxOptions>>('Adamax', options, ['lr', 'betas', 'eps', 'weightDecay']);
    super('Adamax', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<AdamaxOptions>): void {
    const op = 'Adamax';
    checkLr(op, group.lr);
    checkBetas(op, group.betas);
    checkNonNegative(op, 'eps', group.eps);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdamaxOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = this.zerosLikeParam(param);
      state.expInf = this.zerosLikeParam(param);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const m = state.expAvg as Tensor<'float32'>, u = state.expInf as Tensor<'float32'>;
    const [beta1, beta2] = group.betas;
    const { lr, eps, weightDecay } = group;
    inPlaceUpdate(() => {
      const g = weightDecay !== 0 ? add(grad, mul(param, weightDecay)) : grad;
      const m2 = add(mul(m, beta1), mul(g, 1 - beta1));
      const u2 = maximum(mul(u, beta2), add(abs(g), eps));
      const clr = lr / (1 - beta1 ** step);
      const p2 = sub(param, mul(div(m2, u2), clr));
      assign('Adamax.step', m, m2);
      assign('Adamax.step', u, u2);
      assign('Adamax.step', param, p2);
    });
  }
}
