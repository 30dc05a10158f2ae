/**
 * One convolution layer at 1 and at 2 threads (or `--threads a,b`), ours and PyTorch's, the thread
 * counts taking turns within each process (a block of calls at one count, then at the other,
 * `--rounds` times): on a shared VM whose second vCPU comes and goes, this tells a kernel that is
 * slow from one that gains less from the second thread. Minimums and medians of the calls, ms.
 *
 *   node dist/bench/thread-scaling.js "alex c1" [forward|backward-data|backward-filter] [--rounds 8]
 *
 * The layer: a prefix of a case of the conv group (bench/conv.ts) or of conv-strided.ts. PyTorch
 * runs in a fresh process here, where its time can be up to twice what the harness's long-lived
 * worker reads (bench/JOURNAL.md, session 42): compare how each side scales, not the two sides.
 */
import * as cc from '../lib';
import { DIRECTIONS, LAYERS, directions, torchLayer, torchLayerSetup, type Layer } from './conv';
import { STRIDED } from './conv-strided';
import { runPython, torchPython } from './harness';

const CALLS = 5; // calls a block

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `min ${s[0].toFixed(2)}  median ${s[s.length >> 1].toFixed(2)}`;
}

function ours(l: Layer, direction: string, counts: number[], rounds: number): Map<number, number[]> {
  const x = cc.randn(l.x), w = cc.mul(cc.randn(l.w), 0.1), b = cc.randn([l.transposed ? l.w[1] : l.w[0]]);
  const y = l.transposed ? cc.F.convTranspose2d(x, w, b, l.o) : cc.F.conv2d(x, w, b, l.o);
  const run = directions(l, x, w, b, cc.randn(y.shape))[direction as (typeof DIRECTIONS)[number]];
  const times = new Map(counts.map((t) => [t, [] as number[]]));
  const before = cc.getNumThreads();
  for (let r = 0; r < rounds; ++r) {
    for (const t of counts) {
      cc.setNumThreads(t);
      cc.tidy(() => { run(); }); // the first call at a new count is not timed
      cc.syncBlocking();
      for (let i = 0; i < CALLS; ++i) {
        const t0 = process.hrtime.bigint();
        cc.tidy(() => { run(); });
        cc.syncBlocking();
        times.get(t)!.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  }
  cc.setNumThreads(before);
  return times;
}

function torch(l: Layer, direction: string, counts: number[], rounds: number): Record<string, number[]> | string {
  const code = `
import json, time
import torch
L = json.loads(${JSON.stringify(JSON.stringify(torchLayer(l)))})
${torchLayerSetup('')}
fn = fns[${JSON.stringify(direction)}]
out = {str(c): [] for c in ${JSON.stringify(counts)}}
with torch.no_grad():
    for r in range(${rounds}):
        for c in ${JSON.stringify(counts)}:
            torch.set_num_threads(c)
            fn()
            for i in range(${CALLS}):
                t0 = time.perf_counter(); fn(); out[str(c)].append((time.perf_counter() - t0) * 1e3)
print(json.dumps(out))
`;
  const r = runPython(code, {}, torchPython());
  return 'error' in r ? r.error : (r.result as Record<string, number[]>);
}

function main(): void {
  const args = process.argv.slice(2);
  const take = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const counts = (take('--threads') ?? '1,2').split(',').map(Number);
  const rounds = Number(take('--rounds') ?? 8);
  const [prefix, direction = 'forward'] = args;
  const layer = prefix ? [...LAYERS, ...STRIDED].find((l) => l.name.startsWith(prefix)) : undefined;
  if (!layer || !(DIRECTIONS as readonly string[]).includes(direction) || counts.some((t) => !(t >= 1)) || !(rounds >= 1)) {
    console.error('usage: node dist/bench/thread-scaling.js "layer prefix" [forward|backward-data|backward-filter] [--threads 1,2] [--rounds 8]');
    process.exit(2);
  }
  console.log(`${layer.name} ${direction}: ${rounds} rounds of ${CALLS} calls at each thread count, ms`);
  for (const [t, ms] of ours(layer, direction, counts, rounds)) console.log(`  ours     ${t} thread(s)  ${stats(ms)}`);
  const reference = torch(layer, direction, counts, rounds);
  if (typeof reference === 'string') {
    console.log(`  PyTorch  not run: ${reference}`);
    return;
  }
  for (const t of counts) console.log(`  PyTorch  ${t} thread(s)  ${stats(reference[String(t)])}`);
}

main();
