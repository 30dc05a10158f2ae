/**
 * `Module`: the base of every layer and model, as `torch.nn.Module`. A module owns named
 * parameters (leaf tensors that require grad), buffers (state that is saved but not trained:
 * batch norm's running statistics) and child modules; names nest with dots
 * (`features.0.weight`), the same keys as PyTorch's `state_dict()`.
 *
 * Ownership: parameters and buffers belong to their module. They are exempt from `tidy`
 * scopes (a model built inside `tidy` survives it) and freed by `module.dispose()`.
 * `stateDict()` hands out views (sharing memory) that belong to the caller.
 */
import { noGrad } from '../autograd';
import { forwardScope, keep, tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { zeros } from '../creation';
import { requireCuda } from '../cuda';
import { parseDevice } from '../ops';
import { Tensor, type Device } from '../tensor';
import { MAX_RANK, checkBool, checkOptions, checkTensor, describe, isTensor, shapeStr } from '../validate';
import { evaluate, fit, predict } from '../train/fit';
import type { DataArg, EvaluateOptions, FitOptions, History, PredictOptions } from '../train/fit';

/**
 * A trainable tensor: a float32 leaf with `requiresGrad`, sharing the memory of the tensor it
 * was made from (which stays the caller's to dispose). Modules register the ones they hold.
 * @example const w = new Parameter(randn([10, 784]).mul(0.01));
 */
export class Parameter extends Tensor<'float32'> {
  constructor(data: Tensor, requiresGrad = true) {
    const t = checkTensor('Parameter', 'data', data);
    if (t.dtype !== 'float32') fail('E_DTYPE', `Parameter: expected float32 data, got ${t.dtype}`);
    super(native.reshape(t.handle('Parameter'), t.shape), t.shape, 'float32');
    this._viewOf(t);
    keep(this);
    this.requiresGrad = checkBool('Parameter', 'requiresGrad', requiresGrad);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One row of `summary()`: a module's call and the shape it returned. */
interface SummaryRow { module: Module; shape: string; params: number; depth: number }

/** Set while `summary()` runs: every module call appends a row. */
let summaryRows: SummaryRow[] | null = null;
let summaryDepth = 0;

/** @internal Whether `summary()` is tracing a forward (every module's call must then be seen). */
export function tracingSummary(): boolean {
  return summaryRows !== null;
}

export interface LoadStateDictOptions {
  /** Every key must match (no missing, no unexpected keys). Default true. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** What `registerForwardHook` / `registerForwardPreHook` return: `remove()` unregisters the hook. */
export interface RemovableHandle {
  remove(): void;
}

/** Called before `forward` with the inputs; may return replacement inputs (an array) or nothing. */
export type ForwardPreHook = (module: Module, inputs: unknown[]) => unknown[] | void;
/** Called after `forward` with the inputs and the output; may return a replacement output or nothing. */
export type ForwardHook = (module: Module, inputs: unknown[], output: Tensor) => Tensor | void;

/**
 * The base class of layers and models. Subclasses register what they hold in the constructor
 * and implement `forward`; callers use `call` (which also feeds `summary()`).
 * @example
 * class TwoLayer extends nn.Module {
 *   fc1 = this.registerModule('fc1', new nn.Linear(784, 128));
 *   fc2 = this.registerModule('fc2', new nn.Linear(128, 10));
 *   forward(x: Tensor) { return this.fc2.call(F.relu(this.fc1.call(x))); }
 * }
 * const logits = new TwoLayer().call(x);
 */
export abstract class Module {
  /** Whether the module is in training mode (dropout active, batch statistics); see train()/eval(). */
  training = true;
  /** Set to true (from a callback) to end `fit` after the current batch, as in TensorFlow.js. */
  stopTraining = false;
  readonly #parameters = new Map<string, Parameter | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #modules = new Map<string, Module>();
  readonly #preHooks = new Set<ForwardPreHook>();
  readonly #hooks = new Set<ForwardHook>();
  /** Set when setSubmodule replaced one of this module's children (models.save checks it). */
  #childSwapped = false;
  /** Tensors computed from parameters and kept as attributes (a pruned `weight`), freed with the module. */
  readonly #derived = new Map<string, Tensor>();

  /** The computation; call it through `call`. */
  abstract forward(...inputs: unknown[]): Tensor;

  /**
   * Runs `forward` (what `module(x)` does in PyTorch).
   * @example const y = conv.call(x);
   */
  /** @internal Whether forward hooks or pre-hooks are registered (they must see every call). */
  get hasForwardHooks(): boolean {
    return this.#preHooks.size > 0 || this.#hooks.size > 0;
  }

  call(...inputs: unknown[]): Tensor {
    if (typeof (this as { forward?: unknown }).forward !== 'function') {
      fail('E_ARG', `${this.typeName}.call: the class has no forward(); a Module subclass must implement forward(...inputs)`);
    }
    if (this.#preHooks.size === 0 && this.#hooks.size === 0) return this.#callForward(inputs);
    for (const hook of [...this.#preHooks]) {
      const replaced = hook(this, inputs);
      if (replaced !== undefined) {
        if (!Array.isArray(replaced)) fail('E_ARG', `${this.typeName}: a forward pre-hook must return an array of inputs or nothing, got ${describe(replaced)}`);
        inputs = replaced;
      }
    }
    let output = this.#callForward(inputs);
    for (const hook of [...this.#hooks]) {
      const replaced = hook(this, inputs, output);
      if (replaced !== undefined) {
        if (!isTensor(replaced)) fail('E_ARG', `${this.typeName}: a forward hook must return a Tensor or nothing, got ${describe(replaced)}`);
        output = replaced;
      }
    }
    return output;
  }

  /**
   * Calls `fn` on every submodule (children first, as PyTorch's `apply`) and on this module;
   * returns this module. The usual way to initialise a whole model.
   * @example model.apply((m) => { if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { nonlinearity: 'relu' }); });
   */
  apply(fn: (module: Module) => void): this {
    if (typeof fn !== 'function') fail('E_ARG', `${this.typeName}.apply: expected a function (module) => void, got ${describe(fn)}`);
    for (const child of this.#modules.values()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Registers `hook(module, inputs)`, called before every `forward` of this module (through
   * `call`); returning an array replaces the inputs. As PyTorch's `register_forward_pre_hook`.
   * @example const h = conv.registerForwardPreHook((m, [x]) => console.log('in', (x as Tensor).shape)); … h.remove();
   */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    if (typeof hook !== 'function') fail('E_ARG', `${this.typeName}.registerForwardPreHook: expected a function, got ${describe(hook)}`);
    const added: ForwardPreHook = (m, i) => hook(m, i);   // a wrapper: the same function registered twice is two hooks
    this.#preHooks.add(added);
    return { remove: () => { this.#preHooks.delete(added); } };
  }

  /**
   * Registers `hook(module, inputs, output)`, called after every `forward` of this module
   * (through `call`); returning a tensor replaces the output. As PyTorch's
   * `register_forward_hook`: the way to read intermediate features (for retrieval, for
   * visualisation) without changing the model.
   * @example
   * const features: Tensor[] = [];
   * const h = model.features.registerForwardHook((m, inputs, out) => { features.push(keep(out.detach())); });
   * model.call(x); h.remove();
   */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    if (typeof hook !== 'function') fail('E_ARG', `${this.typeName}.registerForwardHook: expected a function, got ${describe(hook)}`);
    const added: ForwardHook = (m, i, o) => hook(m, i, o);   // a wrapper: the same function registered twice is two hooks
    this.#hooks.add(added);
    return { remove: () => { this.#hooks.delete(added); } };
  }

  // Note [forward scope]: a forward runs as a tidy scope, so that the tensors it makes and does
  // not return are freed as soon as it returns, not when the caller's scope ends (or when the
  // garbage collector runs). A model then writes each layer's output into memory the layer before
  // it has just freed, still in cache: ResNet-50's forward at batch 1 (2 threads, five runs of
  // each, alternated) took 61-65 ms (medians) with every intermediate alive to the end, 56-60 ms
  // so (PyTorch 55, which frees a tensor when its last reference goes). What a forward stores for
  // later must be kept (`keep`), as under any tidy; autograd keeps what backward needs on its own.
  #callForward(inputs: unknown[]): Tensor {
    return forwardScope(() => this.#forwardRow(inputs));
  }

  #forwardRow(inputs: unknown[]): Tensor {
    if (summaryRows === null) return this.forward(...inputs);
    const row: SummaryRow = { module: this, shape: '', params: 0, depth: summaryDepth };
    for (const [, p] of this.#parameters) if (p) row.params += p.size;
    summaryRows.push(row);
    summaryDepth++;
    try {
      const y = this.forward(...inputs);
      row.shape = isTensor(y) ? shapeStr(y.shape) : describe(y);
      return y;
    } finally {
      summaryDepth--;
    }
  }

  /** The name of the module's type in `toString()`. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** The constructor's arguments as `toString()` shows them (override in subclasses). */
  extraRepr(): string {
    return '';
  }

  /**
   * The constructor's arguments, such that `new (this.constructor)(...this.config())` builds a
   * module of the same architecture (its parameters then come from a state dict). Values are
   * JSON-like; tensors and modules may appear inside (`models.save` records a tensor's shape
   * and dtype, and a module's own config). Every layer of `nn` implements it; the default,
   * null, means "cannot describe itself": a custom module that `models.save` should handle
   * overrides it and is registered with `models.register`.
   * @example new nn.Conv2d(1, 6, 5).config()   // [1, 6, [5, 5], { stride: [1, 1], padding: [0, 0], ... }]
   */
  config(): unknown[] | null {
    return null;
  }

  // ---- registration ---------------------------------------------------------------------------

  #checkName(op: string, name: unknown): string {
    if (typeof name !== 'string' || !NAME.test(name) && !/^[0-9]+$/.test(name)) {
      fail('E_ARG', `${op}: expected a name of letters, digits and _ (no dots), got ${describe(name)}`);
    }
    const taken = this.#parameters.has(name) || this.#buffers.has(name) || this.#modules.has(name);
    if (taken) fail('E_ARG', `${op}: \`${name}\` is already registered in this ${this.typeName}`);
    return name;
  }

  /**
   * Registers a parameter (or null: a slot that stays empty, like a disabled bias) and returns it.
   * @example this.weight = this.registerParameter('weight', new Parameter(zeros([C])));
   */
  registerParameter<P extends Parameter | null>(name: string, parameter: P): P {
    const op = 'registerParameter';
    this.#checkName(op, name);
    if (parameter !== null && !(parameter instanceof Parameter)) fail('E_ARG', `${op}: \`${name}\` must be a Parameter or null, got ${describe(parameter)}`);
    this.#parameters.set(name, parameter);
    return parameter;
  }

  /**
   * Puts `parameter` in the place of the one registered as `name`, keeping its position in the
   * state dict's order, and returns the one it replaces (the caller disposes it or keeps it).
   * Protected: for containers (ParameterList's and ParameterDict's `set`).
   */
  protected replaceParameter(name: string, parameter: Parameter | null): Parameter | null {
    const op = 'replaceParameter';
    if (!this.#parameters.has(name)) fail('E_ARG', `${op}: this ${this.typeName} has no parameter named ${describe(name)}`);
    if (parameter !== null && !(parameter instanceof Parameter)) fail('E_ARG', `${op}: \`${name}\` must be a Parameter or null, got ${describe(parameter)}`);
    const old = this.#parameters.get(name)!;
    this.#parameters.set(name, parameter);   // Map.set on an existing key keeps its place
    return old;
  }

  /**
   * Registers a buffer: state saved in `stateDict()` but not trained (exempt from tidy scopes,
   * freed by `dispose()`). Returns it.
   * @example this.registerBuffer('running_mean', zeros([C]));
   */
  registerBuffer<T extends Tensor | null>(name: string, buffer: T): T {
    const op = 'registerBuffer';
    this.#checkName(op, name);
    if (buffer !== null) keep(checkTensor(op, name, buffer));
    this.#buffers.set(name, buffer);
    return buffer;
  }

  /** Registers a child module under `name` (its parameters become `name.…`). Returns it. */
  registerModule<M extends Module>(name: string, module: M): M {
    const op = 'registerModule';
    this.#checkName(op, name);
    if (!(module instanceof Module)) fail('E_ARG', `${op}: \`${name}\` must be a Module, got ${describe(module)}`);
    // A module inside itself would make every traversal endless (a RangeError later, far away).
    // The tree under `module` has no cycle (this check keeps it so), so walking it ends.
    if ((module as Module) === this || module.modules().includes(this)) {
      fail('E_ARG', `${op}: \`${name}\` would make a cycle: this ${this.typeName} ${(module as Module) === this ? 'is that module itself' : 'is already inside it'}`);
    }
    this.#modules.set(name, module);
    return module;
  }

  /**
   * Puts `module` in the place of the child registered as `name` (PyTorch's `model.fc = …`),
   * keeping its position in the order of children, and returns the one it replaces (the caller
   * disposes it or keeps it), then tells the class through `childReplaced`. Protected: for a
   * class's own methods (ResNet's `resetClassifier`); from outside, `setSubmodule`.
   */
  protected replaceModule<M extends Module>(name: string, module: M): Module {
    const op = 'replaceModule';
    const old = this.#modules.get(name);
    if (old === undefined) fail('E_ARG', `${op}: this ${this.typeName} has no child module named ${describe(name)}`);
    if (!(module instanceof Module)) fail('E_ARG', `${op}: \`${name}\` must be a Module, got ${describe(module)}`);
    if ((module as Module) === this || module.modules().includes(this)) {
      fail('E_ARG', `${op}: \`${name}\` would make a cycle: this ${this.typeName} ${(module as Module) === this ? 'is that module itself' : 'is already inside it'}`);
    }
    this.#modules.set(name, module);   // Map.set on an existing key keeps its place
    this.childReplaced(name, old!, module);
    return old!;
  }

  /**
   * Takes the child registered as `name` out of this module (PyTorch's `model.aux1 = None`): its
   * parameters and buffers leave the state dict. Returns it (the caller disposes or keeps it).
   * Protected: for a class's own methods (GoogLeNet's `removeAux`), whose config() must then say
   * the child is gone.
   */
  protected removeModule(name: string): Module {
    const old = this.#modules.get(name);
    if (old === undefined) fail('E_ARG', `removeModule: this ${this.typeName} has no child module named ${describe(name)}`);
    this.#modules.delete(name);
    return old!;
  }

  /**
   * Called after the child `name` was replaced by `setSubmodule` (or `replaceModule`), so that
   * a class that reaches its children other than through the registry follows. The default
   * updates the own property of that name where it held the old child (the usual
   * `this.conv1 = this.registerModule('conv1', …)`); Sequential and ModuleList update their
   * lists; a class that keeps a child in a private field overrides it.
   */
  protected childReplaced(name: string, old: Module, module: Module): void {
    const self = this as unknown as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(self, name) && self[name] === old) self[name] = module;
  }

  /**
   * The descendant at a dotted path (PyTorch's `get_submodule`); '' is this module.
   * @example model.getSubmodule('layer1.0.conv1')
   */
  getSubmodule(path: string): Module {
    const op = 'getSubmodule';
    if (typeof path !== 'string') fail('E_ARG', `${op}: expected a dotted path (a string), got ${describe(path)}`);
    let m: Module = this;
    if (path === '') return m;
    for (const [i, part] of path.split('.').entries()) {
      const child = m.#modules.get(part);
      if (child === undefined) {
        const at = path.split('.').slice(0, i).join('.');
        fail('E_ARG', `${op}: ${at ? `\`${at}\` (a ${m.typeName})` : `this ${m.typeName}`} has no child module named ${describe(part)}`);
      }
      m = child!;
    }
    return m;
  }

  /**
   * Puts `module` in the place of the descendant at a dotted path (PyTorch's `set_submodule`,
   * and `model.fc = …`): its name, its position among its siblings and the field its parent
   * reads it from all go to the new module. Returns the module it replaced, which the caller
   * disposes or keeps.
   * @example const old = model.setSubmodule('classifier.6', new nn.Linear(4096, 10)); old.dispose();
   */
  setSubmodule(path: string, module: Module): Module {
    const op = 'setSubmodule';
    if (typeof path !== 'string' || path === '') fail('E_ARG', `${op}: expected the dotted path of a descendant (a non-empty string), got ${describe(path)}`);
    const parts = path.split('.');
    const parent = this.getSubmodule(parts.slice(0, -1).join('.'));
    const name = parts[parts.length - 1];
    if (!parent.#modules.has(name)) {
      fail('E_ARG', `${op}: ${parts.length > 1 ? `\`${parts.slice(0, -1).join('.')}\` (a ${parent.typeName})` : `this ${parent.typeName}`} has no child module named ${describe(name)}`);
    }
    if (!(module instanceof Module)) fail('E_ARG', `${op}: \`${path}\` must be a Module, got ${describe(module)}`);
    // A cycle through any module on the path, not only through the parent.
    const inside = new Set(module.modules());
    for (let i = 0; i < parts.length; i++) {
      const above = this.getSubmodule(parts.slice(0, i).join('.'));
      if (inside.has(above)) fail('E_ARG', `${op}: \`${path}\` would make a cycle: ${i ? `\`${parts.slice(0, i).join('.')}\`` : `this ${this.typeName}`} is inside that module`);
    }
    const old = parent.replaceModule(name, module);
    parent.#childSwapped = true;
    return old;
  }

  /**
   * @internal Whether `setSubmodule` replaced one of this module's own children: a module whose
   * config() holds only options (a ResNet block's) then no longer rebuilds what it holds.
   */
  get childSwapped(): boolean {
    return this.#childSwapped;
  }

  /**
   * Groups of child names, [layer, batch norm], where this module's forward feeds the layer's
   * output straight into the batch norm and nowhere else: what `nn.utils.fuseConvBn` may fold
   * for inference. None by default (a Sequential's neighbours are found without it); the ResNet
   * blocks name theirs. Override it in a module of your own to have its pairs folded too.
   * @example override fusableGroups() { return [['conv', 'bn']]; }
   */
  fusableGroups(): string[][] {
    return [];
  }

  /** This module's own buffer `name` (not a descendant's), or null. */
  protected buffer(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }

  // ---- traversal ------------------------------------------------------------------------------

  /** [name, module] of every direct child, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#modules];
  }

  /** Direct children. */
  children(): Module[] {
    return [...this.#modules.values()];
  }

  /** [dotted name, module] of this module ('') and every descendant, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    if (typeof prefix !== 'string') fail('E_ARG', `namedModules: expected \`prefix\` to be a string, got ${describe(prefix)}`);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.#modules) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * [dotted name, parameter] of every parameter, this module's first, then each child's
   * (PyTorch's order). A parameter shared by two modules is listed once.
   * @example for (const [name, p] of model.namedParameters()) console.log(name, p.shape);
   */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  /** Every parameter (what an optimizer updates). @example new optim.SGD(model.parameters(), { lr: 0.01 }) */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** [dotted name, buffer] of every buffer. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.#buffers) if (b !== null) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  /** Every buffer. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Number of parameter elements (trainable only, or all). @example model.parameterCount() */
  parameterCount(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((n, p) => n + p.size, 0);
  }

  // ---- modes ----------------------------------------------------------------------------------

  /**
   * Sets training mode on this module and every descendant (dropout active, batch norm on batch
   * statistics); `train(false)` is `eval()`. Returns this.
   * @example model.train(); ... model.eval();
   */
  train(mode = true): this {
    checkBool('train', 'mode', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off, batch norm on running statistics). Returns this. @example model.eval() */
  eval(): this {
    return this.train(false);
  }

  /**
   * Sets `requiresGrad` of every parameter (false freezes the module). Returns this.
   * @example backbone.requiresGrad_(false)
   */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Disposes every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`). @example model.zeroGrad() */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  // ---- training -------------------------------------------------------------------------------

  /**
   * Trains the model (Keras' / TensorFlow.js' `fit`): `epochs` passes over `trainData` (a data
   * set such as `data.mnist()`, or a `DataLoader`), with an optimizer (yours, or 'adam' /
   * 'sgd' made for the run), a loss (cross-entropy by default), top-1 accuracy, validation
   * after each epoch and callbacks (`callbacks.earlyStopping`, `modelCheckpoint`,
   * `lrScheduler`, or your own hooks). Prints a progress bar on a terminal, a line per epoch
   * otherwise (`verbose: 0` for none). The event loop stays free: every step is awaited, not
   * blocked on. Resolves to the history: `{ epoch, loss, accuracy, valLoss, valAccuracy, lr,
   * seconds }`, one entry per epoch.
   * @example
   * const history = await model.fit(data.mnist(), {
   *   epochs: 3, batchSize: 64, optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
   *   validationData: data.mnist({ split: 'test' }), normalize: { mean: 0.1307, std: 0.3081 },
   *   callbacks: [callbacks.earlyStopping({ monitor: 'valLoss', patience: 2 })],
   * });
   * console.log(history.valAccuracy);
   */
  fit(trainData: DataArg, options: FitOptions = {}): Promise<History> {
    return fit(this, trainData, options);
  }

  /**
   * The mean loss (cross-entropy by default) and top-1 accuracy over `data`, in evaluation mode
   * and without gradients (the modes are restored).
   * @example const { loss, accuracy } = await model.evaluate(data.mnist({ split: 'test' }), { normalize: { mean: 0.1307, std: 0.3081 } });
   */
  evaluate(data: DataArg, options: EvaluateOptions = {}): Promise<{ loss: number; accuracy?: number }> {
    return evaluate(this, data, options);
  }

  /**
   * The outputs for a batch tensor or a whole data set (in order), in evaluation mode and
   * without gradients, computed `batchSize` samples at a time. Returns a tensor at once (the
   * work is queued): `await y.data()` to read it.
   * @example const classes = model.predict(images).argmax(1);
   */
  predict(x: Tensor | DataArg, options: PredictOptions = {}): Tensor {
    return predict(this, x, options);
  }

  // ---- state ----------------------------------------------------------------------------------

  /**
   * Every parameter and buffer by dotted name, PyTorch's `state_dict()` keys. The values are
   * views sharing the module's memory (no copy, not requiring grad), and belong to the caller:
   * dispose them, or call this inside `tidy`.
   * @example const state = model.stateDict(); Object.keys(state)   // ['0.weight', '0.bias', ...]
   */
  stateDict(): Record<string, Tensor> {
    const entries: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.#parameters) if (p !== null) entries.push([key(name), p]);
      for (const [name, b] of m.#buffers) if (b !== null) entries.push([key(name), b]);
    }
    // Checked before any view is made: the message names stateDict and the key (it said
    // "detach"), and no views are left behind half-way.
    for (const [k, t] of entries) if (t.isDisposed) fail('E_DISPOSED', `stateDict: "${k}" has been disposed (was the module disposed?)`);
    const out: Record<string, Tensor> = {};
    for (const [k, t] of entries) out[k] = t.detach();
    return out;
  }

  /**
   * Copies values into the module's parameters and buffers (in place: their identity stays).
   * Everything is checked before anything is written, so a failed load changes nothing: a key
   * whose shape differs is E_SHAPE, whose dtype differs E_DTYPE, a missing or unexpected key
   * E_ARG (with `strict`, the default), each naming the key. Values on another device are
   * copied across (a CPU checkpoint into a model on the GPU). Returns the keys that were
   * missing and unexpected (empty lists when strict).
   * @example model.loadStateDict(other.stateDict());
   */
  loadStateDict(state: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = 'loadStateDict';
    if (typeof state !== 'object' || state === null || Array.isArray(state) || isTensor(state)) {
      fail('E_ARG', `${op}: expected an object of tensors by name, got ${describe(state)}`);
    }
    options = checkOptions<LoadStateDictOptions>(op, options, ['strict']);
    const strict = options.strict === undefined ? true : checkBool(op, 'strict', options.strict);
    const own = new Map<string, Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of [...m.#parameters, ...m.#buffers]) if (t !== null) own.set(prefix ? `${prefix}.${name}` : name, t);
    }
    const missingKeys = [...own.keys()].filter((k) => !(k in state));
    const unexpectedKeys = Object.keys(state).filter((k) => !own.has(k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing key(s) ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected key(s) ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
      fail('E_ARG', `${op}: error(s) loading the state dict of ${this.typeName}: ${parts.join('; ')} (pass { strict: false } to load the keys that match)`);
    }
    const copies: [Tensor, Tensor][] = [];
    for (const [key, dst] of own) {
      if (!(key in state)) continue;
      const src = state[key];
      if (!isTensor(src)) fail('E_ARG', `${op}: "${key}" must be a Tensor, got ${describe(src)}`);
      if (src.isDisposed) fail('E_DISPOSED', `${op}: "${key}" has been disposed`);
      if (src.dtype !== dst.dtype) fail('E_DTYPE', `${op}: "${key}" has dtype ${src.dtype}, the module's is ${dst.dtype}`);
      if (shapeStr(src.shape) !== shapeStr(dst.shape)) {
        fail('E_SHAPE', `${op}: size mismatch for "${key}": the state dict has shape ${shapeStr(src.shape)}, the module's is ${shapeStr(dst.shape)}`);
      }
      copies.push([dst, src]);
    }
    // A value on another device is moved first (as PyTorch's copy_ does), every one before any
    // write, so that a failed move too leaves the module as it was.
    const moved: Tensor[] = [];
    try {
      const sources = copies.map(([dst, src]) => {
        if (src.device === dst.device) return src;
        const m = src.to(dst.device);
        moved.push(m);
        return m;
      });
      copies.forEach(([dst], i) => {
        if (dst !== sources[i]) native.copyInto(dst.handle(op), sources[i].handle(op));
      });
    } finally {
      for (const m of moved) m.dispose();  // the queued copies hold their memory
    }
    for (const m of this.modules()) m.afterLoad();
    return { missingKeys, unexpectedKeys };
  }

  /** @internal Called after loadStateDict wrote into the buffers (BatchNorm re-reads its counter). */
  protected afterLoad(): void {}

  /**
   * Moves every parameter and buffer to `device` ('cpu' or 'cuda') in place, as PyTorch's
   * `module.to(device)`: the Parameter objects stay the same (an optimizer made before still
   * updates them, but make it after the move if it already holds state), their gradients are
   * dropped. Returns the module. Inputs must then be on the same device (`fit`, `evaluate` and
   * `predict` move the batches themselves).
   * @example const model = models.LeNet5().to('cuda');
   */
  to(device: Device | string): this {
    const d = parseDevice('Module.to', device);
    if (d === 'cuda') requireCuda('Module.to');
    for (const m of this.modules()) {
      for (const p of m.#parameters.values()) p?.moveTo(d);
      for (const b of m.#buffers.values()) b?.moveTo(d);
    }
    return this;
  }

  /** The device of the first parameter (or buffer); 'cpu' for a module that has none. */
  get device(): Device {
    for (const m of this.modules()) {
      for (const p of m.#parameters.values()) if (p) return p.device;
      for (const b of m.#buffers.values()) if (b) return b.device;
    }
    return 'cpu';
  }

  /** Frees every parameter, buffer and gradient of this module and its descendants. @example model.dispose() */
  dispose(): void {
    for (const m of this.modules()) {
      for (const p of m.#parameters.values()) p?.dispose();
      for (const b of m.#buffers.values()) b?.dispose();
      for (const d of m.#derived.values()) d.dispose();
      m.#derived.clear();
    }
  }

  /**
   * @internal Takes parameter `name` out of the registry (not disposed) and returns it: for
   * reparametrisations such as `nn.utils.prune`, which registers it again as `name_orig`.
   */
  _unregisterParameter(name: string): Parameter | null {
    if (!this.#parameters.has(name)) fail('E_ARG', `${this.typeName}: no parameter named ${describe(name)}`);
    const p = this.#parameters.get(name)!;
    this.#parameters.delete(name);
    return p;
  }

  /** @internal Takes buffer `name` out of the registry (not disposed) and returns it. */
  _unregisterBuffer(name: string): Tensor | null {
    if (!this.#buffers.has(name)) fail('E_ARG', `${this.typeName}: no buffer named ${describe(name)}`);
    const b = this.#buffers.get(name)!;
    this.#buffers.delete(name);
    return b;
  }

  /**
   * @internal Sets attribute `name` to `t`, a tensor computed from parameters (a pruned weight),
   * exempt from tidy scopes and freed when replaced, when the module is disposed, or with null.
   */
  _setDerived(name: string, t: Tensor | null): void {
    // Checked like the public methods: reachable from JavaScript, and `name` becomes a property.
    if (typeof name !== 'string' || name === '') fail('E_ARG', `${this.typeName}._setDerived: expected a name, got ${describe(name)}`);
    if (t !== null) checkTensor(`${this.typeName}._setDerived`, 't', t);
    this.#derived.get(name)?.dispose();
    if (t === null) {
      this.#derived.delete(name);
      return;
    }
    this.#derived.set(name, keep(t));
    (this as unknown as Record<string, unknown>)[name] = t;
  }

  // ---- printing -------------------------------------------------------------------------------

  /**
   * PyTorch's module print-out, with the parameter count of each layer that has parameters and
   * the total:
   * ```
   * Sequential(
   *   (0): Conv2d(1, 6, kernel_size=[5, 5], stride=[1, 1])   156 params
   *   (1): ReLU()
   * )
   * Total parameters: 156 (156 trainable)
   * ```
   * For output shapes, see `summary(inputShape)`.
   */
  toString(): string {
    const total = this.parameterCount(), trainable = this.parameterCount(true);
    return `${this.#repr()}\nTotal parameters: ${fmt(total)} (${fmt(trainable)} trainable)`;
  }

  #repr(): string {
    const own = [...this.#parameters.values()].reduce((n, p) => n + (p ? p.size : 0), 0);
    const head = `${this.typeName}(${this.extraRepr()}`;
    if (this.#modules.size === 0) return `${head})${own ? `   ${fmt(own)} params` : ''}`;
    const lines = [...this.#modules].map(([name, m]) => `  (${name}): ${m.#repr().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }

  /**
   * A table of the layers with the shape each one outputs for an input of `inputShape` (run on
   * zeros on the model's device, in evaluation mode and without gradients; the mode is
   * restored) and its parameter count, then the totals, as torchsummary / Keras' `model.summary()`.
   * @example console.log(model.summary([1, 1, 28, 28]));
   */
  summary(inputShape: readonly number[]): string {
    const op = 'summary';
    if (!Array.isArray(inputShape) || inputShape.length > MAX_RANK || !inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      fail('E_SHAPE', `${op}: expected \`inputShape\` to be an array of positive integers, got ${describe(inputShape)}`);
    }
    if (summaryRows !== null) fail('E_ARG', `${op}: already running (called from inside a forward?)`);
    const modes = this.modules().map((m) => m.training);
    const rows: SummaryRow[] = [];
    summaryRows = rows;
    summaryDepth = 0;
    this.eval();
    try {
      noGrad(() => tidy(() => {
        this.call(zeros(inputShape, { device: this.device }));
      }));
    } finally {
      summaryRows = null;
      this.modules().forEach((m, i) => { m.training = modes[i]; });
    }
    // Rows are the calls in order, nested calls indented under their caller; each is named by
    // its dotted path in this model. The model's own call is the last line ("Output").
    const names = new Map(this.namedModules().map(([n, m]) => [m, n] as [Module, string]));
    const header = ['Layer (type)', 'Output Shape', 'Param #'];
    const body = rows.slice(rows.length > 1 ? 1 : 0).map((r) => [
      `${'  '.repeat(Math.max(0, r.depth - 1))}${names.get(r.module) || '?'} (${r.module.typeName})`, r.shape, fmt(r.params),
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
    const line = (cells: string[]) => cells.map((cell, c) => (c === 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('   ');
    const rule = '='.repeat(widths.reduce((a, b) => a + b, 0) + 6);
    const total = this.parameterCount(), trainable = this.parameterCount(true);
    return [
      `${this.typeName} summary for input ${shapeStr(inputShape)}`,
      rule, line(header), rule, ...body.map(line), rule,
      `Total params: ${fmt(total)}`, `Trainable params: ${fmt(trainable)}`, `Non-trainable params: ${fmt(total - trainable)}`,
      `Output: ${rows[0]?.shape ?? '?'}`,
    ].join('\n');
  }
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

