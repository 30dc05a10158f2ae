"""PyTorch-CPU timings for bench/pool.ts: python3 bench/pool_torch.py THREADS [--quick] [--part N] -> JSON
{case: {medianMs, minMs, maxMs, repeats}} (the harness's Timing); --quick runs each case once;
--part N: only SHAPES[N]'s cases (N = len(SHAPES): the adaptive case), so that bench/pool.ts can
time each shape right before its own.
Backward passes call the aten backward kernels directly (max, avg) or autograd (Lp and mixed,
which PyTorch composes from several ops; max unpooling's, whose backward is a gather). Mixed pooling is lam * max_pool2d + (1 - lam) * avg_pool2d.
PyTorch has no stochastic pooling: its side is the formula as a PyTorch user writes it (stochastic(),
below): the windows unfolded, a running sum compared with u * sum per window, the pick gathered;
evaluation is avg_pool2d(a * a) / avg_pool2d(a) with a = relu(x); the backward through autograd."""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]))
QUICK = "--quick" in sys.argv[2:]
PART = int(sys.argv[sys.argv.index("--part") + 1]) if "--part" in sys.argv else None
SHAPES = [("LeNet c1", [64, 6, 28, 28], 2, 2), ("LeNet c3", [64, 16, 10, 10], 2, 2),
          ("AlexNet 1", [8, 96, 55, 55], 3, 2), ("AlexNet 2", [8, 256, 27, 27], 3, 2)]


def best_ms(fn, warmup=3, min_repeats=30, min_total=0.5):
    if QUICK:
        warmup, min_repeats, min_total = 1, 1, 0.0
    for _ in range(warmup):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < min_repeats or time.perf_counter() - start < min_total:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return {"medianMs": samples[len(samples) // 2], "minMs": samples[0], "maxMs": samples[-1], "repeats": len(samples)}


def stochastic(x, k, s):
    """Training's stochastic pooling of relu(x): one pick per window, p = a / sum a."""
    n, c, h, w = x.shape
    cols = F.unfold(x.clamp(min=0), k, stride=s).view(n, c, k * k, -1)
    total = cols.sum(2, keepdim=True)
    u = torch.rand_like(total) * total
    pick = (cols.cumsum(2) <= u).sum(2, keepdim=True).clamp(max=k * k - 1)
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    return cols.gather(2, pick).view(n, c, oh, ow)


out = {}
with torch.no_grad():
    for part, (name, shape, k, s) in enumerate(SHAPES):
        if PART is not None and part != PART:
            continue
        tag = f"{json.dumps(shape).replace(' ', '')} k{k}s{s}"
        x = torch.rand(shape) * 0.9 + 0.1
        y, idx = F.max_pool2d(x, k, s, return_indices=True)
        dy = torch.rand_like(y)
        out[f"max fwd {tag}"] = best_ms(lambda: F.max_pool2d(x, k, s))
        out[f"max fwd+idx {tag}"] = best_ms(lambda: F.max_pool2d(x, k, s, return_indices=True))
        out[f"max bwd {tag}"] = best_ms(lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, x, [k, k], [s, s], [0, 0], [1, 1], False, idx))
        out[f"avg fwd {tag}"] = best_ms(lambda: F.avg_pool2d(x, k, s))
        out[f"avg bwd {tag}"] = best_ms(lambda: torch.ops.aten.avg_pool2d_backward(dy, x, [k, k], [s, s], [0, 0], False, True, None))
        out[f"lp2 fwd {tag}"] = best_ms(lambda: F.lp_pool2d(x, 2, k, s))
        lam = torch.rand(shape[0], shape[1], 1, 1)
        out[f"mixed fwd {tag}"] = best_ms(lambda: lam * F.max_pool2d(x, k, s) + (1 - lam) * F.avg_pool2d(x, k, s))
        with torch.enable_grad():
            xg = x.clone().requires_grad_()
            yl = F.lp_pool2d(xg, 2, k, s)
            out[f"lp2 bwd {tag}"] = best_ms(lambda: torch.autograd.grad(yl, xg, dy, retain_graph=True))
            ym = lam * F.max_pool2d(xg, k, s) + (1 - lam) * F.avg_pool2d(xg, k, s)
            out[f"mixed bwd {tag}"] = best_ms(lambda: torch.autograd.grad(ym, xg, dy, retain_graph=True))
        out[f"unpool fwd {tag}"] = best_ms(lambda: F.max_unpool2d(y, idx, k, s))
        dx = torch.rand_like(x)
        with torch.enable_grad():
            yg = y.clone().requires_grad_()
            yu = F.max_unpool2d(yg, idx, k, s)
            out[f"unpool bwd {tag}"] = best_ms(lambda: torch.autograd.grad(yu, yg, dx, retain_graph=True))
        out[f"stochastic fwd {tag}"] = best_ms(lambda: stochastic(x, k, s))
        out[f"stochastic eval fwd {tag}"] = best_ms(lambda: F.avg_pool2d(x.clamp(min=0) ** 2, k, s) / F.avg_pool2d(x.clamp(min=0), k, s))
        with torch.enable_grad():
            ys = stochastic(xg, k, s)
            out[f"stochastic bwd {tag}"] = best_ms(lambda: torch.autograd.grad(ys, xg, dy, retain_graph=True))
    if PART is None or PART == len(SHAPES):
        xa = torch.rand(8, 256, 13, 13)
        out["adaptive fwd [8,256,13,13]->6"] = best_ms(lambda: F.adaptive_avg_pool2d(xa, 6))
        xg = torch.rand(32, 512, 7, 7)
        out["adaptive fwd [32,512,7,7]->1"] = best_ms(lambda: F.adaptive_avg_pool2d(xg, 1))
print(json.dumps(out))
