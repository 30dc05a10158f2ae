/**
 * Recurrent layers over a sequence (PyTorch's RNN, LSTM and GRU): the survey's CNNs meet them in
 * captioning and text recognition, where a convolutional feature sequence goes through a
 * (bidirectional) LSTM and a CTC loss (CRNN, Shi et al. 2015).
 *
 * The cells are PyTorch's, gate order and all:
 * - RNN:  h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu
 * - LSTM: i, f, g, o = chunks of (x W_ih^T + b_ih + h W_hh^T + b_hh); c' = σ(f) c + σ(i) tanh(g);
 *         h' = σ(o) tanh(c')
 * - GRU:  r, z, n from x W_ih^T + b_ih and h W_hh^T + b_hh chunk by chunk: r = σ(x_r + h_r),
 *         z = σ(x_z + h_z), n = tanh(x_n + r h_n); h' = (1 - z) n + z h
 *
 * How a sequence runs: each layer and direction first projects the whole input sequence with one
 * GEMM (x W_ih^T + b_ih for every step at once, as cuDNN and PyTorch do); the steps then need
 * only h W_hh^T each. On the CPU the whole recurrence of a layer and direction is then one
 * native op each way (native/cpu/rnn_cell.cc: a GEMM and a pass over the rows per step, and the
 * backward's dW_hh in one GEMM over every step), one node on the tape; a cell's single step is
 * one native op for its gates. On the GPU the steps are composed of matmul and the pointwise
 * ops, and the tape does backpropagation through time step by step.
 *
 * The weights come as PyTorch's flat list (`_flat_weights`): for each layer, for each direction,
 * w_ih [G·H, in], w_hh [G·H, H], then (with bias) b_ih [G·H] and b_hh [G·H]; G is 1, 4 or 3. An
 * LSTM with projections (PyTorch's proj_size P, told apart as PyTorch does by w_hh [4H, P] with
 * P < H) has w_hr [P, H] after them and h = (σ(o) tanh(c')) W_hr^T; it runs as composed steps on
 * the CPU too.
 */
import { isRecording, isTracing, record, traceAsMany } from '../../autograd';
import { tensor, zeros as zerosOn } from '../../creation';
import { tidy } from '../../engine';
import { fail } from '../../errors';
import { native, type Handle } from '../../native';
import { unbind } from '../../indexing';
import { add, chunk, concat, indexSelect, mul, narrow, reshape, stack, sub, transpose, where } from '../../ops';
import { Tensor } from '../../tensor';
import { checkBool, checkFloat, checkNumber, checkOptions, describe, isTensor, shapeStr } from '../../validate';
import { stepMask } from '../packed-sequence';
import { relu, sigmoid, tanh } from './activation';
import { linear } from './conv';
import { dropout } from './layers';

type F32 = Tensor<'float32'>;

/** Which cell: PyTorch's mode names. */
export type RnnMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** Gates per cell: the rows of W_ih and W_hh are G · hiddenSize. */
export const GATES: Record<RnnMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

export interface RnnOptions {
  /** Whether the weights list holds biases (default true). */
  bias?: boolean;
  /** Two directions per layer, their outputs concatenated (default false). */
  bidirectional?: boolean;
  /** x and the output are [N, T, features] instead of [T, N, features] (default false; the states are not affected). */
  batchFirst?: boolean;
  /** Dropout on each layer's output but the last's, in training (default 0). */
  dropout?: number;
  /** Whether the dropout is active (default true). */
  training?: boolean;
}

/** One layer and direction's weights; wHr: an LSTM's projection of h (PyTorch's proj_size), or null. */
interface LayerWeights {
  wIh: F32;
  wHh: F32;
  bIh: F32 | null;
  bHh: F32 | null;
  wHr?: F32 | null;
}

/**
 * @internal One layer and direction's projections as functions, in place of its weights (the
 * quantized layers, nn/quantized.ts): ih(x [..., in]) = x W_ih^T + b_ih, hh(h [N, H]) = h W_hh^T + b_hh.
 */
export interface RnnProjection {
  ih(x: F32): F32;
  hh(h: F32): F32;
}

/** @internal What runRnn takes for `weights` in place of PyTorch's flat list: a projection per layer and direction. */
export class RnnProjections {
  constructor(readonly layers: readonly (readonly RnnProjection[])[], readonly hidden: number, readonly inputSize: number) {}
}

const isProjection = (w: LayerWeights | RnnProjection): w is RnnProjection => !('wIh' in w);

/** What `run` works on, checked. */
interface Plan {
  mode: RnnMode;
  layers: (LayerWeights | RnnProjection)[][];   // [layer][direction]
  hidden: number;
  /** h's features: the projection's size with PyTorch's proj_size, else hidden. */
  hOut: number;
  directions: number;
  dropout: number;
  training: boolean;
}

// ---- the cells, one step -------------------------------------------------------------------

/**
 * One step of a cell from its projections `xw` = x W_ih^T + b_ih and `hw` = h W_hh^T + b_hh
 * [N, G·H]: the new h (and for the LSTM the new c).
 */
function cellStep(mode: RnnMode, xw: F32, hw: F32, h: F32, c: F32 | null): [F32, F32 | null] {
  // The native steps' records have no ONNX form: onnx.export traces the composed gates (the same values).
  const native = xw.device === 'cpu' && !isTracing();
  if (mode === 'LSTM') return native ? nativeLstmStep(xw, hw, c as F32) : lstmGates(add(xw, hw), c as F32);
  if (mode === 'GRU') return [native ? nativeGruStep(xw, hw, h) : gruGates(xw, hw, h), null];
  const pre = add(xw, hw);
  return [mode === 'RNN_TANH' ? tanh(pre) : relu(pre), null];
}

/** LSTM's gate arithmetic, composed (the GPU's), on gates [N, 4H] and c [N, H]: [h', c']. */
function lstmGates(gates: F32, c: F32): [F32, F32] {
  const [i, f, g, o] = chunk(gates, 4, 1);
  const c2 = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
  return [mul(sigmoid(o), tanh(c2)), c2];
}

/** GRU's gate arithmetic, composed (the GPU's), on xw, hw [N, 3H] and h [N, H]: h'. */
function gruGates(xw: F32, hw: F32, h: F32): F32 {
  const [xr, xz, xn] = chunk(xw, 3, 1);
  const [hr, hz, hn] = chunk(hw, 3, 1);
  const r = sigmoid(add(xr, hr)), z = sigmoid(add(xz, hz));
  const n = tanh(add(xn, mul(r, hn)));
  return add(n, mul(z, sub(h, n)));   // (1 - z) n + z h
}

const f32 = (handle: Handle, shape: number[]) => new Tensor<'float32'>(handle, shape, 'float32');

/**
 * The CPU's LSTM step: one native pass forward (keeping the activated gates and tanh(c') for the
 * backward) and one back, instead of ten pointwise ops each way. h' and c' are two tape nodes
 * whose backward is the same kernel with the other output's gradient zero; the tape sums what
 * reaches xw, hw and c.
 */
function nativeLstmStep(xw: F32, hw: F32, c: F32): [F32, F32] {
  const op = 'lstm';
  const [N, H] = c.shape;
  const [hh, ch, sh] = native.lstmCellForward(xw.handle(op), hw.handle(op), c.handle(op));
  const h2 = f32(hh, [N, H]), c2 = f32(ch, [N, H]), saved = f32(sh, [N, 5 * H]);
  const back = (dh: Tensor | null, dc: Tensor | null, s: Tensor, sc: Tensor): F32[] => {
    const [gx, gh, gc] = native.lstmCellBackward(s.handle(op), sc.handle(op), dh ? dh.handle(op) : null, dc ? dc.handle(op) : null);
    return [f32(gx, [N, 4 * H]), f32(gh, [N, 4 * H]), f32(gc, [N, H])];
  };
  record(op, h2, [xw, hw, c], (dh, [s, sc]) => back(dh, null, s, sc), [saved, c]);
  record(op, c2, [xw, hw, c], (dc, [s, sc]) => back(null, dc, s, sc), [saved, c]);
  saved.dispose();   // record keeps its own handles
  return [h2, c2];
}

/** The CPU's GRU step: one pass each way; keeps r, z, n and h W_hn + b_hn for the backward. */
function nativeGruStep(xw: F32, hw: F32, h: F32): F32 {
  const op = 'gru';
  const [N, H] = h.shape;
  const [hh, sh] = native.gruCellForward(xw.handle(op), hw.handle(op), h.handle(op));
  const h2 = f32(hh, [N, H]), saved = f32(sh, [N, 4 * H]);
  record(op, h2, [xw, hw, h], (dy, [s, sh0]) => {
    const [gx, gh, gprev] = native.gruCellBackward(s.handle(op), sh0.handle(op), dy.handle(op));
    return [f32(gx, [N, 3 * H]), f32(gh, [N, 3 * H]), f32(gprev, [N, H])];
  }, [saved, h]);
  saved.dispose();
  return h2;
}

const MODE_CODE: Record<RnnMode, number> = { RNN_TANH: 0, RNN_RELU: 1, LSTM: 2, GRU: 3 };

/**
 * The CPU's whole layer and direction in one native op each way (native/cpu/rnn_cell.cc): from
 * xw [T, N, G·H] and the initial states, every time's h [T, N, H] and the last h and c. The LSTM's
 * op gives h and c side by side ([T, N, 2H]), so that one tape node carries both.
 */
function nativeLayer(mode: RnnMode, xw: F32, h0: F32, c0: F32 | null, wHh: F32, bHh: F32 | null, reverse: boolean,
  lengths: Int32Array | null): [F32, F32, F32 | null] {
  const op = mode === 'LSTM' ? 'lstm' : mode === 'GRU' ? 'gru' : 'rnn';
  const [T, N] = xw.shape;
  const H = h0.shape[1];
  const lstm = mode === 'LSTM';
  const keep = isRecording([xw, h0, c0, wHh, bHh]);
  const [oh, sh] = native.rnnLayerForward(MODE_CODE[mode], xw.handle(op), h0.handle(op), c0 ? c0.handle(op) : null, wHh.handle(op),
    bHh ? bHh.handle(op) : null, reverse, keep, lengths);
  const out = f32(oh, [T, N, lstm ? 2 * H : H]);
  const saved = sh === null ? null : f32(sh, [T, N, lstm ? 5 * H : 4 * H]);
  record(op, out, [xw, h0, c0, wHh, bHh], (dout, [sOut, sXw, sH0, sW, ...rest]) => {
    const sSaved = saved ? rest[0] : null, sC0 = c0 ? rest[saved ? 1 : 0] : null;
    const [dx, dh, dc, dw, db] = native.rnnLayerBackward(MODE_CODE[mode], dout.handle(op), sOut.handle(op), sSaved ? sSaved.handle(op) : null,
      sXw.handle(op), sH0.handle(op), sC0 ? sC0.handle(op) : null, sW.handle(op), reverse, bHh !== null, lengths);
    return [f32(dx, [T, N, xw.shape[2]]), f32(dh, [N, H]), dc === null ? null : f32(dc, [N, H]), f32(dw, [...wHh.shape]), db === null ? null : f32(db, [xw.shape[2]])];
  }, [out, xw, h0, wHh, ...(saved ? [saved] : []), ...(c0 ? [c0] : [])]);
  saved?.dispose();
  const hs = lstm ? narrow(out, 2, 0, H) : out;
  const cs = lstm ? narrow(out, 2, H, H) : null;
  // The final state: the last time's (the first's in reverse), or going forward over packed
  // sequences each sample's own last step.
  if (lengths && !reverse) {
    const rows = tensor(Int32Array.from(lengths, (l, n) => (l - 1) * N + n), { dtype: 'int32' });
    const last = (s: F32) => indexSelect(reshape(s, [T * N, H]), 0, rows);
    return [hs, last(hs), cs ? last(cs) : null];
  }
  const t = reverse ? 0 : T - 1;
  return [hs, reshape(narrow(hs, 0, t, 1), [N, H]), cs ? reshape(narrow(cs, 0, t, 1), [N, H]) : null];
}

// ---- checking ------------------------------------------------------------------------------

function weightList(op: string, mode: RnnMode, weights: unknown, inputSize: number, bias: boolean, directions: number, device: string): { layers: (LayerWeights | RnnProjection)[][]; hidden: number; hOut: number } {
  if (weights instanceof RnnProjections) {
    if (device !== 'cpu') fail('E_DEVICE', `${op}: quantized layers run on the CPU (as PyTorch's), got an input on ${device}`);
    if (inputSize !== weights.inputSize) fail('E_SHAPE', `${op}: expected \`input\` with ${weights.inputSize} features, got ${inputSize}`);
    return { layers: weights.layers.map((l) => [...l]), hidden: weights.hidden, hOut: weights.hidden };
  }
  if (!Array.isArray(weights)) fail('E_ARG', `${op}: expected \`weights\` to be an array of tensors (w_ih, w_hh, b_ih, b_hh per layer and direction), got ${describe(weights)}`);
  // An LSTM with PyTorch's proj_size has a fifth weight per layer and direction, w_hr [P, H].
  const fits = (per: number) => weights.length > 0 && weights.length % (per * directions) === 0;
  const plain = bias ? 4 : 2;
  if (!fits(plain) && !(mode === 'LSTM' && fits(plain + 1))) {
    fail('E_ARG', `${op}: expected ${plain} weights per layer${directions === 2 ? ' and direction' : ''} (${bias ? 'w_ih, w_hh, b_ih, b_hh' : 'w_ih, w_hh'}${mode === 'LSTM' ? ', then w_hr with projections' : ''}), got ${weights.length}`);
  }
  const list = weights.map((w, k) => checkFloat(op, `weights[${k}]`, w));
  const G = GATES[mode];
  const first = list[1];
  // w_hh [G·H, H], or [4H, P] for an LSTM with projections (P < H, as PyTorch requires).
  if (first.rank !== 2 || first.shape[0] % G !== 0 || first.shape[1] === 0 || first.shape[1] > first.shape[0] / G ||
    (mode !== 'LSTM' && first.shape[0] / G !== first.shape[1])) {
    fail('E_SHAPE', `${op}: expected w_hh (weights[1]) of shape [${G} * hidden, hidden]${mode === 'LSTM' ? ' (or [4 * hidden, projSize])' : ''}, got ${shapeStr(first.shape)}`);
  }
  const H = first.shape[0] / G, P = first.shape[1] === H ? 0 : first.shape[1], hOut = P || H;
  const per = plain + (P > 0 ? 1 : 0);
  if (!fits(per)) fail('E_ARG', `${op}: expected ${per} weights per layer${directions === 2 ? ' and direction' : ''}${P > 0 ? ` (w_hh [${first.shape}] means projections of size ${P}: w_hr after the biases)` : ''}, got ${weights.length}`);
  const names = ['w_ih', 'w_hh', ...(bias ? ['b_ih', 'b_hh'] : []), ...(P > 0 ? ['w_hr'] : [])];
  const layers: LayerWeights[][] = [];
  for (let k = 0; k < list.length; k += per) {
    const l = Math.floor(k / (per * directions));
    const expectIn = l === 0 ? inputSize : directions * hOut;
    const shapes: Record<string, number[]> = { w_ih: [G * H, expectIn], w_hh: [G * H, hOut], b_ih: [G * H], b_hh: [G * H], w_hr: [P, H] };
    for (let j = 0; j < per; j++) {
      const w = list[k + j], expect = shapes[names[j]];
      if (w.shape.length !== expect.length || w.shape.some((d, a) => d !== expect[a])) {
        fail('E_SHAPE', `${op}: expected weights[${k + j}] (layer ${l}'s ${names[j]}) of shape ${shapeStr(expect)}, got ${shapeStr(w.shape)}`);
      }
      if (w.device !== device) fail('E_DEVICE', `${op}: weights[${k + j}] is on ${w.device} but the input is on ${device}`);
    }
    if (layers.length === l) layers.push([]);
    layers[l].push({ wIh: list[k], wHh: list[k + 1], bIh: bias ? list[k + 2] : null, bHh: bias ? list[k + 3] : null, wHr: P > 0 ? list[k + per - 1] : null });
  }
  return { layers, hidden: H, hOut };
}

function stateOf(op: string, name: string, value: unknown, shape: number[], device: string): F32 {
  const t = checkFloat(op, name, value);
  if (t.rank !== shape.length || t.shape.some((d, a) => d !== shape[a])) fail('E_SHAPE', `${op}: expected \`${name}\` of shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  if (t.device !== device) fail('E_DEVICE', `${op}: \`${name}\` is on ${t.device} but the input is on ${device}`);
  return t;
}

// ---- the sequence --------------------------------------------------------------------------

/**
 * @internal Runs a (multi-layer, maybe bidirectional) recurrent net over x [T, N, in] (or
 * [N, T, in] with batchFirst, or unbatched [T, in]); states [L·D, N, H] ([L·D, H] unbatched).
 * Returns the output [T, N, D·H], h_n and for the LSTM c_n.
 */
export function runRnn(op: string, mode: RnnMode, x: unknown, hx: unknown, weights: unknown, options: RnnOptions,
  lengths: readonly number[] | null = null): [F32, F32, F32 | null] {
  const o = checkOptions<RnnOptions>(op, options, ['bias', 'bidirectional', 'batchFirst', 'dropout', 'training']);
  const tx = checkFloat(op, 'input', x);
  const batchFirst = checkBool(op, 'batchFirst', o.batchFirst ?? false);
  if (tx.rank !== 2 && tx.rank !== 3) fail('E_SHAPE', `${op}: expected \`input\` of shape ${batchFirst ? '[N, T, features]' : '[T, N, features]'} or unbatched [T, features], got ${shapeStr(tx.shape)}`);
  const batched = tx.rank === 3;
  const T = batched && batchFirst ? tx.shape[1] : tx.shape[0];
  const N = batched ? (batchFirst ? tx.shape[0] : tx.shape[1]) : 1;
  const inputSize = tx.shape[tx.rank - 1];
  if (T === 0) fail('E_SHAPE', `${op}: expected a sequence of at least one step, got \`input\` of shape ${shapeStr(tx.shape)}`);
  const bias = checkBool(op, 'bias', o.bias ?? true);
  const directions = checkBool(op, 'bidirectional', o.bidirectional ?? false) ? 2 : 1;
  const p = checkNumber(op, 'dropout', o.dropout ?? 0);
  if (!(p >= 0 && p <= 1)) fail('E_ARG', `${op}: expected \`dropout\` in [0, 1], got ${p}`);
  const training = checkBool(op, 'training', o.training ?? true);
  const { layers, hidden, hOut } = weightList(op, mode, weights, inputSize, bias, directions, tx.device);
  const plan: Plan = { mode, layers, hidden, hOut, directions, dropout: p, training };

  // The initial states, zeros when not given (h of hOut features, c of hidden).
  const L = layers.length * directions;
  const shapeOf = (width: number) => (batched ? [L, N, width] : [L, width]);
  let h0: F32 | null = null, c0: F32 | null = null;
  if (hx !== null && hx !== undefined) {
    if (mode === 'LSTM') {
      if (!Array.isArray(hx) || hx.length !== 2) fail('E_ARG', `${op}: expected \`hx\` to be [h0, c0] (or null), got ${describe(hx)}`);
      h0 = stateOf(op, 'h0', hx[0], shapeOf(hOut), tx.device);
      c0 = stateOf(op, 'c0', hx[1], shapeOf(hidden), tx.device);
    } else {
      if (!isTensor(hx)) fail('E_ARG', `${op}: expected \`hx\` to be a tensor (or null), got ${describe(hx)}`);
      h0 = stateOf(op, 'hx', hx, shapeOf(hidden), tx.device);
    }
  }
  // onnx.export sees the whole net as one op (lib/onnx/recurrent.ts), its outputs the sequence and the final states.
  const traced = { mode, batchFirst, batched, layers, hidden, hOut, directions, packed: lengths !== null };
  return traceAsMany('recurrent', [tx, h0, c0], traced, () => tidy(() => {
    let seq = batched ? (batchFirst ? transpose(tx, 0, 1) : tx) : reshape(tx, [T, 1, inputSize]);
    const states = (s: F32 | null) => (s === null ? null : unbind(batched ? s : reshape(s, [L, 1, s.shape[1]]), 0));
    const [out, hN, cN] = runLayers(plan, seq as F32, states(h0), states(c0), N, lengths === null ? null : Int32Array.from(lengths));
    seq = batched ? (batchFirst ? transpose(out, 0, 1) : out) : reshape(out, [T, directions * hOut]);
    const flat = (s: F32) => (batched ? s : reshape(s, [L, s.shape[2]]));
    return [seq as F32, flat(hN), cN === null ? null : flat(cN)] as [F32, F32, F32 | null];
  }));
}

function runLayers(plan: Plan, x: F32, h0: F32[] | null, c0: F32[] | null, N: number, lengths: Int32Array | null): [F32, F32, F32 | null] {
  const { mode, layers, hidden: H, hOut, directions } = plan;
  const hN: F32[] = [], cN: F32[] = [];
  const zeros = (width: number) => zerosOn([N, width], { device: x.device }) as F32;
  // The native layer runs float weights on the CPU, without projections; the rest are composed of steps.
  const composed = x.device !== 'cpu' || hOut !== H || isProjection(layers[0][0]);
  // The composed path's packed sequences: per time, which samples still run ([N, 1], 1 or 0).
  const masks = lengths === null || !composed ? null : unbind(stepMask(Array.from(lengths), [x.shape[0], N, H], x.device), 0);
  let input = x;
  for (let l = 0; l < layers.length; l++) {
    const outs: F32[] = [];
    for (let d = 0; d < directions; d++) {
      const k = l * directions + d;
      const w = layers[l][d];
      // Every step's input projection in one GEMM: [T, N, G·H].
      const xw = isProjection(w) ? w.ih(input) : linear(input, w.wIh, w.bIh);
      let h = h0 ? h0[k] : zeros(hOut);
      let c = mode === 'LSTM' ? (c0 ? c0[k] : zeros(H)) : null;
      if (!composed && !isProjection(w)) {
        const [hs, hT, cT] = nativeLayer(mode, xw, h, c, w.wHh, w.bHh, d === 1, lengths);
        outs.push(hs);
        hN.push(hT);
        if (cT !== null) cN.push(cT);
        continue;
      }
      const hh = isProjection(w) ? (state: F32) => w.hh(state) : (state: F32) => linear(state, w.wHh, w.bHh);
      const steps = unbind(xw, 0);
      const hs: F32[] = new Array(steps.length);
      for (let s = 0; s < steps.length; s++) {
        const t = d === 0 ? s : steps.length - 1 - s;
        const [hFull, c2] = cellStep(mode, steps[t], hh(h), h, c);
        const h2 = !isProjection(w) && w.wHr ? linear(hFull, w.wHr, null) : hFull;   // proj_size: h = h W_hr^T
        if (masks === null) {
          [h, c] = [h2, c2];
          hs[t] = h;
        } else {
          // Packed sequences: past its length a sample's output is 0 and its state is carried.
          h = where(masks[t], h2, h);
          if (c !== null) c = where(masks[t], c2 as F32, c);
          hs[t] = where(masks[t], h2, 0);
        }
      }
      outs.push(stack(hs, 0));
      hN.push(h);
      if (c !== null) cN.push(c);
    }
    input = directions === 1 ? outs[0] : concat(outs, 2);
    if (plan.dropout > 0 && plan.training && l < layers.length - 1) input = dropout(input, plan.dropout, true);
  }
  return [input, stack(hN, 0), mode === 'LSTM' ? stack(cN, 0) : null];
}

// ---- the public functions ------------------------------------------------------------------

/**
 * An LSTM over a sequence, with PyTorch's flat weight list; `hx` is [h0, c0] or null (zeros).
 * Returns [output, [h_n, c_n]]: output [T, N, D·H] ([N, T, D·H] with batchFirst), states
 * [layers · D, N, H].
 * @example const [y, [h, c]] = F.lstm(x, null, [wIh, wHh, bIh, bHh]);
 */
export function lstm(x: Tensor, hx: readonly [Tensor, Tensor] | null, weights: readonly Tensor[], options: RnnOptions = {}): [F32, [F32, F32]] {
  const [y, h, c] = runRnn('lstm', 'LSTM', x, hx, weights, options);
  return [y, [h, c as F32]];
}

/**
 * A GRU over a sequence (see `lstm`); `hx` is h0 or null. Returns [output, h_n].
 * @example const [y, h] = F.gru(x, null, weights, { bidirectional: true });
 */
export function gru(x: Tensor, hx: Tensor | null, weights: readonly Tensor[], options: RnnOptions = {}): [F32, F32] {
  const [y, h] = runRnn('gru', 'GRU', x, hx, weights, options);
  return [y, h];
}

/**
 * An Elman RNN over a sequence (see `lstm`), tanh or relu. Returns [output, h_n].
 * @example const [y, h] = F.rnn(x, null, weights, { nonlinearity: 'relu' });
 */
export function rnn(x: Tensor, hx: Tensor | null, weights: readonly Tensor[], options: RnnOptions & { nonlinearity?: 'tanh' | 'relu' } = {}): [F32, F32] {
  const op = 'rnn';
  const { nonlinearity, ...rest } = checkOptions<RnnOptions & { nonlinearity?: 'tanh' | 'relu' }>(op, options, ['bias', 'bidirectional', 'batchFirst', 'dropout', 'training', 'nonlinearity']);
  const act = nonlinearity ?? 'tanh';
  if (act !== 'tanh' && act !== 'relu') fail('E_ARG', `${op}: expected \`nonlinearity\` 'tanh' or 'relu', got ${describe(act)}`);
  const [y, h] = runRnn(op, act === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', x, hx, weights, rest);
  return [y, h];
}

/**
 * @internal One step of a cell (RNNCell, LSTMCell, GRUCell): x [N, in] or [in], states likewise
 * [N, H] or [H]. Returns h' (and c' for the LSTM).
 */
export function runCell(op: string, mode: RnnMode, x: unknown, h: unknown, c: unknown, w: (LayerWeights | RnnProjection) & { inputSize: number; hidden: number }): [F32, F32 | null] {
  const tx = checkFloat(op, 'input', x);
  if ((tx.rank !== 1 && tx.rank !== 2) || tx.shape[tx.rank - 1] !== w.inputSize) {
    fail('E_SHAPE', `${op}: expected \`input\` of shape [N, ${w.inputSize}] or [${w.inputSize}], got ${shapeStr(tx.shape)}`);
  }
  const device = isProjection(w) ? 'cpu' : w.wIh.device;
  if (tx.device !== device) {
    fail('E_DEVICE', isProjection(w) ? `${op}: quantized layers run on the CPU (as PyTorch's), got an input on ${tx.device}` : `${op}: the input is on ${tx.device} but the weights are on ${device}`);
  }
  const batched = tx.rank === 2;
  const N = batched ? tx.shape[0] : 1;
  const shape = batched ? [N, w.hidden] : [w.hidden];
  const th = h === null || h === undefined ? null : stateOf(op, 'h', h, shape, tx.device);
  const tc = c === null || c === undefined ? null : stateOf(op, 'c', c, shape, tx.device);
  return tidy(() => {
    const two = (t: F32) => (batched ? t : reshape(t, [1, t.shape[0]]));
    const zeros = () => zerosOn([N, w.hidden], { device: tx.device }) as F32;
    const h1 = th ? two(th) : zeros();
    const xw = isProjection(w) ? w.ih(two(tx)) : linear(two(tx), w.wIh, w.bIh);
    const hw = isProjection(w) ? w.hh(h1) : linear(h1, w.wHh, w.bHh);
    const [h2, c2] = cellStep(mode, xw, hw, h1, mode === 'LSTM' ? (tc ? two(tc) : zeros()) : null);
    const back = (t: F32) => (batched ? t : reshape(t, [w.hidden]));
    return [back(h2), c2 === null ? null : back(c2)];
  });
}
