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

// CPU only (random.cc; lib/ copies the result to another device): int32 y[i] = low + an integer
// uniform in [0, range) from 64 bits of draw i (two lanes of block first_block + i / 2); and a
// uniform random permutation of 0 .. n - 1 (n = y's size) by Fisher-Yates, place i = n - 1 .. 1
// taking draw n - 1 - i.
void random_int(const Tensor& y, uint64_t seed, uint64_t first_block, int64_t low, uint64_t range);
void random_permutation(const Tensor& y, uint64_t seed, uint64_t first_block);
// CPU only (multinomial.cc; lib/sampling.ts copies to and from another device): int32 out
// [rows * k], k draws from each row of probs [rows, cats], with or without replacement, from the
// uniform numbers of blocks first_block + ... (rows * k numbers with replacement, rows * cats
// without). multinomial_check throws E_ARG for weights it cannot draw from (negative, NaN or
// infinite; a row summing to 0; fewer than k nonzero without replacement).
void multinomial_check(const Tensor& probs, int64_t k, bool replacement);
// CPU only (scatter.cc; lib/indexing.ts composes the differentiable form and the GPU's): y = x
// with src (or the 32-bit word value_bits, when src is null) written where index points along
// axis, the last of repeated indices winning; x, src and y float32 or int32 alike. scatter_check
// throws E_INDEX for an index outside [0, x.shape[axis]).
void scatter_check(const Tensor& x, int64_t axis, const Tensor& index);
// CPU only, on the calling thread (nonzero.cc): how many entries of x (float32 or int32) are
// nonzero (NaN included), and their coordinates into out, int32 [count, rank], in order.
int64_t count_nonzero_entries(const Tensor& x);
void nonzero(const Tensor& x, const Tensor& out);
void scatter(const Tensor& x, int64_t axis, const Tensor& index, const Tensor* src, uint32_t value_bits, const Tensor& y);
void index_fill(const Tensor& x, int64_t axis, const Tensor& index, uint32_t value_bits, const Tensor& y);
void multinomial(const Tensor& probs, int64_t k, bool replacement, uint64_t seed, uint64_t first_block, const Tensor& out);

// CPU only (sort.cc; the GPU finds these positions by its sort, lib/statistics.ts): the int32
// position of one order statistic of each line along `axis`, in the stable order of topk's keys
// (NaN largest, equal values by position). `positions` has x's shape with the axis 1 long.
enum class SelectKind : int32_t {
  Kth = 0,        // the k-th smallest (k from 1)
  Median = 1,     // the lower median; a line with a NaN gives its first NaN
  NanMedian = 2,  // the lower median of the line's numbers (its first NaN if it has none)
};
void select_kth(const Tensor& x, int64_t axis, SelectKind kind, int64_t k, const Tensor& positions);

}  // namespace cpu
}  // namespace convnet
