// The float64 matrix kernels of lib/linalg.ts (which reads its matrices back as float64 on the
// host, as LAPACK's double routines would): LU with partial pivoting, solves from it, triangular
// solves, Cholesky and a plain product, one matrix at a time on the calling thread
// (linalg_batched.cc runs det, inv and cholesky with them over a batch on the pool's threads).
// They were JavaScript loops, still there for the other functions' matrices under 16 wide,
// where a native call costs more than the work; det of [64, 64, 64] took 9.4 ms there, 0.86 in
// PyTorch.
//
// Each does exactly the JavaScript's arithmetic, in its order (no FMA contraction, no
// reassociation), so both give the same bits: the loops vectorise across a row, where each
// element's own sequence of operations is unchanged. Cholesky is written right-looking (after
// each column, the rest of the triangle updated), which subtracts the same products from each
// element in the same order as the JavaScript's dot products did. Wider matrices (LU from 48,
// Cholesky from 32) go in panels of 8 columns, with the same operations in the same order again
// (Note [LU in panels], Note [Cholesky in panels]).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

#define LINALG_KERNEL CONVNET_SIMD_CLONES __attribute__((optimize("fp-contract=off")))

namespace {

// Matrices this wide or more are factored in panels (lu_panels): 8 LUs of 48 x 48 took 58 us
// against 64 unblocked, of 64 114 against 130, of 128 666 against 935; under 40 wide, longer (a
// standalone bench of both: bench/JOURNAL.md, session 67).
constexpr int64_t kLuPanelMin = 48;

// `count` zeroed doubles aligned to 64 bytes, owned by `storage`.
double* aligned_zeros(std::vector<double>& storage, int64_t count) {
  storage.assign(static_cast<size_t>(count) + 8, 0.0);
  const auto p = reinterpret_cast<uintptr_t>(storage.data());
  return reinterpret_cast<double*>((p + 63) & ~uintptr_t{63});
}

// perm starts as the identity.
LINALG_KERNEL LuInfo lu_unblocked(double* a, int64_t n, int32_t* perm) {
  LuInfo info{1, -1};
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    double best = std::fabs(a[k * n + k]);
    for (int64_t i = k + 1; i < n; ++i) {
      const double v = std::fabs(a[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (p != k) {
      double* rk = a + k * n;
      double* rp = a + p * n;
      for (int64_t j = 0; j < n; ++j) {
        const double s = rk[j];
        rk[j] = rp[j];
        rp[j] = s;
      }
      const int32_t s = perm[k];
      perm[k] = perm[p];
      perm[p] = s;
      info.sign = -info.sign;
    }
    const double pivot = a[k * n + k];
    if (pivot == 0) {
      if (info.zero_at < 0) info.zero_at = k;
      continue;
    }
    const double* __restrict rk = a + k * n;
    for (int64_t i = k + 1; i < n; ++i) {
      double* __restrict ri = a + i * n;
      const double f = (ri[k] /= pivot);
      if (f == 0) continue;
      for (int64_t j = k + 1; j < n; ++j) ri[j] -= f * rk[j];
    }
  }
  return info;
}

// Note [LU in panels]: as Note [Cholesky in panels], the columns go in panels of 8, copied out
// column-major for the pivot searches, divisions and the panel's own updates; row swaps move the
// panel's rows there and the rest of the rows in the matrix (both rows are at the same stage: the
// updates they have yet to take travel with them as their multipliers). Then U's rows of the
// panel right of it take their subtractions from the rows above them, and each row below takes
// the panel's 8 subtractions at once, in order, over whole aligned vectors of a padded copy. A
// zero multiplier skips its subtraction and a zero pivot its step, as in the unblocked loop (0 *
// inf is NaN, -0 - -0 is +0): where a row has either, its subtractions go one at a time. The
// same operations on each element in the same order: the same bits (checked with zero pivots,
// equal rows, NaN and Infinity entries and small integers in the bench).
LINALG_KERNEL LuInfo lu_panels(double* a, int64_t n, int32_t* perm) {
  constexpr int64_t B = 8;
  LuInfo info{1, -1};
  const int64_t ld = (n + B - 1) / B * B;
  std::vector<double> w_storage, panel_storage;
  double* w = aligned_zeros(w_storage, n * ld);
  double* panel = aligned_zeros(panel_storage, B * ld);  // column k of the panel at panel + k * ld
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) w[i * ld + j] = a[i * n + j];
  }
  bool skip[B];  // the panel's steps with a zero pivot
  for (int64_t k0 = 0; k0 < n; k0 += B) {
    const int64_t k1 = std::min(n, k0 + B), width = k1 - k0;
    for (int64_t k = 0; k < width; ++k) {
      for (int64_t i = k0; i < n; ++i) panel[k * ld + i] = w[i * ld + k0 + k];
    }
    for (int64_t k = k0; k < k1; ++k) {
      double* __restrict c = panel + (k - k0) * ld;
      int64_t p = k;
      double best = std::fabs(c[k]);
      for (int64_t i = k + 1; i < n; ++i) {
        const double v = std::fabs(c[i]);
        if (v > best) {
          best = v;
          p = i;
        }
      }
      if (p != k) {
        for (int64_t q = 0; q < width; ++q) std::swap(panel[q * ld + k], panel[q * ld + p]);
        double* rk = w + k * ld;
        double* rp = w + p * ld;
        for (int64_t j = 0; j < k0; ++j) std::swap(rk[j], rp[j]);
        for (int64_t j = k1; j < n; ++j) std::swap(rk[j], rp[j]);
        std::swap(perm[k], perm[p]);
        info.sign = -info.sign;
      }
      const double pivot = c[k];
      skip[k - k0] = pivot == 0;
      if (pivot == 0) {
        if (info.zero_at < 0) info.zero_at = k;
        continue;
      }
      for (int64_t i = k + 1; i < n; ++i) c[i] /= pivot;
      for (int64_t q = k + 1; q < k1; ++q) {
        double* __restrict pq = panel + (q - k0) * ld;
        const double u = pq[k];
        for (int64_t i = k + 1; i < n; ++i) pq[i] = c[i] == 0 ? pq[i] : pq[i] - c[i] * u;
      }
    }
    for (int64_t k = 0; k < width; ++k) {
      for (int64_t i = k0; i < n; ++i) w[i * ld + k0 + k] = panel[k * ld + i];
    }
    if (k1 == n) break;
    // U's rows k0 .. k1 - 1 right of the panel: each minus its multipliers times the rows above.
    for (int64_t k = k0 + 1; k < k1; ++k) {
      double* __restrict rk = w + k * ld;
      for (int64_t q = k0; q < k; ++q) {
        const double l = panel[(q - k0) * ld + k];
        if (skip[q - k0] || l == 0) continue;
        const double* __restrict rq = w + q * ld;
        for (int64_t j = k1; j < n; ++j) rk[j] -= l * rq[j];
      }
    }
    // The rows below, from the aligned vector holding column k1 (the columns left of it, and the
    // padding, get garbage that is never read: the left ones are written back from the panel).
    bool any_skip = false;
    for (int64_t q = 0; q < B; ++q) any_skip |= skip[q];
    const int64_t j0 = k1 / B * B;
    const double* __restrict u = static_cast<const double*>(__builtin_assume_aligned(w + k0 * ld, 64));
    for (int64_t i = k1; i < n; ++i) {
      double* __restrict ri = static_cast<double*>(__builtin_assume_aligned(w + i * ld, 64));
      const double* li = panel + i;
      const double l0 = li[0], l1 = li[ld], l2 = li[2 * ld], l3 = li[3 * ld];
      const double l4 = li[4 * ld], l5 = li[5 * ld], l6 = li[6 * ld], l7 = li[7 * ld];
      if (!any_skip && l0 != 0 && l1 != 0 && l2 != 0 && l3 != 0 && l4 != 0 && l5 != 0 && l6 != 0 && l7 != 0) {
        for (int64_t j = j0; j < ld; ++j) {
          ri[j] = (((((((ri[j] - l0 * u[j]) - l1 * u[ld + j]) - l2 * u[2 * ld + j]) - l3 * u[3 * ld + j]) - l4 * u[4 * ld + j]) -
                    l5 * u[5 * ld + j]) - l6 * u[6 * ld + j]) - l7 * u[7 * ld + j];
        }
      } else {
        for (int64_t q = 0; q < B; ++q) {
          const double l = li[q * ld];
          if (skip[q] || l == 0) continue;
          const double* __restrict uq = u + q * ld;
          for (int64_t j = k1; j < n; ++j) ri[j] -= l * uq[j];
        }
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) a[i * n + j] = w[i * ld + j];
  }
  return info;
}

}  // namespace

LuInfo lu_factor_f64(double* a, int64_t n, int32_t* perm) {
  for (int64_t i = 0; i < n; ++i) perm[i] = static_cast<int32_t>(i);
  return n >= kLuPanelMin ? lu_panels(a, n, perm) : lu_unblocked(a, n, perm);
}

LINALG_KERNEL void lu_solve_f64(const double* lu, const int32_t* perm, const double* b, double* x, int64_t n, int64_t k) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) x[i * k + j] = b[perm[i] * k + j];
  }
  for (int64_t i = 0; i < n; ++i) {
    double* __restrict xi = x + i * k;
    for (int64_t p = 0; p < i; ++p) {
      const double l = lu[i * n + p];
      if (l == 0) continue;
      const double* __restrict xp = x + p * k;
      for (int64_t j = 0; j < k; ++j) xi[j] -= l * xp[j];
    }
  }
  for (int64_t i = n - 1; i >= 0; --i) {
    double* __restrict xi = x + i * k;
    for (int64_t p = i + 1; p < n; ++p) {
      const double u = lu[i * n + p];
      if (u == 0) continue;
      const double* __restrict xp = x + p * k;
      for (int64_t j = 0; j < k; ++j) xi[j] -= u * xp[j];
    }
    const double d = lu[i * n + i];
    for (int64_t j = 0; j < k; ++j) xi[j] /= d;
  }
}

LINALG_KERNEL void triangular_solve_f64(const double* a, double* x, int64_t n, int64_t k, bool upper, bool unit,
                                        bool trans) {
  const bool lower = upper == trans;  // op(A)'s triangle
  for (int64_t step = 0; step < n; ++step) {
    const int64_t i = lower ? step : n - 1 - step;
    const int64_t from = lower ? 0 : i + 1, to = lower ? i : n;
    double* __restrict xi = x + i * k;
    for (int64_t j = from; j < to; ++j) {
      const double aij = trans ? a[j * n + i] : a[i * n + j];
      if (aij == 0) continue;
      const double* __restrict xj = x + j * k;
      for (int64_t c = 0; c < k; ++c) xi[c] -= aij * xj[c];
    }
    if (!unit) {
      const double d = a[i * n + i];
      for (int64_t c = 0; c < k; ++c) xi[c] /= d;
    }
  }
}

namespace {

// Matrices this wide or more are factored in panels (cholesky_panels); below, the panels' set-up
// costs more than they save (64 matrices of 16: 41 -> 50 us; of 32: even; of 64: 1040 -> 600).
constexpr int64_t kCholeskyPanelMin = 32;

LINALG_KERNEL int64_t cholesky_unblocked(const double* a, double* l, int64_t n) {
  // w: the lower triangle still to factor, each element minus the products subtracted so far;
  // column: L's column j, contiguous, for the update of the rows below.
  std::vector<double> w(a, a + n * n), column(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const double d = w[j * n + j];
    if (!(d > 0) || !std::isfinite(d)) return j + 1;
    const double ljj = std::sqrt(d);
    l[j * n + j] = ljj;
    double* __restrict c = column.data();
    for (int64_t i = j + 1; i < n; ++i) c[i] = l[i * n + j] = w[i * n + j] / ljj;
    for (int64_t i = j + 1; i < n; ++i) {
      double* __restrict wi = w.data() + i * n;
      const double lij = c[i];
      for (int64_t q = j + 1; q <= i; ++q) wi[q] -= lij * c[q];
    }
  }
  return 0;
}

// Note [Cholesky in panels]: the unblocked loop above spends its time on short row loops (the
// update of column j runs n - j of them, (i - j) elements each). Here the columns go in panels of
// 8, copied out column-major so that the divisions and the panel's own updates run down whole
// columns; then each row below the panel takes the panel's 8 subtractions at once, in their order
// (((w - l0 c0) - l1 c1) - ...), over whole aligned vectors of a copy of the matrix whose rows
// are padded to a multiple of 8. Each element sees the same operations in the same order as in
// the unblocked loop, so the bits are the same; the padding and the upper triangle get garbage
// that is never read.
LINALG_KERNEL int64_t cholesky_panels(const double* a, double* l, int64_t n) {
  constexpr int64_t B = 8;
  const int64_t ld = (n + B - 1) / B * B;
  std::vector<double> w_storage, panel_storage;
  double* w = aligned_zeros(w_storage, n * ld);
  double* panel = aligned_zeros(panel_storage, B * ld);  // column k of the panel at panel + k * ld
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) w[i * ld + j] = a[i * n + j];
  }
  for (int64_t j0 = 0; j0 < n; j0 += B) {
    const int64_t j1 = std::min(n, j0 + B), width = j1 - j0;
    for (int64_t k = 0; k < width; ++k) {
      for (int64_t i = j0 + k; i < n; ++i) panel[k * ld + i] = w[i * ld + j0 + k];
    }
    for (int64_t j = j0; j < j1; ++j) {
      double* __restrict c = panel + (j - j0) * ld;
      const double d = c[j];
      if (!(d > 0) || !std::isfinite(d)) return j + 1;
      const double ljj = std::sqrt(d);
      c[j] = ljj;
      for (int64_t i = j + 1; i < n; ++i) c[i] /= ljj;
      for (int64_t q = j + 1; q < j1; ++q) {
        double* __restrict pq = panel + (q - j0) * ld;
        const double lqj = c[q];
        for (int64_t i = q; i < n; ++i) pq[i] -= c[i] * lqj;
      }
    }
    for (int64_t k = 0; k < width; ++k) {
      for (int64_t i = j0 + k; i < n; ++i) l[i * n + j0 + k] = panel[k * ld + i];
    }
    if (width < B) break;  // the last columns: nothing below-right of them
    const double* __restrict c = static_cast<const double*>(__builtin_assume_aligned(panel, 64));
    for (int64_t i = j1; i < n; ++i) {
      double* __restrict wi = static_cast<double*>(__builtin_assume_aligned(w + i * ld, 64));
      const double l0 = c[i], l1 = c[ld + i], l2 = c[2 * ld + i], l3 = c[3 * ld + i];
      const double l4 = c[4 * ld + i], l5 = c[5 * ld + i], l6 = c[6 * ld + i], l7 = c[7 * ld + i];
      for (int64_t q = j1; q <= i; q += B) {
        for (int64_t e = q; e < q + B; ++e) {
          wi[e] = (((((((wi[e] - l0 * c[e]) - l1 * c[ld + e]) - l2 * c[2 * ld + e]) - l3 * c[3 * ld + e]) - l4 * c[4 * ld + e]) -
                    l5 * c[5 * ld + e]) - l6 * c[6 * ld + e]) - l7 * c[7 * ld + e];
        }
      }
    }
  }
  return 0;
}

}  // namespace

int64_t cholesky_f64(const double* a, double* l, int64_t n) {
  for (int64_t i = 0; i < n * n; ++i) l[i] = 0;
  return n >= kCholeskyPanelMin ? cholesky_panels(a, l, n) : cholesky_unblocked(a, l, n);
}

LINALG_KERNEL void matmul_f64(const double* a, const double* b, double* c, int64_t m, int64_t k, int64_t n, bool ta,
                              bool tb) {
  // b^T as rows first, so that the inner loop reads contiguously (the same products, in order).
  std::vector<double> bt;
  if (tb) {
    bt.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t p = 0; p < k; ++p) bt[p * n + j] = b[j * k + p];
    }
    b = bt.data();
  }
  for (int64_t i = 0; i < m * n; ++i) c[i] = 0;
  for (int64_t i = 0; i < m; ++i) {
    double* __restrict ci = c + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const double aip = ta ? a[p * m + i] : a[i * k + p];
      if (aip == 0) continue;
      const double* __restrict bp = b + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

}  // namespace cpu
}  // namespace convnet
