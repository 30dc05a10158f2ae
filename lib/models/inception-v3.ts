/**
 * Inception v3 (Szegedy et al., "Rethinking the Inception architecture for computer vision",
 * CVPR 2016: the survey's Inception module with factorised convolutions, n x n as 1 x n then
 * n x 1), exactly as torchvision's `inception_v3` builds it, so that its weights load as they
 * are. For 299x299 images (from 75x75 up without the auxiliary head; it needs 299):
 *
 *   Conv2d_1a_3x3 (3x3/2), Conv2d_2a_3x3, Conv2d_2b_3x3 (padded), maxpool1 (3x3/2),
 *   Conv2d_3b_1x1, Conv2d_4a_3x3, maxpool2                              35x35 x 192
 *   Mixed_5b, 5c, 5d      InceptionA: 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg 3x3, 1x1     35x35 x 288
 *   Mixed_6a              InceptionB: 3x3/2 | 1x1, 3x3, 3x3/2 | max 3x3/2               17x17 x 768
 *   Mixed_6b … 6e         InceptionC: 1x1 | 1x1, 1x7, 7x1 | 1x1, 7x1, 1x7, 7x1, 1x7 | avg 3x3, 1x1
 *   [AuxLogits]           avg 5x5/3, 1x1 to 128, 5x5 to 768, global average, fc
 *   Mixed_7a              InceptionD: 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 | max 3x3/2   8x8 x 1280
 *   Mixed_7b, 7c          InceptionE: 1x1 | 1x1, (1x3 | 3x1) | 1x1, 3x3, (1x3 | 3x1) | avg 3x3, 1x1   8x8 x 2048
 *   avgpool (to 1x1), dropout (0.5), flatten, fc (Linear(2048, numClasses))
 *
 * every convolution a BasicConv2d (no bias, batch norm with eps 0.001, ReLU); the 3x3 average
 * poolings count the padding (PyTorch's default), the max poolings take no padding. Keys as
 * torchvision's: `Conv2d_1a_3x3.conv.weight`, `Mixed_6b.branch7x7_2.bn.running_var`,
 * `AuxLogits.conv1.conv.weight`, `fc.bias`. torchvision's pretrained file holds the auxiliary
 * head (trained there): load it into a model with it (the default), and `transformInput: true`
 * as torchvision sets for those weights. Initialisation as torchvision's: convolution and linear
 * weights truncated normal with std 0.1 (the auxiliary fc 0.001), cut at +-2; batch norm 1, 0.
 */
import { fail } from '../errors';
import { truncNormal_ } from '../nn/init';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../nn/functional/index';
import { AdaptiveAvgPool2d, Conv2d, Dropout, Linear, MaxPool2d } from '../nn/layers';
import { Module } from '../nn/module';
import { concat, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { BasicConv2d, transformImagenetInput } from './basic-conv';
import { positiveInt } from './args';
import { register } from './io';

/** Average pooling 3x3, stride 1, padding 1, counting the padding: the pool branch of A, C and E. */
const pool3 = (x: Tensor): Tensor => avgPool2d(x, 3, { stride: 1, padding: 1 });
/** Max pooling 3x3, stride 2: the pool branch of B and D. */
const maxPool3 = (x: Tensor): Tensor => maxPool2d(x, 3, { stride: 2 });

/** A block that runs its branches (each a function of the input) and concatenates them. */
abstract class Branches extends Module {
  constructor(readonly inChannels: number) {
    super();
    positiveInt(this.constructor.name, 'inChannels', inChannels);
  }

  protected conv(name: string, cin: number, cout: number, k: number | [number, number], padding: number | [number, number] = 0, stride = 1): BasicConv2d {
    return this.registerModule(name, new BasicConv2d(cin, cout, k, { stride, padding }));
  }

  protected abstract branches(x: Tensor): Tensor[];

  forward(x: Tensor): Tensor {
    return concat(this.branches(x), 1);
  }

  override config(): unknown[] {
    return [this.inChannels];
  }

  override extraRepr(): string {
    return `${this.inChannels}`;
  }
}

/** Inception v3's 35x35 block: 1x1 (64) | 1x1, 5x5 (64) | 1x1, 3x3, 3x3 (96) | 3x3 average, 1x1 (poolFeatures). */
export class InceptionA extends Branches {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5_1: BasicConv2d;
  readonly branch5x5_2: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inChannels: number, readonly poolFeatures: number) {
    super(inChannels);
    positiveInt('InceptionA', 'poolFeatures', poolFeatures);
    this.branch1x1 = this.conv('branch1x1', inChannels, 64, 1);
    this.branch5x5_1 = this.conv('branch5x5_1', inChannels, 48, 1);
    this.branch5x5_2 = this.conv('branch5x5_2', 48, 64, 5, 2);
    this.branch3x3dbl_1 = this.conv('branch3x3dbl_1', inChannels, 64, 1);
    this.branch3x3dbl_2 = this.conv('branch3x3dbl_2', 64, 96, 3, 1);
    this.branch3x3dbl_3 = this.conv('branch3x3dbl_3', 96, 96, 3, 1);
    this.branch_pool = this.conv('branch_pool', inChannels, poolFeatures, 1);
  }

  protected branches(x: Tensor): Tensor[] {
    return [
      this.branch1x1.call(x),
      this.branch5x5_2.call(this.branch5x5_1.call(x)),
      this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))),
      this.branch_pool.call(pool3(x)),
    ];
  }

  override config(): unknown[] {
    return [this.inChannels, this.poolFeatures];
  }

  override extraRepr(): string {
    return `${this.inChannels}, poolFeatures=${this.poolFeatures}`;
  }
}

/** Inception v3's reduction to 17x17: 3x3/2 (384) | 1x1, 3x3, 3x3/2 (96) | 3x3/2 max pooling. */
export class InceptionB extends Branches {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;

  constructor(inChannels: number) {
    super(inChannels);
    this.branch3x3 = this.conv('branch3x3', inChannels, 384, 3, 0, 2);
    this.branch3x3dbl_1 = this.conv('branch3x3dbl_1', inChannels, 64, 1);
    this.branch3x3dbl_2 = this.conv('branch3x3dbl_2', 64, 96, 3, 1);
    this.branch3x3dbl_3 = this.conv('branch3x3dbl_3', 96, 96, 3, 0, 2);
  }

  protected branches(x: Tensor): Tensor[] {
    return [
      this.branch3x3.call(x),
      this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))),
      maxPool3(x),
    ];
  }
}

/** Inception v3's 17x17 block, 7x7 factorised: 1x1 | 1x1, 1x7, 7x1 | 1x1, 7x1, 1x7, 7x1, 1x7 | 3x3 average, 1x1 (192 each). */
export class InceptionC extends Branches {
  readonly branch1x1: BasicConv2d;
  readonly branch7x7_1: BasicConv2d;
  readonly branch7x7_2: BasicConv2d;
  readonly branch7x7_3: BasicConv2d;
  readonly branch7x7dbl_1: BasicConv2d;
  readonly branch7x7dbl_2: BasicConv2d;
  readonly branch7x7dbl_3: BasicConv2d;
  readonly branch7x7dbl_4: BasicConv2d;
  readonly branch7x7dbl_5: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inChannels: number, readonly channels7x7: number) {
    super(inChannels);
    const c7 = positiveInt('InceptionC', 'channels7x7', channels7x7);
    this.branch1x1 = this.conv('branch1x1', inChannels, 192, 1);
    this.branch7x7_1 = this.conv('branch7x7_1', inChannels, c7, 1);
    this.branch7x7_2 = this.conv('branch7x7_2', c7, c7, [1, 7], [0, 3]);
    this.branch7x7_3 = this.conv('branch7x7_3', c7, 192, [7, 1], [3, 0]);
    this.branch7x7dbl_1 = this.conv('branch7x7dbl_1', inChannels, c7, 1);
    this.branch7x7dbl_2 = this.conv('branch7x7dbl_2', c7, c7, [7, 1], [3, 0]);
    this.branch7x7dbl_3 = this.conv('branch7x7dbl_3', c7, c7, [1, 7], [0, 3]);
    this.branch7x7dbl_4 = this.conv('branch7x7dbl_4', c7, c7, [7, 1], [3, 0]);
    this.branch7x7dbl_5 = this.conv('branch7x7dbl_5', c7, 192, [1, 7], [0, 3]);
    this.branch_pool = this.conv('branch_pool', inChannels, 192, 1);
  }

  protected branches(x: Tensor): Tensor[] {
    let dbl = this.branch7x7dbl_1.call(x);
    for (const m of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5]) dbl = m.call(dbl);
    return [
      this.branch1x1.call(x),
      this.branch7x7_3.call(this.branch7x7_2.call(this.branch7x7_1.call(x))),
      dbl,
      this.branch_pool.call(pool3(x)),
    ];
  }

  override config(): unknown[] {
    return [this.inChannels, this.channels7x7];
  }

  override extraRepr(): string {
    return `${this.inChannels}, channels7x7=${this.channels7x7}`;
  }
}

/** Inception v3's reduction to 8x8: 1x1, 3x3/2 (320) | 1x1, 1x7, 7x1, 3x3/2 (192) | 3x3/2 max pooling. */
export class InceptionD extends Branches {
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2: BasicConv2d;
  readonly branch7x7x3_1: BasicConv2d;
  readonly branch7x7x3_2: BasicConv2d;
  readonly branch7x7x3_3: BasicConv2d;
  readonly branch7x7x3_4: BasicConv2d;

  constructor(inChannels: number) {
    super(inChannels);
    this.branch3x3_1 = this.conv('branch3x3_1', inChannels, 192, 1);
    this.branch3x3_2 = this.conv('branch3x3_2', 192, 320, 3, 0, 2);
    this.branch7x7x3_1 = this.conv('branch7x7x3_1', inChannels, 192, 1);
    this.branch7x7x3_2 = this.conv('branch7x7x3_2', 192, 192, [1, 7], [0, 3]);
    this.branch7x7x3_3 = this.conv('branch7x7x3_3', 192, 192, [7, 1], [3, 0]);
    this.branch7x7x3_4 = this.conv('branch7x7x3_4', 192, 192, 3, 0, 2);
  }

  protected branches(x: Tensor): Tensor[] {
    return [
      this.branch3x3_2.call(this.branch3x3_1.call(x)),
      this.branch7x7x3_4.call(this.branch7x7x3_3.call(this.branch7x7x3_2.call(this.branch7x7x3_1.call(x)))),
      maxPool3(x),
    ];
  }
}

/** Inception v3's 8x8 block, 3x3 split in two: 1x1 (320) | 1x1, (1x3 | 3x1) (2 x 384) | 1x1, 3x3, (1x3 | 3x1) (2 x 384) | 3x3 average, 1x1 (192). */
export class InceptionE extends Branches {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inChannels: number) {
    super(inChannels);
    this.branch1x1 = this.conv('branch1x1', inChannels, 320, 1);
    this.branch3x3_1 = this.conv('branch3x3_1', inChannels, 384, 1);
    this.branch3x3_2a = this.conv('branch3x3_2a', 384, 384, [1, 3], [0, 1]);
    this.branch3x3_2b = this.conv('branch3x3_2b', 384, 384, [3, 1], [1, 0]);
    this.branch3x3dbl_1 = this.conv('branch3x3dbl_1', inChannels, 448, 1);
    this.branch3x3dbl_2 = this.conv('branch3x3dbl_2', 448, 384, 3, 1);
    this.branch3x3dbl_3a = this.conv('branch3x3dbl_3a', 384, 384, [1, 3], [0, 1]);
    this.branch3x3dbl_3b = this.conv('branch3x3dbl_3b', 384, 384, [3, 1], [1, 0]);
    this.branch_pool = this.conv('branch_pool', inChannels, 192, 1);
  }

  protected branches(x: Tensor): Tensor[] {
    const b3 = this.branch3x3_1.call(x);
    const dbl = this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x));
    return [
      this.branch1x1.call(x),
      this.branch3x3_2a.call(b3), this.branch3x3_2b.call(b3),   // torchvision concatenates these two first: the same order
      this.branch3x3dbl_3a.call(dbl), this.branch3x3dbl_3b.call(dbl),
      this.branch_pool.call(pool3(x)),
    ];
  }
}

/**
 * Inception v3's auxiliary classifier (torchvision's `InceptionAux` of inception.py): 5x5/3
 * average pooling, conv0 (1x1 to 128), conv1 (5x5 to 768), global average pooling, fc
 * (Linear(768, numClasses)). Needs 17x17 maps (299x299 images).
 */
export class InceptionV3Aux extends Module {
  readonly conv0: BasicConv2d;
  readonly conv1: BasicConv2d;
  #fc: Linear;

  constructor(readonly inChannels: number, numClasses: number) {
    super();
    const op = 'InceptionV3Aux';
    positiveInt(op, 'inChannels', inChannels);
    positiveInt(op, 'numClasses', numClasses);
    this.conv0 = this.registerModule('conv0', new BasicConv2d(inChannels, 128, 1));
    this.conv1 = this.registerModule('conv1', new BasicConv2d(128, 768, 5));
    this.#fc = this.registerModule('fc', new Linear(768, numClasses));
  }

  /** The last layer, Linear(768, numClasses). */
  get fc(): Linear {
    return this.#fc;
  }

  get numClasses(): number {
    return this.#fc.outFeatures;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name === 'fc') this.#fc = module as Linear;
    else super.childReplaced(name, old, module);
  }

  /** A fresh `fc` (torchvision's initialisation) in place of the old one, which is disposed. Returns this. */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('InceptionV3Aux.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc;
    this.#fc = initLinear(new Linear(768, classes), 0.001).to(old.weight.device).train(this.training);
    this.replaceModule('fc', this.#fc);
    old.dispose();
    return this;
  }

  forward(x: Tensor): Tensor {
    const t = checkTensor('InceptionV3Aux', 'x', x);
    if (t.rank === 4 && (t.shape[2] < 17 || t.shape[3] < 17)) {
      fail('E_SHAPE', `InceptionV3Aux: expected maps of at least 17x17 (299x299 images), got ${shapeStr(t.shape)}`);
    }
    const y = this.conv1.call(this.conv0.call(avgPool2d(t, 5, { stride: 3 })));
    return this.#fc.call(flatten(adaptiveAvgPool2d(y, 1), 1));
  }

  override config(): unknown[] {
    return [this.inChannels, this.numClasses];
  }

  override extraRepr(): string {
    return `${this.inChannels}, numClasses=${this.numClasses}`;
  }
}

function initLinear(l: Linear, std: number): Linear {
  truncNormal_(l.weight, 0, std, -2, 2);
  return l;
}

for (const [name, cls] of [['InceptionA', InceptionA], ['InceptionB', InceptionB], ['InceptionC', InceptionC], ['InceptionD', InceptionD],
  ['InceptionE', InceptionE], ['InceptionV3Aux', InceptionV3Aux]] as const) register(name, cls);

export interface InceptionV3Options {
  /** Outputs of `fc` (and of the auxiliary head); default 1000, ImageNet's. */
  numClasses?: number;
  /** Build the auxiliary head (default true, as torchvision; its pretrained file has it). */
  auxLogits?: boolean;
  /** Map ImageNet-normalised input to what torchvision's pretrained weights expect; default false (torchvision sets it for its weights). */
  transformInput?: boolean;
  /** Dropout probability before `fc` (default 0.5). */
  dropout?: number;
}

/** What `InceptionV3Model.outputs` returns: the logits, and the auxiliary head's (null without it). */
export interface InceptionV3Outputs {
  logits: Tensor;
  aux: Tensor | null;
}

/**
 * Inception v3 (see the file's comment; `models.inceptionV3` makes one). Takes [N, 3, H, W]
 * (299x299), returns logits [N, numClasses]; `outputs(x)` also runs the auxiliary head.
 */
export class InceptionV3Model extends Module {
  readonly Conv2d_1a_3x3: BasicConv2d;
  readonly Conv2d_2a_3x3: BasicConv2d;
  readonly Conv2d_2b_3x3: BasicConv2d;
  readonly maxpool1: MaxPool2d;
  readonly Conv2d_3b_1x1: BasicConv2d;
  readonly Conv2d_4a_3x3: BasicConv2d;
  readonly maxpool2: MaxPool2d;
  readonly Mixed_5b: InceptionA;
  readonly Mixed_5c: InceptionA;
  readonly Mixed_5d: InceptionA;
  readonly Mixed_6a: InceptionB;
  readonly Mixed_6b: InceptionC;
  readonly Mixed_6c: InceptionC;
  readonly Mixed_6d: InceptionC;
  readonly Mixed_6e: InceptionC;
  readonly Mixed_7a: InceptionD;
  readonly Mixed_7b: InceptionE;
  readonly Mixed_7c: InceptionE;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropoutLayer: Dropout;
  readonly transformInput: boolean;
  readonly dropout: number;
  #aux: InceptionV3Aux | null = null;
  #fc: Linear;
  #numClasses: number;

  constructor(options: InceptionV3Options = {}) {
    super();
    const op = 'InceptionV3';
    const o = checkOptions<InceptionV3Options>(op, options, ['numClasses', 'auxLogits', 'transformInput', 'dropout']);
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 1000);
    for (const k of ['auxLogits', 'transformInput'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'boolean') fail('E_ARG', `${op}: expected \`${k}\` to be a boolean, got ${describe(o[k])}`);
    }
    this.transformInput = o.transformInput ?? false;
    const p = o.dropout ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    this.dropout = p;

    const conv = (name: string, cin: number, cout: number, k: number, options: { stride?: number; padding?: number } = {}) =>
      this.registerModule(name, new BasicConv2d(cin, cout, k, options));
    this.Conv2d_1a_3x3 = conv('Conv2d_1a_3x3', 3, 32, 3, { stride: 2 });
    this.Conv2d_2a_3x3 = conv('Conv2d_2a_3x3', 32, 32, 3);
    this.Conv2d_2b_3x3 = conv('Conv2d_2b_3x3', 32, 64, 3, { padding: 1 });
    this.maxpool1 = this.registerModule('maxpool1', new MaxPool2d(3, { stride: 2 }));
    this.Conv2d_3b_1x1 = conv('Conv2d_3b_1x1', 64, 80, 1);
    this.Conv2d_4a_3x3 = conv('Conv2d_4a_3x3', 80, 192, 3);
    this.maxpool2 = this.registerModule('maxpool2', new MaxPool2d(3, { stride: 2 }));
    this.Mixed_5b = this.registerModule('Mixed_5b', new InceptionA(192, 32));
    this.Mixed_5c = this.registerModule('Mixed_5c', new InceptionA(256, 64));
    this.Mixed_5d = this.registerModule('Mixed_5d', new InceptionA(288, 64));
    this.Mixed_6a = this.registerModule('Mixed_6a', new InceptionB(288));
    this.Mixed_6b = this.registerModule('Mixed_6b', new InceptionC(768, 128));
    this.Mixed_6c = this.registerModule('Mixed_6c', new InceptionC(768, 160));
    this.Mixed_6d = this.registerModule('Mixed_6d', new InceptionC(768, 160));
    this.Mixed_6e = this.registerModule('Mixed_6e', new InceptionC(768, 192));
    if (o.auxLogits ?? true) this.#aux = this.registerModule('AuxLogits', new InceptionV3Aux(768, this.#numClasses));
    this.Mixed_7a = this.registerModule('Mixed_7a', new InceptionD(768));
    this.Mixed_7b = this.registerModule('Mixed_7b', new InceptionE(1280));
    this.Mixed_7c = this.registerModule('Mixed_7c', new InceptionE(2048));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.dropoutLayer = this.registerModule('dropout', new Dropout(p));
    this.#fc = this.registerModule('fc', new Linear(2048, this.#numClasses));
    // torchvision's init_weights: truncated normal, std 0.1, except the auxiliary fc's 0.001 (its
    // conv1's 0.01 is set on the BasicConv2d, which its loop never asks: 0.1 there too).
    for (const m of this.modules()) {
      if (m instanceof Conv2d) truncNormal_(m.weight, 0, 0.1, -2, 2);
      else if (m instanceof Linear) initLinear(m, m === this.#aux?.fc ? 0.001 : 0.1);
    }
  }

  /** The auxiliary head (after Mixed_6e), or null. */
  get AuxLogits(): InceptionV3Aux | null {
    return this.#aux;
  }

  /** Whether the model has its auxiliary head. */
  get auxLogits(): boolean {
    return this.#aux !== null;
  }

  /** The classifier, Linear(2048, numClasses). */
  get fc(): Linear {
    return this.#fc;
  }

  get numClasses(): number {
    return this.#numClasses;
  }

  /** Features into `fc`: 2048. */
  get numFeatures(): number {
    return 2048;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name === 'fc') {
      this.#fc = module as Linear;
      if (module instanceof Linear) this.#numClasses = module.outFeatures;
    } else if (name === 'AuxLogits') {
      this.#aux = module as InceptionV3Aux;
    } else {
      super.childReplaced(name, old, module);
    }
  }

  /** Disposes the auxiliary head and drops it from the model (its keys, and `auxLogits` in config()). Returns this. */
  removeAux(): this {
    if (this.#aux !== null) this.removeModule('AuxLogits').dispose();
    this.#aux = null;
    return this;
  }

  /**
   * A fresh `fc` (Linear(2048, numClasses)) and a fresh auxiliary fc in place of the old ones,
   * which are disposed: the step before fine-tuning on other classes. Returns this.
   * @example net.loadStateDict(weights); net.resetClassifier(10);
   */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('InceptionV3.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc;
    this.#fc = initLinear(new Linear(2048, classes), 0.1).to(old.weight.device).train(this.training);
    this.replaceModule('fc', this.#fc);
    old.dispose();
    this.#aux?.resetClassifier(classes);
    this.#numClasses = classes;
    return this;
  }

  #input(x: Tensor): Tensor {
    const t = checkTensor('InceptionV3', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== 3) fail('E_SHAPE', `InceptionV3: expected input of shape [N, 3, H, W], got ${shapeStr(t.shape)}`);
    return this.transformInput ? transformImagenetInput(t) : t;
  }

  // The stem and Mixed_5b … 6e: what the auxiliary head reads.
  #toAux(x: Tensor): Tensor {
    let y = this.Conv2d_2b_3x3.call(this.Conv2d_2a_3x3.call(this.Conv2d_1a_3x3.call(this.#input(x))));
    y = this.maxpool2.call(this.Conv2d_4a_3x3.call(this.Conv2d_3b_1x1.call(this.maxpool1.call(y))));
    y = this.Mixed_5d.call(this.Mixed_5c.call(this.Mixed_5b.call(y)));
    return this.Mixed_6e.call(this.Mixed_6d.call(this.Mixed_6c.call(this.Mixed_6b.call(this.Mixed_6a.call(y)))));
  }

  #pooled(y: Tensor): Tensor {
    return flatten(this.avgpool.call(this.Mixed_7c.call(this.Mixed_7b.call(this.Mixed_7a.call(y)))), 1);
  }

  /** [N, 3, H, W] -> pooled features [N, 2048] (everything but dropout and `fc`). */
  features(x: Tensor): Tensor {
    return this.#pooled(this.#toAux(x));
  }

  /** Logits [N, numClasses]; the auxiliary head is not run (see `outputs`). */
  forward(x: Tensor): Tensor {
    return this.#fc.call(this.dropoutLayer.call(this.features(x)));
  }

  /**
   * The logits and the auxiliary head's logits (null without it), in one pass: torchvision's
   * training adds 0.4 x the auxiliary loss. (torchvision runs the head only in training; here it
   * runs whenever this is called.)
   * @example const { logits, aux } = net.outputs(x);
   *          const loss = add(F.crossEntropy(logits, y), mul(F.crossEntropy(aux!, y), 0.4));
   */
  outputs(x: Tensor): InceptionV3Outputs {
    const a = this.#toAux(x);
    const aux = this.#aux ? this.#aux.call(a) : null;
    return { logits: this.#fc.call(this.dropoutLayer.call(this.#pooled(a))), aux };
  }

  override config(): unknown[] {
    return [{ numClasses: this.#numClasses, auxLogits: this.auxLogits, transformInput: this.transformInput, dropout: this.dropout }];
  }

  override get typeName(): string {
    return 'InceptionV3';
  }

  override extraRepr(): string {
    return `numClasses=${this.#numClasses}, auxLogits=${this.auxLogits}, transformInput=${this.transformInput}`;
  }
}

register('InceptionV3', InceptionV3Model);

/**
 * Inception v3, torchvision's `inception_v3` layout and keys: 27,161,264 parameters at 1000
 * classes with the auxiliary head, 23,834,568 without.
 * @example
 * const net = models.inceptionV3({ numClasses: 10 });
 * const logits = net.eval().call(images);        // images [N, 3, 299, 299]
 */
export function inceptionV3(options: InceptionV3Options = {}): InceptionV3Model {
  return new InceptionV3Model(options);
}
