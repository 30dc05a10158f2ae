/**
 * Strided convolutions beside PyTorch-CPU, forward, backward-data and backward-filter, one case
 * at a time (PyTorch right before ours): the shapes behind conv2d.cc's rules for strides (the
 * direct kernel at strides 2 and 4, space to depth where it makes a Winograd problem, backward-
 * data by phases at stride 2, the direct backward-filter's widths). Not one of issue 6's groups;
 * a check of those rules:
 *
 *   node dist/bench/conv-strided.js [--threads 2] [--forward] [--passes 2]   (after `npx tsc -p .`;
 *                                                     ~1 min a pass, --forward alone ~20 s)
 *
 * Each case runs PyTorch, then ours, once a pass; each side's figure is its lowest median over
 * the passes (as the harness's groups), so that a neighbour's burst on one pass counts less.
 *
 * Run it at an older commit too to see what a rule changed.
 */
import * as os from 'os';
import * as cc from '../lib';
import { DIRECTIONS, TORCH_SCRIPT, directions, type Layer } from './conv';
import { time, type Timing } from './harness';
import { torchCase } from './python_worker';

export const STRIDED: Layer[] = [
  { name: 'AlexNet c1 11x11/4 3>96 227', x: [8, 3, 227, 227], w: [96, 3, 11, 11], o: { stride: 4 } },
  { name: '11x11/4 16>64 111', x: [8, 16, 111, 111], w: [64, 16, 11, 11], o: { stride: 4 } },
  { name: 'stem 7x7/2 3>64 224', x: [8, 3, 224, 224], w: [64, 3, 7, 7], o: { stride: 2, padding: 3 } },
  { name: 'stem 7x7/2 3>64 224 batch 1', x: [1, 3, 224, 224], w: [64, 3, 7, 7], o: { stride: 2, padding: 3 } },
  { name: '7x7/2 16>32 112', x: [8, 16, 112, 112], w: [32, 16, 7, 7], o: { stride: 2, padding: 3 } },
  { name: '4x4/2 32>64 64', x: [8, 32, 64, 64], w: [64, 32, 4, 4], o: { stride: 2, padding: 1 } },
  { name: '8x8/4 3>64 128', x: [8, 3, 128, 128], w: [64, 3, 8, 8], o: { stride: 4, padding: 2 } },
  { name: '5x5/2 3>96 64', x: [32, 3, 64, 64], w: [96, 3, 5, 5], o: { stride: 2, padding: 2 } },
  { name: '5x5/2 32>64 64', x: [8, 32, 64, 64], w: [64, 32, 5, 5], o: { stride: 2, padding: 2 } },
  { name: '5x5/2 16>64 22 (tiled piece)', x: [64, 16, 22, 22], w: [64, 16, 5, 5], o: { stride: 2 } },
  { name: '3x3/2 256>512 14', x: [8, 256, 14, 14], w: [512, 256, 3, 3], o: { stride: 2, padding: 1 } },
  { name: '3x3/2 64>128 56', x: [8, 64, 56, 56], w: [128, 64, 3, 3], o: { stride: 2, padding: 1 } },
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.cpus().length;
  const which = args.includes('--forward') ? DIRECTIONS.slice(0, 1) : DIRECTIONS;
  const passes = args.includes('--passes') ? Math.max(1, Number(args[args.indexOf('--passes') + 1])) : 2;
  cc.setNumThreads(threads);
  const notes: string[] = [];
  console.log(`strided conv2d, ${threads} thread(s), beside PyTorch (CPU); the lowest median of ${passes} pass(es), ms`);
  console.log(`${'case'.padEnd(30)} ${'direction'.padEnd(16)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ours/PyTorch'.padStart(13)}`);
  for (const l of STRIDED) {
    const x = cc.randn(l.x), w = cc.mul(cc.randn(l.w), 0.1), b = cc.randn([l.w[0]]);
    const y = cc.F.conv2d(x, w, b, l.o), dy = cc.randn(y.shape);
    const run = directions(l, x, w, b, dy);
    const ours: Record<string, number> = {}, theirs: Record<string, number> = {};
    const lowest = (table: Record<string, number>, key: string, ms: number | undefined) => {
      if (ms !== undefined) table[key] = Math.min(table[key] ?? Infinity, ms);
    };
    for (let pass = 0; pass < passes; pass++) {
      const torch = await torchCase<Record<string, Timing>>({ code: TORCH_SCRIPT([l], threads, false) }, threads, notes);
      for (const direction of which) {
        lowest(theirs, direction, torch?.[`${l.name} ${direction}`]?.medianMs);
        lowest(ours, direction, (await time(() => { cc.tidy(() => { run[direction](); }); cc.syncBlocking(); }, { minTotalMs: 500 })).medianMs);
      }
    }
    for (const direction of which) {
      const mine = ours[direction], reference = theirs[direction];
      const ratio = reference ? (reference / mine).toFixed(2) + 'x' : '-';
      console.log(`${l.name.padEnd(30)} ${direction.padEnd(16)} ${mine.toFixed(3).padStart(8)} ${(reference?.toFixed(3) ?? '-').padStart(8)} ${ratio.padStart(13)}`);
    }
    for (const t of [x, w, b, y, dy]) t.dispose();
  }
  for (const n of notes) console.log(`  note: ${n}`);
}

if (require.main === module) void main();
