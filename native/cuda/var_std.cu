// Variance and standard deviation over any set of axes, and their gradient, on the GPU
// (native/cpu/var_std.cc has the formulas and PyTorch 1.13's semantics).
//
// Forward: one pass of reduce.cuh's deterministic reduction with (count, sum, mean, m2) per
// value, combined by Chan et al.'s pairwise update in float64 (the CPU makes two passes; a
// GPU pass is cheaper than a second read of x). The mean handed to the backward is sum / n,
// as on the CPU, and any infinite or NaN x (a non-finite sum) makes the variance NaN, as the
// CPU's inf - inf does (the pairwise update alone could leave an infinite m2 there). The order
// is fixed by the shape: the same bits on every run; the CPU's differ in float64 rounding only.
// Backward: one thread per element, dx = (float(2 / (n - correction)) * g) * (x - mean), each
// float operation rounded once (no FMA), as the CPU.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Moments {
  double n, sum, mean, m2;
};

struct VarStdReducer {
  using Value = Moments;
  const float* x;
  StridedIndex<1> kept, reduced;
  double divisor;  // max(0, n - correction)
  bool take_sqrt;
  float *y, *mean;

  __device__ const float* base(int64_t o) const { return x + kept.offset(o); }
  __device__ Moments load(const float* b, int64_t r) const {
    const double v = b[reduced.offset(r)];
    return {1.0, v, v, 0.0};
  }
  __device__ Moments identity() const { return {0.0, 0.0, 0.0, 0.0}; }
  __device__ Moments combine(const Moments& a, const Moments& b) const {
    if (a.n == 0.0) return b;
    if (b.n == 0.0) return a;
    const double n = a.n + b.n, delta = b.mean - a.mean;
    return {n, a.sum + b.sum, a.mean + delta * (b.n / n), a.m2 + b.m2 + delta * delta * (a.n * b.n / n)};
  }
  __device__ void store(int64_t o, const Moments& v) const {
    const double var = isfinite(v.sum) ? v.m2 / divisor : NAN;
    y[o] = static_cast<float>(take_sqrt ? sqrt(var) : var);
    mean[o] = static_cast<float>(v.sum / v.n);
  }
};

}  // namespace

void var_std(const Tensor& x, const std::vector<int64_t>& axes, double correction, bool take_sqrt, const Tensor& y,
             const Tensor& mean) {
  const char* op = take_sqrt ? "std" : "var";
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  float *py = y.f32(), *pmean = mean.f32();
  if (count == 0) {  // the mean of nothing, and 0 / 0
    for_each(op, out_n, [=] __device__(int64_t i) { py[i] = pmean[i] = NAN; });
    return;
  }
  const std::vector<bool> is_reduced = reduction::reduced_axes(x.shape, axes);
  StridedIndex<1> kept, reduced;
  reduction::make_walks(x.shape, is_reduced, op, &kept, &reduced);
  const double divisor = std::max(0.0, static_cast<double>(count) - correction);
  const VarStdReducer red{x.f32(), kept, reduced, divisor, take_sqrt, py, pmean};
  reduction::launch_reduce(op, red, out_n, count, reduction::per_block_layout(x.shape, is_reduced, out_n, count));
}

void var_std_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const Tensor& mean,
                      const std::vector<int64_t>& axes, double correction, bool take_sqrt, const Tensor& dx) {
  const char* op = take_sqrt ? "std backward" : "var backward";
  const int64_t numel = x.numel();
  if (numel == 0) return;
  const int64_t count = numel / y.numel();
  // The output of each element of x: x's walk with the output's strides, 0 along reduced axes.
  std::vector<int64_t> out_strides[1] = {std::vector<int64_t>(x.shape.size(), 0)};
  int64_t stride = 1;
  for (size_t d = x.shape.size(); d-- > 0;) {
    if (std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(d))) continue;
    out_strides[0][d] = stride;
    stride *= x.shape[d];
  }
  const StridedIndex<1> output_of = make_strided_index(x.shape, out_strides, op);
  const float k = static_cast<float>(2.0 / (static_cast<double>(count) - correction));
  const float *pdy = dy.f32(), *px = x.f32(), *py = y.f32(), *pmean = mean.f32();
  float* pdx = dx.f32();
  for_each(op, numel, [=] __device__(int64_t e) {
    const int64_t o = output_of.offset(e);
    const float g = take_sqrt ? (py[o] == 0.0f ? 0.0f : fdiv(pdy[o], fmul(py[o], 2.0f))) : pdy[o];
    pdx[e] = fmul(fmul(k, g), fsub(px[e], pmean[o]));
  });
}

}  // namespace cuda
}  // namespace convnet
