/**
 * models.r3d_18, mc3_18 and r2plus1d_18 against torchvision 0.14's own video ResNets
 * (test/fixtures/make/video_resnet.py): parameter counts, state-dict keys and shapes, and a
 * forward of one clip against PyTorch in float64 (hash-filled weights, eval mode); then a
 * training step, models.save/load, and bad options and inputs.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, manualSeed, memory, models, noGrad, optim, tensor, tidy } from '../lib';
import { VideoBasicBlock, VideoResNetModel } from '../lib/models/video-resnet';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface Case {
  name: 'r3d_18' | 'mc3_18' | 'r2plus1d_18'; count400: number; keys: string[]; shapes: number[][];
  numClasses: number; inputSeed: number; inputShape: number[]; logits: number[]; pooledEvery8: number[];
}

const cases = loadFixture<{ cases: Case[] }>('video_resnet').cases;

describe('models.r3d_18, mc3_18 and r2plus1d_18 (torchvision\'s video ResNets)', function () {
  this.timeout(120000);

  for (const c of cases) {
    it(`${c.name}: torchvision's parameter count, keys and shapes, and its forward of a clip (float64, hashed weights)`, async () => {
      await settle();
      const before = memory().tensors;
      const full = models[c.name]();
      try {
        expect(full.parameterCount()).to.equal(c.count400);
        const state = full.stateDict();
        expect(Object.keys(state)).to.deep.equal(c.keys);
        expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(c.shapes);
        for (const t of Object.values(state)) t.dispose();
      } finally {
        full.dispose();
      }
      const net = models[c.name]({ numClasses: c.numClasses });
      try {
        fillHashedBn(net);
        net.eval();
        const n = c.inputShape.reduce((a, b) => a * b, 1);
        const x = tensor(hashed(n, c.inputSeed, 1), { shape: c.inputShape });
        const { pooled, logits } = tidy(() => noGrad(() => ({ pooled: net.features(x), logits: net.call(x) })));
        expect(pooled.shape).to.deep.equal([1, 512]);
        const p = await pooled.data();
        const every8 = Array.from({ length: Math.ceil(p.length / 8) }, (_, i) => p[8 * i]);
        // float32 against float64 through 18 layers: relative to the largest value.
        const scale = Math.max(...c.pooledEvery8.map(Math.abs));
        expectClose(every8, c.pooledEvery8, 1e-4, 1e-5 * scale, `${c.name} pooled`);
        const logitScale = Math.max(...c.logits.map(Math.abs));
        expectClose(await logits.data(), c.logits, 1e-4, 1e-5 * logitScale, `${c.name} logits`);
        x.dispose(); pooled.dispose(); logits.dispose();
      } finally {
        net.dispose();
      }
      await settle();
      expect(memory().tensors).to.equal(before);
    });
  }

  it('blocks: R(2+1)D\'s middle width, mc3\'s spatial-only stride, the shortcut\'s projection', () => {
    const b = new VideoBasicBlock(64, 128, { conv: '2plus1d', stride: 2 });
    // (64 · 128 · 27) / (64 · 9 + 3 · 128) = 230.4: 230 channels between the halves.
    const state = b.stateDict();
    expect(state['conv1.0.0.weight'].shape).to.deep.equal([230, 64, 1, 3, 3]);
    expect(state['conv1.0.3.weight'].shape).to.deep.equal([128, 230, 3, 1, 1]);
    expect(state['downsample.0.weight'].shape).to.deep.equal([128, 64, 1, 1, 1]);
    for (const t of Object.values(state)) t.dispose();
    expect(noGrad(() => b.call(tensor(hashed(64 * 4 * 8 * 8, 1, 1), { shape: [1, 64, 4, 8, 8] }))).shape).to.deep.equal([1, 128, 2, 4, 4]);
    const mc = new VideoBasicBlock(64, 128, { conv: 'noTemporal', stride: 2 });
    expect(noGrad(() => mc.call(tensor(hashed(64 * 4 * 8 * 8, 1, 1), { shape: [1, 64, 4, 8, 8] }))).shape).to.deep.equal([1, 128, 4, 4, 4]);
    expect(new VideoBasicBlock(64, 64).downsample).to.equal(null);
    const net = models.mc3_18();
    net.resetClassifier(101);
    expect([net.fc.weight.shape, net.numClasses]).to.deep.equal([[101, 512], 101]);
    net.dispose();
    b.dispose(); mc.dispose();
  });

  it('a training step on two short clips lowers the loss; models.save and load give the same outputs', () => {
    manualSeed(4);
    const net = new VideoResNetModel({ convs: ['2plus1d', 'noTemporal', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'r2plus1d', numClasses: 3 });
    const x = tensor(hashed(2 * 3 * 4 * 16 * 16, 9, 1), { shape: [2, 3, 4, 16, 16] });
    const labels = tensor([0, 2], { dtype: 'int32' });
    const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    const loss = () => F.crossEntropy(net.call(x), labels);
    const first = loss();
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    expect(noGrad(loss).item()).to.be.below(first.item());
    net.eval();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-video-'));
    try {
      models.save(net, dir);
      const again = (models.load(dir) as VideoResNetModel).eval();   // a loaded model trains, as PyTorch's
      expect(again).to.be.instanceOf(VideoResNetModel);
      expect(again.config()).to.deep.equal(net.config());
      expectClose(noGrad(() => again.call(x)).dataSync(), noGrad(() => net.call(x)).dataSync(), 0, 0, 'reloaded');
      again.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      net.dispose();
    }
  });

  it('refuses bad options and inputs with typed errors', () => {
    expectError(() => models.r3d_18({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.mc3_18({ classes: 3 } as never), 'E_ARG', /unknown option/);
    expectError(() => new VideoResNetModel({ convs: ['3d'], layers: [1, 1, 1, 1], stem: 'basic' }), 'E_ARG', /convs/);
    expectError(() => new VideoResNetModel({ convs: ['3d', '3d', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'c3d' as never }), 'E_ARG', /stem/);
    expectError(() => new VideoBasicBlock(4, 4, { conv: '4d' as never }), 'E_ARG', /conv/);
    const net = new VideoResNetModel({ convs: ['3d', '3d', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'basic', numClasses: 2 });
    expectError(() => net.call(tensor(hashed(3 * 16 * 16, 1, 1), { shape: [1, 3, 16, 16] })), 'E_SHAPE', /\[N, 3, T, H, W\]/);
    net.dispose();
  });
});

describeCuda('video ResNets on the GPU', () => {
  it('a small R(2+1)D / mc3 / r3d mix gives the CPU\'s outputs and gradients (training mode: batch statistics)', () => {
    manualSeed(5);
    const net = new VideoResNetModel({ convs: ['2plus1d', 'noTemporal', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'r2plus1d', numClasses: 4 });
    const gpu = new VideoResNetModel({ convs: ['2plus1d', 'noTemporal', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'r2plus1d', numClasses: 4 });
    gpu.loadStateDict(net.stateDict());
    gpu.to('cuda');
    let calls = 0;
    compareDevices((x) => (calls++ === 0 ? net : gpu).call(x), [randomCpu([2, 3, 4, 16, 16], 6)], { bound: 1e-4, grads: true, what: 'video ResNet' });
    net.dispose(); gpu.dispose();
  });
});
