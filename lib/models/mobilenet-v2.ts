/**
 * MobileNet v2 (Sandler et al., "MobileNetV2: inverted residuals and linear bottlenecks", CVPR
 * 2018), exactly as torchvision's `mobilenet_v2` builds it, so that its weights load as they are:
 *
 *   features.0        3x3/2 convolution to 32, batch norm, ReLU6
 *   features.1 … 17   InvertedResidual blocks (t, c, n, s) = (1, 16, 1, 1), (6, 24, 2, 2),
 *                     (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1):
 *                     [1x1 expansion to t x channels, BN, ReLU6,] 3x3 depthwise (stride s on the
 *                     block's first), BN, ReLU6, 1x1 projection, BN (linear); x added when the
 *                     shape stays
 *   features.18       1x1 convolution to 1280, batch norm, ReLU6
 *   average pooling, classifier (Dropout(0.2), Linear(1280, numClasses))
 *
 * `widthMult` scales every width (rounded to multiples of 8, torchvision's `_make_divisible`).
 * Keys as torchvision's: `features.0.0.weight`, `features.1.conv.0.0.weight` (the depthwise
 * convolution of a block without expansion), `features.2.conv.2.weight` (a projection),
 * `classifier.1.weight`. `nn.utils.fuseConvBn` folds every batch norm (they follow their
 * convolutions in Sequentials). Initialisation as torchvision's: convolutions Kaiming-normal (fan
 * out), batch norm 1 and 0, the classifier N(0, 0.01) with zero bias.
 */
import { fail } from '../errors';
import { kaimingNormal_, normal_, zeros_ } from '../nn/init';
import { adaptiveAvgPool2d } from '../nn/functional/index';
import { BatchNorm2d, Conv2d, Dropout, Linear, ReLU6 } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { add, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { positiveInt } from './args';
import { register } from './io';

/** torchvision's Conv2dNormActivation: convolution (no bias, "same" padding), batch norm, and ReLU6 unless `act` is false. */
function convBn(cin: number, cout: number, k: number, stride = 1, groups = 1, act = true): Sequential {
  const layers: Module[] = [new Conv2d(cin, cout, k, { stride, padding: (k - 1) / 2, groups, bias: false }), new BatchNorm2d(cout)];
  if (act) layers.push(new ReLU6());
  return new Sequential(...layers);
}

/** torchvision's `_make_divisible`: v rounded to a multiple of `divisor`, at most 10% below v. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/**
 * MobileNet v2's block (torchvision's `InvertedResidual`): `conv` holds [1x1 expansion,]
 * depthwise 3x3, 1x1 projection and its batch norm; the input is added when stride is 1 and
 * the channels stay.
 * @example const block = new models.InvertedResidual(24, 24, 1, 6);   // [N, 24, H, W] -> [N, 24, H, W], residual
 */
export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(readonly inp: number, readonly oup: number, readonly stride: number, readonly expandRatio: number) {
    super();
    const op = 'InvertedResidual';
    positiveInt(op, 'inp', inp);
    positiveInt(op, 'oup', oup);
    if (stride !== 1 && stride !== 2) fail('E_ARG', `${op}: expected \`stride\` 1 or 2, got ${describe(stride)}`);
    if (typeof expandRatio !== 'number' || !(expandRatio >= 1)) fail('E_ARG', `${op}: expected \`expandRatio\` >= 1, got ${describe(expandRatio)}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBn(inp, hidden, 1));
    layers.push(convBn(hidden, hidden, 3, stride, hidden), new Conv2d(hidden, oup, 1, { bias: false }), new BatchNorm2d(oup));
    this.conv = this.registerModule('conv', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.call(x);
    return this.useResConnect ? add(x, y) : y;
  }

  override config(): unknown[] {
    return [this.inp, this.oup, this.stride, this.expandRatio];
  }

  override extraRepr(): string {
    return `${this.inp} -> ${this.oup}, stride=${this.stride}, expandRatio=${this.expandRatio}`;
  }
}

register('InvertedResidual', InvertedResidual);

export interface MobileNetV2Options {
  /** Outputs of the classifier (default 1000, ImageNet's). */
  numClasses?: number;
  /** Scales the widths (default 1). */
  widthMult?: number;
  /** Dropout probability before the last layer (default 0.2). */
  dropout?: number;
}

const SETTING: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];

/**
 * MobileNet v2 (see the file's comment; `models.mobilenetV2` makes one). Takes [N, 3, H, W]
 * (224x224 for ImageNet; any size from 1x1 up), returns logits [N, numClasses].
 */
export class MobileNetV2Model extends Module {
  readonly features: Sequential;
  readonly widthMult: number;
  readonly dropout: number;
  readonly lastChannel: number;
  #classifier: Sequential;
  #numClasses: number;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const op = 'MobileNetV2';
    const o = checkOptions<MobileNetV2Options>(op, options, ['numClasses', 'widthMult', 'dropout']);
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 1000);
    const w = o.widthMult ?? 1;
    if (typeof w !== 'number' || !(w > 0 && w <= 16)) fail('E_ARG', `${op}: expected \`widthMult\` in (0, 16], got ${describe(w)}`);
    this.widthMult = w;
    const p = o.dropout ?? 0.2;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    this.dropout = p;
    let cin = makeDivisible(32 * w);
    this.lastChannel = makeDivisible(1280 * Math.max(1, w));
    const layers: Module[] = [convBn(3, cin, 3, 2)];
    for (const [t, c, n, s] of SETTING) {
      const cout = makeDivisible(c * w);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(cin, cout, i === 0 ? s : 1, t));
        cin = cout;
      }
    }
    layers.push(convBn(cin, this.lastChannel, 1));
    this.features = this.registerModule('features', new Sequential(...layers));
    this.#classifier = this.registerModule('classifier', new Sequential(new Dropout(p), this.#linear(this.#numClasses)));
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut' });
  }

  #linear(classes: number): Linear {
    const l = new Linear(this.lastChannel, classes);
    normal_(l.weight, 0, 0.01);
    zeros_(l.bias!);
    return l;
  }

  /** Dropout and Linear(lastChannel, numClasses). */
  get classifier(): Sequential {
    return this.#classifier;
  }

  get numClasses(): number {
    return this.#numClasses;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name !== 'classifier') return super.childReplaced(name, old, module);
    this.#classifier = module as Sequential;
  }

  /** A fresh last layer (classifier.1) in place of the old one, which is disposed. Returns this. */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('MobileNetV2.resetClassifier', 'numClasses', numClasses);
    const old = this.#classifier;
    const last = old.at(-1) as Linear;
    this.#classifier = new Sequential(old.at(0), this.#linear(classes).to(last.weight.device)).train(this.training);
    this.replaceModule('classifier', this.#classifier);
    last.dispose();
    this.#numClasses = classes;
    return this;
  }

  /** [N, 3, H, W] -> pooled features [N, lastChannel]. */
  pooled(x: Tensor): Tensor {
    const t = checkTensor('MobileNetV2', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== 3) fail('E_SHAPE', `MobileNetV2: expected input of shape [N, 3, H, W], got ${shapeStr(t.shape)}`);
    return flatten(adaptiveAvgPool2d(this.features.call(t), 1), 1);
  }

  forward(x: Tensor): Tensor {
    return this.#classifier.call(this.pooled(x));
  }

  override config(): unknown[] {
    return [{ numClasses: this.#numClasses, widthMult: this.widthMult, dropout: this.dropout }];
  }

  override get typeName(): string {
    return 'MobileNetV2';
  }

  override extraRepr(): string {
    return `numClasses=${this.#numClasses}, widthMult=${this.widthMult}`;
  }
}

register('MobileNetV2', MobileNetV2Model);

/**
 * MobileNet v2, torchvision's `mobilenet_v2` layout (3,504,872 parameters at 1000 classes).
 * @example const net = models.mobilenetV2({ numClasses: 10 });
 */
export function mobilenetV2(options: MobileNetV2Options = {}): MobileNetV2Model {
  return new MobileNetV2Model(options);
}
