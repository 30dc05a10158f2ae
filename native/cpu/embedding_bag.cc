// F.embeddingBag's forward on the CPU (lib/nn/functional/embedding-bag.ts): each bag's rows of
// the weight reduced in one pass, in the bag's order, bags shared between threads, with no
// [indices, D] rows in between (the composed path, the GPU's, gathers them first). Random rows of
// a large table make it memory-bound (prefetching rows ahead, as fbgemm does, measured no gain
// on this VM: session 74). The backward writes the weight's gradient in one pass too, threads
// splitting the columns (so that repeated indices never race, and each entry's adds keep the
// indices' order); the per-sample weights' gradient is composed in TypeScript.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// A bag's columns [d0, d0 + kChunk) at a time, summed in a local array the compiler keeps in
// registers (4 zmm): each row is read once per chunk, and the sums are not stored and reloaded
// per row. Each column's sum still runs over the bag in order, so the bits do not depend on the
// chunking or the thread count.
constexpr int64_t kChunk = 64;

CONVNET_SIMD_CLONES
void sum_bag(const float* __restrict weight, int64_t D, const int32_t* __restrict idx, int64_t s, int64_t e,
             const float* __restrict per_sample, int64_t padding, float* __restrict out) {
  int64_t d0 = 0;
  for (; d0 + kChunk <= D; d0 += kChunk) {
    float acc[kChunk] = {};
    for (int64_t i = s; i < e; ++i) {
      if (idx[i] == padding) continue;
      const float* row = weight + idx[i] * D + d0;
      const float scale = per_sample ? per_sample[i] : 1.0f;
      for (int64_t d = 0; d < kChunk; ++d) acc[d] += scale * row[d];
    }
    for (int64_t d = 0; d < kChunk; ++d) out[d0 + d] = acc[d];
  }
  if (d0 == D) return;
  float acc[kChunk] = {};
  for (int64_t i = s; i < e; ++i) {
    if (idx[i] == padding) continue;
    const float* row = weight + idx[i] * D + d0;
    const float scale = per_sample ? per_sample[i] : 1.0f;
    for (int64_t d = 0; d < D - d0; ++d) acc[d] += scale * row[d];
  }
  for (int64_t d = 0; d < D - d0; ++d) out[d0 + d] = acc[d];
}

// The larger of out and row, lane by lane, and where row's was taken, its position: a NaN counts
// as the largest (the first one stays), as argmax does. Selects, which the clones vectorise.
CONVNET_SIMD_CLONES
void max_row(float* __restrict out, int32_t* __restrict at, const float* __restrict row, int32_t position, int64_t n) {
  for (int64_t d = 0; d < n; ++d) {
    const float v = row[d], o = out[d];
    const bool take = v > o || (v != v && o == o);
    out[d] = take ? v : o;
    at[d] = take ? position : at[d];
  }
}

}  // namespace

void embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& bounds, const Tensor* per_sample,
                           EmbeddingBagMode mode, int64_t padding, const Tensor& y, const Tensor* maxima_at) {
  const int64_t V = weight.shape[0], D = weight.shape[1], M = indices.numel(), B = y.shape[0];
  const float* pw = weight.f32();
  const int32_t* idx = indices.i32();
  const int32_t* pb = bounds.i32();
  const float* ps = per_sample ? per_sample->f32() : nullptr;
  float* py = y.f32();
  int32_t* pa = maxima_at ? maxima_at->i32() : nullptr;
  bool bad_bounds = false;
  for (int64_t b = 0; b < B; ++b) bad_bounds |= pb[b] < 0 || pb[b] > pb[b + 1] || pb[b + 1] > M;
  CONVNET_CHECK(!bad_bounds, "E_ARG", "embeddingBag: the bags' bounds must be non-decreasing within the ", M, " indices");
  // Every index checked in one vectorised pass first (a negative one reads as huge), so that the
  // loops below have no check per row.
  if (M > 0 && max_index(idx, M) >= static_cast<uint32_t>(V)) {
    int64_t i = 0;
    while (idx[i] >= 0 && idx[i] < V) ++i;
    CONVNET_CHECK(false, "E_INDEX", "embeddingBag: index ", idx[i], " at position ", i, " is out of range for the ", V, " embeddings");
  }
  parallel_for(B, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, D * (M / std::max<int64_t>(B, 1) + 1))), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* out = py + b * D;
      const int64_t s = pb[b], e = pb[b + 1];
      if (mode != EmbeddingBagMode::Max) {
        sum_bag(pw, D, idx, s, e, ps, padding, out);
        if (mode == EmbeddingBagMode::Sum) continue;
        int64_t count = 0;
        for (int64_t i = s; i < e; ++i) count += idx[i] != padding;
        if (count > 0)
          for (int64_t d = 0; d < D; ++d) out[d] /= static_cast<float>(count);
        continue;
      }
      int32_t* at = pa + b * D;
      std::fill(out, out + D, 0.0f);  // an empty bag (or one of padding only): 0, and no maximum
      std::fill(at, at + D, -1);
      bool first = true;
      for (int64_t i = s; i < e; ++i) {
        if (idx[i] == padding) continue;
        const float* row = pw + idx[i] * D;
        if (first) {
          std::memcpy(out, row, static_cast<size_t>(D) * sizeof(float));
          std::fill(at, at + D, static_cast<int32_t>(i));
          first = false;
        } else {
          max_row(out, at, row, static_cast<int32_t>(i), D);
        }
      }
    }
  });
}

void embedding_bag_backward(const Tensor& dy, const Tensor& indices, const Tensor& bounds, const Tensor* per_sample,
                            const Tensor* maxima_at, EmbeddingBagMode mode, int64_t padding, bool scale_by_freq, const Tensor& dw) {
  const int64_t V = dw.shape[0], D = dw.shape[1], M = indices.numel(), B = dy.shape[0];
  const float* pg = dy.f32();
  const int32_t* idx = indices.i32();
  const int32_t* pb = bounds.i32();
  float* pd = dw.f32();
  parallel_for(V, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1) { std::fill(pd + r0 * D, pd + r1 * D, 0.0f); });
  if (mode == EmbeddingBagMode::Max) {
    const int32_t* at = maxima_at->i32();
    parallel_for(D, 16, [&](int64_t d0, int64_t d1) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t d = d0; d < d1; ++d) {
          const int32_t a = at[b * D + d];
          if (a >= 0) pd[idx[a] * D + d] += pg[b * D + d];
        }
    });
    return;
  }
  // Each index's share of its bag's gradient: its per-sample weight, 1 / its bag's count ('mean'),
  // 1 / its frequency in the input (scaleGradByFreq); 0 for padding.
  std::vector<float> share(static_cast<size_t>(M), 1.0f);
  std::vector<int32_t> freq(scale_by_freq ? static_cast<size_t>(V) : 0, 0);
  for (int64_t i = 0; i < (scale_by_freq ? M : 0); ++i) ++freq[idx[i]];
  for (int64_t b = 0; b < B; ++b) {
    int64_t count = 0;
    for (int64_t i = pb[b]; i < pb[b + 1]; ++i) count += idx[i] != padding;
    for (int64_t i = pb[b]; i < pb[b + 1]; ++i) {
      float f = idx[i] == padding ? 0.0f : per_sample ? per_sample->f32()[i] : 1.0f;
      if (mode == EmbeddingBagMode::Mean) f *= 1.0f / static_cast<float>(std::max<int64_t>(count, 1));
      if (scale_by_freq) f *= 1.0f / static_cast<float>(freq[idx[i]]);
      share[i] = f;
    }
  }
  parallel_for(D, 16, [&](int64_t d0, int64_t d1) {
    for (int64_t b = 0; b < B; ++b) {
      const float* g = pg + b * D;
      for (int64_t i = pb[b]; i < pb[b + 1]; ++i) {
        if (idx[i] == padding) continue;
        float* row = pd + idx[i] * D;
        const float f = share[i];
        for (int64_t d = d0; d < d1; ++d) row[d] += f * g[d];
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
