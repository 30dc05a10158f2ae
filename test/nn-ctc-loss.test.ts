/**
 * F.ctcLoss and nn.CTCLoss: against a float64 sum over every alignment written out (each path of
 * T frames, collapsed), gradients by finite differences (the derivative with respect to
 * logProbs itself), infinite losses and zeroInfinity, a sequence learnt to be spelt, and typed
 * refusals. (PyTorch itself is compared in scripts/diff-torch.ts, through a log-softmax.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, tapeCheck } from './helpers';

const { F, nn } = cc;

/** -log of the summed probability of every path of T frames that collapses to `target`, in float64. */
function bruteNll(lp: Float64Array, T: number, N: number, C: number, n: number, frames: number, target: number[], blank: number): number {
  let total = 0;
  const path = new Array<number>(frames).fill(0);
  const visit = (t: number, logp: number): void => {
    if (t === frames) {
      const spelt: number[] = [];
      path.forEach((c, i) => { if (c !== blank && (i === 0 || path[i - 1] !== c)) spelt.push(c); });
      if (spelt.length === target.length && spelt.every((c, i) => c === target[i])) total += Math.exp(logp);
      return;
    }
    for (let c = 0; c < C; c++) {
      path[t] = c;
      visit(t + 1, logp + lp[(t * N + n) * C + c]);
    }
  };
  visit(0, 0);
  return -Math.log(total);
}

/** A log-softmax over classes of random values, in float64 and as a float32 tensor. */
function logProbs(T: number, N: number, C: number, seed: number): { t: cc.Tensor<'float32'>; v: Float64Array } {
  const t = F.logSoftmax(cc.mul(randomCpu([T, N, C], seed), 2), 2);
  return { t, v: Float64Array.from(t.dataSync()) };
}

describe('F.ctcLoss', () => {
  it('is -log of the probability summed over every alignment (float64, all paths), padded and concatenated targets, any blank', () => {
    const [T, N, C] = [5, 3, 3];
    const { t: lp, v } = logProbs(T, N, C, 1);
    for (const blank of [0, 2]) {
      const labels = blank === 0 ? [[1, 2], [2, 2, 1], [1]] : [[0, 1], [1, 1, 0], [0]];
      const frames = [5, 5, 3];
      const ref = labels.map((l, n) => bruteNll(v, T, N, C, n, frames[n], l, blank));
      const padded = cc.tensor(labels.map((l) => [...l, ...new Array(3 - l.length).fill(blank === 0 ? 1 : 0)]), { dtype: 'int32' });
      const flat = cc.tensor(labels.flat(), { dtype: 'int32' });
      for (const targets of [padded, flat]) {
        const none = F.ctcLoss(lp, targets, frames, labels.map((l) => l.length), { blank, reduction: 'none' });
        expectClose(none.dataSync(), ref, 1e-5, 1e-6, `blank ${blank}, targets ${targets.shape}`);
        expectClose([F.ctcLoss(lp, targets, frames, labels.map((l) => l.length), { blank, reduction: 'sum' }).item()], [ref[0] + ref[1] + ref[2]], 1e-5, 1e-6, 'sum');
        // 'mean': each loss over its target length, then the batch mean (PyTorch's)
        const mean = (ref[0] / 2 + ref[1] / 3 + ref[2] / 1) / 3;
        expectClose([F.ctcLoss(lp, targets, cc.tensor(frames, { dtype: 'int32' }), cc.tensor(labels.map((l) => l.length), { dtype: 'int32' }), { blank }).item()], [mean], 1e-5, 1e-6, 'mean');
      }
    }
  });

  it('long targets (many vector lanes a frame): the loss as a float64 recursion, and each frame\'s posteriors summing to 1', () => {
    const [T, N, C] = [60, 3, 7];
    const { t: lp, v } = logProbs(T, N, C, 6);
    const lengths = [25, 29, 0], frames = [60, 59, 41];
    const labels = lengths.map((L, n) => Array.from({ length: L }, (_, i) => 1 + ((i * 5 + n + (i % 3 === 0 ? 0 : 1)) % (C - 1))));
    const ref = labels.map((l, n) => {
      // the forward recursion in float64, log space
      const ext = [0, ...l.flatMap((c) => [c, 0])], S = ext.length;
      const lse = (...xs: number[]) => { const m = Math.max(...xs); return m === -Infinity ? m : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0)); };
      let alpha = ext.map((c, s) => (s < 2 ? v[n * C + c] : -Infinity));
      for (let t = 1; t < frames[n]; t++) {
        alpha = ext.map((c, s) => lse(alpha[s], s > 0 ? alpha[s - 1] : -Infinity, s > 1 && c !== 0 && c !== ext[s - 2] ? alpha[s - 2] : -Infinity) + v[(t * N + n) * C + c]);
      }
      return -lse(alpha[S - 1], S > 1 ? alpha[S - 2] : -Infinity);
    });
    const x = lp.clone().requiresGrad_();
    const targets = cc.tensor(labels.flat(), { dtype: 'int32' });
    const loss = F.ctcLoss(x, targets, frames, lengths, { reduction: 'none' });
    expectClose(loss.dataSync(), ref, 2e-5, 1e-5, 'long targets');
    loss.sum().backward();
    const g = x.grad!.dataSync();
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        let total = 0;
        for (let c = 0; c < C; c++) total -= g[(t * N + n) * C + c];
        expect(Math.abs(total - (t < frames[n] ? 1 : 0)), `sample ${n} frame ${t}`).to.be.below(1e-4);
      }
    }
  });

  it('takes one unbatched sample ([T, C], [S], lengths as numbers), an empty target, and the longest alignment (repeats need blanks between)', () => {
    const [T, C] = [4, 3];
    const { t: lp, v } = logProbs(T, 1, C, 2);
    const one = F.ctcLoss(lp.reshape([T, C]), cc.tensor([1, 1], { dtype: 'int32' }), T, 2, { reduction: 'none' });
    expect(one.shape).to.deep.equal([]);
    expectClose([one.item()], [bruteNll(v, T, 1, C, 0, T, [1, 1], 0)], 1e-5, 1e-6, 'unbatched');
    // An empty target: every frame blank.
    const empty = F.ctcLoss(lp, cc.zeros([1, 0], { dtype: 'int32' }), [T], [0], { reduction: 'sum' });
    expectClose([empty.item()], [-(v[0] + v[3] + v[6] + v[9])], 1e-5, 1e-6, 'empty target');
    // 1, blank, 1 needs 3 frames; 1, 1, 1 in 4 frames has no alignment: inf.
    expect(F.ctcLoss(lp, cc.tensor([[1, 1, 1]], { dtype: 'int32' }), [4], [3], { reduction: 'sum' }).item()).to.equal(Infinity);
    expect(Number.isFinite(F.ctcLoss(lp, cc.tensor([[1, 1]], { dtype: 'int32' }), [3], [2], { reduction: 'sum' }).item())).to.equal(true);
  });

  it('has the derivative of the definition with respect to logProbs (finite differences), and through a log-softmax', () => {
    const targets = cc.tensor([[1, 2, 2], [2, 1, 0]], { dtype: 'int32' });
    tapeCheck('ctcLoss', [{ shape: [6, 2, 3] }], ([x]) => F.ctcLoss(x, targets, [6, 5], [3, 2], { reduction: 'sum' }), { h: 1e-3 });
    tapeCheck('ctcLoss through logSoftmax', [{ shape: [6, 2, 4] }], ([x]) => F.ctcLoss(F.logSoftmax(x, 2), targets, [6, 4], [3, 2]), { h: 1e-3 });
  });

  it('an impossible target: inf with NaN gradients, or with zeroInfinity 0 and zero gradients (the others untouched)', () => {
    const x = randomCpu([3, 2, 3], 4).requiresGrad_();
    const targets = cc.tensor([[1, 1, 1], [1, 2, 0]], { dtype: 'int32' });
    const loss = F.ctcLoss(x, targets, [3, 3], [3, 2], { reduction: 'none' });
    expect(loss.dataSync()[0]).to.equal(Infinity);
    loss.sum().backward();
    const g = x.grad!.reshape([3, 2, 3]).dataSync();
    expect([0, 1, 2].every((i) => Number.isNaN(g[i]))).to.equal(true);   // sample 0, frame 0
    const y = randomCpu([3, 2, 3], 4).requiresGrad_();
    const zeroed = F.ctcLoss(y, targets, [3, 3], [3, 2], { reduction: 'none', zeroInfinity: true });
    expect(zeroed.dataSync()[0]).to.equal(0);
    expectClose([zeroed.dataSync()[1]], [loss.dataSync()[1]], 0, 0, 'the other sample');
    zeroed.sum().backward();
    const gz = y.grad!.dataSync();
    for (let t = 0; t < 3; t++) for (let c = 0; c < 3; c++) expect(gz[(t * 2) * 3 + c]).to.equal(0);
    expect(Array.from(gz).every(Number.isFinite)).to.equal(true);
  });

  it('learns to spell a sequence: per-frame logits trained by Adam decode (best path) to the target', () => {
    cc.manualSeed(5);
    const [T, C] = [8, 4];
    const logits = new nn.Parameter(cc.mul(cc.randn([T, 1, C]), 0.1));
    const opt = new cc.optim.Adam([logits], { lr: 0.1 });
    const ctc = new nn.CTCLoss();
    const target = cc.tensor([[3, 1, 1, 2]], { dtype: 'int32' });
    let first = 0, last = 0;
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = ctc.call(F.logSoftmax(logits, 2), target, [T], [4]);
      if (step === 0) first = loss.item();
      last = loss.item();
      loss.backward();
      opt.step();
    }
    expect(last).to.be.below(first / 10);
    const best = Array.from(cc.argmax(logits.reshape([T, C]), 1).dataSync());
    const spelt = best.filter((c, i) => c !== 0 && (i === 0 || best[i - 1] !== c));
    expect(spelt).to.deep.equal([3, 1, 1, 2]);
  });

  it('refuses bad arguments with typed errors (lengths and labels when the kernel runs, on reading)', () => {
    const lp = cc.zeros([4, 2, 3]), targets = cc.tensor([[1, 2], [2, 1]], { dtype: 'int32' });
    expectError(() => F.ctcLoss(cc.zeros([4, 2, 3, 1]), targets, [4, 4], [2, 2]), 'E_SHAPE', /\[T, N, C\]/);
    expectError(() => F.ctcLoss(lp, cc.zeros([3, 2], { dtype: 'int32' }), [4, 4], [2, 2]), 'E_SHAPE', /targets/);
    expectError(() => F.ctcLoss(lp, cc.cast(targets, 'float32') as never, [4, 4], [2, 2]), 'E_DTYPE', /targets/);
    expectError(() => F.ctcLoss(lp, targets, [4], [2, 2]), 'E_ARG', /inputLengths/);
    expectError(() => F.ctcLoss(lp, targets, [4, 4], [2, -1]), 'E_ARG', /targetLengths/);
    expectError(() => F.ctcLoss(lp, targets, cc.tensor([4, 4]) as never, [2, 2]), 'E_DTYPE', /inputLengths/);
    expectError(() => F.ctcLoss(lp, targets, [4, 4], [2, 2], { blank: 3 }), 'E_ARG', /blank/);
    expectError(() => F.ctcLoss(lp, targets, [4, 4], [2, 2], { reduction: 'batchmean' as never }), 'E_ARG', /reduction/);
    expectError(() => F.ctcLoss(lp, targets, [4, 4], [2, 2], { zeroInf: true } as never), 'E_ARG', /unknown option/);
    expectError(() => F.ctcLoss(lp, targets, [5, 4], [2, 2]).dataSync(), 'E_ARG', /inputLengths\[0\] = 5 is outside \[0, 4\]/);
    expectError(() => F.ctcLoss(lp, targets, [4, 4], [3, 2]).dataSync(), 'E_ARG', /longer than the targets' rows/);
    expectError(() => F.ctcLoss(lp, cc.tensor([[1, 0], [2, 1]], { dtype: 'int32' }), [4, 4], [2, 2]).dataSync(), 'E_INDEX', /target 0 at position 1.*blank/);
    expectError(() => F.ctcLoss(lp, cc.tensor([1, 2, 5], { dtype: 'int32' }), [4, 4], [1, 2]).dataSync(), 'E_INDEX', /target 5 at position 2/);
    expectError(() => F.ctcLoss(lp, cc.tensor([1, 2], { dtype: 'int32' }), [4, 4], [1, 2]).dataSync(), 'E_ARG', /add up to more than the 2 targets/);
  });

  it('nn.CTCLoss takes PyTorch\'s positional arguments and prints them', () => {
    const m = new nn.CTCLoss(2, 'sum', true);
    expect(m.options).to.deep.equal({ blank: 2, reduction: 'sum', zeroInfinity: true });
    expect(m.toString()).to.contain('blank');
    expectError(() => new nn.CTCLoss(0, 'mean', true, 3 as never), 'E_ARG', /positional/);
  });
});

describeCuda('F.ctcLoss on the GPU (through the CPU kernel)', () => {
  it('gives the CPU\'s loss and gradients', () => {
    const targets = cc.tensor([[1, 2, 2], [2, 1, 0]], { dtype: 'int32' });
    compareDevices((x) => F.ctcLoss(F.logSoftmax(x, 2), targets.to(x.device), [6, 5], [3, 2]), [randomCpu([6, 2, 4], 9)], { grads: true, what: 'ctcLoss' });
  });
});
