/**
 * The losses of one value per element pair (MSE, L1, smooth L1, Huber, BCE of logits with and
 * without weights, soft margin) on the CPU
 * for same-shape operands: one native pass each way (native/cpu/pointwise_loss.cc). Values and both gradients against float64 for
 * every reduction, the branches at |d| = beta and at 0, special values, finite differences
 * through the tape, the thread count, typed errors. (Broadcast operands and the GPU use the
 * composed form, tested in test/nn-more.test.ts and test/cuda-*.test.ts.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, rng, tapeCheck } from './helpers';

const { F } = cc;
type F32 = cc.Tensor<'float32'>;
type Reduction = 'none' | 'mean' | 'sum';

type Kind = 'mseLoss' | 'l1Loss' | 'smoothL1Loss' | 'huberLoss';

/** float64 loss per element and its derivative in d = x - t, as PyTorch's formulas. */
function reference(kind: Kind, d: number, beta: number): [number, number] {
  const z = Math.abs(d);
  if (kind === 'mseLoss') return [d * d, 2 * d];
  if (kind === 'l1Loss') return [z, Math.sign(d)];
  if (kind === 'huberLoss') return z < beta ? [0.5 * z * z, d] : [beta * (z - 0.5 * beta), Math.sign(d) * beta];
  return z < beta ? [0.5 * z * z / beta, d / beta] : [z - 0.5 * beta, Math.sign(d)];
}

function lossOf(kind: Kind, x: cc.Tensor, t: cc.Tensor, beta: number, reduction: Reduction): F32 {
  if (kind === 'mseLoss') return F.mseLoss(x, t, { reduction });
  if (kind === 'l1Loss') return F.l1Loss(x, t, { reduction });
  return kind === 'huberLoss' ? F.huberLoss(x, t, { delta: beta, reduction }) : F.smoothL1Loss(x, t, { beta, reduction });
}

function operands(n: number, seed: number): { x: Float32Array; t: Float32Array } {
  const next = rng(seed);
  const x = Float32Array.from({ length: n }, () => (next() - 0.5) * 6);
  const t = Float32Array.from({ length: n }, () => (next() - 0.5) * 6);
  return { x, t };
}

describe('F.mseLoss, F.l1Loss, F.smoothL1Loss, F.huberLoss, F.binaryCrossEntropyWithLogits, F.softMarginLoss: native on the CPU', () => {
  for (const name of ['mseLoss', 'l1Loss', 'smoothL1Loss', 'huberLoss'] as const) {
    const loss = (x: cc.Tensor, t: cc.Tensor, beta: number, reduction: Reduction) => lossOf(name, x, t, beta, reduction);
    const betas = name === 'mseLoss' || name === 'l1Loss' ? [1] : [1, 0.25, 3];
    for (const beta of betas) {
      for (const reduction of ['none', 'mean', 'sum'] as const) {
        it(`${name} beta ${beta} ${reduction}: the loss and both gradients as float64`, () => {
          const { x, t } = operands(3001, 7 + beta * 10);
          const tx = cc.tensor(x, { requiresGrad: true }) as F32;
          const tt = cc.tensor(t, { requiresGrad: true }) as F32;
          const y = loss(tx, tt, beta, reduction);
          const next = rng(3);
          const dyValues = reduction === 'none' ? Float32Array.from(x, () => Math.fround(next() + 0.5)) : Float32Array.of(1.5);
          y.backward(cc.tensor(dyValues, { shape: [...y.shape] }));
          const per = Array.from(x, (v, i) => reference(name, v - t[i], beta));
          // d = x - t is rounded to float32 first, as PyTorch's kernel does
          const rounded = Array.from(x, (v, i) => reference(name, Math.fround(v - t[i]), beta));
          const scale = reduction === 'mean' ? 1 / x.length : 1;
          const g = Array.from(x, (_, i) => (reduction === 'none' ? dyValues[i] : dyValues[0] * scale) * rounded[i][1]);
          if (reduction === 'none') expectClose(y.dataSync(), rounded.map((p) => p[0]), 1e-6, 1e-7, `${name} none`);
          else {
            const total = per.reduce((s, p) => s + p[0], 0) * scale;
            expectClose(y.dataSync(), [total], 1e-5, 0, `${name} ${reduction}`);
          }
          expectClose(tx.grad!.dataSync(), g, 1e-6, 1e-9, `${name} dx`);
          expectClose(tt.grad!.dataSync(), g.map((v) => -v), 1e-6, 1e-9, `${name} dt`);
        });
      }
    }

    it(`${name}: the branches at |d| = beta and at 0, as PyTorch's; NaN gives NaN`, () => {
      const values = [1, -1, 1.0000001, 0, 2, NaN, Infinity];
      const x = cc.tensor(values, { requiresGrad: true }) as F32;
      const t = cc.zeros([7]);
      const y = loss(x, t, 1, 'none');
      y.sum().backward();
      const v = Array.from(y.dataSync()), g = Array.from(x.grad!.dataSync());
      const f = Math.fround;
      const want: Record<Kind, [number[], number[]]> = {
        mseLoss: [[1, 1, f(f(1.0000001) * f(1.0000001)), 0, 4], [2, -2, f(2 * f(1.0000001)), 0, 4]],
        l1Loss: [[1, 1, f(1.0000001), 0, 2], [1, -1, 1, 0, 1]],
        smoothL1Loss: [[0.5, 0.5, f(1.0000001) - 0.5, 0, 1.5], [1, -1, 1, 0, 1]],
        huberLoss: [[0.5, 0.5, f(1.0000001) - 0.5, 0, 1.5], [1, -1, 1, 0, 1]],
      };
      expect(v.slice(0, 5)).to.deep.equal(want[name][0]);
      expect(Number.isNaN(v[5]) && v[6] === Infinity).to.equal(true);
      expect(g.slice(0, 5)).to.deep.equal(want[name][1]);
      expect(Number.isNaN(g[5])).to.equal(true);
    });
  }

  for (const reduction of ['none', 'mean', 'sum'] as const) {
    it(`binaryCrossEntropyWithLogits ${reduction}: the loss and both gradients as float64, stable far out`, () => {
      const { x } = operands(3001, 17);
      const next = rng(5);
      const t = Float32Array.from(x, () => next());
      x.set([100, -100, 30, -30, 0, 1e-30, -88, 88]);
      const tx = cc.tensor(x, { requiresGrad: true }) as F32;
      const tt = cc.tensor(t, { requiresGrad: true }) as F32;
      const y = F.binaryCrossEntropyWithLogits(tx, tt, { reduction });
      const dyValues = reduction === 'none' ? Float32Array.from(x, () => Math.fround(next() + 0.5)) : Float32Array.of(1.5);
      y.backward(cc.tensor(dyValues, { shape: [...y.shape] }));
      const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
      const per = Array.from(x, (v, i) => softplus(v) - v * t[i]);
      const scale = reduction === 'mean' ? 1 / x.length : 1;
      const g = Array.from(x, (_, i) => (reduction === 'none' ? dyValues[i] : dyValues[0] * scale));
      if (reduction === 'none') expectClose(y.dataSync(), per, 2e-6, 1e-6, 'bce logits none');
      else expectClose(y.dataSync(), [per.reduce((a, b) => a + b, 0) * scale], 1e-5, 0, `bce logits ${reduction}`);
      const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
      // sigmoid(x) - t cancels where they are close: an ulp of sigmoid (6e-8) times g, absolute
      const gMax = Math.max(...g);
      expectClose(tx.grad!.dataSync(), Array.from(x, (v, i) => (sigmoid(v) - t[i]) * g[i]), 1e-6, 1.2e-7 * gMax, 'bce logits dx');
      expectClose(tt.grad!.dataSync(), Array.from(x, (v, i) => -v * g[i]), 1e-6, 1e-9, 'bce logits dt');
    });
  }

  it('binaryCrossEntropyWithLogits: NaN gives NaN; weights of ones change nothing', () => {
    const x = cc.tensor([NaN, 0, 2], { requiresGrad: true }) as F32;
    const y = F.binaryCrossEntropyWithLogits(x, cc.tensor([1, 0.5, 0]), { reduction: 'none' });
    y.sum().backward();
    const v = y.dataSync(), g = x.grad!.dataSync();
    expect(Number.isNaN(v[0]) && Number.isNaN(g[0])).to.equal(true);
    expectClose([v[1], v[2], g[1], g[2]], [Math.LN2, 2 + Math.log1p(Math.exp(-2)), 0, 1 / (1 + Math.exp(-2))], 1e-6, 1e-7);
    const a = cc.randn([6, 5]), b = cc.rand([6, 5]);
    expectClose(F.binaryCrossEntropyWithLogits(a, b, { weight: cc.ones([5]) }).dataSync(), F.binaryCrossEntropyWithLogits(a, b).dataSync(), 1e-6, 1e-7);
    expectClose(F.binaryCrossEntropyWithLogits(a, b, { posWeight: cc.ones([5]) }).dataSync(), F.binaryCrossEntropyWithLogits(a, b).dataSync(), 1e-6, 1e-7);
  });

  const softplus64 = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
  const sigmoid64 = (z: number) => 1 / (1 + Math.exp(-z));

  for (const [weighting, reduction] of [['posWeight', 'mean'], ['posWeight', 'none'], ['weight [C]', 'sum'], ['weight [N, C] and posWeight', 'mean']] as const) {
    it(`binaryCrossEntropyWithLogits with ${weighting}, ${reduction}: the loss and the three gradients as float64`, () => {
      const N = 37, C = 23;
      const { x } = operands(N * C, 29);
      x.set([100, -100, 30, -30, 0, -88, 88]);
      const next = rng(6);
      const t = Float32Array.from(x, () => next());
      const p = Float32Array.from({ length: C }, () => Math.fround(0.2 + 3 * next()));
      const wFull = weighting.startsWith('weight [N, C]');
      const w = Float32Array.from({ length: wFull ? N * C : C }, () => Math.fround(0.5 + next()));
      const tx = cc.tensor(x, { shape: [N, C], requiresGrad: true }) as F32;
      const tt = cc.tensor(t, { shape: [N, C], requiresGrad: true }) as F32;
      const tw = cc.tensor(w, { shape: wFull ? [N, C] : [C], requiresGrad: true }) as F32;
      const hasP = weighting.includes('posWeight'), hasW = weighting.startsWith('weight');
      const y = F.binaryCrossEntropyWithLogits(tx, tt, { reduction, ...(hasP ? { posWeight: cc.tensor(p) } : {}), ...(hasW ? { weight: tw } : {}) });
      const dyValues = reduction === 'none' ? Float32Array.from(x, () => Math.fround(next() + 0.5)) : Float32Array.of(1.5);
      y.backward(cc.tensor(dyValues, { shape: [...y.shape] }));
      const pj = (i: number) => (hasP ? p[i % C] : 1), wi = (i: number) => (hasW ? w[wFull ? i : i % C] : 1);
      // PyTorch's form: (1 - t) x + (1 + (p - 1) t) softplus(-x), times the weight
      const plain = Array.from(x, (v, i) => (1 - t[i]) * v + (1 + (pj(i) - 1) * t[i]) * softplus64(-v));
      const per = plain.map((l, i) => l * wi(i));
      const scale = reduction === 'mean' ? 1 / x.length : 1;
      const g = Array.from(x, (_, i) => (reduction === 'none' ? dyValues[i] : dyValues[0] * scale));
      if (reduction === 'none') {
        // At |x| = 100 the two terms cancel to ~p t |x| (PyTorch's form too): an ulp of 100 is 8e-6.
        expectClose(y.dataSync().subarray(0, 7), per.slice(0, 7), 0, 3e-5, 'loss far out');
        expectClose(y.dataSync().subarray(7), per.slice(7), 3e-6, 1e-6, 'loss');
      } else expectClose(y.dataSync(), [per.reduce((a, b) => a + b, 0) * scale], 1e-5, 0, 'loss');
      const gw = g.map((v, i) => v * wi(i));
      const gMax = Math.max(...gw.map(Math.abs)) * 4;
      expectClose(tx.grad!.dataSync(), Array.from(x, (v, i) => ((1 - t[i]) - (1 + (pj(i) - 1) * t[i]) * sigmoid64(-v)) * gw[i]), 1e-5, 1.2e-7 * gMax, 'dx');
      expectClose(tt.grad!.dataSync(), Array.from(x, (v, i) => ((pj(i) - 1) * softplus64(-v) - v) * gw[i]), 1e-5, 1e-6, 'dt');
      if (hasW) {
        const dw = new Float64Array(w.length);
        plain.forEach((l, i) => { dw[wFull ? i : i % C] += l * g[i]; });
        expectClose(tw.grad!.dataSync(), Array.from(dw), 1e-5, 1e-6, 'dweight');
      }
    });
  }

  it('binaryCrossEntropyWithLogits: a posWeight that needs a gradient, or is not one per class, gives the same values composed', () => {
    const x = cc.randn([5, 4], 0, 2, { requiresGrad: true }) as F32, t = cc.rand([5, 4]);
    const p = cc.tensor([0.5, 2, 1, 3], { requiresGrad: true }) as F32;
    const composed = F.binaryCrossEntropyWithLogits(x, t, { posWeight: p, reduction: 'none' });
    composed.sum().backward();
    expect(p.grad!.shape).to.deep.equal([4]);
    const gComposed = x.grad!.dataSync().slice();
    x.grad = null;
    const native = F.binaryCrossEntropyWithLogits(x, t, { posWeight: p.detach(), reduction: 'none' });
    native.sum().backward();
    expectClose(native.dataSync(), composed.dataSync(), 2e-6, 1e-6, 'values');
    expectClose(x.grad!.dataSync(), gComposed, 2e-6, 1e-7, 'dx');
    const full = cc.clone(cc.expand(cc.reshape(p.detach(), [1, 4]), [5, 4]));   // [N, C]: composed
    expectClose(F.binaryCrossEntropyWithLogits(x, t, { posWeight: full, reduction: 'none' }).dataSync(), native.dataSync(), 2e-6, 1e-6, 'full posWeight');
  });

  for (const reduction of ['none', 'mean', 'sum'] as const) {
    it(`softMarginLoss ${reduction}: the loss and both gradients as float64, stable far out; int32 targets`, () => {
      const { x } = operands(3001, 31);
      x.set([100, -100, 30, -30, 0, -88, 88, 1e-30]);
      const next = rng(8);
      // mostly +-1, some soft values (the formula takes any target)
      const t = Float32Array.from(x, (_, i) => (i % 7 === 3 ? Math.fround(next() * 2 - 1) : next() < 0.5 ? -1 : 1));
      const tx = cc.tensor(x, { requiresGrad: true }) as F32;
      const tt = cc.tensor(t, { requiresGrad: true }) as F32;
      const y = F.softMarginLoss(tx, tt, { reduction });
      const dyValues = reduction === 'none' ? Float32Array.from(x, () => Math.fround(next() + 0.5)) : Float32Array.of(1.5);
      y.backward(cc.tensor(dyValues, { shape: [...y.shape] }));
      const z = Array.from(x, (v, i) => -Math.fround(v * t[i]));
      const per = z.map(softplus64);
      const scale = reduction === 'mean' ? 1 / x.length : 1;
      const g = Array.from(x, (_, i) => (reduction === 'none' ? dyValues[i] : dyValues[0] * scale));
      if (reduction === 'none') expectClose(y.dataSync(), per, 2e-6, 1e-7, 'loss');
      else expectClose(y.dataSync(), [per.reduce((a, b) => a + b, 0) * scale], 1e-5, 0, 'loss');
      expectClose(tx.grad!.dataSync(), z.map((v, i) => -t[i] * sigmoid64(v) * g[i]), 1e-5, 1e-9, 'dx');
      expectClose(tt.grad!.dataSync(), z.map((v, i) => -x[i] * sigmoid64(v) * g[i]), 1e-5, 1e-9, 'dt');
      const ints = Int32Array.from(t, (v) => (v < 0 ? -1 : 1));
      const yi = F.softMarginLoss(tx.detach(), cc.tensor(ints, { dtype: 'int32' }), { reduction: 'none' });
      expectClose(yi.dataSync(), Array.from(x, (v, i) => softplus64(-v * ints[i])), 2e-6, 1e-7, 'int32 target');
    });
  }

  it('softMarginLoss: NaN gives NaN; a broadcast target gives the same values composed', () => {
    const x = cc.tensor([NaN, 0, 2, -3, 1, 0.5], { shape: [2, 3], requiresGrad: true }) as F32;
    const y = F.softMarginLoss(x, cc.tensor([1, -1, 1, 1, -1, 1], { shape: [2, 3] }), { reduction: 'none' });
    y.sum().backward();
    expect(Number.isNaN(y.dataSync()[0]) && Number.isNaN(x.grad!.dataSync()[0])).to.equal(true);
    const a = cc.randn([4, 3]), row = cc.tensor([1, -1, 1]);
    const broadcast = F.softMarginLoss(a, row, { reduction: 'none' });
    const same = F.softMarginLoss(a, cc.clone(cc.expand(cc.reshape(row, [1, 3]), [4, 3])), { reduction: 'none' });
    expectClose(broadcast.dataSync(), same.dataSync(), 2e-6, 1e-7);
  });

  it('a target without requiresGrad gets no gradient; an input without it, neither', () => {
    const x = cc.randn([4, 5], 0, 2, { requiresGrad: true }) as F32;
    const t = cc.randn([4, 5], 0, 2);
    F.smoothL1Loss(x, t).backward();
    expect(x.grad!.shape).to.deep.equal([4, 5]);
    expect(t.grad).to.equal(null);
    const t2 = cc.randn([4, 5], 0, 2, { requiresGrad: true }) as F32;
    F.huberLoss(cc.randn([4, 5]), t2, { delta: 0.5 }).backward();
    expect(t2.grad!.shape).to.deep.equal([4, 5]);
  });

  it('gradients match finite differences through the tape (away from the kinks)', () => {
    const next = rng(11);
    const values = Float64Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1) * (0.05 + 2.9 * next()));
    for (const [what, fn] of [
      ['smoothL1 mean', ([a, b]: F32[]) => F.smoothL1Loss(a, b, { beta: 0.5 })],
      ['smoothL1 none', ([a, b]: F32[]) => F.smoothL1Loss(a, b, { reduction: 'none' })],
      ['huber sum', ([a, b]: F32[]) => F.huberLoss(a, b, { delta: 2, reduction: 'sum' })],
      ['mse mean', ([a, b]: F32[]) => F.mseLoss(a, b)],
      ['l1 none', ([a, b]: F32[]) => F.l1Loss(a, b, { reduction: 'none' })],
      ['bce logits mean', ([a, b]: F32[]) => F.binaryCrossEntropyWithLogits(a, b)],
      ['bce logits posWeight sum', ([a, b]: F32[]) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: cc.linspace(0.5, 3, 10), reduction: 'sum' })],
      ['soft margin mean', ([a, b]: F32[]) => F.softMarginLoss(a, b)],
    ] as const) {
      tapeCheck(what, [{ shape: [4, 10], values }, { shape: [4, 10], values: values.map((v) => v * 0.3) }], fn, { h: 1e-3, rtol: 1e-2, atol: 1e-3 });
    }
  });

  it('empty inputs: mean NaN, sum 0, none empty, as PyTorch', () => {
    const e = cc.zeros([0, 3]);
    expect(Number.isNaN(F.smoothL1Loss(e, e).item())).to.equal(true);
    expect(F.huberLoss(e, e, { reduction: 'sum' }).item()).to.equal(0);
    expect(F.smoothL1Loss(e, e, { reduction: 'none' }).shape).to.deep.equal([0, 3]);
  });

  it('the results do not depend on the thread count', () => {
    const { x, t } = operands(200003, 5);
    const tx = cc.tensor(x), tt = cc.tensor(t);
    const rows = { x: cc.tensor(x.subarray(0, 13 * 15383), { shape: [15383, 13] }), t: cc.tensor(t.subarray(0, 13 * 15383), { shape: [15383, 13] }) };
    const before = cc.getNumThreads();
    try {
      const run = () => [F.smoothL1Loss(tx, tt, { reduction: 'none', beta: 0.7 }), F.huberLoss(tx, tt, { reduction: 'none', delta: 1.3 }),
        F.mseLoss(tx, tt, { reduction: 'none' }), F.l1Loss(tx, tt, { reduction: 'none' }),
        F.binaryCrossEntropyWithLogits(tx, tt, { reduction: 'none' }), F.softMarginLoss(tx, tt, { reduction: 'none' }),
        F.binaryCrossEntropyWithLogits(rows.x, rows.t, { posWeight: cc.linspace(0.5, 3, 13), reduction: 'none' }),
      ].map((y) => y.dataSync());
      cc.setNumThreads(1);
      const one = run();
      cc.setNumThreads(2);
      const two = run();
      one.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(two[i].buffer)), `loss ${i}`).to.equal(true));
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('bad input fails typed', () => {
    expectError(() => F.smoothL1Loss(cc.zeros([2]), cc.zeros([2]), { beta: -1 }), 'E_ARG');
    expectError(() => F.huberLoss(cc.zeros([2]), cc.zeros([2]), { delta: 0 }), 'E_ARG');
    expectError(() => F.smoothL1Loss(cc.zeros([2], 'int32'), cc.zeros([2])), 'E_DTYPE');
    expectError(() => F.mseLoss(cc.zeros([2]), cc.zeros([2], 'int32')), 'E_DTYPE');
    expectError(() => F.l1Loss(cc.zeros([2, 3]), cc.zeros([3, 2])), 'E_SHAPE');
    expectError(() => F.smoothL1Loss(cc.zeros([2]), cc.zeros([3])), 'E_SHAPE');
    expectError(() => F.softMarginLoss(cc.zeros([2, 3]), cc.zeros([3, 2])), 'E_SHAPE');
    expectError(() => F.softMarginLoss(cc.zeros([2], 'int32'), cc.zeros([2])), 'E_DTYPE');
    expectError(() => F.binaryCrossEntropyWithLogits(cc.zeros([2, 3]), cc.zeros([2, 3]), { posWeight: cc.zeros([2]) }), 'E_SHAPE');
    const d = cc.zeros([2]);
    d.dispose();
    expectError(() => F.huberLoss(d, cc.zeros([2])), 'E_DISPOSED');
    const p = cc.ones([2]);
    const y = F.binaryCrossEntropyWithLogits(cc.zeros([3, 2], { requiresGrad: true }), cc.zeros([3, 2]), { posWeight: p });
    p.dispose();   // the tape keeps its own handle: the backward still runs
    y.backward();
  });
});
