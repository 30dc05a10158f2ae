// What this CPU's vector units can run, for the kernels' run-time dispatch: the GEMM's and
// vec_math's kernel tables (gemm.cc, vec_math.cc; the convolution's kernels follow the GEMM's
// choice) and the layouts of the SIMD clones' lanes (lanes16.h). One place, so that they agree.
#pragma once

namespace convnet {

// AVX-512F. False in a build capped at AVX2 (CMake's CONVNET_SIMD_CAP=avx2, simd_clones.h),
// which runs as a CPU without AVX-512, and on other architectures and compilers.
bool cpu_has_avx512();
// AVX2 and FMA (x86-64-v3's vector part). False on other architectures and compilers.
bool cpu_has_avx2_fma();

}  // namespace convnet
