/**
 * Weight normalisation (Salimans and Kingma 2016), as torch.nn.utils.weight_norm: a parameter
 * `name` is reparametrised as a direction `name_v` (the same Parameter object as the weight
 * was) and a magnitude `name_g`, with `name = name_g * name_v / ||name_v||`, the norm taken
 * over every dimension but `dim`. Like `nn.utils.prune`, a forward pre-hook recomputes `name`
 * before every forward (recorded by autograd, so gradients reach g and v); the state dict holds
 * `weight_g` and `weight_v`, PyTorch's keys.
 */
import { noGrad } from '../autograd';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { abs, div, mul, sqrt, square, sum } from '../ops';
import type { Tensor } from '../tensor';
import { checkInt, describe } from '../validate';
import { Module, Parameter } from './module';

interface Normed { g: Parameter; v: Parameter; dim: number | null; hook: { remove(): void } }
const NORMED = new WeakMap<Module, Map<string, Normed>>();

/**
 * The 2-norm of `v` over every dimension but `dim`, keeping them as size 1 (PyTorch's
 * `norm_except_dim`); over everything (a scalar) for dim null.
 */
export function normExceptDim(v: Tensor, dim: number | null): Tensor<'float32'> {
  if (dim === null) return sqrt(sum(square(v)));
  const axes = v.shape.map((_, i) => i).filter((i) => i !== dim);
  if (axes.length === 0) return abs(v);
  return sqrt(sum(square(v), axes, true));
}

function recompute(m: Module, name: string): void {
  const { g, v, dim } = NORMED.get(m)!.get(name)!;
  // The intermediates are freed (autograd keeps what it saved); _setDerived keeps the weight.
  tidy(() => { m._setDerived(name, mul(v, div(g, normExceptDim(v, dim)))); });
}

function checkModule(op: string, module: unknown, name: unknown): { m: Module; name: string } {
  if (!(module instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(module)}`);
  if (typeof name !== 'string' || name.length === 0) fail('E_ARG', `${op}: expected the name of a parameter (a string), got ${describe(name)}`);
  return { m: module as Module, name: name as string };
}

/**
 * Applies weight normalisation to parameter `name` of `module` (default 'weight'), as
 * torch.nn.utils.weight_norm: `name_g` starts as the norm of the weight over every dimension
 * but `dim` (default 0: one magnitude per output unit; shape [out, 1, …]), `name_v` is the
 * weight. `dim: null` normalises over the whole tensor (one scalar g); as in PyTorch, -1 does
 * too (it is PyTorch's spelling of None), while other negative dims count from the end.
 * Returns the module.
 * @example const fc = nn.utils.weightNorm(new nn.Linear(20, 40));   // fc.weight_g [40, 1], fc.weight_v [40, 20]
 */
export function weightNorm<M extends Module>(module: M, name = 'weight', dim: number | null = 0): M {
  const op = 'weightNorm';
  const { m, name: n } = checkModule(op, module, name);
  if (NORMED.get(m)?.has(n)) fail('E_ARG', `${op}: \`${n}\` of this ${m.typeName} already has weight normalisation`);
  const own = new Map(m.namedParameters().filter(([k]) => !k.includes('.')));
  const p = own.get(n);
  if (!(p instanceof Parameter)) fail('E_ARG', `${op}: this ${m.typeName} has no parameter named ${describe(n)} (it has ${[...own.keys()].join(', ') || 'none'})`);
  const v = p as Parameter;
  let d: number | null = null;
  if (dim !== null && dim !== -1) {
    const checked = checkInt(op, 'dim', dim, -v.rank, v.rank - 1);
    d = checked < 0 ? checked + v.rank : checked;
  } else if (dim === -1) {
    checkInt(op, 'dim', dim);
  }
  for (const suffix of ['_g', '_v']) {
    if (m.namedParameters().some(([k]) => k === n + suffix) || m.namedBuffers().some(([k]) => k === n + suffix)) {
      fail('E_ARG', `${op}: this ${m.typeName} already has \`${n + suffix}\``);
    }
  }
  const data = noGrad(() => tidy(() => normExceptDim(v, d)));
  const g = new Parameter(data);
  data.dispose();
  m._unregisterParameter(n);
  m.registerParameter(`${n}_g`, g);
  m.registerParameter(`${n}_v`, v);
  const hook = m.registerForwardPreHook(() => recompute(m, n));
  let state = NORMED.get(m);
  if (!state) NORMED.set(m, (state = new Map()));
  state.set(n, { g, v, dim: d, hook });
  recompute(m, n);
  return module;
}

/**
 * Removes the weight normalisation of `name` (default 'weight'), as
 * torch.nn.utils.remove_weight_norm: `name` is a Parameter again (the same object that was
 * `name_v`, now holding g * v / ||v||); `name_g` is freed, the hook removed. Returns the module.
 * @example nn.utils.removeWeightNorm(fc)
 */
export function removeWeightNorm<M extends Module>(module: M, name = 'weight'): M {
  const op = 'removeWeightNorm';
  const { m, name: n } = checkModule(op, module, name);
  const state = NORMED.get(m)?.get(n);
  if (!state) fail('E_ARG', `${op}: weight_norm of \`${n}\` not found in this ${m.typeName}`);
  const { g, v, dim, hook } = state!;
  noGrad(() => tidy(() => { native.copyInto(v.handle(op), mul(v, div(g, normExceptDim(v, dim))).handle(op)); }));
  hook.remove();
  NORMED.get(m)!.delete(n);
  m._setDerived(n, null);
  m._unregisterParameter(`${n}_g`);
  m._unregisterParameter(`${n}_v`);
  g.dispose();
  m.registerParameter(n, v);
  (m as unknown as Record<string, unknown>)[n] = v;
  return module;
}
