/**
 * DenseNet (Huang, Liu, van der Maaten and Weinberger, "Densely connected convolutional
 * networks", CVPR 2017), exactly as torchvision builds it, so that its weights load as they are:
 *
 *   features   conv0 (7x7/2, no bias), norm0, relu0, pool0 (3x3/2 max, padding 1),
 *              denseblock1, transition1, …, denseblock4, norm5
 *   then ReLU, global average pooling, classifier (Linear(features, numClasses))
 *
 * A dense block's layer i (`DenseLayer`: norm1, relu1, conv1 1x1 to bnSize x growthRate, norm2,
 * relu2, conv2 3x3 to growthRate) reads the concatenation of the block's input and every earlier
 * layer's output, and the block returns them all concatenated; a transition (norm, relu, 1x1
 * conv halving the channels, 2x2/2 average pooling) sits between blocks. Keys as torchvision's:
 * `features.conv0.weight`, `features.denseblock1.denselayer1.norm1.weight`,
 * `features.transition1.conv.weight`, `features.norm5.running_var`, `classifier.bias`.
 * (torchvision's own pretrained files use the older `norm.1` names, which its loader rewrites:
 * convert them with `torchvision.models.densenet121(weights=...).state_dict()`.)
 * Initialisation as torchvision's: convolutions Kaiming-normal, batch norm 1 and 0, the
 * classifier's bias 0.
 */
import { fail } from '../errors';
import { kaimingNormal_, zeros_ } from '../nn/init';
import { adaptiveAvgPool2d, relu } from '../nn/functional/index';
import { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { concat, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkHostBytes, checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { positiveInt } from './args';
import { register } from './io';

/** One layer of a dense block (torchvision's `_DenseLayer`): [N, inChannels, H, W] -> [N, growthRate, H, W]. */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly relu1: ReLU;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu2: ReLU;
  readonly conv2: Conv2d;

  constructor(readonly inChannels: number, readonly growthRate: number, readonly bnSize: number) {
    super();
    const op = 'DenseLayer';
    positiveInt(op, 'inChannels', inChannels);
    positiveInt(op, 'growthRate', growthRate);
    positiveInt(op, 'bnSize', bnSize);
    this.norm1 = this.registerModule('norm1', new BatchNorm2d(inChannels));
    this.relu1 = this.registerModule('relu1', new ReLU());
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, bnSize * growthRate, 1, { bias: false }));
    this.norm2 = this.registerModule('norm2', new BatchNorm2d(bnSize * growthRate));
    this.relu2 = this.registerModule('relu2', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv1.call(this.relu1.call(this.norm1.call(x)));
    return this.conv2.call(this.relu2.call(this.norm2.call(y)));
  }

  override config(): unknown[] {
    return [this.inChannels, this.growthRate, this.bnSize];
  }

  override extraRepr(): string {
    return `${this.inChannels}, growthRate=${this.growthRate}, bnSize=${this.bnSize}`;
  }
}

/**
 * A dense block (torchvision's `_DenseBlock`): `layers` DenseLayers, `denselayer1` … , each
 * reading everything before it; returns [N, inChannels + layers x growthRate, H, W].
 */
export class DenseBlock extends Module {
  constructor(readonly numLayers: number, readonly inChannels: number, readonly bnSize: number, readonly growthRate: number) {
    super();
    const op = 'DenseBlock';
    positiveInt(op, 'numLayers', numLayers);
    positiveInt(op, 'inChannels', inChannels);
    positiveInt(op, 'bnSize', bnSize);
    positiveInt(op, 'growthRate', growthRate);
    // The block's parameters and batch-norm buffers, counted before any is made: 2 ** 32 layers
    // was a loop of 2 ** 32 modules (then V8 aborting out of memory).
    const width = bnSize * growthRate, inputs = numLayers * inChannels + (growthRate * numLayers * (numLayers - 1)) / 2;
    checkHostBytes(op, 4 * (width * inputs + numLayers * 9 * width * growthRate + 4 * inputs + 4 * numLayers * width), `${numLayers} dense layers' parameters`);
    for (let i = 0; i < numLayers; i++) this.registerModule(`denselayer${i + 1}`, new DenseLayer(inChannels + i * growthRate, growthRate, bnSize));
  }

  /** Channels out: inChannels + numLayers x growthRate. */
  get outChannels(): number {
    return this.inChannels + this.numLayers * this.growthRate;
  }

  forward(x: Tensor): Tensor {
    // Each layer reads the concatenation of all before it (a copy each time, as torchvision's
    // default, not its memory-efficient checkpointed variant).
    const features = [x];
    for (const layer of this.children()) features.push(layer.call(features.length === 1 ? x : concat(features, 1)));
    return concat(features, 1);
  }

  override config(): unknown[] {
    return [this.numLayers, this.inChannels, this.bnSize, this.growthRate];
  }

  override extraRepr(): string {
    return `${this.numLayers} layers, ${this.inChannels} -> ${this.outChannels}`;
  }
}

register('DenseLayer', DenseLayer);
register('DenseBlock', DenseBlock);

export type DenseNetDepth = 121 | 161 | 169 | 201;

/** torchvision's configurations: growth rate, layers per block, channels of the stem. */
const CONFIGS: Record<DenseNetDepth, { growthRate: number; blockConfig: [number, number, number, number]; numInitFeatures: number }> = {
  121: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 },
  161: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96 },
  169: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 },
  201: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 },
};

export interface DenseNetOptions {
  /** Outputs of the classifier (default 1000, ImageNet's). */
  numClasses?: number;
  /** Channels each dense layer adds (default 32). */
  growthRate?: number;
  /** Dense layers per block (default [6, 12, 24, 16], DenseNet-121's). */
  blockConfig?: readonly number[];
  /** Channels of the stem's convolution (default 64). */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of the growth rate (default 4). */
  bnSize?: number;
}

/**
 * A DenseNet (see the file's comment; `models.densenet121` … `densenet201` give torchvision's).
 * Takes [N, 3, H, W] (224x224 for ImageNet; from 29x29 up), returns logits [N, numClasses].
 */
export class DenseNetModel extends Module {
  readonly features: Sequential;
  readonly growthRate: number;
  readonly blockConfig: readonly number[];
  readonly numInitFeatures: number;
  readonly bnSize: number;
  readonly numFeatures: number;
  #classifier: Linear;
  #numClasses: number;

  constructor(options: DenseNetOptions = {}) {
    super();
    const op = 'DenseNet';
    const o = checkOptions<DenseNetOptions>(op, options, ['numClasses', 'growthRate', 'blockConfig', 'numInitFeatures', 'bnSize']);
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 1000);
    this.growthRate = positiveInt(op, 'growthRate', o.growthRate ?? 32);
    this.numInitFeatures = positiveInt(op, 'numInitFeatures', o.numInitFeatures ?? 64);
    this.bnSize = positiveInt(op, 'bnSize', o.bnSize ?? 4);
    const blocks = o.blockConfig ?? [6, 12, 24, 16];
    if (!Array.isArray(blocks) || blocks.length === 0) fail('E_ARG', `${op}: expected \`blockConfig\` to be the layers of each block, e.g. [6, 12, 24, 16], got ${describe(blocks)}`);
    blocks.forEach((n, i) => positiveInt(op, `blockConfig[${i}]`, n));
    this.blockConfig = [...blocks];

    const layers: Record<string, Module> = {
      conv0: new Conv2d(3, this.numInitFeatures, 7, { stride: 2, padding: 3, bias: false }),
      norm0: new BatchNorm2d(this.numInitFeatures),
      relu0: new ReLU(),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    };
    let n = this.numInitFeatures;
    this.blockConfig.forEach((count, i) => {
      const block = new DenseBlock(count, n, this.bnSize, this.growthRate);
      layers[`denseblock${i + 1}`] = block;
      n = block.outChannels;
      if (i !== this.blockConfig.length - 1) {
        const half = Math.floor(n / 2);
        layers[`transition${i + 1}`] = new Sequential({ norm: new BatchNorm2d(n), relu: new ReLU(), conv: new Conv2d(n, half, 1, { bias: false }), pool: new AvgPool2d(2, { stride: 2 }) });
        n = half;
      }
    });
    layers.norm5 = new BatchNorm2d(n);
    this.numFeatures = n;
    this.features = this.registerModule('features', new Sequential(layers));
    this.#classifier = this.registerModule('classifier', new Linear(n, this.#numClasses));
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingNormal_(m.weight);
    zeros_(this.#classifier.bias!);
  }

  /** The last layer, Linear(numFeatures, numClasses). */
  get classifier(): Linear {
    return this.#classifier;
  }

  /** Outputs of the classifier. */
  get numClasses(): number {
    return this.#numClasses;
  }

  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name !== 'classifier') return super.childReplaced(name, old, module);
    this.#classifier = module as Linear;
    if (module instanceof Linear) this.#numClasses = module.outFeatures;
  }

  /** A fresh classifier (Linear(numFeatures, numClasses), zero bias) in place of the old one, which is disposed. Returns this. */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('DenseNet.resetClassifier', 'numClasses', numClasses);
    const old = this.#classifier;
    this.#classifier = new Linear(this.numFeatures, classes).to(old.weight.device).train(this.training);
    zeros_(this.#classifier.bias!);
    this.replaceModule('classifier', this.#classifier);
    old.dispose();
    this.#numClasses = classes;
    return this;
  }

  /** [N, 3, H, W] -> pooled features [N, numFeatures] (everything but the classifier). */
  pooled(x: Tensor): Tensor {
    const t = checkTensor('DenseNet', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== 3) fail('E_SHAPE', `DenseNet: expected input of shape [N, 3, H, W], got ${shapeStr(t.shape)}`);
    return flatten(adaptiveAvgPool2d(relu(this.features.call(t)), 1), 1);
  }

  forward(x: Tensor): Tensor {
    return this.#classifier.call(this.pooled(x));
  }

  override config(): unknown[] {
    return [{ numClasses: this.#numClasses, growthRate: this.growthRate, blockConfig: [...this.blockConfig], numInitFeatures: this.numInitFeatures, bnSize: this.bnSize }];
  }

  override get typeName(): string {
    return 'DenseNet';
  }

  override extraRepr(): string {
    return `growthRate=${this.growthRate}, blockConfig=[${this.blockConfig.join(', ')}], numClasses=${this.#numClasses}`;
  }
}

register('DenseNet', DenseNetModel);

function depth(d: DenseNetDepth, options: Omit<DenseNetOptions, 'growthRate' | 'blockConfig' | 'numInitFeatures'>): DenseNetModel {
  const o = checkOptions<DenseNetOptions>(`densenet${d}`, options, ['numClasses', 'bnSize']);
  return new DenseNetModel({ ...o, ...CONFIGS[d] });
}

/** DenseNet-121 (7,978,856 parameters at 1000 classes), torchvision's layout. @example const net = models.densenet121({ numClasses: 10 }); */
export function densenet121(options: { numClasses?: number; bnSize?: number } = {}): DenseNetModel {
  return depth(121, options);
}

/** DenseNet-161 (28,681,000 parameters). */
export function densenet161(options: { numClasses?: number; bnSize?: number } = {}): DenseNetModel {
  return depth(161, options);
}

/** DenseNet-169 (14,149,480 parameters). */
export function densenet169(options: { numClasses?: number; bnSize?: number } = {}): DenseNetModel {
  return depth(169, options);
}

/** DenseNet-201 (20,013,928 parameters). */
export function densenet201(options: { numClasses?: number; bnSize?: number } = {}): DenseNetModel {
  return depth(201, options);
}
