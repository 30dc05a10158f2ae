/** `SGD`: stochastic gradient descent with momentum, dampening, Nesterov and weight decay. */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { sgdStep } from './functional';
import { Optimizer, checkBool, checkLr, checkNonNegative, type ParamGroup, type ParamState, type ParamsArg } from './optimizer';

export interface SgdOptions {
  /** The learning rate (required, as in PyTorch 1.x). */
  lr: number;
  /** Momentum factor (default 0: none). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Stochastic gradient descent, as torch.optim.SGD: with `g = grad + weightDecay * param`,
 * `buf = momentum * buf + (1 - dampening) * g` (buf = g at the first step), then
 * `param -= lr * (nesterov ? g + momentum * buf : buf)` (or `lr * g` without momentum).
 *
 * @example
 * const opt = new optim.SGD([{ params: body, lr: 0.01 }, { params: head }], { lr: 0.1, momentum: 0.9 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export class SGD extends Optimizer<SgdOptions> {
  constructor(params: ParamsArg<SgdOptions>, options: Partial<SgdOptions> = {}) {
    options = checkOptions<Partial<SgdOptions>>('SGD', options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay']);
    super('SGD', params, { lr: options.lr as number, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...stripUndefined(options) });
  }

  protected override checkGroup(group: ParamGroup<SgdOptions>): void {
    const op = 'SGD';
    checkLr(op, group.lr);
    const momentum = checkNonNegative(op, 'momentum', group.momentum);
    const dampening = checkNonNegative(op, 'dampening', group.dampening);
    checkNonNegative(op, 'weightDecay', group.weightDecay);
    if (checkBool(op, 'nesterov', group.nesterov) && (momentum <= 0 || dampening !== 0)) {
      fail('E_ARG', `${op}: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${momentum}, dampening ${dampening}`);
    }
  }

  protected override updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<SgdOptions>): void {
    let buffer: Tensor<'float32'> | null = null;
    let firstStep = false;
    if (group.momentum !== 0) {
      if (state.momentumBuffer === undefined) {
        state.momentumBuffer = this.zerosLikeParam(param);
        firstStep = true;
      }
      buffer = state.momentumBuffer as Tensor<'float32'>;
    }
    sgdStep(param, grad, buffer, {
      lr: group.lr, momentum: group.momentum, dampening: group.dampening, nesterov: group.nesterov, weightDecay: group.weightDecay, firstStep,
    });
  }
}

/** Options given as `undefined` take the default, as if left out. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
