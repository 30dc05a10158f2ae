/** The process-wide settings and facts of the native runtime. */
import { native, type NativeBackends } from './native';
import { info as cudaInfo, type LibraryInfo } from './cuda';
import { checkInt } from './validate';

/**
 * Threads a CPU op may use (default: one per core). Ops already queued keep the count they
 * were queued with; results are bit-identical for any count.
 * @example setNumThreads(1)
 */
export function setNumThreads(n: number): void {
  checkInt('setNumThreads', 'n', n, 1, 1024);
  native.setNumThreads(n);
}

/** The thread count the last setNumThreads asked for (default: one per core), as torch.get_num_threads. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Resolves once every op queued so far has run; rejects with the error of a queued op that
 * failed since the last wait. @example await sync()
 */
export function sync(): Promise<void> {
  return native.sync();
}

/** Blocks until every op queued so far has run (see sync). */
export function syncBlocking(): void {
  native.syncBlocking();
}

export interface Backends {
  cpu: NativeBackends['cpu'];
  cuda: NativeBackends['cuda'] & { cudnn: LibraryInfo | null; cublas: LibraryInfo | null };
}

/**
 * What this binary can run on: the CPU (threads, the GEMM kernel picked for this CPU) and the
 * CUDA backend (whether it was compiled in, what the cuDNN/cuBLAS loader found, and in one line
 * why it is not available if it is not; `cuda.info()` has the details).
 * @example console.log(backends().cuda.reason)
 */
export function backends(): Backends {
  const b = native.backends();
  const i = cudaInfo();
  return { cpu: b.cpu, cuda: { ...b.cuda, available: i.available, reason: i.reason, cudnn: i.cudnn, cublas: i.cublas } };
}
