/**
 * Loss functions (survey section 3.4): the softmax loss (cross-entropy) and NLL, the survey's
 * one-vs-all hinge loss (L1/L2-SVM), PyTorch's multi-class margin loss, the contrastive and
 * triplet losses of embedding nets, and the KL divergence. Each public op (in `F`) returns a
 * float32 scalar tensor (shape []) or, with `reduction: 'none'`, one value per sample. Its
 * backward function (internal: exported here, not from `F`) takes `dloss` of the loss's shape
 * and returns the gradients of the inputs that have them (never of labels).
 *
 * Labels are int32 tensors. A label out of range (other than `ignoreIndex`) can only be seen in
 * the data: the kernel reports it as an `E_INDEX` error at the next wait, naming the op.
 * Means over an empty batch are NaN and sums 0, as PyTorch's.
 */
import { noGrad, record, sumTo, type BackwardFn } from '../../autograd';
import { any } from '../../composite';
import { tensor } from '../../creation';
import { tidy } from '../../engine';
import { fail, warnOnce } from '../../errors';
import { native, PointwiseLoss, type Handle } from '../../native';
import {
  abs, add, cast, clamp, div, eq, exp, gather, gt, log, log1p, lt, maximum, mean, minimum, mul, ne, neg, reshape, scale, sqrt, square, sub, sum, where,
} from '../../ops';
import { Tensor } from '../../tensor';
import {
  broadcastShapes, checkBool, checkDtype, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor, describe, isTensor, shapeStr,
} from '../../validate';
import { sigmoid } from './activation';
import { pairwiseDistance } from './distance';
import { logSoftmax } from './layers';

type F32 = Tensor<'float32'>;
type ReductionCode = 0 | 1 | 2 | 3;

/** How per-sample losses are combined: their mean (PyTorch's default), their sum, or none. */
export type Reduction = 'mean' | 'sum' | 'none';
/** The codes of `cpu::Reduction` (native/cpu/nn_ops.h). */
const REDUCTION = { none: 0, mean: 1, sum: 2, batchmean: 3 } as const;

export interface CrossEntropyOptions {
  /** A float32 [C] weight per class. */
  weight?: Tensor;
  /** Targets equal to this add nothing, to the loss or to the mean's denominator. Default -100. Class-index targets only. */
  ignoreIndex?: number;
  /** In [0, 1]: the target distribution is (1 - s) one-hot + s / C uniform. Default 0. */
  labelSmoothing?: number;
  reduction?: Reduction;
}
export interface NllLossOptions {
  weight?: Tensor;
  ignoreIndex?: number;
  reduction?: Reduction;
}
export interface HingeLossOptions {
  /** 1: L1-hinge, 2: L2-hinge (squared). Default 1. */
  p?: 1 | 2;
  /** >= 0. Default 1. */
  margin?: number;
  reduction?: Reduction;
}
export interface MultiMarginLossOptions {
  p?: 1 | 2;
  margin?: number;
  /** A float32 [C] weight: the true class's weight multiplies each of its sample's terms. */
  weight?: Tensor;
  reduction?: Reduction;
}
export interface ContrastiveLossOptions {
  /** >= 0: dissimilar pairs farther apart than this add nothing. Default 1. */
  margin?: number;
  reduction?: Reduction;
}
export interface TripletMarginLossOptions {
  /** >= 0. Default 1. */
  margin?: number;
  /** The norm of the distance: 1 or 2. Default 2. */
  p?: 1 | 2;
  /** Added to every component of the difference, as PyTorch's pairwise_distance. Default 1e-6. */
  eps?: number;
  /** Use min(d(a, n), d(p, n)) as the negative distance (Balntas et al. 2016). Default false. */
  swap?: boolean;
  /** The survey's (FaceNet's) squared Euclidean distances, no eps; needs p = 2. Default false. */
  squared?: boolean;
  reduction?: Reduction;
}
export interface KlDivOptions {
  /** 'batchmean' is the KL divergence per sample; 'mean' (PyTorch's default) divides by every element. */
  reduction?: Reduction | 'batchmean';
  /** The target holds log-probabilities. Default false. */
  logTarget?: boolean;
}

// ---- validation --------------------------------------------------------------------------

/** @internal Each loss's option names (the modules in nn/loss.ts check theirs when built). */
export const OPTION_KEYS = {
  crossEntropy: ['weight', 'ignoreIndex', 'labelSmoothing', 'reduction'],
  nllLoss: ['weight', 'ignoreIndex', 'reduction'],
  hingeLoss: ['p', 'margin', 'reduction'],
  multiMarginLoss: ['p', 'margin', 'weight', 'reduction'],
  contrastiveLoss: ['margin', 'reduction'],
  tripletMarginLoss: ['margin', 'p', 'eps', 'swap', 'squared', 'reduction'],
  tripletMarginWithDistanceLoss: ['distanceFunction', 'margin', 'swap', 'reduction'],
  klDiv: ['reduction', 'logTarget'],
  mseLoss: ['reduction'],
  l1Loss: ['reduction'],
  smoothL1Loss: ['beta', 'reduction'],
  huberLoss: ['delta', 'reduction'],
  binaryCrossEntropy: ['weight', 'reduction'],
  binaryCrossEntropyWithLogits: ['weight', 'posWeight', 'reduction'],
  cosineEmbeddingLoss: ['margin', 'reduction'],
  marginRankingLoss: ['margin', 'reduction'],
  softMarginLoss: ['reduction'],
  multilabelSoftMarginLoss: ['weight', 'reduction'],
  hingeEmbeddingLoss: ['margin', 'reduction'],
  poissonNllLoss: ['logInput', 'full', 'eps', 'reduction'],
  gaussianNllLoss: ['full', 'eps', 'reduction'],
  multilabelMarginLoss: ['reduction'],
} as const;


function floatInput(op: string, name: string, x: unknown): F32 {
  const t = checkTensor(op, name, x);
  checkDtype(op, name, t, 'float32');
  return t as F32;
}

function labels(op: string, name: string, x: unknown): Tensor<'int32'> {
  const t = checkTensor(op, name, x);
  if (t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`${name}\` to hold int32 class labels, got ${t.dtype}`);
  return t as Tensor<'int32'>;
}

function reductionCode(op: string, value: unknown, allowBatchmean = false): ReductionCode {
  const allowed = allowBatchmean ? ['mean', 'sum', 'none', 'batchmean'] : ['mean', 'sum', 'none'];
  if (value === undefined) return REDUCTION.mean;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    fail('E_ARG', `${op}: expected \`reduction\` to be one of ${allowed.map((r) => `'${r}'`).join(', ')}, got ${describe(value)}`);
  }
  return REDUCTION[value as keyof typeof REDUCTION];
}

function margin(op: string, value: unknown, fallback = 1): number {
  if (value === undefined) return fallback;
  const m = checkNumber(op, 'margin', value);
  if (m < 0) fail('E_ARG', `${op}: expected \`margin\` >= 0, got ${m}`);
  return m;
}

function norm(op: string, value: unknown, fallback: 1 | 2): 1 | 2 {
  if (value === undefined) return fallback;
  if (value !== 1 && value !== 2) fail('E_ARG', `${op}: expected \`p\` to be 1 or 2, got ${describe(value)}`);
  return value;
}

function classWeight(op: string, value: unknown, classes: number): F32 | null {
  if (value === undefined || value === null) return null;
  const w = floatInput(op, 'weight', value);
  if (w.rank !== 1 || w.shape[0] !== classes) fail('E_SHAPE', `${op}: expected \`weight\` of shape [${classes}], got ${shapeStr(w.shape)}`);
  return w;
}

/** The shape of the loss: per sample for 'none', a scalar otherwise. */
function lossShape(code: ReductionCode, perSample: readonly number[]): number[] {
  return code === REDUCTION.none ? perSample.slice() : [];
}

function checkDloss(op: string, dloss: unknown, code: ReductionCode, perSample: readonly number[]): F32 {
  const d = floatInput(op, 'dloss', dloss);
  if (code === REDUCTION.none) {
    if (shapeStr(d.shape) !== shapeStr(perSample)) {
      fail('E_SHAPE', `${op}: expected \`dloss\` of shape ${shapeStr(perSample)} (reduction 'none'), got ${shapeStr(d.shape)}`);
    }
  } else if (d.size !== 1 || d.rank > 1) {
    fail('E_SHAPE', `${op}: expected a scalar \`dloss\` (shape []), got ${shapeStr(d.shape)}`);
  }
  return d;
}

function sameShape(op: string, name: string, t: Tensor, expected: readonly number[], what: string): void {
  if (shapeStr(t.shape) !== shapeStr(expected)) fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${shapeStr(expected)}${what}, got ${shapeStr(t.shape)}`);
}

// ---- cross-entropy and NLL ------------------------------------------------------------------

interface ClassArgs { x: F32; target: Tensor<'int32'>; weight: F32 | null; ignoreIndex: number; code: ReductionCode; perSample: number[] }

function classArgs(op: string, input: unknown, target: unknown, o: { weight?: Tensor; ignoreIndex?: number; reduction?: Reduction }): ClassArgs {
  const x = floatInput(op, 'input', input);
  const t = labels(op, 'target', target);
  if (x.rank < 2) fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C] or [N, C, d1, ...], got ${shapeStr(x.shape)}`);
  if (x.shape[1] < 1) fail('E_SHAPE', `${op}: expected at least one class, got \`input\` of shape ${shapeStr(x.shape)}`);
  const perSample = [x.shape[0], ...x.shape.slice(2)];
  sameShape(op, 'target', t, perSample, ` for \`input\` of shape ${shapeStr(x.shape)}`);
  const ignoreIndex = o.ignoreIndex === undefined ? -100 : checkInt(op, 'ignoreIndex', o.ignoreIndex, -2147483648, 2147483647);
  return { x, target: t, weight: classWeight(op, o.weight, x.shape[1]), ignoreIndex, code: reductionCode(op, o.reduction), perSample };
}

function smoothing(op: string, value: unknown): number {
  if (value === undefined) return 0;
  const s = checkNumber(op, 'labelSmoothing', value);
  if (s < 0 || s > 1) fail('E_ARG', `${op}: expected \`labelSmoothing\` in [0, 1], got ${s}`);
  return s;
}

const h = (t: Tensor | null, op: string): Handle | null => (t ? t.handle(op) : null);

/**
 * Records a loss whose gradient goes to its first input only (labels and class weights get
 * none, as in PyTorch). The class weight travels through `saved`, not the closure, so the user
 * may dispose it; `backward` gets the saved input, target and weight (or undefined).
 */
function recordLoss(op: string, y: F32, x: F32, target: Tensor, weight: F32 | null,
  backward: (dloss: F32, x: Tensor, target: Tensor, weight: Tensor | undefined) => Tensor): F32 {
  return record(op, y, [x], (dloss, [sx, st, sw]) => [backward(dloss, sx, st, sw)], weight ? [x, target, weight] : [x, target]);
}

/**
 * Cross-entropy between softmax(input) over axis 1 and class targets: PyTorch's
 * `F.cross_entropy`. With class-index targets (int32, the input's shape without axis 1)
 * log-softmax and NLL are fused in one kernel; a float32 target of the input's own shape holds
 * class probabilities (see crossEntropyProbs below: 'mean' then divides by the number of
 * positions, and `ignoreIndex` does not apply). With a weight, 'mean'
 * divides by the sum of the weights of the targets that are not ignored (NaN if all are); label
 * smoothing mixes in the uniform distribution, weighted and normalised the same way.
 * @example
 * const loss = F.crossEntropy(logits, labels);                          // logits [N, C], labels int32 [N]
 * const perPixel = F.crossEntropy(scores, mask, { reduction: 'none' }); // [N, C, H, W] -> [N, H, W]
 * const soft = F.crossEntropy(logits, F.softmax(teacher, 1));           // class probabilities [N, C]
 */
export function crossEntropy(input: Tensor, target: Tensor, options?: CrossEntropyOptions): F32 {
  const op = 'crossEntropy';
  const o = checkOptions<CrossEntropyOptions>(op, options, OPTION_KEYS.crossEntropy);
  if (isTensor(target) && target.dtype === 'float32' && isTensor(input)) {
    if (shapeStr(target.shape) === shapeStr(input.shape)) return crossEntropyProbs(op, input, target, o);
    fail('E_DTYPE', `${op}: expected \`target\` to hold int32 class labels, got float32 (class probabilities must have \`input\`'s shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)})`);
  }
  const a = classArgs(op, input, target, o);
  const s = smoothing(op, o.labelSmoothing);
  const handle = native.crossEntropyForward(a.x.handle(op), a.target.handle(op), h(a.weight, op), a.ignoreIndex, s, a.code);
  const y = new Tensor<'float32'>(handle, lossShape(a.code, a.perSample), 'float32');
  const rest = { ignoreIndex: a.ignoreIndex, labelSmoothing: s, reduction: o.reduction };
  return recordLoss(op, y, a.x, a.target, a.weight, (d, sx, st, sw) => crossEntropyBackward(d, sx, st, { ...rest, weight: sw }));
}

/**
 * Cross-entropy with class-probability targets (PyTorch 1.10+'s float target of the input's
 * shape): per position −Σ_c weight[c] · q[c] · logSoftmax(input)[c], where q is the target, or
 * (1 − s) · target + s / C with label smoothing s. 'mean' divides by the number of positions
 * (N · d1 · …), not by the weights, as PyTorch. Composed from logSoftmax and tensor ops, so
 * the target gets a gradient too. `ignoreIndex` >= 0 is E_ARG, as PyTorch.
 */
function crossEntropyProbs(op: string, input: Tensor, target: Tensor, o: CrossEntropyOptions): F32 {
  const x = floatInput(op, 'input', input);
  const t = floatInput(op, 'target', target);
  checkSameDevice(op, { input: x, target: t });
  if (x.rank < 2) fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C] or [N, C, d1, ...], got ${shapeStr(x.shape)}`);
  const C = x.shape[1];
  if (C < 1) fail('E_SHAPE', `${op}: expected at least one class, got \`input\` of shape ${shapeStr(x.shape)}`);
  const w = classWeight(op, o.weight, C);
  if (w) checkSameDevice(op, { input: x, weight: w });
  if (o.ignoreIndex !== undefined && checkInt(op, 'ignoreIndex', o.ignoreIndex, -2147483648, 2147483647) >= 0) {
    fail('E_ARG', `${op}: \`ignoreIndex\` is not supported with class-probability (float32) targets, got ${o.ignoreIndex}`);
  }
  const s = smoothing(op, o.labelSmoothing);
  const code = reductionCode(op, o.reduction);
  return tidy(() => {
    const q = s > 0 ? scale(t, 1 - s, s / C) : t;
    let terms = mul(logSoftmax(x, 1), q);
    if (w) terms = mul(terms, reshape(w, [C, ...x.shape.slice(2).map(() => 1)]));
    return reduceElementwise(neg(sum(terms, 1)), code);
  });
}

/** @internal d loss / d input of crossEntropy (softmax minus the target distribution, scaled). */
export function crossEntropyBackward(dloss: Tensor, input: Tensor, target: Tensor, options?: CrossEntropyOptions): F32 {
  const op = 'crossEntropy backward';
  const o = checkOptions<CrossEntropyOptions>(op, options, OPTION_KEYS.crossEntropy);
  const a = classArgs(op, input, target, o);
  const s = smoothing(op, o.labelSmoothing);
  const d = checkDloss(op, dloss, a.code, a.perSample);
  const handle = native.crossEntropyBackward(d.handle(op), a.x.handle(op), a.target.handle(op), h(a.weight, op), a.ignoreIndex, s, a.code);
  return new Tensor(handle, a.x.shape, 'float32');
}

/**
 * Negative log-likelihood of class targets under log-probabilities (PyTorch's `F.nll_loss`):
 * -weight[t] * input[t] per sample, 'mean' divided by the sum of the weights of the targets not
 * ignored.
 * @example const loss = F.nllLoss(F.logSoftmax(x, 1), labels);
 */
export function nllLoss(input: Tensor, target: Tensor, options?: NllLossOptions): F32 {
  const op = 'nllLoss';
  const o = checkOptions<NllLossOptions>(op, options, OPTION_KEYS.nllLoss);
  const a = classArgs(op, input, target, o);
  const handle = native.nllLossForward(a.x.handle(op), a.target.handle(op), h(a.weight, op), a.ignoreIndex, a.code);
  const y = new Tensor<'float32'>(handle, lossShape(a.code, a.perSample), 'float32');
  const rest = { ignoreIndex: a.ignoreIndex, reduction: o.reduction };
  return recordLoss(op, y, a.x, a.target, a.weight, (d, sx, st, sw) => nllLossBackward(d, sx, st, { ...rest, weight: sw }));
}

/** @internal d loss / d input of nllLoss. */
export function nllLossBackward(dloss: Tensor, input: Tensor, target: Tensor, options?: NllLossOptions): F32 {
  const op = 'nllLoss backward';
  const o = checkOptions<NllLossOptions>(op, options, OPTION_KEYS.nllLoss);
  const a = classArgs(op, input, target, o);
  const d = checkDloss(op, dloss, a.code, a.perSample);
  const handle = native.nllLossBackward(d.handle(op), a.x.handle(op), a.target.handle(op), h(a.weight, op), a.ignoreIndex, a.code);
  return new Tensor(handle, a.x.shape, 'float32');
}

// ---- hinge losses ----------------------------------------------------------------------------

function scores2d(op: string, input: unknown, target: unknown): { x: F32; t: Tensor<'int32'> } {
  const x = floatInput(op, 'input', input);
  const t = labels(op, 'target', target);
  if (x.rank !== 2 || x.shape[1] < 1) fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C], got ${shapeStr(x.shape)}`);
  sameShape(op, 'target', t, [x.shape[0]], '');
  return { x, t };
}

/**
 * The survey's multi-class hinge loss (L-SVM), one-vs-all:
 * L = (1/N) Σ_i Σ_j max(0, margin − δ(y_i, j) · s_ij)^p, δ = +1 for the true class and −1
 * otherwise; p = 1 (L1-hinge) or 2 (L2-hinge). 'sum' drops the 1/N, 'none' gives each sample's
 * Σ_j. Every class is a binary SVM against the rest, so this differs from PyTorch's
 * MultiMarginLoss (`multiMarginLoss`), which compares each wrong class with the true one and
 * divides by C. At a kink the L1 gradient is 0.
 * @example const loss = F.hingeLoss(scores, labels, { p: 2 });
 */
export function hingeLoss(scores: Tensor, target: Tensor, options?: HingeLossOptions): F32 {
  const op = 'hingeLoss';
  const o = checkOptions<HingeLossOptions>(op, options, OPTION_KEYS.hingeLoss);
  const { x, t } = scores2d(op, scores, target);
  const code = reductionCode(op, o.reduction);
  const handle = native.hingeLossForward(x.handle(op), t.handle(op), norm(op, o.p, 1), margin(op, o.margin), code);
  const y = new Tensor<'float32'>(handle, lossShape(code, t.shape), 'float32');
  const rest = { p: o.p, margin: o.margin, reduction: o.reduction };
  return recordLoss(op, y, x, t, null, (d, sx, st) => hingeLossBackward(d, sx, st, rest));
}

/** @internal d loss / d scores of hingeLoss. */
export function hingeLossBackward(dloss: Tensor, scores: Tensor, target: Tensor, options?: HingeLossOptions): F32 {
  const op = 'hingeLoss backward';
  const o = checkOptions<HingeLossOptions>(op, options, OPTION_KEYS.hingeLoss);
  const { x, t } = scores2d(op, scores, target);
  const code = reductionCode(op, o.reduction);
  const p = norm(op, o.p, 1), m = margin(op, o.margin);
  const d = checkDloss(op, dloss, code, t.shape);
  return new Tensor(native.hingeLossBackward(d.handle(op), x.handle(op), t.handle(op), p, m, code), x.shape, 'float32');
}

function marginArgs(op: string, scores: unknown, target: unknown, o: MultiMarginLossOptions) {
  const x = floatInput(op, 'input', scores);
  const t = labels(op, 'target', target);
  if (x.rank === 1) {
    if (t.size !== 1 || t.rank > 1) fail('E_SHAPE', `${op}: expected \`target\` of shape [] or [1] for \`input\` of shape ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
  } else if (x.rank === 2) {
    sameShape(op, 'target', t, [x.shape[0]], '');
  } else {
    fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C] or [C], got ${shapeStr(x.shape)}`);
  }
  const classes = x.shape[x.rank - 1];
  if (classes < 1) fail('E_SHAPE', `${op}: expected at least one class, got \`input\` of shape ${shapeStr(x.shape)}`);
  return { x, t, p: norm(op, o.p, 1), m: margin(op, o.margin), w: classWeight(op, o.weight, classes), code: reductionCode(op, o.reduction) };
}

/**
 * PyTorch's MultiMarginLoss: per sample (1/C) Σ_{j≠y} w[y] · max(0, margin − x[y] + x[j])^p,
 * p = 1 or 2; 'mean' is the plain mean over the batch. `input` is [N, C] (target [N]) or [C]
 * (target [] or [1]).
 * @example const loss = F.multiMarginLoss(scores, labels, { margin: 0.5 });
 */
export function multiMarginLoss(scores: Tensor, target: Tensor, options?: MultiMarginLossOptions): F32 {
  const op = 'multiMarginLoss';
  const o = checkOptions<MultiMarginLossOptions>(op, options, OPTION_KEYS.multiMarginLoss);
  const a = marginArgs(op, scores, target, o);
  const handle = native.multiMarginLossForward(a.x.handle(op), a.t.handle(op), a.p, a.m, h(a.w, op), a.code);
  const y = new Tensor<'float32'>(handle, lossShape(a.code, a.t.shape), 'float32');
  const rest = { p: a.p, margin: a.m, reduction: o.reduction };
  return recordLoss(op, y, a.x, a.t, a.w, (d, sx, st, sw) => multiMarginLossBackward(d, sx, st, { ...rest, weight: sw }));
}

/** @internal d loss / d scores of multiMarginLoss. */
export function multiMarginLossBackward(dloss: Tensor, scores: Tensor, target: Tensor, options?: MultiMarginLossOptions): F32 {
  const op = 'multiMarginLoss backward';
  const o = checkOptions<MultiMarginLossOptions>(op, options, OPTION_KEYS.multiMarginLoss);
  const a = marginArgs(op, scores, target, o);
  const d = checkDloss(op, dloss, a.code, a.t.shape);
  const handle = native.multiMarginLossBackward(d.handle(op), a.x.handle(op), a.t.handle(op), a.p, a.m, h(a.w, op), a.code);
  return new Tensor(handle, a.x.shape, 'float32');
}

// ---- embedding losses --------------------------------------------------------------------------

function rows(op: string, named: [string, unknown][]): F32[] {
  const ts = named.map(([name, v]) => floatInput(op, name, v));
  ts.forEach((t, i) => {
    if (t.rank !== 2) fail('E_SHAPE', `${op}: expected \`${named[i][0]}\` of shape [N, D], got ${shapeStr(t.shape)}`);
    sameShape(op, named[i][0], t, ts[0].shape, ` (as \`${named[0][0]}\`)`);
  });
  return ts;
}

function pairArgs(op: string, a: unknown, b: unknown, y: unknown, o: ContrastiveLossOptions) {
  const [ta, tb] = rows(op, [['a', a], ['b', b]]);
  const ty = checkTensor(op, 'y', y);
  sameShape(op, 'y', ty, [ta.shape[0]], '');
  return { ta, tb, ty, m: margin(op, o.margin), code: reductionCode(op, o.reduction) };
}

/**
 * Contrastive loss (Hadsell, Chopra and LeCun 2006, as the survey): with d = ‖a − b‖₂ per pair,
 * L = (1/2N) Σ [y·d² + (1−y)·max(0, margin − d)²], y = 1 for a similar pair (float32 or int32;
 * values other than 0 and 1 are used as they are). 'none' gives each pair's ½[…], 'sum' their
 * sum, 'mean' their mean (= the formula). For a dissimilar pair with a = b the gradient of the
 * hinge term is taken as 0 (its direction is undefined), so no NaN appears.
 * @example const loss = F.contrastiveLoss(embedA, embedB, same, { margin: 2 });
 */
export function contrastiveLoss(a: Tensor, b: Tensor, y: Tensor, options?: ContrastiveLossOptions): F32 {
  const op = 'contrastiveLoss';
  const o = checkOptions<ContrastiveLossOptions>(op, options, OPTION_KEYS.contrastiveLoss);
  const p = pairArgs(op, a, b, y, o);
  const handle = native.contrastiveLossForward(p.ta.handle(op), p.tb.handle(op), p.ty.handle(op), p.m, p.code);
  const out = new Tensor<'float32'>(handle, lossShape(p.code, [p.ta.shape[0]]), 'float32');
  const rest = { margin: p.m, reduction: o.reduction };
  // The pair labels get no gradient (PyTorch-style contrastive losses treat them as constants).
  return record(op, out, [p.ta, p.tb, p.ty], (d, [sa, sb, sy]) => [...contrastiveLossBackward(d, sa, sb, sy, rest), null], [p.ta, p.tb, p.ty]);
}

/** @internal [d loss / d a, d loss / d b] of contrastiveLoss (no gradient for the labels). */
export function contrastiveLossBackward(dloss: Tensor, a: Tensor, b: Tensor, y: Tensor, options?: ContrastiveLossOptions): [F32, F32] {
  const op = 'contrastiveLoss backward';
  const o = checkOptions<ContrastiveLossOptions>(op, options, OPTION_KEYS.contrastiveLoss);
  const p = pairArgs(op, a, b, y, o);
  const d = checkDloss(op, dloss, p.code, [p.ta.shape[0]]);
  const [da, db] = native.contrastiveLossBackward(d.handle(op), p.ta.handle(op), p.tb.handle(op), p.ty.handle(op), p.m, p.code);
  return [new Tensor(da, p.ta.shape, 'float32'), new Tensor(db, p.ta.shape, 'float32')];
}

function tripletArgs(op: string, anchor: unknown, positive: unknown, negative: unknown, o: TripletMarginLossOptions) {
  const ts = rows(op, [['anchor', anchor], ['positive', positive], ['negative', negative]]);
  const p = norm(op, o.p, 2);
  const eps = o.eps === undefined ? 1e-6 : checkNumber(op, 'eps', o.eps);
  if (eps < 0) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${eps}`);
  const swap = o.swap === undefined ? false : checkBool(op, 'swap', o.swap);
  const squared = o.squared === undefined ? false : checkBool(op, 'squared', o.squared);
  if (squared && p !== 2) fail('E_ARG', `${op}: \`squared\` distances need p = 2, got p = ${p}`);
  return { ts, m: margin(op, o.margin), p, eps, swap, squared, code: reductionCode(op, o.reduction) };
}

/**
 * Triplet margin loss max(0, d(a, p) − d(a, n) + margin) per triplet. By default exactly
 * PyTorch's TripletMarginLoss: d(x, y) = ‖x − y + eps‖_p (eps added to each component of the
 * difference), and `swap` uses min(d(a, n), d(p, n)). `squared: true` gives the survey's
 * (FaceNet's) form ‖a − p‖² − ‖a − n‖² + margin with squared Euclidean distances; eps is not
 * used there (a square needs no guard at 0) and p must be 2.
 * @example const loss = F.tripletMarginLoss(anchor, positive, negative, { margin: 0.2, squared: true });
 */
export function tripletMarginLoss(anchor: Tensor, positive: Tensor, negative: Tensor, options?: TripletMarginLossOptions): F32 {
  const op = 'tripletMarginLoss';
  const o = checkOptions<TripletMarginLossOptions>(op, options, OPTION_KEYS.tripletMarginLoss);
  const a = tripletArgs(op, anchor, positive, negative, o);
  const [ta, tp, tn] = a.ts;
  const handle = native.tripletMarginLossForward(ta.handle(op), tp.handle(op), tn.handle(op), a.m, a.p, a.eps, a.swap, a.squared, a.code);
  const y = new Tensor<'float32'>(handle, lossShape(a.code, [ta.shape[0]]), 'float32');
  const rest = { margin: a.m, p: a.p, eps: a.eps, swap: a.swap, squared: a.squared, reduction: o.reduction };
  return record(op, y, [ta, tp, tn], (d, [sa, sp, sn]) => tripletMarginLossBackward(d, sa, sp, sn, rest), [ta, tp, tn]);
}

/** @internal [d anchor, d positive, d negative] of tripletMarginLoss, in one pass per triplet. */
export function tripletMarginLossBackward(dloss: Tensor, anchor: Tensor, positive: Tensor, negative: Tensor, options?: TripletMarginLossOptions): [F32, F32, F32] {
  const op = 'tripletMarginLoss backward';
  const o = checkOptions<TripletMarginLossOptions>(op, options, OPTION_KEYS.tripletMarginLoss);
  const a = tripletArgs(op, anchor, positive, negative, o);
  const [ta, tp, tn] = a.ts;
  const d = checkDloss(op, dloss, a.code, [ta.shape[0]]);
  const grads = native.tripletMarginLossBackward(d.handle(op), ta.handle(op), tp.handle(op), tn.handle(op), a.m, a.p, a.eps, a.swap, a.squared, a.code);
  return grads.map((g) => new Tensor(g, ta.shape, 'float32')) as [F32, F32, F32];
}

export interface TripletMarginWithDistanceLossOptions {
  /** d(x1, x2) -> per-sample distances; default F.pairwiseDistance (p = 2, eps 1e-6). */
  distanceFunction?: ((x1: Tensor, x2: Tensor) => Tensor) | null;
  /** > 0. Default 1. */
  margin?: number;
  /** Use min(d(a, n), d(p, n)) as the negative distance. Default false. */
  swap?: boolean;
  reduction?: Reduction;
}

/**
 * Triplet margin loss with any distance, as torch.nn.functional.triplet_margin_with_distance_loss:
 * max(d(a, p) - d(a, n) + margin, 0), d a function of two tensors returning per-sample distances
 * (a cosine distance, a learned metric, ...), pairwiseDistance by default. Its gradients are the
 * tape's through d. A NaN distance stays NaN.
 * @example F.tripletMarginWithDistanceLoss(a, p, n, { distanceFunction: (x, y) => cc.sub(1, F.cosineSimilarity(x, y)) })
 */
export function tripletMarginWithDistanceLoss(anchor: Tensor, positive: Tensor, negative: Tensor, options?: TripletMarginWithDistanceLossOptions): F32 {
  const op = 'tripletMarginWithDistanceLoss';
  const o = checkOptions<TripletMarginWithDistanceLossOptions>(op, options, OPTION_KEYS.tripletMarginWithDistanceLoss);
  const a = floatInput(op, 'anchor', anchor), p = floatInput(op, 'positive', positive), n = floatInput(op, 'negative', negative);
  checkSameDevice(op, { anchor: a, positive: p, negative: n });
  if (a.rank !== p.rank || a.rank !== n.rank) {
    fail('E_SHAPE', `${op}: expected anchor, positive and negative of the same rank, got ${shapeStr(a.shape)}, ${shapeStr(p.shape)} and ${shapeStr(n.shape)}`);
  }
  const dist = o.distanceFunction ?? null;
  if (dist !== null && typeof dist !== 'function') fail('E_ARG', `${op}: expected \`distanceFunction\` to be a function or null, got ${describe(dist)}`);
  const m = o.margin === undefined ? 1 : checkNumber(op, 'margin', o.margin);
  if (!(m > 0)) fail('E_ARG', `${op}: expected \`margin\` > 0 (as PyTorch), got ${m}`);
  const swap = o.swap === undefined ? false : checkBool(op, 'swap', o.swap);
  const code = reductionCode(op, o.reduction);
  const d = (x: F32, y: F32): F32 => {
    const r = dist === null ? pairwiseDistance(x, y) : dist(x, y);
    if (!isTensor(r) || r.dtype !== 'float32') fail('E_ARG', `${op}: \`distanceFunction\` must return a float32 tensor, got ${describe(r)}`);
    return r as F32;
  };
  return tidy(() => {
    const dPos = d(a, p);
    let dNeg = d(a, n);
    if (swap) dNeg = minimum(dNeg, d(p, n));
    return reduceElementwise(clamp(add(sub(dPos, dNeg), m), 0), code);
  });
}

// ---- KL divergence -----------------------------------------------------------------------------

function klArgs(op: string, input: unknown, target: unknown, o: KlDivOptions) {
  const x = floatInput(op, 'input', input);
  const t = floatInput(op, 'target', target);
  sameShape(op, 'target', t, x.shape, ' (as `input`)');
  const logTarget = o.logTarget === undefined ? false : checkBool(op, 'logTarget', o.logTarget);
  return { x, t, logTarget, code: reductionCode(op, o.reduction, true) };
}

/**
 * Kullback-Leibler divergence of `target` from the distribution whose log-probabilities are
 * `input` (PyTorch's `F.kl_div`): pointwise target·(log target − input), with 0·log 0 = 0, or
 * exp(target)·(target − input) with `logTarget`. The default reduction is PyTorch's, 'mean',
 * which divides by the number of elements; 'batchmean' (divide by N) is the KL divergence per
 * sample and the one to use.
 * @example const loss = F.klDiv(F.logSoftmax(student, 1), teacherProbs, { reduction: 'batchmean' });
 */
export function klDiv(input: Tensor, target: Tensor, options?: KlDivOptions): F32 {
  const op = 'klDiv';
  const o = checkOptions<KlDivOptions>(op, options, OPTION_KEYS.klDiv);
  const a = klArgs(op, input, target, o);
  const handle = native.klDivForward(a.x.handle(op), a.t.handle(op), a.code, a.logTarget);
  const y = new Tensor<'float32'>(handle, lossShape(a.code, a.x.shape), 'float32');
  const rest = { reduction: o.reduction, logTarget: a.logTarget };
  return record(op, y, [a.x, a.t], (d, [sx, st], need) => klDivBackward(d, sx, st, rest, need[1]), [a.x, a.t]);
}

/**
 * @internal [d loss / d input, d loss / d target or null]. The target's gradient is computed only
 * when asked (`targetGrad`); at target = 0 (without logTarget) it is NaN, as PyTorch's.
 */
export function klDivBackward(dloss: Tensor, input: Tensor, target: Tensor, options?: KlDivOptions, targetGrad = false): [F32, F32 | null] {
  const op = 'klDiv backward';
  const o = checkOptions<KlDivOptions>(op, options, OPTION_KEYS.klDiv);
  const a = klArgs(op, input, target, o);
  checkBool(op, 'targetGrad', targetGrad);
  const d = checkDloss(op, dloss, a.code, a.x.shape);
  const [dx, dt] = native.klDivBackward(d.handle(op), a.x.handle(op), a.t.handle(op), a.code, a.logTarget, targetGrad);
  return [new Tensor(dx, a.x.shape, 'float32'), dt ? new Tensor(dt, a.x.shape, 'float32') : null];
}

// ---- regression and binary losses ------------------------------------------------------------
// These are built from the differentiable ops of ops.ts, so they run on every device and their
// gradients come from the tape; binaryCrossEntropy runs one native op each way
// (native/cpu/binary_cross_entropy.cc, which also checks the input's range). Intermediates are
// freed by a tidy scope; what the tape saves for the backward is held by the tape itself.

export interface MseLossOptions {
  reduction?: Reduction;
}
export interface L1LossOptions {
  reduction?: Reduction;
}
export interface SmoothL1LossOptions {
  /** >= 0: below this |input − target| the loss is quadratic. Default 1; 0 is the L1 loss. */
  beta?: number;
  reduction?: Reduction;
}
export interface HuberLossOptions {
  /** > 0: below this |input − target| the loss is quadratic. Default 1. */
  delta?: number;
  reduction?: Reduction;
}
export interface BinaryCrossEntropyOptions {
  /** A float32 weight of each element, broadcastable to `input`'s shape. */
  weight?: Tensor;
  reduction?: Reduction;
}
export interface BinaryCrossEntropyWithLogitsOptions {
  /** A float32 weight of each element, broadcastable to `input`'s shape. */
  weight?: Tensor;
  /** A float32 weight of the positive term, broadcastable to `input`'s shape (usually [C], one per class). */
  posWeight?: Tensor;
  reduction?: Reduction;
}

/**
 * Input and target: float32, one device, the same shape (the BCE losses: PyTorch refuses other
 * shapes there too).
 */
function pairOfSameShape(op: string, input: unknown, target: unknown): { x: F32; t: F32 } {
  const x = floatInput(op, 'input', input);
  const t = floatInput(op, 'target', target);
  checkSameDevice(op, { input: x, target: t });
  if (shapeStr(x.shape) !== shapeStr(t.shape)) {
    fail('E_SHAPE', `${op}: expected \`target\` of the same shape as \`input\` ${shapeStr(x.shape)}, got ${shapeStr(t.shape)} (no broadcasting: reshape one of them)`);
  }
  return { x, t };
}

/**
 * Input and target of a regression loss: float32, one device, shapes that broadcast (E_SHAPE
 * otherwise). As PyTorch, operands of different shapes are broadcast, the loss is taken over
 * the broadcast shape (an [N, 1] input with an [N] target gives an [N, N] loss, 'mean' divides by
 * N²), and each gradient is summed back to its operand's shape; also as PyTorch, this warns, once
 * per loss function in the process (code CONVNET_LOSS_BROADCAST, PyTorch's UserWarning text),
 * since it is more often a mistake than meant.
 */
function broadcastPair(op: string, input: unknown, target: unknown): { x: F32; t: F32 } {
  const x = floatInput(op, 'input', input);
  const t = floatInput(op, 'target', target);
  checkSameDevice(op, { input: x, target: t });
  broadcastShapes(op, x.shape, t.shape);
  if (shapeStr(x.shape) !== shapeStr(t.shape)) {
    warnOnce(`${op} broadcast`, 'CONVNET_LOSS_BROADCAST',
      `${op}: using a target size (${shapeStr(t.shape)}) that is different to the input size (${shapeStr(x.shape)}). ` +
      'This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.');
  }
  return { x, t };
}

/** An optional float32 tensor that broadcasts to `shape` without growing it. */
function elementWeight(op: string, name: string, value: unknown, x: F32): F32 | null {
  if (value === undefined || value === null) return null;
  const w = floatInput(op, name, value);
  checkSameDevice(op, { input: x, [name]: w });
  const b = broadcastShapes(op, w.shape, x.shape);
  if (shapeStr(b) !== shapeStr(x.shape)) fail('E_SHAPE', `${op}: expected \`${name}\` broadcastable to \`input\`'s shape ${shapeStr(x.shape)}, got ${shapeStr(w.shape)}`);
  return w;
}

/** The elementwise loss reduced as asked ('none': as it is). */
function reduceElementwise(per: F32, code: ReductionCode): F32 {
  if (code === REDUCTION.none) return per;
  return code === REDUCTION.sum ? sum(per) : mean(per);
}

/**
 * Mean squared error (PyTorch's `F.mse_loss`): (input − target)² per element, then the mean
 * (default), the sum, or none. Both operands get gradients. An empty input gives NaN ('mean')
 * or 0 ('sum'), as PyTorch. Input and target of different shapes broadcast, as PyTorch, with a
 * one-time warning (as the other regression losses: see broadcastPair).
 * @example const loss = F.mseLoss(prediction, target);
 */
export function mseLoss(input: Tensor, target: Tensor, options?: MseLossOptions): F32 {
  const op = 'mseLoss';
  const o = checkOptions<MseLossOptions>(op, options, OPTION_KEYS.mseLoss);
  const { x, t } = broadcastPair(op, input, target);
  const code = reductionCode(op, o.reduction);
  if (nativePointwiseLoss(x, t)) return pointwiseLossOnCpu(op, x, t, code);
  return tidy(() => reduceElementwise(square(sub(x, t)), code));
}

/**
 * Mean absolute error (PyTorch's `F.l1_loss`): |input − target| per element, reduced. The
 * gradient at input = target is 0, as PyTorch's.
 * @example const loss = F.l1Loss(prediction, target, { reduction: 'sum' });
 */
export function l1Loss(input: Tensor, target: Tensor, options?: L1LossOptions): F32 {
  const op = 'l1Loss';
  const o = checkOptions<L1LossOptions>(op, options, OPTION_KEYS.l1Loss);
  const { x, t } = broadcastPair(op, input, target);
  const code = reductionCode(op, o.reduction);
  if (nativePointwiseLoss(x, t)) return pointwiseLossOnCpu(op, x, t, code);
  return tidy(() => reduceElementwise(abs(sub(x, t)), code));
}

/** min(|d|, k) · (|d| − min(|d|, k) / 2): ½d² below k, k(|d| − k/2) above, differentiable at the join. */
function huberTerm(d: F32, k: number): F32 {
  const a = abs(d);
  const q = minimum(a, k);
  return mul(q, sub(a, scale(q, 0.5)));
}

/**
 * Smooth L1 loss (PyTorch's `F.smooth_l1_loss`, Fast R-CNN's box regression loss): with
 * d = input − target, 0.5 d² / beta where |d| < beta and |d| − 0.5 beta elsewhere. beta = 0 is
 * the L1 loss; a negative beta is E_ARG, as PyTorch.
 * @example const loss = F.smoothL1Loss(boxDeltas, targets, { beta: 1 / 9 });
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options?: SmoothL1LossOptions): F32 {
  const op = 'smoothL1Loss';
  const o = checkOptions<SmoothL1LossOptions>(op, options, OPTION_KEYS.smoothL1Loss);
  const { x, t } = broadcastPair(op, input, target);
  const beta = o.beta === undefined ? 1 : checkNumber(op, 'beta', o.beta);
  if (beta < 0) fail('E_ARG', `${op}: expected \`beta\` >= 0, got ${beta}`);
  const code = reductionCode(op, o.reduction);
  if (nativePointwiseLoss(x, t, beta)) return pointwiseLossOnCpu(op, x, t, code, beta);
  return tidy(() => {
    const d = sub(x, t);
    return reduceElementwise(beta === 0 ? abs(d) : scale(huberTerm(d, beta), 1 / beta), code);
  });
}

/**
 * Whether a loss of one value per element pair runs natively: CPU operands of one shape (and for
 * smooth L1 and Huber a beta > 0 in float32; beta 0, smooth L1's L1 form, stays composed).
 */
function nativePointwiseLoss(x: F32, t: F32, beta = 1): boolean {
  return x.device === 'cpu' && t.device === 'cpu' && shapeStr(x.shape) === shapeStr(t.shape) && Math.fround(beta) > 0;
}

/** Whether posWeight is one constant weight per class of x's last axis ([C], [1, C], ...), as the kernel reads it. */
function onePerClass(p: F32, x: F32): boolean {
  const C = x.rank === 0 ? 0 : x.shape[x.rank - 1];
  return C > 0 && p.size === C && p.shape[p.rank - 1] === C && !p.requiresGrad && p.device === 'cpu';
}

/**
 * A loss of one value per element pair on the CPU (MSE, L1, smooth L1, Huber, BCE of logits, soft margin:
 * native/cpu/pointwise_loss.cc, PyTorch's formulas): the loss per element in one pass, then the
 * reduction; the backward one pass from the reduced loss's gradient as it is (one value for
 * 'mean', scaled by 1 / N, and 'sum'), into the gradients of the operands that need one.
 * Composed, each way took two to ten passes (MSE forward + backward 2.1x PyTorch's time on
 * [64, 3, 64, 64]).
 */
function pointwiseLossOnCpu(op: keyof typeof PointwiseLoss, x: F32, t: F32, code: ReductionCode, beta = 1,
  weights: { weight?: F32 | null; posWeight?: F32 | null } = {}): F32 {
  // posWeight (BCE of logits: one weight per class, no gradient) goes into the kernel; weight (any
  // shape that broadcasts to x) multiplies the loss per element before the reduction, so the
  // backward then starts from a gradient per element.
  const { weight = null, posWeight = null } = weights;
  const kind = PointwiseLoss[op];
  const saved = posWeight ? [x, t, posWeight] : [x, t];
  const backward = (factor: number): BackwardFn => (dy, [sx, st, sp], needs) => {
    const [dx, dt] = native.pointwiseLossBackward(kind, dy.handle(op), sx.handle(op), st.handle(op), beta, factor, needs[0], needs[1],
      sp ? sp.handle(op) : null);
    return [dx === null ? null : new Tensor<'float32'>(dx, sx.shape, 'float32'), dt === null ? null : new Tensor<'float32'>(dt, sx.shape, 'float32')];
  };
  const p = posWeight ? posWeight.handle(op) : null;
  const perElement = () => new Tensor<'float32'>(native.pointwiseLossForward(kind, x.handle(op), t.handle(op), beta, p), x.shape, 'float32');
  if (weight) {
    return tidy(() => reduceElementwise(mul(record(op, noGrad(perElement) as F32, [x, t], backward(1), saved), weight), code));
  }
  const y = noGrad(() => tidy(() => reduceElementwise(perElement(), code))) as F32;
  return record(op, y, [x, t], backward(code === REDUCTION.mean ? 1 / x.size : 1), saved);
}

/**
 * Huber loss (PyTorch's `F.huber_loss`): with d = input − target, 0.5 d² where |d| < delta and
 * delta (|d| − 0.5 delta) elsewhere, i.e. delta times smoothL1Loss with beta = delta. delta
 * must be > 0 (E_ARG otherwise, as PyTorch).
 * @example const loss = F.huberLoss(prediction, target, { delta: 2 });
 */
export function huberLoss(input: Tensor, target: Tensor, options?: HuberLossOptions): F32 {
  const op = 'huberLoss';
  const o = checkOptions<HuberLossOptions>(op, options, OPTION_KEYS.huberLoss);
  const { x, t } = broadcastPair(op, input, target);
  const delta = o.delta === undefined ? 1 : checkNumber(op, 'delta', o.delta);
  if (delta <= 0) fail('E_ARG', `${op}: expected \`delta\` > 0, got ${delta}`);
  const code = reductionCode(op, o.reduction);
  if (nativePointwiseLoss(x, t, delta)) return pointwiseLossOnCpu(op, x, t, code, delta);
  return tidy(() => reduceElementwise(huberTerm(sub(x, t), delta), code));
}

/**
 * Binary cross-entropy of probabilities (PyTorch's `F.binary_cross_entropy`):
 * −weight · (target · log(input) + (1 − target) · log(1 − input)) per element, each log clamped
 * to >= −100 as PyTorch does, so input 0 or 1 gives a finite loss (at most 100). The gradient is
 * PyTorch's: weight · (input − target) / max(input · (1 − input), 1e-12) for the input, and
 * weight · (log(1 − input) − log(input)) for the target (±Infinity at 0 and 1, as PyTorch).
 * An input outside [0, 1] (or NaN) is E_ARG, as PyTorch: the loss and its gradients fail when
 * read (on the GPU the error comes at the next wait, a read or `sync()`).
 * For logits, use `binaryCrossEntropyWithLogits`, which is stable.
 * @example const loss = F.binaryCrossEntropy(F.sigmoid(logits), labels);   // labels: float32 0/1
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: BinaryCrossEntropyOptions): F32 {
  const op = 'binaryCrossEntropy';
  const o = checkOptions<BinaryCrossEntropyOptions>(op, options, OPTION_KEYS.binaryCrossEntropy);
  const { x, t } = pairOfSameShape(op, input, target);
  const w = elementWeight(op, 'weight', o.weight, x);
  const code = reductionCode(op, o.reduction);
  return tidy(() => {
    // As PyTorch, an input outside [0, 1] is an error. The native kernels check x as they run
    // (native/cpu/binary_cross_entropy.cc: no copy of x): a failure fails the loss and the
    // gradients, and what is computed from them (Note [failed outputs], native/core/storage.h).
    const per = new Tensor<'float32'>(native.binaryCrossEntropyForward(x.handle(op), t.handle(op)), x.shape, 'float32');
    const y = record(op, per, [x, t], (dy, [sx, st], needs) => {
      const [dx, dt] = native.binaryCrossEntropyBackward(dy.handle(op), sx.handle(op), st.handle(op), needs[0], needs[1]);
      return [dx === null ? null : new Tensor<'float32'>(dx, sx.shape, 'float32'), dt === null ? null : new Tensor<'float32'>(dt, sx.shape, 'float32')];
    }, [x, t]);
    // The weight multiplies the elementwise loss as a constant (PyTorch's has no gradient either).
    return reduceElementwise(w ? mul(y, w.detach()) : y, code);
  });
}

/**
 * Binary cross-entropy of logits (PyTorch's `F.binary_cross_entropy_with_logits`): the BCE of
 * sigmoid(input) in the stable form max(x, 0) − x·t + log(1 + exp(−|x|)), so huge logits do not
 * overflow. With `posWeight` p (one per class, broadcast along the last axis), PyTorch's
 * (1 − t)·x + (1 + (p − 1)·t)·(log(1 + exp(−|x|)) + max(−x, 0)); `weight` multiplies each
 * element. Input and target both get gradients.
 * @example const loss = F.binaryCrossEntropyWithLogits(logits, labels, { posWeight: cc.full([C], 3) });
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: BinaryCrossEntropyWithLogitsOptions): F32 {
  const op = 'binaryCrossEntropyWithLogits';
  const o = checkOptions<BinaryCrossEntropyWithLogitsOptions>(op, options, OPTION_KEYS.binaryCrossEntropyWithLogits);
  const { x, t } = pairOfSameShape(op, input, target);
  const w = elementWeight(op, 'weight', o.weight, x);
  const p = elementWeight(op, 'posWeight', o.posWeight, x);
  const code = reductionCode(op, o.reduction);
  if (nativePointwiseLoss(x, t) && (w === null || w.device === 'cpu') && (p === null || onePerClass(p, x))) {
    return pointwiseLossOnCpu(op, x, t, code, 1, { weight: w, posWeight: p });
  }
  // Off the CPU: the kernel's formulas composed, with its gradients recorded (through the kinks of
  // max and |x| the tape's subgradients would not add up to sigmoid(x) - t at x = 0).
  return tidy(() => {
    const log1pExpNegAbs = (u: Tensor) => log(scale(exp(neg(abs(u))), 1, 1));   // log(1 + exp(-|u|)) <= log 2
    const softplusNegX = (u: Tensor) => add(log1pExpNegAbs(u), maximum(neg(u), 0));   // softplus(-u), stable
    const loss = noGrad(() => tidy(() => {
      if (p !== null) return add(mul(scale(t, -1, 1), x), mul(add(mul(sub(p, 1), t), 1), softplusNegX(x)));
      // max(x, 0) - x t + log(1 + exp(-|x|)), with (1 - t) x where x > 0 (no inf - inf at +inf).
      return add(where(gt(x, 0), mul(scale(t, -1, 1), x), neg(mul(x, t))), log1pExpNegAbs(x));
    }));
    const recorded = p === null
      ? record(op, loss, [x, t], (dy, [sx, st]) => [mul(dy, sub(sigmoid(sx), st)), mul(dy, neg(sx))], [x, t])
      // posWeight too (PyTorch gives it none; this library does): dl/dp = t softplus(-x), summed to p's shape.
      : record(op, loss, [x, t, p], (dy, [sx, st, sp]) => {
        const logWeight = add(mul(sub(sp, 1), st), 1), sp_x = softplusNegX(sx);
        return [mul(dy, sub(scale(st, -1, 1), mul(logWeight, sigmoid(neg(sx))))), mul(dy, sub(mul(sub(sp, 1), sp_x), sx)),
          sumTo(mul(dy, mul(st, sp_x)), sp.shape)];
      }, [x, t, p]);
    return reduceElementwise(w ? mul(recorded, w) : recorded, code);
  });
}

// ---- more of torch.nn's losses, composed from tensor ops ----------------------------------------
// As the regression losses above: differentiable ops of ops.ts inside a tidy scope, so they run
// on every device and their gradients (of every float32 operand, targets included, where
// PyTorch's autograd gives one) come from the tape. Their formulas, edge cases and shape rules
// are PyTorch 1.13's (checked against it in test/nn-more.test.ts).

export interface CosineEmbeddingLossOptions {
  /** Dissimilar pairs (target −1) with cosine below this add nothing. Default 0. */
  margin?: number;
  reduction?: Reduction;
}
export interface MarginRankingLossOptions {
  /** Default 0. */
  margin?: number;
  reduction?: Reduction;
}
export interface SoftMarginLossOptions {
  reduction?: Reduction;
}
export interface MultilabelSoftMarginLossOptions {
  /** A float32 weight of each class (broadcastable to `input`'s shape, usually [C]). */
  weight?: Tensor;
  reduction?: Reduction;
}
export interface HingeEmbeddingLossOptions {
  /** Default 1. */
  margin?: number;
  reduction?: Reduction;
}
export interface PoissonNllLossOptions {
  /** `input` holds log-rates (default true): exp(input) − target · input; else rates: input − target · log(input + eps). */
  logInput?: boolean;
  /** Add the Stirling term of log(target!) where target > 1. Default false. */
  full?: boolean;
  /** Keeps log(input + eps) finite at 0 (logInput false only). Default 1e-8. */
  eps?: number;
  reduction?: Reduction;
}
export interface GaussianNllLossOptions {
  /** Add the constant 0.5 · log(2π). Default false. */
  full?: boolean;
  /** `var` is clamped to at least this (for the value; its gradient passes as if unclamped, as PyTorch). Default 1e-6. */
  eps?: number;
  reduction?: Reduction;
}
export interface MultilabelMarginLossOptions {
  reduction?: Reduction;
}

/** A target of ±1 labels (or other values, used as they are): float32, or int32 taken as float32. */
function signTarget(op: string, name: string, value: unknown): Tensor {
  const t = checkTensor(op, name, value);
  if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: expected \`${name}\` of dtype float32 or int32, got ${t.dtype}`);
  return t;
}

/** The float32 form of a target (a cast for int32: made inside the caller's tidy). */
const asFloat = (t: Tensor): F32 => (t.dtype === 'float32' ? (t as F32) : cast(t, 'float32'));

function anyMargin(op: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : checkNumber(op, 'margin', value);
}

function flagOption(op: string, name: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : checkBool(op, name, value);
}

function epsOption(op: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const e = checkNumber(op, 'eps', value);
  if (e < 0) fail('E_ARG', `${op}: expected \`eps\` >= 0, got ${e}`);
  return e;
}

/**
 * Cosine embedding loss (PyTorch's `F.cosine_embedding_loss`): with cos the cosine similarity
 * of input1 and input2 along their last axis (each squared norm + 1e-12, as PyTorch), 1 − cos
 * where target is 1, max(0, cos − margin) where it is −1, and 0 for any other target value.
 * Inputs [N, D] with target [N], or [D] with target []; target float32 or int32.
 * @example const loss = F.cosineEmbeddingLoss(a, b, same, { margin: 0.2 });   // same: ±1
 */
export function cosineEmbeddingLoss(input1: Tensor, input2: Tensor, target: Tensor, options?: CosineEmbeddingLossOptions): F32 {
  const op = 'cosineEmbeddingLoss';
  const o = checkOptions<CosineEmbeddingLossOptions>(op, options, OPTION_KEYS.cosineEmbeddingLoss);
  const x1 = floatInput(op, 'input1', input1), x2 = floatInput(op, 'input2', input2);
  const y = signTarget(op, 'target', target);
  checkSameDevice(op, { input1: x1, input2: x2, target: y });
  if (y.rank > 1) fail('E_SHAPE', `${op}: expected a 0-D or 1-D \`target\`, got ${shapeStr(y.shape)}`);
  const rank = y.rank + 1;
  if (x1.rank !== rank || x2.rank !== rank) {
    fail('E_SHAPE', `${op}: a ${y.rank}-D target expects ${rank}-D inputs (${rank === 2 ? '[N, D]' : '[D]'}), got ${shapeStr(x1.shape)} and ${shapeStr(x2.shape)}`);
  }
  const xs = broadcastShapes(op, x1.shape, x2.shape);
  broadcastShapes(op, xs.slice(0, -1), y.shape);
  const m = anyMargin(op, o.margin, 0);
  const code = reductionCode(op, o.reduction);
  if (x1.device === 'cpu' && shapeStr(x1.shape) === shapeStr(x2.shape) && y.size === (rank === 2 ? x1.shape[0] : 1) && Number.isFinite(m)) {
    // One native pass each way (native/cpu/cosine_embedding_loss.cc).
    const c = code as 0 | 1 | 2, N = rank === 2 ? x1.shape[0] : 1, D = x1.shape[rank - 1];
    return tidy(() => {
      const a = reshape(x1, [N, D]), b = reshape(x2, [N, D]), t = reshape(y, [N]);
      const loss = noGrad(() => new Tensor<'float32'>(native.cosineEmbeddingLossForward(a.handle(op), b.handle(op), t.handle(op), m, c), c === REDUCTION.none ? [N] : [], 'float32')) as F32;
      const recorded = record(op, loss, [a, b], (dy, [sa, sb, st], needs) => {
        const [da, db] = native.cosineEmbeddingLossBackward(dy.handle(op), sa.handle(op), sb.handle(op), st.handle(op), m, c, needs[0], needs[1]);
        return [da === null ? null : new Tensor<'float32'>(da, [N, D], 'float32'), db === null ? null : new Tensor<'float32'>(db, [N, D], 'float32')];
      }, [a, b, t]);
      return c === REDUCTION.none && rank === 1 ? reshape(recorded, []) : recorded;
    });
  }
  const EPS = 1e-12, d = rank - 1;
  return tidy(() => {
    const dot = sum(mul(x1, x2), d);
    const denom = sqrt(mul(scale(sum(square(x1), d), 1, EPS), scale(sum(square(x2), d), 1, EPS)));
    const cos = div(dot, denom);
    const t = asFloat(y);
    const per = add(where(eq(t, 1), scale(cos, -1, 1), 0), where(eq(t, -1), clamp(scale(cos, 1, -m), 0), 0));
    return reduceElementwise(per, code);
  });
}

/**
 * Margin ranking loss (PyTorch's `F.margin_ranking_loss`): max(0, −target · (input1 − input2) +
 * margin) per element; target 1 means input1 should rank higher. The three must have the same
 * rank (E_SHAPE otherwise, as PyTorch) and broadcast; target float32 or int32.
 * @example const loss = F.marginRankingLoss(scoresA, scoresB, order, { margin: 0.1 });
 */
export function marginRankingLoss(input1: Tensor, input2: Tensor, target: Tensor, options?: MarginRankingLossOptions): F32 {
  const op = 'marginRankingLoss';
  const o = checkOptions<MarginRankingLossOptions>(op, options, OPTION_KEYS.marginRankingLoss);
  const x1 = floatInput(op, 'input1', input1), x2 = floatInput(op, 'input2', input2);
  const y = signTarget(op, 'target', target);
  checkSameDevice(op, { input1: x1, input2: x2, target: y });
  if (x1.rank !== x2.rank || x1.rank !== y.rank) {
    fail('E_SHAPE', `${op}: expected inputs and target of the same rank, got ${shapeStr(x1.shape)}, ${shapeStr(x2.shape)} and ${shapeStr(y.shape)}`);
  }
  broadcastShapes(op, broadcastShapes(op, x1.shape, x2.shape), y.shape);
  const m = anyMargin(op, o.margin, 0);
  const code = reductionCode(op, o.reduction);
  return tidy(() => reduceElementwise(clamp(scale(mul(asFloat(y), sub(x1, x2)), -1, m), 0), code));
}

/**
 * Two-class soft-margin (logistic) loss (PyTorch's `F.soft_margin_loss`): log(1 + exp(−target ·
 * input)) per element, computed stably (no overflow for any margin); 'mean' over every element.
 * `target` (±1; float32 or int32) broadcasts to `input`'s shape.
 * @example const loss = F.softMarginLoss(scores, labels);   // labels ±1
 */
export function softMarginLoss(input: Tensor, target: Tensor, options?: SoftMarginLossOptions): F32 {
  const op = 'softMarginLoss';
  const o = checkOptions<SoftMarginLossOptions>(op, options, OPTION_KEYS.softMarginLoss);
  const x = floatInput(op, 'input', input);
  const y = signTarget(op, 'target', target);
  checkSameDevice(op, { input: x, target: y });
  if (shapeStr(broadcastShapes(op, x.shape, y.shape)) !== shapeStr(x.shape)) {
    fail('E_SHAPE', `${op}: expected \`target\` broadcastable to \`input\`'s shape ${shapeStr(x.shape)}, got ${shapeStr(y.shape)}`);
  }
  const code = reductionCode(op, o.reduction);
  if (x.device === 'cpu' && shapeStr(y.shape) === shapeStr(x.shape)) {
    return tidy(() => pointwiseLossOnCpu(op, x, asFloat(y), code));
  }
  return tidy(() => {
    const z = neg(mul(x, asFloat(y)));
    return reduceElementwise(add(maximum(z, 0), log1p(exp(neg(abs(z))))), code);
  });
}

/**
 * Multi-label one-vs-all logistic loss (PyTorch's `F.multilabel_soft_margin_loss`): per sample
 * −(1/C) Σ_c weight_c · (target_c · logσ(input_c) + (1 − target_c) · logσ(−input_c)) over the last
 * axis (C classes), then reduced over the samples. `target` (float32, 0/1 or soft) has
 * `input`'s shape ([N, C] or [C]); `weight` broadcasts to it.
 * @example const loss = F.multilabelSoftMarginLoss(logits, tags);   // tags [N, C] of 0/1
 */
export function multilabelSoftMarginLoss(input: Tensor, target: Tensor, options?: MultilabelSoftMarginLossOptions): F32 {
  const op = 'multilabelSoftMarginLoss';
  const o = checkOptions<MultilabelSoftMarginLossOptions>(op, options, OPTION_KEYS.multilabelSoftMarginLoss);
  const { x, t } = pairOfSameShape(op, input, target);
  if (x.rank < 1) fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C] or [C], got a scalar`);
  const w = elementWeight(op, 'weight', o.weight, x);
  const code = reductionCode(op, o.reduction);
  const C = x.shape[x.rank - 1];
  // −(t logσ(x) + (1 − t) logσ(−x)) is the BCE of logits, term for term (its one native pass on the CPU).
  return tidy(() => {
    const loss = binaryCrossEntropyWithLogits(x, t, { reduction: 'none', ...(w ? { weight: w } : {}) });
    return reduceElementwise(scale(sum(loss, x.rank - 1), 1 / C), code);
  });
}

/**
 * Hinge embedding loss (PyTorch's `F.hinge_embedding_loss`), for distances `input`: input where
 * target is 1, max(0, margin − input) where it is −1 (other values: both terms, as PyTorch).
 * `input` and `target` (float32 or int32) broadcast.
 * @example const loss = F.hingeEmbeddingLoss(distances, same, { margin: 2 });
 */
export function hingeEmbeddingLoss(input: Tensor, target: Tensor, options?: HingeEmbeddingLossOptions): F32 {
  const op = 'hingeEmbeddingLoss';
  const o = checkOptions<HingeEmbeddingLossOptions>(op, options, OPTION_KEYS.hingeEmbeddingLoss);
  const x = floatInput(op, 'input', input);
  const y = signTarget(op, 'target', target);
  checkSameDevice(op, { input: x, target: y });
  broadcastShapes(op, x.shape, y.shape);
  const m = anyMargin(op, o.margin, 1);
  const code = reductionCode(op, o.reduction);
  return tidy(() => {
    const t = asFloat(y);
    return reduceElementwise(add(where(ne(t, 1), clamp(scale(x, -1, m), 0), 0), where(ne(t, -1), x, 0)), code);
  });
}

/**
 * Poisson negative log-likelihood (PyTorch's `F.poisson_nll_loss`): exp(input) − target · input
 * (`logInput`, the default) or input − target · log(input + eps); `full` adds the Stirling
 * approximation target · log(target) − target + ½ log(2π · target) where target > 1. `input`
 * and `target` broadcast; both get gradients (at target 0 with `full` the target's is 0, where
 * PyTorch's is NaN).
 * @example const loss = F.poissonNllLoss(logRates, counts);
 */
export function poissonNllLoss(input: Tensor, target: Tensor, options?: PoissonNllLossOptions): F32 {
  const op = 'poissonNllLoss';
  const o = checkOptions<PoissonNllLossOptions>(op, options, OPTION_KEYS.poissonNllLoss);
  const x = floatInput(op, 'input', input), t = floatInput(op, 'target', target);
  checkSameDevice(op, { input: x, target: t });
  broadcastShapes(op, x.shape, t.shape);
  const logInput = flagOption(op, 'logInput', o.logInput, true);
  const full = flagOption(op, 'full', o.full, false);
  const eps = epsOption(op, o.eps, 1e-8);
  const code = reductionCode(op, o.reduction);
  return tidy(() => {
    let loss = logInput ? sub(exp(x), mul(t, x)) : sub(x, mul(t, log(scale(x, 1, eps))));
    if (full) {
      // On a target kept above 1, so that the masked-off entries put no NaN into its gradient.
      const big = gt(t, 1);
      const ts = where(big, t, 2);
      const stirling = add(sub(mul(ts, log(ts)), ts), scale(log(scale(ts, 2 * Math.PI)), 0.5));
      loss = add(loss, where(big, stirling, 0));
    }
    return reduceElementwise(loss, code);
  });
}

/**
 * Gaussian negative log-likelihood (PyTorch's `F.gaussian_nll_loss`): ½ (log(max(var, eps)) +
 * (input − target)² / max(var, eps)), + ½ log(2π) with `full`. `var` has `input`'s shape
 * (heteroscedastic), or one value per sample: `input`'s shape without its last axis, or with
 * it 1 (homoscedastic); any other shape is E_SHAPE, and a negative entry E_ARG (this reads
 * `var` back, as PyTorch does). As PyTorch, the clamp is invisible to the gradient: var's
 * gradient is taken at the clamped value even where var < eps. `target` broadcasts with `input`.
 * @example const loss = F.gaussianNllLoss(mu, y, sigma2);
 */
export function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor, options?: GaussianNllLossOptions): F32 {
  const op = 'gaussianNllLoss';
  const o = checkOptions<GaussianNllLossOptions>(op, options, OPTION_KEYS.gaussianNllLoss);
  const x = floatInput(op, 'input', input), t = floatInput(op, 'target', target), v = floatInput(op, 'var', variance);
  checkSameDevice(op, { input: x, target: t, var: v });
  const xs = shapeStr(x.shape), lead = shapeStr(x.shape.slice(0, -1));
  let unsqueeze = false;
  if (shapeStr(v.shape) !== xs) {
    if (lead === shapeStr(v.shape)) unsqueeze = true;
    else if (!(v.rank >= 1 && lead === shapeStr(v.shape.slice(0, -1)) && v.shape[v.rank - 1] === 1)) {
      fail('E_SHAPE', `${op}: \`var\` is of incorrect size ${shapeStr(v.shape)}: expected \`input\`'s shape ${xs}, or ${lead}, or ${shapeStr([...x.shape.slice(0, -1), 1])}`);
    }
  }
  const vs = unsqueeze ? [...v.shape, 1] : v.shape;
  broadcastShapes(op, broadcastShapes(op, x.shape, t.shape), vs);
  const full = flagOption(op, 'full', o.full, false);
  const eps = epsOption(op, o.eps, 1e-6);
  const code = reductionCode(op, o.reduction);
  if (tidy(() => any(lt(v, 0)).item()) === 1) fail('E_ARG', `${op}: \`var\` has negative entries`);
  return tidy(() => {
    const vv = unsqueeze ? reshape(v, vs) : v;
    // max(var, eps) for the values; the gradient passes straight through, as PyTorch's no_grad clamp_.
    const vc = record(`${op} clamp`, noGrad(() => clamp(vv, eps)) as F32, [vv], (dy) => [dy]);
    let loss = scale(add(log(vc), div(square(sub(x, t)), vc)), 0.5);
    if (full) loss = scale(loss, 1, 0.5 * Math.log(2 * Math.PI));
    return reduceElementwise(loss, code);
  });
}

/**
 * Multi-class multi-label hinge loss (PyTorch's `F.multilabel_margin_loss`): for each sample, the
 * target classes are the int32 entries of its `target` row up to the first −1; the loss is
 * Σ_{j target} Σ_{i not target} max(0, 1 − (x[j] − x[i])) / C. `input` [N, C] or [C] (or a
 * scalar, one class), `target` of its shape. The labels are read back (they decide the pairs;
 * an entry outside [−1, C) is E_INDEX, as PyTorch checks every entry). The pairs are summed
 * as an [N, C, C] tensor.
 * @example const loss = F.multilabelMarginLoss(scores, cc.tensor([[3, 0, -1, 1]], { dtype: 'int32' }));
 */
export function multilabelMarginLoss(input: Tensor, target: Tensor, options?: MultilabelMarginLossOptions): F32 {
  const op = 'multilabelMarginLoss';
  const o = checkOptions<MultilabelMarginLossOptions>(op, options, OPTION_KEYS.multilabelMarginLoss);
  const x = floatInput(op, 'input', input);
  const y = labels(op, 'target', target);
  checkSameDevice(op, { input: x, target: y });
  if (x.rank > 2) fail('E_SHAPE', `${op}: expected \`input\` of shape [N, C] or [C], got ${shapeStr(x.shape)}`);
  sameShape(op, 'target', y, x.shape, ' (as `input`)');
  const C = x.rank === 0 ? 1 : x.shape[x.rank - 1];
  const N = x.rank === 2 ? x.shape[0] : 1;
  if (C === 0) fail('E_SHAPE', `${op}: expected at least one class, got \`input\` of shape ${shapeStr(x.shape)}`);
  const code = reductionCode(op, o.reduction);
  if (x.device === 'cpu') {
    // One native pass each way (native/cpu/multilabel_margin_loss.cc); the labels are checked as it runs.
    const c = code as 0 | 1 | 2;
    return tidy(() => {
      const x2 = reshape(x, [N, C]), y2 = reshape(y, [N, C]);
      const loss = noGrad(() => new Tensor<'float32'>(native.multilabelMarginLossForward(x2.handle(op), y2.handle(op), c), c === REDUCTION.none ? [N] : [], 'float32')) as F32;
      const recorded = record(op, loss, [x2], (dy, [sx, sy]) => [
        new Tensor<'float32'>(native.multilabelMarginLossBackward(dy.handle(op), sx.handle(op), sy.handle(op), c), [N, C], 'float32'),
      ], [x2, y2]);
      return c === REDUCTION.none && x.rank < 2 ? reshape(recorded, []) : recorded;
    });
  }
  const labelsRead = y.dataSync() as Int32Array;
  // Slot j of sample n: its target class (0 when unused), whether it is used, and which classes are not targets.
  const slotClass = new Int32Array(N * C), slotUsed = new Float32Array(N * C), other = new Float32Array(N * C).fill(1);
  for (let n = 0; n < N; n++) {
    let ended = false;
    for (let j = 0; j < C; j++) {
      const c = labelsRead[n * C + j];
      if (c < -1 || c >= C) fail('E_INDEX', `${op}: \`target\` entry ${c} (sample ${n}, position ${j}) is out of range [-1, ${C - 1}]`);
      if (c === -1) ended = true;
      if (ended) continue;
      slotClass[n * C + j] = c;
      slotUsed[n * C + j] = 1;
      other[n * C + c] = 0;
    }
  }
  return tidy(() => {
    const on = { device: x.device };
    const x2 = reshape(x, [N, C]);
    const xTarget = gather(x2, 1, tensor(slotClass, { dtype: 'int32', shape: [N, C], ...on }));
    // As the CPU kernel and PyTorch's: a pair counts where 1 - x[target] + x[j] > 0 (a NaN there
    // counts nothing), and the unused pairs are selected away, not multiplied by 0 (NaN * 0).
    const raw = add(reshape(scale(xTarget, -1, 1), [N, C, 1]), reshape(x2, [N, 1, C]));
    const mask = mul(tensor(slotUsed, { shape: [N, C, 1], ...on }), tensor(other, { shape: [N, 1, C], ...on }));
    const per = scale(sum(where(mul(mask, gt(raw, 0)), raw, 0), [1, 2]), 1 / C);
    return reduceElementwise(x.rank < 2 ? reshape(per, []) : per, code);
  });
}
