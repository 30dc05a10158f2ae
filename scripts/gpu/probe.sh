#!/usr/bin/env bash
# A short first look at a GPU machine: versions, where NVIDIA's wheels keep cuDNN/cuBLAS, the
# real headers (packed into $OUT so the declaration check can also be compiled elsewhere), and
# what this build's loader says there.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi || true
nvcc --version | tail -2 || true
python3 - <<'PY'
import torch, os, importlib
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())
print('tf32 defaults: matmul', torch.backends.cuda.matmul.allow_tf32, 'cudnn', torch.backends.cudnn.allow_tf32)
for m in ('nvidia.cudnn', 'nvidia.cublas', 'nvidia.cuda_runtime', 'nvidia.cu13', 'nvidia'):
    try:
        mod = importlib.import_module(m)
        for p in mod.__path__:
            print(m, p)
            for sub in ('lib', 'include'):
                d = os.path.join(p, sub)
                if os.path.isdir(d): print('  ', sub, sorted(os.listdir(d))[:60])
    except Exception as e:
        print(m, 'ERR', e)
PY
site=$(python3 -c "import nvidia,os;print(list(nvidia.__path__)[0])")
ls "$site"; ls "$site"/cu13 2>/dev/null; ls "$site"/cu13/lib "$site"/cu13/include 2>/dev/null | head -80
# headers: cudnn, cublas, and the runtime's library_types.h / driver_types.h they include
tar -czf "$OUT/headers.tgz" -C "$site" $(cd "$site" && ls -d cudnn/include cublas/include cu13/include 2>/dev/null) 2>/dev/null
ls -la "$OUT"
node -e "
const c = require('./dist/lib/index.js');
console.log(JSON.stringify(c.backends(), null, 1));
try { console.log(JSON.stringify(c.cuda.info(), null, 1)); } catch (e) { console.log('info error', e.code, e.message); }
console.log('isAvailable', c.cuda.isAvailable(), 'deviceCount', c.cuda.deviceCount());
"
