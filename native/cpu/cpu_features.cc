#include "cpu/cpu_features.h"

namespace convnet {

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
bool cpu_has_avx512() {
#ifdef CONVNET_SIMD_CAP_AVX2
  return false;
#else
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
#endif
}

bool cpu_has_avx2_fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
#else
bool cpu_has_avx512() { return false; }
bool cpu_has_avx2_fma() { return false; }
#endif

}  // namespace convnet
