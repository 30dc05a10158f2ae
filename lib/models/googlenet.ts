/**
 * GoogLeNet (Szegedy et al., "Going deeper with convolutions", CVPR 2015: the survey's
 * Inception module, section 3.1.3), exactly as torchvision builds it (with batch norm, as its
 * weights were trained), so that torchvision's weights load as they are:
 *
 *   conv1 (7x7/2), maxpool1, conv2 (1x1), conv3 (3x3), maxpool2         every conv a BasicConv2d:
 *   inception3a, inception3b, maxpool3                                   convolution without bias,
 *   inception4a [aux1], 4b, 4c, 4d [aux2], 4e, maxpool4                  batch norm (eps 0.001), ReLU
 *   inception5a, inception5b, avgpool (to 1x1), flatten, dropout (0.2), fc (Linear(1024, numClasses))
 *
 * Max pooling 3x3/2 with `ceilMode` (maxpool4 2x2/2). Each Inception block concatenates four
 * branches along the channels: a 1x1 convolution; 1x1 then 3x3; 1x1 then "5x5" (a 3x3 in
 * torchvision, whose code calls it "a known bug" and keeps it, since its weights were trained
 * so: kept here too); 3x3/1 max pooling then 1x1. The auxiliary heads (InceptionAux: adaptive
 * average pooling to 4x4, a 1x1 convolution to 128 channels, Linear(2048, 1024), ReLU, dropout
 * 0.7, Linear(1024, numClasses)) sit after inception4a and 4d and add their losses (torchvision's
 * recipe: 0.3 each) to the main one in training.
 *
 * State-dict keys: `conv1.conv.weight`, `conv1.bn.running_mean`, `inception3a.branch1.conv.weight`,
 * `inception3a.branch2.0.conv.weight`, `inception3a.branch4.1.bn.bias`, `aux1.fc1.weight`, …,
 * `fc.bias`. torchvision's pretrained file holds the auxiliary heads' keys (untrained there):
 * load it into a model with `auxLogits: true` (the default, as torchvision's class), then
 * `removeAux()` if they are not wanted; and build with `transformInput: true` for it, as
 * torchvision does for its weights (they expect [-1, 1] inputs; the transform maps ImageNet-
 * normalised images there).
 *
 * Initialisation as torchvision: convolution and linear weights truncated normal (std 0.01,
 * cut at +-2), batch norm 1 and 0, linear biases PyTorch's default.
 */
import { fail } from '../errors';
import { truncNormal_ } from '../nn/init';
import { AdaptiveAvgPool2d, Conv2d, Dropout, Linear, MaxPool2d } from '../nn/layers';
import { adaptiveAvgPool2d, relu } from '../nn/functional/index';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { concat, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, shapeStr } from '../validate';
import { BasicConv2d, transformImagenetInput } from './basic-conv';
import { bool, positiveInt, probability } from './args';
import { register } from './io';

/** torchvision's initialisation of GoogLeNet's weights: truncated normal, std 0.01, cut at +-2 (batch norm 1 and 0, biases PyTorch's). */
function initWeight<L extends Conv2d | Linear>(layer: L): L {
  truncNormal_(layer.weight, 0, 0.01, -2, 2);
  return layer;
}

/**
 * The Inception module (torchvision's `Inception`): four branches on the same input,
 * concatenated along the channels into ch1x1 + ch3x3 + ch5x5 + poolProj channels:
 *   branch1  1x1 convolution to ch1x1
 *   branch2  1x1 to ch3x3red, then 3x3 to ch3x3
 *   branch3  1x1 to ch5x5red, then 3x3 to ch5x5 (torchvision's "5x5", see the file's comment)
 *   branch4  3x3 max pooling (stride 1, padding 1), then 1x1 to poolProj
 * every convolution a BasicConv2d. The spatial size is kept.
 * @example const block = new models.Inception(192, 64, 96, 128, 16, 32, 32);   // inception3a: 192 -> 256 channels
 */
export class Inception extends Module {
  readonly branch1: BasicConv2d;
  readonly branch2: Sequential;
  readonly branch3: Sequential;
  readonly branch4: Sequential;

  constructor(readonly inChannels: number, readonly ch1x1: number, readonly ch3x3red: number, readonly ch3x3: number,
              readonly ch5x5red: number, readonly ch5x5: number, readonly poolProj: number) {
    super();
    const op = 'Inception';
    const names = ['inChannels', 'ch1x1', 'ch3x3red', 'ch3x3', 'ch5x5red', 'ch5x5', 'poolProj'];
    [inChannels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, poolProj].forEach((v, i) => positiveInt(op, names[i], v));
    this.branch1 = this.registerModule('branch1', new BasicConv2d(inChannels, ch1x1, 1));
    this.branch2 = this.registerModule('branch2', new Sequential(new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 })));
    this.branch3 = this.registerModule('branch3', new Sequential(new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 })));
    this.branch4 = this.registerModule('branch4', new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inChannels, poolProj, 1)));
  }

  /** Channels out: ch1x1 + ch3x3 + ch5x5 + poolProj. */
  get outChannels(): number {
    return this.ch1x1 + this.ch3x3 + this.ch5x5 + this.poolProj;
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 1);
  }

  override config(): unknown[] {
    return [this.inChannels, this.ch1x1, this.ch3x3red, this.ch3x3, this.ch5x5red, this.ch5x5, this.poolProj];
  }

  override extraRepr(): string {
    return `${this.inChannels} -> ${this.outChannels}`;
  }
}

export interface InceptionAuxOptions {
  /** Dropout probability before the last layer (default 0.7). */
  dropout?: number;
}

/**
 * GoogLeNet's auxiliary classifier (torchvision's `InceptionAux`): adaptive average pooling to
 * 4x4, a 1x1 BasicConv2d to 128 channels, flatten, fc1 (Linear(2048, 1024)), ReLU, dropout,
 * fc2 (Linear(1024, numClasses)).
 */
export class InceptionAux extends Module {
  readonly conv: BasicConv2d;
  readonly fc1: Linear;
  readonly dropoutLayer: Dropout;
  readonly dropout: number;
  #fc2: Linear;
  #numClasses: number;

  constructor(readonly inChannels: number, numClasses: number, options: InceptionAuxOptions = {}) {
    super();
    const op = 'InceptionAux';
    positiveInt(op, 'inChannels', inChannels);
    this.#numClasses = positiveInt(op, 'numClasses', numClasses);
    const o = checkOptions<InceptionAuxOptions>(op, options, ['dropout']);
    this.dropout = probability(op, 'dropout', o.dropout ?? 0.7);
    this.conv = this.registerModule('conv', new BasicConv2d(inChannels, 128, 1));
    this.fc1 = this.registerModule('fc1', new Linear(2048, 1024));
    this.#fc2 = this.registerModule('fc2', new Linear(1024, numClasses));
    this.dropoutLayer = this.registerModule('dropout', new Dropout(this.dropout));
  }

  /** The last layer, Linear(1024, numClasses). */
  get fc2(): Linear {
    return this.#fc2;
  }

  /** Outputs of `fc2`. */
  get numClasses(): number {
    return this.#numClasses;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name !== 'fc2') return super.childReplaced(name, old, module);
    this.#fc2 = module as Linear;
    if (module instanceof Linear) this.#numClasses = module.outFeatures;
  }

  /** A fresh `fc2` (Linear(1024, numClasses)) in place of the old one, which is disposed. Returns this. */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('InceptionAux.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc2;
    this.#fc2 = initWeight(new Linear(1024, classes)).to(old.weight.device).train(this.training);
    this.replaceModule('fc2', this.#fc2);
    old.dispose();
    this.#numClasses = classes;
    return this;
  }

  forward(x: Tensor): Tensor {
    const y = flatten(this.conv.call(adaptiveAvgPool2d(x, 4)), 1);
    return this.#fc2.call(this.dropoutLayer.call(relu(this.fc1.call(y))));
  }

  override config(): unknown[] {
    return [this.inChannels, this.numClasses, { dropout: this.dropout }];
  }

  override extraRepr(): string {
    return `${this.inChannels}, numClasses=${this.numClasses}, dropout=${this.dropout}`;
  }
}

register('Inception', Inception);
register('InceptionAux', InceptionAux);

export interface GoogLeNetOptions {
  /** Outputs of `fc` (and of the auxiliary heads); default 1000, ImageNet's. */
  numClasses?: number;
  /** Build the two auxiliary heads (default true, as torchvision's class; its pretrained file has them). */
  auxLogits?: boolean;
  /**
   * Map ImageNet-normalised input to what torchvision's pretrained weights expect (x * std / 0.5
   * + (mean - 0.5) / 0.5 per channel); default false (torchvision sets it for its weights).
   */
  transformInput?: boolean;
  /** Dropout probability before `fc` (default 0.2). */
  dropout?: number;
  /** Dropout probability in the auxiliary heads (default 0.7). */
  dropoutAux?: number;
}

/** What `GoogLeNetModel.outputs` returns: the logits, and the auxiliary heads' (null without them). */
export interface GoogLeNetOutputs {
  logits: Tensor;
  aux1: Tensor | null;
  aux2: Tensor | null;
}

/**
 * GoogLeNet (see the file's comment; `models.googlenet` makes one). Takes [N, 3, H, W] (224x224
 * for ImageNet; from 15x15 up, the average pooling making the maps 1x1), returns logits
 * [N, numClasses]. `outputs(x)` also runs the auxiliary heads, for training with them.
 */
export class GoogLeNetModel extends Module {
  readonly conv1: BasicConv2d;
  readonly maxpool1: MaxPool2d;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly maxpool2: MaxPool2d;
  readonly inception3a: Inception;
  readonly inception3b: Inception;
  readonly maxpool3: MaxPool2d;
  readonly inception4a: Inception;
  readonly inception4b: Inception;
  readonly inception4c: Inception;
  readonly inception4d: Inception;
  readonly inception4e: Inception;
  readonly maxpool4: MaxPool2d;
  readonly inception5a: Inception;
  readonly inception5b: Inception;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropoutLayer: Dropout;
  readonly transformInput: boolean;
  readonly dropout: number;
  readonly dropoutAux: number;
  #aux1: InceptionAux | null = null;
  #aux2: InceptionAux | null = null;
  #fc: Linear;
  #numClasses: number;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    const op = 'GoogLeNet';
    const o = checkOptions<GoogLeNetOptions>(op, options, ['numClasses', 'auxLogits', 'transformInput', 'dropout', 'dropoutAux']);
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 1000);
    const aux = bool(op, 'auxLogits', o.auxLogits, true);
    this.transformInput = bool(op, 'transformInput', o.transformInput, false);
    this.dropout = probability(op, 'dropout', o.dropout ?? 0.2);
    this.dropoutAux = probability(op, 'dropoutAux', o.dropoutAux ?? 0.7);

    const pool = (k: number) => new MaxPool2d(k, { stride: 2, ceilMode: true });
    this.conv1 = this.registerModule('conv1', new BasicConv2d(3, 64, 7, { stride: 2, padding: 3 }));
    this.maxpool1 = this.registerModule('maxpool1', pool(3));
    this.conv2 = this.registerModule('conv2', new BasicConv2d(64, 64, 1));
    this.conv3 = this.registerModule('conv3', new BasicConv2d(64, 192, 3, { padding: 1 }));
    this.maxpool2 = this.registerModule('maxpool2', pool(3));
    this.inception3a = this.registerModule('inception3a', new Inception(192, 64, 96, 128, 16, 32, 32));
    this.inception3b = this.registerModule('inception3b', new Inception(256, 128, 128, 192, 32, 96, 64));
    this.maxpool3 = this.registerModule('maxpool3', pool(3));
    this.inception4a = this.registerModule('inception4a', new Inception(480, 192, 96, 208, 16, 48, 64));
    this.inception4b = this.registerModule('inception4b', new Inception(512, 160, 112, 224, 24, 64, 64));
    this.inception4c = this.registerModule('inception4c', new Inception(512, 128, 128, 256, 24, 64, 64));
    this.inception4d = this.registerModule('inception4d', new Inception(512, 112, 144, 288, 32, 64, 64));
    this.inception4e = this.registerModule('inception4e', new Inception(528, 256, 160, 320, 32, 128, 128));
    this.maxpool4 = this.registerModule('maxpool4', pool(2));
    this.inception5a = this.registerModule('inception5a', new Inception(832, 256, 160, 320, 32, 128, 128));
    this.inception5b = this.registerModule('inception5b', new Inception(832, 384, 192, 384, 48, 128, 128));
    if (aux) {
      this.#aux1 = this.registerModule('aux1', new InceptionAux(512, this.#numClasses, { dropout: this.dropoutAux }));
      this.#aux2 = this.registerModule('aux2', new InceptionAux(528, this.#numClasses, { dropout: this.dropoutAux }));
    }
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.dropoutLayer = this.registerModule('dropout', new Dropout(this.dropout));
    this.#fc = this.registerModule('fc', new Linear(1024, this.#numClasses));
    // torchvision's init_weights: every convolution and linear weight, truncated normal.
    for (const m of this.modules()) if (m instanceof Conv2d || m instanceof Linear) initWeight(m);
  }

  /** The auxiliary head after inception4a, or null (built without, or removed). */
  get aux1(): InceptionAux | null {
    return this.#aux1;
  }

  /** The auxiliary head after inception4d, or null. */
  get aux2(): InceptionAux | null {
    return this.#aux2;
  }

  /** Whether the model has its auxiliary heads. */
  get auxLogits(): boolean {
    return this.#aux1 !== null;
  }

  /** The classifier, Linear(1024, numClasses). */
  get fc(): Linear {
    return this.#fc;
  }

  /** Outputs of `fc`. */
  get numClasses(): number {
    return this.#numClasses;
  }

  /** Features into `fc`: 1024. */
  get numFeatures(): number {
    return 1024;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name === 'fc') {
      this.#fc = module as Linear;
      if (module instanceof Linear) this.#numClasses = module.outFeatures;
    } else if (name === 'aux1') {
      this.#aux1 = module as InceptionAux;
    } else if (name === 'aux2') {
      this.#aux2 = module as InceptionAux;
    } else {
      super.childReplaced(name, old, module);
    }
  }

  /**
   * Disposes the auxiliary heads and drops them from the model (their keys leave the state
   * dict; `config()` then says `auxLogits: false`), as torchvision does after loading its
   * pretrained file into a model built without them. Returns this.
   * @example net.loadStateDict(torchvisionWeights); net.removeAux();
   */
  removeAux(): this {
    for (const name of ['aux1', 'aux2'] as const) {
      if ((name === 'aux1' ? this.#aux1 : this.#aux2) === null) continue;
      this.removeModule(name).dispose();
    }
    this.#aux1 = this.#aux2 = null;
    return this;
  }

  /**
   * Puts a fresh `fc` (Linear(1024, numClasses), torchvision's initialisation) in place of the
   * old one, and fresh last layers in the auxiliary heads; the old layers are disposed. The
   * step before fine-tuning on other classes. Returns this.
   * @example net.loadStateDict(weights); net.resetClassifier(10);
   */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('GoogLeNet.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc;
    this.#fc = initWeight(new Linear(1024, classes)).to(old.weight.device).train(this.training);
    this.replaceModule('fc', this.#fc);
    old.dispose();
    this.#aux1?.resetClassifier(classes);
    this.#aux2?.resetClassifier(classes);
    this.#numClasses = classes;
    return this;
  }

  #input(x: Tensor): Tensor {
    const t = checkTensor('GoogLeNet', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== 3) fail('E_SHAPE', `GoogLeNet: expected input of shape [N, 3, H, W], got ${shapeStr(t.shape)}`);
    return this.transformInput ? transformImagenetInput(t) : t;
  }

  // The stem and inception3a … 4a: what aux1 reads.
  #toAux1(x: Tensor): Tensor {
    let y = this.maxpool1.call(this.conv1.call(this.#input(x)));
    y = this.maxpool2.call(this.conv3.call(this.conv2.call(y)));
    y = this.maxpool3.call(this.inception3b.call(this.inception3a.call(y)));
    return this.inception4a.call(y);
  }

  #toAux2(y: Tensor): Tensor {
    return this.inception4d.call(this.inception4c.call(this.inception4b.call(y)));
  }

  #pooled(y: Tensor): Tensor {
    y = this.maxpool4.call(this.inception4e.call(y));
    y = this.inception5b.call(this.inception5a.call(y));
    return flatten(this.avgpool.call(y), 1);
  }

  /** [N, 3, H, W] -> pooled features [N, 1024] (everything but dropout and `fc`): for embeddings. */
  features(x: Tensor): Tensor {
    return this.#pooled(this.#toAux2(this.#toAux1(x)));
  }

  /** Logits [N, numClasses]; the auxiliary heads are not run (see `outputs`). */
  forward(x: Tensor): Tensor {
    return this.#fc.call(this.dropoutLayer.call(this.features(x)));
  }

  /**
   * The logits and the auxiliary heads' logits (null without the heads), in one pass: for
   * training with torchvision's recipe, loss = CE(logits) + 0.3 (CE(aux1) + CE(aux2)).
   * (torchvision runs the heads only in training; here they run whenever this is called.)
   * @example
   * const { logits, aux1, aux2 } = net.outputs(x);
   * const loss = add(F.crossEntropy(logits, y), mul(add(F.crossEntropy(aux1!, y), F.crossEntropy(aux2!, y)), 0.3));
   */
  outputs(x: Tensor): GoogLeNetOutputs {
    const a = this.#toAux1(x);
    const aux1 = this.#aux1 ? this.#aux1.call(a) : null;
    const b = this.#toAux2(a);
    const aux2 = this.#aux2 ? this.#aux2.call(b) : null;
    const logits = this.#fc.call(this.dropoutLayer.call(this.#pooled(b)));
    return { logits, aux1, aux2 };
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [{
      numClasses: this.#numClasses, auxLogits: this.auxLogits, transformInput: this.transformInput,
      dropout: this.dropout, dropoutAux: this.dropoutAux,
    }];
  }

  override get typeName(): string {
    return 'GoogLeNet';
  }

  override extraRepr(): string {
    return `numClasses=${this.#numClasses}, auxLogits=${this.auxLogits}, transformInput=${this.transformInput}`;
  }
}

register('GoogLeNet', GoogLeNetModel);

/**
 * GoogLeNet (Inception v1), torchvision's layout and keys: 6,624,904 parameters at 1000 classes
 * without the auxiliary heads, 13,004,888 with them.
 * @example
 * const net = models.googlenet({ numClasses: 10 });
 * const logits = net.eval().call(images);                    // [N, 10]
 * const { logits: l, aux1, aux2 } = net.train().outputs(x);  // training with the auxiliary heads
 */
export function googlenet(options: GoogLeNetOptions = {}): GoogLeNetModel {
  return new GoogLeNetModel(options);
}
