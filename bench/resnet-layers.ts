/**
 * Where a ResNet-18 training step goes: every distinct op of `models.resnet18({ numClasses: 10,
 * cifar: true })` at batch 32 on 3x32x32 (the `models` group's `resnet18 train step b32`), each
 * beside the same call in PyTorch-CPU (PyTorch's case right before ours), and each weighted by
 * how often one training step runs it, so that the "x n" columns add up to the step's op time:
 *
 *   node dist/bench/resnet-layers.js [--threads 2] [--only TEXT] [--resnet50]   (after `npx tsc -p .`; ~2 min)
 *
 * --resnet50: instead, the forward convolutions of `models.resnet50()` on one 224x224 image
 * (serving at batch 1), each weighted by how often the forward runs it.
 *
 * Besides the medians it prints each side's fastest sample and their ratio: on a shared machine
 * whose neighbours take the cores for seconds at a time, PyTorch's OpenMP threads wait at every
 * barrier for a descheduled partner, and its medians grow 10-100x (batch norm 1 ms -> 60-90 ms);
 * the fastest samples are the nearest either side gets to a quiet machine.
 *
 * Convolutions (no bias, as in the net) in all three directions (conv1's backward-data is not
 * needed: the images need no gradient); batch norm in training mode, forward alone and
 * forward+backward through autograd (x, weight and bias); ReLU forward and backward; the
 * residual add forward+backward; adaptive average pooling to 1x1; fc; cross-entropy; the SGD
 * step (momentum 0.9) over all 11.2M parameters as one tensor; Adam, AdamW, RMSprop and Adagrad
 * steps in its place (n = 0: outside the totals). Not one of issue 6's groups.
 */
import * as os from 'os';
import * as cc from '../lib';
import { conv2dBackward } from '../lib/nn/functional/conv';
import { activationBackward } from '../lib/nn/functional/activation';
import { collectCreated } from '../lib/engine';
import { time, type Timing } from './harness';
import { torchScript } from './ops';
import { torchCase } from './python_worker';

type F32 = cc.Tensor<'float32'>;

interface Case {
  name: string;
  /** Times one training step runs it. */
  count: number;
  /** Python that defines `run()` (`randn(*shape, grad=False)`, `F`, `torch` in scope). */
  torch: string;
  /** Makes the inputs and returns one run of our op. */
  ours: () => () => void;
}

const B = 32;
const grad = (shape: number[]) => cc.randn(shape, 0, 1, { requiresGrad: true }) as F32;
const js = (v: unknown) => JSON.stringify(v);

function makeCases(): Case[] {
  const cases: Case[] = [];
  // [Cin, Cout, kernel, stride, input size, occurrences]
  const convs: [number, number, number, number, number, number][] = [
    [3, 64, 3, 1, 32, 1],        // conv1 (CIFAR stem)
    [64, 64, 3, 1, 32, 4],       // layer1
    [64, 128, 3, 2, 32, 1],      // layer2.0.conv1
    [128, 128, 3, 1, 16, 3],
    [64, 128, 1, 2, 32, 1],      // layer2.0.downsample
    [128, 256, 3, 2, 16, 1],
    [256, 256, 3, 1, 8, 3],
    [128, 256, 1, 2, 16, 1],
    [256, 512, 3, 2, 8, 1],
    [512, 512, 3, 1, 4, 3],
    [256, 512, 1, 2, 8, 1],
  ];
  for (const [cin, cout, k, s, hw, n] of convs) {
    const pad = (k - 1) / 2, o = { stride: s, padding: pad };
    const xs = [B, cin, hw, hw], ws = [cout, cin, k, k], ho = Math.floor((hw + 2 * pad - k) / s) + 1, ys = [B, cout, ho, ho];
    const label = `conv ${cin}>${cout} ${k}x${k}${s > 1 ? `/${s}` : ''} ${hw}`;
    const setup = `x = randn(*${js(xs)}); w = randn(*${js(ws)}) * 0.1; dy = randn(*${js(ys)})\ncb = torch.ops.aten.convolution_backward\n`;
    const torchBwd = (mask: string) => `${setup}def run(): cb(dy, x, w, None, [${s}, ${s}], [${pad}, ${pad}], [1, 1], False, [0, 0], 1, ${mask})`;
    const make = (fn: (x: F32, w: F32, dy: F32) => F32) => () => {
      const x = cc.randn(xs), w = cc.mul(cc.randn(ws), 0.1), dy = cc.randn(ys);
      return () => { cc.tidy(() => { fn(x, w, dy); }); };
    };
    cases.push({ name: `${label} forward`, count: n, torch: `${setup}def run(): F.conv2d(x, w, None, ${s}, ${pad})`, ours: make((x, w) => cc.F.conv2d(x, w, null, o)) });
    if (cin !== 3) {
      cases.push({ name: `${label} backward-data`, count: n, torch: torchBwd('[True, False, False]'),
        ours: make((x, w, dy) => conv2dBackward(dy, x, w, o, { needWeight: false, needBias: false }).dx as F32) });
    }
    cases.push({ name: `${label} backward-filter`, count: n, torch: torchBwd('[False, True, False]'),
      ours: make((x, w, dy) => conv2dBackward(dy, x, w, o, { needInput: false, needBias: false }).dw as F32) });
  }
  // Batch norm (training mode) and what runs between the convolutions, per map size.
  // [channels, size, batch norms, ReLUs (on bn1 outputs and after the adds), adds]
  const maps: [number, number, number, number, number][] = [
    [64, 32, 5, 5, 2],    // bn1 + layer1 (4); relu after bn1 (stem), 2 bn1s, 2 adds
    [128, 16, 5, 4, 2],   // layer2 (4 + downsample)
    [256, 8, 5, 4, 2],
    [512, 4, 5, 4, 2],
  ];
  for (const [c, hw, bns, relus, adds] of maps) {
    const xs = [B, c, hw, hw], label = js(xs);
    cases.push({
      name: `batchNorm train fwd ${label}`, count: bns,
      torch: `x = randn(*${js(xs)}); rm = torch.zeros(${c}); rv = torch.ones(${c}); w = torch.ones(${c}); b = torch.zeros(${c})\n` +
        'def run():\n    with torch.no_grad(): F.batch_norm(x, rm, rv, w, b, True)',
      ours: () => {
        const x = cc.randn(xs), rm = cc.zeros([c]), rv = cc.ones([c]), w = cc.ones([c]), b = cc.zeros([c]);
        return () => { cc.tidy(() => { cc.noGrad(() => cc.F.batchNorm(x, rm, rv, w, b, { training: true })); }); };
      },
    });
    cases.push({
      name: `batchNorm train fwd+bwd ${label}`, count: bns,
      torch: `x = randn(*${js(xs)}, grad=True); rm = torch.zeros(${c}); rv = torch.ones(${c}); w = randn(${c}, grad=True); b = randn(${c}, grad=True)\n` +
        `dy = randn(*${js(xs)})\ndef run(): torch.autograd.grad(F.batch_norm(x, rm, rv, w, b, True), [x, w, b], dy)`,
      ours: () => {
        const x = grad(xs), rm = cc.zeros([c]), rv = cc.ones([c]), w = grad([c]), b = grad([c]), dy = cc.randn(xs);
        return () => {
          cc.tidy(() => { cc.F.batchNorm(x, rm, rv, w, b, { training: true }).backward(dy); });
          for (const t of [x, w, b]) t.zeroGrad();
        };
      },
    });
    cases.push({
      name: `relu fwd ${label}`, count: relus, torch: `x = randn(*${js(xs)})\ndef run(): F.relu(x)`,
      ours: () => { const x = cc.randn(xs); return () => { cc.tidy(() => { cc.F.relu(x); }); }; },
    });
    cases.push({
      name: `relu bwd ${label}`, count: relus,
      torch: `x = randn(*${js(xs)}, grad=True); dy = randn(*${js(xs)}); y = F.relu(x)\ndef run(): torch.autograd.grad(y, [x], dy, retain_graph=True)`,
      ours: () => {
        const x = cc.randn(xs), y = cc.F.relu(x), dy = cc.randn(xs);
        return () => { cc.tidy(() => { activationBackward('relu', dy, x, y); }); };
      },
    });
    cases.push({
      name: `add fwd+bwd ${label}`, count: adds,
      // Both sides store the gradients in .grad and clear them, as a training step does (with
      // torch.autograd.grad PyTorch hands dy back twice and stores nothing, where ours stores a
      // copy in each leaf: three passes against one).
      torch: `a = randn(*${js(xs)}, grad=True); b = randn(*${js(xs)}, grad=True); dy = randn(*${js(xs)})\n` +
        'def run():\n    (a + b).backward(dy)\n    a.grad = None\n    b.grad = None',
      ours: () => {
        const a = grad(xs), b = grad(xs), dy = cc.randn(xs);
        return () => {
          cc.tidy(() => { cc.add(a, b).backward(dy); });
          a.zeroGrad();
          b.zeroGrad();
        };
      },
    });
  }
  const feat = [B, 512, 4, 4];
  cases.push({
    name: `adaptiveAvgPool 1 fwd+bwd ${js(feat)}`, count: 1,
    torch: `x = randn(*${js(feat)}, grad=True); dy = randn(${B}, 512, 1, 1)\ndef run(): torch.autograd.grad(F.adaptive_avg_pool2d(x, 1), [x], dy)`,
    ours: () => {
      const x = grad(feat), dy = cc.randn([B, 512, 1, 1]);
      return () => { cc.tidy(() => { cc.F.adaptiveAvgPool2d(x, 1).backward(dy); }); x.zeroGrad(); };
    },
  });
  cases.push({
    name: `fc 512>10 + crossEntropy fwd+bwd b${B}`, count: 1,
    torch: `x = randn(${B}, 512, grad=True); w = randn(10, 512, grad=True); b = randn(10, grad=True); y = torch.arange(${B}) % 10\n` +
      'def run(): torch.autograd.grad(F.cross_entropy(F.linear(x, w, b), y), [x, w, b])',
    ours: () => {
      const x = grad([B, 512]), w = grad([10, 512]), b = grad([10]);
      const y = cc.tensor(Int32Array.from({ length: B }, (_, i) => i % 10), { dtype: 'int32' });
      return () => {
        cc.tidy(() => { cc.F.crossEntropy(cc.F.linear(x, w, b), y).backward(); });
        for (const t of [x, w, b]) t.zeroGrad();
      };
    },
  });
  const params = 11_173_962;  // resnet18({ numClasses: 10, cifar: true }).parameterCount()
  cases.push({
    name: `sgdStep momentum .9 ${(params / 1e6).toFixed(1)}M`, count: 1,
    torch: `p = randn(${params}, grad=True); p.grad = randn(${params})\nopt = torch.optim.SGD([p], lr=0.01, momentum=0.9, foreach=False)\nopt.step()\ndef run(): opt.step()`,
    ours: () => {
      const p = cc.randn([params]), g = cc.randn([params]), buf = cc.zeros([params]);
      cc.optim.sgdStep(p, g, buf, { lr: 0.01, momentum: 0.9, firstStep: true });
      return () => cc.optim.sgdStep(p, g, buf, { lr: 0.01, momentum: 0.9 });
    },
  });
  // The other optimizers in SGD's place, with n = 0: a step runs one optimizer, so they stay out
  // of the per-step totals. PyTorch with its default foreach, None, which 1.13 turns into False
  // (torch/optim/adam.py, rmsprop.py, adagrad.py: "if foreach is None: foreach = False"): the
  // single-tensor loop, as for SGD above; with one tensor foreach would have nothing to batch.
  const optimizers: [string, string, (p: F32, g: F32) => () => void][] = [
    ['adamStep', 'torch.optim.Adam([p], lr=1e-3)', (p, g) => {
      const m = cc.zeros([params]), v = cc.zeros([params]);
      let step = 0;
      return () => cc.optim.adamStep(p, g, m, v, null, { lr: 1e-3, step: ++step });
    }],
    ['adamStep AdamW wd .01', 'torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01)', (p, g) => {
      const m = cc.zeros([params]), v = cc.zeros([params]);
      let step = 0;
      return () => cc.optim.adamStep(p, g, m, v, null, { lr: 1e-3, weightDecay: 0.01, decoupled: true, step: ++step });
    }],
    ['rmspropStep', 'torch.optim.RMSprop([p], lr=1e-2)', (p, g) => {
      const sq = cc.zeros([params]);
      return () => cc.optim.rmspropStep(p, g, sq, null, null, { lr: 1e-2 });
    }],
    ['adagradStep', 'torch.optim.Adagrad([p], lr=1e-2)', (p, g) => {
      const sum = cc.zeros([params]);
      let step = 0;
      return () => cc.optim.adagradStep(p, g, sum, { lr: 1e-2, step: ++step });
    }],
  ];
  for (const [name, ctor, make] of optimizers) {
    cases.push({
      name: `${name} ${(params / 1e6).toFixed(1)}M`, count: 0,
      torch: `p = randn(${params}, grad=True); p.grad = randn(${params})\nopt = ${ctor}\nopt.step()\ndef run(): opt.step()`,
      ours: () => make(cc.randn([params]), cc.randn([params])),
    });
  }
  return cases;
}

// --resnet50: the forward convolutions of `models.resnet50()` serving one 224x224 image (batch 1),
// each weighted by how often the forward runs it. [name, Cin, Cout, kernel, stride, input size, n]
function resnet50Cases(): Case[] {
  const convs: [string, number, number, number, number, number, number][] = [
    ['stem', 3, 64, 7, 2, 224, 1],
    ['layer1', 64, 64, 1, 1, 56, 1], ['layer1', 64, 64, 3, 1, 56, 3], ['layer1', 64, 256, 1, 1, 56, 4], ['layer1', 256, 64, 1, 1, 56, 2],
    ['layer2', 256, 128, 1, 1, 56, 1], ['layer2', 128, 128, 3, 2, 56, 1], ['layer2', 128, 512, 1, 1, 28, 4], ['layer2', 256, 512, 1, 2, 56, 1],
    ['layer2', 512, 128, 1, 1, 28, 3], ['layer2', 128, 128, 3, 1, 28, 3],
    ['layer3', 512, 256, 1, 1, 28, 1], ['layer3', 256, 256, 3, 2, 28, 1], ['layer3', 256, 1024, 1, 1, 14, 6], ['layer3', 512, 1024, 1, 2, 28, 1],
    ['layer3', 1024, 256, 1, 1, 14, 5], ['layer3', 256, 256, 3, 1, 14, 5],
    ['layer4', 1024, 512, 1, 1, 14, 1], ['layer4', 512, 512, 3, 2, 14, 1], ['layer4', 512, 2048, 1, 1, 7, 3], ['layer4', 1024, 2048, 1, 2, 14, 1],
    ['layer4', 2048, 512, 1, 1, 7, 2], ['layer4', 512, 512, 3, 1, 7, 2],
  ];
  return convs.map(([where, cin, cout, k, s, hw, n]) => {
    const pad = (k - 1) / 2, xs = [1, cin, hw, hw], ws = [cout, cin, k, k];
    return {
      name: `conv ${where} ${cin}>${cout} ${k}x${k}${s > 1 ? `/${s}` : ''} ${hw} forward`, count: n,
      torch: `x = randn(*${js(xs)}); w = randn(*${js(ws)}) * 0.1\ndef run(): F.conv2d(x, w, None, ${s}, ${pad})`,
      ours: () => {
        const x = cc.randn(xs), w = cc.mul(cc.randn(ws), 0.1) as F32;
        return () => { cc.tidy(() => { cc.F.conv2d(x, w, null, { stride: s, padding: pad }); }); };
      },
    };
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const resnet50 = args.includes('--resnet50');
  cc.setNumThreads(threads);
  const notes: string[] = [];
  console.log(resnet50 ? `ResNet-50's forward convolutions at batch 1 (224x224), ${threads} thread(s), beside PyTorch (CPU); medians in ms, "x n" the per-forward total`
    : `ResNet-18 (CIFAR stem) ops at batch ${B}, ${threads} thread(s), beside PyTorch (CPU); medians in ms, "x n" the per-step total`);
  console.log(`${'case'.padEnd(44)} ${'n'.padStart(2)} ${'ours'.padStart(9)} ${'PyTorch'.padStart(9)} ${'ratio'.padStart(7)} ${'ours x n'.padStart(9)} ${'torch x n'.padStart(9)}` +
    ` ${'min ours'.padStart(9)} ${'min torch'.padStart(9)} ${'ratio'.padStart(7)}`);
  const groups = new Map<string, [number, number, number, number]>();
  for (const c of resnet50 ? resnet50Cases() : makeCases()) {
    if (only && !c.name.includes(only)) continue;
    const torch = await torchCase<Timing>({ code: torchScript(threads, false, c.torch) }, threads, notes);
    const { result: run, created } = collectCreated(() => c.ours());
    try {
      const ours = await time(() => { run(); cc.syncBlocking(); }, { warmup: 3, minRepeats: 5, minTotalMs: 500 });
      const theirs = torch?.medianMs;
      const o = ours.medianMs * c.count, t = (theirs ?? NaN) * c.count;
      const group = c.name.startsWith('conv') ? `conv ${c.name.split(' ').pop()}` : c.name.split(' ').slice(0, 2).join(' ');
      const acc = groups.get(group) ?? [0, 0, 0, 0];
      if (c.count > 0) groups.set(group, [acc[0] + o, acc[1] + t, acc[2] + ours.minMs * c.count, acc[3] + (torch?.minMs ?? NaN) * c.count]);
      const ratio = theirs ? `${(theirs / ours.medianMs).toFixed(2)}x` : '-';
      const minRatio = torch ? `${(torch.minMs / ours.minMs).toFixed(2)}x` : '-';
      console.log(`${c.name.padEnd(44)} ${String(c.count).padStart(2)} ${ours.medianMs.toFixed(3).padStart(9)} ${(theirs?.toFixed(3) ?? '-').padStart(9)} ${ratio.padStart(7)} ${o.toFixed(1).padStart(9)} ${t.toFixed(1).padStart(9)}` +
        ` ${ours.minMs.toFixed(3).padStart(9)} ${(torch?.minMs.toFixed(3) ?? '-').padStart(9)} ${minRatio.padStart(7)}`);
    } finally {
      for (const t of created) t.dispose();
    }
  }
  console.log(`\nper kind, ms per ${resnet50 ? 'forward' : 'training step'}: medians ours, PyTorch, ratio; fastest samples ours, PyTorch, ratio`);
  const line = (g: string, [o, t, mo, mt]: number[]) => console.log(`  ${g.padEnd(30)} ${o.toFixed(1).padStart(8)} ${t.toFixed(1).padStart(8)} ${(t / o).toFixed(2).padStart(6)}x` +
    ` ${mo.toFixed(1).padStart(8)} ${mt.toFixed(1).padStart(8)} ${(mt / mo).toFixed(2).padStart(6)}x`);
  const sum = [0, 0, 0, 0];
  for (const [g, v] of groups) {
    line(g, v);
    v.forEach((x, i) => { sum[i] += x; });
  }
  line('total', sum);
  for (const n of notes) console.log(`  note: ${n}`);
}

void main();
