import { expect } from 'chai';
import * as cc from '../lib';
import { record } from '../lib/autograd';
import { native } from '../lib/native';
import { expectBitIdentical, expectClose, expectError, expectRejects, rng, settle, sizeOf, tapeCheck } from './helpers';

type T = cc.Tensor<'float32'>;
const gc = (globalThis as { gc?: () => void }).gc;

/** Values in [low, high), or kept away from 0 by `gap` (both signs) when `awayFromZero`. */
function values(shape: readonly number[], seed: number, o: { low?: number; high?: number; awayFrom?: number; gap?: number } = {}): Float64Array {
  const next = rng(seed);
  const low = o.low ?? -1, high = o.high ?? 1;
  return Float64Array.from({ length: sizeOf(shape) }, () => {
    const v = low + (high - low) * next();
    if (o.awayFrom === undefined) return v;
    const gap = o.gap ?? 0.1;
    return v >= o.awayFrom ? Math.max(v, o.awayFrom + gap) : Math.min(v, o.awayFrom - gap);
  });
}

/** Distinct values spaced by 0.05 (no ties, no crossing under a 1e-2 step), shuffled. */
function distinct(shape: readonly number[], seed: number): Float64Array {
  const n = sizeOf(shape), next = rng(seed);
  const v = Float64Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}


describe('autograd: gradients of the tensor ops (finite differences through the tape)', () => {
  it('a tensor cannot be its own gradient, nor a view of itself (backward then disposed the tensor)', () => {
    const w = cc.ones([2], { requiresGrad: true }) as cc.Tensor<'float32'>;
    expectError(() => { w.grad = w; }, 'E_ARG', /own gradient.*is the tensor itself/);
    expectError(() => { w.grad = w.detach(); }, 'E_ARG', /shares its memory/);
    expectError(() => { w.grad = w.reshape([2]); }, 'E_ARG', /shares its memory/);
    expectError(() => { w.grad = w.detach().reshape([1, 2]).reshape([2]) as cc.Tensor<'float32'>; }, 'E_ARG', /shares its memory/);
    expect(w.grad).to.equal(null);
    w.mul(3).sum().backward();
    expect(w.isDisposed).to.equal(false);
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([3, 3]);
    w.grad = w.clone().detach();                 // a copy is fine
    const p = new cc.nn.Parameter(cc.ones([2]));
    expectError(() => { p.grad = p.detach(); }, 'E_ARG', /shares its memory/);
    w.dispose(); p.dispose();
  });

  const pairs: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3, 4], [3, 1]],
    [[4], [2, 3, 4]],
    [[2, 1, 4], [1, 3, 1]],
    [[], [2, 3]],
  ];

  for (const [sa, sb] of pairs) {
    const tag = `[${sa}] and [${sb}]`;
    it(`add, sub, mul, div, pow with broadcasting: ${tag}`, () => {
      tapeCheck(`add ${tag}`, [{ shape: sa }, { shape: sb }], ([a, b]) => cc.add(a, b));
      tapeCheck(`sub ${tag}`, [{ shape: sa }, { shape: sb }], ([a, b]) => cc.sub(a, b));
      tapeCheck(`mul ${tag}`, [{ shape: sa }, { shape: sb }], ([a, b]) => cc.mul(a, b));
      tapeCheck(`div ${tag}`, [{ shape: sa }, { shape: sb, values: values(sb, 7, { low: 0.5, high: 2 }) }], ([a, b]) => cc.div(a, b));
      tapeCheck(`pow ${tag}`, [{ shape: sa, values: values(sa, 8, { low: 0.5, high: 2 }) }, { shape: sb }], ([a, b]) => cc.pow(a, b));
    });

    it(`maximum and minimum with broadcasting: ${tag}`, () => {
      // b differs from every a by more than the step, so no finite difference crosses a tie.
      const a = distinct(sa, 3);
      const b = Float64Array.from(values(sb, 4), (v) => Math.round(v / 0.05) * 0.05 + 0.025);   // between a's values
      tapeCheck(`maximum ${tag}`, [{ shape: sa, values: a }, { shape: sb, values: b }], ([x, y]) => cc.maximum(x, y));
      tapeCheck(`minimum ${tag}`, [{ shape: sa, values: a }, { shape: sb, values: b }], ([x, y]) => cc.minimum(x, y));
    });
  }

  it('number operands on either side', () => {
    const shape = [3, 4];
    const pos = [{ shape, values: values(shape, 5, { low: 0.5, high: 2 }) }];
    tapeCheck('add(x, 2)', [{ shape }], ([x]) => cc.add(x, 2));
    tapeCheck('add(2, x)', [{ shape }], ([x]) => cc.add(2, x));
    tapeCheck('sub(x, 2)', [{ shape }], ([x]) => cc.sub(x, 2));
    tapeCheck('sub(2, x)', [{ shape }], ([x]) => cc.sub(2, x));
    tapeCheck('mul(x, 3)', [{ shape }], ([x]) => cc.mul(x, 3));
    tapeCheck('mul(3, x)', [{ shape }], ([x]) => cc.mul(3, x));
    tapeCheck('div(x, 4)', [{ shape }], ([x]) => cc.div(x, 4));
    tapeCheck('div(2, x)', pos, ([x]) => cc.div(2, x));
    tapeCheck('pow(x, 3)', [{ shape }], ([x]) => cc.pow(x, 3));
    tapeCheck('pow(x, 0.5)', pos, ([x]) => cc.pow(x, 0.5));
    tapeCheck('pow(x, 0)', [{ shape }], ([x]) => cc.pow(x, 0));
    tapeCheck('pow(2, x)', [{ shape }], ([x]) => cc.pow(2, x));
    const away = [{ shape, values: values(shape, 6, { awayFrom: 0.3 }) }];
    tapeCheck('maximum(x, 0.3)', away, ([x]) => cc.maximum(x, 0.3));
    tapeCheck('minimum(0.3, x)', away, ([x]) => cc.minimum(0.3, x));
  });

  it('unary ops and scale', () => {
    const shape = [2, 3, 4];
    const pos = [{ shape, values: values(shape, 9, { low: 0.3, high: 2 }) }];
    const away = [{ shape, values: values(shape, 10, { awayFrom: 0, gap: 0.1 }) }];
    tapeCheck('neg', [{ shape }], ([x]) => cc.neg(x));
    tapeCheck('abs', away, ([x]) => cc.abs(x));
    tapeCheck('exp', [{ shape }], ([x]) => cc.exp(x));
    tapeCheck('log', pos, ([x]) => cc.log(x));
    tapeCheck('sqrt', pos, ([x]) => cc.sqrt(x));
    tapeCheck('square', [{ shape }], ([x]) => cc.square(x));
    tapeCheck('reciprocal', away, ([x]) => cc.reciprocal(x));
    tapeCheck('scale', [{ shape }], ([x]) => cc.scale(x, -1.5, 0.25));
    tapeCheck('sin', [{ shape }], ([x]) => cc.sin(x));
    tapeCheck('cos', [{ shape }], ([x]) => cc.cos(x));
    tapeCheck('tan', [{ shape }], ([x]) => cc.tan(x));
    tapeCheck('atan', [{ shape }], ([x]) => cc.atan(cc.scale(x, 3)));
    tapeCheck('log1p', pos, ([x]) => cc.log1p(x));
    tapeCheck('expm1', [{ shape }], ([x]) => cc.expm1(x));
    tapeCheck('log2', pos, ([x]) => cc.log2(x));
    tapeCheck('log10', pos, ([x]) => cc.log10(x));
    tapeCheck('rsqrt', pos, ([x]) => cc.rsqrt(x));
  });

  it('sign, floor, ceil, round and trunc have zero gradients (as PyTorch)', () => {
    const x = cc.tensor([-1.5, 0.2, 2.7], { requiresGrad: true });
    cc.add(cc.add(cc.add(cc.add(cc.sign(x), cc.floor(x)), cc.ceil(x)), cc.round(x)), cc.trunc(x)).sum().backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([0, 0, 0]);
  });

  it('sum and mean over any axes, with and without keepdim', () => {
    const shape = [2, 3, 4];
    for (const axis of [undefined, 0, 1, -1, [0, 2], [0, 1, 2]]) {
      for (const keepdim of [false, true]) {
        tapeCheck(`sum ${String(axis)} ${keepdim}`, [{ shape }], ([x]) => cc.sum(x, axis, keepdim));
        tapeCheck(`mean ${String(axis)} ${keepdim}`, [{ shape }], ([x]) => cc.mean(x, axis, keepdim));
      }
    }
  });

  it('max and min over any axes (distinct values)', () => {
    const shape = [3, 4, 5];
    for (const axis of [undefined, 0, 2, [1, 2]]) {
      for (const keepdim of [false, true]) {
        tapeCheck(`max ${String(axis)} ${keepdim}`, [{ shape, values: distinct(shape, 11) }], ([x]) => cc.max(x, axis, keepdim));
        tapeCheck(`min ${String(axis)} ${keepdim}`, [{ shape, values: distinct(shape, 12) }], ([x]) => cc.min(x, axis, keepdim));
      }
    }
  });

  it('max/min on ties split the gradient evenly among the tied positions (as torch.amax)', () => {
    const x = cc.tensor([[1, 3, 3], [2, 2, 2]], { requiresGrad: true });
    cc.max(x, 1).backward(cc.tensor([1, 6]));
    expectClose(x.grad!.dataSync(), [0, 0.5, 0.5, 2, 2, 2]);
    const y = cc.tensor([[1, 1], [4, 0]], { requiresGrad: true });
    cc.min(y).backward();   // the minimum 0 once
    expectClose(y.grad!.dataSync(), [0, 0, 0, 1]);
    const a = cc.tensor([1, 2, 3], { requiresGrad: true }), b = cc.tensor([1, 5, 0], { requiresGrad: true });
    cc.maximum(a, b).sum().backward();
    expectClose(a.grad!.dataSync(), [0.5, 0, 1]);
    expectClose(b.grad!.dataSync(), [0.5, 1, 0]);
  });

  it('matmul: 2-D, transposed operands, batched with broadcasting, vectors', () => {
    const cases: [number[], number[], cc.MatmulOptions][] = [
      [[3, 4], [4, 5], {}],
      [[4, 3], [4, 5], { transA: true }],
      [[3, 4], [5, 4], { transB: true }],
      [[4, 3], [5, 4], { transA: true, transB: true }],
      [[2, 3, 4], [4, 5], {}],
      [[3, 4], [2, 4, 5], {}],
      [[3, 1, 3, 4], [2, 4, 5], {}],
      [[2, 4, 3], [2, 5, 4], { transA: true, transB: true }],
      [[4], [4, 3], {}],
      [[2, 3, 4], [4], {}],
      [[4], [4], {}],
      [[4], [2, 4, 3], {}],
      [[4], [3, 4], { transB: true }],
    ];
    for (const [sa, sb, o] of cases) {
      tapeCheck(`matmul [${sa}] @ [${sb}] ${JSON.stringify(o)}`, [{ shape: sa }, { shape: sb }], ([a, b]) => cc.matmul(a, b, o));
    }
  });

  it('reshape, flatten, squeeze, unsqueeze, permute, transpose', () => {
    tapeCheck('reshape', [{ shape: [2, 3, 4] }], ([x]) => cc.mul(cc.reshape(x, [4, -1]), cc.arange(6).toType('float32')));
    tapeCheck('flatten', [{ shape: [2, 3, 4] }], ([x]) => cc.flatten(x, 1));
    tapeCheck('squeeze', [{ shape: [2, 1, 3] }], ([x]) => cc.squeeze(x));
    tapeCheck('unsqueeze', [{ shape: [2, 3] }], ([x]) => cc.unsqueeze(x, 1));
    tapeCheck('permute', [{ shape: [2, 3, 4] }], ([x]) => cc.permute(x, [2, 0, 1]));
    tapeCheck('transpose', [{ shape: [2, 3, 4] }], ([x]) => cc.transpose(x, 0, 2));
    tapeCheck('method chain', [{ shape: [2, 3] }], ([x]) => x.transpose().reshape([6]).unsqueeze(0));
  });

  it('concat, slice, narrow', () => {
    tapeCheck('concat axis 1', [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }], (ts) => cc.concat(ts, 1));
    tapeCheck('concat axis 0', [{ shape: [1, 3] }, { shape: [2, 3] }], (ts) => cc.concat(ts, 0));
    tapeCheck('slice', [{ shape: [4, 5, 3] }], ([x]) => cc.slice(x, [1, 0, 1], [2, -1, 1]));
    tapeCheck('narrow', [{ shape: [4, 5] }], ([x]) => cc.narrow(x, 1, 2, 3));
    // A concat where only one input requires grad.
    const a = cc.ones([2, 2]), b = cc.tensor([[1, 2]], { requiresGrad: true });
    cc.concat([a, b], 0).mul(cc.tensor([[1], [1], [3]])).sum().backward();
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([3, 3]);
    expect(a.grad).to.equal(null);
  });

  it('indexSelect and gather, repeated indices adding up', () => {
    const idx = cc.tensor([2, 0, 2, 2, 1], { dtype: 'int32' });
    tapeCheck('indexSelect dim 0', [{ shape: [3, 4] }], ([x]) => cc.indexSelect(x, 0, idx));
    tapeCheck('indexSelect dim 1', [{ shape: [2, 3, 2] }], ([x]) => cc.indexSelect(x, 1, idx));
    const g = cc.tensor([[0, 0, 2], [1, 1, 1]], { dtype: 'int32' });
    tapeCheck('gather dim 1', [{ shape: [2, 3] }], ([x]) => cc.gather(x, 1, g));
    tapeCheck('gather dim 0, smaller index', [{ shape: [3, 4] }], ([x]) => cc.gather(x, 0, g));
    tapeCheck('gather dim 0, 3-D', [{ shape: [2, 3, 2] }], ([x]) => cc.gather(x, 0, cc.tensor([[[1, 0], [0, 0]], [[1, 1], [0, 1]]], { dtype: 'int32' })));
    const x = cc.tensor([1, 2, 3], { requiresGrad: true });
    x.indexSelect(0, cc.tensor([1, 1, 1, 0], { dtype: 'int32' })).sum().backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1, 3, 0]);
  });

  it('the scatter-add kernels give the same bits for any thread count', () => {
    const threads = cc.getNumThreads();
    const n = 3000;
    const index = cc.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7919) % 13), { dtype: 'int32' });
    const run = () => {
      const x = cc.randn([13, 300], 0, 1, { requiresGrad: true });
      cc.manualSeed(1);
      const w = cc.randn([n, 300]);
      x.indexSelect(0, index).mul(w).sum().backward();
      const gIndex = cc.tensor(Int32Array.from({ length: 20 * 300 }, (_, i) => (i * 31) % 13), { shape: [20, 300], dtype: 'int32' });
      const z = cc.randn([13, 300], 0, 1, { requiresGrad: true });
      z.gather(0, gIndex).mul(cc.randn([20, 300])).sum().backward();
      return [x.grad!.dataSync(), z.grad!.dataSync()];
    };
    try {
      cc.setNumThreads(1);
      cc.manualSeed(0);
      const one = run();
      cc.setNumThreads(Math.max(2, threads));
      cc.manualSeed(0);
      const many = run();
      expectBitIdentical(one[0], many[0], 'indexAdd');
      expectBitIdentical(one[1], many[1], 'scatterAdd');
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('the native indexAdd/scatterAdd entry points check shapes, dtypes and (when they run) indices', async () => {
    const x = cc.zeros([3, 2]), src = cc.ones([2, 2]);
    const bad = cc.tensor([0, 5], { dtype: 'int32' });
    expectError(() => native.indexAdd(x.handle(), 0, bad.handle(), cc.ones([3, 2]).handle()), 'E_SHAPE');
    expectError(() => native.indexAdd(x.handle(), 0, src.handle(), src.handle()), 'E_DTYPE');
    const y = new cc.Tensor(native.indexAdd(x.handle(), 0, bad.handle(), src.handle()), [3, 2], 'float32');
    await expectRejects(y.data(), 'E_INDEX', /index 5/);
    const idx2 = cc.tensor([[0, 7]], { dtype: 'int32' });
    expectError(() => native.scatterAdd(x.handle(), 1, idx2.handle(), cc.ones([2]).handle()), 'E_SHAPE');
    const z = new cc.Tensor(native.scatterAdd(x.handle(), 1, idx2.handle(), cc.ones([1, 2]).handle()), [3, 2], 'float32');
    await expectRejects(z.data(), 'E_INDEX', /index 7/);
    // x itself is not modified.
    expect(Array.from(x.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  it('activations: relu, leakyRelu, elu, sigmoid, tanh', () => {
    const shape = [3, 5];
    const away = [{ shape, values: values(shape, 13, { awayFrom: 0, gap: 0.05, low: -2, high: 2 }) }];
    tapeCheck('relu', away, ([x]) => cc.F.relu(x));
    tapeCheck('leakyRelu', away, ([x]) => cc.F.leakyRelu(x, 0.1));
    tapeCheck('elu', away, ([x]) => cc.F.elu(x, 0.7));
    tapeCheck('sigmoid', [{ shape }], ([x]) => cc.F.sigmoid(x));
    tapeCheck('tanh', [{ shape }], ([x]) => cc.F.tanh(x));
  });
});

describe('autograd: compositions', () => {
  it('a 2-layer MLP with relu and a mean-squared error, against finite differences', () => {
    const x = cc.tensor(Float32Array.from(values([4, 5], 21)), { shape: [4, 5] });
    const target = cc.tensor(Float32Array.from(values([4, 3], 22)), { shape: [4, 3] });
    tapeCheck('mlp', [{ shape: [5, 6] }, { shape: [6] }, { shape: [6, 3] }, { shape: [3] }], ([w1, b1, w2, b2]) => {
      const h = cc.F.relu(cc.add(cc.matmul(x, w1), b1));
      const out = cc.add(cc.matmul(h, w2), b2);
      return cc.mean(cc.square(cc.sub(out, target)));
    }, { rtol: 3e-2, atol: 3e-3 });
  });

  it('a tensor used several times gets the sum of its gradients (diamond graph)', () => {
    const x = cc.tensor([1, -2, 3], { requiresGrad: true });
    const y = x.mul(x).add(x).add(x.exp().log());   // x^2 + 2x
    y.sum().backward();
    expectClose(x.grad!.dataSync(), [4, -2, 8], 1e-5, 1e-5);
  });

  it('a leaf can be the root: x.backward() gives ones', () => {
    const x = cc.tensor(3, { requiresGrad: true });
    x.backward();
    expect(x.grad!.item()).to.equal(1);
  });

  it('backward(gradient) of a non-scalar output', () => {
    const x = cc.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    x.mul(x).backward(cc.tensor([[1, 0], [0, 2]]));
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([2, 0, 0, 16]);
  });

  it('a gradient returned for several inputs is shared, not copied: leaves get tensors of their own, nothing leaks', () => {
    const before = cc.memory().tensors;
    const a = cc.tensor([1, 2, 3], { requiresGrad: true }), b = cc.tensor([4, 5, 6], { requiresGrad: true });
    cc.tidy(() => a.add(b).sum().backward());   // add's backward returns its dy for both
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([1, 1, 1]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([1, 1, 1]);
    expect(a.grad === b.grad || a.grad!._sharesMemoryWith(b.grad!)).to.equal(false);
    cc.tidy(() => a.add(a).mul(b).sum().backward());   // x + x: both shares reach one leaf
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([9, 11, 13]);
    cc.tidy(() => a.mul(2).add(a.mul(3)).add(b).sum().backward());   // shares through two nodes
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([14, 16, 18]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([4, 6, 8]);
    // A backward function that fails after its input's gradient was shared with a leaf.
    const failing = record('failing', cc.noGrad(() => a.mul(1)), [a], () => { throw new Error('boom'); });
    expect(() => cc.tidy(() => failing.add(b).sum().backward())).to.throw('boom');
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([5, 7, 9]);
    for (const t of [a, b, failing]) { t.grad?.dispose(); t.dispose(); }
    expect(cc.memory().tensors).to.equal(before);
  });

  it('backward(gradient) borrows the gradient: it stays the caller\'s, leaves get copies, nothing leaks', () => {
    // Note [the borrowed gradient]: the engine no longer copies it, so check every way it can
    // flow: straight to a leaf (a leaf root, add's pass-through, twice through add), into a sum
    // of pending gradients (a diamond), and into a backward function (mul).
    const before = cc.memory().tensors;
    const a = cc.tensor([1, 2, 3], { requiresGrad: true }), b = cc.tensor([4, 5, 6], { requiresGrad: true });
    const g = cc.tensor([1, 10, 100]);
    cc.tidy(() => a.add(b).backward(g));
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([1, 10, 100]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([1, 10, 100]);
    expect(a.grad === g || a.grad!._sharesMemoryWith(g) || b.grad!._sharesMemoryWith(g) || a.grad!._sharesMemoryWith(b.grad!)).to.equal(false);
    cc.tidy(() => a.mul(2).add(a).add(b.mul(b)).backward(g));   // a diamond and a product
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([4, 40, 400]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([9, 110, 1300]);
    const leaf = cc.tensor([7, 8, 9], { requiresGrad: true });
    leaf.backward(g);
    expect(leaf.grad!._sharesMemoryWith(g)).to.equal(false);
    expect(Array.from(g.dataSync())).to.deep.equal([1, 10, 100]);   // still the caller's, unchanged
    g.dispose();
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([4, 40, 400]);
    expect(Array.from(leaf.grad!.dataSync())).to.deep.equal([1, 10, 100]);
    // A failing backward function leaves the caller's gradient alive too.
    const y = record('failing', cc.noGrad(() => a.mul(1)), [a], () => { throw new Error('boom'); });
    const g2 = cc.ones([3]);
    expect(() => y.backward(g2)).to.throw('boom');
    expect(Array.from(g2.dataSync())).to.deep.equal([1, 1, 1]);
    g2.dispose();
    expectError(() => y.backward(g2), 'E_DISPOSED');
    for (const t of [a, b, leaf, y]) { t.grad?.dispose(); t.dispose(); }
    expect(cc.memory().tensors).to.equal(before);
  });
});

describe('autograd: semantics', () => {
  it('requiresGrad on leaves: option, setter, requiresGrad_(), creators; isLeaf', () => {
    expect(cc.tensor([1], { requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.zeros([2], { requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.ones([2], { dtype: 'float32', requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.full([2], 3, { requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.randn([2], 0, 1, { requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.rand([2], 0, 1, { requiresGrad: true }).requiresGrad).to.equal(true);
    expect(cc.zeros([2], 'int32').dtype).to.equal('int32');
    const w = cc.randn([2]);
    expect(w.requiresGrad).to.equal(false);
    expect(w.requiresGrad_()).to.equal(w);
    expect(w.requiresGrad).to.equal(true);
    const y = w.mul(2);
    expect(y.requiresGrad).to.equal(true);
    expect(y.isLeaf).to.equal(false);
    expect(w.isLeaf).to.equal(true);
    expect(w.grad).to.equal(null);
    expect(cc.ones([2]).mul(2).requiresGrad).to.equal(false);
    w.requiresGrad = false;
    expect(w.mul(2).requiresGrad).to.equal(false);
  });

  it('gradients accumulate over backward calls until grad = null or zeroGrad()', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    w.mul(3).sum().backward();
    w.mul(3).sum().backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([6, 6]);
    const first = w.grad!;
    w.grad = null;
    expect(first.isDisposed).to.equal(true);   // the leaf owned it
    w.square().sum().backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([2, 4]);
    w.zeroGrad();
    expect(w.grad).to.equal(null);
    w.grad = cc.ones([2]);
    w.sum().backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([2, 2]);
  });

  it('noGrad records nothing, restores the mode (even on throw); enableGrad re-enables', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    const y = cc.noGrad(() => {
      expect(cc.isGradEnabled()).to.equal(false);
      return w.mul(2).add(1);
    });
    expect(y.requiresGrad).to.equal(false);
    expect(y.gradFn).to.equal(null);
    expect(cc.isGradEnabled()).to.equal(true);
    expect(() => cc.noGrad(() => { throw new Error('boom'); })).to.throw('boom');
    expect(cc.isGradEnabled()).to.equal(true);
    const z = cc.noGrad(() => cc.enableGrad(() => w.mul(2)));
    expect(z.requiresGrad).to.equal(true);
    cc.setGradEnabled(false);
    expect(w.mul(2).requiresGrad).to.equal(false);
    cc.setGradEnabled(true);
  });

  it('detach shares memory and stops gradients', () => {
    const x = cc.tensor([1, 2, 3], { requiresGrad: true });
    const d = x.detach();
    expect(d.requiresGrad).to.equal(false);
    expect(d.isLeaf).to.equal(true);
    expect(Array.from(d.dataSync())).to.deep.equal([1, 2, 3]);
    x.mul(d).sum().backward();   // d/dx (x * const) = const
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([1, 2, 3]);
    const before = cc.memory().devices.cpu.storages;
    const d2 = x.detach();
    expect(cc.memory().devices.cpu.storages).to.equal(before);   // no copy
    d2.dispose();
  });

  it('retainGraph allows a second backward; without it the second one is an E_ARG naming the freed op', () => {
    const x = cc.tensor([1, 2], { requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([4, 8]);
    expectError(() => loss.backward(), 'E_ARG', /`mul`.*freed.*retainGraph/);
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([4, 8]);   // unchanged by the failed call
  });

  // As PyTorch's "modified by an inplace operation": every in-place writer bumps its memory's
  // version, and backward checks the whole graph before computing anything.
  it('backward through a tensor written in place since it was saved is E_STATE, and changes nothing', () => {
    const a = cc.tensor([1, 2, 3], { requiresGrad: true });
    const loss = a.square().sum();
    cc.optim.sgdStep(a, cc.ones([3]), null, { lr: 1 });              // a -> [0, 1, 2]
    expectError(() => loss.backward(), 'E_STATE', /`square` saved for the gradient was modified in place/);
    expect(a.grad).to.equal(null);

    const w = cc.ones([2], { requiresGrad: true });
    const l2 = w.mul(w.reshape([1, 2])).sum();                        // a view shares the version
    cc.nn.init.constant_(w, 5);
    expectError(() => l2.backward(), 'E_STATE', /`mul`/);

    // The usual loop (forward, backward, step) and retainGraph without writes are unaffected.
    const p = cc.tensor([1, -2, 3], { requiresGrad: true });
    const opt = new cc.optim.Adam([p], { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      const l = p.square().sum();
      opt.zeroGrad();
      l.backward();
      opt.step();
    }
    const l3 = p.square().sum();
    l3.backward(undefined, { retainGraph: true });
    l3.backward(undefined, { retainGraph: true });
    opt.step();
    expectError(() => l3.backward(), 'E_STATE', /optimizer step/);
  });

  it('batch norm: a second forward before backward is fine (running statistics are not saved); a new weight is not', () => {
    const bn = new cc.nn.BatchNorm2d(2);
    const x = cc.randn([2, 2, 3, 3]).requiresGrad_();
    const y1 = bn.call(x).square().sum();
    const y2 = bn.call(x.mul(2)).square().sum();                       // updates runningMean/Var in place
    y1.add(y2).backward();
    expect(x.grad).to.not.equal(null);
    const y3 = bn.call(x).square().sum();
    bn.loadStateDict({ weight: cc.full([2], 3) }, { strict: false });   // written in place: saved by y3
    expectError(() => y3.backward(), 'E_STATE', /`batchNorm`/);
  });

  it('saved tensors survive tidy() and dispose() of the originals', async () => {
    const w = cc.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const x = cc.tensor([[1, -1], [2, 0.5]]);
    // Every intermediate (and x) is disposed before backward runs.
    const loss = cc.tidy(() => cc.F.sigmoid(cc.matmul(x, w)).mul(cc.matmul(x, w)).sum());
    x.dispose();
    loss.backward();
    // Reference: d/dw sum(s(z) z) with z = x w, dz = s(z) + z s(z)(1 - s(z)).
    const xv = [[1, -1], [2, 0.5]], wv = [[1, 2], [3, 4]];
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const expected = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const z = xv[i][0] * wv[0][j] + xv[i][1] * wv[1][j];
      const dz = s(z) + z * s(z) * (1 - s(z));
      for (let k = 0; k < 2; k++) expected[k * 2 + j] += xv[i][k] * dz;
    }
    expectClose(w.grad!.dataSync(), expected, 1e-5, 1e-5);
  });

  it('leaf gradients outlive the tidy that ran backward; everything else made there is freed', async () => {
    await settle();
    const w = cc.randn([4, 3], 0, 1, { requiresGrad: true });
    const x = cc.randn([5, 4]);
    await cc.sync();
    const before = cc.memory().tensors;
    cc.tidy(() => {
      cc.F.relu(cc.matmul(x, w)).square().mean().backward();
    });
    await cc.sync();
    expect(w.grad!.isDisposed).to.equal(false);
    expect(cc.memory().tensors).to.equal(before + 1);   // w.grad only
    // A leaf made inside a tidy may return its gradient.
    const g = cc.tidy(() => {
      const v = cc.tensor([1, 2], { requiresGrad: true });
      v.square().sum().backward();
      return v.grad!;
    });
    expect(Array.from(g.dataSync())).to.deep.equal([2, 4]);
    g.dispose();
    w.grad = null;
    await cc.sync();
    expect(cc.memory().tensors).to.equal(before);
  });

  it('memory stays flat over 2000 steps of a tiny training loop', async () => {
    await settle();
    cc.manualSeed(3);
    const w = cc.randn([8, 4], 0, 0.3, { requiresGrad: true });
    const b = cc.zeros([4], { requiresGrad: true });
    const x = cc.randn([16, 8]);
    const target = cc.randn([16, 4]);
    const params = [w, b];
    const step = () => {
      const loss = cc.tidy(() => cc.mean(cc.square(cc.sub(cc.F.tanh(cc.add(cc.matmul(x, w), b)), target))));
      loss.backward();
      const value = loss;
      for (const p of params) {
        cc.optim.sgdStep(p, p.grad!, null, { lr: 0.1 });
        p.grad = null;
      }
      return value;
    };
    const first = step();
    const firstLoss = first.item();
    first.dispose();
    await settle();
    const before = cc.memory();
    let last = 0;
    for (let i = 0; i < 2000; i++) {
      const l = step();
      if (i === 1999) last = l.item();
      l.dispose();
    }
    await settle();
    const after = cc.memory();
    expect(after.tensors).to.equal(before.tensors);
    expect(after.bytes).to.equal(before.bytes);
    expect(last).to.be.lessThan(firstLoss);   // it did learn
  });

  it('an unreachable graph that never ran backward is freed by the garbage collector', async function () {
    if (!gc) this.skip();
    await settle();
    const w = cc.randn([32, 32], 0, 1, { requiresGrad: true });
    await cc.sync();
    const before = cc.memory().tensors;
    (() => {
      for (let i = 0; i < 50; i++) cc.tidy(() => { w.mul(w).exp().sum(); });   // graphs kept only by their (disposed) outputs
    })();
    for (let round = 0; round < 20 && cc.memory().tensors > before; round++) {
      gc!();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(cc.memory().tensors).to.equal(before);
  });

  it('a graph whose tensors are all disposed frees what it saved at once, without the garbage collector (Note [graph lifetime])', async () => {
    await settle();
    const w = cc.randn([64, 64], 0, 0.1, { requiresGrad: true });
    await cc.sync();
    const before = cc.memory();
    // A validation pass with gradients on: the output goes with the tidy, and the graph with it.
    for (let i = 0; i < 20; i++) {
      const v = cc.tidy(() => cc.F.sigmoid(cc.matmul(w, w)).mul(w).exp().sum());
      v.dispose();
      expect(cc.memory().tensors, `pass ${i}`).to.equal(before.tensors);
    }
    await cc.sync();
    expect(cc.memory().bytes).to.equal(before.bytes);
    // A chain 20000 ops long goes the same way (a loop, not recursion).
    const deep = cc.tidy(() => {
      let t = w.mul(1);
      for (let i = 0; i < 20000; i++) t = t.mul(1.000001);   // each mul saves its input
      return t;
    });
    expect(cc.memory().tensors).to.be.above(before.tensors + 20000);   // deep, and what its graph saved
    deep.dispose();
    expect(cc.memory().tensors).to.equal(before.tensors);
  });

  it('what can still reach a node keeps it: a sibling branch, a kept intermediate, a retained graph', () => {
    const w = cc.tensor([1, -2, 3], { requiresGrad: true });
    const y = w.mul(2);
    const a = y.exp().sum(), b = y.square().sum();
    a.dispose();
    y.dispose();   // y's node lives on in b's
    b.backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([8, -16, 24]);   // d/dw sum((2w)^2) = 8w
    w.grad = null;
    // A kept intermediate: roots built from it, and disposed, leave it usable.
    const z = w.mul(3);
    for (let i = 0; i < 3; i++) cc.tidy(() => { z.sum(); });
    z.sum().backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([3, 3, 3]);
    w.grad = null;
    // retainGraph, then the root disposed: nothing runs twice, nothing leaks.
    const r = w.square().sum();
    r.backward(undefined, { retainGraph: true });
    r.backward();
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([4, -8, 12]);
    r.dispose(); b.dispose(); z.dispose(); w.dispose();
  });

  it('add and sub save nothing: their inputs may be written in place before backward (as PyTorch)', () => {
    const w = cc.tensor([1, 2, 3], { requiresGrad: true });
    const before = cc.memory().tensors;
    const y = cc.tidy(() => w.add(1).sub(w));
    expect(cc.memory().tensors).to.equal(before + 1);   // y alone: no saved handles
    const step = () => cc.tidy(() => cc.noGrad(() => cc.optim.sgdStep(w, cc.tensor([1, 1, 1]), null, { lr: 0.5 })));
    step();   // w written in place
    cc.tidy(() => y.sum().backward());
    expect(Array.from(w.grad!.dataSync())).to.deep.equal([0, 0, 0]);   // d(w + 1 - w)/dw
    const m = w.mul(w);
    step();
    expectError(() => cc.tidy(() => m.sum().backward()), 'E_STATE', /modified in place/);
    y.dispose(); m.dispose(); w.dispose();
  });
});

describe('autograd: errors', () => {
  it('backward on a tensor that does not require grad', () => {
    expectError(() => cc.ones([1]).backward(), 'E_ARG', /does not require grad/);
    const w = cc.ones([1], { requiresGrad: true });
    expectError(() => cc.noGrad(() => w.mul(2)).backward(), 'E_ARG', /does not require grad/);
  });

  it('backward of a non-scalar without gradient, or with a wrong one', () => {
    const y = cc.ones([2, 3], { requiresGrad: true }).mul(2);
    expectError(() => y.backward(), 'E_SHAPE', /\[2, 3\].*gradient/);
    expectError(() => y.backward(cc.ones([3, 2])), 'E_SHAPE', /gradient/);
    expectError(() => y.backward(cc.ones([2, 3], 'int32')), 'E_DTYPE');
    expectError(() => y.backward(42 as unknown as cc.Tensor), 'E_ARG');
    expectError(() => y.backward(cc.ones([2, 3]), { retainGraph: 'yes' as unknown as boolean }), 'E_ARG');
  });

  it('backward on a disposed tensor', () => {
    const y = cc.ones([1], { requiresGrad: true }).mul(2);
    y.dispose();
    expectError(() => y.backward(), 'E_DISPOSED');
  });

  it('requiresGrad on an int32 tensor or turned off on a non-leaf', () => {
    expectError(() => { cc.ones([2], 'int32').requiresGrad = true; }, 'E_DTYPE');
    expectError(() => cc.tensor([1], { dtype: 'int32', requiresGrad: true }), 'E_DTYPE');
    const y = cc.ones([2], { requiresGrad: true }).mul(2);
    expectError(() => { y.requiresGrad = false; }, 'E_ARG', /leaf.*detach/);
    expectError(() => { y.requiresGrad = 'yes' as unknown as boolean; }, 'E_ARG');
  });

  it('grad of the wrong shape or dtype', () => {
    const w = cc.ones([2], { requiresGrad: true });
    expectError(() => { w.grad = cc.ones([3]); }, 'E_SHAPE');
    expectError(() => { w.grad = cc.ones([2], 'int32') as unknown as T; }, 'E_DTYPE');
  });

  it('noGrad/enableGrad refuse async functions and non-functions', () => {
    expectError(() => cc.noGrad((async () => 1) as unknown as () => number), 'E_ARG', /synchronous/);
    expect(cc.isGradEnabled()).to.equal(true);
    expectError(() => cc.enableGrad(42 as unknown as () => void), 'E_ARG');
    expectError(() => cc.setGradEnabled(1 as unknown as boolean), 'E_ARG');
  });

  it('record() catches a backward returning the wrong shape, dtype or count (E_INTERNAL with the op name)', () => {
    const x = cc.ones([2, 3], { requiresGrad: true });
    const wrongShape = record('myOp', cc.noGrad(() => x.mul(2)), [x], (dy) => [cc.sum(dy, 0)]);
    expectError(() => wrongShape.sum().backward(), 'E_INTERNAL', /myOp backward: gradient 0 has shape \[3\].*\[2, 3\]/);
    const wrongDtype = record('myOp2', cc.noGrad(() => x.mul(2)), [x], () => [cc.zeros([2, 3], 'int32')]);
    expectError(() => wrongDtype.sum().backward(), 'E_INTERNAL', /myOp2 backward/);
    const wrongCount = record('myOp3', cc.noGrad(() => x.mul(2)), [x], (dy) => [dy, dy]);
    expectError(() => wrongCount.sum().backward(), 'E_INTERNAL', /myOp3 backward: expected an array of 1/);
    expect(x.grad).to.equal(null);
    expectError(() => record('myOp4', cc.noGrad(() => cc.argmax(x, 1)), [x], (dy) => [dy]), 'E_INTERNAL', /int32/);
  });

  it('an error in a backward function frees the gradients in flight', async () => {
    await settle();
    const x = cc.ones([2, 3], { requiresGrad: true });
    await cc.sync();
    const before = cc.memory().tensors;
    cc.tidy(() => {
      const bad = record('boom', cc.noGrad(() => x.mul(2)), [x], () => { cc.ones([5]); throw new Error('boom'); });
      expect(() => bad.mul(3).sum().backward()).to.throw('boom');
    });
    await settle();
    expect(cc.memory().tensors).to.equal(before);
  });
});
