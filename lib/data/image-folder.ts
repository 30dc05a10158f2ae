/**
 * `ImageFolder`: a data set of your own pictures, one subfolder per class, as torchvision's
 * `datasets.ImageFolder`; and the steps it takes on each picture (`imageToValues`): decode,
 * convert to 1 or 3 channels, resize, scale to [0, 1].
 *
 * Same as torchvision: classes are the subfolders of `root` (every one, sorted by name), class
 * i is the i-th name; each class's files are found in its folder and the folders below it
 * (paths sorted, as Python's sorted(os.walk(...)) then sorted file names), kept when their
 * name ends (any case) with one of `extensions`. Differences: the size is fixed (a number
 * means a square: a data set's samples share one shape, where torchvision's Resize(int)
 * keeps the aspect ratio), and the arithmetic is in floating point from the decoded samples
 * (PIL's convert('L') rounds the grey level to a byte first).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConvnetError, fail } from '../errors';
import { readWhole } from '../io/file';
import { checkBool, checkInt, checkOptions, describe } from '../validate';
import type { Dataset, Sample } from './dataset';
import { decodePng, isPng, type DecodedImage } from './png';
import { decodePnm, isPnm } from './pnm';

/** Your decoder for the formats this library does not read (JPEG, WebP, …): the file's bytes → its pixels. */
export type ImageDecoder = (bytes: Uint8Array, path: string) => DecodedImage;

/** The formats read without a `decode`. */
export const DECODED_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.ppm', '.pgm']);
/** torchvision's IMG_EXTENSIONS: the default `extensions` when you pass a `decode`. */
export const IMG_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp']);

export interface ImageOptions {
  /** The output size: a number for a square, or [height, width]. Default: the picture's own size. */
  size?: number | readonly [number, number];
  /** 3 (RGB, the default, as torchvision's loader converts to RGB) or 1 (grey). */
  channels?: 1 | 3;
  /** Decodes what is neither PNG nor binary PGM/PPM (recognised by their first bytes), e.g. JPEG. */
  decode?: ImageDecoder;
}

export interface ImageFolderOptions extends ImageOptions {
  /** File name endings kept (any case). Default ['.png', '.ppm', '.pgm'], or torchvision's IMG_EXTENSIONS with `decode`. */
  extensions?: readonly string[];
  /** Keep each sample's values after its first `get` (default false: decode at every `get`). */
  cache?: boolean;
}

/** The bytes of one picture decoded: PNG and binary PGM/PPM here, anything else by `decode`. */
export function decodeImage(bytes: Uint8Array, name: string, decode?: ImageDecoder): DecodedImage {
  const op = 'decodeImage';
  if (!(bytes instanceof Uint8Array)) fail('E_ARG', `${op}: expected the file's bytes as a Uint8Array (Buffer), got ${describe(bytes)}`);
  if (typeof name !== 'string') fail('E_ARG', `${op}: expected \`name\` (the file's name, for messages) to be a string, got ${describe(name)}`);
  if (decode !== undefined && typeof decode !== 'function') fail('E_ARG', `${op}: expected \`decode\` to be a function, got ${describe(decode)}`);
  if (isPng(bytes)) return decodePng(bytes, name);
  if (isPnm(bytes)) return decodePnm(bytes, name);
  if (decode === undefined) {
    return fail('E_FORMAT', `decodeImage: ${name} is neither a PNG nor a binary PGM/PPM: pass \`decode\` for other formats (README: "Your own images")`);
  }
  let image: DecodedImage;
  try {
    image = decode(bytes, name);
  } catch (e) {
    if (e instanceof ConvnetError) throw e;
    return fail('E_FORMAT', `decodeImage: your decode failed on ${name}: ${(e as Error)?.message ?? String(e)}`);
  }
  return checkDecoded('decodeImage', `what decode returned for ${name}`, image);
}

/** What a user's `decode` returned, checked: positive integer sizes, 1-4 channels, the right number of 8- or 16-bit samples. */
function checkDecoded(op: string, what: string, image: DecodedImage): DecodedImage {
  if (typeof image !== 'object' || image === null) fail('E_ARG', `${op}: ${what} is ${describe(image)}, expected { width, height, channels, data }`);
  const { width, height, channels, data } = image;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || width * height > 2 ** 28) {
    fail('E_ARG', `${op}: ${what} has a size ${describe(width)} x ${describe(height)}`);
  }
  if (![1, 2, 3, 4].includes(channels)) fail('E_ARG', `${op}: ${what} has channels ${describe(channels)}, expected 1, 2, 3 or 4`);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Uint16Array)) {
    fail('E_ARG', `${op}: ${what} has data ${describe(data)}, expected a Uint8Array (or Uint16Array for 16-bit samples)`);
  }
  if (data.length !== width * height * channels) {
    fail('E_ARG', `${op}: ${what} has ${data.length} samples; ${width} x ${height} x ${channels} needs ${width * height * channels}`);
  }
  return image;
}

function checkImageOptions(op: string, options: ImageOptions): { size: [number, number] | null; channels: 1 | 3; decode?: ImageDecoder } {
  let size: [number, number] | null = null;
  if (typeof options.size === 'number') {
    const s = checkInt(op, 'size', options.size, 1, 65535);
    size = [s, s];
  } else if (Array.isArray(options.size) && options.size.length === 2) {
    size = [checkInt(op, 'size[0]', options.size[0], 1, 65535), checkInt(op, 'size[1]', options.size[1], 1, 65535)];
  } else if (options.size !== undefined) {
    fail('E_ARG', `${op}: expected \`size\` a number or [height, width], got ${describe(options.size)}`);
  }
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) fail('E_ARG', `${op}: expected \`channels\` 1 or 3, got ${describe(channels)}`);
  if (options.decode !== undefined && typeof options.decode !== 'function') fail('E_ARG', `${op}: expected \`decode\` to be a function, got ${describe(options.decode)}`);
  return { size, channels, decode: options.decode };
}

/**
 * A decoded picture as float32 values [channels, height, width] in [0, 1]:
 * - channels: grey → RGB repeats the grey; RGB → grey is the luma 0.299 R + 0.587 G + 0.114 B
 *   (ITU-R 601-2, as PIL's convert('L')); alpha is dropped (as PIL's convert('RGB'): a
 *   transparent pixel keeps its colour);
 * - resized to `size` = [height, width] when it differs, by bilinear interpolation as
 *   PyTorch's F.interpolate(mode='bilinear', align_corners=False, antialias=False), which is
 *   torchvision's Resize on tensors with antialias=False (no low-pass filter when shrinking:
 *   shrink by large factors before, or expect aliasing);
 * - scaled: 8-bit samples / 255, 16-bit ones / 65535 (torchvision's ToTensor).
 *
 * @example
 * const values = data.imageToValues(data.decodePng(fs.readFileSync('cat.png')), { size: [32, 32], channels: 3 });   // 3 * 32 * 32
 */
export function imageToValues(image: DecodedImage, options: Pick<ImageOptions, 'size' | 'channels'> = {}): Float32Array {
  const op = 'imageToValues';
  options = checkOptions<ImageOptions>(op, options, ['size', 'channels']);
  const { size, channels } = checkImageOptions(op, options);
  return valuesOf(checkDecoded(op, '`image`', image), size, channels);
}

function valuesOf(image: DecodedImage, size: [number, number] | null, channels: 1 | 3): Float32Array {
  const { width, height } = image;
  const [outH, outW] = size ?? [height, width];
  const planes = toPlanes(image, channels);
  if (outH === height && outW === width) return planes;
  const out = new Float32Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    resizeBilinear(planes.subarray(c * height * width, (c + 1) * height * width), height, width, out.subarray(c * outH * outW, (c + 1) * outH * outW), outH, outW);
  }
  return out;
}

/** The picture's samples as `channels` planes in [0, 1] (CHW). */
function toPlanes(image: DecodedImage, channels: 1 | 3): Float32Array {
  const { width, height, channels: inChannels, data } = image;
  const pixels = width * height;
  const k = data instanceof Uint16Array ? 1 / 65535 : 1 / 255;
  const out = new Float32Array(channels * pixels);
  const colour = inChannels >= 3;
  for (let i = 0; i < pixels; i++) {
    const at = i * inChannels;
    if (!colour) {
      const grey = data[at] * k;
      for (let c = 0; c < channels; c++) out[c * pixels + i] = grey;
    } else if (channels === 3) {
      out[i] = data[at] * k; out[pixels + i] = data[at + 1] * k; out[2 * pixels + i] = data[at + 2] * k;
    } else {
      out[i] = (0.299 * data[at] + 0.587 * data[at + 1] + 0.114 * data[at + 2]) * k;
    }
  }
  return out;
}

/**
 * Bilinear resizing of one plane, as PyTorch's upsample_bilinear2d with align_corners=False:
 * output pixel j samples the input at (j + 0.5) * in / out - 0.5 (clamped at 0), weighting
 * its two neighbours (the last pixel repeats at the right and bottom edges).
 */
function resizeBilinear(src: Float32Array, inH: number, inW: number, dst: Float32Array, outH: number, outW: number): void {
  const axis = (inSize: number, outSize: number) => {
    const lo = new Int32Array(outSize), hi = new Int32Array(outSize), w = new Float64Array(outSize);
    for (let j = 0; j < outSize; j++) {
      const at = Math.max(((j + 0.5) * inSize) / outSize - 0.5, 0);
      lo[j] = Math.floor(at);
      hi[j] = lo[j] < inSize - 1 ? lo[j] + 1 : lo[j];
      w[j] = at - lo[j];
    }
    return { lo, hi, w };
  };
  const ys = axis(inH, outH), xs = axis(inW, outW);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.lo[y] * inW, r1 = ys.hi[y] * inW, wy = ys.w[y];
    for (let x = 0; x < outW; x++) {
      const x0 = xs.lo[x], x1 = xs.hi[x], wx = xs.w[x];
      const top = (1 - wx) * src[r0 + x0] + wx * src[r0 + x1];
      const bottom = (1 - wx) * src[r1 + x0] + wx * src[r1 + x1];
      dst[y * outW + x] = (1 - wy) * top + wy * bottom;
    }
  }
}

/**
 * Reads one picture file as float32 values [channels, height, width] in [0, 1] (see
 * `imageToValues`), with its shape.
 *
 * @example
 * const { values, shape } = data.loadImage('cat.png', { size: 64 });
 * const x = tensor(values, { shape: [1, ...shape] });
 */
export function loadImage(file: string, options: ImageOptions = {}): { values: Float32Array; shape: [number, number, number] } {
  const op = 'loadImage';
  if (typeof file !== 'string' || file.length === 0) fail('E_ARG', `${op}: expected a file path, got ${describe(file)}`);
  options = checkOptions<ImageOptions>(op, options, ['size', 'channels', 'decode']);
  const { size, channels, decode } = checkImageOptions(op, options);
  const image = decodeImage(readWhole(op, file), file, decode);
  const [h, w] = size ?? [image.height, image.width];
  return { values: valuesOf(image, [h, w], channels), shape: [channels, h, w] };
}

/** Directories under `dir` (itself included), as Python's sorted(os.walk(dir, followlinks=True)) visits them. */
function walk(dir: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (d: string) => {
    let real: string;
    try {
      real = fs.realpathSync(d);
    } catch {
      return; // removed meanwhile
    }
    if (seen.has(real)) return; // a link back up the tree
    seen.add(real);
    found.push(d);
    for (const name of listDir(d)) {
      const full = path.join(d, name);
      if (isDirectory(full)) visit(full);
    }
  };
  visit(dir);
  return found.sort(compareStrings);
}

/** A folder's entries, or E_LOAD (unreadable, removed meanwhile). */
function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    return fail('E_LOAD', `ImageFolder: cannot list ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false; // a broken link
  }
}

/** Python's string order (by code point; JavaScript's default sort compares UTF-16 units, which differs only past U+FFFF). */
function compareStrings(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  }
  return x.length - y.length;
}

/**
 * A data set of picture files, one subfolder of `root` per class, as torchvision's
 * `ImageFolder`: root/cat/001.png, root/dog/xyz.png, … give `classes` ['cat', 'dog'] and labels
 * 0 and 1. Each sample is float32 [channels, height, width] in [0, 1] (see `imageToValues`),
 * decoded at `get(i)` so a large folder is never held in memory (`cache: true` keeps each
 * sample once made). PNG and binary PGM/PPM are read here; for JPEG or others pass `decode`.
 * Without `size`, the first picture's size is the data set's, and a picture of another size
 * is E_SHAPE at its `get`. It works with `DataLoader`, `fit` and `evaluate`.
 *
 * Errors: a missing root, no class folders, or a class folder without pictures is E_LOAD; a
 * corrupt or unreadable picture is E_FORMAT (or E_LOAD) when it is read, naming the file.
 *
 * @example
 * const train = new data.ImageFolder('pets/train', { size: 64 });   // pets/train/cat/*.png, pets/train/dog/*.png
 * train.classes                      // ['cat', 'dog']
 * train.get(0)                       // { x: Float32Array(3 * 64 * 64), y: 0 }
 * const loader = new data.DataLoader(train, { batchSize: 32, shuffle: true, augment: { horizontalFlip: 0.5 } });
 * // JPEG through the jpeg-js package (npm install jpeg-js), which decodes to RGBA:
 * const jpeg = require('jpeg-js');
 * const photos = new data.ImageFolder('photos', {
 *   size: [96, 128],
 *   decode: (bytes) => { const { width, height, data } = jpeg.decode(bytes, { useTArray: true }); return { width, height, channels: 4, data }; },
 * });
 */
export class ImageFolder implements Dataset {
  readonly root: string;
  /** The class names: the subfolders of `root`, sorted. */
  readonly classes: readonly string[];
  /** Each class name's label. */
  readonly classToIdx: Readonly<Record<string, number>>;
  /** Every sample's file and label, in order (torchvision's `samples`). */
  readonly samples: readonly (readonly [string, number])[];
  /** Every sample's label (torchvision's `targets`). */
  readonly targets: Int32Array;
  /** [channels, height, width]. */
  readonly sampleShape: readonly number[];
  readonly #channels: 1 | 3;
  readonly #size: [number, number];
  /** Whether `size` was given (else every picture must have the first one's size). */
  readonly #resize: boolean;
  readonly #decode: ImageDecoder | undefined;
  readonly #cache: (Float32Array | undefined)[] | null;

  constructor(root: string, options: ImageFolderOptions = {}) {
    const op = 'ImageFolder';
    if (typeof root !== 'string' || root.length === 0) fail('E_ARG', `${op}: expected \`root\`, a folder path, got ${describe(root)}`);
    options = checkOptions<ImageFolderOptions>(op, options, ['size', 'channels', 'extensions', 'decode', 'cache']);
    const { size, channels, decode } = checkImageOptions(op, options);
    const extensions = options.extensions ?? (decode ? IMG_EXTENSIONS : DECODED_EXTENSIONS);
    if (!Array.isArray(extensions) || extensions.length === 0 || extensions.some((e) => typeof e !== 'string' || e.length === 0)) {
      fail('E_ARG', `${op}: expected \`extensions\` a non-empty array of name endings such as '.png', got ${describe(extensions)}`);
    }
    const endings = extensions.map((e) => e.toLowerCase());
    const cache = checkBool(op, 'cache', options.cache ?? false);
    if (!isDirectory(root)) fail('E_LOAD', `${op}: no folder ${root} (expected one subfolder of pictures per class)`);

    const classes = listDir(root).filter((name) => isDirectory(path.join(root, name))).sort(compareStrings);
    if (classes.length === 0) fail('E_LOAD', `${op}: ${root} has no subfolders: expected one subfolder of pictures per class (root/cat/1.png, root/dog/2.png, …)`);
    const samples: [string, number][] = [];
    classes.forEach((name, label) => {
      const before = samples.length;
      const others = new Set<string>();
      for (const dir of walk(path.join(root, name))) {
        const files = listDir(dir).filter((f) => !isDirectory(path.join(dir, f))).sort(compareStrings);
        for (const f of files) {
          if (endings.some((e) => f.toLowerCase().endsWith(e))) samples.push([path.join(dir, f), label]);
          else others.add(path.extname(f).toLowerCase());
        }
      }
      if (samples.length === before) {
        const hint = !decode && [...others].some((e) => IMG_EXTENSIONS.includes(e)) ? ` (it has ${[...others].filter((e) => IMG_EXTENSIONS.includes(e)).join(', ')} files: pass \`decode\` to read them)` : '';
        fail('E_LOAD', `${op}: class folder ${path.join(root, name)} has no files ending in ${endings.join(', ')}${hint}`);
      }
    });

    this.root = root;
    this.classes = Object.freeze(classes);
    this.classToIdx = Object.freeze(Object.fromEntries(classes.map((name, i) => [name, i])));
    this.samples = Object.freeze(samples.map((s) => Object.freeze(s)));
    this.targets = Int32Array.from(samples, (s) => s[1]);
    this.#channels = channels;
    this.#decode = decode;
    this.#cache = cache ? new Array(samples.length) : null;
    this.#resize = size !== null;
    if (size !== null) {
      this.#size = size;
    } else {
      const first = this.#decodeFile(0);
      this.#size = [first.height, first.width];
    }
    this.sampleShape = Object.freeze([channels, ...this.#size]);
  }

  get length(): number {
    return this.samples.length;
  }

  /** Sample i: its picture's values [channels, height, width] in [0, 1] and its label. @example const { x, y } = folder.get(0); */
  get(i: number): Sample {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) fail('E_INDEX', `ImageFolder.get: index ${describe(i)} out of range [0, ${this.length})`);
    const cached = this.#cache?.[i];
    if (cached !== undefined) return { x: cached, y: this.targets[i] };
    const image = this.#decodeFile(i);
    const [h, w] = this.#size;
    if (!this.#resize && (image.height !== h || image.width !== w)) {
      fail('E_SHAPE', `ImageFolder.get: ${this.samples[i][0]} is ${image.width} x ${image.height} pixels, the data set's are ${w} x ${h} (the first picture's size): pass \`size\` to resize them all`);
    }
    const x = valuesOf(image, [h, w], this.#channels);
    if (this.#cache !== null) this.#cache[i] = x;
    return { x, y: this.targets[i] };
  }

  #decodeFile(i: number): DecodedImage {
    const file = this.samples[i][0];
    return decodeImage(readWhole('ImageFolder', file), file, this.#decode);
  }
}
