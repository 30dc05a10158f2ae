/**
 * Fast R-CNN box coding, as torchvision's BoxCoder (torchvision/models/detection/_utils.py):
 * a box is described relative to a proposal by
 *   dx = wx (cx − pcx) / pw,  dy = wy (cy − pcy) / ph,  dw = ww log(w / pw),  dh = wh log(h / ph)
 * where (pcx, pcy, pw, ph) are the proposal's centre and size. Decoding inverts it, clamping
 * dw and dh at log(1000 / 16) first (torchvision's bbox_xform_clip) so that a wild prediction
 * cannot overflow exp. Composed from tensor ops: both devices, and gradients to the deltas
 * (and to the boxes) for free.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { add, clamp, concat, div, exp, log, mul, narrow, reshape, scale, stack, sub } from '../ops';
import { Tensor } from '../tensor';
import { checkArrayLength, checkDtype, checkNumber, checkSameDevice, checkTensor, shapeStr } from '../validate';
import { boxesArg } from './boxes';

type F32 = Tensor<'float32'>;

/** The largest dw, dh that decodeBoxes exponentiates: log(1000 / 16), as torchvision's. */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

/** (wx, wy, ww, wh): four positive finite numbers. */
function weightsArg(op: string, value: unknown): [number, number, number, number] {
  const w = checkArrayLength(op, 'weights', value, 4);
  if (w.length !== 4) fail('E_ARG', `${op}: expected \`weights\` of 4 numbers (wx, wy, ww, wh), got ${w.length}`);
  return w.map((v, i) => {
    const n = checkNumber(op, `weights[${i}]`, v);
    if (!(n > 0)) fail('E_ARG', `${op}: expected \`weights\` > 0, got ${n} at ${i}`);
    return n;
  }) as [number, number, number, number];
}

/** Width, height and centre of boxes [N, 4] as [N, 1] columns. */
function geometry(b: F32): { w: F32; h: F32; cx: F32; cy: F32 } {
  const x1 = narrow(b, 1, 0, 1), y1 = narrow(b, 1, 1, 1);
  const w = sub(narrow(b, 1, 2, 1), x1), h = sub(narrow(b, 1, 3, 1), y1);
  return { w, h, cx: add(x1, scale(w, 0.5)), cy: add(y1, scale(h, 0.5)) };
}

/**
 * The regression targets that turn each proposal [N, 4] into its reference box [N, 4] (both
 * x1, y1, x2, y2): float32 [N, 4] of (dx, dy, dw, dh), as torchvision's BoxCoder.encode_single.
 * Faster R-CNN's box head uses weights [10, 10, 5, 5]; the default is [1, 1, 1, 1].
 * @example const targets = vision.encodeBoxes(groundTruth, proposals, [10, 10, 5, 5]);
 */
export function encodeBoxes(reference: Tensor, proposals: Tensor, weights: readonly number[] = [1, 1, 1, 1]): F32 {
  const op = 'encodeBoxes';
  const r = boxesArg(op, 'reference', reference), p = boxesArg(op, 'proposals', proposals);
  if (r.shape[0] !== p.shape[0]) fail('E_SHAPE', `${op}: expected \`reference\` and \`proposals\` with the same number of boxes, got ${shapeStr(r.shape)} and ${shapeStr(p.shape)}`);
  checkSameDevice(op, { reference: r, proposals: p });
  const [wx, wy, ww, wh] = weightsArg(op, weights);
  return tidy(() => {
    const g = geometry(r), e = geometry(p);
    const dx = div(scale(sub(g.cx, e.cx), wx), e.w);
    const dy = div(scale(sub(g.cy, e.cy), wy), e.h);
    const dw = scale(log(div(g.w, e.w)), ww);
    const dh = scale(log(div(g.h, e.h)), wh);
    return concat([dx, dy, dw, dh], 1);
  });
}

/**
 * The boxes that deltas [N, 4K] (K sets of dx, dy, dw, dh per proposal, e.g. one per class)
 * describe relative to proposals [N, 4]: float32 [N, 4K] of x1, y1, x2, y2, as torchvision's
 * BoxCoder.decode_single (dw and dh clamped at log(1000 / 16) before exp).
 * @example const boxes = vision.decodeBoxes(head.boxDeltas, proposals, [10, 10, 5, 5]);   // [N, 4 * classes]
 */
export function decodeBoxes(deltas: Tensor, proposals: Tensor, weights: readonly number[] = [1, 1, 1, 1]): F32 {
  const op = 'decodeBoxes';
  const d = checkTensor(op, 'deltas', deltas);
  checkDtype(op, 'deltas', d, 'float32');
  const p = boxesArg(op, 'proposals', proposals);
  if (d.rank !== 2 || d.shape[0] !== p.shape[0] || d.shape[1] % 4 !== 0 || d.shape[1] === 0) {
    fail('E_SHAPE', `${op}: expected \`deltas\` of shape [${p.shape[0]}, 4K] (K sets of dx, dy, dw, dh per proposal), got ${shapeStr(d.shape)}`);
  }
  checkSameDevice(op, { deltas: d, proposals: p });
  const [wx, wy, ww, wh] = weightsArg(op, weights);
  const [n, k] = [d.shape[0], d.shape[1] / 4];
  return tidy(() => {
    const codes = reshape(d as F32, [n, k, 4]);
    const part = (j: number) => narrow(codes, 2, j, 1).reshape([n, k]);   // [N, K]
    const e = geometry(p);                                               // [N, 1] columns
    const dw = clamp(div(part(2), ww), null, BBOX_XFORM_CLIP);
    const dh = clamp(div(part(3), wh), null, BBOX_XFORM_CLIP);
    const cx = add(mul(div(part(0), wx), e.w), e.cx);
    const cy = add(mul(div(part(1), wy), e.h), e.cy);
    const halfW = scale(mul(exp(dw), e.w), 0.5), halfH = scale(mul(exp(dh), e.h), 0.5);
    return stack([sub(cx, halfW), sub(cy, halfH), add(cx, halfW), add(cy, halfH)], 2).reshape([n, 4 * k]);
  });
}
