/**
 * The CUDA path of the pooling family (native/cuda/max_pool.cu ... roi_pool.cu): every op
 * forward and backward (through autograd) on the GPU against the CPU backend, over odd shapes
 * and every window option, on both sides of each cuDNN/own-kernel switch:
 * - maxPool2d: cuDNN without indices, dilation 1 and no extra ceilMode window (only when
 *   nothing records: grads off); our kernel with indices (whenever autograd records), dilation
 *   or an extra ceilMode window;
 * - avgPool2d: cuDNN both directions without divisorOverride and extra ceilMode window; our
 *   kernels otherwise.
 *
 * Bounds (normalised error, test/cuda-helpers.ts):
 * - 0 for indices, lambdas, and whatever our kernels compute in the CPU's order (max values,
 *   max pooling's gradient: the ordered scatter adds in the CPU's order, RoI pooling);
 * - 1e-5 for sums in another order (cuDNN's average, the gathered backward passes) and for
 *   powf (Lp pooling with p not 1, 2, 3: a few ulp from the host's pow).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import type { Tensor } from '../lib';
import { maxPool2dBackward, maxUnpool2dBackward, maxUnpool2dForward, mixedPool2dBackward, roiPoolWithArgmax } from '../lib/nn/functional/pool';
import { compareDevices, describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectError, expectRejects, philoxUniform } from './helpers';

const { F } = cc;

/** A CPU float32 tensor of the given values. */
function values(v: ArrayLike<number>, shape: number[]): Tensor {
  return cc.tensor(Float32Array.from(v), { shape });
}

/** Random values rounded to halves in [-2, 2]: many ties in every window. */
function withTies(shape: number[], seed: number): Tensor {
  return values(Array.from(randomCpu(shape, seed, -2, 2).dataSync(), (v) => Math.round(v * 2) / 2), shape);
}

/** Random values with NaN, inf and -inf written at every `every`-th position. */
function withSpecials(shape: number[], seed: number, every = 7): Tensor {
  const specials = [NaN, Infinity, -Infinity, NaN];
  const v = Array.from(randomCpu(shape, seed).dataSync());
  for (let i = 0, j = 0; i < v.length; i += every, j++) v[i] = specials[j % specials.length];
  return values(v, shape);
}

interface PoolCase { shape: number[]; k: number | [number, number]; o: Record<string, unknown> }

// Odd shapes: planes not a multiple of 32, batch 1, the 3-D [C, H, W] form, a large-ish one.
const MAX_CASES: PoolCase[] = [
  { shape: [2, 3, 8, 8], k: 2, o: {} },
  { shape: [1, 5, 9, 7], k: 3, o: { stride: 2, padding: 1 } },
  { shape: [3, 13, 11], k: [3, 2], o: { stride: [2, 1], padding: [1, 0] } },
  { shape: [2, 3, 10, 9], k: 3, o: { stride: 2, ceilMode: true } },                 // an extra ceilMode window
  { shape: [2, 3, 9, 9], k: 3, o: { stride: 2, padding: 1, ceilMode: true } },      // ceilMode adding nothing
  { shape: [2, 2, 13, 12], k: 3, o: { stride: 2, padding: 1, dilation: 2 } },
  { shape: [1, 3, 17, 19], k: [2, 3], o: { stride: [3, 2], padding: [1, 1], dilation: [2, 3], ceilMode: true } },
  { shape: [1, 1, 1, 1], k: 1, o: {} },
  { shape: [4, 33, 30, 31], k: 3, o: { stride: 2, padding: 1 } },
  { shape: [1, 2, 67, 131], k: 5, o: { stride: 1, padding: 2 } },                   // heavy overlap: 25 windows per value
];

const AVG_CASES: PoolCase[] = [
  { shape: [2, 3, 8, 8], k: 2, o: {} },
  { shape: [1, 5, 9, 7], k: 3, o: { stride: 2, padding: 1 } },
  { shape: [1, 5, 9, 7], k: 3, o: { stride: 2, padding: 1, countIncludePad: false } },
  { shape: [3, 13, 11], k: [3, 2], o: { stride: [2, 1], padding: [1, 1], countIncludePad: false } },
  { shape: [2, 3, 10, 9], k: 3, o: { stride: 2, padding: 1, ceilMode: true } },    // an extra window, clipped divisor
  { shape: [2, 3, 10, 9], k: 3, o: { stride: 2, padding: 1, ceilMode: true, countIncludePad: false } },
  { shape: [2, 3, 9, 9], k: 3, o: { stride: 2, padding: 1, ceilMode: true } },      // ceilMode adding nothing: cuDNN
  { shape: [2, 3, 9, 8], k: 3, o: { stride: 2, padding: 1, divisorOverride: 5 } },
  { shape: [2, 3, 9, 8], k: [2, 4], o: { stride: [1, 3], ceilMode: true, divisorOverride: 3 } },
  { shape: [4, 33, 30, 31], k: 3, o: { stride: 2, padding: 1 } },
  { shape: [1, 2, 67, 131], k: 5, o: { stride: 1, padding: 2, countIncludePad: false } },
];

// Max pooling's gradient where windows overlap (stride < kernel): an input that is the maximum
// of several windows gets the sum of their gradients, and the CPU (native/cpu/max_pool.cc: row
// pairs, vectors of 16 inputs) and the GPU (one thread per input) add them in different orders:
// a few units in the last place. Values and indices stay exact (bound 0).
const MAX_GRAD_BOUND = 1e-6;
const describeCase = (c: PoolCase) => `${JSON.stringify(c.shape)} k ${JSON.stringify(c.k)} ${JSON.stringify(c.o)}`;

describeCuda('pooling', () => {
  describe('maxPool2d', () => {
    it('without indices (cuDNN where it fits, nothing recorded) matches the CPU, padding never winning', () => {
      for (const c of MAX_CASES) {
        // all negative: a padding counted as 0 would win at the borders
        compareDevices((x) => F.maxPool2d(x, c.k, c.o), [randomCpu(c.shape, 1, -3, -1)], { bound: 0, what: describeCase(c) });
        compareDevices((x) => F.maxPool2d(x, c.k, c.o), [randomCpu(c.shape, 2)], { bound: 0, what: describeCase(c) });
      }
    });

    it('our kernel: values and indices are the CPU\'s exactly, gradients to rounding, over every window option', () => {
      for (const c of MAX_CASES) {
        compareDevices((x) => F.maxPool2d(x, c.k, { ...c.o, returnIndices: true }), [randomCpu(c.shape, 3)],
          { bound: 0, gradBound: MAX_GRAD_BOUND, grads: true, what: describeCase(c) });
        compareDevices((x) => F.maxPool2d(x, c.k, c.o), [randomCpu(c.shape, 4, -3, -1)], { bound: 0, gradBound: MAX_GRAD_BOUND, grads: true, what: describeCase(c) });
      }
    });

    it('ties: the first maximum in row-major order, on both paths', () => {
      for (const c of MAX_CASES) {
        compareDevices((x) => F.maxPool2d(x, c.k, { ...c.o, returnIndices: true }), [withTies(c.shape, 5)],
          { bound: 0, gradBound: MAX_GRAD_BOUND, grads: true, what: `ties ${describeCase(c)}` });
        compareDevices((x) => F.maxPool2d(x, c.k, c.o), [withTies(c.shape, 6)], { bound: 0, what: `ties cuDNN ${describeCase(c)}` });
      }
    });

    it('NaN propagates (a later NaN wins the index) and inf / -inf windows, on both paths', () => {
      for (const c of MAX_CASES) {
        compareDevices((x) => F.maxPool2d(x, c.k, { ...c.o, returnIndices: true }), [withSpecials(c.shape, 7, 3)],
          { bound: 0, gradBound: MAX_GRAD_BOUND, grads: true, what: `NaN ${describeCase(c)}` });
        compareDevices((x) => F.maxPool2d(x, c.k, c.o), [withSpecials(c.shape, 8, 5)], { bound: 0, what: `NaN cuDNN ${describeCase(c)}` });
      }
      // a window of -inf values points at its first in-bounds tap
      const x = values(new Array(32).fill(-Infinity), [2, 1, 4, 4]);
      compareDevices((t) => F.maxPool2d(t, 3, { stride: 1, padding: 1, returnIndices: true }), [x], { bound: 0, gradBound: MAX_GRAD_BOUND, grads: true, what: '-inf' });
    });

    it('the backward of user-given indices (repeated, any order) sums in the CPU\'s order; a bad index is E_INDEX', async () => {
      const dy = randomCpu([2, 3, 5, 5], 9);
      const idx = cc.tensor(Int32Array.from({ length: 150 }, (_, i) => (i * 7919) % 11), { shape: [2, 3, 5, 5], dtype: 'int32' });
      const cpu = maxPool2dBackward(dy, idx, [2, 3, 4, 4]);
      const gpu = maxPool2dBackward(dy.to('cuda'), idx.to('cuda'), [2, 3, 4, 4]);
      expectSameValues(gpu, cpu, 0, 'user indices');
      const bad = cc.tensor(Int32Array.from({ length: 150 }, (_, i) => (i === 77 ? 16 : 0)), { shape: [2, 3, 5, 5], dtype: 'int32' });
      const dx = maxPool2dBackward(dy.to('cuda'), bad.to('cuda'), [2, 3, 4, 4]);
      expectError(() => dx.dataSync(), 'E_INDEX', /out of range/);
      const neg = cc.tensor(Int32Array.from({ length: 150 }, (_, i) => (i === 3 ? -1 : 0)), { shape: [2, 3, 5, 5], dtype: 'int32' });
      await expectRejects(maxPool2dBackward(dy.to('cuda'), neg.to('cuda'), [2, 3, 4, 4]).data(), 'E_INDEX');
      // the device works on afterwards
      expectSameValues(maxPool2dBackward(dy.to('cuda'), idx.to('cuda'), [2, 3, 4, 4]), cpu, 0, 'after the error');
    });
  });

  describe('maxUnpool2d', () => {
    it('forward and gradient are the CPU\'s exactly, repeated indices included (the later stays, and alone gets the gradient)', () => {
      // 400 indices a plane into its first 64 places: many repeats, across a warp's 32 lanes and across its chunks
      const idx = cc.tensor(Int32Array.from({ length: 2 * 3 * 20 * 20 }, (_, i) => (i * 7919 + (i >> 5)) % 64), { shape: [2, 3, 20, 20], dtype: 'int32' });
      compareDevices((x, i) => F.maxUnpool2d(x, i, 3, { stride: 1, padding: 1 }), [randomCpu([2, 3, 20, 20], 21), idx],
        { bound: 0, gradBound: 0, grads: true, what: 'repeated indices' });
      const [y, pooled] = F.maxPool2d(randomCpu([2, 5, 9, 7], 22), 2, { returnIndices: true });
      compareDevices((x, i) => F.maxUnpool2d(x, i, 2, { outputSize: [9, 7] }), [y, pooled], { bound: 0, gradBound: 0, grads: true, what: 'after maxPool2d' });
      compareDevices((x, i) => F.maxUnpool2d(x, i, 2), [randomCpu([3, 4, 4], 23), cc.zeros([3, 4, 4], 'int32')], { bound: 0, gradBound: 0, grads: true, what: 'rank 3, one place' });
      compareDevices((x, i) => maxUnpool2dForward(x, i, [3, 20, 20]), [randomCpu([3, 20, 20], 26), idx.reshape([6, 20, 20]).narrow(0, 0, 3)], { bound: 0, what: 'the kept mask' });
    });

    it('an index outside the output plane is E_INDEX, forward and backward; the device works on', async () => {
      const x = randomCpu([1, 2, 3, 3], 24).to('cuda');
      const bad = cc.tensor(Int32Array.from({ length: 18 }, (_, i) => (i === 11 ? 36 : i)), { shape: [1, 2, 3, 3], dtype: 'int32' }).to('cuda');
      expectError(() => F.maxUnpool2d(x, bad, 2).dataSync(), 'E_INDEX', /out of range/);
      const neg = cc.tensor(Int32Array.from({ length: 18 }, (_, i) => (i === 2 ? -1 : i)), { shape: [1, 2, 3, 3], dtype: 'int32' }).to('cuda');
      await expectRejects(maxUnpool2dBackward(randomCpu([1, 2, 6, 6], 25).to('cuda'), neg, cc.ones([1, 2, 3, 3], 'int32').to('cuda'), [1, 2, 3, 3]).data(), 'E_INDEX');
      const good = cc.tensor(Int32Array.from({ length: 18 }, (_, i) => i), { shape: [1, 2, 3, 3], dtype: 'int32' });
      expectSameValues(F.maxUnpool2d(x, good.to('cuda'), 2), F.maxUnpool2d(x.to('cpu'), good, 2), 0, 'after the error');
      expectError(() => F.maxUnpool2d(x, good, 2), 'E_DEVICE');  // indices on the CPU, x on the GPU
    });
  });

  describe('avgPool2d', () => {
    it('forward and gradient match the CPU, cuDNN and our kernels, every option', () => {
      for (const c of AVG_CASES) {
        compareDevices((x) => F.avgPool2d(x, c.k, c.o), [randomCpu(c.shape, 11)], { bound: 1e-5, grads: true, what: describeCase(c) });
      }
    });
  });

  describe('lpPool2d', () => {
    const cases: PoolCase[] = [
      { shape: [2, 3, 8, 8], k: 2, o: {} },
      { shape: [1, 5, 9, 7], k: 3, o: { stride: 2 } },
      { shape: [3, 13, 11], k: [3, 2], o: { stride: [2, 1], ceilMode: true } },
      { shape: [2, 3, 10, 9], k: 3, o: { stride: 2, ceilMode: true, mean: true } },
      { shape: [4, 33, 30, 31], k: 3, o: { stride: 2 } },
    ];
    it('p = 1, 2, 3, 1.5, 4 (positive inputs; then signed ones for p = 1, 2), with mean and ceilMode', () => {
      for (const c of cases) {
        for (const p of [1, 2, 3]) {
          compareDevices((x) => F.lpPool2d(x, p, c.k, c.o), [randomCpu(c.shape, 12 + p, 0.1, 2)],
            { bound: 1e-5, grads: true, what: `p ${p} ${describeCase(c)}` });
        }
        for (const p of [1.5, 4]) {
          compareDevices((x) => F.lpPool2d(x, p, c.k, c.o), [randomCpu(c.shape, 20 + p, 0.1, 2)],
            { bound: 1e-5, grads: true, what: `p ${p} ${describeCase(c)}` });
        }
      }
      // signed inputs: p = 1 is a plain sum, p = 2 squares the sign away
      compareDevices((x) => F.lpPool2d(x, 1, 2), [randomCpu([2, 3, 8, 8], 30)], { bound: 1e-5, grads: true, what: 'p 1 signed' });
      compareDevices((x) => F.lpPool2d(x, 2, 3, { stride: 2 }), [randomCpu([2, 3, 9, 9], 31)], { bound: 1e-5, grads: true, what: 'p 2 signed' });
    });
    it('a window summing to 0 gives 0 and a zero gradient', () => {
      const x = values([0, 0, 1, 2, 0, 0, 3, 4], [1, 1, 2, 4]);
      compareDevices((t) => F.lpPool2d(t, 2, 2), [x], { bound: 0, grads: true, what: 'zero window' });
    });
  });

  describe('mixedPool2d', () => {
    const cases: PoolCase[] = [
      { shape: [2, 3, 8, 8], k: 2, o: {} },
      { shape: [1, 5, 9, 7], k: 3, o: { stride: 2, padding: 1 } },
      { shape: [2, 3, 10, 9], k: 3, o: { stride: 2, padding: 1, ceilMode: true } },
      { shape: [3, 13, 11], k: [3, 2], o: { stride: [2, 1], padding: [1, 0] } },
      { shape: [4, 33, 30, 31], k: 3, o: { stride: 2, padding: 1 } },
    ];
    it('draws the same lambdas as the CPU for the same seed (bernoulli, uniform), = Philox', () => {
      const x = randomCpu([5, 7, 6, 6], 40);
      for (const mode of ['bernoulli', 'uniform'] as const) {
        const draw = (t: Tensor) => {
          cc.manualSeed(4321);
          cc.rand([6]);  // the lambdas start at block 2
          return F.mixedPool2d(t, 2, { training: true, mode, returnLambda: true });
        };
        const [, lc] = draw(x);
        const [, lg] = draw(x.to('cuda'));
        expectSameValues(lg, lc, 0, `${mode} lambda`);
        const lam = lg.dataSync();
        for (let i = 0; i < 35; i++) {
          const u = philoxUniform(4321n, 2, i);
          expect(lam[i], `${mode} lambda[${i}]`).to.equal(mode === 'bernoulli' ? (u < 0.5 ? 1 : 0) : u);
        }
      }
    });
    it('forward, lambdas and gradient match the CPU in all three modes (fixed, bernoulli, uniform)', () => {
      const modes: Array<Record<string, unknown>> = [
        { training: false }, { training: false, lambda: 0.3 }, { training: true, mode: 'bernoulli' }, { training: true, mode: 'uniform' },
      ];
      for (const c of cases) {
        for (const m of modes) {
          const fn = (x: Tensor) => {
            cc.manualSeed(99);
            return F.mixedPool2d(x, c.k, { ...c.o, ...m, returnLambda: true });
          };
          compareDevices(fn, [randomCpu(c.shape, 41)], { bound: 1e-5, grads: true, what: `${JSON.stringify(m)} ${describeCase(c)}` });
          compareDevices(fn, [withTies(c.shape, 42)], { bound: 1e-5, grads: true, what: `ties ${JSON.stringify(m)} ${describeCase(c)}` });
        }
      }
    });
    it('a bad index in the backward is E_INDEX', () => {
      const dy = randomCpu([1, 2, 2, 2], 43).to('cuda');
      const idx = cc.tensor(Int32Array.from([0, 1, 2, 99, 0, 0, 0, 0]), { shape: [1, 2, 2, 2], dtype: 'int32' }).to('cuda');
      const lam = values([0.5, 0.5], [1, 2]).to('cuda');
      const dx = mixedPool2dBackward(dy, idx, lam, [1, 2, 4, 4], 2);
      expectError(() => dx.dataSync(), 'E_INDEX', /out of range/);
    });
  });

  describe('adaptive pooling', () => {
    const cases: Array<{ shape: number[]; size: number | [number | null, number | null] }> = [
      { shape: [2, 3, 8, 8], size: 2 }, { shape: [1, 5, 13, 11], size: [5, 3] }, { shape: [3, 7, 5], size: [7, 7] },  // bigger than the input
      { shape: [2, 3, 9, 10], size: 1 }, { shape: [2, 3, 9, 10], size: [null, 4] }, { shape: [4, 33, 30, 31], size: [6, 7] },
    ];
    it('adaptiveAvgPool2d: forward and gradient (overlapping windows) match the CPU', () => {
      for (const c of cases) {
        compareDevices((x) => F.adaptiveAvgPool2d(x, c.size), [randomCpu(c.shape, 50)], { bound: 1e-5, grads: true, what: JSON.stringify(c) });
      }
    });
    it('adaptiveMaxPool2d: values, indices and gradients exactly the CPU\'s, with ties and NaN', () => {
      for (const c of cases) {
        for (const x of [randomCpu(c.shape, 51), withTies(c.shape, 52), withSpecials(c.shape, 53, 4)]) {
          compareDevices((t) => F.adaptiveMaxPool2d(t, c.size, { returnIndices: true }), [x], { bound: 0, grads: true, what: JSON.stringify(c) });
        }
      }
    });
  });

  describe('roiPool', () => {
    // boxes: (batch index, x1, y1, x2, y2), in input coordinates before spatialScale
    const boxes = values([
      0, 0, 0, 15, 15,        // the whole image at scale 0.5
      1, 2.4, 3.6, 9.5, 7.5,  // rounding half away from zero
      0, -6, -4, 5, 6,        // partly outside (top left)
      1, 10, 12, 40, 40,      // partly outside (bottom right)
      2, 30, 30, 50, 50,      // wholly outside: every bin empty (0, argmax -1)
      0, 3, 3, 3, 3,          // one pixel
      2, 8, 2, 1, 9,          // x2 < x1: a width of 1
      0, 0, 0, 15, 15,        // a repeat: the same argmax summed twice
    ], [8, 5]);
    it('forward, argmax and gradient (overlapping boxes) exactly the CPU\'s', () => {
      for (const [size, scale] of [[[3, 3], 0.5], [[7, 5], 0.5], [[2, 4], 1], [[4, 4], 0.25]] as Array<[[number, number], number]>) {
        for (const x of [randomCpu([3, 5, 8, 9], 60), withTies([3, 5, 8, 9], 61)]) {
          // the boxes are no input of compareDevices: they get no gradient (rounded to the grid)
          compareDevices((t) => roiPoolWithArgmax(t, boxes.to(t.device), size, scale), [x], { bound: 0, grads: true, what: `roi ${size} ${scale}` });
        }
      }
      const first = values(boxes.dataSync().slice(0, 20), [4, 5]);
      compareDevices((t) => F.roiPool(t, first.to(t.device), 7, 1 / 4), [randomCpu([2, 33, 20, 24], 62)],
        { bound: 0, grads: true, what: 'roi 33 channels' });
    });
    it('no boxes gives [0, C, oh, ow]; a batch index out of range is E_INDEX at the next wait', () => {
      const x = randomCpu([2, 3, 6, 6], 63).to('cuda');
      expect(F.roiPool(x, cc.zeros([0, 5]).to('cuda'), 2).shape).to.deep.equal([0, 3, 2, 2]);
      const y = F.roiPool(x, values([0, 0, 0, 1, 1, 2, 0, 0, 1, 1], [2, 5]).to('cuda'), 2);
      expectError(() => y.dataSync(), 'E_INDEX', /batch index/);
      const z = F.roiPool(x, values([-1, 0, 0, 1, 1], [1, 5]).to('cuda'), 2);
      expectError(() => z.dataSync(), 'E_INDEX');
    });
    it('a NaN coordinate gives NaN bins and index -1, infinite and huge ones clamp: exactly the CPU\'s', () => {
      const boxes = values([0, NaN, 0, 1, 1, 0, 0, 0, 3, 3, 1, -Infinity, -Infinity, Infinity, Infinity, 1, -1e30, -1e30, 1e30, 1e30], [4, 5]);
      compareDevices((t) => roiPoolWithArgmax(t, boxes.to(t.device), 2, 1), [randomCpu([2, 3, 6, 6], 64)], { bound: 0, what: 'roi NaN and huge boxes' });
    });
  });

  describe('devices', () => {
    it('tensors on two devices in one call are E_DEVICE', () => {
      const x = randomCpu([1, 2, 6, 6], 70);
      const xg = x.to('cuda');
      expectError(() => F.roiPool(xg, values([0, 0, 0, 3, 3], [1, 5]), 2), 'E_DEVICE');
      const [y, idx] = F.maxPool2d(x, 2, { returnIndices: true });
      expectError(() => maxPool2dBackward(y.to('cuda'), idx, [1, 2, 6, 6]), 'E_DEVICE');
      expectError(() => maxPool2dBackward(y, idx.to('cuda'), [1, 2, 6, 6]), 'E_DEVICE');
      const lam = values([0.5, 0.5], [1, 2]);
      expectError(() => mixedPool2dBackward(y.to('cuda'), idx.to('cuda'), lam, [1, 2, 6, 6], 2), 'E_DEVICE');
    });
    it('outputs live on the input\'s device', () => {
      const xg = randomCpu([1, 2, 6, 6], 71).to('cuda');
      expect(F.maxPool2d(xg, 2).device).to.equal('cuda');
      expect(F.avgPool2d(xg, 2).device).to.equal('cuda');
      expect(F.adaptiveAvgPool2d(xg, 1).device).to.equal('cuda');
      const [, lam] = F.mixedPool2d(xg, 2, { returnLambda: true });
      expect(lam.device).to.equal('cuda');
    });
  });
});
