// cuDNN's pointwise activations (cudnnActivationForward), shared by relu.cu, elu.cu, sigmoid.cc
// and tanh.cc. The tensor is viewed as a flat vector (the op is elementwise, so the shape does not
// matter) in pieces of at most 2^30 elements, since cuDNN takes int sizes.
#pragma once
#include "core/storage.h"
#include "cuda/cudnn_decls.h"

namespace convnet {
namespace cuda {

// y = f(x) for cuDNN's activation `mode` (coef: ELU's alpha, else unused), with
// CUDNN_PROPAGATE_NAN so that a NaN input gives a NaN output (as the CPU kernels).
void cudnn_activation_forward(const char* op, decl::cudnnActivationMode_t mode, double coef, const Tensor& x,
                              const Tensor& y);

}  // namespace cuda
}  // namespace convnet
