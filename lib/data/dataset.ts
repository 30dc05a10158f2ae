/** Data sets: what a `DataLoader` draws samples from. */
import { tensor } from '../creation';
import { keep } from '../engine';
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { MAX_RANK, describe, sizeOf } from '../validate';

/** One sample: its values (float32, the data set's `sampleShape`) and its integer label. */
export interface Sample {
  x: Float32Array;
  y: number;
}

/**
 * What a `DataLoader` needs: a length, the shape of one sample, and random access. `get(i)`
 * may return a view of the data set's memory: the loader copies it and never changes it.
 */
export interface Dataset {
  readonly length: number;
  readonly sampleShape: readonly number[];
  get(i: number): Sample;
}

/**
 * A data set held in two typed arrays: `x` with all the samples back to back (shape
 * [N, ...sampleShape]) and `y`, one integer label each. `images` and `labels` give them as
 * tensors (made at first use, owned by the data set: `dispose()` frees them).
 *
 * @example
 * const ds = new data.ArrayDataset(new Float32Array(4 * 3), [4, 3], new Int32Array([0, 1, 1, 0]));
 * ds.get(2)   // { x: Float32Array(3), y: 1 }
 */
export class ArrayDataset implements Dataset {
  readonly x: Float32Array;
  readonly y: Int32Array;
  /** [N, ...sampleShape]. */
  readonly shape: readonly number[];
  readonly sampleShape: readonly number[];
  readonly #sampleSize: number;
  #images: Tensor<'float32'> | null = null;
  #labels: Tensor<'int32'> | null = null;

  constructor(x: Float32Array, shape: readonly number[], y: Int32Array | readonly number[]) {
    const op = 'ArrayDataset';
    if (!(x instanceof Float32Array)) fail('E_ARG', `${op}: expected \`x\` to be a Float32Array, got ${describe(x)}`);
    if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_RANK || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail('E_ARG', `${op}: expected \`shape\` [N, ...sampleShape], got ${describe(shape)}`);
    }
    if (sizeOf(shape) !== x.length) fail('E_SHAPE', `${op}: ${x.length} values cannot fill shape [${shape.join(', ')}]`);
    // The count first: Int32Array.from would walk a 2**31-long (sparse or Proxy) array.
    if (Array.isArray(y) && y.length !== shape[0]) fail('E_SHAPE', `${op}: ${shape[0]} samples but ${y.length} labels`);
    // Each label a number before Int32Array.from, which threw a raw TypeError on a Symbol, a
    // BigInt or an Object.create(null), and a RangeError on a 2**31-long array. A plain loop, not
    // forEach or some, which skip the holes of a sparse array (Int32Array.from made them 0).
    if (Array.isArray(y)) {
      for (let i = 0; i < y.length; i++) if (typeof y[i] !== 'number') fail('E_ARG', `${op}: expected label ${i} to be a number, got ${describe(y[i])}`);
    }
    const labels = y instanceof Int32Array ? y : Array.isArray(y) ? Int32Array.from(y) : fail('E_ARG', `${op}: expected \`y\` to be an Int32Array or an array, got ${describe(y)}`);
    if (Array.isArray(y) && y.some((v, i) => v !== labels[i])) fail('E_ARG', `${op}: labels must be int32 integers`);
    if (labels.length !== shape[0]) fail('E_SHAPE', `${op}: ${shape[0]} samples but ${labels.length} labels`);
    this.x = x;
    this.y = labels;
    this.shape = Object.freeze(shape.slice());
    this.sampleShape = Object.freeze(shape.slice(1));
    this.#sampleSize = sizeOf(this.sampleShape);
  }

  get length(): number {
    return this.shape[0];
  }

  /** Sample i: a view of its values (do not modify it) and its label. @example const { x, y } = ds.get(0); */
  get(i: number): Sample {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) fail('E_INDEX', `${this.constructor.name}.get: index ${describe(i)} out of range [0, ${this.length})`);
    return { x: this.x.subarray(i * this.#sampleSize, (i + 1) * this.#sampleSize), y: this.y[i] };
  }

  /** All the samples as one float32 tensor [N, ...sampleShape], made at first use; owned by the data set. */
  get images(): Tensor<'float32'> {
    if (this.#images === null || this.#images.isDisposed) this.#images = keep(tensor<'float32'>(this.x, { shape: this.shape }));
    return this.#images as Tensor<'float32'>;
  }

  /** All the labels as an int32 tensor [N], made at first use; owned by the data set. */
  get labels(): Tensor<'int32'> {
    if (this.#labels === null || this.#labels.isDisposed) this.#labels = keep(tensor(this.y, { dtype: 'int32' }));
    return this.#labels as Tensor<'int32'>;
  }

  /** Frees the tensors `images` and `labels` made (the typed arrays stay usable). */
  dispose(): void {
    this.#images?.dispose();
    this.#labels?.dispose();
    this.#images = this.#labels = null;
  }
}
