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

  add<Init>(env, exports, "init");
  add<FromData>(env, exports, "fromData");
  add<Release>(env, exports, "release");
  add_gpu<Read>(env, exports, "read");
  add_gpu<ReadSync>(env, exports, "readSync");
  add<Sync>(env, exports, "sync");
  add<SyncBlocking>(env, exports, "syncBlocking");
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
  add_gpu<ToDevice>(env, exports, "toDevice");
  add_gpu<DeviceOf>(env, exports, "deviceOf");
  add<PhiloxBlock>(env, exports, "philoxBlock");
  add<SetVecMathPath>(env, exports, "setVecMathPath");
  add<VecMathEval>(env, exports, "vecMathEval");

  add<Empty>(env, exports, "empty");
  add<Fill>(env, exports, "fill");
  add<Arange>(env, exports, "arange");
  add<Cast>(env, exports, "cast");
  add<CopyInto>(env, exports, "copyInto");
  add<RandomUniform>(env, exports, "randomUniform");
  add<RandomNormal>(env, exports, "randomNormal");
  add<RandomBernoulli>(env, exports, "randomBernoulli");
  add<Binary>(env, exports, "binary");
  add<BinaryScalar>(env, exports, "binaryScalar");
  add<Unary>(env, exports, "unary");
  add<Affine>(env, exports, "affine");
  add<PowScalar>(env, exports, "powScalar");
  add<Reduce>(env, exports, "reduce");
  add<Argmax>(env, exports, "argmax");
  add<Matmul>(env, exports, "matmul");
  add<Permute>(env, exports, "permute");
  add<Concat>(env, exports, "concat");
  add<Slice>(env, exports, "slice");
  add<IndexSelect>(env, exports, "indexSelect");
  add<Gather>(env, exports, "gather");
  add<OneHot>(env, exports, "oneHot");
  add<IndexAdd>(env, exports, "indexAdd");
  add<ScatterAdd>(env, exports, "scatterAdd");

  // neural-network ops
  add<ActivationForward>(env, exports, "activationForward");
  add<ActivationBackward>(env, exports, "activationBackward");
  add<Conv2dForward>(env, exports, "conv2dForward");
  add<Conv2dBackwardData>(env, exports, "conv2dBackwardData");
  add<Conv2dBackwardFilter>(env, exports, "conv2dBackwardFilter");
  add<BiasBackward>(env, exports, "biasBackward");
  add<LinearForward>(env, exports, "linearForward");
  add<LinearBackwardData>(env, exports, "linearBackwardData");
  add<LinearBackwardWeight>(env, exports, "linearBackwardWeight");
  add_gpu<MaxPool2dForward>(env, exports, "maxPool2dForward");
  add_gpu<MaxPoolBackward>(env, exports, "maxPoolBackward");
  add_gpu<AvgPool2dForward>(env, exports, "avgPool2dForward");
  add_gpu<AvgPool2dBackward>(env, exports, "avgPool2dBackward");
  add_gpu<LpPool2dForward>(env, exports, "lpPool2dForward");
  add_gpu<LpPool2dBackward>(env, exports, "lpPool2dBackward");
  add_gpu<MixedPool2dForward>(env, exports, "mixedPool2dForward");
  add_gpu<MixedPool2dBackward>(env, exports, "mixedPool2dBackward");
  add_gpu<AdaptivePool2dForward>(env, exports, "adaptivePool2dForward");
  add_gpu<AdaptiveAvgPool2dBackward>(env, exports, "adaptiveAvgPool2dBackward");
  add_gpu<RoiPoolForward>(env, exports, "roiPoolForward");
  add_gpu<RoiPoolBackward>(env, exports, "roiPoolBackward");
  add<PreluForward>(env, exports, "preluForward");
  add<PreluBackward>(env, exports, "preluBackward");
  add<MaxoutForward>(env, exports, "maxoutForward");
  add<MaxoutBackward>(env, exports, "maxoutBackward");
  add<SoftmaxForward>(env, exports, "softmaxForward");
  add<SoftmaxBackward>(env, exports, "softmaxBackward");
  add<DropoutForward>(env, exports, "dropoutForward");
  add<DropoutBackward>(env, exports, "dropoutBackward");
  add<LrnForward>(env, exports, "lrnForward");
  add<LrnBackward>(env, exports, "lrnBackward");
  add<BatchNormForward>(env, exports, "batchNormForward");
  add<BatchNormBackward>(env, exports, "batchNormBackward");
  add<CrossEntropyForward>(env, exports, "crossEntropyForward");
  add<CrossEntropyBackward>(env, exports, "crossEntropyBackward");
  add<NllLossForward>(env, exports, "nllLossForward");
  add<NllLossBackward>(env, exports, "nllLossBackward");
  add<HingeLossForward>(env, exports, "hingeLossForward");
  add<HingeLossBackward>(env, exports, "hingeLossBackward");
  add<MultiMarginLossForward>(env, exports, "multiMarginLossForward");
  add<MultiMarginLossBackward>(env, exports, "multiMarginLossBackward");
  add<ContrastiveLossForward>(env, exports, "contrastiveLossForward");
  add<ContrastiveLossBackward>(env, exports, "contrastiveLossBackward");
  add<TripletMarginLossForward>(env, exports, "tripletMarginLossForward");
  add<TripletMarginLossBackward>(env, exports, "tripletMarginLossBackward");
  add<KlDivForward>(env, exports, "klDivForward");
  add<KlDivBackward>(env, exports, "klDivBackward");
  add<SgdStep>(env, exports, "sgdStep");
  add<AdamStep>(env, exports, "adamStep");
  return exports;
}

}  // namespace

NODE_API_MODULE(convnet, Register)
