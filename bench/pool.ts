/**
 * Pooling beside PyTorch-CPU (bench/pool_torch.py: the same shapes, the same thread count):
 * `npm run bench -- pool`. Each of our runs includes waiting for the result (syncBlocking), not
 * reading it; PyTorch's backward calls the aten kernels directly (max, avg) or autograd (Lp,
 * mixed, which PyTorch composes from several ops; max unpooling, a gather there).
 */
import * as path from 'path';
import * as cc from '../lib';
import { avgPool2dBackward, lpPool2dBackward, maxPool2dBackward, maxUnpool2dBackward, maxUnpool2dForward, mixedPool2dBackward, mixedPool2dForward, stochasticPool2dBackward, stochasticPool2dForward } from '../lib/nn/functional/pool';
import { measureBandwidth, time, wanted, type BenchOptions, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';

const { F } = cc;
// [network layer, input shape, kernel, stride]
export const SHAPES: [string, number[], number, number][] = [
  ['LeNet c1', [64, 6, 28, 28], 2, 2],
  ['LeNet c3', [64, 16, 10, 10], 2, 2],
  ['AlexNet 1', [8, 96, 55, 55], 3, 2],
  ['AlexNet 2', [8, 256, 27, 27], 3, 2],
];

// Each case: its name, its run, and the least bytes it moves (inputs read and outputs written once);
// in parts, one per shape and the adaptive case last (pool_torch.py --part N: the same parts).
function cases(): [string, () => void, number][][] {
  const parts: [string, () => void, number][][] = [];
  for (const [, shape, k, s] of SHAPES) {
    const out: [string, () => void, number][] = [];
    parts.push(out);
    const x = cc.keep(cc.rand(shape, 0.1, 1));
    const [ym, idx] = F.maxPool2d(x, k, { stride: s, returnIndices: true });
    const dy = cc.keep(cc.rand([...ym.shape]));
    cc.keep(ym), cc.keep(idx);
    const yl = cc.keep(F.lpPool2d(x, 2, k, { stride: s }));
    const [, lam, mixedIdx] = mixedPool2dForward(x, k, { stride: s, training: true }).map((t) => cc.keep(t));
    const tag = `${JSON.stringify(shape)} k${k}s${s}`;
    const X = 4 * x.size, Y = 4 * ym.size;  // int32 indices are 4 bytes too
    out.push([`max fwd ${tag}`, () => F.maxPool2d(x, k, { stride: s }).dispose(), X + Y]);
    out.push([`max fwd+idx ${tag}`, () => F.maxPool2d(x, k, { stride: s, returnIndices: true }).forEach((t) => t.dispose()), X + 2 * Y]);
    out.push([`max bwd ${tag}`, () => maxPool2dBackward(dy, idx, shape).dispose(), 2 * Y + X]);
    out.push([`avg fwd ${tag}`, () => F.avgPool2d(x, k, { stride: s }).dispose(), X + Y]);
    out.push([`avg bwd ${tag}`, () => avgPool2dBackward(dy, shape, k, { stride: s }).dispose(), Y + X]);
    out.push([`lp2 fwd ${tag}`, () => F.lpPool2d(x, 2, k, { stride: s }).dispose(), X + Y]);
    out.push([`lp2 bwd ${tag}`, () => lpPool2dBackward(dy, x, yl, 2, k, { stride: s }).dispose(), 2 * Y + 2 * X]);
    // Training's forward: it also keeps the argmax for the backward.
    out.push([`mixed fwd ${tag}`, () => mixedPool2dForward(x, k, { stride: s, training: true }).forEach((t) => t.dispose()), X + 2 * Y]);
    out.push([`mixed bwd ${tag}`, () => mixedPool2dBackward(dy, mixedIdx, lam, shape, k, { stride: s }).dispose(), 2 * Y + X]);
    // Max unpooling of the pooled values back to x's size (SegNet's decoder); its backward takes dy of
    // x's shape and the forward's mark of the values that stayed (which training's forward makes).
    const dx = cc.keep(cc.rand(shape));
    const kept = cc.keep(maxUnpool2dForward(ym, idx, shape)[1]);
    out.push([`unpool fwd ${tag}`, () => F.maxUnpool2d(ym, idx, k, { stride: s }).dispose(), 2 * Y + X]);
    out.push([`unpool bwd ${tag}`, () => maxUnpool2dBackward(dx, idx, kept, ym.shape).dispose(), 3 * Y + X]);
    // Training's forward keeps the picks' indices for the backward.
    const [, pickIdx] = stochasticPool2dForward(x, k, { stride: s }).map((t) => cc.keep(t));
    out.push([`stochastic fwd ${tag}`, () => stochasticPool2dForward(x, k, { stride: s }).forEach((t) => t.dispose()), X + 2 * Y]);
    out.push([`stochastic bwd ${tag}`, () => stochasticPool2dBackward(dy, x, pickIdx, k, { stride: s }).dispose(), 2 * Y + X]);
    out.push([`stochastic eval fwd ${tag}`, () => F.stochasticPool2d(x, k, { stride: s }).dispose(), X + Y]);
  }
  const xa = cc.keep(cc.rand([8, 256, 13, 13]));
  const xg = cc.keep(cc.rand([32, 512, 7, 7]));   // a ResNet's global average pooling
  parts.push([
    ['adaptive fwd [8,256,13,13]->6', () => F.adaptiveAvgPool2d(xa, 6).dispose(), 4 * (xa.size + 8 * 256 * 36)],
    ['adaptive fwd [32,512,7,7]->1', () => F.adaptiveAvgPool2d(xg, 1).dispose(), 4 * (xg.size + 32 * 512)],
  ]);
  return parts;
}

export async function benchPool(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const script = path.resolve(__dirname, '..', '..', 'bench', 'pool_torch.py');
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    const bandwidth = await measureBandwidth(cc);
    notes.push(`${threads} thread(s): memory bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (a 256 MiB copy); %bw: the least traffic of the op over its time, as a fraction of that`);
    // Shape by shape, PyTorch's cases right before ours, so that a slow spell on this shared
    // machine falls on both sides of a case (not on one side of the whole group).
    for (const [part, group] of cases().entries()) {
      if (!group.some(([name]) => wanted(opts, name))) continue;
      const torch = (await torchCase<Record<string, Timing>>({ script, argv: [String(threads), '--part', String(part), ...(opts.quick ? ['--quick'] : [])] }, threads, notes)) ?? {};
      for (const [name, fn, bytes] of group.filter(([name]) => wanted(opts, name))) {
        const run = () => { fn(); cc.syncBlocking(); };
        const timing = await time(run, opts.quick ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : { warmup: 3, minRepeats: 30, minTotalMs: 500 });
        rows.push({ case: name, threads, ours: timing, bytes, bandwidth, references: { PyTorch: torch[name] } });
      }
    }
  }
  notes.push(`shapes: ${SHAPES.map(([net, shape]) => `${net} ${JSON.stringify(shape)}`).join(', ')}; mixed pooling's PyTorch side is lam * max + (1 - lam) * avg; stochastic pooling's (which PyTorch lacks) the formula in tensor ops (unfold, cumsum against u * sum, gather; evaluation avgPool(a^2) / avgPool(a))`);
  return { rows, notes };
}
