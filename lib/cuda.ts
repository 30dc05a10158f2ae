/**
 * The CUDA device: whether it can be used, what was found, and where.
 *
 * cuDNN 9 and cuBLAS 12/13 are loaded at run time (the addon links neither), searched in this
 * order: an explicit path (the `cudnnPath` / `cublasPath` option, else the `CONVNET_CUDNN_PATH` /
 * `CONVNET_CUBLAS_PATH` environment variable; a file or its folder), the system loader
 * (`LD_LIBRARY_PATH`, ldconfig), NVIDIA's Python wheels in site-packages (`nvidia/cudnn/lib`,
 * `nvidia/cu13/lib`, `nvidia/cublas/lib`), the CUDA toolkit (`$CUDA_HOME/lib64`,
 * `$CUDA_PATH/lib64`, `/usr/local/cuda/lib64`). Nothing here needs a GPU or can crash a process
 * that has none.
 *
 * @example
 * import { cuda } from 'cudnn-convnet';
 * console.log(cuda.isAvailable(), cuda.deviceCount());
 * const i = cuda.info();
 * console.log(i.reason, i.cudnn?.version ?? 'no cuDNN', i.cublas?.version ?? 'no cuBLAS');
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConvnetError, fail } from './errors';
import { native, type NativeCudaLoadOptions, type NativeLibraryReport } from './native';
import { checkOptions, describe } from './validate';

/** Where to look for the libraries; every field is optional (see the module comment for the defaults). */
export interface CudaOptions {
  /** libcudnn.so.9 or its folder; the only place tried when given. Default: `$CONVNET_CUDNN_PATH`. */
  cudnnPath?: string;
  /** libcublas.so.12 / .so.13 or its folder; the only place tried when given. Default: `$CONVNET_CUBLAS_PATH`. */
  cublasPath?: string;
  /** Python site-packages folders to look in. Default: {@link sitePackagesDirs}. */
  sitePackages?: string[];
  /** CUDA toolkit library folders to look in. Default: {@link toolkitDirs}. */
  toolkitDirs?: string[];
}

/** What the search for one library found. */
export type LibraryInfo = NativeLibraryReport;

export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** Bytes. */
  totalMemory: number;
  /** "9.0" for an H100. */
  computeCapability: string;
}

export interface CudaInfo {
  /** Whether this binary has the CUDA backend compiled in (nvcc at build time). */
  compiled: boolean;
  /** Whether tensors can be put on 'cuda' (false until the backend's ops exist). */
  available: boolean;
  /** One line: why CUDA cannot be used, or what was found. */
  reason: string;
  deviceCount: number;
  devices: CudaDeviceInfo[];
  /** The driver's CUDA version (13000 for 13.0); 0 when there is no driver. */
  driverVersion: number;
  /** The CUDA runtime linked into the addon. */
  runtimeVersion: number;
  /** null when built without the CUDA backend. */
  cudnn: LibraryInfo | null;
  cublas: LibraryInfo | null;
}

function existingDirs(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    if (!d || out.includes(d)) continue;
    try {
      if (fs.statSync(d).isDirectory()) out.push(d);
    } catch {
      // not there
    }
  }
  return out;
}

/** An environment object whose variables `keys` are strings when set (`{ PYTHONPATH: {} }` was a TypeError). */
function checkEnv(op: string, env: unknown, keys: readonly string[]): void {
  if (typeof env !== 'object' || env === null) fail('E_ARG', `${op}: expected \`env\` to be an object of environment variables, got ${describe(env)}`);
  for (const key of keys) {
    const v = (env as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'string') fail('E_ARG', `${op}: expected \`env.${key}\` to be a string, got ${describe(v)}`);
  }
}

/**
 * The Python site-packages folders worth searching for NVIDIA's wheels, found without running
 * Python: `$PYTHONPATH`, `$VIRTUAL_ENV`, `$CONDA_PREFIX`, `~/.local`, `/usr/local`, `/usr`
 * (`lib/python3.*\/{site,dist}-packages`, newest Python first). Only folders that exist.
 * @example console.log(cuda.sitePackagesDirs())
 */
export function sitePackagesDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  checkEnv('cuda.sitePackagesDirs', env, ['PYTHONPATH', 'VIRTUAL_ENV', 'CONDA_PREFIX']);
  const candidates: string[] = (env.PYTHONPATH ?? '').split(path.delimiter).filter((p) => p);
  const roots = [env.VIRTUAL_ENV, env.CONDA_PREFIX, path.join(os.homedir(), '.local'), '/usr/local', '/usr']
    .filter((r): r is string => !!r)
    .map((r) => path.join(r, 'lib'));
  for (const root of roots) {
    let names: string[];
    try {
      names = fs.readdirSync(root).filter((n) => /^python3(\.\d+)?$/.test(n));
    } catch {
      continue;
    }
    // python3.12 before python3.9 before python3 (Debian's dist-packages).
    const minor = (n: string) => (n === 'python3' ? -1 : Number(n.slice('python3.'.length)));
    names.sort((a, b) => minor(b) - minor(a));
    for (const n of names) candidates.push(path.join(root, n, 'site-packages'), path.join(root, n, 'dist-packages'));
  }
  return existingDirs(candidates);
}

/**
 * The CUDA toolkit library folders: `$CUDA_HOME/lib64`, `$CUDA_PATH/lib64`,
 * `/usr/local/cuda/lib64` (those that exist).
 * @example console.log(cuda.toolkitDirs())
 */
export function toolkitDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  checkEnv('cuda.toolkitDirs', env, ['CUDA_HOME', 'CUDA_PATH']);
  return existingDirs([env.CUDA_HOME, env.CUDA_PATH, '/usr/local/cuda'].filter((r): r is string => !!r).map((r) => path.join(r, 'lib64')));
}

function cudaOptions(options: CudaOptions | undefined, fn: string): CudaOptions {
  options = checkOptions<CudaOptions>(`cuda.${fn}`, options, ['cudnnPath', 'cublasPath', 'sitePackages', 'toolkitDirs']);
  for (const key of ['cudnnPath', 'cublasPath'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw new ConvnetError(`cuda.${fn}: expected \`${key}\` to be a non-empty string`, 'E_ARG');
  }
  for (const key of ['sitePackages', 'toolkitDirs'] as const) {
    const v = options[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) {
      throw new ConvnetError(`cuda.${fn}: expected \`${key}\` to be an array of strings`, 'E_ARG');
    }
  }
  return options;
}

function nativeOptions(options: CudaOptions): NativeCudaLoadOptions {
  const env = process.env;
  const out: NativeCudaLoadOptions = {
    sitePackages: options.sitePackages ?? sitePackagesDirs(env),
    toolkitDirs: options.toolkitDirs ?? toolkitDirs(env),
  };
  const cudnnPath = options.cudnnPath ?? (env.CONVNET_CUDNN_PATH || undefined);
  const cublasPath = options.cublasPath ?? (env.CONVNET_CUBLAS_PATH || undefined);
  if (cudnnPath) out.cudnnPath = cudnnPath;
  if (cublasPath) out.cublasPath = cublasPath;
  return out;
}

// One line for a library that did not load: its first sentence when something was there but
// unusable (or an explicit path failed), else how many places were searched.
function libraryReason(name: string, lib: LibraryInfo): string {
  const message = lib.error?.message ?? `${name} not loaded`;
  if (message.includes(' not found. Searched')) return `${name} not found (searched ${lib.tried.length} places; cuda.info() lists them)`;
  const searched = message.indexOf(' Searched, in order:');
  return searched >= 0 ? message.slice(0, searched) : message.replace(/ Install .*$/, '');
}

/**
 * Probes the GPUs and loads cuDNN and cuBLAS (a success is kept for the life of the process; a
 * failure is searched again next time). Never throws for a missing GPU or library: each
 * library's `error` says why, and `tried` lists every place looked at.
 * @example
 * const i = cuda.info();
 * for (const t of i.cudnn?.tried ?? []) console.log(t.path, '->', t.result);
 */
export function info(options?: CudaOptions): CudaInfo {
  const r = native.cudaLoad(nativeOptions(cudaOptions(options, 'info')));
  const deviceCount = r.devices ?? 0;
  let reason: string;
  if (!r.compiled) reason = r.reason;
  else if (deviceCount === 0) reason = `no usable GPU (${r.reason})`;
  else if (r.cudnn && !r.cudnn.loaded) reason = libraryReason('cuDNN', r.cudnn);
  else if (r.cublas && !r.cublas.loaded) reason = libraryReason('cuBLAS', r.cublas);
  else reason = '';
  if (r.available) ready = true;
  return {
    compiled: r.compiled,
    available: r.available,
    reason,
    deviceCount,
    devices: r.deviceList,
    driverVersion: r.driverVersion ?? 0,
    runtimeVersion: r.runtimeVersion ?? 0,
    cudnn: r.cudnn,
    cublas: r.cublas,
  };
}

// Set once the backend was found usable (a success is kept for the life of the process).
let ready = false;

/**
 * @internal Loads the CUDA backend on first use, or throws E_DEVICE with the one-line reason.
 * Ops that create GPU tensors from nothing (`to('cuda')`, creation with `device: 'cuda'`) call it.
 */
export function requireCuda(op: string): void {
  if (typeof op !== 'string') fail('E_ARG', `requireCuda: expected \`op\` (the caller's name, for the message) to be a string, got ${describe(op)}`);
  if (ready) return;
  const i = info();
  if (!i.available) throw new ConvnetError(`${op}: the CUDA device is not available: ${i.reason}`, 'E_DEVICE');
}

/**
 * Whether tensors can be put on the 'cuda' device: the addon has the CUDA backend, there is a
 * GPU, and cuDNN and cuBLAS were found (`info().reason` says what is missing).
 * @example if (!cuda.isAvailable()) console.log('CPU only:', cuda.info().reason)
 */
export function isAvailable(options?: CudaOptions): boolean {
  return info(options).available;
}

/**
 * How many CUDA devices the driver reports (0 without a GPU or a driver).
 * @example console.log(cuda.deviceCount())
 */
export function deviceCount(): number {
  return native.backends().cuda.devices ?? 0;
}

/**
 * Loads cuDNN and cuBLAS, or throws: a `ConvnetError` with code `E_CUDNN` (cuDNN) or `E_CUDA`
 * (no CUDA backend, no GPU, cuBLAS) whose message lists every place searched and what was found
 * there. Returns what {@link info} returns.
 * @example
 * try { cuda.load({ cudnnPath: '/opt/cudnn/lib' }); } catch (e) { console.log(e.code, e.message); }
 */
export function load(options?: CudaOptions): CudaInfo {
  const i = info(cudaOptions(options, 'load'));
  if (!i.compiled) throw new ConvnetError(`cuda.load: ${i.reason}`, 'E_CUDA');
  for (const lib of [i.cudnn, i.cublas]) {
    if (lib && lib.error) throw new ConvnetError(lib.error.message, lib.error.code);
  }
  return i;
}

/**
 * Settles a device request. 'cpu' is the CPU; 'cuda' is the GPU or a `ConvnetError` E_DEVICE
 * saying why not; 'auto' is the GPU when it can be used, else the CPU with a one-line `reason`.
 * @example
 * const { device, reason } = resolveDevice('auto');
 * if (reason) console.log(`device: ${device} (${reason})`);
 */
export function resolveDevice(requested: 'auto' | 'cpu' | 'cuda', options?: CudaOptions): { device: 'cpu' | 'cuda'; reason: string | null } {
  if (requested !== 'auto' && requested !== 'cpu' && requested !== 'cuda') {
    throw new ConvnetError(`resolveDevice: expected 'auto', 'cpu' or 'cuda', got ${describe(requested)}`, 'E_ARG');
  }
  if (requested === 'cpu') return { device: 'cpu', reason: null };
  const i = info(options);
  if (i.available) return { device: 'cuda', reason: null };
  if (requested === 'cuda') throw new ConvnetError(`the CUDA device is not available: ${i.reason}`, 'E_DEVICE');
  return { device: 'cpu', reason: `CUDA not available: ${i.reason}` };
}

/** The CUDA backend's switches (PyTorch's defaults). */
export interface CudaSettings {
  /** Time the convolution algorithms once per shape and keep the fastest (torch.backends.cudnn.benchmark). Default false: cuDNN's heuristic. */
  benchmark: boolean;
  /** Let cuDNN convolutions use TF32 tensor cores (torch.backends.cudnn.allow_tf32). Default true. */
  allowTF32Cudnn: boolean;
  /** Let cuBLAS matrix products (linear, matmul) use TF32 (torch.backends.cuda.matmul.allow_tf32). Default false. */
  allowTF32Matmul: boolean;
  /** Only deterministic convolution algorithms (torch.backends.cudnn.deterministic). Default false. */
  deterministic: boolean;
}

/**
 * Changes some of the CUDA backend's settings and returns them all. Applies to ops called after.
 * @example cuda.setOptions({ benchmark: true, allowTF32Cudnn: false });
 */
export function setOptions(options: Partial<CudaSettings>): CudaSettings {
  if (options === undefined) throw new ConvnetError('cuda.setOptions: expected an options object, got undefined', 'E_ARG');
  checkOptions('cuda.setOptions', options, ['benchmark', 'allowTF32Cudnn', 'allowTF32Matmul', 'deterministic']);
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && typeof v !== 'boolean') throw new ConvnetError(`cuda.setOptions: expected \`${k}\` to be a boolean, got ${describe(v)}`, 'E_ARG');
  }
  return native.cudaSetOptions(options) as CudaSettings;
}

/** The CUDA backend's settings (see {@link setOptions}). @example console.log(cuda.options().allowTF32Cudnn) */
export function options(): CudaSettings {
  return native.cudaSetOptions({}) as CudaSettings;
}

/** The GPU memory allocator's counters, in bytes. */
export interface CudaMemoryInfo {
  /** Held by live tensors (and queued work), rounded to the allocator's block sizes. */
  allocatedBytes: number;
  /** Freed blocks kept for reuse (see {@link emptyCache}). */
  cachedBytes: number;
  /** Taken from the driver: allocated + cached. */
  reservedBytes: number;
  /** The most ever allocated at once. */
  peakBytes: number;
  /** cudaMalloc calls so far (a working cache stops making them). */
  mallocCalls: number;
}

/**
 * The GPU allocator's counters (all 0 before the first GPU tensor; null without the backend).
 * @example const m = cuda.memory(); console.log(m?.allocatedBytes, m?.cachedBytes);
 */
export function memory(): CudaMemoryInfo | null {
  return native.cudaMemory();
}

/**
 * Gives the GPU blocks kept for reuse back to the driver (waits for the GPU first).
 * @example cuda.emptyCache();
 */
export function emptyCache(): void {
  native.cudaEmptyCache();
}

/**
 * A point in the GPU's queue of work, with its time (torch.cuda.Event(enable_timing=True)): the
 * GPU time between two events, without the host's part of each call.
 * @example
 * const start = new cuda.Event(), end = new cuda.Event();
 * start.record(); y = model.call(x); end.record();
 * end.synchronize(); console.log(start.elapsedTime(end), 'ms on the GPU');
 */
export class Event {
  private readonly handle: object;

  constructor() {
    requireCuda('cuda.Event');
    this.handle = native.cudaEventCreate();
  }

  /** Marks the point after everything enqueued so far. */
  record(): void {
    native.cudaEventOp(this.handle, 0);
  }

  /** Whether the GPU has passed this event (true for one never recorded); does not wait. */
  query(): boolean {
    return native.cudaEventOp(this.handle, 1);
  }

  /** Blocks the calling thread until the GPU has passed this event (a benchmark's wait; ops never need it). */
  synchronize(): void {
    native.cudaEventOp(this.handle, 2);
  }

  /** Milliseconds of GPU time from this event to `end`; both recorded and passed (else E_CUDA). */
  elapsedTime(end: Event): number {
    if (!(end instanceof Event)) throw new ConvnetError('cuda.Event.elapsedTime: expected a cuda.Event', 'E_ARG');
    return native.cudaEventElapsed(this.handle, end.handle);
  }
}

/**
 * Keeps the GPU busy for `cycles` clock cycles (torch.cuda._sleep): work enqueued after it runs
 * back to back once it ends, which is how a benchmark times a sequence of ops without the host's
 * launch time (see bench/conv.ts).
 * @example cuda._sleep(2e6); start.record(); ...; end.record();
 */
export function _sleep(cycles: number): void {
  if (!Number.isFinite(cycles) || cycles < 0) throw new ConvnetError(`cuda._sleep: expected a number of cycles >= 0, got ${describe(cycles)}`, 'E_ARG');
  requireCuda('cuda._sleep');
  native.cudaSleep(cycles);
}
