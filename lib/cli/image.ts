/**
 * Reading one input image for `predict`: a PNG (any size, colour or grey) or a sample of an IDX
 * images file, as a float32 [1, 1, size, size] in [0, 1] like MNIST (white digit on black).
 */
import * as fs from 'fs';
import { PNG } from 'pngjs';
import { tensor } from '../creation';
import { readIdx } from '../data/idx';
import { readWhole } from '../io/file';
import { ConvnetError, fail } from '../errors';
import type { Tensor } from '../tensor';

/** Grey levels in [0, 1] of a PNG, resized to size x size by averaging the covered pixels. */
export function readPngGrey(path: string, size: number, invert: boolean): Float32Array {
  const bytes = readWhole('predict', path);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    return fail('E_FORMAT', `predict: ${path} is not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const y0 = Math.floor((y * height) / size), y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / size));
      const x0 = Math.floor((x * width) / size), x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / size));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const p = (yy * width + xx) * 4;
          const alpha = data[p + 3] / 255;
          // Luma of the pixel over a black background (transparent = black, as MNIST's background).
          sum += ((0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255) * alpha;
        }
      }
      const grey = sum / ((y1 - y0) * (x1 - x0));
      out[y * size + x] = invert ? 1 - grey : grey;
    }
  }
  return out;
}

/** One image, as the model's input [1, 1, size, size] (not yet normalised). */
export function readInputImage(path: string, options: { index: number; size: number; invert: boolean }): Tensor<'float32'> {
  if (!fs.existsSync(path)) fail('E_LOAD', `predict: no such file: ${path}`);
  const head = Buffer.alloc(4);
  try {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) fail('E_LOAD', `predict: ${path} is a directory, not an image file`);
      if (!st.isFile()) fail('E_LOAD', `predict: ${path} is not a regular file`);
      fs.readSync(fd, head, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof ConvnetError) throw e;
    fail('E_LOAD', `predict: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (head.readUInt32BE(0) === 0x89504e47) {
    return tensor(readPngGrey(path, options.size, options.invert), { shape: [1, 1, options.size, options.size] });
  }
  const idx = readIdx(path);
  if (idx.shape.length !== 3) fail('E_FORMAT', `predict: expected an IDX file of images [N, H, W], got [${idx.shape.join(', ')}]`);
  const [n, h, w] = idx.shape;
  if (options.index < 0 || options.index >= n) fail('E_ARG', `predict: --index ${options.index} is out of range for ${n} images`);
  if (h !== options.size || w !== options.size) fail('E_SHAPE', `predict: the model takes ${options.size}x${options.size} images, the file holds ${h}x${w}`);
  const scale = idx.dtype === 'uint8' ? 1 / 255 : 1;
  const values = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    const v = Number(idx.data[options.index * h * w + i]) * scale;
    values[i] = options.invert ? 1 - v : v;
  }
  return tensor(values, { shape: [1, 1, h, w] });
}
