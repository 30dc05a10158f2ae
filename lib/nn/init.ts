/**
 * Weight initialisation, as `torch.nn.init`: each function fills a float32 tensor **in place**
 * (a parameter keeps its identity, so optimizers and graphs that hold it see the new values)
 * and returns it. Random fills draw from the library's seeded Philox generator
 * (`manualSeed`), so the same seed gives the same weights on every machine; the numbers are
 * not PyTorch's (a different generator), the distributions are.
 *
 * The fill is queued like any op: reads queued before it see the old values, reads after it
 * the new ones. Fills record nothing on the tape.
 *
 * Fans follow PyTorch's `_calculate_fan_in_and_fan_out`: for a weight [out, in, *kernel],
 * fanIn = in * prod(kernel) and fanOut = out * prod(kernel) (so a ConvTranspose2d weight
 * [in, out / groups, kh, kw] has fanIn = out / groups * kh * kw, PyTorch's quirk kept).
 */
import { noGrad } from '../autograd';
import { rand, randn, tensor } from '../creation';
import { fail } from '../errors';
import { native } from '../native';
import type { Device, Tensor } from '../tensor';
import { checkDtype, checkInt, checkNumber, checkOptions, checkTensor, describe, shapeStr } from '../validate';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv_transpose2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

export interface KaimingOptions {
  /** The negative slope of the leaky ReLU that follows (only with 'leaky_relu'). Default 0. */
  a?: number;
  /** Keep the variance of the activations ('fanIn', default) or of the gradients ('fanOut'). */
  mode?: FanMode;
  /** Default 'leaky_relu' (with a = 0, the same as 'relu'), as PyTorch. */
  nonlinearity?: Nonlinearity;
}

function target(op: string, t: unknown): Tensor<'float32'> {
  const x = checkTensor(op, 'tensor', t);
  checkDtype(op, 'tensor', x, 'float32');
  return x as Tensor<'float32'>;
}

// In place, in queue order, with no temporary: the numbers rand/randn would draw at this point.
function uniformInto(op: string, t: Tensor<'float32'>, low: number, high: number): Tensor<'float32'> {
  native.randomUniformInto(t.handle(op), low, high);
  return t;
}
function normalInto(op: string, t: Tensor<'float32'>, mean: number, std: number): Tensor<'float32'> {
  native.randomNormalInto(t.handle(op), mean, std);
  return t;
}

/** Writes `values` (made here, then disposed) into `t`'s memory, in queue order. */
function fillFrom(t: Tensor<'float32'>, make: (on: { device: Device }) => Tensor<'float32'>): Tensor<'float32'> {
  noGrad(() => {
    const values = make({ device: t.device });  // made where t is (copyInto takes one device)
    try {
      native.copyInto(t.handle('init'), values.handle('init'));
    } finally {
      values.dispose();
    }
  });
  return t;
}

/**
 * PyTorch's fan-in and fan-out of a weight tensor (at least 2-D).
 * @example calculateFanInAndFanOut(conv.weight)   // { fanIn: C * kh * kw, fanOut: K * kh * kw }
 */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const x = checkTensor('calculateFanInAndFanOut', 'tensor', t);
  if (x.rank < 2) {
    fail('E_SHAPE', `calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got ${shapeStr(x.shape)}`);
  }
  const receptive = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: x.shape[1] * receptive, fanOut: x.shape[0] * receptive };
}

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear,
 * convolutions and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for
 * leaky_relu (slope default 0.01), 3/4 for selu.
 * @example calculateGain('leaky_relu', 0.2)
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  const op = 'calculateGain';
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv_transpose2d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param === undefined ? 0.01 : checkNumber(op, 'param', param);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      return fail('E_ARG', `${op}: unsupported nonlinearity ${describe(nonlinearity)}`);
  }
}

function fan(op: string, t: Tensor, mode: unknown): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') fail('E_ARG', `${op}: expected \`mode\` 'fanIn' or 'fanOut', got ${describe(mode)}`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const n = mode === 'fanIn' ? fanIn : fanOut;
  if (n === 0) fail('E_SHAPE', `${op}: cannot initialise a tensor with a zero-element fan (${shapeStr(t.shape)})`);
  return n;
}

function kaimingStd(op: string, t: Tensor, options: KaimingOptions): number {
  const o = checkOptions<KaimingOptions>(op, options, ['a', 'mode', 'nonlinearity']);
  const a = checkNumber(op, 'a', o.a ?? 0);
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', a);
  return gain / Math.sqrt(fan(op, t, o.mode ?? 'fanIn'));
}

/** Fills with U(a, b). @example uniform_(w, -0.1, 0.1) */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor<'float32'> {
  const t = target('uniform_', tensor);
  checkNumber('uniform_', 'a', a);
  checkNumber('uniform_', 'b', b);
  if (!(a <= b)) fail('E_ARG', `uniform_: expected a <= b, got a = ${a}, b = ${b}`);
  return uniformInto('uniform_', t, a, b);
}

/** Fills with N(mean, std^2). @example normal_(w, 0, 0.01) */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor<'float32'> {
  const t = target('normal_', tensor);
  checkNumber('normal_', 'mean', mean);
  checkNumber('normal_', 'std', std);
  if (std < 0) fail('E_ARG', `normal_: expected std >= 0, got ${std}`);
  return normalInto('normal_', t, mean, std);
}

/** The standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2, in float64 (erfc by Chebyshev fit, |error| < 1.2e-7). */
function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const z = Math.abs(x) / Math.SQRT2, t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * erfinv(x) for x in (-1, 1) (Giles, "Approximating the erfinv function", 2010: two
 * polynomials in w = -log((1 - x)(1 + x)), within a few float32 ulps; evaluated in float64).
 */
function erfinv(x: number): number {
  const w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    const v = w - 2.5;
    p = 2.81022636e-08;
    for (const c of [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * v;
  } else {
    const v = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * v;
  }
  return p * x;
}

/**
 * Fills with N(mean, std^2) truncated to [a, b] (PyTorch's `trunc_normal_`: a uniform draw
 * between Phi((a - mean) / std) and Phi((b - mean) / std) through the inverse normal CDF, then
 * clamped to [a, b]). a and b are values, not multiples of std: the defaults cut N(0, 1) at two
 * standard deviations, and with a small std (torchvision's 0.01) they cut nothing.
 * @example truncNormal_(w, 0, 0.02)   // ViT's initialisation
 */
export function truncNormal_(tensor_: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor<'float32'> {
  const op = 'truncNormal_';
  const t = target(op, tensor_);
  checkNumber(op, 'mean', mean);
  checkNumber(op, 'std', std);
  // The bounds may be infinite (a half-normal: a = 0, b = Infinity), not NaN.
  for (const [name, v] of [['a', a], ['b', b]] as const) if (typeof v !== 'number' || Number.isNaN(v)) fail('E_ARG', `${op}: expected \`${name}\` to be a number, got ${describe(v)}`);
  if (!(std >= 0)) fail('E_ARG', `${op}: expected std >= 0, got ${std}`);
  if (!(a < b)) fail('E_ARG', `${op}: expected a < b, got a = ${a}, b = ${b}`);
  if (std === 0 || t.size === 0) return constant_(t, Math.min(Math.max(mean, a), b));
  const lo = 2 * normalCdf((a - mean) / std) - 1, hi = 2 * normalCdf((b - mean) / std) - 1;
  if (!(hi > lo)) fail('E_ARG', `${op}: [a, b] = [${a}, ${b}] lies too far from mean ${mean} in units of std ${std} to draw from`);
  // The uniform draw goes into t itself (the seeded stream, no temporary); then it is read back
  // (which waits for the queue) and mapped through the inverse CDF here. On the tensors' queue
  // this would take a dozen full-size temporaries a weight, all alive at once while a model's
  // constructor queued them faster than they ran (Inception v3's 27M weights: gigabytes).
  uniformInto(op, t, lo, hi);
  const values = t.dataSync();
  // Kept inside (-1, 1): erfinv(+-1) is infinite (clamped to a or b anyway).
  const edge = 1 - 2 ** -24;
  for (let i = 0; i < values.length; i++) {
    const u = Math.min(Math.max(values[i], -edge), edge);
    values[i] = Math.min(Math.max(mean + std * Math.SQRT2 * erfinv(u), a), b);
  }
  return fillFrom(t, (on) => tensor(values, { shape: t.shape, device: on.device }) as Tensor<'float32'>);
}

/** Fills with `value`. @example constant_(bias, 0.1) */
export function constant_(tensor: Tensor, value: number): Tensor<'float32'> {
  const t = target('constant_', tensor);
  checkNumber('constant_', 'value', value);
  native.fillInto(t.handle('constant_'), value);
  return t;
}

/** Fills with zeros. @example zeros_(bias) */
export function zeros_(tensor: Tensor): Tensor<'float32'> {
  return constant_(tensor, 0);
}

/** Fills with ones. @example ones_(bn.weight) */
export function ones_(tensor: Tensor): Tensor<'float32'> {
  return constant_(tensor, 1);
}

/**
 * He et al. (2015), uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan).
 * PyTorch's default Conv/Linear weights are kaimingUniform_(w, { a: Math.sqrt(5) }).
 * @example kaimingUniform_(conv.weight, { nonlinearity: 'relu' })
 */
export function kaimingUniform_(tensor: Tensor, options: KaimingOptions = {}): Tensor<'float32'> {
  const t = target('kaimingUniform_', tensor);
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, options);
  return uniformInto('kaimingUniform_', t, -bound, bound);
}

/** He et al. (2015), normal: N(0, std^2) with std = gain / sqrt(fan). @example kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' }) */
export function kaimingNormal_(tensor: Tensor, options: KaimingOptions = {}): Tensor<'float32'> {
  const t = target('kaimingNormal_', tensor);
  const std = kaimingStd('kaimingNormal_', t, options);
  return normalInto('kaimingNormal_', t, 0, std);
}

function xavierStd(op: string, t: Tensor, gain: number): number {
  checkNumber(op, 'gain', gain);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (fanIn + fanOut === 0) fail('E_SHAPE', `${op}: cannot initialise a tensor with a zero-element fan (${shapeStr(t.shape)})`);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot & Bengio (2010), uniform: bound = gain * sqrt(6 / (fanIn + fanOut)). @example xavierUniform_(w) */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor<'float32'> {
  const t = target('xavierUniform_', tensor);
  const bound = Math.sqrt(3) * xavierStd('xavierUniform_', t, gain);
  return uniformInto('xavierUniform_', t, -bound, bound);
}

/** Glorot & Bengio (2010), normal: std = gain * sqrt(2 / (fanIn + fanOut)). @example xavierNormal_(w, calculateGain('tanh')) */
export function xavierNormal_(tensor: Tensor, gain = 1): Tensor<'float32'> {
  const t = target('xavierNormal_', tensor);
  const std = xavierStd('xavierNormal_', t, gain);
  return normalInto('xavierNormal_', t, 0, std);
}

/** LeCun (1998), uniform: bound = sqrt(3 / fanIn) (variance 1 / fanIn). @example lecunUniform_(w) */
export function lecunUniform_(tensor: Tensor): Tensor<'float32'> {
  const t = target('lecunUniform_', tensor);
  const bound = Math.sqrt(3 / fan('lecunUniform_', t, 'fanIn'));
  return uniformInto('lecunUniform_', t, -bound, bound);
}

/**
 * LeCun (1998), normal: std = sqrt(1 / fanIn). A plain normal, not the truncated one of
 * Keras' `lecun_normal`.
 * @example lecunNormal_(w)
 */
export function lecunNormal_(tensor: Tensor): Tensor<'float32'> {
  const t = target('lecunNormal_', tensor);
  const std = Math.sqrt(1 / fan('lecunNormal_', t, 'fanIn'));
  return normalInto('lecunNormal_', t, 0, std);
}

/**
 * One axis of a bilinear upsampling kernel of `size` taps (FCN's `upsample_filt`): with
 * factor = ceil(size / 2) and centre = factor - 1 (odd size) or factor - 0.5 (even),
 * tap x is 1 - |x - centre| / factor.
 * @example bilinearKernel(4)   // [0.25, 0.75, 0.75, 0.25]: 2x upsampling
 */
export function bilinearKernel(size: number): number[] {
  checkInt('bilinearKernel', 'size', size, 1, 1 << 16);
  const factor = Math.floor((size + 1) / 2);
  const centre = size % 2 === 1 ? factor - 1 : factor - 0.5;
  return Array.from({ length: size }, (_, x) => 1 - Math.abs(x - centre) / factor);
}

/**
 * Fills a transposed-convolution weight [inChannels, outChannels / groups, kh, kw] so that the
 * layer upsamples each channel on its own by bilinear interpolation (Long, Shelhamer and
 * Darrell's FCN initialises its "deconvolution" layers this way): w[i, i mod (outChannels /
 * groups)] is the outer product of `bilinearKernel(kh)` and `bilinearKernel(kw)`, every other
 * entry 0. That is the identity channel map for `ConvTranspose2d(C, C, …)` with any `groups`
 * (with groups = C, every entry is the kernel). With kernel 2f, stride f and padding f / 2
 * (f even), the layer computes `F.interpolate(x, { scaleFactor: f, mode: 'bilinear' })`
 * exactly, except in the f / 2 rows and columns at each border, where interpolation repeats
 * the edge and the transposed convolution fades to zero.
 * @example
 * const up = new nn.ConvTranspose2d(21, 21, 4, { stride: 2, padding: 1, bias: false });
 * nn.init.bilinear_(up.weight);   // 2x bilinear upsampling of each of 21 channels
 */
export function bilinear_(tensor_: Tensor): Tensor<'float32'> {
  const op = 'bilinear_';
  const t = target(op, tensor_);
  if (t.rank !== 4) fail('E_SHAPE', `${op}: expected a transposed-convolution weight [inChannels, outChannels / groups, kh, kw], got ${shapeStr(t.shape)}`);
  const [inC, outPerGroup, kh, kw] = t.shape;
  const rows = bilinearKernel(kh), cols = bilinearKernel(kw);
  const values = new Float32Array(t.size);
  for (let i = 0; i < inC; i++) {
    const base = (i * outPerGroup + (i % outPerGroup)) * kh * kw;
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) values[base + y * kw + x] = rows[y] * cols[x];
  }
  return fillFrom(t, () => tensor(values, { shape: t.shape }));
}

/**
 * Fills a 2-D tensor with the identity (ones on the diagonal, zeros elsewhere; rectangular
 * shapes too), as torch.nn.init.eye_: a Linear layer that passes its inputs through.
 * @example eye_(fc.weight)
 */
export function eye_(tensor_: Tensor): Tensor<'float32'> {
  const op = 'eye_';
  const t = target(op, tensor_);
  if (t.rank !== 2) fail('E_SHAPE', `${op}: expected a 2-D tensor, got ${shapeStr(t.shape)}`);
  const [rows, cols] = t.shape;
  const values = new Float32Array(t.size);
  for (let i = 0; i < Math.min(rows, cols); i++) values[i * cols + i] = 1;
  return fillFrom(t, (on) => tensor(values, { shape: t.shape, device: on.device }) as Tensor<'float32'>);
}

/**
 * Fills a 3-, 4- or 5-D convolution weight [out, in / groups, *kernel] with the Dirac delta, as
 * torch.nn.init.dirac_: the convolution then copies its first input channels to its output
 * channels (in each of `groups` groups), keeping the identity of as many channels as it can.
 * @example dirac_(conv.weight)   // a 3x3 conv with padding 1 that returns its input
 */
export function dirac_(tensor_: Tensor, groups = 1): Tensor<'float32'> {
  const op = 'dirac_';
  const t = target(op, tensor_);
  if (t.rank < 3 || t.rank > 5) fail('E_SHAPE', `${op}: expected a 3-, 4- or 5-D convolution weight, got ${shapeStr(t.shape)}`);
  checkInt(op, 'groups', groups, 1);
  if (t.shape[0] % groups !== 0) fail('E_SHAPE', `${op}: the first dimension (${t.shape[0]}) is not divisible by groups = ${groups}`);
  const outPerGroup = t.shape[0] / groups, minDim = Math.min(outPerGroup, t.shape[1]);
  const kernel = t.shape.slice(2), kernelSize = kernel.reduce((a, b) => a * b, 1);
  // The centre tap (index floor(k / 2) on each axis), as a flat offset in the kernel.
  let centre = 0;
  for (const k of kernel) centre = centre * k + Math.floor(k / 2);
  const values = new Float32Array(t.size);
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < minDim; d++) values[((g * outPerGroup + d) * t.shape[1] + d) * kernelSize + centre] = 1;
  }
  return fillFrom(t, (on) => tensor(values, { shape: t.shape, device: on.device }) as Tensor<'float32'>);
}

/**
 * Fills with a (semi-)orthogonal matrix, as torch.nn.init.orthogonal_ (Saxe et al. 2013): the
 * tensor is seen as [rows, cols] (rows = its first dimension); a standard normal draw of that
 * shape (transposed when wide) is orthonormalised, the Q of its QR decomposition with R's
 * diagonal made positive (the distribution PyTorch samples: Haar), then scaled by `gain`. So
 * W W^T = gain^2 I when rows <= cols, W^T W = gain^2 I when rows >= cols.
 *
 * The decomposition is Gram-Schmidt (modified, twice over) in float64 on the host: O(rows *
 * cols * min(rows, cols)), fine for layer weights; the draw is the library's seeded normal.
 * @example orthogonal_(rnn.weightHh, calculateGain('tanh'))
 */
export function orthogonal_(tensor_: Tensor, gain = 1): Tensor<'float32'> {
  const op = 'orthogonal_';
  const t = target(op, tensor_);
  checkNumber(op, 'gain', gain);
  if (t.rank < 2) fail('E_SHAPE', `${op}: only tensors with 2 or more dimensions are supported, got ${shapeStr(t.shape)}`);
  if (t.size === 0) return t;
  const rows = t.shape[0], cols = t.size / rows;
  const draw = noGrad(() => randn([rows, cols]));
  const a = draw.dataSync();
  draw.dispose();
  // Work on the tall matrix M [n, k] (A, or A^T when wide), column by column.
  const wide = rows < cols, n = Math.max(rows, cols), k = Math.min(rows, cols);
  const q: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = wide ? a[j * cols + i] : a[i * cols + j];
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let r = 0;
        for (let i = 0; i < n; i++) r += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= r * u[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    // A zero column (probability 0 for a normal draw) stays zero, as a rank-deficient QR would leave it.
    if (norm > 0) for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  const values = new Float32Array(t.size);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = gain * (wide ? q[r][c] : q[c][r]);
  }
  return fillFrom(t, (on) => tensor(values, { shape: t.shape, device: on.device }) as Tensor<'float32'>);
}

/**
 * Fills a 2-D tensor [rows, cols] as a sparse matrix, as torch.nn.init.sparse_ (Martens 2010):
 * N(0, std^2) values, then in each column ceil(sparsity * rows) entries chosen at random set
 * to 0. Seeded by `manualSeed` (not torch's draws).
 * @example sparse_(fc.weight, 0.9)
 */
export function sparse_(tensor_: Tensor, sparsity: number, std = 0.01): Tensor<'float32'> {
  const op = 'sparse_';
  const t = target(op, tensor_);
  if (t.rank !== 2) fail('E_SHAPE', `${op}: only tensors with 2 dimensions are supported, got ${shapeStr(t.shape)}`);
  checkNumber(op, 'sparsity', sparsity);
  if (!(sparsity >= 0 && sparsity <= 1)) fail('E_ARG', `${op}: expected \`sparsity\` in [0, 1], got ${sparsity}`);
  checkNumber(op, 'std', std);
  if (std < 0) fail('E_ARG', `${op}: expected std >= 0, got ${std}`);
  const [rows, cols] = t.shape;
  const numZeros = Math.ceil(sparsity * rows);
  if (t.size === 0) return t;
  normalInto(op, t, 0, std);
  const values = Float32Array.from(t.dataSync());
  // Per column, the rows of the numZeros smallest of a uniform draw: a uniform random subset.
  const draw = noGrad(() => rand([cols, rows]));
  const u = draw.dataSync();
  draw.dispose();
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let c = 0; c < cols; c++) {
    order.sort((x, y) => u[c * rows + x] - u[c * rows + y] || x - y);
    for (let i = 0; i < numZeros; i++) values[order[i] * cols + c] = 0;
  }
  return fillFrom(t, (on) => tensor(values, { shape: t.shape, device: on.device }) as Tensor<'float32'>);
}
