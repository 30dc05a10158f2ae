// Moving data between the CPU and the GPU (cuda_ops.h: copy_to_device, copy_to_host,
// copy_device), through pinned staging blocks so that neither direction blocks the calling
// (JavaScript) thread: a copy from pageable memory may wait for the whole stream.
#include <cuda_runtime.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "core/queue.h"
#include "cuda/context.h"
#include "cuda/cuda_ops.h"

namespace convnet {
namespace cuda {
namespace {

// A page-locked host block and the event recorded after the last transfer that used it.
struct PinnedBlock {
  void* data = nullptr;
  size_t bytes = 0;
  cudaEvent_t done = nullptr;
  int* error_copy = nullptr;  // where a download also copies the device error word
};

// Staging blocks, reused once their last transfer has finished. Holds at most kMaxPooled bytes
// of idle blocks; bigger leftovers are given back.
class PinnedPool {
 public:
  static constexpr size_t kMaxPooled = size_t{256} << 20;

  PinnedBlock* acquire(size_t bytes, const char* op) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < free_.size(); ++i) {
        PinnedBlock* b = free_[i];
        if (b->bytes >= bytes && b->bytes <= 2 * bytes + (1 << 20) && cudaEventQuery(b->done) == cudaSuccess) {
          free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
          pooled_bytes_ -= b->bytes;
          return b;
        }
      }
    }
    cudaGetLastError();  // cudaEventQuery's cudaErrorNotReady is not an error
    auto b = std::make_unique<PinnedBlock>();
    size_t size = 64 << 10;
    while (size < bytes) size *= 2;
    b->bytes = size;
    CONVNET_CUDA_CHECK(cudaHostAlloc(&b->data, size + 64, cudaHostAllocDefault));
    b->error_copy = reinterpret_cast<int*>(static_cast<char*>(b->data) + size);
    const cudaError_t status = cudaEventCreateWithFlags(&b->done, cudaEventDisableTiming);
    if (status != cudaSuccess) {
      cudaFreeHost(b->data);
      check_cuda(status, op, "cudaEventCreateWithFlags");
    }
    return b.release();
  }

  void release(PinnedBlock* b) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pooled_bytes_ + b->bytes > kMaxPooled) {
      cudaEventSynchronize(b->done);
      cudaEventDestroy(b->done);
      cudaFreeHost(b->data);
      delete b;
      return;
    }
    free_.push_back(b);
    pooled_bytes_ += b->bytes;
  }

 private:
  std::mutex mutex_;
  std::vector<PinnedBlock*> free_;
  size_t pooled_bytes_ = 0;
};

PinnedPool& pool() {
  static PinnedPool* p = new PinnedPool();  // never destroyed (blocks may be in flight at exit)
  return *p;
}

size_t bytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype); }

}  // namespace

void copy_to_device(const Tensor& src, const Tensor& dst) {
  const char* op = "to('cuda')";
  const size_t bytes = bytes_of(src);
  if (bytes == 0) return;
  cudaStream_t s = stream();
  set_last_op(op);
  PinnedBlock* b = pool().acquire(bytes, op);
  std::memcpy(b->data, src.storage()->data(), bytes);
  cudaError_t status = cudaMemcpyAsync(dst.storage()->data(), b->data, bytes, cudaMemcpyHostToDevice, s);
  if (status == cudaSuccess) status = cudaEventRecord(b->done, s);
  pool().release(b);  // reused only once `done` has completed
  check_cuda(status, op, "cudaMemcpyAsync");
}

void copy_to_host(const Tensor& src, const Tensor& dst) {
  const char* op = "to('cpu')";
  const size_t bytes = bytes_of(src);
  cudaStream_t s = stream();
  PinnedBlock* b = pool().acquire(bytes, op);
  cudaError_t status = bytes ? cudaMemcpyAsync(b->data, src.storage()->data(), bytes, cudaMemcpyDeviceToHost, s) : cudaSuccess;
  // The device error word travels with the data: a kernel that saw a bad index before this
  // read makes the read fail (E_INDEX), as on the CPU.
  if (status == cudaSuccess) status = cudaMemcpyAsync(b->error_copy, device_error_word(), sizeof(int), cudaMemcpyDeviceToHost, s);
  if (status == cudaSuccess) status = cudaEventRecord(b->done, s);
  if (status != cudaSuccess) {
    pool().release(b);
    check_cuda(status, op, "cudaMemcpyAsync");
  }
  const char* blamed = last_op();
  Queue::cpu().enqueue(op, [b, dst, bytes, blamed] {
    struct Release {
      PinnedBlock* b;
      ~Release() { pool().release(b); }
    } release{b};
    const cudaError_t done = cudaEventSynchronize(b->done);
    if (done != cudaSuccess) {
      cudaGetLastError();
      fail("E_CUDA", "GPU work failed (the last op launched before this read was ", blamed, "): ", cudaGetErrorName(done),
           ": ", cudaGetErrorString(done));
    }
    if (*b->error_copy != 0) synchronize("a read");  // throws the E_INDEX (and clears the word)
    if (bytes) std::memcpy(dst.storage()->data(), b->data, bytes);
  });
}

void copy_device(const Tensor& src, const Tensor& dst) {
  const char* op = "copy";
  const size_t bytes = bytes_of(src);
  if (bytes == 0) return;
  cudaStream_t s = stream();
  set_last_op(op);
  CONVNET_CUDA_CHECK(cudaMemcpyAsync(dst.storage()->data(), src.storage()->data(), bytes, cudaMemcpyDeviceToDevice, s));
}

}  // namespace cuda
}  // namespace convnet
