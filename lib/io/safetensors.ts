/**
 * The safetensors format (github.com/huggingface/safetensors), the file PyTorch users share
 * weights in:
 *
 *   8 bytes    N, the header's length, an unsigned little-endian 64-bit integer
 *   N bytes    a UTF-8 JSON object starting with '{', padded with spaces (0x20):
 *              { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, …,
 *                "__metadata__": { "<key>": "<string>", … } }   (metadata optional, strings only)
 *   the rest   the tensors' bytes, little-endian, row-major; offsets count from the end of the
 *              header and must cover the rest of the file exactly: no gaps, no overlaps, no
 *              trailing bytes.
 *
 * We write as the reference writer does: tensors ordered by alignment then name, the header
 * padded to a multiple of 8 bytes, metadata `{ format: 'pt' }` unless given. We read everything
 * the spec allows and check all of it before a tensor is made.
 */
import * as os from 'os';
import { fail } from '../errors';
import { tensor } from '../creation';
import type { Tensor } from '../tensor';
import { checkOptions, describe, isTensor, shapeStr } from '../validate';
import { atomicWrite, sourceBytes } from './file';

/** The reference implementation refuses longer headers (100 MB); so do we. */
const MAX_HEADER = 100_000_000;

/** Bytes per element of every dtype the spec names (ours are F32 and I32). */
const DTYPE_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** File dtypes converted on load (with `convert`, the default), and what they become. */
const CONVERTED: Record<string, 'float32' | 'int32'> = { F16: 'float32', BF16: 'float32', F64: 'float32', I64: 'int32' };

export interface SafetensorsFile {
  /** The tensors by name, in the file's order; they belong to the caller (dispose them). */
  tensors: Record<string, Tensor>;
  /** The file's `__metadata__` (empty when it has none). */
  metadata: Record<string, string>;
  /** The dtype each tensor had in the file (`F32`, `I64`, …). */
  dtypes: Record<string, string>;
}

export interface LoadSafetensorsOptions {
  /**
   * Convert F16, BF16 and F64 to float32 and I64 to int32 (an I64 value outside int32's range
   * is E_FORMAT). Default true: PyTorch writes BatchNorm's `num_batches_tracked` as I64. With
   * false, only F32 and I32 load. Other dtypes (U8, BOOL, F8, …) are always E_FORMAT.
   */
  convert?: boolean;
}

/**
 * Sets an own, enumerable property: `obj[key] = value` with key "__proto__" would change the
 * object's prototype instead (a tensor named "__proto__" became the prototype of `tensors`).
 */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }

const LITTLE = os.endianness() === 'LE';

/**
 * Encodes tensors (float32 → F32, int32 → I32) and optional string metadata as safetensors bytes.
 * @example const bytes = io.serializeSafetensors({ w: randn([2, 3]) });
 */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  const op = 'saveSafetensors';
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors) || isTensor(tensors)) {
    fail('E_ARG', `${op}: expected an object of tensors by name, got ${describe(tensors)}`);
  }
  const meta = metadata === undefined ? { format: 'pt' } : metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail('E_ARG', `${op}: expected metadata to be an object of strings, got ${describe(meta)}`);
  for (const [k, v] of Object.entries(meta)) if (typeof v !== 'string') fail('E_ARG', `${op}: metadata "${k}" must be a string, got ${describe(v)}`);
  // Everything is checked before anything is read back from the device.
  // The reference writer's order: by dtype, widest first as its enum sorts (F32 before I32), then by name.
  const rank = (name: string) => (isTensor(tensors[name]) && tensors[name].dtype === 'int32' ? 1 : 0);
  const names = Object.keys(tensors).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    if (name === '__metadata__' || name.length === 0) fail('E_ARG', `${op}: "${name}" cannot name a tensor`);
    const t = tensors[name];
    if (!isTensor(t)) fail('E_ARG', `${op}: "${name}" must be a Tensor, got ${describe(t)}`);
    if (t.isDisposed) fail('E_DISPOSED', `${op}: "${name}" has been disposed`);
  }
  const header: Record<string, unknown> = {};
  if (Object.keys(meta).length > 0) header.__metadata__ = { ...meta };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const values = t.dataSync() as Float32Array | Int32Array;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    chunks.push(LITTLE ? bytes : swap4(bytes));
    setOwn(header, name, { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: [...t.shape], data_offsets: [offset, offset + bytes.length] });
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, ...chunks]);
}

/**
 * Saves tensors as a safetensors file, atomically (a temporary file in the same folder, flushed,
 * then renamed: a failed write leaves the old file intact). Keys are kept as given (use
 * PyTorch's `state_dict()` names to share with Python); `metadata` defaults to
 * `{ format: 'pt' }`, what Hugging Face's loaders expect. A file that cannot be written is E_IO.
 * @example
 * io.saveSafetensors('weights.safetensors', model.stateDict(), { note: 'epoch 3' });
 * // Python: safetensors.torch.load_file('weights.safetensors')
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  if (typeof path !== 'string' || path.length === 0) fail('E_ARG', `saveSafetensors: expected a file path, got ${describe(path)}`);
  atomicWrite('saveSafetensors', path, serializeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file (a path, or its bytes). The header length, the JSON, every dtype,
 * shape and offset (in order, contiguous, within the file, matching the shape's byte length)
 * and the absence of trailing bytes are checked before any tensor is made: a truncated or
 * corrupt file is ConvnetError E_FORMAT naming what is wrong, a missing file E_LOAD, and
 * nothing is half-loaded. F32 loads as float32 and I32 as int32; F16, BF16, F64 and I64 are
 * converted (see `convert`); other dtypes are E_FORMAT naming the dtype.
 * @example
 * const { tensors, metadata } = io.loadSafetensors('weights.safetensors');
 * model.loadStateDict(tensors);
 * Object.values(tensors).forEach((t) => t.dispose());
 */
export function loadSafetensors(source: string | Uint8Array, options: LoadSafetensorsOptions = {}): SafetensorsFile {
  const op = 'loadSafetensors';
  options = checkOptions<LoadSafetensorsOptions>(op, options, ['convert']);
  const convert = options.convert ?? true;
  if (typeof convert !== 'boolean') fail('E_ARG', `${op}: expected \`convert\` to be a boolean, got ${describe(convert)}`);
  const { bytes, what } = sourceBytes(op, source);
  const { entries, metadata, dataStart } = parseHeader(op, what, bytes, convert);
  const tensors: Record<string, Tensor> = {};
  const dtypes: Record<string, string> = {};
  try {
    for (const e of entries) {
      setOwn(tensors, e.name, decode(op, what, e, bytes.subarray(dataStart + e.begin, dataStart + e.end)));
      setOwn(dtypes, e.name, e.dtype);
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata, dtypes };
}

function parseHeader(op: string, what: string, bytes: Uint8Array, convert: boolean): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const bad = (msg: string): never => fail('E_FORMAT', `${op}: ${what} is not a valid safetensors file: ${msg}`);
  if (bytes.length < 8) bad(`it has ${bytes.length} bytes, fewer than the 8 of the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) bad(`the header length ${n64} is over the limit of ${MAX_HEADER} bytes`);
  const n = Number(n64);
  if (8 + n > bytes.length) bad(`the header length ${n} runs past the end of the file (${bytes.length} bytes): truncated?`);
  if (n < 2 || bytes[8] !== 0x7b) bad('the header does not start with \'{\'');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return bad('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return bad('the header is not a JSON object');
  const dup = duplicateKey(text);
  if (dup !== null) bad(`the header names "${dup}" twice`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(`__metadata__ "${k}" must be a string, got ${describe(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    // saveSafetensors refuses an empty name (no PyTorch state dict has one); loading agrees.
    if (name.length === 0) bad('a tensor has an empty name');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`"${name}" must be an object with dtype, shape and data_offsets`);
    const info = value as Record<string, unknown>;
    for (const k of Object.keys(info)) if (!['dtype', 'shape', 'data_offsets'].includes(k)) bad(`"${name}" has an unknown field "${k}"`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) bad(`"${name}" has an unknown dtype ${describe(dtype)}`);
    const dt = dtype as string;
    if (dt !== 'F32' && dt !== 'I32' && !(convert && dt in CONVERTED)) {
      bad(`"${name}" has dtype ${dt}, which cudnn-convnet does not load (F32 and I32${convert ? '; F16, BF16, F64 and I64 are converted' : ', and no others with { convert: false }'})`);
    }
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`"${name}" has shape ${describe(shape)}, expected an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      bad(`"${name}" has data_offsets ${describe(offsets)}, expected [begin, end] of non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) bad(`"${name}" has data_offsets [${begin}, ${end}] that end before they begin`);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const expected = count * DTYPE_SIZE[dt];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      bad(`"${name}" of dtype ${dt} and shape ${shapeStr(shape as number[])} needs ${expected} bytes, but its data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }
  // The data must be covered exactly: sorted by offset, each tensor starts where the last ended,
  // and the last ends at the end of the file.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - 8 - n;
  let at = 0;
  for (const e of entries) {
    if (e.begin < at) bad(`"${e.name}" [${e.begin}, ${e.end}] overlaps the tensor before it (which ends at ${at})`);
    if (e.begin > at) bad(`there is a gap of ${e.begin - at} bytes before "${e.name}" (at ${at})`);
    if (e.end > dataLength) bad(`"${e.name}" [${e.begin}, ${e.end}] runs past the end of the data (${dataLength} bytes): truncated?`);
    at = e.end;
  }
  if (at !== dataLength) bad(`${dataLength - at} bytes follow the last tensor (the data is ${dataLength} bytes, the tensors cover ${at})`);
  return { entries, metadata, dataStart: 8 + n };
}

/** The first key that appears twice at the top level of a JSON object (JSON.parse keeps the last silently). */
function duplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(text[j])) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return null;
}

function decode(op: string, what: string, e: Entry, raw: Uint8Array): Tensor {
  const count = raw.length / DTYPE_SIZE[e.dtype];
  // Copied to a fresh, aligned buffer: offsets in a file need not be multiples of 4.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (e.dtype === 'F32' || e.dtype === 'I32') {
    const copy = new Uint8Array(raw);
    const values = e.dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    if (!LITTLE) swap4(new Uint8Array(values.buffer));
    return tensor(values, { shape: e.shape });
  }
  if (e.dtype === 'I64') {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const v = view.getBigInt64(8 * i, true);
      if (v < -2147483648n || v > 2147483647n) fail('E_FORMAT', `${op}: "${e.name}" in ${what} holds the I64 value ${v}, outside int32's range`);
      out[i] = Number(v);
    }
    return tensor(out, { shape: e.shape });
  }
  const out = new Float32Array(count);
  if (e.dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else if (e.dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  return tensor(out, { shape: e.shape });
}

/** IEEE half precision to a number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Reverses the bytes of each 4-byte word in place (big-endian hosts only). */
function swap4(b: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < b.length; i += 4) {
    const a0 = b[i], a1 = b[i + 1];
    b[i] = b[i + 3]; b[i + 1] = b[i + 2]; b[i + 2] = a1; b[i + 3] = a0;
  }
  return b;
}
