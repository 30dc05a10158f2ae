// GPU-side timing, as PyTorch has it: events on the device's stream (torch.cuda.Event with
// enable_timing) and a kernel that keeps the GPU busy for a number of clock cycles
// (torch.cuda._sleep). Together they measure the GPU time of a sequence of ops without the host's
// launch overhead: sleep, record a start event, enqueue the ops (the host runs ahead while the GPU
// spins), record an end event. The ops then run back to back; if the start event has already
// completed when the last op is enqueued, the sleep was too short (bench/conv.ts checks query()).
#include <cuda_runtime.h>

#include "cuda/context.h"
#include "cuda/timing.h"

namespace convnet {
namespace cuda {

namespace {
__global__ void spin(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
}
}  // namespace

void sleep_cycles(long long cycles) {
  const char* op = "cuda._sleep";
  set_last_op(op);
  spin<<<1, 1, 0, stream()>>>(cycles);
  check_launch(op);
}

cudaEvent_t event_create() {
  const char* op = "cuda.Event";
  stream();  // sets the device up
  cudaEvent_t e = nullptr;
  CONVNET_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDefault));
  return e;
}

void event_destroy(cudaEvent_t e) { cudaEventDestroy(e); }

void event_record(cudaEvent_t e) {
  const char* op = "cuda.Event.record";
  CONVNET_CUDA_CHECK(cudaEventRecord(e, stream()));
}

bool event_query(cudaEvent_t e) {
  const cudaError_t status = cudaEventQuery(e);
  if (status == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: clears it
    return false;
  }
  check_cuda(status, "cuda.Event.query", "cudaEventQuery");
  return true;
}

void event_synchronize(cudaEvent_t e) {
  const char* op = "cuda.Event.synchronize";
  CONVNET_CUDA_CHECK(cudaEventSynchronize(e));
}

float event_elapsed_ms(cudaEvent_t start, cudaEvent_t end) {
  const char* op = "cuda.Event.elapsedTime";
  float ms = 0;
  CONVNET_CUDA_CHECK(cudaEventElapsedTime(&ms, start, end));
  return ms;
}

}  // namespace cuda
}  // namespace convnet
