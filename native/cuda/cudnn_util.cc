#include "cuda/cudnn_util.h"

#include <limits>

namespace convnet {
namespace cuda {

const float kOne = 1.0f;
const float kZero = 0.0f;

int checked_int(int64_t v, const char* op) {
  CONVNET_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), "E_SHAPE", op, ": size ", v,
                " is too large for cuDNN (at most 2^31 - 1)");
  return static_cast<int>(v);
}

TensorDesc::TensorDesc(const char* op, const Shape& shape) {
  std::vector<int> dims;
  for (int64_t d : shape) dims.push_back(checked_int(d, op));
  while (dims.size() < 4) dims.push_back(1);
  set(op, dims);
}

TensorDesc::TensorDesc(const char* op, int64_t n, int64_t c, int64_t h, int64_t w) {
  set(op, {checked_int(n, op), checked_int(c, op), checked_int(h, op), checked_int(w, op)});
}

void TensorDesc::set(const char* op, const std::vector<int>& dims) {
  const decl::CudnnFunctions& f = dnn();
  CONVNET_CUDNN_CHECK(f.cudnnCreateTensorDescriptor(&desc_));
  std::vector<int> strides(dims.size());
  int64_t stride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = checked_int(stride, op);
    stride *= dims[i] > 0 ? dims[i] : 1;
  }
  CONVNET_CUDNN_CHECK(f.cudnnSetTensorNdDescriptor(desc_, decl::CUDNN_DATA_FLOAT, static_cast<int>(dims.size()),
                                                   dims.data(), strides.data()));
}

TensorDesc::~TensorDesc() {
  if (desc_) dnn().cudnnDestroyTensorDescriptor(desc_);
}

}  // namespace cuda
}  // namespace convnet
