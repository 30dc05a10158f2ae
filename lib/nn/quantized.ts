/**
 * 8-bit inference on the CPU (the survey's "low precision" for fast CNNs; Vanhoucke et al. 2011):
 * PyTorch's dynamic quantization, `torch.ao.quantization.quantize_dynamic`, with fbgemm's x86
 * recipe, for the linear layers and the 2-D convolutions.
 *
 * `quantizeDynamic(model)` replaces the `nn.Linear` layers of a model (in place; with `types`,
 * the `nn.Conv2d` layers too) by `QuantizedLinear` / `QuantizedConv2d` layers that hold their
 * weights as 8-bit integers, one scale per output channel, and at every call quantize their input
 * to 7 bits with the scale and zero point of that input's range ("dynamic": no calibration data).
 * The products are exact integer sums (Note [dynamic quantization], native/cpu/quantize.h).
 * Outputs differ from the float layer's by the rounding of the weights (half a step: 1/255 of a
 * channel's largest weight) and of the input (half of 1/127 of its range).
 *
 * What it buys: weights 4x smaller (AlexNet's and VGG's are mostly in their linear layers), and
 * linear layers that read 4x fewer bytes (AlexNet's fc7 at batch 1: 9x faster, 2 threads, AMD
 * EPYC with AVX2; `node dist/bench/quantized.js`). A convolution's work is multiplies: on a CPU
 * with AVX-512 VNNI, 64 byte products an instruction against float32's 16; with AVX2 alone, no
 * more than float32's FMAs, and the float convolution has Winograd, which the integer one has not,
 * so there the quantized convolutions run at up to 1.5x the float time (hence the default).
 *
 * Inference only: a quantized layer records no gradient and runs on the CPU alone (as PyTorch's).
 * A ReLU, ReLU6 or Hardtanh after a quantized layer in a Sequential is fused into it, as for
 * Conv2d (nn/fused-activation.ts).
 * @example
 * nn.quantizeDynamic(alexnet.eval());                                  // the linear layers
 * nn.quantizeDynamic(lenet.eval(), { types: [nn.Linear, nn.Conv2d] });  // and the convolutions
 */
import { fail } from '../errors';
import { tidy } from '../engine';
import { native, type Handle } from '../native';
import { all, isfinite } from '../composite';
import { full, zeros } from '../creation';
import { Tensor } from '../tensor';
import { checkBool, checkFloat, checkInt, checkOptions, describe, shapeStr } from '../validate';
import * as F from './functional/index';
import { Conv2d, Linear, convArguments, convRepr, merge, type WithOptions } from './layers';
import { Module } from './module';

type F32 = Tensor<'float32'>;
type I32 = Tensor<'int32'>;
type Pair2 = [number, number];
type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

const str = (v: readonly number[]) => `[${v.join(', ')}]`;
const wrap = (h: Handle, shape: readonly number[]): F32 => new Tensor(h, shape, 'float32');
const panels = (n: number) => Math.ceil(n / 16);

/** The quantized weights' three buffers, and their shapes for `outputs` in `groups` groups of `inputs` each. */
interface Packed { packed: I32; scale: F32; sum: I32 }
const packedShape = (outputs: number, inputs: number, groups: number) => [groups, panels(outputs / groups), Math.ceil(inputs / 4), 16];

/** Registers the buffers (zeros until quantized or loaded), under PyTorch-like names. */
function registerPacked(m: Module, outputs: number, inputs: number, groups: number): Packed {
  return {
    packed: m.registerBuffer('weight_packed', zeros(packedShape(outputs, inputs, groups), 'int32')),
    scale: m.registerBuffer('weight_scale', full([outputs], 1)),
    sum: m.registerBuffer('weight_sum', zeros([outputs], 'int32')),
  };
}

/** w [O, K] quantized into `into`'s buffers, and b copied into `bias` (in queue order). */
function quantizeInto(op: string, name: string, w: F32, b: F32 | null, groups: number, into: Packed, bias: F32 | null): void {
  if (w.device !== 'cpu') fail('E_DEVICE', `${op}: quantized layers run on the CPU (as PyTorch's): move the model there first (model.to('cpu')); ${name} is on ${w.device}`);
  tidy(() => {
    if (bias && b) bias.copy_(b.detach());
    if (all(isfinite(w)).item() !== 1) fail('E_ARG', `${op}: ${name} holds NaN or an infinity, which has no 8-bit value`);
    const [packed, scale, sum] = native.quantizeWeights(w.detach().reshape([w.shape[0], -1]).handle(op), groups);
    into.packed.copy_(new Tensor(packed, into.packed.shape, 'int32'));
    into.scale.copy_(wrap(scale, into.scale.shape));
    into.sum.copy_(new Tensor(sum, into.sum.shape, 'int32'));
  });
}

function cpuInput(op: string, x: unknown): F32 {
  const tx = checkFloat(op, 'input', x);
  if (tx.device !== 'cpu') fail('E_DEVICE', `${op}: quantized layers run on the CPU (as PyTorch's), got an input on ${tx.device}`);
  return tx;
}

function bufferHandles(op: string, m: Packed, bias: F32 | null): [Handle, Handle, Handle, Handle | null] {
  return [m.packed.handle(op), m.scale.handle(op), m.sum.handle(op), bias ? bias.handle(op) : null];
}

/**
 * A dynamically quantized fully connected layer (PyTorch's `torch.ao.nn.quantized.dynamic.Linear`):
 * y = x w^T + b with w in 8 bits and x quantized per call. Made by `quantizeDynamic` or
 * `QuantizedLinear.fromFloat(linear)`; constructed directly, its weights are zero until a state
 * dict is loaded. State-dict keys: `weight_packed` (int32, four 8-bit weights a value, in the
 * kernel's layout), `weight_scale`, `weight_sum`, `bias`.
 */
export class QuantizedLinear extends Module {
  readonly bias: F32 | null;
  readonly #w: Packed;

  constructor(inFeatures: number, outFeatures: number, ...args: WithOptions<[bias: boolean], { bias?: boolean }>);
  constructor(readonly inFeatures: number, readonly outFeatures: number, ...args: unknown[]) {
    super();
    const op = 'QuantizedLinear';
    const o = merge<{ bias?: boolean }>(op, args, ['bias'], ['bias']);
    checkInt(op, 'inFeatures', inFeatures, 1);
    checkInt(op, 'outFeatures', outFeatures, 1);
    const withBias = checkBool(op, 'bias', o.bias ?? true);
    this.#w = registerPacked(this, outFeatures, inFeatures, 1);
    this.bias = this.registerBuffer('bias', withBias ? zeros([outFeatures]) : null);
  }

  /** The layer of `linear`'s weights and bias, quantized (linear itself is left as it is). */
  static fromFloat(linear: Linear, /** @internal how a refusal names the weight */ what = 'the weight'): QuantizedLinear {
    if (!(linear instanceof Linear)) fail('E_ARG', `QuantizedLinear.fromFloat: expected an nn.Linear, got ${describe(linear)}`);
    const q = new QuantizedLinear(linear.inFeatures, linear.outFeatures, { bias: linear.bias !== null });
    try {
      quantizeInto('QuantizedLinear.fromFloat', what, linear.weight, linear.bias, 1, q.#w, q.bias);
    } catch (e) {
      q.dispose();
      throw e;
    }
    return q;
  }

  override config(): unknown[] {
    return [this.inFeatures, this.outFeatures, { bias: this.bias !== null }];
  }

  forward(x: Tensor): F32 {
    return this.forwardClamped(x, -Infinity, Infinity);
  }

  /** @internal forward, then min(max(·, lo), hi), in the same op (nn/fused-activation.ts). */
  forwardClamped(x: Tensor, lo: number, hi: number): F32 {
    const op = this.typeName;
    const tx = cpuInput(op, x);
    if (tx.rank < 1 || tx.shape[tx.rank - 1] !== this.inFeatures) {
      fail('E_SHAPE', `${op}: expected an input of shape [..., ${this.inFeatures}], got ${shapeStr(tx.shape)}`);
    }
    const y = native.quantizedLinear(tx.handle(op), ...bufferHandles(op, this.#w, this.bias), lo, hi);
    return wrap(y, [...tx.shape.slice(0, -1), this.outFeatures]);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}, dtype=qint8`;
  }
}

export interface QuantizedConv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number] | 'same' | 'valid';
  dilation?: number | readonly [number, number];
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

/**
 * A dynamically quantized 2-D convolution (PyTorch's `torch.ao.nn.quantized.dynamic.Conv2d`):
 * Conv2d's arguments, padding modes and config; weights in 8 bits, one scale per output channel;
 * the input quantized per call, zero padding being exact (0 is always a quantized value). Made by
 * `quantizeDynamic` or `QuantizedConv2d.fromFloat(conv)`. State-dict keys as QuantizedLinear's.
 */
export class QuantizedConv2d extends Module {
  readonly bias: F32 | null;
  readonly kernelSize: Pair2;
  readonly stride: Pair2;
  readonly padding: Pair2 | 'same' | 'valid';
  readonly dilation: Pair2;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly #w: Packed;

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options?: QuantizedConv2dOptions);
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | readonly [number, number], options: QuantizedConv2dOptions = {}) {
    super();
    const op = 'QuantizedConv2d';
    const o = checkOptions<QuantizedConv2dOptions>(op, options, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    let withBias: boolean;
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
      paddingMode: this.paddingMode, bias: withBias } = convArguments<Pair2>(op, 2, inChannels, outChannels, kernelSize, o));
    this.#w = registerPacked(this, outChannels, (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1], this.groups);
    this.bias = this.registerBuffer('bias', withBias ? zeros([outChannels]) : null);
  }

  /** The layer of `conv`'s weights, bias and geometry, quantized (conv itself is left as it is). */
  static fromFloat(conv: Conv2d, /** @internal how a refusal names the weight */ what = 'the weight'): QuantizedConv2d {
    if (!(conv instanceof Conv2d)) fail('E_ARG', `QuantizedConv2d.fromFloat: expected an nn.Conv2d, got ${describe(conv)}`);
    const [inC, outC, k, options] = conv.config() as [number, number, Pair2, QuantizedConv2dOptions];
    const q = new QuantizedConv2d(inC, outC, k, options);
    try {
      quantizeInto('QuantizedConv2d.fromFloat', what, conv.weight, conv.bias, conv.groups, q.#w, q.bias);
    } catch (e) {
      q.dispose();
      throw e;
    }
    return q;
  }

  override config(): unknown[] {
    return [this.inChannels, this.outChannels, [...this.kernelSize], {
      stride: [...this.stride], padding: typeof this.padding === 'string' ? this.padding : [...this.padding], dilation: [...this.dilation],
      groups: this.groups, bias: this.bias !== null, ...(this.paddingMode !== 'zeros' ? { paddingMode: this.paddingMode } : {}),
    }];
  }

  forward(x: Tensor): F32 {
    return this.forwardClamped(x, -Infinity, Infinity);
  }

  /** @internal forward, then min(max(·, lo), hi), in the same op (nn/fused-activation.ts). */
  forwardClamped(x: Tensor, lo: number, hi: number): F32 {
    const op = this.typeName;
    let tx = cpuInput(op, x);
    const unbatched = tx.rank === 3;
    if ((tx.rank !== 3 && tx.rank !== 4) || tx.shape[tx.rank - 3] !== this.inChannels) {
      fail('E_SHAPE', `${op}: expected an input of shape [N, ${this.inChannels}, H, W] or [${this.inChannels}, H, W], got ${shapeStr(tx.shape)}`);
    }
    return tidy(() => {
      if (unbatched) tx = tx.unsqueeze(0);
      // [top, bottom] and [left, right]: 'same' puts the smaller half before, as PyTorch.
      const sides = this.padding === 'valid' ? [[0, 0], [0, 0]]
        : this.padding === 'same' ? this.kernelSize.map((k, i) => { const t = this.dilation[i] * (k - 1); return [Math.floor(t / 2), t - Math.floor(t / 2)]; })
        : this.padding.map((p) => [p, p]);
      let pad = [sides[0][0], sides[1][0]];
      if (this.paddingMode !== 'zeros' || sides.some(([a, b]) => a !== b)) {
        tx = F.pad(tx, [...sides[1], ...sides[0]], this.paddingMode === 'zeros' ? 'constant' : this.paddingMode) as F32;
        pad = [0, 0];
      }
      const [N, , H, W] = tx.shape;
      const [kh, kw] = this.kernelSize, [sh, sw] = this.stride, [dh, dw] = this.dilation;
      const Ho = Math.floor((H + 2 * pad[0] - dh * (kh - 1) - 1) / sh) + 1, Wo = Math.floor((W + 2 * pad[1] - dw * (kw - 1) - 1) / sw) + 1;
      if (!(Ho >= 1 && Wo >= 1)) fail('E_SHAPE', `${op}: the kernel ${str(this.kernelSize)} (dilated) is larger than the padded input ${shapeStr(tx.shape)}: the output would be empty`);
      const geometry = [sh, sw, pad[0], pad[1], dh, dw, this.groups, kh, kw];
      const y = wrap(native.quantizedConv2d(tx.handle(op), ...bufferHandles(op, this.#w, this.bias), geometry, lo, hi), [N, this.outChannels, Ho, Wo]);
      return unbatched ? y.squeeze(0) : y;
    });
  }

  override extraRepr(): string {
    return `${convRepr(this)}, dtype=qint8`;
  }
}

export interface QuantizeDynamicOptions {
  /** The layer classes to quantize: [nn.Linear] (the default, as PyTorch's), [nn.Conv2d], or both. */
  types?: readonly (typeof Linear | typeof Conv2d)[];
}

const isExactly = (m: Module, cls: { prototype: object }): boolean => Object.getPrototypeOf(m) === cls.prototype;

/**
 * Replaces, in place, every `nn.Linear` of `model` (with `types`, every `nn.Conv2d`, or both;
 * exactly those classes, not subclasses such as DropConnectLinear, whose forward computes
 * something else) by its quantized layer, and returns `model`: PyTorch's `quantize_dynamic(model,
 * {nn.Linear}, dtype=torch.qint8, inplace=True)` with per-channel weights (the recurrent layers,
 * also in PyTorch's default set, are not quantized here).
 * The float layers are disposed: to keep a float copy, load the state dict into a second model
 * first. A module shared by two places is quantized once and stays shared.
 * @example nn.quantizeDynamic(model.eval(), { types: [nn.Linear, nn.Conv2d] })
 */
export function quantizeDynamic<M extends Module>(model: M, options: QuantizeDynamicOptions = {}): M {
  const op = 'quantizeDynamic';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
  const o = checkOptions<QuantizeDynamicOptions>(op, options, ['types']);
  const types = o.types ?? [Linear];
  if (!Array.isArray(types) || types.some((t) => t !== Linear && t !== Conv2d)) {
    fail('E_ARG', `${op}: expected \`types\` to list nn.Linear and/or nn.Conv2d, got ${describe(types)}`);
  }
  if (types.includes(Linear) && isExactly(model, Linear)) fail('E_ARG', `${op}: \`model\` is itself an nn.Linear: use nn.QuantizedLinear.fromFloat(model)`);
  if (types.includes(Conv2d) && isExactly(model, Conv2d)) fail('E_ARG', `${op}: \`model\` is itself an nn.Conv2d: use nn.QuantizedConv2d.fromFloat(model)`);
  // Every quantized layer is made before anything is replaced: a refusal (a NaN weight) changes nothing.
  const made = new Map<Module, Module>();
  const places: [string, Module][] = [];
  try {
    for (const [path, m] of model.namedModules()) {
      for (const [name, child] of m.namedChildren()) {
        const kind = types.find((t) => isExactly(child, t));
        if (kind === undefined) continue;
        if (!made.has(child)) {
          const at = path ? `${path}.${name}` : name;
          const what = `\`${at}.weight\``;
          made.set(child, kind === Linear ? QuantizedLinear.fromFloat(child as Linear, what) : QuantizedConv2d.fromFloat(child as Conv2d, what));
        }
        places.push([path ? `${path}.${name}` : name, child]);
      }
    }
  } catch (e) {
    for (const q of made.values()) q.dispose();
    throw e;
  }
  for (const [path, child] of places) model.setSubmodule(path, made.get(child)!.train(child.training));
  for (const old of made.keys()) old.dispose();
  return model;
}
