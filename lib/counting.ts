/**
 * Counting values, with PyTorch's names: `unique`, `bincount` and `histc`. The first two have a
 * length set by the values, so they read x back (they wait for the queue, as PyTorch's do on a
 * GPU); `histc` reads back only the data's range, and only when it is not given. The counts are
 * not differentiable; `bincount`'s sums of weights are (in the weights).
 */
import { noGrad } from './autograd';
import { ones, tensor, zeros } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { native } from './native';
import { cast, div, floor, ge, indexAdd, indexSelect, le, max, min, minimum, mul, narrow, permute, reshape, stack, sub, where } from './ops';
import { sort } from './sorting';
import { Tensor, type DType } from './tensor';
import { checkAxis, checkBool, checkDtype, checkFloat, checkFloat32Value, checkInt, checkOptions, checkSameDevice, checkTensor, describe, shapeStr } from './validate';

type F32 = Tensor<'float32'>;

export interface UniqueOptions {
  /** Whether the values come sorted. They always do here (as PyTorch's on the CPU), so false changes nothing. */
  sorted?: boolean;
  /** Also return, for each entry of x, the position of its value in `values`. */
  returnInverse?: boolean;
  /** Also return how many times each value occurs. */
  returnCounts?: boolean;
  /**
   * The distinct slices along this axis (rows for 0 of a matrix) instead of the distinct values
   * of the flattened x, ordered lexicographically; `inverse` then has one entry per slice.
   */
  dim?: number;
}

/** uniqueConsecutive's options: as unique's, without `sorted` (the order is x's). */
export type UniqueConsecutiveOptions = Omit<UniqueOptions, 'sorted'>;

/** The distinct values, and with them the inverse map (x's shape) and the counts (int32). */
export interface UniqueResult<D extends DType = DType> { values: Tensor<D>; inverse: Tensor<'int32'>; counts: Tensor<'int32'> }

/**
 * The distinct values of x, ascending, as torch.unique (of the flattened x): a 1-D tensor; with
 * `returnInverse` or `returnCounts`, `{ values, inverse, counts }`, where values[inverse] is x.
 * -0 and +0 count as one value; each NaN as a value of its own, after the numbers. With `dim`,
 * the distinct slices along that axis, in lexicographic order (a NaN entry after the numbers,
 * so that equal slices always meet; PyTorch's order with NaN depends on where they are).
 * @example unique(tensor([3, 1, 3, 2], { dtype: 'int32' }))   // [1, 2, 3]
 * @example const { values, inverse, counts } = unique(labels, { returnCounts: true });
 * @example unique(boxes, { dim: 0 })   // the distinct rows
 */
export function unique<D extends DType>(x: Tensor<D>, options: UniqueOptions & { returnInverse: true }): UniqueResult<D>;
export function unique<D extends DType>(x: Tensor<D>, options: UniqueOptions & { returnCounts: true }): UniqueResult<D>;
export function unique<D extends DType>(x: Tensor<D>, options?: { sorted?: boolean; returnInverse?: false; returnCounts?: false; dim?: number }): Tensor<D>;
export function unique<D extends DType>(x: Tensor<D>, options?: UniqueOptions): Tensor<D> | UniqueResult<D>;
export function unique<D extends DType>(x: Tensor<D>, options: UniqueOptions = {}): Tensor<D> | UniqueResult<D> {
  const o = checkOptions<UniqueOptions>('unique', options, ['sorted', 'returnInverse', 'returnCounts', 'dim']);
  checkBool('unique', 'sorted', o.sorted ?? true);
  return distinct('unique', x, o, false);
}

/**
 * Collapses each run of equal consecutive values (or, with `dim`, slices) into one, as
 * torch.unique_consecutive: the order is x's, so a value may come back in several runs.
 * `{ values, inverse, counts }` with `returnInverse` or `returnCounts` (counts are run lengths).
 * @example uniqueConsecutive(tensor([1, 1, 2, 2, 3, 1]))   // [1, 2, 3, 1]
 */
export function uniqueConsecutive<D extends DType>(x: Tensor<D>, options: UniqueConsecutiveOptions & { returnInverse: true }): UniqueResult<D>;
export function uniqueConsecutive<D extends DType>(x: Tensor<D>, options: UniqueConsecutiveOptions & { returnCounts: true }): UniqueResult<D>;
export function uniqueConsecutive<D extends DType>(x: Tensor<D>, options?: { returnInverse?: false; returnCounts?: false; dim?: number }): Tensor<D>;
export function uniqueConsecutive<D extends DType>(x: Tensor<D>, options?: UniqueConsecutiveOptions): Tensor<D> | UniqueResult<D>;
export function uniqueConsecutive<D extends DType>(x: Tensor<D>, options: UniqueConsecutiveOptions = {}): Tensor<D> | UniqueResult<D> {
  const o = checkOptions<UniqueConsecutiveOptions>('uniqueConsecutive', options, ['returnInverse', 'returnCounts', 'dim']);
  return distinct('uniqueConsecutive', x, o, true);
}

// unique and uniqueConsecutive: x read back (the result's length depends on it) and its values
// (or its slices along dim) put in order, unless consecutive: the values by the native sort on
// x's device, the slices on the host; then runs of equal ones grouped, and the values taken from
// x on its device. Not differentiable, as PyTorch's.
function distinct<D extends DType>(op: string, x: Tensor<D>, o: UniqueConsecutiveOptions, consecutive: boolean): Tensor<D> | UniqueResult<D> {
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  if (t.size > 2 ** 31 - 1) fail('E_SHAPE', `${op}: expected at most 2^31 - 1 elements, got ${t.size}`);
  const withInverse = checkBool(op, 'returnInverse', o.returnInverse ?? false);
  const withCounts = checkBool(op, 'returnCounts', o.returnCounts ?? false);
  let axis: number | undefined;
  if (o.dim !== undefined) {
    if (t.rank === 0) fail('E_SHAPE', `${op}: \`dim\` ${describe(o.dim)} given, but x is 0-D (a single value)`);
    axis = checkAxis(op, 'dim', o.dim, t.rank);
    if (t.size === 0 && t.shape[axis] !== 0) fail('E_SHAPE', `${op}: x of shape ${shapeStr(t.shape)} has an empty axis other than dim ${axis}: its slices have no entries to tell apart`);
  }
  if (axis === undefined && !consecutive && t.device === 'cpu') {
    // Native: a radix sort of x's keys and the runs grouped (native/cpu/unique.cc).
    const [values, counts, inverse, length] = native.unique(t.handle(op), withInverse || withCounts);
    const v = new Tensor<D>(values, [length], t.dtype);
    if (inverse === null) {
      native.release(counts);
      return v;
    }
    return { values: v, inverse: new Tensor<'int32'>(inverse, t.shape, 'int32'), counts: new Tensor<'int32'>(counts, [length], 'int32') };
  }
  const n = axis === undefined ? t.size : t.shape[axis];
  const width = n === 0 ? 0 : t.size / n;   // entries per slice (1 without dim)
  // v holds the slices (the values, without dim) one after another; the i-th in order is at
  // slice pos[i] of v (at i where pos is null: v already sorted) and came from slice orig[i] of x.
  let v: Float32Array | Int32Array, pos: ArrayLike<number> | null, orig: ArrayLike<number>;
  if (axis === undefined && !consecutive) {
    // The native sort (stable, NaN last), read back.
    const { values: sv, indices: si } = noGrad(() => tidy(() => sort(reshape(t, [t.size]))));
    try {
      v = sv.dataSync();
      orig = si.dataSync();
    } finally {
      sv.dispose();
      si.dispose();
    }
    pos = null;
  } else {
    // For dim, the axis moved to the front; sorted here unless consecutive.
    v = noGrad(() => tidy(() => (axis === undefined || axis === 0 ? t : permute(t, [axis, ...t.shape.map((_, i) => i).filter((i) => i !== axis)])).dataSync()));
    const order = Array.from({ length: n }, (_, i) => i);
    // Lexicographic, NaN after the numbers; Array.prototype.sort is stable, so equal slices keep
    // their order (the first of each group is the one taken).
    if (!consecutive) {
      order.sort((a, b) => {
        for (let k = 0; k < width; k++) {
          const p = v[a * width + k], q = v[b * width + k];
          if (p === q) continue;   // -0 === +0
          if (p !== p) return q !== q ? 0 : 1;
          if (q !== q) return -1;
          return p < q ? -1 : 1;
        }
        return 0;
      });
    }
    pos = orig = order;
  }
  const same = (a: number, b: number) => {
    for (let k = 0; k < width; k++) if (v[a * width + k] !== v[b * width + k]) return false;   // NaN !== NaN: each NaN stands alone
    return true;
  };
  const at = (i: number) => (pos === null ? i : pos[i]);
  const inverse = new Int32Array(n), counts: number[] = [], firsts: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || !same(at(i), at(i - 1))) {
      firsts.push(i);
      counts.push(0);
    }
    counts[counts.length - 1]++;
    inverse[orig[i]] = counts.length - 1;
  }
  let values: Tensor<D>;
  if (axis === undefined) {
    values = tensor(t.dtype === 'float32' ? Float32Array.from(firsts, (i) => v[at(i)]) : Int32Array.from(firsts, (i) => v[at(i)]),
      { dtype: t.dtype, shape: [firsts.length], device: t.device }) as Tensor<D>;
  } else {
    const a = axis;
    const taken = tensor(Int32Array.from(firsts, (i) => orig[i]), { dtype: 'int32', shape: [firsts.length], device: t.device });
    values = noGrad(() => tidy(() => indexSelect(t, a, taken)));
    taken.dispose();
  }
  if (!withInverse && !withCounts) return values;
  return {
    values,
    inverse: tensor(inverse, { dtype: 'int32', shape: axis === undefined ? t.shape : [n], device: t.device }),
    counts: tensor(Int32Array.from(counts), { dtype: 'int32', shape: [counts.length], device: t.device }),
  };
}

export interface BincountOptions {
  /** A float32 weight per entry of x (its shape): the result sums them instead of counting. Differentiable. */
  weights?: Tensor;
  /** The least length of the result (default 0). */
  minlength?: number;
}

/**
 * How many times each value 0, 1, ..., max(x) occurs in a 1-D int32 x, as torch.bincount
 * (int32); with `weights`, the sum of the weights of its entries (float32). The length is
 * max(x) + 1, or `minlength` if larger; x must hold no negative values. Reads x back.
 * @example bincount(tensor([0, 3, 3, 1], { dtype: 'int32' }))   // [1, 1, 0, 2]
 */
export function bincount(x: Tensor<'int32'>, options?: { minlength?: number }): Tensor<'int32'>;
export function bincount(x: Tensor<'int32'>, options: BincountOptions & { weights: Tensor }): F32;
export function bincount(x: Tensor<'int32'>, options?: BincountOptions): Tensor<'int32'> | F32;
export function bincount(x: Tensor<'int32'>, options: BincountOptions = {}): Tensor<'int32'> | F32 {
  const op = 'bincount';
  const t = checkTensor(op, 'x', x);
  checkDtype(op, 'x', t, 'int32');
  if (t.rank !== 1) fail('E_SHAPE', `${op}: expected a 1-D x, got ${shapeStr(t.shape)}`);
  const o = checkOptions<BincountOptions>(op, options, ['weights', 'minlength']);
  const minlength = checkInt(op, 'minlength', o.minlength ?? 0, 0, 2 ** 31 - 1);
  const w = o.weights === undefined ? null : checkFloat(op, 'weights', o.weights);
  if (w) {
    checkSameDevice(op, { x: t, weights: w });
    if (w.rank !== 1 || w.size !== t.size) fail('E_SHAPE', `${op}: expected \`weights\` of x's shape ${shapeStr(t.shape)}, got ${shapeStr(w.shape)}`);
  }
  if (!w && t.device === 'cpu') {
    const [handle, length] = native.bincount(t.handle(op), minlength);
    return new Tensor<'int32'>(handle, [length], 'int32');
  }
  const v = t.dataSync() as Int32Array;
  let length = minlength;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0) fail('E_ARG', `${op}: expected non-negative values, got ${v[i]} at ${i}`);
    if (v[i] >= length) length = v[i] + 1;
  }
  if (w) return tidy(() => indexAdd(zeros([length], { device: t.device }), 0, t as Tensor<'int32'>, w));
  const counts = new Int32Array(length);
  for (let i = 0; i < v.length; i++) counts[v[i]]++;
  return tensor(counts, { dtype: 'int32', shape: [length], device: t.device });
}

export interface HistcOptions {
  /** The number of bins, equal in width (default 100). */
  bins?: number;
  /** The lower end of the range. When min equals max (both 0 by default), the data's own range is taken. */
  min?: number;
  /** The upper end of the range (the last bin includes it). */
  max?: number;
}

/**
 * A histogram of x's values (all of x, flattened), as torch.histc: `bins` equal bins over
 * [min, max], the last one closed; values outside (and NaNs) are left out. When min equals max
 * (the default 0 and 0), the range is the data's minimum and maximum (read back), widened by 1
 * each way if they are equal. float32 counts, not differentiable.
 * @example histc(tensor([1, 2, 1]), { bins: 4, min: 0, max: 3 })   // [0, 2, 1, 0]
 */
export function histc(x: Tensor, options: HistcOptions = {}): F32 {
  const op = 'histc';
  const t = checkFloat(op, 'x', x);
  const o = checkOptions<HistcOptions>(op, options, ['bins', 'min', 'max']);
  const bins = checkInt(op, 'bins', o.bins ?? 100, 1, 2 ** 31 - 2);
  // The range as PyTorch takes it, in float32: one beyond float32's range is refused.
  let lo = checkFloat32Value(op, 'min', o.min ?? 0), hi = checkFloat32Value(op, 'max', o.max ?? 0);
  if (lo === hi && t.size > 0) [lo, hi] = noGrad(() => tidy(() => Array.from(stack([min(t), max(t)]).dataSync())));   // one read-back
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) fail('E_ARG', `${op}: the range [${lo}, ${hi}] is not finite`);
  if (!(lo < hi)) fail('E_ARG', `${op}: expected \`max\` larger than \`min\`, got [${lo}, ${hi}]`);
  // The bin as PyTorch's CPU kernel computes it, in float32: ((x - min) * bins) / (max - min);
  // max itself falls in the last bin. The CPU counts in one native pass; elsewhere, ops (what is
  // out of range goes to a spare bin past the end).
  const [flo, fhi] = [Math.fround(lo), Math.fround(hi)];
  if (!(flo < fhi)) fail('E_ARG', `${op}: the range [${lo}, ${hi}] is empty in float32 (its ends round to ${flo})`);
  if (t.device === 'cpu') {
    return new Tensor<'float32'>(native.histc(t.handle(op), bins, flo, fhi), [bins], 'float32');   // native/cpu/histc.cc
  }
  return noGrad(() => tidy(() => {
    const flat = reshape(t, [t.size]);
    const bin = floor(div(mul(sub(flat, flo), bins), Math.fround(fhi - flo)));
    const inRange = mul(ge(flat, flo), le(flat, fhi));
    const at = cast(where(inRange, minimum(bin, bins - 1), bins), 'int32');
    const counts = indexAdd(zeros([bins + 1], { device: t.device }), 0, at, ones([t.size], { device: t.device }));
    return narrow(counts, 0, 0, bins);
  }));
}
