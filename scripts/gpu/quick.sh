#!/usr/bin/env bash
# A first GPU pass: the declaration check, the GPU test files, one LeNet-5 epoch on the GPU.
set -u
OUT=${OUT:-/tmp}
site=$(python3 -c "import nvidia,os;print(list(nvidia.__path__)[0])")
echo "== declaration check"
g++ -std=c++17 -fsyntax-only -Inative -I"$site/cudnn/include" -I"$site/cu13/include" -I/usr/local/cuda/include native/cuda/check_decls.cc && echo "declarations: PASS" || echo "declarations: FAIL"
echo "== GPU tests"
timeout 300 npx mocha --no-config --node-option expose-gc --timeout 60000 --reporter dot dist/test/device.test.js dist/test/cuda-*.test.js > "$OUT/gpu-tests.txt" 2>&1
echo "mocha exit $?"
grep -E "passing|failing|pending" "$OUT/gpu-tests.txt"
# the first lines of each failure
awk '/failing/{p=1} p' "$OUT/gpu-tests.txt" | grep -E "^  [0-9]+\)|Error|expected|E_[A-Z]+" | head -150
echo "== LeNet-5, 1 epoch on the GPU"
timeout 120 node -e "
const c = require('./dist/lib/index.js');
c.models.trainLeNet5({ device: 'cuda', epochs: 1, verbose: 0 }).then((r) => console.log('lenet5 cuda', r.device, 'acc', r.testAccuracy, 'seconds', r.seconds.toFixed(1)), (e) => console.log('lenet5 FAIL', e.code, e.message));
"
