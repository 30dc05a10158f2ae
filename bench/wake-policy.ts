/**
 * The worker's and helpers' wake-up policy (Note [lazy and prompt wake-ups], native/core/
 * wake_policy.h) measured: each setting of CONVNET_WAKE_POLICY in its own process, in turn (each
 * round in another order), on a quiet machine and beside a busy neighbour:
 *
 *   node dist/bench/wake-policy.js [--rounds 3] [--threads 2] [--load none,nice19,nice0] [--resnet] [--only TEXT]
 *
 * A neighbour is one busy loop (a child process) at nice 19 or 0. Each process times, for
 * `--seconds` each (default 2): a LeNet-5 training step at batch 64 (`await` the loss), LeNet-5
 * inference at batch 1 (`await out.data()`), a 10 ms grouped convolution (`await out.data()`),
 * and small ops read back at once as the `pool` and `layers` groups time them (`syncBlocking`);
 * with `--resnet` also the `models` group's ResNet-18 training step at batch 32 (4x as long).
 * Medians per process, then the median over the rounds. Not one of issue 6's groups; ~2 min.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as os from 'os';
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { maxPool2dBackward } from '../lib/nn/functional/pool';
import { trainStep } from './models';

const POLICIES = (process.env.WAKE_POLICIES ?? 'lazy,adaptive,prompt').split(',');

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function timeFor(ms: number, fn: () => Promise<void> | void): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (performance.now() - start < ms) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

/** One process's measurements (the child side), printed as one JSON line. */
async function measure(seconds: number, threads: number, resnet: boolean, only: string): Promise<void> {
  cc.setNumThreads(threads);
  const ms = seconds * 1000;
  const out: Record<string, number> = {};
  const timed = async (name: string, budget: number, fn: () => Promise<void> | void) => {
    if (!only || name.includes(only)) out[name] = await timeFor(budget, fn);
  };
  cc.manualSeed(0);
  const model = cc.models.LeNet5();
  const opt = new cc.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x64 = cc.randn([64, 1, 28, 28]), y64 = cc.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 10), { dtype: 'int32' });
  await timed('lenet5 train step b64', ms, async () => { await trainStep(model, opt, x64, y64); });
  model.train(false);
  const x1 = cc.randn([1, 1, 28, 28]);
  await timed('lenet5 inference b1', ms, async () => {
    const y = cc.noGrad(() => model.call(x1) as cc.Tensor);
    await y.data();
    y.dispose();
  });
  const xc = cc.randn([8, 96, 27, 27]), wc = cc.randn([256, 48, 5, 5]);
  await timed('conv 96>256 5x5 g2 [8,96,27,27]', ms, async () => {
    const y = cc.F.conv2d(xc, wc, null, { padding: 2, groups: 2 });
    await y.data();
    y.dispose();
  });
  await timed('conv 96>256 5x5 g2 (sync)', ms, () => {
    cc.tidy(() => { cc.F.conv2d(xc, wc, null, { padding: 2, groups: 2 }); });
    cc.syncBlocking();
  });
  const xp = cc.randn([64, 6, 28, 28]);
  const [yp, idx] = cc.F.maxPool2d(xp, 2, { returnIndices: true });
  const dyp = cc.randn(yp.shape);
  const xr = cc.randn([8, 96, 55, 55]);
  const small: [string, () => void][] = [
    ['max fwd [64,6,28,28] (sync)', () => { cc.F.maxPool2d(xp, 2); }],
    ['max bwd [64,6,28,28] (sync)', () => { maxPool2dBackward(dyp, idx, xp.shape); }],
    ['ReLU fwd [8,96,55,55] (sync)', () => { cc.F.relu(xr); }],
  ];
  for (const [name, f] of small) await timed(name, ms / 2, () => { cc.tidy(f); cc.syncBlocking(); });
  if (resnet) {
    const net = cc.models.resnet18({ numClasses: 10, cifar: true });
    const sgd = new cc.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const x32 = cc.randn([32, 3, 32, 32]), y32 = cc.tensor(Int32Array.from({ length: 32 }, (_, i) => i % 10), { dtype: 'int32' });
    await timed('resnet18 train step b32', 4 * ms, async () => { await trainStep(net, sgd, x32, y32); });
  }
  console.log(JSON.stringify(out));
}

function neighbour(load: string): ChildProcess | null {
  if (load === 'none') return null;
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  os.setPriority(child.pid!, load === 'nice19' ? 19 : 0);
  return child;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const seconds = Number(opt('--seconds', '2')), threads = Number(opt('--threads', String(Math.min(2, os.cpus().length))));
  const resnet = args.includes('--resnet');
  const only = opt('--only', '');
  if (args.includes('--child')) return measure(seconds, threads, resnet, only);
  const rounds = Number(opt('--rounds', '3'));
  const loads = opt('--load', 'none,nice19').split(',');
  console.log(`wake-up policies (CONVNET_WAKE_POLICY), ${threads} thread(s), ${rounds} round(s) of ${seconds} s per case, medians in ms`);
  for (const load of loads) {
    const child = neighbour(load);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const results: Record<string, Record<string, number[]>> = {};
      for (let round = 0; round < rounds; round++) {
        // Each round in another order, so that no policy always follows the same one.
        for (const policy of POLICIES.map((_, i) => POLICIES[(i + round) % POLICIES.length])) {
          const text = execFileSync(process.execPath, [__filename, '--child', '--seconds', String(seconds), '--threads', String(threads), '--only', only, ...(resnet ? ['--resnet'] : [])], {
            env: { ...process.env, CONVNET_WAKE_POLICY: policy },
            encoding: 'utf8',
          });
          const values = JSON.parse(text.trim().split('\n').pop()!) as Record<string, number>;
          for (const [name, v] of Object.entries(values)) ((results[name] ??= {})[policy] ??= []).push(v);
        }
      }
      console.log(`\nneighbour: ${load === 'none' ? 'none' : `one busy loop at ${load === 'nice19' ? 'nice 19' : 'nice 0'}`}`);
      console.log(`${'case'.padEnd(36)}${POLICIES.map((p) => p.padStart(11)).join('')}   lazy/adaptive`);
      for (const [name, byPolicy] of Object.entries(results)) {
        const m = POLICIES.map((p) => median(byPolicy[p]));
        console.log(`${name.padEnd(36)}${m.map((v) => v.toFixed(3).padStart(11)).join('')}   ${(m[0] / m[1]).toFixed(2)}x`);
      }
    } finally {
      child?.kill();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
