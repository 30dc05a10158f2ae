/**
 * Pooling beside PyTorch-CPU (bench/pool_torch.py, the same shapes and thread counts):
 *   npx tsc -p . && node dist/bench/pool.js [threads…]      (default: 1 2)
 * Prints one line per case: our best time of the repeats and PyTorch's (the best, not the
 * median, because the machines this runs on are shared), in ms, and the ratio (> 1: we are
 * faster). Each timed call includes waiting for the result (syncBlocking), not reading it.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as cc from '../lib';
import { avgPool2dBackward, lpPool2dBackward, maxPool2dBackward, mixedPool2dBackward, mixedPool2dForward } from '../lib/nn/functional/pool';
import { time } from './harness';

const { F } = cc;
export const SHAPES: [string, number[], number, number][] = [
  ['LeNet c1', [64, 6, 28, 28], 2, 2],
  ['LeNet c3', [64, 16, 10, 10], 2, 2],
  ['AlexNet 1', [8, 96, 55, 55], 3, 2],
  ['AlexNet 2', [8, 256, 27, 27], 3, 2],
];

function cases(): [string, () => void][] {
  const out: [string, () => void][] = [];
  for (const [name, shape, k, s] of SHAPES) {
    const x = cc.keep(cc.rand(shape, 0.1, 1));
    const [ym, idx] = F.maxPool2d(x, k, { stride: s, returnIndices: true });
    const dy = cc.keep(cc.rand([...ym.shape]));
    cc.keep(ym), cc.keep(idx);
    const yl = cc.keep(F.lpPool2d(x, 2, k, { stride: s }));
    const [, lam, mixedIdx] = mixedPool2dForward(x, k, { stride: s, training: true }).map((t) => cc.keep(t));
    const tag = `${name} ${JSON.stringify(shape)} k${k}s${s}`;
    out.push([`max fwd ${tag}`, () => F.maxPool2d(x, k, { stride: s }).dispose()]);
    out.push([`max fwd+idx ${tag}`, () => F.maxPool2d(x, k, { stride: s, returnIndices: true }).forEach((t) => t.dispose())]);
    out.push([`max bwd ${tag}`, () => maxPool2dBackward(dy, idx, shape).dispose()]);
    out.push([`avg fwd ${tag}`, () => F.avgPool2d(x, k, { stride: s }).dispose()]);
    out.push([`avg bwd ${tag}`, () => avgPool2dBackward(dy, shape, k, { stride: s }).dispose()]);
    out.push([`lp2 fwd ${tag}`, () => F.lpPool2d(x, 2, k, { stride: s }).dispose()]);
    out.push([`lp2 bwd ${tag}`, () => lpPool2dBackward(dy, x, yl, 2, k, { stride: s }).dispose()]);
    // Training's forward: it also keeps the argmax for the backward.
    out.push([`mixed fwd ${tag}`, () => mixedPool2dForward(x, k, { stride: s, training: true }).forEach((t) => t.dispose())]);
    out.push([`mixed bwd ${tag}`, () => mixedPool2dBackward(dy, mixedIdx, lam, shape, k, { stride: s }).dispose()]);
  }
  const xa = cc.keep(cc.rand([8, 256, 13, 13]));
  out.push(['adaptive avg fwd [8,256,13,13] -> 6x6', () => F.adaptiveAvgPool2d(xa, 6).dispose()]);
  return out;
}

async function main(): Promise<void> {
  const threads = process.argv.slice(2).map(Number);
  for (const n of threads.length ? threads : [1, 2]) {
    cc.setNumThreads(n);
    const ours: Record<string, number> = {};
    for (const [name, fn] of cases()) {
      ours[name] = (await time(() => { fn(); cc.syncBlocking(); }, { warmup: 3, minRepeats: 30, minTotalMs: 500 })).minMs;
    }
    const py = spawnSync('/usr/bin/python3', [path.resolve(__dirname, '..', '..', 'bench', 'pool_torch.py'), String(n)], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(py.stderr);
    const torch = JSON.parse(py.stdout) as Record<string, number>;
    console.log(`\nthreads ${n}: case | ours ms | PyTorch ms | speed-up`);
    for (const [name, ms] of Object.entries(ours)) {
      console.log(`${name} | ${ms.toFixed(3)} | ${torch[name]?.toFixed(3) ?? '-'} | ${torch[name] ? (torch[name] / ms).toFixed(2) + 'x' : '-'}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
