// Checks native/cuda/cudnn_decls.h against the real cuDNN and cuBLAS headers, at compile time:
// every enum value and enum size, every function type (std::is_same of the real declaration and
// of the same X-macro text), and the AlgoPerf struct layouts. It compiles only where the real
// headers are; nothing here runs. The addon's normal build never includes this file.
//
// How to run it (a GPU machine with the NVIDIA wheels, or any machine with the headers):
//
//   SP=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
//   # CUDA 12 wheels: cuBLAS headers in nvidia/cublas/include; CUDA 13: nvidia/cu13/include
//   npx cmake-js build --out build-check \
//     --CDCONVNET_CUDNN_INCLUDE=$SP/nvidia/cudnn/include \
//     --CDCONVNET_CUBLAS_INCLUDE=$SP/nvidia/cublas/include
//
// (the addon then depends on the object library convnet_check_decls, so a mismatch fails the
// build), or directly:
//
//   g++ -std=c++17 -fsyntax-only -Inative -I$SP/nvidia/cudnn/include \
//       -I$SP/nvidia/cublas/include -I/usr/local/cuda/include native/cuda/check_decls.cc
//
// A failing static_assert names the declaration that differs from the real header.
#include <cublasLt.h>
#include <cublas_api.h>  // the _v2 names themselves, without cublas_v2.h's renaming macros
#include <cudnn.h>
#include <library_types.h>

#include <cstddef>
#include <type_traits>

#include "cuda/cudnn_decls.h"

namespace mine = convnet::cuda::decl;

// Enum values: ours equal the real enumerator, which is of the real enum type named in the list.
#define CONVNET_CHECK_ENUM(type, name, value)                                                  \
  static_assert(static_cast<long long>(::name) == (value), #name ": the real value differs");   \
  static_assert(static_cast<long long>(mine::name) == static_cast<long long>(::name), #name);   \
  static_assert(std::is_same_v<std::remove_cv_t<decltype(::name)>, ::type>, #name ": not a " #type);
CONVNET_CUDNN_STATUS_ENUM(CONVNET_CHECK_ENUM)
CONVNET_CUDNN_OTHER_ENUMS(CONVNET_CHECK_ENUM)
CONVNET_CUBLAS_ENUMS(CONVNET_CHECK_ENUM)
#undef CONVNET_CHECK_ENUM

// Enum sizes: ours have a fixed int underlying type; the real ones must be the same size.
#define CONVNET_CHECK_ENUM_SIZE(type) static_assert(sizeof(::type) == sizeof(mine::type), #type ": size differs");
CONVNET_ENUM_TYPES(CONVNET_CHECK_ENUM_SIZE)
#undef CONVNET_CHECK_ENUM_SIZE

// Function types: the list's text, read here at global scope, names the real types; it must
// give exactly the type of the real declaration (parameter types, their order, the result).
// Taking the address into a pointer of exactly our type picks the matching overload (cuBLAS 13's
// C++ headers overload cublasGemmEx and friends) and fails to compile when none matches.
#define CONVNET_CHECK_FUNCTION(name, ret, params) [[maybe_unused]] ret(*const check_##name) params = &::name;
CONVNET_CUDNN_FUNCTIONS(CONVNET_CHECK_FUNCTION)
CONVNET_CUBLAS_FUNCTIONS(CONVNET_CHECK_FUNCTION)
CONVNET_CUBLASLT_FUNCTIONS(CONVNET_CHECK_FUNCTION)
#undef CONVNET_CHECK_FUNCTION

// The AlgoPerf structs: same size and field offsets.
#define CONVNET_CHECK_FIELD(T, field) \
  static_assert(offsetof(::T, field) == offsetof(mine::T, field), #T "::" #field ": offset differs");
#define CONVNET_CHECK_ALGO_PERF(T)                                                  \
  static_assert(sizeof(::T) == sizeof(mine::T), #T ": size differs");              \
  CONVNET_CHECK_FIELD(T, algo) CONVNET_CHECK_FIELD(T, status) CONVNET_CHECK_FIELD(T, time) \
  CONVNET_CHECK_FIELD(T, memory) CONVNET_CHECK_FIELD(T, determinism) CONVNET_CHECK_FIELD(T, mathType) \
  CONVNET_CHECK_FIELD(T, reserved)
CONVNET_CHECK_ALGO_PERF(cudnnConvolutionFwdAlgoPerf_t)
CONVNET_CHECK_ALGO_PERF(cudnnConvolutionBwdDataAlgoPerf_t)
CONVNET_CHECK_ALGO_PERF(cudnnConvolutionBwdFilterAlgoPerf_t)
#undef CONVNET_CHECK_ALGO_PERF
#undef CONVNET_CHECK_FIELD

// cudaStream_t is the runtime's own type, not a look-alike.
static_assert(std::is_same_v<mine::cudaStream_t, ::cudaStream_t>, "cudaStream_t differs");
static_assert(std::is_same_v<mine::cudnnBackendDescriptor_t, ::cudnnBackendDescriptor_t>, "cudnnBackendDescriptor_t differs");
