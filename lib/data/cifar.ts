/**
 * CIFAR-10 and CIFAR-100, the official *binary* versions (www.cs.toronto.edu/~kriz/cifar.html),
 * read from a folder you downloaded and unpacked yourself: nothing is ever downloaded.
 *
 * - CIFAR-10 (cifar-10-binary.tar.gz → cifar-10-batches-bin/): `data_batch_1.bin` …
 *   `data_batch_5.bin` (train) and `test_batch.bin`, records of 1 label byte then 3072 pixel
 *   bytes (1024 red, 1024 green, 1024 blue, rows top to bottom); class names in
 *   `batches.meta.txt`.
 * - CIFAR-100 (cifar-100-binary.tar.gz → cifar-100-binary/): `train.bin` and `test.bin`,
 *   records of 2 label bytes (coarse, then fine) then 3072 pixel bytes; names in
 *   `coarse_label_names.txt` and `fine_label_names.txt`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fail } from '../errors';
import { readWhole } from '../io/file';
import { checkOptions, describe } from '../validate';
import { ArrayDataset } from './dataset';

const PIXELS = 3 * 32 * 32;
const URL = 'https://www.cs.toronto.edu/~kriz/cifar.html';

/** A CIFAR split: an `ArrayDataset` (images [N, 3, 32, 32] in [0, 1], labels int32) with its class names. */
export class CifarDataset extends ArrayDataset {
  /** The class names, label order (from the folder's names file; null when it has none). */
  readonly classes: readonly string[] | null;

  constructor(x: Float32Array, y: Int32Array, classes: readonly string[] | null) {
    // Checked before super: the shape is read from y, and classes is copied.
    if (!(y instanceof Int32Array)) fail('E_ARG', `CifarDataset: expected \`y\` to be an Int32Array of labels, got ${describe(y)}`);
    if (classes !== null && (!Array.isArray(classes) || classes.length > 1 << 16 || !classes.every((c) => typeof c === 'string'))) {
      fail('E_ARG', `CifarDataset: expected \`classes\` to be null or an array of class names, got ${describe(classes)}`);
    }
    super(x, [y.length, 3, 32, 32], y);
    this.classes = classes === null ? null : Object.freeze(classes.slice());
  }
}

export interface Cifar10Options {
  /** The unpacked folder `cifar-10-batches-bin` (or the folder holding it). Required. */
  dir: string;
  /** 'train' (data_batch_1..5.bin, 50000 images) or 'test' (test_batch.bin, 10000). Default 'train'. */
  split?: 'train' | 'test';
}

export interface Cifar100Options {
  /** The unpacked folder `cifar-100-binary` (or the folder holding it). Required. */
  dir: string;
  /** 'train' (train.bin, 50000 images) or 'test' (test.bin, 10000). Default 'train'. */
  split?: 'train' | 'test';
  /** 'fine' (100 classes, the default) or 'coarse' (20 superclasses). */
  labels?: 'fine' | 'coarse';
}

/** 0..255 → [0, 1] in float32, as torchvision's ToTensor (x / 255). */
const SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

function checkCommon(op: string, options: { dir?: unknown; split?: unknown }, archive: string, folder: string): { dir: string; split: 'train' | 'test' } {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') fail('E_ARG', `${op}: expected \`split\` 'train' or 'test', got ${describe(split)}`);
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    fail('E_ARG', `${op}: expected \`dir\`, the folder ${folder} unpacked from ${archive} (${URL}), got ${describe(options.dir)}`);
  }
  const given = options.dir;
  if (!fs.existsSync(given) || !fs.statSync(given).isDirectory()) {
    fail('E_LOAD', `${op}: no folder ${given}: download ${archive} from ${URL} and unpack it (tar xzf ${archive}), then pass { dir: '…/${folder}' }`);
  }
  // Accept the folder the archive unpacks to, or the one it was unpacked in.
  const inner = path.join(given, folder);
  const dir = fs.existsSync(inner) && fs.statSync(inner).isDirectory() ? inner : given;
  return { dir, split };
}

function readBatch(op: string, dir: string, file: string, archive: string): Buffer {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) fail('E_LOAD', `${op}: no ${file} in ${dir}: expected the binary version's files, from ${archive} (${URL})`);
  return readWhole(op, full);
}

/** Class names, one a line (trailing blank lines allowed), or null when the file is absent. */
function readNames(op: string, dir: string, file: string, count: number): string[] | null {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) return null;
  const names = readWhole(op, full).toString('utf8').split(/\r?\n/).map((s) => s.trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  if (names.length !== count || names.includes('')) fail('E_FORMAT', `${op}: ${full} should hold ${count} class names, one a line; it has ${names.length} lines`);
  return names;
}

/**
 * Reads records of label bytes (one per entry of `labels`: its name and its number of classes,
 * each checked) then 3072 pixels from each file; `use` picks the label byte returned.
 */
function readRecords(op: string, files: { name: string; bytes: Buffer }[], labels: { name: string; classes: number }[], use: number): { x: Float32Array; y: Int32Array } {
  const labelBytes = labels.length;
  const record = labelBytes + PIXELS;
  let n = 0;
  for (const { name, bytes } of files) {
    if (bytes.length === 0 || bytes.length % record !== 0) {
      fail('E_FORMAT', `${op}: ${name} is truncated or corrupt: ${bytes.length} bytes is not a whole number of ${record}-byte records`);
    }
    n += bytes.length / record;
  }
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let i = 0;
  for (const { name, bytes } of files) {
    for (let r = 0; r < bytes.length; r += record, i++) {
      labels.forEach((l, k) => {
        if (bytes[r + k] >= l.classes) fail('E_FORMAT', `${op}: ${name} is corrupt: record ${r / record} has ${l.name} ${bytes[r + k]} (expected 0..${l.classes - 1})`);
      });
      y[i] = bytes[r + use];
      const from = r + labelBytes;
      for (let p = 0; p < PIXELS; p++) x[i * PIXELS + p] = SCALE[bytes[from + p]];
    }
  }
  return { x, y };
}

/**
 * CIFAR-10 from its binary version: an `ArrayDataset` of float32 images [N, 3, 32, 32] in
 * [0, 1] (as torchvision's ToTensor) and int32 labels 0..9, with `classes` from
 * `batches.meta.txt`. A missing folder or file is E_LOAD; a truncated or corrupt file (a size
 * that is not whole records, a label out of range) is E_FORMAT. The train split takes 600 MB
 * as float32.
 *
 * @example
 * // after: tar xzf cifar-10-binary.tar.gz (www.cs.toronto.edu/~kriz/cifar.html)
 * const train = data.cifar10({ dir: 'cifar-10-batches-bin' });
 * const test = data.cifar10({ dir: 'cifar-10-batches-bin', split: 'test' });
 * console.log(train.length, train.sampleShape, train.classes[train.get(0).y]);   // 50000 [3, 32, 32] 'frog'
 */
export function cifar10(options: Cifar10Options): CifarDataset {
  const op = 'cifar10';
  options = checkOptions<Cifar10Options>(op, options, ['dir', 'split']);
  const archive = 'cifar-10-binary.tar.gz';
  const { dir, split } = checkCommon(op, options, archive, 'cifar-10-batches-bin');
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'];
  const files = names.map((name) => ({ name: path.join(dir, name), bytes: readBatch(op, dir, name, archive) }));
  const { x, y } = readRecords(op, files, [{ name: 'label', classes: 10 }], 0);
  return new CifarDataset(x, y, readNames(op, dir, 'batches.meta.txt', 10));
}

/**
 * CIFAR-100 from its binary version: float32 images [N, 3, 32, 32] in [0, 1] and int32 labels,
 * the 100 fine classes (default) or the 20 coarse superclasses (`labels: 'coarse'`), with
 * `classes` from `fine_label_names.txt` or `coarse_label_names.txt`. Errors as `cifar10`.
 *
 * @example
 * const train = data.cifar100({ dir: 'cifar-100-binary' });                     // labels 0..99
 * const coarse = data.cifar100({ dir: 'cifar-100-binary', split: 'test', labels: 'coarse' });   // 0..19
 */
export function cifar100(options: Cifar100Options): CifarDataset {
  const op = 'cifar100';
  options = checkOptions<Cifar100Options>(op, options, ['dir', 'split', 'labels']);
  const labels = options.labels ?? 'fine';
  if (labels !== 'fine' && labels !== 'coarse') fail('E_ARG', `${op}: expected \`labels\` 'fine' or 'coarse', got ${describe(labels)}`);
  const archive = 'cifar-100-binary.tar.gz';
  const { dir, split } = checkCommon(op, options, archive, 'cifar-100-binary');
  const name = `${split}.bin`;
  const bytes = readBatch(op, dir, name, archive);
  const fine = labels === 'fine';
  const { x, y } = readRecords(op, [{ name: path.join(dir, name), bytes }], [{ name: 'coarse label', classes: 20 }, { name: 'fine label', classes: 100 }], fine ? 1 : 0);
  const classes = readNames(op, dir, fine ? 'fine_label_names.txt' : 'coarse_label_names.txt', fine ? 100 : 20);
  return new CifarDataset(x, y, classes);
}
