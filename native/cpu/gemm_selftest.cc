// Correctness test and benchmark for native/cpu/gemm.cc. Not part of the addon build.
//
// test/matmul.test.ts runs the tests (--no-bench). To benchmark, build and run from the
// repository root (plain flags, like the addon: no -march), with the sources
//   native/cpu/gemm.cc native/core/thread_pool.cc native/core/wake_policy.cc native/cpu/cpu_features.cc
//   g++ -O3 -std=c++17 -pthread -Inative native/cpu/gemm_selftest.cc <those> -o /tmp/gemm_selftest
//   /tmp/gemm_selftest
// Options: --no-bench (tests only), --bench-only, --quick (fewer shapes).
//
// For every kernel path this CPU can run (avx512 / avx2 / portable), it compares against a
// double-precision triple loop over many shapes, all transposes, alpha/beta variants (beta = 0
// with a NaN-filled C), batches and padded leading dimensions, checks that C's padding is
// left alone, and that 1, 2 and 3 threads give bit-identical results. Exits 1 on failure.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/gemm.h"

using namespace convnet;

namespace {

int g_failures = 0;
int g_checks = 0;

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad_a, pad_b, pad_c;  // leading dimension minus its minimum
  int64_t batch;
  bool nan_c;  // fill C with NaN (only with beta == 0)
};

std::string describe(const Case& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pads=%lld,%lld,%lld batch=%lld%s",
                c.ta, c.tb, (long long)c.M, (long long)c.N, (long long)c.K, c.alpha, c.beta, (long long)c.pad_a,
                (long long)c.pad_b, (long long)c.pad_c, (long long)c.batch, c.nan_c ? " nanC" : "");
  return buf;
}

struct Buffers {
  int64_t lda, ldb, ldc, sa, sb, sc;
  std::vector<float> A, B, C0;
};

Buffers make_buffers(const Case& c, std::mt19937& rng) {
  Buffers b;
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  b.lda = a_cols + c.pad_a;
  b.ldb = b_cols + c.pad_b;
  b.ldc = c.N + c.pad_c;
  b.sa = a_rows * b.lda + 3;  // odd batch strides on purpose
  b.sb = b_rows * b.ldb + 5;
  b.sc = c.M * b.ldc + 7;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  b.A.resize(static_cast<size_t>(std::max<int64_t>(1, b.sa * c.batch)));
  b.B.resize(static_cast<size_t>(std::max<int64_t>(1, b.sb * c.batch)));
  b.C0.resize(static_cast<size_t>(std::max<int64_t>(1, b.sc * c.batch)));
  for (auto& x : b.A) x = dist(rng);
  for (auto& x : b.B) x = dist(rng);
  for (auto& x : b.C0) x = c.nan_c ? std::numeric_limits<float>::quiet_NaN() : dist(rng);
  return b;
}

void run(const Case& c, const Buffers& b, std::vector<float>& C) {
  C = b.C0;
  if (c.batch == 1 && (c.M + c.N) % 2 == 0) {  // exercise both entry points
    sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A.data(), b.lda, b.B.data(), b.ldb, c.beta, C.data(), b.ldc);
  } else {
    sgemm_strided_batched(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A.data(), b.lda, b.sa, b.B.data(), b.ldb, b.sb,
                          c.beta, C.data(), b.ldc, b.sc, c.batch);
  }
}

void check_case(const Case& c, std::mt19937& rng) {
  const Buffers b = make_buffers(c, rng);
  std::vector<float> C;
  set_num_threads(1);
  run(c, b, C);
  ++g_checks;

  // Against double precision. Error bound: a K-term float dot product with FMA is within
  // about K * eps * sum|a*b|; scaling by alpha and adding beta*C adds a few eps.
  const double eps = std::ldexp(1.0, -24);
  int reported = 0;
  for (int64_t i = 0; i < c.batch; ++i) {
    const float* A = b.A.data() + i * b.sa;
    const float* B = b.B.data() + i * b.sb;
    const float* C0 = b.C0.data() + i * b.sc;
    const float* C1 = C.data() + i * b.sc;
    for (int64_t m = 0; m < c.M; ++m) {
      for (int64_t n = 0; n < b.ldc; ++n) {
        const int64_t idx = m * b.ldc + n;
        if (n >= c.N) {  // padding: must be untouched (bitwise; NaN included)
          if (std::memcmp(&C0[idx], &C1[idx], sizeof(float)) != 0) {
            if (reported++ < 3) std::printf("  FAIL %s: padding C[%lld][%lld] changed\n", describe(c).c_str(), (long long)m, (long long)n);
          }
          continue;
        }
        double sum = 0, mag = 0;
        for (int64_t k = 0; k < c.K; ++k) {
          const double a = c.ta ? A[k * b.lda + m] : A[m * b.lda + k];
          const double bb = c.tb ? B[n * b.ldb + k] : B[k * b.ldb + n];
          sum += a * bb;
          mag += std::fabs(a * bb);
        }
        double ref = c.alpha * sum, bound = std::fabs(c.alpha) * mag * (c.K + 2) * eps;
        if (c.beta != 0.0f) {
          ref += c.beta * static_cast<double>(C0[idx]);
          bound += std::fabs(c.beta * static_cast<double>(C0[idx])) * 3 * eps;
        }
        bound = 2 * bound + 1e-30;
        const double got = C1[idx];
        if (!(std::fabs(got - ref) <= bound)) {
          if (reported++ < 3)
            std::printf("  FAIL %s: C[%lld][%lld][%lld] = %.9g, expected %.9g (bound %.3g)\n", describe(c).c_str(),
                        (long long)i, (long long)m, (long long)n, got, ref, bound);
        }
      }
    }
  }

  // Bit-identical for other thread counts.
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    std::vector<float> Ct;
    run(c, b, Ct);
    if (std::memcmp(C.data(), Ct.data(), C.size() * sizeof(float)) != 0) {
      if (reported++ < 3) std::printf("  FAIL %s: %d threads differ from 1 thread\n", describe(c).c_str(), threads);
    }
  }
  set_num_threads(1);
  if (reported) ++g_failures;
}

// Shapes whose product work is large enough that the thread pool really splits them.
std::vector<Case> make_cases(bool quick) {
  std::vector<Case> cases;
  const std::vector<std::array<int64_t, 3>> shapes_all = {
      {1, 1, 1},      {1, 1, 7},      {1, 17, 1},     {17, 1, 1},    {2, 3, 4},      {7, 13, 17},    {13, 7, 17},
      {14, 32, 5},    {15, 33, 9},    {13, 31, 100},  {6, 16, 16},   {5, 15, 3},     {29, 47, 61},   {64, 10, 84},
      {6, 784, 25},   {1, 300, 200},  {300, 1, 200},  {16, 16, 1000}, {97, 101, 103}, {128, 64, 400}, {200, 3, 77},
      {3, 200, 77},   {250, 250, 250}, {100, 700, 50}, {130, 129, 777}, {33, 1100, 40}, {1030, 20, 30}};
  const std::vector<std::array<int64_t, 3>> shapes_quick = {
      {1, 1, 1}, {7, 13, 17}, {15, 33, 9}, {29, 47, 61}, {64, 10, 84}, {97, 101, 103}, {130, 129, 777}};
  const auto& shapes = quick ? shapes_quick : shapes_all;
  const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 2.0f}, {1.5f, -1.0f}, {0.0f, 0.5f}, {0.0f, 0.0f}};
  int n = 0;
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const auto& v = ab[(n++) % 6];
      const int64_t pa = (n % 3 == 0) ? 0 : 3 + n % 5, pb = (n % 2 == 0) ? 0 : 1 + n % 7, pc = (n % 4 == 1) ? 0 : 2 + n % 3;
      cases.push_back({ta, tb, s[0], s[1], s[2], v[0], v[1], pa, pb, pc, 1, false});
      if (t == 0) cases.push_back({ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, 0, 0, 1, 1, true});  // NaN C, beta 0
      if (t == 3) cases.push_back({ta, tb, s[0], s[1], s[2], 0.75f, 0.0f, 2, 1, 0, 1, true});
    }
  }
  // K = 0, M or N = 0.
  for (int t = 0; t < 4; ++t) {
    cases.push_back({bool(t & 1), bool(t & 2), 5, 7, 0, 1.0f, 0.5f, 1, 1, 1, 1, false});
    cases.push_back({bool(t & 1), bool(t & 2), 5, 7, 0, 1.0f, 0.0f, 1, 1, 1, 1, true});
    cases.push_back({bool(t & 1), bool(t & 2), 0, 7, 3, 1.0f, 0.5f, 0, 0, 0, 1, false});
    cases.push_back({bool(t & 1), bool(t & 2), 5, 0, 3, 1.0f, 0.5f, 0, 0, 0, 1, false});
  }
  // Batches.
  for (int t = 0; t < 4; ++t) {
    cases.push_back({bool(t & 1), bool(t & 2), 7, 13, 17, 1.0f, 0.0f, 1, 2, 3, 5, false});
    cases.push_back({bool(t & 1), bool(t & 2), 33, 65, 70, 2.0f, 1.0f, 0, 0, 0, 3, false});
    if (!quick) cases.push_back({bool(t & 1), bool(t & 2), 100, 120, 300, 1.0f, 0.0f, 5, 0, 2, 4, true});
  }
  // Big enough for several K, M and N blocks.
  if (!quick) {
    cases.push_back({false, false, 300, 4200, 900, 1.0f, 0.0f, 0, 0, 0, 1, false});
    cases.push_back({true, true, 520, 300, 1000, -1.0f, 0.25f, 1, 1, 1, 1, false});
    cases.push_back({false, true, 64, 9216, 576, 1.0f, 0.0f, 0, 0, 0, 1, false});
    // Split by rows: on AVX-512 a thread's 160 rows at 2 threads are few (12 row tiles), so its
    // B block is cut to 2 x 160 columns (Note [B blocks for few rows]), where 1 thread takes
    // all 300 at once; the bits must not change.
    cases.push_back({false, false, 320, 300, 900, 1.0f, 0.0f, 0, 0, 0, 1, false});
  }
  return cases;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Best-of GFLOP/s for one configuration.
double bench(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int threads, int64_t batch = 1) {
  set_num_threads(threads);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(static_cast<size_t>(M * K * batch)), B(static_cast<size_t>(K * N * batch)),
      C(static_cast<size_t>(M * N * batch));
  for (auto& x : A) x = dist(rng);
  for (auto& x : B) x = dist(rng);
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  auto once = [&] {
    sgemm_strided_batched(ta, tb, M, N, K, 1.0f, A.data(), lda, M * K, B.data(), ldb, K * N, 0.0f, C.data(), N,
                          M * N, batch);
  };
  const double flops = 2.0 * M * N * K * batch;
  const int64_t reps = std::max<int64_t>(1, static_cast<int64_t>(2e8 / flops));
  once();
  double best = 1e30;
  for (int trial = 0; trial < 7; ++trial) {
    const double t0 = now();
    for (int64_t r = 0; r < reps; ++r) once();
    best = std::min(best, (now() - t0) / reps);
  }
  set_num_threads(1);
  return flops / best / 1e9;
}

void run_bench() {
  std::printf("\nBenchmark, kernel %s (GFLOP/s, best of 7)\n", sgemm_kernel_name());
  std::printf("%-28s %9s %9s\n", "shape (M x N x K)", "1 thread", "2 threads");
  for (int64_t n : {256, 512, 1024}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      char name[64];
      std::snprintf(name, sizeof name, "%lld^3 %s%s", (long long)n, ta ? "At" : "A", tb ? "Bt" : "B");
      std::printf("%-28s %9.1f %9.1f\n", name, bench(ta, tb, n, n, n, 1), bench(ta, tb, n, n, n, 2));
    }
  }
  struct S { const char* name; int64_t M, N, K, batch; };
  const S cnn[] = {{"conv 64x9216x576", 64, 9216, 576, 1},   {"conv 6x784x25", 6, 784, 25, 1},
                   {"conv 128x64x3200", 128, 64, 3200, 1},   {"linear 64x10x84", 64, 10, 84, 1},
                   {"linear 64x120x400", 64, 120, 400, 1},    {"conv 16x100x150", 16, 100, 150, 1},
                   {"batched 32x(64x64x64)", 64, 64, 64, 32}, {"2000x2000x2000", 2000, 2000, 2000, 1}};
  for (const auto& s : cnn) {
    std::printf("%-28s %9.1f %9.1f\n", s.name, bench(false, false, s.M, s.N, s.K, 1, s.batch),
                bench(false, false, s.M, s.N, s.K, 2, s.batch));
  }
  // Skinny cases: time per call, where overhead shows.
  for (const auto& s : {S{"64x64x64", 64, 64, 64, 1}, S{"64x10x84", 64, 10, 84, 1}, S{"6x784x25", 6, 784, 25, 1}}) {
    const double g = bench(false, false, s.M, s.N, s.K, 1);
    std::printf("%-28s %9.2f us/call (1 thread)\n", s.name, 2.0 * s.M * s.N * s.K / g / 1e3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool do_tests = true, do_bench = true, quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-bench")) do_bench = false;
    if (!std::strcmp(argv[i], "--bench-only")) do_tests = false;
    if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  std::printf("auto-selected kernel: %s\n", sgemm_kernel_name());
  if (do_tests) {
    const auto cases = make_cases(quick);
    for (const char* path : {"avx512", "avx2", "portable"}) {
      if (!sgemm_force_kernel(path)) {
        std::printf("kernel %-8s: not supported on this CPU, skipped\n", path);
        continue;
      }
      const int failures_before = g_failures, checks_before = g_checks;
      std::mt19937 rng(42);
      for (const auto& c : cases) check_case(c, rng);
      std::printf("kernel %-8s: %d cases, %d failed\n", path, g_checks - checks_before, g_failures - failures_before);
    }
    sgemm_force_kernel(nullptr);
    if (sgemm_force_kernel("no-such-kernel")) {
      std::printf("FAIL: sgemm_force_kernel accepted an unknown name\n");
      ++g_failures;
    }
    std::printf("%s: %d failures\n", g_failures ? "FAILED" : "ALL PASSED", g_failures);
  }
  if (do_bench) run_bench();
  return g_failures ? 1 : 0;
}
