// What the row kernels of vector_norm.cc, logsumexp.cc, normalize.cc and cosine_similarity.cc
// share: x viewed as [outer, len, inner] around a run of adjacent axes, the fixed blocks a long
// row is cut into, and sums over a contiguous row in the order batch_norm.cc uses.
//
// Sums: sixteen float lanes add up blocks of up to 256 values (16 a lane, in a few interleaved
// accumulators: row_sums), each block's lanes are then added to sixteen float64 lanes, and those
// pairwise at the end; a tail shorter than 16 is one more vector padded with zeros. A fixed order that depends only on the row, so every
// result is the same for any thread count; fp-contract=off in every caller, so that no clone
// contracts a product and a sum into an FMA and every CPU path gives the same bits. (Widening
// each value to float64 first spent more on conversions than on the sums; see batch_norm.cc.)
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/storage.h"
#include "cpu/lanes16.h"

namespace convnet {
namespace cpu {
namespace lanes {

// x as [outer, len, inner]: len is the product of the reduced axes (a run of adjacent axes of
// `shape`, sorted), outer of those before, inner of those after. No axes: len = 1 (every
// element its own row).
struct RunLayout {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t outputs() const { return outer * inner; }
};

inline RunLayout run_layout(const Shape& shape, const std::vector<int64_t>& axes) {
  RunLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (!axes.empty() && d < axes.front()) l.outer *= shape[d];
    else if (!axes.empty() && d <= axes.back()) l.len *= shape[d];
    else l.inner *= shape[d];
  }
  return l;
}

// Elements per block of a long contiguous row: rows longer than this are cut into blocks at
// multiples of kBlock (a multiple of 256, so the lanes line up the same in every block), each
// block's partial computed on its own, the partials combined in order. So a full reduction
// uses every thread and the bits still depend only on the row.
constexpr int64_t kBlock = int64_t{1} << 14;

inline int64_t blocks_of(int64_t len) { return std::max<int64_t>(1, (len + kBlock - 1) / kBlock); }

// Columns per task when inner > 1: enough adjacent columns to read x in runs.
constexpr int64_t kCols = 256;

// The lanes: lanes16.h's layouts. The kernels built on row_sums are templates on the layout L
// (lanes16::Wide or Pairs), called as lanes16::wide() says. Lambdas passed to row_sums are
// forced inline (a helper compiled on its own would be the baseline's code, called from every
// clone: the sums ran at a third of their speed so).
#define CONVNET_LANES_INLINE inline __attribute__((always_inline))

// N sums over one contiguous row at once: term(i, count, t) gives the N L::Floats16 terms of the
// 16 values at i (count < 16 only for the zero-padded tail, whose terms must then be 0, as they
// are for x^2, |x|, a * b, dy * x), added in the blocks described at the top. Within a block the
// vectors go round K float accumulators (vector v to accumulator v % K), added (0 + 1) + (2 + 3)
// before the block is widened: one accumulator made every row a chain of dependent additions,
// and a 512-value row spent most of its time waiting on them. K = 4 for one sum, 2 for several
// (AVX2 has 16 vector registers of 8 floats). Inlined into each caller's clone.
template <typename L, int N, typename Term>
CONVNET_LANES_INLINE void row_sums(int64_t n, Term term, double* out) {
  using Floats16 = typename L::Floats16;
  constexpr int K = N == 1 ? 4 : 2;
  typename L::Doubles8 lo[N] = {}, hi[N] = {};
  Floats16 t[N];
  int64_t i = 0;
  while (i + 16 <= n) {
    Floats16 s[K][N] = {};
    const int64_t block_end = std::min(n, i + 256);
    for (; i + 16 * K <= block_end; i += 16 * K) {
      for (int j = 0; j < K; ++j) {
        term(i + 16 * j, 16, t);
        for (int k = 0; k < N; ++k) s[j][k] += t[k];
      }
    }
    // The block's last vectors (fewer than K) to accumulators 0, 1, 2 in turn, each index a
    // constant: with s[j] indexed by a loop counter, GCC kept s on the stack and zeroed it with
    // a `rep stos` every block, 30% of the time of vector norms over rows of 512 (`perf annotate`).
    for (int j = 0; j < K - 1; ++j) {
      if (i + 16 > block_end) break;
      term(i, 16, t);
      for (int k = 0; k < N; ++k) s[j][k] += t[k];
      i += 16;
    }
    for (int k = 0; k < N; ++k) {
      Floats16 block = K == 4 ? (s[0][k] + s[1][k]) + (s[2 % K][k] + s[3 % K][k]) : s[0][k] + s[1 % K][k];
      L::widen_add(block, lo[k], hi[k]);
    }
  }
  if (i < n) {
    term(i, n - i, t);
    for (int k = 0; k < N; ++k) L::widen_add(t[k], lo[k], hi[k]);
  }
  for (int k = 0; k < N; ++k) out[k] = L::add_lanes(lo[k], hi[k]);
}

}  // namespace lanes
}  // namespace cpu
}  // namespace convnet
