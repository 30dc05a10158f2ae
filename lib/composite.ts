/**
 * Tensor ops with PyTorch's names and semantics beyond the basic ones: each runs on whatever
 * device its input is on. `logsumexp` and `norm` are one native op each way (native/cpu/
 * logsumexp.cc, vector_norm.cc, with PyTorch's gradients, e.g. 0 for a norm at 0); the others
 * are composed from the tensor ops, and their gradient is the tape's through their parts.
 */
import { record } from './autograd';
import { full, zeros } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { native, type Handle } from './native';
import { abs, eq, expand, gt, indexSelect, le, lt, maximum, mul, ne, permute, permuteReversed, reshape, sameShape, scale, sub, sum } from './ops';
import { Tensor } from './tensor';
import { broadcastShapes, checkArrayLength, checkAxis, checkReductionAxes, checkBool, checkFloat, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor, describe, MAX_RANK } from './validate';

type F32 = Tensor<'float32'>;
type Axes = number | readonly number[];

/** The distinct axes of `dim` (all when undefined), checked and sorted. */
function axesOf(op: string, x: Tensor, dim: Axes | undefined): number[] {
  if (dim === undefined) return x.shape.map((_, i) => i);
  return checkReductionAxes(op, 'dim', dim, x.rank);
}

/** The axes a reduction takes: those of `dim` (an empty list, as undefined: all of them). */
function reducedAxes(op: string, x: Tensor, dim: Axes | undefined): number[] {
  const axes = axesOf(op, x, dim);
  return axes.length === 0 ? x.shape.map((_, i) => i) : axes;
}

/**
 * A native reduction over one run of adjacent axes (logsumexp.cc, vector_norm.cc), with its
 * backward (dx from dy, x and y) recorded. `axes` need not be one run: x is then permuted so
 * that the kept axes come first and the reduced ones last (a copy, recorded like any permute),
 * and keepdim's 1s are put back at the reduced positions.
 */
function nativeReduction(
  op: string, x: F32, axes: number[], keepdim: boolean,
  forward: (x: Handle, run: number[], keepdim: boolean) => Handle,
  backward: (dy: Handle, x: Handle, y: Handle, run: number[]) => Handle,
): F32 {
  const reduce = (u: F32, run: number[], keep: boolean): F32 => {
    const y = new Tensor(forward(u.handle(op), run, keep), reducedShape(u.shape, run, keep), 'float32');
    return record(op, y, [u], (dy, [su, sy]) => {
      const bop = `${op} backward`;
      return [new Tensor(backward(dy.handle(bop), su.handle(bop), sy.handle(bop), run), su.shape, 'float32')];
    }, [u, y]);
  };
  if (axes.length === 0 || axes[axes.length - 1] - axes[0] + 1 === axes.length) return reduce(x, axes, keepdim);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return tidy(() => {
    const y = reduce(permute(x, [...kept, ...axes]), axes.map((_, i) => kept.length + i), false);
    return keepdim ? reshape(y, reducedShape(x.shape, axes, true)) : y;
  });
}

/** The reduced shape of x over `axes` (sorted): 1s there with keepdim, else without them. */
function reducedShape(shape: readonly number[], axes: number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/**
 * log(sum(exp(x))) over `dim`, computed stably (the largest value taken out first), as
 * torch.logsumexp; its gradient is softmax(x). A slice of only -Infinity gives -Infinity. One
 * native op (native/cpu/logsumexp.cc) each way.
 * @example logsumexp(logits, 1)   // the log-partition function of each row
 */
export function logsumexp(x: Tensor, dim: Axes, keepdim = false): F32 {
  const op = 'logsumexp';
  const t = checkFloat(op, 'x', x);
  const axes = reducedAxes(op, t, dim);
  checkBool(op, 'keepdim', keepdim);
  return nativeReduction(op, t, axes, keepdim, (h, run, keep) => native.logsumexp(h, run, keep),
    (dy, hx, hy, run) => native.logsumexpBackward(dy, hx, hy, run));
}

export interface NormOptions {
  /** The order: 2 (default), 1, Infinity, -Infinity, 0 (the count of nonzeros) or any p > 0. */
  p?: number;
  /** The axes to reduce (default all: the norm of the flattened tensor). */
  dim?: Axes;
  keepdim?: boolean;
}

/**
 * @internal The p-norm of x over `axes` (sorted, unique) in one native op each way
 * (native/cpu/vector_norm.cc), for norm and the distances: p >= 0, Infinity or -Infinity,
 * PyTorch's gradients (0 at a zero vector, ties of the inf norms sharing, 0 for p = 0).
 */
export function vectorNorm(op: string, x: F32, p: number, axes: number[], keepdim: boolean): F32 {
  return nativeReduction(op, x, axes, keepdim, (h, run, keep) => native.vectorNorm(h, run, p, keep),
    (dy, hx, hy, run) => native.vectorNormBackward(dy, hx, hy, run, p));
}

/**
 * The vector p-norm over `dim`, as torch.linalg.vector_norm: (sum |x|^p)^(1/p); the maximum
 * (or minimum) of |x| for p = ±Infinity; the count of nonzeros for p = 0. Its gradient at a
 * zero vector is 0, as PyTorch's (the plain composition would give NaN). One native op each way.
 * @example norm(embeddings, { dim: 1 })   // the length of each row
 */
export function norm(x: Tensor, options: NormOptions = {}): F32 {
  const op = 'norm';
  const t = checkFloat(op, 'x', x);
  if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { p, dim, keepdim }, got ${describe(options)}`);
  for (const key of Object.keys(options)) if (!['p', 'dim', 'keepdim'].includes(key)) fail('E_ARG', `${op}: unknown option \`${key}\`; expected one of p, dim, keepdim`);
  const p = checkNumber(op, 'p', options.p ?? 2, true);
  if (Number.isNaN(p) || (p < 0 && p !== -Infinity)) fail('E_ARG', `${op}: expected \`p\` >= 0, Infinity or -Infinity, got ${p}`);
  const axes = reducedAxes(op, t, options.dim);
  const keepdim = checkBool(op, 'keepdim', options.keepdim ?? false);
  if (Math.abs(p) === Infinity) {
    for (const a of axes) if (t.shape[a] === 0) fail('E_SHAPE', `${op}: cannot take the ${p > 0 ? '' : '-'}inf norm over axis ${a} of size 0 (no identity; PyTorch refuses it too)`);
  }
  return vectorNorm(op, t, p, axes, keepdim);
}

/**
 * Reverses the order of the elements along `dims`, as torch.flip (a copy).
 * @example flip(images, 3)   // mirror left-right
 */
export function flip<T extends Tensor>(x: T, dims: Axes): T {
  const op = 'flip';
  const t = checkTensor(op, 'x', x);
  const axes = axesOf(op, t, dims);
  return permuteReversed(op, t, t.shape.map((_, i) => i), axes.reduce((mask, a) => mask | (1 << a), 0)) as T;
}

/**
 * Tiles x: `repeats[i]` copies along each axis, as torch.Tensor.repeat (more repeats than axes
 * add leading axes). A copy; gradients sum over the copies.
 * @example repeat(tensor([1, 2]), [2, 3])   // [[1, 2, 1, 2, 1, 2], [1, 2, 1, 2, 1, 2]]
 */
export function repeat<T extends Tensor>(x: T, repeats: readonly number[]): T {
  const op = 'repeat';
  const t = checkTensor(op, 'x', x);
  if (!Array.isArray(repeats) || repeats.length < t.rank || repeats.length > MAX_RANK) {
    fail('E_ARG', `${op}: expected \`repeats\` with at least ${t.rank} counts (one per axis of x), got ${describe(repeats)}`);
  }
  const counts = repeats.map((r, i) => checkInt(op, `repeats[${i}]`, r, 0));
  const shape = [...Array(counts.length - t.rank).fill(1), ...t.shape];
  // [s0, s1, ...] as [1, s0, 1, s1, ...], expanded to [r0, s0, r1, s1, ...], then merged pairwise.
  return tidy(() => {
    const interleaved = reshape(t, shape.flatMap((s) => [1, s]));
    const expanded = expand(interleaved, shape.flatMap((s, i) => [counts[i], s]));
    return reshape(expanded, shape.map((s, i) => s * counts[i]));
  }) as T;
}

/** 1 where x is NaN, else 0 (a float32 mask, as the comparisons; PyTorch gives bool). @example isnan(loss).sum() */
export function isnan(x: Tensor): F32 {
  const t = checkTensor('isnan', 'x', x);
  return t.dtype === 'int32' ? zeros<'float32'>(t.shape, { device: t.device }) : ne(t, t);
}

/** 1 where x is +Infinity or -Infinity, else 0 (a float32 mask). */
export function isinf(x: Tensor): F32 {
  const t = checkTensor('isinf', 'x', x);
  return t.dtype === 'int32' ? zeros<'float32'>(t.shape, { device: t.device }) : tidy(() => eq(abs(t), Infinity));
}

/** 1 where x is finite (not NaN, not ±Infinity), else 0 (a float32 mask). @example isfinite(grad).min().item() === 1 */
export function isfinite(x: Tensor): F32 {
  const t = checkTensor('isfinite', 'x', x);
  return t.dtype === 'int32' ? full<'float32'>(t.shape, 1, { device: t.device }) : tidy(() => lt(abs(t), Infinity));
}

// ---- truth of tensors, closeness, selection by mask -------------------------------------------

/**
 * 1 if any element of x (over `dim`, all axes when omitted) is nonzero, else 0; NaN counts as
 * nonzero. A float32 mask, as the comparisons (PyTorch gives bool); any of nothing is 0.
 * @example any(isnan(grad)).item() === 1   // a NaN somewhere
 */
export function any(x: Tensor, dim?: Axes, keepdim = false): F32 {
  const t = checkTensor('any', 'x', x);
  const axes = dim === undefined ? undefined : axesOf('any', t, dim);
  checkBool('any', 'keepdim', keepdim);
  return tidy(() => gt(sum(ne(t, 0), axes, keepdim), 0));
}

/** 1 if every element of x (over `dim`, all when omitted) is nonzero (NaN counts), else 0; all of nothing is 1. */
export function all(x: Tensor, dim?: Axes, keepdim = false): F32 {
  const t = checkTensor('all', 'x', x);
  const axes = dim === undefined ? undefined : axesOf('all', t, dim);
  checkBool('all', 'keepdim', keepdim);
  return tidy(() => eq(sum(eq(t, 0), axes, keepdim), 0));
}

export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Whether two NaNs count as close (default false). */
  equalNan?: boolean;
}

/**
 * 1 where |a - b| <= atol + rtol * |b|, else 0 (float32, broadcasting), as torch.isclose: equal
 * values (infinities included) are close, an infinity is close to nothing else, NaN to nothing
 * unless `equalNan`. @example isclose(y, expected, { atol: 1e-6 }).min().item()
 */
export function isclose(a: Tensor, b: Tensor, options: CloseOptions = {}): F32 {
  const op = 'isclose';
  const ta = checkFloat(op, 'a', a), tb = checkFloat(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  broadcastShapes(op, ta.shape, tb.shape);
  const o = checkOptions<CloseOptions>(op, options, ['rtol', 'atol', 'equalNan']);
  const rtol = o.rtol === undefined ? 1e-5 : checkNumber(op, 'rtol', o.rtol);
  const atol = o.atol === undefined ? 1e-8 : checkNumber(op, 'atol', o.atol);
  if (rtol < 0 || atol < 0) fail('E_ARG', `${op}: expected non-negative tolerances, got rtol ${rtol} and atol ${atol}`);
  const equalNan = o.equalNan === undefined ? false : checkBool(op, 'equalNan', o.equalNan);
  return tidy(() => {
    // |a - b| of two infinities of one sign is NaN and of a finite and an infinite one inf (within
    // an infinite tolerance): only the equal ones count there, so the finite test needs both finite.
    const finite = mul(lt(abs(ta), Infinity), lt(abs(tb), Infinity));
    const within = mul(le(abs(sub(ta, tb)), scale(abs(tb), rtol, atol)), finite);
    const close = maximum(eq(ta, tb), within);
    return equalNan ? maximum(close, mul(ne(ta, ta), ne(tb, tb))) : close;
  });
}

/**
 * Whether every element of a is close to b's (isclose's test; broadcasting), as torch.allclose.
 * Reads the answer back: it waits for the queue, as `item()` does. @example allclose(y, ref, { rtol: 1e-4 })
 */
export function allclose(a: Tensor, b: Tensor, options: CloseOptions = {}): boolean {
  const c = isclose(a, b, options);
  try {
    return tidy(() => all(c).item()) === 1;
  } finally {
    c.dispose();
  }
}

/**
 * The indices of x's nonzero entries (NaN included), as torch.nonzero: int32 [N, rank], one row
 * per entry in order. The count decides the shape, so this waits for x to be computed (as
 * PyTorch's does on a GPU) and finds them at once (native/cpu/nonzero.cc; a GPU x is copied to
 * the CPU). @example nonzero(gt(scores, 0.5))   // rows [i, j]
 */
export function nonzero(x: Tensor): Tensor<'int32'> {
  const t = checkTensor('nonzero', 'x', x);
  if (t.size > 2 ** 31 - 1) fail('E_SHAPE', `nonzero: expected at most 2^31 - 1 elements, got ${t.size}`);
  return nonzeroOnCpu(t.device === 'cpu' ? t : tidy(() => t.to('cpu')), t.device);
}

/** native/cpu/nonzero.cc over a CPU tensor (freed after when it is a copy), the result on `device`. */
function nonzeroOnCpu(t: Tensor, device: Tensor['device']): Tensor<'int32'> {
  const [handle, count] = native.nonzero(t.handle('nonzero'));
  if (device !== 'cpu') t.dispose();
  const y = new Tensor<'int32'>(handle, [count, t.rank], 'int32');
  if (device === 'cpu') return y;
  const moved = y.to(device) as Tensor<'int32'>;
  y.dispose();
  return moved;
}

/**
 * The entries of x where `mask` is nonzero (or NaN), as a 1-D tensor in order, as
 * torch.masked_select; x and mask broadcast. Waits for the mask (its count is the length);
 * the gradient goes back to the selected entries. @example maskedSelect(scores, gt(scores, 0.5))
 */
export function maskedSelect<T extends Tensor>(x: T, mask: Tensor): T {
  const op = 'maskedSelect';
  const t = checkTensor(op, 'x', x), m = checkTensor(op, 'mask', mask);
  checkSameDevice(op, { x: t, mask: m });
  const shape = broadcastShapes(op, t.shape, m.shape);
  return tidy(() => {
    const full = shape.reduce((p, q) => p * q, 1);
    if (full > 2 ** 31 - 1) fail('E_SHAPE', `${op}: expected at most 2^31 - 1 elements, got ${full}`);
    // The flat positions: nonzero's coordinates of the flattened mask.
    const mask1d = reshape(sameShape(m.shape, shape) ? m : expand(m, shape), [full]);
    const coords = nonzeroOnCpu(m.device === 'cpu' ? mask1d : mask1d.to('cpu'), m.device);
    const at = reshape(coords, [coords.shape[0]]) as Tensor<'int32'>;
    const flat = reshape(sameShape(t.shape, shape) ? t : expand(t, shape), [full]);
    return indexSelect(flat, 0, at);
  }) as T;
}

// ---- rearranging ------------------------------------------------------------------------------

/**
 * Shifts the entries along `dims` by `shifts` (wrapping around), as torch.roll; without `dims`,
 * over the flattened tensor. A copy; gradients roll back. @example roll(x, 1, 0)   // last row first
 */
export function roll<T extends Tensor>(x: T, shifts: number | readonly number[], dims?: number | readonly number[]): T {
  const op = 'roll';
  const t = checkTensor(op, 'x', x);
  const list = (v: unknown, name: string): number[] => {
    const a = typeof v === 'number' ? [v] : v;
    if (!Array.isArray(a)) fail('E_ARG', `${op}: expected \`${name}\` to be a number or an array of numbers, got ${describe(v)}`);
    checkArrayLength(op, name, a, MAX_RANK);
    return a.map((s, i) => checkInt(op, `${name}[${i}]`, s));
  };
  const s = list(shifts, 'shifts');
  if (dims === undefined) {
    if (s.length !== 1) fail('E_ARG', `${op}: without \`dims\`, expected one shift, got ${describe(shifts)}`);
    return tidy(() => reshape(roll(reshape(t, [t.size]), s[0], 0), t.shape)) as T;
  }
  const axes = list(dims, 'dims').map((a) => checkAxis(op, 'dims', a, t.rank));
  if (axes.length !== s.length) fail('E_ARG', `${op}: expected as many \`shifts\` as \`dims\`, got ${s.length} and ${axes.length}`);
  return tidy(() => {
    let y: Tensor = t;
    axes.forEach((axis, i) => {
      const n = t.shape[axis];
      const k = n === 0 ? 0 : ((s[i] % n) + n) % n;
      if (k !== 0) y = rollAxis(y, axis, k);
    });
    return y === t ? t.clone() : y;
  }) as T;
}

// One native pass along one axis (native/cpu/roll.cc), 0 < k < n; the gradient rolls back.
function rollAxis(x: Tensor, axis: number, k: number): Tensor {
  const y = new Tensor(native.roll(x.handle('roll'), axis, k), x.shape, x.dtype);
  if (y.dtype !== 'float32') return y;
  return record('roll', y as F32, [x], (dy) => [rollAxis(dy, axis, x.shape[axis] - k)]);
}

/** Keeps x's entries on and below diagonal `diagonal` of its last two axes, as torch.tril (0 above). */
export function tril<T extends Tensor>(x: T, diagonal = 0): T {
  return triangle('tril', x, diagonal);
}

/** Keeps x's entries on and above diagonal `diagonal` of its last two axes, as torch.triu (0 below). */
export function triu<T extends Tensor>(x: T, diagonal = 0): T {
  return triangle('triu', x, diagonal);
}

// One native pass (native/cpu/triangle.cc), float32 or int32; the gradient is the same triangle of dy.
function triangle<T extends Tensor>(op: 'tril' | 'triu', x: T, diagonal: number): T {
  const t = checkTensor(op, 'x', x);
  if (t.rank < 2) fail('E_SHAPE', `${op}: expected a tensor of rank 2 or more, got ${describe(t.shape)}`);
  const rows = t.shape[t.rank - 2], cols = t.shape[t.rank - 1];
  // Past rows + cols either way, every diagonal keeps all or nothing: the same result, and a
  // number the native side takes as an int64.
  const k = Math.max(-(rows + cols), Math.min(rows + cols, checkInt(op, 'diagonal', diagonal)));
  const y = new Tensor(native.triangle(t.handle(op), k, op === 'triu'), t.shape, t.dtype);
  if (y.dtype !== 'float32') return y as T;
  return record(op, y as F32, [t], (dy) => [triangle(op, dy, k)]) as T;
}
