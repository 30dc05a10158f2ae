/**
 * Autograd: a tape in TypeScript over native forward and backward ops (design decision 4).
 *
 * When an op runs with grad mode on and one of its inputs requires a gradient, it calls
 * `record()`: the output gets a `gradFn` node that knows the op's backward function, the nodes
 * (or leaf tensors) of its inputs, and the tensors the backward needs. `t.backward()` walks
 * those nodes from the output in dependency order, calls each backward once with the summed
 * gradient of its output, and adds what reaches a leaf into `leaf.grad`.
 *
 * Ownership, which is what makes this safe to use with `tidy` and `dispose`:
 * - A node keeps its own native handles of the tensors it saved (views sharing their memory,
 *   outside every tidy scope), so the user may dispose the originals. It releases them after
 *   it has run backward (unless `retainGraph`), or when the graph is garbage collected.
 * - Gradients in flight belong to the engine and are disposed as soon as they are consumed;
 *   tensors a backward function makes and does not return are disposed when it returns.
 * - `leaf.grad` belongs to the leaf: no tidy scope disposes it; setting `grad` (to null or a
 *   tensor), `zeroGrad()` and disposing the leaf dispose the previous gradient.
 *
 * - A saved tensor written in place before backward (an optimizer step, copy_, batch norm's
 *   running statistics) fails backward with E_STATE before anything is computed, as PyTorch's
 *   version counters do: each storage counts the in-place writes queued on it.
 *
 * Not supported (yet): gradients of gradients (backward runs with grad mode off).
 */
import { adopt, collectCreated, keep } from './engine';
import { fail } from './errors';
import { native, type Handle } from './native';
import * as ops from './ops';
import { DEVICE_CODE, Tensor, type DType } from './tensor';
import { checkBool, checkOptions, checkTensor, describe, isTensor, shapeStr } from './validate';

// ---- grad mode ---------------------------------------------------------------------------------

let gradEnabled = true;

/** Whether ops record gradients now (true unless inside `noGrad`). @example isGradEnabled()  // true */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Turns recording on or off until changed again; prefer `noGrad(fn)`, which restores it.
 * @example setGradEnabled(false); const y = model(x); setGradEnabled(true);
 */
export function setGradEnabled(enabled: boolean): void {
  gradEnabled = checkBool('setGradEnabled', 'enabled', enabled);
}

function withGradMode<T>(op: string, enabled: boolean, fn: () => T): T {
  if (typeof fn !== 'function') fail('E_ARG', `${op}: expected a function, got ${describe(fn)}`);
  const before = gradEnabled;
  gradEnabled = enabled;
  let result: T;
  try {
    result = fn();
  } finally {
    gradEnabled = before;
  }
  // The mode is a global switch: it cannot follow an async function across its awaits.
  if (result instanceof Promise) {
    fail('E_ARG', `${op}: \`fn\` returned a Promise; ${op} only works with synchronous functions (wrap the synchronous part)`);
  }
  return result;
}

/**
 * Runs `fn` without recording gradients (inference, manual parameter updates): its results
 * do not require grad and keep no graph. `fn` must be synchronous.
 * @example const predictions = noGrad(() => model(x).argmax(1));
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode('noGrad', false, fn);
}

/**
 * Runs `fn` with recording on, even inside `noGrad`. `fn` must be synchronous.
 * @example noGrad(() => { const y = enableGrad(() => x.mul(2)); y.requiresGrad;  /* true *\/ });
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode('enableGrad', true, fn);
}

// ---- the graph ---------------------------------------------------------------------------------

/**
 * The backward of an op: from the gradient of its output `dy` (float32, the output's shape),
 * one gradient per input (`null` where there is none: a number operand, an index tensor, an
 * input that `needsGrad` says nobody wants). `saved` are fresh views of the tensors passed to
 * `record(..., saved)`, in that order: use them, not the forward's variables, which the user
 * may have disposed by now. Do not dispose `dy` or `saved`; temporaries are cleaned up.
 */
export type BackwardFn = (dy: Tensor<'float32'>, saved: Tensor[], needsGrad: readonly boolean[]) => readonly (Tensor | null | undefined)[];

/** Where an input's gradient goes: the node that made it, or the leaf that accumulates it. */
type Edge = { node: Node; leaf: null; shape: readonly number[] } | { node: null; leaf: Tensor; shape: readonly number[] };

interface Saved {
  handle: Handle;
  shape: readonly number[];
  dtype: DType;
  /** Its memory's count of in-place writes when saved (native.version). */
  version: number;
}

/** The native handles a node holds, apart from the node so that the registry can free them. */
interface SavedHolder {
  items: Saved[];
}

/** Frees the saved tensors of graphs that became unreachable without running backward. */
const savedRegistry = new FinalizationRegistry<SavedHolder>((holder) => {
  for (const s of holder.items) {
    try {
      native.release(s.handle);
    } catch {
      // Already released.
    }
  }
  holder.items = [];
});

/**
 * @internal A recorded op: one per output of a grad-requiring op.
 *
 * Note [graph lifetime]: a node counts what can still reach it: its output tensor while that is
 * not disposed, and each node recorded from that output while that node lives. When the count
 * falls to zero nobody can run backward through it any more, so it frees what it saved at once
 * and lets go of its inputs' nodes, which may follow. A forward with gradients on whose output
 * is disposed (a validation pass without `noGrad`, inside `tidy`) so frees its whole graph
 * when the output goes, as PyTorch's reference counts do, instead of holding every saved
 * activation until the garbage collector finds the graph (260 MB for ResNet-18 at batch 32).
 * A tensor the garbage collector frees without dispose() never lowers the count: its graph
 * then goes with the collector, as before.
 */
export class Node {
  /** Whether backward ran without `retainGraph` and released what it saved. */
  freed = false;
  readonly hadSaved: boolean;
  /** Live output tensor (0 or 1) + live nodes recorded from it (Note [graph lifetime]). */
  #holders = 0;
  #dead = false;

  constructor(
    readonly name: string,
    public backwardFn: BackwardFn | null,
    /** One per input; null where no gradient is wanted. */
    readonly edges: readonly (Edge | null)[],
    readonly inputShapes: readonly (readonly number[] | null)[],
    readonly inputDtypes: readonly (DType | null)[],
    readonly outputShape: readonly number[],
    readonly saved: SavedHolder,
  ) {
    this.hadSaved = saved.items.length > 0;
    if (this.hadSaved) savedRegistry.register(this, saved, this);
    for (const e of edges) e?.node?.hold();
  }

  /** One more tensor or node can reach this node. */
  hold(): void {
    this.#holders++;
  }

  /**
   * One fewer can: at zero the node releases what it saved and drops its inputs' nodes, and so
   * on up the graph (a loop, not recursion: a graph may be thousands of nodes deep).
   */
  drop(): void {
    const dying: Node[] = [this];
    while (dying.length > 0) {
      const n = dying.pop()!;
      if (n.#dead || --n.#holders > 0) continue;
      n.#dead = true;
      n.release();
      for (const e of n.edges) if (e?.node) dying.push(e.node);
    }
  }

  /** Fresh tensors (views) of the saved tensors, for one call of the backward function. */
  savedViews(): Tensor[] {
    return this.saved.items.map((s) => new Tensor(native.reshape(s.handle, s.shape), s.shape, s.dtype));
  }

  release(): void {
    if (this.freed) return;
    this.freed = true;
    if (!this.hadSaved) return;
    savedRegistry.unregister(this);
    for (const s of this.saved.items) native.release(s.handle);
    this.saved.items = [];
    // It can never run again: let go of what its closure holds (tensors of the forward pass).
    this.backwardFn = null;
  }
}

/**
 * Whether an op with these inputs must record its backward now: grad mode is on and one of
 * them requires a gradient. Lets an op skip work that only the backward needs.
 * @example if (isRecording([x, w])) { ... }
 */
export function isRecording(inputs: readonly unknown[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (isTensor(t) && t.requiresGrad) return true;
  return false;
}

/**
 * @internal What an op tells a tracer beyond its inputs and output: the settings its output
 * depends on (a convolution's geometry, a reduction's axes), for `onnx.export` (lib/onnx/ops.ts
 * reads them). Ops whose output depends on nothing else pass none.
 */
export type TraceAttrs = Readonly<Record<string, unknown>>;

/** @internal Called by `record` for every recorded op while onnx.export traces a forward: its outputs (one, or traceAsMany's), inputs and settings. */
export type TraceHook = (name: string, ys: readonly (Tensor | null)[], inputs: readonly unknown[], attrs: TraceAttrs | undefined) => void;

let traceHook: TraceHook | null = null;

/** @internal Whether onnx.export is tracing a forward now (an op with a native shortcut then takes its composed form). */
export function isTracing(): boolean {
  return traceHook !== null;
}

/** @internal Installs (or with null removes) the tracer's hook (lib/onnx/trace.ts). */
export function setTraceHook(hook: TraceHook | null): void {
  traceHook = hook;
}

/**
 * @internal For an op composed of other ops (pad, interpolate): runs `compute`, and while a
 * tracer watches, shows it the result as the one op `name` with these inputs and settings
 * (where `record` would: gradients on, an input requiring one) instead of the ops inside, which
 * it does not see. Gradients flow through the inner ops as ever.
 */
export function traceAs<T extends Tensor>(name: string, inputs: readonly unknown[], attrs: TraceAttrs, compute: () => T): T {
  return traceAsMany(name, inputs, attrs, () => [compute()] as const)[0];
}

/** @internal traceAs for an op of several outputs (a recurrent net's sequence and final states; null where there is none). */
export function traceAsMany<T extends readonly (Tensor | null)[]>(name: string, inputs: readonly unknown[], attrs: TraceAttrs, compute: () => T): T {
  if (traceHook === null) return compute();
  const hook = traceHook;
  traceHook = null;
  let ys: T;
  try {
    ys = compute();
  } finally {
    traceHook = hook;
  }
  if (isRecording(inputs)) hook(name, ys, inputs, attrs);
  return ys;
}

/**
 * Records an op on the tape, for op authors: when grad mode is on and an input requires a
 * gradient, `y` gets a `gradFn` that will call `backward`; otherwise nothing happens (cheap).
 * `inputs` are the op's inputs in the order `backward` returns their gradients (numbers or
 * int32 tensors may stand in a slot: they get no gradient). `saved` are the tensors
 * `backward` needs (inputs and/or `y`); they stay alive for it even if the user disposes
 * them. `attrs` are the settings onnx.export needs (TraceAttrs). Returns `y`.
 *
 * Each gradient `backward` returns must have its input's shape and dtype: a mistake is an
 * E_INTERNAL error naming the op, at the backward call.
 *
 * @example
 * export function relu(x: Tensor): Tensor<'float32'> {
 *   const y = forward('relu', x);
 *   return record('relu', y, [x], (dy, [sx, sy]) => [activationBackward('relu', dy, sx, sy)], [x, y]);
 * }
 */
export function record<T extends Tensor>(name: string, y: T, inputs: readonly unknown[], backward: BackwardFn, saved: readonly Tensor[] = [], attrs?: TraceAttrs): T {
  if (!isRecording(inputs)) return y;
  if (traceHook !== null) traceHook(name, [y], inputs, attrs);
  if (typeof backward !== 'function') fail('E_INTERNAL', `${name}: record() needs a backward function, got ${describe(backward)}`);
  if (y.dtype !== 'float32') fail('E_INTERNAL', `${name}: record() on an ${y.dtype} output: only float32 outputs have gradients`);
  const edges = inputs.map((t): Edge | null => {
    if (!isTensor(t) || !t.requiresGrad) return null;
    return t.gradFn ? { node: t.gradFn, leaf: null, shape: t.shape } : { node: null, leaf: t, shape: t.shape };
  });
  const holder: SavedHolder = {
    items: saved.map((t, i) => {
      const s = checkTensor(`${name} (record)`, `saved[${i}]`, t);
      // A second handle on the same memory: the user's dispose() of s leaves it alive.
      const handle = native.reshape(s.handle(name), s.shape);
      return { handle, shape: s.shape, dtype: s.dtype, version: native.version(handle) };
    }),
  };
  const node = new Node(
    name, backward, edges,
    inputs.map((t) => (isTensor(t) ? t.shape : null)),
    inputs.map((t) => (isTensor(t) ? t.dtype : null)),
    y.shape, holder,
  );
  y._setGradFn(node);
  return y;
}

// ---- helpers for backward functions ------------------------------------------------------------

/**
 * Sums a broadcast gradient back to `shape`: over the leading axes `shape` lacks and over the
 * axes where `shape` has size 1. Returns `g` itself when there is nothing to sum.
 * @example sumTo(dy, bias.shape)   // dy [N, C, H, W] -> [1, C, 1, 1]
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor<'float32'> {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  if (axes.length === 0) return (sameShape(g.shape, shape) ? g : ops.reshape(g, shape)) as Tensor<'float32'>;
  return ops.reshape(ops.sum(g, axes, true), shape);
}

/**
 * `g` broadcast to `shape` (a copy, the native expand): the backward of a reduction. `g` has size
 * 1 on the reduced axes (keepdim), or lacks leading ones.
 * @example expandTo(dy.reshape([N, 1]), [N, C])
 */
export function expandTo(g: Tensor, shape: readonly number[]): Tensor<'float32'> {
  if (sameShape(g.shape, shape)) return g as Tensor<'float32'>;
  return ops.expand(g, shape) as Tensor<'float32'>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ---- backward ----------------------------------------------------------------------------------

export interface BackwardOptions {
  /** Keep the graph's saved tensors so that backward can run through it again (default false). */
  retainGraph?: boolean;
}

/** @internal The body of `Tensor.backward`. */
export function backward(root: Tensor, gradient?: Tensor | null, options: BackwardOptions = {}): void {
  const op = 'backward';
  checkTensor(op, 'tensor', root);
  options = checkOptions<BackwardOptions>(op, options, ['retainGraph']);
  const retain = options.retainGraph === undefined ? false : checkBool(op, 'retainGraph', options.retainGraph);
  if (!root.requiresGrad) {
    fail('E_ARG', `${op}: the tensor does not require grad and has no gradFn (was it made inside noGrad, or from tensors none of which requires grad?)`);
  }
  // Check the whole graph before computing anything: a freed node would fail half-way.
  const order = root.gradFn ? topoCounts(root.gradFn) : null;
  let g0: Tensor<'float32'>;
  const outerGradient = userGradient;   // a backward() inside a hook runs its own pass
  if (gradient === undefined || gradient === null) {
    if (root.size !== 1) {
      fail('E_SHAPE', `${op}: the tensor has shape ${shapeStr(root.shape)}; an implicit gradient (1) exists only for one-element tensors: pass \`gradient\` of that shape`);
    }
    g0 = new Tensor(native.fill(root.shape.slice(), 0, 1, DEVICE_CODE[root.device]), root.shape, 'float32');
    userGradient = null;
  } else {
    const g = checkTensor(op, 'gradient', gradient);
    if (g.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`gradient\` of dtype float32, got ${g.dtype}`);
    if (!sameShape(g.shape, root.shape)) fail('E_SHAPE', `${op}: expected \`gradient\` of the tensor's shape ${shapeStr(root.shape)}, got ${shapeStr(g.shape)}`);
    g.handle(op);   // fails on a disposed gradient
    // Not copied (as torch.autograd.grad): the engine owns every other gradient in flight, and
    // borrows this one (Note [the borrowed gradient]).
    g0 = g as Tensor<'float32'>;
    userGradient = g0;
  }
  const before = gradEnabled;
  gradEnabled = false;
  try {
    if (order === null) accumulate(root, g0);
    else run(root.gradFn!, order, g0, retain);
  } finally {
    gradEnabled = before;
    userGradient = outerGradient;
  }
}

/**
 * Note [the borrowed gradient]: the engine owns each gradient in flight, so it may dispose it
 * once used, or store it in a leaf's .grad. Two kinds are not its alone, and travel uncopied:
 * - the gradient passed to backward(gradient): the caller keeps it. Copying it cost a full
 *   pass over the output (layer norm forward+backward on [32,196,384]: 0.3 ms of 2).
 * - one tensor that a backward function returns for several inputs (add's dy, to both
 *   operands): `sharedGradients` counts its extra holders. Copying it made a residual add's
 *   forward+backward 4x PyTorch's time (node dist/bench/resnet-layers.js).
 * Wherever the engine is done with a gradient it calls `release`, which disposes it only when
 * it is the last holder of its own, and a leaf stores a copy of a borrowed or shared one
 * (`accumulate`). Backward functions never write their dy in place, so lending is safe.
 */
let userGradient: Tensor | null = null;
const sharedGradients = new Map<Tensor, number>();

/** Done with a gradient: disposes it unless the caller or another holder still has it. */
function release(g: Tensor): void {
  if (g === userGradient) return;
  const others = sharedGradients.get(g);
  if (others === undefined) g.dispose();
  else if (others === 1) sharedGradients.delete(g);
  else sharedGradients.set(g, others - 1);
}

function share(g: Tensor): void {
  if (g !== userGradient) sharedGradients.set(g, (sharedGradients.get(g) ?? 0) + 1);
}

/** Every node reachable from `start`, with how many edges lead to it; fails on a freed node. */
function topoCounts(start: Node): Map<Node, number> {
  const deps = new Map<Node, number>([[start, 0]]);
  const stack = [start];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.freed && node.hadSaved) {
      fail('E_ARG', `backward: the graph through \`${node.name}\` was already freed: an earlier backward() released the tensors it saved. ` +
        'Pass { retainGraph: true } to the earlier backward() to run backward through the same graph twice');
    }
    // As PyTorch's version counters: a saved tensor written in place since would give a wrong
    // gradient without a word.
    for (const s of node.saved.items) {
      if (native.version(s.handle) !== s.version) {
        fail('E_STATE', `backward: a tensor that \`${node.name}\` saved for the gradient was modified in place after it was saved ` +
          `(written ${native.version(s.handle) - s.version} time(s) since, by an optimizer step, copy_/loadStateDict/init or batch norm's running statistics): ` +
          'compute the loss again after the update, or pass a clone() of the tensor to the op');
      }
    }
    for (const e of node.edges) {
      if (e === null || e.node === null) continue;
      const n = deps.get(e.node);
      if (n === undefined) {
        deps.set(e.node, 1);
        stack.push(e.node);
      } else deps.set(e.node, n + 1);
    }
  }
  return deps;
}

function run(start: Node, deps: Map<Node, number>, g0: Tensor<'float32'>, retain: boolean): void {
  const pending = new Map<Node, Tensor<'float32'>>([[start, g0]]);
  const ready = [start];
  try {
    while (ready.length > 0) {
      const node = ready.pop()!;
      const dy = pending.get(node);
      pending.delete(node);
      // A node none of whose consumers sent a gradient is skipped, but still releases its
      // children's dependency counts.
      const grads = dy === undefined ? node.edges.map(() => null) : callBackward(node, dy);
      if (!retain) node.release();
      node.edges.forEach((e, i) => {
        const g = grads[i];
        if (e === null) {
          if (g) release(g);
          return;
        }
        if (e.leaf !== null) {
          if (g) accumulate(e.leaf, g);
          return;
        }
        if (g) {
          const prev = pending.get(e.node);
          if (prev === undefined) pending.set(e.node, g);
          else {
            pending.set(e.node, ops.add(prev, g));
            release(prev);
            release(g);
          }
        }
        const left = deps.get(e.node)! - 1;
        deps.set(e.node, left);
        if (left === 0) ready.push(e.node);
      });
    }
  } finally {
    for (const g of pending.values()) release(g);
  }
}

/**
 * Calls a node's backward function and returns one gradient per input, each owned by the
 * engine (a tensor nobody else holds), or null. Takes ownership of `dy`.
 */
function callBackward(node: Node, dy: Tensor<'float32'>): (Tensor<'float32'> | null)[] {
  const saved = node.savedViews();
  const needs = node.edges.map((e) => e !== null);
  let out: { result: readonly (Tensor | null | undefined)[]; created: Set<Tensor> };
  try {
    out = collectCreated(() => node.backwardFn!(dy, saved, needs));
  } catch (e) {
    for (const s of saved) s.dispose();
    release(dy);
    throw e;
  }
  const { result, created } = out;
  const owned = new Set<Tensor>();
  const sharedHere: Tensor[] = [];
  let dyTaken = false;
  const grads: (Tensor<'float32'> | null)[] = [];
  try {
    if (!Array.isArray(result) || result.length !== node.edges.length) {
      fail('E_INTERNAL', `${node.name} backward: expected an array of ${node.edges.length} gradients (one per input), got ${describe(result)}`);
    }
    result.forEach((g, i) => {
      if (g === null || g === undefined || !needs[i]) {
        grads.push(null);
        return;
      }
      if (!isTensor(g) || g.isDisposed) fail('E_INTERNAL', `${node.name} backward: gradient ${i} is ${describe(g)}, expected a tensor or null`);
      const shape = node.inputShapes[i]!;
      if (!sameShape(g.shape, shape) || g.dtype !== node.inputDtypes[i]) {
        fail('E_INTERNAL', `${node.name} backward: gradient ${i} has shape ${shapeStr(g.shape)} (${g.dtype}), ` +
          `expected the input's ${shapeStr(shape)} (${node.inputDtypes[i]})`);
      }
      if (g === dy && !dyTaken) dyTaken = true;
      else if (owned.has(g)) {
        // Returned for an earlier input too: shared, not copied (Note [the borrowed gradient]).
        share(g);
        sharedHere.push(g);
      }
      // Anything else that might share memory with another live tensor is copied: a saved
      // view, or one that the function did not make.
      else if (!created.has(g) || saved.includes(g)) g = ops.clone(g);
      owned.add(g);
      grads.push(g as Tensor<'float32'>);
    });
  } catch (e) {
    for (const g of sharedHere) release(g);   // undoes share(): each had another holder here
    // The copies made here; a shared gradient is dy or one the function made (freed below).
    for (const g of grads) if (g !== null && g !== dy && !created.has(g)) g.dispose();
    owned.clear();
    dyTaken = false;
    throw e;
  } finally {
    for (const t of created) if (!owned.has(t)) t.dispose();
    for (const s of saved) s.dispose();
    if (!dyTaken) release(dy);
  }
  for (const g of grads) if (g !== null && g !== userGradient) adopt(g);
  return grads;
}

/** Adds `g` (owned by the engine) into `leaf.grad`. */
function accumulate(leaf: Tensor, g: Tensor<'float32'>): void {
  const prev = leaf._gradField();
  if (prev === null || prev.isDisposed) {
    if (g !== userGradient && !sharedGradients.has(g)) {
      leaf._storeGrad(keep(g));
      return;
    }
    leaf._storeGrad(keep(ops.clone(g)));
    release(g);
    return;
  }
  const sum = keep(ops.add(prev, g));
  release(g);
  leaf._storeGrad(sum);
}

/** @internal Checks `t.requiresGrad = value` and `t.grad = g`; used by Tensor. */
export function checkRequiresGrad(t: Tensor, value: unknown): boolean {
  const v = checkBool('requiresGrad', 'value', value);
  if (t.gradFn !== null && !v) {
    fail('E_ARG', `requiresGrad: only leaf tensors can change requiresGrad; this one was computed by \`${t.gradFn.name}\` (use detach() for a copy outside the graph)`);
  }
  if (v && t.dtype !== 'float32') fail('E_DTYPE', `requiresGrad: only float32 tensors can require gradients, got ${t.dtype}`);
  return v;
}

export function checkGrad(t: Tensor, g: unknown): Tensor<'float32'> | null {
  if (g === null || g === undefined) return null;
  const tg = checkTensor('grad', 'value', g);
  // backward() disposes the old gradient when it stores the new one: that would free the tensor itself.
  if (tg === t || tg._sharesMemoryWith(t)) fail('E_ARG', `grad: a tensor cannot be its own gradient (the value ${tg === t ? 'is the tensor itself' : 'shares its memory'}); pass a copy (clone())`);
  if (tg.dtype !== 'float32') fail('E_DTYPE', `grad: expected a float32 gradient, got ${tg.dtype}`);
  if (!sameShape(tg.shape, t.shape)) fail('E_SHAPE', `grad: expected a gradient of the tensor's shape ${shapeStr(t.shape)}, got ${shapeStr(tg.shape)}`);
  return tg as Tensor<'float32'>;
}
