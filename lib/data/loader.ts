/**
 * `DataLoader`: batches of a data set as tensors, with seeded shuffling, seeded augmentation
 * and normalisation, assembling the next batch ahead.
 *
 * Reproducibility: the k-th pass over a loader (k = 0, 1, …; or the one `setEpoch(k)` names)
 * visits the samples in an order that depends only on `seed` and k (a Fisher–Yates shuffle
 * drawing from Philox-4x32-10 with key = seed, counter = (0, block, k, 0)), and the
 * augmentation of the sample at position j of that pass draws from counter (j, block, k, 1).
 * So the same seed gives the same batches, pass after pass, on every machine, whatever the
 * batch size does to the grouping.
 *
 * Overlap: the batch is assembled in JavaScript typed arrays (gather, augment, normalise),
 * then copied into two tensors. After handing out batch k the loader schedules the assembly of
 * batch k + 1 with `setImmediate`: while the consumer's training step runs on the native queue
 * and the consumer awaits it (`await loss.data()`, or any await in a `for await` loop), the
 * event loop assembles the next batch. A consumer that never yields to the event loop gets
 * the batch assembled at its `next()` call instead, which still overlaps with the native work
 * it queued before (ops return at once). One set of typed arrays is reused for every batch.
 *
 * Ownership: each batch's `x` and `y` are new tensors that belong to the consumer: dispose them
 * (or let a `tidy` around the step do it) when the step is done.
 */
import { tensor } from '../creation';
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions, checkShape, describe, shapeStr, sizeOf } from '../validate';
import type { Dataset } from './dataset';
import { PhiloxStream } from './philox';

export interface AugmentOptions {
  /** Shift by up to this many pixels in each direction (uniform integers), filling with 0. */
  randomShift?: number;
  /** Pad by `padding` (zeros) then crop `size` (or [height, width]) at a random place, as torchvision's RandomCrop. */
  randomCrop?: { size: number | [number, number]; padding?: number };
  /** Mirror left-right with this probability. */
  horizontalFlip?: number;
}

export interface DataLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Visit the samples in a seeded random order, different each pass (default false). */
  shuffle?: boolean;
  /** The seed of the shuffling and of the augmentation (default 0). */
  seed?: number;
  /** Leave out the last batch when it is smaller than batchSize (PyTorch's drop_last; default false). */
  dropLast?: boolean;
  /** (x - mean[c]) / std[c] per channel (samples [C, H, W]), or with one number for every value. */
  normalize?: { mean: number | readonly number[]; std: number | readonly number[] };
  /** Seeded augmentation of samples [C, H, W], in this order: randomCrop, randomShift, horizontalFlip; before `normalize`. */
  augment?: AugmentOptions;
  /**
   * Your own per-sample step, run last (after augmentation and normalisation) on the sample's
   * values in place; `random()` is uniform on [0, 1), seeded like the augmentation.
   */
  transform?: (x: Float32Array, shape: readonly number[], random: () => number) => void;
}

/** One batch: `x` [B, ...shape] float32, `y` [B] int32 (both the consumer's to dispose), and the samples' indices. */
export interface Batch {
  x: Tensor<'float32'>;
  y: Tensor<'int32'>;
  indices: Int32Array;
}

/** Plans made by DataLoader constructors: a BatchIterator is only made from one of these. */
const PLANS = new WeakSet<Plan>();

interface Plan {
  inShape: readonly number[];
  outShape: number[];
  crop: { h: number; w: number; padding: number } | null;
  shift: number;
  flip: number;
  mean: Float64Array | null;
  std: Float64Array | null;
}

const MAX_BATCH_VALUES = 2 ** 31 - 1;
const OPTION_KEYS = ['batchSize', 'shuffle', 'seed', 'dropLast', 'normalize', 'augment', 'transform'];

/**
 * Iterates a data set in batches.
 *
 * @example
 * const loader = new data.DataLoader(data.mnist(), {
 *   batchSize: 64, shuffle: true, seed: 1, normalize: { mean: 0.1307, std: 0.3081 },
 *   augment: { randomCrop: { size: 28, padding: 2 } },
 * });
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   for await (const { x, y } of loader) {
 *     const loss = tidy(() => { const l = F.crossEntropy(model.forward(x), y); l.backward(); return l; });
 *     opt.step(); opt.zeroGrad();
 *     console.log(await loss.data());
 *     x.dispose(); y.dispose(); loss.dispose();
 *   }
 * }
 */
export class DataLoader implements Iterable<Batch>, AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The shape of one sample in a batch (after cropping). */
  readonly sampleShape: readonly number[];
  readonly #plan: Plan;
  readonly #transform: DataLoaderOptions['transform'];
  #epoch = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const op = 'DataLoader';
    if (typeof dataset !== 'object' || dataset === null || typeof dataset.get !== 'function' || !Number.isSafeInteger(dataset.length) || !Array.isArray(dataset.sampleShape)) {
      fail('E_ARG', `${op}: expected a data set with length, sampleShape and get(i), got ${describe(dataset)}`);
    }
    if (dataset.length < 0) fail('E_ARG', `${op}: expected the data set's length >= 0, got ${dataset.length}`);
    const sampleShape = checkShape(op, 'sampleShape', dataset.sampleShape);
    options = checkOptions<DataLoaderOptions>(op, options, OPTION_KEYS);
    this.dataset = dataset;
    this.batchSize = checkInt(op, 'batchSize', options.batchSize ?? 1, 1);
    // One batch is one Float32Array: past 2**31 - 1 values it cannot be made (a RangeError).
    const batchValues = sizeOf(sampleShape) * Math.min(this.batchSize, Math.max(dataset.length, 1));
    if (!(batchValues <= MAX_BATCH_VALUES)) {
      fail('E_SHAPE', `${op}: samples of shape ${shapeStr(sampleShape)} in batches of ${this.batchSize} make ${batchValues} values, more than a batch can hold (${MAX_BATCH_VALUES})`);
    }
    this.shuffle = checkBool(op, 'shuffle', options.shuffle ?? false);
    this.seed = checkInt(op, 'seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
    this.dropLast = checkBool(op, 'dropLast', options.dropLast ?? false);
    if (options.transform !== undefined && typeof options.transform !== 'function') fail('E_ARG', `${op}: expected \`transform\` to be a function, got ${describe(options.transform)}`);
    this.#transform = options.transform;
    this.#plan = makePlan(op, sampleShape, options);
    PLANS.add(this.#plan);
    this.sampleShape = Object.freeze(this.#plan.outShape.slice());
  }

  /** The number of batches in a pass. @example for (let i = 0; i < loader.length; i++) … */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The pass the next iteration will make (0 at first; each iteration moves it on). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Makes the next iteration pass number `epoch` (to resume a run, or to repeat a pass). @example loader.setEpoch(5) */
  setEpoch(epoch: number): void {
    this.#epoch = checkInt('DataLoader.setEpoch', 'epoch', epoch, 0, 0xffffffff);
  }

  /** The order of the samples in pass `epoch`: a permutation of 0 … N-1 (the identity without shuffle). */
  order(epoch: number): Int32Array {
    checkInt('DataLoader.order', 'epoch', epoch, 0, 0xffffffff);
    const n = this.dataset.length;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) {
      const random = new PhiloxStream(this.seed, 0, epoch, 0);
      for (let i = n - 1; i > 0; i--) {
        const j = random.below(i + 1);
        const t = order[i]; order[i] = order[j]; order[j] = t;
      }
    }
    return order;
  }

  /** A pass over the data set, batch by batch (the next epoch). @example for (const { x, y } of loader) { … } */
  [Symbol.iterator](): BatchIterator {
    return new BatchIterator(this, this.#epoch++, this.#plan, this.#transform);
  }

  /** The same pass, for `for await`. @example for await (const { x, y } of loader) { … } */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    const it = this[Symbol.iterator]();
    return {
      next: async () => it.next(),
      return: async () => it.return(),
    };
  }
}

function perChannel(op: string, name: string, value: unknown, channels: number | null): Float64Array {
  if (typeof value === 'number') return Float64Array.of(checkNumber(op, name, value));
  if (!Array.isArray(value) || value.length === 0) fail('E_ARG', `${op}: expected \`${name}\` to be a number or one number per channel, got ${describe(value)}`);
  if (value.length !== 1 && value.length !== channels) {
    fail('E_ARG', `${op}: expected \`${name}\` to have one value per channel (${channels ?? 'samples [C, H, W]'}), got ${value.length}`);
  }
  return Float64Array.from(value, (v, i) => checkNumber(op, `${name}[${i}]`, v));
}

function makePlan(op: string, inShape: readonly number[], options: DataLoaderOptions): Plan {
  const image = inShape.length === 3;
  const plan: Plan = { inShape: inShape.slice(), outShape: inShape.slice(), crop: null, shift: 0, flip: 0, mean: null, std: null };
  const augment = options.augment;
  if (augment !== undefined) {
    if (typeof augment !== 'object' || augment === null) fail('E_ARG', `${op}: expected \`augment\` to be an object, got ${describe(augment)}`);
    for (const key of Object.keys(augment)) {
      if (!['randomShift', 'randomCrop', 'horizontalFlip'].includes(key)) fail('E_ARG', `${op}: unknown augmentation \`${key}\`; expected randomShift, randomCrop or horizontalFlip`);
    }
    if (!image && Object.keys(augment).length > 0) fail('E_SHAPE', `${op}: augmentation needs samples [C, H, W], got [${inShape.join(', ')}]`);
    if (augment.randomCrop !== undefined) {
      const c = augment.randomCrop;
      if (typeof c !== 'object' || c === null) fail('E_ARG', `${op}: expected \`randomCrop\` to be { size, padding }, got ${describe(c)}`);
      const [h, w] = typeof c.size === 'number' ? [c.size, c.size] : Array.isArray(c.size) && c.size.length === 2 ? c.size : fail('E_ARG', `${op}: expected \`randomCrop.size\` to be a size or [height, width], got ${describe(c.size)}`);
      const padding = checkInt(op, 'randomCrop.padding', c.padding ?? 0, 0);
      checkInt(op, 'randomCrop.size', h, 1, inShape[1] + 2 * padding);
      checkInt(op, 'randomCrop.size', w, 1, inShape[2] + 2 * padding);
      plan.crop = { h, w, padding };
      plan.outShape = [inShape[0], h, w];
    }
    plan.shift = checkInt(op, 'randomShift', augment.randomShift ?? 0, 0);
    plan.flip = checkNumber(op, 'horizontalFlip', augment.horizontalFlip ?? 0);
    if (plan.flip < 0 || plan.flip > 1) fail('E_ARG', `${op}: expected \`horizontalFlip\` to be a probability in [0, 1], got ${plan.flip}`);
  }
  if (options.normalize !== undefined) {
    const nz = options.normalize;
    if (typeof nz !== 'object' || nz === null) fail('E_ARG', `${op}: expected \`normalize\` to be { mean, std }, got ${describe(nz)}`);
    const channels = image ? inShape[0] : null;
    plan.mean = perChannel(op, 'normalize.mean', nz.mean, channels);
    plan.std = perChannel(op, 'normalize.std', nz.std, channels);
    if (plan.std.some((s) => !(s > 0))) fail('E_ARG', `${op}: expected \`normalize.std\` > 0, got ${describe(Array.from(plan.std))}`);
  }
  return plan;
}

/** One pass over a loader; see `DataLoader` for what overlaps with what. */
export class BatchIterator implements IterableIterator<Batch> {
  readonly #loader: DataLoader;
  readonly #epoch: number;
  readonly #plan: Plan;
  readonly #transform: DataLoaderOptions['transform'];
  readonly #order: Int32Array;
  readonly #batches: number;
  readonly #inSize: number;
  readonly #outSize: number;
  readonly #x: Float32Array;
  readonly #y: Int32Array;
  #next = 0;
  /** The batch whose values the typed arrays hold, or -1. */
  #filled = -1;
  #pending: NodeJS.Immediate | null = null;

  /** @internal Made by iterating a DataLoader (`for (const { x, y } of loader)`), not with `new`. */
  constructor(loader: DataLoader, epoch: number, plan: Plan, transform: DataLoaderOptions['transform']) {
    // Exported for its type; a direct `new` with anything but what DataLoader passes used to
    // fail deep inside (\`loader.order is not a function\`).
    if (!(loader instanceof DataLoader) || !PLANS.has(plan) || (transform !== undefined && typeof transform !== 'function')) {
      fail('E_ARG', 'BatchIterator: made by iterating a DataLoader (for (const { x, y } of loader)), not with new');
    }
    checkInt('BatchIterator', 'epoch', epoch, 0);
    this.#loader = loader;
    this.#epoch = epoch;
    this.#plan = plan;
    this.#transform = transform;
    this.#order = loader.order(epoch);
    this.#batches = loader.length;
    this.#inSize = sizeOf(plan.inShape);
    this.#outSize = sizeOf(plan.outShape);
    const b = Math.min(loader.batchSize, loader.dataset.length);
    this.#x = new Float32Array(b * this.#outSize);
    this.#y = new Int32Array(b);
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** The next batch (its tensors are yours), or done at the end of the pass. */
  next(): IteratorResult<Batch> {
    this.#cancel();
    const b = this.#next;
    if (b >= this.#batches) return { done: true, value: undefined };
    if (this.#filled !== b) this.#fill(b);
    const count = this.#count(b);
    const start = b * this.#loader.batchSize;
    const batch: Batch = {
      x: tensor(this.#x.subarray(0, count * this.#outSize), { shape: [count, ...this.#plan.outShape] }),
      y: tensor(this.#y.subarray(0, count), { dtype: 'int32' }),
      indices: this.#order.slice(start, start + count),
    };
    this.#next = b + 1;
    // The tensors hold copies: the typed arrays are free for the next batch, assembled as soon
    // as the event loop is idle (while the consumer awaits its step).
    if (this.#next < this.#batches) {
      const upcoming = this.#next;
      this.#pending = setImmediate(() => {
        this.#pending = null;
        try {
          this.#fill(upcoming);
        } catch {
          // A bad sample or a throwing transform: next() fills again and throws at its call site.
        }
      });
    }
    return { done: false, value: batch };
  }

  /** Ends the pass early (`break` in a for loop calls this): cancels the batch being prepared. */
  return(): IteratorResult<Batch> {
    this.#cancel();
    this.#next = this.#batches;
    return { done: true, value: undefined };
  }

  #cancel(): void {
    if (this.#pending !== null) clearImmediate(this.#pending);
    this.#pending = null;
  }

  #count(b: number): number {
    return Math.min(this.#loader.batchSize, this.#loader.dataset.length - b * this.#loader.batchSize);
  }

  /** Gathers, augments and normalises batch b into the typed arrays. */
  #fill(b: number): void {
    const { dataset, batchSize, seed } = this.#loader;
    const plan = this.#plan;
    const count = this.#count(b);
    this.#filled = -1;
    for (let k = 0; k < count; k++) {
      const position = b * batchSize + k;
      const index = this.#order[position];
      const sample = dataset.get(index);
      if (!(sample?.x instanceof Float32Array) || sample.x.length !== this.#inSize) {
        fail('E_SHAPE', `DataLoader: sample ${index} should be a Float32Array of ${this.#inSize} values (shape [${plan.inShape.join(', ')}]), got ${describe(sample?.x)}`);
      }
      if (!Number.isInteger(sample.y) || sample.y < -2147483648 || sample.y > 2147483647) {
        fail('E_ARG', `DataLoader: the label of sample ${index} should be an int32 integer, got ${describe(sample.y)}`);
      }
      const out = this.#x.subarray(k * this.#outSize, (k + 1) * this.#outSize);
      const random = plan.crop || plan.shift || plan.flip || this.#transform ? new PhiloxStream(seed, position, this.#epoch, 1) : null;
      if (random === null) out.set(sample.x);
      else this.#augment(sample.x, out, random);
      if (plan.mean !== null) normalize(out, plan);
      if (this.#transform) this.#transform(out, plan.outShape, () => random!.uniform());
      this.#y[k] = sample.y;
    }
    this.#filled = b;
  }

  /** randomCrop, then randomShift, then horizontalFlip, as one gather: each output pixel finds its source. */
  #augment(src: Float32Array, out: Float32Array, random: PhiloxStream): void {
    const plan = this.#plan;
    if (plan.inShape.length !== 3) {
      out.set(src);
      return;
    }
    const [channels, inH, inW] = plan.inShape;
    const [, outH, outW] = plan.outShape;
    let top = 0, left = 0;
    if (plan.crop) {
      top = random.below(inH + 2 * plan.crop.padding - outH + 1) - plan.crop.padding;
      left = random.below(inW + 2 * plan.crop.padding - outW + 1) - plan.crop.padding;
    }
    let dy = 0, dx = 0;
    if (plan.shift) {
      dy = random.below(2 * plan.shift + 1) - plan.shift;
      dx = random.below(2 * plan.shift + 1) - plan.shift;
    }
    const flip = plan.flip > 0 && random.uniform() < plan.flip;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < outH; i++) {
        const si = i - dy;   // row in the cropped image
        const row = si + top;   // row in the source
        const inside = si >= 0 && si < outH && row >= 0 && row < inH;
        for (let j = 0; j < outW; j++) {
          const sj = (flip ? outW - 1 - j : j) - dx;
          const col = sj + left;
          out[(c * outH + i) * outW + j] = inside && sj >= 0 && sj < outW && col >= 0 && col < inW ? src[(c * inH + row) * inW + col] : 0;
        }
      }
    }
  }
}

function normalize(x: Float32Array, plan: Plan): void {
  const mean = plan.mean!, std = plan.std!;
  const perChannel = mean.length > 1 || std.length > 1;
  const plane = perChannel ? x.length / plan.outShape[0] : x.length;
  for (let i = 0; i < x.length; i++) {
    const c = perChannel ? Math.floor(i / plane) : 0;
    x[i] = (x[i] - mean[mean.length > 1 ? c : 0]) / std[std.length > 1 ? c : 0];
  }
}
