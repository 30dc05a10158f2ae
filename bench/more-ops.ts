/**
 * Ops that no other benchmark covers (elementwise maths, comparisons, layout and indexing,
 * counting, linear algebra, and F's smaller layers), beside PyTorch-CPU at the same thread count:
 * a survey for finding slow ones, not one of issue 6's groups.
 *
 *   node dist/bench/more-ops.js [--threads 2] [--only flip]   (after `npx tsc -p .`; ~2 min)
 *
 * Shapes: c, c2, c3 [8, 64, 56, 56] (ca = |c| + 0.01, cw in (-0.9, 0.9), cu in (0.01, 0.99)),
 * m [512, 4096] (ix int32 indices of its rows' length, ir 256 row indices), s [2048, 2048], and
 * what each case names. Each figure: the median time of the op on its own (tensor-ops.ts's way).
 * bench/JOURNAL.md, sessions 63 to 65, have the runs and what they led to.
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

const F = cc.F;

const CASES: SideCase<Record<string, cc.Tensor>>[] = [
  ['pow 2.5 [8,64,56,56]', ({ c }) => cc.pow(cc.abs(c), 2.5), 'c.abs().pow(2.5)'],
  ['minimum', ({ c, c2 }) => cc.minimum(c, c2), 'torch.minimum(c, c2)'],
  ['remainder', ({ c, c2 }) => cc.remainder(c, c2), 'torch.remainder(c, c2)'],
  ['atan2', ({ c, c2 }) => cc.atan2(c, c2), 'torch.atan2(c, c2)'],
  ['square', ({ c }) => cc.square(c), 'torch.square(c)'],
  ['reciprocal', ({ c }) => cc.reciprocal(c), 'torch.reciprocal(c)'],
  ['tan', ({ c }) => cc.tan(c), 'torch.tan(c)'],
  ['atan', ({ c }) => cc.atan(c), 'torch.atan(c)'],
  ['log1p of abs', ({ ca }) => cc.log1p(ca), 'torch.log1p(ca)'],
  ['log10 of abs', ({ ca }) => cc.log10(ca), 'torch.log10(ca)'],
  ['rsqrt of abs', ({ ca }) => cc.rsqrt(ca), 'torch.rsqrt(ca)'],
  ['trunc', ({ c }) => cc.trunc(c), 'torch.trunc(c)'],
  ['acos', ({ cw }) => cc.acos(cw), 'torch.acos(cw)'],
  ['cosh', ({ c }) => cc.cosh(c), 'torch.cosh(c)'],
  ['asinh', ({ c }) => cc.asinh(c), 'torch.asinh(c)'],
  ['atanh', ({ cw }) => cc.atanh(cw), 'torch.atanh(cw)'],
  ['exp2', ({ c }) => cc.exp2(c), 'torch.exp2(c)'],
  ['argmin rows [512,4096]', ({ m }) => cc.argmin(m, 1), 'm.argmin(1)'],
  ['eq', ({ c, c2 }) => cc.eq(c, c2), 'torch.eq(c, c2)'],
  ['lt', ({ c, c2 }) => cc.lt(c, c2), 'torch.lt(c, c2)'],
  ['indexSelect dim0 [512,4096] 256', ({ m, ir }) => cc.indexSelect(m, 0, ir as cc.Tensor<'int32'>), 'm.index_select(0, ir)'],
  ['flip dim 3', ({ c }) => cc.flip(c, [3]), 'torch.flip(c, [3])'],
  ['repeat [512,4096] x(2,1)', ({ m }) => cc.repeat(m, [2, 1]), 'm.repeat(2, 1)'],
  ['isnan', ({ c }) => cc.isnan(c), 'torch.isnan(c)'],
  ['any', ({ c }) => cc.any(cc.gt(c, 10)), 'torch.any(c > 10)'],
  ['nonzero of c>1', ({ c }) => cc.nonzero(cc.gt(c, 1)), 'torch.nonzero(c > 1)'],
  ['maskedSelect c>1', ({ c, mk }) => cc.maskedSelect(c, mk), 'torch.masked_select(c, mk)'],
  ['roll dim 3 by 5', ({ c }) => cc.roll(c, 5, 3), 'torch.roll(c, 5, 3)'],
  ['tril [2048,2048]', ({ s }) => cc.tril(s), 'torch.tril(s)'],
  ['bmm [64,128,64]x[64,64,128]', ({ b1, b2 }) => cc.bmm(b1, b2), 'torch.bmm(b1, b2)'],
  ['outer 2048', ({ v1, v2 }) => cc.outer(v1, v2), 'torch.outer(v1, v2)'],
  ['logaddexp', ({ c, c2 }) => cc.logaddexp(c, c2), 'torch.logaddexp(c, c2)'],
  ['logit of (0,1)', ({ cu }) => cc.logit(cu), 'torch.logit(cu)'],
  ['xlogy', ({ ca, c2 }) => cc.xlogy(c2, ca), 'torch.xlogy(c2, ca)'],
  ['hypot', ({ c, c2 }) => cc.hypot(c, c2), 'torch.hypot(c, c2)'],
  ['lerp 0.3', ({ c, c2 }) => cc.lerp(c, c2, 0.3), 'torch.lerp(c, c2, 0.3)'],
  ['addcmul', ({ c, c2, c3 }) => cc.addcmul(c, c2, c3, { value: 0.5 }), 'torch.addcmul(c, c2, c3, value=0.5)'],
  ['addcdiv', ({ c, c2, ca }) => cc.addcdiv(c, c2, ca, { value: 0.5 }), 'torch.addcdiv(c, c2, ca, value=0.5)'],
  ['frac', ({ c }) => cc.frac(c), 'torch.frac(c)'],
  ['sinc', ({ c }) => cc.sinc(c), 'torch.sinc(c)'],
  ['copysign', ({ c, c2 }) => cc.copysign(c, c2), 'torch.copysign(c, c2)'],
  ['nanToNum', ({ c }) => cc.nanToNum(c), 'torch.nan_to_num(c)'],
  ['nansum rows [512,4096]', ({ m }) => cc.nansum(m, 1), 'torch.nansum(m, 1)'],
  ['amin rows', ({ m }) => cc.amin(m, 1), 'torch.amin(m, 1)'],
  ['aminmax', ({ m }) => cc.aminmax(m), 'torch.aminmax(m)'],
  ['aminmax dim 0', ({ m }) => cc.aminmax(m, { dim: 0 }), 'torch.aminmax(m, dim=0)'],
  ['mean fwd+bwd [8,64,56,56]', ({ c }) => { const v = c.clone().requiresGrad_(); cc.mean(v).backward(); return v.grad!; }, 'c.clone().requires_grad_().mean().backward()'],
  ['expand [2048,1] to [2048,2048]', ({ v1 }) => cc.expand(v1.reshape([2048, 1]), [2048, 2048]), 'v1.reshape(2048, 1).expand(2048, 2048).contiguous()'],
  ['rot90', ({ c }) => cc.rot90(c, 1, [2, 3]), 'torch.rot90(c, 1, [2, 3])'],
  ['diff dim 3', ({ c }) => cc.diff(c, { dim: 3 }), 'torch.diff(c, dim=3)'],
  ['takeAlongDim', ({ m, ix }) => cc.takeAlongDim(m, ix as cc.Tensor<'int32'>, 1), 'torch.take_along_dim(m, ix, 1)'],
  ['tensordot', ({ b1, b2 }) => cc.tensordot(b1, b2, [[2], [1]]), 'torch.tensordot(b1, b2, dims=([2], [1]))'],
  ['cross [2^20,3]', ({ x3, y3 }) => cc.cross(x3, y3, 1), 'torch.cross(x3, y3, dim=1)'],
  ['cov [64,4096]', ({ cv }) => cc.cov(cv), 'torch.cov(cv)'],
  ['logcumsumexp rows', ({ m }) => cc.logcumsumexp(m, 1), 'torch.logcumsumexp(m, 1)'],
  ['kthvalue rows k=100', ({ m }) => cc.kthvalue(m, 100, 1), 'torch.kthvalue(m, 100, 1)'],
  ['mode rows of int-ish', ({ mi }) => cc.mode(mi, 1), 'torch.mode(mi, 1)'],
  ['unique of 1M ints', ({ ui }) => cc.unique(ui), 'torch.unique(ui)'],
  ['sort of 1M ints', ({ ui }) => cc.sort(ui), 'torch.sort(ui)'],
  ['sort rows [512,4096]', ({ m }) => cc.sort(m, { dim: 1 }), 'torch.sort(m, 1)'],
  ['bincount 1M', ({ bi }) => cc.bincount(bi as cc.Tensor<'int32'>), 'torch.bincount(bi)'],
  ['histc 100 bins', ({ m }) => cc.histc(m, { bins: 100, min: -3, max: 3 }), 'torch.histc(m, 100, -3, 3)'],
  ['scatter dim1', ({ m, ix }) => cc.scatter(m, 1, ix as cc.Tensor<'int32'>, m), 'm.scatter(1, ix, m)'],
  ['indexFill', ({ m, ir }) => cc.indexFill(m, 0, ir as cc.Tensor<'int32'>, 1), 'm.index_fill(0, ir, 1)'],
  ['unbind 512', ({ m }) => cc.unbind(m, 0), 'm.unbind(0)'],
  ['logicalAnd', ({ mk, mk2 }) => cc.logicalAnd(mk, mk2), 'torch.logical_and(mk, mk2)'],
  ['searchsorted 1M in 4096', ({ srt, q1 }) => cc.searchsorted(srt, q1), 'torch.searchsorted(srt, q1)'],
  ['inverse [64,64,64]', ({ im }) => cc.inverse(im), 'torch.inverse(im)'],
  ['det [64,64,64]', ({ im }) => cc.det(im), 'torch.det(im)'],
  ['cholesky [64,64,64]', ({ spd }) => cc.cholesky(spd), 'torch.linalg.cholesky(spd)'],
  ['slogdet [64,64,64]', ({ im }) => cc.linalg.slogdet(im).logabsdet, 'torch.linalg.slogdet(im)'],
  ['solve [64,64,64] x8', ({ im, rk }) => cc.linalg.solve(im, rk), 'torch.linalg.solve(im, rk)'],
  ['F.leakyRelu', ({ c }) => F.leakyRelu(c, 0.1), 'torch.nn.functional.leaky_relu(c, 0.1)'],
  ['F.relu6', ({ c }) => F.relu6(c), 'torch.nn.functional.relu6(c)'],
  ['F.hardsigmoid', ({ c }) => F.hardsigmoid(c), 'torch.nn.functional.hardsigmoid(c)'],
  ['F.conv1d [32,64,1024] k5 128', ({ x1, w1 }) => F.conv1d(x1, w1, null, { padding: 2 }), 'torch.nn.functional.conv1d(x1, w1, None, padding=2)'],
  ['F.adaptiveMaxPool2d 7', ({ c }) => F.adaptiveMaxPool2d(c, 7), 'torch.nn.functional.adaptive_max_pool2d(c, 7)'],
  ['F.maxPool1d 3/2', ({ x1 }) => F.maxPool1d(x1, 3, { stride: 2 }), 'torch.nn.functional.max_pool1d(x1, 3, 2)'],
  ['F.maxPool1d 3/2 indices', ({ x1 }) => F.maxPool1d(x1, 3, { stride: 2, returnIndices: true })[1], 'torch.nn.functional.max_pool1d(x1, 3, 2, return_indices=True)'],
  ['F.avgPool1d 3/2', ({ x1 }) => F.avgPool1d(x1, 3, { stride: 2 }), 'torch.nn.functional.avg_pool1d(x1, 3, 2)'],
  ['F.embedding 64x512 of 30000x256', ({ ew, ei }) => F.embedding(ei as cc.Tensor<'int32'>, ew), 'torch.nn.functional.embedding(ei, ew)'],
  ['F.embeddingBag sum 64 bags of 512', ({ ew, bgi, bgo }) => F.embeddingBag(bgi as cc.Tensor<'int32'>, ew, bgo as cc.Tensor<'int32'>, { mode: 'sum' }), 'torch.nn.functional.embedding_bag(bgi, ew, bgo, mode="sum")'],
  ['F.embeddingBag max 64 bags of 512', ({ ew, bgi, bgo }) => F.embeddingBag(bgi as cc.Tensor<'int32'>, ew, bgo as cc.Tensor<'int32'>, { mode: 'max' }), 'torch.nn.functional.embedding_bag(bgi, ew, bgo, mode="max")'],
  ['F.embeddingBag mean fwd+bwd', ({ ew, bgi, bgo }) => { const w = ew.clone().requiresGrad_(); F.embeddingBag(bgi as cc.Tensor<'int32'>, w, bgo as cc.Tensor<'int32'>).sum().backward(); return w.grad!; },
    'torch.nn.functional.embedding_bag(bgi, ew.clone().requires_grad_(), bgo).sum().backward()'],
  ['F.dropout2d', ({ c }) => F.dropout2d(c, 0.3), 'torch.nn.functional.dropout2d(c, 0.3, True)'],
  ['F.pixelShuffle 2', ({ c }) => F.pixelShuffle(c, 2), 'torch.nn.functional.pixel_shuffle(c, 2)'],
  ['F.pixelUnshuffle 2', ({ c }) => F.pixelUnshuffle(c, 2), 'torch.nn.functional.pixel_unshuffle(c, 2)'],
  ['F.channelShuffle 4', ({ c }) => F.channelShuffle(c, 4), 'torch.nn.functional.channel_shuffle(c, 4)'],
  ['F.affineGrid [16,2,3] 64x64', ({ th }) => F.affineGrid(th, [16, 32, 64, 64], false), 'torch.nn.functional.affine_grid(th, [16, 32, 64, 64], align_corners=False)'],
  ['F.pairwiseDistance [4096,512]', ({ pa, pb }) => F.pairwiseDistance(pa, pb), 'torch.nn.functional.pairwise_distance(pa, pb)'],
  ['F.l1Loss fwd', ({ c, c2 }) => F.l1Loss(c, c2), 'torch.nn.functional.l1_loss(c, c2)'],
  ['F.nllLoss [256,1000]', ({ lp, lt }) => F.nllLoss(lp, lt as cc.Tensor<'int32'>), 'torch.nn.functional.nll_loss(lp, lt)'],
  ['F.interpolate nearest x2', ({ c }) => F.interpolate(c, { scaleFactor: 2, mode: 'nearest' }), 'torch.nn.functional.interpolate(c, scale_factor=2, mode="nearest")'],
  ['F.interpolate bicubic x2', ({ c }) => F.interpolate(c, { scaleFactor: 2, mode: 'bicubic' }), 'torch.nn.functional.interpolate(c, scale_factor=2, mode="bicubic")'],
  ['F.interpolate bilinear /2 antialias', ({ c }) => F.interpolate(c, { size: [28, 28], mode: 'bilinear', antialias: true }), 'torch.nn.functional.interpolate(c, size=(28, 28), mode="bilinear", antialias=True)'],
  ['F.interpolate area 56->24', ({ c }) => F.interpolate(c, { size: [24, 24], mode: 'area' }), 'torch.nn.functional.interpolate(c, size=(24, 24), mode="area")'],
  ['F.interpolate nearest-exact x1.5', ({ c }) => F.interpolate(c, { scaleFactor: 1.5, mode: 'nearest-exact' }), 'torch.nn.functional.interpolate(c, scale_factor=1.5, mode="nearest-exact")'],
  ['F.pad reflect 2', ({ c }) => F.pad(c, [2, 2, 2, 2], 'reflect'), 'torch.nn.functional.pad(c, [2, 2, 2, 2], "reflect")'],
  ['F.conv3d C3D [2,64,8,28,28] 3x3x3 128', ({ v3, w3 }) => F.conv3d(v3, w3, null, { padding: 1 }), 'torch.nn.functional.conv3d(v3, w3, None, padding=1)'],
  ['F.conv3d fwd+bwd', ({ v3, w3 }) => { const x = v3.clone().requiresGrad_(), w = w3.clone().requiresGrad_(); F.conv3d(x, w, null, { padding: 1 }).sum().backward(); return w.grad!; },
    'torch.nn.functional.conv3d(v3.clone().requires_grad_(), w3.clone().requires_grad_(), None, padding=1).sum().backward()'],
  ['F.convTranspose3d 2x2x2/2 64->32', ({ v3, wt3 }) => F.convTranspose3d(v3, wt3, null, { stride: 2 }), 'torch.nn.functional.conv_transpose3d(v3, wt3, None, stride=2)'],
  ['F.maxPool3d 2x2x2', ({ v3 }) => F.maxPool3d(v3, 2), 'torch.nn.functional.max_pool3d(v3, 2)'],
  ['F.maxPool3d 2x2x2 fwd+bwd', ({ v3 }) => { const x = v3.clone().requiresGrad_(); F.maxPool3d(x, 2).sum().backward(); return x.grad!; }, 'torch.nn.functional.max_pool3d(v3.clone().requires_grad_(), 2).sum().backward()'],
  ['F.avgPool3d 3x3x3/2 pad 1', ({ v3 }) => F.avgPool3d(v3, 3, { stride: 2, padding: 1 }), 'torch.nn.functional.avg_pool3d(v3, 3, 2, 1)'],
  ['F.adaptiveAvgPool3d [1,7,7]', ({ v3 }) => F.adaptiveAvgPool3d(v3, [1, 7, 7]), 'torch.nn.functional.adaptive_avg_pool3d(v3, (1, 7, 7))'],
  ['F.ctcLoss fwd+bwd [50,16,20], S 10', ({ ctcx, ctct }) => { const x = ctcx.clone().requiresGrad_(); F.ctcLoss(F.logSoftmax(x, 2), ctct as cc.Tensor<'int32'>, new Array(16).fill(50), new Array(16).fill(10)).backward(); return x.grad!; },
    'torch.nn.functional.ctc_loss(ctcx.clone().requires_grad_().log_softmax(2), ctct, [50] * 16, [10] * 16).backward()'],
  ['F.ctcLoss fwd+bwd [200,16,40], S 80', ({ ctcx2, ctct2 }) => { const x = ctcx2.clone().requiresGrad_(); F.ctcLoss(F.logSoftmax(x, 2), ctct2 as cc.Tensor<'int32'>, new Array(16).fill(200), new Array(16).fill(80)).backward(); return x.grad!; },
    'torch.nn.functional.ctc_loss(ctcx2.clone().requires_grad_().log_softmax(2), ctct2, [200] * 16, [80] * 16).backward()'],
  ['F.oneHot 1M of 10', ({ oh }) => cc.oneHot(oh as cc.Tensor<'int32'>, 10), 'torch.nn.functional.one_hot(oh, 10)'],
];

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
torch.set_num_threads(${threads})
torch.manual_seed(0)
c, c2, c3 = torch.randn(8, 64, 56, 56), torch.randn(8, 64, 56, 56), torch.randn(8, 64, 56, 56)
ca = c.abs() + 0.01; cw = torch.rand(8, 64, 56, 56) * 1.8 - 0.9; cu = torch.rand(8, 64, 56, 56) * 0.98 + 0.01
m = torch.randn(512, 4096); ir = torch.randint(0, 512, (256,)); ix = torch.randint(0, 4096, (512, 4096))
mk, mk2 = c > 1, c2 > 0
s = torch.randn(2048, 2048)
b1, b2 = torch.randn(64, 128, 64), torch.randn(64, 64, 128)
v1, v2 = torch.randn(2048), torch.randn(2048)
x3, y3 = torch.randn(1 << 20, 3), torch.randn(1 << 20, 3)
cv = torch.randn(64, 4096)
mi = torch.randint(0, 50, (512, 4096)).float()
ui = torch.randint(0, 100000, (1 << 20,)); bi = torch.randint(0, 1000, (1 << 20,))
srt = torch.sort(torch.randn(4096)).values; q1 = torch.randn(1 << 20)
im = torch.randn(64, 64, 64) + 8 * torch.eye(64); spd = im @ im.transpose(1, 2) + torch.eye(64); rk = torch.randn(64, 64, 8)
x1, w1 = torch.randn(32, 64, 1024), torch.randn(128, 64, 5)
ew, ei = torch.randn(30000, 256), torch.randint(0, 30000, (64, 512))
bgi, bgo = torch.randint(0, 30000, (64 * 512,)), torch.arange(0, 64 * 512, 512)
th = torch.randn(16, 2, 3)
pa, pb = torch.randn(4096, 512), torch.randn(4096, 512)
lp, lt = torch.randn(256, 1000).log_softmax(1), torch.randint(0, 1000, (256,))
oh = torch.randint(0, 10, (1 << 20,))
v3, w3, wt3 = torch.randn(2, 64, 8, 28, 28), torch.randn(128, 64, 3, 3, 3) * 0.05, torch.randn(64, 32, 2, 2, 2) * 0.1
ctcx, ctct = torch.randn(50, 16, 20), torch.randint(1, 20, (16, 10))
ctcx2, ctct2 = torch.randn(200, 16, 40), torch.randint(1, 40, (16, 80))
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    for _ in range(3): f()
    ts, t0 = [], time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - t0 < 0.3:
        s_ = time.perf_counter(); f(); ts.append((time.perf_counter() - s_) * 1e3)
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__
print(json.dumps(out))
`;

const makeTensors = (): Record<string, cc.Tensor> => {
    const c = cc.randn([8, 64, 56, 56]), c2 = cc.randn([8, 64, 56, 56]);
    const im = cc.add(cc.randn([64, 64, 64]), cc.mul(cc.eye(64), 8));
    return {
      c, c2, c3: cc.randn([8, 64, 56, 56]), ca: cc.add(cc.abs(c), 0.01), cw: cc.rand([8, 64, 56, 56], -0.9, 0.9), cu: cc.rand([8, 64, 56, 56], 0.01, 0.99),
      m: cc.randn([512, 4096]), ir: cc.randint(0, 512, [256]), ix: cc.randint(0, 4096, [512, 4096]),
      mk: cc.gt(c, 1), mk2: cc.gt(c2, 0), s: cc.randn([2048, 2048]), b1: cc.randn([64, 128, 64]), b2: cc.randn([64, 64, 128]),
      v1: cc.randn([2048]), v2: cc.randn([2048]), x3: cc.randn([1 << 20, 3]), y3: cc.randn([1 << 20, 3]), cv: cc.randn([64, 4096]),
      mi: cc.cast(cc.randint(0, 50, [512, 4096]), 'float32'), ui: cc.randint(0, 100000, [1 << 20]), bi: cc.randint(0, 1000, [1 << 20]),
      srt: cc.sort(cc.randn([4096])).values, q1: cc.randn([1 << 20]), im, spd: cc.add(cc.matmul(im, cc.transpose(im, 1, 2)), cc.eye(64)), rk: cc.randn([64, 64, 8]),
      x1: cc.randn([32, 64, 1024]), w1: cc.randn([128, 64, 5]), ew: cc.randn([30000, 256]), ei: cc.randint(0, 30000, [64, 512]),
      bgi: cc.randint(0, 30000, [64 * 512]), bgo: cc.tensor(Int32Array.from({ length: 64 }, (_, b) => b * 512), { dtype: 'int32' }),
      th: cc.randn([16, 2, 3]), pa: cc.randn([4096, 512]), pb: cc.randn([4096, 512]), lp: F.logSoftmax(cc.randn([256, 1000]), 1), lt: cc.randint(0, 1000, [256]),
      oh: cc.randint(0, 10, [1 << 20]),
      ctcx: cc.randn([50, 16, 20]), ctct: cc.randint(1, 20, [16, 10]), ctcx2: cc.randn([200, 16, 40]), ctct2: cc.randint(1, 40, [16, 80]),
      v3: cc.randn([2, 64, 8, 28, 28]), w3: cc.mul(cc.randn([128, 64, 3, 3, 3]), 0.05), wt3: cc.mul(cc.randn([64, 32, 2, 2, 2]), 0.1),
    };
};

void runSideBySide({
  title: 'more ops',
  unit: 'medians in ms',
  digits: 3,
  cases: CASES,
  torchScript: TORCH,
  tensors: makeTensors,
  timeOurs: timeTidied,
  dispose: (t) => { for (const x of Object.values(t)) x.dispose(); },
});
