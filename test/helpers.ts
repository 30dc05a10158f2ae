/** Shared test tools: a seeded JS generator for inputs, float64 references, and assertions. */
import { expect } from 'chai';
import { ConvnetError, tensor, type Tensor } from '../lib';

/** A small seeded generator (mulberry32) for test inputs, independent of the library's RNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Random float32-representable values in [-1, 1) and the tensor holding them. */
export function randomTensor(shape: readonly number[], seed: number, low = -1, high = 1): { t: Tensor<'float32'>; v: Float64Array } {
  const next = rng(seed);
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = Math.fround(low + (high - low) * next());
  return { t: tensor(Float32Array.from(v), { shape }), v };
}

export function strides(shape: readonly number[]): number[] {
  return shape.map((_, i) => sizeOf(shape.slice(i + 1)));
}

/** Multi-index of flat position i. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Every element within atol + rtol * |expected| of the float64 reference; NaN matches NaN and
 * infinities must match exactly.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-6, atol = 1e-6, what = ''): void {
  expect(actual.length, `${what} length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`).to.equal(true);
    } else if (!Number.isFinite(e)) {
      expect(a, `${what}[${i}]`).to.equal(e);
    } else if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`${what}[${i}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > ${atol} + ${rtol} * |expected|)`);
    }
  }
}

/** Same bits (for thread-count invariance). */
export function expectBitIdentical(a: Float32Array | Int32Array, b: Float32Array | Int32Array, what = ''): void {
  expect(a.length, what).to.equal(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) expect.fail(`${what}[${i}]: ${a[i]} !== ${b[i]} (bits differ)`);
}

/** fn throws a ConvnetError with this code (and a message matching `pattern`, if given). */
export function expectError(fn: () => unknown, code: string, pattern?: RegExp): ConvnetError {
  try {
    fn();
  } catch (e) {
    expect(e, `expected a ConvnetError, got ${String(e)}`).to.be.instanceOf(ConvnetError);
    const err = e as ConvnetError;
    expect(err.code, err.message).to.equal(code);
    if (pattern) expect(err.message).to.match(pattern);
    return err;
  }
  return expect.fail(`expected ${code} to be thrown`);
}

/** The promise rejects with a ConvnetError with this code. */
export async function expectRejects(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<ConvnetError> {
  try {
    await promise;
  } catch (e) {
    expect(e).to.be.instanceOf(ConvnetError);
    const err = e as ConvnetError;
    expect(err.code, err.message).to.equal(code);
    if (pattern) expect(err.message).to.match(pattern);
    return err;
  }
  return expect.fail(`expected a rejection with ${code}`);
}
