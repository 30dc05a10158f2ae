// The CPU backend's kernels. Each takes its inputs and a preallocated output of the right
// shape (the API layer checks shapes and allocates), runs on the queue's worker thread and may
// split its work with parallel_for. Results never depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/philox.h"
#include "core/storage.h"
#include "ops/types.h"

namespace convnet {
namespace cpu {

#include "ops/tensor_ops.inc"  // the declarations, with what each computes

// reduce.cc (CPU only; lib composes amin and amax elsewhere): ymin, ymax = min and max of float32
// or int32 x over `axes` (one axis, or all), as reduce()'s Min and Max, in one read of x.
void aminmax(const Tensor& x, const std::vector<int64_t>& axes, const Tensor& ymin, const Tensor& ymax);

// linalg_f64.cc: lib/linalg.ts's float64 kernels on host memory, one row-major matrix a call,
// run on the calling thread (the same bits as its JavaScript loops).
// LU with partial pivoting of a [n, n] in place (PA = LU, L's unit diagonal not stored); perm[i]
// is the row of A at row i. sign: the permutation's; zero_at: the first zero pivot (-1: none).
struct LuInfo {
  int32_t sign;
  int64_t zero_at;
};
LuInfo lu_factor_f64(double* a, int64_t n, int32_t* perm);
// x [n, k] = A^-1 b from A's LU.
void lu_solve_f64(const double* lu, const int32_t* perm, const double* b, double* x, int64_t n, int64_t k);
// x [n, k] := op(A)^-1 x for a triangular A [n, n] (upper or lower; op(A) = A^T when trans),
// reading only its triangle (not its diagonal when unit).
void triangular_solve_f64(const double* a, double* x, int64_t n, int64_t k, bool upper, bool unit, bool trans);
// L [n, n] (zeros above the diagonal) with L L^T = A from A's lower triangle; 0, or the order
// (1-based) of the first leading minor that is not positive-definite (l then partly written).
int64_t cholesky_f64(const double* a, double* l, int64_t n);
// c [m, n] = op(a) op(b), op(a) [m, k] (a^T when ta), op(b) [k, n] (b^T when tb). A zero in
// op(a) adds nothing, not even 0 * inf.
void matmul_f64(const double* a, const double* b, double* c, int64_t m, int64_t k, int64_t n, bool ta, bool tb);

// linalg_batched.cc: the same kernels over each matrix of float32 x [..., n, n] (contiguous),
// queued: y [...] the determinants; y [..., n, n] the inverses and zero_at [...] int32 each
// matrix's first zero pivot or -1 (y's matrix then all Infinity); y [..., n, n] the Cholesky
// factors L of x's lower triangles (upper: U = L^T of x's upper ones) and failed_minor [...]
// int32 cholesky_f64's 0 or failed minor; x [..., n, k] = A^-1 b for a [..., n, n] and b [..., n, k]
// of one batch, zero_at as inv's (x's matrix then all NaN).
void det_batched(const Tensor& x, const Tensor& y);
// sign [...] and logabsdet [...] of each matrix (sign NaN where the log is; logabsdet -inf at sign 0).
void slogdet_batched(const Tensor& x, const Tensor& sign, const Tensor& logabsdet);
void inv_batched(const Tensor& x, const Tensor& y, const Tensor& zero_at);
void solve_batched(const Tensor& a, const Tensor& b, const Tensor& x, const Tensor& zero_at);
void cholesky_batched(const Tensor& x, bool upper, const Tensor& y, const Tensor& failed_minor);

// CPU only (random.cc; lib/ copies the result to another device): int32 y[i] = low + an integer
// uniform in [0, range) from 64 bits of draw i (two lanes of block first_block + i / 2); and a
// uniform random permutation of 0 .. n - 1 (n = y's size) by Fisher-Yates, place i = n - 1 .. 1
// taking draw n - 1 - i.
void random_int(const Tensor& y, uint64_t seed, uint64_t first_block, int64_t low, uint64_t range);
void random_permutation(const Tensor& y, uint64_t seed, uint64_t first_block);
// CPU only (multinomial.cc; lib/sampling.ts copies to and from another device): int32 out
// [rows * k], k draws from each row of probs [rows, cats], with or without replacement, from the
// uniform numbers of blocks first_block + ... (rows * k numbers with replacement, rows * cats
// without). multinomial_check throws E_ARG for weights it cannot draw from (negative, NaN or
// infinite; a row summing to 0; fewer than k nonzero without replacement).
void multinomial_check(const Tensor& probs, int64_t k, bool replacement);
// CPU only (scatter.cc; lib/indexing.ts composes the differentiable form and the GPU's): y = x
// with src (or the 32-bit word value_bits, when src is null) written where index points along
// axis, the last of repeated indices winning; x, src and y float32 or int32 alike. scatter_check
// throws E_INDEX for an index outside [0, x.shape[axis]).
void scatter_check(const Tensor& x, int64_t axis, const Tensor& index);
// CPU only, on the calling thread (nonzero.cc): how many entries of x (float32 or int32) are
// nonzero (NaN included), and their coordinates into out, int32 [count, rank], in order.
int64_t count_nonzero_entries(const Tensor& x);
void nonzero(const Tensor& x, const Tensor& out);
void scatter(const Tensor& x, int64_t axis, const Tensor& index, const Tensor* src, uint32_t value_bits, const Tensor& y);
void index_fill(const Tensor& x, int64_t axis, const Tensor& index, uint32_t value_bits, const Tensor& y);
void multinomial(const Tensor& probs, int64_t k, bool replacement, uint64_t seed, uint64_t first_block, const Tensor& out);

// CPU only (sort.cc; the GPU finds these positions by its sort, lib/statistics.ts): the int32
// position of one order statistic of each line along `axis`, in the stable order of topk's keys
// (NaN largest, equal values by position). `positions` has x's shape with the axis 1 long.
enum class SelectKind : int32_t {
  Kth = 0,        // the k-th smallest (k from 1)
  Median = 1,     // the lower median; a line with a NaN gives its first NaN
  NanMedian = 2,  // the lower median of the line's numbers (its first NaN if it has none)
};
void select_kth(const Tensor& x, int64_t axis, SelectKind kind, int64_t k, const Tensor& positions);

}  // namespace cpu
}  // namespace convnet
