import { expect } from 'chai';
import * as cc from '../lib';
import { expectError, expectRejects, randomTensor, rng, sizeOf, strides, unravel } from './helpers';

describe('layout: reshape, permute, transpose, concat, slice', () => {
  it('reshape is a view with -1 inference; flatten, squeeze, unsqueeze', () => {
    const x = cc.arange(24, undefined, 1, 'float32');
    const y = x.reshape([2, -1, 4]);
    expect(y.shape).to.deep.equal([2, 3, 4]);
    expect(Array.from(y.dataSync())).to.deep.equal(Array.from(x.dataSync()));
    expect(y.flatten(1).shape).to.deep.equal([2, 12]);
    expect(y.unsqueeze(1).shape).to.deep.equal([2, 1, 3, 4]);
    expect(y.unsqueeze(-1).shape).to.deep.equal([2, 3, 4, 1]);
    expect(y.unsqueeze(1).squeeze().shape).to.deep.equal([2, 3, 4]);
    expect(cc.zeros([1, 3, 1]).squeeze(0).shape).to.deep.equal([3, 1]);
    expect(cc.zeros([0, 5]).reshape([-1, 5]).shape).to.deep.equal([0, 5]);
    expectError(() => x.reshape([5, -1]), 'E_SHAPE', /reshape: cannot view shape \[24\]/);
    expectError(() => x.reshape([-1, -1]), 'E_SHAPE', /only one size may be -1/);
    expectError(() => x.reshape([2, NaN]), 'E_SHAPE');
    expectError(() => x.reshape([-2, -12]), 'E_SHAPE');
  });

  // [2, 259, 3, 21]: the permutations that bring the 259 axis last copy by tiles (rows over 256
  // elements), with partial tiles at both edges.
  for (const shape of [[2, 3, 4, 5], [2, 259, 3, 21]]) it(`permute matches a reference for every permutation of 4 axes, ${JSON.stringify(shape)}`, () => {
    const { t, v } = randomTensor(shape, 1);
    const perms: number[][] = [];
    const permute = (rest: number[], acc: number[]) => {
      if (!rest.length) perms.push(acc);
      rest.forEach((r, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, r]));
    };
    permute([0, 1, 2, 3], []);
    const xs = strides(shape);
    for (const p of perms) {
      const y = t.permute(p);
      const ys = p.map((a) => shape[a]);
      expect(y.shape).to.deep.equal(ys);
      const got = y.dataSync();
      for (let i = 0; i < got.length; i++) {
        const idx = unravel(i, ys);
        let src = 0;
        idx.forEach((k, d) => (src += k * xs[p[d]]));
        if (got[i] !== Math.fround(v[src])) expect.fail(`permute ${p} at ${i}: ${got[i]} vs ${Math.fround(v[src])}`);
      }
    }
    expectError(() => t.permute([0, 1, 1, 2]), 'E_ARG', /not a permutation/);
    expectError(() => t.permute([0, 1]), 'E_ARG');
  });

  it('transpose swaps two axes (the last two by default) and works on int32', () => {
    const x = cc.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });
    expect(x.transpose().arraySync()).to.deep.equal([[1, 4], [2, 5], [3, 6]]);
    expect(x.transpose().dtype).to.equal('int32');
    const big = randomTensor([513, 257], 2);
    const tt = big.t.transpose().transpose();
    expect(Array.from(tt.dataSync())).to.deep.equal(Array.from(big.t.dataSync()));
  });

  // Whole 16 x 16 tiles go through float registers (AVX-512, AVX2): int32 values whose bits are
  // float NaNs (quiet and signalling) and denormals must come out bit for bit.
  it('transpose by tiles keeps every int32 bit pattern', () => {
    const rows = 300, cols = 40;
    const specials = [0x7f800001, 0x7fc00001, -4194303, -1, 1, 0x80000000 | 0, 0x00000001, 0x7f7fffff];
    const v = new Int32Array(rows * cols).map((_, i) => (i % 7 === 0 ? specials[(i / 7) % specials.length] : (i * 2654435761) | 0));
    const x = cc.tensor(v, { shape: [rows, cols], dtype: 'int32' });
    const got = x.transpose().dataSync() as Int32Array;
    for (let c = 0; c < cols; ++c)
      for (let r = 0; r < rows; ++r)
        if (got[c * rows + r] !== v[r * cols + c]) expect.fail(`at [${c}, ${r}]: ${got[c * rows + r]} vs ${v[r * cols + c]}`);
  });

  it('concat joins along any axis and checks shapes and dtypes', () => {
    const a = cc.tensor([[1, 2], [3, 4]]), b = cc.tensor([[5, 6]]), c = cc.tensor([[7], [8]]);
    expect(cc.concat([a, b], 0).arraySync()).to.deep.equal([[1, 2], [3, 4], [5, 6]]);
    expect(cc.concat([a, c], 1).arraySync()).to.deep.equal([[1, 2, 7], [3, 4, 8]]);
    expect(cc.concat([a, c, a], -1).shape).to.deep.equal([2, 5]);
    expect(cc.concat([cc.zeros([2, 0]), a], 1).arraySync()).to.deep.equal([[1, 2], [3, 4]]);
    expectError(() => cc.concat([a, c], 0), 'E_SHAPE', /tensors\[1\] has shape \[2, 1\]/);
    expectError(() => cc.concat([a, cc.zeros([1, 2], 'int32')], 0), 'E_DTYPE');
    expectError(() => cc.concat([], 0), 'E_ARG');
  });

  // The copy walks the output as one range cut into pieces of 16384 elements, found by position:
  // cuts fall inside tensors and rows, beside empty tensors, and rows wrap mid-piece.
  it('concat of many tensors, long and short and empty, along each axis, at 1 and 2 threads', () => {
    const threads = cc.getNumThreads();
    try {
      for (const [axis, sizes, rest] of [
        [0, [30000, 0, 7, 1, 0, 20000], [3]],
        [1, [5, 0, 70, 1, 300, 0], [7, 33]],
        [2, [0, 3, 1, 0, 2], []],
      ] as [number, number[], number[]][]) {
        const outer = axis === 0 ? [] : axis === 1 ? [97] : [311, 13];
        const parts = sizes.map((n, i) => randomTensor([...outer, n, ...rest], 10 + i));
        const want: number[] = [];
        const inner = sizeOf(rest), rows = sizeOf(outer);
        for (let o = 0; o < rows; o++)
          for (const [i, n] of sizes.entries()) for (let k = o * n * inner; k < (o + 1) * n * inner; k++) want.push(parts[i].v[k]);
        for (const n of [1, 2]) {
          cc.setNumThreads(n);
          const y = cc.concat(parts.map((p) => p.t), axis);
          expect(y.shape).to.deep.equal([...outer, sizes.reduce((a, b) => a + b, 0), ...rest]);
          const got = y.dataSync();
          for (let j = 0; j < want.length; j++) if (got[j] !== want[j]) expect.fail(`axis ${axis}, ${n} threads, at ${j}: ${got[j]} vs ${want[j]}`);
          expect(got.length).to.equal(want.length);
        }
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('slice and narrow copy boxes', () => {
    const shape = [4, 5, 6];
    const { t, v } = randomTensor(shape, 3);
    const y = t.slice([1, 0, 2], [2, -1, 3]);
    expect(y.shape).to.deep.equal([2, 5, 3]);
    const got = y.dataSync(), xs = strides(shape);
    for (let i = 0; i < got.length; i++) {
      const [a, b, c] = unravel(i, [2, 5, 3]);
      expect(got[i]).to.equal(Math.fround(v[(a + 1) * xs[0] + b * xs[1] + (c + 2) * xs[2]]));
    }
    expect(cc.arange(10).narrow(0, 3, 4).arraySync()).to.deep.equal([3, 4, 5, 6]);
    expect(cc.arange(10).slice([10], [0]).shape).to.deep.equal([0]);
    expectError(() => t.slice([0, 0, 0], [5, 1, 1]), 'E_ARG', /slice: expected `size\[0\]` in \[0, 4\]/);
    expectError(() => t.slice([0, 0]), 'E_ARG');
    expectError(() => t.narrow(1, 4, 2), 'E_ARG');
  });
});

describe('indexing: indexSelect, gather, oneHot, cast', () => {
  it('indexSelect takes entries along an axis, repeats allowed', () => {
    const x = cc.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    const i = cc.tensor([2, 0, 2], { dtype: 'int32' });
    expect(x.indexSelect(0, i).arraySync()).to.deep.equal([[7, 8, 9], [1, 2, 3], [7, 8, 9]]);
    expect(x.indexSelect(1, i).arraySync()).to.deep.equal([[3, 1, 3], [6, 4, 6], [9, 7, 9]]);
    expectError(() => x.indexSelect(0, cc.tensor([0])), 'E_DTYPE', /`index` of dtype int32, got float32/);
    expectError(() => x.indexSelect(0, cc.zeros([1, 1], 'int32')), 'E_SHAPE');
  });

  it('gather picks per element as torch.gather', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    expect(x.gather(1, cc.tensor([[0, 0], [1, 0]], { dtype: 'int32' })).arraySync()).to.deep.equal([[1, 1], [4, 3]]);
    expect(x.gather(0, cc.tensor([[1, 0]], { dtype: 'int32' })).arraySync()).to.deep.equal([[3, 2]]);
    expectError(() => x.gather(1, cc.zeros([3, 1], 'int32')), 'E_SHAPE');
  });

  // The kernel walks index row by row with an odometer over the other axes (native/cpu/indexing.cc),
  // each thread starting from its first row's position: every rank and axis, index smaller than
  // x in the other axes, rows split between threads, against torch.gather's definition.
  it('gather matches torch.gather\'s definition for every axis, smaller indices, int32 values, 1 and 2 threads', () => {
    const threads = cc.getNumThreads();
    const next = rng(41);
    try {
      for (const [xs, is] of [[[3, 4, 5, 6], [2, 3, 4, 5]], [[2, 70, 3, 40], [2, 64, 3, 33]], [[7], [9]], [[5, 1000], [4, 999]]] as const) {
        for (let axis = 0; axis < xs.length; axis++) {
          const xv = Float32Array.from({ length: xs.reduce((a, b) => a * b, 1) }, () => next());
          const iv = Int32Array.from({ length: is.reduce((a, b) => a * b, 1) }, () => Math.floor(next() * xs[axis]));
          const expected = Array.from(iv, (k, t) => {
            let src = 0, rest = t, stride = 1;
            const pos: number[] = [];
            for (let d = is.length - 1; d >= 0; d--) { pos[d] = rest % is[d]; rest = Math.floor(rest / is[d]); }
            for (let d = xs.length - 1; d >= 0; d--) { src += (d === axis ? k : pos[d]) * stride; stride *= xs[d]; }
            return xv[src];
          });
          for (const t of [1, 2]) {
            cc.setNumThreads(t);
            const x = cc.tensor(xv, { shape: [...xs] }), index = cc.tensor(iv, { shape: [...is], dtype: 'int32' });
            expect(Array.from(x.gather(axis, index).dataSync()), `${JSON.stringify(xs)} axis ${axis} at ${t} thread(s)`).to.deep.equal(expected);
            const ints = cc.tensor(Int32Array.from(xv, (v) => Math.floor(v * 1e6)), { shape: [...xs], dtype: 'int32' });
            expect(Array.from(ints.gather(axis, index).dataSync()), 'int32').to.deep.equal(expected.map((v) => Math.floor(v * 1e6)));
          }
        }
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('oneHot makes float32 rows', () => {
    const y = cc.oneHot(cc.tensor([[0, 2]], { dtype: 'int32' }), 3);
    expect(y.shape).to.deep.equal([1, 2, 3]);
    expect(y.arraySync()).to.deep.equal([[[1, 0, 0], [0, 0, 1]]]);
    expectError(() => cc.oneHot(cc.tensor([1], { dtype: 'int32' }), 0), 'E_ARG');
  });

  it('an index out of range is found when the op runs and reported at the next wait, naming the op', async () => {
    const x = cc.tensor([1, 2, 3]);
    const bad = cc.tensor([0, 5], { dtype: 'int32' });
    const y = x.indexSelect(0, bad);          // returns at once
    await expectRejects(y.data(), 'E_INDEX', /indexSelect \(queued\): index 5 at position 1 is out of range for axis 0 of size 3/);
    const z = cc.oneHot(cc.tensor([1, -1, 7], { dtype: 'int32' }), 3);
    expectError(() => z.dataSync(), 'E_INDEX', /oneHot \(queued\): label -1 at position 1/);
    const g = x.gather(0, cc.tensor([3], { dtype: 'int32' }));
    await expectRejects(cc.sync(), 'E_INDEX', /gather/);
    // The error was delivered once; the queue goes on working.
    expect(Array.from(cc.add(x, 1).dataSync())).to.deep.equal([2, 3, 4]);
    g.dispose();
  });

  it('cast converts between float32 and int32 (truncating toward zero)', () => {
    const x = cc.tensor([1.7, -1.7, 0, 3e9, NaN]);
    const i = x.toType('int32');
    expect(i.dtype).to.equal('int32');
    expect(Array.from(i.dataSync())).to.deep.equal([1, -1, 0, 0, 0]);
    expect(Array.from(i.toType('float32').dataSync())).to.deep.equal([1, -1, 0, 0, 0]);
    const c = x.clone();
    expect(c.dtype).to.equal('float32');
    expect(c.dataSync()[0]).to.equal(Math.fround(1.7));
    expect(sizeOf(c.shape)).to.equal(5);
  });
});
