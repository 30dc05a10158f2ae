/**
 * A fuzz driver for the public API (what `lib/index.ts` exports): every function, every class
 * (constructed, then its methods and its forward), every Tensor method, called with junk and
 * half-plausible arguments, plus readers fed truncated and byte-flipped files.
 *
 * The rule it checks: bad input of every kind gets a ConvnetError with an `E_*` code, never a
 * crash, and loses nothing. Each case is reported as a finding when it
 *   - crashes the process (segfault, abort) or hangs (no progress for --hang-s seconds);
 *   - throws anything but a ConvnetError with an E_* code (a raw TypeError, RangeError, …);
 *   - throws after disposing or changing a tensor it was handed ("lost");
 *   - or, with --suspicious, returns normally although a number argument was NaN, ±Infinity,
 *     negative, fractional or ≥ 2^31 (to be triaged by hand against PyTorch 1.13).
 *
 * Cases are numbered and deterministic: case i draws its target and arguments from a PRNG
 * seeded with (seed, i), so any finding is re-run alone with `--case i`. Cases run in batches
 * in child processes; a child that dies is restarted after the case it was running.
 *
 *   npx tsc -p . && node dist/scripts/fuzz-api.js --cases 20000            # the full run
 *   node dist/scripts/fuzz-api.js --case 1234 --verbose                    # one case, in process
 *   node dist/scripts/fuzz-api.js --cases 2000 --only F.conv2d,nn.Conv2d   # some targets
 *   node dist/scripts/fuzz-api.js --scenarios                              # the "loses nothing" checks alone
 *   node dist/scripts/fuzz-api.js --mutate --suspicious                    # valid calls, one bad value at a time
 *   options: --seed N (1) --from N (0: the first case) --batch N (500) --hang-s N (30) --max-vm-mb N (3072: the workers'
 *   virtual memory, so that a huge shape is E_OOM instead of gigabytes filled) --flips N (60 byte-flipped copies of
 *   each file; 0: no readers) --no-scenarios --suspicious --json FILE --list
 *
 * test/api-fuzz.test.ts runs a fixed, fast subset of the same cases in process.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32), so case i is the same on every run.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Values.

/** Numbers that an integer or size argument must refuse (or handle as PyTorch does). */
export const BAD_NUMBERS = [NaN, Infinity, -Infinity, -1, -2, 0.5, 1.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1e300, -(2 ** 31), 1e-300];
const GOOD_NUMBERS = [0, 1, 2, 3, 4, 0.1, 0.9, 1e-3, -0];
const JUNK: (() => unknown)[] = [
  () => undefined, () => null, () => 'x', () => '', () => 'mean', () => 'sum', () => 'none', () => 'cpu', () => 'cuda', () => 'float32', () => 'int32',
  () => true, () => false, () => ({}), () => [], () => () => 1, () => Symbol('s'), () => 10n, () => new Float32Array(4), () => new Int32Array(3),
  () => Buffer.from([1, 2, 3]), () => new Map(), () => new Date(0), () => Object.create(null), () => ({ length: 2 ** 31 }),
  () => [[1, 2], [3]], () => [NaN], () => [-1, 3], () => [2 ** 31, 2 ** 31], () => [2 ** 53], () => [1.5, 2], () => [1e300], () => [2, 2 ** 40],
  () => new Array(2 ** 31 - 1), () => 'constructor', () => '__proto__', () => 'toString', () => 'hasOwnProperty', () => ['a', 'b'], () => [undefined], () => [null, null], () => [Infinity, 1],
];

/** The option names the library knows (read from lib/**.ts: every array of quoted names). */
function optionKeys(): string[] {
  const root = path.resolve(__dirname, '..', '..', 'lib');
  const keys = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const src = fs.readFileSync(p, 'utf8');
        for (const m of src.matchAll(/\[((?:\s*'[A-Za-z][A-Za-z0-9]*'\s*,)+\s*'[A-Za-z][A-Za-z0-9]*'\s*,?\s*)\]/g)) {
          for (const k of m[1].matchAll(/'([A-Za-z0-9]+)'/g)) keys.add(k[1]);
        }
      }
    }
  };
  try {
    walk(root);
  } catch {
    // Run from a packed copy without lib/: the fixed list below still gives options.
  }
  for (const k of ['reduction', 'dim', 'keepdim', 'stride', 'padding', 'dilation', 'groups', 'bias', 'lr', 'momentum', 'eps', 'weightDecay', 'ceilMode', 'dtype', 'device', 'requiresGrad', 'batchSize', 'shuffle', 'epochs', 'margin', 'p', 'weight', 'ignoreIndex', 'labelSmoothing', 'inPlace', 'numParameters', 'init', 'negativeSlope', 'alpha', 'beta', 'k', 'size', 'scaleFactor', 'mode', 'alignCorners', 'outputSize', 'samplingRatio', 'spatialScale', 'aligned', 'affine', 'trackRunningStats', 'numGroups', 'seed']) keys.add(k);
  return [...keys].sort();
}

/** Tensors handed to one case; checked afterwards for "loses nothing". */
export class Pool {
  readonly tensors: cc.Tensor[] = [];
  /** The argument lists drawn for this case, for the report. */
  readonly calls: { label: string; values: unknown[]; arity: number }[] = [];
  private readonly made: { t: cc.Tensor; bytes: Uint8Array | null; disposed: boolean }[] = [];

  constructor(readonly rng: Rng, readonly keys: string[]) {}

  private keepTensor<T extends cc.Tensor>(t: T): T {
    if (!t.isDisposed) cc.keep(t); // outlives the case's tidy, to be checked after the call
    this.tensors.push(t);
    return t;
  }

  /** A tensor of one of the shapes and kinds ops meet, some of them odd. */
  tensor(): cc.Tensor {
    const r = this.rng;
    const kind = r.int(16);
    const shapes = [[2, 3], [1, 3, 8, 8], [2, 1, 5, 5], [4], [], [0, 3], [2, 0], [3, 4], [2, 3, 4], [1, 1, 1, 1], [2, 2, 3, 3], [5, 4], [1, 2, 7, 7]];
    const shape = r.pick(shapes);
    let t: cc.Tensor;
    switch (kind) {
      case 0: t = cc.randn(shape); break;
      case 1: t = cc.randn(shape, 0, 1, { requiresGrad: true }); break;
      case 2: {
        // int32 labels in [0, 3)
        const n = shape.reduce((a, b) => a * b, 1);
        t = cc.tensor(Array.from({ length: n }, (_, i) => i % 3), { dtype: 'int32' }).reshape(shape);
        break;
      }
      case 3: t = cc.tensor([0, 2, 1, 1], { dtype: 'int32' }); break;
      case 4: t = cc.tensor([[NaN, 1, Infinity], [-Infinity, 0, 2]]); break;
      case 5: {
        t = cc.randn([2, 3]);
        t.dispose();
        break;
      }
      case 6: t = cc.randn([3, 2]).transpose(); break; // a view, or a copy
      case 7: t = cc.tensor(3.5); break; // 0-dim
      case 8: t = cc.tensor([[0, 0, 4, 4], [1, 1, 5, 6], [2, 2, 3, 3]]); break; // boxes
      case 9: t = cc.tensor([[0, 0, 0, 4, 4], [0, 1, 1, 5, 6]]); break; // rois (batch index first)
      case 10: t = cc.rand([4, 10]); break;
      case 11: t = cc.tensor([-1, 5, 2 ** 30, 0], { dtype: 'int32' }); break; // bad labels
      case 12: t = cc.randn([8, 3, 4, 4]); break;
      case 13: t = cc.randn([2, 6, 4, 4], 0, 1, { requiresGrad: true }); break;
      case 14: t = cc.randn([1, 3, 8, 8]).reshape([3, 64]); break;
      default: t = cc.randn([3]); break;
    }
    return this.keepTensor(t);
  }

  /** Remembers every tensor's bytes (after the case built them, before the call). */
  snapshot(): void {
    for (const t of this.tensors) {
      if (this.made.some((m) => m.t === t)) continue;
      this.made.push({ t, bytes: t.isDisposed ? null : new Uint8Array(new Uint8Array(t.dataSync().buffer).slice()), disposed: t.isDisposed });
    }
  }

  /** Tensors the call disposed or changed (as text), for "loses nothing". */
  changed(): string[] {
    const out: string[] = [];
    this.made.forEach((m, i) => {
      if (m.disposed) return;
      if (m.t.isDisposed) {
        out.push(`tensor #${i} ${m.t.dtype}[${m.t.shape}] was disposed`);
        return;
      }
      let now: Uint8Array;
      try {
        now = new Uint8Array(m.t.dataSync().buffer);
      } catch (e) {
        out.push(`tensor #${i} cannot be read: ${(e as Error).message}`);
        return;
      }
      if (now.length !== m.bytes!.length || now.some((b, j) => b !== m.bytes![j])) out.push(`tensor #${i} ${m.t.dtype}[${m.t.shape}] changed`);
    });
    return out;
  }

  number(): number {
    return this.rng.chance(0.5) ? this.rng.pick(GOOD_NUMBERS) : this.rng.pick(BAD_NUMBERS);
  }

  options(depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    const n = 1 + this.rng.int(3);
    for (let i = 0; i < n; i++) o[this.rng.chance(0.95) ? this.rng.pick(this.keys) : 'noSuchOption'] = this.value(depth + 1);
    return o;
  }

  /** Any argument: plausible (tensor, small number, shape, options) or junk. */
  value(depth = 0): unknown {
    const r = this.rng;
    const k = r.int(100);
    if (k < 30) return this.tensor();
    if (k < 50) return this.number();
    if (k < 58) return r.pick([[2, 3], [1], [0], [3, 3], [1, 1], [2], [-1], [0, 1], [1, 2]]);
    if (k < 70 && depth < 2) return this.options(depth);
    if (k < 75 && depth < 2) return [this.tensor(), this.tensor()];
    if (k < 78 && depth < 2) return { a: this.tensor(), b: this.tensor() };
    return r.pick(JUNK)();
  }
}

// ---------------------------------------------------------------------------------------------
// Targets.

type AnyFn = (...a: unknown[]) => unknown;
export interface Target {
  name: string;
  /** Calls the target once with arguments drawn from the pool. */
  run(pool: Pool): unknown;
  /** Changes its own inputs by design (optimizer steps, init.*_, in-place methods). */
  mutates?: boolean;
}

/** Too slow to build or run in a fuzz case (big models, downloads, whole training runs). */
const SKIP = new Set([
  'cuda._sleep', 'models.trainLeNet5', 'models.resnet50', 'models.resnet101', 'models.resnet152', 'models.vgg11', 'models.vgg13', 'models.vgg16',
  'models.vgg19', 'models.AlexNet', 'models.AlexNetModel', 'models.VGG', 'models.VGGModel', 'models.FCN', 'models.FCNModel', 'models.resnet34',
  'models.googlenet', 'models.GoogLeNetModel', 'models.inceptionV3', 'models.InceptionV3Model',
  'models.densenet121', 'models.densenet161', 'models.densenet169', 'models.densenet201', 'models.DenseNetModel',
  'models.mobilenetV2', 'models.MobileNetV2Model', 'models.r3d_18', 'models.r2plus1d_18',
  'data.mnist', 'setNumThreads', 'manualSeed', 'cuda.setOptions', 'setGradEnabled',
]);
/** TypeScript's `protected` methods (not callable from typed code) and `@internal` ones. */
const PROTECTED = new Set(['updateParam', 'checkGroup', 'zerosLikeParam', 'afterLoad', 'getLr', 'setState', 'removeModule', 'replaceModule', 'childReplaced',
  '_unregisterParameter', '_unregisterBuffer', '_setDerived']);
/** Functions and methods that write into their arguments by design. */
const MUTATING = /(_$|Step$|^optim\.clipGrad|zeroGrad|dispose|moveTo|^Tensor\.(to|cuda|cpu|backward)$|\.step$|loadStateDict|addConfusion|requiresGrad_)/;

function isClass(f: unknown): boolean {
  return typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

/** Draws an argument list for a function declaring `n` parameters (sometimes one fewer or more). */
function args(pool: Pool, n: number, label = ''): unknown[] {
  const count = Math.max(0, n + pool.rng.int(3) - 1);
  const list = Array.from({ length: count }, () => pool.value());
  pool.calls.push({ label, values: list, arity: n });
  return list;
}

/** Forces queued work (and its asynchronous errors) of whatever a call returned. */
function settle(value: unknown, depth = 0): void {
  if (depth > 3 || value === null || typeof value !== 'object') return;
  // Modules and optimizers keep their tensors from tidy: freed here, or a batch of resnet18s
  // fills the worker's memory limit.
  if (value instanceof cc.nn.Module || value instanceof cc.optim.Optimizer) {
    value.dispose();
    return;
  }
  if (value instanceof cc.Tensor) {
    if (!value.isDisposed) value.dataSync();
    return;
  }
  if (Array.isArray(value)) value.slice(0, 16).forEach((v) => settle(v, depth + 1));
  else if (Object.getPrototypeOf(value) === Object.prototype) Object.values(value).slice(0, 16).forEach((v) => settle(v, depth + 1));
}

export function targets(): Target[] {
  const out: Target[] = [];
  const visit = (obj: Record<string, unknown>, prefix: string, depth: number): void => {
    for (const key of Object.keys(obj)) {
      const name = prefix + key;
      const v = obj[key];
      if (SKIP.has(name) || name === 'ConvnetError' || name === 'Tensor') continue;
      if (isClass(v)) {
        const C = v as new (...a: unknown[]) => unknown;
        out.push({
          name: `new ${name}`,
          run: (pool) => {
            const obj = new C(...args(pool, C.length, 'new'));
            // Call every method of what came out with junk, the forward first.
            if (obj instanceof cc.nn.Module) {
              try {
                settle(obj.call(...args(pool, 1, '.forward')));
              } finally {
                obj.dispose();
              }
            } else if (obj && typeof obj === 'object') {
              const proto = Object.getPrototypeOf(obj);
              const names = Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor' && !PROTECTED.has(m) && typeof Object.getOwnPropertyDescriptor(proto, m)?.value === 'function');
              if (names.length > 0) {
                const m = pool.rng.pick(names);
                const r = (obj as Record<string, AnyFn>)[m](...args(pool, (obj as Record<string, AnyFn>)[m].length, `.${m}`));
                if (r instanceof Promise) return r;
                settle(r);
              }
            }
            return obj;
          },
          mutates: true,
        });
      } else if (typeof v === 'function') {
        const f = v as AnyFn;
        out.push({ name, run: (pool) => f(...args(pool, f.length)), mutates: MUTATING.test(name) });
      } else if (v && typeof v === 'object' && !Array.isArray(v) && depth < 2) {
        visit(v as Record<string, unknown>, name + '.', depth + 1);
      }
    }
  };
  visit(cc as unknown as Record<string, unknown>, '', 0);
  // Tensor methods and getters, on a tensor of the pool.
  const proto = cc.Tensor.prototype as unknown as Record<string, AnyFn>;
  for (const m of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, m)!;
    if (m === 'constructor' || m.startsWith('_') || typeof d.value !== 'function') continue;
    out.push({
      name: `Tensor.${m}`,
      run: (pool) => {
        const t = pool.tensor() as unknown as Record<string, AnyFn>;
        return t[m](...args(pool, proto[m].length, `${show(t)}.${m}`));
      },
      mutates: MUTATING.test(`Tensor.${m}`),
    });
  }
  // Module methods on a small real model, optimizer methods on real parameters.
  const moduleProto = cc.nn.Module.prototype as unknown as Record<string, AnyFn>;
  for (const m of Object.getOwnPropertyNames(moduleProto)) {
    const d = Object.getOwnPropertyDescriptor(moduleProto, m)!;
    if (m === 'constructor' || typeof d.value !== 'function' || ['fit', 'evaluate', 'predict'].includes(m)) continue;
    out.push({
      name: `Module.${m}`,
      run: (pool) => {
        const model = new cc.nn.Sequential(new cc.nn.Conv2d(3, 4, 3, { padding: 1 }), new cc.nn.BatchNorm2d(4), new cc.nn.ReLU(), new cc.nn.Flatten(), new cc.nn.Linear(4 * 8 * 8, 3));
        return settle((model as unknown as Record<string, AnyFn>)[m](...args(pool, moduleProto[m].length, `model.${m}`)));
      },
      mutates: true,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running a case.

export interface Outcome {
  case: number;
  target: string;
  /** ok | typed (ConvnetError E_*) | untyped | lost | crash | hang */
  kind: string;
  detail?: string;
  args?: string;
  suspicious?: string;
}

function show(v: unknown, depth = 0): string {
  if (v instanceof cc.Tensor) return v.isDisposed ? 'Tensor(disposed)' : `Tensor(${v.dtype}[${v.shape}]${v.requiresGrad ? ' grad' : ''})`;
  if (typeof v === 'symbol') return 'Symbol()';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'fn';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (depth > 2) return '…';
  if (Array.isArray(v)) return v.length > 8 ? `Array(${v.length})` : `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Uint8Array).length})`;
  const ctor = (v as object).constructor;
  if (ctor && ctor !== Object) return ctor.name;
  return `{${Object.entries(v as object).map(([k, x]) => `${k}: ${show(x, depth + 1)}`).join(', ')}}`;
}

function suspiciousArgs(calls: Pool['calls']): string | undefined {
  const bad = (x: unknown): boolean => typeof x === 'number' && BAD_NUMBERS.some((b) => Object.is(b, x)) && x !== -1;
  const badIn = (x: unknown): boolean => bad(x) || (Array.isArray(x) && x.length <= 64 && x.some(bad));
  const found: string[] = [];
  for (const c of calls) {
    // Arguments past the declared ones are ignored, as JavaScript does: not a finding.
    c.values.slice(0, c.arity).forEach((v, i) => {
      if (badIn(v)) found.push(`${c.label}#${i}=${show(v)}`);
      else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        for (const [k, x] of Object.entries(v)) if (badIn(x)) found.push(`${c.label}#${i}.${k}=${show(x)}`);
      }
    });
  }
  return found.length ? found.join(' ') : undefined;
}

export function isTyped(e: unknown): boolean {
  return e instanceof cc.ConvnetError && /^E_[A-Z]+$/.test(e.code);
}

/** Runs case `index` in this process. */
export async function runCase(all: Target[], seed: number, index: number): Promise<Outcome> {
  const rng = new Rng((seed * 0x9e3779b1) ^ (index * 0x85ebca77));
  const target = all[rng.int(all.length)];
  const pool = new Pool(rng, KEYS);
  const outcome: Outcome = { case: index, target: target.name, kind: 'ok' };
  const realSnapshot = pool.snapshot.bind(pool);
  // The snapshot has to be taken after the arguments are drawn but before the call: pool.tensor
  // is called lazily inside run(), so snapshot each tensor as it is made.
  const tensorOf = pool.tensor.bind(pool);
  pool.tensor = () => {
    const t = tensorOf();
    realSnapshot();
    return t;
  };
  try {
    let promise: Promise<unknown> | undefined;
    cc.tidy(() => {
      const r = target.run(pool);
      if (r instanceof Promise) promise = r;
      else settle(r);
    });
    if (promise) {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), 5000)))]);
      clearTimeout(timer);
      cc.tidy(() => settle(r));
    }
  } catch (e) {
    outcome.kind = isTyped(e) ? 'typed' : 'untyped';
    outcome.detail = isTyped(e) ? (e as cc.ConvnetError).code : `${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`.slice(0, 400);
    if (!isTyped(e) && (e as Error)?.stack) outcome.detail += '\n' + (e as Error).stack!.split('\n').slice(1, 5).join('\n');
    if (isTyped(e) && !target.mutates) {
      const lost = pool.changed();
      if (lost.length) {
        outcome.kind = 'lost';
        outcome.detail = `${(e as cc.ConvnetError).code} but ${lost.join('; ')}`;
      }
    }
  }
  if (outcome.kind === 'ok') outcome.suspicious = suspiciousArgs(pool.calls);
  outcome.args = pool.calls.map((c) => `${c.label}(${c.values.map((v) => show(v)).join(', ')})`).join(' ').slice(0, 500);
  for (const t of pool.tensors) t.dispose();
  return outcome;
}

const KEYS = optionKeys();

// ---------------------------------------------------------------------------------------------
// Readers fed broken files.

export interface ReaderCase { name: string; bytes: Uint8Array; read: (bytes: Uint8Array, file: string) => unknown; sameLength?: boolean }

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipSpan { start: number; end: number; localCrcAt: number; centralCrcAt: number }

/** Where a stored (uncompressed) entry's data and its two CRC fields are in a zip (sizes from the central directory: torch.save writes data descriptors). */
function zipEntry(zip: Uint8Array, suffix: string): ZipSpan | null {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let at = 0; at + 46 <= zip.length; at++) {
    if (v.getUint32(at, true) !== 0x02014b50) continue;
    const nameLen = v.getUint16(at + 28, true);
    const name = Buffer.from(zip.subarray(at + 46, at + 46 + nameLen)).toString();
    if (!name.endsWith(suffix) || v.getUint16(at + 10, true) !== 0) continue;
    const local = v.getUint32(at + 42, true), size = v.getUint32(at + 20, true);
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    return { start, end: start + size, localCrcAt: local + 14, centralCrcAt: at + 16 };
  }
  return null;
}

/** The zip with the entry's data replaced by `data` (same length) and both CRCs updated. */
function withZipEntry(zip: Uint8Array, span: ZipSpan, data: Uint8Array): Uint8Array {
  const out = Uint8Array.from(zip);
  out.set(data.subarray(0, span.end - span.start), span.start);
  const v = new DataView(out.buffer);
  const crc = crc32(out.subarray(span.start, span.end));
  v.setUint32(span.localCrcAt, crc, true);
  v.setUint32(span.centralCrcAt, crc, true);
  return out;
}

/** Valid files of every format the library reads, and the function that reads each. */
export function readerCases(dir: string): ReaderCase[] {
  const out: ReaderCase[] = [];
  const t = cc.tensor([[1, 2, 3], [4, 5, 6]]);
  const st = cc.io.serializeSafetensors({ w: t, b: cc.tensor([1, 2], { dtype: 'int32' }) }, { note: 'x' });
  t.dispose();
  out.push({ name: 'io.loadSafetensors(bytes)', bytes: st, read: (b) => cc.io.loadSafetensors(b) });
  out.push({ name: 'io.loadSafetensors(file)', bytes: st, read: (_b, f) => cc.io.loadSafetensors(f) });
  const idx = cc.data.encodeIdx('uint8', [2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  out.push({ name: 'data.readIdx(bytes)', bytes: idx, read: (b) => cc.data.readIdx(b) });
  out.push({ name: 'data.readIdx(file)', bytes: cc.data.encodeIdx('float32', [3], [1.5, -2, 0]), read: (_b, f) => cc.data.readIdx(f) });
  // A PNG made by the library's own writer (viz), read back as bytes.
  const pngFile = path.join(dir, 'grid.png');
  const w = cc.randn([4, 3, 3, 3]);
  cc.viz.filtersPng(w, pngFile);
  w.dispose();
  const png = fs.readFileSync(pngFile);
  out.push({ name: 'data.decodePng', bytes: png, read: (b) => cc.data.decodePng(b) });
  out.push({ name: 'data.decodeImage(png)', bytes: png, read: (b) => cc.data.decodeImage(b, 'x.png') });
  out.push({ name: 'data.loadImage(png)', bytes: png, read: (_b, f) => cc.data.loadImage(f as never) });
  const pgm = Buffer.concat([Buffer.from('P5\n3 2\n255\n'), Buffer.from([0, 10, 20, 30, 40, 250])]);
  out.push({ name: 'data.decodePnm(P5)', bytes: pgm, read: (b) => cc.data.decodePnm(b) });
  const ppm16 = Buffer.concat([Buffer.from('P6\n1 2\n65535\n'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])]);
  out.push({ name: 'data.decodePnm(P6 16-bit)', bytes: ppm16, read: (b) => cc.data.decodePnm(b) });
  // A saved model: its JSON and its weights, each broken in turn.
  const mdir = path.join(dir, 'model');
  const model = new cc.nn.Sequential(new cc.nn.Conv2d(1, 2, 3), new cc.nn.BatchNorm2d(2), new cc.nn.ReLU(), new cc.nn.Flatten(), new cc.nn.Linear(2, 2));
  cc.models.save(model, mdir);
  model.dispose();
  const json = fs.readFileSync(path.join(mdir, 'model.json'));
  const weights = fs.readFileSync(path.join(mdir, 'model.safetensors'));
  const loadWith = (name: string, b: Uint8Array): unknown => {
    const d = path.join(dir, `m-${name}`);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'model.json'), name === 'json' ? b : json);
    fs.writeFileSync(path.join(d, 'model.safetensors'), name === 'weights' ? b : weights);
    const m = cc.models.load(d);
    m.dispose();
    return undefined;
  };
  out.push({ name: 'models.load(model.json)', bytes: json, read: (b) => loadWith('json', b) });
  out.push({ name: 'models.load(model.safetensors)', bytes: weights, read: (b) => loadWith('weights', b) });
  const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
  for (const f of ['pt_lenet.pt', 'pt_legacy.pt', 'pt_nested.pt', 'pt_views.pt', 'pt_training.pt', 'torch_model.safetensors']) {
    const p = path.join(fixtures, f);
    if (!fs.existsSync(p)) continue;
    const bytes = fs.readFileSync(p);
    if (f.endsWith('.pt')) {
      const pickle = zipEntry(bytes, 'data.pkl');
      if (pickle) {
        // The pickle itself, flipped and put back with a right CRC, so that the unpickler (not
        // the zip's checksum) meets the damage. Same length only: the entry is rewritten in place.
        out.push({
          name: `io.loadPytorch(${f}: data.pkl)`, bytes: bytes.subarray(pickle.start, pickle.end), sameLength: true,
          read: (b) => cc.io.loadPytorch(withZipEntry(bytes, pickle, b), { structure: true }),
        });
      }
      out.push({ name: `io.loadPytorch(${f})`, bytes, read: (b) => cc.io.loadPytorch(b) });
      out.push({ name: `io.loadPytorch(${f}, structure)`, bytes, read: (b) => cc.io.loadPytorch(b, { structure: true }) });
    } else out.push({ name: `io.loadSafetensors(${f})`, bytes, read: (b) => cc.io.loadSafetensors(b) });
  }
  return out;
}

/** Truncations and byte flips of one valid file: each must load or throw a typed error. */
export function mutations(bytes: Uint8Array, rng: Rng, count: number): { what: string; bytes: Uint8Array }[] {
  const out: { what: string; bytes: Uint8Array }[] = [];
  const cuts = new Set([0, 1, 2, 4, 7, 8, 9, 15, 16, Math.floor(bytes.length / 2), bytes.length - 1]);
  for (const c of cuts) if (c < bytes.length) out.push({ what: `cut at ${c}`, bytes: bytes.slice(0, c) });
  for (let i = 0; i < count; i++) {
    const b = Uint8Array.from(bytes); // a copy (Buffer's slice is a view: the flips would pile up in the original)
    const n = 1 + rng.int(3);
    const where: string[] = [];
    for (let j = 0; j < n; j++) {
      const at = rng.int(b.length);
      const v = rng.pick([0, 0xff, 0x7f, 0x80, b[at] ^ (1 << rng.int(8)), rng.int(256)]);
      b[at] = v;
      where.push(`[${at}]=${v}`);
    }
    out.push({ what: `flip ${where.join(' ')}`, bytes: b });
  }
  return out;
}

export function runReaders(seed: number, flips: number): Outcome[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-readers-'));
  const out: Outcome[] = [];
  const rng = new Rng(seed);
  try {
    for (const rc of readerCases(dir)) {
      let i = 0;
      for (const m of mutations(rc.bytes, rng, flips)) {
        if (rc.sameLength && m.bytes.length !== rc.bytes.length) continue;
        const file = path.join(dir, `f${i++}`);
        fs.writeFileSync(file, m.bytes);
        const o: Outcome = { case: -1, target: rc.name, kind: 'ok', args: m.what };
        try {
          cc.tidy(() => settle(rc.read(m.bytes, file)));
        } catch (e) {
          o.kind = isTyped(e) ? 'typed' : 'untyped';
          o.detail = isTyped(e) ? (e as cc.ConvnetError).code : `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`.slice(0, 300) + '\n' + ((e as Error).stack ?? '').split('\n').slice(1, 4).join('\n');
        }
        out.push(o);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The driver: batches in child processes, a crash isolated to its case.

function parseArgs(argv: string[]): Record<string, string | boolean> {
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      o[a.slice(2)] = next;
      i++;
    } else o[a.slice(2)] = true;
  }
  return o;
}

function selected(all: Target[], only: string | boolean | undefined): Target[] {
  if (typeof only !== 'string') return all;
  const names = only.split(',');
  return all.filter((t) => names.some((n) => t.name === n || t.name === `new ${n}` || t.name.startsWith(n + '.')));
}

async function worker(opts: Record<string, string | boolean>): Promise<void> {
  // A rejection nobody awaited (an async method's promise the fuzz dropped) is reported, and the
  // batch goes on.
  process.on('unhandledRejection', (e) => {
    if (!isTyped(e)) fs.writeSync(Number(opts.fd ?? 3), `U ${JSON.stringify(String((e as Error)?.stack ?? e).slice(0, 600))}\n`);
  });
  const all = selected(targets(), opts.only);
  const seed = Number(opts.seed ?? 1);
  const from = Number(opts.from);
  const to = Number(opts.to);
  const fd = Number(opts.fd ?? 3);
  const list = opts.mutate ? mutationList() : [];
  for (let i = from; i < to; i++) {
    fs.writeSync(fd, `B ${i}\n`);
    const o = opts.mutate ? await runMutation(list, i) : await runCase(all, seed, i);
    fs.writeSync(fd, `R ${JSON.stringify(o)}\n`);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker) return worker(opts);
  const all = selected(targets(), opts.only);
  if (opts.list) {
    for (const t of all) console.log(t.name);
    console.log(`${all.length} targets`);
    return;
  }
  const seed = Number(opts.seed ?? 1);
  if (opts.scenarios) {
    for (const sc of scenarios()) {
      let problem: string | null;
      try {
        problem = sc.run();
      } catch (e) {
        problem = `the scenario itself threw ${(e as Error)?.stack}`;
      }
      console.log(`${problem ? 'LOST' : 'ok  '} ${sc.name}${problem ? `\n     ${problem}` : ''}`);
    }
    return;
  }
  if (opts.case !== undefined) {
    const o = opts.mutate ? await runMutation(mutationList(), Number(opts.case)) : await runCase(all, seed, Number(opts.case));
    console.log(JSON.stringify(o, null, 2));
    return;
  }
  const cases = opts.mutate ? Math.min(Number(opts.cases ?? Infinity), mutationList().length) : Number(opts.cases ?? 5000);
  const batch = Number(opts.batch ?? 500);
  const hangMs = Number(opts['hang-s'] ?? 30) * 1000;
  const findings: Outcome[] = [];
  const counts: Record<string, number> = {};
  const suspicious = new Map<string, Outcome>();
  let next = Number(opts.from ?? 0);
  const started = Date.now();
  while (next < cases) {
    const to = Math.min(cases, next + batch);
    const log = path.join(os.tmpdir(), `fuzz-api-${process.pid}.log`);
    const fd = fs.openSync(log, 'w');
    // In a scratch folder: a junk path that some writer accepts ('x', 'sum') lands there.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-api-cwd-'));
    // Under a virtual-memory limit: a shape of 2**31 floats is a legal 8 GB tensor on a big
    // machine, and would be allocated and filled; under the limit it is E_OOM at once, so the
    // fuzz neither waits for it nor takes the machine's memory from others (where the shell
    // cannot set the limit, the workers run without it).
    const limitKb = Math.round(Number(opts['max-vm-mb'] ?? 3072) * 1024);
    const child = spawn('/bin/sh', ['-c', `ulimit -v ${limitKb} 2>/dev/null; exec "$0" "$@"`, process.execPath, '--expose-gc', __filename, '--worker', '--from', String(next), '--to', String(to), '--seed', String(seed), '--fd', '3', ...(typeof opts.only === 'string' ? ['--only', opts.only] : []), ...(opts.mutate ? ['--mutate'] : [])], { stdio: ['ignore', 'ignore', 'pipe', fd], cwd: scratch });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let lastSize = -1;
    let lastChange = Date.now();
    let hung = false;
    const timer = setInterval(() => {
      const size = fs.fstatSync(fd).size;
      if (size !== lastSize) {
        lastSize = size;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs) {
        hung = true;
        child.kill('SIGKILL');
      }
    }, 500);
    const code: { code: number | null; signal: string | null } = await new Promise((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
    clearInterval(timer);
    fs.closeSync(fd);
    fs.rmSync(scratch, { recursive: true, force: true });
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    fs.rmSync(log, { force: true });
    let begun = -1;
    let done = next - 1;
    for (const line of lines) {
      if (line.startsWith('B ')) begun = Number(line.slice(2));
      else if (line.startsWith('R ')) {
        const o = JSON.parse(line.slice(2)) as Outcome;
        done = o.case;
        counts[o.kind] = (counts[o.kind] ?? 0) + 1;
        if (o.kind === 'untyped' || o.kind === 'lost') {
          findings.push(o);
          process.stderr.write(`\n[${o.kind}] case ${o.case} ${o.target} ${o.args}: ${(o.detail ?? '').split('\n')[0]}\n`);
        }
        if (o.suspicious && opts.suspicious) {
          const key = opts.mutate ? o.suspicious : `${o.target} ${o.suspicious.replace(/=.*?( |$)/g, '$1')}`;
          if (!suspicious.has(key)) suspicious.set(key, o);
        }
      }
    }
    if (begun > done) {
      // The case that was running when the child died or stopped answering.
      const o: Outcome = { case: begun, target: '?', kind: hung ? 'hang' : 'crash', detail: `${code.signal ?? 'exit ' + code.code}: ${stderr.split('\n').slice(-6).join('\n')}` };
      const again = opts.mutate ? { target: `${mutationList()[begun].base.name} ${mutationList()[begun].what}`, args: `mutant ${mutationList()[begun].mutant}` } : await runCaseDescribed(all, seed, begun);
      o.target = again.target;
      o.args = again.args;
      findings.push(o);
      process.stderr.write(`\n[${o.kind}] case ${o.case} ${o.target} ${o.args}\n`);
      counts[o.kind] = (counts[o.kind] ?? 0) + 1;
      next = begun + 1;
    } else if (code.code !== 0 && done < to - 1) {
      findings.push({ case: done + 1, target: '?', kind: 'crash', detail: `worker exit ${code.code} ${code.signal}: ${stderr.slice(-800)}` });
      next = done + 2;
    } else next = to;
    process.stderr.write(`\r${next}/${cases} cases, ${findings.length} findings, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  process.stderr.write('\n');
  for (const sc of opts['no-scenarios'] ? [] : scenarios()) {
    let problem: string | null;
    try {
      problem = sc.run();
    } catch (e) {
      problem = `the scenario itself threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    }
    counts[problem ? 'scenario lost' : 'scenario ok'] = (counts[problem ? 'scenario lost' : 'scenario ok'] ?? 0) + 1;
    if (problem) findings.push({ case: -1, target: sc.name, kind: 'lost', detail: problem });
  }
  const readers = opts.flips === '0' ? [] : runReaders(seed, Number(opts.flips ?? 60));
  for (const o of readers) {
    counts[`reader ${o.kind}`] = (counts[`reader ${o.kind}`] ?? 0) + 1;
    if (o.kind === 'untyped') findings.push(o);
  }
  // Group findings: one line per (target, first line of the message).
  const groups = new Map<string, Outcome[]>();
  for (const f of findings) {
    const key = `${f.kind} ${f.target}: ${(f.detail ?? '').split('\n')[0].replace(/\d+/g, 'N').slice(0, 160)}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  console.log(`\n${cases} cases on ${all.length} targets, seed ${seed}: ${JSON.stringify(counts)}`);
  console.log(`${groups.size} distinct findings\n`);
  for (const [key, fs_] of groups) {
    const f = fs_[0];
    console.log(`${key}\n  x${fs_.length}, e.g. case ${f.case}: ${f.target} ${f.args}\n  ${(f.detail ?? '').split('\n').join('\n  ')}\n`);
  }
  if (opts.suspicious) {
    console.log(`\nAccepted with a NaN / infinite / negative / fractional / huge number (${suspicious.size} kinds), to triage:`);
    for (const [key, o] of suspicious) console.log(`  ${key}   e.g. case ${o.case}: ${o.target} ${o.args}`);
  }
  if (opts.json) fs.writeFileSync(String(opts.json), JSON.stringify({ counts, findings, suspicious: [...suspicious.values()] }, null, 1));
}

/** The target and arguments of a case, without running its call (for a case that crashed). */
async function runCaseDescribed(all: Target[], seed: number, index: number): Promise<Outcome> {
  const rng = new Rng((seed * 0x9e3779b1) ^ (index * 0x85ebca77));
  const target = all[rng.int(all.length)];
  return { case: index, target: target.name, kind: '?', args: `(re-run with --case ${index} to see them)` };
}


// ---------------------------------------------------------------------------------------------
// "Loses nothing": state after a call that throws.

/** The values of every tensor in a record, as bytes (for before/after comparisons). */
function bytesOf(tensors: Iterable<[string, cc.Tensor]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, t] of tensors) out.set(k, t.isDisposed ? 'disposed' : Buffer.from(t.dataSync().buffer).toString('base64'));
  return out;
}

function sameBytes(a: Map<string, string>, b: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) diff.push(k);
  for (const k of b.keys()) if (!a.has(k)) diff.push(`${k} (new)`);
  return diff;
}

function smallNet(): cc.nn.Module {
  return new cc.nn.Sequential(new cc.nn.Conv2d(1, 2, 3, { padding: 1 }), new cc.nn.BatchNorm2d(2), new cc.nn.ReLU(), new cc.nn.Flatten(), new cc.nn.Linear(2 * 4 * 4, 3));
}

/** A model's parameters and buffers by name. */
function modelState(m: cc.nn.Module): Map<string, string> {
  return bytesOf([...m.namedParameters(), ...m.namedBuffers()]);
}

/** One training step of `m` on fixed data with a fresh SGD; returns the loss. */
function trainStep(m: cc.nn.Module, opt?: cc.optim.Optimizer): number {
  return cc.tidy(() => {
    const o = opt ?? new cc.optim.SGD(m.parameters(), { lr: 0.1 });
    cc.manualSeed(7);
    const x = cc.randn([2, 1, 4, 4]);
    const y = cc.tensor([0, 2], { dtype: 'int32' });
    o.zeroGrad();
    const loss = cc.F.crossEntropy(m.call(x) as cc.Tensor<'float32'>, y);
    loss.backward();
    o.step();
    return loss.item();
  });
}

export interface Scenario { name: string; run(): string | null }

/** Each scenario makes a call that must throw a typed error, then checks that nothing was lost. */
export function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const expectTyped = (what: string, f: () => unknown): string | null => {
    try {
      f();
    } catch (e) {
      return isTyped(e) ? null : `${what}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    }
    return `${what}: did not throw`;
  };
  // A forward that throws (wrong input shape, wrong dtype, disposed input): the model is
  // unchanged and trains exactly as a twin that never saw the bad call.
  // [what, input, whether BatchNorm's running statistics may have moved]: an input that gets
  // through BatchNorm and fails at the Linear after it has updated the statistics, as PyTorch
  // 1.13 does (its forward is not transactional either); the parameters stay as they were.
  const badInputs: [string, () => unknown, boolean?][] = [
    ['a wrong shape', () => cc.randn([2, 1, 5, 5]), true],
    ['int32 input', () => cc.zeros([2, 1, 4, 4], { dtype: 'int32' })],
    ['a disposed input', () => { const t = cc.randn([2, 1, 4, 4]); t.dispose(); return t; }],
    ['3 channels', () => cc.randn([2, 3, 4, 4])],
    ['an empty batch of the wrong shape', () => cc.randn([0, 1, 4])],
  ];
  for (const [what, make, statsMayMove] of badInputs) {
    out.push({
      name: `a forward on ${what} loses nothing and the model still trains`,
      run: () => {
        cc.manualSeed(1);
        const m = smallNet();
        cc.manualSeed(1);
        const twin = smallNet();
        const state = (x: cc.nn.Module): Map<string, string> => (statsMayMove ? bytesOf(x.namedParameters()) : modelState(x));
        const before = state(m);
        const err = expectTyped('forward', () => cc.tidy(() => m.call(make())));
        if (err) return err;
        const diff = sameBytes(before, state(m));
        if (diff.length) return `the failed forward changed ${diff.join(', ')}`;
        if (statsMayMove) {
          // Train both from the same buffers, to compare the rest.
          const buffers = Object.fromEntries(m.namedBuffers());
          twin.loadStateDict({ ...Object.fromEntries(twin.namedParameters()), ...buffers });
        }
        const a = trainStep(m), b = trainStep(twin);
        const after = sameBytes(modelState(twin), modelState(m));
        m.dispose();
        twin.dispose();
        if (a !== b || after.length) return `training after the failed forward differs (loss ${a} vs ${b}; ${after.join(', ')})`;
        return null;
      },
    });
  }
  // loadStateDict that fails on its last key leaves every weight as it was.
  const badStates: [string, (s: Record<string, cc.Tensor>) => void][] = [
    ['a wrong shape in the last key', (s) => { const k = Object.keys(s).pop()!; s[k] = cc.zeros([7]); }],
    ['an int32 tensor in the last key', (s) => { const k = Object.keys(s).pop()!; s[k] = cc.zeros(s[k].shape, { dtype: 'int32' }); }],
    ['a disposed tensor in the last key', (s) => { const k = Object.keys(s).pop()!; s[k].dispose(); }],
    ['a number in the last key', (s) => { const k = Object.keys(s).pop()!; (s as Record<string, unknown>)[k] = 3; }],
    ['a missing key', (s) => { delete s[Object.keys(s)[1]]; }],
    ['an extra key', (s) => { s['extra.weight'] = cc.zeros([1]); }],
  ];
  for (const [what, spoil] of badStates) {
    out.push({
      name: `loadStateDict with ${what} leaves the weights as they were`,
      run: () => {
        const m = smallNet();
        trainStep(m); // running stats and weights away from their initial values
        const other = smallNet();
        const state = other.stateDict();
        spoil(state);
        const before = modelState(m);
        const err = expectTyped('loadStateDict', () => m.loadStateDict(state));
        const diff = sameBytes(before, modelState(m));
        for (const t of Object.values(state)) if (t instanceof cc.Tensor) t.dispose();
        other.dispose();
        const loss = trainStep(m);
        m.dispose();
        if (err) return err;
        if (diff.length) return `the failed load changed ${diff.join(', ')}`;
        if (!Number.isFinite(loss)) return `the model no longer trains (loss ${loss})`;
        return null;
      },
    });
  }
  // An optimizer step that throws leaves parameters and the optimizer's state untouched.
  const makers: [string, (p: cc.Tensor[]) => cc.optim.Optimizer][] = [
    ['SGD', (p) => new cc.optim.SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
    ['Adam', (p) => new cc.optim.Adam(p, { lr: 0.01 })],
    ['AdamW', (p) => new cc.optim.AdamW(p, { lr: 0.01 })],
    ['RMSprop', (p) => new cc.optim.RMSprop(p, { lr: 0.01, momentum: 0.5, centered: true })],
    ['Adagrad', (p) => new cc.optim.Adagrad(p, { lr: 0.01 })],
  ];
  const spoilers: [string, (opt: cc.optim.Optimizer, m: cc.nn.Module) => void][] = [
    ['a NaN lr in the last group', (opt) => { opt.paramGroups[opt.paramGroups.length - 1].lr = NaN; }],
    ['a string lr', (opt) => { (opt.paramGroups[0] as Record<string, unknown>).lr = '0.1'; }],
    ['a disposed last parameter', (_opt, m) => { const ps = m.parameters(); ps[ps.length - 1].dispose(); }],
    ['a disposed gradient of the last parameter', (_opt, m) => { const ps = m.parameters(); ps[ps.length - 1].grad!.dispose(); }],
    ['a negative weightDecay', (opt) => { (opt.paramGroups[0] as Record<string, unknown>).weightDecay = -1; }],
  ];
  for (const [oname, make] of makers) {
    for (const [what, spoil] of spoilers) {
      out.push({
        name: `${oname}.step with ${what} leaves parameters and state untouched`,
        run: () => {
          const m = smallNet();
          const opt = make(m.parameters());
          trainStep(m, opt); // the state exists
          cc.tidy(() => {
            const loss = cc.F.crossEntropy(m.call(cc.randn([2, 1, 4, 4])) as cc.Tensor<'float32'>, cc.tensor([1, 0], { dtype: 'int32' }));
            loss.backward();
          });
          const params = bytesOf(m.namedParameters());
          const state = opt.stateDict();
          const stateBytes = bytesOf(Object.entries(state.state).flatMap(([i, s]) => Object.entries(s).filter(([, v]) => v instanceof cc.Tensor).map(([k, v]) => [`${i}.${k}`, v as cc.Tensor] as [string, cc.Tensor])));
          const stateNums = JSON.stringify(Object.entries(state.state).map(([i, s]) => [i, Object.entries(s).filter(([, v]) => typeof v === 'number')]));
          spoil(opt, m);
          const err = expectTyped('step', () => opt.step());
          const after = opt.stateDict();
          const afterBytes = bytesOf(Object.entries(after.state).flatMap(([i, s]) => Object.entries(s).filter(([, v]) => v instanceof cc.Tensor).map(([k, v]) => [`${i}.${k}`, v as cc.Tensor] as [string, cc.Tensor])));
          const afterNums = JSON.stringify(Object.entries(after.state).map(([i, s]) => [i, Object.entries(s).filter(([, v]) => typeof v === 'number')]));
          const pdiff = sameBytes(params, bytesOf(m.namedParameters()));
          const sdiff = sameBytes(stateBytes, afterBytes);
          for (const s of [state, after]) for (const x of Object.values(s.state)) for (const v of Object.values(x)) if (v instanceof cc.Tensor) v.dispose();
          opt.dispose();
          m.dispose();
          if (err) return err;
          // The disposed parameter itself reads as changed.
          const disposedName = what.includes('disposed last') ? [...params.keys()].pop() : undefined;
          if (pdiff.filter((d) => d !== disposedName).length) return `the failed step changed parameters ${pdiff.join(', ')}`;
          if (sdiff.length || stateNums !== afterNums) return `the failed step changed the optimizer's state ${sdiff.join(', ')} ${stateNums} -> ${afterNums}`;
          return null;
        },
      });
    }
    out.push({
      name: `${oname}.loadStateDict with a state of the wrong shape leaves the state untouched`,
      run: () => {
        const m = smallNet();
        const opt = make(m.parameters());
        trainStep(m, opt);
        const good = opt.stateDict();
        const bad = opt.stateDict();
        const last = String(Math.max(...Object.keys(bad.state).map(Number)));
        for (const [k, v] of Object.entries(bad.state[Number(last)])) if (v instanceof cc.Tensor) bad.state[Number(last)][k] = cc.zeros([5, 5]);
        const err = expectTyped('loadStateDict', () => opt.loadStateDict(bad));
        const after = opt.stateDict();
        const diff = sameBytes(
          bytesOf(Object.entries(good.state).flatMap(([i, s]) => Object.entries(s).filter(([, v]) => v instanceof cc.Tensor).map(([k, v]) => [`${i}.${k}`, v as cc.Tensor] as [string, cc.Tensor]))),
          bytesOf(Object.entries(after.state).flatMap(([i, s]) => Object.entries(s).filter(([, v]) => v instanceof cc.Tensor).map(([k, v]) => [`${i}.${k}`, v as cc.Tensor] as [string, cc.Tensor]))),
        );
        const loss = trainStep(m, opt);
        opt.dispose();
        m.dispose();
        if (err) return err;
        if (diff.length) return `the failed loadStateDict changed ${diff.join(', ')}`;
        if (!Number.isFinite(loss)) return `no longer trains (loss ${loss})`;
        return null;
      },
    });
  }
  // A failed models.load leaves nothing allocated.
  out.push({
    name: 'models.load of broken weights leaves no tensor allocated',
    run: () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-load-'));
      try {
        const m = smallNet();
        cc.models.save(m, dir);
        m.dispose();
        const file = path.join(dir, 'model.safetensors');
        const bytes = fs.readFileSync(file);
        const problems: string[] = [];
        for (const cut of [bytes.length - 1, bytes.length - 40, 9, 100]) {
          fs.writeFileSync(file, bytes.subarray(0, cut));
          const live = cc.memory().tensors;
          const err = expectTyped(`load cut at ${cut}`, () => cc.models.load(dir));
          if (err) problems.push(err);
          if (cc.memory().tensors !== live) problems.push(`cut at ${cut}: ${cc.memory().tensors - live} tensors left allocated`);
        }
        return problems.length ? problems.join('; ') : null;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid calls: each baseline below is a call that works; each mutation replaces one
// argument, one entry of an array argument, or one option by a bad value. Where random arguments
// mostly stop at the first check, these reach every check of the call.

/** A valid call: `make` builds fresh arguments, `call` makes it. */
interface Baseline { name: string; make: () => unknown[]; call: (a: unknown[]) => unknown; mutates?: boolean }

const T = (shape: number[]): cc.Tensor => cc.randn(shape);
const I = (values: number[]): cc.Tensor => cc.tensor(values, { dtype: 'int32' });
const G = (shape: number[]): cc.Tensor => cc.randn(shape, 0, 1, { requiresGrad: true });
const fn = (f: unknown) => (a: unknown[]) => (f as AnyFn)(...a);
const ctor = (C: unknown, input?: () => unknown) => (a: unknown[]) => {
  const m = new (C as new (...x: unknown[]) => cc.nn.Module)(...a);
  return input ? m.call(input()) : m;
};

export function baselines(): Baseline[] {
  const F = cc.F, nn = cc.nn, img = (): cc.Tensor => T([2, 3, 8, 8]);
  const b: Baseline[] = [
    // creation
    { name: 'zeros', make: () => [[2, 3]], call: fn(cc.zeros) },
    { name: 'full', make: () => [[2, 3], 1.5, { dtype: 'float32' }], call: fn(cc.full) },
    { name: 'arange', make: () => [0, 10, 2], call: fn(cc.arange) },
    { name: 'linspace', make: () => [0, 1, 5], call: fn(cc.linspace) },
    { name: 'eye', make: () => [3, 4], call: fn(cc.eye) },
    { name: 'rand', make: () => [[2, 3], 0, 1], call: fn(cc.rand) },
    { name: 'randn', make: () => [[2, 3], 0, 1], call: fn(cc.randn) },
    { name: 'bernoulli', make: () => [[2, 3], 0.5], call: fn(cc.bernoulli) },
    { name: 'rand (options)', make: () => [[2, 3], { requiresGrad: true }], call: fn(cc.rand) },
    { name: 'randn (options)', make: () => [[2, 3], { requiresGrad: true }], call: fn(cc.randn) },
    { name: 'randint', make: () => [-3, 9, [2, 3], { device: 'cpu' }], call: fn(cc.randint) },
    { name: 'randint (high)', make: () => [9, [4]], call: fn(cc.randint) },
    { name: 'randperm', make: () => [17, { device: 'cpu' }], call: fn(cc.randperm) },
    { name: 'tensor', make: () => [[[1, 2], [3, 4]], { dtype: 'float32' }], call: fn(cc.tensor) },
    // ops
    { name: 'sum', make: () => [T([2, 3, 4]), [0, 2], true], call: fn(cc.sum) },
    { name: 'mean', make: () => [T([2, 3]), 1], call: fn(cc.mean) },
    { name: 'argmax', make: () => [T([2, 3]), 1, false], call: fn(cc.argmax) },
    { name: 'variance', make: () => [T([2, 3]), 1, { correction: 1, keepdim: false }], call: fn(cc.variance) },
    { name: 'clamp', make: () => [T([2, 3]), -0.5, 0.5], call: fn(cc.clamp) },
    { name: 'scale', make: () => [T([2, 3]), 2, 1], call: fn(cc.scale) },
    { name: 'pow', make: () => [T([2, 3]), 2], call: fn(cc.pow) },
    { name: 'matmul', make: () => [T([2, 3]), T([3, 4])], call: fn(cc.matmul) },
    { name: 'reshape', make: () => [T([2, 3]), [3, 2]], call: fn(cc.reshape) },
    { name: 'flatten', make: () => [T([2, 3, 4]), 1, -1], call: fn(cc.flatten) },
    { name: 'squeeze', make: () => [T([2, 1, 3]), 1], call: fn(cc.squeeze) },
    { name: 'unsqueeze', make: () => [T([2, 3]), 1], call: fn(cc.unsqueeze) },
    { name: 'permute', make: () => [T([2, 3, 4]), [2, 0, 1]], call: fn(cc.permute) },
    { name: 'transpose', make: () => [T([2, 3, 4]), 0, 2], call: fn(cc.transpose) },
    { name: 'concat', make: () => [[T([2, 3]), T([1, 3])], 0], call: fn(cc.concat) },
    { name: 'stack', make: () => [[T([2, 3]), T([2, 3])], 1], call: fn(cc.stack) },
    { name: 'split', make: () => [T([5, 3]), [2, 3], 0], call: fn(cc.split) },
    { name: 'chunk', make: () => [T([5, 3]), 2, 0], call: fn(cc.chunk) },
    { name: 'expand', make: () => [T([1, 3]), [4, 3]], call: fn(cc.expand) },
    { name: 'slice', make: () => [T([4, 5]), [1, 2], [2, 3]], call: fn(cc.slice) },
    { name: 'narrow', make: () => [T([4, 5]), 1, 1, 3], call: fn(cc.narrow) },
    { name: 'indexSelect', make: () => [T([4, 5]), 0, I([3, 0, 1])], call: fn(cc.indexSelect) },
    { name: 'gather', make: () => [T([2, 3]), 1, I([0, 2, 1, 1, 0, 0]).reshape([2, 3])], call: fn(cc.gather) },
    { name: 'oneHot', make: () => [I([0, 2, 1]), 3], call: fn(cc.oneHot) },
    { name: 'where', make: () => [cc.gt(T([2, 3]), 0), T([2, 3]), 0], call: fn(cc.where) },
    { name: 'logsumexp', make: () => [T([2, 3]), 1, false], call: fn(cc.logsumexp) },
    { name: 'norm', make: () => [T([2, 3]), { p: 2, dim: 1, keepdim: false }], call: fn(cc.norm) },
    { name: 'flip', make: () => [T([2, 3]), [0, 1]], call: fn(cc.flip) },
    { name: 'repeat', make: () => [T([2, 3]), [2, 1]], call: fn(cc.repeat) },
    { name: 'cumsum', make: () => [T([2, 3]), 1], call: fn(cc.cumsum) },
    { name: 'cumprod', make: () => [T([2, 3]), 0], call: fn(cc.cumprod) },
    { name: 'prod', make: () => [T([2, 3]), 1, true], call: fn(cc.prod) },
    { name: 'cummax', make: () => [T([2, 3]), 1], call: fn(cc.cummax) },
    { name: 'cummin', make: () => [I([2, 3, 1]), 0], call: fn(cc.cummin) },
    { name: 'indexAdd', make: () => [T([3, 2]), 0, I([2, 0, 2, 1]), T([4, 2])], call: fn(cc.indexAdd) },
    { name: 'scatterAdd', make: () => [T([3, 2]), 0, I([0, 2, 2, 1]).reshape([2, 2]), T([3, 2])], call: fn(cc.scatterAdd) },
    { name: 'remainder', make: () => [T([2, 3]), T([3])], call: fn(cc.remainder) },
    { name: 'atan2', make: () => [T([2, 3]), 0.5], call: fn(cc.atan2) },
    { name: 'scatter', make: () => [T([3, 2]), 0, I([0, 2, 1, 0]).reshape([2, 2]), T([2, 2])], call: fn(cc.scatter) },
    { name: 'scatterReduce', make: () => [T([3, 2]), 0, I([0, 2, 2, 0]).reshape([2, 2]), T([2, 2]), 'amax', { includeSelf: false }], call: fn(cc.scatterReduce) },
    { name: 'indexFill', make: () => [T([3, 2]), 1, I([1, -2]), 0.5], call: fn(cc.indexFill) },
    { name: 'indexCopy', make: () => [T([3, 2]), 0, I([2, 0]), T([2, 2])], call: fn(cc.indexCopy) },
    { name: 'indexPut', make: () => [T([3, 2]), [I([2, 0]), I([1, 1])], T([2]), { accumulate: true }], call: fn(cc.indexPut) },
    { name: 'maskedScatter', make: () => [T([2, 3]), cc.gt(T([3]), 0), T([6])], call: fn(cc.maskedScatter) },
    { name: 'take', make: () => [T([2, 3]), I([5, -1, 0])], call: fn(cc.take) },
    { name: 'tensorSplit', make: () => [T([5, 3]), [1, 3], 0], call: fn(cc.tensorSplit) },
    { name: 'isin', make: () => [T([2, 3]), T([4]), { invert: true }], call: fn(cc.isin) },
    { name: 'multinomial', make: () => [cc.rand([2, 4]), 3, { replacement: false }], call: fn(cc.multinomial) },
    { name: 'normal', make: () => [T([2, 3]), cc.rand([3]), undefined, {}], call: fn(cc.normal) },
    { name: 'poisson', make: () => [cc.rand([2, 3], 0, 5)], call: fn(cc.poisson) },
    { name: 'Tensor.add_', make: () => [T([3]), { alpha: 0.5 }], call: (a) => (T([2, 3]).add_ as AnyFn)(...a) },
    { name: 'Tensor.copy_', make: () => [I([1, 2, 3])], call: (a) => (T([2, 3]).copy_ as AnyFn)(...a) },
    { name: 'Tensor.bernoulli_', make: () => [cc.rand([3])], call: (a) => (T([2, 3]).bernoulli_ as AnyFn)(...a) },
    { name: 'linalg.solve', make: () => [T([2, 3, 3]), T([3, 2]), { left: true }], call: fn(cc.linalg.solve) },
    { name: 'linalg.solveTriangular', make: () => [T([2, 3, 3]), T([3, 2]), { upper: true, left: true, unitriangular: false }], call: fn(cc.linalg.solveTriangular) },
    { name: 'linalg.svd', make: () => [T([2, 4, 3]), { fullMatrices: false }], call: fn(cc.linalg.svd) },
    { name: 'linalg.qr', make: () => [T([4, 3]), 'complete'], call: fn(cc.linalg.qr) },
    { name: 'linalg.eigh', make: () => [T([3, 3]), 'U'], call: fn(cc.linalg.eigh) },
    { name: 'linalg.pinv', make: () => [T([3, 4]), { atol: 0.1, rtol: 0.01, hermitian: false }], call: fn(cc.linalg.pinv) },
    { name: 'linalg.lstsq', make: () => [T([5, 3]), T([5, 2]), { rcond: 1e-6, driver: 'gelsd' }], call: fn(cc.linalg.lstsq) },
    { name: 'linalg.matrixNorm', make: () => [T([2, 3, 4]), 'nuc', [0, 2], true], call: fn(cc.linalg.matrixNorm) },
    { name: 'linalg.matrixPower', make: () => [T([2, 3, 3]), -2], call: fn(cc.linalg.matrixPower) },
    { name: 'polygamma', make: () => [2, T([2, 3])], call: fn(cc.polygamma) },
    { name: 'erfinv', make: () => [T([2, 3])], call: fn(cc.erfinv) },
    { name: 'lgamma', make: () => [T([2, 3])], call: fn(cc.lgamma) },
    { name: 'unique dim', make: () => [I([1, 2, 1, 2, 3, 3]).reshape([2, 3]), { dim: 1, returnInverse: true, returnCounts: true, sorted: true }], call: fn(cc.unique) },
    { name: 'uniqueConsecutive', make: () => [T([2, 3]), { dim: 0, returnInverse: true, returnCounts: false }], call: fn(cc.uniqueConsecutive) },
    { name: 'isclose', make: () => [T([2, 3]), T([2, 3]), { rtol: 1e-3, atol: 1e-6, equalNan: true }], call: fn(cc.isclose) },
    { name: 'allclose', make: () => [T([2, 3]), T([3]), { rtol: 1e-3 }], call: fn(cc.allclose) },
    { name: 'any', make: () => [T([2, 3]), [0, 1], true], call: fn(cc.any) },
    { name: 'nonzero', make: () => [cc.gt(T([2, 3]), 0)], call: fn(cc.nonzero) },
    { name: 'maskedSelect', make: () => [T([2, 3]), cc.gt(T([3]), 0)], call: fn(cc.maskedSelect) },
    { name: 'roll', make: () => [T([2, 3]), [1, -1], [0, 1]], call: fn(cc.roll) },
    { name: 'triu', make: () => [T([2, 3]), 1], call: fn(cc.triu) },
    { name: 'F.probout', make: () => [T([2, 4, 3]), 2, { lambda: 2, training: true, dropout: true }], call: fn(cc.F.probout) },
    { name: 'F.largeMarginLogits', make: () => [T([3, 4]), T([5, 4]), I([0, 4, 2]), { margin: 3, beta: 1 }], call: fn(cc.F.largeMarginLogits) },
    { name: 'F.spectralPool2d', make: () => [T([1, 2, 6, 5]), [3, 2]], call: fn(cc.F.spectralPool2d) },
    { name: 'F.tiledConv2d', make: () => [T([1, 2, 6, 5]), T([2, 2, 3, 2, 3, 3]), T([3]), { stride: 1, padding: 1, dilation: 1, groups: 1 }], call: fn(cc.F.tiledConv2d) },
    { name: 'topk', make: () => [T([2, 5]), 3, { dim: 1, largest: true, sorted: true }], call: fn(cc.topk) },
    { name: 'sort', make: () => [T([2, 5]), { dim: 1, descending: true }], call: fn(cc.sort) },
    { name: 'cdist', make: () => [T([3, 4]), T([5, 4]), { p: 2 }], call: fn(cc.cdist) },
    { name: 'searchsorted', make: () => [cc.sort(T([2, 5])).values, T([2, 3]), { right: true, side: 'right' }], call: fn(cc.searchsorted) },
    { name: 'bucketize', make: () => [T([4]), cc.sort(T([5])).values, { right: false }], call: fn(cc.bucketize) },
    { name: 'kthvalue', make: () => [T([3, 5]), 2, 1, true], call: fn(cc.kthvalue) },
    { name: 'median', make: () => [T([3, 5]), 0, false], call: fn(cc.median) },
    { name: 'nanmedian', make: () => [T([3, 5]), -1, true], call: fn(cc.nanmedian) },
    { name: 'mode', make: () => [T([3, 5]), 1, false], call: fn(cc.mode) },
    { name: 'quantile', make: () => [T([3, 5]), [0.25, 0.5], { dim: 1, keepdim: true, interpolation: 'midpoint' }], call: fn(cc.quantile) },
    { name: 'nanquantile', make: () => [T([3, 5]), T([2]).abs().clamp(0, 1), { dim: 0, interpolation: 'nearest' }], call: fn(cc.nanquantile) },
    { name: 'unique', make: () => [I([3, 1, 3, 2]), { sorted: true, returnInverse: true, returnCounts: true }], call: fn(cc.unique) },
    { name: 'bincount', make: () => [I([3, 1, 3, 2]), { weights: T([4]), minlength: 6 }], call: fn(cc.bincount) },
    { name: 'histc', make: () => [T([3, 5]), { bins: 4, min: -1, max: 1 }], call: fn(cc.histc) },
    { name: 'bmm', make: () => [T([2, 3, 4]), T([2, 4, 5])], call: fn(cc.bmm) },
    { name: 'outer', make: () => [T([3]), T([4])], call: fn(cc.outer) },
    { name: 'diag', make: () => [T([3, 4]), 1], call: fn(cc.diag) },
    { name: 'diagonal', make: () => [T([2, 3, 4]), -1, 2, 1], call: fn(cc.diagonal) },
    { name: 'trace', make: () => [T([3, 4])], call: fn(cc.trace) },
    { name: 'meshgrid', make: () => [[T([3]), T([2])], { indexing: 'xy' }], call: fn(cc.meshgrid) },
    { name: 'softmax', make: () => [T([3, 4]), 1], call: fn(cc.softmax) },
    { name: 'logaddexp', make: () => [T([3, 4]), T([4])], call: fn(cc.logaddexp) },
    { name: 'logit', make: () => [cc.rand([3, 4]), 0.1], call: fn(cc.logit) },
    { name: 'xlogy', make: () => [T([3, 4]), cc.rand([3, 1])], call: fn(cc.xlogy) },
    { name: 'lerp', make: () => [T([3, 4]), T([4]), T([3, 1])], call: fn(cc.lerp) },
    { name: 'addcdiv', make: () => [T([3, 4]), T([4]), T([3, 1]), { value: 0.5 }], call: fn(cc.addcdiv) },
    { name: 'heaviside', make: () => [T([3, 4]), T([4])], call: fn(cc.heaviside) },
    { name: 'copysign', make: () => [T([3, 4]), -0], call: fn(cc.copysign) },
    { name: 'nanToNum', make: () => [T([3, 4]), { nan: 1, posinf: 2, neginf: -2 }], call: fn(cc.nanToNum) },
    { name: 'nanmean', make: () => [T([3, 4, 2]), [0, 2], true], call: fn(cc.nanmean) },
    { name: 'countNonzero', make: () => [T([3, 4]), [1]], call: fn(cc.countNonzero) },
    { name: 'amax', make: () => [T([3, 4, 2]), [0, -1], true], call: fn(cc.amax) },
    { name: 'aminmax', make: () => [T([3, 4]), { dim: 1, keepdim: true }], call: fn(cc.aminmax) },
    { name: 'tile', make: () => [T([3, 4]), [2, 1, 2]], call: fn(cc.tile) },
    { name: 'movedim', make: () => [T([2, 3, 4]), [0, 1], [2, 0]], call: fn(cc.movedim) },
    { name: 'swapaxes', make: () => [T([2, 3, 4]), 0, -1], call: fn(cc.swapaxes) },
    { name: 'unflatten', make: () => [T([2, 12]), 1, [3, -1]], call: fn(cc.unflatten) },
    { name: 'hstack', make: () => [[T([2, 3]), T([2, 1])]], call: fn(cc.hstack) },
    { name: 'rot90', make: () => [T([2, 3, 4]), 3, [2, 0]], call: fn(cc.rot90) },
    { name: 'diff', make: () => [T([3, 5]), { n: 2, dim: 1, prepend: T([3, 1]), append: T([3, 2]) }], call: fn(cc.diff) },
    { name: 'takeAlongDim', make: () => [T([2, 3]), I([2, 0, 1]).reshape([1, 3]), 1], call: fn(cc.takeAlongDim) },
    { name: 'tensordot', make: () => [T([2, 3, 4]), T([4, 3]), [[2, 1], [0, 1]]], call: fn(cc.tensordot) },
    { name: 'cross', make: () => [T([2, 1, 3]), T([1, 4, 3]), -1], call: fn(cc.cross) },
    { name: 'kron', make: () => [T([2, 3]), T([2])], call: fn(cc.kron) },
    { name: 'blockDiag', make: () => [[T([2, 2]), T([3]), T([])]], call: fn(cc.blockDiag) },
    { name: 'cartesianProd', make: () => [[T([2]), T([3])]], call: fn(cc.cartesianProd) },
    { name: 'triuIndices', make: () => [4, 5, -1, { device: 'cpu' }], call: fn(cc.triuIndices) },
    { name: 'vander', make: () => [T([4]), 3, true], call: fn(cc.vander) },
    { name: 'cov', make: () => [T([3, 4]), { correction: 0, fweights: I([1, 2, 0, 1]), aweights: cc.rand([4]) }], call: fn(cc.cov) },
    { name: 'logcumsumexp', make: () => [T([3, 5]), 1], call: fn(cc.logcumsumexp) },
    // F
    { name: 'F.leakyRelu', make: () => [T([2, 3]), 0.1], call: fn(F.leakyRelu) },
    { name: 'F.rrelu', make: () => [T([2, 3]), 0.1, 0.3, true], call: fn(F.rrelu) },
    { name: 'F.elu', make: () => [T([2, 3]), 1], call: fn(F.elu) },
    { name: 'F.softplus', make: () => [T([2, 3]), 1, 20], call: fn(F.softplus) },
    { name: 'F.hardtanh', make: () => [T([2, 3]), -1, 1], call: fn(F.hardtanh) },
    { name: 'F.conv2d', make: () => [img(), T([4, 3, 3, 3]), T([4]), { stride: 1, padding: 1, dilation: 1, groups: 1 }], call: fn(F.conv2d) },
    { name: 'F.conv2d groups', make: () => [img(), T([6, 1, 3, 3]), null, { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 3 }], call: fn(F.conv2d) },
    { name: 'F.conv1d', make: () => [T([2, 3, 10]), T([4, 3, 3]), null, { stride: 2, padding: 1, dilation: 1, groups: 1 }], call: fn(F.conv1d) },
    { name: 'F.convTranspose1d', make: () => [T([2, 3, 6]), T([3, 2, 4]), T([2]), { stride: 2, padding: 1, outputPadding: 1, dilation: 1, groups: 1 }], call: fn(F.convTranspose1d) },
    { name: 'F.convTranspose2d', make: () => [img(), T([3, 2, 3, 3]), T([2]), { stride: 2, padding: 1, outputPadding: 1, dilation: 1, groups: 1 }], call: fn(F.convTranspose2d) },
    { name: 'F.linear', make: () => [T([2, 3]), T([4, 3]), T([4])], call: fn(F.linear) },
    { name: 'F.maxPool2d', make: () => [img(), 2, { stride: 2, padding: 1, dilation: 1, ceilMode: true }], call: fn(F.maxPool2d) },
    { name: 'F.maxUnpool2d', make: () => [...F.maxPool2d(T([2, 3, 9, 8]), 2, { returnIndices: true }), 2, { stride: 2, padding: 0, outputSize: [9, 8] }], call: fn(F.maxUnpool2d) },
    { name: 'F.avgPool2d', make: () => [img(), [3, 2], { stride: [2, 1], padding: [1, 1], ceilMode: false, countIncludePad: true, divisorOverride: 3 }], call: fn(F.avgPool2d) },
    { name: 'F.lpPool2d', make: () => [img(), 2, 2, { stride: 2 }], call: fn(F.lpPool2d) },
    { name: 'F.mixedPool2d', make: () => [img(), 2, { stride: 2, lambda: 0.3, mode: 'uniform', training: true }], call: fn(F.mixedPool2d) },
    { name: 'F.stochasticPool2d', make: () => [img(), 3, { stride: 2, padding: 1, ceilMode: true, training: true }], call: fn(F.stochasticPool2d) },
    { name: 'F.adaptiveAvgPool2d', make: () => [img(), [3, 2]], call: fn(F.adaptiveAvgPool2d) },
    { name: 'F.adaptiveMaxPool2d', make: () => [img(), [3, 2]], call: fn(F.adaptiveMaxPool2d) },
    { name: 'F.spatialPyramidPool2d', make: () => [img(), [1, 2, 3], { mode: 'avg' }], call: fn(F.spatialPyramidPool2d) },
    { name: 'F.roiPool', make: () => [img(), cc.tensor([[0, 0, 0, 4, 4], [1, 1, 1, 6, 7]]), [2, 2], 1], call: fn(F.roiPool) },
    { name: 'F.roiAlign', make: () => [img(), cc.tensor([[0, 0, 0, 4, 4], [1, 1, 1, 6, 7]]), [2, 2], { spatialScale: 0.5, samplingRatio: 2, aligned: true }], call: fn(F.roiAlign) },
    { name: 'F.prelu', make: () => [img(), T([3])], call: fn(F.prelu) },
    { name: 'F.maxout', make: () => [T([2, 6, 4, 4]), 3], call: fn(F.maxout) },
    { name: 'F.softmax', make: () => [T([2, 3]), 1], call: fn(F.softmax) },
    { name: 'F.dropout', make: () => [T([2, 3]), 0.3, true], call: fn(F.dropout) },
    { name: 'F.dropout2d', make: () => [img(), 0.3, true], call: fn(F.dropout2d) },
    { name: 'F.localResponseNorm', make: () => [img(), 3, 1e-4, 0.75, 1], call: fn(F.localResponseNorm) },
    { name: 'F.batchNorm', make: () => [img(), cc.zeros([3]), cc.ones([3]), cc.ones([3]), cc.zeros([3]), { training: true, momentum: 0.1, eps: 1e-5 }], call: fn(F.batchNorm), mutates: true },
    { name: 'F.pad', make: () => [img(), [1, 2, 0, 1], 'reflect'], call: fn(F.pad) },
    { name: 'F.pad constant', make: () => [img(), [1, 2, 0, 1], 'constant', 2], call: fn(F.pad) },
    { name: 'F.pixelShuffle', make: () => [T([2, 12, 3, 4]), 2], call: fn(F.pixelShuffle) },
    { name: 'F.pixelUnshuffle', make: () => [img(), 2], call: fn(F.pixelUnshuffle) },
    { name: 'F.interpolate', make: () => [img(), { size: [5, 6], mode: 'bilinear', alignCorners: false }], call: fn(F.interpolate) },
    { name: 'F.interpolate scale', make: () => [img(), { scaleFactor: [2, 1.5], mode: 'nearest' }], call: fn(F.interpolate) },
    { name: 'F.interpolate bicubic', make: () => [img(), { size: [5, 9], mode: 'bicubic', alignCorners: true }], call: fn(F.interpolate) },
    { name: 'F.interpolate antialias', make: () => [img(), { scaleFactor: 0.4, mode: 'bilinear', antialias: true, recomputeScaleFactor: true }], call: fn(F.interpolate) },
    { name: 'F.interpolate area 1-D', make: () => [T([2, 3, 7]), { size: 3, mode: 'area' }], call: fn(F.interpolate) },
    { name: 'F.interpolate trilinear', make: () => [T([1, 2, 3, 4, 5]), { size: [2, 5, 3], mode: 'trilinear' }], call: fn(F.interpolate) },
    { name: 'F.gridSample', make: () => [img(), T([2, 3, 4, 2]), { mode: 'bilinear', paddingMode: 'reflection', alignCorners: true }], call: fn(F.gridSample) },
    { name: 'F.affineGrid', make: () => [T([2, 2, 3]), [2, 3, 5, 6], false], call: fn(F.affineGrid) },
    { name: 'F.gridSample 3-D', make: () => [T([2, 3, 3, 4, 5]), T([2, 2, 3, 4, 3]), { mode: 'bilinear', paddingMode: 'border', alignCorners: false }], call: fn(F.gridSample) },
    { name: 'F.affineGrid 3-D', make: () => [T([2, 3, 4]), [2, 3, 4, 5, 6], true], call: fn(F.affineGrid) },
    { name: 'F.layerNorm', make: () => [img(), [8, 8], { weight: cc.ones([8, 8]), bias: cc.zeros([8, 8]), eps: 1e-5 }], call: fn(F.layerNorm) },
    { name: 'F.groupNorm', make: () => [T([2, 4, 3, 3]), 2, { weight: cc.ones([4]), bias: cc.zeros([4]), eps: 1e-5 }], call: fn(F.groupNorm) },
    { name: 'F.instanceNorm', make: () => [img(), { eps: 1e-5 }], call: fn(F.instanceNorm) },
    { name: 'F.normalize', make: () => [T([2, 3]), { p: 2, dim: 1, eps: 1e-12 }], call: fn(F.normalize) },
    { name: 'F.cosineSimilarity', make: () => [T([2, 3]), T([2, 3]), { dim: 1, eps: 1e-8 }], call: fn(F.cosineSimilarity) },
    { name: 'F.maxUnpool1d', make: () => { const [y, i] = F.maxPool1d(T([2, 3, 8]), 2, { returnIndices: true }); return [y, i, 2, { stride: 2, padding: 0, outputSize: [9] }]; }, call: fn(F.maxUnpool1d) },
    { name: 'F.conv3d', make: () => [T([2, 4, 4, 5, 5]), T([6, 2, 3, 1, 3]), T([6]), { stride: [1, 2, 1], padding: [1, 0, 1], dilation: 1, groups: 2 }], call: fn(F.conv3d) },
    { name: 'F.convTranspose3d', make: () => [T([2, 4, 3, 3, 3]), T([4, 1, 2, 3, 2]), T([2]), { stride: 2, padding: [0, 1, 0], outputPadding: [1, 0, 0], groups: 2, dilation: 1 }], call: fn(F.convTranspose3d) },
    { name: 'F.maxPool3d', make: () => [T([2, 3, 4, 6, 6]), [2, 3, 3], { stride: [1, 2, 2], padding: [1, 1, 0], dilation: 1, ceilMode: true, returnIndices: true }], call: fn(F.maxPool3d) },
    { name: 'F.avgPool3d', make: () => [T([2, 3, 4, 6, 6]), 3, { stride: 2, padding: 1, ceilMode: false, countIncludePad: false, divisorOverride: 4 }], call: fn(F.avgPool3d) },
    { name: 'F.lpPool3d', make: () => [cc.rand([2, 3, 4, 6, 6]), 2, [2, 3, 3], { stride: [1, 2, 2], ceilMode: true }], call: fn(F.lpPool3d) },
    { name: 'F.adaptiveAvgPool3d', make: () => [T([2, 3, 4, 6, 6]), [2, null, 3]], call: fn(F.adaptiveAvgPool3d) },
    { name: 'F.adaptiveMaxPool3d', make: () => [T([3, 4, 6, 6]), [2, 3, 3], { returnIndices: true }], call: fn(F.adaptiveMaxPool3d) },
    { name: 'F.maxUnpool3d', make: () => { const [y, i] = F.maxPool3d(T([2, 3, 4, 6, 6]), 2, { returnIndices: true }); return [y, i, 2, { stride: 2, padding: 0, outputSize: [5, 6, 7] }]; }, call: fn(F.maxUnpool3d) },
    { name: 'F.dropout3d', make: () => [T([2, 3, 2, 2, 2]), 0.5, true], call: fn(F.dropout3d) },
    { name: 'F.pdist', make: () => [T([4, 3]), 2], call: fn(F.pdist) },
    { name: 'F.pairwiseDistance', make: () => [T([2, 3]), T([2, 3]), { p: 2, eps: 1e-6, keepdim: false }], call: fn(F.pairwiseDistance) },
    // losses
    { name: 'F.crossEntropy', make: () => [T([3, 4]), I([0, 3, 1]), { reduction: 'mean', ignoreIndex: 1, labelSmoothing: 0.1, weight: cc.ones([4]) }], call: fn(F.crossEntropy) },
    { name: 'F.nllLoss', make: () => [T([3, 4]), I([0, 3, 1]), { reduction: 'sum', ignoreIndex: -100 }], call: fn(F.nllLoss) },
    { name: 'F.hingeLoss', make: () => [T([3, 4]), I([0, 3, 1]), { reduction: 'mean' }], call: fn(F.hingeLoss) },
    { name: 'F.multiMarginLoss', make: () => [T([3, 4]), I([0, 3, 1]), { p: 2, margin: 1, reduction: 'mean' }], call: fn(F.multiMarginLoss) },
    { name: 'F.contrastiveLoss', make: () => [T([3, 4]), T([3, 4]), I([0, 1, 1]), { margin: 1, reduction: 'mean' }], call: fn(F.contrastiveLoss) },
    { name: 'F.tripletMarginWithDistanceLoss', make: () => [T([3, 4]), T([3, 4]), T([3, 4]), { margin: 1, swap: true, reduction: 'sum' }], call: fn(F.tripletMarginWithDistanceLoss) },
    { name: 'F.tripletMarginLoss', make: () => [T([3, 4]), T([3, 4]), T([3, 4]), { margin: 1, p: 2, eps: 1e-6, swap: false, reduction: 'mean' }], call: fn(F.tripletMarginLoss) },
    { name: 'F.klDiv', make: () => [F.logSoftmax(T([3, 4]), 1), F.softmax(T([3, 4]), 1), { reduction: 'batchmean', logTarget: false }], call: fn(F.klDiv) },
    { name: 'F.mseLoss', make: () => [T([3, 4]), T([3, 4]), { reduction: 'mean' }], call: fn(F.mseLoss) },
    { name: 'F.smoothL1Loss', make: () => [T([3, 4]), T([3, 4]), { beta: 1, reduction: 'mean' }], call: fn(F.smoothL1Loss) },
    { name: 'F.huberLoss', make: () => [T([3, 4]), T([3, 4]), { delta: 1, reduction: 'mean' }], call: fn(F.huberLoss) },
    { name: 'F.binaryCrossEntropy', make: () => [cc.rand([3, 4]), cc.rand([3, 4]), { reduction: 'mean', weight: cc.ones([3, 4]) }], call: fn(F.binaryCrossEntropy) },
    { name: 'F.binaryCrossEntropyWithLogits', make: () => [T([3, 4]), cc.rand([3, 4]), { reduction: 'mean', posWeight: cc.ones([4]) }], call: fn(F.binaryCrossEntropyWithLogits) },
    // layers
    { name: 'nn.Conv2d', make: () => [3, 4, 3, { stride: 1, padding: 1, dilation: 1, groups: 1, bias: true, paddingMode: 'zeros' }], call: ctor(nn.Conv2d, img) },
    { name: 'nn.Conv1d', make: () => [3, 4, 3, { stride: 1, padding: 1 }], call: ctor(nn.Conv1d, () => T([2, 3, 10])) },
    { name: 'nn.ConvTranspose1d', make: () => [3, 2, 4, { stride: 2, padding: 1, outputPadding: 1 }], call: ctor(nn.ConvTranspose1d, () => T([2, 3, 7])) },
    { name: 'nn.Conv3d', make: () => [3, 4, 3, { stride: 1, padding: 'same', dilation: [1, 2, 1], groups: 1, bias: true, paddingMode: 'replicate' }], call: ctor(nn.Conv3d, () => T([2, 3, 4, 5, 6])) },
    { name: 'nn.ConvTranspose3d', make: () => [3, 2, 2, { stride: 2, padding: 0, outputPadding: 1, groups: 1, bias: true, dilation: 2 }], call: ctor(nn.ConvTranspose3d, () => T([2, 3, 2, 3, 2])) },
    { name: 'nn.MaxPool3d', make: () => [[1, 2, 2], { stride: null, padding: 0, dilation: 1, ceilMode: true }], call: ctor(nn.MaxPool3d, () => T([2, 3, 4, 5, 6])) },
    { name: 'nn.AvgPool3d', make: () => [2, { stride: 1, padding: 1, ceilMode: false, countIncludePad: true }], call: ctor(nn.AvgPool3d, () => T([2, 3, 4, 5, 6])) },
    { name: 'nn.BatchNorm3d', make: () => [3, { eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true }], call: ctor(nn.BatchNorm3d, () => T([2, 3, 2, 3, 4])) },
    { name: 'nn.ReflectionPad3d', make: () => [[1, 0, 1, 0, 1, 0]], call: ctor(nn.ReflectionPad3d, () => T([2, 3, 2, 3, 4])) },
    { name: 'nn.UpsamplingBilinear2d', make: () => [{ scaleFactor: 2 }], call: ctor(nn.UpsamplingBilinear2d, img) },
    { name: 'nn.ConvTranspose2d', make: () => [3, 2, 4, { stride: 2, padding: 1, outputPadding: 0 }], call: ctor(nn.ConvTranspose2d, img) },
    { name: 'nn.Linear', make: () => [3, 4, { bias: true }], call: ctor(nn.Linear, () => T([2, 3])) },
    { name: 'nn.DropConnectLinear', make: () => [3, 4, { p: 0.4, bias: true }], call: ctor(nn.DropConnectLinear, () => T([2, 3])) },
    { name: 'nn.Unflatten', make: () => [1, [2, 6]], call: ctor(nn.Unflatten, () => T([2, 12])) },
    { name: 'nn.MaxPool2d', make: () => [3, { stride: 2, padding: 1, dilation: 1, ceilMode: true }], call: ctor(nn.MaxPool2d, img) },
    { name: 'nn.AvgPool2d', make: () => [3, { stride: 2, padding: 1 }], call: ctor(nn.AvgPool2d, img) },
    { name: 'nn.LPPool2d', make: () => [2, 2, { stride: 2 }], call: ctor(nn.LPPool2d, img) },
    { name: 'nn.AdaptiveAvgPool2d', make: () => [[2, 3]], call: ctor(nn.AdaptiveAvgPool2d, img) },
    { name: 'nn.RoIAlign', make: () => [[2, 2], 0.5, 2, true], call: (a) => new (nn.RoIAlign as unknown as new (...x: unknown[]) => cc.nn.Module)(...a).call(img(), cc.tensor([[0, 0, 0, 4, 4]])) },
    { name: 'nn.MaxUnpool2d', make: () => [2, 2, 0], call: (a) => new (nn.MaxUnpool2d as unknown as new (...x: unknown[]) => cc.nn.Module)(...a).call(...F.maxPool2d(img(), 2, { returnIndices: true })) },
    { name: 'nn.PixelShuffle', make: () => [2], call: ctor(nn.PixelShuffle, () => T([2, 12, 3, 4])) },
    { name: 'nn.PixelUnshuffle', make: () => [2], call: ctor(nn.PixelUnshuffle, img) },
    { name: 'nn.Upsample', make: () => [{ scaleFactor: 2, mode: 'nearest' }], call: ctor(nn.Upsample, img) },
    { name: 'nn.Pad2d', make: () => [[1, 1, 2, 0], { mode: 'replicate' }], call: ctor(nn.Pad2d, img) },
    { name: 'nn.LeakyReLU', make: () => [{ negativeSlope: 0.1 }], call: ctor(nn.LeakyReLU, img) },
    { name: 'nn.RReLU', make: () => [0.1, 0.3], call: ctor(nn.RReLU, img) },
    { name: 'nn.SpatialPyramidPool2d', make: () => [[1, 2, 4], { mode: 'max' }], call: ctor(nn.SpatialPyramidPool2d, img) },
    { name: 'nn.StochasticPool2d', make: () => [2, { stride: 1, padding: 1 }], call: ctor(nn.StochasticPool2d, img) },
    { name: 'nn.PReLU', make: () => [{ numParameters: 3, init: 0.25 }], call: ctor(nn.PReLU, img) },
    { name: 'nn.ELU', make: () => [{ alpha: 1 }], call: ctor(nn.ELU, img) },
    { name: 'nn.Hardtanh', make: () => [{ minVal: -2, maxVal: 2 }], call: ctor(nn.Hardtanh, img) },
    { name: 'nn.Softplus', make: () => [{ beta: 2, threshold: 10 }], call: ctor(nn.Softplus, img) },
    { name: 'nn.Maxout', make: () => [3], call: ctor(nn.Maxout, () => T([2, 6, 2, 2])) },
    { name: 'nn.Softmax', make: () => [1], call: ctor(nn.Softmax, img) },
    { name: 'nn.Dropout', make: () => [{ p: 0.2 }], call: ctor(nn.Dropout, img) },
    { name: 'nn.LocalResponseNorm', make: () => [3, { alpha: 1e-4, beta: 0.75, k: 2 }], call: ctor(nn.LocalResponseNorm, img) },
    { name: 'nn.BatchNorm2d', make: () => [3, { eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true }], call: ctor(nn.BatchNorm2d, img) },
    { name: 'nn.BatchNorm1d', make: () => [3, { eps: 1e-5, momentum: 0.1 }], call: ctor(nn.BatchNorm1d, () => T([4, 3])) },
    { name: 'nn.LayerNorm', make: () => [[8, 8], { eps: 1e-5, elementwiseAffine: true }], call: ctor(nn.LayerNorm, img) },
    { name: 'nn.GroupNorm', make: () => [1, 3, { eps: 1e-5, affine: true }], call: ctor(nn.GroupNorm, img) },
    { name: 'nn.InstanceNorm2d', make: () => [3, { eps: 1e-5, affine: true }], call: ctor(nn.InstanceNorm2d, img) },
    { name: 'nn.ModuleDict', make: () => [{ a: new nn.Linear(3, 2), b: new nn.ReLU() }], call: (a) => (new (nn.ModuleDict as unknown as new (...x: unknown[]) => cc.nn.ModuleDict)(...a)).get('a').call(T([2, 3])) },
    { name: 'nn.InstanceNorm2d tracking', make: () => [3, 1e-5, 0.1, true, true], call: ctor(nn.InstanceNorm2d, img) },
    { name: 'F.instanceNorm running', make: () => [img(), { runningMean: cc.zeros([3]), runningVar: cc.ones([3]), momentum: 0.2, useInputStats: true }], call: fn(F.instanceNorm), mutates: true },
    { name: 'nn.CrossEntropyLoss', make: () => [{ reduction: 'mean', labelSmoothing: 0.1 }], call: (a) => new (nn.CrossEntropyLoss as unknown as new (...x: unknown[]) => cc.nn.Module)(...a).call(T([3, 4]), I([0, 1, 2])) },
    { name: 'nn.TripletMarginLoss', make: () => [{ margin: 1, p: 2 }], call: (a) => new (nn.TripletMarginLoss as unknown as new (...x: unknown[]) => cc.nn.Module)(...a).call(T([3, 4]), T([3, 4]), T([3, 4])) },
    { name: 'F.ctcLoss', make: () => [F.logSoftmax(T([6, 2, 4]), 2), I([1, 2, 3, 3, 1]), [6, 5], [3, 2], { blank: 0, reduction: 'mean', zeroInfinity: false }], call: fn(F.ctcLoss) },
    { name: 'F.ctcLoss padded', make: () => [T([6, 2, 4]), cc.tensor([[1, 2, 3], [3, 1, 1]], { dtype: 'int32' }), cc.tensor([6, 5], { dtype: 'int32' }), cc.tensor([3, 2], { dtype: 'int32' }), { blank: 0, reduction: 'sum', zeroInfinity: true }], call: fn(F.ctcLoss) },
    { name: 'nn.MultiMarginLoss', make: () => [{ p: 1, margin: 0.5 }], call: (a) => new (nn.MultiMarginLoss as unknown as new (...x: unknown[]) => cc.nn.Module)(...a).call(T([3, 4]), I([0, 1, 2])) },
    // init
    { name: 'nn.init.uniform_', make: () => [T([3, 4]), -1, 1], call: fn(nn.init.uniform_), mutates: true },
    { name: 'nn.init.normal_', make: () => [T([3, 4]), 0, 1], call: fn(nn.init.normal_), mutates: true },
    { name: 'nn.init.truncNormal_', make: () => [T([3, 4]), 0, 0.5, -1, 1], call: fn(nn.init.truncNormal_), mutates: true },
    { name: 'nn.init.kaimingUniform_', make: () => [T([3, 4]), { a: 0, mode: 'fanIn', nonlinearity: 'relu' }], call: fn(nn.init.kaimingUniform_), mutates: true },
    { name: 'nn.init.xavierNormal_', make: () => [T([3, 4]), 1], call: fn(nn.init.xavierNormal_), mutates: true },
    { name: 'nn.init.calculateGain', make: () => ['leaky_relu', 0.2], call: fn(nn.init.calculateGain) },
    // nn.utils (batch norm folding) and module surgery
    { name: 'nn.utils.fuseConvBnWeights', make: () => [T([4, 3, 3, 3]), T([4]), T([4]), cc.rand([4]), 1e-5, T([4]), T([4]), false], call: fn(nn.utils.fuseConvBnWeights) },
    { name: 'nn.utils.fuseConvBnEval', make: () => [new nn.Conv2d(3, 4, 3).eval(), new nn.BatchNorm2d(4).eval()], call: fn(nn.utils.fuseConvBnEval) },
    { name: 'nn.utils.fuseLinearBnEval', make: () => [new nn.Linear(3, 4).eval(), new nn.BatchNorm1d(4).eval()], call: fn(nn.utils.fuseLinearBnEval) },
    { name: 'nn.utils.fuseModules', make: () => [smallNet().eval(), [['0', '1', '2']]], call: fn(nn.utils.fuseModules) },
    { name: 'nn.utils.fuseConvBn', make: () => [smallNet().eval()], call: fn(nn.utils.fuseConvBn) },
    { name: 'Module.setSubmodule', make: () => ['0', new nn.Conv2d(1, 2, 3, { padding: 1 })], call: (a) => smallNet().setSubmodule(a[0] as string, a[1] as cc.nn.Module) },
    { name: 'Module.getSubmodule', make: () => ['4'], call: (a) => smallNet().getSubmodule(a[0] as string) },
    // optim
    { name: 'optim.SGD', make: () => [[G([3])], { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true }], call: (a) => optStep(cc.optim.SGD, a) },
    { name: 'optim.Adam', make: () => [[G([3])], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true }], call: (a) => optStep(cc.optim.Adam, a) },
    { name: 'optim.AdamW', make: () => [[G([3])], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }], call: (a) => optStep(cc.optim.AdamW, a) },
    { name: 'optim.RMSprop', make: () => [[G([3])], { lr: 0.1, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0.5, centered: true }], call: (a) => optStep(cc.optim.RMSprop, a) },
    { name: 'optim.Adagrad', make: () => [[G([3])], { lr: 0.1, lrDecay: 0.01, weightDecay: 0, initialAccumulatorValue: 0.1, eps: 1e-10 }], call: (a) => optStep(cc.optim.Adagrad, a) },
    { name: 'optim.StepLR', make: () => [{ stepSize: 2, gamma: 0.5 }], call: (a) => schedStep(cc.optim.StepLR, a) },
    { name: 'optim.MultiStepLR', make: () => [{ milestones: [1, 3], gamma: 0.5 }], call: (a) => schedStep(cc.optim.MultiStepLR, a) },
    { name: 'optim.ExponentialLR', make: () => [{ gamma: 0.5 }], call: (a) => schedStep(cc.optim.ExponentialLR, a) },
    { name: 'optim.CosineAnnealingLR', make: () => [{ tMax: 10, etaMin: 0.001 }], call: (a) => schedStep(cc.optim.CosineAnnealingLR, a) },
    { name: 'optim.LinearLR', make: () => [{ startFactor: 0.5, endFactor: 1, totalIters: 4 }], call: (a) => schedStep(cc.optim.LinearLR, a) },
    { name: 'optim.OneCycleLR', make: () => [{ maxLr: 0.1, totalSteps: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 }], call: (a) => schedStep(cc.optim.OneCycleLR, a) },
    { name: 'optim.ReduceLROnPlateau', make: () => [{ mode: 'min', factor: 0.5, patience: 1, threshold: 1e-4, cooldown: 0, minLr: 0 }], call: (a) => schedStep(cc.optim.ReduceLROnPlateau, a, 1) },
    { name: 'optim.clipGradNorm', make: () => [[withGrad()], 1, 2], call: fn(cc.optim.clipGradNorm), mutates: true },
    { name: 'optim.clipGradValue', make: () => [[withGrad()], 0.5], call: fn(cc.optim.clipGradValue), mutates: true },
    { name: 'optim.sgdStep', make: () => [T([3]), T([3]), cc.zeros([3]), { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, firstStep: true }], call: fn(cc.optim.sgdStep), mutates: true },
    { name: 'optim.adamStep', make: () => [T([3]), T([3]), cc.zeros([3]), cc.zeros([3]), null, { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, step: 1, decoupled: false }], call: fn(cc.optim.adamStep), mutates: true },
    // vision, metrics, data
    { name: 'vision.kmeans', make: () => [T([12, 3]), 3, { maxIter: 10, seed: 1 }], call: (a) => (cc.vision.kmeans as (...x: unknown[]) => { centers: cc.Tensor })(...a).centers },
    { name: 'F.vlad', make: () => [T([2, 5, 3]), T([4, 3]), { intraNorm: true, l2Norm: true }], call: fn(F.vlad) },
    { name: 'models.multiScaleOrderlessPooling', make: () => [img(), (b: cc.Tensor) => cc.mean(b, [2, 3]), [{ patch: 'global' }, { patch: 4, stride: 2, centers: T([2, 3]) }], { inputSize: 6, batchSize: 4 }], call: fn(cc.models.multiScaleOrderlessPooling) },
    { name: 'vision.boxIou', make: () => [cc.tensor([[0, 0, 4, 4]]), cc.tensor([[1, 1, 5, 5], [0, 0, 2, 2]])], call: fn(cc.vision.boxIou) },
    { name: 'vision.boxConvert', make: () => [cc.tensor([[0, 0, 4, 4]]), 'xyxy', 'cxcywh'], call: fn(cc.vision.boxConvert) },
    { name: 'vision.nms', make: () => [cc.tensor([[0, 0, 4, 4], [1, 1, 5, 5]]), cc.tensor([0.9, 0.8]), 0.5], call: fn(cc.vision.nms) },
    { name: 'vision.batchedNms', make: () => [cc.tensor([[0, 0, 4, 4], [1, 1, 5, 5]]), cc.tensor([0.9, 0.8]), I([0, 1]), 0.5], call: fn(cc.vision.batchedNms) },
    { name: 'vision.encodeBoxes', make: () => [cc.tensor([[0, 0, 4, 4]]), cc.tensor([[1, 1, 5, 5]]), [10, 10, 5, 5]], call: fn(cc.vision.encodeBoxes) },
    { name: 'vision.decodeBoxes', make: () => [cc.tensor([[0.1, 0.1, 0.2, 0.2]]), cc.tensor([[1, 1, 5, 5]]), [10, 10, 5, 5]], call: fn(cc.vision.decodeBoxes) },
    { name: 'metrics.retrieval.recallAtK', make: () => [T([4, 3]), I([0, 1, 0, 1]), T([5, 3]), I([0, 1, 0, 1, 1]), [1, 2]], call: fn(cc.metrics.retrieval.recallAtK) },
    { name: 'metrics.segmentation.confusionMatrix', make: () => [I([0, 1, 2, 1]), I([0, 1, 1, 1]), 3, { ignoreIndex: 255 }], call: fn(cc.metrics.segmentation.confusionMatrix) },
    { name: 'viz.confusionMatrix', make: () => [I([0, 1, 2]), I([0, 2, 2]), 3], call: fn(cc.viz.confusionMatrix) },
    { name: 'data.DataLoader', make: () => [new cc.data.ArrayDataset(new Float32Array(6 * 4), [6, 1, 2, 2], [0, 1, 0, 1, 0, 1]), { batchSize: 4, shuffle: true, seed: 3, dropLast: false }], call: (a) => { const l = new cc.data.DataLoader(...(a as [never, never])); for (const { x, y } of l) { x.dispose(); y.dispose(); } return l.length; } },
    { name: 'data.ArrayDataset', make: () => [new Float32Array(6), [3, 2], [0, 1, 2]], call: (a) => new cc.data.ArrayDataset(...(a as [never, never, never])).get(2) },
    { name: 'data.imageToValues', make: () => [{ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }, { size: [3, 3], channels: 3 }], call: fn(cc.data.imageToValues) },
    { name: 'data.encodeIdx', make: () => ['int16', [2, 2], [1, 2, 3, 4]], call: fn(cc.data.encodeIdx) },
    { name: 'data.philox4x32', make: () => [1, 2, 3, 4, 5, 6, new Uint32Array(4)], call: fn(cc.data.philox4x32) },
    { name: 'data.PhiloxStream', make: () => [1, 2, 3, 4], call: (a) => new (cc.data.PhiloxStream as unknown as new (...x: unknown[]) => { below(n: number): number })(...a).below(10) },
    { name: 'Tensor.backward', make: () => [undefined, { retainGraph: false }], call: (a) => { const x = G([3]); cc.sum(cc.mul(x, x)).backward(...(a as [never, never])); return x.grad; } },
    { name: 'Module.summary', make: () => [[1, 3, 8, 8]], call: (a) => new cc.nn.Conv2d(3, 2, 3).summary(...(a as [never])) },
    { name: 'Module.fit', make: () => [smallData(), { epochs: 2, batchSize: 4, optimizer: 'sgd', lr: 0.1, verbose: 0, shuffle: true, seed: 1, clipGradNorm: 1, validationData: smallData(), validationBatchSize: 4, metrics: ['accuracy'], normalize: { mean: [0.5], std: [0.2] }, dropLast: false }], call: (a) => trainOn('fit', a) },
    { name: 'Module.evaluate', make: () => [smallData(), { batchSize: 4, metrics: ['accuracy'], normalize: { mean: 0.5, std: 0.2 } }], call: (a) => trainOn('evaluate', a) },
    { name: 'Module.predict', make: () => [smallData(), { batchSize: 4 }], call: (a) => trainOn('predict', a) },
    { name: 'io.serializeSafetensors', make: () => [{ w: T([2, 3]), n: I([1, 2]) }, { note: 'x' }], call: (a) => cc.io.loadSafetensors((cc.io.serializeSafetensors as AnyFn)(...a) as Uint8Array, { convert: true }) },
    { name: 'io.saveSafetensors', make: () => ['w.safetensors', { w: T([2, 3]) }, { note: 'x' }], call: fn(cc.io.saveSafetensors) },
    { name: 'viz.filtersPng', make: () => [T([4, 3, 3, 3]), 'f.png', { scale: 2, gap: 1, cols: 2 }], call: fn(cc.viz.filtersPng) },
    { name: 'viz.featureMapsPng', make: () => [T([1, 4, 5, 5]), 'm.png', { scale: 2, gap: 1, cols: 2 }], call: fn(cc.viz.featureMapsPng) },
    { name: 'viz.confusionMatrixSvg', make: () => [[[3, 1], [0, 2]], 'c.svg', { labels: ['a', 'b'], title: 't' }], call: fn(cc.viz.confusionMatrixSvg) },
    { name: 'callbacks.earlyStopping', make: () => [{ monitor: 'loss', patience: 2, minDelta: 0.01, mode: 'min' }], call: (a) => trainOn('fit', [smallData(), { epochs: 3, verbose: 0, callbacks: [(cc.callbacks.earlyStopping as AnyFn)(...a)] }]) },
    { name: 'callbacks.lrScheduler', make: () => [(o: cc.optim.Optimizer) => new cc.optim.StepLR(o, { stepSize: 1, gamma: 0.5 })], call: (a) => trainOn('fit', [smallData(), { epochs: 2, verbose: 0, callbacks: [(cc.callbacks.lrScheduler as AnyFn)(...a)] }]) },
    { name: 'metrics.detection.averagePrecision', make: () => [[{ boxes: [[0, 0, 4, 4], [1, 1, 3, 3]], scores: [0.9, 0.5], labels: [1, 1] }], [{ boxes: [[0, 0, 4, 4]], labels: [1] }], 1, { iouThreshold: 0.5 }], call: fn(cc.metrics.detection.averagePrecision) },
    { name: 'metrics.retrieval.meanAveragePrecision', make: () => [T([4, 3]), I([0, 1, 0, 1]), T([5, 3]), I([0, 1, 0, 1, 1]), { metric: 'cosine' }], call: fn(cc.metrics.retrieval.meanAveragePrecision) },
    { name: 'vision.roiAlign', make: () => [T([2, 3, 8, 8]), cc.tensor([[0, 0, 0, 4, 4]]), [2, 2], { spatialScale: 1, samplingRatio: 2, aligned: false }], call: fn(cc.vision.roiAlign) },
    { name: 'Tensor.toType', make: () => ['int32'], call: (a) => (T([2, 3]).toType as AnyFn)(...a) },
    { name: 'Tensor.var', make: () => [1, { correction: 1, keepdim: true }], call: (a) => (T([2, 3]).var as AnyFn)(...a) },
    { name: 'models.resnet18', make: () => [{ numClasses: 10, inChannels: 1, cifar: true }], call: fn(cc.models.resnet18) },
    { name: 'models.LeNet5', make: () => [{ numClasses: 10 }], call: fn(cc.models.LeNet5) },
    { name: 'models.BasicConv2d', make: () => [3, 4, 3, { stride: 2, padding: 1 }], call: ctor(cc.models.BasicConv2d, img) },
    { name: 'models.Inception', make: () => [3, 2, 2, 3, 1, 2, 2], call: ctor(cc.models.Inception, img) },
    { name: 'models.InceptionAux', make: () => [3, 5, { dropout: 0.5 }], call: ctor(cc.models.InceptionAux, img) },
    { name: 'models.InvertedResidual', make: () => [3, 3, 1, 2], call: ctor(cc.models.InvertedResidual, img) },
    { name: 'models.DenseBlock', make: () => [2, 3, 2, 4], call: ctor(cc.models.DenseBlock, img) },
    { name: 'models.DenseLayer', make: () => [3, 4, 2], call: ctor(cc.models.DenseLayer, img) },
    { name: 'models.NiN', make: () => [{ numClasses: 3, inChannels: 1, dropout: 0.2 }], call: fn(cc.models.NiN) },
    { name: 'models.mlpconv', make: () => [3, [4, 4, 2], 3, 1], call: (a) => (cc.models.mlpconv as AnyFn)(...a) },
    { name: 'models.InceptionA', make: () => [3, 4], call: ctor(cc.models.InceptionA, img) },
    { name: 'models.InceptionC', make: () => [3, 4], call: ctor(cc.models.InceptionC, img) },
    { name: 'models.InceptionE', make: () => [3], call: ctor(cc.models.InceptionE, img) },
    { name: 'nn.utils.prune.l1Unstructured', make: () => [new nn.Linear(4, 3), 'weight', 0.5, { importanceScores: T([3, 4]) }], call: fn(nn.utils.prune.l1Unstructured), mutates: true },
    { name: 'nn.utils.prune.lnStructured', make: () => [new nn.Conv2d(3, 4, 3), 'weight', 0.5, 2, 0], call: fn(nn.utils.prune.lnStructured), mutates: true },
    { name: 'nn.utils.prune.randomStructured', make: () => [new nn.Conv2d(3, 4, 3), 'weight', 2, 1], call: fn(nn.utils.prune.randomStructured), mutates: true },
    { name: 'nn.utils.prune.globalUnstructured', make: () => [[[new nn.Linear(4, 3), 'weight'], [new nn.Linear(3, 2), 'weight']], { amount: 0.3, pruningMethod: 'l1' }], call: fn(nn.utils.prune.globalUnstructured), mutates: true },
    { name: 'nn.utils.rnn.packPaddedSequence', make: () => [T([4, 3, 2]), [4, 2, 1], { batchFirst: false, enforceSorted: true }], call: fn(nn.utils.rnn.packPaddedSequence) },
    { name: 'nn.utils.rnn.padPackedSequence', make: () => [nn.utils.rnn.packSequence([T([3, 2]), T([1, 2])]), { batchFirst: true, paddingValue: 0, totalLength: 4 }], call: fn(nn.utils.rnn.padPackedSequence) },
    { name: 'nn.utils.rnn.padSequence', make: () => [[T([3, 2]), T([1, 2])], { batchFirst: true, paddingValue: -1 }], call: fn(nn.utils.rnn.padSequence) },
    { name: 'nn.utils.rnn.packSequence', make: () => [[T([1, 2]), T([3, 2])], { enforceSorted: false }], call: fn(nn.utils.rnn.packSequence) },
    { name: 'nn.quantizeDynamic', make: () => [new nn.Sequential(new nn.Conv2d(3, 2, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(72, 4)), { types: [nn.Linear, nn.Conv2d] }], call: (a) => ((nn.quantizeDynamic as AnyFn)(...a) as cc.nn.Module).call(img()), mutates: true },
    { name: 'nn.QuantizedLinear.fromFloat', make: () => [new nn.Linear(4, 3)], call: (a) => ((nn.QuantizedLinear.fromFloat as AnyFn)(...a) as cc.nn.Module).call(T([2, 4])) },
    { name: 'nn.QuantizedLinear', make: () => [4, 3, { bias: false }], call: ctor(nn.QuantizedLinear, () => T([2, 5, 4])) },
    { name: 'nn.QuantizedConv2d', make: () => [3, 4, [3, 2], { stride: 2, padding: 1, dilation: [1, 2], groups: 1, bias: true, paddingMode: 'reflect' }], call: ctor(nn.QuantizedConv2d, img) },
    { name: 'F.embeddingBag', make: () => [cc.tensor(Int32Array.from([1, 0, 3, 2, 2]), { dtype: 'int32' }), T([4, 3]), [0, 2, 2], { mode: 'sum', perSampleWeights: T([5]), paddingIdx: 0, maxNorm: 2, normType: 2, includeLastOffset: false }], call: fn(F.embeddingBag) },
    { name: 'nn.EmbeddingBag', make: () => [6, 3, { mode: 'max', paddingIdx: 1, maxNorm: 1, normType: 2, scaleGradByFreq: false }], call: ctor(nn.EmbeddingBag, () => cc.tensor(Int32Array.from([1, 5, 4, 0]), { dtype: 'int32', shape: [2, 2] })) },
    { name: 'nn.LSTM', make: () => [3, 4, { numLayers: 2, bias: true, batchFirst: false, dropout: 0, bidirectional: true, projSize: 2 }], call: ctor(nn.LSTM, () => T([5, 2, 3])) },
    { name: 'nn.GRU', make: () => [3, 4, { numLayers: 1, bias: false, batchFirst: true }], call: ctor(nn.GRU, () => T([2, 5, 3])) },
    { name: 'nn.LSTMCell', make: () => [3, 4, { bias: true }], call: ctor(nn.LSTMCell, () => T([2, 3])) },
    { name: 'nn.QuantizedLSTM.fromFloat', make: () => [new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true })], call: (a) => ((nn.QuantizedLSTM.fromFloat as AnyFn)(...a) as cc.nn.Module).call(T([5, 2, 3])) },
    { name: 'nn.QuantizedLSTM', make: () => [3, 4, { numLayers: 2, bias: true, batchFirst: true, dropout: 0, bidirectional: true }], call: ctor(nn.QuantizedLSTM, () => T([2, 5, 3])) },
    { name: 'nn.QuantizedGRU', make: () => [3, 4, { bias: false }], call: ctor(nn.QuantizedGRU, () => T([5, 2, 3])) },
    { name: 'nn.QuantizedRNNCell', make: () => [3, 4, { bias: true, nonlinearity: 'relu' }], call: ctor(nn.QuantizedRNNCell, () => T([2, 3])) },
    { name: 'nn.QuantizedLSTMCell', make: () => [3, 4, { bias: true }], call: ctor(nn.QuantizedLSTMCell, () => T([2, 3])) },
    { name: 'onnx.export', make: () => [new nn.Sequential(new nn.Conv2d(3, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(72, 4)), [img()], null, { inputNames: ['x'], outputNames: ['y'], dynamicAxes: { x: { 0: 'batch' }, y: [0] }, opsetVersion: 17, docString: 'fuzz' }], call: fn(cc.onnx.export) },
    { name: 'nn.QuantizedGRUCell.fromFloat', make: () => [new nn.GRUCell(3, 4)], call: (a) => ((nn.QuantizedGRUCell.fromFloat as AnyFn)(...a) as cc.nn.Module).call(T([2, 3])) },
    { name: 'einsum', make: () => ['bij,bjk->bik', T([2, 3, 4]), T([2, 4, 5])], call: fn(cc.einsum) },
    { name: 'F.unfold', make: () => [T([2, 3, 6, 5]), [3, 2], { dilation: [1, 2], padding: 1, stride: 2 }], call: fn(F.unfold) },
    { name: 'F.fold', make: () => [T([2, 12, 6]), [5, 4], [2, 2], { dilation: 1, padding: [0, 1], stride: 2 }], call: fn(F.fold) },
    { name: 'nn.Unfold', make: () => [3, { dilation: 1, padding: 1, stride: 2 }], call: ctor(nn.Unfold, img) },
    { name: 'nn.Fold', make: () => [[4, 4], 2, { stride: 2 }], call: ctor(nn.Fold, () => T([2, 8, 4])) },
  ];
  return b;
}

function smallData(): cc.data.ArrayDataset {
  return new cc.data.ArrayDataset(Float32Array.from({ length: 8 * 4 }, (_, i) => (i % 7) / 7), [8, 1, 2, 2], [0, 1, 2, 0, 1, 2, 0, 1]);
}

/**
 * fit / evaluate / predict on a small model. When the call fails with a typed error, the model's
 * weights must be as they were if it failed before training began (fit checks its options
 * first): a changed weight is reported as a LOST error.
 */
async function trainOn(method: 'fit' | 'evaluate' | 'predict', a: unknown[]): Promise<unknown> {
  cc.manualSeed(3);
  const model = new cc.nn.Sequential(new cc.nn.Flatten(), new cc.nn.Linear(4, 3));
  const before = bytesOf(model.namedParameters());
  try {
    const r = await (model as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[method](...a);
    if (r && typeof r === 'object' && 'dispose' in r) (r as cc.Tensor).dispose();
    return undefined;
  } catch (e) {
    const changed = sameBytes(before, bytesOf(model.namedParameters()));
    if (isTyped(e) && changed.length && (method !== 'fit' || !/epoch|batch \d/.test((e as Error).message))) {
      throw new Error(`LOST: ${method} threw ${(e as cc.ConvnetError).code} (${(e as Error).message.slice(0, 120)}) after changing ${changed.join(', ')}`);
    }
    throw e;
  } finally {
    model.dispose();
  }
}

function withGrad(): cc.Tensor {
  const p = G([3]);
  cc.sum(cc.mul(p, p)).backward();
  return p;
}

function optStep(C: unknown, a: unknown[]): unknown {
  const opt = new (C as new (...x: unknown[]) => cc.optim.Optimizer)(...a);
  const params = opt.paramGroups.flatMap((g) => g.params);
  cc.sum(cc.stack(params.map((p) => cc.sum(cc.mul(p, p))))).backward();
  opt.step();
  opt.step();
  return params;
}

function schedStep(C: unknown, a: unknown[], metric?: number): unknown {
  const opt = new cc.optim.SGD([G([2])], { lr: 0.1, momentum: 0.9 });
  const s = new (C as new (...x: unknown[]) => { step(m?: number): void; getLastLr?(): number[] })(opt, ...a);
  for (let i = 0; i < 5; i++) s.step(metric);
  return opt.paramGroups[0].lr;
}

/** Values put in place of an argument, an array entry or an option. */
const MUTANTS: (() => unknown)[] = [
  ...BAD_NUMBERS.map((v) => () => v), () => 0, () => undefined, () => null, () => 'x', () => 'constructor', () => true, () => ({}), () => [], () => Symbol('s'),
  () => 10n, () => Object.create(null), () => new Array(2 ** 31 - 1), () => [2 ** 31, 2 ** 31], () => cc.zeros([2], { dtype: 'int32' }), () => { const t = cc.zeros([2]); t.dispose(); return t; },
  () => cc.zeros([0, 3]), () => cc.tensor(NaN),
];

export interface Mutation { base: Baseline; what: string; mutant: number; apply: (args: unknown[], v: unknown) => void }

/** Every (baseline, place, bad value) triple, in a fixed order. */
export function mutationList(): Mutation[] {
  const out: Mutation[] = [];
  for (const base of baselines()) {
    let args: unknown[];
    try {
      args = cc.tidy(() => base.make());
    } catch {
      continue;
    }
    const places: [string, (a: unknown[], v: unknown) => void][] = [];
    args.forEach((a, i) => {
      places.push([`arg${i}`, (x, v) => { x[i] = v; }]);
      if (Array.isArray(a) && a.length <= 8 && a.every((e) => typeof e === 'number' || Array.isArray(e))) {
        a.forEach((_e, j) => places.push([`arg${i}[${j}]`, (x, v) => { (x[i] as unknown[])[j] = v; }]));
      }
      if (a && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
        for (const [k, e] of Object.entries(a)) {
          places.push([`arg${i}.${k}`, (x, v) => { (x[i] as Record<string, unknown>)[k] = v; }]);
          if (Array.isArray(e) && e.length <= 4) e.forEach((_y, j) => places.push([`arg${i}.${k}[${j}]`, (x, v) => { ((x[i] as Record<string, unknown[]>)[k])[j] = v; }]));
        }
      }
    });
    places.push([`arg${args.length}`, (x, v) => { x[args.length] = v; }]);
    for (const [what, apply] of places) for (let m = 0; m < MUTANTS.length; m++) out.push({ base, what, mutant: m, apply });
  }
  return out;
}

/** Runs mutation `index` of `list`. */
export async function runMutation(list: Mutation[], index: number): Promise<Outcome> {
  const mu = list[index];
  const outcome: Outcome = { case: index, target: `${mu.base.name} ${mu.what}`, kind: 'ok' };
  const made: cc.Tensor[] = [];
  const snapshot: { t: cc.Tensor; bytes: string }[] = [];
  let value: unknown;
  try {
    const args = mu.base.make();
    value = MUTANTS[mu.mutant]();
    // fit for 2^31 epochs is a valid (very long) run, as in Keras or TF.js: not a hang to report.
    if (/\.epochs$/.test(mu.what) && Number.isSafeInteger(value) && (value as number) > 1000) return outcome;
    mu.apply(args, value);
    const collect = (v: unknown, d = 0): void => {
      if (v instanceof cc.Tensor) {
        made.push(v);
        if (!v.isDisposed) snapshot.push({ t: v, bytes: Buffer.from(v.dataSync().buffer).toString('base64') });
      } else if (d < 3 && Array.isArray(v) && v.length < 16) v.forEach((x) => collect(x, d + 1));
      else if (d < 3 && v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => collect(x, d + 1));
    };
    collect(args);
    outcome.args = `${show(value)}`;
    try {
      let promise: Promise<unknown> | undefined;
      cc.tidy(() => {
        const r = mu.base.call(args);
        if (r instanceof Promise) promise = r;
        else settle(r);
      });
      if (promise) await promise;
    } catch (e) {
      outcome.kind = isTyped(e) ? 'typed' : 'untyped';
      outcome.detail = isTyped(e) ? `${(e as cc.ConvnetError).code}: ${(e as Error).message.slice(0, 200)}` : `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`.slice(0, 300) + '\n' + ((e as Error)?.stack ?? '').split('\n').slice(1, 5).join('\n');
      if (isTyped(e) && !mu.base.mutates) {
        const lost = snapshot.filter((s) => s.t.isDisposed || Buffer.from(s.t.dataSync().buffer).toString('base64') !== s.bytes);
        if (lost.length) {
          outcome.kind = 'lost';
          outcome.detail = `${(e as cc.ConvnetError).code} but ${lost.length} input tensor(s) disposed or changed`;
        }
      }
    }
  } finally {
    for (const t of made) t.dispose();
  }
  if (outcome.kind === 'ok' && typeof value === 'number' && BAD_NUMBERS.some((b) => Object.is(b, value))) outcome.suspicious = `${outcome.target}=${show(value)}`;
  return outcome;
}

// Last: the constants above must exist before main runs.
if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
