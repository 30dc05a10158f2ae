// SGEMM: C = alpha * op(A) * op(B) + beta * C, row-major, in the GotoBLAS / BLIS style.
//
// Structure (loops from outermost in):
//
//   jc over N in steps of NC          columns of C a thread works on at once
//     pc over K in steps of KC        one rank-KC update of that C block
//       pack op(B)[pc.., jc..] into KC x NR micro-panels      (the B block, ~L3)
//       ic over M in steps of MC
//         pack op(A)[ic.., pc..] into MR x KC micro-panels    (the A block, in L2)
//         jr over the block's columns in steps of NR          (one B micro-panel, L1/L2)
//           ir over the block's rows in steps of MR           (A micro-panels stream from L2)
//             micro-kernel: an MR x NR tile of C held in registers, KC rank-1 updates (FMA)
//
// Packing turns any op(A)/op(B) into the same layout (so the transposes cost only the
// packing), makes the micro-kernel's loads unit-stride, aligned and free of cache-set
// conflicts, and pads partial panels with zeros. When a packed copy would be reused only a
// few times (a skinny C), an operand whose layout already suits the kernel is read in place
// instead: op(A) = A^T already has the MR rows of one k next to each other, op(B) = B has
// the NR columns of one k next to each other; the micro-kernel takes the k stride as an
// argument and masks the loads of a partial tile. The AVX2 kernel also reads op(A) = A in
// place, a row stride apart (it broadcasts A's values one by one anyway), where C is at most 8
// column panels wide.
//
// Micro-kernels (picked once at run time with __builtin_cpu_supports; the binary itself is
// built for baseline x86-64, the SIMD code opts in per function with target attributes):
//   avx512   MR x NR = 14 x 32: 28 zmm accumulators + 2 for the B row + 1 broadcast of A.
//            Per k: 2 vector loads + 14 broadcasts for 28 FMAs, so the two FMA pipes, not the
//            load ports, are the limit; 28 independent chains hide the FMA latency (4 cycles
//            x 2 pipes needs >= 8).
//   avx2     6 x 16: 12 ymm accumulators + 2 for B + 1 broadcast (15 of 16 registers).
//   portable 4 x 16 plain C++, left to the auto-vectoriser (no x86 assumptions). Always packs
//            both operands and always computes a full zero-padded tile.
// Partial tiles at the M edge run an instantiation with fewer rows (no wasted FMAs); at the
// N edge the last vector is masked, so nothing past C's (or an unpacked B's) row is touched.
//
// Cache blocking (upper bounds; each is cut into equal blocks, e.g. K = 576 runs as 2 x 288
// rather than 512 + 64, so that no block is a thin, inefficient one):
//   avx512  KC = 512, MC = 168, NC = 4096. Tuned on AMD Zen 5 (48 KiB L1d, 1 MiB L2 per
//           core). The packed A block (MC x KC = 336 KiB) lives in L2 and its 14-row
//           micro-panels stream through the kernel; the B micro-panel (KC x 32 = 64 KiB) is
//           reused by the MC/MR = 12 A micro-panels from L1/L2. KC is larger than the L1
//           rule of thumb says because a bigger KC means fewer passes over C, and the L2
//           streams the rest fast enough: 384..640 measured within noise at 1024^3, 512 best
//           at 1536^3 and 2000^3. MC and NC were flat between 112..336 and 512..4096.
//   avx2    KC = 256, MC = 144, NC = 4096: the B micro-panel (KC x 16 = 16 KiB) fits a 32 KiB
//           L1, the A block (144 KiB) a 256 KiB+ L2 (most AVX2 parts).
//   NC is cut for products of few rows, so that their packed B block stays in L2 (Note [B
//   blocks for few rows]). K's blocking depends only on the kernel and the shape, never on the
//   thread count (M's and N's may: they change no result, below).
//
// Threads: parallel_for splits C into contiguous ranges of MR-row or NR-column units (the
// longer side; batches too), each thread running the loops above on its range with its own
// pack buffers. Problems under ~4 MFLOP stay on the calling thread: handing work to a helper
// costs a few microseconds even though the pool's helpers spin briefly between jobs.
//
// Determinism: every element of C is produced by the same sequence of operations whatever
// the thread count. Threads split C by rows or by columns (and the batch), never K; the K
// blocking depends only on the shape; within a K block each element is one chain of FMAs in
// k order (the same instructions whether its tile is full or partial), and the blocks are
// added into C in k order: C = alpha*acc0 + beta*C, then C += alpha*acc1, and so on.
// Which thread computes a tile, and where its packed copy lives, changes nothing. Results do
// differ between kernel paths (avx512 / avx2 / portable); a process uses one path.
#include "cpu/gemm.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_features.h"
#include "cpu/simd_clones.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_GEMM_X86 1
#include <cpuid.h>
#include <immintrin.h>

#include "cpu/simd_transpose.h"
#else
#define CONVNET_GEMM_X86 0
#endif

namespace convnet {
namespace {

// ---------------------------------------------------------------------------------------
// Micro-kernel interface

// One micro-tile: C[rows, cols] (+)= alpha * sum_k a_k (x) b_k over kc values of k, where
// a_k[i] = a[k * a_ks + i * a_is] (i < rows) and b_k[j] = b[k * b_ks + j] (j < cols). a_is is 1
// but where a row-major A is read in place (Plan::pack_a; KernelInfo::pick_strided_a).
struct Tile {
  int64_t kc;
  const float* a;
  int64_t a_ks;
  int64_t a_is = 1;
  const float* b;
  int64_t b_ks;
  float* c;
  int64_t ldc;
  int rows;
  int cols;
  float alpha;
  float beta;
  bool accumulate;  // later K blocks: C += alpha*acc. First block: C = alpha*acc + beta*C.
};

using TileFn = void (*)(const Tile&);

// Packing primitives. Both pack n source vectors (columns or rows) of kc values into
// ceil(n / W) panels of kc groups of W floats, the panels one after another:
//   dst[p * kc * W + k * W + x] = v[p * W + x][k]   (zero where p * W + x >= n)
//   copy:      v[y][k] = src[k * ld + y]   (for each k the n values are contiguous)
//   transpose: v[y][k] = src[y * ld + k]   (n rows, each contiguous in k)
// Copy walks the source row by row (k outer): stepping down a column of panels would take a
// page-sized stride per access, which defeats the prefetchers and the TLB.
using PackFn = void (*)(const float* src, int64_t ld, int64_t n, int64_t kc, int W, float* dst);

struct KernelInfo {
  const char* name;
  int mr, nr;                  // register tile
  int64_t kc, mc, nc;          // cache blocking (upper bounds)
  // The packed B block's bytes when few rows use it (0: NC columns as for any product; Note [B
  // blocks for few rows]).
  int64_t few_rows_b_block;
  bool reads_only_valid;       // never reads a/b past rows/cols: unpacked operands allowed
  TileFn (*pick)(int rows, int cols);  // the kernel for a (rows <= mr) x (cols <= nr) tile
  // The same for a row-major A read in place (Tile::a_is its row stride); null if never.
  TileFn (*pick_strided_a)(int rows, int cols);
  PackFn pack_copy;
  PackFn pack_transpose;
};

void pack_copy_portable(const float* src, int64_t ld, int64_t n, int64_t kc, int W, float* dst) {
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    for (int64_t y0 = 0; y0 < n; y0 += W) {
      const int64_t cnt = std::min<int64_t>(W, n - y0);
      float* d = dst + y0 * kc + k * W;
      int64_t x = 0;
      for (; x < cnt; ++x) d[x] = src[y0 + x];
      for (; x < W; ++x) d[x] = 0.0f;
    }
  }
}

void pack_transpose_portable(const float* src, int64_t ld, int64_t n, int64_t kc, int W, float* dst) {
  for (int64_t y0 = 0; y0 < n; y0 += W, dst += W * kc) {
    const int64_t cnt = std::min<int64_t>(W, n - y0);
    // Blocks of 8 k so that the rows are read in cache-line sized pieces.
    for (int64_t k0 = 0; k0 < kc; k0 += 8) {
      const int64_t kk = std::min<int64_t>(8, kc - k0);
      for (int x = 0; x < W; ++x) {
        const float* s = src + (y0 + x) * ld + k0;
        float* d = dst + k0 * W + x;
        if (x < cnt) {
          for (int64_t k = 0; k < kk; ++k) d[k * W] = s[k];
        } else {
          for (int64_t k = 0; k < kk; ++k) d[k * W] = 0.0f;
        }
      }
    }
  }
}

// Builds the table fn[(rows - 1) * V + (vectors - 1)] of a kernel template K<rows, vectors>.
template <template <int, int> class K, int R, int V, int... I>
constexpr std::array<TileFn, R * V> make_table(std::integer_sequence<int, I...>) {
  return {{&K<I / V + 1, I % V + 1>::run...}};
}

// The same table of K<rows, vectors>::run_strided_a.
template <template <int, int> class K, int R, int V, int... I>
constexpr std::array<TileFn, R * V> make_strided_a_table(std::integer_sequence<int, I...>) {
  return {{&K<I / V + 1, I % V + 1>::run_strided_a...}};
}

// ---------------------------------------------------------------------------------------
// Portable kernel: plain loops over a full MR x NR tile. Operands are always packed (zero
// padded), so every element runs the identical code whatever its position in the tile.

constexpr int kPortableMR = 4;
constexpr int kPortableNR = 16;

void tile_portable(const Tile& t) {
  constexpr int MR = kPortableMR, NR = kPortableNR;
  float acc[MR][NR] = {};
  const float* a = t.a;
  const float* b = t.b;
  // Operands are packed, so the strides are MR and NR; saying so, and copying the B row to
  // a local first, lets the compiler keep acc in vector registers (4x faster with GCC 12).
  for (int64_t k = 0; k < t.kc; ++k, a += MR, b += NR) {
    float bk[NR];
    for (int j = 0; j < NR; ++j) bk[j] = b[j];
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bk[j];
    }
  }
  for (int i = 0; i < t.rows; ++i) {
    float* c = t.c + i * t.ldc;
    for (int j = 0; j < t.cols; ++j) {
      const float v = t.alpha * acc[i][j];
      if (t.accumulate) {
        c[j] = c[j] + v;
      } else if (t.beta == 0.0f) {
        c[j] = v;
      } else {
        c[j] = v + t.beta * c[j];
      }
    }
  }
}

TileFn pick_portable(int, int) { return &tile_portable; }

constexpr KernelInfo kPortable = {"portable", kPortableMR, kPortableNR, /*kc=*/256, /*mc=*/128, /*nc=*/2048,
                                  /*few_rows_b_block=*/0, false, &pick_portable, nullptr, &pack_copy_portable,
                                  &pack_transpose_portable};

#if CONVNET_GEMM_X86

// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own intrinsics "may be used
// uninitialized" (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// ---------------------------------------------------------------------------------------
// AVX-512 kernel: R rows x V vectors of 16 floats, R <= 14, V <= 2.

constexpr int kAvx512MR = 14;
constexpr int kAvx512NV = 2;

template <int R, int V>
struct Avx512Tile {
  __attribute__((target("avx512f"))) static void run(const Tile& t) { body<false>(t); }
  // A row-major A read in place, its rows a_is apart (Plan::pack_a).
  __attribute__((target("avx512f"))) static void run_strided_a(const Tile& t) { body<true>(t); }

  // kStridedA: a_k[i] = a[i * a_is]; else a_is is 1 (a packed panel), known at compile time:
  // a stride read at run time costs the packed loop an offset register per row.
  template <bool kStridedA>
  __attribute__((target("avx512f"), always_inline)) static inline void body(const Tile& t) {
    // Columns of the last vector that are inside the tile (1..16).
    const int tail = t.cols - 16 * (V - 1);
    const __mmask16 last = tail >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << tail) - 1);

    // Fetch the C tile now so that it is in L1 when the k loop ends; not when the loop is short
    // and C only written (its stores wait in the store buffer): 26 prefetches and their
    // addresses were ~2% of a 64^3 product (a /tmp loop of sgemm calls, 2.52 -> 2.45 us).
    const bool reads_c = t.accumulate || t.beta != 0.0f;
    if (reads_c || t.kc >= 128) for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc + t.cols - 1), _MM_HINT_T0);
    }

    __m512 acc[R][V];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();

    const float* a = t.a;
    const float* b = t.b;
    const int64_t a_ks = t.a_ks, a_is = kStridedA ? t.a_is : 1, b_ks = t.b_ks;
    for (int64_t k = t.kc; k > 0; --k) {
      __m512 bv[V];
#pragma GCC unroll 4
      for (int v = 0; v < V - 1; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
      bv[V - 1] = _mm512_maskz_loadu_ps(last, b + 16 * (V - 1));
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i * a_is]);
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += a_ks;
      b += b_ks;
    }

    const __m512 alpha = _mm512_set1_ps(t.alpha);
    const __m512 beta = _mm512_set1_ps(t.beta);
    const int mode = t.accumulate ? 0 : (t.beta == 0.0f ? 1 : 2);
    // (Locals: the stores may alias `t`, which would be read again for every row.)
    float* const c0 = t.c;
    const int64_t ldc = t.ldc;
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      float* c = c0 + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        const __mmask16 m = v == V - 1 ? last : __mmask16(0xFFFF);
        __m512 r;
        if (mode == 0) {
          r = _mm512_fmadd_ps(acc[i][v], alpha, _mm512_maskz_loadu_ps(m, c + 16 * v));
        } else if (mode == 1) {
          r = _mm512_mul_ps(acc[i][v], alpha);
        } else {
          r = _mm512_fmadd_ps(acc[i][v], alpha, _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(m, c + 16 * v)));
        }
        _mm512_mask_storeu_ps(c + 16 * v, m, r);
      }
    }
  }
};



__mmask16 lanes16(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

__attribute__((target("avx512f"))) void pack_copy_avx512(const float* src, int64_t ld, int64_t n, int64_t kc,
                                                         int W, float* dst) {
  const __mmask16 w_tail = lanes16(W % 16 == 0 ? 16 : W % 16);
  const int64_t full_panels = n / W;
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    const float* s = src;
    float* d = dst + k * W;
    for (int64_t p = 0; p < full_panels; ++p, s += W, d += W * kc) {
      int x = 0;
      for (; x + 16 < W; x += 16) _mm512_storeu_ps(d + x, _mm512_loadu_ps(s + x));
      _mm512_mask_storeu_ps(d + x, w_tail, _mm512_maskz_loadu_ps(w_tail, s + x));
    }
    if (n > full_panels * W) {  // last, partial panel
      const int64_t cnt = n - full_panels * W;
      for (int x = 0; x < W; x += 16) {
        _mm512_mask_storeu_ps(d + x, lanes16(W - x), _mm512_maskz_loadu_ps(lanes16(cnt - x), s + x));
      }
    }
  }
}

__attribute__((target("avx512f"))) void pack_transpose_avx512(const float* src, int64_t ld, int64_t n, int64_t kc,
                                                              int W, float* dst) {
  for (int64_t y0 = 0; y0 < n; y0 += W, dst += W * kc) {
    for (int x0 = 0; x0 < W; x0 += 16) {
      const int64_t rows = std::max<int64_t>(0, std::min<int64_t>(16, n - y0 - x0));
      const __mmask16 store = lanes16(W - x0);
      const float* s = src + (y0 + x0) * ld;
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int64_t kk = std::min<int64_t>(16, kc - k0);
        const __mmask16 load = lanes16(kk);
        __m512 r[16];
        for (int i = 0; i < 16; ++i) {
          r[i] = i < rows ? _mm512_maskz_loadu_ps(load, s + i * ld + k0) : _mm512_setzero_ps();
        }
        transpose16x16(r);
        for (int64_t k = 0; k < kk; ++k) _mm512_mask_storeu_ps(dst + (k0 + k) * W + x0, store, r[k]);
      }
    }
  }
}

constexpr auto kAvx512Table = make_table<Avx512Tile, kAvx512MR, kAvx512NV>(
    std::make_integer_sequence<int, kAvx512MR * kAvx512NV>{});

TileFn pick_avx512(int rows, int cols) {
  return kAvx512Table[(rows - 1) * kAvx512NV + (cols + 15) / 16 - 1];
}

constexpr auto kAvx512StridedATable = make_strided_a_table<Avx512Tile, kAvx512MR, kAvx512NV>(
    std::make_integer_sequence<int, kAvx512MR * kAvx512NV>{});

TileFn pick_avx512_strided_a(int rows, int cols) {
  return kAvx512StridedATable[(rows - 1) * kAvx512NV + (cols + 15) / 16 - 1];
}

// ---------------------------------------------------------------------------------------
// AVX2 kernel: R rows x V vectors of 8 floats, R <= 6, V <= 2.

constexpr int kAvx2MR = 6;
constexpr int kAvx2NV = 2;

template <int R, int V>
struct Avx2Tile {
  template <bool kMasked>
  __attribute__((target("avx2,fma"), always_inline)) static inline void loop(const Tile& t, __m256i mask,
                                                                            __m256 (&acc)[R][V]) {
    const float* a = t.a;
    const float* b = t.b;
    const int64_t a_ks = t.a_ks, a_is = t.a_is, b_ks = t.b_ks;
    for (int64_t k = t.kc; k > 0; --k) {
      __m256 bv[V];
#pragma GCC unroll 4
      for (int v = 0; v < V - 1; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
      bv[V - 1] = kMasked ? _mm256_maskload_ps(b + 8 * (V - 1), mask) : _mm256_loadu_ps(b + 8 * (V - 1));
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m256 ai = _mm256_broadcast_ss(a + i * a_is);
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      a += a_ks;
      b += b_ks;
    }
  }

  __attribute__((target("avx2,fma"))) static void run(const Tile& t) {
    const int tail = t.cols - 8 * (V - 1);  // 1..8
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));

    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc + t.cols - 1), _MM_HINT_T0);
    }

    __m256 acc[R][V];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[i][v] = _mm256_setzero_ps();
    if (tail < 8) {
      loop<true>(t, mask, acc);
    } else {
      loop<false>(t, mask, acc);
    }

    const __m256 alpha = _mm256_set1_ps(t.alpha);
    const __m256 beta = _mm256_set1_ps(t.beta);
    const int mode = t.accumulate ? 0 : (t.beta == 0.0f ? 1 : 2);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      float* c = t.c + i * t.ldc;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        const bool masked = v == V - 1 && tail < 8;
        __m256 old = _mm256_setzero_ps();
        if (mode != 1) old = masked ? _mm256_maskload_ps(c + 8 * v, mask) : _mm256_loadu_ps(c + 8 * v);
        __m256 r;
        if (mode == 0) {
          r = _mm256_fmadd_ps(acc[i][v], alpha, old);
        } else if (mode == 1) {
          r = _mm256_mul_ps(acc[i][v], alpha);
        } else {
          r = _mm256_fmadd_ps(acc[i][v], alpha, _mm256_mul_ps(beta, old));
        }
        if (masked) {
          _mm256_maskstore_ps(c + 8 * v, mask, r);
        } else {
          _mm256_storeu_ps(c + 8 * v, r);
        }
      }
    }
  }
};

__attribute__((target("avx2,fma"))) __m256i lanes8(int64_t n) {
  const int c = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, n)));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// AVX2's masked store (vmaskmovps) is slow (on Zen 3 one per ~6-12 cycles, against one or two
// plain stores a cycle), so the packers store A's groups of W < 8 floats whole wherever the
// 8 - W lanes past the group land on floats of the same panel that a later store writes (the
// next k's groups: panels are written in k order), and mask only the panel's last groups.
// Packing A was 17% of a 128^3 product at 1 thread with a masked store per group.
__attribute__((target("avx2,fma"))) inline void store_group(float* d, bool whole, __m256i mask, __m256 v) {
  if (whole) {
    _mm256_storeu_ps(d, v);
  } else {
    _mm256_maskstore_ps(d, mask, v);
  }
}

__attribute__((target("avx2,fma"))) void pack_copy_avx2(const float* src, int64_t ld, int64_t n, int64_t kc, int W,
                                                        float* dst) {
  // W is 16 for B, 1 to 6 for A (tile_rows).
  const __m256i w_tail = lanes8(W % 8 == 0 ? 8 : W % 8);
  const int64_t full_panels = n / W;
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    const float* s = src;
    float* d = dst + k * W;
    if (W == 16) {
      for (int64_t p = 0; p < full_panels; ++p, s += W, d += W * kc) {
        _mm256_storeu_ps(d, _mm256_loadu_ps(s));
        _mm256_storeu_ps(d + 8, _mm256_loadu_ps(s + 8));
      }
    } else {
      const bool whole = k * W + 8 <= kc * W;  // the lanes past W stay inside the panel
      for (int64_t p = 0; p < full_panels; ++p, s += W, d += W * kc) {
        const __m256 v = p * W + 8 <= n ? _mm256_loadu_ps(s) : _mm256_maskload_ps(s, w_tail);
        store_group(d, whole, w_tail, v);
      }
    }
    if (n > full_panels * W) {  // last, partial panel
      const int64_t cnt = n - full_panels * W;
      for (int x = 0; x < W; x += 8) _mm256_maskstore_ps(d + x, lanes8(W - x), _mm256_maskload_ps(s + x, lanes8(cnt - x)));
    }
  }
}

__attribute__((target("avx2,fma"))) void pack_transpose_avx2(const float* src, int64_t ld, int64_t n, int64_t kc,
                                                             int W, float* dst) {
  for (int64_t y0 = 0; y0 < n; y0 += W, dst += W * kc) {
    for (int x0 = 0; x0 < W; x0 += 8) {
      // The panel's rows only (W < 8: not the next panel's too).
      const int64_t rows = std::max<int64_t>(0, std::min<int64_t>(std::min(8, W - x0), n - y0 - x0));
      const __m256i store = lanes8(W - x0);
      const bool full_store = W - x0 >= 8;
      const float* s = src + (y0 + x0) * ld;
      for (int64_t k0 = 0; k0 < kc; k0 += 8) {
        const int64_t kk = std::min<int64_t>(8, kc - k0);
        const __m256i load = lanes8(kk);
        __m256 r[8];
        for (int i = 0; i < 8; ++i) {
          const float* si = s + i * ld + k0;
          r[i] = i >= rows ? _mm256_setzero_ps() : kk == 8 ? _mm256_loadu_ps(si) : _mm256_maskload_ps(si, load);
        }
        transpose8x8(r);
        for (int64_t k = 0; k < kk; ++k) {
          float* d = dst + (k0 + k) * W + x0;
          store_group(d, full_store || (k0 + k) * W + 8 <= kc * W, store, r[k]);
        }
      }
    }
  }
}

constexpr auto kAvx2Table =
    make_table<Avx2Tile, kAvx2MR, kAvx2NV>(std::make_integer_sequence<int, kAvx2MR * kAvx2NV>{});

TileFn pick_avx2(int rows, int cols) { return kAvx2Table[(rows - 1) * kAvx2NV + (cols + 7) / 8 - 1]; }

// Blocking: see the comment at the top of the file.
constexpr KernelInfo kAvx512 = {"avx512", kAvx512MR, 16 * kAvx512NV, /*kc=*/512, /*mc=*/168, /*nc=*/4096,
                                /*few_rows_b_block=*/512 << 10, true, &pick_avx512, &pick_avx512_strided_a,
                                &pack_copy_avx512, &pack_transpose_avx512};
constexpr KernelInfo kAvx2 = {"avx2", kAvx2MR, 8 * kAvx2NV, /*kc=*/256, /*mc=*/144, /*nc=*/4096,
                              /*few_rows_b_block=*/256 << 10, true, &pick_avx2, &pick_avx2, &pack_copy_avx2,
                              &pack_transpose_avx2};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // CONVNET_GEMM_X86

const KernelInfo* detect_kernel() {
#if CONVNET_GEMM_X86
  if (cpu_has_avx512()) return &kAvx512;
  if (cpu_has_avx2_fma()) return &kAvx2;
#endif
  return &kPortable;
}

std::atomic<const KernelInfo*> g_forced{nullptr};

const KernelInfo& active_kernel() {
  static const KernelInfo* const detected = detect_kernel();
  const KernelInfo* forced = g_forced.load(std::memory_order_relaxed);
  return forced ? *forced : *detected;
}

// ---------------------------------------------------------------------------------------
// Pack buffers: one pair per thread, 64-byte aligned, grown when a larger one is needed and
// freed when the thread exits.

class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { release(); }

  float* get(size_t floats) {
    if (floats > capacity_) {
      release();
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
#if defined(_WIN32)
      data_ = static_cast<float*>(_aligned_malloc(bytes, 64));
#else
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
#endif
      if (!data_) throw std::bad_alloc();
      capacity_ = floats;
    }
    return data_;
  }

 private:
  void release() {
#if defined(_WIN32)
    _aligned_free(data_);
#else
    std::free(data_);
#endif
    data_ = nullptr;
    capacity_ = 0;
  }

  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local PackBuffer tls_pack_a;
thread_local PackBuffer tls_pack_b;

// ---------------------------------------------------------------------------------------
// Packing

// op(A)[i0 .. i0+m, p0 .. p0+kc) -> panels of MR rows: panel p holds, for each k, the MR
// values of rows p*MR .. p*MR+MR-1 (zero past m).
void pack_a(const KernelInfo& ker, int mr, bool trans, const float* A, int64_t lda, int64_t i0, int64_t m,
            int64_t p0, int64_t kc, float* dst) {
  if (trans) {  // A is K x M
    ker.pack_copy(A + p0 * lda + i0, lda, m, kc, mr, dst);
  } else {  // A is M x K
    ker.pack_transpose(A + i0 * lda + p0, lda, m, kc, mr, dst);
  }
}

// Rows per micro-tile for an M-row product: M cut into ceil(M / MR) tiles of equal height
// (16 rows run as 8 + 8, not 14 + 2: a 2-row tile does 4 FMAs per 4 loads and runs at
// half speed, latency-bound). The kernels that read only valid rows take any height up to
// MR; the portable one always computes MR rows.
int tile_rows(const KernelInfo& ker, int64_t M) {
  if (!ker.reads_only_valid || M <= 0) return ker.mr;
  const int64_t tiles = (M + ker.mr - 1) / ker.mr;
  return static_cast<int>((M + tiles - 1) / tiles);
}

// op(B)[p0 .. p0+kc, j0 .. j0+n) -> panels of NR columns: panel q holds, for each k, the NR
// values of columns q*NR .. q*NR+NR-1 (zero past n).
void pack_b(const KernelInfo& ker, bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
            int64_t n, float* dst) {
  if (trans) {  // B is N x K
    ker.pack_transpose(B + j0 * ldb + p0, ldb, n, kc, ker.nr, dst);
  } else {  // B is K x N
    ker.pack_copy(B + p0 * ldb + j0, ldb, n, kc, ker.nr, dst);
  }
}

// ---------------------------------------------------------------------------------------
// Driver

struct Problem {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

// Decisions that depend only on the shape (never on the thread count).
struct Plan {
  int64_t kc;         // K block (all blocks but the last are this long)
  int mr;             // rows per micro-tile (tile_rows)
  bool pack_a;        // else op(A) = A^T is read in place
  bool pack_b;        // else op(B) = B is read in place
  bool split_n;       // threads split C by columns (else by rows)
  int64_t unit;       // rows or columns per unit of parallel work
  int64_t units;      // units per problem
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits n into equal blocks of at most `limit`, each a multiple of `align`.
int64_t even_block(int64_t n, int64_t limit, int64_t align) {
  const int64_t blocks = ceil_div(n, limit);
  return std::min(limit, round_up(ceil_div(n, blocks), align));
}

// Whether a plain (not transposed) B of K x N read in place serves an M-row product better than a
// packed copy (make_plan's pack_b, packed_block's in-place B): few row panels to reuse the copy,
// and B small enough to stay in the caches. Only kernels that read no lanes past n can.
bool b_in_place(const KernelInfo& ker, int64_t M, int64_t K, int64_t N) {
  return ker.reads_only_valid && M <= 8 * ker.mr && K * N <= (int64_t(1) << 19);
}

Plan make_plan(const KernelInfo& ker, const Problem& p) {
  Plan plan;
  plan.kc = even_block(p.K, ker.kc, 1);
  plan.mr = tile_rows(ker, p.M);
  // A packed copy of A is reused by every NR-wide column panel of the block, one of B by every
  // MR-high row panel; read an operand in place when its copy would be reused only a few
  // times, and the operand is small enough to sit in the caches (measured: packing B for
  // 32 x 2048 x 256 costs as much as the product; reading a 21 MB B of 64 x 9216 x 576 in
  // place, panel by panel, a 36 KB stride per k, runs at 2/3 the speed of packing it).
  plan.pack_a = !ker.reads_only_valid || !p.trans_a ||
                !(p.N <= 8 * ker.nr && p.K * p.M <= (int64_t(1) << 20));
  // A row-major A (op(A) = A) read in place too, its rows lda apart (Tile::a_is,
  // KernelInfo::pick_strided_a), when C has at most 8 column panels: a packed copy would serve
  // only those few, and packing it (a transpose) cost more than the strided broadcasts.
  // AVX2, 1 thread, best-of-31 rates in GFLOP/s, the two plans alternated (/tmp loops of
  // matmul, Zen 3): 1024x1024 @ x64 54-56 -> 85-90, 512x2048 @ x16 33-37 -> 65-79, 64x400 @ x120
  // (LeNet's f5) 42-45 -> 57-59, 64^3 42-44 -> 55-58, 8192x1024 @ x64 60-62 -> 68-70; einsum
  // bhqd,bhkd->bhqk [8,8,128,64] medians 2.20-2.75 -> 1.99-2.32 ms. Up to 16 panels (N 200, 256)
  // measured no better.
  // AVX-512 (session 51, Zen 5, 2 threads, medians of matmul loops alternated in one process):
  // 64^3 5.15 -> 4.92 us, 128^3 17.5 -> 16.2, 256^3 91.6 -> 88.9, 64x400 @ x120 21.9 -> 20.4;
  // 50000x64 @ x128 3.90 -> 3.15 ms, 30000x128 @ x32 1.92 -> 1.25, 8192x512 @ x64 2.38 -> 1.99,
  // 1024x4000 @ x64 2.47 -> 1.78. But not when lda is a multiple of 1024 floats: rows 4 KiB apart
  // share one L1 set, and a tile's 14 rows are more than its 12 ways (2048x1024 @ x128 1.94 ->
  // 2.67 ms, 8192x1024 @ x64 4.49 -> 5.62, 2048x2048 @ x200 5.99 -> 8.99). AVX2's 6 rows fit.
  if (!p.trans_a && p.N <= 8 * ker.nr && ker.pick_strided_a != nullptr && (ker.mr <= 8 || p.lda % 1024 != 0)) {
    plan.pack_a = false;
  }
  plan.pack_b = p.trans_b || !b_in_place(ker, p.M, p.K, p.N);
  // Split the longer side of C between threads (each thread packs its own copy of the other
  // operand, so that side had better be short). Ties go to N on AVX-512: its unit, NR = 32
  // columns, divides the usual power-of-two sizes evenly, MR = 14 rows does not. On AVX2 they
  // go to M while the B block a thread then packs (KC x N) fits a 512 KiB L2: square products
  // at 2 threads on Zen 3, the two splits alternated in one process (a /tmp loop of matmuls,
  // several runs), by rows 128^3 took 1.5% longer to 14% less time, 256^3 3.5-6.8% less, 512^3
  // 2.4-4.7% less; 1024^3 0-3.5% more and 2048^3 2.2-2.7% more (its B block in L3).
  const bool rows_for_ties = std::strcmp(ker.name, "avx2") == 0 && plan.kc * p.N * 4 <= (int64_t{512} << 10);
  plan.split_n = p.N > p.M || (p.N == p.M && !rows_for_ties);
  plan.unit = plan.split_n ? ker.nr : plan.mr;
  plan.units = ceil_div(plan.split_n ? p.N : p.M, plan.unit);
  return plan;
}

// Note [B blocks for few rows]: Goto's blocking keeps a packed B block of KC x NC in L3 and
// reuses it from there for every MC-row block of A, each of its NR-wide panels then read from
// L1 by the MC / MR row tiles. With few rows (a convolution's output channels, a batch of 64)
// there is one row block, a panel serves only those few tiles, and the product waits on L3:
// 64 x 3136 x 576 (ResNet's 3x3 64 -> 64 on 56x56 as a GEMM) ran at 132-142 GFLOP/s on one Zen 5
// core against OpenBLAS's 159-167. So for products of at most kFewRowTiles row tiles (on
// AVX-512, MC's 12: one row block) the block is cut to stay in L2 (KernelInfo::
// few_rows_b_block: 512 KiB on AVX-512, 256 KiB on AVX2; the portable kernel, not measured,
// keeps NC). Both sizes alternated in one process (/tmp/s59/gab.cc, session 59: medians of 41
// samples, GFLOP/s, NC -> the cut, 1 thread; 2 threads):
//   AVX-512  64x3136x576 120 -> 162; 249 -> 320.  64x3136x256 128 -> 169; 256 -> 327.
//            96x3025x363 (AlexNet c1) 143 -> 175; 304 -> 312.  128x4096x1152 129 -> 161;
//            257 -> 298.  64x1024x576 135 -> 160; 317 -> 339.  64x9216x576 129 -> 145; 240 ->
//            269.  168x2048x1000, 168x4096x2304, 16x3136x144, 32x12544x27: within 3%.
//   AVX2     64x3136x576 75 -> 89; 143 -> 168.  64x3136x256 76 -> 93.  48x3136x576 68 -> 82.
// More rows lose: AVX2's 128x4096x1152 by 5% and 144x2048x1000 by 6% (22-24 row tiles); the cut
// for every product cost AVX-512's 1024^3 and 2000^3 3-9% (their B block serves 7-12 row blocks
// from L3, and A would be packed again for every column block). On AVX-512 256 KiB lost 4-6% to
// 512 where K is long (168x2048x1000, 168x4096x2304); on AVX2 512 KiB gained less than 256.
constexpr int64_t kFewRowTiles = 12;

// The most columns (a multiple of NR, at least NR) of a packed B block of kc rows in `bytes`.
int64_t block_columns(int64_t bytes, int64_t kc, int NR) {
  return std::max<int64_t>(NR, bytes / (4 * kc) / NR * NR);
}

// Computes C[m0..m1, n0..n1) of one problem on the calling thread.
void gemm_block(const KernelInfo& ker, const Plan& plan, const Problem& p, int64_t m0, int64_t m1, int64_t n0,
                int64_t n1) {
  const int MR = plan.mr, NR = ker.nr;
  const int64_t kc_max = plan.kc;
  // Few rows (at most kFewRowTiles micro-tiles) use each packed B panel only a few times, so
  // the packed B block had better stay in L2 than span NC columns of L3 (Note [B blocks for
  // few rows]).
  const bool few_rows = ker.few_rows_b_block > 0 && plan.pack_b && ceil_div(m1 - m0, MR) <= kFewRowTiles;
  const int64_t nc_max =
      even_block(n1 - n0, few_rows ? std::min(ker.nc, block_columns(ker.few_rows_b_block, kc_max, NR)) : ker.nc, NR);
  const int64_t mc_max = even_block(m1 - m0, ker.mc, MR);
  float* a_buf = plan.pack_a ? tls_pack_a.get(static_cast<size_t>(round_up(mc_max, MR) * kc_max)) : nullptr;
  float* b_buf = plan.pack_b ? tls_pack_b.get(static_cast<size_t>(round_up(nc_max, NR) * kc_max)) : nullptr;
  const auto pick = plan.pack_a || p.trans_a ? ker.pick : ker.pick_strided_a;

  for (int64_t jc = n0; jc < n1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n1 - jc);
    for (int64_t pc = 0; pc < p.K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, p.K - pc);
      const float* b_blk;
      int64_t b_panel, b_ks;  // offset between NR-column panels, and between k
      if (plan.pack_b) {
        pack_b(ker, p.trans_b, p.B, p.ldb, pc, kc, jc, nc, b_buf);
        b_blk = b_buf, b_panel = NR * kc, b_ks = NR;
      } else {
        b_blk = p.B + pc * p.ldb + jc, b_panel = NR, b_ks = p.ldb;
      }
      Tile t;
      t.kc = kc;
      t.b_ks = b_ks;
      t.ldc = p.ldc;
      t.alpha = p.alpha;
      t.beta = p.beta;
      t.accumulate = pc > 0;
      for (int64_t ic = m0; ic < m1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m1 - ic);
        const float* a_blk;
        int64_t a_panel;
        if (plan.pack_a) {
          pack_a(ker, MR, p.trans_a, p.A, p.lda, ic, mc, pc, kc, a_buf);
          a_blk = a_buf, a_panel = MR * kc, t.a_ks = MR, t.a_is = 1;
        } else {
          if (p.trans_a) a_blk = p.A + pc * p.lda + ic, a_panel = MR, t.a_ks = p.lda, t.a_is = 1;
          else a_blk = p.A + ic * p.lda + pc, a_panel = MR * p.lda, t.a_ks = 1, t.a_is = p.lda;
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          t.cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          t.b = b_blk + (jr / NR) * b_panel;
          TileFn full = pick(MR, t.cols);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            t.rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            t.a = a_blk + (ir / MR) * a_panel;
            t.c = p.C + (ic + ir) * p.ldc + jc + jr;
            (t.rows == MR ? full : pick(t.rows, t.cols))(t);
          }
        }
      }
    }
  }
}

// C = beta * C for rows [r0, r1) of the flattened batch (used when K == 0 or alpha == 0).
void scale_rows(float* C, int64_t M, int64_t N, int64_t ldc, int64_t stride_c, float beta, int64_t r0,
                int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float* c = C + (r / M) * stride_c + (r % M) * ldc;
    if (beta == 0.0f) {
      std::fill(c, c + N, 0.0f);
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

// Work below this many flops per thread stays on one thread. A sleeping helper takes ~30 us
// to wake on a VM; the pool's helpers spin ~100 us between jobs, so back-to-back ops pay only
// a few microseconds, ~9 us of work at 230 GFLOP/s per 2 MFLOP.
constexpr double kMinFlopsPerThread = 2.0e6;

}  // namespace

void sgemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                           int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                           int64_t batch) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    if (beta == 1.0f) return;
    const int64_t rows = batch * M;
    parallel_for(rows, std::max<int64_t>(1, (1 << 16) / N),
                 [&](int64_t r0, int64_t r1) { scale_rows(C, M, N, ldc, stride_c, beta, r0, r1); });
    return;
  }

  const KernelInfo& ker = active_kernel();
  const Problem base{trans_a, trans_b, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc};
  const Plan plan = make_plan(ker, base);
  const double unit_flops = 2.0 * static_cast<double>(plan.unit) * static_cast<double>(plan.split_n ? M : N) *
                            static_cast<double>(K);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerThread / unit_flops));

  parallel_for(batch * plan.units, grain, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      const int64_t i = begin / plan.units;
      const int64_t u0 = begin % plan.units;
      const int64_t u1 = std::min(plan.units, u0 + (end - begin));
      Problem p = base;
      p.A = A + i * stride_a;
      p.B = B + i * stride_b;
      p.C = C + i * stride_c;
      const int64_t lo = u0 * plan.unit;
      if (plan.split_n) {
        gemm_block(ker, plan, p, 0, M, lo, std::min(N, u1 * plan.unit));
      } else {
        gemm_block(ker, plan, p, lo, std::min(M, u1 * plan.unit), 0, N);
      }
      begin += u1 - u0;
    }
  });
}

int64_t sgemm_packed_a_floats(int64_t M, int64_t K) {
  const KernelInfo& ker = active_kernel();
  return round_up(M, tile_rows(ker, M)) * K;
}

// Layout: K block pc (blocks of even_block(K, kc)) starts at packed + pc * round_up(M, MR);
// inside it, panel p of MR rows starts at p * MR * kc, as gemm_block's a_buf would hold it.
void sgemm_pack_a(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda, float* packed) {
  const KernelInfo& ker = active_kernel();
  const int mr = tile_rows(ker, M);
  const int64_t kc_max = even_block(K, ker.kc, 1), m_round = round_up(M, mr);
  const int64_t blocks = ceil_div(K, kc_max);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t pc = blk * kc_max;
      pack_a(ker, mr, trans_a, A, lda, 0, M, pc, std::min(kc_max, K - pc), packed + pc * m_round);
    }
  });
}

int64_t sgemm_pack_a_panel_rows(int64_t M) { return tile_rows(active_kernel(), M); }

void sgemm_pack_a_panel(int64_t M, int64_t K, int64_t m0, int64_t rows, const float* rows_a, int64_t lda, float* packed) {
  const KernelInfo& ker = active_kernel();
  const int mr = tile_rows(ker, M);
  const int64_t kc_max = even_block(K, ker.kc, 1), m_round = round_up(M, mr);
  for (int64_t pc = 0; pc < K; pc += kc_max) {
    const int64_t kc = std::min(kc_max, K - pc);
    // as sgemm_pack_a's block pc, panel m0 / mr
    pack_a(ker, mr, false, rows_a, lda, 0, rows, pc, kc, packed + pc * m_round + m0 * kc);
  }
}

int64_t sgemm_packed_a_column(int64_t M, int64_t K, int64_t m0, int64_t k) {
  const KernelInfo& ker = active_kernel();
  const int mr = tile_rows(ker, M);
  const int64_t kc_max = even_block(K, ker.kc, 1), pc = k / kc_max * kc_max, kc = std::min(kc_max, K - pc);
  return pc * round_up(M, mr) + m0 * kc + (k - pc) * mr;  // as sgemm_pack_a_panel's block pc
}

int64_t sgemm_panel_width() { return active_kernel().nr; }

void SgemmMatrixPanels::pack(int64_t item, int64_t p0, int64_t kc, int64_t j0, int64_t n, float* dst) const {
  pack_b(active_kernel(), false, b_ + item * stride_, ldb_, p0, kc, j0, n, dst);
}

namespace {

// C[r][j] = clamp(C[r][j] + bias[r]) for rows r < rows, columns j < cols (SgemmEpilogue; bias
// already at the block's first row, or null). `v < lo ? lo : v` keeps NaN, as clamp does.
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void apply_epilogue(float* C, int64_t ldc, int64_t rows, int64_t cols, const float* bias, float lo, float hi) {
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict c = C + r * ldc;
    const float add = bias ? bias[r] : 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float v = c[j] + add;
      const float above = v < lo ? lo : v;
      c[j] = above > hi ? hi : above;
    }
  }
}

// gemm_block for a pre-packed A and panels from a source: rows [m0, m1) and columns [n0, n1)
// of problem `item`'s C, whose row m0 is at C.
void packed_block(const KernelInfo& ker, int64_t M, int64_t m0, int64_t m1, int64_t K, float alpha,
                  const float* packed_a, const SgemmPanelSource& src, int64_t item, float beta, float* C,
                  int64_t ldc, int64_t n0, int64_t n1, const SgemmEpilogue* epilogue) {
  const int MR = tile_rows(ker, M), NR = ker.nr;
  const int64_t kc_max = even_block(K, ker.kc, 1), m_round = round_up(M, MR);
  // The B block is built by the source for this call alone (no packed copy to amortise), so
  // keep it in L2 rather than NC columns of L3: dilated 64x(8*3136)x576 ran 12.4 ms with NC =
  // 4096, 10.2 ms with 256 KiB (64 KiB: 16.7 ms, 1 MiB: 10.7 ms).
  const int64_t nc_max = even_block(n1 - n0, std::min(ker.nc, block_columns(256 << 10, kc_max, NR)), NR);
  const int64_t mc_max = even_block(m1 - m0, ker.mc, MR);
  // A plain B read in place where sgemm's plan would (b_in_place). MobileNet v2's 1x1
  // convolutions at batch 1 (pointwise_packed, conv2d.cc), 1 thread, best of 15 x 20 calls:
  // 96 -> 24 on 56x56 0.142 -> 0.079 ms, 576 -> 96 on 14x14 0.149 -> 0.125 (packing B had cost
  // as much as the product).
  int64_t ldb = 0;
  const float* in_place = b_in_place(ker, m1 - m0, K, n1 - n0) ? src.matrix(item, &ldb) : nullptr;
  float* b_buf = in_place ? nullptr : tls_pack_b.get(static_cast<size_t>(round_up(nc_max, NR) * kc_max));
  Tile t;
  t.ldc = ldc;
  t.alpha = alpha;
  t.beta = beta;
  t.b_ks = in_place ? ldb : NR;
  t.a_ks = MR;
  for (int64_t jc = n0; jc < n1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      int64_t panel_stride = NR * kc;
      const float* b_panels = in_place ? in_place + pc * ldb + jc : src.panels(item, pc, kc, jc, &panel_stride);
      if (in_place) {
        panel_stride = NR;
      } else if (!b_panels) {
        src.pack(item, pc, kc, jc, nc, b_buf);
        b_panels = b_buf;
        panel_stride = NR * kc;
      }
      t.kc = kc;
      t.accumulate = pc > 0;
      const float* a_blk = packed_a + pc * m_round;
      for (int64_t ic = m0; ic < m1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m1 - ic);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          t.cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          t.b = b_panels + (jr / NR) * panel_stride;
          TileFn full = ker.pick(MR, t.cols);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            t.rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            t.a = a_blk + (ic + ir) * kc;
            t.c = C + (ic - m0 + ir) * ldc + jc + jr;
            (t.rows == MR ? full : ker.pick(t.rows, t.cols))(t);
          }
        }
      }
    }
    if (epilogue) {
      apply_epilogue(C + jc, ldc, m1 - m0, nc, epilogue->row_bias ? epilogue->row_bias + m0 : nullptr, epilogue->lo,
                     epilogue->hi);
    }
  }
}

}  // namespace

void sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha, const float* packed_a, const SgemmPanelSource& b,
                  float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch, const SgemmEpilogue* epilogue) {
  sgemm_packed_rows(M, 0, M, N, K, alpha, packed_a, b, beta, C, ldc, stride_c, batch, epilogue);
}

void sgemm_packed_rows(int64_t M, int64_t m0, int64_t m1, int64_t N, int64_t K, float alpha, const float* packed_a,
                       const SgemmPanelSource& b, float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch,
                       const SgemmEpilogue* epilogue) {
  const KernelInfo& ker = active_kernel();
  if (m0 < 0 || m1 > M || m0 % tile_rows(ker, M) != 0) fail("E_INTERNAL", "sgemm_packed_rows: rows [", m0, ", ", m1, ") of ", M);
  const int64_t rows = m1 - m0;
  if (rows <= 0 || N <= 0 || batch <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    if (beta != 1.0f) {
      parallel_for(batch * rows, std::max<int64_t>(1, (1 << 16) / N),
                   [&](int64_t r0, int64_t r1) { scale_rows(C, rows, N, ldc, stride_c, beta, r0, r1); });
    }
    if (epilogue) {
      for (int64_t i = 0; i < batch; ++i)
        apply_epilogue(C + i * stride_c, ldc, rows, N, epilogue->row_bias ? epilogue->row_bias + m0 : nullptr, epilogue->lo,
                       epilogue->hi);
    }
    return;
  }
  const int64_t units = ceil_div(N, ker.nr);
  const double unit_flops = 2.0 * ker.nr * static_cast<double>(rows) * static_cast<double>(K);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerThread / unit_flops));
  parallel_for(batch * units, grain, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      const int64_t i = begin / units, u0 = begin % units;
      const int64_t u1 = std::min(units, u0 + (end - begin));
      packed_block(ker, M, m0, m1, K, alpha, packed_a, b, i, beta, C + i * stride_c, ldc, u0 * ker.nr,
                   std::min(N, u1 * ker.nr), epilogue);
      begin += u1 - u0;
    }
  });
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm_strided_batched(trans_a, trans_b, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

const char* sgemm_kernel_name() { return active_kernel().name; }

bool avx512_fma_halved() {
  const char* env = std::getenv("CONVNET_FMA512");
  if (env && std::strcmp(env, "halved") == 0) return true;
  if (env && std::strcmp(env, "full") == 0) return false;
#if CONVNET_GEMM_X86
  static const bool halved = [] {
    unsigned a, b, c, d;
    if (!cpu_has_avx512() || !__get_cpuid(0, &a, &b, &c, &d)) return false;
    const bool amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;  // "AuthenticAMD"
    if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return false;
    unsigned family = (a >> 8) & 0xF;
    if (family == 0xF) family += (a >> 20) & 0xFF;
    return family == 0x19;  // Zen 3 (no AVX-512) and Zen 4
  }();
  return halved;
#else
  return false;
#endif
}

bool sgemm_force_kernel(const char* name) {
  if (!name) {
    g_forced.store(nullptr);
    return true;
  }
  const KernelInfo* k = nullptr;
  if (std::strcmp(name, "portable") == 0) k = &kPortable;
#if CONVNET_GEMM_X86
  if (std::strcmp(name, "avx512") == 0 && cpu_has_avx512()) k = &kAvx512;
  if (std::strcmp(name, "avx2") == 0 && cpu_has_avx2_fma()) k = &kAvx2;
#endif
  if (!k) return false;
  g_forced.store(k);
  return true;
}

}  // namespace convnet
