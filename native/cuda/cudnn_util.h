// RAII owners of cuDNN descriptors shared by the ops that call cuDNN (each op file keeps the
// descriptors only it uses). A descriptor is made per call: creating one costs well under a
// microsecond, and nothing then ties an op to state kept between calls.
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"
#include "cuda/context.h"

namespace convnet {
namespace cuda {

// A float32 NCHW tensor descriptor. A shape of rank < 4 is padded with trailing 1s (cuDNN wants
// at least 4 dimensions); rank > 4 uses the N-d form. Strides are the contiguous ones.
class TensorDesc {
 public:
  TensorDesc(const char* op, const Shape& shape);
  TensorDesc(const char* op, int64_t n, int64_t c, int64_t h, int64_t w);
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  decl::cudnnTensorDescriptor_t get() const { return desc_; }
  operator decl::cudnnTensorDescriptor_t() const { return desc_; }

 private:
  void set(const char* op, const std::vector<int>& dims);
  decl::cudnnTensorDescriptor_t desc_ = nullptr;
};

// The scaling factors cuDNN takes by pointer: y = one * op(x) + zero * y.
extern const float kOne;
extern const float kZero;

// cuDNN takes int dimensions: checks that every size fits (E_SHAPE naming op otherwise).
int checked_int(int64_t v, const char* op);

}  // namespace cuda
}  // namespace convnet
