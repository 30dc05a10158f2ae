#include "storage.h"

#include <cstdlib>
#include <limits>
#include <sstream>

#include "error.h"

namespace convnet {

std::atomic<int64_t> Storage::live_count_{0};
std::atomic<int64_t> Storage::live_bytes_{0};

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
  }
  return "unknown";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

Storage::Storage(size_t bytes) : data_(nullptr), bytes_(bytes) {
  // Round up to the alignment (aligned_alloc requires it) and never ask for 0 bytes.
  const size_t rounded = (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0);
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) fail("E_OOM", "out of memory: could not allocate ", bytes, " bytes of CPU memory (",
                   live_bytes_.load(), " bytes held by ", live_count_.load(), " tensors)");
  live_count_ += 1;
  live_bytes_ += static_cast<int64_t>(bytes_);
}

Storage::~Storage() {
  std::free(data_);
  live_count_ -= 1;
  live_bytes_ -= static_cast<int64_t>(bytes_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  int64_t n = 1;
  for (int64_t d : shape) {
    CONVNET_CHECK(d >= 0, "E_SHAPE", "shape ", shape_str(shape), " has a negative size");
    CONVNET_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / 8 / d, "E_OOM",
                  "shape ", shape_str(shape), " is too large");
    n *= d;
  }
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.storage = std::make_shared<Storage>(static_cast<size_t>(n) * dtype_size(dtype));
  return t;
}

}  // namespace convnet
