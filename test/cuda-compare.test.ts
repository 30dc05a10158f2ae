/**
 * Comparisons, where, int32 reductions and argmin on the GPU against the CPU backend
 * (native/cuda/compare.cu, where.cu, reduce.cu). Comparisons and selections are exact, so the
 * GPU must give the CPU's bits; int32 sums are exact in int64 on both. Skipped where no GPU is
 * usable (describeCuda).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { tensor, type Tensor as T } from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, expectRejects } from './helpers';

const ints = (values: number[], shape?: number[]): T<'int32'> =>
  tensor(new Int32Array(values), shape ? { dtype: 'int32', shape } : { dtype: 'int32' });
const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, 1e-40, 1e30, Infinity, -Infinity, NaN, 3];

/** fn on CPU inputs and on GPU copies: the same bits (NaN as any NaN) and shape and dtype. */
function compareBits(fn: (...xs: T[]) => T, inputs: T[], what: string): void {
  const cpu = fn(...inputs);
  const gpu = fn(...inputs.map((t) => t.to('cuda')));
  expect(gpu.device, what).to.equal('cuda');
  expect(gpu.shape, what).to.deep.equal(cpu.shape);
  expect(gpu.dtype, what).to.equal(cpu.dtype);
  const g = gpu.dataSync(), c = cpu.dataSync();
  if (cpu.dtype === 'float32') for (let i = 0; i < c.length; i++) if (Number.isNaN(c[i]) && Number.isNaN(g[i])) g[i] = c[i];
  expectBitIdentical(g, c, what);
}

describeCuda('cuda: comparisons, where, int32 reductions', () => {
  const ops = { eq: cc.eq, ne: cc.ne, lt: cc.lt, le: cc.le, gt: cc.gt, ge: cc.ge };

  it('eq ne lt le gt ge: special values, broadcasting, int32, number operands: the CPU bits', () => {
    const n = SPECIAL.length;
    const a = tensor(Float32Array.from(SPECIAL.flatMap((x) => SPECIAL.map(() => x))), { shape: [n, n] });
    const b = tensor(Float32Array.from(SPECIAL), { shape: [n] });
    const ia = ints([-2147483648, -1, 0, 1, 2147483647, 5], [2, 3]), ib = ints([0, 2147483647, -2147483648], [3]);
    for (const [name, op] of Object.entries(ops)) {
      compareBits((x, y) => op(x, y), [a, b], `${name} special`);
      compareBits((x, y) => op(x, y), [randomCpu([4, 1, 5], 1), randomCpu([3, 1], 2)], `${name} broadcast`);
      compareBits((x, y) => op(x, y), [ia, ib], `${name} int32`);
      compareBits((x) => op(x, 0.5), [a], `${name} scalar`);
      compareBits((x) => op(2147483646.5, x), [ia], `${name} int32 scalar first`);
    }
  });

  it('where: broadcasting of all three, float32 and int32 cond, int32 values, no leak of NaN/Inf', () => {
    const cond = tensor(Float32Array.from([NaN, -0, 0, 1, -1e-40, 0]), { shape: [6] });
    const a = tensor(Float32Array.from([1, NaN, Infinity, -0, 2, -Infinity]));
    const b = tensor(Float32Array.from([NaN, 3, 4, Infinity, NaN, -0]));
    compareBits((c, x, y) => cc.where(c, x, y), [cond, a, b], 'where special');
    compareBits((c, x, y) => cc.where(c, x, y), [cc.gt(randomCpu([4, 1, 5], 3), 0), randomCpu([3, 1], 4), randomCpu([5], 5)], 'where broadcast');
    compareBits((c, x, y) => cc.where(c, x, y), [ints([1, 0, 7]), ints([2147483647, 1, 2]), ints([-2147483648], [1])], 'where int32');
    compareBits((c, x) => cc.where(c, x, 0), [cond, a], 'where number');
    // (an int32 cond: compareDevices asks every float32 input for a gradient)
    compareDevices((c, x, y) => cc.where(c, x, y), [cc.cast(cc.gt(randomCpu([3, 4], 6), 0), 'int32'), randomCpu([3, 4], 7), randomCpu([4], 8)], { bound: 0, grads: true, what: 'where' });
    compareDevices((x) => cc.clamp(x, -0.5, 0.5), [randomCpu([5, 7], 9)], { bound: 0, grads: true, what: 'clamp' });
    // clamp.cu against cpu/clamp.cc bit for bit: one bound, min > max, a NaN bound, NaN / ±Inf / -0 in x, int32.
    const special = cc.tensor([NaN, Infinity, -Infinity, -0, 0, -1, 1, 0.5, -0.5, 2]);
    for (const [lo, hi] of [[-0.5, 0.5], [-0.5, null], [null, 0.5], [1, -1], [NaN, 1], [0, NaN]] as [number | null, number | null][]) {
      compareBits((x) => cc.clamp(x, lo, hi), [special], `clamp(${lo}, ${hi}) special`);
      compareDevices((x) => cc.clamp(x, lo, hi), [randomCpu([6, 9], 11)], { bound: 0, grads: true, what: `clamp(${lo}, ${hi})` });
    }
    compareBits((x) => cc.clamp(x, -5, 5), [ints([-2147483648, -6, 0, 6, 2147483647])], 'clamp int32');
    compareBits((x) => cc.clamp(x, null, -3), [ints([-2147483648, -6, 0, 6, 2147483647])], 'clamp int32 max only');
    compareDevices((x) => cc.std(x, 1), [randomCpu([5, 70], 10)], { bound: 1e-5, grads: true, what: 'std' });
  });

  it('int32 sum / max / min over axes and over all, argmin / argmax of float32 and int32', () => {
    const v = Array.from({ length: 3 * 40 * 70 }, (_, i) => ((i * 2654435761) % 2000003) - 1000000);
    const x = ints(v, [3, 40, 70]);
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
      compareBits((t) => cc.sum(t as T<'int32'>, axes, true), [x], `sum ${axes}`);
      compareBits((t) => cc.max(t as T<'int32'>, axes), [x], `max ${axes}`);
      compareBits((t) => cc.min(t as T<'int32'>, axes), [x], `min ${axes}`);
    }
    compareBits((t) => cc.sum(t as T<'int32'>), [ints([2147483647, -1, 1])], 'sum at int32 max');
    const f = tensor(Float32Array.from([3, 1, 1, 5, NaN, 0, -Infinity, 2]), { shape: [2, 4] });
    for (const t of [f, x, randomCpu([9, 300], 11)]) {
      for (const axis of [0, 1]) {
        compareBits((u) => cc.argmin(u, axis), [t], `argmin ${t.dtype} ${axis}`);
        compareBits((u) => cc.argmax(u, axis), [t], `argmax ${t.dtype} ${axis}`);
      }
    }
  });

  it('long reductions over few outputs (split into slices combined in order), block argmax / argmin: the CPU bits', async () => {
    // reduce.cu: fewer than 1024 outputs over long runs split each output into slices of at
    // least 8192 elements (a second kernel combines them); argmax / argmin run one block per
    // output along a contiguous axis or for few outputs, combining (value, index) pairs.
    const n = (1 << 22) + 5;
    const big = randomCpu([n], 21, -3, 3);
    compareDevices((t) => cc.sum(t), [big], { bound: 1e-6, what: 'sum of 2^22 + 5 (slices)' });
    compareDevices((t) => cc.mean(t), [big], { bound: 1e-6, what: 'mean of 2^22 + 5 (slices)' });
    for (const op of ['max', 'min'] as const) compareBits((t) => cc[op](t), [big], `${op} of 2^22 + 5 (slices)`);
    const rows = randomCpu([3, 300001], 22), cols = randomCpu([300001, 3], 23);
    compareDevices((t) => cc.sum(t, 1), [rows], { bound: 1e-6, what: 'sum over long rows (slices)' });
    compareDevices((t) => cc.sum(t, 0), [cols], { bound: 1e-6, what: 'sum over long columns (slices)' });
    for (const op of ['max', 'min'] as const) {
      compareBits((t) => cc[op](t, 1), [rows], `${op} over long rows`);
      compareBits((t) => cc[op](t, 0), [cols], `${op} over long columns`);
    }
    // argmax / argmin: few distinct values (ties across slices and threads), NaN, -0, infinities.
    const special = (len: number, count: number, seed: number): T => {
      const v = new Float32Array(len * count);
      for (let i = 0; i < v.length; i++) v[i] = ((i * 2654435761 + seed) % 7) - 3;
      for (const at of [5, len + 70000, 2 * len - 1]) if (at < v.length) v[at] = NaN;
      v[3 * len + 17] = Infinity;
      v[4 * len - 2] = -Infinity;
      v[9] = -0;
      return tensor(v, { shape: [count, len] });
    };
    const f = special(100003, 5, 1);
    for (const axis of [0, 1]) {
      compareBits((u) => cc.argmax(u, axis), [f], `argmax special ${axis}`);
      compareBits((u) => cc.argmin(u, axis), [f], `argmin special ${axis}`);
    }
    const ft = cc.transpose(f, 0, 1).clone();   // [100003, 5]: few outputs down a long axis
    compareBits((u) => cc.argmax(u, 0), [ft], 'argmax down a long axis');
    compareBits((u) => cc.argmin(u, 0), [ft], 'argmin down a long axis');
    compareBits((u) => cc.argmax(u), [ft], 'argmax flat (one output, slices)');
    // int32: sums over slices are exact; max / min; argmax / argmin of ties.
    const iv = Array.from({ length: 4 * 250007 }, (_, i) => ((i * 2654435761) % 2001) - 1000);
    const xi = ints(iv, [4, 250007]);
    for (const axes of [[1], [0, 1]]) {
      compareBits((t) => cc.sum(t as T<'int32'>, axes), [xi], `int32 sum ${axes} (slices)`);
      compareBits((t) => cc.max(t as T<'int32'>, axes), [xi], `int32 max ${axes}`);
      compareBits((t) => cc.min(t as T<'int32'>, axes), [xi], `int32 min ${axes}`);
    }
    compareBits((t) => cc.sum(cc.transpose(t as T<'int32'>, 0, 1).clone(), 0), [xi], 'int32 sum down a long axis');
    compareBits((u) => cc.argmax(u, 1), [xi], 'int32 argmax rows');
    compareBits((u) => cc.argmin(u, 1), [xi], 'int32 argmin rows');
    // A sum outside int32 found in a slice's partial is still E_RANGE.
    await expectRejects(ints(new Array(100000).fill(60000)).to('cuda').sum().data(), 'E_RANGE', /outside the int32 range/);
  });

  it('more outputs than the 2^20 blocks of a block-per-output reduction: each block loops over outputs', () => {
    // reduce.cuh's reduce_slices caps its grid at 2^20 blocks; every other test has fewer
    // outputs, so its loop over outputs (and the __syncthreads that guards shared[0] between
    // two of them) only runs here. var_std.cu launches the same kernel with its own reducer.
    cc.manualSeed(41);
    const x = cc.rand([(1 << 20) + 7, 32], -2, 2);
    compareDevices((t) => cc.sum(t, 1), [x], { bound: 1e-6, what: 'sum of 2^20 + 7 rows' });
    for (const op of ['max', 'min'] as const) compareBits((t) => cc[op](t, 1), [x], `${op} of 2^20 + 7 rows`);
    compareBits((t) => cc.argmax(t, 1), [x], 'argmax of 2^20 + 7 rows');
    compareDevices((t) => cc.variance(t, 1), [x], { bound: 1e-5, what: 'var of 2^20 + 7 rows' });
  });

  it('the other kernel paths: equal shapes, 0-size and 0-d tensors, scalars on either side, empty int32 reductions, ties', () => {
    // compare.cu's and where.cu's equal-shape loops (the tests above broadcast), 0-size outputs
    // (nothing launched) and 0-d tensors (a walk of no axes).
    const a = randomCpu([7, 33], 21), b = cc.where(cc.gt(randomCpu([7, 33], 22), 0), a, randomCpu([7, 33], 23));
    const ia = ints(Array.from({ length: 40 }, (_, i) => (i * 7) % 11 - 5), [5, 8]), ib = ints(Array.from({ length: 40 }, (_, i) => (i * 3) % 11 - 5), [5, 8]);
    const empty = randomCpu([0, 4], 24), scalar = cc.full([], 0.25);
    for (const [name, op] of Object.entries(ops)) {
      compareBits((x, y) => op(x, y), [a, b], `${name} same shape`);
      compareBits((x, y) => op(x, y), [ia, ib], `${name} int32 same shape`);
      compareBits((x, y) => op(x, y), [empty, randomCpu([4], 25)], `${name} 0-size`);
      compareBits((x, y) => op(x, y), [scalar, a], `${name} 0-d against [7, 33]`);
      compareBits((x) => op(-0.5, x), [a], `${name} float32 scalar first`);
      compareBits((x) => op(x, -2.5), [ia], `${name} int32 scalar second`);
      compareBits((x) => op(x, 0), [empty], `${name} 0-size scalar`);
    }
    compareBits((c, x, y) => cc.where(c, x, y), [ints(Array.from({ length: 40 }, (_, i) => i % 3), [5, 8]), ia, ib], 'where int32 same shape');
    compareBits((c, x, y) => cc.where(c, x, y), [cc.gt(empty, 0), empty, randomCpu([4], 26)], 'where 0-size');
    compareBits((c, x, y) => cc.where(c, x, y), [cc.full([], 1), scalar, cc.full([], -1)], 'where 0-d');
    // int32 reductions over an empty axis (sum: zeros; reduce.cu's count == 0 path) and with no outputs.
    const iempty = ints([], [0, 3]);
    compareBits((t) => cc.sum(t as T<'int32'>, 0), [iempty], 'int32 sum over an empty axis');
    compareBits((t) => cc.sum(t as T<'int32'>), [iempty], 'int32 sum of nothing');
    compareBits((t) => cc.max(t as T<'int32'>, 1), [iempty], 'int32 max with no outputs');
    // Ties: the first index wins (argmin and argmax, both dtypes); one element per row.
    const ties = ints([2, 1, 1, 5, 5, 0, 7, 7, 7], [3, 3]);
    for (const t of [ties, cc.cast(ties, 'float32')]) {
      for (const axis of [0, 1]) {
        compareBits((u) => cc.argmin(u, axis), [t], `argmin ties ${t.dtype} ${axis}`);
        compareBits((u) => cc.argmax(u, axis), [t], `argmax ties ${t.dtype} ${axis}`);
      }
    }
    compareBits((u) => cc.argmin(u, 1), [ints([4, -3, 9], [3, 1])], 'argmin of one-element rows');
  });

  it('variance (a native op each way) and the composed tensor ops (stack, split, chunk, expand) match the CPU, with gradients', () => {
    const x = randomCpu([4, 6, 5], 31), y = randomCpu([4, 6, 5], 32);
    compareDevices((t) => cc.variance(t, [0, 2], { keepdim: true }), [x], { bound: 1e-5, grads: true, what: 'variance' });
    compareDevices((t) => cc.variance(t, undefined, { unbiased: false }), [x], { bound: 1e-5, grads: true, what: 'variance all' });
    compareDevices((s, t) => cc.stack([s, t], 1), [x, y], { bound: 0, grads: true, what: 'stack' });
    compareDevices((t) => cc.split(t, [2, 3, 1], 1), [x], { bound: 0, grads: true, what: 'split' });
    compareDevices((t) => cc.chunk(t, 3, -1), [x], { bound: 0, grads: true, what: 'chunk' });
    compareDevices((t) => [...cc.split(t, [1, 0, 4], 2), ...cc.unbind(t, 1)], [x], { bound: 0, what: 'split, unbind untaped (native split)' });
    compareDevices((t) => cc.expand(t, [3, 4, 6, 5]), [randomCpu([4, 1, 5], 33)], { bound: 1e-6, grads: true, what: 'expand' });
    compareBits((t) => cc.expand(t as T<'int32'>, [2, 3]), [ints([7, -8, 9], [1, 3])], 'expand int32');
    // the native expand's layouts (cuda/expand.cu): a 0-D x, a column, a row, a middle axis
    compareDevices((t) => cc.expand(t, [300, 70]), [randomCpu([], 34)], { bound: 1e-5, grads: true, what: 'expand 0-D' });
    compareDevices((t) => cc.expand(t, [2, 257, 129]), [randomCpu([257, 1], 35)], { bound: 0, what: 'expand column' });
    compareDevices((t) => cc.expand(t, [257, 129]), [randomCpu([1, 129], 36)], { bound: 0, what: 'expand row' });
    compareDevices((t) => cc.expand(t, [3, 5, 7]), [randomCpu([3, 1, 7], 37)], { bound: 0, what: 'expand middle axis' });
  });

  it('an int32 sum outside int32 is E_RANGE at the next wait; the stream goes on', async () => {
    await expectRejects(ints([2147483647, 1]).to('cuda').sum().data(), 'E_RANGE', /outside the int32 range/);
    expect(ints([1, 2]).to('cuda').sum().item()).to.equal(3);
    // Below the range too, and over an axis (one of several outputs out of range).
    await expectRejects(ints([-2147483648, -1, 5, 6], [2, 2]).to('cuda').sum(1).data(), 'E_RANGE', /outside the int32 range/);
    expect(Array.from(ints([-2147483648, 0, 5, 6], [2, 2]).to('cuda').sum(1).dataSync())).to.deep.equal([-2147483648, 11]);
  });

  it('binaryCrossEntropy\'s input check on the GPU (binary_cross_entropy.cu, in the loss kernels): NaN and values outside [0, 1] are E_ARG at the next wait', () => {
    const t = cc.tensor([1, 0, 1]).to('cuda');
    for (const bad of [[0.5, NaN, 0.5], [0.5, -1e-7, 0.5], [1.0000001, 0.5, 0.5]]) {
      const loss = cc.F.binaryCrossEntropy(cc.tensor(bad).to('cuda'), t);
      expectError(() => loss.item(), 'E_ARG', /binaryCrossEntropy.*an element of `input` is/);
    }
    // The word was cleared: the ends of [0, 1] are fine, and the stream goes on.
    const ok = cc.F.binaryCrossEntropy(cc.tensor([1, 0, 0.5]).to('cuda'), t, { reduction: 'none' });
    expectClose(ok.dataSync(), [0, 0, Math.LN2], 1e-6, 1e-7, 'BCE at the ends');
    // The backward kernel checks too: a gradient read reports it (the forward's report was taken by the loss's read above).
    const x = cc.tensor([0.5, 2, 0.5]).to('cuda').requiresGrad_();
    const per = cc.F.binaryCrossEntropy(x, t, { reduction: 'none' });
    expectError(() => per.dataSync(), 'E_ARG', /binaryCrossEntropy.*an element of `input` is/);
    per.backward(cc.ones([3]).to('cuda'));
    expectError(() => x.grad!.dataSync(), 'E_ARG', /binaryCrossEntropy.*an element of `input` is/);
    expectClose(cc.F.binaryCrossEntropy(cc.tensor([0.25]).to('cuda'), cc.tensor([1]).to('cuda')).dataSync(), [Math.log(4)], 1e-6, 1e-7, 'the stream goes on');
  });
});
