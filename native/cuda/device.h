// The CUDA backend's first piece: asking the (statically linked) CUDA runtime what is there.
// Compiled only when CMake finds nvcc (CONVNET_WITH_CUDA). cuDNN and cuBLAS are loaded beside
// it by native/cuda/loader.h.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace convnet {
namespace cuda {

struct DeviceInfo {
  std::string name;          // "NVIDIA H100 80GB HBM3"
  size_t total_memory = 0;   // bytes
  int major = 0, minor = 0;  // compute capability
};

struct DeviceProbe {
  int devices = 0;
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver is installed
  std::string reason;       // why no device is usable, empty when devices > 0
  std::vector<DeviceInfo> info;
};

// Never throws and never crashes, also on machines with no GPU and no driver.
DeviceProbe probe_devices();

}  // namespace cuda
}  // namespace convnet
