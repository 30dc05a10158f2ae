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
import { conv2dClamped, pair } from './functional/conv';
import { dropoutWithMask } from './functional/layers';
import { checkInterpolateOptions } from './functional/interpolate';
import { checkPadOptions } from './functional/sampling';
import { checkLevels, checkSamplingRatio, single, type Size1, type Size2 } from './functional/pool';
import { native } from '../native';
import { flatten, reshape } from '../ops';
import { Tensor, type DType } from '../tensor';
import { checkAxis, checkBool, checkFloat32Value, checkInt, checkNumber, checkOptions, checkTensor, describe, isTensor, MAX_RANK, shapeStr } from '../validate';
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

/**
 * The constructor arguments after the required ones, as PyTorch takes them: positional values
 * in PyTorch's order (`P`), optionally followed by an options object for the rest (Python's
 * keyword arguments). `WithOptions<[stride: Pair, padding: Pair], O>` is `[O?] | [Pair, O?] |
 * [Pair, Pair, O?]`.
 */
export type WithOptions<P extends unknown[], O> = P extends [...infer Init, unknown] ? [...P, O?] | WithOptions<Init, O> : [O?];

const isOptionsObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && !isTensor(v);

/**
 * Merges PyTorch-style arguments into one options object: `args` are positional values for
 * `names` (in order), then optionally an options object with `keys`. A parameter given both
 * ways is E_ARG (Python's "got multiple values for argument"); so is an extra argument where
 * the options should be. A positional `undefined` is absent (PyTorch's default).
 * @example merge('Linear', [false], ['bias'], ['bias'])   // { bias: false }
 * @internal (nn/loss.ts, nn/padding.ts and nn/sparse.ts use it too)
 */
export function merge<O extends object>(op: string, args: readonly unknown[], names: readonly (keyof O & string)[], keys: readonly string[]): O {
  const hasOptions = args.length > 0 && isOptionsObject(args[args.length - 1]);
  const values = hasOptions ? args.slice(0, -1) : args;
  if (values.length > names.length) {
    fail('E_ARG', `${op}: expected options (an object) after at most ${names.length} positional argument(s) (${names.join(', ')}), got ${describe(values[names.length])}`);
  }
  const o: Record<string, unknown> = { ...checkOptions<object>(op, hasOptions ? args[args.length - 1] : undefined, keys) };
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (o[names[i]] !== undefined) fail('E_ARG', `${op}: got \`${names[i]}\` both as a positional argument and in the options`);
    o[names[i]] = v;
  });
  return o as O;
}

/** @internal PyTorch's `inplace` flag: accepted for compatibility (a boolean) and ignored: the result is always a new tensor. */
export function inplaceFlag(op: string, value: unknown): void {
  if (value !== undefined) checkBool(op, 'inplace', value);
}

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

/** @internal A zero-filled Parameter of `shape` (the layers fill it in their reset). */
export function param(shape: number[]): Parameter {
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
  /** What the padding holds, as PyTorch's padding_mode: 'zeros' (default), or `F.pad`'s 'reflect', 'replicate', 'circular'. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

/** @internal An integer, or `dims` of them, each at least `min` (a kernel size, stride, ...). */
export const tupleOf = <S extends number[]>(op: string, name: string, v: unknown, min: number, dims: number): S => pair(op, name, v, min, dims) as S;

type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/**
 * @internal The body Conv2d and Conv3d share (2 or 3 spatial dimensions): PyTorch's arguments
 * and checks, parameters, initialisation, config, printout and padding modes; each subclass
 * says which F op it runs.
 */
export abstract class ConvNd<S extends number[]> extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: S;
  readonly stride: S;
  readonly padding: S | 'same' | 'valid';
  readonly dilation: S;
  readonly groups: number;
  readonly paddingMode: ConvPaddingMode;

  protected constructor(op: string, dims: number, readonly inChannels: number, readonly outChannels: number, kernelSize: unknown, args: readonly unknown[]) {
    super();
    const keys = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'] as const;
    const o = merge<{ stride?: unknown; padding?: unknown; dilation?: unknown; groups?: number; bias?: boolean; paddingMode?: ConvPaddingMode }>(op, args, keys, keys);
    let withBias: boolean;
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
      paddingMode: this.paddingMode, bias: withBias } = convArguments<S>(op, dims, inChannels, outChannels, kernelSize, o));
    this.weight = this.registerParameter('weight', param([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  /** The F op with this layer's weights, stride, dilation and groups, at `padding`. */
  protected abstract conv(x: Tensor, padding: S | 'same' | 'valid' | 0): F32;

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      stride: [...this.stride], padding: typeof this.padding === 'string' ? this.padding : [...this.padding], dilation: [...this.dilation], groups: this.groups, bias: this.bias !== null,
      ...(this.paddingMode !== 'zeros' ? { paddingMode: this.paddingMode } : {}),
    }];
  }

  forward(x: Tensor): F32 {
    if (this.paddingMode === 'zeros' || this.padding === 'valid') return this.conv(x, this.padding);
    // Other modes pad explicitly first (as PyTorch), 'same' with its split: the smaller half before.
    const sides = this.padding === 'same'
      ? this.kernelSize.map((k, i) => [Math.floor((this.dilation[i] * (k - 1)) / 2), this.dilation[i] * (k - 1) - Math.floor((this.dilation[i] * (k - 1)) / 2)])
      : this.padding.map((p) => [p, p]);
    // F.pad lists the last axis first.
    return this.conv(F.pad(checkTensor(this.typeName, 'input', x), sides.reverse().flat(), this.paddingMode), 0);
  }

  override extraRepr(): string {
    return convRepr(this);
  }
}

/** @internal A convolution's arguments after the kernel size, checked as PyTorch checks them (ConvNd, QuantizedConv2d). */
export function convArguments<S extends number[]>(
  op: string, dims: number, inChannels: number, outChannels: number, kernelSize: unknown,
  o: { stride?: unknown; padding?: unknown; dilation?: unknown; groups?: number; bias?: boolean; paddingMode?: ConvPaddingMode },
): { kernelSize: S; stride: S; padding: S | 'same' | 'valid'; dilation: S; groups: number; paddingMode: ConvPaddingMode; bias: boolean } {
  checkInt(op, 'inChannels', inChannels, 1);
  checkInt(op, 'outChannels', outChannels, 1);
  const kernel = tupleOf<S>(op, 'kernelSize', kernelSize, 1, dims);
  const stride = tupleOf<S>(op, 'stride', o.stride ?? 1, 1, dims);
  const padding = o.padding === 'same' || o.padding === 'valid' ? o.padding : tupleOf<S>(op, 'padding', o.padding ?? 0, 0, dims);
  const dilation = tupleOf<S>(op, 'dilation', o.dilation ?? 1, 1, dims);
  const groups = checkInt(op, 'groups', o.groups ?? 1, 1);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    fail('E_ARG', `${op}: groups = ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
  }
  if (padding === 'same' && stride.some((st) => st !== 1)) fail('E_ARG', `${op}: padding 'same' needs stride 1, got stride ${str(stride)}`);
  const bias = checkBool(op, 'bias', o.bias ?? true);
  const paddingMode = o.paddingMode ?? 'zeros';
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode)) {
    fail('E_ARG', `${op}: expected \`paddingMode\` 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(paddingMode)}`);
  }
  return { kernelSize: kernel, stride, padding, dilation, groups, paddingMode, bias };
}

/** @internal PyTorch's printout of a convolution's arguments. */
export function convRepr(m: {
  inChannels: number; outChannels: number; kernelSize: readonly number[]; stride: readonly number[]; padding: readonly number[] | 'same' | 'valid';
  dilation: readonly number[]; groups: number; bias: unknown; paddingMode: string;
}): string {
  let s = `${m.inChannels}, ${m.outChannels}, kernel_size=${str(m.kernelSize)}, stride=${str(m.stride)}`;
  if (typeof m.padding === 'string' || m.padding.some((p) => p !== 0)) s += `, padding=${typeof m.padding === 'string' ? m.padding : str(m.padding)}`;
  if (m.dilation.some((d) => d !== 1)) s += `, dilation=${str(m.dilation)}`;
  if (m.groups !== 1) s += `, groups=${m.groups}`;
  if (m.bias === null) s += ', bias=false';
  if (m.paddingMode !== 'zeros') s += `, padding_mode=${m.paddingMode}`;
  return s;
}

/**
 * 2-D convolution layer: weight [outChannels, inChannels / groups, kh, kw], bias [outChannels].
 * After the kernel size, PyTorch's positional arguments (stride, padding, dilation, groups,
 * bias, paddingMode) and/or an options object.
 * @example const conv = new nn.Conv2d(1, 6, 5, { padding: 2 });   // LeNet-5's first layer
 * @example const conv = new nn.Conv2d(3, 64, 3, 1, 1, { bias: false });
 */
export class Conv2d extends ConvNd<[number, number]> {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair,
    ...args: WithOptions<[stride: Pair, padding: Pair | 'same' | 'valid', dilation: Pair, groups: number, bias: boolean,
      paddingMode: ConvPaddingMode], Conv2dModuleOptions>);
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...args: unknown[]) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, args);
  }

  protected conv(x: Tensor, padding: [number, number] | 'same' | 'valid' | 0): F32 {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, dilation: this.dilation, groups: this.groups, padding });
  }

  /**
   * @internal forward, then min(max(·, lo), hi), as one native op (nn/fused-activation.ts); null
   * where the padding mode pads x first. Records no gradient.
   */
  forwardClamped(x: Tensor, lo: number, hi: number): F32 | null {
    if (this.paddingMode !== 'zeros' && this.padding !== 'valid') return null;
    const o = { stride: this.stride, dilation: this.dilation, groups: this.groups, padding: this.padding };
    return conv2dClamped(x, this.weight, this.bias, o, lo, hi);
  }
}

export interface Conv1dModuleOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

export interface TiledConv2dModuleOptions {
  /** The tile: kernels are tied across positions this far apart (default 2; 1 is Conv2d). */
  tile?: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * Tiled convolution layer (Ngiam et al. 2010; see `F.tiledConv2d`): a kernel per position of a
 * tile, weight [tileH, tileW, outChannels, inChannels / groups, kh, kw], a bias [outChannels]
 * shared by the tile. Initialised as Conv2d (each kernel uniform in ±1/sqrt(fan-in)).
 * @example const conv = new nn.TiledConv2d(3, 16, 5, { tile: 2, padding: 2 });
 */
export class TiledConv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly tile: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: TiledConv2dModuleOptions = {}) {
    super();
    const op = 'TiledConv2d';
    const o = checkOptions<TiledConv2dModuleOptions>(op, options, ['tile', 'stride', 'padding', 'dilation', 'groups', 'bias']);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    this.kernelSize = pairOf(op, 'kernelSize', kernelSize, 1);
    this.tile = pairOf(op, 'tile', o.tile ?? 2, 1);
    this.stride = pairOf(op, 'stride', o.stride ?? 1, 1);
    this.padding = pairOf(op, 'padding', o.padding ?? 0, 0);
    this.dilation = pairOf(op, 'dilation', o.dilation ?? 1, 1);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([...this.tile, outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    // Conv2d's init (kaiming_uniform with a = sqrt(5): ±1/sqrt(fan-in)) for every kernel of the tile.
    const bound = 1 / Math.sqrt((inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1]);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      tile: [...this.tile], stride: [...this.stride], padding: [...this.padding], dilation: [...this.dilation], groups: this.groups, bias: this.bias !== null,
    }];
  }

  forward(x: Tensor): F32 {
    return F.tiledConv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${str(this.kernelSize)}, tile=${str(this.tile)}, stride=${str(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${str(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${str(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=false';
    return s;
  }
}

/**
 * 1-D convolution layer over [N, C, L]: weight [outChannels, inChannels / groups, k]. Positional
 * arguments as Conv2d's.
 * @example const conv = new nn.Conv1d(16, 32, 3, { padding: 1 });
 */
export class Conv1d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number,
    ...args: WithOptions<[stride: number, padding: number | 'same' | 'valid', dilation: number, groups: number, bias: boolean], Conv1dModuleOptions>);
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, ...args: unknown[]) {
    super();
    const op = 'Conv1d';
    const keys = ['stride', 'padding', 'dilation', 'groups', 'bias'] as const;
    const o = merge<Conv1dModuleOptions>(op, args, keys, keys);
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

export interface ConvTranspose1dModuleOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  groups?: number;
  bias?: boolean;
  dilation?: number;
}

/**
 * Transposed 1-D convolution (`F.convTranspose1d`: upsamples sequences): weight [inChannels,
 * outChannels / groups, kernelSize]. Positional arguments in PyTorch's order: stride, padding,
 * outputPadding, groups, bias, dilation.
 * @example const up = new nn.ConvTranspose1d(16, 8, 4, { stride: 2, padding: 1 });   // L -> 2L
 */
export class ConvTranspose1d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number,
    ...args: WithOptions<[stride: number, padding: number, outputPadding: number, groups: number, bias: boolean, dilation: number], ConvTranspose1dModuleOptions>);
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, ...args: unknown[]) {
    super();
    const op = 'ConvTranspose1d';
    const keys = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation'] as const;
    const o = merge<ConvTranspose1dModuleOptions>(op, args, keys, keys);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    checkInt(op, 'kernelSize', kernelSize, 1);
    this.stride = checkInt(op, 'stride', o.stride ?? 1, 1);
    this.padding = checkInt(op, 'padding', o.padding ?? 0, 0);
    this.outputPadding = checkInt(op, 'outputPadding', o.outputPadding ?? 0, 0);
    this.dilation = checkInt(op, 'dilation', o.dilation ?? 1, 1);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([inChannels, outChannels / this.groups, kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, this.kernelSize, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, bias: this.bias !== null, dilation: this.dilation,
    }];
  }

  forward(x: Tensor): F32 {
    return F.convTranspose1d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=[${this.kernelSize}], stride=[${this.stride}]`;
    if (this.padding !== 0) s += `, padding=[${this.padding}]`;
    if (this.outputPadding !== 0) s += `, output_padding=[${this.outputPadding}]`;
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
 * @internal The body ConvTranspose2d and ConvTranspose3d share: PyTorch's arguments and checks,
 * parameters (weight [in, out / groups, ...kernel]), initialisation, config and printout.
 */
export abstract class ConvTransposeNd<S extends number[]> extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: S;
  readonly stride: S;
  readonly padding: S;
  readonly outputPadding: S;
  readonly dilation: S;
  readonly groups: number;

  protected constructor(op: string, dims: number, readonly inChannels: number, readonly outChannels: number, kernelSize: unknown, args: readonly unknown[]) {
    super();
    const keys = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation'] as const;
    const o = merge<{ stride?: unknown; padding?: unknown; outputPadding?: unknown; groups?: number; bias?: boolean; dilation?: unknown }>(op, args, keys, keys);
    checkInt(op, 'inChannels', inChannels, 1);
    checkInt(op, 'outChannels', outChannels, 1);
    this.kernelSize = tupleOf<S>(op, 'kernelSize', kernelSize, 1, dims);
    this.stride = tupleOf<S>(op, 'stride', o.stride ?? 1, 1, dims);
    this.padding = tupleOf<S>(op, 'padding', o.padding ?? 0, 0, dims);
    this.outputPadding = tupleOf<S>(op, 'outputPadding', o.outputPadding ?? 0, 0, dims);
    this.dilation = tupleOf<S>(op, 'dilation', o.dilation ?? 1, 1, dims);
    this.groups = checkInt(op, 'groups', o.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      fail('E_ARG', `${op}: groups = ${this.groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.weight = this.registerParameter('weight', param([inChannels, outChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', withBias ? param([outChannels]) : null);
    resetAffine(this.weight, this.bias);
  }

  /** The options of the F op. */
  protected get options() {
    return { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation };
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      stride: [...this.stride], padding: [...this.padding], outputPadding: [...this.outputPadding], groups: this.groups, bias: this.bias !== null, dilation: [...this.dilation],
    }];
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
 * Transposed 2-D convolution (FCN's "deconvolution"): weight [inChannels, outChannels / groups, kh, kw].
 * Positional arguments in PyTorch's order: stride, padding, outputPadding, groups, bias, dilation.
 * @example const up = new nn.ConvTranspose2d(21, 21, 4, { stride: 2, padding: 1 });   // 2x upsampling
 */
export class ConvTranspose2d extends ConvTransposeNd<[number, number]> {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair,
    ...args: WithOptions<[stride: Pair, padding: Pair, outputPadding: Pair, groups: number, bias: boolean, dilation: Pair], ConvTranspose2dModuleOptions>);
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...args: unknown[]) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, args);
  }

  forward(x: Tensor): F32 {
    return F.convTranspose2d(x, this.weight, this.bias, this.options);
  }
}

/**
 * Fully connected layer y = x W^T + b: weight [outFeatures, inFeatures], bias [outFeatures].
 * @example const fc = new nn.Linear(400, 120);
 * @example const head = new nn.Linear(512, 10, false);   // no bias, as nn.Linear(512, 10, bias=False)
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, ...args: WithOptions<[bias: boolean], { bias?: boolean }>);
  constructor(readonly inFeatures: number, readonly outFeatures: number, ...args: unknown[]) {
    super();
    const op = 'Linear';
    const o = merge<{ bias?: boolean }>(op, args, ['bias'], ['bias']);
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
 * A fully connected layer with DropConnect (Wan et al. 2013; the survey's regularization
 * section): in training, each forward drops every weight with probability `p` (default 0.5) and
 * scales the kept ones by 1 / (1 - p), F.linear(x, F.dropout(weight, p), bias), so that the
 * gradient reaches the kept weights alone; in evaluation, the plain layer (the mean network).
 * One mask per forward, shared by the batch (the paper draws one per example, which costs a
 * weight matrix per example); the bias is never dropped. Its weights load into an nn.Linear.
 * @example new nn.DropConnectLinear(4096, 4096, { p: 0.5 })
 */
export class DropConnectLinear extends Linear {
  readonly p: number;

  constructor(inFeatures: number, outFeatures: number, options: { p?: number; bias?: boolean } = {}) {
    const o = checkOptions<{ p?: number; bias?: boolean }>('DropConnectLinear', options, ['p', 'bias']);
    super(inFeatures, outFeatures, { bias: o.bias ?? true });
    const p = o.p ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) fail('E_ARG', `DropConnectLinear: expected \`p\` in [0, 1), got ${describe(p)}`);
    this.p = p;
  }

  override config(): unknown[] {
    return [this.inFeatures, this.outFeatures, { p: this.p, bias: this.bias !== null }];
  }

  override forward(x: Tensor): F32 {
    if (!this.training || this.p === 0) return F.linear(x, this.weight, this.bias);
    return F.linear(x, F.dropout(this.weight, this.p, true), this.bias);
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, p=${this.p}`;
  }
}

/**
 * Flattens axes startDim..endDim into one (default 1..-1: [N, C, H, W] -> [N, C*H*W]).
 * @example new nn.Flatten()      // new nn.Flatten(0, -1): everything into one axis
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(...args: WithOptions<[startDim: number, endDim: number], { startDim?: number; endDim?: number }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['startDim', 'endDim'] as const;
    const o = merge<{ startDim?: number; endDim?: number }>('Flatten', args, keys, keys);
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

/**
 * Splits axis `dim` into `unflattenedSize` (the inverse of Flatten; a view), as PyTorch's
 * `nn.Unflatten`. One size may be -1.
 * @example new nn.Unflatten(1, [16, 5, 5])   // [N, 400] -> [N, 16, 5, 5]
 */
export class Unflatten extends Module {
  readonly unflattenedSize: number[];

  constructor(readonly dim: number, unflattenedSize: readonly number[]) {
    super();
    const op = 'Unflatten';
    checkInt(op, 'dim', dim);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || unflattenedSize.length > MAX_RANK) {
      fail('E_ARG', `${op}: expected \`unflattenedSize\` to be a non-empty array of sizes, got ${describe(unflattenedSize)}`);
    }
    this.unflattenedSize = unflattenedSize.map((d, i) => checkInt(op, `unflattenedSize[${i}]`, d, -1));
    if (this.unflattenedSize.filter((d) => d === -1).length > 1) fail('E_ARG', `${op}: only one size may be -1, got ${str(this.unflattenedSize)}`);
  }

  override config(): unknown[] {
    return [this.dim, [...this.unflattenedSize]];
  }

  forward(x: Tensor): Tensor {
    const t = checkTensor('Unflatten', 'input', x);
    const d = checkAxis('Unflatten', 'dim', this.dim, t.rank);
    const known = this.unflattenedSize.reduce((n, s) => (s === -1 ? n : n * s), 1);
    const sizes = this.unflattenedSize.map((s) => (s === -1 && known > 0 ? t.shape[d] / known : s));
    if (!sizes.every((s) => Number.isInteger(s) && s >= 0) || sizes.reduce((n, s) => n * s, 1) !== t.shape[d]) {
      fail('E_SHAPE', `Unflatten: cannot split axis ${this.dim} of size ${t.shape[d]} (input ${shapeStr(t.shape)}) into ${str(this.unflattenedSize)}`);
    }
    return reshape(t, [...t.shape.slice(0, d), ...sizes, ...t.shape.slice(d + 1)]);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${str(this.unflattenedSize)}`;
  }
}

// ---- pooling --------------------------------------------------------------------------------

export interface MaxPool2dModuleOptions { stride?: Size2; padding?: Size2; dilation?: Size2; ceilMode?: boolean }

/** The options without the entries that are null (PyTorch's None: the default) or undefined. */
export function present<O extends object>(o: O): O {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as O;
}

/** @internal `returnIndices` of a pooling module: only false (the module returns one tensor; F's op returns both). */
export function noIndices(op: string, value: unknown, fn: string): void {
  if (value !== undefined && checkBool(op, 'returnIndices', value)) {
    fail('E_ARG', `${op}: \`returnIndices: true\` is not supported by the module (it returns one tensor); call ${fn}(x, ..., { returnIndices: true })`);
  }
}

/**
 * Max pooling. Positional arguments in PyTorch's order: stride (null: the kernel size), padding,
 * dilation, returnIndices (false only), ceilMode.
 * @example new nn.MaxPool2d(2)   // halves H and W
 * @example new nn.MaxPool2d(3, 2, 1)   // ResNet's stem
 */
export class MaxPool2d extends Module {
  readonly options: MaxPool2dModuleOptions;

  constructor(kernelSize: Size2,
    ...args: WithOptions<[stride: Size2 | null, padding: Size2, dilation: Size2, returnIndices: false, ceilMode: boolean], MaxPool2dModuleOptions & { returnIndices?: false }>);
  constructor(readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const op = 'MaxPool2d';
    const o = merge<MaxPool2dModuleOptions & { returnIndices?: boolean }>(op, args, ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'],
      ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
    noIndices(op, o.returnIndices, 'F.maxPool2d');
    delete o.returnIndices;
    this.options = present(o);
    pairOf(op, 'kernelSize', kernelSize, 1);
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

export interface MaxUnpool2dModuleOptions { stride?: Size2; padding?: Size2 }

/**
 * The inverse of max pooling, as torch.nn.MaxUnpool2d: puts each value back where the pooling's
 * indices say (`F.maxUnpool2d`). Positional arguments in PyTorch's order: stride (null: the
 * kernel size), padding. The indices come from `F.maxPool2d(x, k, { returnIndices: true })`.
 * @example const [y, idx] = F.maxPool2d(x, 2, { returnIndices: true });
 *          new nn.MaxUnpool2d(2).forward(y, idx)   // x's size, zeros but at the maxima
 */
export class MaxUnpool2d extends Module {
  readonly options: MaxUnpool2dModuleOptions;

  constructor(kernelSize: Size2, ...args: WithOptions<[stride: Size2 | null, padding: Size2], MaxUnpool2dModuleOptions>);
  constructor(readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const keys = ['stride', 'padding'] as const;
    this.options = present(merge<MaxUnpool2dModuleOptions>('MaxUnpool2d', args, keys, keys));
    pairOf('MaxUnpool2d', 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) pairOf('MaxUnpool2d', 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) pairOf('MaxUnpool2d', 'padding', this.options.padding, 0);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  /** `outputSize`: the output's [H, W] where the default is ambiguous (see `F.maxUnpool2d`). */
  forward(x: Tensor, indices: Tensor, outputSize?: readonly number[]): F32 {
    return F.maxUnpool2d(x, indices, this.kernelSize, { ...this.options, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
  }
}

export interface AvgPool2dModuleOptions { stride?: Size2; padding?: Size2; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number }

/**
 * Average pooling. Positional arguments in PyTorch's order: stride (null: the kernel size),
 * padding, ceilMode, countIncludePad, divisorOverride.
 * @example new nn.AvgPool2d(2)
 */
export class AvgPool2d extends Module {
  readonly options: AvgPool2dModuleOptions;

  constructor(kernelSize: Size2,
    ...args: WithOptions<[stride: Size2 | null, padding: Size2, ceilMode: boolean, countIncludePad: boolean, divisorOverride: number | null], AvgPool2dModuleOptions>);
  constructor(readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const keys = ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'] as const;
    this.options = present(merge<AvgPool2dModuleOptions>('AvgPool2d', args, keys, keys));
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

/** Power-average pooling (PyTorch's LPPool2d; positional: stride, ceilMode). @example new nn.LPPool2d(2, 3, { stride: 2 }) */
export class LPPool2d extends Module {
  readonly options: LPPool2dModuleOptions;

  constructor(normType: number, kernelSize: Size2, ...args: WithOptions<[stride: Size2 | null, ceilMode: boolean], LPPool2dModuleOptions>);
  constructor(readonly normType: number, readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const keys = ['stride', 'ceilMode'] as const;
    this.options = present(merge<LPPool2dModuleOptions>('LPPool2d', args, keys, keys));
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
    // Checked now, as every other layer checks its options: a bad mode used to be taken and
    // fail at the first forward.
    const { mode, lambda } = this.options;
    if (mode !== undefined && mode !== 'bernoulli' && mode !== 'uniform') fail('E_ARG', `MixedPool2d: expected \`mode\` 'bernoulli' or 'uniform', got ${describe(mode)}`);
    if (lambda !== undefined && (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1))) fail('E_ARG', `MixedPool2d: expected \`lambda\` in [0, 1], got ${describe(lambda)}`);
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

export interface StochasticPool2dModuleOptions { stride?: Size2; padding?: Size2; ceilMode?: boolean }

/**
 * Stochastic pooling (Zeiler and Fergus 2013): in training, each window outputs one of its
 * values, picked with probability proportional to it; in evaluation, the expectation of that
 * pick, sum a^2 / sum a (F.stochasticPool2d). Meant after a ReLU (negative values are never picked).
 * @example new nn.StochasticPool2d(3, { stride: 2 })
 */
export class StochasticPool2d extends Module {
  readonly options: StochasticPool2dModuleOptions;

  constructor(readonly kernelSize: Size2, opts: StochasticPool2dModuleOptions = {}) {
    super();
    this.options = { ...checkOptions<StochasticPool2dModuleOptions>('StochasticPool2d', opts, ['stride', 'padding', 'ceilMode']) };
    pairOf('StochasticPool2d', 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) pairOf('StochasticPool2d', 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) pairOf('StochasticPool2d', 'padding', this.options.padding, 0);
    if (this.options.ceilMode !== undefined && typeof this.options.ceilMode !== 'boolean') fail('E_ARG', `StochasticPool2d: expected \`ceilMode\` to be a boolean, got ${describe(this.options.ceilMode)}`);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.stochasticPool2d(x, this.kernelSize, { ...this.options, training: this.training });
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
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
 * Adaptive max pooling to a fixed size (1: global max pooling). PyTorch's `returnIndices` may be
 * false only: for the indices call `F.adaptiveMaxPool2d(x, size, { returnIndices: true })`.
 * @example new nn.AdaptiveMaxPool2d(1)
 */
export class AdaptiveMaxPool2d extends Module {
  constructor(outputSize: number | readonly [number | null, number | null], ...args: WithOptions<[returnIndices: false], { returnIndices?: false }>);
  constructor(readonly outputSize: number | readonly [number | null, number | null], ...args: unknown[]) {
    super();
    const op = 'AdaptiveMaxPool2d';
    noIndices(op, merge<{ returnIndices?: boolean }>(op, args, ['returnIndices'], ['returnIndices']).returnIndices, 'F.adaptiveMaxPool2d');
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.adaptiveMaxPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${Array.isArray(this.outputSize) ? `[${this.outputSize.join(', ')}]` : this.outputSize}`;
  }
}

/**
 * Spatial pyramid pooling (SPP-net, `F.spatialPyramidPool2d`): [N, C, H, W] of any size to
 * [N, C · Σ n²], the levels' n x n bins (max, or with `mode: 'avg'` average) flattened and joined,
 * so that the Linear after it takes images of every size.
 * @example new nn.Sequential(features, new nn.SpatialPyramidPool2d([1, 2, 4]), new nn.Linear(256 * 21, 10))
 */
export class SpatialPyramidPool2d extends Module {
  readonly levels: readonly number[];
  readonly mode: 'max' | 'avg';

  constructor(levels: readonly number[], options: F.SpatialPyramidPool2dOptions = {}) {
    super();
    const op = 'SpatialPyramidPool2d';
    this.levels = checkLevels(op, levels);
    const o = checkOptions<F.SpatialPyramidPool2dOptions>(op, options, ['mode']);
    this.mode = o.mode ?? 'max';
    if (this.mode !== 'max' && this.mode !== 'avg') fail('E_ARG', `${op}: expected \`mode\` 'max' or 'avg', got ${describe(this.mode)}`);
  }

  override config(): unknown[] {
    return [[...this.levels], { mode: this.mode }];
  }

  forward(x: Tensor): F32 {
    return F.spatialPyramidPool2d(x, this.levels, { mode: this.mode });
  }

  override extraRepr(): string {
    return `levels=[${this.levels.join(', ')}], mode=${this.mode}`;
  }
}

/**
 * Spectral pooling (Rippel et al. 2015) to a fixed size: the lowest frequencies of each map's
 * Fourier transform kept, see `F.spectralPool2d`. @example new nn.SpectralPool2d([7, 7])
 */
export class SpectralPool2d extends Module {
  readonly outputSize: number | readonly [number, number];

  constructor(outputSize: number | readonly [number, number]) {
    super();
    const ok = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
    if (!(ok(outputSize) || (Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every(ok)))) {
      fail('E_ARG', `SpectralPool2d: expected \`outputSize\` to be a positive integer or a pair of them, got ${describe(outputSize)}`);
    }
    this.outputSize = Array.isArray(outputSize) ? [outputSize[0], outputSize[1]] : outputSize;
  }

  override config(): unknown[] {
    return [this.outputSize];
  }

  forward(x: Tensor): F32 {
    return F.spectralPool2d(x, this.outputSize);
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

/**
 * Region-of-interest align (Mask R-CNN), torchvision.ops.RoIAlign: call it with the feature map
 * and the boxes [K, 5] (batch index, x1, y1, x2, y2). samplingRatio <= 0 (default -1): adaptive;
 * above F.MAX_SAMPLING_RATIO (1024) it is an E_ARG error (see F.roiAlign).
 * @example const align = new nn.RoIAlign(7, 1 / 16, 2, true); const regions = align.call(features, boxes);
 */
export class RoIAlign extends Module {
  constructor(readonly outputSize: Size2, readonly spatialScale = 1, readonly samplingRatio = -1, readonly aligned = false) {
    super();
    pairOf('RoIAlign', 'outputSize', outputSize, 1);
    checkNumber('RoIAlign', 'spatialScale', spatialScale);
    if (spatialScale <= 0) fail('E_ARG', `RoIAlign: expected \`spatialScale\` > 0, got ${spatialScale}`);
    checkSamplingRatio('RoIAlign', samplingRatio);
    checkBool('RoIAlign', 'aligned', aligned);
  }

  override config(): unknown[] {
    return [this.outputSize, this.spatialScale, this.samplingRatio, this.aligned];
  }

  forward(x: Tensor, boxes: Tensor): F32 {
    return F.roiAlign(x, boxes, this.outputSize, { spatialScale: this.spatialScale, samplingRatio: this.samplingRatio, aligned: this.aligned });
  }

  override extraRepr(): string {
    return `output_size=${this.outputSize}, spatial_scale=${this.spatialScale}, sampling_ratio=${this.samplingRatio}, aligned=${this.aligned}`;
  }
}

// ---- activations ----------------------------------------------------------------------------

/**
 * The input itself, unchanged: a placeholder where a layer is optional (PyTorch's
 * `nn.Identity`, which ignores its constructor's arguments, as this does).
 * @example const shortcut = inChannels === outChannels ? new nn.Identity() : new nn.Conv2d(inChannels, outChannels, 1);
 */
export class Identity extends Module {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  constructor(..._args: unknown[]) {
    super();
  }

  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    return checkTensor('Identity', 'input', x);
  }
}

/**
 * Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] inputs by `F.interpolate` (any of its
 * modes), as torch.nn.Upsample: an FCN's upsampling without weights.
 * @example new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' })
 */
export class Upsample extends Module {
  constructor(readonly options: F.InterpolateOptions) {
    super();
    checkInterpolateOptions('Upsample', options);   // the options' errors now, not at the first call
  }

  override config(): unknown[] {
    return [this.options];
  }

  forward(x: Tensor): F32 {
    return F.interpolate(x, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return [o.size !== undefined ? `size=${JSON.stringify(o.size)}` : `scaleFactor=${JSON.stringify(o.scaleFactor)}`,
      `mode='${o.mode ?? 'nearest'}'`, ...(['alignCorners', 'recomputeScaleFactor', 'antialias'] as const).filter((k) => o[k] !== undefined).map((k) => `${k}=${o[k]}`)].join(', ');
  }
}

/** `size` or `scaleFactor`: what UpsamplingBilinear2d and UpsamplingNearest2d take. */
export type UpsamplingOptions = Pick<F.InterpolateOptions, 'size' | 'scaleFactor'>;

/**
 * Bilinear upsampling with the corners aligned, as torch.nn.UpsamplingBilinear2d (PyTorch's older
 * name for `Upsample({ mode: 'bilinear', alignCorners: true })`, which FCN code still uses).
 * @example new nn.UpsamplingBilinear2d({ scaleFactor: 2 })
 */
export class UpsamplingBilinear2d extends Upsample {
  constructor(options: UpsamplingOptions) {
    checkOptions('UpsamplingBilinear2d', options, ['size', 'scaleFactor']);
    super({ ...options, mode: 'bilinear', alignCorners: true });
  }

  override config(): unknown[] {
    const { size, scaleFactor } = this.options;
    return [size !== undefined ? { size } : { scaleFactor }];
  }
}

/** Nearest upsampling, as torch.nn.UpsamplingNearest2d (`Upsample({ mode: 'nearest' })`). @example new nn.UpsamplingNearest2d({ size: [32, 32] }) */
export class UpsamplingNearest2d extends Upsample {
  constructor(options: UpsamplingOptions) {
    checkOptions('UpsamplingNearest2d', options, ['size', 'scaleFactor']);
    super({ ...options, mode: 'nearest' });
  }

  override config(): unknown[] {
    const { size, scaleFactor } = this.options;
    return [size !== undefined ? { size } : { scaleFactor }];
  }
}

/** Sub-pixel upsampling, as torch.nn.PixelShuffle (`F.pixelShuffle`). @example new nn.PixelShuffle(2) */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
    checkInt('PixelShuffle', 'upscaleFactor', upscaleFactor, 1);
  }

  override config(): unknown[] {
    return [this.upscaleFactor];
  }

  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    return F.pixelShuffle(x, this.upscaleFactor);
  }

  override extraRepr(): string {
    return `upscale_factor=${this.upscaleFactor}`;
  }
}

/** The inverse of PixelShuffle, as torch.nn.PixelUnshuffle (`F.pixelUnshuffle`). @example new nn.PixelUnshuffle(2) */
export class PixelUnshuffle extends Module {
  constructor(readonly downscaleFactor: number) {
    super();
    checkInt('PixelUnshuffle', 'downscaleFactor', downscaleFactor, 1);
  }

  override config(): unknown[] {
    return [this.downscaleFactor];
  }

  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    return F.pixelUnshuffle(x, this.downscaleFactor);
  }

  override extraRepr(): string {
    return `downscale_factor=${this.downscaleFactor}`;
  }
}

export interface UnfoldModuleOptions { dilation?: Size2; padding?: Size2; stride?: Size2 }

/**
 * The sliding blocks of an image as columns, as torch.nn.Unfold (`F.unfold`): [N, C, H, W] ->
 * [N, C * kh * kw, L]. Positional arguments in PyTorch's order: dilation, padding, stride.
 * @example new nn.Unfold(3, { padding: 1 })   // [2, 4, 5, 5] -> [2, 36, 25]
 */
export class Unfold extends Module {
  readonly options: UnfoldModuleOptions;

  constructor(kernelSize: Size2, ...args: WithOptions<[dilation: Size2, padding: Size2, stride: Size2], UnfoldModuleOptions>);
  constructor(readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const op = 'Unfold';
    this.options = present(merge<UnfoldModuleOptions>(op, args, ['dilation', 'padding', 'stride'], ['dilation', 'padding', 'stride']));
    pairOf(op, 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.unfold(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${this.kernelSize}, dilation=${o.dilation ?? 1}, padding=${o.padding ?? 0}, stride=${o.stride ?? 1}`;
  }
}

/**
 * Columns summed back into an image, as torch.nn.Fold (`F.fold`): [N, C * kh * kw, L] ->
 * [N, C, H, W] for outputSize [H, W]. Positional arguments in PyTorch's order: dilation,
 * padding, stride.
 * @example new nn.Fold([5, 5], 3, { padding: 1 })   // [2, 36, 25] -> [2, 4, 5, 5]
 */
export class Fold extends Module {
  readonly options: UnfoldModuleOptions;

  constructor(outputSize: Size2, kernelSize: Size2, ...args: WithOptions<[dilation: Size2, padding: Size2, stride: Size2], UnfoldModuleOptions>);
  constructor(readonly outputSize: Size2, readonly kernelSize: Size2, ...args: unknown[]) {
    super();
    const op = 'Fold';
    this.options = present(merge<UnfoldModuleOptions>(op, args, ['dilation', 'padding', 'stride'], ['dilation', 'padding', 'stride']));
    pairOf(op, 'outputSize', outputSize, 1);
    pairOf(op, 'kernelSize', kernelSize, 1);
  }

  override config(): unknown[] {
    return [this.outputSize, this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.fold(x, this.outputSize, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `output_size=${this.outputSize}, kernel_size=${this.kernelSize}, dilation=${o.dilation ?? 1}, padding=${o.padding ?? 0}, stride=${o.stride ?? 1}`;
  }
}

/**
 * Pads the last two dimensions, as torch.nn.ZeroPad2d / ReflectionPad2d / ReplicationPad2d /
 * ConstantPad2d in one class: `padding` one number for all four sides or [left, right, top,
 * bottom], `mode` as `F.pad`.
 * @example new nn.Pad2d(1, { mode: 'reflect' })
 */
export class Pad2d extends Module {
  readonly padding: readonly [number, number, number, number];
  readonly mode: F.PadMode;
  readonly value: number;

  constructor(padding: number | readonly [number, number, number, number], opts: { mode?: F.PadMode; value?: number } = {}) {
    super();
    const o = checkOptions<{ mode?: F.PadMode; value?: number }>('Pad2d', opts, ['mode', 'value']);
    const p = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
    if (!Array.isArray(p) || p.length !== 4 || p.some((v) => !Number.isInteger(v))) {
      fail('E_ARG', `Pad2d: expected \`padding\` an integer or [left, right, top, bottom], got ${describe(padding)}`);
    }
    this.padding = [p[0], p[1], p[2], p[3]];
    this.mode = o.mode ?? 'constant';
    this.value = o.value ?? 0;
    checkPadOptions('Pad2d', this.padding, this.mode, this.value);
  }

  override config(): unknown[] {
    return [this.padding, { mode: this.mode, value: this.value }];
  }

  forward(x: Tensor): Tensor {
    return F.pad(checkTensor('Pad2d', 'input', x), this.padding, this.mode, this.value);
  }

  override extraRepr(): string {
    return `padding=${JSON.stringify(this.padding)}, mode='${this.mode}'${this.value !== 0 ? `, value=${this.value}` : ''}`;
  }
}

/** The activations whose only argument is PyTorch's `inplace` flag (accepted and ignored). */
abstract class PointwiseActivation extends Module {
  constructor(args: readonly unknown[]) {
    super();
    inplaceFlag(this.typeName, merge<{ inplace?: boolean }>(this.typeName, args, ['inplace'], ['inplace']).inplace);
  }

  override config(): unknown[] {
    return [];
  }
}

/** GELU x · Φ(x), exact (erf) or `approximate: 'tanh'`. @example new nn.GELU(); new nn.GELU({ approximate: 'tanh' }) */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(...args: WithOptions<[approximate: 'none' | 'tanh'], { approximate?: 'none' | 'tanh' }>);
  constructor(...args: unknown[]) {
    super();
    const o = merge<{ approximate?: 'none' | 'tanh' }>('GELU', args, ['approximate'], ['approximate']);
    this.approximate = o.approximate ?? 'none';
    if (this.approximate !== 'none' && this.approximate !== 'tanh') {
      fail('E_ARG', `GELU: expected \`approximate\` 'none' or 'tanh', got ${describe(this.approximate)}`);
    }
  }

  override config(): unknown[] {
    return this.approximate === 'none' ? [] : [{ approximate: this.approximate }];
  }

  forward(x: Tensor): F32 {
    return F.gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return this.approximate === 'none' ? '' : `approximate='${this.approximate}'`;
  }
}

/** SiLU (swish) x · sigmoid(x). @example new nn.SiLU() */
export class SiLU extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.silu(x);
  }
}

/** ReLU6 min(max(x, 0), 6). @example new nn.ReLU6() */
export class ReLU6 extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.relu6(x);
  }
}

/** Hard sigmoid min(max(x / 6 + 1/2, 0), 1). @example new nn.Hardsigmoid() */
export class Hardsigmoid extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.hardsigmoid(x);
  }
}

/** Hard swish x · hardsigmoid(x). @example new nn.Hardswish() */
export class Hardswish extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.hardswish(x);
  }
}

/** Mish x · tanh(softplus(x)). @example new nn.Mish() */
export class Mish extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.mish(x);
  }
}

/** Hardtanh: x clamped to [minVal, maxVal] (default [-1, 1]). @example new nn.Hardtanh(-2, 2) */
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;

  constructor(...args: WithOptions<[minVal: number, maxVal: number, inplace: boolean], { minVal?: number; maxVal?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'Hardtanh';
    const keys = ['minVal', 'maxVal', 'inplace'] as const;
    const o = merge<{ minVal?: number; maxVal?: number; inplace?: boolean }>(op, args, keys, keys);
    inplaceFlag(op, o.inplace);
    this.minVal = checkNumber(op, 'minVal', o.minVal ?? -1);
    this.maxVal = checkNumber(op, 'maxVal', o.maxVal ?? 1);
    if (this.minVal > this.maxVal) fail('E_ARG', `${op}: expected \`minVal\` <= \`maxVal\`, got ${this.minVal} > ${this.maxVal}`);
  }

  override config(): unknown[] {
    return [{ minVal: this.minVal, maxVal: this.maxVal }];
  }

  forward(x: Tensor): F32 {
    return F.hardtanh(x, this.minVal, this.maxVal);
  }

  override extraRepr(): string {
    return `min_val=${this.minVal}, max_val=${this.maxVal}`;
  }
}

/** Softplus log(1 + exp(beta · x)) / beta (default beta 1, threshold 20). @example new nn.Softplus(2) */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;

  constructor(...args: WithOptions<[beta: number, threshold: number], { beta?: number; threshold?: number }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'Softplus';
    const keys = ['beta', 'threshold'] as const;
    const o = merge<{ beta?: number; threshold?: number }>(op, args, keys, keys);
    this.beta = checkNumber(op, 'beta', o.beta ?? 1);
    if (this.beta === 0) fail('E_ARG', `${op}: expected a non-zero \`beta\`, got 0`);
    this.threshold = checkNumber(op, 'threshold', o.threshold ?? 20);
  }

  override config(): unknown[] {
    return [{ beta: this.beta, threshold: this.threshold }];
  }

  forward(x: Tensor): F32 {
    return F.softplus(x, this.beta, this.threshold);
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** ReLU. @example new nn.ReLU()   // new nn.ReLU(true): PyTorch's inplace flag, accepted and ignored */
export class ReLU extends Module {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    inplaceFlag('ReLU', merge<{ inplace?: boolean }>('ReLU', args, ['inplace'], ['inplace']).inplace);
  }

  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.relu(x);
  }
}

/**
 * Randomized leaky ReLU (`F.rrelu`): in training each negative element's slope is drawn
 * uniformly from [lower, upper] (default [1/8, 1/3]), in evaluation it is their mean. PyTorch's
 * `inplace` flag is accepted and ignored.
 * @example new nn.RReLU()   // or new nn.RReLU(0.1, 0.3)
 */
export class RReLU extends Module {
  readonly lower: number;
  readonly upper: number;

  constructor(...args: WithOptions<[lower: number, upper: number, inplace: boolean], { lower?: number; upper?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'RReLU';
    const keys = ['lower', 'upper', 'inplace'] as const;
    const o = merge<{ lower?: number; upper?: number; inplace?: boolean }>(op, args, keys, keys);
    inplaceFlag(op, o.inplace);
    this.lower = checkNumber(op, 'lower', o.lower ?? 1 / 8);
    this.upper = checkNumber(op, 'upper', o.upper ?? 1 / 3);
    if (!(this.lower <= this.upper)) fail('E_ARG', `${op}: expected \`lower\` <= \`upper\`, got ${this.lower} > ${this.upper}`);
  }

  override config(): unknown[] {
    return [{ lower: this.lower, upper: this.upper }];
  }

  forward(x: Tensor): F32 {
    return F.rrelu(x, this.lower, this.upper, this.training);
  }

  override extraRepr(): string {
    return `lower=${this.lower}, upper=${this.upper}`;
  }
}

/**
 * Leaky ReLU (default slope 0.01). PyTorch's `inplace` flag is accepted and ignored.
 * @example new nn.LeakyReLU(0.2)   // or new nn.LeakyReLU({ negativeSlope: 0.2 })
 */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(...args: WithOptions<[negativeSlope: number, inplace: boolean], { negativeSlope?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['negativeSlope', 'inplace'] as const;
    const o = merge<{ negativeSlope?: number; inplace?: boolean }>('LeakyReLU', args, keys, keys);
    inplaceFlag('LeakyReLU', o.inplace);
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
 * @example new nn.PReLU({ numParameters: 64 })   // or new nn.PReLU(64, 0.1)
 */
export class PReLU extends Module {
  readonly weight: Parameter;
  readonly numParameters: number;

  constructor(...args: WithOptions<[numParameters: number, init: number], { numParameters?: number; init?: number }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['numParameters', 'init'] as const;
    const o = merge<{ numParameters?: number; init?: number }>('PReLU', args, keys, keys);
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

/** ELU (default alpha 1; PyTorch's `inplace` accepted and ignored). @example new nn.ELU(0.5)   // or new nn.ELU({ alpha: 0.5 }) */
export class ELU extends Module {
  readonly alpha: number;

  constructor(...args: WithOptions<[alpha: number, inplace: boolean], { alpha?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['alpha', 'inplace'] as const;
    const o = merge<{ alpha?: number; inplace?: boolean }>('ELU', args, keys, keys);
    inplaceFlag('ELU', o.inplace);
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

/**
 * Probout (Springenberg and Riedmiller 2013): maxout with a draw in training (softmax(λ z)
 * probabilities) and the expectation in evaluation, following the module's train/eval mode; see
 * `F.probout`. @example new nn.Probout(2, { lambda: 2 })
 */
/**
 * A bias-free fully connected layer with L-Softmax logits (Liu et al. 2016; see
 * `F.largeMarginLogits`): called with the true classes it gives the large-margin logits for
 * `nn.CrossEntropyLoss`, without them the plain ones (prediction). `beta` (the paper's annealing
 * weight) may be lowered as training goes.
 * @example const head = new nn.LargeMarginLinear(128, 10, { margin: 4, beta: 100 }); loss = ce.call(head.call(f, labels), labels);
 */
export class LargeMarginLinear extends Module {
  readonly weight: Parameter;
  readonly margin: number;
  #beta: number;

  constructor(readonly inFeatures: number, readonly numClasses: number, options: { margin?: number; beta?: number } = {}) {
    super();
    const op = 'LargeMarginLinear';
    checkInt(op, 'inFeatures', inFeatures, 1);
    checkInt(op, 'numClasses', numClasses, 1);
    const o = checkOptions<{ margin?: number; beta?: number }>(op, options, ['margin', 'beta']);
    this.margin = checkInt(op, 'margin', o.margin ?? 2, 1, 64);
    this.#beta = 0;
    this.beta = o.beta ?? 0;
    this.weight = this.registerParameter('weight', param([numClasses, inFeatures]));
    resetAffine(this.weight, null);
  }

  /** The annealing weight β >= 0 of the plain logit (0: pure L-Softmax). */
  get beta(): number {
    return this.#beta;
  }

  set beta(value: number) {
    const b = checkNumber('LargeMarginLinear', 'beta', value);
    if (!(b >= 0)) fail('E_ARG', `LargeMarginLinear: expected \`beta\` >= 0, got ${b}`);
    this.#beta = b;
  }

  override config(): unknown[] {
    return [this.inFeatures, this.numClasses, { margin: this.margin, beta: this.beta }];
  }

  forward(x: Tensor, target?: Tensor): F32 {
    if (target === undefined || target === null) return F.linear(x, this.weight);
    return F.largeMarginLogits(x, this.weight, target, { margin: this.margin, beta: this.beta });
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, num_classes=${this.numClasses}, margin=${this.margin}, beta=${this.beta}`;
  }
}

export class Probout extends Module {
  readonly lambda: number;
  readonly dropout: boolean;

  constructor(readonly pieces: number, options: { lambda?: number; dropout?: boolean } = {}) {
    super();
    const op = 'Probout';
    checkInt(op, 'pieces', pieces, 1);
    const o = checkOptions<{ lambda?: number; dropout?: boolean }>(op, options, ['lambda', 'dropout']);
    this.lambda = o.lambda === undefined ? 1 : checkNumber(op, 'lambda', o.lambda);
    if (!(this.lambda > 0)) fail('E_ARG', `${op}: expected \`lambda\` > 0, got ${this.lambda}`);
    this.dropout = o.dropout === undefined ? false : checkBool(op, 'dropout', o.dropout);
  }

  override config(): unknown[] {
    return [this.pieces, { lambda: this.lambda, dropout: this.dropout }];
  }

  forward(x: Tensor): F32 {
    return F.probout(x, this.pieces, { lambda: this.lambda, dropout: this.dropout, training: this.training });
  }

  override extraRepr(): string {
    return `pieces=${this.pieces}, lambda=${this.lambda}${this.dropout ? ', dropout=true' : ''}`;
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

/**
 * Inverted dropout, active only in training mode (default p 0.5; PyTorch's `inplace` accepted
 * and ignored). @example new nn.Dropout(0.3)   // or new nn.Dropout({ p: 0.3 })
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['p', 'inplace'] as const;
    const o = merge<{ p?: number; inplace?: boolean }>('Dropout', args, keys, keys);
    inplaceFlag('Dropout', o.inplace);
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

/**
 * Channel dropout: whole channel planes of [N, C, H, W] (or [C, H, W]) zeroed with probability
 * p (default 0.5) in training mode (PyTorch's `inplace` accepted and ignored).
 * @example new nn.Dropout2d(0.2)
 */
export class Dropout2d extends Module {
  readonly p: number;

  constructor(...args: WithOptions<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const keys = ['p', 'inplace'] as const;
    const o = merge<{ p?: number; inplace?: boolean }>('Dropout2d', args, keys, keys);
    inplaceFlag('Dropout2d', o.inplace);
    this.p = checkNumber('Dropout2d', 'p', o.p ?? 0.5);
    if (this.p < 0 || this.p > 1) fail('E_ARG', `Dropout2d: expected \`p\` in [0, 1], got ${this.p}`);
  }

  override config(): unknown[] {
    return [{ p: this.p }];
  }

  forward(x: Tensor): F32 {
    return F.dropout2d(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Local response normalisation across channels (positional: alpha, beta, k).
 * @example new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 })   // or new nn.LocalResponseNorm(5, 1e-4, 0.75, 2)
 */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(size: number, ...args: WithOptions<[alpha: number, beta: number, k: number], { alpha?: number; beta?: number; k?: number }>);
  constructor(readonly size: number, ...args: unknown[]) {
    super();
    const op = 'LocalResponseNorm';
    const keys = ['alpha', 'beta', 'k'] as const;
    const o = merge<{ alpha?: number; beta?: number; k?: number }>(op, args, keys, keys);
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

/** The shared body of BatchNorm1d and BatchNorm2d; each subclass says which inputs it takes. */
abstract class BatchNormBase extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** Mirrors the `num_batches_tracked` buffer (read back after loadStateDict). */
  #batches = 0;

  constructor(readonly numFeatures: number, args: readonly unknown[]) {
    super();
    const op = this.typeName;
    const keys = ['eps', 'momentum', 'affine', 'trackRunningStats'] as const;
    const o = merge<BatchNorm2dOptions>(op, args, keys, keys);
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

  /** The input checked against what this module takes (rank and channels). */
  protected abstract checkInput(x: unknown): F32;

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
    const op = this.typeName;
    const t = this.checkInput(x);
    if (t.shape[1] !== this.numFeatures) fail('E_SHAPE', `${op}: expected ${this.numFeatures} channels, got input of shape ${shapeStr(t.shape)}`);
    const rm = this.runningMean, rv = this.runningVar;
    // As PyTorch: batch statistics in training, or always when no running statistics are kept.
    const useBatch = this.training || rm === null;
    const tracking = this.training && rm !== null;
    const momentum = !tracking ? 0 : this.momentum === null ? 1 / (this.#batches + 1) : this.momentum;
    const y = F.batchNorm(t, rm, rv, this.weight, this.bias, { training: useBatch, momentum, eps: this.eps });
    // Counted only once the op was accepted (a rejected input leaves the statistics as they were).
    if (tracking) {
      this.#batches++;
      const counter = this.buffer('num_batches_tracked')!;
      const count = full([], this.#batches, { dtype: 'int32', device: counter.device });  // copyInto takes one device
      native.copyInto(counter.handle(op), count.handle(op));
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

/**
 * Batch normalisation over [N, C, H, W]: parameters `weight` and `bias` [C]; buffers
 * `running_mean`, `running_var` [C] and `num_batches_tracked` (int32 []), PyTorch's keys. In
 * training it normalises with the batch's statistics and updates the running ones in place; in
 * evaluation it uses the running ones. Positional arguments after numFeatures in PyTorch's
 * order: eps, momentum, affine, trackRunningStats.
 * @example const bn = new nn.BatchNorm2d(64);
 */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], BatchNorm2dOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }

  protected checkInput(x: unknown): F32 {
    return input('BatchNorm2d', x, 4, '[N, C, H, W]');
  }
}

/**
 * Batch normalisation over [N, C] or [N, C, L] (features, or channels of a sequence), per
 * channel: the same options, parameters, buffers and state-dict keys as BatchNorm2d.
 * @example const bn = new nn.BatchNorm1d(128);   // after nn.Linear(256, 128)
 */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], BatchNorm2dOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }

  protected checkInput(x: unknown): F32 {
    const t = input('BatchNorm1d', x);
    if (t.rank !== 2 && t.rank !== 3) fail('E_SHAPE', `BatchNorm1d: expected input of shape [N, C] or [N, C, L], got ${shapeStr(t.shape)}`);
    return t;
  }
}

/**
 * Batch normalisation over [N, C, D, H, W] (volumes and clips), per channel: the same options,
 * parameters, buffers and state-dict keys as BatchNorm2d.
 * @example const bn = new nn.BatchNorm3d(64);   // after nn.Conv3d(3, 64, 3)
 */
export class BatchNorm3d extends BatchNormBase {
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], BatchNorm2dOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }

  protected checkInput(x: unknown): F32 {
    return input('BatchNorm3d', x, 5, '[N, C, D, H, W]');
  }
}

/** A module's learnable scale (ones) and shift (zeros) of a shape, as parameters. */
function affineParams(shape: readonly number[]): [Parameter, Parameter] {
  const make = (t: Tensor) => {
    const p = new Parameter(t);
    t.dispose();
    return p;
  };
  return [make(ones(shape)), make(zeros(shape))];
}

export interface LayerNormModuleOptions {
  eps?: number;
  /** Learn a weight (1) and bias (0) of the normalized shape. Default true. */
  elementwiseAffine?: boolean;
}

/**
 * Layer normalisation over the last dimensions (`normalizedShape`), per sample, as
 * torch.nn.LayerNorm; parameters `weight` and `bias` of that shape.
 * @example const ln = new nn.LayerNorm([64, 7, 7]);   // or nn.LayerNorm(512) after a Linear
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], ...args: WithOptions<[eps: number, elementwiseAffine: boolean], LayerNormModuleOptions>);
  constructor(normalizedShape: number | readonly number[], ...args: unknown[]) {
    super();
    const op = 'LayerNorm';
    const keys = ['eps', 'elementwiseAffine'] as const;
    const o = merge<LayerNormModuleOptions>(op, args, keys, keys);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_RANK) fail('E_ARG', `${op}: expected \`normalizedShape\` to be a size or a non-empty array of at most ${MAX_RANK} sizes, got ${describe(normalizedShape)}`);
    this.normalizedShape = shape.map((d, i) => checkInt(op, `normalizedShape[${i}]`, d, 1));
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-5);
    this.elementwiseAffine = checkBool(op, 'elementwiseAffine', o.elementwiseAffine ?? true);
    const [w, b] = this.elementwiseAffine ? affineParams(this.normalizedShape) : [null, null];
    this.weight = this.registerParameter('weight', w);
    this.bias = this.registerParameter('bias', b);
  }

  override config(): unknown[] {
    return [this.normalizedShape, { eps: this.eps, elementwiseAffine: this.elementwiseAffine }];
  }

  forward(x: Tensor): F32 {
    return F.layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

export interface GroupNormModuleOptions {
  eps?: number;
  /** Learn a per-channel weight (1) and bias (0). Default true. */
  affine?: boolean;
}

/**
 * Group normalisation, as torch.nn.GroupNorm: the channels of x [N, C, ...] in `numGroups`
 * groups, each normalised per sample (batch-size independent; GroupNorm(1, C) normalises each
 * sample as a whole, GroupNorm(C, C) each channel).
 * @example const gn = new nn.GroupNorm(8, 64);
 */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, ...args: WithOptions<[eps: number, affine: boolean], GroupNormModuleOptions>);
  constructor(readonly numGroups: number, readonly numChannels: number, ...args: unknown[]) {
    super();
    const op = 'GroupNorm';
    const keys = ['eps', 'affine'] as const;
    const o = merge<GroupNormModuleOptions>(op, args, keys, keys);
    checkInt(op, 'numGroups', numGroups, 1);
    checkInt(op, 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) fail('E_ARG', `${op}: expected numChannels (${numChannels}) to be divisible by numGroups (${numGroups})`);
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-5);
    this.affine = checkBool(op, 'affine', o.affine ?? true);
    const [w, b] = this.affine ? affineParams([numChannels]) : [null, null];
    this.weight = this.registerParameter('weight', w);
    this.bias = this.registerParameter('bias', b);
  }

  override config(): unknown[] {
    return [this.numGroups, this.numChannels, { eps: this.eps, affine: this.affine }];
  }

  forward(x: Tensor): F32 {
    const t = input('GroupNorm', x);
    if (t.rank < 2 || t.shape[1] !== this.numChannels) fail('E_SHAPE', `GroupNorm: expected input of shape [N, ${this.numChannels}, ...], got ${shapeStr(t.shape)}`);
    return F.groupNorm(t, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}

export interface InstanceNormModuleOptions {
  eps?: number;
  /** Weight of the new statistics in the running ones (default 0.1); null: never updated, as PyTorch. */
  momentum?: number | null;
  /** Learn a per-channel weight (1) and bias (0). Default false, as PyTorch. */
  affine?: boolean;
  /** Keep running statistics (buffers running_mean, running_var) and use them in evaluation. Default false, as PyTorch. */
  trackRunningStats?: boolean;
}

/** The shared body of InstanceNorm1d and InstanceNorm2d. */
abstract class InstanceNormBase extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(readonly numFeatures: number, args: readonly unknown[]) {
    super();
    const op = this.typeName;
    const keys = ['eps', 'momentum', 'affine', 'trackRunningStats'] as const;
    const o = merge<InstanceNormModuleOptions>(op, args, keys, keys);
    checkInt(op, 'numFeatures', numFeatures, 1);
    this.eps = checkNumber(op, 'eps', o.eps ?? 1e-5);
    this.momentum = o.momentum === null ? null : checkNumber(op, 'momentum', o.momentum ?? 0.1);
    if (this.momentum !== null && (this.momentum < 0 || this.momentum > 1)) fail('E_ARG', `${op}: expected \`momentum\` in [0, 1] or null, got ${this.momentum}`);
    this.affine = checkBool(op, 'affine', o.affine ?? false);
    this.trackRunningStats = checkBool(op, 'trackRunningStats', o.trackRunningStats ?? false);
    const [w, b] = this.affine ? affineParams([numFeatures]) : [null, null];
    this.weight = this.registerParameter('weight', w);
    this.bias = this.registerParameter('bias', b);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      // PyTorch's key; its InstanceNorm never counts (the buffer stays 0), and neither does this.
      this.registerBuffer('num_batches_tracked', zeros([], 'int32'));
    }
  }

  /** The input's rank (3 for InstanceNorm1d, 4 for InstanceNorm2d, 5 for InstanceNorm3d). */
  protected abstract readonly rank: number;

  /** The running mean buffer (null without trackRunningStats). */
  get runningMean(): F32 | null {
    return this.buffer('running_mean') as F32 | null;
  }

  /** The running variance buffer (null without trackRunningStats). */
  get runningVar(): F32 | null {
    return this.buffer('running_var') as F32 | null;
  }

  override config(): unknown[] {
    return [this.numFeatures, { eps: this.eps, momentum: this.momentum, affine: this.affine, trackRunningStats: this.trackRunningStats }];
  }

  forward(x: Tensor): F32 {
    const op = this.typeName;
    const t = input(op, x);
    if (t.rank !== this.rank || t.shape[1] !== this.numFeatures) {
      fail('E_SHAPE', `${op}: expected input of shape [N, ${this.numFeatures}${[', L', ', H, W', ', D, H, W'][this.rank - 3]}], got ${shapeStr(t.shape)}`);
    }
    // As PyTorch: each instance's own statistics in training or without running ones; a null momentum updates nothing.
    return F.instanceNorm(t, {
      weight: this.weight, bias: this.bias, eps: this.eps, runningMean: this.runningMean, runningVar: this.runningVar,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum ?? 0,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, track_running_stats=${this.trackRunningStats}`;
  }
}

/**
 * Instance normalisation of x [N, C, H, W], as torch.nn.InstanceNorm2d: each channel of each
 * image normalised over its positions. Positional arguments in PyTorch's order: eps, momentum,
 * affine, trackRunningStats (with it, running statistics are kept in training and used in
 * evaluation, as PyTorch's).
 * @example const inorm = new nn.InstanceNorm2d(64, { affine: true });
 */
export class InstanceNorm2d extends InstanceNormBase {
  protected readonly rank = 4;
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], InstanceNormModuleOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }
}

/**
 * Instance normalisation of x [N, C, L], as torch.nn.InstanceNorm1d (the arguments as
 * InstanceNorm2d's). @example const inorm = new nn.InstanceNorm1d(32);
 */
export class InstanceNorm1d extends InstanceNormBase {
  protected readonly rank = 3;
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], InstanceNormModuleOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }
}

/**
 * Instance normalisation of x [N, C, D, H, W], as torch.nn.InstanceNorm3d (the arguments as
 * InstanceNorm2d's). @example const inorm = new nn.InstanceNorm3d(32, { affine: true });
 */
export class InstanceNorm3d extends InstanceNormBase {
  protected readonly rank = 5;
  constructor(numFeatures: number, ...args: WithOptions<[eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean], InstanceNormModuleOptions>);
  constructor(numFeatures: number, ...args: unknown[]) {
    super(numFeatures, args);
  }
}

// ---- more of torch.nn's activations ----------------------------------------------------------

/** SELU, scale · ELU(x, alpha) with PyTorch's constants (`inplace` accepted and ignored). @example new nn.SELU() */
export class SELU extends PointwiseActivation {
  constructor(...args: WithOptions<[inplace: boolean], { inplace?: boolean }>) {
    super(args);
  }

  forward(x: Tensor): F32 {
    return F.selu(x);
  }
}

/** CELU: x for x > 0, alpha · (exp(x / alpha) − 1) otherwise (default alpha 1; `inplace` ignored). @example new nn.CELU(0.5) */
export class CELU extends Module {
  readonly alpha: number;

  constructor(...args: WithOptions<[alpha: number, inplace: boolean], { alpha?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const op = 'CELU';
    const keys = ['alpha', 'inplace'] as const;
    const o = merge<{ alpha?: number; inplace?: boolean }>(op, args, keys, keys);
    inplaceFlag(op, o.inplace);
    this.alpha = checkNumber(op, 'alpha', o.alpha ?? 1);
    if (this.alpha === 0) fail('E_ARG', `${op}: alpha cannot be 0 (CELU divides by it)`);
  }

  override config(): unknown[] {
    return [{ alpha: this.alpha }];
  }

  forward(x: Tensor): F32 {
    return F.celu(x, this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** Softsign x / (1 + |x|). @example new nn.Softsign() */
export class Softsign extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.softsign(x);
  }
}

/** log(sigmoid(x)), stable. @example new nn.LogSigmoid() */
export class LogSigmoid extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.logSigmoid(x);
  }
}

/** Tanhshrink x − tanh(x). @example new nn.Tanhshrink() */
export class Tanhshrink extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    return F.tanhshrink(x);
  }
}

/** Soft shrinkage with threshold `lambd` (default 0.5, >= 0). @example new nn.Softshrink(0.1) */
export class Softshrink extends Module {
  readonly lambd: number;

  constructor(...args: WithOptions<[lambd: number], { lambd?: number }>);
  constructor(...args: unknown[]) {
    super();
    const o = merge<{ lambd?: number }>('Softshrink', args, ['lambd'], ['lambd']);
    this.lambd = checkNumber('Softshrink', 'lambd', o.lambd ?? 0.5);
    if (this.lambd < 0) fail('E_ARG', `Softshrink: expected \`lambd\` >= 0, got ${this.lambd}`);
  }

  override config(): unknown[] {
    return [this.lambd];
  }

  forward(x: Tensor): F32 {
    return F.softshrink(x, this.lambd);
  }

  override extraRepr(): string {
    return `${this.lambd}`;
  }
}

/** Hard shrinkage with threshold `lambd` (default 0.5). @example new nn.Hardshrink(0.1) */
export class Hardshrink extends Module {
  readonly lambd: number;

  constructor(...args: WithOptions<[lambd: number], { lambd?: number }>);
  constructor(...args: unknown[]) {
    super();
    const o = merge<{ lambd?: number }>('Hardshrink', args, ['lambd'], ['lambd']);
    this.lambd = checkNumber('Hardshrink', 'lambd', o.lambd ?? 0.5);
  }

  override config(): unknown[] {
    return [this.lambd];
  }

  forward(x: Tensor): F32 {
    return F.hardshrink(x, this.lambd);
  }

  override extraRepr(): string {
    return `${this.lambd}`;
  }
}

/**
 * Threshold: x where x > threshold, else `value` (both required, as PyTorch; `inplace` ignored).
 * @example new nn.Threshold(0.1, 20)
 */
export class Threshold extends Module {
  readonly threshold: number;
  readonly value: number;

  constructor(threshold: number, value: number, ...args: WithOptions<[inplace: boolean], { inplace?: boolean }>);
  constructor(threshold: number, value: number, ...args: unknown[]) {
    super();
    const op = 'Threshold';
    inplaceFlag(op, merge<{ inplace?: boolean }>(op, args, ['inplace'], ['inplace']).inplace);
    this.threshold = checkNumber(op, 'threshold', threshold, true);
    if (Number.isNaN(threshold)) fail('E_ARG', `${op}: expected \`threshold\` to be a number, got NaN`);
    this.value = checkFloat32Value(op, 'value', value);
  }

  override config(): unknown[] {
    return [this.threshold, this.value];
  }

  forward(x: Tensor): F32 {
    return F.threshold(x, this.threshold, this.value);
  }

  override extraRepr(): string {
    return `threshold=${this.threshold}, value=${this.value}`;
  }
}

/** Gated linear unit over `dim` (default −1): a · sigmoid(b) of its halves. @example new nn.GLU(1) */
export class GLU extends Module {
  readonly dim: number;

  constructor(...args: WithOptions<[dim: number], { dim?: number }>);
  constructor(...args: unknown[]) {
    super();
    this.dim = checkInt('GLU', 'dim', merge<{ dim?: number }>('GLU', args, ['dim'], ['dim']).dim ?? -1);
  }

  override config(): unknown[] {
    return [this.dim];
  }

  forward(x: Tensor): F32 {
    return F.glu(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Softmin along `dim` (required, as nn.Softmax here). @example new nn.Softmin(1) */
export class Softmin extends Module {
  readonly dim: number;

  constructor(dim: number | { dim: number }) {
    super();
    this.dim = dimArg('Softmin', dim);
  }

  override config(): unknown[] {
    return [this.dim];
  }

  forward(x: Tensor): F32 {
    return F.softmin(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Softmax over the channels of [N, C, H, W] or [C, H, W] at each position, as torch.nn.Softmax2d
 * (another rank is E_SHAPE). @example new nn.Softmax2d()
 */
export class Softmax2d extends Module {
  override config(): unknown[] {
    return [];
  }

  forward(x: Tensor): F32 {
    const t = input('Softmax2d', x);
    if (t.rank !== 3 && t.rank !== 4) fail('E_SHAPE', `Softmax2d: expected input of shape [N, C, H, W] or [C, H, W], got ${shapeStr(t.shape)}`);
    return F.softmax(t, -3);
  }
}

// ---- 1-D pooling and channel shuffle ---------------------------------------------------------

export interface MaxPool1dModuleOptions { stride?: Size1; padding?: Size1; dilation?: Size1; ceilMode?: boolean }

/**
 * 1-D max pooling over [N, C, L] (`F.maxPool1d`). Positional arguments in PyTorch's order:
 * stride (null: the kernel size), padding, dilation, returnIndices (false only), ceilMode.
 * @example new nn.MaxPool1d(3, 2)
 */
export class MaxPool1d extends Module {
  readonly options: MaxPool1dModuleOptions;

  constructor(kernelSize: Size1,
    ...args: WithOptions<[stride: Size1 | null, padding: Size1, dilation: Size1, returnIndices: false, ceilMode: boolean], MaxPool1dModuleOptions & { returnIndices?: false }>);
  constructor(readonly kernelSize: Size1, ...args: unknown[]) {
    super();
    const op = 'MaxPool1d';
    const o = merge<MaxPool1dModuleOptions & { returnIndices?: boolean }>(op, args, ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'],
      ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
    noIndices(op, o.returnIndices, 'F.maxPool1d');
    delete o.returnIndices;
    this.options = present(o);
    single(op, 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) single(op, 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) single(op, 'padding', this.options.padding, 0);
    if (this.options.dilation !== undefined) single(op, 'dilation', this.options.dilation, 1);
    if (this.options.ceilMode !== undefined) checkBool(op, 'ceilMode', this.options.ceilMode);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.maxPool1d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${this.kernelSize}, stride=${o.stride ?? this.kernelSize}, padding=${o.padding ?? 0}, dilation=${o.dilation ?? 1}, ceil_mode=${o.ceilMode ?? false}`;
  }
}

/**
 * The inverse of MaxPool1d with its indices (`F.maxUnpool1d`); call(x, indices, outputSize?).
 * Positional arguments in PyTorch's order: stride (null: the kernel size), padding.
 * @example new nn.MaxUnpool1d(2)
 */
export class MaxUnpool1d extends Module {
  readonly options: { stride?: Size1; padding?: Size1 };

  constructor(kernelSize: Size1, ...args: WithOptions<[stride: Size1 | null, padding: Size1], { stride?: Size1 | null; padding?: Size1 }>);
  constructor(readonly kernelSize: Size1, ...args: unknown[]) {
    super();
    const op = 'MaxUnpool1d';
    const keys = ['stride', 'padding'] as const;
    this.options = present(merge<{ stride?: Size1; padding?: Size1 }>(op, args, keys, keys));
    single(op, 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) single(op, 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) single(op, 'padding', this.options.padding, 0);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  /** `outputSize`: the output's [L] where the default is ambiguous (see `F.maxUnpool1d`). */
  forward(x: Tensor, indices: Tensor, outputSize?: readonly number[]): F32 {
    return F.maxUnpool1d(x, indices, this.kernelSize, { ...this.options, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
  }
}

export interface AvgPool1dModuleOptions { stride?: Size1; padding?: Size1; ceilMode?: boolean; countIncludePad?: boolean }

/**
 * 1-D average pooling over [N, C, L] (`F.avgPool1d`). Positional arguments in PyTorch's order:
 * stride (null: the kernel size), padding, ceilMode, countIncludePad.
 * @example new nn.AvgPool1d(4, 2)
 */
export class AvgPool1d extends Module {
  readonly options: AvgPool1dModuleOptions;

  constructor(kernelSize: Size1, ...args: WithOptions<[stride: Size1 | null, padding: Size1, ceilMode: boolean, countIncludePad: boolean], AvgPool1dModuleOptions>);
  constructor(readonly kernelSize: Size1, ...args: unknown[]) {
    super();
    const op = 'AvgPool1d';
    const keys = ['stride', 'padding', 'ceilMode', 'countIncludePad'] as const;
    this.options = present(merge<AvgPool1dModuleOptions>(op, args, keys, keys));
    single(op, 'kernelSize', kernelSize, 1);
    if (this.options.stride !== undefined) single(op, 'stride', this.options.stride, 1);
    if (this.options.padding !== undefined) single(op, 'padding', this.options.padding, 0);
    if (this.options.ceilMode !== undefined) checkBool(op, 'ceilMode', this.options.ceilMode);
    if (this.options.countIncludePad !== undefined) checkBool(op, 'countIncludePad', this.options.countIncludePad);
  }

  override config(): unknown[] {
    return [this.kernelSize, { ...this.options }];
  }

  forward(x: Tensor): F32 {
    return F.avgPool1d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
  }
}

/** ShuffleNet's channel shuffle (`F.channelShuffle`) with `groups` groups. @example new nn.ChannelShuffle(2) */
export class ChannelShuffle extends Module {
  constructor(readonly groups: number) {
    super();
    checkInt('ChannelShuffle', 'groups', groups, 1);
  }

  override config(): unknown[] {
    return [this.groups];
  }

  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    return F.channelShuffle(x, this.groups);
  }

  override extraRepr(): string {
    return `groups=${this.groups}`;
  }
}
