/**
 * Indexing as PyTorch's: writing at indices (scatter, scatterReduce, indexFill, indexCopy,
 * indexPut, maskedScatter), reading at flat indices (take), splitting (unbind, tensorSplit,
 * hsplit/vsplit/dsplit), flips, the `*As` shape helpers, set membership (isin), infinities,
 * `equal` and the logical ops.
 *
 * The writers are out of place (copies; x is left as it was) and are composed from the ordinary
 * ops: the int32 indices are read back (the ops wait for the queue, as nonzero and maskedSelect
 * do, and an index out of range is an E_INDEX error at the call, not at the next wait), a plan
 * of where each output entry comes from is made in JavaScript, and one `indexSelect` of x and
 * the source, concatenated, builds the result. Gradients so come from indexSelect and concat
 * (and from the reductions of scatterReduce): each output entry's gradient goes to the entry it
 * was taken from. Where several writes land on one entry (duplicate indices; PyTorch leaves the
 * order undefined) the last one in index order wins, on every device.
 */
import { isRecording, noGrad } from './autograd';
import { all, flip } from './composite';
import { full, tensor } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import * as ops from './ops';
import { amax, amin } from './pointwise';
import { searchsorted, sort } from './sorting';
import { native } from './native';
import { Tensor, type DType } from './tensor';
import {
  broadcastShapes, checkArrayLength, checkAxis, checkBool, checkDtype, checkFloat32Value, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor,
  describe, isTensor, shapeStr, sizeOf,
} from './validate';

type F32 = Tensor<'float32'>;

const MAX_ENTRIES = 2 ** 31 - 1;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = k;
    k *= shape[d];
  }
  return s;
}

/** For each position of `shape` in row-major order, sum(q[d] * strides[d]). */
function offsets(shape: readonly number[], strides: readonly number[]): Float64Array {
  const n = sizeOf(shape), r = shape.length;
  const out = new Float64Array(n);
  const q = new Array<number>(r).fill(0);
  let off = 0;
  for (let p = 0; p < n; p++) {
    out[p] = off;
    for (let d = r - 1; d >= 0; d--) {
      q[d]++;
      off += strides[d];
      if (q[d] < shape[d]) break;
      off -= q[d] * strides[d];
      q[d] = 0;
    }
  }
  return out;
}

const flat = <T extends Tensor>(t: T): T => (t.rank === 1 ? t : ops.reshape(t, [t.size])) as T;

/** An int32 index tensor on x's device. */
function checkIndex(op: string, name: string, value: unknown, x: Tensor): Tensor<'int32'> {
  const i = checkTensor(op, name, value);
  checkDtype(op, name, i, 'int32');
  if (i.device !== x.device) fail('E_DEVICE', `${op}: \`${name}\` is on ${i.device} but \`x\` is on ${x.device}`);
  return i as Tensor<'int32'>;
}

/**
 * The values of an index tensor (read back), each checked in [0, size) (or [-size, size) with
 * `negative`, wrapped): E_INDEX otherwise.
 */
function readIndex(op: string, name: string, i: Tensor<'int32'>, size: number, negative: boolean, what: string): Int32Array {
  const v = Int32Array.from(i.dataSync());
  for (let k = 0; k < v.length; k++) {
    let e = v[k];
    if (negative && e < 0) e += size;
    if (e < 0 || e >= size) {
      fail('E_INDEX', `${op}: \`${name}\` holds ${v[k]} at position ${k}, out of range for ${what} of size ${size}` +
        (negative ? ` (expected [${-size}, ${size - 1}])` : ` (expected [0, ${size - 1}])`));
    }
    v[k] = e;
  }
  return v;
}

/** `x`'s dtype for a number operand: an integer in range for int32, within float32's range (or infinite) for float32. */
function checkValue(op: string, name: string, value: unknown, dtype: DType): number {
  if (dtype === 'float32') return checkFloat32Value(op, name, value);
  checkNumber(op, name, value);
  return checkInt(op, name, value, -(2 ** 31), 2 ** 31 - 1);
}

/** A number, or a 0-D tensor of x's dtype and device, as a one-element tensor. */
function scalarSource(op: string, name: string, value: unknown, x: Tensor): Tensor {
  if (isTensor(value)) {
    const v = checkTensor(op, name, value);
    if (v.rank !== 0) fail('E_SHAPE', `${op}: expected \`${name}\` to be a number or a 0-D tensor, got shape ${shapeStr(v.shape)}`);
    if (v.dtype !== x.dtype) fail('E_DTYPE', `${op}: expected \`${name}\` of x's dtype ${x.dtype}, got ${v.dtype}`);
    if (v.device !== x.device) fail('E_DEVICE', `${op}: \`${name}\` is on ${v.device} but \`x\` is on ${x.device}`);
    return ops.reshape(v, [1]);
  }
  return full([1], checkValue(op, name, value, x.dtype), { dtype: x.dtype, device: x.device });
}

/** A source tensor of x's dtype and device. */
function checkSource(op: string, name: string, value: unknown, x: Tensor): Tensor {
  const s = checkTensor(op, name, value);
  if (s.dtype !== x.dtype) fail('E_DTYPE', `${op}: expected \`${name}\` of x's dtype ${x.dtype}, got ${s.dtype}`);
  checkSameDevice(op, { x, [name]: s });
  return s;
}

/**
 * y[o] = concat(sources flattened)[plan[o]], of `shape`: the one gather every writer ends in
 * (differentiable through concat and indexSelect).
 */
function planned<D extends DType>(sources: readonly Tensor[], plan: Int32Array, shape: readonly number[], device: Tensor['device']): Tensor<D> {
  return tidy(() => {
    const cat = sources.length === 1 ? flat(sources[0]) : ops.concat(sources.map((s) => flat(s)), 0);
    const y = ops.indexSelect(cat, 0, tensor(plan, { dtype: 'int32', device }));
    return ops.reshape(y, shape);
  }) as Tensor<D>;
}

function identityPlan(n: number): Int32Array {
  const plan = new Int32Array(n);
  for (let o = 0; o < n; o++) plan[o] = o;
  return plan;
}

function checkTotal(op: string, n: number): void {
  if (n > MAX_ENTRIES) fail('E_ARG', `${op}: ${n} entries in all is more than this op handles (2^31 - 1)`);
}

/** Checks of scatter and scatterReduce; the flat target in x and the flat position in src of each index entry. */
/** scatter's and scatterReduce's index and axis, their shapes checked against x and src. */
function scatterShapes(op: string, x: Tensor, dim: number, index: unknown, src: Tensor | null): { i: Tensor<'int32'>; a: number } {
  const i = checkIndex(op, 'index', index, x);
  const a = checkAxis(op, 'dim', dim, x.rank);
  if (i.rank !== x.rank || i.shape.some((d, k) => (src !== null && d > src.shape[k]) || (k !== a && d > x.shape[k]))) {
    fail('E_SHAPE', `${op}: expected \`index\` of rank ${x.rank} no larger than ${src ? `\`src\` ${shapeStr(src.shape)} and than ` : ''}\`x\` ${shapeStr(x.shape)} outside axis ${a}, got ${shapeStr(i.shape)}`);
  }
  if (src !== null && src.rank !== x.rank) fail('E_SHAPE', `${op}: expected \`src\` of rank ${x.rank}, got ${shapeStr(src.shape)}`);
  return { i, a };
}

function scatterGeometry(op: string, x: Tensor, dim: number, index: unknown, src: Tensor | null): { targets: Float64Array; sources: Float64Array } {
  const { i, a } = scatterShapes(op, x, dim, index, src);
  const xs = stridesOf(x.shape);
  const values = readIndex(op, 'index', i, x.shape[a], false, `axis ${a} of x`);
  const targets = offsets(i.shape, xs.map((s, d) => (d === a ? 0 : s)));
  for (let p = 0; p < targets.length; p++) targets[p] += values[p] * xs[a];
  const sources = src === null ? new Float64Array(targets.length) : offsets(i.shape, stridesOf(src.shape));
  return { targets, sources };
}

/**
 * x with `src` (or the number `value`) written where `index` points along `dim`, as
 * torch.scatter (for dim 0 of a 2-D tensor: y[index[i][j]][j] = src[i][j]). `index` (int32) has
 * x's rank and is no larger than src anywhere and than x outside `dim`; indices must be in
 * [0, x.shape[dim]). Duplicate indices: the last in index order wins (PyTorch: undefined).
 * Gradients: to x where nothing was written, to each src entry whose write was kept (PyTorch
 * gives every src entry at index dy there, duplicates included).
 * @example scatter(zeros([3]), 0, tensor([2, 0], { dtype: 'int32' }), tensor([5, 7]))   // [7, 0, 5]
 */
export function scatter<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>, src: Tensor | number): Tensor<D> {
  const op = 'scatter';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const s = isTensor(src) ? checkSource(op, 'src', src, t) : null;
  // On the CPU without gradients (labels, one-hot targets, masks): native/cpu/scatter.cc, which
  // checks the indices at the call as below. The composed form below (a plan of every entry in
  // JavaScript, then a gather) ran at 0.01x PyTorch's speed on [512, 4096] along its rows.
  if (t.device === 'cpu' && !isRecording([t, s])) {
    const { i, a } = scatterShapes(op, t, dim, index, s);
    const v = s === null ? checkValue(op, 'value', src, t.dtype) : 0;
    return new Tensor<D>(native.scatter(t.handle(op), a, i.handle(op), s ? s.handle(op) : null, v), t.shape, t.dtype);
  }
  return scatterComposed(op, t, dim, index, src);
}

function scatterComposed<D extends DType>(op: string, t: Tensor<D>, dim: number, index: Tensor<'int32'>, src: Tensor | number): Tensor<D> {
  const s = isTensor(src) ? (src as Tensor) : null;
  const value = s === null ? scalarSource(op, 'value', src, t) : null;
  try {
    const { targets, sources } = scatterGeometry(op, t, dim, index, s);
    checkTotal(op, t.size + (s ? s.size : 1));
    const plan = identityPlan(t.size);
    for (let p = 0; p < targets.length; p++) plan[targets[p]] = t.size + sources[p];
    return planned<D>([t, s ?? value!], plan, t.shape, t.device);
  } finally {
    value?.dispose();
  }
}

export type ScatterReduce = 'sum' | 'prod' | 'mean' | 'amax' | 'amin';

export interface ScatterReduceOptions {
  /** Whether x's own value takes part in the reduction at each written entry (default true, as PyTorch). */
  includeSelf?: boolean;
}

const REDUCTIONS: readonly ScatterReduce[] = ['sum', 'prod', 'mean', 'amax', 'amin'];

/**
 * Reduces, at each target entry of `x` (a flat position), x's value (with `includeSelf`) and
 * the entries of `source` listed for it, in order: the machinery of scatterReduce and of
 * indexPut with accumulate. Entries with nothing listed keep x's value. Targets are grouped by
 * how many values they reduce, so that each group is one [rows, k] gather and one reduction.
 */
function reduceInto<D extends DType>(x: Tensor<D>, source: Tensor, targets: Float64Array, positions: Float64Array, reduce: ScatterReduce, includeSelf: boolean): Tensor<D> {
  const n = x.size;
  const count = new Int32Array(n);
  for (let p = 0; p < targets.length; p++) count[targets[p]]++;
  const start = new Float64Array(n + 1);
  for (let o = 0; o < n; o++) start[o + 1] = start[o] + count[o];
  const listed = new Float64Array(targets.length), fill = start.slice(0, n);
  for (let p = 0; p < targets.length; p++) listed[fill[targets[p]]++] = positions[p];
  // Written targets by the number of values they reduce.
  const groups = new Map<number, number[]>();
  for (let o = 0; o < n; o++) {
    if (count[o] === 0) continue;
    const k = count[o] + (includeSelf ? 1 : 0);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(o);
  }
  return tidy(() => {
    const cat = ops.concat([flat(x), flat(source)], 0);
    const reduced: Tensor[] = [];
    const plan = identityPlan(n);
    let at = n;
    for (const [k, rows] of groups) {
      const picks = new Int32Array(rows.length * k);
      rows.forEach((o, r) => {
        let c = r * k;
        if (includeSelf) picks[c++] = o;
        for (let j = start[o]; j < start[o + 1]; j++) picks[c++] = n + listed[j];
        plan[o] = at + r;
      });
      at += rows.length;
      const values = ops.reshape(ops.indexSelect(cat, 0, tensor(picks, { dtype: 'int32', device: x.device })), [rows.length, k]);
      const r = reduce === 'sum' ? ops.sum(values, 1)
        : reduce === 'mean' ? ops.div(ops.sum(values, 1), k)
          : reduce === 'prod' ? ops.prod(values, 1)
            : reduce === 'amax' ? amax(values, 1) : amin(values, 1);
      reduced.push(r);
    }
    return planned<D>([x, ...reduced], plan, x.shape, x.device);
  });
}

/**
 * x with the entries of `src` reduced into the entries `index` points to along `dim`, as
 * torch.scatter_reduce (scatter's geometry): `reduce` is 'sum', 'prod', 'mean', 'amax' or
 * 'amin'; with `includeSelf` (default true) x's value takes part, else a written entry is the
 * reduction of what was written alone (and 'mean' divides by that count). Entries nothing is
 * written to keep x's value. Gradients for all five reductions (to x and src): 'amax'/'amin'
 * share dy evenly among the values equal to the result, as PyTorch; 'prod' is exact with zeros.
 * float32; int32 for 'sum', 'amax' and 'amin'.
 * @example scatterReduce(zeros([2]), 0, tensor([0, 0, 1], { dtype: 'int32' }), tensor([1, 5, 2]), 'amax')   // [5, 2]
 */
export function scatterReduce<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>, src: Tensor, reduce: ScatterReduce, options: ScatterReduceOptions = {}): Tensor<D> {
  const op = 'scatterReduce';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const s = checkSource(op, 'src', src, t);
  if (typeof reduce !== 'string' || !REDUCTIONS.includes(reduce)) fail('E_ARG', `${op}: expected \`reduce\` to be one of ${REDUCTIONS.join(', ')}, got ${describe(reduce)}`);
  const o = checkOptions<ScatterReduceOptions>(op, options, ['includeSelf']);
  const includeSelf = o.includeSelf === undefined ? true : checkBool(op, 'includeSelf', o.includeSelf);
  if (t.dtype === 'int32' && (reduce === 'prod' || reduce === 'mean')) {
    fail('E_DTYPE', `${op}: '${reduce}' is computed for float32 tensors only, got int32 (cast with float())`);
  }
  const { targets, sources } = scatterGeometry(op, t, dim, index, s);
  checkTotal(op, t.size + s.size);
  return reduceInto(t, s, targets, sources, reduce, includeSelf);
}

/** The flat positions of x's entries whose coordinate along `a` is `c`, for each c (outer, then inner order). */
function sliceTargets(shape: readonly number[], a: number, coords: Int32Array): Float64Array {
  const inner = sizeOf(shape.slice(a + 1)), outer = sizeOf(shape.slice(0, a)), len = shape[a];
  const out = new Float64Array(outer * coords.length * inner);
  let p = 0;
  for (let u = 0; u < outer; u++) {
    for (let k = 0; k < coords.length; k++) {
      const base = (u * len + coords[k]) * inner;
      for (let j = 0; j < inner; j++) out[p++] = base + j;
    }
  }
  return out;
}

/** A 1-D (or 0-D) int32 index along `dim` of x. */
function sliceIndex(op: string, x: Tensor, dim: number, index: unknown): { a: number; i: Tensor<'int32'> } {
  const i = checkIndex(op, 'index', index, x);
  if (i.rank > 1) fail('E_SHAPE', `${op}: expected \`index\` of shape [K] (or 0-D), got ${shapeStr(i.shape)}`);
  const a = checkAxis(op, 'dim', dim, Math.max(1, x.rank));
  return { a, i };
}

/**
 * x with `value` (a number, or a 0-D tensor: it gets the gradient) at the entries `index`
 * (int32, 1-D; negative indices count from the end) along `dim`, as torch.index_fill.
 * @example indexFill(zeros([2, 3]), 1, tensor([0, 2], { dtype: 'int32' }), -1)   // [[-1, 0, -1], [-1, 0, -1]]
 */
export function indexFill<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>, value: number | Tensor): Tensor<D> {
  const op = 'indexFill';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const { a, i } = sliceIndex(op, t, dim, index);
  // A number into a CPU tensor without gradients: native/cpu/scatter.cc's index_fill with the
  // checked, wrapped indices. Composed (a plan of every entry in JavaScript, then a gather), it
  // ran at 0.01x PyTorch's speed on 256 of [512, 4096]'s rows.
  if (t.device === 'cpu' && t.rank > 0 && typeof value === 'number' && !isRecording([t])) {
    const fill = checkValue(op, 'value', value, t.dtype);
    const coords = readIndex(op, 'index', i, t.shape[a], true, `axis ${a} of x`);
    return tidy(() => new Tensor<D>(native.indexFill(t.handle(op), a, tensor(coords, { dtype: 'int32' }).handle(op), fill), t.shape, t.dtype));
  }
  const v = scalarSource(op, 'value', value, t);
  try {
    const shape = t.rank === 0 ? [1] : t.shape;
    const coords = readIndex(op, 'index', i, shape[a], true, `axis ${a} of x`);
    checkTotal(op, t.size + 1);
    const plan = identityPlan(t.size);
    for (const o of sliceTargets(shape, a, coords)) plan[o] = t.size;
    return planned<D>([t, v], plan, t.shape, t.device);
  } finally {
    v.dispose();
  }
}

/**
 * x with the slices of `src` copied to the entries `index` (int32, 1-D, in [0, size)) along
 * `dim`, as torch.index_copy: y[..., index[k], ...] = src[..., k, ...]; src is x's shape with
 * index's length along `dim`. Duplicate indices: the last wins (PyTorch: undefined).
 * @example indexCopy(zeros([3, 2]), 0, tensor([2, 0], { dtype: 'int32' }), ones([2, 2]))
 */
export function indexCopy<D extends DType>(x: Tensor<D>, dim: number, index: Tensor<'int32'>, src: Tensor): Tensor<D> {
  const op = 'indexCopy';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const s = checkSource(op, 'src', src, t);
  const { a, i } = sliceIndex(op, t, dim, index);
  const shape = t.rank === 0 ? [1] : t.shape;
  const expected = shape.map((d, k) => (k === a ? i.size : d));
  if (!sameShape(s.rank === 0 ? [1] : s.shape, expected)) fail('E_SHAPE', `${op}: expected \`src\` of shape ${shapeStr(expected)}, got ${shapeStr(s.shape)}`);
  const coords = readIndex(op, 'index', i, shape[a], false, `axis ${a} of x`);
  checkTotal(op, t.size + s.size);
  const plan = identityPlan(t.size);
  // src's slices in the same (outer, index, inner) order as the targets.
  const targets = sliceTargets(shape, a, coords);
  for (let p = 0; p < targets.length; p++) plan[targets[p]] = t.size + p;
  return planned<D>([t, s], plan, t.shape, t.device);
}

export interface IndexPutOptions {
  /** Add the values into x (repeated indices add up) instead of writing them (default false). */
  accumulate?: boolean;
}

/**
 * x with `values` put at the entries picked by `indices`, as torch.index_put (PyTorch's
 * `x[i0, i1] = values` with integer index tensors): `indices` are 1 to rank int32 tensors that
 * broadcast together to a shape B, indexing x's leading axes (negative indices count from the
 * end); the picked entries have shape [...B, ...x.shape[k:]], and `values` (a tensor of x's dtype
 * or a number) broadcasts to it. With `accumulate`, values add up into x (sum over repeated
 * indices); without, the last write wins on duplicates (PyTorch: undefined). Gradients to x
 * and values. Boolean-mask indices are not taken (use nonzero first, or maskedScatter).
 * @example indexPut(zeros([3, 3]), [tensor([0, 2], { dtype: 'int32' }), tensor([1, 1], { dtype: 'int32' })], 5)
 */
export function indexPut<D extends DType>(x: Tensor<D>, indices: readonly Tensor<'int32'>[], values: Tensor | number, options: IndexPutOptions = {}): Tensor<D> {
  const op = 'indexPut';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const list = checkArrayLength(op, 'indices', indices, Math.max(1, t.rank));
  if (list.length === 0 || list.length > t.rank) fail('E_ARG', `${op}: expected 1 to ${t.rank} index tensors for a ${t.rank}-D tensor, got ${list.length}`);
  const idx = list.map((v, k) => checkIndex(op, `indices[${k}]`, v, t));
  const o = checkOptions<IndexPutOptions>(op, options, ['accumulate']);
  const accumulate = o.accumulate === undefined ? false : checkBool(op, 'accumulate', o.accumulate);
  let B: number[] = [];
  for (const i of idx) B = broadcastShapes(op, B, i.shape);
  const k = idx.length;
  const rest = t.shape.slice(k), restSize = sizeOf(rest);
  const target = [...B, ...rest];
  let vt: Tensor;
  if (isTensor(values)) {
    const v = checkSource(op, 'values', values, t);
    if (v.rank > target.length || !sameShape(broadcastShapes(op, target, v.shape), target)) {
      fail('E_SHAPE', `${op}: \`values\` of shape ${shapeStr(v.shape)} does not broadcast to the indexed shape ${shapeStr(target)}`);
    }
    vt = v;
  } else {
    vt = full([], checkValue(op, 'values', values, t.dtype), { dtype: t.dtype, device: t.device });
  }
  try {
    const read = idx.map((i, d) => readIndex(op, `indices[${d}]`, i, t.shape[d], true, `axis ${d} of x`));
    const xs = stridesOf(t.shape);
    const nb = sizeOf(B);
    checkTotal(op, t.size + nb * restSize);
    const base = new Float64Array(nb);
    idx.forEach((i, d) => {
      // i broadcast to B: stride 0 on its missing and size-1 axes.
      const own = stridesOf(i.shape), lead = B.length - i.rank;
      const at = offsets(B, B.map((_, e) => (e < lead || i.shape[e - lead] === 1 ? 0 : own[e - lead])));
      const v = read[d];
      for (let p = 0; p < nb; p++) base[p] += v[at[p]] * xs[d];
    });
    const targets = new Float64Array(nb * restSize), positions = new Float64Array(nb * restSize);
    for (let p = 0, q = 0; p < nb; p++) for (let r = 0; r < restSize; r++, q++) { targets[q] = base[p] + r; positions[q] = q; }
    return tidy(() => {
      const expanded = sameShape(vt.shape, target) ? vt : ops.expand(vt, target);
      if (accumulate) return reduceInto(t, expanded, targets, positions, 'sum', true);
      const plan = identityPlan(t.size);
      for (let q = 0; q < targets.length; q++) plan[targets[q]] = t.size + q;
      return planned<D>([t, expanded], plan, t.shape, t.device);
    });
  } finally {
    if (vt !== values) vt.dispose();
  }
}

/** Positions where a mask (read back) is nonzero; NaN counts as nonzero, as PyTorch's true. */
function maskPositions(m: Tensor): Uint8Array {
  const v = m.dataSync();
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] !== 0 ? 1 : 0;
  return out;
}

/**
 * x with the entries where `mask` is nonzero (NaN counts) replaced, in row-major order, by
 * consecutive entries of `source` (flattened; at least as many as the mask's ones: E_SHAPE
 * otherwise), as torch.masked_scatter. mask (float32 or int32) and x broadcast. Reads the mask
 * back. Gradients to x (unmasked entries) and to the source entries used.
 * @example maskedScatter(zeros([2, 2]), tensor([[1, 0], [0, 1]]), tensor([5, 6]))   // [[5, 0], [0, 6]]
 */
export function maskedScatter<D extends DType>(x: Tensor<D>, mask: Tensor, source: Tensor): Tensor<D> {
  const op = 'maskedScatter';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const m = checkTensor(op, 'mask', mask);
  const s = checkSource(op, 'source', source, t);
  checkSameDevice(op, { x: t, mask: m });
  const shape = broadcastShapes(op, t.shape, m.shape);
  return tidy(() => {
    const on = maskPositions(sameShape(m.shape, shape) ? m : ops.expand(m, shape));
    let count = 0;
    for (const b of on) count += b;
    if (count > s.size) fail('E_SHAPE', `${op}: the mask has ${count} nonzero entries but \`source\` has only ${s.size} elements`);
    const xe = sameShape(t.shape, shape) ? t : ops.expand(t, shape);
    checkTotal(op, xe.size + s.size);
    const plan = identityPlan(xe.size);
    for (let o = 0, k = 0; o < on.length; o++) if (on[o]) plan[o] = xe.size + k++;
    return planned<D>([xe, s], plan, shape, t.device);
  });
}

/**
 * The entries of x, flattened, at `index` (int32, any shape; negative indices count from the
 * end), as torch.take: the result has index's shape. Reads the index back (out of range is
 * E_INDEX at the call). Gradients to the picked entries (repeated ones add up).
 * @example take(tensor([[4, 3], [5, 7]]), tensor([0, 3, -1], { dtype: 'int32' }))   // [4, 7, 7]
 */
export function take<D extends DType>(x: Tensor<D>, index: Tensor<'int32'>): Tensor<D> {
  const op = 'take';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const i = checkIndex(op, 'index', index, t);
  const v = readIndex(op, 'index', i, t.size, true, 'x (flattened)');
  return tidy(() => ops.reshape(ops.indexSelect(flat(t), 0, tensor(v, { dtype: 'int32', device: t.device })), i.shape)) as Tensor<D>;
}

/**
 * The slices of x along `dim` (default 0), each without that axis, as torch.unbind (copies;
 * differentiable). @example const [r0, r1] = unbind(tensor([[1, 2], [3, 4]]))
 */
export function unbind<D extends DType>(x: Tensor<D>, dim = 0): Tensor<D>[] {
  const op = 'unbind';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const a = checkAxis(op, 'dim', dim, t.rank);
  return ops.splitSizes(t, a, Array.from({ length: t.shape[a] }, () => 1), true);
}

/**
 * Splits x along `dim` (default 0), as torch.tensor_split: into `n` pieces (a number; the first
 * size % n pieces one longer), or at the listed indices (an array, or a 1-D int32 tensor; as
 * Python slices x[:i0], x[i0:i1], …, x[ik:]: negative ones count from the end, they are clamped
 * to the axis, and a later index before an earlier gives an empty piece). Copies; differentiable.
 * @example tensorSplit(arange(7), 3)   // [0, 1, 2], [3, 4], [5, 6]
 */
export function tensorSplit<D extends DType>(x: Tensor<D>, sectionsOrIndices: number | readonly number[] | Tensor<'int32'>, dim = 0): Tensor<D>[] {
  const op = 'tensorSplit';
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  const a = checkAxis(op, 'dim', dim, t.rank);
  const n = t.shape[a];
  let spec: number | number[];
  if (isTensor(sectionsOrIndices)) {
    const s = checkTensor(op, 'sectionsOrIndices', sectionsOrIndices);
    checkDtype(op, 'sectionsOrIndices', s, 'int32');
    if (s.rank > 1) fail('E_SHAPE', `${op}: expected a 0-D (sections) or 1-D (indices) int32 tensor, got shape ${shapeStr(s.shape)}`);
    const values = Array.from(s.dataSync());
    spec = s.rank === 0 ? values[0] : values;
  } else if (Array.isArray(sectionsOrIndices)) {
    spec = (checkArrayLength(op, 'indices', sectionsOrIndices, 1 << 24) as unknown[]).map((v, k) => checkInt(op, `indices[${k}]`, v));
  } else {
    spec = sectionsOrIndices as number;
  }
  const bounds: [number, number][] = [];
  if (typeof spec === 'number' || !Array.isArray(spec)) {
    const sections = checkInt(op, 'sections', spec, 1, 2 ** 31 - 1);
    const q = Math.floor(n / sections), rem = n % sections;
    let start = 0;
    for (let k = 0; k < sections; k++) {
      const len = q + (k < rem ? 1 : 0);
      bounds.push([start, len]);
      start += len;
    }
  } else {
    const clampIdx = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
    let prev = 0;
    for (const v of [...spec, n]) {
      const end = clampIdx(v);
      bounds.push([prev, Math.max(0, end - prev)]);
      prev = end;
    }
  }
  // Pieces one after another (always, but after an index smaller than the one before) are one op.
  const adjacent = bounds.every(([start], k) => start === (k === 0 ? 0 : bounds[k - 1][0] + bounds[k - 1][1]));
  if (adjacent) return ops.splitSizes(t, a, bounds.map(([, len]) => len));
  return tidy(() => bounds.map(([start, len]) => ops.narrow(t, a, start, len)));
}

function splitAlong<D extends DType>(op: string, x: Tensor<D>, spec: number | readonly number[] | Tensor<'int32'>, dim: number, minRank: number): Tensor<D>[] {
  const t = checkTensor(op, 'x', x) as Tensor<D>;
  if (t.rank < minRank) fail('E_SHAPE', `${op}: expected a tensor of at least ${minRank} dimension(s), got shape ${shapeStr(t.shape)}`);
  const a = op === 'hsplit' && t.rank === 1 ? 0 : dim;
  if (typeof spec === 'number') {
    checkInt(op, 'sections', spec, 1, 2 ** 31 - 1);
    if (t.shape[a] % spec !== 0) fail('E_ARG', `${op}: axis ${a} of size ${t.shape[a]} cannot be split into ${spec} equal sections`);
  }
  return tensorSplit(t, spec, a);
}

/** torch.hsplit: tensorSplit along axis 1 (axis 0 of a 1-D tensor); a number of sections must divide it. */
export function hsplit<D extends DType>(x: Tensor<D>, sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] {
  return splitAlong('hsplit', x, sectionsOrIndices, 1, 1);
}
/** torch.vsplit: tensorSplit along axis 0 of a tensor of at least 2 dimensions. */
export function vsplit<D extends DType>(x: Tensor<D>, sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] {
  return splitAlong('vsplit', x, sectionsOrIndices, 0, 2);
}
/** torch.dsplit: tensorSplit along axis 2 of a tensor of at least 3 dimensions. */
export function dsplit<D extends DType>(x: Tensor<D>, sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] {
  return splitAlong('dsplit', x, sectionsOrIndices, 2, 3);
}

/** x upside down: flip along axis 0 (at least 1-D), as torch.flipud. */
export function flipud<T extends Tensor>(x: T): T {
  const t = checkTensor('flipud', 'x', x);
  if (t.rank < 1) fail('E_SHAPE', 'flipud: expected a tensor of at least 1 dimension, got a 0-D one');
  return flip(t, 0) as T;
}

/** x mirrored left-right: flip along axis 1 (at least 2-D), as torch.fliplr. */
export function fliplr<T extends Tensor>(x: T): T {
  const t = checkTensor('fliplr', 'x', x);
  if (t.rank < 2) fail('E_SHAPE', `fliplr: expected a tensor of at least 2 dimensions, got shape ${shapeStr(t.shape)}`);
  return flip(t, 1) as T;
}

/** x broadcast to other's shape (a copy), as torch.Tensor.expand_as. */
export function expandAs<D extends DType>(x: Tensor<D>, other: Tensor): Tensor<D> {
  return ops.expand(checkTensor('expandAs', 'x', x) as Tensor<D>, checkTensor('expandAs', 'other', other).shape);
}

/** x with other's shape (as many elements), as torch.Tensor.view_as / reshape_as. */
export function reshapeAs<D extends DType>(x: Tensor<D>, other: Tensor): Tensor<D> {
  return ops.reshape(checkTensor('reshapeAs', 'x', x) as Tensor<D>, checkTensor('reshapeAs', 'other', other).shape);
}

/** x in other's dtype (x itself when it has it already), as torch.Tensor.type_as. */
export function typeAs<T extends DType>(x: Tensor, other: Tensor<T>): Tensor<T> {
  const t = checkTensor('typeAs', 'x', x), o = checkTensor('typeAs', 'other', other) as Tensor<T>;
  return (t.dtype === o.dtype ? t : ops.cast(t, o.dtype)) as Tensor<T>;
}

export interface IsinOptions {
  /** 1 where the element is NOT among the test elements (default false). */
  invert?: boolean;
}

/**
 * 1 where an entry of `elements` is among `testElements` (any shape), else 0 (a float32 mask,
 * elements' shape), as torch.isin; NaN is never found. Either may be a number. float32 and int32
 * mixed are compared in float32. Sorts the test elements and searches them (no read back).
 * @example isin(tensor([1, 2, 3]), tensor([3, 1]))   // [1, 0, 1]
 */
export function isin(elements: Tensor | number, testElements: Tensor | number, options: IsinOptions = {}): F32 {
  const op = 'isin';
  const o = checkOptions<IsinOptions>(op, options, ['invert']);
  const invert = o.invert === undefined ? false : checkBool(op, 'invert', o.invert);
  if (!isTensor(elements) && !isTensor(testElements)) fail('E_ARG', `${op}: expected at least one tensor, got ${describe(elements)} and ${describe(testElements)}`);
  const device = isTensor(elements) ? elements.device : (testElements as Tensor).device;
  const asTensor = (name: string, v: unknown): Tensor => {
    if (isTensor(v)) return checkTensor(op, name, v);
    checkNumber(op, name, v, true);
    return tensor([v as number], { device });
  };
  return noGrad(() => tidy(() => {
    let e = asTensor('elements', elements), s = asTensor('testElements', testElements);
    checkSameDevice(op, { elements: e, testElements: s });
    if (e.dtype !== s.dtype) {
      e = ops.cast(e, 'float32');
      s = ops.cast(s, 'float32');
    }
    const shape = isTensor(elements) ? e.shape : [];
    if (s.size === 0 || e.size === 0) return full<'float32'>(shape, invert ? 1 : 0, { device });
    const sorted = sort(flat(s)).values;
    // The search runs on the sorted values with their NaNs (sorted last) read as +inf: a binary
    // search over a NaN compares wrongly (PyTorch's searchsorted too), and missed an inf before
    // one. The NaNs stay in the comparison below, where they never match.
    const key = sorted.dtype === 'float32' ? ops.where(ops.ne(sorted, sorted), Infinity, sorted) : sorted;
    const pos = ops.clamp(searchsorted(key, flat(e)), 0, s.size - 1);
    const found = ops.eq(ops.indexSelect(sorted, 0, pos), flat(e));
    return ops.reshape(invert ? ops.eq(found, 0) : found, shape);
  }));
}

/** 1 where x is +Infinity, else 0 (a float32 mask), as torch.isposinf. */
export function isposinf(x: Tensor): F32 {
  const t = checkTensor('isposinf', 'x', x);
  return t.dtype === 'int32' ? full<'float32'>(t.shape, 0, { device: t.device }) : ops.eq(t, Infinity);
}

/** 1 where x is -Infinity, else 0 (a float32 mask), as torch.isneginf. */
export function isneginf(x: Tensor): F32 {
  const t = checkTensor('isneginf', 'x', x);
  return t.dtype === 'int32' ? full<'float32'>(t.shape, 0, { device: t.device }) : ops.eq(t, -Infinity);
}

/**
 * Whether a and b have the same shape and the same values (a boolean, read back), as
 * torch.equal: NaN is not equal to NaN; float32 and int32 are compared in float32. Tensors on
 * different devices are E_DEVICE. @example equal(x, x.clone())   // true
 */
export function equal(a: Tensor, b: Tensor): boolean {
  const op = 'equal';
  const ta = checkTensor(op, 'a', a), tb = checkTensor(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  if (!sameShape(ta.shape, tb.shape)) return false;
  if (ta.size === 0) return true;
  return noGrad(() => tidy(() => {
    const [ca, cb] = ta.dtype === tb.dtype ? [ta, tb] : [ops.cast(ta, 'float32'), ops.cast(tb, 'float32')];
    return all(ops.eq(ca, cb)).item() === 1;
  }));
}

/** The truth of x: 1 where nonzero (NaN included), 0 where zero. */
function truth(op: string, name: string, x: unknown): F32 {
  return ops.ne(checkTensor(op, name, x), 0);
}

// Two float32 operands in one native pass; an int32 one through its truth mask first.
function logical(op: 'logicalAnd' | 'logicalOr' | 'logicalXor', a: Tensor, b: Tensor, combine: (p: F32, q: F32) => F32): F32 {
  const ta = checkTensor(op, 'a', a), tb = checkTensor(op, 'b', b);
  checkSameDevice(op, { a: ta, b: tb });
  broadcastShapes(op, ta.shape, tb.shape);
  if (ta.dtype === 'float32' && tb.dtype === 'float32') return noGrad(() => ops.binary(op, ta, tb));
  return noGrad(() => tidy(() => combine(truth(op, 'a', ta), truth(op, 'b', tb))));
}

/** a AND b elementwise (nonzero and NaN are true) as a float32 1/0 mask, broadcasting, as torch.logical_and. */
export function logicalAnd(a: Tensor, b: Tensor): F32 { return logical('logicalAnd', a, b, ops.mul); }
/** a OR b elementwise (nonzero and NaN are true), a float32 1/0 mask, broadcasting. */
export function logicalOr(a: Tensor, b: Tensor): F32 { return logical('logicalOr', a, b, ops.maximum); }
/** a XOR b elementwise (nonzero and NaN are true), a float32 1/0 mask, broadcasting. */
export function logicalXor(a: Tensor, b: Tensor): F32 { return logical('logicalXor', a, b, ops.ne); }
/** NOT x elementwise: 1 where x is 0, else 0 (NaN is true, so 0), a float32 mask, as torch.logical_not. */
export function logicalNot(x: Tensor): F32 {
  return ops.eq(checkTensor('logicalNot', 'x', x), 0);
}

/** `clamp` under PyTorch's other name, torch.clip. @example clip(x, -1, 1) */
export function clip<D extends DType>(x: Tensor<D>, min?: Tensor | number | null, max?: Tensor | number | null): Tensor<D> {
  return ops.clamp(x, min, max);
}
