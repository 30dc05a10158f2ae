/**
 * Binary PGM (P5, grey) and PPM (P6, RGB) pictures (netpbm.sourceforge.net/doc/pgm.html,
 * ppm.html): a header of ASCII numbers — magic, width, height, maxval, separated by whitespace
 * and `#` comments — one whitespace byte, then the samples, 1 byte each when maxval < 256, else
 * 2 bytes big-endian. Samples are rescaled to 0..255 (or 0..65535 when maxval > 255, as a
 * Uint16Array), rounding v * 255 / maxval. Only the first picture of a multi-picture file is read.
 */
import { fail } from '../errors';
import { describe } from '../validate';
import type { DecodedImage } from './png';

/** Whether the bytes start like a binary PGM or PPM ("P5" or "P6" then whitespace). */
export function isPnm(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array)) fail('E_ARG', `isPnm: expected the file's bytes as a Uint8Array (Buffer), got ${describe(bytes)}`);
  return bytes.length >= 3 && bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x36) && isSpace(bytes[2]);
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
}

/**
 * Decodes a binary PGM (P5) or PPM (P6) file's bytes. `name` (a path) goes into error messages.
 *
 * @example
 * const { width, height, channels, data } = data.decodePnm(fs.readFileSync('digit.pgm'));   // channels 1
 */
export function decodePnm(bytes: Uint8Array, name = 'the PGM/PPM'): DecodedImage {
  const op = 'decodePnm';
  if (!(bytes instanceof Uint8Array)) fail('E_ARG', `${op}: expected the file's bytes as a Uint8Array (Buffer), got ${describe(bytes)}`);
  const bad = (why: string): never => fail('E_FORMAT', `${op}: ${name} ${why}`);
  if (!isPnm(bytes)) bad('is not a binary PGM or PPM file (it does not start with P5 or P6)');
  const channels = bytes[1] === 0x35 ? 1 : 3;
  let at = 2;
  const readNumber = (what: string): number => {
    // Whitespace and comments (from # to the end of the line) before each number.
    for (;;) {
      while (at < bytes.length && isSpace(bytes[at])) at++;
      if (bytes[at] !== 0x23) break;
      while (at < bytes.length && bytes[at] !== 0x0a && bytes[at] !== 0x0d) at++;
    }
    const start = at;
    let v = 0;
    while (at < bytes.length && bytes[at] >= 0x30 && bytes[at] <= 0x39 && at - start < 10) v = v * 10 + bytes[at++] - 0x30;
    if (at === bytes.length) bad(`is truncated in its header (reading the ${what})`);
    if (at === start || !isSpace(bytes[at])) bad(`is corrupt: its ${what} at byte ${start} is not a number followed by whitespace`);
    return v;
  };
  const width = readNumber('width'), height = readNumber('height'), maxval = readNumber('maxval');
  at++; // the one whitespace byte before the samples
  if (width === 0 || height === 0) bad(`is corrupt: its size is ${width} x ${height}`);
  if (maxval === 0 || maxval > 65535) bad(`is corrupt: its maxval ${maxval} is not in 1..65535`);
  if (width * height > 2 ** 28) bad(`is ${width} x ${height} pixels, more than this decoder takes (${2 ** 28})`);
  const count = width * height * channels, wide = maxval > 255;
  const needed = count * (wide ? 2 : 1);
  if (bytes.length - at < needed) bad(`is truncated: ${width} x ${height} x ${channels} samples need ${needed} bytes, the file has ${bytes.length - at}`);
  const top = wide ? 65535 : 255;
  const data = wide ? new Uint16Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = wide ? (bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1] : bytes[at + i];
    if (v > maxval) bad(`is corrupt: sample ${i} is ${v}, more than its maxval ${maxval}`);
    data[i] = maxval === top ? v : Math.round((v * top) / maxval);
  }
  return { width, height, channels, data };
}
