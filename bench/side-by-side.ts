/**
 * The skeleton of the small side-by-side scripts (`tensor-ops.ts`, `op-overhead.ts`): read
 * `[--threads N] [--only text]`, time each case on PyTorch-CPU and then ours, print a table of
 * both and their ratio. Each script brings its cases, PyTorch's script, its tensors and how it
 * times our call.
 */
import * as os from 'os';
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { torchCase } from './python_worker';

/** A case: its name, our call over the script's tensors, PyTorch's expression over the same. */
export type SideCase<T> = [string, (t: T) => unknown, string];

export interface SideBySide<T> {
  /** The table's first words, e.g. `tensor ops`. */
  title: string;
  /** What the figures are, e.g. `medians in ms`. */
  unit: string;
  /** Decimals printed. */
  digits: number;
  cases: SideCase<T>[];
  /** The Python script timing `cases` at `threads`, printing {name: figure, version} as JSON. */
  torchScript: (threads: number, cases: SideCase<T>[]) => string;
  /** The tensors the cases use (made after the thread count is set). */
  tensors: () => T;
  /** Our figure for one call (in `unit`). */
  timeOurs: (call: () => void) => number;
  /** Frees what `tensors` made. */
  dispose: (t: T) => void;
}

export async function runSideBySide<T>(spec: SideBySide<T>): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
  const cases = spec.cases.filter(([name]) => name.includes(only));
  cc.setNumThreads(threads);
  const t = spec.tensors();
  const ours: Record<string, number> = {};
  const theirs: Record<string, number> = {};
  const notes: string[] = [];
  let version = '';
  for (const c of cases) {
    // PyTorch's case right before ours: a slow spell on this shared machine falls on both sides.
    const r = await torchCase<Record<string, number> & { version: string }>({ code: spec.torchScript(threads, [c]) }, threads, notes);
    const [name, fn] = c;
    if (r) {
      version = r.version;
      theirs[name] = r[name];
    }
    ours[name] = spec.timeOurs(() => { fn(t); });
  }
  console.log(`${spec.title}, ${threads} thread(s), beside ${version ? `PyTorch ${version} (CPU)` : 'no PyTorch (see the note below)'}; ${spec.unit}`);
  console.log(`${'case'.padEnd(40)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ours/PyTorch'.padStart(13)}`);
  for (const [name] of cases) {
    const r = theirs[name];
    const d = spec.digits;
    console.log(`${name.padEnd(40)} ${ours[name].toFixed(d).padStart(8)} ${(r?.toFixed(d) ?? '-').padStart(8)} ${(r ? (r / ours[name]).toFixed(2) + 'x' : '-').padStart(13)}`);
  }
  for (const n of notes) console.log(`  note: ${n}`);
  spec.dispose(t);
}

/**
 * The median time (ms) of `call` on its own: three warm-up calls, then at least 10 calls and
 * 400 ms, each the call in a `tidy` (its outputs freed) and `syncBlocking()`.
 *
 * `tidy(() => { call(); })`, not `tidy(call)`: what the function returns leaves the scope alive
 * (tidy's contract), to be freed only by the garbage collector's finalizers, which run between
 * event-loop turns, and this loop takes none. Until session 36 it was `tidy(call)`: every
 * output of a 400 ms loop stayed allocated, each a fresh block instead of the cache's and a
 * FinalizationRegistry entry (bench/JOURNAL.md, "Session 36").
 */
export function timeTidied(call: () => void): number {
  const run = (): void => { cc.tidy(() => { call(); }); };
  for (let i = 0; i < 3; i++) { run(); cc.syncBlocking(); }
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 10 || performance.now() - start < 400) {
    const s = performance.now();
    run();
    cc.syncBlocking();
    times.push(performance.now() - s);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1];
}
