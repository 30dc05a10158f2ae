/**
 * 8-bit dynamic quantization (nn.quantizeDynamic) beside float32, and both beside PyTorch-CPU's
 * (`torch.ao.quantization.quantize_dynamic` with Linear and Conv2d mapped to their dynamic
 * quantized modules, per-channel weights), at the same thread count, inference only: LeNet-5 at
 * batch 1 and 1000, a 4096 -> 4096 fully connected layer (AlexNet's fc7) at batch 1 and 64, two
 * convolutions (AlexNet's conv2 on 27x27, a ResNet 3x3 on 14x14) at batch 8, and a CRNN's head
 * (a 2-layer bidirectional LSTM, 256 -> 128, over 32 steps of a batch of 16).
 *
 *   node dist/bench/quantized.js [--threads 2] [--only LeNet]   (after `npx tsc -p .`; ~1 min)
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

type Things = Record<string, cc.nn.Module | cc.Tensor>;
const run = (m: cc.nn.Module | cc.Tensor, x: cc.nn.Module | cc.Tensor): unknown => cc.noGrad(() => (m as cc.nn.Module).call(x as cc.Tensor));

const CASES: SideCase<Things>[] = [];
for (const [name, model, input] of [
  ['LeNet-5 b1', 'lenet', 'x1'], ['LeNet-5 b1000', 'lenet', 'x1000'], ['fc 4096->4096 b1', 'fc', 'f1'], ['fc 4096->4096 b64', 'fc', 'f64'],
  ['conv 64->192 5x5 27x27 b8', 'conv2', 'c2'], ['conv 256->256 3x3 14x14 b8', 'conv3', 'c3'],
  ['LSTM 256->128 x2 bidir T32 b16', 'lstm', 's32'],
]) {
  CASES.push([`${name} fp32`, (t) => run(t[model], t[input]), `run(${model}, ${input})`]);
  CASES.push([`${name} int8`, (t) => run(t[`q${model}`], t[input]), `run(q${model}, ${input})`]);
}

const LENET = (nn: string) => `${nn}.Sequential(${nn}.Conv2d(1, 6, 5, padding=2), ${nn}.ReLU(), ${nn}.MaxPool2d(2), ${nn}.Conv2d(6, 16, 5), ${nn}.ReLU(), ${nn}.MaxPool2d(2), ${nn}.Flatten(), ${nn}.Linear(400, 120), ${nn}.ReLU(), ${nn}.Linear(120, 84), ${nn}.ReLU(), ${nn}.Linear(84, 10))`;

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
import torch.ao.nn.quantized.dynamic as nnqd
from torch.ao.quantization import quantize_dynamic, per_channel_dynamic_qconfig
torch.set_num_threads(${threads})
torch.manual_seed(0)
nn = torch.nn
x1, x1000 = torch.randn(1, 1, 28, 28), torch.randn(1000, 1, 28, 28)
f1, f64 = torch.randn(1, 4096), torch.randn(64, 4096)
c2, c3 = torch.randn(8, 64, 27, 27), torch.randn(8, 256, 14, 14)
s32 = torch.randn(32, 16, 256)
lenet = ${LENET('nn')}.eval()
fc, conv2, conv3 = nn.Linear(4096, 4096), nn.Conv2d(64, 192, 5, padding=2), nn.Conv2d(256, 256, 3, padding=1)
lstm = nn.LSTM(256, 128, num_layers=2, bidirectional=True).eval()
def quantized(m):
    spec = {c: per_channel_dynamic_qconfig for c in (nn.Linear, nn.Conv2d, nn.LSTM)}
    return quantize_dynamic(nn.Sequential(m), spec, mapping={nn.Linear: nnqd.Linear, nn.Conv2d: nnqd.Conv2d, nn.LSTM: nnqd.LSTM})
qlenet, qfc, qconv2, qconv3, qlstm = quantized(lenet), quantized(fc), quantized(conv2), quantized(conv3), quantized(lstm)
def run(m, x):
    with torch.no_grad():
        y = m(x)
        return y[0] if isinstance(y, tuple) else y
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    for _ in range(3): f()
    ts, t0 = [], time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - t0 < 0.4:
        s_ = time.perf_counter(); f(); ts.append((time.perf_counter() - s_) * 1e3)
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__ + " (quantized engine " + torch.backends.quantized.engine + ")"
print(json.dumps(out))
`;

void runSideBySide<Things>({
  title: `8-bit dynamic quantization (our int8 kernel: ${cc.backends().cpu.int8Kernel})`,
  unit: 'medians in ms',
  digits: 3,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => {
    cc.manualSeed(0);
    const nn = cc.nn;
    const lenet = new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(400, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10)).eval();
    const fc = new nn.Linear(4096, 4096), conv2 = new nn.Conv2d(64, 192, 5, { padding: 2 }), conv3 = new nn.Conv2d(256, 256, 3, { padding: 1 });
    const lstm = new nn.LSTM(256, 128, { numLayers: 2, bidirectional: true }).eval();
    const quantized = (m: cc.nn.Module) => nn.quantizeDynamic(m instanceof nn.Sequential ? lenetCopy(m) : new nn.Sequential(copy(m)), { types: [nn.Linear, nn.Conv2d, nn.LSTM] });
    return {
      x1: cc.randn([1, 1, 28, 28]), x1000: cc.randn([1000, 1, 28, 28]), f1: cc.randn([1, 4096]), f64: cc.randn([64, 4096]),
      c2: cc.randn([8, 64, 27, 27]), c3: cc.randn([8, 256, 14, 14]), s32: cc.randn([32, 16, 256]),
      lenet, fc, conv2, conv3, lstm, qlenet: quantized(lenet), qfc: quantized(fc), qconv2: quantized(conv2), qconv3: quantized(conv3), qlstm: quantized(lstm),
    };
  },
  timeOurs: timeTidied,
  dispose: (t) => { for (const x of Object.values(t)) x.dispose(); },
});

/** A second layer with m's weights (quantizeDynamic works in place; the float one is timed too). */
function copy(m: cc.nn.Module): cc.nn.Module {
  const twin = new (m.constructor as new (...config: unknown[]) => cc.nn.Module)(...(m.config() ?? []));
  twin.loadStateDict(m.stateDict());
  return twin;
}

function lenetCopy(m: cc.nn.Module): cc.nn.Module {
  const twin = new cc.nn.Sequential(...m.children().map((c) => (c instanceof cc.nn.Linear || c instanceof cc.nn.Conv2d ? copy(c) : c)));
  return twin.eval();
}
