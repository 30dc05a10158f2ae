/**
 * The losses on the GPU (native/cuda/cross_entropy.cu, nll_loss.cu, hinge_loss.cu,
 * multi_margin_loss.cu, contrastive_loss.cu, triplet_margin_loss.cu, kl_div.cu) against the CPU
 * backend: every loss x every reduction x its options, forward and the gradients through
 * autograd (the GPU's dloss comes from the GPU ops after the loss, so the kernels read it on the
 * device), odd sizes, large logits, bad labels (E_INDEX when the result is read, and the device
 * still working afterwards) and mixed devices (E_DEVICE).
 *
 * Bound: 1e-5 (normalised error). The kernels compute in float32 with float64 sums as the CPU
 * does, and the per-sample values are summed in float64; only the order of the sums (and
 * float exp/log implementations, about 1 ulp) differ.
 *
 * Class weights, float pair labels and targets that must not get a gradient are not passed as
 * `compareDevices` inputs (every float input there requires grad and must get one): the test
 * function picks the copy on the device of its first input (`on`).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import * as L from '../lib/nn/functional/loss';
import { compareDevices, describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectError, expectRejects, rng } from './helpers';

const { F } = cc;
type Red = 'mean' | 'sum' | 'none';
type T = cc.Tensor;
const REDUCTIONS: Red[] = ['mean', 'sum', 'none'];
const BOUND = 1e-5;

/** int32 labels in [0, classes) (seeded), with every `ignoreEvery`-th set to `ignore`. */
function labels(shape: number[], classes: number, seed: number, ignore?: { index: number; every: number }): cc.Tensor<'int32'> {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Int32Array.from({ length: n }, (_, i) =>
    ignore && i % ignore.every === 0 ? ignore.index : Math.min(classes - 1, Math.floor(next() * classes)));
  return cc.tensor(v, { dtype: 'int32', shape });
}

/** `t` on the device of `like` (the CPU copy itself on the CPU). */
const on = <X extends T>(t: X, like: T): X => t.to(like.device) as X;

describeCuda('losses on the GPU', () => {
  describe('crossEntropy', () => {
    const shapes: number[][] = [[7, 5], [1, 1000], [3, 1000], [1, 1], [33, 10], [2, 5, 3, 7], [3, 4, 33], [1, 21, 9, 11]];
    for (const shape of shapes) {
      const C = shape[1];
      const perSample = [shape[0], ...shape.slice(2)];
      for (const reduction of REDUCTIONS) {
        it(`${JSON.stringify(shape)} ${reduction}`, () => {
          compareDevices((x, t) => F.crossEntropy(x, t, { reduction }), [randomCpu(shape, 1, -3, 3), labels(perSample, C, 2)],
            { bound: BOUND, grads: true });
        });
        it(`${JSON.stringify(shape)} ${reduction}: weight, ignoreIndex, labelSmoothing`, () => {
          const w = randomCpu([C], 3, 0.1, 2);
          const t = labels(perSample, C, 4, { index: -100, every: 3 });
          for (const o of [{ weight: w }, { ignoreIndex: -100 }, { labelSmoothing: 0.1 }, { weight: w, labelSmoothing: 0.25 }]) {
            compareDevices((x, tt) => F.crossEntropy(x, tt, { ...o, weight: o.weight && on(o.weight, x), reduction }),
              [randomCpu(shape, 5, -3, 3), t], { bound: BOUND, grads: true, what: JSON.stringify(Object.keys(o)) });
          }
        });
      }
    }

    it('an ignoreIndex inside the class range, and every target ignored (mean: NaN, gradient 0)', () => {
      const x = randomCpu([6, 4], 6);
      for (const reduction of REDUCTIONS) {
        compareDevices((xx, t) => F.crossEntropy(xx, t, { ignoreIndex: 2, reduction, labelSmoothing: 0.2 }), [x, labels([6], 4, 7)],
          { bound: BOUND, grads: true });
        const all = cc.tensor(new Int32Array(6).fill(1), { dtype: 'int32', shape: [6] });
        compareDevices((xx, t) => F.crossEntropy(xx, t, { ignoreIndex: 1, reduction }), [x, all], { bound: BOUND, grads: true });
        compareDevices((xx, t) => F.crossEntropy(xx, t, { ignoreIndex: 1, reduction, weight: on(randomCpu([4], 8, 0.5, 1), xx) }),
          [randomCpu([2, 4, 3], 9), cc.tensor(new Int32Array(6).fill(1), { dtype: 'int32', shape: [2, 3] })], { bound: BOUND, grads: true });
      }
      const gpu = F.crossEntropy(x.cuda(), cc.tensor(new Int32Array(6).fill(1), { dtype: 'int32', shape: [6] }).cuda(), { ignoreIndex: 1 });
      expect(Number.isNaN(gpu.dataSync()[0])).to.equal(true);
    });

    it('large logits stay finite (the max is subtracted before exp)', () => {
      for (const shape of [[5, 1000], [2, 7, 4, 5]]) {
        const perSample = [shape[0], ...shape.slice(2)];
        for (const reduction of REDUCTIONS) {
          compareDevices((x, t) => F.crossEntropy(x, t, { reduction, labelSmoothing: 0.1 }),
            [randomCpu(shape, 10, -500, 500), labels(perSample, shape[1], 11)], { bound: BOUND, grads: true });
        }
        const loss = F.crossEntropy(randomCpu(shape, 10, 1e4, 2e4).cuda(), labels(perSample, shape[1], 11).cuda());
        expect(Number.isFinite(loss.dataSync()[0])).to.equal(true);
      }
    });

    it('the same bits on every run (no float atomics)', () => {
      const x = randomCpu([4099, 10], 12).cuda(), t = labels([4099], 10, 13).cuda();
      const first = F.crossEntropy(x, t).dataSync(), second = F.crossEntropy(x, t).dataSync();
      expectBitIdentical(first, second, 'crossEntropy mean');
    });
  });

  describe('nllLoss', () => {
    for (const shape of [[7, 5], [1, 1000], [1, 1], [2, 5, 3, 7]]) {
      const C = shape[1];
      const perSample = [shape[0], ...shape.slice(2)];
      for (const reduction of REDUCTIONS) {
        it(`${JSON.stringify(shape)} ${reduction}, with and without weight and ignored targets`, () => {
          const w = randomCpu([C], 14, 0.1, 2);
          compareDevices((x, t) => F.nllLoss(x, t, { reduction }), [randomCpu(shape, 15, -5, 0), labels(perSample, C, 16)],
            { bound: BOUND, grads: true });
          const t = labels(perSample, C, 17, { index: -1, every: 4 });
          compareDevices((x, tt) => F.nllLoss(x, tt, { reduction, ignoreIndex: -1, weight: on(w, x) }), [randomCpu(shape, 18, -5, 0), t],
            { bound: BOUND, grads: true });
          const all = cc.tensor(new Int32Array(t.size).fill(-1), { dtype: 'int32', shape: perSample });
          compareDevices((x, tt) => F.nllLoss(x, tt, { reduction, ignoreIndex: -1, weight: on(w, x) }), [randomCpu(shape, 19), all],
            { bound: BOUND, grads: true });
        });
      }
    }
  });

  describe('hingeLoss (the survey\'s one-vs-all L1/L2 hinge)', () => {
    for (const shape of [[7, 5], [1, 1], [1, 1000], [33, 129]]) {
      for (const reduction of REDUCTIONS) {
        for (const p of [1, 2] as const) {
          it(`${JSON.stringify(shape)} ${reduction} p = ${p}`, () => {
            for (const margin of [1, 0.3]) {
              compareDevices((x, t) => F.hingeLoss(x, t, { p, margin, reduction }), [randomCpu(shape, 20, -2, 2), labels([shape[0]], shape[1], 21)],
                { bound: BOUND, grads: true });
            }
          });
        }
      }
    }
  });

  describe('multiMarginLoss', () => {
    for (const shape of [[7, 5], [1, 1], [1, 1000], [33, 129], [10]]) {
      const C = shape[shape.length - 1];
      const t = shape.length === 1 ? cc.tensor([3], { dtype: 'int32', shape: [1] }) : labels([shape[0]], C, 22);
      for (const reduction of REDUCTIONS) {
        for (const p of [1, 2] as const) {
          it(`${JSON.stringify(shape)} ${reduction} p = ${p}, with and without weight`, () => {
            const w = randomCpu([C], 23, 0.1, 2);
            compareDevices((x, tt) => F.multiMarginLoss(x, tt, { p, reduction }), [randomCpu(shape, 24, -2, 2), t],
              { bound: BOUND, grads: true });
            compareDevices((x, tt) => F.multiMarginLoss(x, tt, { p, reduction, margin: 0.5, weight: on(w, x) }), [randomCpu(shape, 25, -2, 2), t],
              { bound: BOUND, grads: true });
          });
        }
      }
    }
  });

  describe('contrastiveLoss', () => {
    for (const [N, D] of [[7, 5], [1, 1], [1, 129], [37, 129]]) {
      for (const reduction of REDUCTIONS) {
        it(`[${N}, ${D}] ${reduction}: int32 and float labels, margins`, () => {
          const y = labels([N], 2, 26);
          for (const margin of [1, 3]) {
            compareDevices((a, b, yy) => F.contrastiveLoss(a, b, yy, { margin, reduction }), [randomCpu([N, D], 27), randomCpu([N, D], 28), y],
              { bound: BOUND, grads: true });
          }
          const soft = randomCpu([N], 29, 0, 1);
          compareDevices((a, b) => F.contrastiveLoss(a, b, on(soft, a), { margin: 2, reduction }), [randomCpu([N, D], 30), randomCpu([N, D], 31)],
            { bound: BOUND, grads: true });
        });
      }
    }
    it('a dissimilar pair at distance 0 has a finite gradient', () => {
      const y = cc.tensor(new Int32Array(4), { dtype: 'int32', shape: [4] });
      compareDevices((a, yy) => F.contrastiveLoss(a, a, yy), [randomCpu([4, 9], 32), y], { bound: BOUND, grads: true });
    });
  });

  describe('tripletMarginLoss (one fused kernel per triplet)', () => {
    const variants: L.TripletMarginLossOptions[] = [
      {}, { p: 1 }, { swap: true }, { p: 1, swap: true }, { squared: true }, { squared: true, swap: true, margin: 0.2 },
      { eps: 0, margin: 0.5 }, { margin: 0 },
    ];
    for (const [N, D] of [[7, 5], [1, 1], [1, 129], [67, 129], [5, 1000]]) {
      for (const reduction of REDUCTIONS) {
        it(`[${N}, ${D}] ${reduction}: p 1/2, swap, squared, eps, margin`, () => {
          for (const o of variants) {
            compareDevices((a, p, n) => F.tripletMarginLoss(a, p, n, { ...o, reduction }),
              [randomCpu([N, D], 33), randomCpu([N, D], 34), randomCpu([N, D], 35)], { bound: BOUND, grads: true, what: JSON.stringify(o) });
          }
        });
      }
    }
    it('swap with positive = anchor: d(a, n) and d(p, n) tie and share the gradient', () => {
      for (const p of [1, 2] as const) {
        compareDevices((a, n) => F.tripletMarginLoss(a, a, n, { swap: true, p, margin: 5, reduction: 'sum' }),
          [randomCpu([5, 33], 36), randomCpu([5, 33], 37)], { bound: BOUND, grads: true });
      }
    });
  });

  describe('klDiv', () => {
    const withZeros = (shape: number[], seed: number) => {
      const v = randomCpu(shape, seed, 0, 1).dataSync();
      for (let i = 0; i < v.length; i += 5) v[i] = 0;
      return cc.tensor(v, { shape });
    };
    for (const shape of [[4, 10], [1, 1], [3, 5, 7], [2, 1000]]) {
      for (const reduction of [...REDUCTIONS, 'batchmean'] as const) {
        it(`${JSON.stringify(shape)} ${reduction}: the target requiring grad, logTarget`, () => {
          compareDevices((x, t) => F.klDiv(x, t, { reduction }), [randomCpu(shape, 38, -5, 0), randomCpu(shape, 39, 0.01, 1)],
            { bound: BOUND, grads: true });
          // Zeros in the target: 0 log 0 = 0 in the loss, NaN in the target's gradient (both devices).
          compareDevices((x, t) => F.klDiv(x, t, { reduction }), [randomCpu(shape, 40, -5, 0), withZeros(shape, 41)],
            { bound: BOUND, grads: true });
          compareDevices((x, t) => F.klDiv(x, t, { reduction, logTarget: true }), [randomCpu(shape, 42, -5, 0), randomCpu(shape, 43, -4, 0)],
            { bound: BOUND, grads: true });
          // A target without a gradient (the kernel's scaled-copy path for a reduced loss).
          const t = randomCpu(shape, 44, 0, 1);
          compareDevices((x) => F.klDiv(x, on(t, x), { reduction }), [randomCpu(shape, 45, -5, 0)], { bound: BOUND, grads: true });
        });
      }
    }
  });

  describe('the backward functions with dloss on the GPU', () => {
    it('crossEntropy, nllLoss, hingeLoss, multiMarginLoss, klDiv given dloss directly', () => {
      const x = randomCpu([9, 6], 46), t = labels([9], 6, 47);
      for (const reduction of REDUCTIONS) {
        const dloss = reduction === 'none' ? randomCpu([9], 48) : cc.tensor(0.625, { shape: [] });
        const run = (dev: 'cpu' | 'cuda') => {
          const [d, xx, tt] = [dloss.to(dev), x.to(dev), t.to(dev)];
          return [
            L.crossEntropyBackward(d, xx, tt, { reduction, labelSmoothing: 0.1 }),
            L.nllLossBackward(d, xx, tt, { reduction }),
            L.hingeLossBackward(d, xx, tt, { reduction, p: 2 }),
            L.multiMarginLossBackward(d, xx, tt, { reduction }),
          ];
        };
        const cpu = run('cpu'), gpu = run('cuda');
        cpu.forEach((c, i) => expectSameValues(gpu[i], c, BOUND, `${reduction} backward ${i}`));
      }
    });
  });

  describe('errors', () => {
    const x = cc.zeros([4, 3]);
    const bad = cc.tensor([0, 3, 1, -2], { dtype: 'int32', shape: [4] });

    it('a label out of range is E_INDEX when the result is read, naming the op; the device works afterwards', async () => {
      const gx = x.cuda(), gbad = bad.cuda(), s = cc.tensor(1, { shape: [] }).cuda();
      for (const [op, run] of [
        ['crossEntropy', () => F.crossEntropy(gx, gbad)],
        ['crossEntropy backward', () => L.crossEntropyBackward(s, gx, gbad)],
        ['nllLoss', () => F.nllLoss(gx, gbad)],
        ['nllLoss backward', () => L.nllLossBackward(s, gx, gbad)],
        ['hingeLoss', () => F.hingeLoss(gx, gbad)],
        ['hingeLoss backward', () => L.hingeLossBackward(s, gx, gbad)],
        ['multiMarginLoss', () => F.multiMarginLoss(gx, gbad)],
        ['multiMarginLoss backward', () => L.multiMarginLossBackward(s, gx, gbad)],
        ['crossEntropy', () => F.crossEntropy(cc.zeros([2, 3, 2, 1]).cuda(), cc.tensor([0, 1, 2, 7], { dtype: 'int32', shape: [2, 2, 1] }).cuda())],
      ] as [string, () => T][]) {
        const loss = run();
        await expectRejects(loss.data(), 'E_INDEX', new RegExp(`${op}: a target is out of range for 3 classes`));
      }
      // The error was reported once; the ignored index may be anything; the device keeps working.
      const ok = F.crossEntropy(gx, cc.tensor([0, -7, 1, 2], { dtype: 'int32', shape: [4] }).cuda(), { ignoreIndex: -7, reduction: 'sum' });
      const v = await ok.data();
      expect(v[0]).to.be.closeTo(3 * Math.log(3), 1e-5);
      compareDevices((xx, t) => F.crossEntropy(xx, t), [randomCpu([5, 3], 49), labels([5], 3, 50)], { bound: BOUND, grads: true });
    });

    it('tensors on two devices are E_DEVICE', () => {
      const gx = x.cuda(), t = cc.tensor([0, 1, 2, 0], { dtype: 'int32', shape: [4] });
      expectError(() => F.crossEntropy(gx, t), 'E_DEVICE');
      expectError(() => F.crossEntropy(gx, t.cuda(), { weight: cc.ones([3]) }), 'E_DEVICE');
      expectError(() => F.tripletMarginLoss(gx, x, gx), 'E_DEVICE');
      expectError(() => F.klDiv(gx, x), 'E_DEVICE');
    });
  });
});
