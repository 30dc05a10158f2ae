/**
 * metrics.detection: VOC average precision (all-point interpolation) on small cases worked out
 * by hand in the comments, the VOC matching rules (>= threshold, duplicates are false
 * positives, a detection goes to its best-overlapping object even when that one is taken), and
 * the errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectError } from './helpers';

const { averagePrecision, meanAveragePrecision } = cc.metrics.detection;

describe('metrics.detection', () => {
  it('AP of a worked example: TP, duplicate, miss, TP → 0.5', () => {
    // 3 objects of class 1. In score order: 0.9 finds object 0 (TP), 0.8 finds it again (FP),
    // 0.7 overlaps nothing (FP), 0.6 finds object 1 (TP); object 2 is never found.
    // Recall 1/3, 1/3, 1/3, 2/3; precision 1, 1/2, 1/3, 1/2; the envelope is 1 up to recall
    // 1/3 and 1/2 up to 2/3: AP = 1/3 · 1 + 1/3 · 1/2 = 0.5.
    const detections = [
      { boxes: [[0, 0, 10, 10], [1, 0, 10, 10], [20, 20, 30, 30]], scores: [0.9, 0.8, 0.6], labels: [1, 1, 1] },
      { boxes: [[50, 50, 60, 60]], scores: [0.7], labels: [1] },
    ];
    const groundTruth = [
      { boxes: [[0, 0, 10, 10], [20, 20, 30, 31]], labels: [1, 1] },
      { boxes: [[0, 0, 5, 5]], labels: [1] },
    ];
    expect(averagePrecision(detections, groundTruth, 1)).to.be.closeTo(0.5, 1e-12);
    // At IoU 0.95 the third true positive (IoU 10/11) no longer counts: AP 1/3.
    expect(averagePrecision(detections, groundTruth, 1, { iouThreshold: 0.95 })).to.be.closeTo(1 / 3, 1e-12);
  });

  it('perfect detections give 1, none give 0, a class without objects NaN; mAP over classes with objects', () => {
    const gt = [{ boxes: [[0, 0, 4, 4], [5, 5, 9, 9]], labels: [0, 2] }];
    const perfect = [{ boxes: [[0, 0, 4, 4], [5, 5, 9, 9], [0, 0, 1, 1]], scores: [0.5, 0.4, 0.9], labels: [0, 2, 7] }];
    expect(averagePrecision(perfect, gt, 0)).to.equal(1);
    expect(averagePrecision([{ boxes: [], scores: [], labels: [] }], gt, 0)).to.equal(0);
    expect(Number.isNaN(averagePrecision(perfect, gt, 7))).to.equal(true);
    const { map, perClass } = meanAveragePrecision(perfect, gt);
    expect(map).to.equal(1);
    expect([...perClass.entries()]).to.deep.equal([[0, 1], [2, 1]]);
    // Class 2 missed (its detection moved away): AP 0, mean 0.5.
    const half = [{ boxes: [[0, 0, 4, 4], [30, 30, 34, 34]], scores: [0.5, 0.4], labels: [0, 2] }];
    expect(meanAveragePrecision(half, gt).map).to.equal(0.5);
    expect(Number.isNaN(meanAveragePrecision([], []).map)).to.equal(true);
  });

  it('the threshold is inclusive (IoU exactly 0.5 is found), precision ranks by score', () => {
    const gt = [{ boxes: [[0, 0, 4, 1]], labels: [3] }];
    const det = [{ boxes: [[0, 0, 2, 1]], scores: [1], labels: [3] }];   // IoU 2 / 4
    expect(averagePrecision(det, gt, 3)).to.equal(1);
    expect(averagePrecision(det, gt, 3, { iouThreshold: 0.51 })).to.equal(0);
    // A false positive ranked above the only true positive: recall 1 at precision 1/2.
    const two = [{ boxes: [[9, 9, 10, 10], [0, 0, 4, 1]], scores: [0.9, 0.1], labels: [3, 3] }];
    expect(averagePrecision(two, gt, 3)).to.equal(0.5);
    const swapped = [{ boxes: [[9, 9, 10, 10], [0, 0, 4, 1]], scores: [0.1, 0.9], labels: [3, 3] }];
    expect(averagePrecision(swapped, gt, 3)).to.equal(1);
  });

  it('VOC matching: a detection goes to its best-overlapping object, and is a false positive if that one is taken', () => {
    // Objects A [0,0,10,10] and B [2,0,12,10]. The first detection is A exactly. The second
    // overlaps A by 95/105 and B by 85/115 (> 0.5): its best is A, taken, so it is a false
    // positive (COCO's matching would give it B). Recall 1/2, 1/2; precision 1, 1/2: AP 1/2.
    const gt = [{ boxes: [[0, 0, 10, 10], [2, 0, 12, 10]], labels: [1, 1] }];
    const det = [{ boxes: [[0, 0, 10, 10], [0.5, 0, 10.5, 10]], scores: [0.9, 0.8], labels: [1, 1] }];
    expect(averagePrecision(det, gt, 1)).to.equal(0.5);
    // Labels must agree: the same boxes under another class find nothing of class 1.
    expect(averagePrecision([{ ...det[0], labels: [4, 4] }], gt, 1)).to.equal(0);
  });

  it('takes tensors (float32 boxes and scores, int32 or float32 labels)', () => {
    const det = [{
      boxes: cc.tensor([[0, 0, 10, 10], [20, 20, 30, 30]]), scores: cc.tensor([0.3, 0.8]),
      labels: cc.tensor(new Int32Array([5, 5]), { dtype: 'int32' }),
    }];
    const gt = [{ boxes: cc.tensor([[0, 0, 10, 10]]), labels: cc.tensor([5]) }];
    // FP at 0.8 then TP at 0.3: precision 1/2 at recall 1.
    expect(averagePrecision(det, gt, 5)).to.equal(0.5);
    expect(meanAveragePrecision(det, gt).perClass.get(5)).to.equal(0.5);
  });

  it('typed errors for bad input', () => {
    const gt = [{ boxes: [[0, 0, 1, 1]], labels: [0] }];
    const det = [{ boxes: [[0, 0, 1, 1]], scores: [1], labels: [0] }];
    expectError(() => averagePrecision(det, [], 0), 'E_SHAPE', /as many images/);
    expectError(() => averagePrecision({} as never, gt, 0), 'E_ARG', /detections/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1]], scores: [1], labels: [0] }], gt, 0), 'E_SHAPE', /boxes\[0\]/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1, 1]], scores: [1, 2], labels: [0] }], gt, 0), 'E_SHAPE', /scores/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1, 1]], scores: [NaN], labels: [0] }], gt, 0), 'E_ARG', /NaN/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1, 1]], scores: [1], labels: [0.5] }], gt, 0), 'E_ARG', /integer labels/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1, NaN]], scores: [1], labels: [0] }], gt, 0), 'E_ARG', /non-finite/);
    expectError(() => averagePrecision([{ boxes: [[0, 0, 1, 1]], labels: [0] } as never], gt, 0), 'E_ARG', /scores/);
    expectError(() => averagePrecision([{ ...det[0], extra: 1 } as never], gt, 0), 'E_ARG', /extra/);
    expectError(() => averagePrecision([{ boxes: cc.tensor([0, 0, 1, 1]), scores: [1], labels: [0] }], gt, 0), 'E_SHAPE', /\[n, 4\]/);
    expectError(() => averagePrecision(det, gt, 0.5), 'E_ARG', /label/);
    expectError(() => averagePrecision(det, gt, 0, { iouThreshold: 1.5 }), 'E_ARG', /iouThreshold/);
    expectError(() => meanAveragePrecision(det, gt, { iou: 0.5 } as never), 'E_ARG', /iou/);
  });
});
