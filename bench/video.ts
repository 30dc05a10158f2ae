/**
 * The video ResNets (models.r3d_18, mc3_18, r2plus1d_18) serving one clip beside torchvision's
 * own (torchvision.models.video) on PyTorch-CPU, at the same thread count: eval mode, no
 * gradients, batch 1, 8 frames of 112x112 (Kinetics' clips are 16; half keeps a run short);
 * r2plus1d_18 again with batch norm folded into the convolutions on both sides (ours
 * `nn.utils.fuseConvBn`, PyTorch's `torch.fx.experimental.optimization.fuse`).
 *
 *   node dist/bench/video.js [--threads 2] [--only r3d]   (after `npx tsc -p .`; ~1 min)
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

type Nets = Record<string, cc.nn.Module | cc.Tensor>;
const run = (net: cc.nn.Module | cc.Tensor, clip: cc.Tensor): unknown => cc.noGrad(() => (net as cc.nn.Module).call(clip));

const CASES: SideCase<Nets>[] = [
  ['r3d_18 [1,3,8,112,112]', (t) => run(t.r3d, t.clip as cc.Tensor), 'r3d(clip)'],
  ['mc3_18', (t) => run(t.mc3, t.clip as cc.Tensor), 'mc3(clip)'],
  ['r2plus1d_18', (t) => run(t.r21d, t.clip as cc.Tensor), 'r21d(clip)'],
  ['r2plus1d_18 fused', (t) => run(t.r21dFused, t.clip as cc.Tensor), 'r21d_fused(clip)'],
];

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch, torchvision
from torch.fx.experimental.optimization import fuse
torch.set_num_threads(${threads})
torch.manual_seed(0)
v = torchvision.models.video
clip = torch.randn(1, 3, 8, 112, 112)
needed = ${JSON.stringify(cases.map(([, , e]) => e))}
r3d = v.r3d_18().eval() if "r3d(clip)" in needed else None
mc3 = v.mc3_18().eval() if "mc3(clip)" in needed else None
r21d = v.r2plus1d_18().eval() if "r21d(clip)" in needed else None
r21d_fused = fuse(v.r2plus1d_18().eval()) if "r21d_fused(clip)" in needed else None
out = {}
with torch.no_grad():
    for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
        f = eval("lambda: " + expr)
        for _ in range(3): f()
        ts, t0 = [], time.perf_counter()
        while len(ts) < 10 or time.perf_counter() - t0 < 0.4:
            s_ = time.perf_counter(); f(); ts.append((time.perf_counter() - s_) * 1e3)
        ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__ + ", torchvision " + torchvision.__version__
print(json.dumps(out))
`;

void runSideBySide<Nets>({
  title: 'video ResNets, one clip',
  unit: 'medians in ms',
  digits: 1,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => {
    cc.manualSeed(0);
    const fused = cc.models.r2plus1d_18().eval();
    cc.nn.utils.fuseConvBn(fused);
    return {
      clip: cc.randn([1, 3, 8, 112, 112]),
      r3d: cc.models.r3d_18().eval(), mc3: cc.models.mc3_18().eval(), r21d: cc.models.r2plus1d_18().eval(), r21dFused: fused,
    };
  },
  timeOurs: timeTidied,
  dispose: (t) => { for (const x of Object.values(t)) x.dispose(); },
});
