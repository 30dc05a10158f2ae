/** `Rprop`: resilient backpropagation, steps from the signs of the gradients only (Riedmiller and Braun 1993). */
import { full } from '../creation';
import { fail } from '../errors';
import { keep } from '../engine';
import { clamp, gt, lt, mul, sign, sub, where } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { assign, checkPair, inPlaceUpdate } from './inplace';
import { Optimizer, checkLr, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface RpropOptions {
  /** Every coordinate's first step size (default 0.01). */
  lr: number;
  /** [etaminus, etaplus]: step-size factors when the gradient's sign flips or stays (default [0.5, 1.2]; 0 < etaminus < 1 < etaplus). */
  etas: [number, number];
  /** [min, max] step sizes (default [1e-6, 50]). */
  stepSizes: [number, number];
}

/**
 * Rprop, as torch.optim.Rprop: per coordinate, the step size is multiplied by etaplus when the
 * gradient keeps its sign, by etaminus when it flips (and that step is skipped: the gradient
 * is taken as 0, and remembered so), clamped to `stepSizes`; then `param -= sign(grad) *
 * stepSize`. Full-batch training only: minibatch noise defeats it. Step sizes start at `lr`
 * (the group's at the parameter's first step).
 *
 * @example const opt = new optim.Rprop(model.parameters(), { lr: 0.01, etas: [0.5, 1.2] });
 */
export class Rprop extends Optimizer<RpropOptions> {
  constructor(params: ParamsArg<RpropOptions>, options: Partial<RpropOptions> = {}) {
    options = checkOptions<Partial<RpropOptions>>('Rprop', options, ['lr', 'etas', 'stepSizes']);
    super('Rprop', params, { lr: 0.01, etas: [0.5, 1.2], stepSizes: [1e-6, 50], ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<RpropOptions>): void {
    const op = 'Rprop';
    checkLr(op, group.lr);
    checkPair(op, 'etas', group.etas, (e, i) => (i === 0 ? e > 0 && e < 1 : e > 1 && Number.isFinite(e)), 'with 0 < etas[0] < 1 < etas[1]');
    const [lo, hi] = checkPair(op, 'stepSizes', group.stepSizes, (s) => s >= 0, '>= 0');
    if (!(hi >= lo)) fail('E_ARG', `${op}: expected \`stepSizes\` [min, max] with min <= max, got [${lo}, ${hi}]`);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<RpropOptions>): void {
    if (state.step === undefined) {
      state.step = 0;
      state.prev = this.zerosLikeParam(param);
      state.stepSize = keep(full<'float32'>(param.shape, group.lr, { device: param.device }));
    }
    state.step = (state.step as number) + 1;
    const prev = state.prev as Tensor<'float32'>, size = state.stepSize as Tensor<'float32'>;
    const [etaminus, etaplus] = group.etas;
    const [sizeMin, sizeMax] = group.stepSizes;
    inPlaceUpdate(() => {
      const s = sign(mul(grad, prev));
      const flipped = lt(s, 0);
      const factor = where(gt(s, 0), etaplus, where(flipped, etaminus, 1));
      const size2 = clamp(mul(size, factor), sizeMin, sizeMax);
      const g = where(flipped, 0, grad);
      const p2 = sub(param, mul(sign(g), size2));
      assign('Rprop.step', size, size2);
      assign('Rprop.step', param, p2);
      assign('Rprop.step', prev, g);
    });
  }
}
