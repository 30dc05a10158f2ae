import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, tapeCheck } from './helpers';

const { F, nn } = cc;

type Values = { shape: number[]; values: number[] };
interface NormCase {
  op: 'layerNorm' | 'groupNorm' | 'instanceNorm'; arg: number[] | number | null; eps: number; tol?: number;
  x: Values; dy: Values; y: Values; dx: Values; w?: Values; b?: Values; dw?: Values; db?: Values;
}

const make = (v: Values, requiresGrad = false) => cc.tensor(v.values, { shape: v.shape, requiresGrad });

function apply(c: NormCase, x: cc.Tensor, w: cc.Tensor | null, b: cc.Tensor | null): cc.Tensor {
  if (c.op === 'layerNorm') return F.layerNorm(x, c.arg as number[], { weight: w, bias: b, eps: c.eps });
  if (c.op === 'groupNorm') return F.groupNorm(x, c.arg as number, { weight: w, bias: b, eps: c.eps });
  return F.instanceNorm(x, { weight: w, bias: b, eps: c.eps });
}

describe('F.layerNorm, F.groupNorm, F.instanceNorm', () => {
  const { cases } = loadFixture<{ cases: NormCase[] }>('normalization');

  for (const c of cases) {
    it(`${c.op} ${JSON.stringify(c.arg)} x ${JSON.stringify(c.x.shape)}${c.w ? ' affine' : ''}: values and gradients match PyTorch in float64`, () => {
      const x = make(c.x, true);
      const w = c.w ? make(c.w, true) : null, b = c.b ? make(c.b, true) : null;
      const y = apply(c, x, w, b);
      expect(y.shape).to.deep.equal(c.y.shape);
      // The float32 mean is off by up to half an ulp of the values; over a small spread that
      // is the error of y (the case with mean 1000 and spread 0.01: ulp 6e-5, so ~3e-3).
      const tol = c.tol ?? 1e-5;
      expectClose(y.dataSync(), c.y.values, tol, tol, 'y');
      y.mul(make(c.dy)).sum().backward();
      const dxScale = Math.max(...c.dx.values.map(Math.abs));   // dx grows as 1 / spread, and so does its error
      expectClose(x.grad!.dataSync(), c.dx.values, 1e-4, Math.max(1e-4, tol * dxScale), 'dx');
      if (w && b) {
        expectClose(w.grad!.dataSync(), c.dw!.values, Math.max(1e-5, tol), Math.max(1e-4, 2 * tol), 'dweight');   // sum of dy * y: y's error
        expectClose(b.grad!.dataSync(), c.db!.values, 1e-5, 1e-4, 'dbias');
      }
    });
  }

  it('gradients match finite differences', () => {
    const x = { shape: [2, 4, 3] }, w = { shape: [4] }, b = { shape: [4] };
    tapeCheck('groupNorm', [x, w, b], ([a, g, h]) => F.groupNorm(a, 2, { weight: g, bias: h }));
    tapeCheck('layerNorm', [x, { shape: [4, 3] }], ([a, g]) => F.layerNorm(a, [4, 3], { weight: g }));
    tapeCheck('instanceNorm', [x, w], ([a, g]) => F.instanceNorm(a, { weight: g }));
  });

  it('group and instance norm\'s affine part (eval-mode batch norm, eps 0) has the bits of y * weight + bias', () => {
    const x = cc.randn([3, 6, 5, 4]), w = cc.randn([6]), b = cc.randn([6]);
    const y = F.groupNorm(x, 3), per = [1, 6, 1, 1];
    const same = (got: cc.Tensor, want: cc.Tensor, what: string) => expect(Array.from(got.dataSync()), what).to.deep.equal(Array.from(want.dataSync()));
    same(F.groupNorm(x, 3, { weight: w, bias: b }), y.mul(w.reshape(per)).add(b.reshape(per)), 'weight and bias');
    same(F.groupNorm(x, 3, { weight: w }), y.mul(w.reshape(per)), 'weight only');
    same(F.instanceNorm(x, { bias: b }), F.instanceNorm(x).add(b.reshape(per)), 'bias only');
    tapeCheck('groupNorm bias only', [{ shape: [2, 4, 3] }, { shape: [4] }], ([a, h]) => F.groupNorm(a, 2, { bias: h }));
  });

  it('empty batches give empty outputs; NaN stays in its group', () => {
    expect(F.groupNorm(cc.zeros([0, 4, 2, 2]), 2).shape).to.deep.equal([0, 4, 2, 2]);
    expect(F.layerNorm(cc.zeros([0, 8]), 8).shape).to.deep.equal([0, 8]);
    const x = cc.tensor([1, 2, NaN, 4, 5, 6, 7, 9], { shape: [1, 4, 2] });
    const y = Array.from(F.groupNorm(x, 2).dataSync());
    expect(y.slice(0, 4).every(Number.isNaN)).to.equal(true);
    expect(y.slice(4).every(Number.isFinite)).to.equal(true);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([2, 6, 3, 3]);
    expectError(() => F.groupNorm(x, 4), 'E_SHAPE', /divisible by numGroups \(4\)/);
    expectError(() => F.groupNorm(x, 0), 'E_ARG', /numGroups/);
    expectError(() => F.groupNorm(cc.zeros([6]), 2), 'E_SHAPE', /\[N, C, \.\.\.\]/);
    expectError(() => F.groupNorm(x, 3, { weight: cc.ones([3]) }), 'E_SHAPE', /weight/);
    expectError(() => F.groupNorm(x, 3, { eps: -1 }), 'E_ARG', /eps/);
    expectError(() => F.groupNorm(x, 3, { epsilon: 1 } as never), 'E_ARG', /epsilon/);
    expectError(() => F.groupNorm(cc.zeros([2, 6], 'int32'), 3), 'E_DTYPE');
    expectError(() => F.layerNorm(x, [3, 4]), 'E_SHAPE', /end in the normalized shape \[3, 4\]/);
    expectError(() => F.layerNorm(x, []), 'E_ARG', /normalizedShape/);
    expectError(() => F.layerNorm(x, [3], { bias: cc.zeros([4]) }), 'E_SHAPE', /bias/);
    expectError(() => F.instanceNorm(cc.zeros([2, 3])), 'E_SHAPE', /\[N, C, L\]/);
    expectError(() => F.instanceNorm(cc.zeros([2, 3, 1, 1])), 'E_SHAPE', /more than 1 position/);
  });
});

describe('nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d/2d', () => {
  it('hold PyTorch\'s parameters and compute the functional forms', () => {
    cc.manualSeed(1);
    const x = cc.randn([2, 4, 3, 3]);
    const gn = new nn.GroupNorm(2, 4);
    expect(Object.keys(gn.stateDict())).to.deep.equal(['weight', 'bias']);
    expect(Array.from(gn.weight!.dataSync())).to.deep.equal([1, 1, 1, 1]);
    expectClose(gn.call(x).dataSync(), F.groupNorm(x, 2).dataSync(), 0, 0);
    const ln = new nn.LayerNorm([3, 3], { eps: 1e-3 });
    expect(ln.weight!.shape).to.deep.equal([3, 3]);
    expectClose(ln.call(x).dataSync(), F.layerNorm(x, [3, 3], { eps: 1e-3 }).dataSync(), 0, 0);
    expect(new nn.LayerNorm(9, 1e-5, false).weight).to.equal(null);
    const inorm = new nn.InstanceNorm2d(4);
    expect(inorm.parameters().length).to.equal(0);                 // affine false by default, as PyTorch
    expect(new nn.InstanceNorm2d(4, { affine: true }).parameters().length).to.equal(2);
    expectClose(inorm.call(x).dataSync(), F.instanceNorm(x).dataSync(), 0, 0);
    expect(new nn.InstanceNorm1d(4).call(x.reshape([2, 4, 9])).shape).to.deep.equal([2, 4, 9]);
    expect(String(gn)).to.contain('GroupNorm(2, 4, eps=0.00001, affine=true)');
  });

  it('train a parameter through the module and survive models.save/load', () => {
    const dir = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'norm-'));
    const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.GroupNorm(2, 4), new nn.ReLU(), new nn.Flatten(), new nn.LayerNorm(16));
    const x = cc.randn([2, 1, 4, 4]);
    model.call(x).sum().backward();
    for (const p of model.parameters()) expect(p.grad, 'every parameter gets a gradient').to.not.equal(null);
    cc.models.save(model, dir);
    const again = cc.models.load(dir);
    expectClose(again.call(x).dataSync(), model.call(x).dataSync(), 0, 0, 'reloaded');
    expect(String(again)).to.contain('LayerNorm([16]');
  });

  it('refuses bad arguments and inputs with typed errors', () => {
    expectError(() => new nn.GroupNorm(3, 4), 'E_ARG', /divisible/);
    expectError(() => new nn.GroupNorm(2, 4, { momentum: 0.1 } as never), 'E_ARG', /momentum/);
    expectError(() => new nn.GroupNorm(2, 4).call(cc.zeros([2, 6, 2, 2])), 'E_SHAPE', /\[N, 4, \.\.\.\]/);
    expectError(() => new nn.InstanceNorm2d(4).call(cc.zeros([2, 4, 3])), 'E_SHAPE', /\[N, 4, H, W\]/);
    expectError(() => new nn.InstanceNorm1d(4, { trackRunningStats: true } as never), 'E_ARG', /trackRunningStats/);
    expectError(() => new nn.LayerNorm([4, 0]), 'E_ARG', /normalizedShape\[1\]/);
  });
});

describeCuda('per-sample normalisations on the GPU', () => {
  // At cuDNN batch norm's bound (1e-4, as test/cuda-layers.test.ts measured on the H200).
  it('match the CPU, with gradients', () => {
    const x = randomCpu([3, 6, 5, 4], 21), w = randomCpu([6], 22), b = randomCpu([6], 23);
    compareDevices((t, g, h) => F.groupNorm(t, 3, { weight: g, bias: h }), [x, w, b], { grads: true, bound: 1e-4, what: 'groupNorm' });
    compareDevices((t, g, h) => F.instanceNorm(t, { weight: g, bias: h }), [x, w, b], { grads: true, bound: 1e-4, what: 'instanceNorm' });
    compareDevices((t) => F.layerNorm(t, [5, 4]), [x], { grads: true, bound: 1e-4, what: 'layerNorm' });
  });
});
