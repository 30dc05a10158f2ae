#!/usr/bin/env bash
# Where GPU time goes, after `npm run test:gpu` (same staged tree): host and GPU time per training
# step by native function, the legacy and graph conv paths side by side, the graph engines'
# precision in plain float32, single ops. Results in $OUT/gpu-perf/.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
R=${OUT:-/tmp}/gpu-perf
mkdir -p "$R"
sec() {
  local name=$1 limit=$2; shift 2
  echo; echo "== [$name] $* (limit $limit s)"
  local t0; t0=$(date +%s)
  timeout -k 5 "$limit" "$@" 2>&1 | tee "$R/$name.log"
  echo "-- [$name] exit ${PIPESTATUS[0]}, $(( $(date +%s) - t0 )) s"
}
sec profile 60 node scripts/gpu/profile-model.js
sec conv-paths 120 node scripts/gpu/conv-paths.js --benchmark
sec diag-graph 60 node scripts/gpu/diag-graph.js 0
sec diag-search 60 node scripts/gpu/diag-search.js
sec ops 40 node scripts/gpu/profile.js
