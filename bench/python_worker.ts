/**
 * The reference side's long-lived Python process (bench/python_worker.py): PyTorch is imported
 * once per run, and each request runs one script in that process. So every CPU group can time
 * PyTorch case by case, each case right before ours, and a slow spell on this shared machine
 * falls on both sides of a case instead of on one side of a group, without paying an import
 * (1–2 s) per case. `runPython` (a fresh process per script) stays for what needs one: NumPy,
 * whose OpenBLAS reads its thread count when it loads, and the GPU groups.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as path from 'path';
import { pythonTimeoutMs, torchPython } from './harness';

/** A script file with its arguments, or a script's text with environment variables it reads. */
export type PythonRequest = { script: string; argv?: string[] } | { code: string; env?: Record<string, string> };
/** The JSON object the script printed on its last line, or why there is none. */
export type PythonReply = { result: unknown; stderr: string } | { error: string };

const WORKER_SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'python_worker.py');

export class PythonWorker {
  private child: ChildProcessWithoutNullStreams | null = null;
  private lines: string[] = [];
  private partial = '';
  private wake: (() => void) | null = null;
  private ended: string | null = null;  // why the process is gone (an exit, a failed start)
  private stderrTail = '';

  constructor(readonly python: string, readonly env: Record<string, string>) {}

  /** Runs one script; requests to one worker must not overlap (the groups await each). */
  async run(request: PythonRequest): Promise<PythonReply> {
    const child = this.start();
    this.hold(true);
    try {
      child.stdin.write(`${JSON.stringify(request)}\n`);
      const line = await this.nextLine();
      if (line === null) return { error: `${this.python}: ${this.ended}${this.stderrTail ? `: ${this.stderrTail}` : ''}` };
      const reply = JSON.parse(line) as { stdout?: string; stderr: string; error?: string };
      if (reply.error !== undefined) return { error: `${this.python}: ${reply.error}` };
      const printed = (reply.stdout ?? '').trim().split('\n');
      try {
        return { result: JSON.parse(printed[printed.length - 1]), stderr: reply.stderr };
      } catch {
        return { error: `${this.python}: could not read its output` };
      }
    } finally {
      this.hold(false);
    }
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child && this.ended === null) return this.child;
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.env };
    // As runPython: the machine points OpenBLAS at an older kernel for safety, which would understate it.
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const child = spawn(this.python, [WORKER_SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.ended = null;
    this.lines = [];
    this.partial = '';
    this.stderrTail = '';
    child.stdout.setEncoding('utf8');
    const mine = () => this.child === child;  // events of a process replaced after a time-out are ignored
    child.stdout.on('data', (chunk: string) => {
      if (!mine()) return;
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.wake?.();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { if (mine()) this.stderrTail = (this.stderrTail + chunk).trim().split('\n').slice(-1)[0] ?? ''; });
    child.on('error', (e) => { if (mine()) this.finish(e.message); });
    child.on('exit', (code, signal) => { if (mine()) this.finish(`exited with ${signal ?? code}`); });
    child.stdin.on('error', () => undefined);  // a write to a process that is gone: 'exit' says why
    return child;
  }

  private finish(why: string): void {
    if (this.ended === null) this.ended = why;
    this.wake?.();
  }

  /** The next reply line, or null when the process ended or the time limit passed (the process is then killed). */
  private nextLine(): Promise<string | null> {
    return new Promise((resolve) => {
      const limit = pythonTimeoutMs();
      const timer = limit === undefined ? null : setTimeout(() => {
        this.finish(`no reply within ${limit / 1000} s (CONVNET_BENCH_PYTHON_TIMEOUT)`);
        this.child?.kill('SIGKILL');
      }, limit);
      const check = () => {
        if (this.lines.length) resolve(this.lines.shift()!);
        else if (this.ended !== null) resolve(null);
        else return;
        this.wake = null;
        if (timer) clearTimeout(timer);
      };
      this.wake = check;
      check();
    });
  }

  // Between requests the idle process must not keep Node running: its pipes are unreferenced
  // then (it ends when its stdin closes, at our exit); during a request they hold the loop.
  private hold(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c.stdin, c.stdout, c.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) (on ? s.ref : s.unref)?.call(s);
    if (on) c.ref();
    else c.unref();
  }
}

const workers = new Map<string, PythonWorker>();

/** The worker for this interpreter and environment, started at its first request. */
export function pythonWorker(python: string, env: Record<string, string> = {}): PythonWorker {
  const key = JSON.stringify([python, env]);
  let w = workers.get(key);
  if (!w) workers.set(key, (w = new PythonWorker(python, env)));
  return w;
}

/**
 * The CPU reference worker for a thread count: PyTorch as `torchPython('cpu')` finds it, in a
 * process of its own per count. torch.set_num_threads, which every script calls, does not reach
 * the BLAS of Debian's PyTorch: OpenBLAS's pthread build starts a thread per core when it loads,
 * whatever PyTorch says, and reads OPENBLAS_NUM_THREADS only then. Without this a "1-thread"
 * PyTorch ran its matrix products (GEMM, transposed convolutions) on 2 threads (session 44).
 */
export function torchWorker(threads: number): PythonWorker {
  return pythonWorker(torchPython('cpu'), { OPENBLAS_NUM_THREADS: String(threads) });
}

/**
 * One case's figures from the CPU reference worker, for a group that times PyTorch case by case:
 * the script's printed object, or null when there is none, with a note saying why (once per
 * distinct reason).
 */
export async function torchCase<T>(request: PythonRequest, threads: number, notes: string[]): Promise<T | null> {
  const reply = await torchWorker(threads).run(request);
  if ('result' in reply) return reply.result as T;
  const note = `PyTorch not measured at ${threads} thread(s): ${reply.error}`;
  if (!notes.includes(note)) notes.push(note);
  return null;
}

// PyTorch's matrix products on Debian go through the system's libblas.so.3 (BLAS_INFO=generic),
// which is the reference BLAS unless an optimised one is installed: then PyTorch's GEMM-based
// paths (transposed convolution, linear layers, convolutions oneDNN does not take) run 20-50x
// slower than they could, and every ratio on them flatters us. Which library the process loaded
// says which case this is.
const BLAS_SCRIPT = `
import json, os
import torch
torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # loads the BLAS if it loads lazily
libs = sorted({os.path.realpath(l.split()[-1]) for l in open("/proc/self/maps") if "blas" in l.split()[-1].lower()})
print(json.dumps({"torch": torch.__version__, "blas": libs}))
`;

/**
 * One line on the CPU reference's BLAS, for the run's header: the library PyTorch loaded, with a
 * warning when it is the reference BLAS; null when there is no PyTorch to ask.
 */
export async function torchBlasLine(threads: number): Promise<string | null> {
  const reply = await torchWorker(threads).run({ code: BLAS_SCRIPT });
  if (!('result' in reply)) return null;
  const { torch, blas } = reply.result as { torch: string; blas: string[] };
  return describeTorchBlas(torch, blas);
}

/** torchBlasLine's words for a PyTorch version and the BLAS libraries its process mapped. */
export function describeTorchBlas(torch: string, libs: string[]): string {
  const loaded = libs.length ? libs.join(', ') : 'none found in the process (linked statically?)';
  const reference = libs.length > 0 && libs.every((l) => !/openblas|mkl|blis|atlas/i.test(l));
  const warning = reference
    ? ': the reference BLAS, so PyTorch\'s GEMM-based paths (transposed convolutions, linear layers) run far below what this machine can do and those ratios flatter us; `apt-get install libopenblas0-pthread` for a fair comparison'
    : '';
  return `PyTorch ${torch} (CPU) BLAS: ${loaded}${warning}`;
}
