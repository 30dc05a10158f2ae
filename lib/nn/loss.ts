/**
 * The losses as modules, with PyTorch's class names and options: `call(input, target)`
 * returns the loss (a scalar for 'mean'/'sum'). A class weight is registered as the buffer
 * `weight`, as PyTorch's `_WeightedLoss` (so it appears in `stateDict()`). `config()` hands that
 * buffer back as the `weight` option (models.save stores its shape; the values come from the weights).
 */
import * as F from './functional/index';
import type {
  ContrastiveLossOptions, CrossEntropyOptions, HingeLossOptions, KlDivOptions, MultiMarginLossOptions, NllLossOptions,
  TripletMarginLossOptions,
} from './functional/index';
import { OPTION_KEYS } from './functional/loss';
import { noGrad } from '../autograd';
import { clone } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { Module } from './module';

type F32 = Tensor<'float32'>;

/** Keeps a copy of the class weight as the buffer `weight` (the caller keeps theirs). */
function weightBuffer(m: Module, w: Tensor | undefined): Tensor | undefined {
  if (w === undefined || w === null) return undefined;
  return m.registerBuffer('weight', noGrad(() => clone(w)));
}

function showOptions(o: object): string {
  return Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'weight').map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** Softmax cross-entropy with class-index targets. @example const loss = new nn.CrossEntropyLoss().call(logits, labels); */
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
