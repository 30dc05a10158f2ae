/**
 * `Tensor`: an n-dimensional array of float32 or int32 values in native memory, row-major and
 * contiguous (NCHW for images). Ops return at once and run, in order, on the device's queue;
 * `await t.data()` waits for the value without blocking the event loop.
 */
import * as autograd from './autograd';
import type { BackwardOptions, Node } from './autograd';
import { fail } from './errors';
import { isSpared, keep, retrack, track, untrack } from './engine';
import { formatTensor } from './format';
import { native, type Handle, type TypedArray } from './native';
import * as ops from './ops';
import * as composite from './composite';
import * as sorting from './sorting';
import * as statistics from './statistics';
import * as counting from './counting';
import * as matrices from './matrices';
import * as pointwise from './pointwise';
import * as shapes from './shapes';
import * as inplace from './inplace';
import * as indexing from './indexing';
import * as sampling from './sampling';
import * as activation from './nn/functional/activation';
import * as layers from './nn/functional/layers';
import { TENSOR_BRAND, registerTensorCheck, sizeOf } from './validate';

export type DType = 'float32' | 'int32';
/** Where a tensor's memory is: the CPU, or the GPU of the CUDA backend. */
export type Device = 'cpu' | 'cuda';
export const DEVICE_CODE = { cpu: 0, cuda: 1 } as const;
const DEVICE_NAME = ['cpu', 'cuda'] as const;
export interface DataTypeMap { float32: Float32Array; int32: Int32Array }
/** Nested arrays of numbers, as `tensor()` takes and `array()` gives. */
export type NestedArray = number | NestedArray[];

export const DTYPE_CODE = { float32: 0, int32: 1 } as const;

const SCALAR_SHAPE: readonly number[] = Object.freeze([]);

export class Tensor<D extends DType = DType> {
  // shape and dtype are getters over private fields, and the shape array is frozen: writing
  // either (`t.shape = …`, `t.shape[0] = 5`) would have put JS out of step with the native memory.
  readonly #shape: readonly number[];
  readonly #dtype: D;
  #device: Device;
  readonly [TENSOR_BRAND] = true;
  #handle: Handle | null;
  #requiresGrad = false;
  #grad: Tensor<'float32'> | null = null;
  #gradFn: Node | null = null;
  /** Identifies the memory: views (reshape, detach, Parameter) share their base's token. */
  #storage: object = {};

  /** @internal Tensors are made by `tensor()`, `zeros()`, … and by ops, not with `new`. */
  constructor(handle: Handle, shape: readonly number[], dtype: D) {
    this.#handle = handle;
    // A frozen array (another tensor's shape, handed on by an op whose output has its input's
    // shape; a scalar's []) cannot change under us, so it is shared rather than copied and frozen
    // again: Object.freeze of a fresh array was a third of a small op's time in JavaScript
    // (bench/JOURNAL.md, "Session 36").
    this.#shape = Object.isFrozen(shape) ? shape : shape.length === 0 ? SCALAR_SHAPE : Object.freeze(shape.slice());
    this.#dtype = dtype;
    this.#device = DEVICE_NAME[native.deviceOf(handle)];
    track(this, handle);
  }

  static {
    // isTensor (validate.ts): a private field only this class's constructor can have made.
    registerTensorCheck((value) => #handle in value);
  }

  /** Sizes of the axes, e.g. [N, C, H, W] (a frozen array). */
  get shape(): readonly number[] {
    return this.#shape;
  }

  /** 'float32' or 'int32'. */
  get dtype(): D {
    return this.#dtype;
  }

  /** Where the values are: 'cpu' or 'cuda'. */
  get device(): Device {
    return this.#device;
  }

  /**
   * @internal Moves this leaf's memory to `device` in place, keeping its identity (a Parameter
   * stays the one its optimizer holds): `Module.to`. Its gradient is dropped.
   */
  moveTo(device: Device): void {
    const op = 'Module.to';
    if (this.#gradFn !== null) fail('E_ARG', `${op}: only leaf tensors can move in place`);
    // Parsed: DEVICE_CODE[device] turned a 2**31-long array into a string (a raw RangeError).
    device = ops.parseDevice(op, device);
    if (device === this.#device) return;
    const moved = native.toDevice(this.handle(op), DEVICE_CODE[device]);
    native.release(this.#handle as Handle);
    this.#handle = moved;
    retrack(this, moved);
    this.#device = device;
    if (this.#grad !== null && !isSpared(this.#grad)) this.#grad.dispose();
    this.#grad = null;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** @internal The native handle; throws E_DISPOSED after `dispose()`. */
  handle(op = 'tensor'): Handle {
    // op only names the caller in the message (a Symbol would throw a TypeError in the template)
    if (this.#handle === null) fail('E_DISPOSED', `${typeof op === 'string' ? op : 'tensor'}: the tensor has been disposed`);
    return this.#handle;
  }

  /**
   * The values, as a new typed array, once every op before this call has run. Rejects with
   * the error of a failed queued op, if one failed since the last wait.
   * @example const values = await x.data();   // Float32Array
   */
  async data(): Promise<DataTypeMap[D]> {
    return (await native.read(this.handle('data'))) as DataTypeMap[D];
  }

  /**
   * Like `data()`, but blocks the JavaScript thread until the value is computed: fine in
   * scripts and tests, a stall in a server.
   */
  dataSync(): DataTypeMap[D] {
    return native.readSync(this.handle('dataSync')) as DataTypeMap[D];
  }

  /** The values as nested arrays. @example await tensor([[1, 2]]).array()   // [[1, 2]] */
  async array(): Promise<NestedArray> {
    return nest((await native.read(this.handle('array'))) as DataTypeMap[D], this.shape);
  }

  arraySync(): NestedArray {
    return nest(native.readSync(this.handle('arraySync')) as DataTypeMap[D], this.shape);
  }

  /** `arraySync()` under PyTorch's name: the values as nested arrays (blocks). @example x.tolist() */
  tolist(): NestedArray {
    return this.arraySync();
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) fail('E_SHAPE', `item: expected a tensor with one element, got shape [${this.shape.join(', ')}]`);
    return native.itemSync(this.handle('item'));
  }

  /**
   * Frees the tensor's memory now (once queued ops that read it are done), and its gradient.
   * The graph that made it stays usable: `backward()` from a later tensor still works. Safe
   * to call twice.
   */
  dispose(): void {
    if (this.#handle === null) return;
    native.release(this.#handle);
    this.#handle = null;
    untrack(this);
    const node = this.#gradFn;
    this.#gradFn = null;
    node?.drop();   // Note [graph lifetime] (lib/autograd.ts)
    if (this.#grad !== null && !isSpared(this.#grad)) this.#grad.dispose();
    this.#grad = null;
  }

  // ---- autograd (see lib/autograd.ts) ----------------------------------------------------------

  /**
   * Whether gradients flow to this tensor: set on leaves (`x.requiresGrad = true`, float32
   * only); true for every result of an op recorded from such tensors.
   * @example const w = randn([3, 3]); w.requiresGrad = true;
   */
  get requiresGrad(): boolean {
    return this.#requiresGrad || this.#gradFn !== null;
  }

  set requiresGrad(value: boolean) {
    this.#requiresGrad = autograd.checkRequiresGrad(this, value);
  }

  /**
   * Sets `requiresGrad` (true by default) and returns the tensor, for chaining.
   * @example const w = randn([784, 10]).mul(0.01).detach().requiresGrad_();
   */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Whether the tensor was made by the user rather than by a recorded op (it has no gradFn). */
  get isLeaf(): boolean {
    return this.#gradFn === null;
  }

  /** @internal The node that computed this tensor (null for leaves). */
  get gradFn(): Node | null {
    return this.#gradFn;
  }

  /** @internal Used by `record()`. */
  _setGradFn(node: Node): void {
    this.#gradFn?.drop();
    this.#gradFn = node;
    node.hold();
  }

  /**
   * The gradient accumulated by `backward()` calls (null until the first). It belongs to the
   * tensor: tidy scopes leave it alone; setting `grad` (to null or another tensor, whose
   * ownership the tensor takes), `zeroGrad()` and `dispose()` dispose the previous one.
   * Accumulation makes a new tensor: read `grad` again after each `backward()`.
   * @example loss.backward(); console.log(w.grad!.toString()); w.grad = null;
   */
  get grad(): Tensor<'float32'> | null {
    return this.#grad;
  }

  set grad(value: Tensor<'float32'> | null) {
    const g = autograd.checkGrad(this, value);
    if (g !== null) keep(g);
    if (this.#grad !== null && this.#grad !== g) this.#grad.dispose();
    this.#grad = g;
  }

  /** Disposes the gradient and sets `grad` to null (as PyTorch's `zero_grad(set_to_none=True)`). @example w.zeroGrad(); */
  zeroGrad(): void {
    this.grad = null;
  }

  /** @internal The gradient for the engine (no checks). */
  _gradField(): Tensor<'float32'> | null {
    return this.#grad;
  }

  /** @internal Replaces the gradient with an accumulated one (the engine disposes the old one). */
  _storeGrad(g: Tensor<'float32'>): void {
    if (this.#grad !== null && this.#grad !== g) this.#grad.dispose();
    this.#grad = g;
  }

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires grad and
   * adds it into their `grad`. A one-element tensor (a loss) needs no `gradient`; otherwise
   * pass one of this tensor's shape (the vector of a vector-Jacobian product). The graph's
   * saved tensors are released afterwards unless `retainGraph` is set.
   * @example
   * const w = tensor([1, 2, 3], { requiresGrad: true });
   * w.mul(w).sum().backward();
   * console.log(w.grad!.toString());   // tensor([2., 4., 6.])
   */
  backward(gradient?: Tensor | null, options?: BackwardOptions): void {
    autograd.backward(this, gradient, options);
  }

  /**
   * The same values (sharing memory: no copy) outside the graph: no gradFn, requiresGrad false.
   * @example const target = prediction.detach();
   */
  detach(): Tensor<D> {
    const y = new Tensor(native.reshape(this.handle('detach'), this.shape), this.shape, this.dtype);
    y._viewOf(this);
    return y;
  }

  /** @internal Records that this tensor is a view of `base`'s memory (no copy was made). */
  _viewOf(base: Tensor): void {
    this.#storage = base.#storage;
  }

  /** @internal Whether the two tensors are views of the same memory (as JS made them). */
  _sharesMemoryWith(other: Tensor): boolean {
    return this.#storage === other.#storage;
  }

  /** The values the way PyTorch prints them: `tensor([[1.0000, 2.5000]])`. Blocks until computed. */
  toString(): string {
    if (this.isDisposed) return 'tensor(<disposed>)';
    return formatTensor(this.dataSync(), this.shape, this.dtype);
  }

  /**
   * The tensor on `device` ('cpu' or 'cuda'; 'cuda:0' names the same GPU): itself when it is
   * there already (as PyTorch), else a copy there. Gradients flow back through the copy. A copy
   * to the GPU first waits for this tensor's pending CPU work; a copy to the CPU is queued and
   * never blocks. `'cuda'` needs the CUDA backend (see `cuda.isAvailable()`); without it this
   * throws E_DEVICE saying why.
   * @example const x = randn([64, 1, 28, 28]).to('cuda'); const y = model.forward(x).to('cpu');
   */
  to(device: Device | `cuda:${number}` | string): Tensor<D> {
    return ops.toDevice(this, device);
  }

  /** `to('cuda')`. */
  cuda(): Tensor<D> {
    return this.to('cuda');
  }

  /** `to('cpu')`. */
  cpu(): Tensor<D> {
    return this.to('cpu');
  }

  // ---- ops as methods (see lib/ops.ts for each one's documentation) -------------------
  add(other: Tensor | number): Tensor<'float32'> { return ops.add(this, other); }
  sub(other: Tensor | number): Tensor<'float32'> { return ops.sub(this, other); }
  mul(other: Tensor | number): Tensor<'float32'> { return ops.mul(this, other); }
  div(other: Tensor | number): Tensor<'float32'> { return ops.div(this, other); }
  pow(exponent: Tensor | number): Tensor<'float32'> { return ops.pow(this, exponent); }
  maximum(other: Tensor | number): Tensor<'float32'> { return ops.maximum(this, other); }
  minimum(other: Tensor | number): Tensor<'float32'> { return ops.minimum(this, other); }
  remainder(other: Tensor | number): Tensor<'float32'> { return ops.remainder(this, other); }
  fmod(other: Tensor | number): Tensor<'float32'> { return ops.fmod(this, other); }
  atan2(other: Tensor | number): Tensor<'float32'> { return ops.atan2(this, other); }
  neg(): Tensor<'float32'> { return ops.neg(this); }
  abs(): Tensor<'float32'> { return ops.abs(this); }
  exp(): Tensor<'float32'> { return ops.exp(this); }
  log(): Tensor<'float32'> { return ops.log(this); }
  sqrt(): Tensor<'float32'> { return ops.sqrt(this); }
  square(): Tensor<'float32'> { return ops.square(this); }
  scale(alpha: number, beta = 0): Tensor<'float32'> { return ops.scale(this, alpha, beta); }
  reciprocal(): Tensor<'float32'> { return ops.reciprocal(this); }
  sign(): Tensor<'float32'> { return ops.sign(this); }
  floor(): Tensor<'float32'> { return ops.floor(this); }
  ceil(): Tensor<'float32'> { return ops.ceil(this); }
  /** erf(x) elementwise. */
  erf(): Tensor<'float32'> { return ops.erf(this); }
  sin(): Tensor<'float32'> { return ops.sin(this); }
  cos(): Tensor<'float32'> { return ops.cos(this); }
  tan(): Tensor<'float32'> { return ops.tan(this); }
  atan(): Tensor<'float32'> { return ops.atan(this); }
  log1p(): Tensor<'float32'> { return ops.log1p(this); }
  expm1(): Tensor<'float32'> { return ops.expm1(this); }
  log2(): Tensor<'float32'> { return ops.log2(this); }
  log10(): Tensor<'float32'> { return ops.log10(this); }
  rsqrt(): Tensor<'float32'> { return ops.rsqrt(this); }
  round(): Tensor<'float32'> { return ops.round(this); }
  trunc(): Tensor<'float32'> { return ops.trunc(this); }
  asin(): Tensor<'float32'> { return ops.asin(this); }
  acos(): Tensor<'float32'> { return ops.acos(this); }
  sinh(): Tensor<'float32'> { return ops.sinh(this); }
  cosh(): Tensor<'float32'> { return ops.cosh(this); }
  asinh(): Tensor<'float32'> { return ops.asinh(this); }
  acosh(): Tensor<'float32'> { return ops.acosh(this); }
  atanh(): Tensor<'float32'> { return ops.atanh(this); }
  erfc(): Tensor<'float32'> { return ops.erfc(this); }
  erfinv(): Tensor<'float32'> { return ops.erfinv(this); }
  exp2(): Tensor<'float32'> { return ops.exp2(this); }
  lgamma(): Tensor<'float32'> { return ops.lgamma(this); }
  digamma(): Tensor<'float32'> { return ops.digamma(this); }
  /** `x.polygamma(n)` = polygamma(n, x), as torch.Tensor.polygamma. */
  polygamma(n: number): Tensor<'float32'> { return ops.polygamma(n, this); }
  relu(): Tensor<'float32'> { return activation.relu(this); }
  sigmoid(): Tensor<'float32'> { return activation.sigmoid(this); }
  tanh(): Tensor<'float32'> { return activation.tanh(this); }
  softmax(dim: number): Tensor<'float32'> { return layers.softmax(this, dim); }
  logSoftmax(dim: number): Tensor<'float32'> { return layers.logSoftmax(this, dim); }
  clamp(min?: Tensor | number | null, max?: Tensor | number | null): Tensor<D> { return ops.clamp(this, min, max); }
  // Reductions keep an int32 tensor int32 (sum, max, min); see ops.sum.
  sum(this: Tensor<'int32'>, axis?: number | readonly number[], keepdim?: boolean): Tensor<'int32'>;
  sum(axis?: number | readonly number[], keepdim?: boolean): Tensor<'float32'>;
  sum(axis?: number | readonly number[], keepdim = false): Tensor { return ops.sum(this as Tensor, axis, keepdim); }
  mean(axis?: number | readonly number[], keepdim = false): Tensor<'float32'> { return ops.mean(this, axis, keepdim); }
  max(this: Tensor<'int32'>, axis?: number | readonly number[], keepdim?: boolean): Tensor<'int32'>;
  max(axis?: number | readonly number[], keepdim?: boolean): Tensor<'float32'>;
  max(axis?: number | readonly number[], keepdim = false): Tensor { return ops.max(this as Tensor, axis, keepdim); }
  min(this: Tensor<'int32'>, axis?: number | readonly number[], keepdim?: boolean): Tensor<'int32'>;
  min(axis?: number | readonly number[], keepdim?: boolean): Tensor<'float32'>;
  min(axis?: number | readonly number[], keepdim = false): Tensor { return ops.min(this as Tensor, axis, keepdim); }
  /** Variance (unbiased by default, as torch.var); see ops.variance. */
  var(dim?: number | readonly number[], options?: ops.VarOptions): Tensor<'float32'> { return ops.variance(this, dim, options); }
  std(dim?: number | readonly number[], options?: ops.VarOptions): Tensor<'float32'> { return ops.std(this, dim, options); }
  argmax(axis?: number, keepdim = false): Tensor<'int32'> { return ops.argmax(this, axis, keepdim); }
  argmin(axis?: number, keepdim = false): Tensor<'int32'> { return ops.argmin(this, axis, keepdim); }
  // Comparisons: float32 1/0 masks (PyTorch returns bool); see ops.eq.
  eq(other: Tensor | number): Tensor<'float32'> { return ops.eq(this, other); }
  ne(other: Tensor | number): Tensor<'float32'> { return ops.ne(this, other); }
  lt(other: Tensor | number): Tensor<'float32'> { return ops.lt(this, other); }
  le(other: Tensor | number): Tensor<'float32'> { return ops.le(this, other); }
  gt(other: Tensor | number): Tensor<'float32'> { return ops.gt(this, other); }
  ge(other: Tensor | number): Tensor<'float32'> { return ops.ge(this, other); }
  /** `x.where(cond, other)` = `where(cond, x, other)`, as PyTorch's Tensor.where. */
  where(cond: Tensor, other: Tensor | number): Tensor<D> { return ops.where(cond, this as Tensor, other as Tensor) as unknown as Tensor<D>; }
  expand(shape: readonly number[]): Tensor<D> { return ops.expand(this, shape); }
  split(splitSizeOrSections: number | readonly number[], dim = 0): Tensor<D>[] { return ops.split(this, splitSizeOrSections, dim); }
  chunk(chunks: number, dim = 0): Tensor<D>[] { return ops.chunk(this, chunks, dim); }
  matmul(other: Tensor): Tensor<'float32'> { return ops.matmul(this, other); }
  reshape(shape: readonly number[]): Tensor<D> { return ops.reshape(this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor<D> { return ops.flatten(this, startDim, endDim); }
  transpose(dim0 = -2, dim1 = -1): Tensor<D> { return ops.transpose(this, dim0, dim1); }
  permute(perm: readonly number[]): Tensor<D> { return ops.permute(this, perm); }
  slice(begin: readonly number[], size?: readonly number[]): Tensor<D> { return ops.slice(this, begin, size); }
  narrow(dim: number, start: number, length: number): Tensor<D> { return ops.narrow(this, dim, start, length); }
  indexSelect(dim: number, index: Tensor<'int32'>): Tensor<D> { return ops.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor<'int32'>): Tensor<D> { return ops.gather(this, dim, index); }
  indexAdd(dim: number, index: Tensor<'int32'>, src: Tensor): Tensor<'float32'> { return ops.indexAdd(this, dim, index, src); }
  scatterAdd(dim: number, index: Tensor<'int32'>, src: Tensor): Tensor<'float32'> { return ops.scatterAdd(this, dim, index, src); }
  cumsum(dim: number): Tensor<D> { return ops.cumsum(this, dim); }
  cumprod(dim: number): Tensor<'float32'> { return ops.cumprod(this, dim); }
  prod(dim?: number, keepdim = false): Tensor<'float32'> { return ops.prod(this, dim, keepdim); }
  cummax(dim: number): sorting.SortResult<D> { return ops.cummax(this as Tensor<D>, dim); }
  cummin(dim: number): sorting.SortResult<D> { return ops.cummin(this as Tensor<D>, dim); }
  /** The k largest (or smallest) along a dim, sorted: `{ values, indices }`; see sorting.topk. */
  topk(k: number, options?: sorting.TopkOptions): sorting.SortResult<D> { return sorting.topk(this, k, options); }
  /** Sorted along a dim (stable): `{ values, indices }`; see sorting.sort. */
  sort(options?: sorting.SortOptions): sorting.SortResult<D> { return sorting.sort(this, options); }
  argsort(options?: sorting.SortOptions): Tensor<'int32'> { return sorting.argsort(this, options); }
  squeeze(dim?: number): Tensor<D> { return ops.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor<D> { return ops.unsqueeze(this, dim); }
  toType<T extends DType>(dtype: T): Tensor<T> { return ops.cast(this, dtype); }
  // PyTorch's spellings of the above, for code ported from it.
  /** As torch.Tensor.view: every tensor here is contiguous, so a view is `reshape`. */
  view(shape: readonly number[]): Tensor<D> { return ops.reshape(this, shape); }
  /** As torch.Tensor.t: a 2-D tensor transposed, a 0-D or 1-D one itself; E_SHAPE above 2-D. */
  t(): Tensor<D> {
    if (this.rank > 2) fail('E_SHAPE', `t: expected a tensor of at most 2 dimensions, got ${this.rank} (shape [${this.shape.join(', ')}]); use transpose(dim0, dim1)`);
    return this.rank === 2 ? ops.transpose(this, 0, 1) : ops.reshape(this, this.shape);
  }
  /** The number of elements (`size`), as torch.Tensor.numel. */
  numel(): number { return this.size; }
  /** The number of dimensions (`rank`), as torch.Tensor.dim. */
  dim(): number { return this.rank; }
  /** `value` where mask is nonzero, x elsewhere, as torch.Tensor.masked_fill: `where(mask, value, x)`. */
  maskedFill(mask: Tensor, value: number): Tensor<D> { return ops.where(mask, value, this as Tensor) as unknown as Tensor<D>; }
  /** A float32 copy (this tensor itself when already float32), as torch.Tensor.float. */
  float(): Tensor<'float32'> { return (this.dtype === 'float32' ? this : ops.cast(this, 'float32')) as Tensor<'float32'>; }
  /** An int32 copy, truncated toward zero (this tensor itself when already int32), as torch.Tensor.int. */
  int(): Tensor<'int32'> { return (this.dtype === 'int32' ? this : ops.cast(this, 'int32')) as Tensor<'int32'>; }
  clone(): Tensor<D> { return ops.clone(this); }
  // Composed ops (lib/composite.ts).
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor<'float32'> { return composite.logsumexp(this, dim, keepdim); }
  norm(options?: composite.NormOptions): Tensor<'float32'> { return composite.norm(this, options); }
  flip(dims: number | readonly number[]): Tensor<D> { return composite.flip(this as Tensor<D>, dims); }
  repeat(repeats: readonly number[]): Tensor<D> { return composite.repeat(this as Tensor<D>, repeats); }
  isnan(): Tensor<'float32'> { return composite.isnan(this); }
  isinf(): Tensor<'float32'> { return composite.isinf(this); }
  isfinite(): Tensor<'float32'> { return composite.isfinite(this); }
  any(dim?: number | readonly number[], keepdim = false): Tensor<'float32'> { return composite.any(this, dim, keepdim); }
  all(dim?: number | readonly number[], keepdim = false): Tensor<'float32'> { return composite.all(this, dim, keepdim); }
  isclose(other: Tensor, options?: composite.CloseOptions): Tensor<'float32'> { return composite.isclose(this, other, options); }
  allclose(other: Tensor, options?: composite.CloseOptions): boolean { return composite.allclose(this, other, options); }
  nonzero(): Tensor<'int32'> { return composite.nonzero(this); }
  maskedSelect(mask: Tensor): Tensor<D> { return composite.maskedSelect(this as Tensor<D>, mask); }
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor<D> { return composite.roll(this as Tensor<D>, shifts, dims); }
  tril(diagonal = 0): Tensor<D> { return composite.tril(this as Tensor<D>, diagonal); }
  triu(diagonal = 0): Tensor<D> { return composite.triu(this as Tensor<D>, diagonal); }
  // Order statistics (lib/statistics.ts), counting (lib/counting.ts), matrices (lib/matrices.ts).
  /** The lower median: of all entries (0-D) without `dim`, else `{ values, indices }` per line; see statistics.median. */
  median(): Tensor<D>;
  median(dim: number, keepdim?: boolean): sorting.SortResult<D>;
  median(dim?: number, keepdim = false): Tensor<D> | sorting.SortResult<D> {
    return dim === undefined ? statistics.median(this as Tensor<D>) : statistics.median(this as Tensor<D>, dim, keepdim);
  }
  /** As `median`, NaNs left out; see statistics.nanmedian. */
  nanmedian(): Tensor<D>;
  nanmedian(dim: number, keepdim?: boolean): sorting.SortResult<D>;
  nanmedian(dim?: number, keepdim = false): Tensor<D> | sorting.SortResult<D> {
    return dim === undefined ? statistics.nanmedian(this as Tensor<D>) : statistics.nanmedian(this as Tensor<D>, dim, keepdim);
  }
  kthvalue(k: number, dim = -1, keepdim = false): sorting.SortResult<D> { return statistics.kthvalue(this as Tensor<D>, k, dim, keepdim); }
  mode(dim = -1, keepdim = false): sorting.SortResult<D> { return statistics.mode(this as Tensor<D>, dim, keepdim); }
  quantile(q: number | readonly number[] | Tensor, options?: statistics.QuantileOptions): Tensor<'float32'> { return statistics.quantile(this, q, options); }
  nanquantile(q: number | readonly number[] | Tensor, options?: statistics.QuantileOptions): Tensor<'float32'> { return statistics.nanquantile(this, q, options); }
  /** The distinct values, sorted (with the inverse map and counts when asked); see counting.unique. */
  unique(options?: counting.UniqueOptions): Tensor<D> | counting.UniqueResult<D> { return counting.unique(this as Tensor<D>, options); }
  /** Each run of equal consecutive values collapsed into one; see counting.uniqueConsecutive. */
  uniqueConsecutive(options?: counting.UniqueConsecutiveOptions): Tensor<D> | counting.UniqueResult<D> { return counting.uniqueConsecutive(this as Tensor<D>, options); }
  /** Counts (or sums of weights) of each value of a 1-D int32 tensor; see counting.bincount. */
  bincount(options?: counting.BincountOptions): Tensor { return counting.bincount(this as unknown as Tensor<'int32'>, options); }
  histc(options?: counting.HistcOptions): Tensor<'float32'> { return counting.histc(this, options); }
  diag(offset = 0): Tensor<D> { return matrices.diag(this as Tensor<D>, offset); }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor<D> { return matrices.diagonal(this as Tensor<D>, offset, dim1, dim2); }
  trace(): Tensor<D> { return matrices.trace(this as Tensor<D>); }
  outer(other: Tensor): Tensor<'float32'> { return matrices.outer(this, other); }
  bmm(other: Tensor): Tensor<'float32'> { return matrices.bmm(this, other); }
  // In-place writes (lib/inplace.ts: the rules on graphs and leaves), indexing (lib/indexing.ts), sampling (lib/sampling.ts).
  copy_(src: Tensor): this { return inplace.copy_(this, src); }
  fill_(value: number | Tensor): this { return inplace.fill_(this, value); }
  zero_(): this { return inplace.zero_(this); }
  add_(other: Tensor | number, options?: inplace.AlphaOptions): this { return inplace.add_(this, other, options); }
  sub_(other: Tensor | number, options?: inplace.AlphaOptions): this { return inplace.sub_(this, other, options); }
  mul_(other: Tensor | number): this { return inplace.mul_(this, other); }
  div_(other: Tensor | number): this { return inplace.div_(this, other); }
  clamp_(min?: Tensor | number | null, max?: Tensor | number | null): this { return inplace.clamp_(this, min, max); }
  clip_(min?: Tensor | number | null, max?: Tensor | number | null): this { return inplace.clamp_(this, min, max); }
  uniform_(low = 0, high = 1): this { return inplace.uniform_(this, low, high); }
  normal_(mean = 0, std = 1): this { return inplace.normal_(this, mean, std); }
  bernoulli_(p: number | Tensor = 0.5): this { return inplace.bernoulli_(this, p); }
  scatter(dim: number, index: Tensor<'int32'>, src: Tensor | number): Tensor<D> { return indexing.scatter(this as Tensor<D>, dim, index, src); }
  scatterReduce(dim: number, index: Tensor<'int32'>, src: Tensor, reduce: indexing.ScatterReduce, options?: indexing.ScatterReduceOptions): Tensor<D> {
    return indexing.scatterReduce(this as Tensor<D>, dim, index, src, reduce, options);
  }
  indexFill(dim: number, index: Tensor<'int32'>, value: number | Tensor): Tensor<D> { return indexing.indexFill(this as Tensor<D>, dim, index, value); }
  indexCopy(dim: number, index: Tensor<'int32'>, src: Tensor): Tensor<D> { return indexing.indexCopy(this as Tensor<D>, dim, index, src); }
  indexPut(indices: readonly Tensor<'int32'>[], values: Tensor | number, options?: indexing.IndexPutOptions): Tensor<D> { return indexing.indexPut(this as Tensor<D>, indices, values, options); }
  maskedScatter(mask: Tensor, source: Tensor): Tensor<D> { return indexing.maskedScatter(this as Tensor<D>, mask, source); }
  take(index: Tensor<'int32'>): Tensor<D> { return indexing.take(this as Tensor<D>, index); }
  unbind(dim = 0): Tensor<D>[] { return indexing.unbind(this as Tensor<D>, dim); }
  tensorSplit(sectionsOrIndices: number | readonly number[] | Tensor<'int32'>, dim = 0): Tensor<D>[] { return indexing.tensorSplit(this as Tensor<D>, sectionsOrIndices, dim); }
  hsplit(sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] { return indexing.hsplit(this as Tensor<D>, sectionsOrIndices); }
  vsplit(sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] { return indexing.vsplit(this as Tensor<D>, sectionsOrIndices); }
  dsplit(sectionsOrIndices: number | readonly number[] | Tensor<'int32'>): Tensor<D>[] { return indexing.dsplit(this as Tensor<D>, sectionsOrIndices); }
  flipud(): Tensor<D> { return indexing.flipud(this as Tensor<D>); }
  fliplr(): Tensor<D> { return indexing.fliplr(this as Tensor<D>); }
  expandAs(other: Tensor): Tensor<D> { return indexing.expandAs(this as Tensor<D>, other); }
  /** As torch.Tensor.view_as: every tensor here is contiguous, so a view is `reshapeAs`. */
  viewAs(other: Tensor): Tensor<D> { return indexing.reshapeAs(this as Tensor<D>, other); }
  reshapeAs(other: Tensor): Tensor<D> { return indexing.reshapeAs(this as Tensor<D>, other); }
  typeAs<T extends DType>(other: Tensor<T>): Tensor<T> { return indexing.typeAs(this, other); }
  isposinf(): Tensor<'float32'> { return indexing.isposinf(this); }
  isneginf(): Tensor<'float32'> { return indexing.isneginf(this); }
  equal(other: Tensor): boolean { return indexing.equal(this, other); }
  logicalAnd(other: Tensor): Tensor<'float32'> { return indexing.logicalAnd(this, other); }
  logicalOr(other: Tensor): Tensor<'float32'> { return indexing.logicalOr(this, other); }
  logicalXor(other: Tensor): Tensor<'float32'> { return indexing.logicalXor(this, other); }
  logicalNot(): Tensor<'float32'> { return indexing.logicalNot(this); }
  clip(min?: Tensor | number | null, max?: Tensor | number | null): Tensor<D> { return indexing.clip(this as Tensor<D>, min, max); }
  multinomial(numSamples: number, options?: sampling.MultinomialOptions): Tensor<'int32'> { return sampling.multinomial(this, numSamples, options); }
  // Pointwise maths and NaN-aware reductions (lib/pointwise.ts), rearranging and combining (lib/shapes.ts).
  logaddexp(other: Tensor | number): Tensor<'float32'> { return pointwise.logaddexp(this, other); }
  logaddexp2(other: Tensor | number): Tensor<'float32'> { return pointwise.logaddexp2(this, other); }
  logit(eps?: number | null): Tensor<'float32'> { return pointwise.logit(this, eps); }
  xlogy(other: Tensor | number): Tensor<'float32'> { return pointwise.xlogy(this, other); }
  hypot(other: Tensor | number): Tensor<'float32'> { return pointwise.hypot(this, other); }
  lerp(end: Tensor, weight: Tensor | number): Tensor<'float32'> { return pointwise.lerp(this, end, weight); }
  addcmul(tensor1: Tensor, tensor2: Tensor, options?: pointwise.AddcOptions): Tensor<'float32'> { return pointwise.addcmul(this, tensor1, tensor2, options); }
  addcdiv(tensor1: Tensor, tensor2: Tensor, options?: pointwise.AddcOptions): Tensor<'float32'> { return pointwise.addcdiv(this, tensor1, tensor2, options); }
  frac(): Tensor<'float32'> { return pointwise.frac(this); }
  sinc(): Tensor<'float32'> { return pointwise.sinc(this); }
  deg2rad(): Tensor<'float32'> { return pointwise.deg2rad(this); }
  rad2deg(): Tensor<'float32'> { return pointwise.rad2deg(this); }
  heaviside(values: Tensor | number): Tensor<'float32'> { return pointwise.heaviside(this, values); }
  copysign(other: Tensor | number): Tensor<'float32'> { return pointwise.copysign(this, other); }
  signbit(): Tensor<'float32'> { return pointwise.signbit(this); }
  nanToNum(options?: pointwise.NanToNumOptions): Tensor<D> { return pointwise.nanToNum(this as Tensor<D>, options); }
  nansum(this: Tensor<'int32'>, dim?: number | readonly number[] | null, keepdim?: boolean): Tensor<'int32'>;
  nansum(dim?: number | readonly number[] | null, keepdim?: boolean): Tensor<'float32'>;
  nansum(dim?: number | readonly number[] | null, keepdim = false): Tensor { return pointwise.nansum(this as Tensor, dim, keepdim); }
  nanmean(dim?: number | readonly number[] | null, keepdim = false): Tensor<'float32'> { return pointwise.nanmean(this, dim, keepdim); }
  countNonzero(dim?: number | readonly number[] | null): Tensor<'int32'> { return pointwise.countNonzero(this, dim); }
  amax(dim?: number | readonly number[] | null, keepdim = false): Tensor<D> { return pointwise.amax(this as Tensor<D>, dim, keepdim); }
  amin(dim?: number | readonly number[] | null, keepdim = false): Tensor<D> { return pointwise.amin(this as Tensor<D>, dim, keepdim); }
  aminmax(options?: pointwise.AminmaxOptions): pointwise.AminmaxResult<D> { return pointwise.aminmax(this as Tensor<D>, options); }
  tile(dims: number | readonly number[]): Tensor<D> { return shapes.tile(this as Tensor<D>, dims); }
  movedim(source: number | readonly number[], destination: number | readonly number[]): Tensor<D> { return shapes.movedim(this as Tensor<D>, source, destination); }
  swapaxes(axis0: number, axis1: number): Tensor<D> { return shapes.swapaxes(this as Tensor<D>, axis0, axis1); }
  unflatten(dim: number, sizes: readonly number[]): Tensor<D> { return shapes.unflatten(this as Tensor<D>, dim, sizes); }
  rot90(k = 1, dims: readonly number[] = [0, 1]): Tensor<D> { return shapes.rot90(this as Tensor<D>, k, dims); }
  diff(options?: shapes.DiffOptions): Tensor<'float32'> { return shapes.diff(this, options); }
  takeAlongDim(indices: Tensor<'int32'>, dim?: number | null): Tensor<D> { return shapes.takeAlongDim(this as Tensor<D>, indices, dim); }
  /** The cross product along `dim` (default -1, as torch.linalg.cross); see shapes.cross. */
  cross(other: Tensor, dim = -1): Tensor<'float32'> { return shapes.cross(this, other, dim); }
  kron(other: Tensor): Tensor<'float32'> { return shapes.kron(this, other); }
  cov(options?: shapes.CovOptions): Tensor<'float32'> { return shapes.cov(this, options); }
  corrcoef(): Tensor<'float32'> { return shapes.corrcoef(this); }
  logcumsumexp(dim: number): Tensor<'float32'> { return shapes.logcumsumexp(this, dim); }
}

function nest(values: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return values[0];
  // Rows of the last axis filled by a plain loop into arrays of their final length (a push per
  // number, a closure per row and a shape slice per call made 1M values take ~65 ms).
  const strides = shape.map((_, axis) => sizeOf(shape.slice(axis + 1)));
  const last = shape.length - 1;
  const build = (axis: number, offset: number): NestedArray[] => {
    const n = shape[axis];
    const out: NestedArray[] = new Array(n);
    if (axis === last) for (let i = 0; i < n; i++) out[i] = values[offset + i];
    else for (let i = 0; i < n; i++) out[i] = build(axis + 1, offset + i * strides[axis]);
    return out;
  };
  return build(0, 0);
}
