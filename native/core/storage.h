// Tensor storage. A Tensor is a cheap value: a dtype, a shape and a shared_ptr to 64-byte
// aligned memory. Work queued on a device copies the Tensors it reads and writes, so their
// memory stays alive until the work has run even if JavaScript disposed them meanwhile.
// Tensors are always contiguous (row-major, NCHW for images); reshape shares the memory.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace convnet {

enum class DType : int32_t { Float32 = 0, Int32 = 1 };

inline size_t dtype_size(DType) { return 4; }
const char* dtype_name(DType dtype);

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3, 4]"
// Row-major strides, in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);

class Storage {
 public:
  explicit Storage(size_t bytes);  // throws E_OOM
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

  // Counters over the whole process, for memory().
  static int64_t live_count() { return live_count_.load(); }
  static int64_t live_bytes() { return live_bytes_.load(); }
  // Freed blocks kept for reuse (see Note [host block cache] in storage.cc), and their release.
  static int64_t cached_bytes();
  static void empty_cache();

 private:
  void* data_;
  size_t bytes_;
  size_t block_bytes_;  // what was allocated: bytes rounded up to a cache size class
  static std::atomic<int64_t> live_count_;
  static std::atomic<int64_t> live_bytes_;
};

struct Tensor {
  DType dtype = DType::Float32;
  Shape shape;
  std::shared_ptr<Storage> storage;

  // Allocates fresh (uninitialised) storage for the shape.
  static Tensor empty(const Shape& shape, DType dtype);

  int64_t numel() const { return shape_numel(shape); }
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  float* f32() const { return static_cast<float*>(storage->data()); }
  int32_t* i32() const { return static_cast<int32_t*>(storage->data()); }
};

}  // namespace convnet
