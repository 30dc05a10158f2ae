/**
 * Recurrent layers, as torch.nn's: RNN, LSTM and GRU over a sequence (layers stacked, one or two
 * directions), and RNNCell, LSTMCell and GRUCell for one step. PyTorch's positional arguments,
 * defaults, initialisation (every weight and bias U(-1/sqrt(H), 1/sqrt(H))) and state-dict keys
 * (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then `_reverse` and the next layer), so a
 * PyTorch checkpoint loads as it is. The computation is in nn/functional/rnn.ts.
 *
 * A module's `call` returns one tensor (so that it fits in a Sequential): the output sequence, or
 * for a cell its new h. PyTorch's tuple, with the final states, comes from `forwardWithState`.
 * @example
 * // CRNN's head: a bidirectional LSTM over a feature sequence [T, N, 256]
 * const lstm = new nn.LSTM(256, 128, { numLayers: 2, bidirectional: true });
 * const y = lstm.call(features);                            // [T, N, 256]
 * const [out, [h, c]] = lstm.forwardWithState(features);   // and the final states [4, N, 128]
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, describe, shapeStr } from '../validate';
import { GATES, runCell, runRnn, type RnnMode } from './functional/rnn';
import { uniform_ } from './init';
import { merge, param, type WithOptions } from './layers';
import { Module, Parameter } from './module';
import { isPacked, PackedSequence } from './packed-sequence';
import { transpose } from '../ops';

type F32 = Tensor<'float32'>;

export interface RNNModuleOptions {
  /** Recurrent layers stacked, each reading the one below's output (default 1). */
  numLayers?: number;
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
  /** Whether the layers have the biases b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output [N, T, features] instead of [T, N, features] (default false; the states stay [layers · directions, N, H]). */
  batchFirst?: boolean;
  /** Dropout on the output of each layer but the last, in training (default 0). */
  dropout?: number;
  /** A second direction per layer, running from the end; the outputs are concatenated (default false). */
  bidirectional?: boolean;
}

export type LSTMModuleOptions = Omit<RNNModuleOptions, 'nonlinearity'> & {
  /**
   * PyTorch's proj_size (Sak et al. 2014): h = (σ(o) tanh(c)) W_hr^T with W_hr [projSize, H], so
   * h, the output and h0 have projSize features while c keeps hiddenSize (default 0: none; below hiddenSize).
   */
  projSize?: number;
};
export type GRUModuleOptions = Omit<RNNModuleOptions, 'nonlinearity'>;

/** @internal How PyTorch names layer l's direction d in parameter names: `_l0`, `_l0_reverse`, `_l1`, ... */
export const layerSuffix = (l: number, d: number): string => `_l${l}${d === 1 ? '_reverse' : ''}`;

/** PyTorch's reset_parameters of the recurrent layers: everything U(-1/sqrt(H), 1/sqrt(H)). */
function resetUniform(parameters: Parameter[], hiddenSize: number): void {
  const k = 1 / Math.sqrt(hiddenSize);
  for (const p of parameters) uniform_(p, -k, k);
}

/**
 * @internal What RNN, LSTM and GRU share (and their quantized forms, nn/quantized.ts): the
 * options, the parameters and the run.
 */
export abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** An LSTM's proj_size (h's features when not 0); 0 for the others. */
  readonly projSize: number;

  /** `floatWeights` false: no parameters (a quantized layer, which registers its own and overrides runWeights). */
  protected constructor(readonly mode: RnnMode, op: string, readonly inputSize: number, readonly hiddenSize: number,
    o: RNNModuleOptions & { projSize?: number }, floatWeights = true) {
    super();
    checkInt(op, 'inputSize', inputSize, 1);
    checkInt(op, 'hiddenSize', hiddenSize, 1);
    this.numLayers = checkInt(op, 'numLayers', o.numLayers ?? 1, 1);
    this.bias = checkBool(op, 'bias', o.bias ?? true);
    this.batchFirst = checkBool(op, 'batchFirst', o.batchFirst ?? false);
    this.dropout = checkNumber(op, 'dropout', o.dropout ?? 0);
    if (!(this.dropout >= 0 && this.dropout <= 1)) fail('E_ARG', `${op}: expected \`dropout\` in [0, 1], got ${this.dropout}`);
    this.bidirectional = checkBool(op, 'bidirectional', o.bidirectional ?? false);
    this.projSize = checkInt(op, 'projSize', o.projSize ?? 0, 0);
    if (this.projSize >= hiddenSize) fail('E_ARG', `${op}: expected \`projSize\` below \`hiddenSize\` (${hiddenSize}), as PyTorch requires; got ${this.projSize}`);
    if (!floatWeights) return;
    const G = GATES[mode], D = this.bidirectional ? 2 : 1, hOut = this.projSize || hiddenSize;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const suffix = layerSuffix(l, d);
        this.registerParameter(`weight_ih${suffix}`, param([G * hiddenSize, l === 0 ? inputSize : D * hOut]));
        this.registerParameter(`weight_hh${suffix}`, param([G * hiddenSize, hOut]));
        if (this.bias) {
          this.registerParameter(`bias_ih${suffix}`, param([G * hiddenSize]));
          this.registerParameter(`bias_hh${suffix}`, param([G * hiddenSize]));
        }
        if (this.projSize > 0) this.registerParameter(`weight_hr${suffix}`, param([this.projSize, hiddenSize]));
      }
    }
    this.resetParameters();
  }

  /** Draws every weight and bias again from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch's. */
  resetParameters(): void {
    resetUniform(this.parameters(), this.hiddenSize);
  }

  /** The weights in PyTorch's `_flat_weights` order (what F.lstm / F.gru / F.rnn take). */
  get flatWeights(): Parameter[] {
    return this.parameters();
  }

  /** @internal What the run takes as its weights: the flat list, or a quantized layer's projections. */
  protected runWeights(): unknown {
    return this.flatWeights;
  }

  /**
   * The output and final states; a PackedSequence runs each sample over its own steps and gives
   * the output padded and time-major (`padded` and `wrap` make it what call / forwardWithState return).
   */
  protected run(x: unknown, hx: unknown): [F32, F32, F32 | null] {
    const options = { bias: this.bias, bidirectional: this.bidirectional, batchFirst: this.batchFirst, dropout: this.dropout, training: this.training };
    if (!isPacked(x)) return runRnn(this.typeName, this.mode, x, hx, this.runWeights(), options);
    if (x.padded.rank !== 3) fail('E_SHAPE', `${this.typeName}: expected a PackedSequence of [T, N, features], got ${shapeStr(x.padded.shape)}`);
    return runRnn(this.typeName, this.mode, x.padded, hx, this.runWeights(), { ...options, batchFirst: false }, x.lengths);
  }

  /** What `call` returns for the output: a packed run's padded in the module's layout. */
  protected padded(x: unknown, y: F32): F32 {
    if (!isPacked(x) || !this.batchFirst) return y;
    const t = transpose(y, 0, 1);
    y.dispose();
    return t;
  }

  /** What `forwardWithState` returns for the output: a PackedSequence for a packed input. */
  protected wrap(x: unknown, y: F32): F32 | PackedSequence {
    return isPacked(x) ? new PackedSequence(y, x.lengths) : y;
  }

  protected options(): Record<string, unknown> {
    return { numLayers: this.numLayers, bias: this.bias, batchFirst: this.batchFirst, dropout: this.dropout, bidirectional: this.bidirectional,
      ...(this.projSize > 0 ? { projSize: this.projSize } : {}) };
  }

  override config(): unknown[] {
    return [this.inputSize, this.hiddenSize, this.options()];
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize > 0) s += `, proj_size=${this.projSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ', bias=False';
    if (this.batchFirst) s += ', batch_first=True';
    if (this.dropout !== 0) s += `, dropout=${this.dropout}`;
    if (this.bidirectional) s += ', bidirectional=True';
    return s;
  }
}

/** @internal RNN and GRU (and the quantized GRU): one state, h. */
export abstract class HiddenStateRNN extends RNNBase {
  /**
   * The output sequence [T, N, D·H] (`batchFirst`: [N, T, D·H]); h0 [layers · D, N, H] or zeros.
   * For a PackedSequence, the output padded with zeros.
   */
  forward(x: Tensor | PackedSequence, h0: Tensor | null = null): F32 {
    const [y, h] = this.run(x, h0);
    h.dispose();
    return this.padded(x, y);
  }

  /** PyTorch's (output, h_n); the output is a PackedSequence for one. @example const [y, h] = rnn.forwardWithState(x, h0) */
  forwardWithState(x: Tensor, h0?: Tensor | null): [F32, F32];
  forwardWithState(x: PackedSequence, h0?: Tensor | null): [PackedSequence, F32];
  forwardWithState(x: Tensor | PackedSequence, h0: Tensor | null = null): [F32 | PackedSequence, F32] {
    const [y, h] = this.run(x, h0);
    return [this.wrap(x, y), h];
  }
}

const RNN_NAMES = ['numLayers', 'nonlinearity', 'bias', 'batchFirst', 'dropout', 'bidirectional'] as const;
const LSTM_NAMES = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'projSize'] as const;
const GRU_NAMES = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'] as const;

/**
 * An Elman RNN, h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), as torch.nn.RNN. Positional
 * arguments after the sizes in PyTorch's order: numLayers, nonlinearity, bias, batchFirst,
 * dropout, bidirectional.
 * @example new nn.RNN(10, 20, 2)   // two layers
 */
export class RNN extends HiddenStateRNN {
  constructor(inputSize: number, hiddenSize: number,
    ...args: WithOptions<[numLayers: number, nonlinearity: 'tanh' | 'relu', bias: boolean, batchFirst: boolean, dropout: number, bidirectional: boolean], RNNModuleOptions>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    const o = merge<RNNModuleOptions>('RNN', args, [...RNN_NAMES], RNN_NAMES);
    const act = o.nonlinearity ?? 'tanh';
    if (act !== 'tanh' && act !== 'relu') fail('E_ARG', `RNN: expected \`nonlinearity\` 'tanh' or 'relu', got ${describe(act)}`);
    super(act === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', 'RNN', inputSize, hiddenSize, o);
  }

  protected override options(): Record<string, unknown> {
    return { ...super.options(), nonlinearity: this.mode === 'RNN_TANH' ? 'tanh' : 'relu' };
  }
}

/** @internal LSTM and the quantized LSTM: two states, h and c. */
export abstract class LSTMBase extends RNNBase {
  /** The output sequence [T, N, D·H]; hx = [h0, c0], each [layers · D, N, H], or zeros. For a PackedSequence, padded with zeros. */
  forward(x: Tensor | PackedSequence, hx: readonly [Tensor, Tensor] | null = null): F32 {
    const [y, h, c] = this.run(x, hx);
    h.dispose();
    c?.dispose();
    return this.padded(x, y);
  }

  /** PyTorch's (output, (h_n, c_n)); the output is a PackedSequence for one. @example const [y, [h, c]] = lstm.forwardWithState(x) */
  forwardWithState(x: Tensor, hx?: readonly [Tensor, Tensor] | null): [F32, [F32, F32]];
  forwardWithState(x: PackedSequence, hx?: readonly [Tensor, Tensor] | null): [PackedSequence, [F32, F32]];
  forwardWithState(x: Tensor | PackedSequence, hx: readonly [Tensor, Tensor] | null = null): [F32 | PackedSequence, [F32, F32]] {
    const [y, h, c] = this.run(x, hx);
    return [this.wrap(x, y), [h, c as F32]];
  }
}

/**
 * Long short-term memory (Hochreiter and Schmidhuber 1997), as torch.nn.LSTM: gates i, f, g, o
 * in PyTorch's order, weight_ih_l{k} [4H, in]. Positional arguments after the sizes in PyTorch's
 * order: numLayers, bias, batchFirst, dropout, bidirectional, projSize. With projSize P (LSTMP,
 * Sak et al. 2014) each layer also has weight_hr_l{k} [P, H] after its biases, and h is
 * projected to P features; such a layer runs as composed steps on the CPU too (the native
 * whole-layer op has no projection).
 * @example new nn.LSTM(256, 128, { numLayers: 2, bidirectional: true })
 */
export class LSTM extends LSTMBase {
  constructor(inputSize: number, hiddenSize: number,
    ...args: WithOptions<[numLayers: number, bias: boolean, batchFirst: boolean, dropout: number, bidirectional: boolean, projSize: number], LSTMModuleOptions>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    super('LSTM', 'LSTM', inputSize, hiddenSize, merge<LSTMModuleOptions>('LSTM', args, [...LSTM_NAMES], LSTM_NAMES));
  }
}

/**
 * Gated recurrent unit (Cho et al. 2014), as torch.nn.GRU: gates r, z, n in PyTorch's order, with
 * n = tanh(x W_in + b_in + r (h W_hn + b_hn)). Positional arguments after the sizes in PyTorch's
 * order: numLayers, bias, batchFirst, dropout, bidirectional.
 * @example new nn.GRU(64, 64, { batchFirst: true })
 */
export class GRU extends HiddenStateRNN {
  constructor(inputSize: number, hiddenSize: number,
    ...args: WithOptions<[numLayers: number, bias: boolean, batchFirst: boolean, dropout: number, bidirectional: boolean], GRUModuleOptions>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    super('GRU', 'GRU', inputSize, hiddenSize, merge<GRUModuleOptions>('GRU', args, [...GRU_NAMES], GRU_NAMES));
  }
}

// ---- cells -----------------------------------------------------------------------------------

/** What the cells share: weight_ih [G·H, in], weight_hh [G·H, H], bias_ih, bias_hh [G·H]. */
abstract class RNNCellBase extends Module {
  readonly weight_ih: Parameter;
  readonly weight_hh: Parameter;
  readonly bias_ih: Parameter | null;
  readonly bias_hh: Parameter | null;

  protected constructor(readonly mode: RnnMode, op: string, readonly inputSize: number, readonly hiddenSize: number, bias: unknown) {
    super();
    checkInt(op, 'inputSize', inputSize, 1);
    checkInt(op, 'hiddenSize', hiddenSize, 1);
    const withBias = checkBool(op, 'bias', bias ?? true);
    const G = GATES[mode];
    this.weight_ih = this.registerParameter('weight_ih', param([G * hiddenSize, inputSize]));
    this.weight_hh = this.registerParameter('weight_hh', param([G * hiddenSize, hiddenSize]));
    this.bias_ih = this.registerParameter('bias_ih', withBias ? param([G * hiddenSize]) : null);
    this.bias_hh = this.registerParameter('bias_hh', withBias ? param([G * hiddenSize]) : null);
    this.resetParameters();
  }

  /** Draws every weight and bias again from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch's. */
  resetParameters(): void {
    resetUniform(this.parameters(), this.hiddenSize);
  }

  protected step(x: unknown, h: unknown, c: unknown): [F32, F32 | null] {
    return runCell(this.typeName, this.mode, x, h, c, {
      wIh: this.weight_ih, wHh: this.weight_hh, bIh: this.bias_ih, bHh: this.bias_hh, inputSize: this.inputSize, hidden: this.hiddenSize,
    });
  }

  override config(): unknown[] {
    return [this.inputSize, this.hiddenSize, { bias: this.bias_ih !== null }];
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih === null ? ', bias=False' : ''}${this.mode === 'RNN_RELU' ? ', nonlinearity=relu' : ''}`;
  }
}

/**
 * One step of an Elman RNN, as torch.nn.RNNCell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).
 * Positional arguments after the sizes: bias, nonlinearity.
 * @example const h2 = cell.call(x, h)
 */
export class RNNCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, ...args: WithOptions<[bias: boolean, nonlinearity: 'tanh' | 'relu'], { bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    const o = merge<{ bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>('RNNCell', args, ['bias', 'nonlinearity'], ['bias', 'nonlinearity']);
    const act = o.nonlinearity ?? 'tanh';
    if (act !== 'tanh' && act !== 'relu') fail('E_ARG', `RNNCell: expected \`nonlinearity\` 'tanh' or 'relu', got ${describe(act)}`);
    super(act === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', 'RNNCell', inputSize, hiddenSize, o.bias);
  }

  /** h' [N, H] from x [N, in] and h [N, H] (zeros if not given); unbatched [in] and [H] too. */
  forward(x: Tensor, h: Tensor | null = null): F32 {
    return this.step(x, h, null)[0];
  }

  override config(): unknown[] {
    return [this.inputSize, this.hiddenSize, { bias: this.bias_ih !== null, nonlinearity: this.mode === 'RNN_TANH' ? 'tanh' : 'relu' }];
  }
}

/**
 * One LSTM step, as torch.nn.LSTMCell. `call(x, [h, c])` gives h' alone (one tensor, as every
 * module); `forwardWithState` gives PyTorch's (h', c'). Positional argument after the sizes: bias.
 * @example [h, c] = cell.forwardWithState(x, [h, c])
 */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, ...args: WithOptions<[bias: boolean], { bias?: boolean }>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    super('LSTM', 'LSTMCell', inputSize, hiddenSize, merge<{ bias?: boolean }>('LSTMCell', args, ['bias'], ['bias']).bias);
  }

  /** h' [N, H] (c' is dropped: see forwardWithState). */
  forward(x: Tensor, hx: readonly [Tensor, Tensor] | null = null): F32 {
    const [h, c] = this.forwardWithState(x, hx);
    c.dispose();
    return h;
  }

  /** PyTorch's (h', c') from x [N, in] and hx = [h, c] (zeros if null). */
  forwardWithState(x: Tensor, hx: readonly [Tensor, Tensor] | null = null): [F32, F32] {
    if (hx !== null && (!Array.isArray(hx) || hx.length !== 2)) fail('E_ARG', `LSTMCell: expected \`hx\` to be [h, c] (or null), got ${describe(hx)}`);
    const [h, c] = this.step(x, hx?.[0] ?? null, hx?.[1] ?? null);
    return [h, c as F32];
  }
}

/**
 * One GRU step, as torch.nn.GRUCell. Positional argument after the sizes: bias.
 * @example const h2 = cell.call(x, h)
 */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, ...args: WithOptions<[bias: boolean], { bias?: boolean }>);
  constructor(inputSize: number, hiddenSize: number, ...args: unknown[]) {
    super('GRU', 'GRUCell', inputSize, hiddenSize, merge<{ bias?: boolean }>('GRUCell', args, ['bias'], ['bias']).bias);
  }

  /** h' [N, H] from x [N, in] and h [N, H] (zeros if not given). */
  forward(x: Tensor, h: Tensor | null = null): F32 {
    return this.step(x, h, null)[0];
  }
}
