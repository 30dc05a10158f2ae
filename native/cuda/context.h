// The CUDA device's state: its one ordered queue (a CUDA stream, design decision 2), the cuDNN
// and cuBLAS handles bound to it, the user's settings (benchmark, TF32), and the checks that
// turn every CUDA/cuDNN/cuBLAS failure into a typed convnet::Error.
//
// How GPU ops run: the entry point (native/api/*_api.cc) validates on the JavaScript thread,
// allocates the outputs from the caching allocator, and calls the op in native/cuda/, which
// launches its kernels or library calls on stream() and returns without waiting. Everything
// touching device memory goes through stream(), in call order, so a freed block can be handed
// out again at once (allocator.h). Never use the legacy default stream (cudaMemcpy, cudaMemset,
// a <<<grid, block>>> launch without a stream): it is not ordered with stream().
//
// Errors: a failed launch or library call throws at the call site. A kernel that faults while
// running is seen by a later synchronisation (a read of a tensor, sync()): that wait throws
// E_CUDA naming the last op launched (last_op()).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "core/error.h"
#include "core/storage.h"
#include "cuda/cudnn_decls.h"

namespace convnet {
namespace cuda {

// Settings a user can change (lib/cuda.ts: cuda.setOptions), read by the ops at each call.
struct Settings {
  bool benchmark = false;     // conv algorithms: false = cuDNN's heuristic, true = timed search (cached)
  bool tf32_cudnn = true;     // PyTorch's torch.backends.cudnn.allow_tf32 default
  bool tf32_matmul = false;   // PyTorch's torch.backends.cuda.matmul.allow_tf32 default
  bool deterministic = false; // only deterministic conv algorithms
};
Settings& settings();

// Sets up the device on first use (cudaSetDevice(0), the stream, error state); throws E_CUDA
// when there is no usable GPU. Every GPU op calls one of the accessors below, which do this.
cudaStream_t stream();
// Whether the device was set up (a GPU op or copy ran), without setting it up.
bool device_ready();
// The handles, created on first use and bound to stream(); throw E_CUDNN / E_CUDA when the
// library was not loaded (lib/cuda.ts loads them before the first tensor moves to the GPU).
decl::cudnnHandle_t cudnn_handle();
decl::cublasHandle_t cublas_handle();
const decl::CudnnFunctions& dnn();     // cuDNN's function table (loader.h)
const decl::CublasFunctions& blas();   // cuBLAS's function table

// Held while one GPU op launches (CONVNET_ON_CUDA in api/api.h takes it): the stream, the
// cuDNN and cuBLAS handles and the lazily created state are one per process, and every
// worker_thread's JavaScript thread launches onto them; cuDNN's handles are not for two threads
// at once, nor is the first use that creates them. Recursive, so an op may call another's
// launch. Launches only enqueue work, so it is held for microseconds (a conv's benchmark search,
// once per problem, holds it longer). synchronize() does not take it: a read waiting for the GPU
// must not stop other threads from queueing more.
std::recursive_mutex& launch_mutex();

// The op being launched, for error messages of later waits. Set by the checks below.
void set_last_op(const char* op);
const char* last_op();

// Throws E_CUDA ("<op>: <call> failed: cudaErrorX: text") unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* op, const char* call);
// After a kernel launch: throws E_CUDA if the launch failed (bad configuration, no image).
void check_launch(const char* op);
// Throws E_CUDNN (E_OOM for CUDNN_STATUS_ALLOC_FAILED-like statuses) unless status is success.
void check_cudnn(decl::cudnnStatus_t status, const char* op, const char* call);
void check_cublas(decl::cublasStatus_t status, const char* op, const char* call);

// Bad data that only a kernel sees (an index out of range): the kernel stores a site number in
// the device word (first one wins, launch.cuh: report_error) and the next synchronize() throws
// E_INDEX (or the site's own code, e.g. E_RANGE for an int32 sum that overflows) with the
// site's message. error_site() registers "op: message" once and returns its number (> 0), to
// pass to the kernel with device_error_word().
int* device_error_word();
int error_site(const char* op, const char* message, const char* code = "E_INDEX");

// Blocks until everything launched so far has run; throws E_CUDA for a fault in that work,
// naming last_op(). Used by reads (on the CPU queue's worker) and by sync.
void synchronize(const char* why);

// A temporary block of device memory from the caching allocator (a cuDNN workspace, scratch
// for a reduction). Freed when it goes out of scope, right after the launches that use it were
// enqueued: stream order makes that safe (see allocator.h).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return data_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  size_t block_bytes_ = 0;
};

}  // namespace cuda
}  // namespace convnet

// Checks for the calls of the op named by the local `op` (a const char*).
#define CONVNET_CUDA_CHECK(call) ::convnet::cuda::check_cuda((call), op, #call)
#define CONVNET_CUDNN_CHECK(call) ::convnet::cuda::check_cudnn((call), op, #call)
#define CONVNET_CUBLAS_CHECK(call) ::convnet::cuda::check_cublas((call), op, #call)
