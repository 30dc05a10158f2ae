// The CPU kernels of the neural-network layers (the survey's toolbox), forward and backward.
// Same conventions as cpu_ops.h: preallocated outputs of the right shape, run on the queue's
// worker, results independent of the thread count. Names: x input, y output, dy/dx gradients,
// w weights, b bias. Each section is one file in native/cpu/.
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"
#include "ops/types.h"

namespace convnet {
namespace cpu {

#include "ops/nn_ops.inc"  // the declarations, with what each computes

}  // namespace cpu
}  // namespace convnet
