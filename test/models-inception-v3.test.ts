/**
 * models.inceptionV3 against torchvision 0.14's inception_v3 (written out in plain torch by
 * test/fixtures/make/inception_v3.py): parameter counts, state-dict keys and shapes, a forward on
 * a 299x299 image against PyTorch in float64 (logits, the auxiliary head, pooled features; with
 * transformInput), a training step with the auxiliary loss, removeAux, resetClassifier, folding
 * batch norm, models.save/load of the blocks, bad input.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, add, memory, models, mul, nn, noGrad, optim, tensor, tidy, zeros } from '../lib';
import { InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, InceptionV3Aux, InceptionV3Model } from '../lib/models/inception-v3';
import type { Module } from '../lib/nn/module';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface Case {
  name: string; count1000?: number; keys?: string[]; shapes?: number[][];
  numClasses?: number; inputSeed?: number; inputShape?: number[];
  logits?: { shape: number[]; values: number[] }; aux?: { shape: number[]; values: number[] }; pooledEvery16?: number[];
}

const cases = loadFixture<{ cases: Case[] }>('inception_v3').cases;
const byName = (name: string): Case => {
  const c = cases.find((k) => k.name === name);
  if (!c) throw new Error(`no fixture case "${name}"`);
  return c;
};

const relativeTo = (values: number[]): number => 1e-5 * Math.max(...values.map(Math.abs));

describe('models.inceptionV3', function () {
  this.timeout(180000);

  it('has torchvision\'s parameter counts, state-dict keys and shapes', async () => {
    expect([byName('count aux').count1000, byName('count no aux').count1000]).to.deep.equal([27161264, 23834568]);
    for (const [make, count] of [[() => models.inceptionV3(), 27161264], [() => models.inceptionV3({ auxLogits: false }), 23834568]] as const) {
      const net = make();
      expect(net.parameterCount()).to.equal(count);
      net.dispose();
      await settle();
    }
    const net = models.inceptionV3({ numClasses: 10 });
    const state = net.stateDict();
    const c = byName('layout aux 10');
    expect(Object.keys(state)).to.deep.equal(c.keys);
    expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(c.shapes);
    for (const t of Object.values(state)) t.dispose();
    net.dispose();
  });

  it('matches PyTorch on a 299x299 image: logits, the auxiliary head, pooled features; and with transformInput (float64, eval mode, hashed weights)', async () => {
    await settle();
    const before = memory().tensors;
    for (const transformInput of [false, true]) {
      const c = byName(transformInput ? 'forward transform_input' : 'forward');
      const net = models.inceptionV3({ numClasses: c.numClasses, transformInput });
      try {
        fillHashedBn(net);
        net.eval();
        const x = tensor(hashed(3 * 299 * 299, c.inputSeed!, 1), { shape: c.inputShape });
        const out = tidy(() => noGrad(() => {
          const { logits, aux } = net.outputs(x);
          return { logits, aux: aux!, pooled: net.features(x) };
        }));
        expectClose(await out.logits.data(), c.logits!.values, 1e-4, relativeTo(c.logits!.values), 'logits');
        if (!transformInput) {
          expectClose(await out.aux.data(), c.aux!.values, 1e-4, relativeTo(c.aux!.values), 'aux');
          const p = await out.pooled.data();
          const every16 = Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]);
          expectClose(every16, c.pooledEvery16!, 1e-4, relativeTo(c.pooledEvery16!), 'pooled');
        }
        x.dispose();
        for (const t of Object.values(out)) t.dispose();
      } finally {
        net.dispose();
      }
    }
    await settle();
    expect(memory().tensors).to.equal(before);
  });

  it('trains with the auxiliary loss (0.4): every parameter gets a gradient, and steps reduce the loss', () => {
    const net = models.inceptionV3({ numClasses: 3, dropout: 0 });
    const x = tensor(hashed(2 * 3 * 299 * 299, 12, 1), { shape: [2, 3, 299, 299] });
    const y = tensor([0, 2], { dtype: 'int32' });
    const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    try {
      net.train();
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        tidy(() => {
          opt.zeroGrad();
          const { logits, aux } = net.outputs(x);
          const loss = add(F.crossEntropy(logits, y), mul(F.crossEntropy(aux!, y), 0.4));
          loss.backward();
          if (step === 0) expect(net.namedParameters().filter(([, p]) => p.grad === null).map(([n]) => n)).to.deep.equal([]);
          opt.step();
          losses.push(loss.item());
        });
      }
      expect(losses[3]).to.be.lessThan(losses[0]);
    } finally {
      net.dispose(); x.dispose(); y.dispose();
    }
  });

  it('removeAux, resetClassifier, fuseConvBn (94 pairs), and models.save/load of the model and its blocks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inception-v3-'));
    const net = models.inceptionV3({ numClasses: 7 });
    try {
      net.resetClassifier(4);
      expect([net.numClasses, net.fc.weight.shape, net.AuxLogits!.fc.weight.shape]).to.deep.equal([4, [4, 2048], [4, 768]]);
      expect(net.removeAux()).to.equal(net);
      expect([net.AuxLogits, net.auxLogits, Object.keys(net.stateDict()).some((k) => k.startsWith('AuxLogits'))]).to.deep.equal([null, false, false]);
      net.eval();
      models.save(net, dir);
      const again = models.load(dir).eval() as InceptionV3Model;
      try {
        expect(again).to.be.instanceOf(InceptionV3Model);
        expect([again.numClasses, again.auxLogits]).to.deep.equal([4, false]);
        const x = tensor(hashed(3 * 96 * 96, 9, 1), { shape: [1, 3, 96, 96] });   // no auxiliary head: 75x75 and up
        const [a, b] = noGrad(() => [net.call(x), again.call(x)]);
        expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
        expect(nn.utils.fuseConvBn(again)).to.equal(94);
        const fused = noGrad(() => again.call(x));
        expectClose(fused.dataSync(), Array.from(a.dataSync()), 1e-4, relativeTo(Array.from(a.dataSync())));
        x.dispose(); a.dispose(); b.dispose(); fused.dispose();
      } finally {
        again.dispose();
      }
      const blocks: Module[] = [new InceptionA(8, 4), new InceptionB(8), new InceptionC(8, 4), new InceptionD(8), new InceptionE(8), new InceptionV3Aux(8, 3)];
      const x = tensor(hashed(2 * 8 * 17 * 17, 4, 1), { shape: [2, 8, 17, 17] });
      const channels = [64 + 64 + 96 + 4, 384 + 96 + 8, 4 * 192, 320 + 192 + 8, 320 + 768 + 768 + 192];
      for (const [i, block] of blocks.entries()) {
        models.save(block, path.join(dir, 'block.json'));
        const loaded = models.load(path.join(dir, 'block.json'));
        expect([loaded.typeName, loaded.config()]).to.deep.equal([block.typeName, block.config()]);
        const y = noGrad(() => block.call(x));
        expect(y.shape).to.deep.equal(i < 5 ? [2, channels[i], i === 1 || i === 3 ? 8 : 17, i === 1 || i === 3 ? 8 : 17] : [2, 3]);
        y.dispose(); loaded.dispose(); block.dispose();
      }
      x.dispose();
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options and input with typed errors', () => {
    expectError(() => models.inceptionV3({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.inceptionV3({ dropout: -0.1 }), 'E_ARG', /dropout/);
    expectError(() => models.inceptionV3({ transformInput: 1 as unknown as boolean }), 'E_ARG', /transformInput/);
    expectError(() => models.inceptionV3({ aux: true } as never), 'E_ARG', /aux/);
    expectError(() => new InceptionC(768, 0), 'E_ARG', /channels7x7/);
    const aux = new InceptionV3Aux(8, 3);
    const small = zeros([1, 8, 16, 16]);
    expectError(() => aux.call(small), 'E_SHAPE', /17x17/);
    const net = models.inceptionV3({ numClasses: 2, auxLogits: false });
    try {
      expectError(() => net.call(zeros([1, 1, 96, 96])), 'E_SHAPE', /\[N, 3, H, W\]/);
    } finally {
      net.dispose(); aux.dispose(); small.dispose();
    }
  });
});
