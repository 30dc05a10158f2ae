/**
 * Semantic segmentation measures, as Long, Shelhamer and Darrell's FCN evaluation (`score.py`)
 * and mmsegmentation compute them, from one confusion matrix of pixel counts
 * m[target class][predicted class] (rows the true class, as scikit-learn and `viz.confusionMatrix`):
 *
 *   pixelAccuracy   sum_i m[i][i] / sum m                     (every counted pixel alike)
 *   iouPerClass     m[i][i] / (row_i + column_i - m[i][i])    (NaN for a class absent from both
 *                                                              the targets and the predictions)
 *   meanIoU         the mean of iouPerClass over the classes that are not NaN: a class that
 *                   appears in neither the targets nor the predictions is left out of the mean
 *                   (numpy's nanmean, as FCN's score.py and mmsegmentation; a class only
 *                   predicted counts, with IoU 0)
 *   meanAccuracy    the mean over classes present in the targets of m[i][i] / row_i (FCN's
 *                   "mean accuracy")
 *
 * Pixels whose target is `ignoreIndex` (e.g. PASCAL VOC's 255 borders) are not counted. Over
 * a data set, add the batches' matrices (`addConfusion`) and take the measures of the sum, as
 * those tools do: the mean of per-image IoUs is a different number.
 *
 * SegmentationLabels are read from their device (`dataSync`, which waits for them).
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkInt, checkOptions, checkTensor, describe, isTensor, shapeStr } from '../validate';

export interface ConfusionMatrixOptions {
  /** A target value whose pixels are not counted (any integer; default: none, every pixel counts). */
  ignoreIndex?: number;
}

/** Class labels: an int32 tensor of any shape, or an array of integers. */
export type SegmentationLabels = Tensor | ArrayLike<number>;

function labelsOf(op: string, x: unknown, name: string): { values: ArrayLike<number>; shape: readonly number[] | null } {
  if (isTensor(x)) {
    const t = checkTensor(op, name, x) as Tensor;
    if (t.dtype !== 'int32') {
      fail('E_DTYPE', `${op}: expected \`${name}\` to hold int32 class labels, got ${t.dtype}${name === 'pred' ? ' (for scores [N, C, H, W], pass scores.argmax(1))' : ''}`);
    }
    return { values: t.dataSync() as Int32Array, shape: t.shape };
  }
  if (Array.isArray(x) || x instanceof Int32Array || x instanceof Uint8Array || x instanceof Uint16Array || x instanceof Uint32Array) {
    return { values: x as ArrayLike<number>, shape: null };
  }
  return fail('E_ARG', `${op}: expected \`${name}\` to be an int32 tensor or an array of class labels, got ${describe(x)}`);
}

/**
 * Counts pixels by (target, predicted) class: `m[target][pred]`. `pred` and `target` are int32
 * label tensors of one shape ([N, H, W], or anything: pixels are matched by position) or arrays
 * of one length; labels outside [0, numClasses) are E_INDEX, except targets equal to
 * `ignoreIndex`, which are skipped.
 * @example
 * const m = metrics.segmentation.confusionMatrix(scores.argmax(1), masks, 4, { ignoreIndex: 255 });
 * console.log(metrics.segmentation.meanIoU(m), metrics.segmentation.pixelAccuracy(m));
 */
export function confusionMatrix(pred: SegmentationLabels, target: SegmentationLabels, numClasses: number, options: ConfusionMatrixOptions = {}): number[][] {
  const op = 'confusionMatrix';
  const n = checkInt(op, 'numClasses', numClasses, 1, 65536);
  const o = checkOptions<ConfusionMatrixOptions>(op, options, ['ignoreIndex']);
  const ignore = o.ignoreIndex === undefined ? null : checkInt(op, 'ignoreIndex', o.ignoreIndex);
  const p = labelsOf(op, pred, 'pred'), t = labelsOf(op, target, 'target');
  if (p.shape && t.shape && shapeStr(p.shape) !== shapeStr(t.shape)) {
    fail('E_SHAPE', `${op}: expected \`pred\` and \`target\` of one shape, got ${shapeStr(p.shape)} and ${shapeStr(t.shape)}`);
  }
  if (p.values.length !== t.values.length) fail('E_SHAPE', `${op}: ${p.values.length} predicted labels for ${t.values.length} targets`);
  const counts = new Float64Array(n * n);
  for (let i = 0; i < t.values.length; i++) {
    const a = t.values[i];
    if (a === ignore) continue;
    const b = p.values[i];
    if (!Number.isInteger(a) || a < 0 || a >= n) fail('E_INDEX', `${op}: target[${i}] = ${a} is not a class in [0, ${n})${ignore === null ? '' : ` nor the ignoreIndex ${ignore}`}`);
    if (!Number.isInteger(b) || b < 0 || b >= n) fail('E_INDEX', `${op}: pred[${i}] = ${b} is not a class in [0, ${n})`);
    counts[a * n + b]++;
  }
  return Array.from({ length: n }, (_, r) => Array.from(counts.subarray(r * n, (r + 1) * n)));
}

/**
 * The element-wise sum of confusion matrices of one size (a data set's, from its batches').
 * @example total = metrics.segmentation.addConfusion(total, metrics.segmentation.confusionMatrix(pred, masks, 4));
 */
export function addConfusion(a: number[][], b: number[][]): number[][] {
  const op = 'addConfusion';
  const n = checkMatrix(op, a, 'a').length;
  if (checkMatrix(op, b, 'b').length !== n) fail('E_SHAPE', `${op}: expected matrices of one size, got ${n}x${n} and ${b.length}x${b.length}`);
  return a.map((row, i) => row.map((v, j) => v + b[i][j]));
}

function checkMatrix(op: string, m: unknown, name = 'matrix'): number[][] {
  const bad = (): never => fail('E_ARG', `${op}: expected \`${name}\` to be a square confusion matrix of counts (number[][]), got ${describe(m)}`);
  if (!Array.isArray(m) || m.length === 0) bad();
  const rows = m as unknown[];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== rows.length) bad();
    for (let j = 0; j < rows.length; j++) {
      const v = (row as unknown[])[j];
      if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) fail('E_ARG', `${op}: \`${name}\`[${i}][${j}] = ${describe(v)} is not a count`);
    }
  }
  return m as number[][];
}

/** A matrix, or one made from (pred, target, numClasses, options). */
function matrixOf(op: string, args: unknown[]): number[][] {
  if (args.length === 1) return checkMatrix(op, args[0]);
  if (args.length < 3 || args.length > 4) fail('E_ARG', `${op}: expected a confusion matrix, or (pred, target, numClasses[, options]), got ${args.length} arguments`);
  return confusionMatrix(args[0] as SegmentationLabels, args[1] as SegmentationLabels, args[2] as number, args[3] as ConfusionMatrixOptions | undefined);
}

/**
 * Intersection over union of each class, m[i][i] / (row i + column i - m[i][i]); NaN for a
 * class that appears in neither the targets nor the predictions.
 * @example metrics.segmentation.iouPerClass(m)   // [0.98, 0.71, NaN, 0.64]
 */
export function iouPerClass(matrix: number[][]): number[];
export function iouPerClass(pred: SegmentationLabels, target: SegmentationLabels, numClasses: number, options?: ConfusionMatrixOptions): number[];
export function iouPerClass(...args: unknown[]): number[] {
  const m = matrixOf('iouPerClass', args);
  return m.map((row, i) => {
    let column = 0;
    for (const r of m) column += r[i];
    const union = row.reduce((s, v) => s + v, 0) + column - row[i];
    return union > 0 ? row[i] / union : NaN;
  });
}

/** The mean of the values that are not NaN; NaN when all are. */
function nanMean(values: number[]): number {
  const kept = values.filter((v) => !Number.isNaN(v));
  return kept.length ? kept.reduce((s, v) => s + v, 0) / kept.length : NaN;
}

/**
 * Mean intersection over union over the classes present in the targets or the predictions
 * (nanmean of `iouPerClass`, as FCN's evaluation and mmsegmentation); NaN if nothing was
 * counted.
 * @example metrics.segmentation.meanIoU(scores.argmax(1), masks, 4)   // or metrics.segmentation.meanIoU(matrix)
 */
export function meanIoU(matrix: number[][]): number;
export function meanIoU(pred: SegmentationLabels, target: SegmentationLabels, numClasses: number, options?: ConfusionMatrixOptions): number;
export function meanIoU(...args: unknown[]): number {
  return nanMean(iouPerClass(matrixOf('meanIoU', args)));
}

/**
 * The share of counted pixels whose predicted class is the target's: trace / total; NaN if
 * nothing was counted.
 * @example metrics.segmentation.pixelAccuracy(scores.argmax(1), masks, 4, { ignoreIndex: 255 })
 */
export function pixelAccuracy(matrix: number[][]): number;
export function pixelAccuracy(pred: SegmentationLabels, target: SegmentationLabels, numClasses: number, options?: ConfusionMatrixOptions): number;
export function pixelAccuracy(...args: unknown[]): number {
  const m = matrixOf('pixelAccuracy', args);
  let right = 0, total = 0;
  m.forEach((row, i) => { right += row[i]; for (const v of row) total += v; });
  return total > 0 ? right / total : NaN;
}

/**
 * The mean over classes present in the targets of the share of their pixels predicted right
 * (FCN's "mean accuracy"); NaN if nothing was counted.
 * @example metrics.segmentation.meanAccuracy(m)
 */
export function meanAccuracy(matrix: number[][]): number;
export function meanAccuracy(pred: SegmentationLabels, target: SegmentationLabels, numClasses: number, options?: ConfusionMatrixOptions): number;
export function meanAccuracy(...args: unknown[]): number {
  const m = matrixOf('meanAccuracy', args);
  return nanMean(m.map((row, i) => {
    const total = row.reduce((s, v) => s + v, 0);
    return total > 0 ? row[i] / total : NaN;
  }));
}
