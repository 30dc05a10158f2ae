/**
 * The layers beside PyTorch-CPU, forward and backward, with the same thread count
 * (torch.set_num_threads): `npm run bench -- layers`. Our time covers the op and waiting for it
 * to finish (syncBlocking, not copying its result out); PyTorch's, the op. Backward is
 * PyTorch's autograd backward of the op alone (retain_graph).
 */
import * as cc from '../lib';
import {
  batchNormBackward, batchNormWithStats, dropoutBackward, dropoutWithMask, localResponseNormBackward, preluBackward, softmaxBackward,
  maxoutBackward,
} from '../lib/nn/functional/layers';
import { activationBackward, gluBackward } from '../lib/nn/functional/activation';
import type { Activation } from '../lib/native';
import { measureBandwidth, pythonTimer, time, wanted, type BenchOptions, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';

interface Case { name: string; shape: number[]; torch: string; fwd: (x: cc.Tensor) => () => cc.Tensor; bwd: (x: cc.Tensor, dy: cc.Tensor) => () => cc.Tensor }

const cases: Case[] = [];
for (const shape of [[64, 16, 10, 10], [8, 96, 55, 55]]) {
  const C = shape[1];
  const w = cc.ones([C]), b = cc.zeros([C]), rm = cc.zeros([C]), rv = cc.ones([C]);
  cases.push({
    name: 'batchNorm2d', shape, torch: `F.batch_norm(x, torch.zeros(${C}), torch.ones(${C}), w${C}, b${C}, True)`,
    fwd: (x) => () => cc.F.batchNorm(x, rm, rv, w, b),
    bwd: (x, dy) => { const s = batchNormWithStats(x, rm, rv, w, b); return () => batchNormBackward(dy, x, w, s.mean, s.invstd, true).dx; },
  });
}
cases.push({
  name: 'LRN 5', shape: [8, 96, 55, 55], torch: 'F.local_response_norm(x, 5)',
  fwd: (x) => () => cc.F.localResponseNorm(x, 5), bwd: (x, dy) => () => localResponseNormBackward(dy, x, 5),
});
for (const shape of [[64, 10], [256, 1000]]) {
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    cases.push({
      name, shape, torch: `F.${log ? 'log_softmax' : 'softmax'}(x, 1)`,
      fwd: (x) => () => (log ? cc.F.logSoftmax(x, 1) : cc.F.softmax(x, 1)),
      bwd: (x, dy) => { const y = log ? cc.F.logSoftmax(x, 1) : cc.F.softmax(x, 1); return () => softmaxBackward(name, dy, y, 1); },
    });
  }
}
cases.push({
  name: 'softmin', shape: [256, 1000], torch: 'F.softmin(x, 1)',
  fwd: (x) => () => cc.F.softmin(x, 1),
  bwd: (x, dy) => { const y = cc.F.softmin(x, 1); return () => softmaxBackward('softmin', dy, y, 1); },
});
// The activations (survey section 3.3). Backward: the kernel the autograd tape calls, from the
// forward's x and y, beside PyTorch's autograd backward of the op.
for (const shape of [[64, 16, 10, 10], [8, 96, 55, 55]]) {
  const pointwise: [string, 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh', number, string][] = [
    ['ReLU', 'relu', 0, 'F.relu(x)'],
    ['LeakyReLU .01', 'leakyRelu', 0.01, 'F.leaky_relu(x, 0.01)'],
    ['ELU', 'elu', 1, 'F.elu(x)'],
    ['sigmoid', 'sigmoid', 0, 'torch.sigmoid(x)'],
    ['tanh', 'tanh', 0, 'torch.tanh(x)'],
  ];
  for (const [name, kind, param, torch] of pointwise) {
    const fwd = (x: cc.Tensor) => (kind === 'leakyRelu' || kind === 'elu' ? cc.F[kind](x, param) : cc.F[kind](x));
    cases.push({
      name, shape, torch,
      fwd: (x) => () => fwd(x),
      bwd: (x, dy) => { const y = fwd(x); return () => activationBackward(kind, dy, x, y, param); },
    });
  }
  const C = shape[1];
  cases.push({
    name: 'maxout 2', shape, torch: `x.unflatten(1, (${C / 2}, 2)).max(2)[0]`,
    fwd: (x) => () => cc.F.maxout(x, 2), bwd: (x, dy) => () => maxoutBackward(dy, x, 2),
  });
}
// Beyond the survey: the activations of newer CNNs (ConvNeXt's GELU, MobileNetV3's hard swish,
// EfficientNet's SiLU, YOLOv4's Mish) and the rest of torch.nn's, one native pass each way on the
// CPU. Backward: the kernel the tape calls, from x.
for (const [name, kind, torch, fwd, param, param2] of [
  ['GELU', 'gelu', 'F.gelu(x)', (x) => cc.F.gelu(x)],
  ['GELU tanh', 'geluTanh', "F.gelu(x, approximate='tanh')", (x) => cc.F.gelu(x, { approximate: 'tanh' })],
  ['hardswish', 'hardswish', 'F.hardswish(x)', (x) => cc.F.hardswish(x)],
  ['SiLU', 'silu', 'F.silu(x)', (x) => cc.F.silu(x)],
  ['Mish', 'mish', 'F.mish(x)', (x) => cc.F.mish(x)],
  ['softplus', 'softplus', 'F.softplus(x)', (x) => cc.F.softplus(x), 1, 20],
  ['logSigmoid', 'logSigmoid', 'F.logsigmoid(x)', (x) => cc.F.logSigmoid(x)],
  ['SELU', 'selu', 'F.selu(x)', (x) => cc.F.selu(x)],
  ['CELU .5', 'celu', 'F.celu(x, 0.5)', (x) => cc.F.celu(x, 0.5), 0.5],
  ['softsign', 'softsign', 'F.softsign(x)', (x) => cc.F.softsign(x)],
  ['tanhshrink', 'tanhshrink', 'F.tanhshrink(x)', (x) => cc.F.tanhshrink(x)],
  ['softshrink .5', 'softshrink', 'F.softshrink(x, 0.5)', (x) => cc.F.softshrink(x, 0.5), 0.5],
  ['hardshrink .5', 'hardshrink', 'F.hardshrink(x, 0.5)', (x) => cc.F.hardshrink(x, 0.5), 0.5],
  ['threshold .1', 'threshold', 'F.threshold(x, 0.1, 20.0)', (x) => cc.F.threshold(x, 0.1, 20), 0.1, 20],
  ['hardtanh', 'hardtanh', 'F.hardtanh(x)', (x) => cc.F.hardtanh(x), -1, 1],
] as [string, keyof typeof Activation, string, (x: cc.Tensor) => cc.Tensor, number?, number?][]) {
  cases.push({
    name, shape: [8, 96, 55, 55], torch,
    fwd: (x) => () => fwd(x), bwd: (x, dy) => () => activationBackward(kind, dy, x, x, param, param2),
  });
}
/** A backward through the tape: f's graph made once and kept, as PyTorch's side (retain_graph). */
const tapeBackward = (f: (x: cc.Tensor) => cc.Tensor) => (x: cc.Tensor, dy: cc.Tensor) => {
  const xg = x.detach().requiresGrad_(), y = f(xg);
  return () => {
    y.backward(dy, { retainGraph: true });
    const dx = xg.grad as cc.Tensor;
    xg.grad = null;
    return dx;
  };
};
// The survey's stochastic activations in training: the randomized leaky ReLU (a slope drawn per
// element, uniform on [1/8, 1/3]) and probout (Springenberg and Riedmiller: one of each pair of
// channels drawn with probability softmax(z); PyTorch has none, so its side is the draw in
// tensor ops, as a user would write it).
const rreluTrain = (x: cc.Tensor) => cc.F.rrelu(x, 1 / 8, 1 / 3, true);
cases.push({
  name: 'RReLU train', shape: [8, 96, 55, 55], torch: 'F.rrelu(x, 0.125, 1 / 3, True)',
  fwd: (x) => () => rreluTrain(x), bwd: tapeBackward(rreluTrain),
});
const proboutTrain = (x: cc.Tensor) => cc.F.probout(x, 2, { training: true });
cases.push({
  name: 'probout 2 train', shape: [8, 96, 55, 55],
  torch: '(lambda z: z.gather(2, (torch.softmax(z, 2).cumsum(2) < torch.rand(z[:, :, :1].shape)).sum(2, keepdim=True).clamp(max=1)).squeeze(2))(x.unflatten(1, (48, 2)))',
  fwd: (x) => () => proboutTrain(x), bwd: tapeBackward(proboutTrain),
});
// The gated linear unit, halving 192 channels.
cases.push({
  name: 'GLU', shape: [8, 192, 55, 55], torch: 'F.glu(x, 1)',
  fwd: (x) => () => cc.F.glu(x, 1), bwd: (x, dy) => () => gluBackward(dy, x, 1),
});
{
  const w = cc.full([96], 0.25);
  cases.push({
    name: 'PReLU', shape: [8, 96, 55, 55], torch: 'F.prelu(x, w96p)',
    fwd: (x) => () => cc.F.prelu(x, w), bwd: (x, dy) => () => preluBackward(dy, x, w).dx,
  });
}
cases.push({
  name: 'dropout .5', shape: [64, 4096], torch: 'F.dropout(x, 0.5, True)',
  fwd: (x) => () => cc.F.dropout(x, 0.5), bwd: (x, dy) => { const { mask } = dropoutWithMask(x, 0.5); return () => dropoutBackward(dy, mask, 0.5); },
});

const torchScript = (threads: number, quick: boolean, some: Case[]) => `
import json, time, torch, torch.nn.functional as F
torch.set_num_threads(${threads})
${pythonTimer(quick, 0.3)}
out = []
for shape, expr in ${JSON.stringify(some.map((c) => [c.shape, c.torch]))}:
    x = torch.randn(*shape).requires_grad_()
    C = shape[1]
    globals()[f"w{C}"] = torch.ones(C, requires_grad=True); globals()[f"b{C}"] = torch.zeros(C, requires_grad=True)
    globals()[f"w{C}p"] = torch.full((C,), 0.25, requires_grad=True)
    env = dict(globals(), x=x)
    with torch.no_grad():
        fwd = timed(lambda: eval(expr, env))
    y = eval(expr, env); dy = torch.randn_like(y)
    bwd = timed(lambda: torch.autograd.grad(y, [x], dy, retain_graph=True))
    out.append([fwd, bwd])
print(json.dumps(out))
`;

export async function benchLayers(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const repeats = opts.quick ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : { warmup: 3, minRepeats: 5, minTotalMs: 300 };
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    const bandwidth = await measureBandwidth(cc);
    notes.push(`${threads} thread(s): memory bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (a 256 MiB copy); %bw: the least traffic of the op (inputs read and outputs written once) over its time, as a fraction of that`);
    // --only: a case runs when its forward or backward row is wanted (both rows are shown).
    const rowName = (c: Case, direction: 'fwd' | 'bwd') => `${c.name} ${direction} ${JSON.stringify(c.shape)}`;
    for (const c of cases.filter((k) => wanted(opts, rowName(k, 'fwd')) || wanted(opts, rowName(k, 'bwd')))) {
      // PyTorch case by case, each right before ours, so that a slow spell on this shared machine
      // falls on both sides of a case (one script for the whole group, run first, once left
      // PyTorch 15-55% faster than in other runs on the memory-bound activations).
      const theirs = (await torchCase<Timing[][]>({ code: torchScript(threads, opts.quick, [c]) }, threads, notes))?.[0];
      const x = cc.randn(c.shape), f = c.fwd(x);
      const y0 = f();
      const dy = cc.randn(y0.shape), b = c.bwd(x, dy);
      const dx0 = b();
      // forward: x read, y written; backward: x and dy read, dx written (parameters are small)
      const fwdBytes = 4 * (x.size + y0.size), bwdBytes = 4 * (x.size + dy.size + dx0.size);
      y0.dispose();
      dx0.dispose();
      // syncBlocking waits for the queue without copying the result out (PyTorch does not copy either)
      const tf = await time(() => { cc.tidy(() => { f(); }); cc.syncBlocking(); }, repeats);
      const tb = await time(() => { cc.tidy(() => { b(); }); cc.syncBlocking(); }, repeats);
      rows.push({ case: rowName(c, 'fwd'), threads, ours: tf, bytes: fwdBytes, bandwidth, references: { PyTorch: theirs?.[0] } });
      rows.push({ case: rowName(c, 'bwd'), threads, ours: tb, bytes: bwdBytes, bandwidth, references: { PyTorch: theirs?.[1] } });
      x.dispose();
      dy.dispose();
    }
  }
  notes.push('backward: our backward kernel (RReLU and probout in training: our tape with the graph kept) beside PyTorch\'s autograd backward of the op alone (retain_graph); ' +
    'probout: PyTorch has none, its side is the draw in tensor ops (softmax, cumsum against a uniform number, gather)');
  return { rows, notes };
}
