/**
 * `F`: the functional form of every layer of the survey's toolbox, with PyTorch's names,
 * arguments and defaults (NCHW). One file per family; backward functions stay internal (the
 * autograd tape uses them) and are not exported here.
 */
export {
  relu, leakyRelu, rrelu, elu, sigmoid, tanh, silu, softplus, hardtanh, relu6, hardsigmoid, hardswish, mish, gelu,
  selu, celu, softsign, logSigmoid, tanhshrink, softshrink, hardshrink, threshold, glu, softmin,
} from './activation';
export { conv1d, conv2d, convTranspose1d, convTranspose2d, linear } from './conv';
export type { Conv1dOptions, Conv2dOptions, ConvTranspose1dOptions, ConvTranspose2dOptions, Pair } from './conv';
export { conv3d, convTranspose3d } from './conv3d';
export type { Conv3dOptions, ConvTranspose3dOptions, Triple } from './conv3d';
export { maxPool3d, avgPool3d, lpPool3d, adaptiveAvgPool3d, adaptiveMaxPool3d, maxUnpool3d } from './pool3d';
export type { MaxPool3dOptions, AvgPool3dOptions, LpPool3dOptions, MaxUnpool3dOptions } from './pool3d';
export { tiledConv2d } from './tiled-conv';
export type { TiledConv2dOptions } from './tiled-conv';
export { maxPool2d, maxUnpool2d, avgPool2d, lpPool2d, mixedPool2d, stochasticPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d, spatialPyramidPool2d, spectralPool2d, roiPool, roiAlign, MAX_SAMPLING_RATIO } from './pool';
export type { MaxUnpool2dOptions, RoIAlignOptions, SpatialPyramidPool2dOptions } from './pool';
export { maxPool1d, maxUnpool1d, avgPool1d } from './pool';
export type { MaxPool1dOptions, MaxUnpool1dOptions, AvgPool1dOptions, Size1 } from './pool';
export { bilinear, adaptiveAvgPool1d, adaptiveMaxPool1d, lpPool1d, dropout1d, dropout3d, alphaDropout, featureAlphaDropout } from './more';
export type { LpPool1dOptions } from './more';
export { lstm, gru, rnn } from './rnn';
export type { RnnOptions } from './rnn';
export { ctcLoss } from './ctc-loss';
export type { CtcLossOptions } from './ctc-loss';
export { embedding } from './embedding';
export { embeddingBag } from './embedding-bag';
export type { EmbeddingBagOptions } from './embedding-bag';
export type { EmbeddingOptions } from './embedding';
export { probout } from './probout';
export { largeMarginLogits } from './large-margin';
export type { LargeMarginOptions } from './large-margin';
export type { ProboutOptions } from './probout';
export { prelu, maxout, softmax, logSoftmax, dropout, dropout2d, localResponseNorm, batchNorm } from './layers';
export { pad, pixelShuffle, pixelUnshuffle, channelShuffle } from './sampling';
export { interpolate } from './interpolate';
export { gridSample, affineGrid } from './grid-sample';
export { unfold, fold } from './unfold';
export type { UnfoldOptions } from './unfold';
export { layerNorm, groupNorm, instanceNorm } from './normalization';
export type { LayerNormOptions, GroupNormOptions, InstanceNormOptions } from './normalization';
export { normalize, cosineSimilarity, pairwiseDistance, pdist, cdist } from './distance';
export { vlad } from './vlad';
export type { VladOptions } from './vlad';
export type { NormalizeOptions, CosineSimilarityOptions, PairwiseDistanceOptions, CdistComputeMode, CdistOptions } from './distance';
export type { PadMode } from './sampling';
export type { InterpolateOptions, InterpolateMode } from './interpolate';
export type { GridSampleOptions, GridSampleMode, GridSamplePadding } from './grid-sample';
export type { BatchNormOptions } from './layers';
export {
  crossEntropy, nllLoss, hingeLoss, multiMarginLoss, contrastiveLoss, tripletMarginLoss, tripletMarginWithDistanceLoss, klDiv,
  mseLoss, l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits,
  cosineEmbeddingLoss, marginRankingLoss, softMarginLoss, multilabelSoftMarginLoss, hingeEmbeddingLoss, poissonNllLoss,
  gaussianNllLoss, multilabelMarginLoss,
} from './loss';
export type {
  Reduction, CrossEntropyOptions, NllLossOptions, HingeLossOptions, MultiMarginLossOptions, ContrastiveLossOptions,
  TripletMarginLossOptions, TripletMarginWithDistanceLossOptions, KlDivOptions, MseLossOptions, L1LossOptions, SmoothL1LossOptions, HuberLossOptions,
  BinaryCrossEntropyOptions, BinaryCrossEntropyWithLogitsOptions, CosineEmbeddingLossOptions, MarginRankingLossOptions,
  SoftMarginLossOptions, MultilabelSoftMarginLossOptions, HingeEmbeddingLossOptions, PoissonNllLossOptions, GaussianNllLossOptions,
  MultilabelMarginLossOptions,
} from './loss';
