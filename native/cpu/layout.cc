// Copies that rearrange memory: permute (transpose, with axes read backwards: flip, rot90),
// concat and split, strided slice.
// All walk the output in order and compute where each output row comes from.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/gemm.h"
#include "cpu/simd_clones.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_LAYOUT_X86 1
#include "cpu/simd_transpose.h"
#else
#define CONVNET_LAYOUT_X86 0
#endif

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kCopyGrain = 1 << 14;

// A permute that moves x's last axis (stride 1) to y's axis t, and brings a strided axis last:
// a batch of 2-D transposes, y[..., a (axis t), ..., b (last)] = x[... + a + b * step]. Copied in
// kTile x kTile tiles, so that each tile reads kTile runs of kTile contiguous elements of x
// instead of one cache line per element of a y row (a [512, 4096] transpose walked by y's rows
// ran at 0.35x PyTorch's speed).
constexpr int64_t kTile = 16;

// One kTile x kTile tile, element by element: out[a * ld_out + b] = in[a + b * step].
void copy_tile(const int32_t* in, int64_t step, int32_t* out, int64_t ld_out, int64_t na, int64_t nb) {
  for (int64_t a = 0; a < na; ++a)
    for (int64_t b = 0; b < nb; ++b) out[a * ld_out + b] = in[a + b * step];
}

#if CONVNET_LAYOUT_X86
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC bug 105593, as in gemm.cc
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// A whole 16 x 16 tile through registers: 16 loads of 16 contiguous elements, one transpose,
// 16 stores (the element by element copy left the [512, 4096] transpose at 0.57x PyTorch).
__attribute__((target("avx512f"))) void copy_tile16(const int32_t* in, int64_t step, int32_t* out, int64_t ld_out) {
  __m512 r[16];
  for (int b = 0; b < 16; ++b) r[b] = _mm512_loadu_ps(in + b * step);
  transpose16x16(r);
  for (int a = 0; a < 16; ++a) _mm512_storeu_ps(out + a * ld_out, r[a]);
}

// AVX2 CPUs: the 16 x 16 tile as four 8 x 8 blocks through registers. Element by element, a
// [512, 4096] transpose took 5.5-10 ms at 2 threads (0.77x PyTorch; a plain copy of it 0.5):
// x's rows lie 16 KiB apart, so a tile's 16 rows share one 8-way L1 set and evicted each other
// between the tile's columns. A block reads 8 rows once each.
__attribute__((target("avx"))) void copy_tile16_avx(const int32_t* in, int64_t step, int32_t* out, int64_t ld_out) {
  for (int b0 = 0; b0 < 16; b0 += 8)
    for (int a0 = 0; a0 < 16; a0 += 8) {
      __m256 r[8];
      for (int b = 0; b < 8; ++b) r[b] = _mm256_loadu_ps(reinterpret_cast<const float*>(in + a0 + (b0 + b) * step));
      transpose8x8(r);
      for (int a = 0; a < 8; ++a) _mm256_storeu_ps(reinterpret_cast<float*>(out + (a0 + a) * ld_out + b0), r[a]);
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// y_strides may be negative (py then points at y's element of index 0 along those axes), and so
// may src_strides but for axis t's 1.
void permute_tiled(const int32_t* px, int32_t* py, const std::vector<int64_t>& y_shape, const std::vector<int64_t>& src_strides,
                   const std::vector<int64_t>& y_strides, int64_t t) {
  const int64_t dims = static_cast<int64_t>(y_shape.size());
  const int64_t A = y_shape[t], B = y_shape[dims - 1], step = src_strides[dims - 1];
  const int64_t a_tiles = (A + kTile - 1) / kTile;
#if CONVNET_LAYOUT_X86
  const bool avx512 = std::strcmp(sgemm_kernel_name(), "avx512") == 0;
  const bool avx2 = std::strcmp(sgemm_kernel_name(), "avx2") == 0;
#endif
  int64_t others = 1;  // combinations of the axes other than t and the last
  for (int64_t d = 0; d < dims - 1; ++d)
    if (d != t) others *= y_shape[d];
  parallel_for(others * a_tiles, std::max<int64_t>(1, kCopyGrain / (kTile * std::max<int64_t>(B, 1))), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t rest = item / a_tiles, src = 0, dst = 0;
      for (int64_t d = dims - 2; d >= 0; --d) {
        if (d == t) continue;
        const int64_t i = rest % y_shape[d];
        rest /= y_shape[d];
        src += i * src_strides[d];
        dst += i * y_strides[d];
      }
      const int64_t a0 = (item % a_tiles) * kTile, a1 = std::min(A, a0 + kTile);
      for (int64_t b0 = 0; b0 < B; b0 += kTile) {
        const int64_t nb = std::min(B, b0 + kTile) - b0;
        const int32_t* in = px + src + a0 + b0 * step;
        int32_t* out = py + dst + a0 * y_strides[t] + b0;
#if CONVNET_LAYOUT_X86
        if (a1 - a0 == kTile && nb == kTile && (avx512 || avx2)) {
          if (avx512) copy_tile16(in, step, out, y_strides[t]);
          else copy_tile16_avx(in, step, out, y_strides[t]);
          continue;
        }
#endif
        copy_tile(in, step, out, y_strides[t], a1 - a0, nb);
      }
    }
  });
}

// out[j] = in[-j] for j < n: a row read backwards (flip's last axis).
CONVNET_SIMD_CLONES void copy_reversed(const int32_t* __restrict in, int32_t* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = in[-j];
}

// permute's walk over y's rows (the last of `shape`'s axes, src_strides their steps in x):
// copy_row(x's first element of a row, where it goes, how many) for each. Each piece finds its
// first row's source by division, then steps an odometer from row to row (a division per axis
// per row made short rows slow: [2, 2, 64, 64, 7, 7] to [64, 64, 7, 2, 7, 2], the tiled
// convolution's interleave, rows of 2, took 2.65 ms, 30x a plain copy). Pieces are whole rows,
// but rows longer than a piece (a merged row may be all of y: a flip of every axis, a copy),
// which are split. One loop per way of copying a row: with the reversed copy's call in the same
// loop, pixelShuffle's rows of 2 took 1.40 ms where they took 1.14.
template <typename CopyRow>
void walk_rows(const int32_t* px, int32_t* py, int64_t n, const std::vector<int64_t>& shape, const std::vector<int64_t>& src_strides,
               CopyRow copy_row) {
  const int64_t dims = static_cast<int64_t>(shape.size()), row = shape[dims - 1], step = src_strides[dims - 1];
  const auto first_source = [&](int64_t r, std::vector<int64_t>& at) {
    int64_t src = 0;
    for (int64_t d = dims - 2; d >= 0; --d) {
      at[d] = r % shape[d];
      r /= shape[d];
      src += at[d] * src_strides[d];
    }
    return src;
  };
  if (row >= kCopyGrain) {
    return parallel_for_elements(n, kCopyGrain, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> at(static_cast<size_t>(dims), 0);  // the row's index over the axes before the last
      int64_t src = first_source(begin / row, at);
      for (int64_t i = begin, j = begin % row; i < end; j = 0) {  // j: the position in the row
        const int64_t count = std::min(row - j, end - i);
        copy_row(px + src + j * step, py + i, count);
        i += count;
        for (int64_t d = dims - 2; d >= 0; --d) {  // the next row
          src += src_strides[d];
          if (++at[d] < shape[d]) break;
          src -= shape[d] * src_strides[d];
          at[d] = 0;
        }
      }
    });
  }
  parallel_for(n / row, kCopyGrain / row, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> at(static_cast<size_t>(dims), 0);
    int64_t src = first_source(begin, at);
    for (int64_t r = begin; r < end; ++r) {
      copy_row(px + src, py + r * row, row);
      for (int64_t d = dims - 2; d >= 0; --d) {
        src += src_strides[d];
        if (++at[d] < shape[d]) break;
        src -= shape[d] * src_strides[d];
        at[d] = 0;
      }
    }
  });
}

}  // namespace

void permute(const Tensor& x, const std::vector<int64_t>& perm, uint32_t reversed, const Tensor& y) {
  if (y.numel() == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  const int32_t* px = x.i32();  // 4-byte elements of either dtype; x's element for y's index 0
  // The walk over y: its axes with their strides in x (negative where reversed), axes of size 1
  // dropped and neighbours merged where x holds them together too, so that rows are as long as
  // they can be (channelShuffle's [N, g, C / g, H, W] -> [N, C / g, g, H, W]: rows of H W, not W).
  Shape merged = y.shape;
  std::vector<int64_t> strides[1] = {std::vector<int64_t>(y.dim())};
  for (int64_t d = 0; d < y.dim(); ++d) {
    const bool back = (reversed >> d) & 1u;
    strides[0][d] = back ? -x_strides[perm[d]] : x_strides[perm[d]];
    if (back) px += (y.shape[d] - 1) * x_strides[perm[d]];
  }
  merge_broadcast_axes(merged, strides);
  const std::vector<int64_t> shape = merged;
  std::vector<int64_t>& src_strides = strides[0];
  const int64_t dims = static_cast<int64_t>(shape.size()), n = y.numel();
  int32_t* py = y.i32();
  const int64_t row = shape[dims - 1];
  const int64_t step = src_strides[dims - 1];
  // Tiles once y's rows are a tile wide. A row gathered element by element touches `row` cache
  // lines of x, reused by the next rows while they stay in the L1, but one scalar load and store
  // an element; the SIMD tiles move 16 x 16 through registers. With the element-by-element tiles
  // of the time, the gather won up to rows of 256 (NCHW -> NHWC of [64, 256, 28, 28]: 7.8 ms by
  // rows, 13.4 by tiles); with copy_tile16(_avx) the tiles win from rows of 16 (Zen 3, 2 threads,
  // the two alternated: [120, 400] transposed 0.047-0.062 -> 0.015-0.029 ms, [64, 128, 64] ->
  // [64, 64, 128] 0.28-0.53 -> 0.10-0.22, NCHW -> NHWC of [8, 64, 56, 56] 1.67-1.75 -> 0.43-0.44,
  // of [16, 128, 28, 28] 1.2-1.8 -> 0.59-1.2, of [64, 256, 28, 28] in `tensor-ops.js` 11.1-12.8 ->
  // 8.7-9.3). Rows under 16 (the tiled convolution's interleave, rows of 2) keep the gather.
  // An axis t read backwards (rot90) is written backwards instead: y's rows along t in reverse
  // order, so that the tiles still read x forwards.
  if (step != 1 && step != -1 && row >= kTile) {
    for (int64_t t = 0; t < dims - 1; ++t) {
      if ((src_strides[t] != 1 && src_strides[t] != -1) || shape[t] == 1) continue;
      std::vector<int64_t> y_strides = contiguous_strides(shape);
      if (src_strides[t] == -1) {
        px -= shape[t] - 1;
        src_strides[t] = 1;
        py += (shape[t] - 1) * y_strides[t];
        y_strides[t] = -y_strides[t];
      }
      return permute_tiled(px, py, shape, src_strides, y_strides, t);
    }
  }
  if (step == 1) {
    walk_rows(px, py, n, shape, src_strides, [](const int32_t* in, int32_t* out, int64_t count) {
      std::memcpy(out, in, sizeof(int32_t) * static_cast<size_t>(count));
    });
  } else if (step == -1) {
    walk_rows(px, py, n, shape, src_strides, [](const int32_t* in, int32_t* out, int64_t count) { copy_reversed(in, out, count); });
  } else {
    walk_rows(px, py, n, shape, src_strides, [step](const int32_t* in, int32_t* out, int64_t count) {
      for (int64_t k = 0; k < count; ++k) out[k] = in[k * step];
    });
  }
}

// The walk of a join along an axis, shared by concat and split: each of the `outer` rows of the
// joined tensor (`row` elements each) holds the parts' rows one after another, part i from
// starts[i] to starts[i + 1]. The joined tensor's flat range is split into pieces of kCopyGrain
// elements, so that one long part (a join along axis 0) is copied by every thread, and 64 small
// ones (a stack of samples) cost one parallel loop, not one each. copy(i, o, at, len): `len`
// elements of part i's row o, from `at` in the joined row.
namespace {
template <typename Copy>
void walk_parts(int64_t outer, int64_t row, const std::vector<int64_t>& starts, Copy copy) {
  const size_t count = starts.size() - 1;
  parallel_for(outer * row, kCopyGrain, [&](int64_t begin, int64_t end) {
    int64_t o = begin / row, at = begin % row;
    // The last part starting at or before `at`: an empty part shares its start with the next.
    size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), at) - starts.begin()) - 1;
    while (begin < end) {
      const int64_t len = std::min(starts[i + 1] - at, end - begin);
      if (len > 0) copy(i, o, at, len);
      begin += len;
      at += len;
      if (at == starts[i + 1] && ++i == count) {
        i = 0;
        at = 0;
        ++o;
      }
    }
  });
}
}  // namespace

void concat(const std::vector<const Tensor*>& xs, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
  for (int64_t d = axis + 1; d < y.dim(); ++d) inner *= y.shape[d];
  const int64_t y_row = y.shape[axis] * inner;
  if (outer * y_row == 0) return;
  std::vector<int64_t> starts(xs.size() + 1, 0);  // where each tensor's part of a y row starts
  std::vector<const int32_t*> sources(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    starts[i + 1] = starts[i] + xs[i]->shape[axis] * inner;
    sources[i] = xs[i]->i32();
  }
  int32_t* py = y.i32();
  walk_parts(outer, y_row, starts, [&](size_t i, int64_t o, int64_t at, int64_t len) {
    const int64_t x_row = starts[i + 1] - starts[i];
    std::memcpy(py + o * y_row + at, sources[i] + o * x_row + (at - starts[i]), len * 4);
  });
}

// concat's walk the other way: x's rows are the pieces' rows one after another.
void split(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<Tensor>& ys) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t x_row = x.shape[axis] * inner;
  if (outer * x_row == 0) return;
  std::vector<int64_t> starts(ys.size() + 1, 0);  // where each piece's part of an x row starts
  std::vector<int32_t*> targets(ys.size());
  for (size_t i = 0; i < ys.size(); ++i) {
    starts[i + 1] = starts[i] + sizes[i] * inner;
    targets[i] = sizes[i] > 0 ? ys[i].i32() : nullptr;
  }
  const int32_t* px = x.i32();
  walk_parts(outer, x_row, starts, [&](size_t i, int64_t o, int64_t at, int64_t len) {
    const int64_t y_row = starts[i + 1] - starts[i];
    std::memcpy(targets[i] + o * y_row + (at - starts[i]), px + o * x_row + at, len * 4);
  });
}

void slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& step, const Tensor& y) {
  const int64_t dims = y.dim(), n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  int64_t base = 0;
  for (int64_t d = 0; d < dims; ++d) base += begin[d] * x_strides[d];
  const int64_t row = dims ? y.shape[dims - 1] : 1;
  const int64_t row_step = dims ? step[dims - 1] : 1;
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  parallel_for(n / row, std::max<int64_t>(1, kCopyGrain / row), [&](int64_t first, int64_t last) {
    // Row r's position in y's outer axes, found by division once a piece and then counted up
    // like an odometer: dividing for every row was most of a narrow's time on short rows
    // (28672 rows of 5 floats: 0.135 ms at 2 threads).
    std::vector<int64_t> index(dims > 1 ? dims - 1 : 1, 0);
    int64_t src = base;
    for (int64_t d = dims - 2, rest = first; d >= 0; --d) {
      index[d] = rest % y.shape[d];
      rest /= y.shape[d];
      src += index[d] * step[d] * x_strides[d];
    }
    for (int64_t r = first; r < last; ++r) {
      int32_t* out = py + r * row;
      if (row_step == 1) std::memcpy(out, px + src, row * 4);
      else for (int64_t j = 0; j < row; ++j) out[j] = px[src + j * row_step];
      for (int64_t d = dims - 2; d >= 0; --d) {  // the next row
        src += step[d] * x_strides[d];
        if (++index[d] < y.shape[d]) break;
        src -= index[d] * step[d] * x_strides[d];
        index[d] = 0;
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
