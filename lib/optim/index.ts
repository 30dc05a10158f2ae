/**
 * `optim`: optimizers (SGD, Adam, AdamW) over the fused, in-place update steps, learning-rate
 * schedules, and gradient clipping.
 *
 * @example
 * const opt = new optim.SGD(params, { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.StepLR(opt, { stepSize: 10, gamma: 0.5 });
 * opt.zeroGrad(); loss.backward(); optim.clipGradNorm(params, 5); opt.step(); sched.step();
 */
export { sgdStep, adamStep } from './functional';
export type { SgdStepOptions, AdamStepOptions } from './functional';
export { Optimizer } from './optimizer';
export type { ParamGroup, ParamState, ParamsArg, OptimizerStateDict } from './optimizer';
export { SGD } from './sgd';
export type { SgdOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { LRScheduler, StepLR, CosineAnnealingLR, OneCycleLR } from './lr_scheduler';
export type { StepLROptions, CosineAnnealingLROptions, OneCycleLROptions, SchedulerStateDict } from './lr_scheduler';
export { clipGradNorm } from './clip_grad';
