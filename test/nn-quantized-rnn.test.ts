// The dynamically quantized recurrent layers (lib/nn/quantized.ts): PyTorch's recipe, each
// layer's input projection quantized once for the whole sequence and h at every step, checked
// step by step against a float64 model of it fed with our own previous h (read from the output
// sequence), so that the 8-bit products match to the bit and only the gates' float arithmetic
// differs; then stacking, packed sequences, the cells, quantizeDynamic's default set (PyTorch's),
// state dicts and typed refusals.
import { expect } from 'chai';
import * as cc from '../lib';
import { describeCuda } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, rng, settle } from './helpers';
import { refLinear } from './quantized-reference';

const { nn } = cc;
const values = (t: cc.Tensor) => t.dataSync() as Float32Array;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function input(shape: number[], seed: number): cc.Tensor<'float32'> {
  const r = rng(seed), n = shape.reduce((a, b) => a * b, 1);
  return cc.tensor(Float32Array.from({ length: n }, () => r() * 3 - 1), { shape });
}

/** Rows [t * N, (t + 1) * N) of a [T, N, width] array, columns [c0, c0 + H). */
function slice(a: Float32Array, t: number, N: number, width: number, c0: number, H: number): Float32Array {
  const out = new Float32Array(N * H);
  for (let n = 0; n < N; n++) for (let j = 0; j < H; j++) out[n * H + j] = a[(t * N + n) * width + c0 + j];
  return out;
}

interface Direction { wIh: Float32Array; wHh: Float32Array; bIh: Float32Array | null; bHh: Float32Array | null }

/**
 * Checks one layer and direction of our output y [T, N, D·H] (columns [d·H, (d+1)·H)) against the
 * recipe: xw = q-linear(all of x [T·N, in]) once, then per step hw = q-linear(h_prev) with h_prev
 * our previous output (zeros first), and the cell's gates in float64 on those float32 projections.
 * Returns the last c (LSTM) for the final state's check.
 */
function checkSteps(mode: 'LSTM' | 'GRU', x: Float32Array, [T, N, I]: number[], y: Float32Array, D: number, d: number, H: number, w: Direction): number[] {
  const G = mode === 'LSTM' ? 4 : 3;
  const xw = refLinear(x, T * N, I, w.wIh, G * H, w.bIh);
  let c = new Array(N * H).fill(0);
  let prev: Float32Array = new Float32Array(N * H);
  for (let s = 0; s < T; s++) {
    const t = d === 0 ? s : T - 1 - s;
    const hw = refLinear(prev, N, H, w.wHh, G * H, w.bHh);
    const expected = new Float64Array(N * H);
    const nextC = new Array(N * H);
    for (let n = 0; n < N; n++)
      for (let j = 0; j < H; j++) {
        const gx = (g: number) => xw[(t * N + n) * G * H + g * H + j], gh = (g: number) => hw[n * G * H + g * H + j];
        if (mode === 'LSTM') {
          const [i, f, g, o] = [0, 1, 2, 3].map((k) => gx(k) + gh(k));
          nextC[n * H + j] = sigmoid(f) * c[n * H + j] + sigmoid(i) * Math.tanh(g);
          expected[n * H + j] = sigmoid(o) * Math.tanh(nextC[n * H + j]);
        } else {
          const r = sigmoid(gx(0) + gh(0)), z = sigmoid(gx(1) + gh(1)), nn_ = Math.tanh(gx(2) + r * gh(2));
          expected[n * H + j] = (1 - z) * nn_ + z * prev[n * H + j];
        }
      }
    c = nextC;
    const ours = slice(y, t, N, D * H, d * H, H);
    expectClose(ours, expected, 1e-5, 2e-6, `step ${t}, direction ${d}`);
    prev = ours;
  }
  return c;
}

/** Layer 0, direction d's float weights of a float LSTM or GRU. */
function weightsOf(m: cc.nn.LSTM | cc.nn.GRU, d: number): Direction {
  const p = Object.fromEntries(m.namedParameters());
  const get = (name: string) => { const t = p[`${name}_l0${d === 1 ? '_reverse' : ''}`]; return t ? values(t) : null; };
  return { wIh: get('weight_ih')!, wHh: get('weight_hh')!, bIh: get('bias_ih'), bHh: get('bias_hh') };
}

describe('nn.QuantizedLSTM and nn.QuantizedGRU', () => {
  it('LSTM, bidirectional: every step of both directions is the recipe; the final states are the last steps\'', () => {
    cc.manualSeed(3);
    const [T, N, I, H] = [6, 3, 10, 7];
    const lstm = new nn.LSTM(I, H, { bidirectional: true });
    const x = input([T, N, I], 1);
    const q = nn.QuantizedLSTM.fromFloat(lstm);
    const [y, [hN, cN]] = q.forwardWithState(x);
    expect(y.shape).to.deep.equal([T, N, 2 * H]);
    for (const d of [0, 1]) {
      const c = checkSteps('LSTM', values(x), [T, N, I], values(y), 2, d, H, weightsOf(lstm, d));
      expectBitIdentical(values(hN).slice(d * N * H, (d + 1) * N * H), slice(values(y), d === 0 ? T - 1 : 0, N, 2 * H, d * H, H), `h_n ${d}`);
      expectClose(values(cN).slice(d * N * H, (d + 1) * N * H), c, 1e-5, 2e-6, `c_n ${d}`);
    }
    // Close to the float LSTM: the weights' and the activations' roundings, and no more.
    const yf = values(cc.noGrad(() => lstm.call(x)));
    values(y).forEach((v, i) => expect(Math.abs(v - yf[i])).to.be.below(0.02));
    lstm.dispose(); q.dispose();
  });

  it('GRU, with and without biases, batchFirst and unbatched: every step is the recipe', () => {
    cc.manualSeed(4);
    const [T, N, I, H] = [5, 2, 9, 17];
    for (const bias of [true, false]) {
      const gru = new nn.GRU(I, H, { bias, batchFirst: true });
      const q = nn.QuantizedGRU.fromFloat(gru);
      const x = input([N, T, I], 2);
      const y = q.call(x);
      expect(y.shape).to.deep.equal([N, T, H]);
      const timeMajor = (t: cc.Tensor) => values(cc.transpose(t, 0, 1).clone());
      checkSteps('GRU', timeMajor(x), [T, N, I], timeMajor(y), 1, 0, H, weightsOf(gru, 0));
      // Unbatched [T, in]: as a batch of one.
      const one = cc.narrow(x, 0, 1, 1);
      expectBitIdentical(values(q.call(cc.reshape(one, [T, I]))), values(q.call(one)), 'unbatched');
      gru.dispose(); q.dispose();
    }
  });

  it('two layers are two one-layer layers stacked, to the bit; h0 and c0 are used', () => {
    cc.manualSeed(5);
    const [T, N, I, H] = [4, 3, 6, 8];
    const deep = new nn.LSTM(I, H, { numLayers: 2, bidirectional: true });
    const first = new nn.LSTM(I, H, { bidirectional: true }), second = new nn.LSTM(2 * H, H, { bidirectional: true });
    const sd = deep.stateDict();
    const layer = (l: number) => Object.fromEntries(Object.entries(sd).filter(([k]) => k.includes(`_l${l}`)).map(([k, v]) => [k.replace(`_l${l}`, '_l0'), v]));
    first.loadStateDict(layer(0));
    second.loadStateDict(layer(1));
    const [qd, q1, q2] = [deep, first, second].map((m) => nn.QuantizedLSTM.fromFloat(m));
    const x = input([T, N, I], 3), h0 = input([4, N, H], 4), c0 = input([4, N, H], 5);
    const [y, [hN, cN]] = qd.forwardWithState(x, [h0, c0]);
    const [y1, [h1, c1]] = q1.forwardWithState(x, [cc.narrow(h0, 0, 0, 2), cc.narrow(c0, 0, 0, 2)]);
    const [y2, [h2, c2]] = q2.forwardWithState(y1, [cc.narrow(h0, 0, 2, 2), cc.narrow(c0, 0, 2, 2)]);
    expectBitIdentical(values(y), values(y2), 'output');
    expectBitIdentical(values(hN), values(cc.concat([h1, h2], 0)), 'h_n');
    expectBitIdentical(values(cN), values(cc.concat([c1, c2], 0)), 'c_n');
    expect(values(q1.call(x))).to.not.deep.equal(values(y1));   // the states made a difference
    for (const m of [deep, first, second, qd, q1, q2]) m.dispose();
  });

  it('packed sequences: zeros past each length, the final state at each sample\'s last step, close to the float layer', () => {
    cc.manualSeed(6);
    const [T, N, I, H] = [5, 3, 4, 6];
    const gru = new nn.GRU(I, H);
    const q = nn.QuantizedGRU.fromFloat(gru);
    const x = input([T, N, I], 6);
    const lengths = [5, 2, 3];
    const packed = nn.utils.rnn.packPaddedSequence(x, lengths, { enforceSorted: false });
    const [out, hN] = q.forwardWithState(packed);
    const y = values(out.padded), h = values(hN);
    const [outF] = cc.noGrad(() => gru.forwardWithState(packed));
    const yf = values(outF.padded);
    for (let n = 0; n < N; n++)
      for (let t = 0; t < T; t++)
        for (let j = 0; j < H; j++) {
          const v = y[(t * N + n) * H + j];
          if (t >= lengths[n]) expect(v).to.equal(0);
          else expect(Math.abs(v - yf[(t * N + n) * H + j])).to.be.below(0.02);
          if (t === lengths[n] - 1) expect(h[n * H + j]).to.equal(v);
        }
    gru.dispose(); q.dispose();
  });
});

describe('nn.QuantizedRNNCell, nn.QuantizedLSTMCell, nn.QuantizedGRUCell', () => {
  it('one step is the recipe, for each cell (and relu), batched and unbatched', () => {
    cc.manualSeed(7);
    const [N, I, H] = [4, 5, 9];
    const x = input([N, I], 8), h = input([N, H], 9), c = input([N, H], 10);
    for (const [make, G] of [[() => new nn.RNNCell(I, H), 1], [() => new nn.RNNCell(I, H, { nonlinearity: 'relu' }), 1],
      [() => new nn.LSTMCell(I, H), 4], [() => new nn.GRUCell(I, H, { bias: false }), 3]] as const) {
      const cell = make();
      const name = cell.constructor.name as 'RNNCell' | 'LSTMCell' | 'GRUCell';
      const q = (nn[`Quantized${name}`] as { fromFloat(m: cc.nn.Module): cc.nn.Module & { forwardWithState?: unknown } }).fromFloat(cell);
      const p = Object.fromEntries(cell.namedParameters());
      const xw = refLinear(values(x), N, I, values(p.weight_ih), G * H, p.bias_ih ? values(p.bias_ih) : null);
      const hw = refLinear(values(h), N, H, values(p.weight_hh), G * H, p.bias_hh ? values(p.bias_hh) : null);
      const expected = new Float64Array(N * H), cs = values(c), hs = values(h);
      for (let n = 0; n < N; n++)
        for (let j = 0; j < H; j++) {
          const g = (k: number) => [xw[n * G * H + k * H + j], hw[n * G * H + k * H + j]];
          const sum = (k: number) => g(k)[0] + g(k)[1];
          if (G === 1) expected[n * H + j] = (cell as cc.nn.RNNCell).config()[2] && ((cell as cc.nn.RNNCell).config()[2] as { nonlinearity: string }).nonlinearity === 'relu' ? Math.max(sum(0), 0) : Math.tanh(sum(0));
          else if (G === 4) expected[n * H + j] = sigmoid(sum(3)) * Math.tanh(sigmoid(sum(1)) * cs[n * H + j] + sigmoid(sum(0)) * Math.tanh(sum(2)));
          else {
            const r = sigmoid(sum(0)), z = sigmoid(sum(1)), nn_ = Math.tanh(g(2)[0] + r * g(2)[1]);
            expected[n * H + j] = (1 - z) * nn_ + z * hs[n * H + j];
          }
        }
      const y = G === 4 ? q.call(x, [h, c]) : q.call(x, h);
      expectClose(values(y), expected, 1e-5, 2e-6, String(q));
      // Unbatched: as a batch of one (whose own range quantizes it).
      const row = (t: cc.Tensor, n: number) => cc.narrow(t, 0, 0, 1).reshape([n]);
      const one = G === 4 ? q.call(row(x, I), [row(h, H), row(c, H)]) : q.call(row(x, I), row(h, H));
      const batchOfOne = G === 4 ? q.call(cc.narrow(x, 0, 0, 1), [cc.narrow(h, 0, 0, 1), cc.narrow(c, 0, 0, 1)]) : q.call(cc.narrow(x, 0, 0, 1), cc.narrow(h, 0, 0, 1));
      expect(one.shape).to.deep.equal([H]);
      expectBitIdentical(values(one), values(batchOfOne), 'unbatched');
      cell.dispose(); q.dispose();
    }
  });
});

describe('nn.quantizeDynamic and the recurrent layers', () => {
  it('the default set is PyTorch\'s: Linear, LSTM, GRU and the cells, not Conv2d; the state dict round-trips', async () => {
    cc.manualSeed(8);
    const make = () => new nn.Sequential(new nn.Conv2d(1, 1, 1), new nn.LSTM(4, 5, { numLayers: 2 }), new nn.GRU(5, 3, { bidirectional: true }),
      new nn.LSTMCell(6, 2), new nn.GRUCell(6, 2), new nn.RNNCell(6, 2), new nn.Linear(6, 2));
    const model = make().eval();
    nn.quantizeDynamic(model);
    expect(model.children().map((m) => m.constructor.name)).to.deep.equal(
      ['Conv2d', 'QuantizedLSTM', 'QuantizedGRU', 'QuantizedLSTMCell', 'QuantizedGRUCell', 'QuantizedRNNCell', 'QuantizedLinear']);
    expect(Object.keys(model.stateDict())).to.include.members(['1.ih_l1.weight_packed', '1.hh_l0.bias', '2.ih_l0_reverse.weight_scale', '3.hh.weight_sum', '6.weight_packed']);
    // Another model quantized, then loaded with the first's state dict: the same outputs.
    const other = nn.quantizeDynamic(make().eval());
    other.loadStateDict(model.stateDict());
    const seq = input([3, 2, 4], 11), step = input([2, 6], 12);
    const run = (m: cc.nn.Sequential) => [values(m.at(2).call(m.at(1).call(seq))), ...[3, 4, 5, 6].map((i) => values(m.at(i).call(step)))];
    const [a, b] = [run(model), run(other)];
    a.forEach((v, i) => expectBitIdentical(b[i], v, `child ${i}`));
    // Built from its config alone (models.save / load), then loaded: the same.
    const [, lstm] = model.children() as [unknown, cc.nn.QuantizedLSTM];
    const rebuilt = new nn.QuantizedLSTM(...(lstm.config() as [number, number, object]));
    rebuilt.loadStateDict(lstm.stateDict());
    expectBitIdentical(values(rebuilt.call(seq)), values(lstm.call(seq)), 'rebuilt');
    model.dispose(); other.dispose(); rebuilt.dispose();
    await settle();
  });

  it('refuses with typed errors and changes nothing on a refusal', () => {
    const lstm = new nn.LSTM(3, 4);
    cc.noGrad(() => lstm.namedParameters().find(([k]) => k === 'weight_hh_l0')![1].fill_(NaN));
    const model = new nn.Sequential(new nn.Linear(3, 3), lstm);
    expectError(() => nn.quantizeDynamic(model), 'E_ARG', /`1\.weight_hh_l0` holds NaN or an infinity/);
    expect(model.at(0)).to.be.instanceOf(nn.Linear);
    expect(model.at(1)).to.equal(lstm);
    expectError(() => nn.quantizeDynamic(new nn.GRU(2, 2)), 'E_ARG', /QuantizedGRU\.fromFloat/);
    expectError(() => nn.QuantizedLSTM.fromFloat(new nn.GRU(2, 2) as never), 'E_ARG', /nn\.LSTM/);
    expectError(() => nn.QuantizedGRUCell.fromFloat(new nn.LSTMCell(2, 2) as never), 'E_ARG', /nn\.GRUCell/);
    // PyTorch's quantize_dynamic drops proj_size, then fails when called: refused here, naming the layer.
    const projected = new nn.Sequential(new nn.LSTM(3, 4, { projSize: 2 }));
    expectError(() => nn.quantizeDynamic(projected), 'E_ARG', /`0` has projSize 2.*leave nn\.LSTM out/);
    expect(nn.quantizeDynamic(projected, { types: [nn.Linear] }).at(0)).to.be.instanceOf(nn.LSTM);
    projected.dispose();
    const q = nn.QuantizedLSTM.fromFloat(new nn.LSTM(3, 4));
    expectError(() => q.call(cc.zeros([2, 1, 5])), 'E_SHAPE', /3 features/);
    expectError(() => q.call(cc.zeros([2, 1, 3]), [cc.zeros([1, 1, 4]), cc.zeros([2, 1, 4])]), 'E_SHAPE', /c0/);
    expectError(() => new nn.QuantizedGRU(3, 4, { projSize: 2 } as never), 'E_ARG');
    expectError(() => new nn.QuantizedRNNCell(3, 4, { nonlinearity: 'sigmoid' as never }), 'E_ARG', /nonlinearity/);
    const cell = nn.QuantizedLSTMCell.fromFloat(new nn.LSTMCell(3, 4));
    expectError(() => cell.call(cc.zeros([2, 3]), [cc.zeros([2, 4])] as never), 'E_ARG', /\[h, c\]/);
    expectError(() => cell.call(cc.zeros([2, 5])), 'E_SHAPE');
    expectError(() => q.call(cc.zeros([2, 1, 3], 'int32')), 'E_DTYPE', /float32/);
    expectError(() => cell.call(cc.zeros([2, 3], 'int32')), 'E_DTYPE', /float32/);
    // An empty batch gives an empty output, as the float layers.
    expect(q.call(cc.zeros([2, 0, 3])).shape).to.deep.equal([2, 0, 4]);
    expect(cell.call(cc.zeros([0, 3])).shape).to.deep.equal([0, 4]);
    // NaN in the input: the outputs of that sequence are NaN, nothing worse.
    const y = values(q.call(cc.full([2, 1, 3], NaN)));
    expect(Array.from(y).every(Number.isNaN)).to.equal(true);
    for (const m of [model, q, cell]) m.dispose();
  });
});

describeCuda('quantized recurrent layers and the GPU', () => {
  it('refuse a GPU input or a model on the GPU with E_DEVICE', () => {
    const q = nn.QuantizedGRU.fromFloat(new nn.GRU(3, 4));
    expectError(() => q.call(cc.zeros([2, 1, 3]).to('cuda')), 'E_DEVICE', /run on the CPU/);
    const cell = nn.QuantizedRNNCell.fromFloat(new nn.RNNCell(3, 4));
    expectError(() => cell.call(cc.zeros([2, 3]).to('cuda')), 'E_DEVICE', /run on the CPU/);
    const model = new nn.Sequential(new nn.LSTM(3, 2)).to('cuda');
    expectError(() => nn.quantizeDynamic(model), 'E_DEVICE', /model\.to\('cpu'\)/);
    expect(model.at(0)).to.be.instanceOf(nn.LSTM);
    q.dispose(); cell.dispose(); model.dispose();
  });
});
