/**
 * Differences from PyTorch 1.13 that `scripts/diff-torch.ts` (random calls beside PyTorch on the
 * same bits) found and that were fixed, each pinned here with PyTorch's values written out: 0-D
 * tensors taking axis 0 or -1, empty inputs, gradients at the kinks and poles of clamp, pow and
 * logit, NaN through the triplet loss, BCE of logits at an infinite logit, a max-pooling window of
 * padding alone, squeeze of a 0-D tensor, the 1 and infinity norms of an empty matrix. Where this library keeps a different answer on purpose, the script's table says
 * why (its `nanDiffers` notes).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda } from './cuda-helpers';
import { expectClose, expectError, tapeCheck } from './helpers';

const { F } = cc;
const values = (t: cc.Tensor): number[] => Array.from(t.dataSync());

describe('PyTorch parity (cases found by scripts/diff-torch.ts)', () => {
  it('reductions take axis 0 or -1 of a 0-D tensor, as a tensor of one value (0-D result, keepdim or not)', () => {
    const x = cc.tensor(3, { requiresGrad: true });
    for (const axis of [0, -1, [0], [-1]] as const) {
      for (const keepdim of [false, true]) {
        for (const [name, y, expected] of [
          ['sum', cc.sum(x, axis, keepdim), 3], ['mean', cc.mean(x, axis, keepdim), 3], ['max', cc.max(x, axis, keepdim), 3],
          ['min', cc.min(x, axis, keepdim), 3], ['amax', cc.amax(x, axis, keepdim), 3], ['nansum', cc.nansum(x, axis, keepdim), 3],
          ['logsumexp', cc.logsumexp(x, axis, keepdim), 3], ['norm', cc.norm(x, { dim: axis, keepdim }), 3],
          ['variance', cc.variance(x, axis, { correction: 0, keepdim }), 0], ['std', cc.std(x, axis, { correction: 0, keepdim }), 0],
        ] as const) {
          expect(y.shape, `${name} ${String(axis)} ${keepdim}`).to.deep.equal([]);
          expect(y.dataSync()[0], name).to.equal(expected);
        }
      }
    }
    for (const axis of [0, -1]) {
      const i = cc.argmax(x, axis, true);
      expect(i.shape).to.deep.equal([]);
      expect(i.dataSync()[0]).to.equal(0);
      expect(cc.argmin(x, axis).dataSync()[0]).to.equal(0);
    }
    // Bessel's correction over one value: 0 / 0, as PyTorch.
    expect(Number.isNaN(cc.variance(x, 0).dataSync()[0])).to.equal(true);
    // The gradient flows as through the whole-tensor reduction.
    cc.sum(x, 0).backward();
    expect(x.grad!.dataSync()[0]).to.equal(1);
    // Still one axis only: 1 is out of range, and 0 with -1 is the same axis twice.
    expectError(() => cc.sum(x, 1), 'E_ARG', /axis/);
    expectError(() => cc.sum(x, [0, -1]), 'E_ARG', /at most 1 axes/);
    expectError(() => cc.argmax(x, 1), 'E_ARG', /axis/);
    expectError(() => cc.norm(cc.zeros([2, 2]), { dim: [1, -1] }), 'E_ARG', /axis 1 appears twice/);
    expectError(() => cc.sum(cc.zeros([2, 2]), [0, 0]), 'E_ARG', /twice/);
  });

  it('a 0-D tensor says it has no axes when given one out of range elsewhere', () => {
    expectError(() => cc.indexSelect(cc.tensor(1), 0, cc.tensor([0], { dtype: 'int32' })), 'E_ARG', /0-D tensor \(it has no axes\)/);
  });

  it('argmax and argmin of an empty tensor along a non-empty axis give empty results; along an empty one, E_SHAPE', () => {
    const x = cc.zeros([0, 3]);
    const a = cc.argmax(x, 1);
    expect(a.shape).to.deep.equal([0]);
    expect(a.dtype).to.equal('int32');
    expect(cc.argmin(x, -1, true).shape).to.deep.equal([0, 1]);
    expect(cc.argmax(cc.zeros([2, 0, 3]), 2).shape).to.deep.equal([2, 0]);
    expectError(() => cc.argmax(x, 0), 'E_SHAPE', /axis 0 of size 0/);
    expectError(() => cc.argmin(x), 'E_SHAPE', /empty/);
  });

  it('isin finds an infinity among test elements that hold a NaN (NaN itself is never found), as PyTorch', () => {
    const e = cc.tensor([0.5, Infinity, -1, NaN, -Infinity]), s = cc.tensor([NaN, -1, -2, Infinity, NaN]);
    // PyTorch 1.13: [False, True, True, False, False].
    expect(values(cc.isin(e, s))).to.deep.equal([0, 1, 1, 0, 0]);
    expect(values(cc.isin(e, s, { invert: true }))).to.deep.equal([1, 0, 0, 1, 1]);
  });

  it('chunk of an empty axis gives `chunks` empty pieces (PyTorch), not one', () => {
    const pieces = cc.chunk(cc.zeros([2, 0, 3]), 3, 1);
    expect(pieces.map((p) => p.shape)).to.deep.equal([[2, 0, 3], [2, 0, 3], [2, 0, 3]]);
    expect(cc.chunk(cc.zeros([5]), 4).map((p) => p.shape[0])).to.deep.equal([2, 2, 1]);   // fewer than asked, as before
  });

  it('topk of a 0-D tensor with k = 0 gives the tensor, as with k = 1 (PyTorch)', () => {
    const x = cc.tensor(2.5);
    for (const k of [0, 1]) {
      const { values: v, indices } = cc.topk(x, k);
      expect(v.shape).to.deep.equal([]);
      expect(v.dataSync()[0]).to.equal(2.5);
      expect(indices.dataSync()[0]).to.equal(0);
    }
  });

  it('median and nanmedian of an empty float32 tensor are NaN (an empty gradient); int32, E_SHAPE', () => {
    const x = cc.zeros([4, 0], { requiresGrad: true });
    for (const y of [cc.median(x), cc.nanmedian(x)]) {
      expect(y.shape).to.deep.equal([]);
      expect(Number.isNaN(y.dataSync()[0])).to.equal(true);
    }
    cc.median(x).backward();
    expect(x.grad!.shape).to.deep.equal([4, 0]);
    expectError(() => cc.median(cc.zeros([0], { dtype: 'int32' })), 'E_SHAPE', /int32/);
  });

  it('maxPool2d refuses a dilated window that holds only padding (PyTorch returns -inf with an index outside the plane)', () => {
    const x = cc.ones([2, 1, 1, 1]);
    expectError(() => F.maxPool2d(x, 2, { stride: [1, 3], padding: 1, dilation: [2, 1], returnIndices: true }), 'E_SHAPE', /output row 0 holds only padding/);
    expectError(() => F.maxPool2d(cc.ones([1, 1, 3, 1]), [1, 2], { padding: [0, 1], dilation: [1, 2] }), 'E_SHAPE', /output column 0/);
    // One in-bounds tap is enough.
    const y = F.maxPool2d(cc.tensor([[[[1, 2, 3]]]]), [1, 2], { stride: 1, padding: [0, 1], dilation: [1, 2] });
    expect(values(y)).to.deep.equal([2, 3, 2]);
  });

  it("logit's gradient is NaN outside [0, 1] (where the value is), 0 outside [eps, 1 - eps] with eps", () => {
    const x = cc.tensor([-0.5, 0, 0.25, 0.5, 1, 1.5], { requiresGrad: true });
    cc.logit(x).backward(cc.ones([6]));
    // PyTorch 1.13: [nan, inf, 5.3333, 4, inf, nan].
    expectClose(values(x.grad!), [NaN, Infinity, 16 / 3, 4, Infinity, NaN], 1e-6, 0, 'logit');
    const z = cc.tensor([0.05, 0.1, 0.5, 0.9, 0.95], { requiresGrad: true });
    cc.logit(z, 0.1).backward(cc.ones([5]));
    expectClose(values(z.grad!), [0, 1 / 0.09, 4, 1 / 0.09, 0], 1e-5, 0, 'logit eps');
    tapeCheck('logit', [{ shape: [5], values: Float64Array.from([0.1, 0.3, 0.5, 0.7, 0.9]) }], ([u]) => cc.logit(u));
  });

  it('clamp by tensor bounds: NaN from x or a bound, and PyTorch\'s gradients (clamp_backward_min_max)', () => {
    const x = cc.tensor([NaN, 0.5, -1, 2, 1, -1, 3, 0.5], { requiresGrad: true });
    const lo = cc.tensor([0, NaN, 0, 0, 1, 1, 2, 0], { requiresGrad: true });
    const hi = cc.tensor([1, 1, 1, 1, 1, 1, 1, NaN], { requiresGrad: true });
    const y = cc.clamp(x, lo, hi);
    // min(max(x, lo), hi), NaN propagating; lo > hi gives hi.
    expectClose(values(y), [NaN, NaN, 0, 1, 1, 1, 1, NaN], 0, 0, 'clamp');
    y.backward(cc.ones([8]));
    // x: lo <= x <= hi; lo: x < lo < hi; hi: x > hi or hi < lo (x < lo = hi: nobody, as PyTorch).
    expect(values(x.grad!)).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 0]);
    expect(values(lo.grad!)).to.deep.equal([0, 0, 1, 0, 0, 0, 0, 0]);
    expect(values(hi.grad!)).to.deep.equal([0, 0, 0, 1, 0, 0, 1, 0]);
    // Broadcasting bounds sum their gradients back; a number bound with a tensor one.
    const u = cc.tensor([[-2, 0.5, 2], [0, 3, -1]], { requiresGrad: true });
    const top = cc.tensor([1, 1, 1], { requiresGrad: true });
    const v = cc.clamp(u, -1, top);
    expect(values(v)).to.deep.equal([-1, 0.5, 1, 0, 1, -1]);
    v.backward(cc.ones([2, 3]));
    expect(values(top.grad!)).to.deep.equal([0, 1, 1]);
    expect(values(u.grad!)).to.deep.equal([0, 1, 0, 1, 0, 1]);
    tapeCheck('clamp tensors', [{ shape: [3, 4] }, { shape: [4], values: Float64Array.from([-0.5, -0.2, 0.1, 0.3]) }, { shape: [3, 1], values: Float64Array.from([0.4, 0.6, 0.9]) }],
      ([a, b, c]) => cc.clamp(a, b, c));
  });

  it("pow's gradients at 0: none to the base where the exponent is 0, none to the exponent where 0 is raised to b >= 0", () => {
    const a = cc.tensor([0, 0, 0, 2, -1], { requiresGrad: true });
    const b = cc.tensor([0, 2, -1, 0, 0.5], { requiresGrad: true });
    cc.pow(a, b).backward(cc.ones([5]));
    // PyTorch 1.13: da = [0, 0, -inf, 0, nan], db = [0, 0, -inf, 0.6931, nan].
    expectClose(values(a.grad!), [0, 0, -Infinity, 0, NaN], 1e-6, 0, 'd base');
    expectClose(values(b.grad!), [0, 0, -Infinity, Math.log(2), NaN], 1e-6, 0, 'd exponent');
    const e = cc.tensor([0, 1, -1], { requiresGrad: true });
    cc.pow(0, e).backward(cc.ones([3]));
    expectClose(values(e.grad!), [0, 0, -Infinity], 0, 0, 'number base 0');   // PyTorch: [0, 0, -inf]
  });

  it('triplet margin loss keeps a NaN distance (PyTorch\'s clamp_min and min), with and without swap', () => {
    const a = cc.tensor([[0, 0], [1, 1]]), p = cc.tensor([[Infinity, 0], [1, 1]]), n = cc.tensor([[Infinity, 0], [0, 1]]);
    for (const swap of [false, true]) {
      // Row 0: inf - inf = NaN; row 1: max(0, 1 + 0 - 1) = 0. PyTorch: none [nan, 0], mean nan.
      expectClose(values(F.tripletMarginLoss(a, p, n, { swap, reduction: 'none' })), [NaN, 1e-6], 0, 1e-5, `swap ${swap}`);
      expect(Number.isNaN(F.tripletMarginLoss(a, p, n, { swap }).dataSync()[0])).to.equal(true);
    }
  });

  it("sinc's gradient near 0 follows its series (the direct formula cancels in float32)", () => {
    const xs = [-0.3, -0.05, -1e-4, -2.5e-7, 0, 3e-6, 1e-4, 0.02, 0.079, 0.08, 0.5, 1.5];
    const x = cc.tensor(xs, { requiresGrad: true });
    cc.sinc(x).backward(cc.ones([xs.length]));
    // d/dx sin(pi x) / (pi x) in float64 (its series below |pi x| = 0.01, where the formula cancels).
    const exact = xs.map((v) => {
      const u = Math.PI * v;
      return Math.abs(u) < 0.01 ? Math.PI * (-u / 3 + u ** 3 / 30) : Math.PI * (u * Math.cos(u) - Math.sin(u)) / (u * u);
    });
    expectClose(values(x.grad!), exact, 1e-4, 1e-9, 'sinc gradient');
  });

  it('the multi-class hinge loss keeps a NaN score (NaN loss, as the clamp of PyTorch\'s formula)', () => {
    const scores = cc.tensor([[0.5, NaN, -1], [2, -2, 0]]), labels = cc.tensor([0, 2], { dtype: 'int32' });
    for (const p of [1, 2] as const) {
      const per = values(F.hingeLoss(scores, labels, { p, reduction: 'none' }));
      expect(Number.isNaN(per[0]), `p ${p}`).to.equal(true);
      expect(per[1]).to.equal(p === 1 ? 3 + 0 + 1 : 9 + 0 + 1);
    }
  });

  it('the multilabel margin loss ignores an infinite score of a target class (no inf * 0 = NaN), as PyTorch', () => {
    // PyTorch 1.13: 0 (every pair's margin term is negative or skipped).
    const y = F.multilabelMarginLoss(cc.tensor([[5.25, -3.5, 0, Infinity]]), cc.tensor([[0, 3, 0, -1]], { dtype: 'int32' }), { reduction: 'none' });
    expect(values(y)).to.deep.equal([0]);
  });

  it('BCE of logits at an infinite logit is the loss\'s limit (+inf at x = +inf with t < 1, as PyTorch)', () => {
    const x = cc.tensor([Infinity, Infinity, -Infinity, 30, -30]);
    const t = cc.tensor([0.25, 1, 0.25, 0.25, 0.25]);
    // (1 - t) x at +inf; -t x at -inf (PyTorch's own formula gives NaN there); finite: as before.
    expectClose(values(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' })), [Infinity, NaN, Infinity, 22.5, 7.5], 1e-6, 0, 'bce logits');
  });

  it('squeeze of a 0-D tensor takes axis 0 or -1 and keeps the tensor (PyTorch); other axes, E_ARG', () => {
    const x = cc.tensor(2.5, { requiresGrad: true });
    for (const d of [0, -1]) expect(cc.squeeze(x, d).shape, `dim ${d}`).to.deep.equal([]);
    cc.mul(cc.squeeze(x, 0), 3).backward();
    expect(x.grad!.item()).to.equal(3);
    expectError(() => cc.squeeze(x, 1), 'E_ARG');
    expect(cc.tensor([[1], [2]]).squeeze(-1).shape).to.deep.equal([2]);
  });

  it('the 1 and infinity matrix norms of a matrix with no rows (1) or no columns (inf) are 0; the other way round, E_SHAPE', () => {
    // PyTorch 1.13: matrix_norm(zeros(0, 3), 1) = 0 (the max of three empty column sums); zeros(3, 0): refused.
    for (const ord of [1, -1] as const) {
      expect(cc.linalg.matrixNorm(cc.zeros([0, 3]), ord).item(), `ord ${ord}`).to.equal(0);
      expectError(() => cc.linalg.matrixNorm(cc.zeros([3, 0]), ord), 'E_SHAPE', /no columns/);
    }
    for (const ord of [Infinity, -Infinity] as const) {
      expect(cc.linalg.matrixNorm(cc.zeros([2, 3, 0]), ord, [-2, -1], true).tolist(), `ord ${ord}`).to.deep.equal([[[0]], [[0]]]);
      expectError(() => cc.linalg.matrixNorm(cc.zeros([0, 3]), ord), 'E_SHAPE', /no rows/);
    }
    expectError(() => cc.linalg.matrixNorm(cc.zeros([0, 0]), 1), 'E_SHAPE');
  });

  it('the flat ops (sign, floor, ceil, round, trunc, pow to 0, copysign\'s sign) send zeros back whatever comes in, infinities and NaN included', () => {
    // PyTorch's zeros_like: dy * 0 gave NaN for an infinite dy (found through lp_pool3d's formula at a zero window).
    const dy = cc.tensor([Infinity, -Infinity, NaN, 2]);
    const flat: [string, (x: cc.Tensor) => cc.Tensor][] = [
      ['sign', cc.sign], ['floor', cc.floor], ['ceil', cc.ceil], ['round', cc.round], ['trunc', cc.trunc],
      ['pow 0', (x) => cc.pow(x, 0)], ['copysign', (x) => cc.copysign(cc.tensor([1, 2, 3, 4]), x)],
    ];
    for (const [name, f] of flat) {
      const x = cc.tensor([-1.5, 0, 0.5, 2], { requiresGrad: true });
      f(x).backward(dy);
      expect(Array.from(x.grad!.dataSync()), name).to.deep.equal([0, 0, 0, 0]);
    }
  });
});

// The composed paths the GPU takes where the CPU has a kernel (found by `diff-torch.ts --device
// cuda` under scripts/gpu/dry-run.js): the same values and gradients as the CPU's kernels.
describeCuda('PyTorch parity of the composed GPU paths', () => {
  it('BCE of logits (and the multilabel soft margin built on it): gradient sigmoid(x) - t at x = 0, +inf at x = +inf', () => {
    const x = cc.tensor([0, 0, -2, 2, 0.5, Infinity]), t = cc.tensor([0.25, 1, 0.5, 0, 0.75, 0.25]);
    compareDevices((a, b) => F.binaryCrossEntropyWithLogits(a, b, { reduction: 'none' }), [x, t], { grads: true, what: 'bce logits' });
    // posWeight as an input: its gradient too (this library gives one, PyTorch does not).
    compareDevices((a, b, c) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: c }), [cc.tensor([[0, 1, -1], [2, -3, 0.5]]), cc.tensor([[1, 0, 0.5], [0.25, 1, 0]]), cc.tensor([2, 0.5, 1])], { grads: true, what: 'pos weight' });
    compareDevices((a, b) => F.multilabelSoftMarginLoss(a, b), [cc.tensor([[0, 2, -0.5]]), cc.tensor([[1, 0, 1]])], { grads: true, what: 'multilabel' });
  });

  it('the multilabel margin loss skips the unused pairs and a NaN pair, as the CPU kernel and PyTorch', () => {
    const x = cc.tensor([[NaN, -1.2, 0.5, -2.3], [0.1, 0.2, 0.3, 0.4]]), y = cc.tensor([[1, -1, 0, 0], [3, 0, -1, 2]], { dtype: 'int32' });
    compareDevices((a) => F.multilabelMarginLoss(a, y.to(a.device), { reduction: 'none' }), [x], { grads: true, what: 'multilabel margin' });
  });

  it('hardswish: NaN at -inf (as the CPU kernel and PyTorch), gradient (2x + 3) / 6 on [-3, 3]', () => {
    compareDevices((a) => F.hardswish(a), [cc.tensor([-Infinity, -3, -1, 0, 3, 4, NaN])], { grads: true, what: 'hardswish' });
  });
});
