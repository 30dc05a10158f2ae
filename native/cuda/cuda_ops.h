// The CUDA backend's ops: the same functions, with the same arguments and meaning, as the
// CPU kernels (both headers include the one list, native/ops/tensor_ops.inc and nn_ops.inc,
// whose comments say what each computes), so that an entry point in native/api/ picks one or
// the other by its inputs' device. Every tensor given here is on the GPU (the entry point checked), outputs are
// preallocated, and each function only launches work on cuda::stream() (context.h) and
// returns. One op per file in native/cuda/ (cuDNN or cuBLAS where they have the op, the
// project's own kernels elsewhere); the sections name the CPU files, and the CUDA file of an op
// has the same stem (fill.cu, conv2d.cc, ...). "E_INDEX when the kernel runs" becomes a report
// through context.h's device error word, thrown by the next wait.
//
// Differences from the CPU allowed by the tests (test/cuda-*.test.ts): float32 sums in another
// order; TF32 in convolutions when cuda.setOptions({ allowTF32Cudnn }) is on (the default, as
// in PyTorch). Random numbers are the CPU's: the same Philox blocks give the same mask/lambda.
#pragma once
#include <cstdint>
#include <vector>

#include "core/philox.h"
#include "core/storage.h"
#include "ops/types.h"

namespace convnet {
namespace cuda {

// ---- moving data: copy.cu ----------------------------------------------------------------------
// dst (GPU) = src (CPU): src's values are copied into pinned staging memory now, on the calling
// thread, so the caller may reuse src at once; the upload is then queued on the stream.
// The caller made sure src's queued CPU work has run (Queue::cpu().wait()).
void copy_to_device(const Tensor& src, const Tensor& dst);
// dst (CPU) = src (GPU): the download is queued on the stream now (so it sees every earlier GPU
// op and none later); a task on the CPU queue waits for it and fills dst. CPU work enqueued after
// this call sees dst's values. Errors of the GPU work surface as that task's error.
void copy_to_host(const Tensor& src, const Tensor& dst);
// dst = src, both on the GPU (same number of bytes).
void copy_device(const Tensor& src, const Tensor& dst);

// The ops themselves: the same list as the CPU backend's.
#include "ops/tensor_ops.inc"
#include "ops/nn_ops.inc"

}  // namespace cuda
}  // namespace convnet
