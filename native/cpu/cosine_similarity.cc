// The cosine similarity of a and b (one shape; lib/ broadcasts first) along one axis, as PyTorch
// 1.13's F.cosine_similarity, and its gradient (a and b viewed as [outer, len, inner] around the
// axis, row_lanes.h):
//   d_a = sqrt(max(sum a^2, eps^2)), d_b likewise;  y = sum(a * b) / (d_a d_b)
// which is PyTorch's sum((a / d_a) * (b / d_b)) in one pass, in float64. PyTorch clamps the
// squared norms without recording it (an in-place clamp under no_grad), so its gradient treats
// d_a as sqrt(sum a^2) even where the clamp acted; so does this one:
//   da = dy (b / (d_a d_b) - y a / d_a^2),   db = dy (a / (d_a d_b) - y b / d_b^2)
// (a zero vector gets dy b / (eps d_b), as PyTorch's). A NaN makes its y, and its gradients, NaN.
//
// The three sums of a row in row_lanes.h's order (columns: float64 in order of the axis); each
// row's sums and its gradients back to back on one thread; the bits never depend on the thread
// count.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/row_lanes.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {


#define CONVNET_ROW_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES

// sum a^2, sum b^2, sum a * b over a contiguous run.
template <typename L>
CONVNET_ROW_KERNEL void pair_sums_lanes(const float* __restrict a, const float* __restrict b, int64_t n, double* sums) {
  using Floats16 = typename L::Floats16;
  lanes::row_sums<L, 3>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    Floats16 u, v;
    L::load(a + i, count, u);
    L::load(b + i, count, v);
    t[0] = u * u;
    t[1] = v * v;
    t[2] = u * v;
  }, sums);
}

void pair_sums(const float* __restrict a, const float* __restrict b, int64_t n, double* sums) {
  if (lanes16::wide()) pair_sums_lanes<lanes16::Wide>(a, b, n, sums);
  else pair_sums_lanes<lanes16::Pairs>(a, b, n, sums);
}

// The forward of whole rows (one block each), a range of rows inside one clone (a call per row
// through the clone dispatcher cost as much as a short row's sums).
template <typename L>
CONVNET_ROW_KERNEL void pair_sums_rows_lanes(const float* __restrict a, const float* __restrict b, int64_t rows, int64_t n,
                                       double* __restrict sums) {
  using Floats16 = typename L::Floats16;
  for (int64_t r = 0; r < rows; ++r) {
    const float *ra = a + r * n, *rb = b + r * n;
    lanes::row_sums<L, 3>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
      Floats16 u, v;
      L::load(ra + i, count, u);
      L::load(rb + i, count, v);
      t[0] = u * u;
      t[1] = v * v;
      t[2] = u * v;
    }, sums + 3 * r);
  }
}

void pair_sums_rows(const float* __restrict a, const float* __restrict b, int64_t rows, int64_t n, double* __restrict sums) {
  if (lanes16::wide()) pair_sums_rows_lanes<lanes16::Wide>(a, b, rows, n, sums);
  else pair_sums_rows_lanes<lanes16::Pairs>(a, b, rows, n, sums);
}

// The columns' case: the three sums of one row of w columns added to the float64 sums.
CONVNET_ROW_KERNEL void add_pair_sums(double* __restrict aa, double* __restrict bb, double* __restrict ab,
                                      const float* __restrict a, const float* __restrict b, int64_t w) {
  for (int64_t i = 0; i < w; ++i) {
    const double u = a[i], v = b[i];
    aa[i] += u * u;
    bb[i] += v * v;
    ab[i] += u * v;
  }
}

// out = k_other * other + k_self * self in float, the factors rounded once per row (float64 per
// element spent more on conversions than on the rest), no FMA (the same bits on every CPU path).
CONVNET_ROW_KERNEL void combine_run(const float* __restrict other, float k_other, const float* __restrict self,
                                    float k_self, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = k_other * other[i] + k_self * self[i];
}

inline double clamped_norm(double squares, double eps2) { return std::sqrt(squares < eps2 ? eps2 : squares); }  // NaN stays NaN

struct Row {
  double da, db, y;
};
inline Row row_of(const double* sums, double eps2) {
  const double da = clamped_norm(sums[0], eps2), db = clamped_norm(sums[1], eps2);
  return {da, db, sums[2] / (da * db)};
}

int64_t row_grain(int64_t len) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, len)); }

// The three sums of every output of the columns' layout (inner > 1), in chunks of columns.
void column_sums(const float* pa, const float* pb, const lanes::RunLayout& l, std::vector<double>* sums) {
  const int64_t chunks = (l.inner + lanes::kCols - 1) / lanes::kCols;
  double* s = sums->data();
  const int64_t outputs = l.outputs();
  parallel_for(l.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * lanes::kCols, w = std::min(lanes::kCols, l.inner - c0);
      double* at = s + o * l.inner + c0;
      for (int64_t r = 0; r < l.len; ++r) {
        const int64_t off = (o * l.len + r) * l.inner + c0;
        add_pair_sums(at, at + outputs, at + 2 * outputs, pa + off, pb + off, w);
      }
    }
  });
}

}  // namespace

void cosine_similarity_forward(const Tensor& a, const Tensor& b, int64_t axis, double eps, const Tensor& y) {
  const lanes::RunLayout l = lanes::run_layout(a.shape, {axis});
  const double eps2 = eps * eps;
  const float *pa = a.f32(), *pb = b.f32();
  float* py = y.f32();
  const int64_t outputs = l.outputs();
  if (outputs == 0) return;
  if (l.inner == 1 && l.len <= lanes::kBlock) {
    parallel_for(l.outer, row_grain(l.len), [&](int64_t begin, int64_t end) {
      double sums[3 * 16];
      for (int64_t r0 = begin; r0 < end; r0 += 16) {
        const int64_t rows = std::min<int64_t>(16, end - r0);
        pair_sums_rows(pa + r0 * l.len, pb + r0 * l.len, rows, l.len, sums);
        for (int64_t r = 0; r < rows; ++r) py[r0 + r] = static_cast<float>(row_of(sums + 3 * r, eps2).y);
      }
    });
    return;
  }
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    std::vector<double> partial(static_cast<size_t>(blocks > 1 ? 3 * l.outer * blocks : 0));
    parallel_for(l.outer * blocks, row_grain(std::min(l.len, lanes::kBlock)), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        double sums[3];
        pair_sums(pa + at, pb + at, std::min(lanes::kBlock, l.len - r0), sums);
        if (blocks == 1) py[row] = static_cast<float>(row_of(sums, eps2).y);
        else for (int k = 0; k < 3; ++k) partial[3 * t + k] = sums[k];
      }
    });
    if (blocks == 1) return;
    for (int64_t row = 0; row < l.outer; ++row) {  // long rows: the blocks' sums in order
      double sums[3] = {0.0, 0.0, 0.0};
      for (int64_t b = 0; b < blocks; ++b)
        for (int k = 0; k < 3; ++k) sums[k] += partial[3 * (row * blocks + b) + k];
      py[row] = static_cast<float>(row_of(sums, eps2).y);
    }
    return;
  }
  std::vector<double> sums(static_cast<size_t>(3 * outputs), 0.0);
  column_sums(pa, pb, l, &sums);
  for (int64_t out = 0; out < outputs; ++out) {
    const double s[3] = {sums[out], sums[outputs + out], sums[2 * outputs + out]};
    py[out] = static_cast<float>(row_of(s, eps2).y);
  }
}

void cosine_similarity_backward(const Tensor& dy, const Tensor& a, const Tensor& b, int64_t axis, double eps,
                                const Tensor& da, const Tensor& db) {
  const lanes::RunLayout l = lanes::run_layout(a.shape, {axis});
  const double eps2 = eps * eps;
  const float *pa = a.f32(), *pb = b.f32(), *pdy = dy.f32();
  float *pda = da.f32(), *pdb = db.f32();
  const int64_t outputs = l.outputs();
  if (a.numel() == 0) return;
  // The four factors of an output: da = k[0] b + k[1] a, db = k[2] a + k[3] b.
  const auto factors = [&](const double* sums, double g, double* k) {
    const Row r = row_of(sums, eps2);
    k[0] = g / (r.da * r.db);
    k[1] = -g * r.y / (r.da * r.da);
    k[2] = k[0];
    k[3] = -g * r.y / (r.db * r.db);
  };
  if (l.inner == 1 && l.len <= lanes::kBlock) {
    parallel_for(l.outer, row_grain(l.len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const int64_t at = o * l.len;
        double sums[3], k[4];
        pair_sums(pa + at, pb + at, l.len, sums);
        factors(sums, pdy[o], k);
        combine_run(pb + at, static_cast<float>(k[0]), pa + at, static_cast<float>(k[1]), pda + at, l.len);
        combine_run(pa + at, static_cast<float>(k[2]), pb + at, static_cast<float>(k[3]), pdb + at, l.len);
      }
    });
    return;
  }
  std::vector<double> sums(static_cast<size_t>(3 * outputs), 0.0);
  if (l.inner == 1) {  // long rows: the blocks' sums in order
    const int64_t blocks = lanes::blocks_of(l.len);
    std::vector<double> partial(static_cast<size_t>(3 * l.outer * blocks));
    parallel_for(l.outer * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        pair_sums(pa + at, pb + at, std::min(lanes::kBlock, l.len - r0), &partial[3 * t]);
      }
    });
    for (int64_t row = 0; row < l.outer; ++row)
      for (int64_t bl = 0; bl < blocks; ++bl)
        for (int k = 0; k < 3; ++k) sums[k * outputs + row] += partial[3 * (row * blocks + bl) + k];
  } else {
    column_sums(pa, pb, l, &sums);
  }
  std::vector<double> k(static_cast<size_t>(4 * outputs));
  for (int64_t out = 0; out < outputs; ++out) {
    const double s[3] = {sums[out], sums[outputs + out], sums[2 * outputs + out]};
    factors(s, pdy[out], &k[4 * out]);
  }
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    parallel_for(l.outer * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        const int64_t n = std::min(lanes::kBlock, l.len - r0);
        const double* kr = &k[4 * row];
        combine_run(pb + at, static_cast<float>(kr[0]), pa + at, static_cast<float>(kr[1]), pda + at, n);
        combine_run(pa + at, static_cast<float>(kr[2]), pb + at, static_cast<float>(kr[3]), pdb + at, n);
      }
    });
    return;
  }
  parallel_for(l.outer * l.len, std::max<int64_t>(1, lanes::kBlock / l.inner), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / l.len, at = line * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double* kr = &k[4 * (o * l.inner + i)];
        const float u = pa[at + i], v = pb[at + i];  // as combine_run
        pda[at + i] = static_cast<float>(kr[0]) * v + static_cast<float>(kr[1]) * u;
        pdb[at + i] = static_cast<float>(kr[2]) * u + static_cast<float>(kr[3]) * v;
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
