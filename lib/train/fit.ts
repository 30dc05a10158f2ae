/**
 * The training loop behind `Module.fit`, `Module.evaluate` and `Module.predict`.
 *
 * Each step builds the forward and backward on the queue (ops return at once), queues the
 * optimizer's update, then awaits the step's loss (`await loss.data()`): while the native
 * worker computes, the event loop is free, and the DataLoader assembles the next batch in it.
 * Nothing in the loop blocks the JavaScript thread (no `dataSync`), so servers, timers and
 * progress output keep running during training.
 */
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { fail } from '../errors';
import { argmax, concat, narrow } from '../ops';
import { crossEntropy } from '../nn/functional/loss';
import { Adam, AdamW } from '../optim/adam';
import { clipGradNorm } from '../optim/clip_grad';
import { Optimizer } from '../optim/optimizer';
import { SGD } from '../optim/sgd';
import { RMSprop } from '../optim/rmsprop';
import { Adagrad } from '../optim/adagrad';
import type { Dataset } from '../data/dataset';
import { DataLoader } from '../data/loader';
import type { AugmentOptions } from '../data/loader';
import type { Device, Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions, describe, isTensor } from '../validate';
import type { BatchLogs, Callback, EpochLogs, TrainableModel, TrainContext } from './callbacks';
import { Progress } from './progress';
import type { ProgressOutput } from './progress';

/** What `fit` and `evaluate` need of a model: a `Module`. */
export interface FitModel extends TrainableModel {
  training: boolean;
  call(...inputs: unknown[]): Tensor;
  parameters(): Tensor<'float32'>[];
  modules(): { training: boolean }[];
  train(mode?: boolean): unknown;
  /** Where the parameters are: batches are moved there. */
  readonly device: Device;
}

/** Data for fit/evaluate: a data set (`data.mnist()`, an `ArrayDataset`, any `{ length, get(i) }`) or a `DataLoader`. */
export type DataArg = Dataset | DataLoader | { length: number; get(i: number): { x: Float32Array; y: number }; sampleShape?: readonly number[] };

/** The loss: 'crossEntropy' (default), a function of (output, target), or a loss module (`new nn.CrossEntropyLoss()`). */
export type LossArg = 'crossEntropy' | ((output: Tensor, target: Tensor) => Tensor) | { call(output: Tensor, target: Tensor): Tensor };

export interface FitOptions {
  /** Passes over the training data (default 1). */
  epochs?: number;
  /** Samples per batch when `fit` makes the loader (default 32; a DataLoader keeps its own). */
  batchSize?: number;
  /** An optimizer over the model's parameters, or 'adam' (default), 'adamw', 'sgd', 'rmsprop', 'adagrad' with `lr`. */
  optimizer?: Optimizer | 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad';
  /** Learning rate of an optimizer `fit` makes (default 1e-3 for Adam/AdamW, 0.01 for SGD). */
  lr?: number;
  loss?: LossArg;
  /** Evaluated after each epoch (valLoss, valAccuracy in the logs and the history). */
  validationData?: DataArg;
  /** 'accuracy' (top-1, for outputs [N, classes] and int32 labels). Default ['accuracy']; [] for none. */
  metrics?: 'accuracy'[];
  callbacks?: Callback[];
  /** 0: silent; 1 (default): a progress bar on a terminal, a line per epoch otherwise; 2: a line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Where progress goes (default process.stdout). */
  output?: ProgressOutput;
  /** For a data set: shuffle each epoch (default true), seeded by `seed` (default 0). */
  shuffle?: boolean;
  seed?: number;
  /** For a data set: per-channel normalisation (applied to the validation data too) and augmentation (training only). */
  normalize?: { mean: number | readonly number[]; std: number | readonly number[] };
  augment?: AugmentOptions;
  /** For a data set: leave out a last, smaller batch (default false). */
  dropLast?: boolean;
  /** Clip the gradients' total 2-norm to this before each step. */
  clipGradNorm?: number;
  /** Batch size of the validation loader (default: batchSize). */
  validationBatchSize?: number;
}

/** One entry per epoch run. */
export interface History {
  epoch: number[];
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  lr: number[];
  seconds: number[];
}

export interface EvaluateOptions {
  batchSize?: number;
  loss?: LossArg;
  metrics?: 'accuracy'[];
  normalize?: FitOptions['normalize'];
}

export interface PredictOptions {
  /** Samples per forward pass (default 256). */
  batchSize?: number;
  normalize?: FitOptions['normalize'];
}

const FIT_KEYS = ['epochs', 'batchSize', 'optimizer', 'lr', 'loss', 'validationData', 'metrics', 'callbacks', 'verbose', 'output',
  'shuffle', 'seed', 'normalize', 'augment', 'dropLast', 'clipGradNorm', 'validationBatchSize'];

function lossFunction(op: string, loss: unknown): (out: Tensor, target: Tensor) => Tensor {
  if (loss === undefined || loss === 'crossEntropy') return (out, target) => crossEntropy(out, target);
  if (typeof loss === 'function') return loss as (out: Tensor, target: Tensor) => Tensor;
  if (typeof loss === 'object' && loss !== null && typeof (loss as { call?: unknown }).call === 'function') {
    const m = loss as { call(o: Tensor, t: Tensor): Tensor };
    return (out, target) => m.call(out, target);
  }
  return fail('E_ARG', `${op}: expected \`loss\` 'crossEntropy', a function (output, target) => loss, or a loss module, got ${describe(loss)}`);
}

function wantsAccuracy(op: string, metrics: unknown): boolean {
  if (metrics === undefined) return true;
  // Bounded, then read with Array.from: some() skips holes, so a sparse array (a 2**31-long one
  // after a minutes-long walk) passed as ['accuracy'].
  if (!Array.isArray(metrics) || metrics.length > 8 || Array.from(metrics).some((m) => m !== 'accuracy')) fail('E_ARG', `${op}: expected \`metrics\` to be [] or ['accuracy'], got ${describe(metrics)}`);
  return metrics.length > 0;
}

/** A data set without `sampleShape` gets the flat shape of its first sample. */
function asDataset(op: string, name: string, data: unknown): Dataset {
  const d = data as Partial<Dataset>;
  if (typeof data !== 'object' || data === null || typeof d.get !== 'function' || !Number.isSafeInteger(d.length)) {
    fail('E_ARG', `${op}: expected \`${name}\` to be a data set ({ length, get(i) }) or a DataLoader, got ${describe(data)}`);
  }
  if (d.length! < 0) fail('E_ARG', `${op}: expected \`${name}\`.length >= 0, got ${d.length}`);
  if (Array.isArray(d.sampleShape)) return d as Dataset;
  if (d.length === 0) fail('E_ARG', `${op}: \`${name}\` is empty`);
  const first = d.get!(0);
  const size = first?.x?.length;
  if (!Number.isSafeInteger(size)) fail('E_ARG', `${op}: \`${name}\`.get(0) should return { x: Float32Array, y }, got ${describe(first)}`);
  return { length: d.length!, sampleShape: [size!], get: (i: number) => d.get!(i) };
}

function makeLoader(op: string, name: string, data: unknown, options: {
  batchSize: number; shuffle: boolean; seed: number; normalize?: FitOptions['normalize']; augment?: AugmentOptions; dropLast?: boolean;
}): DataLoader {
  if (data instanceof DataLoader) return data;
  return new DataLoader(asDataset(op, name, data), options);
}

/**
 * A batch on the model's device: the loader makes batches on the CPU; a model on the GPU gets
 * copies there (the CPU originals are freed).
 */
function onDevice(batch: { x: Tensor; y: Tensor }, device: Device): { x: Tensor; y: Tensor } {
  if (batch.x.device === device && batch.y.device === device) return batch;
  const x = batch.x.to(device), y = batch.y.to(device);
  if (x !== batch.x) batch.x.dispose();
  if (y !== batch.y) batch.y.dispose();
  return { x, y };
}

/** The modes of the model and every descendant, to put back after evaluation. */
function saveModes(model: FitModel): () => void {
  const modules = model.modules();
  const modes = modules.map((m) => m.training);
  return () => modules.forEach((m, i) => { m.training = modes[i]; });
}

/** One pass without gradients: the mean loss and accuracy over every sample. */
async function evaluateLoader(model: FitModel, loader: DataLoader, loss: (o: Tensor, t: Tensor) => Tensor, accuracy: boolean): Promise<{ loss: number; accuracy?: number }> {
  const restore = saveModes(model);
  model.train(false);
  let total = 0, lossSum = 0, correct = 0, measured = true;
  try {
    const device = model.device;
    for (const batch of loader) {
      const { x, y } = onDevice(batch, device);
      const n = x.shape[0];
      const { l, pred } = noGrad(() => tidy(() => {
        const out = model.call(x);
        const canMeasure = accuracy && out.shape.length === 2 && y.dtype === 'int32';
        return { l: loss(out, y), pred: canMeasure ? argmax(out, 1) : null };
      }));
      try {
        const [lv, pv, yv] = await Promise.all([l.data(), pred?.data(), pred ? y.data() : undefined]);
        lossSum += lv[0] * n;
        total += n;
        if (pv && yv) for (let i = 0; i < n; i++) correct += pv[i] === yv[i] ? 1 : 0;
        else measured = false;
      } finally {
        l.dispose(); pred?.dispose(); x.dispose(); y.dispose();
      }
    }
  } finally {
    restore();
  }
  if (total === 0) fail('E_ARG', 'evaluate: the data has no samples');
  return accuracy && measured ? { loss: lossSum / total, accuracy: correct / total } : { loss: lossSum / total };
}

function makeOptimizer(op: string, model: FitModel, arg: unknown, lr: number | undefined): { optimizer: Optimizer; owned: boolean } {
  if (arg instanceof Optimizer) {
    if (lr !== undefined) fail('E_ARG', `${op}: \`lr\` is for an optimizer fit makes; set it on your optimizer instead`);
    return { optimizer: arg, owned: false };
  }
  const params = model.parameters();
  if (arg === undefined || arg === 'adam') return { optimizer: new Adam(params, { lr: lr ?? 1e-3 }), owned: true };
  if (arg === 'adamw') return { optimizer: new AdamW(params, { lr: lr ?? 1e-3 }), owned: true };
  if (arg === 'sgd') return { optimizer: new SGD(params, { lr: lr ?? 0.01 }), owned: true };
  if (arg === 'rmsprop') return { optimizer: new RMSprop(params, { lr: lr ?? 0.01 }), owned: true };
  if (arg === 'adagrad') return { optimizer: new Adagrad(params, { lr: lr ?? 0.01 }), owned: true };
  return fail('E_ARG', `${op}: expected \`optimizer\` to be an optimizer (new optim.SGD(...)) or 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', got ${describe(arg)}`);
}

/**
 * Trains `model` on `trainData` (see `Module.fit`). Returns the history, one entry per epoch.
 */
export async function fit(model: FitModel, trainData: DataArg, options: FitOptions = {}): Promise<History> {
  const op = 'fit';
  options = checkOptions<FitOptions>(op, options, FIT_KEYS);
  const epochs = checkInt(op, 'epochs', options.epochs ?? 1, 1);
  const batchSize = checkInt(op, 'batchSize', options.batchSize ?? 32, 1);
  const verbose = options.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) fail('E_ARG', `${op}: expected \`verbose\` 0, 1 or 2, got ${describe(verbose)}`);
  const output = options.output ?? process.stdout;
  if (typeof output !== 'object' || output === null || typeof output.write !== 'function') fail('E_ARG', `${op}: expected \`output\` to have write(text), got ${describe(output)}`);
  const lossFn = lossFunction(op, options.loss);
  const accuracy = wantsAccuracy(op, options.metrics);
  const callbacks = options.callbacks ?? [];
  if (!Array.isArray(callbacks) || callbacks.length > 1 << 16 || Array.from(callbacks).some((c) => typeof c !== 'object' || c === null)) fail('E_ARG', `${op}: expected \`callbacks\` to be an array of callback objects, got ${describe(callbacks)}`);
  const clip = options.clipGradNorm === undefined ? undefined : checkNumber(op, 'clipGradNorm', options.clipGradNorm);
  if (clip !== undefined && !(clip > 0)) fail('E_ARG', `${op}: expected \`clipGradNorm\` > 0, got ${clip}`);
  const lr = options.lr === undefined ? undefined : checkNumber(op, 'lr', options.lr);
  const loaderOptions = {
    batchSize,
    shuffle: checkBool(op, 'shuffle', options.shuffle ?? true),
    seed: checkInt(op, 'seed', options.seed ?? 0, 0),
    normalize: options.normalize,
    augment: options.augment,
    dropLast: checkBool(op, 'dropLast', options.dropLast ?? false),
  };
  const loader = makeLoader(op, 'trainData', trainData, loaderOptions);
  const stepsPerEpoch = loader.length;
  if (stepsPerEpoch === 0) fail('E_ARG', `${op}: the training data has no batches`);
  const valLoader = options.validationData === undefined ? null : makeLoader(op, 'validationData', options.validationData, {
    batchSize: checkInt(op, 'validationBatchSize', options.validationBatchSize ?? batchSize, 1), shuffle: false, seed: 0, normalize: options.normalize,
  });
  const { optimizer, owned } = makeOptimizer(op, model, options.optimizer, lr);
  const params = model.parameters();

  let step = 0;
  model.stopTraining = false;
  const ctx: TrainContext = {
    model, optimizer, epochs, stepsPerEpoch,
    get step() { return step; },
    stopTraining() { model.stopTraining = true; },
  };
  const history: History = { epoch: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], lr: [], seconds: [] };
  const progress = new Progress(verbose, output, epochs, stepsPerEpoch);
  const emit = async <K extends keyof Callback>(hook: K, ...args: unknown[]) => {
    for (const cb of callbacks) {
      const f = cb[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof f === 'function') await f.call(cb, ...args, ctx);
    }
  };

  let epochsRun = 0;
  try {
    await emit('onTrainBegin', {});
    for (let epoch = 0; epoch < epochs && !model.stopTraining; epoch++) {
      await emit('onEpochBegin', epoch, {});
      model.train(true);
      progress.epochBegin(epoch);
      const start = performance.now();
      let images = 0, lossSum = 0, correct = 0, measured = accuracy, lastLr = optimizer.paramGroups[0].lr;
      let batch = 0;
      const device = model.device;
      for (const loaded of loader) {
        const { x, y } = onDevice(loaded, device);
        const n = x.shape[0];
        let l: Tensor | null = null, pred: Tensor | null = null;
        try {
          await emit('onBatchBegin', batch, { size: n });
          lastLr = optimizer.paramGroups[0].lr;
          ({ l, pred } = tidy(() => {
            const out = model.call(x);
            const value = lossFn(out, y);
            if (!isTensor(value) || value.size !== 1) fail('E_SHAPE', `${op}: the loss should be one number (a tensor of one element), got ${describe(value)}`);
            value.backward();
            return { l: value.detach(), pred: measured && out.shape.length === 2 && y.dtype === 'int32' ? noGrad(() => argmax(out, 1)) : null };
          }));
          if (clip !== undefined) clipGradNorm(params, clip).dispose();
          optimizer.step();
          optimizer.zeroGrad();
          step++;
          // The one wait of the step: the event loop runs (and the loader assembles the next batch) meanwhile.
          const [lv, pv, yv] = await Promise.all([l.data(), pred?.data(), pred ? y.data() : undefined]);
          const batchLoss = lv[0];
          let batchCorrect = 0;
          if (pv && yv) for (let i = 0; i < n; i++) batchCorrect += pv[i] === yv[i] ? 1 : 0;
          else measured = false;
          images += n;
          lossSum += batchLoss * n;
          correct += batchCorrect;
          const logs: BatchLogs = { batch, size: n, loss: batchLoss, lr: lastLr };
          if (measured) logs.accuracy = batchCorrect / n;
          progress.batchEnd(batch + 1, images, lossSum / images, measured ? correct / images : undefined);
          await emit('onBatchEnd', batch, logs);
        } finally {
          l?.dispose(); pred?.dispose(); x.dispose(); y.dispose();
        }
        batch++;
        if (model.stopTraining) break;
      }
      const logs: EpochLogs = { loss: lossSum / images, lr: lastLr, seconds: 0 };
      if (measured) logs.accuracy = correct / images;
      if (valLoader !== null) {
        const v = await evaluateLoader(model, valLoader, lossFn, accuracy);
        logs.valLoss = v.loss;
        if (v.accuracy !== undefined) logs.valAccuracy = v.accuracy;
      }
      logs.seconds = (performance.now() - start) / 1000;
      history.epoch.push(epoch);
      history.loss.push(logs.loss);
      history.accuracy.push(logs.accuracy ?? NaN);
      history.valLoss.push(logs.valLoss ?? NaN);
      history.valAccuracy.push(logs.valAccuracy ?? NaN);
      history.lr.push(logs.lr);
      history.seconds.push(logs.seconds);
      progress.epochEnd(images, logs);
      epochsRun++;
      await emit('onEpochEnd', epoch, logs);
    }
    await emit('onTrainEnd', { epochs: epochsRun, stopped: model.stopTraining });
  } finally {
    if (owned) optimizer.dispose();
  }
  return history;
}

/** Mean loss and accuracy of `model` on `data`, in evaluation mode and without gradients (see `Module.evaluate`). */
export async function evaluate(model: FitModel, data: DataArg, options: EvaluateOptions = {}): Promise<{ loss: number; accuracy?: number }> {
  const op = 'evaluate';
  options = checkOptions<EvaluateOptions>(op, options, ['batchSize', 'loss', 'metrics', 'normalize']);
  const loader = makeLoader(op, 'data', data, { batchSize: checkInt(op, 'batchSize', options.batchSize ?? 256, 1), shuffle: false, seed: 0, normalize: options.normalize });
  return evaluateLoader(model, loader, lossFunction(op, options.loss), wantsAccuracy(op, options.metrics));
}

/**
 * The model's outputs for every sample, in order, concatenated along dim 0 (see `Module.predict`).
 * Synchronous like every op: the work is queued, the result is a tensor to read or dispose.
 */
export function predict(model: FitModel, x: Tensor | DataArg, options: PredictOptions = {}): Tensor {
  const op = 'predict';
  options = checkOptions<PredictOptions>(op, options, ['batchSize', 'normalize']);
  const batchSize = checkInt(op, 'batchSize', options.batchSize ?? 256, 1);
  const restore = saveModes(model);
  model.train(false);
  try {
    if (isTensor(x)) {
      if (options.normalize !== undefined) fail('E_ARG', `${op}: \`normalize\` applies to a data set; normalise the tensor yourself`);
      if (x.shape.length === 0) fail('E_SHAPE', `${op}: expected a batch [N, ...], got a scalar`);
      const n = x.shape[0];
      return noGrad(() => tidy(() => {
        if (n <= batchSize) return model.call(x);
        const parts: Tensor[] = [];
        for (let i = 0; i < n; i += batchSize) parts.push(model.call(narrow(x, 0, i, Math.min(batchSize, n - i))));
        return concat(parts, 0);
      }));
    }
    const loader = makeLoader(op, 'x', x, { batchSize, shuffle: false, seed: 0, normalize: options.normalize });
    const device = model.device;
    return noGrad(() => tidy(() => {
      const parts: Tensor[] = [];
      for (const b of loader) parts.push(model.call(onDevice(b, device).x));
      if (parts.length === 0) fail('E_ARG', `${op}: the data has no samples`);
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    }));
  } finally {
    restore();
  }
}
