// The float64 matrix kernels of lib/linalg.ts (which reads its matrices back as float64 on the
// host, as LAPACK's double routines would): LU with partial pivoting, solves from it, triangular
// solves, Cholesky and a plain product, one matrix at a time on the calling thread. They were
// JavaScript loops (now kept for matrices under 16 wide, where a native call costs more than the
// work); det of [64, 64, 64] took 9.4 ms there, 0.86 in PyTorch.
//
// Each does exactly the JavaScript's arithmetic, in its order (no FMA contraction, no
// reassociation), so both give the same bits: the loops vectorise across a row, where each
// element's own sequence of operations is unchanged. Cholesky is written right-looking (after
// each column, the rest of the triangle updated), which subtracts the same products from each
// element in the same order as the JavaScript's dot products.
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

#define LINALG_KERNEL CONVNET_SIMD_CLONES __attribute__((optimize("fp-contract=off")))

LINALG_KERNEL LuInfo lu_factor_f64(double* a, int64_t n, int32_t* perm) {
  LuInfo info{1, -1};
  for (int64_t i = 0; i < n; ++i) perm[i] = static_cast<int32_t>(i);
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

LINALG_KERNEL int64_t cholesky_f64(const double* a, double* l, int64_t n) {
  // w: the lower triangle still to factor, each element minus the products subtracted so far;
  // column: L's column j, contiguous, for the update of the rows below.
  std::vector<double> w(a, a + n * n), column(static_cast<size_t>(n));
  for (int64_t i = 0; i < n * n; ++i) l[i] = 0;
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
