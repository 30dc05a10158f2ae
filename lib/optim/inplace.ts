/**
 * Shared pieces of the optimizers written with tensor ops (Adamax, NAdam, RAdam, Adadelta,
 * Rprop, ASGD): an update computes the new values of the parameter and of its state with the
 * ordinary ops (inside `noGrad` and `tidy`), then writes them into the existing tensors in
 * place, in queue order, as the fused steps of ./functional do (a parameter keeps its identity;
 * reads queued before the write see the old values).
 */
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { describe } from '../validate';

/** `dst` takes `src`'s values, in place and in queue order (same shape, dtype and device). */
export function assign(op: string, dst: Tensor, src: Tensor): void {
  if (dst !== src) native.copyInto(dst.handle(op), src.handle(op));
}

/** Runs an update with gradients off, freeing its temporaries (the writes are queued before they go). */
export function inPlaceUpdate(fn: () => void): void {
  noGrad(() => tidy(() => { fn(); }));
}

/** Checks `[a, b]` of numbers in [lo, hi) each (betas), named `name[0]`, `name[1]` in messages. */
export function checkPair(op: string, name: string, value: unknown, check: (v: number, i: number) => boolean, range: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) fail('E_ARG', `${op}: expected \`${name}\` to be a pair [a, b], got ${describe(value)}`);
  (value as unknown[]).forEach((v, i) => {
    if (typeof v !== 'number' || !check(v, i)) fail('E_ARG', `${op}: expected \`${name}[${i}]\` ${range}, got ${describe(v)}`);
  });
  return value as [number, number];
}

/** PyTorch's betas check: each in [0, 1). */
export function checkBetas(op: string, value: unknown): [number, number] {
  return checkPair(op, 'betas', value, (b) => b >= 0 && b < 1, 'in [0, 1)');
}
