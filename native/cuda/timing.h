// GPU timing (timing.cu): events on the device's stream and a busy-wait kernel.
#pragma once
#include <cuda_runtime.h>

namespace convnet {
namespace cuda {

// Enqueues a kernel that spins for `cycles` GPU clock cycles (torch.cuda._sleep).
void sleep_cycles(long long cycles);
// An event with timing (torch.cuda.Event(enable_timing=True)); throws E_CUDA without a GPU.
cudaEvent_t event_create();
void event_destroy(cudaEvent_t e);
void event_record(cudaEvent_t e);           // on the stream, after everything enqueued so far
bool event_query(cudaEvent_t e);            // whether the GPU has passed it (does not block)
void event_synchronize(cudaEvent_t e);      // blocks until the GPU has passed it
float event_elapsed_ms(cudaEvent_t start, cudaEvent_t end);  // both recorded and passed

}  // namespace cuda
}  // namespace convnet
