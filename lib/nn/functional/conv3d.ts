/**
 * 3-D convolutions (video and volumes: C3D's 3x3x3 kernels over frames, as in the survey's
 * action recognition), as torch.nn.functional.conv3d and conv_transpose3d, on x [N, C, D, H, W].
 *
 * Both run on conv2d's kernels (so on every device, with its algorithms and cuDNN), by taking the
 * depth axis apart: a 3-D kernel is kd 2-D kernels, one per depth tap.
 * - conv3d: `F.unfold` along depth gathers, for each output depth, the kd input slices its
 *   window reads (padding, stride and dilation included) as kd times the channels. One conv2d
 *   with the weight viewed as [K, C * kd, kh, kw] over the N * Do images then sums channel and
 *   depth taps in one GEMM, as im2col of a volume would. A 1 x kh x kw kernel (stride 1 and no
 *   padding along depth) needs no unfold: each slice is already an image.
 * - convTranspose3d (conv3d's adjoint): one convTranspose2d per input slice, with the weight
 *   viewed as [C, K * kd, kh, kw], gives each slice's contribution to the kd output depths it
 *   reaches; `F.fold` along depth adds them into place.
 * The gradients are those of the ops composed (unfold's is fold and back), so they are exact
 * adjoints too. The depth rearrangement costs kd copies of the input (conv3d) or of the output
 * (convTranspose3d), the memory an im2col over the depth taps takes.
 */
import { add, narrow, permute, reshape } from '../../ops';
import { traceAs } from '../../autograd';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { Tensor } from '../../tensor';
import { checkFloat, checkInt, checkOptions, describe, shapeStr } from '../../validate';
import { conv2d, convTranspose2d, pair } from './conv';
import { pad } from './sampling';
import { fold, unfold } from './unfold';

type F32 = Tensor<'float32'>;

/** A size for the three spatial dimensions, or [depth, height, width]. */
export type Triple = number | readonly [number, number, number];

export interface Conv3dOptions {
  /** Step between applications of the kernel (default 1). */
  stride?: Triple;
  /** Zeros added on each side (default 0); 'same' keeps the size at stride 1 (any odd extra at the end), 'valid' is 0. */
  padding?: Triple | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: Triple;
  /** Channels split into this many independent groups (default 1). */
  groups?: number;
}

export interface ConvTranspose3dOptions {
  stride?: Triple;
  /** Removed from each side of the output: output = (i - 1)s - 2p + d(k - 1) + outputPadding + 1. */
  padding?: Triple;
  /** Added to the end of each axis to pick among the sizes a strided conv maps alike. */
  outputPadding?: Triple;
  groups?: number;
  dilation?: Triple;
}

/** @internal An integer or three of them, each at least `min` (conv.ts's `pair` for three axes). */
export const triple = (op: string, name: string, value: unknown, min: number): [number, number, number] =>
  pair(op, name, value, min, 3) as [number, number, number];

function volumes(op: string, x: unknown, w: unknown, wLayout: string): [F32, F32] {
  const tx = checkFloat(op, 'x', x), tw = checkFloat(op, 'w', w);
  if (tx.rank !== 5) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, D, H, W], got ${shapeStr(tx.shape)}`);
  if (tw.rank !== 5) fail('E_SHAPE', `${op}: expected \`w\` of shape ${wLayout}, got ${shapeStr(tw.shape)}`);
  return [tx, tw];
}

function bias(op: string, b: unknown, channels: number): F32 | null {
  if (b === undefined || b === null) return null;
  const t = checkFloat(op, 'b', b);
  if (t.rank !== 1 || t.shape[0] !== channels) fail('E_SHAPE', `${op}: expected \`b\` of shape [${channels}], got ${shapeStr(t.shape)}`);
  return t;
}

/** [N, A, B, ...rest] as [N, B, A, ...rest] (a copy). */
const swap12 = (t: F32): F32 => permute(t, [0, 2, 1, ...t.shape.slice(3).map((_, i) => i + 3)]);

/**
 * 3-D convolution (cross-correlation) of x [N, C, D, H, W] with w [K, C / groups, kd, kh, kw],
 * plus b [K]: output [N, K, Do, Ho, Wo], each size as conv2d's.
 * @example F.conv3d(clip, w, b, { padding: 1 })   // C3D's 3x3x3 layer, size kept
 */
export function conv3d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv3dOptions = {}): F32 {
  const op = 'conv3d';
  const [tx, tw] = volumes(op, x, w, '[K, C / groups, kd, kh, kw]');
  const o = checkOptions<Conv3dOptions>(op, opts, ['stride', 'padding', 'dilation', 'groups']);
  const [N, C, D, H, W] = tx.shape;
  const [K, Cg, kd, kh, kw] = tw.shape;
  const tb = bias(op, b, K);
  const stride = triple(op, 'stride', o.stride ?? 1, 1);
  const dilation = triple(op, 'dilation', o.dilation ?? 1, 1);
  const groups = checkInt(op, 'groups', o.groups ?? 1, 1);
  // Depth padding [before, after]; height and width go to conv2d as given.
  let depthPad: [number, number];
  let planePad: [number, number] | 'same';
  if (o.padding === 'same') {
    if (stride.some((s) => s !== 1)) fail('E_ARG', `${op}: padding 'same' needs stride 1, got stride ${describe(o.stride)}`);
    const total = dilation[0] * (kd - 1);
    depthPad = [Math.floor(total / 2), total - Math.floor(total / 2)];
    planePad = 'same';
  } else if (o.padding === 'valid' || o.padding === undefined) {
    depthPad = [0, 0];
    planePad = [0, 0];
  } else if (typeof o.padding === 'string') {
    return fail('E_ARG', `${op}: expected \`padding\` to be an integer, three of them, 'same' or 'valid', got ${describe(o.padding)}`);
  } else {
    const p = triple(op, 'padding', o.padding, 0);
    depthPad = [p[0], p[0]];
    planePad = [p[1], p[2]];
  }
  if (K < 1 || Cg < 1 || kd < 1 || kh < 1 || kw < 1) fail('E_SHAPE', `${op}: \`w\` ${shapeStr(tw.shape)} has an empty dimension`);
  if (C % groups !== 0 || K % groups !== 0) fail('E_SHAPE', `${op}: groups = ${groups} must divide the input channels ${C} and the output channels ${K}`);
  if (C !== Cg * groups) fail('E_SHAPE', `${op}: \`x\` has ${C} channels but \`w\` ${shapeStr(tw.shape)} expects ${Cg * groups} (w.shape[1] * groups)`);
  const Do = Math.floor((D + depthPad[0] + depthPad[1] - dilation[0] * (kd - 1) - 1) / stride[0]) + 1;
  if (!(Do >= 1)) fail('E_SHAPE', `${op}: the kernel depth ${kd} (dilation ${dilation[0]}) is larger than the padded input depth ${D + depthPad[0] + depthPad[1]}`);
  // The padding of each axis, before and after, for onnx.export ('same' as conv2d resolves it).
  const sides = [depthPad, ...[kh, kw].map((k, a) => {
    if (planePad !== 'same') return [planePad[a], planePad[a]];
    const total = dilation[a + 1] * (k - 1);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  })];
  return traceAs(op, [tx, tw, tb], { stride, dilation, groups, pads: [...sides.map((s) => s[0]), ...sides.map((s) => s[1])] }, () => tidy(() => {
    const plane = { stride: [stride[1], stride[2]] as [number, number], padding: planePad, dilation: [dilation[1], dilation[2]] as [number, number], groups };
    if (kd === 1 && stride[0] === 1 && depthPad[0] === 0 && depthPad[1] === 0) {
      // A 1 x kh x kw kernel (mc3's and R(2+1)D's spatial convolutions): each slice is an image,
      // no unfold needed (one copy fewer).
      const y = conv2d(reshape(swap12(tx), [N * D, C, H, W]), reshape(tw, [K, Cg, kh, kw]), tb, plane);
      return swap12(reshape(y, [N, D, K, ...y.shape.slice(2)]));
    }
    // Zero depth padding in front of unfold only when it is uneven ('same' with an even span).
    let v: F32 = reshape(tx, [N, C, D, H * W]);
    if (depthPad[0] !== depthPad[1]) v = pad(v, [0, 0, depthPad[0], depthPad[1]]);
    const evenPad = depthPad[0] === depthPad[1] ? depthPad[0] : 0;
    // Rows c * kd + i, blocks od * H * W + (h, w): the depth taps of output depth od.
    const cols = unfold(v, [kd, 1], { padding: [evenPad, 0], stride: [stride[0], 1], dilation: [dilation[0], 1] });
    const images = reshape(swap12(reshape(cols, [N, C * kd, Do, H, W])), [N * Do, C * kd, H, W]);
    const y = conv2d(images, reshape(tw, [K, Cg * kd, kh, kw]), tb, plane);
    const [Ho, Wo] = y.shape.slice(2);
    return swap12(reshape(y, [N, Do, K, Ho, Wo]));
  }));
}

/**
 * Transposed 3-D convolution (conv3d's adjoint, which upsamples) of x [N, C, D, H, W] with
 * w [C, K / groups, kd, kh, kw], plus b [K]: output [N, K, Do, Ho, Wo] with
 * Do = (D - 1) stride - 2 padding + dilation (kd - 1) + outputPadding + 1, as PyTorch.
 * @example F.convTranspose3d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 })   // each size doubled (3x3x3)
 */
export function convTranspose3d(x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose3dOptions = {}): F32 {
  const op = 'convTranspose3d';
  const [tx, tw] = volumes(op, x, w, '[C, K / groups, kd, kh, kw]');
  const o = checkOptions<ConvTranspose3dOptions>(op, opts, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  const [N, C, D, H, W] = tx.shape;
  const [Cw, Kg, kd, kh, kw] = tw.shape;
  const groups = checkInt(op, 'groups', o.groups ?? 1, 1);
  const stride = triple(op, 'stride', o.stride ?? 1, 1);
  const dilation = triple(op, 'dilation', o.dilation ?? 1, 1);
  if (typeof o.padding === 'string') fail('E_ARG', `${op}: expected \`padding\` to be an integer or three of them, got ${describe(o.padding)}`);
  const padding = triple(op, 'padding', o.padding ?? 0, 0);
  const outputPadding = triple(op, 'outputPadding', o.outputPadding ?? 0, 0);
  for (let a = 0; a < 3; a++) {
    if (outputPadding[a] >= stride[a] && outputPadding[a] >= dilation[a]) {
      fail('E_ARG', `${op}: outputPadding ${shapeStr(outputPadding)} must be smaller than the stride ${shapeStr(stride)} or the dilation ${shapeStr(dilation)}`);
    }
  }
  if (Cw !== C) fail('E_SHAPE', `${op}: \`x\` has ${C} channels but \`w\` ${shapeStr(tw.shape)} expects ${Cw} (w.shape[0])`);
  if (Kg < 1 || kd < 1 || kh < 1 || kw < 1) fail('E_SHAPE', `${op}: \`w\` ${shapeStr(tw.shape)} has an empty dimension`);
  if (C % groups !== 0) fail('E_SHAPE', `${op}: groups = ${groups} must divide the input channels ${C}`);
  const K = Kg * groups;
  const tb = bias(op, b, K);
  // The depth before padding is cropped: every slice's kd taps land inside it.
  const full = (D - 1) * stride[0] + dilation[0] * (kd - 1) + 1;
  const Do = full - 2 * padding[0] + outputPadding[0];
  if (!(Do >= 1)) fail('E_SHAPE', `${op}: input ${shapeStr(tx.shape)} gives an empty output depth ${Do}`);
  if (D === 0) fail('E_SHAPE', `${op}: expected a non-empty depth, got x ${shapeStr(tx.shape)}`);
  return traceAs(op, [tx, tw, tb], { stride, padding, outputPadding, dilation, groups }, () => tidy(() => {
    const slices = reshape(swap12(tx), [N * D, C, H, W]);
    const y = convTranspose2d(slices, reshape(tw, [C, Kg * kd, kh, kw]), null, {
      stride: [stride[1], stride[2]], padding: [padding[1], padding[2]], outputPadding: [outputPadding[1], outputPadding[2]],
      dilation: [dilation[1], dilation[2]], groups,
    });
    const [Ho, Wo] = y.shape.slice(2);
    // Columns: rows k * kd + i (output channel k, depth tap i), blocks d * Ho * Wo + (h, w).
    const cols = reshape(swap12(reshape(y, [N, D, K * kd, Ho * Wo])), [N, K * kd, D * Ho * Wo]);
    const summed = fold(cols, [full, Ho * Wo], [kd, 1], { stride: [stride[0], 1], dilation: [dilation[0], 1] });
    // Crop the padding from the front, and from the end less the output padding (zeros beyond).
    const kept = Math.min(Do, full - padding[0]);
    let out: F32 = narrow(summed, 2, padding[0], kept);
    if (kept < Do) out = pad(out, [0, 0, 0, Do - kept]);
    out = reshape(out, [N, K, Do, Ho, Wo]);
    return tb ? add(out, reshape(tb, [K, 1, 1, 1])) : out;
  }));
}
