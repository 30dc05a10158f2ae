/**
 * Network in Network (Lin, Chen and Yan, "Network in network", ICLR 2014; the survey's section
 * 3.1.2, and its global average pooling in 3.2): each "mlpconv" layer is a convolution followed
 * by a small multilayer perceptron across the channels, two 1x1 convolutions, every one with
 * ReLU; there are no fully connected layers: the last mlpconv gives one map per class, whose
 * averages are the logits. The paper's CIFAR-10 network:
 *
 *   block1   mlpconv 5x5 (padding 2): 192, 160, 96 channels;  pool1 3x3/2 max;      drop1 0.5
 *   block2   mlpconv 5x5 (padding 2): 192, 192, 192;          pool2 3x3/2 average;  drop2 0.5
 *   block3   mlpconv 3x3 (padding 1): 192, 192, numClasses;   global average pooling
 *
 * with the pooling in ceil mode (Caffe's, the paper's framework: 32 -> 16 -> 8). 966,986
 * parameters at 10 classes. Keys: `block1.0.weight` (the convolution), `block1.2.weight`,
 * `block1.4.weight` (the 1x1 ones), … `block3.4.bias`. Initialisation: PyTorch's defaults.
 */
import { fail } from '../errors';
import { AvgPool2d, Conv2d, Dropout, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { mean } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { positiveInt } from './args';
import { register } from './io';

/**
 * An mlpconv layer: Conv2d(inChannels, c1, kernelSize, padding), ReLU, Conv2d(c1, c2, 1), ReLU,
 * Conv2d(c2, c3, 1), ReLU, as a Sequential (keys `0`, `2`, `4`).
 * @example const layer = models.mlpconv(3, [192, 160, 96], 5, 2);   // [N, 3, 32, 32] -> [N, 96, 32, 32]
 */
export function mlpconv(inChannels: number, channels: readonly [number, number, number], kernelSize: number, padding = 0): Sequential {
  const op = 'mlpconv';
  positiveInt(op, 'inChannels', inChannels);
  if (!Array.isArray(channels) || channels.length !== 3) fail('E_ARG', `${op}: expected \`channels\` to be three channel counts [c1, c2, c3], got ${describe(channels)}`);
  const [c1, c2, c3] = channels.map((c, i) => positiveInt(op, `channels[${i}]`, c));
  return new Sequential(
    new Conv2d(inChannels, c1, kernelSize, { padding }), new ReLU(),
    new Conv2d(c1, c2, 1), new ReLU(),
    new Conv2d(c2, c3, 1), new ReLU(),
  );
}

export interface NiNOptions {
  /** Maps of the last mlpconv, and logits (default 10, CIFAR-10's). */
  numClasses?: number;
  /** Channels of the input image (default 3). */
  inChannels?: number;
  /** Dropout probability after the first two blocks (default 0.5). */
  dropout?: number;
}

/**
 * The Network in Network of the paper's CIFAR-10 experiments (see the file's comment). Takes
 * [N, inChannels, H, W] (32x32; any size from 9x9 up), returns logits [N, numClasses].
 */
export class NiNModel extends Module {
  readonly block1: Sequential;
  readonly pool1: MaxPool2d;
  readonly drop1: Dropout;
  readonly block2: Sequential;
  readonly pool2: AvgPool2d;
  readonly drop2: Dropout;
  readonly block3: Sequential;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly dropout: number;

  constructor(options: NiNOptions = {}) {
    super();
    const op = 'NiN';
    const o = checkOptions<NiNOptions>(op, options, ['numClasses', 'inChannels', 'dropout']);
    this.numClasses = positiveInt(op, 'numClasses', o.numClasses ?? 10);
    this.inChannels = positiveInt(op, 'inChannels', o.inChannels ?? 3);
    const p = o.dropout ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    this.dropout = p;
    this.block1 = this.registerModule('block1', mlpconv(this.inChannels, [192, 160, 96], 5, 2));
    this.pool1 = this.registerModule('pool1', new MaxPool2d(3, { stride: 2, ceilMode: true }));
    this.drop1 = this.registerModule('drop1', new Dropout(p));
    this.block2 = this.registerModule('block2', mlpconv(96, [192, 192, 192], 5, 2));
    this.pool2 = this.registerModule('pool2', new AvgPool2d(3, { stride: 2, ceilMode: true }));
    this.drop2 = this.registerModule('drop2', new Dropout(p));
    this.block3 = this.registerModule('block3', mlpconv(192, [192, 192, this.numClasses], 3, 1));
  }

  /** The class maps [N, numClasses, H / 4, W / 4] before the global average: where each class is seen. */
  classMaps(x: Tensor): Tensor {
    const t = checkTensor('NiN', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== this.inChannels) fail('E_SHAPE', `NiN: expected input of shape [N, ${this.inChannels}, H, W], got ${shapeStr(t.shape)}`);
    const y = this.drop1.call(this.pool1.call(this.block1.call(t)));
    return this.block3.call(this.drop2.call(this.pool2.call(this.block2.call(y))));
  }

  forward(x: Tensor): Tensor {
    return mean(this.classMaps(x), [2, 3]);
  }

  override config(): unknown[] {
    return [{ numClasses: this.numClasses, inChannels: this.inChannels, dropout: this.dropout }];
  }

  override get typeName(): string {
    return 'NiN';
  }

  override extraRepr(): string {
    return `numClasses=${this.numClasses}, inChannels=${this.inChannels}, dropout=${this.dropout}`;
  }
}

register('NiN', NiNModel);

/**
 * Network in Network for CIFAR-10-sized images (966,986 parameters at 10 classes).
 * @example const net = models.NiN(); const logits = net.call(images);   // images [N, 3, 32, 32]
 */
export function NiN(options: NiNOptions = {}): NiNModel {
  return new NiNModel(options);
}
