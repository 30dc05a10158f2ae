/**
 * The losses as modules, with PyTorch's class names and options: `call(input, target)`
 * returns the loss (a scalar for 'mean'/'sum'). A class weight is registered as the buffer
 * `weight`, as PyTorch's `_WeightedLoss` (so it appears in `stateDict()`). `config()` hands that
 * buffer back as the `weight` option (models.save stores its shape; the values come from the weights).
 */
import * as F from './functional/index';
import type {
  BinaryCrossEntropyOptions, BinaryCrossEntropyWithLogitsOptions, ContrastiveLossOptions, CrossEntropyOptions, HingeLossOptions,
  HuberLossOptions, KlDivOptions, L1LossOptions, MseLossOptions, MultiMarginLossOptions, NllLossOptions, SmoothL1LossOptions,
  TripletMarginLossOptions, TripletMarginWithDistanceLossOptions, CosineEmbeddingLossOptions, MarginRankingLossOptions, SoftMarginLossOptions, MultilabelSoftMarginLossOptions,
  HingeEmbeddingLossOptions, PoissonNllLossOptions, GaussianNllLossOptions, MultilabelMarginLossOptions, CtcLossOptions,
} from './functional/index';
import { OPTION_KEYS } from './functional/loss';
import { noGrad } from '../autograd';
import { clone } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { merge, type WithOptions } from './layers';
import { Module } from './module';

type F32 = Tensor<'float32'>;

/** Keeps a copy of the class weight as the buffer `weight` (or `name`; the caller keeps theirs). */
function weightBuffer(m: Module, w: Tensor | undefined, name = 'weight'): Tensor | undefined {
  if (w === undefined || w === null) return undefined;
  return m.registerBuffer(name, noGrad(() => clone(w)));
}

function showOptions(o: object): string {
  return Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'weight' && k !== 'posWeight').map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** Softmax cross-entropy with class-index (int32) or class-probability (float32, the input's shape) targets. @example const loss = new nn.CrossEntropyLoss().call(logits, labels); */
export class CrossEntropyLoss extends Module {
  readonly options: CrossEntropyOptions;

  constructor(opts: CrossEntropyOptions = {}) {
    super();
    checkOptions('CrossEntropyLoss', opts, OPTION_KEYS.crossEntropy);
    this.options = { ...opts, weight: weightBuffer(this, opts.weight) };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.crossEntropy(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Negative log-likelihood of log-probabilities. @example new nn.NLLLoss().call(F.logSoftmax(x, 1), labels) */
export class NLLLoss extends Module {
  readonly options: NllLossOptions;

  constructor(opts: NllLossOptions = {}) {
    super();
    checkOptions('NLLLoss', opts, OPTION_KEYS.nllLoss);
    this.options = { ...opts, weight: weightBuffer(this, opts.weight) };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.nllLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** The survey's one-vs-all multi-class hinge loss (L1 or L2). @example new nn.HingeLoss({ p: 2 }) */
export class HingeLoss extends Module {
  constructor(readonly options: HingeLossOptions = {}) {
    super();
    checkOptions('HingeLoss', options, OPTION_KEYS.hingeLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.hingeLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** PyTorch's MultiMarginLoss. @example new nn.MultiMarginLoss({ margin: 1, p: 1 }) */
export class MultiMarginLoss extends Module {
  readonly options: MultiMarginLossOptions;

  constructor(opts: MultiMarginLossOptions = {}) {
    super();
    checkOptions('MultiMarginLoss', opts, OPTION_KEYS.multiMarginLoss);
    this.options = { ...opts, weight: weightBuffer(this, opts.weight) };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.multiMarginLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Contrastive loss of embedding pairs; call(a, b, y) with y = 1 for similar pairs. @example new nn.ContrastiveLoss({ margin: 2 }) */
export class ContrastiveLoss extends Module {
  constructor(readonly options: ContrastiveLossOptions = {}) {
    super();
    checkOptions('ContrastiveLoss', options, OPTION_KEYS.contrastiveLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(a: Tensor, b: Tensor, y: Tensor): F32 {
    return F.contrastiveLoss(a, b, y, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Triplet margin loss; call(anchor, positive, negative). @example new nn.TripletMarginLoss({ margin: 0.2 }) */
export class TripletMarginLoss extends Module {
  constructor(readonly options: TripletMarginLossOptions = {}) {
    super();
    checkOptions('TripletMarginLoss', options, OPTION_KEYS.tripletMarginLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(anchor: Tensor, positive: Tensor, negative: Tensor): F32 {
    return F.tripletMarginLoss(anchor, positive, negative, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/**
 * Triplet margin loss with any distance (`F.tripletMarginWithDistanceLoss`); call(anchor,
 * positive, negative). A custom distanceFunction cannot be saved by models.save (E_ARG).
 * @example new nn.TripletMarginWithDistanceLoss({ distanceFunction: (x, y) => cc.sub(1, F.cosineSimilarity(x, y)), margin: 0.3 })
 */
export class TripletMarginWithDistanceLoss extends Module {
  constructor(readonly options: TripletMarginWithDistanceLossOptions = {}) {
    super();
    checkOptions('TripletMarginWithDistanceLoss', options, OPTION_KEYS.tripletMarginWithDistanceLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(anchor: Tensor, positive: Tensor, negative: Tensor): F32 {
    return F.tripletMarginWithDistanceLoss(anchor, positive, negative, this.options);
  }

  override extraRepr(): string {
    const { distanceFunction, ...rest } = this.options;
    return [showOptions(rest), ...(distanceFunction ? [`distanceFunction=${distanceFunction.name || 'function'}`] : [])].filter((x) => x).join(', ');
  }
}

/** KL divergence; call(logProbs, target). @example new nn.KLDivLoss({ reduction: 'batchmean' }) */
export class KLDivLoss extends Module {
  constructor(readonly options: KlDivOptions = {}) {
    super();
    checkOptions('KLDivLoss', options, OPTION_KEYS.klDiv);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.klDiv(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Mean squared error; call(input, target) of the same shape. @example new nn.MSELoss().call(prediction, target) */
export class MSELoss extends Module {
  constructor(readonly options: MseLossOptions = {}) {
    super();
    checkOptions('MSELoss', options, OPTION_KEYS.mseLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.mseLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Mean absolute error. @example new nn.L1Loss({ reduction: 'sum' }) */
export class L1Loss extends Module {
  constructor(readonly options: L1LossOptions = {}) {
    super();
    checkOptions('L1Loss', options, OPTION_KEYS.l1Loss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.l1Loss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Smooth L1 loss (quadratic below `beta`, default 1; beta 0 is L1). @example new nn.SmoothL1Loss({ beta: 0.5 }) */
export class SmoothL1Loss extends Module {
  constructor(readonly options: SmoothL1LossOptions = {}) {
    super();
    checkOptions('SmoothL1Loss', options, OPTION_KEYS.smoothL1Loss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.smoothL1Loss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Huber loss (quadratic below `delta`, default 1). @example new nn.HuberLoss({ delta: 2 }) */
export class HuberLoss extends Module {
  constructor(readonly options: HuberLossOptions = {}) {
    super();
    checkOptions('HuberLoss', options, OPTION_KEYS.huberLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.huberLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/**
 * Binary cross-entropy of probabilities; `weight` is kept as the buffer `weight`.
 * @example new nn.BCELoss().call(F.sigmoid(logits), labels)
 */
export class BCELoss extends Module {
  readonly options: BinaryCrossEntropyOptions;

  constructor(opts: BinaryCrossEntropyOptions = {}) {
    super();
    checkOptions('BCELoss', opts, OPTION_KEYS.binaryCrossEntropy);
    this.options = { ...opts, weight: weightBuffer(this, opts.weight) };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.binaryCrossEntropy(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/**
 * Binary cross-entropy of logits, stable for any logit; `weight` and `posWeight` are kept as the
 * buffers `weight` and `pos_weight` (PyTorch's keys).
 * @example new nn.BCEWithLogitsLoss({ posWeight: cc.full([C], 3) }).call(logits, labels)
 */
export class BCEWithLogitsLoss extends Module {
  readonly options: BinaryCrossEntropyWithLogitsOptions;

  constructor(opts: BinaryCrossEntropyWithLogitsOptions = {}) {
    super();
    checkOptions('BCEWithLogitsLoss', opts, OPTION_KEYS.binaryCrossEntropyWithLogits);
    this.options = { ...opts, weight: weightBuffer(this, opts.weight), posWeight: weightBuffer(this, opts.posWeight, 'pos_weight') };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.binaryCrossEntropyWithLogits(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

// ---- more of torch.nn's losses -----------------------------------------------------------------
// Positional arguments as PyTorch's (without its deprecated size_average and reduce), then
// optionally an options object (its keyword arguments).

/** The options of a loss built from PyTorch-style arguments: positional values for `names`, then an options object. */
function lossOptions<O extends object>(op: string, args: readonly unknown[], names: readonly (keyof O & string)[], keys: readonly string[]): O {
  return merge<O>(op, args, names, keys);
}

/** Cosine embedding loss; call(input1, input2, target) with target ±1. @example new nn.CosineEmbeddingLoss(0.5) */
export class CosineEmbeddingLoss extends Module {
  readonly options: CosineEmbeddingLossOptions;

  constructor(...args: WithOptions<[margin: number], CosineEmbeddingLossOptions>);
  constructor(...args: unknown[]) {
    super();
    this.options = lossOptions<CosineEmbeddingLossOptions>('CosineEmbeddingLoss', args, ['margin'], OPTION_KEYS.cosineEmbeddingLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input1: Tensor, input2: Tensor, target: Tensor): F32 {
    return F.cosineEmbeddingLoss(input1, input2, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Margin ranking loss; call(input1, input2, target) with target ±1. @example new nn.MarginRankingLoss(0.1) */
export class MarginRankingLoss extends Module {
  readonly options: MarginRankingLossOptions;

  constructor(...args: WithOptions<[margin: number], MarginRankingLossOptions>);
  constructor(...args: unknown[]) {
    super();
    this.options = lossOptions<MarginRankingLossOptions>('MarginRankingLoss', args, ['margin'], OPTION_KEYS.marginRankingLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input1: Tensor, input2: Tensor, target: Tensor): F32 {
    return F.marginRankingLoss(input1, input2, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Two-class logistic loss log(1 + exp(−y · x)). @example new nn.SoftMarginLoss().call(scores, labels) */
export class SoftMarginLoss extends Module {
  constructor(readonly options: SoftMarginLossOptions = {}) {
    super();
    checkOptions('SoftMarginLoss', options, OPTION_KEYS.softMarginLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.softMarginLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/**
 * Multi-label one-vs-all logistic loss; `weight` (positional, as PyTorch, or an option) is kept
 * as the buffer `weight`. @example new nn.MultiLabelSoftMarginLoss(classWeights)
 */
export class MultiLabelSoftMarginLoss extends Module {
  readonly options: MultilabelSoftMarginLossOptions;

  constructor(...args: WithOptions<[weight: Tensor | null], MultilabelSoftMarginLossOptions>);
  constructor(...args: unknown[]) {
    super();
    const o = lossOptions<MultilabelSoftMarginLossOptions>('MultiLabelSoftMarginLoss', args, ['weight'], OPTION_KEYS.multilabelSoftMarginLoss);
    this.options = { ...o, weight: weightBuffer(this, o.weight ?? undefined) };
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.multilabelSoftMarginLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Hinge embedding loss of distances (default margin 1). @example new nn.HingeEmbeddingLoss(2) */
export class HingeEmbeddingLoss extends Module {
  readonly options: HingeEmbeddingLossOptions;

  constructor(...args: WithOptions<[margin: number], HingeEmbeddingLossOptions>);
  constructor(...args: unknown[]) {
    super();
    this.options = lossOptions<HingeEmbeddingLossOptions>('HingeEmbeddingLoss', args, ['margin'], OPTION_KEYS.hingeEmbeddingLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.hingeEmbeddingLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Poisson negative log-likelihood; positional logInput, full as PyTorch. @example new nn.PoissonNLLLoss(false, true, { eps: 1e-6 }) */
export class PoissonNLLLoss extends Module {
  readonly options: PoissonNllLossOptions;

  constructor(...args: WithOptions<[logInput: boolean, full: boolean], PoissonNllLossOptions>);
  constructor(...args: unknown[]) {
    super();
    this.options = lossOptions<PoissonNllLossOptions>('PoissonNLLLoss', args, ['logInput', 'full'], OPTION_KEYS.poissonNllLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.poissonNllLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Gaussian negative log-likelihood; call(input, target, var). Options only (PyTorch's are keyword-only). @example new nn.GaussianNLLLoss({ full: true }) */
export class GaussianNLLLoss extends Module {
  constructor(readonly options: GaussianNllLossOptions = {}) {
    super();
    checkOptions('GaussianNLLLoss', options, OPTION_KEYS.gaussianNllLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor, variance: Tensor): F32 {
    return F.gaussianNllLoss(input, target, variance, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/** Multi-label margin loss; call(input, target) with int32 target class lists ended by −1. @example new nn.MultiLabelMarginLoss() */
export class MultiLabelMarginLoss extends Module {
  constructor(readonly options: MultilabelMarginLossOptions = {}) {
    super();
    checkOptions('MultiLabelMarginLoss', options, OPTION_KEYS.multilabelMarginLoss);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(input: Tensor, target: Tensor): F32 {
    return F.multilabelMarginLoss(input, target, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}

/**
 * The CTC loss as a module, as torch.nn.CTCLoss (positional: blank, reduction, zeroInfinity):
 * call(logProbs, targets, inputLengths, targetLengths) is `F.ctcLoss`.
 * @example const ctc = new nn.CTCLoss({ zeroInfinity: true }); ctc.call(logProbs, targets, inputLengths, targetLengths)
 */
export class CTCLoss extends Module {
  readonly options: CtcLossOptions;

  constructor(...args: WithOptions<[blank: number, reduction: 'mean' | 'sum' | 'none', zeroInfinity: boolean], CtcLossOptions>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['blank', 'reduction', 'zeroInfinity'] as const;
    this.options = lossOptions<CtcLossOptions>('CTCLoss', args, keys, keys);
  }

  override config(): unknown[] {
    return [{ ...this.options }];
  }

  forward(logProbs: Tensor, targets: Tensor, inputLengths: Tensor | readonly number[], targetLengths: Tensor | readonly number[]): F32 {
    return F.ctcLoss(logProbs, targets, inputLengths, targetLengths, this.options);
  }

  override extraRepr(): string {
    return showOptions(this.options);
  }
}
