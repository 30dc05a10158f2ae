/**
 * models.AlexNet: both layouts' state-dict keys, shapes and parameter counts against PyTorch's,
 * a full-size forward on two images against PyTorch in float64 (the weights are filled from an
 * integer hash that test/fixtures/make/models.py computes the same way, so the fixture holds no
 * weights), and models.save/load.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { memory, models, noGrad, tensor, tidy } from '../lib';
import { AlexNetModel } from '../lib/models/alexnet';
import { fillHashed, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface AlexNetCase {
  name: string; variant: 'torchvision' | 'original'; size: number; numClasses: number;
  keys: string[]; shapes: number[][]; count: number; count1000: number; inputSeed: number;
  logits: { shape: number[]; values: number[] }; pooledEvery16: number[];
}

const cases = loadFixture<{ cases: AlexNetCase[] }>('models').cases.filter((c) => c.name.startsWith('alexnet'));

describe('models.AlexNet', function () {
  this.timeout(120000);

  it('has PyTorch\'s parameter counts: 61,100,840 (torchvision) and 60,965,224 (original) at 1000 classes', () => {
    for (const c of cases) {
      const net = models.AlexNet({ variant: c.variant });
      try {
        expect(net.parameterCount(), c.variant).to.equal(c.count1000);
        expect(net.numClasses).to.equal(1000);
        expect(net.inputSize).to.equal(c.size);
      } finally {
        net.dispose();
      }
    }
    expect(cases.map((c) => c.count1000)).to.deep.equal([61100840, 60965224]);
  });

  for (const c of cases) {
    it(`${c.variant}: state-dict keys, shapes and a forward on two ${c.size}x${c.size} images match PyTorch (float64)`, async () => {
      await settle();
    const before = memory().tensors;
      const net = models.AlexNet({ variant: c.variant, numClasses: c.numClasses });
      try {
        const state = net.stateDict();
        expect(Object.keys(state)).to.deep.equal(c.keys);
        expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(c.shapes);
        for (const t of Object.values(state)) t.dispose();
        expect(net.parameterCount()).to.equal(c.count);

        fillHashed(net);
        net.eval();
        const x = tensor(hashed(2 * 3 * c.size * c.size, c.inputSeed, 1), { shape: [2, 3, c.size, c.size] });
        const { pooled, logits } = tidy(() => noGrad(() => {
          const p = net.avgpool.call(net.features.call(x));
          return { pooled: p, logits: net.call(x) };
        }));
        expect(pooled.shape).to.deep.equal([2, 256, 6, 6]);
        expect(logits.shape).to.deep.equal(c.logits.shape);
        const p = await pooled.data();
        const every16 = Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]);
        const scale = Math.max(...c.pooledEvery16.map(Math.abs));
        expectClose(every16, c.pooledEvery16, 1e-4, 1e-5 * scale, `${c.variant} pooled`);
        const logitScale = Math.max(...c.logits.values.map(Math.abs));
        expectClose(await logits.data(), c.logits.values, 1e-4, 1e-5 * logitScale, `${c.variant} logits`);
        x.dispose(); pooled.dispose(); logits.dispose();
      } finally {
        net.dispose();
      }
      await settle();
      expect(memory().tensors).to.equal(before);
    });
  }

  it('drops out in training mode only, and the layouts differ where the paper says', () => {
    const net = models.AlexNet({ numClasses: 3, dropout: 0.3 });
    const paper = models.AlexNet({ variant: 'original', numClasses: 3 });
    try {
      const text = paper.toString();
      expect(text).to.match(/LocalResponseNorm\(5, alpha=0\.0005, beta=0\.75, k=2\)/);
      expect(text.match(/groups=2/g)).to.have.length(3);   // conv2, conv4, conv5
      expect(net.toString()).to.not.match(/LocalResponseNorm|groups/);
      expect(net.toString()).to.match(/Dropout\(p=0\.3\)/);
      const x = tensor(hashed(3 * 100 * 100, 5, 1), { shape: [1, 3, 100, 100] });   // any size from 63 up
      const [a, b] = tidy(() => noGrad(() => [net.call(x), net.call(x)]));
      net.eval();
      const [c, d] = tidy(() => noGrad(() => [net.call(x), net.call(x)]));
      expect(Array.from(a.dataSync())).to.not.deep.equal(Array.from(b.dataSync()));
      expect(Array.from(c.dataSync())).to.deep.equal(Array.from(d.dataSync()));
      for (const t of [x, a, b, c, d]) t.dispose();
    } finally {
      net.dispose();
      paper.dispose();
    }
  });

  it('survives models.save and models.load (architecture and weights)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-alexnet-'));
    const net = models.AlexNet({ variant: 'original', numClasses: 4, dropout: 0.25 }).eval();
    try {
      models.save(net, dir);
      const doc = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      expect(doc.architecture).to.deep.equal({ type: 'AlexNet', args: [{ numClasses: 4, variant: 'original', dropout: 0.25 }] });
      const again = models.load(dir).eval();
      try {
        expect(again).to.be.instanceOf(AlexNetModel);
        const a = again as AlexNetModel;
        expect([a.variant, a.numClasses, a.dropout]).to.deep.equal(['original', 4, 0.25]);
        const x = tensor(hashed(3 * 227 * 227, 9, 1), { shape: [1, 3, 227, 227] });
        const [y1, y2] = tidy(() => noGrad(() => [net.call(x), again.call(x)]));
        expect(Array.from(await y2.data())).to.deep.equal(Array.from(await y1.data()));
        x.dispose(); y1.dispose(); y2.dispose();
      } finally {
        again.dispose();
      }
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with E_ARG', () => {
    expectError(() => models.AlexNet({ variant: 'vgg' as never }), 'E_ARG', /variant/);
    expectError(() => models.AlexNet({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.AlexNet({ numClasses: 2.5 }), 'E_ARG', /numClasses/);
    expectError(() => models.AlexNet({ dropout: 1.5 }), 'E_ARG', /dropout/);
    expectError(() => models.AlexNet({ dropout: NaN }), 'E_ARG', /dropout/);
    expectError(() => models.AlexNet({ classes: 10 } as never), 'E_ARG', /classes/);
  });
});
