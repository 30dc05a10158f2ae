// Batch normalisation on the GPU (cpu/batch_norm.cc gives the semantics, PyTorch's), with cuDNN's
// CUDNN_BATCHNORM_SPATIAL functions over x [N, C, ...] viewed as [N, C, S, 1] (so 2-D [N, C] is
// [N, C, 1, 1] and 3-D [N, C, L] is [N, C, L, 1]); the per-channel descriptor comes from
// cudnnDeriveBNTensorDescriptor.
//
// Training forward: cudnnBatchNormalizationForwardTraining with exponentialAverageFactor =
// momentum. Its running mean and variance are updated in place (Note [in-place running stats])
// with the *unbiased* batch variance, var * M / (M - 1), while y uses the biased one: exactly the
// CPU's (and PyTorch's, which calls this same function) convention. Missing running stats are
// passed as null pointers (cuDNN then updates nothing, as PyTorch does). Its saved mean and
// "inverse variance" are the batch mean and 1 / sqrt(var + eps), what the CPU stores.
// Evaluation forward: cudnnBatchNormalizationForwardInference on the running stats; save_mean and
// save_invstd get running_mean and 1 / sqrt(running_var + eps) from our own small kernel.
// Missing weight / bias (affine = false) become temporary ones / zeros.
// Training backward: cudnnBatchNormalizationBackward from the saved mean and invstd. Evaluation
// backward (mean and invstd are constants, which cuDNN has no function for): our own kernels,
// dx = w invstd dy, and dw, db by channel_sum.cuh's deterministic reductions.
// Empty batches (M = 0) never reach cuDNN (it refuses empty tensors): the CPU's results are
// written directly (NaN saves in training; zero dw, db in backward).
#include <cmath>

#include "cuda/channel_sum.cuh"
#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_util.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

constexpr auto kMode = decl::CUDNN_BATCHNORM_SPATIAL;

struct Rows {
  int64_t n, channels, positions;
};

Rows rows_of(const Tensor& x) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions};
}

// The [1, C, 1, 1] descriptor of the per-channel tensors, derived from x's.
class BnDesc {
 public:
  BnDesc(const char* op, const TensorDesc& x) {
    CONVNET_CUDNN_CHECK(dnn().cudnnCreateTensorDescriptor(&desc_));
    CONVNET_CUDNN_CHECK(dnn().cudnnDeriveBNTensorDescriptor(desc_, x.get(), kMode));
  }
  ~BnDesc() {
    if (desc_) dnn().cudnnDestroyTensorDescriptor(desc_);
  }
  BnDesc(const BnDesc&) = delete;
  BnDesc& operator=(const BnDesc&) = delete;
  decl::cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  decl::cudnnTensorDescriptor_t desc_ = nullptr;
};

// p[0, C) = 1, p[C, 2C) = 0 (a free function: a constructor may not hold a device lambda).
void ones_then_zeros(const char* op, float* p, int64_t channels) {
  for_each(op, 2 * channels, [=] __device__(int64_t i) { p[i] = i < channels ? 1.0f : 0.0f; });
}

// The weight and bias cuDNN reads: the given ones, or temporaries of ones and zeros.
struct Affine {
  DeviceBuffer scratch;
  const float* w;
  const float* b;
  Affine(const char* op, const Tensor* weight, const Tensor* bias, int64_t channels) {
    w = weight ? weight->f32() : nullptr;
    b = bias ? bias->f32() : nullptr;
    if (w && b) return;
    scratch = DeviceBuffer(static_cast<size_t>(2 * channels) * sizeof(float));
    float* p = scratch.as<float>();
    ones_then_zeros(op, p, channels);
    if (!w) w = p;
    if (!b) b = p + channels;
  }
};

}  // namespace

void batch_norm_forward(const Tensor& x, const Tensor* running_mean, const Tensor* running_var, const Tensor* w,
                        const Tensor* b, bool training, double momentum, double eps, const Tensor& y,
                        const Tensor& save_mean, const Tensor& save_invstd) {
  const char* op = "batchNorm";
  const Rows r = rows_of(x);
  const int64_t channels = r.channels, m = r.n * r.positions;
  if (channels == 0) return;
  float *pmean = save_mean.f32(), *pinvstd = save_invstd.f32();
  if (training && m == 0) {  // an empty batch: running stats unchanged (as PyTorch and the CPU)
    for_each(op, channels, [=] __device__(int64_t c) { pmean[c] = pinvstd[c] = NAN; });
    return;
  }
  if (!training) {
    const float *rm = running_mean->f32(), *rv = running_var->f32();
    for_each(op, channels, [=] __device__(int64_t c) {
      pmean[c] = rm[c];
      pinvstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(rv[c]) + eps));
    });
    if (m == 0) return;
  }
  const TensorDesc xd(op, r.n, channels, r.positions, 1);
  const BnDesc bn(op, xd);
  const Affine affine(op, w, b, channels);
  set_last_op(op);
  if (training) {
    CONVNET_CUDNN_CHECK(dnn().cudnnBatchNormalizationForwardTraining(
        cudnn_handle(), kMode, &kOne, &kZero, xd, x.f32(), xd, y.f32(), bn.get(), affine.w, affine.b, momentum,
        running_mean ? running_mean->f32() : nullptr, running_var ? running_var->f32() : nullptr, eps, pmean,
        pinvstd));
  } else {
    CONVNET_CUDNN_CHECK(dnn().cudnnBatchNormalizationForwardInference(
        cudnn_handle(), kMode, &kOne, &kZero, xd, x.f32(), xd, y.f32(), bn.get(), affine.w, affine.b,
        running_mean->f32(), running_var->f32(), eps));
  }
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor* w, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const char* op = "batchNorm backward";
  const Rows r = rows_of(x);
  const int64_t channels = r.channels, positions = r.positions, m = r.n * r.positions;
  if (channels == 0) return;
  float *pdw = dw.f32(), *pdb = db.f32();
  if (m == 0) {
    for_each(op, channels, [=] __device__(int64_t c) { pdw[c] = pdb[c] = 0.0f; });
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = save_mean.f32(), *pinvstd = save_invstd.f32();
  if (training) {
    const TensorDesc xd(op, r.n, channels, positions, 1);
    const BnDesc bn(op, xd);
    const Affine affine(op, w, nullptr, channels);
    set_last_op(op);
    // epsilon: only used by cuDNN when the saved mean / invstd are null; ours are given. Any
    // value >= CUDNN_BN_MIN_EPSILON (0) is accepted.
    CONVNET_CUDNN_CHECK(dnn().cudnnBatchNormalizationBackward(cudnn_handle(), kMode, &kOne, &kZero, &kOne, &kZero, xd,
                                                              px, xd, pdy, xd, dx.f32(), bn.get(), affine.w, pdw, pdb,
                                                              1e-5, pmean, pinvstd));
    return;
  }
  // Evaluation: db = sum dy, dw = invstd * sum dy (x - mean), dx = (w invstd) dy.
  channel_sums(
      op, r.n, channels, positions, [=] __device__(int64_t i) { return static_cast<double>(pdy[i]); },
      [=] __device__(int64_t c, double total) { pdb[c] = static_cast<float>(total); });
  channel_sums(
      op, r.n, channels, positions,
      [=] __device__(int64_t i) {
        const double mu = pmean[(i / positions) % channels];
        return static_cast<double>(pdy[i]) * (px[i] - mu);
      },
      [=] __device__(int64_t c, double total) { pdw[c] = static_cast<float>(total * pinvstd[c]); });
  const float* pw = w ? w->f32() : nullptr;
  float* pdx = dx.f32();
  for_each(op, dx.numel(), [=] __device__(int64_t i) {
    const int64_t c = (i / positions) % channels;
    const float a = static_cast<float>(static_cast<double>(pw ? pw[c] : 1.0f) * pinvstd[c]);
    // The CPU's a dy + k (x - mean) + c0 with k = c0 = 0: a NaN or inf x still gives NaN there.
    pdx[i] = a * pdy[i] + 0.0f * (px[i] - pmean[c]) + 0.0f;
  });
}

}  // namespace cuda
}  // namespace convnet
