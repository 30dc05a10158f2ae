// Local response normalisation on the GPU (cpu/lrn.cc gives the semantics, PyTorch's):
//   d = k + alpha / size * sum_{c' = c - size/2}^{c + (size-1)/2} x[c']^2 (zero padding), y = x / d^beta.
//
// cuDNN (cudnnLRNCrossChannelForward / Backward) computes the same formula (alpha divided by the
// window width, zero outside [0, C)) over the window [c - floor((n-1)/2), c + n - 1 - floor((n-1)/2)]
// (cudnn_ops.h). For odd n that is PyTorch's window; for even n it is shifted by one channel
// (cuDNN looks one further ahead, PyTorch one further behind), so even sizes use our own
// kernels, as do the parameters outside cuDNN's limits (1 <= n <= 16, k >= 1e-5, beta >= 0.01)
// and tensors too large for its int sizes. x [N, C, ...] is viewed as [N, C, S, 1].
// cuDNN's backward wants y: it is recomputed into scratch (backward gets x, as on the CPU).
//
// Our kernels mirror the CPU's: float64 window sums and powers (exact square roots for beta 0.75
// and 0.5), one thread per element; the backward stores d^beta and t = dy x / d^(beta+1) first,
// then dx = dy / d^beta - 2 alpha beta / size * x * sum of t over the channels whose window holds c.
#include <limits>

#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_util.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Lrn {
  int64_t n, channels, positions, size;
  double alpha, beta, k;
};

Lrn lrn_of(const Tensor& x, int64_t size, double alpha, double beta, double k) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions, size, alpha, beta, k};
}

bool use_cudnn(const Lrn& l, const Tensor& x) {
  return l.size % 2 == 1 && l.size <= 16 && l.k >= 1e-5 && l.beta >= 0.01 &&
         x.numel() <= std::numeric_limits<int>::max();
}

class LrnDesc {
 public:
  LrnDesc(const char* op, const Lrn& l) {
    CONVNET_CUDNN_CHECK(dnn().cudnnCreateLRNDescriptor(&desc_));
    CONVNET_CUDNN_CHECK(dnn().cudnnSetLRNDescriptor(desc_, static_cast<unsigned>(l.size), l.alpha, l.beta, l.k));
  }
  ~LrnDesc() {
    if (desc_) dnn().cudnnDestroyLRNDescriptor(desc_);
  }
  LrnDesc(const LrnDesc&) = delete;
  LrnDesc& operator=(const LrnDesc&) = delete;
  decl::cudnnLRNDescriptor_t get() const { return desc_; }

 private:
  decl::cudnnLRNDescriptor_t desc_ = nullptr;
};

// d^beta as the CPU computes it (cpu/lrn.cc: pow_beta).
__device__ __forceinline__ double pow_beta(double d, double beta) {
  if (beta == 0.75) {
    const double r = sqrt(d);
    return r * sqrt(r);
  }
  if (beta == 0.5) return sqrt(d);
  if (beta == 1.0) return d;
  return pow(d, beta);
}

// d for element i = (n, c, s): k + alpha / size * sum of x^2 over the channels [c - before, c + after].
__device__ __forceinline__ double denominator(const float* x, int64_t i, int64_t channels, int64_t positions,
                                              int64_t size, double alpha_over_size, double k) {
  const int64_t s = i % positions, c = (i / positions) % channels, n = i / (positions * channels);
  const int64_t lo = max(int64_t{0}, c - size / 2), hi = min(channels - 1, c + (size - 1) / 2);
  const float* x0 = x + n * channels * positions + s;
  double sum = 0.0;
  for (int64_t cc = lo; cc <= hi; ++cc) {
    const double v = x0[cc * positions];
    sum += v * v;
  }
  return k + alpha_over_size * sum;
}

void own_forward(const Lrn& l, const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t channels = l.channels, positions = l.positions, size = l.size;
  const double aos = l.alpha / static_cast<double>(l.size), beta = l.beta, k = l.k;
  for_each("localResponseNorm", x.numel(), [=] __device__(int64_t i) {
    const double d = pow_beta(denominator(px, i, channels, positions, size, aos, k), beta);
    py[i] = static_cast<float>(px[i] / d);
  });
}

void own_backward(const Lrn& l, const Tensor& dy, const Tensor& x, const Tensor& dx) {
  const char* op = "localResponseNorm backward";
  const int64_t numel = x.numel();
  DeviceBuffer scratch(static_cast<size_t>(2 * numel) * sizeof(double));
  double *d_beta = scratch.as<double>(), *t = d_beta + numel;
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  const int64_t channels = l.channels, positions = l.positions, size = l.size;
  const double aos = l.alpha / static_cast<double>(l.size), beta = l.beta, k = l.k;
  const double coef = 2.0 * aos * beta;
  for_each(op, numel, [=] __device__(int64_t i) {
    const double d = denominator(px, i, channels, positions, size, aos, k), b = pow_beta(d, beta);
    d_beta[i] = b;
    t[i] = static_cast<double>(pdy[i]) * px[i] / (b * d);
  });
  for_each(op, numel, [=] __device__(int64_t i) {
    const int64_t s = i % positions, c = (i / positions) % channels, n = i / (positions * channels);
    const int64_t lo = max(int64_t{0}, c - (size - 1) / 2), hi = min(channels - 1, c + size / 2);
    const double* t0 = t + n * channels * positions + s;
    double sum = 0.0;
    for (int64_t cc = lo; cc <= hi; ++cc) sum += t0[cc * positions];
    pdx[i] = static_cast<float>(pdy[i] / d_beta[i] - coef * px[i] * sum);
  });
}

}  // namespace

void lrn_forward(const Tensor& x, int64_t size, double alpha, double beta, double k, const Tensor& y) {
  const char* op = "localResponseNorm";
  const Lrn l = lrn_of(x, size, alpha, beta, k);
  if (x.numel() == 0) return;
  if (!use_cudnn(l, x)) return own_forward(l, x, y);
  set_last_op(op);
  const LrnDesc norm(op, l);
  const TensorDesc desc(op, l.n, l.channels, l.positions, 1);
  CONVNET_CUDNN_CHECK(dnn().cudnnLRNCrossChannelForward(cudnn_handle(), norm.get(), decl::CUDNN_LRN_CROSS_CHANNEL_DIM1,
                                                        &kOne, desc, x.f32(), &kZero, desc, y.f32()));
}

void lrn_backward(const Tensor& dy, const Tensor& x, int64_t size, double alpha, double beta, double k,
                  const Tensor& dx) {
  const char* op = "localResponseNorm backward";
  const Lrn l = lrn_of(x, size, alpha, beta, k);
  if (x.numel() == 0) return;
  if (!use_cudnn(l, x)) return own_backward(l, dy, x, dx);
  set_last_op(op);
  const LrnDesc norm(op, l);
  const TensorDesc desc(op, l.n, l.channels, l.positions, 1);
  DeviceBuffer y(static_cast<size_t>(x.numel()) * sizeof(float));
  CONVNET_CUDNN_CHECK(dnn().cudnnLRNCrossChannelForward(cudnn_handle(), norm.get(), decl::CUDNN_LRN_CROSS_CHANNEL_DIM1,
                                                        &kOne, desc, x.f32(), &kZero, desc, y.as<float>()));
  CONVNET_CUDNN_CHECK(dnn().cudnnLRNCrossChannelBackward(cudnn_handle(), norm.get(), decl::CUDNN_LRN_CROSS_CHANNEL_DIM1,
                                                         &kOne, desc, y.as<float>(), desc, dy.f32(), desc, x.f32(),
                                                         &kZero, desc, dx.f32()));
}

}  // namespace cuda
}  // namespace convnet
