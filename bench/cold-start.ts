/**
 * A served model's first calls in a fresh process: ResNet-50 built (its weights initialised,
 * the queued work included) and its first forwards at batch 1 on 3x224x224, beside PyTorch's
 * `torchvision.models.resnet50()` (eval, `no_grad`) at the same thread count. Each of
 * `--processes` fresh processes on each side, alternating, prints one line.
 *
 *   node dist/bench/cold-start.js [--processes 3] [--forwards 4] [--threads 2]
 *
 * In a fresh process every tensor's memory is new to it and faults its pages in (in a VM, ~1 us
 * a small page and more), and the kernels' kept weight layouts (Note [prepared weights]) are made
 * on the second forward; from the third on, forwards run at their steady speed (the `models`
 * group's ResNet-50 row). Not one of issue 6's groups; ~1 min.
 */
import { execFileSync } from 'child_process';
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { runPython, torchPython } from './harness';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** One fresh process of ours: [build ms, forward ms…] as a JSON line. */
async function child(forwards: number, threads: number): Promise<void> {
  cc.setNumThreads(threads);
  cc.manualSeed(0);
  const t0 = performance.now();
  const model = cc.models.resnet50();
  model.train(false);
  await cc.sync();
  const times = [performance.now() - t0];
  const x = cc.randn([1, 3, 224, 224]);
  for (let i = 0; i < forwards; i++) {
    const t = performance.now();
    const out = cc.noGrad(() => model.call(x) as cc.Tensor);
    await out.data();
    out.dispose();
    times.push(performance.now() - t);
  }
  console.log(JSON.stringify(times));
}

const TORCH = (forwards: number, threads: number) => `
import json, time, torch, torchvision
torch.set_num_threads(${threads})
torch.manual_seed(0)
t0 = time.perf_counter()
model = torchvision.models.resnet50().eval()
times = [(time.perf_counter() - t0) * 1e3]
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    for _ in range(${forwards}):
        t = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"times": times, "version": torch.__version__}))
`;

async function main(): Promise<void> {
  const processes = Number(arg('processes', '3')), forwards = Number(arg('forwards', '4')), threads = Number(arg('threads', '2'));
  if (process.argv.includes('--child')) return child(forwards, threads);
  const python = torchPython('cpu');
  const row = (name: string, times: number[]) => console.log(`${name.padEnd(24)}${times.map((t) => t.toFixed(0).padStart(10)).join('')}`);
  console.log(`ResNet-50 in a fresh process, batch 1, ${threads} thread(s), ms (build: the model made and its weights initialised)`);
  console.log(`${''.padEnd(24)}${['build', ...Array.from({ length: forwards }, (_, i) => `forward ${i + 1}`)].map((s) => s.padStart(10)).join('')}`);
  let version = '';
  for (let p = 0; p < processes; p++) {
    const line = execFileSync(process.execPath, [__filename, '--child', '--forwards', String(forwards), '--threads', String(threads)], { encoding: 'utf8' });
    row(`ours, process ${p + 1}`, JSON.parse(line.trim().split('\n').pop()!) as number[]);
    const ref = runPython(TORCH(forwards, threads), {}, python);
    if ('error' in ref) {
      console.log(`PyTorch not measured: ${ref.error}`);
      continue;
    }
    const r = ref.result as { times: number[]; version: string };
    version = r.version;
    row(`PyTorch, process ${p + 1}`, r.times);
  }
  if (version) console.log(`PyTorch ${version} (${python}), torchvision's resnet50`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
