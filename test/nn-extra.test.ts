/**
 * The losses and layers composed from tensor ops (mseLoss … binaryCrossEntropyWithLogits,
 * cross-entropy with class probabilities, SiLU and friends), PyTorch's positional constructor
 * arguments, and the new modules (Identity, ModuleList, BatchNorm1d, AdaptiveMaxPool2d): each
 * against a float64 reference written here, gradients against finite differences, edge cases and
 * typed errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, randomTensor, rng, scratchDir, settle, sizeOf, tapeCheck } from './helpers';
import { resetWarnOnce } from '../lib/errors';

const { F, nn } = cc;
type Red = 'mean' | 'sum' | 'none';
type F32 = cc.Tensor<'float32'>;
const REDUCTIONS: Red[] = ['mean', 'sum', 'none'];

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** erf in float64: its Taylor series below |x| = 4 (1e-9 or better), 1 - erfc's asymptotic series above. */
function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 4) {
    const t = 1 / (2 * a * a);
    const erfc = (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * (1 - t + 3 * t * t - 15 * t ** 3);
    return Math.sign(x) * (1 - erfc);
  }
  let term = x, sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));
const geluTanh64 = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
/** log(1 + exp(x)) without overflow. */
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** Per element: the loss and its derivatives by input and target (weights by flat index i). */
type ElementRef = (x: number, t: number, i: number) => { l: number; dx: number; dt: number };

interface LossCase {
  name: string;
  fn: (x: F32, t: F32, reduction: Red) => F32;
  ref: ElementRef;
  /** Input and target ranges. */
  x: [number, number];
  t: [number, number];
}

function smoothRef(beta: number): ElementRef {
  return (x, t) => {
    const d = x - t, a = Math.abs(d);
    if (beta === 0 || a >= beta) return { l: a - 0.5 * beta, dx: Math.sign(d), dt: -Math.sign(d) };
    return { l: (0.5 * d * d) / beta, dx: d / beta, dt: -d / beta };
  };
}

function huberRef(delta: number): ElementRef {
  return (x, t) => {
    const d = x - t, a = Math.abs(d);
    if (a >= delta) return { l: delta * (a - 0.5 * delta), dx: delta * Math.sign(d), dt: -delta * Math.sign(d) };
    return { l: 0.5 * d * d, dx: d, dt: -d };
  };
}

function bceRef(w?: (i: number) => number): ElementRef {
  return (x, t, i) => {
    const wi = w ? w(i) : 1;
    const l = -wi * (t * Math.max(Math.log(x), -100) + (1 - t) * Math.max(Math.log(1 - x), -100));
    return { l, dx: (wi * (x - t)) / Math.max(x * (1 - x), 1e-12), dt: wi * (Math.log(1 - x) - Math.log(x)) };
  };
}

function bceLogitsRef(w?: (i: number) => number, p?: (i: number) => number): ElementRef {
  return (x, t, i) => {
    const wi = w ? w(i) : 1, pi = p ? p(i) : 1;
    const lw = 1 + (pi - 1) * t;
    const l = wi * ((1 - t) * x + lw * softplus(-x));
    return { l, dx: wi * ((1 - t) - lw * sigmoid(-x)), dt: wi * (-x + (pi - 1) * softplus(-x)) };
  };
}

// weight [3] over input [4, 3]: broadcast along the last axis; posWeight [3] likewise.
const W3 = [0.5, 2, 1.25], P3 = [3, 0.5, 1];
const CASES: LossCase[] = [
  { name: 'mseLoss', fn: (x, t, reduction) => F.mseLoss(x, t, { reduction }), ref: (x, t) => ({ l: (x - t) ** 2, dx: 2 * (x - t), dt: -2 * (x - t) }), x: [-2, 2], t: [-2, 2] },
  { name: 'l1Loss', fn: (x, t, reduction) => F.l1Loss(x, t, { reduction }), ref: (x, t) => ({ l: Math.abs(x - t), dx: Math.sign(x - t), dt: -Math.sign(x - t) }), x: [-2, 2], t: [-2, 2] },
  { name: 'smoothL1Loss', fn: (x, t, reduction) => F.smoothL1Loss(x, t, { reduction }), ref: smoothRef(1), x: [-2, 2], t: [-2, 2] },
  { name: 'smoothL1Loss beta 0.5', fn: (x, t, reduction) => F.smoothL1Loss(x, t, { beta: 0.5, reduction }), ref: smoothRef(0.5), x: [-2, 2], t: [-2, 2] },
  { name: 'smoothL1Loss beta 0 (L1)', fn: (x, t, reduction) => F.smoothL1Loss(x, t, { beta: 0, reduction }), ref: smoothRef(0), x: [-2, 2], t: [-2, 2] },
  { name: 'huberLoss', fn: (x, t, reduction) => F.huberLoss(x, t, { reduction }), ref: huberRef(1), x: [-2, 2], t: [-2, 2] },
  { name: 'huberLoss delta 0.7', fn: (x, t, reduction) => F.huberLoss(x, t, { delta: 0.7, reduction }), ref: huberRef(0.7), x: [-2, 2], t: [-2, 2] },
  { name: 'binaryCrossEntropy', fn: (x, t, reduction) => F.binaryCrossEntropy(x, t, { reduction }), ref: bceRef(), x: [0.02, 0.98], t: [0, 1] },
  {
    name: 'binaryCrossEntropy weight [3]', fn: (x, t, reduction) => F.binaryCrossEntropy(x, t, { reduction, weight: cc.tensor(W3) }),
    ref: bceRef((i) => W3[i % 3]), x: [0.02, 0.98], t: [0, 1],
  },
  { name: 'binaryCrossEntropyWithLogits', fn: (x, t, reduction) => F.binaryCrossEntropyWithLogits(x, t, { reduction }), ref: bceLogitsRef(), x: [-5, 5], t: [0, 1] },
  {
    name: 'binaryCrossEntropyWithLogits weight [4, 1], posWeight [3]',
    fn: (x, t, reduction) => F.binaryCrossEntropyWithLogits(x, t, { reduction, weight: cc.tensor([[1], [0.5], [2], [0.25]]), posWeight: cc.tensor(P3) }),
    ref: bceLogitsRef((i) => [1, 0.5, 2, 0.25][Math.floor(i / 3)], (i) => P3[i % 3]), x: [-5, 5], t: [0, 1],
  },
];

describe('F: regression and binary losses (composed)', () => {
  const shape = [4, 3];
  for (const [k, c] of CASES.entries()) {
    for (const reduction of REDUCTIONS) {
      it(`${c.name} (${reduction}): loss and both gradients match a float64 reference`, () => {
        const { t: x, v: xv } = randomTensor(shape, 10 + k, ...c.x);
        const { t: t, v: tv } = randomTensor(shape, 40 + k, ...c.t);
        x.requiresGrad = true;
        t.requiresGrad = true;
        const y = c.fn(x, t, reduction);
        const n = xv.length;
        const refs = Array.from(xv, (xi, i) => c.ref(xi, tv[i], i));
        const dloss = reduction === 'none' ? randomTensor(shape, 70 + k).v : Float64Array.of(0.625);
        const g = (i: number) => (reduction === 'none' ? dloss[i] : reduction === 'sum' ? dloss[0] : dloss[0] / n);
        if (reduction === 'none') {
          expect(y.shape).to.deep.equal(shape);
          expectClose(y.dataSync(), refs.map((r) => r.l), 1e-5, 1e-6, 'loss');
        } else {
          expect(y.shape).to.deep.equal([]);
          const total = refs.reduce((s, r) => s + r.l, 0);
          expectClose(y.dataSync(), [reduction === 'sum' ? total : total / n], 1e-5, 1e-6, 'loss');
        }
        y.backward(cc.tensor(Float32Array.from(dloss), { shape: [...y.shape] }));
        expectClose(x.grad!.dataSync(), refs.map((r, i) => r.dx * g(i)), 1e-4, 1e-6, 'd input');
        expectClose(t.grad!.dataSync(), refs.map((r, i) => r.dt * g(i)), 1e-4, 1e-6, 'd target');
      });
    }
    it(`${c.name}: gradients of input and target match finite differences`, () => {
      const next = rng(5 + k);
      const draw = ([lo, hi]: [number, number]) => Float64Array.from({ length: 12 }, () => lo + (hi - lo) * next());
      // Keep |x − t| away from the kinks (0, beta, delta) so that the differences are derivatives.
      const xs = draw(c.x), ts = draw(c.t);
      for (let i = 0; i < xs.length; i++) if (!c.name.startsWith('binary')) ts[i] = xs[i] + (i % 2 ? 1 : -1) * (0.2 + 0.1 * (i % 4) + (i % 3 === 0 ? 1.3 : 0));
      tapeCheck(c.name, [{ shape, values: xs }, { shape, values: ts }], ([x, t]) => c.fn(x, t, 'mean'), { h: 1e-3, rtol: 3e-2, atol: 1e-3 });
    });
  }

  // test/fixtures/make/loss_broadcast.py: PyTorch broadcasts input against target in these four
  // (with a UserWarning), takes the loss over the broadcast shape and sums each gradient back.
  it('mseLoss, l1Loss, smoothL1Loss, huberLoss broadcast input against target as PyTorch (float64 fixtures, every reduction, both gradients)', () => {
    type V = { shape: number[]; values: number[] };
    const { cases } = loadFixture<{ cases: { loss: string; reduction: Red; x: V; t: V; dy: V; y: V; dx: V; dt: V }[] }>('loss_broadcast');
    expect(cases.length).to.equal(48);
    const fns: Record<string, (x: F32, t: F32, reduction: Red) => F32> = {
      mseLoss: (x, t, reduction) => F.mseLoss(x, t, { reduction }),
      l1Loss: (x, t, reduction) => F.l1Loss(x, t, { reduction }),
      smoothL1Loss: (x, t, reduction) => F.smoothL1Loss(x, t, { reduction, beta: 0.5 }),
      huberLoss: (x, t, reduction) => F.huberLoss(x, t, { reduction, delta: 0.7 }),
    };
    const fx = (v: V) => cc.tensor(Float32Array.from(v.values), { shape: v.shape });
    for (const c of cases) {
      const what = `${c.loss} ${JSON.stringify(c.x.shape)} vs ${JSON.stringify(c.t.shape)} (${c.reduction})`;
      const x = fx(c.x).requiresGrad_(), t = fx(c.t).requiresGrad_();
      const y = fns[c.loss](x, t, c.reduction);
      expect(y.shape, what).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values, 1e-5, 1e-6, `${what} loss`);
      y.backward(fx(c.dy));
      expect(x.grad!.shape, what).to.deep.equal(c.x.shape);
      expect(t.grad!.shape, what).to.deep.equal(c.t.shape);
      expectClose(x.grad!.dataSync(), c.dx.values, 1e-5, 1e-6, `${what} d input`);
      expectClose(t.grad!.dataSync(), c.dt.values, 1e-5, 1e-6, `${what} d target`);
    }
  });

  it('broadcast regression losses: gradients of both operands match finite differences; a target without a gradient gets none', () => {
    for (const [name, fn] of [
      ['mseLoss', (x: F32, t: F32) => F.mseLoss(x, t)],
      ['l1Loss', (x: F32, t: F32) => F.l1Loss(x, t, { reduction: 'sum' })],
      ['smoothL1Loss', (x: F32, t: F32) => F.smoothL1Loss(x, t, { reduction: 'none', beta: 0.5 })],
      ['huberLoss', (x: F32, t: F32) => F.huberLoss(x, t, { delta: 0.7 })],
    ] as const) {
      // x [3, 1] against t [4]: differences 0.2 apart or more from the kinks (0, beta, delta).
      const xs = Float64Array.of(-1.3, 0.05, 1.45), ts = Float64Array.of(-0.6, 0.4, 1.1, -2.2);
      tapeCheck(`${name} broadcast`, [{ shape: [3, 1], values: xs }, { shape: [4], values: ts }], ([x, t]) => fn(x, t), { h: 1e-3, rtol: 3e-2, atol: 1e-3 });
      const x = cc.tensor(Float32Array.from(xs), { shape: [3, 1] }).requiresGrad_(), t = cc.tensor(Float32Array.from(ts));
      fn(x, t).sum().backward();
      expect(x.grad!.shape).to.deep.equal([3, 1]);
      expect(t.grad, name).to.equal(null);
    }
  });

  it('broadcast regression losses warn once per loss function (PyTorch\'s UserWarning text), equal shapes never', () => {
    resetWarnOnce();
    const seen: Error[] = [];
    const listen = (w: Error) => seen.push(w);
    process.on('warning', listen);
    try {
      F.mseLoss(cc.zeros([4, 3]), cc.zeros([4, 3]));
      expect(seen.length).to.equal(0);
      for (let i = 0; i < 3; i++) F.mseLoss(cc.zeros([4, 1]), cc.zeros([4]));
      F.huberLoss(cc.zeros([4, 1]), cc.zeros([4]));
      expect(seen.length).to.equal(2);
      expect(seen[0].name).to.equal('ConvnetWarning');
      expect((seen[0] as Error & { code: string }).code).to.equal('CONVNET_LOSS_BROADCAST');
      expect(seen[0].message).to.equal('mseLoss: using a target size ([4]) that is different to the input size ([4, 1]). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.');
      expect(seen[1].message).to.match(/^huberLoss: using a target size/);
    } finally {
      process.off('warning', listen);
    }
  });

  it('binaryCrossEntropy at 0 and 1: the logs clamped at -100 as PyTorch (loss 100, gradient ±1e12 or 0)', () => {
    const x = cc.tensor([0, 1, 0, 1]), t = cc.tensor([0, 1, 1, 0]);
    x.requiresGrad = true;
    const y = F.binaryCrossEntropy(x, t, { reduction: 'none' });
    expectClose(y.dataSync(), [0, 0, 100, 100], 1e-6, 1e-6, 'loss');
    y.sum().backward();
    expectClose(x.grad!.dataSync(), [0, 0, -1e12, 1e12], 1e-6, 0, 'd input');
    expect(F.binaryCrossEntropy(cc.tensor([0, 1]), cc.tensor([1, 0])).item()).to.equal(100);
  });

  // PyTorch: "all elements of input should be between 0 and 1". Found when the check runs, the
  // error fails the loss and the gradients made from it (Note [failed outputs]), so an optimizer
  // step leaves the parameters as they were.
  it('binaryCrossEntropy of an input outside [0, 1] or NaN is E_ARG at every read, and updates nothing', async () => {
    for (const bad of [1.5, -0.25, NaN]) {
      const x = cc.tensor([0.2, bad, 0.7], { requiresGrad: true }), t = cc.tensor([0, 1, 1]);
      const loss = F.binaryCrossEntropy(x, t);
      await cc.sync().catch(() => undefined);                // the queue's report, once
      expectError(() => loss.item(), 'E_ARG', /binaryCrossEntropy \(queued\): an element of `input` is .* \(at position 1\): expected probabilities in \[0, 1\]/);
      expectError(() => loss.item(), 'E_ARG', /expected probabilities/);
      loss.backward();
      new cc.optim.SGD([x], { lr: 1 }).step();
      await cc.sync().catch(() => undefined);
      expect(Array.from(x.dataSync()).slice(0, 1)).to.deep.equal([Math.fround(0.2)]);
    }
    expect(F.binaryCrossEntropy(cc.tensor([0, 1, 0.5]), cc.tensor([0, 1, 1])).item()).to.be.closeTo(Math.LN2 / 3, 1e-7);
  });

  // The range check runs inside the loss's own kernels (native/cpu/binary_cross_entropy.cc): the
  // input is not copied, so a graph that keeps the loss keeps nothing of the input's size.
  it('binaryCrossEntropy checks its input without copying it; the gradients fail as the loss does', async () => {
    const n = 64 * 1024;
    const x = randomTensor([n], 3, 0.01, 0.99).t.requiresGrad_(), t = randomTensor([n], 4, 0, 1).t;
    await settle();
    const before = cc.memory().bytes;
    const loss = F.binaryCrossEntropy(x, t, { reduction: 'sum' });
    await settle();
    expect(cc.memory().bytes - before).to.be.lessThan(4 * n);   // the old check's saved copy alone was 4n bytes
    loss.backward();
    expect(x.grad!.shape).to.deep.equal([n]);
    // log1p(-x) keeps tiny inputs' loss (PyTorch's float64 values; log(1 - x) in float32 gives 0 for the first).
    expectClose(F.binaryCrossEntropy(cc.tensor([1e-8, 1 - 2 ** -24, 3e-4]), cc.tensor([0, 1, 0.25]), { reduction: 'none' }).dataSync(),
      [9.99999998922529e-9, 5.960464655174753e-8, 2.0281570427200974], 1e-6, 0, 'tiny x');
    // A bad element: the loss, both gradients and what is computed from them fail with the loss's error.
    const bad = cc.tensor([0.25, 0.5, 2, 0.75]).requiresGrad_(), target = cc.tensor([0, 1, 1, 0]).requiresGrad_();
    const perElement = F.binaryCrossEntropy(bad, target, { reduction: 'none' });
    await cc.sync().catch(() => undefined);
    expectError(() => perElement.dataSync(), 'E_ARG', /binaryCrossEntropy \(queued\): an element of `input` is 2 \(at position 2\): expected probabilities in \[0, 1\]/);
    expectError(() => cc.mul(perElement, 2).dataSync(), 'E_ARG', /an element of `input` is 2 \(at position 2\)/);
    perElement.backward(cc.ones([4]));
    await cc.sync().catch(() => undefined);
    expectError(() => bad.grad!.dataSync(), 'E_ARG', /an element of `input` is 2 \(at position 2\)/);
    expectError(() => target.grad!.dataSync(), 'E_ARG', /an element of `input` is 2 \(at position 2\)/);
    // The first bad position is reported, whatever the thread count (one bad element per chunk).
    const many = new Float32Array(200000).fill(0.5);
    for (const i of [70000, 140000, 35000]) many[i] = -1;
    for (const threads of [1, 2]) {
      const saved = cc.getNumThreads();
      cc.setNumThreads(threads);
      try {
        const l = F.binaryCrossEntropy(cc.tensor(many), cc.zeros([200000]));
        await cc.sync().catch(() => undefined);
        expectError(() => l.item(), 'E_ARG', /is -1 \(at position 35000\)/);
      } finally {
        cc.setNumThreads(saved);
      }
    }
  });

  it('binaryCrossEntropyWithLogits: huge logits neither overflow nor lose the loss', () => {
    const xs = [1e4, -1e4, 80, -80, 0, 30], ts = [0, 1, 1, 0, 0.5, 0.25];
    const x = cc.tensor(xs), t = cc.tensor(ts), p = cc.tensor([2, 3, 1, 1, 4, 0.5]);
    x.requiresGrad = true;
    const y = F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none', posWeight: p });
    const ref = xs.map((xi, i) => bceLogitsRef(undefined, (j) => [2, 3, 1, 1, 4, 0.5][j])(xi, ts[i], i));
    expectClose(y.dataSync(), ref.map((r) => r.l), 1e-6, 1e-6, 'loss');
    y.sum().backward();
    const dx = x.grad!.dataSync();
    expect(Array.from(dx).every(Number.isFinite)).to.equal(true);
    expectClose(dx, ref.map((r) => r.dx), 1e-5, 1e-6, 'd input');
  });

  it('empty tensors: mean NaN, sum 0, none empty (as PyTorch)', () => {
    const fns: [string, (x: F32, t: F32, r: Red) => F32][] = CASES.filter((c) => !c.name.includes('weight')).map((c) => [c.name, c.fn]);
    fns.push(['crossEntropy (probabilities)', (x, t, reduction) => F.crossEntropy(x.reshape([0, 3]), t.reshape([0, 3]), { reduction })]);
    for (const [name, fn] of fns) {
      const x = cc.zeros([0, 3]), t = cc.zeros([0, 3]);
      expect(Number.isNaN(fn(x, t, 'mean').item()), name).to.equal(true);
      expect(fn(x, t, 'sum').item(), name).to.equal(0);
      expect(fn(x, t, 'none').size, name).to.equal(0);
    }
  });

  it('refuse bad shapes, dtypes and options with typed errors', () => {
    const x = cc.zeros([4, 3]), t = cc.zeros([4, 3]);
    for (const [name, fn] of [
      ['mseLoss', F.mseLoss], ['l1Loss', F.l1Loss], ['smoothL1Loss', F.smoothL1Loss], ['huberLoss', F.huberLoss],
      ['binaryCrossEntropy', F.binaryCrossEntropy], ['binaryCrossEntropyWithLogits', F.binaryCrossEntropyWithLogits],
    ] as const) {
      if (name.startsWith('binary')) {
        // PyTorch refuses other shapes here too (the regression losses broadcast: see below).
        expectError(() => fn(cc.zeros([4, 1]), cc.zeros([4])), 'E_SHAPE', new RegExp(`${name}: expected \`target\` of the same shape as \`input\` \\[4, 1\\], got \\[4\\]`));
      } else {
        expectError(() => fn(x, cc.zeros([2])), 'E_SHAPE', /cannot be broadcast/);
      }
      expectError(() => fn(x, cc.zeros([4, 3], 'int32')), 'E_DTYPE', /`target` of dtype float32/);
      expectError(() => fn(cc.zeros([4, 3], 'int32'), t), 'E_DTYPE', /`input` of dtype float32/);
      expectError(() => fn(x, [1, 2] as never), 'E_ARG', /`target` to be a Tensor/);
      expectError(() => fn(x, t, { reduction: 'avg' as Red }), 'E_ARG', /reduction/);
      expectError(() => fn(x, t, { size_average: true } as never), 'E_ARG', /unknown option `size_average`/);
    }
    expectError(() => F.smoothL1Loss(x, t, { beta: -1 }), 'E_ARG', /`beta` >= 0, got -1/);
    expectError(() => F.smoothL1Loss(x, t, { beta: NaN }), 'E_ARG', /beta/);
    expectError(() => F.huberLoss(x, t, { delta: 0 }), 'E_ARG', /`delta` > 0, got 0/);
    expectError(() => F.binaryCrossEntropy(x, t, { weight: cc.ones([2, 4, 3]) }), 'E_SHAPE', /`weight` broadcastable to `input`'s shape \[4, 3\]/);
    expectError(() => F.binaryCrossEntropy(x, t, { weight: cc.ones([2]) }), 'E_SHAPE', /cannot be broadcast/);
    expectError(() => F.binaryCrossEntropy(x, t, { weight: cc.ones([3], 'int32') }), 'E_DTYPE');
    expectError(() => F.binaryCrossEntropyWithLogits(x, t, { posWeight: cc.ones([4]) }), 'E_SHAPE', /cannot be broadcast/);
    expectError(() => F.binaryCrossEntropyWithLogits(x, t, { posWeight: cc.ones([5, 4, 3]) }), 'E_SHAPE', /`posWeight` broadcastable/);
  });
});

describe('F.crossEntropy with class-probability targets', () => {
  /** Per position −Σ_c w_c q_c log softmax(x)_c, q = (1 − s) t + s / C; 'mean' over positions. */
  function probRef(x: Float64Array, t: Float64Array, shape: number[], w: number[] | null, s: number) {
    const [N, C] = shape, S = sizeOf(shape.slice(2));
    const per: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < S; p++) {
        const at = (c: number) => n * C * S + c * S + p;
        let m = -Infinity, z = 0;
        for (let c = 0; c < C; c++) m = Math.max(m, x[at(c)]);
        for (let c = 0; c < C; c++) z += Math.exp(x[at(c)] - m);
        let l = 0;
        for (let c = 0; c < C; c++) l -= (w ? w[c] : 1) * ((1 - s) * t[at(c)] + s / C) * (x[at(c)] - m - Math.log(z));
        per.push(l);
      }
    }
    return per;
  }

  const SHAPES: { shape: number[]; w: number[] | null; s: number }[] = [
    { shape: [5, 4], w: null, s: 0 },
    { shape: [5, 4], w: [0.5, 1, 2, 0.25], s: 0.2 },
    { shape: [2, 3, 4], w: [1, 2, 0.5], s: 0 },
    { shape: [2, 3, 2, 2], w: null, s: 0.1 },
  ];
  for (const [k, c] of SHAPES.entries()) {
    for (const reduction of REDUCTIONS) {
      it(`${JSON.stringify(c.shape)} weight ${JSON.stringify(c.w)} labelSmoothing ${c.s} (${reduction}) matches a float64 reference`, () => {
        const { t: x, v: xv } = randomTensor(c.shape, 3 + k, -3, 3);
        const { t: raw } = randomTensor(c.shape, 9 + k);
        const t = F.softmax(raw, 1);
        const tv = Float64Array.from(t.dataSync());
        const per = probRef(xv, tv, c.shape, c.w, c.s);
        const o = { reduction, labelSmoothing: c.s, ...(c.w ? { weight: cc.tensor(c.w) } : {}) };
        const y = F.crossEntropy(x, t, o);
        const total = per.reduce((a, b) => a + b, 0);
        if (reduction === 'none') expect(y.shape).to.deep.equal([c.shape[0], ...c.shape.slice(2)]);
        expectClose(y.dataSync(), reduction === 'none' ? per : [reduction === 'sum' ? total : total / per.length], 1e-5, 1e-6);
      });
    }
    it(`${JSON.stringify(c.shape)}: gradients of input and target match finite differences`, () => {
      const o = { labelSmoothing: c.s, ...(c.w ? { weight: cc.tensor(c.w) } : {}) };
      tapeCheck('crossEntropy probs', [{ shape: c.shape }, { shape: c.shape }], ([x, t]) => F.crossEntropy(x, t, o), { h: 1e-3, rtol: 3e-2, atol: 1e-3 });
    });
  }

  it('one-hot probabilities give the class-index loss', () => {
    const { t: x } = randomTensor([6, 5], 1, -2, 2);
    const labels = cc.tensor([0, 4, 2, 2, 1, 3], { dtype: 'int32' });
    const soft = F.crossEntropy(x, cc.oneHot(labels, 5), { labelSmoothing: 0.1 }).item();
    expect(soft).to.be.closeTo(F.crossEntropy(x, labels, { labelSmoothing: 0.1 }).item(), 1e-5);
  });

  it('refuses ignoreIndex >= 0 and a float target of another shape', () => {
    const x = cc.zeros([4, 3]), t = cc.zeros([4, 3]);
    expectError(() => F.crossEntropy(x, t, { ignoreIndex: 1 }), 'E_ARG', /ignoreIndex.*not supported with class-probability/);
    expect(() => F.crossEntropy(x, t, { ignoreIndex: -100 })).not.to.throw();
    expectError(() => F.crossEntropy(x, cc.zeros([4])), 'E_DTYPE', /int32 class labels, got float32 \(class probabilities must have `input`'s shape \[4, 3\], got \[4\]\)/);
    expectError(() => F.crossEntropy(x, t, { weight: cc.ones([4]) }), 'E_SHAPE', /`weight` of shape \[3\]/);
    expectError(() => F.crossEntropy(x, t, { labelSmoothing: 2 }), 'E_ARG', /labelSmoothing/);
    expectError(() => F.crossEntropy(cc.zeros([3]), cc.zeros([3])), 'E_SHAPE', /\[N, C\]/);
  });
});

describe('F: activations composed from tensor ops', () => {
  const REFS: [string, (x: F32) => F32, (x: number) => number][] = [
    ['silu', (x) => F.silu(x), (x) => x * sigmoid(x)],
    ['softplus', (x) => F.softplus(x), softplus],
    ['softplus beta 2', (x) => F.softplus(x, 2), (x) => softplus(2 * x) / 2],
    ['hardtanh', (x) => F.hardtanh(x), (x) => Math.min(Math.max(x, -1), 1)],
    ['hardtanh [-2, 3]', (x) => F.hardtanh(x, -2, 3), (x) => Math.min(Math.max(x, -2), 3)],
    ['relu6', (x) => F.relu6(x), (x) => Math.min(Math.max(x, 0), 6)],
    ['hardsigmoid', (x) => F.hardsigmoid(x), (x) => Math.min(Math.max(x / 6 + 0.5, 0), 1)],
    ['hardswish', (x) => F.hardswish(x), (x) => x * Math.min(Math.max(x / 6 + 0.5, 0), 1)],
    ['mish', (x) => F.mish(x), (x) => x * Math.tanh(softplus(x))],
    ['gelu', (x) => F.gelu(x), gelu64],
    ['gelu tanh', (x) => F.gelu(x, { approximate: 'tanh' }), geluTanh64],
    ['erf', (x) => cc.erf(x), erf64],
  ];
  // Away from the kinks (-3, -2, -1, 0, 1, 3, 6) by more than the finite-difference step.
  const xs = Float64Array.from([-7.5, -4.2, -2.6, -1.4, -0.55, -0.2, 0.3, 0.8, 1.6, 2.4, 4.5, 7.3, 25, -25]);
  for (const [name, fn, ref] of REFS) {
    it(`${name}: values against float64, gradient against finite differences`, () => {
      const x = cc.tensor(Float32Array.from(xs));
      expectClose(fn(x).dataSync(), Array.from(xs, (v) => ref(Math.fround(v))), 1e-5, 1e-6, name);
      tapeCheck(name, [{ shape: [xs.length], values: xs }], ([t]) => fn(t), { h: 1e-3, rtol: 2e-2, atol: 1e-3 });
    });
  }

  // PyTorch's backward passes no gradient at the ends (min < x < max); the values are the clamp's.
  it('hardtanh, relu6 and hardsigmoid: no gradient at their ends, values and NaN as the clamp', () => {
    for (const [name, fn, ends, inside] of [
      ['hardtanh', (t: F32) => F.hardtanh(t, -2, 3), [-2, 3], [-1, 2.5]],
      ['relu6', (t: F32) => F.relu6(t), [0, 6], [0.5, 5]],
      ['hardsigmoid', (t: F32) => F.hardsigmoid(t), [-3, 3], [-1, 2]],
    ] as const) {
      const x = cc.tensor([...ends, ...inside, ends[0] - 1, ends[1] + 1], { requiresGrad: true });
      fn(x).sum().backward();
      const slope = name === 'hardsigmoid' ? 1 / 6 : 1;
      expectClose(x.grad!.dataSync(), [0, 0, slope, slope, 0, 0], 1e-7, 0, name);
      const y = fn(cc.tensor([NaN, ends[0], ends[1]])).dataSync();
      expect(Number.isNaN(y[0]), `${name}(NaN)`).to.equal(true);
      expect(Array.from(y.slice(1))).to.deep.equal(name === 'hardsigmoid' ? [0, 1] : [...ends]);
    }
    // hardswish: PyTorch's backward is 0 below -3, x / 3 + 1/2 on [-3, 3], 1 above.
    const x = cc.tensor([-3, 3, -4, 4, 0], { requiresGrad: true });
    const y = F.hardswish(x);
    y.sum().backward();
    expectClose(x.grad!.dataSync(), [-0.5, 1.5, 0, 1, 0.5], 1e-7, 0, 'hardswish grad');
    expectClose(y.dataSync(), [0, 3, 0, 4, 0], 0, 0, 'hardswish');
    expect(Number.isNaN(F.hardswish(cc.tensor([NaN])).dataSync()[0])).to.equal(true);
  });

  it('gelu: large |x| without overflow, typed errors; nn.GELU as the function, in a saved model', () => {
    expectClose(F.gelu(cc.tensor([-30, 30, 0])).dataSync(), [-0, 30, 0], 0, 0);
    expectClose(F.gelu(cc.tensor([-30, 30]), { approximate: 'tanh' }).dataSync(), [-0, 30], 0, 0);
    expectError(() => F.gelu(cc.zeros([2]), { approximate: 'erf' as 'tanh' }), 'E_ARG', /approximate/);
    expectError(() => F.gelu(cc.zeros([2]), { approx: 'tanh' } as never), 'E_ARG');
    expectError(() => new nn.GELU('fast' as 'tanh'), 'E_ARG', /GELU/);
    const x = cc.randn([3, 4]);
    expect(Array.from(new nn.GELU().call(x).dataSync())).to.deep.equal(Array.from(F.gelu(x).dataSync()));
    expect(Array.from(new nn.GELU('tanh').call(x).dataSync())).to.deep.equal(Array.from(F.gelu(x, { approximate: 'tanh' }).dataSync()));
    expect(String(new nn.GELU({ approximate: 'tanh' }))).to.match(/GELU\(approximate='tanh'\)/);
  });

  it('softplus does not overflow and refuses beta 0; hardtanh refuses minVal > maxVal', () => {
    expectClose(F.softplus(cc.tensor([1000, -1000])).dataSync(), [1000, 0], 0, 0);
    expectError(() => F.softplus(cc.zeros([2]), 0), 'E_ARG', /beta/);
    expectError(() => F.hardtanh(cc.zeros([2]), 1, -1), 'E_ARG', /minVal/);
    expectError(() => F.silu(cc.zeros([2], 'int32')), 'E_DTYPE');
  });
});

describe('nn: the new losses as modules', () => {
  it('call the functional ops with their options; weights are buffers with PyTorch\'s keys', () => {
    const { t: x } = randomTensor([4, 3], 1);
    const { t: p } = randomTensor([4, 3], 2, 0.1, 0.9);
    const { t: t } = randomTensor([4, 3], 3, 0, 1);
    const w = cc.tensor([1, 2, 3]);
    const pairs: [cc.nn.Module, F32][] = [
      [new nn.MSELoss(), F.mseLoss(x, t)],
      [new nn.L1Loss({ reduction: 'sum' }), F.l1Loss(x, t, { reduction: 'sum' })],
      [new nn.SmoothL1Loss({ beta: 0.3, reduction: 'none' }), F.smoothL1Loss(x, t, { beta: 0.3, reduction: 'none' })],
      [new nn.HuberLoss({ delta: 0.4 }), F.huberLoss(x, t, { delta: 0.4 })],
      [new nn.BCELoss({ weight: w }), F.binaryCrossEntropy(p, t, { weight: w })],
      [new nn.BCEWithLogitsLoss({ weight: w, posWeight: w }), F.binaryCrossEntropyWithLogits(x, t, { weight: w, posWeight: w })],
    ];
    for (const [m, expected] of pairs) {
      const input = m instanceof nn.BCELoss ? p : x;
      expectClose((m.call(input, t) as F32).dataSync(), expected.dataSync(), 0, 0, m.typeName);
    }
    expect(Object.keys(new nn.BCELoss({ weight: w }).stateDict())).to.deep.equal(['weight']);
    expect(Object.keys(new nn.BCEWithLogitsLoss({ weight: w, posWeight: w }).stateDict())).to.deep.equal(['weight', 'pos_weight']);
    expect(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: w }).stateDict())).to.deep.equal(['pos_weight']);
    expect(new nn.SmoothL1Loss({ beta: 0.3 }).toString()).to.match(/^SmoothL1Loss\(beta=0.3\)/);
    expectError(() => new nn.HuberLoss({ beta: 1 } as never), 'E_ARG', /unknown option `beta`/);
    expectError(() => new nn.BCELoss({ posWeight: w } as never), 'E_ARG', /unknown option `posWeight`/);
  });
});

describe('nn: PyTorch\'s positional constructor arguments', () => {
  const cfg = (m: cc.nn.Module) => JSON.stringify(m.config());

  it('give the same module as the options forms', () => {
    const same: [cc.nn.Module, cc.nn.Module][] = [
      [new nn.LeakyReLU(0.2), new nn.LeakyReLU({ negativeSlope: 0.2 })],
      [new nn.LeakyReLU(0.2, true), new nn.LeakyReLU({ negativeSlope: 0.2, inplace: true })],
      [new nn.ELU(0.5), new nn.ELU({ alpha: 0.5 })],
      [new nn.Dropout(0.3), new nn.Dropout({ p: 0.3 })],
      [new nn.Dropout(0.3, false), new nn.Dropout({ p: 0.3 })],
      [new nn.Linear(3, 2, false), new nn.Linear(3, 2, { bias: false })],
      [new nn.Flatten(0, -1), new nn.Flatten({ startDim: 0, endDim: -1 })],
      [new nn.Flatten(2), new nn.Flatten({ startDim: 2 })],
      [new nn.PReLU(3, 0.1), new nn.PReLU({ numParameters: 3, init: 0.1 })],
      [new nn.PReLU(3, { init: 0.1 }), new nn.PReLU({ numParameters: 3, init: 0.1 })],
      [new nn.Conv2d(3, 8, 3, 2, 1, { bias: false }), new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1, bias: false })],
      [new nn.Conv2d(4, 8, 3, 1, 'same', 2, 2, false), new nn.Conv2d(4, 8, 3, { padding: 'same', dilation: 2, groups: 2, bias: false })],
      [new nn.Conv1d(4, 8, 3, 2, 1, 1, 4), new nn.Conv1d(4, 8, 3, { stride: 2, padding: 1, groups: 4 })],
      [new nn.ConvTranspose2d(4, 2, 4, 2, 1, 1, 2, false, 1), new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1, outputPadding: 1, groups: 2, bias: false })],
      [new nn.MaxPool2d(3, 2, 1), new nn.MaxPool2d(3, { stride: 2, padding: 1 })],
      [new nn.MaxPool2d(2, null, 0, 1, false, true), new nn.MaxPool2d(2, { padding: 0, dilation: 1, ceilMode: true })],
      [new nn.AvgPool2d(3, 1, 1, false, false, 4), new nn.AvgPool2d(3, { stride: 1, padding: 1, ceilMode: false, countIncludePad: false, divisorOverride: 4 })],
      [new nn.LPPool2d(2, 3, 1, true), new nn.LPPool2d(2, 3, { stride: 1, ceilMode: true })],
      [new nn.LocalResponseNorm(5, 2e-4, 0.7, 2), new nn.LocalResponseNorm(5, { alpha: 2e-4, beta: 0.7, k: 2 })],
      [new nn.BatchNorm2d(4, 1e-3, null, false, false), new nn.BatchNorm2d(4, { eps: 1e-3, momentum: null, affine: false, trackRunningStats: false })],
      [new nn.BatchNorm1d(4, 1e-3, 0.2), new nn.BatchNorm1d(4, { eps: 1e-3, momentum: 0.2 })],
      [new nn.ReLU(true), new nn.ReLU()],
      [new nn.Hardtanh(-2, 2), new nn.Hardtanh({ minVal: -2, maxVal: 2 })],
      [new nn.Softplus(2, 10), new nn.Softplus({ beta: 2, threshold: 10 })],
      [new nn.AdaptiveMaxPool2d(2, false), new nn.AdaptiveMaxPool2d(2)],
    ];
    for (const [a, b] of same) {
      expect(cfg(a), a.typeName).to.equal(cfg(b));
      expect(a.toString(), a.typeName).to.equal(b.toString());
      expect(a.namedParameters().map(([n, p]) => [n, p.shape]), a.typeName).to.deep.equal(b.namedParameters().map(([n, p]) => [n, p.shape]));
    }
    expect((new nn.LeakyReLU(0.2)).negativeSlope).to.equal(0.2);
    expect(new nn.Linear(3, 2, false).bias).to.equal(null);
    expect(Array.from(new nn.PReLU(3, 0.1).weight.dataSync())).to.deep.equal([0.1, 0.1, 0.1].map(Math.fround));
    expect(new nn.Flatten(0, -1).call(cc.zeros([2, 3, 4])).shape).to.deep.equal([24]);
    expect(new nn.MaxPool2d(3, 2, 1).call(cc.zeros([1, 1, 8, 8])).shape).to.deep.equal([1, 1, 4, 4]);
    expect(new nn.Softmax(1).dim).to.equal(1);
  });

  it('refuse a parameter given twice, too many arguments, bad values and returnIndices: true', () => {
    expectError(() => new nn.Linear(3, 2, false, { bias: true }), 'E_ARG', /Linear: got `bias` both as a positional argument and in the options/);
    expectError(() => new nn.Conv2d(3, 8, 3, 2, { stride: 1 }), 'E_ARG', /`stride` both/);
    expectError(() => new nn.Linear(3, 2, true, 4 as never), 'E_ARG', /Linear: expected options \(an object\) after at most 1 positional argument\(s\) \(bias\), got 4/);
    expectError(() => new nn.LeakyReLU(0.1, false, 3 as never), 'E_ARG', /at most 2 positional/);
    expectError(() => new nn.LeakyReLU('0.2' as never), 'E_ARG', /`negativeSlope` to be a finite number, got "0.2"/);
    expectError(() => new nn.LeakyReLU(0.2, 1 as never), 'E_ARG', /`inplace` to be a boolean/);
    expectError(() => new nn.ReLU('yes' as never), 'E_ARG', /`inplace` to be a boolean/);
    expectError(() => new nn.Dropout(1.5), 'E_ARG', /`p` in \[0, 1\]/);
    expectError(() => new nn.Linear(3, 2, 'no' as never), 'E_ARG', /`bias` to be a boolean/);
    expectError(() => new nn.MaxPool2d(2, 2, 0, 1, true as never), 'E_ARG', /returnIndices: true.*F\.maxPool2d/);
    expectError(() => new nn.MaxPool2d(2, { returnIndices: true } as never), 'E_ARG', /returnIndices/);
    expectError(() => new nn.AdaptiveMaxPool2d(2, true as never), 'E_ARG', /F\.adaptiveMaxPool2d/);
    expectError(() => new nn.BatchNorm2d(4, 1e-5, 2), 'E_ARG', /momentum/);
    expectError(() => new nn.Hardtanh(1, -1), 'E_ARG', /minVal/);
    expectError(() => new nn.Softplus(0), 'E_ARG', /beta/);
  });
});

describe('nn: Identity, ModuleList, BatchNorm1d, AdaptiveMaxPool2d and the activation modules', () => {
  it('Identity returns its input and ignores its arguments', () => {
    const x = cc.randn([2, 3]);
    expect(new nn.Identity(54, { unused: true }).call(x)).to.equal(x);
    expect(new nn.Identity().toString()).to.match(/^Identity\(\)/);
    expectError(() => new nn.Identity().call(3), 'E_ARG', /Identity/);
  });

  it('ModuleList registers its modules: PyTorch\'s keys, parameters, train/eval, at, iteration, no forward', () => {
    class Net extends nn.Module {
      layers = this.registerModule('layers', new nn.ModuleList([new nn.Linear(4, 8), new nn.BatchNorm1d(8)]));
      forward(x: cc.Tensor): cc.Tensor {
        for (const m of this.layers) x = m.call(x);
        return x;
      }
    }
    const net = new Net();
    net.layers.append(new nn.Dropout(0.5)).extend([new nn.Linear(8, 2)]);
    expect(net.layers.length).to.equal(4);
    expect(Object.keys(net.stateDict())).to.deep.equal([
      'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.1.running_mean', 'layers.1.running_var',
      'layers.1.num_batches_tracked', 'layers.3.weight', 'layers.3.bias',
    ]);
    expect(net.parameterCount()).to.equal(4 * 8 + 8 + 8 + 8 + 8 * 2 + 2);
    expect(net.layers.at(-1)).to.be.instanceOf(nn.Linear);
    expect([...net.layers].map((m) => m.typeName)).to.deep.equal(['Linear', 'BatchNorm1d', 'Dropout', 'Linear']);
    net.eval();
    expect([...net.layers].every((m) => !m.training)).to.equal(true);
    net.train();
    expect([...net.layers].every((m) => m.training)).to.equal(true);
    expect(net.call(cc.randn([5, 4])).shape).to.deep.equal([5, 2]);
    expect(net.toString()).to.match(/layers\): ModuleList\(\n {4}\(0\): Linear/);
    const list = new nn.ModuleList([new nn.Linear(2, 3)]);
    expect(Object.keys(list.stateDict())).to.deep.equal(['0.weight', '0.bias']);
    expectError(() => list.call(cc.zeros([1, 2])), 'E_ARG', /ModuleList: has no forward/);
    expectError(() => list.at(1), 'E_INDEX', /out of range/);
    expectError(() => list.append({} as never), 'E_ARG', /expected a Module/);
    expectError(() => new nn.ModuleList(3 as never), 'E_ARG', /array/);
  });

  it('ModuleDict registers its modules by name: PyTorch\'s keys in insertion order, get/set/has, iteration, save and load', () => {
    class MultiHead extends nn.Module {
      trunk = this.registerModule('trunk', new nn.Linear(4, 6));
      heads = this.registerModule('heads', new nn.ModuleDict({ digits: new nn.Linear(6, 10), parity: new nn.Linear(6, 2) }));
      forward(x: cc.Tensor, task = 'digits'): cc.Tensor {
        return this.heads.get(task).call(F.relu(this.trunk.call(x)));
      }
    }
    const net = new MultiHead();
    expect(Object.keys(net.stateDict())).to.deep.equal(['trunk.weight', 'trunk.bias', 'heads.digits.weight', 'heads.digits.bias', 'heads.parity.weight', 'heads.parity.bias']);
    expect(net.call(cc.randn([3, 4])).shape).to.deep.equal([3, 10]);
    expect(net.call(cc.randn([3, 4]), 'parity').shape).to.deep.equal([3, 2]);
    // Integer-like keys keep their insertion order (a plain object would sort them first).
    const d = new nn.ModuleDict([['b', new nn.ReLU()], ['10', new nn.Tanh()], ['2', new nn.Sigmoid()]]);
    expect([...d]).to.deep.equal(['b', '10', '2']);
    expect(d.values().map((m) => m.typeName)).to.deep.equal(['ReLU', 'Tanh', 'Sigmoid']);
    expect(d.has('10') && !d.has('c')).to.equal(true);
    const old = d.set('b', new nn.GELU());
    expect(old).to.be.instanceOf(nn.ReLU);
    expect(d.keys()).to.deep.equal(['b', '10', '2']);
    expect(d.get('b')).to.be.instanceOf(nn.GELU);
    expect(d.set('c', new nn.Identity())).to.equal(null);
    expect(d.length).to.equal(4);
    expect(net.toString()).to.match(/heads\): ModuleDict\(\n {4}\(digits\): Linear/);
    const dir = scratchDir('convnet-moduledict-');
    cc.models.save(net.heads, dir);
    const again = cc.models.load(dir) as cc.nn.ModuleDict;
    expect(again.keys()).to.deep.equal(['digits', 'parity']);
    const h = cc.randn([2, 6]);
    expectClose(again.get('parity').call(h).dataSync(), net.heads.get('parity').call(h).dataSync(), 0, 0, 'reloaded');
    expectError(() => d.get('missing'), 'E_ARG', /no module named "missing" \(it has b, 10, 2, c\)/);
    expectError(() => d.set('a.b', new nn.ReLU()), 'E_ARG', /letters, digits and _/);
    expectError(() => d.set('x', 3 as never), 'E_ARG', /expected a Module/);
    expectError(() => d.call(cc.zeros([1])), 'E_ARG', /ModuleDict: has no forward/);
    expectError(() => new nn.ModuleDict(3 as never), 'E_ARG', /object of modules/);
    expectError(() => new nn.ModuleDict([['a']] as never), 'E_ARG', /pairs/);
  });

  it('ParameterList and ParameterDict register their parameters: PyTorch\'s keys, tensors made Parameters, set in place, gradients, save and load', () => {
    class Gated extends nn.Module {
      scales = this.registerModule('scales', new nn.ParameterList([cc.ones([3]), new nn.Parameter(cc.full([3], 2))]));
      biases = this.registerModule('biases', new nn.ParameterDict({ digits: cc.zeros([3]), parity: cc.zeros([3]) }));
      forward(x: cc.Tensor, task = 'digits'): cc.Tensor {
        for (const s of this.scales) x = cc.mul(x, s);
        return cc.add(x, this.biases.get(task));
      }
    }
    const net = new Gated();
    expect(Object.keys(net.stateDict())).to.deep.equal(['scales.0', 'scales.1', 'biases.digits', 'biases.parity']);
    expect(net.parameters().length).to.equal(4);
    expect(net.scales.at(0)).to.be.instanceOf(nn.Parameter);
    expect(net.scales.at(-1).dataSync()[0]).to.equal(2);
    const x = cc.tensor([[1, 2, 3]]);
    net.call(x).sum().backward();
    // d/ds0 = x * s1, d/ds1 = x * s0, d/dbias = 1 (the task's only).
    expect(Array.from(net.scales.at(0).grad!.dataSync())).to.deep.equal([2, 4, 6]);
    expect(Array.from(net.scales.at(1).grad!.dataSync())).to.deep.equal([1, 2, 3]);
    expect(Array.from(net.biases.get('digits').grad!.dataSync())).to.deep.equal([1, 1, 1]);
    expect(net.biases.get('parity').grad).to.equal(null);
    // set keeps the position (the state dict's order), and returns the replaced one.
    const old = net.scales.set(0, cc.full([3], 5));
    expect(old.dataSync()[0]).to.equal(1);
    expect(net.biases.set('digits', cc.full([3], -1))!.dataSync()[0]).to.equal(0);
    expect(net.biases.set('sign', cc.ones([3]))).to.equal(null);
    expect(Object.keys(net.stateDict())).to.deep.equal(['scales.0', 'scales.1', 'biases.digits', 'biases.parity', 'biases.sign']);
    expect(Array.from(net.call(x).dataSync())).to.deep.equal([9, 19, 29]);
    expect([...net.biases]).to.deep.equal(['digits', 'parity', 'sign']);
    net.scales.append(cc.ones([3]));
    expect(net.scales.length).to.equal(3);
    for (const [m, ctor] of [[net.scales, nn.ParameterList], [net.biases, nn.ParameterDict]] as const) {
      const dir = scratchDir('convnet-paramlist-');
      cc.models.save(m, dir);
      const again = cc.models.load(dir);
      expect(again).to.be.instanceOf(ctor);
      const a = m.stateDict(), b = again.stateDict();
      expect(Object.keys(b)).to.deep.equal(Object.keys(a));
      for (const k of Object.keys(a)) expect(Array.from(b[k].dataSync()), k).to.deep.equal(Array.from(a[k].dataSync()));
    }
    expectError(() => net.scales.at(3), 'E_INDEX', /out of range for 3 parameters/);
    expectError(() => net.scales.append(3 as never), 'E_ARG', /Parameter or a tensor/);
    expectError(() => net.scales.append(cc.zeros([2], 'int32') as never), 'E_DTYPE', /float32/);
    expectError(() => net.biases.get('nope'), 'E_ARG', /no parameter named "nope" \(it has digits, parity, sign\)/);
    expectError(() => net.biases.set('a.b', cc.zeros([1])), 'E_ARG', /letters, digits and _/);
    expectError(() => net.scales.call(x), 'E_ARG', /ParameterList: has no forward/);
    expectError(() => net.biases.call(x), 'E_ARG', /ParameterDict: has no forward/);
    expectError(() => new nn.ParameterList(3 as never), 'E_ARG', /array/);
    expectError(() => new nn.ParameterDict([['a']] as never), 'E_ARG', /pairs/);
  });

  it('BatchNorm1d over [N, C] and [N, C, L]: batch statistics in training (running ones updated as PyTorch), running ones in eval', () => {
    for (const shape of [[6, 3], [4, 3, 5]]) {
      const bn = new nn.BatchNorm1d(3, { momentum: 0.1 });
      const { t: x, v } = randomTensor(shape, 7, -2, 2);
      const [N, C] = shape, L = shape[2] ?? 1, m = N * L;
      const at = (n: number, c: number, l: number) => v[n * C * L + c * L + l];
      const mean: number[] = [], variance: number[] = [];
      for (let c = 0; c < C; c++) {
        let s = 0, s2 = 0;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s += at(n, c, l);
        const mu = s / m;
        for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s2 += (at(n, c, l) - mu) ** 2;
        mean.push(mu);
        variance.push(s2 / m);
      }
      const expected = Array.from(v, (xi, i) => {
        const c = Math.floor(i / L) % C;
        return (xi - mean[c]) / Math.sqrt(variance[c] + 1e-5);
      });
      expectClose(bn.call(x).dataSync(), expected, 1e-4, 1e-5, `train ${shape}`);
      expectClose(bn.runningMean!.dataSync(), mean.map((mu) => 0.1 * mu), 1e-5, 1e-6, 'running_mean');
      expectClose(bn.runningVar!.dataSync(), variance.map((s) => 0.9 + (0.1 * s * m) / (m - 1)), 1e-5, 1e-6, 'running_var');
      expect(bn.numBatchesTracked).to.equal(1);
      bn.eval();
      const rm = bn.runningMean!.dataSync(), rv = bn.runningVar!.dataSync();
      const evalExpected = Array.from(v, (xi, i) => {
        const c = Math.floor(i / L) % C;
        return (xi - rm[c]) / Math.sqrt(rv[c] + 1e-5);
      });
      expectClose(bn.call(x).dataSync(), evalExpected, 1e-4, 1e-5, `eval ${shape}`);
      expect(bn.numBatchesTracked).to.equal(1);
    }
    expect(Object.keys(new nn.BatchNorm1d(3).stateDict())).to.deep.equal(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(Object.keys(new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false }).stateDict())).to.deep.equal([]);
    expect(new nn.BatchNorm1d(3).toString()).to.match(/^BatchNorm1d\(3, eps=0.00001, momentum=0.1, affine=true, track_running_stats=true\)/);
  });

  it('BatchNorm1d: gradients through the module match finite differences', () => {
    const bn = new nn.BatchNorm1d(3);
    tapeCheck('BatchNorm1d', [{ shape: [5, 3, 2] }], ([x]) => bn.call(x), { h: 1e-3, rtol: 3e-2, atol: 2e-3 });
  });

  it('BatchNorm1d refuses other ranks and channel counts; BatchNorm2d still wants [N, C, H, W]', () => {
    const bn = new nn.BatchNorm1d(3);
    expectError(() => bn.call(cc.zeros([2, 3, 4, 4])), 'E_SHAPE', /BatchNorm1d: expected input of shape \[N, C\] or \[N, C, L\], got \[2, 3, 4, 4\]/);
    expectError(() => bn.call(cc.zeros([2, 4])), 'E_SHAPE', /BatchNorm1d: expected 3 channels/);
    expectError(() => bn.call(cc.zeros([2, 3], 'int32')), 'E_DTYPE');
    expectError(() => new nn.BatchNorm2d(3).call(cc.zeros([2, 3])), 'E_SHAPE', /BatchNorm2d: expected input of shape \[N, C, H, W\]/);
    expectError(() => new nn.BatchNorm1d(0), 'E_ARG', /numFeatures/);
    expect(bn.numBatchesTracked).to.equal(0);
  });

  it('Dropout2d zeroes whole channel planes in training (about p of them), scales the rest, and is a copy in eval', () => {
    cc.manualSeed(3);
    const m = new nn.Dropout2d(0.25);
    const x = cc.ones([8, 50, 3, 2]);
    x.requiresGrad = true;
    const y = m.call(x) as F32;
    const v = y.dataSync();
    let dropped = 0;
    for (let plane = 0; plane < 8 * 50; plane++) {
      const vals = new Set(Array.from(v.subarray(plane * 6, plane * 6 + 6)));
      expect(vals.size, `plane ${plane}`).to.equal(1);
      const [only] = [...vals];
      expect([0, Math.fround(1 / 0.75)]).to.include(only);
      if (only === 0) dropped++;
    }
    expect(dropped / 400).to.be.within(0.17, 0.33);
    y.sum().backward();
    expectClose(x.grad!.dataSync(), v, 0, 0, 'gradient = scaled mask');
    m.eval();
    expectClose((m.call(x) as F32).dataSync(), x.dataSync(), 0, 0, 'eval');
    expect(new nn.Dropout2d(0.3).p).to.equal(0.3);
    expect(F.dropout2d(cc.ones([4, 2, 2]), 1).sum().item()).to.equal(0);   // [C, H, W]
    expectError(() => F.dropout2d(cc.ones([4, 2]), 0.5), 'E_SHAPE', /\[N, C, H, W\] or \[C, H, W\]/);
    expectError(() => new nn.Dropout2d(2), 'E_ARG', /`p` in \[0, 1\]/);
  });

  it('Unflatten splits one axis (one size may be -1) and refuses sizes that do not fit', () => {
    const x = cc.randn([2, 12, 3]);
    expect(new nn.Unflatten(1, [3, 4]).call(x).shape).to.deep.equal([2, 3, 4, 3]);
    expect(new nn.Unflatten(-2, [2, -1]).call(x).shape).to.deep.equal([2, 2, 6, 3]);
    const back = new nn.Sequential(new nn.Flatten(), new nn.Unflatten(1, [12, 3])).call(x);
    expectClose(back.dataSync(), x.dataSync(), 0, 0);
    expect(new nn.Unflatten(1, [3, 4]).toString()).to.match(/^Unflatten\(dim=1, unflattened_size=\[3, 4\]\)/);
    expectError(() => new nn.Unflatten(1, [5, 2]).call(x), 'E_SHAPE', /cannot split axis 1 of size 12/);
    expectError(() => new nn.Unflatten(1, [-1, -1]), 'E_ARG', /only one size may be -1/);
    expectError(() => new nn.Unflatten(1, 12 as never), 'E_ARG', /unflattenedSize/);
    expectError(() => new nn.Unflatten(3, [3, 4]).call(x), 'E_ARG', /dim/);
  });

  it('AdaptiveMaxPool2d is F.adaptiveMaxPool2d; the activation modules are their F ops', () => {
    const { t: x } = randomTensor([2, 3, 7, 5], 4, -8, 8);
    expectClose(new nn.AdaptiveMaxPool2d([3, 2]).call(x).dataSync(), F.adaptiveMaxPool2d(x, [3, 2]).dataSync(), 0, 0);
    expect(new nn.AdaptiveMaxPool2d(1).call(x).shape).to.deep.equal([2, 3, 1, 1]);
    const pairs: [cc.nn.Module, F32][] = [
      [new nn.SiLU(), F.silu(x)], [new nn.ReLU6(), F.relu6(x)], [new nn.Hardtanh(-2, 3), F.hardtanh(x, -2, 3)],
      [new nn.Hardsigmoid(), F.hardsigmoid(x)], [new nn.Hardswish(true), F.hardswish(x)], [new nn.Mish(), F.mish(x)],
      [new nn.Softplus(2), F.softplus(x, 2)],
    ];
    for (const [m, y] of pairs) expectClose((m.call(x) as F32).dataSync(), y.dataSync(), 0, 0, m.typeName);
  });
});

describeCuda('the composed losses, activations, dropout2d and BatchNorm1d on the GPU', () => {
  /** `t` on the device of `like`. */
  const on = <X extends cc.Tensor>(t: X, like: cc.Tensor): X => t.to(like.device) as X;
  const w3 = cc.tensor([0.5, 2, 1.25]);

  for (const reduction of REDUCTIONS) {
    it(`every regression and binary loss (${reduction}), with both gradients`, () => {
      const x = randomCpu([5, 3], 1, -2, 2), t = randomCpu([5, 3], 2, -2, 2);
      const p = randomCpu([5, 3], 3, 0.05, 0.95), y = randomCpu([5, 3], 4, 0, 1);
      compareDevices((a, b) => F.mseLoss(a, b, { reduction }), [x, t], { grads: true, what: 'mseLoss' });
      compareDevices((a, b) => F.l1Loss(a, b, { reduction }), [x, t], { grads: true, what: 'l1Loss' });
      compareDevices((a, b) => F.smoothL1Loss(a, b, { reduction, beta: 0.5 }), [x, t], { grads: true, what: 'smoothL1Loss' });
      compareDevices((a, b) => F.huberLoss(a, b, { reduction, delta: 0.7 }), [x, t], { grads: true, what: 'huberLoss' });
      compareDevices((a, b) => F.binaryCrossEntropy(a, b, { reduction, weight: on(w3, a) }), [p, y], { grads: true, gradBound: 1e-4, what: 'binaryCrossEntropy' });
      compareDevices((a, b) => F.binaryCrossEntropyWithLogits(a, b, { reduction, weight: on(w3, a), posWeight: on(w3, a) }), [x, y],
        { grads: true, what: 'binaryCrossEntropyWithLogits' });
      compareDevices((a, b) => F.crossEntropy(a, F.softmax(b, 1), { reduction, labelSmoothing: 0.1, weight: on(w3, a) }), [x, t],
        { grads: true, what: 'crossEntropy (probabilities)' });
    });
  }

  it('huge logits stay finite; BCE at 0 and 1 is 100', () => {
    const x = cc.tensor([1e4, -1e4, 80, -80, 0]).to('cuda'), t = cc.tensor([0, 1, 1, 0, 0.5]).to('cuda');
    expectClose(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' }).dataSync(), [1e4, 1e4, 0, 0, Math.LN2], 1e-6, 1e-6);
    expectClose(F.binaryCrossEntropy(cc.tensor([0, 1]).to('cuda'), cc.tensor([1, 0]).to('cuda'), { reduction: 'none' }).dataSync(), [100, 100], 1e-6, 0);
    // Outside [0, 1]: the GPU reports it through its error word, at the next wait.
    const bad = F.binaryCrossEntropy(cc.tensor([0.5, 1.5]).to('cuda'), cc.tensor([1, 0]).to('cuda'));
    expectError(() => bad.item(), 'E_ARG', /binaryCrossEntropy.*an element of `input` is/);
  });

  it('the composed activations and BatchNorm1d match the CPU', () => {
    const x = randomCpu([4, 3, 5], 5, -7, 7);
    const geluTanh = (a: cc.Tensor) => F.gelu(a, { approximate: 'tanh' });
    for (const fn of [F.silu, F.softplus, F.relu6, F.hardsigmoid, F.hardswish, F.mish, (a: cc.Tensor) => F.hardtanh(a, -2, 2), F.gelu, geluTanh]) {
      compareDevices((a) => fn(a), [x], { grads: true, what: fn.name });
    }
    compareDevices((a) => {
      cc.manualSeed(7);   // the same mask on both devices
      return F.dropout2d(a.reshape([4, 3, 5, 1]), 0.3);
    }, [x], { grads: true, what: 'dropout2d' });
    const cpu = new nn.BatchNorm1d(3), gpu = new nn.BatchNorm1d(3).to('cuda');
    // cuDNN's batch norm against the CPU's: the bound of cuda-layers' training cases
    compareDevices((a) => (a.device === 'cuda' ? gpu : cpu).call(a), [x], { bound: 1e-4, grads: true, what: 'BatchNorm1d' });
  });

  it('a weight on another device is E_DEVICE', () => {
    const x = cc.zeros([2, 3]).to('cuda');
    expectError(() => F.binaryCrossEntropy(x, x, { weight: w3 }), 'E_DEVICE');
    expectError(() => F.mseLoss(x, cc.zeros([2, 3])), 'E_DEVICE');
  });
});
