// What the CUDA loss kernels share (the twin of cpu/loss_common.h): the per-sample values and
// their reduction, the scale of a gradient read from dloss on the device, the Mean denominator
// of the class losses, the report of a bad label, and "one group of lanes per row" launches.
//
// Note [deterministic loss sums on the GPU]: every kernel writes one value per sample (in
// float64, as the CPU computes them) to a scratch array; finish_loss() then converts them to
// float32 (None) or sums them in one block with a fixed thread-to-element map and a fixed tree
// (Mean, Sum). No float atomics, so a loss has the same bits on every run. The sums differ from
// the CPU's only in their order.
//
// Note [rows and lane groups]: a row (the C scores of a sample, the D components of an
// embedding) is handled by a group of kLanes threads that stride over it and reduce with warp
// shuffles: kLanes = 32 (a warp) for contiguous rows, kLanes = 1 (a thread) for rows strided
// in memory (cross-entropy over [N, C, H, W], where neighbouring threads then read neighbouring
// positions). A group never spans two warps (kThreads is a multiple of 32) and every lane of a
// group works on the same row, so a branch on the row's data is taken by the whole group and
// the shuffles see all 32 lanes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

inline bool has(const Tensor& optional) { return optional.storage() != nullptr; }

// Writes `loss` from the n per-sample values (device float64): float32 copies for None, their
// sum for Sum, their sum divided by the sum of `weights` (device float64 [n], when given: the
// class losses) or else by `denominator` for Mean/BatchMean (0 / 0 is NaN, as the CPU's).
void finish_loss(const char* op, Reduction reduction, const double* values, const double* weights, int64_t n,
                 double denominator, const Tensor& loss);

// *out (device float64) = the Mean denominator of cross-entropy and nll_loss: the sum of w[t]
// (1 without a weight) over the positions whose target is in [0, classes) and not ignore_index.
void target_weight_sum(const char* op, const int32_t* target, int64_t n, const float* weight, int64_t classes,
                       int64_t ignore_index, double* out);

// The error site of a label out of range ("<op>: a target is out of range for C classes").
int bad_label_site(const char* op, int64_t classes);

// d(loss)/d(per-sample value i), read on the device: dloss[i] for None, dloss[0] for Sum,
// dloss[0] / denominator for Mean/BatchMean, the denominator being *device_denominator when
// given (computed by an earlier kernel) or else the host's.
struct GradScale {
  const float* dloss;
  const double* device_denominator;
  double denominator;
  Reduction reduction;
  __device__ double operator()(int64_t i) const {
    if (reduction == Reduction::None) return static_cast<double>(dloss[i]);
    const double d = static_cast<double>(dloss[0]);
    if (reduction == Reduction::Sum) return d;
    return d / (device_denominator ? *device_denominator : denominator);
  }
};
inline GradScale grad_scale(Reduction reduction, const Tensor& dloss, double denominator,
                            const double* device_denominator = nullptr) {
  return GradScale{dloss.f32(), device_denominator, denominator, reduction};
}

// ---- lane groups (Note [rows and lane groups]) -------------------------------------------------

template <int kLanes>
__device__ __forceinline__ int group_lane() {
  return static_cast<int>(threadIdx.x % kLanes);
}
template <int kLanes>
__device__ __forceinline__ int64_t group_first() {
  return (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kLanes;
}
template <int kLanes>
__device__ __forceinline__ int64_t group_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x / kLanes;
}
template <int kLanes, typename T>
__device__ __forceinline__ T group_sum(T v) {
  if constexpr (kLanes == 1) {
    return v;
  } else {
    static_assert(kLanes == 32, "a lane group is one thread or one warp");
    return warp_sum(v);
  }
}
template <int kLanes, typename T>
__device__ __forceinline__ T group_max(T v) {
  if constexpr (kLanes == 1) {
    return v;
  } else {
    static_assert(kLanes == 32, "a lane group is one thread or one warp");
    return warp_max(v);
  }
}
// Blocks for `rows` groups of kLanes threads (a grid-stride loop covers the rest).
template <int kLanes>
inline unsigned blocks_for_rows(int64_t rows) {
  return blocks_for(rows * kLanes);
}

}  // namespace cuda
}  // namespace convnet
