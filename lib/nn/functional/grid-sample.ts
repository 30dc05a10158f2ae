/**
 * Sampling images at arbitrary points, as torch.nn.functional.grid_sample and affine_grid: the
 * spatial transformer (Jaderberg et al. 2015) warps its input by a grid that a small network
 * predicts, and the same two calls crop, rotate or zoom a batch on the device.
 *
 * On the CPU gridSample is a native kernel (native/cpu/grid_sample.cc, forward and backward).
 * On the GPU it is composed from tensor ops (`gridSampleComposed`): the grid's points become
 * corner indices and weights (elementwise ops), the corners are read with `gather`, and the
 * gradients for the image (gather's scatter-add) and the grid (through the weights) come from
 * the tape; every op in it already runs on the GPU, where a new kernel could not be tested when
 * this was written. On the CPU the composition took 5x PyTorch's time forward, 2x with the
 * backward (x [16, 32, 64, 64], a 64 x 64 grid, 2 threads); the tests check the two against
 * each other. affineGrid is composed on both devices (a matmul).
 *
 * Volumes (x [N, C, D, H, W], grid [N, Do, Ho, Wo, 3], theta [N, 3, 4]) take the same
 * composition on both devices, with 8 corners (trilinear) instead of 4.
 */
import { isRecording, record } from '../../autograd';
import { tidy } from '../../engine';
import { native } from '../../native';
import { linspace, ones } from '../../creation';
import { fail } from '../../errors';
import {
  abs, add, cast, clamp, concat, eq, expand, floor, gather, ge, le, matmul, mul, narrow, ne, reshape, round, scale, sub, sum, where,
} from '../../ops';
import { Tensor } from '../../tensor';
import { checkOptions, checkSameDevice, checkTensor, describe, shapeStr } from '../../validate';

type F32 = Tensor<'float32'>;

export type GridSampleMode = 'bilinear' | 'nearest';
export type GridSamplePadding = 'zeros' | 'border' | 'reflection';

export interface GridSampleOptions {
  /** 'bilinear' (default): the four nearest pixels, weighted; 'nearest': the nearest pixel (halves to even). */
  mode?: GridSampleMode;
  /** Points outside the image read 'zeros' (default), the nearest 'border' pixel, or the image mirrored ('reflection'). */
  paddingMode?: GridSamplePadding;
  /** -1 and 1 are the corner pixels' centres (true) or the image's outer edges (false, PyTorch's default). */
  alignCorners?: boolean;
}

function checkAlign(op: string, align: unknown): boolean {
  if (align !== undefined && typeof align !== 'boolean') fail('E_ARG', `${op}: expected \`alignCorners\` a boolean, got ${describe(align)}`);
  return align ?? false;
}

/**
 * The pixel coordinate (float, [N, 1, P]) that normalised coordinates g (-1 .. 1) name along an
 * axis of `size` pixels, with the padding mode applied as PyTorch's grid_sampler_compute_source_index.
 */
function sourceIndex(g: F32, size: number, align: boolean, padding: GridSamplePadding): F32 {
  // -1 -> 0 and 1 -> size - 1 (corners aligned), else -1 -> -0.5 and 1 -> size - 0.5.
  let i = align ? scale(g, (size - 1) / 2, (size - 1) / 2) : scale(g, size / 2, (size - 1) / 2);
  if (padding === 'zeros') return i;
  // NaN is taken as 0 there (PyTorch's clipping drops it the same way).
  i = where(ne(i, i), 0, i);
  if (padding === 'reflection') {
    // Mirrored about the edges (pixel centres with corners aligned, else the outer edges), as
    // PyTorch's reflect_coordinates: period 2 span, every other span flipped.
    const [low, high] = align ? [0, size - 1] : [-0.5, size - 0.5];
    const span = high - low;
    if (span <= 0) return scale(i, 0);
    const a = abs(scale(i, 1, -low));
    const flips = floor(scale(a, 1 / span));
    const extra = sub(a, scale(flips, span));
    const even = eq(sub(flips, scale(floor(scale(flips, 0.5)), 2)), 0);
    i = where(even, scale(extra, 1, low), scale(extra, -1, span + low));
    i = where(ne(i, i), 0, i);  // an infinite point (its remainder NaN): PyTorch's result there means nothing either
  }
  return clamp(i, 0, size - 1);
}

/**
 * Samples x [N, C, H, W] at the points of grid [N, Ho, Wo, 2] (each an (x, y) pair, -1 .. 1
 * across the image: x along W, y along H), giving [N, C, Ho, Wo], as
 * torch.nn.functional.grid_sample on 4-D input. Differentiable in x and, in mode 'bilinear', in
 * grid (the weights' slopes; points on a pixel boundary take the next pixel's; 'nearest' gives
 * the grid zeros, as PyTorch). A point that is
 * NaN samples NaN with padding 'zeros' and bilinear weights (0 nearest), and infinite ones
 * NaN too, as in PyTorch, and sends no gradient (PyTorch: none to x, a NaN to one coordinate);
 * 'border' clips NaN to 0 and infinities to the edges, as PyTorch, and 'reflection' takes both
 * as 0.
 * @example F.gridSample(x, F.affineGrid(theta, x.shape), { paddingMode: 'border' })
 */
export function gridSample(x: Tensor, grid: Tensor, options: GridSampleOptions = {}): F32 {
  const op = 'gridSample';
  const t = checkTensor(op, 'x', x), g = checkTensor(op, 'grid', grid);
  for (const [name, v] of [['x', t], ['grid', g]] as const) {
    if (v.dtype !== 'float32') fail('E_DTYPE', `${op}: expected ${name} of dtype float32, got ${v.dtype}`);
  }
  checkSameDevice(op, { x: t, grid: g });
  const o = checkOptions<GridSampleOptions>(op, options, ['mode', 'paddingMode', 'alignCorners']);
  const mode = o.mode ?? 'bilinear', padding = o.paddingMode ?? 'zeros', align = checkAlign(op, o.alignCorners);
  if (mode !== 'bilinear' && mode !== 'nearest') fail('E_ARG', `${op}: expected \`mode\` 'bilinear' or 'nearest', got ${describe(mode)}`);
  if (!['zeros', 'border', 'reflection'].includes(padding)) {
    fail('E_ARG', `${op}: expected \`paddingMode\` 'zeros', 'border' or 'reflection', got ${describe(padding)}`);
  }
  if (t.rank === 5) return gridSample3d(op, t as F32, g as F32, mode, padding, align);
  if (t.rank !== 4) fail('E_SHAPE', `${op}: expected x of shape [N, C, H, W] or [N, C, D, H, W], got ${shapeStr(t.shape)}`);
  const [N, C, H, W] = t.shape;
  if (g.rank !== 4 || g.shape[0] !== N || g.shape[3] !== 2) {
    fail('E_SHAPE', `${op}: expected grid of shape [${N}, Ho, Wo, 2] for x of shape ${shapeStr(t.shape)}, got ${shapeStr(g.shape)}`);
  }
  const [, Ho, Wo] = g.shape, P = Ho * Wo;
  if (H * W === 0 && N * C * P > 0) fail('E_SHAPE', `${op}: cannot sample the empty images of shape ${shapeStr(t.shape)}`);
  if (H * W > 2 ** 31 - 1) fail('E_SHAPE', `${op}: images of ${H} x ${W} pixels are past int32 indices`);
  if (t.device !== 'cpu') {
    // The composition computes each corner's flat index in float32, exact below 2^24.
    if (H * W > 2 ** 24) fail('E_SHAPE', `${op}: on the GPU, images of ${H} x ${W} pixels are past the 2^24 that float32 corner indices address exactly`);
    return sampleWithGridGradient(t as F32, g as F32, mode, padding, align);
  }
  const codes = [mode === 'nearest' ? 1 : 0, ['zeros', 'border', 'reflection'].indexOf(padding), align] as const;
  const y = new Tensor(native.gridSampleForward(t.handle(op), g.handle(op), ...codes), [N, C, Ho, Wo], 'float32');
  if (!isRecording([t, g])) return y;
  return record(op, y, [t, g], (dy, [sx, sg], need) => {
    const [dx, dgrid] = native.gridSampleBackward(dy.handle(op), sx.handle(op), sg.handle(op), ...codes, need[0], need[1]);
    return [dx === null ? null : new Tensor(dx, t.shape, 'float32'), dgrid === null ? null : new Tensor(dgrid, g.shape, 'float32')];
  }, [t, g]);
}

/**
 * @internal gridSample composed from tensor ops (the GPU's path, and every device's for volumes;
 * on the CPU the tests check the 2-D kernel against it). Samples x [N, C, ...spatial] (2 or 3
 * axes) at the points of grid [N, ...out, axes]: each point's coordinates (the last axis first:
 * x along W, y along H, z along D) become corner indices and weights, and the corners are read
 * with `gather`. The gradients are the tape's. Arguments as gridSample's, checked.
 */
export function gridSampleComposed(t: F32, g: F32, mode: GridSampleMode, padding: GridSamplePadding, align: boolean): F32 {
  const [N, C, ...spatial] = t.shape, axes = spatial.length;
  const out = g.shape.slice(1, -1), P = out.reduce((a, b) => a * b, 1);
  const volume = spatial.reduce((a, b) => a * b, 1);
  return tidy(() => {
    // Coordinate k of the grid reads spatial axis axes - 1 - k (x is W, the last).
    const coords = spatial.map((size, a) => sourceIndex(reshape(narrow(g, axes + 1, axes - 1 - a, 1), [N, 1, P]) as F32, size, align, padding));
    const values = reshape(t, [N, C, volume]) as F32;
    // The value at integer-valued corner coordinates [N, 1, P] (one per spatial axis), and 1
    // where the corner lies inside (0 outside, and for NaN: its index is then 0, which exists).
    const read = (corner: F32[]): [F32, F32] => {
      let inside: F32 | null = null, index: F32 | null = null;
      corner.forEach((c, a) => {
        const ok = mul(ge(c, 0), le(c, spatial[a] - 1));
        inside = inside ? mul(inside, ok) : ok;
        index = index ? add(scale(index, spatial[a]), c) : c;
      });
      const flat = cast(where(inside!, index!, 0), 'int32');
      return [gather(values, 2, expand(flat, [N, C, P])) as F32, inside!];
    };
    let y: F32;
    if (mode === 'nearest') {
      const [v, inside] = read(coords.map((c) => round(c)));
      y = mul(v, inside);
    } else {
      // A point that is not finite (padding 'zeros' only) samples NaN through 0 * (sum of its
      // coordinates), which sends no gradient anywhere; its fractions (NaN) are taken as 0 and
      // its corners' weights selected away, so that no NaN reaches value 0 (the index its
      // corners read) or another coordinate.
      const fraction = (i: F32, i0: F32) => { const f = sub(i, i0); return where(ne(f, f), 0, f); };
      const low = coords.map((c) => floor(c));
      const weights = coords.map((c, a) => { const f = fraction(c, low[a]); return [scale(f, -1, 1), f]; });
      y = scale(coords.reduce((acc, c) => add(acc, c)), 0);
      for (let k = 0; k < 1 << axes; k++) {
        // Corner k: bit (axes - 1 - a) says whether axis a takes its upper neighbour.
        const bits = spatial.map((_, a) => (k >> (axes - 1 - a)) & 1);
        const [v, inside] = read(low.map((l, a) => scale(l, 1, bits[a])));
        const w = bits.map((b, a) => weights[a][b]).reduce((acc, x) => mul(acc, x));
        y = add(y, mul(v, where(inside, w, 0)));
      }
    }
    return reshape(y, [N, C, ...out]) as F32;
  });
}

/**
 * Volumetric gridSample: x [N, C, D, H, W] at grid [N, Do, Ho, Wo, 3] ((x, y, z) points, x
 * along W), as PyTorch's grid_sample on 5-D input ('bilinear' is trilinear there). Composed on
 * both devices; the gradients of x and grid are the tape's.
 */
function gridSample3d(op: string, t: F32, g: F32, mode: GridSampleMode, padding: GridSamplePadding, align: boolean): F32 {
  const [N, C, D, H, W] = t.shape;
  if (g.rank !== 5 || g.shape[0] !== N || g.shape[4] !== 3) {
    fail('E_SHAPE', `${op}: expected grid of shape [${N}, Do, Ho, Wo, 3] for x of shape ${shapeStr(t.shape)}, got ${shapeStr(g.shape)}`);
  }
  const P = g.shape[1] * g.shape[2] * g.shape[3];
  if (D * H * W === 0 && N * C * P > 0) fail('E_SHAPE', `${op}: cannot sample the empty volumes of shape ${shapeStr(t.shape)}`);
  if (D * H * W > 2 ** 24) fail('E_SHAPE', `${op}: volumes of ${D} x ${H} x ${W} voxels are past the 2^24 that float32 corner indices address exactly`);
  return sampleWithGridGradient(t, g, mode, padding, align);
}

/**
 * gridSampleComposed, with a grid gradient in mode 'nearest' too: nearest sampling is flat in
 * the grid, and the composition does not reach it, so the grid is tied on with a term that is 0
 * (NaN points mapped to 0 first, infinities clamped): its gradient is zeros, as on the CPU and
 * in PyTorch, not missing.
 */
function sampleWithGridGradient(t: F32, g: F32, mode: GridSampleMode, padding: GridSamplePadding, align: boolean): F32 {
  if (mode === 'bilinear' || !isRecording([g])) return gridSampleComposed(t, g, mode, padding, align);
  return tidy(() => add(gridSampleComposed(t, g, mode, padding, align), scale(sum(clamp(where(ne(g, g), 0, g), -1, 1)), 0)));
}

/**
 * Coordinates of n points along an axis: -1 .. 1 at the pixels' centres (aligned), else pulled
 * in by (n - 1) / n; one point sits at 0.
 */
function gridAxis(n: number, align: boolean, device: Tensor['device']): F32 {
  if (n <= 1) return scale(ones([n], { device }), 0);
  const c = linspace(-1, 1, n, { dtype: 'float32', device });
  return align ? c : scale(c, (n - 1) / n);
}

/**
 * The volumetric affine grid [N, D, H, W, 3] of theta [N, 3, 4] for a size [N, C, D, H, W]:
 * point (x, y, z) samples theta @ (x, y, z, 1), one batched matmul (differentiable in theta).
 */
function affineGrid3d(op: string, th: F32, size: readonly number[], align: boolean): F32 {
  const [N, , D, H, W] = size;
  if (th.rank !== 3 || th.shape[0] !== N || th.shape[1] !== 3 || th.shape[2] !== 4) {
    fail('E_SHAPE', `${op}: expected theta of shape [${N}, 3, 4] for size ${describe(size)}, got ${shapeStr(th.shape)}`);
  }
  if (D * H * W > 2 ** 31 - 1) fail('E_SHAPE', `${op}: a grid of ${D} x ${H} x ${W} points is too large`);
  return tidy(() => {
    const P = D * H * W, dev = th.device;
    const xs = expand(reshape(gridAxis(W, align, dev), [1, 1, W, 1]), [D, H, W, 1]);
    const ys = expand(reshape(gridAxis(H, align, dev), [1, H, 1, 1]), [D, H, W, 1]);
    const zs = expand(reshape(gridAxis(D, align, dev), [D, 1, 1, 1]), [D, H, W, 1]);
    const base = reshape(concat([xs, ys, zs, ones([D, H, W, 1], { device: dev })], 3), [1, P, 4]);
    // [N, P, 4] @ theta^T [N, 4, 3]
    return reshape(matmul(expand(base, [N, P, 4]), th, { transB: true }), [N, D, H, W, 3]) as F32;
  });
}

/**
 * The sampling grid [N, H, W, 2] of the affine maps theta [N, 2, 3] for an output of `size`
 * [N, C, H, W], as torch.nn.functional.affine_grid on 4-D sizes: point (x, y) of the output,
 * in -1 .. 1 (`alignCorners` as gridSample's), samples theta @ (x, y, 1). Differentiable in theta.
 * For a volume, theta [N, 3, 4] and size [N, C, D, H, W] give [N, D, H, W, 3] (x, y, z points).
 * @example F.affineGrid(tensor([[[0.5, 0, 0], [0, 0.5, 0]]]), [1, 3, 64, 64])   // a 2x zoom into the centre
 */
export function affineGrid(theta: Tensor, size: readonly number[], alignCorners?: boolean): F32 {
  const op = 'affineGrid';
  const th = checkTensor(op, 'theta', theta);
  if (th.dtype !== 'float32') fail('E_DTYPE', `${op}: expected theta of dtype float32, got ${th.dtype}`);
  const align = checkAlign(op, alignCorners);
  if (!Array.isArray(size) || (size.length !== 4 && size.length !== 5) || !size.every((n) => Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1)) {
    fail('E_ARG', `${op}: expected \`size\` as [N, C, H, W] or [N, C, D, H, W] of non-negative integers, got ${describe(size)}`);
  }
  if (size.length === 5) return affineGrid3d(op, th as F32, size, align);
  const [N, , H, W] = size;
  if (th.rank !== 3 || th.shape[0] !== N || th.shape[1] !== 2 || th.shape[2] !== 3) {
    fail('E_SHAPE', `${op}: expected theta of shape [${N}, 2, 3] for size ${describe(size)}, got ${shapeStr(th.shape)}`);
  }
  if (H * W > 2 ** 31 - 1) fail('E_SHAPE', `${op}: a grid of ${H} x ${W} points is too large`);
  return tidy(() => {
    const xs = gridAxis(W, align, th.device), ys = gridAxis(H, align, th.device);
    const grid = new Tensor<'float32'>(native.affineGrid(th.handle(op), xs.handle(op), ys.handle(op)), [N, H, W, 2], 'float32');
    // d theta[n] = the sum over points of dgrid[n, h, w] (outer) (x, y, 1): one batched product.
    return record(op, grid, [th], (dy, [sx, sy]) => {
      const base = concat([expand(reshape(sx, [1, W, 1]), [H, W, 1]), expand(reshape(sy, [H, 1, 1]), [H, W, 1]), ones([H, W, 1], { device: th.device })], 2);
      return [matmul(reshape(dy, [N, H * W, 2]), expand(reshape(base, [1, H * W, 3]), [N, H * W, 3]), { transA: true })];
    }, [xs, ys]);
  });
}
