/**
 * Pictures of what a network learned, as PNG grids (encoded by the `pngjs` package):
 * the first layer's filters and one sample's feature maps.
 *
 * Layout, the same for both: tiles of `scale × scale` pixels per value (nearest neighbour),
 * `cols` tiles a row, separated and framed by `gap` pixels of the border colour (40, 90, 160).
 * Tile (row r, column c) starts at x = gap + c * (tileWidth + gap), y = gap + r * (tileHeight + gap).
 * Each tile is min-max normalised on its own (its minimum is black 0, its maximum white 255,
 * rounded), so a tile shows its pattern whatever its scale; a constant tile is black.
 */
import { PNG } from 'pngjs';
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkInt, checkTensor, describe, shapeStr } from '../validate';
import { atomicWrite } from '../io/file';

/** The colour of the gaps between tiles. */
export const BORDER: readonly [number, number, number] = [40, 90, 160];

export interface GridOptions {
  /** Pixels per value along each side (default: the largest that keeps a tile within 64 pixels, at least 1). */
  scale?: number;
  /** Pixels between and around tiles (default 1). */
  gap?: number;
  /** Tiles per row (default: filtersPng one row per filter when it shows channels apart, else ceil(sqrt(tiles))). */
  cols?: number;
}

/** What a grid writer made. */
export interface GridInfo { width: number; height: number; rows: number; cols: number; tileWidth: number; tileHeight: number }

/** Values of one tile, normalised to 0..255 over `group` (the values that share one min-max). */
function normalise(values: Float32Array, from: number, count: number): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = from; i < from + count; i++) {
    const v = values[i];
    if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  const out = new Uint8Array(count);
  if (!(hi > lo)) return out;
  const k = 255 / (hi - lo);
  for (let i = 0; i < count; i++) {
    const v = values[from + i];
    out[i] = Number.isFinite(v) ? Math.round((v - lo) * k) : 0;
  }
  return out;
}

/** A tile as h × w RGB triples. */
interface Tile { rgb: Uint8Array }

function drawGrid(tiles: Tile[], h: number, w: number, cols: number, scale: number, gap: number): { png: PNG; info: GridInfo } {
  const rows = Math.ceil(tiles.length / cols);
  const tw = w * scale, th = h * scale;
  const width = gap + cols * (tw + gap), height = gap + rows * (th + gap);
  if (width * height > 1 << 28) fail('E_ARG', `the picture would be ${width} x ${height} pixels: use a smaller scale`);
  const png = new PNG({ width, height });
  const px = png.data;
  for (let i = 0; i < width * height; i++) {
    px[4 * i] = BORDER[0]; px[4 * i + 1] = BORDER[1]; px[4 * i + 2] = BORDER[2]; px[4 * i + 3] = 255;
  }
  tiles.forEach((tile, t) => {
    const x0 = gap + (t % cols) * (tw + gap), y0 = gap + Math.floor(t / cols) * (th + gap);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const s = 3 * (Math.floor(y / scale) * w + Math.floor(x / scale));
        const d = 4 * ((y0 + y) * width + x0 + x);
        px[d] = tile.rgb[s]; px[d + 1] = tile.rgb[s + 1]; px[d + 2] = tile.rgb[s + 2];
      }
    }
  });
  return { png, info: { width, height, rows, cols, tileWidth: tw, tileHeight: th } };
}

function gray(v: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 * v.length);
  for (let i = 0; i < v.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v[i];
  return out;
}

function gridOptions(op: string, o: unknown, h: number, w: number): { scale: number; gap: number; cols?: number } {
  if (o === undefined) o = {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('E_ARG', `${op}: expected an options object, got ${describe(o)}`);
  const g = o as GridOptions;
  for (const k of Object.keys(g)) if (!['scale', 'gap', 'cols'].includes(k)) fail('E_ARG', `${op}: unknown option \`${k}\` (expected scale, gap, cols)`);
  return {
    scale: g.scale === undefined ? Math.max(1, Math.floor(64 / Math.max(h, w))) : checkInt(op, 'scale', g.scale, 1, 256),
    gap: g.gap === undefined ? 1 : checkInt(op, 'gap', g.gap, 0, 64),
    cols: g.cols === undefined ? undefined : checkInt(op, 'cols', g.cols, 1),
  };
}

function floatValues(op: string, name: string, x: unknown): { values: Float32Array; shape: readonly number[] } {
  const t = checkTensor(op, name, x) as Tensor;
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected a float32 ${name}, got ${t.dtype}`);
  return { values: t.dataSync() as Float32Array, shape: t.shape };
}

function write(op: string, file: unknown, png: PNG): void {
  if (typeof file !== 'string' || file.length === 0) fail('E_ARG', `${op}: expected a file path, got ${describe(file)}`);
  atomicWrite(op, file, PNG.sync.write(png));
}

/**
 * Writes the filters of a convolution, `weight` [K, C, kh, kw], as a PNG grid. Each filter is
 * normalised on its own (over all its channels). With C = 3 each filter is one colour tile
 * (channels as red, green, blue); with C = 1 one grey tile, in a near-square grid; otherwise
 * each row is a filter and each column one of its input channels (grey). See the module's
 * comment for the exact layout. Returns the picture's size and layout.
 * @example viz.filtersPng(model.at(0).weight, 'filters.png', { scale: 8 });
 */
export function filtersPng(weight: Tensor, path: string, options: GridOptions = {}): GridInfo {
  const op = 'filtersPng';
  const { values, shape } = floatValues(op, 'weight', weight);
  if (shape.length !== 4) fail('E_SHAPE', `${op}: expected weight of shape [K, C, kh, kw], got ${shapeStr(shape)}`);
  const [K, C, h, w] = shape;
  const o = gridOptions(op, options, h, w);
  const per = C * h * w, plane = h * w;
  const tiles: Tile[] = [];
  for (let k = 0; k < K; k++) {
    const v = normalise(values, k * per, per);
    if (C === 3) {
      const rgb = new Uint8Array(3 * plane);
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = v[c * plane + i];
      tiles.push({ rgb });
    } else {
      for (let c = 0; c < C; c++) tiles.push({ rgb: gray(v.subarray(c * plane, (c + 1) * plane)) });
    }
  }
  const cols = o.cols ?? (C === 3 || C === 1 ? Math.ceil(Math.sqrt(K)) : C);
  const { png, info } = drawGrid(tiles, h, w, cols, o.scale, o.gap);
  write(op, path, png);
  return info;
}

/**
 * Writes one sample's feature maps, `activations` [C, H, W] or [1, C, H, W], as a PNG grid of
 * C grey tiles (ceil(sqrt(C)) a row unless `cols`), each map normalised on its own.
 * @example
 * const maps = noGrad(() => model.at(0).call(x.narrow(0, 0, 1)));   // [1, 6, 24, 24]
 * viz.featureMapsPng(maps, 'maps.png');
 */
export function featureMapsPng(activations: Tensor, path: string, options: GridOptions = {}): GridInfo {
  const op = 'featureMapsPng';
  const { values, shape } = floatValues(op, 'activations', activations);
  if (!(shape.length === 3 || (shape.length === 4 && shape[0] === 1))) {
    fail('E_SHAPE', `${op}: expected activations of shape [C, H, W] or [1, C, H, W], got ${shapeStr(shape)}`);
  }
  const [C, h, w] = shape.slice(-3);
  const o = gridOptions(op, options, h, w);
  const tiles: Tile[] = [];
  for (let c = 0; c < C; c++) tiles.push({ rgb: gray(normalise(values, c * h * w, h * w)) });
  const { png, info } = drawGrid(tiles, h, w, o.cols ?? Math.ceil(Math.sqrt(C)), o.scale, o.gap);
  write(op, path, png);
  return info;
}
