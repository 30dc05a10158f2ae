/**
 * `F.unfold` and `F.fold`, as PyTorch's (im2col and col2im as functions): the sliding blocks of
 * an image as columns, and columns summed back into an image. Custom layers build on them (a
 * convolution with weights that vary by position, a locally connected layer, patch embeddings).
 *
 * Both are one gather over the zero-padded image: block l = (oh, ow) of unfold's output holds, in
 * row c * kh * kw + i * kw + j, the padded pixel (oh * sh + i * dh, ow * sw + j * dw) of channel c.
 * An index of those pixels in the flattened padded plane (built once per geometry) makes unfold
 * an `indexSelect` and fold, its adjoint, an `indexAdd` into a zero plane, cropped. So values are
 * copied exactly (NaN and infinities included), fold's overlaps are summed in a fixed order, and
 * the gradients are the ops' own (unfold's is fold, fold's is unfold), on any device.
 */
import { tensor, zeros } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { indexAdd, indexSelect, narrow, reshape } from '../../ops';
import type { Tensor } from '../../tensor';
import { checkFloat, checkOptions, describe, shapeStr } from '../../validate';
import { pair } from './conv';
import { pad } from './sampling';

type Size2 = number | readonly [number, number];

export interface UnfoldOptions {
  /** Spacing between a block's taps (default 1). */
  dilation?: Size2;
  /** Zeros added on each side before the blocks are taken (default 0). */
  padding?: Size2;
  /** Step between blocks (default 1). */
  stride?: Size2;
}

interface Geometry {
  kernel: number[];
  dilation: number[];
  padding: number[];
  stride: number[];
  /** Blocks along each axis. */
  blocks: number[];
}

function geometry(op: string, spatial: readonly number[], kernelSize: unknown, o: UnfoldOptions): Geometry {
  const kernel = pair(op, 'kernelSize', kernelSize, 1);
  const dilation = pair(op, 'dilation', o.dilation ?? 1, 1);
  const padding = pair(op, 'padding', o.padding ?? 0, 0);
  const stride = pair(op, 'stride', o.stride ?? 1, 1);
  const blocks = [0, 1].map((a) => Math.floor((spatial[a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1) / stride[a]) + 1);
  if (!(blocks[0] > 0 && blocks[1] > 0)) {
    fail('E_SHAPE', `${op}: a ${spatial.join('x')} image padded by ${padding.join('x')} holds no ${kernel.join('x')} block at dilation ${dilation.join('x')} ` +
      `(${blocks.map((b) => Math.max(b, 0)).join('x')} blocks)`);
  }
  return { kernel, dilation, padding, stride, blocks };
}

// The padded plane's flat positions, block after block for each tap: [kh * kw * L] as int32.
// Kept per geometry (a layer calls with the same one every step); at most a few dozen kept.
const indexCache = new Map<string, Int32Array>();
function blockIndex(g: Geometry, paddedWidth: number): Int32Array {
  const key = `${g.kernel},${g.dilation},${g.stride},${g.blocks},${paddedWidth}`;
  let index = indexCache.get(key);
  if (index === undefined) {
    const [kh, kw] = g.kernel, [bh, bw] = g.blocks, L = bh * bw;
    index = new Int32Array(kh * kw * L);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = (i * kw + j) * L;
        for (let oh = 0; oh < bh; oh++) {
          const row = (oh * g.stride[0] + i * g.dilation[0]) * paddedWidth;
          for (let ow = 0; ow < bw; ow++) index[tap + oh * bw + ow] = row + ow * g.stride[1] + j * g.dilation[1];
        }
      }
    }
    if (indexCache.size >= 64) indexCache.delete(indexCache.keys().next().value!);
    indexCache.set(key, index);
  }
  return index;
}

/**
 * The sliding blocks of x as columns (PyTorch's `F.unfold`, im2col): [N, C, H, W] ->
 * [N, C * kh * kw, L] (or [C, H, W] -> [C * kh * kw, L]), L blocks in row-major order, row
 * c * kh * kw + i * kw + j holding tap (i, j) of channel c. Gradient: `F.fold`.
 * @example F.unfold(x, 3, { padding: 1 })   // [2, 4, 5, 5] -> [2, 36, 25]
 */
export function unfold(x: Tensor, kernelSize: Size2, options: UnfoldOptions = {}): Tensor<'float32'> {
  const op = 'unfold';
  const t = checkFloat(op, 'x', x);
  const o = checkOptions<UnfoldOptions>(op, options, ['dilation', 'padding', 'stride']);
  if (t.rank !== 3 && t.rank !== 4) fail('E_SHAPE', `${op}: expected x of shape [N, C, H, W] or [C, H, W], got ${shapeStr(t.shape)}`);
  const [C, H, W] = t.shape.slice(-3);
  const g = geometry(op, [H, W], kernelSize, o);
  const [ph, pw] = g.padding, Hp = H + 2 * ph, Wp = W + 2 * pw;
  const L = g.blocks[0] * g.blocks[1], K = g.kernel[0] * g.kernel[1];
  return tidy(() => {
    const lead = t.shape.slice(0, -3);
    const padded = ph || pw ? pad(t, [pw, pw, ph, ph]) : t;
    const index = tensor(blockIndex(g, Wp), { dtype: 'int32', device: t.device });
    const taken = indexSelect(reshape(padded, [...lead, C, Hp * Wp]), lead.length + 1, index);   // [..., C, K * L]
    return reshape(taken, [...lead, C * K, L]);
  }) as Tensor<'float32'>;
}

/**
 * Columns summed back into an image (PyTorch's `F.fold`, col2im; the adjoint of `unfold`):
 * [N, C * kh * kw, L] -> [N, C, H, W] for outputSize [H, W] (or [C * kh * kw, L] ->
 * [C, H, W]), each column's taps added at their block's pixels, overlaps summed, what falls in
 * the padding dropped. L must be the blocks that unfold would take from such an image.
 * `fold(unfold(x))` is x times the number of blocks covering each pixel. Gradient: `F.unfold`.
 * @example F.fold(cols, [5, 5], 3, { padding: 1 })   // [2, 36, 25] -> [2, 4, 5, 5]
 */
export function fold(x: Tensor, outputSize: Size2, kernelSize: Size2, options: UnfoldOptions = {}): Tensor<'float32'> {
  const op = 'fold';
  const t = checkFloat(op, 'x', x);
  const o = checkOptions<UnfoldOptions>(op, options, ['dilation', 'padding', 'stride']);
  if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `${op}: expected x of shape [N, C * kh * kw, L] or [C * kh * kw, L], got ${shapeStr(t.shape)}`);
  const [H, W] = pair(op, 'outputSize', outputSize, 1);
  const g = geometry(op, [H, W], kernelSize, o);
  const K = g.kernel[0] * g.kernel[1], L = g.blocks[0] * g.blocks[1];
  const [rows, blocks] = t.shape.slice(-2);
  if (rows % K !== 0) fail('E_SHAPE', `${op}: x's ${rows} rows (x ${shapeStr(t.shape)}) are not a multiple of the kernel's ${K} taps (${g.kernel.join('x')})`);
  if (blocks !== L) {
    fail('E_SHAPE', `${op}: x has ${blocks} blocks (x ${shapeStr(t.shape)}), but a ${H}x${W} output with kernel ${g.kernel.join('x')}, dilation ${g.dilation.join('x')}, ` +
      `padding ${g.padding.join('x')} and stride ${g.stride.join('x')} has ${g.blocks.join('x')} = ${L} (outputSize: ${describe(outputSize)})`);
  }
  const C = rows / K, [ph, pw] = g.padding, Hp = H + 2 * ph, Wp = W + 2 * pw;
  return tidy(() => {
    const lead = t.shape.slice(0, -2), axis = lead.length + 1;
    const index = tensor(blockIndex(g, Wp), { dtype: 'int32', device: t.device });
    const plane = zeros([...lead, C, Hp * Wp], { device: t.device });
    const summed = reshape(indexAdd(plane, axis, index, reshape(t, [...lead, C, K * L])), [...lead, C, Hp, Wp]);
    return ph || pw ? narrow(narrow(summed, axis, ph, H), axis + 1, pw, W) : summed;
  }) as Tensor<'float32'>;
}
