/**
 * AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet classification with deep convolutional
 * neural networks", NIPS 2012), in two layouts:
 *
 * - 'torchvision' (default): torchvision's `alexnet` (its "one weird trick" single-GPU form):
 *   convolutions of 64, 192, 384, 256, 256 channels, no normalisation, an AdaptiveAvgPool2d(6)
 *   before the classifier, 224x224 inputs; 61,100,840 parameters at 1000 classes. Its state
 *   dict has torchvision's keys (`features.0.weight`, …, `classifier.6.bias`), so its weights
 *   load as they are.
 * - 'original': the paper's network, on 227x227 inputs: 96, 256, 384, 384, 256 channels, with
 *   conv2, conv4 and conv5 in two groups (the paper's split over two GPUs: those layers see only
 *   the kernel maps on their own GPU), local response normalisation after the ReLUs of conv1
 *   and conv2, and overlapping max pooling (3x3, stride 2) after both and after conv5;
 *   60,965,224 parameters at 1000 classes. The same `avgpool` as torchvision's (an identity at
 *   227x227, where the maps are already 6x6) keeps both layouts' keys in step.
 *
 * Both: dropout before the two hidden fully connected layers (4096 units each), ReLU
 * everywhere, PyTorch's default initialisation (not the paper's N(0, 0.01) with unit biases).
 *
 * Note [LRN's alpha]: the paper divides by (k + alpha * sum of a^2)^beta with k = 2, n = 5,
 * alpha = 1e-4, beta = 0.75. PyTorch's LocalResponseNorm (and this library's) divides alpha by
 * the window size n, so the paper's network has `LocalResponseNorm(5, 5e-4, 0.75, 2)` here
 * (alpha / n = 1e-4, the paper's). Code that passes 1e-4 to PyTorch's layer computes a
 * normalisation five times weaker than the paper's.
 */
import { fail } from '../errors';
import { AdaptiveAvgPool2d, Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, ReLU } from '../nn/layers';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { flatten } from '../ops';
import type { Tensor } from '../tensor';
import { checkOptions, describe } from '../validate';
import { register } from './io';

export interface AlexNetOptions {
  /** Outputs of the last layer (default 1000, ImageNet's). */
  numClasses?: number;
  /** 'torchvision' (default): torchvision's layout, 224x224 inputs; 'original': the 2012 paper's, 227x227. */
  variant?: 'torchvision' | 'original';
  /** Dropout probability before each hidden fully connected layer (default 0.5). */
  dropout?: number;
}

/**
 * AlexNet as PyTorch builds it: `features` (a Sequential of convolutions, ReLUs, pooling and,
 * in the original layout, LRN), `avgpool` (AdaptiveAvgPool2d(6)) and `classifier` (a
 * Sequential of dropout, linear and ReLU layers). Takes [N, 3, H, W] (224 or 227 square for the
 * layouts' own sizes; anything from 63 (torchvision) or 67 (original) up works, the average
 * pooling making the maps 6x6), returns logits [N, numClasses].
 */
export class AlexNetModel extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;
  readonly numClasses: number;
  readonly variant: 'torchvision' | 'original';
  readonly dropout: number;

  constructor(options: AlexNetOptions = {}) {
    super();
    const op = 'AlexNet';
    options = checkOptions<AlexNetOptions>(op, options, ['numClasses', 'variant', 'dropout']);
    const variant = options.variant ?? 'torchvision';
    if (variant !== 'torchvision' && variant !== 'original') fail('E_ARG', `${op}: expected \`variant\` 'torchvision' or 'original', got ${describe(variant)}`);
    const classes = options.numClasses ?? 1000;
    if (!Number.isSafeInteger(classes) || classes < 1) fail('E_ARG', `${op}: expected \`numClasses\` to be a positive integer, got ${describe(classes)}`);
    const p = options.dropout ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` to be a number in [0, 1], got ${describe(p)}`);
    this.variant = variant;
    this.numClasses = classes;
    this.dropout = p;

    const pool = (): Module => new MaxPool2d(3, 2);
    this.features = this.registerModule('features', variant === 'torchvision'
      ? new Sequential(
        new Conv2d(3, 64, 11, { stride: 4, padding: 2 }), new ReLU(), pool(),
        new Conv2d(64, 192, 5, { padding: 2 }), new ReLU(), pool(),
        new Conv2d(192, 384, 3, { padding: 1 }), new ReLU(),
        new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(),
        new Conv2d(256, 256, 3, { padding: 1 }), new ReLU(), pool(),
      )
      : new Sequential(
        new Conv2d(3, 96, 11, { stride: 4 }), new ReLU(), new LocalResponseNorm(5, { alpha: 5e-4, beta: 0.75, k: 2 }), pool(),
        new Conv2d(96, 256, 5, { padding: 2, groups: 2 }), new ReLU(), new LocalResponseNorm(5, { alpha: 5e-4, beta: 0.75, k: 2 }), pool(),
        new Conv2d(256, 384, 3, { padding: 1 }), new ReLU(),
        new Conv2d(384, 384, 3, { padding: 1, groups: 2 }), new ReLU(),
        new Conv2d(384, 256, 3, { padding: 1, groups: 2 }), new ReLU(), pool(),
      ));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(6));
    this.classifier = this.registerModule('classifier', new Sequential(
      new Dropout(p), new Linear(256 * 6 * 6, 4096), new ReLU(),
      new Dropout(p), new Linear(4096, 4096), new ReLU(),
      new Linear(4096, classes),
    ));
  }

  /** The input size the layout was made for: 224 (torchvision) or 227 (original). */
  get inputSize(): 224 | 227 {
    return this.variant === 'torchvision' ? 224 : 227;
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }

  /** Its constructor's arguments, so that `models.save`/`models.load` can rebuild it. */
  override config(): unknown[] {
    return [{ numClasses: this.numClasses, variant: this.variant, dropout: this.dropout }];
  }

  override get typeName(): string {
    return 'AlexNet';
  }

  override extraRepr(): string {
    return `variant=${this.variant}, numClasses=${this.numClasses}`;
  }
}

register('AlexNet', AlexNetModel);

/**
 * An AlexNet (see `AlexNetModel`): torchvision's layout by default, or the 2012 paper's.
 * @example
 * const net = models.AlexNet({ numClasses: 10 });                   // torchvision's layout, 224x224
 * const paper = models.AlexNet({ variant: 'original' });            // 60,965,224 parameters, 227x227
 * const logits = net.eval().call(randn([1, 3, 224, 224]));          // [1, 10]
 */
export function AlexNet(options: AlexNetOptions = {}): AlexNetModel {
  return new AlexNetModel(options);
}
