/**
 * Resizing, as torch.nn.functional.interpolate: every mode PyTorch has ('nearest',
 * 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'), over 1, 2 or 3 spatial
 * axes, with `alignCorners`, `recomputeScaleFactor` and `antialias`.
 *
 * Every mode is separable: each output position along an axis is a weighted sum of a few input
 * positions along that axis (its "taps"), so a resize is one pass per axis. The taps are worked
 * out here, in JavaScript, from the sizes alone, with PyTorch's formulas (its float32 source
 * positions, its cubic coefficients with A = -0.75, its antialiasing filters); a pass is then an
 * indexSelect of every tap, a multiply by the weights and a sum over the taps off the CPU (so it
 * runs on every device and its gradient comes from the tape), and one native pass each way on
 * it (native/cpu/resample_axis.cc). On the CPU, 'nearest' and 'bilinear' (and 'linear', as a
 * bilinear resize of height 1) have their own 2-D kernels (native/cpu/upsample_*.cc).
 */
import { noGrad, record, traceAs } from '../../autograd';
import { tidy } from '../../engine';
import { tensor } from '../../creation';
import { fail } from '../../errors';
import { native } from '../../native';
import { indexSelect, mul, reshape, sum } from '../../ops';
import { Tensor } from '../../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../../validate';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area';

export interface InterpolateOptions {
  /** The output's spatial size ([L], [H, W] or [D, H, W], or one number for all; 0 in mode 'area' only); give this or `scaleFactor`. */
  size?: number | readonly number[];
  /** Multipliers of the spatial sizes (one number for all); the output size is floor(input * factor). */
  scaleFactor?: number | readonly number[];
  /**
   * 'nearest' (default; PyTorch's, which picks floor(j * in / out)), 'nearest-exact' (the
   * nearest pixel centre, as PIL and scikit-image), 'linear' (3-D x), 'bilinear' (4-D),
   * 'bicubic' (4-D; PyTorch's A = -0.75, borders clamped), 'trilinear' (5-D) or 'area' (the
   * mean over each output pixel's region: adaptive average pooling).
   */
  mode?: InterpolateMode;
  /** linear, bilinear, bicubic, trilinear: align the corner pixels' centres (PyTorch's default false). */
  alignCorners?: boolean;
  /** With `scaleFactor`: sample with in / out rather than 1 / scaleFactor (PyTorch's option; default false). */
  recomputeScaleFactor?: boolean;
  /** bilinear, bicubic: low-pass filter the input when downsampling, as PIL (PyTorch's option; default false). */
  antialias?: boolean;
}

const MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'];
/** The modes that take alignCorners; the rank of x each needs. */
const RANK_OF: Partial<Record<InterpolateMode, number>> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };

export interface CheckedInterpolateOptions {
  mode: InterpolateMode;
  alignCorners: boolean;
  size: number[] | null;
  factor: number[] | null;
  recompute: boolean;
  antialias: boolean;
}

/** The options checked (all but what depends on x's rank): what `interpolate` and `nn.Upsample` accept. */
export function checkInterpolateOptions(op: string, options: InterpolateOptions): CheckedInterpolateOptions {
  const o = checkOptions<InterpolateOptions>(op, options, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor', 'antialias']);
  const mode = o.mode ?? 'nearest';
  if (!MODES.includes(mode)) fail('E_ARG', `${op}: expected \`mode\` one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${describe(mode)}`);
  const flag = (name: 'alignCorners' | 'recomputeScaleFactor' | 'antialias'): boolean | undefined => {
    const v = o[name];
    if (v !== undefined && typeof v !== 'boolean') fail('E_ARG', `${op}: expected \`${name}\` a boolean, got ${describe(v)}`);
    return v;
  };
  const alignCorners = flag('alignCorners'), recompute = flag('recomputeScaleFactor'), antialias = flag('antialias');
  if (alignCorners !== undefined && RANK_OF[mode] === undefined) {
    fail('E_ARG', `${op}: \`alignCorners\` goes with the interpolating modes only ('linear', 'bilinear', 'bicubic', 'trilinear'), not '${mode}'`);
  }
  if (antialias && mode !== 'bilinear' && mode !== 'bicubic') fail('E_ARG', `${op}: \`antialias\` goes with modes 'bilinear' and 'bicubic' only, not '${mode}'`);
  if ((o.size === undefined) === (o.scaleFactor === undefined)) fail('E_ARG', `${op}: give exactly one of \`size\` and \`scaleFactor\``);
  if (recompute !== undefined && o.scaleFactor === undefined) fail('E_ARG', `${op}: \`recomputeScaleFactor\` goes with \`scaleFactor\` only`);
  const list = (v: number | readonly number[], name: string, ok: (n: number) => boolean): number[] => {
    const p = typeof v === 'number' ? [v] : v;
    if (!Array.isArray(p) || p.length < 1 || p.length > 3 || !p.every((n) => typeof n === 'number' && ok(n))) {
      fail('E_ARG', `${op}: expected \`${name}\` as a number or a list of one to three valid values, got ${describe(v)}`);
    }
    return [...p];
  };
  return {
    mode, alignCorners: alignCorners ?? false, recompute: recompute ?? false, antialias: antialias ?? false,
    size: o.size !== undefined ? list(o.size, 'size', (n) => Number.isInteger(n) && n >= 0 && n <= 2 ** 24) : null,
    factor: o.scaleFactor !== undefined ? list(o.scaleFactor, 'scaleFactor', (n) => Number.isFinite(n) && n > 0) : null,
  };
}

/**
 * Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] x, as torch.nn.functional.interpolate (see
 * InterpolateOptions for the modes). With `scaleFactor` the sampling uses 1 / factor, as PyTorch
 * does unless `recomputeScaleFactor`. Differentiable in x.
 * @example F.interpolate(x, { scaleFactor: 2 }); F.interpolate(x, { size: [64, 64], mode: 'bicubic' })
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor<'float32'> {
  const op = 'interpolate';
  const t = checkTensor(op, 'x', x);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected x of dtype float32, got ${t.dtype}`);
  if (t.rank < 3 || t.rank > 5) fail('E_SHAPE', `${op}: expected x of shape [N, C, L], [N, C, H, W] or [N, C, D, H, W], got ${shapeStr(t.shape)}`);
  const o = checkInterpolateOptions(op, options);
  const mode = o.mode;
  const d = t.rank - 2;
  const need = RANK_OF[mode];
  if (need !== undefined && need !== t.rank) fail('E_SHAPE', `${op}: mode '${mode}' needs a ${need}-D x, got ${shapeStr(t.shape)}`);
  if (o.antialias && t.rank !== 4) fail('E_SHAPE', `${op}: \`antialias\` needs a 4-D x, got ${shapeStr(t.shape)}`);
  const perAxis = (v: number[], name: string): number[] => {
    if (v.length === 1) return new Array<number>(d).fill(v[0]);
    if (v.length !== d) fail('E_ARG', `${op}: expected \`${name}\` of ${d} value(s) for x of shape ${shapeStr(t.shape)}, got ${describe(v)}`);
    return v;
  };
  const inSize = t.shape.slice(2);
  let outSize: number[], scales: (number | null)[];
  if (o.size) {
    outSize = perAxis(o.size, 'size');
    if (mode !== 'area' && outSize.includes(0)) fail('E_ARG', `${op}: expected \`size\` of at least 1 (0 for mode 'area' only), got ${describe(o.size)}`);
    scales = outSize.map(() => null);
  } else {
    const f = perAxis(o.factor!, 'scaleFactor');
    outSize = inSize.map((n, i) => Math.floor(n * f[i]));
    if (outSize.some((n) => n < (mode === 'area' ? 0 : 1) || n > 2 ** 24)) fail('E_ARG', `${op}: scaleFactor ${describe(o.factor)} gives the size ${describe(outSize)} for ${shapeStr(t.shape)}`);
    scales = f.map((v) => (o.recompute ? null : 1 / v));
  }
  if (inSize.some((n) => n === 0)) fail('E_SHAPE', `${op}: cannot resize the empty input of shape ${shapeStr(t.shape)}`);
  const align = o.alignCorners;
  const given = o.size ? null : perAxis(o.factor!, 'scaleFactor');
  return traceAs(op, [t], { mode, outSize, scaleFactor: o.recompute ? null : given, alignCorners: align, antialias: o.antialias }, () => resize(t as Tensor<'float32'>, mode, inSize, outSize, scales, align, o.antialias));
}

/** interpolate's work, its arguments checked: x resized from inSize to outSize. */
function resize(t: Tensor<'float32'>, mode: InterpolateMode, inSize: number[], outSize: number[], scales: (number | null)[], align: boolean, antialias: boolean): Tensor<'float32'> {
  const d = t.rank - 2;
  if (t.device === 'cpu' && !antialias && (mode === 'nearest' || mode === 'bilinear' || mode === 'linear')) {
    // 'linear' as a bilinear resize of [N, C, 1, L] (its height stays: source row 0, weight 1).
    if (d === 1) return tidy(() => reshape(resizeOnCpu(reshape(t, [t.shape[0], t.shape[1], 1, inSize[0]]) as Tensor<'float32'>, [1, outSize[0]], [null, scales[0]], align, mode === 'linear' ? 'bilinear' : mode), [t.shape[0], t.shape[1], outSize[0]]));
    if (d === 2) return resizeOnCpu(t, outSize, scales, align, mode === 'nearest' ? 'nearest' : 'bilinear');
  }
  return tidy(() => {
    let y = t;
    // The last axis (contiguous: its pass is a gather per output) first when it grows, so that
    // pass runs on the smaller tensor; otherwise in order, the last on the shrunk one.
    const order = [...inSize.keys()];
    if (outSize[d - 1] > inSize[d - 1]) order.unshift(order.pop()!);
    for (const a of order) {
      const n = inSize[a], m = outSize[a];
      // An axis whose size stays is copied, whatever the scale, by PyTorch's linear modes
      // (compute_source_index_and_lambda), not by its nearest, cubic and antialiased ones; 'area'
      // ignores the scale, and nearest without one maps j to j.
      if (n === m && (mode === 'area' || (RANK_OF[mode] !== undefined && mode !== 'bicubic' && !antialias) || (mode.startsWith('nearest') && scales[a] === null))) continue;
      y = resampleAxis(y, a + 2, tapsOf(mode, n, m, scales[a], align, antialias));
    }
    return y === t ? mul(t, 1) : y;
  });
}

/** Each output position's input positions and weights along one axis: `count` taps each, `index` and `weight` [m * count]. */
interface Taps { count: number; index: Int32Array; weight: Float32Array }

const f32 = Math.fround;

/** PyTorch's area_pixel_compute_scale (float32): the step between output positions in input units. */
function stepOf(n: number, m: number, given: number | null, alignCorners: boolean): number {
  if (alignCorners) return m > 1 ? f32((n - 1) / (m - 1)) : 0;
  return f32(given ?? n / m);
}

/** PyTorch's area_pixel_compute_source_index (float32): where output j samples the input. */
function sourceOf(step: number, j: number, alignCorners: boolean, cubic: boolean): number {
  if (alignCorners) return f32(step * j);
  const s = f32(f32(step * f32(j + 0.5)) - 0.5);
  return !cubic && s < 0 ? 0 : s;
}

/** PyTorch's cubic convolution coefficients (Keys, A = -0.75) for the four taps around t in [0, 1). */
function cubicWeights(t: number): number[] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;          // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;      // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

function tapsOf(mode: InterpolateMode, n: number, m: number, given: number | null, alignCorners: boolean, antialias: boolean): Taps {
  const step = stepOf(n, m, given, alignCorners);
  if (antialias) return antialiasTaps(mode === 'bicubic' ? 4 : 2, n, m, step);
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), n - 1);
  const fixed = (count: number, fill: (j: number, index: Int32Array, weight: Float32Array, at: number) => void): Taps => {
    const index = new Int32Array(m * count), weight = new Float32Array(m * count);
    for (let j = 0; j < m; j++) fill(j, index, weight, j * count);
    return { count, index, weight };
  };
  switch (mode) {
    case 'nearest':
    case 'nearest-exact':
      // PyTorch's CPU kernel for batches: floor(j * step), floor((j + 1/2) * step), in float32.
      return fixed(1, (j, index, weight, at) => {
        const s = Math.floor(mode === 'nearest' ? f32(j * step) : f32(f32(j + 0.5) * step));
        index[at] = Math.min(s, n - 1);
        weight[at] = 1;
      });
    case 'area':
      return areaTaps(n, m);
    case 'bicubic':
      return fixed(4, (j, index, weight, at) => {
        const s = sourceOf(step, j, alignCorners, true);
        const i0 = Math.floor(s);
        const w = cubicWeights(f32(s - i0));
        for (let k = 0; k < 4; k++) {
          index[at + k] = clampIndex(i0 - 1 + k);
          weight[at + k] = w[k];
        }
      });
    default:  // linear, bilinear, trilinear: one axis of it
      return fixed(2, (j, index, weight, at) => {
        const s = sourceOf(step, j, alignCorners, false);
        const i0 = Math.min(Math.floor(s), n - 1);
        const frac = f32(s - i0);
        index[at] = i0;
        index[at + 1] = i0 < n - 1 ? i0 + 1 : i0;
        weight[at] = f32(1 - frac);
        weight[at + 1] = frac;
      });
  }
}

/**
 * 'area': output j is the mean of input [floor(j n / m), ceil((j + 1) n / m)), as
 * adaptive_avg_pool (F.adaptiveAvgPool1d/2d compute the same; these taps also serve 5-D inputs
 * and an output size of 0, which those refuse, and ran as fast on [8, 64, 56, 56]). Regions shorter than the longest are padded with their own last position
 * at weight 0 (a NaN inside the region spreads either way; none from outside it).
 */
function areaTaps(n: number, m: number): Taps {
  const start = (j: number) => Math.floor((j * n) / m), end = (j: number) => Math.ceil(((j + 1) * n) / m);
  let count = 1;
  for (let j = 0; j < m; j++) count = Math.max(count, end(j) - start(j));
  const index = new Int32Array(m * count), weight = new Float32Array(m * count);
  for (let j = 0; j < m; j++) {
    const s = start(j), len = end(j) - s;
    for (let k = 0; k < count; k++) {
      index[j * count + k] = s + Math.min(k, len - 1);
      weight[j * count + k] = k < len ? 1 / len : 0;
    }
  }
  return { count, index, weight };
}

/**
 * Antialiased taps, as PyTorch's _compute_indices_weights_aa (PIL's resampling): a triangle
 * (bilinear, support 1) or cubic (A = -0.5, support 2) filter, widened by the step when
 * downsampling, over the input positions it covers, normalized to sum 1.
 */
function antialiasTaps(interpSize: number, n: number, m: number, step: number): Taps {
  const filter = interpSize === 2
    ? (x: number) => Math.max(0, 1 - Math.abs(x))
    : (x: number) => {
      const a = -0.5, u = Math.abs(x);
      if (u < 1) return ((a + 2) * u - (a + 3)) * u * u + 1;
      if (u < 2) return (((u - 5) * u + 8) * u - 4) * a;
      return 0;
    };
  const support = step >= 1 ? (interpSize / 2) * step : interpSize / 2;
  const invscale = step >= 1 ? 1 / step : 1;
  const windows: { lo: number; w: number[] }[] = [];
  let count = 1;
  for (let j = 0; j < m; j++) {
    const center = step * (j + 0.5);
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const size = Math.min(Math.trunc(center + support + 0.5), n) - lo;
    const w = Array.from({ length: size }, (_, k) => filter((k + lo - center + 0.5) * invscale));
    const total = w.reduce((p, q) => p + q, 0);
    windows.push({ lo, w: total !== 0 ? w.map((v) => v / total) : w });
    count = Math.max(count, size);
  }
  const index = new Int32Array(m * count), weight = new Float32Array(m * count);
  windows.forEach(({ lo, w }, j) => {
    for (let k = 0; k < count; k++) {
      index[j * count + k] = Math.min(lo + Math.min(k, Math.max(w.length - 1, 0)), n - 1);
      weight[j * count + k] = k < w.length ? w[k] : 0;
    }
  });
  return { count, index, weight };
}

/** One axis resampled: y[..., j, ...] = sum_k weight[j, k] x[..., index[j, k], ...]. */
function resampleAxis(x: Tensor<'float32'>, axis: number, taps: Taps): Tensor<'float32'> {
  const m = taps.index.length / taps.count;
  const copies = taps.count === 1 && taps.weight.every((w) => w === 1);   // nearest: a gather (indexSelect's native one on the CPU)
  if (x.device === 'cpu' && !copies) return resampleAxisOnCpu(x, axis, taps, m);
  const picked = indexSelect(x, axis, tensor(taps.index, { dtype: 'int32', device: x.device })) as Tensor<'float32'>;
  if (copies) return picked;
  const after = x.rank - axis - 1;
  const grouped = reshape(picked, [...x.shape.slice(0, axis), m, taps.count, ...x.shape.slice(axis + 1)]);
  const w = tensor(taps.weight, { shape: [m, taps.count, ...new Array<number>(after).fill(1)], device: x.device });
  return sum(mul(grouped, w), axis + 1);
}

/**
 * resampleAxis on the CPU in one native pass each way (native/cpu/resample_axis.cc), x seen as
 * [outer, n, inner]: the composed form took 0.6x PyTorch's time for a 2x bicubic upsampling of
 * [8, 64, 56, 56] (a gather of every tap, a product and a sum over them, per axis).
 */
function resampleAxisOnCpu(x: Tensor<'float32'>, axis: number, taps: Taps, m: number): Tensor<'float32'> {
  const op = 'interpolate';
  const n = x.shape[axis];
  const outer = x.shape.slice(0, axis).reduce((p, q) => p * q, 1), inner = x.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
  const outShape = x.shape.map((s, i) => (i === axis ? m : s));
  const y = noGrad(() => tidy(() => {
    const flat = reshape(x, [outer, n, inner]);
    return reshape(new Tensor<'float32'>(native.resampleAxis(flat.handle(op), taps.index, taps.weight, m), [outer, m, inner], 'float32'), outShape);
  }));
  return record(op, y, [x], (dy) => [tidy(() => {
    const flat = reshape(dy, [outer, m, inner]);
    return reshape(new Tensor<'float32'>(native.resampleAxisBackward(flat.handle(op), taps.index, taps.weight, n), [outer, n, inner], 'float32'), x.shape);
  })], []);
}

/**
 * Resizing on the CPU in one native pass each way (native/cpu/upsample_bilinear.cc and
 * upsample_nearest.cc): the composed form's source positions (and for bilinear its weights and
 * float32 operations: the same bits forward), where the composed form took about ten passes and
 * two scatters (bilinear) or two gathers (nearest: 0.26x PyTorch's speed on a 2x upsampling of
 * [8, 64, 56, 56]). `scales`: PyTorch's per axis (the given 1 / scaleFactor, or null for in /
 * out); (n - 1) / (m - 1) with alignCorners.
 */
function resizeOnCpu(t: Tensor<'float32'>, outSize: number[], given: (number | null)[], alignCorners: boolean, mode: 'nearest' | 'bilinear'): Tensor<'float32'> {
  const [N, C, H, W] = t.shape;
  const inSize = [H, W];
  const scales = inSize.map((n, a) => {
    const m = outSize[a];
    return alignCorners ? (m > 1 ? (n - 1) / (m - 1) : 0) : (given[a] ?? n / m);
  });
  const op = 'interpolate';
  const planes = t.reshape([N * C, H, W]);
  const y = noGrad(() => {
    const forward = mode === 'nearest' ? native.upsampleNearest : native.upsampleBilinear;
    const out = new Tensor<'float32'>(forward(planes.handle(op), outSize, scales, alignCorners), [N * C, outSize[0], outSize[1]], 'float32');
    const shaped = out.reshape([N, C, outSize[0], outSize[1]]);
    out.dispose();
    return shaped;
  });
  planes.dispose();
  return record(op, y, [t], (dy) => {
    const dyPlanes = dy.reshape([N * C, outSize[0], outSize[1]]);
    const backward = mode === 'nearest' ? native.upsampleNearestBackward : native.upsampleBilinearBackward;
    const dx = new Tensor<'float32'>(backward(dyPlanes.handle(op), inSize, scales, alignCorners), [N * C, H, W], 'float32');
    dyPlanes.dispose();
    const shaped = dx.reshape([N, C, H, W]);
    dx.dispose();
    return [shaped];
  }, []);
}
