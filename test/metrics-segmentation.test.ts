/**
 * metrics' segmentation measures: a case worked by hand, ignoreIndex, and random label maps
 * against a float64 reference that counts intersections and unions class by class (no
 * confusion matrix), and the errors.
 */
import { expect } from 'chai';
import { metrics, tensor } from '../lib';
import { expectError, rng } from './helpers';

/** Per class, straight from the labels: IoU (NaN for a class in neither), recall (NaN if not in the targets). */
function reference(pred: number[], target: number[], k: number, ignore?: number) {
  const iou: number[] = [], recall: number[] = [];
  let right = 0, counted = 0;
  for (let c = 0; c < k; c++) {
    let inter = 0, union = 0, inTarget = 0;
    for (let i = 0; i < target.length; i++) {
      if (target[i] === ignore) continue;
      if (pred[i] === c && target[i] === c) inter++;
      if (pred[i] === c || target[i] === c) union++;
      if (target[i] === c) inTarget++;
    }
    iou.push(union ? inter / union : NaN);
    recall.push(inTarget ? inter / inTarget : NaN);
  }
  for (let i = 0; i < target.length; i++) if (target[i] !== ignore) { counted++; if (pred[i] === target[i]) right++; }
  const nanMean = (v: number[]) => { const kept = v.filter((x) => !Number.isNaN(x)); return kept.reduce((s, x) => s + x, 0) / kept.length; };
  return { iou, meanIoU: nanMean(iou), pixelAccuracy: right / counted, meanAccuracy: nanMean(recall) };
}

describe('metrics: segmentation', () => {
  it('counts a case worked by hand (class 3 in neither: left out of the means)', () => {
    const pred = [0, 0, 1, 1, 2, 2], target = [0, 1, 1, 1, 2, 0];
    const m = metrics.segmentation.confusionMatrix(pred, target, 4);
    expect(m).to.deep.equal([[1, 0, 1, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]);
    const iou = metrics.segmentation.iouPerClass(m);
    expect(iou.slice(0, 3)).to.deep.equal([1 / 3, 2 / 3, 1 / 2]);
    expect(Number.isNaN(iou[3])).to.equal(true);
    expect(metrics.segmentation.meanIoU(m)).to.be.closeTo(0.5, 1e-15);
    expect(metrics.segmentation.pixelAccuracy(m)).to.equal(4 / 6);
    expect(metrics.segmentation.meanAccuracy(m)).to.be.closeTo((1 / 2 + 2 / 3 + 1) / 3, 1e-15);
    // The same from the labels, as tensors of any (common) shape.
    const p = tensor(pred, { dtype: 'int32', shape: [1, 2, 3] }), t = tensor(target, { dtype: 'int32', shape: [1, 2, 3] });
    expect(metrics.segmentation.meanIoU(p, t, 4)).to.equal(metrics.segmentation.meanIoU(m));
    expect(metrics.segmentation.pixelAccuracy(p, t, 4)).to.equal(4 / 6);
    p.dispose(); t.dispose();
    // A class only predicted counts, with IoU 0: predicting 3 for one pixel of class 2.
    expect(metrics.segmentation.iouPerClass([3, 3], [2, 3], 4)).to.deep.equal([NaN, NaN, 0, 1 / 2]);
    expect(metrics.segmentation.meanIoU([3, 3], [2, 3], 4)).to.equal(0.25);
    // Nothing counted: NaN.
    expect(Number.isNaN(metrics.segmentation.meanIoU([], [], 3))).to.equal(true);
    expect(Number.isNaN(metrics.segmentation.pixelAccuracy([1], [255], 3, { ignoreIndex: 255 }))).to.equal(true);
  });

  it('skips pixels whose target is ignoreIndex (whatever was predicted there)', () => {
    const pred = [0, 1, 7, 1], target = [0, 255, 255, 1];
    expect(metrics.segmentation.confusionMatrix(pred, target, 2, { ignoreIndex: 255 })).to.deep.equal([[1, 0], [0, 1]]);
    expect(metrics.segmentation.meanIoU(pred, target, 2, { ignoreIndex: 255 })).to.equal(1);
    expect(metrics.segmentation.confusionMatrix([1, 0], [-1, 0], 2, { ignoreIndex: -1 })).to.deep.equal([[1, 0], [0, 0]]);
  });

  it('matches a float64 reference on random label maps, and batches add up', () => {
    const next = rng(11);
    for (const [k, n, ignore] of [[2, 500, undefined], [4, 4096, 255], [7, 3000, undefined], [21, 10000, 255]] as const) {
      // Predictions right 60% of the time, some classes rare, a few ignored pixels.
      const target = Array.from({ length: n }, () => (ignore !== undefined && next() < 0.05 ? ignore : Math.floor(k * next() ** 2)));
      const pred = target.map((t) => (next() < 0.6 && t !== ignore ? t : Math.floor(k * next())));
      const ref = reference(pred, target, k, ignore);
      const p = tensor(pred, { dtype: 'int32', shape: [n] }), t = tensor(target, { dtype: 'int32', shape: [n] });
      const m = metrics.segmentation.confusionMatrix(p, t, k, { ignoreIndex: ignore });
      const iou = metrics.segmentation.iouPerClass(m);
      ref.iou.forEach((v, c) => (Number.isNaN(v) ? expect(Number.isNaN(iou[c])).to.equal(true) : expect(iou[c]).to.be.closeTo(v, 1e-12)));
      expect(metrics.segmentation.meanIoU(m)).to.be.closeTo(ref.meanIoU, 1e-12);
      expect(metrics.segmentation.pixelAccuracy(m)).to.be.closeTo(ref.pixelAccuracy, 1e-12);
      expect(metrics.segmentation.meanAccuracy(m)).to.be.closeTo(ref.meanAccuracy, 1e-12);
      const half = Math.floor(n / 2);
      const sum = metrics.segmentation.addConfusion(
        metrics.segmentation.confusionMatrix(pred.slice(0, half), target.slice(0, half), k, { ignoreIndex: ignore }),
        metrics.segmentation.confusionMatrix(pred.slice(half), target.slice(half), k, { ignoreIndex: ignore }));
      expect(sum).to.deep.equal(m);
      p.dispose(); t.dispose();
    }
  });

  it('rejects bad labels, shapes and arguments with typed errors', () => {
    expectError(() => metrics.segmentation.confusionMatrix([0, 3], [0, 1], 3), 'E_INDEX', /pred\[1\] = 3/);
    expectError(() => metrics.segmentation.confusionMatrix([0, 1], [0, -1], 3), 'E_INDEX', /target\[1\] = -1/);
    expectError(() => metrics.segmentation.confusionMatrix([0, 1], [0, 255], 3, { ignoreIndex: 254 }), 'E_INDEX', /ignoreIndex 254/);
    expectError(() => metrics.segmentation.confusionMatrix([0, 0.5], [0, 1], 3), 'E_INDEX');
    expectError(() => metrics.segmentation.confusionMatrix([0, 1], [0, 1, 2], 3), 'E_SHAPE');
    const a = tensor([[0, 1]], { dtype: 'int32' }), b = tensor([0, 1], { dtype: 'int32' }), scores = tensor([[0.1, 0.9]]);
    expectError(() => metrics.segmentation.confusionMatrix(a, b, 2), 'E_SHAPE', /\[1, 2\] and \[2\]/);
    expectError(() => metrics.segmentation.confusionMatrix(scores, a, 2), 'E_DTYPE', /argmax\(1\)/);
    a.dispose(); b.dispose(); scores.dispose();
    expectError(() => metrics.segmentation.confusionMatrix([0], [0], 0), 'E_ARG', /numClasses/);
    expectError(() => metrics.segmentation.confusionMatrix([0], [0], 2, { ignore: 255 } as never), 'E_ARG', /ignore/);
    expectError(() => metrics.segmentation.confusionMatrix('01' as never, [0, 1], 2), 'E_ARG', /pred/);
    expectError(() => metrics.segmentation.meanIoU([[1, 0]]), 'E_ARG', /square/);
    expectError(() => metrics.segmentation.meanIoU([[1, -1], [0, 1]]), 'E_ARG', /\[0\]\[1\]/);
    expectError(() => (metrics.segmentation.pixelAccuracy as (...a: unknown[]) => number)([0], [0]), 'E_ARG', /2 arguments/);
    expectError(() => metrics.segmentation.addConfusion([[1]], [[1, 0], [0, 1]]), 'E_SHAPE');
  });
});
