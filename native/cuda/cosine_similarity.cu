// PyTorch 1.13's cosine similarity along one axis and its gradient on the GPU (native/cpu/
// cosine_similarity.cc has the formulas): the three float64 sums (a^2, b^2, a b) per output with
// the deterministic reductions of row_reduce.cuh, d = sqrt(max(sum, eps^2)) (NaN stays NaN),
// y = sum(a b) / (d_a d_b); da = dy (b / (d_a d_b) - y a / d_a^2), db likewise.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/row_reduce.cuh"

namespace convnet {
namespace cuda {
namespace {

__device__ __forceinline__ double clamped_norm(double squares, double eps2) { return sqrt(squares < eps2 ? eps2 : squares); }

// sums = [aa | bb | ab], one double per output each.
void pair_sums(const char* op, const float* pa, const float* pb, const rows::RunLayout& l, double* sums) {
  const int64_t outputs = l.outputs();
  rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return static_cast<double>(pa[e]) * pa[e]; },
                    rows::Add{}, sums);
  rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return static_cast<double>(pb[e]) * pb[e]; },
                    rows::Add{}, sums + outputs);
  rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return static_cast<double>(pa[e]) * pb[e]; },
                    rows::Add{}, sums + 2 * outputs);
}

}  // namespace

void cosine_similarity_forward(const Tensor& a, const Tensor& b, int64_t axis, double eps, const Tensor& y) {
  const char* op = "cosineSimilarity";
  const rows::RunLayout l = rows::run_layout(a.shape, {axis});
  const int64_t outputs = l.outputs();
  if (outputs == 0) return;
  DeviceBuffer buffer(3 * static_cast<size_t>(outputs) * sizeof(double));
  double* sums = buffer.as<double>();
  pair_sums(op, a.f32(), b.f32(), l, sums);
  const double eps2 = eps * eps;
  float* py = y.f32();
  for_each(op, outputs, [=] __device__(int64_t i) {
    const double da = clamped_norm(sums[i], eps2), db = clamped_norm(sums[outputs + i], eps2);
    py[i] = static_cast<float>(sums[2 * outputs + i] / (da * db));
  });
}

void cosine_similarity_backward(const Tensor& dy, const Tensor& a, const Tensor& b, int64_t axis, double eps,
                                const Tensor& da, const Tensor& db) {
  const char* op = "cosineSimilarity backward";
  const rows::RunLayout l = rows::run_layout(a.shape, {axis});
  const int64_t outputs = l.outputs();
  if (a.numel() == 0) return;
  DeviceBuffer buffer(7 * static_cast<size_t>(outputs) * sizeof(double));
  double* sums = buffer.as<double>();
  double* k = sums + 3 * outputs;  // four per output: da = k0 b + k1 a, db = k2 a + k3 b
  const float *pa = a.f32(), *pb = b.f32(), *pdy = dy.f32();
  pair_sums(op, pa, pb, l, sums);
  const double eps2 = eps * eps;
  for_each(op, outputs, [=] __device__(int64_t i) {
    const double na = clamped_norm(sums[i], eps2), nb = clamped_norm(sums[outputs + i], eps2);
    const double y = sums[2 * outputs + i] / (na * nb), g = pdy[i];
    k[4 * i] = g / (na * nb);
    k[4 * i + 1] = -g * y / (na * na);
    k[4 * i + 2] = k[4 * i];
    k[4 * i + 3] = -g * y / (nb * nb);
  });
  float *pda = da.f32(), *pdb = db.f32();
  const int64_t len = l.len, inner = l.inner;
  for_each(op, a.numel(), [=] __device__(int64_t e) {
    const double* kr = k + 4 * rows::output_of(e, len, inner);
    const double u = pa[e], v = pb[e];
    pda[e] = static_cast<float>(kr[0] * v + kr[1] * u);
    pdb[e] = static_cast<float>(kr[2] * u + kr[3] * v);
  });
}

}  // namespace cuda
}  // namespace convnet
