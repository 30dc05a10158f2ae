/**
 * Argument checks run in TypeScript before any native call, so a mistake is reported at the
 * call site with the op, the argument, what was expected and what came:
 * `matmul: expected \`b\` of shape [3, N], got [4, 5]`.
 */
import * as os from 'os';
import { fail } from './errors';
import type { DType, Tensor } from './tensor';

/** Marks Tensor instances (and subclasses) without importing the class here. */
export const TENSOR_BRAND = Symbol.for('cudnn-convnet.Tensor');

/**
 * Whether a value is one of this copy's tensors: the Tensor class's private-field check
 * (`#handle in value`), which cannot be forged (the brand alone can: any object can carry
 * `Symbol.for('cudnn-convnet.Tensor')`, which then reached ~60 ops as a TypeError). It was a
 * WeakSet of every tensor made: an insertion per tensor, ~0.3 us, and an ephemeron for the
 * garbage collector to clear.
 *
 * Each copy of the library loaded in one process has its own native handles (Note [handles are
 * numbers], native/api/napi_util.h), so a tensor of another copy is not a tensor here; the copies
 * list their checks on a global symbol so that checkTensor can say what happened.
 */
const TENSOR_CHECKS: ((value: object) => boolean)[] = ((globalThis as Record<symbol, ((value: object) => boolean)[] | undefined>)[Symbol.for('cudnn-convnet.tensorChecks')] ??= []);
let ownCheck: (value: object) => boolean = () => false;

/** @internal Called once, by the Tensor class. */
export function registerTensorCheck(check: (value: object) => boolean): void {
  ownCheck = check;
  TENSOR_CHECKS.push(check);
}

export function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && ownCheck(value);
}

const FOREIGN = 'a tensor of another copy of cudnn-convnet loaded in this process (tensors cannot pass between copies, ' +
  'each has its own native memory: load the library once, `npm dedupe`)';

function isForeignTensor(value: unknown): boolean {
  return typeof value === 'object' && value !== null && TENSOR_CHECKS.some((check) => check !== ownCheck && check(value));
}

/**
 * `table[key]` for a key that came from the user: undefined unless `key` is a string or number
 * naming one of the table's own entries. A plain `table[key]` finds `constructor`, `toString`, …
 * on Object.prototype, and turns an array or object key into a string first, which throws a raw
 * RangeError for a 2**31-long array and a TypeError for a Symbol or an Object.create(null).
 */
export function ownEntry<V>(table: Readonly<Record<string | number, V>>, key: unknown): V | undefined {
  if (typeof key !== 'string' && typeof key !== 'number') return undefined;
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/**
 * E_OOM when `bytes` of JavaScript memory (a buffer or an index list made before the tensor it
 * is for) pass the machine's memory: the native allocator checks its own requests, but
 * JavaScript's are outside its accounting and end in a raw RangeError or the OOM killer.
 */
export function checkHostBytes(op: string, bytes: number, what: string): void {
  if (bytes > os.totalmem()) fail('E_OOM', `${op}: out of memory: ${what} take ${bytes} bytes, more than the machine has (${os.totalmem()} bytes)`);
}

/** A short description of any value, for error messages. */
export function describe(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  // Nested arrays are shown 3 levels deep: 10,000 levels (or an array holding itself) would not end.
  if (Array.isArray(value)) {
    if (depth >= 3) return '[…]';
    return `[${value.slice(0, 8).map((v) => describe(v, depth + 1)).join(', ')}${value.length > 8 ? ', …' : ''}]`;
  }
  if (isTensor(value)) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  if (isForeignTensor(value)) return FOREIGN;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/**
 * An options argument: `undefined` is `{}`; anything but a plain object is E_ARG, and so is a key
 * outside `keys`, as PyTorch refuses an unexpected keyword argument (a misspelt option would
 * otherwise be ignored without a word). A key whose value is `undefined` counts as absent.
 */
export function checkOptions<T extends object>(op: string, options: unknown, keys: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || isTensor(options)) {
    fail('E_ARG', `${op}: expected options to be an object, got ${describe(options)}`);
  }
  // for...in over own keys, not Object.entries: no arrays made on every op's path.
  for (const key in options) {
    if (!Object.prototype.hasOwnProperty.call(options, key)) continue;
    if ((options as Record<string, unknown>)[key] !== undefined && !keys.includes(key)) fail('E_ARG', `${op}: unknown option \`${key}\` (expected one of ${keys.join(', ')})`);
  }
  return options as T;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A tensor that has not been disposed. */
export function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!isTensor(value)) {
    fail('E_ARG', `${op}: expected \`${name}\` to be a Tensor, got ${describe(value)}`);
  }
  const t = value;
  if (t.isDisposed) fail('E_DISPOSED', `${op}: \`${name}\` has been disposed`);
  return t;
}

/** A float32 tensor that has not been disposed (the argument check of most ops). */
export function checkFloat(op: string, name: string, value: unknown): Tensor<'float32'> {
  const t = checkTensor(op, name, value);
  checkDtype(op, name, t, 'float32');
  return t as Tensor<'float32'>;
}

export function checkDtype(op: string, name: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) fail('E_DTYPE', `${op}: expected \`${name}\` of dtype ${dtype}, got ${t.dtype}`);
}

export function checkSameDevice(op: string, tensors: Record<string, Tensor>): void {
  // for...in, not Object.entries: no arrays made on every op's path.
  let firstName = '', first: Tensor | null = null;
  for (const name in tensors) {
    const t = tensors[name];
    if (first === null) {
      firstName = name;
      first = t;
    } else if (t.device !== first.device) {
      fail('E_DEVICE', `${op}: \`${name}\` is on ${t.device} but \`${firstName}\` is on ${first.device}`);
    }
  }
}

/** An integer (safe, finite, not NaN) in [min, max]. */
export function checkInt(op: string, name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail('E_ARG', `${op}: expected \`${name}\` to be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : min === -Infinity ? `<= ${max}` : `in [${min}, ${max}]`;
    fail('E_ARG', `${op}: expected \`${name}\` ${range}, got ${value}`);
  }
  return value;
}

/** A finite number (NaN and ±Infinity refused unless allowed). */
export function checkNumber(op: string, name: string, value: unknown, allowNonFinite = false): number {
  if (typeof value !== 'number' || (!allowNonFinite && !Number.isFinite(value))) {
    fail('E_ARG', `${op}: expected \`${name}\` to be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** float32's largest finite value (torch.finfo(torch.float32).max). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A number to be stored as a float32 element (a fill value, a padding value, a clamp bound):
 * ±Infinity and NaN pass, but a finite number beyond float32's range is refused, as PyTorch
 * refuses it ("value cannot be converted to type float without overflow") rather than storing
 * an infinity. (Arithmetic with such a number, `add(x, 1e300)`, gives infinities in both.)
 */
export function checkFloat32Value(op: string, name: string, value: unknown): number {
  const v = checkNumber(op, name, value, true);
  if (Math.abs(v) > FLOAT32_MAX && Number.isFinite(v)) {
    fail('E_ARG', `${op}: \`${name}\` ${v} overflows float32 (largest finite value ${FLOAT32_MAX})`);
  }
  return v;
}

export function checkBool(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail('E_ARG', `${op}: expected \`${name}\` to be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * The most axes a shape (or a list of axes) may have, as PyTorch's limit. Checked before any
 * walk over the array, so `new Array(2 ** 31)` (or a Proxy claiming that length) is refused at
 * once instead of looping for minutes or exhausting the heap.
 */
export const MAX_RANK = 64;

/** An array of at most `max` entries (its length read once, before anything walks it). */
export function checkArrayLength(op: string, name: string, value: unknown, max: number, code: 'E_ARG' | 'E_SHAPE' = 'E_ARG'): unknown[] {
  if (!Array.isArray(value)) fail(code, `${op}: expected \`${name}\` to be an array, got ${describe(value)}`);
  const n = value.length;
  if (!(n <= max)) fail(code, `${op}: expected \`${name}\` to have at most ${max} entries, got ${n}`);
  return value;
}

/**
 * The items of an array or other iterable, each checked by `check` as it comes, at most `max`
 * of them: a list lying about its length (a sparse `new Array(2 ** 31)`, a Proxy) fails at its
 * first bad item instead of filling the heap.
 */
export function collectChecked<T>(op: string, name: string, value: Iterable<unknown>, check: (item: unknown, i: number) => T, max = 1 << 24): T[] {
  const out: T[] = [];
  for (const item of value) {
    if (out.length >= max) fail('E_ARG', `${op}: expected \`${name}\` to have at most ${max} entries`);
    out.push(check(item, out.length));
  }
  return out;
}

/** A shape: an array of at most MAX_RANK non-negative safe integers. */
export function checkShape(op: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value)) fail('E_SHAPE', `${op}: expected \`${name}\` to be an array of sizes, got ${describe(value)}`);
  if (!(value.length <= MAX_RANK)) fail('E_SHAPE', `${op}: expected \`${name}\` to have at most ${MAX_RANK} sizes, got ${value.length}`);
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail('E_SHAPE', `${op}: expected \`${name}\` to hold non-negative integer sizes, got ${describe(value)}`);
    }
  }
  return value.slice() as number[];
}

/** An axis in [-rank, rank), returned non-negative. */
export function checkAxis(op: string, name: string, axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isSafeInteger(axis) || axis < -rank || axis >= rank) {
    if (rank === 0) fail('E_ARG', `${op}: expected no \`${name}\` for a 0-D tensor (it has no axes), got ${describe(axis)}`);
    fail('E_ARG', `${op}: expected \`${name}\` to be an axis in [${-rank}, ${rank - 1}] for a ${rank}-D tensor, got ${describe(axis)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * The distinct axes of a reduction's list (a number is a list of one), checked and sorted; empty
 * for an empty list. A 0-D tensor takes axis 0 (or -1) as a tensor of one value would, as
 * PyTorch does (sum(scalar, 0) is the scalar): that axis reduces nothing, so the list is empty.
 */
export function checkReductionAxes(op: string, name: string, value: unknown, rank: number): number[] {
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list)) fail('E_ARG', `${op}: expected \`${name}\` to be an axis or an array of axes, got ${describe(value)}`);
  // More axes than the rank must repeat one; refusing it here also stops a 2**31-long array.
  const r = Math.max(rank, 1);
  if (!(list.length <= r)) fail('E_ARG', `${op}: expected at most ${r} axes for a ${rank}-D tensor, got ${list.length}`);
  const axes = list.map((a) => checkAxis(op, name, a, r));
  if (new Set(axes).size !== axes.length) fail('E_ARG', `${op}: axis ${axes.find((a, i) => axes.indexOf(a) !== i)} appears twice in \`${name}\` ${describe(value)}`);
  return rank === 0 ? [] : axes.sort((a, b) => a - b);
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      fail('E_SHAPE', `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Python's round(): halves to even (torch's and torchvision's sizes and counts are rounded with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
