/** `Adam` and `AdamW`: adaptive moment estimation, with L2 or decoupled weight decay, and AMSGrad. */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkOptions, describe } from '../validate';
import { adamStep } from './functional';
import { Optimizer, checkBool, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';
import { stripUndefined } from './sgd';

export interface AdamOptions {
  /** The learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Weight decay: an L2 penalty for Adam (default 0), decoupled for AdamW (default 0.01). */
  weightDecay: number;
  /** Use the maximum of the second moments so far (AMSGrad; default false). */
  amsgrad: boolean;
}

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'];

function adamDefaults(op: string, options: Partial<AdamOptions>, weightDecay: number): AdamOptions {
  checkOptions(op, options, KEYS);
  return { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, ...stripUndefined(options) };
}

function checkAdamGroup(op: string, group: ParamGroup<AdamOptions>): void {
  checkLr(op, group.lr);
  checkNonNegative(op, 'eps', group.eps);
  checkNonNegative(op, 'weightDecay', group.weightDecay);
  checkBool(op, 'amsgrad', group.amsgrad);
  const betas = group.betas as unknown;
  if (!Array.isArray(betas) || betas.length !== 2) fail('E_ARG', `${op}: expected \`betas\` to be [beta1, beta2], got ${describe(betas)}`);
  betas.forEach((b, i) => {
    if (typeof b !== 'number' || !(b >= 0 && b < 1)) fail('E_ARG', `${op}: expected \`betas[${i}]\` in [0, 1), got ${describe(b)}`);
  });
}

function adamUpdate(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdamOptions>,
  zerosLike: (p: Tensor) => Tensor<'float32'>, decoupled: boolean): void {
  if (state.step === undefined) {
    state.step = 0;
    state.expAvg = zerosLike(param);
    state.expAvgSq = zerosLike(param);
  }
  if (group.amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLike(param);
  state.step = (state.step as number) + 1;
  adamStep(param, grad, state.expAvg as Tensor<'float32'>, state.expAvgSq as Tensor<'float32'>,
    group.amsgrad ? (state.maxExpAvgSq as Tensor<'float32'>) : null,
    { lr: group.lr, betas: group.betas, eps: group.eps, weightDecay: group.weightDecay, step: state.step, decoupled });
}

/**
 * Adam, as torch.optim.Adam: weight decay is an L2 penalty added to the gradient; bias-corrected
 * moments; AMSGrad with `amsgrad: true`.
 *
 * @example const opt = new optim.Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999] });
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, adamDefaults('Adam', options, 0));
  }

  protected override checkGroup(group: ParamGroup<AdamOptions>): void {
    checkAdamGroup('Adam', group);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdamOptions>): void {
    adamUpdate(param, grad, state, group, (p) => this.zerosLikeParam(p), false);
  }
}

/**
 * AdamW, as torch.optim.AdamW: Adam with decoupled weight decay (`param *= 1 - lr *
 * weightDecay` before the Adam update), default weightDecay 0.01.
 *
 * @example const opt = new optim.AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.05 });
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, adamDefaults('AdamW', options, 0.01));
  }

  protected override checkGroup(group: ParamGroup<AdamOptions>): void {
    checkAdamGroup('AdamW', group);
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<AdamOptions>): void {
    adamUpdate(param, grad, state, group, (p) => this.zerosLikeParam(p), true);
  }
}
