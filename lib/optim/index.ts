/**
 * `optim`: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) over the fused, in-place update steps,
 * more (Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD, LBFGS) over the ordinary tensor ops, learning-rate
 * schedules, stochastic weight averaging (`swaUtils`: AveragedModel, SWALR, updateBn) and gradient
 * clipping.
 *
 * @example
 * const opt = new optim.SGD(params, { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.StepLR(opt, { stepSize: 10, gamma: 0.5 });
 * opt.zeroGrad(); loss.backward(); optim.clipGradNorm(params, 5); opt.step(); sched.step();
 */
export { sgdStep, adamStep, rmspropStep, adagradStep } from './functional';
export type { SgdStepOptions, AdamStepOptions, RmspropStepOptions, AdagradStepOptions } from './functional';
export { Optimizer } from './optimizer';
export type { ParamGroup, ParamState, ParamsArg, OptimizerStateDict } from './optimizer';
export { SGD } from './sgd';
export type { SgdOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { RMSprop } from './rmsprop';
export type { RmspropOptions } from './rmsprop';
export { Adagrad } from './adagrad';
export type { AdagradOptions } from './adagrad';
export { Adamax } from './adamax';
export type { AdamaxOptions } from './adamax';
export { NAdam } from './nadam';
export type { NAdamOptions } from './nadam';
export { RAdam } from './radam';
export type { RAdamOptions } from './radam';
export { Adadelta } from './adadelta';
export type { AdadeltaOptions } from './adadelta';
export { Rprop } from './rprop';
export type { RpropOptions } from './rprop';
export { ASGD } from './asgd';
export type { AsgdOptions } from './asgd';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, LambdaLR, LinearLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau } from './lr_scheduler';
export type {
  StepLROptions, MultiStepLROptions, ExponentialLROptions, LambdaLROptions, LinearLROptions, CosineAnnealingLROptions, OneCycleLROptions,
  ReduceLROnPlateauOptions, SchedulerStateDict,
} from './lr_scheduler';
export { CyclicLR, CosineAnnealingWarmRestarts, PolynomialLR, ConstantLR, MultiplicativeLR, SequentialLR, ChainedScheduler } from './lr_scheduler_more';
export type {
  CyclicLROptions, CosineAnnealingWarmRestartsOptions, PolynomialLROptions, ConstantLROptions, MultiplicativeLROptions, SequentialLROptions,
} from './lr_scheduler_more';
export { LBFGS } from './lbfgs';
export type { LBFGSOptions } from './lbfgs';
export { AveragedModel, SWALR, updateBn } from './swa_utils';
export type { AveragedModelOptions, SWALROptions, AvgFn } from './swa_utils';
export * as swaUtils from './swa_utils';
export { clipGradNorm, clipGradValue } from './clip_grad';
