/**
 * A differential check against PyTorch: random calls of the public API, each beside the same
 * call in PyTorch-CPU on the same bits, comparing the values, the gradients (of
 * sum(out * fixed weights) with respect to every float input) and whether the call is refused.
 * The tests compare each op with a float64 reference on chosen cases; this looks for the cases
 * nobody chose: empty and size-1 axes, broadcasting, negative axes, ties (which decide the
 * gradients of max, median, clamp and friends), NaN, infinities and -0.
 *
 *   npx tsc -p . && node dist/scripts/diff-torch.js --cases 3000           # needs python3 with torch
 *   node dist/scripts/diff-torch.js --only amax,median --cases 500 --verbose
 *   node dist/scripts/diff-torch.js --case 1234 --verbose                  # one case again
 *   node dist/scripts/diff-torch.js --max-dim 40 --cases 2000              # larger axes: vector and threaded paths
 *   node dist/scripts/diff-torch.js --device cuda --cases 3000              # our GPU kernels (PyTorch stays on the CPU)
 *   options: --seed N (1) --max-dim N (5) --device cpu|cuda (cpu) --list
 *
 * Each finding prints the case number, the call and the first difference. Differences in the
 * conventions of a gradient at a kink (relu at 0, ties of max) are findings too: a PyTorch user
 * gets PyTorch's. A refusal by one side only is reported as "refused"; PyTorch 1.13 is the
 * reference, so a newer PyTorch's behaviour may differ. Not part of `npm test` (CI has no torch).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { Rng } from './fuzz-api';
import { torchPython } from '../bench/harness';

type T = cc.Tensor;
type F32 = cc.Tensor<'float32'>;

// ---------------------------------------------------------------------------------------------
// Inputs

type Mode = 'normal' | 'ties' | 'special' | 'nan' | 'positive' | 'unit' | 'large';

interface Input {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
  /** Whether the gradient with respect to it is compared. */
  grad: boolean;
}

/** What an op's generator draws with. */
export class Gen {
  readonly inputs: Input[] = [];
  /** The largest size of an axis (--max-dim; 5 by default, larger to reach the kernels' vector and threaded paths). */
  static maxDim = 5;
  /** Where our side runs (--device): 'cuda' checks the GPU kernels against PyTorch on the CPU. */
  static device: 'cpu' | 'cuda' = 'cpu';
  constructor(readonly rng: Rng, readonly mode: Mode) {}

  dimSize(): number {
    const r = this.rng.next();
    return r < 0.05 ? 0 : r < 0.25 ? 1 : 2 + this.rng.int(Gen.maxDim - 1);
  }
  shape(minRank = 0, maxRank = 4, nonEmpty = false): number[] {
    const rank = minRank + this.rng.int(maxRank - minRank + 1);
    return Array.from({ length: rank }, () => (nonEmpty ? Math.max(1, this.dimSize()) : this.dimSize()));
  }
  /** A shape that broadcasts with `s`. */
  partner(s: readonly number[]): number[] {
    const out = s.map((d) => (this.rng.chance(0.2) ? 1 : d === 1 && this.rng.chance(0.3) ? 1 + this.rng.int(4) : d));
    while (out.length && this.rng.chance(0.2)) out.shift();
    if (out.length < 4 && this.rng.chance(0.15)) out.unshift(1 + this.rng.int(3));
    return out;
  }
  /** A shape that broadcasts to `s` (never beyond it). */
  inside(s: readonly number[]): number[] {
    const out = s.map((d) => (this.rng.chance(0.3) ? 1 : d));
    while (out.length && this.rng.chance(0.2)) out.shift();
    return out;
  }
  value(mode: Mode = this.mode): number {
    const r = this.rng;
    const normal = () => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
    switch (mode) {
      case 'ties': return r.pick([-2, -1, -0.5, 0, 0.5, 1, 2]);
      case 'special': return r.chance(0.2) ? r.pick([NaN, Infinity, -Infinity, -0, 0]) : normal() * 2;
      case 'nan': return r.chance(0.25) ? NaN : normal();
      case 'positive': return Math.abs(normal()) + 0.05;
      case 'unit': return r.next() * 1.9 - 0.95;
      case 'large': return normal() * 30;
      default: return normal() * r.pick([1, 1, 3, 0.3]);
    }
  }
  /** A float32 input (index of x0, x1, … in `inputs`), differentiable unless `grad` is false. */
  float(shape: readonly number[], options: { mode?: Mode; grad?: boolean } = {}): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => this.value(options.mode));
    return this.push({ shape: [...shape], dtype: 'float32', data, grad: options.grad ?? true });
  }
  /** An int32 input with values in [lo, hi). */
  int(shape: readonly number[], lo: number, hi: number): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Int32Array.from({ length: n }, () => lo + this.rng.int(Math.max(1, hi - lo)));
    return this.push({ shape: [...shape], dtype: 'int32', data, grad: false });
  }
  private push(input: Input): number {
    this.inputs.push(input);
    return this.inputs.length - 1;
  }
  /** An axis of a rank-r tensor, negative half the time (0-D tensors take 0 or -1). */
  axis(rank: number): number {
    const n = Math.max(1, rank);
    const a = this.rng.int(n);
    return this.rng.chance(0.5) ? a - n : a;
  }
  /** A list of distinct axes of a rank-r tensor (possibly empty). */
  axes(rank: number): number[] {
    const all = Array.from({ length: rank }, (_, i) => i).filter(() => this.rng.chance(0.5));
    return all.map((a) => (this.rng.chance(0.3) ? a - rank : a));
  }
}

/** What a generator returns: our call on the built inputs, and PyTorch's as a Python expression over x0, x1, … and p. */
interface Call {
  ours: (x: T[]) => T | T[];
  torch: string;
  params?: Record<string, unknown>;
  /** Compare the gradients (default true). */
  grad?: boolean;
  /** The absolute tolerance of the values (default 2e-5): normalizations of near-equal values amplify PyTorch's rounding. */
  atol?: number;
  /** As Op's tieGrads, for this call alone. */
  tieGrads?: boolean;
  /** Where PyTorch refuses and we compute (a documented extension), not a finding. */
  permissive?: boolean;
  /** Outputs (by position) compared as values only where PyTorch leaves the choice open (indices of ties). */
  loose?: number[];
}

interface Op {
  name: string;
  /** Ties leave PyTorch's choice of the entry that gets the gradient open (no gradients compared in 'ties' cases). */
  tieGrads?: boolean;
  /** The value mode the op mostly sees (else normal). */
  mode?: Mode;
  /**
   * Why its NaN and infinity handling knowingly differs from PyTorch 1.13's (no 'special' cases
   * then): sign and softshrink keep a NaN where PyTorch gives 0 (NumPy keeps it; PyTorch issue
   * #41245); mode counts each NaN alone where PyTorch's sort leaves NaNs in no defined order;
   * BCE of logits gives the loss's limit at x = -inf where PyTorch's formula gives NaN; cdist's
   * inf norm keeps a NaN that PyTorch's max drops; quantile between two equal infinities is
   * that infinity (PyTorch's lerp: NaN); the normalizations' exact 0 for a lone value times an
   * infinite weight is NaN where PyTorch's rounding leaves +-inf, and PyTorch folds the affine
   * into x * a + b (inf - inf); a convolution's padding zeros meet an infinite weight; lerp
   * picks its formula by |w| < 0.5 as later PyTorch does (1.13: w < 0.5); bilinear interpolation
   * (and roiAlign's) reads a neighbour with weight 0 (a NaN or inf there spreads) where PyTorch's
   * does not.
   */
  nanDiffers?: string;
  /** Our documented refusals of what PyTorch accepts (not findings). */
  refuses?: RegExp;
  /** Poles at 0 and the negative integers, where the two sides' infinities and NaNs differ (no 'ties' cases then). */
  poles?: boolean;
  make: (g: Gen) => Call;
}

const py = (v: unknown): string => {
  if (typeof v === 'number') return Number.isNaN(v) ? "float('nan')" : v === Infinity ? "float('inf')" : v === -Infinity ? "float('-inf')" : Object.is(v, -0) ? '-0.0' : String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return `(${v.map(py).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (typeof v === 'string') return JSON.stringify(v);
  throw new Error(`py: ${String(v)}`);
};

// ---------------------------------------------------------------------------------------------
// The ops

const unaryNames: [string, string, Mode?][] = [
  ['abs', 'torch.abs'], ['neg', 'torch.neg'], ['exp', 'torch.exp'], ['log', 'torch.log', 'positive'], ['sqrt', 'torch.sqrt', 'positive'],
  ['square', 'torch.square'], ['reciprocal', 'torch.reciprocal'], ['sign', 'torch.sign'], ['floor', 'torch.floor'], ['ceil', 'torch.ceil'],
  ['erf', 'torch.erf'], ['sin', 'torch.sin'], ['cos', 'torch.cos'], ['tan', 'torch.tan', 'unit'], ['atan', 'torch.atan'],
  ['log1p', 'torch.log1p', 'positive'], ['expm1', 'torch.expm1'], ['log2', 'torch.log2', 'positive'], ['log10', 'torch.log10', 'positive'],
  ['rsqrt', 'torch.rsqrt', 'positive'], ['round', 'torch.round', 'ties'], ['trunc', 'torch.trunc'], ['asin', 'torch.asin', 'unit'],
  ['acos', 'torch.acos', 'unit'], ['sinh', 'torch.sinh'], ['cosh', 'torch.cosh'], ['asinh', 'torch.asinh'], ['atanh', 'torch.atanh', 'unit'],
  ['erfc', 'torch.erfc'], ['erfinv', 'torch.erfinv', 'unit'], ['exp2', 'torch.exp2'], ['lgamma', 'torch.lgamma', 'positive'],
  ['digamma', 'torch.digamma', 'positive'], ['frac', 'torch.frac'], ['sinc', 'torch.sinc'], ['deg2rad', 'torch.deg2rad'],
  ['rad2deg', 'torch.rad2deg'], ['signbit', 'torch.signbit'], ['isnan', 'torch.isnan'], ['isinf', 'torch.isinf'], ['isfinite', 'torch.isfinite'],
  ['isposinf', 'torch.isposinf'], ['isneginf', 'torch.isneginf'], ['logicalNot', 'torch.logical_not'], ['logit', 'torch.logit', 'unit'],
];
const fn = (name: string) => (cc as unknown as Record<string, (...a: unknown[]) => T>)[name];
const Fn = (name: string) => (cc.F as unknown as Record<string, (...a: unknown[]) => T>)[name];

const unaryOps: Op[] = unaryNames.map(([name, torch, mode]) => ({
  name, mode, nanDiffers: name === 'sign' ? 'NumPy' : undefined, poles: ['digamma', 'lgamma'].includes(name),
  // Gradients not compared: sinc's, whose formula cancels near 0 in PyTorch (test/torch-parity.test.ts
  // checks ours against float64); digamma's and lgamma's beside the negative poles, where PyTorch's
  // reflection through sin(pi x) in float32 is 20% off (trigamma(-4.9999986): 5.9e11 against 4.9e11).
  make: (g) => {
    g.float(g.shape());
    const grad = name !== 'sinc' && !(['digamma', 'lgamma'].includes(name) && g.mode !== 'positive');
    return { ours: ([x]) => fn(name)(x), torch: `${torch}(x0)`, grad };
  },
}));

const activationOps: Op[] = [
  ['relu', 'F.relu(x0)', []], ['relu6', 'F.relu6(x0)', []], ['sigmoid', 'torch.sigmoid(x0)', []], ['tanh', 'torch.tanh(x0)', []],
  ['silu', 'F.silu(x0)', []], ['selu', 'F.selu(x0)', []], ['mish', 'F.mish(x0)', []], ['softsign', 'F.softsign(x0)', []],
  ['logSigmoid', 'F.logsigmoid(x0)', []], ['tanhshrink', 'F.tanhshrink(x0)', []], ['hardsigmoid', 'F.hardsigmoid(x0)', []],
  ['hardswish', 'F.hardswish(x0)', []], ['leakyRelu', 'F.leaky_relu(x0, p["a"])', ['a']], ['elu', 'F.elu(x0, p["a"])', ['a']],
  ['celu', 'F.celu(x0, p["a"])', ['a']], ['softshrink', 'F.softshrink(x0, p["a"])', ['a']], ['hardshrink', 'F.hardshrink(x0, p["a"])', ['a']],
].map(([name, torch, ps]) => ({
  name: `F.${name}`, nanDiffers: name === 'softshrink' ? 'NumPy' : undefined,
  make: (g: Gen): Call => {
    g.float(g.shape());
    const a = g.rng.pick([0.5, 1, 0.01, 2]);
    return { ours: ([x]) => ((ps as string[]).length ? Fn(name as string)(x, a) : Fn(name as string)(x)), torch: torch as string, params: { a } };
  },
}));
activationOps.push(
  { name: 'F.softplus', make: (g) => { g.float(g.shape(), { mode: g.rng.pick(['normal', 'large'] as Mode[]) }); const beta = g.rng.pick([1, 2, 0.5]), th = g.rng.pick([20, 1, 5]); return { ours: ([x]) => cc.F.softplus(x, beta, th), torch: `F.softplus(x0, ${beta}, ${th})` }; } },
  { name: 'F.hardtanh', make: (g) => { g.float(g.shape()); const lo = g.rng.pick([-1, 0, -2]), hi = g.rng.pick([1, 2, 0.5]); return { ours: ([x]) => cc.F.hardtanh(x, lo, hi), torch: `F.hardtanh(x0, ${lo}, ${hi})` }; } },
  { name: 'F.threshold', make: (g) => { g.float(g.shape()); const th = g.rng.pick([0, 0.5, -1]), v = g.rng.pick([0, -3, 2]); return { ours: ([x]) => cc.F.threshold(x, th, v), torch: `F.threshold(x0, ${th}, ${v})` }; } },
  { name: 'F.gelu', make: (g) => { g.float(g.shape()); const a = g.rng.pick(['none', 'tanh'] as const); return { ours: ([x]) => cc.F.gelu(x, { approximate: a }), torch: `F.gelu(x0, approximate=${py(a)})` }; } },
  { name: 'F.prelu', make: (g) => {
    const s = g.shape(1, 4, true); g.float(s); const c = g.rng.chance(0.5) ? 1 : s.length >= 2 ? s[1] : 1; g.float([c]);
    return { ours: ([x, w]) => cc.F.prelu(x, w), torch: 'F.prelu(x0, x1)' };
  } },
  { name: 'F.glu', make: (g) => {
    const s = g.shape(1, 4, true); const a = g.axis(s.length); s[a < 0 ? a + s.length : a] *= 2; g.float(s);
    return { ours: ([x]) => cc.F.glu(x, a), torch: `F.glu(x0, ${a})` };
  } },
);

const binaryNames: [string, string, Mode?, boolean?][] = [
  ['add', 'torch.add'], ['sub', 'torch.sub'], ['mul', 'torch.mul'], ['div', 'torch.div'], ['pow', 'torch.pow', 'positive'],
  ['maximum', 'torch.maximum', 'ties'], ['minimum', 'torch.minimum', 'ties'], ['remainder', 'torch.remainder'], ['fmod', 'torch.fmod'],
  ['atan2', 'torch.atan2'], ['eq', 'torch.eq', 'ties'], ['ne', 'torch.ne', 'ties'], ['lt', 'torch.lt', 'ties'], ['le', 'torch.le', 'ties'],
  ['gt', 'torch.gt', 'ties'], ['ge', 'torch.ge', 'ties'], ['logaddexp', 'torch.logaddexp'], ['logaddexp2', 'torch.logaddexp2'],
  ['xlogy', 'torch.xlogy', 'positive'], ['hypot', 'torch.hypot'], ['copysign', 'torch.copysign'], ['heaviside', 'torch.heaviside', 'ties'],
  ['logicalAnd', 'torch.logical_and', 'ties'], ['logicalOr', 'torch.logical_or', 'ties'], ['logicalXor', 'torch.logical_xor', 'ties'],
];
const binaryOps: Op[] = binaryNames.map(([name, torch, mode]) => ({
  name, mode,
  make: (g) => {
    const s = g.shape(); g.float(s);
    const scalar = g.rng.chance(0.15) && !['heaviside', 'logicalAnd', 'logicalOr', 'logicalXor', 'copysign'].includes(name) ? g.value() : null;
    if (scalar !== null) return { ours: ([a]) => fn(name)(a, scalar), torch: `${torch}(x0, torch.tensor(${py(scalar)}))`, grad: name !== 'heaviside' };
    g.float(g.partner(s));
    return { ours: ([a, b]) => fn(name)(a, b), torch: `${torch}(x0, x1)`, grad: name !== 'heaviside' };
  },
}));

/** Reductions over a set of axes (or all), with keepdim. */
const reduceOps: Op[] = ([
  ['sum', 'torch.sum(x0, dim=p["d"], keepdim=p["k"])' , (x: T, d: number[] | undefined, k: boolean) => cc.sum(x, d, k)],
  ['mean', 'torch.mean(x0, dim=p["d"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.mean(x, d, k)],
  ['amax', 'torch.amax(x0, dim=p["d"] or (), keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.amax(x, d, k)],
  ['amin', 'torch.amin(x0, dim=p["d"] or (), keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.amin(x, d, k)],
  ['nansum', 'torch.nansum(x0, dim=p["d"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.nansum(x, d, k)],
  ['nanmean', 'torch.nanmean(x0, dim=p["d"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.nanmean(x, d, k)],
  ['logsumexp', 'torch.logsumexp(x0, dim=p["d"] or tuple(range(x0.dim())), keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean) => cc.logsumexp(x, d ?? [], k)],
  ['variance', 'torch.var(x0, dim=p["d"], correction=p["c"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean, c: number) => cc.variance(x, d, { correction: c, keepdim: k })],
  ['std', 'torch.std(x0, dim=p["d"], correction=p["c"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean, c: number) => cc.std(x, d, { correction: c, keepdim: k })],
  ['norm', 'torch.linalg.vector_norm(x0, ord=p["o"], dim=p["d"], keepdim=p["k"])', (x: T, d: number[] | undefined, k: boolean, _c: number, o: number) => cc.norm(x, { p: o, dim: d, keepdim: k })],
  ['countNonzero', 'torch.count_nonzero(x0, dim=p["d"])', (x: T, d: number[] | undefined) => cc.countNonzero(x, d)],
] as [string, string, (x: T, d: number[] | undefined, k: boolean, c: number, o: number) => T][]).map(([name, torch, ours]) => ({
  name, mode: name === 'amax' || name === 'amin' ? 'ties' : undefined,
  make: (g: Gen): Call => {
    const s = g.shape(); g.float(s);
    const all = g.rng.chance(0.3);
    const d = all ? undefined : s.length === 0 ? [g.axis(0)] : g.rng.chance(0.5) ? [g.axis(s.length)] : g.axes(s.length);
    const k = name === 'countNonzero' ? false : g.rng.chance(0.5);
    const c = g.rng.pick([0, 1, 2]);
    const o = g.rng.pick([2, 1, Infinity, -Infinity, 0, 3, 0.5]);
    // PyTorch 1.13's var/std backward over all axes (dim None or []) with a correction is wrong.
    const grad = !((name === 'variance' || name === 'std') && (d === undefined || d.length === 0 || s.length === 0));
    return { ours: ([x]) => ours(x, d, k, c, o), torch, params: { d: d === undefined ? null : d, k, c, o }, grad };
  },
}));

/** Reductions along one axis that return (values, indices), or values alone with `values`. */
const alongOps: Op[] = [
  { name: 'max dim', mode: 'ties', make: (g) => axisCase(g, (x, a, k) => [cc.max(x, a, k)], 'torch.amax(x0, p["a"], keepdim=p["k"])') },
  { name: 'min dim', mode: 'ties', make: (g) => axisCase(g, (x, a, k) => [cc.min(x, a, k)], 'torch.amin(x0, p["a"], keepdim=p["k"])') },
  { name: 'max all', mode: 'ties', make: (g) => { g.float(g.shape()); return { ours: ([x]) => cc.max(x), torch: 'torch.max(x0)' }; } },
  { name: 'argmax', mode: 'ties', make: (g) => axisCase(g, (x, a, k) => [cc.argmax(x, a, k)], 'torch.argmax(x0, p["a"], keepdim=p["k"])') },
  { name: 'argmin', mode: 'ties', make: (g) => axisCase(g, (x, a, k) => [cc.argmin(x, a, k)], 'torch.argmin(x0, p["a"], keepdim=p["k"])') },
  { name: 'argmax all', mode: 'ties', make: (g) => { g.float(g.shape()); return { ours: ([x]) => cc.argmax(x), torch: 'torch.argmax(x0)' }; } },
  { name: 'prod', make: (g) => axisCase(g, (x, a, k) => [cc.prod(x, a, k)], 'torch.prod(x0, p["a"], keepdim=p["k"])') },
  { name: 'median dim', mode: 'ties', make: (g) => axisCase(g, (x, a, k) => { const r = cc.median(x, a, k); return [r.values, r.indices]; }, 'torch.median(x0, p["a"], keepdim=p["k"])', [1]) },
  { name: 'median all', mode: 'ties', make: (g) => { g.float(g.shape()); return { ours: ([x]) => cc.median(x), torch: 'torch.median(x0)' }; } },
  { name: 'nanmedian', mode: 'nan', make: (g) => { g.float(g.shape()); return { ours: ([x]) => cc.nanmedian(x), torch: 'torch.nanmedian(x0)' }; } },
  { name: 'kthvalue', mode: 'ties', make: (g) => {
    const s = g.shape(0, 4, true); g.float(s); const a = g.axis(s.length); const n = s.length ? s[a < 0 ? a + s.length : a] : 1; const k = 1 + g.rng.int(n); const keep = g.rng.chance(0.5);
    return { ours: ([x]) => { const r = cc.kthvalue(x, k, a, keep); return [r.values, r.indices]; }, torch: `torch.kthvalue(x0, ${k}, ${a}, keepdim=${py(keep)})`, loose: [1] };
  } },
  { name: 'mode', mode: 'ties', nanDiffers: 'sort', make: (g) => axisCase(g, (x, a, k) => { const r = cc.mode(x, a, k); return [r.values, r.indices]; }, 'torch.mode(x0, p["a"], keepdim=p["k"])', [1]) },
  { name: 'quantile', nanDiffers: 'see Op', tieGrads: true, make: (g) => {
    const s = g.shape(0, 3, true); g.float(s); const q = g.rng.pick([0, 0.5, 0.25, 1, 0.9]); const interp = g.rng.pick(['linear', 'lower', 'higher', 'nearest', 'midpoint'] as const);
    const a = g.rng.chance(0.5) ? undefined : g.axis(s.length); const keep = g.rng.chance(0.5);
    return { ours: ([x]) => cc.quantile(x, q, { dim: a, keepdim: keep, interpolation: interp }), torch: `torch.quantile(x0, ${q}, dim=${py(a)}, keepdim=${py(keep)}, interpolation=${py(interp)})` };
  } },
  { name: 'cumsum', make: (g) => axisCase(g, (x, a) => [cc.cumsum(x, a)], 'torch.cumsum(x0, p["a"])') },
  { name: 'cumprod', make: (g) => axisCase(g, (x, a) => [cc.cumprod(x, a)], 'torch.cumprod(x0, p["a"])') },
  { name: 'cummax', mode: 'ties', make: (g) => axisCase(g, (x, a) => { const r = cc.cummax(x, a); return [r.values, r.indices]; }, 'torch.cummax(x0, p["a"])') },
  { name: 'cummin', mode: 'ties', make: (g) => axisCase(g, (x, a) => { const r = cc.cummin(x, a); return [r.values, r.indices]; }, 'torch.cummin(x0, p["a"])') },
  { name: 'logcumsumexp', make: (g) => axisCase(g, (x, a) => [cc.logcumsumexp(x, a)], 'torch.logcumsumexp(x0, p["a"])') },
  { name: 'softmax', make: (g) => axisCase(g, (x, a) => [cc.softmax(x, a)], 'torch.softmax(x0, p["a"])') },
  { name: 'logSoftmax', make: (g) => axisCase(g, (x, a) => [cc.logSoftmax(x, a)], 'torch.log_softmax(x0, p["a"])') },
  { name: 'F.softmin', make: (g) => axisCase(g, (x, a) => [cc.F.softmin(x, a)], 'F.softmin(x0, p["a"])') },
  { name: 'sort', mode: 'ties', make: (g) => { const d = g.rng.chance(0.5); return axisCase(g, (x, a) => { const r = cc.sort(x, { dim: a, descending: d, stable: true }); return [r.values, r.indices]; }, `torch.sort(x0, dim=p["a"], descending=${py(d)}, stable=True)`); } },
  { name: 'topk', mode: 'ties', make: (g) => {
    const s = g.shape(0, 4); g.float(s); const a = g.axis(s.length); const n = s.length ? s[a < 0 ? a + s.length : a] : 1; const k = g.rng.int(n + 1); const largest = g.rng.chance(0.5);
    return { ours: ([x]) => { const r = cc.topk(x, k, { dim: a, largest }); return [r.values, r.indices]; }, torch: `torch.topk(x0, ${k}, dim=${a}, largest=${py(largest)})`, loose: [1] };
  } },
  { name: 'diff', make: (g) => { const n = 1 + g.rng.int(2); return axisCase(g, (x, a) => [cc.diff(x, { n, dim: a })], `torch.diff(x0, n=${n}, dim=p["a"])`, [], 1); } },
  { name: 'flip', make: (g) => { const s = g.shape(); g.float(s); const d = g.axes(s.length); return { ours: ([x]) => cc.flip(x, d), torch: `torch.flip(x0, ${py(d)})` }; } },
  { name: 'roll', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length); const k = g.rng.int(11) - 5; return { ours: ([x]) => cc.roll(x, k, a), torch: `torch.roll(x0, ${k}, ${a})` }; } },
  { name: 'clamp', mode: 'ties', make: (g) => {
    const s = g.shape(); g.float(s); const lo = g.rng.chance(0.2) ? null : g.rng.pick([-1, 0, 0.5]); const hi = g.rng.chance(0.2) && lo !== null ? null : g.rng.pick([1, 0.5, 2, -1]);
    return { ours: ([x]) => cc.clamp(x, lo, hi), torch: `torch.clamp(x0, ${py(lo)}, ${py(hi)})` };
  } },
  { name: 'clamp tensors', mode: 'ties', make: (g) => {
    const s = g.shape(); g.float(s); g.float(g.inside(s)); g.float(g.inside(s));
    return { ours: ([x, lo, hi]) => cc.clamp(x, lo, hi), torch: 'torch.clamp(x0, x1, x2)' };
  } },
  { name: 'where', mode: 'ties', make: (g) => {
    const s = g.shape(); g.float(s, { grad: false }); g.float(g.partner(s)); g.float(g.partner(s));
    return { ours: ([c, a, b]) => cc.where(c, a, b), torch: 'torch.where(x0 != 0, x1, x2)' };
  } },
  { name: 'lerp', nanDiffers: 'see Op', make: (g) => { const s = g.shape(); g.float(s); g.float(g.partner(s)); const w = g.rng.chance(0.5) ? g.value() : null; if (w === null) g.float(g.partner(s)); return { ours: (x) => cc.lerp(x[0], x[1], w ?? x[2]), torch: w === null ? 'torch.lerp(x0, x1, x2)' : `torch.lerp(x0, x1, ${py(w)})` }; } },
  { name: 'addcmul', make: (g) => { const s = g.shape(); g.float(s); g.float(g.partner(s)); g.float(g.partner(s)); const v = g.rng.pick([1, 0.5, -2]); return { ours: ([a, b, c]) => cc.addcmul(a, b, c, { value: v }), torch: `torch.addcmul(x0, x1, x2, value=${v})` }; } },
  { name: 'addcdiv', make: (g) => { const s = g.shape(); g.float(s); g.float(g.partner(s)); g.float(g.partner(s), { mode: 'positive' }); const v = g.rng.pick([1, 0.5, -2]); return { ours: ([a, b, c]) => cc.addcdiv(a, b, c, { value: v }), torch: `torch.addcdiv(x0, x1, x2, value=${v})` }; } },
  { name: 'nanToNum', mode: 'special', make: (g) => { g.float(g.shape()); return { ours: ([x]) => cc.nanToNum(x, { nan: 1, posinf: 2 }), torch: 'torch.nan_to_num(x0, nan=1.0, posinf=2.0)' }; } },
  { name: 'tril', make: (g) => { g.float(g.shape(2, 4)); const k = g.rng.int(5) - 2; return { ours: ([x]) => cc.tril(x, k), torch: `torch.tril(x0, ${k})` }; } },
  { name: 'triu', make: (g) => { g.float(g.shape(2, 4)); const k = g.rng.int(5) - 2; return { ours: ([x]) => cc.triu(x, k), torch: `torch.triu(x0, ${k})` }; } },
  { name: 'repeat', make: (g) => { const s = g.shape(0, 3); g.float(s); const r = Array.from({ length: s.length + g.rng.int(2) }, () => g.rng.int(3)); return { ours: ([x]) => cc.repeat(x, r), torch: `x0.repeat(${py(r)})` }; } },
  { name: 'tile', make: (g) => { const s = g.shape(0, 3); g.float(s); const r = Array.from({ length: 1 + g.rng.int(3) }, () => g.rng.int(3)); return { ours: ([x]) => cc.tile(x, r), torch: `torch.tile(x0, ${py(r)})` }; } },
  { name: 'matmul', make: (g) => {
    const m = 1 + g.rng.int(4), k = g.rng.int(5), n = 1 + g.rng.int(4);
    const batch = g.rng.chance(0.5) ? [] : [1 + g.rng.int(3)];
    const a = g.rng.chance(0.2) ? [k] : [...batch, m, k]; const b = g.rng.chance(0.2) ? [k] : [...(g.rng.chance(0.5) ? batch : []), k, n];
    g.float(a); g.float(b);
    return { ours: ([x, y]) => cc.matmul(x, y), torch: 'torch.matmul(x0, x1)' };
  } },
  { name: 'cross', make: (g) => { const s = g.shape(1, 3, true); const a = g.axis(s.length); s[a < 0 ? a + s.length : a] = 3; g.float(s); g.float(s); return { ours: ([x, y]) => cc.cross(x, y, a), torch: `torch.cross(x0, x1, dim=${a})` }; } },
  { name: 'cat', make: (g) => {
    const s = g.shape(1); const a = g.axis(s.length); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) { const t = [...s]; t[a < 0 ? a + s.length : a] = g.rng.int(3); g.float(t); }
    return { ours: (x) => cc.cat(x as F32[], a), torch: `torch.cat([${Array.from({ length: n }, (_, i) => `x${i}`).join(', ')}], ${a})` };
  } },
  { name: 'stack', make: (g) => { const s = g.shape(0, 3); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float(s); const a = g.axis(s.length + 1); return { ours: (x) => cc.stack(x as F32[], a), torch: `torch.stack([${Array.from({ length: n }, (_, i) => `x${i}`).join(', ')}], ${a})` }; } },
  { name: 'gather', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a; const is = s.map((d, i) => (i === ax ? g.rng.int(4) : 1 + g.rng.int(d))); g.int(is, 0, s[ax]);
    return { ours: ([x, i]) => cc.gather(x, a, i as cc.Tensor<'int32'>), torch: `torch.gather(x0, ${a}, x1)` };
  } },
  { name: 'indexSelect', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a; g.int([g.rng.int(5)], 0, s[ax]);
    return { ours: ([x, i]) => cc.indexSelect(x, a, i as cc.Tensor<'int32'>), torch: `torch.index_select(x0, ${a}, x1)` };
  } },
];

function axisCase(g: Gen, ours: (x: T, a: number, k: boolean) => T[], torch: string, loose: number[] = [], minRank = 0): Call {
  const s = g.shape(minRank); g.float(s);
  const a = g.axis(s.length); const k = g.rng.chance(0.5);
  return { ours: ([x]) => ours(x, a, k), torch, params: { a, k }, loose };
}

// Layers: convolution, pooling, normalization, sampling, losses.
const layerOps: Op[] = [
  { name: 'F.conv2d', nanDiffers: 'see Op', make: (g) => {
    const groups = g.rng.pick([1, 1, 2]); const cin = groups * (1 + g.rng.int(2)), cout = groups * (1 + g.rng.int(2));
    const kh = 1 + g.rng.int(3), kw = 1 + g.rng.int(3); const stride = [1 + g.rng.int(2), 1 + g.rng.int(2)], dilation = [1 + g.rng.int(2), 1 + g.rng.int(2)], padding = [g.rng.int(2), g.rng.int(2)];
    g.float([1 + g.rng.int(2), cin, 1 + g.rng.int(7), 1 + g.rng.int(7)]); g.float([cout, cin / groups, kh, kw]); const bias = g.rng.chance(0.5); if (bias) g.float([cout]);
    return { ours: (x) => cc.F.conv2d(x[0], x[1], bias ? x[2] : null, { stride: stride as [number, number], padding: padding as [number, number], dilation: dilation as [number, number], groups }),
      torch: `F.conv2d(x0, x1, ${bias ? 'x2' : 'None'}, stride=${py(stride)}, padding=${py(padding)}, dilation=${py(dilation)}, groups=${groups})` };
  } },
  { name: 'F.convTranspose2d', nanDiffers: 'see Op', make: (g) => {
    const groups = g.rng.pick([1, 1, 2]); const cin = groups * (1 + g.rng.int(2)), cout = groups * (1 + g.rng.int(2));
    const kh = 1 + g.rng.int(3), kw = 1 + g.rng.int(3); const stride = [1 + g.rng.int(2), 1 + g.rng.int(2)], dilation = [1 + g.rng.int(2), 1], padding = [g.rng.int(2), 0];
    const op = [g.rng.int(stride[0]), 0];
    g.float([1 + g.rng.int(2), cin, 1 + g.rng.int(5), 1 + g.rng.int(5)]); g.float([cin, cout / groups, kh, kw]); const bias = g.rng.chance(0.5); if (bias) g.float([cout]);
    return { ours: (x) => cc.F.convTranspose2d(x[0], x[1], bias ? x[2] : null, { stride: stride as [number, number], padding: padding as [number, number], dilation: dilation as [number, number], outputPadding: op as [number, number], groups }),
      torch: `F.conv_transpose2d(x0, x1, ${bias ? 'x2' : 'None'}, stride=${py(stride)}, padding=${py(padding)}, output_padding=${py(op)}, groups=${groups}, dilation=${py(dilation)})` };
  } },
  { name: 'F.maxPool2d', mode: 'ties', refuses: /holds only padding/, make: (g) => {
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const st = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const pad = [g.rng.int(Math.floor(k[0] / 2) + 1), g.rng.int(Math.floor(k[1] / 2) + 1)];
    const dil = [1 + g.rng.int(2), 1]; const ceil = g.rng.chance(0.5);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]);
    return { ours: ([x]) => cc.F.maxPool2d(x, k as [number, number], { stride: st as [number, number], padding: pad as [number, number], dilation: dil as [number, number], ceilMode: ceil, returnIndices: true }),
      torch: `F.max_pool2d(x0, ${py(k)}, ${py(st)}, ${py(pad)}, ${py(dil)}, ceil_mode=${py(ceil)}, return_indices=True)` };
  } },
  { name: 'F.avgPool2d', make: (g) => {
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const st = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const pad = [g.rng.int(Math.floor(k[0] / 2) + 1), g.rng.int(Math.floor(k[1] / 2) + 1)];
    const ceil = g.rng.chance(0.5), cip = g.rng.chance(0.5); const div = g.rng.chance(0.2) ? 3 : undefined;
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]);
    return { ours: ([x]) => cc.F.avgPool2d(x, k as [number, number], { stride: st as [number, number], padding: pad as [number, number], ceilMode: ceil, countIncludePad: cip, divisorOverride: div }),
      torch: `F.avg_pool2d(x0, ${py(k)}, ${py(st)}, ${py(pad)}, ceil_mode=${py(ceil)}, count_include_pad=${py(cip)}, divisor_override=${py(div)})` };
  } },
  { name: 'F.lpPool2d', mode: 'positive', make: (g) => {
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const st = [1 + g.rng.int(3), 1 + g.rng.int(3)]; const ceil = g.rng.chance(0.5); const p = g.rng.pick([1, 2, 3]);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]);
    return { ours: ([x]) => cc.F.lpPool2d(x, p, k as [number, number], { stride: st as [number, number], ceilMode: ceil }), torch: `F.lp_pool2d(x0, ${p}, ${py(k)}, ${py(st)}, ceil_mode=${py(ceil)})` };
  } },
  { name: 'F.adaptiveAvgPool2d', make: (g) => {
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]); const o = [1 + g.rng.int(4), 1 + g.rng.int(4)];
    return { ours: ([x]) => cc.F.adaptiveAvgPool2d(x, o as [number, number]), torch: `F.adaptive_avg_pool2d(x0, ${py(o)})` };
  } },
  { name: 'F.adaptiveMaxPool2d', mode: 'ties', make: (g) => {
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]); const o = [1 + g.rng.int(4), 1 + g.rng.int(4)];
    return { ours: ([x]) => cc.F.adaptiveMaxPool2d(x, o as [number, number], { returnIndices: true }), torch: `F.adaptive_max_pool2d(x0, ${py(o)}, return_indices=True)` };
  } },
  { name: 'F.interpolate', nanDiffers: 'see Op', make: (g) => {
    const mode = g.rng.pick(['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'] as const);
    const d = mode === 'linear' ? 1 : mode === 'bilinear' || mode === 'bicubic' ? 2 : mode === 'trilinear' ? 3 : 1 + g.rng.int(3);
    const align = ['linear', 'bilinear', 'bicubic', 'trilinear'].includes(mode) && g.rng.chance(0.6) ? g.rng.chance(0.5) : undefined;
    const antialias = (mode === 'bilinear' || mode === 'bicubic') && g.rng.chance(0.4) ? true : undefined;
    const bySize = g.rng.chance(0.5);
    // N C > 1 for nearest by a scale: PyTorch 1.13 sends [1, 1, ...] to its channels-last kernel,
    // which copies an axis whose size stays where its kernel for batches resamples it (as here).
    const inShape = [1 + g.rng.int(2), mode === 'nearest' && !bySize ? 2 : 1 + g.rng.int(2), ...Array.from({ length: d }, () => 1 + g.rng.int(d === 3 ? 4 : Math.max(7, Gen.maxDim)))];
    g.float(inShape);
    const size = Array.from({ length: d }, () => 1 + g.rng.int(d === 3 ? 5 : Math.max(9, Gen.maxDim)));
    const factor = g.rng.chance(0.3) ? g.rng.pick([0.5, 1.7, 2, 3, 0.75, 1.3]) : Array.from({ length: d }, () => g.rng.pick([0.5, 1.7, 2, 3, 0.75, 1.3, 2.5]));
    const recompute = !bySize && g.rng.chance(0.3) ? true : undefined;
    const options = { ...(bySize ? { size } : { scaleFactor: factor }), mode, alignCorners: align, recomputeScaleFactor: recompute, antialias };
    const outShape = bySize ? size : inShape.slice(2).map((n, i) => Math.floor(n * (typeof factor === 'number' ? factor : factor[i])));
    // No gradients where PyTorch 1.13's backward is not its forward's: under a scale factor,
    // bicubic's copies the gradient when no size changes and nearest's (nearest_idx) copies an axis
    // whose size stays and halves one that doubles, where both forwards resample by the scale (as
    // here); area's refuses an empty output.
    const kept = (n: number, i: number) => n === inShape[i + 2], doubled = (n: number, i: number) => n === 2 * inShape[i + 2];
    const grad = bySize || !(mode === 'bicubic' ? outShape.every(kept) : mode === 'nearest' && outShape.some((n, i) => kept(n, i) || doubled(n, i)));
    const gradOk = grad && !outShape.includes(0);
    return { ours: ([x]) => cc.F.interpolate(x, options), grad: gradOk,
      torch: `F.interpolate(x0, size=${bySize ? py(size) : 'None'}, scale_factor=${bySize ? 'None' : py(factor)}, mode=${py(mode)}, align_corners=${py(align)}, recompute_scale_factor=${py(recompute)}, antialias=${py(antialias ?? false)})`, atol: 1e-4 };
  } },
  { name: 'F.pad', make: (g) => {
    const mode = g.rng.pick(['constant', 'reflect', 'replicate', 'circular'] as const); const s = [1, 1 + g.rng.int(2), 2 + g.rng.int(4), 2 + g.rng.int(4)]; g.float(s);
    const pads = [g.rng.int(3), g.rng.int(3), g.rng.int(3), g.rng.int(3)].map((v) => (mode === 'constant' && g.rng.chance(0.2) ? -1 : Math.min(v, 1)));
    return { ours: ([x]) => (mode === 'constant' ? cc.F.pad(x, pads, mode, 0.5) : cc.F.pad(x, pads, mode)), torch: `F.pad(x0, ${py(pads)}, mode=${py(mode)}${mode === 'constant' ? ', value=0.5' : ''})`, permissive: true };
  } },
  { name: 'F.layerNorm', nanDiffers: 'see Op', make: (g) => {
    const s = g.shape(1, 4, true); g.float(s); const n = 1 + g.rng.int(s.length); const ns = s.slice(s.length - n); const affine = g.rng.chance(0.5); if (affine) { g.float(ns); g.float(ns); }
    return { ours: (x) => cc.F.layerNorm(x[0], ns, affine ? { weight: x[1], bias: x[2] } : {}), torch: `F.layer_norm(x0, ${py(ns)}, ${affine ? 'x1, x2' : 'None, None'})`, atol: 1e-3 };
  } },
  { name: 'F.groupNorm', nanDiffers: 'see Op', make: (g) => {
    const G = 1 + g.rng.int(2); const s = [1 + g.rng.int(2), G * (1 + g.rng.int(2)), ...g.shape(0, 2, true)]; g.float(s); const affine = g.rng.chance(0.5); if (affine) { g.float([s[1]]); g.float([s[1]]); }
    return { ours: (x) => cc.F.groupNorm(x[0], G, affine ? { weight: x[1], bias: x[2] } : {}), torch: `F.group_norm(x0, ${G}, ${affine ? 'x1, x2' : 'None, None'})`, permissive: true, atol: 1e-3 };
  } },
  { name: 'F.batchNorm train', nanDiffers: 'see Op', make: (g) => {
    const s = [2 + g.rng.int(3), 1 + g.rng.int(3), ...g.shape(0, 2, true)]; g.float(s); g.float([s[1]]); g.float([s[1]]);
    return { ours: (x) => cc.F.batchNorm(x[0], null, null, x[1], x[2], { training: true }), torch: 'F.batch_norm(x0, None, None, x1, x2, training=True)' };
  } },
  { name: 'F.normalize', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length); const p = g.rng.pick([2, 1, 3]); return { ours: ([x]) => cc.F.normalize(x, { p, dim: a }), torch: `F.normalize(x0, p=${p}, dim=${a})`, atol: 5e-3 }; } },
  // tieGrads: a zero vector's gradient is 1 / eps (1e8) times a rounding residue that depends on the order of the sum.
  { name: 'F.cosineSimilarity', tieGrads: true, make: (g) => { const s = g.shape(1, 3); g.float(s); g.float(g.partner(s)); return { ours: ([a, b]) => cc.F.cosineSimilarity(a, b, { dim: -1 }), torch: 'F.cosine_similarity(x0, x1, dim=-1)' }; } },
  { name: 'F.pairwiseDistance', make: (g) => { const s = [1 + g.rng.int(3), 1 + g.rng.int(4)]; g.float(s); g.float(s); const p = g.rng.pick([2, 1, 3]); return { ours: ([a, b]) => cc.F.pairwiseDistance(a, b, { p }), torch: `F.pairwise_distance(x0, x1, p=${p})` }; } },
  { name: 'cdist', nanDiffers: 'see Op', tieGrads: true, make: (g) => { const d = 1 + g.rng.int(4); g.float([1 + g.rng.int(4), d]); g.float([1 + g.rng.int(4), d]); const p = g.rng.pick([2, 1, 3, 0, Infinity]); return { ours: ([a, b]) => cc.cdist(a, b, { p }), torch: `torch.cdist(x0, x1, p=${py(p)})` }; } },
  { name: 'F.pixelShuffle', make: (g) => { const r = 1 + g.rng.int(2); g.float([1, r * r * (1 + g.rng.int(2)), 1 + g.rng.int(3), 1 + g.rng.int(3)]); return { ours: ([x]) => cc.F.pixelShuffle(x, r), torch: `F.pixel_shuffle(x0, ${r})` }; } },
  { name: 'F.unfold', make: (g) => {
    g.float([1, 1 + g.rng.int(2), 2 + g.rng.int(4), 2 + g.rng.int(4)]); const k = [1 + g.rng.int(2), 1 + g.rng.int(2)], st = [1 + g.rng.int(2), 1], pad = [g.rng.int(2), 0], dil = [1, 1 + g.rng.int(2)];
    return { ours: ([x]) => cc.F.unfold(x, k as [number, number], { stride: st as [number, number], padding: pad as [number, number], dilation: dil as [number, number] }), torch: `F.unfold(x0, ${py(k)}, dilation=${py(dil)}, padding=${py(pad)}, stride=${py(st)})` };
  } },
];

const lossOps: Op[] = [
  ...(['mseLoss', 'l1Loss', 'smoothL1Loss', 'huberLoss', 'softMarginLoss'] as const).map((name): Op => ({
    name: `F.${name}`,
    make: (g) => {
      const s = g.shape(); g.float(s); g.float(s, { mode: name === 'softMarginLoss' ? 'ties' : undefined, grad: name !== 'softMarginLoss' });
      const reduction = g.rng.pick(['mean', 'sum', 'none'] as const); const beta = g.rng.pick([1, 0.5, 2]);
      const torchName = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace('l1_loss', 'l1_loss').replace('smooth_l1', 'smooth_l1');
      const extra = name === 'smoothL1Loss' ? `, beta=${beta}` : name === 'huberLoss' ? `, delta=${beta}` : '';
      const opts: Record<string, unknown> = { reduction }; if (name === 'smoothL1Loss') opts.beta = beta; if (name === 'huberLoss') opts.delta = beta;
      return { ours: ([a, b]) => Fn(name)(a, b, opts), torch: `F.${torchName}(x0, x1, reduction=${py(reduction)}${extra})` };
    },
  })),
  { name: 'F.crossEntropy', make: (g) => {
    const N = g.rng.int(4), C = 1 + g.rng.int(4); const extra = g.rng.chance(0.3) ? [1 + g.rng.int(3)] : [];
    g.float([N, C, ...extra]); g.int([N, ...extra], g.rng.chance(0.3) ? -1 : 0, C);
    const reduction = g.rng.pick(['mean', 'sum', 'none'] as const); const ls = g.rng.pick([0, 0, 0.1]); const weighted = g.rng.chance(0.3); if (weighted) g.float([C], { mode: 'positive', grad: false });
    return { ours: (x) => cc.F.crossEntropy(x[0], x[1], { reduction, labelSmoothing: ls, ignoreIndex: -1, weight: weighted ? x[2] : undefined }),
      torch: `F.cross_entropy(x0, x1, weight=${weighted ? 'x2' : 'None'}, ignore_index=-1, reduction=${py(reduction)}, label_smoothing=${ls})` };
  } },
  { name: 'F.crossEntropy probs', make: (g) => {
    const N = 1 + g.rng.int(3), C = 1 + g.rng.int(4); g.float([N, C]); g.float([N, C], { mode: 'positive', grad: false });
    const reduction = g.rng.pick(['mean', 'sum', 'none'] as const); const ls = g.rng.pick([0, 0.1]);
    return { ours: (x) => cc.F.crossEntropy(x[0], x[1], { reduction, labelSmoothing: ls }), torch: `F.cross_entropy(x0, x1, reduction=${py(reduction)}, label_smoothing=${ls})` };
  } },
  { name: 'F.nllLoss', make: (g) => {
    const N = 1 + g.rng.int(4), C = 1 + g.rng.int(4); g.float([N, C]); g.int([N], g.rng.chance(0.3) ? -1 : 0, C); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: (x) => cc.F.nllLoss(x[0], x[1], { reduction, ignoreIndex: -1 }), torch: `F.nll_loss(x0, x1, ignore_index=-1, reduction=${py(reduction)})` };
  } },
  { name: 'F.klDiv', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const logT = g.rng.chance(0.5); g.float(s, { mode: logT ? 'normal' : 'positive' }); const reduction = g.rng.pick(['mean', 'sum', 'none', 'batchmean'] as const);
    return { ours: ([a, b]) => cc.F.klDiv(a, b, { reduction, logTarget: logT }), torch: `F.kl_div(x0, x1, reduction=${py(reduction)}, log_target=${py(logT)})` };
  } },
  { name: 'F.binaryCrossEntropy', make: (g) => {
    const s = g.shape(); g.float(s, { mode: 'unit' }); g.float(s, { mode: 'unit', grad: false }); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: ([a, b]) => cc.F.binaryCrossEntropy(cc.abs(a), cc.abs(b), { reduction }), torch: `F.binary_cross_entropy(torch.abs(x0), torch.abs(x1), reduction=${py(reduction)})` };
  } },
  { name: 'F.binaryCrossEntropyWithLogits', nanDiffers: 'see Op', make: (g) => {
    const s = g.shape(1); g.float(s); g.float(s, { mode: 'unit' }); const pw = g.rng.chance(0.4); if (pw) g.float([s[s.length - 1]], { mode: 'positive', grad: false }); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: (x) => cc.F.binaryCrossEntropyWithLogits(x[0], x[1], { reduction, posWeight: pw ? x[2] : undefined }), torch: `F.binary_cross_entropy_with_logits(x0, x1, reduction=${py(reduction)}, pos_weight=${pw ? 'x2' : 'None'})` };
  } },
  { name: 'F.multiMarginLoss', make: (g) => {
    const N = 1 + g.rng.int(3), C = 1 + g.rng.int(4); g.float([N, C], { mode: g.rng.pick(['normal', 'ties'] as Mode[]) }); g.int([N], 0, C); const p = g.rng.pick([1, 2] as const); const margin = g.rng.pick([1, 0.5]); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: (x) => cc.F.multiMarginLoss(x[0], x[1], { p, margin, reduction }), torch: `F.multi_margin_loss(x0, x1, p=${p}, margin=${margin}, reduction=${py(reduction)})` };
  } },
  { name: 'F.marginRankingLoss', make: (g) => {
    const s = [1 + g.rng.int(4)]; g.float(s); g.float(s); g.float(s, { mode: 'ties', grad: false }); const m = g.rng.pick([0, 0.5]);
    return { ours: (x) => cc.F.marginRankingLoss(x[0], x[1], cc.sign(x[2]), { margin: m }), torch: `F.margin_ranking_loss(x0, x1, torch.sign(x2), margin=${m})` };
  } },
  { name: 'F.hingeEmbeddingLoss', make: (g) => {
    const s = g.shape(1); g.float(s); g.float(s, { mode: 'ties', grad: false }); const m = g.rng.pick([1, 0.5]); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: (x) => cc.F.hingeEmbeddingLoss(x[0], cc.where(cc.ge(x[1], 0), 1, -1), { margin: m, reduction }), torch: `F.hinge_embedding_loss(x0, torch.where(x1 >= 0, 1.0, -1.0), margin=${m}, reduction=${py(reduction)})` };
  } },
  { name: 'F.cosineEmbeddingLoss', tieGrads: true, make: (g) => {
    const N = 1 + g.rng.int(3), D = 1 + g.rng.int(4); g.float([N, D]); g.float([N, D]); g.float([N], { mode: 'ties', grad: false }); const m = g.rng.pick([0, 0.5]);
    return { ours: (x) => cc.F.cosineEmbeddingLoss(x[0], x[1], cc.where(cc.ge(x[2], 0), 1, -1), { margin: m }), torch: `F.cosine_embedding_loss(x0, x1, torch.where(x2 >= 0, 1.0, -1.0), margin=${m})` };
  } },
  { name: 'F.tripletMarginLoss', tieGrads: true, make: (g) => {
    const N = 1 + g.rng.int(3), D = 1 + g.rng.int(4); g.float([N, D]); g.float([N, D]); g.float([N, D]); const m = g.rng.pick([1, 0.2]); const p = g.rng.pick([2, 1] as const); const swap = g.rng.chance(0.3);
    return { ours: (x) => cc.F.tripletMarginLoss(x[0], x[1], x[2], { margin: m, p, swap }), torch: `F.triplet_margin_loss(x0, x1, x2, margin=${m}, p=${p}, swap=${py(swap)})` };
  } },
  { name: 'F.poissonNllLoss', make: (g) => {
    const s = g.shape(1); g.float(s); g.float(s, { mode: 'positive', grad: false }); const logInput = g.rng.chance(0.5); const full = g.rng.chance(0.5);
    return { ours: (x) => cc.F.poissonNllLoss(logInput ? x[0] : cc.abs(x[0]), x[1], { logInput, full }), torch: `F.poisson_nll_loss(${logInput ? 'x0' : 'torch.abs(x0)'}, x1, log_input=${py(logInput)}, full=${py(full)})` };
  } },
  { name: 'F.gaussianNllLoss', make: (g) => {
    const s = [1 + g.rng.int(3), 1 + g.rng.int(3)]; g.float(s); g.float(s); g.float(s, { mode: 'positive' }); const full = g.rng.chance(0.5);
    return { ours: (x) => cc.F.gaussianNllLoss(x[0], x[1], x[2], { full }), torch: `F.gaussian_nll_loss(x0, x1, x2, full=${py(full)})` };
  } },
];

const I32 = (t: T) => t as cc.Tensor<'int32'>;
const xs = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`).join(', ');

// Indexing, layout and matrices.
const moreOps: Op[] = [
  { name: 'scatterAdd', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a;
    const is = s.map((d, i) => (i === ax ? g.rng.int(4) : 1 + g.rng.int(d))); g.int(is, 0, s[ax]); g.float(is);
    return { ours: ([x, i, src]) => cc.scatterAdd(x, a, I32(i), src), torch: `torch.scatter_add(x0, ${a}, x1, x2)` };
  } },
  { name: 'scatter value', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a;
    const is = s.map((d, i) => (i === ax ? g.rng.int(4) : 1 + g.rng.int(d))); g.int(is, 0, s[ax]); const v = g.value('normal');
    return { ours: ([x, i]) => cc.scatter(x, a, I32(i), v), torch: `torch.scatter(x0, ${a}, x1, ${py(v)})` };
  } },
  { name: 'indexAdd', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a; const n = g.rng.int(4);
    g.int([n], 0, s[ax]); g.float(s.map((d, i) => (i === ax ? n : d)));
    return { ours: ([x, i, src]) => cc.indexAdd(x, a, I32(i), src), torch: `torch.index_add(x0, ${a}, x1, x2)` };
  } },
  { name: 'indexFill', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a; g.int([g.rng.int(4)], 0, s[ax]);
    return { ours: ([x, i]) => cc.indexFill(x, a, I32(i), -2.5), torch: `torch.index_fill(x0, ${a}, x1, -2.5)` };
  } },
  { name: 'take', make: (g) => { const s = g.shape(1, 3, true); g.float(s); const n = s.reduce((p, q) => p * q, 1); g.int(g.shape(0, 2), -n, n); return { ours: ([x, i]) => cc.take(x, I32(i)), torch: 'torch.take(x0, x1)' }; } },
  { name: 'takeAlongDim', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a;
    g.int(s.map((d, i) => (i === ax ? 1 + g.rng.int(3) : g.rng.chance(0.3) ? 1 : d)), 0, s[ax]);
    return { ours: ([x, i]) => cc.takeAlongDim(x, I32(i), a), torch: `torch.take_along_dim(x0, x1, ${a})` };
  } },
  { name: 'movedim', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length), b = g.axis(s.length); return { ours: ([x]) => cc.movedim(x, a, b), torch: `torch.movedim(x0, ${a}, ${b})` }; } },
  { name: 'rot90', make: (g) => { g.float(g.shape(2, 4)); const k = g.rng.int(7) - 3; return { ours: ([x]) => cc.rot90(x, k, [0, 1]), torch: `torch.rot90(x0, ${k}, [0, 1])` }; } },
  { name: 'diagonal', make: (g) => { const s = g.shape(2, 4); g.float(s); const o = g.rng.int(5) - 2; const a = g.axis(s.length); let b = g.axis(s.length); if ((a - b) % s.length === 0) b = a >= 0 ? (a + 1) % s.length : a - 1 < -s.length ? -1 : a - 1; return { ours: ([x]) => cc.diagonal(x, o, a, b), torch: `torch.diagonal(x0, ${o}, ${a}, ${b})` }; } },
  { name: 'diag', make: (g) => { g.float(g.shape(1, 2)); const o = g.rng.int(5) - 2; return { ours: ([x]) => cc.diag(x, o), torch: `torch.diag(x0, ${o})`, permissive: true }; } },  // PyTorch 1.13 overflows past the corner
  // Square or wide: PyTorch 1.13's trace backward marks the wrong entries of a tall matrix.
  { name: 'trace', make: (g) => { const r = 1 + g.rng.int(4); g.float([r, r + g.rng.int(2)]); return { ours: ([x]) => cc.trace(x), torch: 'torch.trace(x0)' }; } },
  { name: 'outer', make: (g) => { g.float(g.shape(1, 1)); g.float(g.shape(1, 1)); return { ours: ([a, b]) => cc.outer(a, b), torch: 'torch.outer(x0, x1)' }; } },
  { name: 'kron', make: (g) => { g.float(g.shape(1, 3)); g.float(g.shape(1, 3)); return { ours: ([a, b]) => cc.kron(a, b), torch: 'torch.kron(x0, x1)' }; } },
  { name: 'bmm', make: (g) => { const b = 1 + g.rng.int(3), n = g.rng.int(4), k = g.rng.int(4), m = g.rng.int(4); g.float([b, n, k]); g.float([b, k, m]); return { ours: ([x, y]) => cc.bmm(x, y), torch: 'torch.bmm(x0, x1)' }; } },
  { name: 'einsum', make: (g) => {
    const i = 1 + g.rng.int(3), j = 1 + g.rng.int(3), k = 1 + g.rng.int(3);
    const [eq, shapes] = g.rng.pick([['ij,jk->ik', [[i, j], [j, k]]], ['ij->ji', [[i, j]]], ['ii->i', [[i, i]]], ['ij,ij->i', [[i, j], [i, j]]], ['bij,bjk->bik', [[k, i, j], [k, j, i]]], ['i,j->ij', [[i], [j]]], ['ij->', [[i, j]]]] as [string, number[][]][]);
    for (const sh of shapes) g.float(sh);
    return { ours: (x) => cc.einsum(eq, ...x), torch: `torch.einsum(${py(eq)}, ${xs(shapes.length)})` };
  } },
  { name: 'tensordot', make: (g) => { const a = [1 + g.rng.int(3), 1 + g.rng.int(3), 1 + g.rng.int(3)]; g.float(a); g.float([a[1], a[2], 1 + g.rng.int(3)]); return { ours: ([x, y]) => cc.tensordot(x, y, 2), torch: 'torch.tensordot(x0, x1, 2)' }; } },
  { name: 'cov', make: (g) => { g.float([1 + g.rng.int(3), 1 + g.rng.int(5)]); const c = g.rng.pick([0, 1]); return { ours: ([x]) => cc.cov(x, { correction: c }), torch: `torch.cov(x0, correction=${c})` }; } },
  { name: 'corrcoef', make: (g) => { g.float([1 + g.rng.int(3), 2 + g.rng.int(4)]); return { ours: ([x]) => cc.corrcoef(x), torch: 'torch.corrcoef(x0)' }; } },
  { name: 'vander', make: (g) => { g.float([1 + g.rng.int(4)]); const n = g.rng.int(5); const inc = g.rng.chance(0.5); return { ours: ([x]) => cc.vander(x, n, inc), torch: `torch.vander(x0, N=${n}, increasing=${py(inc)})`, grad: false }; } },  // PyTorch 1.13's vander backward fails (an in-place write)
  { name: 'searchsorted', mode: 'ties', make: (g) => {
    const s = [1 + g.rng.int(2), g.rng.int(5)]; const n = s[0] * s[1];
    const sorted = Float32Array.from({ length: n }, () => g.value()).sort(); const right = g.rng.chance(0.5);
    g.inputs.push({ shape: s, dtype: 'float32', data: sorted.map((v, i) => (i % s[1] === 0 ? v : v)), grad: false });
    g.float([s[0], 1 + g.rng.int(4)], { grad: false });
    return { ours: ([a, v]) => cc.searchsorted(a, v, { right }), torch: `torch.searchsorted(x0.sort(-1).values, x1, right=${py(right)})`, grad: false };
  } },
  // nanDiffers: PyTorch 1.13 finds a NaN or not depending on the sizes (its sorting path matches NaN with NaN); here never.
  { name: 'isin', mode: 'ties', nanDiffers: 'sizes', make: (g) => { g.float(g.shape(0, 3), { grad: false }); g.float(g.shape(0, 2), { grad: false }); const inv = g.rng.chance(0.3); return { ours: ([a, b]) => cc.isin(a, b, { invert: inv }), torch: `torch.isin(x0, x1, invert=${py(inv)})`, grad: false }; } },
  { name: 'isclose', mode: 'ties', make: (g) => { const s = g.shape(); g.float(s, { grad: false }); g.float(g.inside(s), { grad: false }); const en = g.rng.chance(0.5); return { ours: ([a, b]) => cc.isclose(a, b, { equalNan: en }), torch: `torch.isclose(x0, x1, equal_nan=${py(en)})`, grad: false }; } },
  { name: 'bincount', make: (g) => { g.int([g.rng.int(8)], 0, 6); const w = g.rng.chance(0.5); if (w) g.float([g.inputs[0].shape[0]], { grad: false }); const ml = g.rng.int(8); return { ours: (x) => cc.bincount(I32(x[0]), w ? { weights: x[1], minlength: ml } : { minlength: ml }), torch: `torch.bincount(x0, ${w ? 'x1' : 'None'}, ${ml})${w ? '.float()' : ''}`, grad: false }; } },
  { name: 'histc', nanDiffers: 'PyTorch 1.13 counts a NaN in the first bin', make: (g) => { g.float(g.shape(0, 2), { grad: false }); const bins = 1 + g.rng.int(6); const lo = g.rng.pick([0, -1, -2]), hi = g.rng.pick([0, 1, 2]); return { ours: ([x]) => cc.histc(x, { bins, min: lo, max: hi }), torch: `torch.histc(x0, ${bins}, ${lo}, ${hi})`, grad: false }; } },
  { name: 'unique', mode: 'ties', nanDiffers: 'PyTorch 1.13 miscounts NaNs', make: (g) => { g.float(g.shape(0, 3), { grad: false }); return { ours: ([x]) => { const r = cc.unique(x, { returnInverse: true, returnCounts: true }); return [r.values, r.inverse!, r.counts!]; }, torch: 'torch.unique(x0, return_inverse=True, return_counts=True)', grad: false }; } },
  { name: 'det', nanDiffers: 'LU with infinities', tieGrads: true, make: (g) => { const n = g.rng.int(4); g.float([...(g.rng.chance(0.3) ? [2] : []), n, n]); return { ours: ([x]) => cc.det(x), torch: 'torch.linalg.det(x0)', atol: 1e-4 }; } },
  { name: 'inverse', nanDiffers: 'LU with infinities', refuses: /singular/, make: (g) => { const n = 1 + g.rng.int(3); g.float([n, n]); return { ours: ([x]) => cc.inverse(cc.add(x, cc.mul(cc.eye(n, { device: x.device }), 3))), torch: `torch.linalg.inv(x0 + 3 * torch.eye(${n}))`, atol: 1e-4 }; } },
  { name: 'F.conv1d', nanDiffers: 'see Op', make: (g) => {
    const cin = 1 + g.rng.int(3), cout = 1 + g.rng.int(3), k = 1 + g.rng.int(3); const stride = 1 + g.rng.int(2), dilation = 1 + g.rng.int(2), padding = g.rng.int(2);
    g.float([1 + g.rng.int(2), cin, 1 + g.rng.int(7)]); g.float([cout, cin, k]);
    return { ours: ([x, w]) => cc.F.conv1d(x, w, null, { stride, padding, dilation }), torch: `F.conv1d(x0, x1, None, ${stride}, ${padding}, ${dilation})` };
  } },
  { name: 'F.maxPool1d', mode: 'ties', refuses: /holds only padding|too small for the window/, make: (g) => {
    const k = 1 + g.rng.int(3), st = 1 + g.rng.int(3), pad = g.rng.int(Math.floor(k / 2) + 1), ceil = g.rng.chance(0.5);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7)]);
    return { ours: ([x]) => cc.F.maxPool1d(x, k, { stride: st, padding: pad, ceilMode: ceil }), torch: `F.max_pool1d(x0, ${k}, ${st}, ${pad}, ceil_mode=${py(ceil)})` };
  } },
  { name: 'F.avgPool1d', make: (g) => {
    const k = 1 + g.rng.int(3), st = 1 + g.rng.int(3), pad = g.rng.int(Math.floor(k / 2) + 1), ceil = g.rng.chance(0.5), cip = g.rng.chance(0.5);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7)]);
    return { ours: ([x]) => cc.F.avgPool1d(x, k, { stride: st, padding: pad, ceilMode: ceil, countIncludePad: cip }), torch: `F.avg_pool1d(x0, ${k}, ${st}, ${pad}, ceil_mode=${py(ceil)}, count_include_pad=${py(cip)})` };
  } },
  { name: 'F.adaptiveAvgPool1d', make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7)]); const o = 1 + g.rng.int(5); return { ours: ([x]) => cc.F.adaptiveAvgPool1d(x, o), torch: `F.adaptive_avg_pool1d(x0, ${o})` }; } },
  { name: 'F.embedding', make: (g) => { const n = 1 + g.rng.int(5); g.int(g.shape(1, 2), 0, n); g.float([n, 1 + g.rng.int(3)]); const pi = g.rng.chance(0.3) ? 0 : null; return { ours: ([i, w]) => cc.F.embedding(I32(i), w, { paddingIdx: pi }), torch: `F.embedding(x0, x1, padding_idx=${py(pi)})` }; } },
  { name: 'F.localResponseNorm', mode: 'positive', make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(5), 1 + g.rng.int(3), 1 + g.rng.int(3)]); const size = 1 + g.rng.int(4); return { ours: ([x]) => cc.F.localResponseNorm(x, size, 1e-2, 0.75, 1), torch: `F.local_response_norm(x0, ${size}, 1e-2, 0.75, 1.0)` }; } },
  { name: 'F.instanceNorm', nanDiffers: 'see Op', make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(3), 2 + g.rng.int(3), 1 + g.rng.int(3)]); return { ours: ([x]) => cc.F.instanceNorm(x), torch: 'F.instance_norm(x0)', atol: 1e-3 }; } },
  { name: 'F.pixelUnshuffle', make: (g) => { const r = 1 + g.rng.int(2); g.float([1, 1 + g.rng.int(2), r * (1 + g.rng.int(2)), r * (1 + g.rng.int(2))]); return { ours: ([x]) => cc.F.pixelUnshuffle(x, r), torch: `F.pixel_unshuffle(x0, ${r})` }; } },
  { name: 'F.fold', make: (g) => {
    const C = 1 + g.rng.int(2), k = [1 + g.rng.int(2), 1 + g.rng.int(2)], out = [2 + g.rng.int(3), 2 + g.rng.int(3)];
    const L = (out[0] - k[0] + 1) * (out[1] - k[1] + 1); g.float([1, C * k[0] * k[1], L]);
    return { ours: ([x]) => cc.F.fold(x, out as [number, number], k as [number, number]), torch: `F.fold(x0, ${py(out)}, ${py(k)})` };
  } },
  { name: 'F.gridSample', nanDiffers: 'see Op', make: (g) => {
    g.float([1, 1 + g.rng.int(2), 2 + g.rng.int(3), 2 + g.rng.int(3)]); g.float([1, 1 + g.rng.int(3), 1 + g.rng.int(3), 2], { mode: 'unit' });
    const mode = g.rng.pick(['bilinear', 'nearest'] as const), pad = g.rng.pick(['zeros', 'border', 'reflection'] as const), ac = g.rng.chance(0.5);
    return { ours: ([x, gr]) => cc.F.gridSample(x, gr, { mode, paddingMode: pad, alignCorners: ac }), torch: `F.grid_sample(x0, x1, mode=${py(mode)}, padding_mode=${py(pad)}, align_corners=${py(ac)})`, grad: mode === 'bilinear' };
  } },
  { name: 'F.gridSample 3-D', nanDiffers: 'see Op', make: (g) => {
    const N = 1 + g.rng.int(2);
    g.float([N, 1 + g.rng.int(2), 1 + g.rng.int(3), 2 + g.rng.int(3), 2 + g.rng.int(3)]);
    g.float([N, 1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(3), 3], { mode: 'unit' });
    const mode = g.rng.pick(['bilinear', 'nearest'] as const), pad = g.rng.pick(['zeros', 'border', 'reflection'] as const), ac = g.rng.chance(0.5);
    return { ours: ([x, gr]) => cc.F.gridSample(x, gr, { mode, paddingMode: pad, alignCorners: ac }), torch: `F.grid_sample(x0, x1, mode=${py(mode)}, padding_mode=${py(pad)}, align_corners=${py(ac)})`, grad: mode === 'bilinear' };
  } },
  { name: 'F.multilabelSoftMarginLoss', make: (g) => { const s = [1 + g.rng.int(3), 1 + g.rng.int(4)]; g.float(s); g.float(s, { mode: 'unit', grad: false }); return { ours: ([x, t]) => cc.F.multilabelSoftMarginLoss(x, cc.gt(t, 0)), torch: 'F.multilabel_soft_margin_loss(x0, (x1 > 0).float())' }; } },
  { name: 'F.hingeLoss', tieGrads: true, make: (g) => {
    const N = 1 + g.rng.int(3), C = 1 + g.rng.int(4); g.float([N, C]); g.int([N], 0, C); const p = g.rng.pick([1, 2] as const);
    // The survey's one-vs-all L-SVM (not MultiMarginLoss), written out in PyTorch.
    return { ours: ([x, y]) => cc.F.hingeLoss(x, I32(y), { p }), torch: `torch.clamp(1 - (2 * F.one_hot(x1, ${C}) - 1) * x0, min=0).pow(${p}).sum(1).mean()` };
  } },
  { name: 'F.nllLoss weighted', make: (g) => {
    const N = 1 + g.rng.int(4), C = 1 + g.rng.int(4); g.float([N, C]); g.int([N], 0, C); g.float([C], { mode: 'positive', grad: false }); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const);
    return { ours: (x) => cc.F.nllLoss(x[0], I32(x[1]), { weight: x[2], reduction }), torch: `F.nll_loss(x0, x1, weight=x2, reduction=${py(reduction)})` };
  } },
];

// Optimizers: three steps on one parameter, from the same gradients, the parameter compared.
const optimizers: [string, (g: Gen) => Record<string, unknown>][] = [
  ['SGD', (g) => { const momentum = g.rng.pick([0, 0.9]); const nesterov = momentum > 0 && g.rng.chance(0.5); return { lr: 0.1, momentum, dampening: nesterov ? 0 : g.rng.pick([0, 0.5]), nesterov, weightDecay: g.rng.pick([0, 0.01]) }; }],
  ['Adam', (g) => ({ lr: 0.01, betas: [0.9, g.rng.pick([0.999, 0.9])], eps: g.rng.pick([1e-8, 1e-3]), weightDecay: g.rng.pick([0, 0.01]), amsgrad: g.rng.chance(0.5) })],
  ['AdamW', (g) => ({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: g.rng.pick([0, 0.1]), amsgrad: g.rng.chance(0.5) })],
  ['Adagrad', (g) => ({ lr: 0.1, lrDecay: g.rng.pick([0, 0.1]), weightDecay: g.rng.pick([0, 0.01]), initialAccumulatorValue: g.rng.pick([0, 0.5]), eps: 1e-10 })],
  ['RMSprop', (g) => ({ lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: g.rng.pick([0, 0.01]), momentum: g.rng.pick([0, 0.9]), centered: g.rng.chance(0.5) })],
  ['Adadelta', (g) => ({ lr: 1, rho: 0.9, eps: 1e-6, weightDecay: g.rng.pick([0, 0.01]) })],
  ['Adamax', (g) => ({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: g.rng.pick([0, 0.01]) })],
  ['NAdam', (g) => ({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: g.rng.pick([0, 0.01]), momentumDecay: 0.004 })],
  ['RAdam', (g) => ({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: g.rng.pick([0, 0.01]) })],
  ['Rprop', () => ({ lr: 0.01, etas: [0.5, 1.2], stepSizes: [1e-6, 50] })],
];
const optimOps: Op[] = optimizers.map(([name, options]): Op => ({
  name: `optim.${name}`,
  // A NaN gradient: PyTorch's Rprop takes its sign as 0 (no step); here the parameter becomes NaN, as with the other optimizers.
  nanDiffers: name === 'Rprop' ? 'sign(NaN)' : undefined,
  make: (g) => {
    const n = 1 + g.rng.int(6); g.float([n], { grad: false }); for (let k = 0; k < 3; k++) g.float([n], { grad: false });
    const kw = options(g);
    const Cls = (cc.optim as unknown as Record<string, new (params: T[], o: Record<string, unknown>) => { step(): void; dispose?(): void }>)[name];
    return {
      ours: ([p0, ...grads]) => {
        const p = cc.clone(p0).detach().requiresGrad_();
        const opt = new Cls([p], kw);
        for (const gr of grads) {
          p.grad = cc.clone(gr) as F32;
          opt.step();
        }
        return cc.clone(p).detach();
      },
      torch: `optim_run(${py(name)}, x0, [x1, x2, x3], p)`, params: kw, grad: false, atol: 1e-5,
    };
  },
}));

// Learning-rate schedules: the lr before each of 12 steps of SGD (momentum 0.9).
const schedulers: [string, (g: Gen) => Record<string, unknown>][] = [
  ['StepLR', (g) => ({ stepSize: 1 + g.rng.int(4), gamma: g.rng.pick([0.1, 0.5]) })],
  ['MultiStepLR', (g) => ({ milestones: [1 + g.rng.int(3), 5 + g.rng.int(4)], gamma: g.rng.pick([0.1, 0.5]) })],
  ['ExponentialLR', (g) => ({ gamma: g.rng.pick([0.9, 0.5]) })],
  ['CosineAnnealingLR', (g) => ({ tMax: 3 + g.rng.int(8), etaMin: g.rng.pick([0, 0.001]) })],
  ['LinearLR', (g) => ({ startFactor: g.rng.pick([0.25, 0.5]), endFactor: g.rng.pick([1, 0.75]), totalIters: 2 + g.rng.int(5) })],
  ['OneCycleLR', (g) => ({ maxLr: 0.1, totalSteps: 12 + g.rng.int(8), pctStart: g.rng.pick([0.3, 0.5]), annealStrategy: g.rng.pick(['cos', 'linear']), threePhase: g.rng.chance(0.5) })],
  ['CyclicLR', (g) => ({ baseLr: 0.001, maxLr: 0.1, stepSizeUp: 2 + g.rng.int(3), mode: g.rng.pick(['triangular', 'triangular2', 'exp_range']), gamma: 0.9 })],
  ['CosineAnnealingWarmRestarts', (g) => ({ t0: 2 + g.rng.int(3), tMult: g.rng.pick([1, 2]), etaMin: g.rng.pick([0, 0.001]) })],
  ['PolynomialLR', (g) => ({ totalIters: 2 + g.rng.int(8), power: g.rng.pick([1, 2, 0.5]) })],
  ['ConstantLR', (g) => ({ factor: g.rng.pick([0.5, 0.25]), totalIters: 1 + g.rng.int(5) })],
];
const scheduleOps: Op[] = schedulers.map(([name, options]): Op => ({
  name: `optim.${name}`,
  make: (g) => {
    const kw = options(g);
    const lr = g.rng.pick([0.1, 0.05]);
    return {
      ours: () => {
        const p = cc.zeros([1], { requiresGrad: true });
        const opt = new cc.optim.SGD([p], { lr, momentum: 0.9 });
        const sched = new (cc.optim as unknown as Record<string, new (o: unknown, k: unknown) => { step(): void; getLastLr(): number[] }>)[name](opt, kw);
        const lrs: number[] = [];
        for (let k = 0; k < 12; k++) {
          lrs.push(sched.getLastLr()[0]);
          opt.step();
          sched.step();
        }
        return cc.tensor(lrs);
      },
      torch: `sched_run(${py(name)}, ${lr}, p, 12)`, params: kw, grad: false, atol: 1e-7,
    };
  },
}));

// int32 tensors (PyTorch's int64 on its side; results compared as int32).
const intOps: Op[] = [
  ...([
    ['sum', (x: T, d: number[] | undefined, k: boolean) => cc.sum(x as cc.Tensor<'int32'>, d, k), 'torch.sum(x0, dim=p["d"], keepdim=p["k"])'],
    ['max', (x: T, d: number[] | undefined, k: boolean) => cc.max(x as cc.Tensor<'int32'>, d, k), 'torch.amax(x0, dim=p["d"] or (), keepdim=p["k"])'],
    ['amin', (x: T, d: number[] | undefined, k: boolean) => cc.amin(x, d, k), 'torch.amin(x0, dim=p["d"] or (), keepdim=p["k"])'],
    ['nansum', (x: T, d: number[] | undefined, k: boolean) => cc.nansum(x as cc.Tensor<'int32'>, d, k), 'torch.nansum(x0.float(), dim=p["d"], keepdim=p["k"]).long()'],
  ] as [string, (x: T, d: number[] | undefined, k: boolean) => T, string][]).map(([name, ours, torch]): Op => ({
    name: `int ${name}`,
    make: (g) => {
      const s = g.shape(0, 4, name === 'max' || name === 'amin'); g.int(s, -5, 6);
      const d = g.rng.chance(0.3) ? undefined : s.length === 0 ? [g.axis(0)] : g.axes(s.length);
      const k = g.rng.chance(0.5);
      return { ours: ([x]) => ours(x, d, k), torch, params: { d: d === undefined ? null : d, k }, grad: false };
    },
  })),
  { name: 'int cumsum', make: (g) => { const s = g.shape(1); g.int(s, -5, 6); const a = g.axis(s.length); return { ours: ([x]) => cc.cumsum(x, a), torch: `torch.cumsum(x0, ${a})`, grad: false }; } },
  { name: 'int sort', make: (g) => { const s = g.shape(1); g.int(s, -3, 4); const a = g.axis(s.length); const d = g.rng.chance(0.5); return { ours: ([x]) => { const r = cc.sort(x, { dim: a, descending: d, stable: true }); return [r.values, r.indices]; }, torch: `torch.sort(x0, dim=${a}, descending=${py(d)}, stable=True)`, grad: false }; } },
  { name: 'int argmax', make: (g) => { const s = g.shape(1, 4, true); g.int(s, -3, 4); const a = g.axis(s.length); return { ours: ([x]) => cc.argmax(x, a), torch: `torch.argmax(x0, ${a})`, grad: false }; } },
  { name: 'int clamp', make: (g) => { g.int(g.shape(), -5, 6); const lo = g.rng.int(5) - 3, hi = g.rng.int(5) - 1; return { ours: ([x]) => cc.clamp(x, lo, hi), torch: `torch.clamp(x0, ${lo}, ${hi})`, grad: false }; } },
  { name: 'int where', make: (g) => { const s = g.shape(); g.float(s, { grad: false, mode: 'ties' }); g.int(g.partner(s), -5, 6); g.int(g.partner(s), -5, 6); return { ours: ([c, a, b]) => cc.where(c, a as cc.Tensor<'int32'>, b as cc.Tensor<'int32'>), torch: 'torch.where(x0 != 0, x1, x2)', grad: false }; } },
  { name: 'int eq', make: (g) => { const s = g.shape(); g.int(s, -2, 3); g.int(g.partner(s), -2, 3); return { ours: ([a, b]) => cc.eq(a, b), torch: 'torch.eq(x0, x1)', grad: false }; } },
  { name: 'int flip', make: (g) => { const s = g.shape(); g.int(s, -5, 6); const d = g.axes(s.length); return { ours: ([x]) => cc.flip(x, d), torch: `torch.flip(x0, ${py(d)})`, grad: false }; } },
  { name: 'int cat', make: (g) => { const s = g.shape(1); const a = g.axis(s.length); for (let i = 0; i < 2; i++) { const t = [...s]; t[a < 0 ? a + s.length : a] = g.rng.int(3); g.int(t, -5, 6); } return { ours: (x) => cc.cat(x as cc.Tensor<'int32'>[], a), torch: `torch.cat([x0, x1], ${a})`, grad: false }; } },
  { name: 'int topk', make: (g) => { const s = g.shape(1, 3, true); g.int(s, -3, 4); const a = g.axis(s.length); const k = g.rng.int(s[a < 0 ? a + s.length : a] + 1); return { ours: ([x]) => { const r = cc.topk(x, k, { dim: a }); return [r.values, r.indices]; }, torch: `torch.topk(x0, ${k}, dim=${a})`, loose: [1], grad: false }; } },
  { name: 'int unique', make: (g) => { g.int(g.shape(0, 3), -3, 4); return { ours: ([x]) => { const r = cc.unique(x, { returnInverse: true, returnCounts: true }); return [r.values, r.inverse!, r.counts!]; }, torch: 'torch.unique(x0, return_inverse=True, return_counts=True)', grad: false }; } },
  { name: 'int bincount', make: (g) => { g.int([g.rng.int(8)], 0, 6); return { ours: ([x]) => cc.bincount(I32(x)), torch: 'torch.bincount(x0)', grad: false }; } },
];

// The survey's detection and embedding layers, against torchvision or PyTorch written out.
const surveyOps: Op[] = [
  ...(['roiAlign', 'roiPool'] as const).map((name): Op => ({
    name: `F.${name}`, nanDiffers: 'see Op',
    make: (g) => {
      const N = 1 + g.rng.int(2), H = 2 + g.rng.int(6), W = 2 + g.rng.int(6); g.float([N, 1 + g.rng.int(2), H, W]);
      const K = 1 + g.rng.int(3);
      const boxes = new Float32Array(K * 5);
      for (let k = 0; k < K; k++) {
        const x1 = g.rng.next() * W * 1.2 - 1, y1 = g.rng.next() * H * 1.2 - 1;
        boxes.set([g.rng.int(N), x1, y1, x1 + g.rng.next() * W, y1 + g.rng.next() * H], k * 5);
      }
      g.inputs.push({ shape: [K, 5], dtype: 'float32', data: boxes.map(Math.fround), grad: false });
      const out = [1 + g.rng.int(3), 1 + g.rng.int(3)], scale = g.rng.pick([1, 0.5]);
      if (name === 'roiPool') {
        return { ours: ([x, b]) => cc.F.roiPool(x, b, out as [number, number], scale), torch: `torchvision.ops.roi_pool(x0, x1, ${py(out)}, ${scale})`, tieGrads: true };
      }
      const ratio = g.rng.pick([-1, 1, 2]), aligned = g.rng.chance(0.5);
      return { ours: ([x, b]) => cc.F.roiAlign(x, b, out as [number, number], { spatialScale: scale, samplingRatio: ratio, aligned }), torch: `torchvision.ops.roi_align(x0, x1, ${py(out)}, ${scale}, ${ratio}, ${py(aligned)})`, atol: 1e-4 };
    },
  })),
  { name: 'F.maxUnpool2d', make: (g) => {
    const k = 2, s = g.rng.pick([1, 2]); g.float([1, 1 + g.rng.int(2), 2 + g.rng.int(5), 2 + g.rng.int(5)], { mode: 'normal' });
    return { ours: ([x]) => { const [y, i] = cc.F.maxPool2d(x, k, { stride: s, returnIndices: true }); return cc.F.maxUnpool2d(y, i, k, { stride: s, outputSize: x.shape.slice(-2) as [number, number] }); },
      torch: `F.max_unpool2d(*F.max_pool2d(x0, ${k}, ${s}, return_indices=True), ${k}, ${s}, output_size=x0.shape[-2:])`,
      // Overlapping windows (stride 1) that name one place: its gradient goes to the value kept there, PyTorch 1.13 sends it to each.
      grad: s === 2 };
  } },
  { name: 'F.affineGrid', make: (g) => {
    const N = 1 + g.rng.int(2); g.float([N, 2, 3]); const size = [N, 1, 1 + g.rng.int(4), 1 + g.rng.int(4)]; const ac = g.rng.chance(0.5);
    return { ours: ([t]) => cc.F.affineGrid(t, size, ac), torch: `F.affine_grid(x0, ${py(size)}, align_corners=${py(ac)})` };
  } },
  { name: 'F.affineGrid 3-D', make: (g) => {
    const N = 1 + g.rng.int(2); g.float([N, 3, 4]); const size = [N, 1, 1 + g.rng.int(3), 1 + g.rng.int(4), 1 + g.rng.int(4)]; const ac = g.rng.chance(0.5);
    return { ours: ([t]) => cc.F.affineGrid(t, size, ac), torch: `F.affine_grid(x0, ${py(size)}, align_corners=${py(ac)})`, atol: 1e-5 };
  } },
  { name: 'F.contrastiveLoss', make: (g) => {
    const N = 1 + g.rng.int(4), D = 1 + g.rng.int(4); g.float([N, D]); g.float([N, D]); g.int([N], 0, 2); const m = g.rng.pick([1, 2]);
    // (1/2N) sum [y d^2 + (1 - y) max(0, margin - d)^2] (Hadsell et al.; no eps).
    return { ours: ([a, b, y]) => cc.F.contrastiveLoss(a, b, y, { margin: m }),
      torch: `(lambda d, y: (y * d ** 2 + (1 - y) * torch.clamp(${m} - d, min=0) ** 2).mean() / 2)(torch.linalg.vector_norm(x0 - x1, dim=1), x2.float())`, tieGrads: true };
  } },
  { name: 'F.spatialPyramidPool2d', mode: 'ties', make: (g) => {
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7), 1 + g.rng.int(7)]); const levels = g.rng.pick([[1], [1, 2], [1, 2, 4], [3]]); const avg = g.rng.chance(0.5);
    const f = avg ? 'adaptive_avg_pool2d' : 'adaptive_max_pool2d';
    return { ours: ([x]) => cc.F.spatialPyramidPool2d(x, levels, { mode: avg ? 'avg' : 'max' }),
      torch: `torch.cat([F.${f}(x0, n).flatten(1) for n in ${py(levels)}], 1)`, loose: [] };
  } },
  { name: 'F.batchNorm running', nanDiffers: 'see Op', make: (g) => {
    const s = [2 + g.rng.int(3), 1 + g.rng.int(3), ...g.shape(0, 2, true)]; g.float(s); g.float([s[1]]); g.float([s[1]]); const momentum = g.rng.pick([0.1, 0.5, 1]);
    return { ours: ([x, w, b]) => {
      const rm = cc.zeros([s[1]], { device: x.device }), rv = cc.ones([s[1]], { device: x.device });
      const y = cc.F.batchNorm(x, rm, rv, w, b, { training: true, momentum });
      return [y, rm, rv];
    }, torch: `bn_run(x0, x1, x2, ${momentum})`, atol: 1e-4 };
  } },
];

/** K random boxes x1, y1, x2, y2 in [-2, 8] (with 'ties', some of zero width or height). */
function boxes(g: Gen, K: number, grad = true): number {
  const data = new Float32Array(K * 4);
  for (let k = 0; k < K; k++) {
    const x1 = g.rng.next() * 8 - 2, y1 = g.rng.next() * 8 - 2;
    const w = g.mode === 'ties' && g.rng.chance(0.3) ? 0 : 0.1 + g.rng.next() * 5, h = g.mode === 'ties' && g.rng.chance(0.3) ? 0 : 0.1 + g.rng.next() * 5;
    data.set([x1, y1, x1 + w, y1 + h], k * 4);
  }
  g.inputs.push({ shape: [K, 4], dtype: 'float32', data: data.map(Math.fround), grad });
  return g.inputs.length - 1;
}

// torchvision.ops' box helpers and non-maximum suppression, and the detection box coder.
const visionOps: Op[] = [
  { name: 'vision.boxArea', make: (g) => { boxes(g, g.rng.int(5)); return { ours: ([b]) => cc.vision.boxArea(b), torch: 'torchvision.ops.box_area(x0)' }; } },
  { name: 'vision.boxIou', make: (g) => { boxes(g, g.rng.int(4)); boxes(g, g.rng.int(4)); return { ours: ([a, b]) => cc.vision.boxIou(a, b), torch: 'torchvision.ops.box_iou(x0, x1)', tieGrads: true }; } },
  { name: 'vision.boxConvert', make: (g) => {
    boxes(g, g.rng.int(4)); const i = g.rng.pick(['xyxy', 'xywh', 'cxcywh'] as const), o = g.rng.pick(['xyxy', 'xywh', 'cxcywh'] as const);
    return { ours: ([b]) => cc.vision.boxConvert(b, i, o), torch: `torchvision.ops.box_convert(x0, ${py(i)}, ${py(o)})` };
  } },
  { name: 'vision.nms', make: (g) => {
    const K = g.rng.int(8); boxes(g, K, false); g.float([K], { grad: false, mode: 'normal' }); const thr = g.rng.pick([0.3, 0.5, 0.7]);
    return { ours: ([b, s]) => cc.vision.nms(b, s, thr), torch: `torchvision.ops.nms(x0, x1, ${thr})`, grad: false };
  } },
  { name: 'vision.batchedNms', make: (g) => {
    const K = g.rng.int(8); boxes(g, K, false); g.float([K], { grad: false, mode: 'normal' }); g.int([K], 0, 3); const thr = g.rng.pick([0.3, 0.5, 0.7]);
    return { ours: ([b, s, i]) => cc.vision.batchedNms(b, s, i, thr), torch: `torchvision.ops.batched_nms(x0, x1, x2, ${thr})`, grad: false };
  } },
  { name: 'vision.encodeBoxes', make: (g) => {
    const K = g.rng.int(4); boxes(g, K); boxes(g, K); const w = g.rng.pick([[1, 1, 1, 1], [10, 10, 5, 5]]);
    return { ours: ([r, p]) => cc.vision.encodeBoxes(r, p, w), torch: `box_coder(${py(w)}).encode_single(x0, x1)`, atol: 1e-4 };
  } },
  { name: 'vision.decodeBoxes', make: (g) => {
    const K = 1 + g.rng.int(4), C = 1 + g.rng.int(2); g.float([K, 4 * C]); boxes(g, K); const w = g.rng.pick([[1, 1, 1, 1], [10, 10, 5, 5]]);
    return { ours: ([d, p]) => cc.vision.decodeBoxes(d, p, w), torch: `box_coder(${py(w)}).decode_single(x0, x1)`, atol: 1e-4 };
  } },
];

// Layout, selection and the rest of F.
const layoutOps: Op[] = [
  { name: 'F.rrelu eval', make: (g) => { g.float(g.shape()); const lo = g.rng.pick([0.125, 0.1]), hi = g.rng.pick([1 / 3, 0.3]); return { ours: ([x]) => cc.F.rrelu(x, lo, hi, false), torch: `F.rrelu(x0, ${lo}, ${hi}, training=False)` }; } },
  { name: 'F.channelShuffle', make: (g) => { const gr = 1 + g.rng.int(3); g.float([1 + g.rng.int(2), gr * (1 + g.rng.int(3)), 1 + g.rng.int(3), 1 + g.rng.int(3)]); return { ours: ([x]) => cc.F.channelShuffle(x, gr), torch: `torch.nn.ChannelShuffle(${gr})(x0)`, grad: false }; } },  // no backward in PyTorch 1.13
  { name: 'F.bilinear', make: (g) => { const N = 1 + g.rng.int(3), a = 1 + g.rng.int(3), b = 1 + g.rng.int(3), o = 1 + g.rng.int(3); g.float([N, a]); g.float([N, b]); g.float([o, a, b]); g.float([o]); return { ours: ([x, y, w, bb]) => cc.F.bilinear(x, y, w, bb), torch: 'F.bilinear(x0, x1, x2, x3)' }; } },
  { name: 'F.adaptiveMaxPool1d', mode: 'ties', make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7)]); const o = 1 + g.rng.int(5); return { ours: ([x]) => cc.F.adaptiveMaxPool1d(x, o, { returnIndices: true }), torch: `F.adaptive_max_pool1d(x0, ${o}, return_indices=True)` }; } },
  { name: 'F.lpPool1d', mode: 'positive', refuses: /too small/, make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(7)]); const k = 1 + g.rng.int(3), st = 1 + g.rng.int(3), p = g.rng.pick([1, 2, 3]); return { ours: ([x]) => cc.F.lpPool1d(x, p, k, { stride: st }), torch: `F.lp_pool1d(x0, ${p}, ${k}, ${st})` }; } },
  { name: 'F.multilabelMarginLoss', tieGrads: true, make: (g) => {
    const N = 1 + g.rng.int(3), C = 1 + g.rng.int(4); g.float([N, C]);
    const t = new Int32Array(N * C).fill(-1);
    for (let i = 0; i < N; i++) { const k = g.rng.int(C + 1); for (let j = 0; j < k; j++) t[i * C + j] = g.rng.int(C); }
    g.inputs.push({ shape: [N, C], dtype: 'int32', data: t, grad: false });
    return { ours: ([x, y]) => cc.F.multilabelMarginLoss(x, I32(y)), torch: 'F.multilabel_margin_loss(x0, x1)' };
  } },
  { name: 'maskedSelect', mode: 'ties', make: (g) => { const s = g.shape(); g.float(s); g.float(g.inside(s), { grad: false }); return { ours: ([x, m]) => cc.maskedSelect(x, cc.gt(m, 0)), torch: 'torch.masked_select(x0, x1 > 0)' }; } },
  { name: 'nonzero', mode: 'ties', make: (g) => { g.float(g.shape(), { grad: false }); return { ours: ([x]) => cc.nonzero(x), torch: 'torch.nonzero(x0)', grad: false }; } },
  { name: 'tensorSplit', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length); const n = 1 + g.rng.int(4); return { ours: ([x]) => cc.tensorSplit(x, n, a), torch: `torch.tensor_split(x0, ${n}, ${a})` }; } },
  { name: 'chunk', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length); const n = 1 + g.rng.int(4); return { ours: ([x]) => cc.chunk(x, n, a), torch: `torch.chunk(x0, ${n}, ${a})` }; } },
  { name: 'unbind', make: (g) => { const s = g.shape(1); g.float(s); const a = g.axis(s.length); return { ours: ([x]) => cc.unbind(x, a), torch: `torch.unbind(x0, ${a})` }; } },
  { name: 'narrow', make: (g) => { const s = g.shape(1, 4, true); g.float(s); const a = g.axis(s.length); const n = s[a < 0 ? a + s.length : a]; const st = g.rng.int(n); const len = g.rng.int(n - st + 1); return { ours: ([x]) => cc.narrow(x, a, st, len), torch: `torch.narrow(x0, ${a}, ${st}, ${len})` }; } },
  { name: 'unflatten', make: (g) => { const s = g.shape(1, 3, true); const a = g.axis(s.length); const k = g.rng.pick([1, 2]); s[a < 0 ? a + s.length : a] *= k; g.float(s); return { ours: ([x]) => cc.unflatten(x, a, [k, -1]), torch: `torch.unflatten(x0, ${a}, (${k}, -1))` }; } },
  { name: 'hstack', make: (g) => { const s = g.shape(1, 3); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float(s); return { ours: (x) => cc.hstack(x), torch: `torch.hstack([${xs(n)}])` }; } },
  { name: 'vstack', make: (g) => { const s = g.shape(1, 3); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float(s); return { ours: (x) => cc.vstack(x), torch: `torch.vstack([${xs(n)}])` }; } },
  { name: 'dstack', make: (g) => { const s = g.shape(0, 3); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float(s); return { ours: (x) => cc.dstack(x), torch: `torch.dstack([${xs(n)}])` }; } },
  { name: 'columnStack', make: (g) => { const s = g.shape(0, 2); const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float(s); return { ours: (x) => cc.columnStack(x), torch: `torch.column_stack([${xs(n)}])` }; } },
  // No empty 1-D blocks: PyTorch 1.13's backward then takes the next block's gradient from the wrong rows.
  { name: 'blockDiag', make: (g) => { const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) { const sh = g.shape(0, 2); g.float(sh.length === 1 && sh[0] === 0 ? [1] : sh); } return { ours: (x) => cc.blockDiag(x), torch: `torch.block_diag(${xs(n)})` }; } },
  { name: 'cartesianProd', make: (g) => { const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float([g.rng.int(4)]); return { ours: (x) => cc.cartesianProd(x), torch: `torch.cartesian_prod(${xs(n)})` }; } },
  { name: 'meshgrid', make: (g) => { const n = 1 + g.rng.int(3); for (let i = 0; i < n; i++) g.float([g.rng.int(4)]); const ix = g.rng.pick(['ij', 'xy'] as const); return { ours: (x) => cc.meshgrid(x, { indexing: ix }), torch: `torch.meshgrid(${xs(n)}, indexing=${py(ix)})` }; } },
  { name: 'atleast2d', make: (g) => { g.float(g.shape(0, 3)); return { ours: ([x]) => cc.atleast2d(x), torch: 'torch.atleast_2d(x0)' }; } },
  { name: 'trilIndices', make: (g) => { const r = g.rng.int(5), c = g.rng.int(5), o = g.rng.int(5) - 2; return { ours: () => cc.trilIndices(r, c, o), torch: `torch.tril_indices(${r}, ${c}, ${o})`, grad: false }; } },
  { name: 'nanquantile', mode: 'nan', nanDiffers: 'see Op', make: (g) => { const s = g.shape(1, 3, true); g.float(s); const q = g.rng.pick([0, 0.5, 0.3, 1]); const a = g.rng.chance(0.5) ? undefined : g.axis(s.length); return { ours: ([x]) => cc.nanquantile(x, q, { dim: a }), torch: `torch.nanquantile(x0, ${q}, dim=${py(a)})`, grad: false }; } },
  { name: 'aminmax', mode: 'ties', tieGrads: true, make: (g) => { const s = g.shape(1, 3, true); g.float(s); const a = g.rng.chance(0.3) ? undefined : g.axis(s.length); const k = g.rng.chance(0.5); return { ours: ([x]) => { const r = cc.aminmax(x, { dim: a, keepdim: k }); return [r.min, r.max]; }, torch: `torch.aminmax(x0, dim=${py(a)}, keepdim=${py(k)})`, grad: false }; } },  // no backward in PyTorch 1.13
];

// In-place writes (values only: they are not recorded), on a clone of x0; the operand broadcasts to x0.
const inplaceOps: Op[] = [
  ...(['add_', 'sub_', 'mul_', 'div_'] as const).map((name): Op => ({
    name,
    make: (g) => {
      const s = g.shape(); g.float(s, { grad: false }); const num = g.rng.chance(0.3); if (!num) g.float(g.inside(s), { grad: false });
      const v = g.value('normal'); const alpha = (name === 'add_' || name === 'sub_') && g.rng.chance(0.5) ? g.rng.pick([2, -0.5]) : undefined;
      const opts = alpha === undefined ? undefined : { alpha };
      return {
        ours: ([x, y]) => (cc.clone(x) as unknown as Record<string, (o: unknown, p?: unknown) => T>)[name](num ? v : y, opts),
        torch: `x0.clone().${name}(${num ? `torch.tensor(${py(v)})` : 'x1'}${alpha === undefined ? '' : `, alpha=${alpha}`})`, grad: false,
      };
    },
  })),
  { name: 'clamp_', mode: 'ties', make: (g) => { const s = g.shape(); g.float(s, { grad: false }); const lo = g.rng.pick([-1, 0, null]), hi = g.rng.pick([1, 0.5, null]); return { ours: ([x]) => cc.clone(x).clamp_(lo, hi ?? (lo === null ? 1 : null)), torch: `x0.clone().clamp_(${py(lo)}, ${py(hi ?? (lo === null ? 1 : null))})`, grad: false }; } },
  { name: 'copy_', make: (g) => { const s = g.shape(); g.float(s, { grad: false }); g.float(g.inside(s), { grad: false }); return { ours: ([x, y]) => cc.clone(x).copy_(y), torch: 'x0.clone().copy_(x1)', grad: false }; } },
  { name: 'fill_', make: (g) => { g.float(g.shape(), { grad: false }); const v = g.value(); return { ours: ([x]) => cc.clone(x).fill_(v), torch: `x0.clone().fill_(${py(v)})`, grad: false }; } },
];

// More indexing, layout and the linear algebra (torch.linalg). Matrices are kept well
// conditioned (A + 3I; A A^T + nI for the symmetric positive definite ones), and where a
// factorization's signs are a convention (QR, the eigenvectors, SVD) both sides normalize them
// the same way before the comparison, so the gradients compared are those of the invariants.
const plus3 = (x: T): T => cc.add(x, cc.mul(cc.eye(x.shape[x.rank - 1], { device: x.device }), 3));
const spd = (x: T): T => cc.add(cc.matmul(x, cc.transpose(x, -2, -1)), cc.mul(cc.eye(x.shape[x.rank - 1], { device: x.device }), x.shape[x.rank - 1]));
const PY_PLUS3 = (x: string) => `(${x} + 3 * torch.eye(${x}.shape[-1]))`;
const PY_SPD = (x: string) => `(${x} @ ${x}.mT + ${x}.shape[-1] * torch.eye(${x}.shape[-1]))`;
/** An optional batch axis, then an n x m matrix. */
const matShape = (g: Gen, n: number, m = n): number[] => [...(g.rng.chance(0.3) ? [1 + g.rng.int(2)] : []), n, m];
/** `count` distinct values from [0, n) in random order. */
const distinctInts = (g: Gen, n: number, count: number): Int32Array => {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = g.rng.int(i + 1); [all[i], all[j]] = [all[j], all[i]]; }
  return Int32Array.from(all.slice(0, count));
};
const linalg = cc.linalg;
/** x + 3 I for a rectangular (or batched) x: well conditioned. */
const plus3eye = (x: T): T => cc.add(x, cc.mul(cc.eye(x.shape[x.rank - 2], x.shape[x.rank - 1], { device: x.device }), 3));

const linalgOps: Op[] = [
  { name: 'acosh', make: (g) => { g.float(g.shape(), { mode: g.mode === 'normal' ? 'positive' : undefined }); return { ours: ([x]) => cc.acosh(cc.add(x, 1)), torch: 'torch.acosh(x0 + 1)' }; } },
  // nanDiffers: PyTorch 1.13's polygamma(n >= 2) is NaN at +inf (the limit is 0, as here) and +-inf at -inf (no limit: NaN here).
  { name: 'polygamma', mode: 'positive', poles: true, nanDiffers: 'infinities', make: (g) => { g.float(g.shape()); const n = g.rng.int(4); return { ours: ([x]) => cc.polygamma(n, x), torch: `torch.polygamma(${n}, x0)`, grad: g.mode === 'positive' }; } },
  { name: 'scatterReduce', mode: 'ties', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a;
    const is = s.map((d, i) => (i === ax ? g.rng.int(4) : 1 + g.rng.int(d))); g.int(is, 0, s[ax]); g.float(is);
    const reduce = g.rng.pick(['sum', 'prod', 'mean', 'amax', 'amin'] as const); const includeSelf = g.rng.chance(0.5);
    // tieGrads without includeSelf: where x's entry equals the written max, PyTorch 1.13 counts it among the ties
    // (halving the sources' shares) and then gives it nothing, so half the gradient is lost; here the sources share all of it.
    return { ours: ([x, i, src]) => cc.scatterReduce(x, a, I32(i), src, reduce, { includeSelf }), torch: `torch.scatter_reduce(x0, ${a}, x1, x2, ${py(reduce)}, include_self=${py(includeSelf)})`,
      tieGrads: !includeSelf && (reduce === 'amax' || reduce === 'amin') };
  } },
  { name: 'indexCopy', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const a = g.axis(s.length); const ax = a < 0 ? a + s.length : a; const n = g.rng.int(s[ax] + 1);
    g.inputs.push({ shape: [n], dtype: 'int32', data: distinctInts(g, s[ax], n), grad: false }); g.float(s.map((d, i) => (i === ax ? n : d)));
    return { ours: ([x, i, src]) => cc.indexCopy(x, a, I32(i), src), torch: `torch.index_copy(x0, ${a}, x1, x2)` };
  } },
  { name: 'indexPut', make: (g) => {
    const s = g.shape(1, 3, true); g.float(s); const k = 1 + g.rng.int(s.length); const accumulate = g.rng.chance(0.5);
    // Without accumulate, distinct targets (PyTorch leaves the winner of a duplicate open): the first index distinct.
    const n = accumulate ? g.rng.int(5) : g.rng.int(s[0] + 1);
    g.inputs.push({ shape: [n], dtype: 'int32', data: accumulate ? Int32Array.from({ length: n }, () => g.rng.int(2 * s[0]) - s[0]) : distinctInts(g, s[0], n), grad: false });
    for (let d = 1; d < k; d++) g.int(g.rng.chance(0.3) ? [1] : [n], -s[d], s[d]);
    const num = g.rng.chance(0.2); const v = g.value('normal');
    if (!num) g.float(g.inside([n, ...s.slice(k)]));
    const values = num ? py(v) : `x${k + 1}`;
    return { ours: (x) => cc.indexPut(x[0], x.slice(1, k + 1).map(I32), num ? v : x[k + 1], { accumulate }),
      torch: `torch.index_put(x0, (${xs(k + 1).split(', ').slice(1).join(', ')},), ${num ? `torch.tensor(${values})` : values}, accumulate=${py(accumulate)})` };
  } },
  { name: 'maskedScatter', mode: 'ties', make: (g) => {
    const s = g.shape(); g.float(s); g.float(g.inside(s), { grad: false }); g.float([s.reduce((p, q) => p * q, 1) + g.rng.int(3)]);
    return { ours: ([x, m, src]) => cc.maskedScatter(x, cc.gt(m, 0), src), torch: 'torch.masked_scatter(x0, x1 > 0, x2)' };
  } },
  { name: 'uniqueConsecutive', mode: 'ties', make: (g) => {
    const s = g.shape(0, 3); g.float(s, { grad: false }); const dim = s.length > 0 && g.rng.chance(0.4) ? g.axis(s.length) : undefined;
    if (dim !== undefined && s[dim < 0 ? dim + s.length : dim] === 0) return { ours: ([x]) => cc.uniqueConsecutive(x), torch: 'torch.unique_consecutive(x0)', grad: false };
    return { ours: ([x]) => { const r = cc.uniqueConsecutive(x, { returnInverse: true, returnCounts: true, dim }); return [r.values, r.inverse, r.counts]; },
      torch: `torch.unique_consecutive(x0, return_inverse=True, return_counts=True, dim=${py(dim)})`, grad: false };
  } },
  { name: 'argsort', mode: 'ties', make: (g) => { const s = g.shape(0, 3); g.float(s, { grad: false }); const a = g.axis(s.length); const d = g.rng.chance(0.5); return { ours: ([x]) => cc.argsort(x, { dim: a, descending: d }), torch: `torch.sort(x0, dim=${a}, descending=${py(d)}, stable=True).indices`, grad: false }; } },
  { name: 'bucketize', mode: 'ties', make: (g) => {
    g.inputs.push({ shape: [g.rng.int(5)], dtype: 'float32', data: new Float32Array(0), grad: false });
    const b = g.inputs[0]; b.data = Float32Array.from({ length: b.shape[0] }, () => g.value()).sort();
    g.float(g.shape(0, 3), { grad: false }); const right = g.rng.chance(0.5);
    return { ours: ([bd, x]) => cc.bucketize(x, bd, { right }), torch: `torch.bucketize(x1, x0, right=${py(right)})`, grad: false };
  } },
  { name: 'slogdet', nanDiffers: 'LU with infinities', tieGrads: true, make: (g) => { g.float(matShape(g, g.rng.int(4))); return { ours: ([x]) => { const r = cc.slogdet(x); return [r.sign, r.logabsdet]; }, torch: 'torch.linalg.slogdet(x0)', atol: 1e-4, grad: g.mode === 'normal' }; } },
  { name: 'matrixPower', nanDiffers: 'LU with infinities', make: (g) => { g.float(matShape(g, 1 + g.rng.int(3))); const n = g.rng.int(7) - 2; return { ours: ([x]) => cc.matrixPower(plus3(x), n), torch: `torch.linalg.matrix_power(${PY_PLUS3('x0')}, ${n})`, atol: 1e-3 }; } },
  { name: 'cholesky', nanDiffers: 'factorizations', make: (g) => { g.float(matShape(g, g.rng.int(4))); const upper = g.rng.chance(0.5); return { ours: ([x]) => cc.cholesky(spd(x), { upper }), torch: `torch.linalg.cholesky(${PY_SPD('x0')}, upper=${py(upper)})`, atol: 1e-4 }; } },
  { name: 'linalg.solve', nanDiffers: 'LU with infinities', make: (g) => {
    const n = g.rng.int(4); const A = matShape(g, n); g.float(A); const left = g.rng.chance(0.7); const vec = left && A.length === 2 && n > 1 && g.rng.chance(0.3);   // n = 1: PyTorch 1.13's backward takes [1] for a batch
    g.float(vec ? [n] : left ? [...A.slice(0, -1), 1 + g.rng.int(3)] : [...A.slice(0, -2), 1 + g.rng.int(3), n]);
    return { ours: ([a, b]) => linalg.solve(plus3(a), b, { left }), torch: `torch.linalg.solve(${PY_PLUS3('x0')}, x1, left=${py(left)})`, atol: 1e-4 };
  } },
  { name: 'linalg.solveTriangular', nanDiffers: 'factorizations', make: (g) => {
    const n = g.rng.int(4); const A = matShape(g, n); g.float(A); const upper = g.rng.chance(0.5), left = g.rng.chance(0.7), unit = g.rng.chance(0.3);
    g.float(left ? [...A.slice(0, -1), 1 + g.rng.int(3)] : [...A.slice(0, -2), 1 + g.rng.int(3), n]);
    // The whole of A + 3I goes in: the other triangle must be ignored, and get no gradient.
    return { ours: ([a, b]) => linalg.solveTriangular(plus3(a), b, { upper, left, unitriangular: unit }),
      torch: `torch.linalg.solve_triangular(${PY_PLUS3('x0')}, x1, upper=${py(upper)}, left=${py(left)}, unitriangular=${py(unit)})`, atol: 1e-4 };
  } },
  { name: 'linalg.qr', nanDiffers: 'factorizations', make: (g) => {
    const n = 1 + g.rng.int(3); g.float(matShape(g, n + g.rng.int(3), n));
    // R's diagonal made positive on both sides (LAPACK leaves its signs open).
    return { ours: ([x]) => { const { Q, R } = linalg.qr(x); const d = cc.sign(cc.diagonal(R, 0, -2, -1)); return [cc.mul(Q, cc.unsqueeze(d, -2)), cc.mul(R, cc.unsqueeze(d, -1))]; },
      torch: '(lambda Q, R: (lambda d: (Q * d.unsqueeze(-2), R * d.unsqueeze(-1)))(torch.sign(torch.diagonal(R, 0, -2, -1))))(*torch.linalg.qr(x0))', atol: 1e-4, grad: g.mode === 'normal', loose: g.mode === 'normal' ? [] : [0, 1] };
  } },
  { name: 'linalg.eigh', nanDiffers: 'factorizations', make: (g) => {
    g.float(matShape(g, 1 + g.rng.int(4))); const vecs = g.rng.chance(0.5);
    // Symmetric (x + x^T) / 2; the eigenvectors' signs fixed by their first entries.
    const sym = (x: T) => cc.mul(cc.add(x, cc.transpose(x, -2, -1)), 0.5);
    if (!vecs) return { ours: ([x]) => linalg.eigvalsh(sym(x)), torch: 'torch.linalg.eigvalsh((x0 + x0.mT) / 2)', atol: 1e-4, grad: g.mode === 'normal' };
    return { ours: ([x]) => { const { eigenvalues: w, eigenvectors: V } = linalg.eigh(sym(x)); return [w, cc.mul(V, cc.sign(cc.narrow(V, -2, 0, 1)))]; },
      torch: '(lambda w, V: (w, V * torch.sign(V[..., :1, :])))(*torch.linalg.eigh((x0 + x0.mT) / 2))', atol: 1e-4, grad: g.mode === 'normal', loose: g.mode === 'normal' ? [] : [1] };
  } },
  { name: 'linalg.svd', nanDiffers: 'factorizations', make: (g) => {
    const m = 1 + g.rng.int(4), n = 1 + g.rng.int(4); g.float(matShape(g, m, n)); const vals = g.rng.chance(0.5);
    if (vals) return { ours: ([x]) => linalg.svdvals(x), torch: 'torch.linalg.svdvals(x0)', atol: 1e-4, grad: g.mode === 'normal' };
    // U's columns signed by their first entries, Vh's rows with them.
    return { ours: ([x]) => { const { U, S, Vh } = linalg.svd(x, { fullMatrices: false }); const d = cc.sign(cc.narrow(U, -2, 0, 1)); return [cc.mul(U, d), S, cc.mul(Vh, cc.transpose(d, -2, -1))]; },
      torch: '(lambda U, S, Vh: (lambda d: (U * d, S, Vh * d.mT))(torch.sign(U[..., :1, :])))(*torch.linalg.svd(x0, full_matrices=False))', atol: 1e-4, grad: g.mode === 'normal', loose: g.mode === 'normal' ? [] : [0, 2] };
  } },
  { name: 'linalg.pinv', nanDiffers: 'factorizations', make: (g) => { g.float(matShape(g, 1 + g.rng.int(4), 1 + g.rng.int(4))); return { ours: ([x]) => linalg.pinv(plus3eye(x)), torch: 'torch.linalg.pinv(x0 + 3 * torch.eye(x0.shape[-2], x0.shape[-1]))', atol: 1e-3, grad: g.mode === 'normal' }; } },
  { name: 'linalg.matrixRank', nanDiffers: 'factorizations', make: (g) => { g.float(matShape(g, g.rng.int(4), g.rng.int(4)), { grad: false }); return { ours: ([x]) => linalg.matrixRank(x), torch: 'torch.linalg.matrix_rank(x0)', grad: false }; } },
  { name: 'linalg.lstsq', nanDiffers: 'factorizations', make: (g) => {
    const n = 1 + g.rng.int(3), m = n + g.rng.int(3); g.float([m, n]); g.float([m, 1 + g.rng.int(3)]);
    return { ours: ([a, b]) => linalg.lstsq(plus3eye(a), b).solution, torch: `torch.linalg.lstsq(x0 + 3 * torch.eye(${m}, ${n}), x1).solution`, atol: 1e-4, grad: g.mode === 'normal' };
  } },
  // refuses: the SVD of a non-finite matrix, refused as in later PyTorch (1.13's CPU gives NaN).
  { name: 'linalg.matrixNorm', tieGrads: true, refuses: /non-finite values/, make: (g) => {
    g.float(matShape(g, g.rng.int(4), g.rng.int(4))); const ord = g.rng.pick(['fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity] as const); const k = g.rng.chance(0.3);
    return { ours: ([x]) => linalg.matrixNorm(x, ord, [-2, -1], k), torch: `torch.linalg.matrix_norm(x0, ${typeof ord === 'string' ? py(ord) : py(ord)}, keepdim=${py(k)})`, atol: 1e-4, grad: g.mode === 'normal' || typeof ord === 'string' && ord === 'fro' };
  } },
  { name: 'linalg.vectorNorm', tieGrads: true, make: (g) => {
    const s = g.shape(0, 3); g.float(s); const ord = g.rng.pick([2, 1, 0, 3, 0.5, Infinity, -Infinity]); const d = g.rng.chance(0.3) ? undefined : g.axes(s.length); const k = g.rng.chance(0.3);
    return { ours: ([x]) => linalg.vectorNorm(x, ord, d, k), torch: `torch.linalg.vector_norm(x0, ${py(ord)}, dim=${py(d && d.length ? d : null)}, keepdim=${py(k)})`, atol: 1e-4 };
  } },
  { name: 'linalg.cond', nanDiffers: 'factorizations', make: (g) => {
    // Normal values even in 'ties' cases: a singular A + 3I's condition number is rounding noise (1e8 or 1e17 or inf).
    g.float(matShape(g, 1 + g.rng.int(3)), { mode: 'normal' }); const p = g.rng.pick([null, 'fro', 'nuc', 1, -1, 2, -2, Infinity] as const);
    // Gradients only through the singular values: PyTorch 1.13's backward through cond's inverse (the other orders) fails.
    return { ours: ([x]) => linalg.cond(plus3(x), p), torch: `torch.linalg.cond(${PY_PLUS3('x0')}, ${py(p)})`, atol: 1e-3, grad: g.mode === 'normal' && (p === null || p === 2 || p === -2) };
  } },
  { name: 'linalg.multiDot', nanDiffers: 'PyTorch picks the order of the products, which decides where inf * 0 meets', make: (g) => {
    const n = 2 + g.rng.int(3); const dims = Array.from({ length: n + 1 }, () => 1 + g.rng.int(3)); const first = g.rng.chance(0.3), last = g.rng.chance(0.3);
    for (let i = 0; i < n; i++) g.float(i === 0 && first ? [dims[1]] : i === n - 1 && last ? [dims[i]] : [dims[i], dims[i + 1]]);
    return { ours: (x) => linalg.multiDot(x), torch: `torch.linalg.multi_dot([${xs(n)}])`, atol: 1e-4 };
  } },
  // permissive: PyTorch 1.13's vecdot refuses to broadcast a size-1 last axis (later versions do).
  { name: 'linalg.vecdot', make: (g) => { const s = g.shape(1); g.float(s); g.float(g.partner(s)); return { ours: ([a, b]) => linalg.vecdot(a, b), torch: 'torch.linalg.vecdot(x0, x1)', permissive: true }; } },
  { name: 'F.linear', make: (g) => {
    const i = 1 + g.rng.int(4), o = g.rng.int(4); g.float([...g.shape(0, 2), i]); g.float([o, i]); const b = g.rng.chance(0.6); if (b) g.float([o]);
    return { ours: (x) => cc.F.linear(x[0], x[1], b ? x[2] : null), torch: `F.linear(x0, x1, ${b ? 'x2' : 'None'})` };
  } },
  { name: 'F.convTranspose1d', nanDiffers: 'see Op', make: (g) => {
    const groups = g.rng.pick([1, 1, 2]); const cin = groups * (1 + g.rng.int(2)), cout = groups * (1 + g.rng.int(2)); const k = 1 + g.rng.int(4);
    const stride = 1 + g.rng.int(3), dilation = 1 + g.rng.int(2), padding = g.rng.int(2); const op = g.rng.int(Math.max(stride, dilation));
    g.float([1 + g.rng.int(2), cin, 1 + g.rng.int(6)]); g.float([cin, cout / groups, k]); const bias = g.rng.chance(0.5); if (bias) g.float([cout]);
    return { ours: (x) => cc.F.convTranspose1d(x[0], x[1], bias ? x[2] : null, { stride, padding, outputPadding: op, groups, dilation }),
      torch: `F.conv_transpose1d(x0, x1, ${bias ? 'x2' : 'None'}, stride=${stride}, padding=${padding}, output_padding=${op}, groups=${groups}, dilation=${dilation})` };
  } },
  // No empty batch: PyTorch 1.13's pdist backward of [0, M] crashes the process (here: an empty gradient).
  { name: 'F.maxUnpool1d', make: (g) => {
    const k = 1 + g.rng.int(3), st = k + g.rng.int(2), pad = g.rng.int(Math.floor(k / 2) + 1); const L = k + g.rng.int(7);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), L]);
    // Non-overlapping windows (stride >= kernel): each place named once (PyTorch sends a repeated place's gradient to each).
    return { ours: ([x]) => { const [y, i] = cc.F.maxPool1d(x, k, { stride: st, padding: pad, returnIndices: true }); return cc.F.maxUnpool1d(y, i, k, { stride: st, padding: pad, outputSize: [L] }); },
      torch: `F.max_unpool1d(*F.max_pool1d(x0, ${k}, ${st}, ${pad}, return_indices=True), ${k}, ${st}, ${pad}, output_size=x0.shape[-1:])`, tieGrads: true };
  } },
  { name: 'F.conv3d', nanDiffers: 'see Op', make: (g) => {
    const groups = g.rng.pick([1, 1, 2]); const cin = groups * (1 + g.rng.int(2)), cout = groups * (1 + g.rng.int(2));
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const stride = [1 + g.rng.int(2), 1 + g.rng.int(2), 1], dilation = [1 + g.rng.int(2), 1, 1 + g.rng.int(2)];
    const same = g.rng.chance(0.25); const padding = same ? 'same' : [g.rng.int(2), g.rng.int(2), 0];
    if (same) stride.fill(1);
    g.float([g.rng.chance(0.1) ? 0 : 1 + g.rng.int(2), cin, 3 + g.rng.int(4), 3 + g.rng.int(4), 2 + g.rng.int(3)]); g.float([cout, cin / groups, ...k]); const bias = g.rng.chance(0.5); if (bias) g.float([cout]);
    return { ours: (x) => cc.F.conv3d(x[0], x[1], bias ? x[2] : null, { stride: stride as [number, number, number], padding: padding as [number, number, number] | 'same', dilation: dilation as [number, number, number], groups }),
      torch: `F.conv3d(x0, x1, ${bias ? 'x2' : 'None'}, stride=${py(stride)}, padding=${py(padding)}, dilation=${py(dilation)}, groups=${groups})`, atol: 1e-4 };
  } },
  // An empty batch whose output would be empty too: PyTorch skips its size check then, we keep it.
  { name: 'F.convTranspose3d', nanDiffers: 'see Op', refuses: /would be empty|empty output depth/, make: (g) => {
    const groups = g.rng.pick([1, 1, 2]); const cin = groups * (1 + g.rng.int(2)), cout = groups * (1 + g.rng.int(2));
    const k = [1 + g.rng.int(3), 1 + g.rng.int(2), 1 + g.rng.int(3)]; const stride = [1 + g.rng.int(3), 1 + g.rng.int(2), 1], dilation = [1 + g.rng.int(2), 1, 1 + g.rng.int(2)];
    const padding = [g.rng.int(2), g.rng.int(2), g.rng.int(2)]; const op = [0, 1, 2].map((a) => g.rng.int(Math.max(stride[a], dilation[a])));
    g.float([g.rng.chance(0.1) ? 0 : 1 + g.rng.int(2), cin, 1 + g.rng.int(4), 1 + g.rng.int(4), 1 + g.rng.int(3)]); g.float([cin, cout / groups, ...k]); const bias = g.rng.chance(0.5); if (bias) g.float([cout]);
    const t3 = (v: number[]) => v as [number, number, number];
    return { ours: (x) => cc.F.convTranspose3d(x[0], x[1], bias ? x[2] : null, { stride: t3(stride), padding: t3(padding), outputPadding: t3(op), groups, dilation: t3(dilation) }),
      torch: `F.conv_transpose3d(x0, x1, ${bias ? 'x2' : 'None'}, stride=${py(stride)}, padding=${py(padding)}, output_padding=${py(op)}, groups=${groups}, dilation=${py(dilation)})`, atol: 1e-4 };
  } },
  { name: 'F.maxPool3d', mode: 'ties', refuses: /holds only padding/, make: (g) => {
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const st = [1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const pad = k.map((kk) => g.rng.int(Math.floor(kk / 2) + 1));
    const dil = [1 + g.rng.int(2), 1, 1 + g.rng.int(2)]; const ceil = g.rng.chance(0.5);
    g.float([...(g.rng.chance(0.3) ? [] : [1 + g.rng.int(2)]), 1 + g.rng.int(2), 1 + g.rng.int(6), 1 + g.rng.int(6), 1 + g.rng.int(5)]);
    const t3 = (v: number[]) => v as [number, number, number];
    return { ours: ([x]) => cc.F.maxPool3d(x, t3(k), { stride: t3(st), padding: t3(pad), dilation: t3(dil), ceilMode: ceil, returnIndices: true }),
      torch: `F.max_pool3d(x0, ${py(k)}, ${py(st)}, ${py(pad)}, ${py(dil)}, ceil_mode=${py(ceil)}, return_indices=True)` };
  } },
  // permissive: PyTorch 1.13's avg_pool3d (not its avg_pool2d, nor max_pool3d) refuses an input smaller than the kernel even where the padding makes room.
  { name: 'F.avgPool3d', make: (g) => {
    const k = [1 + g.rng.int(3), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const st = [1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const pad = k.map((kk) => g.rng.int(Math.floor(kk / 2) + 1));
    const ceil = g.rng.chance(0.5), cip = g.rng.chance(0.5); const div = g.rng.chance(0.2) ? 5 : undefined;
    g.float([...(g.rng.chance(0.3) ? [] : [1 + g.rng.int(2)]), 1 + g.rng.int(2), 1 + g.rng.int(6), 1 + g.rng.int(6), 1 + g.rng.int(5)]);
    const t3 = (v: number[]) => v as [number, number, number];
    return { ours: ([x]) => cc.F.avgPool3d(x, t3(k), { stride: t3(st), padding: t3(pad), ceilMode: ceil, countIncludePad: cip, divisorOverride: div }),
      torch: `F.avg_pool3d(x0, ${py(k)}, ${py(st)}, ${py(pad)}, ceil_mode=${py(ceil)}, count_include_pad=${py(cip)}, divisor_override=${py(div)})`, permissive: true };
  } },
  // PyTorch 1.13 has no lp_pool3d: its 2.2 definition, written out.
  { name: 'F.lpPool3d', mode: 'positive', make: (g) => {
    const k = [1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(3)]; const st = [1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const ceil = g.rng.chance(0.5); const p = g.rng.pick([1, 2, 3, 1.5]);
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 2 + g.rng.int(4), 3 + g.rng.int(4), 3 + g.rng.int(4)]);
    const t3 = (v: number[]) => v as [number, number, number];
    return { ours: ([x]) => cc.F.lpPool3d(x, p, t3(k), { stride: t3(st), ceilMode: ceil }),
      torch: `(lambda o: (torch.sign(o) * F.relu(torch.abs(o))).mul(${k[0] * k[1] * k[2]}).pow(1.0 / ${p}))(F.avg_pool3d(x0.pow(${p}), ${py(k)}, ${py(st)}, 0, ${py(ceil)}))` };
  } },
  { name: 'F.adaptiveAvgPool3d', make: (g) => {
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(5), 1 + g.rng.int(6), 1 + g.rng.int(6)]); const o = [1 + g.rng.int(4), g.rng.chance(0.2) ? null : 1 + g.rng.int(4), 1 + g.rng.int(4)];
    return { ours: ([x]) => cc.F.adaptiveAvgPool3d(x, o as [number, number | null, number]), torch: `F.adaptive_avg_pool3d(x0, ${py(o)})` };
  } },
  { name: 'F.adaptiveMaxPool3d', mode: 'ties', make: (g) => {
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(5), 1 + g.rng.int(6), 1 + g.rng.int(6)]); const o = [1 + g.rng.int(4), 1 + g.rng.int(4), 1 + g.rng.int(4)];
    return { ours: ([x]) => cc.F.adaptiveMaxPool3d(x, o as [number, number, number], { returnIndices: true }), torch: `F.adaptive_max_pool3d(x0, ${py(o)}, return_indices=True)` };
  } },
  { name: 'F.maxUnpool3d', make: (g) => {
    const k = [1 + g.rng.int(2), 1 + g.rng.int(3), 1 + g.rng.int(2)]; const st = k.map((kk) => kk + g.rng.int(2)); const pad = k.map((kk) => g.rng.int(Math.floor(kk / 2) + 1));
    const size = k.map((kk) => kk + g.rng.int(4));
    g.float([1 + g.rng.int(2), 1 + g.rng.int(2), ...size]);
    const t3 = (v: number[]) => v as [number, number, number];
    // Non-overlapping windows (stride >= kernel): each place named once (PyTorch sends a repeated place's gradient to each).
    return { ours: ([x]) => { const [y, i] = cc.F.maxPool3d(x, t3(k), { stride: t3(st), padding: t3(pad), returnIndices: true }); return cc.F.maxUnpool3d(y, i, t3(k), { stride: t3(st), padding: t3(pad), outputSize: size }); },
      torch: `F.max_unpool3d(*F.max_pool3d(x0, ${py(k)}, ${py(st)}, ${py(pad)}, return_indices=True), ${py(k)}, ${py(st)}, ${py(pad)}, output_size=x0.shape[-3:])`, tieGrads: true };
  } },
  // Compared through a log-softmax, the use the loss has: PyTorch's gradient with respect to
  // log_probs adds exp(log_probs), which the softmax's takes away (native/cpu/ctc_loss.cc).
  // The recurrent layers over random configurations (PyTorch's modules through functional_call,
  // so that the weights are inputs there too).
  ...(['LSTM', 'GRU', 'RNN'] as const).map((kind): Op => ({
    name: `F.${kind.toLowerCase()}`, make: (g) => {
      // H past 8 sometimes: the row kernels' vector bodies.
      const I = 1 + g.rng.int(4), H = g.rng.chance(0.2) ? 9 + g.rng.int(12) : 1 + g.rng.int(4), T = g.rng.chance(0.05) ? 0 : 1 + g.rng.int(4), N = g.dimSize();
      const L = 1 + g.rng.int(2), bidirectional = g.rng.chance(0.5), batchFirst = g.rng.chance(0.3), bias = g.rng.chance(0.8);
      const unbatched = g.rng.chance(0.2), withState = g.rng.chance(0.5), D = bidirectional ? 2 : 1;
      const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
      const nonlinearity: 'relu' | 'tanh' = kind === 'RNN' && g.rng.chance(0.5) ? 'relu' : 'tanh';
      g.float(unbatched ? [T, I] : batchFirst ? [N, T, I] : [T, N, I]);
      const states = withState ? (kind === 'LSTM' ? 2 : 1) : 0;
      for (let k = 0; k < states; k++) g.float(unbatched ? [L * D, H] : [L * D, N, H]);
      let weights = 0;
      for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) {
        g.float([G * H, l === 0 ? I : D * H], { mode: 'unit' }); g.float([G * H, H], { mode: 'unit' }); weights += 2;
        if (bias) { g.float([G * H], { mode: 'unit' }); g.float([G * H], { mode: 'unit' }); weights += 2; }
      }
      const o = { bias, bidirectional, batchFirst, ...(kind === 'RNN' ? { nonlinearity } : {}) };
      const torchOptions = { inputSize: I, hiddenSize: H, numLayers: L, ...o };
      return {
        ours: (x) => {
          const w = x.slice(1 + states) as F32[];
          if (kind === 'LSTM') { const [y, [h, c]] = cc.F.lstm(x[0], states ? [x[1], x[2]] : null, w, o); return [y, h, c]; }
          const [y, h] = kind === 'GRU' ? cc.F.gru(x[0], states ? x[1] : null, w, o) : cc.F.rnn(x[0], states ? x[1] : null, w, o);
          return [y, h];
        },
        torch: `rnn_call(${py(kind)}, x0, [${Array.from({ length: states }, (_, k) => `x${1 + k}`).join(', ')}], [${Array.from({ length: weights }, (_, k) => `x${1 + states + k}`).join(', ')}], p)`,
        params: torchOptions, atol: 1e-4,
      };
    },
  })),
  ...(['LSTMCell', 'GRUCell', 'RNNCell'] as const).map((kind): Op => ({
    name: `nn.${kind}`, make: (g) => {
      const I = 1 + g.rng.int(4), H = g.rng.chance(0.2) ? 9 + g.rng.int(12) : 1 + g.rng.int(4), N = g.dimSize(), unbatched = g.rng.chance(0.2), withState = g.rng.chance(0.6);
      const G = kind === 'LSTMCell' ? 4 : kind === 'GRUCell' ? 3 : 1, bias = g.rng.chance(0.8);
      const nonlinearity = kind === 'RNNCell' && g.rng.chance(0.5) ? 'relu' : 'tanh';
      g.float(unbatched ? [I] : [N, I]);
      const states = withState ? (kind === 'LSTMCell' ? 2 : 1) : 0;
      for (let k = 0; k < states; k++) g.float(unbatched ? [H] : [N, H]);
      // The weights are loaded into the module (copied): compared are the input's and the states' gradients.
      const shapes = [[G * H, I], [G * H, H], ...(bias ? [[G * H], [G * H]] : [])];
      for (const s of shapes) g.float(s, { mode: 'unit', grad: false });
      const o = { bias, ...(kind === 'RNNCell' ? { nonlinearity } : {}) };
      return {
        ours: (x) => {
          const cell = new cc.nn[kind](I, H, o as never).to(x[0].device);
          const names = ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'];
          cell.loadStateDict(Object.fromEntries(x.slice(1 + states).map((w, k) => [names[k], w])));
          try {
            if (kind === 'LSTMCell') return (cell as cc.nn.LSTMCell).forwardWithState(x[0], states ? [x[1], x[2]] : null);
            return cell.call(x[0], states ? x[1] : null);
          } finally { cell.dispose(); }
        },
        torch: `rnn_call(${py(kind)}, x0, [${Array.from({ length: states }, (_, k) => `x${1 + k}`).join(', ')}], [${shapes.map((_, k) => `x${1 + states + k}`).join(', ')}], p)`,
        params: { inputSize: I, hiddenSize: H, ...o }, atol: 1e-4,
      };
    },
  })),
  { name: 'F.ctcLoss', make: (g) => {
    const T = 1 + g.rng.int(6), N = 1 + g.rng.int(3), C = 2 + g.rng.int(4), S = g.rng.int(4);
    const blank = g.rng.chance(0.7) ? 0 : C - 1;
    g.float([T, N, C]);
    const padded = g.rng.chance(0.5);
    // At least one frame: PyTorch 1.13 reads past its alphas for a sample of none (a finite,
    // even negative, loss where there is no alignment; ours is inf, as later PyTorch's).
    const tl = Array.from({ length: N }, () => g.rng.int(S + 1)), il = Array.from({ length: N }, () => 1 + g.rng.int(T));
    g.int(padded ? [N, S] : [tl.reduce((a, b) => a + b, 0)], blank === 0 ? 1 : 0, blank === 0 ? C : C - 1);   // labels, not the blank
    const reduction = g.rng.pick(['mean', 'sum', 'none'] as const), zi = g.rng.chance(0.5);
    return { ours: ([x, t]) => cc.F.ctcLoss(cc.F.logSoftmax(x, 2), t, il, tl, { blank, reduction, zeroInfinity: zi }),
      torch: `F.ctc_loss(x0.log_softmax(2), x1.long(), ${py(il)}, ${py(tl)}, blank=${blank}, reduction=${py(reduction)}, zero_infinity=${py(zi)})`, atol: 1e-4 };
  } },
  { name: 'F.pdist', tieGrads: true, make: (g) => { g.float([1 + g.rng.int(5), g.rng.int(4)]); const p = g.rng.pick([2, 1, 0, 3, Infinity]); return { ours: ([x]) => cc.F.pdist(x, p), torch: `F.pdist(x0, ${py(p)})` }; } },
  { name: 'F.tripletMarginWithDistanceLoss', tieGrads: true, make: (g) => {
    const N = 1 + g.rng.int(3), D = 1 + g.rng.int(4); for (let i = 0; i < 3; i++) g.float([N, D]);
    const m = g.rng.pick([1, 0.2]); const swap = g.rng.chance(0.4); const reduction = g.rng.pick(['mean', 'sum', 'none'] as const); const cos = g.rng.chance(0.5);
    return { ours: ([a, p, n]) => cc.F.tripletMarginWithDistanceLoss(a, p, n, { margin: m, swap, reduction, distanceFunction: cos ? (x, y) => cc.sub(1, cc.F.cosineSimilarity(x, y)) : null }),
      torch: `F.triplet_margin_with_distance_loss(x0, x1, x2, distance_function=${cos ? '(lambda x, y: 1 - F.cosine_similarity(x, y))' : 'None'}, margin=${m}, swap=${py(swap)}, reduction=${py(reduction)})`, atol: 1e-4 };
  } },
  { name: 'nn.UpsamplingBilinear2d', nanDiffers: 'see Op', make: (g) => { g.float([1 + g.rng.int(2), 1 + g.rng.int(2), 1 + g.rng.int(5), 1 + g.rng.int(5)]); const near = g.rng.chance(0.5); const f = g.rng.pick([2, 3]);
    return { ours: ([x]) => (near ? new cc.nn.UpsamplingNearest2d({ scaleFactor: f }) : new cc.nn.UpsamplingBilinear2d({ scaleFactor: f })).call(x), torch: `torch.nn.${near ? 'UpsamplingNearest2d' : 'UpsamplingBilinear2d'}(scale_factor=${f})(x0)` }; } },
  // Stateful modules: several training steps, then evaluation (values only).
  ...(['BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d', 'InstanceNorm1d', 'InstanceNorm2d', 'InstanceNorm3d'] as const).map((kind): Op => ({
    name: `nn.${kind} steps`, nanDiffers: 'see Op',
    make: (g) => {
      const C = 1 + g.rng.int(3), N = 2 + g.rng.int(3), instance = kind.startsWith('Instance');
      // An instance needs 2 positions at least (both sides refuse 1): 1 x 1 maps only for BatchNorm.
      const side = () => (instance ? 2 : 1) + g.rng.int(3);
      const shape = kind.endsWith('3d') ? [N, C, side(), side(), side()] : kind.endsWith('2d') ? [N, C, side(), side()] : !instance && g.rng.chance(0.5) ? [N, C] : [N, C, side()];
      const steps = 1 + g.rng.int(3);
      for (let k = 0; k < steps; k++) g.float(shape, { grad: false });
      g.float([C], { grad: false }); g.float([C], { grad: false });
      const options = { momentum: g.rng.pick([0.1, 0.5, instance ? 0.3 : null]), eps: g.rng.pick([1e-5, 1e-3]), ...(instance ? { affine: true, trackRunningStats: true } : {}) };
      return {
        ours: (x) => {
          const bn = new cc.nn[kind](C, options).to(x[0].device);
          cc.noGrad(() => { bn.weight!.copy_(x[steps]); bn.bias!.copy_(x[steps + 1]); });
          for (let k = 0; k < steps; k++) bn.call(x[k]).dispose();
          bn.eval();
          return [bn.call(x[steps - 1]), cc.clone(bn.runningMean!), cc.clone(bn.runningVar!), cc.cast(bn.stateDict().num_batches_tracked, 'float32')];
        },
        torch: `bn_steps(${py(kind)}, [${xs(steps)}], x${steps}, x${steps + 1}, p)`, params: options, grad: false, atol: 1e-4,
      };
    },
  })),
  { name: 'F.embedding options', make: (g) => {
    const n = 1 + g.rng.int(5), d = 1 + g.rng.int(3); g.int(g.shape(1, 2), 0, n); g.float([n, d]);
    const maxNorm = g.rng.chance(0.5) ? g.rng.pick([0.5, 1, 2]) : null; const normType = g.rng.pick([2, 1, Infinity]); const freq = g.rng.chance(0.5); const pi = g.rng.chance(0.3) ? n - 1 : null;
    const options = { maxNorm, normType, scaleGradByFreq: freq, paddingIdx: pi };
    const kw = `padding_idx=${py(pi)}, max_norm=${py(maxNorm)}, norm_type=${py(normType)}, scale_grad_by_freq=${py(freq)}`;
    // With maxNorm the looked-up rows are scaled in place: compared are the output and the weight after (no gradients).
    if (maxNorm !== null) return { ours: ([i, w]) => { const wc = cc.clone(w).detach(); return [cc.F.embedding(I32(i), wc, options), wc]; }, torch: `(lambda w: (F.embedding(x0, w, ${kw}), w))(x1.detach().clone())`, grad: false };
    return { ours: ([i, w]) => cc.F.embedding(I32(i), w, options), torch: `F.embedding(x0, x1, ${kw})` };
  } },
  { name: 'expand', make: (g) => { const s = g.shape(0, 3); g.float(s); const t = [...(g.rng.chance(0.4) ? [1 + g.rng.int(3)] : []), ...s.map((d) => (d === 1 && g.rng.chance(0.5) ? 1 + g.rng.int(3) : g.rng.chance(0.3) ? -1 : d))]; return { ours: ([x]) => cc.expand(x, t), torch: `x0.expand(${py(t)})` }; } },
  { name: 'permute', make: (g) => { const s = g.shape(0, 4); g.float(s); const p = Array.from(distinctInts(g, s.length, s.length)).map((a) => (g.rng.chance(0.3) ? a - s.length : a)); return { ours: ([x]) => cc.permute(x, p), torch: `x0.permute(${py(p)})` }; } },
  { name: 'transpose', make: (g) => { const s = g.shape(0, 4); g.float(s); const a = g.axis(s.length), b = g.axis(s.length); return { ours: ([x]) => cc.transpose(x, a, b), torch: `torch.transpose(x0, ${a}, ${b})` }; } },
  { name: 'squeeze', make: (g) => { const s = g.shape(0, 4); g.float(s); const d = g.rng.chance(0.4) ? undefined : g.axis(s.length); return { ours: ([x]) => cc.squeeze(x, d), torch: d === undefined ? 'torch.squeeze(x0)' : `torch.squeeze(x0, ${d})` }; } },
  { name: 'flatten', make: (g) => { const s = g.shape(0, 4); g.float(s); let a = g.axis(s.length), b = g.axis(s.length); const n = Math.max(1, s.length); if ((a + n) % n > (b + n) % n) [a, b] = [b, a]; return { ours: ([x]) => cc.flatten(x, a, b), torch: `torch.flatten(x0, ${a}, ${b})` }; } },
  { name: 'split', make: (g) => {
    const s = g.shape(1); g.float(s); const a = g.axis(s.length); const len = s[a < 0 ? a + s.length : a];
    if (g.rng.chance(0.5)) { const size = 1 + g.rng.int(3); return { ours: ([x]) => cc.split(x, size, a), torch: `torch.split(x0, ${size}, ${a})` }; }
    const sizes: number[] = []; let left = len; while (left > 0) { const k = Math.min(left, g.rng.int(3)); sizes.push(k); left -= k; } if (g.rng.chance(0.3)) sizes.push(0);
    return { ours: ([x]) => cc.split(x, sizes, a), torch: `torch.split(x0, ${JSON.stringify(sizes)}, ${a})` };
  } },
  { name: 'swapaxes', make: (g) => { const s = g.shape(0, 4); g.float(s); const a = g.axis(s.length), b = g.axis(s.length); return { ours: ([x]) => cc.swapaxes(x, a, b), torch: `torch.swapaxes(x0, ${a}, ${b})` }; } },
  ...(['hsplit', 'vsplit', 'dsplit'] as const).map((name): Op => ({
    name, make: (g) => {
      const s = g.shape(name === 'hsplit' ? 1 : name === 'vsplit' ? 2 : 3, 4); g.float(s); const ax = name === 'hsplit' ? (s.length === 1 ? 0 : 1) : name === 'vsplit' ? 0 : 2;
      const idx = g.rng.chance(0.5); const arg = idx ? Array.from({ length: g.rng.int(3) }, () => g.rng.int(s[ax] + 2)) : 1 + g.rng.int(3);
      return { ours: ([x]) => (cc as unknown as Record<string, (x: T, a: unknown) => T[]>)[name](x, arg), torch: `torch.${name}(x0, ${idx ? JSON.stringify(arg) : arg})` };
    },
  })),
  { name: 'fliplr', make: (g) => { g.float(g.shape(2, 4)); const ud = g.rng.chance(0.5); return { ours: ([x]) => (ud ? cc.flipud(x) : cc.fliplr(x)), torch: `torch.${ud ? 'flipud' : 'fliplr'}(x0)` }; } },
  { name: 'atleast3d', make: (g) => { g.float(g.shape(0, 4)); const one = g.rng.chance(0.5); return { ours: ([x]) => (one ? cc.atleast1d(x) : cc.atleast3d(x)), torch: `torch.atleast_${one ? 1 : 3}d(x0)` }; } },
  { name: 'triuIndices', make: (g) => { const r = g.rng.int(5), c = g.rng.int(5), o = g.rng.int(5) - 2; return { ours: () => cc.triuIndices(r, c, o), torch: `torch.triu_indices(${r}, ${c}, ${o})`, grad: false }; } },
  { name: 'any', mode: 'ties', make: (g) => { const s = g.shape(0, 3); g.float(s, { grad: false }); const d = g.rng.chance(0.4) ? undefined : g.axis(s.length); const k = d !== undefined && g.rng.chance(0.5); return { ours: ([x]) => cc.any(x, d, k), torch: d === undefined ? 'torch.any(x0)' : `torch.any(x0, ${d}, keepdim=${py(k)})`, grad: false }; } },
  { name: 'equal', mode: 'ties', make: (g) => { const s = g.shape(0, 2); g.float(s, { grad: false }); g.float(g.rng.chance(0.7) ? s : g.shape(0, 2), { grad: false }); const same = g.rng.chance(0.5); return { ours: ([a, b]) => cc.tensor(Number(cc.equal(a, same ? a : b))), torch: `torch.tensor(float(torch.equal(x0, ${same ? 'x0' : 'x1'})))`, grad: false }; } },
  { name: 'allclose', mode: 'ties', make: (g) => { const s = g.shape(0, 2); g.float(s, { grad: false }); g.float(g.inside(s), { grad: false }); const en = g.rng.chance(0.5); return { ours: ([a, b]) => cc.tensor(Number(cc.allclose(a, b, { equalNan: en }))), torch: `torch.tensor(float(torch.allclose(x0, x1, equal_nan=${py(en)})))`, grad: false }; } },
];

export const OPS: Op[] = [...inplaceOps, ...layoutOps, ...visionOps, ...surveyOps, ...intOps, ...scheduleOps, ...optimOps, ...unaryOps, ...activationOps, ...binaryOps, ...reduceOps, ...alongOps, ...layerOps, ...lossOps, ...moreOps, ...linalgOps];

// ---------------------------------------------------------------------------------------------
// Running and comparing

/** The same small exact numbers as diff_torch.py's `weights`. */
function weights(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 7 + 3) % 11) - 5) / 4);
}

interface Encoded { shape: number[]; dtype: 'float32' | 'int32'; b64: string }
const encode = (shape: readonly number[], data: Float32Array | Int32Array): Encoded => ({
  shape: [...shape], dtype: data instanceof Int32Array ? 'int32' : 'float32', b64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
});
const decode = (e: Encoded): Float32Array | Int32Array => {
  const b = Buffer.from(e.b64, 'base64');
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return e.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
};

interface Side { error?: string; late?: boolean; skipped?: string; outs?: Encoded[]; grads?: (Encoded | null)[]; gradError?: string }

interface Built { index: number; op: Op; mode: Mode; inputs: Input[]; call: Call; grad: boolean }

export function build(seed: number, index: number, ops: Op[]): Built {
  const rng = new Rng((seed * 1000003 + index * 7919) >>> 0);
  const op = ops[rng.int(ops.length)];
  const r = rng.next();
  const mode: Mode = r < 0.55 ? op.mode ?? 'normal' : r < 0.75 && !op.poles ? 'ties' : r < 0.9 && !op.nanDiffers ? 'special' : 'normal';
  const g = new Gen(rng, mode);
  const call = op.make(g);
  // Where ties leave PyTorch's choice of index open, so do the gradients that follow it.
  const looseGrad = ((call.loose ?? []).length > 0 || op.tieGrads === true || call.tieGrads === true) && mode === 'ties';
  return { index, op, mode, inputs: g.inputs, call, grad: call.grad !== false && mode !== 'special' && !looseGrad };
}

export function runOurs(b: Built): Side {
  const made: T[] = [];
  let xs: T[];
  try {
    xs = b.inputs.map((inp) => {
      const t = cc.tensor(inp.data, { shape: inp.shape, dtype: inp.dtype, requiresGrad: b.grad && inp.grad, device: Gen.device });
      made.push(t);
      return t;
    });
  } catch (e) {
    for (const t of made) t.dispose();
    if (e instanceof cc.ConvnetError) return { error: `${e.code}: ${e.message.split('\n')[0]}` };
    throw e;
  }
  try {
    let outs: T[];
    try {
      if (Gen.device === 'cuda') cc.syncBlocking();   // the inputs' copies to the GPU: a failure there is not the op's
    } catch (e) {
      if (e instanceof cc.ConvnetError) return { error: `${e.code}: ${e.message.split('\n')[0]}` };
      throw e;
    }
    try {
      const r = b.call.ours(xs);
      outs = Array.isArray(r) ? r : [r];
    } catch (e) {
      if (e instanceof cc.ConvnetError) return { error: `${e.code}: ${e.message.split('\n')[0]}` };
      throw e;
    }
    made.push(...outs);
    return finish(b, xs, outs);
  } catch (e) {
    // A failure after the call returned (a queued kernel's, read back by dataSync): always a finding.
    if (e instanceof cc.ConvnetError) return { error: `late ${e.code}: ${e.message.split('\n')[0]}`, late: true };
    throw e;
  } finally {
    for (const t of made) t.dispose();
  }
}

function finish(b: Built, xs: T[], outs: T[]): Side {
  const made: T[] = [];
  try {
    const side: Side = { outs: outs.map((o) => encode(o.shape, o.dataSync() as Float32Array | Int32Array)) };
    if (b.grad) {
      let loss: T | null = null;
      for (const o of outs) {
        if (o.dtype !== 'float32' || !o.requiresGrad) continue;
        const term = cc.sum(cc.mul(o, cc.tensor(weights(o.size), { shape: o.shape, device: o.device })));
        loss = loss ? cc.add(loss, term) : term;
        made.push(loss);
      }
      try {
        if (loss) loss.backward();
      } catch (e) {
        if (e instanceof cc.ConvnetError) return { ...side, gradError: `${e.code}: ${e.message.split('\n')[0]}` };
        throw e;
      }
      side.grads = b.inputs.map((inp, i) => (inp.grad ? encode(inp.shape, xs[i].grad ? (xs[i].grad!.dataSync() as Float32Array) : new Float32Array(xs[i].size)) : null));
    }
    return side;
  } finally {
    for (const t of made) t.dispose();
  }
}

function close(a: number, b: number, rtol: number, atol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  // At a pole one side may round to a huge number and the other to infinity (trigamma at 0).
  if (Math.abs(a) > 1e12 && Math.abs(b) > 1e12) return Math.sign(a) === Math.sign(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
}

function compareTensors(what: string, ours: Encoded, theirs: Encoded, rtol: number, atol: number, valuesOnly = false): string | null {
  if (ours.shape.join(',') !== theirs.shape.join(',')) return `${what}: shape [${ours.shape}] against PyTorch's [${theirs.shape}]`;
  if (valuesOnly) return null;
  const a = decode(ours), b = decode(theirs);
  for (let i = 0; i < a.length; i++) {
    if (!close(a[i], b[i], rtol, atol)) return `${what}[${i}] (flat): ${a[i]} against PyTorch's ${b[i]}`;
  }
  return null;
}

function compare(b: Built, ours: Side, theirs: Side): string | null {
  if (theirs.skipped) return null;
  if (ours.late) return ours.error!;
  if (ours.error || theirs.error) {
    if (ours.error && theirs.error) return null;
    if (theirs.error && b.call.permissive) return null;
    if (ours.error && b.op.refuses?.test(ours.error)) return null;
    return ours.error ? `refused by us only: ${ours.error}` : `refused by PyTorch only: ${theirs.error}`;
  }
  const o = ours.outs!, t = theirs.outs!;
  if (o.length !== t.length) return `${o.length} outputs against PyTorch's ${t.length}`;
  for (let i = 0; i < o.length; i++) {
    const d = compareTensors(`out ${i}`, o[i], t[i], 2e-4, b.call.atol ?? 2e-5, (b.call.loose ?? []).includes(i));
    if (d) return d;
  }
  if (!b.grad) return null;
  if (ours.gradError || theirs.gradError) {
    if (ours.gradError && theirs.gradError) return null;
    return ours.gradError ? `backward refused by us only: ${ours.gradError}` : `backward refused by PyTorch only: ${theirs.gradError}`;
  }
  for (let i = 0; i < b.inputs.length; i++) {
    const og = ours.grads?.[i], tg = theirs.grads?.[i];
    if (!og || !tg) continue;
    const d = compareTensors(`grad x${i}`, og, tg, 2e-3, Math.max(2e-4, b.call.atol ?? 0));
    if (d) return d;
  }
  return null;
}

/** JSON for numbers JSON has no word for (diff_torch.py reads them back). */
function specialNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? `__${v}__` : v;
}

function describeCase(b: Built): string {
  const ins = b.inputs.map((inp, i) => `x${i} ${inp.dtype === 'int32' ? 'int ' : ''}[${inp.shape}]`).join(', ');
  return `#${b.index} ${b.op.name} (${b.mode}) ${ins}: ${b.call.torch}${b.call.params ? ` p=${JSON.stringify(b.call.params)}` : ''}`;
}

function showValues(inp: Input): string {
  const v = Array.from(inp.data.slice(0, 24), (x) => (Object.is(x, -0) ? '-0' : String(x)));
  return `[${v.join(', ')}${inp.data.length > 24 ? ', …' : ''}]`;
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string): string => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
  };
  if (args.includes('--list')) {
    console.log(OPS.map((o) => o.name).join('\n'));
    return;
  }
  const seed = Number(opt('--seed', '1'));
  const only = opt('--only', '');
  const ops = only ? OPS.filter((o) => only.split(',').some((s) => o.name === s || o.name === `F.${s}`)) : OPS;
  if (!ops.length) throw new Error(`--only ${only}: no such op (--list)`);
  const verbose = args.includes('--verbose');
  const one = args.includes('--case') ? Number(opt('--case', '0')) : null;
  const count = Number(opt('--cases', '1000'));
  Gen.maxDim = Math.max(2, Number(opt('--max-dim', '5')));
  Gen.device = opt('--device', 'cpu') === 'cuda' ? 'cuda' : 'cpu';
  const indices = one !== null ? [one] : Array.from({ length: count }, (_, i) => i);

  const built = indices.map((i) => build(seed, i, ops));
  const sides = built.map(runOurs);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-torch-'));
  const inFile = path.join(dir, 'cases.json'), outFile = path.join(dir, 'results.json');
  // What we refuse by design is not run in PyTorch: its max pooling over a window of padding alone
  // writes out of bounds in backward (a heap corruption that killed the process).
  const skip = built.map((b, k) => !!(sides[k].error && b.op.refuses?.test(sides[k].error!)));
  fs.writeFileSync(inFile, JSON.stringify(built.map((b, k) => ({ skip: skip[k], torch: b.call.torch, params: b.call.params ?? {}, grad: b.grad, inputs: b.inputs.map((inp) => ({ ...encode(inp.shape, inp.data), grad: inp.grad })) })), specialNumbers));
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(torchPython('cpu'), [path.join(__dirname, '..', '..', 'scripts', 'diff_torch.py'), inFile, outFile], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`diff_torch.py failed (status ${r.status})`);
  const { torch, results } = JSON.parse(fs.readFileSync(outFile, 'utf8')) as { torch: string; results: Side[] };
  fs.rmSync(dir, { recursive: true, force: true });

  const byOp = new Map<string, number>();
  // Cases both sides refused, per op: a table entry that only ever errors would pass unnoticed.
  const bothRefused = new Map<string, number>();
  const notRun = new Map<string, number>(), onCpuOnly = new Map<string, number>();
  let findings = 0;
  built.forEach((b, k) => {
    if (results[k].skipped) notRun.set(`${b.op.name} (${results[k].skipped})`, (notRun.get(`${b.op.name} (${results[k].skipped})`) ?? 0) + 1);
    // What our GPU side does not run (E_DEVICE): counted apart, not a finding.
    if (Gen.device === 'cuda' && sides[k].error?.startsWith('E_DEVICE')) {
      onCpuOnly.set(b.op.name, (onCpuOnly.get(b.op.name) ?? 0) + 1);
      return;
    }
    if (sides[k].error && results[k].error && !skip[k]) bothRefused.set(b.op.name, (bothRefused.get(b.op.name) ?? 0) + 1);
    const d = compare(b, sides[k], results[k]);
    if (!d) return;
    findings++;
    byOp.set(b.op.name, (byOp.get(b.op.name) ?? 0) + 1);
    console.log(`${describeCase(b)}\n    ${d}`);
    if (verbose) b.inputs.forEach((inp, i) => console.log(`    x${i} = ${showValues(inp)}`));
  });
  console.log(`\n${built.length} cases (seed ${seed}, ours on ${Gen.device}) beside PyTorch ${torch} (CPU): ${findings} finding(s)`);
  for (const [name, n] of [...byOp].sort((p, q) => q[1] - p[1])) console.log(`  ${name}: ${n}`);
  const refused = [...bothRefused].sort((p, q) => q[1] - p[1]);
  if (refused.length) console.log(`refused by both (not findings): ${refused.map(([name, n]) => `${name} ${n}`).join(', ')}`);
  if (notRun.size) console.log(`not run in PyTorch: ${[...notRun].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  if (onCpuOnly.size) console.log(`E_DEVICE on ${Gen.device} (not findings): ${[...onCpuOnly].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  process.exitCode = findings ? 1 : 0;
}

if (require.main === module) main();
