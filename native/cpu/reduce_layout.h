// The layout of a reduction over any set of axes of a contiguous tensor, shared by reduce.cc
// (sum, mean, max, min, argmax) and var_std.cc (internal to the CPU backend): x's axes merged
// (size-1 axes dropped, neighbours of one kind joined), then either
//  - runs: the last merged axis is reduced, so each output (or partial) reduces contiguous runs;
//  - rows (Rows): the last merged axis is kept, I wide, and x is a set of contiguous rows of I
//    elements, y[o, :] = reduce over r of row(o, r), visited by for_each_row_chunk in fixed
//    blocks of rows (from the shape alone) and chunks of the row (which change no output's order).
// reduce.cc's header comment describes how the kernels use them.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/storage.h"
#include "core/thread_pool.h"

namespace convnet {
namespace cpu {
namespace reduction {

constexpr int64_t kBlock = 1 << 14;  // elements per partial of a long run (and at least per block of rows)

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// x's axes without those of size 1, neighbours of one kind merged (x is contiguous, so a
// merged axis has one stride).
struct Axis {
  int64_t size, stride;
  bool reduced;
};

inline std::vector<Axis> merged_axes(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> is_reduced(shape.size(), false);
  for (int64_t a : axes) is_reduced[a] = true;
  const std::vector<int64_t> strides = contiguous_strides(shape);
  std::vector<Axis> merged;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!merged.empty() && merged.back().reduced == is_reduced[d]) {
      merged.back().size *= shape[d];
      merged.back().stride = strides[d];
    } else {
      merged.push_back({shape[d], strides[d], is_reduced[d]});
    }
  }
  return merged;
}

// x (merged axes ending in a kept one, or none) as rows of `inner` contiguous elements:
// y[o * inner + i] = reduce over r < rows of x[outer_offset(o) + row offset(r) + i], the
// rows r in x's (row-major) order.
struct Rows {
  int64_t outer = 1, rows = 1, inner = 1;
  std::vector<Axis> outer_axes, row_axes;

  explicit Rows(std::vector<Axis> merged) {
    if (!merged.empty()) {
      inner = merged.back().size;
      merged.pop_back();
    }
    for (const Axis& a : merged) {
      (a.reduced ? row_axes : outer_axes).push_back(a);
      (a.reduced ? rows : outer) *= a.size;
    }
  }

  int64_t outer_offset(int64_t o) const {
    int64_t at = 0;
    for (size_t k = outer_axes.size(); k-- > 0;) {
      at += (o % outer_axes[k].size) * outer_axes[k].stride;
      o /= outer_axes[k].size;
    }
    return at;
  }

  // Rows per block: all of them, unless few outputs share a long reduction; then blocks of at
  // least kBlock elements, 32 at most, so that every thread has work. From the shape alone.
  int64_t rows_per_block() const {
    if (outer * inner > 8192 || rows * inner < 4 * kBlock) return rows;
    return std::max(ceil_div(kBlock, inner), ceil_div(rows, 32));
  }

  // Chunks of the row, as wide as it allows (2048: 16 KiB of float64 sums), so that x is read in
  // long runs (256-wide chunks of 784-element rows ran 2.3 ms for [64, 256, 28, 28] over dim 1,
  // PyTorch 1.0), narrower only to give every thread work (which changes no output's order).
  int64_t chunk_width(int64_t blocks) const {
    int64_t chunk = std::min<int64_t>(inner, 2048);
    while (chunk > 256 && blocks * outer * ceil_div(inner, chunk) < 4 * num_threads()) chunk = std::max<int64_t>(256, chunk / 2);
    return chunk;
  }
};

// The offsets of rows r, r + 1, ... (an odometer over the reduced axes).
class RowCursor {
 public:
  explicit RowCursor(const std::vector<Axis>& axes) : axes_(axes), index_(axes.size()) {}

  void seek(int64_t r) {
    offset_ = 0;
    for (size_t k = axes_.size(); k-- > 0;) {
      index_[k] = r % axes_[k].size;
      offset_ += index_[k] * axes_[k].stride;
      r /= axes_[k].size;
    }
  }
  int64_t offset() const { return offset_; }
  // rows[k] = base + the offset of the next k-th row, for k < count; the cursor moves past them.
  template <typename T>
  void take(const T* base, const T** rows, int count) {
    for (int k = 0; k < count; ++k) {
      rows[k] = base + offset_;
      next();
    }
  }
  void next() {
    for (size_t k = axes_.size(); k-- > 0;) {
      offset_ += axes_[k].stride;
      if (++index_[k] < axes_[k].size) return;
      offset_ -= axes_[k].size * axes_[k].stride;
      index_[k] = 0;
    }
  }

 private:
  const std::vector<Axis>& axes_;
  std::vector<int64_t> index_;
  int64_t offset_ = 0;
};

// store(j, value of run j) for j < runs, the runs contiguous and `run` long: a run of at most
// kBlock elements is block(j, j * run, run), whole on one thread; a longer one is cut into blocks
// of kBlock (a multiple of 128: vec::sum's chunks line up the same in every block), block(j, at,
// len) each, in parallel, and their values (A) are combined in order by combine(a, b).
template <typename A, typename Block, typename Combine, typename Store>
void blocked_runs(int64_t runs, int64_t run, const Block& block, const Combine& combine, const Store& store) {
  const int64_t blocks = ceil_div(run, kBlock);
  if (blocks == 1) {
    parallel_for(runs, std::max<int64_t>(1, kBlock / run), [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) store(j, block(j, j * run, run));
    });
    return;
  }
  std::vector<A> partial(static_cast<size_t>(runs * blocks));
  parallel_for(runs * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t j = t / blocks, r0 = (t % blocks) * kBlock;
      partial[t] = block(j, j * run + r0, std::min(kBlock, run - r0));
    }
  });
  parallel_for(runs, std::max<int64_t>(1, 4096 / blocks), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      A a = partial[j * blocks];
      for (int64_t b = 1; b < blocks; ++b) a = combine(a, partial[j * blocks + b]);
      store(j, a);
    }
  });
}

// Calls fn(o, i0, width, r0, r1, cursor, block) for every (block of rows, output row o, chunk
// [i0, i0 + width) of it) in parallel; the cursor stands at row r0.
template <typename Fn>
void for_each_row_chunk(const Rows& rows, int64_t per_block, int64_t chunk, const Fn& fn) {
  const int64_t blocks = ceil_div(rows.rows, per_block), chunks = ceil_div(rows.inner, chunk);
  const int64_t grain = std::max<int64_t>(1, 4 * kBlock / (chunk * std::min(per_block, rows.rows)));
  parallel_for(blocks * rows.outer * chunks, grain, [&](int64_t begin, int64_t end) {
    RowCursor cursor(rows.row_axes);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t block = t / (rows.outer * chunks), o = t / chunks % rows.outer, i0 = t % chunks * chunk;
      const int64_t r0 = block * per_block;
      cursor.seek(r0);
      fn(o, i0, std::min(chunk, rows.inner - i0), r0, std::min(rows.rows, r0 + per_block), cursor, block);
    }
  });
}

}  // namespace reduction
}  // namespace cpu
}  // namespace convnet
