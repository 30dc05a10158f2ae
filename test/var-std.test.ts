/**
 * var and std as one native op each way (native/cpu/var_std.cc): PyTorch 1.13's values and
 * gradients (test/fixtures/make/var_std.py) at the edges (correction >= n, a constant slice, one
 * element, NaN and the infinities, an empty reduction); a float64 reference over every layout
 * the kernel has (runs, rows, both, long runs cut into blocks, rows in blocks), a large mean
 * next to a small spread; the same bits for 1, 2 and 3 threads; gradients by finite differences
 * through the tape; typed errors. The GPU block compares native/cuda/var_std.cu with the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectClose, expectError, gradCheck, loadFixture, randomTensor, sizeOf, unravel } from './helpers';

type T = cc.Tensor;
type V = { shape: number[]; values: (number | string)[] };
const num = (v: number | string): number => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number));
const fromFixture = (v: V): cc.Tensor<'float32'> => cc.tensor(Float32Array.from(v.values.map(num)), { shape: v.shape });

/** float64 var (or std) of x over `axes`, and the float64 gradient of sum(y * dy), per output in row-major order. */
function reference(v: ArrayLike<number>, shape: number[], axes: number[], correction: number, takeSqrt: boolean, dy?: ArrayLike<number>) {
  const groups = new Map<string, number[]>();   // output key -> flat positions of its elements
  for (let i = 0; i < v.length; i++) {
    const idx = unravel(i, shape);
    const key = idx.filter((_, d) => !axes.includes(d)).join(',');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(i);
  }
  const y: number[] = [];
  const dx = new Float64Array(v.length);
  let o = 0;
  for (const at of groups.values()) {
    const n = at.length;
    const mean = at.reduce((s, i) => s + v[i], 0) / n;
    const m2 = at.reduce((s, i) => s + (v[i] - mean) ** 2, 0);
    const variance = m2 / Math.max(0, n - correction);
    const out = takeSqrt ? Math.sqrt(variance) : variance;
    y.push(out);
    if (dy) {
      const g = takeSqrt ? (out === 0 ? 0 : dy[o] / (2 * out)) : dy[o];
      for (const i of at) dx[i] = (2 / (n - correction)) * g * (v[i] - mean);
    }
    o++;
  }
  return { y, dx };
}

describe('var and std: one native op each way', () => {
  it("PyTorch 1.13's values and gradients: axes, keepdim, correction up to and past n, constants, NaN, the infinities, empty", () => {
    const { cases } = loadFixture<{ cases: { name: string; op: 'var' | 'std'; dim: number[]; correction: number; keepdim: boolean; x: V; dy: V; y: V; dx: V }[] }>('var_std');
    expect(cases.length).to.be.greaterThan(30);
    for (const c of cases) {
      const x = fromFixture(c.x).requiresGrad_();
      const fn = c.op === 'var' ? cc.variance : cc.std;
      const y = fn(x, c.dim, { correction: c.correction, keepdim: c.keepdim });
      expect(y.shape, c.name).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values.map(num), 2e-6, 1e-7, `${c.name}: y`);
      y.backward(fromFixture(c.dy));
      if (c.dx.values.length > 0) expectClose(x.grad!.dataSync(), c.dx.values.map(num), 2e-6, 1e-6, `${c.name}: dx`);
      else expect(x.grad!.shape, c.name).to.deep.equal(c.x.shape);
    }
  });

  // Each shape and set of axes picks a layout of var_std.cc: runs (a reduced last axis), rows
  // (a kept last axis; [70000, 3] over 0 has few outputs, so its rows go in blocks), both ([N, C,
  // H, W] over {0, 2, 3}; [30000, 2, 3] over {0, 2}: the runs' partials are rows in blocks), runs
  // longer than a block (16384), and one element per output.
  const LAYOUTS: [number[], number[]][] = [
    [[5, 40], [1]], [[37], [0]], [[6, 7, 9], [2]], [[6, 7, 9], [1, 2]],                // runs
    [[40, 5], [0]], [[6, 7, 9], [0]], [[6, 7, 9], [0, 1]], [[70000, 3], [0]],          // rows
    [[4, 3, 5, 6], [0, 2, 3]], [[4, 3, 5, 6], [0, 2]], [[3, 4, 20000], [0, 2]],        // both (long runs;
    [[30000, 2, 3], [0, 2]],                                                           //   partials' rows in blocks)
    [[2, 40000], [1]], [[40000], [0]], [[3, 5], [0, 1]], [[3, 1, 5], [1]], [[4, 5], []], // long runs, all, size-1 axis, [] = all
  ];

  it('values and gradients against a float64 reference in every layout, both corrections, keepdim', () => {
    let seed = 10;
    for (const [shape, axes] of LAYOUTS) {
      const { t, v } = randomTensor(shape, seed++, -3, 2);
      const all = axes.length === 0 ? shape.map((_, i) => i) : axes;
      for (const [op, fn] of [['var', cc.variance], ['std', cc.std]] as const) {
        for (const correction of [0, 1]) {
          const what = `${op} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}, correction ${correction}`;
          const x = t.detach().requiresGrad_();
          const y = fn(x, axes, { correction, keepdim: correction === 1 });
          const outShape = correction === 1 ? shape.map((d, i) => (all.includes(i) ? 1 : d)) : shape.filter((_, i) => !all.includes(i));
          expect(y.shape, what).to.deep.equal(outShape);
          const dy = randomTensor(y.shape, seed++);
          const ref = reference(v, shape, all, correction, op === 'std', dy.v);
          expectClose(y.dataSync(), ref.y, 2e-6, 0, `${what}: y`);
          y.backward(dy.t);
          expectClose(x.grad!.dataSync(), ref.dx, 1e-5, 1e-6, `${what}: dx`);
        }
      }
    }
  });

  it('a large mean next to a small spread: float64 sums, so no cancellation', () => {
    // 1e4 + u, u in [-1, 1): a float32 x^2 rounds by about 4 there, more than the variance (1/3),
    // so E[x^2] - E[x]^2 in float32 would be noise; deviations from a float64 mean keep float32's precision.
    const shape = [3, 5000];
    const { v } = randomTensor(shape, 5, -1, 1);
    const shifted = Float64Array.from(v, (u) => Math.fround(1e4 + u));
    const x = cc.tensor(Float32Array.from(shifted), { shape });
    for (const axes of [[1], [0], [0, 1]]) {
      expectClose(cc.variance(x, axes).dataSync(), reference(shifted, shape, axes, 1, false).y, 1e-6, 0, `var over ${axes}`);
    }
    // A constant: exactly 0, and std's gradient 0 (PyTorch's), not NaN.
    const k = cc.full([4, 3000], 1.1).requiresGrad_();
    const s = cc.std(k, 1);
    expect(Array.from(s.dataSync())).to.deep.equal([0, 0, 0, 0]);
    s.sum().backward();
    expect(k.grad!.dataSync().every((g) => g === 0)).to.equal(true);
  });

  it('the same bits for 1, 2 and 3 threads, forward and backward, in every layout', () => {
    const threads = cc.getNumThreads();
    try {
      let seed = 40;
      for (const [shape, axes] of LAYOUTS) {
        const { t } = randomTensor(shape, seed++, -2, 3);
        const dyShape = shape.filter((_, i) => !(axes.length === 0 || axes.includes(i)));
        const dy = randomTensor(dyShape, seed++).t;
        const run = (n: number) => {
          cc.setNumThreads(n);
          const x = t.detach().requiresGrad_();
          const y = cc.std(x, axes, { correction: 0 });
          const v = cc.variance(x, axes);
          y.backward(dy);
          const g1 = x.grad!.dataSync().slice();
          x.grad = null;
          v.backward(dy);
          return [y.dataSync(), v.dataSync(), g1, x.grad!.dataSync()];
        };
        const one = run(1);
        for (const n of [2, 3]) {
          run(n).forEach((a, i) => expectBitIdentical(a, one[i], `${JSON.stringify(shape)} over ${JSON.stringify(axes)}, ${n} threads, output ${i}`));
        }
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('gradients by finite differences through the tape (runs, rows, both, all; in a longer expression)', () => {
    const X = randomTensor([3, 4, 5], 60, -2, 2);
    const cases: [string, (t: T) => T][] = [
      ['var over 2', (t) => cc.variance(t, 2)],
      ['var over 0', (t) => cc.variance(t, 0, { correction: 0 })],
      ['var over [0, 2], keepdim', (t) => cc.variance(t, [0, 2], { keepdim: true })],
      ['std over 1', (t) => cc.std(t, 1)],
      ['std over [0, 2], correction 2', (t) => cc.std(t, [0, 2], { correction: 2 })],
      ['std of all', (t) => cc.std(t)],
      ['std times var', (t) => cc.mul(cc.std(t, [1, 2], { keepdim: true }), cc.variance(cc.mul(t, t), 0))],
    ];
    for (const [what, fn] of cases) {
      gradCheck({
        inputs: [{ shape: [3, 4, 5], values: X.v }],
        forward: ([t]) => fn(t),
        backward: (dy, [t]) => {
          t.requiresGrad = true;
          fn(t).mul(dy).sum().backward();
          return [t.grad];
        },
        h: 1e-3,
        what,
      });
    }
  });

  it('empty tensors: an empty reduction is NaN, no outputs is an empty result; the gradients have x shape', () => {
    const e = cc.zeros([0, 3]).requiresGrad_();
    const y = cc.variance(e, 0);
    expect(y.shape).to.deep.equal([3]);
    expect(Array.from(y.dataSync()).every(Number.isNaN)).to.equal(true);
    y.sum().backward();
    expect(e.grad!.shape).to.deep.equal([0, 3]);
    expect(cc.std(e, 1).shape).to.deep.equal([0]);
    expect(Number.isNaN(cc.std(cc.zeros([0])).item())).to.equal(true);
    expect(Number.isNaN(cc.variance(cc.zeros([2, 0, 3]), [1, 2], { keepdim: true }).dataSync()[1])).to.equal(true);
    // A scalar: one element (unbiased: 0 / 0).
    expect(Number.isNaN(cc.tensor(2).var().item())).to.equal(true);
    expect(cc.tensor(2).std(undefined, { unbiased: false }).item()).to.equal(0);
  });

  it('typed errors, from lib/ and from the native entry points', () => {
    const x = cc.randn([2, 3]);
    expectError(() => cc.variance(cc.tensor(new Int32Array([1, 2]), { dtype: 'int32' })), 'E_DTYPE');
    expectError(() => cc.std(x, 0, { unbias: true } as unknown as cc.VarOptions), 'E_ARG', /unbias/);
    expectError(() => cc.std(x, 0, null as unknown as cc.VarOptions), 'E_ARG');
    expectError(() => cc.variance(x, 0, { correction: -1 }), 'E_ARG', /correction/);
    expectError(() => cc.variance(x, 0, { correction: NaN }), 'E_ARG', /correction/);
    expectError(() => cc.variance(x, 0, { correction: Infinity }), 'E_ARG', /correction/);
    expectError(() => cc.variance(x, 0, { unbiased: 1 as unknown as boolean }), 'E_ARG', /unbiased/);
    expectError(() => cc.variance(x, 0, { keepdim: 'yes' as unknown as boolean }), 'E_ARG', /keepdim/);
    expectError(() => cc.variance(x, 2), 'E_ARG');
    expectError(() => cc.std(x, [1, -1]), 'E_ARG', /appears twice/);
    expectError(() => cc.std(x, '0' as unknown as number), 'E_ARG');
    // The addon checks again (its callers need not be lib/).
    const h = x.handle('test');
    expectError(() => native.varStd(h, [0], -1, false, false), 'E_ARG', /correction/);
    expectError(() => native.varStd(h, [0, 0], 1, false, true), 'E_ARG', /repeated/);
    expectError(() => native.varStd(h, [2], 1, false, true), 'E_ARG');
    const [hy, hmean] = native.varStd(h, [1], 1, false, false);
    const dy = cc.ones([2]).handle('test');
    expectError(() => native.varStdBackward(dy, h, hy, hy, [0], 1, false), 'E_SHAPE');
    expectError(() => native.varStdBackward(dy, h, hy, cc.ones([3]).handle('test'), [1], 1, false), 'E_SHAPE', /mean/);
    expect(new cc.Tensor(native.varStdBackward(dy, h, hy, hmean, [1], 1, false), [2, 3], 'float32').shape).to.deep.equal([2, 3]);
  });
});

describeCuda('cuda: var and std', () => {
  it('native/cuda/var_std.cu against the CPU in every layout, with gradients; NaN, constants, empty', () => {
    let seed = 80;
    for (const [shape, axes] of [[[5, 40], [1]], [[40, 5], [0]], [[4, 3, 5, 6], [0, 2, 3]], [[4, 3, 5, 6], [0, 2]], [[2, 40000], [1]],
      [[70000, 3], [0]], [[3, 5], []], [[3, 1, 5], [1]]] as [number[], number[]][]) {
      const x = randomCpu(shape, seed++, -2, 3);
      compareDevices((t) => cc.variance(t, axes), [x], { bound: 1e-5, grads: true, what: `var ${JSON.stringify(shape)} ${JSON.stringify(axes)}` });
      compareDevices((t) => cc.std(t, axes, { correction: 0, keepdim: true }), [x], { bound: 1e-5, grads: true, what: `std ${JSON.stringify(shape)} ${JSON.stringify(axes)}` });
    }
    const special = cc.tensor(Float32Array.from([1, NaN, 2, 1, Infinity, 2, -Infinity, 0, 1, 3, 3, 3]), { shape: [4, 3] });
    compareDevices((t) => cc.std(t, 1), [special], { bound: 1e-5, grads: true, what: 'std NaN, inf, constant' });
    compareDevices((t) => cc.variance(t, 1, { correction: 3 }), [special], { bound: 1e-5, grads: true, what: 'var n - correction = 0' });
    const big = cc.tensor(Float32Array.from(randomTensor([3, 5000], 5).v, (u) => 1e4 + u), { shape: [3, 5000] });
    compareDevices((t) => cc.variance(t, 1), [big], { bound: 1e-5, grads: true, what: 'var, large mean' });
    const e = cc.variance(cc.zeros([0, 3], { device: 'cuda' }), 0);
    expect(Array.from(e.dataSync()).every(Number.isNaN)).to.equal(true);
    expect(sizeOf(cc.std(cc.zeros([0, 3], { device: 'cuda' }), 1).shape)).to.equal(0);
  });
});
