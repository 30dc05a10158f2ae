/**
 * Order statistics with PyTorch's names: `kthvalue`, `median`, `nanmedian`, `mode`, `quantile`
 * and `nanquantile`. A value's position is found first, without gradient (by the CPU's selection
 * kernel, or the stable sort of lib/sorting.ts), and the value gathered from x there, so that the
 * gradient goes back to the position it came from, as PyTorch's. Equal values count in position
 * order (the sort's), and NaN counts as the largest value. float32 or int32 x (the quantiles:
 * float32).
 */
import { noGrad, record } from './autograd';
import { isnan } from './composite';
import { tensor } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { native } from './native';
import { add, argmax, cast, ceil, clamp, div, eq, floor, gather, lt, maximum, mul, narrow, permute, reshape, round, scale, squeeze, stack, sub, sum, where } from './ops';
import { sort, type SortResult } from './sorting';
import { Tensor, type DType } from './tensor';
import { checkAxis, checkBool, checkFloat, checkNumber, checkOptions, checkTensor, collectChecked, describe, isTensor, shapeStr } from './validate';

type F32 = Tensor<'float32'>;

function checkInput<D extends DType>(op: string, x: Tensor<D>): Tensor<D> {
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`x\` of dtype float32 or int32, got ${describe(t.dtype)}`);
  return t;
}

/**
 * One value per line along `dim`: `positions` (run without gradient) gives each line's int32
 * position, shaped as x with the axis 1 long; the values are gathered from x there. A 0-D x is
 * one line of one value.
 */
function selectAlong<D extends DType>(
  op: string, x: Tensor<D>, dim: number, keepdim: boolean, positions: (u: Tensor<D>, axis: number) => Tensor<'int32'>,
): SortResult<D> {
  const axis = checkAxis(op, 'dim', dim, Math.max(1, x.rank));
  checkBool(op, 'keepdim', keepdim);
  if (x.rank > 0 && x.shape[axis] === 0) fail('E_SHAPE', `${op}: expected a non-empty axis ${axis}, got ${shapeStr(x.shape)}`);
  return tidy(() => {
    const u = x.rank === 0 ? reshape(x, [1]) : x;
    const at = noGrad(() => positions(u, axis));
    const values = gather(u, axis, at);
    if (x.rank === 0) return { values: reshape(values, []), indices: reshape(at, []) };
    return keepdim ? { values, indices: at } : { values: squeeze(values, axis), indices: squeeze(at, axis) };
  });
}

/**
 * The k-th smallest value along `dim` (k from 1) and its position, as torch.kthvalue; of equal
 * values the one first in position order counts first; NaN counts as the largest.
 * @example kthvalue(tensor([3, 1, 2]), 2)   // { values: 2, indices: 2 }
 */
export function kthvalue<D extends DType>(x: Tensor<D>, k: number, dim = -1, keepdim = false): SortResult<D> {
  const op = 'kthvalue';
  const t = checkInput(op, x);
  const axis = checkAxis(op, 'dim', dim, Math.max(1, t.rank));
  const len = t.rank === 0 ? 1 : t.shape[axis];
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > len) {
    fail('E_ARG', `${op}: expected \`k\` in [1, ${len}] (the size of axis ${axis} of ${shapeStr(t.shape)}), got ${describe(k)}`);
  }
  return selectAlong(op, t, axis, keepdim, (u, a) => orderPositions(u, a, 'kth', k));
}

type OrderStatistic = 'kth' | 'median' | 'nanmedian';
const SELECT_KIND = { kth: 0, median: 1, nanmedian: 2 } as const;

// The positions of one order statistic per line along axis a of u (u's shape, the axis 1 long):
// the k-th smallest; the lower median, or a line's first NaN; the lower median of the numbers.
// The CPU selects them (native/cpu/sort.cc's select_kth: a radix select, O(n) a line); the GPU
// finds them through its sort (orderPositionsBySort). The same keys order both: the same positions.
function orderPositions(u: Tensor, a: number, which: OrderStatistic, k = 1): Tensor<'int32'> {
  if (u.device !== 'cpu') return orderPositionsBySort(u, a, which, k);
  return new Tensor<'int32'>(native.selectKth(u.handle(which), a, SELECT_KIND[which], k), u.shape.map((d, i) => (i === a ? 1 : d)), 'int32');
}

/** @internal orderPositions through the sort, on any device (what the GPU runs; tested against the CPU's selection). */
export function orderPositionsBySort(u: Tensor, a: number, which: OrderStatistic, k = 1): Tensor<'int32'> {
  const n = u.shape[a];
  const { values, indices } = sort(u, { dim: a });
  if (which === 'kth') return narrow(indices, a, k - 1, 1);
  if (u.dtype !== 'float32') return narrow(indices, a, (n - 1) >> 1, 1);
  if (which === 'median') {
    // NaN sorts last: the last value tells whether the line holds one.
    return where(isnan(narrow(values, a, n - 1, 1)), argmax(isnan(u), a, true), narrow(indices, a, (n - 1) >> 1, 1));
  }
  // The numbers come first: the lower median of `count` of them is at floor((count - 1) / 2)
  // (0 in a line of only NaNs: its first NaN).
  const count = sum(eq(u, u), a, true);
  return gather(indices, a, cast(clamp(floor(scale(count, 0.5, -0.5)), 0), 'int32'));
}

/**
 * The median of all of x, or along `dim`. Without `dim`, as torch.median(x): the lower median of
 * the flattened x (the smaller middle value of an even count), NaN if x holds a NaN, a 0-D
 * tensor whose gradient is shared evenly by the entries equal to it. With `dim`, as
 * torch.median(x, dim): `{ values, indices }`, the lower median of each line and its position
 * (a line with a NaN: NaN, at its first NaN).
 * @example median(tensor([[1, 5, 2], [4, 3, 3]]), 1)   // { values: [2, 3], indices: [2, 1] }
 */
export function median<D extends DType>(x: Tensor<D>): Tensor<D>;
export function median<D extends DType>(x: Tensor<D>, dim: number, keepdim?: boolean): SortResult<D>;
export function median<D extends DType>(x: Tensor<D>, dim?: number, keepdim = false): Tensor<D> | SortResult<D> {
  return medianOf('median', x, dim, keepdim);
}

/**
 * As `median`, with NaNs left out (torch.nanmedian): the lower median of the numbers of each line
 * (of all of x without `dim`); NaN only for a line of NaNs.
 * @example nanmedian(tensor([NaN, 1, 4, 2]))   // 2
 */
export function nanmedian<D extends DType>(x: Tensor<D>): Tensor<D>;
export function nanmedian<D extends DType>(x: Tensor<D>, dim: number, keepdim?: boolean): SortResult<D>;
export function nanmedian<D extends DType>(x: Tensor<D>, dim?: number, keepdim = false): Tensor<D> | SortResult<D> {
  return medianOf('nanmedian', x, dim, keepdim);
}

function medianOf<D extends DType>(which: 'median' | 'nanmedian', x: Tensor<D>, dim: number | undefined, keepdim: boolean): Tensor<D> | SortResult<D> {
  const t = checkInput(which, x);
  const positions = (u: Tensor, a: number) => orderPositions(u, a, which);
  return dim === undefined ? medianOfAll(which, t, positions) : selectAlong(which, t, dim, keepdim, positions);
}

// The median of the flattened x as a 0-D tensor whose gradient goes in equal shares to the
// entries equal to it (NaNs, for a NaN), as PyTorch's median() and nanmedian() without dim.
function medianOfAll<D extends DType>(op: string, t: Tensor<D>, positions: (u: Tensor<D>, a: number) => Tensor<'int32'>): Tensor<D> {
  if (t.size === 0) {
    // As PyTorch: the median of nothing is NaN (an int32 tensor has no NaN to give).
    if (t.dtype !== 'float32') fail('E_SHAPE', `${op}: expected at least one element in an int32 tensor (no NaN to return), got ${shapeStr(t.shape)}`);
    const nan = tensor(NaN, { device: t.device });
    return record(op, nan, [t as unknown as F32], () => [scale(t as unknown as F32, 0)]) as unknown as Tensor<D>;
  }
  const m = noGrad(() => tidy(() => selectAlong(op, reshape(t, [t.size]), 0, false, positions).values));
  if (t.dtype !== 'float32') return m;
  const y = record(op, m as unknown as F32, [t as unknown as F32], (dy, [sx, sm]) => {
    const at = maximum(eq(sx, sm), mul(isnan(sx), isnan(sm)));
    return [mul(at, div(dy, sum(at)))];
  }, [t as unknown as F32, m as unknown as F32]);
  return y as unknown as Tensor<D>;
}

/**
 * The most frequent value of each line along `dim` and a position of it, as torch.mode: of
 * equally frequent values the smallest, at its last position; each NaN counts alone. The counts
 * are taken on the host, so this reads the sorted lines back (it waits for the queue).
 * @example mode(tensor([[3, 1, 2, 1, 2]]))   // { values: [1], indices: [3] }
 */
export function mode<D extends DType>(x: Tensor<D>, dim = -1, keepdim = false): SortResult<D> {
  const op = 'mode';
  const t = checkInput(op, x);
  return selectAlong(op, t, dim, keepdim, (u, a) => {
    const n = u.shape[a];
    const others = u.shape.map((_, i) => i).filter((i) => i !== a);
    const { values, indices } = sort(a === u.rank - 1 ? u : permute(u, [...others, a]), { dim: -1 });
    const v = values.dataSync(), ix = indices.dataSync();
    const at = new Int32Array(v.length / n);
    for (let line = 0, base = 0; line < at.length; line++, base += n) {
      // Runs of equal values in the sorted line (in position order within a run): the longest
      // (the first, so the smallest, on a tie), its last entry.
      let best = base, bestLength = 0;
      for (let start = base, i = base + 1; i <= base + n; i++) {
        if (i < base + n && v[i] === v[i - 1]) continue;
        if (i - start > bestLength) { bestLength = i - start; best = i - 1; }
        start = i;
      }
      at[line] = ix[best];
    }
    return tensor(at, { dtype: 'int32', shape: u.shape.map((d, i) => (i === a ? 1 : d)), device: u.device });
  });
}

export type QuantileInterpolation = 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest';

export interface QuantileOptions {
  /** The axis to take the quantiles along. Default: all of x, flattened. */
  dim?: number;
  /** Keep the reduced axis (all of them without `dim`) as size 1. Default false. */
  keepdim?: boolean;
  /**
   * Between two values, at rank r = q (n - 1) of the sorted line: 'linear' (default) the point r
   * of the way; 'lower' and 'higher' the one below or above; 'midpoint' their mean; 'nearest' the
   * one at r rounded half to even.
   */
  interpolation?: QuantileInterpolation;
}

const INTERPOLATIONS: readonly string[] = ['linear', 'lower', 'higher', 'midpoint', 'nearest'];

/**
 * The q-th quantiles of x along `dim` (of all of x without it), as torch.quantile: q a number
 * in [0, 1], or several (an array, or a 1-D tensor, read back), which add a leading axis of their own. A line
 * with a NaN gives NaN. Differentiable: the gradient goes to the one or two values a quantile is
 * made of.
 * @example quantile(tensor([1, 2, 3, 4]), [0.25, 0.5])   // [1.75, 2.5]
 */
export function quantile(x: Tensor, q: number | readonly number[] | Tensor, options: QuantileOptions = {}): F32 {
  return quantiles('quantile', x, q, options, false);
}

/**
 * As `quantile`, with NaNs left out (torch.nanquantile): the quantiles of the numbers of each
 * line; NaN only for a line of NaNs.
 * @example nanquantile(tensor([1, NaN, 3]), 0.5)   // 2
 */
export function nanquantile(x: Tensor, q: number | readonly number[] | Tensor, options: QuantileOptions = {}): F32 {
  return quantiles('nanquantile', x, q, options, true);
}

function checkQ(op: string, q: unknown): { qs: number[]; one: boolean } {
  let list: unknown;
  let one = false;
  if (typeof q === 'number') {
    list = [q];
    one = true;
  } else if (isTensor(q)) {
    const tq = checkFloat(op, 'q', q);
    if (tq.rank > 1) fail('E_SHAPE', `${op}: expected \`q\` as a number or a 0-D or 1-D tensor, got ${shapeStr(tq.shape)}`);
    list = Array.from(tq.dataSync());
    one = tq.rank === 0;
  } else if (Array.isArray(q)) {
    list = q;
  } else {
    fail('E_ARG', `${op}: expected \`q\` as a number, an array of numbers or a tensor, got ${describe(q)}`);
  }
  const qs = collectChecked(op, 'q', list as unknown[], (v, i) => {
    const p = checkNumber(op, `q[${i}]`, v);
    if (!(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`q\` in [0, 1], got ${p}`);
    return Math.fround(p);   // PyTorch takes q in x's dtype
  });
  return { qs, one };
}

function quantiles(op: string, x: Tensor, q: number | readonly number[] | Tensor, options: QuantileOptions, ignoreNaN: boolean): F32 {
  const t = checkFloat(op, 'x', x);
  const { qs, one } = checkQ(op, q);
  const o = checkOptions<QuantileOptions>(op, options, ['dim', 'keepdim', 'interpolation']);
  const keepdim = checkBool(op, 'keepdim', o.keepdim ?? false);
  const interpolation = o.interpolation ?? 'linear';
  if (!INTERPOLATIONS.includes(interpolation as string)) fail('E_ARG', `${op}: expected \`interpolation\` one of ${INTERPOLATIONS.join(', ')}, got ${describe(interpolation)}`);
  const all = o.dim === undefined;
  const axis = all ? 0 : checkAxis(op, 'dim', o.dim, Math.max(1, t.rank));
  const n = all || t.rank === 0 ? t.size : t.shape[axis];
  if (n === 0) fail('E_SHAPE', `${op}: expected a non-empty ${all ? 'tensor' : `axis ${axis}`}, got ${shapeStr(t.shape)}`);
  const outShape = all ? (keepdim ? t.shape.map(() => 1) : [])
    : keepdim ? t.shape.map((d, i) => (i === axis ? 1 : d)) : t.shape.filter((_, i) => i !== axis);
  return tidy(() => {
    const u = all || t.rank === 0 ? reshape(t, [t.size]) : t;
    const sorted = sort(u, { dim: axis }).values;
    // NaNs sort last: the count of numbers for nanquantile, the test for NaN for quantile.
    const count = ignoreNaN ? sum(eq(sorted, sorted), axis, true) : null;
    const hasNaN = ignoreNaN ? null : isnan(narrow(sorted, axis, n - 1, 1));
    const each = qs.map((p) => {
      // The rank r = q (n - 1) in float32 (as PyTorch); a line with a NaN takes its last value.
      const rank = count ? clamp(mul(sub(count, 1), p), 0) : where(hasNaN!, n - 1, Math.fround(p * (n - 1)));
      return reshape(interpolate(sorted, axis, rank, interpolation as QuantileInterpolation), outShape);
    });
    return one ? each[0] : stack(each, 0);
  });
}

// The value at fractional rank `rank` (keepdim-shaped, >= 0) of each sorted line, as PyTorch
// computes it: lower, higher and nearest pick one value; linear and midpoint lerp between two,
// as torch.lerp (from the nearer end). At a whole rank the value itself, even an infinity
// (the lerp would give NaN there).
function interpolate(sorted: F32, axis: number, rank: F32, interpolation: QuantileInterpolation): F32 {
  const at = (r: F32) => gather(sorted, axis, cast(r, 'int32'));
  if (interpolation === 'lower') return at(floor(rank));
  if (interpolation === 'higher') return at(ceil(rank));
  if (interpolation === 'nearest') return at(round(rank));
  const below = floor(rank);
  const lo = at(below), hi = at(ceil(rank));
  const w = interpolation === 'midpoint' ? null : sub(rank, below);
  const step = sub(hi, lo);
  const lerp = w === null ? sub(hi, mul(step, 0.5))
    : where(lt(w, 0.5), add(lo, mul(step, w)), sub(hi, mul(step, scale(w, -1, 1))));
  return where(eq(rank, below), lo, lerp);
}
