import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { expectBitIdentical, expectError } from './helpers';

const { nn } = cc;

// A Conv2d and the ReLU / ReLU6 / Hardtanh after it in a Sequential run as one op with gradients
// off (lib/nn/fused-activation.ts): the same bits as the two layers one after the other, since a
// clamp is exact and the convolution's own sums do not change.

interface Case { what: string; conv: () => cc.nn.Conv2d; act: () => cc.nn.Module; x: number[] }
const CASES: Case[] = [
  { what: 'depthwise 3x3 (register tiles clamp), ReLU6', conv: () => new nn.Conv2d(8, 8, 3, { padding: 1, groups: 8 }), act: () => new nn.ReLU6(), x: [2, 8, 13, 21] },
  { what: 'depthwise 3x3/2, multiplier 2, ReLU', conv: () => new nn.Conv2d(4, 8, 3, { stride: 2, padding: 1, groups: 4 }), act: () => new nn.ReLU(), x: [1, 4, 15, 40] },
  { what: 'depthwise 3x3 on 7x7 planes, 20 channels (16 channels in the lanes, then 4), ReLU6', conv: () => new nn.Conv2d(20, 20, 3, { padding: 1, groups: 20 }), act: () => new nn.ReLU6(), x: [2, 20, 7, 7] },
  { what: '1x1 with bias (the GEMM epilogue), ReLU6', conv: () => new nn.Conv2d(16, 40, 1), act: () => new nn.ReLU6(), x: [2, 16, 9, 11] },
  { what: '1x1 on 7x7 at batch 1 (threads share rows: the epilogue from row m0), ReLU', conv: () => new nn.Conv2d(24, 60, 1), act: () => new nn.ReLU(), x: [1, 24, 7, 7] },
  { what: '1x1 without bias, groups 2, Hardtanh(-1, 0.5)', conv: () => new nn.Conv2d(12, 20, 1, { groups: 2, bias: false }), act: () => new nn.Hardtanh(-1, 0.5), x: [3, 12, 10, 10] },
  { what: '3x3 (a pass over y after the convolution), ReLU', conv: () => new nn.Conv2d(6, 20, 3, { padding: 1 }), act: () => new nn.ReLU(), x: [2, 6, 12, 12] },
  { what: '5x5/2 on few channels, ReLU6', conv: () => new nn.Conv2d(3, 6, 5, { stride: 2 }), act: () => new nn.ReLU6(), x: [1, 3, 30, 30] },
];

/** The model's output with gradients off, and the same layers run one by one (no fusion). */
function both(model: cc.nn.Sequential, x: cc.Tensor): { fused: Float32Array; plain: Float32Array } {
  const fused = cc.noGrad(() => cc.tidy(() => model.call(x).dataSync() as Float32Array));
  const plain = cc.noGrad(() => cc.tidy(() => {
    let y = x;
    for (const m of model.children()) y = m.call(y);
    return y.dataSync() as Float32Array;
  }));
  return { fused, plain };
}

describe('conv + activation fused in Sequential (inference)', () => {
  it('gives the bits of the layers one by one, for every convolution method, at 1-3 threads', () => {
    const before = cc.getNumThreads();
    try {
      CASES.forEach((c, i) => {
        cc.manualSeed(40 + i);
        const model = new nn.Sequential(c.conv(), c.act()).eval();
        const x = cc.mul(cc.randn(c.x), 3);
        for (const threads of [1, 2, 3]) {
          cc.setNumThreads(threads);
          const { fused, plain } = both(model, x);
          expectBitIdentical(fused, plain, `${c.what} (${threads} threads)`);
          // The clamp happened: every value within the activation's range.
          const [lo, hi] = c.act() instanceof nn.ReLU6 ? [0, 6] : c.act() instanceof nn.Hardtanh ? [-1, 0.5] : [0, Infinity];
          expect(fused.every((v) => v >= lo && v <= hi), c.what).to.equal(true);
          expect(fused.some((v) => v === lo), `${c.what}: some outputs clamped`).to.equal(true);
        }
        x.dispose(); model.dispose();
      });
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('runs the activation inside the convolution (its own forward is not called)', () => {
    const calls = { ReLU: 0, ReLU6: 0 };
    const saved = { ReLU: nn.ReLU.prototype.forward, ReLU6: nn.ReLU6.prototype.forward };
    nn.ReLU.prototype.forward = function (t: cc.Tensor) { calls.ReLU++; return saved.ReLU.call(this, t); };
    nn.ReLU6.prototype.forward = function (t: cc.Tensor) { calls.ReLU6++; return saved.ReLU6.call(this, t); };
    try {
      const model = new nn.Sequential(new nn.Conv2d(2, 4, 1), new nn.ReLU(), new nn.Conv2d(4, 4, 3, { groups: 4 }), new nn.ReLU6()).eval();
      const x = cc.randn([1, 2, 6, 6]);
      cc.noGrad(() => cc.tidy(() => model.call(x)));
      expect(calls).to.deep.equal({ ReLU: 0, ReLU6: 0 });
      cc.tidy(() => model.call(x));  // gradients on: layer by layer
      expect(calls).to.deep.equal({ ReLU: 1, ReLU6: 1 });
      x.dispose(); model.dispose();
    } finally {
      nn.ReLU.prototype.forward = saved.ReLU;
      nn.ReLU6.prototype.forward = saved.ReLU6;
    }
  });

  it('fuses the ReLUs of the ResNet blocks and stem once their batch norms are folded', () => {
    for (const make of [() => cc.models.resnet18({ numClasses: 10, cifar: true }), () => cc.models.resnet50({ numClasses: 10 })]) {
      cc.manualSeed(8);
      const net = make().eval();
      const x = cc.randn([1, 3, 32, 32]);
      nn.utils.fuseConvBn(net);
      const saved = nn.ReLU.prototype.forward;
      let calls = 0;
      nn.ReLU.prototype.forward = function (t: cc.Tensor) { calls++; return saved.call(this, t); };
      try {
        const fused = cc.noGrad(() => cc.tidy(() => net.call(x).dataSync()));
        expect(calls, 'no ReLU module ran with gradients off').to.equal(0);
        const plain = cc.tidy(() => net.call(x).dataSync());  // gradients on: layer by layer
        expect(calls).to.be.greaterThan(0);
        expectBitIdentical(fused as Float32Array, plain as Float32Array, net.typeName);
      } finally {
        nn.ReLU.prototype.forward = saved;
      }
      x.dispose(); net.dispose();
    }
  });

  it("fuses BasicConv2d's functional ReLU once its batch norm is folded (GoogLeNet, Inception v3)", () => {
    cc.manualSeed(9);
    const unit = new cc.models.BasicConv2d(6, 10, 3, { padding: 1 }).eval();
    const x = cc.randn([2, 6, 9, 9]);
    const before = cc.noGrad(() => cc.tidy(() => unit.call(x).dataSync())) as Float32Array;
    nn.utils.fuseConvBn(unit);
    const fused = cc.noGrad(() => cc.tidy(() => unit.call(x).dataSync())) as Float32Array;
    const plain = cc.tidy(() => unit.call(x).dataSync()) as Float32Array;  // gradients on: conv, Identity, F.relu
    expectBitIdentical(fused, plain, 'BasicConv2d');
    expect(fused.every((v) => v >= 0)).to.equal(true);
    expect(Math.max(...fused.map((v, i) => Math.abs(v - before[i])))).to.be.lessThan(1e-4);
    x.dispose(); unit.dispose();
  });

  it('skips Identity between them (where fuseConvBn left a batch norm), as in MobileNet v2', () => {
    cc.manualSeed(3);
    const model = new nn.Sequential(new nn.Conv2d(4, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU6()).eval();
    expect(nn.utils.fuseConvBn(model)).to.equal(1);
    const x = cc.randn([2, 4, 9, 9]);
    const { fused, plain } = both(model, x);
    expectBitIdentical(fused, plain, 'conv, Identity, ReLU6');
    x.dispose(); model.dispose();
  });

  it('keeps NaN and infinities as the activation does', () => {
    const conv = new nn.Conv2d(1, 2, 1);
    const model = new nn.Sequential(conv, new nn.ReLU6()).eval();
    const x = cc.tensor([NaN, -Infinity, Infinity, 2, -3, 7], { shape: [1, 1, 2, 3] });
    const { fused, plain } = both(model, x);
    expectBitIdentical(fused, plain, 'NaN and inf');
    expect(Number.isNaN(fused[0])).to.equal(true);
    x.dispose(); model.dispose();
  });

  it('does not fuse with gradients on: the layers run (and record) one by one', () => {
    cc.manualSeed(5);
    const conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
    const model = new nn.Sequential(conv, new nn.ReLU());
    const x = cc.randn([1, 3, 6, 6]);
    const y = model.call(x);
    cc.sum(y).backward();
    expect(conv.weight.grad, 'the convolution got a gradient through the ReLU').to.not.equal(null);
    const { fused } = both(model, x);
    expectBitIdentical(fused, y.dataSync(), 'grad on vs off');
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });

  it('lets hooks, subclasses, padding modes and summary() see the layers', () => {
    cc.manualSeed(6);
    const x = cc.randn([1, 2, 8, 8]);
    // A forward hook on the activation: it must be called (no fusion).
    const relu = new nn.ReLU();
    let calls = 0;
    relu.registerForwardHook(() => { calls++; });
    const hooked = new nn.Sequential(new nn.Conv2d(2, 3, 3), relu).eval();
    cc.noGrad(() => cc.tidy(() => hooked.call(x)));
    expect(calls).to.equal(1);
    // A subclass of ReLU computes something else: its forward runs.
    class Doubled extends nn.ReLU {
      override forward(t: cc.Tensor) { return cc.mul(super.forward(t), 2); }
    }
    const sub = new nn.Sequential(new nn.Conv2d(2, 3, 3), new Doubled()).eval();
    const { fused, plain } = both(sub, x);
    expectBitIdentical(fused, plain, 'subclass');
    expect(fused.some((v) => v > 0)).to.equal(true);
    // Reflect padding pads x first: the layers run one by one, with the same values.
    const reflect = new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'reflect' }), new nn.ReLU()).eval();
    const r = both(reflect, x);
    expectBitIdentical(r.fused, r.plain, 'reflect');
    // summary() lists both layers even with gradients off.
    const text = cc.noGrad(() => reflect.summary([1, 2, 8, 8]));
    expect(text).to.match(/ReLU/);
    for (const m of [hooked, sub, reflect]) m.dispose();
    x.dispose();
  });

  it('the native op checks the bounds (E_ARG when lo > hi)', () => {
    const x = cc.randn([1, 1, 4, 4]), w = cc.randn([1, 1, 3, 3]);
    const geometry = [1, 1, 0, 0, 0, 0, 1, 1, 1];
    expectError(() => native.conv2dForward(x.handle('t'), w.handle('t'), null, geometry, 1, 0), 'E_ARG', /lo/);
    expectError(() => native.conv2dForward(x.handle('t'), w.handle('t'), null, geometry, 0, 'a' as unknown as number), 'E_ARG');
    x.dispose(); w.dispose();
  });
});
