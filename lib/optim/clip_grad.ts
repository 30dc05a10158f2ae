/** Gradient clipping: by the total norm of all gradients (clip_grad_norm_) or by value (clip_grad_value_). */
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { abs, add, clamp, div, max, maximum, minimum, mul, pow, sqrt, square, sum } from '../ops';
import type { Tensor } from '../tensor';
import { checkNumber, checkTensor, collectChecked, describe, isTensor } from '../validate';

/**
 * The tensors of `params` (one tensor or an iterable of them), each checked, and E_DISPOSED for a
 * disposed gradient (named here, not by the internal op that would meet it).
 */
function checkedParams(op: string, params: unknown): Tensor[] {
  if (params === null || typeof params !== 'object' || (!isTensor(params) && typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function')) {
    fail('E_ARG', `${op}: expected \`params\` to be a tensor or an array of tensors, got ${describe(params)}`);
  }
  const list = isTensor(params) ? [checkTensor(op, 'params', params)] : collectChecked(op, 'params', params as Iterable<unknown>, (p, i) => checkTensor(op, `params[${i}]`, p));
  list.forEach((t, i) => {
    if (t.grad !== null && t.grad.isDisposed) fail('E_DISPOSED', `${op}: the gradient of params[${i}] has been disposed`);
  });
  return list;
}

/**
 * Scales the gradients of `params` so that their total norm (the `normType`-norm of all the
 * gradients taken as one vector: 2 by default, `Infinity` for the largest magnitude) is at
 * most `maxNorm`, and returns that total norm from before clipping, as a one-element tensor
 * (as torch.nn.utils.clip_grad_norm_: read it with `.item()` or `await norm.data()`).
 *
 * Parameters whose `grad` is null are skipped. Like PyTorch, every gradient is multiplied by
 * min(1, maxNorm / (totalNorm + 1e-6)), on the queue, without waiting for the norm: each
 * `grad` is replaced by the scaled gradient (read `p.grad` again afterwards). The returned
 * tensor belongs to the caller. A NaN or infinite norm makes NaN gradients, as PyTorch does by
 * default (no `errorIfNonfinite` check: it would have to wait for the value).
 *
 * @example
 * loss.backward();
 * const norm = optim.clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 * console.log('gradient norm', norm.item());
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2): Tensor<'float32'> {
  const op = 'clipGradNorm';
  const list = checkedParams(op, params);
  const limit = checkNumber(op, 'maxNorm', maxNorm);
  if (limit < 0) fail('E_ARG', `${op}: expected \`maxNorm\` >= 0, got ${limit}`);
  const p = checkNumber(op, 'normType', normType, true);
  if (!(p > 0)) fail('E_ARG', `${op}: expected \`normType\` > 0 (or Infinity), got ${normType}`);
  const withGrad = list.filter((t) => t.grad !== null);
  if (withGrad.length === 0) return zeros([]);
  return noGrad(() => tidy(() => {
    // The sum of |g|^p over every gradient (or the largest |g|), then its p-th root.
    let total: Tensor<'float32'> | null = null;
    for (const t of withGrad) {
      const g = t.grad as Tensor<'float32'>;
      const part = p === Infinity ? max(abs(g)) : sum(p === 2 ? square(g) : p === 1 ? abs(g) : pow(abs(g), p));
      total = total === null ? part : p === Infinity ? maximum(total, part) : add(total, part);
    }
    const norm = p === Infinity || p === 1 ? total! : p === 2 ? sqrt(total!) : pow(total!, 1 / p);
    const coef = minimum(div(limit, add(norm, 1e-6)), 1);
    // The setter keeps the new gradient out of this tidy scope and disposes the old one.
    for (const t of withGrad) t.grad = mul(t.grad as Tensor<'float32'>, coef);
    return norm;
  }));
}

/**
 * Clamps every gradient of `params` into [-clipValue, clipValue], as
 * torch.nn.utils.clip_grad_value_; parameters whose `grad` is null are skipped. Each `grad` is
 * replaced by the clamped gradient, on the queue (read `p.grad` again afterwards).
 *
 * @example loss.backward(); optim.clipGradValue(model.parameters(), 0.5); opt.step();
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue';
  const list = checkedParams(op, params);
  const limit = checkNumber(op, 'clipValue', clipValue);
  if (limit < 0) fail('E_ARG', `${op}: expected \`clipValue\` >= 0, got ${limit}`);
  noGrad(() => {
    for (const t of list) if (t.grad !== null) t.grad = clamp(t.grad as Tensor<'float32'>, -limit, limit);
  });
}
