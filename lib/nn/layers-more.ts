/**
 * More module wrappers of torch.nn over functions of `F`: CosineSimilarity, PairwiseDistance,
 * Bilinear, AdaptiveAvgPool1d, AdaptiveMaxPool1d, LPPool1d, Dropout1d, AlphaDropout and
 * FeatureAlphaDropout, with PyTorch's arguments (positional, then an options object) and defaults.
 */
import { fail } from '../errors';
import * as F from './functional/index';
import { checkDropoutP } from './functional/more';
import { single, type Size1 } from './functional/pool';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber } from '../validate';
import { uniform_ } from './init';
import { inplaceFlag, merge, param, present, type WithOptions } from './layers';
import { Module, Parameter } from './module';

type F32 = Tensor<'float32'>;

/**
 * The cosine similarity of two inputs along `dim` (default 1, eps 1e-8), as
 * torch.nn.CosineSimilarity (`F.cosineSimilarity`).
 * @example new nn.CosineSimilarity({ dim: 1, eps: 1e-6 }).call(a, b)   // [N] from two [N, D]
 */
export class CosineSimilarity extends Module {
  readonly dim: number;
  readonly eps: number;

  constructor(...args: WithOptions<[dim: number, eps: number], { dim?: number; eps?: number }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'CosineSimilarity';
    const o = merge<{ dim?: number; eps?: number }>(op, args, ['dim', 'eps'], ['dim', 'eps']);
    this.dim = checkInt(op, 'dim', o.dim ?? 1);
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-8);
  }

  override config(): unknown[] {
    return [{ dim: this.dim, eps: this.eps }];
  }

  forward(x1: Tensor, x2: Tensor): F32 {
    return F.cosineSimilarity(x1, x2, { dim: this.dim, eps: this.eps });
  }
}

/**
 * The p-norm of x1 - x2 + eps over the last axis (defaults p 2, eps 1e-6, keepdim false), as
 * torch.nn.PairwiseDistance (`F.pairwiseDistance`).
 * @example new nn.PairwiseDistance(1).call(anchor, positive)   // [N]
 */
export class PairwiseDistance extends Module {
  readonly p: number;
  readonly eps: number;
  readonly keepdim: boolean;

  constructor(...args: WithOptions<[p: number, eps: number, keepdim: boolean], { p?: number; eps?: number; keepdim?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'PairwiseDistance';
    const keys = ['p', 'eps', 'keepdim'] as const;
    const o = merge<{ p?: number; eps?: number; keepdim?: boolean }>(op, args, keys, keys);
    this.p = checkNumber(op, 'p', o.p ?? 2);
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-6);
    this.keepdim = checkBool(op, 'keepdim', o.keepdim ?? false);
  }

  override config(): unknown[] {
    return [{ p: this.p, eps: this.eps, keepdim: this.keepdim }];
  }

  forward(x1: Tensor, x2: Tensor): F32 {
    return F.pairwiseDistance(x1, x2, { p: this.p, eps: this.eps, keepdim: this.keepdim });
  }
}

/**
 * The bilinear layer y = x1^T W x2 + b, as torch.nn.Bilinear (`F.bilinear`): weight
 * [out, in1, in2] and bias [out], both U(±1/sqrt(in1)) as PyTorch's reset_parameters.
 * @example const fuse = new nn.Bilinear(128, 64, 10);   fuse.call(a, b)   // [N, 10]
 */
export class Bilinear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(in1Features: number, in2Features: number, outFeatures: number, ...args: WithOptions<[bias: boolean], { bias?: boolean }>);
  constructor(readonly in1Features: number, readonly in2Features: number, readonly outFeatures: number, ...args: unknown[]) {
    super();
    const op = 'Bilinear';
    const o = merge<{ bias?: boolean }>(op, args, ['bias'], ['bias']);
    checkInt(op, 'in1Features', in1Features, 1);
    checkInt(op, 'in2Features', in2Features, 1);
    checkInt(op, 'outFeatures', outFeatures, 1);
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([outFeatures, in1Features, in2Features]));
    this.bias = this.registerParameter('bias', withBias ? param([outFeatures]) : null);
    const bound = 1 / Math.sqrt(in1Features);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }

  override config(): unknown[] {
    return [this.in1Features, this.in2Features, this.outFeatures, { bias: this.bias !== null }];
  }

  forward(x1: Tensor, x2: Tensor): F32 {
    return F.bilinear(x1, x2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Adaptive average pooling of [N, C, L] to a fixed length (`F.adaptiveAvgPool1d`). @example new nn.AdaptiveAvgPool1d(1) */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: Size1) {
    super();
    single('AdaptiveAvgPool1d', 'outputSize', outputSize, 1);
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveAvgPool1d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${this.outputSize}`;
  }
}

/**
 * Adaptive max pooling of [N, C, L] to a fixed length (`F.adaptiveMaxPool1d`). PyTorch's
 * `returnIndices` may be false only: for the indices call `F.adaptiveMaxPool1d(x, n, { returnIndices: true })`.
 * @example new nn.AdaptiveMaxPool1d(4)
 */
export class AdaptiveMaxPool1d extends Module {
  constructor(outputSize: Size1, ...args: WithOptions<[returnIndices: false], { returnIndices?: false }>);
  constructor(readonly outputSize: Size1, ...args: unknown[]) {
    super();
    const op = 'AdaptiveMaxPool1d';
    single(op, 'outputSize', outputSize, 1);
    const r = merge<{ returnIndices?: boolean }>(op, args, ['returnIndices'], ['returnIndices']).returnIndices;
    if (r !== undefined && checkBool(op, 'returnIndices', r)) {
      fail('E_ARG', `${op}: returnIndices: true is not supported by the module (its call returns one tensor); use F.adaptiveMaxPool1d(x, outputSize, { returnIndices: true })`);
    }
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveMaxPool1d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${this.outputSize}`;
  }
}

export interface LPPool1dModuleOptions { stride?: Size1; ceilMode?: boolean }

/** 1-D power-average pooling (PyTorch's LPPool1d, `F.lpPool1d`; positional: stride, ceilMode). @example new nn.LPPool1d(2, 3, 2) */
export class LPPool1d extends Module {
  readonly options: LPPool1dModuleOptions;

  constructor(normType: number, kernelSize: Size1, ...args: WithOptions<[stride: Size1 | null, ceilMode: boolean], LPPool1dModuleOptions>);
  constructor(readonly normType: number, readonly kernelSize: Size1, ...args: unknown[]) {
    super();
    const op = 'LPPool1d';
    const keys = ['stride', 'ceilMode'] as const;
    const o = merge<LPPool1dModuleOptions & { stride?: Size1 | null }>(op, args, keys, keys);
    if (o.stride === null) delete o.stride;
    this.options = present(o as LPPool1dModuleOptions);
    const p = checkNumber(op, 'normType', normType);
    if (!(p > 0) || !Number.isFinite(p)) fail('E_ARG', `${op}: expected \`normType\` to be a positive finite number, got ${p}`);
    single(op, 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) single(op, 'stride', this.options.stride, 1);
    if (this.options.ceilMode !== undefined) checkBool(op, 'ceilMode', this.options.ceilMode);
  }

  override config(): unknown[] {
    return [this.normType, this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.lpPool1d(x, this.normType, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `norm_type=${this.normType}, kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, ceil_mode=${this.options.ceilMode ?? false}`;
  }
}

/** The shared body of the dropout modules: p (default 0.5) and PyTorch's ignored `inplace`. */
abstract class DropoutLike extends Module {
  readonly p: number;

  constructor(op: string, args: readonly unknown[]) {
    super();
    const keys = ['p', 'inplace'] as const;
    const o = merge<{ p?: number; inplace?: boolean }>(op, args, keys, keys);
    inplaceFlag(op, o.inplace);
    this.p = checkDropoutP(op, o.p ?? 0.5);
  }

  override config(): unknown[] {
    return [{ p: this.p }];
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Channel dropout over [N, C, L] (or [C, L]): whole channels zeroed with probability p
 * (default 0.5) in training mode, as torch.nn.Dropout1d (`F.dropout1d`).
 * @example new nn.Dropout1d(0.2)
 */
export class Dropout1d extends DropoutLike {
  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super('Dropout1d', args);
  }

  forward(x: Tensor): F32 {
    return F.dropout1d(x, this.p, this.training);
  }
}

/**
 * Alpha dropout for self-normalising networks (after SELU), as torch.nn.AlphaDropout
 * (`F.alphaDropout`): in training mode, keeps zero mean and unit variance; identity in evaluation.
 * @example new nn.Sequential(new nn.Linear(64, 64), new nn.SELU(), new nn.AlphaDropout(0.1))
 */
export class AlphaDropout extends DropoutLike {
  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super('AlphaDropout', args);
  }

  forward(x: Tensor): F32 {
    return F.alphaDropout(x, this.p, this.training);
  }
}

/**
 * Alpha dropout of whole channels ([N, C, ...]), as torch.nn.FeatureAlphaDropout
 * (`F.featureAlphaDropout`); identity in evaluation.
 * @example new nn.FeatureAlphaDropout(0.2)
 */
export class FeatureAlphaDropout extends DropoutLike {
  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super('FeatureAlphaDropout', args);
  }

  forward(x: Tensor): F32 {
    return F.featureAlphaDropout(x, this.p, this.training);
  }
}
