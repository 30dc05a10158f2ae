// Probout (F.probout, nn.Probout): the expectation against a float64 reference with its
// gradient, the draws' frequencies against the probabilities, the gradient to the drawn piece,
// dropout, seeding, errors, and the GPU beside the CPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;

/** Σ softmax(λ z) z over each group of k channels of x [N, C, S] (flattened spatial S). */
function expectation(v: Float64Array, [N, C, S]: number[], k: number, lambda: number): number[] {
  const y: number[] = [];
  for (let n = 0; n < N; n++) for (let g = 0; g < C / k; g++) for (let s = 0; s < S; s++) {
    const z = Array.from({ length: k }, (_, i) => v[(n * C + g * k + i) * S + s]);
    const m = Math.max(...z), e = z.map((q) => Math.exp(lambda * (q - m))), total = e.reduce((a, b) => a + b, 0);
    y.push(z.reduce((acc, q, i) => acc + (e[i] / total) * q, 0));
  }
  return y;
}

describe('probout', () => {
  it('evaluation: the expectation Σ softmax(λ z) z, halved with dropout; large λ is maxout', () => {
    const { t, v } = randomTensor([2, 6, 3, 2], 1, -2, 2);
    for (const lambda of [1, 0.3, 4]) expectClose(F.probout(t, 3, { lambda }).dataSync(), expectation(v, [2, 6, 6], 3, lambda), 1e-5, 1e-6, `λ ${lambda}`);
    expectClose(F.probout(t, 2, { dropout: true }).dataSync(), expectation(v, [2, 6, 6], 2, 1).map((q) => q / 2), 1e-5, 1e-6, 'dropout');
    expectClose(F.probout(t, 3, { lambda: 1e4 }).dataSync(), F.maxout(t, 3).dataSync(), 1e-5, 1e-5, 'maxout');
    expect(F.probout(randomTensor([4, 8], 2).t, 4).shape).to.deep.equal([4, 2]);
  });

  it('evaluation has the exact gradient', () => {
    tapeCheck('probout eval', [{ shape: [2, 4, 3] }], ([x]) => F.probout(x, 2, { lambda: 1.5 }));
    tapeCheck('probout eval dropout', [{ shape: [1, 6] }], ([x]) => F.probout(x, 3, { dropout: true }));
  });

  it('training draws each piece with probability softmax(λ z) and sends the gradient to it alone', () => {
    cc.manualSeed(7);
    const z = [0.5, -0.3, 1.2], lambda = 1.3, positions = 20000;
    const x = cc.tensor(Array.from({ length: 3 * positions }, (_, i) => z[Math.floor(i / positions)]), { shape: [1, 3, positions], requiresGrad: true });
    const y = F.probout(x, 3, { lambda, training: true });
    const out = Array.from(y.dataSync());
    const e = z.map((q) => Math.exp(lambda * q)), total = e.reduce((a, b) => a + b, 0);
    z.forEach((q, i) => {
      const seen = out.filter((o) => o === Math.fround(q)).length / positions;
      expect(Math.abs(seen - e[i] / total), `piece ${i}: ${seen} against ${e[i] / total}`).to.be.below(0.015);
    });
    expect(out.every((o) => z.map(Math.fround).includes(o))).to.equal(true);
    y.sum().backward();
    const g = Array.from(x.grad!.dataSync());
    for (let s = 0; s < positions; s++) {
      const picked = [0, 1, 2].filter((i) => g[i * positions + s] === 1);
      expect(picked.length).to.equal(1);
      expect(Math.fround(z[picked[0]])).to.equal(out[s]);
    }
  });

  it('training with dropout outputs 0 half the time; the same seed draws the same', () => {
    const { t } = randomTensor([4, 4, 50], 3);
    cc.manualSeed(11);
    const a = F.probout(t, 2, { training: true, dropout: true }).dataSync();
    const zeros = Array.from(a).filter((q) => q === 0).length / a.length;
    expect(Math.abs(zeros - 0.5)).to.be.below(0.06);
    cc.manualSeed(11);
    expectBitIdentical(F.probout(t, 2, { training: true, dropout: true }).dataSync(), a, 'seeded');
  });

  it('NaN and infinities: a NaN group gives NaN (drawn first), +inf gives +inf, -inf is never drawn', () => {
    const x = cc.tensor([[NaN, 1, 2, Infinity, -Infinity, 3, -Infinity, -Infinity]]).reshape([1, 8, 1]);
    const e = Array.from(F.probout(x, 2).dataSync());
    expect(Number.isNaN(e[0])).to.equal(true);
    expect(e.slice(1)).to.deep.equal([Infinity, 3, -Infinity]);
    const g = cc.tensor([[-Infinity, 3]], { requiresGrad: true });
    F.probout(g, 2).backward(cc.ones([1, 1]));
    expect(Array.from(g.grad!.dataSync())).to.deep.equal([0, 1]);   // no 0 * inf
    for (let seed = 0; seed < 20; seed++) {
      cc.manualSeed(seed);
      const t = Array.from(F.probout(x, 2, { training: true }).dataSync());
      expect(Number.isNaN(t[0])).to.equal(true);
      expect(t.slice(1)).to.deep.equal([Infinity, 3, -Infinity]);
    }
  });

  it('the same bits for 1 and 2 threads, training and evaluation, with gradients', () => {
    const { t } = randomTensor([8, 6, 40, 30], 9);
    const dy = randomTensor([8, 2, 40, 30], 10).t;
    const runs: Float32Array[][] = [];
    for (const n of [1, 2]) {
      cc.setNumThreads(n);
      const out: Float32Array[] = [];
      for (const training of [false, true]) {
        cc.manualSeed(4);
        const x = t.detach();
        x.requiresGrad = true;
        const y = F.probout(x, 3, { training, dropout: true, lambda: 0.7 });
        y.backward(dy);
        out.push(y.dataSync(), x.grad!.dataSync());
      }
      runs.push(out);
    }
    cc.setNumThreads(require('os').cpus().length);
    runs[1].forEach((a, i) => expectBitIdentical(a, runs[0][i], `run ${i}`));
  });

  it('empty batches and empty positions give empty outputs and gradients, in both modes', () => {
    for (const shape of [[0, 4, 3], [2, 4, 0], [0, 4]]) {
      for (const training of [false, true]) {
        const x = cc.zeros(shape, { requiresGrad: true });
        const y = F.probout(x, 2, { training, dropout: training });
        expect(y.shape).to.deep.equal([shape[0], 2, ...shape.slice(2)]);
        y.sum().backward();
        expect(x.grad!.shape).to.deep.equal(shape);
      }
    }
  });

  it('the module follows train and eval, saves its options and prints them', () => {
    const m = new nn.Probout(2, { lambda: 3 });
    const { t, v } = randomTensor([1, 4, 5], 4);
    m.eval();
    expectClose(m.call(t).dataSync(), expectation(v, [1, 4, 5], 2, 3), 1e-5, 1e-6, 'eval');
    m.train();
    cc.manualSeed(5);
    const drawn = m.call(t).dataSync();
    cc.manualSeed(5);
    expectBitIdentical(drawn, F.probout(t, 2, { lambda: 3, training: true }).dataSync(), 'train');
    expect(m.toString()).to.contain('Probout(pieces=2, lambda=3)');
  });

  it('refuses bad arguments by class and code', () => {
    expectError(() => F.probout(cc.zeros([2, 5]), 2), 'E_SHAPE', /probout: the 5 channels of x \[2, 5\] are not divisible by pieces = 2/);
    expectError(() => F.probout(cc.zeros([4]), 2), 'E_SHAPE', /probout: expected `x` of shape \[N, C, \.\.\.\]/);
    expectError(() => F.probout(cc.zeros([2, 4]), 0), 'E_ARG', /probout: /);
    expectError(() => F.probout(cc.zeros([2, 4]), 2, { lambda: 0 }), 'E_ARG', /expected `lambda` > 0/);
    expectError(() => F.probout(cc.zeros([2, 4]), 2, { temperature: 1 } as unknown as cc.F.ProboutOptions), 'E_ARG', /probout: /);
    expectError(() => F.probout(cc.zeros([2, 4], 'int32'), 2), 'E_DTYPE', /probout: /);
    expectError(() => new nn.Probout(2, { lambda: -1 }), 'E_ARG', /Probout: expected `lambda` > 0/);
  });
});

describeCuda('probout on the GPU', () => {
  it('matches the CPU: the expectation with its gradient, and the same draws for the same seed', () => {
    const x = randomCpu([2, 6, 5, 4], 1);
    compareDevices((t) => F.probout(t, 3, { lambda: 2 }), [x], { bound: 1e-5, grads: true, what: 'probout eval' });
    cc.manualSeed(3);
    const cpu = F.probout(x, 3, { training: true, dropout: true }).dataSync();
    cc.manualSeed(3);
    expectBitIdentical(F.probout(x.to('cuda'), 3, { training: true, dropout: true }).dataSync(), cpu, 'probout draws');
  });
});
