// Group normalisation on the GPU (cpu/group_norm.cc gives the semantics, PyTorch's): x [N, C, ...]
// viewed as [N, C, S], G groups of C/G consecutive channels, each sample's group a contiguous
// row of m = C/G * S values; w and b per channel [C] (optional); mean, rstd [N * G].
// Forward: one block per row (norm_rows.cuh's float64 moments), then y in the same block.
// Backward, deterministic (no atomics): one block per (n, c) for its two float64 sums over S
// positions; one thread per row for the coefficients k and c0; one thread per element for dx;
// one thread per channel for dw and db, adding over n in order.
#include <cmath>

#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/norm_rows.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Groups {
  int64_t n, channels, positions, groups;
  __host__ __device__ int64_t per_group() const { return channels / groups; }
  __host__ __device__ int64_t rows() const { return n * groups; }
  __host__ __device__ int64_t m() const { return per_group() * positions; }
};

Groups groups_of(const Tensor& x, int64_t groups) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions, groups};
}

__global__ void group_norm_forward_kernel(const float* x, Groups g, double eps, const float* w, const float* b, float* y,
                                          float* mean, float* rstd) {
  const int64_t m = g.m(), S = g.positions;
  for (int64_t r = blockIdx.x; r < g.rows(); r += gridDim.x) {
    const float* xr = x + r * m;
    const RowMoments s = block_row_moments(xr, m, eps);
    if (threadIdx.x == 0) mean[r] = s.mean, rstd[r] = s.rstd;
    const float scale = m == 1 ? 0.0f : s.rstd;
    const int64_t first_channel = (r % g.groups) * g.per_group();
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      const int64_t c = first_channel + i / S;
      float v = __fmul_rn(xr[i] - s.mean, scale);  // no FMA: the CPU's roundings
      if (w) v = __fmul_rn(v, w[c]);
      if (b) v = v + b[c];
      y[r * m + i] = v;
    }
  }
}

// sdy[nc] = sum dy, sxmu[nc] = sum dy (x - mean) over the S positions of (n, c) = nc.
__global__ void group_norm_channel_sums_kernel(const float* dy, const float* x, Groups g, const float* mean, double* sdy,
                                               double* sxmu) {
  const int64_t S = g.positions, C = g.channels;
  for (int64_t nc = blockIdx.x; nc < g.n * C; nc += gridDim.x) {
    const float mu = mean[(nc / C) * g.groups + (nc % C) / g.per_group()];
    double s = 0.0, sx = 0.0;
    for (int64_t i = threadIdx.x; i < S; i += blockDim.x) {
      const double d = dy[nc * S + i];
      s += d;
      sx += d * (x[nc * S + i] - mu);
    }
    s = block_sum(s);
    sx = block_sum(sx);
    if (threadIdx.x == 0) sdy[nc] = s, sxmu[nc] = sx;
  }
}

}  // namespace

void group_norm_forward(const Tensor& x, int64_t groups, const Tensor* w, const Tensor* b, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd) {
  const char* op = "groupNorm";
  const Groups g = groups_of(x, groups);
  if (g.rows() == 0) return;
  set_last_op(op);
  group_norm_forward_kernel<<<row_blocks(g.rows()), kThreads, 0, stream()>>>(
      x.f32(), g, eps, w ? w->f32() : nullptr, b ? b->f32() : nullptr, y.f32(), mean.f32(), rstd.f32());
  check_launch(op);
}

void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t groups, const Tensor* w, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor* dw, const Tensor* db) {
  const char* op = "groupNorm backward";
  const Groups g = groups_of(x, groups);
  const int64_t C = g.channels, S = g.positions, cg = g.per_group(), m = g.m(), G = g.groups, N = g.n;
  float* pdw = dw ? dw->f32() : nullptr;
  float* pdb = db ? db->f32() : nullptr;
  if (x.numel() == 0) {
    for_each(op, C, [=] __device__(int64_t c) {
      if (pdw) pdw[c] = 0.0f;
      if (pdb) pdb[c] = 0.0f;
    });
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = mean.f32(), *prstd = rstd.f32();
  const float* pw = w ? w->f32() : nullptr;
  float* pdx = dx.f32();
  DeviceBuffer sums(static_cast<size_t>(2 * N * C) * sizeof(double));
  double *sdy = sums.as<double>(), *sxmu = sdy + N * C;
  set_last_op(op);
  group_norm_channel_sums_kernel<<<row_blocks(N * C), kThreads, 0, stream()>>>(pdy, px, g, pmean, sdy, sxmu);
  check_launch(op);
  DeviceBuffer coefficients(static_cast<size_t>(2 * g.rows()) * sizeof(float));
  float *pk = coefficients.as<float>(), *pc0 = pk + g.rows();
  for_each(op, g.rows(), [=] __device__(int64_t r) {
    const int64_t n = r / G, first = (r % G) * cg;
    double t1 = 0.0, t2 = 0.0;
    for (int64_t c = first; c < first + cg; ++c) {
      const double wc = pw ? pw[c] : 1.0;
      t1 += wc * sdy[n * C + c];
      t2 += wc * sxmu[n * C + c];
    }
    const double rs = m == 1 ? 0.0 : prstd[r], count = static_cast<double>(m);
    pk[r] = static_cast<float>(-rs * rs * rs * t2 / count);
    pc0[r] = static_cast<float>(-rs * t1 / count);
  });
  for_each(op, x.numel(), [=] __device__(int64_t i) {
    const int64_t nc = i / S, c = nc % C, r = (nc / C) * G + c / cg;
    const double rs = m == 1 ? 0.0 : prstd[r];
    const float a = static_cast<float>((pw ? pw[c] : 1.0) * rs);
    pdx[i] = a * pdy[i] + pk[r] * (px[i] - pmean[r]) + pc0[r];
  });
  if (!pdw && !pdb) return;
  for_each(op, C, [=] __device__(int64_t c) {
    double sw = 0.0, sb = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const double rs = m == 1 ? 0.0 : prstd[n * G + c / cg];
      sw += sxmu[n * C + c] * rs;
      sb += sdy[n * C + c];
    }
    if (pdw) pdw[c] = static_cast<float>(sw);
    if (pdb) pdb[c] = static_cast<float>(sb);
  });
}

}  // namespace cuda
}  // namespace convnet
