/**
 * Every F op through the autograd tape: the inputs require grad, the op runs, y.backward(dy),
 * and the leaves' gradients must be the finite-difference gradients of sum(y * dy). (The
 * nn-*.test.ts files check the backward functions themselves against PyTorch; this checks the
 * wiring: the right saved tensors, options and need flags reach them.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, rng, sizeOf, tapeCheck } from './helpers';

const { F } = cc;

function values(shape: readonly number[], seed: number, low = -1, high = 1, gap = 0): Float64Array {
  const next = rng(seed);
  return Float64Array.from({ length: sizeOf(shape) }, () => {
    const v = low + (high - low) * next();
    if (gap === 0) return v;
    return v >= 0 ? Math.max(v, gap) : Math.min(v, -gap);
  });
}

/** Distinct values spaced by 0.05, shuffled: no ties for max-type ops. */
function distinct(shape: readonly number[], seed: number): Float64Array {
  const n = sizeOf(shape), next = rng(seed);
  const v = Float64Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}


const labels = (v: number[]) => cc.tensor(v, { dtype: 'int32' });

describe('F ops through the tape: convolution family', () => {
  it('conv2d with bias, groups, stride, padding, dilation; without bias', () => {
    const opts = { stride: [2, 1] as [number, number], padding: 1, dilation: [1, 2] as [number, number], groups: 2 };
    tapeCheck('conv2d', [{ shape: [2, 4, 5, 6] }, { shape: [6, 2, 3, 3] }, { shape: [6] }], ([x, w, b]) => F.conv2d(x, w, b, opts));
    tapeCheck('conv2d no bias', [{ shape: [1, 3, 4, 4] }, { shape: [2, 3, 2, 2] }], ([x, w]) => F.conv2d(x, w, null, { padding: 'same' }));
  });

  it('conv1d, convTranspose2d, linear', () => {
    tapeCheck('conv1d', [{ shape: [2, 3, 7] }, { shape: [4, 3, 3] }, { shape: [4] }], ([x, w, b]) => F.conv1d(x, w, b, { padding: 'same', dilation: 2 }));
    tapeCheck('convTranspose2d', [{ shape: [2, 4, 3, 3] }, { shape: [4, 3, 3, 3] }, { shape: [6] }],
      ([x, w, b]) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }));
    tapeCheck('linear', [{ shape: [3, 2, 5] }, { shape: [4, 5] }, { shape: [4] }], ([x, w, b]) => F.linear(x, w, b));
  });

  it('only the inputs that require grad get a gradient (need flags)', () => {
    const x = cc.randn([1, 2, 4, 4]), w = cc.randn([3, 2, 3, 3], 0, 1, { requiresGrad: true }), b = cc.zeros([3]);
    F.conv2d(x, w, b).sum().backward();
    expect(x.grad).to.equal(null);
    expect(b.grad).to.equal(null);
    expect(w.grad!.shape).to.deep.equal([3, 2, 3, 3]);
    const fc = cc.randn([2, 4]), fx = cc.randn([5, 4], 0, 1, { requiresGrad: true });
    F.linear(fx, fc).sum().backward();
    expect(fc.grad).to.equal(null);
    expectClose(fx.grad!.dataSync(), cc.sum(fc, 0).reshape([1, 4]).add(cc.zeros([5, 4])).dataSync(), 1e-5, 1e-5);
  });
});

describe('F ops through the tape: pooling', () => {
  it('maxPool2d (with and without returnIndices) and adaptiveMaxPool2d', () => {
    const x = { shape: [2, 3, 6, 6], values: distinct([2, 3, 6, 6], 1) };
    tapeCheck('maxPool2d', [x], ([t]) => F.maxPool2d(t, 3, { stride: 2, padding: 1 }));
    tapeCheck('maxPool2d indices', [x], ([t]) => F.maxPool2d(t, 2, { returnIndices: true })[0]);
    tapeCheck('adaptiveMaxPool2d', [x], ([t]) => F.adaptiveMaxPool2d(t, [4, 3]));
  });

  it('avgPool2d, lpPool2d, adaptiveAvgPool2d', () => {
    tapeCheck('avgPool2d', [{ shape: [2, 3, 5, 5] }], ([t]) => F.avgPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }));
    const pos = { shape: [2, 2, 5, 5], values: values([2, 2, 5, 5], 3, 0.5, 2) };
    tapeCheck('lpPool2d p=2', [pos], ([t]) => F.lpPool2d(t, 2, 2));
    tapeCheck('lpPool2d p=3 mean', [pos], ([t]) => F.lpPool2d(t, 3, 3, { stride: 1, mean: true }));
    tapeCheck('adaptiveAvgPool2d', [{ shape: [2, 3, 7, 5] }], ([t]) => F.adaptiveAvgPool2d(t, [3, 2]));
  });

  it('mixedPool2d in training uses the lambdas and argmax of its own forward', () => {
    const x = { shape: [2, 3, 4, 4], values: distinct([2, 3, 4, 4], 2) };
    for (const mode of ['bernoulli', 'uniform'] as const) {
      tapeCheck(`mixedPool2d ${mode}`, [x], ([t]) => {
        cc.manualSeed(11);   // the same lambdas in every finite-difference forward
        return F.mixedPool2d(t, 2, { training: true, mode });
      });
    }
    tapeCheck('mixedPool2d eval', [x], ([t]) => F.mixedPool2d(t, 2, { lambda: 0.3, padding: 1 }));
  });

  it('roiPool: gradients to x only', () => {
    const boxes = cc.tensor([[0, 0, 0, 5, 5], [1, 2, 1, 7, 6], [0, 3, 3, 4, 7]]);
    tapeCheck('roiPool', [{ shape: [2, 3, 8, 8], values: distinct([2, 3, 8, 8], 4) }], ([t]) => F.roiPool(t, boxes, 2, 1));
    const b = cc.tensor([[0, 0, 0, 3, 3]], { requiresGrad: true }), x = cc.randn([1, 1, 4, 4], 0, 1, { requiresGrad: true });
    F.roiPool(x, b, 2).sum().backward();
    expect(b.grad).to.equal(null);
    expect(x.grad!.shape).to.deep.equal([1, 1, 4, 4]);
  });
});

describe('F ops through the tape: other layers', () => {
  it('prelu (per channel and shared), maxout, softmax, logSoftmax', () => {
    const x = { shape: [2, 3, 2, 2], values: values([2, 3, 2, 2], 5, -1, 1, 0.05) };
    tapeCheck('prelu per channel', [x, { shape: [3] }], ([t, w]) => F.prelu(t, w));
    tapeCheck('prelu shared', [x, { shape: [1] }], ([t, w]) => F.prelu(t, w));
    tapeCheck('maxout', [{ shape: [2, 6, 2, 2], values: distinct([2, 6, 2, 2], 6) }], ([t]) => F.maxout(t, 3));
    tapeCheck('softmax', [{ shape: [3, 5] }], ([t]) => F.softmax(t, 1));
    tapeCheck('softmax dim 1 of 4-D', [{ shape: [2, 3, 2, 2] }], ([t]) => F.softmax(t, 1));
    tapeCheck('logSoftmax', [{ shape: [3, 5] }], ([t]) => F.logSoftmax(t, -1));
  });

  it('dropout (training, with its mask; evaluation), localResponseNorm', () => {
    tapeCheck('dropout', [{ shape: [4, 6] }], ([t]) => {
      cc.manualSeed(3);
      return F.dropout(t, 0.3, true);
    });
    tapeCheck('dropout eval', [{ shape: [4, 6] }], ([t]) => F.dropout(t, 0.3, false));
    tapeCheck('localResponseNorm', [{ shape: [2, 5, 3, 3] }], ([t]) => F.localResponseNorm(t, 3, 0.5, 0.75, 1));
  });

  it('batchNorm in training (batch statistics) and evaluation (running statistics)', () => {
    tapeCheck('batchNorm training', [{ shape: [4, 3, 2, 2] }, { shape: [3] }, { shape: [3] }], ([x, w, b]) => F.batchNorm(x, null, null, w, b, { training: true }));
    tapeCheck('batchNorm training no affine', [{ shape: [5, 2] }], ([x]) => F.batchNorm(x, null, null, null, null, { training: true }));
    const rm = cc.tensor([0.1, -0.2, 0.3]), rv = cc.tensor([0.5, 1.5, 2]);
    tapeCheck('batchNorm eval', [{ shape: [4, 3, 2, 2] }, { shape: [3] }, { shape: [3] }], ([x, w, b]) => F.batchNorm(x, rm, rv, w, b, { training: false }));
    // Running statistics passed in training are updated but get no gradient.
    const m = cc.zeros([3]), v = cc.ones([3]);
    const x = cc.randn([4, 3, 2, 2], 0, 1, { requiresGrad: true });
    F.batchNorm(x, m, v, null, null, { training: true }).square().sum().backward();
    expect(x.grad!.shape).to.deep.equal([4, 3, 2, 2]);
  });
});

describe('F ops through the tape: losses', () => {
  it('crossEntropy and nllLoss (weights, ignoreIndex, smoothing, every reduction)', () => {
    const t = labels([0, 2, 1, 2]), w = cc.tensor([0.5, 1, 2]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      tapeCheck(`crossEntropy ${reduction}`, [{ shape: [4, 3] }], ([x]) => F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1, reduction }));
      tapeCheck(`nllLoss ${reduction}`, [{ shape: [4, 3] }], ([x]) => F.nllLoss(x, t, { weight: w, ignoreIndex: 1, reduction }));
    }
    tapeCheck('crossEntropy per pixel', [{ shape: [2, 3, 2, 2] }], ([x]) => F.crossEntropy(x, cc.tensor([[[0, 1], [2, 0]], [[1, 1], [2, 2]]], { dtype: 'int32' })));
  });

  it('hingeLoss, multiMarginLoss', () => {
    const t = labels([0, 2, 1, 2]);
    tapeCheck('hingeLoss L2', [{ shape: [4, 3] }], ([x]) => F.hingeLoss(x, t, { p: 2 }));
    tapeCheck('hingeLoss L1', [{ shape: [4, 3], values: values([4, 3], 9, -3, 3) }], ([x]) => F.hingeLoss(x, t, { margin: 0.5 }), { h: 1e-3, atol: 5e-3 });
    tapeCheck('multiMarginLoss', [{ shape: [4, 3] }], ([x]) => F.multiMarginLoss(x, t, { p: 2, weight: cc.tensor([1, 2, 3]), reduction: 'sum' }));
  });

  it('contrastiveLoss, tripletMarginLoss (gradients to every embedding), klDiv (to input and target)', () => {
    const same = cc.tensor([1, 0, 1, 0], { dtype: 'int32' });
    tapeCheck('contrastiveLoss', [{ shape: [4, 3] }, { shape: [4, 3] }], ([a, b]) => F.contrastiveLoss(a, b, same, { margin: 2 }));
    tapeCheck('tripletMarginLoss', [{ shape: [4, 3] }, { shape: [4, 3] }, { shape: [4, 3] }], ([a, p, n]) => F.tripletMarginLoss(a, p, n, { margin: 2 }));
    tapeCheck('tripletMarginLoss squared swap', [{ shape: [4, 3] }, { shape: [4, 3] }, { shape: [4, 3] }],
      ([a, p, n]) => F.tripletMarginLoss(a, p, n, { margin: 3, squared: true, swap: true, reduction: 'none' }));
    const target = { shape: [3, 4], values: values([3, 4], 12, 0.1, 1) };
    tapeCheck('klDiv', [{ shape: [3, 4] }, target], ([x, t]) => F.klDiv(x, t, { reduction: 'batchmean' }));
    tapeCheck('klDiv logTarget', [{ shape: [3, 4] }, { shape: [3, 4] }], ([x, t]) => F.klDiv(x, t, { logTarget: true, reduction: 'none' }));
  });

  it('a float label tensor of contrastiveLoss gets no gradient', () => {
    const a = cc.randn([3, 2], 0, 1, { requiresGrad: true }), y = cc.tensor([1, 0, 1], { requiresGrad: true });
    F.contrastiveLoss(a, cc.randn([3, 2]), y).backward();
    expect(y.grad).to.equal(null);
    expect(a.grad!.shape).to.deep.equal([3, 2]);
  });
});

describe('F ops through the tape: a whole CNN', () => {
  it('conv -> relu -> maxPool -> flatten -> linear -> crossEntropy, every input against finite differences', () => {
    const y = labels([1, 0, 2]);
    tapeCheck('cnn', [
      { shape: [3, 2, 6, 6] }, { shape: [4, 2, 3, 3], values: values([4, 2, 3, 3], 21, -0.5, 0.5) }, { shape: [4] },
      { shape: [3, 16], values: values([3, 16], 22, -0.5, 0.5) }, { shape: [3] },
    ], ([x, w1, b1, w2, b2]) => {
      const h = F.maxPool2d(F.relu(F.conv2d(x, w1, b1)), 2);
      return F.crossEntropy(F.linear(h.flatten(1), w2, b2), y);
    }, { samples: 25, h: 1e-3 });   // a 1e-2 step can move a ReLU or a window's maximum across its kink
  });

  it('saved tensors survive tidy and dispose of every forward tensor', () => {
    const w = cc.randn([2, 1, 3, 3], 0, 1, { requiresGrad: true });
    const loss = cc.tidy(() => {
      const x = cc.randn([2, 1, 5, 5]);
      const h = F.maxPool2d(F.conv2d(x, w), 3);
      const out = F.crossEntropy(h.flatten(1), labels([0, 1]));
      x.dispose();
      h.dispose();
      return out;
    });
    loss.backward();
    expect(w.grad!.shape).to.deep.equal([2, 1, 3, 3]);
  });
});
