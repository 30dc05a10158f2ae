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

// The helpers below are forced inline: each caller is a CONVNET_SIMD_CLONES function, and a
// helper compiled on its own would be the baseline's SSE code, called from every clone (the
// sums ran at a third of their speed so). Lambdas passed to row_sums need the same attribute.
#define CONVNET_LANES_INLINE inline __attribute__((always_inline))

typedef float Floats16 __attribute__((vector_size(64)));
typedef float Floats8 __attribute__((vector_size(32)));
typedef double Doubles8 __attribute__((vector_size(64)));
typedef double Doubles4 __attribute__((vector_size(32)));
typedef int32_t Ints16 __attribute__((vector_size(64)));

// v = the 16 floats at p, or (count < 16) the first `count` of them and zeros in the other lanes
// (so a padded lane adds nothing to a sum of squares, of absolute values or of products).
// Results go through references: a function returning a 64-byte vector has another ABI per
// clone (GCC's -Wpsabi), and these are meant to be inlined into each clone anyway.
CONVNET_LANES_INLINE void load(const float* p, int64_t count, Floats16& v) {
  if (count == 16) {
    std::memcpy(&v, p, sizeof v);
    return;
  }
  v = Floats16{};
  for (int64_t l = 0; l < count; ++l) v[l] = p[l];
}

// Adds the sixteen float lanes of v to the float64 lanes lo (0..7) and hi (8..15).
CONVNET_LANES_INLINE void widen_add(const Floats16& v, Doubles8& lo, Doubles8& hi) {
  Floats8 a, b;
  std::memcpy(&a, &v, sizeof a);
  std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
  lo += __builtin_convertvector(a, Doubles8);
  hi += __builtin_convertvector(b, Doubles8);
}

// The sixteen float64 lanes added pairwise: lane l + lane l + 8, then l + 4, l + 2, l + 1.
CONVNET_LANES_INLINE double add_lanes(const Doubles8& a, const Doubles8& b) {
  const Doubles8 c = a + b;
  const Doubles4 lo = {c[0], c[1], c[2], c[3]}, hi = {c[4], c[5], c[6], c[7]};
  const Doubles4 d = lo + hi;
  return (d[0] + d[2]) + (d[1] + d[3]);
}

// v = |v| lane by lane (clears the sign bits: -0 becomes +0, NaN stays NaN).
CONVNET_LANES_INLINE void abs_in_place(Floats16& v) {
  Ints16 bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0x7FFFFFFF;
  std::memcpy(&v, &bits, sizeof v);
}

// N sums over one contiguous row at once: term(i, count, t) gives the N Floats16 terms of the
// 16 values at i (count < 16 only for the zero-padded tail, whose terms must then be 0, as they
// are for x^2, |x|, a * b, dy * x), added in the blocks described at the top. Within a block the
// vectors go round K float accumulators (vector v to accumulator v % K), added (0 + 1) + (2 + 3)
// before the block is widened: one accumulator made every row a chain of dependent additions,
// and a 512-value row spent most of its time waiting on them. K = 4 for one sum, 2 for several
// (AVX2 has 16 vector registers of 8 floats). Inlined into each caller's clone.
template <int N, typename Term>
CONVNET_LANES_INLINE void row_sums(int64_t n, Term term, double* out) {
  constexpr int K = N == 1 ? 4 : 2;
  Doubles8 lo[N] = {}, hi[N] = {};
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
    for (int j = 0; i + 16 <= block_end; i += 16, ++j) {
      term(i, 16, t);
      for (int k = 0; k < N; ++k) s[j][k] += t[k];
    }
    for (int k = 0; k < N; ++k) {
      Floats16 block = K == 4 ? (s[0][k] + s[1][k]) + (s[2 % K][k] + s[3 % K][k]) : s[0][k] + s[1 % K][k];
      widen_add(block, lo[k], hi[k]);
    }
  }
  if (i < n) {
    term(i, n - i, t);
    for (int k = 0; k < N; ++k) widen_add(t[k], lo[k], hi[k]);
  }
  for (int k = 0; k < N; ++k) out[k] = add_lanes(lo[k], hi[k]);
}

}  // namespace lanes
}  // namespace cpu
}  // namespace convnet
