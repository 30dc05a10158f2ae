// The cuDNN 9 and cuBLAS 12/13 declarations the CUDA backend uses, written by hand: the build
// machines have no cudnn.h and no cublas_v2.h, and the addon dlopens both libraries at run time
// (design decision 1). "ref L<n>" is the line of ../shared/reference/cudnn9-api.md that states
// the fact; "[memory]" marks the few declarations that note does not give, written from memory.
//
// Everything is an X-macro list so that native/cuda/check_decls.cc can expand the same text
// against the real headers (on a machine that has them) and static_assert every enum value and
// every function type. Run it before relying on a new declaration; see that file's header.
//
// The names are the C names, inside namespace convnet::cuda::decl, so that the real headers can
// sit beside them in check_decls.cc without a clash. None of them is a macro in the real headers.
#pragma once
#include <cstddef>
#include <cstdint>

// cudaStream_t is `struct CUstream_st*` (ref L201-202); declared globally, exactly as
// driver_types.h does, so that it is the same type as the CUDA runtime's.
struct CUstream_st;

namespace convnet {
namespace cuda {
namespace decl {

using cudaStream_t = ::CUstream_st*;

// ---- opaque handles: pointers to incomplete structs (ref L198-202) ---------------------------
struct cudnnContext;
struct cudnnTensorStruct;
struct cudnnFilterStruct;
struct cudnnConvolutionStruct;
struct cudnnPoolingStruct;
struct cudnnActivationStruct;
struct cudnnOpTensorStruct;
struct cudnnLRNStruct;
struct cublasContext;  // ref L496
using cudnnHandle_t = cudnnContext*;
using cudnnTensorDescriptor_t = cudnnTensorStruct*;
using cudnnFilterDescriptor_t = cudnnFilterStruct*;
using cudnnConvolutionDescriptor_t = cudnnConvolutionStruct*;
using cudnnPoolingDescriptor_t = cudnnPoolingStruct*;
using cudnnActivationDescriptor_t = cudnnActivationStruct*;
using cudnnOpTensorDescriptor_t = cudnnOpTensorStruct*;
using cudnnLRNDescriptor_t = cudnnLRNStruct*;
using cublasHandle_t = cublasContext*;
// The backend API's descriptors are untyped (cudnn_graph.h: typedef void *cudnnBackendDescriptor_t).
using cudnnBackendDescriptor_t = void*;

// ---- enums: X(type, enumerator, value) ---------------------------------------------------------
// cudnnStatus_t, ref L426-437 (cuDNN 9 numbering; 8.x used 0..14). The deprecated aliases of
// ref L438-439 are left out: each value appears once so that status names can be looked up.
#define CONVNET_CUDNN_STATUS_ENUM(X)                                              \
  X(cudnnStatus_t, CUDNN_STATUS_SUCCESS, 0)                                       \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_INITIALIZED, 1001)                            \
  X(cudnnStatus_t, CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, 1002)                \
  X(cudnnStatus_t, CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH, 1003)             \
  X(cudnnStatus_t, CUDNN_STATUS_DEPRECATED, 1004)                                 \
  X(cudnnStatus_t, CUDNN_STATUS_LICENSE_ERROR, 1005)                              \
  X(cudnnStatus_t, CUDNN_STATUS_RUNTIME_IN_PROGRESS, 1006)                        \
  X(cudnnStatus_t, CUDNN_STATUS_RUNTIME_FP_OVERFLOW, 1007)                        \
  X(cudnnStatus_t, CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, 1008)                  \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM, 2000)                                  \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_NULL_POINTER, 2002)                     \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, 2003)               \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, 2004)                    \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, 2005)                     \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT, 2006)                \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, 2007)                  \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, 2008)                   \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, 2009)               \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, 2010)                   \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH, 2011)              \
  X(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, 2012)                  \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED, 3000)                              \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, 3001)                \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_SHAPE, 3002)                        \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, 3003)                    \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, 3004)                       \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, 3005)     \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART, 3006)          \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, 3007)                \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING, 3008) \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE, 3009)       \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT, 3010)   \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_PADDING, 3011)                      \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM, 3012)             \
  X(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API, 3013)        \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR, 4000)                             \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED, 4001)          \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE, 4002)            \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, 4003)      \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, 4004)    \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM, 4005)            \
  X(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED, 4006)     \
  X(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED, 5000)                           \
  X(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, 5001)               \
  X(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED_CUBLAS, 5002)                    \
  X(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED_CUDART, 5003)                    \
  X(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED_CURAND, 5004)

#define CONVNET_CUDNN_OTHER_ENUMS(X)                                                   \
  /* cudnnDataType_t, ref L444-447 (the 9.x additions 15, 16 left out) */              \
  X(cudnnDataType_t, CUDNN_DATA_FLOAT, 0)                                              \
  X(cudnnDataType_t, CUDNN_DATA_DOUBLE, 1)                                             \
  X(cudnnDataType_t, CUDNN_DATA_HALF, 2)                                               \
  X(cudnnDataType_t, CUDNN_DATA_INT8, 3)                                               \
  X(cudnnDataType_t, CUDNN_DATA_INT32, 4)                                              \
  X(cudnnDataType_t, CUDNN_DATA_UINT8, 6)                                              \
  X(cudnnDataType_t, CUDNN_DATA_BFLOAT16, 9)                                           \
  X(cudnnDataType_t, CUDNN_DATA_INT64, 10)                                             \
  X(cudnnDataType_t, CUDNN_DATA_BOOLEAN, 11)                                           \
  /* cudnnTensorFormat_t, ref L449 */                                                  \
  X(cudnnTensorFormat_t, CUDNN_TENSOR_NCHW, 0)                                         \
  X(cudnnTensorFormat_t, CUDNN_TENSOR_NHWC, 1)                                         \
  X(cudnnTensorFormat_t, CUDNN_TENSOR_NCHW_VECT_C, 2)                                  \
  /* cudnnConvolutionMode_t, ref L450 */                                               \
  X(cudnnConvolutionMode_t, CUDNN_CONVOLUTION, 0)                                      \
  X(cudnnConvolutionMode_t, CUDNN_CROSS_CORRELATION, 1)                                \
  /* cudnnConvolutionFwdAlgo_t, ref L453-454 */                                        \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 0)            \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, 1)    \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, 2)                     \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, 3)                   \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_FFT, 4)                      \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, 5)               \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, 6)                 \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, 7)        \
  X(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, 8)                    \
  /* cudnnConvolutionBwdDataAlgo_t, ref L455-456 */                                    \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, 0)               \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, 1)               \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, 2)             \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, 3)      \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, 4)        \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, 5) \
  X(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, 6)           \
  /* cudnnConvolutionBwdFilterAlgo_t, ref L457-459 */                                  \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, 0)           \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, 1)           \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, 2)         \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, 3)           \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, 4)    \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, 5) \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, 6)  \
  X(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, 7)       \
  /* cudnnPoolingMode_t, ref L461-462 */                                               \
  X(cudnnPoolingMode_t, CUDNN_POOLING_MAX, 0)                                          \
  X(cudnnPoolingMode_t, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, 1)                \
  X(cudnnPoolingMode_t, CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING, 2)                \
  X(cudnnPoolingMode_t, CUDNN_POOLING_MAX_DETERMINISTIC, 3)                            \
  /* cudnnNanPropagation_t, ref L463 */                                                \
  X(cudnnNanPropagation_t, CUDNN_NOT_PROPAGATE_NAN, 0)                                 \
  X(cudnnNanPropagation_t, CUDNN_PROPAGATE_NAN, 1)                                     \
  /* cudnnActivationMode_t, ref L465-467 (no leaky ReLU in the legacy API) */          \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_SIGMOID, 0)                                \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_RELU, 1)                                   \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_TANH, 2)                                   \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_CLIPPED_RELU, 3)                           \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_ELU, 4)                                    \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_IDENTITY, 5)                               \
  X(cudnnActivationMode_t, CUDNN_ACTIVATION_SWISH, 6)                                  \
  /* cudnnSoftmaxAlgorithm_t, ref L477 */                                              \
  X(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_FAST, 0)                                    \
  X(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_ACCURATE, 1)                                \
  X(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_LOG, 2)                                     \
  /* cudnnSoftmaxMode_t, ref L478 */                                                   \
  X(cudnnSoftmaxMode_t, CUDNN_SOFTMAX_MODE_INSTANCE, 0)                                \
  X(cudnnSoftmaxMode_t, CUDNN_SOFTMAX_MODE_CHANNEL, 1)                                 \
  /* cudnnMathType_t, ref L479 */                                                      \
  X(cudnnMathType_t, CUDNN_DEFAULT_MATH, 0)                                            \
  X(cudnnMathType_t, CUDNN_TENSOR_OP_MATH, 1)                                          \
  X(cudnnMathType_t, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, 2)                         \
  X(cudnnMathType_t, CUDNN_FMA_MATH, 3)                                                \
  /* cudnnDeterminism_t, ref L480 */                                                   \
  X(cudnnDeterminism_t, CUDNN_NON_DETERMINISTIC, 0)                                    \
  X(cudnnDeterminism_t, CUDNN_DETERMINISTIC, 1)                                        \
  /* cudnnOpTensorOp_t, ref L481 */                                                    \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_ADD, 0)                                         \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_MUL, 1)                                         \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_MIN, 2)                                         \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_MAX, 3)                                         \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_SQRT, 4)                                        \
  X(cudnnOpTensorOp_t, CUDNN_OP_TENSOR_NOT, 5)                                         \
  /* checked against cuDNN 9.19's cudnn_ops.h */                                       \
  X(cudnnLRNMode_t, CUDNN_LRN_CROSS_CHANNEL_DIM1, 0)                                   \
  X(cudnnBatchNormMode_t, CUDNN_BATCHNORM_PER_ACTIVATION, 0)                           \
  X(cudnnBatchNormMode_t, CUDNN_BATCHNORM_SPATIAL, 1)                                  \
  X(cudnnBatchNormMode_t, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, 2)                       \
  CONVNET_CUDNN_BACKEND_ENUMS(X)

// The backend (graph) API's enums, cudnn_graph.h of cuDNN 9.19 (checked there): only the values
// conv2d's graph path uses (native/cuda/conv_graph.cc), plus every note (they are read back).
// OPERATIONGRAPH_HANDLE and EXECUTION_PLAN_HANDLE are marked deprecated in 9.x but still taken.
#define CONVNET_CUDNN_BACKEND_ENUMS(X)                                                          \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, 1)                      \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_ENGINE_DESCRIPTOR, 2)                           \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, 3)                        \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, 4)                       \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, 5)                   \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, 10)   \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR, 11) \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR, 12) \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, 15)                  \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, 16)                    \
  X(cudnnBackendDescriptorType_t, CUDNN_BACKEND_TENSOR_DESCRIPTOR, 17)                          \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, 100)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_CONV_MODE, 101)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_DILATIONS, 102)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, 103)                    \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, 104)                     \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, 105)                      \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 106)                      \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINEHEUR_MODE, 200)                               \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, 201)                    \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINEHEUR_RESULTS, 202)                            \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINECFG_ENGINE, 300)                              \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, 400)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, 401)                  \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, 402)                 \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, 700)           \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, 701)            \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, 702)       \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, 703)               \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, 704)               \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, 705)               \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, 706)          \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, 707)           \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, 708)      \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, 709)              \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, 710)             \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, 711)             \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, 712)        \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, 713)         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, 714)    \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, 715)           \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, 716)            \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, 717)           \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, 800)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATIONGRAPH_OPS, 801)                            \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, 900)                         \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_TENSOR_DATA_TYPE, 901)                              \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_TENSOR_DIMENSIONS, 902)                             \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_TENSOR_STRIDES, 903)                                \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_TENSOR_UNIQUE_ID, 906)                              \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, 1000)                      \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, 1001)                   \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, 1003)                       \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT, 802)            \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, 1300)                       \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, 1301)                          \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, 1303)                        \
  X(cudnnBackendAttributeName_t, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, 1305)                         \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_HANDLE, 0)                                          \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_DATA_TYPE, 1)                                       \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_BOOLEAN, 2)                                         \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_INT64, 3)                                           \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_FLOAT, 4)                                           \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_DOUBLE, 5)                                          \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_VOID_PTR, 6)                                        \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_CONVOLUTION_MODE, 7)                                \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_HEUR_MODE, 8)                                       \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_NUMERICAL_NOTE, 11)                                 \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_BACKEND_DESCRIPTOR, 15)                             \
  X(cudnnBackendAttributeType_t, CUDNN_TYPE_BEHAVIOR_NOTE, 19)                                  \
  X(cudnnBackendHeurMode_t, CUDNN_HEUR_MODE_INSTANT, 0)                                         \
  X(cudnnBackendHeurMode_t, CUDNN_HEUR_MODE_B, 1)                                               \
  X(cudnnBackendHeurMode_t, CUDNN_HEUR_MODE_FALLBACK, 2)                                        \
  X(cudnnBackendHeurMode_t, CUDNN_HEUR_MODE_A, 3)                                               \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_TENSOR_CORE, 0)                           \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS, 1)                   \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION, 2)           \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_FFT, 3)                                   \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC, 4)                      \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_WINOGRAD, 5)                              \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4, 6)                     \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6, 7)                     \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13, 8)                   \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_STRICT_NAN_PROP, 9)                       \
  X(cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, 10)                           \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION, 0)                     \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_REQUIRES_FILTER_INT8x32_REORDER, 1)         \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_REQUIRES_BIAS_INT8x32_REORDER, 2)           \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_SUPPORTS_CUDA_GRAPH_NATIVE_API, 3)          \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_CUBLASLT_DEPENDENCY, 4)                     \
  X(cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, 5)

#define CONVNET_CUBLAS_ENUMS(X)                                                        \
  /* cublasStatus_t, ref L523-526 */                                                   \
  X(cublasStatus_t, CUBLAS_STATUS_SUCCESS, 0)                                          \
  X(cublasStatus_t, CUBLAS_STATUS_NOT_INITIALIZED, 1)                                  \
  X(cublasStatus_t, CUBLAS_STATUS_ALLOC_FAILED, 3)                                     \
  X(cublasStatus_t, CUBLAS_STATUS_INVALID_VALUE, 7)                                    \
  X(cublasStatus_t, CUBLAS_STATUS_ARCH_MISMATCH, 8)                                    \
  X(cublasStatus_t, CUBLAS_STATUS_MAPPING_ERROR, 11)                                   \
  X(cublasStatus_t, CUBLAS_STATUS_EXECUTION_FAILED, 13)                                \
  X(cublasStatus_t, CUBLAS_STATUS_INTERNAL_ERROR, 14)                                  \
  X(cublasStatus_t, CUBLAS_STATUS_NOT_SUPPORTED, 15)                                   \
  X(cublasStatus_t, CUBLAS_STATUS_LICENSE_ERROR, 16)                                   \
  /* cublasOperation_t, ref L527-528 */                                                \
  X(cublasOperation_t, CUBLAS_OP_N, 0)                                                 \
  X(cublasOperation_t, CUBLAS_OP_T, 1)                                                 \
  X(cublasOperation_t, CUBLAS_OP_C, 2)                                                 \
  /* cublasMath_t, ref L529-532 */                                                     \
  X(cublasMath_t, CUBLAS_DEFAULT_MATH, 0)                                              \
  X(cublasMath_t, CUBLAS_TENSOR_OP_MATH, 1)                                            \
  X(cublasMath_t, CUBLAS_PEDANTIC_MATH, 2)                                             \
  X(cublasMath_t, CUBLAS_TF32_TENSOR_OP_MATH, 3)                                       \
  X(cublasMath_t, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION, 16)                \
  /* cublasComputeType_t, ref L533-536 */                                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_16F, 64)                                       \
  X(cublasComputeType_t, CUBLAS_COMPUTE_16F_PEDANTIC, 65)                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32F, 68)                                       \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32F_PEDANTIC, 69)                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_64F, 70)                                       \
  X(cublasComputeType_t, CUBLAS_COMPUTE_64F_PEDANTIC, 71)                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32I, 72)                                       \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32I_PEDANTIC, 73)                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32F_FAST_16F, 74)                              \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32F_FAST_16BF, 75)                             \
  X(cublasComputeType_t, CUBLAS_COMPUTE_32F_FAST_TF32, 77)                             \
  /* cublasGemmAlgo_t, ref L537-538 */                                                 \
  X(cublasGemmAlgo_t, CUBLAS_GEMM_DEFAULT, -1)                                         \
  X(cublasGemmAlgo_t, CUBLAS_GEMM_DEFAULT_TENSOR_OP, 99)                               \
  /* cudaDataType (library_types.h), ref L539-541 */                                   \
  X(cudaDataType, CUDA_R_32F, 0)                                                       \
  X(cudaDataType, CUDA_R_64F, 1)                                                       \
  X(cudaDataType, CUDA_R_16F, 2)                                                       \
  X(cudaDataType, CUDA_R_8I, 3)                                                        \
  X(cudaDataType, CUDA_R_32I, 10)                                                      \
  X(cudaDataType, CUDA_R_16BF, 14)                                                     \
  /* libraryPropertyType (library_types.h), for cublasGetProperty [memory] */          \
  X(libraryPropertyType, MAJOR_VERSION, 0)                                             \
  X(libraryPropertyType, MINOR_VERSION, 1)                                             \
  X(libraryPropertyType, PATCH_LEVEL, 2)

// Every enum type of the lists above (4 bytes each, ref L414-416).
#define CONVNET_ENUM_TYPES(T)                                                                  \
  T(cudnnStatus_t) T(cudnnDataType_t) T(cudnnTensorFormat_t) T(cudnnConvolutionMode_t)         \
  T(cudnnConvolutionFwdAlgo_t) T(cudnnConvolutionBwdDataAlgo_t) T(cudnnConvolutionBwdFilterAlgo_t) \
  T(cudnnPoolingMode_t) T(cudnnNanPropagation_t) T(cudnnActivationMode_t) T(cudnnSoftmaxAlgorithm_t) \
  T(cudnnSoftmaxMode_t) T(cudnnMathType_t) T(cudnnDeterminism_t) T(cudnnOpTensorOp_t)          \
  T(cudnnLRNMode_t) T(cudnnBatchNormMode_t)                                                    \
  T(cudnnBackendDescriptorType_t) T(cudnnBackendAttributeName_t) T(cudnnBackendAttributeType_t) \
  T(cudnnBackendHeurMode_t) T(cudnnBackendNumericalNote_t) T(cudnnBackendBehaviorNote_t)       \
  T(cublasStatus_t) T(cublasOperation_t) T(cublasMath_t) T(cublasComputeType_t) T(cublasGemmAlgo_t) \
  T(cudaDataType) T(libraryPropertyType)

// The enum types have a fixed underlying int (the real ones are plain C enums of 4 bytes, which
// check_decls.cc asserts), so that any value cuDNN returns, also one this list lacks, is valid.
enum cudnnStatus_t : int {};
enum cudnnDataType_t : int {};
enum cudnnTensorFormat_t : int {};
enum cudnnConvolutionMode_t : int {};
enum cudnnConvolutionFwdAlgo_t : int {};
enum cudnnConvolutionBwdDataAlgo_t : int {};
enum cudnnConvolutionBwdFilterAlgo_t : int {};
enum cudnnPoolingMode_t : int {};
enum cudnnNanPropagation_t : int {};
enum cudnnActivationMode_t : int {};
enum cudnnSoftmaxAlgorithm_t : int {};
enum cudnnSoftmaxMode_t : int {};
enum cudnnMathType_t : int {};
enum cudnnDeterminism_t : int {};
enum cudnnOpTensorOp_t : int {};
enum cudnnLRNMode_t : int {};
enum cudnnBatchNormMode_t : int {};
enum cudnnBackendDescriptorType_t : int {};
enum cudnnBackendAttributeName_t : int {};
enum cudnnBackendAttributeType_t : int {};
enum cudnnBackendHeurMode_t : int {};
enum cudnnBackendNumericalNote_t : int {};
enum cudnnBackendBehaviorNote_t : int {};
enum cublasStatus_t : int {};
enum cublasOperation_t : int {};
enum cublasMath_t : int {};
enum cublasComputeType_t : int {};
enum cublasGemmAlgo_t : int {};
enum cudaDataType : int {};
enum libraryPropertyType : int {};
// The enumerators as typed constants (an enum with a fixed underlying type takes any int value).
#define CONVNET_DECLARE_CONSTANT(type, name, value) constexpr type name = static_cast<type>(value);
CONVNET_CUDNN_STATUS_ENUM(CONVNET_DECLARE_CONSTANT)
CONVNET_CUDNN_OTHER_ENUMS(CONVNET_DECLARE_CONSTANT)
CONVNET_CUBLAS_ENUMS(CONVNET_DECLARE_CONSTANT)
#undef CONVNET_DECLARE_CONSTANT

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: identical layouts, sizeof 48 (ref L399-413).
#define CONVNET_DECLARE_ALGO_PERF(Name, Algo) \
  struct Name {                               \
    Algo algo;                                \
    cudnnStatus_t status;                     \
    float time;                               \
    size_t memory;                            \
    cudnnDeterminism_t determinism;           \
    cudnnMathType_t mathType;                 \
    int reserved[3];                          \
  };
CONVNET_DECLARE_ALGO_PERF(cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t)
CONVNET_DECLARE_ALGO_PERF(cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t)
CONVNET_DECLARE_ALGO_PERF(cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t)
#undef CONVNET_DECLARE_ALGO_PERF
static_assert(sizeof(cudnnConvolutionFwdAlgoPerf_t) == 48, "ref L402: sizeof == 48 on x86-64");

// ---- functions: X(name, return type, (parameters)) ---------------------------------------------
// libcudnn.so.9; every name is exported by the shim (ref L119-141). Prototypes: ref L204-396.
#define CONVNET_CUDNN_FUNCTIONS(X)                                                                      \
  /* cudnn_graph.h, ref L205-213 */                                                                   \
  X(cudnnGetVersion, size_t, (void))                                                                  \
  X(cudnnGetCudartVersion, size_t, (void))                                                            \
  X(cudnnGetErrorString, const char*, (cudnnStatus_t status))                                         \
  X(cudnnGetLastErrorString, void, (char* message, size_t max_size))                                  \
  X(cudnnCreate, cudnnStatus_t, (cudnnHandle_t * handle))                                             \
  X(cudnnDestroy, cudnnStatus_t, (cudnnHandle_t handle))                                              \
  X(cudnnSetStream, cudnnStatus_t, (cudnnHandle_t handle, cudaStream_t streamId))                     \
  X(cudnnGetStream, cudnnStatus_t, (cudnnHandle_t handle, cudaStream_t * streamId))                   \
  /* the backend (graph) API, cudnn_graph.h (checked against cuDNN 9.19) */                          \
  X(cudnnBackendCreateDescriptor, cudnnStatus_t,                                                      \
    (cudnnBackendDescriptorType_t descriptorType, cudnnBackendDescriptor_t * descriptor))             \
  X(cudnnBackendDestroyDescriptor, cudnnStatus_t, (cudnnBackendDescriptor_t descriptor))              \
  X(cudnnBackendFinalize, cudnnStatus_t, (cudnnBackendDescriptor_t descriptor))                       \
  X(cudnnBackendSetAttribute, cudnnStatus_t,                                                          \
    (cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName,                   \
     cudnnBackendAttributeType_t attributeType, int64_t elementCount, const void* arrayOfElements))    \
  X(cudnnBackendGetAttribute, cudnnStatus_t,                                                          \
    (cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t attributeName,             \
     cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount, int64_t* elementCount,  \
     void* arrayOfElements))                                                                          \
  X(cudnnBackendExecute, cudnnStatus_t,                                                               \
    (cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack)) \
  /* cudnn_ops.h tensors, ref L215-240 */                                                             \
  X(cudnnCreateTensorDescriptor, cudnnStatus_t, (cudnnTensorDescriptor_t * tensorDesc))               \
  X(cudnnSetTensor4dDescriptor, cudnnStatus_t,                                                        \
    (cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n,  \
     int c, int h, int w))                                                                            \
  X(cudnnSetTensor4dDescriptorEx, cudnnStatus_t,                                                      \
    (cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int n, int c, int h, int w,          \
     int nStride, int cStride, int hStride, int wStride))                                             \
  X(cudnnSetTensorNdDescriptor, cudnnStatus_t,                                                        \
    (cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int nbDims, const int dimA[],        \
     const int strideA[]))                                                                            \
  X(cudnnSetTensorNdDescriptorEx, cudnnStatus_t,                                                      \
    (cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType,          \
     int nbDims, const int dimA[]))                                                                   \
  X(cudnnGetTensorSizeInBytes, cudnnStatus_t, (const cudnnTensorDescriptor_t tensorDesc, size_t* size)) \
  X(cudnnDestroyTensorDescriptor, cudnnStatus_t, (cudnnTensorDescriptor_t tensorDesc))                \
  X(cudnnSetTensor, cudnnStatus_t,                                                                    \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t yDesc, void* y, const void* valuePtr))             \
  X(cudnnAddTensor, cudnnStatus_t,                                                                    \
    (cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t aDesc, const void* A,           \
     const void* beta, const cudnnTensorDescriptor_t cDesc, void* C))                                 \
  X(cudnnCreateOpTensorDescriptor, cudnnStatus_t, (cudnnOpTensorDescriptor_t * opTensorDesc))         \
  X(cudnnSetOpTensorDescriptor, cudnnStatus_t,                                                        \
    (cudnnOpTensorDescriptor_t d, cudnnOpTensorOp_t op, cudnnDataType_t opTensorCompType,              \
     cudnnNanPropagation_t nanOpt))                                                                   \
  X(cudnnDestroyOpTensorDescriptor, cudnnStatus_t, (cudnnOpTensorDescriptor_t d))                     \
  X(cudnnOpTensor, cudnnStatus_t,                                                                     \
    (cudnnHandle_t h, const cudnnOpTensorDescriptor_t d, const void* alpha1,                          \
     const cudnnTensorDescriptor_t aDesc, const void* A, const void* alpha2,                          \
     const cudnnTensorDescriptor_t bDesc, const void* B, const void* beta,                            \
     const cudnnTensorDescriptor_t cDesc, void* C))                                                   \
  X(cudnnScaleTensor, cudnnStatus_t,                                                                  \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t yDesc, void* y, const void* alpha))                \
  /* cudnn_ops.h filters, ref L242-248: (dataType, format), the reverse of SetTensor4dDescriptor */    \
  X(cudnnCreateFilterDescriptor, cudnnStatus_t, (cudnnFilterDescriptor_t * filterDesc))               \
  X(cudnnSetFilter4dDescriptor, cudnnStatus_t,                                                        \
    (cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k,  \
     int c, int h, int w))                                                                            \
  X(cudnnSetFilterNdDescriptor, cudnnStatus_t,                                                        \
    (cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format,         \
     int nbDims, const int filterDimA[]))                                                             \
  X(cudnnDestroyFilterDescriptor, cudnnStatus_t, (cudnnFilterDescriptor_t filterDesc))                \
  /* cudnn_ops.h softmax, ref L250-257 */                                                             \
  X(cudnnSoftmaxForward, cudnnStatus_t,                                                               \
    (cudnnHandle_t h, cudnnSoftmaxAlgorithm_t algo, cudnnSoftmaxMode_t mode, const void* alpha,        \
     const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,                            \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnSoftmaxBackward, cudnnStatus_t,                                                              \
    (cudnnHandle_t h, cudnnSoftmaxAlgorithm_t algo, cudnnSoftmaxMode_t mode, const void* alpha,        \
     const cudnnTensorDescriptor_t yDesc, const void* y, const cudnnTensorDescriptor_t dyDesc,         \
     const void* dy, const void* beta, const cudnnTensorDescriptor_t dxDesc, void* dx))                \
  /* cudnn_ops.h pooling, ref L259-280 */                                                             \
  X(cudnnCreatePoolingDescriptor, cudnnStatus_t, (cudnnPoolingDescriptor_t * poolingDesc))            \
  X(cudnnSetPooling2dDescriptor, cudnnStatus_t,                                                       \
    (cudnnPoolingDescriptor_t poolingDesc, cudnnPoolingMode_t mode,                                   \
     cudnnNanPropagation_t maxpoolingNanOpt, int windowHeight, int windowWidth, int verticalPadding,   \
     int horizontalPadding, int verticalStride, int horizontalStride))                                \
  X(cudnnSetPoolingNdDescriptor, cudnnStatus_t,                                                       \
    (cudnnPoolingDescriptor_t poolingDesc, const cudnnPoolingMode_t mode,                             \
     const cudnnNanPropagation_t maxpoolingNanOpt, int nbDims, const int windowDimA[],                \
     const int paddingA[], const int strideA[]))                                                      \
  X(cudnnGetPooling2dForwardOutputDim, cudnnStatus_t,                                                 \
    (const cudnnPoolingDescriptor_t poolingDesc, const cudnnTensorDescriptor_t inputTensorDesc,        \
     int* n, int* c, int* h, int* w))                                                                 \
  X(cudnnDestroyPoolingDescriptor, cudnnStatus_t, (cudnnPoolingDescriptor_t poolingDesc))             \
  X(cudnnPoolingForward, cudnnStatus_t,                                                               \
    (cudnnHandle_t h, const cudnnPoolingDescriptor_t poolingDesc, const void* alpha,                  \
     const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,                            \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnPoolingBackward, cudnnStatus_t,                                                              \
    (cudnnHandle_t h, const cudnnPoolingDescriptor_t poolingDesc, const void* alpha,                  \
     const cudnnTensorDescriptor_t yDesc, const void* y, const cudnnTensorDescriptor_t dyDesc,         \
     const void* dy, const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,             \
     const cudnnTensorDescriptor_t dxDesc, void* dx))                                                 \
  /* cudnn_ops.h activation, ref L282-296 */                                                          \
  X(cudnnCreateActivationDescriptor, cudnnStatus_t, (cudnnActivationDescriptor_t * activationDesc))   \
  X(cudnnSetActivationDescriptor, cudnnStatus_t,                                                      \
    (cudnnActivationDescriptor_t activationDesc, cudnnActivationMode_t mode,                          \
     cudnnNanPropagation_t reluNanOpt, double coef))                                                  \
  X(cudnnSetActivationDescriptorSwishBeta, cudnnStatus_t,                                             \
    (cudnnActivationDescriptor_t activationDesc, double swish_beta))                                  \
  X(cudnnDestroyActivationDescriptor, cudnnStatus_t, (cudnnActivationDescriptor_t activationDesc))    \
  X(cudnnActivationForward, cudnnStatus_t,                                                            \
    (cudnnHandle_t h, cudnnActivationDescriptor_t activationDesc, const void* alpha,                  \
     const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,                            \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnActivationBackward, cudnnStatus_t,                                                           \
    (cudnnHandle_t h, cudnnActivationDescriptor_t activationDesc, const void* alpha,                  \
     const cudnnTensorDescriptor_t yDesc, const void* y, const cudnnTensorDescriptor_t dyDesc,         \
     const void* dy, const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,             \
     const cudnnTensorDescriptor_t dxDesc, void* dx))                                                 \
  /* cudnn_cnn.h, ref L298-396 */                                                                     \
  X(cudnnCreateConvolutionDescriptor, cudnnStatus_t, (cudnnConvolutionDescriptor_t * convDesc))       \
  X(cudnnDestroyConvolutionDescriptor, cudnnStatus_t, (cudnnConvolutionDescriptor_t convDesc))        \
  X(cudnnSetConvolutionMathType, cudnnStatus_t,                                                       \
    (cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType))                                \
  X(cudnnSetConvolutionGroupCount, cudnnStatus_t, (cudnnConvolutionDescriptor_t convDesc, int groupCount)) \
  X(cudnnSetConvolution2dDescriptor, cudnnStatus_t,                                                   \
    (cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h,        \
     int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType))                       \
  X(cudnnSetConvolutionNdDescriptor, cudnnStatus_t,                                                   \
    (cudnnConvolutionDescriptor_t convDesc, int arrayLength, const int padA[],                        \
     const int filterStrideA[], const int dilationA[], cudnnConvolutionMode_t mode,                   \
     cudnnDataType_t computeType))                                                                    \
  X(cudnnGetConvolution2dForwardOutputDim, cudnnStatus_t,                                             \
    (const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc,       \
     const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h, int* w))                       \
  X(cudnnGetConvolutionNdForwardOutputDim, cudnnStatus_t,                                             \
    (const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc,       \
     const cudnnFilterDescriptor_t filterDesc, int nbDims, int tensorOuputDimA[]))                    \
  X(cudnnGetConvolutionForwardAlgorithmMaxCount, cudnnStatus_t, (cudnnHandle_t h, int* count))        \
  X(cudnnGetConvolutionForwardAlgorithm_v7, cudnnStatus_t,                                            \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t srcDesc, const cudnnFilterDescriptor_t filterDesc, \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t destDesc,             \
     const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults)) \
  X(cudnnFindConvolutionForwardAlgorithm, cudnnStatus_t,                                              \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,        \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,                \
     const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults)) \
  X(cudnnFindConvolutionForwardAlgorithmEx, cudnnStatus_t,                                            \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const void* x,                             \
     const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc,  \
     const cudnnTensorDescriptor_t yDesc, void* y, const int requestedAlgoCount,                      \
     int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults, void* workSpace,             \
     size_t workSpaceSizeInBytes))                                                                    \
  X(cudnnGetConvolutionForwardWorkspaceSize, cudnnStatus_t,                                           \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,        \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,                \
     cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes))                                            \
  X(cudnnConvolutionForward, cudnnStatus_t,                                                           \
    (cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xDesc, const void* x,           \
     const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc,  \
     cudnnConvolutionFwdAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes, const void* beta,   \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnConvolutionBiasActivationForward, cudnnStatus_t,                                             \
    (cudnnHandle_t h, const void* alpha1, const cudnnTensorDescriptor_t xDesc, const void* x,          \
     const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc,  \
     cudnnConvolutionFwdAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes, const void* alpha2, \
     const cudnnTensorDescriptor_t zDesc, const void* z, const cudnnTensorDescriptor_t biasDesc,       \
     const void* bias, const cudnnActivationDescriptor_t activationDesc,                              \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnGetConvolutionBackwardDataAlgorithmMaxCount, cudnnStatus_t, (cudnnHandle_t h, int* count))   \
  X(cudnnGetConvolutionBackwardDataAlgorithm_v7, cudnnStatus_t,                                       \
    (cudnnHandle_t h, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc, \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc,             \
     const int requestedAlgoCount, int* returnedAlgoCount,                                            \
     cudnnConvolutionBwdDataAlgoPerf_t* perfResults))                                                 \
  X(cudnnFindConvolutionBackwardDataAlgorithm, cudnnStatus_t,                                         \
    (cudnnHandle_t h, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,       \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,               \
     const int requestedAlgoCount, int* returnedAlgoCount,                                            \
     cudnnConvolutionBwdDataAlgoPerf_t* perfResults))                                                 \
  X(cudnnFindConvolutionBackwardDataAlgorithmEx, cudnnStatus_t,                                       \
    (cudnnHandle_t h, const cudnnFilterDescriptor_t wDesc, const void* w,                             \
     const cudnnTensorDescriptor_t dyDesc, const void* dy, const cudnnConvolutionDescriptor_t convDesc, \
     const cudnnTensorDescriptor_t dxDesc, void* dx, const int requestedAlgoCount,                    \
     int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults, void* workSpace,         \
     size_t workSpaceSizeInBytes))                                                                    \
  X(cudnnGetConvolutionBackwardDataWorkspaceSize, cudnnStatus_t,                                      \
    (cudnnHandle_t h, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,       \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,               \
     cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes))                                        \
  X(cudnnConvolutionBackwardData, cudnnStatus_t,                                                      \
    (cudnnHandle_t h, const void* alpha, const cudnnFilterDescriptor_t wDesc, const void* w,           \
     const cudnnTensorDescriptor_t dyDesc, const void* dy, const cudnnConvolutionDescriptor_t convDesc, \
     cudnnConvolutionBwdDataAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes,                \
     const void* beta, const cudnnTensorDescriptor_t dxDesc, void* dx))                               \
  X(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount, cudnnStatus_t, (cudnnHandle_t h, int* count)) \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7, cudnnStatus_t,                                     \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t srcDesc, const cudnnTensorDescriptor_t diffDesc,   \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,             \
     const int requestedAlgoCount, int* returnedAlgoCount,                                            \
     cudnnConvolutionBwdFilterAlgoPerf_t* perfResults))                                               \
  X(cudnnFindConvolutionBackwardFilterAlgorithm, cudnnStatus_t,                                       \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,       \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc,               \
     const int requestedAlgoCount, int* returnedAlgoCount,                                            \
     cudnnConvolutionBwdFilterAlgoPerf_t* perfResults))                                               \
  X(cudnnFindConvolutionBackwardFilterAlgorithmEx, cudnnStatus_t,                                     \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const void* x,                             \
     const cudnnTensorDescriptor_t dyDesc, const void* y, const cudnnConvolutionDescriptor_t convDesc, \
     const cudnnFilterDescriptor_t dwDesc, void* dw, const int requestedAlgoCount,                    \
     int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults, void* workSpace,       \
     size_t workSpaceSizeInBytes))                                                                    \
  X(cudnnGetConvolutionBackwardFilterWorkspaceSize, cudnnStatus_t,                                    \
    (cudnnHandle_t h, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,       \
     const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,             \
     cudnnConvolutionBwdFilterAlgo_t algo, size_t* sizeInBytes))                                      \
  X(cudnnConvolutionBackwardFilter, cudnnStatus_t,                                                    \
    (cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xDesc, const void* x,           \
     const cudnnTensorDescriptor_t dyDesc, const void* dy, const cudnnConvolutionDescriptor_t convDesc, \
     cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes,              \
     const void* beta, const cudnnFilterDescriptor_t dwDesc, void* dw))                               \
  X(cudnnConvolutionBackwardBias, cudnnStatus_t,                                                      \
    (cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t dyDesc, const void* dy,         \
     const void* beta, const cudnnTensorDescriptor_t dbDesc, void* db))                                \
  /* LRN and batch norm (cudnn_ops.h, checked against cuDNN 9.19) */                                  \
  X(cudnnCreateLRNDescriptor, cudnnStatus_t, (cudnnLRNDescriptor_t * normDesc))                        \
  X(cudnnSetLRNDescriptor, cudnnStatus_t,                                                             \
    (cudnnLRNDescriptor_t normDesc, unsigned lrnN, double lrnAlpha, double lrnBeta, double lrnK))      \
  X(cudnnDestroyLRNDescriptor, cudnnStatus_t, (cudnnLRNDescriptor_t lrnDesc))                          \
  X(cudnnLRNCrossChannelForward, cudnnStatus_t,                                                       \
    (cudnnHandle_t handle, cudnnLRNDescriptor_t normDesc, cudnnLRNMode_t lrnMode, const void* alpha,  \
     const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,                            \
     const cudnnTensorDescriptor_t yDesc, void* y))                                                   \
  X(cudnnLRNCrossChannelBackward, cudnnStatus_t,                                                      \
    (cudnnHandle_t handle, cudnnLRNDescriptor_t normDesc, cudnnLRNMode_t lrnMode, const void* alpha,  \
     const cudnnTensorDescriptor_t yDesc, const void* y, const cudnnTensorDescriptor_t dyDesc,        \
     const void* dy, const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,            \
     const cudnnTensorDescriptor_t dxDesc, void* dx))                                                 \
  X(cudnnDeriveBNTensorDescriptor, cudnnStatus_t,                                                     \
    (cudnnTensorDescriptor_t derivedBnDesc, const cudnnTensorDescriptor_t xDesc,                      \
     cudnnBatchNormMode_t mode))                                                                      \
  X(cudnnBatchNormalizationForwardInference, cudnnStatus_t,                                           \
    (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void* alpha, const void* beta,            \
     const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t yDesc, void* y, \
     const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void* bnScale, const void* bnBias,   \
     const void* estimatedMean, const void* estimatedVariance, double epsilon))                       \
  X(cudnnBatchNormalizationForwardTraining, cudnnStatus_t,                                            \
    (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void* alpha, const void* beta,            \
     const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t yDesc, void* y, \
     const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void* bnScale, const void* bnBias,   \
     double exponentialAverageFactor, void* resultRunningMean, void* resultRunningVariance,           \
     double epsilon, void* resultSaveMean, void* resultSaveInvVariance))                              \
  X(cudnnBatchNormalizationBackward, cudnnStatus_t,                                                   \
    (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void* alphaDataDiff,                      \
     const void* betaDataDiff, const void* alphaParamDiff, const void* betaParamDiff,                 \
     const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t dyDesc,        \
     const void* dy, const cudnnTensorDescriptor_t dxDesc, void* dx,                                  \
     const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void* bnScale, void* dBnScaleResult,       \
     void* dBnBiasResult, double epsilon, const void* savedMean, const void* savedInvVariance))

// libcublas.so.12 / .so.13: the exported names are the _v2 ones (ref L488-493). Prototypes:
// ref L495-514; the [memory] ones are named by ref L518-521 without a prototype.
#define CONVNET_CUBLAS_FUNCTIONS(X)                                                                     \
  X(cublasCreate_v2, cublasStatus_t, (cublasHandle_t * handle))                                       \
  X(cublasDestroy_v2, cublasStatus_t, (cublasHandle_t handle))                                        \
  X(cublasSetStream_v2, cublasStatus_t, (cublasHandle_t handle, cudaStream_t streamId))               \
  X(cublasSetMathMode, cublasStatus_t, (cublasHandle_t handle, cublasMath_t mode))                    \
  X(cublasSgemm_v2, cublasStatus_t,                                                                   \
    (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,   \
     const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,          \
     float* C, int ldc))                                                                              \
  X(cublasSgemmStridedBatched, cublasStatus_t,                                                        \
    (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,   \
     const float* alpha, const float* A, int lda, long long int strideA, const float* B, int ldb,      \
     long long int strideB, const float* beta, float* C, int ldc, long long int strideC,              \
     int batchCount))                                                                                 \
  X(cublasGemmEx, cublasStatus_t,                                                                     \
    (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,   \
     const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B, cudaDataType Btype,  \
     int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,                                 \
     cublasComputeType_t computeType, cublasGemmAlgo_t algo))                                         \
  /* [memory], checked against cuBLAS 13.1's headers */                                                                                      \
  X(cublasGetProperty, cublasStatus_t, (libraryPropertyType type, int* value))                        \
  X(cublasGetVersion_v2, cublasStatus_t, (cublasHandle_t handle, int* version))                       \
  X(cublasGetMathMode, cublasStatus_t, (cublasHandle_t handle, cublasMath_t * mode))                  \
  X(cublasSetWorkspace_v2, cublasStatus_t,                                                            \
    (cublasHandle_t handle, void* workspace, size_t workspaceSizeInBytes))                            \
  X(cublasGetStatusName, const char*, (cublasStatus_t status))                                        \
  X(cublasGetStatusString, const char*, (cublasStatus_t status))                                      \
  X(cublasGemmStridedBatchedEx, cublasStatus_t,                                                       \
    (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,   \
     const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA,             \
     const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C,     \
     cudaDataType Ctype, int ldc, long long int strideC, int batchCount,                              \
     cublasComputeType_t computeType, cublasGemmAlgo_t algo))

// libcublasLt.so.12 / .so.13: only its version ([memory]; the symbol is named at ref L116).
#define CONVNET_CUBLASLT_FUNCTIONS(X) X(cublasLtGetVersion, size_t, (void))

// The typed function-pointer tables the loader fills (native/cuda/loader.h).
#define CONVNET_DECLARE_POINTER(name, ret, params) ret(*name) params = nullptr;
struct CudnnFunctions {
  CONVNET_CUDNN_FUNCTIONS(CONVNET_DECLARE_POINTER)
};
struct CublasFunctions {
  CONVNET_CUBLAS_FUNCTIONS(CONVNET_DECLARE_POINTER)
  CONVNET_CUBLASLT_FUNCTIONS(CONVNET_DECLARE_POINTER)
};
#undef CONVNET_DECLARE_POINTER

}  // namespace decl
}  // namespace cuda
}  // namespace convnet
