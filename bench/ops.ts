/**
 * The per-sample norms, sorting, distances, composed reductions and optimizer steps beside
 * PyTorch-CPU with the same thread count (torch.set_num_threads): `npm run bench -- ops`.
 * Our time covers the op and waiting for it (syncBlocking, not copying the result out);
 * PyTorch's, the op. "fwd+bwd" rows run the forward with autograd recording and the backward
 * to every input that requires a gradient (x, and the affine weight and bias), on both sides.
 */
import * as cc from '../lib';
import { collectCreated } from '../lib/engine';
import { conv2dBackward } from '../lib/nn/functional/conv';
import { pythonTimer, time, wanted, type BenchOptions, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';
import { roiCases } from './ops_roi';

const { F } = cc;
type F32 = cc.Tensor<'float32'>;

interface Case {
  name: string;
  /** Python that defines `run()` (with `randn(*shape, grad=False)` and `F` in scope). */
  torch: string;
  /** Makes the inputs and returns one run of our op. */
  ours: () => () => void;
}

/** Runs fn with autograd recording and the backward of its output with a fixed gradient. */
function forwardBackward(inputs: F32[], fn: () => F32): () => void {
  const dy = cc.randn(cc.tidy(() => cc.noGrad(fn)).shape);
  return () => {
    cc.tidy(() => { fn().backward(dy); });
    for (const t of inputs) t.zeroGrad();
  };
}

const grad = (shape: number[]) => cc.randn(shape, 0, 1, { requiresGrad: true }) as F32;

function makeCases(quick: boolean): Case[] {
  // --quick: the same cases at small sizes (a smoke test of the harness, not a measurement)
  const q = (full: number, small: number) => (quick ? small : full);
  const cases: Case[] = [];
  // The per-sample norms (lib/nn/functional/normalization.ts), forward and forward+backward.
  const norms: { name: string; shape: number[]; affine: number[] | null; torch: string; ours: (x: F32, w: F32 | null, b: F32 | null) => F32 }[] = [
    {
      name: 'layerNorm [384]', shape: [q(32, 2), q(196, 4), q(384, 8)], affine: [q(384, 8)],
      torch: `F.layer_norm(x, (${q(384, 8)},), w, b)`, ours: (x, w, b) => F.layerNorm(x, [x.shape[2]], { weight: w, bias: b }),
    },
    {
      name: 'layerNorm [C,H,W]', shape: [8, q(256, 4), q(28, 4), q(28, 4)], affine: [q(256, 4), q(28, 4), q(28, 4)],
      torch: 'F.layer_norm(x, x.shape[1:], w, b)', ours: (x, w, b) => F.layerNorm(x, x.shape.slice(1), { weight: w, bias: b }),
    },
    {
      name: 'groupNorm 32', shape: [8, q(256, 64), q(28, 4), q(28, 4)], affine: [q(256, 64)],
      torch: 'F.group_norm(x, 32, w, b)', ours: (x, w, b) => F.groupNorm(x, 32, { weight: w, bias: b }),
    },
    {
      name: 'instanceNorm', shape: [8, q(64, 4), q(56, 4), q(56, 4)], affine: null,
      torch: 'F.instance_norm(x)', ours: (x) => F.instanceNorm(x),
    },
  ];
  for (const n of norms) {
    const shape = JSON.stringify(n.shape);
    const affine = n.affine ? `w = randn(*${JSON.stringify(n.affine)}, grad=True); b = randn(*${JSON.stringify(n.affine)}, grad=True)` : 'w = b = None';
    cases.push({
      name: `${n.name} fwd ${shape}`,
      torch: `x = randn(*${shape}); ${affine}\ndef run():\n    with torch.no_grad(): ${n.torch}`,
      ours: () => {
        const x = cc.randn(n.shape), w = n.affine ? cc.randn(n.affine) : null, b = n.affine ? cc.randn(n.affine) : null;
        return () => { cc.tidy(() => { n.ours(x, w, b); }); };
      },
    });
    cases.push({
      name: `${n.name} fwd+bwd ${shape}`,
      torch: `x = randn(*${shape}, grad=True); ${affine}\ninputs = [t for t in (x, w, b) if t is not None]\n` +
        `dy = randn(*${shape})\ndef run(): torch.autograd.grad(${n.torch}, inputs, dy)`,
      ours: () => {
        const x = grad(n.shape), w = n.affine ? grad(n.affine) : null, b = n.affine ? grad(n.affine) : null;
        return forwardBackward([x, w, b].filter((t): t is F32 => t !== null), () => n.ours(x, w, b));
      },
    });
  }
  // Sorting (lib/sorting.ts, native/cpu/sort.cc): retrieval's top 10 and full sorts of rows.
  {
    const shape = [q(512, 8), q(10000, 100)];
    cases.push({
      name: `topk 10 ${JSON.stringify(shape)}`, torch: `x = randn(*${JSON.stringify(shape)})\ndef run(): torch.topk(x, 10)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { cc.topk(x, 10); }); }; },
    });
  }
  {
    const shape = [q(64, 4), q(4096, 64)];
    cases.push({
      name: `sort ${JSON.stringify(shape)}`, torch: `x = randn(*${JSON.stringify(shape)})\ndef run(): torch.sort(x)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { cc.sort(x); }); }; },
    });
    cases.push({
      name: `argsort ${JSON.stringify(shape)}`, torch: `x = randn(*${JSON.stringify(shape)})\ndef run(): torch.argsort(x)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { cc.argsort(x); }); }; },
    });
  }
  // Distances (lib/nn/functional/distance.ts): a retrieval's query-gallery distances, embeddings.
  {
    const a = [q(1000, 30), q(128, 16)], b = [q(10000, 40), q(128, 16)];
    cases.push({
      name: `cdist ${JSON.stringify(a)}x${JSON.stringify(b)}`,
      torch: `a = randn(*${JSON.stringify(a)}); b = randn(*${JSON.stringify(b)})\ndef run(): torch.cdist(a, b)`,
      ours: () => { const x = cc.randn(a), y = cc.randn(b); return () => { cc.tidy(() => { cc.cdist(x, y); }); }; },
    });
    // Training embeddings: a batch's distances to a bank of others, both sides learned.
    const u = [q(512, 30), q(128, 16)], v = [q(2048, 40), q(128, 16)];
    const n = u[0], m = v[0];
    cases.push({
      name: `cdist fwd+bwd ${JSON.stringify(u)}x${JSON.stringify(v)}`,
      torch: `a = randn(*${JSON.stringify(u)}, grad=True); b = randn(*${JSON.stringify(v)}, grad=True); dy = randn(${n}, ${m})\ndef run(): torch.autograd.grad(torch.cdist(a, b), [a, b], dy)`,
      ours: () => { const x = grad(u), y = grad(v); return forwardBackward([x, y], () => cc.cdist(x, y)); },
    });
  }
  {
    const shape = [q(1024, 8), q(512, 16)];
    const s = JSON.stringify(shape);
    cases.push({
      name: `cosineSimilarity ${s}`, torch: `a = randn(*${s}); b = randn(*${s})\ndef run(): F.cosine_similarity(a, b)`,
      ours: () => { const x = cc.randn(shape), y = cc.randn(shape); return () => { cc.tidy(() => { F.cosineSimilarity(x, y); }); }; },
    });
    cases.push({
      name: `normalize ${s}`, torch: `a = randn(*${s})\ndef run(): F.normalize(a)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { F.normalize(x); }); }; },
    });
    cases.push({
      name: `normalize fwd+bwd ${s}`, torch: `a = randn(*${s}, grad=True); dy = randn(*${s})\ndef run(): torch.autograd.grad(F.normalize(a), [a], dy)`,
      ours: () => { const x = grad(shape); return forwardBackward([x], () => F.normalize(x)); },
    });
  }
  // Composed reductions (lib/composite.ts).
  {
    const shape = [q(256, 4), q(10000, 100)];
    const s = JSON.stringify(shape);
    cases.push({
      name: `logsumexp dim 1 ${s}`, torch: `x = randn(*${s})\ndef run(): torch.logsumexp(x, 1)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { cc.logsumexp(x, 1); }); }; },
    });
    cases.push({
      name: `logsumexp fwd+bwd ${s}`, torch: `x = randn(*${s}, grad=True); dy = randn(${shape[0]})\ndef run(): torch.autograd.grad(torch.logsumexp(x, 1), [x], dy)`,
      ours: () => { const x = grad(shape); return forwardBackward([x], () => cc.logsumexp(x, 1)); },
    });
  }
  {
    const shape = [8, q(256, 4), q(28, 4), q(28, 4)];
    const s = JSON.stringify(shape);
    cases.push({
      name: `norm ${s}`, torch: `x = randn(*${s})\ndef run(): torch.linalg.vector_norm(x)`,
      ours: () => { const x = cc.randn(shape); return () => { cc.tidy(() => { cc.norm(x); }); }; },
    });
    const rows = [q(1024, 8), q(512, 16)];
    cases.push({
      name: `norm dim 1 ${JSON.stringify(rows)}`, torch: `x = randn(*${JSON.stringify(rows)})\ndef run(): torch.linalg.vector_norm(x, dim=1)`,
      ours: () => { const x = cc.randn(rows); return () => { cc.tidy(() => { cc.norm(x, { dim: 1 }); }); }; },
    });
  }
  // A convolution's bias gradient (AlexNet c1's dy): the sum over every axis but the channels,
  // which PyTorch's convolution backward takes as dy.sum((0, 2, 3)); ours the native op the tape calls.
  {
    const n = q(8, 2), ys = [n, 96, 55, 55], s = JSON.stringify(ys);
    cases.push({
      name: `conv bias gradient ${s}`, torch: `dy = randn(*${s})\ndef run(): dy.sum((0, 2, 3))`,
      ours: () => {
        const x = cc.randn([n, 3, 227, 227]), w = cc.randn([96, 3, 11, 11]), dy = cc.randn(ys);
        return () => { cc.tidy(() => { conv2dBackward(dy, x, w, { stride: 4 }, { needInput: false, needWeight: false, needBias: true }); }); };
      },
    });
  }
  // Resizing score maps (FCN-style 4x bilinear upsampling of VOC's 21 classes), forward + backward.
  {
    const n = q(8, 2);
    const xs = [n, 21, 16, 16];
    cases.push({
      name: `interpolate bilinear x4 fwd+bwd ${JSON.stringify(xs)}`,
      torch: `x = randn(${xs.join(', ')}, grad=True); dy = randn(${n}, 21, 64, 64)\n` +
        `def run(): torch.autograd.grad(F.interpolate(x, scale_factor=4, mode='bilinear', align_corners=False), [x], dy)`,
      ours: () => { const x = grad(xs); return forwardBackward([x], () => F.interpolate(x, { scaleFactor: 4, mode: 'bilinear' })); },
    });
  }
  // Optimizer steps on 11M parameters (ResNet-18's count) in one tensor: PyTorch's optimizer
  // step with foreach off (one tensor: nothing to batch), ours the fused native step.
  {
    const n = q(11_000_000, 1000);
    const torchStep = (ctor: string) => `p = randn(${n}, grad=True); p.grad = randn(${n})\nopt = ${ctor}\nopt.step()\ndef run(): opt.step()`;
    const steps: [string, string, (p: F32, g: F32) => () => void][] = [
      ['sgdStep momentum .9', 'torch.optim.SGD([p], lr=0.01, momentum=0.9, weight_decay=5e-4, foreach=False)', (p, g) => {
        const buf = cc.zeros([n]);
        cc.optim.sgdStep(p, g, buf, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, firstStep: true });
        return () => cc.optim.sgdStep(p, g, buf, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      }],
      ['adamStep', 'torch.optim.Adam([p], lr=1e-3, foreach=False)', (p, g) => {
        const m = cc.zeros([n]), v = cc.zeros([n]);
        let step = 0;
        return () => cc.optim.adamStep(p, g, m, v, null, { lr: 1e-3, step: ++step });
      }],
      ['rmspropStep', 'torch.optim.RMSprop([p], lr=1e-3, foreach=False)', (p, g) => {
        const sq = cc.zeros([n]);
        return () => cc.optim.rmspropStep(p, g, sq, null, null, { lr: 1e-3 });
      }],
      ['adagradStep', 'torch.optim.Adagrad([p], lr=1e-2, foreach=False)', (p, g) => {
        const sum = cc.zeros([n]);
        let step = 0;
        return () => cc.optim.adagradStep(p, g, sum, { lr: 1e-2, step: ++step });
      }],
    ];
    for (const [name, ctor, make] of steps) {
      cases.push({ name: `${name} ${n / 1e6}M`, torch: torchStep(ctor), ours: () => make(cc.randn([n]), cc.randn([n])) });
    }
  }
  cases.push(...roiCases(quick));  // RoIAlign and RoIPool beside torchvision (bench/ops_roi.ts)
  return cases;
}

/** A PyTorch script that defines `run()` by `code` (with `randn` and `F`) and prints its timing. */
export const torchScript = (threads: number, quick: boolean, code: string) => `
import json, torch, torch.nn.functional as F
torch.set_num_threads(${threads})
${pythonTimer(quick, 0.5)}
g = torch.Generator().manual_seed(0)
def randn(*shape, grad=False):
    t = torch.randn(*shape, generator=g)
    return t.requires_grad_() if grad else t
${code}
print(json.dumps(timed(run)))
`;

export async function benchOps(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const repeats = opts.quick ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : { warmup: 3, minRepeats: 5, minTotalMs: 500 };
  const filter = process.env.CONVNET_BENCH_OPS;  // as --only, one word (kept for older scripts)
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    for (const c of makeCases(opts.quick)) {
      if ((filter && !c.name.includes(filter)) || !wanted(opts, c.name)) continue;
      // PyTorch's case right before ours: a slow spell on this shared machine falls on both sides.
      const torch = await torchCase<Timing>({ code: torchScript(threads, opts.quick, c.torch) }, threads, notes);
      // the inputs the case makes (kept by its closure) are disposed after it
      const { result: run, created } = collectCreated(() => c.ours());
      try {
        const ours = await time(() => { run(); cc.syncBlocking(); }, repeats);
        rows.push({ case: c.name, threads, ours, references: { PyTorch: torch ?? undefined } });
      } finally {
        for (const t of created) t.dispose();
      }
    }
  }
  notes.push('fwd+bwd: the forward with autograd and the gradient of every input (x, weight, bias); optimizer steps: one 11M-element tensor, ' +
    'PyTorch\'s optimizer with foreach=False (a single tensor), ours the fused native step; instanceNorm without affine (InstanceNorm2d\'s default)');
  return { rows, notes };
}
