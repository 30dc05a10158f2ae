/**
 * models.NiN (Network in Network, the paper's CIFAR-10 network) against the same network in
 * plain torch (test/fixtures/make/nin.py): parameter count and keys, a float64 forward on hashed
 * weights, the class maps, a few training steps, save/load, mlpconv, and bad input.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, models, noGrad, optim, tensor, tidy, zeros } from '../lib';
import { NiNModel } from '../lib/models/nin';
import { fillHashed, hashed } from './hashed';
import { expectClose, expectError, loadFixture } from './helpers';

interface Case { count: number; keys: string[]; inputSeed: number; inputShape: number[]; logits: { shape: number[]; values: number[] } }
const [c] = loadFixture<{ cases: Case[] }>('nin').cases;

describe('models.NiN', function () {
  this.timeout(60000);

  it('has the paper\'s 966,986 parameters and the keys of its plain-torch twin; matches its float64 forward', () => {
    const net = models.NiN();
    try {
      expect(net.parameterCount()).to.equal(c.count);
      expect(Object.keys(tidy(() => net.stateDict()))).to.deep.equal(c.keys);
      fillHashed(net);
      net.eval();
      const x = tensor(hashed(2 * 3 * 32 * 32, c.inputSeed, 1), { shape: c.inputShape });
      const [logits, maps] = noGrad(() => [net.call(x), net.classMaps(x)]);
      expect([logits.shape, maps.shape]).to.deep.equal([c.logits.shape, [2, 10, 8, 8]]);
      expectClose(logits.dataSync(), c.logits.values, 1e-4, 1e-5 * Math.max(...c.logits.values.map(Math.abs)));
      x.dispose(); logits.dispose(); maps.dispose();
    } finally {
      net.dispose();
    }
  });

  it('trains: a few steps reduce the loss; saves and loads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nin-'));
    const net = models.NiN({ numClasses: 3, inChannels: 1, dropout: 0 });
    const x = tensor(hashed(4 * 16 * 16, 5, 1), { shape: [4, 1, 16, 16] }), y = tensor([0, 1, 2, 1], { dtype: 'int32' });
    const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
    try {
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) {
        tidy(() => {
          opt.zeroGrad();
          const loss = F.crossEntropy(net.call(x), y);
          loss.backward();
          opt.step();
          losses.push(loss.item());
        });
      }
      expect(losses[7]).to.be.lessThan(losses[0]);
      net.eval();
      models.save(net, dir);
      const again = models.load(dir) as NiNModel;
      expect(again.config()).to.deep.equal([{ numClasses: 3, inChannels: 1, dropout: 0 }]);
      const [a, b] = noGrad(() => [net.call(x), again.eval().call(x)]);
      expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
      a.dispose(); b.dispose(); again.dispose();
    } finally {
      opt.dispose(); net.dispose(); x.dispose(); y.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mlpconv is a convolution and two 1x1 convolutions with ReLUs; bad input is a typed error', () => {
    const layer = models.mlpconv(3, [8, 6, 4], 3, 1);
    expect(layer.children().map((m) => m.typeName)).to.deep.equal(['Conv2d', 'ReLU', 'Conv2d', 'ReLU', 'Conv2d', 'ReLU']);
    const y = noGrad(() => layer.call(zeros([2, 3, 5, 5])));
    expect(y.shape).to.deep.equal([2, 4, 5, 5]);
    y.dispose(); layer.dispose();
    expectError(() => models.mlpconv(3, [8, 6] as never, 3), 'E_ARG', /three channel counts/);
    expectError(() => models.NiN({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.NiN({ dropout: 2 }), 'E_ARG', /dropout/);
    const net = models.NiN();
    expectError(() => net.call(zeros([1, 1, 32, 32])), 'E_SHAPE', /\[N, 3, H, W\]/);
    net.dispose();
  });
});
