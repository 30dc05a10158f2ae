/**
 * ResNet-18 (CIFAR stem) beside PyTorch in CPU time as well as wall time: the `models` group's
 * three ResNet cases (training step at batch 32, inference at batch 1 and 64), each side's
 * median wall time and median CPU time of its process (all threads) per call:
 *
 *   node dist/bench/resnet18-cpu.js [--threads 2] [--repeats 7]   (after `npx tsc -p .`)
 *
 * Why CPU time: on a shared machine whose neighbours hold the cores for seconds at a time, the
 * wall time of both sides measures the neighbours as much as the code (on this 2-core VM with a
 * load average of 10-17, ours ran at 0.3-0.4 CPUs). CPU time counts the work each side did. PyTorch
 * runs with OMP_WAIT_POLICY=PASSIVE so that its OpenMP threads sleep rather than spin at barriers
 * (spinning would be counted as work, and under load it is most of PyTorch's CPU time); its
 * wall time is then no worse than with the default policy on a busy machine. Our threads spin
 * at most 100 us before they sleep (native/core/thread_pool.cc), which counts here. The same
 * models and recipe as bench/models_torch.py (its `resnet18_cifar` and `step`).
 */
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { runPython } from './harness';
import { trainStep } from './models';

type Figures = Record<string, { wallMs: number; cpuMs: number }>;

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function ours(repeats: number): Promise<Figures> {
  const out: Figures = {};
  const measure = async (name: string, fn: () => Promise<void>, warmup: number) => {
    for (let i = 0; i < warmup; i++) await fn();
    const wall: number[] = [], cpu: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      await fn();
      const c = process.cpuUsage(c0);
      wall.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    out[name] = { wallMs: median(wall), cpuMs: median(cpu) };
  };
  cc.manualSeed(0);
  const model = cc.models.resnet18({ numClasses: 10, cifar: true });
  const opt = new cc.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = cc.randn([32, 3, 32, 32]), y = cc.tensor(Int32Array.from({ length: 32 }, (_, i) => i % 10), { dtype: 'int32' });
  await measure('resnet18 train step b32', async () => { await trainStep(model, opt, x, y); }, 2);
  model.train(false);
  for (const b of [1, 64]) {
    const xb = cc.randn([b, 3, 32, 32]);
    await measure(`resnet18 inference b${b}`, async () => {
      const o = cc.noGrad(() => model.call(xb) as cc.Tensor);
      await o.data();
      o.dispose();
    }, 3);
    xb.dispose();
  }
  opt.dispose(); x.dispose(); y.dispose(); model.dispose();
  return out;
}

function pytorch(threads: number, repeats: number): Figures | string {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'models_torch.py');
  const code = `
import json, runpy, sys, time, torch
sys.argv = ${JSON.stringify([script, String(threads), '0', '4', '1', 'nomnist', '--only', 'none'])}
m = runpy.run_path(sys.argv[0], run_name='models_torch')
torch.set_num_threads(${threads})
out = {}
def measure(name, fn, warmup):
    for _ in range(warmup): fn()
    wall, cpu = [], []
    for _ in range(${repeats}):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3); cpu.append((time.process_time() - c0) * 1e3)
    wall.sort(); cpu.sort()
    out[name] = {"wallMs": wall[len(wall) // 2], "cpuMs": cpu[len(cpu) // 2]}
torch.manual_seed(0)
model = m["resnet18_cifar"]()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(32, 3, 32, 32), torch.arange(32) % 10
measure("resnet18 train step b32", lambda: m["step"](model, opt, x, y), 2)
model.eval()
for b in (1, 64):
    xb = torch.randn(b, 3, 32, 32)
    with torch.no_grad():
        measure(f"resnet18 inference b{b}", lambda: model(xb), 3)
print(json.dumps(out))
`;
  const r = runPython(code, { OMP_WAIT_POLICY: 'PASSIVE' }, process.env.CONVNET_TORCH_PYTHON ?? '/usr/bin/python3');
  return 'error' in r ? r.error : (r.result as Figures);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const repeats = args.includes('--repeats') ? Number(args[args.indexOf('--repeats') + 1]) : 7;
  cc.setNumThreads(threads);
  const theirs = pytorch(threads, repeats);
  const mine = await ours(repeats);
  console.log(`ResNet-18 (CIFAR stem), ${threads} thread(s), medians of ${repeats}; CPU time = all threads of the process`);
  console.log(`${'case'.padEnd(26)} ${'ours wall'.padStart(10)} ${'ours cpu'.padStart(10)} ${'torch wall'.padStart(10)} ${'torch cpu'.padStart(10)} ${'wall ratio'.padStart(10)} ${'cpu ratio'.padStart(10)}`);
  for (const [name, o] of Object.entries(mine)) {
    const t = typeof theirs === 'string' ? undefined : theirs[name];
    const f = (v?: number) => (v === undefined ? '-' : v.toFixed(1)).padStart(10);
    const r = (a?: number, b?: number) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`).padStart(10);
    console.log(`${name.padEnd(26)} ${f(o.wallMs)} ${f(o.cpuMs)} ${f(t?.wallMs)} ${f(t?.cpuMs)} ${r(t?.wallMs, o.wallMs)} ${r(t?.cpuMs, o.cpuMs)}`);
  }
  if (typeof theirs === 'string') console.log(`  note: PyTorch not measured: ${theirs}`);
  console.log('  note: PyTorch with OMP_WAIT_POLICY=PASSIVE (its threads sleep at barriers instead of spinning); ratios: PyTorch / ours (above 1x: ours faster / cheaper)');
}

void main();
