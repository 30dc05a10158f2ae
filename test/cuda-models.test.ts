/**
 * AlexNet (both layouts: grouped convolutions, LRN, adaptive pooling), FCN-8s (transposed
 * convolutions, crops, skips, per-pixel cross-entropy), ResNet-18/50 and VGG-11-bn (residual
 * blocks, batch norm in both modes), GoogLeNet and Inception v3 (Inception blocks, auxiliary heads) on the GPU against the CPU backend, the
 * segmentation metrics on GPU labels, and the segmentation example with `device: 'cuda'`.
 *
 * TF32 is off for cuDNN here (plain float32 on both sides), so a whole network's outputs and
 * gradients agree to 1e-4 (normalised error, test/cuda-helpers.ts): a few hundred float32
 * roundings summed in another order per layer, through eight layers.
 */
import { expect } from 'chai';
import { cuda, F, metrics, models, noGrad, tidy, type Tensor } from '../lib';
import type { Module } from '../lib/nn/module';
import { run } from '../examples/segmentation';
import { describeCuda, expectSameValues, randomCpu, randomLabels } from './cuda-helpers';

/** The same network twice: `make()` on the CPU and a copy of its weights on the GPU. */
function twins<M extends Module>(make: () => M): [M, M] {
  const cpu = make(), gpu = make();
  const state = cpu.stateDict();
  gpu.loadStateDict(state);
  for (const t of Object.values(state)) t.dispose();
  return [cpu, gpu.to('cuda')];
}

describeCuda('models on the GPU (allowTF32Cudnn false)', function () {
  this.timeout(120000);
  let saved: ReturnType<typeof cuda.options> | null = null;
  before(function () {
    saved = cuda.options();
    cuda.setOptions({ allowTF32Cudnn: false });
  });
  after(function () {
    if (saved) cuda.setOptions(saved);
  });

  for (const variant of ['torchvision', 'original'] as const) {
    it(`AlexNet ${variant}: logits as on the CPU`, () => {
      const [cpu, gpu] = twins(() => models.AlexNet({ variant, numClasses: 10 }).eval());
      try {
        const size = variant === 'torchvision' ? 224 : 227;
        const x = randomCpu([2, 3, size, size], 1);
        const [a, b] = tidy(() => noGrad(() => [cpu.call(x), gpu.call(x.to('cuda'))]));
        expectSameValues(b, a, 1e-4, `AlexNet ${variant}`);
        x.dispose(); a.dispose(); b.dispose();
      } finally {
        cpu.dispose(); gpu.dispose();
      }
    });
  }

  it('FCN-8s: scores, loss and every parameter\'s gradient as on the CPU', () => {
    const options = { numClasses: 4, channels: [8, 16, 16, 32, 32], fcChannels: 32, dropout: 0, batchNorm: true };
    const [cpu, gpu] = twins(() => models.FCN(options));
    try {
      const x = randomCpu([2, 3, 45, 38], 2), y = randomLabels(2 * 45 * 38, 4, 3).reshape([2, 45, 38]);
      const scores: Tensor[] = [];
      for (const [net, device] of [[cpu, 'cpu'], [gpu, 'cuda']] as const) {
        const [s, loss] = tidy(() => {
          const out = net.call(x.to(device));
          return [out, F.crossEntropy(out, y.to(device))];
        });
        loss.backward();
        scores.push(s, loss);
      }
      expectSameValues(scores[2], scores[0], 1e-4, 'FCN scores');
      expectSameValues(scores[3], scores[1], 1e-4, 'FCN loss');
      const g = new Map(gpu.namedParameters());
      for (const [name, p] of cpu.namedParameters()) {
        if (!p.requiresGrad) continue;
        expectSameValues(g.get(name)!.grad!, p.grad!, 1e-4, `FCN gradient of ${name}`);
      }
      // Metrics read labels from the GPU.
      const pred = [scores[0].argmax(1), scores[2].argmax(1)];
      expect(metrics.segmentation.confusionMatrix(pred[1], y.to('cuda'), 4)).to.deep.equal(metrics.segmentation.confusionMatrix(pred[0], y, 4));
      for (const t of [x, y, ...scores, ...pred]) t.dispose();
    } finally {
      cpu.dispose(); gpu.dispose();
    }
  });

  it('ResNet-18 (training mode: batch statistics): logits, loss and every parameter\'s gradient as on the CPU; ResNet-50 and VGG-11-bn logits in eval mode', () => {
    const [cpu, gpu] = twins(() => models.resnet18({ numClasses: 10 }));
    try {
      const x = randomCpu([2, 3, 64, 64], 4), y = randomLabels(2, 10, 5);
      const out: Tensor[] = [];
      for (const [net, device] of [[cpu, 'cpu'], [gpu, 'cuda']] as const) {
        const [logits, loss] = tidy(() => {
          const l = net.call(x.to(device));
          return [l, F.crossEntropy(l, y.to(device))];
        });
        loss.backward();
        out.push(logits, loss);
      }
      expectSameValues(out[2], out[0], 1e-4, 'ResNet-18 logits');
      expectSameValues(out[3], out[1], 1e-4, 'ResNet-18 loss');
      const g = new Map(gpu.namedParameters());
      for (const [name, p] of cpu.namedParameters()) expectSameValues(g.get(name)!.grad!, p.grad!, 1e-4, `ResNet-18 gradient of ${name}`);
      // resetClassifier makes the new fc on the model's device.
      gpu.resetClassifier(3);
      expect(gpu.fc.weight.device).to.equal('cuda');
      for (const t of [x, y, ...out]) t.dispose();
    } finally {
      cpu.dispose(); gpu.dispose();
    }
    for (const make of [() => models.resnet50({ numClasses: 10 }), () => models.vgg11({ batchNorm: true, numClasses: 10 })]) {
      const [c, g] = twins(() => make().eval());
      try {
        const x = randomCpu([2, 3, 64, 64], 6);
        const [a, b] = tidy(() => noGrad(() => [c.call(x), g.call(x.to('cuda'))]));
        expectSameValues(b, a, 1e-4, c.typeName);
        x.dispose(); a.dispose(); b.dispose();
      } finally {
        c.dispose(); g.dispose();
      }
    }
  });

  it('GoogLeNet (training mode, both auxiliary heads): logits, the three-part loss and every parameter\'s gradient as on the CPU; transformInput and resetClassifier on the GPU', () => {
    const [cpu, gpu] = twins(() => models.googlenet({ numClasses: 10, dropout: 0, dropoutAux: 0, transformInput: true }));
    try {
      const x = randomCpu([2, 3, 64, 64], 7), y = randomLabels(2, 10, 8);
      const out: Tensor[] = [];
      for (const [net, device] of [[cpu, 'cpu'], [gpu, 'cuda']] as const) {
        const [logits, loss] = tidy(() => {
          const yd = y.to(device);
          const o = net.outputs(x.to(device));
          const ce = (l: Tensor | null) => F.crossEntropy(l!, yd);
          return [o.logits, ce(o.logits).add(ce(o.aux1).add(ce(o.aux2)).mul(0.3))];
        });
        loss.backward();
        out.push(logits, loss);
      }
      expectSameValues(out[2], out[0], 1e-4, 'GoogLeNet logits');
      expectSameValues(out[3], out[1], 1e-4, 'GoogLeNet loss');
      const g = new Map(gpu.namedParameters());
      for (const [name, p] of cpu.namedParameters()) expectSameValues(g.get(name)!.grad!, p.grad!, 1e-4, `GoogLeNet gradient of ${name}`);
      gpu.resetClassifier(3);
      expect([gpu.fc.weight.device, gpu.aux1!.fc2.weight.device]).to.deep.equal(['cuda', 'cuda']);
      for (const t of [x, y, ...out]) t.dispose();
    } finally {
      cpu.dispose(); gpu.dispose();
    }
  });

  it('Inception v3 at 299x299: logits and the auxiliary head in eval mode as on the CPU', () => {
    const [c, g] = twins(() => models.inceptionV3({ numClasses: 10 }).eval());
    try {
      const x = randomCpu([1, 3, 299, 299], 9);
      const [a, b] = tidy(() => noGrad(() => {
        const oc = c.outputs(x), og = g.outputs(x.to('cuda'));
        return [[oc.logits, oc.aux!], [og.logits, og.aux!]];
      }));
      expectSameValues(b[0], a[0], 1e-4, 'Inception v3 logits');
      expectSameValues(b[1], a[1], 1e-4, 'Inception v3 auxiliary logits');
      for (const t of [x, ...a, ...b]) t.dispose();
    } finally {
      c.dispose(); g.dispose();
    }
  });

  it('the segmentation example trains on the GPU and beats its baseline', async () => {
    const r = await run({ size: 48, train: 1024, test: 64, epochs: 6, seed: 1, device: 'cuda' });
    try {
      expect(r.device).to.equal('cuda');
      expect(r.test.meanIoU).to.be.above(r.baseline.meanIoU + 0.2);
    } finally {
      r.model.dispose();
    }
  });
});
