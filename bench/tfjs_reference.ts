/**
 * The TensorFlow.js side of the harness, run in a Node process of its own (bench/tfjs.ts starts
 * it): `node dist/bench/tfjs_reference.js '<request JSON>'` prints one JSON line, each case's
 * Timing by name, with the versions and the backend it ran on.
 *
 * TF.js is what a Node user would otherwise reach for. Its Node binding (`@tensorflow/tfjs-node`)
 * downloads libtensorflow from Google's storage when it installs, which this project's machines
 * (and many servers) cannot do; what installs from the npm registry alone are its WebAssembly
 * backend (`wasm`: XNNPACK, SIMD) and its plain JavaScript one (`cpu`). Both are measured here,
 * each case the same work as ours:
 * - gemm N: `tf.matMul` of two N x N float32 matrices (both backends compute it in the call, as
 *   ours by its sync; the product is not read back, nor is ours).
 * - LeNet-5 (bench/models.ts; tfjs-layers, channels last, TF.js's layout): a training step at
 *   batch 64 (`trainOnBatch`: forward, softmax cross-entropy on the logits, backward, Adam, the
 *   loss read back) and inference at batch 1 and 1000 (`predict`, the logits read back).
 * Timing as the harness's `time`: warm-up runs, then repeats until both a count and a time have
 * passed; the median, min and max.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { time, type Timing } from './harness';

export interface TfjsRequest {
  backend: 'wasm' | 'cpu';
  /** Threads for the wasm backend (its default: the machine's cores, where Node gives it threads). */
  threads: number;
  gemm?: number[];
  lenet5?: boolean;
  quick?: boolean;
}

export interface TfjsReply {
  results: Record<string, Timing>;
  /** Cases this backend cannot run, and why (the wasm backend has no convolution gradients). */
  failed: Record<string, string>;
  version: string;
  backend: string;
  /** What the wasm backend ran with: SIMD and its thread count (1 where Node gives it none). */
  detail: string;
}

/** The modern LeNet-5 of models.LeNet5() (bench/lenet5_common.py), channels last. */
function lenet5(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 120, activation: 'relu' }),
      tfl.layers.dense({ units: 84, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

async function main(request: TfjsRequest): Promise<TfjsReply> {
  if (request.backend === 'wasm') wasm.setThreadsCount(request.threads);
  if (!(await tf.setBackend(request.backend))) throw new Error(`TF.js backend ${request.backend} did not start`);
  await tf.ready();
  const results: Record<string, Timing> = {};
  const failed: Record<string, string> = {};
  // A kernel the backend lacks fails its case alone (tf.tidy frees what the failed call made).
  const attempt = async (name: string, fn: () => Promise<Timing>): Promise<void> => {
    try {
      results[name] = await fn();
    } catch (e) {
      failed[name] = (e as Error).message.split('\n')[0];
    }
  };
  const q = request.quick === true;
  const repeats = q ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : { warmup: 3, minRepeats: 10, minTotalMs: 1000 };

  for (const n of request.gemm ?? []) {
    const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
    results[String(n)] = await time(() => {
      tf.matMul(a, b).dispose();
    }, q ? repeats : { warmup: 2, minRepeats: 5, minTotalMs: 300 });
    tf.dispose([a, b]);
  }

  if (request.lenet5) {
    const model = lenet5();
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
    const x = tf.randomNormal([64, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10);
    // The plain-JavaScript backend's convolution gradients take seconds a step (its
    // conv2DBackpropFilter reads every element through TensorBuffer.get): three timed steps.
    const slow = request.backend === 'cpu' && !q ? { warmup: 1, minRepeats: 3, minTotalMs: 0 } : repeats;
    await attempt('lenet5 train step b64', () => time(async () => { await model.trainOnBatch(x, y); }, slow));
    tf.dispose([x, y]);
    for (const batch of [1, 1000]) {
      const xb = tf.randomNormal([batch, 28, 28, 1]);
      await attempt(`lenet5 inference b${batch}`, () => time(async () => {
        const out = model.predict(xb) as tf.Tensor;
        await out.data();
        out.dispose();
      }, q ? repeats : batch === 1 ? { warmup: 5, minRepeats: 200, minTotalMs: 1000 } : request.backend === 'cpu' ? slow : { warmup: 5, minRepeats: 10, minTotalMs: 1000 }));
      xb.dispose();
    }
    model.dispose();
  }

  const detail = request.backend === 'wasm'
    ? `SIMD ${(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'on' : 'off'}, ${wasm.getThreadsCount()} thread${wasm.getThreadsCount() === 1 ? '' : 's'}`
    : 'plain JavaScript, 1 thread';
  return { results, failed, version: tf.version_core, backend: tf.getBackend(), detail };
}

if (require.main === module) {
  main(JSON.parse(process.argv[2]) as TfjsRequest).then(
    (reply) => { console.log(JSON.stringify(reply)); },
    (e: unknown) => { console.error((e as Error).stack ?? String(e)); process.exit(1); },
  );
}
