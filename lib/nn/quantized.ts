/**
 * 8-bit inference on the CPU (the survey's "low precision" for fast CNNs; Vanhoucke et al. 2011):
 * PyTorch's dynamic quantization, `torch.ao.quantization.quantize_dynamic`, with fbgemm's x86
 * recipe, for the linear layers, the 2-D convolutions and the recurrent layers.
 *
 * `quantizeDynamic(model)` replaces the layers of PyTorch's default set (in place: `nn.Linear`,
 * `nn.LSTM`, `nn.GRU` and the three cells; with `types`, `nn.Conv2d` too) by quantized layers
 * (`QuantizedLinear`, `QuantizedLSTM`, ...) that hold their weights as 8-bit integers, one scale
 * per output channel, and at every call quantize their input to 7 bits with the scale and zero
 * point of that input's range ("dynamic": no calibration data). A recurrent layer is two
 * QuantizedLinear a layer and direction (W_ih, W_hh): its input projection quantized once over the
 * sequence, h at every step, its gates in float32, as PyTorch's.
 * The products are exact integer sums (Note [dynamic quantization], native/cpu/quantize.h).
 * Outputs differ from the float layer's by the rounding of the weights (half a step: 1/255 of a
 * channel's largest weight) and of the input (half of 1/127 of its range).
 *
 * What it buys: weights 4x smaller (AlexNet's and VGG's are mostly in their linear layers), and
 * linear layers that read 4x fewer bytes (AlexNet's fc7 at batch 1: 6-17x faster, 2 threads, AMD
 * EPYC; `node dist/bench/quantized.js`). A convolution's work is multiplies: on a CPU with AVX-512
 * VNNI, 64 byte products an instruction against float32's 16 (larger convolutions in 0.6x the
 * float time); with AVX2 alone, no more than float32's FMAs, and the float convolution has
 * Winograd, which the integer one has not, so there the quantized convolutions run at up to 1.4x
 * the float time (hence the default).
 *
 * Inference only: a quantized layer records no gradient and runs on the CPU alone (as PyTorch's).
 * A ReLU, ReLU6 or Hardtanh after a quantized layer in a Sequential is fused into it, as for
 * Conv2d (nn/fused-activation.ts).
 * @example
 * nn.quantizeDynamic(crnn.eval());                                     // the linear and recurrent layers
 * nn.quantizeDynamic(lenet.eval(), { types: [nn.Linear, nn.Conv2d] });  // the linear layers and the convolutions
 */
import { fail } from '../errors';
import { tidy } from '../engine';
import { native, type Handle } from '../native';
import { all, isfinite } from '../composite';
import { full, zeros } from '../creation';
import { Tensor } from '../tensor';
import { checkBool, checkFloat, checkInt, checkOptions, describe, shapeStr } from '../validate';
import * as F from './functional/index';
import { GATES, RnnProjections, runCell, type RnnProjection } from './functional/rnn';
import { Conv2d, Linear, convArguments, convRepr, merge, type WithOptions } from './layers';
import { Module } from './module';
import { GRU, GRUCell, HiddenStateRNN, LSTM, LSTMBase, LSTMCell, RNNCell, layerSuffix, type RNNBase, type RNNModuleOptions } from './recurrent';

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
      q.quantizeFrom('QuantizedLinear.fromFloat', what, linear.weight, linear.bias);
    } catch (e) {
      q.dispose();
      throw e;
    }
    return q;
  }

  /** @internal w [out, in] and b (a recurrent layer's) quantized into this layer's buffers; `what` names w in a refusal. */
  quantizeFrom(op: string, what: string, w: F32, b: F32 | null): void {
    quantizeInto(op, what, w, b, 1, this.#w, this.bias);
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

// ---- recurrent layers -----------------------------------------------------------------------

/**
 * PyTorch's dynamically quantized recurrent layers (`torch.ao.nn.quantized.dynamic.LSTM` and the
 * rest): each layer and direction's W_ih and W_hh in 8 bits, as two QuantizedLinear layers
 * `ih_l{k}` and `hh_l{k}` (`_reverse` for the second direction) that hold b_ih and b_hh. As in
 * PyTorch, a layer's input projection is quantized once for the whole sequence (one scale from
 * its range), h at every step from its own range; the gates and c stay in float32.
 */
function registerProjections(m: RNNBase, G: number): RnnProjections {
  const { inputSize, hiddenSize: H, numLayers, bias } = m, D = m.bidirectional ? 2 : 1;
  const layers = Array.from({ length: numLayers }, (_, l) =>
    Array.from({ length: D }, (__, d) => registerProjection(m, layerSuffix(l, d), l === 0 ? inputSize : D * H, G * H, H, bias)));
  return new RnnProjections(layers, H, inputSize);
}

/** One layer and direction's pair, `ih${suffix}` and `hh${suffix}`, and its projection functions. */
function registerProjection(m: Module, suffix: string, inputs: number, outputs: number, hidden: number, bias: boolean): RnnProjection {
  m.registerModule(`ih${suffix}`, new QuantizedLinear(inputs, outputs, { bias }));
  m.registerModule(`hh${suffix}`, new QuantizedLinear(hidden, outputs, { bias }));
  // Looked up at each call, as a Sequential's children are (setSubmodule may replace them).
  const get = (name: string) => m.getSubmodule(name) as QuantizedLinear;
  return { ih: (x) => get(`ih${suffix}`).forward(x), hh: (h) => get(`hh${suffix}`).forward(h) };
}

/** One float layer and direction's weights quantized into its registered pair (the caller disposes `m` on a refusal). */
function quantizeProjection(m: Module, op: string, at: string, suffix: string, wIh: F32, wHh: F32, bIh: F32 | null, bHh: F32 | null): void {
  (m.getSubmodule(`ih${suffix}`) as QuantizedLinear).quantizeFrom(op, `\`${at}weight_ih${suffix}\``, wIh, bIh);
  (m.getSubmodule(`hh${suffix}`) as QuantizedLinear).quantizeFrom(op, `\`${at}weight_hh${suffix}\``, wHh, bHh);
}

type SequenceOptions = Omit<RNNModuleOptions, 'nonlinearity'>;
const SEQUENCE_OPTIONS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'] as const;

/** The quantized form of a float LSTM or GRU: the same options, its layers' weights quantized. */
function sequenceFromFloat<Q extends RNNBase>(op: string, float: LSTM | GRU, make: (o: SequenceOptions) => Q, what: string): Q {
  const q = make((float.config() as [number, number, SequenceOptions])[2]);
  try {
    const D = float.bidirectional ? 2 : 1;
    const params = new Map(float.namedParameters());
    for (let l = 0; l < float.numLayers; l++)
      for (let d = 0; d < D; d++) {
        const suffix = layerSuffix(l, d);
        const w = (name: string) => (params.get(`${name}${suffix}`) ?? null) as F32 | null;
        quantizeProjection(q, op, what, suffix, w('weight_ih') as F32, w('weight_hh') as F32, w('bias_ih'), w('bias_hh'));
      }
  } catch (e) {
    q.dispose();
    throw e;
  }
  return q;
}

/**
 * A dynamically quantized LSTM (PyTorch's `torch.ao.nn.quantized.dynamic.LSTM`): nn.LSTM's
 * options, calls and outputs (PackedSequence included), its weights in 8 bits. Made by
 * `quantizeDynamic` or `QuantizedLSTM.fromFloat(lstm)`. State-dict keys: `ih_l0.weight_packed`,
 * `ih_l0.weight_scale`, `ih_l0.weight_sum`, `ih_l0.bias` (b_ih), the same under `hh_l0` (b_hh),
 * then `_reverse` and the next layers.
 */
export class QuantizedLSTM extends LSTMBase {
  readonly #projections: RnnProjections;

  constructor(inputSize: number, hiddenSize: number, options: SequenceOptions = {}) {
    const o = checkOptions<SequenceOptions>('QuantizedLSTM', options, [...SEQUENCE_OPTIONS]);
    super('LSTM', 'QuantizedLSTM', inputSize, hiddenSize, o, false);
    this.#projections = registerProjections(this, 4);
  }

  /** The layer of `lstm`'s weights and options, quantized (lstm itself is left as it is). */
  static fromFloat(lstm: LSTM, /** @internal where a refusal names the weights */ at = ''): QuantizedLSTM {
    if (!(lstm instanceof LSTM)) fail('E_ARG', `QuantizedLSTM.fromFloat: expected an nn.LSTM, got ${describe(lstm)}`);
    if (lstm.projSize > 0) {
      // PyTorch's quantize_dynamic drops proj_size and then fails when called.
      fail('E_ARG', `QuantizedLSTM.fromFloat: ${at ? `\`${at.slice(0, -1)}\`` : 'the LSTM'} has projSize ${lstm.projSize}, which has no quantized form (nor in PyTorch); to keep it in float32, leave nn.LSTM out of quantizeDynamic's \`types\``);
    }
    return sequenceFromFloat('QuantizedLSTM.fromFloat', lstm, (o) => new QuantizedLSTM(lstm.inputSize, lstm.hiddenSize, o), at);
  }

  protected override runWeights(): unknown {
    return this.#projections;
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, dtype=qint8`;
  }
}

/**
 * A dynamically quantized GRU (PyTorch's `torch.ao.nn.quantized.dynamic.GRU`): nn.GRU's options,
 * calls and outputs, its weights in 8 bits; see QuantizedLSTM.
 */
export class QuantizedGRU extends HiddenStateRNN {
  readonly #projections: RnnProjections;

  constructor(inputSize: number, hiddenSize: number, options: SequenceOptions = {}) {
    const o = checkOptions<SequenceOptions>('QuantizedGRU', options, [...SEQUENCE_OPTIONS]);
    super('GRU', 'QuantizedGRU', inputSize, hiddenSize, o, false);
    this.#projections = registerProjections(this, 3);
  }

  /** The layer of `gru`'s weights and options, quantized (gru itself is left as it is). */
  static fromFloat(gru: GRU, /** @internal where a refusal names the weights */ at = ''): QuantizedGRU {
    if (!(gru instanceof GRU)) fail('E_ARG', `QuantizedGRU.fromFloat: expected an nn.GRU, got ${describe(gru)}`);
    return sequenceFromFloat('QuantizedGRU.fromFloat', gru, (o) => new QuantizedGRU(gru.inputSize, gru.hiddenSize, o), at);
  }

  protected override runWeights(): unknown {
    return this.#projections;
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, dtype=qint8`;
  }
}

type CellMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** What the quantized cells share: `ih` and `hh` (QuantizedLinear, holding b_ih and b_hh), one step. */
abstract class QuantizedCellBase extends Module {
  readonly #projection: RnnProjection;

  protected constructor(readonly mode: CellMode, op: string, readonly inputSize: number, readonly hiddenSize: number, readonly bias: boolean) {
    super();
    checkInt(op, 'inputSize', inputSize, 1);
    checkInt(op, 'hiddenSize', hiddenSize, 1);
    checkBool(op, 'bias', bias);
    this.#projection = registerProjection(this, '', inputSize, GATES[mode] * hiddenSize, hiddenSize, bias);
  }

  /** @internal The cell's quantized pair from a float cell's weights. */
  protected static quantizeFrom(q: QuantizedCellBase, op: string, at: string, cell: RNNCell | LSTMCell | GRUCell): void {
    try {
      quantizeProjection(q, op, at, '', cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh);
    } catch (e) {
      q.dispose();
      throw e;
    }
  }

  protected step(x: unknown, h: unknown, c: unknown): [F32, F32 | null] {
    return runCell(this.typeName, this.mode, x, h, c, { ...this.#projection, inputSize: this.inputSize, hidden: this.hiddenSize });
  }

  override config(): unknown[] {
    return [this.inputSize, this.hiddenSize, { bias: this.bias }];
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=False'}${this.mode === 'RNN_RELU' ? ', nonlinearity=relu' : ''}, dtype=qint8`;
  }
}

/** A dynamically quantized RNNCell (PyTorch's `torch.ao.nn.quantized.dynamic.RNNCell`); see QuantizedLSTM. */
export class QuantizedRNNCell extends QuantizedCellBase {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean; nonlinearity?: 'tanh' | 'relu' } = {}) {
    const o = checkOptions<{ bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>('QuantizedRNNCell', options, ['bias', 'nonlinearity']);
    const act = o.nonlinearity ?? 'tanh';
    if (act !== 'tanh' && act !== 'relu') fail('E_ARG', `QuantizedRNNCell: expected \`nonlinearity\` 'tanh' or 'relu', got ${describe(act)}`);
    super(act === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', 'QuantizedRNNCell', inputSize, hiddenSize, o.bias ?? true);
  }

  /** The cell of `cell`'s weights, quantized (cell itself is left as it is). */
  static fromFloat(cell: RNNCell, /** @internal where a refusal names the weights */ at = ''): QuantizedRNNCell {
    if (!(cell instanceof RNNCell)) fail('E_ARG', `QuantizedRNNCell.fromFloat: expected an nn.RNNCell, got ${describe(cell)}`);
    const [, , o] = cell.config() as [number, number, { bias: boolean; nonlinearity: 'tanh' | 'relu' }];
    const q = new QuantizedRNNCell(cell.inputSize, cell.hiddenSize, o);
    QuantizedCellBase.quantizeFrom(q, 'QuantizedRNNCell.fromFloat', at, cell);
    return q;
  }

  /** h' [N, H] from x [N, in] and h [N, H] (zeros if not given); unbatched [in] and [H] too. */
  forward(x: Tensor, h: Tensor | null = null): F32 {
    return this.step(x, h, null)[0];
  }

  override config(): unknown[] {
    return [this.inputSize, this.hiddenSize, { bias: this.bias, nonlinearity: this.mode === 'RNN_TANH' ? 'tanh' : 'relu' }];
  }
}

/** A dynamically quantized LSTMCell (PyTorch's `torch.ao.nn.quantized.dynamic.LSTMCell`); `call` gives h', `forwardWithState` [h', c']. */
export class QuantizedLSTMCell extends QuantizedCellBase {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super('LSTM', 'QuantizedLSTMCell', inputSize, hiddenSize, checkOptions<{ bias?: boolean }>('QuantizedLSTMCell', options, ['bias']).bias ?? true);
  }

  /** The cell of `cell`'s weights, quantized (cell itself is left as it is). */
  static fromFloat(cell: LSTMCell, /** @internal where a refusal names the weights */ at = ''): QuantizedLSTMCell {
    if (!(cell instanceof LSTMCell)) fail('E_ARG', `QuantizedLSTMCell.fromFloat: expected an nn.LSTMCell, got ${describe(cell)}`);
    const q = new QuantizedLSTMCell(cell.inputSize, cell.hiddenSize, { bias: cell.bias_ih !== null });
    QuantizedCellBase.quantizeFrom(q, 'QuantizedLSTMCell.fromFloat', at, cell);
    return q;
  }

  /** h' [N, H] (c' is dropped: see forwardWithState). */
  forward(x: Tensor, hx: readonly [Tensor, Tensor] | null = null): F32 {
    const [h, c] = this.forwardWithState(x, hx);
    c.dispose();
    return h;
  }

  /** PyTorch's (h', c') from x [N, in] and hx = [h, c] (zeros if null). */
  forwardWithState(x: Tensor, hx: readonly [Tensor, Tensor] | null = null): [F32, F32] {
    if (hx !== null && (!Array.isArray(hx) || hx.length !== 2)) fail('E_ARG', `${this.typeName}: expected \`hx\` to be [h, c] (or null), got ${describe(hx)}`);
    const [h, c] = this.step(x, hx?.[0] ?? null, hx?.[1] ?? null);
    return [h, c as F32];
  }
}

/** A dynamically quantized GRUCell (PyTorch's `torch.ao.nn.quantized.dynamic.GRUCell`); see QuantizedLSTM. */
export class QuantizedGRUCell extends QuantizedCellBase {
  constructor(inputSize: number, hiddenSize: number, options: { bias?: boolean } = {}) {
    super('GRU', 'QuantizedGRUCell', inputSize, hiddenSize, checkOptions<{ bias?: boolean }>('QuantizedGRUCell', options, ['bias']).bias ?? true);
  }

  /** The cell of `cell`'s weights, quantized (cell itself is left as it is). */
  static fromFloat(cell: GRUCell, /** @internal where a refusal names the weights */ at = ''): QuantizedGRUCell {
    if (!(cell instanceof GRUCell)) fail('E_ARG', `QuantizedGRUCell.fromFloat: expected an nn.GRUCell, got ${describe(cell)}`);
    const q = new QuantizedGRUCell(cell.inputSize, cell.hiddenSize, { bias: cell.bias_ih !== null });
    QuantizedCellBase.quantizeFrom(q, 'QuantizedGRUCell.fromFloat', at, cell);
    return q;
  }

  /** h' [N, H] from x [N, in] and h [N, H] (zeros if not given). */
  forward(x: Tensor, h: Tensor | null = null): F32 {
    return this.step(x, h, null)[0];
  }
}

type Quantizable = typeof Linear | typeof Conv2d | typeof LSTM | typeof GRU | typeof RNNCell | typeof LSTMCell | typeof GRUCell;

/** Each float class quantizeDynamic knows, and how it makes the quantized layer (`at`: the layer's path, for refusals). */
const QUANTIZED_FORM = new Map<Quantizable, (m: Module, at: string) => Module>([
  [Linear, (m, at) => QuantizedLinear.fromFloat(m as Linear, `\`${at}.weight\``)],
  [Conv2d, (m, at) => QuantizedConv2d.fromFloat(m as Conv2d, `\`${at}.weight\``)],
  [LSTM, (m, at) => QuantizedLSTM.fromFloat(m as LSTM, `${at}.`)],
  [GRU, (m, at) => QuantizedGRU.fromFloat(m as GRU, `${at}.`)],
  [RNNCell, (m, at) => QuantizedRNNCell.fromFloat(m as RNNCell, `${at}.`)],
  [LSTMCell, (m, at) => QuantizedLSTMCell.fromFloat(m as LSTMCell, `${at}.`)],
  [GRUCell, (m, at) => QuantizedGRUCell.fromFloat(m as GRUCell, `${at}.`)],
]);

/** PyTorch's default set for qint8: the linear and recurrent layers. */
const DEFAULT_TYPES: readonly Quantizable[] = [Linear, LSTM, GRU, RNNCell, LSTMCell, GRUCell];

export interface QuantizeDynamicOptions {
  /**
   * The layer classes to quantize, among nn.Linear, nn.Conv2d, nn.LSTM, nn.GRU, nn.RNNCell,
   * nn.LSTMCell and nn.GRUCell. Default: PyTorch's, all but nn.Conv2d.
   */
  types?: readonly Quantizable[];
}

const isExactly = (m: Module, cls: { prototype: object }): boolean => Object.getPrototypeOf(m) === cls.prototype;

/**
 * Replaces, in place, every layer of `model` whose class is in `types` (by default PyTorch's set:
 * nn.Linear, nn.LSTM, nn.GRU and the three cells; nn.Conv2d when asked for; exactly those classes,
 * not subclasses such as DropConnectLinear, whose forward computes something else) by its
 * quantized layer, and returns `model`: PyTorch's `quantize_dynamic(model, dtype=torch.qint8,
 * inplace=True)` with per-channel weights.
 * The float layers are disposed: to keep a float copy, load the state dict into a second model
 * first. A module shared by two places is quantized once and stays shared.
 * @example nn.quantizeDynamic(model.eval(), { types: [nn.Linear, nn.Conv2d] })
 */
export function quantizeDynamic<M extends Module>(model: M, options: QuantizeDynamicOptions = {}): M {
  const op = 'quantizeDynamic';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected a Module, got ${describe(model)}`);
  const o = checkOptions<QuantizeDynamicOptions>(op, options, ['types']);
  const types = o.types ?? DEFAULT_TYPES;
  if (!Array.isArray(types) || types.some((t) => !QUANTIZED_FORM.has(t))) {
    fail('E_ARG', `${op}: expected \`types\` to list layer classes among nn.Linear, nn.Conv2d, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell and nn.GRUCell, got ${describe(types)}`);
  }
  const own = types.find((t) => isExactly(model, t));
  if (own !== undefined) fail('E_ARG', `${op}: \`model\` is itself an nn.${own.name}: use nn.Quantized${own.name}.fromFloat(model)`);
  // Every quantized layer is made before anything is replaced: a refusal (a NaN weight) changes nothing.
  const made = new Map<Module, Module>();
  const places: [string, Module][] = [];
  try {
    for (const [path, m] of model.namedModules()) {
      for (const [name, child] of m.namedChildren()) {
        const kind = types.find((t) => isExactly(child, t));
        if (kind === undefined) continue;
        const at = path ? `${path}.${name}` : name;
        if (!made.has(child)) made.set(child, QUANTIZED_FORM.get(kind)!(child, at));
        places.push([at, child]);
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
