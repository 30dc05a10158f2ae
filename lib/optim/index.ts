/**
 * `optim`: optimizers. For now the fused, in-place update steps (functional form); the
 * optimizer classes (SGD, Adam, AdamW), learning-rate schedules and gradient clipping build on
 * them (issue 4).
 */
export { sgdStep, adamStep } from './functional';
export type { SgdStepOptions, AdamStepOptions } from './functional';
