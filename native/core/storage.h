// Tensor storage. A Tensor is a cheap value: a dtype, a shape and a shared_ptr to 64-byte
// aligned memory. Work queued on a device copies the Tensors it reads and writes, so their
// memory stays alive until the work has run even if JavaScript disposed them meanwhile.
// Tensors are always contiguous (row-major, NCHW for images); reshape shares the memory.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shape.h"

namespace convnet {

enum class DType : int32_t { Float32 = 0, Int32 = 1 };

// Where a tensor's memory lives. CUDA memory comes from the caching allocator of
// native/cuda/allocator.h and is only touched by work on the CUDA stream (never by the CPU).
enum class Device : int32_t { CPU = 0, CUDA = 1 };
constexpr int kDeviceCount = 2;
const char* device_name(Device device);  // "cpu", "cuda"

inline size_t dtype_size(DType) { return 4; }
const char* dtype_name(DType dtype);


int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3, 4]"
// Row-major strides, in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);
// Strides of `in` (right-aligned against `out`, as broadcasting aligns shapes) with 0 where
// `in` is broadcast.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
// The offsets in N broadcast inputs (strides from broadcast_strides) of row r of `shape`, a row
// being the last dimension: the walk of the CPU's broadcasting kernels (elementwise, compare, where).
template <size_t N>
void broadcast_row_offsets(int64_t r, const Shape& shape, const std::vector<int64_t> (&strides)[N], int64_t (&offsets)[N]) {
  for (size_t t = 0; t < N; ++t) offsets[t] = 0;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2, rest = r; d >= 0; --d) {
    const int64_t i = rest % shape[d];
    rest /= shape[d];
    for (size_t t = 0; t < N; ++t) offsets[t] += i * strides[t][d];
  }
}

// Drops `shape`'s axes of size 1 and merges neighbouring axes that every one of the N operands
// steps through as one (strides from broadcast_strides, 0 where broadcast), in place: the same
// walk in fewer, longer rows ([8, 64, 56, 56] times [8, 64, 1, 1] runs as [512, 3136] rows times
// one value each, not 28672 rows of 56). A shape left without axes becomes [1].
template <size_t N>
void merge_broadcast_axes(Shape& shape, std::vector<int64_t> (&strides)[N]) {
  Shape merged;
  std::vector<int64_t> st[N];
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !merged.empty();
    for (size_t t = 0; t < N && merge; ++t) merge = st[t].back() == strides[t][d] * shape[d];
    if (merge) {
      merged.back() *= shape[d];
      for (size_t t = 0; t < N; ++t) st[t].back() = strides[t][d];
    } else {
      merged.push_back(shape[d]);
      for (size_t t = 0; t < N; ++t) st[t].push_back(strides[t][d]);
    }
  }
  if (merged.empty()) {
    merged.push_back(1);
    for (size_t t = 0; t < N; ++t) st[t].push_back(0);
  }
  shape = std::move(merged);
  for (size_t t = 0; t < N; ++t) strides[t] = std::move(st[t]);
}

namespace cuda {
// The CUDA caching allocator (native/cuda/allocator.cc): a block of at least `bytes`, its real
// size in *block_bytes; throws E_OOM. In a build without CUDA it throws E_DEVICE.
void* device_allocate(size_t bytes, size_t* block_bytes);
void device_free(void* block, size_t block_bytes);
}  // namespace cuda

// CPU memory as tensors get theirs, for buffers kept outside any tensor: a block from the cache
// of freed ones (Note [host block cache], storage.cc) or from the system (Note [huge pages]).
// Null when the system refuses. Give it back with free_host_block(block, the same bytes), to the
// cache.
void* allocate_host_block(size_t bytes);
void free_host_block(void* block, size_t bytes) noexcept;

class Storage {
 public:
  explicit Storage(size_t bytes, Device device = Device::CPU);  // throws E_OOM (E_DEVICE: no CUDA build)
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  // JavaScript handles of this storage (views share it): true for the first added and the last
  // released, so that its memory is reported to V8 once (Note [external memory], napi_util.cc).
  bool add_js_handle() { return js_handles_.fetch_add(1) == 0; }
  bool release_js_handle() { return js_handles_.fetch_sub(1) == 1; }

  // Note [failed outputs]: the memory an op's queued work failed to compute. A storage records
  // how many tasks the CPU queue had taken in when it was allocated, and how many when it was
  // first handed to JavaScript as an op's output: the tasks in between are the op's own (ops are
  // called one at a time from the JavaScript thread). If one of them failed, the storage holds
  // no value: reading it, from JavaScript or from a later op's kernel (Tensor::f32 and i32),
  // throws that failure, so a failed op's outputs and everything computed from them fail
  // every read instead of handing out garbage once the error was reported. A storage never
  // handed out (created from JavaScript data, or a kernel's temporary) has an empty range.
  void mark_handed_out();
  // The failure of the tasks that were to compute this memory, or null.
  std::exception_ptr failure() const;
  void throw_if_failed() const;

  // How many in-place writes were queued on this memory (optimizer steps, copy_, batch norm's
  // running statistics): autograd checks that what it saved is unchanged when backward runs.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

  // Counters over the whole process, per device, for memory().
  static int64_t live_count(Device device = Device::CPU) { return live_count_[static_cast<int>(device)].load(); }
  static int64_t live_bytes(Device device = Device::CPU) { return live_bytes_[static_cast<int>(device)].load(); }
  // Freed blocks kept for reuse (see Note [host block cache] in storage.cc), and their release.
  static int64_t cached_bytes();
  static void empty_cache();

 private:
  void* data_;
  size_t bytes_;
  size_t block_bytes_;  // what was allocated: bytes rounded up to a cache size class
  Device device_;
  std::atomic<int32_t> js_handles_{0};
  std::atomic<uint64_t> version_{0};
  uint64_t created_after_;                  // tasks the CPU queue had taken in at allocation
  // ... when first handed to JavaScript; kNotHandedOut until then (0 is a real count: memory made
  // before the first task, e.g. tensor() at a program's start)
  static constexpr uint64_t kNotHandedOut = ~uint64_t{0};
  std::atomic<uint64_t> handed_out_at_{kNotHandedOut};
  mutable std::atomic<int> verdict_{0};     // failure(): 0 unknown, 1 computed, 2 being set, 3 failed
  mutable std::exception_ptr failure_;      // set before verdict_ becomes 3
  static std::atomic<int64_t> live_count_[kDeviceCount];
  static std::atomic<int64_t> live_bytes_[kDeviceCount];
};

struct Tensor {
  DType dtype = DType::Float32;
  Shape shape;

  // The memory's owner (null: no tensor, an absent optional input).
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  void set_storage(std::shared_ptr<Storage> storage) {
    storage_ = std::move(storage);
    data_ = storage_ ? storage_->data() : nullptr;
  }

  // Allocates fresh (uninitialised) storage for the shape, on `device`.
  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::CPU);

  int64_t numel() const { return shape_numel(shape); }
  // The device of the memory (CPU for a tensor without storage: an absent optional input).
  Device device() const { return storage_ ? storage_->device() : Device::CPU; }
  bool is_cuda() const { return device() == Device::CUDA; }
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  // The memory (throws the failure of the op that was to compute it: Note [failed outputs]).
  float* f32() const { return static_cast<float*>(checked_data()); }
  int32_t* i32() const { return static_cast<int32_t*>(checked_data()); }

 private:
  void* checked_data() const {
    if (queued_failures.load(std::memory_order_relaxed)) storage_->throw_if_failed();
    return data_;
  }

  std::shared_ptr<Storage> storage_;
  // storage_->data(), kept here: Note [tensors carry their data pointer].
  void* data_ = nullptr;

 public:
  // Set once any queued task has failed; until then no storage needs looking at.
  static std::atomic<bool> queued_failures;
};

// Note [tensors carry their data pointer]: a kernel on the worker reads the tensors of its
// closure, which the JavaScript thread wrote just before. Reading the memory's address from the
// Storage too took one more cache line the other core had written (make_shared puts the
// reference counts, which the JavaScript thread bumps, beside it), one more miss in a chain
// (closure, then storage, then data) that a small op pays on every call. A storage's address
// never changes, so the Tensor keeps a copy; the worker then reads only the closure's lines.


}  // namespace convnet
