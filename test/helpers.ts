/** Shared test tools: a seeded JS generator for inputs, float64 references, and assertions. */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConvnetError, memory, sync, syncBlocking, tensor, type Tensor } from '../lib';

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

export interface GradCheckOptions {
  /** The inputs' shapes and float64 values (rounded to float32 when made into tensors). */
  inputs: { shape: number[]; values: Float64Array }[];
  /** The op under test. */
  forward: (inputs: Tensor<'float32'>[]) => Tensor;
  /** Gradients of sum(y * dy) for each input (null: not differentiable, skipped). */
  backward: (dy: Tensor<'float32'>, inputs: Tensor<'float32'>[], y: Tensor) => (Tensor | null)[];
  /** Finite-difference step (default 1e-2, suited to float32 forwards). */
  h?: number;
  rtol?: number;
  atol?: number;
  /** Positions checked per input (default 40, spread over the tensor). */
  samples?: number;
  seed?: number;
  what?: string;
}

/**
 * Finite-difference gradient check (Caffe's GradientChecker, in the large): with a fixed random
 * r of y's shape, L = sum(y * r); the analytic gradient is backward(r), the numeric one
 * (L(x + h) - L(x - h)) / 2h, summed in float64 from float32 forwards. Inputs should keep away
 * from kinks (|x| > h for ReLU, distinct maxima for max pooling) so that the difference is a
 * derivative.
 */
export function gradCheck(o: GradCheckOptions): void {
  const h = o.h ?? 1e-2, rtol = o.rtol ?? 2e-2, atol = o.atol ?? 2e-3, samples = o.samples ?? 40;
  const make = (values: Float64Array[]) => o.inputs.map((inp, i) => tensor(Float32Array.from(values[i]), { shape: inp.shape }));
  const base = o.inputs.map((i) => Float64Array.from(i.values, Math.fround));
  const ts = make(base);
  const y = o.forward(ts);
  const next = rng(o.seed ?? 1);
  const r = Float64Array.from({ length: y.size }, () => Math.fround(next() * 2 - 1));
  const dy = tensor(Float32Array.from(r), { shape: [...y.shape] });
  const grads = o.backward(dy, ts, y).map((g) => (g ? g.dataSync() : null));
  const loss = (values: Float64Array[]): number => {
    const inputs = make(values);
    const out = o.forward(inputs).dataSync();
    let s = 0;
    for (let k = 0; k < out.length; k++) s += out[k] * r[k];
    return s;
  };
  grads.forEach((g, i) => {
    if (!g) return;
    expect(g.length, `${o.what ?? ''} grad ${i} size`).to.equal(base[i].length);
    const n = base[i].length;
    const positions = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(next() * n));
    for (const p of positions) {
      const plus = base.map((v) => v.slice()), minus = base.map((v) => v.slice());
      plus[i][p] += h;
      minus[i][p] -= h;
      const numeric = (loss(plus) - loss(minus)) / (2 * h);
      const analytic: number = g[p];
      if (!(Math.abs(numeric - analytic) <= atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic)))) {
        expect.fail(`${o.what ?? ''} d/dinput${i}[${p}]: analytic ${analytic}, numeric ${numeric}`);
      }
    }
  });
}

/** Reads a fixture written by test/fixtures/make/*.py (PyTorch's values, committed). */
export function loadFixture<T = unknown>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('path') as typeof import('path');
  const file = path.resolve(__dirname, '..', '..', 'test', 'fixtures', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * Philox-4x32-10 written plainly in JavaScript with BigInt, independent of the library, to pin
 * down the streams the native code draws (random numbers, dropout masks, mixed-pooling lambdas).
 */
export function philox(key: bigint, counter: bigint): number[] {
  const M = 0xffffffffn;
  let c = [counter & M, (counter >> 32n) & M, 0n, 0n];
  let k0 = key & M, k1 = (key >> 32n) & M;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c[0], p1 = 0xcd9e8d57n * c[2];
    c = [((p1 >> 32n) ^ c[1] ^ k0) & M, p1 & M, ((p0 >> 32n) ^ c[3] ^ k1) & M, p0 & M];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return c.map(Number);
}

/** The uniform float of element i of a draw that starts at counter block `first` (see core/philox.h). */
export const philoxUniform = (seed: bigint, first: number, i: number): number =>
  (philox(seed, BigInt(first + Math.floor(i / 4)))[i % 4] >>> 8) / 16777216;

export interface TapeInput { shape: number[]; values?: Float64Array }

/**
 * Finite-difference check through the autograd tape: the inputs require grad, `fn` builds the
 * graph, and y.backward(dy) must give the gradients of sum(y * dy). Inputs without values get
 * uniform values in [-1, 1) from a seeded generator.
 */
export function tapeCheck(
  what: string,
  inputs: TapeInput[],
  fn: (ts: Tensor<'float32'>[]) => Tensor,
  o: { rtol?: number; atol?: number; h?: number; samples?: number } = {},
): void {
  gradCheck({
    what,
    inputs: inputs.map((inp, i) => {
      const next = rng(100 + i);
      return { shape: inp.shape, values: inp.values ?? Float64Array.from({ length: sizeOf(inp.shape) }, () => -1 + 2 * next()) };
    }),
    forward: (ts) => {
      for (const t of ts) t.requiresGrad = true;
      return fn(ts);
    },
    backward: (dy, ts, y) => {
      y.backward(dy);
      return ts.map((t) => t.grad);
    },
    ...o,
  });
}

/**
 * Sleeps in 1 ms naps until the CPU queue has no op left, or `limitMs` has passed, without a wait
 * on the queue (which would run the ops on this thread): what the worker does on its own.
 * Returns the ops still queued (0 once drained).
 */
export function napUntilQueueIdle(limitMs = 5000): number {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const start = Date.now();
  while (memory().devices.cpu.queuedOps > 0 && Date.now() - start < limitMs) Atomics.wait(nap, 0, 0, 1);
  return memory().devices.cpu.queuedOps;
}

/**
 * Waits for queued ops (which hold their tensors), collects the tensors earlier tests left to the
 * garbage collector (mocha runs with --expose-gc) and lets their finalizers run: a test that
 * counts live tensors or bytes must not see them freed in the middle of its measurement.
 */
export async function settle(): Promise<void> {
  await sync();
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = 0; gc && round < 5; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  syncBlocking();
}

/** erf and erfc in float64: erf's Taylor series below 2.5 (erfc = 1 - erf there), erfc's
 * continued fraction from 2.5 (x^2 is exact in float64 for a float x). Within 1e-11 of Python's
 * math.erf and math.erfc, relative to erfc. */
function erfSeries(a: number): number {
  let term = a, sum = a;
  for (let n = 1; n < 80; n++) {
    term *= (-a * a) / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return (sum * 2) / Math.sqrt(Math.PI);
}
function erfcTail(a: number): number {
  let f = 0;
  for (let k = 160; k >= 1; k--) f = k / 2 / (a + f);
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
}
export function erfc64(x: number): number {
  const a = Math.abs(x), r = a < 2.5 ? 1 - erfSeries(a) : erfcTail(a);
  return x < 0 ? 2 - r : r;
}
export function erf64(x: number): number {
  const a = Math.abs(x), r = a < 2.5 ? erfSeries(a) : 1 - erfcTail(a);
  return x < 0 ? -r : r;
}

/**
 * Compiles one of the native self-checks (a `*_selftest.cc` under native/, with its own main)
 * with the C++ compiler that builds the addon and runs it with `args`; returns its stdout, or
 * null where there is no compiler. `sources`: more files under native/ to link in.
 * `sanitize`: with AddressSanitizer and UBSan where the toolchain has them (else without).
 * `optimize`: -O3 instead of -O1, for a check whose run is long.
 */
export function runNativeSelftest(
  source: string,
  opts: { sanitize?: boolean; sources?: string[]; optimize?: boolean; args?: string[] } = {},
): { stdout: string; status: number | null } | null {
  const cxx = process.env.CXX ?? 'g++';
  if (spawnSync(cxx, ['--version']).status !== 0) return null;
  const root = path.resolve(__dirname, '..', '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-selftest-'));
  try {
    const exe = path.join(dir, 'selftest');
    const files = [source, ...(opts.sources ?? [])].map((f) => path.join(root, 'native', f));
    const args = ['-std=c++17', opts.optimize ? '-O3' : '-O1', '-Wall', '-Werror', '-pthread', '-I', path.join(root, 'native'), ...files, '-o', exe];
    if (!opts.sanitize || spawnSync(cxx, ['-fsanitize=address,undefined', ...args]).status !== 0) execFileSync(cxx, args);
    const run = spawnSync(exe, opts.args ?? [], { encoding: 'utf8' });
    return { stdout: run.stdout, status: run.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The folders scratchDir made in this process; removed when it exits. */
const scratchDirs: string[] = [];
process.on('exit', () => {
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder under the OS temp folder, removed when the test process exits. */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}
