/**
 * `nn`: modules (layers with named parameters), `Sequential`, the losses as modules and weight
 * initialisation (`nn.init`), with PyTorch's names and defaults.
 * @example
 * const model = new nn.Sequential(new nn.Conv2d(1, 6, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(864, 10));
 * console.log(model.summary([1, 1, 28, 28]));
 */
export { Module, Parameter } from './module';
export type { LoadStateDictOptions, LoadStateDictResult, ForwardHook, ForwardPreHook, RemovableHandle } from './module';
export { Sequential } from './sequential';
export { ModuleList } from './module-list';
export { ModuleDict } from './module-dict';
export { ParameterList } from './parameter-list';
export { ParameterDict } from './parameter-dict';
export {
  Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, TiledConv2d, Linear, LargeMarginLinear, DropConnectLinear, Flatten, Unflatten, MaxPool2d, MaxUnpool2d, AvgPool2d, LPPool2d, MixedPool2d, StochasticPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d,
  SpatialPyramidPool2d, SpectralPool2d, RoIPool, RoIAlign, Identity, ReLU, LeakyReLU, RReLU, PReLU, ELU, GELU, SiLU, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d, PixelShuffle, PixelUnshuffle, Unfold, Fold, Pad2d, ReLU6, Hardtanh, Hardsigmoid, Hardswish, Mish, Softplus, Maxout, Probout, Sigmoid, Tanh,
  Softmax, LogSoftmax, Dropout, Dropout2d, LocalResponseNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
  SELU, CELU, Softsign, LogSigmoid, Tanhshrink, Softshrink, Hardshrink, Threshold, GLU, Softmin, Softmax2d, MaxPool1d, MaxUnpool1d, AvgPool1d, ChannelShuffle,
} from './layers';
export type {
  Conv1dModuleOptions, Conv2dModuleOptions, ConvTranspose1dModuleOptions, ConvTranspose2dModuleOptions, TiledConv2dModuleOptions, MaxPool2dModuleOptions, MaxUnpool2dModuleOptions, AvgPool2dModuleOptions,
  LPPool2dModuleOptions, MixedPool2dModuleOptions, StochasticPool2dModuleOptions, BatchNorm2dOptions, LayerNormModuleOptions, GroupNormModuleOptions,
  InstanceNormModuleOptions, UnfoldModuleOptions, WithOptions, MaxPool1dModuleOptions, AvgPool1dModuleOptions, UpsamplingOptions,
} from './layers';
export {
  CosineSimilarity, PairwiseDistance, Bilinear, AdaptiveAvgPool1d, AdaptiveMaxPool1d, LPPool1d, Dropout1d, AlphaDropout, FeatureAlphaDropout,
} from './layers-more';
export type { LPPool1dModuleOptions } from './layers-more';
export { Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d, LPPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d, MaxUnpool3d, Dropout3d } from './layers-3d';
export type { Conv3dModuleOptions, ConvTranspose3dModuleOptions, MaxPool3dModuleOptions, AvgPool3dModuleOptions, LPPool3dModuleOptions, MaxUnpool3dModuleOptions } from './layers-3d';
export {
  ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
  ReplicationPad1d, ReplicationPad2d, ReplicationPad3d,
} from './padding';
export type { Padding1, Padding2, Padding3 } from './padding';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } from './recurrent';
export type { RNNModuleOptions, LSTMModuleOptions, GRUModuleOptions } from './recurrent';
export { PackedSequence } from './packed-sequence';
export { QuantizedLinear, QuantizedConv2d, QuantizedLSTM, QuantizedGRU, QuantizedRNNCell, QuantizedLSTMCell, QuantizedGRUCell, quantizeDynamic } from './quantized';
export type { QuantizedConv2dOptions, QuantizeDynamicOptions } from './quantized';
export { Embedding, EmbeddingBag } from './sparse';
export type { EmbeddingModuleOptions, EmbeddingBagModuleOptions } from './sparse';
export {
  CrossEntropyLoss, NLLLoss, HingeLoss, MultiMarginLoss, ContrastiveLoss, TripletMarginLoss, TripletMarginWithDistanceLoss, KLDivLoss,
  MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss,
  CosineEmbeddingLoss, MarginRankingLoss, SoftMarginLoss, MultiLabelSoftMarginLoss, HingeEmbeddingLoss, PoissonNLLLoss, GaussianNLLLoss,
  MultiLabelMarginLoss, CTCLoss,
} from './loss';
export * as init from './init';
export * as utils from './utils';
