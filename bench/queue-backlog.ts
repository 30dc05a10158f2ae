/**
 * The queue's backlog under a loop that never yields (Note [loops that never yield],
 * lib/engine.ts): a small CNN (two 5x5 convolutions, 32 and 64 channels, on [64, 1, 28, 28];
 * Adam; 24 ops a step) trained PyTorch-style, each step in `tidy` and its loss disposed, no
 * `await` anywhere. Prints the tensor memory alive and the ops queued every 50 steps, and the
 * largest seen. Before session 36 memory grew by ~25 MB a step without bound (1.2 GB at step
 * 50); with the drains it stays near 256 MiB. Not one of issue 6's groups; ~15 s:
 *
 *   node dist/bench/queue-backlog.js [--steps 300] [--threads 2]
 */
import * as cc from '../lib';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}

const steps = arg('--steps', 300);
cc.setNumThreads(arg('--threads', 2));
cc.manualSeed(0);
const net = new cc.nn.Sequential(
  new cc.nn.Conv2d(1, 32, 5), new cc.nn.ReLU(), new cc.nn.MaxPool2d(2),
  new cc.nn.Conv2d(32, 64, 5), new cc.nn.ReLU(), new cc.nn.MaxPool2d(2),
  new cc.nn.Flatten(), new cc.nn.Linear(1024, 10),
);
const optimizer = new cc.optim.Adam(net.parameters(), { lr: 1e-3 });
const ce = new cc.nn.CrossEntropyLoss();
const bx = Float32Array.from({ length: 64 * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
const by = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 10);
let most = 0;
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
console.log(`queue backlog: ${steps} steps of a small CNN, never yielding, ${cc.getNumThreads()} thread(s)`);
for (let step = 1; step <= steps; step++) {
  const loss = cc.tidy(() => {
    optimizer.zeroGrad();
    const value = ce.call(net.call(cc.tensor(bx, { shape: [64, 1, 28, 28] })) as cc.Tensor, cc.tensor(by, { dtype: 'int32' }));
    value.backward();
    optimizer.step();
    return value;
  });
  loss.dispose();
  const m = cc.memory();
  most = Math.max(most, m.bytes);
  if (step % 50 === 0) console.log(`step ${step}: ${mb(m.bytes)} MB alive, ${m.devices.cpu.queuedOps} ops queued`);
}
cc.syncBlocking();
console.log(`most alive: ${mb(most)} MB; after the last step's sync: ${mb(cc.memory().bytes)} MB`);
