/**
 * Non-maximum suppression, as torchvision.ops.nms and batched_nms.
 *
 * Note [host-side NMS]: greedy NMS is sequential (each kept box decides which later ones go),
 * and its inputs are small (a few thousand boxes at most after score thresholding), so it runs
 * here in JavaScript on the host, after reading the boxes and scores back, rather than as a
 * native op with a CUDA bitmask kernel. It reproduces torchvision's CPU kernel exactly: the
 * areas, intersections and IoU are computed in float32 (Math.fround after every operation, in
 * the kernel's order), the scores are sorted stably in decreasing order (ties keep the lower
 * index first), and a box is suppressed only when its IoU with a kept box is strictly greater
 * than the threshold. The result is the same on either device; it is an int32 tensor on the
 * boxes' device. Reading the inputs waits for the queue (it blocks, as `dataSync` does).
 *
 * Where torchvision would quietly give an arbitrary answer, this throws: a NaN score (which
 * torch's sort would rank first) or a NaN or infinite coordinate is E_ARG. Empty inputs give
 * an empty result. Degenerate boxes (zero or negative width or height) are kept or suppressed
 * by the same formula as torchvision's: their IoU with anything is 0 or NaN (0 / 0), which is
 * never above the threshold, so they suppress nothing and are never suppressed.
 */
import { fail } from '../errors';
import { tensor } from '../creation';
import { Tensor } from '../tensor';
import { checkDtype, checkNumber, checkSameDevice, checkTensor, shapeStr } from '../validate';
import { boxesArg } from './boxes';

type I32 = Tensor<'int32'>;
const f = Math.fround;

/** The boxes and scores read back and checked (NaN and infinite coordinates, NaN scores). */
function readInputs(op: string, boxes: unknown, scores: unknown): { b: Float32Array; s: Float32Array; device: string } {
  const tb = boxesArg(op, 'boxes', boxes);
  const ts = checkTensor(op, 'scores', scores);
  checkDtype(op, 'scores', ts, 'float32');
  if (ts.rank !== 1 || ts.shape[0] !== tb.shape[0]) fail('E_SHAPE', `${op}: expected \`scores\` of shape [${tb.shape[0]}] (one per box), got ${shapeStr(ts.shape)}`);
  checkSameDevice(op, { boxes: tb, scores: ts });
  const b = tb.dataSync() as Float32Array, s = ts.dataSync() as Float32Array;
  for (let i = 0; i < s.length; i++) if (Number.isNaN(s[i])) fail('E_ARG', `${op}: score ${i} is NaN`);
  for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i])) fail('E_ARG', `${op}: box ${Math.floor(i / 4)} has a non-finite coordinate (${b[i]})`);
  return { b, s, device: tb.device };
}

function thresholdArg(op: string, value: unknown): number {
  return checkNumber(op, 'iouThreshold', value);
}

/** Indices 0..n-1 sorted by decreasing score, ties in increasing index (a stable sort). */
function byScore(s: Float32Array, indices: number[]): number[] {
  return indices.sort((i, j) => (s[j] - s[i]) || (i - j));
}

/** torchvision's CPU kernel (nms_kernel_impl) over `order`, in float32. */
function greedy(b: Float32Array, order: readonly number[], threshold: number): number[] {
  const area = (i: number) => f(f(b[4 * i + 2] - b[4 * i]) * f(b[4 * i + 3] - b[4 * i + 1]));
  const suppressed = new Uint8Array(b.length / 4);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    const [ix1, iy1, ix2, iy2] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    const iarea = area(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const w = Math.max(0, f(Math.min(ix2, b[4 * j + 2]) - Math.max(ix1, b[4 * j])));
      const h = Math.max(0, f(Math.min(iy2, b[4 * j + 3]) - Math.max(iy1, b[4 * j + 1])));
      const inter = f(w * h);
      const iou = f(inter / f(f(iarea + area(j)) - inter));
      if (iou > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * Greedy non-maximum suppression, as torchvision.ops.nms: boxes [N, 4] (x1, y1, x2, y2),
 * scores [N]; returns the int32 indices of the kept boxes in decreasing score order. A box goes
 * when its IoU with a higher-scoring kept box is > iouThreshold. Runs on the host (see the
 * note at the top of lib/vision/nms.ts); NaN scores and non-finite boxes are E_ARG.
 * @example
 * const boxes = tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]);
 * vision.nms(boxes, tensor([0.9, 0.8, 0.7]), 0.5).tolist()   // [0, 2]
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): I32 {
  const op = 'nms';
  const { b, s, device } = readInputs(op, boxes, scores);
  const threshold = thresholdArg(op, iouThreshold);
  const order = byScore(s, Array.from({ length: s.length }, (_, i) => i));
  return tensor(Int32Array.from(greedy(b, order, threshold)), { dtype: 'int32', device });
}

/**
 * Non-maximum suppression within each category, as torchvision.ops.batched_nms: boxes of
 * different `idxs` (int32 [N], e.g. class labels) never suppress each other. Returns the int32
 * indices of the kept boxes in decreasing score order (ties in increasing index).
 * @example
 * const keep = vision.batchedNms(boxes, scores, labels, 0.5);   // per-class NMS
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): I32 {
  const op = 'batchedNms';
  const { b, s, device } = readInputs(op, boxes, scores);
  const ti = checkTensor(op, 'idxs', idxs);
  checkDtype(op, 'idxs', ti, 'int32');
  if (ti.rank !== 1 || ti.shape[0] !== s.length) fail('E_SHAPE', `${op}: expected \`idxs\` of shape [${s.length}] (one per box), got ${shapeStr(ti.shape)}`);
  checkSameDevice(op, { boxes: boxes as Tensor, idxs: ti });
  const threshold = thresholdArg(op, iouThreshold);
  const category = ti.dataSync() as Int32Array;
  const groups = new Map<number, number[]>();
  for (let i = 0; i < category.length; i++) {
    const g = groups.get(category[i]);
    if (g) g.push(i); else groups.set(category[i], [i]);
  }
  const kept: number[] = [];
  for (const members of groups.values()) kept.push(...greedy(b, byScore(s, members), threshold));
  return tensor(Int32Array.from(byScore(s, kept)), { dtype: 'int32', device });
}
