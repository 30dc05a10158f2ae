import { expect } from 'chai';
import * as cc from '../lib';
import {
  batchNormBackward, batchNormWithStats, dropoutBackward, dropoutWithMask, localResponseNormBackward, maxoutBackward,
  preluBackward, softmaxBackward,
} from '../lib/nn/functional/layers';
import { expectBitIdentical, expectClose, expectError, gradCheck, loadFixture, philox, randomTensor, sizeOf } from './helpers';

const { F } = cc;
type V = Float64Array;

// ---- float64 references, written plainly ------------------------------------------------------

/** [outer, len, inner] of an axis. */
function split(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis] ?? 1, sizeOf(shape.slice(axis + 1))];
}

function refPrelu(x: V, shape: number[], w: V): { y: V; dx: (dy: V) => { dx: V; dw: V } } {
  const C = shape.length >= 2 ? shape[1] : 1, S = sizeOf(shape.slice(2));
  const ch = (i: number) => (w.length === 1 ? 0 : Math.floor(i / S) % C);
  return {
    y: x.map((v, i) => (v > 0 ? v : w[ch(i)] * v)),
    dx: (dy) => {
      const dw = new Float64Array(w.length);
      x.forEach((v, i) => { if (v <= 0) dw[ch(i)] += dy[i] * v; });
      return { dx: dy.map((g, i) => (x[i] > 0 ? g : g * w[ch(i)])), dw };
    },
  };
}

function refMaxout(x: V, shape: number[], k: number): { y: V; dx: (dy: V) => V } {
  const [N, C] = shape, S = sizeOf(shape.slice(2)), G = C / k;
  const y = new Float64Array(N * G * S), win = new Int32Array(y.length);
  for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) for (let s = 0; s < S; s++) {
    let best = -Infinity, at = 0;
    for (let j = 0; j < k; j++) {
      const idx = (n * C + g * k + j) * S + s;
      // the first maximum wins; a NaN beats any number (the first NaN wins), as the kernels
      if (j === 0 || x[idx] > best || (Number.isNaN(x[idx]) && !Number.isNaN(best))) { best = x[idx]; at = idx; }
    }
    y[(n * G + g) * S + s] = best;
    win[(n * G + g) * S + s] = at;
  }
  return { y, dx: (dy) => { const dx = new Float64Array(x.length); win.forEach((at, o) => { dx[at] = dy[o]; }); return dx; } };
}

function refSoftmax(x: V, shape: number[], axis: number, log: boolean): V {
  const [O, L, I] = split(shape, axis);
  const y = new Float64Array(x.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) {
    const at = (l: number) => (o * L + l) * I + i;
    let m = -Infinity, s = 0;
    for (let l = 0; l < L; l++) m = Math.max(m, x[at(l)]);
    for (let l = 0; l < L; l++) s += Math.exp(x[at(l)] - m);
    for (let l = 0; l < L; l++) y[at(l)] = log ? x[at(l)] - m - Math.log(s) : Math.exp(x[at(l)] - m) / s;
  }
  return y;
}

function refSoftmaxBackward(dy: V, y: V, shape: number[], axis: number, log: boolean): V {
  const [O, L, I] = split(shape, axis);
  const dx = new Float64Array(y.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) {
    const at = (l: number) => (o * L + l) * I + i;
    let s = 0;
    for (let l = 0; l < L; l++) s += log ? dy[at(l)] : dy[at(l)] * y[at(l)];
    for (let l = 0; l < L; l++) dx[at(l)] = log ? dy[at(l)] - Math.exp(y[at(l)]) * s : y[at(l)] * (dy[at(l)] - s);
  }
  return dx;
}

/** LRN forward through float64, and its gradient by the chain rule written the long way. */
function refLrn(x: V, shape: number[], size: number, alpha: number, beta: number, k: number): { y: V; dx: (dy: V) => V } {
  const [N, C] = shape, S = sizeOf(shape.slice(2));
  const at = (n: number, c: number, s: number) => (n * C + c) * S + s;
  const lo = (c: number) => Math.max(0, c - Math.floor(size / 2)), hi = (c: number) => Math.min(C - 1, c + Math.floor((size - 1) / 2));
  const d = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
    let sum = 0;
    for (let j = lo(c); j <= hi(c); j++) sum += x[at(n, j, s)] ** 2;
    d[at(n, c, s)] = k + (alpha / size) * sum;
  }
  return {
    y: x.map((v, i) => v / d[i] ** beta),
    dx: (dy) => {
      const dx = new Float64Array(x.length);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
        const i = at(n, c, s);
        dx[i] += dy[i] * d[i] ** -beta;
        // y_i depends on x_j for j in its window: dy_i/dx_j = -beta x_i d_i^(-beta-1) 2 alpha/size x_j
        for (let j = lo(c); j <= hi(c); j++) {
          const jj = at(n, j, s);
          dx[jj] += dy[i] * -beta * x[i] * d[i] ** (-beta - 1) * (2 * alpha / size) * x[jj];
        }
      }
      return dx;
    },
  };
}

function refBatchNorm(x: V, shape: number[], mean: V, varc: V, w: V | null, b: V | null, eps: number) {
  const C = shape[1], S = sizeOf(shape.slice(2));
  const ch = (i: number) => Math.floor(i / S) % C;
  return x.map((v, i) => ((v - mean[ch(i)]) / Math.sqrt(varc[ch(i)] + eps)) * (w ? w[ch(i)] : 1) + (b ? b[ch(i)] : 0));
}

function batchStats(x: V, shape: number[]): { mean: V; biased: V; unbiased: V } {
  const C = shape[1], S = sizeOf(shape.slice(2)), M = x.length / C;
  const mean = new Float64Array(C), sq = new Float64Array(C);
  x.forEach((v, i) => { mean[Math.floor(i / S) % C] += v / M; });
  x.forEach((v, i) => { const c = Math.floor(i / S) % C; sq[c] += (v - mean[c]) ** 2; });
  return { mean, biased: sq.map((s) => s / M), unbiased: sq.map((s) => s / (M - 1)) };
}

const data = (t: cc.Tensor) => Float64Array.from(t.dataSync());
const T = (v: V | number[], shape: number[]) => cc.tensor(Float32Array.from(v), { shape });
/** Values kept away from 0 (PReLU's kink) by at least `gap`. */
const awayFromZero = (v: V, gap = 0.05) => v.map((x) => (Math.abs(x) < gap ? x + 2 * gap * Math.sign(x || 1) : x));

describe('F: layers (PReLU, Maxout, softmax, dropout, LRN, batch norm)', () => {
  describe('prelu', () => {
    it('matches a float64 reference, forward and backward (dx, dweight)', () => {
      const shapes: [number[], number][] = [[[1], 1], [[9], 1], [[4, 5], 5], [[4, 5], 1], [[2, 3, 4, 5], 3], [[2, 3, 4, 5], 1], [[3, 2, 70, 70], 2], [[1, 1, 2, 3, 4], 1]];
      for (const [k, [shape, wc]] of shapes.entries()) {
        const { t: x, v } = randomTensor(shape, 10 + k, -3, 3);
        const { t: w, v: wv } = randomTensor([wc], 20 + k, -0.5, 0.5);
        const { t: dy, v: dyv } = randomTensor(shape, 30 + k);
        const ref = refPrelu(v, shape, wv);
        expectClose(F.prelu(x, w).dataSync(), ref.y, 1e-6, 1e-7, `prelu ${shape}`);
        const g = preluBackward(dy, x, w), rg = ref.dx(dyv);
        expectClose(g.dx.dataSync(), rg.dx, 1e-6, 1e-7, 'dx');
        expectClose(g.dweight.dataSync(), rg.dw, 1e-6, 1e-5, 'dweight');
      }
      // rank 0 takes a weight of shape [1]
      expect(F.prelu(cc.tensor(-2), cc.tensor([0.5])).item()).to.equal(-1);
    });

    it('forward gives exactly x or fround(w * x), as PyTorch (-0 stays -0), special values included, in the vector body and the tail', () => {
      const special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];
      const { v } = randomTensor([61], 4, -2, 2);
      const values = Float32Array.from([...special, ...v, ...special]);
      const y = F.prelu(cc.tensor(values, { shape: [1, 1, values.length] }), T([0.25], [1])).dataSync();
      values.forEach((xv, i) => {
        const want = xv > 0 ? xv : Math.fround(0.25 * xv);
        expect(Object.is(y[i], want), `y at ${i} (x = ${xv}): ${y[i]} vs ${want}`).to.equal(true);
      });
    });

    it('passes a finite-difference gradient check (x and weight)', () => {
      for (const wc of [3, 1]) {
        const { v } = randomTensor([2, 3, 4], 5, -2, 2);
        gradCheck({
          what: `prelu w[${wc}]`,
          inputs: [{ shape: [2, 3, 4], values: awayFromZero(v) }, { shape: [wc], values: Float64Array.from({ length: wc }, (_, i) => 0.1 + 0.2 * i) }],
          forward: ([x, w]) => F.prelu(x, w),
          backward: (dy, [x, w]) => { const g = preluBackward(dy, x, w); return [g.dx, g.dweight]; },
        });
      }
    });
  });

  describe('maxout', () => {
    it('matches a float64 reference (first maximum wins ties)', () => {
      const cases: [number[], number][] = [[[2, 6], 3], [[2, 6], 1], [[3, 8, 5], 4], [[2, 6, 3, 4], 2], [[2, 12, 9, 9], 6], [[1, 4, 2, 2, 2], 2]];
      for (const [k, [shape, pieces]] of cases.entries()) {
        const { t: x, v } = randomTensor(shape, 40 + k, -2, 2);
        const ref = refMaxout(v, shape, pieces);
        const y = F.maxout(x, pieces);
        expect(y.shape).to.deep.equal([shape[0], shape[1] / pieces, ...shape.slice(2)]);
        expectClose(y.dataSync(), ref.y, 0, 0, 'maxout');
        const { t: dy, v: dyv } = randomTensor(y.shape, 50 + k);
        expectClose(maxoutBackward(dy, x, pieces).dataSync(), ref.dx(dyv), 0, 0, 'maxout dx');
      }
      // Rows longer than the backward's 512-position chunks, with ties (values on a grid of 0.5) and NaNs.
      for (const [shape, pieces] of [[[2, 6, 23, 29], 3], [[1, 4, 1030], 2]] as [number[], number][]) {
        const v = randomTensor(shape, 77, -2, 2).v.map((a, i) => (i % 97 === 5 ? NaN : Math.round(2 * a) / 2));
        const x = cc.tensor(Float32Array.from(v), { shape });
        const ref = refMaxout(v, shape, pieces);
        expectClose(F.maxout(x, pieces).dataSync(), ref.y, 0, 0, `maxout ${shape}`);
        const { t: dy, v: dyv } = randomTensor([shape[0], shape[1] / pieces, ...shape.slice(2)], 78);
        expectClose(maxoutBackward(dy, x, pieces).dataSync(), ref.dx(dyv), 0, 0, `maxout dx ${shape}`);
      }
      const tie = cc.tensor([[3, 3, 1, 5]]);
      expect(Array.from(maxoutBackward(cc.tensor([[7, 8]]), tie, 2).dataSync())).to.deep.equal([7, 0, 0, 8]);
      expect(Number.isNaN(F.maxout(cc.tensor([[1, NaN]]), 2).dataSync()[0])).to.equal(true);
    });

    it('passes a finite-difference gradient check (distinct maxima)', () => {
      const n = 2 * 6 * 5;
      const values = Float64Array.from({ length: n }, (_, i) => ((i * 37) % n) * 0.1 - 3); // distinct, 0.1 apart
      gradCheck({
        what: 'maxout', h: 1e-2,
        inputs: [{ shape: [2, 6, 5], values }],
        forward: ([x]) => F.maxout(x, 3),
        backward: (dy, [x]) => [maxoutBackward(dy, x, 3)],
      });
    });
  });

  describe('softmax and logSoftmax', () => {
    const cases: [number[], number][] = [[[7], 0], [[7], -1], [[4, 10], 1], [[4, 10], 0], [[2, 3, 4, 5], 1], [[2, 3, 4, 5], -1], [[2, 3, 4, 5], 0],
      [[2, 3, 300, 2], 2], [[3, 1000], 1], [[2, 20001], 1], [[1, 1], 1]];
    for (const log of [false, true]) {
      const name = log ? 'logSoftmax' : 'softmax';
      const fn = log ? F.logSoftmax : F.softmax;
      it(`${name} matches a float64 reference over shapes and dims, forward and backward`, () => {
        for (const [k, [shape, dim]] of cases.entries()) {
          const { t: x, v } = randomTensor(shape, 60 + k, -8, 8);
          const axis = dim < 0 ? dim + shape.length : dim;
          const ref = refSoftmax(v, shape, axis, log);
          const y = fn(x, dim);
          expectClose(y.dataSync(), ref, 3e-6, log ? 3e-6 : 1e-8, `${name} ${shape} dim ${dim}`);
          const { t: dy, v: dyv } = randomTensor(shape, 70 + k);
          const dref = refSoftmaxBackward(dyv, data(y), shape, axis, log);
          expectClose(softmaxBackward(name, dy, y, dim).dataSync(), dref, 1e-5, 1e-6, `${name} backward ${shape} dim ${dim}`);
        }
        expect(fn(cc.tensor(3), 0).item()).to.equal(log ? 0 : 1);
      });

      it(`${name} passes a finite-difference gradient check`, () => {
        for (const dim of [1, -1]) {
          const { v } = randomTensor([2, 4, 3], 80, -2, 2);
          gradCheck({
            what: `${name} dim ${dim}`,
            inputs: [{ shape: [2, 4, 3], values: v }],
            forward: ([x]) => fn(x, dim),
            backward: (dy, [, ], y) => [softmaxBackward(name, dy, y, dim)],
          });
        }
      });
    }

    it('is stable for large inputs; softmax rows sum to 1', () => {
      const y = F.softmax(cc.tensor([[1000, 1000, 999], [-1000, -1001, -1000], [1e30, 0, -1e30], [88, 89, 90]]), 1).dataSync();
      const e = Math.exp(-1) / (2 + Math.exp(-1));
      expectClose(y, [1 / (2 + Math.exp(-1)), 1 / (2 + Math.exp(-1)), e, 1 / (2 + Math.exp(-1)), e, 1 / (2 + Math.exp(-1)), 1, 0, 0,
        Math.exp(-2) / (1 + Math.exp(-1) + Math.exp(-2)), Math.exp(-1) / (1 + Math.exp(-1) + Math.exp(-2)), 1 / (1 + Math.exp(-1) + Math.exp(-2))], 1e-6, 1e-7);
      const ly = F.logSoftmax(cc.tensor([[1000, 0]]), 1).dataSync();
      expectClose(ly, [0, -1000], 1e-7, 1e-7);
      const { t } = randomTensor([50, 333], 3, -40, 40);
      const rows = F.softmax(t, -1).sum(1).dataSync();
      expectClose(rows, new Float64Array(50).fill(1), 1e-6, 0);
      const cols = F.softmax(t, 0).sum(0).dataSync();
      expectClose(cols, new Float64Array(333).fill(1), 1e-6, 0);
      // NaN poisons its slice only; a slice of -inf only is NaN (as PyTorch)
      const nan = F.softmax(cc.tensor([[1, NaN], [1, 1], [-Infinity, -Infinity]]), 1).dataSync();
      expect(Array.from(nan).map(Number.isNaN)).to.deep.equal([true, true, false, false, true, true]);
    });
  });

  describe('dropout', () => {

    it('draws its mask from the seeded Philox stream as documented, and scales exactly', () => {
      // [5, 211]: past the CPU kernel's chunks of 256 elements (cpu/philox_lanes.h), the last one cut.
      for (const [p, shape] of [[0.1, [3, 7]], [0.5, [3, 7]], [0.75, [3, 7]], [0.3, [5, 211]], [0.25, [5, 211]]] as [number, number[]][]) {
        cc.manualSeed(4321);
        cc.rand([6]); // takes blocks 0 and 1: dropout starts at block 2
        const { t: x, v } = randomTensor(shape, 9, -2, 2);
        const { y, mask } = dropoutWithMask(x, p);
        const m = mask!.dataSync(), yv = y.dataSync();
        const scale = Math.fround(1 / Math.fround(1 - p));
        for (let i = 0; i < v.length; i++) {
          const u = (philox(4321n, BigInt(2 + Math.floor(i / 4)))[i % 4] >>> 8) / 16777216;
          expect(m[i], `mask[${i}]`).to.equal(u >= p ? 1 : 0);
          expect(yv[i], `y[${i}]`).to.equal(u >= p ? Math.fround(v[i] * scale) : 0);
        }
        const { t: dy, v: dyv } = randomTensor(shape, 10);
        const dx = dropoutBackward(dy, mask, p).dataSync();
        for (let i = 0; i < v.length; i++) expect(dx[i]).to.equal(m[i] ? Math.fround(dyv[i] * scale) : 0);
      }
    });

    it('the same seed gives the same mask; the kept fraction is about 1 - p; thread counts agree', () => {
      const before = cc.getNumThreads();
      const masks: Float32Array[] = [];
      for (const threads of [1, 2, 3, 1]) {
        cc.setNumThreads(threads);
        cc.manualSeed(77);
        masks.push(dropoutWithMask(cc.ones([100003]), 0.3).mask!.dataSync());
      }
      cc.setNumThreads(before);
      for (const m of masks.slice(1)) expectBitIdentical(m, masks[0], 'mask');
      const kept = masks[0].reduce((a, b) => a + b, 0) / masks[0].length;
      expect(kept).to.be.closeTo(0.7, 0.005);
      const other = dropoutWithMask(cc.ones([100003]), 0.3).mask!.dataSync();
      expect(Array.from(other)).to.not.deep.equal(Array.from(masks[0]));
    });

    it('is the identity in evaluation and for p = 0, zero for p = 1; gradient checks', () => {
      const { t: x, v } = randomTensor([4, 5], 11);
      expectClose(F.dropout(x, 0.5, false).dataSync(), v, 0, 0);
      expectClose(F.dropout(x, 0).dataSync(), v, 0, 0);
      const r = dropoutWithMask(x, 0);
      expect(r.mask).to.equal(null);
      expectClose(dropoutBackward(x, null, 0).dataSync(), v, 0, 0);
      expect(Array.from(F.dropout(x, 1).dataSync()).every((y) => y === 0)).to.equal(true);
      expect(Number.isNaN(F.dropout(cc.tensor([NaN]), 1).dataSync()[0])).to.equal(true); // NaN * 0, as PyTorch
      // gradient check with the mask fixed (same seed for every forward)
      const { v: xv } = randomTensor([3, 8], 12);
      gradCheck({
        what: 'dropout',
        inputs: [{ shape: [3, 8], values: xv }],
        forward: ([t]) => { cc.manualSeed(5); return F.dropout(t, 0.4); },
        backward: (dy, [t]) => { cc.manualSeed(5); const { mask } = dropoutWithMask(t, 0.4); return [dropoutBackward(dy, mask, 0.4)]; },
      });
    });
  });

  describe('localResponseNorm', () => {
    const cases: [number[], number, number, number, number][] = [[[2, 7, 6], 3, 1e-4, 0.75, 1], [[2, 6, 3, 4], 5, 1e-2, 0.75, 2], [[2, 6, 3, 4], 4, 0.5, 0.6, 1.5],
      [[1, 3, 2, 2, 3], 7, 0.3, 1, 0.5], [[2, 5, 4], 1, 1, 0.5, 1], [[2, 9, 70, 3], 5, 0.2, 0.75, 1], [[1, 4, 3, 3], 2, 1, 2.5, 0.2]];
    it('matches a float64 reference (odd, even, large windows; several betas), forward and backward', () => {
      for (const [j, [shape, size, alpha, beta, k]] of cases.entries()) {
        const { t: x, v } = randomTensor(shape, 90 + j, -2, 2);
        const ref = refLrn(v, shape, size, alpha, beta, k);
        expectClose(F.localResponseNorm(x, size, alpha, beta, k).dataSync(), ref.y, 2e-6, 1e-7, `lrn ${shape} size ${size}`);
        const { t: dy, v: dyv } = randomTensor(shape, 100 + j);
        expectClose(localResponseNormBackward(dy, x, size, alpha, beta, k).dataSync(), ref.dx(dyv), 1e-5, 1e-6, `lrn dx ${shape} size ${size}`);
      }
    });

    it('passes a finite-difference gradient check', () => {
      for (const [size, beta] of [[3, 0.75], [4, 1.3]]) {
        const { v } = randomTensor([2, 5, 3], 110 + size, -2, 2);
        gradCheck({
          what: `lrn size ${size}`,
          inputs: [{ shape: [2, 5, 3], values: v }],
          forward: ([x]) => F.localResponseNorm(x, size, 0.5, beta, 1),
          backward: (dy, [x]) => [localResponseNormBackward(dy, x, size, 0.5, beta, 1)],
        });
      }
    });
  });

  describe('batchNorm', () => {
    const shapes = [[8, 3], [4, 3, 5, 5], [3, 2, 7], [2, 5, 3, 2, 2], [64, 16, 10, 10], [2, 1, 30000], [3, 9, 7, 5]];
    it('training: batch statistics, in-place running stats (unbiased var), saved mean/invstd; matches float64', () => {
      for (const [j, shape] of shapes.entries()) {
        const C = shape[1];
        const { t: x, v } = randomTensor(shape, 120 + j, -2, 3);
        const { t: w, v: wv } = randomTensor([C], 130 + j, 0.5, 1.5);
        const { t: b, v: bv } = randomTensor([C], 140 + j);
        const { t: rm, v: rm0 } = randomTensor([C], 150 + j);
        const { t: rv, v: rv0 } = randomTensor([C], 160 + j, 0.5, 2);
        const st = batchStats(v, shape);
        const { y, mean, invstd } = batchNormWithStats(x, rm, rv, w, b, { momentum: 0.2, eps: 1e-3 });
        expectClose(y.dataSync(), refBatchNorm(v, shape, st.mean, st.biased, wv, bv, 1e-3), 1e-5, 1e-5, `bn y ${shape}`);
        expectClose(mean.dataSync(), st.mean, 1e-6, 1e-7, 'saved mean');
        expectClose(invstd.dataSync(), st.biased.map((s) => 1 / Math.sqrt(s + 1e-3)), 1e-6, 0, 'saved invstd');
        expectClose(rm.dataSync(), rm0.map((r, c) => 0.8 * r + 0.2 * st.mean[c]), 1e-6, 1e-7, 'running mean');
        expectClose(rv.dataSync(), rv0.map((r, c) => 0.8 * r + 0.2 * st.unbiased[c]), 1e-6, 1e-7, 'running var');
        // backward against the float64 formula
        const { t: dy, v: dyv } = randomTensor(shape, 170 + j);
        const S = sizeOf(shape.slice(2)), M = v.length / C, ch = (i: number) => Math.floor(i / S) % C;
        const inv = st.biased.map((s) => 1 / Math.sqrt(s + 1e-3));
        const db = new Float64Array(C), dw = new Float64Array(C);
        v.forEach((xv, i) => { db[ch(i)] += dyv[i]; dw[ch(i)] += dyv[i] * (xv - st.mean[ch(i)]) * inv[ch(i)]; });
        const dx = v.map((xv, i) => { const c = ch(i); return wv[c] * inv[c] * (dyv[i] - db[c] / M - (xv - st.mean[c]) * inv[c] * dw[c] / M); });
        const g = batchNormBackward(dy, x, w, mean, invstd, true);
        expectClose(g.dx.dataSync(), dx, 1e-4, 1e-5, `bn dx ${shape}`);
        expectClose(g.dweight.dataSync(), dw, 1e-5, 1e-4, 'bn dw');
        expectClose(g.dbias.dataSync(), db, 1e-5, 1e-4, 'bn db');
      }
    });

    it('evaluation uses the running stats (unchanged); its backward treats them as constants', () => {
      const shape = [4, 3, 5];
      const { t: x, v } = randomTensor(shape, 180);
      const rm0 = [0.1, -0.2, 0.3], rv0 = [0.5, 1, 2];
      const rm = cc.tensor(rm0), rv = cc.tensor(rv0), w = cc.tensor([1, 2, -1]), b = cc.tensor([0, 1, 2]);
      const { y, mean, invstd } = batchNormWithStats(x, rm, rv, w, b, { training: false });
      const ref = refBatchNorm(v, shape, Float64Array.from(rm0, Math.fround), Float64Array.from(rv0, Math.fround), Float64Array.from([1, 2, -1]), Float64Array.from([0, 1, 2]), 1e-5);
      expectClose(y.dataSync(), ref, 1e-6, 1e-6);
      expectClose(rm.dataSync(), Float64Array.from(rm0, Math.fround), 0, 0);
      expectClose(rv.dataSync(), Float64Array.from(rv0, Math.fround), 0, 0);
      gradCheck({
        what: 'batchNorm eval',
        inputs: [{ shape, values: v }, { shape: [3], values: Float64Array.from([1, 2, -1]) }, { shape: [3], values: Float64Array.from([0, 1, 2]) }],
        forward: ([t, tw, tb]) => F.batchNorm(t, rm, rv, tw, tb, { training: false }),
        backward: (dy, [t, tw]) => { const g = batchNormBackward(dy, t, tw, mean, invstd, false); return [g.dx, g.dweight, g.dbias]; },
      });
    });

    it('passes a finite-difference gradient check in training (x, weight, bias; with and without affine)', () => {
      const shape = [4, 3, 2];
      const { v } = randomTensor(shape, 190, -2, 2);
      gradCheck({
        what: 'batchNorm train', h: 1e-2,
        inputs: [{ shape, values: v }, { shape: [3], values: Float64Array.from([0.5, 1.5, -1]) }, { shape: [3], values: Float64Array.from([0.1, 0, -0.3]) }],
        forward: ([t, tw, tb]) => F.batchNorm(t, null, null, tw, tb),
        backward: (dy, [t, tw, tb]) => {
          const s = batchNormWithStats(t, null, null, tw, tb);
          const g = batchNormBackward(dy, t, tw, s.mean, s.invstd, true);
          return [g.dx, g.dweight, g.dbias];
        },
      });
      gradCheck({
        what: 'batchNorm train, no affine',
        inputs: [{ shape: [5, 2], values: Float64Array.from([1, -2, 0.5, 3, -1, 0.25, 2, 1, 0, -0.5]) }],
        forward: ([t]) => F.batchNorm(t, null, null),
        backward: (dy, [t]) => { const s = batchNormWithStats(t, null, null); return [batchNormBackward(dy, t, null, s.mean, s.invstd, true).dx]; },
      });
    });

    it('handles empty batches as PyTorch; one value per channel in training is an error', () => {
      const rm = cc.zeros([3]), rv = cc.ones([3]);
      const y = F.batchNorm(cc.zeros([0, 3, 4]), rm, rv);
      expect(y.shape).to.deep.equal([0, 3, 4]);
      expect(Array.from(rm.dataSync())).to.deep.equal([0, 0, 0]);
      expect(Array.from(rv.dataSync())).to.deep.equal([1, 1, 1]);
      expectError(() => F.batchNorm(cc.zeros([1, 3]), rm, rv), 'E_SHAPE', /more than 1 value per channel/);
      expectError(() => F.batchNorm(cc.zeros([1, 3, 1, 1]), rm, rv), 'E_SHAPE');
      expect(F.batchNorm(cc.zeros([1, 3]), rm, rv, null, null, { training: false }).shape).to.deep.equal([1, 3]);
    });
  });

  it('agrees with PyTorch (committed fixtures: forward, gradients, running stats)', () => {
    type Tn = { shape: number[]; values: number[] };
    type Case = Record<string, unknown> & { op: string; x: Tn; dy: Tn; y: Tn; dx: Tn };
    const { cases } = loadFixture<{ cases: Case[] }>('layers');
    const seen = new Set<string>();
    const t = (v: Tn) => cc.tensor(v.values, { shape: v.shape });
    for (const c of cases) {
      seen.add(c.op);
      const x = t(c.x), dy = t(c.dy);
      const what = `${c.op} ${c.x.shape}`;
      if (c.op === 'prelu') {
        const w = t(c.w as Tn);
        expectClose(F.prelu(x, w).dataSync(), c.y.values, 1e-6, 1e-7, what);
        const g = preluBackward(dy, x, w);
        expectClose(g.dx.dataSync(), c.dx.values, 1e-6, 1e-7, what);
        expectClose(g.dweight.dataSync(), (c.dw as Tn).values, 1e-5, 1e-5, what);
      } else if (c.op === 'maxout') {
        const k = c.pieces as number;
        expectClose(F.maxout(x, k).dataSync(), c.y.values, 0, 0, what);
        expectClose(maxoutBackward(dy, x, k).dataSync(), c.dx.values, 0, 0, what);
      } else if (c.op === 'softmax' || c.op === 'logSoftmax') {
        const dim = c.dim as number;
        const y = (c.op === 'softmax' ? F.softmax : F.logSoftmax)(x, dim);
        expectClose(y.dataSync(), c.y.values, 3e-6, 1e-7, what);
        expectClose(softmaxBackward(c.op, dy, y, dim).dataSync(), c.dx.values, 1e-5, 1e-6, what);
      } else if (c.op === 'dropout') {
        const p = c.p as number, mask = t(c.mask as Tn);
        const scale = Math.fround(1 / Math.fround(1 - p));
        // the same scaling rule as PyTorch, bit for bit, given its mask
        const ours = x.mul(mask).mul(scale).dataSync();
        expectClose(ours, c.y.values, 0, 0, what);
        expectClose(dropoutBackward(dy, mask, p).dataSync(), c.dx.values, 0, 0, what);
      } else if (c.op === 'lrn') {
        const [size, alpha, beta, k] = [c.size, c.alpha, c.beta, c.k] as number[];
        expectClose(F.localResponseNorm(x, size, alpha, beta, k).dataSync(), c.y.values, 2e-6, 1e-7, what);
        expectClose(localResponseNormBackward(dy, x, size, alpha, beta, k).dataSync(), c.dx.values, 2e-5, 1e-6, what);
      } else if (c.op === 'batchNorm') {
        const rm = t(c.runningMean as Tn), rv = t(c.runningVar as Tn);
        const w = c.w ? t(c.w as Tn) : null, b = c.b ? t(c.b as Tn) : null;
        const training = c.training as boolean;
        const s = batchNormWithStats(x, rm, rv, w, b, { training, momentum: c.momentum as number, eps: c.eps as number });
        expectClose(s.y.dataSync(), c.y.values, 1e-5, 1e-5, what);
        expectClose(rm.dataSync(), (c.runningMeanAfter as Tn).values, 1e-6, 1e-7, `${what} running mean`);
        expectClose(rv.dataSync(), (c.runningVarAfter as Tn).values, 1e-6, 1e-7, `${what} running var`);
        const g = batchNormBackward(dy, x, w, s.mean, s.invstd, training);
        expectClose(g.dx.dataSync(), c.dx.values, 1e-4, 1e-5, `${what} dx`);
        if (c.dw) {
          expectClose(g.dweight.dataSync(), (c.dw as Tn).values, 1e-5, 1e-5, `${what} dw`);
          expectClose(g.dbias.dataSync(), (c.db as Tn).values, 1e-5, 1e-5, `${what} db`);
        }
      } else {
        expect.fail(`unknown fixture op ${c.op}`);
      }
    }
    expect([...seen].sort()).to.deep.equal(['batchNorm', 'dropout', 'logSoftmax', 'lrn', 'maxout', 'prelu', 'softmax']);
  });

  it('gives bit-identical results for 1, 2 and 3 threads (reductions included)', () => {
    const before = cc.getNumThreads();
    const runs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      cc.setNumThreads(threads);
      const { t: x } = randomTensor([6, 8, 33, 31], 200, -2, 2);
      const { t: dy } = randomTensor([6, 8, 33, 31], 201);
      const { t: x2 } = randomTensor([5000, 3], 202);
      const { t: dy2 } = randomTensor([5000, 3], 203);
      const out: Float32Array[] = [];
      for (const w of [cc.full([8], 0.2), cc.full([1], 0.3)]) {
        const g = preluBackward(dy, x, w);
        out.push(F.prelu(x, w).dataSync(), g.dx.dataSync(), g.dweight.dataSync());
      }
      for (const [xx, dd] of [[x, dy], [x2, dy2]]) {
        const rm = cc.zeros([xx.shape[1]]), rv = cc.ones([xx.shape[1]]);
        const s = batchNormWithStats(xx, rm, rv, cc.full([xx.shape[1]], 1.5), cc.full([xx.shape[1]], 0.5));
        const g = batchNormBackward(dd, xx, cc.full([xx.shape[1]], 1.5), s.mean, s.invstd, true);
        out.push(s.y.dataSync(), s.mean.dataSync(), s.invstd.dataSync(), rm.dataSync(), rv.dataSync(), g.dx.dataSync(), g.dweight.dataSync(), g.dbias.dataSync());
      }
      for (const dim of [1, 3]) {
        const y = F.softmax(x, dim), ly = F.logSoftmax(x, dim);
        out.push(y.dataSync(), ly.dataSync(), softmaxBackward('softmax', dy, y, dim).dataSync(), softmaxBackward('logSoftmax', dy, ly, dim).dataSync());
      }
      out.push(F.localResponseNorm(x, 5).dataSync(), localResponseNormBackward(dy, x, 5).dataSync());
      out.push(F.maxout(x, 4).dataSync());
      runs.push(out);
    }
    cc.setNumThreads(before);
    for (const r of runs.slice(1)) r.forEach((a, i) => expectBitIdentical(a, runs[0][i], `output ${i}`));
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([2, 4, 3, 3]), i32 = cc.zeros([2, 4, 3, 3], 'int32');
    const gone = cc.zeros([2, 4, 3, 3]);
    gone.dispose();
    // prelu
    expectError(() => F.prelu(x, cc.zeros([3])), 'E_SHAPE', /weight.*\[1\] or \[4\]/);
    expectError(() => F.prelu(x, cc.zeros([4, 1])), 'E_SHAPE');
    expectError(() => F.prelu(cc.zeros([5]), cc.zeros([5])), 'E_SHAPE');
    expectError(() => F.prelu(i32, cc.zeros([4])), 'E_DTYPE');
    expectError(() => F.prelu(x, cc.zeros([4], 'int32')), 'E_DTYPE');
    expectError(() => F.prelu(gone, cc.zeros([4])), 'E_DISPOSED');
    expectError(() => preluBackward(cc.zeros([2, 4]), x, cc.zeros([4])), 'E_SHAPE');
    // maxout
    expectError(() => F.maxout(x, 3), 'E_SHAPE', /not divisible by pieces = 3/);
    expectError(() => F.maxout(x, 0), 'E_ARG');
    expectError(() => F.maxout(x, 1.5), 'E_ARG');
    expectError(() => F.maxout(cc.zeros([4]), 2), 'E_SHAPE');
    expectError(() => F.maxout(i32, 2), 'E_DTYPE');
    expectError(() => F.maxout(gone, 2), 'E_DISPOSED');
    expectError(() => maxoutBackward(cc.zeros([2, 4, 3, 3]), x, 2), 'E_SHAPE');
    // softmax
    expectError(() => F.softmax(x, 4), 'E_ARG', /dim/);
    expectError(() => F.logSoftmax(x, -5), 'E_ARG');
    expectError(() => F.softmax(x, NaN), 'E_ARG');
    expectError(() => F.softmax(i32, 1), 'E_DTYPE');
    expectError(() => F.logSoftmax(gone, 1), 'E_DISPOSED');
    expectError(() => softmaxBackward('softmax', cc.zeros([2]), x, 1), 'E_SHAPE');
    // dropout
    expectError(() => F.dropout(x, 1.5), 'E_ARG', /p.*\[0, 1\]/);
    expectError(() => F.dropout(x, -0.1), 'E_ARG');
    expectError(() => F.dropout(x, NaN), 'E_ARG');
    expectError(() => F.dropout(x, 0.5, 'yes' as unknown as boolean), 'E_ARG');
    expectError(() => F.dropout(i32), 'E_DTYPE');
    expectError(() => F.dropout(gone), 'E_DISPOSED');
    expectError(() => dropoutBackward(x, cc.zeros([3]), 0.5), 'E_SHAPE');
    // localResponseNorm
    expectError(() => F.localResponseNorm(cc.zeros([2, 4]), 3), 'E_SHAPE', /rank 3 or more/);
    expectError(() => F.localResponseNorm(x, 0), 'E_ARG', /size/);
    expectError(() => F.localResponseNorm(x, 2.5), 'E_ARG');
    expectError(() => F.localResponseNorm(x, 3, NaN), 'E_ARG', /alpha/);
    expectError(() => F.localResponseNorm(x, 3, 1e-4, Infinity), 'E_ARG', /beta/);
    expectError(() => F.localResponseNorm(x, 3, 1e-4, 0.75, NaN), 'E_ARG', /k/);
    expectError(() => F.localResponseNorm(i32, 3), 'E_DTYPE');
    expectError(() => F.localResponseNorm(gone, 3), 'E_DISPOSED');
    expectError(() => localResponseNormBackward(cc.zeros([2, 4, 3]), x, 3), 'E_SHAPE');
    // batchNorm
    const rm = cc.zeros([4]), rv = cc.ones([4]);
    expectError(() => F.batchNorm(cc.zeros([4]), rm, rv), 'E_SHAPE', /\[N, C\]/);
    expectError(() => F.batchNorm(x, cc.zeros([3]), rv), 'E_SHAPE', /runningMean.*\[4\]/);
    expectError(() => F.batchNorm(x, rm, cc.ones([4, 1])), 'E_SHAPE', /runningVar/);
    expectError(() => F.batchNorm(x, rm, rv, cc.ones([5])), 'E_SHAPE', /weight/);
    expectError(() => F.batchNorm(x, rm, rv, null, cc.ones([2])), 'E_SHAPE', /bias/);
    expectError(() => F.batchNorm(x, rm, null), 'E_ARG', /both/);
    expectError(() => F.batchNorm(x, null, null, null, null, { training: false }), 'E_ARG', /runningMean/);
    expectError(() => F.batchNorm(x, rm, rv, null, null, { momentum: 1.5 }), 'E_ARG', /momentum/);
    expectError(() => F.batchNorm(x, rm, rv, null, null, { momentum: NaN }), 'E_ARG', /momentum/);
    expectError(() => F.batchNorm(x, rm, rv, null, null, { eps: -1 }), 'E_ARG', /eps/);
    expectError(() => F.batchNorm(x, rm, rv, null, null, { eps: NaN }), 'E_ARG', /eps/);
    expectError(() => F.batchNorm(i32, rm, rv), 'E_DTYPE');
    expectError(() => F.batchNorm(x, cc.zeros([4], 'int32'), rv), 'E_DTYPE');
    expectError(() => F.batchNorm(gone, rm, rv), 'E_DISPOSED');
    const goneStat = cc.zeros([4]);
    goneStat.dispose();
    expectError(() => F.batchNorm(x, goneStat, rv), 'E_DISPOSED');
    expectError(() => batchNormBackward(x, x, null, cc.zeros([3]), cc.ones([4]), true), 'E_SHAPE');
    expectError(() => batchNormBackward(cc.zeros([2, 4]), x, null, cc.zeros([4]), cc.ones([4]), true), 'E_SHAPE');
  });

  it('checks again natively (the addon called directly)', async () => {
    const { native } = await import('../lib/native');
    const x = cc.zeros([2, 4, 3, 3]);
    const h = (t: cc.Tensor) => t.handle();
    expectError(() => native.preluForward(h(x), h(cc.zeros([3]))), 'E_SHAPE');
    expectError(() => native.maxoutForward(h(x), 3), 'E_SHAPE');
    expectError(() => native.maxoutForward(h(x), 0), 'E_ARG');
    expectError(() => native.softmaxForward(h(x), 7, false), 'E_ARG');
    expectError(() => native.dropoutForward(h(x), 2), 'E_ARG');
    expectError(() => native.lrnForward(h(cc.zeros([2, 3])), 3, 1, 1, 1), 'E_SHAPE');
    expectError(() => native.lrnForward(h(x), 0, 1, 1, 1), 'E_ARG');
    expectError(() => native.lrnForward(h(x), 3, NaN, 1, 1), 'E_ARG');
    expectError(() => native.batchNormForward(h(x), h(cc.zeros([3])), h(cc.ones([4])), null, null, true, 0.1, 1e-5), 'E_SHAPE');
    expectError(() => native.batchNormForward(h(cc.zeros([1, 4])), null, null, null, null, true, 0.1, 1e-5), 'E_SHAPE');
    expectError(() => native.batchNormForward(h(x), null, null, null, null, false, 0.1, 1e-5), 'E_ARG');
    expectError(() => native.batchNormForward(h(x), null, null, null, null, true, NaN, 1e-5), 'E_ARG');
    expectError(() => native.batchNormForward(h(x), h(x), h(x), null, null, true, 0.1, 1e-5), 'E_SHAPE');
    expectError(() => native.preluForward(h(cc.zeros([2, 4], 'int32')), h(cc.zeros([4]))), 'E_DTYPE');
  });
});
