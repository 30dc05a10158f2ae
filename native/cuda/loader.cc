// dlopen/dlsym of cuDNN 9 and cuBLAS 12/13 (see loader.h for the search order). Facts used here
// come from ../shared/reference/cudnn9-api.md ("ref §n").
#include "cuda/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace convnet {
namespace cuda {
namespace {

using decl::CublasFunctions;
using decl::CudnnFunctions;

// Why one candidate failed. `missing` separates "nothing there" from "something there that is
// not usable", so that the final message leads with the latter.
struct Rejected {
  std::string reason;
  bool missing = false;
};

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string dirname_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

// The folder the loader found a library in, for a handle opened by bare name.
std::string origin_of(void* handle) {
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name || !map->l_name[0]) return "";
  return dirname_of(map->l_name);
}

// The handles one candidate opened; closed in reverse order unless kept.
class Handles {
 public:
  ~Handles() {
    if (kept_) return;
    for (auto it = handles_.rbegin(); it != handles_.rend(); ++it) dlclose(*it);
  }
  void* open(const std::string& path, int flags) {
    dlerror();
    void* h = dlopen(path.c_str(), flags);
    if (h) handles_.push_back(h), paths_.push_back(path);
    return h;
  }
  const std::vector<std::string>& paths() const { return paths_; }
  void keep() { kept_ = true; }

 private:
  std::vector<void*> handles_;
  std::vector<std::string> paths_;
  bool kept_ = false;
};

template <typename Fn>
bool resolve(void* handle, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  return fn != nullptr;
}

void* symbol(void* handle, const char* name) { return dlsym(handle, name); }

// ---- cuDNN -----------------------------------------------------------------------------------

// Note [cuDNN sub-libraries]: libcudnn.so.9 is a small shim that dlopens libcudnn_graph, _ops,
// _cnn, ... by name at the first call into them, and abort()s the process when one is missing
// (ref §1.3, caveat 1; even cudnnGetVersion through the shim aborts without libcudnn_graph).
// So every sub-library beside the shim is dlopened here first, by full path, RTLD_GLOBAL: a
// failure becomes an error, and the shim's later dlopen by name finds the copy already loaded
// under its SONAME (which also stops another cuDNN on the system from being mixed in, caveat 3).
// The shim itself is dlopened before them only to check its symbols: loading it calls nothing
// (it "loads even with no sub-libraries beside it", caveat 2). The version is read from
// libcudnn_graph, not through the shim, so that nothing calls into the shim during loading.
const char* const kCudnnShim = "libcudnn.so.9";
struct SubLibrary {
  const char* name;
  const char* marker;  // a symbol it must export (empty: any file of that name is accepted)
  bool required;
};
// In load order: graph, then what depends on it (ops needs graph; cnn and adv need both), then
// the engine libraries (ref §1.2, "Link-time dependencies"); any other libcudnn_*.so.9 found
// beside the shim (newer releases add some, ref §7.1) is loaded after these.
const SubLibrary kCudnnSubLibraries[] = {
    {"libcudnn_graph.so.9", "cudnnGetVersion", true},
    {"libcudnn_ops.so.9", "cudnnCreateTensorDescriptor", true},
    {"libcudnn_cnn.so.9", "cudnnCreateConvolutionDescriptor", true},
    {"libcudnn_adv.so.9", "", false},
    {"libcudnn_heuristic.so.9", "", false},
    {"libcudnn_engines_precompiled.so.9", "", false},
    {"libcudnn_engines_runtime_compiled.so.9", "", false},
};

// Every other libcudnn_*.so.9 in dir, sorted.
std::vector<std::string> other_cudnn_sublibraries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("libcudnn_", 0) != 0 || name.size() < 5 || name.compare(name.size() - 5, 5, ".so.9") != 0) continue;
    const bool known = std::any_of(std::begin(kCudnnSubLibraries), std::end(kCudnnSubLibraries),
                                   [&](const SubLibrary& s) { return name == s.name; });
    if (!known) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

struct CudnnLoaded {
  CudnnFunctions fns;
  size_t version = 0;
  size_t cudart_version = 0;
};

// Loads the cuDNN whose shim is `shim` (its sub-libraries beside it), or says why not.
bool try_cudnn(const std::string& shim, LibraryReport& report, CudnnLoaded& out, Rejected& why) {
  if (!file_exists(shim)) {
    why = {"no such file", true};
    return false;
  }
  Handles handles;
  void* shim_handle = handles.open(shim, RTLD_NOW | RTLD_LOCAL);
  if (!shim_handle) {
    why = {"cannot be loaded: " + dl_error()};
    return false;
  }
  for (const char* name : {"cudnnGetVersion", "cudnnCreate"}) {
    if (!symbol(shim_handle, name)) {
      why = {std::string("not cuDNN (missing symbol ") + name + ")"};
      return false;
    }
  }
  const std::string dir = dirname_of(shim);
  void* graph = nullptr;
  std::vector<std::pair<std::string, const char*>> order;
  for (const SubLibrary& sub : kCudnnSubLibraries) {
    const std::string path = join(dir, sub.name);
    if (!file_exists(path)) {
      if (sub.required) {
        why = {std::string(sub.name) + " is missing beside it (cuDNN 9 ships it; the shim would abort the process without it)"};
        return false;
      }
      continue;
    }
    order.emplace_back(path, sub.marker);
  }
  for (const std::string& name : other_cudnn_sublibraries(dir)) order.emplace_back(join(dir, name), "");
  for (const auto& [path, marker] : order) {
    void* h = handles.open(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      why = {basename_of(path) + " cannot be loaded: " + dl_error()};
      return false;
    }
    if (marker[0] && !symbol(h, marker)) {
      why = {basename_of(path) + " is not part of cuDNN (missing symbol " + marker + ")"};
      return false;
    }
    if (!graph) graph = h;  // the first in the order is libcudnn_graph
  }
  // The version, from libcudnn_graph itself (see Note [cuDNN sub-libraries]).
  size_t (*get_version)() = nullptr;
  size_t (*get_cudart_version)() = nullptr;
  resolve(graph, "cudnnGetVersion", get_version);
  resolve(graph, "cudnnGetCudartVersion", get_cudart_version);
  const size_t version = get_version();
  report.version = static_cast<int>(version);
  report.version_string = cudnn_version_string(version);
  if (version < 90000) {
    why = {"cuDNN >= 9.0 required, found " + report.version_string};
    return false;
  }
  if (version >= 100000) {
    why = {"cuDNN 9.x required (the declarations are those of cuDNN 9), found " + report.version_string};
    return false;
  }
  CudnnLoaded loaded;
  loaded.version = version;
  loaded.cudart_version = get_cudart_version ? get_cudart_version() : 0;
#define CONVNET_RESOLVE(name, ret, params)                                                    \
  if (!resolve(shim_handle, #name, loaded.fns.name)) {                                        \
    why = {"missing symbol " #name " in cuDNN " + report.version_string + " (an incomplete install?)"}; \
    return false;                                                                             \
  }
  CONVNET_CUDNN_FUNCTIONS(CONVNET_RESOLVE)
#undef CONVNET_RESOLVE
  handles.keep();  // never closed: the function pointers point into them
  report.libraries = handles.paths();
  // The shim last in the list: it is the library the calls go through.
  std::rotate(report.libraries.begin(), report.libraries.begin() + 1, report.libraries.end());
  report.path = shim;
  report.cuda_version = static_cast<int>(loaded.cudart_version);
  out = loaded;
  return true;
}

// ---- cuBLAS ----------------------------------------------------------------------------------

// Note [cuBLAS load order]: libcublas has a DT_NEEDED on libcublasLt and versioned symbols
// against it, so libcublasLt.so.N is loaded first, from the same folder (ref §4, as PyTorch's
// _preload_cuda_deps does). It stays loaded RTLD_GLOBAL: cuDNN dlopens libcublasLt.so.<its CUDA
// major> by name for its convolution engines and aborts if that fails (ref §1.2).
bool try_cublas(const std::string& dir, const std::string& blas_file, int major, int wanted_major,
                LibraryReport& report, CublasFunctions& out, Rejected& why) {
  const std::string blas = blas_file.empty() ? join(dir, "libcublas.so." + std::to_string(major)) : blas_file;
  const std::string lt = join(dir, "libcublasLt.so." + std::to_string(major));
  if (!file_exists(blas)) {
    why = {"no such file", true};
    return false;
  }
  if (!file_exists(lt)) {
    why = {basename_of(lt) + " is missing beside it (libcublas needs it)"};
    return false;
  }
  Handles handles;
  void* lt_handle = handles.open(lt, RTLD_NOW | RTLD_GLOBAL);
  if (!lt_handle) {
    why = {basename_of(lt) + " cannot be loaded: " + dl_error()};
    return false;
  }
  CublasFunctions fns;
  if (!resolve(lt_handle, "cublasLtGetVersion", fns.cublasLtGetVersion)) {
    why = {basename_of(lt) + " is not cuBLASLt (missing symbol cublasLtGetVersion)"};
    return false;
  }
  void* blas_handle = handles.open(blas, RTLD_NOW | RTLD_GLOBAL);
  if (!blas_handle) {
    why = {"cannot be loaded: " + dl_error()};
    return false;
  }
  for (const char* name : {"cublasGetProperty", "cublasCreate_v2"}) {
    if (!symbol(blas_handle, name)) {
      why = {std::string("not cuBLAS (missing symbol ") + name + ")"};
      return false;
    }
  }
  resolve(blas_handle, "cublasGetProperty", fns.cublasGetProperty);
  int v[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) fns.cublasGetProperty(static_cast<decl::libraryPropertyType>(i), &v[i]);
  report.version = v[0] * 10000 + v[1] * 100 + v[2];
  report.version_string = std::to_string(v[0]) + "." + std::to_string(v[1]) + "." + std::to_string(v[2]);
  if (v[0] != 12 && v[0] != 13) {
    why = {"cuBLAS 12 or 13 required, found " + report.version_string};
    return false;
  }
  if (wanted_major && v[0] != wanted_major) {
    why = {"cuBLAS " + report.version_string + " does not match cuDNN, which was built for CUDA " +
           std::to_string(wanted_major) + " and loads libcublasLt.so." + std::to_string(wanted_major) + " itself"};
    return false;
  }
#define CONVNET_RESOLVE(name, ret, params)                                                        \
  if (!resolve(blas_handle, #name, fns.name)) {                                                   \
    why = {"missing symbol " #name " in cuBLAS " + report.version_string + " (an incomplete install?)"}; \
    return false;                                                                                 \
  }
  CONVNET_CUBLAS_FUNCTIONS(CONVNET_RESOLVE)
#undef CONVNET_RESOLVE
  handles.keep();
  report.libraries = handles.paths();
  report.path = blas;
  out = fns;
  return true;
}

// ---- the search ------------------------------------------------------------------------------

// The error for an explicit path: the only place tried.
std::string explicit_failure(const char* what, const char* variable, const LibraryReport& report) {
  const Attempt& a = report.tried.back();
  return std::string(what) + ": " + a.path + " (the explicit path, from " + variable + "): " + a.result + ".";
}

// The final error: the first usable-looking candidate's reason first, then every place tried.
std::string search_failure(const char* what, const char* hint, const LibraryReport& report) {
  std::ostringstream m;
  const Attempt* found = nullptr;
  for (const Attempt& a : report.tried) {
    if (a.result != "no such file" && a.result.rfind("not found", 0) != 0) {
      found = &a;
      break;
    }
  }
  if (found) m << what << " found but not usable: " << found->path << ": " << found->result << ".";
  else m << what << " not found.";
  m << " Searched, in order:";
  for (size_t i = 0; i < report.tried.size(); ++i)
    m << (i ? ";" : "") << " " << report.tried[i].path << " (" << report.tried[i].result << ")";
  m << ". " << hint;
  return m.str();
}

struct State {
  std::mutex mutex;
  bool cudnn_loaded = false;
  bool cublas_loaded = false;
  CudnnLoaded cudnn;
  CublasFunctions cublas;
  LoadReport last;
};

State& state() {
  static State* s = new State();  // never destroyed: the libraries outlive every static
  return *s;
}

void search_cudnn(const LoadOptions& options, LibraryReport& report, CudnnLoaded& out) {
  std::vector<std::pair<std::string, std::string>> candidates;  // (label, shim path)
  auto attempt = [&](const std::string& label, const std::string& shim) -> bool {
    for (const Attempt& a : report.tried)
      if (a.path == label) return false;  // the same file twice
    Rejected why;
    if (try_cudnn(shim, report, out, why)) {
      report.tried.push_back({label, "loaded"});
      report.loaded = true;
      return true;
    }
    report.tried.push_back({label, why.reason});
    return false;
  };
  const char* hint =
      "Install cuDNN 9 (for example `pip install nvidia-cudnn-cu12`), or set CONVNET_CUDNN_PATH to "
      "libcudnn.so.9 or its folder.";
  if (!options.cudnn_path.empty()) {
    const std::string shim =
        dir_exists(options.cudnn_path) ? join(options.cudnn_path, kCudnnShim) : options.cudnn_path;
    if (!attempt(shim, shim)) fail("E_CUDNN", explicit_failure("cuDNN", "CONVNET_CUDNN_PATH or the cudnnPath option", report));
    return;
  }
  // The system loader: LD_LIBRARY_PATH, the ld.so cache, the default folders.
  dlerror();
  if (void* h = dlopen(kCudnnShim, RTLD_NOW | RTLD_LOCAL)) {
    const std::string dir = origin_of(h);
    const bool ok = !dir.empty() && attempt(join(dir, kCudnnShim), join(dir, kCudnnShim));
    if (dir.empty()) report.tried.push_back({std::string(kCudnnShim) + " via the system loader", "loaded, but its folder is unknown"});
    dlclose(h);
    if (ok) return;
  } else {
    report.tried.push_back({std::string(kCudnnShim) + " via the system loader", "not found"});
  }
  for (const std::string& sp : options.site_packages)
    if (attempt(join(sp, "nvidia/cudnn/lib/libcudnn.so.9"), join(sp, "nvidia/cudnn/lib/libcudnn.so.9"))) return;
  for (const std::string& dir : options.toolkit_dirs)
    if (attempt(join(dir, kCudnnShim), join(dir, kCudnnShim))) return;
  fail("E_CUDNN", search_failure("cuDNN", hint, report));
}

void search_cublas(const LoadOptions& options, int wanted_major, LibraryReport& report, CublasFunctions& out) {
  std::vector<int> majors = {13, 12};
  if (wanted_major == 12) majors = {12, 13};
  auto attempt = [&](const std::string& dir, const std::string& file, int major) -> bool {
    const std::string label = file.empty() ? join(dir, "libcublas.so." + std::to_string(major)) : file;
    for (const Attempt& a : report.tried)
      if (a.path == label) return false;
    Rejected why;
    if (try_cublas(dir, file, major, wanted_major, report, out, why)) {
      report.tried.push_back({label, "loaded"});
      report.loaded = true;
      return true;
    }
    report.tried.push_back({label, why.reason});
    return false;
  };
  auto in_dir = [&](const std::string& dir) {
    for (int major : majors)
      if (attempt(dir, "", major)) return true;
    return false;
  };
  const char* hint =
      "Install cuBLAS (for example `pip install nvidia-cublas-cu12`, or `nvidia-cublas` for CUDA 13), or "
      "set CONVNET_CUBLAS_PATH to libcublas.so.N or its folder.";
  const char* const kCublasVariable = "CONVNET_CUBLAS_PATH or the cublasPath option";
  if (!options.cublas_path.empty()) {
    const std::string& p = options.cublas_path;
    if (dir_exists(p)) {
      if (!in_dir(p)) fail("E_CUDA", search_failure("cuBLAS", hint, report));
      return;
    }
    // A file: its major from the name (libcublas.so.12), its libcublasLt beside it.
    int major = 0;
    const std::string base = basename_of(p);
    if (base.rfind("libcublas.so.", 0) == 0 && base.size() > 13 && base.size() < 16 &&
        base.find_first_not_of("0123456789", 13) == std::string::npos)
      major = std::stoi(base.substr(13));
    if (major == 0) {
      report.tried.push_back({p, "expected a file named libcublas.so.12 or libcublas.so.13, or a folder"});
      fail("E_CUDA", explicit_failure("cuBLAS", kCublasVariable, report));
    }
    if (!attempt(dirname_of(p), p, major)) fail("E_CUDA", explicit_failure("cuBLAS", kCublasVariable, report));
    return;
  }
  for (int major : majors) {
    const std::string name = "libcublas.so." + std::to_string(major);
    dlerror();
    if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      const std::string dir = origin_of(h);
      const bool ok = !dir.empty() && attempt(dir, "", major);
      dlclose(h);
      if (ok) return;
    } else {
      report.tried.push_back({name + " via the system loader", "not found"});
    }
  }
  for (const std::string& sp : options.site_packages) {
    // CUDA 13's wheel is `nvidia-cublas` in nvidia/cu13/lib; CUDA 12's nvidia/cublas/lib (ref §5).
    if (in_dir(join(sp, "nvidia/cu13/lib")) || in_dir(join(sp, "nvidia/cublas/lib"))) return;
  }
  for (const std::string& dir : options.toolkit_dirs)
    if (in_dir(dir)) return;
  fail("E_CUDA", search_failure("cuBLAS", hint, report));
}

}  // namespace

std::string cudnn_version_string(size_t v) {
  const bool new_encoding = v >= 10000;  // 9.x: MAJOR*10000 (90600); 8.x: MAJOR*1000 (8907)
  const size_t major = new_encoding ? v / 10000 : v / 1000;
  const size_t minor = new_encoding ? (v % 10000) / 100 : (v % 1000) / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

LoadReport load_libraries(const LoadOptions& options) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto guard = [](LibraryReport& report, auto&& search) {
    try {
      search();
    } catch (const Error& e) {
      report.loaded = false;
      report.version = report.cuda_version = 0;  // what a rejected candidate said
      report.version_string.clear();
      report.error_code = e.code();
      report.error_message = e.what();
    } catch (const std::exception& e) {
      report.loaded = false;
      report.error_code = "E_INTERNAL";
      report.error_message = e.what();
    }
  };
  if (!s.cudnn_loaded) {
    LibraryReport report;
    CudnnLoaded loaded;
    guard(report, [&] { search_cudnn(options, report, loaded); });
    if (report.loaded) s.cudnn = loaded, s.cudnn_loaded = true;
    s.last.cudnn = report;
  }
  if (!s.cublas_loaded) {
    LibraryReport report;
    CublasFunctions loaded;
    const int wanted = s.cudnn_loaded ? static_cast<int>(s.cudnn.cudart_version / 1000) : 0;
    guard(report, [&] { search_cublas(options, wanted, report, loaded); });
    if (report.loaded) s.cublas = loaded, s.cublas_loaded = true;
    s.last.cublas = report;
  }
  return s.last;
}

bool libraries_loaded() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.cudnn_loaded && s.cublas_loaded;
}

const decl::CudnnFunctions& cudnn_functions() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.cudnn_loaded)
    fail("E_CUDNN", s.last.cudnn.error_message.empty() ? "cuDNN is not loaded" : s.last.cudnn.error_message);
  return s.cudnn.fns;
}

const decl::CublasFunctions& cublas_functions() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.cublas_loaded)
    fail("E_CUDA", s.last.cublas.error_message.empty() ? "cuBLAS is not loaded" : s.last.cublas.error_message);
  return s.cublas;
}

}  // namespace cuda
}  // namespace convnet
