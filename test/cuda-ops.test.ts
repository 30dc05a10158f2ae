/**
 * The basic tensor ops and the optimizer steps on the GPU against the CPU backend
 * (native/cuda/fill.cu, random.cu, elementwise.cu, reduce.cu, layout.cu, indexing.cu, sgd.cu,
 * adam.cu). Skipped where no GPU is usable (describeCuda).
 *
 * Bounds: the kernels whose every operation is one IEEE-rounded float op (add, sub, mul, div,
 * max/min, neg, abs, sqrt, floor, ceil, sign, reciprocal, square, affine, casts, copies,
 * layout, indexing, uniform/Bernoulli draws, the SGD/Adam steps: the GPU code never fuses a
 * multiply-add, see native/cuda/strided.cuh) must give the CPU's bits. exp, log and pow are
 * CUDA's math functions (within 2 ulp of glibc's): 1e-6. Normal draws go through the device's
 * log/sqrt/sin/cos: 2e-6. Sums and means accumulate in float64 in another order: 1e-6.
 * Gradients go through sums (sumTo, the loss of compareDevices): 1e-5.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { Tensor, tensor, type Tensor as T } from '../lib';
import { compareDevices, describeCuda, expectSameValues, randomCpu, randomLabels } from './cuda-helpers';
import { expectBitIdentical, expectError, expectRejects } from './helpers';

const { optim } = cc;

/** An int32 CPU tensor. */
const ints = (values: number[], shape?: number[]): T<'int32'> =>
  tensor(new Int32Array(values), shape ? { dtype: 'int32', shape } : { dtype: 'int32' });

/** Both results, read back, have the same bits (and the same shape and dtype). */
function expectSameBits(gpu: T, cpu: T, what: string): void {
  expect(gpu.device, `${what}: device`).to.equal('cuda');
  expect(cpu.device, `${what}: device`).to.equal('cpu');
  expect(gpu.shape, `${what}: shape`).to.deep.equal(cpu.shape);
  expect(gpu.dtype, `${what}: dtype`).to.equal(cpu.dtype);
  // NaN is any NaN: CUDA's arithmetic returns the canonical NaN (0x7fffffff) where x86 passes
  // the operand's payload and sign through, and PyTorch's GPU results differ from its CPU ones
  // the same way. Every other value must have the same bits.
  const g = gpu.dataSync(), c = cpu.dataSync();
  if (gpu.dtype === 'float32') {
    for (let i = 0; i < c.length; i++) if (Number.isNaN(c[i]) && Number.isNaN(g[i])) g[i] = c[i];
  }
  expectBitIdentical(g, c, what);
}

/** fn on CPU inputs and on GPU copies: the same bits for every output. */
function compareBits(fn: (...xs: T[]) => T, inputs: T[], what: string): void {
  const cpu = fn(...inputs);
  const gpu = fn(...inputs.map((t) => t.to('cuda')));
  expectSameBits(gpu, cpu, what);
}

// Special values for the unary ops and the binary ops' operands.
const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 2.5, -2.5, 3, 1e-30, -1e-30, 1e-40, 1e30, -1e30, 80, -80, Infinity, -Infinity, NaN, 7.25];

describeCuda('cuda ops: creation', () => {
  it('empty, zeros, full (float32 and int32) on the GPU', () => {
    const e = new Tensor(native.empty([3, 5], 0, 1), [3, 5], 'float32');
    expect(e.device).to.equal('cuda');
    expect(e.dataSync().length).to.equal(15);
    expectSameBits(cc.zeros([33, 7], { device: 'cuda' }), cc.zeros([33, 7]), 'zeros');
    expectSameBits(cc.full([1000, 3], 2.7, { device: 'cuda' }), cc.full([1000, 3], 2.7), 'full float32');
    expectSameBits(cc.full([17], -5, { dtype: 'int32', device: 'cuda' }), cc.full([17], -5, { dtype: 'int32' }), 'full int32');
    expectSameBits(cc.ones([0, 4], { device: 'cuda' }), cc.ones([0, 4]), 'ones 0-size');
    expectSameBits(cc.full([], 3, { device: 'cuda' }), cc.full([], 3), 'full scalar');
    const z = cc.zerosLike(cc.full([2, 2], 1, { device: 'cuda' }));
    expect(z.device).to.equal('cuda');
  });

  it('arange (no device option in JS: the native call) in float32 and int32, computed in double', () => {
    for (const [start, step, count, dtype] of [[0, 1, 10, 1], [0, 0.1, 1001, 0], [-3.5, 0.25, 77, 0], [5, -2, 9, 1], [0, 1, 0, 0]] as const) {
      const shape = [count];
      const d = dtype === 0 ? 'float32' : 'int32';
      const cpu = new Tensor(native.arange(start, step, count, dtype), shape, d);
      const gpu = new Tensor(native.arange(start, step, count, dtype, 1), shape, d);
      expectSameBits(gpu, cpu, `arange(${start}, ${step}, ${count})`);
    }
    // An explicit 0 or undefined is the CPU.
    expect(new Tensor(native.arange(0, 1, 3, 1, 0), [3], 'int32').device).to.equal('cpu');
    expect(new Tensor(native.fill([2], 0, 1, undefined), [2], 'float32').device).to.equal('cpu');
    expectError(() => native.fill([2], 0, 1, 2 as 0), 'E_ARG', /device/);
  });

  it('rand, randn and bernoulli give the CPU\'s bits for the same seed', () => {
    for (const n of [1, 3, 4, 5, 1001, 4096 + 3]) {
      cc.manualSeed(1234);
      const gu = cc.rand([n], -2, 3, { device: 'cuda' });
      const gn = cc.randn([n], 0.5, 2, { device: 'cuda' });
      const gb = new Tensor(native.randomBernoulli([n], 0.3, 1), [n], 'float32');
      cc.manualSeed(1234);
      const cu = cc.rand([n], -2, 3);
      const cn = cc.randn([n], 0.5, 2);
      const cb = cc.bernoulli([n], 0.3);
      expectSameBits(gu, cu, `rand [${n}]`);
      expectSameBits(gn, cn, `randn [${n}]`); // normal_pair rounds each step alike on both (core/philox.h)
      expectSameBits(gb, cb, `bernoulli [${n}]`);
    }
  });

  it('the generator moves on the same way whichever device draws', () => {
    cc.manualSeed(99);
    cc.rand([7], 0, 1, { device: 'cuda' });
    const a = cc.rand([9]);
    cc.manualSeed(99);
    cc.rand([7]);
    const b = cc.rand([9]);
    expectBitIdentical(a.dataSync(), b.dataSync(), 'rand after a GPU draw');
  });
});

describeCuda('cuda ops: elementwise', () => {
  const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const;
  const SHAPES: [number[], number[]][] = [
    [[37], [37]], [[4, 33], [33]], [[4, 1], [1, 33]], [[2, 3, 1, 5], [3, 4, 1]], [[], [6, 7]], [[6, 7], []], [[], []],
    [[0, 3], [1, 3]], [[0, 3], [0, 1]], [[2, 1, 3, 1, 5], [1, 4, 1, 6, 1]], [[1000, 3], [1000, 1]],
  ];

  it('binary ops with broadcasting: the CPU\'s bits, and the gradients', () => {
    SHAPES.forEach(([sa, sb], k) => {
      const a = randomCpu(sa, 10 + k, -3, 3), b = randomCpu(sb, 50 + k, 0.5, 3);
      for (const op of BINARY) {
        compareBits((x, y) => cc[op](x, y), [a, b], `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
        compareDevices((x, y) => cc[op](x, y), [a, b], { bound: 1e-5, grads: true, what: `${op} grads` });
      }
      // pow: positive bases, CUDA's powf
      compareDevices((x, y) => cc.pow(x, y), [b, a], { bound: 1e-6, grads: true, what: 'pow' });
    });
  });

  it('binary ops on special values (NaN propagates through maximum/minimum; IEEE division by 0)', () => {
    const n = SPECIAL.length;
    const a = tensor(SPECIAL.flatMap((v) => SPECIAL.map(() => v)), { shape: [n, n] });
    const b = tensor(SPECIAL, { shape: [1, n] });
    for (const op of BINARY) compareBits((x, y) => cc[op](x, y), [a, b], `${op} special`);
    compareDevices((x, y) => cc.pow(x, y), [a, b], { bound: 1e-6, what: 'pow special' });
  });

  it('scalar operands on either side, affine (scale) and pow with a number exponent', () => {
    const x = randomCpu([3, 37], 3, -2, 2);
    const s = tensor(SPECIAL);
    for (const op of BINARY) {
      compareBits((t) => cc[op](t, 0.3), [x], `${op}(x, 0.3)`);
      compareBits((t) => cc[op](-1.7, t), [x], `${op}(-1.7, x)`);
      compareBits((t) => cc[op](t, NaN), [s], `${op}(special, NaN)`);
    }
    compareBits((t) => cc.scale(t, 1 / 3, -0.1), [x], 'scale');
    compareBits((t) => cc.scale(t, 3.7, 1e-3), [s], 'scale special');
    compareBits((t) => cc.pow(t, 2), [s], 'pow 2');
    compareBits((t) => cc.pow(t, 0.5), [s], 'pow 0.5');
    for (const e of [3, -1, 1.5, 0, -0.5]) {
      compareDevices((t) => cc.pow(t, e), [s], { bound: 1e-6, what: `pow special ${e}` });
      compareDevices((t) => cc.pow(t, e), [cc.abs(x).add(0.1)], { bound: 1e-5, grads: true, what: `pow ${e}` });
    }
    compareDevices((t) => cc.scale(t, 2, 1), [x], { bound: 1e-6, grads: true, what: 'scale grads' });
    compareDevices((t) => cc.add(t, 2), [x], { bound: 1e-6, grads: true, what: 'add scalar grads' });
  });

  it('unary ops on special values and random inputs, with gradients', () => {
    const s = tensor(SPECIAL);
    const x = randomCpu([5, 67], 7, -4, 4), pos = randomCpu([5, 67], 8, 0.05, 4);
    for (const op of ['neg', 'abs', 'sqrt', 'square', 'reciprocal', 'sign', 'floor', 'ceil'] as const) {
      compareBits((t) => cc[op](t), [s], `${op} special`);
      compareBits((t) => cc[op](t), [x], `${op}`);
    }
    for (const op of ['exp', 'log', 'erf'] as const) compareDevices((t) => cc[op](t), [s], { bound: 1e-6, what: `${op} special` });
    for (const op of ['neg', 'abs', 'square', 'sign', 'floor', 'ceil', 'exp', 'erf'] as const) {
      compareDevices((t) => cc[op](t), [x], { bound: 1e-5, grads: true, what: op });
    }
    for (const op of ['sqrt', 'log', 'reciprocal'] as const) compareDevices((t) => cc[op](t), [pos], { bound: 1e-5, grads: true, what: op });
    compareBits((t) => cc.neg(t), [randomCpu([0, 5], 1)], 'neg 0-size');
    // Session 28's: rounding and rsqrt (1 / sqrtf on both) to the bit, the rest within 2 ulp.
    for (const op of ['round', 'trunc'] as const) {
      compareBits((t) => cc[op](t), [s], `${op} special`);
      compareBits((t) => cc[op](cc.scale(t, 2.5)), [x], op);
    }
    compareBits((t) => cc.rsqrt(t), [s], 'rsqrt special');
    compareDevices((t) => cc.rsqrt(t), [pos], { bound: 1e-5, grads: true, what: 'rsqrt' });
    for (const op of ['sin', 'cos', 'tan', 'atan', 'log1p', 'expm1', 'log2', 'log10'] as const) {
      compareDevices((t) => cc[op](t), [s], { bound: 2e-6, what: `${op} special` });
      // tan on [-1.2, 1.2], away from its poles; the logarithms on positive inputs.
      const f = op === 'tan' ? (t: T) => cc.tan(cc.scale(t, 0.3)) : (t: T) => cc[op](t);
      compareDevices(f, [op.startsWith('log') ? pos : x], { bound: 1e-5, grads: true, what: op });
    }
  });

  it('cumsum: the bits of the CPU along every axis (float64 running sums), its gradient, int32 and E_RANGE', async () => {
    const x = randomCpu([5, 67, 9], 3);
    for (const axis of [0, 1, 2, -1]) {
      compareBits((t) => cc.cumsum(t, axis), [x], `cumsum ${axis}`);
      compareDevices((t) => cc.cumsum(t, axis), [x], { bound: 1e-5, grads: true, what: `cumsum grads ${axis}` });
    }
    compareBits((t) => cc.cumsum(t, 1), [randomCpu([3, 20000], 4)], 'cumsum long rows');
    for (const axis of [0, 1, 2]) {
      const x = randomCpu([4, 5, 6], 6 + axis, 0.5, 1.5);
      compareBits((t) => cc.cumprod(t, axis), [x], `cumprod ${axis}`);
      compareDevices((t) => cc.cumprod(t.mul(t.gt(0.7)), axis), [x], { bound: 1e-5, grads: true, what: `cumprod grads (zeros) ${axis}` });
      compareDevices((t) => [cc.cummax(t, axis).values, cc.cummin(t, axis).indices.float(), cc.prod(t, axis)], [x], { bound: 1e-5, grads: true, what: `cummax, cummin, prod ${axis}` });
    }
    compareBits((t) => cc.cumsum(t, 0), [randomCpu([0, 4], 5)], 'cumsum empty');
    compareBits((t) => cc.cumsum(t, 1), [ints([1, 2, 3, -4, 5, 6], [2, 3])], 'cumsum int32');
    await expectRejects(cc.cumsum(ints([2147483647, 1]).to('cuda'), 0).data(), 'E_RANGE', /cumsum/);
    expect(cc.cumsum(ints([1, 1]).to('cuda'), 0).dataSync()[1]).to.equal(2);   // the GPU stays usable
  });

  it('indexAdd and scatterAdd, the public ops, with gradients (src larger than index included)', () => {
    const x = randomCpu([4, 6], 1), src = randomCpu([4, 9], 2), index = randomLabels(9, 6, 3);
    compareDevices((a, i, s) => cc.indexAdd(a, 1, i as T<'int32'>, s), [x, index, src], { bound: 1e-5, grads: true, what: 'indexAdd' });
    const sindex = cc.tensor(randomLabels(3 * 5, 6, 4).dataSync(), { shape: [3, 5] });
    compareDevices((a, i, s) => cc.scatterAdd(a, 1, i as T<'int32'>, s), [x, sindex, src], { bound: 1e-5, grads: true, what: 'scatterAdd' });
  });

  it('casts float32 <-> int32 (truncation; NaN, infinities and out-of-range become 0) and clone', () => {
    const f = tensor([1.7, -1.7, 0.5, -0.5, NaN, Infinity, -Infinity, 3e9, -3e9, -2147483648, 2147483520, 2147483648, 1e-40]);
    compareBits((t) => cc.cast(t, 'int32'), [f], 'float -> int');
    const i = ints([0, 1, -1, 2147483647, -2147483648, 16777217, -16777217]);
    compareBits((t) => cc.cast(t, 'float32'), [i], 'int -> float');
    compareBits((t) => cc.cast(t, 'int32'), [i], 'int -> int');
    compareBits((t) => cc.clone(t), [randomCpu([3, 0], 1)], 'clone 0-size');
    compareDevices((t) => cc.clone(t), [randomCpu([9, 9], 2)], { bound: 0, grads: true, what: 'clone' });
  });

  it('copyInto on the GPU is in place and in order: earlier ops see the old values', () => {
    const x = randomCpu([4, 37], 1).to('cuda');
    const src = randomCpu([4, 37], 2);
    const before = cc.add(x, 1);
    native.copyInto(x.handle(), src.to('cuda').handle());
    const after = cc.add(x, 1);
    expectBitIdentical(x.dataSync(), src.dataSync(), 'x after copyInto');
    expectBitIdentical(after.dataSync(), cc.add(src, 1).dataSync(), 'read after');
    expect(Array.from(before.dataSync())).to.not.deep.equal(Array.from(after.dataSync()));
    expectError(() => native.copyInto(x.handle(), src.handle()), 'E_DEVICE', /cuda|cpu/);
  });
});

describeCuda('cuda ops: reductions', () => {
  const subsets = (n: number): number[][] => {
    const out: number[][] = [];
    for (let m = 1; m < 1 << n; m++) out.push([...Array(n).keys()].filter((i) => m & (1 << i)));
    return out;
  };

  it('sum, mean, max, min over every axis combination, with and without keepdim, and their gradients', () => {
    for (const shape of [[3, 4, 5], [2, 37, 33], [1, 7, 1, 40]]) {
      const x = randomCpu(shape, shape.length + shape[1], -2, 2);
      for (const axes of subsets(shape.length)) {
        for (const keepdim of [false, true]) {
          for (const op of ['sum', 'mean'] as const) {
            compareDevices((t) => cc[op](t, axes, keepdim), [x], { bound: 1e-6, what: `${op} ${JSON.stringify(shape)} ${axes} ${keepdim}` });
          }
          for (const op of ['max', 'min'] as const) compareBits((t) => cc[op](t, axes, keepdim), [x], `${op} ${JSON.stringify(shape)} ${axes} ${keepdim}`);
        }
        for (const op of ['sum', 'mean', 'max', 'min'] as const) {
          compareDevices((t) => cc[op](t, axes, true), [x], { bound: 1e-5, grads: true, what: `${op} grads ${JSON.stringify(shape)} ${axes}` });
        }
      }
    }
  });

  it('long rows, long columns (one block per output), many columns (one thread per output), a full sum, 0-size and scalars', () => {
    const rows = randomCpu([5, 5000], 1), cols = randomCpu([5000, 5], 2), wide = randomCpu([40, 2000], 3), big = randomCpu([(1 << 20) + 3], 4);
    for (const op of ['sum', 'mean'] as const) {
      compareDevices((t) => cc[op](t, 1), [rows], { bound: 1e-6, what: `${op} rows` });
      compareDevices((t) => cc[op](t, 0), [cols], { bound: 1e-6, what: `${op} cols` });
      compareDevices((t) => cc[op](t, 0), [wide], { bound: 1e-6, what: `${op} wide` });
      compareDevices((t) => cc[op](t), [big], { bound: 1e-6, what: `${op} all` });
    }
    for (const op of ['max', 'min'] as const) {
      compareBits((t) => cc[op](t, 1), [rows], `${op} rows`);
      compareBits((t) => cc[op](t, 0), [cols], `${op} cols`);
      compareBits((t) => cc[op](t, 0), [wide], `${op} wide`);
      compareBits((t) => cc[op](t), [big], `${op} all`);
    }
    // The mean of nothing is NaN; the sum of nothing is 0; a scalar reduces to itself.
    const empty = randomCpu([0, 3], 4);
    compareBits((t) => cc.sum(t, 0), [empty], 'sum over an empty axis');
    compareBits((t) => cc.mean(t, 0), [empty], 'mean over an empty axis');
    compareBits((t) => cc.sum(t, 1), [empty], 'sum with no outputs');
    const scalar = cc.full([], 2.5);
    for (const op of ['sum', 'mean', 'max', 'min'] as const) compareBits((t) => cc[op](t), [scalar], `${op} scalar`);
  });

  it('NaN propagates through max and min; infinities', () => {
    const x = tensor([[1, NaN, 3], [-Infinity, -Infinity, -Infinity], [Infinity, 2, NaN], [0, -0, 0]]);
    for (const op of ['max', 'min', 'sum', 'mean'] as const) {
      compareBits((t) => cc[op](t, 1), [x], `${op} special rows`);
      compareBits((t) => cc[op](t, 0), [x], `${op} special cols`);
    }
  });

  it('argmax: the first index on ties, NaN as the largest, over each axis', () => {
    const x = tensor([[1, 3, 3, 2], [NaN, 1, NaN, 5], [-Infinity, -Infinity, -Infinity, -Infinity], [0, -0, 0, 1], [2, NaN, 7, 7]]);
    for (const axis of [0, 1]) {
      for (const keepdim of [false, true]) compareBits((t) => cc.argmax(t, axis, keepdim), [x], `argmax special ${axis} ${keepdim}`);
    }
    expect(Array.from(cc.argmax(x.to('cuda'), 1).dataSync())).to.deep.equal([1, 0, 0, 3, 1]);
    const r = randomCpu([3, 41, 5], 9);
    for (const axis of [0, 1, 2]) compareBits((t) => cc.argmax(t, axis), [r], `argmax random ${axis}`);
    compareBits((t) => cc.argmax(t), [r], 'argmax flat');
    // Ties everywhere (rounded values).
    compareBits((t) => cc.argmax(cc.floor(cc.scale(t, 2)), 1), [randomCpu([50, 33], 5)], 'argmax many ties');
  });
});

describeCuda('cuda ops: layout and indexing', () => {
  it('permute (every permutation of 4 axes, odd sizes, both dtypes) and its gradient', () => {
    const x = randomCpu([2, 3, 5, 7], 1);
    const xi = cc.cast(cc.scale(x, 100), 'int32');
    const perms: number[][] = [];
    const rec = (rest: number[], acc: number[]) => {
      if (rest.length === 0) perms.push(acc);
      rest.forEach((v, i) => rec([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, v]));
    };
    rec([0, 1, 2, 3], []);
    for (const p of perms) {
      compareBits((t) => cc.permute(t, p), [x], `permute ${p}`);
      compareBits((t) => cc.permute(t, p), [xi], `permute int32 ${p}`);
    }
    compareDevices((t) => cc.permute(t, [3, 1, 0, 2]), [x], { bound: 1e-6, grads: true, what: 'permute grads' });
    compareBits((t) => cc.transpose(t), [randomCpu([67, 129], 2)], 'transpose');
    compareBits((t) => cc.permute(t, [1, 0]), [randomCpu([0, 3], 3)], 'permute 0-size');
  });

  it('concat along each axis (with an empty part) and its gradient', () => {
    for (let axis = 0; axis < 3; axis++) {
      const shape = (n: number) => [2, 3, 4].map((d, i) => (i === axis ? n : d));
      const parts = [randomCpu(shape(1), 1), randomCpu(shape(0), 2), randomCpu(shape(5), 3), randomCpu(shape(2), 4)];
      compareBits((...ts) => cc.concat(ts, axis), parts, `concat ${axis}`);
      compareDevices((...ts) => cc.concat(ts, axis), parts, { bound: 1e-6, grads: true, what: `concat grads ${axis}` });
    }
    const parts = [ints([1, 2, 3], [3, 1]), ints([4, 5, 6, 7, 8, 9], [3, 2])];
    compareBits((...ts) => cc.concat(ts, 1), parts, 'concat int32');
  });

  it('slice (also with steps, through the native call), narrow, and the gradient', () => {
    const x = randomCpu([5, 7, 9], 1);
    compareBits((t) => cc.slice(t, [1, 2, 3], [3, -1, 4]), [x], 'slice');
    compareBits((t) => cc.narrow(t, 2, 8, 1), [x], 'narrow');
    compareBits((t) => cc.slice(t, [5, 0, 0], [0, 7, 9]), [x], 'empty slice');
    compareDevices((t) => cc.slice(t, [1, 2, 3], [3, -1, 4]), [x], { bound: 1e-6, grads: true, what: 'slice grads' });
    for (const [begin, size, step] of [[[0, 1, 2], [3, 3, 3], [2, 2, 3]], [[4, 0, 8], [1, 7, 1], [1, 1, 1]], [[1, 6, 0], [2, 1, 5], [3, 1, 2]]]) {
      const run = (t: T) => new Tensor(native.slice(t.handle(), begin, size, step), size, 'float32');
      compareBits(run, [x], `slice steps ${step}`);
    }
  });

  it('indexSelect, gather, oneHot (repeated indices) and their gradients (index_add, scatter_add)', () => {
    const x = randomCpu([6, 5, 7], 1);
    for (let axis = 0; axis < 3; axis++) {
      const index = randomLabels(11, x.shape[axis], 3 + axis);
      compareBits((t, i) => cc.indexSelect(t, axis, i as T<'int32'>), [x, index], `indexSelect ${axis}`);
      compareDevices((t, i) => cc.indexSelect(t, axis, i as T<'int32'>), [x, index], { bound: 1e-5, grads: true, what: `indexSelect grads ${axis}` });
      const gshape = [4, 3, 5].map((d, k) => (k === axis ? 9 : d));
      const gindex = cc.tensor(randomLabels(gshape.reduce((p, q) => p * q, 1), x.shape[axis], 7 + axis).dataSync(), { shape: gshape });
      compareBits((t, i) => cc.gather(t, axis, i as T<'int32'>), [x, gindex], `gather ${axis}`);
      compareDevices((t, i) => cc.gather(t, axis, i as T<'int32'>), [x, gindex], { bound: 1e-5, grads: true, what: `gather grads ${axis}` });
    }
    const labels = cc.tensor(randomLabels(35, 10, 5).dataSync(), { shape: [5, 7] });
    compareBits((l) => cc.oneHot(l as T<'int32'>, 10), [labels], 'oneHot');
    compareBits((l) => cc.oneHot(l as T<'int32'>, 1), [cc.zeros([3], { dtype: 'int32' })], 'oneHot one class');
    // The embedding-like case: a long 1-D index into axis 0, many repeats (index_add along k).
    const table = randomCpu([10, 64], 2), picks = randomLabels(500, 10, 9);
    compareDevices((t, i) => cc.indexSelect(t, 0, i as T<'int32'>), [table, picks], { bound: 1e-5, grads: true, what: 'embedding-like' });
  });

  it('indexAdd and scatterAdd called directly (src added to x, repeated indices add up in order)', () => {
    const x = randomCpu([4, 6], 1), src = randomCpu([4, 9], 2), index = randomLabels(9, 6, 3);
    const ia = (a: T, i: T, s: T) => new Tensor(native.indexAdd(a.handle(), 1, i.handle(), s.handle()), a.shape, 'float32');
    compareBits(ia, [x, index, src], 'indexAdd');
    const sindex = cc.tensor(randomLabels(4 * 5, 6, 4).dataSync(), { shape: [4, 5] });
    const sa = (a: T, i: T, s: T) => new Tensor(native.scatterAdd(a.handle(), 1, i.handle(), s.handle()), a.shape, 'float32');
    compareBits(sa, [x, sindex, src], 'scatterAdd');
  });

  it('a bad index is E_INDEX at the next read; the GPU stays usable', () => {
    const x = randomCpu([4, 5], 1).to('cuda');
    const bad = ints([0, 5, 1]).to('cuda');
    const cases: [string, () => T][] = [
      ['indexSelect', () => cc.indexSelect(x, 1, bad)],
      ['indexSelect negative', () => cc.indexSelect(x, 0, ints([-1]).to('cuda'))],
      ['gather', () => cc.gather(x, 1, ints([0, 9, 0, 1], [2, 2]).to('cuda'))],
      ['oneHot', () => cc.oneHot(ints([0, 3, 10]).to('cuda'), 10)],
      ['indexAdd', () => new Tensor(native.indexAdd(x.handle(), 1, bad.handle(), cc.ones([4, 3], { device: 'cuda' }).handle()), [4, 5], 'float32')],
      ['scatterAdd', () => new Tensor(native.scatterAdd(x.handle(), 0, ints([0, 4], [1, 2]).to('cuda').handle(),
        cc.ones([1, 2], { device: 'cuda' }).handle()), [4, 5], 'float32')],
    ];
    for (const [what, run] of cases) {
      const y = run();   // launching does not throw: the kernel reports
      expectError(() => y.dataSync(), 'E_INDEX', /out of range/);
      // The error was reported once; the device works on.
      const ok = cc.add(x, 1);
      expectBitIdentical(ok.dataSync(), cc.add(x.to('cpu'), 1).dataSync(), `after ${what}`);
    }
  });
});

describeCuda('cuda ops: optimizer steps', () => {
  // The parameters of both runs start equal and get equal gradients at every step (set directly,
  // so only the steps are compared); the step kernels round each float op as the CPU does.
  function run(make: (params: T[]) => cc.optim.Optimizer, device: 'cpu' | 'cuda', steps = 5): T[] {
    const params = [randomCpu([7, 33], 1), randomCpu([5], 2), randomCpu([2, 3, 3, 3], 3)].map((p) => p.to(device).detach().requiresGrad_());
    const opt = make(params);
    for (let s = 0; s < steps; s++) {
      params.forEach((p, k) => { p.grad = randomCpu(p.shape, 100 * s + k, -2, 2).to(device); });
      // A parameter without a gradient is skipped, as PyTorch.
      if (s === 2) params[1].grad = null;
      opt.step();
    }
    return params;
  }
  const cases: [string, (ps: T[]) => cc.optim.Optimizer][] = [
    ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1 })],
    ['SGD momentum', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9 })],
    ['SGD momentum dampening weight decay', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 })],
    ['SGD nesterov', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
    ['Adam', (ps) => new optim.Adam(ps, { lr: 1e-2 })],
    ['Adam weight decay', (ps) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 0.1, betas: [0.8, 0.95], eps: 1e-6 })],
    ['Adam amsgrad', (ps) => new optim.Adam(ps, { lr: 1e-2, amsgrad: true })],
    ['AdamW', (ps) => new optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.05 })],
    ['AdamW amsgrad', (ps) => new optim.AdamW(ps, { lr: 1e-3, weightDecay: 0.01, amsgrad: true })],
    ['RMSprop', (ps) => new optim.RMSprop(ps, { lr: 1e-2 })],
    ['RMSprop centered momentum weight decay', (ps) => new optim.RMSprop(ps, { lr: 1e-2, centered: true, momentum: 0.9, weightDecay: 0.01, alpha: 0.9 })],
    ['Adagrad', (ps) => new optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01, weightDecay: 0.05, initialAccumulatorValue: 0.1 })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: the CPU's bits over several steps`, () => {
      const cpu = run(make, 'cpu'), gpu = run(make, 'cuda');
      gpu.forEach((g, k) => {
        expect(g.device).to.equal('cuda');
        expectSameBits(g.detach(), cpu[k].detach(), `${name} param ${k}`);
      });
    });
  }

  // The optimizers written with the ordinary ops (lib/optim/adamax.ts ...): the CPU's values.
  const composed: [string, (ps: T[]) => cc.optim.Optimizer][] = [
    ['Adamax', (ps) => new optim.Adamax(ps, { lr: 1e-2, weightDecay: 0.01 })],
    ['NAdam', (ps) => new optim.NAdam(ps, { lr: 1e-2, weightDecay: 0.01 })],
    ['RAdam', (ps) => new optim.RAdam(ps, { lr: 1e-2, weightDecay: 0.01 })],
    ['Adadelta', (ps) => new optim.Adadelta(ps, { lr: 1, weightDecay: 0.01 })],
    ['Rprop', (ps) => new optim.Rprop(ps, { lr: 1e-2 })],
    ['ASGD', (ps) => new optim.ASGD(ps, { lr: 1e-2, t0: 2 })],
  ];
  for (const [name, make] of composed) {
    it(`${name}: the CPU's values over several steps`, () => {
      const cpu = run(make, 'cpu', 8), gpu = run(make, 'cuda', 8);
      gpu.forEach((g, k) => expectSameValues(g.detach(), cpu[k].detach(), 1e-6, `${name} param ${k}`));
    });
  }

  it('adamStep, rmspropStep and adagradStep: every option combination gives the CPU\'s bits', () => {
    // The CPU loops are specialised per option set (native/cpu/adam.cc, rmsprop.cc, adagrad.cc),
    // the GPU kernels call optim_update.h's per-element functions with the options inside: every
    // combination, three steps, on a length with vector tails that 2 CPU threads split.
    const n = 40009;
    // [name, each state's [low, high], one step]
    const combos: [string, [number, number][], (p: T, g: T, s: T[], step: number) => void][] = [];
    for (const weightDecay of [0, 0.05]) {
      for (const decoupled of [false, true]) {
        for (const amsgrad of [false, true]) {
          combos.push([`adamStep ${JSON.stringify({ weightDecay, decoupled, amsgrad })}`, [[-1, 1], [0, 1], [0, 1]], (p, g, [m, v, vMax], step) =>
            optim.adamStep(p, g, m, v, amsgrad ? vMax : null, { lr: 0.01, eps: 1e-3, weightDecay, decoupled, step })]);
        }
      }
      for (const centered of [false, true]) {
        for (const momentum of [0, 0.9]) {
          // square_avg from 1, grad_avg within +-1: the centered variance stays positive.
          combos.push([`rmspropStep ${JSON.stringify({ weightDecay, centered, momentum })}`, [[1, 2], [-1, 1], [-1, 1]], (p, g, [sq, buf, ga]) =>
            optim.rmspropStep(p, g, sq, momentum ? buf : null, centered ? ga : null, { lr: 0.01, eps: 1e-3, weightDecay, momentum, centered })]);
        }
      }
      for (const lrDecay of [0, 0.1]) {
        combos.push([`adagradStep ${JSON.stringify({ weightDecay, lrDecay })}`, [[0, 1]], (p, g, [sum], step) =>
          optim.adagradStep(p, g, sum, { lr: 0.01, eps: 1e-3, weightDecay, lrDecay, step })]);
      }
    }
    for (const [name, ranges, step] of combos) {
      const [cpu, gpu] = (['cpu', 'cuda'] as const).map((device) => {
        const p = randomCpu([n], 1).to(device), g = randomCpu([n], 2).to(device);
        const states = ranges.map(([low, high], k) => randomCpu([n], 3 + k, low, high).to(device));
        for (let t = 1; t <= 3; t++) step(p, g, states, t);
        g.dispose();
        return [p, ...states];
      });
      gpu.forEach((x, k) => expectSameBits(x, cpu[k], `${name}: ${k === 0 ? 'param' : `state ${k}`}`));
      for (const x of [...cpu, ...gpu]) x.dispose();
    }
  });

  it('the functional steps on GPU tensors; mixed devices are E_DEVICE naming both', () => {
    const p = randomCpu([9], 1).to('cuda'), g = randomCpu([9], 2).to('cuda');
    const m = cc.zeros([9], { device: 'cuda' }), v = cc.zeros([9], { device: 'cuda' });
    optim.adamStep(p, g, m, v, null, { lr: 0.1, step: 1 });
    const pc = randomCpu([9], 1), mc = cc.zeros([9]), vc = cc.zeros([9]);
    optim.adamStep(pc, randomCpu([9], 2), mc, vc, null, { lr: 0.1, step: 1 });
    expectSameBits(p, pc, 'adamStep param');
    expectSameBits(m, mc, 'adamStep expAvg');
    expectSameBits(v, vc, 'adamStep expAvgSq');
    expectError(() => optim.sgdStep(p, randomCpu([9], 3), null, { lr: 0.1 }), 'E_DEVICE', /`grad` is on cpu but `param` is on cuda/);
    expectError(() => optim.sgdStep(p, g, cc.zeros([9]), { lr: 0.1, momentum: 0.9 }), 'E_DEVICE', /momentumBuffer/);
    expectError(() => optim.adamStep(p, g, mc, v, null, { lr: 0.1, step: 1 }), 'E_DEVICE', /expAvg/);
    expectError(() => optim.rmspropStep(p, g, vc, null, null, { lr: 0.1 }), 'E_DEVICE', /squareAvg/);
    expectError(() => optim.adagradStep(p, g, vc, { lr: 0.1, step: 1 }), 'E_DEVICE', /stateSum/);
  });
});

describeCuda('cuda ops: F.unfold and F.fold', () => {
  it('match the CPU (the same gathers: exact forward), with gradients, strided, dilated and padded', () => {
    const x = randomCpu([2, 3, 9, 7], 41);
    const o = { dilation: [2, 1] as [number, number], padding: [1, 2] as [number, number], stride: [1, 2] as [number, number] };
    compareDevices((t) => cc.F.unfold(t, [3, 2], o), [x], { bound: 0, grads: true, gradBound: 1e-6, what: 'unfold' });
    const cols = randomCpu([2, 18, 35], 42);   // 3 channels x 3x2 taps, 7x5 blocks of a 9x7 image
    compareDevices((t) => cc.F.fold(t, [9, 7], [3, 2], o), [cols], { bound: 1e-6, grads: true, gradBound: 0, what: 'fold' });
  });
});

describeCuda('cuda ops: einsum', () => {
  it('matches the CPU, with gradients: attention scores, a diagonal, a broadcast ellipsis', () => {
    compareDevices((q, k) => cc.einsum('bhqd,bhkd->bhqk', q, k), [randomCpu([2, 3, 5, 8], 51), randomCpu([2, 3, 7, 8], 52)], { bound: 1e-5, grads: true, what: 'einsum attention' });
    compareDevices((a, v) => cc.einsum('iij,j->i', a, v), [randomCpu([4, 4, 3], 53), randomCpu([3], 54)], { bound: 1e-5, grads: true, what: 'einsum diagonal' });
    compareDevices((a, b) => cc.einsum('...ij,...jk', a, b), [randomCpu([2, 1, 3, 4], 55), randomCpu([3, 4, 2], 56)], { bound: 1e-5, grads: true, what: 'einsum ellipsis' });
  });
});

describeCuda('cuda ops: mixed devices', () => {
  it('an op with tensors on both devices is E_DEVICE with a clear message (in JS and at the native boundary)', () => {
    const c = randomCpu([3, 4], 1), g = randomCpu([3, 4], 2).to('cuda');
    expectError(() => cc.add(c, g), 'E_DEVICE', /`b` is on cuda but `a` is on cpu/);
    expectError(() => cc.concat([g, c], 0), 'E_DEVICE', /cpu/);
    expectError(() => cc.indexSelect(g, 0, ints([0])), 'E_DEVICE', /index/);
    expectError(() => native.binary(0, c.handle(), g.handle()), 'E_DEVICE', /add: `b` is on cuda but `a` is on cpu.*\.to\(\)/);
    expectError(() => native.concat(new Float64Array([g.handle(), c.handle()]), 0), 'E_DEVICE', /concat/);
    expectError(() => native.gather(g.handle(), 0, ints([0], [1, 1]).handle()), 'E_DEVICE', /gather/);
    expectError(() => native.scatterAdd(g.handle(), 0, ints([0], [1, 1]).to('cuda').handle(), c.handle()), 'E_DEVICE', /scatterAdd/);
  });
});
