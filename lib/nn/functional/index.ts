/**
 * `F`: the functional form of every layer of the survey's toolbox, with PyTorch's names,
 * arguments and defaults (NCHW). One file per family; backward functions stay internal (the
 * autograd tape uses them) and are not exported here.
 */
export { relu, leakyRelu, elu, sigmoid, tanh } from './activation';
// @@convolution
export { maxPool2d, avgPool2d, lpPool2d, mixedPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d, roiPool } from './pool';
// @@pooling
// @@layers
// @@losses
// @@optimizers
