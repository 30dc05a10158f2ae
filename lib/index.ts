/**
 * cudnn-convnet: convolutional neural networks for Node.js.
 *
 * @example
 * import { tensor, randn, tidy } from 'cudnn-convnet';
 * const y = tidy(() => randn([2, 3]).matmul(tensor([[1], [2], [3]])));
 * console.log(y.toString());
 */
export { ConvnetError } from './errors';
export type { ErrorCode } from './errors';
export { Tensor } from './tensor';
export type { DType, Device, NestedArray, DataTypeMap } from './tensor';
export { tensor, zeros, ones, full, zerosLike, onesLike, fullLike, randLike, randnLike, arange, linspace, eye, rand, randn, randint, randperm, bernoulli, manualSeed } from './creation';
export type { TensorOptions, CreationOptions } from './creation';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd';
export type { BackwardOptions } from './autograd';
export { tidy, keep, memory, emptyCache } from './engine';
export type { MemoryInfo } from './engine';
export { setNumThreads, getNumThreads, sync, syncBlocking, backends } from './runtime';
export type { Backends } from './runtime';
export * as cuda from './cuda';
export { resolveDevice } from './cuda';
export type { CudaOptions, CudaInfo, CudaDeviceInfo, LibraryInfo } from './cuda';
export {
  add, sub, mul, div, pow, maximum, minimum, remainder, fmod, atan2, neg, abs, exp, log, sqrt, square, reciprocal, sign, floor, ceil, erf, scale,
  sin, cos, tan, atan, log1p, expm1, log2, log10, rsqrt, round, trunc,
  asin, acos, sinh, cosh, asinh, acosh, atanh, erfc, erfinv, exp2, lgamma, digamma, polygamma,
  sum, mean, max, min, argmax, argmin, eq, ne, lt, le, gt, ge, where, clamp, variance, std, stack, split, chunk, expand,
  matmul, reshape, flatten, squeeze, unsqueeze, permute, transpose, concat, cat, slice, narrow,
  indexSelect, gather, indexAdd, scatterAdd, cumsum, cumprod, prod, cummax, cummin, oneHot, cast, clone, toDevice,
} from './ops';
export type { MatmulOptions, VarOptions } from './ops';
export {
  logsumexp, norm, flip, repeat, isnan, isinf, isfinite, any, all, isclose, allclose, nonzero, maskedSelect, roll, tril, triu,
} from './composite';
export type { NormOptions, CloseOptions } from './composite';
export { einsum } from './einsum';
export { bmm, outer, diag, diagonal, trace, meshgrid } from './matrices';
export type { MeshgridOptions } from './matrices';
export {
  logaddexp, logaddexp2, logit, xlogy, hypot, lerp, addcmul, addcdiv, frac, sinc, deg2rad, rad2deg, heaviside, copysign, signbit, nanToNum,
  nansum, nanmean, countNonzero, amax, amin, aminmax,
} from './pointwise';
export type { AddcOptions, NanToNumOptions, AminmaxOptions, AminmaxResult } from './pointwise';
export {
  tile, movedim, swapaxes, unflatten, atleast1d, atleast2d, atleast3d, hstack, vstack, dstack, columnStack, rot90, diff, takeAlongDim,
  tensordot, cross, kron, blockDiag, cartesianProd, trilIndices, triuIndices, vander, cov, corrcoef, logcumsumexp,
} from './shapes';
export type { DiffOptions, IndicesOptions, CovOptions } from './shapes';
export { kthvalue, median, nanmedian, mode, quantile, nanquantile } from './statistics';
export type { QuantileOptions, QuantileInterpolation } from './statistics';
export { unique, uniqueConsecutive, bincount, histc } from './counting';
export type { UniqueOptions, UniqueConsecutiveOptions, UniqueResult, BincountOptions, HistcOptions } from './counting';
export {
  scatter, scatterReduce, indexFill, indexCopy, indexPut, maskedScatter, take, unbind, tensorSplit, hsplit, vsplit, dsplit, flipud, fliplr,
  isin, isposinf, isneginf, equal, logicalAnd, logicalOr, logicalXor, logicalNot, clip,
} from './indexing';
export type { ScatterReduce, ScatterReduceOptions, IndexPutOptions, IsinOptions } from './indexing';
export { multinomial, normal, poisson } from './sampling';
export type { MultinomialOptions, NormalOptions } from './sampling';
export type { AlphaOptions } from './inplace';
export { softmax, logSoftmax } from './nn/functional/layers';
export { topk, sort, argsort, searchsorted, bucketize } from './sorting';
export { cdist } from './nn/functional/distance';
export type { CdistComputeMode, CdistOptions } from './nn/functional/distance';
export type { SortResult, TopkOptions, SortOptions, SearchsortedOptions } from './sorting';

// Namespaces: the survey's layers as functions (F), layer classes (nn), optimizers, data
// loading, ready-made models and model files, tensor files, ONNX export, pictures, training callbacks.
export * as F from './nn/functional/index';
export * as nn from './nn';
export * as optim from './optim';
export * as data from './data';
export * as models from './models';
export * as io from './io';
export * as viz from './viz';
export * as metrics from './metrics';
export * as vision from './vision';
export * as onnx from './onnx';
export * as linalg from './linalg'; export { det, slogdet, inverse, pinverse, matrixPower, cholesky } from './linalg';
export * as callbacks from './train/index';
export type { FitOptions, EvaluateOptions, PredictOptions, History, DataArg, LossArg } from './train/fit';
export type { ProgressOutput } from './train/progress';
