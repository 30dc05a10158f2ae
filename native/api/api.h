// The functions the addon exports, one line each; native/addon.cc registers them under the
// names lib/native.ts declares. Tensor arguments are handles made by wrap_tensor().
#pragma once
#include <napi.h>

#include "api/napi_util.h"
#include "core/philox.h"

namespace convnet {

// The CPU device's random generator (used on the JS thread only: numbers are reserved at the
// call site, so the call order decides them).
Generator& cpu_generator();

// What the CUDA switch compiled and found: { compiled, available, devices, reason }.
Napi::Object cuda_probe(Napi::Env env);

namespace api {
// tensor_api.cc
Napi::Value Init(const Napi::CallbackInfo& info);           // (ConvnetError class)
Napi::Value FromData(const Napi::CallbackInfo& info);       // (Float32Array | Int32Array, shape) -> handle (copies)
Napi::Value Release(const Napi::CallbackInfo& info);        // (handle): JS lets go; queued work keeps its reference
Napi::Value Read(const Napi::CallbackInfo& info);           // (handle) -> Promise<typed array>, in queue order
Napi::Value ReadSync(const Napi::CallbackInfo& info);       // (handle) -> typed array; blocks until computed
Napi::Value Sync(const Napi::CallbackInfo& info);           // () -> Promise<void> after all queued work
Napi::Value SyncBlocking(const Napi::CallbackInfo& info);   // () blocks until all queued work ran
Napi::Value Reshape(const Napi::CallbackInfo& info);        // (x, shape) -> view sharing x's memory
Napi::Value Memory(const Napi::CallbackInfo& info);         // () -> { tensors, storages, bytes, queued, cachedBytes }
Napi::Value EmptyCache(const Napi::CallbackInfo& info);     // () frees the blocks kept for reuse
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);  // (n), in queue order
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);  // () -> n
Napi::Value ManualSeed(const Napi::CallbackInfo& info);     // (seed): restarts the CPU generator
Napi::Value Backends(const Napi::CallbackInfo& info);       // () -> { cpu: {...}, cuda: {...} }
Napi::Value PhiloxBlock(const Napi::CallbackInfo& info);    // ([k0,k1,c0..c3]) -> 4 words (tests)

// ops_api.cc: each validates, allocates its output, enqueues the CPU kernel, returns the output
Napi::Value Empty(const Napi::CallbackInfo& info);          // (shape, dtype)
Napi::Value Fill(const Napi::CallbackInfo& info);           // (shape, dtype, value)
Napi::Value Arange(const Napi::CallbackInfo& info);         // (start, step, count, dtype)
Napi::Value Cast(const Napi::CallbackInfo& info);           // (x, dtype)
Napi::Value RandomUniform(const Napi::CallbackInfo& info);  // (shape, low, high)
Napi::Value RandomNormal(const Napi::CallbackInfo& info);   // (shape, mean, std)
Napi::Value RandomBernoulli(const Napi::CallbackInfo& info);// (shape, p)
Napi::Value Binary(const Napi::CallbackInfo& info);         // (opCode, a, b) broadcasting
Napi::Value Unary(const Napi::CallbackInfo& info);          // (opCode, x)
Napi::Value Affine(const Napi::CallbackInfo& info);         // (x, alpha, beta) -> alpha * x + beta
Napi::Value PowScalar(const Napi::CallbackInfo& info);      // (x, exponent)
Napi::Value Reduce(const Napi::CallbackInfo& info);         // (opCode, x, axes, keepdim)
Napi::Value Argmax(const Napi::CallbackInfo& info);         // (x, axis, keepdim)
Napi::Value Matmul(const Napi::CallbackInfo& info);         // (a, b, transA, transB), a and b >= 2-D
Napi::Value Permute(const Napi::CallbackInfo& info);        // (x, perm)
Napi::Value Concat(const Napi::CallbackInfo& info);         // ([x...], axis)
Napi::Value Slice(const Napi::CallbackInfo& info);          // (x, begin[], size[], step[])
Napi::Value IndexSelect(const Napi::CallbackInfo& info);    // (x, axis, index)
Napi::Value Gather(const Napi::CallbackInfo& info);         // (x, axis, index)
Napi::Value OneHot(const Napi::CallbackInfo& info);         // (labels, numClasses)

// ---- neural-network ops (issue 3): one section per family, each in its own *_api.cc ----------
// activation_api.cc: kind 0 relu, 1 leakyRelu (param = slope), 2 elu (param = alpha), 3 sigmoid, 4 tanh
Napi::Value ActivationForward(const Napi::CallbackInfo& info);   // (kind, x, param) -> y
Napi::Value ActivationBackward(const Napi::CallbackInfo& info);  // (kind, dy, x, y, param) -> dx
// @@convolution
// pool_api.cc: window = [kh, kw, sh, sw, ph, pw, dh, dw]; pairs come back as [y, second | null]
Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info);    // (x, window, ceilMode, returnIndices) -> [y, indices]
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info);     // (dy, indices, inputShape) -> dx (also adaptive max)
Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info);    // (x, window, ceilMode, countIncludePad, divisorOverride | 0) -> y
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info);   // (dy, inputShape, window, ceilMode, countIncludePad, divisorOverride) -> dx
Napi::Value LpPool2dForward(const Napi::CallbackInfo& info);     // (x, p, window, ceilMode, mean) -> y
Napi::Value LpPool2dBackward(const Napi::CallbackInfo& info);    // (dy, x, y, p, window, ceilMode, mean) -> dx
Napi::Value MixedPool2dForward(const Napi::CallbackInfo& info);  // (x, window, ceilMode, mode 0 fixed | 1 bernoulli | 2 uniform, lambda, returnIndices) -> [y, lambda, indices]
Napi::Value MixedPool2dBackward(const Napi::CallbackInfo& info); // (dy, indices, lambda, inputShape, window, ceilMode) -> dx
Napi::Value AdaptivePool2dForward(const Napi::CallbackInfo& info);     // (kind 0 avg | 1 max, x, [oh, ow], returnIndices) -> [y, indices]
Napi::Value AdaptiveAvgPool2dBackward(const Napi::CallbackInfo& info); // (dy, inputShape) -> dx
Napi::Value RoiPoolForward(const Napi::CallbackInfo& info);      // (x, boxes [K, 5], [oh, ow], spatialScale) -> [y, argmax]
Napi::Value RoiPoolBackward(const Napi::CallbackInfo& info);     // (dy, argmax, boxes, inputShape) -> dx
// @@pooling
// @@layers
// @@losses
// @@optimizers
}  // namespace api
}  // namespace convnet
