/**
 * What one small op costs, its arithmetic aside: the checks, the native call, the output's
 * memory and handle, the queue, the free. A script that composes many small ops (a metric, box
 * decoding, an optimizer over small tensors, a loss read back every step) pays it on each, and
 * PyTorch's ~1 us per op is the mark. Not one of issue 6's groups; beside PyTorch-CPU at the
 * same thread count:
 *
 *   node dist/bench/op-overhead.js [--threads 2] [--only sum]   (after `npx tsc -p .`; ~20 s)
 *
 * Each sample is a loop of 1000 calls; the figure is the median sample over 1000, in us per
 * call. Ours: each call in `tidy` (its tensors freed at once, as PyTorch's reference counting
 * does), then `syncBlocking()` after the loop, so that the queued work is counted; PyTorch: the
 * same loop, each result dropped. `read back` cases wait for a value every call (`item()`).
 */
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { runSideBySide, type SideCase } from './side-by-side';

// name, our call over a, b [64, 10], c [64, 1, 28, 28], d [64, 64] and e [8, 8], PyTorch's expression over the same.
const CASES: SideCase<Record<string, cc.Tensor>>[] = [
  ['a + b [64,10]', ({ a, b }) => cc.add(a, b), 'a + b'],
  ['relu(a) [64,10]', ({ a }) => cc.F.relu(a), 'torch.relu(a)'],
  ['a * 2 (a number operand)', ({ a }) => cc.mul(a, 2), 'a * 2'],
  ['a.sum() [64,10]', ({ a }) => cc.sum(a), 'a.sum()'],
  ['a.reshape([640]) (a view)', ({ a }) => cc.reshape(a, [640]), 'a.reshape(640)'],
  ['relu(a + b).sum() (3 ops)', ({ a, b }) => cc.sum(cc.F.relu(cc.add(a, b))), 'torch.relu(a + b).sum()'],
  ['(a + b).sum().item() (read back)', ({ a, b }) => cc.sum(cc.add(a, b)).item(), '(a + b).sum().item()'],
  ['a + b [64,1,28,28] (50 KB)', ({ c }) => cc.add(c, c), 'c + c'],
  ['e @ e [8,8] (a matrix product)', ({ e }) => cc.matmul(e, e), 'e @ e'],
  ['d @ d [64,64] (a matrix product)', ({ d }) => cc.matmul(d, d), 'd @ d'],
];

const LOOP = 1000;

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
torch.set_num_threads(${threads})
a, b, c, d, e = torch.randn(64, 10), torch.randn(64, 10), torch.randn(64, 1, 28, 28), torch.randn(64, 64), torch.randn(8, 8)
out = {}
for name, expr in ${JSON.stringify(cases.map(([n, , e]) => [n, e]))}:
    f = eval("lambda: " + expr)
    for _ in range(${LOOP}): f()
    ts, t0 = [], time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - t0 < 0.5:
        s = time.perf_counter()
        for _ in range(${LOOP}): f()
        ts.append((time.perf_counter() - s) * 1e6 / ${LOOP})
    ts.sort(); out[name] = ts[len(ts) // 2]
out["version"] = torch.__version__
print(json.dumps(out))
`;

void runSideBySide({
  title: 'small ops',
  unit: `us per call (median of loops of ${LOOP})`,
  digits: 2,
  cases: CASES,
  torchScript: TORCH,
  tensors: () => ({ a: cc.randn([64, 10]), b: cc.randn([64, 10]), c: cc.randn([64, 1, 28, 28]), d: cc.randn([64, 64]), e: cc.randn([8, 8]) }),
  // Loops of LOOP calls, each in tidy, syncBlocking() after the loop: us per call.
  timeOurs: (call) => {
    const loop = (): void => {
      for (let i = 0; i < LOOP; i++) cc.tidy(() => { call(); });  // the result freed too: see timeTidied
      cc.syncBlocking();
    };
    loop();
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 10 || performance.now() - start < 500) {
      const s = performance.now();
      loop();
      times.push(((performance.now() - s) * 1000) / LOOP);
    }
    times.sort((x, y) => x - y);
    return times[times.length >> 1];
  },
  dispose: (t) => {
    for (const x of Object.values(t)) x.dispose();
  },
});
