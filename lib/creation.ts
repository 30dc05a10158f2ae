/** Making tensors: from data, filled, ranges, and seeded random numbers. */
import { markConstant } from './engine';
import { fail } from './errors';
import { native, type TypedArray } from './native';
import { requireCuda } from './cuda';
import { parseDevice, toDevice } from './ops';
import { DEVICE_CODE, DTYPE_CODE, Tensor, type DType, type Device, type NestedArray } from './tensor';
import { checkFloat32Value, checkHostBytes, checkInt, checkNumber, checkOptions, checkShape, checkTensor, describe, MAX_RANK, shapeStr, sizeOf } from './validate';

export interface TensorOptions<D extends DType = DType> {
  /** The shape; by default the nesting of `values` (or [length] for a flat array). */
  shape?: readonly number[];
  /** float32 by default, int32 for an Int32Array. */
  dtype?: D;
  /** Make a leaf that requires grad (float32 only). */
  requiresGrad?: boolean;
  /** 'cpu' (the default) or 'cuda': the values are copied there. */
  device?: Device | string;
}

/** Options of the filled and random creators: `zeros([3], { requiresGrad: true })`. */
export interface CreationOptions<D extends DType = DType> {
  dtype?: D;
  /** Make a leaf that requires grad (float32 only). */
  requiresGrad?: boolean;
  /** 'cpu' (the default) or 'cuda'. */
  device?: Device | string;
}

// The device code of a creation's options (checking that the GPU is usable when asked for).
function deviceCode(op: string, device: unknown): 0 | 1 {
  if (device === undefined) return 0;
  const d = parseDevice(op, device);
  if (d === 'cuda') requireCuda(op);
  return DEVICE_CODE[d];
}

// Creators take a dtype name or an options object in the same place.
function creationOptions<D extends DType>(op: string, value: D | CreationOptions<D> | undefined): CreationOptions<D> {
  if (value === undefined || typeof value === 'string') return { dtype: value };
  if (typeof value !== 'object' || value === null) fail('E_ARG', `${op}: expected a dtype or an options object, got ${describe(value)}`);
  return checkOptions<CreationOptions<D>>(op, value, ['dtype', 'requiresGrad', 'device']);
}

/** rand and randn make float32 only: another dtype asked for is E_DTYPE, not silently ignored. */
function floatOnly<O extends { dtype?: unknown }>(op: string, o: O): O {
  if (o.dtype !== undefined && o.dtype !== 'float32') fail('E_DTYPE', `${op}: makes float32 values only, got dtype ${describe(o.dtype)}`);
  return o;
}

function withGrad<T extends Tensor>(t: T, requiresGrad: boolean | undefined): T {
  if (requiresGrad !== undefined) t.requiresGrad = requiresGrad;
  return t;
}

function checkDtypeName(op: string, dtype: unknown): DType {
  if (dtype !== 'float32' && dtype !== 'int32') fail('E_DTYPE', `${op}: expected dtype 'float32' or 'int32', got ${describe(dtype)}`);
  return dtype;
}

function inferShape(op: string, values: NestedArray, shape: number[] = []): number[] {
  if (typeof values === 'number') return shape;
  if (!Array.isArray(values)) fail('E_ARG', `${op}: expected numbers or nested arrays of numbers, got ${describe(values)}`);
  // Deeper than a tensor can be: 10,000 levels overflowed the stack, an array holding itself never ended.
  if (shape.length >= MAX_RANK) fail('E_SHAPE', `${op}: nested arrays more than ${MAX_RANK} levels deep (or an array that contains itself)`);
  shape.push(values.length);
  if (values.length > 0) inferShape(op, values[0], shape);
  return shape;
}

// Writes the numbers of `values` (of shape `shape` from `axis` on) into out from `at`; returns
// where it stopped. The innermost level is a plain loop: a call and an array push per number
// made tensor() of a 1M-number array take ~100 ms.
function flattenInto(op: string, values: NestedArray, shape: number[], axis: number, out: Float64Array, at: number): number {
  if (!Array.isArray(values) || values.length !== shape[axis]) {
    fail('E_SHAPE', `${op}: ragged nested array: expected ${shape[axis]} entries at depth ${axis}, got ${describe(values)}`);
  }
  if (axis === shape.length - 1) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') fail('E_SHAPE', `${op}: ragged nested array: expected a number at depth ${axis + 1}, got ${describe(v)}`);
      out[at++] = v;
    }
    return at;
  }
  for (const v of values) at = flattenInto(op, v, shape, axis + 1, out, at);
  return at;
}

/**
 * A tensor from a typed array, a number, or (nested) arrays of numbers. The values are copied.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);                          // float32 [2, 2]
 * const labels = tensor([3, 1, 4], { dtype: 'int32' });
 * const image = tensor(new Float32Array(784), { shape: [1, 1, 28, 28] });
 */
export function tensor<D extends DType = 'float32'>(
  values: NestedArray | TypedArray | ArrayLike<number>,
  options: TensorOptions<D> = {},
): Tensor<D> {
  const op = 'tensor';
  options = checkOptions<TensorOptions<D>>(op, options, ['shape', 'dtype', 'requiresGrad', 'device']);
  let flat: ArrayLike<number>;
  let shape: number[];
  if (typeof values === 'number' || Array.isArray(values)) {
    shape = inferShape(op, values as NestedArray);
    const count = sizeOf(shape);  // from the first entry at each depth: checked while flattening
    checkHostBytes(op, 12 * count, `${count} values (shape ${shapeStr(shape)}) and their float32 copy`);
    let out: Float64Array;  // exact, for the int32 checks below
    try {
      out = new Float64Array(count);
    } catch {
      fail('E_OOM', `${op}: out of memory for ${count} values (shape ${shapeStr(shape)})`);
    }
    if (shape.length === 0) out[0] = values as number;
    else flattenInto(op, values as NestedArray, shape, 0, out, 0);
    flat = out;
  } else if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    flat = values as unknown as ArrayLike<number>;
    // The native side takes plain buffers only; a view of shared memory is copied first.
    if (typeof SharedArrayBuffer !== 'undefined' && values.buffer instanceof SharedArrayBuffer) {
      flat = (values as unknown as { slice(): ArrayLike<number> }).slice();
    }
    shape = [flat.length];
  } else {
    fail('E_ARG', `${op}: expected a typed array, a number or nested arrays of numbers, got ${describe(values)}`);
  }
  if (options.shape !== undefined) {
    shape = checkShape(op, 'shape', options.shape);
    if (sizeOf(shape) !== flat.length) fail('E_SHAPE', `${op}: ${flat.length} values cannot fill shape ${shapeStr(shape)}`);
  }
  const dtype = (options.dtype === undefined ? (values instanceof Int32Array ? 'int32' : 'float32') : checkDtypeName(op, options.dtype)) as D;
  let typed: TypedArray;
  if (dtype === 'int32') {
    if (flat instanceof Int32Array) typed = flat;
    else {
      for (let i = 0; i < flat.length; i++) {
        if (!Number.isInteger(flat[i]) || flat[i] < -2147483648 || flat[i] > 2147483647) {
          fail('E_DTYPE', `${op}: int32 values must be integers in range, got ${describe(flat[i])} at position ${i}`);
        }
      }
      typed = Int32Array.from(flat);
    }
  } else {
    typed = flat instanceof Float32Array ? flat : flat instanceof Float64Array ? new Float32Array(flat) : Float32Array.from(flat, (v) => {
      if (typeof v !== 'number' && typeof v !== 'bigint') fail('E_ARG', `${op}: expected numbers, got ${describe(v)}`);
      return Number(v);
    });
  }
  let t = new Tensor(native.fromData(typed, shape), shape, dtype);
  if (options.device !== undefined && parseDevice(op, options.device) !== 'cpu') {
    const moved = toDevice(t, options.device);
    t.dispose();
    t = moved;
  }
  return withGrad(t, options.requiresGrad);
}

/** A tensor of `value` everywhere. @example full([2, 3], 7); full([3], 0.5, { requiresGrad: true }) */
export function full<D extends DType = 'float32'>(shape: readonly number[], value: number, dtype?: D | CreationOptions<D>): Tensor<D> {
  const s = checkShape('full', 'shape', shape);
  const o = creationOptions('full', dtype);
  const d = (o.dtype === undefined ? 'float32' : checkDtypeName('full', o.dtype)) as D;
  if (d === 'float32') checkFloat32Value('full', 'value', value);
  else checkInt('full', 'value', checkNumber('full', 'value', value), -2147483648, 2147483647);
  return withGrad(markConstant(new Tensor(native.fill(s, DTYPE_CODE[d], value, deviceCode('full', o.device)), s, d)), o.requiresGrad);
}

/** Zeros. @example zeros([64, 1, 28, 28]); zeros([10], { requiresGrad: true }) */
export function zeros<D extends DType = 'float32'>(shape: readonly number[], dtype?: D | CreationOptions<D>): Tensor<D> {
  return full(shape, 0, dtype);
}

/** Ones. @example ones([3]) */
export function ones<D extends DType = 'float32'>(shape: readonly number[], dtype?: D | CreationOptions<D>): Tensor<D> {
  return full(shape, 1, dtype);
}

export function zerosLike<D extends DType>(x: Tensor<D>): Tensor<D> {
  checkTensor('zerosLike', 'x', x);
  return full(x.shape, 0, { dtype: x.dtype, device: x.device });
}

export function onesLike<D extends DType>(x: Tensor<D>): Tensor<D> {
  checkTensor('onesLike', 'x', x);
  return full(x.shape, 1, { dtype: x.dtype, device: x.device });
}

/** `value` in x's shape, dtype and device (torch.full_like). @example fullLike(x, -1) */
export function fullLike<D extends DType>(x: Tensor<D>, value: number): Tensor<D> {
  checkTensor('fullLike', 'x', x);
  return full(x.shape, value, { dtype: x.dtype, device: x.device });
}

/** `rand` in x's shape and device, float32 (torch.rand_like). @example randLike(x) */
export function randLike(x: Tensor, options: { requiresGrad?: boolean } = {}): Tensor<'float32'> {
  checkTensor('randLike', 'x', x);
  return rand(x.shape, { ...checkOptions<{ requiresGrad?: boolean }>('randLike', options, ['requiresGrad']), device: x.device });
}

/** `randn` in x's shape and device, float32 (torch.randn_like). @example randnLike(x) */
export function randnLike(x: Tensor, options: { requiresGrad?: boolean } = {}): Tensor<'float32'> {
  checkTensor('randnLike', 'x', x);
  return randn(x.shape, { ...checkOptions<{ requiresGrad?: boolean }>('randnLike', options, ['requiresGrad']), device: x.device });
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`, as torch.arange. With one
 * argument, `arange(n)` is 0 … n-1. The dtype is int32 when every argument is an integer.
 *
 * @example arange(5)            // [0, 1, 2, 3, 4] int32
 * @example arange(0, 1, 0.25)   // [0, 0.25, 0.5, 0.75] float32
 * @example arange(0, 10, 1, { dtype: 'float32', device: 'cuda' })
 */
export function arange(start: number, end?: number, step = 1, dtype?: DType | CreationOptions): Tensor {
  const o = creationOptions('arange', dtype);
  if (o.requiresGrad) fail('E_ARG', 'arange: `requiresGrad` is not an option of arange (its values are not trained)');
  if (end === undefined) [start, end] = [0, start];
  checkNumber('arange', 'start', start);
  checkNumber('arange', 'end', end);
  checkNumber('arange', 'step', step);
  if (step === 0) fail('E_ARG', 'arange: `step` must not be 0');
  // As torch.arange: an end on the wrong side of start is a mistake, not an empty range
  // (arange(-5) and arange(5, 0) were silently empty).
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    fail('E_ARG', `arange: the range [${start}, ${end}) goes against the sign of \`step\` ${step}`);
  }
  const count = Math.max(0, Math.ceil((end - start) / step));
  if (count > 2 ** 40) fail('E_ARG', `arange: ${count} elements is too many`);
  const d = o.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  checkDtypeName('arange', d);
  if (d === 'int32' && count > 0) {
    const last = start + (count - 1) * step;
    for (const [name, v] of [['start', start], ['last value', last]] as const) {
      if (v < -(2 ** 31) || v >= 2 ** 31) {
        fail('E_ARG', `arange: the ${name} ${v} is outside int32's range [-2147483648, 2147483647]; use dtype 'float32'`);
      }
    }
  }
  return new Tensor(native.arange(start, step, count, DTYPE_CODE[d], deviceCode('arange', o.device)), [count], d);
}

/**
 * `steps` values evenly spaced from `start` to `end`, both included, as torch.linspace (the
 * first half counted from start, the second from end, as PyTorch does, so both ends are exact;
 * in float64, then rounded: PyTorch's float32 arithmetic can differ in the last bit).
 * float32 unless `dtype` says otherwise.
 * @example linspace(0, 1, 5)   // [0, 0.25, 0.5, 0.75, 1]
 */
export function linspace<D extends DType = 'float32'>(start: number, end: number, steps: number, dtype?: D | CreationOptions<D>): Tensor<D> {
  const op = 'linspace';
  checkNumber(op, 'start', start);
  checkNumber(op, 'end', end);
  checkInt(op, 'steps', steps, 0, 2 ** 31 - 1);
  const o = creationOptions(op, dtype);
  const d = (o.dtype ?? 'float32') as D;
  checkDtypeName(op, d);
  if (d === 'float32') {
    checkFloat32Value(op, 'start', start);
    checkFloat32Value(op, 'end', end);
  }
  // Each value is computed in float64 and rounded once as it is stored (no float64 copy of the
  // whole range: linspace(0, 1, 2 ** 31 - 1) filled 16 GB of it and the OOM killer took the process).
  const data = hostBuffer(op, d, steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  const int = d === 'int32';
  for (let i = 0; i < steps; i++) {
    const v = i < half || steps === 1 ? start + step * i : end - step * (steps - 1 - i);
    data[i] = int ? Math.trunc(v) : v;
  }
  return tensor<D>(data as never, { shape: [steps], dtype: d, device: o.device, requiresGrad: o.requiresGrad });
}

/**
 * A JavaScript buffer for `count` values of a tensor about to be made from it. The buffer and the
 * tensor's copy live together for a moment, outside the native memory checks: more than the
 * machine has is E_OOM here, before anything is filled, and so is V8 refusing the buffer (a raw
 * RangeError otherwise).
 */
function hostBuffer(op: string, dtype: DType, count: number): Float32Array | Int32Array {
  const bytes = count * 4;
  checkHostBytes(op, 2 * bytes, `${count} values and the tensor's copy of them`);
  try {
    return dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
  } catch (e) {
    return fail('E_OOM', `${op}: out of memory: a buffer of ${bytes} bytes could not be allocated (${(e as Error).message})`);
  }
}

/**
 * The n x m identity matrix (m = n by default), as torch.eye; float32 unless `dtype` says otherwise.
 * @example eye(3)   // [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
 */
export function eye<D extends DType = 'float32'>(n: number, m?: number | D | CreationOptions<D>, dtype?: D | CreationOptions<D>): Tensor<D> {
  const op = 'eye';
  if (typeof m !== 'number' && m !== undefined) [m, dtype] = [undefined, m];
  const rows = checkInt(op, 'n', n, 0);
  const cols = m === undefined ? rows : checkInt(op, 'm', m, 0);
  if (rows * cols > 2 ** 31) fail('E_ARG', `${op}: a ${rows} x ${cols} matrix is too big`);
  const o = creationOptions(op, dtype);
  const d = (o.dtype ?? 'float32') as D;
  checkDtypeName(op, d);
  const data = hostBuffer(op, d, rows * cols);
  for (let i = 0; i < Math.min(rows, cols); i++) data[i * cols + i] = 1;
  return tensor<D>(data as never, { shape: [rows, cols], dtype: d, device: o.device, requiresGrad: o.requiresGrad });
}

/**
 * Restarts the CPU random generator (Philox-4x32-10). The same seed gives the same numbers, in
 * the same call order, whatever the thread count.
 * @example manualSeed(42); const w = randn([3, 3]);
 */
export function manualSeed(seed: number): void {
  checkInt('manualSeed', 'seed', seed, 0, Number.MAX_SAFE_INTEGER);
  native.manualSeed(seed);
}

// rand(shape, options) and randn(shape, options), as torch.rand(shape, requires_grad=True): an
// object where the first number goes is the options, the numbers their defaults.
function numbersOrOptions(a: unknown, b: number, options: CreationOptions<'float32'>, defaults: [number, number]): [number, number, CreationOptions<'float32'>] {
  return typeof a === 'object' && a !== null ? [defaults[0], defaults[1], a as CreationOptions<'float32'>] : [a as number, b, options];
}

/**
 * Uniform on [low, high) (default [0, 1)), seeded.
 * @example rand([2, 2]); rand([3], -1, 1, { requiresGrad: true }); rand([3], { device: 'cuda' })
 */
export function rand(shape: readonly number[], options?: CreationOptions<'float32'>): Tensor<'float32'>;
export function rand(shape: readonly number[], low?: number, high?: number, options?: CreationOptions<'float32'>): Tensor<'float32'>;
export function rand(shape: readonly number[], lowOrOptions: number | CreationOptions<'float32'> = 0, highArg = 1, optionsArg: CreationOptions<'float32'> = {}): Tensor<'float32'> {
  const [low, high, options] = numbersOrOptions(lowOrOptions, highArg, optionsArg, [0, 1]);
  const s = checkShape('rand', 'shape', shape);
  checkNumber('rand', 'low', low);
  checkNumber('rand', 'high', high);
  if (!(high >= low)) fail('E_ARG', `rand: expected low <= high, got low ${low}, high ${high}`);
  const o = floatOnly('rand', creationOptions('rand', options));
  return withGrad(new Tensor(native.randomUniform(s, low, high, deviceCode('rand', o.device)), s, 'float32'), o.requiresGrad);
}

/**
 * Normal with the given mean and standard deviation (default 0, 1), seeded.
 * @example randn([3, 3]); randn([3], 0, 0.1, { requiresGrad: true }); randn([3], { requiresGrad: true })
 */
export function randn(shape: readonly number[], options?: CreationOptions<'float32'>): Tensor<'float32'>;
export function randn(shape: readonly number[], mean?: number, std?: number, options?: CreationOptions<'float32'>): Tensor<'float32'>;
export function randn(shape: readonly number[], meanOrOptions: number | CreationOptions<'float32'> = 0, stdArg = 1, optionsArg: CreationOptions<'float32'> = {}): Tensor<'float32'> {
  const [mean, std, options] = numbersOrOptions(meanOrOptions, stdArg, optionsArg, [0, 1]);
  const s = checkShape('randn', 'shape', shape);
  checkNumber('randn', 'mean', mean);
  checkNumber('randn', 'std', std);
  if (std < 0) fail('E_ARG', `randn: expected std >= 0, got ${std}`);
  const o = floatOnly('randn', creationOptions('randn', options));
  return withGrad(new Tensor(native.randomNormal(s, mean, std, deviceCode('randn', o.device)), s, 'float32'), o.requiresGrad);
}

// A tensor made on the CPU, moved to `device` (the CPU copy freed); nothing is drawn before the
// device is checked.
function onDevice<D extends DType>(op: string, make: () => Tensor<D>, device: Device | string | undefined): Tensor<D> {
  const code = deviceCode(op, device);
  const t = make();
  if (code === 0) return t;
  const moved = toDevice(t, device as string);
  t.dispose();
  return moved;
}

/**
 * Integers uniform in [low, high) (int32), seeded as `rand` (torch.randint); `randint(high,
 * shape)` starts at 0. Each number takes 64 random bits, so every value is equally likely to
 * within 2^-31 of its share. Drawn on the CPU, then copied to `device` (as PyTorch draws a
 * small randperm).
 * @example randint(10, [4]); randint(-5, 5, [2, 3], { device: 'cuda' })
 */
export function randint(high: number, shape: readonly number[], options?: { device?: Device | string }): Tensor<'int32'>;
export function randint(low: number, high: number, shape: readonly number[], options?: { device?: Device | string }): Tensor<'int32'>;
export function randint(a: number, b: number | readonly number[], c?: unknown, d?: unknown): Tensor<'int32'> {
  const op = 'randint';
  const [low, high, shape, options] = typeof b === 'number' ? [a, b, c, d] : [0, a, b, c];
  const s = checkShape(op, 'shape', shape as readonly number[]);
  checkInt(op, 'low', low, -(2 ** 31), 2 ** 31 - 1);
  checkInt(op, 'high', high, -(2 ** 31) + 1, 2 ** 31);
  if (!(low < high)) fail('E_ARG', `${op}: expected low < high, got low ${low}, high ${high}`);
  const o = checkOptions<{ device?: Device | string }>(op, options ?? {}, ['device']);
  return onDevice(op, () => new Tensor(native.randomInt(s, low, high), s, 'int32'), o.device);
}

/**
 * A random permutation of 0 .. n - 1 (int32), seeded as `rand` (torch.randperm): a
 * Fisher-Yates shuffle on the CPU, 64 random bits a swap, then copied to `device`.
 * @example const order = randperm(60000); const batch = indexSelect(images, 0, order.narrow(0, 0, 64))
 */
export function randperm(n: number, options: { device?: Device | string } = {}): Tensor<'int32'> {
  const op = 'randperm';
  checkInt(op, 'n', n, 0, 2 ** 31 - 1);
  const o = checkOptions<{ device?: Device | string }>(op, options, ['device']);
  return onDevice(op, () => new Tensor(native.randomPermutation(n), [n], 'int32'), o.device);
}

/** 1 with probability p, else 0 (float32), seeded (the same numbers on every device). @example bernoulli([10], 0.3); bernoulli([10], 0.3, { device: 'cuda' }) */
export function bernoulli(shape: readonly number[], p = 0.5, options: { device?: Device | string } = {}): Tensor<'float32'> {
  const s = checkShape('bernoulli', 'shape', shape);
  checkNumber('bernoulli', 'p', p);
  if (p < 0 || p > 1) fail('E_ARG', `bernoulli: expected p in [0, 1], got ${p}`);
  options = checkOptions<{ device?: Device | string }>('bernoulli', options, ['device']);
  return new Tensor(native.randomBernoulli(s, p, deviceCode('bernoulli', options.device)), s, 'float32');
}
