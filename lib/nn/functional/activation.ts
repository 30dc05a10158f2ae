/**
 * Pointwise activations (survey section 3.3): ReLU, Leaky ReLU, ELU, sigmoid, tanh. Each has
 * a forward op (public, in `F`) and a backward function (internal: the autograd tape calls it)
 * that takes what PyTorch's backward keeps, the input `x` and/or the output `y`.
 */
import { noGrad, record } from '../../autograd';
import { Activation, native, type ActivationKind } from '../../native';
import { rand } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { abs, add, clamp, div, erf, exp, expm1, ge, gt, le, log, log1p, lt, maximum, minimum, mul, narrow, neg, scale, sign, sub, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkAxis, checkFloat, checkFloat32Value, checkInt, checkNumber, checkOptions, describe, shapeStr } from '../../validate';
import { softmax, softmaxBackward } from './layers';

type F32 = Tensor<'float32'>;

function forward(kind: keyof typeof Activation, x: Tensor, param = 0): F32 {
  const t = checkFloat(kind, 'x', x);
  const y = new Tensor<'float32'>(native.activationForward(Activation[kind] as ActivationKind, t.handle(kind), param, 0), t.shape, 'float32');
  return record(kind, y, [t], (dy, [sx, sy]) => [activationBackward(kind, dy, sx, sy, param)], [t, y], { param });
}

/** The native kinds that run on the CPU alone: from gelu on (lib/native.ts's Activation). */
type CpuOnlyKind = Exclude<keyof typeof Activation, 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh'>;

/**
 * The CPU-only native activations (gelu, hardswish, silu, softplus, the shrinks, ...: one pass each
 * way, PyTorch's formulas; native/cpu/gelu.cc, hardswish.cc, silu.cc, ...): the tape keeps x
 * alone. Other devices compose them from tensor ops (`composed`), with the same values and
 * gradients but more passes over memory.
 */
function cpuForward(kind: CpuOnlyKind, t: F32, composed: () => F32, param = 0, param2 = 0): F32 {
  if (t.device !== 'cpu') return tidy(composed);
  const name = kind === 'geluTanh' ? 'gelu' : kind;
  const y = new Tensor<'float32'>(native.activationForward(Activation[kind] as ActivationKind, t.handle(name), param, param2), t.shape, 'float32');
  // Log-sigmoid's backward reads y (native/cpu/softplus.cc); the others x, passed in y's place too.
  const saved = kind === 'logSigmoid' ? y : t;
  return record(name, y, [t], (dy, [s]) => [activationBackward(kind, dy, s, s, param, param2)], [saved], { kind, param, param2 });
}

/** @internal dx from dy and the forward's x and y. */
export function activationBackward(kind: keyof typeof Activation, dy: Tensor, x: Tensor, y: Tensor, param = 0, param2 = 0): F32 {
  const op = `${kind} backward`;
  const [tdy, tx, ty] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x), checkFloat(op, 'y', y)];
  return new Tensor(native.activationBackward(Activation[kind] as ActivationKind, tdy.handle(op), tx.handle(op), ty.handle(op), param, param2), tx.shape, 'float32');
}

/** ReLU: max(x, 0). Its gradient at exactly 0 is 0, as PyTorch's. @example F.relu(x) */
export function relu(x: Tensor): F32 {
  return forward('relu', x);
}

/**
 * Leaky ReLU: max(x, 0) + negativeSlope * min(x, 0) (Maas et al. 2013).
 * @example F.leakyRelu(x, 0.1)
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): F32 {
  checkNumber('leakyRelu', 'negativeSlope', negativeSlope);
  return forward('leakyRelu', x, negativeSlope);
}

/** ELU: x for x > 0, alpha * (exp(x) - 1) otherwise (Clevert et al. 2015). @example F.elu(x) */
export function elu(x: Tensor, alpha = 1): F32 {
  checkNumber('elu', 'alpha', alpha);
  return forward('elu', x, alpha);
}

/** The logistic sigmoid 1 / (1 + exp(-x)). @example F.sigmoid(x) */
export function sigmoid(x: Tensor): F32 {
  return forward('sigmoid', x);
}

/** Hyperbolic tangent. @example F.tanh(x) */
export function tanh(x: Tensor): F32 {
  return forward('tanh', x);
}

// ---- activations native on the CPU (cpuForward), composed from tensor ops elsewhere -------------
// At the kinks the gradients are PyTorch's too: hardtanh, relu6 and hardsigmoid pass none at
// their ends (PyTorch's backward tests min < x < max), hardswish takes its middle branch at
// -3 and 3; `where` selects exactly.

/** SiLU (swish): x · sigmoid(x) (Elfwing et al. 2017; Ramachandran et al. 2017). @example F.silu(x) */
export function silu(x: Tensor): F32 {
  const t = checkFloat('silu', 'x', x);
  return cpuForward('silu', t, () => mul(t, sigmoid(t)));
}

/**
 * Softplus: log(1 + exp(beta · x)) / beta, computed as (max(bx, 0) + log(1 + exp(−|bx|))) / beta,
 * which never overflows; x itself where beta · x > `threshold` (default 20), as PyTorch (there the
 * gradient is 1).
 * @example F.softplus(x)   // a smooth ReLU
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): F32 {
  const t = checkFloat('softplus', 'x', x);
  checkNumber('softplus', 'beta', beta);
  checkNumber('softplus', 'threshold', threshold);
  if (beta === 0) fail('E_ARG', 'softplus: expected a non-zero `beta`, got 0');
  return cpuForward('softplus', t, () => {
    const bx = beta === 1 ? t : scale(t, beta);
    const y = add(maximum(bx, 0), log(scale(exp(neg(abs(bx))), 1, 1)));
    // (the threshold matters: with 5 and beta 2 the smooth form is x + 2.3e-5 past it)
    return where(gt(bx, threshold), t, beta === 1 ? y : scale(y, 1 / beta));
  }, beta, threshold);
}

/** Hardtanh: x clamped to [minVal, maxVal] (default [-1, 1]). @example F.hardtanh(x, -2, 2) */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): F32 {
  const t = checkFloat('hardtanh', 'x', x);
  checkNumber('hardtanh', 'minVal', minVal);
  checkNumber('hardtanh', 'maxVal', maxVal);
  if (minVal > maxVal) fail('E_ARG', `hardtanh: expected \`minVal\` <= \`maxVal\`, got ${minVal} > ${maxVal}`);
  // The forward is clamp's one native pass (it was five: two comparisons, a sum and two
  // selections, half of MobileNet v2's time at batch 1 in its ReLU6s); the gradient keeps
  // hardtanh's rule, 0 at the bounds themselves (clamp's passes there), dy through NaN: one
  // native pass on the CPU, three ops elsewhere.
  return cpuForward('hardtanh', t, () => {
    const y = noGrad(() => clamp(t, minVal, maxVal)) as F32;
    return record('hardtanh', y, [t], (dy, [sx]) => [where(add(le(sx, minVal), ge(sx, maxVal)), 0, dy)], [t], { param: minVal, param2: maxVal });
  }, minVal, maxVal);
}

/**
 * x <= lo ? below : x >= hi ? above : inside: the clamps' shape, with no gradient at lo and hi
 * themselves (as PyTorch's hardtanh and hardsigmoid backward); NaN takes `inside` (NaN).
 */
function between(x: F32, inside: F32, lo: number, hi: number, below: number, above: number): F32 {
  const atOrBelow = le(x, lo);
  return where(add(atOrBelow, ge(x, hi)), where(atOrBelow, below, above), inside);
}

/** ReLU6: min(max(x, 0), 6) (MobileNet). @example F.relu6(x) */
export function relu6(x: Tensor): F32 {
  checkFloat('relu6', 'x', x);
  return hardtanh(x, 0, 6);
}

/** Hard sigmoid: min(max(x / 6 + 1/2, 0), 1), PyTorch's (MobileNetV3). @example F.hardsigmoid(x) */
export function hardsigmoid(x: Tensor): F32 {
  const t = checkFloat('hardsigmoid', 'x', x);
  return cpuForward('hardsigmoid', t, () => between(t, scale(t, 1 / 6, 0.5), -3, 3, 0, 1));
}

/**
 * Hard swish: x · hardsigmoid(x) (MobileNetV3), as PyTorch's branches: 0 below -3, x above 3,
 * x (x + 3) / 6 between (from -3 on: its gradient there is PyTorch's -1/2). @example F.hardswish(x)
 */
export function hardswish(x: Tensor): F32 {
  const t = checkFloat('hardswish', 'x', x);
  // Off the CPU: x · clamp(x + 3, 0, 6) / 6 (NaN at -inf, as PyTorch's and the CPU kernel's), with
  // PyTorch's gradient recorded: 0 below -3, (2x + 3) / 6 up to 3, 1 above (the tape's would be
  // NaN at -inf).
  return cpuForward('hardswish', t, () => record('hardswish', noGrad(() => scale(mul(t, clamp(scale(t, 1, 3), 0, 6)), 1 / 6)), [t],
    (dy, [sx]) => [mul(dy, where(lt(sx, -3), 0, where(le(sx, 3), scale(sx, 1 / 3, 0.5), 1)))], [t]));
}

/**
 * GELU (Hendrycks & Gimpel 2016): x · Φ(x) = x/2 · (1 + erf(x/√2)), as torch.nn.functional.gelu;
 * `approximate: 'tanh'` uses x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))).
 * @example F.gelu(x); F.gelu(x, { approximate: 'tanh' })
 */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): F32 {
  const t = checkFloat('gelu', 'x', x);
  const o = checkOptions<{ approximate?: 'none' | 'tanh' }>('gelu', options, ['approximate']);
  const approximate = o.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') fail('E_ARG', `gelu: expected \`approximate\` 'none' or 'tanh', got ${describe(approximate)}`);
  return cpuForward(approximate === 'none' ? 'gelu' : 'geluTanh', t, () => {
    const phi2 = approximate === 'none'
      ? scale(erf(scale(t, Math.SQRT1_2)), 1, 1)
      : scale(tanh(scale(add(t, scale(mul(t, mul(t, t)), 0.044715)), Math.sqrt(2 / Math.PI))), 1, 1);
    return scale(mul(t, phi2), 0.5);
  });
}

/**
 * Randomized leaky ReLU (Xu et al. 2015, "Empirical evaluation of rectified activations in
 * convolutional network"; the survey's RReLU), as PyTorch's `F.rrelu`: x where x > 0, else
 * a · x. In training a is drawn for every element, uniform on [lower, upper] (seeded by
 * `manualSeed`, on x's device), and the gradient there is that a; otherwise (the default, as
 * PyTorch's functional form) a = (lower + upper) / 2, a leaky ReLU.
 * @example F.rrelu(x, 1 / 8, 1 / 3, model.training)
 */
export function rrelu(x: Tensor, lower = 1 / 8, upper = 1 / 3, training = false): F32 {
  const op = 'rrelu';
  const t = checkFloat(op, 'x', x);
  checkNumber(op, 'lower', lower);
  checkNumber(op, 'upper', upper);
  if (!(lower <= upper)) fail('E_ARG', `${op}: expected \`lower\` <= \`upper\`, got ${lower} > ${upper}`);
  if (typeof training !== 'boolean') fail('E_ARG', `${op}: expected \`training\` to be a boolean, got ${describe(training)}`);
  if (!training) return leakyRelu(t, (lower + upper) / 2);
  // As PyTorch's rrelu_with_noise: the factor of each element (its drawn slope where x <= 0, 1
  // elsewhere; the gradient at 0 is the slope, as leaky ReLU's) is kept, and the backward is one
  // product. Through where and mul on the tape the backward took four passes (0.23x PyTorch's).
  const noise = tidy(() => where(gt(t, 0), 1, rand(t.shape, lower, upper, { device: t.device }))) as F32;
  const y = noGrad(() => mul(t, noise)) as F32;
  const recorded = record(op, y, [t], (dy, [n]) => [mul(dy, n)], [noise]);
  noise.dispose();   // the tape holds its own handle
  return recorded;
}

/** Mish: x · tanh(softplus(x)) (Misra 2019). @example F.mish(x) */
export function mish(x: Tensor): F32 {
  const t = checkFloat('mish', 'x', x);
  return cpuForward('mish', t, () => mul(t, tanh(softplus(t))));
}

// ---- more of torch.nn's activations, native on the CPU, composed from tensor ops elsewhere ----
// Each is PyTorch's formula, with PyTorch's gradients at the kinks (checked against PyTorch
// 1.13 in test/nn-more.test.ts): SELU and CELU take their exponential branch at 0, the shrinks
// and `threshold` pass no gradient at their bounds.

/** SELU's constants (Klambauer et al. 2017), as PyTorch's. */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * SELU: scale · (x for x > 0, alpha · (exp(x) − 1) otherwise), with PyTorch's fixed alpha ≈ 1.6733
 * and scale ≈ 1.0507 (self-normalising networks; pair with `nn.init` 'selu' gain). @example F.selu(x)
 */
export function selu(x: Tensor): F32 {
  const t = checkFloat('selu', 'x', x);
  return cpuForward('selu', t, () => scale(elu(t, SELU_ALPHA), SELU_SCALE));
}

/**
 * CELU (Barron 2017): x for x > 0, alpha · (exp(x / alpha) − 1) otherwise, as PyTorch (its
 * gradient at 0 is 1). alpha = 0 is E_ARG, as PyTorch's ZeroDivisionError.
 * @example F.celu(x, 0.5)
 */
export function celu(x: Tensor, alpha = 1): F32 {
  const op = 'celu';
  const t = checkFloat(op, 'x', x);
  checkNumber(op, 'alpha', alpha);
  if (alpha === 0) fail('E_ARG', `${op}: alpha cannot be 0 (CELU divides by it)`);
  if (alpha === 1) return elu(t);
  // alpha > 0: ELU of x / alpha, scaled back (on the CPU one native pass each way).
  if (alpha > 0) return cpuForward(op, t, () => scale(elu(scale(t, 1 / alpha)), alpha), alpha);
  return tidy(() => {
    // alpha < 0 flips the sign of x / alpha: PyTorch still branches on x. The exponential is fed
    // x only where it is taken, so the other branch cannot overflow into a NaN gradient.
    const positive = gt(t, 0);
    const negativePart = where(positive, 0, t);
    return where(positive, t, scale(expm1(scale(negativePart, 1 / alpha)), alpha));
  });
}

/** Softsign: x / (1 + |x|). @example F.softsign(x) */
export function softsign(x: Tensor): F32 {
  const t = checkFloat('softsign', 'x', x);
  return cpuForward('softsign', t, () => div(t, scale(abs(t), 1, 1)));
}

/**
 * log(sigmoid(x)), computed stably as min(x, 0) − log1p(exp(−|x|)) (= −softplus(−x)): no
 * overflow for any x, and full precision for large positive x. @example F.logSigmoid(x)
 */
export function logSigmoid(x: Tensor): F32 {
  const t = checkFloat('logSigmoid', 'x', x);
  return cpuForward('logSigmoid', t, () => sub(minimum(t, 0), log1p(exp(neg(abs(t))))));
}

/** Tanhshrink: x − tanh(x). @example F.tanhshrink(x) */
export function tanhshrink(x: Tensor): F32 {
  const t = checkFloat('tanhshrink', 'x', x);
  return cpuForward('tanhshrink', t, () => sub(t, tanh(t)));
}

function lambdArg(op: string, lambd: unknown, nonNegative: boolean): number {
  const l = checkNumber(op, 'lambd', lambd);
  if (nonNegative && l < 0) fail('E_ARG', `${op}: expected \`lambd\` >= 0, got ${l}`);
  return l;
}

/**
 * Soft shrinkage: x − lambd for x > lambd, x + lambd for x < −lambd, 0 between (default lambd
 * 0.5; a negative lambd is E_ARG, as PyTorch). NaN stays NaN (PyTorch >= 2.1; 1.13 gave 0).
 * @example F.softshrink(x, 0.5)
 */
export function softshrink(x: Tensor, lambd = 0.5): F32 {
  const op = 'softshrink';
  const t = checkFloat(op, 'x', x);
  const l = lambdArg(op, lambd, true);
  return cpuForward('softshrink', t, () => where(le(abs(t), l), 0, sub(t, scale(sign(t), l))), l);
}

/** Hard shrinkage: x where |x| > lambd, else 0 (default lambd 0.5). @example F.hardshrink(x, 0.5) */
export function hardshrink(x: Tensor, lambd = 0.5): F32 {
  const op = 'hardshrink';
  const t = checkFloat(op, 'x', x);
  const l = lambdArg(op, lambd, false);
  return cpuForward('hardshrink', t, () => where(le(abs(t), l), 0, t), l);
}

/**
 * Threshold: x where x > threshold, else `value`, as torch.nn.functional.threshold (no gradient
 * where x <= threshold; NaN stays NaN). @example F.threshold(x, 0.1, 20)
 */
export function threshold(x: Tensor, threshold: number, value: number): F32 {
  const op = 'threshold';
  const t = checkFloat(op, 'x', x);
  checkNumber(op, 'threshold', threshold, true);
  checkFloat32Value(op, 'value', value);
  if (Number.isNaN(threshold)) fail('E_ARG', `${op}: expected \`threshold\` to be a number, got NaN`);
  return cpuForward('threshold', t, () => where(le(t, threshold), value, t), threshold, value);
}

/**
 * Gated linear unit (Dauphin et al. 2017): x split in halves a, b along `dim` (default −1), a ·
 * sigmoid(b). The size along `dim` must be even (E_SHAPE otherwise, as PyTorch).
 * @example F.glu(x, 1)   // [N, 2C, L] -> [N, C, L]
 */
export function glu(x: Tensor, dim = -1): F32 {
  const op = 'glu';
  const t = checkFloat(op, 'x', x);
  if (t.rank === 0) fail('E_SHAPE', `${op}: expected a tensor of rank 1 or more (halving needs an axis), got a scalar`);
  const d = checkAxis(op, 'dim', dim, t.rank);
  const n = t.shape[d];
  if (n % 2 !== 0) fail('E_SHAPE', `${op}: the halved dimension ${d} must have an even size, got ${n} (x ${shapeStr(t.shape)})`);
  if (t.device === 'cpu') {
    // One native pass each way (native/cpu/glu.cc).
    const shape = t.shape.map((s, i) => (i === d ? n / 2 : s));
    const y = noGrad(() => new Tensor<'float32'>(native.gluForward(t.handle(op), d), shape, 'float32')) as F32;
    return record(op, y, [t], (dy, [sx]) => [gluBackward(dy, sx, d)], [t]);
  }
  return tidy(() => mul(narrow(t, d, 0, n / 2), sigmoid(narrow(t, d, n / 2, n / 2))));
}

/** @internal glu's dx from dy and x (CPU only: native/cpu/glu.cc). */
export function gluBackward(dy: Tensor, x: Tensor, dim: number): F32 {
  const op = 'glu backward';
  const [tdy, tx] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x)];
  return new Tensor<'float32'>(native.gluBackward(tdy.handle(op), tx.handle(op), dim), tx.shape, 'float32');
}

/**
 * Softmin along `dim`: softmax(−x, dim). `dim` is required (PyTorch's implicit choice is
 * deprecated). @example F.softmin(distances, 1)
 */
export function softmin(x: Tensor, dim: number): F32 {
  const op = 'softmin';
  const t = checkFloat(op, 'x', x);
  checkInt(op, 'dim', dim);
  const axis = checkAxis(op, 'dim', dim, Math.max(t.rank, 1));
  if (t.device === 'cpu') {
    // The softmax kernel negating its rows as it reads them (native/cpu/softmax.cc): no pass for -x either way.
    const y = noGrad(() => new Tensor<'float32'>(native.softmaxForward(t.handle(op), axis, false, true), t.shape, 'float32')) as F32;
    return record(op, y, [t], (dy, [sy]) => [softmaxBackward('softmin', dy, sy, axis)], [y]);
  }
  return tidy(() => softmax(neg(t), dim));
}
