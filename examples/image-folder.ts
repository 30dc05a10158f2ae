/**
 * Training on a folder of your own pictures, the torchvision way: `root/train/<class>/*.png`
 * and `root/val/<class>/*.png` read by `data.ImageFolder` (decoded at each `get`, converted to
 * RGB, resized bilinearly), a small CNN trained with `fit` (Adam, random flips), scored on the
 * held-out folder beside the majority-class baseline.
 *
 * Without `--root`, the example first writes such a folder from a seed: pictures of a circle,
 * a square or a triangle (random size, place and colours, slightly turned, plus noise), 40x40 PNGs —
 * RGB, some grey, some 16-bit — and a few binary PPMs, so the decoders see several kinds of
 * file; the network sees them at 32x32.
 *
 *   node dist/examples/image-folder.js [--root DIR] [--size 32] [--epochs 8] [--per-class 200] [--device cuda] [--help]
 *
 * Measured: a default run (`node dist/examples/image-folder.js`: 200 training and 50 held-out
 * pictures a class, 8 epochs, batch 32, Adam at 1e-3, on the CPU of this project's shared 2-core
 * machine) took 5.0-6.4 s and reached 89.3% held-out accuracy (training loss 1.13 → 0.23),
 * against 33.3% for always guessing one class.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { data, manualSeed, nn, resolveDevice } from '../lib';
import { parseArgs, UsageError } from '../lib/cli/args';
import { fail } from '../lib/errors';
import { checkInt, checkNumber, checkOptions, describe } from '../lib/validate';
import { mulberry32 } from './seeded';

export const SHAPES = ['circle', 'square', 'triangle'] as const;


/** One picture, size x size RGB bytes (HWC), of the shape `kind` (0 circle, 1 square, 2 triangle). */
function drawShape(kind: number, size: number, random: () => number): Uint8Array {
  const rgb = new Uint8Array(size * size * 3);
  const background = [0, 1, 2].map(() => 40 + random() * 175);
  let colour = background;
  // A colour far from the background's in brightness too, so grey copies show the shape.
  const luma = (c: number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  while (Math.abs(luma(colour) - luma(background)) < 60) colour = [0, 1, 2].map(() => random() * 255);
  const r = size * (0.2 + 0.15 * random());
  const cx = r + random() * (size - 2 * r), cy = r + random() * (size - 2 * r);
  // Squares turn by up to 15 degrees, triangles point up (-90 degrees) give or take 15.
  const angle = (kind === 2 ? -Math.PI / 2 : 0) + (random() - 0.5) * (Math.PI / 6);
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const corners = [0, 1, 2].map((k) => [cx + 1.3 * r * Math.cos(angle + (2 * Math.PI * k) / 3), cy + 1.3 * r * Math.sin(angle + (2 * Math.PI * k) / 3)]);
  const inside = (px: number, py: number): boolean => {
    const dx = px - cx, dy = py - cy;
    if (kind === 0) return dx * dx + dy * dy <= r * r;
    if (kind === 1) return Math.abs(cos * dx + sin * dy) <= 0.85 * r && Math.abs(-sin * dx + cos * dy) <= 0.85 * r;
    const side = (a: number[], b: number[]) => (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
    const s = [side(corners[0], corners[1]), side(corners[1], corners[2]), side(corners[2], corners[0])];
    return s.every((v) => v >= 0) || s.every((v) => v <= 0);
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = inside(x + 0.5, y + 0.5) ? colour : background;
      for (let k = 0; k < 3; k++) rgb[3 * (y * size + x) + k] = Math.max(0, Math.min(255, Math.round(c[k] + 16 * (random() - 0.5))));
    }
  }
  return rgb;
}

/** Writes picture `i` as a PNG (RGB; grey every 4th; 16-bit every 5th) or, every 7th, a binary PPM. */
function writePicture(file: string, rgb: Uint8Array, size: number, i: number): void {
  if (i % 7 === 6) {
    fs.writeFileSync(`${file}.ppm`, Buffer.concat([Buffer.from(`P6\n${size} ${size}\n255\n`), rgb]));
    return;
  }
  const deep = i % 5 === 4;
  const png = new PNG({ width: size, height: size, bitDepth: deep ? 16 : 8, colorType: 6, inputHasAlpha: true });
  const rgba = deep ? new Uint16Array(size * size * 4) : Buffer.alloc(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = deep ? rgb[3 * p + k] * 257 : rgb[3 * p + k];
    rgba[4 * p + 3] = deep ? 65535 : 255;
  }
  png.data = rgba as Buffer;
  const colorType = i % 4 === 3 ? 0 : 2;
  fs.writeFileSync(`${file}.png`, PNG.sync.write(png, { colorType, bitDepth: deep ? 16 : 8, inputHasAlpha: true }));
}

/**
 * Writes `root/train/<shape>/*` (`perClass` pictures a class) and `root/val/<shape>/*` (a
 * quarter as many), `size` x `size` pixels, from `seed`. Returns the folder.
 * @example makeFolder('/tmp/shapes', { perClass: 20, size: 40, seed: 1 });
 */
export function makeFolder(root: string, options: { perClass: number; size: number; seed: number }): string {
  const random = mulberry32(options.seed);
  for (const [split, count] of [['train', options.perClass], ['val', Math.max(1, Math.round(options.perClass / 4))]] as const) {
    SHAPES.forEach((shape, kind) => {
      const dir = path.join(root, split, shape);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) writePicture(path.join(dir, String(i).padStart(4, '0')), drawShape(kind, options.size, random), options.size, i);
    });
  }
  return root;
}

export interface ImageFolderExampleOptions {
  /** A folder with train/ and val/, one subfolder per class in each (default: pictures made here). */
  root?: string;
  /** The side the pictures are resized to (default 32). */
  size?: number;
  /** Pictures a class made for train/ when there is no `root` (default 200; val/ gets a quarter). */
  perClass?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  device?: 'cpu' | 'cuda' | 'auto';
  verbose?: boolean;
}

export interface ImageFolderExampleResult {
  classes: readonly string[];
  trainCount: number;
  valCount: number;
  /** Training loss per epoch. */
  losses: number[];
  valAccuracy: number;
  /** The held-out share of the most frequent class (what always guessing it scores). */
  baseline: number;
  seconds: number;
  model: nn.Sequential;
}

function checkRoot(op: string, root: unknown): string {
  if (typeof root !== 'string' || root.length === 0) fail('E_ARG', `${op}: expected \`root\` to be a folder path, got ${describe(root)}`);
  return root;
}

/** A small CNN: three 3x3 convolutions, each pooled, then two linear layers on what they found. */
function makeModel(classes: number, size: number): nn.Sequential {
  const side = Math.floor(Math.floor(Math.floor(size / 2) / 2) / 2);
  return new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * side * side, 64), new nn.ReLU(), new nn.Linear(64, classes),
  );
}

/**
 * Trains and scores the CNN on `root` (or on a folder made here, removed afterwards).
 * @example const { valAccuracy, baseline, model } = await run({ perClass: 60, epochs: 4 }); model.dispose();
 */
export async function run(options: ImageFolderExampleOptions = {}): Promise<ImageFolderExampleResult> {
  const start = performance.now();
  const op = 'image-folder.run';
  const o = checkOptions<ImageFolderExampleOptions>(op, options, ['root', 'size', 'perClass', 'epochs', 'batchSize', 'lr', 'seed', 'device', 'verbose']);
  const size = checkInt(op, 'size', o.size ?? 32, 8, 512), perClass = checkInt(op, 'perClass', o.perClass ?? 200, 1);
  const epochs = checkInt(op, 'epochs', o.epochs ?? 8, 1), batchSize = checkInt(op, 'batchSize', o.batchSize ?? 32, 1);
  const lr = checkNumber(op, 'lr', o.lr ?? 1e-3), seed = checkInt(op, 'seed', o.seed ?? 0, 0);
  const { device } = resolveDevice(o.device ?? 'cpu');
  const made = o.root === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-shapes-')) : null;
  try {
    const root = made ? makeFolder(made, { perClass, size: Math.round(size * 1.25), seed }) : checkRoot(op, o.root);
    const train = new data.ImageFolder(path.join(root, 'train'), { size });
    const val = new data.ImageFolder(path.join(root, 'val'), { size });
    if (val.classes.join('/') !== train.classes.join('/')) fail('E_ARG', `${op}: train/ has classes ${train.classes.join(', ')} but val/ has ${val.classes.join(', ')}`);
    manualSeed(seed);
    const model = makeModel(train.classes.length, size).to(device);
    const normalize = { mean: 0.5, std: 0.25 };
    const history = await model.fit(train, {
      epochs, batchSize, optimizer: 'adam', lr, seed, normalize, augment: { horizontalFlip: 0.5 },
      validationData: val, verbose: o.verbose ? 2 : 0,
    });
    const counts = new Array(val.classes.length).fill(0);
    for (const y of val.targets) counts[y]++;
    return {
      classes: train.classes, trainCount: train.length, valCount: val.length, losses: history.loss,
      valAccuracy: history.valAccuracy[history.valAccuracy.length - 1], baseline: Math.max(...counts) / val.length,
      seconds: (performance.now() - start) / 1000, model,
    };
  } finally {
    if (made) fs.rmSync(made, { recursive: true, force: true });
  }
}

const HELP = `Trains a small CNN on a folder of pictures (data.ImageFolder): ROOT/train/<class>/*, ROOT/val/<class>/*.
Usage: node dist/examples/image-folder.js [options]
  --root DIR        your folder (PNG, PGM/PPM); default: synthetic shapes made from --seed
  --size N          side the pictures are resized to (default 32)
  --per-class N     synthetic pictures a class for train/ (default 200; val/ a quarter)
  --epochs N        (default 8)
  --batch-size N    (default 32)
  --lr X            Adam's learning rate (default 0.001)
  --seed N          (default 0)
  --device D        cpu, cuda or auto (default cpu)
  --help            print this`;

async function main(argv: string[]): Promise<void> {
  const { positionals, options: a } = parseArgs(argv, {
    help: { type: 'flag' }, root: { type: 'string' }, size: { type: 'int', min: 8 }, 'per-class': { type: 'int', min: 1 },
    epochs: { type: 'int', min: 1 }, 'batch-size': { type: 'int', min: 1 }, lr: { type: 'number' }, seed: { type: 'int', min: 0 },
    device: { type: ['cpu', 'cuda', 'auto'] },
  });
  if (a.help) { console.log(HELP); return; }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const r = await run({
    root: a.root as string | undefined, size: a.size as number | undefined, perClass: a['per-class'] as number | undefined,
    epochs: a.epochs as number | undefined, batchSize: a['batch-size'] as number | undefined, lr: a.lr as number | undefined,
    seed: a.seed as number | undefined, device: a.device as 'cpu' | 'cuda' | 'auto' | undefined, verbose: true,
  });
  console.log(`classes ${r.classes.join(', ')}; ${r.trainCount} training and ${r.valCount} held-out pictures`);
  console.log(`held-out accuracy ${(100 * r.valAccuracy).toFixed(1)}% (always the most frequent class: ${(100 * r.baseline).toFixed(1)}%), ${r.seconds.toFixed(1)} s`);
  r.model.dispose();
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof UsageError ? `image-folder: ${e.message}\nRun with --help for usage.` : e);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
}
