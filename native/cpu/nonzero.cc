// nonzero (torch.nonzero): the coordinates of x's nonzero entries (NaN included), int32
// [count, rank], in order. The count decides the output's shape, so the API runs these on the
// JavaScript thread once the queue has computed x (as a read does). Both passes go 64 entries at
// a time through a bit mask of the nonzero ones (a branch per entry mispredicted on masks of
// scattered ones); the writes walk the mask's set bits. In JavaScript, over the values read back,
// nonzero ran at 0.12-0.19x PyTorch's speed on [8, 64, 56, 56] with 16% nonzero.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/cpu_ops.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) && !defined(CONVNET_PORTABLE_ONLY)
#include <emmintrin.h>
#endif

namespace convnet {
namespace cpu {
namespace {

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_NONZERO_SSE2 1
#endif

// Bit j set where v[j] (j < n <= 64) is nonzero: NaN too. 4 entries an instruction in SSE2
// (x86-64's baseline): a compare and a movemask. The loop of shifts stayed scalar, about 1.8 ns
// an entry: nonzero of the flat [8, 64, 56, 56] with 16% nonzero took 2.9 ms, now 0.84, and
// maskedSelect with that mask 3.2 -> 1.4 (/tmp/ms67.js, bench/JOURNAL.md).
uint64_t nonzero_bits(const float* v, int64_t n) {
  uint64_t m = 0;
  int64_t j = 0;
#ifdef CONVNET_NONZERO_SSE2
  const __m128 zero = _mm_setzero_ps();
  for (; j + 4 <= n; j += 4) {  // cmpneq is true for NaN (unordered)
    m |= static_cast<uint64_t>(_mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(v + j), zero))) << j;
  }
#endif
  for (; j < n; ++j) m |= static_cast<uint64_t>(!(v[j] == 0.0f)) << j;
  return m;
}
uint64_t nonzero_bits(const int32_t* v, int64_t n) {
  uint64_t m = 0;
  int64_t j = 0;
#ifdef CONVNET_NONZERO_SSE2
  const __m128i zero = _mm_setzero_si128();
  for (; j + 4 <= n; j += 4) {
    const __m128i eq = _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + j)), zero);
    m |= static_cast<uint64_t>(~_mm_movemask_ps(_mm_castsi128_ps(eq)) & 0xF) << j;
  }
#endif
  for (; j < n; ++j) m |= static_cast<uint64_t>(v[j] != 0) << j;
  return m;
}

// fn(r, c, bits) for x's entries 64 at a time (the last block shorter), rows of the last axis
// not split: a block holds entries c .. c + 63 of row r.
template <typename T, typename Fn>
void each_block(const T* v, int64_t rows, int64_t width, Fn fn) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < width; c += 64) fn(r, c, nonzero_bits(v + r * width + c, std::min<int64_t>(64, width - c)));
  }
}

template <typename T>
int64_t count(const T* v, int64_t rows, int64_t width) {
  int64_t n = 0;
  each_block(v, rows, width, [&](int64_t, int64_t, uint64_t bits) { n += __builtin_popcountll(bits); });
  return n;
}

template <typename T>
void write(const T* v, const Shape& shape, int64_t rows, int64_t width, int32_t* o) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<int32_t> lead(static_cast<size_t>(rank), 0);  // row r's coordinates on the axes before the last
  int64_t at = 0;
  each_block(v, rows, width, [&](int64_t r, int64_t c, uint64_t bits) {
    for (; at < r; ++at) {  // the next row
      for (int64_t d = rank - 2; d >= 0; --d) {
        if (++lead[d] < shape[d]) break;
        lead[d] = 0;
      }
    }
    for (; bits != 0; bits &= bits - 1) {
      for (int64_t d = 0; d < rank - 1; ++d) *o++ = lead[d];
      *o++ = static_cast<int32_t>(c + __builtin_ctzll(bits));
    }
  });
}

}  // namespace

int64_t count_nonzero_entries(const Tensor& x) {
  const int64_t width = x.dim() == 0 ? 1 : x.shape.back(), rows = width == 0 ? 0 : x.numel() / width;
  return x.dtype == DType::Int32 ? count(x.i32(), rows, width) : count(x.f32(), rows, width);
}

void nonzero(const Tensor& x, const Tensor& out) {
  if (x.dim() == 0) return;  // rows of no coordinates
  const int64_t width = x.shape.back(), rows = width == 0 ? 0 : x.numel() / width;
  if (x.dtype == DType::Int32) write(x.i32(), x.shape, rows, width, out.i32());
  else write(x.f32(), x.shape, rows, width, out.i32());
}

}  // namespace cpu
}  // namespace convnet
