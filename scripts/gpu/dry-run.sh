#!/usr/bin/env bash
# The GPU tests' dry run, on the build machine before a GPU run (no GPU needed; ~20 s): every
# test section 3 of test-gpu.sh runs (dist/test/cuda-*.test.js, then the [cuda] blocks of the
# other test files), with scripts/gpu/dry-run.js standing in for the GPU (a "cuda" tensor is a
# marked CPU tensor). It finds mistakes in the tests and CPU tensors made for GPU inputs; it
# says nothing of the CUDA kernels. Expect "tests: N passed, 0 failed, K skipped" twice (K: the
# loader's no-GPU cases and the tests of what only a GPU has, listed in dry-run.js), then
# "0 finding(s)" from scripts/diff-torch.ts on the GPU-side compositions.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
others=()
for f in dist/test/*.test.js; do
  [[ $f == dist/test/cuda-* ]] && continue
  grep -q 'describeCuda' "$f" && others+=("$f")
done
run=(mocha --no-config --require scripts/gpu/dry-run.js --reporter ./test/reporter.js --node-option expose-gc --timeout 600000 --exit)
rc=0
"${run[@]}" dist/test/cuda-*.test.js || rc=$?
if (( ${#others[@]} )); then "${run[@]}" --grep '\[cuda\]' "${others[@]}" || { r=$?; (( rc )) || rc=$r; }; fi
# The library's GPU-side compositions (the ops that have a CPU kernel but are composed elsewhere)
# against PyTorch: diff-torch with "cuda" standing for the marked CPU tensors (needs torch).
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  (set -o pipefail; node --require ./scripts/gpu/dry-run.js dist/scripts/diff-torch.js --device cuda --cases 3000 --seed 1 2>/dev/null | grep -v '^refused by both') || { r=$?; (( rc )) || rc=$r; }
else
  echo "diff-torch skipped: no PyTorch for /usr/bin/python3"
fi
exit "$rc"
