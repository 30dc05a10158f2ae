// F.embeddingBag and nn.EmbeddingBag (lib/nn/functional/embedding-bag.ts): against PyTorch 1.13's
// own in float64 (test/fixtures/make/embedding_bag.py: outputs, the weight after maxNorm's
// renormalisation, and the gradients of the weight and the per-sample weights), the module
// around it, typed refusals, and the GPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { hashed } from './hashed';
import { expectBitIdentical, expectClose, expectError, loadFixture, settle, tapeCheck } from './helpers';

const { F, nn } = cc;
type Mode = 'sum' | 'mean' | 'max';

interface Case {
  mode: Mode; input: number[] | number[][]; offsets: number[] | null; V: number; D: number;
  psw?: boolean; include_last_offset?: boolean; padding_idx?: number; max_norm?: number; norm_type?: number; scale_grad_by_freq?: boolean;
  output: number[]; outputShape: number[]; weightAfter: number[]; dweight: number[]; dpsw: number[] | null;
}

const ints = (v: number[] | number[][]) => cc.tensor(Int32Array.from(v.flat()), { dtype: 'int32', shape: Array.isArray(v[0]) ? [v.length, (v[0] as number[]).length] : [v.length] });

describe('F.embeddingBag and nn.EmbeddingBag', () => {
  describe('against PyTorch 1.13 (float64 fixture: outputs and gradients)', () => {
    for (const c of loadFixture<{ cases: Case[] }>('embedding_bag').cases) {
      const extras = ['psw', 'include_last_offset', 'padding_idx', 'max_norm', 'scale_grad_by_freq'].filter((k) => c[k as keyof Case] !== undefined && c[k as keyof Case] !== false);
      it(`${c.mode}, input ${JSON.stringify(c.input)}${c.offsets ? `, offsets ${JSON.stringify(c.offsets)}` : ''}${extras.length ? `, ${extras.join(', ')}` : ''}`, () => {
        const weight = cc.tensor(hashed(c.V * c.D, 1, 1), { shape: [c.V, c.D] });
        weight.requiresGrad = true;
        const x = ints(c.input);
        const psw = c.psw ? cc.tensor(hashed(x.size, 2, 1), { shape: x.shape }) : null;
        if (psw) psw.requiresGrad = true;
        const options = {
          mode: c.mode, perSampleWeights: psw, includeLastOffset: c.include_last_offset, paddingIdx: c.padding_idx,
          maxNorm: c.max_norm, normType: c.norm_type, scaleGradByFreq: c.scale_grad_by_freq,
        };
        const offsets = c.offsets ? cc.tensor(Int32Array.from(c.offsets), { dtype: 'int32' }) : null;
        const y = F.embeddingBag(x, weight, offsets, options);
        expect(y.shape).to.deep.equal(c.outputShape);
        expectClose(y.dataSync(), c.output, 1e-5, 1e-6, 'output');
        expectClose(weight.dataSync(), c.weightAfter, 1e-5, 1e-6, 'weight after maxNorm');
        cc.sum(cc.mul(y, cc.tensor(hashed(y.size, 3, 1), { shape: y.shape }))).backward();
        expectClose(weight.grad!.dataSync(), c.dweight, 1e-5, 1e-6, 'dweight');
        if (c.dpsw) expectClose(psw!.grad!.dataSync(), c.dpsw, 1e-5, 1e-6, 'dpsw');
        // The module gives the same bits (offsets as numbers too).
        const { perSampleWeights: _, ...rest } = options;
        const bag = nn.EmbeddingBag.fromPretrained(cc.tensor(hashed(c.V * c.D, 1, 1), { shape: [c.V, c.D] }), rest);
        expectBitIdentical(cc.noGrad(() => bag.call(x, c.offsets, psw)).dataSync() as Float32Array, y.dataSync() as Float32Array, 'module');
        bag.dispose();
        for (const t of [weight, x, psw, offsets, y]) t?.dispose();
      });
    }
  });

  it('gradients through the tape match finite differences (every mode, padding, an empty bag, per-sample weights)', () => {
    const x = ints([1, 2, 4, 0, 4, 3, 2, 5, 1]);
    const offsets = [0, 3, 3, 6];   // bag 1 is empty
    for (const mode of ['sum', 'mean', 'max'] as const) {
      tapeCheck(`embeddingBag ${mode}`, [{ shape: [6, 3] }], ([w]) => F.embeddingBag(x, w, offsets, { mode, paddingIdx: 0 }));
    }
    tapeCheck('embeddingBag sum, perSampleWeights', [{ shape: [6, 3] }, { shape: [9] }],
      ([w, psw]) => F.embeddingBag(x, w, offsets, { mode: 'sum', perSampleWeights: psw, paddingIdx: 0 }));
    tapeCheck('embeddingBag mean, 2-D input', [{ shape: [6, 3] }], ([w]) => F.embeddingBag(ints([[1, 2, 2], [5, 0, 3]]), w));
  });

  it('nn.EmbeddingBag: PyTorch\'s initialisation, arguments, repr and config', async () => {
    cc.manualSeed(0);
    const bag = new nn.EmbeddingBag(10, 3, 1.0, 2, false, 'sum', { paddingIdx: 0, includeLastOffset: true });
    expect(`${bag.typeName}(${bag.extraRepr()})`).to.equal('EmbeddingBag(10, 3, max_norm=1, mode=sum, include_last_offset=True, padding_idx=0)');
    expect(Array.from(bag.weight.dataSync().slice(0, 3))).to.deep.equal([0, 0, 0]);
    const w = bag.weight.dataSync();
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    expect(Math.abs(mean)).to.be.below(1);
    expect(bag.config()).to.deep.equal([10, 3, { mode: 'sum', paddingIdx: 0, maxNorm: 1, includeLastOffset: true }]);
    expect(new nn.EmbeddingBag(4, 2).mode).to.equal('mean');
    // A 2-D input: bags of one length; the weight's gradient reaches the picked rows.
    const plain = new nn.EmbeddingBag(5, 2, { mode: 'max' });
    const y = plain.call(ints([[1, 2], [3, 3]]));
    expect(y.shape).to.deep.equal([2, 2]);
    cc.sum(y).backward();
    const g = plain.weight.grad!.dataSync();
    expect(g[0] + g[1] + g[8] + g[9]).to.equal(0);   // rows 0 and 4: not picked
    expect(g[6] + g[7]).to.equal(2);                  // row 3, twice in its bag: the first maximum alone
    // Frozen by default when pretrained.
    expect(nn.EmbeddingBag.fromPretrained(cc.ones([3, 2])).weight.requiresGrad).to.equal(false);
    bag.dispose(); plain.dispose();
    await settle();
  });

  it('refuses bad arguments and inputs with typed errors', () => {
    const w = cc.randn([6, 3]);
    const x = ints([1, 2, 3, 4]);
    expectError(() => F.embeddingBag(ints([[1, 2]]), w, [0]), 'E_ARG', /2-D `input`.*offsets/);
    expectError(() => F.embeddingBag(x, w), 'E_ARG', /needs `offsets`/);
    expectError(() => F.embeddingBag(x, w, [1, 2]), 'E_ARG', /offsets\[0\]/);
    expectError(() => F.embeddingBag(x, w, [0, 3, 2]), 'E_ARG', /non-decreasing/);
    expectError(() => F.embeddingBag(x, w, [0, 5]), 'E_ARG', /within the input/);
    expectError(() => F.embeddingBag(x, w, [0, 2, 3], { includeLastOffset: true }), 'E_ARG', /last offset is the input's length 4/);
    expectError(() => F.embeddingBag(x, w, cc.tensor([0, 2]), {}), 'E_ARG', /int32/);
    expectError(() => F.embeddingBag(x, w, [0], { mode: 'mean', perSampleWeights: cc.ones([4]) }), 'E_ARG', /'sum' only/);
    expectError(() => F.embeddingBag(x, w, [0], { mode: 'sum', perSampleWeights: cc.ones([3]) }), 'E_SHAPE', /perSampleWeights/);
    expectError(() => F.embeddingBag(x, w, [0], { mode: 'max', scaleGradByFreq: true }), 'E_ARG', /frequency/);
    expectError(() => F.embeddingBag(x, w, [0], { mode: 'median' as never }), 'E_ARG', /mode/);
    expectError(() => F.embeddingBag(cc.ones([4]), w, [0]), 'E_DTYPE');
    expectError(() => F.embeddingBag(cc.zeros([1, 1, 1], 'int32'), w), 'E_SHAPE');
    expectError(() => F.embeddingBag(x, w, [0], { sparse: true }), 'E_ARG', /sparse/);
    expectError(() => F.embeddingBag(ints([1, 9]), w, [0]).dataSync(), 'E_INDEX');
    expectError(() => new nn.EmbeddingBag(5, 2, { mode: 'max', scaleGradByFreq: true }), 'E_ARG', /frequency/);
    expectError(() => new nn.EmbeddingBag(0, 2), 'E_ARG');
    expectError(() => new nn.EmbeddingBag(5, 2, { paddingIdx: 5 }), 'E_ARG', /paddingIdx/);
    expectError(() => nn.EmbeddingBag.fromPretrained(cc.ones([3])), 'E_SHAPE');
    // Empty: no bags, or only empty bags.
    expect(F.embeddingBag(ints([]), w, [], {}).shape).to.deep.equal([0, 3]);
    expect(Array.from(F.embeddingBag(ints([]), w, [0, 0], { mode: 'max' }).dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });
});

describeCuda('F.embeddingBag on the GPU', () => {
  it('matches the CPU, gradients included, in every mode', () => {
    const w = randomCpu([9, 4], 1);
    const x = ints([1, 2, 4, 5, 4, 0, 2, 8, 0]);
    for (const mode of ['sum', 'mean', 'max'] as const) {
      compareDevices((table, ...rest) => F.embeddingBag(x.to(table.device), table, [0, 3, 3, 6], { mode, paddingIdx: 0, perSampleWeights: mode === 'sum' ? rest[0] : null }),
        mode === 'sum' ? [w, randomCpu([9], 2)] : [w], { grads: true, what: mode });
    }
    // Mixed devices are refused by class and code.
    expectError(() => F.embeddingBag(x, w.to('cuda'), [0, 3]), 'E_DEVICE');
    expectError(() => F.embeddingBag(x.to('cuda'), w.to('cuda'), [0, 3], { mode: 'sum', perSampleWeights: cc.ones([9]) }), 'E_DEVICE');
  });
});
