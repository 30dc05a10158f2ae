// Vectorised float math for the CPU kernels: exp and log over arrays, and the row helpers of
// softmax-like ops (max, and exp(x - shift) with its sum). One binary for any x86-64: each
// function has an AVX-512, an AVX2 + FMA and a portable implementation, and the first call picks
// the best one the CPU has (__builtin_cpu_supports, as the GEMM does). The portable path is
// plain C++ (std::exp, std::log) and compiles on any CPU.
//
// Accuracy of the SIMD paths, measured against float64 over all 2^32 floats (test/vec-math.test.ts
// repeats it over every 1031st float plus runs of consecutive floats at the edges):
//   exp: at most 1.26 ulp, subnormal results included (correctly placed, not flushed);
//        exp(x) = 0 for x < -103.97 and -inf, +inf for x > 88.72 and +inf, NaN for NaN,
//        exp(-0) = exp(0) = 1 exactly.
//   log: at most 0.83 ulp, subnormal inputs included; log(+-0) = -inf, log(x < 0) = NaN,
//        log(-inf) = NaN, log(+inf) = +inf, log(NaN) = NaN, log(1) = 0 exactly.
//   sin, cos: at most 0.594 ulp (lanes past 2^20, infinite or NaN: glibc's sinf / cosf).
//   tan: at most 0.57 ulp below 2^20 (session 65's sweep of every 37th float there); past it,
//        infinite or NaN: glibc's tanf (1.24 ulp in vec-math.test.ts's sweep).
//   expm1: at most 0.632 ulp; -1 below -30 and for -inf, +inf past 88.73, expm1(+-0) = +-0.
// max ignores NaN (a NaN in a softmax row still makes the row NaN, through the exp sum).
// The AVX-512 and AVX2 paths compute the same polynomials with the same roundings and sum in
// the same lane order, so they give the same bits; the portable path gives the C library's
// exp and log (glibc: within 0.51 and 0.82 ulp), summed in that same order. Every result
// depends only on its row (never on which thread ran it), so callers stay bit-identical for any
// thread count.
#pragma once
#include <cstdint>

namespace convnet {
namespace cpu {
namespace vec {

// y[i] = exp(x[i]) for i < n. y may be x.
void exp(const float* x, float* y, int64_t n);
// y[i] = log(x[i]) for i < n. y may be x.
void log(const float* x, float* y, int64_t n);
// max of x[0..n), ignoring NaN; -inf for n == 0 (or all NaN).
float max(const float* x, int64_t n);
// y[i] = exp(x[i] - shift) (y may be null, or x) and returns their sum, added in float64 in a
// fixed order (16 lanes, then the lanes pairwise).
double exp_sum(const float* x, float shift, float* y, int64_t n);
// sum of x[i] (float32 terms of 4 floats each chunk of 64, then 32 float64 lanes pairwise:
// Note [sum order] in vec_math.cc), and sum of a[i] * b[i] (exp_sum's order, in float64). The
// products of floats are exact in float64, so these are the same bits on every path.
double sum(const float* x, int64_t n);
// out[j] = sum(x + j * run, run) for j < count: the same bits, for many short runs at once.
void sum_runs(const float* x, int64_t run, int64_t count, double* out);
// sum and sum_runs with each NaN read as +0 (torch.nansum): the bits of sum over x with its NaNs
// replaced by 0, without that copy.
double nansum(const float* x, int64_t n);
void nansum_runs(const float* x, int64_t run, int64_t count, double* out);
// store(j, sum of run j) for j in [begin, end), through sum_runs (nansum_runs with kSkipNaN) 64
// runs a call.
template <bool kSkipNaN = false, typename Store>
void each_run_sum(const float* x, int64_t run, int64_t begin, int64_t end, const Store& store) {
  double sums[64];
  for (int64_t j = begin; j < end; j += 64) {
    const int64_t n = end - j < 64 ? end - j : 64;
    if (kSkipNaN) nansum_runs(x + j * run, run, n, sums);
    else sum_runs(x + j * run, run, n, sums);
    for (int64_t k = 0; k < n; ++k) store(j + k, sums[k]);
  }
}
double dot(const float* a, const float* b, int64_t n);
// y[i] = 1 / (1 + exp(-x[i])), as (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|) (exp's
// accuracy, never an overflow; NaN stays NaN): within 2.4 ulp of float64 on the AVX2 path, 2.0
// on the portable one (test/vec-math.test.ts's sweep). y may be x. One pass: exp in registers.
void sigmoid(const float* x, float* y, int64_t n);
// y[i] = sin(x[i]), cos(x[i]), expm1(x[i]) = exp(x[i]) - 1 (y may be x). The AVX2 code (the
// AVX-512 path runs it too) is in vec_math.cc, Note [sin and cos] and Note [expm1]; the
// portable path is glibc's sinf, cosf and expm1f.
void sin(const float* x, float* y, int64_t n);
void cos(const float* x, float* y, int64_t n);
// y[i] = tan(x[i]) (y may be x): Note [sin and cos]'s reduction, sin(z) / cos(z) (or -cos / sin)
// in float64, one rounding; glibc's tanf on the portable path and past 2^20.
void tan(const float* x, float* y, int64_t n);
void expm1(const float* x, float* y, int64_t n);

// The implementation in use: "avx512", "avx2" or "portable".
const char* path();
// For tests and benchmarks: forces a path by name, or the detected one again for null. Returns
// false (and changes nothing) for an unknown name or one this CPU cannot run. Work already
// queued may run under either path: wait for the queue before switching.
bool force_path(const char* name);
// Whether force_path(name) would succeed.
bool can_run(const char* name);

// y[i] = x[i]^e (vec_pow.cc) for x[i] a positive normal float and e finite, computed in float64
// and rounded once: correctly rounded but for about one value in 8 million (glibc's powf is off by
// an ulp for one in 2,000). Other x[i] give anything: the caller takes std::pow for them. y is
// not x.
void pow_positive(const float* x, float e, float* y, int64_t n);

}  // namespace vec
}  // namespace cpu
}  // namespace convnet
