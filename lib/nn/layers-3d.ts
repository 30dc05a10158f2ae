/**
 * The volumetric layers (video clips and 3-D scans, [N, C, D, H, W]), as torch.nn's: Conv3d,
 * ConvTranspose3d, MaxPool3d, AvgPool3d, LPPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d,
 * MaxUnpool3d and Dropout3d, with PyTorch's positional arguments, defaults, parameters and state-dict keys.
 * BatchNorm3d and InstanceNorm3d live beside their 1-D and 2-D siblings in nn/layers.ts.
 * @example
 * // C3D's first block (Tran et al. 2015): 3x3x3 convolution, then pool frames 1, space 2
 * const block = new nn.Sequential(new nn.Conv3d(3, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool3d([1, 2, 2]));
 */
import * as F from './functional/index';
import { checkDropoutP } from './functional/more';
import type { Triple } from './functional/conv3d';
import type { Tensor } from '../tensor';
import { ConvNd, ConvTransposeNd, inplaceFlag, merge, noIndices, present, tupleOf, type WithOptions } from './layers';
import { Module } from './module';

type F32 = Tensor<'float32'>;
type Triple3 = [number, number, number];
type OutputSize3 = number | readonly [number | null, number | null, number | null];

const tripleOf = (op: string, name: string, v: unknown, min: number): Triple3 => tupleOf<Triple3>(op, name, v, min, 3);
const sizeStr = (v: unknown) => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

export interface Conv3dModuleOptions {
  stride?: Triple;
  padding?: Triple | 'same' | 'valid';
  dilation?: Triple;
  groups?: number;
  bias?: boolean;
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

/**
 * 3-D convolution layer, as torch.nn.Conv3d: weight [out, in / groups, kd, kh, kw] and bias [out]
 * with PyTorch's initialisation. Positional arguments after the kernel in PyTorch's order:
 * stride, padding, dilation, groups, bias, paddingMode.
 * @example new nn.Conv3d(3, 64, 3, { padding: 1 })   // C3D's conv1a
 */
export class Conv3d extends ConvNd<Triple3> {
  constructor(inChannels: number, outChannels: number, kernelSize: Triple,
    ...args: WithOptions<[stride: Triple, padding: Triple | 'same' | 'valid', dilation: Triple, groups: number, bias: boolean,
      paddingMode: 'zeros' | 'reflect' | 'replicate' | 'circular'], Conv3dModuleOptions>);
  constructor(inChannels: number, outChannels: number, kernelSize: Triple, ...args: unknown[]) {
    super('Conv3d', 3, inChannels, outChannels, kernelSize, args);
  }

  protected conv(x: Tensor, padding: Triple3 | 'same' | 'valid' | 0): F32 {
    return F.conv3d(x, this.weight, this.bias, { stride: this.stride, dilation: this.dilation, groups: this.groups, padding });
  }
}

export interface ConvTranspose3dModuleOptions {
  stride?: Triple;
  padding?: Triple;
  outputPadding?: Triple;
  groups?: number;
  bias?: boolean;
  dilation?: Triple;
}

/**
 * Transposed 3-D convolution layer (volumetric upsampling), as torch.nn.ConvTranspose3d: weight
 * [in, out / groups, kd, kh, kw]. Positional arguments after the kernel in PyTorch's order:
 * stride, padding, outputPadding, groups, bias, dilation.
 * @example new nn.ConvTranspose3d(64, 32, 2, 2)   // each size doubled
 */
export class ConvTranspose3d extends ConvTransposeNd<Triple3> {
  constructor(inChannels: number, outChannels: number, kernelSize: Triple,
    ...args: WithOptions<[stride: Triple, padding: Triple, outputPadding: Triple, groups: number, bias: boolean, dilation: Triple], ConvTranspose3dModuleOptions>);
  constructor(inChannels: number, outChannels: number, kernelSize: Triple, ...args: unknown[]) {
    super('ConvTranspose3d', 3, inChannels, outChannels, kernelSize, args);
  }

  forward(x: Tensor): F32 {
    return F.convTranspose3d(x, this.weight, this.bias, this.options);
  }
}

// ---- pooling --------------------------------------------------------------------------------

export interface MaxPool3dModuleOptions { stride?: Triple; padding?: Triple; dilation?: Triple; ceilMode?: boolean }

/**
 * 3-D max pooling, as torch.nn.MaxPool3d. Positional arguments in PyTorch's order: stride (null:
 * the kernel size), padding, dilation, returnIndices (false only; `F.maxPool3d` returns them),
 * ceilMode.
 * @example new nn.MaxPool3d([1, 2, 2])   // C3D's pool1: frames kept, each frame halved
 */
export class MaxPool3d extends Module {
  readonly options: MaxPool3dModuleOptions;

  constructor(kernelSize: Triple,
    ...args: WithOptions<[stride: Triple | null, padding: Triple, dilation: Triple, returnIndices: false, ceilMode: boolean], MaxPool3dModuleOptions & { returnIndices?: false }>);
  constructor(readonly kernelSize: Triple, ...args: unknown[]) {
    super();
    const op = 'MaxPool3d';
    const o = merge<MaxPool3dModuleOptions & { returnIndices?: boolean }>(op, args, ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'],
      ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
    noIndices(op, o.returnIndices, 'F.maxPool3d');
    delete o.returnIndices;
    this.options = present(o);
    tripleOf(op, 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.maxPool3d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${sizeStr(this.kernelSize)}, stride=${sizeStr(o.stride ?? this.kernelSize)}, padding=${sizeStr(o.padding ?? 0)}, dilation=${sizeStr(o.dilation ?? 1)}, ceil_mode=${o.ceilMode ?? false}`;
  }
}

export interface AvgPool3dModuleOptions { stride?: Triple; padding?: Triple; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number }

/**
 * 3-D average pooling, as torch.nn.AvgPool3d. Positional arguments in PyTorch's order: stride
 * (null: the kernel size), padding, ceilMode, countIncludePad, divisorOverride.
 * @example new nn.AvgPool3d(2)
 */
export class AvgPool3d extends Module {
  readonly options: AvgPool3dModuleOptions;

  constructor(kernelSize: Triple,
    ...args: WithOptions<[stride: Triple | null, padding: Triple, ceilMode: boolean, countIncludePad: boolean, divisorOverride: number | null], AvgPool3dModuleOptions>);
  constructor(readonly kernelSize: Triple, ...args: unknown[]) {
    super();
    const keys = ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'] as const;
    this.options = present(merge<AvgPool3dModuleOptions>('AvgPool3d', args, keys, keys));
    tripleOf('AvgPool3d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.avgPool3d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernel_size=${sizeStr(this.kernelSize)}, stride=${sizeStr(this.options.stride ?? this.kernelSize)}, padding=${sizeStr(this.options.padding ?? 0)}`;
  }
}

export interface LPPool3dModuleOptions { stride?: Triple; ceilMode?: boolean }

/** Power-average pooling of volumes (PyTorch 2.2's LPPool3d; positional: stride, ceilMode). @example new nn.LPPool3d(2, 2) */
export class LPPool3d extends Module {
  readonly options: LPPool3dModuleOptions;

  constructor(normType: number, kernelSize: Triple, ...args: WithOptions<[stride: Triple | null, ceilMode: boolean], LPPool3dModuleOptions>);
  constructor(readonly normType: number, readonly kernelSize: Triple, ...args: unknown[]) {
    super();
    const keys = ['stride', 'ceilMode'] as const;
    this.options = present(merge<LPPool3dModuleOptions>('LPPool3d', args, keys, keys));
    tripleOf('LPPool3d', 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.normType, this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.lpPool3d(x, this.normType, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `norm_type=${this.normType}, kernel_size=${sizeStr(this.kernelSize)}, stride=${sizeStr(this.options.stride ?? this.kernelSize)}, ceil_mode=${this.options.ceilMode ?? false}`;
  }
}

/** Adaptive average pooling to a fixed [D, H, W] (1: global average pooling). @example new nn.AdaptiveAvgPool3d(1) */
export class AdaptiveAvgPool3d extends Module {
  constructor(readonly outputSize: OutputSize3) {
    super();
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveAvgPool3d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${sizeStr(this.outputSize)}`;
  }
}

/**
 * Adaptive max pooling to a fixed [D, H, W]. PyTorch's `returnIndices` may be false only: for
 * the indices call `F.adaptiveMaxPool3d(x, size, { returnIndices: true })`.
 * @example new nn.AdaptiveMaxPool3d([1, 7, 7])
 */
export class AdaptiveMaxPool3d extends Module {
  constructor(outputSize: OutputSize3, ...args: WithOptions<[returnIndices: false], { returnIndices?: false }>);
  constructor(readonly outputSize: OutputSize3, ...args: unknown[]) {
    super();
    const op = 'AdaptiveMaxPool3d';
    noIndices(op, merge<{ returnIndices?: boolean }>(op, args, ['returnIndices'], ['returnIndices']).returnIndices, 'F.adaptiveMaxPool3d');
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveMaxPool3d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${sizeStr(this.outputSize)}`;
  }
}

export interface MaxUnpool3dModuleOptions { stride?: Triple; padding?: Triple }

/**
 * The inverse of 3-D max pooling, as torch.nn.MaxUnpool3d (`F.maxUnpool3d`). Positional
 * arguments in PyTorch's order: stride (null: the kernel size), padding.
 * @example const [y, idx] = F.maxPool3d(x, 2, { returnIndices: true });
 *          new nn.MaxUnpool3d(2).forward(y, idx)   // x's size, zeros but at the maxima
 */
export class MaxUnpool3d extends Module {
  readonly options: MaxUnpool3dModuleOptions;

  constructor(kernelSize: Triple, ...args: WithOptions<[stride: Triple | null, padding: Triple], MaxUnpool3dModuleOptions>);
  constructor(readonly kernelSize: Triple, ...args: unknown[]) {
    super();
    const op = 'MaxUnpool3d';
    const keys = ['stride', 'padding'] as const;
    this.options = present(merge<MaxUnpool3dModuleOptions>(op, args, keys, keys));
    tripleOf(op, 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) tripleOf(op, 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) tripleOf(op, 'padding', this.options.padding, 0);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  /** `outputSize`: the output's [D, H, W] where the default is ambiguous (see `F.maxUnpool3d`). */
  forward(x: Tensor, indices: Tensor, outputSize?: readonly number[]): F32 {
    return F.maxUnpool3d(x, indices, this.kernelSize, { ...this.options, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${sizeStr(this.kernelSize)}, stride=${sizeStr(this.options.stride ?? this.kernelSize)}, padding=${sizeStr(this.options.padding ?? 0)}`;
  }
}

/**
 * Channel dropout of volumes, as torch.nn.Dropout3d: whole channels of [N, C, D, H, W] zeroed
 * with probability p (default 0.5) in training mode (`inplace` accepted and ignored).
 * @example new nn.Dropout3d(0.2)
 */
export class Dropout3d extends Module {
  readonly p: number;

  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['p', 'inplace'] as const;
    const o = merge<{ p?: number; inplace?: boolean }>('Dropout3d', args, keys, keys);
    inplaceFlag('Dropout3d', o.inplace);
    this.p = checkDropoutP('Dropout3d', o.p ?? 0.5);
  }

  override config(): unknown[] {
    return [{ p: this.p }];
  }

  forward(x: Tensor): F32 {
    return F.dropout3d(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
