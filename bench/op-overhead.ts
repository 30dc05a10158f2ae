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
import * as os from 'os';
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { torchCase } from './python_worker';

// name, our call over a, b [64, 10] and c [64, 1, 28, 28], PyTorch's expression over the same.
const CASES: [string, (t: Record<string, cc.Tensor>) => unknown, string][] = [
  ['a + b [64,10]', ({ a, b }) => cc.add(a, b), 'a + b'],
  ['relu(a) [64,10]', ({ a }) => cc.F.relu(a), 'torch.relu(a)'],
  ['a * 2 (a number operand)', ({ a }) => cc.mul(a, 2), 'a * 2'],
  ['a.sum() [64,10]', ({ a }) => cc.sum(a), 'a.sum()'],
  ['a.reshape([640]) (a view)', ({ a }) => cc.reshape(a, [640]), 'a.reshape(640)'],
  ['relu(a + b).sum() (3 ops)', ({ a, b }) => cc.sum(cc.F.relu(cc.add(a, b))), 'torch.relu(a + b).sum()'],
  ['(a + b).sum().item() (read back)', ({ a, b }) => cc.sum(cc.add(a, b)).item(), '(a + b).sum().item()'],
  ['a + b [64,1,28,28] (50 KB)', ({ c }) => cc.add(c, c), 'c + c'],
];

const LOOP = 1000;

const TORCH = (threads: number, cases: typeof CASES) => `
import json, time, torch
torch.set_num_threads(${threads})
a, b, c = torch.randn(64, 10), torch.randn(64, 10), torch.randn(64, 1, 28, 28)
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
  const cases = CASES.filter(([name]) => name.includes(only));
  cc.setNumThreads(threads);
  const t = { a: cc.randn([64, 10]), b: cc.randn([64, 10]), c: cc.randn([64, 1, 28, 28]) };
  const ours: Record<string, number> = {};
  const theirs: Record<string, number> = {};
  const notes: string[] = [];
  let version = '';
  for (const c of cases) {
    // PyTorch's case right before ours: a slow spell on this shared machine falls on both sides.
    const r = await torchCase<Record<string, number> & { version: string }>({ code: TORCH(threads, [c]) }, threads, notes);
    const [name, fn] = c;
    if (r) {
      version = r.version;
      theirs[name] = r[name];
    }
    const loop = (): void => {
      for (let i = 0; i < LOOP; i++) cc.tidy(() => { fn(t); });
      cc.syncBlocking();
    };
    loop();
    const samples: number[] = [];
    const start = performance.now();
    while (samples.length < 10 || performance.now() - start < 500) {
      const s = performance.now();
      loop();
      samples.push(((performance.now() - s) * 1000) / LOOP);
    }
    samples.sort((x, y) => x - y);
    ours[name] = samples[samples.length >> 1];
  }
  console.log(`small ops, ${threads} thread(s), beside ${version ? `PyTorch ${version} (CPU)` : 'no PyTorch (see the note below)'}; us per call (median of loops of ${LOOP})`);
  console.log(`${'case'.padEnd(40)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ours/PyTorch'.padStart(13)}`);
  for (const [name] of cases) {
    const r = theirs[name];
    console.log(`${name.padEnd(40)} ${ours[name].toFixed(2).padStart(8)} ${(r?.toFixed(2) ?? '-').padStart(8)} ${(r ? (r / ours[name]).toFixed(2) + 'x' : '-').padStart(13)}`);
  }
  for (const n of notes) console.log(`  note: ${n}`);
  for (const x of Object.values(t)) x.dispose();
}

void main();
