// The functions the addon exports, one line each; native/addon.cc registers them under the
// names lib/native.ts declares. Tensor arguments are handles made by wrap_tensor().
#pragma once
#include <napi.h>

#include "api/napi_util.h"
#include "core/philox.h"
#include "cuda/cuda_ops.h"  // declarations only: the CUDA ops, named inside CONVNET_ON_CUDA

#ifdef CONVNET_WITH_CUDA
#include "cuda/context.h"
// Runs a GPU op's launch (the statement after `op`) now, on the CUDA stream, naming it for
// later error messages, under the process's launch lock (cuda::launch_mutex: worker_threads
// share the stream and the library handles). In a build without CUDA no tensor is ever on the GPU, so the branch is
// never taken, and the statement is not even compiled (its functions do not exist there).
#define CONVNET_ON_CUDA(op, ...)       \
  do {                                 \
    std::lock_guard<std::recursive_mutex> convnet_launch_lock(::convnet::cuda::launch_mutex()); \
    ::convnet::cuda::set_last_op(op);  \
    __VA_ARGS__;                       \
  } while (0)
#else
#define CONVNET_ON_CUDA(op, ...) ::convnet::fail("E_DEVICE", op, ": this build of the addon has no CUDA backend")
#endif

namespace convnet {

// The random generator of the calling environment (the main thread, or one worker_thread):
// used on its JS thread only (numbers are reserved at the call site, so the call order decides
// them), and one per environment, as one per process in PyTorch: a worker's manualSeed gives it
// its own reproducible numbers, whatever other workers draw meanwhile.
Generator& cpu_generator(Napi::Env env);

// What the CUDA switch compiled and found: { compiled, available, devices, reason }.
Napi::Object cuda_probe(Napi::Env env);

namespace api {
// tensor_api.cc
Napi::Value Init(const Napi::CallbackInfo& info);           // (ConvnetError class)
Napi::Value FromData(const Napi::CallbackInfo& info);       // (Float32Array | Int32Array, shape) -> handle (copies)
Napi::Value Release(const Napi::CallbackInfo& info);        // (handle): JS lets go; queued work keeps its reference
Napi::Value Read(const Napi::CallbackInfo& info);           // (handle) -> Promise<typed array>, in queue order
Napi::Value ReadSync(const Napi::CallbackInfo& info);       // (handle) -> typed array; blocks until computed
Napi::Value ItemSync(const Napi::CallbackInfo& info);       // (handle of one element) -> number; blocks until computed
Napi::Value Sync(const Napi::CallbackInfo& info);           // () -> Promise<void> after all queued work
Napi::Value DrainQueue(const Napi::CallbackInfo& info);     // () waits for the CPU queue, its error kept for the next sync
Napi::Value SyncBlocking(const Napi::CallbackInfo& info);   // () blocks until all queued work ran
Napi::Value Reshape(const Napi::CallbackInfo& info);        // (x, shape) -> view sharing x's memory
Napi::Value Memory(const Napi::CallbackInfo& info);         // () -> { tensors, storages, bytes, queued, cachedBytes }
Napi::Value EmptyCache(const Napi::CallbackInfo& info);     // () frees the blocks kept for reuse
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);  // (n), in queue order
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);  // () -> n
Napi::Value ManualSeed(const Napi::CallbackInfo& info);     // (seed): restarts the CPU generator
Napi::Value Backends(const Napi::CallbackInfo& info);       // () -> { cpu: {...}, cuda: {...} }
Napi::Value ToDevice(const Napi::CallbackInfo& info);       // (x, device 0 cpu | 1 cuda) -> copy on that device (x itself if there)
Napi::Value Version(const Napi::CallbackInfo& info);        // (x) -> in-place writes queued on x's memory so far
Napi::Value DeviceOf(const Napi::CallbackInfo& info);       // (x) -> 0 cpu | 1 cuda
// cuda_api.cc
Napi::Value CudaLoad(const Napi::CallbackInfo& info);       // ({ cudnnPath?, cublasPath?, sitePackages, toolkitDirs }) -> device and loader report
Napi::Value CudaSetOptions(const Napi::CallbackInfo& info); // ({ benchmark?, allowTF32Cudnn?, allowTF32Matmul?, deterministic? }) -> the options now
Napi::Value CudaMemory(const Napi::CallbackInfo& info);     // () -> { allocatedBytes, cachedBytes, reservedBytes, peakBytes, mallocCalls } | null
Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info); // () gives the cached GPU blocks back to the driver
Napi::Value CudaEventCreate(const Napi::CallbackInfo& info);  // () -> External event with timing
Napi::Value CudaEventOp(const Napi::CallbackInfo& info);      // (event, 0 record | 1 query -> bool | 2 synchronize)
Napi::Value CudaEventElapsed(const Napi::CallbackInfo& info); // (start, end) -> ms
Napi::Value CudaSleep(const Napi::CallbackInfo& info);        // (cycles): a busy kernel on the stream
Napi::Value PhiloxBlock(const Napi::CallbackInfo& info);    // ([k0,k1,c0..c3]) -> 4 words (tests)
Napi::Value SetVecMathPath(const Napi::CallbackInfo& info); // (name | null), in queue order (tests, benchmarks)
Napi::Value VecMathEval(const Napi::CallbackInfo& info);    // (fn, Float32Array, shift?) on the JS thread (tests)

// ops_api.cc: each validates, allocates its output, enqueues the CPU kernel, returns the output
Napi::Value Empty(const Napi::CallbackInfo& info);          // (shape, dtype)
Napi::Value Fill(const Napi::CallbackInfo& info);           // (shape, dtype, value)
Napi::Value Arange(const Napi::CallbackInfo& info);         // (start, step, count, dtype)
Napi::Value Cast(const Napi::CallbackInfo& info);           // (x, dtype)
Napi::Value CopyInto(const Napi::CallbackInfo& info);       // (dst, src) in place: dst takes src's values (same shape, dtype)
Napi::Value RandomUniform(const Napi::CallbackInfo& info);  // (shape, low, high)
Napi::Value RandomNormal(const Napi::CallbackInfo& info);   // (shape, mean, std)
Napi::Value RandomInt(const Napi::CallbackInfo& info);        // (shape, low, high) -> int32 (CPU only)
Napi::Value RandomPermutation(const Napi::CallbackInfo& info);  // (n) -> int32 (CPU only)
Napi::Value Nonzero(const Napi::CallbackInfo& info);  // (x) -> [int32 [count, rank], count] (CPU only; waits for x)
Napi::Value IndexFill(const Napi::CallbackInfo& info);  // (x, axis, index [K], value) -> y (CPU only, no gradient)
Napi::Value Scatter(const Napi::CallbackInfo& info);  // (x, axis, index, src | null, value) -> y (CPU only, no gradient)
Napi::Value Multinomial(const Napi::CallbackInfo& info);  // (probs [rows, cats], k, replacement) -> int32 [rows * k] (CPU only)
Napi::Value RandomBernoulli(const Napi::CallbackInfo& info);// (shape, p)
Napi::Value FillInto(const Napi::CallbackInfo& info);          // (dst, value) in place, float32
Napi::Value RandomUniformInto(const Napi::CallbackInfo& info); // (dst, low, high) in place
Napi::Value RandomNormalInto(const Napi::CallbackInfo& info);  // (dst, mean, std) in place
Napi::Value Binary(const Napi::CallbackInfo& info);         // (opCode, a, b) broadcasting
Napi::Value BinaryScalar(const Napi::CallbackInfo& info);   // (opCode, x, scalar, scalarFirst)
Napi::Value Unary(const Napi::CallbackInfo& info);          // (opCode, x)
Napi::Value Roll(const Napi::CallbackInfo& info);           // (x, axis, shift), float32 or int32
Napi::Value AffineGrid(const Napi::CallbackInfo& info);     // (theta, xs, ys): F.affineGrid's grid
Napi::Value Diff(const Napi::CallbackInfo& info);           // (x, axis), float32
Napi::Value Cross(const Napi::CallbackInfo& info);          // (a, b, axis), float32 of one shape
Napi::Value Triangle(const Napi::CallbackInfo& info);       // (x, diagonal, upper): tril / triu, float32 or int32
Napi::Value NanToNum(const Napi::CallbackInfo& info);       // (x, nan, posinf, neginf), float32
Napi::Value AddcLerp(const Napi::CallbackInfo& info);       // (opCode, a, b, c, value) broadcasting
Napi::Value Affine(const Napi::CallbackInfo& info);         // (x, alpha, beta) -> alpha * x + beta
Napi::Value PowScalar(const Napi::CallbackInfo& info);      // (x, exponent)
Napi::Value Polygamma(const Napi::CallbackInfo& info);      // (n, x)
Napi::Value Reduce(const Napi::CallbackInfo& info);         // (opCode, x, axes, keepdim); int32 x: sum/max/min
Napi::Value Argmax(const Napi::CallbackInfo& info);         // (x, axis, keepdim, largest = true): argmax / argmin
Napi::Value Cumsum(const Napi::CallbackInfo& info);         // (x, axis, reverse) -> running sums along axis
Napi::Value Cumprod(const Napi::CallbackInfo& info);        // (x, axis) -> running products along axis
Napi::Value Prod(const Napi::CallbackInfo& info);           // (x, axis) -> the product of each line along axis (kept as size 1)
Napi::Value SearchSorted(const Napi::CallbackInfo& info);   // (boundaries, values, right) -> int32 insertion positions
Napi::Value CumExtremum(const Napi::CallbackInfo& info);     // (x, axis, largest) -> [values, indices]: cummax / cummin
Napi::Value VectorNorm(const Napi::CallbackInfo& info);     // (x, axes, p, keepdim) -> y: the p-norm over adjacent axes
Napi::Value VectorNormBackward(const Napi::CallbackInfo& info);  // (dy, x, y, axes, p) -> dx
Napi::Value Logsumexp(const Napi::CallbackInfo& info);      // (x, axes, keepdim) -> y over adjacent axes
Napi::Value LogsumexpBackward(const Napi::CallbackInfo& info);   // (dy, x, y, axes) -> dx
Napi::Value VarStd(const Napi::CallbackInfo& info);         // (x, axes, correction, keepdim, takeSqrt) -> [y, mean] over any axes
Napi::Value VarStdBackward(const Napi::CallbackInfo& info); // (dy, x, y, mean, axes, correction, takeSqrt) -> dx
Napi::Value Compare(const Napi::CallbackInfo& info);        // (opCode, a, b) -> float32 1/0
Napi::Value CompareScalar(const Napi::CallbackInfo& info);  // (opCode, x, scalar, scalarFirst) -> float32 1/0
Napi::Value Aminmax(const Napi::CallbackInfo& info);        // (x, axis | null, keepdim) -> [min, max] (CPU)
Napi::Value Expand(const Napi::CallbackInfo& info);         // (x, shape) -> x broadcast to shape (a copy)
Napi::Value Where(const Napi::CallbackInfo& info);          // (cond, a, b) -> cond != 0 ? a : b
Napi::Value Clamp(const Napi::CallbackInfo& info);          // (x, min, max) scalar bounds (-Infinity / Infinity: none)
Napi::Value ClampBackward(const Napi::CallbackInfo& info);  // (dy, x, min, max) -> dx
Napi::Value Matmul(const Napi::CallbackInfo& info);         // (a, b, transA, transB), a and b >= 2-D
Napi::Value Bincount(const Napi::CallbackInfo& info);       // (x, minlength): [counts, length], CPU only
Napi::Value Histc(const Napi::CallbackInfo& info);          // (x, bins, lo, hi): counts, CPU only
Napi::Value Unique(const Napi::CallbackInfo& info);         // (x, withInverse): [values, counts, inverse | null, length], CPU only
// linalg_api.cc: lib/linalg.ts's float64 kernels on typed arrays, run on this thread
Napi::Value LuFactorF64(const Napi::CallbackInfo& info);         // (a, n, perm): [sign, zeroAt]
Napi::Value TriangularSolveF64(const Napi::CallbackInfo& info);  // (a, x, n, k, upper, unit, trans)
Napi::Value MatmulF64(const Napi::CallbackInfo& info);           // (a, b, c, m, k, n, ta, tb)
Napi::Value DetBatched(const Napi::CallbackInfo& info);          // (x): y, CPU only
Napi::Value SlogdetBatched(const Napi::CallbackInfo& info);      // (x): [sign, logabsdet], CPU only
Napi::Value InvBatched(const Napi::CallbackInfo& info);          // (x): [y, zeroAt], CPU only
Napi::Value CholeskyBatched(const Napi::CallbackInfo& info);     // (x, upper): [y, failedMinor], CPU only
Napi::Value SolveBatched(const Napi::CallbackInfo& info);        // (a, b): [x, zeroAt], CPU only
Napi::Value Split(const Napi::CallbackInfo& info);          // (x, axis, sizes, dropAxis): handles of the pieces
Napi::Value Permute(const Napi::CallbackInfo& info);        // (x, perm, reversed?): axes of y read backwards, a bit each
Napi::Value Concat(const Napi::CallbackInfo& info);         // ([x...], axis)
Napi::Value Slice(const Napi::CallbackInfo& info);          // (x, begin[], size[], step[])
Napi::Value IndexSelect(const Napi::CallbackInfo& info);    // (x, axis, index)
Napi::Value Topk(const Napi::CallbackInfo& info);           // (x, axis, k, largest) -> [values, indices], sorted, stable
Napi::Value SelectKth(const Napi::CallbackInfo& info);      // (x, axis, kind, k) -> int32 positions of one order statistic per line (CPU only)
Napi::Value Gather(const Napi::CallbackInfo& info);         // (x, axis, index)
Napi::Value OneHot(const Napi::CallbackInfo& info);         // (labels, numClasses)
Napi::Value IndexAdd(const Napi::CallbackInfo& info);       // (x, axis, index, src) -> x with src added at index (float32)
Napi::Value ScatterAdd(const Napi::CallbackInfo& info);     // (x, axis, index, src) -> x with src scatter-added (float32)

// ---- neural-network ops (issue 3): one section per family, each in its own *_api.cc ----------
// activation_api.cc: kind 0 relu, 1 leakyRelu (param = slope), 2 elu (param = alpha), 3 sigmoid, 4 tanh
Napi::Value ActivationForward(const Napi::CallbackInfo& info);   // (kind, x, param) -> y
Napi::Value ActivationBackward(const Napi::CallbackInfo& info);  // (kind, dy, x, y, param) -> dx
Napi::Value GluForward(const Napi::CallbackInfo& info);    // (x, dim) -> y, x halved along dim (CPU only)
Napi::Value GluBackward(const Napi::CallbackInfo& info);   // (dy, x, dim) -> dx
// conv_api.cc: geometry = [strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups]
Napi::Value Conv2dForward(const Napi::CallbackInfo& info);         // (x, w, b | null, geometry) -> y
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info);    // (dy, w, b | null, geometry, xShape) -> dx (+ b per channel)
Napi::Value Conv2dBackwardFilter(const Napi::CallbackInfo& info);  // (dy, x, geometry, wShape) -> dw
Napi::Value BiasBackward(const Napi::CallbackInfo& info);          // (dy, axis) -> db: dy summed over every other axis
Napi::Value LinearForward(const Napi::CallbackInfo& info);         // (x [..., in], w [out, in], b | null) -> y [..., out]
Napi::Value LinearBackwardData(const Napi::CallbackInfo& info);    // (dy, w) -> dx = dy w
Napi::Value LinearBackwardWeight(const Napi::CallbackInfo& info);  // (dy, x) -> dw = dy^T x (leading dims folded)
// 8-bit inference, CPU only (quantized_api.cc): (w [O, K], groups) -> [packed, scale, sum];
// (x [..., K], packed, scale, sum, b | null, lo, hi) -> y [..., O];
// (x [N, C, H, W], packed, scale, sum, b | null, [sh, sw, ph, pw, dh, dw, groups, kh, kw], lo, hi) -> y;
// and the 8-bit product's kernel path for tests (name | null).
Napi::Value QuantizeWeights(const Napi::CallbackInfo& info);
Napi::Value QuantizedLinear(const Napi::CallbackInfo& info);
Napi::Value QuantizedConv2d(const Napi::CallbackInfo& info);
Napi::Value SetQuantizedPath(const Napi::CallbackInfo& info);
// pool_api.cc: window = [kh, kw, sh, sw, ph, pw, dh, dw]; pairs come back as [y, second | null]
Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info);    // (x, window, ceilMode, returnIndices) -> [y, indices]
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info);     // (dy, indices, inputShape) -> dx (also adaptive max)
Napi::Value MaxUnpool2dForward(const Napi::CallbackInfo& info);  // (x, indices, outputShape, withKept) -> [y, kept]
Napi::Value MaxUnpool2dBackward(const Napi::CallbackInfo& info); // (dy, indices, kept, inputShape) -> dx
Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info);    // (x, window, ceilMode, countIncludePad, divisorOverride | 0) -> y
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info);   // (dy, inputShape, window, ceilMode, countIncludePad, divisorOverride) -> dx
Napi::Value LpPool2dForward(const Napi::CallbackInfo& info);     // (x, p, window, ceilMode, mean) -> y
Napi::Value LpPool2dBackward(const Napi::CallbackInfo& info);    // (dy, x, y, p, window, ceilMode, mean) -> dx
Napi::Value MixedPool2dForward(const Napi::CallbackInfo& info);  // (x, window, ceilMode, mode 0 fixed | 1 bernoulli | 2 uniform, lambda, returnIndices) -> [y, lambda, indices]
Napi::Value MixedPool2dBackward(const Napi::CallbackInfo& info); // (dy, indices, lambda, inputShape, window, ceilMode) -> dx
Napi::Value StochasticPool2dForward(const Napi::CallbackInfo& info);  // (x, window, ceilMode, training, returnIndices) -> [y, indices | null]
Napi::Value StochasticPool2dBackward(const Napi::CallbackInfo& info); // (dy, x, indices | null, window, ceilMode) -> dx (indices: training's; null: evaluation's)
Napi::Value AdaptivePool2dForward(const Napi::CallbackInfo& info);     // (kind 0 avg | 1 max, x, [oh, ow], returnIndices) -> [y, indices]
Napi::Value AdaptiveAvgPool2dBackward(const Napi::CallbackInfo& info); // (dy, inputShape) -> dx
Napi::Value RoiPoolForward(const Napi::CallbackInfo& info);      // (x, boxes [K, 5], [oh, ow], spatialScale) -> [y, argmax]
Napi::Value RoiPoolBackward(const Napi::CallbackInfo& info);     // (dy, argmax, boxes, inputShape) -> dx
Napi::Value RoiAlignForward(const Napi::CallbackInfo& info);     // (x, boxes [K, 5], [oh, ow], spatialScale, samplingRatio, aligned) -> y
Napi::Value RoiAlignBackward(const Napi::CallbackInfo& info);    // (dy, boxes, inputShape, spatialScale, samplingRatio, aligned) -> dx
Napi::Value Unfold(const Napi::CallbackInfo& info);   // (x [P, H, W], kernelSize, dilation, padding, stride) -> cols [P, kh * kw, L] (CPU only)
Napi::Value Fold(const Napi::CallbackInfo& info);     // (cols, outputSize, kernelSize, dilation, padding, stride) -> y [P, H, W] (CPU only)
Napi::Value UpsampleBilinear(const Napi::CallbackInfo& info);          // (x [P, H, W], outputSize, scales [sh, sw], alignCorners) -> y [P, Ho, Wo] (CPU only)
Napi::Value UpsampleBilinearBackward(const Napi::CallbackInfo& info);  // (dy [P, Ho, Wo], inputSize, scales, alignCorners) -> dx [P, H, W] (CPU only)
Napi::Value UpsampleNearest(const Napi::CallbackInfo& info);           // the same arguments, 'nearest' (CPU only)
Napi::Value UpsampleNearestBackward(const Napi::CallbackInfo& info);
Napi::Value ResampleAxis(const Napi::CallbackInfo& info);           // (x [outer, n, inner], index Int32Array, weight Float32Array, m) -> y [outer, m, inner] (CPU only)
Napi::Value ResampleAxisBackward(const Napi::CallbackInfo& info);   // (dy [outer, m, inner], index, weight, n) -> dx [outer, n, inner] (CPU only)
Napi::Value GridSampleForward(const Napi::CallbackInfo& info);    // (x, grid [N, Ho, Wo, 2], mode, paddingMode, alignCorners) -> y (CPU only)
Napi::Value GridSampleBackward(const Napi::CallbackInfo& info);   // (dy, x, grid, mode, paddingMode, alignCorners, needX, needGrid) -> [dx | null, dgrid | null]
// layers_api.cc: the other layers; functions returning several tensors return an array of handles
Napi::Value PreluForward(const Napi::CallbackInfo& info);      // (x, w) -> y
Napi::Value PreluBackward(const Napi::CallbackInfo& info);     // (dy, x, w) -> [dx, dw]
Napi::Value MaxoutForward(const Napi::CallbackInfo& info);     // (x, pieces) -> y
Napi::Value MaxoutBackward(const Napi::CallbackInfo& info);    // (dy, x, pieces) -> dx
Napi::Value ProboutForward(const Napi::CallbackInfo& info);    // (x, pieces, lambda, training, dropout) -> [y, picked | null]
Napi::Value ProboutBackward(const Napi::CallbackInfo& info);   // (dy, picked | x, pieces, lambda, dropout, training) -> dx
Napi::Value SoftmaxForward(const Napi::CallbackInfo& info);    // (x, dim, log, negate?) -> y (negate: softmin, CPU only)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info);   // (dy, y, dim, log, negate?) -> dx
Napi::Value DropoutForward(const Napi::CallbackInfo& info);    // (x, p) -> [y, mask]; draws from the CPU generator
Napi::Value DropoutBackward(const Napi::CallbackInfo& info);   // (dy, mask, p) -> dx
Napi::Value LstmCellForward(const Napi::CallbackInfo& info);   // (xw [N, 4H], hw [N, 4H], c [N, H]) -> [h', c', saved [N, 5H]] (CPU only)
Napi::Value LstmCellBackward(const Napi::CallbackInfo& info);  // (saved, c, dh | null, dc | null) -> [dxw, dhw, dc_prev]
Napi::Value GruCellForward(const Napi::CallbackInfo& info);    // (xw [N, 3H], hw [N, 3H], h [N, H]) -> [h', saved [N, 4H]] (CPU only)
Napi::Value GruCellBackward(const Napi::CallbackInfo& info);   // (saved, h, dh') -> [dxw, dhw, dh]
Napi::Value RnnLayerForward(const Napi::CallbackInfo& info);   // (mode, xw [T, N, GH], h0, c0 | null, w_hh, b_hh | null, reverse, keep, lengths Int32Array | null) -> [out, saved | null] (CPU only)
Napi::Value RnnLayerBackward(const Napi::CallbackInfo& info);  // (mode, dout, out, saved | null, xw, h0, c0 | null, w_hh, reverse, hasBias, lengths | null) -> [dxw, dh0, dc0 | null, dw_hh, db_hh | null]
Napi::Value LrnForward(const Napi::CallbackInfo& info);        // (x, size, alpha, beta, k) -> y
Napi::Value LrnBackward(const Napi::CallbackInfo& info);       // (dy, x, size, alpha, beta, k) -> dx
Napi::Value BatchNormForward(const Napi::CallbackInfo& info);  // (x, rm?, rv?, w?, b?, training, momentum, eps) -> [y, mean, invstd]
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info); // (dy, x, w?, mean, invstd, training) -> [dx, dw, db]
Napi::Value LayerNormForward(const Napi::CallbackInfo& info);  // (x, m, w?, b?, eps) -> [y, mean, rstd]
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info); // (dy, x, m, w?, mean, rstd, needDw, needDb) -> [dx, dw | null, db | null]
Napi::Value GroupNormForward(const Napi::CallbackInfo& info);  // (x, groups, w?, b?, eps) -> [y, mean, rstd]
Napi::Value GroupNormBackward(const Napi::CallbackInfo& info); // (dy, x, groups, w?, mean, rstd, needDw, needDb) -> [dx, dw | null, db | null]
// distance_api.cc: F.normalize and F.cosineSimilarity along one axis
Napi::Value NormalizeForward(const Napi::CallbackInfo& info);          // (x, axis, p, eps) -> y
Napi::Value NormalizeBackward(const Napi::CallbackInfo& info);         // (dy, x, axis, p, eps) -> dx
Napi::Value CosineSimilarityForward(const Napi::CallbackInfo& info);   // (a, b, axis, eps) -> y (a's shape without the axis)
Napi::Value CosineSimilarityBackward(const Napi::CallbackInfo& info);  // (dy, a, b, axis, eps) -> [da, db]
Napi::Value CdistEuclidean(const Napi::CallbackInfo& info);            // (a [..., N, D], b [..., M, D]) -> y [..., N, M]
// loss_api.cc: reduction 0 none, 1 mean, 2 sum, 3 batchmean (klDiv); weight may be null.
// Each forward returns the loss (scalar, or per sample for none); each backward takes dloss first.
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info);        // (x, target, weight, ignoreIndex, labelSmoothing, reduction)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info);       // (dloss, x, target, weight, ignoreIndex, labelSmoothing, reduction) -> dx
Napi::Value NllLossForward(const Napi::CallbackInfo& info);             // (x, target, weight, ignoreIndex, reduction)
Napi::Value NllLossBackward(const Napi::CallbackInfo& info);            // (dloss, x, target, weight, ignoreIndex, reduction) -> dx
Napi::Value HingeLossForward(const Napi::CallbackInfo& info);           // (x, target, p, margin, reduction)
Napi::Value HingeLossBackward(const Napi::CallbackInfo& info);          // (dloss, x, target, p, margin, reduction) -> dx
Napi::Value MultiMarginLossForward(const Napi::CallbackInfo& info);     // (x, target, p, margin, weight, reduction)
Napi::Value MultiMarginLossBackward(const Napi::CallbackInfo& info);    // (dloss, x, target, p, margin, weight, reduction) -> dx
Napi::Value ContrastiveLossForward(const Napi::CallbackInfo& info);     // (a, b, y, margin, reduction)
Napi::Value ContrastiveLossBackward(const Napi::CallbackInfo& info);    // (dloss, a, b, y, margin, reduction) -> [da, db]
Napi::Value TripletMarginLossForward(const Napi::CallbackInfo& info);   // (a, p, n, margin, p, eps, swap, squared, reduction)
Napi::Value TripletMarginLossBackward(const Napi::CallbackInfo& info);  // (dloss, a, p, n, margin, p, eps, swap, squared, reduction) -> [da, dp, dn]
Napi::Value KlDivForward(const Napi::CallbackInfo& info);               // (x, target, reduction, logTarget)
Napi::Value KlDivBackward(const Napi::CallbackInfo& info);              // (dloss, x, target, reduction, logTarget, targetGrad) -> [dx, dtarget | null]
Napi::Value BinaryCrossEntropyForward(const Napi::CallbackInfo& info);  // (x, target) -> per-element loss; fails when run at an x outside [0, 1]
Napi::Value BinaryCrossEntropyBackward(const Napi::CallbackInfo& info); // (dloss, x, target, inputGrad, targetGrad) -> [dx | null, dtarget | null]; fails likewise
Napi::Value EmbeddingBagForward(const Napi::CallbackInfo& info);
Napi::Value EmbeddingBagBackward(const Napi::CallbackInfo& info);  // (dy, indices, bounds, perSample | null, maximaAt | null, mode, padding, scaleByFreq, V) -> dw; CPU only   // (weight, indices, bounds, perSample | null, mode, padding) -> [y, maximaAt | null]; CPU only
Napi::Value CosineEmbeddingLossForward(const Napi::CallbackInfo& info);    // (a [N, D], b, target [N], margin, reduction); CPU only
Napi::Value CosineEmbeddingLossBackward(const Napi::CallbackInfo& info);   // (dloss, a, b, target, margin, reduction, aGrad, bGrad) -> [da | null, db | null]
Napi::Value MultilabelMarginLossForward(const Napi::CallbackInfo& info);   // (x [N, C], target [N, C] int32, reduction); CPU only
Napi::Value MultilabelMarginLossBackward(const Napi::CallbackInfo& info);  // (dloss, x, target, reduction) -> dx
Napi::Value CtcLossForward(const Napi::CallbackInfo& info);   // (logProbs [T, N, C], targets int32, inputLengths, targetLengths, blank, zeroInfinity, wantGrad) -> [nll [N], dnll/dlogProbs or null]; CPU only
Napi::Value PointwiseLossForward(const Napi::CallbackInfo& info);   // (kind, x, target, beta, posWeight?) -> per-element loss; CPU only
Napi::Value PointwiseLossBackward(const Napi::CallbackInfo& info);  // (kind, dloss, x, target, beta, scale, inputGrad, targetGrad, posWeight?) -> [dx | null, dtarget | null]
// optim_api.cc: in-place steps; return undefined
Napi::Value SgdStep(const Napi::CallbackInfo& info);   // (param, grad, buf|null, lr, momentum, dampening, nesterov, weightDecay, firstStep)
Napi::Value AdamStep(const Napi::CallbackInfo& info);  // (param, grad, m, v, vMax|null, lr, beta1, beta2, eps, weightDecay, step, decoupled)
Napi::Value RmspropStep(const Napi::CallbackInfo& info);  // (param, grad, squareAvg, buf|null, gradAvg|null, lr, alpha, eps, weightDecay, momentum, centered)
Napi::Value AdagradStep(const Napi::CallbackInfo& info);  // (param, grad, stateSum, lr, lrDecay, weightDecay, eps, step)
}  // namespace api
}  // namespace convnet
