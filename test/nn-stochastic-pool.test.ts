/**
 * Stochastic pooling (F.stochasticPool2d, nn.StochasticPool2d; Zeiler and Fergus 2013, survey
 * section 3.2). Evaluation's expectation sum a^2 / sum a and its gradient against a float64
 * reference and finite differences; training's picks against a JavaScript reference that draws
 * the documented Philox numbers (so every pick is pinned down, not only its distribution), the
 * frequencies of the picks against the probabilities, the gradient to the picked values alone,
 * the edge cases (nothing positive, NaN, +inf, padding, ceilMode), the module, the GPU beside the
 * CPU, and the errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { stochasticPool2dBackward, stochasticPool2dForward } from '../lib/nn/functional/pool';
import { describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectClose, expectError, gradCheck, philoxUniform, randomTensor, rng } from './helpers';

const { F, nn } = cc;

interface Geometry { k: [number, number]; s: [number, number]; p: [number, number]; ceil: boolean }

function geometry(k: number | [number, number], o: { stride?: number | [number, number]; padding?: number | [number, number]; ceilMode?: boolean } = {}): Geometry {
  const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
  const kk = pair(k);
  return { k: kk, s: o.stride === undefined ? kk : pair(o.stride), p: pair(o.padding ?? 0), ceil: o.ceilMode ?? false };
}

/** Per axis: each output's in-bounds taps [first, first + taps). */
function axis(size: number, k: number, s: number, p: number, ceil: boolean): { first: number; taps: number }[] {
  let out = Math.floor((size + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return Array.from({ length: out }, (_, o) => {
    const start = o * s - p, end = Math.min(start + k, size), first = Math.max(start, 0);
    return { first, taps: Math.max(0, end - first) };
  });
}

/** The windows of every output of a [..., H, W] input, plane by plane, as flat in-plane tap lists. */
function windows(shape: readonly number[], g: Geometry): { planes: number; rows: number; cols: number; taps: number[][] } {
  const [H, W] = shape.slice(-2);
  const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const rows = axis(H, g.k[0], g.s[0], g.p[0], g.ceil), cols = axis(W, g.k[1], g.s[1], g.p[1], g.ceil);
  const taps: number[][] = [];
  for (const r of rows) {
    for (const c of cols) {
      const t: number[] = [];
      for (let a = 0; a < r.taps; a++) for (let b = 0; b < c.taps; b++) t.push((r.first + a) * W + c.first + b);
      taps.push(t);
    }
  }
  return { planes, rows: rows.length, cols: cols.length, taps };
}

/** Evaluation's output and gradient (for upstream dy) in float64. */
function evalReference(x: ArrayLike<number>, shape: readonly number[], g: Geometry, dy?: ArrayLike<number>): { y: number[]; dx: number[] } {
  const { planes, taps } = windows(shape, g);
  const inPlane = shape[shape.length - 2] * shape[shape.length - 1];
  const y: number[] = [], dx = new Array<number>(x.length).fill(0);
  for (let p = 0; p < planes; p++) {
    taps.forEach((t, o) => {
      const vals = t.map((k) => x[p * inPlane + k]);
      if (vals.some(Number.isNaN)) { y.push(NaN); return; }
      const S = vals.reduce((s, v) => s + Math.max(v, 0), 0), Q = vals.reduce((s, v) => s + Math.max(v, 0) ** 2, 0);
      y.push(S > 0 ? (S === Infinity ? Infinity : Q / S) : 0);
      if (dy && S > 0) t.forEach((k, i) => { if (vals[i] > 0) dx[p * inPlane + k] += dy[p * taps.length + o] * (2 * vals[i] * S - Q) / (S * S); });
    });
  }
  return { y, dx };
}

/** Training's picks as documented (native/cpu/stochastic_pool_window.h), after manualSeed(seed) and `firstBlock` blocks drawn. */
function trainReference(x: ArrayLike<number>, shape: readonly number[], g: Geometry, seed: number, firstBlock = 0): { y: number[]; index: number[] } {
  const { planes, taps } = windows(shape, g);
  const inPlane = shape[shape.length - 2] * shape[shape.length - 1];
  const y: number[] = [], index: number[] = [];
  for (let p = 0; p < planes; p++) {
    taps.forEach((t, o) => {
      const u = philoxUniform(BigInt(seed), firstBlock, p * taps.length + o);
      const vals = t.map((k) => x[p * inPlane + k]);
      const nan = vals.findIndex(Number.isNaN);
      if (nan >= 0) { y.push(NaN); index.push(t[nan]); return; }
      const S = vals.reduce((s, v) => s + (v > 0 ? v : 0), 0);
      if (!(S > 0)) { y.push(0); index.push(-1); return; }
      if (S === Infinity) { const i = vals.indexOf(Infinity); y.push(Infinity); index.push(t[i]); return; }
      const threshold = u * S;
      let cum = 0;
      for (let i = 0; i < vals.length; i++) {
        if (vals[i] > 0) {
          cum += vals[i];
          if (cum > threshold) { y.push(vals[i]); index.push(t[i]); return; }
        }
      }
      throw new Error('no pick');
    });
  }
  return { y, index };
}

/** ReLU-like values: about a third exactly 0, the rest in (0, 2). */
function reluLike(shape: number[], seed: number): { t: cc.Tensor<'float32'>; v: Float64Array } {
  const { v } = randomTensor(shape, seed, -1, 2);
  const w = Float64Array.from(v, (a) => (a < 0 ? 0 : a));
  return { t: cc.tensor(Float32Array.from(w), { shape }), v: w };
}

const CASES: [string, number[], number | [number, number], { stride?: number | [number, number]; padding?: number | [number, number]; ceilMode?: boolean }][] = [
  ['2x2 stride 2 (LeNet)', [2, 3, 8, 8], 2, {}],
  ['3x3 stride 2 (the paper, AlexNet)', [2, 4, 13, 13], 3, { stride: 2 }],
  ['3x3 stride 1 padding 1', [1, 2, 6, 7], 3, { stride: 1, padding: 1 }],
  ['2x3 stride [1, 2] ceilMode', [3, 5, 7], [2, 3], { stride: [1, 2], ceilMode: true }],
  // Rows of eight whole windows and more: evaluation takes them eight at a time (AVX2).
  ['3x3 stride 2, rows of 13 windows', [2, 3, 27, 27], 3, { stride: 2 }],
  ['2x2 stride 1 padding 1, rows of 21 windows', [1, 2, 9, 20], 2, { stride: 1, padding: 1 }],
];

describe('F.stochasticPool2d / nn.StochasticPool2d (stochastic pooling)', () => {
  it('evaluation: sum a^2 / sum a of each window against float64 (negative values ignored, 0 where nothing is positive)', () => {
    for (const [what, shape, k, o] of CASES) {
      const { t, v } = randomTensor(shape, 11, -0.5, 1);
      expectClose(F.stochasticPool2d(t, k, o).dataSync(), evalReference(v, shape, geometry(k, o)).y, 2e-7, 1e-7, what);
    }
    const zeros = cc.tensor([-1, -2, 0, -3, 1, 2, 3, 4], { shape: [2, 1, 2, 2] });
    expectClose(F.stochasticPool2d(zeros, 2).dataSync(), [0, 3], 1e-7, 0, 'a window with nothing positive');
  });

  it('evaluation: rows of whole windows (eight at a time) give the bits of each window pooled alone, NaN and infinities included', () => {
    const next = rng(15);
    const specials = [NaN, Infinity, -Infinity, 0, -0];
    for (const [stride, k, W] of [[2, 3, 41], [1, 3, 30], [2, 2, 36], [1, 5, 29]]) {
      const v = Float32Array.from({ length: 2 * k * W }, (_, i) => (i % 23 === 5 ? specials[i % 5] : next() * 3 - 1));
      const x = cc.tensor(v, { shape: [1, 2, k, W] });
      const y = F.stochasticPool2d(x, k, { stride }).dataSync();
      const outs = Math.floor((W - k) / stride) + 1;
      expect(outs).to.be.at.least(8);
      for (let j = 0; j < outs; j++) {
        // one window alone (the per-window walk): the same value, bit for bit
        const alone = F.stochasticPool2d(cc.narrow(x, 3, j * stride, k), k).dataSync();
        for (let c = 0; c < 2; c++) expect(Object.is(y[c * outs + j], alone[c]) || (Number.isNaN(y[c * outs + j]) && Number.isNaN(alone[c])), `stride ${stride} k ${k} window ${j} plane ${c}: ${y[c * outs + j]} vs ${alone[c]}`).to.equal(true);
      }
    }
  });

  it('evaluation: the gradient (2 a S - Q) / S^2 against float64 and against finite differences', () => {
    for (const [what, shape, k, o] of CASES) {
      const { t, v } = randomTensor(shape, 12, -0.5, 1);
      const g = geometry(k, o);
      const y = F.stochasticPool2d(t, k, o);
      const { t: dy, v: dyv } = randomTensor(y.shape as number[], 13);
      const dx = stochasticPool2dBackward(dy, t, null, k, o).dataSync();
      expectClose(dx, evalReference(v, shape, g, dyv).dx, 1e-6, 1e-7, `${what}: dx`);
    }
    // Finite differences where no value sits at the kink (0): positive values away from it.
    const { v } = randomTensor([2, 2, 5, 5], 14, 0.2, 1.5);
    gradCheck({
      what: 'stochasticPool2d eval', inputs: [{ shape: [2, 2, 5, 5], values: v }],
      forward: ([x]) => F.stochasticPool2d(x, 3, { stride: 2, padding: 1 }),
      backward: (dy, [x]) => [cc.tidy(() => { const xx = x.detach(); xx.requiresGrad = true; F.stochasticPool2d(xx, 3, { stride: 2, padding: 1 }).mul(dy).sum().backward(); return xx.grad!; })],
    });
  });

  it('training: every pick is the documented one (Philox numbers, running sum over the threshold u * S), and seeded', () => {
    for (const [what, shape, k, o] of CASES) {
      const { t, v } = reluLike(shape, 21);
      cc.manualSeed(77);
      const [y, idx] = stochasticPool2dForward(t, k, o);
      const ref = trainReference(v, shape, geometry(k, o), 77);
      expect(Array.from(idx.dataSync()), `${what}: indices`).to.deep.equal(ref.index);
      expect(Array.from(y.dataSync()), `${what}: values`).to.deep.equal(ref.y.map(Math.fround));
      // Through F with training: the same values (after other draws: from the next block on).
      cc.manualSeed(77);
      expect(Array.from(F.stochasticPool2d(t, k, { ...o, training: true }).dataSync())).to.deep.equal(Array.from(y.dataSync()));
      cc.manualSeed(77);
      cc.rand([8]);   // two blocks
      expect(Array.from(F.stochasticPool2d(t, k, { ...o, training: true }).dataSync()), `${what}: after other draws`)
        .to.deep.equal(trainReference(v, shape, geometry(k, o), 77, 2).y.map(Math.fround));
    }
  });

  it('training: each value is picked with probability a / sum a (frequencies over 40000 windows)', () => {
    // 40000 planes of one 2x3 window holding 0, 1, 2, 3, 4, -5: p = 0, .1, .2, .3, .4, 0.
    const n = 40000;
    const one = [0, 1, 2, 3, 4, -5];
    const x = cc.tensor(Float32Array.from({ length: n * 6 }, (_, i) => one[i % 6]), { shape: [n, 1, 2, 3] });
    cc.manualSeed(3);
    const [, idx] = stochasticPool2dForward(x, [2, 3]);
    const counts = new Array(6).fill(0);
    for (const i of idx.dataSync()) counts[i]++;
    expect(counts[0]).to.equal(0);
    expect(counts[5]).to.equal(0);
    for (let i = 1; i <= 4; i++) {
      const p = i / 10, sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(counts[i] - n * p), `value ${i}: ${counts[i]} picks`).to.be.below(4.5 * sd);
    }
  });

  it('training: the gradient goes to the picked value alone (summed where windows overlap), none from an empty window', () => {
    for (const [what, shape, k, o] of CASES) {
      const { t, v } = reluLike(shape, 31);
      cc.manualSeed(5);
      const [y] = stochasticPool2dForward(t, k, o);
      const ref = trainReference(v, shape, geometry(k, o), 5);
      const { t: dy, v: dyv } = randomTensor(y.shape as number[], 32);
      const xx = t.detach();
      xx.requiresGrad = true;
      cc.manualSeed(5);
      F.stochasticPool2d(xx, k, { ...o, training: true }).mul(dy).sum().backward();
      const [H, W] = shape.slice(-2), inPlane = H * W, outPlane = y.shape[y.rank - 2] * y.shape[y.rank - 1];
      const expected = new Float32Array(v.length);
      ref.index.forEach((i, o2) => { if (i >= 0) expected[Math.floor(o2 / outPlane) * inPlane + i] += dyv[o2]; });
      expect(Array.from(xx.grad!.dataSync()), what).to.deep.equal(Array.from(expected));
    }
  });

  it('edge cases: nothing positive gives 0 and no gradient; NaN is picked and propagates; +inf is picked; padding never', () => {
    const x = cc.tensor([
      -1, -2, 0, 0,        // nothing positive
      1, NaN, 2, 3,        // a NaN
      1, Infinity, 2, Infinity,  // +inf
      0, 0, 0, 5,          // one positive value: always it
    ], { shape: [4, 1, 2, 2] });
    cc.manualSeed(1);
    const [y, idx] = stochasticPool2dForward(x, 2);
    expect(Array.from(idx.dataSync())).to.deep.equal([-1, 1, 1, 3]);
    const yv = y.dataSync();
    expect([yv[0], yv[2], yv[3]]).to.deep.equal([0, Infinity, 5]);
    expect(Number.isNaN(yv[1])).to.equal(true);
    const ev = F.stochasticPool2d(x, 2).dataSync();
    expect([ev[0], ev[2], ev[3]]).to.deep.equal([0, Infinity, 5]);
    expect(Number.isNaN(ev[1])).to.equal(true);
    const dx = stochasticPool2dBackward(cc.ones([4, 1, 1, 1]), x, idx, 2).dataSync();
    expect(Array.from(dx)).to.deep.equal([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    // Padding: a 1x1 input padded to 3x3 windows always picks its one value (index 0).
    cc.manualSeed(2);
    const [yp, ip] = stochasticPool2dForward(cc.tensor([0.5], { shape: [1, 1, 1, 1] }), 3, { stride: 1, padding: 1 });
    expect([yp.dataSync()[0], ip.dataSync()[0]]).to.deep.equal([0.5, 0]);
  });

  it('nn.StochasticPool2d: training picks, evaluation takes the expectation; options checked; repr (saving: io.test.ts)', () => {
    const m = new nn.StochasticPool2d(2);
    const { t, v } = reluLike([2, 3, 6, 6], 41);
    cc.manualSeed(8);
    const trained = m.train().call(t).dataSync();
    expect(Array.from(trained)).to.deep.equal(trainReference(v, [2, 3, 6, 6], geometry(2), 8).y.map(Math.fround));
    expectClose(m.eval().call(t).dataSync(), evalReference(v, [2, 3, 6, 6], geometry(2)).y, 2e-7, 1e-7, 'eval');
    expect(new nn.StochasticPool2d(3, { stride: 2 }).toString()).to.contain('kernel_size=3, stride=2');
    expectError(() => new nn.StochasticPool2d(0), 'E_ARG');
    expectError(() => new nn.StochasticPool2d(2, { dilation: 2 } as never), 'E_ARG', /dilation/);
    expectError(() => new nn.StochasticPool2d(2, { ceilMode: 1 } as never), 'E_ARG', /ceilMode/);
  });

  it('bad input: typed errors, nothing queued', () => {
    const x = cc.randn([1, 2, 4, 4]);
    expectError(() => F.stochasticPool2d(cc.tensor(new Int32Array(32), { shape: [1, 2, 4, 4] }), 2), 'E_DTYPE');
    expectError(() => F.stochasticPool2d(cc.randn([4, 4]), 2), 'E_SHAPE');
    expectError(() => F.stochasticPool2d(cc.randn([1, 0, 4, 4]), 2), 'E_SHAPE');
    expectError(() => F.stochasticPool2d(x, 0), 'E_ARG', /kernelSize/);
    expectError(() => F.stochasticPool2d(x, 2, { padding: 2 }), 'E_ARG', /padding/);
    expectError(() => F.stochasticPool2d(x, 5), 'E_SHAPE', /too small/);
    expectError(() => F.stochasticPool2d(x, 2, { training: 'yes' } as never), 'E_ARG', /training/);
    expectError(() => F.stochasticPool2d(x, 2, { dilation: 2 } as never), 'E_ARG', /dilation/);
    expectError(() => F.stochasticPool2d(null as never, 2), 'E_ARG');
    expectError(() => stochasticPool2dBackward(cc.ones([1, 2, 3, 3]), x, null, 2), 'E_SHAPE', /dy/);
    expectError(() => stochasticPool2dBackward(cc.ones([1, 2, 2, 2]), x, cc.ones([1, 2, 2, 2]), 2), 'E_DTYPE');
    // An index out of range is found by the kernel: E_INDEX when the result is read.
    const bad = cc.tensor(new Int32Array([0, 1, 99, 2, 0, 0, 0, 0]), { shape: [1, 2, 2, 2] });
    expectError(() => stochasticPool2dBackward(cc.ones([1, 2, 2, 2]), x, bad, 2).dataSync(), 'E_INDEX', /99/);
    expect(Array.from(F.stochasticPool2d(cc.ones([1, 1, 2, 2]), 2).dataSync())).to.deep.equal([1]);   // the queue goes on
  });
});

describeCuda('stochastic pooling on the GPU', () => {
  it('the CPU\'s picks for the same seed, bit for bit; the expectation and both gradients within float rounding', () => {
    for (const [what, shape, k, o] of CASES) {
      const { t } = reluLike(shape, 51);
      const g = t.to('cuda');
      cc.manualSeed(9);
      const [yc, ic] = stochasticPool2dForward(t, k, o);
      cc.manualSeed(9);
      const [yg, ig] = stochasticPool2dForward(g, k, o);
      expect(Array.from(ig.dataSync()), `${what}: indices`).to.deep.equal(Array.from(ic.dataSync()));
      expect(Array.from(yg.dataSync()), `${what}: values`).to.deep.equal(Array.from(yc.dataSync()));
      const dy = randomCpu(yc.shape as number[], 52);
      expect(Array.from(stochasticPool2dBackward(dy.to('cuda'), g, ig, k, o).dataSync()), `${what}: training dx`)
        .to.deep.equal(Array.from(stochasticPool2dBackward(dy, t, ic, k, o).dataSync()));
      const x = randomCpu(shape, 53, -0.5, 1);
      expectSameValues(F.stochasticPool2d(x.to('cuda'), k, o), F.stochasticPool2d(x, k, o), 1e-6, `${what}: eval y`);
      const dye = randomCpu(F.stochasticPool2d(x, k, o).shape as number[], 54);
      expectSameValues(stochasticPool2dBackward(dye.to('cuda'), x.to('cuda'), null, k, o), stochasticPool2dBackward(dye, x, null, k, o), 1e-6, `${what}: eval dx`);
    }
  });

  it('tensors on both devices are E_DEVICE', () => {
    const x = randomCpu([1, 2, 4, 4], 55), dy = cc.ones([1, 2, 2, 2]);
    expectError(() => stochasticPool2dBackward(dy.to('cuda'), x, null, 2), 'E_DEVICE');
    cc.manualSeed(1);
    const [, idx] = stochasticPool2dForward(x, 2);
    expectError(() => stochasticPool2dBackward(dy.to('cuda'), x.to('cuda'), idx, 2), 'E_DEVICE');
  });
});
