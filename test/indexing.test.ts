/**
 * Indexing writers and readers, splits, masks and logic (lib/indexing.ts) and the in-place
 * methods (lib/inplace.ts): values and gradients against PyTorch (test/fixtures/make/
 * indexing.py, float64), gradients against finite differences, the documented duplicate-index
 * rule, the in-place rules (graphs, leaves, version counters), typed errors, and the GPU
 * against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, tapeCheck } from './helpers';

type Values = { shape: number[]; values: (number | string)[]; dtype?: 'int32' };
interface Case {
  op: string; inputs: Record<string, Values>; params: Record<string, unknown>;
  y?: Values | boolean; ys?: Values[]; dy?: Values; grads?: Record<string, Values>;
}

const numbers = (v: Values) => v.values.map(Number);
const make = (v: Values, requiresGrad = false) => cc.tensor(numbers(v), { shape: v.shape, dtype: v.dtype ?? 'float32', requiresGrad });
const same = (a: cc.Tensor, b: Values, what: string) => {
  expect(a.shape, `${what} shape`).to.deep.equal(b.shape);
  expect(a.dtype, `${what} dtype`).to.equal(b.dtype ?? 'float32');
  expectClose(a.dataSync(), numbers(b), 2e-6, 2e-6, what);
};
const I = (values: number[], shape?: number[]) => cc.tensor(values, { dtype: 'int32', shape });

function apply(c: Case, t: Record<string, cc.Tensor>): cc.Tensor | cc.Tensor[] | boolean {
  const p = c.params as Record<string, never>;
  const idx = t.index as cc.Tensor<'int32'>;
  switch (c.op) {
    case 'scatter': return cc.scatter(t.x, p.dim, idx, t.src);
    case 'scatterValue': return cc.scatter(t.x, p.dim, idx, p.value);
    case 'scatterReduce': return cc.scatterReduce(t.x, p.dim, idx, t.src, p.reduce, { includeSelf: p.includeSelf });
    case 'indexFill': return cc.indexFill(t.x, p.dim, idx, p.value);
    case 'indexFillTensor': return t.x.indexFill(p.dim, idx, t.value);
    case 'indexCopy': return cc.indexCopy(t.x, p.dim, idx, t.src);
    case 'indexPut': return cc.indexPut(t.x, [t.i0, t.i1, t.i2].filter((v) => v !== undefined) as cc.Tensor<'int32'>[], t.values, { accumulate: p.accumulate });
    case 'maskedScatter': return cc.maskedScatter(t.x, t.mask, t.source);
    case 'take': return cc.take(t.x, idx);
    case 'tensorSplit': return cc.tensorSplit(t.x, p.sections ?? p.indices, p.dim);
    case 'hsplit': return cc.hsplit(t.x, p.sections ?? p.indices);
    case 'vsplit': return t.x.vsplit(p.sections ?? p.indices);
    case 'dsplit': return cc.dsplit(t.x, p.sections ?? p.indices);
    case 'unbind': return cc.unbind(t.x, p.dim);
    case 'flipud': return cc.flipud(t.x);
    case 'fliplr': return t.x.fliplr();
    case 'isin': return cc.isin(t.elements, t.test, { invert: p.invert });
    case 'isposinf': return cc.isposinf(t.x);
    case 'isneginf': return t.x.isneginf();
    case 'logicalAnd': return cc.logicalAnd(t.a, t.b);
    case 'logicalOr': return t.a.logicalOr(t.b);
    case 'logicalXor': return cc.logicalXor(t.a, t.b);
    case 'logicalNot': return cc.logicalNot(t.x);
    case 'equal': return cc.equal(t.a, t.b);
    case 'clip': return cc.clip(t.x, -0.5, 0.7);
    case 'add_': return t.x.clone().add_(t.other, { alpha: p.alpha });
    case 'sub_': return t.x.clone().sub_(t.other, { alpha: p.alpha });
    case 'mul_': return t.x.clone().mul_(t.other);
    case 'div_': return t.x.clone().div_(t.other);
    case 'clamp_': return t.x.clone().clamp_(p.min, p.max);
    case 'copy_': case 'copy_int': return t.x.clone().copy_(t.src);
    default: throw new Error(`no case ${c.op}`);
  }
}

describe('indexing against PyTorch', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('indexing');

  it('has a case for every deterministic function', () => {
    const ops = new Set(cases.map((c) => c.op));
    for (const op of ['scatter', 'scatterValue', 'scatterReduce', 'indexFill', 'indexCopy', 'indexPut', 'maskedScatter', 'take', 'tensorSplit', 'hsplit', 'vsplit',
      'dsplit', 'unbind', 'flipud', 'fliplr', 'isin', 'isposinf', 'isneginf', 'logicalAnd', 'logicalOr', 'logicalXor', 'logicalNot', 'equal', 'clip', 'add_', 'copy_']) {
      expect(ops.has(op), op).to.equal(true);
    }
  });

  cases.forEach((c, n) => {
    const what = `${c.op} #${n} ${JSON.stringify(c.params)}`;
    it(what, () => {
      const t: Record<string, cc.Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs)) t[k] = make(v, c.grads !== undefined && k in c.grads);
      const out = apply(c, t);
      if (typeof c.y === 'boolean') {
        expect(out, what).to.equal(c.y);
        return;
      }
      if (c.ys) {
        const list = out as cc.Tensor[];
        expect(list.length, `${what} pieces`).to.equal(c.ys.length);
        list.forEach((y, i) => same(y, c.ys![i], `${what} piece ${i}`));
        return;
      }
      const y = out as cc.Tensor;
      same(y, c.y as Values, what);
      if (c.grads) {
        y.backward(make(c.dy!));
        for (const [k, g] of Object.entries(c.grads)) {
          expect(t[k].grad, `${what} grad ${k}`).to.not.equal(null);
          same(t[k].grad!, g, `${what} grad ${k}`);
        }
      }
    });
  });
});

describe('indexing: rules beyond the fixture', () => {
  it('duplicate indices: the last write in index order wins (scatter, indexCopy, indexPut)', () => {
    expect(cc.scatter(cc.zeros([3]), 0, I([2, 0, 2, 2]), cc.tensor([1, 2, 3, 4])).tolist()).to.deep.equal([2, 0, 4]);
    expect(cc.scatter(cc.zeros([2, 2]), 1, I([1, 1, 0, 0], [2, 2]), cc.tensor([[1, 2], [3, 4]])).tolist()).to.deep.equal([[0, 2], [4, 0]]);
    expect(cc.indexCopy(cc.zeros([3]), 0, I([1, 1]), cc.tensor([5, 6])).tolist()).to.deep.equal([0, 6, 0]);
    expect(cc.indexPut(cc.zeros([2, 2]), [I([0, 0, 1])], cc.tensor([[1, 2], [3, 4], [5, 6]])).tolist()).to.deep.equal([[3, 4], [5, 6]]);
    // The losing write gets no gradient (PyTorch gives dy to every duplicate).
    const src = cc.tensor([1, 2, 3], { requiresGrad: true });
    cc.scatter(cc.zeros([2]), 0, I([1, 1, 0]), src).mul(cc.tensor([10, 20])).sum().backward();
    expect(src.grad!.tolist()).to.deep.equal([0, 20, 10]);
  });

  it('scatter without gradients (native on the CPU) gives the composed form\'s values, any axis, dtype and thread count', () => {
    // The composed form runs when x requires a gradient; duplicates in every line.
    const before = cc.getNumThreads();
    try {
      for (const [shape, ishape, dim] of [[[6, 9, 5], [4, 12, 3], 1], [[7, 33], [7, 50], 1], [[40, 3], [90, 2], 0], [[5, 4, 6], [5, 4, 6], 2]] as [number[], number[], number][]) {
        const n = ishape.reduce((a, b) => a * b, 1);
        const index = I(Array.from({ length: n }, (_, k) => (k * 7919 + 13) % shape[dim]), ishape);
        const x = cc.randn(shape), src = cc.randn(ishape);
        const want = cc.scatter(x.detach().requiresGrad_(), dim, index, src).detach();
        const wantValue = cc.scatter(x.detach().requiresGrad_(), dim, index, -2.5).detach();
        for (const threads of [1, 2, 3]) {
          cc.setNumThreads(threads);
          expect(cc.scatter(x, dim, index, src).dataSync(), `${shape} src ${threads}`).to.deep.equal(want.dataSync());
          expect(cc.scatter(x, dim, index, -2.5).dataSync(), `${shape} value ${threads}`).to.deep.equal(wantValue.dataSync());
        }
        // int32 against the rule written out: y = x; y[.., index[p], ..] = src[p] in index order.
        const xi = cc.cast(cc.mul(x, 100), 'int32'), si = cc.cast(cc.mul(src, 100), 'int32');
        const ref = Int32Array.from(xi.dataSync()), sv = si.dataSync(), iv = index.dataSync();
        const stride = (s: number[], d: number) => s.slice(d + 1).reduce((a, b) => a * b, 1);
        for (let p = 0; p < n; p++) {
          let target = 0, source = 0;
          for (let d = 0; d < shape.length; d++) {
            const q = Math.floor(p / stride(ishape, d)) % ishape[d];
            target += (d === dim ? iv[p] : q) * stride(shape, d);
            source += q * stride(ishape, d);
          }
          ref[target] = sv[source];
        }
        expect(Array.from(cc.scatter(xi, dim, index, si).dataSync()), `${shape} int32`).to.deep.equal(Array.from(ref));
      }
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('indexFill with a number and no gradients (native on the CPU) gives the composed form\'s values', () => {
    for (const [shape, dim, idx] of [[[6, 9, 5], 1, [0, -1, 3, 3]], [[512, 40], 0, [5, 500, -2]], [[7, 33], 1, [32]], [[4, 3, 2], 2, [1, 0]]] as [number[], number, number[]][]) {
      const x = cc.randn(shape), index = I(idx);
      const want = cc.indexFill(x.detach().requiresGrad_(), dim, index, -7.5).detach();
      expect(cc.indexFill(x, dim, index, -7.5).dataSync(), `${shape} ${dim}`).to.deep.equal(want.dataSync());
      const xi = cc.cast(cc.mul(x, 10), 'int32');
      const wi = Int32Array.from(xi.dataSync()), strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      wi.forEach((_, p) => { const c = Math.floor(p / strides[dim]) % shape[dim]; if (idx.some((k) => (k + shape[dim]) % shape[dim] === c)) wi[p] = 9; });
      expect(Array.from(cc.indexFill(xi, dim, index, 9).dataSync()), `${shape} int32`).to.deep.equal(Array.from(wi));
    }
    expectError(() => cc.indexFill(cc.zeros([3, 2]), 0, I([3]), 1), 'E_INDEX');
  });

  it('int32 tensors: scatter, indexFill, take, indexPut, scatterReduce sum/amax/amin keep int32', () => {
    const x = I([1, 2, 3, 4], [2, 2]);
    expect(cc.scatter(x, 1, I([1, 0], [2, 1]), 9).tolist()).to.deep.equal([[1, 9], [9, 4]]);
    expect(cc.indexFill(x, 0, I([1]), -7).tolist()).to.deep.equal([[1, 2], [-7, -7]]);
    expect(cc.take(x, I([3, 0])).tolist()).to.deep.equal([4, 1]);
    const acc = cc.indexPut(x, [I([0, 0]), I([1, 1])], 5, { accumulate: true });
    expect([acc.dtype, acc.tolist()]).to.deep.equal(['int32', [[1, 12], [3, 4]]]);
    const r = cc.scatterReduce(x, 0, I([0, 0, 0, 0], [2, 2]), I([5, -9, 0, 3], [2, 2]), 'sum', { includeSelf: false });
    expect([r.dtype, r.tolist()]).to.deep.equal(['int32', [[5, -6], [3, 4]]]);
    expect(cc.scatterReduce(x, 0, I([1, 1], [1, 2]), I([8, 0], [1, 2]), 'amin').tolist()).to.deep.equal([[1, 2], [3, 0]]);
  });

  it('gradients against finite differences', () => {
    const vals = (n: number, scale = 0.1) => Float64Array.from({ length: n }, (_, i) => ((i * 7) % n) * scale - 0.5);
    tapeCheck('scatter', [{ shape: [3, 4] }, { shape: [2, 4] }], ([x, s]) => cc.scatter(x, 0, I([0, 2, 1, 0, 2, 0, 2, 1], [2, 4]), s));
    for (const reduce of ['sum', 'prod', 'mean', 'amax', 'amin'] as const) {
      for (const includeSelf of [true, false]) {
        tapeCheck(`scatterReduce ${reduce} ${includeSelf}`, [{ shape: [3, 2], values: vals(6) }, { shape: [4, 2], values: vals(8, 0.13) }],
          ([x, s]) => cc.scatterReduce(x, 0, I([0, 2, 0, 0, 2, 1, 0, 1], [4, 2]), s, reduce, { includeSelf }), { h: 1e-3, rtol: 3e-2, atol: 5e-3 });
      }
    }
    tapeCheck('indexFill value', [{ shape: [3, 4] }, { shape: [] }], ([x, v]) => cc.indexFill(x, 1, I([3, -4]), v));
    tapeCheck('indexCopy', [{ shape: [3, 4] }, { shape: [3, 2] }], ([x, s]) => cc.indexCopy(x, 1, I([2, 0]), s));
    tapeCheck('indexPut', [{ shape: [3, 4] }, { shape: [2] }], ([x, v]) => cc.indexPut(x, [I([1, 2], [2, 1]), I([0, 3])], v));
    tapeCheck('indexPut accumulate', [{ shape: [3, 4] }, { shape: [3, 4] }], ([x, v]) => cc.indexPut(x, [I([2, 0, 2])], v, { accumulate: true }));
    tapeCheck('maskedScatter', [{ shape: [2, 3] }, { shape: [5] }], ([x, s]) => cc.maskedScatter(x, cc.tensor([1, 0, 1]), s));
    tapeCheck('take', [{ shape: [2, 3] }], ([x]) => cc.take(x, I([5, -1, 0, 2], [2, 2])));
    tapeCheck('unbind', [{ shape: [2, 3] }], ([x]) => cc.stack(cc.unbind(x, 1).reverse(), 0));
    tapeCheck('tensorSplit', [{ shape: [5, 2] }], ([x]) => cc.cat(cc.tensorSplit(x, 3).reverse(), 0));
    tapeCheck('expandAs', [{ shape: [1, 3] }], ([x]) => x.expandAs(cc.zeros([2, 3])));
  });

  it('the *As helpers, and methods as the functions', () => {
    const x = cc.tensor([1.5, -2.5, 3, 4]);
    expect(x.viewAs(cc.zeros([2, 2])).shape).to.deep.equal([2, 2]);
    expect(x.reshapeAs(cc.zeros([4, 1])).shape).to.deep.equal([4, 1]);
    const asInt = x.typeAs(I([0]));
    expect([asInt.dtype, asInt.tolist()]).to.deep.equal(['int32', [1, -2, 3, 4]]);
    expect(x.typeAs(cc.zeros([1]))).to.equal(x);
    expect(cc.tensor([[1, 2]]).expandAs(cc.zeros([3, 2])).tolist()).to.deep.equal([[1, 2], [1, 2], [1, 2]]);
    expect(x.clip(0, 2).tolist()).to.deep.equal([1.5, 0, 2, 2]);
    expect(x.take(I([-1])).tolist()).to.deep.equal([4]);
    expect(x.equal(x.clone())).to.equal(true);
    expect(cc.equal(x, cc.tensor([1.5, -2.5, 3, 4.5]))).to.equal(false);
    expect(cc.equal(I([1, 2]), cc.tensor([1, 2]))).to.equal(true);
    expect(cc.equal(cc.zeros([0]), cc.zeros([0]))).to.equal(true);
    expect(cc.isin(2, cc.tensor([1, 2])).tolist()).to.equal(1);
    expect(cc.isin(cc.tensor([1, 5]), cc.zeros([0])).tolist()).to.deep.equal([0, 0]);
    expect(cc.logicalNot(I([0, 3])).tolist()).to.deep.equal([1, 0]);
    expect(cc.isposinf(I([1])).tolist()).to.deep.equal([0]);
    expect(x.scatter(0, I([0]), 9).tolist()).to.deep.equal([9, -2.5, 3, 4]);
    expect(x.indexCopy(0, I([3]), cc.tensor([0])).tolist()).to.deep.equal([1.5, -2.5, 3, 0]);
    expect(x.indexPut([I([1])], 0).tolist()).to.deep.equal([1.5, 0, 3, 4]);
    expect(x.maskedScatter(cc.tensor([0, 0, 0, 1]), cc.tensor([7, 8])).tolist()).to.deep.equal([1.5, -2.5, 3, 7]);
    expect(x.scatterReduce(0, I([0, 0]), cc.tensor([2, 3]), 'prod').tolist()).to.deep.equal([9, -2.5, 3, 4]);
    expect(x.unbind().length).to.equal(4);
    expect(x.tensorSplit([2]).map((p) => p.tolist())).to.deep.equal([[1.5, -2.5], [3, 4]]);
    expect(x.tensorSplit(I([1, 3])).map((p) => p.size)).to.deep.equal([1, 2, 1]);
    expect(x.tensorSplit(cc.tensor(2, { dtype: 'int32' })).map((p) => p.size)).to.deep.equal([2, 2]);
    expect(x.hsplit(2).length).to.equal(2);
    expect(x.flipud().tolist()).to.deep.equal([4, 3, -2.5, 1.5]);
    expect(x.logicalAnd(cc.tensor([1, 0, 1, 0])).tolist()).to.deep.equal([1, 0, 1, 0]);
    expect(x.logicalXor(cc.tensor([1, 0, 1, 0])).tolist()).to.deep.equal([0, 1, 0, 1]);
    // NaN is true; float32 pairs run natively, an int32 operand through its truth mask; broadcasting.
    expect(cc.logicalAnd(cc.tensor([NaN, 0, 2]), cc.tensor([1, 1, 0], { dtype: 'int32' })).tolist()).to.deep.equal([1, 0, 0]);
    expect(cc.logicalOr(cc.tensor([[NaN], [0]]), cc.tensor([0, -0])).tolist()).to.deep.equal([[1, 1], [0, 0]]);
    expectError(() => cc.logicalXor(cc.tensor([NaN, 0]), 1 as never), 'E_ARG');
    expect(x.logicalNot().tolist()).to.deep.equal([0, 0, 0, 0]);
    expect(x.isposinf().tolist()).to.deep.equal([0, 0, 0, 0]);
    // A result of a function on a graph is not recorded when it is a mask.
    expect(cc.logicalOr(cc.ones([2], { requiresGrad: true }), cc.zeros([2])).requiresGrad).to.equal(false);
  });
});

describe('in-place methods', () => {
  it('write the values in place and return this', () => {
    const x = cc.zeros([2, 3]);
    const before = native.version(x.handle());
    expect(x.fill_(2)).to.equal(x);
    expect(x.add_(cc.tensor([1, 2, 3]))).to.equal(x);
    expect(x.tolist()).to.deep.equal([[3, 4, 5], [3, 4, 5]]);
    expect(x.sub_(1, { alpha: 2 }).mul_(cc.tensor([[1], [-1]])).div_(2).tolist()).to.deep.equal([[0.5, 1, 1.5], [-0.5, -1, -1.5]]);
    expect(x.clamp_(-1, 1).tolist()).to.deep.equal([[0.5, 1, 1], [-0.5, -1, -1]]);
    expect(x.clip_(cc.tensor([0, 0, -2])).tolist()).to.deep.equal([[0.5, 1, 1], [0, 0, -1]]);
    expect(x.copy_(I([7, 8, 9])).tolist()).to.deep.equal([[7, 8, 9], [7, 8, 9]]);
    expect(x.zero_().tolist()).to.deep.equal([[0, 0, 0], [0, 0, 0]]);
    expect(x.fill_(cc.tensor(4)).tolist()).to.deep.equal([[4, 4, 4], [4, 4, 4]]);
    // Every write bumped the version counter of x's memory.
    expect(native.version(x.handle()) - before).to.be.at.least(10);
    const n = I([1, 2, 3]);
    expect(n.fill_(2.9).tolist()).to.deep.equal([2, 2, 2]);
    expect(n.copy_(cc.tensor([1.7, -2.7, 5])).tolist()).to.deep.equal([1, -2, 5]);
    expect(n.clamp_(0, 3).tolist()).to.deep.equal([1, 0, 3]);
    expect(n.zero_().tolist()).to.deep.equal([0, 0, 0]);
  });

  it('writes seen through views (detach shares memory), and queued reads see the old values', () => {
    const x = cc.tensor([1, 2]);
    const view = x.detach();
    const old = x.mul(1);
    x.add_(10);
    expect(view.tolist()).to.deep.equal([11, 12]);
    expect(old.tolist()).to.deep.equal([1, 2]);
  });

  it('a leaf that requires grad: E_STATE unless in noGrad', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    expectError(() => w.add_(1), 'E_STATE', /noGrad/);
    expectError(() => w.copy_(cc.zeros([2])), 'E_STATE');
    expectError(() => w.uniform_(), 'E_STATE');
    expectError(() => w.fill_(0), 'E_STATE');
    expect(w.tolist()).to.deep.equal([1, 2]);
    const r = cc.noGrad(() => w.mul_(3));
    expect(r).to.equal(w);
    expect([w.tolist(), w.requiresGrad, w.isLeaf]).to.deep.equal([[3, 6], true, true]);
  });

  it('a tensor with a gradFn: E_STATE (no history rebasing), in or out of noGrad', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    const y = w.mul(2);
    expectError(() => y.add_(1), 'E_STATE', /rebase/);
    expectError(() => cc.noGrad(() => y.zero_()), 'E_STATE', /rebase/);
    expect(y.tolist()).to.deep.equal([2, 4]);
  });

  it('an operand that requires grad: E_STATE while recording', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    const x = cc.zeros([2]);
    expectError(() => x.copy_(w), 'E_STATE', /detach/);
    expectError(() => x.add_(w), 'E_STATE');
    expect(x.tolist()).to.deep.equal([0, 0]);
    cc.noGrad(() => x.copy_(w));
    expect(x.tolist()).to.deep.equal([1, 2]);
  });

  it('the version counter: a later backward through a graph that saved the tensor fails with E_STATE', () => {
    const w = cc.tensor([1, 2], { requiresGrad: true });
    const x = cc.tensor([3, 4]);
    const loss = w.mul(x).sum();   // mul saved x
    x.add_(1);
    expectError(() => loss.backward(), 'E_STATE', /modified in place/);
    // A leaf written in noGrad after the graph saved it fails the same way.
    const loss2 = w.mul(w).sum();
    cc.noGrad(() => w.sub_(0.5));
    expectError(() => loss2.backward(), 'E_STATE');
    // ... and a fresh graph after the write works.
    const loss3 = w.mul(cc.tensor([3, 4])).sum();
    loss3.backward();
    expect(w.grad!.tolist()).to.deep.equal([3, 4]);
  });

  it('typed errors, nothing written', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    expectError(() => x.add_(cc.ones([3])), 'E_SHAPE');
    expectError(() => x.add_(cc.ones([2, 2, 2])), 'E_SHAPE', /broadcast/);
    expectError(() => x.copy_(cc.ones([3, 2])), 'E_SHAPE');
    expectError(() => x.copy_(5 as never), 'E_ARG');
    expectError(() => x.add_('a' as never), 'E_ARG');
    expectError(() => x.add_(1, { alpha: 'a' } as never), 'E_ARG');
    expectError(() => x.add_(1, { beta: 2 } as never), 'E_ARG');
    expectError(() => I([1]).add_(1), 'E_DTYPE');
    expectError(() => x.fill_(cc.ones([2])), 'E_SHAPE');
    expectError(() => x.fill_(NaN + ('a' as never)), 'E_ARG');
    expectError(() => I([1]).fill_(2 ** 40), 'E_ARG');
    expectError(() => I([1]).fill_(Infinity), 'E_ARG');
    expectError(() => x.clamp_(), 'E_ARG');
    expectError(() => x.clamp_(cc.ones([3])), 'E_SHAPE');
    expectError(() => x.uniform_(1, 0), 'E_ARG');
    expectError(() => x.uniform_(NaN), 'E_ARG');
    expectError(() => I([1]).uniform_(), 'E_DTYPE');
    expectError(() => x.normal_(0, -1), 'E_ARG');
    expectError(() => I([1]).normal_(), 'E_DTYPE');
    expectError(() => x.bernoulli_(1.5), 'E_ARG');
    expectError(() => x.bernoulli_(I([1])), 'E_DTYPE');
    expectError(() => x.bernoulli_(cc.ones([3])), 'E_SHAPE');
    const gone = cc.zeros([2]);
    gone.dispose();
    expectError(() => gone.zero_(), 'E_DISPOSED');
    expectError(() => x.copy_(gone), 'E_DISPOSED');
    expect(x.tolist()).to.deep.equal([[1, 2], [3, 4]]);
  });
});

describe('indexing: typed errors, inputs intact', () => {
  it('refuses bad input of every kind', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    const i = I([0, 1], [1, 2]);
    const f = cc.tensor([0, 1]);
    expectError(() => cc.scatter(x, 0, f as never, 1), 'E_DTYPE');
    expectError(() => cc.scatter(x, 2, i, 1), 'E_ARG');
    expectError(() => cc.scatter(x, 0, I([0, 1]), 1), 'E_SHAPE');
    expectError(() => cc.scatter(x, 0, I([2, 0], [1, 2]), 1), 'E_INDEX', /out of range/);
    expectError(() => cc.scatter(x, 0, I([-1, 0], [1, 2]), 1), 'E_INDEX');
    expectError(() => cc.scatter(x, 0, i, I([1, 2], [1, 2])), 'E_DTYPE');
    expectError(() => cc.scatter(x, 0, i, cc.ones([1, 1])), 'E_SHAPE');
    expectError(() => cc.scatter(x, 0, i, 'a' as never), 'E_ARG');
    expectError(() => cc.scatter(I([1]), 0, I([0]), 0.5), 'E_ARG');
    expectError(() => cc.scatter('x' as never, 0, i, 1), 'E_ARG');
    expectError(() => cc.scatterReduce(x, 0, i, cc.ones([1, 2]), 'max' as never), 'E_ARG', /amax/);
    expectError(() => cc.scatterReduce(x, 0, i, cc.ones([1, 2]), 'sum', { includeSelf: 1 } as never), 'E_ARG');
    expectError(() => cc.scatterReduce(x, 0, i, cc.ones([1, 2]), 'sum', { include_self: true } as never), 'E_ARG');
    expectError(() => cc.scatterReduce(I([1, 2], [1, 2]), 0, i, I([1, 2], [1, 2]), 'mean'), 'E_DTYPE');
    expectError(() => cc.scatterReduce(x, 0, I([5, 0], [1, 2]), cc.ones([1, 2]), 'sum'), 'E_INDEX');
    expectError(() => cc.indexFill(x, 0, I([2]), 1), 'E_INDEX');
    expectError(() => cc.indexFill(x, 0, I([-3]), 1), 'E_INDEX');
    expectError(() => cc.indexFill(x, 0, i, 1), 'E_SHAPE');
    expectError(() => cc.indexFill(x, 0, I([0]), cc.ones([2])), 'E_SHAPE');
    expectError(() => cc.indexFill(x, 0, I([0]), I([1], [])), 'E_DTYPE');
    expectError(() => cc.indexFill(x, 0, I([0]), null as never), 'E_ARG');
    expectError(() => cc.indexCopy(x, 0, I([0]), cc.ones([2, 2])), 'E_SHAPE');
    expectError(() => cc.indexCopy(x, 0, I([-1]), cc.ones([1, 2])), 'E_INDEX');
    expectError(() => cc.indexPut(x, [], 1), 'E_ARG');
    expectError(() => cc.indexPut(x, [I([0]), I([0]), I([0])], 1), 'E_ARG');
    expectError(() => cc.indexPut(x, 'a' as never, 1), 'E_ARG');
    expectError(() => cc.indexPut(x, [f as never], 1), 'E_DTYPE');
    expectError(() => cc.indexPut(x, [I([0, 1]), I([0, 1, 0])], 1), 'E_SHAPE');
    expectError(() => cc.indexPut(x, [I([2])], 1), 'E_INDEX');
    expectError(() => cc.indexPut(x, [I([0])], cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.indexPut(x, [I([0])], 1, { accumulate: 'yes' } as never), 'E_ARG');
    expectError(() => cc.maskedScatter(x, cc.ones([2, 2]), cc.ones([3])), 'E_SHAPE', /only 3/);
    expectError(() => cc.maskedScatter(x, cc.ones([3]), cc.ones([6])), 'E_SHAPE');
    expectError(() => cc.maskedScatter(x, cc.ones([2]), I([1, 2, 3, 4])), 'E_DTYPE');
    expectError(() => cc.take(x, I([4])), 'E_INDEX');
    expectError(() => cc.take(x, I([-5])), 'E_INDEX');
    expectError(() => cc.take(x, f as never), 'E_DTYPE');
    expectError(() => cc.unbind(x, 2), 'E_ARG');
    expectError(() => cc.unbind(cc.tensor(1)), 'E_ARG');
    expectError(() => cc.tensorSplit(x, 0), 'E_ARG');
    expectError(() => cc.tensorSplit(x, 1.5), 'E_ARG');
    expectError(() => cc.tensorSplit(x, [1, 'a'] as never), 'E_ARG');
    expectError(() => cc.tensorSplit(x, I([1, 2], [1, 2])), 'E_SHAPE');
    expectError(() => cc.tensorSplit(x, f as never), 'E_DTYPE');
    expectError(() => cc.hsplit(cc.tensor(1), 1), 'E_SHAPE');
    expectError(() => cc.hsplit(cc.ones([2, 3]), 2), 'E_ARG', /equal/);
    expectError(() => cc.vsplit(cc.ones([4]), 2), 'E_SHAPE');
    expectError(() => cc.dsplit(x, 1), 'E_SHAPE');
    expectError(() => cc.flipud(cc.tensor(1)), 'E_SHAPE');
    expectError(() => cc.fliplr(cc.ones([3])), 'E_SHAPE');
    expectError(() => x.expandAs(cc.ones([3])), 'E_SHAPE');
    expectError(() => x.viewAs(cc.ones([3])), 'E_SHAPE');
    expectError(() => x.typeAs('a' as never), 'E_ARG');
    expectError(() => cc.isin(x, x, { invert: 1 } as never), 'E_ARG');
    expectError(() => cc.isin(1, 2), 'E_ARG');
    expectError(() => cc.isin(x, 'a' as never), 'E_ARG');
    expectError(() => cc.equal(x, 'a' as never), 'E_ARG');
    expectError(() => cc.logicalAnd(x, cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.logicalOr(x, 1 as never), 'E_ARG');
    expectError(() => cc.logicalNot(null as never), 'E_ARG');
    expectError(() => cc.clip(x), 'E_ARG');
    expect(x.tolist()).to.deep.equal([[1, 2], [3, 4]]);
    expect(i.tolist()).to.deep.equal([[0, 1]]);
  });
});

describeCuda('indexing and in-place writes on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([4, 5], 51), s = randomCpu([3, 5], 52);
    const idx = I([0, 1, 3, 2, 0, 2, 3, 0, 0, 1, 3, 0, 1, 1, 3], [3, 5]);
    compareDevices((t, u, k) => cc.scatter(t, 0, k as cc.Tensor<'int32'>, u), [x, s, idx], { grads: true, what: 'scatter' });
    for (const reduce of ['sum', 'prod', 'mean', 'amax', 'amin'] as const) {
      compareDevices((t, u, k) => cc.scatterReduce(t, 0, k as cc.Tensor<'int32'>, u, reduce, { includeSelf: false }), [x, s, idx], { grads: true, what: `scatterReduce ${reduce}` });
    }
    compareDevices((t, k) => cc.indexFill(t, 1, k as cc.Tensor<'int32'>, 2), [x, I([4, -1, 0])], { grads: true, what: 'indexFill' });
    compareDevices((t, u, k) => cc.indexCopy(t, 0, k as cc.Tensor<'int32'>, u), [x, s, I([3, 0, 1])], { grads: true, what: 'indexCopy' });
    compareDevices((t, u, a, b) => cc.indexPut(t, [a, b] as cc.Tensor<'int32'>[], u, { accumulate: true }), [x, randomCpu([3], 53), I([0, 3, 0]), I([1, 1, 1])], { grads: true, what: 'indexPut' });
    compareDevices((t, u) => cc.maskedScatter(t, cc.gt(t.detach(), 0), u), [x, randomCpu([20], 55)], { grads: true, what: 'maskedScatter' });
    compareDevices((t, k) => cc.take(t, k as cc.Tensor<'int32'>), [x, I([0, 19, -3])], { grads: true, what: 'take' });
    compareDevices((t) => [...cc.unbind(t, 1), ...cc.tensorSplit(t, [1, -1]), ...cc.hsplit(t, [2]), cc.flipud(t), cc.fliplr(t), cc.clip(t, -0.2, 0.3)], [x], { grads: true, what: 'splits' });
    compareDevices((t, u) => [cc.isin(t, u), cc.isposinf(t), cc.isneginf(t), cc.logicalAnd(t, u), cc.logicalOr(t, u), cc.logicalXor(t, t.gt(0)), cc.logicalNot(t.gt(0))],
      [cc.tensor([[1, -Infinity, NaN], [Infinity, 0, 2]]), cc.tensor([[2, 0, 1]])], { what: 'masks' });
    const g = x.to('cuda');
    expect(cc.equal(g, g.clone())).to.equal(true);
  });

  it('in-place writes keep the device and match the CPU', () => {
    const cpu = randomCpu([3, 4], 61), gpu = cpu.to('cuda');
    const step = (t: cc.Tensor, other: cc.Tensor) => t.add_(other, { alpha: 0.5 }).mul_(2).sub_(1).div_(3).clamp_(-0.2, 0.4).copy_(t.mul(-1));
    step(cpu, randomCpu([4], 62));
    step(gpu, randomCpu([4], 62).to('cuda'));
    expect(gpu.device).to.equal('cuda');
    expectClose(gpu.to('cpu').dataSync(), cpu.dataSync(), 1e-6, 1e-6, 'in-place chain');
    gpu.copy_(cpu);   // from the CPU: moved
    expectClose(gpu.to('cpu').dataSync(), cpu.dataSync(), 0, 0, 'copy_ across devices');
    gpu.fill_(3).zero_();
    expect(gpu.to('cpu').tolist()).to.deep.equal([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    cc.manualSeed(5);
    gpu.uniform_(-1, 1).normal_(0, 1).bernoulli_(0.5);
    gpu.bernoulli_(cc.full([4], 0.5, { device: 'cuda' }));
    expect(gpu.device).to.equal('cuda');
    const n = I([1, 2]).to('cuda');
    n.copy_(cc.tensor([3.5, 4.5], { device: 'cuda' }));
    expect([n.device, n.to('cpu').tolist()]).to.deep.equal(['cuda', [3, 4]]);
  });
});
