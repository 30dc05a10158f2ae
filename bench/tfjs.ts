/**
 * TensorFlow.js beside us, for the groups that have TF.js columns (gemm, and models' LeNet-5
 * rows): each backend runs its cases in a Node process of its own (bench/tfjs_reference.ts),
 * so that its memory and its threads stay out of ours, as PyTorch's do in Python.
 *
 * Two columns, one per backend that installs from the npm registry alone: `TF.js wasm`
 * (WebAssembly with SIMD; one thread, as TF.js turns the wasm backend's threads off under Node:
 * its flag WASM_HAS_MULTITHREAD_SUPPORT is false there) and `TF.js cpu` (plain JavaScript, one
 * thread). `@tensorflow/tfjs-node`, the binding to libtensorflow, downloads that library
 * from outside the registry when it installs; this project's machines cannot, so it is not
 * measured. The packages are devDependencies: where they are missing the columns stay empty and
 * a note says why.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { pythonTimeoutMs, type Timing } from './harness';
import type { TfjsReply, TfjsRequest } from './tfjs_reference';

export const TFJS_BACKENDS = ['wasm', 'cpu'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

/** The table's column for a backend. */
export const tfjsColumn = (backend: TfjsBackend): string => `TF.js ${backend}`;

const SCRIPT = path.resolve(__dirname, 'tfjs_reference.js');

/**
 * One backend's figures for `request`, by case name; {} when TF.js could not run, with a note
 * saying why. Notes (once each): the version and what the backend ran with, and each case the
 * backend cannot run.
 */
export function tfjsCases(request: Omit<TfjsRequest, 'backend'>, backend: TfjsBackend, notes: string[]): Record<string, Timing> {
  const note = (n: string) => { if (!notes.includes(n)) notes.push(n); };
  const r = spawnSync(process.execPath, [SCRIPT, JSON.stringify({ ...request, backend })], {
    encoding: 'utf8', maxBuffer: 16 << 20, timeout: pythonTimeoutMs(),
  });
  const why = r.error ? r.error.message : r.status !== 0 ? `exited with ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n')[0]}` : null;
  let reply: TfjsReply | null = null;
  if (why === null) {
    try {
      reply = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TfjsReply;
    } catch {
      // said below
    }
  }
  if (reply === null) {
    note(`${tfjsColumn(backend)} not measured: ${why ?? 'could not read its output'}`);
    return {};
  }
  note(`${tfjsColumn(backend)}: TensorFlow.js ${reply.version}, backend ${reply.backend} (${reply.detail})`);
  note('TF.js: @tensorflow/tfjs-node not measured (its install downloads libtensorflow from outside the npm registry); each backend on the threads it has, whatever the row\'s count');
  for (const [name, message] of Object.entries(reply.failed)) note(`${tfjsColumn(backend)} cannot run ${name}: ${message}`);
  return reply.results;
}
