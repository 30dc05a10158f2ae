/**
 * RoIAlign (native/cpu/roi_align.cc, cuda/roi_align.cu; F.roiAlign, vision.roiAlign, nn.RoIAlign)
 * against torchvision 0.14's roi_align in float64 (test/fixtures/make/roi_align.py): forward and
 * input gradient over aligned true/false, adaptive and fixed sampling, spatialScale 1, 0.5 and
 * 1/16, boxes inside, outside, huge, tiny, empty and reversed, several images. Then finite
 * differences through the tape, the thread count, the cases torchvision leaves undefined (NaN
 * and infinite boxes, astronomically large boxes), empty inputs, typed errors, and the GPU
 * against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import type { Tensor } from '../lib';
import { roiAlignBackward } from '../lib/nn/functional/pool';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, expectRejects, loadFixture, randomTensor, tapeCheck } from './helpers';

const { F, nn, vision } = cc;
type F32 = Tensor<'float32'>;

interface Flat { shape: number[]; values: number[] }
interface Case {
  name: string; x: string; boxes: Flat; outputSize: [number, number];
  spatialScale: number; samplingRatio: number; aligned: boolean; y: Flat; dy: Flat; dx: Flat;
}
interface Fixture { inputs: Record<string, Flat>; cases: Case[] }

const fixture = loadFixture<Fixture>('roi_align');
const of = (f: Flat): F32 => cc.tensor(Float32Array.from(f.values), { shape: f.shape }) as F32;
const optionsOf = (c: Case) => ({ spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned });

/** Boxes [K, 5] from rows. */
const boxesOf = (rows: number[][]): F32 => cc.tensor(rows.flat(), { shape: [rows.length, 5] }) as F32;

describe('roiAlign', () => {
  describe('agrees with torchvision.ops.roi_align in float64 (committed fixtures)', () => {
    for (const c of fixture.cases) {
      it(c.name, () => {
        const x = of(fixture.inputs[c.x]), boxes = of(c.boxes), dy = of(c.dy);
        // a float32 bin is torchvision's double value rounded once
        const y = F.roiAlign(x, boxes, c.outputSize, optionsOf(c));
        expect(y.shape).to.deep.equal(c.y.shape);
        expectClose(y.dataSync(), c.y.values, 1e-7, 1e-8, `${c.name} forward`);
        // the gradient, through the internal backward and through the tape
        const dx = roiAlignBackward(dy, boxes, x.shape, optionsOf(c));
        expectClose(dx.dataSync(), c.dx.values, 1e-6, 1e-7, `${c.name} backward`);
        x.requiresGrad = true;
        F.roiAlign(x, boxes, c.outputSize, optionsOf(c)).backward(dy);
        expectBitIdentical(x.grad!.dataSync() as Float32Array, dx.dataSync(), `${c.name} tape`);
      });
    }
  });

  it('vision.roiAlign is F.roiAlign; nn.RoIAlign forwards it with its settings', () => {
    expect(vision.roiAlign).to.equal(F.roiAlign);
    const c = fixture.cases.find((k) => k.aligned && k.samplingRatio === 2)!;
    const x = of(fixture.inputs[c.x]), boxes = of(c.boxes);
    const layer = new nn.RoIAlign(c.outputSize, c.spatialScale, c.samplingRatio, c.aligned);
    expectBitIdentical(layer.call(x, boxes).dataSync() as Float32Array, F.roiAlign(x, boxes, c.outputSize, optionsOf(c)).dataSync());
    expect(layer.toString()).to.match(/sampling_ratio=2, aligned=true/);
    // defaults: spatialScale 1, samplingRatio -1 (adaptive), aligned false (torchvision's)
    const d = fixture.cases.find((k) => !k.aligned && k.samplingRatio === -1 && k.spatialScale === 1)!;
    expectClose(new nn.RoIAlign(d.outputSize).call(of(fixture.inputs[d.x]), of(d.boxes)).dataSync(), d.y.values, 1e-7, 1e-8, 'defaults');
    expectClose(F.roiAlign(of(fixture.inputs[d.x]), of(d.boxes), d.outputSize).dataSync(), d.y.values, 1e-7, 1e-8, 'F defaults');
  });

  describe('gradient by finite differences through the tape (to x; the boxes get none)', () => {
    const boxes = boxesOf([[0, 0.5, 0.25, 6.5, 5.75], [1, -2, 1, 4, 9], [1, 3.3, 2.2, 7.9, 7.1], [0, 5, 5, 5.5, 5.25], [0, 2, 2, 2, 2]]);
    for (const [aligned, samplingRatio, size] of [[false, -1, 2], [true, 2, 3], [true, 0, [2, 3]], [false, 3, 1]] as [boolean, number, number | [number, number]][]) {
      it(`aligned ${aligned}, samplingRatio ${samplingRatio}, outputSize ${JSON.stringify(size)}`, () => {
        // RoIAlign is linear in x: the differences are exact up to float32 rounding
        tapeCheck('roiAlign', [{ shape: [2, 3, 8, 8] }], ([t]) => F.roiAlign(t, boxes, size, { spatialScale: 1, samplingRatio, aligned }), { h: 1e-2, samples: 60 });
      });
    }
    it('boxes that require grad get none (null), as torchvision', () => {
      const x = randomTensor([1, 2, 6, 6], 3).t, b = boxesOf([[0, 1, 1, 4, 4]]);
      b.requiresGrad = true;
      x.requiresGrad = true;
      F.roiAlign(x, b, 2).sum().backward();
      expect(b.grad).to.equal(null);
      expect(x.grad).to.not.equal(null);
    });
  });

  it('does not depend on the thread count (forward and backward bits)', () => {
    const threads = cc.getNumThreads();
    const x = randomTensor([3, 16, 20, 24], 7).t;
    const rows: number[][] = [];
    for (let k = 0; k < 40; k++) rows.push([k % 3, (k * 7) % 19 - 3, (k * 5) % 17 - 2, (k * 7) % 19 + 2 + (k % 9), (k * 5) % 17 + 1 + (k % 7)]);
    const boxes = boxesOf(rows);
    const dy = randomTensor([40, 16, 7, 7], 8).t;
    const run = () => [F.roiAlign(x, boxes, 7, { spatialScale: 0.75, samplingRatio: -1, aligned: true }).dataSync(),
      roiAlignBackward(dy, boxes, x.shape, { spatialScale: 0.75, aligned: true }).dataSync()];
    try {
      cc.setNumThreads(1);
      const one = run();
      cc.setNumThreads(Math.max(3, threads));
      const many = run();
      expectBitIdentical(one[0], many[0], 'forward');
      expectBitIdentical(one[1], many[1], 'backward');
    } finally {
      cc.setNumThreads(threads);
    }
  });

  describe('what torchvision leaves undefined', () => {
    const x = randomTensor([2, 3, 8, 10], 9).t;
    const good = [[0, 1, 1, 6, 5], [1, 2.5, 0.5, 9, 7]];
    for (const bad of [[0, NaN, 1, 6, 5], [1, 2, 2, Infinity, 4], [0, 1, -Infinity, 3, 3], [1, 1, 1, 4, NaN]]) {
      it(`a box with a coordinate ${bad.find((v) => !Number.isFinite(v))} gives NaN bins and no gradient; the other boxes are unaffected`, () => {
        const opts = { spatialScale: 0.5, samplingRatio: -1, aligned: true };
        const y = F.roiAlign(x, boxesOf([good[0], bad, good[1]]), [3, 2], opts).dataSync();
        const ref = F.roiAlign(x, boxesOf(good), [3, 2], opts).dataSync();
        const bins = 3 * 3 * 2;
        expect(Array.from(y.subarray(bins, 2 * bins)).every(Number.isNaN)).to.equal(true);
        expectBitIdentical(Float32Array.from([...y.subarray(0, bins), ...y.subarray(2 * bins)]), ref, 'the other boxes');
        const dy = randomTensor([3, 3, 3, 2], 10).t;
        const dyGood = cc.concat([dy.narrow(0, 0, 1), dy.narrow(0, 2, 1)], 0);
        const dx = roiAlignBackward(dy, boxesOf([good[0], bad, good[1]]), x.shape, opts).dataSync();
        expectBitIdentical(dx, roiAlignBackward(dyGood, boxesOf(good), x.shape, opts).dataSync(), 'gradient');
      });
    }
    it('a scale that overflows the coordinates (in double) is a box that is not finite', () => {
      const y = F.roiAlign(x, boxesOf([[0, 1e38, 0, 3e38, 2]]), 2, { spatialScale: 1e300 }).dataSync();
      expect(Array.from(y).every(Number.isNaN)).to.equal(true);
    });
    it('samplingRatio 1024, the largest taken, is the mean of 2^20 samples a bin (and quick on a small map)', () => {
      // A 2 x 2 box over a linear ramp x[h, w] = w: every bin's mean is the ramp's mean over it.
      const ramp = cc.tensor(Float32Array.from({ length: 16 }, (_, i) => i % 4), { shape: [1, 1, 4, 4] });
      const started = Date.now();
      const y = F.roiAlign(ramp, boxesOf([[0, 0.5, 0.5, 2.5, 2.5]]), 1, { samplingRatio: 1024 }).dataSync();
      expect(Date.now() - started).to.be.below(5000);
      expectClose(y, [1.5], 1e-6, 1e-6, 'ramp mean');
      const layer = new nn.RoIAlign(1, 1, 1024);
      expectBitIdentical(layer.call(ramp, boxesOf([[0, 0.5, 0.5, 2.5, 2.5]])).dataSync(), y, 'layer');
    });
    it('an astronomically large box is bounded by its samples near the map (finite, quick)', () => {
      // adaptive grids of 2^31 - 1 samples per axis (capped): only those within a pixel of the map are visited
      const started = Date.now();
      const y = F.roiAlign(x, boxesOf([[0, -1e30, -1e30, 1e30, 1e30], [1, -3e6, -3e6, 3e6, 3e6]]), 2).dataSync();
      expect(Date.now() - started).to.be.below(5000);
      expect(Array.from(y).every(Number.isFinite)).to.equal(true);
      // the second box: bin (1, 1) holds the whole map, its mean over 3e6 x 3e6 samples is tiny
      expect(Math.max(...Array.from(y, Math.abs))).to.be.below(1e-6);
    });
    it('a batch index is truncated as torchvision\'s (1.9 is image 1); NaN, -1 and N are E_INDEX at the next wait', async () => {
      const a = F.roiAlign(x, boxesOf([[1.9, 1, 1, 5, 5]]), 2).dataSync();
      expectBitIdentical(a, F.roiAlign(x, boxesOf([[1, 1, 1, 5, 5]]), 2).dataSync(), 'truncated');
      await expectRejects(F.roiAlign(x, boxesOf([[0, 0, 0, 1, 1], [2, 0, 0, 1, 1]]), 2).data(), 'E_INDEX', /box 1 has batch index 2/);
      expectError(() => F.roiAlign(x, boxesOf([[-1, 0, 0, 1, 1]]), 2).dataSync(), 'E_INDEX');
      expectError(() => F.roiAlign(x, boxesOf([[NaN, 0, 0, 1, 1]]), 2).dataSync(), 'E_INDEX');
      expectError(() => roiAlignBackward(cc.zeros([1, 3, 2, 2]), boxesOf([[2, 0, 0, 1, 1]]), x.shape).dataSync(), 'E_INDEX');
    });
  });

  it('no boxes: [0, C, oh, ow], and a zero gradient', () => {
    const x = randomTensor([2, 3, 5, 5], 11).t;
    x.requiresGrad = true;
    const y = F.roiAlign(x, cc.zeros([0, 5]), [2, 3]);
    expect(y.shape).to.deep.equal([0, 3, 2, 3]);
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync()).every((v) => v === 0)).to.equal(true);
    // an empty batch with no boxes
    expect(F.roiAlign(cc.zeros([0, 3, 5, 5]), cc.zeros([0, 5]), 2).shape).to.deep.equal([0, 3, 2, 2]);
  });

  it('refuses bad input with typed errors, in TypeScript and again natively', () => {
    const x = cc.zeros([2, 3, 6, 6]), b = boxesOf([[0, 0, 0, 3, 3]]);
    // shapes and dtypes of x and boxes
    expectError(() => F.roiAlign(cc.zeros([3, 6, 6]), b, 2), 'E_SHAPE', /roiAlign: expected `x` of shape \[N, C, H, W\]/);
    expectError(() => F.roiAlign(cc.zeros([2, 0, 6, 6]), b, 2), 'E_SHAPE');
    expectError(() => F.roiAlign(cc.zeros([2, 3, 6, 6], 'int32'), b, 2), 'E_DTYPE');
    expectError(() => F.roiAlign(x, cc.zeros([1, 5], 'int32'), 2), 'E_DTYPE', /boxes/);
    expectError(() => F.roiAlign(x, cc.zeros([1, 4]), 2), 'E_SHAPE', /boxes/);
    expectError(() => F.roiAlign(x, cc.zeros([5]), 2), 'E_SHAPE', /boxes/);
    expectError(() => F.roiAlign(x, [[0, 0, 0, 3, 3]] as unknown as Tensor, 2), 'E_ARG', /boxes/);
    // sizes and options
    for (const s of [0, -2, 2.5, [2, 0], [2], [2, -1]] as unknown as number[]) expectError(() => F.roiAlign(x, b, s), 'E_ARG', /outputSize/);
    for (const spatialScale of [0, -1, NaN, Infinity]) expectError(() => F.roiAlign(x, b, 2, { spatialScale }), 'E_ARG', /spatialScale/);
    for (const samplingRatio of [1.5, NaN, 2 ** 31]) expectError(() => F.roiAlign(x, b, 2, { samplingRatio }), 'E_ARG', /samplingRatio/);
    // samplingRatio is bounded (torchvision's is not: 1e6 meant 1e12 samples a bin, a hang)
    expect(F.MAX_SAMPLING_RATIO).to.equal(1024);
    for (const samplingRatio of [1025, 1e6, 2 ** 31 - 1]) {
      expectError(() => F.roiAlign(x, b, 2, { samplingRatio }), 'E_ARG', /samplingRatio` <= 1024/);
      expectError(() => roiAlignBackward(cc.zeros([1, 3, 2, 2]), b, x.shape, { samplingRatio }), 'E_ARG', /samplingRatio/);
      expectError(() => new nn.RoIAlign(7, 1, samplingRatio), 'E_ARG', /samplingRatio` <= 1024/);
    }
    expectError(() => F.roiAlign(x, b, 2, { aligned: 1 as unknown as boolean }), 'E_ARG', /aligned/);
    expectError(() => F.roiAlign(x, b, 2, { scale: 1 } as never), 'E_ARG', /unknown option `scale`/);
    const d = cc.zeros([1, 3, 6, 6]);
    d.dispose();
    expectError(() => F.roiAlign(d, b, 2), 'E_DISPOSED');
    // the layer checks its settings when made
    expectError(() => new nn.RoIAlign(0), 'E_ARG', /outputSize/);
    expectError(() => new nn.RoIAlign(7, 0), 'E_ARG', /spatialScale/);
    expectError(() => new nn.RoIAlign(7, 1, 0.5), 'E_ARG', /samplingRatio/);
    expectError(() => new nn.RoIAlign(7, 1, 2, 'yes' as unknown as boolean), 'E_ARG', /aligned/);
    // backward shapes
    expectError(() => roiAlignBackward(cc.zeros([2, 3, 2, 2]), b, x.shape), 'E_SHAPE', /dy/);
    expectError(() => roiAlignBackward(cc.zeros([1, 4, 2, 2]), b, x.shape), 'E_SHAPE', /dy/);
    expectError(() => roiAlignBackward(cc.zeros([1, 3, 2]), b, x.shape), 'E_SHAPE', /dy/);
    expectError(() => roiAlignBackward(cc.zeros([1, 3, 2, 2]), b, [3, 6, 6]), 'E_SHAPE', /inputShape/);
    // natively: the addon called directly
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { native } = require('../lib/native') as typeof import('../lib/native');
    expectError(() => native.roiAlignForward(cc.zeros([6, 6]).handle(), b.handle(), [2, 2], 1, -1, false), 'E_SHAPE');
    expectError(() => native.roiAlignForward(x.handle(), cc.zeros([1, 4]).handle(), [2, 2], 1, -1, false), 'E_SHAPE');
    expectError(() => native.roiAlignForward(x.handle(), cc.zeros([1, 5], 'int32').handle(), [2, 2], 1, -1, false), 'E_DTYPE');
    expectError(() => native.roiAlignForward(x.handle(), b.handle(), [0, 2], 1, -1, false), 'E_ARG');
    expectError(() => native.roiAlignForward(x.handle(), b.handle(), [2, 2], 0, -1, false), 'E_ARG');
    expectError(() => native.roiAlignForward(x.handle(), b.handle(), [2, 2], 1, 2 ** 40, false), 'E_ARG');
    for (const ratio of [1025, 1e6]) {
      expectError(() => native.roiAlignForward(x.handle(), b.handle(), [2, 2], 1, ratio, false), 'E_ARG', /samplingRatio` must be at most 1024/);
      expectError(() => native.roiAlignBackward(cc.zeros([1, 3, 2, 2]).handle(), b.handle(), [2, 3, 6, 6], 1, ratio, true), 'E_ARG', /at most 1024/);
    }
    expectError(() => native.roiAlignBackward(cc.zeros([1, 3, 2, 2]).handle(), b.handle(), [2, 4, 6, 6], 1, -1, false), 'E_SHAPE');
    expectError(() => native.roiAlignBackward(cc.zeros([1, 3, 2, 2]).handle(), b.handle(), [2, 0, 6, 6], 1, -1, false), 'E_SHAPE');
  });
});

describeCuda('roiAlign', () => {
  it('forward (shared geometry, double sums in another order: within a float32 rounding) and gradient (atomicAdd: close)', () => {
    for (const c of fixture.cases) {
      const boxes = of(c.boxes);
      compareDevices((t) => F.roiAlign(t, boxes.to(t.device), c.outputSize, optionsOf(c)), [of(fixture.inputs[c.x])],
        { bound: 1e-6, gradBound: 1e-6, grads: true, what: c.name });
    }
    // many channels and boxes; NaN and huge boxes
    const boxes = boxesOf([[0, 0, 0, 90, 70], [1, -30, 10, 40, 95], [1, NaN, 0, 5, 5], [0, -1e30, -1e30, 1e30, 1e30], [1, 33, 21, 33.5, 21.25]]);
    for (const aligned of [false, true]) {
      compareDevices((t) => F.roiAlign(t, boxes.to(t.device), 7, { spatialScale: 0.25, aligned }), [randomCpu([2, 33, 20, 24], 80)],
        { bound: 1e-6, gradBound: 1e-6, grads: true, what: `33 channels, aligned ${aligned}` });
    }
  });
  it('no boxes gives [0, C, oh, ow]; a batch index out of range is E_INDEX at the next wait', () => {
    const x = randomCpu([2, 3, 6, 6], 81).to('cuda');
    expect(F.roiAlign(x, cc.zeros([0, 5]).to('cuda'), 2).shape).to.deep.equal([0, 3, 2, 2]);
    expectError(() => F.roiAlign(x, boxesOf([[0, 0, 0, 1, 1], [2, 0, 0, 1, 1]]).to('cuda'), 2).dataSync(), 'E_INDEX', /batch index/);
    expectError(() => F.roiAlign(x, boxesOf([[NaN, 0, 0, 1, 1]]).to('cuda'), 2).dataSync(), 'E_INDEX');
    expectError(() => roiAlignBackward(cc.zeros([1, 3, 2, 2]).to('cuda'), boxesOf([[-1, 0, 0, 1, 1]]).to('cuda'), [2, 3, 6, 6]).dataSync(), 'E_INDEX');
  });
  it('x and boxes on two devices are E_DEVICE; the output lives on the input\'s device', () => {
    const x = randomCpu([1, 2, 6, 6], 82);
    const b = boxesOf([[0, 0, 0, 3, 3]]);
    expectError(() => F.roiAlign(x.to('cuda'), b, 2), 'E_DEVICE');
    expectError(() => F.roiAlign(x, b.to('cuda'), 2), 'E_DEVICE');
    expectError(() => roiAlignBackward(cc.zeros([1, 2, 2, 2]).to('cuda'), b, x.shape), 'E_DEVICE');
    expect(F.roiAlign(x.to('cuda'), b.to('cuda'), 2).device).to.equal('cuda');
  });
});
