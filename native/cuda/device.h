// The CUDA backend's first piece: asking the (statically linked) CUDA runtime what is there.
// Compiled only when CMake finds nvcc (CONVNET_WITH_CUDA); the GPU issue builds the rest of
// native/cuda/ (cuDNN/cuBLAS loader, allocator, kernels) beside it.
#pragma once
#include <string>

namespace convnet {
namespace cuda {

struct DeviceProbe {
  int devices = 0;
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver is installed
  std::string reason;       // why no device is usable, empty when devices > 0
};

// Never throws and never crashes, also on machines with no GPU and no driver.
DeviceProbe probe_devices();

}  // namespace cuda
}  // namespace convnet
