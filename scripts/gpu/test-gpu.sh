#!/usr/bin/env bash
# `npm run test:gpu`: the whole GPU check in one command, for the GPU machine's single batch run
# (from the staged tree: bash .device/run.sh npm run test:gpu). Nothing is compiled here except
# the declaration check (g++ -fsyntax-only): build/ and dist/ must come built.
#
# Sections, each under its own time limit, each reporting PASS / FAIL / TIMEOUT / SKIPPED and its
# exit status; a failing section never stops the later ones:
#   1 info    the GPU, driver, CUDA runtime, cuDNN/cuBLAS versions and files (cuda.info())
#   2 decls   native/cuda/check_decls.cc against the machine's real cuDNN/cuBLAS headers
#   3 gpu     the GPU test suite: mocha over dist/test/cuda-*.test.js, then the GPU blocks
#             (describeCuda, titles ending in " [cuda]") of the other test files
#   4 lenet5  LeNet-5 on MNIST (default recipe) on the CPU and on the GPU, same seed: the GPU
#             must reach the CPU's test accuracy (bench/lenet5-devices.ts); images/s
#   5 bench   the GPU benchmark: conv and models groups beside PyTorch on the GPU, --quick
#   6 parity  scripts/diff-torch.ts with our side on the GPU: random calls of ~300 ops, layers,
#             losses, optimizers and schedules against PyTorch on the CPU, the same bits
#             (values, gradients, refusals); what we leave on the CPU (E_DEVICE) is counted apart
#   7 suite   the rest of the test suite (the CPU tests; mocha with .mocharc.json), less
#             cuda-* and the [cuda] blocks (section 3 ran them) and the two tests that rebuild the addon from source
#             (node-gyp, package: they need compilers' packages, node headers and the network,
#             none of which the GPU machine has; they run on the build machine)
# The GPU-specific sections run first so that a short budget still gets them.
#
# Environment:
#   GPU_TEST_BUDGET    total seconds (default 240); each section gets at most its own cap and
#                      what is left, keeping 15 s for each section still to come
#   GPU_TEST_SECTIONS  comma-separated subset to run, e.g. "info,gpu" (default: all)
#   PARITY_CASES       cases of section 6 (default 3000, about a minute)
#   LENET_EPOCHS       epochs of section 4 (default 3, the recipe's; the 99% bar needs 3)
#   GPU_SUITE_IGNORE   section 6's left-out files (default "dist/test/cuda-*.test.js
#                      dist/test/node-gyp.test.js dist/test/package.test.js")
#   BENCH_ARGS         instead of section 5's "--quick" (e.g. "" for the full measurement)
#   BENCH_GROUPS       section 5's groups (default "conv models"; "conv" for the conv table alone)
#   BENCH_CAP          section 5's cap in seconds (default 120; the full conv table needs ~200)
#   OUT                results go to $OUT/gpu-test/ (default /tmp/gpu-test): a log per section,
#                      lenet5.json, bench-gpu.json and .svg, summary.txt
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
BUDGET=${GPU_TEST_BUDGET:-240}
ONLY=${GPU_TEST_SECTIONS:-}
RESULTS=${OUT:-/tmp}/gpu-test
mkdir -p "$RESULTS"
rm -f "$RESULTS"/{info,decls,gpu,parity,lenet5,bench,suite}.log "$RESULTS"/{lenet5.json,bench-gpu.json,bench-gpu.svg,summary.txt}
START=$(date +%s)
ALL=(info decls gpu lenet5 bench parity suite)
names=() statuses=() codes=() times=() details=()

elapsed() { echo $(( $(date +%s) - START )); }

# The Python with PyTorch on the GPU for the benchmark's reference columns (bench/harness.ts
# looks too; finding it once here saves each group the search).
if [[ -z "${CONVNET_TORCH_PYTHON:-}" ]]; then
  for p in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
    if timeout 60 "$p" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)' >/dev/null 2>&1; then
      export CONVNET_TORCH_PYTHON=$p
      break
    fi
  done
fi

# ---- the sections' bodies (run under `timeout` in a child bash, hence exported) ----------------

sec_info() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv 2>&1 || echo "(nvidia-smi failed)"
  command -v nvcc >/dev/null && nvcc --version | tail -2
  echo "node $(node --version); g++ $(g++ -dumpfullversion 2>/dev/null || echo '-')"
  "${CONVNET_TORCH_PYTHON:-python3}" - <<'PY' 2>&1 || echo "(no PyTorch: $?)"
import torch
print(f"PyTorch {torch.__version__}: CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
      f"GPU {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
try:
    print(f"PyTorch TF32 defaults: cudnn.allow_tf32 {torch.backends.cudnn.allow_tf32}, cuda.matmul.allow_tf32 {torch.backends.cuda.matmul.allow_tf32}")
except Exception as e:
    print("PyTorch TF32 defaults:", e)
PY
  echo "CONVNET_TORCH_PYTHON=${CONVNET_TORCH_PYTHON:-(none found)}"
  node scripts/gpu/info.js
}

sec_decls() {
  # The NVIDIA wheels' folders: CUDNN_INCLUDE_DIR (run.sh sets it), then site-packages/nvidia.
  local sites=() d inc=()
  while IFS= read -r d; do [[ -n $d ]] && sites+=("$d"); done < <(
    "${CONVNET_TORCH_PYTHON:-python3}" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null
    python3 -c 'import sysconfig, os; print(os.path.join(sysconfig.get_paths()["purelib"], "nvidia"))' 2>/dev/null
    ls -d /opt/torch/.venv/lib/python3*/site-packages/nvidia 2>/dev/null)
  local cands=("${CUDNN_INCLUDE_DIR:-}")
  for d in "${sites[@]}"; do cands+=("$d/cudnn/include" "$d/cu13/include" "$d/cublas/include" "$d/cuda_runtime/include"); done
  local nvcc_bin; nvcc_bin=$(command -v nvcc || true)
  cands+=("${CUDA_HOME:+$CUDA_HOME/include}" "${CUDA_PATH:+$CUDA_PATH/include}" /usr/local/cuda/include "${nvcc_bin:+$(dirname "$(dirname "$nvcc_bin")")/include}")
  for d in "${cands[@]}"; do
    [[ -n $d && -d $d ]] || continue
    d=$(cd "$d" && pwd -P)
    [[ " ${inc[*]:-} " == *" $d "* ]] || inc+=("$d")
  done
  local h missing=0 where
  header() { local x; for x in "${inc[@]}"; do [[ -f $x/$1 ]] && { echo "$x/$1"; return; }; done; }
  for h in cudnn.h cudnn_version.h cublasLt.h cublas_api.h library_types.h cuda_runtime_api.h; do
    where=$(header "$h")
    echo "  $h: ${where:-NOT FOUND}"
    [[ -n $where ]] || missing=1
  done
  (( missing == 0 )) || { echo "DECLS FAIL: headers missing (searched: ${inc[*]:-nothing})"; return 2; }
  echo "  headers' versions: $(grep -hE '#define (CUDNN_MAJOR|CUDNN_MINOR|CUDNN_PATCHLEVEL|CUBLAS_VER_MAJOR|CUBLAS_VER_MINOR|CUBLAS_VER_PATCH) ' \
    "$(header cudnn_version.h)" "$(header cublas_api.h)" | awk '{printf "%s %s  ", $2, $3}')"
  local flags=(); for d in "${inc[@]}"; do flags+=("-I$d"); done
  echo "g++ -std=c++17 -fsyntax-only -Inative ${flags[*]} native/cuda/check_decls.cc"
  if g++ -std=c++17 -fsyntax-only -Inative "${flags[@]}" native/cuda/check_decls.cc; then
    echo "DECLS PASS: cudnn_decls.h matches the real headers"
  else
    echo "DECLS FAIL: see the static_assert messages above"
    return 1
  fi
}

sec_gpu() {
  local files=(dist/test/cuda-*.test.js) others=() f rc=0
  [[ -e ${files[0]} ]] || { echo "no dist/test/cuda-*.test.js: was the TypeScript compiled?"; return 2; }
  # The GPU blocks of the other test files (describeCuda: titles end in " [cuda]"), e.g. the
  # composed losses of nn-extra and F.pad / F.interpolate of nn-sampling.
  for f in dist/test/*.test.js; do
    [[ $f == dist/test/cuda-* ]] && continue
    grep -q 'describeCuda' "$f" && others+=("$f")
  done
  echo "files: ${files[*]}; the [cuda] blocks of: ${others[*]:-none}"
  # --exit: a handle left open must not hang the batch run past its section
  mocha --no-config --reporter ./test/reporter.js --node-option expose-gc --timeout 120000 --exit "${files[@]}" || rc=$?
  if (( ${#others[@]} )); then
    mocha --no-config --reporter ./test/reporter.js --node-option expose-gc --timeout 120000 --exit --grep '\[cuda\]' "${others[@]}" || { local r=$?; (( rc )) || rc=$r; }
  fi
  return "$rc"
}

sec_parity() {
  # PyTorch (CONVNET_TORCH_PYTHON, found above) on the CPU is the reference; a finding prints
  # the case number that replays it: node dist/scripts/diff-torch.js --device cuda --case N --verbose
  node dist/scripts/diff-torch.js --device cuda --cases "${PARITY_CASES:-3000}" --seed 1
}

sec_lenet5() {
  node dist/bench/lenet5-devices.js --devices cpu,cuda --epochs "${LENET_EPOCHS:-3}" --json "$RESULTS/lenet5.json"
}

sec_bench() {
  # each PyTorch side at most 50 s, so that ours still runs when one hangs
  CONVNET_BENCH_PYTHON_TIMEOUT=${CONVNET_BENCH_PYTHON_TIMEOUT:-50} \
    node dist/bench/run.js ${BENCH_GROUPS:-conv models} --device cuda ${BENCH_ARGS---quick} --json "$RESULTS/bench-gpu.json"
}

sec_suite() {
  local ignore=() f
  for f in ${GPU_SUITE_IGNORE-dist/test/cuda-*.test.js dist/test/node-gyp.test.js dist/test/package.test.js}; do ignore+=(--ignore "$f"); done
  echo "left out: ${GPU_SUITE_IGNORE-dist/test/cuda-*.test.js dist/test/node-gyp.test.js dist/test/package.test.js}"
  # the [cuda] blocks of the other files ran in section 3
  mocha "${ignore[@]}" --grep '\[cuda\]' --invert --exit
}

export -f sec_info sec_decls sec_gpu sec_parity sec_lenet5 sec_bench sec_suite
export RESULTS

# ---- running them -------------------------------------------------------------------------------

selected() { [[ -z $ONLY || ",$ONLY," == *",$1,"* ]]; }
for s in ${ONLY//,/ }; do
  [[ " ${ALL[*]} " == *" $s "* ]] || echo "GPU_TEST_SECTIONS: no section '$s' (sections: ${ALL[*]})"
done

# run_section NAME CAP TITLE: runs sec_NAME under min(CAP, the budget left less 15 s per later section)
run_section() {
  local name=$1 cap=$2 title=$3 later=0 s seen=0
  selected "$name" || return 0
  for s in "${ALL[@]}"; do
    if [[ $s == "$name" ]]; then seen=1; elif (( seen )) && selected "$s"; then later=$((later + 1)); fi
  done
  local left=$(( BUDGET - $(elapsed) - 15 * later ))
  local limit=$(( cap < left ? cap : left ))
  local log="$RESULTS/$name.log"
  echo
  echo "=================================================================================="
  echo "== [$name] $title (limit ${limit} s; $(elapsed) s of ${BUDGET} s used)"
  echo "=================================================================================="
  names+=("$name")
  if (( limit < 10 )); then
    echo "SKIPPED: the time budget is spent"
    statuses+=(SKIPPED) codes+=(-) times+=(0) details+=("budget spent")
    return
  fi
  local t0; t0=$(date +%s)
  timeout -k 10 "$limit" bash -c "sec_$name" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local took=$(( $(date +%s) - t0 ))
  local status=PASS
  if (( rc == 124 || rc == 137 )); then status=TIMEOUT; elif (( rc != 0 )); then status=FAIL; fi
  local detail=""
  case $name in
    info) detail=$(grep -m1 '^GPU 0:' "$log" | cut -c1-90); [[ -n $detail ]] || detail=$(grep -m1 'available:' "$log" | cut -c1-110) ;;
    decls) detail=$(grep -m1 -E '^DECLS (PASS|FAIL)' "$log" | cut -c1-90) ;;
    # (section 3 runs mocha twice: the counts of both)
    gpu|suite) detail=$(grep -E '^tests: [0-9]+ passed' "$log" | awk '{p += $2; f += $4; s += $6} END {if (NR) printf "tests: %d passed, %d failed, %d skipped", p, f, s}') ;;
    lenet5) detail=$(grep -E '^(cpu|cuda) +(test accuracy|FAILED)' "$log" | sed -E 's/ +epochs .*fastest epoch / /; s/ images\/s.*/ img\/s/' | tr -s ' ' | paste -sd';' | cut -c1-110) ;;
    bench) detail=$(grep -m1 'within 5% of the fastest cuDNN' "$log" | sed -E 's/.*GPU time: //' | cut -c1-110) ;;
  esac
  # GPU tests that were skipped (describeCuda prints why) did not run: here that is a failure.
  # (Other skips are fine: cuda-loader's no-GPU cases skip where there is a GPU.)
  if [[ $name == gpu && $status == PASS ]]; then
    if grep -q '(GPU tests skipped:' "$log"; then status=FAIL; detail="$detail; GPU TESTS SKIPPED: the GPU was not used"
    elif [[ -z $detail ]]; then status=FAIL; detail="no test summary"; fi
  fi
  [[ -n $detail || $status == PASS ]] || detail=$(grep -v '^[[:space:]]*$' "$log" | tail -1 | cut -c1-110)
  echo "-- [$name] $status (exit status $rc, ${took} s)"
  statuses+=("$status") codes+=("$rc") times+=("$took") details+=("${detail:--}")
}

echo "cudnn-convnet GPU check: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), budget ${BUDGET} s, results in $RESULTS"
echo "PyTorch for the reference columns: ${CONVNET_TORCH_PYTHON:-none with a GPU found}"
run_section info 45 "GPU, driver, CUDA runtime, cuDNN and cuBLAS"
run_section decls 60 "declaration check: native/cuda/cudnn_decls.h against the real headers"
run_section gpu 150 "GPU test suite (dist/test/cuda-*.test.js and the [cuda] blocks of the others)"
run_section lenet5 90 "LeNet-5 on MNIST, CPU then GPU, same seed and recipe"
run_section bench "${BENCH_CAP:-120}" "GPU benchmark: ${BENCH_GROUPS:-conv models} beside PyTorch on the GPU"
run_section parity 90 "PyTorch parity of the GPU kernels (scripts/diff-torch.ts --device cuda)"
run_section suite 400 "the rest of the test suite (CPU tests)"

{
  echo
  echo "=================================================================================="
  echo "== summary ($(elapsed) s of ${BUDGET} s)"
  echo "=================================================================================="
  printf '%-8s %-8s %5s %6s  %s\n' section status exit secs detail
  fail=0
  for k in "${!names[@]}"; do
    printf '%-8s %-8s %5s %6s  %s\n' "${names[$k]}" "${statuses[$k]}" "${codes[$k]}" "${times[$k]}" "${details[$k]}"
    [[ ${statuses[$k]} == PASS ]] || fail=1
  done
  if (( ${#names[@]} == 0 )); then echo "no section ran (GPU_TEST_SECTIONS=$ONLY; sections: ${ALL[*]})"; fail=1; fi
  (( fail == 0 )) && echo "GPU CHECK: PASS" || echo "GPU CHECK: FAIL"
} | tee "$RESULTS/summary.txt"
grep -q '^GPU CHECK: PASS' "$RESULTS/summary.txt"
