/**
 * `nn.utils`: helpers over whole modules, as PyTorch's `torch.nn.utils`: batch norm folded into
 * the layer before it for inference (./fusion.ts), gradient clipping under PyTorch's
 * `clip_grad_norm_` / `clip_grad_value_` names (the same functions as `optim.clipGradNorm` and
 * `optim.clipGradValue`), parameters as one vector and back (./convert-parameters.ts), weight
 * normalisation (./weight-norm.ts), spectral normalisation (./spectral-norm.ts) and pruning
 * (./prune.ts).
 */
export { fuseConvBn, fuseModules, fuseConvBnEval, fuseConvBnWeights, fuseLinearBnEval, fuseLinearBnWeights } from './fusion';
export { clipGradNorm as clipGradNorm_, clipGradValue as clipGradValue_ } from '../optim/clip_grad';
export { parametersToVector, vectorToParameters } from './convert-parameters';
export { weightNorm, removeWeightNorm } from './weight-norm';
export { spectralNorm, removeSpectralNorm } from './spectral-norm';
export type { SpectralNormOptions } from './spectral-norm';
export * as prune from './prune';
export * as rnn from './packed-sequence';
