// Note [prepared weights]: the convolution's kernels read the weights in layouts of their own
// (the direct kernel's blocks of 32 output channels, Winograd's transformed U in the GEMM's
// panels, a 1x1 convolution's w packed for the GEMM), made from w on every call. At batch 1 that is a large share of a layer's time: the
// layout of ResNet-50's 512 -> 512 layer on 7x7 is 9.4 MB written and read back for 49 outputs
// a channel. A model served one image at a time reads the same weights call after call, so a
// layout made twice from the same weights is kept, keyed by
//   - the memory of the weights (and of the bias, where the layout holds it),
//   - the version of that memory the call reads, taken when the op was enqueued: an in-place
//     write queued before the op (an optimizer step, copy_, loadStateDict) has bumped it, one
//     queued after it has not (Storage::version), so a key never outlives its values;
//   - the recipe: every parameter the layout depends on.
// The first sighting of a key only notes it: training changes the weights every step and would
// fill memory with copies used once. The second makes the copy and keeps it. Copies of freed
// memory, or of an older version of the same weights for the same recipe, are dropped at the next
// lookup; at most CONVNET_PREPARED_MB MiB (default 256; 0: nothing is kept) are kept, the least
// recently used dropped first; emptyCache() drops them all. A kept copy is the same floats the
// call would have made, so results do not change.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/storage.h"

namespace convnet {
namespace cpu {
namespace prepared {

// The memory a layout is made from, and the versions of it that the call reads.
struct Source {
  std::shared_ptr<Storage> w, b;  // b: null when the layout does not hold the bias
  uint64_t w_version = 0, b_version = 0;
};

// A layout's floats, and what keeps a kept copy alive while the caller reads it.
struct Layout {
  const float* data;
  std::shared_ptr<const void> hold;
};

// `floats` floats of layout `recipe` made from `source` by make(out): a kept copy, or made now
// into `scratch` (the key's first sighting; source null: nothing is ever kept) or into a copy
// kept from now on (its second sighting).
Layout get(const Source* source, std::vector<int64_t> recipe, int64_t floats, float* scratch,
           const std::function<void(float*)>& make);

// Bytes of the copies kept; and dropping them all (emptyCache()).
int64_t bytes();
void clear();

}  // namespace prepared
}  // namespace cpu
}  // namespace convnet
