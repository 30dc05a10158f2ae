// Run-time loading of cuDNN 9 and cuBLAS 12/13 with dlopen (design decision 1): the addon links
// neither, so the same binary loads on machines without them and uses them where they are.
//
// Search order, per library: an explicit path (a file or a folder; option or environment
// variable, settled by lib/cuda.ts), the system loader, NVIDIA's Python wheels in the
// site-packages folders JavaScript passes (nvidia/cudnn/lib; nvidia/cu13/lib, nvidia/cublas/lib),
// the CUDA toolkit folders it passes. An explicit path is the only place tried when given.
//
// Nothing here calls into a library before its sub-libraries are loaded by full path (the cuDNN
// shim aborts the process when it cannot load them), and loading needs no GPU: only the version
// functions are called. A success is kept for the life of the process; a failure is retried
// on the next call (the user may have installed something or changed the options).
#pragma once
#include <string>
#include <vector>

#include "cuda/cudnn_decls.h"

namespace convnet {
namespace cuda {

struct LoadOptions {
  std::string cudnn_path;                  // explicit file or folder; empty: search
  std::string cublas_path;                 // explicit file or folder; empty: search
  std::vector<std::string> site_packages;  // Python site-packages folders, in order
  std::vector<std::string> toolkit_dirs;   // CUDA toolkit library folders, in order
};

// One place looked at, and what happened there ("loaded", "no such file", or why not).
struct Attempt {
  std::string path;
  std::string result;
};

// What the search for one library found. error_code is empty when it loaded.
struct LibraryReport {
  bool loaded = false;
  std::string path;                    // the library's full path (the shim for cuDNN)
  std::vector<std::string> libraries;  // every file loaded, in load order
  int version = 0;                     // cuDNN: 90600 for 9.6.0; cuBLAS: 120604 for 12.6.4
  std::string version_string;          // "9.6.0"
  int cuda_version = 0;                // cuDNN: the CUDA runtime it was built with (12080)
  std::vector<Attempt> tried;
  std::string error_code;              // E_CUDNN or E_CUDA
  std::string error_message;           // names every place tried
};

struct LoadReport {
  LibraryReport cudnn;
  LibraryReport cublas;
};

// Loads both libraries (cuDNN first: its CUDA version picks cuBLAS's major). Never throws.
LoadReport load_libraries(const LoadOptions& options);

// Whether both libraries are loaded (by an earlier load_libraries()).
bool libraries_loaded();

// The function tables; throw E_CUDNN / E_CUDA (the last load's message) when not loaded.
const decl::CudnnFunctions& cudnn_functions();
const decl::CublasFunctions& cublas_functions();

// "9.6.0" from cudnnGetVersion(): MAJOR*10000+MINOR*100+PATCH since 9, MAJOR*1000+... before.
std::string cudnn_version_string(size_t version);

}  // namespace cuda
}  // namespace convnet
