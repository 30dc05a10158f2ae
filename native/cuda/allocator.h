// The caching allocator of GPU memory (design decision 3). cudaMalloc and cudaFree are slow
// and cudaFree waits for the whole device, so freed blocks are kept in bins by size and handed
// out again. Reuse needs no event: every op runs on the one stream (context.h), so a block freed
// after its last op was enqueued can only be written by ops enqueued later, which run later.
//
// Sizes round up to 512 bytes below 1 MiB and to an eighth of their power of two above (at most
// 12.5% waste). When cudaMalloc fails, the cache is given back to the driver and the call
// retried once; then E_OOM says how much was asked, how much tensors hold and what the device
// has free. The allocation functions themselves are declared in core/storage.h.
#pragma once
#include <cstddef>
#include <cstdint>

namespace convnet {
namespace cuda {

struct AllocatorStats {
  int64_t allocated_bytes = 0;  // handed out and not yet freed (rounded sizes)
  int64_t cached_bytes = 0;     // freed, kept for reuse
  int64_t reserved_bytes = 0;   // held from the driver: allocated + cached
  int64_t peak_bytes = 0;       // the most ever allocated at once
  int64_t malloc_calls = 0;     // cudaMalloc calls so far (a well-working cache stops making them)
};
AllocatorStats allocator_stats();

// Gives every cached block back to the driver (waits for the device first).
void empty_cache();

// The rounded size a request of `bytes` gets (exposed for the tests' arithmetic).
size_t allocation_size(size_t bytes);

}  // namespace cuda
}  // namespace convnet
