/**
 * Tensor ops a training script calls besides the layers (elementwise, reductions, copies that
 * rearrange memory), beside PyTorch-CPU at the same thread count. Not one of issue 6's groups
 * (its targets cover the survey's layers, losses and models); a look at the rest of the library:
 *
 *   node dist/bench/tensor-ops.js [--threads 2] [--only clamp]   (after `npx tsc -p .`; ~30 s)
 *
 * `--only WORD` runs the cases whose name contains WORD (`--only var`, `--only std`). The clamp
 * forward+backward case clamps g [64, 256, 28, 28] (requiring a gradient) and runs its backward
 * with a gradient of ones, g's gradient dropped first on both sides; the std one does the same
 * with h [512, 4096] over its rows.
 *
 * Each figure is the median time of the op on its own (ours: the op and `syncBlocking()`, the
 * output freed by `tidy`; PyTorch: the call). PyTorch's fresh 51 MB outputs fault their pages in
 * on every call (its allocator returns them to the system) where ours come from a cache; that,
 * not the arithmetic, is most of the elementwise rows' ratio.
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

// name, our call, PyTorch's expression over a [64, 256, 28, 28], b (the same shape), v [256, 1, 1], m [512, 4096],
// g (a's shape, requiring a gradient; gy: ones of its shape), c [8, 64, 56, 56], h (m's shape, requiring a
// gradient; hy: ones [512]), s [1024, 1024] (l: its values as nested lists; xs: 64 [1, 28, 28] samples; ims: 64
// [3, 224, 224] images), q, k [8, 8, 128, 64] (eq, ek on PyTorch's side), u [16, 64, 32, 32], uc [16, 576, 1024], e [16, 64, 28, 28], r [32, 512, 7, 7],
// gx, gg, gsy (gridSample's), q2 (PyTorch's quantiles 0.1, 0.9 as a tensor; ours take the array), w (m's shape, uniform in (-1, 1)), pw (uniform in (0, 10)),
// pm (uniform [64, 1000])
const CASES: SideCase<Record<string, cc.Tensor>>[] = [
  ['add [64,256,28,28]', ({ a, b }) => cc.add(a, b), 'a + b'],
  ['mul', ({ a, b }) => cc.mul(a, b), 'a * b'],
  ['add, broadcast [256,1,1]', ({ a, v }) => cc.add(a, v), 'a + v'],
  ['exp', ({ a }) => cc.exp(a), 'a.exp()'],
  ['sqrt(abs)', ({ a }) => cc.sqrt(cc.abs(a)), 'a.abs().sqrt()'],
  ['sum of all', ({ a }) => cc.sum(a), 'a.sum()'],
  ['sum over dim 1', ({ a }) => cc.sum(a, 1), 'a.sum(1)'],
  ['mean over dims 2, 3', ({ a }) => cc.mean(a, [2, 3]), 'a.mean((2, 3))'],
  ['sum over dim 0', ({ a }) => cc.sum(a, 0), 'a.sum(0)'],
  ['sum over dims 0, 2, 3 (a bias gradient)', ({ a }) => cc.sum(a, [0, 2, 3]), 'a.sum((0, 2, 3))'],
  ['sum over dims 0, 2 of [8,64,56,56]', ({ c }) => cc.sum(c, [0, 2]), 'c.sum((0, 2))'],
  ['mean over dim 1 of [64,256,784]', ({ a }) => cc.mean(cc.reshape(a, [64, 256, 784]), 1), 'a.view(64, 256, 784).mean(1)'],
  // Means that stay in the cache, where a per-map cost shows (the second, a ResNet's global average pooling).
  ['mean over dims 2, 3 of [16,64,28,28]', ({ e }) => cc.mean(e, [2, 3]), 'e.mean((2, 3))'],
  ['mean over dims 2, 3 of [32,512,7,7]', ({ r }) => cc.mean(r, [2, 3]), 'r.mean((2, 3))'],
  ['max over dim 0', ({ a }) => cc.max(a, 0), 'a.amax(0)'],
  ['var over dim 0', ({ a }) => cc.variance(a, 0), 'a.var(0)'],
  ['var over rows of [512,4096]', ({ m }) => cc.variance(m, 1), 'm.var(1)'],
  ['var over dims 0, 2, 3', ({ a }) => cc.variance(a, [0, 2, 3]), 'a.var((0, 2, 3))'],
  ['var of all', ({ a }) => cc.variance(a), 'a.var()'],
  ['std over dim 0', ({ a }) => cc.std(a, 0), 'a.std(0)'],
  ['std over rows of [512,4096]', ({ m }) => cc.std(m, 1), 'm.std(1)'],
  ['std over rows of [512,4096], fwd+bwd', ({ h, hy }) => { h.grad = null; cc.std(h, 1).backward(hy); }, 'setattr(h, "grad", None) or h.std(1).backward(hy)'],
  ['argmax over dim 0', ({ a }) => cc.argmax(a, 0), 'a.argmax(0)'],
  ['max over rows of [512,4096]', ({ m }) => cc.max(m, 1), 'm.max(1)'],
  ['argmax over rows of [512,4096]', ({ m }) => cc.argmax(m, 1), 'm.argmax(1)'],
  // Our tensors are contiguous: permute and transpose copy, once, as PyTorch's view + contiguous().
  // (Until session 36 ours had a .clone() after: a second copy, which read 0.80x here.)
  ['transpose [512,4096], copied', ({ m }) => cc.transpose(m, 0, 1), 'm.t().contiguous()'],
  ['NCHW -> NHWC, copied', ({ a }) => cc.permute(a, [0, 2, 3, 1]), 'a.permute(0, 2, 3, 1).contiguous()'],
  ['concat on dim 1', ({ a, b }) => cc.concat([a, b], 1), 'torch.cat([a, b], 1)'],
  ['clamp(-1, 1)', ({ a }) => cc.clamp(a, -1, 1), 'a.clamp(-1, 1)'],
  ['clamp(min 0)', ({ a }) => cc.clamp(a, 0), 'a.clamp(min=0)'],
  ['clamp(-1, 1) forward+backward', ({ g, gy }) => { g.grad = null; cc.clamp(g, -1, 1).backward(gy); }, 'setattr(g, "grad", None) or g.clamp(-1, 1).backward(gy)'],
  // Session 28's ops: more maths, running sums, additions at indices (ix: int32 [512, 4096] in
  // [0, 4096); ir: int32 [512] in [0, 512); PyTorch's the same, int64 as it requires).
  ['sin', ({ a }) => cc.sin(a), 'a.sin()'],
  ['expm1', ({ a }) => cc.expm1(a), 'a.expm1()'],
  ['round', ({ a }) => cc.round(a), 'a.round()'],
  ['cumsum over rows of [512,4096]', ({ m }) => cc.cumsum(m, 1), 'm.cumsum(1)'],
  ['cumsum over dim 0 of [512,4096]', ({ m }) => cc.cumsum(m, 0), 'm.cumsum(0)'],
  // Session 38's: running products (cumsum's scans), order statistics on the stable sort.
  ['cumprod over rows of [512,4096]', ({ m }) => cc.cumprod(m, 1), 'm.cumprod(1)'],
  ['cumprod over dim 0 of [512,4096]', ({ m }) => cc.cumprod(m, 0), 'm.cumprod(0)'],
  ['prod over rows of [512,4096]', ({ m }) => cc.prod(m, 1), 'm.prod(1)'],
  ['prod over dim 0 of [512,4096]', ({ m }) => cc.prod(m, 0), 'm.prod(0)'],
  ['cummax over rows of [512,4096]', ({ m }) => cc.cummax(m, 1), 'm.cummax(1)'],
  ['cummin over dim 0 of [512,4096]', ({ m }) => cc.cummin(m, 0), 'm.cummin(0)'],
  ['median over rows of [512,4096]', ({ m }) => cc.median(m, 1), 'm.median(1)'],
  ['quantile 0.1, 0.9 over rows of [512,4096]', ({ m }) => cc.quantile(m, [0.1, 0.9], { dim: 1 }), 'torch.quantile(m, q2, dim=1)'],
  // Session 39's special functions (w: m's shape, uniform in (-1, 1)): scalar libm / float64 loops.
  ['asin of [512,4096] in (-1, 1)', ({ w }) => cc.asin(w), 'w.asin()'],
  ['sinh of [512,4096]', ({ m }) => cc.sinh(m), 'm.sinh()'],
  ['erf of [512,4096]', ({ m }) => cc.erf(m), 'm.erf()'],
  ['erfc of [512,4096]', ({ m }) => cc.erfc(m), 'm.erfc()'],
  ['erfinv of [512,4096] in (-1, 1)', ({ w }) => cc.erfinv(w), 'w.erfinv()'],
  ['lgamma of [512,4096]', ({ m }) => cc.lgamma(m), 'm.lgamma()'],
  ['lgamma of [512,4096] in (0, 10)', ({ pw }) => cc.lgamma(pw), 'pw.lgamma()'],
  ['digamma of [512,4096]', ({ m }) => cc.digamma(m), 'm.digamma()'],
  ['scatterAdd along rows of [512,4096]', ({ m, ix }) => cc.scatterAdd(m, 1, ix as cc.Tensor<'int32'>, m), 'm.scatter_add(1, ix, m)'],
  ['indexAdd of 512 rows of [512,4096]', ({ m, ir }) => cc.indexAdd(m, 0, ir as cc.Tensor<'int32'>, m), 'm.index_add(0, ir, m)'],
  // Session 29: einsum (attention scores), unfold and fold.
  ['einsum bhqd,bhkd->bhqk [8,8,128,64]', ({ q, k }) => cc.einsum('bhqd,bhkd->bhqk', q, k), "torch.einsum('bhqd,bhkd->bhqk', eq, ek)"],
  ['unfold 3x3 pad 1 of [16,64,32,32]', ({ u }) => cc.F.unfold(u, 3, { padding: 1 }), 'torch.nn.functional.unfold(u, 3, padding=1)'],
  ['fold back to [16,64,32,32]', ({ uc }) => cc.F.fold(uc, [32, 32], 3, { padding: 1 }), 'torch.nn.functional.fold(uc, (32, 32), 3, padding=1)'],
  // Session 30: the spatial transformer's sampling (gx [16, 32, 64, 64], gg [16, 64, 64, 2] of
  // randn * 0.5, both requiring gradients for the backward row; gsy ones of the output).
  ['gridSample bilinear [16,32,64,64], 64x64 grid', ({ gx, gg }) => cc.noGrad(() => cc.F.gridSample(gx, gg)), 'torch.nn.functional.grid_sample(gx.detach(), gg.detach(), align_corners=False)'],
  ['gridSample bilinear fwd+bwd', ({ gx, gg, gsy }) => { gx.grad = null; gg.grad = null; cc.F.gridSample(gx, gg).backward(gsy); },
    'setattr(gx, "grad", None) or setattr(gg, "grad", None) or torch.nn.functional.grid_sample(gx, gg, align_corners=False).backward(gsy)'],
  // Seeded draws of a conv layer's activation size (ours: Philox-4x32-10, the same numbers on every
  // machine; PyTorch's CPU generator: mt19937).
  ['randn [8,96,55,55]', () => cc.randn([8, 96, 55, 55]), 'torch.randn(8, 96, 55, 55)'],
  ['rand [8,96,55,55]', () => cc.rand([8, 96, 55, 55]), 'torch.rand(8, 96, 55, 55)'],
  ['bernoulli 0.3 [8,96,55,55]', () => cc.bernoulli([8, 96, 55, 55], 0.3), 'torch.empty(8, 96, 55, 55).bernoulli_(0.3)'],
  ['randint [8,96,55,55]', () => cc.randint(0, 1000, [8, 96, 55, 55]), 'torch.randint(0, 1000, (8, 96, 55, 55), dtype=torch.int32)'],
  ['randperm 1e6 (PyTorch: int64)', () => cc.randperm(1000000), 'torch.randperm(1000000)'],
  // pm: rand [64, 1000], 100 draws a row (ours checks the weights, reading them back, as PyTorch).
  ['multinomial [64,1000] x 100, replacement', ({ pm }) => cc.multinomial(pm, 100, { replacement: true }), 'torch.multinomial(pm, 100, True)'],
  ['multinomial [64,1000] x 100, no replacement', ({ pm }) => cc.multinomial(pm, 100), 'torch.multinomial(pm, 100)'],
  // To and from JavaScript's own values (PyTorch: Python's lists; a copy out as dataSync makes).
  ['tensor from nested arrays [1024][1024]', () => cc.tensor(nested), 'torch.tensor(l)'],
  ['arraySync [1024,1024] (tolist)', ({ s }) => { s.arraySync(); }, 'q.tolist()'],
  ['tidy(() => dataSync()) [64,256,28,28]', ({ a }) => { cc.tidy(() => a.dataSync()); }, 'a.numpy().copy()'],
  // A batch assembled from 64 samples, as a collate function does.
  ['stack 64 x [1,28,28]', () => cc.stack(samples), 'torch.stack(xs)'],
  ['stack 64 x [3,224,224]', () => cc.stack(images), 'torch.stack(ims)'],
];
// JavaScript's nested arrays and the samples for the cases above (made in main).
let nested: number[][] = [];
let samples: cc.Tensor[] = [];
let images: cc.Tensor[] = [];

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
torch.set_num_threads(${threads})
a, b, v, m, c = torch.randn(64, 256, 28, 28), torch.randn(64, 256, 28, 28), torch.randn(256, 1, 1), torch.randn(512, 4096), torch.randn(8, 64, 56, 56)
g, gy = torch.randn(64, 256, 28, 28, requires_grad=True), torch.ones(64, 256, 28, 28)
h, hy = torch.randn(512, 4096, requires_grad=True), torch.ones(512)
q = torch.randn(1024, 1024); l = q.tolist()
ix, ir = torch.randint(0, 4096, (512, 4096)), torch.randint(0, 512, (512,))
eq, ek, u, uc = torch.randn(8, 8, 128, 64), torch.randn(8, 8, 128, 64), torch.randn(16, 64, 32, 32), torch.randn(16, 576, 1024)
e, r = torch.randn(16, 64, 28, 28), torch.randn(32, 512, 7, 7)
q2 = torch.tensor([0.1, 0.9])
w = torch.rand(512, 4096) * 2 - 1
pw = torch.rand(512, 4096) * 10
pm = torch.rand(64, 1000)
gx, gg, gsy = torch.randn(16, 32, 64, 64, requires_grad=True), (torch.randn(16, 64, 64, 2) * 0.5).requires_grad_(), torch.ones(16, 32, 64, 64)
xs = [torch.randn(1, 28, 28) for _ in range(64)]
ims = [torch.randn(3, 224, 224) for _ in range(64)]
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    for _ in range(3): f()
    ts, t0 = [], time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - t0 < 0.4:
        s = time.perf_counter(); f(); ts.append((time.perf_counter() - s) * 1e3)
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__
print(json.dumps(out))
`;

void runSideBySide({
  title: 'tensor ops',
  unit: 'medians in ms',
  digits: 3,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => {
    const t = {
      a: cc.randn([64, 256, 28, 28]), b: cc.randn([64, 256, 28, 28]), v: cc.randn([256, 1, 1]), m: cc.randn([512, 4096]),
      c: cc.randn([8, 64, 56, 56]), g: cc.randn([64, 256, 28, 28]).requiresGrad_(), gy: cc.ones([64, 256, 28, 28]),
      h: cc.randn([512, 4096]).requiresGrad_(), hy: cc.ones([512]), s: cc.randn([1024, 1024]),
      ix: cc.cast(cc.rand([512, 4096], 0, 4096), 'int32'), ir: cc.cast(cc.rand([512], 0, 512), 'int32'),
      q: cc.randn([8, 8, 128, 64]), k: cc.randn([8, 8, 128, 64]), u: cc.randn([16, 64, 32, 32]), uc: cc.randn([16, 576, 1024]), e: cc.randn([16, 64, 28, 28]), r: cc.randn([32, 512, 7, 7]),
      w: cc.rand([512, 4096], -1, 1), pw: cc.rand([512, 4096], 0, 10), pm: cc.rand([64, 1000]),
      gx: cc.randn([16, 32, 64, 64]).requiresGrad_(), gg: cc.mul(cc.randn([16, 64, 64, 2]), 0.5).requiresGrad_(), gsy: cc.ones([16, 32, 64, 64]),
    };
    nested = t.s.arraySync() as number[][];
    samples = Array.from({ length: 64 }, () => cc.randn([1, 28, 28]));
    images = Array.from({ length: 64 }, () => cc.randn([3, 224, 224]));
    return t;
  },
  // Each call on its own: the op and syncBlocking(), the output freed by tidy.
  timeOurs: timeTidied,
  dispose: (t) => {
    for (const x of [...Object.values(t), ...samples, ...images]) x.dispose();
  },
});
