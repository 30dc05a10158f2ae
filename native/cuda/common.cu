// Small kernels shared by several ops (launch.cuh declares them).
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

__global__ void sum_to_scalar_kernel(const float* x, int64_t n, double scale, float* out) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = static_cast<float>(acc * scale);
}

}  // namespace

void sum_to_scalar(const char* op, const float* x, int64_t n, double scale, float* out) {
  cudaStream_t s = stream();
  set_last_op(op);
  sum_to_scalar_kernel<<<1, 1024, 0, s>>>(x, n, scale, out);
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
