/**
 * nn.DropConnectLinear (Wan et al. 2013): in training, F.linear with the weight through dropout
 * (the documented Philox mask, kept weights scaled by 1 / (1 - p)), one mask per forward; in
 * evaluation, the plain layer. Values against the same computation written out, gradients
 * against finite differences (reseeded before each forward, so every difference sees the same
 * mask), the kept fraction, the errors, and its weights in an nn.Linear.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { dropoutWithMask } from '../lib/nn/functional/layers';
import { expectError, gradCheck, randomTensor } from './helpers';

const { F, nn } = cc;

describe('nn.DropConnectLinear (DropConnect)', () => {
  it('evaluation is the plain linear layer; training is F.linear(x, dropout(weight), bias) with the seeded mask', () => {
    const m = new nn.DropConnectLinear(7, 5, { p: 0.3 });
    const { t: x } = randomTensor([4, 7], 1);
    const plain = F.linear(x, m.weight, m.bias).dataSync();
    expect(Array.from(m.eval().call(x).dataSync())).to.deep.equal(Array.from(plain));
    m.train();
    cc.manualSeed(12);
    const y = m.call(x).dataSync();
    cc.manualSeed(12);
    const { y: dropped, mask } = dropoutWithMask(m.weight.detach(), 0.3);
    expect(Array.from(y)).to.deep.equal(Array.from(F.linear(x, dropped, m.bias).dataSync()));
    const kept = mask!.dataSync().reduce((s, v) => s + v, 0);
    expect(kept).to.be.above(10).and.below(35);   // of 35 weights, p = 0.3
    cc.manualSeed(13);
    expect(Array.from(m.call(x).dataSync())).to.not.deep.equal(Array.from(y));   // a new mask each forward
    expect(m.toString()).to.contain('in_features=7, out_features=5, bias=true, p=0.3');
  });

  it('gradients of x, the weight (kept weights only, scaled) and the bias against finite differences', () => {
    const m = new nn.DropConnectLinear(6, 4, { p: 0.5 }).train();
    const { v: xv } = randomTensor([3, 6], 2);
    const { v: wv } = randomTensor([4, 6], 3);
    const { v: bv } = randomTensor([4], 4);
    const forward = ([x, w, b]: cc.Tensor<'float32'>[]) => {
      cc.manualSeed(21);
      return F.linear(x, F.dropout(w, 0.5, true), b);
    };
    gradCheck({
      what: 'dropconnect', inputs: [{ shape: [3, 6], values: xv }, { shape: [4, 6], values: wv }, { shape: [4], values: bv }], forward,
      backward: (dy, [x, w, b]) => cc.tidy(() => {
        m.loadStateDict({ weight: w, bias: b });
        const xx = x.detach();
        xx.requiresGrad = true;
        m.zeroGrad();
        cc.manualSeed(21);
        m.call(xx).mul(dy).sum().backward();
        return [cc.keep(xx.grad!.clone()), cc.keep(m.weight.grad!.clone()), cc.keep(m.bias!.grad!.clone())];
      }),
    });
  });

  it('keeps about 1 - p of the weights, never drops the bias, p = 0 is the plain layer; bad options are E_ARG', () => {
    const m = new nn.DropConnectLinear(200, 100, { p: 0.25 }).train();
    const x = cc.eye(200);   // y row i = weight column i (dropped) + bias
    cc.manualSeed(5);
    const y = m.call(x).sub(m.bias!).dataSync();
    const zeros = y.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);
    expect(zeros / y.length).to.be.closeTo(0.25, 0.01);   // 20000 weights: sd of the fraction 0.003
    const none = new nn.DropConnectLinear(3, 2, { p: 0, bias: false }).train();
    expect(none.bias).to.equal(null);
    const { t } = randomTensor([2, 3], 6);
    expect(Array.from(none.call(t).dataSync())).to.deep.equal(Array.from(F.linear(t, none.weight, null).dataSync()));
    expectError(() => new nn.DropConnectLinear(3, 2, { p: 1 }), 'E_ARG', /`p` in \[0, 1\)/);
    expectError(() => new nn.DropConnectLinear(3, 2, { p: -0.1 }), 'E_ARG', /`p`/);
    expectError(() => new nn.DropConnectLinear(3, 2, { p: '0.5' as never }), 'E_ARG', /`p`/);
    expectError(() => new nn.DropConnectLinear(3, 2, { rate: 0.5 } as never), 'E_ARG', /rate/);
    expectError(() => new nn.DropConnectLinear(0, 2), 'E_ARG');
    const layer = new nn.DropConnectLinear(3, 2).train();
    expectError(() => layer.call(cc.randn([2, 4])), 'E_SHAPE');
    expectError(() => layer.call(cc.tensor(new Int32Array(6), { shape: [2, 3] })), 'E_DTYPE');
    expectError(() => layer.call(null as never), 'E_ARG');
    const nan = layer.call(cc.tensor([NaN, 1, 2], { shape: [1, 3] })).dataSync();
    expect(Array.from(nan).every(Number.isNaN)).to.equal(true);   // NaN * 0 is NaN too: a dropped weight does not hide it
    expect(layer.call(cc.zeros([0, 3])).shape).to.deep.equal([0, 2]);   // an empty batch
  });

  it('its weights are a Linear\'s: the state dict loads into nn.Linear for serving', () => {
    const m = new nn.DropConnectLinear(5, 3);
    const plain = new nn.Linear(5, 3);
    plain.loadStateDict(m.stateDict());
    const { t: x } = randomTensor([2, 5], 7);
    expect(Array.from(plain.call(x).dataSync())).to.deep.equal(Array.from(m.eval().call(x).dataSync()));
  });
});
