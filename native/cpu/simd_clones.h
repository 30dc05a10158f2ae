// CONVNET_SIMD_CLONES: compile a function again for AVX-512 and AVX2 beside the baseline, and
// pick the clone at load time (GCC function multi-versioning, target_clones).
// The binary targets baseline x86-64 (CMakeLists.txt), so plain loops vectorise to SSE only:
// 4 floats an instruction where PyTorch's kernels, dispatched by CPU, use 8 or 16.
// A process always runs the same clone, so the thread count still changes no bits. Clones may
// round differently only where the compiler contracts a * b + c into an FMA (x86-64-v3 and
// AVX-512 have it): a kernel that must give the same bits on every CPU avoids such forms, or
// makes them exact (e.g. an addend or a factor that is exactly 0).
//
// The AVX2 clone is "arch=x86-64-v3" (AVX2, FMA, BMI2, ...), picked by the CPU's features. It
// was "arch=haswell" until session 15, which GCC picks by CPU *model*
// (__builtin_cpu_is("haswell")): every other CPU without AVX-512 (AMD Zen 2 and 3, newer Intel
// desktops) ran the SSE baseline, and GCC also refused to inline plain inline helpers into the
// Haswell clone (another arch).
//
// GCC will not inline a function with other optimize options into a clone that has its own
// (optimize("no-trapping-math") and the like), so std::max and friends are written out there,
// and inline_math.h's helpers are always_inline. GCC has no register for a 64-byte generic
// vector without AVX-512: in the AVX2 clone it turns selects on such vectors into scalar code
// and keeps sums in memory. Selects use 32-byte vectors (two per 16 lanes); the row sums
// (lanes16.h) are compiled for both layouts and pick one by CPU. Check a change with
// `objdump -d` (no clone without ymm/zmm instructions) and scripts/avx2-check.sh.
//
// A build with CONVNET_SIMD_CAP_AVX2 (CMake's CONVNET_SIMD_CAP=avx2, scripts/avx2-check.sh)
// leaves the AVX-512 clone out, so that a CPU with AVX-512 runs the very AVX2 clones a CPU
// without it would.
#pragma once

#if defined(CONVNET_SIMD_CAP_AVX2) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CONVNET_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CONVNET_SIMD_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define CONVNET_SIMD_CLONES
#endif

// CONVNET_AVX2_CLONES: AVX2 beside the baseline only, for loops whose AVX-512 clone measured
// slower than the AVX2 one (short rows, where a 16-lane vector's remainder is most of the row).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CONVNET_AVX2_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CONVNET_AVX2_CLONES
#endif
