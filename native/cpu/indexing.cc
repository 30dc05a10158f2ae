// Indexing by int32 indices: index_select (take along an axis), gather (torch.gather),
// one_hot, and the backward kernels of the first two: index_add and scatter_add (float32). Indices are data, so they are checked here, when the kernel runs; a bad one is an
// E_INDEX error that surfaces at the next wait. Negative indices are not accepted.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/index_range.h"
#include "cpu/scatter_lines.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// y[j] = x[j * lane + index[j] * step] for j < width (indices checked by the caller).
void gather_row(const int32_t* __restrict x, const int32_t* __restrict index, int64_t width, int64_t lane, int64_t step,
                int32_t* __restrict y) {
  if (lane == 0 && step == 1) {
    for (int64_t j = 0; j < width; ++j) y[j] = x[index[j]];
  } else {
    for (int64_t j = 0; j < width; ++j) y[j] = x[j * lane + index[j] * step];
  }
}

}  // namespace

CONVNET_SIMD_CLONES
uint32_t max_index(const int32_t* __restrict indices, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t v = static_cast<uint32_t>(indices[i]);
    m = v > m ? v : m;
  }
  return m;
}

void index_select(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis], picks = index.numel();
  const int32_t* idx = index.i32();
  for (int64_t k = 0; k < picks; ++k)
    CONVNET_CHECK(idx[k] >= 0 && idx[k] < len, "E_INDEX", "index ", idx[k], " at position ", k,
                  " is out of range for axis ", axis, " of size ", len);
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  if (inner == 1) {
    // Along the last axis: a gather per row (a memcpy of 4 bytes and a division per element ran
    // flip's last axis at 0.08x PyTorch's speed).
    parallel_for(outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, picks)), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) gather_row(px + o * len, idx, picks, 0, 1, py + o * picks);
    });
    return;
  }
  parallel_for(outer * picks, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / picks, k = t % picks;
      std::memcpy(py + t * inner, px + (o * len + idx[k]) * inner, inner * 4);
    }
  });
}

void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  // y[i0..ia..in] = x[i0..index[i0..ia..in]..in]; index may be smaller than x in every axis.
  // Row by row of index's last axis, the row's offset into x kept by an odometer over the other
  // axes (a division and a remainder per axis per element, as before, made it ~10x PyTorch's time).
  const int64_t dims = index.dim(), n = index.numel();
  if (n == 0) return;
  const std::vector<int64_t> xs = contiguous_strides(x.shape);
  const int64_t last = dims - 1, width = index.shape[last], rows = n / width;
  const int64_t size = x.shape[axis], step = xs[axis], lane = last == axis ? 0 : xs[last];
  const int32_t* idx = index.i32();
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  BadIndex bad;
  parallel_for(rows, std::max<int64_t>(1, 4096 / width), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> at(static_cast<size_t>(dims), 0);  // row `begin`'s index over the axes before the last
    int64_t base = 0;  // its offset into x, the indexed axis left out
    for (int64_t d = last - 1, rest = begin; d >= 0; --d) {
      at[d] = rest % index.shape[d];
      rest /= index.shape[d];
      if (d != axis) base += at[d] * xs[d];
    }
    // Every index of the chunk in range (one vectorised pass): rows without a check per element.
    const bool checked = max_index(idx + begin * width, (end - begin) * width) < static_cast<uint64_t>(size);
    for (int64_t r = begin; r < end; ++r) {
      const int32_t* ir = idx + r * width;
      int32_t* yr = py + r * width;
      if (checked) {
        gather_row(px + base, ir, width, lane, step, yr);
      } else {
        for (int64_t j = 0; j < width; ++j) {
          const int32_t k = ir[j];
          if (k < 0 || k >= size) {
            bad.note(r * width + j);
            yr[j] = 0;
            continue;
          }
          yr[j] = px[base + j * lane + k * step];
        }
      }
      for (int64_t d = last - 1; d >= 0; --d) {  // the next row
        if (d != axis) base += xs[d];
        if (++at[d] < index.shape[d]) break;
        if (d != axis) base -= index.shape[d] * xs[d];
        at[d] = 0;
      }
    }
  });
  CONVNET_CHECK(bad.position < 0, "E_INDEX", "index ", bad.position < 0 ? 0 : idx[bad.position], " at position ", bad.position.load(),
                " is out of range for axis ", axis, " of size ", x.shape[axis]);
}

void one_hot(const Tensor& labels, int64_t num_classes, const Tensor& y) {
  const int64_t n = labels.numel();
  const int32_t* pl = labels.i32();
  float* py = y.f32();
  BadIndex bad;
  parallel_for(n, 1024, [&](int64_t begin, int64_t end) {
    std::fill(py + begin * num_classes, py + end * num_classes, 0.0f);
    for (int64_t i = begin; i < end; ++i) {
      if (pl[i] < 0 || pl[i] >= num_classes) bad.note(i);
      else py[i * num_classes + pl[i]] = 1.0f;
    }
  });
  CONVNET_CHECK(bad.position < 0, "E_INDEX", "label ", bad.position < 0 ? 0 : pl[bad.position], " at position ", bad.position.load(),
                " is out of range for ", num_classes, " classes");
}

// ---- backward kernels -------------------------------------------------------------------------
// Note [deterministic scatter-add]: several indices may name the same output element, so the
// additions into it must happen in one fixed order whatever the thread count. Both kernels split
// the work over the axes that are *not* indexed (each output element then belongs to exactly one
// thread) and walk the indexed axis sequentially, in index order, inside each piece.

void index_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y) {
  // y = x; y[o, index[k], i] += src[o, k, i]   (torch.index_add along `axis`)
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis], picks = index.numel();
  const int32_t* idx = index.i32();
  for (int64_t k = 0; k < picks; ++k)
    CONVNET_CHECK(idx[k] >= 0 && idx[k] < len, "E_INDEX", "index ", idx[k], " at position ", k,
                  " is out of range for axis ", axis, " of size ", len);
  const float* px = x.f32();
  const float* ps = src.f32();
  float* py = y.f32();
  if (py != px) parallel_copy(py, px, x.numel() * 4);
  // Pieces: (outer position, block of inner columns), a block as wide as the threads allow up
  // to 2048 columns: each pick adds a run of the block's columns, and runs of 256 (1 KB) were
  // too short for the prefetcher (512 picks of [512, 4096] rows at 2 threads, a /tmp loop, the
  // builds alternated four times: medians 1.75-2.78 ms, with 2048 0.68-0.89). Every column sums
  // its picks in order whatever the blocks, so the bits do not depend on them.
  const int64_t per_thread = (inner + num_threads() - 1) / num_threads();
  const int64_t block = std::clamp<int64_t>((per_thread + 63) / 64 * 64, 256, 2048);
  const int64_t blocks = (inner + block - 1) / block;
  parallel_for(outer * blocks, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, picks * std::min(inner, block))),
               [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / blocks, c0 = (t % blocks) * block, c1 = std::min(inner, c0 + block);
      for (int64_t k = 0; k < picks; ++k) {
        float* out = py + (o * len + idx[k]) * inner;
        const float* in = ps + (o * picks + k) * inner;
        for (int64_t c = c0; c < c1; ++c) out[c] += in[c];
      }
    }
  });
}

void scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y) {
  // y = x; y[i0..index[i0..j..in]..in] += src[i0..j..in] for every position of `index`
  // (torch.scatter_add), line by line (scatter_lines.h), each walking j = 0, 1, ... in order.
  const int64_t n = index.numel();
  const float* px = x.f32();
  const float* ps = src.f32();
  float* py = y.f32();
  if (py != px) parallel_copy(py, px, x.numel() * 4);
  if (n == 0) return;
  const ScatterLines lines_of(x.shape, axis, index.shape, &src.shape);
  const int64_t along = lines_of.along(), lines = n / along;
  const int32_t* idx = index.i32();
  const int64_t x_axis_step = lines_of.x_strides[axis], s_axis_step = lines_of.s_strides[axis], i_axis_step = lines_of.i_strides[axis];
  const uint32_t axis_size = static_cast<uint32_t>(x.shape[axis]);
  BadIndex bad;
  parallel_for(lines, std::max<int64_t>(1, 4096 / along), [&](int64_t begin, int64_t end) {
    // The inner loop's strides and bound copied here: read through the lambda's references (or
    // the shape vectors) they were reloaded at every element, as the stores into y might alias
    // them: 5x the time.
    const int64_t x_step = x_axis_step, s_step = s_axis_step, i_step = i_axis_step, count = along;
    const uint32_t limit = axis_size;
    for (int64_t l = begin; l < end; ++l) {
      int64_t xo, so, io;
      lines_of.offsets(l, &xo, &so, &io);
      float* __restrict yl = py + xo;
      const float* __restrict sl = ps + so;
      const int32_t* __restrict il = idx + io;
      if (i_step == 1 && s_step == 1 && x_step == 1) {  // along the last axis: unit steps, simpler loads
        for (int64_t j = 0; j < count; ++j) {
          const int32_t k = il[j];
          if (static_cast<uint32_t>(k) >= limit) {  // negative ones too
            bad.note(io + j);
            continue;
          }
          yl[k] += sl[j];
        }
        continue;
      }
      for (int64_t j = 0; j < count; ++j) {
        const int32_t k = il[j * i_step];
        if (static_cast<uint32_t>(k) >= limit) {
          bad.note(io + j * i_step);
          continue;
        }
        yl[k * x_step] += sl[j * s_step];
      }
    }
  });
  CONVNET_CHECK(bad.position < 0, "E_INDEX", "index ", bad.position < 0 ? 0 : idx[bad.position], " at position ", bad.position.load(),
                " is out of range for axis ", axis, " of size ", x.shape[axis]);
}

}  // namespace cpu
}  // namespace convnet
