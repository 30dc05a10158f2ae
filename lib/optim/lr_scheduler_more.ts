/**
 * More learning-rate schedules, with PyTorch 1.13's formulas (torch.optim.lr_scheduler):
 * CyclicLR, CosineAnnealingWarmRestarts, PolynomialLR, ConstantLR, MultiplicativeLR, and the
 * combinators SequentialLR and ChainedScheduler. They extend `LRScheduler` (./lr_scheduler):
 * construction counts as step 0, `step()` after each `optimizer.step()`, `getLastLr()`.
 * PolynomialLR, ConstantLR and MultiplicativeLR use PyTorch's recursive ("chainable") forms,
 * so that they compose with the others under ChainedScheduler as they do there.
 */
import { fail } from '../errors';
import { checkBool, checkInt, checkNumber, checkOptions, collectChecked, describe } from '../validate';
import { checkLambdas, LRScheduler, type SchedulerStateDict } from './lr_scheduler';
import { Optimizer, type ParamGroup } from './optimizer';

type Group = ParamGroup<{ lr: number }>;

/** One number for every group, or one per group. */
function perGroup(op: string, name: string, value: unknown, groups: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== groups) fail('E_ARG', `${op}: expected ${groups} values of \`${name}\` (one per group), got ${value.length}`);
    return value.map((v, i) => checkNumber(op, `${name}[${i}]`, v));
  }
  const v = checkNumber(op, name, value);
  return Array.from({ length: groups }, () => v);
}

export interface CyclicLROptions {
  /** The lower bound of the cycle: one for all groups or one per group (required). Set as the lr at construction. */
  baseLr: number | number[];
  /** The upper bound (required); the amplitude is maxLr - baseLr (scaled by the mode). */
  maxLr: number | number[];
  /** Steps of the rising half of a cycle (default 2000). */
  stepSizeUp?: number;
  /** Steps of the falling half (default stepSizeUp). */
  stepSizeDown?: number;
  /**
   * 'triangular' (default: the amplitude stays), 'triangular2' (halved every cycle) or
   * 'exp_range' (scaled by gamma^step). Ignored when `scaleFn` is given.
   */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** The factor of 'exp_range' (default 1). */
  gamma?: number;
  /** A custom amplitude scaling, of the cycle number (from 1) or of the step (per `scaleMode`). */
  scaleFn?: (x: number) => number;
  /** What `scaleFn` takes: 'cycle' (default) or 'iterations'. */
  scaleMode?: 'cycle' | 'iterations';
  /**
   * Cycle the momentum inversely to the lr, between `baseMomentum` and `maxMomentum` (default
   * true): SGD's or RMSprop's `momentum`, or `betas[0]` of Adam, AdamW, Adamax, NAdam, RAdam.
   */
  cycleMomentum?: boolean;
  /** The momentum at the peak lr (default 0.8). */
  baseMomentum?: number | number[];
  /** The momentum at baseLr (default 0.9). */
  maxMomentum?: number | number[];
}

/**
 * Cyclical learning rates (Smith 2017), as torch.optim.lr_scheduler.CyclicLR: the lr goes
 * from `baseLr` up to `maxLr` in `stepSizeUp` steps and back in `stepSizeDown`, the amplitude
 * scaled by the mode; call `step()` after every batch. With `cycleMomentum` (the default) the
 * momentum moves the other way, between `maxMomentum` and `baseMomentum`.
 *
 * As PyTorch 2 (1.13 refuses an optimizer without `momentum`), an optimizer with `betas` has
 * its beta1 cycled; pass `cycleMomentum: false` for one with neither (Adagrad, Adadelta, …).
 * As PyTorch, a group that already has an `initialLr` (another scheduler came first) starts
 * from it at step 0; `baseLr` rules from step 1.
 *
 * @example const sched = new optim.CyclicLR(opt, { baseLr: 1e-3, maxLr: 0.1, stepSizeUp: 500, mode: 'triangular2' });
 */
export class CyclicLR extends LRScheduler {
  readonly maxLrs: number[];
  readonly totalSize: number;
  readonly stepRatio: number;
  readonly mode: 'triangular' | 'triangular2' | 'exp_range' | 'custom';
  readonly gamma: number;
  readonly scaleMode: 'cycle' | 'iterations';
  readonly cycleMomentum: boolean;
  readonly baseMomentums: number[] = [];
  readonly maxMomentums: number[] = [];
  readonly #scaleFn: (x: number) => number;
  readonly #useBeta1: boolean;

  constructor(optimizer: Optimizer, options: CyclicLROptions) {
    const op = 'CyclicLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['baseLr', 'maxLr', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn', 'scaleMode',
      'cycleMomentum', 'baseMomentum', 'maxMomentum']);
    const n = this.groups().length;
    if (o.baseLr === undefined) fail('E_ARG', `${op}: \`baseLr\` is required`);
    if (o.maxLr === undefined) fail('E_ARG', `${op}: \`maxLr\` is required`);
    const baseLrs = perGroup(op, 'baseLr', o.baseLr, n);
    baseLrs.forEach((v, i) => { if (v < 0) fail('E_ARG', `${op}: expected \`baseLr\` >= 0, got ${v}${n > 1 ? ` (group ${i})` : ''}`); });
    this.maxLrs = perGroup(op, 'maxLr', o.maxLr, n);
    const up = checkNumber(op, 'stepSizeUp', o.stepSizeUp ?? 2000);
    if (!(up > 0)) fail('E_ARG', `${op}: expected \`stepSizeUp\` > 0, got ${up}`);
    const down = o.stepSizeDown === undefined ? up : checkNumber(op, 'stepSizeDown', o.stepSizeDown);
    if (!(down >= 0)) fail('E_ARG', `${op}: expected \`stepSizeDown\` >= 0, got ${down}`);
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.gamma = checkNumber(op, 'gamma', o.gamma ?? 1);
    if (o.scaleFn !== undefined) {
      if (typeof o.scaleFn !== 'function') fail('E_ARG', `${op}: expected \`scaleFn\` to be a function (x) => factor, got ${describe(o.scaleFn)}`);
      const mode = o.scaleMode ?? 'cycle';
      if (mode !== 'cycle' && mode !== 'iterations') fail('E_ARG', `${op}: expected \`scaleMode\` 'cycle' or 'iterations', got ${describe(mode)}`);
      this.mode = 'custom';
      this.scaleMode = mode;
      this.#scaleFn = o.scaleFn as (x: number) => number;
    } else {
      const mode = o.mode ?? 'triangular';
      if (mode === 'triangular') this.#scaleFn = () => 1;
      else if (mode === 'triangular2') this.#scaleFn = (x) => 1 / 2 ** (x - 1);
      else if (mode === 'exp_range') this.#scaleFn = (x) => this.gamma ** x;
      else fail('E_ARG', `${op}: unknown mode ${describe(mode)}; expected 'triangular', 'triangular2' or 'exp_range' (or a scaleFn)`);
      this.mode = mode as CyclicLR['mode'];
      this.scaleMode = mode === 'exp_range' ? 'iterations' : 'cycle';
    }
    this.cycleMomentum = checkBool(op, 'cycleMomentum', o.cycleMomentum ?? true);
    this.#useBeta1 = 'betas' in optimizer.defaults;
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.#useBeta1) {
        fail('E_ARG', `${op}: cycleMomentum needs an optimizer with momentum or betas; pass cycleMomentum: false`);
      }
      this.baseMomentums.push(...perGroup(op, 'baseMomentum', o.baseMomentum ?? 0.8, n));
      this.maxMomentums.push(...perGroup(op, 'maxMomentum', o.maxMomentum ?? 0.9, n));
    }
    // Checked everything: now change the groups.
    this.groups().forEach((g, i) => {
      g.lr = baseLrs[i];
      if (this.cycleMomentum) this.setMomentum(g, this.baseMomentums[i]);
    });
    this.start();
    this.baseLrs = baseLrs;
  }

  private setMomentum(g: Group, m: number): void {
    if (this.#useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private scale(x: number): number {
    const f = this.#scaleFn(x);
    if (typeof f !== 'number' || Number.isNaN(f)) fail('E_ARG', `${this.name}: scaleFn(${x}) returned ${describe(f)}, expected a number`);
    return f;
  }

  protected override getLr(): number[] {
    const t = this.lastEpoch;
    const cycle = Math.floor(1 + t / this.totalSize);
    const x = 1 + t / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const s = this.scale(this.scaleMode === 'cycle' ? cycle : t);
    const lrs = this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * s);
    if (this.cycleMomentum) {
      this.groups().forEach((g, i) => {
        const base = this.baseMomentums[i], max = this.maxMomentums[i];
        this.setMomentum(g, max - (max - base) * scaleFactor * s);
      });
    }
    return lrs;
  }
}

export interface CosineAnnealingWarmRestartsOptions {
  /** Steps until the first restart (required, an integer >= 1). */
  t0: number;
  /** Each period is tMult times the one before (default 1: all equal; an integer >= 1). */
  tMult?: number;
  /** The lowest learning rate (default 0). */
  etaMin?: number;
}

/**
 * SGDR (Loshchilov and Hutter 2017), as torch.optim.lr_scheduler.CosineAnnealingWarmRestarts:
 * lr = etaMin + (initialLr - etaMin) (1 + cos(pi tCur / tI)) / 2, where tCur counts the steps
 * since the last restart and the period tI starts at t0 and is multiplied by tMult at each
 * restart. `step(epoch)` takes a fractional epoch (`epoch + i / batchesPerEpoch`, per batch)
 * and may jump anywhere; `step()` moves on by one.
 *
 * @example
 * const sched = new optim.CosineAnnealingWarmRestarts(opt, { t0: 10, tMult: 2 });
 * for (let epoch = 0; epoch < 70; epoch++) for (let i = 0; i < iters; i++) { …; opt.step(); sched.step(epoch + i / iters); }
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;
  /** The current period. */
  tI: number;
  /** Steps (possibly fractional) since the last restart. */
  tCur = -1;

  constructor(optimizer: Optimizer, options: CosineAnnealingWarmRestartsOptions) {
    const op = 'CosineAnnealingWarmRestarts';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['t0', 'tMult', 'etaMin']);
    this.t0 = checkInt(op, 't0', o.t0, 1);
    this.tMult = checkInt(op, 'tMult', o.tMult ?? 1, 1);
    this.etaMin = checkNumber(op, 'etaMin', o.etaMin ?? 0);
    this.tI = this.t0;
    this.start();
  }

  protected override getLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  /**
   * Moves on one step, or (with `epoch`, which may be fractional) to that point of the schedule.
   * @example sched.step(epoch + batch / batchesPerEpoch)
   */
  override step(epoch?: number): void {
    const op = `${this.name}.step`;
    const { t0, tMult } = this;
    let e: number, tCur = this.tCur, tI = this.tI;
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      e = this.lastEpoch + 1;
      tCur += 1;
      if (tCur >= tI) {
        tCur -= tI;
        tI *= tMult;
      }
    } else {
      e = checkNumber(op, 'epoch', epoch);
      if (e < 0) fail('E_ARG', `${op}: expected a non-negative epoch, got ${e}`);
      if (e >= t0) {
        if (tMult === 1) {
          tCur = e % t0;
        } else {
          // Python's math.log(x, base): log(x) / log(base).
          const n = Math.trunc(Math.log((e / t0) * (tMult - 1) + 1) / Math.log(tMult));
          tCur = e - (t0 * (tMult ** n - 1)) / (tMult - 1);
          tI = t0 * tMult ** n;
        }
      } else {
        tI = t0;
        tCur = e;
      }
    }
    this.tCur = tCur;
    this.tI = tI;
    this.lastEpoch = Math.floor(e) - 1;
    super.step();
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), tCur: this.tCur, tI: this.tI };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    const tCur = checkNumber(op, 'tCur', state?.tCur);
    const tI = checkNumber(op, 'tI', state?.tI);
    super.loadStateDict(state);
    this.tCur = tCur;
    this.tI = tI;
  }
}

export interface PolynomialLROptions {
  /** Steps of the decay, after which the lr stays at 0 (default 5). */
  totalIters?: number;
  /** The power of the polynomial (default 1: linear). */
  power?: number;
}

/**
 * Polynomial decay to 0, as torch.optim.lr_scheduler.PolynomialLR: lr = initialLr (1 -
 * min(step, totalIters) / totalIters)^power, in PyTorch's recursive form.
 *
 * @example const sched = new optim.PolynomialLR(opt, { totalIters: 100, power: 0.9 });
 */
export class PolynomialLR extends LRScheduler {
  readonly totalIters: number;
  readonly power: number;

  constructor(optimizer: Optimizer, options: PolynomialLROptions = {}) {
    const op = 'PolynomialLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['totalIters', 'power']);
    this.totalIters = checkInt(op, 'totalIters', o.totalIters ?? 5, 1);
    this.power = checkNumber(op, 'power', o.power ?? 1);
    this.start();
  }

  protected override getLr(): number[] {
    const { totalIters: n, power, lastEpoch: t } = this;
    if (t === 0 || t > n) return this.groups().map((g) => g.lr);
    const factor = ((1 - t / n) / (1 - (t - 1) / n)) ** power;
    return this.groups().map((g) => g.lr * factor);
  }

  protected override closedFormLr(): number[] {
    const { totalIters: n, power, lastEpoch: t } = this;
    return this.baseLrs.map((base) => base * (1 - Math.min(n, t) / n) ** power);
  }
}

export interface ConstantLROptions {
  /** The factor until `totalIters`, in (0, 1] (default 1/3). */
  factor?: number;
  /** The step at which the lr goes back to initialLr (default 5). */
  totalIters?: number;
}

/**
 * A constant factor for the first `totalIters` steps, as torch.optim.lr_scheduler.ConstantLR:
 * lr = initialLr * factor until step totalIters, initialLr from then on (recursive form).
 *
 * @example const warmup = new optim.ConstantLR(opt, { factor: 0.1, totalIters: 3 });
 */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: ConstantLROptions = {}) {
    const op = 'ConstantLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['factor', 'totalIters']);
    this.factor = checkNumber(op, 'factor', o.factor ?? 1 / 3);
    // PyTorch takes 0 too, then sets 0 * (1 / 0) = NaN at totalIters.
    if (!(this.factor > 0 && this.factor <= 1)) fail('E_ARG', `${op}: expected \`factor\` in (0, 1], got ${this.factor}`);
    this.totalIters = checkInt(op, 'totalIters', o.totalIters ?? 5, 0);
    this.start();
  }

  protected override getLr(): number[] {
    const { factor, totalIters: n, lastEpoch: t } = this;
    if (t === 0) return this.groups().map((g) => g.lr * factor);
    if (t !== n) return this.groups().map((g) => g.lr);
    return this.groups().map((g) => g.lr * (1 / factor));
  }

  protected override closedFormLr(): number[] {
    const { factor, totalIters: n, lastEpoch: t } = this;
    return this.baseLrs.map((base) => base * (factor + (t >= n ? 1 - factor : 0)));
  }
}

export interface MultiplicativeLROptions {
  /** step => factor: the lr is multiplied by lrLambda(step) at each step from 1; one for all groups or one per group (required). */
  lrLambda: ((step: number) => number) | ((step: number) => number)[];
}

/**
 * Multiplies the learning rate by a factor at each step, as
 * torch.optim.lr_scheduler.MultiplicativeLR: lr_t = lr_{t-1} * lrLambda(t). A factor that is
 * not a finite number is E_ARG, and the step is not taken.
 *
 * @example const sched = new optim.MultiplicativeLR(opt, { lrLambda: () => 0.95 });
 */
export class MultiplicativeLR extends LRScheduler {
  readonly #lambdas: ((step: number) => number)[];

  constructor(optimizer: Optimizer, options: MultiplicativeLROptions) {
    const op = 'MultiplicativeLR';
    super(op, optimizer);
    this.#lambdas = checkLambdas(op, options, this.groups().length);
    this.start();
  }

  protected override getLr(): number[] {
    const t = this.lastEpoch;
    if (t <= 0) return this.groups().map((g) => g.lr);
    const factors = this.#lambdas.map((f) => {
      const factor = f(t);
      if (typeof factor !== 'number' || !Number.isFinite(factor)) fail('E_ARG', `${this.name}: lrLambda(${t}) returned ${describe(factor)}, expected a finite number`);
      return factor;
    });
    return this.groups().map((g, i) => g.lr * factors[i]);
  }
}

function checkSchedulers(op: string, schedulers: unknown, optimizer: Optimizer | null): LRScheduler[] {
  if (!Array.isArray(schedulers) || schedulers.length === 0) fail('E_ARG', `${op}: expected a non-empty array of schedulers, got ${describe(schedulers)}`);
  const list = collectChecked(op, 'schedulers', schedulers as unknown[], (s, i) => {
    if (!(s instanceof LRScheduler)) fail('E_ARG', `${op}: expected schedulers[${i}] to be a learning-rate scheduler (StepLR, LinearLR, …; not ReduceLROnPlateau), got ${describe(s)}`);
    return s as LRScheduler;
  });
  const opt = optimizer ?? list[0].optimizer;
  list.forEach((s, i) => {
    if (s.optimizer !== opt) fail('E_ARG', `${op}: schedulers[${i}] belongs to another optimizer; all must share ${optimizer ? 'the one given' : 'the first one\'s'}`);
  });
  return list;
}

export interface SequentialLROptions {
  /** The schedules, each made on this optimizer (required). */
  schedulers: LRScheduler[];
  /** The steps at which each schedule after the first takes over, increasing (one fewer than schedulers). */
  milestones: number[];
}

/**
 * Runs schedules one after the other, as torch.optim.lr_scheduler.SequentialLR: the first until
 * milestones[0], the second from there (restarted at its step 0, through its closed form) until
 * milestones[1], and so on. Construction undoes the step 0 that each schedule took when it was
 * made and takes the first one's again from the initial lr, as PyTorch.
 *
 * @example
 * const warmup = new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const decay = new optim.CosineAnnealingLR(opt, { tMax: 95 });
 * const sched = new optim.SequentialLR(opt, { schedulers: [warmup, decay], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    const op = 'SequentialLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['schedulers', 'milestones']);
    this.schedulers = checkSchedulers(op, o.schedulers, optimizer);
    if (!Array.isArray(o.milestones)) fail('E_ARG', `${op}: expected \`milestones\` to be an array of step numbers, got ${describe(o.milestones)}`);
    this.milestones = collectChecked(op, 'milestones', o.milestones as unknown[], (m, i) => checkInt(op, `milestones[${i}]`, m, 0));
    if (this.milestones.length !== this.schedulers.length - 1) {
      fail('E_ARG', `${op}: expected one milestone fewer than schedulers, got ${this.schedulers.length} schedulers and ${this.milestones.length} milestones`);
    }
    this.milestones.forEach((m, i) => {
      if (i > 0 && m < this.milestones[i - 1]) fail('E_ARG', `${op}: expected increasing milestones, got ${describe(this.milestones)}`);
    });
    const groups = this.groups();
    groups.forEach((g, i) => {
      if (typeof g.initialLr !== 'number') fail('E_ARG', `${op}: group ${i} has no initialLr (make the schedulers on this optimizer first)`);
    });
    // Checked everything: back to the initial lr, each schedule's step 0 undone, the first one's taken again.
    this.baseLrs = groups.map((g) => g.initialLr as number);
    groups.forEach((g) => { g.lr = g.initialLr as number; });
    for (const s of this.schedulers) s.lastEpoch -= 1;
    const first = this.schedulers[0];
    (first as unknown as { stepCount: number }).stepCount = 0;
    first.step();
    this.lastEpoch = 0;
    this.stepCount = 1;
    this.setLrs(first.getLastLr());
  }

  protected override getLr(): number[] {
    return this.groups().map((g) => g.lr);
  }

  /** Moves on one step, with the schedule whose turn it is. */
  override step(epoch?: number): void {
    if (epoch !== undefined) fail('E_ARG', `${this.name}.step: takes no epoch (got ${describe(epoch)})`);
    const t = this.lastEpoch + 1;
    const idx = this.milestones.filter((m) => m <= t).length;   // bisect_right
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === t) s.step(0);
    else s.step();
    this.lastEpoch = t;
    this.stepCount += 1;
    this.setLrs(s.getLastLr());
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    loadWith(this, state, (st) => super.loadStateDict(st));
  }
}

function loadWith(self: SequentialLR | ChainedScheduler, state: SchedulerStateDict, loadOwn: (s: SchedulerStateDict) => void): void {
  const op = `${self.constructor.name}.loadStateDict`;
  const subs = (state as { schedulers?: unknown } | null)?.schedulers;
  if (!Array.isArray(subs) || subs.length !== self.schedulers.length) {
    fail('E_ARG', `${op}: expected \`schedulers\` to hold the state of each of the ${self.schedulers.length} schedulers, got ${describe(subs)}`);
  }
  loadOwn(state);
  self.schedulers.forEach((s, i) => s.loadStateDict(subs[i] as SchedulerStateDict));
}

/**
 * Steps several schedules together, as torch.optim.lr_scheduler.ChainedScheduler: each
 * `step()` steps every one in order, so that the recursive forms compose (ConstantLR and
 * ExponentialLR: a warm-up factor on a decay). `getLastLr()` is the lr after the last one.
 * `lastEpoch` counts the steps taken (PyTorch leaves it at -1).
 *
 * @example const sched = new optim.ChainedScheduler([new optim.ConstantLR(opt, { factor: 0.1, totalIters: 2 }), new optim.ExponentialLR(opt, { gamma: 0.9 })]);
 */
export class ChainedScheduler extends LRScheduler {
  readonly schedulers: LRScheduler[];

  constructor(schedulers: LRScheduler[]) {
    const op = 'ChainedScheduler';
    const list = checkSchedulers(op, schedulers, null);
    super(op, list[0].optimizer);
    this.schedulers = list;
    this.baseLrs = this.groups().map((g) => (g.initialLr ?? g.lr) as number);
    this.lastEpoch = 0;
    this.setLrs(this.groups().map((g) => g.lr));
  }

  protected override getLr(): number[] {
    return this.groups().map((g) => g.lr);
  }

  /** Steps every schedule, in order. */
  override step(epoch?: number): void {
    if (epoch !== undefined) fail('E_ARG', `${this.name}.step: takes no epoch (got ${describe(epoch)})`);
    for (const s of this.schedulers) s.step();
    this.lastEpoch += 1;
    this.stepCount += 1;
    this.setLrs(this.groups().map((g) => g.lr));
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    loadWith(this, state, (st) => super.loadStateDict(st));
  }
}
