/**
 * nn.RNN, LSTM, GRU and their cells: against PyTorch 1.13's own layers in float64
 * (test/fixtures/make/rnn.py: outputs, final states and every gradient; LSTM with projSize too), against a float64
 * reference written here from the definitions, and against finite differences through the tape;
 * dropout between layers, a sequence task an LSTM must learn, typed refusals, and the GPU.
 */
import { expect } from 'chai';
import * as path from 'path';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { hashed } from './hashed';
import { expectClose, expectError, loadFixture, rng, settle, tapeCheck } from './helpers';

const { F, nn, tensor, memory, noGrad, tidy } = cc;
type T = cc.Tensor<'float32'>;

interface Case {
  kind: 'LSTM' | 'GRU' | 'RNN' | 'LSTMCell' | 'GRUCell' | 'RNNCell';
  options: Record<string, number | boolean | string>;
  shape: number[];
  withState: boolean;
  lengths: number[] | null; enforceSorted: boolean | null;
  keys: string[];
  output: number[]; outputShape: number[];
  hn: number[] | null; cn: number[] | null;
  dx: number[]; dh0: number[] | null; dc0: number[] | null;
  dparams: Record<string, number[]>;
  repr: string;
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const h = (shape: readonly number[], seed: number, bound: number) => tensor(hashed(size(shape), seed, bound), { shape: [...shape] });

function build(c: Case): cc.nn.Module {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.options)) if (k !== 'input_size' && k !== 'hidden_size') o[camel(k)] = v;
  const I = c.options.input_size as number, H = c.options.hidden_size as number;
  switch (c.kind) {
    case 'LSTM': return new nn.LSTM(I, H, o);
    case 'GRU': return new nn.GRU(I, H, o);
    case 'RNN': return new nn.RNN(I, H, o);
    case 'LSTMCell': return new nn.LSTMCell(I, H, o);
    case 'GRUCell': return new nn.GRUCell(I, H, o);
    default: return new nn.RNNCell(I, H, o);
  }
}

/** Every parameter k of the state dict from hashed(numel, k, 0.5), as rnn.py fills PyTorch's. */
function fill(m: cc.nn.Module): void {
  const state = m.stateDict();
  const filled: Record<string, cc.Tensor> = {};
  Object.entries(state).forEach(([name, t], k) => { filled[name] = h(t.shape, k, 0.5); t.dispose(); });
  m.loadStateDict(filled);
  for (const t of Object.values(filled)) t.dispose();
}

// ---- a float64 reference, from the definitions ------------------------------------------------

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** y = W v + b for W [rows, cols] (row-major). */
function affine(W: Float64Array, b: Float64Array | null, v: ArrayLike<number>, rows: number): Float64Array {
  const cols = v.length, out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b[r] : 0;
    for (let k = 0; k < cols; k++) s += W[r * cols + k] * v[k];
    out[r] = s;
  }
  return out;
}

type Mode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/** One step of a cell for one sample: [h', c']. */
function refCell(mode: Mode, x: ArrayLike<number>, hp: Float64Array, cp: Float64Array, w: Float64Array[], H: number): [Float64Array, Float64Array] {
  const [wIh, wHh, bIh, bHh] = w;
  const G = mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
  const a = affine(wIh, bIh ?? null, x, G * H), b = affine(wHh, bHh ?? null, hp, G * H);
  const h2 = new Float64Array(H), c2 = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    if (mode === 'LSTM') {
      const i = sig(a[j] + b[j]), f = sig(a[H + j] + b[H + j]), g = Math.tanh(a[2 * H + j] + b[2 * H + j]), o = sig(a[3 * H + j] + b[3 * H + j]);
      c2[j] = f * cp[j] + i * g;
      h2[j] = o * Math.tanh(c2[j]);
    } else if (mode === 'GRU') {
      const r = sig(a[j] + b[j]), z = sig(a[H + j] + b[H + j]), n = Math.tanh(a[2 * H + j] + r * b[2 * H + j]);
      h2[j] = (1 - z) * n + z * hp[j];
    } else {
      const s = a[j] + b[j];
      h2[j] = mode === 'RNN_TANH' ? Math.tanh(s) : Math.max(0, s);
    }
  }
  return [h2, c2];
}

/** A stacked, maybe bidirectional net over x [T][N][in] from zero states: output [T][N][D·H]. */
function refRnn(mode: Mode, x: number[][][], weights: Float64Array[], layers: number, D: number, H: number, bias: boolean): number[][][] {
  const per = bias ? 4 : 2;
  let input = x;
  const T = x.length, N = x[0].length;
  for (let l = 0; l < layers; l++) {
    const out = Array.from({ length: T }, () => Array.from({ length: N }, () => [] as number[]));
    for (let d = 0; d < D; d++) {
      const w = weights.slice((l * D + d) * per, (l * D + d + 1) * per);
      for (let n = 0; n < N; n++) {
        let hp: Float64Array = new Float64Array(H), cp: Float64Array = new Float64Array(H);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          [hp, cp] = refCell(mode, input[t][n], hp, cp, w, H);
          out[t][n].push(...hp);
        }
      }
    }
    // Forward direction's H values first, then the reverse's, for each (t, n).
    input = out;
  }
  return input;
}

// ---- tests -----------------------------------------------------------------------------------

describe('nn.RNN, nn.LSTM, nn.GRU and the cells', function () {
  this.timeout(60000);

  describe('against PyTorch 1.13 (float64 fixture: values, final states and every gradient)', () => {
    for (const c of loadFixture<{ cases: Case[] }>('rnn').cases) {
      it(`${c.repr}, input ${JSON.stringify(c.shape)}${c.withState ? ', with initial states' : ''}${c.lengths ? `, packed with lengths ${c.lengths}` : ''}`, () => {
        const before = memory().tensors;
        const m = build(c);
        const state = m.stateDict();
        expect(Object.keys(state)).to.deep.equal(c.keys);
        for (const t of Object.values(state)) t.dispose();
        expect(`${m.typeName}(${m.extraRepr()})`).to.equal(c.repr);
        fill(m);
        tidy(() => {
          const x = h(c.shape, 5000, 1);
          x.requiresGrad = true;
          const cell = c.kind.endsWith('Cell'), lstm = c.kind.startsWith('LSTM');
          const H = c.options.hidden_size as number;
          let sshape: number[];
          if (cell) sshape = c.shape.length === 2 ? [c.shape[0], H] : [H];
          else {
            const L = ((c.options.num_layers as number) ?? 1) * (c.options.bidirectional ? 2 : 1);
            sshape = c.shape.length === 3 ? [L, c.options.batch_first ? c.shape[0] : c.shape[1], H] : [L, H];
          }
          // With projSize, h (and h0) has projSize features, c keeps hiddenSize.
          const hshape = [...sshape.slice(0, -1), (c.options.proj_size as number) || H];
          const h0 = c.withState ? h(hshape, 6000, 0.5) : null;
          const c0 = c.withState && lstm ? h(sshape, 7000, 0.5) : null;
          if (h0) h0.requiresGrad = true;
          if (c0) c0.requiresGrad = true;
          let y: T, hn: T | null = null, cn: T | null = null;
          if (c.lengths) {
            // Through pack_padded_sequence and back (PyTorch's pad_packed_sequence is what the fixture holds).
            const batchFirst = Boolean(c.options.batch_first);
            const packed = nn.utils.rnn.packPaddedSequence(x, c.lengths, { batchFirst, enforceSorted: c.enforceSorted! });
            let out: cc.nn.PackedSequence;
            if (c.kind === 'LSTM') [out, [hn, cn]] = (m as cc.nn.LSTM).forwardWithState(packed, c0 ? [h0!, c0] : null);
            else [out, hn] = (m as cc.nn.GRU).forwardWithState(packed, h0);
            [y] = nn.utils.rnn.padPackedSequence(out, { batchFirst });
            // call() gives the same, padded in the module's layout.
            expectClose(noGrad(() => m.call(packed, c0 ? [h0!, c0] : h0)).dataSync(), y.dataSync(), 0, 0, 'call(packed)');
            packed.dispose(); out.dispose();
          } else if (c.kind === 'LSTM') [y, [hn, cn]] = (m as cc.nn.LSTM).forwardWithState(x, c0 ? [h0!, c0] : null);
          else if (c.kind === 'LSTMCell') [y, cn] = (m as cc.nn.LSTMCell).forwardWithState(x, c0 ? [h0!, c0] : null);
          else if (cell) y = m.call(x, h0) as T;
          else [y, hn] = (m as cc.nn.GRU).forwardWithState(x, h0);
          expect(y.shape).to.deep.equal(c.outputShape);
          const scale = (v: number[]) => Math.max(1, ...v.map(Math.abs));
          expectClose(y.dataSync(), c.output, 1e-4, 1e-5 * scale(c.output), 'output');
          let loss = cc.sum(cc.mul(y, h(y.shape, 8000, 1)));
          if (hn && c.hn) {
            expectClose(hn.dataSync(), c.hn, 1e-4, 1e-5, 'h_n');
            loss = cc.add(loss, cc.sum(cc.mul(hn, h(hn.shape, 8100, 1))));
          }
          if (cn && c.cn) {
            expectClose(cn.dataSync(), c.cn, 1e-4, 1e-5, 'c_n');
            loss = cc.add(loss, cc.sum(cc.mul(cn, h(cn.shape, 8200, 1))));
          }
          loss.backward();
          expectClose(x.grad!.dataSync(), c.dx, 1e-4, 1e-5 * scale(c.dx), 'dx');
          if (c.dh0) expectClose(h0!.grad!.dataSync(), c.dh0, 1e-4, 1e-5 * scale(c.dh0), 'dh0');
          if (c.dc0) expectClose(c0!.grad!.dataSync(), c.dc0, 1e-4, 1e-5 * scale(c.dc0), 'dc0');
          for (const [name, p] of m.namedParameters()) expectClose(p.grad!.dataSync(), c.dparams[name], 1e-4, 1e-5 * scale(c.dparams[name]), `d${name}`);
        });
        m.dispose();
        expect(memory().tensors).to.equal(before);
      });
    }
  });

  it('a PyTorch checkpoint (torch.save of an LSTM\'s state dict) loads as it is and gives PyTorch\'s output', () => {
    const c = loadFixture<{ cases: Case[] }>('rnn').cases[0];   // LSTM(3, 4, num_layers=2, bidirectional=True), pt_lstm.pt's weights
    const weights = cc.io.loadPytorch(path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'pt_lstm.pt'));
    const m = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const result = m.loadStateDict(weights);
    expect(result.missingKeys).to.deep.equal([]);
    expect(result.unexpectedKeys).to.deep.equal([]);
    for (const t of Object.values(weights)) t.dispose();
    tidy(() => {
      const [y] = noGrad(() => m.forwardWithState(h(c.shape, 5000, 1), [h([4, 2, 4], 6000, 0.5), h([4, 2, 4], 7000, 0.5)]));
      expectClose(y.dataSync(), c.output, 1e-4, 1e-5, 'output');
    });
    m.dispose();
  });

  it('matches a float64 reference from the definitions on longer sequences and wider states', () => {
    const cases: [Mode, number, boolean, boolean][] = [['LSTM', 2, true, true], ['GRU', 2, true, false], ['RNN_TANH', 3, false, true], ['RNN_RELU', 1, true, true]];
    cases.forEach(([mode, layers, bidirectional, bias], k) => {
      const T = 9, N = 3, I = 5, H = 7, D = bidirectional ? 2 : 1;
      const opts = { numLayers: layers, bidirectional, bias };
      const m = mode === 'LSTM' ? new nn.LSTM(I, H, opts) : mode === 'GRU' ? new nn.GRU(I, H, opts) : new nn.RNN(I, H, { ...opts, nonlinearity: mode === 'RNN_TANH' ? 'tanh' : 'relu' });
      const weights = m.parameters().map((p) => Float64Array.from(p.dataSync()));
      const next = rng(10 + k);
      const xv = Float64Array.from({ length: T * N * I }, () => Math.fround(2 * next() - 1));
      const x = tensor(Float32Array.from(xv), { shape: [T, N, I] });
      const y = noGrad(() => m.call(x));
      const xs = Array.from({ length: T }, (_, t) => Array.from({ length: N }, (_, n) => Array.from(xv.subarray((t * N + n) * I, (t * N + n + 1) * I))));
      const ref = refRnn(mode, xs, weights, layers, D, H, bias).flat(2);
      expect(y.shape).to.deep.equal([T, N, D * H]);
      expectClose(y.dataSync(), ref, 1e-4, 1e-5, mode);
      x.dispose(); y.dispose(); m.dispose();
    });
  });

  it('gradients through the tape match finite differences (F.lstm, F.gru, F.rnn, two layers, both directions; LSTM with projections)', () => {
    const T = 4, N = 2, I = 3, H = 3;
    const shapes = (G: number) => [[G * H, I], [G * H, H], [G * H], [G * H], [G * H, I], [G * H, H], [G * H], [G * H],
      [G * H, 2 * H], [G * H, H], [G * H], [G * H], [G * H, 2 * H], [G * H, H], [G * H], [G * H]];
    const inputs = (G: number, withC: boolean) => [{ shape: [T, N, I] }, { shape: [4, N, H] }, ...(withC ? [{ shape: [4, N, H] }] : []), ...shapes(G).map((shape) => ({ shape }))];
    const opts = { bidirectional: true };
    tapeCheck('lstm', inputs(4, true), ([x, h0, c0, ...w]) => {
      const [y, [hn, cn]] = F.lstm(x, [h0, c0], w, opts);
      return cc.concat([cc.reshape(y, [-1]), cc.reshape(hn, [-1]), cc.reshape(cn, [-1])]);
    }, { samples: 12 });
    tapeCheck('gru', inputs(3, false), ([x, h0, ...w]) => {
      const [y, hn] = F.gru(x, h0, w, opts);
      return cc.concat([cc.reshape(y, [-1]), cc.reshape(hn, [-1])]);
    }, { samples: 12 });
    tapeCheck('rnn', inputs(1, false), ([x, h0, ...w]) => F.rnn(x, h0, w, opts)[0], { samples: 12 });
    // projSize P = 2: w_hh [4H, P], w_hr [P, H] after the biases, the second layer's input 2P wide.
    const P = 2, proj = [[4 * H, I], [4 * H, P], [4 * H], [4 * H], [P, H], [4 * H, P], [4 * H, P], [4 * H], [4 * H], [P, H]];
    tapeCheck('lstm projSize', [{ shape: [T, N, I] }, { shape: [2, N, P] }, { shape: [2, N, H] }, ...proj.map((shape) => ({ shape }))], ([x, h0, c0, ...w]) => {
      const [y, [hn, cn]] = F.lstm(x, [h0, c0], w);
      return cc.concat([cc.reshape(y, [-1]), cc.reshape(hn, [-1]), cc.reshape(cn, [-1])]);
    }, { samples: 12 });
    // A cell, unbatched: the input's and the states' gradients.
    const cell = new nn.LSTMCell(I, H, { bias: false });
    tapeCheck('LSTMCell', [{ shape: [I] }, { shape: [H] }, { shape: [H] }], ([x, hp, cp]) => cc.concat(cell.forwardWithState(x, [hp, cp])), { samples: 12 });
    cell.dispose();
  });

  it('drops out between layers in training only; eval is the plain net', () => {
    cc.manualSeed(3);
    const m = new nn.GRU(4, 5, { numLayers: 3, dropout: 0.5 });
    const plain = new nn.GRU(4, 5, { numLayers: 3 });
    const state = m.stateDict();
    plain.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
    const x = randomCpu([6, 2, 4], 1);
    const a = noGrad(() => m.call(x)), b = noGrad(() => m.call(x));
    expect(Array.from(a.dataSync())).to.not.deep.equal(Array.from(b.dataSync()));
    m.eval();
    const e = noGrad(() => m.call(x)), p = noGrad(() => plain.call(x));
    expect(Array.from(e.dataSync())).to.deep.equal(Array.from(p.dataSync()));
    // p = 1 drops the whole output of the first two layers: the last layer sees zeros.
    const all = new nn.GRU(4, 5, { numLayers: 2, dropout: 1 });
    const zerosIn = new nn.GRU(5, 5);
    const st = all.stateDict();
    zerosIn.loadStateDict({ weight_ih_l0: st.weight_ih_l1, weight_hh_l0: st.weight_hh_l1, bias_ih_l0: st.bias_ih_l1, bias_hh_l0: st.bias_hh_l1 });
    const z = cc.zeros([6, 2, 5]);
    const d = noGrad(() => all.call(x)), r = noGrad(() => zerosIn.call(z));
    expectClose(d.dataSync(), r.dataSync(), 0, 0, 'dropout 1');
    for (const t of [...Object.values(st), x, a, b, e, p, z, d, r]) t.dispose();
    for (const mod of [m, plain, all, zerosIn]) mod.dispose();
  });

  it('batchFirst, unbatched input and an empty batch follow PyTorch\'s layouts', () => {
    const m = new nn.LSTM(3, 4, { batchFirst: true, bidirectional: true });
    const x = randomCpu([2, 5, 3], 4);
    const [y, [hn, cn]] = noGrad(() => m.forwardWithState(x));
    expect(y.shape).to.deep.equal([2, 5, 8]);
    expect(hn.shape).to.deep.equal([2, 2, 4]);
    // Sample 1 alone, unbatched [T, in]: its rows of the batched run.
    const x1 = cc.squeeze(cc.narrow(x, 0, 1, 1), 0);
    const [y1, [h1]] = noGrad(() => m.forwardWithState(x1));
    expect(y1.shape).to.deep.equal([5, 8]);
    expect(h1.shape).to.deep.equal([2, 4]);
    expectClose(y1.dataSync(), cc.squeeze(cc.narrow(y, 0, 1, 1), 0).dataSync(), 1e-6, 1e-7, 'unbatched');
    const e = noGrad(() => m.call(cc.zeros([0, 5, 3])));
    expect(e.shape).to.deep.equal([0, 5, 8]);
    for (const t of [x, y, hn, cn, x1, y1, h1, e]) t.dispose();
    m.dispose();
  });

  it('a relu RNN keeps NaN as PyTorch\'s relu does, and passes the gradient at NaN', () => {
    // One step, input size 1, hidden 1, weight_ih 1 and the rest 0: h = relu(x).
    const m = new nn.RNN(1, 1, { nonlinearity: 'relu', bias: false });
    m.loadStateDict({ weight_ih_l0: tensor([[1]]), weight_hh_l0: tensor([[0]]) });
    const x = tensor([NaN, -0, -2, 3], { shape: [1, 4, 1] });
    x.requiresGrad = true;
    const y = m.call(x);
    const v = Array.from(y.dataSync());
    expect(v[0]).to.be.NaN;
    expect(v.slice(1)).to.deep.equal([0, 0, 3]);
    cc.sum(y).backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1, 0, 0, 1]);
    x.dispose(); y.dispose(); m.dispose();
  });

  it('an LSTM learns to recall the first symbol of a sequence after 5 distractors', async () => {
    cc.manualSeed(0);
    const T = 6, N = 32, C = 4;
    class Recall extends nn.Module {
      lstm = this.registerModule('lstm', new nn.LSTM(C, 24));
      fc = this.registerModule('fc', new nn.Linear(24, C));
      forward(x: cc.Tensor) {
        const [, [hn]] = this.lstm.forwardWithState(x);
        return this.fc.call(cc.squeeze(hn, 0));
      }
    }
    const net = new Recall();
    const opt = new cc.optim.Adam(net.parameters(), { lr: 0.01 });
    const next = rng(5);
    const batch = () => {
      const labels = Int32Array.from({ length: N }, () => Math.floor(next() * C));
      const x = new Float32Array(T * N * C);
      for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) x[(t * N + n) * C + (t === 0 ? labels[n] : Math.floor(next() * C))] = 1;
      return { x: tensor(x, { shape: [T, N, C] }), y: tensor(labels, { dtype: 'int32' }) };
    };
    for (let step = 0; step < 300; step++) {
      const { x, y } = batch();
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(net.call(x), y).backward();
        opt.step();
      });
      x.dispose(); y.dispose();
    }
    const { x, y } = batch();
    const predicted = noGrad(() => cc.argmax(net.call(x), 1));
    const p = predicted.dataSync(), l = y.dataSync();
    const accuracy = p.filter((v, i) => v === l[i]).length / N;
    expect(accuracy).to.be.at.least(0.9);
    for (const t of [x, y, predicted]) t.dispose();
    net.dispose();
  });

  it('nn.utils.rnn: padSequence, packSequence, PyTorch\'s packed data and batch sizes, padPackedSequence', async () => {
    await settle();
    const before = memory().tensors;
    const { rnn } = nn.utils;
    const a = tensor([[1, 1], [2, 2], [3, 3]]), b = tensor([[4, 4]]), c = tensor([[5, 5], [6, 6]]);
    const padded = rnn.padSequence([a, b, c], { paddingValue: -1 });
    expect(padded.shape).to.deep.equal([3, 3, 2]);
    expect(Array.from(padded.dataSync())).to.deep.equal([1, 1, 4, 4, 5, 5, 2, 2, -1, -1, 6, 6, 3, 3, -1, -1, -1, -1]);
    const packed = rnn.packSequence([a, b, c], { enforceSorted: false });
    expect(packed.lengths).to.deep.equal([3, 1, 2]);
    expect(packed.batchSizes).to.deep.equal([3, 2, 1]);
    expect(packed.sortedIndices).to.deep.equal([0, 2, 1]);
    const data = packed.data;   // time by time, longest first: a1 c5 b4 | a2 c6 | a3
    expect(Array.from(data.dataSync())).to.deep.equal([1, 1, 5, 5, 4, 4, 2, 2, 6, 6, 3, 3]);
    const [back, lengths] = rnn.padPackedSequence(packed, { batchFirst: true, paddingValue: 9, totalLength: 4 });
    expect(back.shape).to.deep.equal([3, 4, 2]);
    expect(Array.from(back.dataSync())).to.deep.equal([1, 1, 2, 2, 3, 3, 9, 9, 4, 4, 9, 9, 9, 9, 9, 9, 5, 5, 6, 6, 9, 9, 9, 9]);
    expect(Array.from(lengths.dataSync())).to.deep.equal([3, 1, 2]);
    // The padding of a packed batch is zeroed and gets no gradient.
    const x = tensor([[1], [2], [7], [8]], { shape: [2, 2, 1] });
    x.requiresGrad = true;
    const p2 = rnn.packPaddedSequence(x, [2, 1]);
    expect(Array.from(p2.padded.dataSync())).to.deep.equal([1, 2, 7, 0]);
    const [y] = rnn.padPackedSequence(p2);
    const total = cc.sum(y);
    total.backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1, 1, 1, 0]);
    for (const t of [a, b, c, padded, data, back, lengths, x, y, total]) t.dispose();
    packed.dispose(); p2.dispose();
    await settle();   // the where's saved mask goes with the graph, at collection
    expect(memory().tensors).to.equal(before);
    expectError(() => rnn.packPaddedSequence(cc.zeros([3, 2, 1]), [1, 2]), 'E_ARG', /decreasing order/);
    expectError(() => rnn.packPaddedSequence(cc.zeros([3, 2, 1]), [4, 2]), 'E_ARG', /longer than the 3 steps/);
    expectError(() => rnn.packPaddedSequence(cc.zeros([3, 2, 1]), [2, 0]), 'E_ARG', /lengths/);
    expectError(() => rnn.packPaddedSequence(cc.zeros([3, 2, 1]), [2]), 'E_ARG', /2 lengths/);
    expectError(() => rnn.padSequence([cc.zeros([2, 3]), cc.zeros([2, 4])]), 'E_SHAPE', /\[L, 3\]/);
    expectError(() => rnn.padPackedSequence(cc.zeros([2]) as never), 'E_ARG', /PackedSequence/);
  });

  it('refuses bad arguments and inputs with typed errors', () => {
    expectError(() => new nn.LSTM(0, 4), 'E_ARG');
    expectError(() => new nn.LSTM(3, 4, { projSize: 4 }), 'E_ARG', /projSize.*below/);
    expectError(() => new nn.LSTM(3, 4, { projSize: -1 }), 'E_ARG', /projSize/);
    const projected = new nn.LSTM(3, 4, { projSize: 2 });
    expectError(() => projected.call(cc.zeros([5, 2, 3]), [cc.zeros([1, 2, 4]), cc.zeros([1, 2, 4])]), 'E_SHAPE', /h0.*\[1, 2, 2\]/);
    expectError(() => F.lstm(cc.zeros([5, 2, 3]), null, projected.flatWeights.slice(0, 4)), 'E_ARG', /projections of size 2/);
    projected.dispose();
    expectError(() => new nn.GRU(3, 4, { dropout: 1.5 }), 'E_ARG', /dropout/);
    expectError(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as 'tanh' }), 'E_ARG', /nonlinearity/);
    expectError(() => new (nn.RNN as unknown as new (...a: unknown[]) => cc.nn.RNN)(3, 4, 1, 'tanh', true, false, 0, false, 7), 'E_ARG');
    expectError(() => new nn.LSTM(3, 4, { numLayer: 2 } as never), 'E_ARG', /numLayer/);
    const m = new nn.LSTM(3, 4, 2);
    expectError(() => m.call(cc.zeros([5, 2, 4])), 'E_SHAPE', /weights\[0\].*\[16, 3\]|shape/);
    expectError(() => m.call(cc.zeros([5])), 'E_SHAPE', /\[T, N, features\]/);
    expectError(() => m.call(cc.zeros([0, 2, 3])), 'E_SHAPE', /at least one step/);
    expectError(() => m.call(cc.zeros([5, 2, 3], 'int32')), 'E_DTYPE');
    expectError(() => m.call(cc.zeros([5, 2, 3]), cc.zeros([2, 2, 4]) as never), 'E_ARG', /\[h0, c0\]/);
    expectError(() => m.call(cc.zeros([5, 2, 3]), [cc.zeros([2, 2, 4]), cc.zeros([1, 2, 4])]), 'E_SHAPE', /c0/);
    expectError(() => m.call(cc.zeros([5, 2, 3]), [cc.zeros([2, 3, 4]), cc.zeros([2, 2, 4])]), 'E_SHAPE', /h0/);
    const g = new nn.GRU(3, 4);
    expectError(() => g.call(cc.zeros([5, 2, 3]), [cc.zeros([1, 2, 4])] as never), 'E_ARG', /hx/);
    expectError(() => F.lstm(cc.zeros([5, 2, 3]), null, m.flatWeights.slice(0, 5)), 'E_ARG', /4 weights per layer/);
    expectError(() => F.gru(cc.zeros([5, 2, 3]), null, m.flatWeights.slice(0, 4)), 'E_SHAPE', /w_hh/);
    const cell = new nn.GRUCell(3, 4);
    expectError(() => cell.call(cc.zeros([2, 4])), 'E_SHAPE', /\[N, 3\]/);
    expectError(() => cell.call(cc.zeros([2, 3]), cc.zeros([3, 4])), 'E_SHAPE', /`h`/);
    expectError(() => new nn.LSTMCell(3, 4).forwardWithState(cc.zeros([2, 3]), cc.zeros([2, 4]) as never), 'E_ARG', /\[h, c\]/);
    expectError(() => g.call(nn.utils.rnn.packPaddedSequence(cc.zeros([5, 2]), [5, 3])), 'E_SHAPE', /PackedSequence of \[T, N, features\]/);
    m.dispose(); g.dispose(); cell.dispose();
  });
});

describeCuda('recurrent layers on the GPU', () => {
  it('LSTM, GRU and RNN (composed gates) match the CPU\'s native ones, gradients included', () => {
    const x = randomCpu([6, 3, 4], 1), h0 = randomCpu([4, 3, 5], 2), c0 = randomCpu([4, 3, 5], 3);
    const w = (G: number) => [[G * 5, 4], [G * 5, 5], [G * 5], [G * 5], [G * 5, 4], [G * 5, 5], [G * 5], [G * 5],
      [G * 5, 10], [G * 5, 5], [G * 5], [G * 5], [G * 5, 10], [G * 5, 5], [G * 5], [G * 5]].map((s, k) => randomCpu(s, 10 + k, -0.5, 0.5));
    const o = { bidirectional: true };
    compareDevices((t, a, b, ...ws) => { const [y, [hn, cn]] = F.lstm(t, [a, b], ws, o); return cc.concat([cc.reshape(y, [-1]), cc.reshape(hn, [-1]), cc.reshape(cn, [-1])]); },
      [x, h0, c0, ...w(4)], { bound: 1e-5, grads: true, what: 'lstm' });
    compareDevices((t, a, ...ws) => { const [y, hn] = F.gru(t, a, ws, o); return cc.concat([cc.reshape(y, [-1]), cc.reshape(hn, [-1])]); },
      [x, h0, ...w(3)], { bound: 1e-5, grads: true, what: 'gru' });
    compareDevices((t, a, ...ws) => F.rnn(t, a, ws, { ...o, nonlinearity: 'relu' })[0], [x, h0, ...w(1)], { bound: 1e-5, grads: true, what: 'rnn' });
    // Packed sequences: the composed steps' masks against the CPU kernel's lengths.
    compareDevices((t, a, b) => {
      const lstm = new nn.LSTM(4, 5, { bidirectional: true, numLayers: 2 }).to(t.device);
      const state = lstm.stateDict();
      lstm.loadStateDict(Object.fromEntries(Object.entries(state).map(([k, v], i) => [k, randomCpu(v.shape, 50 + i, -0.5, 0.5)])));
      const packed = nn.utils.rnn.packPaddedSequence(t, [4, 6, 2], { enforceSorted: false });
      const [out, [hn, cn]] = lstm.forwardWithState(packed, [a, b]);
      return [out.padded, hn, cn];
    }, [x, h0, c0], { bound: 1e-5, grads: true, what: 'packed lstm' });
    // projSize: composed on both devices.
    compareDevices((t, a, b) => {
      const lstm = new nn.LSTM(4, 5, { bidirectional: true, numLayers: 2, projSize: 3 }).to(t.device);
      const state = lstm.stateDict();
      lstm.loadStateDict(Object.fromEntries(Object.entries(state).map(([k, v], i) => [k, randomCpu(v.shape, 70 + i, -0.5, 0.5)])));
      const [y, [hn, cn]] = lstm.forwardWithState(t, [cc.narrow(a, 2, 0, 3), b]);
      return [y, hn, cn];
    }, [x, h0, c0], { bound: 1e-5, grads: true, what: 'lstm projSize' });
    // Mixed devices are refused by class and code.
    const onGpu = x.to('cuda');
    expectError(() => F.lstm(onGpu, null, w(4)), 'E_DEVICE', /weights\[0\] is on cpu/);
    expectError(() => F.gru(onGpu, h0, w(3).map((t) => t.to('cuda')), o), 'E_DEVICE', /`hx` is on cpu/);
    const cell = new nn.GRUCell(4, 5);
    expectError(() => cell.call(onGpu.reshape([18, 4])), 'E_DEVICE', /weights are on cpu/);
    cell.dispose();
  });
});
