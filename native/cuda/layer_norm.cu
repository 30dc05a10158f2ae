// Layer normalisation on the GPU (cpu/layer_norm.cc gives the semantics, PyTorch's): x viewed as
// [rows, m], w and b per value [m] (optional), mean and rstd [rows] saved for the backward.
// Forward: one block per row (norm_rows.cuh's float64 moments), then y in the same block.
// Backward: one block per row for its two sums and dx; dw and db over rows in two
// deterministic stages (no atomics): float64 sums over groups of kRowGroup rows, one thread per
// (group, value), then one thread per value adds the groups in order.
// A row of one value normalises to 0 (its scale is 0, not rstd) and its dx is 0.
#include <cmath>

#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/norm_rows.cuh"

namespace convnet {
namespace cuda {
namespace {

constexpr int64_t kRowGroup = 64;

__global__ void layer_norm_forward_kernel(const float* x, int64_t rows, int64_t m, double eps, const float* w,
                                          const float* b, float* y, float* mean, float* rstd) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * m;
    const RowMoments s = block_row_moments(xr, m, eps);
    if (threadIdx.x == 0) mean[r] = s.mean, rstd[r] = s.rstd;
    const float scale = m == 1 ? 0.0f : s.rstd;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      float v = __fmul_rn(xr[i] - s.mean, scale);  // no FMA: the CPU's roundings
      if (w) v = __fmul_rn(v, w[i]);
      if (b) v = v + b[i];
      y[r * m + i] = v;
    }
  }
}

// dx = (dy w) rstd + k (x - mean) + c0 per row (cpu/layer_norm.cc's formula).
__global__ void layer_norm_backward_kernel(const float* dy, const float* x, int64_t rows, int64_t m, const float* w,
                                           const float* mean, const float* rstd, float* dx) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t at = r * m;
    const float mu = mean[r];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      const double g = w ? dy[at + i] * w[i] : dy[at + i];
      s1 += g;
      s2 += g * (x[at + i] - mu);
    }
    s1 = block_sum(s1);
    s2 = block_sum(s2);
    const double rs = m == 1 ? 0.0 : rstd[r], n = static_cast<double>(m);
    const float k = static_cast<float>(-rs * rs * rs * s2 / n), c0 = static_cast<float>(-rs * s1 / n);
    const float a = static_cast<float>(rs);
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      const float g = w ? dy[at + i] * w[i] : dy[at + i];
      dx[at + i] = g * a + k * (x[at + i] - mu) + c0;
    }
  }
}

}  // namespace

void layer_norm_forward(const Tensor& x, int64_t m, const Tensor* w, const Tensor* b, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd) {
  const char* op = "layerNorm";
  const int64_t rows = m ? x.numel() / m : 0;
  if (rows == 0) return;
  set_last_op(op);
  layer_norm_forward_kernel<<<row_blocks(rows), kThreads, 0, stream()>>>(
      x.f32(), rows, m, eps, w ? w->f32() : nullptr, b ? b->f32() : nullptr, y.f32(), mean.f32(), rstd.f32());
  check_launch(op);
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, int64_t m, const Tensor* w, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor* dw, const Tensor* db) {
  const char* op = "layerNorm backward";
  const int64_t rows = m ? x.numel() / m : 0;
  float* pdw = dw ? dw->f32() : nullptr;
  float* pdb = db ? db->f32() : nullptr;
  if (rows == 0) {
    for_each(op, m, [=] __device__(int64_t j) {
      if (pdw) pdw[j] = 0.0f;
      if (pdb) pdb[j] = 0.0f;
    });
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = mean.f32(), *prstd = rstd.f32();
  set_last_op(op);
  layer_norm_backward_kernel<<<row_blocks(rows), kThreads, 0, stream()>>>(pdy, px, rows, m, w ? w->f32() : nullptr, pmean,
                                                                          prstd, dx.f32());
  check_launch(op);
  if (!pdw && !pdb) return;
  const int64_t groups = (rows + kRowGroup - 1) / kRowGroup;
  DeviceBuffer partial(static_cast<size_t>(2 * groups * m) * sizeof(double));
  double *pw_part = partial.as<double>(), *pb_part = pw_part + groups * m;
  for_each(op, groups * m, [=] __device__(int64_t i) {
    const int64_t g = i / m, j = i % m, end = min(rows, (g + 1) * kRowGroup);
    double sw = 0.0, sb = 0.0;
    for (int64_t r = g * kRowGroup; r < end; ++r) {
      const float d = pdy[r * m + j], rs = m == 1 ? 0.0f : prstd[r];
      sw += static_cast<double>(d) * static_cast<double>(__fmul_rn(px[r * m + j] - pmean[r], rs));
      sb += d;
    }
    pw_part[i] = sw;
    pb_part[i] = sb;
  });
  for_each(op, m, [=] __device__(int64_t j) {
    double sw = 0.0, sb = 0.0;
    for (int64_t g = 0; g < groups; ++g) sw += pw_part[g * m + j], sb += pb_part[g * m + j];
    if (pdw) pdw[j] = static_cast<float>(sw);
    if (pdb) pdb[j] = static_cast<float>(sb);
  });
}

}  // namespace cuda
}  // namespace convnet
