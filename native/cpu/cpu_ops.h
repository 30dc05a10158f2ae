// The CPU backend's kernels. Each takes its inputs and a preallocated output of the right
// shape (the API layer checks shapes and allocates), runs on the queue's worker thread and may
// split its work with parallel_for. Results never depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/philox.h"
#include "core/storage.h"
#include "ops/types.h"

namespace convnet {
namespace cpu {

#include "ops/tensor_ops.inc"  // the declarations, with what each computes

}  // namespace cpu
}  // namespace convnet
