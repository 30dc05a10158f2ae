/**
 * Atomic file writes: the bytes go to a temporary file in the same folder (so the rename stays
 * on one file system), which is flushed to disk (fsync) and then renamed over the target. A
 * reader sees the old file or the new one, never half of one; a write that fails (or a process
 * that dies mid-way) leaves the old file as it was and removes the temporary file.
 */
import * as buffer from 'buffer';
import * as fs from 'fs';
import * as path from 'path';
import { fail } from '../errors';
import { describe } from '../validate';

/** @internal Tests set this to make a write fail after the temporary file is written, before the rename. */
export const testHooks: { beforeRename: ((tmp: string) => void) | null } = { beforeRename: null };

/**
 * Writes `bytes` to `file` atomically (temporary file, fsync, rename). Throws ConvnetError E_IO
 * when the file cannot be written, naming it and the system's reason.
 * @example atomicWrite('model.json', Buffer.from('{}'));
 */
export function atomicWrite(op: string, file: string, bytes: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    testHooks.beforeRename?.(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return fail('E_IO', `${op}: cannot write ${file}: ${reason}`);
  }
  // The rename itself is durable only once the folder's entry is flushed; not every system lets
  // a folder be opened for that, and the file is already complete, so this is best effort.
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* best effort */ }
}

/**
 * Reads a whole regular file, or throws E_LOAD naming it and the system's reason. Only the size
 * fstat reports is read, so a device (`/dev/zero`), a FIFO or a folder is refused up front
 * rather than read forever.
 */
export function readWhole(op: string, file: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return fail('E_LOAD', `${op}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (e) {
      return fail('E_LOAD', `${op}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (st.isDirectory()) fail('E_LOAD', `${op}: cannot read ${file}: it is a directory, not a file`);
    if (!st.isFile()) fail('E_LOAD', `${op}: cannot read ${file}: not a regular file (a device, FIFO or socket)`);
    // Buffer.alloc would throw a plain RangeError past Node's largest buffer (4 GiB in Node 20).
    if (st.size > buffer.constants.MAX_LENGTH) fail('E_LOAD', `${op}: cannot read ${file}: its ${st.size} bytes are over the ${buffer.constants.MAX_LENGTH} Node can hold in one buffer`);
    const bytes = Buffer.alloc(st.size);
    let at = 0;
    try {
      while (at < bytes.length) {
        const n = fs.readSync(fd, bytes, at, bytes.length - at, at);
        if (n === 0) break;
        at += n;
      }
    } catch (e) {
      return fail('E_LOAD', `${op}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // A file that shrank while it was read: what was there (the format checks find it short).
    return at === bytes.length ? bytes : bytes.subarray(0, at);
  } finally {
    try { fs.closeSync(fd); } catch { /* already failing, or nothing to do */ }
  }
}

/**
 * A loader's input: a path (read whole, as readWhole) or bytes given as they are, with how to
 * name it in messages. Anything else is E_ARG.
 */
export function sourceBytes(op: string, source: unknown): { bytes: Uint8Array; what: string } {
  if (typeof source === 'string') return { bytes: readWhole(op, source), what: source };
  if (source instanceof Uint8Array) return { bytes: source, what: 'the data' };
  return fail('E_ARG', `${op}: expected a path or a Uint8Array (Buffer), got ${describe(source)}`);
}
