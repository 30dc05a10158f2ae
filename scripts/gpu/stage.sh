#!/usr/bin/env bash
# ../shared/device/stage.sh, with onnxruntime-node set aside while it packs node_modules: that
# development package holds ONNX Runtime for five systems (294 MB; Linux x64's alone is 13 MB
# compressed), which would take .device/ past the 60 MiB a run may carry. The GPU check needs
# none of it: test/onnx.test.ts skips its ONNX Runtime runs where the package is missing (its
# [cuda] block compares exported files without it). Run from the project root after building.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
aside="$root/.onnxruntime-aside"
restore() {
  if [[ -d $aside/onnxruntime-node ]]; then mv "$aside/onnxruntime-node" node_modules/; fi
  rmdir "$aside" 2>/dev/null || true
}
trap restore EXIT
mkdir -p "$aside"
if [[ -d node_modules/onnxruntime-node ]]; then mv node_modules/onnxruntime-node "$aside/"; fi
bash "$root/../shared/device/stage.sh"
