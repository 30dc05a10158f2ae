/**
 * Learning-rate schedules, with PyTorch's formulas (torch.optim.lr_scheduler, 1.13): the
 * scheduler sets `group.lr` of every parameter group of its optimizer. Construction counts as
 * step 0 (it sets the first learning rate); call `step()` after each `optimizer.step()` (per
 * epoch or per batch, as the schedule is meant), and `getLastLr()` says what was set.
 *
 * StepLR and CosineAnnealingLR use PyTorch's recursive ("chainable") forms, so several
 * schedulers on one optimizer compose as they do there; OneCycleLR is closed-form. The
 * schedules of ./lr_scheduler_more (CyclicLR, CosineAnnealingWarmRestarts, PolynomialLR,
 * ConstantLR, MultiplicativeLR, SequentialLR, ChainedScheduler) extend the same base.
 */
import { fail } from '../errors';
import { checkBool, checkInt, collectChecked, checkNumber, checkOptions, describe } from '../validate';
import { Optimizer, type ParamGroup } from './optimizer';

type Group = ParamGroup<{ lr: number }>;

export interface SchedulerStateDict {
  lastEpoch: number;
  stepCount: number;
  baseLrs: number[];
  lastLr: number[];
  [other: string]: unknown;
}

/** The base of the schedules: keeps the step count and sets each group's lr. */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The learning rates at step 0 (each group's `initialLr`). */
  baseLrs: number[] = [];
  /** The number of `step()` calls since construction (0 right after it). */
  lastEpoch = -1;
  protected stepCount = 0;
  #lastLr: number[] = [];
  protected readonly name: string;

  protected constructor(name: string, optimizer: Optimizer) {
    if (new.target === LRScheduler) fail('E_ARG', 'LRScheduler: the base class is abstract: use StepLR, OneCycleLR, … or extend it with getLr');
    if (typeof name !== 'string') fail('E_ARG', `LRScheduler: expected \`name\` (the subclass's name, for messages) to be a string, got ${describe(name)}`);
    this.name = name;
    if (!(optimizer instanceof Optimizer)) fail('E_ARG', `${name}: expected an optimizer (SGD, Adam, …), got ${describe(optimizer)}`);
    this.optimizer = optimizer;
  }

  /** Subclasses call this at the end of their constructor: it records the base rates and takes step 0. */
  protected start(): void {
    for (const group of this.groups()) if (group.initialLr === undefined) group.initialLr = group.lr;
    this.baseLrs = this.groups().map((g) => g.initialLr as number);
    this.step();
  }

  protected groups(): Group[] {
    return this.optimizer.paramGroups as Group[];
  }

  /** The learning rates for `this.lastEpoch`, from the groups' current ones. */
  protected abstract getLr(): number[];

  /**
   * The learning rates at step `this.lastEpoch` from the base rates alone (PyTorch's
   * `_get_closed_form_lr`), for `step(epoch)`; null where the schedule has none (getLr is used).
   */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /**
   * Moves the schedule one step on and sets each group's learning rate. With `epoch` (PyTorch's
   * deprecated `step(epoch)`, used by SequentialLR), jumps to that step instead, through the
   * closed form where the schedule has one.
   * @example for (let epoch = 0; epoch < 30; epoch++) { train(); scheduler.step(); }
   */
  step(epoch?: number): void {
    const previous = this.lastEpoch;
    if (epoch === undefined) this.lastEpoch += 1;
    else this.lastEpoch = checkInt(`${this.name}.step`, 'epoch', epoch, 0);
    let lrs: number[];
    try {
      lrs = (epoch === undefined ? null : this.closedFormLr()) ?? this.getLr();
    } catch (e) {
      this.lastEpoch = previous;
      throw e;
    }
    this.stepCount += 1;
    this.setLrs(lrs);
  }

  /** Sets each group's lr and records them for getLastLr(). */
  protected setLrs(lrs: readonly number[]): void {
    this.groups().forEach((g, i) => { g.lr = lrs[i]; });
    this.#lastLr = this.groups().map((g) => g.lr);
  }

  /** The learning rate of each group set by the last step. @example scheduler.getLastLr()  // [0.1] */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** The schedule's position, to resume it with `loadStateDict` (the optimizer saves its own). */
  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: this.baseLrs.slice(), lastLr: this.#lastLr.slice() };
  }

  /** Restores `stateDict()`. @example scheduler.loadStateDict(saved) */
  loadStateDict(state: SchedulerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    if (typeof state !== 'object' || state === null) fail('E_ARG', `${op}: expected an object, got ${describe(state)}`);
    checkInt(op, 'lastEpoch', state.lastEpoch, -1);
    checkInt(op, 'stepCount', state.stepCount, 0);
    for (const key of ['baseLrs', 'lastLr'] as const) {
      const v = state[key];
      if (!Array.isArray(v) || v.length !== this.groups().length || v.some((x) => typeof x !== 'number')) {
        fail('E_ARG', `${op}: expected \`${key}\` to hold one number per parameter group (${this.groups().length}), got ${describe(v)}`);
      }
    }
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.baseLrs = state.baseLrs.slice();
    this.#lastLr = state.lastLr.slice();
  }
}

export interface StepLROptions {
  /** Decay every `stepSize` steps (required). */
  stepSize: number;
  /** Multiplier at each decay (default 0.1). */
  gamma?: number;
}

/**
 * Multiplies the learning rate by `gamma` every `stepSize` steps, as torch.optim.lr_scheduler.StepLR:
 * lr = initialLr * gamma ^ floor(step / stepSize).
 *
 * @example const sched = new optim.StepLR(opt, { stepSize: 30, gamma: 0.1 });
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super('StepLR', optimizer);
    const o = checkOptions<Record<string, unknown>>('StepLR', options, ['stepSize', 'gamma']);
    this.stepSize = checkInt('StepLR', 'stepSize', o.stepSize, 1);
    this.gamma = checkNumber('StepLR', 'gamma', o.gamma ?? 0.1);
    this.start();
  }

  protected override getLr(): number[] {
    const lrs = this.groups().map((g) => g.lr);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

export interface CosineAnnealingLROptions {
  /** Steps of the half cosine, from initialLr down to etaMin (required). */
  tMax: number;
  /** The lowest learning rate (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing, as torch.optim.lr_scheduler.CosineAnnealingLR (without restarts):
 * lr = etaMin + (initialLr - etaMin) (1 + cos(pi step / tMax)) / 2, computed recursively as
 * PyTorch does, so past tMax it rises again along the cosine.
 *
 * @example const sched = new optim.CosineAnnealingLR(opt, { tMax: 100, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer);
    const o = checkOptions<Record<string, unknown>>('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    this.tMax = checkInt('CosineAnnealingLR', 'tMax', o.tMax, 1);
    this.etaMin = checkNumber('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0);
    this.start();
  }

  protected override getLr(): number[] {
    const { tMax, etaMin, lastEpoch: t } = this;
    const groups = this.groups();
    if (t === 0) return groups.map((g) => g.lr);
    if ((t - 1 - tMax) % (2 * tMax) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (g.lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    const { tMax, etaMin, lastEpoch: t } = this;
    return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2);
  }
}

export interface OneCycleLROptions {
  /** The peak learning rate: one for all groups or one per group (required). */
  maxLr: number | number[];
  /** The number of steps of the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent rising (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear' annealing between the phases' ends. */
  annealStrategy?: 'cos' | 'linear';
  /**
   * Cycle the momentum inversely to the lr, between `maxMomentum` and `baseMomentum`
   * (default true, as PyTorch): SGD's `momentum`, or Adam's beta1.
   */
  cycleMomentum?: boolean;
  /** The momentum at the peak lr (default 0.85). */
  baseMomentum?: number;
  /** The momentum at the start and end (default 0.95). */
  maxMomentum?: number;
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The final lr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, back down to initialLr, then to the final lr) instead of two (default false). */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR: the lr rises from maxLr /
 * divFactor to maxLr over the first `pctStart` of `totalSteps`, then anneals to
 * initialLr / finalDivFactor; call `step()` after every batch. The lr set at construction
 * ignores the optimizer's own. Stepping past `totalSteps` throws E_ARG, as PyTorch.
 *
 * With `cycleMomentum` (the default) the momentum moves the other way, from `maxMomentum` down
 * to `baseMomentum` and back; it is SGD's `momentum` (which is then never 0, so SGD keeps a
 * momentum buffer) or Adam's/AdamW's `betas[0]`. Pass `cycleMomentum: false` to leave it.
 *
 * @example
 * const sched = new optim.OneCycleLR(opt, { maxLr: 0.1, totalSteps: epochs * loader.length });
 * for (…each batch…) { …; opt.step(); sched.step(); }
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly #phases: Phase[];
  readonly #useBeta1: boolean;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const op = 'OneCycleLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum',
      'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    if (o.totalSteps !== undefined) this.totalSteps = checkInt(op, 'totalSteps', o.totalSteps, 1);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      this.totalSteps = checkInt(op, 'epochs', o.epochs, 1) * checkInt(op, 'stepsPerEpoch', o.stepsPerEpoch, 1);
    } else {
      fail('E_ARG', `${op}: give \`totalSteps\`, or \`epochs\` and \`stepsPerEpoch\``);
    }
    const pctStart = checkNumber(op, 'pctStart', o.pctStart ?? 0.3);
    if (pctStart < 0 || pctStart > 1) fail('E_ARG', `${op}: expected \`pctStart\` in [0, 1], got ${pctStart}`);
    const anneal = o.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') fail('E_ARG', `${op}: expected \`annealStrategy\` 'cos' or 'linear', got ${describe(anneal)}`);
    this.annealStrategy = anneal;
    const divFactor = checkNumber(op, 'divFactor', o.divFactor ?? 25);
    const finalDivFactor = checkNumber(op, 'finalDivFactor', o.finalDivFactor ?? 1e4);
    const threePhase = checkBool(op, 'threePhase', o.threePhase ?? false);
    const total = this.totalSteps;
    this.#phases = threePhase
      ? [
        { endStep: pctStart * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pctStart * total - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: pctStart * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    const groups = this.groups();
    const perGroup = (name: string, value: unknown): number[] => {
      if (Array.isArray(value)) {
        if (value.length !== groups.length) fail('E_ARG', `${op}: expected ${groups.length} values of \`${name}\` (one per group), got ${value.length}`);
        return value.map((v, i) => checkNumber(op, `${name}[${i}]`, v));
      }
      const v = checkNumber(op, name, value);
      return groups.map(() => v);
    };
    if (o.maxLr === undefined) fail('E_ARG', `${op}: \`maxLr\` is required`);
    const maxLrs = perGroup('maxLr', o.maxLr);
    this.cycleMomentum = checkBool(op, 'cycleMomentum', o.cycleMomentum ?? true);
    this.#useBeta1 = 'betas' in optimizer.defaults;
    let maxMomentums: number[] = [], baseMomentums: number[] = [];
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.#useBeta1) {
        fail('E_ARG', `${op}: cycleMomentum needs an optimizer with momentum or betas; pass cycleMomentum: false`);
      }
      maxMomentums = perGroup('maxMomentum', o.maxMomentum ?? 0.95);
      baseMomentums = perGroup('baseMomentum', o.baseMomentum ?? 0.85);
    }
    // Checked everything: now change the groups.
    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = g.initialLr / finalDivFactor;
      if (this.cycleMomentum) {
        this.setMomentum(g, maxMomentums[i]);
        g.maxMomentum = maxMomentums[i];
        g.baseMomentum = baseMomentums[i];
      }
    });
    this.start();
  }

  private setMomentum(g: Group, m: number): void {
    if (this.#useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected override getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      fail('E_ARG', `OneCycleLR: stepped ${stepNum + 1} times, past totalSteps ${this.totalSteps}`);
    }
    return this.groups().map((g) => {
      let startStep = 0;
      const phases = this.#phases;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i];
        if (stepNum <= phase.endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          const lr = this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct));
          return lr;
        }
        startStep = phase.endStep;
      }
      return fail('E_INTERNAL', 'OneCycleLR: no phase');
    });
  }
}

export interface MultiStepLROptions {
  /** The steps at which to decay, increasing (required; a repeated milestone decays once per repeat, as PyTorch). */
  milestones: number[];
  /** Multiplier at each milestone (default 0.1). */
  gamma?: number;
}

/**
 * Multiplies the learning rate by `gamma` at each milestone, as
 * torch.optim.lr_scheduler.MultiStepLR: lr = initialLr * gamma ^ (milestones passed).
 *
 * @example const sched = new optim.MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    const op = 'MultiStepLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['milestones', 'gamma']);
    if (!Array.isArray(o.milestones)) fail('E_ARG', `${op}: expected \`milestones\` to be an array of step numbers, got ${describe(o.milestones)}`);
    this.milestones = collectChecked(op, 'milestones', o.milestones, (m, i) => checkInt(op, `milestones[${i}]`, m, 1)).sort((a, b) => a - b);
    this.gamma = checkNumber(op, 'gamma', o.gamma ?? 0.1);
    this.start();
  }

  protected override getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    return this.groups().map((g) => (count === 0 ? g.lr : g.lr * this.gamma ** count));
  }

  protected override closedFormLr(): number[] {
    // bisect_right: the milestones at or before this step.
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }
}

export interface ExponentialLROptions {
  /** Multiplier at every step (required). */
  gamma: number;
}

/**
 * Multiplies the learning rate by `gamma` at every step, as torch.optim.lr_scheduler.ExponentialLR:
 * lr = initialLr * gamma ^ step.
 *
 * @example const sched = new optim.ExponentialLR(opt, { gamma: 0.95 });
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super('ExponentialLR', optimizer);
    const o = checkOptions<Record<string, unknown>>('ExponentialLR', options, ['gamma']);
    this.gamma = checkNumber('ExponentialLR', 'gamma', o.gamma);
    this.start();
  }

  protected override getLr(): number[] {
    return this.groups().map((g) => (this.lastEpoch === 0 ? g.lr : g.lr * this.gamma));
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/**
 * @internal `options.lrLambda` of LambdaLR and MultiplicativeLR checked: one function for all
 * `groups` groups, or an array of one per group.
 */
export function checkLambdas(op: string, options: unknown, groups: number): ((step: number) => number)[] {
  const o = checkOptions<Record<string, unknown>>(op, options, ['lrLambda']);
  const given = Array.isArray(o.lrLambda) ? o.lrLambda : Array.from({ length: groups }, () => o.lrLambda);
  if (given.length !== groups) fail('E_ARG', `${op}: expected ${groups} functions in \`lrLambda\` (one per group), got ${given.length}`);
  given.forEach((f, i) => {
    if (typeof f !== 'function') fail('E_ARG', `${op}: expected \`lrLambda\`${Array.isArray(o.lrLambda) ? `[${i}]` : ''} to be a function (step) => factor, got ${describe(f)}`);
  });
  return given as ((step: number) => number)[];
}

export interface LambdaLROptions {
  /** step => factor: lr = initialLr * lrLambda(step); one function for all groups or one per group (required). */
  lrLambda: ((step: number) => number) | ((step: number) => number)[];
}

/**
 * The learning rate as a function of the step, as torch.optim.lr_scheduler.LambdaLR:
 * lr = initialLr * lrLambda(step). A factor that is not a finite number is E_ARG, and the
 * step is not taken.
 *
 * @example const warmup = new optim.LambdaLR(opt, { lrLambda: (t) => Math.min(1, (t + 1) / 500) });
 */
export class LambdaLR extends LRScheduler {
  readonly #lambdas: ((step: number) => number)[];

  constructor(optimizer: Optimizer, options: LambdaLROptions) {
    const op = 'LambdaLR';
    super(op, optimizer);
    this.#lambdas = checkLambdas(op, options, this.groups().length);
    this.start();
  }

  protected override getLr(): number[] {
    return this.baseLrs.map((base, i) => {
      const factor = this.#lambdas[i](this.lastEpoch);
      if (typeof factor !== 'number' || !Number.isFinite(factor)) {
        fail('E_ARG', `${this.name}: lrLambda(${this.lastEpoch}) returned ${describe(factor)}, expected a finite number`);
      }
      return base * factor;
    });
  }
}

export interface LinearLROptions {
  /** The factor at step 0 (default 1/3), in (0, 1]. */
  startFactor?: number;
  /** The factor from step `totalIters` on (default 1), in [0, 1]. */
  endFactor?: number;
  /** Steps of the ramp (default 5). */
  totalIters?: number;
}

/**
 * Scales the learning rate by a factor that moves linearly from `startFactor` to `endFactor`
 * over `totalIters` steps, as torch.optim.lr_scheduler.LinearLR (a warm-up, with the defaults),
 * in PyTorch's recursive form.
 *
 * @example const warmup = new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 500 });
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    const op = 'LinearLR';
    super(op, optimizer);
    const o = checkOptions<Record<string, unknown>>(op, options, ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = checkNumber(op, 'startFactor', o.startFactor ?? 1 / 3);
    if (!(this.startFactor > 0 && this.startFactor <= 1)) fail('E_ARG', `${op}: expected \`startFactor\` in (0, 1], got ${this.startFactor}`);
    this.endFactor = checkNumber(op, 'endFactor', o.endFactor ?? 1);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) fail('E_ARG', `${op}: expected \`endFactor\` in [0, 1], got ${this.endFactor}`);
    this.totalIters = checkInt(op, 'totalIters', o.totalIters ?? 5, 1);
    this.start();
  }

  protected override getLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch: t } = this;
    return this.groups().map((g) => {
      if (t === 0) return g.lr * s;
      if (t > n) return g.lr;
      return g.lr * (1 + (e - s) / (n * s + (t - 1) * (e - s)));
    });
  }

  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch: t } = this;
    return this.baseLrs.map((base) => base * (s + ((e - s) * Math.min(n, t)) / n));
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): a lower metric is better (a loss); 'max': higher is better (an accuracy). */
  mode?: 'min' | 'max';
  /** Multiplier when the metric stalls (default 0.1), in [0, 1). */
  factor?: number;
  /** Steps without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** What counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): better than best * (1 ∓ threshold); 'abs': better than best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Steps to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The lowest learning rate: one for all groups or one per group (default 0). */
  minLr?: number | number[];
  /** Changes smaller than this are not made (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the learning rate by `factor` when a metric has stopped improving for `patience`
 * steps, as torch.optim.lr_scheduler.ReduceLROnPlateau: call `step(metric)` after each
 * validation (with `fit`, pass it to `callbacks.lrScheduler` with the log to watch).
 *
 * @example
 * const plateau = new optim.ReduceLROnPlateau(opt, { factor: 0.5, patience: 2 });
 * for (…each epoch…) { train(); plateau.step(await validationLoss()); }
 */
export class ReduceLROnPlateau {
  readonly optimizer: Optimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** The best metric so far. */
  best: number;
  /** Steps since the best (reset by a reduction and during the cooldown). */
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  #lastLr: number[];

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    const op = 'ReduceLROnPlateau';
    if (!(optimizer instanceof Optimizer)) fail('E_ARG', `${op}: expected an optimizer (SGD, Adam, …), got ${describe(optimizer)}`);
    const o = checkOptions<Record<string, unknown>>(op, options, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    this.optimizer = optimizer;
    const mode = o.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') fail('E_ARG', `${op}: expected \`mode\` 'min' or 'max', got ${describe(mode)}`);
    this.mode = mode;
    this.factor = checkNumber(op, 'factor', o.factor ?? 0.1);
    if (!(this.factor >= 0 && this.factor < 1)) fail('E_ARG', `${op}: expected \`factor\` in [0, 1), got ${this.factor}`);
    this.patience = checkInt(op, 'patience', o.patience ?? 10, 0);
    this.threshold = checkNumber(op, 'threshold', o.threshold ?? 1e-4);
    const thresholdMode = o.thresholdMode ?? 'rel';
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') fail('E_ARG', `${op}: expected \`thresholdMode\` 'rel' or 'abs', got ${describe(thresholdMode)}`);
    this.thresholdMode = thresholdMode;
    this.cooldown = checkInt(op, 'cooldown', o.cooldown ?? 0, 0);
    const groups = optimizer.paramGroups;
    if (Array.isArray(o.minLr)) {
      if (o.minLr.length !== groups.length) fail('E_ARG', `${op}: expected ${groups.length} values of \`minLr\` (one per group), got ${o.minLr.length}`);
      this.minLrs = o.minLr.map((v, i) => checkNumber(op, `minLr[${i}]`, v));
    } else {
      const v = checkNumber(op, 'minLr', o.minLr ?? 0);
      this.minLrs = groups.map(() => v);
    }
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-8);
    this.best = mode === 'min' ? Infinity : -Infinity;
    this.#lastLr = groups.map((g) => g.lr);
  }

  /** Whether `value` improves on the best so far, by the threshold. */
  isBetter(value: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? value < best * (1 - threshold) : value < best - threshold;
    return this.thresholdMode === 'rel' ? value > best * (threshold + 1) : value > best + threshold;
  }

  /**
   * Takes the latest value of the metric (a number, or a one-element tensor: read synchronously)
   * and reduces the learning rates if it has stalled. A NaN counts as no improvement, as PyTorch.
   * @example plateau.step(valLoss)
   */
  step(metric: number | { item(): number }): void {
    const op = 'ReduceLROnPlateau.step';
    const value = typeof metric === 'object' && metric !== null && typeof metric.item === 'function' ? metric.item() : metric;
    if (typeof value !== 'number') fail('E_ARG', `${op}: expected the metric to be a number, got ${describe(metric)}`);
    this.lastEpoch += 1;
    if (this.isBetter(value)) {
      this.best = value;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const lr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - lr > this.eps) g.lr = lr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group after the last step. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** Where the schedule stands, to resume it with `loadStateDict`. */
  stateDict(): { best: number; numBadEpochs: number; cooldownCounter: number; lastEpoch: number; lastLr: number[] } {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: this.#lastLr.slice() };
  }

  /** Restores `stateDict()`. */
  loadStateDict(state: ReturnType<ReduceLROnPlateau['stateDict']>): void {
    const op = 'ReduceLROnPlateau.loadStateDict';
    if (typeof state !== 'object' || state === null) fail('E_ARG', `${op}: expected an object, got ${describe(state)}`);
    const best = checkNumber(op, 'best', state.best, true);
    const numBadEpochs = checkInt(op, 'numBadEpochs', state.numBadEpochs, 0);
    const cooldownCounter = checkInt(op, 'cooldownCounter', state.cooldownCounter, 0);
    const lastEpoch = checkInt(op, 'lastEpoch', state.lastEpoch, 0);
    const n = this.optimizer.paramGroups.length;
    if (!Array.isArray(state.lastLr) || state.lastLr.length !== n || state.lastLr.some((x) => typeof x !== 'number')) {
      fail('E_ARG', `${op}: expected \`lastLr\` to hold one number per parameter group (${n}), got ${describe(state.lastLr)}`);
    }
    Object.assign(this, { best, numBadEpochs, cooldownCounter, lastEpoch });
    this.#lastLr = state.lastLr.slice();
  }
}
