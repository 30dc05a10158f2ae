/**
 * Box geometry, as torchvision.ops: areas, pairwise IoU and format conversion of boxes [N, 4].
 * Each is composed from tensor ops, so it runs on either device and records gradients.
 *
 * Formats (torchvision's names): 'xyxy' (x1, y1, x2, y2: the corners, the format every other
 * function here takes), 'xywh' (x1, y1, width, height), 'cxcywh' (centre x, centre y, width,
 * height). A degenerate box (x2 <= x1 or y2 <= y1) is not an error: its area is its signed
 * product, as torchvision's, and it overlaps nothing.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { add, clamp, clone, concat, div, maximum, minimum, mul, narrow, scale, sub, unsqueeze } from '../ops';
import { Tensor } from '../tensor';
import { checkDtype, checkSameDevice, checkTensor, describe, shapeStr } from '../validate';

type F32 = Tensor<'float32'>;

/** The box formats of torchvision.ops.box_convert. */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';
const FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** @internal A float32 tensor of shape [N, 4] (E_DTYPE, E_SHAPE otherwise). */
export function boxesArg(op: string, name: string, value: unknown): F32 {
  const t = checkTensor(op, name, value);
  checkDtype(op, name, t, 'float32');
  if (t.rank !== 2 || t.shape[1] !== 4) fail('E_SHAPE', `${op}: expected \`${name}\` of shape [N, 4], got ${shapeStr(t.shape)}`);
  return t as F32;
}

/** Column j of [N, 4] as [N, 1]. */
function col(boxes: F32, j: number): F32 {
  return narrow(boxes, 1, j, 1);
}

/**
 * The area of each box (x1, y1, x2, y2): (x2 − x1)(y2 − y1), float32 [N], as
 * torchvision.ops.box_area (negative for a box with one side reversed).
 * @example vision.boxArea(tensor([[0, 0, 2, 3]])).tolist()   // [6]
 */
export function boxArea(boxes: Tensor): F32 {
  const b = boxesArg('boxArea', 'boxes', boxes);
  return tidy(() => mul(sub(col(b, 2), col(b, 0)), sub(col(b, 3), col(b, 1))).reshape([b.shape[0]]));
}

/**
 * Pairwise intersection over union of boxes a [N, 4] and b [M, 4] (x1, y1, x2, y2): float32
 * [N, M], as torchvision.ops.box_iou: intersection / (areaA + areaB − intersection), with the
 * intersection's sides clamped at 0. Two empty boxes give 0 / 0 = NaN, as torchvision's.
 * @example vision.boxIou(tensor([[0, 0, 2, 2]]), tensor([[1, 1, 3, 3]])).tolist()   // [[1 / 7]]
 */
export function boxIou(a: Tensor, b: Tensor): F32 {
  const op = 'boxIou';
  const ta = boxesArg(op, 'a', a), tb = boxesArg(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  return tidy(() => {
    const [n, m] = [ta.shape[0], tb.shape[0]];
    // a's columns as [N, 1], b's as [1, M]: every pair by broadcasting.
    const ac = (j: number) => col(ta, j);
    const bc = (j: number) => col(tb, j).reshape([1, m]);
    const w = clamp(sub(minimum(ac(2), bc(2)), maximum(ac(0), bc(0))), 0);
    const h = clamp(sub(minimum(ac(3), bc(3)), maximum(ac(1), bc(1))), 0);
    const inter = mul(w, h);
    const areaA = unsqueeze(boxArea(ta), 1), areaB = boxArea(tb).reshape([1, m]);
    const union = sub(add(areaA, areaB), inter);
    return div(inter, union).reshape([n, m]);
  });
}

function formatArg(op: string, name: string, value: unknown): BoxFormat {
  if (!FORMATS.includes(value as BoxFormat)) fail('E_ARG', `${op}: expected \`${name}\` one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describe(value)}`);
  return value as BoxFormat;
}

/**
 * Converts boxes [N, 4] between 'xyxy', 'xywh' and 'cxcywh', as torchvision.ops.box_convert
 * (through 'xyxy' when neither side is it).
 * @example vision.boxConvert(tensor([[10, 20, 4, 6]]), 'cxcywh', 'xyxy').tolist()   // [[8, 17, 12, 23]]
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): F32 {
  const op = 'boxConvert';
  const b = boxesArg(op, 'boxes', boxes);
  const from = formatArg(op, 'inFmt', inFmt), to = formatArg(op, 'outFmt', outFmt);
  // torchvision returns a copy when the formats agree; so does this.
  return tidy(() => (from === to ? clone(b) : fromXyxy(toXyxy(b, from), to)));
}

function toXyxy(b: F32, fmt: BoxFormat): F32 {
  const [c0, c1, c2, c3] = [0, 1, 2, 3].map((j) => col(b, j));
  if (fmt === 'xyxy') return b;
  if (fmt === 'xywh') return concat([c0, c1, add(c0, c2), add(c1, c3)], 1);
  const hw = scale(c2, 0.5), hh = scale(c3, 0.5);
  return concat([sub(c0, hw), sub(c1, hh), add(c0, hw), add(c1, hh)], 1);
}

function fromXyxy(b: F32, fmt: BoxFormat): F32 {
  if (fmt === 'xyxy') return b;
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((j) => col(b, j));
  const w = sub(x2, x1), h = sub(y2, y1);
  if (fmt === 'xywh') return concat([x1, y1, w, h], 1);
  return concat([scale(add(x1, x2), 0.5), scale(add(y1, y2), 0.5), w, h], 1);
}
