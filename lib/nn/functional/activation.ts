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
import { abs, add, clamp, erf, exp, ge, gt, le, log, lt, maximum, mul, neg, scale, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkFloat, checkNumber, checkOptions, describe } from '../../validate';

type F32 = Tensor<'float32'>;

function forward(kind: keyof typeof Activation, x: Tensor, param = 0): F32 {
  const t = checkFloat(kind, 'x', x);
  const y = new Tensor<'float32'>(native.activationForward(Activation[kind] as ActivationKind, t.handle(kind), param), t.shape, 'float32');
  return record(kind, y, [t], (dy, [sx, sy]) => [activationBackward(kind, dy, sx, sy, param)], [t, y]);
}

/** @internal dx from dy and the forward's x and y. */
export function activationBackward(kind: keyof typeof Activation, dy: Tensor, x: Tensor, y: Tensor, param = 0): F32 {
  const op = `${kind} backward`;
  const [tdy, tx, ty] = [checkFloat(op, 'dy', dy), checkFloat(op, 'x', x), checkFloat(op, 'y', y)];
  return new Tensor(native.activationBackward(Activation[kind] as ActivationKind, tdy.handle(op), tx.handle(op), ty.handle(op), param), tx.shape, 'float32');
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

// ---- activations composed from tensor ops (any device; gradients from the tape) --------------
// At the kinks the gradients are PyTorch's too: hardtanh, relu6 and hardsigmoid pass none at
// their ends (PyTorch's backward tests min < x < max), hardswish takes its middle branch at
// -3 and 3; `where` selects exactly.

/** SiLU (swish): x · sigmoid(x) (Elfwing et al. 2017; Ramachandran et al. 2017). @example F.silu(x) */
export function silu(x: Tensor): F32 {
  const t = checkFloat('silu', 'x', x);
  return tidy(() => mul(t, sigmoid(t)));
}

/**
 * Softplus: log(1 + exp(beta · x)) / beta, computed as (max(bx, 0) + log(1 + exp(−|bx|))) / beta,
 * which never overflows. PyTorch's `threshold` (default 20: above it the result is x) is
 * accepted; the stable form already equals x there to float32 precision.
 * @example F.softplus(x)   // a smooth ReLU
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): F32 {
  const t = checkFloat('softplus', 'x', x);
  checkNumber('softplus', 'beta', beta);
  checkNumber('softplus', 'threshold', threshold);
  if (beta === 0) fail('E_ARG', 'softplus: expected a non-zero `beta`, got 0');
  return tidy(() => {
    const bx = beta === 1 ? t : scale(t, beta);
    const y = add(maximum(bx, 0), log(scale(exp(neg(abs(bx))), 1, 1)));
    return beta === 1 ? y : scale(y, 1 / beta);
  });
}

/** Hardtanh: x clamped to [minVal, maxVal] (default [-1, 1]). @example F.hardtanh(x, -2, 2) */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): F32 {
  const t = checkFloat('hardtanh', 'x', x);
  checkNumber('hardtanh', 'minVal', minVal);
  checkNumber('hardtanh', 'maxVal', maxVal);
  if (minVal > maxVal) fail('E_ARG', `hardtanh: expected \`minVal\` <= \`maxVal\`, got ${minVal} > ${maxVal}`);
  // The forward is clamp's one native pass (it was five: two comparisons, a sum and two
  // selections, half of MobileNet v2's time at batch 1 in its ReLU6s); the gradient keeps
  // hardtanh's rule, 0 at the bounds themselves (clamp's passes there), dy through NaN.
  const y = noGrad(() => clamp(t, minVal, maxVal)) as F32;
  return record('hardtanh', y, [t], (dy, [sx]) => [where(add(le(sx, minVal), ge(sx, maxVal)), 0, dy)], [t]);
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
  return tidy(() => between(t, scale(t, 1 / 6, 0.5), -3, 3, 0, 1));
}

/**
 * Hard swish: x · hardsigmoid(x) (MobileNetV3), as PyTorch's branches: 0 below -3, x above 3,
 * x (x + 3) / 6 between (from -3 on: its gradient there is PyTorch's -1/2). @example F.hardswish(x)
 */
export function hardswish(x: Tensor): F32 {
  const t = checkFloat('hardswish', 'x', x);
  return tidy(() => where(lt(t, -3), 0, where(gt(t, 3), t, scale(mul(t, scale(t, 1, 3)), 1 / 6))));
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
  return tidy(() => {
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
  // PyTorch's kernel: x <= 0 takes the slope (its gradient at 0 is a, as leaky ReLU's).
  return tidy(() => where(gt(t, 0), t, mul(t, rand(t.shape, lower, upper, { device: t.device }))));
}

/** Mish: x · tanh(softplus(x)) (Misra 2019). @example F.mish(x) */
export function mish(x: Tensor): F32 {
  const t = checkFloat('mish', 'x', x);
  return tidy(() => mul(t, tanh(softplus(t))));
}
