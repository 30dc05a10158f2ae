/**
 * `vision`: box ops, NMS and box coding against float64 reimplementations of torchvision 0.14
 * (test/fixtures/make/vision.py: values and gradients; NMS in float32 as torchvision's CPU
 * kernel), hand-checked cases (ties, the strict threshold, empty and degenerate inputs) and
 * every error path.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import type { BoxFormat } from '../lib/vision';
import { expectClose, expectError, loadFixture } from './helpers';

const { vision, tensor } = cc;
type T = { shape: number[]; values: number[]; dtype?: 'int32' };
type Case = { op: string; kwargs: Record<string, unknown>; inputs: T[]; dy?: T; y?: T; grads?: (T | null)[]; keep?: T };
const fromJson = (t: T, requiresGrad = false): cc.Tensor =>
  t.dtype === 'int32' ? tensor(new Int32Array(t.values), { dtype: 'int32', shape: t.shape }) : tensor(t.values, { shape: t.shape, requiresGrad });
const ints = (t: cc.Tensor): number[] => Array.from(t.dataSync());

describe('vision', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('vision');

  it('box ops and box coding agree with torchvision (float64 reference: values and gradients)', () => {
    const differentiable = cases.filter((c) => c.y);
    expect(differentiable.length).to.equal(15);
    for (const c of differentiable) {
      const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
      const xs = c.inputs.map((t) => fromJson(t, true));
      const k = c.kwargs as { inFmt: BoxFormat; outFmt: BoxFormat; weights: number[] };
      const y = c.op === 'boxArea' ? vision.boxArea(xs[0])
        : c.op === 'boxIou' ? vision.boxIou(xs[0], xs[1])
          : c.op === 'boxConvert' ? vision.boxConvert(xs[0], k.inFmt, k.outFmt)
            : c.op === 'encodeBoxes' ? vision.encodeBoxes(xs[0], xs[1], k.weights)
              : vision.decodeBoxes(xs[0], xs[1], k.weights);
      expect(y.shape, what).to.deep.equal(c.y!.shape);
      expectClose(y.dataSync(), c.y!.values, 1e-5, 1e-5, `${what} forward`);
      y.mul(fromJson(c.dy!)).sum().backward();
      c.grads!.forEach((g, i) => {
        if (g) expectClose(xs[i].grad!.dataSync(), g.values, 1e-4, 1e-4, `${what} grad ${i}`);
      });
    }
  });

  it('nms and batchedNms keep exactly torchvision\'s boxes, in its order (ties in scores, thresholds 0 to 0.7)', () => {
    const nmsCases = cases.filter((c) => c.keep);
    expect(nmsCases.length).to.equal(10);
    for (const c of nmsCases) {
      const thr = c.kwargs.iouThreshold as number;
      const [boxes, scores, idxs] = c.inputs.map((t) => fromJson(t));
      const keep = c.op === 'nms' ? vision.nms(boxes, scores, thr) : vision.batchedNms(boxes, scores, idxs, thr);
      expect(keep.dtype).to.equal('int32');
      expect(ints(keep), `${c.op} ${thr}`).to.deep.equal(c.keep!.values);
      expect(c.keep!.values.length).to.be.above(1);
    }
  });

  it('box ops: hand-checked values, empty inputs, degenerate boxes', () => {
    expect(vision.boxArea(tensor([[0, 0, 2, 3], [1, 1, 1, 5], [2, 2, 1, 4]])).tolist()).to.deep.equal([6, 0, -2]);
    expectClose(vision.boxIou(tensor([[0, 0, 2, 2]]), tensor([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]])).dataSync(), [1 / 7, 1, 0]);
    // Two empty boxes: 0 / 0, as torchvision.
    expect(Number.isNaN(vision.boxIou(tensor([[1, 1, 1, 1]]), tensor([[1, 1, 1, 1]])).item())).to.equal(true);
    expect(vision.boxConvert(tensor([[10, 20, 4, 6]]), 'cxcywh', 'xyxy').tolist()).to.deep.equal([[8, 17, 12, 23]]);
    expect(vision.boxConvert(tensor([[1, 2, 4, 6]]), 'xyxy', 'xywh').tolist()).to.deep.equal([[1, 2, 3, 4]]);
    const empty = cc.zeros([0, 4]);
    expect(vision.boxIou(empty, tensor([[0, 0, 1, 1]])).shape).to.deep.equal([0, 1]);
    expect(vision.boxIou(tensor([[0, 0, 1, 1]]), empty).shape).to.deep.equal([1, 0]);
    expect(vision.boxArea(empty).shape).to.deep.equal([0]);
    expect(vision.boxConvert(empty, 'xywh', 'cxcywh').shape).to.deep.equal([0, 4]);
    expect(vision.encodeBoxes(empty, empty).shape).to.deep.equal([0, 4]);
    expect(vision.decodeBoxes(cc.zeros([0, 44]), empty).shape).to.deep.equal([0, 44]);
    // The same formats give a copy, not the input itself.
    const b = tensor([[0, 0, 1, 1]]), same = vision.boxConvert(b, 'xyxy', 'xyxy');
    expect(same).to.not.equal(b);
    b.dispose();
    expect(same.tolist()).to.deep.equal([[0, 0, 1, 1]]);
  });

  it('encodeBoxes and decodeBoxes invert each other; decode clamps dw, dh at log(1000/16)', () => {
    const proposals = tensor([[0, 0, 10, 10], [5, 5, 9, 15], [2, 3, 30, 8]]);
    const reference = tensor([[1, 2, 12, 9], [4, 4, 10, 18], [0, 0, 3, 3]]);
    for (const w of [[1, 1, 1, 1], [10, 10, 5, 5]]) {
      const back = vision.decodeBoxes(vision.encodeBoxes(reference, proposals, w), proposals, w);
      expectClose(back.dataSync(), reference.dataSync(), 1e-5, 1e-5);
    }
    // dw = 10 → exp(clip) * width = 62.5 * 10: half-width 312.5 around the centre 5.
    const far = vision.decodeBoxes(tensor([[0, 0, 10, 0]]), tensor([[0, 0, 10, 10]]));
    expectClose(far.dataSync(), [5 - 312.5, 0, 5 + 312.5, 10], 1e-6, 1e-3);
    expect(vision.BBOX_XFORM_CLIP).to.equal(Math.log(1000 / 16));
  });

  it('nms: ties keep the lower index first; IoU exactly at the threshold is kept (strict >)', () => {
    // [0,0,4,1] and [0,0,2,1]: intersection 2, union 4, IoU exactly 0.5.
    const boxes = tensor([[0, 0, 2, 1], [0, 0, 4, 1], [10, 10, 11, 11]]);
    expect(ints(vision.nms(boxes, tensor([0.5, 0.9, 0.1]), 0.5))).to.deep.equal([1, 0, 2]);
    expect(ints(vision.nms(boxes, tensor([0.5, 0.9, 0.1]), 0.49))).to.deep.equal([1, 2]);
    // Equal scores: the stable sort keeps box 0 first, which then suppresses box 1.
    expect(ints(vision.nms(boxes, tensor([0.7, 0.7, 0.7]), 0.3))).to.deep.equal([0, 2]);
    expect(ints(vision.nms(tensor([[0, 0, 1, 1], [0, 0, 1, 1]]), tensor([Infinity, -Infinity]), 0.5))).to.deep.equal([0]);
  });

  it('nms: empty input, degenerate boxes (never suppress, never suppressed), one box', () => {
    const none = vision.nms(cc.zeros([0, 4]), cc.zeros([0]), 0.5);
    expect(none.shape).to.deep.equal([0]);
    expect(none.dtype).to.equal('int32');
    expect(vision.batchedNms(cc.zeros([0, 4]), cc.zeros([0]), tensor(new Int32Array(0), { dtype: 'int32' }), 0.5).shape).to.deep.equal([0]);
    // Box 1 has zero width inside box 0, box 2 is reversed: IoU 0 (or NaN for two empty ones).
    const boxes = tensor([[0, 0, 10, 10], [2, 2, 2, 8], [8, 8, 3, 3], [2, 2, 2, 8]]);
    expect(ints(vision.nms(boxes, tensor([0.9, 0.8, 0.7, 0.6]), 0))).to.deep.equal([0, 1, 2, 3]);
    expect(ints(vision.nms(tensor([[0, 0, 1, 1]]), tensor([0.3]), 0.5))).to.deep.equal([0]);
  });

  it('batchedNms: boxes of different categories never suppress each other; result by score', () => {
    const boxes = tensor([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10]]);
    const scores = tensor([0.2, 0.9, 0.5, 0.95]);
    const labels = tensor(new Int32Array([0, 1, 0, 1]), { dtype: 'int32' });
    expect(ints(vision.batchedNms(boxes, scores, labels, 0.5))).to.deep.equal([3, 2]);
    expect(ints(vision.nms(boxes, scores, 0.5))).to.deep.equal([3]);
  });

  it('typed errors for bad shapes, dtypes, formats, weights, NaN scores and non-finite boxes', () => {
    const boxes = tensor([[0, 0, 1, 1], [0, 0, 2, 2]]), scores = tensor([0.5, 0.4]);
    expectError(() => vision.boxArea(tensor([0, 0, 1, 1])), 'E_SHAPE', /\[N, 4\]/);
    expectError(() => vision.boxIou(boxes, tensor([[0, 0, 1]])), 'E_SHAPE', /`b`/);
    expectError(() => vision.boxIou(tensor(new Int32Array(4), { dtype: 'int32', shape: [1, 4] }), boxes), 'E_DTYPE');
    expectError(() => vision.boxIou(boxes, [[0, 0, 1, 1]] as unknown as cc.Tensor), 'E_ARG');
    expectError(() => vision.boxConvert(boxes, 'xyxy', 'yxyx' as BoxFormat), 'E_ARG', /outFmt/);
    expectError(() => vision.nms(boxes, tensor([0.5]), 0.5), 'E_SHAPE', /scores/);
    expectError(() => vision.nms(boxes, tensor([[0.5, 0.4]]), 0.5), 'E_SHAPE');
    expectError(() => vision.nms(boxes, tensor(new Int32Array(2), { dtype: 'int32' }), 0.5), 'E_DTYPE');
    expectError(() => vision.nms(boxes, scores, NaN), 'E_ARG', /iouThreshold/);
    expectError(() => vision.nms(boxes, scores, '0.5' as unknown as number), 'E_ARG');
    expectError(() => vision.nms(boxes, tensor([0.5, NaN]), 0.5), 'E_ARG', /score 1 is NaN/);
    expectError(() => vision.nms(tensor([[0, 0, 1, Infinity], [0, 0, 1, 1]]), scores, 0.5), 'E_ARG', /box 0/);
    expectError(() => vision.nms(tensor([[0, 0, 1, 1], [0, NaN, 1, 1]]), scores, 0.5), 'E_ARG', /box 1/);
    expectError(() => vision.batchedNms(boxes, scores, tensor([0, 1]), 0.5), 'E_DTYPE', /idxs/);
    expectError(() => vision.batchedNms(boxes, scores, tensor(new Int32Array(3), { dtype: 'int32' }), 0.5), 'E_SHAPE', /idxs/);
    expectError(() => vision.encodeBoxes(boxes, tensor([[0, 0, 1, 1]])), 'E_SHAPE');
    expectError(() => vision.encodeBoxes(boxes, boxes, [1, 1, 1]), 'E_ARG', /weights/);
    expectError(() => vision.encodeBoxes(boxes, boxes, [1, 1, 0, 1]), 'E_ARG', /> 0/);
    expectError(() => vision.decodeBoxes(tensor([[0, 0, 0]]), tensor([[0, 0, 1, 1]])), 'E_SHAPE', /4K/);
    expectError(() => vision.decodeBoxes(cc.zeros([2, 4]), tensor([[0, 0, 1, 1]])), 'E_SHAPE');
  });
});
