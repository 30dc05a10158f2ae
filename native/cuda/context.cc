#include "cuda/context.h"

#include <mutex>
#include <string>
#include <vector>

#include "cuda/loader.h"

namespace convnet {
namespace cuda {
namespace {

struct State {
  std::once_flag device_once;
  std::string device_error;  // set when the device could not be set up
  cudaStream_t stream = nullptr;
  int* error_word = nullptr;    // device memory
  int* error_host = nullptr;    // pinned copy for synchronize()
  decl::cudnnHandle_t cudnn = nullptr;
  decl::cublasHandle_t cublas = nullptr;
  std::recursive_mutex launch_mutex;
  std::mutex sync_mutex;  // one synchronize() at a time: they share error_host
  std::mutex sites_mutex;
  std::vector<std::string> sites{""};  // site 0 means "no error"
  const char* last_op = "(none)";
};

State& state() {
  static State* s = new State();  // never destroyed: used until the process exits
  return *s;
}

void setup_device() {
  State& s = state();
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    s.device_error = status != cudaSuccess ? std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status)
                                           : std::string("no CUDA device");
    cudaGetLastError();
    return;
  }
  const char* step = "cudaSetDevice";
  status = cudaSetDevice(0);
  if (status == cudaSuccess) step = "cudaStreamCreateWithFlags", status = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking);
  if (status == cudaSuccess) step = "cudaMalloc", status = cudaMalloc(&s.error_word, sizeof(int));
  if (status == cudaSuccess) step = "cudaMemsetAsync", status = cudaMemsetAsync(s.error_word, 0, sizeof(int), s.stream);
  if (status == cudaSuccess) step = "cudaHostAlloc", status = cudaHostAlloc(reinterpret_cast<void**>(&s.error_host), sizeof(int), cudaHostAllocDefault);
  if (status != cudaSuccess) {
    s.device_error = std::string(step) + ": " + cudaGetErrorName(status) + ": " + cudaGetErrorString(status);
    cudaGetLastError();
    s.stream = nullptr;
  }
}

}  // namespace

Settings& settings() {
  static Settings s;
  return s;
}

cudaStream_t stream() {
  State& s = state();
  std::call_once(s.device_once, setup_device);
  if (!s.stream) fail("E_CUDA", "the CUDA device cannot be used: ", s.device_error);
  return s.stream;
}

bool device_ready() { return state().stream != nullptr; }

const decl::CudnnFunctions& dnn() { return cudnn_functions(); }
const decl::CublasFunctions& blas() { return cublas_functions(); }

decl::cudnnHandle_t cudnn_handle() {
  State& s = state();
  cudaStream_t st = stream();
  if (!s.cudnn) {
    const char* op = "cuDNN setup";
    const decl::CudnnFunctions& f = dnn();
    decl::cudnnHandle_t h = nullptr;
    CONVNET_CUDNN_CHECK(f.cudnnCreate(&h));
    CONVNET_CUDNN_CHECK(f.cudnnSetStream(h, reinterpret_cast<decl::cudaStream_t>(st)));
    s.cudnn = h;
  }
  return s.cudnn;
}

decl::cublasHandle_t cublas_handle() {
  State& s = state();
  cudaStream_t st = stream();
  if (!s.cublas) {
    const char* op = "cuBLAS setup";
    const decl::CublasFunctions& f = blas();
    decl::cublasHandle_t h = nullptr;
    CONVNET_CUBLAS_CHECK(f.cublasCreate_v2(&h));
    CONVNET_CUBLAS_CHECK(f.cublasSetStream_v2(h, reinterpret_cast<decl::cudaStream_t>(st)));
    s.cublas = h;
  }
  return s.cublas;
}

std::recursive_mutex& launch_mutex() { return state().launch_mutex; }

void set_last_op(const char* op) { state().last_op = op; }
const char* last_op() { return state().last_op; }

void check_cuda(cudaError_t status, const char* op, const char* call) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so that later calls are not blamed for it
  if (status == cudaErrorMemoryAllocation) fail("E_OOM", op, ": ", call, ": out of GPU memory");
  fail("E_CUDA", op, ": ", call, " failed: ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
}

void check_launch(const char* op) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail("E_CUDA", op, ": kernel launch failed: ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
}

void check_cudnn(decl::cudnnStatus_t status, const char* op, const char* call) {
  if (status == decl::CUDNN_STATUS_SUCCESS) return;
  const decl::CudnnFunctions& f = dnn();
  const char* name = f.cudnnGetErrorString ? f.cudnnGetErrorString(status) : "?";
  char detail[512] = "";
  if (f.cudnnGetLastErrorString) f.cudnnGetLastErrorString(detail, sizeof(detail));
  if (status == decl::CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED ||
      status == decl::CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    fail("E_OOM", op, ": ", call, ": ", name);
  fail("E_CUDNN", op, ": ", call, " failed: ", name, " (", static_cast<int>(status), ")", detail[0] ? ": " : "", detail);
}

void check_cublas(decl::cublasStatus_t status, const char* op, const char* call) {
  if (status == decl::CUBLAS_STATUS_SUCCESS) return;
  const decl::CublasFunctions& f = blas();
  const char* name = f.cublasGetStatusName ? f.cublasGetStatusName(status) : "?";
  if (status == decl::CUBLAS_STATUS_ALLOC_FAILED) fail("E_OOM", op, ": ", call, ": ", name);
  fail("E_CUDA", op, ": ", call, " failed: ", name, " (", static_cast<int>(status), ")");
}

int* device_error_word() {
  stream();
  return state().error_word;
}

int error_site(const char* op, const char* message, const char* code) {
  State& s = state();
  // The code rides in front of the text ("E_RANGE|op: message"); synchronize() splits it off.
  std::string text = std::string(code) + "|" + op + ": " + message;
  std::lock_guard<std::mutex> lock(s.sites_mutex);
  for (size_t i = 1; i < s.sites.size(); ++i)
    if (s.sites[i] == text) return static_cast<int>(i);
  s.sites.push_back(std::move(text));
  return static_cast<int>(s.sites.size() - 1);
}

void synchronize(const char* why) {
  State& s = state();
  cudaStream_t st = stream();
  std::lock_guard<std::mutex> lock(s.sync_mutex);
  cudaError_t status = cudaMemcpyAsync(s.error_host, s.error_word, sizeof(int), cudaMemcpyDeviceToHost, st);
  if (status == cudaSuccess) status = cudaStreamSynchronize(st);
  if (status != cudaSuccess) {
    cudaGetLastError();
    fail("E_CUDA", "GPU work failed (seen by ", why, "; the last op launched was ", s.last_op, "): ",
         cudaGetErrorName(status), ": ", cudaGetErrorString(status));
  }
  const int site = *s.error_host;
  if (site != 0) {
    *s.error_host = 0;
    cudaMemsetAsync(s.error_word, 0, sizeof(int), st);
    std::string message, code = "E_INDEX";
    {
      std::lock_guard<std::mutex> lock(s.sites_mutex);
      message = site > 0 && static_cast<size_t>(site) < s.sites.size() ? s.sites[site] : "a GPU kernel saw bad data";
    }
    const size_t bar = message.find('|');
    if (bar != std::string::npos && message.compare(0, 2, "E_") == 0) {
      code = message.substr(0, bar);
      message = message.substr(bar + 1);
    }
    fail(code.c_str(), message);
  }
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes) data_ = device_allocate(bytes, &block_bytes_);
}
DeviceBuffer::~DeviceBuffer() {
  if (data_) device_free(data_, block_bytes_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : data_(o.data_), bytes_(o.bytes_), block_bytes_(o.block_bytes_) {
  o.data_ = nullptr;
  o.bytes_ = o.block_bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (data_) device_free(data_, block_bytes_);
    data_ = o.data_, bytes_ = o.bytes_, block_bytes_ = o.block_bytes_;
    o.data_ = nullptr;
    o.bytes_ = o.block_bytes_ = 0;
  }
  return *this;
}

}  // namespace cuda
}  // namespace convnet
