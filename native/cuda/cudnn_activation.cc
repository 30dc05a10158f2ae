#include "cuda/cudnn_activation.h"

#include <algorithm>

#include "cuda/context.h"
#include "cuda/cudnn_util.h"

namespace convnet {
namespace cuda {
namespace {

// An activation descriptor, made per call (cudnn_util.h: creating one is cheap).
class ActivationDesc {
 public:
  ActivationDesc(const char* op, decl::cudnnActivationMode_t mode, double coef) {
    CONVNET_CUDNN_CHECK(dnn().cudnnCreateActivationDescriptor(&desc_));
    CONVNET_CUDNN_CHECK(dnn().cudnnSetActivationDescriptor(desc_, mode, decl::CUDNN_PROPAGATE_NAN, coef));
  }
  ~ActivationDesc() {
    if (desc_) dnn().cudnnDestroyActivationDescriptor(desc_);
  }
  ActivationDesc(const ActivationDesc&) = delete;
  ActivationDesc& operator=(const ActivationDesc&) = delete;
  decl::cudnnActivationDescriptor_t get() const { return desc_; }

 private:
  decl::cudnnActivationDescriptor_t desc_ = nullptr;
};

constexpr int64_t kPiece = int64_t{1} << 30;  // elements per cuDNN call (int sizes)

}  // namespace

void cudnn_activation_forward(const char* op, decl::cudnnActivationMode_t mode, double coef, const Tensor& x,
                              const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;  // cuDNN refuses empty tensors
  set_last_op(op);
  const ActivationDesc act(op, mode, coef);
  for (int64_t begin = 0; begin < n; begin += kPiece) {
    const int64_t len = std::min(kPiece, n - begin);
    const TensorDesc desc(op, 1, len, 1, 1);
    CONVNET_CUDNN_CHECK(dnn().cudnnActivationForward(cudnn_handle(), act.get(), &kOne, desc, x.f32() + begin, &kZero,
                                                     desc, y.f32() + begin));
  }
}

}  // namespace cuda
}  // namespace convnet
