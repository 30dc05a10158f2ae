/**
 * Responsiveness: how late the event loop runs its timers (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution) during a LeNet-5 training epoch on MNIST, batch 64: `npm run bench -- responsiveness`.
 *
 * - ours: `model.fit` — ops are queued and run on the native worker; the loop awaits each step's
 *   loss and stays free meanwhile.
 * - naive: the same model, data loader, ops and optimizer, but blocking the JavaScript thread on
 *   each result as a synchronous binding would: `syncBlocking()` after each layer, after the
 *   backward and after the optimizer step, and `dataSync()` for the loss. It yields to the event
 *   loop between steps (a fully synchronous loop would never let a timer run at all), so its
 *   delay is about one step's time.
 *
 * Rows: the delay's p50, p99 and max, and the epoch's time, ours beside naive (ratio above 1x:
 * ours is lower). Target: p99 under 10 ms while training.
 */
import { monitorEventLoopDelay } from 'perf_hooks';
import * as cc from '../lib';
import { head } from './models';
import type { BenchOptions, Row, Timing } from './harness';

const one = (ms: number): Timing => ({ medianMs: ms, minMs: ms, maxMs: ms, repeats: 1 });

async function measure(run: () => Promise<void>): Promise<{ p50: number; p99: number; max: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  h.disable();
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, ms };
}

export async function benchResponsiveness(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  let train: cc.data.ArrayDataset;
  try {
    train = cc.data.mnist({ split: 'train' });
  } catch (e) {
    return { rows, notes: [`not run: ${(e as Error).message}`] };
  }
  const ds = opts.quick ? head(train, 640) : train;
  const normalize = cc.models.LeNet5.defaultRecipe.normalize;
  const before = cc.getNumThreads();
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    cc.manualSeed(0);
    let model = cc.models.LeNet5();
    let opt: cc.optim.Optimizer = new cc.optim.Adam(model.parameters(), { lr: 1e-3 });
    const ours = await measure(async () => {
      await model.fit(ds, { epochs: 1, batchSize: 64, optimizer: opt, seed: 0, normalize, verbose: 0 });
    });
    opt.dispose(); model.dispose();

    cc.manualSeed(0);
    model = cc.models.LeNet5();
    opt = new cc.optim.Adam(model.parameters(), { lr: 1e-3 });
    const m = model;
    const o = opt;
    const naive = await measure(async () => {
      const loader = new cc.data.DataLoader(ds, { batchSize: 64, shuffle: true, seed: 0, normalize });
      m.train(true);
      for (const { x, y } of loader) {
        cc.tidy(() => {
          let h: cc.Tensor = x;
          for (let i = 0; i < m.length; i++) {
            h = m.at(i).call(h) as cc.Tensor;
            cc.syncBlocking();
          }
          const loss = cc.F.crossEntropy(h, y);
          loss.dataSync();
          loss.backward();
          cc.syncBlocking();
        });
        o.step();
        cc.syncBlocking();
        o.zeroGrad();
        x.dispose(); y.dispose();
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    opt.dispose(); model.dispose();
    for (const [name, key] of [['event-loop delay p50', 'p50'], ['event-loop delay p99', 'p99'], ['event-loop delay max', 'max'], ['epoch time', 'ms']] as const) {
      rows.push({ case: `lenet5 epoch (${ds.length / 1000}k): ${name}`, threads, ours: one(ours[key]), references: { naive: one(naive[key]) } });
    }
  }
  cc.setNumThreads(before);
  notes.push('one epoch each, batch 64, Adam; "ours ms" is ours (model.fit), "naive ms" the same ops blocking the thread after each; ' +
    'ratio = naive / ours (above 1x: ours is lower). Target: p99 under 10 ms');
  return { rows, notes };
}
