/** `NAdam`: Adam with Nesterov momentum (Dozat 2016), with PyTorch's momentum decay. */
import { add, div, mul, sqrt, square, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { assign, checkBetas, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface NAdamOptions {
  /** The learning rate (default 2e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** The momentum schedule's decay, psi (default 4e-3). */
  momentumDecay: number;
}

/**
 * NAdam, as torch.optim.NAdam (PyTorch 1.13): with `g = grad + weightDecay * param`, the
 * momentum schedule `mu_t = beta1 (1 - 0.96^(t psi) / 2)` and its running product, the Adam
 * moments, and `denom = sqrt(expAvgSq / (1 - beta2^t)) + eps`:
 * `param -= lr (1 - mu_t) / (1 - prod mu) * g / denom + lr mu_{t+1} / (1 - prod mu * mu_{t+1}) * expAvg / denom`.
 * The product of the mu is kept in float32, as PyTorch's `mu_product` tensor.
 *
 * @example const opt = new optim.NAdam(model.parameters(), { lr: 2e-3 });
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: ParamsArg<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    options = checkOptions<Partial<NAdamOptions>>('NAdam', options, ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay']);
    super('NAdam', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<NAdamOptions>): void {
    const op = 'NAdam';
    checkLr(op, group.lr);
    checkBetas(op, group.betas);
    checkNonNegative(op, 'eps', group.eps);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
    checkNonNegative(op, 'momentumDecay', group.momentumDecay);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<NAdamOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.muProduct = 1;
      state.expAvg = this.zerosLikeParam(param);
      state.expAvgSq = this.zerosLikeParam(param);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const m = state.expAvg as Tensor<'float32'>, v = state.expAvgSq as Tensor<'float32'>;
    const [beta1, beta2] = group.betas;
    const { lr, eps, weightDecay, momentumDecay } = group;
    const biasCorrection2 = 1 - beta2 ** step;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
    // float32 products, as PyTorch's mu_product tensor.
    const f = Math.fround;
    const muProduct = f((state.muProduct as number) * f(mu));
    const muProductNext = f(f(muProduct * f(mu)) * f(muNext));
    state.muProduct = muProduct;
    inPlaceUpdate(() => {
      const g = weightDecay !== 0 ? add(grad, mul(param, weightDecay)) : grad;
      const m2 = add(mul(m, beta1), mul(g, 1 - beta1));
      const v2 = add(mul(v, beta2), mul(square(g), 1 - beta2));
      const denom = add(sqrt(div(v2, biasCorrection2)), eps);
      const p1 = sub(param, mul(div(g, denom), (lr * (1 - mu)) / (1 - muProduct)));
      const p2 = sub(p1, mul(div(m2, denom), (lr * muNext) / (1 - muProductNext)));
      assign('NAdam.step', m, m2);
      assign('NAdam.step', v, v2);
      assign('NAdam.step', param, p2);
    });
  }
}
