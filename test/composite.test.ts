import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, tapeCheck } from './helpers';

type Values = { shape: number[]; values: number[] };
interface Case {
  op: 'logsumexp' | 'norm' | 'norm0' | 'flip' | 'repeat' | 'linspace';
  x?: Values; dy?: Values; y: Values; dx?: Values;
  dim?: number | number[] | null; keepdim?: boolean; p?: number | 'inf' | '-inf'; dims?: number[]; repeats?: number[];
  start?: number; end?: number; steps?: number;
}

const make = (v: Values, requiresGrad = false) => cc.tensor(v.values, { shape: v.shape, requiresGrad });
const order = (p: Case['p']) => (p === 'inf' ? Infinity : p === '-inf' ? -Infinity : (p as number));

function apply(c: Case, x: cc.Tensor): cc.Tensor {
  switch (c.op) {
    case 'logsumexp': return cc.logsumexp(x, c.dim as number | number[], c.keepdim);
    case 'norm': return cc.norm(x, { p: order(c.p), dim: c.dim ?? undefined });
    case 'norm0': return cc.norm(x, { p: 0, dim: 1 });
    case 'flip': return cc.flip(x, c.dims!);
    case 'repeat': return cc.repeat(x, c.repeats!);
    default: throw new Error(c.op);
  }
}

describe('composed ops: logsumexp, norm, flip, repeat, linspace, eye, isnan/isinf/isfinite', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('composite');

  for (const c of cases) {
    const what = `${c.op} ${JSON.stringify({ dim: c.dim, p: c.p, dims: c.dims, repeats: c.repeats, steps: c.steps, keepdim: c.keepdim })}`;
    it(`${what} matches PyTorch (values${c.dx ? ' and gradients' : ''})`, () => {
      if (c.op === 'linspace') {
        const y = cc.linspace(c.start!, c.end!, c.steps!);
        expect(y.shape).to.deep.equal(c.y.shape);
        expectClose(y.dataSync(), c.y.values, 2e-7, 1e-12, 'linspace');   // PyTorch's float32 steps may differ in the last bit
        return;
      }
      const x = make(c.x!, c.dx !== undefined);
      const y = apply(c, x);
      expect(y.shape).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values, 2e-6, 1e-6, 'y');
      if (c.dx) {
        y.backward(make(c.dy!));
        expectClose(x.grad!.dataSync(), c.dx.values, 1e-5, 1e-5, 'dx');
      }
    });
  }

  it('gradients match finite differences', () => {
    tapeCheck('logsumexp', [{ shape: [3, 4] }], ([x]) => cc.logsumexp(x.mul(3), 1));
    tapeCheck('norm p=2', [{ shape: [3, 4] }], ([x]) => cc.norm(x, { dim: 1 }));
    tapeCheck('norm p=3', [{ shape: [3, 4] }], ([x]) => cc.norm(x, { p: 3, dim: [0, 1], keepdim: true }));
    tapeCheck('flip', [{ shape: [2, 3, 2] }], ([x]) => cc.flip(x, [1, 2]));
    tapeCheck('repeat', [{ shape: [2, 3] }], ([x]) => cc.repeat(x, [3, 1, 2]));
  });

  it("a norm's gradient at the zero vector is 0, not NaN (as PyTorch)", () => {
    const x = cc.zeros([2, 3], { requiresGrad: true });
    cc.norm(x, { dim: 1 }).sum().backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  it('logsumexp of -Infinity rows is -Infinity; NaN propagates; empty reductions give -Infinity', () => {
    const y = cc.logsumexp(cc.tensor([[-Infinity, -Infinity], [NaN, 1], [Infinity, 1]]), 1).dataSync();
    expect(y[0]).to.equal(-Infinity);
    expect(Number.isNaN(y[1])).to.equal(true);
    expect(y[2]).to.equal(Infinity);
  });

  it('eye, isnan, isinf, isfinite, and the methods', () => {
    expect(cc.eye(2, 3).tolist()).to.deep.equal([[1, 0, 0], [0, 1, 0]]);
    expect(cc.eye(2, { dtype: 'int32' }).dtype).to.equal('int32');
    expect(cc.eye(0).shape).to.deep.equal([0, 0]);
    const x = cc.tensor([1, NaN, Infinity, -Infinity, 0]);
    expect(x.isnan().tolist()).to.deep.equal([0, 1, 0, 0, 0]);
    expect(x.isinf().tolist()).to.deep.equal([0, 0, 1, 1, 0]);
    expect(x.isfinite().tolist()).to.deep.equal([1, 0, 0, 0, 1]);
    expect(cc.tensor([1, 2], { dtype: 'int32' }).isfinite().tolist()).to.deep.equal([1, 1]);
    expect(cc.tensor([[1, 2], [3, 4]]).flip(1).tolist()).to.deep.equal([[2, 1], [4, 3]]);
    expect(cc.tensor([1, 2], { dtype: 'int32' }).repeat([2]).tolist()).to.deep.equal([1, 2, 1, 2]);
    expect(cc.tensor([[3, 4]]).norm().item()).to.equal(5);
    expect(cc.repeat(cc.zeros([2]), [0]).shape).to.deep.equal([0]);
  });

  it('flip and rot90 (permute with axes read backwards) match index arithmetic on every path', () => {
    // Reference: y at index i reads x where each reversed axis' coordinate is mirrored.
    const flipRef = (v: Int32Array, shape: number[], axes: number[]) => {
      const st = shape.map((_, d) => shape.slice(d + 1).reduce((p, s) => p * s, 1));
      return Array.from(v, (_, i) => {
        let src = 0;
        for (let d = 0; d < shape.length; d++) {
          const c = Math.floor(i / st[d]) % shape[d];
          src += (axes.includes(d) ? shape[d] - 1 - c : c) * st[d];
        }
        return v[src];
      });
    };
    // Short and long rows (the reversed row copy), tiles (rows of 16 and more), int32 and float32.
    for (const shape of [[3, 5, 7], [2, 3, 40, 37], [1, 70000], [17, 33]]) {
      const n = shape.reduce((p, s) => p * s, 1);
      const v = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 100003);
      const x = cc.tensor(v, { dtype: 'int32', shape });
      for (let mask = 1; mask < 1 << shape.length; mask++) {
        const axes = shape.map((_, d) => d).filter((d) => (mask >> d) & 1);
        expect(Array.from(cc.flip(x, axes).dataSync()), `flip ${shape} ${axes}`).to.deep.equal(flipRef(v, shape, axes));
      }
      const f = cc.tensor(Float32Array.from(v), { shape });
      const [a, b] = [shape.length - 2, shape.length - 1];
      for (let k = -1; k <= 4; k++) {
        // rot90 composed the way torch.rot90 is: flip(dims[1]).transpose for k = 1, ...
        const turns = ((k % 4) + 4) % 4;
        const want = turns === 0 ? f : turns === 2 ? cc.flip(f, [a, b]) : cc.flip(f, turns === 1 ? b : a).transpose(a, b);
        expect(Array.from(cc.rot90(f, k, [a, b]).dataSync()), `rot90 ${shape} k ${k}`).to.deep.equal(Array.from(want.dataSync()));
        expect(Array.from(cc.rot90(f, k, [b, a]).dataSync()), `rot90 ${shape} k ${k} dims reversed`).to.deep.equal(Array.from(cc.rot90(f, -k, [a, b]).dataSync()));
      }
    }
    expect(cc.rot90(cc.tensor([[1, 2, 3], [4, 5, 6]])).tolist()).to.deep.equal([[3, 6], [2, 5], [1, 4]]);
    expect(cc.rot90(cc.tensor([[1, 2, 3], [4, 5, 6]]), 3).tolist()).to.deep.equal([[4, 1], [5, 2], [6, 3]]);
    tapeCheck('rot90 k 1, 3 dims [2, 0]', [{ shape: [3, 2, 4] }], ([x]) => cc.rot90(x, 1, [2, 0]).add(cc.rot90(x, 3, [0, 2]).mul(2)));
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([2, 3]);
    expectError(() => cc.logsumexp(x, 2), 'E_ARG', /dim/);
    expectError(() => cc.logsumexp(cc.zeros([2], 'int32'), 0), 'E_DTYPE');
    expectError(() => cc.norm(x, { p: -1 }), 'E_ARG', /`p`/);
    expectError(() => cc.norm(x, { ord: 2 } as never), 'E_ARG', /unknown option `ord`/);
    expectError(() => cc.norm(x, { dim: [1, 1] }), 'E_ARG', /twice/);
    expectError(() => cc.flip(x, 5), 'E_ARG', /dim/);
    expectError(() => cc.repeat(x, [2]), 'E_ARG', /at least 2 counts/);
    expectError(() => cc.repeat(x, [2, -1]), 'E_ARG', /repeats\[1\]/);
    expectError(() => cc.linspace(0, 1, -1), 'E_ARG', /steps/);
    expectError(() => cc.linspace(0, NaN, 3), 'E_ARG', /end/);
    expectError(() => cc.eye(-1), 'E_ARG', /n/);
  });
});

describeCuda('composed ops on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([3, 4, 5], 31);
    compareDevices((t) => cc.logsumexp(t, 1), [x], { grads: true, what: 'logsumexp' });
    compareDevices((t) => cc.norm(t, { dim: [0, 2] }), [x], { grads: true, what: 'norm' });
    compareDevices((t) => cc.flip(t, [0, 2]), [x], { grads: true, what: 'flip' });
    compareDevices((t) => cc.repeat(t, [2, 1, 1, 2]), [x], { grads: true, what: 'repeat' });
    expect(cc.linspace(0, 1, 4, { device: 'cuda' }).device).to.equal('cuda');
    expect(cc.eye(3, { device: 'cuda' }).device).to.equal('cuda');
  });
});
