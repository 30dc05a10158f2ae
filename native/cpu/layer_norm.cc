// Layer normalisation (Ba, Kiros and Hinton 2016) over x viewed as [rows, m], m the number of
// values of the normalised shape (PyTorch's native_layer_norm):
//   mean, var = each row's mean and biased variance; rstd = 1 / sqrt(var + eps);
//   y = ((x - mean) * rstd) * w + b, with w and b (optional) per value of the row, [m].
// mean and rstd [rows] are saved for the backward. A row of one value normalises to 0.
//
// Backward, with g = dy * w and xhat = (x - mean) * rstd:
//   dx = rstd * (g - sum(g) / m - xhat * sum(g * xhat) / m)
//      = g * rstd + k * (x - mean) + c0,  k = -rstd^3 sum(g (x - mean)) / m, c0 = -rstd sum(g) / m;
//   dw = sum over rows of dy * xhat,  db = sum over rows of dy.
// The row sums are norm_rows.h's (float blocks added to float64 lanes, pieces in order). dw and
// db sum over rows: in float over blocks of up to kRowBlock rows, the blocks' sums then added in
// float64 in order. The blocks are cut by the shape alone, so no bit depends on the thread count.
// Two layouts of that work (note [layer norm backward layouts]) give the same bits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/norm_rows.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kRowBlock = 32;  // rows a float partial of dw and db spans at most

// Note [layer norm backward layouts]: short rows (m <= 2048: a ViT's [tokens, 384]) go a block
// of rows at a time: one thread computes each row's sums and dx while the row is in L1, and adds
// the block's dw, db into float partials [blocks, m], which are then added in order of block.
// Long rows (LayerNorm over [C, H, W]) would make those partials as large as x: there the rows'
// sums come first (in pieces, in parallel), then threads take columns [j, j + kColumns) of every
// row in order, writing dx and adding dw, db in float over each block of kRowBlock rows, then
// into float64. The float partial of a block holds the same sum in the same order both ways.
constexpr int64_t kShortRow = 2048;
constexpr int64_t kColumns = 2048;

struct Coefficients {
  float rstd, k, c0;  // rstd is 0 for a row of one value (dx = 0, as the forward's x * 0)
};

Coefficients coefficients(double sum_g, double sum_g_xmu, float rstd, int64_t m) {
  if (m == 1) return {0.0f, 0.0f, 0.0f};
  const double r = rstd, n = static_cast<double>(m);
  return {rstd, static_cast<float>(-r * r * r * sum_g_xmu / n), static_cast<float>(-r * sum_g / n)};
}

// total[j] = sum over k < rows of p[k * stride + j] for j < n, in float64 in order of k
// (accumulate: add to total as it is, instead of starting from 0).
CONVNET_SIMD_CLONES
void add_block_rows(const float* __restrict p, int64_t rows, int64_t stride, int64_t n, double* __restrict total,
                    bool accumulate = false) {
  if (!accumulate) {
    for (int64_t j = 0; j < n; ++j) total[j] = 0.0;
  }
  for (int64_t k = 0; k < rows; ++k) {
    const float* __restrict row = p + k * stride;
    for (int64_t j = 0; j < n; ++j) total[j] += static_cast<double>(row[j]);
  }
}

// The short rows' partials of dw and db, kept by the queue's worker between calls (as conv2d's
// scratch): a fresh allocation per call cost a page fault per 4 KiB, a quarter of the backward.
float* scratch(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) {
    buffer = std::vector<float>();  // free first, so that old and new do not coexist
    buffer.resize(static_cast<size_t>(n));
  }
  return buffer.data();
}

// Note [4K aliasing]: dw's and db's running sums are read and written in the same loop; at
// addresses equal modulo 4 KiB (two page-aligned buffers) the CPU takes each load of one for a
// reload of the other's pending store and waits: on [6272, 384] the backward took 1.1 ms with
// both sums against 0.7-0.8 ms with either. So the second starts half a page after the first:
// the floats from one to the other, n rounded up to whole pages, plus half a page.
int64_t apart(int64_t n) { return (n + 1023) / 1024 * 1024 + 512; }

// out[j] = the sum over k of partial[k * m + j] (k < blocks), in float64 in order of k: a column
// chunk at a time, so that the adds run along rows of the partials (vectorised) and not down
// their columns (a scalar walk of [blocks, m] with a stride of m: 0.7 ms of a 2.5 ms backward).
void add_blocks(const float* partial, int64_t blocks, int64_t m, float* out) {
  if (!out) return;
  constexpr int64_t kChunk = 512;
  parallel_for((m + kChunk - 1) / kChunk, 16, [&](int64_t begin, int64_t end) {
    double total[kChunk];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t j0 = chunk * kChunk, n = std::min(m, j0 + kChunk) - j0;
      add_block_rows(partial + j0, blocks, m, n, total);
      for (int64_t j = 0; j < n; ++j) out[j0 + j] = static_cast<float>(total[j]);
    }
  });
}

}  // namespace

void layer_norm_forward(const Tensor& x, int64_t m, const Tensor* w, const Tensor* b, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd) {
  const int64_t rows = m ? x.numel() / m : 0;
  const float* px = x.f32();
  float* py = y.f32();
  const float* pw = w ? w->f32() : nullptr;
  const float* pb = b ? b->f32() : nullptr;
  normalize_rows(px, rows, m, eps, mean.f32(), rstd.f32(), [&](int64_t r, int64_t begin, int64_t end, float mu, float scale) {
    affine_row(px + r * m + begin, mu, scale, pw ? pw + begin : nullptr, pb ? pb + begin : nullptr, py + r * m + begin,
               end - begin);
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, int64_t m, const Tensor* w, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor* dw, const Tensor* db) {
  const int64_t rows = m ? x.numel() / m : 0;
  float* pdw = dw ? dw->f32() : nullptr;
  float* pdb = db ? db->f32() : nullptr;
  if (rows == 0) {
    for (int64_t j = 0; j < m; ++j) {
      if (pdw) pdw[j] = 0.0f;
      if (pdb) pdb[j] = 0.0f;
    }
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32(), *pmean = mean.f32(), *prstd = rstd.f32();
  const float* pw = w ? w->f32() : nullptr;
  float* pdx = dx.f32();
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  if (m <= kShortRow) {
    float* partials = scratch(2 * apart(blocks * m));
    float* partial_w = pdw ? partials : nullptr;
    float* partial_b = pdb ? partials + apart(blocks * m) : nullptr;
    parallel_for(blocks, std::max<int64_t>(1, kPiece / (kRowBlock * m)), [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        float* acc_w = pdw ? partial_w + k * m : nullptr;
        float* acc_b = pdb ? partial_b + k * m : nullptr;
        if (acc_w) std::fill(acc_w, acc_w + m, 0.0f);
        if (acc_b) std::fill(acc_b, acc_b + m, 0.0f);
        for (int64_t r = k * kRowBlock; r < std::min(rows, (k + 1) * kRowBlock); ++r) {
          const int64_t at = r * m;
          double s1, s2;
          const float rs = m == 1 ? 0.0f : prstd[r];
          layer_norm_row_sums(pdy + at, pw, px + at, pmean[r], rs, m, &s1, &s2, acc_w, acc_b);
          const Coefficients c = coefficients(s1, s2, prstd[r], m);
          layer_norm_backward_row(pdy + at, pw, px + at, pmean[r], c.rstd, c.k, c.c0, pdx + at, nullptr, nullptr, m);
        }
      }
    });
    add_blocks(partial_w, blocks, m, pdw);
    add_blocks(partial_b, blocks, m, pdb);
    return;
  }
  // Long rows: the sums in pieces (as the forward's), then columns.
  const int64_t pieces = pieces_of(m);
  std::vector<double> s1(static_cast<size_t>(rows * pieces)), s2(s1.size());
  parallel_for(rows * pieces, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t r = i / pieces, from = (i % pieces) * kPiece, n = std::min(m, from + kPiece) - from;
      layer_norm_row_sums(pdy + r * m + from, pw ? pw + from : nullptr, px + r * m + from, pmean[r], 0.0f, n, &s1[i], &s2[i],
                          nullptr, nullptr);
    }
  });
  std::vector<Coefficients> coef(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double t1 = 0.0, t2 = 0.0;
    for (int64_t p = 0; p < pieces; ++p) t1 += s1[r * pieces + p], t2 += s2[r * pieces + p];
    coef[r] = coefficients(t1, t2, prstd[r], m);
  }
  const int64_t chunks = (m + kColumns - 1) / kColumns;
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    // A block's float sums and the float64 totals of the blocks, for this chunk of columns.
    std::vector<float> acc(2 * apart(kColumns));  // Note [4K aliasing]
    float *acc_w = acc.data(), *acc_b = acc_w + apart(kColumns);
    std::vector<double> total_w(pdw ? kColumns : 0), total_b(pdb ? kColumns : 0);
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t j = chunk * kColumns, n = std::min(m, j + kColumns) - j;
      std::fill(total_w.begin(), total_w.end(), 0.0);
      std::fill(total_b.begin(), total_b.end(), 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        if (r % kRowBlock == 0) std::fill(acc.begin(), acc.end(), 0.0f);
        const int64_t at = r * m + j;
        layer_norm_backward_row(pdy + at, pw ? pw + j : nullptr, px + at, pmean[r], coef[r].rstd, coef[r].k, coef[r].c0,
                                pdx + at, pdw ? acc_w : nullptr, pdb ? acc_b : nullptr, n);
        if (r % kRowBlock == kRowBlock - 1 || r == rows - 1) {
          if (pdw) add_block_rows(acc_w, 1, 0, n, total_w.data(), true);
          if (pdb) add_block_rows(acc_b, 1, 0, n, total_b.data(), true);
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        if (pdw) pdw[j + i] = static_cast<float>(total_w[i]);
        if (pdb) pdb[j + i] = static_cast<float>(total_b[i]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
