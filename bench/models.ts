/**
 * Whole models beside PyTorch-CPU (bench/models_torch.py: the identical model, batch, thread
 * count and recipe): `npm run bench -- models`.
 *
 * - LeNet-5 (modern, 28x28) training step, batch 64: forward, cross-entropy, backward, Adam
 *   step, and waiting for the loss, as `fit` runs it (PyTorch: the same with `loss.item()`).
 * - LeNet-5 training epoch on MNIST (60k, batch 64): `model.fit` with the default recipe's Adam
 *   and one-cycle schedule, no augmentation (shift 0) on both sides; then the test accuracy.
 * - LeNet-5 inference, batch 1 and 1000: eval mode, no gradients, the logits read back.
 * - AlexNet-style training step on 3x64x64 images (Tiny-ImageNet sized, 200 classes), batch 32,
 *   SGD with momentum 0.9 and weight decay 5e-4 (AlexNet's recipe): see `alexNetSmall`.
 * - ResNet-18 with the CIFAR stem (`models.resnet18({ numClasses: 10, cifar: true })`) on
 *   3x32x32: a training step at batch 32 (train mode, batch norm on the batch's statistics,
 *   cross-entropy, SGD with momentum 0.9), and inference at batch 1 and 64 (eval mode, no
 *   gradients, the logits read back).
 * - ResNet-50 (`models.resnet50()`, ImageNet's stem) inference at batch 1 on 3x224x224: one image
 *   served at a time (eval mode, no gradients, the logits read back); then again ("fused") with
 *   batch norm folded into the convolutions (`nn.utils.fuseConvBn`; PyTorch's
 *   `torch.fx.experimental.optimization.fuse`).
 * - GoogLeNet (`models.googlenet()`, torchvision's) inference at batch 1 on 3x224x224, and a
 *   training step with its auxiliary heads (loss + 0.3 each, SGD with momentum) at batch 16 on
 *   3x112x112; Inception v3 (`models.inceptionV3`, no auxiliary head) inference at batch 1 on
 *   3x299x299; DenseNet-121 and MobileNet v2 (also fused) inference at batch 1 on 3x224x224.
 *
 * TensorFlow.js (bench/tfjs.ts: its wasm and plain-JavaScript backends, one thread each) runs
 * the LeNet-5 step and inference beside them: the same model in tfjs-layers, channels last.
 *
 * `--device cuda`: the same cases with the models on the GPU (`model.to('cuda')`; `fit` and
 * `evaluate` move each batch there) beside PyTorch on the GPU (models_torch.py --device cuda).
 */
import * as path from 'path';
import * as cc from '../lib';
import { runPython, summarize, time, torchPython, wanted, type BenchOptions, type GroupResult, type Row, type Timing } from './harness';
import { torchWorker } from './python_worker';
import { TFJS_BACKENDS, tfjsCases, tfjsColumn } from './tfjs';

const { nn } = cc;

/**
 * AlexNet's five convolutions (channels 96, 256, 384, 384, 256; no groups), LRN after the
 * first two, 3x3/2 max pooling after conv1, conv2 and conv5, dropout 0.5 before the first two
 * linear layers, scaled for 64x64 inputs: conv1 is 5x5 stride 2 (64 -> 32) instead of 11x11
 * stride 4 on 227, and the linear layers are 2304 -> 1024 -> 1024 -> 200.
 * The same net is in bench/models_torch.py.
 */
export function alexNetSmall(classes = 200): cc.nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 96, 5, { stride: 2, padding: 2 }), new nn.ReLU(), new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }), new nn.MaxPool2d(3, { stride: 2 }), // 96x15x15
    new nn.Conv2d(96, 256, 5, { padding: 2 }), new nn.ReLU(), new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }), new nn.MaxPool2d(3, { stride: 2 }), // 256x7x7
    new nn.Conv2d(256, 384, 3, { padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(384, 384, 3, { padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(384, 256, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(3, { stride: 2 }), // 256x3x3
    new nn.Flatten(),
    new nn.Dropout({ p: 0.5 }), new nn.Linear(256 * 3 * 3, 1024), new nn.ReLU(),
    new nn.Dropout({ p: 0.5 }), new nn.Linear(1024, 1024), new nn.ReLU(),
    new nn.Linear(1024, classes),
  );
}

/**
 * Multiply-adds x2 of the convolutions and linear layers of one forward pass of one image, read
 * from forward hooks on every Conv2d and Linear inside `model` (a Sequential or a ResNet alike).
 */
export function forwardFlops(model: cc.nn.Module, sampleShape: number[]): number {
  let flops = 0;
  const handles = model.modules().map((m) => m.registerForwardHook((layer, inputs, y) => {
    if (layer instanceof nn.Conv2d) flops += 2 * y.size * (layer.inChannels / layer.groups) * layer.kernelSize[0] * layer.kernelSize[1];
    if (layer instanceof nn.Linear) flops += 2 * y.size * (inputs[0] as cc.Tensor).shape[1];
  }));
  const training = model.training;
  try {
    model.train(false);  // batch norm in evaluation mode: one image is no batch to take statistics of
    cc.noGrad(() => cc.tidy(() => { model.call(cc.zeros([1, ...sampleShape])); }));
  } finally {
    model.train(training);
    handles.forEach((h) => h.remove());
  }
  return flops;
}

/** Our training step: what `fit` does per batch (see lib/train/fit.ts). */
export async function trainStep(model: cc.nn.Module, opt: cc.optim.Optimizer, x: cc.Tensor, y: cc.Tensor): Promise<number> {
  const l = cc.tidy(() => {
    const loss = cc.F.crossEntropy(model.call(x) as cc.Tensor, y);
    loss.backward();
    return loss.detach();
  });
  opt.step();
  opt.zeroGrad();
  const v = (await l.data())[0];
  l.dispose();
  return v;
}

/** The first `n` samples of a data set (a view, no copy). */
export function head(ds: cc.data.ArrayDataset, n: number): cc.data.ArrayDataset {
  const size = ds.sampleShape.reduce((a, b) => a * b, 1);
  return new cc.data.ArrayDataset(ds.x.subarray(0, n * size), [n, ...ds.sampleShape], ds.y.subarray(0, n));
}

/**
 * One LeNet-5 training epoch on `train` from a fresh model (`manualSeed(seed)`, the loader
 * shuffled by `seed`) with the default recipe's Adam and one-cycle schedule, no augmentation,
 * on `device`; its wall time and the test accuracy after it. bench/models_torch.py's epoch is
 * the same on PyTorch's side.
 */
export async function lenet5Epoch(train: cc.data.ArrayDataset, test: cc.data.ArrayDataset, seed: number, device: 'cpu' | 'cuda' = 'cpu'): Promise<{ ms: number; accuracy: number }> {
  const recipe = cc.models.LeNet5.defaultRecipe;
  cc.manualSeed(seed);
  const model = cc.models.LeNet5();
  if (device === 'cuda') model.to(device);  // fit and evaluate move each batch to the model's device
  const opt = new cc.optim.Adam(model.parameters(), { lr: recipe.maxLr });
  try {
    const t0 = performance.now();
    await model.fit(train, {
      epochs: 1, batchSize: 64, optimizer: opt, seed, normalize: recipe.normalize, verbose: 0, metrics: [],
      callbacks: [cc.callbacks.lrScheduler((o, run) => new cc.optim.OneCycleLR(o, { maxLr: recipe.maxLr, totalSteps: run.epochs * run.stepsPerEpoch, pctStart: recipe.pctStart }), { per: 'step' })],
    });
    const ms = performance.now() - t0;
    return { ms, accuracy: (await model.evaluate(test, { normalize: recipe.normalize, batchSize: 1000 })).accuracy! };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

export async function benchModels(opts: BenchOptions): Promise<GroupResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const q = opts.quick;
  const device = opts.device ?? 'cpu';
  const gpu = device === 'cuda';
  // On the GPU one sample is no measure (the first calls search cuDNN's algorithms): --quick takes a few.
  const repeats = q ? (gpu ? { warmup: 2, minRepeats: 5, minTotalMs: 0 } : { warmup: 1, minRepeats: 1, minTotalMs: 0 }) : { warmup: 3, minRepeats: 10, minTotalMs: 1000 };
  // On the GPU a case that fails (an op not there yet) is noted and the others still run; on the CPU an error ends the run as before.
  // --only (or CONVNET_BENCH_MODELS=<text>, kept for older scripts): the sections whose name
  // (attempt's first argument) contains a word, e.g. resnet18.
  const only = process.env.CONVNET_BENCH_MODELS;
  const want = (name: string) => (!only || name.includes(only)) && wanted(opts, name);
  const attempt = async (name: string, fn: () => Promise<void>): Promise<void> => {
    if (!want(name)) return;
    if (!gpu) return fn();
    try {
      await fn();
    } catch (e) {
      notes.push(`${name}: not measured: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  // A CPU-made tensor on our device (the CPU original freed).
  const onDevice = <T extends cc.Tensor>(t: T): T => {
    if (!gpu) return t;
    const moved = t.to(device) as T;
    if (moved !== t) t.dispose();
    return moved;
  };
  const recipe = cc.models.LeNet5.defaultRecipe;
  let train: cc.data.ArrayDataset | null = null, test: cc.data.ArrayDataset | null = null;
  try {
    train = cc.data.mnist({ split: 'train' });
    test = cc.data.mnist({ split: 'test' });
  } catch (e) {
    notes.push(`no LeNet-5 epoch: ${(e as Error).message}`);
  }
  // --quick: an "epoch" of 640 images and a test set of 1000; AlexNet at batch 4 (on the GPU: 10k images, batch 32).
  const epochImages = q ? (gpu ? 10000 : 640) : 60000;
  const alexBatch = q && !gpu ? 4 : 32;
  // ResNet-18 (CIFAR stem): training batch and the larger inference batch (--quick on the CPU: 4 and 4).
  const resnetBatch = q && !gpu ? 4 : 32, resnetInferBatch = q && !gpu ? 4 : 64;
  // Fresh models from seeds 0, 1, 2 on both sides: the epoch's time is their fastest, and the three
  // test accuracies show the seed-to-seed spread the two sides' accuracies are compared within.
  const epochRepeats = q ? 1 : 3;
  const lenetFlops = forwardFlops(cc.models.LeNet5(), [1, 28, 28]);
  const alexFlops = forwardFlops(alexNetSmall(), [3, 64, 64]);
  const resnetFlops = (() => {
    const m = cc.models.resnet18({ numClasses: 10, cifar: true });
    try { return forwardFlops(m, [3, 32, 32]); } finally { m.dispose(); }
  })();
  const python = torchPython(device);
  const script = path.resolve(__dirname, '..', '..', 'bench', 'models_torch.py');
  const before = cc.getNumThreads();
  const cudaBefore = gpu ? cc.cuda.options() : null;
  if (gpu) {
    // TF32 as PyTorch's defaults (cuDNN convolutions yes, cuBLAS matmul no), the search as asked.
    const settings = cc.cuda.setOptions({ benchmark: opts.cudnnBenchmark ?? true, allowTF32Cudnn: true, allowTF32Matmul: false, deterministic: false });
    notes.push(`ours on the GPU: model.to('cuda'), cuda.setOptions(${JSON.stringify(settings)})`);
  }
  try {
    for (const threads of opts.threads) {
      const args = [String(threads), String(epochImages), String(alexBatch), String(epochRepeats), train ? 'mnist' : 'nomnist'];
      const flags = [...(q ? ['--quick'] : []), '--resnet-batches', `${resnetBatch},${resnetInferBatch}`, ...(gpu ? ['--device', 'cuda', '--benchmark', opts.cudnnBenchmark ?? true ? 'on' : 'off'] : [])];
      // PyTorch's figures for one case (models_torch.py --only). On the CPU each case runs in the
      // reference worker right before ours, so that a slow spell on this shared machine falls on
      // both sides of it; on the GPU the whole script runs once, first, in a process of its own.
      const whole = gpu ? runPython(`import runpy, sys; sys.argv = ${JSON.stringify([script, ...args, ...flags])}; runpy.run_path(sys.argv[0], run_name='__main__')`, {}, python) : null;
      const reference = async (only: 'step' | 'epoch' | 'inference' | 'alexnet' | 'resnet' | 'resnet50' | 'googlenet' | 'inception_v3' | 'densenet121' | 'mobilenet_v2'): Promise<Record<string, Timing & { accuracy?: number; version?: string }>> => {
        const ref = whole ?? (await torchWorker(threads).run({ script, argv: [...args, ...flags, '--only', only] }));
        const note = 'error' in ref ? `PyTorch not measured at ${threads} thread(s)${gpu ? ` (${python})` : ''}: ${ref.error}`
          : `PyTorch ${(ref.result as { version: string }).version} (${gpu ? `cuda: ${(ref.result as { gpu: string }).gpu}, ${python}` : 'CPU'})`;
        if (!notes.includes(note)) notes.push(note);
        return 'error' in ref ? {} : (ref.result as Record<string, Timing & { accuracy?: number; version?: string }>);
      };
      cc.setNumThreads(threads);
      // TensorFlow.js's LeNet-5 (CPU only: its GPU backends are the browser's), all three cases
      // at once in a Node process of its own per backend (bench/tfjs.ts).
      const lenetWanted = ['lenet5 train step b64', 'lenet5 inference'].some(want);
      const tfjs = Object.fromEntries(TFJS_BACKENDS.map((backend) => [backend, gpu || !lenetWanted ? {} : tfjsCases({ threads, quick: q, lenet5: true }, backend, notes)]));
      const tfjsRefs = (name: string) => Object.fromEntries(TFJS_BACKENDS.map((b) => [tfjsColumn(b), tfjs[b][name]]));

      // LeNet-5 training step, batch 64.
      cc.manualSeed(0);
      await attempt('lenet5 train step b64', async () => {
        const torch = await reference('step');
        const model = cc.models.LeNet5();
        if (gpu) model.to(device);
        const opt = new cc.optim.Adam(model.parameters(), { lr: 1e-3 });
        const x = onDevice(cc.randn([64, 1, 28, 28])), y = onDevice(cc.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 10), { dtype: 'int32' }));
        try {
          const t = await time(async () => { await trainStep(model, opt, x, y); }, repeats);
          rows.push({ case: 'lenet5 train step b64', threads, flops: 3 * 64 * lenetFlops, images: 64, ours: t, references: { PyTorch: torch['lenet5 train step b64'], ...tfjsRefs('lenet5 train step b64') } });
        } finally {
          opt.dispose(); x.dispose(); y.dispose(); model.dispose();
        }
      });

      // LeNet-5 training epoch on MNIST.
      if (train && test) await attempt('lenet5 train epoch', async () => {
        const torch = await reference('epoch');
        const part = epochImages < train.length ? head(train, epochImages) : train;
        const testPart = q ? head(test, 1000) : test;
        const samples: number[] = [];
        const accuracies: number[] = [];
        for (let r = 0; r < epochRepeats; r++) {
          const { ms, accuracy } = await lenet5Epoch(part, testPart, r, device);
          samples.push(ms);
          accuracies.push(accuracy);
        }
        const ours = summarize(samples);
        const name = `lenet5 train epoch b64 (${part.length / 1000}k)`;
        const tr = torch[name];
        rows.push({ case: name, threads, flops: 3 * part.length * lenetFlops, images: part.length, ours, references: { PyTorch: tr } });
        const list = (as: number[]) => `${as.map((a) => (100 * a).toFixed(2) + '%').join(', ')} (mean ${((100 * as.reduce((s, a) => s + a, 0)) / as.length).toFixed(2)}%)`;
        const theirs = (tr as { accuracies?: number[] } | undefined)?.accuracies;
        notes.push(`${threads} thread(s): test accuracy after one epoch, seeds 0-${epochRepeats - 1}: ours ${list(accuracies)}` +
          `${theirs?.length ? `; PyTorch ${list(theirs)}` : ''}`);
      });

      // LeNet-5 inference, batch 1 and 1000.
      await attempt('lenet5 inference', async () => {
        const torch = await reference('inference');
        const model = cc.models.LeNet5();
        if (gpu) model.to(device);
        model.train(false);
        for (const b of [1, 1000]) {
          const x = onDevice(cc.randn([b, 1, 28, 28]));
          const t = await time(async () => {
            const out = cc.noGrad(() => model.call(x) as cc.Tensor);
            await out.data();
            out.dispose();
          }, q ? repeats : { warmup: 5, minRepeats: b === 1 ? 200 : 10, minTotalMs: 1000 });
          const name = `lenet5 inference b${b}`;
          rows.push({ case: name, threads, flops: b * lenetFlops, images: b, ours: t, references: { PyTorch: torch[name], ...tfjsRefs(name) } });
          x.dispose();
        }
        model.dispose();
      });

      // AlexNet-style training step on 64x64 images.
      await attempt('alexnet64 train step', async () => {
        const torch = await reference('alexnet');
        cc.manualSeed(0);
        const model = alexNetSmall();
        if (gpu) model.to(device);
        const opt = new cc.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
        const x = onDevice(cc.randn([alexBatch, 3, 64, 64])), y = onDevice(cc.tensor(Int32Array.from({ length: alexBatch }, (_, i) => (i * 7) % 200), { dtype: 'int32' }));
        try {
          const t = await time(async () => { await trainStep(model, opt, x, y); }, q ? repeats : { warmup: 2, minRepeats: gpu ? 10 : 5, minTotalMs: 0 });
          const name = `alexnet64 train step b${alexBatch}`;
          rows.push({ case: name, threads, flops: 3 * alexBatch * alexFlops, images: alexBatch, ours: t, references: { PyTorch: torch[name] } });
        } finally {
          opt.dispose(); x.dispose(); y.dispose(); model.dispose();
        }
      });

      // ResNet-18 (CIFAR stem) on 32x32: training step, then inference at batch 1 and resnetInferBatch.
      await attempt('resnet18', async () => {
        const torch = await reference('resnet');
        cc.manualSeed(0);
        const model = cc.models.resnet18({ numClasses: 10, cifar: true });
        if (gpu) model.to(device);
        const opt = new cc.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
        const x = onDevice(cc.randn([resnetBatch, 3, 32, 32])), y = onDevice(cc.tensor(Int32Array.from({ length: resnetBatch }, (_, i) => i % 10), { dtype: 'int32' }));
        try {
          model.train(true);
          const t = await time(async () => { await trainStep(model, opt, x, y); }, q ? repeats : { warmup: 2, minRepeats: gpu ? 10 : 5, minTotalMs: 0 });
          const name = `resnet18 train step b${resnetBatch}`;
          rows.push({ case: name, threads, flops: 3 * resnetBatch * resnetFlops, images: resnetBatch, ours: t, references: { PyTorch: torch[name] } });
          model.train(false);
          for (const b of [1, resnetInferBatch]) {
            const xb = onDevice(cc.randn([b, 3, 32, 32]));
            try {
              const ti = await time(async () => {
                const out = cc.noGrad(() => model.call(xb) as cc.Tensor);
                await out.data();
                out.dispose();
              }, q ? repeats : { warmup: 3, minRepeats: b === 1 ? 10 : 5, minTotalMs: b === 1 ? 1000 : 0 });
              const inferName = `resnet18 inference b${b}`;
              rows.push({ case: inferName, threads, flops: b * resnetFlops, images: b, ours: ti, references: { PyTorch: torch[inferName] } });
            } finally {
              xb.dispose();
            }
          }
        } finally {
          opt.dispose(); x.dispose(); y.dispose(); model.dispose();
        }
      });

      // One image at a time on size x size (the forward without gradients, the logits read back):
      // the row "<label> inference b1 <size>x<size>", and with `fused` the same after
      // nn.utils.fuseConvBn ("… fused"; PyTorch: torch.fx's fuse). The model is disposed after.
      const serve = async (label: string, model: cc.nn.Module, size: number, torch: Record<string, Timing>, fused = false): Promise<void> => {
        const flops = forwardFlops(model, [3, size, size]);
        if (gpu) model.to(device);
        model.train(false);
        const xb = onDevice(cc.randn([1, 3, size, size]));
        const timed = () => time(async () => {
          const out = cc.noGrad(() => model.call(xb) as cc.Tensor);
          await out.data();
          out.dispose();
        }, q ? repeats : { warmup: 3, minRepeats: 10, minTotalMs: 2000 });
        try {
          const name = `${label} inference b1 ${size}x${size}`;
          rows.push({ case: name, threads, flops, images: 1, ours: await timed(), references: { PyTorch: torch[name] } });
          if (!fused) return;
          cc.nn.utils.fuseConvBn(model);
          rows.push({ case: `${name} fused`, threads, flops, images: 1, ours: await timed(), references: { PyTorch: torch[`${name} fused`] } });
        } finally {
          xb.dispose(); model.dispose();
        }
      };

      // ResNet-50 (ImageNet's stem, 1000 classes) at batch 1 on 224x224 (--quick on the CPU: 64x64):
      // serving one image at a time, where each layer's work is small and the weights (98 MB)
      // stream from memory on every call.
      await attempt('resnet50', async () => {
        const torch = await reference('resnet50');
        cc.manualSeed(0);
        await serve('resnet50', cc.models.resnet50(), q && !gpu ? 64 : 224, torch, true);
      });

      // GoogLeNet (torchvision's, 1000 classes) at batch 1 on 224x224 as ResNet-50 above, and a
      // training step with its auxiliary heads (loss + 0.3 each) at batch 16 on 112x112 (--quick on
      // the CPU: 64x64, batch 2). PyTorch's side runs the heads in inference too (a few % of it).
      await attempt('googlenet', async () => {
        const torch = await reference('googlenet');
        cc.manualSeed(0);
        await serve('googlenet', cc.models.googlenet(), q && !gpu ? 64 : 224, torch);
        const [B, side] = q && !gpu ? [2, 64] : [16, 112];
        const net = cc.models.googlenet({ numClasses: 10 });
        const stepFlops = 3 * B * forwardFlops(net, [3, side, side]);
        if (gpu) net.to(device);
        net.train();
        const opt = new cc.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
        const x = onDevice(cc.randn([B, 3, side, side]));
        const y = onDevice(cc.tensor(Array.from({ length: B }, (_, i) => i % 10), { dtype: 'int32' }));
        try {
          const t = await time(async () => {
            const loss = cc.tidy(() => {
              opt.zeroGrad();
              const { logits, aux1, aux2 } = net.outputs(x);
              const l = cc.add(cc.F.crossEntropy(logits, y), cc.mul(cc.add(cc.F.crossEntropy(aux1!, y), cc.F.crossEntropy(aux2!, y)), 0.3));
              l.backward();
              opt.step();
              return l;
            });
            await loss.data();
            loss.dispose();
          }, q ? repeats : { warmup: 2, minRepeats: 5, minTotalMs: 0 });
          const name = `googlenet train step b${B} ${side}x${side} (aux)`;
          rows.push({ case: name, threads, flops: stepFlops, images: B, ours: t, references: { PyTorch: torch[name] } });
        } finally {
          opt.dispose(); x.dispose(); y.dispose(); net.dispose();
        }
      });
      // Inception v3 (torchvision's, without the auxiliary head) at batch 1 on 299x299 (--quick on the CPU: 96x96).
      await attempt('inception_v3', async () => {
        const torch = await reference('inception_v3');
        cc.manualSeed(0);
        await serve('inception_v3', cc.models.inceptionV3({ auxLogits: false }), q && !gpu ? 96 : 299, torch);
      });
      // DenseNet-121 and MobileNet v2 (torchvision's) at batch 1 on 224x224 (--quick on the CPU: 64x64); MobileNet also fused.
      for (const [label, make, fused] of [['densenet121', () => cc.models.densenet121(), false], ['mobilenet_v2', () => cc.models.mobilenetV2(), true]] as const) {
        await attempt(label, async () => {
          const torch = await reference(label);
          cc.manualSeed(0);
          await serve(label, make(), q && !gpu ? 64 : 224, torch, fused);
        });
      }
    }
  } finally {
    cc.setNumThreads(before);
    if (cudaBefore) cc.cuda.setOptions(cudaBefore);
  }
  notes.push(`FLOPs: convolutions and linear layers, 2 per multiply-add, forward ${(lenetFlops / 1e6).toFixed(2)} MFLOP per LeNet-5 image, ` +
    `${(alexFlops / 1e6).toFixed(0)} MFLOP per AlexNet-64 image, ${(resnetFlops / 1e6).toFixed(0)} MFLOP per ResNet-18 (CIFAR) image; a training step counts 3x the forward`);
  notes.push('epoch: model.fit (the DataLoader assembling batches in JavaScript included) beside a PyTorch loop indexing a tensor; ' +
    `Adam, one-cycle max lr ${recipe.maxLr}, no augmentation; min–max over ${epochRepeats} epoch(s) from fresh models`);
  return { rows, notes };
}
