/**
 * Sampling (lib/sampling.ts: multinomial, normal, poisson) and the random in-place fills
 * (uniform_, normal_, bernoulli_): seeded reproducibility, the distributions by their statistics
 * (within a few standard errors), the without-replacement rule, normal's reparametrised
 * gradients, typed errors, and the GPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { describeCuda } from './cuda-helpers';
import { expectClose, expectError, tapeCheck } from './helpers';

const stats = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return { mean: m, variance: s / (v.length - 1) };
};

const counts = (v: ArrayLike<number>, n: number) => {
  const c = new Array<number>(n).fill(0);
  for (let i = 0; i < v.length; i++) c[v[i]]++;
  return c;
};

/** Each observed count within 4.5 standard errors of n * p. */
function expectFrequencies(observed: number[], p: number[], n: number, what: string): void {
  p.forEach((pi, i) => {
    const se = Math.sqrt(n * pi * (1 - pi));
    expect(Math.abs(observed[i] - n * pi), `${what}: category ${i}: ${observed[i]} vs ${n * pi}`).to.be.at.most(4.5 * se + 1e-9);
  });
}

describe('multinomial', () => {
  it('with replacement: frequencies match the weights, zero weights never drawn', () => {
    cc.manualSeed(101);
    const w = [1, 2, 3, 4, 0];
    const n = 20000;
    const draws = cc.multinomial(cc.tensor(w), n, { replacement: true });
    expect([draws.dtype, draws.shape]).to.deep.equal(['int32', [n]]);
    const c = counts(draws.dataSync(), 5);
    expect(c[4]).to.equal(0);
    expectFrequencies(c, w.map((v) => v / 10), n, 'replacement');
    // Rows are independent distributions.
    const rows = cc.multinomial(cc.tensor([[0, 0, 1], [0.5, 0.5, 0]]), 4000, { replacement: true }).tolist() as number[][];
    expect(rows[0].every((v) => v === 2)).to.equal(true);
    expectFrequencies(counts(rows[1], 3), [0.5, 0.5, 0], 4000, 'row 1');
  });

  it('without replacement: distinct draws; the first follows the weights, the second the conditional law', () => {
    cc.manualSeed(202);
    const w = [0.1, 0.2, 0.3, 0.4];
    const rows = 20000;
    const probs = cc.tensor(w).reshape([1, 4]).expand([rows, 4]);
    const d = cc.multinomial(probs, 3);
    expect(d.shape).to.deep.equal([rows, 3]);
    const v = d.dataSync();
    const first: number[] = [], second: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = [v[3 * r], v[3 * r + 1], v[3 * r + 2]];
      expect(new Set(row).size, `row ${r}`).to.equal(3);
      first.push(row[0]);
      second.push(row[1]);
    }
    expectFrequencies(counts(first, 4), w, rows, 'first draw');
    // P(second = j) = sum over i != j of p_i p_j / (1 - p_i).
    const p2 = w.map((pj, j) => w.reduce((s, pi, i) => (i === j ? s : s + (pi * pj) / (1 - pi)), 0));
    expectFrequencies(counts(second, 4), p2, rows, 'second draw');
    // All categories: a permutation; zero weights only when nothing else is left is E_ARG.
    expect([...cc.multinomial(cc.tensor([5, 1, 2]), 3).dataSync()].sort()).to.deep.equal([0, 1, 2]);
    expect(cc.multinomial(cc.tensor([0, 3, 0]), 1).tolist()).to.deep.equal([1]);
    expectError(() => cc.multinomial(cc.tensor([0, 3, 0]), 2), 'E_ARG', /nonzero/);
    // The method.
    expect(cc.tensor([1, 1]).multinomial(2).shape).to.deep.equal([2]);
  });

  it('without replacement: the k smallest keys -log(1 - u) / w in order, ties by index (the heap gives the sort\'s draws)', () => {
    // Row r's uniforms are rand's numbers r * C .. r * C + C - 1 (one draw of rows * C). Weights
    // with repeats and zeros; k from 1 to every nonzero weight of a row.
    const rows = 6, cats = 300;
    const w = new Float32Array(rows * cats);
    for (let i = 0; i < w.length; i++) w[i] = i % 7 === 0 ? 0 : 1 + ((i * 37) % 11) / 4;
    const probs = cc.tensor(w, { shape: [rows, cats] });
    for (const k of [1, 17, 100, cats - Math.ceil(cats / 7) - 1]) {
      cc.manualSeed(77 + k);
      const u = cc.rand([rows * cats]).dataSync();
      cc.manualSeed(77 + k);
      const got = cc.multinomial(probs, k).dataSync();
      for (let r = 0; r < rows; r++) {
        const key = (c: number) => (w[r * cats + c] > 0 ? -Math.log(1 - u[r * cats + c]) / w[r * cats + c] : Infinity);
        const order = Array.from({ length: cats }, (_, c) => c).sort((a, b) => key(a) - key(b) || a - b);
        expect(Array.from(got.subarray(r * k, r * k + k)), `k ${k} row ${r}`).to.deep.equal(order.slice(0, k));
      }
    }
  });

  it('is seeded: the same seed gives the same draws', () => {
    const p = cc.tensor([[0.3, 0.3, 0.4], [0.9, 0.05, 0.05]]);
    cc.manualSeed(9);
    const a = cc.multinomial(p, 3).tolist(), b = cc.multinomial(p, 50, { replacement: true }).tolist();
    cc.manualSeed(9);
    expect(cc.multinomial(p, 3).tolist()).to.deep.equal(a);
    expect(cc.multinomial(p, 50, { replacement: true }).tolist()).to.deep.equal(b);
  });

  it('typed errors, input intact', () => {
    const p = cc.tensor([0.2, 0.8]);
    expectError(() => cc.multinomial(p, 3), 'E_ARG', /without replacement/);
    expectError(() => cc.multinomial(p, 0), 'E_ARG');
    expectError(() => cc.multinomial(p, 1.5), 'E_ARG');
    expectError(() => cc.multinomial(p, 1, { replacement: 1 } as never), 'E_ARG');
    expectError(() => cc.multinomial(p, 1, { generator: 1 } as never), 'E_ARG');
    expectError(() => cc.multinomial(cc.tensor([0.5, -0.1]), 1), 'E_ARG', /non-negative/);
    expectError(() => cc.multinomial(cc.tensor([0.5, NaN]), 1), 'E_ARG');
    expectError(() => cc.multinomial(cc.tensor([0.5, Infinity]), 1), 'E_ARG');
    expectError(() => cc.multinomial(cc.tensor([[1, 1], [0, 0]]), 1, { replacement: true }), 'E_ARG', /sums to 0/);
    expectError(() => cc.multinomial(cc.tensor(1), 1), 'E_SHAPE');
    expectError(() => cc.multinomial(cc.ones([2, 2, 2]), 1), 'E_SHAPE');
    expectError(() => cc.multinomial(cc.zeros([3, 0]), 1, { replacement: true }), 'E_SHAPE');
    expectError(() => cc.multinomial(cc.tensor([1, 2], { dtype: 'int32' }), 1), 'E_DTYPE');
    expectError(() => cc.multinomial('p' as never, 1), 'E_ARG');
    expect(p.tolist()).to.deep.equal([0.20000000298023224, 0.800000011920929]);
  });
});

describe('normal', () => {
  it('has the mean and standard deviation asked for, broadcasting tensor and number arguments', () => {
    cc.manualSeed(303);
    const n = 20000;
    const y = cc.normal(cc.full([n], 3), 2);
    const s = stats(y.dataSync());
    expect(Math.abs(s.mean - 3)).to.be.below(4.5 * 2 / Math.sqrt(n));
    expect(Math.abs(Math.sqrt(s.variance) - 2)).to.be.below(0.05);
    const z = stats(cc.normal(-1, 0.5, [n]).dataSync());
    expect(Math.abs(z.mean + 1)).to.be.below(4.5 * 0.5 / Math.sqrt(n));
    expect(Math.abs(Math.sqrt(z.variance) - 0.5)).to.be.below(0.0125);
    const w = stats(cc.normal(2, cc.full([n], 0.1)).dataSync());
    expect(Math.abs(w.mean - 2)).to.be.below(4.5 * 0.1 / Math.sqrt(n));
    expect(cc.normal(cc.zeros([2, 1]), cc.ones([3])).shape).to.deep.equal([2, 3]);
    expect(cc.normal(cc.zeros([2]), cc.zeros([2])).tolist()).to.deep.equal([0, 0]);
    expect(cc.normal(0, 1, []).shape).to.deep.equal([]);
  });

  it('is seeded, and draws what randn draws', () => {
    cc.manualSeed(4);
    const a = cc.normal(cc.zeros([5]), 1).dataSync();
    cc.manualSeed(4);
    expect(cc.normal(cc.zeros([5]), 1).dataSync()).to.deep.equal(a);
    cc.manualSeed(4);
    expect(cc.randn([5]).dataSync()).to.deep.equal(a);
  });

  it('is differentiable by reparametrisation: 1 for mean, eps for std', () => {
    const mean = cc.tensor([1, -2, 0.5], { requiresGrad: true });
    const std = cc.tensor([0.5, 2, 1], { requiresGrad: true });
    cc.manualSeed(12);
    const y = cc.normal(mean, std);
    y.sum().backward();
    expect(mean.grad!.tolist()).to.deep.equal([1, 1, 1]);
    const eps = [0, 1, 2].map((i) => ((y.dataSync()[i] - [1, -2, 0.5][i]) / [0.5, 2, 1][i]));
    expectClose(std.grad!.dataSync(), eps, 1e-5, 1e-5, 'd/dstd');
    tapeCheck('normal', [{ shape: [2, 3] }, { shape: [3], values: Float64Array.from([0.5, 1, 1.5]) }], ([m, s]) => {
      cc.manualSeed(77);
      return cc.normal(m, s);
    });
    tapeCheck('normal number std', [{ shape: [4] }], ([m]) => {
      cc.manualSeed(78);
      return cc.normal(m, 0.3);
    });
  });

  it('typed errors', () => {
    const m = cc.zeros([3]);
    expectError(() => cc.normal(0, 1), 'E_ARG', /shape/);
    expectError(() => cc.normal(0, -1, [2]), 'E_ARG');
    expectError(() => cc.normal(m, -1), 'E_ARG');
    expectError(() => cc.normal(m, cc.tensor([1, -1, 1])), 'E_ARG', />= 0/);
    expectError(() => cc.normal(m, 1, [3]), 'E_ARG');
    expectError(() => cc.normal(m, 1, undefined, { device: 'cpu' }), 'E_ARG');
    expectError(() => cc.normal(0, 1, [2], { device: 'tpu' }), 'E_DEVICE');
    expectError(() => cc.normal(0, 1, [-1]), 'E_SHAPE');
    expectError(() => cc.normal(NaN, 1, [2]), 'E_ARG');
    expectError(() => cc.normal(m, cc.ones([2])), 'E_SHAPE');
    expectError(() => cc.normal(cc.zeros([2], 'int32'), 1), 'E_DTYPE');
    expectError(() => cc.normal('a' as never, 1), 'E_ARG');
    expect(m.tolist()).to.deep.equal([0, 0, 0]);
  });
});

describe('poisson', () => {
  it('has mean and variance equal to the rate, integer counts', () => {
    cc.manualSeed(404);
    const n = 5000;
    for (const rate of [0.5, 3, 11.5, 12, 30, 250]) {
      const v = cc.poisson(cc.full([n], rate)).dataSync();
      for (const k of v) expect(Number.isInteger(k) && k >= 0, `count ${k}`).to.equal(true);
      const s = stats(v);
      expect(Math.abs(s.mean - rate), `rate ${rate} mean ${s.mean}`).to.be.below(4.5 * Math.sqrt(rate / n));
      expect(Math.abs(s.variance / rate - 1), `rate ${rate} variance ${s.variance}`).to.be.below(0.12);
    }
    expect(cc.poisson(cc.zeros([4])).tolist()).to.deep.equal([0, 0, 0, 0]);
    const y = cc.poisson(cc.tensor([[1, 2]], { requiresGrad: true }));
    expect([y.shape, y.dtype, y.requiresGrad]).to.deep.equal([[1, 2], 'float32', false]);
  });

  it('is seeded', () => {
    const r = cc.tensor([0.1, 4, 40, 400]);
    cc.manualSeed(5);
    const a = cc.poisson(r).tolist();
    cc.manualSeed(5);
    expect(cc.poisson(r).tolist()).to.deep.equal(a);
  });

  it('typed errors', () => {
    expectError(() => cc.poisson(cc.tensor([1, -1])), 'E_ARG', /non-negative/);
    expectError(() => cc.poisson(cc.tensor([NaN])), 'E_ARG');
    expectError(() => cc.poisson(cc.tensor([Infinity])), 'E_ARG');
    expectError(() => cc.poisson(cc.tensor([1], { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => cc.poisson(3 as never), 'E_ARG');
  });
});

describe('random in-place fills', () => {
  it('uniform_ and normal_ draw what rand and randn draw, in place', () => {
    cc.manualSeed(8);
    const u = cc.rand([6], -2, 3).dataSync(), g = cc.randn([6], 1, 0.5).dataSync();
    cc.manualSeed(8);
    const x = cc.zeros([2, 3]);
    expect(x.uniform_(-2, 3)).to.equal(x);
    expect(x.dataSync()).to.deep.equal(u);
    expect(x.normal_(1, 0.5)).to.equal(x);
    expect(x.dataSync()).to.deep.equal(g);
  });

  it('have the statistics asked for', () => {
    cc.manualSeed(9);
    const n = 20000;
    const u = stats(cc.zeros([n]).uniform_(2, 4).dataSync());
    expect(Math.abs(u.mean - 3)).to.be.below(4.5 * Math.sqrt(1 / 3 / n));
    expect(Math.abs(u.variance - 1 / 3)).to.be.below(0.02);
    const g = stats(cc.zeros([n]).normal_(-1, 3).dataSync());
    expect(Math.abs(g.mean + 1)).to.be.below(4.5 * 3 / Math.sqrt(n));
    const b = cc.zeros([n]).bernoulli_(0.3).dataSync();
    expect(b.every((v) => v === 0 || v === 1)).to.equal(true);
    expect(Math.abs(stats(b).mean - 0.3)).to.be.below(4.5 * Math.sqrt(0.21 / n));
    const half = cc.zeros([2, n / 2]).bernoulli_(cc.tensor([[0.1], [0.9]])).mean(1).dataSync();
    expect(Math.abs(half[0] - 0.1)).to.be.below(0.02);
    expect(Math.abs(half[1] - 0.9)).to.be.below(0.02);
    const ints = cc.zeros([1000], 'int32').bernoulli_(0.5);
    expect(ints.dtype).to.equal('int32');
    expect(ints.dataSync().every((v) => v === 0 || v === 1)).to.equal(true);
  });

  it('are seeded, and follow the in-place rules', () => {
    cc.manualSeed(10);
    const a = cc.zeros([5]).bernoulli_(0.5).tolist();
    cc.manualSeed(10);
    expect(cc.zeros([5]).bernoulli_(0.5).tolist()).to.deep.equal(a);
    const w = cc.zeros([3], { requiresGrad: true });
    expectError(() => w.normal_(), 'E_STATE');
    expectError(() => w.bernoulli_(), 'E_STATE');
    cc.noGrad(() => w.normal_());
    expect(w.requiresGrad).to.equal(true);
    expectError(() => w.mul(1).uniform_(), 'E_STATE');
  });
});

describeCuda('sampling on the GPU', () => {
  it('puts the draws on the input device (the same draws as on the CPU where drawn on the CPU)', () => {
    const p = cc.tensor([[0.2, 0.3, 0.5], [1, 0, 1]]);
    cc.manualSeed(21);
    const cpu = cc.multinomial(p, 2).tolist();
    cc.manualSeed(21);
    const gpu = cc.multinomial(p.to('cuda'), 2);
    expect([gpu.device, gpu.to('cpu').tolist()]).to.deep.equal(['cuda', cpu]);
    cc.manualSeed(22);
    const pc = cc.poisson(cc.tensor([1, 50])).tolist();
    cc.manualSeed(22);
    const pg = cc.poisson(cc.tensor([1, 50], { device: 'cuda' }));
    expect([pg.device, pg.to('cpu').tolist()]).to.deep.equal(['cuda', pc]);
    const m = cc.zeros([4000], { device: 'cuda', requiresGrad: true });
    const y = cc.normal(m, 2);
    expect(y.device).to.equal('cuda');
    const s = stats(y.to('cpu').dataSync());
    expect(Math.abs(s.mean)).to.be.below(4.5 * 2 / Math.sqrt(4000));
    y.sum().backward();
    expect(m.grad!.device).to.equal('cuda');
    expect(cc.normal(0, 1, [3], { device: 'cuda' }).device).to.equal('cuda');
    const x = cc.zeros([1000], { device: 'cuda' });
    x.uniform_(0, 1);
    x.normal_();
    x.bernoulli_(0.25);
    x.bernoulli_(cc.full([1000], 0.25, { device: 'cuda' }));
    expect(x.device).to.equal('cuda');
    expect(Math.abs(stats(x.to('cpu').dataSync()).mean - 0.25)).to.be.below(0.07);
  });
});
