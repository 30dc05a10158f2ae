/**
 * The one error class of cudnn-convnet. Every failure, from argument validation in TypeScript
 * to a kernel on the native queue, is a `ConvnetError` with a string `code`:
 *
 * | code         | meaning                                                         |
 * | ------------ | --------------------------------------------------------------- |
 * | `E_ARG`      | an argument of the wrong kind or out of range                   |
 * | `E_SHAPE`    | shapes that do not fit the op                                   |
 * | `E_DTYPE`    | a tensor of the wrong dtype                                     |
 * | `E_DEVICE`   | tensors on different devices, or an unknown/unavailable device  |
 * | `E_DISPOSED` | a tensor used after `dispose()`                                 |
 * | `E_INDEX`    | an index or label out of range (found when the op runs)         |
 * | `E_RANGE`    | a result that does not fit its dtype (an int32 sum; found when the op runs) |
 * | `E_STATE`    | backward through a tensor modified in place since it was saved  |
 * | `E_OOM`      | out of memory                                                   |
 * | `E_LOAD`     | the native addon, a file or an optional package could not be loaded |
 * | `E_CUDA`     | the CUDA backend, a GPU or cuBLAS is missing or failed          |
 * | `E_CUDNN`    | cuDNN is missing, not version 9, or failed                      |
 * | `E_FORMAT`   | a file that is truncated, corrupt or not of the expected format |
 * | `E_IO`       | a file could not be written                                     |
 * | `E_INTERNAL` | a bug: please report it                                         |
 *
 * @example
 * try { add(zeros([2, 3]), zeros([4])); }
 * catch (e) { if (e instanceof ConvnetError && e.code === 'E_SHAPE') console.log(e.message); }
 */
export class ConvnetError extends Error {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'ConvnetError';
    this.code = code;
  }
}

export type ErrorCode =
  | 'E_ARG' | 'E_SHAPE' | 'E_DTYPE' | 'E_DEVICE' | 'E_DISPOSED' | 'E_INDEX' | 'E_RANGE' | 'E_STATE' | 'E_OOM' | 'E_LOAD' | 'E_CUDA' | 'E_CUDNN' | 'E_FORMAT' | 'E_IO' | 'E_INTERNAL';

/** Throws `ConvnetError(message, code)`. */
export function fail(code: ErrorCode, message: string): never {
  throw new ConvnetError(message, code);
}

const warnedKeys = new Set<string>();

/**
 * Emits a process warning (name `ConvnetWarning`, the given `code`) the first time `key` is
 * seen in this process, as Python shows a UserWarning once per place that raises it. Emitted at
 * once (`process.emit`), not on the next tick as `process.emitWarning` would, so a synchronous
 * loop sees it before it ends; Node prints it to stderr unless run with --no-warnings.
 * @example warnOnce('mseLoss broadcast', 'CONVNET_LOSS_BROADCAST', 'mseLoss: ...');
 */
export function warnOnce(key: string, code: string, message: string): void {
  if (warnedKeys.has(key)) return;
  warnedKeys.add(key);
  const warning = new Error(message);
  warning.name = 'ConvnetWarning';
  (warning as Error & { code: string }).code = code;
  process.emit('warning', warning);
}

/** Tests: forgets which keys `warnOnce` has warned about. */
export function resetWarnOnce(): void {
  warnedKeys.clear();
}
