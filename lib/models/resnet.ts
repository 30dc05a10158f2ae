/**
 * ResNet (He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016),
 * exactly as torchvision builds it, so that torchvision's weights (converted to safetensors)
 * load with `loadStateDict` as they are:
 *
 *   conv1 (7x7, stride 2, no bias), bn1, relu, maxpool (3x3, stride 2, padding 1)
 *   layer1 … layer4   Sequentials of blocks, 64, 128, 256, 512 "planes", the first block of
 *                     layer2 … layer4 with stride 2 and a `downsample` (1x1 convolution with
 *                     that stride and batch norm) on the shortcut, as every block whose output
 *                     differs in shape from its input
 *   avgpool (AdaptiveAvgPool2d(1)), flatten, fc (Linear(512 * expansion, numClasses))
 *
 * State-dict keys: `conv1.weight`, `bn1.running_mean`, `layer1.0.conv1.weight`,
 * `layer2.0.downsample.0.weight`, `layer2.0.downsample.1.weight`, …, `fc.bias`.
 *
 * Blocks: `BasicBlock` (two 3x3 convolutions, expansion 1) for ResNet-18 and -34, `Bottleneck`
 * (1x1 down to `planes`, 3x3, 1x1 up to 4 * planes, expansion 4) for ResNet-50, -101, -152, with
 * the stride on the 3x3 convolution (torchvision's "ResNet v1.5"; the paper puts it on the first
 * 1x1). Each adds its shortcut before the last ReLU.
 *
 * Initialisation as torchvision: convolutions Kaiming-normal (fan out, ReLU), batch norm weight
 * 1 and bias 0, `fc` PyTorch's default; with `zeroInitResidual` the last batch norm of every
 * block starts at weight 0, so each residual branch starts as nothing and each block as the
 * identity (Goyal et al. 2017).
 *
 * `cifar: true` is the common variant for 32x32 images (CIFAR-10/100): conv1 a 3x3 convolution
 * with stride 1 and padding 1, and no max pooling (`maxpool` is an Identity, so the keys are
 * the same and only conv1's weight differs in shape), so that layer1 sees 32x32 maps, not 8x8.
 */
import { fail } from '../errors';
import { kaimingNormal_, zeros_ } from '../nn/init';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Identity, Linear, MaxPool2d, ReLU } from '../nn/layers';
import { runLayers } from '../nn/fused-activation';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { relu } from '../nn/functional/index';
import { add, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, ownEntry, shapeStr } from '../validate';
import { bool, positiveInt } from './args';
import { register } from './io';

export type ResNetBlock = 'basic' | 'bottleneck';
export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

/** Blocks per layer for torchvision's depths. */
const LAYERS: Record<ResNetDepth, { block: ResNetBlock; layers: [number, number, number, number] }> = {
  18: { block: 'basic', layers: [2, 2, 2, 2] },
  34: { block: 'basic', layers: [3, 4, 6, 3] },
  50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
};

export interface ResNetOptions {
  /** Outputs of `fc` (default 1000, ImageNet's). */
  numClasses?: number;
  /** Zero the last batch norm's weight in every block, so that blocks start as identities (default false). */
  zeroInitResidual?: boolean;
  /** The CIFAR stem: conv1 3x3 stride 1, no max pooling, for 32x32 images (default false: ImageNet's 7x7 stride 2 and pooling). */
  cifar?: boolean;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

export interface ResNetModelOptions extends ResNetOptions {
  /** 'basic' (two 3x3 convolutions) or 'bottleneck' (1x1, 3x3, 1x1). */
  block: ResNetBlock;
  /** Blocks in layer1 … layer4, e.g. [2, 2, 2, 2] (ResNet-18) or [3, 4, 6, 3] (ResNet-34 and -50). */
  layers: readonly number[];
}

/** A convolution without bias (batch norm follows), Kaiming-normal as torchvision. */
function conv(cin: number, cout: number, k: number, stride: number): Conv2d {
  const c = new Conv2d(cin, cout, k, { stride, padding: (k - 1) / 2, bias: false });
  kaimingNormal_(c.weight, { mode: 'fanOut', nonlinearity: 'relu' });
  return c;
}

/** The shortcut's projection: 1x1 convolution with the block's stride, and batch norm. */
function downsample(cin: number, cout: number, stride: number): Sequential {
  return new Sequential(conv(cin, cout, 1, stride), new BatchNorm2d(cout));
}

export interface BlockOptions {
  /** Stride of the block (on its 3x3 convolution, and on the shortcut's projection); default 1. */
  stride?: number;
}

/**
 * ResNet-18/34's block, torchvision's `BasicBlock`: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
 * both convolutions 3x3, the first with the stride; the shortcut is x, or `downsample` (1x1
 * convolution and batch norm) when the stride is not 1 or the channels change. Expansion 1:
 * `planes` channels out.
 * @example const block = new models.BasicBlock(64, 128, { stride: 2 });   // [N, 64, 56, 56] -> [N, 128, 28, 28]
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly downsample: Sequential | null;
  readonly stride: number;

  constructor(readonly inplanes: number, readonly planes: number, options: BlockOptions = {}) {
    super();
    const op = 'BasicBlock';
    const o = checkOptions<BlockOptions>(op, options, ['stride']);
    positiveInt(op, 'inplanes', inplanes);
    positiveInt(op, 'planes', planes);
    this.stride = positiveInt(op, 'stride', o.stride ?? 1);
    this.conv1 = this.registerModule('conv1', conv(inplanes, planes, 3, this.stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, 1));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = this.stride !== 1 || inplanes !== planes ? this.registerModule('downsample', downsample(inplanes, planes, this.stride)) : null;
  }

  /** The batch norm whose weight `zeroInitResidual` zeroes. */
  get lastBn(): BatchNorm2d | Identity {
    return this.bn2;
  }

  override fusableGroups(): string[][] {
    return [['conv1', 'bn1'], ['conv2', 'bn2']];
  }

  forward(x: Tensor): Tensor {
    // runLayers: with gradients off, conv1 and the ReLU as one op (once bn1 is folded).
    const out = this.bn2.call(this.conv2.call(runLayers([this.conv1, this.bn1, this.relu], x)));
    return relu(add(out, this.downsample ? this.downsample.call(x) : x));
  }

  override config(): unknown[] {
    return [this.inplanes, this.planes, { stride: this.stride }];
  }

  override extraRepr(): string {
    return `${this.inplanes}, ${this.planes}, stride=${this.stride}`;
  }
}

/**
 * ResNet-50/101/152's block, torchvision's `Bottleneck` (v1.5: the stride on the 3x3):
 * 1x1 to `planes`, 3x3 with the stride, 1x1 to 4 * planes, each with batch norm, ReLU after the
 * first two and after the shortcut is added (x, or `downsample` when the shape changes).
 * @example const block = new models.Bottleneck(256, 128, { stride: 2 });   // [N, 256, 56, 56] -> [N, 512, 28, 28]
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly relu: ReLU;
  readonly downsample: Sequential | null;
  readonly stride: number;

  constructor(readonly inplanes: number, readonly planes: number, options: BlockOptions = {}) {
    super();
    const op = 'Bottleneck';
    const o = checkOptions<BlockOptions>(op, options, ['stride']);
    positiveInt(op, 'inplanes', inplanes);
    positiveInt(op, 'planes', planes);
    this.stride = positiveInt(op, 'stride', o.stride ?? 1);
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv(inplanes, planes, 1, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv(planes, planes, 3, this.stride));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.registerModule('conv3', conv(planes, out, 1, 1));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(out));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = this.stride !== 1 || inplanes !== out ? this.registerModule('downsample', downsample(inplanes, out, this.stride)) : null;
  }

  /** The batch norm whose weight `zeroInitResidual` zeroes. */
  get lastBn(): BatchNorm2d | Identity {
    return this.bn3;
  }

  override fusableGroups(): string[][] {
    return [['conv1', 'bn1'], ['conv2', 'bn2'], ['conv3', 'bn3']];
  }

  forward(x: Tensor): Tensor {
    // runLayers: with gradients off, each convolution and its ReLU as one op (once the batch
    // norm between is folded: nn.utils.fuseConvBn).
    let out = runLayers([this.conv1, this.bn1, this.relu], x);
    out = runLayers([this.conv2, this.bn2, this.relu], out);
    out = this.bn3.call(this.conv3.call(out));
    return relu(add(out, this.downsample ? this.downsample.call(x) : x));
  }

  override config(): unknown[] {
    return [this.inplanes, this.planes, { stride: this.stride }];
  }

  override extraRepr(): string {
    return `${this.inplanes}, ${this.planes}, stride=${this.stride}`;
  }
}

register('BasicBlock', BasicBlock);
register('Bottleneck', Bottleneck);

/**
 * A ResNet of any depth (see the file's comment; `models.resnet18` … `resnet152` give
 * torchvision's). Takes [N, inChannels, H, W] (224x224 for ImageNet's stem, 32x32 for the CIFAR
 * stem; any size works, the average pooling making the maps 1x1), returns logits [N, numClasses].
 */
export class ResNetModel extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d | Identity;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly block: ResNetBlock;
  readonly layers: readonly number[];
  readonly zeroInitResidual: boolean;
  readonly cifar: boolean;
  readonly inChannels: number;
  #numClasses: number;
  #fc: Linear;

  constructor(options: ResNetModelOptions) {
    super();
    const op = 'ResNet';
    if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { block, layers, … }, got ${describe(options)}`);
    const o = checkOptions<ResNetModelOptions>(op, options, ['block', 'layers', 'numClasses', 'zeroInitResidual', 'cifar', 'inChannels']);
    if (o.block !== 'basic' && o.block !== 'bottleneck') fail('E_ARG', `${op}: expected \`block\` 'basic' or 'bottleneck', got ${describe(o.block)}`);
    if (!Array.isArray(o.layers) || o.layers.length !== 4) fail('E_ARG', `${op}: expected \`layers\` to be 4 numbers of blocks (layer1 … layer4), got ${describe(o.layers)}`);
    o.layers.forEach((n, i) => positiveInt(op, `layers[${i}]`, n));
    this.block = o.block;
    this.layers = [...o.layers];
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', o.inChannels ?? 3);
    this.zeroInitResidual = bool(op, 'zeroInitResidual', o.zeroInitResidual, false);
    this.cifar = bool(op, 'cifar', o.cifar, false);

    this.conv1 = this.registerModule('conv1', this.cifar ? conv(this.inChannels, 64, 3, 1) : conv(this.inChannels, 64, 7, 2));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', this.cifar ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 }));
    const Block = this.block === 'basic' ? BasicBlock : Bottleneck;
    let inplanes = 64;
    const layer = (name: string, planes: number, blocks: number, stride: number): Sequential => {
      const list: Module[] = [];
      for (let i = 0; i < blocks; i++) {
        const b = new Block(inplanes, planes, { stride: i === 0 ? stride : 1 });
        const last = b.lastBn;
        if (this.zeroInitResidual && last instanceof BatchNorm2d) zeros_(last.weight!);
        list.push(b);
        inplanes = planes * Block.expansion;
      }
      return this.registerModule(name, new Sequential(...list));
    };
    this.layer1 = layer('layer1', 64, this.layers[0], 1);
    this.layer2 = layer('layer2', 128, this.layers[1], 2);
    this.layer3 = layer('layer3', 256, this.layers[2], 2);
    this.layer4 = layer('layer4', 512, this.layers[3], 2);
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.#fc = this.registerModule('fc', new Linear(inplanes, this.#numClasses));
  }

  override fusableGroups(): string[][] {
    return [['conv1', 'bn1']];
  }

  /** Features into `fc`: 512 (basic blocks) or 2048 (bottlenecks). */
  get numFeatures(): number {
    return 512 * (this.block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion);
  }

  /** The classifier, Linear(numFeatures, numClasses); `resetClassifier` puts a new one in its place. */
  get fc(): Linear {
    return this.#fc;
  }

  /** Outputs of `fc`. */
  get numClasses(): number {
    return this.#numClasses;
  }

  // `fc` lives in a private field: follow `setSubmodule('fc', …)` (torchvision's `model.fc = …`).
  protected override childReplaced(name: string, old: Module, module: Module): void {
    if (name !== 'fc') return super.childReplaced(name, old, module);
    this.#fc = module as Linear;
    if (module instanceof Linear) this.#numClasses = module.outFeatures;
  }

  /**
   * Puts a fresh `fc` (Linear(numFeatures, numClasses), PyTorch's default initialisation) in
   * place of the old one, which is disposed: the step before fine-tuning a pretrained network
   * on other classes (torchvision's `model.fc = nn.Linear(512, 10)`). Returns this.
   * @example net.loadStateDict(imagenetWeights); net.resetClassifier(10);
   */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('ResNet.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc;
    this.#fc = new Linear(this.numFeatures, classes).to(old.weight.device).train(this.training);
    this.replaceModule('fc', this.#fc);
    old.dispose();
    this.#numClasses = classes;
    return this;
  }

  /** [N, inChannels, H, W] -> pooled features [N, numFeatures] (everything but `fc`). */
  features(x: Tensor): Tensor {
    const t = checkTensor('ResNet', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== this.inChannels) fail('E_SHAPE', `ResNet: expected input of shape [N, ${this.inChannels}, H, W], got ${shapeStr(t.shape)}`);
    let y = runLayers([this.conv1, this.bn1, this.relu, this.maxpool], t);
    y = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(y))));
    return flatten(this.avgpool.call(y), 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.features(x));
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [{
      block: this.block, layers: [...this.layers], numClasses: this.#numClasses,
      zeroInitResidual: this.zeroInitResidual, cifar: this.cifar, inChannels: this.inChannels,
    }];
  }

  override get typeName(): string {
    return 'ResNet';
  }

  override extraRepr(): string {
    return `block=${this.block}, layers=[${this.layers.join(', ')}], numClasses=${this.#numClasses}${this.cifar ? ', cifar=true' : ''}`;
  }
}

register('ResNet', ResNetModel);

/** A ResNet of one of torchvision's depths (see `ResNetModel`). */
export function ResNet(depth: ResNetDepth, options: ResNetOptions = {}): ResNetModel {
  const spec = ownEntry(LAYERS as Record<number, typeof LAYERS[ResNetDepth]>, depth);
  if (spec === undefined) fail('E_ARG', `ResNet: expected a depth of 18, 34, 50, 101 or 152, got ${describe(depth)}`);
  // Checked here too, so that a misspelt option names the factory's options, not { block, layers }.
  const o = checkOptions<ResNetOptions>('ResNet', options, ['numClasses', 'zeroInitResidual', 'cifar', 'inChannels']);
  return new ResNetModel({ ...o, block: spec.block, layers: spec.layers });
}

/**
 * ResNet-18 (11,689,512 parameters at 1000 classes), torchvision's layout and keys.
 * @example
 * const net = models.resnet18({ numClasses: 10 });                 // 224x224 ImageNet-style images
 * const small = models.resnet18({ numClasses: 10, cifar: true });  // 32x32 CIFAR images
 * const logits = net.eval().call(images);                          // [N, 10]
 */
export function resnet18(options: ResNetOptions = {}): ResNetModel {
  return ResNet(18, options);
}

/** ResNet-34 (21,797,672 parameters at 1000 classes). @example const net = models.resnet34(); */
export function resnet34(options: ResNetOptions = {}): ResNetModel {
  return ResNet(34, options);
}

/** ResNet-50 (25,557,032 parameters at 1000 classes), bottleneck blocks. @example const net = models.resnet50({ zeroInitResidual: true }); */
export function resnet50(options: ResNetOptions = {}): ResNetModel {
  return ResNet(50, options);
}

/** ResNet-101 (44,549,160 parameters at 1000 classes). @example const net = models.resnet101(); */
export function resnet101(options: ResNetOptions = {}): ResNetModel {
  return ResNet(101, options);
}

/** ResNet-152 (60,192,808 parameters at 1000 classes). @example const net = models.resnet152(); */
export function resnet152(options: ResNetOptions = {}): ResNetModel {
  return ResNet(152, options);
}
