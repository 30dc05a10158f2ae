/**
 * Philox-4x32-10 in JavaScript (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"),
 * the same generator as the native one (native/core): a pure function of a 64-bit key and a
 * 128-bit counter, so the data loader's shuffling and augmentation are the same on every
 * machine and need no state but the seed and a position. Bit-identical to
 * `native.philoxBlock` (test/data.test.ts checks it).
 */

import { fail } from '../errors';
import { checkInt, describe } from '../validate';

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** The high 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulhi(a: number, b: number): number {
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const lh = aL * bH, hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

// Key and counter words are numbers (taken mod 2^32, as `>>> 0` does); a bigint or a symbol
// would make `>>>` throw a TypeError.
/**
 * Key and counter words: integers in [0, max]. Only `typeof number` was checked, and `>>> 0` then
 * made NaN, 0.5 and 1e300 the word 0 and -1 the word 2**32 - 1: a NaN seed gave seed 0's stream
 * without a word.
 */
function words(op: string, values: Record<string, unknown>, max = 2 ** 32 - 1): void {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      fail('E_ARG', `${op}: expected \`${name}\` to be an integer in [0, ${max}], got ${describe(v)}`);
    }
  }
}

/**
 * One block: four uint32 words from key (k0, k1) and counter (c0, c1, c2, c3), written to `out`.
 * @example philox4x32(0, 0, 0, 0, 0, 0, new Uint32Array(4))  // 6627e8d5 e169c58d bc57ac4c 9b00dbd8
 */
export function philox4x32(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number, out: Uint32Array): Uint32Array {
  words('philox4x32', { k0, k1, c0, c1, c2, c3 });
  if (!(out instanceof Uint32Array) || out.length < 4) fail('E_ARG', `philox4x32: expected \`out\` to be a Uint32Array of 4 words, got ${describe(out)}`);
  k0 >>>= 0; k1 >>>= 0; c0 >>>= 0; c1 >>>= 0; c2 >>>= 0; c3 >>>= 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/**
 * A stream of random numbers at one place of the counter space: the key is the seed; the
 * counter is (index, 0, epoch, stream), its second word counting the blocks drawn. Different
 * (index, epoch, stream) give independent streams.
 */
export class PhiloxStream {
  readonly #k0: number;
  readonly #k1: number;
  readonly #c0: number;
  readonly #c2: number;
  readonly #c3: number;
  #block = 0;
  #used = 4;
  readonly #words = new Uint32Array(4);

  constructor(seed: number, index: number, epoch: number, stream: number) {
    words('PhiloxStream', { seed }, Number.MAX_SAFE_INTEGER);
    words('PhiloxStream', { index, epoch, stream });
    this.#k0 = seed >>> 0;
    this.#k1 = Math.floor(seed / 4294967296) >>> 0;
    this.#c0 = index >>> 0;
    this.#c2 = epoch >>> 0;
    this.#c3 = stream >>> 0;
  }

  /** The next uint32. */
  nextUint32(): number {
    if (this.#used === 4) {
      philox4x32(this.#k0, this.#k1, this.#c0, this.#block++, this.#c2, this.#c3, this.#words);
      this.#used = 0;
    }
    return this.#words[this.#used++];
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n) (n < 2^32), without bias (rejection sampling). */
  below(n: number): number {
    checkInt('PhiloxStream.below', 'n', n, 1, 4294967295);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }
}
