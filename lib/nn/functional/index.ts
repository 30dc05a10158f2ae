/**
 * `F`: the functional form of every layer of the survey's toolbox, with PyTorch's names,
 * arguments and defaults (NCHW). One file per family; backward functions stay internal (the
 * autograd tape uses them) and are not exported here.
 */
export { relu, leakyRelu, elu, sigmoid, tanh } from './activation';
// @@convolution
// @@pooling
// @@layers
export { crossEntropy, nllLoss, hingeLoss, multiMarginLoss, contrastiveLoss, tripletMarginLoss, klDiv } from './loss';
export type {
  Reduction, CrossEntropyOptions, NllLossOptions, HingeLossOptions, MultiMarginLossOptions, ContrastiveLossOptions,
  TripletMarginLossOptions, KlDivOptions,
} from './loss';
// @@losses
// @@optimizers
