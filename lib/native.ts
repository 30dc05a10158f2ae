/**
 * The only file that loads the `.node` binary, and the typed surface of the addon. Each
 * function here is registered in native/addon.cc and documented in native/api/api.h.
 * Nothing else in lib/ may `require` the binary.
 */
import * as path from 'path';
import { ConvnetError } from './errors';

/**
 * A reference to a native tensor: a number naming a slot of the addon's handle table (Note
 * [handles are numbers], native/api/napi_util.h), branded so that no other number passes for one.
 */
export type Handle = number & { readonly __nativeTensor: unique symbol };
/** 0 = float32, 1 = int32 (the order of `convnet::DType`). */
export type DTypeCode = 0 | 1;
export type TypedArray = Float32Array | Int32Array;

export interface NativeMemory { tensors: number; storages: number; bytes: number; queued: number; cachedBytes: number; preparedBytes: number; cudaStorages: number; cudaBytes: number }
export interface NativeBackends {
  cpu: {
    threads: number;
    gemmKernel: string;
    /** The 8-bit product's kernel (quantized layers): 'avx512-vnni', 'avx2' or 'portable'. */
    int8Kernel: string;
    vecMathKernel: string;
    /** AVX-512 FMAs run as two 256-bit halves, one a cycle (AMD Zen 4): some convolutions then take Winograd forms (`CONVNET_FMA512=halved|full` overrides). */
    avx512FmaHalved: boolean;
  };
  cuda: { compiled: boolean; available: boolean; reason: string; devices?: number; runtimeVersion?: number; driverVersion?: number };
}

/** What the cuDNN or cuBLAS loader found (native/cuda/loader.h). */
export interface NativeLibraryReport {
  loaded: boolean;
  /** The library's full path (cuDNN: the libcudnn.so.9 shim), null when not loaded. */
  path: string | null;
  /** "9.6.0" / "12.6.4", null when not loaded. */
  version: string | null;
  versionNumber: number | null;
  /** cuDNN: the CUDA runtime version it was built with (12080). */
  cudaVersion?: number;
  /** Every file loaded, in load order (cuDNN's sub-libraries, then the shim). */
  libraries: string[];
  /** Every place looked at, in order, and what happened there. */
  tried: { path: string; result: string }[];
  error: { code: string; message: string } | null;
}
export interface NativeCudaLoadOptions { cudnnPath?: string; cublasPath?: string; sitePackages: string[]; toolkitDirs: string[] }
export interface NativeCudaReport {
  compiled: boolean; available: boolean; reason: string; devices?: number; runtimeVersion?: number; driverVersion?: number;
  deviceList: { index: number; name: string; totalMemory: number; computeCapability: string }[];
  /** null when built without the CUDA backend. */
  cudnn: NativeLibraryReport | null;
  cublas: NativeLibraryReport | null;
}

/** 0 = cpu, 1 = cuda (native/core/storage.h: Device). */
export type DeviceCode = 0 | 1;

export interface CudaOptionsState {
  benchmark: boolean;
  allowTF32Cudnn: boolean;
  allowTF32Matmul: boolean;
  deterministic: boolean;
}

export interface NativeCudaMemory {
  allocatedBytes: number;
  cachedBytes: number;
  reservedBytes: number;
  peakBytes: number;
  mallocCalls: number;
}

export interface NativeAddon {
  init(errorClass: typeof ConvnetError): void;
  fromData(data: TypedArray, shape: readonly number[]): Handle;
  release(h: Handle): void;
  read(h: Handle): Promise<TypedArray>;
  readSync(h: Handle): TypedArray;
  itemSync(h: Handle): number;
  sync(): Promise<void>;
  syncBlocking(): void;
  drainQueue(): void;
  reshape(h: Handle, shape: readonly number[]): Handle;
  memory(): NativeMemory;
  emptyCache(): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  backends(): NativeBackends;
  /** Probes the devices and loads cuDNN and cuBLAS (once: a success is kept); never throws for a missing library. */
  cudaLoad(options: NativeCudaLoadOptions): NativeCudaReport;
  /** Sets the given CUDA options (all checked first) and returns them all; {} without the CUDA backend. */
  cudaSetOptions(options?: Partial<CudaOptionsState>): CudaOptionsState;
  /** The GPU caching allocator's counters; null without the CUDA backend. */
  cudaMemory(): NativeCudaMemory | null;
  cudaEmptyCache(): void;
  /** A CUDA event with timing, on the device's stream (an opaque External). */
  cudaEventCreate(): object;
  /** action 0: record; 1: query (whether the GPU passed it); 2: synchronize (blocks). */
  cudaEventOp(e: object, action: 0 | 2): void;
  cudaEventOp(e: object, action: 1): boolean;
  cudaEventElapsed(start: object, end: object): number;
  /** Enqueues a kernel that spins for this many GPU clock cycles. */
  cudaSleep(cycles: number): void;
  /** A copy of x on device 0 (cpu) or 1 (cuda), or x itself (a new handle) when it is there. */
  toDevice(x: Handle, device: DeviceCode): Handle;
  deviceOf(x: Handle): DeviceCode;
  /** In-place writes queued on x's memory so far (optimizer steps, copyInto, batch norm's running stats). */
  version(x: Handle): number;
  philoxBlock(words: number[]): number[];
  /** Tests and benchmarks: forces the vectorised-math path ('avx512' | 'avx2' | 'portable'), null for the detected one; in queue order. */
  setVecMathPath(name: string | null): void;
  /** Tests: waits for the queue, then runs one native/cpu/vec_math.h function on the calling thread. */
  vecMathEval(fn: 'exp' | 'log' | 'sigmoid' | 'sin' | 'cos' | 'expm1' | 'expShift', x: Float32Array, shift?: number): Float32Array;
  vecMathEval(fn: 'max' | 'expSum' | 'sum' | 'dot', x: Float32Array, shift?: number): number;

  // Creation: the last argument is the device (0 cpu, the default; 1 cuda).
  empty(shape: readonly number[], dtype: DTypeCode, device?: DeviceCode): Handle;
  fill(shape: readonly number[], dtype: DTypeCode, value: number, device?: DeviceCode): Handle;
  arange(start: number, step: number, count: number, dtype: DTypeCode, device?: DeviceCode): Handle;
  cast(x: Handle, dtype: DTypeCode): Handle;
  /** In place, in queue order: dst takes src's values (same shape and dtype). */
  copyInto(dst: Handle, src: Handle): void;
  randomUniform(shape: readonly number[], low: number, high: number, device?: DeviceCode): Handle;
  randomNormal(shape: readonly number[], mean: number, std: number, device?: DeviceCode): Handle;
  /** In place, in queue order: dst (float32) takes the values; its version bumped as copyInto's. */
  fillInto(dst: Handle, value: number): void;
  randomUniformInto(dst: Handle, low: number, high: number): void;
  randomNormalInto(dst: Handle, mean: number, std: number): void;
  randomBernoulli(shape: readonly number[], p: number, device?: DeviceCode): Handle;
  /** int32 integers uniform in [low, high) (random.cc; CPU only). */
  randomInt(shape: readonly number[], low: number, high: number): Handle;
  /** A random permutation of 0 .. n - 1, int32 (random.cc; CPU only). */
  randomPermutation(n: number): Handle;
  /** k draws from each row of probs [rows, cats] (float32, CPU), int32 [rows * k] (multinomial.cc). */
  multinomial(probs: Handle, k: number, replacement: boolean): Handle;
  /** x with src (or value) written where index points along axis (scatter.cc; CPU only, no gradient; float32 or int32). */
  scatter(x: Handle, axis: number, index: Handle, src: Handle | null, value: number): Handle;
  /** x with the slices index [K] (int32, in range) names along axis set to value (scatter.cc; CPU only, no gradient). */
  indexFill(x: Handle, axis: number, index: Handle, value: number): Handle;
  /** The coordinates of x's nonzero entries, int32 [count, rank], and the count (nonzero.cc; CPU only, waits for x). */
  nonzero(x: Handle): [Handle, number];
  binary(op: BinaryOpCode, a: Handle, b: Handle): Handle;
  binaryScalar(op: BinaryOpCode, x: Handle, scalar: number, scalarFirst: boolean): Handle;
  unary(op: UnaryOpCode, x: Handle): Handle;
  /** addcmul, addcdiv, lerp (c: the weight), lerpScalar (c null, the weight is `value`), broadcasting all three. */
  /** torch.nan_to_num of a float32 x (the numbers rounded to float32). */
  /** tril (upper false) or triu of x's last two axes, float32 or int32. */
  triangle(x: Handle, diagonal: number, upper: boolean): Handle;
  /** x rolled by `shift` along `axis`, float32 or int32. */
  roll(x: Handle, axis: number, shift: number): Handle;
  /** One forward difference of a float32 x along `axis` (that axis one shorter). */
  diff(x: Handle, axis: number): Handle;
  /** F.affineGrid's grid [N, H, W, 2] from theta [N, 2, 3] and the coordinates xs [W], ys [H]. */
  affineGrid(theta: Handle, xs: Handle, ys: Handle): Handle;
  /** The cross product of float32 a and b of one shape along `axis` (size 3). */
  cross(a: Handle, b: Handle, axis: number): Handle;
  nanToNum(x: Handle, nan: number, posinf: number, neginf: number): Handle;
  addcLerp(op: TernaryOpCode, a: Handle, b: Handle, c: Handle | null, value: number): Handle;
  affine(x: Handle, alpha: number, beta: number): Handle;
  powScalar(x: Handle, exponent: number): Handle;
  polygamma(n: number, x: Handle): Handle;
  reduce(op: ReduceOpCode, x: Handle, axes: readonly number[], keepdim: boolean): Handle;
  /** argmax, or argmin when `largest` is false (float32 or int32 x). */
  argmax(x: Handle, axis: number, keepdim: boolean, largest?: boolean): Handle;
  /**
   * The vector p-norm over adjacent `axes` (sorted; empty: all), as torch.linalg.vector_norm:
   * p >= 0, Infinity or -Infinity (vector_norm.cc). Backward: dx from dy and y.
   */
  vectorNorm(x: Handle, axes: readonly number[], p: number, keepdim: boolean): Handle;
  vectorNormBackward(dy: Handle, x: Handle, y: Handle, axes: readonly number[], p: number): Handle;
  /** log(sum(exp(x))) over adjacent `axes`, stable (logsumexp.cc); backward dx = dy * exp(x - y). */
  logsumexp(x: Handle, axes: readonly number[], keepdim: boolean): Handle;
  logsumexpBackward(dy: Handle, x: Handle, y: Handle, axes: readonly number[]): Handle;
  /**
   * The variance over `axes` (any; empty: all), m2 / max(0, n - correction), or with `takeSqrt`
   * the standard deviation (var_std.cc): [y, the float32 mean for the backward]. Backward: dx
   * from dy, y and the mean, PyTorch 1.13's var_backward / std_backward.
   */
  varStd(x: Handle, axes: readonly number[], correction: number, keepdim: boolean, takeSqrt: boolean): [Handle, Handle];
  varStdBackward(dy: Handle, x: Handle, y: Handle, mean: Handle, axes: readonly number[], correction: number, takeSqrt: boolean): Handle;
  /** a op b as float32 1/0, broadcasting; a and b both float32 or both int32. */
  compare(op: CompareOpCode, a: Handle, b: Handle): Handle;
  compareScalar(op: CompareOpCode, x: Handle, scalar: number, scalarFirst: boolean): Handle;
  /** x broadcast to `shape` (a copy; float32 or int32, either device). */
  expand(x: Handle, shape: readonly number[]): Handle;
  /** cond != 0 ? a : b, broadcasting all three; a and b of one dtype, copied bit for bit. */
  where(cond: Handle, a: Handle, b: Handle): Handle;
  /** min(max(x, min), max) with number bounds (-Infinity / Infinity for a missing one): float32 or int32 x. */
  clamp(x: Handle, min: number, max: number): Handle;
  /** dy where min <= x <= max, else 0 (float32). */
  clampBackward(dy: Handle, x: Handle, min: number, max: number): Handle;
  matmul(a: Handle, b: Handle, transA: boolean, transB: boolean): Handle;
  /** x's axes in the order `perm`; y's axis i read backwards where bit i of `reversed` is set (default 0). */
  permute(x: Handle, perm: readonly number[], reversed?: number): Handle;
  /** x cut along `axis` into pieces of `sizes` (adding up to its size there), one op; with dropAxis (sizes all 1) the pieces leave the axis out. */
  split(x: Handle, axis: number, sizes: readonly number[], dropAxis: boolean): Handle[];
  /** [counts, length]: how many times each value occurs in a 1-D int32 x on the CPU (length max(x) + 1 or minlength; E_ARG for a negative value). */
  bincount(x: Handle, minlength: number): [Handle, number];
  /** torch.histc of the float32 CPU x: float32 [bins] over [lo, hi] (float32 values, lo < hi). */
  histc(x: Handle, bins: number, lo: number, hi: number): Handle;
  /** [min, max] of the float32 or int32 CPU x over `axis` (all of x for null), in one pass. */
  aminmax(x: Handle, axis: number | null, keepdim: boolean): [Handle, Handle];
  /** torch.unique of the whole x, sorted (CPU only): values, counts, inverse (when asked) and the values' length. */
  unique(x: Handle, withInverse: boolean): [Handle, Handle, Handle | null, number];
  // lib/linalg.ts's float64 kernels on row-major matrices in typed arrays (native/cpu/linalg_f64.cc),
  // run synchronously: the same bits as its JavaScript loops.
  /** a [n, n] := its LU with partial pivoting, perm [n] the rows' order: [sign, first zero pivot or -1]. */
  luFactorF64(a: Float64Array, n: number, perm: Int32Array): [number, number];
  /** x [n, k] := op(A)^-1 x for a triangular A [n, n] (op(A) = A^T when trans). */
  triangularSolveF64(a: Float64Array, x: Float64Array, n: number, k: number, upper: boolean, unit: boolean, trans: boolean): void;
  /** c [m, n] := op(a) op(b) (op: transposed when ta / tb); zeros in op(a) add nothing. */
  matmulF64(a: Float64Array, b: Float64Array, c: Float64Array, m: number, k: number, n: number, ta: boolean, tb: boolean): void;
  /** The determinants y [...] of the float32 CPU matrices x [..., n, n] (queued). */
  detBatched(x: Handle): Handle;
  /** [sign, logabsdet] [...] of the float32 CPU matrices x [..., n, n] (queued). */
  slogdetBatched(x: Handle): [Handle, Handle];
  /** [inverses, zeroAt]: zeroAt int32 [...] each matrix's first zero pivot, or -1 (its inverse then all Infinity). */
  invBatched(x: Handle): [Handle, Handle];
  /** [factors, failedMinor]: L (U = L^T when upper), failedMinor int32 [...] 0 or the first minor not positive-definite. */
  choleskyBatched(x: Handle, upper: boolean): [Handle, Handle];
  /** [x, zeroAt]: x [..., n, k] = A^-1 b for a [..., n, n], b [..., n, k] of one batch; zeroAt as invBatched's (x's matrix then NaN). */
  solveBatched(a: Handle, b: Handle): [Handle, Handle];
  concat(handles: Float64Array, axis: number): Handle;   // the tensors' handles
  slice(x: Handle, begin: readonly number[], size: readonly number[], step: readonly number[]): Handle;
  indexSelect(x: Handle, axis: number, index: Handle): Handle;
  gather(x: Handle, axis: number, index: Handle): Handle;
  /** The k first along `axis`, sorted (descending when `largest`), ties by position: [values, int32 indices]. */
  topk(x: Handle, axis: number, k: number, largest: boolean): [Handle, Handle];
  /**
   * The int32 positions (x's shape, the axis 1 long) of one order statistic per line, in topk's order:
   * kind 0 the k-th smallest, 1 the lower median (a line's first NaN if it has one), 2 the lower
   * median of the numbers (sort.cc; CPU only).
   */
  selectKth(x: Handle, axis: number, kind: 0 | 1 | 2, k: number): Handle;
  oneHot(labels: Handle, numClasses: number): Handle;
  indexAdd(x: Handle, axis: number, index: Handle, src: Handle): Handle;
  scatterAdd(x: Handle, axis: number, index: Handle, src: Handle): Handle;
  /** Running sums along `axis` (float32 in float64, int32 in int64), from the end when `reverse` (cumsum.cc). */
  cumsum(x: Handle, axis: number, reverse: boolean): Handle;
  /** Running products along `axis` of a float32 x, in float64 (cumsum.cc). */
  cumprod(x: Handle, axis: number): Handle;
  /** The product of each line along `axis` of a float32 x (prod.cc), x's shape with the axis 1 long. */
  prod(x: Handle, axis: number): Handle;
  /** int32 insertion positions of `values` in the sorted rows of `boundaries` (searchsorted.cc). */
  searchsorted(boundaries: Handle, values: Handle, right: boolean): Handle;
  /** The running maximum (largest) or minimum along `axis` and its int32 positions (cumsum.cc): [values, indices]. */
  cumExtremum(x: Handle, axis: number, largest: boolean): [Handle, Handle];

  // ---- neural-network ops (see native/api/api.h) ----
  activationForward(kind: ActivationKind, x: Handle, param: number, param2: number): Handle;
  activationBackward(kind: ActivationKind, dy: Handle, x: Handle, y: Handle, param: number, param2: number): Handle;
  /** CPU only: x halved along dim (even), y = first half * sigmoid(second half). */
  gluForward(x: Handle, dim: number): Handle;
  gluBackward(dy: Handle, x: Handle, dim: number): Handle;
  /** One LSTM step's gates (CPU only): [h', c', saved [N, 5H]]. */
  lstmCellForward(xw: Handle, hw: Handle, c: Handle): [Handle, Handle, Handle];
  lstmCellBackward(saved: Handle, c: Handle, dh: Handle | null, dc: Handle | null): [Handle, Handle, Handle];
  /** One GRU step's gates (CPU only): [h', saved [N, 4H]]. */
  gruCellForward(xw: Handle, hw: Handle, h: Handle): [Handle, Handle];
  gruCellBackward(saved: Handle, h: Handle, dy: Handle): [Handle, Handle, Handle];
  /** A recurrent layer's whole sequence (CPU only); mode 0 tanh, 1 relu, 2 LSTM, 3 GRU: [out, saved | null]. */
  rnnLayerForward(mode: number, xw: Handle, h0: Handle, c0: Handle | null, wHh: Handle, bHh: Handle | null, reverse: boolean, keep: boolean,
    lengths: Int32Array | null): [Handle, Handle | null];
  rnnLayerBackward(mode: number, dout: Handle, out: Handle, saved: Handle | null, xw: Handle, h0: Handle, c0: Handle | null, wHh: Handle,
    reverse: boolean, hasBias: boolean, lengths: Int32Array | null): [Handle, Handle, Handle | null, Handle, Handle | null];
  /** geometry: [strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups] */
  /** lo, hi: a fused activation, y = min(max(conv(x, w) + b, lo), hi) (ReLU: 0, Infinity) */
  conv2dForward(x: Handle, w: Handle, b: Handle | null, geometry: readonly number[], lo?: number, hi?: number): Handle;
  conv2dBackwardData(dy: Handle, w: Handle, b: Handle | null, geometry: readonly number[], xShape: readonly number[]): Handle;
  conv2dBackwardFilter(dy: Handle, x: Handle, geometry: readonly number[], wShape: readonly number[]): Handle;
  biasBackward(dy: Handle, axis: number): Handle;
  linearForward(x: Handle, w: Handle, b: Handle | null): Handle;
  /** 8-bit inference, CPU only (native/cpu/quantize.h): w [O, K] -> [packed int32 [groups, ceil(O / groups / 16), ceil(K / 4), 16], scale [O], sum int32 [O]]. */
  /** CPU only: F.embeddingBag's forward; mode 0 sum, 1 mean, 2 max (which also gives each maximum's position in indices). */
  embeddingBagForward(weight: Handle, indices: Handle, bounds: Handle, perSample: Handle | null, mode: number, padding: number): [Handle, Handle | null];
  /** CPU only: its backward for the weight (dw [V, D]). */
  embeddingBagBackward(dy: Handle, indices: Handle, bounds: Handle, perSample: Handle | null, maximaAt: Handle | null, mode: number, padding: number, scaleByFreq: boolean, V: number): Handle;
  quantizeWeights(w: Handle, groups: number): [Handle, Handle, Handle];
  /** x [..., K] -> y [..., O], clamped to [lo, hi] after the bias. */
  quantizedLinear(x: Handle, packed: Handle, scale: Handle, sum: Handle, b: Handle | null, lo: number, hi: number): Handle;
  /** x [N, C, H, W] -> y [N, O, Ho, Wo]; geometry [sh, sw, ph, pw, dh, dw, groups, kh, kw]. */
  quantizedConv2d(x: Handle, packed: Handle, scale: Handle, sum: Handle, b: Handle | null, geometry: readonly number[], lo: number, hi: number): Handle;
  /** Tests and benchmarks: forces the 8-bit product's kernel ('avx512-vnni' | 'avx2' | 'portable'), null for the detected one; after the queued work. */
  setQuantizedPath(name: string | null): void;
  linearBackwardData(dy: Handle, w: Handle): Handle;
  linearBackwardWeight(dy: Handle, x: Handle): Handle;
  maxPool2dForward(x: Handle, window: readonly number[], ceilMode: boolean, returnIndices: boolean): [Handle, Handle | null];
  maxPoolBackward(dy: Handle, indices: Handle, inputShape: readonly number[]): Handle;
  maxUnpool2dForward(x: Handle, indices: Handle, outputShape: readonly number[], withKept: boolean): [Handle, Handle | null];
  maxUnpool2dBackward(dy: Handle, indices: Handle, kept: Handle, inputShape: readonly number[]): Handle;
  avgPool2dForward(x: Handle, window: readonly number[], ceilMode: boolean, countIncludePad: boolean, divisorOverride: number): Handle;
  avgPool2dBackward(dy: Handle, inputShape: readonly number[], window: readonly number[], ceilMode: boolean, countIncludePad: boolean, divisorOverride: number): Handle;
  lpPool2dForward(x: Handle, p: number, window: readonly number[], ceilMode: boolean, mean: boolean): Handle;
  lpPool2dBackward(dy: Handle, x: Handle, y: Handle, p: number, window: readonly number[], ceilMode: boolean, mean: boolean): Handle;
  mixedPool2dForward(x: Handle, window: readonly number[], ceilMode: boolean, mode: 0 | 1 | 2 /* fixed | bernoulli | uniform */, lambda: number, returnIndices: boolean): [Handle, Handle, Handle | null];
  mixedPool2dBackward(dy: Handle, indices: Handle, lambda: Handle, inputShape: readonly number[], window: readonly number[], ceilMode: boolean): Handle;
  stochasticPool2dForward(x: Handle, window: readonly number[], ceilMode: boolean, training: boolean, returnIndices: boolean): [Handle, Handle | null];
  stochasticPool2dBackward(dy: Handle, x: Handle, indices: Handle | null, window: readonly number[], ceilMode: boolean): Handle;
  adaptivePool2dForward(kind: 0 | 1, x: Handle, outputSize: readonly number[], returnIndices: boolean): [Handle, Handle | null];
  adaptiveAvgPool2dBackward(dy: Handle, inputShape: readonly number[]): Handle;
  roiPoolForward(x: Handle, boxes: Handle, outputSize: readonly number[], spatialScale: number): [Handle, Handle];
  roiPoolBackward(dy: Handle, argmax: Handle, boxes: Handle, inputShape: readonly number[]): Handle;
  roiAlignForward(x: Handle, boxes: Handle, outputSize: readonly number[], spatialScale: number, samplingRatio: number, aligned: boolean): Handle;
  roiAlignBackward(dy: Handle, boxes: Handle, inputShape: readonly number[], spatialScale: number, samplingRatio: number, aligned: boolean): Handle;
  /** F.unfold of planes [P, H, W] -> [P, kh * kw, L] (unfold.cc; CPU only). Pairs are [h, w]. */
  unfold(x: Handle, kernelSize: readonly number[], dilation: readonly number[], padding: readonly number[], stride: readonly number[]): Handle;
  /** F.fold of [P, kh * kw, L] -> planes [P, H, W] (unfold.cc; CPU only). */
  fold(cols: Handle, outputSize: readonly number[], kernelSize: readonly number[], dilation: readonly number[], padding: readonly number[], stride: readonly number[]): Handle;
  upsampleBilinear(x: Handle, outputSize: number[], scales: number[], alignCorners: boolean): Handle;
  upsampleBilinearBackward(dy: Handle, inputSize: number[], scales: number[], alignCorners: boolean): Handle;
  /** 'nearest' resizing (upsample_nearest.cc), the same arguments as upsampleBilinear (alignCorners unused). */
  upsampleNearest(x: Handle, outputSize: number[], scales: number[], alignCorners: boolean): Handle;
  upsampleNearestBackward(dy: Handle, inputSize: number[], scales: number[], alignCorners: boolean): Handle;
  /** Resampling along the middle axis of [outer, n, inner] by `m` outputs' taps (resample_axis.cc): index in [0, n), weight, m * taps each. */
  resampleAxis(x: Handle, index: Int32Array, weight: Float32Array, m: number): Handle;
  resampleAxisBackward(dy: Handle, index: Int32Array, weight: Float32Array, n: number): Handle;
  gridSampleForward(x: Handle, grid: Handle, mode: number, paddingMode: number, alignCorners: boolean): Handle;
  gridSampleBackward(dy: Handle, x: Handle, grid: Handle, mode: number, paddingMode: number, alignCorners: boolean, needX: boolean, needGrid: boolean): [Handle | null, Handle | null];
  preluForward(x: Handle, w: Handle): Handle;
  preluBackward(dy: Handle, x: Handle, w: Handle): [Handle, Handle];
  maxoutForward(x: Handle, pieces: number): Handle;
  maxoutBackward(dy: Handle, x: Handle, pieces: number): Handle;
  /** Probout (probout_rules.h): [y, picked] in training (picked: int32, -1 where dropped), [y, null] in evaluation. */
  proboutForward(x: Handle, pieces: number, lambda: number, training: boolean, dropout: boolean): [Handle, Handle | null];
  /** dx from dy and the picked pieces (training) or x (evaluation). */
  proboutBackward(dy: Handle, saved: Handle, pieces: number, lambda: number, dropout: boolean, training: boolean): Handle;
  /** negate (CPU only, not with log): softmin, the softmax of -x. */
  softmaxForward(x: Handle, dim: number, log: boolean, negate?: boolean): Handle;
  softmaxBackward(dy: Handle, y: Handle, dim: number, log: boolean, negate?: boolean): Handle;
  dropoutForward(x: Handle, p: number): [Handle, Handle];
  dropoutBackward(dy: Handle, mask: Handle, p: number): Handle;
  lrnForward(x: Handle, size: number, alpha: number, beta: number, k: number): Handle;
  lrnBackward(dy: Handle, x: Handle, size: number, alpha: number, beta: number, k: number): Handle;
  batchNormForward(x: Handle, runningMean: Handle | null, runningVar: Handle | null, w: Handle | null, b: Handle | null,
    training: boolean, momentum: number, eps: number): [Handle, Handle, Handle];
  batchNormBackward(dy: Handle, x: Handle, w: Handle | null, mean: Handle, invstd: Handle, training: boolean): [Handle, Handle, Handle];
  // layer norm over x viewed as [rows, m]: w, b [m]; group norm over [N, C, ...]: w, b [C]
  layerNormForward(x: Handle, m: number, w: Handle | null, b: Handle | null, eps: number): [Handle, Handle, Handle];
  layerNormBackward(dy: Handle, x: Handle, m: number, w: Handle | null, mean: Handle, rstd: Handle, needDw: boolean,
    needDb: boolean): [Handle, Handle | null, Handle | null];
  groupNormForward(x: Handle, groups: number, w: Handle | null, b: Handle | null, eps: number): [Handle, Handle, Handle];
  groupNormBackward(dy: Handle, x: Handle, groups: number, w: Handle | null, mean: Handle, rstd: Handle, needDw: boolean,
    needDb: boolean): [Handle, Handle | null, Handle | null];
  /** x / max(||x||_p, eps) along `axis` (normalize.cc). */
  normalizeForward(x: Handle, axis: number, p: number, eps: number): Handle;
  normalizeBackward(dy: Handle, x: Handle, axis: number, p: number, eps: number): Handle;
  /** PyTorch 1.13's cosine similarity of a and b (one shape) along `axis` (cosine_similarity.cc). */
  cosineSimilarityForward(a: Handle, b: Handle, axis: number, eps: number): Handle;
  cosineSimilarityBackward(dy: Handle, a: Handle, b: Handle, axis: number, eps: number): [Handle, Handle];
  /** torch.cdist for p = 2 through a GEMM: a [..., N, D], b [..., M, D] (one batch shape) -> [..., N, M] (cdist.cc). */
  cdistEuclidean(a: Handle, b: Handle): Handle;
  // losses: reduction 0 none, 1 mean, 2 sum, 3 batchmean (the order of cpu::Reduction)
  crossEntropyForward(x: Handle, target: Handle, weight: Handle | null, ignoreIndex: number, labelSmoothing: number, reduction: 0 | 1 | 2 | 3): Handle;
  crossEntropyBackward(dloss: Handle, x: Handle, target: Handle, weight: Handle | null, ignoreIndex: number, labelSmoothing: number, reduction: 0 | 1 | 2 | 3): Handle;
  nllLossForward(x: Handle, target: Handle, weight: Handle | null, ignoreIndex: number, reduction: 0 | 1 | 2 | 3): Handle;
  nllLossBackward(dloss: Handle, x: Handle, target: Handle, weight: Handle | null, ignoreIndex: number, reduction: 0 | 1 | 2 | 3): Handle;
  hingeLossForward(x: Handle, target: Handle, p: number, margin: number, reduction: 0 | 1 | 2 | 3): Handle;
  hingeLossBackward(dloss: Handle, x: Handle, target: Handle, p: number, margin: number, reduction: 0 | 1 | 2 | 3): Handle;
  multiMarginLossForward(x: Handle, target: Handle, p: number, margin: number, weight: Handle | null, reduction: 0 | 1 | 2 | 3): Handle;
  multiMarginLossBackward(dloss: Handle, x: Handle, target: Handle, p: number, margin: number, weight: Handle | null, reduction: 0 | 1 | 2 | 3): Handle;
  contrastiveLossForward(a: Handle, b: Handle, y: Handle, margin: number, reduction: 0 | 1 | 2 | 3): Handle;
  contrastiveLossBackward(dloss: Handle, a: Handle, b: Handle, y: Handle, margin: number, reduction: 0 | 1 | 2 | 3): [Handle, Handle];
  tripletMarginLossForward(a: Handle, pos: Handle, neg: Handle, margin: number, p: number, eps: number, swap: boolean, squared: boolean, reduction: 0 | 1 | 2 | 3): Handle;
  tripletMarginLossBackward(dloss: Handle, a: Handle, pos: Handle, neg: Handle, margin: number, p: number, eps: number, swap: boolean, squared: boolean, reduction: 0 | 1 | 2 | 3): [Handle, Handle, Handle];
  klDivForward(x: Handle, target: Handle, reduction: 0 | 1 | 2 | 3, logTarget: boolean): Handle;
  klDivBackward(dloss: Handle, x: Handle, target: Handle, reduction: 0 | 1 | 2 | 3, logTarget: boolean, targetGrad: boolean): [Handle, Handle | null];
  /** Per-element BCE of probabilities; fails when it runs (E_ARG) at an x outside [0, 1] or NaN (no copy of x). */
  binaryCrossEntropyForward(x: Handle, target: Handle): Handle;
  /** [dx | null, dtarget | null] of the per-element BCE; fails likewise. */
  binaryCrossEntropyBackward(dloss: Handle, x: Handle, target: Handle, inputGrad: boolean, targetGrad: boolean): [Handle | null, Handle | null];
  /** CPU only: a, b [N, D], target [N] float32 or int32. */
  cosineEmbeddingLossForward(a: Handle, b: Handle, target: Handle, margin: number, reduction: 0 | 1 | 2): Handle;
  cosineEmbeddingLossBackward(dloss: Handle, a: Handle, b: Handle, target: Handle, margin: number, reduction: 0 | 1 | 2,
    aGrad: boolean, bGrad: boolean): [Handle | null, Handle | null];
  /** CPU only: x [N, C], target [N, C] int32 (labels checked when it runs: E_INDEX at the next wait). */
  multilabelMarginLossForward(x: Handle, target: Handle, reduction: 0 | 1 | 2): Handle;
  multilabelMarginLossBackward(dloss: Handle, x: Handle, target: Handle, reduction: 0 | 1 | 2): Handle;
  /** CPU only: log_probs [T, N, C], targets int32 [N, S] or [sum], lengths int32 [N]; [nll [N], d nll_n / d log_probs [T, N, C] or null]. */
  ctcLossForward(logProbs: Handle, targets: Handle, inputLengths: Handle, targetLengths: Handle, blank: number, zeroInfinity: boolean, wantGrad: boolean): [Handle, Handle | null];
  /** posWeight: binaryCrossEntropyWithLogits's optional weight per class of the last axis (null: none; the others take none). */
  pointwiseLossForward(kind: PointwiseLossKind, x: Handle, target: Handle, beta: number, posWeight?: Handle | null): Handle;
  pointwiseLossBackward(kind: PointwiseLossKind, dloss: Handle, x: Handle, target: Handle, beta: number, scale: number,
    inputGrad: boolean, targetGrad: boolean, posWeight?: Handle | null): [Handle | null, Handle | null];
  sgdStep(param: Handle, grad: Handle, momentumBuffer: Handle | null, lr: number, momentum: number, dampening: number,
    nesterov: boolean, weightDecay: number, firstStep: boolean): void;
  adamStep(param: Handle, grad: Handle, expAvg: Handle, expAvgSq: Handle, maxExpAvgSq: Handle | null, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, step: number, decoupled: boolean): void;
  rmspropStep(param: Handle, grad: Handle, squareAvg: Handle, momentumBuffer: Handle | null, gradAvg: Handle | null, lr: number,
    alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean): void;
  adagradStep(param: Handle, grad: Handle, stateSum: Handle, lr: number, lrDecay: number, weightDecay: number, eps: number, step: number): void;
}

/** The activations' kinds (native/api/activation_api.cc); from gelu on, CPU only (lib/ composes them on the GPU). */
export const Activation = {
  relu: 0, leakyRelu: 1, elu: 2, sigmoid: 3, tanh: 4,
  gelu: 5, geluTanh: 6, hardsigmoid: 7, hardswish: 8, silu: 9, softplus: 10, mish: 11, logSigmoid: 12, softsign: 13,
  tanhshrink: 14, softshrink: 15, hardshrink: 16, threshold: 17, hardtanh: 18, selu: 19, celu: 20,
} as const;
export type ActivationKind = (typeof Activation)[keyof typeof Activation];

/** The kinds of the losses of one value per element pair (native/cpu/nn_ops.h's PointwiseLoss): CPU only. */
export const PointwiseLoss = { mseLoss: 0, l1Loss: 1, smoothL1Loss: 2, huberLoss: 3, binaryCrossEntropyWithLogits: 4, softMarginLoss: 5 } as const;
export type PointwiseLossKind = (typeof PointwiseLoss)[keyof typeof PointwiseLoss];

/** Op codes: the order of the enums in native/ops/types.h. */
export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, remainder: 7, fmod: 8, atan2: 9, copysign: 10, hypot: 11, logaddexp: 12, logaddexp2: 13,
  logicalAnd: 14, logicalOr: 15, logicalXor: 16, xlogy: 17,
} as const;
export type BinaryOpCode = (typeof BinaryOp)[keyof typeof BinaryOp];
export const TernaryOp = { addcmul: 0, addcdiv: 1, lerp: 2, lerpScalar: 3 } as const;
export type TernaryOpCode = (typeof TernaryOp)[keyof typeof TernaryOp];
export const UnaryOp = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, square: 5, reciprocal: 6, sign: 7, floor: 8, ceil: 9, erf: 10,
  sin: 11, cos: 12, tan: 13, atan: 14, log1p: 15, expm1: 16, log2: 17, log10: 18, rsqrt: 19, round: 20, trunc: 21,
  asin: 22, acos: 23, sinh: 24, cosh: 25, asinh: 26, acosh: 27, atanh: 28, erfc: 29, erfinv: 30, exp2: 31, lgamma: 32, frac: 33,
} as const;
export type UnaryOpCode = (typeof UnaryOp)[keyof typeof UnaryOp];
export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3, nansum: 4 } as const;
export type ReduceOpCode = (typeof ReduceOp)[keyof typeof ReduceOp];
export const CompareOp = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;
export type CompareOpCode = (typeof CompareOp)[keyof typeof CompareOp];

function load(): NativeAddon {
  // dist/lib/native.js -> the package root, where node-gyp-build looks in build/ and prebuilds/.
  const root = path.resolve(__dirname, '..', '..');
  // CONVNET_ADDON: the path of another build of the addon, for checks only (scripts/avx2-check.sh
  // runs the tests on a build that takes the AVX2 code paths).
  const override = process.env.CONVNET_ADDON;
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = (override ? require(path.resolve(override)) : require('node-gyp-build')(root)) as NativeAddon;
  } catch (e) {
    throw new ConvnetError(
      `cudnn-convnet: could not load the native addon from ${override ? path.resolve(override) : root} (${(e as Error).message}). ` +
        'Reinstall the package, or build it from source with `npm run build:native`.',
      'E_LOAD',
    );
  }
  addon.init(ConvnetError);
  return addon;
}

export const native: NativeAddon = load();
