/**
 * Spectral normalisation (Miyato et al. 2018), as torch.nn.utils.spectral_norm (PyTorch 1.13):
 * parameter `name` becomes `name_orig` (the same Parameter object, still trained), with buffers
 * `name_u` and `name_v` (unit vectors of the weight viewed as a matrix [size(dim), rest]); a
 * forward pre-hook sets `name = name_orig / sigma`, sigma = u · (W v) the largest singular value
 * estimated by power iteration. In training mode each forward first runs `nPowerIterations`
 * steps of v = normalize(W^T u), u = normalize(W v), writing u and v in place (no gradient); in
 * evaluation mode u and v are used as they are. The gradient reaches `name_orig` through W and
 * sigma (u and v are constants), as in PyTorch. The state dict holds `name_orig`, `name_u` and
 * `name_v`, PyTorch's keys.
 */
import { noGrad } from '../autograd';
import { randn } from '../creation';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { div, matmul, mul, permute, reshape, sum } from '../ops';
import type { Tensor } from '../tensor';
import { checkInt, checkNumber, checkOptions, describe } from '../validate';
import { normalize } from './functional/distance';
import { ConvTranspose2d } from './layers';
import { Module, Parameter } from './module';

type F32 = Tensor<'float32'>;

interface Normed { orig: Parameter; u: F32; v: F32; dim: number; nPowerIterations: number; eps: number; hook: { remove(): void } }
const NORMED = new WeakMap<Module, Map<string, Normed>>();

export interface SpectralNormOptions {
  /** The parameter to normalise (default 'weight'). */
  name?: string;
  /** Power-iteration steps per training forward (default 1, at least 1). */
  nPowerIterations?: number;
  /** Added stability in the normalisations, max(||x||, eps) (default 1e-12). */
  eps?: number;
  /** The dimension of output units (default 0; 1 for ConvTranspose2d, as PyTorch). */
  dim?: number;
}

/** W viewed as a matrix [W.shape[dim], rest] (PyTorch's reshape_weight_to_matrix). */
function weightMatrix(w: F32, dim: number): F32 {
  let m = w;
  if (dim !== 0) m = permute(m, [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)]);
  const h = m.shape[0];
  return reshape(m, [h, w.size / h]);
}

/** The weight divided by sigma; first, in training, the power iteration on u and v (in place). */
function computeWeight(s: Normed, powerIteration: boolean): F32 {
  const wm = weightMatrix(s.orig, s.dim);
  const [h, w] = wm.shape;
  if (powerIteration) {
    noGrad(() => tidy(() => {
      let u: F32 = s.u, v: F32 = s.v;
      for (let i = 0; i < s.nPowerIterations; i++) {
        v = normalize(reshape(matmul(reshape(u, [1, h]), wm), [w]), { dim: 0, eps: s.eps });
        u = normalize(reshape(matmul(wm, reshape(v, [w, 1])), [h]), { dim: 0, eps: s.eps });
      }
      native.copyInto(s.v.handle('spectralNorm'), v.handle('spectralNorm'));
      native.copyInto(s.u.handle('spectralNorm'), u.handle('spectralNorm'));
    }));
  }
  // sigma = u · (W v): u and v are buffers (constants for autograd).
  const sigma = sum(mul(s.u, reshape(matmul(wm, reshape(s.v, [w, 1])), [h])));
  return div(s.orig, sigma);
}

/**
 * @internal The spectral normalisations of `m` (its own parameters), with their settings: what
 * `optim.AveragedModel` applies again to the copy it makes.
 */
export function spectralNormsOf(m: Module): [string, Required<Omit<SpectralNormOptions, 'name'>>][] {
  return [...(NORMED.get(m) ?? new Map<string, Normed>())].map(([name, s]) => [name, { dim: s.dim, nPowerIterations: s.nPowerIterations, eps: s.eps }]);
}

function checkModule(op: string, module: unknown, name: unknown): { m: Module; name: string } {
  if (!(module instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(module)}`);
  if (typeof name !== 'string' || name.length === 0) fail('E_ARG', `${op}: expected the name of a parameter (a string), got ${describe(name)}`);
  return { m: module as Module, name: name as string };
}

/**
 * Applies spectral normalisation to parameter `name` of `module` (default 'weight'), as
 * torch.nn.utils.spectral_norm: the weight is divided by its largest singular value, estimated
 * by `nPowerIterations` power-iteration steps at each training forward. u and v start as
 * random normal vectors (the library's seeded generator, `manualSeed`), normalised. Until the
 * first forward, `module[name]` is the weight as it was (as PyTorch). Returns the module.
 * @example const d = nn.utils.spectralNorm(new nn.Conv2d(64, 128, 4, 2, 1));   // a GAN discriminator's layer
 */
export function spectralNorm<M extends Module>(module: M, options: SpectralNormOptions = {}): M {
  const op = 'spectralNorm';
  const o = checkOptions<SpectralNormOptions>(op, options, ['name', 'nPowerIterations', 'eps', 'dim']);
  const { m, name } = checkModule(op, module, o.name ?? 'weight');
  if (NORMED.get(m)?.has(name)) fail('E_ARG', `${op}: cannot register two spectral_norm hooks on the same parameter \`${name}\` of this ${m.typeName}`);
  const own = new Map(m.namedParameters().filter(([k]) => !k.includes('.')));
  const p = own.get(name);
  if (!(p instanceof Parameter)) fail('E_ARG', `${op}: this ${m.typeName} has no parameter named ${describe(name)} (it has ${[...own.keys()].join(', ') || 'none'})`);
  const orig = p as Parameter;
  if (orig.rank === 0) fail('E_SHAPE', `${op}: \`${name}\` is a scalar; spectral normalisation needs at least one dimension`);
  const nPowerIterations = checkInt(op, 'nPowerIterations', o.nPowerIterations ?? 1);
  if (nPowerIterations <= 0) fail('E_ARG', `${op}: expected \`nPowerIterations\` to be positive, got ${nPowerIterations}`);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-12);
  if (!(eps >= 0)) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${eps}`);
  const defaultDim = m instanceof ConvTranspose2d ? 1 : 0;
  let dim = o.dim === undefined || o.dim === null ? defaultDim : checkInt(op, 'dim', o.dim, -orig.rank, orig.rank - 1);
  if (dim < 0) dim += orig.rank;
  for (const suffix of ['_orig', '_u', '_v']) {
    if (m.namedParameters().some(([k]) => k === name + suffix) || m.namedBuffers().some(([k]) => k === name + suffix)) {
      fail('E_ARG', `${op}: this ${m.typeName} already has \`${name + suffix}\``);
    }
  }
  const h = orig.shape[dim], w = orig.size / h;
  const [u, v] = noGrad(() => tidy(() => [
    normalize(randn([h], { device: orig.device }), { dim: 0, eps }),
    normalize(randn([w], { device: orig.device }), { dim: 0, eps }),
  ]));
  m._unregisterParameter(name);
  m.registerParameter(`${name}_orig`, orig);
  m.registerBuffer(`${name}_u`, u);
  m.registerBuffer(`${name}_v`, v);
  // Reachable as attributes too, as in PyTorch (`module.weight_orig`, `module.weight_u`, …).
  const attrs = m as unknown as Record<string, unknown>;
  attrs[`${name}_orig`] = orig;
  attrs[`${name}_u`] = u;
  attrs[`${name}_v`] = v;
  let state = NORMED.get(m);
  if (!state) NORMED.set(m, (state = new Map()));
  const s: Normed = { orig, u, v, dim, nPowerIterations, eps, hook: { remove() {} } };
  s.hook = m.registerForwardPreHook((mod) => {
    tidy(() => { mod._setDerived(name, computeWeight(s, mod.training)); });
  });
  state.set(name, s);
  m._setDerived(name, orig.detach());   // PyTorch's `setattr(module, name, weight.data)`
  return module;
}

/**
 * Removes the spectral normalisation of `name` (default 'weight'), as
 * torch.nn.utils.remove_spectral_norm: `name` is a Parameter again holding name_orig / sigma
 * (sigma from the current u and v, no power iteration); the buffers go and the hook is removed.
 * The Parameter is the same object as `name_orig` was (PyTorch makes a new one), so an
 * optimizer built over the module's parameters keeps working. Returns the module.
 * @example nn.utils.removeSpectralNorm(d)
 */
export function removeSpectralNorm<M extends Module>(module: M, name = 'weight'): M {
  const op = 'removeSpectralNorm';
  const { m, name: n } = checkModule(op, module, name);
  const s = NORMED.get(m)?.get(n);
  if (!s) fail('E_ARG', `${op}: spectral_norm of \`${n}\` not found in this ${m.typeName}`);
  const { orig, u, v, hook } = s!;
  noGrad(() => tidy(() => { native.copyInto(orig.handle(op), computeWeight(s!, false).handle(op)); }));
  hook.remove();
  NORMED.get(m)!.delete(n);
  m._setDerived(n, null);
  m._unregisterParameter(`${n}_orig`);
  m._unregisterBuffer(`${n}_u`);
  m._unregisterBuffer(`${n}_v`);
  u.dispose();
  v.dispose();
  const attrs = m as unknown as Record<string, unknown>;
  for (const suffix of ['_orig', '_u', '_v']) delete attrs[`${n}${suffix}`];
  m.registerParameter(n, orig);
  (m as unknown as Record<string, unknown>)[n] = orig;
  return module;
}
