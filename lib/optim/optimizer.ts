/**
 * `Optimizer`: the base of SGD, Adam, AdamW, RMSprop and Adagrad, with PyTorch's manners. Parameters come in
 * groups (`new SGD(params, options)` or `new SGD([{ params, lr }, …], options)`), each group
 * holding its own copy of the options (a scheduler changes `group.lr`); `step()` updates every
 * parameter whose `grad` is not null with the fused in-place kernels of `./functional`;
 * `zeroGrad()` sets each `grad` to null.
 *
 * Ownership: the state tensors (momentum buffers, Adam's moments) belong to the optimizer:
 * they are exempt from `tidy` scopes (so `tidy(() => { loss.backward(); opt.step(); })` is
 * safe) and freed by `dispose()` or, failing that, by the garbage collector.
 */
import { enableGrad } from '../autograd';
import { zeros } from '../creation';
import { keep } from '../engine';
import { fail } from '../errors';
import { clone } from '../ops';
import type { Tensor } from '../tensor';
import { checkBool, checkNumber, checkTensor, collectChecked, describe, isTensor, shapeStr } from '../validate';

/** The state of one parameter: tensors (owned by the optimizer) and numbers (`step`). */
export type ParamState = Record<string, Tensor<'float32'> | number>;

/**
 * A group of parameters with its options. Schedulers add their own entries (`initialLr`, and
 * for OneCycleLR `maxLr`, `minLr`, `maxMomentum`, `baseMomentum`), as in PyTorch.
 */
export type ParamGroup<O> = O & { params: Tensor<'float32'>[]; initialLr?: number; [scheduler: string]: unknown };

/** What a constructor takes: parameters, or groups of parameters with their own options. */
export type ParamsArg<O> = Iterable<Tensor> | Iterable<{ params: Iterable<Tensor> } & Partial<O>>;

/** `stateDict()`: parameters are numbered in group order, as PyTorch's `state_dict()`. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor<'float32'> | number>>;
  paramGroups: Record<string, unknown>[];
}

/** Options every optimizer checks the same way. */
export function checkNonNegative(op: string, name: string, value: unknown): number {
  const v = checkNumber(op, name, value);
  if (v < 0) fail('E_ARG', `${op}: expected \`${name}\` >= 0, got ${v}`);
  return v;
}

export function checkLr(op: string, value: unknown): number {
  if (value === undefined) fail('E_ARG', `${op}: \`lr\` is required (in the options or in every parameter group)`);
  return checkNonNegative(op, 'lr', value);
}

export { checkBool };

export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  /** The options given to the constructor, with the defaults filled in. */
  readonly defaults: Readonly<O>;
  /** The groups, each with its own options; change `group.lr` to change a learning rate. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created at a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();
  readonly #name: string;

  protected constructor(name: string, params: ParamsArg<O>, defaults: O) {
    // Abstract in TypeScript only: JavaScript can still call new Optimizer(...), which failed
    // at its first group with 'this.checkGroup is not a function'.
    if (new.target === Optimizer) fail('E_ARG', 'Optimizer: the base class is abstract: use SGD, Adam, AdamW, RMSprop or Adagrad, or extend it with checkGroup and updateParam');
    if (typeof name !== 'string') fail('E_ARG', `Optimizer: expected \`name\` (the subclass's name, for messages) to be a string, got ${describe(name)}`);
    this.#name = name;
    if (typeof defaults !== 'object' || defaults === null) fail('E_ARG', `${name}: expected options to be an object, got ${describe(defaults)}`);
    this.defaults = Object.freeze({ ...defaults });
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function' || isTensor(params)) {
      fail('E_ARG', `${name}: expected \`params\` to be an array of tensors or of parameter groups, got ${describe(params)}`);
    }
    let groupsGiven: boolean | null = null;
    const list = collectChecked(name, 'params', params as Iterable<unknown>, (item, i) => {
      groupsGiven ??= !isTensor(item);
      if (!groupsGiven) return checkTensor(name, `params[${i}]`, item);
      if (typeof item !== 'object' || item === null || isTensor(item)) fail('E_ARG', `${name}: expected params[${i}] to be a parameter group { params, … }, got ${describe(item)}`);
      return item;
    });
    if (list.length === 0) fail('E_ARG', `${name}: got an empty parameter list`);
    const groups = isTensor(list[0]) ? [{ params: list }] : list;
    for (const g of groups) this.addParamGroup(g as { params: Iterable<Tensor> } & Partial<O>);
  }

  /**
   * Adds a group of parameters with options of its own (the constructor's options fill in the
   * rest), e.g. to train a new head at a different learning rate.
   * @example opt.addParamGroup({ params: head.parameters(), lr: 0.1 });
   */
  addParamGroup(group: { params: Iterable<Tensor> } & Partial<O>): void {
    const op = this.#name;
    if (typeof group !== 'object' || group === null || isTensor(group)) fail('E_ARG', `${op}: expected a parameter group { params, … }, got ${describe(group)}`);
    const raw = (group as { params?: unknown }).params;
    if (raw === null || typeof raw !== 'object' || typeof (raw as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      fail('E_ARG', `${op}: expected the group's \`params\` to be an array of tensors, got ${describe(raw)}`);
    }
    const params = isTensor(raw) ? [raw] : collectChecked(op, 'params', raw as Iterable<unknown>, (p, i) => checkTensor(op, `params[${i}]`, p));
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      const t = checkTensor(op, `params[${i}]`, p);
      if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected float32 parameters, got ${t.dtype} at params[${i}]`);
      if (!t.isLeaf) fail('E_ARG', `${op}: cannot optimize a tensor computed by an op (params[${i}] is not a leaf); pass the leaf, or detach() it`);
      if (seen.has(t)) fail('E_ARG', `${op}: params[${i}] appears more than once in the parameter groups`);
      seen.add(t);
    });
    for (const key of Object.keys(group)) {
      if (key !== 'params' && !(key in this.defaults)) {
        fail('E_ARG', `${op}: unknown option \`${key}\` in a parameter group; expected one of ${Object.keys(this.defaults).join(', ')}`);
      }
    }
    const full = { ...this.defaults, ...group, params } as ParamGroup<O>;
    const record = full as Record<string, unknown>, defaults = this.defaults as Record<string, unknown>;
    for (const key of Object.keys(defaults)) if (record[key] === undefined) record[key] = defaults[key];
    this.checkGroup(full);
    this.paramGroups.push(full);
  }

  /** Checks a group's options (at construction and before each step: schedulers change them). */
  protected abstract checkGroup(group: ParamGroup<O>): void;

  /** Updates one parameter in place from its gradient; `state` is `{}` at the first step. */
  protected abstract updateParam(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: ParamState, group: ParamGroup<O>): void;

  /** @internal A zero state tensor of the parameter's shape and device, exempt from tidy scopes. */
  protected zerosLikeParam(param: Tensor): Tensor<'float32'> {
    return keep(zeros<'float32'>(param.shape, { device: param.device }));
  }

  /**
   * Updates every parameter that has a gradient (`grad` not null; the others are skipped, as
   * PyTorch). The work is queued: `step()` returns at once. With a `closure` (which recomputes
   * and returns the loss, calling `backward()`), returns what it returned.
   *
   * @example
   * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
   * opt.zeroGrad(); lossFn(model.forward(x), y).backward(); opt.step();
   */
  step(closure?: () => Tensor): Tensor | undefined {
    let loss: Tensor | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') fail('E_ARG', `${this.#name}.step: expected \`closure\` to be a function, got ${describe(closure)}`);
      loss = enableGrad(closure);
    }
    for (const group of this.paramGroups) this.checkGroup(group);
    // Every parameter, gradient and state tensor is checked before the first update: a failure
    // half-way left the earlier parameters stepped and the later ones not.
    const op = `${this.#name}.step`;
    const work: [Tensor<'float32'>, Tensor<'float32'>, ParamGroup<O>][] = [];
    this.paramGroups.forEach((group, gi) => {
      group.params.forEach((p, i) => {
        const where = `group ${gi}, params[${i}]`;
        if (p.isDisposed) fail('E_DISPOSED', `${op}: a parameter has been disposed (${where})`);
        const g = p.grad;
        if (g === null) return;
        if (g.isDisposed) fail('E_DISPOSED', `${op}: the gradient of ${where} has been disposed`);
        if (g.dtype !== 'float32') fail('E_DTYPE', `${op}: the gradient of ${where} is ${g.dtype}, expected float32`);
        if (g.shape.length !== p.shape.length || g.shape.some((d, k) => d !== p.shape[k])) {
          fail('E_SHAPE', `${op}: the gradient of ${where} has shape ${shapeStr(g.shape)}, the parameter ${shapeStr(p.shape)}`);
        }
        if (g.device !== p.device) fail('E_DEVICE', `${op}: the gradient of ${where} is on ${g.device}, the parameter on ${p.device}`);
        for (const [key, v] of Object.entries(this.state.get(p) ?? {})) {
          if (isTensor(v) && v.isDisposed) fail('E_DISPOSED', `${op}: the state \`${key}\` of ${where} has been disposed`);
        }
        work.push([p, g, group]);
      });
    });
    for (const [p, g, group] of work) {
      let state = this.state.get(p);
      if (state === undefined) this.state.set(p, (state = {}));
      this.updateParam(p, g, state, group);
    }
    return loss;
  }

  /**
   * Sets every parameter's `grad` to null, disposing the gradients (PyTorch's
   * `zero_grad(set_to_none=True)`): the next `backward()` starts from nothing.
   * @example opt.zeroGrad();
   */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) if (!p.isDisposed) p.grad = null;
  }

  /**
   * The optimizer's state and group options, as PyTorch's `state_dict()`: parameters are
   * numbered 0, 1, … in group order. The tensors are copies that belong to the caller.
   * @example const saved = opt.stateDict(); … opt.loadStateDict(saved);
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const { params, ...options } = group;
      const copied = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, Array.isArray(v) ? v.slice() : v]));
      return { ...copied, params: params.map((p) => { index.set(p, index.size); return index.size - 1; }) };
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : clone(v)]));
    }
    return { state, paramGroups };
  }

  /**
   * Restores what `stateDict()` gave (of an optimizer over parameters of the same shapes, in
   * the same groups). Copies the tensors: the caller keeps ownership of `stateDict`'s. Checks
   * everything before changing anything.
   * @example opt.loadStateDict(saved);
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const op = `${this.#name}.loadStateDict`;
    if (typeof stateDict !== 'object' || stateDict === null || !Array.isArray(stateDict.paramGroups) || typeof stateDict.state !== 'object' || stateDict.state === null) {
      fail('E_ARG', `${op}: expected { state, paramGroups }, got ${describe(stateDict)}`);
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      fail('E_ARG', `${op}: the state has ${saved.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const params: Tensor<'float32'>[] = [];
    const groups = saved.map((s, gi) => {
      const ours = this.paramGroups[gi];
      const ids = (s as { params?: unknown }).params;
      if (!Array.isArray(ids) || ids.length !== ours.params.length) {
        fail('E_ARG', `${op}: group ${gi} has ${Array.isArray(ids) ? ids.length : describe(ids)} parameters in the state, ${ours.params.length} in the optimizer`);
      }
      ids.forEach((id, k) => {
        if (id !== params.length) fail('E_ARG', `${op}: group ${gi} numbers its parameters ${describe(ids)}; expected consecutive numbers from ${params.length - k}`);
        params.push(ours.params[k]);
      });
      const group = { ...ours, ...s, params: ours.params } as ParamGroup<O>;
      this.checkGroup(group);
      return group;
    });
    const entries: [Tensor, Record<string, unknown>][] = [];
    for (const [key, value] of Object.entries(stateDict.state)) {
      const p = params[Number(key)];
      if (p === undefined || !/^\d+$/.test(key)) fail('E_ARG', `${op}: state for parameter ${JSON.stringify(key)}, which does not exist`);
      if (typeof value !== 'object' || value === null) fail('E_ARG', `${op}: expected the state of parameter ${key} to be an object, got ${describe(value)}`);
      for (const [name, v] of Object.entries(value)) {
        if (typeof v === 'number') continue;
        const t = checkTensor(op, `state[${key}].${name}`, v);
        if (t.dtype !== 'float32' || t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
          fail('E_SHAPE', `${op}: expected state[${key}].${name} to be float32 of the parameter's shape ${shapeStr(p.shape)}, got ${describe(t)}`);
        }
      }
      entries.push([p, value]);
    }
    // Everything checked: now replace.
    this.disposeState();
    // Copies on the parameter's device, as PyTorch's load_state_dict moves the state to it.
    const copyTo = (v: Tensor<'float32'>, p: Tensor): Tensor<'float32'> => {
      if (v.device !== p.device) return v.to(p.device) as Tensor<'float32'>;
      return clone(v);
    };
    for (const [p, value] of entries) {
      this.state.set(p, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'number' ? v : keep(copyTo(v as Tensor<'float32'>, p))])));
    }
    groups.forEach((g, i) => Object.assign(this.paramGroups[i], g));
  }

  /**
   * Frees the state tensors (momentum buffers, moments); the next step starts afresh. The
   * parameters are left alone.
   * @example opt.dispose();
   */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    this.state.clear();
  }
}
