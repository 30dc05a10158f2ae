/**
 * Video ResNets for action recognition on clips [N, 3, T, H, W], exactly as torchvision builds
 * them (torchvision.models.video), so that its Kinetics-400 weights, converted to safetensors,
 * load with `loadStateDict` as they are (Tran et al., "A closer look at spatiotemporal
 * convolutions for action recognition", CVPR 2018):
 *
 *   r3d_18        every convolution 3x3x3 (3-D ResNet-18)
 *   mc3_18        3x3x3 in layer1, then 1x3x3 (mixed convolutions: time only at the bottom)
 *   r2plus1d_18   each 3x3x3 factored into a 1x3x3 spatial and a 3x1x1 temporal convolution,
 *                 with batch norm and ReLU between, at the width that keeps the parameter count
 *
 *   stem          Conv3d(3, 64, 3x7x7, stride 1x2x2) + BatchNorm3d + ReLU (R(2+1)D: 1x7x7 to
 *                 45 channels, then 3x1x1 to 64)
 *   layer1 … 4    two basic blocks each, 64 … 512 channels, layers 2-4 starting with stride 2
 *                 (mc3's 1x3x3 blocks stride only in space, as their shortcut)
 *   avgpool       AdaptiveAvgPool3d(1), flatten, fc Linear(512, numClasses)
 *
 * State-dict keys: `stem.0.weight`, `layer1.0.conv1.0.weight`, `layer1.0.conv1.1.running_mean`,
 * `layer2.0.downsample.0.weight`, …; R(2+1)D's blocks `layer1.0.conv1.0.0.weight` (spatial),
 * `.0.1` (its batch norm), `.0.3.weight` (temporal). Initialisation as torchvision's:
 * convolutions Kaiming-normal (fan out, ReLU), batch norm 1 and 0, fc N(0, 0.01) with bias 0.
 */
import { fail } from '../errors';
import { kaimingNormal_, normal_, zeros_ } from '../nn/init';
import { BatchNorm3d, Linear, ReLU } from '../nn/layers';
import { AdaptiveAvgPool3d, Conv3d } from '../nn/layers-3d';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { relu } from '../nn/functional/index';
import { add, flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { positiveInt } from './args';
import { register } from './io';

type Triple3 = [number, number, number];

/** A block's convolution: torchvision's Conv3DSimple, Conv3DNoTemporal and Conv2Plus1D. */
export type VideoConv = '3d' | 'noTemporal' | '2plus1d';
const CONVS: readonly VideoConv[] = ['3d', 'noTemporal', '2plus1d'];

/** A convolution without bias (batch norm follows), Kaiming-normal as torchvision. */
function conv(cin: number, cout: number, kernel: Triple3, stride: Triple3, padding: Triple3): Conv3d {
  const c = new Conv3d(cin, cout, kernel, { stride, padding, bias: false });
  kaimingNormal_(c.weight, { mode: 'fanOut', nonlinearity: 'relu' });
  return c;
}

/** The 3x3x3 convolution of a block in its `kind`, with the stride `s`. */
function blockConv(kind: VideoConv, cin: number, cout: number, midplanes: number, s: number): Module {
  if (kind === '3d') return conv(cin, cout, [3, 3, 3], [s, s, s], [1, 1, 1]);
  if (kind === 'noTemporal') return conv(cin, cout, [1, 3, 3], [1, s, s], [0, 1, 1]);
  return new Sequential(conv(cin, midplanes, [1, 3, 3], [1, s, s], [0, 1, 1]), new BatchNorm3d(midplanes), new ReLU(),
    conv(midplanes, cout, [3, 1, 1], [s, 1, 1], [1, 0, 0]));
}

export interface VideoBasicBlockOptions {
  /** The convolutions' kind (default '3d'). */
  conv?: VideoConv;
  /** Stride of the block (default 1): on its first convolution and on the shortcut's projection. */
  stride?: number;
}

/**
 * torchvision's video `BasicBlock`: relu(conv2(conv1(x)) + shortcut(x)), conv1 = [convolution
 * with the stride, BatchNorm3d, ReLU], conv2 = [convolution, BatchNorm3d]; the shortcut x, or
 * `downsample` (1x1x1 convolution with the stride, batch norm) when the shape changes. R(2+1)D's
 * factored convolutions have (in · out · 27) / (9 · in + 3 · out) channels between their halves.
 * @example new models.VideoBasicBlock(64, 128, { conv: '2plus1d', stride: 2 })   // [N, 64, 8, 56, 56] -> [N, 128, 4, 28, 28]
 */
export class VideoBasicBlock extends Module {
  readonly conv1: Sequential;
  readonly conv2: Sequential;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;
  readonly conv: VideoConv;
  readonly stride: number;

  constructor(readonly inplanes: number, readonly planes: number, options: VideoBasicBlockOptions = {}) {
    super();
    const op = 'VideoBasicBlock';
    const o = checkOptions<VideoBasicBlockOptions>(op, options, ['conv', 'stride']);
    positiveInt(op, 'inplanes', inplanes);
    positiveInt(op, 'planes', planes);
    this.conv = o.conv ?? '3d';
    if (!CONVS.includes(this.conv)) fail('E_ARG', `${op}: expected \`conv\` '3d', 'noTemporal' or '2plus1d', got ${describe(o.conv)}`);
    this.stride = positiveInt(op, 'stride', o.stride ?? 1);
    const mid = Math.floor((inplanes * planes * 27) / (inplanes * 9 + 3 * planes));
    this.conv1 = this.registerModule('conv1', new Sequential(blockConv(this.conv, inplanes, planes, mid, this.stride), new BatchNorm3d(planes), new ReLU()));
    this.conv2 = this.registerModule('conv2', new Sequential(blockConv(this.conv, planes, planes, mid, 1), new BatchNorm3d(planes)));
    this.relu = this.registerModule('relu', new ReLU());
    // mc3's spatial-only blocks stride their shortcut in space only, as their convolution.
    const s = this.stride, ds: Triple3 = this.conv === 'noTemporal' ? [1, s, s] : [s, s, s];
    this.downsample = s !== 1 || inplanes !== planes
      ? this.registerModule('downsample', new Sequential(conv(inplanes, planes, [1, 1, 1], ds, [0, 0, 0]), new BatchNorm3d(planes)))
      : null;
  }

  forward(x: Tensor): Tensor {
    return relu(add(this.conv2.call(this.conv1.call(x)), this.downsample ? this.downsample.call(x) : x));
  }

  override config(): unknown[] {
    return [this.inplanes, this.planes, { conv: this.conv, stride: this.stride }];
  }

  override extraRepr(): string {
    return `${this.inplanes}, ${this.planes}, conv=${this.conv}, stride=${this.stride}`;
  }
}

register('VideoBasicBlock', VideoBasicBlock);

export interface VideoResNetOptions {
  /** Outputs of `fc` (default 400, Kinetics-400's). */
  numClasses?: number;
}

export interface VideoResNetModelOptions extends VideoResNetOptions {
  /** The convolutions of layer1 … layer4 (r3d: all '3d'; mc3: '3d' then 'noTemporal'; R(2+1)D: all '2plus1d'). */
  convs: readonly VideoConv[];
  /** Blocks in layer1 … layer4 ([2, 2, 2, 2] for the 18-layer networks). */
  layers: readonly number[];
  /** 'basic' (3x7x7 to 64 channels) or 'r2plus1d' (1x7x7 to 45, then 3x1x1 to 64). */
  stem: 'basic' | 'r2plus1d';
}

/**
 * torchvision's `VideoResNet` (see the file's comment; `models.r3d_18`, `mc3_18` and
 * `r2plus1d_18` give its three). Takes clips [N, 3, T, H, W] (Kinetics: 16 frames of 112x112),
 * returns logits [N, numClasses].
 */
export class VideoResNetModel extends Module {
  readonly stem: Sequential;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool3d;
  readonly convs: readonly VideoConv[];
  readonly layers: readonly number[];
  readonly stemKind: 'basic' | 'r2plus1d';
  #numClasses: number;
  #fc: Linear;

  constructor(options: VideoResNetModelOptions) {
    super();
    const op = 'VideoResNet';
    if (typeof options !== 'object' || options === null) fail('E_ARG', `${op}: expected options { convs, layers, stem, … }, got ${describe(options)}`);
    const o = checkOptions<VideoResNetModelOptions>(op, options, ['convs', 'layers', 'stem', 'numClasses']);
    if (!Array.isArray(o.convs) || o.convs.length !== 4 || !o.convs.every((c) => CONVS.includes(c))) {
      fail('E_ARG', `${op}: expected \`convs\` to be 4 of '3d', 'noTemporal', '2plus1d' (layer1 … layer4), got ${describe(o.convs)}`);
    }
    if (!Array.isArray(o.layers) || o.layers.length !== 4) fail('E_ARG', `${op}: expected \`layers\` to be 4 numbers of blocks (layer1 … layer4), got ${describe(o.layers)}`);
    o.layers.forEach((n, i) => positiveInt(op, `layers[${i}]`, n));
    if (o.stem !== 'basic' && o.stem !== 'r2plus1d') fail('E_ARG', `${op}: expected \`stem\` 'basic' or 'r2plus1d', got ${describe(o.stem)}`);
    this.convs = [...o.convs];
    this.layers = [...o.layers];
    this.stemKind = o.stem;
    this.#numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 400);

    this.stem = this.registerModule('stem', this.stemKind === 'basic'
      ? new Sequential(conv(3, 64, [3, 7, 7], [1, 2, 2], [1, 3, 3]), new BatchNorm3d(64), new ReLU())
      : new Sequential(conv(3, 45, [1, 7, 7], [1, 2, 2], [0, 3, 3]), new BatchNorm3d(45), new ReLU(),
        conv(45, 64, [3, 1, 1], [1, 1, 1], [1, 0, 0]), new BatchNorm3d(64), new ReLU()));
    let inplanes = 64;
    const layer = (i: number, planes: number, stride: number): Sequential => {
      const blocks: Module[] = [];
      for (let b = 0; b < this.layers[i]; b++) {
        blocks.push(new VideoBasicBlock(inplanes, planes, { conv: this.convs[i], stride: b === 0 ? stride : 1 }));
        inplanes = planes;
      }
      return this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    };
    this.layer1 = layer(0, 64, 1);
    this.layer2 = layer(1, 128, 2);
    this.layer3 = layer(2, 256, 2);
    this.layer4 = layer(3, 512, 2);
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool3d(1));
    this.#fc = this.registerModule('fc', new Linear(512, this.#numClasses));
    normal_(this.#fc.weight, 0, 0.01);
    zeros_(this.#fc.bias!);
  }

  /** The classifier, Linear(512, numClasses); `resetClassifier` puts a new one in its place. */
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
   * Puts a fresh `fc` (Linear(512, numClasses), PyTorch's default initialisation) in place of the
   * old one, which is disposed: the step before fine-tuning Kinetics weights on other actions.
   * Returns this. @example net.loadStateDict(kinetics); net.resetClassifier(101);   // UCF-101
   */
  resetClassifier(numClasses: number): this {
    const classes = positiveInt('VideoResNet.resetClassifier', 'numClasses', numClasses);
    const old = this.#fc;
    this.#fc = new Linear(512, classes).to(old.weight.device).train(this.training);
    this.replaceModule('fc', this.#fc);
    old.dispose();
    this.#numClasses = classes;
    return this;
  }

  /** Clips [N, 3, T, H, W] -> pooled features [N, 512] (everything but `fc`). */
  features(x: Tensor): Tensor {
    const t = checkTensor('VideoResNet', 'input', x);
    if (t.rank !== 5 || t.shape[1] !== 3) fail('E_SHAPE', `VideoResNet: expected clips of shape [N, 3, T, H, W], got ${shapeStr(t.shape)}`);
    const y = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(this.stem.call(t)))));
    return flatten(this.avgpool.call(y), 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.features(x));
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [{ convs: [...this.convs], layers: [...this.layers], stem: this.stemKind, numClasses: this.#numClasses }];
  }

  override get typeName(): string {
    return 'VideoResNet';
  }

  override extraRepr(): string {
    return `convs=[${this.convs.join(', ')}], layers=[${this.layers.join(', ')}], stem=${this.stemKind}, numClasses=${this.#numClasses}`;
  }
}

register('VideoResNet', VideoResNetModel);

function build(op: string, convs: VideoConv[], stem: 'basic' | 'r2plus1d', options: VideoResNetOptions): VideoResNetModel {
  const o = checkOptions<VideoResNetOptions>(op, options, ['numClasses']);
  return new VideoResNetModel({ ...o, convs, layers: [2, 2, 2, 2], stem });
}

/**
 * 3-D ResNet-18 (33,371,472 parameters at 400 classes), torchvision's r3d_18: every convolution 3x3x3.
 * @example const net = models.r3d_18({ numClasses: 101 });   // UCF-101
 */
export function r3d_18(options: VideoResNetOptions = {}): VideoResNetModel {
  return build('r3d_18', ['3d', '3d', '3d', '3d'], 'basic', options);
}

/**
 * Mixed-convolution ResNet-18 (11,695,440 parameters at 400 classes), torchvision's mc3_18:
 * 3x3x3 in layer1, 1x3x3 (space only) above. @example const net = models.mc3_18();
 */
export function mc3_18(options: VideoResNetOptions = {}): VideoResNetModel {
  return build('mc3_18', ['3d', 'noTemporal', 'noTemporal', 'noTemporal'], 'basic', options);
}

/**
 * R(2+1)D-18 (31,505,325 parameters at 400 classes), torchvision's r2plus1d_18: each 3x3x3
 * convolution factored into space then time. @example const net = models.r2plus1d_18({ numClasses: 10 });
 */
export function r2plus1d_18(options: VideoResNetOptions = {}): VideoResNetModel {
  return build('r2plus1d_18', ['2plus1d', '2plus1d', '2plus1d', '2plus1d'], 'r2plus1d', options);
}
