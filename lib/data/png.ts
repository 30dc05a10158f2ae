/**
 * A PNG decoder in TypeScript over Node's zlib (www.w3.org/TR/png): every colour type
 * (grey, grey + alpha, RGB, RGBA, palette), every bit depth (1, 2, 4, 8, 16), the five row
 * filters and Adam7 interlacing. Every chunk's CRC is checked; a truncated or corrupt file is
 * E_FORMAT, never a crash and never a half-decoded picture.
 *
 * What comes out (`DecodedImage`): one sample per channel, pixel after pixel, row after row.
 * - grey and grey + alpha give 1 and 2 channels, RGB 3, RGBA 4; a palette image gives RGB, or
 *   RGBA when its tRNS chunk gives alphas; a grey or RGB image with a tRNS colour key gains an
 *   alpha channel (0 where the key matches, else opaque), as libpng's tRNS-to-alpha expansion.
 * - 8-bit samples come as a Uint8Array; 16-bit samples as a Uint16Array (full precision: divide
 *   by 65535 for [0, 1]); grey of 1, 2 or 4 bits is scaled to 0..255 (v * 255 / (2^depth - 1)).
 * - Gamma, colour profiles and text chunks are ignored (as torchvision's ToTensor does).
 */
import * as zlib from 'zlib';
import { fail } from '../errors';
import { describe } from '../validate';

/** A decoded picture: `width * height * channels` samples, interleaved (HWC), rows top to bottom. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** 0..255 samples, or 0..65535 ones (a Uint16Array) for 16-bit pictures. */
  data: Uint8Array | Uint16Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The largest picture decoded (pixels): past it a header is more likely corrupt than real. */
export const MAX_PIXELS = 2 ** 28;

/** Samples per pixel and allowed bit depths of each colour type. */
const COLOR_TYPES: Record<number, { samples: number; depths: number[]; name: string }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16], name: 'grey' },
  2: { samples: 3, depths: [8, 16], name: 'RGB' },
  3: { samples: 1, depths: [1, 2, 4, 8], name: 'palette' },
  4: { samples: 2, depths: [8, 16], name: 'grey + alpha' },
  6: { samples: 4, depths: [8, 16], name: 'RGBA' },
};

/** Adam7's seven passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG and zlib use) of bytes[from, to). */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Whether the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  // Checked: an array, a string or a 2**31-long sparse array would be read index by index.
  if (!(bytes instanceof Uint8Array)) fail('E_ARG', `isPng: expected the file's bytes as a Uint8Array (Buffer), got ${describe(bytes)}`);
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

interface Header { width: number; height: number; depth: number; colorType: number; interlaced: boolean }

/**
 * Decodes a PNG file's bytes. `name` (a path) goes into error messages.
 *
 * @example
 * const { width, height, channels, data } = data.decodePng(fs.readFileSync('cat.png'));
 */
export function decodePng(bytes: Uint8Array, name = 'the PNG'): DecodedImage {
  const op = 'decodePng';
  if (!(bytes instanceof Uint8Array)) fail('E_ARG', `${op}: expected the file's bytes as a Uint8Array (Buffer), got ${describe(bytes)}`);
  const bad = (why: string): never => fail('E_FORMAT', `${op}: ${name} ${why}`);
  if (!isPng(bytes)) bad('is not a PNG file (no PNG signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let at = 8;
  let ended = false;
  while (!ended) {
    if (at + 8 > bytes.length) bad(`is truncated: a chunk header is cut at byte ${at} (of ${bytes.length}), before IEND`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (length > 2 ** 31 - 1) bad(`has a chunk ${JSON.stringify(type)} of impossible length ${length}`);
    if (at + 12 + length > bytes.length) bad(`is truncated: chunk ${JSON.stringify(type)} needs ${length + 12} bytes at byte ${at}, the file has ${bytes.length - at} left`);
    if (!/^[A-Za-z]{4}$/.test(type)) bad(`is corrupt: a chunk type ${JSON.stringify(type)} at byte ${at} is not four letters`);
    const data = bytes.subarray(at + 8, at + 8 + length);
    const crc = view.getUint32(at + 8 + length);
    if (crc32(bytes, at + 4, at + 8 + length) !== crc) bad(`is corrupt: chunk ${type} at byte ${at} fails its CRC check`);
    if (header === null && type !== 'IHDR') bad(`is corrupt: its first chunk is ${type}, not IHDR`);
    at += 12 + length;
    switch (type) {
      case 'IHDR':
        if (header !== null) bad('is corrupt: it has two IHDR chunks');
        header = readHeader(data, bad);
        break;
      case 'PLTE':
        if (length % 3 !== 0 || length === 0 || length > 768) bad(`is corrupt: its palette has ${length} bytes (expected 3 to 768, a multiple of 3)`);
        palette = data;
        break;
      case 'tRNS':
        transparency = data;
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        ended = true;
        break;
      default:
        // An unknown critical chunk (first letter upper case) changes how to read the picture.
        if (type.charCodeAt(0) < 0x61) bad(`has an unknown critical chunk ${type}: cannot decode it`);
    }
  }
  const h = header as Header;
  if (idat.length === 0) bad('has no image data (no IDAT chunk)');
  if (h.colorType === 3 && palette === null) bad('is a palette image without a palette (PLTE chunk)');
  const expected = rawLength(h);
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return bad(code === 'ERR_BUFFER_TOO_LARGE' ? `is corrupt: its image data inflates to more than the ${expected} bytes its header says`
      : `is corrupt: its image data does not inflate (${(e as Error).message})`);
  }
  if (raw.length !== expected) bad(`is truncated: its image data inflates to ${raw.length} bytes, its header says ${expected}`);
  const samples = h.interlaced ? deinterlace(h, raw, bad) : unfilterAndUnpack(h, raw, 0, h.width, h.height, bad);
  return toImage(h, samples, palette, transparency, bad);
}

function readHeader(d: Uint8Array, bad: (why: string) => never): Header {
  if (d.length !== 13) bad(`is corrupt: its IHDR chunk has ${d.length} bytes, not 13`);
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const width = view.getUint32(0), height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = d.subarray(8, 13);
  if (width === 0 || height === 0 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) bad(`is corrupt: its size ${width} x ${height} is not allowed`);
  if (width * height > MAX_PIXELS) bad(`is ${width} x ${height} pixels, more than this decoder takes (${MAX_PIXELS})`);
  const type = COLOR_TYPES[colorType];
  if (type === undefined) bad(`is corrupt: unknown colour type ${colorType} (expected 0, 2, 3, 4 or 6)`);
  if (!type.depths.includes(depth)) bad(`is corrupt: bit depth ${depth} is not allowed for ${type.name} images (${type.depths.join(', ')})`);
  if (compression !== 0) bad(`is corrupt: unknown compression method ${compression}`);
  if (filter !== 0) bad(`is corrupt: unknown filter method ${filter}`);
  if (interlace > 1) bad(`is corrupt: unknown interlace method ${interlace}`);
  return { width, height, depth, colorType, interlaced: interlace === 1 };
}

/** Bytes in one row of `width` pixels, without the filter byte. */
function rowBytes(h: Header, width: number): number {
  return Math.ceil((width * COLOR_TYPES[h.colorType].samples * h.depth) / 8);
}

/** The inflated image data's length: each (pass's) row is a filter byte and its pixels. */
function rawLength(h: Header): number {
  if (!h.interlaced) return h.height * (1 + rowBytes(h, h.width));
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((h.width - x0) / dx), rows = Math.ceil((h.height - y0) / dy);
    if (w > 0 && rows > 0) total += rows * (1 + rowBytes(h, w));
  }
  return total;
}

/**
 * Undoes the row filters of a (sub-)image of `width` x `height` pixels starting at raw[offset],
 * in place, and unpacks its samples (palette indices for palette images, unscaled).
 */
function unfilterAndUnpack(h: Header, raw: Uint8Array, offset: number, width: number, height: number, bad: (why: string) => never): Uint8Array | Uint16Array {
  const samplesPerPixel = COLOR_TYPES[h.colorType].samples;
  const stride = rowBytes(h, width);
  // The filters look at the byte of the pixel to the left: whole pixels' bytes, at least 1.
  const bpp = Math.max(1, (samplesPerPixel * h.depth) >> 3);
  for (let y = 0; y < height; y++) {
    const start = offset + y * (stride + 1);
    const filter = raw[start];
    const row = start + 1, prior = row - stride - 1;
    const hasPrior = y > 0;
    switch (filter) {
      case 0: break;
      case 1: // Sub
        for (let i = bpp; i < stride; i++) raw[row + i] = (raw[row + i] + raw[row + i - bpp]) & 0xff;
        break;
      case 2: // Up
        if (hasPrior) for (let i = 0; i < stride; i++) raw[row + i] = (raw[row + i] + raw[prior + i]) & 0xff;
        break;
      case 3: // Average
        for (let i = 0; i < stride; i++) {
          const left = i >= bpp ? raw[row + i - bpp] : 0, up = hasPrior ? raw[prior + i] : 0;
          raw[row + i] = (raw[row + i] + ((left + up) >> 1)) & 0xff;
        }
        break;
      case 4: // Paeth
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? raw[row + i - bpp] : 0, b = hasPrior ? raw[prior + i] : 0, c = i >= bpp && hasPrior ? raw[prior + i - bpp] : 0;
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          raw[row + i] = (raw[row + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        bad(`is corrupt: row ${y} has filter type ${filter} (expected 0 to 4)`);
    }
  }
  const count = width * height * samplesPerPixel;
  if (h.depth === 16) {
    const out = new Uint16Array(count);
    for (let y = 0, k = 0; y < height; y++) {
      const row = offset + y * (stride + 1) + 1;
      for (let i = 0; i < width * samplesPerPixel; i++) out[k++] = (raw[row + 2 * i] << 8) | raw[row + 2 * i + 1];
    }
    return out;
  }
  const out = new Uint8Array(count);
  if (h.depth === 8) {
    for (let y = 0; y < height; y++) {
      const row = offset + y * (stride + 1) + 1;
      out.set(raw.subarray(row, row + width * samplesPerPixel), y * width * samplesPerPixel);
    }
    return out;
  }
  // 1, 2 or 4 bits (one sample a pixel), most significant bits first; each row starts on a byte.
  const perByte = 8 / h.depth, mask = (1 << h.depth) - 1;
  for (let y = 0, k = 0; y < height; y++) {
    const row = offset + y * (stride + 1) + 1;
    for (let x = 0; x < width; x++) {
      const byte = raw[row + Math.floor(x / perByte)];
      out[k++] = (byte >> (8 - h.depth * ((x % perByte) + 1))) & mask;
    }
  }
  return out;
}

/** The seven Adam7 passes, each unfiltered on its own, put in place. */
function deinterlace(h: Header, raw: Uint8Array, bad: (why: string) => never): Uint8Array | Uint16Array {
  const samplesPerPixel = COLOR_TYPES[h.colorType].samples;
  const count = h.width * h.height * samplesPerPixel;
  const out = h.depth === 16 ? new Uint16Array(count) : new Uint8Array(count);
  let offset = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((h.width - x0) / dx), rows = Math.ceil((h.height - y0) / dy);
    if (w <= 0 || rows <= 0) continue;
    const pass = unfilterAndUnpack(h, raw, offset, w, rows, bad);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < w; x++) {
        const from = (y * w + x) * samplesPerPixel, to = ((y0 + y * dy) * h.width + x0 + x * dx) * samplesPerPixel;
        for (let s = 0; s < samplesPerPixel; s++) out[to + s] = pass[from + s];
      }
    }
    offset += rows * (1 + rowBytes(h, w));
  }
  return out;
}

/** Samples as the picture: palette expanded, low-depth grey scaled to 0..255, tRNS made alpha. */
function toImage(h: Header, samples: Uint8Array | Uint16Array, palette: Uint8Array | null, trns: Uint8Array | null, bad: (why: string) => never): DecodedImage {
  const { width, height } = h;
  const pixels = width * height;
  if (h.colorType === 3) {
    const pal = palette as Uint8Array;
    const entries = pal.length / 3;
    if (trns !== null && trns.length > entries) bad(`is corrupt: its tRNS chunk has ${trns.length} alphas for ${entries} palette entries`);
    const channels = trns === null ? 3 : 4;
    const data = new Uint8Array(pixels * channels);
    for (let i = 0; i < pixels; i++) {
      const index = samples[i];
      if (index >= entries) bad(`is corrupt: pixel ${i % width}, ${Math.floor(i / width)} uses palette entry ${index} of ${entries}`);
      data[i * channels] = pal[3 * index]; data[i * channels + 1] = pal[3 * index + 1]; data[i * channels + 2] = pal[3 * index + 2];
      if (trns !== null) data[i * channels + 3] = index < trns.length ? trns[index] : 255;
    }
    return { width, height, channels, data };
  }
  const samplesPerPixel = COLOR_TYPES[h.colorType].samples;
  if (h.depth < 8) {
    const k = 255 / ((1 << h.depth) - 1);
    for (let i = 0; i < samples.length; i++) samples[i] *= k;
  }
  // A colour key (grey or RGB images only) becomes an alpha channel.
  if (trns !== null && (h.colorType === 0 || h.colorType === 2)) {
    if (trns.length !== 2 * samplesPerPixel) bad(`is corrupt: its tRNS chunk has ${trns.length} bytes, expected ${2 * samplesPerPixel}`);
    const key = Array.from({ length: samplesPerPixel }, (_, s) => {
      const v = (trns[2 * s] << 8) | trns[2 * s + 1];
      return h.depth < 8 ? v * (255 / ((1 << h.depth) - 1)) : v;
    });
    const channels = samplesPerPixel + 1;
    const data = h.depth === 16 ? new Uint16Array(pixels * channels) : new Uint8Array(pixels * channels);
    const opaque = h.depth === 16 ? 65535 : 255;
    for (let i = 0; i < pixels; i++) {
      let match = true;
      for (let s = 0; s < samplesPerPixel; s++) {
        const v = samples[i * samplesPerPixel + s];
        data[i * channels + s] = v;
        if (v !== key[s]) match = false;
      }
      data[i * channels + samplesPerPixel] = match ? 0 : opaque;
    }
    return { width, height, channels, data };
  }
  return { width, height, channels: samplesPerPixel, data: samples };
}
