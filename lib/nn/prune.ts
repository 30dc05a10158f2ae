/**
 * `nn.utils.prune`, as PyTorch's `torch.nn.utils.prune` (the survey's network pruning, section
 * 4.4: Han et al.'s magnitude pruning; structured pruning of whole channels): a parameter is
 * reparametrised as `name_orig` (the same Parameter, still trained) times a `name_mask` buffer of
 * 0 and 1, and the module's `name` attribute is their product, computed again before every
 * forward (so after an optimizer step, `module.weight` shows the new values from the next forward
 * on, as in PyTorch). The state dict then holds `weight_orig` and `weight_mask`, the keys PyTorch writes, so
 * pruned checkpoints go both ways; `remove` makes the pruning permanent (`name` a Parameter
 * again, its pruned entries 0).
 *
 * Pruning again prunes among what is left (PyTorch's PruningContainer): an amount of 0.2 twice
 * leaves 0.8 x 0.8 of the entries (of the channels, for structured pruning). An amount is a
 * fraction in [0, 1] (of the entries or channels left, rounded half to even, as Python's
 * round; 1 is all of them) or a count from 2 up (PyTorch's int 1, one unit, cannot be told from
 * 1.0 in JavaScript). Masks are computed on the host from the values read back: ties in
 * magnitude go to the lower position (PyTorch's topk leaves them unspecified), and the random
 * methods draw from the library's seeded generator (`manualSeed`), not torch's.
 */
import { noGrad } from '../autograd';
import { rand, tensor } from '../creation';
import { fail } from '../errors';
import { native } from '../native';
import { mul } from '../ops';
import type { Tensor } from '../tensor';
import { checkInt, checkOptions, checkTensor, describe, roundHalfEven, shapeStr, sizeOf } from '../validate';
import { Module, Parameter } from './module';

/**
 * What a pruned (module, name) holds: `name_orig` and `name_mask` (the same tensors as long as it
 * is pruned: moves and loads change them in place, re-pruning copies into the mask) and the hook
 * that recomputes `name` from them before each forward.
 */
interface Pruned { orig: Parameter; mask: Tensor; hook: { remove(): void } }
const PRUNED = new WeakMap<Module, Map<string, Pruned>>();

function checkModule(op: string, module: unknown, name: unknown): { m: Module; name: string } {
  if (!(module instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(module)}`);
  if (typeof name !== 'string' || name.length === 0) fail('E_ARG', `${op}: expected the name of a parameter (a string), got ${describe(name)}`);
  return { m: module as Module, name: name as string };
}

/** The parameter being pruned: `name_orig` once pruned, else `name`. */
function original(op: string, m: Module, name: string): Parameter {
  const pruned = PRUNED.get(m)?.get(name);
  if (pruned) return pruned.orig;
  const own = new Map(m.namedParameters().filter(([k]) => !k.includes('.')));
  const p = own.get(name);
  if (!(p instanceof Parameter)) fail('E_ARG', `${op}: this ${m.typeName} has no parameter named ${describe(name)} (it has ${[...own.keys()].join(', ') || 'none'})`);
  if (p!.dtype !== 'float32') fail('E_DTYPE', `${op}: \`${name}\` is ${p!.dtype}; only float32 parameters are pruned`);
  return p!;
}

function currentMask(m: Module, name: string): Tensor | null {
  return PRUNED.get(m)?.get(name)?.mask ?? null;
}

/** The number of units to prune out of `available`: a count, or a fraction rounded half to even. */
function unitsToPrune(op: string, amount: unknown, available: number): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) fail('E_ARG', `${op}: expected \`amount\` to be a fraction in [0, 1] or a count, got ${describe(amount)}`);
  // PyTorch tells the int 1 (one unit) from the float 1.0 (all of them); JavaScript cannot: 1 is
  // the fraction (everything), counts are the whole numbers from 2.
  const a = amount as number;
  if (Number.isInteger(a) && a >= 2) {
    if (a > available) fail('E_ARG', `${op}: amount = ${a} is more than the ${available} units left to prune`);
    return a;
  }
  if (a > 1) fail('E_ARG', `${op}: expected \`amount\` to be a fraction in [0, 1] or a whole count, got ${a}`);
  return roundHalfEven(a * available);
}

/** The positions of the `k` smallest scores (ties: the lower position first; NaN counts as the largest, as in torch.topk). */
function smallest(scores: ArrayLike<number>, positions: number[], k: number): number[] {
  const key = (p: number) => (Number.isNaN(scores[p]) ? Infinity : scores[p]);
  return positions.slice().sort((p, q) => key(p) - key(q) || (Number.isNaN(scores[p]) ? 1 : 0) - (Number.isNaN(scores[q]) ? 1 : 0) || p - q).slice(0, k);
}

/** Puts `mask` (values) in place as name_mask, reparametrising on the first call; recomputes `name`. */
function applyMask(m: Module, name: string, orig: Parameter, values: Float32Array): void {
  noGrad(() => {
    const made = tensor(values, { shape: orig.shape, device: orig.device });
    let state = PRUNED.get(m);
    if (!state?.has(name)) {
      m._unregisterParameter(name);
      m.registerParameter(`${name}_orig`, orig);
      m.registerBuffer(`${name}_mask`, made);
      const hook = m.registerForwardPreHook(() => recompute(m, name));
      if (!state) PRUNED.set(m, (state = new Map()));
      state.set(name, { orig, mask: made, hook });
    } else {
      native.copyInto(currentMask(m, name)!.handle('prune'), made.handle('prune'));
      made.dispose();
    }
  });
  recompute(m, name);
}

/** module[name] = name_orig * name_mask, recorded when gradients are on (the pre-hook's work, every forward). */
function recompute(m: Module, name: string): void {
  const { orig, mask } = PRUNED.get(m)!.get(name)!;
  m._setDerived(name, mul(orig, mask));
}

/** The mask as values, and the entries still unpruned. */
function maskValues(m: Module, name: string, size: number): Float32Array {
  const mask = currentMask(m, name);
  return mask ? Float32Array.from(mask.dataSync()) : new Float32Array(size).fill(1);
}

function importance(op: string, orig: Parameter, scores: unknown): Float32Array {
  if (scores === undefined || scores === null) return Float32Array.from(orig.dataSync());
  const s = checkTensor(op, 'importanceScores', scores);
  if (s.shape.join() !== orig.shape.join()) fail('E_SHAPE', `${op}: importanceScores ${shapeStr(s.shape)} should have the parameter's shape ${shapeStr(orig.shape)}`);
  return Float32Array.from(s.dataSync() as ArrayLike<number>);
}

/** Unstructured: among the unpruned entries, `amount` of them chosen by `pick` (their positions) become 0. */
function unstructured(op: string, module: unknown, nameArg: unknown, amount: unknown, pick: (alive: number[], k: number) => number[]): Module {
  const { m, name } = checkModule(op, module, nameArg);
  const orig = original(op, m, name);
  const mask = maskValues(m, name, orig.size);
  const alive: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) alive.push(i);
  const k = unitsToPrune(op, amount, alive.length);
  for (const i of pick(alive, k)) mask[i] = 0;
  applyMask(m, name, orig, mask);
  return m;
}

export interface ImportanceOptions {
  /** Scores to rank by instead of the parameter's own values (the parameter's shape). */
  importanceScores?: Tensor;
}

/**
 * Zeroes the `amount` entries of smallest magnitude (PyTorch's `l1_unstructured`).
 * @example nn.utils.prune.l1Unstructured(conv, 'weight', 0.3)   // 30% of conv.weight's entries
 */
export function l1Unstructured(module: Module, name: string, amount: number, options: ImportanceOptions = {}): Module {
  const op = 'prune.l1Unstructured';
  const o = checkOptions<ImportanceOptions>(op, options, ['importanceScores']);
  return unstructured(op, module, name, amount, (alive, k) => {
    const scores = importance(op, original(op, module, name), o.importanceScores).map(Math.abs);
    return smallest(scores, alive, k);
  });
}

/**
 * Zeroes `amount` entries chosen at random (PyTorch's `random_unstructured`; seeded by `manualSeed`).
 * @example nn.utils.prune.randomUnstructured(fc, 'weight', 0.5)
 */
export function randomUnstructured(module: Module, name: string, amount: number): Module {
  const op = 'prune.randomUnstructured';
  return unstructured(op, module, name, amount, randomPick);
}

/**
 * Structured: along `dim`, among the channels not yet all zero, `k` chosen by `pick` (from each
 * channel's score, made by `scores` from the channel index of every entry) become 0.
 */
function structured(op: string, module: unknown, nameArg: unknown, amount: unknown, dimArg: unknown,
  pick: (channelScores: number[], alive: number[], k: number) => number[],
  scores: (orig: Parameter, channelOf: (i: number) => number, channels: number) => number[]): Module {
  const { m, name } = checkModule(op, module, nameArg);
  const orig = original(op, m, name);
  if (orig.rank === 0) fail('E_SHAPE', `${op}: \`${name}\` is a scalar: no channels to prune`);
  const dim = checkInt(op, 'dim', dimArg, -orig.rank, orig.rank - 1);
  const d = dim < 0 ? dim + orig.rank : dim;
  const mask = maskValues(m, name, orig.size);
  const channels = orig.shape[d], inner = sizeOf(orig.shape.slice(d + 1));
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const alive = new Set<number>();
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) alive.add(channelOf(i));
  const aliveList = [...alive].sort((a, b) => a - b);
  const k = unitsToPrune(op, amount, aliveList.length);
  const gone = new Set(pick(scores(orig, channelOf, channels), aliveList, k));
  for (let i = 0; i < mask.length; i++) if (gone.has(channelOf(i))) mask[i] = 0;
  applyMask(m, name, orig, mask);
  return m;
}

/**
 * Zeroes the `amount` channels along `dim` of smallest Ln norm (PyTorch's `ln_structured`: n =
 * 1, 2, … or Infinity; dim 0 for a convolution's output channels). The norm is taken over the
 * parameter's values (or importanceScores), pruned entries included, as PyTorch's.
 * @example nn.utils.prune.lnStructured(conv, 'weight', 0.25, 2, 0)   // a quarter of the filters
 */
export function lnStructured(module: Module, name: string, amount: number, n: number, dim: number, options: ImportanceOptions = {}): Module {
  const op = 'prune.lnStructured';
  const o = checkOptions<ImportanceOptions>(op, options, ['importanceScores']);
  if (typeof n !== 'number' || Number.isNaN(n)) fail('E_ARG', `${op}: expected the norm's \`n\` to be a number (or Infinity), got ${describe(n)}`);
  const p = n;
  if (!(p > 0)) fail('E_ARG', `${op}: expected the norm's \`n\` > 0 (or Infinity), got ${p}`);
  return structured(op, module, name, amount, dim, (norms, alive, k) => smallest(norms, alive, k), (orig, channelOf, channels) => {
    const v = importance(op, orig, o.importanceScores);
    // Sums of |v|^n (the n-th root keeps the order), or maxima of |v| for n = Infinity.
    const out = new Array<number>(channels).fill(0);
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]), c = channelOf(i);
      out[c] = p === Infinity ? Math.max(out[c], a) : out[c] + a ** p;
    }
    return out;
  });
}

/**
 * Zeroes `amount` channels along `dim` chosen at random (PyTorch's `random_structured`; seeded by `manualSeed`).
 * @example nn.utils.prune.randomStructured(conv, 'weight', 0.5, 0)
 */
export function randomStructured(module: Module, name: string, amount: number, dim: number): Module {
  const op = 'prune.randomStructured';
  return structured(op, module, name, amount, dim, (_scores, alive, k) => randomPick(alive, k), () => []);
}

/** `k` of `alive` chosen uniformly at random (from the library's seeded generator). */
function randomPick(alive: number[], k: number): number[] {
  if (alive.length === 0) return [];
  const draw = noGrad(() => rand([alive.length]));
  const u = draw.dataSync();
  draw.dispose();
  return smallest(u, alive.map((_, j) => j), k).map((j) => alive[j]);
}

export interface GlobalOptions extends ImportanceOptions {
  /** 'l1' (smallest magnitudes across all the parameters; default) or 'random'. */
  pruningMethod?: 'l1' | 'random';
  /** A fraction of all the unpruned entries together, or a count. */
  amount: number;
}

/**
 * Prunes several parameters as one: the `amount` entries of smallest magnitude among all of them
 * (PyTorch's `global_unstructured` with L1Unstructured), so that layers lose different shares.
 * @example nn.utils.prune.globalUnstructured([[conv1, 'weight'], [conv2, 'weight'], [fc, 'weight']], { amount: 0.2 })
 */
export function globalUnstructured(parameters: readonly (readonly [Module, string])[], options: GlobalOptions): void {
  const op = 'prune.globalUnstructured';
  if (!Array.isArray(parameters) || parameters.length === 0) fail('E_ARG', `${op}: expected a non-empty array of [module, name] pairs, got ${describe(parameters)}`);
  if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { amount, pruningMethod }, got ${describe(options)}`);
  const o = checkOptions<GlobalOptions>(op, options, ['amount', 'pruningMethod', 'importanceScores']);
  if (o.importanceScores !== undefined) fail('E_ARG', `${op}: importanceScores are per parameter in PyTorch; give them to l1Unstructured one by one`);
  const method = o.pruningMethod ?? 'l1';
  if (method !== 'l1' && method !== 'random') fail('E_ARG', `${op}: expected \`pruningMethod\` 'l1' or 'random', got ${describe(method)}`);
  // A plain loop: the first bad entry fails at once (map() would walk an array of 2^31 holes).
  const items: { m: Module; name: string; orig: Parameter; mask: Float32Array; values: Float32Array | null }[] = [];
  for (let i = 0; i < parameters.length; i++) {
    const pair = parameters[i];
    if (!Array.isArray(pair) || pair.length !== 2) fail('E_ARG', `${op}: parameters[${i}] should be [module, name], got ${describe(pair)}`);
    const { m, name } = checkModule(op, pair[0], pair[1]);
    const orig = original(op, m, name);
    items.push({ m, name, orig, mask: maskValues(m, name, orig.size), values: method === 'l1' ? Float32Array.from(orig.dataSync(), Math.abs) : null });
  }
  const seen = new Set<string>();
  for (const it of items) {
    const key = it.orig.handle(op).toString();
    if (seen.has(key)) fail('E_ARG', `${op}: a parameter is listed twice`);
    seen.add(key);
  }
  // Every unpruned entry of every parameter, as (item, position).
  const alive: [number, number][] = [];
  items.forEach((it, j) => { for (let i = 0; i < it.mask.length; i++) if (it.mask[i] !== 0) alive.push([j, i]); });
  const k = unitsToPrune(op, o.amount, alive.length);
  const chosen = method === 'l1'
    ? smallest(alive.map(([j, i]) => items[j].values![i]), alive.map((_, r) => r), k).map((r) => alive[r])
    : randomPick(alive.map((_, r) => r), k).map((r) => alive[r]);
  for (const [j, i] of chosen) items[j].mask[i] = 0;
  for (const it of items) applyMask(it.m, it.name, it.orig, it.mask);
}

/**
 * Prunes with a mask of your own (0 prunes; combined with any earlier mask), as PyTorch's `custom_from_mask`.
 * @example nn.utils.prune.customFromMask(fc, 'bias', tensor([1, 0, 1]))
 */
export function customFromMask(module: Module, name: string, mask: Tensor): Module {
  const op = 'prune.customFromMask';
  const { m, name: n } = checkModule(op, module, name);
  const orig = original(op, m, n);
  const t = checkTensor(op, 'mask', mask);
  if (t.shape.join() !== orig.shape.join()) fail('E_SHAPE', `${op}: mask ${shapeStr(t.shape)} should have the parameter's shape ${shapeStr(orig.shape)}`);
  const given = t.dataSync() as ArrayLike<number>;
  const values = maskValues(m, n, orig.size).map((v, i) => (given[i] === 0 ? 0 : v));
  applyMask(m, n, orig, values);
  return m;
}

/** Reparametrises without pruning anything (a mask of ones), as PyTorch's `prune.identity`. */
export function identity(module: Module, name: string): Module {
  const op = 'prune.identity';
  const { m, name: n } = checkModule(op, module, name);
  const orig = original(op, m, n);
  applyMask(m, n, orig, maskValues(m, n, orig.size));
  return m;
}

/**
 * Makes the pruning of `name` permanent (PyTorch's `prune.remove`): `name` is a Parameter again
 * (the same one that was `name_orig`, now holding orig x mask), the mask and the hook are gone.
 * @example nn.utils.prune.remove(conv, 'weight')
 */
export function remove(module: Module, name: string): Module {
  const op = 'prune.remove';
  const { m, name: n } = checkModule(op, module, name);
  const state = PRUNED.get(m)?.get(n);
  if (!state) fail('E_ARG', `${op}: \`${n}\` of this ${m.typeName} is not pruned`);
  const { orig, mask } = state!;
  noGrad(() => {
    const product = mul(orig, mask);
    native.copyInto(orig.handle(op), product.handle(op));
    product.dispose();
  });
  state!.hook.remove();
  PRUNED.get(m)!.delete(n);
  m._setDerived(n, null);
  m._unregisterParameter(`${n}_orig`);
  m._unregisterBuffer(`${n}_mask`)?.dispose();
  m.registerParameter(n, orig);
  (m as unknown as Record<string, unknown>)[n] = orig;
  return m;
}

/** Whether any module inside `module` (or itself) has a pruned parameter, as PyTorch's `prune.is_pruned`. */
export function isPruned(module: Module): boolean {
  if (!(module instanceof Module)) fail('E_ARG', `prune.isPruned: expected a Module, got ${describe(module)}`);
  return module.modules().some((m) => (PRUNED.get(m)?.size ?? 0) > 0);
}
