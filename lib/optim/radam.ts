/** `RAdam`: Adam with the variance of the adaptive learning rate rectified (Liu et al. 2020). */
import { add, div, mul, sqrt, square, sub } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { assign, checkBetas, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface RAdamOptions {
  /** The learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * RAdam, as torch.optim.RAdam (PyTorch 1.13): the Adam moments with `g = grad + weightDecay *
 * param`; with rho_inf = 2 / (1 - beta2) - 1 and rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t),
 * while rho_t <= 5 the step is plain momentum, `param -= lr * expAvg / (1 - beta1^t)`; after,
 * it is rectified: `param -= lr * r_t * expAvg / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(expAvgSq) + eps)`.
 *
 * @example const opt = new optim.RAdam(model.parameters(), { lr: 1e-3 });
 */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: ParamsArg<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    options = checkOptions<Partial<RAdamOptions>>('RAdam', options, ['lr', 'betas', 'eps', 'weightDecay']);
    super('RAdam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<RAdamOptions>): void {
    const op = 'RAdam';
    checkLr(op, group.lr);
    checkBetas(op, group.betas);
    checkNonNegative(op, 'eps', group.eps);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<RAdamOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = this.zerosLikeParam(param);
      state.expAvgSq = this.zerosLikeParam(param);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const m = state.expAvg as Tensor<'float32'>, v = state.expAvgSq as Tensor<'float32'>;
    const [beta1, beta2] = group.betas;
    const { lr, eps, weightDecay } = group;
    const biasCorrection1 = 1 - beta1 ** step, biasCorrection2 = 1 - beta2 ** step;
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * step * beta2 ** step) / biasCorrection2;
    inPlaceUpdate(() => {
      const g = weightDecay !== 0 ? add(grad, mul(param, weightDecay)) : grad;
      const m2 = add(mul(m, beta1), mul(g, 1 - beta1));
      const v2 = add(mul(v, beta2), mul(square(g), 1 - beta2));
      const corrected = div(m2, biasCorrection1);
      let p2: Tensor<'float32'>;
      if (rhoT > 5) {
        const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        const adaptive = div(Math.sqrt(biasCorrection2), add(sqrt(v2), eps));
        p2 = sub(param, mul(mul(corrected, adaptive), lr * rect));
      } else {
        p2 = sub(param, mul(corrected, lr));
      }
      assign('RAdam.step', m, m2);
      assign('RAdam.step', v, v2);
      assign('RAdam.step', param, p2);
    });
  }
}
