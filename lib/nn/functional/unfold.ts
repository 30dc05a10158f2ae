/**
 * `F.unfold` and `F.fold`, as PyTorch's (im2col and col2im as functions): the sliding blocks of
 * an image as columns, and columns summed back into an image. Custom layers build on them (a
 * convolution with weights that vary by position, a locally connected layer, patch embeddings).
 *
 * Block l = (oh, ow) of unfold's output holds, in row c * kh * kw + i * kw + j, the padded pixel
 * (oh * sh + i * dh, ow * sw + j * dw) of channel c. On the CPU both are the convolution's own
 * im2col and col2im, one channel plane at a time (native/cpu/unfold.cc). On the GPU they are one
 * gather over the zero-padded image: an index of those pixels in the flattened padded plane
 * (built once per geometry) makes unfold an `indexSelect` and fold, its adjoint, an `indexAdd`
 * into a zero plane, cropped. Either way values are copied exactly (NaN and infinities
 * included) and fold adds each pixel's taps in the order (i, j), from 0 (the same bits on every
 * device); the gradients are the ops' own (unfold's is fold, fold's is unfold). The gather on
 * the CPU took 37 ms for unfold 3x3 pad 1 of [16, 64, 32, 32] and 17.8 for the fold back
 * (PyTorch 36 and 10.7; `node dist/bench/tensor-ops.js --threads 2`); now 3.0 and 3.0.
 */
import { record } from '../../autograd';
import { tensor, zeros } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { indexAdd, indexSelect, narrow, reshape } from '../../ops';
import { Tensor } from '../../tensor';
import { checkFloat, checkOptions, describe, shapeStr, sizeOf } from '../../validate';
import { pair } from './conv';
import { pad } from './sampling';

type Size2 = number | readonly [number, number];
type F32 = Tensor<'float32'>;

export interface UnfoldOptions {
  /** Spacing between a block's taps (default 1). */
  dilation?: Size2;
  /** Zeros added on each side before the blocks are taken (default 0). */
  padding?: Size2;
  /** Step between blocks (default 1). */
  stride?: Size2;
}

/** @internal */
export interface Geometry {
  kernel: number[];
  dilation: number[];
  padding: number[];
  stride: number[];
  /** Blocks along each axis. */
  blocks: number[];
}

/** @internal */
export function geometry(op: string, spatial: readonly number[], kernelSize: unknown, o: UnfoldOptions): Geometry {
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

// A native op on the CPU over planes: fn gets x as `planes` [P, a, b] (x's memory) and returns
// [P, ...out]. Neither the view nor the result is recorded (the caller records the whole op).
function onPlanes(op: string, x: Tensor, planes: number[], fn: (planes: Handle) => Handle, out: number[]): F32 {
  const view = new Tensor<'float32'>(native.reshape(x.handle(op), planes), planes, 'float32');
  return new Tensor<'float32'>(fn(view.handle(op)), [planes[0], ...out], 'float32');
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
  const L = g.blocks[0] * g.blocks[1], K = g.kernel[0] * g.kernel[1];
  if (t.device !== 'cpu') return unfoldComposed(t, g);
  const lead = t.shape.slice(0, -3), shape = [...lead, C * K, L];
  const y = tidy(() => reshape(onPlanes(op, t, [sizeOf(lead) * C, H, W], (planes) => native.unfold(planes, g.kernel, g.dilation, g.padding, g.stride), [K, L]), shape));
  return record(op, y, [t], (dy) => [fold(dy, [H, W], g.kernel as [number, number], o)]);
}

/**
 * unfold composed of tensor ops (the GPU's; tested on the CPU against the CPU kernel): a gather
 * from the zero-padded planes. @internal
 */
export function unfoldComposed(t: F32, g: Geometry): F32 {
  const [C, H, W] = t.shape.slice(-3), lead = t.shape.slice(0, -3);
  const [ph, pw] = g.padding, Hp = H + 2 * ph, Wp = W + 2 * pw;
  const L = g.blocks[0] * g.blocks[1], K = g.kernel[0] * g.kernel[1];
  return tidy(() => {
    const padded = ph || pw ? pad(t, [pw, pw, ph, ph]) : t;
    const index = tensor(blockIndex(g, Wp), { dtype: 'int32', device: t.device });
    const taken = indexSelect(reshape(padded, [...lead, C, Hp * Wp]), lead.length + 1, index);   // [..., C, K * L]
    return reshape(taken, [...lead, C * K, L]);
  });
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
  const C = rows / K;
  if (t.device !== 'cpu') return foldComposed(t, g, [H, W]);
  const lead = t.shape.slice(0, -2), shape = [...lead, C, H, W];
  const y = tidy(() => reshape(onPlanes(op, t, [sizeOf(lead) * C, K, L], (cols) => native.fold(cols, [H, W], g.kernel, g.dilation, g.padding, g.stride), [H, W]), shape));
  return record(op, y, [t], (dy) => [unfold(dy, g.kernel as [number, number], o)]);
}

/**
 * fold composed of tensor ops (the GPU's; tested on the CPU against the CPU kernel): an
 * indexAdd into zero padded planes, which adds each pixel's taps in the order (i, j), cropped.
 * @internal
 */
export function foldComposed(t: F32, g: Geometry, [H, W]: number[]): F32 {
  const K = g.kernel[0] * g.kernel[1], L = g.blocks[0] * g.blocks[1];
  const C = t.shape[t.rank - 2] / K, [ph, pw] = g.padding, Hp = H + 2 * ph, Wp = W + 2 * pw;
  return tidy(() => {
    const lead = t.shape.slice(0, -2), axis = lead.length + 1;
    const index = tensor(blockIndex(g, Wp), { dtype: 'int32', device: t.device });
    const plane = zeros([...lead, C, Hp * Wp], { device: t.device });
    const summed = reshape(indexAdd(plane, axis, index, reshape(t, [...lead, C, K * L])), [...lead, C, Hp, Wp]);
    return ph || pw ? narrow(narrow(summed, axis, ph, H), axis + 1, pw, W) : summed;
  });
}
