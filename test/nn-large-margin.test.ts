// L-Softmax (F.largeMarginLogits, nn.LargeMarginLinear): against a float64 reference that uses
// the angle itself (arccos, floor(mθ/π)), margin 1 as the plain logits, gradients by finite
// differences, training a small problem, errors, and the GPU beside the CPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, expectRejects, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;

function reference(x: Float64Array, w: Float64Array, target: number[], [N, D, C]: number[], m: number, beta: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < N; n++) for (let j = 0; j < C; j++) {
    let dot = 0, xx = 0, ww = 0;
    for (let d = 0; d < D; d++) {
      dot += x[n * D + d] * w[j * D + d];
      xx += x[n * D + d] ** 2;
      ww += w[j * D + d] ** 2;
    }
    if (j !== target[n]) { out.push(dot); continue; }
    const len = Math.sqrt(xx * ww), c = Math.max(-1, Math.min(1, dot / len)), theta = Math.acos(c);
    const k = Math.min(m - 1, Math.floor((m * theta) / Math.PI));
    const psi = (k % 2 === 0 ? 1 : -1) * Math.cos(m * theta) - 2 * k;
    out.push((len * (beta * c + psi)) / (1 + beta));
  }
  return out;
}

describe('largeMarginLogits (L-Softmax)', () => {
  const [N, D, C] = [12, 5, 4];
  const { t: x, v: xv } = randomTensor([N, D], 1);
  const { t: w, v: wv } = randomTensor([C, D], 2);
  const labels = Array.from({ length: N }, (_, i) => (i * 7) % C);
  const target = cc.tensor(Int32Array.from(labels), { dtype: 'int32' });

  it('matches the definition for margins 1 to 4, with and without annealing; margin 1 is the plain logits', () => {
    for (const m of [1, 2, 3, 4]) {
      for (const beta of [0, 5]) {
        expectClose(F.largeMarginLogits(x, w, target, { margin: m, beta }).dataSync(), reference(xv, wv, labels, [N, D, C], m, beta), 2e-5, 2e-6, `m ${m} β ${beta}`);
      }
    }
    expectClose(F.largeMarginLogits(x, w, target, { margin: 1 }).dataSync(), F.linear(x, w).dataSync(), 1e-5, 1e-6, 'm 1');
    // The true logit never exceeds the plain one: the margin makes the true class harder to win.
    const plain = F.linear(x, w).dataSync(), large = F.largeMarginLogits(x, w, target, { margin: 3 }).dataSync();
    labels.forEach((l, n) => expect(large[n * C + l]).to.be.at.most(plain[n * C + l] + 1e-6));
  });

  it('gradients to x and weight match finite differences (away from the thresholds)', () => {
    tapeCheck('largeMarginLogits', [{ shape: [4, 3] }, { shape: [3, 3] }],
      ([a, b]) => F.largeMarginLogits(a, b, cc.tensor(Int32Array.from([0, 2, 1, 2]), { dtype: 'int32' }), { margin: 3, beta: 1 }), { h: 1e-3 });
  });

  it('a zero feature gives finite logits and gradients', () => {
    const z = cc.zeros([1, 5], { requiresGrad: true });
    const y = F.largeMarginLogits(z, w, cc.tensor(Int32Array.from([1]), { dtype: 'int32' }), { margin: 4 });
    y.sum().backward();
    expect(Array.from(y.dataSync()).every(Number.isFinite)).to.equal(true);
    expect(Array.from(z.grad!.dataSync()).every(Number.isFinite)).to.equal(true);
  });

  it('trains: the module separates three classes, and predicts with plain logits', () => {
    cc.manualSeed(1);
    const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
    const pts: number[] = [], ys: number[] = [];
    const { v: noise } = randomTensor([90, 2], 3, -0.6, 0.6);
    for (let i = 0; i < 90; i++) { pts.push(centers[i % 3][0] + noise[2 * i], centers[i % 3][1] + noise[2 * i + 1]); ys.push(i % 3); }
    const feats = cc.tensor(pts, { shape: [90, 2] }), lab = cc.tensor(Int32Array.from(ys), { dtype: 'int32' });
    const head = new nn.LargeMarginLinear(2, 3, { margin: 2, beta: 10 });
    const opt = new cc.optim.SGD(head.parameters(), { lr: 0.1, momentum: 0.9 });
    const ce = new nn.CrossEntropyLoss();
    for (let step = 0; step < 60; step++) {
      cc.tidy(() => {
        opt.zeroGrad();
        ce.call(head.call(feats, lab), lab).backward();
        opt.step();
      });
      head.beta = Math.max(0, head.beta * 0.9);
    }
    const predicted = cc.argmax(head.call(feats), 1).dataSync();
    expect(Array.from(predicted).filter((p, i) => p === ys[i]).length).to.be.at.least(88);
    expect(head.toString()).to.contain('LargeMarginLinear(in_features=2, num_classes=3, margin=2');
  });

  it('an empty batch gives [0, C] logits; a NaN feature gives a NaN row only', () => {
    expect(F.largeMarginLogits(cc.zeros([0, D]), w, cc.tensor(new Int32Array(0), { dtype: 'int32' })).shape).to.deep.equal([0, C]);
    const xs = cc.tensor([[NaN, 1, 1, 1, 1], [1, 2, 3, 4, 5]]);
    const y = Array.from(F.largeMarginLogits(xs, w, cc.tensor(Int32Array.from([0, 1]), { dtype: 'int32' }), { margin: 2 }).dataSync());
    expect(y.slice(0, C).every(Number.isNaN)).to.equal(true);
    expect(y.slice(C).every(Number.isFinite)).to.equal(true);
  });

  it('refuses bad arguments by class and code; a label out of range is E_INDEX at the next wait', async () => {
    expectError(() => F.largeMarginLogits(x, w, cc.zeros([N]) as unknown as cc.Tensor), 'E_DTYPE', /largeMarginLogits: expected `target` of dtype int32/);
    expectError(() => F.largeMarginLogits(x, cc.zeros([C, D + 1]), target), 'E_SHAPE', /expected `weight` of shape \[C, 5\]/);
    expectError(() => F.largeMarginLogits(cc.zeros([N, D, 1]), w, target), 'E_SHAPE', /expected `x` of shape \[N, D\]/);
    expectError(() => F.largeMarginLogits(x, w, target.narrow(0, 0, 3)), 'E_SHAPE', /expected `target` of shape \[12\]/);
    expectError(() => F.largeMarginLogits(x, w, target, { margin: 0 }), 'E_ARG', /largeMarginLogits: /);
    expectError(() => F.largeMarginLogits(x, w, target, { beta: -1 }), 'E_ARG', /expected `beta` >= 0/);
    expectError(() => F.largeMarginLogits(x, w, target, { m: 2 } as unknown as cc.F.LargeMarginOptions), 'E_ARG', /largeMarginLogits: /);
    expectError(() => { new nn.LargeMarginLinear(2, 3).beta = -1; }, 'E_ARG', /LargeMarginLinear: expected `beta` >= 0/);
    await expectRejects(F.largeMarginLogits(x.narrow(0, 0, 1), w, cc.tensor(Int32Array.from([C]), { dtype: 'int32' })).data(), 'E_INDEX');
  });
});

describeCuda('largeMarginLogits on the GPU', () => {
  it('matches the CPU, with gradients', () => {
    const labels = cc.tensor(Int32Array.from([0, 3, 1, 2, 2, 0]), { dtype: 'int32' });
    compareDevices((a, b, t) => F.largeMarginLogits(a, b, t, { margin: 4, beta: 2 }), [randomCpu([6, 8], 1), randomCpu([4, 8], 2), labels],
      { bound: 1e-4, grads: true, what: 'largeMarginLogits' });
  });
});
