// The 8-bit product of qgemm.h: a register tile of rows x 16 int32 sums per kernel, the rows' A
// words broadcast, one vector load of a B panel's 16 words per k4; a panel's sums for all rows are
// then dequantized together.
//
//   avx512-vnni  12 rows: vpdpbusd adds 4 products (u8 x s8) into each of 16 int32 lanes in one
//                instruction; 12 zmm accumulators, 1 for the panel, 1 for the broadcast.
//   avx2         4 rows, 16 columns as two ymm: vpmaddubsw (u8 x s8 pairs -> s16, exact for
//                7-bit activations) then vpmaddwd by 1 (-> s32), 8 accumulators.
//   portable     4 rows in plain C++.
// The sums are exact integers, so every path gives the same bits; only speed differs.
#include "cpu/qgemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/quantize.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_QGEMM_X86 1
#include <immintrin.h>
#else
#define CONVNET_QGEMM_X86 0
#endif

namespace convnet {
namespace cpu {
namespace {

constexpr int kW = static_cast<int>(kQPanelWidth);
constexpr int kMaxRows = 12;
constexpr int64_t kKc = 256;

// acc[r * 16 + c] += the sum over k4 of the 4 products of A's row r word k4 and panel column c's.
using TileFn = void (*)(int rows, int64_t K4, const uint32_t* a, int64_t lda, const uint32_t* panel, int32_t* acc);

struct Kernel {
  const char* name;
  int rows;
  TileFn tile;
};

void tile_portable(int rows, int64_t K4, const uint32_t* a, int64_t lda, const uint32_t* panel, int32_t* acc) {
  for (int r = 0; r < rows; ++r) {
    int32_t* out = acc + r * kW;
    for (int64_t k4 = 0; k4 < K4; ++k4) {
      const uint32_t wa = a[r * lda + k4];
      const int32_t a0 = wa & 0xff, a1 = (wa >> 8) & 0xff, a2 = (wa >> 16) & 0xff, a3 = wa >> 24;
      const uint32_t* wb = panel + k4 * kW;
      for (int c = 0; c < kW; ++c) {
        const uint32_t b = wb[c];
        out[c] += a0 * static_cast<int8_t>(b & 0xff) + a1 * static_cast<int8_t>((b >> 8) & 0xff) +
                  a2 * static_cast<int8_t>((b >> 16) & 0xff) + a3 * static_cast<int8_t>(b >> 24);
      }
    }
  }
}

#if CONVNET_QGEMM_X86
template <int R>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tile_vnni_rows(int64_t K4, const uint32_t* a, int64_t lda,
                                                                            const uint32_t* panel, int32_t* acc) {
  __m512i c[R];
  for (int r = 0; r < R; ++r) c[r] = _mm512_loadu_si512(acc + r * kW);
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const __m512i b = _mm512_loadu_si512(panel + k4 * kW);
    for (int r = 0; r < R; ++r)
      c[r] = _mm512_dpbusd_epi32(c[r], _mm512_set1_epi32(static_cast<int>(a[r * lda + k4])), b);
  }
  for (int r = 0; r < R; ++r) _mm512_storeu_si512(acc + r * kW, c[r]);
}

template <int R>
__attribute__((target("avx2,fma"))) void tile_avx2_rows(int64_t K4, const uint32_t* a, int64_t lda, const uint32_t* panel,
                                                        int32_t* acc) {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r * kW));
    c1[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r * kW + 8));
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + k4 * kW));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + k4 * kW + 8));
    for (int r = 0; r < R; ++r) {
      const __m256i av = _mm256_set1_epi32(static_cast<int>(a[r * lda + k4]));
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones));
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kW), c0[r]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kW + 8), c1[r]);
  }
}

void tile_vnni(int rows, int64_t K4, const uint32_t* a, int64_t lda, const uint32_t* panel, int32_t* acc) {
  switch (rows) {
    case 1: return tile_vnni_rows<1>(K4, a, lda, panel, acc);
    case 2: return tile_vnni_rows<2>(K4, a, lda, panel, acc);
    case 3: return tile_vnni_rows<3>(K4, a, lda, panel, acc);
    case 4: return tile_vnni_rows<4>(K4, a, lda, panel, acc);
    case 5: return tile_vnni_rows<5>(K4, a, lda, panel, acc);
    case 6: return tile_vnni_rows<6>(K4, a, lda, panel, acc);
    case 7: return tile_vnni_rows<7>(K4, a, lda, panel, acc);
    case 8: return tile_vnni_rows<8>(K4, a, lda, panel, acc);
    case 9: return tile_vnni_rows<9>(K4, a, lda, panel, acc);
    case 10: return tile_vnni_rows<10>(K4, a, lda, panel, acc);
    case 11: return tile_vnni_rows<11>(K4, a, lda, panel, acc);
    default: return tile_vnni_rows<kMaxRows>(K4, a, lda, panel, acc);
  }
}

void tile_avx2(int rows, int64_t K4, const uint32_t* a, int64_t lda, const uint32_t* panel, int32_t* acc) {
  switch (rows) {
    case 1: return tile_avx2_rows<1>(K4, a, lda, panel, acc);
    case 2: return tile_avx2_rows<2>(K4, a, lda, panel, acc);
    case 3: return tile_avx2_rows<3>(K4, a, lda, panel, acc);
    default: return tile_avx2_rows<4>(K4, a, lda, panel, acc);
  }
}

bool cpu_has_vnni() {
  // cpu_has_avx512() is false in a build capped at AVX2 (scripts/avx2-check.sh), which then
  // runs the AVX2 kernel as a CPU without AVX-512 would.
  __builtin_cpu_init();
  return cpu_has_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
#endif

const Kernel kPortable{"portable", 4, tile_portable};
#if CONVNET_QGEMM_X86
const Kernel kVnni{"avx512-vnni", kMaxRows, tile_vnni};
const Kernel kAvx2{"avx2", 4, tile_avx2};
#endif

const Kernel* detect() {
#if CONVNET_QGEMM_X86
  if (cpu_has_vnni()) return &kVnni;
  if (cpu_has_avx2_fma()) return &kAvx2;
#endif
  return &kPortable;
}

const Kernel* g_forced = nullptr;

const Kernel& active() {
  static const Kernel* detected = detect();
  return g_forced ? *g_forced : *detected;
}

// The sums of `rows` rows against the panel of columns [n0, n0 + cols), dequantized into the
// output (qgemm.h's QEpilogue).
void finish(const QEpilogue& e, int64_t rows, int64_t n0, int cols, const int32_t* acc) {
  for (int c = 0; c < cols; ++c) {
    const int64_t n = n0 + c;
    const float scale = e.a_scale * e.b_scale[n];
    const int32_t offset = e.a_zero * e.b_sum[n];
    const float bias = e.bias ? e.bias[n] : 0.0f;
    float* out = e.out + n * e.col_stride;
    for (int64_t r = 0; r < rows; ++r) out[r * e.row_stride] = dequantize(scale, static_cast<float>(acc[r * kW + c] - offset), bias, e.lo, e.hi);
  }
}

}  // namespace

void qgemm(int64_t M, int64_t N, int64_t K4, const uint32_t* A, int64_t lda, const uint32_t* B_packed,
           const QEpilogue& epilogue) {
  const Kernel& k = active();
  // The sums of a panel's column for every row, in blocks of kKc words of k: a block of the panel
  // (kKc * 64 bytes) stays in L1 while every row passes over it.
  thread_local std::vector<int32_t> sums;
  sums.resize(static_cast<size_t>(M * kW));
  for (int64_t n0 = 0; n0 < N; n0 += kW) {
    const uint32_t* panel = B_packed + n0 * K4;
    std::fill(sums.begin(), sums.end(), 0);
    for (int64_t k0 = 0; k0 < K4; k0 += kKc) {
      const int64_t kc = std::min(kKc, K4 - k0);
      for (int64_t m0 = 0; m0 < M; m0 += k.rows)
        k.tile(static_cast<int>(std::min<int64_t>(k.rows, M - m0)), kc, A + m0 * lda + k0, lda, panel + k0 * kW, sums.data() + m0 * kW);
    }
    finish(epilogue, M, n0, static_cast<int>(std::min<int64_t>(kW, N - n0)), sums.data());
  }
}

int64_t qgemm_tile_rows() { return active().rows; }

bool qgemm_prefers_float(int64_t K) { return g_forced == nullptr && K <= kExactFloatK && std::strcmp(active().name, "avx512-vnni") != 0; }

const char* qgemm_kernel_name() { return active().name; }

bool qgemm_force_kernel(const char* name) {
  if (name == nullptr) {
    g_forced = nullptr;
    return true;
  }
  const Kernel* k = nullptr;
  if (std::strcmp(name, "portable") == 0) k = &kPortable;
#if CONVNET_QGEMM_X86
  if (std::strcmp(name, "avx512-vnni") == 0 && cpu_has_vnni()) k = &kVnni;
  if (std::strcmp(name, "avx2") == 0 && cpu_has_avx2_fma()) k = &kAvx2;
#endif
  if (k == nullptr) return false;
  g_forced = k;
  return true;
}

}  // namespace cpu
}  // namespace convnet
