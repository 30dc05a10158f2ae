// backends().cuda: what the CUDA switch compiled in and what the runtime finds.
#include "api/api.h"

#ifdef CONVNET_WITH_CUDA
#include "cuda/device.h"
#endif

namespace convnet {

Napi::Object cuda_probe(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
#ifdef CONVNET_WITH_CUDA
  const cuda::DeviceProbe probe = cuda::probe_devices();
  out.Set("compiled", true);
  out.Set("devices", probe.devices);
  out.Set("runtimeVersion", probe.runtime_version);
  out.Set("driverVersion", probe.driver_version);
  // The kernels, cuDNN and cuBLAS come with the GPU backend (issue 5): until then the CUDA
  // device is never usable for tensors, whatever the probe finds.
  out.Set("available", false);
  out.Set("reason", probe.devices > 0 ? std::string("the CUDA backend's ops are not built yet") : probe.reason);
#else
  out.Set("compiled", false);
  out.Set("available", false);
  out.Set("reason", "built without the CUDA backend (no nvcc at build time)");
#endif
  return out;
}

}  // namespace convnet
