// Batched matmul with broadcast batch dimensions: which matrices of a and b make output matrix
// i (the same mapping on both backends: cpu/matmul.cc, cuda/matmul.cc).
#pragma once
#include <cstdint>
#include <vector>

namespace convnet {

// batch: the output's batch dimensions; a_batch, b_batch: the operands' (right-aligned against
// batch, size 1 where broadcast). Sets *ia, *ib to the flat indices of a's and b's matrices.
inline void broadcast_batch_indices(int64_t i, const std::vector<int64_t>& batch, const std::vector<int64_t>& a_batch,
                                    const std::vector<int64_t>& b_batch, int64_t* ia, int64_t* ib) {
  const size_t dims = batch.size();
  int64_t rest = i, stride_a = 1, stride_b = 1;
  *ia = 0, *ib = 0;
  for (size_t d = dims; d-- > 0;) {
    const int64_t idx = rest % batch[d];
    rest /= batch[d];
    const int64_t da = static_cast<int64_t>(d) - static_cast<int64_t>(dims - a_batch.size());
    const int64_t db = static_cast<int64_t>(d) - static_cast<int64_t>(dims - b_batch.size());
    if (da >= 0) {
      if (a_batch[da] != 1) *ia += idx * stride_a;
      stride_a *= a_batch[da];
    }
    if (db >= 0) {
      if (b_batch[db] != 1) *ib += idx * stride_b;
      stride_b *= b_batch[db];
    }
  }
}

}  // namespace convnet
