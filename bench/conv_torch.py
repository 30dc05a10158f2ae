"""PyTorch-on-GPU timings for `npm run bench -- conv --device cuda` (bench/conv.ts):
python3 bench/conv_torch.py LAYERS_JSON INNER on|off [--quick]
-> one JSON line {"eager": {case: Timing}, "best": {case: Timing}, "bestHeld": {case: Timing}, "version": ..., ...}.

For each layer (conv2d, or conv_transpose2d when "t" is set) and direction (forward,
backward-data, backward-filter; the backward ones through aten.convolution_backward, the call
autograd makes):

- "eager": PyTorch as a user runs it, with torch.backends.cudnn.benchmark = the third argument
  (ours uses the same setting): INNER back-to-back calls between two torch.cuda.synchronize(),
  per call. The same measure as ours (INNER calls, then waiting for the GPU).
- "best": the fastest cuDNN algorithm's own time: benchmark mode on (PyTorch times cuDNN's
  algorithms once per shape and keeps the fastest; benchmark_limit 0: every engine config cuDNN
  offers is tried; 10, PyTorch's default, with --quick), the INNER calls captured in a CUDA graph and replayed between two CUDA
  events, per call: GPU time, with no launch or Python overhead. Where capture fails, the events
  time the eager calls instead ("bestMethod" says which).
- "bestHeld": the same algorithm timed exactly as bench/conv.ts times ours (gpuTimePerCall): a busy
  kernel (torch.cuda._sleep) holds the GPU while INNER eager calls are enqueued between two CUDA
  events, so they run back to back as stream launches; a sample whose start event had passed before
  the last call was enqueued is dropped and the sleep doubled. Our (GPU) rows are compared with
  this one (like with like: a CUDA graph's replay has shorter gaps between an algorithm's kernels
  than stream launches have, which no choice of algorithm on our side could match); "best" is
  shown beside it.

TF32 is left at PyTorch's defaults (reported as "tf32"); bench/conv.ts sets ours the same."""
import json
import sys
import time

import torch

F = torch.nn.functional
layers = json.loads(sys.argv[1])
INNER = int(sys.argv[2])
BENCHMARK = sys.argv[3] == "on"
QUICK = "--quick" in sys.argv[4:]
WARMUP, MIN_REPEATS, MIN_TOTAL, REPLAYS = (2, 5, 0.0, 5) if QUICK else (3, 10, 0.3, 20)
dev = torch.device("cuda")
# How many of cuDNN's engine configurations benchmark mode times per shape: all of them (0) for a
# measurement; PyTorch's default (10, cuDNN's heuristic's first ten) for --quick, to keep it short.
LIMIT = 10 if QUICK else 0
torch.backends.cudnn.benchmark_limit = LIMIT


def timing(samples):
    samples = sorted(samples)
    m = len(samples) // 2
    med = samples[m] if len(samples) % 2 else (samples[m - 1] + samples[m]) / 2
    return {"medianMs": med, "minMs": samples[0], "maxMs": samples[-1], "repeats": len(samples)}


def eager(fn):
    for _ in range(WARMUP):
        fn()
    torch.cuda.synchronize()
    samples, start = [], time.perf_counter()
    while len(samples) < MIN_REPEATS or time.perf_counter() - start < MIN_TOTAL:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(INNER):
            fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) * 1e3 / INNER)
        if len(samples) >= 500:
            break
    return timing(samples)


def event_time(run):
    samples = []
    for _ in range(REPLAYS):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        run()
        b.record()
        b.synchronize()
        samples.append(a.elapsed_time(b) / INNER)
    return timing(samples)


def best(fn):
    """GPU time per call of fn with the algorithm benchmark mode picks (see the module comment)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(WARMUP):
            fn()  # the algorithm search happens here, outside the capture
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    try:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(INNER):
                fn()
        g.replay()
        torch.cuda.synchronize()
        t = event_time(g.replay)
        del g
        return t, "cuda graph"
    except Exception as e:  # noqa: BLE001 - any capture failure: fall back to timing the eager calls on the GPU
        torch.cuda.synchronize()

        def loop():
            for _ in range(INNER):
                fn()
        return event_time(loop), f"cuda events around eager calls ({type(e).__name__})"


def held_time(fn):
    """GPU time per call of fn's algorithm as stream launches, measured as bench/conv.ts's gpuTimePerCall."""
    cycles, got, tries = 4e6, [], 0
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    while len(got) < REPLAYS and tries < REPLAYS + 20:
        tries += 1
        torch.cuda._sleep(int(cycles))
        start.record()
        for _ in range(INNER):
            fn()
        end.record()
        held = not start.query()
        end.synchronize()
        if held:
            got.append(start.elapsed_time(end) / INNER)
        else:
            cycles *= 2
    return timing(got) if got else None


def cases(L):
    """(name, fn) for the three directions of one layer, tensors on the GPU."""
    torch.manual_seed(0)
    x = torch.randn(L["x"], device=dev)
    w = torch.randn(L["w"], device=dev) * 0.1
    s, p, d, g, t = [L["s"]] * 2, [L["p"]] * 2, [L["d"]] * 2, L["g"], L["t"]
    b = torch.randn(L["w"][1] * g if t else L["w"][0], device=dev)
    if t:
        y = F.conv_transpose2d(x, w, b, s, p, [0, 0], g, d)
        fwd = lambda: F.conv_transpose2d(x, w, b, s, p, [0, 0], g, d)  # noqa: E731
    else:
        y = F.conv2d(x, w, b, s, p, d, g)
        fwd = lambda: F.conv2d(x, w, b, s, p, d, g)  # noqa: E731
    dy = torch.randn(y.shape, device=dev)
    cb = torch.ops.aten.convolution_backward
    return [
        ("forward", fwd),
        ("backward-data", lambda: cb(dy, x, w, None, s, p, d, t, [0, 0], g, [True, False, False])),
        ("backward-filter", lambda: cb(dy, x, w, None, s, p, d, t, [0, 0], g, [False, True, False])),
    ]


out = {"eager": {}, "best": {}, "bestHeld": {}, "bestMethod": {}, "version": torch.__version__, "cudnn": torch.backends.cudnn.version(),
       "gpu": torch.cuda.get_device_name(0), "benchmark": BENCHMARK, "benchmarkLimit": LIMIT}
try:
    out["tf32"] = {"cudnn": bool(torch.backends.cudnn.allow_tf32), "matmul": bool(torch.backends.cuda.matmul.allow_tf32)}
except Exception as e:  # noqa: BLE001 - newer PyTorch may only have the fp32_precision switches
    out["tf32"] = str(e)
with torch.no_grad():
    for L in layers:
        for direction, fn in cases(L):
            name = L["name"] + " " + direction
            torch.backends.cudnn.benchmark = BENCHMARK
            out["eager"][name] = eager(fn)
            torch.backends.cudnn.benchmark = True
            out["best"][name], out["bestMethod"][name] = best(fn)
            out["bestHeld"][name] = held_time(fn)  # the algorithm best() searched for, cached per shape
        torch.cuda.empty_cache()
print(json.dumps(out))
