// The 8-bit product of qgemm.h: a register tile of rows x (panels x 16) int32 sums per kernel, the
// rows' words broadcast, one vector load per panel and k4; a block of sums for every row is then
// dequantized together.
//
//   avx512-vnni  8 rows x 3 panels: vpdpbusd adds 4 products (u8 x s8) into each of 16 int32 lanes
//                in one instruction; 24 zmm accumulators, 3 for the panels, 1 for the broadcast:
//                11 loads feed 24 vpdpbusd (one panel of 12 rows took 13 loads for 12).
//   avx2         4 rows x 1 panel as two ymm: vpmaddubsw (u8 x s8 pairs -> s16, exact for 7-bit
//                activations) then vpmaddwd by 1 (-> s32), 8 accumulators.
//   portable     4 rows x 1 panel in plain C++.
// Each has both orders of operands: the broadcast rows unsigned (activations) or signed (weights).
// The sums are exact integers, so every path gives the same bits; only speed differs.
#include "cpu/qgemm.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
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
constexpr int64_t kKc = 256;

// The operands of a tile: `rows` rows (row r's word k4 at a[r * a_row + k4 * a_k]) against
// `panels` panels (panel p's words for k4 at b + p * b_panel + k4 * 16), over K4 words;
// acc[r * ldc + p * 16 + c] += the sum of the 4 products of row r's word and column c's.
struct Tile {
  const uint32_t* a;
  int64_t a_row, a_k;
  const uint32_t* b;
  int64_t b_panel;
  int32_t* acc;
  int64_t ldc;
};
using TileFn = void (*)(int rows, int panels, int64_t K4, const Tile& t);

struct Kernel {
  const char* name;
  int rows, panels;
  TileFn activation_rows, weight_rows;  // the broadcast rows unsigned, or signed
};

// The 4 products of two words, `u`'s bytes unsigned and `s`'s signed.
inline int32_t dot4(uint32_t u, uint32_t s) {
  int32_t sum = 0;
  for (int j = 0; j < 4; ++j) sum += static_cast<int32_t>((u >> (8 * j)) & 0xff) * static_cast<int8_t>((s >> (8 * j)) & 0xff);
  return sum;
}

template <bool kSignedRows>
void tile_portable(int rows, int panels, int64_t K4, const Tile& t) {
  for (int r = 0; r < rows; ++r)
    for (int p = 0; p < panels; ++p) {
      int32_t* out = t.acc + r * t.ldc + p * kW;
      for (int64_t k4 = 0; k4 < K4; ++k4) {
        const uint32_t wa = t.a[r * t.a_row + k4 * t.a_k];
        const uint32_t* wb = t.b + p * t.b_panel + k4 * kW;
        for (int c = 0; c < kW; ++c) out[c] += kSignedRows ? dot4(wb[c], wa) : dot4(wa, wb[c]);
      }
    }
}

// A function per (rows, panels) shape, picked from a table: the register tile must be known at
// compile time to stay in registers.
template <template <int, int, bool> class Shape, int P, bool S, int... R>
constexpr std::array<void (*)(int64_t, const Tile&), sizeof...(R)> row_table(std::integer_sequence<int, R...>) {
  return {&Shape<R + 1, P, S>::run...};
}

#if CONVNET_QGEMM_X86
template <int R, int P, bool S>
struct VnniTile {
  __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void run(int64_t K4, const Tile& t) {
    __m512i c[R][P];
    const uint32_t* a[R];
    for (int r = 0; r < R; ++r) {
      a[r] = t.a + r * t.a_row;
      for (int p = 0; p < P; ++p) c[r][p] = _mm512_loadu_si512(t.acc + r * t.ldc + p * kW);
    }
    for (int64_t k4 = 0; k4 < K4; ++k4) {
      __m512i b[P];
      for (int p = 0; p < P; ++p) b[p] = _mm512_loadu_si512(t.b + p * t.b_panel + k4 * kW);
      for (int r = 0; r < R; ++r) {
        const __m512i w = _mm512_set1_epi32(static_cast<int>(a[r][k4 * t.a_k]));
        // vpdpbusd's first source is the unsigned bytes, its second the signed.
        for (int p = 0; p < P; ++p) c[r][p] = S ? _mm512_dpbusd_epi32(c[r][p], b[p], w) : _mm512_dpbusd_epi32(c[r][p], w, b[p]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < P; ++p) _mm512_storeu_si512(t.acc + r * t.ldc + p * kW, c[r][p]);
  }
};

template <int R, int P, bool S>
struct Avx2Tile {
  __attribute__((target("avx2,fma"))) static void run(int64_t K4, const Tile& t) {
    static_assert(P == 1, "the AVX2 tile is one panel wide");
    __m256i c0[R], c1[R];
    for (int r = 0; r < R; ++r) {
      c0[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.acc + r * t.ldc));
      c1[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.acc + r * t.ldc + 8));
    }
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t k4 = 0; k4 < K4; ++k4) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.b + k4 * kW));
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.b + k4 * kW + 8));
      for (int r = 0; r < R; ++r) {
        const __m256i w = _mm256_set1_epi32(static_cast<int>(t.a[r * t.a_row + k4 * t.a_k]));
        // vpmaddubsw's first source is the unsigned bytes, its second the signed.
        const __m256i p0 = S ? _mm256_maddubs_epi16(b0, w) : _mm256_maddubs_epi16(w, b0);
        const __m256i p1 = S ? _mm256_maddubs_epi16(b1, w) : _mm256_maddubs_epi16(w, b1);
        c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(p0, ones));
        c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(p1, ones));
      }
    }
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(t.acc + r * t.ldc), c0[r]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(t.acc + r * t.ldc + 8), c1[r]);
    }
  }
};

constexpr int kVnniRows = 8, kVnniPanels = 3, kAvx2Rows = 4;

template <bool S>
void tile_vnni(int rows, int panels, int64_t K4, const Tile& t) {
  static constexpr auto one = row_table<VnniTile, 1, S>(std::make_integer_sequence<int, kVnniRows>{});
  static constexpr auto two = row_table<VnniTile, 2, S>(std::make_integer_sequence<int, kVnniRows>{});
  static constexpr auto three = row_table<VnniTile, 3, S>(std::make_integer_sequence<int, kVnniRows>{});
  static_assert(kVnniPanels == 3, "one table per panel count");
  (panels == 1 ? one : panels == 2 ? two : three)[rows - 1](K4, t);
}

template <bool S>
void tile_avx2(int rows, int, int64_t K4, const Tile& t) {
  static constexpr auto one = row_table<Avx2Tile, 1, S>(std::make_integer_sequence<int, kAvx2Rows>{});
  one[rows - 1](K4, t);
}

bool cpu_has_vnni() {
  // cpu_has_avx512() is false in a build capped at AVX2 (scripts/avx2-check.sh), which then
  // runs the AVX2 kernel as a CPU without AVX-512 would.
  __builtin_cpu_init();
  return cpu_has_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
#endif

const Kernel kPortable{"portable", 4, 1, tile_portable<false>, tile_portable<true>};
#if CONVNET_QGEMM_X86
const Kernel kVnni{"avx512-vnni", kVnniRows, kVnniPanels, tile_vnni<false>, tile_vnni<true>};
const Kernel kAvx2{"avx2", kAvx2Rows, 1, tile_avx2<false>, tile_avx2<true>};
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

// The sums of `rows` rows against columns [n0, n0 + cols), acc's rows ldc apart, dequantized into
// the output (qgemm.h's QEpilogue).
void finish(const QEpilogue& e, bool channel_per_row, int64_t rows, int64_t n0, int64_t cols, const int32_t* acc,
            int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* sums = acc + r * ldc;
    float* out = e.out + r * e.row_stride + n0 * e.col_stride;
    if (channel_per_row) {
      const float scale = e.a_scale * e.w_scale[r], bias = e.bias ? e.bias[r] : 0.0f;
      const int32_t offset = e.a_zero * e.w_sum[r];
      if (e.col_stride == 1) {
        dequantize_row(sums, cols, offset, scale, bias, e.lo, e.hi, out);
      } else {
        for (int64_t c = 0; c < cols; ++c)
          out[c * e.col_stride] = dequantize(scale, static_cast<float>(sums[c] - offset), bias, e.lo, e.hi);
      }
    } else {
      const float* w_scale = e.w_scale + n0;
      const int32_t* w_sum = e.w_sum + n0;
      const float* bias = e.bias ? e.bias + n0 : nullptr;
      for (int64_t c = 0; c < cols; ++c)
        out[c * e.col_stride] = dequantize(e.a_scale * w_scale[c], static_cast<float>(sums[c] - e.a_zero * w_sum[c]),
                                           bias ? bias[c] : 0.0f, e.lo, e.hi);
    }
  }
}

}  // namespace

void qgemm(int64_t M, int64_t N, int64_t K4, const QRows& A, const uint32_t* B_panels, const QEpilogue& epilogue) {
  const Kernel& k = active();
  const TileFn tile = A.weights ? k.weight_rows : k.activation_rows;
  const int64_t ldc = k.panels * kW;
  // The sums of a group of panels for every row, in blocks of kKc words of k: a block of the
  // panels (kKc * 64 bytes each) stays in L1 while every row passes over it.
  thread_local std::vector<int32_t> sums;
  sums.resize(static_cast<size_t>(M * ldc));
  for (int64_t n0 = 0; n0 < N; n0 += ldc) {
    const int64_t cols = std::min(ldc, N - n0);
    const int panels = static_cast<int>((cols + kW - 1) / kW);
    const uint32_t* panel = B_panels + n0 * K4;
    std::fill(sums.begin(), sums.end(), 0);
    for (int64_t k0 = 0; k0 < K4; k0 += kKc) {
      const int64_t kc = std::min(kKc, K4 - k0);
      for (int64_t m0 = 0; m0 < M; m0 += k.rows) {
        const Tile t{A.words + m0 * A.row_stride + k0 * A.k_stride, A.row_stride, A.k_stride, panel + k0 * kW, kW * K4,
                     sums.data() + m0 * ldc, ldc};
        tile(static_cast<int>(std::min<int64_t>(k.rows, M - m0)), panels, kc, t);
      }
    }
    finish(epilogue, A.weights, M, n0, cols, sums.data(), ldc);
  }
}

int64_t qgemm_tile_cols() { return active().panels * kW; }

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
