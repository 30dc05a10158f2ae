/**
 * Pointwise activations (survey section 3.3): ReLU, Leaky ReLU, ELU, sigmoid, tanh. Each has
 * a forward op (public, in `F`) and a backward function (internal: the autograd tape calls it)
 * that takes what PyTorch's backward keeps, the input `x` and/or the output `y`.
 */
import { record } from '../../autograd';
import { Activation, native, type ActivationKind } from '../../native';
import { Tensor } from '../../tensor';
import { checkFloat, checkNumber } from '../../validate';

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
