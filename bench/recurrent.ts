/**
 * The recurrent layers (nn.LSTM, nn.GRU, nn.RNN and a cell) beside PyTorch-CPU's, at the same
 * thread count: a forward (no gradients) and a training forward + backward of sum(output), on a
 * CRNN-sized head (a sequence of 32-50 steps, batch 16, 128-256 features), a bidirectional
 * two-layer LSTM, and a batch-1 sequence of 100 steps (where each step's fixed cost shows).
 *
 *   node dist/bench/recurrent.js [--threads 2] [--only LSTM]   (after `npx tsc -p .`; ~1 min)
 */
import * as cc from '../lib';
import { runSideBySide, timeTidied, type SideCase } from './side-by-side';

type Things = Record<string, cc.nn.Module | cc.Tensor>;
const fwd = (m: cc.nn.Module | cc.Tensor, x: cc.nn.Module | cc.Tensor): unknown => cc.noGrad(() => (m as cc.nn.Module).call(x as cc.Tensor));
const train = (m: cc.nn.Module | cc.Tensor, x: cc.nn.Module | cc.Tensor): unknown => {
  const net = m as cc.nn.Module;
  net.zeroGrad();
  cc.sum(net.call(x as cc.Tensor)).backward();
  return net.parameters()[0].grad;
};

const CASES: SideCase<Things>[] = [
  ['LSTM 256->256 fwd [50,16,256]', (t) => fwd(t.lstm, t.x), 'nograd(lambda: lstm(x))'],
  ['LSTM 256->256 fwd+bwd', (t) => train(t.lstm, t.x), 'step(lstm, x)'],
  ['GRU 256->256 fwd [50,16,256]', (t) => fwd(t.gru, t.x), 'nograd(lambda: gru(x))'],
  ['GRU 256->256 fwd+bwd', (t) => train(t.gru, t.x), 'step(gru, x)'],
  ['RNN tanh 256->256 fwd+bwd', (t) => train(t.rnn, t.x), 'step(rnn, x)'],
  ['BiLSTM 2 layers 256->128 fwd [32,16,256]', (t) => fwd(t.bi, t.xs), 'nograd(lambda: bi(xs))'],
  ['BiLSTM 2 layers fwd+bwd', (t) => train(t.bi, t.xs), 'step(bi, xs)'],
  ['LSTM 64->64 fwd [100,1,64]', (t) => fwd(t.small, t.x1), 'nograd(lambda: small(x1))'],
  ['LSTMCell 512->512 step [64,512]', (t) => cc.noGrad(() => (t.cell as cc.nn.LSTMCell).forwardWithState(t.xc as cc.Tensor, [t.hc as cc.Tensor, t.cc as cc.Tensor])),
    'nograd(lambda: cell(xc, (hc, cc)))'],
];

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
torch.set_num_threads(${threads})
torch.manual_seed(0)
nn = torch.nn
x, xs, x1 = torch.randn(50, 16, 256), torch.randn(32, 16, 256), torch.randn(100, 1, 64)
xc, hc, cc = torch.randn(64, 512), torch.randn(64, 512), torch.randn(64, 512)
lstm, gru, rnn = nn.LSTM(256, 256), nn.GRU(256, 256), nn.RNN(256, 256)
bi, small, cell = nn.LSTM(256, 128, num_layers=2, bidirectional=True), nn.LSTM(64, 64), nn.LSTMCell(512, 512)
def nograd(f):
    with torch.no_grad():
        return f()
def step(m, x):
    m.zero_grad()
    y = m(x)
    y = y[0] if isinstance(y, tuple) else y
    y.sum().backward()
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    for _ in range(3): f()
    ts, t0 = [], time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - t0 < 0.4:
        s_ = time.perf_counter(); f(); ts.append((time.perf_counter() - s_) * 1e3)
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__
print(json.dumps(out))
`;

void runSideBySide<Things>({
  title: 'recurrent layers',
  unit: 'medians in ms',
  digits: 2,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => {
    cc.manualSeed(0);
    const nn = cc.nn;
    return {
      x: cc.randn([50, 16, 256]), xs: cc.randn([32, 16, 256]), x1: cc.randn([100, 1, 64]),
      xc: cc.randn([64, 512]), hc: cc.randn([64, 512]), cc: cc.randn([64, 512]),
      lstm: new nn.LSTM(256, 256), gru: new nn.GRU(256, 256), rnn: new nn.RNN(256, 256),
      bi: new nn.LSTM(256, 128, { numLayers: 2, bidirectional: true }), small: new nn.LSTM(64, 64), cell: new nn.LSTMCell(512, 512),
    };
  },
  timeOurs: timeTidied,
  dispose: (t) => { for (const x of Object.values(t)) x.dispose(); },
});
