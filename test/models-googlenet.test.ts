/**
 * models.googlenet against torchvision 0.14's GoogLeNet (written out in plain torch by
 * test/fixtures/make/googlenet.py): parameter counts, state-dict keys and shapes with and without
 * the auxiliary heads, forwards on two 96x96 images against PyTorch in float64 (logits, both
 * auxiliary heads, pooled features; with and without transformInput), a training step with the
 * auxiliary losses, removeAux, resetClassifier, folding batch norm, models.save/load, bad input;
 * and nn.init.truncNormal_, which its initialisation uses.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, add, memory, models, mul, nn, noGrad, optim, tensor, tidy, zeros, type Tensor } from '../lib';
import { BasicConv2d } from '../lib/models/basic-conv';
import { GoogLeNetModel, Inception, InceptionAux } from '../lib/models/googlenet';
import type { Module } from '../lib/nn/module';
import { fillHashedBn, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface Case {
  name: string; count1000?: number; keys?: string[]; shapes?: number[][];
  numClasses?: number; inputSeed?: number; inputShape?: number[];
  logits?: { shape: number[]; values: number[] }; aux1?: { shape: number[]; values: number[] }; aux2?: { shape: number[]; values: number[] };
  pooledEvery16?: number[];
}

const cases = loadFixture<{ cases: Case[] }>('googlenet').cases;
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

const relativeTo = (values: number[]): number => 1e-5 * Math.max(...values.map(Math.abs));

describe('models.googlenet', function () {
  this.timeout(120000);

  it('has torchvision\'s parameter counts, state-dict keys and shapes, with and without the auxiliary heads', async () => {
    const check = async (make: () => GoogLeNetModel, count?: number, layout?: string): Promise<void> => {
      const net = make();
      try {
        if (count !== undefined) expect(net.parameterCount()).to.equal(count);
        if (layout) expectLayout(net, byName(layout));
      } finally {
        net.dispose();
      }
      await settle();
    };
    // torchvision's documented 6,624,904 (its pretrained model, heads removed); 13,004,888 with them.
    expect([byName('count aux').count1000, byName('count no aux').count1000]).to.deep.equal([13004888, 6624904]);
    await check(() => models.googlenet(), 13004888);
    await check(() => models.googlenet({ auxLogits: false }), 6624904, 'layout no aux');
    await check(() => models.googlenet({ numClasses: 10 }), undefined, 'layout aux 10');
  });

  for (const transformInput of [false, true]) {
    it(`matches PyTorch on two 96x96 images: logits, both auxiliary heads and the pooled features (float64, eval mode, hashed weights${transformInput ? ', transformInput' : ''})`, async () => {
      const c = byName(transformInput ? 'forward transform_input' : 'forward');
      await settle();
      const before = memory().tensors;
      const net = models.googlenet({ numClasses: c.numClasses, transformInput });
      try {
        fillHashedBn(net);
        net.eval();
        const x = tensor(hashed(2 * 3 * 96 * 96, c.inputSeed!, 1), { shape: c.inputShape });
        const out = tidy(() => noGrad(() => {
          const { logits, aux1, aux2 } = net.outputs(x);
          return { logits, aux1: aux1!, aux2: aux2!, pooled: net.features(x), plain: net.call(x) };
        }));
        // float32 against float64 through 22 layers: relative to the largest value.
        for (const k of ['logits', 'aux1', 'aux2'] as const) {
          expect(out[k].shape).to.deep.equal(c[k]!.shape);
          expectClose(await out[k].data(), c[k]!.values, 1e-4, relativeTo(c[k]!.values), k);
        }
        // forward() is outputs()'s logits, without the heads.
        expect(Array.from(await out.plain.data())).to.deep.equal(Array.from(await out.logits.data()));
        const p = await out.pooled.data();
        expect(out.pooled.shape).to.deep.equal([2, 1024]);
        const every16 = Array.from({ length: Math.ceil(p.length / 16) }, (_, i) => p[16 * i]);
        expectClose(every16, c.pooledEvery16!, 1e-4, relativeTo(c.pooledEvery16!), 'pooled');
        x.dispose();
        for (const t of Object.values(out)) t.dispose();
      } finally {
        net.dispose();
      }
      await settle();
      expect(memory().tensors).to.equal(before);
    });
  }

  it('trains with the auxiliary losses (0.3 each): every parameter gets a gradient, and steps reduce the loss', () => {
    const net = models.googlenet({ numClasses: 3, dropout: 0, dropoutAux: 0 });
    const x = tensor(hashed(4 * 3 * 32 * 32, 12, 1), { shape: [4, 3, 32, 32] });
    const y = tensor([0, 1, 2, 1], { dtype: 'int32' });
    const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    try {
      net.train();
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        tidy(() => {
          opt.zeroGrad();
          const { logits, aux1, aux2 } = net.outputs(x);
          const loss = add(F.crossEntropy(logits, y), mul(add(F.crossEntropy(aux1!, y), F.crossEntropy(aux2!, y)), 0.3));
          loss.backward();
          if (step === 0) {
            const missing = net.namedParameters().filter(([, p]) => p.grad === null).map(([n]) => n);
            expect(missing).to.deep.equal([]);
          }
          opt.step();
          losses.push(loss.item());
        });
      }
      expect(losses[5]).to.be.lessThan(losses[0]);
    } finally {
      net.dispose(); x.dispose(); y.dispose(); opt.dispose?.();
    }
  });

  it('removeAux drops the heads (keys, config), as torchvision after loading its pretrained file', () => {
    const full = models.googlenet({ numClasses: 5 });
    const state = full.stateDict();
    try {
      expect(Object.keys(state).some((k) => k.startsWith('aux1.'))).to.equal(true);
      const net = models.googlenet({ numClasses: 5 });
      net.loadStateDict(state);   // torchvision's file has the heads: load with them, then drop them
      expect(net.removeAux()).to.equal(net);
      expect([net.aux1, net.aux2, net.auxLogits]).to.deep.equal([null, null, false]);
      expect(Object.keys(net.stateDict()).filter((k) => k.startsWith('aux'))).to.deep.equal([]);
      expect(net.parameterCount()).to.equal(models.googlenet({ numClasses: 5, auxLogits: false }).parameterCount());
      expect((net.config()[0] as { auxLogits: boolean }).auxLogits).to.equal(false);
      const x = tensor(hashed(3 * 32 * 32, 5, 1), { shape: [1, 3, 32, 32] });
      const { logits, aux1, aux2 } = noGrad(() => net.eval().outputs(x));
      expect([logits.shape, aux1, aux2]).to.deep.equal([[1, 5], null, null]);
      expect(net.removeAux()).to.equal(net);   // again: nothing to do
      net.dispose(); x.dispose(); logits.dispose();
    } finally {
      for (const t of Object.values(state)) t.dispose();
      full.dispose();
    }
  });

  it('resetClassifier replaces fc and the heads\' fc2; survives models.save and models.load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-'));
    const net = models.googlenet({ numClasses: 7 });
    try {
      const conv = Array.from(net.conv1.conv.weight.dataSync());
      expect(net.resetClassifier(4)).to.equal(net);
      expect([net.numClasses, net.fc.weight.shape, net.aux1!.numClasses, net.aux2!.fc2.weight.shape]).to.deep.equal([4, [4, 1024], 4, [4, 1024]]);
      expect(Array.from(net.conv1.conv.weight.dataSync())).to.deep.equal(conv);
      expectError(() => net.resetClassifier(0), 'E_ARG', /numClasses/);
      net.eval();
      models.save(net, dir);
      const again = models.load(dir).eval() as GoogLeNetModel;
      try {
        expect(again).to.be.instanceOf(GoogLeNetModel);
        expect([again.numClasses, again.auxLogits, again.transformInput]).to.deep.equal([4, true, false]);
        const x = tensor(hashed(2 * 3 * 40 * 40, 9, 1), { shape: [2, 3, 40, 40] });
        const [a, b] = noGrad(() => [net.call(x), again.call(x)]);
        expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
        x.dispose(); a.dispose(); b.dispose();
      } finally {
        again.dispose();
      }
      // The blocks save and load on their own too.
      for (const block of [new BasicConv2d(3, 8, 3, { stride: 2, padding: 1 }), new Inception(16, 4, 4, 8, 2, 4, 4), new InceptionAux(16, 3, { dropout: 0.5 })]) {
        models.save(block, path.join(dir, 'block.json'));
        const loaded = models.load(path.join(dir, 'block.json'));
        expect([loaded.typeName, loaded.config()]).to.deep.equal([block.typeName, block.config()]);
        loaded.dispose(); block.dispose();
      }
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nn.utils.fuseConvBn folds all its conv/bn pairs (57, and 2 in the heads); the outputs stay', () => {
    const net = models.googlenet({ numClasses: 6 });
    try {
      fillHashedBn(net);
      net.eval();
      const x = tensor(hashed(2 * 3 * 64 * 64, 21, 1), { shape: [2, 3, 64, 64] });
      const before = noGrad(() => net.outputs(x));
      expect(nn.utils.fuseConvBn(net)).to.equal(59);
      const after = noGrad(() => net.outputs(x));
      for (const k of ['logits', 'aux1', 'aux2'] as const) {
        const v = Array.from(before[k]!.dataSync());
        expectClose(after[k]!.dataSync(), v, 1e-4, relativeTo(v), k);
        before[k]!.dispose(); after[k]!.dispose();
      }
      x.dispose();
    } finally {
      net.dispose();
    }
  });

  it('inception blocks keep the spatial size and concatenate the branches\' channels', () => {
    const block = new Inception(8, 3, 2, 5, 2, 4, 6);
    const x = tensor(hashed(2 * 8 * 5 * 7, 4, 1), { shape: [2, 8, 5, 7] });
    const y = noGrad(() => block.call(x));
    expect([block.outChannels, y.shape]).to.deep.equal([18, [2, 18, 5, 7]]);
    // The first 3 channels are branch1's.
    const b1 = noGrad(() => block.branch1.call(x));
    const head = noGrad(() => y.narrow(1, 0, 3));
    expect(Array.from(head.dataSync())).to.deep.equal(Array.from(b1.dataSync()));
    for (const t of [x, y, b1, head]) t.dispose();
    block.dispose();
  });

  it('refuses bad options and input with typed errors', () => {
    expectError(() => models.googlenet({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.googlenet({ dropout: 1.5 }), 'E_ARG', /dropout/);
    expectError(() => models.googlenet({ auxLogits: 'yes' as unknown as boolean }), 'E_ARG', /auxLogits/);
    expectError(() => models.googlenet({ numclasses: 3 } as never), 'E_ARG', /numclasses/);
    expectError(() => new Inception(8, 3, 2, 5, 2, 0, 6), 'E_ARG', /ch5x5/);
    expectError(() => new BasicConv2d(3, 8, 3, { padding: -1 }), 'E_ARG', /padding/);
    const net = models.googlenet({ numClasses: 2, auxLogits: false });
    try {
      const gray = zeros([1, 1, 64, 64]);
      expectError(() => net.call(gray), 'E_SHAPE', /\[N, 3, H, W\]/);
      expectError(() => net.outputs(gray), 'E_SHAPE', /\[N, 3, H, W\]/);
      expectError(() => net.call(tensor([1, 2, 3], { dtype: 'int32' }) as unknown as Tensor), 'E_SHAPE');
      gray.dispose();
    } finally {
      net.dispose();
    }
  });
});

describe('nn.init.truncNormal_', () => {
  // Moments of N(mean, std^2) cut to [a, b], from the closed forms.
  const phi = (z: number) => Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI);
  function moments(mean: number, std: number, a: number, b: number, Phi: (z: number) => number): { m: number; s: number } {
    const al = (a - mean) / std, be = (b - mean) / std, Z = Phi(be) - Phi(al);
    const pa = Number.isFinite(al) ? phi(al) : 0, pb = Number.isFinite(be) ? phi(be) : 0;
    const m = mean + std * (pa - pb) / Z;
    const v = std * std * (1 + ((Number.isFinite(al) ? al * pa : 0) - (Number.isFinite(be) ? be * pb : 0)) / Z - ((pa - pb) / Z) ** 2);
    return { m, s: Math.sqrt(v) };
  }
  // Phi by numerical integration (Simpson), independent of init.ts's erfc fit.
  const Phi = (z: number): number => {
    if (z === Infinity) return 1;
    if (z === -Infinity) return 0;
    const lo = -12, n = 20000, h = (z - lo) / n;
    let s = phi(lo) + phi(z);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(lo + i * h);
    return (s * h) / 3;
  };

  for (const [mean, std, a, b] of [[0, 1, -2, 2], [0, 1, 0, Infinity], [1, 0.5, 0.2, 1.3], [0, 0.01, -2, 2], [3, 2, -Infinity, 2]]) {
    it(`draws N(${mean}, ${std}^2) cut to [${a}, ${b}]: inside, with the truncated distribution's mean and std`, () => {
      const w = zeros([200000]);
      nn.init.truncNormal_(w, mean, std, a, b);
      const v = w.dataSync();
      let lo = Infinity, hi = -Infinity, sum = 0;
      for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); sum += x; }
      const m = sum / v.length;
      let ss = 0;
      for (const x of v) ss += (x - m) ** 2;
      const want = moments(mean, std, a, b, Phi);
      expect(lo).to.be.at.least(a);
      expect(hi).to.be.at.most(b);
      expect(Math.abs(m - want.m), `mean ${m} against ${want.m}`).to.be.lessThan(0.01 * std);
      expect(Math.abs(Math.sqrt(ss / v.length) - want.s), `std against ${want.s}`).to.be.lessThan(0.01 * std);
      // The CDF at the truncated distribution's 10th, 30th, …, 90th percentiles (found by bisection).
      const al = Phi((a - mean) / std), Z = Phi((b - mean) / std) - al;
      for (const q of [0.1, 0.3, 0.5, 0.7, 0.9]) {
        let zlo = Math.max(-12, (a - mean) / std), zhi = Math.min(12, (b - mean) / std);
        for (let i = 0; i < 50; i++) { const z = (zlo + zhi) / 2; if ((Phi(z) - al) / Z < q) zlo = z; else zhi = z; }
        const x = mean + std * zlo;
        let below = 0;
        for (const u of v) if (u < x) below++;
        expect(Math.abs(below / v.length - q), `CDF at the ${q} quantile`).to.be.lessThan(0.005);
      }
      w.dispose();
    });
  }

  it('fills in place with no temporaries left, std 0 gives the clamped mean, and refuses bad arguments', async () => {
    await settle();
    const before = memory().tensors;
    const w = zeros([3, 4]);
    expect(nn.init.truncNormal_(w, 0, 0.02)).to.equal(w);
    await settle();
    expect(memory().tensors).to.equal(before + 1);
    nn.init.truncNormal_(w, 5, 0, -1, 1);
    expect(Array.from(w.dataSync())).to.deep.equal(new Array(12).fill(1));
    expectError(() => nn.init.truncNormal_(w, 0, 1, 2, 2), 'E_ARG', /a < b/);
    expectError(() => nn.init.truncNormal_(w, 0, -1), 'E_ARG', /std/);
    expectError(() => nn.init.truncNormal_(w, 0, 1, 50, 60), 'E_ARG', /too far/);
    expectError(() => nn.init.truncNormal_(tensor([1, 2], { dtype: 'int32' }), 0, 1), 'E_DTYPE');
    w.dispose();
  });
});
