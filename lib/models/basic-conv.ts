/**
 * What GoogLeNet and Inception v3 share: torchvision's `BasicConv2d`, the unit they are built of
 * (a convolution without bias, batch norm with eps 0.001, ReLU), and their `transform_input`.
 */
import { fail } from '../errors';
import type { Pair } from '../nn/functional/conv';
import { BatchNorm2d, Conv2d, Identity } from '../nn/layers';
import { tensor } from '../creation';
import { relu } from '../nn/functional/index';
import { add, mul } from '../ops';
import { fusedConvClamp } from '../nn/fused-activation';
import { Module } from '../nn/module';
import type { Tensor } from '../tensor';
import { checkOptions, describe } from '../validate';
import { register } from './io';


export interface BasicConv2dOptions {
  /** Stride of the convolution (default 1). */
  stride?: Pair;
  /** Zero padding on each side, or [top and bottom, left and right] (default 0). */
  padding?: Pair;
}

/**
 * relu(bn(conv(x))): the convolution without bias, batch norm with eps 0.001 (torchvision's
 * `BasicConv2d`). Weights start as nn.Conv2d's; the models that use it initialise them as
 * torchvision's. `nn.utils.fuseConvBn` folds the pair.
 * @example const c = new models.BasicConv2d(192, 64, 1);                      // [N, 192, H, W] -> [N, 64, H, W]
 * @example const row = new models.BasicConv2d(128, 128, [1, 7], { padding: [0, 3] });   // Inception v3's factorised 7x7
 */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d | Identity;   // an Identity once nn.utils.fuseConvBn folds it
  readonly stride: Pair;
  readonly padding: Pair;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: Pair, options: BasicConv2dOptions = {}) {
    super();
    const op = 'BasicConv2d';
    const o = checkOptions<BasicConv2dOptions>(op, options, ['stride', 'padding']);
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    // Conv2d checks the sizes too; a string padding ('same') is not torchvision's and is refused here.
    if (typeof this.padding === 'string') fail('E_ARG', `${op}: expected \`padding\` to be an integer or a pair of integers, got ${describe(this.padding)}`);
    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, kernelSize, { stride: this.stride, padding: this.padding, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outChannels, { eps: 0.001 }));
  }

  override fusableGroups(): string[][] {
    return [['conv', 'bn']];
  }

  forward(x: Tensor): Tensor {
    // With gradients off and bn folded, the convolution and the ReLU as one op (fused-activation.ts).
    return fusedConvClamp(this.conv, [this.bn], 0, Infinity, x) ?? relu(this.bn.call(this.conv.call(x)));
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, this.kernelSize, { stride: this.stride, padding: this.padding }];
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}`;
  }
}

register('BasicConv2d', BasicConv2d);

/**
 * torchvision's `transform_input` of GoogLeNet and Inception v3: ImageNet-normalised input mapped
 * to what their pretrained weights expect, channel c as x * (std_c / 0.5) + (mean_c - 0.5) / 0.5.
 */
export function transformImagenetInput(x: Tensor): Tensor {
  const scale = tensor([0.229, 0.224, 0.225].map((s) => s / 0.5), { shape: [1, 3, 1, 1], device: x.device });
  const shift = tensor([0.485, 0.456, 0.406].map((m) => (m - 0.5) / 0.5), { shape: [1, 3, 1, 1], device: x.device });
  return add(mul(x, scale), shift);
}
