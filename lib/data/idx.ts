/**
 * The IDX file format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a 4-byte magic
 * number (0x00, 0x00, a type byte, the number of dimensions), each dimension as a big-endian
 * uint32, then the values, big-endian, row-major. Files may be gzipped (recognised by the gzip
 * magic, whatever their name).
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { fail } from '../errors';
import { describe, ownEntry } from '../validate';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export interface IdxArrayMap { uint8: Uint8Array; int8: Int8Array; int16: Int16Array; int32: Int32Array; float32: Float32Array; float64: Float64Array }

/** What `readIdx` returns: the values (in native byte order) with their type and shape. */
export interface IdxData<D extends IdxDType = IdxDType> {
  dtype: D;
  shape: number[];
  data: IdxArrayMap[D];
}

/** The type byte (the magic number's third byte) of each element type, and its size. */
const TYPES: Record<number, { dtype: IdxDType; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** The type byte for each dtype (for writers). */
export const IDX_TYPE_BYTE: Record<IdxDType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

function gunzip(op: string, name: string, bytes: Uint8Array): Uint8Array {
  try {
    return zlib.gunzipSync(bytes);
  } catch (e) {
    return fail('E_FORMAT', `${op}: ${name} looks gzipped but does not decompress: ${(e as Error).message}`);
  }
}

/**
 * Reads an IDX file (a path, or its bytes), gzipped or not, checking the magic number, the
 * type, the dimensions and that the length is exactly what they say: a truncated or corrupt
 * file throws ConvnetError E_FORMAT (a missing file E_LOAD), and nothing is returned half-read.
 *
 * @example
 * const { dtype, shape, data } = data.readIdx('train-images-idx3-ubyte');   // 'uint8', [60000, 28, 28]
 */
export function readIdx(source: string | Uint8Array): IdxData {
  const op = 'readIdx';
  let bytes: Uint8Array;
  let name: string;
  if (typeof source === 'string') {
    name = source;
    try {
      bytes = fs.readFileSync(source);
    } catch (e) {
      return fail('E_LOAD', `${op}: cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else if (source instanceof Uint8Array) {
    name = 'the data';
    bytes = source;
  } else {
    return fail('E_ARG', `${op}: expected a path or a Uint8Array (Buffer), got ${describe(source)}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzip(op, name, bytes);
  if (bytes.length < 4) fail('E_FORMAT', `${op}: ${name} is too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail('E_FORMAT', `${op}: ${name} is not an IDX file: its magic number starts 0x${hex(bytes[0])} 0x${hex(bytes[1])}, expected 0x00 0x00`);
  }
  const type = TYPES[bytes[2]];
  if (type === undefined) fail('E_FORMAT', `${op}: ${name} has an unknown IDX type byte 0x${hex(bytes[2])} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)`);
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) fail('E_FORMAT', `${op}: ${name} is truncated: its header says ${rank} dimensions (${headerBytes} bytes) but it has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
    if (count * type.size > Number.MAX_SAFE_INTEGER) fail('E_FORMAT', `${op}: ${name} has impossibly large dimensions [${shape.join(', ')}, …]`);
  }
  const expected = headerBytes + count * type.size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'is truncated' : 'has trailing bytes';
    fail('E_FORMAT', `${op}: ${name} ${what}: dimensions [${shape.join(', ')}] of ${type.dtype} need ${expected} bytes, the file has ${bytes.length}`);
  }
  return { dtype: type.dtype, shape, data: decode(type.dtype, view, headerBytes, count) };
}

function decode(dtype: IdxDType, view: DataView, offset: number, count: number): IdxArrayMap[IdxDType] {
  switch (dtype) {
    case 'uint8': return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int8': return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int16': { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt16(offset + 2 * i, false); return a; }
    case 'int32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt32(offset + 4 * i, false); return a; }
    case 'float32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat32(offset + 4 * i, false); return a; }
    case 'float64': { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat64(offset + 8 * i, false); return a; }
  }
}

/**
 * The bytes of an IDX file holding `data` of `shape` (big-endian), for tests and for saving
 * data sets in the format.
 * @example fs.writeFileSync('labels-idx1-ubyte', data.encodeIdx('uint8', [3], new Uint8Array([1, 2, 3])));
 */
const INT_RANGE = { uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1] } as const;

export function encodeIdx(dtype: IdxDType, shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  const op = 'encodeIdx';
  const typeByte = ownEntry(IDX_TYPE_BYTE, dtype);
  if (typeByte === undefined) fail('E_ARG', `${op}: unknown dtype ${describe(dtype)}`);
  if (!Array.isArray(shape) || shape.length > 255 || shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    fail('E_ARG', `${op}: expected a shape of at most 255 uint32 sizes, got ${describe(shape)}`);
  }
  const count = shape.reduce((n, d) => n * d, 1);
  if (!Array.isArray(data) && !(ArrayBuffer.isView(data) && !(data instanceof DataView))) {
    fail('E_ARG', `${op}: expected \`data\` to be an array or a typed array of numbers, got ${describe(data)}`);
  }
  if (data.length !== count) fail('E_SHAPE', `${op}: ${data.length} values cannot fill shape [${shape.join(', ')}]`);
  const size = TYPES[typeByte].size;
  const out = new Uint8Array(4 + 4 * shape.length + count * size);
  const view = new DataView(out.buffer);
  out[2] = typeByte;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const at = 4 + 4 * shape.length;
  // Integer types take integers in their range: DataView would wrap 300 to 44 and cut 1.7 to 1.
  const range = INT_RANGE[dtype as keyof typeof INT_RANGE];
  for (let i = 0; i < count; i++) {
    const v = data[i], o = at + i * size;
    if (typeof v !== 'number') fail('E_ARG', `${op}: data[${i}] is ${describe(v)}, not a number`);
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
      fail('E_ARG', `${op}: data[${i}] = ${v} is not a ${dtype} (an integer in [${range[0]}, ${range[1]}])`);
    }
    if (dtype === 'uint8') view.setUint8(o, v);
    else if (dtype === 'int8') view.setInt8(o, v);
    else if (dtype === 'int16') view.setInt16(o, v, false);
    else if (dtype === 'int32') view.setInt32(o, v, false);
    else if (dtype === 'float32') view.setFloat32(o, v, false);
    else view.setFloat64(o, v, false);
  }
  return out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
