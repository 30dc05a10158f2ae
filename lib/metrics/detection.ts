/**
 * Detection metrics: average precision (AP) of one class and its mean over classes (mAP) at an
 * IoU threshold, as the PASCAL VOC development kit computes them (VOCevaldet.m, VOC2010 and
 * later): all-point interpolation, i.e. the exact area under the precision-recall curve after
 * precision is made non-increasing (not VOC2007's 11-point average).
 *
 * Matching, per class: the detections of all images are taken in decreasing score order (ties
 * in input order); each is matched to the ground-truth box of its image and class with which
 * it has the highest IoU. It is a true positive when that IoU is >= the threshold and that box
 * was not matched before, otherwise a false positive (a second detection of one object counts
 * against the detector, as in VOC). Boxes are (x1, y1, x2, y2) in continuous coordinates (IoU as
 * `vision.boxIou`, without VOC's +1 pixel convention); there are no "difficult" objects.
 */
import { fail } from '../errors';
import { Tensor } from '../tensor';
import { checkNumber, checkOptions, describe, isTensor, shapeStr } from '../validate';

/** One image's detections: boxes [n, 4] (x1, y1, x2, y2), scores [n], integer labels [n]. */
export interface ImageDetections {
  boxes: Tensor | readonly (readonly number[])[];
  scores: Tensor | readonly number[];
  labels: Tensor | readonly number[];
}

/** One image's ground truth: boxes [m, 4] (x1, y1, x2, y2) and integer labels [m]. */
export interface ImageTargets {
  boxes: Tensor | readonly (readonly number[])[];
  labels: Tensor | readonly number[];
}

export interface DetectionMetricOptions {
  /** The IoU a detection needs with an object to find it (>=). Default 0.5 (VOC). */
  iouThreshold?: number;
}

export interface MeanAveragePrecision {
  /** The mean of the classes' APs (NaN when no image has any ground truth). */
  map: number;
  /** AP per class label, for every class that has ground truth (other classes have no AP). */
  perClass: Map<number, number>;
}

interface Boxes { box: Float64Array; label: Int32Array; score: Float64Array }

/** A list of numbers from a tensor [n] or an array, with n checked. */
function numbers(op: string, name: string, value: unknown, n: number | null): Float64Array {
  let v: Float64Array, shape: readonly number[];
  if (isTensor(value)) {
    v = Float64Array.from(value.dataSync());
    shape = value.shape;
  } else if (Array.isArray(value)) {
    v = Float64Array.from(value.map((x) => (typeof x === 'number' ? x : NaN)));
    if (value.some((x) => typeof x !== 'number')) fail('E_ARG', `${op}: expected \`${name}\` to hold numbers`);
    shape = [value.length];
  } else {
    return fail('E_ARG', `${op}: expected \`${name}\` to be a tensor or an array, got ${describe(value)}`);
  }
  if (shape.length !== 1 || (n !== null && shape[0] !== n)) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [${n ?? 'n'}], got ${shapeStr(shape)}`);
  return v;
}

/** Boxes [n, 4] from a tensor or nested arrays, as a flat Float64Array. */
function boxList(op: string, name: string, value: unknown): Float64Array {
  if (isTensor(value)) {
    if (value.rank !== 2 || value.shape[1] !== 4) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [n, 4], got ${shapeStr(value.shape)}`);
    return Float64Array.from(value.dataSync());
  }
  if (!Array.isArray(value)) return fail('E_ARG', `${op}: expected \`${name}\` to be a tensor or an array of [x1, y1, x2, y2], got ${describe(value)}`);
  const out = new Float64Array(value.length * 4);
  value.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== 4 || row.some((x) => typeof x !== 'number')) fail('E_SHAPE', `${op}: expected \`${name}[${i}]\` to be [x1, y1, x2, y2], got ${describe(row)}`);
    out.set(row as number[], 4 * i);
  });
  return out;
}

function image(op: string, what: string, value: unknown, withScores: boolean): Boxes {
  if (typeof value !== 'object' || value === null) fail('E_ARG', `${op}: expected ${what} to be an object { boxes, ${withScores ? 'scores, ' : ''}labels }, got ${describe(value)}`);
  const o = checkOptions<Record<string, unknown>>(op, value, withScores ? ['boxes', 'scores', 'labels'] : ['boxes', 'labels']);
  const box = boxList(op, `${what}.boxes`, o.boxes);
  for (const x of box) if (!Number.isFinite(x)) fail('E_ARG', `${op}: ${what}.boxes has a non-finite coordinate (${x})`);
  const n = box.length / 4;
  const labels = numbers(op, `${what}.labels`, o.labels, n);
  for (const l of labels) if (!Number.isInteger(l)) fail('E_ARG', `${op}: expected integer labels in ${what}.labels, got ${l}`);
  const score = withScores ? numbers(op, `${what}.scores`, o.scores, n) : new Float64Array(n);
  for (const s of score) if (Number.isNaN(s)) fail('E_ARG', `${op}: ${what}.scores has a NaN score`);
  return { box, label: Int32Array.from(labels), score };
}

function readAll(op: string, detections: unknown, groundTruth: unknown): { dets: Boxes[]; gts: Boxes[] } {
  if (!Array.isArray(detections)) fail('E_ARG', `${op}: expected \`detections\` to be an array (one entry per image), got ${describe(detections)}`);
  if (!Array.isArray(groundTruth)) fail('E_ARG', `${op}: expected \`groundTruth\` to be an array (one entry per image), got ${describe(groundTruth)}`);
  if (detections.length !== groundTruth.length) fail('E_SHAPE', `${op}: expected as many images in \`detections\` as in \`groundTruth\`, got ${detections.length} and ${groundTruth.length}`);
  return {
    dets: detections.map((d, i) => image(op, `detections[${i}]`, d, true)),
    gts: groundTruth.map((g, i) => image(op, `groundTruth[${i}]`, g, false)),
  };
}

function iou(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const w = Math.max(0, Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]));
  const h = Math.max(0, Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]));
  const inter = w * h;
  const area = (c: Float64Array, k: number) => (c[4 * k + 2] - c[4 * k]) * (c[4 * k + 3] - c[4 * k + 1]);
  const union = area(a, i) + area(b, j) - inter;
  return union > 0 ? inter / union : 0;
}

/** The area under the precision envelope (VOCap): recall steps times the best precision beyond. */
function voc(tp: Uint8Array, positives: number): number {
  const recall: number[] = [0], precision: number[] = [0];
  let hits = 0;
  for (let k = 0; k < tp.length; k++) {
    hits += tp[k];
    recall.push(hits / positives);
    precision.push(hits / (k + 1));
  }
  recall.push(1);
  precision.push(0);
  for (let k = precision.length - 2; k >= 0; k--) precision[k] = Math.max(precision[k], precision[k + 1]);
  let ap = 0;
  for (let k = 1; k < recall.length; k++) if (recall[k] !== recall[k - 1]) ap += (recall[k] - recall[k - 1]) * precision[k];
  return ap;
}

function classAp(dets: Boxes[], gts: Boxes[], label: number, threshold: number): number {
  let positives = 0;
  const matched = gts.map((g) => {
    const m = new Uint8Array(g.label.length);
    for (let j = 0; j < m.length; j++) if (g.label[j] === label) positives++;
    return m;
  });
  if (positives === 0) return NaN;
  const order: [number, number][] = [];   // (image, detection)
  dets.forEach((d, im) => d.label.forEach((l, k) => { if (l === label) order.push([im, k]); }));
  order.sort((p, q) => dets[q[0]].score[q[1]] - dets[p[0]].score[p[1]] || p[0] - q[0] || p[1] - q[1]);
  const tp = new Uint8Array(order.length);
  order.forEach(([im, k], rank) => {
    const g = gts[im];
    let best = -Infinity, jBest = -1;
    for (let j = 0; j < g.label.length; j++) {
      if (g.label[j] !== label) continue;
      const o = iou(dets[im].box, k, g.box, j);
      if (o > best) [best, jBest] = [o, j];
    }
    if (jBest >= 0 && best >= threshold && !matched[im][jBest]) {
      matched[im][jBest] = 1;
      tp[rank] = 1;
    }
  });
  return voc(tp, positives);
}

function thresholdOf(op: string, options: unknown): number {
  const o = checkOptions<DetectionMetricOptions>(op, options ?? {}, ['iouThreshold']);
  const t = o.iouThreshold === undefined ? 0.5 : checkNumber(op, 'iouThreshold', o.iouThreshold);
  if (t < 0 || t > 1) fail('E_ARG', `${op}: expected \`iouThreshold\` in [0, 1], got ${t}`);
  return t;
}

/**
 * Average precision of one class over a set of images (VOC, all-point interpolation; see the
 * top of lib/metrics/detection.ts): `detections[i]` and `groundTruth[i]` describe image i.
 * NaN when no image has an object of this class; 0 when it has some and none is found.
 * @example
 * const ap = metrics.detection.averagePrecision(
 *   [{ boxes: [[0, 0, 10, 10]], scores: [0.9], labels: [3] }],
 *   [{ boxes: [[1, 1, 10, 10]], labels: [3] }], 3);        // 1
 */
export function averagePrecision(detections: readonly ImageDetections[], groundTruth: readonly ImageTargets[], label: number, options?: DetectionMetricOptions): number {
  const op = 'averagePrecision';
  const { dets, gts } = readAll(op, detections, groundTruth);
  const l = checkNumber(op, 'label', label);
  if (!Number.isInteger(l)) fail('E_ARG', `${op}: expected an integer \`label\`, got ${l}`);
  return classAp(dets, gts, l, thresholdOf(op, options));
}

/**
 * Mean average precision over the classes that have ground truth (VOC style: each class's AP
 * as `averagePrecision`, then their mean). Detections of classes with no ground truth do not
 * count (they cannot lower any class's AP).
 * @example
 * const { map, perClass } = metrics.detection.meanAveragePrecision(detections, groundTruth, { iouThreshold: 0.5 });
 */
export function meanAveragePrecision(detections: readonly ImageDetections[], groundTruth: readonly ImageTargets[], options?: DetectionMetricOptions): MeanAveragePrecision {
  const op = 'meanAveragePrecision';
  const { dets, gts } = readAll(op, detections, groundTruth);
  const threshold = thresholdOf(op, options);
  const labels = [...new Set(gts.flatMap((g) => Array.from(g.label)))].sort((a, b) => a - b);
  const perClass = new Map(labels.map((l) => [l, classAp(dets, gts, l, threshold)] as [number, number]));
  const aps = [...perClass.values()];
  return { map: aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : NaN, perClass };
}
