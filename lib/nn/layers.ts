/**
 * The layers of the survey's toolbox as modules, with PyTorch's class names, constructor
 * arguments (keyword arguments become an options object), defaults, parameter names and
 * default initialisation. Each forwards to its `F` op, so gradients flow through the tape.
 *
 * Default initialisation (PyTorch's `reset_parameters`): Conv and Linear weights
 * kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and biases
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)); BatchNorm weight 1, bias 0; PReLU `init` (0.25).
 */
import { ones, zeros, full } from '../creation';
import { fail } from '../errors';
import * as F from './functional/index';
import { dropoutWithMask } from './functional/layers';
import type { Size2 } from './functional/pool';
import { native } from '../native';
import { flatten } from '../ops';
import { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions, checkTensor, describe, shapeStr } from '../validate';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init';
import { Module, Parameter } from './module';

type F32 = Tensor<'float32'>;
type Pair = number | readonly [number, number];

function pairOf(op: string, name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2) fail('E_ARG', `${op}: expected \`${name}\` to be an integer or a pair of integers, got ${describe(v)}`);
  return [checkInt(op, name, p[0], min), checkInt(op, name, p[1], min)];
}

const str = (v: readonly number[]) => `[${v.join(', ')}]`;

function input(op: string, x: unknown, rank?: number, layout?: string): F32 {
  const t = checkTensor(op, 'input', x);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected a float32 input, got ${t.dtype}`);
  if (rank !== undefined && t.rank !== rank) fail('E_SHAPE', `${op}: expected input of shape ${layout}, got ${shapeStr(t.shape)}`);
  return t as F32;
}

/** PyTorch's reset_parameters of Conv/Linear: kaiming_uniform(a = sqrt(5)), bias U(±1/sqrt(fanIn)). */
function resetAffine(weight: Parameter, bias: Parameter | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

function param(shape: number[]): Parameter {
  const t = zeros(shape);
  const p = new Parameter(t);
  t.dispose();
  return p;
}

// ---- convolution and linear -----------------------------------------------------------------

export interface Conv2dModuleOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * 2-D convolution layer: weight [outChannels, inChannels / groups, kh, kw], bias [outChannels].
 * @example const conv = new nn.Conv2d(1, 6, 5, { padding: 2 });   // LeNet-5's first layer
 */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dModuleOptions = {}) {
    super();
    const op = 'Conv2d';
    const o = checkOptions<Conv2dModuleOptions>(op, opts, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    this.kernelSize = pairOf(op, 'kernelSize', kernelSize, 1);
    this.stride = pairOf(op, 'stride', o.stride ?? 1, 1);
    this.padding = o.padding === 'same' || o.padding === 'valid' ? o.padding : pairOf(op, 'padding', o.padding ?? 0, 0);
    this.dilation = pairOf(op, 'dilation', o.dilation ?? 1, 1);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      stride: [...this.stride], padding: typeof this.padding === 'string' ? this.padding : [...this.padding], dilation: [...this.dilation], groups: this.groups, bias: this.bias !== null,
    }];
  }

  forward(x: Tensor): F32 {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${str(this.kernelSize)}, stride=${str(this.stride)}`;
    if (typeof this.padding === 'string' || this.padding.some((p) => p !== 0)) s += `, padding=${typeof this.padding === 'string' ? this.padding : str(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${str(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=false';
    return s;
  }
}

export interface Conv1dModuleOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/**
 * 1-D convolution layer over [N, C, L]: weight [outChannels, inChannels / groups, k].
 * @example const conv = new nn.Conv1d(16, 32, 3, { padding: 1 });
 */
export class Conv1d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Conv1dModuleOptions = {}) {
    super();
    const op = 'Conv1d';
    const o = checkOptions<Conv1dModuleOptions>(op, opts, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    checkInt(op, 'kernelSize', kernelSize, 1);
    this.stride = checkInt(op, 'stride', o.stride ?? 1, 1);
    this.padding = o.padding === 'same' || o.padding === 'valid' ? o.padding : checkInt(op, 'padding', o.padding ?? 0, 0);
    this.dilation = checkInt(op, 'dilation', o.dilation ?? 1, 1);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([outChannels, inChannels / this.groups, kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, bias: this.bias !== null }];
  }

  forward(x: Tensor): F32 {
    return F.conv1d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=[${this.kernelSize}], stride=[${this.stride}]`;
    if (this.padding !== 0) s += `, padding=${typeof this.padding === 'string' ? this.padding : `[${this.padding}]`}`;
    if (this.dilation !== 1) s += `, dilation=[${this.dilation}]`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=false';
    return s;
  }
}

export interface ConvTranspose2dModuleOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
}

/**
 * Transposed 2-D convolution (FCN's "deconvolution"): weight [inChannels, outChannels / groups, kh, kw].
 * @example const up = new nn.ConvTranspose2d(21, 21, 4, { stride: 2, padding: 1 });   // 2x upsampling
 */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: ConvTranspose2dModuleOptions = {}) {
    super();
    const op = 'ConvTranspose2d';
    const o = checkOptions<ConvTranspose2dModuleOptions>(op, opts, ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation']);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    this.kernelSize = pairOf(op, 'kernelSize', kernelSize, 1);
    this.stride = pairOf(op, 'stride', o.stride ?? 1, 1);
    this.padding = pairOf(op, 'padding', o.padding ?? 0, 0);
    this.outputPadding = pairOf(op, 'outputPadding', o.outputPadding ?? 0, 0);
    this.dilation = pairOf(op, 'dilation', o.dilation ?? 1, 1);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([inChannels, outChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      stride: [...this.stride], padding: [...this.padding], outputPadding: [...this.outputPadding], groups: this.groups, bias: this.bias !== null, dilation: [...this.dilation],
    }];
  }

  forward(x: Tensor): F32 {
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${str(this.kernelSize)}, stride=${str(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${str(this.padding)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${str(this.outputPadding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${str(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=false';
    return s;
  }
}

/**
 * Fully connected layer y = x W^T + b: weight [outFeatures, inFeatures], bias [outFeatures].
 * @example const fc = new nn.Linear(400, 120);
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    const op = 'Linear';
    const o = checkOptions<{ bias?: boolean }>(op, opts, ['bias']);
    checkInt(op, 'inFeatures', inFeatures, 1);
    checkInt(op, 'outFeatures', outFeatures, 1);
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', withBias ? param([outFeatures]) : null);
    resetAffine(this.weight, this.bias);
  }

  override config(): unknown[] {
    return [this.inFeatures, this.outFeatures, { bias: this.bias !== null }];
  }

  forward(x: Tensor): F32 {
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * Flattens axes startDim..endDim into one (default 1..-1: [N, C, H, W] -> [N, C*H*W]).
 * @example new nn.Flatten()
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(opts: { startDim?: number; endDim?: number } = {}) {
    super();
    const o = checkOptions<{ startDim?: number; endDim?: number }>('Flatten', opts, ['startDim', 'endDim']);
    this.startDim = checkInt('Flatten', 'startDim', o.startDim ?? 1);
    this.endDim = checkInt('Flatten', 'endDim', o.endDim ?? -1);
  }

  override config(): unknown[] {
    return [{ startDim: this.startDim, endDim: this.endDim }];
  }

  forward(x: Tensor): Tensor {
    return flatten(checkTensor('Flatten', 'input', x), this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

// ---- pooling --------------------------------------------------------------------------------

export interface MaxPool2dModuleOptions { stride?: Size2; padding?: Size2; dilation?: Size2; ceilMode?: boolean }

/** Max pooling. @example new nn.MaxPool2d(2)   // halves H and W */
export class MaxPool2d extends Module {
  readonly options: MaxPool2dModuleOptions;

  constructor(readonly kernelSize: Size2, opts: MaxPool2dModuleOptions = {}) {
    super();
    this.options = { ...checkOptions<MaxPool2dModuleOptions>('MaxPool2d', opts, ['stride', 'padding', 'dilation', 'ceilMode']) };
    pairOf('MaxPool2d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${this.kernelSize}, stride=${o.stride ?? this.kernelSize}, padding=${o.padding ?? 0}, dilation=${o.dilation ?? 1}, ceil_mode=${o.ceilMode ?? false}`;
  }
}

export interface AvgPool2dModuleOptions { stride?: Size2; padding?: Size2; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number }

/** Average pooling. @example new nn.AvgPool2d(2) */
export class AvgPool2d extends Module {
  readonly options: AvgPool2dModuleOptions;

  constructor(readonly kernelSize: Size2, opts: AvgPool2dModuleOptions = {}) {
    super();
    this.options = { ...checkOptions<AvgPool2dModuleOptions>('AvgPool2d', opts, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']) };
    pairOf('AvgPool2d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
  }
}

export interface LPPool2dModuleOptions { stride?: Size2; ceilMode?: boolean }

/** Power-average pooling (PyTorch's LPPool2d). @example new nn.LPPool2d(2, 3, { stride: 2 }) */
export class LPPool2d extends Module {
  readonly options: LPPool2dModuleOptions;

  constructor(readonly normType: number, readonly kernelSize: Size2, opts: LPPool2dModuleOptions = {}) {
    super();
    this.options = { ...checkOptions<LPPool2dModuleOptions>('LPPool2d', opts, ['stride', 'ceilMode']) };
    checkNumber('LPPool2d', 'normType', normType);
    pairOf('LPPool2d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.normType, this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.lpPool2d(x, this.normType, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `norm_type=${this.normType}, kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, ceil_mode=${this.options.ceilMode ?? false}`;
  }
}

export interface MixedPool2dModuleOptions { stride?: Size2; padding?: Size2; ceilMode?: boolean; mode?: 'bernoulli' | 'uniform'; lambda?: number }

/**
 * Mixed max/average pooling (Yu et al. 2014): lambda drawn per (sample, channel) in training,
 * the fixed `lambda` (default 0.5) in evaluation.
 * @example new nn.MixedPool2d(2)
 */
export class MixedPool2d extends Module {
  readonly options: MixedPool2dModuleOptions;

  constructor(readonly kernelSize: Size2, opts: MixedPool2dModuleOptions = {}) {
    super();
    this.options = { ...checkOptions<MixedPool2dModuleOptions>('MixedPool2d', opts, ['stride', 'padding', 'ceilMode', 'mode', 'lambda']) };
    pairOf('MixedPool2d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.mixedPool2d(x, this.kernelSize, { ...this.options, training: this.training });
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, mode=${this.options.mode ?? 'bernoulli'}, lambda=${this.options.lambda ?? 0.5}`;
  }
}

/** Adaptive average pooling to a fixed size (1: global average pooling). @example new nn.AdaptiveAvgPool2d([6, 6]) */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${Array.isArray(this.outputSize) ? `[${this.outputSize.join(', ')}]` : this.outputSize}`;
  }
}

/**
 * Region-of-interest max pooling (Fast R-CNN); call it with the feature map and the boxes
 * [K, 5] (batch index, x1, y1, x2, y2).
 * @example const pool = new nn.RoIPool(7, 1 / 16); const regions = pool.call(features, boxes);
 */
export class RoIPool extends Module {
  constructor(readonly outputSize: Size2, readonly spatialScale = 1) {
    super();
    pairOf('RoIPool', 'outputSize', outputSize, 1);
    checkNumber('RoIPool', 'spatialScale', spatialScale);
  }

  override config(): unknown[] {
    return [this.outputSize, this.spatialScale];
  }

  forward(x: Tensor, boxes: Tensor): F32 {
    return F.roiPool(x, boxes, this.outputSize, this.spatialScale);
  }

  override extraRepr(): string {
    return `output_size=${this.outputSize}, spatial_scale=${this.spatialScale}`;
  }
}

// ---- activations ----------------------------------------------------------------------------

/** ReLU. @example new nn.ReLU() */
export class ReLU extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.relu(x);
  }
}

/** Leaky ReLU (default slope 0.01). @example new nn.LeakyReLU({ negativeSlope: 0.2 }) */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(opts: { negativeSlope?: number } = {}) {
    super();
    const o = checkOptions<{ negativeSlope?: number }>('LeakyReLU', opts, ['negativeSlope']);
    this.negativeSlope = checkNumber('LeakyReLU', 'negativeSlope', o.negativeSlope ?? 0.01);
  }

  override config(): unknown[] {
    return [{ negativeSlope: this.negativeSlope }];
  }

  forward(x: Tensor): F32 {
    return F.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

/**
 * PReLU with a learned slope: one for all channels (numParameters 1, the default) or one per
 * channel; each starts at `init` (0.25).
 * @example new nn.PReLU({ numParameters: 64 })
 */
export class PReLU extends Module {
  readonly weight: Parameter;
  readonly numParameters: number;

  constructor(opts: { numParameters?: number; init?: number } = {}) {
    super();
    const o = checkOptions<{ numParameters?: number; init?: number }>('PReLU', opts, ['numParameters', 'init']);
    this.numParameters = checkInt('PReLU', 'numParameters', o.numParameters ?? 1, 1);
    const init = checkNumber('PReLU', 'init', o.init ?? 0.25);
    const t = full([this.numParameters], init);
    this.weight = this.registerParameter('weight', new Parameter(t));
    t.dispose();
  }

  override config(): unknown[] {
    return [{ numParameters: this.numParameters }];
  }

  forward(x: Tensor): F32 {
    return F.prelu(x, this.weight);
  }

  override extraRepr(): string {
    return `num_parameters=${this.numParameters}`;
  }
}

/** ELU (default alpha 1). @example new nn.ELU({ alpha: 1 }) */
export class ELU extends Module {
  readonly alpha: number;

  constructor(opts: { alpha?: number } = {}) {
    super();
    const o = checkOptions<{ alpha?: number }>('ELU', opts, ['alpha']);
    this.alpha = checkNumber('ELU', 'alpha', o.alpha ?? 1);
  }

  override config(): unknown[] {
    return [{ alpha: this.alpha }];
  }

  forward(x: Tensor): F32 {
    return F.elu(x, this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** Maxout across channels: groups of `pieces` consecutive channels, [N, C, ...] -> [N, C / pieces, ...]. @example new nn.Maxout(2) */
export class Maxout extends Module {
  constructor(readonly pieces: number) {
    super();
    checkInt('Maxout', 'pieces', pieces, 1);
  }

  override config(): unknown[] {
    return [this.pieces];
  }

  forward(x: Tensor): F32 {
    return F.maxout(x, this.pieces);
  }

  override extraRepr(): string {
    return `pieces=${this.pieces}`;
  }
}

/** Logistic sigmoid. @example new nn.Sigmoid() */
export class Sigmoid extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.sigmoid(x);
  }
}

/** Hyperbolic tangent. @example new nn.Tanh() */
export class Tanh extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.tanh(x);
  }
}

function dimArg(op: string, dim: unknown): number {
  const d = typeof dim === 'object' && dim !== null && !Array.isArray(dim) ? checkOptions<{ dim?: number }>(op, dim, ['dim']).dim : dim;
  return checkInt(op, 'dim', d);
}

/** Softmax along `dim` (PyTorch's `nn.Softmax(dim=1)`). @example new nn.Softmax({ dim: 1 }) */
export class Softmax extends Module {
  readonly dim: number;

  constructor(dim: number | { dim: number }) {
    super();
    this.dim = dimArg('Softmax', dim);
  }

  override config(): unknown[] {
    return [this.dim];
  }

  forward(x: Tensor): F32 {
    return F.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Log-softmax along `dim`. @example new nn.LogSoftmax({ dim: 1 }) */
export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(dim: number | { dim: number }) {
    super();
    this.dim = dimArg('LogSoftmax', dim);
  }

  override config(): unknown[] {
    return [this.dim];
  }

  forward(x: Tensor): F32 {
    return F.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

// ---- regularisation and normalisation -------------------------------------------------------

/** Inverted dropout, active only in training mode (default p 0.5). @example new nn.Dropout({ p: 0.5 }) */
export class Dropout extends Module {
  readonly p: number;

  constructor(opts: { p?: number } = {}) {
    super();
    const o = checkOptions<{ p?: number }>('Dropout', opts, ['p']);
    this.p = checkNumber('Dropout', 'p', o.p ?? 0.5);
    if (this.p < 0 || this.p > 1) fail('E_ARG', `Dropout: expected \`p\` in [0, 1], got ${this.p}`);
  }

  override config(): unknown[] {
    return [{ p: this.p }];
  }

  forward(x: Tensor): F32 {
    const { y, mask } = dropoutWithMask(x, this.p, this.training);
    mask?.dispose();
    return y;
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Local response normalisation across channels. @example new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }) */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(readonly size: number, opts: { alpha?: number; beta?: number; k?: number } = {}) {
    super();
    const op = 'LocalResponseNorm';
    const o = checkOptions<{ alpha?: number; beta?: number; k?: number }>(op, opts, ['alpha', 'beta', 'k']);
    checkInt(op, 'size', size, 1);
    this.alpha = checkNumber(op, 'alpha', o.alpha ?? 1e-4);
    this.beta = checkNumber(op, 'beta', o.beta ?? 0.75);
    this.k = checkNumber(op, 'k', o.k ?? 1);
  }

  override config(): unknown[] {
    return [this.size, { alpha: this.alpha, beta: this.beta, k: this.k }];
  }

  forward(x: Tensor): F32 {
    return F.localResponseNorm(x, this.size, this.alpha, this.beta, this.k);
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${this.alpha}, beta=${this.beta}, k=${this.k}`;
  }
}

export interface BatchNorm2dOptions {
  eps?: number;
  /** Weight of the new batch statistics in the running ones (default 0.1); null: a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel weight (1) and bias (0). Default true. */
  affine?: boolean;
  /** Keep running statistics for evaluation. Default true; without, batch statistics are always used. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over [N, C, H, W]: parameters `weight` and `bias` [C]; buffers
 * `running_mean`, `running_var` [C] and `num_batches_tracked` (int32 []), PyTorch's keys. In
 * training it normalises with the batch's statistics and updates the running ones in place; in
 * evaluation it uses the running ones.
 * @example const bn = new nn.BatchNorm2d(64);
 */
export class BatchNorm2d extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** Mirrors the `num_batches_tracked` buffer (read back after loadStateDict). */
  #batches = 0;

  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    const op = 'BatchNorm2d';
    const o = checkOptions<BatchNorm2dOptions>(op, opts, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    checkInt(op, 'numFeatures', numFeatures, 1);
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-5);
    this.momentum = o.momentum === null ? null : checkNumber(op, 'momentum', o.momentum ?? 0.1);
    if (this.momentum !== null && (this.momentum < 0 || this.momentum > 1)) fail('E_ARG', `${op}: expected \`momentum\` in [0, 1] or null, got ${this.momentum}`);
    this.affine = checkBool(op, 'affine', o.affine ?? true);
    this.trackRunningStats = checkBool(op, 'trackRunningStats', o.trackRunningStats ?? true);
    const make = (t: Tensor) => {
      const p = new Parameter(t);
      t.dispose();
      return p;
    };
    this.weight = this.registerParameter('weight', this.affine ? make(ones([numFeatures])) : null);
    this.bias = this.registerParameter('bias', this.affine ? make(zeros([numFeatures])) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([], 'int32'));
    }
  }

  override config(): unknown[] {
    return [this.numFeatures, { eps: this.eps, momentum: this.momentum, affine: this.affine, trackRunningStats: this.trackRunningStats }];
  }

  /** The running mean buffer (null without trackRunningStats). */
  get runningMean(): F32 | null {
    return this.buffer('running_mean') as F32 | null;
  }

  /** The running variance buffer (null without trackRunningStats). */
  get runningVar(): F32 | null {
    return this.buffer('running_var') as F32 | null;
  }

  /** How many training batches updated the running statistics. */
  get numBatchesTracked(): number {
    return this.#batches;
  }

  forward(x: Tensor): F32 {
    const t = input('BatchNorm2d', x, 4, '[N, C, H, W]');
    if (t.shape[1] !== this.numFeatures) fail('E_SHAPE', `BatchNorm2d: expected ${this.numFeatures} channels, got input of shape ${shapeStr(t.shape)}`);
    const rm = this.runningMean, rv = this.runningVar;
    // As PyTorch: batch statistics in training, or always when no running statistics are kept.
    const useBatch = this.training || rm === null;
    const tracking = this.training && rm !== null;
    const momentum = !tracking ? 0 : this.momentum === null ? 1 / (this.#batches + 1) : this.momentum;
    const y = F.batchNorm(t, rm, rv, this.weight, this.bias, { training: useBatch, momentum, eps: this.eps });
    // Counted only once the op was accepted (a rejected input leaves the statistics as they were).
    if (tracking) {
      this.#batches++;
      const count = full([], this.#batches, 'int32');
      native.copyInto(this.buffer('num_batches_tracked')!.handle('BatchNorm2d'), count.handle('BatchNorm2d'));
      count.dispose();
    }
    return y;
  }

  protected override afterLoad(): void {
    const n = this.buffer('num_batches_tracked');
    if (n) this.#batches = n.dataSync()[0];
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, track_running_stats=${this.trackRunningStats}`;
  }
}
