// Registration of the native functions, and nothing else. lib/native.ts declares their types.
#include "api/api.h"

namespace {

using namespace convnet;
using namespace convnet::api;

// add: an entry point that runs on the CPU only (a GPU tensor argument is an E_DEVICE error).
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void add(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<Fn>, name));
}
// add_gpu: an entry point with a CUDA path too (it dispatches on its inputs' device).
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void add_gpu(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<Fn, true>, name));
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->completions = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                                    "cudnn-convnet completions", 0, 1);
  data->completions.Unref(env);  // referenced only while a read or sync is pending
  env.SetInstanceData(data);
  // Note [environment teardown] (napi_util.h): after the thread-safe function, so that it runs first.
  auto* life = new std::shared_ptr<EnvLife>(data->life);
  NAPI_THROW_IF_FAILED(env, napi_add_env_cleanup_hook(env, [](void* arg) {
    auto* held = static_cast<std::shared_ptr<EnvLife>*>(arg);
    {
      std::lock_guard<std::mutex> lock((*held)->mutex);
      (*held)->alive = false;
    }
    delete held;
  }, life), exports);

  add<Init>(env, exports, "init");
  add<FromData>(env, exports, "fromData");
  add<Release>(env, exports, "release");
  add_gpu<Read>(env, exports, "read");
  add_gpu<ReadSync>(env, exports, "readSync");
  add_gpu<ItemSync>(env, exports, "itemSync");
  add<Sync>(env, exports, "sync");
  add<SyncBlocking>(env, exports, "syncBlocking");
  add<DrainQueue>(env, exports, "drainQueue");
  add_gpu<Reshape>(env, exports, "reshape");
  add<Memory>(env, exports, "memory");
  add<EmptyCache>(env, exports, "emptyCache");
  add<SetNumThreads>(env, exports, "setNumThreads");
  add<GetNumThreads>(env, exports, "getNumThreads");
  add<ManualSeed>(env, exports, "manualSeed");
  add<Backends>(env, exports, "backends");
  add<CudaLoad>(env, exports, "cudaLoad");
  add<CudaSetOptions>(env, exports, "cudaSetOptions");
  add<CudaMemory>(env, exports, "cudaMemory");
  add<CudaEmptyCache>(env, exports, "cudaEmptyCache");
  add<CudaEventCreate>(env, exports, "cudaEventCreate");
  add<CudaEventOp>(env, exports, "cudaEventOp");
  add<CudaEventElapsed>(env, exports, "cudaEventElapsed");
  add<CudaSleep>(env, exports, "cudaSleep");
  add_gpu<ToDevice>(env, exports, "toDevice");
  add_gpu<DeviceOf>(env, exports, "deviceOf");
  add_gpu<Version>(env, exports, "version");
  add<PhiloxBlock>(env, exports, "philoxBlock");
  add<SetVecMathPath>(env, exports, "setVecMathPath");
  add<VecMathEval>(env, exports, "vecMathEval");

  add_gpu<Empty>(env, exports, "empty");
  add_gpu<Fill>(env, exports, "fill");
  add_gpu<Arange>(env, exports, "arange");
  add_gpu<Cast>(env, exports, "cast");
  add_gpu<CopyInto>(env, exports, "copyInto");
  add_gpu<RandomUniform>(env, exports, "randomUniform");
  add_gpu<RandomNormal>(env, exports, "randomNormal");
  add_gpu<RandomBernoulli>(env, exports, "randomBernoulli");
  add<RandomInt>(env, exports, "randomInt");
  add<RandomPermutation>(env, exports, "randomPermutation");
  add<Multinomial>(env, exports, "multinomial");
  add<Scatter>(env, exports, "scatter");
  add<IndexFill>(env, exports, "indexFill");
  add<Nonzero>(env, exports, "nonzero");
  add<Bincount>(env, exports, "bincount");
  add<Histc>(env, exports, "histc");
  add<Aminmax>(env, exports, "aminmax");
  add<Unique>(env, exports, "unique");
  add<LuFactorF64>(env, exports, "luFactorF64");
  add<TriangularSolveF64>(env, exports, "triangularSolveF64");
  add<MatmulF64>(env, exports, "matmulF64");
  add<DetBatched>(env, exports, "detBatched");
  add<SlogdetBatched>(env, exports, "slogdetBatched");
  add<InvBatched>(env, exports, "invBatched");
  add<CholeskyBatched>(env, exports, "choleskyBatched");
  add<SolveBatched>(env, exports, "solveBatched");
  add_gpu<FillInto>(env, exports, "fillInto");
  add_gpu<RandomUniformInto>(env, exports, "randomUniformInto");
  add_gpu<RandomNormalInto>(env, exports, "randomNormalInto");
  add_gpu<Binary>(env, exports, "binary");
  add_gpu<BinaryScalar>(env, exports, "binaryScalar");
  add_gpu<Unary>(env, exports, "unary");
  add_gpu<AddcLerp>(env, exports, "addcLerp");
  add_gpu<NanToNum>(env, exports, "nanToNum");
  add_gpu<Triangle>(env, exports, "triangle");
  add_gpu<Roll>(env, exports, "roll");
  add_gpu<Diff>(env, exports, "diff");
  add_gpu<AffineGrid>(env, exports, "affineGrid");
  add_gpu<Cross>(env, exports, "cross");
  add_gpu<Affine>(env, exports, "affine");
  add_gpu<PowScalar>(env, exports, "powScalar");
  add_gpu<Polygamma>(env, exports, "polygamma");
  add_gpu<Reduce>(env, exports, "reduce");
  add_gpu<Argmax>(env, exports, "argmax");
  add_gpu<Cumsum>(env, exports, "cumsum");
  add_gpu<Cumprod>(env, exports, "cumprod");
  add_gpu<Prod>(env, exports, "prod");
  add_gpu<SearchSorted>(env, exports, "searchsorted");
  add_gpu<CumExtremum>(env, exports, "cumExtremum");
  add_gpu<VectorNorm>(env, exports, "vectorNorm");
  add_gpu<VectorNormBackward>(env, exports, "vectorNormBackward");
  add_gpu<Logsumexp>(env, exports, "logsumexp");
  add_gpu<LogsumexpBackward>(env, exports, "logsumexpBackward");
  add_gpu<VarStd>(env, exports, "varStd");
  add_gpu<VarStdBackward>(env, exports, "varStdBackward");
  add_gpu<Compare>(env, exports, "compare");
  add_gpu<CompareScalar>(env, exports, "compareScalar");
  add_gpu<Expand>(env, exports, "expand");
  add_gpu<Where>(env, exports, "where");
  add_gpu<Clamp>(env, exports, "clamp");
  add_gpu<ClampBackward>(env, exports, "clampBackward");
  add_gpu<Matmul>(env, exports, "matmul");
  add_gpu<Permute>(env, exports, "permute");
  add_gpu<Concat>(env, exports, "concat");
  add_gpu<Split>(env, exports, "split");
  add_gpu<Slice>(env, exports, "slice");
  add_gpu<IndexSelect>(env, exports, "indexSelect");
  add_gpu<Gather>(env, exports, "gather");
  add_gpu<Topk>(env, exports, "topk");
  add<SelectKth>(env, exports, "selectKth");
  add_gpu<OneHot>(env, exports, "oneHot");
  add_gpu<IndexAdd>(env, exports, "indexAdd");
  add_gpu<ScatterAdd>(env, exports, "scatterAdd");

  // neural-network ops
  add_gpu<ActivationForward>(env, exports, "activationForward");
  add_gpu<ActivationBackward>(env, exports, "activationBackward");
  add<GluForward>(env, exports, "gluForward");
  add<GluBackward>(env, exports, "gluBackward");
  add<LstmCellForward>(env, exports, "lstmCellForward");
  add<LstmCellBackward>(env, exports, "lstmCellBackward");
  add<GruCellForward>(env, exports, "gruCellForward");
  add<GruCellBackward>(env, exports, "gruCellBackward");
  add<RnnLayerForward>(env, exports, "rnnLayerForward");
  add<RnnLayerBackward>(env, exports, "rnnLayerBackward");
  add_gpu<Conv2dForward>(env, exports, "conv2dForward");
  add_gpu<Conv2dBackwardData>(env, exports, "conv2dBackwardData");
  add_gpu<Conv2dBackwardFilter>(env, exports, "conv2dBackwardFilter");
  add_gpu<BiasBackward>(env, exports, "biasBackward");
  add_gpu<LinearForward>(env, exports, "linearForward");
  add_gpu<LinearBackwardData>(env, exports, "linearBackwardData");
  add_gpu<LinearBackwardWeight>(env, exports, "linearBackwardWeight");
  add<QuantizeWeights>(env, exports, "quantizeWeights");
  add<QuantizedLinear>(env, exports, "quantizedLinear");
  add<QuantizedConv2d>(env, exports, "quantizedConv2d");
  add<SetQuantizedPath>(env, exports, "setQuantizedPath");
  add_gpu<MaxPool2dForward>(env, exports, "maxPool2dForward");
  add_gpu<MaxPoolBackward>(env, exports, "maxPoolBackward");
  add_gpu<MaxUnpool2dForward>(env, exports, "maxUnpool2dForward");
  add_gpu<MaxUnpool2dBackward>(env, exports, "maxUnpool2dBackward");
  add_gpu<AvgPool2dForward>(env, exports, "avgPool2dForward");
  add_gpu<AvgPool2dBackward>(env, exports, "avgPool2dBackward");
  add_gpu<LpPool2dForward>(env, exports, "lpPool2dForward");
  add_gpu<LpPool2dBackward>(env, exports, "lpPool2dBackward");
  add_gpu<MixedPool2dForward>(env, exports, "mixedPool2dForward");
  add_gpu<MixedPool2dBackward>(env, exports, "mixedPool2dBackward");
  add_gpu<StochasticPool2dForward>(env, exports, "stochasticPool2dForward");
  add_gpu<StochasticPool2dBackward>(env, exports, "stochasticPool2dBackward");
  add_gpu<AdaptivePool2dForward>(env, exports, "adaptivePool2dForward");
  add_gpu<AdaptiveAvgPool2dBackward>(env, exports, "adaptiveAvgPool2dBackward");
  add_gpu<RoiPoolForward>(env, exports, "roiPoolForward");
  add_gpu<RoiPoolBackward>(env, exports, "roiPoolBackward");
  add_gpu<RoiAlignForward>(env, exports, "roiAlignForward");
  add_gpu<RoiAlignBackward>(env, exports, "roiAlignBackward");
  add<Unfold>(env, exports, "unfold");
  add<Fold>(env, exports, "fold");
  add<UpsampleBilinear>(env, exports, "upsampleBilinear");
  add<UpsampleBilinearBackward>(env, exports, "upsampleBilinearBackward");
  add<ResampleAxis>(env, exports, "resampleAxis");
  add<ResampleAxisBackward>(env, exports, "resampleAxisBackward");
  add<UpsampleNearest>(env, exports, "upsampleNearest");
  add<UpsampleNearestBackward>(env, exports, "upsampleNearestBackward");
  add<GridSampleForward>(env, exports, "gridSampleForward");
  add<GridSampleBackward>(env, exports, "gridSampleBackward");
  add_gpu<PreluForward>(env, exports, "preluForward");
  add_gpu<PreluBackward>(env, exports, "preluBackward");
  add_gpu<MaxoutForward>(env, exports, "maxoutForward");
  add_gpu<MaxoutBackward>(env, exports, "maxoutBackward");
  add_gpu<ProboutForward>(env, exports, "proboutForward");
  add_gpu<ProboutBackward>(env, exports, "proboutBackward");
  add_gpu<SoftmaxForward>(env, exports, "softmaxForward");
  add_gpu<SoftmaxBackward>(env, exports, "softmaxBackward");
  add_gpu<DropoutForward>(env, exports, "dropoutForward");
  add_gpu<DropoutBackward>(env, exports, "dropoutBackward");
  add_gpu<LrnForward>(env, exports, "lrnForward");
  add_gpu<LrnBackward>(env, exports, "lrnBackward");
  add_gpu<BatchNormForward>(env, exports, "batchNormForward");
  add_gpu<BatchNormBackward>(env, exports, "batchNormBackward");
  add_gpu<LayerNormForward>(env, exports, "layerNormForward");
  add_gpu<LayerNormBackward>(env, exports, "layerNormBackward");
  add_gpu<GroupNormForward>(env, exports, "groupNormForward");
  add_gpu<GroupNormBackward>(env, exports, "groupNormBackward");
  add_gpu<NormalizeForward>(env, exports, "normalizeForward");
  add_gpu<NormalizeBackward>(env, exports, "normalizeBackward");
  add_gpu<CosineSimilarityForward>(env, exports, "cosineSimilarityForward");
  add_gpu<CosineSimilarityBackward>(env, exports, "cosineSimilarityBackward");
  add_gpu<CdistEuclidean>(env, exports, "cdistEuclidean");
  add_gpu<CrossEntropyForward>(env, exports, "crossEntropyForward");
  add_gpu<CrossEntropyBackward>(env, exports, "crossEntropyBackward");
  add_gpu<NllLossForward>(env, exports, "nllLossForward");
  add_gpu<NllLossBackward>(env, exports, "nllLossBackward");
  add_gpu<HingeLossForward>(env, exports, "hingeLossForward");
  add_gpu<HingeLossBackward>(env, exports, "hingeLossBackward");
  add_gpu<MultiMarginLossForward>(env, exports, "multiMarginLossForward");
  add_gpu<MultiMarginLossBackward>(env, exports, "multiMarginLossBackward");
  add_gpu<ContrastiveLossForward>(env, exports, "contrastiveLossForward");
  add_gpu<ContrastiveLossBackward>(env, exports, "contrastiveLossBackward");
  add_gpu<TripletMarginLossForward>(env, exports, "tripletMarginLossForward");
  add_gpu<TripletMarginLossBackward>(env, exports, "tripletMarginLossBackward");
  add_gpu<KlDivForward>(env, exports, "klDivForward");
  add_gpu<KlDivBackward>(env, exports, "klDivBackward");
  add_gpu<BinaryCrossEntropyForward>(env, exports, "binaryCrossEntropyForward");
  add_gpu<BinaryCrossEntropyBackward>(env, exports, "binaryCrossEntropyBackward");
  add<EmbeddingBagForward>(env, exports, "embeddingBagForward");
  add<EmbeddingBagBackward>(env, exports, "embeddingBagBackward");
  add<CosineEmbeddingLossForward>(env, exports, "cosineEmbeddingLossForward");
  add<CosineEmbeddingLossBackward>(env, exports, "cosineEmbeddingLossBackward");
  add<MultilabelMarginLossForward>(env, exports, "multilabelMarginLossForward");
  add<MultilabelMarginLossBackward>(env, exports, "multilabelMarginLossBackward");
  add<CtcLossForward>(env, exports, "ctcLossForward");
  add<PointwiseLossForward>(env, exports, "pointwiseLossForward");
  add<PointwiseLossBackward>(env, exports, "pointwiseLossBackward");
  add_gpu<SgdStep>(env, exports, "sgdStep");
  add_gpu<AdamStep>(env, exports, "adamStep");
  add_gpu<RmspropStep>(env, exports, "rmspropStep");
  add_gpu<AdagradStep>(env, exports, "adagradStep");
  return exports;
}

}  // namespace

NODE_API_MODULE(convnet, Register)
