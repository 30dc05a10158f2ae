/**
 * Lifetime of tensors: `tidy` scopes, the FinalizationRegistry safety net, and `memory()`.
 *
 * Native memory is freed when the last reference goes: the JavaScript tensor's (dropped by
 * `dispose()`, by a `tidy` scope, or by the registry once the tensor is garbage collected)
 * and those of queued ops that still need it.
 */
import { ConvnetError } from './errors';
import { native, type Handle } from './native';
import type { Tensor } from './tensor';
import { describe } from './validate';

/** Frees the native side of tensors that were garbage collected without `dispose()`. */
const registry = new FinalizationRegistry<Handle>((handle) => {
  try {
    native.release(handle);
  } catch {
    // Already released: nothing to do.
  }
});

const scopes: Set<Tensor>[] = [];

let createHook: ((t: Tensor) => void) | null = null;

/** @internal Installs (or with null removes) a function told of every tensor made: onnx.export's tracer (lib/onnx/trace.ts). */
export function setCreateHook(hook: ((t: Tensor) => void) | null): void {
  createHook = hook;
}

let constantHook: ((t: Tensor) => void) | null = null;

/** @internal Installs (or with null removes) a function told of every tensor `full` makes (zeros, ones): onnx.export's tracer. */
export function setConstantHook(hook: ((t: Tensor) => void) | null): void {
  constantHook = hook;
}

/** @internal Says that `t` holds one value everywhere, made from no data (`full`): a constant a tracer may keep. */
export function markConstant<T extends Tensor>(t: T): T {
  if (constantHook !== null) constantHook(t);
  return t;
}

/** Called by the Tensor constructor. */
export function track(t: Tensor, handle: Handle): void {
  if (createHook !== null) createHook(t);
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) {
    scope.add(t);   // Note [scoped tensors are not registered]
  } else {
    registry.register(t, handle, t);
  }
  const shape = t.shape;
  let elements = 1;
  for (let i = 0; i < shape.length; i++) elements *= shape[i];   // not t.size: its for-of was ~2% of a small op
  watchTurns(elements);
}

// Note [scoped tensors are not registered]: a tensor made inside a scope (`tidy`, a module's
// forward, a backward function) is not put in the FinalizationRegistry: the scope holds it
// strongly, so it cannot be collected while there, and when the scope ends it is either
// disposed or handed on (returned to the enclosing scope, or kept). Registering and
// unregistering cost ~0.5 us a tensor, a third of a small op (`bench/op-overhead.ts`). The
// invariant: a live tensor in no scope is registered. So whatever leaves the last scope is
// registered then: returned out of the outermost `tidy` (runScope), `keep()`, a forward's
// Promise with no enclosing scope, and `adopt()` with no scope open (collectCreated's tensors
// are disposed or adopted by its caller). Registering a tensor twice is harmless (each cell
// frees the same handle; the second finds it stale, a no-op), but `safetyNet` avoids it.

/** Puts a live tensor in the registry (once: any earlier cell is dropped first). */
function safetyNet(t: Tensor): void {
  if (t.isDisposed) return;
  registry.unregister(t);
  registry.register(t, t.handle(), t);
}

// Note [loops that never yield]: a synchronous loop that never awaits (`for (...) { loss = ...;
// loss.backward(); opt.step(); }`, as written in PyTorch) has two ways to pile up memory.
//
// The queue's backlog: the JavaScript thread only enqueues, and runs ahead of the worker. A
// loop that disposes everything (each step in `tidy`) still held every queued step's tensors:
// a small CNN's loop (24 ops a step) 1.2 GB after 50 steps, growing without bound. So, every
// 256 tensors made without a turn, the bytes alive are compared with those after the last
// drain (or at the turn's first check), and kDrainBytes more wait for the queue
// (`drainQueue`, whose pending error the next sync still throws): the backlog never holds much
// more than that. (Also every 2^24 elements made, so that big tensors are checked sooner.) It
// costs the worker one idle moment a drain, and nothing to a loop that yields (fit() awaits
// every step).
//
// Forgotten tensors: the registry's callbacks run only between event-loop turns, so such a loop
// frees nothing it forgot (made outside `tidy`, or returned out of it and not disposed) until it
// ends: a small CNN's loop grew by ~13 tensors and 20 MB a step, to 9 GB in 600 steps. Nothing
// in JavaScript can free a collected tensor's memory sooner, so the loop is told, once: when the
// bytes alive after a drain are kWarnBytes above those at the turn's first check, a process
// warning says what to do.
const kDrainBytes = 2 ** 28;
const kWarnBytes = 2 ** 30;
let madeSinceTurn = 0;
let elementsSinceCheck = 0;
let bytesAtTurn = -1;   // -1: not measured yet this turn
let bytesAtDrain = 0;
let turnWatched = false;
let warned = false;

function watchTurns(elements: number): void {
  if (!turnWatched) {
    turnWatched = true;
    setImmediate(() => {
      madeSinceTurn = elementsSinceCheck = 0;
      bytesAtTurn = -1;
      turnWatched = false;
    }).unref();
  }
  elementsSinceCheck += elements;
  if (++madeSinceTurn % 256 !== 0 && elementsSinceCheck < 2 ** 24) return;
  elementsSinceCheck = 0;
  // The baseline is taken at the turn's first check, so a turn that makes fewer tensors (a
  // request served, a step awaited) costs no native call at all.
  const bytes = native.memory().bytes;
  if (bytesAtTurn < 0) {
    bytesAtTurn = bytesAtDrain = bytes;
    return;
  }
  if (bytes - bytesAtDrain < kDrainBytes) return;
  native.drainQueue();
  bytesAtDrain = native.memory().bytes;
  const grown = bytesAtDrain - bytesAtTurn;
  if (warned || grown < kWarnBytes) return;
  warned = true;
  // Emitted at once: process.emitWarning would wait for the next tick, after the loop.
  const warning = new Error(
    `Since the event loop last turned, tensor memory that no queued op holds grew by ${(grown / 2 ** 30).toFixed(1)} GiB ` +
      `(${madeSinceTurn} tensors made): tensors left to the garbage collector (made outside tidy(), or returned out of it) ` +
      "are freed only between event-loop turns. If these are a loop's forgotten temporaries: run each step inside " +
      'tidy(() => { ... }), dispose() what you are done with (what tidy returns too), or await ' +
      'something in the loop (say `await loss.data()`, or `await cc.sync()`).',
  );
  warning.name = 'ConvnetWarning';
  (warning as Error & { code: string }).code = 'CONVNET_NO_TURN';
  process.emit('warning', warning);
}

/** @internal For the tests: lets the warning of Note [loops that never yield] fire again. */
export function resetTurnWarning(): void {
  warned = false;
  madeSinceTurn = elementsSinceCheck = 0;
  bytesAtTurn = -1;
}

/** A tensor's native handle changed (moved in place): the safety net now frees the new one. */
export function retrack(t: Tensor, handle: Handle): void {
  // Only one that was registered: a scoped one is not (Note [scoped tensors are not registered]).
  if (registry.unregister(t)) registry.register(t, handle, t);
}

/** Called by `Tensor.dispose()`. */
export function untrack(t: Tensor): void {
  registry.unregister(t);   // ~0.02 us when it was not registered
  for (const scope of scopes) scope.delete(t);
}



function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  // Typed arrays and buffers hold no tensors, and Object.values would copy every element into
  // a new array: `tidy(() => y.dataSync())` on 4M floats spent ~300 ms there.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return;
  seen.add(value);
  if ((value as { [k: symbol]: unknown })[Symbol.for('cudnn-convnet.Tensor')] === true) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value) && value.length > 1 << 24) {
    // A sparse array (Array(2 ** 31 - 1) returned by a forward) holds few elements in a long
    // length: walking every index took ~1 min (found by the fuzz); for...in visits only those
    // present. Past 16M elements a dense array costs a string key each, still linear.
    for (const k in value) collect((value as unknown[])[k as unknown as number], out, seen);
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (a tensor, or
 * tensors inside arrays and plain objects) and those passed to `keep()`. Scopes nest; what a
 * scope returns belongs to the enclosing scope. `fn` must be synchronous.
 *
 * @example
 * const y = tidy(() => x.mul(2).add(1).sum());   // the intermediates are freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ConvnetError(`tidy: expected a function, got ${describe(fn)}`, 'E_ARG');
  return runScope(fn, false);
}

/**
 * @internal A module's forward (`Module.call`) as a `tidy` scope: what it creates and does not
 * return (or `keep()`) is freed when it returns. A forward that returns a Promise leaves what it
 * created to the enclosing scope instead, as if there were no scope.
 */
export function forwardScope<T>(fn: () => T): T {
  return runScope(fn, true);
}

/** @internal Whether `t` belongs to the innermost scope (created in it, not kept nor returned out). */
export function inInnermostScope(t: Tensor): boolean {
  return scopes.length > 0 && scopes[scopes.length - 1].has(t);
}

function runScope<T>(fn: () => T, promiseAdopts: boolean): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    if (promiseAdopts) {
      const parent = scopes[scopes.length - 1];
      for (const t of scope) if (!t.isDisposed) {
        if (parent) parent.add(t);
        else safetyNet(t);
      }
      return result;
    }
    for (const t of scope) t.dispose();
    throw new ConvnetError('tidy: `fn` returned a Promise; tidy only works with synchronous functions', 'E_ARG');
  }
  // (A step that returns nothing, or a number, makes no sets.)
  const returned = typeof result === 'object' && result !== null ? new Set<Tensor>() : NOTHING_RETURNED;
  if (returned !== NOTHING_RETURNED) collect(result, returned);
  // A disposed leaf disposes its gradient too, unless fn returns that gradient
  // (`tidy(() => { ...; loss.backward(); return x.grad; })`).
  spared = returned;
  try {
    for (const t of scope) if (!returned.has(t)) t.dispose();
  } finally {
    spared = null;
  }
  const parent = scopes[scopes.length - 1];
  for (const t of returned) {
    if (t.isDisposed) continue;
    if (parent) parent.add(t);
    else if (scope.has(t)) safetyNet(t);   // out of the last scope (one from elsewhere is registered)
  }
  return result;
}

let spared: ReadonlySet<Tensor> | null = null;
const NOTHING_RETURNED: Set<Tensor> = new Set();

/** @internal Whether the `tidy` scope being cleaned up returns `t` (so it must not be disposed). */
export function isSpared(t: Tensor): boolean {
  return spared !== null && spared.has(t);
}

/**
 * @internal For autograd: runs `fn` in a scope of its own and returns what it returned with
 * the tensors it created, none of them disposed. The caller must dispose or `adopt()` each
 * (they are in no scope and not registered: Note [scoped tensors are not registered]). If `fn`
 * throws, what it created is disposed.
 */
export function collectCreated<T>(fn: () => T): { result: T; created: Set<Tensor> } {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  try {
    return { result: fn(), created: scope };
  } catch (e) {
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
}

/** @internal Puts a tensor in the innermost `tidy` scope (if any), as if it had been created there. */
export function adopt(t: Tensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.add(t);
  else safetyNet(t);
}

/** Exempts a tensor from the enclosing `tidy` scopes; returns it. */
export function keep<T extends Tensor>(t: T): T {
  let scoped = false;
  for (const scope of scopes) if (scope.delete(t)) scoped = true;
  if (scoped) safetyNet(t);
  return t;
}

export interface MemoryInfo {
  /** Tensors JavaScript holds (created and not yet disposed or collected). */
  tensors: number;
  /** Bytes of tensor memory alive, including memory that only queued ops still hold. */
  bytes: number;
  /** Per device. */
  devices: {
    cpu: {
      tensors: number;
      bytes: number;
      /** Memory blocks alive (views share one). */
      storages: number;
      /** Ops queued and not yet finished. */
      queuedOps: number;
      /** Freed blocks kept for reuse, not counted in `bytes` (see `emptyCache`). */
      cachedBytes: number;
      /**
       * Convolution weights kept in the kernels' own layouts between calls with unchanged weights
       * (inference: made on the second call, then reused), not counted in `bytes`; at most
       * CONVNET_PREPARED_MB MiB (default 256), freed with the weights or by `emptyCache`.
       */
      preparedBytes: number;
    };
    /** The GPU (zeros before the first GPU tensor; `cuda.memory()` has the allocator's details). */
    cuda: {
      bytes: number;
      /** Memory blocks alive (views share one). */
      storages: number;
      /** Freed GPU blocks kept for reuse by the caching allocator. */
      cachedBytes: number;
    };
  };
}

/**
 * Counters of live tensors and bytes.
 *
 * @example
 * const before = memory().tensors;
 * tidy(() => { randn([100, 100]).matmul(randn([100, 100])); });
 * console.log(memory().tensors === before);   // true
 */
export function memory(): MemoryInfo {
  const m = native.memory();
  return {
    tensors: m.tensors,
    bytes: m.bytes + m.cudaBytes,
    devices: {
      cpu: { tensors: m.tensors, bytes: m.bytes, storages: m.storages, queuedOps: m.queued, cachedBytes: m.cachedBytes, preparedBytes: m.preparedBytes },
      cuda: { bytes: m.cudaBytes, storages: m.cudaStorages, cachedBytes: native.cudaMemory()?.cachedBytes ?? 0 },
    },
  };
}

/**
 * Gives the memory blocks kept for reuse back to the system. Freed tensor memory of 64 KiB and
 * more is cached (up to 1 GiB) because fresh pages are slow to touch; call this after a
 * large job to shrink the process. Also drops the convolution weights kept in the kernels'
 * layouts (`preparedBytes`).
 * @example emptyCache(); console.log(memory().devices.cpu.cachedBytes);   // 0
 */
export function emptyCache(): void {
  native.emptyCache();
  native.cudaEmptyCache();
}
