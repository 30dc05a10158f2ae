/**
 * Stochastic weight averaging, as torch.optim.swa_utils (PyTorch 1.13): `AveragedModel` keeps a
 * copy of a model whose parameters are the running average (or any `avgFn`, e.g. an exponential
 * moving average) of the model's over the updates; `SWALR` anneals each group's learning rate to
 * a fixed SWA rate; `updateBn` recomputes the batch-norm statistics of the averaged model in one
 * pass over the data.
 */
import { noGrad } from '../autograd';
import { full, ones, zeros } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { add, cast, div, sub } from '../ops';
import { Tensor } from '../tensor';
import { checkBool, checkOptions, checkTensor, describe, isTensor } from '../validate';
import { Module } from '../nn/module';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers';
import { spectralNorm, spectralNormsOf } from '../nn/spectral-norm';
import { LRScheduler } from './lr_scheduler';
import { Optimizer } from './optimizer';

/** How `AveragedModel` folds a model's value in: (averaged, current, numAveraged) => the new average. */
export type AvgFn = (averaged: Tensor<'float32'>, current: Tensor<'float32'>, numAveraged: number) => Tensor;

/**
 * A copy of `m`, built from its config() (modules and tensors in it copied too), with its
 * spectral normalisations applied again, and loaded with its state dict. (Weight normalisation
 * and pruning are not carried over: their state dict keys then do not load, E_ARG; remove them
 * first, or average the plain model.)
 */
export function copyModule<M extends Module>(m: M, op = 'copyModule'): M {
  if (typeof op !== 'string') fail('E_ARG', `copyModule: expected \`op\` to be a string, got ${describe(op)}`);
  if (!(m instanceof Module)) fail('E_ARG', `${op}: expected an nn.Module to copy, got ${describe(m)}`);
  const copyArg = (v: unknown, depth: number): unknown => {
    if (depth > 256) fail('E_ARG', `${op}: the config of a ${m.typeName} is nested too deep to copy`);
    if (v instanceof Module) return copyModule(v, op);
    if (isTensor(v)) return (v as Tensor).clone();
    if (Array.isArray(v)) return v.map((x) => copyArg(x, depth + 1));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyArg(x, depth + 1)]));
    }
    return v;
  };
  const args = m.config();
  if (!Array.isArray(args)) {
    fail('E_ARG', `${op}: cannot copy a ${m.typeName}: it has no config() (implement config() to return its constructor's arguments)`);
  }
  // Built outside any tidy scope: a module returned from `tidy` would hand its parameters to the
  // enclosing scope (tidy collects the tensors among an object's properties).
  const C = m.constructor as new (...a: unknown[]) => M;
  const made = new C(...(copyArg(args, 0) as unknown[]));
  try {
    // A reparametrisation by hooks is not in the config: spectral normalisation is applied again
    // (u and v then load from the state dict).
    for (const [name, o] of spectralNormsOf(m)) spectralNorm(made, { name, ...o });
    noGrad(() => tidy(() => { made.loadStateDict(m.stateDict()); }));
  } catch (e) {
    made.dispose();
    throw e;
  }
  const from = m.modules(), to = made.modules();
  to.forEach((c, i) => { c.training = from[i]?.training ?? m.training; });
  if (m.device !== 'cpu') made.to(m.device);
  return made;
}

export interface AveragedModelOptions {
  /** (averaged, current, numAveraged) => new average; default the running mean averaged + (current - averaged) / (numAveraged + 1). */
  avgFn?: AvgFn;
  /** Average the buffers too (batch-norm statistics) instead of parameters alone. Default false. */
  useBuffers?: boolean;
}

/**
 * A model averaged over training, as torch.optim.swa_utils.AveragedModel: `module` is a deep copy
 * of `model` (rebuilt from its config() and loaded with its state dict; forward hooks other than
 * spectral normalisation's are not copied), `n_averaged` an int32
 * buffer counting the updates. `updateParameters(model)` sets the copy's parameters (and buffers,
 * with `useBuffers`) to avgFn(averaged, current, n) (the first update copies them). `call` runs
 * the copy. The state dict keys are PyTorch's (`n_averaged`, `module.…`).
 * @example
 * const swa = new optim.AveragedModel(model);
 * const ema = new optim.AveragedModel(model, { avgFn: (avg, p) => avg.mul(0.999).add(p.mul(0.001)) });
 * // after each epoch of the SWA phase: swa.updateParameters(model);
 */
export class AveragedModel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly avgFn: AvgFn | null;
  readonly useBuffers: boolean;
  #n = 0;

  constructor(model: M, options: AveragedModelOptions = {}) {
    super();
    const op = 'AveragedModel';
    if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
    const o = checkOptions<AveragedModelOptions>(op, options, ['avgFn', 'useBuffers']);
    if (o.avgFn !== undefined && o.avgFn !== null && typeof o.avgFn !== 'function') fail('E_ARG', `${op}: expected \`avgFn\` to be a function (averaged, current, numAveraged) => Tensor, got ${describe(o.avgFn)}`);
    this.avgFn = o.avgFn ?? null;
    this.useBuffers = checkBool(op, 'useBuffers', o.useBuffers ?? false);
    this.module = copyModule(model, op);
    this.registerBuffer('n_averaged', zeros([], { dtype: 'int32', device: this.module.device }));
    this.registerModule('module', this.module);
  }

  /** The number of updates so far (the `n_averaged` buffer). */
  get nAveraged(): number {
    return this.#n;
  }

  forward(...inputs: unknown[]): Tensor {
    return this.module.call(...inputs);
  }

  #tensors(m: Module, own: boolean): Tensor[] {
    if (!this.useBuffers) return own ? this.module.parameters() : m.parameters();
    return [...m.parameters(), ...m.buffers()];
  }

  /**
   * Folds `model`'s current parameters (and buffers, with useBuffers) into the average: copied
   * at the first update, avgFn(averaged, current, nAveraged) after; then nAveraged + 1.
   * @example swa.updateParameters(model)
   */
  updateParameters(model: Module): void {
    const op = 'AveragedModel.updateParameters';
    if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
    const ours = this.#tensors(this.module, true), theirs = this.#tensors(model, false);
    if (ours.length !== theirs.length) fail('E_ARG', `${op}: the model has ${theirs.length} ${this.useBuffers ? 'parameters and buffers' : 'parameters'}, the averaged copy ${ours.length}`);
    ours.forEach((a, i) => {
      const b = theirs[i];
      if (b.isDisposed) fail('E_DISPOSED', `${op}: tensor ${i} of the model has been disposed`);
      if (a.shape.length !== b.shape.length || a.shape.some((d, k) => d !== b.shape[k])) {
        fail('E_SHAPE', `${op}: tensor ${i} of the model has shape [${b.shape.join(', ')}], the averaged copy's [${a.shape.join(', ')}]`);
      }
    });
    const n = this.#n;
    noGrad(() => tidy(() => {
      const values = ours.map((a, i) => {
        let b = theirs[i].detach();
        if (b.device !== a.device) b = b.to(a.device);
        if (n === 0) return b.dtype === a.dtype ? b : cast(b, a.dtype);
        const af = a.dtype === 'float32' ? (a as Tensor<'float32'>) : cast(a, 'float32');
        const bf = b.dtype === 'float32' ? (b as Tensor<'float32'>) : cast(b, 'float32');
        const v = this.avgFn ? this.avgFn(af, bf, n) : add(af, div(sub(bf, af), n + 1));
        if (!isTensor(v)) fail('E_ARG', `${op}: avgFn must return a Tensor, got ${describe(v)}`);
        checkTensor(op, 'avgFn result', v);
        if (v.shape.length !== a.shape.length || v.shape.some((d, k) => d !== a.shape[k])) fail('E_SHAPE', `${op}: avgFn returned shape [${v.shape.join(', ')}] for a tensor of shape [${a.shape.join(', ')}]`);
        // An int32 buffer (num_batches_tracked) takes the value truncated, as PyTorch's copy_ into a long.
        return v.dtype === a.dtype ? v : cast(v, a.dtype);
      });
      ours.forEach((a, i) => { if (a !== values[i]) native.copyInto(a.handle(op), values[i].handle(op)); });
    }));
    this.#n = n + 1;
    const counter = this.buffer('n_averaged')!;
    const value = full([], this.#n, { dtype: 'int32', device: counter.device });
    native.copyInto(counter.handle(op), value.handle(op));
    value.dispose();
    // Batch norm mirrors its counter on the host: let it read the averaged buffer back.
    if (this.useBuffers) for (const m of this.module.modules()) (m as unknown as { afterLoad(): void }).afterLoad();
  }

  protected override afterLoad(): void {
    const c = this.buffer('n_averaged');
    if (c) this.#n = c.dataSync()[0];
  }

  override extraRepr(): string {
    return `use_buffers=${this.useBuffers}`;
  }
}

export interface SWALROptions {
  /** The SWA learning rate: one for every group, or one per group (required). */
  swaLr: number | number[];
  /** Steps of the annealing from each group's lr to its swaLr (default 10; 0: at once). */
  annealEpochs?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
}

/**
 * Anneals each group's learning rate to a fixed SWA value over `annealEpochs` steps, then keeps
 * it, as torch.optim.swa_utils.SWALR (PyTorch's recursive form: it starts from the groups'
 * current rates). Each group gets `swaLr` (PyTorch's `swa_lr` key). Step it once per epoch of
 * the SWA phase.
 * @example
 * const swaSched = new optim.SWALR(opt, { swaLr: 0.05, annealEpochs: 5, annealStrategy: 'cos' });
 * // epoch >= swaStart: swa.updateParameters(model); swaSched.step();
 */
export class SWALR extends LRScheduler {
  readonly annealEpochs: number;
  readonly annealStrategy: 'cos' | 'linear';

  constructor(optimizer: Optimizer, options: SWALROptions) {
    super('SWALR', optimizer);
    const op = 'SWALR';
    const o = checkOptions<Record<string, unknown>>(op, options, ['swaLr', 'annealEpochs', 'annealStrategy']);
    const groups = this.groups();
    let lrs: unknown[];
    if (Array.isArray(o.swaLr)) {
      if (o.swaLr.length !== groups.length) fail('E_ARG', `${op}: swaLr must have the same length as optimizer.paramGroups: swaLr has ${o.swaLr.length}, optimizer.paramGroups has ${groups.length}`);
      lrs = o.swaLr;
    } else {
      lrs = groups.map(() => o.swaLr);
    }
    lrs.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail('E_ARG', `${op}: expected \`swaLr\`${Array.isArray(o.swaLr) ? `[${i}]` : ''} to be a finite number, got ${describe(v)}`);
    });
    const strategy = o.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') fail('E_ARG', `${op}: annealStrategy must be one of 'cos' or 'linear', got ${describe(strategy)}`);
    const epochs = o.annealEpochs ?? 10;
    if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 0) fail('E_ARG', `${op}: annealEpochs must be an integer >= 0, got ${describe(epochs)}`);
    groups.forEach((g, i) => { g.swaLr = lrs[i]; });
    this.annealEpochs = epochs;
    this.annealStrategy = strategy as 'cos' | 'linear';
    this.start();
  }

  #anneal(t: number): number {
    return this.annealStrategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
  }

  protected override getLr(): number[] {
    // PyTorch's `_step_count - 1`: the steps taken before this one.
    let step = this.stepCount;
    if (this.annealEpochs === 0) step = Math.max(1, step);
    const prevT = Math.max(0, Math.min(1, (step - 1) / Math.max(1, this.annealEpochs)));
    const prevAlpha = this.#anneal(prevT);
    const groups = this.groups();
    const prevLrs = groups.map((g) => {
      const swa = g.swaLr as number;
      return prevAlpha === 1 ? swa : (g.lr - prevAlpha * swa) / (1 - prevAlpha);
    });
    const t = Math.max(0, Math.min(1, step / Math.max(1, this.annealEpochs)));
    const alpha = this.#anneal(t);
    return groups.map((g, i) => (g.swaLr as number) * alpha + prevLrs[i] * (1 - alpha));
  }
}

function isBatchNorm(m: Module): m is BatchNorm1d | BatchNorm2d {
  return (m instanceof BatchNorm1d || m instanceof BatchNorm2d) && m.runningMean !== null;
}

/**
 * Recomputes the running statistics of every batch norm of `model` in one pass over `loader`,
 * as torch.optim.swa_utils.update_bn: the statistics are reset, the momentum set to null (a
 * cumulative average over the batches) for the pass, the model run in training mode on each
 * batch (a tensor, or an array whose first element is the input), then the momenta and the mode
 * restored. Without gradients. A model without batch norm is left alone. Synchronous: `loader`
 * is any iterable of batches (an array of tensors, a synchronous DataLoader iterator).
 * @example optim.updateBn(trainBatches, swa);
 */
export function updateBn(loader: Iterable<Tensor | readonly unknown[]>, model: Module, options: { device?: 'cpu' | 'cuda' } = {}): void {
  const op = 'updateBn';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
  if (loader === null || typeof loader !== 'object' || typeof (loader as Iterable<unknown>)[Symbol.iterator] !== 'function' || isTensor(loader)) {
    fail('E_ARG', `${op}: expected \`loader\` to be an iterable of batches (tensors, or arrays whose first element is the input), got ${describe(loader)}`);
  }
  const o = checkOptions<{ device?: 'cpu' | 'cuda' }>(op, options, ['device']);
  const bns = model.modules().filter(isBatchNorm);
  if (bns.length === 0) return;
  const momenta = bns.map((m) => m.momentum);
  noGrad(() => tidy(() => {
    for (const m of bns) {
      const c = m.numFeatures, device = m.runningMean!.device;
      m.loadStateDict({ running_mean: zeros([c], { device }), running_var: ones([c], { device }), num_batches_tracked: zeros([], { dtype: 'int32', device }) }, { strict: false });
    }
  }));
  const modes = model.modules().map((m) => m.training);
  model.train();
  const writable = (m: Module) => m as unknown as { momentum: number | null };
  for (const m of bns) writable(m).momentum = null;
  try {
    let i = 0;
    for (const batch of loader) {
      let input: unknown = batch;
      if (Array.isArray(batch)) input = batch[0];
      if (!isTensor(input)) fail('E_ARG', `${op}: batch ${i} is ${describe(batch)}; expected a tensor or an array whose first element is a tensor`);
      tidy(() => {
        let x = input as Tensor;
        if (o.device !== undefined && x.device !== o.device) x = x.to(o.device);
        noGrad(() => model.call(x));
      });
      i++;
    }
  } finally {
    bns.forEach((m, k) => { writable(m).momentum = momenta[k]; });
    model.modules().forEach((m, k) => { m.training = modes[k]; });
  }
}
