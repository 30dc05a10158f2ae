/**
 * Session 28's survey layers beside PyTorch-CPU at the same thread count: probout (PyTorch has
 * none: its expectation as the softmax formula, its draw as torch.multinomial over the softmax),
 * forward and forward+backward; tiled convolution beside the plain convolution of the same
 * shape (PyTorch's conv2d, for scale: the tiled one has 4 kernels' worth of parameters but one
 * convolution's work); spectral pooling (PyTorch's two real matrix products, the same method).
 * Not one of issue 6's groups: a look at what the new layers cost.
 *
 *   node dist/bench/survey-variants.js [--threads 2] [--only probout]   (after `npx tsc -p .`)
 *
 * Each figure is the median time of the call (ours: the call and `syncBlocking()`, the outputs
 * freed by `tidy`); forward+backward cases clear the input's gradient first on both sides.
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

const { F } = cc;

// a [64, 16, 10, 10] and b [8, 96, 55, 55] (ga, gb: the same, requiring a gradient; dya, dyb: ones
// of probout's output), c [64, 16, 18, 18] with w [64, 16, 5, 5] and tw [2, 2, 64, 16, 5, 5] (tw_t:
// PyTorch's kernels stacked [256, 16, 5, 5]), s [64, 16, 28, 28] with PyTorch's resampling
// matrices ah, aw [14, 28].
const CASES: SideCase<Record<string, cc.Tensor>>[] = [
  ['probout 2, evaluation [64,16,10,10]', ({ a }) => F.probout(a, 2), 'pe(a)'],
  ['probout 2, evaluation [8,96,55,55]', ({ b }) => F.probout(b, 2), 'pe(b)'],
  ['probout 2, evaluation fwd+bwd [8,96,55,55]', ({ gb, dyb }) => { gb.grad = null; F.probout(gb, 2).backward(dyb); }, 'setattr(gb, "grad", None) or pe(gb).backward(dyb)'],
  ['probout 2, training draw [8,96,55,55]', ({ b }) => F.probout(b, 2, { training: true }), 'pt(b)'],
  ['tiled conv 5x5, 2x2 tile, [64,16,18,18]', ({ c, tw }) => F.tiledConv2d(c, tw, null, { padding: 2 }), 'tiled(c)'],
  ['plain conv 5x5 (the same shape)', ({ c, w }) => F.conv2d(c, w, null, { padding: 2 }), 'F.conv2d(c, w, padding=2)'],
  ['spectral pool [64,16,28,28] -> 14', ({ s }) => F.spectralPool2d(s, 14), 'ah @ s @ aw.t()'],
  ['max pool 2 (the same shape)', ({ s }) => F.maxPool2d(s, 2), 'F.max_pool2d(s, 2)'],
];

const TORCH = (threads: number, cases: typeof CASES) => `
import json, math, time, torch, torch.nn.functional as F
torch.set_num_threads(${threads})
a, b = torch.randn(64, 16, 10, 10), torch.randn(8, 96, 55, 55)
gb, dyb = b.clone().requires_grad_(), torch.ones(8, 48, 55, 55)
c, w = torch.randn(64, 16, 18, 18), torch.randn(64, 16, 5, 5)
tw_t = torch.randn(256, 16, 5, 5)
s = torch.randn(64, 16, 28, 28)
def resample(out, size):
    L = min(out, size); half = L // 2
    n = torch.arange(out, dtype=torch.float64).view(-1, 1) / out; m = torch.arange(size, dtype=torch.float64).view(1, -1) / size
    acc = torch.ones(out, size, dtype=torch.float64)
    for k in range(1, half + 1):
        acc += (1 if (L % 2 == 0 and k == half) else 2) * torch.cos(2 * math.pi * k * (n - m))
    return (acc / size).float()
ah = aw = resample(14, 28)
def pe(x):
    z = x.unflatten(1, (x.shape[1] // 2, 2))
    return (F.softmax(z, 2) * z).sum(2)
def pt(x):
    z = x.unflatten(1, (x.shape[1] // 2, 2)).movedim(2, -1)
    i = torch.multinomial(F.softmax(z, -1).reshape(-1, 2), 1).view(*z.shape[:-1], 1)
    return z.gather(-1, i).squeeze(-1)
def tiled(x):
    # PyTorch has no tiled convolution: the same strided pieces, interleaved
    xp = F.pad(x, (2, 2, 2, 2)); parts = []
    for a_ in range(2):
        for b_ in range(2):
            parts.append(F.conv2d(xp[:, :, a_:, b_:], tw_t[(a_ * 2 + b_) * 64:(a_ * 2 + b_ + 1) * 64], stride=2))
    P, Q = parts[0].shape[2], parts[0].shape[3]
    parts = [F.pad(p, (0, Q - p.shape[3], 0, P - p.shape[2])) for p in parts]
    y = torch.stack(parts).view(2, 2, 64, 64, P, Q).permute(2, 3, 4, 0, 5, 1).reshape(64, 64, 2 * P, 2 * Q)
    return y[:, :, :18, :18]
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    with torch.no_grad() if "backward" not in expr else torch.enable_grad():
        for _ in range(3): f()
        ts, t0 = [], time.perf_counter()
        while len(ts) < 10 or time.perf_counter() - t0 < 0.4:
            s0 = time.perf_counter(); f(); ts.append((time.perf_counter() - s0) * 1e3)
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__
print(json.dumps(out))
`;

void runSideBySide({
  title: 'survey variants (session 28)',
  unit: 'medians in ms',
  digits: 3,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => ({
    a: cc.randn([64, 16, 10, 10]), b: cc.randn([8, 96, 55, 55]), gb: cc.randn([8, 96, 55, 55]).requiresGrad_(), dyb: cc.ones([8, 48, 55, 55]),
    c: cc.randn([64, 16, 18, 18]), w: cc.randn([64, 16, 5, 5]), tw: cc.randn([2, 2, 64, 16, 5, 5]), s: cc.randn([64, 16, 28, 28]),
  }),
  timeOurs: timeTidied,
  dispose: (t) => { for (const x of Object.values(t)) x.dispose(); },
});
