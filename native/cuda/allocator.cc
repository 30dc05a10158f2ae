#include "cuda/allocator.h"

#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/storage.h"
#include "cuda/context.h"

namespace convnet {
namespace cuda {
namespace {

struct Cache {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free;  // rounded size -> blocks
  AllocatorStats stats;

  // Frees every cached block; called with the mutex held.
  void release_locked() {
    if (free.empty()) return;
    cudaStreamSynchronize(stream());  // cudaFree waits for the device anyway; be explicit
    for (auto& [size, blocks] : free)
      for (void* p : blocks) cudaFree(p);
    free.clear();
    stats.reserved_bytes -= stats.cached_bytes;
    stats.cached_bytes = 0;
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: Storage destructors may run at exit
  return *c;
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

size_t allocation_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < (size_t{1} << 20)) return (bytes + 511) / 512 * 512;
  size_t power = size_t{1} << 20;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

void* device_allocate(size_t bytes, size_t* block_bytes) {
  stream();  // sets the device up (throws E_CUDA without one)
  const size_t size = allocation_size(bytes);
  *block_bytes = size;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.free.find(size);
  if (it != c.free.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    c.stats.cached_bytes -= static_cast<int64_t>(size);
    c.stats.allocated_bytes += static_cast<int64_t>(size);
    if (c.stats.allocated_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.allocated_bytes;
    return p;
  }
  void* p = nullptr;
  cudaError_t status = cudaMalloc(&p, size);
  c.stats.malloc_calls += 1;
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    c.release_locked();
    status = cudaMalloc(&p, size);
    c.stats.malloc_calls += 1;
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    if (status == cudaErrorMemoryAllocation)
      fail("E_OOM", "CUDA out of memory: tried to allocate ", mib(static_cast<int64_t>(size)), " MiB; tensors hold ",
           mib(c.stats.allocated_bytes), " MiB, the device has ", mib(static_cast<int64_t>(free_bytes)), " MiB free of ",
           mib(static_cast<int64_t>(total_bytes)), " MiB (the cache was emptied and the allocation retried)");
    fail("E_CUDA", "cudaMalloc(", size, ") failed: ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
  }
  c.stats.allocated_bytes += static_cast<int64_t>(size);
  c.stats.reserved_bytes += static_cast<int64_t>(size);
  if (c.stats.allocated_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.allocated_bytes;
  return p;
}

void device_free(void* block, size_t block_bytes) {
  if (!block) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.free[block_bytes].push_back(block);
  c.stats.allocated_bytes -= static_cast<int64_t>(block_bytes);
  c.stats.cached_bytes += static_cast<int64_t>(block_bytes);
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.release_locked();
}

}  // namespace cuda
}  // namespace convnet
