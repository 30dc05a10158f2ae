/**
 * Recurrent nets (nn.RNN, LSTM, GRU; F.rnn, lstm, gru) as ONNX's RNN, LSTM and GRU nodes, one
 * per layer: nn/functional/rnn.ts `runRnn` shows the tracer the whole net as the op `recurrent`,
 * with its per-layer weights. ONNX's nodes take the sequence first, [T, N, features], and give
 * Y [T, directions, N, H], whose directions are put back side by side ([T, N, directions · H])
 * for the next layer; the final states Y_h and Y_c [directions, N, H] of every layer are
 * concatenated as PyTorch's h_n and c_n [layers · directions, N, H].
 *
 * The gates are stacked in another order: PyTorch's LSTM rows are (input, forget, cell, output),
 * ONNX's (input, output, forget, cell); PyTorch's GRU (reset, update, new), ONNX's (update,
 * reset, hidden), and PyTorch applies the reset gate after the hidden product
 * (linear_before_reset = 1 in ONNX).
 */
import type { TraceAttrs } from '../autograd';
import { fail } from '../errors';
import type { Tensor } from '../tensor';
import type { Emitter, ManyConverter } from './trace';

interface LayerWeights { wIh: Tensor; wHh: Tensor; bIh: Tensor | null; bHh: Tensor | null; wHr?: Tensor | null }

/** ONNX's gate order as PyTorch's gate indices. */
const GATE_ORDER: Readonly<Record<string, readonly number[]>> = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN_TANH: [0], RNN_RELU: [0] };

/** The rows of a [G·H, ...] weight (or [G·H] bias) with its gate blocks in ONNX's order. */
function reorder(data: Float32Array, order: readonly number[], rowsPerGate: number, width: number): Float32Array {
  const out = new Float32Array(data.length), block = rowsPerGate * width;
  order.forEach((gate, k) => out.set(data.subarray(gate * block, (gate + 1) * block), k * block));
  return out;
}

/** One layer's W [D, G·H, in], R [D, G·H, H] and B [D, 2 G·H] (input biases, then hidden ones), as constants. */
function layerConstants(e: Emitter, mode: string, weights: readonly LayerWeights[], H: number): [string, string, string | null] {
  const order = GATE_ORDER[mode], G = order.length, D = weights.length;
  const inSize = weights[0].wIh.shape[1];
  const W = new Float32Array(D * G * H * inSize), R = new Float32Array(D * G * H * H);
  const hasBias = weights[0].bIh !== null;
  const B = new Float32Array(D * 2 * G * H);
  weights.forEach((w, d) => {
    W.set(reorder(e.constantData(w.wIh, 'a weight_ih').data as Float32Array, order, H, inSize), d * G * H * inSize);
    R.set(reorder(e.constantData(w.wHh, 'a weight_hh').data as Float32Array, order, H, H), d * G * H * H);
    if (hasBias) {
      B.set(reorder(e.constantData(w.bIh, 'a bias_ih').data as Float32Array, order, H, 1), d * 2 * G * H);
      B.set(reorder(e.constantData(w.bHh, 'a bias_hh').data as Float32Array, order, H, 1), d * 2 * G * H + G * H);
    }
  });
  return [e.floats(W, [D, G * H, inSize]), e.floats(R, [D, G * H, H]), hasBias ? e.floats(B, [D, 2 * G * H]) : null];
}

export const recurrent: ManyConverter = (e, ys, [x, h0, c0], attrs: TraceAttrs) => {
  const mode = attrs.mode as string, layers = attrs.layers as readonly (readonly LayerWeights[])[];
  const H = attrs.hidden as number, D = attrs.directions as number, batchFirst = attrs.batchFirst as boolean, batched = attrs.batched as boolean;
  if (attrs.packed) fail('E_ARG', 'onnx.export: a recurrent layer over a PackedSequence has no ONNX converter yet; export it on a padded tensor');
  if (attrs.hOut !== H) fail('E_ARG', "onnx.export: an LSTM with projections (projSize) has no ONNX form (ONNX's LSTM has no projection)");
  const axisOf = (v: string, axes: number[]) => e.node('Unsqueeze', [v, e.ints(axes)]);
  // The sequence first, with a batch axis.
  let seq = e.value(x, 'the input');
  if (!batched) seq = axisOf(seq, [1]);
  else if (batchFirst) seq = e.node('Transpose', [seq], { perm: { ints: [1, 0, 2] } });
  // Layer l's initial states: rows l·D ... l·D + D - 1 of h0 and c0.
  const stateRows = (s: unknown, l: number, what: string): string => {
    if (s === null || s === undefined) return '';
    let v = e.value(s, what);
    if (!batched) v = axisOf(v, [1]);
    return e.node('Slice', [v, e.ints([l * D]), e.ints([l * D + D]), e.ints([0])]);
  };
  const opType = mode === 'LSTM' ? 'LSTM' : mode === 'GRU' ? 'GRU' : 'RNN';
  const hs: string[] = [], cs: string[] = [];
  layers.forEach((weights, l) => {
    const [W, R, B] = layerConstants(e, mode, weights, H);
    const attributes = {
      hidden_size: { i: H }, direction: { s: D === 2 ? 'bidirectional' : 'forward' },
      ...(mode === 'GRU' ? { linear_before_reset: { i: 1 } } : {}),
      ...(opType === 'RNN' ? { activations: { strings: Array<string>(D).fill(mode === 'RNN_RELU' ? 'Relu' : 'Tanh') } } : {}),
    };
    const inputs = [seq, W, R, B ?? '', '', stateRows(h0, l, 'h0'), ...(mode === 'LSTM' ? [stateRows(c0, l, 'c0')] : [])];
    const [Y, Yh, Yc] = e.nodeOutputs(opType, inputs, attributes, mode === 'LSTM' ? 3 : 2);
    // Y [T, D, N, H] -> [T, N, D·H]
    seq = e.node('Reshape', [e.node('Transpose', [Y], { perm: { ints: [0, 2, 1, 3] } }), e.ints([0, 0, -1])]);
    hs.push(Yh);
    if (Yc !== undefined) cs.push(Yc);
  });
  const joined = (states: string[]) => {
    const all = states.length === 1 ? states[0] : e.node('Concat', states, { axis: { i: 0 } });
    return batched ? all : e.node('Squeeze', [all, e.ints([1])]);
  };
  let out = seq;
  if (!batched) out = e.node('Squeeze', [out, e.ints([1])]);
  else if (batchFirst) out = e.node('Transpose', [out], { perm: { ints: [1, 0, 2] } });
  return [out, joined(hs), ys[2] === null ? '' : joined(cs)];
};
