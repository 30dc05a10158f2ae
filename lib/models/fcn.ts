/**
 * A fully convolutional network for semantic segmentation after Long, Shelhamer and Darrell,
 * "Fully convolutional networks for semantic segmentation" (CVPR 2015), sized for small images:
 *
 *   stage1 … stage5   a VGG-like encoder: each stage some 3x3 convolutions ('same' padding,
 *                     ReLU, optional batch norm) and a 2x2 max pooling, so stage k's output has
 *                     stride 2^k (pool3: 8, pool4: 16, pool5: 32)
 *   head              FCN's fc6 and fc7 as convolutions (3x3 and 1x1 here, 7x7 and 1x1 in the
 *                     paper), each with ReLU and channel dropout
 *   score_fr          1x1 convolution to class scores at stride 32
 *   upscore…          transposed convolutions ("deconvolution", no bias) initialised to bilinear
 *                     interpolation (`nn.init.bilinear_`), and the skips:
 *     '32s'  upscore32 (x32) to the input's size
 *     '16s'  upscore2 (x2), + score_pool4 (1x1 on pool4), upscore16 (x16)
 *     '8s'   upscore2, + score_pool4, upscore_pool4 (x2), + score_pool3 (1x1 on pool3), upscore8 (x8)
 *
 * The output is [N, numClasses, H, W], the input's size, for any H and W.
 *
 * Cropping. FCN pads conv1 by 100 and crops each upsampled map by an offset that the network's
 * geometry gives. Here every map stays aligned to the input instead ('same' convolutions,
 * pooling with ceilMode: the map of stride s has ceil(H / s) rows, and position i covers input
 * rows [i s, (i + 1) s)). An upsampling by f (kernel 2f, stride f, no padding) then puts input
 * position i's value at output i f + f - 0.5, half a stride after the finer map's own position,
 * so FCN's Crop layer takes rows and columns from offset f / 2 (1 for x2, 4 for x8, 16 for x32)
 * to the size of the map it is added to (or of the input): the result is exactly bilinear
 * interpolation between the coarse positions (see `nn.init.bilinear_`), and always large
 * enough, since ceil(H / s) f >= ceil(H / (s / f)).
 *
 * Initialisation as FCN and torchvision's VGG: the encoder's and head's convolutions He-normal
 * (fan out, ReLU) with zero biases, the score layers zero, the upsampling bilinear. The 2x
 * upsamplings learn; the final one stays fixed (requiresGrad false), as in FCN's reference
 * models.
 */
import { fail } from '../errors';
import { kaimingNormal_, bilinear_, zeros_ } from '../nn/init';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Dropout2d, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { add, slice } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { register } from './io';

export type FCNVariant = '32s' | '16s' | '8s';

export interface FCNOptions {
  /** Classes to score per pixel, background included (default 21, PASCAL VOC's). */
  numClasses?: number;
  /** Channels of the input image (default 3). */
  inChannels?: number;
  /** Which skips: '32s' none, '16s' pool4, '8s' (default) pool4 and pool3. */
  variant?: FCNVariant;
  /** The five encoder stages' widths (default [32, 64, 128, 256, 256]; VGG16's are [64, 128, 256, 512, 512]). */
  channels?: readonly number[];
  /** 3x3 convolutions per stage, one number or five (default [1, 1, 2, 2, 2], VGG11's; VGG16's are [2, 2, 3, 3, 3]). */
  convsPerStage?: number | readonly number[];
  /** Width of fc6 and fc7 (default 512; 4096 in the paper). */
  fcChannels?: number;
  /** Channel dropout after fc6 and fc7 (default 0.5). */
  dropout?: number;
  /** Batch norm after every encoder convolution (default false, as FCN; helps training from scratch). */
  batchNorm?: boolean;
}

const STRIDE: Record<FCNVariant, number> = { '32s': 32, '16s': 16, '8s': 8 };

function positiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) fail('E_ARG', `${op}: expected \`${name}\` to be a positive integer, got ${describe(v)}`);
  return v as number;
}

/** Rows and columns [offset, offset + h) and [offset, offset + w) of [N, C, *, *]: FCN's Crop layer. */
function crop(x: Tensor, offset: number, h: number, w: number): Tensor {
  return slice(x, [0, 0, offset, offset], [x.shape[0], x.shape[1], h, w]);
}

/** An upsampling by `f` (kernel 2f, stride f, no bias), bilinear. */
function upsampling(classes: number, f: number, learn: boolean): ConvTranspose2d {
  const up = new ConvTranspose2d(classes, classes, 2 * f, { stride: f, bias: false });
  bilinear_(up.weight);
  up.weight.requiresGrad = learn;
  return up;
}

function score(inChannels: number, classes: number): Conv2d {
  const s = new Conv2d(inChannels, classes, 1);
  zeros_(s.weight);
  zeros_(s.bias!);
  return s;
}

/** See the file's comment. Submodules: stage1..stage5, head, score_fr, and the variant's skips and upsamplings. */
export class FCNModel extends Module {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly variant: FCNVariant;
  readonly channels: readonly number[];
  readonly convsPerStage: readonly number[];
  readonly fcChannels: number;
  readonly dropout: number;
  readonly batchNorm: boolean;
  readonly stages: readonly Sequential[];
  readonly head: Sequential;
  readonly scoreFr: Conv2d;
  /** '16s' and '8s': the x2 upsampling of score_fr and the scores of pool4 added to it. */
  readonly upscore2: ConvTranspose2d | null;
  readonly scorePool4: Conv2d | null;
  /** '8s': the x2 upsampling of that sum and the scores of pool3 added to it. */
  readonly upscorePool4: ConvTranspose2d | null;
  readonly scorePool3: Conv2d | null;
  /** The last upsampling (x32, x16 or x8), fixed bilinear. */
  readonly upscore: ConvTranspose2d;

  constructor(options: FCNOptions = {}) {
    super();
    const op = 'FCN';
    const o = checkOptions<FCNOptions>(op, options, ['numClasses', 'inChannels', 'variant', 'channels', 'convsPerStage', 'fcChannels', 'dropout', 'batchNorm']);
    const variant = o.variant ?? '8s';
    if (variant !== '32s' && variant !== '16s' && variant !== '8s') fail('E_ARG', `${op}: expected \`variant\` '32s', '16s' or '8s', got ${describe(variant)}`);
    const classes = positiveInt(op, 'numClasses', o.numClasses ?? 21);
    const inChannels = positiveInt(op, 'inChannels', o.inChannels ?? 3);
    const channels = o.channels ?? [32, 64, 128, 256, 256];
    if (!Array.isArray(channels) || channels.length !== 5) fail('E_ARG', `${op}: expected \`channels\` to list the widths of the 5 stages, got ${describe(channels)}`);
    channels.forEach((c, i) => positiveInt(op, `channels[${i}]`, c));
    const perStage = o.convsPerStage ?? [1, 1, 2, 2, 2];
    const convs = typeof perStage === 'number' ? [perStage, perStage, perStage, perStage, perStage] : perStage;
    if (!Array.isArray(convs) || convs.length !== 5) fail('E_ARG', `${op}: expected \`convsPerStage\` to be a number or 5 numbers, got ${describe(perStage)}`);
    convs.forEach((n, i) => positiveInt(op, `convsPerStage[${i}]`, n));
    const fc = positiveInt(op, 'fcChannels', o.fcChannels ?? 512);
    const p = o.dropout ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    const bn = o.batchNorm ?? false;
    if (typeof bn !== 'boolean') fail('E_ARG', `${op}: expected \`batchNorm\` to be a boolean, got ${describe(bn)}`);
    this.numClasses = classes;
    this.inChannels = inChannels;
    this.variant = variant;
    this.channels = [...channels];
    this.convsPerStage = [...convs];
    this.fcChannels = fc;
    this.dropout = p;
    this.batchNorm = bn;

    // A convolution followed by batch norm needs no bias (the norm's shift takes its place).
    const conv = (cin: number, cout: number, k: number, bias: boolean): Conv2d => {
      const c = new Conv2d(cin, cout, k, { padding: (k - 1) / 2, bias });
      kaimingNormal_(c.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (c.bias) zeros_(c.bias);
      return c;
    };
    const stages: Sequential[] = [];
    let cin = inChannels;
    for (let s = 0; s < 5; s++) {
      const layers: Module[] = [];
      for (let k = 0; k < convs[s]; k++) {
        layers.push(conv(cin, channels[s], 3, !bn));
        if (bn) layers.push(new BatchNorm2d(channels[s]));
        layers.push(new ReLU());
        cin = channels[s];
      }
      layers.push(new MaxPool2d(2, { stride: 2, ceilMode: true }));
      stages.push(this.registerModule(`stage${s + 1}`, new Sequential(...layers)));
    }
    this.stages = stages;
    this.head = this.registerModule('head', new Sequential({
      fc6: conv(channels[4], fc, 3, true), relu6: new ReLU(), drop6: new Dropout2d(p),
      fc7: conv(fc, fc, 1, true), relu7: new ReLU(), drop7: new Dropout2d(p),
    }));
    this.scoreFr = this.registerModule('score_fr', score(fc, classes));
    const skip4 = variant !== '32s', skip3 = variant === '8s';
    this.upscore2 = skip4 ? this.registerModule('upscore2', upsampling(classes, 2, true)) : null;
    this.scorePool4 = skip4 ? this.registerModule('score_pool4', score(channels[3], classes)) : null;
    this.upscorePool4 = skip3 ? this.registerModule('upscore_pool4', upsampling(classes, 2, true)) : null;
    this.scorePool3 = skip3 ? this.registerModule('score_pool3', score(channels[2], classes)) : null;
    const f = STRIDE[variant];
    this.upscore = this.registerModule(`upscore${f}`, upsampling(classes, f, false));
  }

  /** The stride of the finest scores before the last upsampling: 32, 16 or 8. */
  get outputStride(): number {
    return STRIDE[this.variant];
  }

  /** [N, inChannels, H, W] -> class scores [N, numClasses, H, W]. */
  forward(x: Tensor): Tensor {
    const t = checkTensor('FCN', 'input', x);
    if (t.rank !== 4 || t.shape[1] !== this.inChannels) fail('E_SHAPE', `FCN: expected input of shape [N, ${this.inChannels}, H, W], got ${shapeStr(t.shape)}`);
    const [, , H, W] = t.shape;
    const pool3 = this.stages[2].call(this.stages[1].call(this.stages[0].call(t)));
    const pool4 = this.stages[3].call(pool3);
    let scores = this.scoreFr.call(this.head.call(this.stages[4].call(pool4)));
    // Each upsampling by f is cropped from f / 2 to the size of what it meets (file comment).
    const fuse = (coarse: Tensor, up: ConvTranspose2d, skip: Conv2d, pool: Tensor): Tensor => {
      const s = skip.call(pool);
      return add(crop(up.call(coarse), 1, s.shape[2], s.shape[3]), s);
    };
    if (this.upscore2 && this.scorePool4) scores = fuse(scores, this.upscore2, this.scorePool4, pool4);
    if (this.upscorePool4 && this.scorePool3) scores = fuse(scores, this.upscorePool4, this.scorePool3, pool3);
    return crop(this.upscore.call(scores), this.outputStride / 2, H, W);
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [{
      numClasses: this.numClasses, inChannels: this.inChannels, variant: this.variant, channels: [...this.channels],
      convsPerStage: [...this.convsPerStage], fcChannels: this.fcChannels, dropout: this.dropout, batchNorm: this.batchNorm,
    }];
  }

  override get typeName(): string {
    return 'FCN';
  }

  override extraRepr(): string {
    return `variant=${this.variant}, numClasses=${this.numClasses}`;
  }
}

register('FCN', FCNModel);

/**
 * A fully convolutional segmentation network (see `FCNModel`): per-pixel class scores
 * [N, numClasses, H, W] for images [N, inChannels, H, W] of any size.
 * @example
 * const net = models.FCN({ numClasses: 4, variant: '8s' });
 * const scores = net.call(images);                    // [N, 4, H, W]
 * const loss = F.crossEntropy(scores, masks);         // masks int32 [N, H, W]
 * const predicted = scores.argmax(1);                 // int32 [N, H, W]
 */
export function FCN(options: FCNOptions = {}): FCNModel {
  return new FCNModel(options);
}
