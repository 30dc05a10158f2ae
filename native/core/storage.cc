#include "storage.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <vector>

#include "error.h"
#include "queue.h"

namespace convnet {
namespace {

// Note [host block cache]: large blocks are kept for reuse instead of being given back to
// the system. Fresh pages fault on first touch, and in a VM that costs about a microsecond a
// page: a 512x512 matmul's 1 MiB output spent more time faulting its pages in than the GEMM
// spent computing them. Freed blocks of 4 KiB and more go to a cache keyed by their rounded
// size and are handed out again; the cache holds at most kMaxCachedBytes. (From 64 KiB only,
// a pipeline of 64x64 matmuls, 16 KiB outputs created on the JavaScript thread and freed on the
// worker, ran 11 us per product: glibc trimmed and re-faulted its heap and the two threads
// contended for its arena lock. From 4 KiB: 3.4 us. From 4 KiB, the same held below it: a
// [64, 10] add read back at once, 2.5 KiB blocks through aligned_alloc, ran 13-15 us with the
// process on one core, a fifth of it page faults in _int_malloc, against 1.8 us with every
// size cached; 3.5 us against 5-15 on two cores, alternating processes. So every size is.)
constexpr size_t kCacheFrom = 64;
constexpr size_t kMaxCachedBytes = size_t{1} << 30;

class HostBlockCache {
 public:
  // Sizes round up to 64 bytes, then to a quarter of their power of two, so that nearby sizes
  // share blocks while wasting at most 25%.
  static size_t rounded(size_t bytes) {
    size_t size = (bytes + 63) / 64 * 64;
    if (size == 0) size = 64;
    if (size < kCacheFrom) return size;
    size_t power = kCacheFrom;
    while (power * 2 <= size) power *= 2;
    const size_t step = power / 4;
    return (size + step - 1) / step * step;
  }

  void* allocate(size_t size) {
    if (size >= kCacheFrom) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        const auto cached = it->second.back();  // the most recently freed block of this size
        it->second.pop_back();
        void* block = cached->block;
        order_.erase(cached);
        cached_bytes_ -= size;
        return block;
      }
    }
    void* block = fresh(size);
    if (!block && size >= kCacheFrom) {  // give the cache back to the system and retry once
      release_all();
      block = fresh(size);
    }
    return block;
  }

  // Note [huge pages]: blocks of 2 MiB and more start on a 2 MiB boundary and ask the kernel
  // for transparent huge pages (where it allows them on request, as Debian's default
  // "madvise" mode does): a 9 MiB activation then takes 5 TLB entries instead of 2300. Measured
  // on 2 threads (alternating processes, a throwaway script): a 51 MB add 2.50 -> 2.25 ms,
  // batch norm's backward on [8, 96, 55, 55] 0.58 -> 0.53 ms; ops that stay in the cache alike.
  // Where the kernel refuses, the block simply has small pages.
  //
  // Note [large blocks are mapped]: blocks of kMapFrom and more are mapped from the kernel
  // directly and unmapped when they leave the cache, instead of going through malloc. glibc
  // raises its mmap threshold to the size of each mapped block it frees (up to 32 MiB), so
  // after the first few tensors it served them from its heaps, which fragment and never
  // shrink: a CNN's training loop grew ~20 MB a step past the cache's 1 GiB (5.8 GB at the end
  // of examples/retrieval.js; 2.1 GB with MALLOC_MMAP_THRESHOLD_ fixed). The cache already
  // keeps the blocks a loop reuses, so mapping costs nothing in a steady state.
  //
  // Note [fresh blocks are populated]: a mapped block under 2 MiB (small pages) has its pages
  // faulted in by the kernel in one call (MAP_POPULATE) rather than one fault at a time as the
  // kernels first write it, which in a VM costs several microseconds a page. From 256 KiB (it was
  // 1 MiB), so that most of a batch-1 network's activations are mapped and populated. Not the
  // huge-page blocks: a fault there brings in 2 MiB at once, and populating them here, on the
  // JavaScript thread that allocates, stalled it (11 queued 1536x1536 products took 234 ms to
  // enqueue; test/queue.test.ts) and made the cold start below slower, not faster. A fresh
  // process's ResNet-50 at batch 1 (`node dist/bench/cold-start.js --processes 2`, two runs of
  // each build alternated): first forward 394-472 ms mapped from 256 KiB unpopulated, 272-317
  // populated; second 199-285 and 108-207.
  static constexpr size_t kMapFrom = size_t{256} << 10;
  static constexpr size_t kHuge = size_t{2} << 20;

  static void* fresh(size_t size) {
    if (size < kMapFrom) return std::aligned_alloc(64, size);
    const size_t length = mapped_length(size);
    if (length < kHuge) {
      void* block = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      return block == MAP_FAILED ? nullptr : block;
    }
    // Over-map by 2 MiB and unmap the unaligned head and the tail: the rest starts on a 2 MiB boundary.
    void* raw = mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + length + kHuge;
    if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
    void* block = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
    madvise(block, length, MADV_HUGEPAGE);  // advice only: a failure changes nothing
#endif
    return block;
  }

  static size_t mapped_length(size_t size) {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (size + page - 1) / page * page;
  }

  // Gives a block back to the system (malloc's or the kernel's, as fresh() took it).
  static void release(void* block, size_t size) {
    if (size < kMapFrom) std::free(block);
    else munmap(block, mapped_length(size));
  }

  // Note [freeing never throws]: this runs in ~Storage (noexcept), and keeping a block needs a
  // map node or a longer vector. Where that allocation fails (memory exhausted, or an address
  // space limit), a std::bad_alloc here was std::terminate; the block goes back to the system
  // instead.
  //
  // Note [cache eviction]: when a freed block would take the cache past kMaxCachedBytes, the
  // blocks freed longest ago go back to the system to make room, rather than the new one. A
  // cache that kept its first gigabyte refused every later workload's blocks: after the
  // benchmark's LeNet-5 and AlexNet cases had filled it, ResNet-50 at batch 1 mapped and
  // page-faulted its ~50 MB of activations on every forward (`node dist/bench/run.js models`:
  // 66-88 ms against 46-49 run alone); a server that trained one model and then serves another
  // would do the same.
  void deallocate(void* block, size_t size) noexcept {
    if (size >= kCacheFrom && size <= kMaxCachedBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      while (cached_bytes_ + size > kMaxCachedBytes && !order_.empty()) evict_oldest();
      try {
        auto& same = free_[size];
        // May throw: before the list holds the block. Grown by doubling: reserve(size() + 1)
        // reallocated the vector on every block, quadratic when the garbage collector freed
        // thousands of tensors of one size at once (38% of a loop of small ops).
        if (same.size() == same.capacity()) same.reserve(std::max<size_t>(16, same.capacity() * 2));
        order_.push_back(Cached{size, block});
        same.push_back(std::prev(order_.end()));
        cached_bytes_ += size;
        return;
      } catch (const std::bad_alloc&) {
        // fall through: released below
      }
    }
    release(block, size);
  }

  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Cached& c : order_) release(c.block, c.size);
    order_.clear();
    free_.clear();
    cached_bytes_ = 0;
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

 private:
  struct Cached {
    size_t size;
    void* block;
  };

  // Called with the mutex held: the oldest block (the front of order_, and so the first of its
  // size's list, which is in the order they were freed) goes back to the system.
  void evict_oldest() {
    const Cached oldest = order_.front();
    auto& same = free_[oldest.size];
    same.erase(same.begin());
    order_.pop_front();
    cached_bytes_ -= oldest.size;
    release(oldest.block, oldest.size);
  }

  std::mutex mutex_;
  std::list<Cached> order_;                                        // every cached block, oldest first
  std::map<size_t, std::vector<std::list<Cached>::iterator>> free_;  // by size, oldest first
  size_t cached_bytes_ = 0;
};

HostBlockCache& host_cache() {
  static HostBlockCache* cache = new HostBlockCache();  // never destroyed (used until exit)
  return *cache;
}

}  // namespace

void* allocate_host_block(size_t bytes) { return host_cache().allocate(HostBlockCache::rounded(bytes)); }
void free_host_block(void* block, size_t bytes) noexcept { host_cache().deallocate(block, HostBlockCache::rounded(bytes)); }

void Storage::empty_cache() { host_cache().release_all(); }
int64_t Storage::cached_bytes() { return static_cast<int64_t>(host_cache().cached_bytes()); }

std::atomic<int64_t> Storage::live_count_[kDeviceCount] = {};
std::atomic<int64_t> Storage::live_bytes_[kDeviceCount] = {};

const char* device_name(Device device) { return device == Device::CUDA ? "cuda" : "cpu"; }

#ifndef CONVNET_WITH_CUDA
// A build without the CUDA backend (node-gyp, or CMake without nvcc) never makes CUDA tensors.
namespace cuda {
void* device_allocate(size_t, size_t*) { fail("E_DEVICE", "this build of the addon has no CUDA backend"); }
void device_free(void*, size_t) {}
}  // namespace cuda
#endif

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

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const std::vector<int64_t> own = contiguous_strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) strides[lead + i] = in[i] == 1 ? 0 : own[i];
  return strides;
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

std::atomic<bool> Tensor::queued_failures{false};

Storage::Storage(size_t bytes, Device device)
    : data_(nullptr), bytes_(bytes), block_bytes_(0), device_(device), created_after_(Queue::cpu().enqueued_count()) {
  const int d = static_cast<int>(device);
  if (device == Device::CUDA) {
    data_ = cuda::device_allocate(bytes, &block_bytes_);  // throws E_OOM itself
  } else {
    // Linux promises any size (overcommit) and then kills the process when the pages are
    // touched: a request beyond the machine's memory is refused here instead, and so is one
    // that would take the tensors together past it (three 8 GB tensors on a 24 GB machine were
    // each allowed, and the OOM killer took the process when they were filled).
    static const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
    if (physical > 0 && static_cast<double>(bytes) > physical)
      fail("E_OOM", "out of memory: ", bytes, " bytes of CPU memory asked, more than the machine has (",
           static_cast<int64_t>(physical), " bytes)");
    const double held = static_cast<double>(live_bytes_[d].load());
    if (physical > 0 && held + static_cast<double>(bytes) > physical)
      fail("E_OOM", "out of memory: ", bytes, " bytes of CPU memory asked while tensors hold ", static_cast<int64_t>(held),
           " bytes, more than the machine has together (", static_cast<int64_t>(physical), " bytes)");
    block_bytes_ = HostBlockCache::rounded(bytes);
    data_ = host_cache().allocate(block_bytes_);
    if (!data_) fail("E_OOM", "out of memory: could not allocate ", bytes, " bytes of CPU memory (",
                     live_bytes_[d].load(), " bytes held by ", live_count_[d].load(), " tensors)");
  }
  live_count_[d] += 1;
  live_bytes_[d] += static_cast<int64_t>(bytes_);
}

Storage::~Storage() {
  const int d = static_cast<int>(device_);
  // CUDA: the block goes back to the allocator's cache at once. Safe: every use of it was
  // enqueued on the one CUDA stream before this point, and so is every later use of the block.
  if (device_ == Device::CUDA) cuda::device_free(data_, block_bytes_);
  else host_cache().deallocate(data_, block_bytes_);
  live_count_[d] -= 1;
  live_bytes_[d] -= static_cast<int64_t>(bytes_);
}

void Storage::mark_handed_out() {
  uint64_t unset = kNotHandedOut;
  handed_out_at_.compare_exchange_strong(unset, Queue::cpu().enqueued_count());
}

std::exception_ptr Storage::failure() const {
  const int verdict = verdict_.load(std::memory_order_acquire);
  if (verdict == 1) return nullptr;
  if (verdict == 3) return failure_;
  const uint64_t upto = handed_out_at_.load(std::memory_order_acquire);
  if (upto == kNotHandedOut || upto <= created_after_) return nullptr;  // not (yet) an op's output
  // No task has failed since this memory was allocated (the usual case after an error, and
  // every kernel's own output while it runs): no lock, no verdict to settle yet.
  if (Queue::cpu().last_failure() <= created_after_) return nullptr;
  bool settled = false;
  std::exception_ptr error = Queue::cpu().failure_in(created_after_, upto, &settled);
  if (!settled) return error;  // the op's tasks have not all run: no verdict yet
  int unknown = 0;
  if (!error) verdict_.compare_exchange_strong(unknown, 1, std::memory_order_acq_rel);
  else if (verdict_.compare_exchange_strong(unknown, 2, std::memory_order_acq_rel)) {
    failure_ = error;
    verdict_.store(3, std::memory_order_release);
  }
  return error;
}

void Storage::throw_if_failed() const {
  std::exception_ptr error = failure();
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    // Name the first failure only, however far down the chain of ops this input is.
    static const std::string marker = "an input was not computed, its op failed: ";
    const std::string message = e.what();
    const size_t at = message.find(marker);
    throw Error(e.code(), marker + (at == std::string::npos ? message : message.substr(at + marker.size())));
  }
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
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
  t.set_storage(std::make_shared<Storage>(static_cast<size_t>(n) * dtype_size(dtype), device));
  return t;
}

}  // namespace convnet
