/**
 * Losses, forward + backward, beside PyTorch-CPU doing the same work with the same thread
 * count (torch.set_num_threads): `npm run bench -- loss`. Each of our runs waits for the
 * gradient (syncBlocking: the queue round trip, not a copy of the result, which PyTorch does not
 * make either).
 */
import * as cc from '../lib';
import * as L from '../lib/nn/functional/loss';
import { pythonTimer, time, wanted, type BenchOptions, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';

type TapeOp = keyof typeof TAPE;
interface Case {
  name: string;
  op: 'crossEntropy' | 'tripletMarginLoss' | 'multiMarginLoss' | 'multiMarginLoss2' | 'contrastiveLoss' | 'klDiv' | 'binaryCrossEntropy' | 'smoothL1Loss' | 'huberLoss' | 'mseLoss' | 'bceWithLogits' | 'crossEntropy2d' | TapeOp;
  shape: [number, number];
}

// The rest of torch.nn's losses, through the tape on both sides (the gradient of x, and of x2
// where the loss takes two inputs): x, x2 randn [n, c]; t01 rand [n, c]; pm ±1 [n, c]; pmRow ±1
// [n]; counts, Poisson counts 0-4; v, variances in [0.1, 1.1); labels, five target classes a row
// then -1. [ours, PyTorch's expression]
const TAPE = {
  softMarginLoss: ['F.softMarginLoss(x, pm)', 'F.soft_margin_loss(x, pm)'],
  multilabelSoftMarginLoss: ['F.multilabelSoftMarginLoss(x, t01)', 'F.multilabel_soft_margin_loss(x, t01)'],
  bceWithLogitsPosWeight: ['F.binaryCrossEntropyWithLogits(x, t01, { posWeight: pw })', 'F.binary_cross_entropy_with_logits(x, t01, pos_weight=pw)'],
  multilabelMarginLoss: ['F.multilabelMarginLoss(x, labels)', 'F.multilabel_margin_loss(x, labels)'],
  cosineEmbeddingLoss: ['F.cosineEmbeddingLoss(x, x2, pmRow)', 'F.cosine_embedding_loss(x, x2, pmRow)'],
  marginRankingLoss: ['F.marginRankingLoss(x, x2, pm, { margin: 0.1 })', 'F.margin_ranking_loss(x, x2, pm, margin=0.1)'],
  hingeEmbeddingLoss: ['F.hingeEmbeddingLoss(x, pm)', 'F.hinge_embedding_loss(x, pm)'],
  poissonNllLoss: ['F.poissonNllLoss(x, counts)', 'F.poisson_nll_loss(x, counts)'],
  gaussianNllLoss: ['F.gaussianNllLoss(x, x2, v)', 'F.gaussian_nll_loss(x, x2, v)'],
} as const;
const TWO_INPUTS: readonly string[] = ['cosineEmbeddingLoss', 'marginRankingLoss', 'gaussianNllLoss'];
const CASES: Case[] = [
  { name: 'crossEntropy [64,10]', op: 'crossEntropy', shape: [64, 10] },
  { name: 'crossEntropy [256,1000]', op: 'crossEntropy', shape: [256, 1000] },
  // FCN's per-pixel loss: VOC's 21 classes over [8, 21, 64, 64] scores (shape: [N, C], 64x64 each)
  { name: 'crossEntropy [8,21,64,64]', op: 'crossEntropy2d', shape: [8, 21] },
  { name: 'tripletMarginLoss [128,128]', op: 'tripletMarginLoss', shape: [128, 128] },
  { name: 'multiMarginLoss [64,10]', op: 'multiMarginLoss', shape: [64, 10] },
  { name: 'multiMarginLoss p2 [64,10]', op: 'multiMarginLoss2', shape: [64, 10] },
  { name: 'contrastiveLoss [128,128]', op: 'contrastiveLoss', shape: [128, 128] },
  { name: 'klDiv batchmean [256,1000]', op: 'klDiv', shape: [256, 1000] },
  { name: 'binaryCrossEntropy [256,1000]', op: 'binaryCrossEntropy', shape: [256, 1000] },
  // Beyond the survey: detection's box regression (an RPN's 2000 anchors, beta 1/9), Huber at
  // size, and MSE over a batch of 64x64 RGB images (an autoencoder's reconstruction).
  { name: 'smoothL1Loss beta 1/9 [2000,4]', op: 'smoothL1Loss', shape: [2000, 4] },
  { name: 'huberLoss [256,1000]', op: 'huberLoss', shape: [256, 1000] },
  { name: 'mseLoss [64,12288]', op: 'mseLoss', shape: [64, 12288] },
  { name: 'binaryCrossEntropyWithLogits [256,1000]', op: 'bceWithLogits', shape: [256, 1000] },
  { name: 'BCE with logits, posWeight [256,1000]', op: 'bceWithLogitsPosWeight', shape: [256, 1000] },
  { name: 'softMarginLoss [256,1000]', op: 'softMarginLoss', shape: [256, 1000] },
  { name: 'multilabelSoftMarginLoss [256,1000]', op: 'multilabelSoftMarginLoss', shape: [256, 1000] },
  { name: 'multilabelMarginLoss [64,100]', op: 'multilabelMarginLoss', shape: [64, 100] },
  { name: 'cosineEmbeddingLoss [256,512]', op: 'cosineEmbeddingLoss', shape: [256, 512] },
  { name: 'marginRankingLoss [256,1000]', op: 'marginRankingLoss', shape: [256, 1000] },
  { name: 'hingeEmbeddingLoss [256,1000]', op: 'hingeEmbeddingLoss', shape: [256, 1000] },
  { name: 'poissonNllLoss [256,1000]', op: 'poissonNllLoss', shape: [256, 1000] },
  { name: 'gaussianNllLoss [256,1000]', op: 'gaussianNllLoss', shape: [256, 1000] },
];

const TORCH = (quick: boolean) => `
import json, os, torch, torch.nn.functional as F
torch.set_num_threads(int(os.environ["THREADS"]))
TAPE = ${JSON.stringify(Object.fromEntries(Object.entries(TAPE).map(([k, v]) => [k, v[1]])))}
TWO_INPUTS = ${JSON.stringify(TWO_INPUTS)}
${pythonTimer(quick, 0.5, 20, 20)}
out = {}
for name, op, (n, c) in json.loads(os.environ["CASES"]):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, generator=g).requires_grad_()
    t = torch.randint(0, c, (n,), generator=g)
    if op == "crossEntropy":
        run = lambda: torch.autograd.grad(F.cross_entropy(x, t), [x])
    elif op == "crossEntropy2d":
        x4 = torch.randn(n, c, 64, 64, generator=g).requires_grad_(); t4 = torch.randint(0, c, (n, 64, 64), generator=g)
        run = lambda: torch.autograd.grad(F.cross_entropy(x4, t4), [x4])
    elif op == "multiMarginLoss":
        run = lambda: torch.autograd.grad(F.multi_margin_loss(x, t), [x])
    elif op == "multiMarginLoss2":
        run = lambda: torch.autograd.grad(F.multi_margin_loss(x, t, p=2), [x])
    elif op == "contrastiveLoss":
        # no built-in: the formula (lib/nn/functional/loss.ts), as a PyTorch user writes it
        b = torch.randn(n, c, generator=g).requires_grad_(); y = (torch.arange(n) % 2).float()
        def run():
            d = (x - b).norm(dim=1)
            return torch.autograd.grad((y * d ** 2 + (1 - y) * F.relu(1.0 - d) ** 2).mean() / 2, [x, b])
    elif op == "tripletMarginLoss":
        p = torch.randn(n, c, generator=g).requires_grad_(); q = torch.randn(n, c, generator=g).requires_grad_()
        run = lambda: torch.autograd.grad(F.triplet_margin_loss(x, p, q), [x, p, q])
    elif op == "smoothL1Loss":
        tb = torch.randn(n, c, generator=g)
        run = lambda: torch.autograd.grad(F.smooth_l1_loss(x, tb, beta=1 / 9), [x])
    elif op == "huberLoss":
        tb = torch.randn(n, c, generator=g)
        run = lambda: torch.autograd.grad(F.huber_loss(x, tb), [x])
    elif op == "mseLoss":
        tb = torch.randn(n, c, generator=g)
        run = lambda: torch.autograd.grad(F.mse_loss(x, tb), [x])
    elif op == "bceWithLogits":
        tb = torch.rand(n, c, generator=g)
        run = lambda: torch.autograd.grad(F.binary_cross_entropy_with_logits(x, tb), [x])
    elif op in TAPE:
        x2 = torch.randn(n, c, generator=g).requires_grad_(); t01 = torch.rand(n, c, generator=g)
        pm = torch.where(torch.arange(n * c).reshape(n, c) * 7919 % 3 == 0, -1.0, 1.0); pmRow = pm[:, 0].contiguous()
        counts = torch.floor(torch.rand(n, c, generator=g) * 5); v = torch.rand(n, c, generator=g) + 0.1; pw = torch.linspace(0.5, 3, c)
        labels = torch.where(torch.arange(c) < 5, (torch.arange(n * c).reshape(n, c) * 13) % c, -1)
        inputs = [x, x2] if op in TWO_INPUTS else [x]
        run = lambda: torch.autograd.grad(eval(TAPE[op], dict(globals(), x=x, x2=x2, t01=t01, pm=pm, pmRow=pmRow, counts=counts, v=v, pw=pw, labels=labels)), inputs)
    elif op == "binaryCrossEntropy":
        xp = torch.sigmoid(x).detach().requires_grad_(); tp = torch.rand(n, c, generator=g)
        run = lambda: torch.autograd.grad(F.binary_cross_entropy(xp, tp), [xp])
    else:
        lp = torch.log_softmax(torch.randn(n, c, generator=g), 1).requires_grad_()
        tp = torch.softmax(torch.randn(n, c, generator=g), 1)
        run = lambda: torch.autograd.grad(F.kl_div(lp, tp, reduction="batchmean"), [lp])
    out[name] = timed(run)
print(json.dumps(out))
`;

function ours(c: Case): () => void {
  const [n, k] = c.shape;
  const x = cc.randn([n, k]);
  const t = cc.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7919) % k), { shape: [n] });
  const one = cc.tensor(1, { shape: [] });
  if (c.op === 'crossEntropy2d') {
    const x4 = cc.randn([n, k, 64, 64]);
    const t4 = cc.tensor(Int32Array.from({ length: n * 64 * 64 }, (_, i) => (i * 7919) % k), { shape: [n, 64, 64] });
    return () => { cc.tidy(() => { F.crossEntropy(x4, t4); L.crossEntropyBackward(one, x4, t4); }); cc.syncBlocking(); };
  }
  if (c.op === 'crossEntropy') return () => { cc.tidy(() => { F.crossEntropy(x, t); L.crossEntropyBackward(one, x, t); }); cc.syncBlocking(); };
  if (c.op === 'multiMarginLoss') return () => { cc.tidy(() => { F.multiMarginLoss(x, t); L.multiMarginLossBackward(one, x, t); }); cc.syncBlocking(); };
  if (c.op === 'multiMarginLoss2') return () => { cc.tidy(() => { F.multiMarginLoss(x, t, { p: 2 }); L.multiMarginLossBackward(one, x, t, { p: 2 }); }); cc.syncBlocking(); };
  if (c.op === 'contrastiveLoss') {
    const b = cc.randn([n, k]), y = cc.tensor(Float32Array.from({ length: n }, (_, i) => i % 2), { shape: [n] });
    return () => { cc.tidy(() => { F.contrastiveLoss(x, b, y, { margin: 1 }); L.contrastiveLossBackward(one, x, b, y, { margin: 1 }); }); cc.syncBlocking(); };
  }
  if (c.op === 'tripletMarginLoss') {
    const [p, q] = [cc.randn([n, k]), cc.randn([n, k])];
    return () => { cc.tidy(() => { F.tripletMarginLoss(x, p, q); L.tripletMarginLossBackward(one, x, p, q); }); cc.syncBlocking(); };
  }
  if (c.op === 'binaryCrossEntropy') {
    // Through the tape (its backward is recorded, not exported): the input's gradient, dropped each run.
    const xp = F.sigmoid(cc.randn([n, k])).detach().requiresGrad_(), tp = cc.rand([n, k]);
    return () => { cc.tidy(() => { xp.grad = null; F.binaryCrossEntropy(xp, tp).backward(); }); cc.syncBlocking(); };
  }
  if (c.op === 'smoothL1Loss' || c.op === 'huberLoss' || c.op === 'mseLoss' || c.op === 'bceWithLogits') {
    // Through the tape: the input's gradient, disposed each run.
    const xs = cc.randn([n, k]).requiresGrad_(), tb = c.op === 'bceWithLogits' ? cc.rand([n, k]) : cc.randn([n, k]);
    const losses = {
      smoothL1Loss: () => F.smoothL1Loss(xs, tb, { beta: 1 / 9 }), huberLoss: () => F.huberLoss(xs, tb), mseLoss: () => F.mseLoss(xs, tb),
      bceWithLogits: () => F.binaryCrossEntropyWithLogits(xs, tb),
    };
    const loss = losses[c.op];
    return () => { cc.tidy(() => { loss().backward(); }); cc.syncBlocking(); xs.grad?.dispose(); xs.grad = null; };
  }
  if (c.op in TAPE) {
    const op = c.op as TapeOp;
    const x = cc.randn([n, k]).requiresGrad_(), x2 = cc.randn([n, k]).requiresGrad_(), t01 = cc.rand([n, k]);
    const pm = cc.tensor(Float32Array.from({ length: n * k }, (_, i) => ((i * 7919) % 3 === 0 ? -1 : 1)), { shape: [n, k] });
    const pmRow = cc.tensor(Float32Array.from({ length: n }, (_, i) => ((i * k * 7919) % 3 === 0 ? -1 : 1)));
    const counts = cc.floor(cc.mul(cc.rand([n, k]), 5)), v = cc.add(cc.rand([n, k]), 0.1), pw = cc.linspace(0.5, 3, k);
    const labels = cc.tensor(Int32Array.from({ length: n * k }, (_, i) => (i % k < 5 ? (i * 13) % k : -1)), { shape: [n, k] });
    const loss = new Function('F', 'x', 'x2', 't01', 'pm', 'pmRow', 'counts', 'v', 'pw', 'labels', `return ${TAPE[op][0]};`) as
      (...args: unknown[]) => cc.Tensor;
    const inputs = TWO_INPUTS.includes(op) ? [x, x2] : [x];
    return () => {
      cc.tidy(() => { loss(F, x, x2, t01, pm, pmRow, counts, v, pw, labels).backward(); });
      cc.syncBlocking();
      for (const t of inputs) { t.grad?.dispose(); t.grad = null; }
    };
  }
  const lp = cc.randn([n, k]).mul(0.1).sub(7), tp = cc.rand([n, k]).mul(1 / k);
  return () => { cc.tidy(() => { F.klDiv(lp, tp, { reduction: 'batchmean' }); L.klDivBackward(one, lp, tp, { reduction: 'batchmean' }); }); cc.syncBlocking(); };
}
const { F } = cc;

export async function benchLoss(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    for (const c of CASES.filter((k) => wanted(opts, k.name))) {
      // PyTorch's case right before ours: a slow spell on this shared machine falls on both sides.
      const torch = await torchCase<Record<string, Timing>>({ code: TORCH(opts.quick), env: { THREADS: String(threads), CASES: JSON.stringify([[c.name, c.op, c.shape]]) } }, threads, notes);
      const fn = ours(c);
      const timing = await time(fn, opts.quick ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : { warmup: 20, minRepeats: 20, minTotalMs: 500 });
      rows.push({ case: c.name, threads, ours: timing, references: { PyTorch: torch?.[c.name] } });
    }
  }
  notes.push('forward + backward per run; crossEntropy/multiMarginLoss/klDiv/binaryCrossEntropy(WithLogits)/smoothL1Loss/huberLoss/mseLoss and the ' +
    'other one-input losses: gradient of the input, triplet: all three, contrastive, cosineEmbedding, marginRanking, gaussianNll: both inputs ' +
    '(PyTorch has no contrastive loss: its side is the formula in tensor ops, as a user writes it); multiMarginLoss: hinge L1 (p 1), p2: hinge L2');
  return { rows, notes };
}
