/**
 * Convolution: conv2d forward, backward-data and backward-filter on LeNet-5's and AlexNet's
 * layers, a dilated 3x3 stack, three of MobileNet v2's depthwise 3x3s and two transposed
 * convolutions (FCN's upsampling), beside
 * PyTorch-CPU (aten's convolution and convolution_backward, the calls autograd makes) at the
 * same thread count. Target: no case slower than PyTorch. Run alone with
 * `node dist/bench/conv.js [--threads 1,2] [--quick]` (after `npx tsc -p .`), or as the `conv`
 * group of the harness; `--depthwise` runs DEPTHWISE's layers instead.
 *
 * On the GPU (`--device cuda`): the same layers, beside PyTorch on the GPU
 * (bench/conv_torch.py) and beside the fastest cuDNN algorithm's own GPU time (issue 6: within
 * 5% of it); see `benchConvCuda`.
 */
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { conv2dBackward, convTranspose2dBackward, type Conv2dOptions, type ConvTranspose2dOptions } from '../lib/nn/functional/conv';
import { printTable, pythonTimer, runPython, summarize, time, torchPython, wanted, type BenchOptions, type GroupResult, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';

export interface Layer { name: string; x: number[]; w: number[]; o: Conv2dOptions & ConvTranspose2dOptions; /** convTranspose2d (w [C, K / groups, kh, kw]) */ transposed?: boolean }

export const LAYERS: Layer[] = [
  { name: 'lenet c1 1>6 5x5', x: [64, 1, 32, 32], w: [6, 1, 5, 5], o: {} },
  { name: 'lenet c3 6>16 5x5', x: [64, 6, 14, 14], w: [16, 6, 5, 5], o: {} },
  { name: 'alex c1 3>96 11x11 s4', x: [8, 3, 227, 227], w: [96, 3, 11, 11], o: { stride: 4 } },
  { name: 'alex c2 96>256 5x5 g2', x: [8, 96, 27, 27], w: [256, 48, 5, 5], o: { padding: 2, groups: 2 } },
  { name: 'alex c3 256>384 3x3', x: [8, 256, 13, 13], w: [384, 256, 3, 3], o: { padding: 1 } },
  { name: 'alex c4 384>384 3x3 g2', x: [8, 384, 13, 13], w: [384, 192, 3, 3], o: { padding: 1, groups: 2 } },
  { name: 'alex c5 384>256 3x3 g2', x: [8, 384, 13, 13], w: [256, 192, 3, 3], o: { padding: 1, groups: 2 } },
  { name: 'dilated d1 64>64 3x3', x: [8, 64, 56, 56], w: [64, 64, 3, 3], o: { padding: 1, dilation: 1 } },
  { name: 'dilated d2 64>64 3x3', x: [8, 64, 56, 56], w: [64, 64, 3, 3], o: { padding: 2, dilation: 2 } },
  { name: 'dilated d4 64>64 3x3', x: [8, 64, 56, 56], w: [64, 64, 3, 3], o: { padding: 4, dilation: 4 } },
  // MobileNet v2's depthwise 3x3s (groups = channels), at a training batch.
  { name: 'mobilenet dw 144 3x3', x: [8, 144, 56, 56], w: [144, 1, 3, 3], o: { padding: 1, groups: 144 } },
  { name: 'mobilenet dw 96 3x3 s2', x: [8, 96, 112, 112], w: [96, 1, 3, 3], o: { stride: 2, padding: 1, groups: 96 } },
  // ... and one on small planes (14x14 to 7x7), where the channels go in the lanes.
  { name: 'mobilenet dw 576 3x3 s2', x: [8, 576, 14, 14], w: [576, 1, 3, 3], o: { stride: 2, padding: 1, groups: 576 } },
];
export const DIRECTIONS = ['forward', 'backward-data', 'backward-filter'] as const;

// Transposed convolutions, FCN's upsampling (both tables).
export const TRANSPOSED: Layer[] = [
  { name: 'tconv 64>32 4x4 s2 (2x up)', x: [8, 64, 28, 28], w: [64, 32, 4, 4], o: { stride: 2, padding: 1 }, transposed: true },
  { name: 'tconv fcn 21>21 4x4 s2', x: [8, 21, 32, 32], w: [21, 21, 4, 4], o: { stride: 2, padding: 1 }, transposed: true },
];

// MobileNet v2's depthwise 3x3s from 7x7 to 56x56 at batch 8 (the rows' lanes and the channels'
// lanes of native/cpu/depthwise_conv2d.cc): not in the group, `node dist/bench/conv.js --depthwise`.
export const DEPTHWISE: Layer[] = [
  { name: 'dw 960 3x3 7x7', x: [8, 960, 7, 7], w: [960, 1, 3, 3], o: { padding: 1, groups: 960 } },
  { name: 'dw 576 3x3/2 14x14', x: [8, 576, 14, 14], w: [576, 1, 3, 3], o: { stride: 2, padding: 1, groups: 576 } },
  { name: 'dw 384 3x3 14x14', x: [8, 384, 14, 14], w: [384, 1, 3, 3], o: { padding: 1, groups: 384 } },
  { name: 'dw 192 3x3 28x28', x: [8, 192, 28, 28], w: [192, 1, 3, 3], o: { padding: 1, groups: 192 } },
  { name: 'dw 144 3x3/2 56x56', x: [8, 144, 56, 56], w: [144, 1, 3, 3], o: { stride: 2, padding: 1, groups: 144 } },
];

/** A layer as the Python below reads it. */
export const torchLayer = (l: Layer) => ({ name: l.name, x: l.x, w: l.w, s: l.o.stride ?? 1, p: l.o.padding ?? 0, d: l.o.dilation ?? 1, g: l.o.groups ?? 1, t: l.transposed ? 1 : 0 });

/**
 * Python that makes layer L's (torchLayer's dict) x, w, b and dy and `fns`, its three directions as
 * calls, each line after the first indented by `indent`: shared by TORCH_SCRIPT and thread-scaling.ts.
 */
export const torchLayerSetup = (indent: string) => [
  'pair = lambda v: list(v) if isinstance(v, list) else [v, v]',
  's, p, d, g, t = pair(L["s"]), pair(L["p"]), pair(L["d"]), L["g"], L["t"]',
  'x = torch.randn(L["x"]); w = torch.randn(L["w"]) * 0.1; b = torch.randn(L["w"][1] * g if t else L["w"][0])',
  'F = torch.nn.functional',
  'fwd = (lambda: F.conv_transpose2d(x, w, b, s, p, [0, 0], g, d)) if t else (lambda: F.conv2d(x, w, b, s, p, d, g))',
  'dy = torch.randn(fwd().shape)',
  'fns = {',
  '    "forward": fwd,',
  '    "backward-data": lambda: torch.ops.aten.convolution_backward(dy, x, w, None, s, p, d, t, [0, 0], g, [True, False, False]),',
  '    "backward-filter": lambda: torch.ops.aten.convolution_backward(dy, x, w, None, s, p, d, t, [0, 0], g, [False, True, False]),',
  '}',
].join(`\n${indent}`);

export const TORCH_SCRIPT = (layers: Layer[], threads: number, quick: boolean) => `
import json
import torch
${pythonTimer(quick, 0.5)}
torch.set_num_threads(${threads})
out = {}
for L in ${JSON.stringify(layers.map(torchLayer))}:
    ${torchLayerSetup('    ')}
    for direction, fn in fns.items():
        with torch.no_grad():
            out[L["name"] + " " + direction] = timed(fn)
out["torch"] = torch.__version__
print(json.dumps(out))
`;

/** The three timed calls of a layer: the forward op and the two halves of its backward. */
export function directions(l: Layer, x: cc.Tensor, w: cc.Tensor, b: cc.Tensor, dy: cc.Tensor): Record<(typeof DIRECTIONS)[number], () => cc.Tensor> {
  if (l.transposed) {
    return {
      forward: () => cc.F.convTranspose2d(x, w, b, l.o),
      'backward-data': () => convTranspose2dBackward(dy, x, w, l.o, { needWeight: false, needBias: false }).dx as cc.Tensor,
      'backward-filter': () => convTranspose2dBackward(dy, x, w, l.o, { needInput: false, needBias: false }).dw as cc.Tensor,
    };
  }
  return {
    forward: () => cc.F.conv2d(x, w, b, l.o),
    'backward-data': () => conv2dBackward(dy, x, w, l.o, { needWeight: false, needBias: false }).dx as cc.Tensor,
    'backward-filter': () => conv2dBackward(dy, x, w, l.o, { needInput: false, needBias: false }).dw as cc.Tensor,
  };
}

/**
 * A layer's tensors on `device` (random, made on the CPU with its seeded generator, then moved;
 * the CPU originals are freed by tidy), its three directions, and the disposal of the tensors.
 * The GPU table and scripts/gpu's diagnostics use it.
 */
export function layerOn(l: Layer, device: 'cpu' | 'cuda'): { run: ReturnType<typeof directions>; dispose: () => void } {
  const make = (shape: readonly number[], std = 1) => cc.tidy(() => cc.randn(shape, 0, std).to(device));
  const x = make(l.x), w = make(l.w, 0.1), b = make([l.transposed ? l.w[1] * (l.o.groups ?? 1) : l.w[0]]);
  const y = l.transposed ? cc.F.convTranspose2d(x, w, b, l.o) : cc.F.conv2d(x, w, b, l.o);
  const dy = make(y.shape);
  return { run: directions(l, x, w, b, dy), dispose: () => { for (const t of [x, w, b, y, dy]) t.dispose(); } };
}

function flopsOf(l: Layer): number {
  const y = cc.tidy(() => cc.F.conv2d(cc.zeros(l.x), cc.zeros(l.w), null, l.o).shape);
  return 2 * y[0] * y[1] * y[2] * y[3] * l.w[1] * l.w[2] * l.w[3];
}

export async function benchConv(opts: BenchOptions, only?: Layer[]): Promise<GroupResult> {
  if (opts.device === 'cuda') return benchConvCuda(opts);
  const rows: Row[] = [];
  const notes: string[] = [];
  // --only: the layers with a wanted row ("<layer> <direction>"), and those rows.
  const layers = (only ?? (opts.quick ? LAYERS.slice(0, 2) : [...LAYERS, ...TRANSPOSED])).filter((l) => DIRECTIONS.some((d) => wanted(opts, `${l.name} ${d}`)));
  const before = cc.getNumThreads();
  for (const threads of opts.threads) {
    cc.setNumThreads(threads);
    for (const l of layers) {
      // PyTorch layer by layer, each right before ours: a neighbour's slow spell on this shared
      // machine (minutes at times) then falls on both sides of a case, not on one side of the
      // whole group, as when PyTorch ran every layer first (AlexNet c2's backward-filter read
      // 0.69x in two runs of six that way: ours at 11.5 ms in a slow spell against 5.5).
      const reference = (await torchCase<Record<string, Timing>>({ code: TORCH_SCRIPT([l], threads, opts.quick) }, threads, notes)) ?? {};
      const version = (reference as unknown as { torch?: string }).torch;
      const note = `PyTorch ${version} (CPU), aten convolution / convolution_backward, run layer by layer before ours`;
      if (version && !notes.includes(note)) notes.push(note);
      const x = cc.randn(l.x), w = cc.mul(cc.randn(l.w), 0.1), b = cc.randn([l.transposed ? l.w[1] * (l.o.groups ?? 1) : l.w[0]]);
      const y = l.transposed ? cc.F.convTranspose2d(x, w, b, l.o) : cc.F.conv2d(x, w, b, l.o);
      const dy = cc.randn(y.shape);
      const run = directions(l, x, w, b, dy);
      const flops = flopsOfAny(l);
      for (const direction of DIRECTIONS.filter((d) => wanted(opts, `${l.name} ${d}`))) {
        // A synchronous call, as on PyTorch's side and in every other op group: syncBlocking()
        // waits for the result without copying it out. `await cc.sync()` here also timed the
        // event loop's wake-up (~22 us on the 2-vCPU VM) and the promise's round trip: LeNet c3's
        // forward read 0.217 ms that way against 0.156 with syncBlocking (medians, 2 threads).
        const ours = await time(() => {
          const out = run[direction]();
          cc.syncBlocking();
          out.dispose();
        }, opts.quick ? { warmup: 0, minRepeats: 1, minTotalMs: 0 } : { minTotalMs: 500 });
        rows.push({ case: `${l.name} ${direction}`, threads, flops, ours, references: { PyTorch: reference[`${l.name} ${direction}`] } });
      }
      for (const t of [x, w, b, y, dy]) t.dispose();
    }
  }
  cc.setNumThreads(before);
  return { rows, notes };
}

/** 2 x multiply-adds of one forward pass (the backward passes do as many). */
function flopsOfAny(l: Layer): number {
  // transposed: every input element meets K / groups x kh x kw weights
  return l.transposed ? 2 * l.x.reduce((a, b) => a * b, 1) * l.w[1] * l.w[2] * l.w[3] : flopsOf(l);
}

/**
 * The GPU table: each layer and direction on the GPU, our time beside PyTorch's (same shapes,
 * same `benchmark` setting, TF32 at PyTorch's defaults on both sides) and beside the fastest
 * cuDNN algorithm's own GPU time (PyTorch's benchmark mode picks it; CUDA-graph replays time it
 * without launch overhead: bench/conv_torch.py). Both sides time `inner` back-to-back calls
 * between two waits for the GPU (ours: `syncBlocking()`; PyTorch: `torch.cuda.synchronize()`),
 * per call.
 */
async function benchConvCuda(opts: BenchOptions): Promise<GroupResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const q = opts.quick;
  const layers = [...LAYERS, ...TRANSPOSED].filter((l) => DIRECTIONS.some((d) => wanted(opts, `${l.name} ${d}`)));
  const inner = q ? 10 : 20;
  const benchmark = opts.cudnnBenchmark ?? true;
  const threads = opts.threads[0];
  const python = torchPython('cuda');
  const script = path.resolve(__dirname, '..', '..', 'bench', 'conv_torch.py');
  const spec = layers.map((l) => ({ name: l.name, x: l.x, w: l.w, s: l.o.stride ?? 1, p: l.o.padding ?? 0, d: l.o.dilation ?? 1, g: l.o.groups ?? 1, t: !!l.transposed }));
  const argv = [script, JSON.stringify(spec), String(inner), benchmark ? 'on' : 'off', ...(q ? ['--quick'] : [])];
  const ref = runPython(`import runpy, sys; sys.argv = ${JSON.stringify(argv)}; runpy.run_path(sys.argv[0], run_name='__main__')`, {}, python);
  type TorchOut = { eager: Record<string, Timing>; best: Record<string, Timing>; bestHeld: Record<string, Timing | null>; bestMethod: Record<string, string>; version: string; cudnn: number; gpu: string; tf32: unknown; benchmarkLimit: number };
  let torch: TorchOut = { eager: {}, best: {}, bestHeld: {}, bestMethod: {}, version: '', cudnn: 0, gpu: '', tf32: null, benchmarkLimit: 0 };
  if ('error' in ref) notes.push(`PyTorch not measured (${python}): ${ref.error}`);
  else {
    torch = ref.result as TorchOut;
    const methods = [...new Set(Object.values(torch.bestMethod))];
    notes.push(`PyTorch ${torch.version} (${python}) on ${torch.gpu}, cuDNN ${torch.cudnn}, benchmark ${benchmark ? 'on' : 'off'}, TF32 ${JSON.stringify(torch.tf32)}; ` +
      `cuDNN best: benchmark mode's algorithm (benchmark_limit ${torch.benchmarkLimit}${torch.benchmarkLimit === 0 ? ': every engine config' : ''}), its GPU time measured as ours; ` +
      `"cuDNN best (graph)": the same algorithm replayed in ${methods.join(' / ') || '-'}`);
  }
  const before = cc.cuda.options();
  // TF32 as PyTorch's defaults (cuDNN convolutions yes, cuBLAS matmul no), the search as asked.
  const settings = cc.cuda.setOptions({ benchmark, allowTF32Cudnn: true, allowTF32Matmul: false, deterministic: false });
  notes.push(`ours: cuda.setOptions(${JSON.stringify(settings)}); both sides: ${inner} calls back to back, then a wait for the GPU, per call (median of samples)`);
  const repeats = q ? { warmup: 2, minRepeats: 5, minTotalMs: 0 } : { warmup: 3, minRepeats: 10, minTotalMs: 300 };
  try {
    for (const l of layers) {
      const { run, dispose } = layerOn(l, 'cuda');
      const flops = flopsOfAny(l);
      for (const direction of DIRECTIONS.filter((d) => wanted(opts, `${l.name} ${d}`))) {
        const name = `${l.name} ${direction}`;
        try {
          const t = await time(() => {
            for (let i = 0; i < inner; i++) run[direction]().dispose();
            cc.syncBlocking();
          }, repeats);
          const ours = { medianMs: t.medianMs / inner, minMs: t.minMs / inner, maxMs: t.maxMs / inner, repeats: t.repeats };
          rows.push({ case: name, threads, flops, ours, references: { PyTorch: torch.eager[name] } });
          const gpu = gpuTimePerCall(() => run[direction]().dispose(), inner, q ? 5 : 20);
          rows.push({ case: `${name} (GPU)`, threads, flops, ours: gpu, references: { 'cuDNN best': torch.bestHeld?.[name] ?? undefined, 'cuDNN best (graph)': torch.best[name] } });
        } catch (e) {
          // one failing case (an op not on the GPU yet) must not hide the others
          notes.push(`${name}: not measured: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      dispose();
    }
  } finally {
    cc.cuda.setOptions(before);
  }
  for (const reference of ['cuDNN best', 'cuDNN best (graph)']) notes.push(withinFivePercent(rows, reference));
  notes.push('rows "(GPU)": GPU time per call, ours (cuda.Event around the calls, the GPU held by cuda._sleep until all are enqueued, so no launch gap counts) ' +
    'beside the algorithm PyTorch\'s benchmark mode finds fastest, timed the same way ("cuDNN best": like with like, the target) and replayed in a CUDA graph ' +
    '("cuDNN best (graph)": fewer gaps between an algorithm\'s kernels than stream launches have, for any algorithm): at 0.95x or above we are within 5%. ' +
    'The other rows: wall time per call, host included, beside PyTorch eager');
  return { rows, notes, referenceMs: true };
}

/** How many rows are within 5% of `reference`'s time (issue 6's GPU conv target), and which are not. */
export function withinFivePercent(rows: Row[], reference: string): string {
  const measured = rows.filter((r) => r.references[reference]);
  const ratio = (r: Row) => r.ours.medianMs / r.references[reference]!.medianMs;
  const slow = measured.filter((r) => ratio(r) > 1.05);
  return `within 5% of ${reference}: ${measured.length - slow.length} of ${measured.length} cases` +
    (slow.length ? `; not (our time over its time): ${slow.map((r) => `${r.case} ${ratio(r).toFixed(2)}x`).join(', ')}` : '');
}

/**
 * GPU time per call of `fn` (which enqueues GPU work): `samples` times, a busy kernel
 * (cuda._sleep) holds the GPU while `inner` calls are enqueued between two events, so they run
 * back to back and the events see GPU time only. If the start event was passed before the last
 * call was enqueued, the GPU waited for the host: the sample is dropped and the sleep doubled.
 */
export function gpuTimePerCall(fn: () => void, inner: number, samples: number): Timing {
  const start = new cc.cuda.Event(), end = new cc.cuda.Event();
  let cycles = 4e6; // ~2 ms at 2 GHz
  const got: number[] = [];
  for (let tries = 0; got.length < samples && tries < samples + 20; tries++) {
    cc.cuda._sleep(cycles);
    start.record();
    for (let i = 0; i < inner; i++) fn();
    end.record();
    const held = !start.query();
    end.synchronize();
    if (held) got.push(start.elapsedTime(end) / inner);
    else cycles *= 2;
  }
  if (!got.length) throw new Error('gpuTimePerCall: the host never got ahead of the GPU');
  return summarize(got);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--threads');
  const threads = at >= 0 ? args[at + 1].split(',').map(Number) : [...new Set([1, os.cpus().length])];
  const device = args.includes('--device') ? (args[args.indexOf('--device') + 1] as 'cpu' | 'cuda') : 'cpu';
  benchConv({ threads: device === 'cuda' ? [threads[threads.length - 1]] : threads, quick: args.includes('--quick'), device }, args.includes('--depthwise') ? DEPTHWISE : undefined)
    .then(({ rows, notes, referenceMs }) => {
      printTable(`conv2d (batch as listed)${device === 'cuda' ? ', cuda' : ''}`, rows, device === 'cuda' ? ['PyTorch', 'cuDNN best', 'cuDNN best (graph)'] : ['PyTorch'], { referenceMs });
      for (const n of notes) console.log(`  note: ${n}`);
    })
    .catch((e) => {
      console.error(`bench conv: ${(e as Error).message}`);
      process.exitCode = 1;
    });
}
