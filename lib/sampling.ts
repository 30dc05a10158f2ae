/**
 * Sampling as PyTorch's torch.multinomial, torch.normal and torch.poisson, from the library's
 * seeded Philox generator (`manualSeed`): the same seed gives the same draws, in the same call
 * order, on every machine (the numbers are not PyTorch's: a different generator; the
 * distributions are). multinomial and poisson wait for their input (checking it at the call) and
 * draw on the CPU from uniform numbers of the generator (as `rand` would): multinomial in
 * native/cpu/multinomial.cc, poisson here in JavaScript; the result goes to the input's device.
 */
import { rand, randn, tensor } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import * as ops from './ops';
import { amin } from './pointwise';
import { native } from './native';
import { Tensor, type Device } from './tensor';
import { broadcastShapes, checkBool, checkFloat, checkInt, checkNumber, checkOptions, checkSameDevice, checkShape, describe, isTensor, shapeStr } from './validate';

type F32 = Tensor<'float32'>;

/** Uniform numbers in [0, 1) from the seeded generator, drawn in blocks as needed. */
class Uniforms {
  #buf: ArrayLike<number> = new Float32Array(0);
  #at = 0;
  constructor(private readonly block: number) {}
  next(): number {
    if (this.#at >= this.#buf.length) {
      const t = rand([Math.max(1, this.block)]);
      this.#buf = t.dataSync();
      t.dispose();
      this.#at = 0;
    }
    return this.#buf[this.#at++];
  }
}

export interface MultinomialOptions {
  /** Draw with replacement (default false: each category at most once per row, as PyTorch). */
  replacement?: boolean;
}

/**
 * `numSamples` category indices drawn from each row of `probs` (1-D [C] or 2-D [N, C] float32
 * of non-negative, finite weights, not necessarily summing to 1), as torch.multinomial: int32
 * [numSamples] or [N, numSamples] on probs' device. Without replacement (the default) each row
 * gives distinct categories, drawn in order (the exponential-race method PyTorch uses), and
 * needs at least `numSamples` nonzero weights (E_ARG otherwise); with replacement, independent
 * draws. A row of zeros, a negative, NaN or infinite weight is E_ARG at the call (it waits for
 * probs to be computed). Seeded.
 * @example multinomial(tensor([0.1, 0.6, 0.3]), 5, { replacement: true })
 */
export function multinomial(probs: Tensor, numSamples: number, options: MultinomialOptions = {}): Tensor<'int32'> {
  const op = 'multinomial';
  const p = checkFloat(op, 'probs', probs);
  if (p.rank < 1 || p.rank > 2) fail('E_SHAPE', `${op}: expected \`probs\` of 1 or 2 dimensions, got shape ${shapeStr(p.shape)}`);
  const o = checkOptions<MultinomialOptions>(op, options, ['replacement']);
  const replacement = o.replacement === undefined ? false : checkBool(op, 'replacement', o.replacement);
  const k = checkInt(op, 'numSamples', numSamples, 1, 2 ** 31 - 1);
  const rows = p.rank === 2 ? p.shape[0] : 1, cats = p.shape[p.rank - 1];
  if (cats === 0) fail('E_SHAPE', `${op}: \`probs\` has no categories (shape ${shapeStr(p.shape)})`);
  if (!replacement && k > cats) fail('E_ARG', `${op}: cannot draw ${k} samples without replacement from ${cats} categories`);
  if (rows * k > 2 ** 31 - 1) fail('E_ARG', `${op}: ${rows} x ${k} samples is too many`);
  // The weights' checks and the draws: native/cpu/multinomial.cc, rows in parallel, on the CPU
  // (GPU weights are copied over).
  const shape = p.rank === 2 ? [rows, k] : [k];
  return tidy(() => {
    const onCpu = (p.device === 'cpu' ? p.detach() : p.to('cpu')).reshape([rows, cats]);
    const draws = new Tensor(native.multinomial(onCpu.handle(op), k, replacement), [rows * k], 'int32').reshape(shape);
    return p.device === 'cpu' ? draws : draws.to(p.device);
  });
}

export interface NormalOptions {
  /** Where to draw with number mean and std: 'cpu' (default) or 'cuda'. */
  device?: Device | string;
}

/**
 * Normal samples, as torch.normal: `normal(mean, std)` with tensor and/or number mean and std
 * (float32; broadcasting; std >= 0, checked by reading its minimum back), or `normal(mean, std,
 * shape)` with two numbers. Seeded (the numbers `randn` draws). Differentiable by
 * reparametrisation, y = mean + std * eps: the gradient is 1 for mean and eps for std (PyTorch
 * 1.13's torch.normal gives zero gradients to both).
 * @example normal(zeros([3]), 2);  normal(0, 1, [2, 2]);  normal(mu, sigma)
 */
export function normal(mean: Tensor | number, std: Tensor | number, shape?: readonly number[], options: NormalOptions = {}): F32 {
  const op = 'normal';
  const o = checkOptions<NormalOptions>(op, options, ['device']);
  if (!isTensor(mean) && !isTensor(std)) {
    checkNumber(op, 'mean', mean);
    checkNumber(op, 'std', std);
    if (shape === undefined) fail('E_ARG', `${op}: with a number mean and std, pass the \`shape\` to draw`);
    const s = checkShape(op, 'shape', shape);
    if ((std as number) < 0) fail('E_ARG', `${op}: expected std >= 0, got ${std}`);
    return randn(s, mean as number, std as number, { device: o.device });
  }
  if (shape !== undefined) fail('E_ARG', `${op}: \`shape\` is taken only with a number mean and std (a tensor's shape decides it), got ${describe(shape)}`);
  if (o.device !== undefined) fail('E_ARG', `${op}: \`device\` is taken only with a number mean and std (the tensors' device decides it)`);
  const m = isTensor(mean) ? checkFloat(op, 'mean', mean) : checkNumber(op, 'mean', mean);
  const s = isTensor(std) ? checkFloat(op, 'std', std) : checkNumber(op, 'std', std);
  if (isTensor(m) && isTensor(s)) checkSameDevice(op, { mean: m, std: s });
  const out = broadcastShapes(op, isTensor(m) ? m.shape : [], isTensor(s) ? s.shape : []);
  const device = (isTensor(m) ? m : (s as Tensor)).device;
  if (isTensor(s)) {
    if (s.size > 0 && tidy(() => amin(s.detach()).item()) < 0) fail('E_ARG', `${op}: expected every std >= 0`);
  } else if (s < 0) fail('E_ARG', `${op}: expected std >= 0, got ${s}`);
  return tidy(() => {
    const eps = randn(out, { device });
    return ops.add(isTensor(s) ? ops.mul(s, eps) : ops.mul(eps, s), m);
  });
}

/** numpy's loggam: log Gamma(x) for x >= 1 (Stirling's series; small x shifted up). */
function logGamma(x: number): number {
  const a = [8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04, -5.952380952380952e-04,
    8.417508417508418e-04, -1.917526917526918e-03, 6.410256410256410e-03, -2.955065359477124e-02,
    1.796443723688307e-01, -1.39243221690590e+00];
  if (x === 1 || x === 2) return 0;
  let x0 = x, n = 0;
  if (x <= 7) {
    n = Math.floor(7 - x);
    x0 = x + n;
  }
  const x2 = 1 / (x0 * x0);
  let gl0 = a[9];
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + a[k];
  let gl = gl0 / x0 + 0.5 * Math.log(2 * Math.PI) + (x0 - 0.5) * Math.log(x0) - x0;
  if (x <= 7) {
    for (let k = 1; k <= n; k++) {
      gl -= Math.log(x0 - 1);
      x0 -= 1;
    }
  }
  return gl;
}

/** One Poisson draw of rate `lam` (>= 0, finite). */
function poissonDraw(lam: number, u: Uniforms): number {
  if (lam === 0) return 0;
  if (lam < 12) {
    // Inversion: the first k whose cumulative probability passes a uniform.
    const target = u.next();
    let k = 0, p = Math.exp(-lam), cdf = p;
    while (target >= cdf && k < 10000) {
      k++;
      p *= lam / k;
      cdf += p;
      if (p === 0 && k > lam) break;
    }
    return k;
  }
  // Hörmann's transformed rejection (PTRS), as numpy's random_poisson_ptrs.
  const slam = Math.sqrt(lam), loglam = Math.log(lam);
  const b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = u.next() - 0.5, V = u.next();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor((2 * a / us + b) * U + lam + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - logGamma(k + 1)) return k;
  }
}

/**
 * Poisson counts with the given rates (float32, finite, >= 0: E_ARG otherwise), as
 * torch.poisson: float32 counts of rates' shape, on its device. Seeded; reads the rates back.
 * Not differentiable (PyTorch's gradient is zero): the result does not require grad.
 * @example poisson(full([1000], 3.5)).mean()   // about 3.5
 */
export function poisson(rates: Tensor): F32 {
  const op = 'poisson';
  const r = checkFloat(op, 'rates', rates);
  const v = r.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= 0) || v[i] === Infinity) fail('E_ARG', `${op}: expected finite, non-negative rates, got ${v[i]} at position ${i}`);
  }
  const out = new Float32Array(v.length);
  const u = new Uniforms(Math.max(1024, 2 * v.length));
  for (let i = 0; i < v.length; i++) out[i] = poissonDraw(v[i], u);
  return tensor(out, { shape: [...r.shape], device: r.device });
}
