// CONVNET_SIMD_CLONES: compile a function again for AVX-512 and AVX2 (Haswell) beside the
// baseline, and pick the clone at load time (GCC function multi-versioning, target_clones).
// The binary targets baseline x86-64 (CMakeLists.txt), so plain loops vectorise to SSE only:
// 4 floats an instruction where PyTorch's kernels, dispatched by CPU, use 8 or 16.
// A process always runs the same clone, so the thread count still changes no bits. Clones may
// round differently only where the compiler contracts a * b + c into an FMA (Haswell and
// AVX-512 have it): a kernel that must give the same bits on every CPU avoids such forms, or
// makes them exact (e.g. an addend or a factor that is exactly 0).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CONVNET_SIMD_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define CONVNET_SIMD_CLONES
#endif
