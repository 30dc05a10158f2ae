// backends().cuda and cudaLoad(): what the CUDA switch compiled in, what the CUDA runtime finds,
// and the cuDNN/cuBLAS loader's findings (native/cuda/loader.h). Compiled in every build; the
// parts that need the CUDA runtime only when CMake found nvcc (CONVNET_WITH_CUDA).
#include "api/api.h"

#ifdef CONVNET_WITH_CUDA
#include "cuda/allocator.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "cuda/loader.h"
#include "cuda/timing.h"
#endif

namespace convnet {

namespace {
const char* const kNotCompiled = "built without the CUDA backend (no nvcc at build time)";
}

Napi::Object cuda_probe(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
#ifdef CONVNET_WITH_CUDA
  const cuda::DeviceProbe probe = cuda::probe_devices();
  out.Set("compiled", true);
  out.Set("devices", probe.devices);
  out.Set("runtimeVersion", probe.runtime_version);
  out.Set("driverVersion", probe.driver_version);
  // Usable for tensors once there is a device and cuDNN and cuBLAS were loaded (cudaLoad).
  const bool loaded = cuda::libraries_loaded();
  out.Set("available", probe.devices > 0 && loaded);
  out.Set("reason", probe.devices == 0 ? probe.reason
                    : loaded           ? std::string()
                                       : std::string("cuDNN and cuBLAS are not loaded yet (cuda.load())"));
#else
  out.Set("compiled", false);
  out.Set("available", false);
  out.Set("reason", kNotCompiled);
#endif
  return out;
}

namespace api {

#ifdef CONVNET_WITH_CUDA
namespace {

std::vector<std::string> string_list(const Napi::Object& o, const char* key) {
  std::vector<std::string> out;
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return out;
  CONVNET_CHECK(v.IsArray(), "E_ARG", "cudaLoad: expected `", key, "` to be an array of strings");
  const Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::Value item = a.Get(i);
    CONVNET_CHECK(item.IsString(), "E_ARG", "cudaLoad: expected `", key, "[", i, "]` to be a string");
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::string optional_string(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return "";
  CONVNET_CHECK(v.IsString(), "E_ARG", "cudaLoad: expected `", key, "` to be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Object library_object(Napi::Env env, const cuda::LibraryReport& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loaded", r.loaded);
  o.Set("path", r.loaded ? Napi::Value(Napi::String::New(env, r.path)) : env.Null());
  o.Set("version", r.loaded ? Napi::Value(Napi::String::New(env, r.version_string)) : env.Null());
  o.Set("versionNumber", r.loaded ? Napi::Value(Napi::Number::New(env, r.version)) : env.Null());
  if (r.cuda_version) o.Set("cudaVersion", r.cuda_version);
  Napi::Array libraries = Napi::Array::New(env, r.libraries.size());
  for (uint32_t i = 0; i < r.libraries.size(); ++i) libraries.Set(i, r.libraries[i]);
  o.Set("libraries", libraries);
  Napi::Array tried = Napi::Array::New(env, r.tried.size());
  for (uint32_t i = 0; i < r.tried.size(); ++i) {
    Napi::Object a = Napi::Object::New(env);
    a.Set("path", r.tried[i].path);
    a.Set("result", r.tried[i].result);
    tried.Set(i, a);
  }
  o.Set("tried", tried);
  if (r.loaded) {
    o.Set("error", env.Null());
  } else {
    Napi::Object e = Napi::Object::New(env);
    e.Set("code", r.error_code);
    e.Set("message", r.error_message);
    o.Set("error", e);
  }
  return o;
}

}  // namespace
#endif

Napi::Value CudaLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CONVNET_CHECK(info.Length() >= 1 && info[0].IsObject(), "E_ARG", "cudaLoad: expected an options object");
  Napi::Object out = cuda_probe(env);
#ifdef CONVNET_WITH_CUDA
  const Napi::Object o = info[0].As<Napi::Object>();
  cuda::LoadOptions options;
  options.cudnn_path = optional_string(o, "cudnnPath");
  options.cublas_path = optional_string(o, "cublasPath");
  options.site_packages = string_list(o, "sitePackages");
  options.toolkit_dirs = string_list(o, "toolkitDirs");
  const cuda::DeviceProbe probe = cuda::probe_devices();
  Napi::Array devices = Napi::Array::New(env, probe.info.size());
  for (uint32_t i = 0; i < probe.info.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    d.Set("name", probe.info[i].name);
    d.Set("totalMemory", static_cast<double>(probe.info[i].total_memory));
    d.Set("computeCapability", std::to_string(probe.info[i].major) + "." + std::to_string(probe.info[i].minor));
    devices.Set(i, d);
  }
  out.Set("deviceList", devices);
  const cuda::LoadReport report = cuda::load_libraries(options);
  out.Set("cudnn", library_object(env, report.cudnn));
  out.Set("cublas", library_object(env, report.cublas));
  out.Set("available", probe.devices > 0 && report.cudnn.loaded && report.cublas.loaded);
#else
  out.Set("deviceList", Napi::Array::New(env, 0));
  out.Set("cudnn", env.Null());
  out.Set("cublas", env.Null());
#endif
  return out;
}

namespace {
[[maybe_unused]] bool optional_bool(const Napi::Object& o, const char* key, bool current) {  // CUDA builds only
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return current;
  CONVNET_CHECK(v.IsBoolean(), "E_ARG", "cuda.setOptions: expected `", key, "` to be a boolean");
  return v.As<Napi::Boolean>().Value();
}
}  // namespace

Napi::Value CudaSetOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
#ifdef CONVNET_WITH_CUDA
  cuda::Settings& s = cuda::settings();
  if (info.Length() >= 1 && info[0].IsObject()) {
    const Napi::Object o = info[0].As<Napi::Object>();
    cuda::Settings next = s;  // all checked before any is applied
    next.benchmark = optional_bool(o, "benchmark", s.benchmark);
    next.tf32_cudnn = optional_bool(o, "allowTF32Cudnn", s.tf32_cudnn);
    next.tf32_matmul = optional_bool(o, "allowTF32Matmul", s.tf32_matmul);
    next.deterministic = optional_bool(o, "deterministic", s.deterministic);
    std::lock_guard<std::recursive_mutex> lock(cuda::launch_mutex());  // not while another thread's op reads them
    s = next;
  }
  out.Set("benchmark", s.benchmark);
  out.Set("allowTF32Cudnn", s.tf32_cudnn);
  out.Set("allowTF32Matmul", s.tf32_matmul);
  out.Set("deterministic", s.deterministic);
#endif
  return out;
}

Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef CONVNET_WITH_CUDA
  const cuda::AllocatorStats st = cuda::allocator_stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("allocatedBytes", static_cast<double>(st.allocated_bytes));
  out.Set("cachedBytes", static_cast<double>(st.cached_bytes));
  out.Set("reservedBytes", static_cast<double>(st.reserved_bytes));
  out.Set("peakBytes", static_cast<double>(st.peak_bytes));
  out.Set("mallocCalls", static_cast<double>(st.malloc_calls));
  return out;
#else
  return env.Null();
#endif
}

Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
#ifdef CONVNET_WITH_CUDA
  if (cuda::device_ready()) cuda::empty_cache();
#endif
  return info.Env().Undefined();
}

// cuda.Event and cuda._sleep (lib/cuda.ts): GPU-side timing. An event travels to JavaScript as an
// External that destroys it when collected.
#ifdef CONVNET_WITH_CUDA
namespace {
cudaEvent_t event_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  CONVNET_CHECK(info.Length() > i && info[i].IsExternal(), "E_ARG", op, ": expected a cuda.Event");
  return static_cast<cudaEvent_t>(info[i].As<Napi::External<void>>().Data());
}
}  // namespace
#endif

Napi::Value CudaEventCreate(const Napi::CallbackInfo& info) {
#ifdef CONVNET_WITH_CUDA
  cudaEvent_t e = cuda::event_create();
  return Napi::External<void>::New(info.Env(), e, [](Napi::Env, void* p) { cuda::event_destroy(static_cast<cudaEvent_t>(p)); });
#else
  fail("E_DEVICE", "cuda.Event: ", kNotCompiled);
#endif
}

// (event, action): 0 record, 1 query -> boolean, 2 synchronize
Napi::Value CudaEventOp(const Napi::CallbackInfo& info) {
#ifdef CONVNET_WITH_CUDA
  cudaEvent_t e = event_arg(info, 0, "cuda.Event");
  const int action = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
  switch (action) {
    case 0: cuda::event_record(e); break;
    case 1: return Napi::Boolean::New(info.Env(), cuda::event_query(e));
    case 2: cuda::event_synchronize(e); break;
    default: fail("E_ARG", "cudaEventOp: unknown action");
  }
#endif
  return info.Env().Undefined();
}

Napi::Value CudaEventElapsed(const Napi::CallbackInfo& info) {
#ifdef CONVNET_WITH_CUDA
  return Napi::Number::New(info.Env(), cuda::event_elapsed_ms(event_arg(info, 0, "cuda.Event.elapsedTime"), event_arg(info, 1, "cuda.Event.elapsedTime")));
#else
  return info.Env().Undefined();
#endif
}

Napi::Value CudaSleep(const Napi::CallbackInfo& info) {
  CONVNET_CHECK(info.Length() >= 1 && info[0].IsNumber(), "E_ARG", "cuda._sleep: expected a number of cycles");
#ifdef CONVNET_WITH_CUDA
  cuda::sleep_cycles(static_cast<long long>(info[0].As<Napi::Number>().DoubleValue()));
#else
  fail("E_DEVICE", "cuda._sleep: ", kNotCompiled);
#endif
  return info.Env().Undefined();
}

}  // namespace api
}  // namespace convnet
