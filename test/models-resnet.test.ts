/**
 * models.resnet18 … resnet152 and models.vgg11 … vgg19 against torchvision's layouts (written
 * out in plain torch by test/fixtures/make/resnet.py): parameter counts, state-dict keys and
 * shapes, forwards of ResNet-18, ResNet-50 and VGG-11-bn on two 64x64 images against PyTorch in float64
 * (hash-filled weights, eval mode), a training step, the CIFAR stem, replacing the classifier
 * and freezing the backbone, models.save/load, and bad options.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, flatten, io, manualSeed, memory, models, nn, noGrad, optim, tensor, tidy, type Tensor } from '../lib';
import { BasicBlock, Bottleneck, ResNetModel } from '../lib/models/resnet';
import { VGGModel } from '../lib/models/vgg';
import type { Module } from '../lib/nn/module';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface Case {
  name: string; count1000?: number; keys?: string[]; shapes?: number[][];
  numClasses?: number; inputSeed?: number; inputShape?: number[];
  logits?: { shape: number[]; values: number[] }; pooledEvery16?: number[];
}

const cases = loadFixture<{ cases: Case[] }>('resnet').cases;
const byName = (name: string): Case => {
  const c = cases.find((k) => k.name === name);
  if (!c) throw new Error(`no fixture case "${name}"`);
  return c;
};

function expectLayout(net: Module, c: Case): void {
  const state = net.stateDict();
  try {
    expect(Object.keys(state), c.name).to.deep.equal(c.keys);
    expect(Object.values(state).map((t) => [...t.shape]), c.name).to.deep.equal(c.shapes);
  } finally {
    for (const t of Object.values(state)) t.dispose();
  }
}

describe('models.ResNet and models.VGG', function () {
  this.timeout(120000);

  it('have torchvision\'s parameter counts, state-dict keys and shapes', async () => {
    const counts: Record<string, number> = {};
    for (const c of cases) if (c.name.startsWith('count ')) counts[c.name.slice(6)] = c.count1000!;
    // The brief's figures, and what PyTorch counted for the same networks.
    expect([counts.resnet18, counts.resnet50, counts.vgg16, counts.vgg11_bn]).to.deep.equal([11689512, 25557032, 138357544, 132868840]);
    // Awaited one by one: building a model queues its initialisation, and the event loop must
    // turn between models for the queued temporaries to be freed.
    const check = async (name: string, make: () => Module, layout?: string): Promise<void> => {
      const net = make();
      try {
        expect(net.parameterCount(), name).to.equal(counts[name]);
        if (layout) expectLayout(net, byName(layout));
      } finally {
        net.dispose();
      }
      await settle();
    };
    await check('resnet18', () => models.resnet18(), 'layout resnet18');
    await check('resnet34', () => models.resnet34());
    await check('resnet50', () => models.resnet50(), 'layout resnet50');
    await check('resnet101', () => models.resnet101());
    await check('resnet152', () => models.resnet152());
    await check('vgg16', () => models.vgg16(), 'layout vgg16');
    await check('vgg11_bn', () => models.vgg11({ batchNorm: true }), 'layout vgg11_bn');
    const cifar = models.resnet18({ numClasses: 10, cifar: true });
    try {
      expectLayout(cifar, byName('layout resnet18 cifar'));
    } finally {
      cifar.dispose();
    }
  });

  const forwards: { name: string; make: (numClasses: number) => ResNetModel | VGGModel; layers: string }[] = [
    { name: 'resnet18', make: (numClasses) => models.resnet18({ numClasses }), layers: '18 layers' },
    { name: 'resnet50', make: (numClasses) => models.resnet50({ numClasses }), layers: '50 layers, bottlenecks' },
    { name: 'vgg11_bn', make: (numClasses) => models.vgg11({ numClasses, batchNorm: true }), layers: '2x2 maps pooled to 7x7' },
  ];
  for (const f of forwards) {
    it(`${f.name}: a forward on two 64x64 images matches PyTorch (float64, eval mode, hashed weights and statistics; ${f.layers})`, async () => {
      const c = byName(`forward ${f.name}`);
      await settle();
      const before = memory().tensors;
      const net = f.make(c.numClasses!);
      try {
        fillHashedBn(net);
        net.eval();
        const n = c.inputShape!.reduce((a, b) => a * b, 1);
        const x = tensor(hashed(n, c.inputSeed!, 1), { shape: c.inputShape });
        // What goes into the last layers: ResNet's fc, or VGG's classifier.
        const pool = (t: Tensor): Tensor => (net instanceof ResNetModel ? net.features(t) : flatten(net.avgpool.call(net.features.call(t)), 1));
        const { pooled, logits } = tidy(() => noGrad(() => ({ pooled: pool(x), logits: net.call(x) })));
        expect(pooled.shape).to.deep.equal([2, net instanceof ResNetModel ? net.numFeatures : 512 * 7 * 7]);
        expect(logits.shape).to.deep.equal(c.logits!.shape);
        const p = await pooled.data();
        const every16 = Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]);
        // float32 against float64 through up to 50 layers: relative to the largest value.
        const scale = Math.max(...c.pooledEvery16!.map(Math.abs));
        expectClose(every16, c.pooledEvery16!, 1e-4, 1e-5 * scale, `${f.name} pooled`);
        const logitScale = Math.max(...c.logits!.values.map(Math.abs));
        expectClose(await logits.data(), c.logits!.values, 1e-4, 1e-5 * logitScale, `${f.name} logits`);
        x.dispose(); pooled.dispose(); logits.dispose();
      } finally {
        net.dispose();
      }
      await settle();
      expect(memory().tensors).to.equal(before);
    });
  }

  it('a training step reaches every parameter, and a few steps reduce the loss (basic and bottleneck blocks)', () => {
    for (const block of ['basic', 'bottleneck'] as const) {
      // Seeded, and lr 0.01: with lr 0.05 (and momentum 0.9) one initialisation in 24 made the
      // bottleneck net's loss oscillate (1.3, 6.4, 0.001, 0.2, 7.5, 1.8), and the draw used to
      // depend on what the tests before this one drew (a new layer in io.test.ts tipped it).
      manualSeed(block === 'basic' ? 1 : 2);
      const net = new ResNetModel({ block, layers: [1, 1, 1, 1], numClasses: 3 });
      const x = tensor(hashed(4 * 3 * 16 * 16, 11, 1), { shape: [4, 3, 16, 16] });
      const target = tensor([0, 1, 2, 1], { dtype: 'int32' });
      const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
      try {
        const losses: number[] = [];
        for (let step = 0; step < 6; step++) {
          opt.zeroGrad();
          const loss = tidy(() => F.crossEntropy(net.call(x), target));
          loss.backward();
          losses.push(loss.dataSync()[0]);
          loss.dispose();
          if (step === 0) {
            for (const [name, p] of net.namedParameters()) {
              expect(p.grad, `${block} ${name}`).to.not.equal(null);
              expect(p.grad!.dataSync().some((v) => v !== 0), `${block} ${name} has a zero gradient`).to.equal(true);
            }
          }
          opt.step();
        }
        expect(losses[5], `${block}: ${losses.join(', ')}`).to.be.lessThan(losses[0] * 0.8);
      } finally {
        net.dispose(); x.dispose(); target.dispose();
      }
    }
  });

  it('cifar: a 3x3 stride-1 stem without max pooling keeps 32x32 images at 32x32 into layer1 (4x4 out of layer4)', () => {
    const net = models.resnet18({ numClasses: 10, cifar: true }).eval();
    const imagenet = models.resnet18({ numClasses: 10 }).eval();
    try {
      expect(net.conv1.weight.shape).to.deep.equal([64, 3, 3, 3]);
      expect(net.conv1.stride).to.deep.equal([1, 1]);
      expect(net.maxpool.typeName).to.equal('Identity');
      expect(imagenet.conv1.weight.shape).to.deep.equal([64, 3, 7, 7]);
      const seen: Record<string, number[]> = {};
      for (const name of ['layer1', 'layer4'] as const) {
        net[name].registerForwardHook((m, i, out) => { seen[`cifar ${name}`] = [...out.shape]; });
        imagenet[name].registerForwardHook((m, i, out) => { seen[`imagenet ${name}`] = [...out.shape]; });
      }
      const x = tensor(hashed(2 * 3 * 32 * 32, 4, 1), { shape: [2, 3, 32, 32] });
      const [y, z] = tidy(() => noGrad(() => [net.call(x), imagenet.call(x)]));
      expect(y.shape).to.deep.equal([2, 10]);
      expect(z.shape).to.deep.equal([2, 10]);
      expect(seen).to.deep.equal({
        'cifar layer1': [2, 64, 32, 32], 'cifar layer4': [2, 512, 4, 4],
        'imagenet layer1': [2, 64, 8, 8], 'imagenet layer4': [2, 512, 1, 1],
      });
      x.dispose(); y.dispose(); z.dispose();
    } finally {
      net.dispose();
      imagenet.dispose();
    }
  });

  it('blocks: torchvision\'s shapes and downsampling; zeroInitResidual makes each block relu(x) at the start', () => {
    const basic = new BasicBlock(64, 128, { stride: 2 });
    const same = new BasicBlock(64, 64);
    const bottle = new Bottleneck(256, 128, { stride: 2 });
    try {
      expect(basic.downsample).to.not.equal(null);
      expect(same.downsample).to.equal(null);
      expect(bottle.conv2.stride).to.deep.equal([2, 2]);   // v1.5: the stride on the 3x3
      expect(bottle.conv1.stride).to.deep.equal([1, 1]);
      const x = tensor(hashed(64 * 8 * 8, 1, 1), { shape: [1, 64, 8, 8] });
      const x4 = tensor(hashed(256 * 8 * 8, 2, 1), { shape: [1, 256, 8, 8] });
      const [a, b] = tidy(() => noGrad(() => [basic.call(x), bottle.call(x4)]));
      expect(a.shape).to.deep.equal([1, 128, 4, 4]);
      expect(b.shape).to.deep.equal([1, 512, 4, 4]);
      x.dispose(); x4.dispose(); a.dispose(); b.dispose();
    } finally {
      basic.dispose(); same.dispose(); bottle.dispose();
    }
    for (const block of ['basic', 'bottleneck'] as const) {
      const net = new ResNetModel({ block, layers: [2, 1, 1, 1], zeroInitResidual: true }).eval();
      try {
        const second = net.layer1.at(1) as BasicBlock | Bottleneck;   // no downsample: its shortcut is x
        expect(Array.from((second.lastBn as nn.BatchNorm2d).weight!.dataSync()).every((v) => v === 0)).to.equal(true);
        const channels = block === 'basic' ? 64 : 256;
        const x = tensor(hashed(channels * 5 * 5, 3, 1), { shape: [1, channels, 5, 5] });
        const [y, r] = tidy(() => noGrad(() => [second.call(x), F.relu(x)]));
        expect(Array.from(y.dataSync())).to.deep.equal(Array.from(r.dataSync()));
        x.dispose(); y.dispose(); r.dispose();
      } finally {
        net.dispose();
      }
    }
  });

  it('fine-tuning: load weights, resetClassifier, freeze the backbone; only fc trains', () => {
    const pretrained = new ResNetModel({ block: 'basic', layers: [1, 1, 1, 1], numClasses: 7 });
    const net = new ResNetModel({ block: 'basic', layers: [1, 1, 1, 1], numClasses: 7 });
    try {
      const state = pretrained.stateDict();
      net.loadStateDict(state);
      for (const t of Object.values(state)) t.dispose();
      const oldFc = net.fc;
      expect(net.resetClassifier(2)).to.equal(net);
      expect(oldFc.weight.isDisposed).to.equal(true);
      expect(net.fc.weight.shape).to.deep.equal([2, 512]);
      expect(net.numClasses).to.equal(2);
      expect((net.config()[0] as { numClasses: number }).numClasses).to.equal(2);
      expect(net.namedChildren().map(([k]) => k)).to.deep.equal(['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'fc']);
      net.requiresGrad_(false);
      net.fc.requiresGrad_(true);
      expect(net.parameterCount(true)).to.equal(512 * 2 + 2);
      const before = net.layer1.parameters().map((p) => Array.from(p.dataSync()));
      const opt = new optim.SGD(net.parameters().filter((p) => p.requiresGrad), { lr: 0.1 });
      const x = tensor(hashed(2 * 3 * 16 * 16, 5, 1), { shape: [2, 3, 16, 16] });
      const target = tensor([0, 1], { dtype: 'int32' });
      const fcBefore = Array.from(net.fc.weight.dataSync());
      const loss = tidy(() => F.crossEntropy(net.call(x), target));
      loss.backward();
      opt.step();
      expect(net.layer1.parameters().every((p) => p.grad === null)).to.equal(true);
      expect(net.layer1.parameters().map((p) => Array.from(p.dataSync()))).to.deep.equal(before);
      expect(Array.from(net.fc.weight.dataSync())).to.not.deep.equal(fcBefore);
      loss.dispose(); x.dispose(); target.dispose();
      expectError(() => net.resetClassifier(0), 'E_ARG', /numClasses/);
    } finally {
      pretrained.dispose();
      net.dispose();
    }
  });

  it('VGG: resetClassifier replaces classifier.6 only, keeping the keys', () => {
    const net = models.vgg11({ numClasses: 5, dropout: 0.2 });
    try {
      const first = net.classifier.at(0);
      net.resetClassifier(3);
      expect(net.classifier.at(0)).to.equal(first);
      expect((net.classifier.at(6) as unknown as { weight: Tensor }).weight.shape).to.deep.equal([3, 4096]);
      expect(net.numClasses).to.equal(3);
      expect(net.config()).to.deep.equal([11, { numClasses: 3, batchNorm: false, dropout: 0.2 }]);
      const keys = net.namedParameters().map(([k]) => k).filter((k) => k.startsWith('classifier'));
      expect(keys).to.deep.equal(['classifier.0.weight', 'classifier.0.bias', 'classifier.3.weight', 'classifier.3.bias', 'classifier.6.weight', 'classifier.6.bias']);
      expect(net.toString()).to.match(/Dropout\(p=0\.2\)/);
    } finally {
      net.dispose();
    }
  });

  it('survives models.save and models.load (architecture and weights)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-resnet-'));
    const net = new ResNetModel({ block: 'bottleneck', layers: [1, 2, 1, 1], numClasses: 4, cifar: true, inChannels: 1 });
    try {
      fillHashedBn(net);
      net.resetClassifier(6).eval();
      models.save(net, dir);
      const doc = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(doc.architecture).to.deep.equal({
        type: 'ResNet', args: [{ block: 'bottleneck', layers: [1, 2, 1, 1], numClasses: 6, zeroInitResidual: false, cifar: true, inChannels: 1 }],
      });
      const again = models.load(dir).eval();
      try {
        expect(again).to.be.instanceOf(ResNetModel);
        const x = tensor(hashed(2 * 20 * 20, 9, 1), { shape: [2, 1, 20, 20] });
        const [y1, y2] = tidy(() => noGrad(() => [net.call(x), again.call(x)]));
        expect(y1.shape).to.deep.equal([2, 6]);
        expect(Array.from(await y2.data())).to.deep.equal(Array.from(await y1.data()));
        x.dispose(); y1.dispose(); y2.dispose();
      } finally {
        again.dispose();
      }
      // A block alone is registered too.
      const block = new BasicBlock(8, 16, { stride: 2 });
      try {
        models.save(block, path.join(dir, 'block.json'));
        const b = models.load(path.join(dir, 'block.json'));
        expect(b).to.be.instanceOf(BasicBlock);
        expect(b.config()).to.deep.equal([8, 16, { stride: 2 }]);
        b.dispose();
      } finally {
        block.dispose();
      }
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads a state dict as PyTorch writes torchvision\'s (safetensors, num_batches_tracked as I64) with loadStateDict as it is', async () => {
    const source = new ResNetModel({ block: 'bottleneck', layers: [1, 1, 1, 1], numClasses: 5 });
    const net = new ResNetModel({ block: 'bottleneck', layers: [1, 1, 1, 1], numClasses: 5 });
    try {
      fillHashedBn(source);
      // The file safetensors.torch.save_file writes: a JSON header of dtype, shape and offsets,
      // then the data, little-endian; BatchNorm's counter is int64 in PyTorch (7 batches here).
      const state = source.stateDict();
      const header: Record<string, unknown> = {};
      const parts: Uint8Array[] = [];
      let offset = 0;
      for (const [key, t] of Object.entries(state)) {
        const bytes = t.dtype === 'int32'
          ? new Uint8Array(new BigInt64Array(t.size).fill(7n).buffer)
          : new Uint8Array((t.dataSync() as Float32Array).slice().buffer);
        header[key] = { dtype: t.dtype === 'int32' ? 'I64' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
        parts.push(bytes);
        offset += bytes.length;
        t.dispose();
      }
      const json = Buffer.from(JSON.stringify(header));
      const file = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(json.length)]).buffer), json, ...parts]);
      const { tensors } = io.loadSafetensors(file);
      try {
        expect(tensors['layer1.0.downsample.0.weight'].shape).to.deep.equal([256, 64, 1, 1]);
        expect(tensors['bn1.num_batches_tracked'].dtype).to.equal('int32');
        expect(net.loadStateDict(tensors)).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
      expect((net.bn1 as nn.BatchNorm2d).numBatchesTracked).to.equal(7);
      source.eval(); net.eval();
      const x = tensor(hashed(2 * 3 * 24 * 24, 8, 1), { shape: [2, 3, 24, 24] });
      const [y1, y2] = tidy(() => noGrad(() => [source.call(x), net.call(x)]));
      expect(Array.from(await y2.data())).to.deep.equal(Array.from(await y1.data()));
      x.dispose(); y1.dispose(); y2.dispose();
    } finally {
      source.dispose(); net.dispose();
    }
  });

  it('VGG\'s config rebuilds the same layout (VGGModel in the registry)', () => {
    const net = models.vgg13({ batchNorm: true, numClasses: 2 });
    try {
      expect(net).to.be.instanceOf(VGGModel);
      expect(net.config()).to.deep.equal([13, { numClasses: 2, batchNorm: true, dropout: 0.5 }]);
      // 10 convolutions, each with batch norm and ReLU, and 5 poolings.
      expect(net.features.length).to.equal(10 * 3 + 5);
      expect(net.features.at(1).typeName).to.equal('BatchNorm2d');
    } finally {
      net.dispose();
    }
  });

  it('Module.replaceModule (protected, what resetClassifier uses) keeps the child\'s place and refuses what registerModule refuses', () => {
    class Holder extends nn.Module {
      constructor() {
        super();
        this.registerModule('a', new nn.Linear(2, 3));
        this.registerModule('b', new nn.ReLU());
      }
      swap(name: string, m: unknown): Module {
        return this.replaceModule(name, m as Module);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const h = new Holder();
    try {
      const old = h.swap('a', new nn.Linear(2, 5));
      expect(old).to.be.instanceOf(nn.Linear);
      old.dispose();
      expect(h.namedChildren().map(([k]) => k)).to.deep.equal(['a', 'b']);
      expect(Object.keys(h.stateDict())).to.deep.equal(['a.weight', 'a.bias']);
      expect(h.parameterCount()).to.equal(2 * 5 + 5);
      expectError(() => h.swap('c', new nn.ReLU()), 'E_ARG', /no child module named "c"/);
      expectError(() => h.swap('b', {}), 'E_ARG', /must be a Module/);
      expectError(() => h.swap('b', h), 'E_ARG', /cycle/);
    } finally {
      h.dispose();
    }
  });

  it('rejects bad options and inputs with typed errors', () => {
    expectError(() => models.resnet18({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.resnet18({ numClasses: 2.5 }), 'E_ARG', /numClasses/);
    expectError(() => models.resnet50({ cifar: 'yes' as never }), 'E_ARG', /cifar/);
    expectError(() => models.resnet34({ zeroInitResidual: 1 as never }), 'E_ARG', /zeroInitResidual/);
    expectError(() => models.resnet18({ inChannels: 0 }), 'E_ARG', /inChannels/);
    expectError(() => models.resnet18({ classes: 10 } as never), 'E_ARG', /classes/);
    expectError(() => models.resnet18({ block: 'basic' } as never), 'E_ARG', /block/);
    expectError(() => models.ResNet(20 as never), 'E_ARG', /depth/);
    expectError(() => new ResNetModel({ block: 'wide' as never, layers: [1, 1, 1, 1] }), 'E_ARG', /block/);
    expectError(() => new ResNetModel({ block: 'basic', layers: [1, 1, 1] }), 'E_ARG', /layers/);
    expectError(() => new ResNetModel({ block: 'basic', layers: [1, 0, 1, 1] }), 'E_ARG', /layers\[1\]/);
    expectError(() => new ResNetModel(null as never), 'E_ARG', /options/);
    expectError(() => new BasicBlock(64, 64, { stride: 0 }), 'E_ARG', /stride/);
    expectError(() => new Bottleneck(64, 64, { dilation: 2 } as never), 'E_ARG', /dilation/);
    expectError(() => models.VGG(15 as never), 'E_ARG', /depth/);
    expectError(() => models.vgg16({ batchNorm: 'true' as never }), 'E_ARG', /batchNorm/);
    expectError(() => models.vgg16({ dropout: 2 }), 'E_ARG', /dropout/);
    expectError(() => models.vgg16({ numClasses: -1 }), 'E_ARG', /numClasses/);
    expectError(() => models.vgg16({ bn: true } as never), 'E_ARG', /bn/);
    const net = new ResNetModel({ block: 'basic', layers: [1, 1, 1, 1], numClasses: 2 });
    try {
      const x = tensor(hashed(2 * 16 * 16, 1, 1), { shape: [2, 1, 16, 16] });
      expectError(() => net.call(x), 'E_SHAPE', /\[N, 3, H, W\]/);
      expectError(() => net.call(x.reshape([2, 256])), 'E_SHAPE', /\[N, 3, H, W\]/);
      expectError(() => net.call('image' as never), 'E_ARG');
      x.dispose();
    } finally {
      net.dispose();
    }
  });
});
