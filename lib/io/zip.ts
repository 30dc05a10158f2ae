/**
 * A small zip reader (PKWARE's APPNOTE.TXT), enough for the archives `torch.save` writes:
 *
 *   [local header 30 bytes + name + extra][data] … for each entry
 *   [central directory: one 46-byte record + name + extra + comment per entry]
 *   [end of central directory (EOCD): 22 bytes + a comment of up to 65535 bytes]
 *
 * The central directory (found from the EOCD at the end) is the index we trust; each entry's
 * local header is checked against it. Entries are stored (method 0, what PyTorch writes) or
 * deflated (method 8, unpacked with Node's zlib), and every entry read is checked against its
 * CRC-32. Zip64 records (64-bit sizes and offsets, which PyTorch writes into every archive) are
 * read; multi-part archives and encrypted entries are refused. Every offset and length is checked against the file, so a truncated or corrupt archive is
 * E_FORMAT, never a read past the end.
 */
import * as zlib from 'zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** Throws E_FORMAT for `what` (a file name or "the data"): `bad('…')`. */
export type Bad = (msg: string) => never;

/** The entries of a zip archive by name, from its central directory. */
export function readZipDirectory(bytes: Uint8Array, bad: Bad): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The EOCD is the last 22 bytes unless the archive has a comment: search back for its signature.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 65535); at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE && at + 22 + view.getUint16(at + 20, true) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) bad('no zip end-of-central-directory record (truncated, or not a zip archive)');
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) bad('it is a multi-part zip archive');
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true), cdOffset = view.getUint32(eocd + 16, true);
  let cdLimit = eocd;
  // Zip64: a locator just before the EOCD points at a zip64 EOCD record with 64-bit fields.
  // PyTorch's writer adds them to every archive, however small.
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIGNATURE) {
    const at = safeNumber(view.getBigUint64(eocd - 12, true), bad);
    if (at + 56 > eocd - 20 || view.getUint32(at, true) !== ZIP64_EOCD_SIGNATURE) bad(`the zip64 end-of-central-directory record at ${at} is damaged`);
    if (view.getUint32(at + 16, true) !== 0 || view.getUint32(at + 20, true) !== 0) bad('it is a multi-part zip archive');
    count = safeNumber(view.getBigUint64(at + 32, true), bad);
    cdSize = safeNumber(view.getBigUint64(at + 40, true), bad);
    cdOffset = safeNumber(view.getBigUint64(at + 48, true), bad);
    cdLimit = at;
  }
  if (cdOffset + cdSize > cdLimit) bad(`the central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at ${cdLimit}: truncated?`);

  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || view.getUint32(at, true) !== CENTRAL_SIGNATURE) bad(`central directory record ${i} at ${at} is damaged`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const nameLength = view.getUint16(at + 28, true), extraLength = view.getUint16(at + 30, true), commentLength = view.getUint16(at + 32, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cdOffset + cdSize) bad(`central directory record ${i} at ${at} runs past the directory`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const entry: ZipEntry = {
      name, method,
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    if (flags & 1) bad(`"${name}" is encrypted`);
    if (method !== 0 && method !== 8) bad(`"${name}" is compressed with method ${method} (only stored and deflate are read)`);
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localHeaderOffset === 0xffffffff) {
      readZip64Extra(view, at + 46 + nameLength, extraLength, entry, bad);
    }
    if (method === 0 && entry.compressedSize !== entry.size) bad(`"${name}" is stored but its sizes differ (${entry.compressedSize} and ${entry.size})`);
    if (entries.has(name)) bad(`"${name}" appears twice`);
    entries.set(name, entry);
    at = end;
  }
  return entries;
}

function safeNumber(v: bigint, bad: Bad): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`a zip64 size or offset of ${v} is too large`);
  return Number(v);
}

/**
 * A zip64 extra field (id 1) holds, in this order, the 64-bit size, compressed size and local
 * header offset, but only those whose 32-bit fields are 0xFFFFFFFF.
 */
function readZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, bad: Bad): void {
  for (let at = start; at + 4 <= start + length;) {
    const id = view.getUint16(at, true), size = view.getUint16(at + 2, true);
    if (at + 4 + size > start + length) break;
    if (id === 1) {
      let field = at + 4;
      const next = (): number => {
        if (field + 8 > at + 4 + size) bad(`the zip64 extra field of "${entry.name}" is too short`);
        const v = safeNumber(view.getBigUint64(field, true), bad);
        field += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + size;
  }
  bad(`"${entry.name}" has 32-bit fields set to 0xFFFFFFFF but no zip64 extra field`);
}

/** An entry's bytes (a view into `bytes` when stored), checked against its local header and CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, bad: Bad): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) bad(`the local header of "${entry.name}" at ${at} is damaged`);
  if (view.getUint16(at + 8, true) !== entry.method) bad(`the local header of "${entry.name}" disagrees with the central directory on its method`);
  // The local header's sizes may be zero (written later in a data descriptor): use the central directory's.
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + entry.compressedSize > bytes.length) bad(`"${entry.name}" runs past the end of the file: truncated?`);
  const raw = bytes.subarray(start, start + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (e) {
      return bad(`"${entry.name}" does not inflate (${(e as Error).message})`);
    }
    if (data.length !== entry.size) bad(`"${entry.name}" inflates to ${data.length} bytes, not the ${entry.size} its directory says`);
  }
  if (crc32(data) !== entry.crc32) bad(`"${entry.name}" fails its CRC-32 check (corrupt)`);
  return data;
}

let CRC_TABLE: Uint32Array | null = null;

/** CRC-32 as zip uses it (polynomial 0xEDB88320). */
export function crc32(data: Uint8Array): number {
  if (CRC_TABLE === null) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const table = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Whether the bytes start like a zip archive (a local header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}
