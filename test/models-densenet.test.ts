/**
 * models.densenet121 … 201 against torchvision 0.14's densenet.py (written out in plain torch by
 * test/fixtures/make/densenet.py): parameter counts, DenseNet-121's keys and shapes, its float64
 * forward on two 64x64 images (hashed weights, eval mode), a training step, resetClassifier,
 * models.save/load, and bad input.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, models, noGrad, optim, tensor, tidy, zeros } from '../lib';
import { DenseBlock, DenseNetModel } from '../lib/models/densenet';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface Case { name: string; count1000?: number; keys?: string[]; shapes?: number[][]; numClasses?: number; inputSeed?: number; inputShape?: number[];
  logits?: { shape: number[]; values: number[] }; pooledEvery16?: number[] }
const cases = loadFixture<{ cases: Case[] }>('densenet').cases;
const byName = (name: string) => cases.find((c) => c.name === name)!;
const relativeTo = (v: number[]) => 1e-5 * Math.max(...v.map(Math.abs));

describe('models.densenet', function () {
  this.timeout(120000);

  it('has torchvision\'s parameter counts (121, 161, 169, 201), keys and shapes', async () => {
    for (const [d, make] of [[121, models.densenet121], [161, models.densenet161], [169, models.densenet169], [201, models.densenet201]] as const) {
      const net = make();
      expect(net.parameterCount(), `densenet${d}`).to.equal(byName(`count densenet${d}`).count1000);
      net.dispose();
      await settle();
    }
    const net = models.densenet121({ numClasses: 10 });
    const state = net.stateDict();
    const c = byName('layout densenet121 10');
    expect(Object.keys(state)).to.deep.equal(c.keys);
    expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(c.shapes);
    for (const t of Object.values(state)) t.dispose();
    net.dispose();
  });

  it('DenseNet-121 matches PyTorch on two 64x64 images (float64, eval mode, hashed weights): logits and pooled features', () => {
    const c = byName('forward densenet121');
    const net = models.densenet121({ numClasses: 10 });
    try {
      fillHashedBn(net);
      net.eval();
      const x = tensor(hashed(2 * 3 * 64 * 64, c.inputSeed!, 1), { shape: c.inputShape });
      const [logits, pooled] = noGrad(() => [net.call(x), net.pooled(x)]);
      expectClose(logits.dataSync(), c.logits!.values, 1e-4, relativeTo(c.logits!.values));
      const p = pooled.dataSync();
      expect(pooled.shape).to.deep.equal([2, 1024]);
      expectClose(Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]), c.pooledEvery16!, 1e-4, relativeTo(c.pooledEvery16!));
      x.dispose(); logits.dispose(); pooled.dispose();
    } finally {
      net.dispose();
    }
  });

  it('trains (every parameter gets a gradient, steps reduce the loss), resets its classifier, saves and loads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-'));
    const net = new DenseNetModel({ numClasses: 3, growthRate: 8, blockConfig: [2, 3], numInitFeatures: 16, bnSize: 2 });
    const x = tensor(hashed(4 * 3 * 32 * 32, 7, 1), { shape: [4, 3, 32, 32] }), y = tensor([0, 1, 2, 1], { dtype: 'int32' });
    const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    try {
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        tidy(() => {
          opt.zeroGrad();
          const loss = F.crossEntropy(net.call(x), y);
          loss.backward();
          if (step === 0) expect(net.namedParameters().filter(([, p]) => p.grad === null).map(([n]) => n)).to.deep.equal([]);
          opt.step();
          losses.push(loss.item());
        });
      }
      expect(losses[5]).to.be.lessThan(losses[0]);
      net.resetClassifier(5);
      expect([net.numClasses, net.classifier.weight.shape]).to.deep.equal([5, [5, net.numFeatures]]);
      net.eval();
      models.save(net, dir);
      const again = models.load(dir).eval();
      const [a, b] = noGrad(() => [net.call(x), again.call(x)]);
      expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
      a.dispose(); b.dispose(); again.dispose();
    } finally {
      opt.dispose(); net.dispose(); x.dispose(); y.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a dense block concatenates its input and every layer\'s output; bad input is a typed error', () => {
    const block = new DenseBlock(3, 4, 2, 5);
    const x = tensor(hashed(2 * 4 * 6 * 6, 3, 1), { shape: [2, 4, 6, 6] });
    const y = noGrad(() => block.call(x));
    expect([block.outChannels, y.shape]).to.deep.equal([19, [2, 19, 6, 6]]);
    expect(Array.from(noGrad(() => y.narrow(1, 0, 4)).dataSync())).to.deep.equal(Array.from(x.dataSync()));   // the input comes first
    x.dispose(); y.dispose(); block.dispose();
    expectError(() => models.densenet121({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.densenet121({ growthRate: 12 } as never), 'E_ARG', /growthRate/);
    expectError(() => new DenseNetModel({ blockConfig: [] }), 'E_ARG', /blockConfig/);
    // Every size checked before any layer is made (the fuzzer's 2 ** 32 layers ran out of memory).
    expectError(() => new DenseBlock(3, 4, 2, Symbol('g') as never), 'E_ARG', /growthRate/);
    expectError(() => new DenseBlock(3, 4, 10n as never, 5), 'E_ARG', /bnSize/);
    expectError(() => new DenseBlock(2 ** 32, 4, 2, 5), 'E_OOM', /dense layers/);
    expectError(() => new DenseNetModel({ blockConfig: [6, 2 ** 32] }), 'E_OOM', /dense layers/);
    const net = new DenseNetModel({ numClasses: 2, growthRate: 4, blockConfig: [1], numInitFeatures: 8 });
    expectError(() => net.call(zeros([1, 1, 32, 32])), 'E_SHAPE', /\[N, 3, H, W\]/);
    net.dispose();
  });
});
