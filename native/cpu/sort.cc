// Sorting along an axis: the first k entries of each row (all of them for a sort), in sorted
// order, with their int32 positions (torch.topk / torch.sort / torch.argsort). float32 or int32.
// And select_kth: the position of one order statistic per row (kthvalue, median, nanmedian).
//
// Every element becomes one uint64 key, (order key << 32) | position, where the order key is a
// uint32 that compares as the values do (sort_keys.h); ascending uint64 order is then the
// exact order wanted: NaN counts as the largest (last ascending, first descending, as PyTorch),
// -0 equals +0, and equal values keep their positions' order (a stable sort's, lower index
// first), in both directions. The keys are distinct, so the result is unique and the same for
// any thread count. Per row: a heap of the k best for a small k (k <= n / 16; a contiguous
// row skips the blocks of 16 that cannot beat the heap's worst value), else nth_element
// then a sort of the k first (O(n + k log k)); a radix sort of the whole row when it is long and
// k at least a quarter of it (Note [radix sort]). Rows are split across the thread pool.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"
#include "cpu/sort_keys.h"

namespace convnet {
namespace cpu {
namespace {

// Rows at least this long, sorted whole or mostly, take radix_sort.
constexpr int64_t kRadixMinLength = 256;

constexpr int64_t kBlock = 16;

// Whether any of x[0..kBlock) might beat (come before) the value w. It must hold for every
// value whose key is below w's key at a later position: for largest, a value above w or NaN
// (NaN counts as the largest); otherwise a value below w, or anything when w is NaN. The
// negated comparisons give exactly that (NaN compares false), and -0 == +0 as the keys do.
template <bool kLargest, typename T>
inline bool any_may_beat(const T* x, T w) {
  bool any = false;
  for (int64_t j = 0; j < kBlock; ++j) any |= kLargest ? !(x[j] <= w) : !(x[j] >= w);
  return any;
}

// The first block start r + i * kBlock (block within len) holding a float that may beat w, as
// any_may_beat; the first start past the last whole block if none. One call scans many blocks
// (compiled for AVX-512 and AVX2 too: CONVNET_SIMD_CLONES). A block is two 32-byte vectors
// compared at once: GCC left the loop of 16 compares scalar, and selects on 64-byte vectors are
// scalar for AVX2 (simd_clones.h).
typedef float Floats8 __attribute__((vector_size(32)));
typedef int32_t Ints8 __attribute__((vector_size(32)));
static_assert(kBlock == 16, "skip_blocks reads a block as two vectors of 8");

template <bool kLargest>
CONVNET_SIMD_CLONES int64_t skip_float_blocks(const float* x, int64_t r, int64_t len, float w) {
  const Ints8 none = {};
  for (; r + kBlock <= len; r += kBlock) {
    Floats8 a, b;
    std::memcpy(&a, x + r, sizeof a);
    std::memcpy(&b, x + r + 8, sizeof b);
    const Ints8 stays = kLargest ? (a <= w) & (b <= w) : (a >= w) & (b >= w);  // false for NaN
    const Ints8 beats = ~stays;
    if (std::memcmp(&beats, &none, sizeof beats) != 0) return r;
  }
  return r;
}

int64_t skip_blocks(const float* x, int64_t r, int64_t len, float w, bool largest) {
  return largest ? skip_float_blocks<true>(x, r, len, w) : skip_float_blocks<false>(x, r, len, w);
}

int64_t skip_blocks(const int32_t* x, int64_t r, int64_t len, int32_t w, bool largest) {
  for (; r + kBlock <= len; r += kBlock) {
    if (largest ? any_may_beat<true>(x + r, w) : any_may_beat<false>(x + r, w)) return r;
  }
  return r;
}

template <typename T>
void topk_loop(const T* px, int64_t outer, int64_t len, int64_t inner, int64_t k, bool largest, T* pv, int32_t* pi) {
  const int64_t rows = outer * inner;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, len)), [&](int64_t begin, int64_t end) {
    // A small k of a long row keeps a max-heap of the k smallest keys seen: one comparison per
    // element, most of them rejected. Otherwise all keys, nth_element, and a sort of the k.
    const bool use_heap = k * 16 <= len;
    // Most or all of a long row: a radix sort of all of it (Note [radix sort]).
    const bool use_radix = !use_heap && len >= kRadixMinLength && k * 4 >= len;
    std::vector<uint64_t> keys(static_cast<size_t>(use_heap ? k : len));
    // (not zeroed: a vector's zeroing of a long row's scratch was one more pass over it)
    std::unique_ptr<uint64_t[]> scratch(use_radix ? new uint64_t[static_cast<size_t>(len)] : nullptr);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / inner, i = row % inner;
      const T* x = px + o * len * inner + i;
      auto key_of = [&](int64_t r) {
        const uint32_t key = largest ? ~order_key(x[r * inner]) : order_key(x[r * inner]);
        return (static_cast<uint64_t>(key) << 32) | static_cast<uint64_t>(r);
      };
      const uint64_t* sorted = keys.data();
      if (use_heap) {
        for (int64_t r = 0; r < k; ++r) keys[r] = key_of(r);
        std::make_heap(keys.begin(), keys.end());
        uint64_t worst = keys.front();
        T worst_value = x[static_cast<int64_t>(worst & 0xFFFFFFFFu) * inner];
        auto consider = [&](int64_t r) {
          const uint64_t key = key_of(r);
          if (key < worst) {
            std::pop_heap(keys.begin(), keys.end());
            keys.back() = key;
            std::push_heap(keys.begin(), keys.end());
            worst = keys.front();
            worst_value = x[static_cast<int64_t>(worst & 0xFFFFFFFFu) * inner];
          }
        };
        int64_t r = k;
        // A contiguous row skips blocks of 16 that a plain comparison with the heap's worst
        // value rules out (vectorised; the per-element key is only made for the rest): on
        // random rows almost every block, which made topk 10 of [512, 10000] 5x faster.
        if (inner == 1) {
          while (true) {
            r = skip_blocks(x, r, len, worst_value, largest);
            if (r + kBlock > len) break;
            // the same test per value first: most of a block that passed still cannot beat w
            for (int64_t j = r; j < r + kBlock; ++j) {
              if (largest ? !(x[j] <= worst_value) : !(x[j] >= worst_value)) consider(j);
            }
            r += kBlock;
          }
        }
        for (; r < len; ++r) consider(r);
        std::sort_heap(keys.begin(), keys.end());
      } else {
        for (int64_t r = 0; r < len; ++r) keys[r] = key_of(r);
        if (use_radix) {
          sorted = radix_sort(keys.data(), scratch.get(), len);
        } else {
          if (k < len) std::nth_element(keys.begin(), keys.begin() + k, keys.end());
          std::sort(keys.begin(), keys.begin() + k);
        }
      }
      T* v = pv + o * k * inner + i;
      int32_t* idx = pi + o * k * inner + i;
      for (int64_t r = 0; r < k; ++r) {
        const int64_t at = static_cast<int64_t>(sorted[r] & 0xFFFFFFFFu);
        v[r * inner] = x[at * inner];  // the value itself: a NaN's payload and -0 survive
        idx[r * inner] = static_cast<int32_t>(at);
      }
    }
  });
}

// One order statistic per line (select_kth), by a radix select on the 32-bit order keys: a
// histogram of their top 11 bits finds the bucket holding the wanted rank, and only that
// bucket's keys (with their positions, so ties keep position order) go to nth_element. On
// random lines a bucket holds a few keys: the median of [512, 4096]'s rows took 19 ms at one
// thread with nth_element on all the keys, 7 ms this way (`node dist/bench/tensor-ops.js
// --threads 2 --only median`: 4.0 ms, PyTorch 20). Many equal values make one big bucket: as
// slow as nth_element on all the keys, no worse.
constexpr int kBucketBits = 11;

template <typename T>
void select_loop(const T* px, int64_t outer, int64_t len, int64_t inner, SelectKind kind, int64_t k, int32_t* pos) {
  parallel_for(outer * inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, len)), [=](int64_t begin, int64_t end) {
    std::vector<uint32_t> key_buffer(static_cast<size_t>(len));
    std::vector<uint64_t> bucket;
    uint32_t* keys = key_buffer.data();
    int32_t counts[1 << kBucketBits];  // (int32: stores to it cannot alias the int64 sizes)
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / inner, i = line % inner;
      const T* x = px + o * len * inner + i;
      std::fill(counts, counts + (1 << kBucketBits), 0);
      int64_t nans = 0, first_nan = -1;
      for (int64_t r = 0; r < len; ++r) {
        const T v = x[r * inner];
        const uint32_t key = order_key(v);
        if (v != v && nans++ == 0) first_nan = r;  // a NaN (false for int32)
        keys[r] = key;
        ++counts[key >> (32 - kBucketBits)];
      }
      if (kind == SelectKind::Median && nans > 0) {
        pos[o * inner + i] = static_cast<int32_t>(first_nan);
        continue;
      }
      const int64_t numbers = kind == SelectKind::NanMedian ? len - nans : len;
      int64_t rank = kind == SelectKind::Kth ? k - 1 : numbers > 0 ? (numbers - 1) / 2 : 0;
      uint32_t b = 0;
      while (rank >= counts[b]) rank -= counts[b++];
      bucket.clear();
      for (int64_t r = 0; r < len; ++r) {
        if (keys[r] >> (32 - kBucketBits) == b) bucket.push_back((static_cast<uint64_t>(keys[r]) << 32) | static_cast<uint64_t>(r));
      }
      std::nth_element(bucket.begin(), bucket.begin() + rank, bucket.end());
      pos[o * inner + i] = static_cast<int32_t>(bucket[rank] & 0xFFFFFFFFu);
    }
  });
}

}  // namespace

// Note [radix sort]: the keys' order key (their top 32 bits) in four LSD passes of a byte each.
// Each pass is stable and the keys start in position order (the low 32 bits), so this gives
// exactly std::sort's order of the whole uint64 keys; a pass whose byte is the same for every
// key (the top bytes of small integers) is skipped. At 2 threads (bench/JOURNAL.md, session 66):
// 2^20 ints 63 ms by std::sort, 10 this way (PyTorch 68); rows of [512, 4096] 39 -> 7 (PyTorch
// 68-77). Digits of 11 bits took twice as long as bytes: 2048 buckets being written at once are
// more cache lines than L1 holds.
constexpr int kRadixBits = 8, kRadixBuckets = 1 << kRadixBits;
constexpr int kRadixDigits = (32 + kRadixBits - 1) / kRadixBits;

uint64_t* radix_sort(uint64_t* keys, uint64_t* scratch, int64_t n) {
  if (n < 2) return keys;  // (the skip test below reads keys[0])
  // One pass over the keys counts every digit (uint32: a row holds under 2^32 entries).
  std::vector<uint32_t> counts(kRadixDigits * kRadixBuckets, 0);
  uint32_t* count = counts.data();
  constexpr uint32_t kMask = kRadixBuckets - 1;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t key = static_cast<uint32_t>(keys[i] >> 32);
    for (int d = 0; d < kRadixDigits; ++d) ++count[d * kRadixBuckets + ((key >> (d * kRadixBits)) & kMask)];
  }
  uint64_t* from = keys;
  uint64_t* to = scratch;
  for (int d = 0; d < kRadixDigits; ++d, count += kRadixBuckets) {
    const int shift = 32 + d * kRadixBits;
    if (count[(from[0] >> shift) & kMask] == static_cast<uint32_t>(n)) continue;  // one digit for all
    uint32_t start = 0;
    for (int b = 0; b < kRadixBuckets; ++b) {
      const uint32_t c = count[b];
      count[b] = start;
      start += c;
    }
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t key = from[i];
      to[count[(key >> shift) & kMask]++] = key;
    }
    std::swap(from, to);
  }
  return from;
}

void select_kth(const Tensor& x, int64_t axis, SelectKind kind, int64_t k, const Tensor& positions) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (len == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Int32) select_loop(x.i32(), outer, len, inner, kind, k, positions.i32());
  else select_loop(x.f32(), outer, len, inner, kind, k, positions.i32());
}

void topk(const Tensor& x, int64_t axis, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (k == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Int32) topk_loop(x.i32(), outer, len, inner, k, largest, values.i32(), indices.i32());
  else topk_loop(x.f32(), outer, len, inner, k, largest, values.f32(), indices.i32());
}

}  // namespace cpu
}  // namespace convnet
