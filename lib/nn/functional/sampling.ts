/**
 * Padding and sub-pixel rearrangement, as PyTorch's `F.pad`, `F.pixel_shuffle` and friends
 * (resizing, `F.interpolate`, is in interpolate.ts). Composed from `indexSelect`,
 * `concat`, `narrow` and arithmetic, so they run on every device and their gradients come from
 * the tape: the indices and weights are worked out here, in JavaScript, from the shapes alone.
 */
import { traceAs } from '../../autograd';
import { tidy } from '../../engine';
import { full, tensor } from '../../creation';
import { fail } from '../../errors';
import { concat, indexSelect, narrow, permute, reshape } from '../../ops';
import { Tensor, type DType } from '../../tensor';
import { checkFloat32Value, checkHostBytes, checkInt, checkNumber, checkTensor, describe, shapeStr } from '../../validate';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** int32 indices on `like`'s device. */
function indices(count: number, at: (i: number) => number, like: Tensor): Tensor<'int32'> {
  return tensor(Int32Array.from({ length: count }, (_, i) => at(i)), { dtype: 'int32', device: like.device });
}

/** `pad`'s arguments apart from the tensor: what `pad` and `nn.Pad2d` accept. */
export function checkPadOptions(op: string, pad: readonly number[], mode: PadMode, value: number, float = true): void {
  if (!Array.isArray(pad) || pad.length % 2 !== 0 || pad.length > 128 || pad.some((p) => !Number.isInteger(p))) {
    fail('E_ARG', `${op}: expected \`pad\` as integer (before, after) pairs, got ${describe(pad)}`);
  }
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    fail('E_ARG', `${op}: expected \`mode\` 'constant', 'reflect', 'replicate' or 'circular', got ${describe(mode)}`);
  }
  if (float) checkFloat32Value(op, 'value', value);
  else checkNumber(op, 'value', value);
  if (mode !== 'constant' && value !== 0) fail('E_ARG', `${op}: \`value\` only goes with mode 'constant'`);
}

/**
 * Pads (or, with negative amounts in 'constant' mode, crops) the last dimensions, as
 * torch.nn.functional.pad: `pad` lists (before, after) pairs from the last dimension backwards,
 * `[left, right, top, bottom, ...]`. Modes: 'constant' (`value`, default 0), 'reflect' (the
 * edge not repeated; each amount below the size), 'replicate' (the edge repeated), 'circular'
 * (wrapping; each amount at most the size).
 * @example F.pad(x, [1, 1, 2, 2]); F.pad(x, [3, 3, 3, 3], 'reflect')
 */
export function pad<D extends DType>(x: Tensor<D>, pad: readonly number[], mode: PadMode = 'constant', value = 0): Tensor<D> {
  const op = 'pad';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (!Array.isArray(pad) || pad.length / 2 > t.rank) {
    fail('E_ARG', `${op}: expected \`pad\` as integer (before, after) pairs for at most ${t.rank} dimensions, got ${describe(pad)}`);
  }
  checkPadOptions(op, pad, mode, value, t.dtype === 'float32');
  return traceAs(op, [t], { pad, mode, value }, () => tidy(() => {
    let y: Tensor<D> = t;
    for (let k = 0; k < pad.length / 2; k++) {
      const dim = t.rank - 1 - k, before = pad[2 * k], after = pad[2 * k + 1], n = y.shape[dim];
      if (before === 0 && after === 0) continue;
      if (mode === 'constant') {
        const start = Math.max(0, -before), length = n - start - Math.max(0, -after);
        if (length < 0) fail('E_SHAPE', `${op}: cropping ${-Math.min(before, 0)} and ${-Math.min(after, 0)} from dimension ${dim} of ${shapeStr(t.shape)} leaves nothing`);
        const kept = start === 0 && length === n ? y : narrow(y, dim, start, length);
        const fill = (size: number) => full(y.shape.map((d, i) => (i === dim ? size : d)), value, { dtype: t.dtype, device: t.device }) as Tensor<D>;
        const parts = [...(before > 0 ? [fill(before)] : []), kept, ...(after > 0 ? [fill(after)] : [])];
        y = parts.length === 1 ? parts[0] : concat(parts, dim);
        continue;
      }
      if (before < 0 || after < 0) fail('E_ARG', `${op}: negative amounts crop in mode 'constant' only, got ${describe(pad)} in mode '${mode}'`);
      if (mode === 'reflect' && (before >= n || after >= n)) {
        fail('E_SHAPE', `${op}: reflect padding of ${before} and ${after} must be below the size ${n} of dimension ${dim} of ${shapeStr(t.shape)}`);
      }
      if (mode === 'circular' && (before > n || after > n)) {
        fail('E_SHAPE', `${op}: circular padding of ${before} and ${after} must be at most the size ${n} of dimension ${dim} of ${shapeStr(t.shape)}`);
      }
      if (n === 0) fail('E_SHAPE', `${op}: cannot pad the empty dimension ${dim} of ${shapeStr(t.shape)} in mode '${mode}'`);
      // The index list is made in JavaScript before the output: a padding of 2 ** 31 made a
      // list of 2 ** 31 numbers (minutes, then a raw RangeError: Invalid array length).
      const m = n + before + after;
      if (m > 2 ** 31 - 1) fail('E_SHAPE', `${op}: padding dimension ${dim} of ${shapeStr(t.shape)} by ${before} and ${after} gives ${m} entries, past int32 indices`);
      checkHostBytes(op, (y.size / n) * m * 4, `the padded tensor's ${(y.size / n) * m} values`);
      const source = (j: number): number => {
        if (mode === 'replicate') return Math.min(Math.max(j, 0), n - 1);
        if (mode === 'circular') return ((j % n) + n) % n;
        return j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;   // reflect
      };
      y = indexSelect(y, dim, indices(m, (i) => source(i - before), t));
    }
    return y;
  }));
}

// ---- sub-pixel rearrangement ---------------------------------------------------------------

/** `x` of rank 3 or more ([..., C, H, W]) and the factor r, checked. */
function shuffleArgs(op: string, x: unknown, factor: unknown, name: string): [Tensor, number] {
  const t = checkTensor(op, 'x', x);
  if (t.rank < 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [..., C, H, W], got ${shapeStr(t.shape)}`);
  return [t, checkInt(op, name, factor, 1)];
}

/**
 * Sub-pixel upsampling (Shi et al., ESPCN), as torch.pixel_shuffle: [..., C * r^2, H, W] ->
 * [..., C, H * r, W * r], output pixel (h * r + i, w * r + j) of channel c taken from channel
 * c * r^2 + i * r + j. A convolution to C * r^2 channels then this upsamples by r.
 * @example F.pixelShuffle(x, 2)   // [1, 12, 8, 8] -> [1, 3, 16, 16]
 */
export function pixelShuffle<D extends DType>(x: Tensor<D>, upscaleFactor: number): Tensor<D> {
  const op = 'pixelShuffle';
  const [t, r] = shuffleArgs(op, x, upscaleFactor, 'upscaleFactor');
  const [c, h, w] = t.shape.slice(-3), lead = t.shape.slice(0, -3);
  if (c % (r * r) !== 0) fail('E_SHAPE', `${op}: ${c} channels (x ${shapeStr(t.shape)}) are not divisible by upscaleFactor^2 = ${r * r}`);
  const k = lead.length;
  return tidy(() => {
    const parts = reshape(t, [...lead, c / (r * r), r, r, h, w]);  // [..., C, i, j, H, W]
    const moved = permute(parts, [...lead.keys(), k, k + 3, k + 1, k + 4, k + 2]);  // [..., C, H, i, W, j]
    return reshape(moved, [...lead, c / (r * r), h * r, w * r]);
  }) as Tensor<D>;
}

/**
 * Channel shuffle (ShuffleNet, Zhang et al. 2018), as torch.nn.functional.channel_shuffle: the C
 * channels of [N, C, *] (at least 3-D), seen as [groups, C / groups], are transposed to
 * [C / groups, groups], so output channel j * groups + g is input channel g * (C / groups) + j.
 * Any dtype; a copy. @example F.channelShuffle(x, 2)   // channels [0 1 2 3] -> [0 2 1 3]
 */
export function channelShuffle<D extends DType>(x: Tensor<D>, groups: number): Tensor<D> {
  const op = 'channelShuffle';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.rank < 3) fail('E_SHAPE', `${op}: expected \`x\` of shape [N, C, *] (at least 3-D), got ${shapeStr(t.shape)}`);
  const g = checkInt(op, 'groups', groups, 1);
  const [n, c] = t.shape, rest = t.shape.slice(2);
  if (c % g !== 0) fail('E_SHAPE', `${op}: the ${c} channels of x ${shapeStr(t.shape)} are not divisible by groups = ${g}`);
  return tidy(() => {
    const parts = reshape(t, [n, g, c / g, ...rest]);
    const moved = permute(parts, [0, 2, 1, ...rest.map((_, i) => i + 3)]);
    return reshape(moved, t.shape);
  }) as Tensor<D>;
}

/**
 * The inverse of pixelShuffle, as torch.pixel_unshuffle: [..., C, H * r, W * r] -> [..., C * r^2, H, W].
 * @example F.pixelUnshuffle(x, 2)   // [1, 3, 16, 16] -> [1, 12, 8, 8]
 */
export function pixelUnshuffle<D extends DType>(x: Tensor<D>, downscaleFactor: number): Tensor<D> {
  const op = 'pixelUnshuffle';
  const [t, r] = shuffleArgs(op, x, downscaleFactor, 'downscaleFactor');
  const [c, hr, wr] = t.shape.slice(-3), lead = t.shape.slice(0, -3);
  if (hr % r !== 0 || wr % r !== 0) fail('E_SHAPE', `${op}: the spatial size ${hr}x${wr} (x ${shapeStr(t.shape)}) is not divisible by downscaleFactor ${r}`);
  const k = lead.length;
  return tidy(() => {
    const parts = reshape(t, [...lead, c, hr / r, r, wr / r, r]);  // [..., C, H, i, W, j]
    const moved = permute(parts, [...lead.keys(), k, k + 2, k + 4, k + 1, k + 3]);  // [..., C, i, j, H, W]
    return reshape(moved, [...lead, c * r * r, hr / r, wr / r]);
  }) as Tensor<D>;
}
