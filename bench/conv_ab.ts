/**
 * Interleaved A/B timing of one environment switch on the conv group's layers, for judging a
 * kernel change on a noisy machine: the two settings alternate in one process (10 rounds of
 * ~150 ms each), so that a neighbour's load falls on both, and the medians are compared.
 *
 *   node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 [--threads 2] [--direction forward] [--rounds 10] ["alex c3" ...]
 *
 * The switch must be one the addon reads at each call (CONVNET_WINOGRAD is). Layer names are
 * prefixes of the conv group's cases ("alex c3", "dilated d1"), of SWEEP_5X5 and RESNET_SMALL
 * below ("sweep5", "resnet"), of SMALL_MAPS ("small"), of DOWN_3X3 ("down3"), of UP ("up") or of conv-strided.ts's cases ("5x5/2 16>64");
 * without any, every 3x3 layer of the conv group.
 */
import { performance } from 'perf_hooks';
import * as cc from '../lib';
import { DIRECTIONS, LAYERS, TRANSPOSED, directions, type Layer } from './conv';
import { STRIDED } from './conv-strided';

// 5x5 layers at stride 1 from 16 to 256 channels, behind conv2d.cc's rule for Winograd 5x5 (48
// or more channels in and out per group): `node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 sweep5`.
const SWEEP_5X5: Layer[] = [
  { name: 'sweep5 16>16 28x28', x: [32, 16, 28, 28], w: [16, 16, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 16>16 12x12', x: [16, 16, 12, 12], w: [16, 16, 5, 5], o: {} },
  { name: 'sweep5 64>32 28x28', x: [8, 64, 28, 28], w: [32, 64, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 32>64 14x14', x: [8, 32, 14, 14], w: [64, 32, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 48>48 14x14', x: [8, 48, 14, 14], w: [48, 48, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 48>96 28x28', x: [8, 48, 28, 28], w: [96, 48, 5, 5], o: {} },
  { name: 'sweep5 64>64 7x7', x: [8, 64, 7, 7], w: [64, 64, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 64>64 32x32 b1', x: [1, 64, 32, 32], w: [64, 64, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 128>128 8x8', x: [4, 128, 8, 8], w: [128, 128, 5, 5], o: { padding: 2 } },
  { name: 'sweep5 256>256 13x13', x: [8, 256, 13, 13], w: [256, 256, 5, 5], o: { padding: 2 } },
];

// ResNet-18's (CIFAR-sized, batch 32: bench/resnet-layers.ts) strided 3x3 layers and its 4x4 one, for
// conv2d.cc's rules on small maps: `node dist/bench/conv_ab.js VARIABLE A B resnet`.
const RESNET_SMALL: Layer[] = [
  { name: 'resnet 64>128 3x3/2 32x32', x: [32, 64, 32, 32], w: [128, 64, 3, 3], o: { stride: 2, padding: 1 } },
  { name: 'resnet 128>256 3x3/2 16x16', x: [32, 128, 16, 16], w: [256, 128, 3, 3], o: { stride: 2, padding: 1 } },
  { name: 'resnet 256>512 3x3/2 8x8', x: [32, 256, 8, 8], w: [512, 256, 3, 3], o: { stride: 2, padding: 1 } },
  { name: 'resnet 512>512 3x3 4x4', x: [32, 512, 4, 4], w: [512, 512, 3, 3], o: { padding: 1 } },
];

// Stride-1 layers on maps 4 to 11 wide, from the models group at batch 1 (and ResNet-50's at 8),
// for direct32_applies's least width: `node dist/bench/conv_ab.js VARIABLE A B small`.
const SMALL_MAPS: Layer[] = [
  { name: 'small resnet50 512>512 3x3 7x7 b1', x: [1, 512, 7, 7], w: [512, 512, 3, 3], o: { padding: 1 } },
  { name: 'small resnet50 512>512 3x3 7x7 b8', x: [8, 512, 7, 7], w: [512, 512, 3, 3], o: { padding: 1 } },
  { name: 'small densenet 128>32 3x3 7x7 b1', x: [1, 128, 7, 7], w: [32, 128, 3, 3], o: { padding: 1 } },
  { name: 'small googlenet 5b 48>128 5x5 7x7 b1', x: [1, 48, 7, 7], w: [128, 48, 5, 5], o: { padding: 2 } },
  { name: 'small inception3 E 384>384 1x3 8x8 b1', x: [1, 384, 8, 8], w: [384, 384, 1, 3], o: { padding: [0, 1] } },
  { name: 'small inception3 E 448>384 3x3 8x8 b1', x: [1, 448, 8, 8], w: [384, 448, 3, 3], o: { padding: 1 } },
  { name: 'small inception3 C 128>128 1x7 17x17 b1', x: [1, 128, 17, 17], w: [128, 128, 1, 7], o: { padding: [0, 3] } },
  { name: 'small alex 256>256 3x3 6x6 b8', x: [8, 256, 6, 6], w: [256, 256, 3, 3], o: { padding: 1 } },
  { name: 'small 64>64 3x3 10x10 b16', x: [16, 64, 10, 10], w: [64, 64, 3, 3], o: { padding: 1 } },
];

// 3x3/2 layers with at most 88 input channels (ckk <= 800: direct32_applies's AVX2 rule for
// strides) on maps of 28 to 112: `node dist/bench/conv_ab.js VARIABLE A B down3 --direction forward`.
const DOWN_3X3: Layer[] = ([[64, 56, 8], [64, 56, 1], [64, 28, 8], [64, 40, 8], [32, 112, 8], [32, 56, 8], [80, 56, 8]] as const).map(
  ([c, size, n]) => ({ name: `down3 ${c}>${2 * c} ${size}x${size} b${n}`, x: [n, c, size, size], w: [2 * c, c, 3, 3], o: { stride: 2, padding: 1 } }),
);

// Transposed up-convolutions whose forward is backward-data's algorithm (conv2d.cc's
// phases_apply): U-Net's 2x2/2 and a 3x3/2 with output padding, `... VARIABLE A B up --direction forward`.
const UP: Layer[] = [
  { name: 'up 2x2/2 128>64 28x28', x: [8, 128, 28, 28], w: [128, 64, 2, 2], o: { stride: 2 }, transposed: true },
  { name: 'up 2x2/2 64>32 56x56', x: [8, 64, 56, 56], w: [64, 32, 2, 2], o: { stride: 2 }, transposed: true },
  { name: 'up 3x3/2 64>32 28x28', x: [8, 64, 28, 28], w: [64, 32, 3, 3], o: { stride: 2, padding: 1, outputPadding: 1 }, transposed: true },
];

function main(): void {
  const args = process.argv.slice(2);
  const threadsAt = args.indexOf('--threads');
  const threads = threadsAt >= 0 ? Number(args.splice(threadsAt, 2)[1]) : cc.getNumThreads();
  const directionAt = args.indexOf('--direction');
  const only = directionAt >= 0 ? args.splice(directionAt, 2)[1] : null;
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args.splice(roundsAt, 2)[1]) : 10;
  const [name, a, b, ...filters] = args;
  if (!name || a === undefined || b === undefined) {
    console.error('usage: node dist/bench/conv_ab.js VARIABLE VALUE_A VALUE_B [--threads N] [--direction D] [--rounds 10] [layer prefix ...]');
    process.exit(2);
  }
  cc.setNumThreads(threads);
  const layers = [...LAYERS, ...TRANSPOSED, ...SWEEP_5X5, ...RESNET_SMALL, ...SMALL_MAPS, ...DOWN_3X3, ...UP, ...STRIDED].filter((l) => (filters.length ? filters.some((f) => l.name.startsWith(f)) : LAYERS.includes(l) && l.w[2] === 3));
  console.log(`${name}=${a} against ${name}=${b}, ${threads} thread(s), medians of ${rounds} interleaved rounds`);
  for (const l of layers) {
    const x = cc.randn(l.x), w = cc.mul(cc.randn(l.w), 0.1), bias = cc.randn([l.transposed ? l.w[1] * (l.o.groups ?? 1) : l.w[0]]);
    const y = l.transposed ? cc.F.convTranspose2d(x, w, bias, l.o) : cc.F.conv2d(x, w, bias, l.o);
    const dy = cc.randn(y.shape);
    const run = directions(l, x, w, bias, dy);
    for (const direction of DIRECTIONS.filter((d) => only === null || d === only)) {
      const samples: Record<string, number[]> = { [a]: [], [b]: [] };
      for (let round = 0; round < rounds; round++) {
        for (const value of [a, b]) {
          process.env[name] = value;
          for (let i = 0; i < 2; i++) { run[direction]().dispose(); cc.syncBlocking(); }
          const start = performance.now();
          while (performance.now() - start < 150) {
            const t0 = performance.now();
            const out = run[direction]();
            cc.syncBlocking();
            samples[value].push(performance.now() - t0);
            out.dispose();
          }
        }
      }
      const median = (s: number[]) => s.sort((p, q) => p - q)[s.length >> 1];
      const ma = median(samples[a]), mb = median(samples[b]);
      console.log(`${`${l.name} ${direction}`.padEnd(40)} ${a}: ${ma.toFixed(3)} ms  ${b}: ${mb.toFixed(3)} ms  ${b}/${a} ${(mb / ma).toFixed(2)}`);
    }
    for (const t of [x, w, bias, y, dy]) t.dispose();
  }
}

main();
