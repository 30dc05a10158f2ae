// torch.cdist's Euclidean path on the GPU (native/cpu/cdist.cc has the formula): the squared
// norms as float64 row sums (row_reduce.cuh), a . b by cuBLAS into y, then one pass
// y = sqrt(max(|a|^2 + |b|^2 - 2 y, 0)) in place (a NaN stays NaN).
#include "cuda/blas_gemm.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/row_reduce.cuh"

namespace convnet {
namespace cuda {

void cdist_euclidean(const Tensor& a, const Tensor& b, const Tensor& y) {
  const char* op = "cdist";
  const int64_t D = a.shape[a.dim() - 1], N = a.shape[a.dim() - 2], M = b.shape[b.dim() - 2];
  if (y.numel() == 0) return;
  float* py = y.f32();
  if (D == 0) {
    for_each(op, y.numel(), [=] __device__(int64_t i) { py[i] = 0.0f; });
    return;
  }
  const int64_t batch = y.numel() / (N * M);
  DeviceBuffer buffer(static_cast<size_t>(batch * (N + M)) * sizeof(double));
  double* a2 = buffer.as<double>();
  double* b2 = a2 + batch * N;
  const float *pa = a.f32(), *pb = b.f32();
  rows::reduce_runs(op, rows::run_layout(a.shape, {a.dim() - 1}), 0.0,
                    [=] __device__(int64_t, int64_t e) { return static_cast<double>(pa[e]) * pa[e]; }, rows::Add{}, a2);
  rows::reduce_runs(op, rows::run_layout(b.shape, {b.dim() - 1}), 0.0,
                    [=] __device__(int64_t, int64_t e) { return static_cast<double>(pb[e]) * pb[e]; }, rows::Add{}, b2);
  gemm_strided_batched(op, false, true, N, M, D, pa, D, N * D, pb, D, M * D, py, M, N * M, batch);
  for_each(op, y.numel(), [=] __device__(int64_t i) {
    const int64_t row = i / M, j = i % M;
    const float s = py[i] * -2.0f + (static_cast<float>(a2[row]) + static_cast<float>(b2[(row / N) * M + j]));
    py[i] = sqrtf(s < 0.0f ? 0.0f : s);
  });
}

}  // namespace cuda
}  // namespace convnet
