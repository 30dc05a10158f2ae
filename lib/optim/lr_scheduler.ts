/**
 * Learning-rate schedules, with PyTorch's formulas (torch.optim.lr_scheduler, 1.13): the
 * scheduler sets `group.lr` of every parameter group of its optimizer. Construction counts as
 * step 0 (it sets the first learning rate); call `step()` after each `optimizer.step()` (per
 * epoch or per batch, as the schedule is meant), and `getLastLr()` says what was set.
 *
 * StepLR and CosineAnnealingLR use PyTorch's recursive ("chainable") forms, so several
 * schedulers on one optimizer compose as they do there; OneCycleLR is closed-form.
 */
import { fail } from '../errors';
import { checkBool, checkInt, checkNumber, checkOptions, describe } from '../validate';
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
   * Moves the schedule one step on and sets each group's learning rate.
   * @example for (let epoch = 0; epoch < 30; epoch++) { train(); scheduler.step(); }
   */
  step(): void {
    this.lastEpoch += 1;
    let lrs: number[];
    try {
      lrs = this.getLr();
    } catch (e) {
      this.lastEpoch -= 1;
      throw e;
    }
    this.stepCount += 1;
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
    checkInt(op, 'lastEpoch', state.lastEpoch, 0);
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
