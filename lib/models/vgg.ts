/**
 * VGG (Simonyan and Zisserman, "Very deep convolutional networks for large-scale image
 * recognition", ICLR 2015), exactly as torchvision builds it, so that its weights load as they
 * are:
 *
 *   features     3x3 convolutions (padding 1, with bias), each followed by ReLU (and, with
 *                `batchNorm`, batch norm between them), and 2x2 max pooling after each of the
 *                five stages: 64, 128, 256, 512, 512 channels, 1-2-2-2-2 (VGG-11, the paper's
 *                configuration A), 2-2-2-2-2 (13, B), 2-2-3-3-3 (16, D) or 2-2-4-4-4 (19, E)
 *                convolutions per stage
 *   avgpool      AdaptiveAvgPool2d(7)
 *   classifier   Linear(512 * 7 * 7, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout,
 *                Linear(4096, numClasses)
 *
 * Keys are positions in the Sequentials: `features.0.weight`, `features.1.weight` (batch norm,
 * with `batchNorm`), …, `classifier.6.bias`. Initialisation as torchvision: convolutions
 * Kaiming-normal (fan out, ReLU) with zero bias, batch norm 1 and 0, linear layers N(0, 0.01)
 * with zero bias.
 */
import { fail } from '../errors';
import { kaimingNormal_, normal_, zeros_ } from '../nn/init';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, ownEntry, shapeStr } from '../validate';
import { register } from './io';

export type VGGDepth = 11 | 13 | 16 | 19;

/** Convolutions per stage, torchvision's configurations A, B, D, E. */
const CONVS: Record<VGGDepth, [number, number, number, number, number]> = {
  11: [1, 1, 2, 2, 2],
  13: [2, 2, 2, 2, 2],
  16: [2, 2, 3, 3, 3],
  19: [2, 2, 4, 4, 4],
};
const WIDTHS = [64, 128, 256, 512, 512];

export interface VGGOptions {
  /** Outputs of the last layer (default 1000, ImageNet's). */
  numClasses?: number;
  /** Batch norm after every convolution (torchvision's `vgg16_bn` …; default false). */
  batchNorm?: boolean;
  /** Dropout probability in the classifier (default 0.5). */
  dropout?: number;
}

/**
 * A VGG network (see the file's comment; `models.vgg11` … `vgg19` give torchvision's). Takes
 * [N, 3, H, W] (224x224 for ImageNet; any size from 32 up works, the average pooling making the
 * maps 7x7), returns logits [N, numClasses].
 */
export class VGGModel extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  #classifier: Sequential;
  readonly depth: VGGDepth;
  readonly batchNorm: boolean;
  readonly dropout: number;
  #numClasses: number;

  constructor(depth: VGGDepth, options: VGGOptions = {}) {
    super();
    const op = 'VGG';
    const convs = ownEntry(CONVS as Record<number, number[]>, depth);
    if (convs === undefined) fail('E_ARG', `${op}: expected a depth of 11, 13, 16 or 19, got ${describe(depth)}`);
    const o = checkOptions<VGGOptions>(op, options, ['numClasses', 'batchNorm', 'dropout']);
    const classes = o.numClasses ?? 1000;
    if (!Number.isSafeInteger(classes) || classes < 1) fail('E_ARG', `${op}: expected \`numClasses\` to be a positive integer, got ${describe(classes)}`);
    const bn = o.batchNorm ?? false;
    if (typeof bn !== 'boolean') fail('E_ARG', `${op}: expected \`batchNorm\` to be a boolean, got ${describe(bn)}`);
    const p = o.dropout ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    this.depth = depth;
    this.batchNorm = bn;
    this.dropout = p;
    this.#numClasses = classes;

    const layers: Module[] = [];
    let cin = 3;
    convs.forEach((n, s) => {
      for (let k = 0; k < n; k++) {
        const c = new Conv2d(cin, WIDTHS[s], 3, { padding: 1 });
        kaimingNormal_(c.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        zeros_(c.bias!);
        layers.push(c);
        if (bn) layers.push(new BatchNorm2d(WIDTHS[s]));
        layers.push(new ReLU());
        cin = WIDTHS[s];
      }
      layers.push(new MaxPool2d(2, { stride: 2 }));
    });
    this.features = this.registerModule('features', new Sequential(...layers));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(7));
    this.#classifier = this.registerModule('classifier', new Sequential(
      linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(p),
      linear(4096, 4096), new ReLU(), new Dropout(p),
      linear(4096, classes),
    ));
  }

  /** Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear; `resetClassifier` replaces the last. */
  get classifier(): Sequential {
    return this.#classifier;
  }

  /** Outputs of the last layer (followed through `setSubmodule('classifier.6', …)` too). */
  get numClasses(): number {
    const last = this.#classifier.at(-1);
    return last instanceof Linear ? last.outFeatures : this.#numClasses;
  }

  // `classifier` lives in a private field: follow `setSubmodule('classifier', …)`.
  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name !== 'classifier') return super.childReplaced(name, old, module);
    this.#classifier = module as Sequential;
  }

  /**
   * Puts a fresh last layer (Linear(4096, numClasses), N(0, 0.01) and zero bias as
   * torchvision's) in place of `classifier.6`, which is disposed; the other layers stay. The
   * step before fine-tuning on other classes. Returns this.
   * @example net.loadStateDict(imagenetWeights); net.resetClassifier(10);
   */
  resetClassifier(numClasses: number): this {
    if (!Number.isSafeInteger(numClasses) || numClasses < 1) fail('E_ARG', `VGG.resetClassifier: expected \`numClasses\` to be a positive integer, got ${describe(numClasses)}`);
    const old = this.#classifier;
    const last = old.at(-1) as Linear;
    const keep = old.children().slice(0, -1);
    const fresh = linear(4096, numClasses).to(last.weight.device);
    this.#classifier = new Sequential(...keep, fresh).train(this.training);
    this.replaceModule('classifier', this.#classifier);
    last.dispose();
    this.#numClasses = numClasses;
    return this;
  }

  forward(x: Tensor): Tensor {
    const t = checkTensor('VGG', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== 3) fail('E_SHAPE', `VGG: expected input of shape [N, 3, H, W], got ${shapeStr(t.shape)}`);
    return this.#classifier.call(flatten(this.avgpool.call(this.features.call(t)), 1));
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [this.depth, { numClasses: this.#numClasses, batchNorm: this.batchNorm, dropout: this.dropout }];
  }

  override get typeName(): string {
    return 'VGG';
  }

  override extraRepr(): string {
    return `depth=${this.depth}, batchNorm=${this.batchNorm}, numClasses=${this.#numClasses}`;
  }
}

function linear(inFeatures: number, outFeatures: number): Linear {
  const l = new Linear(inFeatures, outFeatures);
  normal_(l.weight, 0, 0.01);
  zeros_(l.bias!);
  return l;
}

register('VGG', VGGModel);

/** A VGG of one of torchvision's depths (see `VGGModel`). @example const net = models.VGG(16, { batchNorm: true }); */
export function VGG(depth: VGGDepth, options: VGGOptions = {}): VGGModel {
  return new VGGModel(depth, options);
}

/** VGG-11 (132,863,336 parameters; 132,868,840 with batchNorm). @example const net = models.vgg11({ batchNorm: true, numClasses: 10 }); */
export function vgg11(options: VGGOptions = {}): VGGModel {
  return new VGGModel(11, options);
}

/** VGG-13 (133,047,848 parameters). @example const net = models.vgg13(); */
export function vgg13(options: VGGOptions = {}): VGGModel {
  return new VGGModel(13, options);
}

/** VGG-16 (138,357,544 parameters). @example const net = models.vgg16({ numClasses: 10 }); */
export function vgg16(options: VGGOptions = {}): VGGModel {
  return new VGGModel(16, options);
}

/** VGG-19 (143,667,240 parameters). @example const net = models.vgg19(); */
export function vgg19(options: VGGOptions = {}): VGGModel {
  return new VGGModel(19, options);
}
