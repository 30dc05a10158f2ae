/**
 * The survey's layer variants trained together: an MNIST classifier built from tiled
 * convolutions (Ngiam et al. 2010), probout units (Springenberg and Riedmiller 2013), spectral
 * pooling (Rippel et al. 2015) and an L-Softmax head (Liu et al. 2016), beside the plain network
 * it varies (convolutions, ReLU, max pooling, a linear softmax classifier) trained the same way:
 * the same data, batches, optimizer and steps. Both are scored on held-out test images.
 *
 *   plain:    conv 5x5 (1 -> 16) ReLU maxpool 2 | conv 5x5 (16 -> 32) ReLU maxpool 2 | linear -> 10
 *   variants: tiled conv 5x5, 2x2 tile (1 -> 32) probout 2 spectral pool to 14 |
 *             tiled conv 5x5, 2x2 tile (16 -> 64) probout 2 spectral pool to 7 | L-Softmax (m = 2) -> 10
 *
 * The L-Softmax head is annealed as the paper does: β (the weight of the plain logit) starts at
 * 100 and falls by 1% a step, to a floor of 5 (SphereFace's; annealed to 0, this network's test
 * accuracy fell from 88% at step 200 to 59% at step 600 as the margin took over). In evaluation
 * probout gives its expectation and the head its plain logits. A default run (`node
 * dist/examples/survey-variants.js`: 600 steps of 64, the 10000 test images; CPU, 2 cores,
 * 2026-11-30, 119 s in all):
 *
 *   plain:    test accuracy 97.38%, 24.0 ms a step
 *   variants: test accuracy 95.02%, 166.8 ms a step
 *
 * The variants learn, end to end, but at this budget not better than the plain network, and a
 * step costs 7x: the tiled convolutions run as four stride-2 convolutions, which this library's
 * CPU kernels do at about half PyTorch's speed per FLOP at these shapes (`node
 * dist/bench/survey-variants.js`), and the L-Softmax logits and probout add passes of their own.
 *
 *   node dist/examples/survey-variants.js [--device cuda] [--steps 600] [--test-size 10000] [--help]
 */
import { performance } from 'perf_hooks';
import { argmax, data, manualSeed, nn, noGrad, optim, resolveDevice, tensor, tidy, type Tensor } from '../lib';
import { parseArgs, UsageError } from '../lib/cli/args';
import { mulberry32 } from './seeded';

export interface SurveyVariantsOptions {
  /** 'cpu' (default), 'cuda' or 'auto'. */
  device?: 'cpu' | 'cuda' | 'auto';
  /** Training steps (batches of `batchSize`). Default 600. */
  steps?: number;
  batchSize?: number;
  /** Held-out test images scored (the first n of MNIST's test split). Default 10000. */
  testSize?: number;
  /** Adam's learning rate. Default 1e-3. */
  lr?: number;
  /** The L-Softmax head's β falls from 100 by 1% a step to this floor (default 5, as SphereFace's). */
  betaMin?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface NetworkResult { accuracy: number; loss: number; msPerStep: number }
export interface SurveyVariantsResult { plain: NetworkResult; variants: NetworkResult; device: 'cpu' | 'cuda'; seconds: number }

/** A feature extractor and a classifier head; `logits(x, labels?)` is the training forward. */
interface Network {
  features: nn.Sequential;
  head: nn.Linear | nn.LargeMarginLinear;
  parameters(): nn.Parameter[];
}

export function plainNetwork(): Network {
  const features = new nn.Sequential(
    new nn.Conv2d(1, 16, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),    // 16 x 14 x 14
    new nn.Conv2d(16, 32, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),   // 32 x 7 x 7
    new nn.Flatten(),
  );
  const head = new nn.Linear(32 * 7 * 7, 10);
  return { features, head, parameters: () => [...features.parameters(), ...head.parameters()] };
}

export function variantsNetwork(): Network {
  const features = new nn.Sequential(
    new nn.TiledConv2d(1, 32, 5, { tile: 2, padding: 2 }), new nn.Probout(2), new nn.SpectralPool2d(14),    // 16 x 14 x 14
    new nn.TiledConv2d(16, 64, 5, { tile: 2, padding: 2 }), new nn.Probout(2), new nn.SpectralPool2d(7),    // 32 x 7 x 7
    new nn.Flatten(),
  );
  const head = new nn.LargeMarginLinear(32 * 7 * 7, 10, { margin: 2, beta: 100 });
  return { features, head, parameters: () => [...features.parameters(), ...head.parameters()] };
}

function logits(net: Network, x: Tensor, labels?: Tensor<'int32'>): Tensor<'float32'> {
  const f = net.features.call(x) as Tensor<'float32'>;
  return (net.head instanceof nn.LargeMarginLinear ? net.head.call(f, labels) : net.head.call(f)) as Tensor<'float32'>;
}

export async function run(options: SurveyVariantsOptions = {}): Promise<SurveyVariantsResult> {
  const start = performance.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const { device, reason } = resolveDevice(options.device ?? 'cpu');
  if (reason) log(`device: ${device} (${reason})`);
  const steps = options.steps ?? 600, batch = options.batchSize ?? 64, lr = options.lr ?? 1e-3, seed = options.seed ?? 1;
  const betaMin = options.betaMin ?? 5;
  const train = data.mnist(), test = data.mnist({ split: 'test' });
  const n = Math.min(options.testSize ?? 10000, test.length);
  const pixels = 28 * 28;

  const result: Partial<Record<'plain' | 'variants', NetworkResult>> = {};
  for (const name of ['plain', 'variants'] as const) {
    manualSeed(seed);   // the initial weights, and probout's draws
    const net = name === 'plain' ? plainNetwork() : variantsNetwork();
    net.features.to(device);
    net.head.to(device);
    const optimizer = new optim.Adam(net.parameters(), { lr });
    const ce = new nn.CrossEntropyLoss();
    const next = mulberry32(seed);   // the same batches for both networks
    const bx = new Float32Array(batch * pixels), by = new Int32Array(batch);
    let loss = NaN;
    const t0 = performance.now();
    for (let step = 1; step <= steps; step++) {
      for (let b = 0; b < batch; b++) {
        const i = Math.floor(next() * train.length);
        bx.set(train.x.subarray(i * pixels, (i + 1) * pixels), b * pixels);
        by[b] = train.y[i];
      }
      const l = tidy(() => {
        optimizer.zeroGrad();
        const x = tensor(bx, { shape: [batch, 1, 28, 28], device });
        const y = tensor(by, { dtype: 'int32', device });
        const value = ce.call(logits(net, x, y), y);
        value.backward();
        optimizer.step();
        return value;
      });
      if (net.head instanceof nn.LargeMarginLinear) net.head.beta = Math.max(betaMin, net.head.beta * 0.99);
      if (step % 100 === 0 || step === steps) {
        loss = await l.item();
        log(`${name}: step ${step}/${steps}, loss ${loss.toFixed(4)}`);
      }
      l.dispose();
    }
    const msPerStep = (performance.now() - t0) / steps;
    net.features.eval();
    net.head.eval();
    let correct = 0;
    noGrad(() => {
      for (let s = 0; s < n; s += 500) {
        const m = Math.min(500, n - s);
        const predicted = tidy(() => argmax(logits(net, tensor(test.x.subarray(s * pixels, (s + m) * pixels), { shape: [m, 1, 28, 28], device })), 1).dataSync());
        for (let k = 0; k < m; k++) if (predicted[k] === test.y[s + k]) correct++;
      }
    });
    result[name] = { accuracy: correct / n, loss, msPerStep };
    log(`${name}: test accuracy ${(100 * correct / n).toFixed(2)}% on ${n} images, ${msPerStep.toFixed(1)} ms a step`);
    net.features.dispose();
    net.head.dispose();
    optimizer.dispose();
  }
  return { plain: result.plain!, variants: result.variants!, device, seconds: (performance.now() - start) / 1000 };
}

const HELP = `Usage: node dist/examples/survey-variants.js [options]

Trains an MNIST classifier built from the survey's variants (tiled convolution, probout,
spectral pooling, L-Softmax) beside the plain network it varies, the same way, and scores both
on the held-out test images.

  --device cpu|cuda|auto   where to run (default cpu)
  --steps N                training steps of each network (default 600)
  --batch-size N           images a step (default 64)
  --test-size N            held-out test images scored (default 10000)
  --lr R                   Adam learning rate (default 0.001)
  --beta-min B             the L-Softmax head's floor of beta (default 5)
  --seed S                 seed of the weights and the batches (default 1)
  --help                   this text`;

if (require.main === module) {
  try {
    const { options } = parseArgs(process.argv.slice(2), {
      device: { type: ['cpu', 'cuda', 'auto'] }, steps: { type: 'int', min: 1 }, 'batch-size': { type: 'int', min: 1 },
      'test-size': { type: 'int', min: 1 }, lr: { type: 'number' }, 'beta-min': { type: 'number' }, seed: { type: 'int' }, help: { type: 'flag' },
    });
    if (options.help) {
      console.log(HELP);
    } else {
      run({
        device: options.device as SurveyVariantsOptions['device'], steps: options.steps as number | undefined,
        batchSize: options['batch-size'] as number | undefined, testSize: options['test-size'] as number | undefined,
        lr: options.lr as number | undefined, betaMin: options['beta-min'] as number | undefined, seed: options.seed as number | undefined,
      }).then((r) => console.log(`done in ${r.seconds.toFixed(1)} s on ${r.device}`), (e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exitCode = 1;
      });
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n\n${HELP}`);
    process.exitCode = 2;
  }
}
