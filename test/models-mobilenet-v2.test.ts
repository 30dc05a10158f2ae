/**
 * models.mobilenetV2 against torchvision 0.14's mobilenetv2.py (written out in plain torch by
 * test/fixtures/make/mobilenet_v2.py): parameter count, keys and shapes, a float64 forward on two
 * 64x64 images (hashed weights, eval mode), folding batch norm, a training step,
 * resetClassifier, models.save/load, and bad input.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, models, nn, noGrad, optim, tensor, tidy, zeros } from '../lib';
import { InvertedResidual } from '../lib/models/mobilenet-v2';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture } from './helpers';

interface Case { name: string; count1000?: number; keys?: string[]; shapes?: number[][]; inputSeed?: number; inputShape?: number[];
  logits?: { shape: number[]; values: number[] }; pooledEvery16?: number[] }
const cases = loadFixture<{ cases: Case[] }>('mobilenet_v2').cases;
const byName = (name: string) => cases.find((c) => c.name === name)!;

describe('models.mobilenetV2', function () {
  this.timeout(60000);

  it('has torchvision\'s parameter count, keys and shapes', () => {
    const net = models.mobilenetV2();
    expect(net.parameterCount()).to.equal(byName('count').count1000);
    net.dispose();
    const ten = models.mobilenetV2({ numClasses: 10 });
    const state = ten.stateDict();
    expect(Object.keys(state)).to.deep.equal(byName('layout 10').keys);
    expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(byName('layout 10').shapes);
    for (const t of Object.values(state)) t.dispose();
    ten.dispose();
  });

  it('matches PyTorch on two 64x64 images (float64, eval mode, hashed weights); folding its 52 batch norms keeps the logits', () => {
    const c = byName('forward');
    const net = models.mobilenetV2({ numClasses: 10 });
    try {
      fillHashedBn(net);
      net.eval();
      const x = tensor(hashed(2 * 3 * 64 * 64, c.inputSeed!, 1), { shape: c.inputShape });
      const [logits, pooled] = noGrad(() => [net.call(x), net.pooled(x)]);
      // Looser than the other models' 1e-5 of the scale: float32's rounding doubles about every
      // two blocks here (hashed batch-norm scales up to 2.45 in 52 layers). Compared stage by
      // stage against float64 torch (a /tmp script): |diff| 1.5e-6 after features.0, 9e-4 after
      // features.12, 1.2e-2 after features.18 (values up to 6, ReLU6), everywhere growing smoothly.
      const loose = (v: number[]) => 5e-4 * Math.max(...v.map(Math.abs));
      expectClose(logits.dataSync(), c.logits!.values, 1e-3, loose(c.logits!.values));
      const p = pooled.dataSync();
      expectClose(Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]), c.pooledEvery16!, 1e-3, loose(c.pooledEvery16!));
      expect(nn.utils.fuseConvBn(net)).to.equal(52);
      const fused = noGrad(() => net.call(x));
      expectClose(fused.dataSync(), c.logits!.values, 1e-3, loose(c.logits!.values));
      x.dispose(); logits.dispose(); pooled.dispose(); fused.dispose();
    } finally {
      net.dispose();
    }
  });

  it('trains, resets its classifier, saves and loads; widthMult scales the widths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilenet-'));
    const net = models.mobilenetV2({ numClasses: 3, widthMult: 0.5, dropout: 0 });
    expect(net.lastChannel).to.equal(1280);
    expect((net.features.at(0) as nn.Sequential).at(0)).to.be.instanceOf(nn.Conv2d);
    const x = tensor(hashed(4 * 3 * 32 * 32, 8, 1), { shape: [4, 3, 32, 32] }), y = tensor([0, 1, 2, 1], { dtype: 'int32' });
    const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
    try {
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        tidy(() => {
          opt.zeroGrad();
          const loss = F.crossEntropy(net.call(x), y);
          loss.backward();
          opt.step();
          losses.push(loss.item());
        });
      }
      expect(losses[5]).to.be.lessThan(losses[0]);
      net.resetClassifier(7);
      expect([net.numClasses, (net.classifier.at(1) as nn.Linear).weight.shape]).to.deep.equal([7, [7, 1280]]);
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

  it('an inverted residual adds its input when the shape stays; bad input is a typed error', () => {
    const same = new InvertedResidual(8, 8, 1, 6), down = new InvertedResidual(8, 16, 2, 6);
    expect([same.useResConnect, down.useResConnect]).to.deep.equal([true, false]);
    const y = noGrad(() => down.call(zeros([1, 8, 9, 9])));
    expect(y.shape).to.deep.equal([1, 16, 5, 5]);
    y.dispose(); same.dispose(); down.dispose();
    expectError(() => new InvertedResidual(8, 8, 3, 6), 'E_ARG', /stride/);
    expectError(() => new InvertedResidual(8, 8, 1, 0.5), 'E_ARG', /expandRatio/);
    expectError(() => models.mobilenetV2({ widthMult: 0 }), 'E_ARG', /widthMult/);
    expectError(() => models.mobilenetV2({ numClasses: 1.5 }), 'E_ARG', /numClasses/);
    const net = models.mobilenetV2({ numClasses: 2 });
    expectError(() => net.call(zeros([1, 4, 32, 32])), 'E_SHAPE', /\[N, 3, H, W\]/);
    net.dispose();
  });
});
