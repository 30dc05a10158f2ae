/**
 * nn.utils.prune against torch.nn.utils.prune (test/fixtures/make/prune.py: the masks of the
 * deterministic methods on hashed weights, in sequence), the reparametrisation (weight_orig,
 * weight_mask, a weight recomputed before each forward, gradients to weight_orig only where the
 * mask is 1), remove, the random methods' counts, and errors.
 */
import { expect } from 'chai';
import { F, memory, nn, noGrad, optim, tensor, tidy, type Tensor } from '../lib';
import { hashed } from './hashed';
import { expectError, loadFixture, settle } from './helpers';

const { prune } = nn.utils;

interface Case { name: string; seed?: number; seeds?: number[]; amount?: number; calls?: (string | number)[][]; masks: number[][]; keys?: string[] }
const cases = loadFixture<{ cases: Case[] }>('prune').cases;
const byName = (name: string) => cases.find((c) => c.name === name)!;

/** prune.py's conv: weights and bias from hashed(seed) and hashed(seed + 1). */
function conv(seed: number, [K, C, k] = [6, 4, 3]): nn.Conv2d {
  const m = new nn.Conv2d(C, K, k);
  m.loadStateDict({ weight: tensor(hashed(K * C * k * k, seed, 1), { shape: [K, C, k, k] }), bias: tensor(hashed(K, seed + 1, 1)) });
  return m;
}

const maskOf = (m: nn.Module) => Array.from((m.namedBuffers().find(([k]) => k === 'weight_mask')![1]).dataSync());

describe('nn.utils.prune', () => {
  for (const c of cases.filter((k) => k.calls)) {
    it(`${c.name}: the masks PyTorch computes`, () => {
      const m = conv(c.seed!);
      const masks: number[][] = [];
      for (const call of c.calls!) {
        if (call[0] === 'l1') prune.l1Unstructured(m, 'weight', call[1] as number);
        else prune.lnStructured(m, 'weight', call[1] as number, call[2] === 'Infinity' ? Infinity : call[2] as number, call[3] as number);
        masks.push(maskOf(m));
      }
      // The fixture holds the first and the last mask.
      expect(masks[0]).to.deep.equal(c.masks[0]);
      expect(masks[masks.length - 1]).to.deep.equal(c.masks[c.masks.length - 1]);
      if (c.keys) expect(Object.keys(tidy(() => m.stateDict()))).to.deep.equal(c.keys);
      m.dispose();
    });
  }

  it('globalUnstructured: the smallest magnitudes across both layers, as PyTorch', () => {
    const c = byName('global');
    const a = conv(c.seeds![0]), b = conv(c.seeds![1], [3, 6, 3]);
    prune.globalUnstructured([[a, 'weight'], [b, 'weight']], { amount: c.amount! });
    expect([maskOf(a), maskOf(b)]).to.deep.equal(c.masks);
    expect(prune.isPruned(a) && prune.isPruned(new nn.Sequential(b))).to.equal(true);
    a.dispose(); b.dispose();
  });

  it('reparametrises: weight = weight_orig * weight_mask before every forward; weight_orig trains, pruned entries get no gradient', async () => {
    await settle();
    const before = memory().tensors;
    const fc = new nn.Linear(4, 3);
    const orig = fc.weight;
    prune.l1Unstructured(fc, 'weight', 0.5);
    expect(fc.namedParameters().map(([k]) => k)).to.deep.equal(['bias', 'weight_orig']);
    expect(fc.namedParameters()[1][1]).to.equal(orig);   // the same Parameter: optimizers keep it
    const mask = maskOf(fc);
    expect(mask.filter((v) => v === 0).length).to.equal(6);
    const opt = new optim.SGD(fc.parameters(), { lr: 0.1 });
    const x = tensor([[1, 2, 3, 4], [-1, 0.5, 2, 1]]);
    for (let step = 0; step < 3; step++) {
      tidy(() => {
        opt.zeroGrad();
        F.mseLoss(fc.call(x), tensor([[1, 0, 0], [0, 1, 0]])).backward();
        const g = Array.from(orig.grad!.dataSync());
        g.forEach((v, i) => { if (mask[i] === 0) expect(v).to.equal(0); });
        opt.step();
      });
    }
    // The effective weight is the product, recomputed before each forward (as PyTorch's hook).
    noGrad(() => fc.call(x)).dispose();
    const w = Array.from((fc.weight as Tensor).dataSync()), o = Array.from(orig.dataSync());
    w.forEach((v, i) => expect(v).to.equal(mask[i] === 0 ? 0 : o[i]));
    // remove: weight is the Parameter again, holding the pruned values; no mask, no hook.
    prune.remove(fc, 'weight');
    expect(fc.weight).to.equal(orig);
    expect(fc.namedParameters().map(([k]) => k)).to.deep.equal(['bias', 'weight']);
    expect(fc.namedBuffers()).to.deep.equal([]);
    expect(Array.from(orig.dataSync())).to.deep.equal(w);
    expect(prune.isPruned(fc)).to.equal(false);
    opt.dispose(); x.dispose(); fc.dispose();
    await settle();
    expect(memory().tensors).to.equal(before);
  });

  it('randomUnstructured and randomStructured prune the asked share; customFromMask and identity combine masks', () => {
    const m = conv(7);
    prune.randomUnstructured(m, 'weight', 0.25);
    expect(maskOf(m).filter((v) => v === 0).length).to.equal(54);
    const s = conv(8);
    prune.randomStructured(s, 'weight', 0.5, 0);
    const ms = maskOf(s);
    const zeroFilters = [0, 1, 2, 3, 4, 5].filter((k) => ms.slice(k * 36, k * 36 + 36).every((v) => v === 0));
    expect(zeroFilters.length).to.equal(3);
    expect(ms.filter((v) => v === 0).length).to.equal(108);   // whole filters only
    prune.customFromMask(m, 'bias', tensor([1, 0, 1, 1, 0, 1]));
    const b = noGrad(() => Array.from((m as unknown as { bias: Tensor }).bias.dataSync()));
    expect([b[1], b[4]].map((v) => v === 0)).to.deep.equal([true, true]);   // (-0 where the bias was negative)
    prune.identity(s, 'bias');
    expect(s.namedBuffers().map(([k]) => k)).to.deep.equal(['weight_mask', 'bias_mask']);
    m.dispose(); s.dispose();
  });

  it('a pruned model loads PyTorch\'s pruned state dict (weight_orig, weight_mask) and computes with it', () => {
    const c = byName('l1 twice');
    const src = conv(c.seed!);
    prune.l1Unstructured(src, 'weight', 0.3);
    const dst = new nn.Conv2d(4, 6, 3);
    prune.identity(dst, 'weight');
    dst.loadStateDict(tidy(() => src.stateDict()));
    const x = tensor(hashed(4 * 5 * 5, 3, 1), { shape: [1, 4, 5, 5] });
    const [a, b] = noGrad(() => [src.call(x), dst.call(x)]);
    expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
    for (const t of [x, a, b]) t.dispose();
    src.dispose(); dst.dispose();
  });

  it('NaN counts as the largest magnitude (as torch.topk); an amount of 1 is all of it, 0 none', () => {
    const fc = new nn.Linear(2, 2);
    fc.loadStateDict({ weight: tensor([[NaN, 1], [2, -3]]) }, { strict: false });
    prune.l1Unstructured(fc, 'weight', 2);
    expect(maskOf(fc)).to.deep.equal([1, 0, 0, 1]);
    prune.l1Unstructured(fc, 'weight', 1);
    expect(maskOf(fc)).to.deep.equal([0, 0, 0, 0]);
    const other = new nn.Linear(2, 2);
    prune.l1Unstructured(other, 'weight', 0);
    expect(maskOf(other)).to.deep.equal([1, 1, 1, 1]);
    fc.dispose(); other.dispose();
  });

  it('refuses bad arguments with typed errors', () => {
    const m = conv(9);
    expectError(() => prune.l1Unstructured(m, 'weights', 0.1), 'E_ARG', /no parameter named "weights"/);
    expectError(() => prune.l1Unstructured(m, 'weight', 1.5), 'E_ARG', /amount/);
    expectError(() => prune.l1Unstructured(m, 'weight', -1), 'E_ARG', /amount/);
    expectError(() => prune.l1Unstructured(m, 'weight', 500), 'E_ARG', /more than the 216 units/);
    expectError(() => prune.lnStructured(m, 'weight', 0.5, 0, 0), 'E_ARG', /n/);
    expectError(() => prune.lnStructured(m, 'weight', 0.5, 2, 4), 'E_ARG', /dim/);
    expectError(() => prune.remove(m, 'weight'), 'E_ARG', /not pruned/);
    expectError(() => prune.customFromMask(m, 'weight', tensor([1, 0])), 'E_SHAPE', /mask/);
    expectError(() => prune.globalUnstructured([], { amount: 0.1 }), 'E_ARG', /non-empty/);
    expectError(() => prune.globalUnstructured([[m, 'weight'], [m, 'weight']], { amount: 0.1 }), 'E_ARG', /twice/);
    expectError(() => prune.globalUnstructured([[m, 'weight']], { amount: 0.1, pruningMethod: 'l2' as never }), 'E_ARG', /pruningMethod/);
    expectError(() => prune.l1Unstructured({} as never, 'weight', 0.1), 'E_ARG', /Module/);
    // Module's internal hook for the pruned weight, reachable from JavaScript (found by the fuzzer).
    expectError(() => m._setDerived({} as never, null), 'E_ARG', /expected a name/);
    expectError(() => m._setDerived('weight', 3 as never), 'E_ARG', /Tensor/);
    m.dispose();
  });
});
