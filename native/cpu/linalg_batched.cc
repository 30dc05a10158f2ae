// det, slogdet, inv, solve and cholesky of a batch of float32 matrices [..., n, n] as queued CPU ops: each
// matrix is read into float64, factored by linalg_f64.cc's kernels (the ones lib/linalg.ts
// calls a matrix at a time for its other functions) and rounded back to float32, the matrices
// shared out over the thread pool.
//
// These were per-matrix loops in lib/linalg.ts after reading the whole batch back as float64:
// det of [64, 64, 64] spent about a third of its time copying float32 <-> float64 through
// JavaScript arrays and the rest factoring on one thread (bench/JOURNAL.md, session 67). The
// arithmetic is the same (the same kernels, the same product of the pivots), so the results are
// the same bits as before, for every thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

// The number of matrices in x [..., n, n].
int64_t matrix_count(const Tensor& x) {
  int64_t count = 1;
  for (size_t d = 0; d + 2 < x.shape.size(); ++d) count *= x.shape[d];
  return count;
}

// Matrices per parallel_for piece: about 2^16 multiply-adds' worth (at least one).
int64_t matrices_per_piece(int64_t n) { return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(n * n * n, 1)); }

// a [n, n] = the float64 copy of float32 m [n, n] (of its transpose when `transpose`).
void read_matrix(const float* m, int64_t n, bool transpose, double* a) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) a[i * n + j] = transpose ? m[j * n + i] : m[i * n + j];
  }
}

// fn(b, lu, info) for each matrix b of x, lu its float64 LU (lu_factor_f64's), on the pool's threads.
template <typename Fn>
void each_lu(const Tensor& x, const Fn& fn) {
  const int64_t n = x.shape.back(), size = n * n;
  const float* in = x.f32();
  parallel_for(matrix_count(x), matrices_per_piece(n), [&](int64_t b0, int64_t b1) {
    std::vector<double> lu(static_cast<size_t>(size));
    std::vector<int32_t> perm(static_cast<size_t>(n));
    for (int64_t b = b0; b < b1; ++b) {
      read_matrix(in + b * size, n, false, lu.data());
      fn(b, lu.data(), lu_factor_f64(lu.data(), n, perm.data()));
    }
  });
}

// x[m] = A[m]^-1 B[m] [n, k] for each matrix m of a, B[m] from rhs(m, scratch of n * k doubles),
// which returns it; a singular A[m] gets its first zero pivot in zero_at (else -1) and
// `singular` in every entry of x[m].
template <typename Rhs>
void solve_each(const Tensor& a, int64_t k, const Rhs& rhs, float singular, const Tensor& x, const Tensor& zero_at) {
  const int64_t n = a.shape.back(), size = n * n, rhs_size = n * k;
  const float* in = a.f32();
  float* out = x.f32();
  int32_t* zeros = zero_at.i32();
  parallel_for(matrix_count(a), matrices_per_piece(n), [&](int64_t b0, int64_t b1) {
    std::vector<double> lu(static_cast<size_t>(size)), scratch(static_cast<size_t>(rhs_size)), solution(static_cast<size_t>(rhs_size));
    std::vector<int32_t> perm(static_cast<size_t>(n));
    for (int64_t m = b0; m < b1; ++m) {
      read_matrix(in + m * size, n, false, lu.data());
      const LuInfo info = lu_factor_f64(lu.data(), n, perm.data());
      zeros[m] = static_cast<int32_t>(info.zero_at);
      float* o = out + m * rhs_size;
      if (info.zero_at >= 0) {
        for (int64_t i = 0; i < rhs_size; ++i) o[i] = singular;
        continue;
      }
      lu_solve_f64(lu.data(), perm.data(), rhs(m, scratch.data()), solution.data(), n, k);
      for (int64_t i = 0; i < rhs_size; ++i) o[i] = static_cast<float>(solution[i]);
    }
  });
}

}  // namespace

void det_batched(const Tensor& x, const Tensor& y) {
  const int64_t n = x.shape.back();
  float* out = y.f32();
  each_lu(x, [&](int64_t b, const double* lu, const LuInfo& info) {
    double d = info.sign;  // 1 for a 0 x 0 matrix
    for (int64_t i = 0; i < n; ++i) d *= lu[i * n + i];
    out[b] = static_cast<float>(d);
  });
}

void slogdet_batched(const Tensor& x, const Tensor& sign, const Tensor& logabsdet) {
  const int64_t n = x.shape.back();
  float* signs = sign.f32();
  float* logs = logabsdet.f32();
  each_lu(x, [&](int64_t b, const double* lu, const LuInfo& info) {
    double s = info.sign, l = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = lu[i * n + i];
      s *= d > 0 ? 1.0 : d < 0 ? -1.0 : d;  // as Math.sign: 0, -0 and NaN stay
      l += std::log(std::fabs(d));
    }
    signs[b] = static_cast<float>(std::isnan(l) ? l : s);
    logs[b] = static_cast<float>(s == 0 ? -std::numeric_limits<double>::infinity() : l);
  });
}

void inv_batched(const Tensor& x, const Tensor& y, const Tensor& zero_at) {
  const int64_t n = x.shape.back();
  std::vector<double> identity(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) identity[i * n + i] = 1.0;
  solve_each(x, n, [&](int64_t, double*) { return identity.data(); }, std::numeric_limits<float>::infinity(), y, zero_at);
}

void solve_batched(const Tensor& a, const Tensor& b, const Tensor& x, const Tensor& zero_at) {
  const int64_t k = b.shape.back(), rhs_size = a.shape.back() * k;
  const float* bs = b.f32();
  const auto rhs = [&](int64_t m, double* r) {
    for (int64_t i = 0; i < rhs_size; ++i) r[i] = bs[m * rhs_size + i];
    return r;
  };
  solve_each(a, k, rhs, std::numeric_limits<float>::quiet_NaN(), x, zero_at);
}

void cholesky_batched(const Tensor& x, bool upper, const Tensor& y, const Tensor& failed_minor) {
  const int64_t n = x.shape.back(), size = n * n;
  const float* in = x.f32();
  float* out = y.f32();
  int32_t* failed = failed_minor.i32();
  parallel_for(matrix_count(x), matrices_per_piece(n), [&](int64_t b0, int64_t b1) {
    std::vector<double> a(static_cast<size_t>(size)), l(static_cast<size_t>(size));
    for (int64_t b = b0; b < b1; ++b) {
      // The upper case factors the transpose (whose lower triangle is x's upper one) and writes L^T.
      read_matrix(in + b * size, n, upper, a.data());
      failed[b] = static_cast<int32_t>(cholesky_f64(a.data(), l.data(), n));
      float* o = out + b * size;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) o[i * n + j] = static_cast<float>(upper ? l[j * n + i] : l[i * n + j]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
