/**
 * Callbacks for `model.fit`: hooks that run at the start and end of training, of each epoch
 * and of each batch, as Keras' / TensorFlow.js' callbacks. A callback is any object with some
 * of the `Callback` methods; each may return a promise, which `fit` awaits. Ready-made ones:
 * `earlyStopping`, `modelCheckpoint`, `lrScheduler`.
 */
import { fail } from '../errors';
import type { Optimizer } from '../optim/optimizer';
import { LRScheduler, ReduceLROnPlateau } from '../optim/lr_scheduler';
import { clone } from '../ops';
import { noGrad } from '../autograd';
import { keep } from '../engine';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions, describe } from '../validate';

/** What `fit` passes to each callback besides the logs: the run and a way to stop it. */
export interface TrainContext {
  /** The model being trained (a `Module`). */
  readonly model: TrainableModel;
  /** The optimizer `fit` steps. */
  readonly optimizer: Optimizer;
  /** Epochs asked for and batches per epoch. */
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** Optimizer steps taken so far in this `fit` (all epochs). */
  readonly step: number;
  /** Ends training after the current batch (the epoch's logs are still completed). Same as `model.stopTraining = true`. */
  stopTraining(): void;
}

/** The part of a `Module` the callbacks use. */
export interface TrainableModel {
  stopTraining: boolean;
  stateDict(): Record<string, Tensor>;
  loadStateDict(state: Record<string, Tensor>): unknown;
}

/** The logs of one batch: its size, loss, top-1 accuracy (when measured) and the learning rate it used. */
export interface BatchLogs {
  batch: number;
  size: number;
  loss: number;
  accuracy?: number;
  lr: number;
}

/**
 * The logs of one epoch (the running means over its batches, then the validation results):
 * `loss`, `accuracy`, `valLoss`, `valAccuracy`, `lr` (of the epoch's last step), `seconds`.
 */
export interface EpochLogs {
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
  [metric: string]: number | undefined;
}

/**
 * Hooks, in the order `fit` calls them: onTrainBegin, then per epoch onEpochBegin, per batch
 * onBatchBegin and onBatchEnd, then onEpochEnd (after validation); onTrainEnd last (also when
 * training stopped early). Callbacks run in the order of the list.
 * @example
 * const log = { onEpochEnd: (epoch, logs) => console.log(epoch, logs.loss, logs.valAccuracy) };
 * await model.fit(train, { epochs: 3, callbacks: [log] });
 */
export interface Callback {
  onTrainBegin?(logs: Record<string, never>, ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Record<string, never>, ctx: TrainContext): void | Promise<void>;
  onBatchBegin?(batch: number, logs: { size: number }, ctx: TrainContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(logs: { epochs: number; stopped: boolean }, ctx: TrainContext): void | Promise<void>;
}

type Mode = 'min' | 'max' | 'auto';

/** Whether a metric improves downwards: losses do, accuracies do not ('auto'). */
function resolveMode(op: string, mode: unknown, monitor: string): 'min' | 'max' {
  if (mode !== 'min' && mode !== 'max' && mode !== 'auto') fail('E_ARG', `${op}: expected \`mode\` 'min', 'max' or 'auto', got ${describe(mode)}`);
  if (mode !== 'auto') return mode;
  return /acc/i.test(monitor) ? 'max' : 'min';
}

function checkMonitor(op: string, monitor: unknown): string {
  if (typeof monitor !== 'string' || monitor === '') fail('E_ARG', `${op}: expected \`monitor\` to name a log such as 'valLoss', got ${describe(monitor)}`);
  return monitor;
}

/** The monitored value of an epoch, or E_ARG naming the logs there are. */
function monitored(op: string, monitor: string, logs: EpochLogs): number {
  const v = logs[monitor];
  if (typeof v !== 'number') {
    const have = Object.keys(logs).filter((k) => typeof logs[k] === 'number').join(', ');
    fail('E_ARG', `${op}: the epoch's logs have no \`${monitor}\` (they have ${have}${monitor.startsWith('val') ? '; pass validationData to fit' : ''})`);
  }
  return v;
}

export interface EarlyStoppingOptions {
  /** The log to watch (default 'valLoss'). */
  monitor?: string;
  /** Epochs without improvement before stopping (default 0: stop at the first epoch that does not improve). */
  patience?: number;
  /** The least change that counts as an improvement (default 0). */
  minDelta?: number;
  /** 'min' (losses), 'max' (accuracies), or 'auto' (default: 'max' when the name says acc). */
  mode?: Mode;
  /** A value the metric must beat; epochs that do not count against the patience. */
  baseline?: number;
  /** At the end, load the weights of the best epoch back into the model (default false). */
  restoreBestWeights?: boolean;
}

/** `earlyStopping()`'s callback; `stoppedEpoch` and `bestEpoch` say what happened (-1: not stopped / none yet). */
export interface EarlyStopping extends Callback {
  stoppedEpoch: number;
  bestEpoch: number;
  best: number;
}

/**
 * Stops training once `monitor` has stopped improving for `patience` epochs, as Keras'
 * EarlyStopping.
 * @example
 * await model.fit(train, { epochs: 50, validationData: val,
 *   callbacks: [callbacks.earlyStopping({ monitor: 'valLoss', patience: 3, restoreBestWeights: true })] });
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  const op = 'earlyStopping';
  options = checkOptions<EarlyStoppingOptions>(op, options, ['monitor', 'patience', 'minDelta', 'mode', 'baseline', 'restoreBestWeights']);
  const monitor = checkMonitor(op, options.monitor ?? 'valLoss');
  const patience = checkInt(op, 'patience', options.patience ?? 0, 0);
  const minDelta = Math.abs(checkNumber(op, 'minDelta', options.minDelta ?? 0));
  const mode = resolveMode(op, options.mode ?? 'auto', monitor);
  const baseline = options.baseline === undefined ? undefined : checkNumber(op, 'baseline', options.baseline);
  const restore = checkBool(op, 'restoreBestWeights', options.restoreBestWeights ?? false);
  const sign = mode === 'min' ? 1 : -1;
  let wait = 0;
  let bestWeights: Record<string, Tensor> | null = null;
  const freeBest = () => {
    if (bestWeights) for (const t of Object.values(bestWeights)) t.dispose();
    bestWeights = null;
  };
  const cb: EarlyStopping = {
    stoppedEpoch: -1,
    bestEpoch: -1,
    best: Infinity,
    onTrainBegin() {
      wait = 0;
      cb.stoppedEpoch = -1;
      cb.bestEpoch = -1;
      cb.best = baseline === undefined ? sign * Infinity : baseline;
      freeBest();
    },
    onEpochEnd(epoch, logs, ctx) {
      const value = monitored(op, monitor, logs);
      // improved: lower by more than minDelta (for 'min'), higher by more than minDelta (for 'max')
      if (sign * (cb.best - value) > minDelta) {
        cb.best = value;
        cb.bestEpoch = epoch;
        wait = 0;
        if (restore) {
          freeBest();
          const state = ctx.model.stateDict();
          bestWeights = noGrad(() => Object.fromEntries(Object.entries(state).map(([k, t]) => [k, keep(clone(t))])));
          for (const t of Object.values(state)) t.dispose();
        }
        return;
      }
      wait += 1;
      if (wait > patience) {
        cb.stoppedEpoch = epoch;
        ctx.stopTraining();
      }
    },
    onTrainEnd(_logs, ctx) {
      if (restore && bestWeights !== null && cb.stoppedEpoch >= 0) ctx.model.loadStateDict(bestWeights);
      freeBest();
    },
  };
  return cb;
}

export interface ModelCheckpointOptions {
  /** Saves the model (your format: safetensors, JSON, …); awaited when it returns a promise. */
  save: (model: TrainableModel, epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** The log that decides what is best (default 'valLoss'; only used with saveBestOnly). */
  monitor?: string;
  /** Save only when `monitor` improves on the best so far (default false: after every epoch). */
  saveBestOnly?: boolean;
  mode?: Mode;
}

/**
 * Calls `save(model, epoch, logs)` after each epoch, or, with `saveBestOnly`, after each epoch
 * that improves `monitor`, as Keras' ModelCheckpoint (the file format is the save function's).
 * @example
 * callbacks.modelCheckpoint({ saveBestOnly: true, monitor: 'valAccuracy',
 *   save: (model, epoch) => fs.writeFileSync(`lenet-${epoch}.json`, JSON.stringify(model.stateDict())) })
 */
export function modelCheckpoint(options: ModelCheckpointOptions): Callback & { best: number; bestEpoch: number } {
  const op = 'modelCheckpoint';
  if (typeof options !== 'object' || options === null || typeof options.save !== 'function') {
    fail('E_ARG', `${op}: expected { save: (model, epoch, logs) => … }, got ${describe(options)}`);
  }
  const monitor = checkMonitor(op, options.monitor ?? 'valLoss');
  const bestOnly = checkBool(op, 'saveBestOnly', options.saveBestOnly ?? false);
  const sign = resolveMode(op, options.mode ?? 'auto', monitor) === 'min' ? 1 : -1;
  const cb = {
    best: Infinity,
    bestEpoch: -1,
    onTrainBegin() {
      cb.best = sign * Infinity;
      cb.bestEpoch = -1;
    },
    async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext) {
      if (bestOnly) {
        const value = monitored(op, monitor, logs);
        if (!(sign * (cb.best - value) > 0)) return;
        cb.best = value;
        cb.bestEpoch = epoch;
      }
      await options.save(ctx.model, epoch, logs);
    },
  };
  return cb;
}

export interface LrSchedulerOptions {
  /** Step the schedule after every batch ('step', as OneCycleLR is meant) or every epoch ('epoch', the default). */
  per?: 'step' | 'epoch';
  /** For `ReduceLROnPlateau`: the epoch log it watches (default 'valLoss'). */
  monitor?: string;
}

type Schedule = LRScheduler | ReduceLROnPlateau;

/** A schedule, or a function that makes one for the optimizer `fit` uses (when fit made the optimizer). */
export type SchedulerArg = Schedule | ((optimizer: Optimizer, run: { epochs: number; stepsPerEpoch: number }) => Schedule);

function isSchedule(s: unknown): s is Schedule {
  return s instanceof LRScheduler || s instanceof ReduceLROnPlateau;
}

/**
 * Steps a learning-rate schedule (`optim.StepLR`, `CosineAnnealingLR`, `OneCycleLR`, …) after
 * each batch or each epoch. Pass the schedule, or a function that makes it when training starts
 * (then it can size itself from the run). A `ReduceLROnPlateau` steps after each epoch with the
 * epoch's `monitor` log (default 'valLoss').
 * @example
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * callbacks.lrScheduler(new optim.StepLR(opt, { stepSize: 5, gamma: 0.1 }))
 * callbacks.lrScheduler((opt, { epochs, stepsPerEpoch }) =>
 *   new optim.OneCycleLR(opt, { maxLr: 0.01, totalSteps: epochs * stepsPerEpoch }), { per: 'step' })
 * callbacks.lrScheduler(new optim.ReduceLROnPlateau(opt, { patience: 2 }), { monitor: 'valLoss' })
 */
export function lrScheduler(scheduler: SchedulerArg, options: LrSchedulerOptions = {}): Callback & { scheduler: Schedule | null } {
  const op = 'lrScheduler';
  if (!isSchedule(scheduler) && typeof scheduler !== 'function') {
    fail('E_ARG', `${op}: expected a schedule (optim.StepLR, …) or a function (optimizer, run) => schedule, got ${describe(scheduler)}`);
  }
  options = checkOptions<LrSchedulerOptions>(op, options, ['per', 'monitor']);
  const per = options.per ?? 'epoch';
  if (per !== 'step' && per !== 'epoch') fail('E_ARG', `${op}: expected \`per\` 'step' or 'epoch', got ${describe(per)}`);
  const monitor = checkMonitor(op, options.monitor ?? 'valLoss');
  const checkPlateau = (s: Schedule): void => {
    if (s instanceof ReduceLROnPlateau && per === 'step') fail('E_ARG', `${op}: ReduceLROnPlateau steps per epoch, with the epoch's \`${monitor}\`; got per: 'step'`);
  };
  if (isSchedule(scheduler)) checkPlateau(scheduler);
  const cb = {
    scheduler: isSchedule(scheduler) ? scheduler : null,
    onTrainBegin(_logs: unknown, ctx: TrainContext) {
      if (typeof scheduler === 'function') {
        const made = scheduler(ctx.optimizer, { epochs: ctx.epochs, stepsPerEpoch: ctx.stepsPerEpoch });
        if (!isSchedule(made)) fail('E_ARG', `${op}: the function should return a schedule, got ${describe(made)}`);
        checkPlateau(made);
        cb.scheduler = made;
      }
      if (cb.scheduler!.optimizer !== ctx.optimizer) fail('E_ARG', `${op}: the schedule was made for another optimizer than the one fit uses`);
    },
    onBatchEnd: per === 'step' ? () => { (cb.scheduler as LRScheduler).step(); } : undefined,
    onEpochEnd: per === 'epoch'
      ? (_epoch: number, logs: EpochLogs) => {
        const s = cb.scheduler!;
        if (s instanceof ReduceLROnPlateau) s.step(monitored(op, monitor, logs));
        else s.step();
      }
      : undefined,
  };
  return cb;
}
