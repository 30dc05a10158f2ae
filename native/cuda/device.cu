#include <cuda_runtime.h>

#include "device.h"

namespace convnet {
namespace cuda {

DeviceProbe probe_devices() {
  DeviceProbe probe;
  cudaRuntimeGetVersion(&probe.runtime_version);
  cudaDriverGetVersion(&probe.driver_version);  // leaves 0 when there is no driver
  const cudaError_t status = cudaGetDeviceCount(&probe.devices);
  if (status != cudaSuccess) {
    // Note [no driver]: with the static runtime and no driver this is
    // cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100), not a crash.
    probe.devices = 0;
    probe.reason = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error state
  } else if (probe.devices == 0) {
    probe.reason = "no CUDA device";
  }
  for (int i = 0; i < probe.devices; ++i) {
    cudaDeviceProp prop;
    DeviceInfo info;
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) {
      info.name = prop.name;
      info.total_memory = prop.totalGlobalMem;
      info.major = prop.major;
      info.minor = prop.minor;
    } else {
      info.name = "(properties unavailable)";
      cudaGetLastError();
    }
    probe.info.push_back(info);
  }
  return probe;
}

}  // namespace cuda
}  // namespace convnet
