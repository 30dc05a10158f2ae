#!/usr/bin/env bash
# The CPU backend as a CPU without AVX-512 runs it (AMD Zen 2 and 3, many Intel desktops), on
# a machine that has AVX-512: a second build of the addon, build-avx2/, where the GEMM and
# vec_math dispatch stop at AVX2 and only the Haswell clones of the SIMD loops are compiled
# (CMake's CONVNET_SIMD_CAP=avx2, native/cpu/simd_clones.h); then the whole test suite on it.
#
#   bash scripts/avx2-check.sh            # build-avx2 and `npm test` on it (~8 min); on a CPU
#                                         # without AVX-512 only a check that build/ runs AVX2
#                                         # (`npm test` has run the suite on those paths)
#   bash scripts/avx2-check.sh bench ...  # or: the benchmark on it, arguments as run.js's
#
# For the benchmark, PyTorch's oneDNN is held to AVX2 as well (ONEDNN_MAX_CPU_ISA=AVX2; Debian's
# ATen kernels use AVX2 already), so both sides run as on such a CPU. Never shipped: the
# package's own build is the one in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null || ! grep -qw fma /proc/cpuinfo 2>/dev/null; then
  echo "avx2-check: this CPU has no AVX2 + FMA (or no /proc/cpuinfo): nothing to check"
  exit 0
fi
# The addon that CONVNET_ADDON (or, unset, build/) names must take the AVX2 GEMM and vec_math.
takes_avx2() {  # $1: what to call that build in the message
  node -e 'const k = require("./dist/lib/index.js").backends().cpu;
    if (k.gemmKernel !== "avx2" || k.vecMathKernel !== "avx2") { console.error("avx2-check: not the AVX2 paths:", k); process.exit(1); }
    console.log(process.argv[1] + ": GEMM", k.gemmKernel, "vec_math", k.vecMathKernel)' "$1"
}
npx tsc -p tsconfig.json
# Without AVX-512 this CPU already runs the AVX2 paths in the package's own build, so `npm test`
# has just run the suite on them: the same kernels and clones again would add nothing but ~10
# minutes of CI. Say so once that build is seen to take them (AVX2_CHECK_ALWAYS=1 runs it anyway).
if [ "${1:-}" != bench ] && ! grep -qw avx512f /proc/cpuinfo && [ -z "${AVX2_CHECK_ALWAYS:-}" ]; then
  takes_avx2 build
  echo "avx2-check: this CPU has no AVX-512, so build/ runs these paths and \`npm test\` has run the suite on them; not run twice (AVX2_CHECK_ALWAYS=1 to run it)"
  exit 0
fi
npx cmake-js build --out build-avx2 --log-level error --CDCONVNET_SIMD_CAP=avx2 --CDCONVNET_CUDA=OFF
export CONVNET_ADDON="$PWD/build-avx2/Release/convnet.node"
takes_avx2 build-avx2
if [ "${1:-}" = bench ]; then
  shift
  ONEDNN_MAX_CPU_ISA=AVX2 node dist/bench/run.js "$@"
else
  npx tsc -p tsconfig.lib.json
  # What tests the package and its tooling rather than the kernels (the node-gyp build, npm pack,
  # the CLI, the README's examples, the benchmark harness) gives the same answer on either build:
  # ~4 of the suite's ~9 minutes, not run twice.
  npx mocha --ignore 'dist/test/node-gyp.test.js' --ignore 'dist/test/package.test.js' --ignore 'dist/test/cli.test.js' \
    --ignore 'dist/test/readme.test.js' --ignore 'dist/test/bench-smoke.test.js' --ignore 'dist/test/bench-python-worker.test.js'
fi
