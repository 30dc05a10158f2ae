// Checks of int32 indices for the kernels that follow them (gather, the pooling backwards that
// scatter by indices, max unpooling). max_index: the largest of n indices, as unsigned (a negative index becomes huge),
// in one vectorised pass (cloned for AVX2 / AVX-512; defined in indexing.cc): a kernel checks a
// whole range with it first, then runs loops without a bounds check per element (which cost
// them up to 2x).
//
// BadIndex: the lowest position holding a bad index, whatever thread found it (so that the error
// message is the same for any thread count); reported after the parallel loop.
#pragma once
#include <atomic>
#include <cstdint>

namespace convnet {
namespace cpu {

uint32_t max_index(const int32_t* indices, int64_t n);

struct BadIndex {
  std::atomic<int64_t> position{-1};
  void note(int64_t at) {
    int64_t seen = position.load();
    while ((seen < 0 || at < seen) && !position.compare_exchange_weak(seen, at)) {
    }
  }
};

}  // namespace cpu
}  // namespace convnet
