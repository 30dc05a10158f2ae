import { expect } from 'chai';
import * as cc from '../lib';
import {
  adaptiveAvgPool2dBackward, adaptiveMaxPool2dBackward, avgPool2dBackward, lpPool2dBackward, maxPool2dBackward,
  maxUnpool2dBackward, maxUnpool2dForward, mixedPool2dBackward, mixedPool2dForward, roiPoolBackward, roiPoolWithArgmax,
} from '../lib/nn/functional/pool';
import { expectBitIdentical, expectClose, expectError, expectRejects, gradCheck, loadFixture, philoxUniform, randomTensor, rng, sizeOf } from './helpers';

const { F } = cc;
type P2 = [number, number];
const two = (v: number | number[] | null | undefined, fallback: P2): P2 =>
  v === undefined || v === null ? fallback : typeof v === 'number' ? [v, v] : [v[0], v[1]];

// ---- float64 references, written plainly --------------------------------------------------------

/** PyTorch's output size (pooling_output_shape). */
function outSize(i: number, k: number, p: number, s: number, d: number, ceil: boolean): number {
  let o = Math.floor((i + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= i + p) o--;
  return o;
}

interface Win { k: P2; s: P2; p: P2; d: P2; ceil: boolean }
interface Geo { planes: number; H: number; W: number; oh: number; ow: number; yShape: number[] }

function geo(shape: readonly number[], w: Win): Geo {
  const H = shape[shape.length - 2], W = shape[shape.length - 1];
  const oh = outSize(H, w.k[0], w.p[0], w.s[0], w.d[0], w.ceil), ow = outSize(W, w.k[1], w.p[1], w.s[1], w.d[1], w.ceil);
  return { planes: sizeOf(shape) / (H * W), H, W, oh, ow, yShape: [...shape.slice(0, -2), oh, ow] };
}

/** The in-bounds positions of output (i, j)'s window, row-major, and its avg_pool2d extent. */
function taps(g: Geo, w: Win, i: number, j: number): { at: number[]; padded: number } {
  const at: number[] = [];
  const h0 = i * w.s[0] - w.p[0], w0 = j * w.s[1] - w.p[1];
  for (let a = 0; a < w.k[0]; a++) {
    for (let b = 0; b < w.k[1]; b++) {
      const h = h0 + a * w.d[0], x = w0 + b * w.d[1];
      if (h >= 0 && h < g.H && x >= 0 && x < g.W) at.push(h * g.W + x);
    }
  }
  const padded = (Math.min(h0 + w.k[0], g.H + w.p[0]) - h0) * (Math.min(w0 + w.k[1], g.W + w.p[1]) - w0);
  return { at, padded };
}

/** Visits every (plane, output o, window positions) of a pool. */
function eachWindow(g: Geo, win: (i: number, j: number) => number[], fn: (plane: number, o: number, at: number[], i: number, j: number) => void): void {
  for (let pl = 0; pl < g.planes; pl++) {
    for (let i = 0; i < g.oh; i++) for (let j = 0; j < g.ow; j++) fn(pl, pl * g.oh * g.ow + i * g.ow + j, win(i, j), i, j);
  }
}

/** PyTorch's max: first maximum, a NaN taking over (the last NaN); all -inf -> the first tap. */
function argmaxOf(x: ArrayLike<number>, base: number, at: number[]): number {
  let best = -Infinity, arg = at[0];
  for (const a of at) if (x[base + a] > best || Number.isNaN(x[base + a])) best = x[base + a], arg = a;
  return arg;
}

function refMaxPool(x: ArrayLike<number>, shape: readonly number[], w: Win, dy?: ArrayLike<number>) {
  const g = geo(shape, w);
  const y = new Float64Array(g.planes * g.oh * g.ow), idx = new Int32Array(y.length), dx = new Float64Array(x.length);
  eachWindow(g, (i, j) => taps(g, w, i, j).at, (pl, o, at) => {
    const base = pl * g.H * g.W;
    idx[o] = argmaxOf(x, base, at);
    y[o] = x[base + idx[o]];
    if (dy) dx[base + idx[o]] += dy[o];
  });
  return { y, idx, dx, shape: g.yShape };
}

function refAvgPool(x: ArrayLike<number>, shape: readonly number[], w: Win, include: boolean, divisor: number | undefined, dy?: ArrayLike<number>) {
  const g = geo(shape, w);
  const y = new Float64Array(g.planes * g.oh * g.ow), dx = new Float64Array(x.length);
  eachWindow(g, (i, j) => [i, j], (pl, o, [i, j]) => {
    const { at, padded } = taps(g, w, i, j);
    const base = pl * g.H * g.W;
    if (at.length === 0) return;
    const div = divisor ?? (include ? padded : at.length);
    y[o] = at.reduce((s, a) => s + x[base + a], 0) / div;
    if (dy) for (const a of at) dx[base + a] += dy[o] / div;
  });
  return { y, dx, shape: g.yShape };
}

/** LPPool2d as PyTorch composes it, in float64: T = (sum x^p / |R|) * (mean ? 1 : kh kw), y = T^(1/p). */
function refLpPool(x: ArrayLike<number>, shape: readonly number[], p: number, w: Win, mean: boolean, dy?: ArrayLike<number>) {
  const g = geo(shape, w);
  const y = new Float64Array(g.planes * g.oh * g.ow), dx = new Float64Array(x.length);
  const pow = (v: number, e: number) => (e === 1 ? v : Math.pow(v, e));
  eachWindow(g, (i, j) => taps(g, w, i, j).at, (pl, o, at) => {
    const base = pl * g.H * g.W;
    const c = (mean ? 1 : w.k[0] * w.k[1]) / at.length;
    const t = at.reduce((s, a) => s + pow(x[base + a], p), 0) * c;
    y[o] = p === 1 ? t : Math.pow(t, 1 / p);
    if (dy && t !== 0) for (const a of at) dx[base + a] += dy[o] * Math.pow(t, 1 / p - 1) * c * pow(x[base + a], p - 1);
  });
  return { y, dx, shape: g.yShape };
}

function refMixedPool(x: ArrayLike<number>, shape: readonly number[], w: Win, lambda: ArrayLike<number>, dy?: ArrayLike<number>) {
  const g = geo(shape, w);
  const y = new Float64Array(g.planes * g.oh * g.ow), dx = new Float64Array(x.length);
  eachWindow(g, (i, j) => [i, j], (pl, o, [i, j]) => {
    const { at, padded } = taps(g, w, i, j);
    const base = pl * g.H * g.W, lam = lambda[pl];
    const arg = argmaxOf(x, base, at);
    y[o] = lam * x[base + arg] + (1 - lam) * at.reduce((s, a) => s + x[base + a], 0) / padded;
    if (dy) {
      dx[base + arg] += lam * dy[o];
      for (const a of at) dx[base + a] += ((1 - lam) * dy[o]) / padded;
    }
  });
  return { y, dx, shape: g.yShape };
}

function refAdaptive(x: ArrayLike<number>, shape: readonly number[], size: P2, kind: 'avg' | 'max', dy?: ArrayLike<number>) {
  const H = shape[shape.length - 2], W = shape[shape.length - 1];
  const g: Geo = { planes: sizeOf(shape) / (H * W), H, W, oh: size[0], ow: size[1], yShape: [...shape.slice(0, -2), ...size] };
  const y = new Float64Array(g.planes * g.oh * g.ow), idx = new Int32Array(y.length), dx = new Float64Array(x.length);
  const window = (i: number, j: number) => {
    const at: number[] = [];
    for (let h = Math.floor((i * H) / g.oh); h < Math.ceil(((i + 1) * H) / g.oh); h++) {
      for (let v = Math.floor((j * W) / g.ow); v < Math.ceil(((j + 1) * W) / g.ow); v++) at.push(h * W + v);
    }
    return at;
  };
  eachWindow(g, window, (pl, o, at) => {
    const base = pl * H * W;
    if (kind === 'max') {
      idx[o] = argmaxOf(x, base, at);
      y[o] = x[base + idx[o]];
      if (dy) dx[base + idx[o]] += dy[o];
    } else {
      y[o] = at.reduce((s, a) => s + x[base + a], 0) / at.length;
      if (dy) for (const a of at) dx[base + a] += dy[o] / at.length;
    }
  });
  return { y, idx, dx, shape: g.yShape };
}

/**
 * torchvision.ops.roi_pool's CPU algorithm (roi_pool_kernel.cpp), with its float arithmetic
 * (Math.fround): batch index truncated; box corners scaled and rounded half away from zero;
 * roi size max(end - start + 1, 1); bin size roi / pooled (float); bin i covers
 * [floor(i bin), ceil((i + 1) bin)) + start, clipped to [0, size]; each bin's maximum must exceed
 * -FLT_MAX, the first one wins; an empty bin gives 0 and argmax -1. Backward: dy to the argmax.
 */
function refRoiPool(x: ArrayLike<number>, shape: readonly number[], boxes: ArrayLike<number>, size: P2, scale: number, dy?: ArrayLike<number>) {
  const [, C, H, W] = shape;
  const K = boxes.length / 5, [oh, ow] = size, f = Math.fround;
  const y = new Float64Array(K * C * oh * ow), argmax = new Int32Array(y.length), dx = new Float64Array(x.length);
  const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
  for (let k = 0; k < K; k++) {
    const b = Math.trunc(boxes[5 * k]);
    const [x1, y1, x2, y2] = [1, 2, 3, 4].map((i) => roundAway(f(boxes[5 * k + i] * f(scale))));
    const binH = f(Math.max(y2 - y1 + 1, 1) / oh), binW = f(Math.max(x2 - x1 + 1, 1) / ow);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const clip = (v: number, n: number) => Math.min(Math.max(v, 0), n);
          const hs = clip(Math.floor(f(i * binH)) + y1, H), he = clip(Math.ceil(f((i + 1) * binH)) + y1, H);
          const ws = clip(Math.floor(f(j * binW)) + x1, W), we = clip(Math.ceil(f((j + 1) * binW)) + x1, W);
          const empty = he <= hs || we <= ws;
          let best = empty ? 0 : -3.4028234663852886e38, arg = -1;
          const base = (b * C + c) * H * W;
          for (let h = hs; h < he; h++) for (let v = ws; v < we; v++) if (x[base + h * W + v] > best) best = x[base + h * W + v], arg = h * W + v;
          const o = ((k * C + c) * oh + i) * ow + j;
          y[o] = best;
          argmax[o] = arg;
          if (dy && arg >= 0) dx[base + arg] += dy[o];
        }
      }
    }
  }
  return { y, argmax, dx, shape: [K, C, oh, ow] };
}


/** Distinct values (no ties, gaps >> the finite-difference step) in random order. */
function distinct(n: number, seed: number): Float64Array {
  const next = rng(seed), v = Float64Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

const randomDy = (shape: readonly number[], seed: number) => randomTensor(shape, seed);

// ---- the tests ------------------------------------------------------------------------------------

const MAX_CASES: { shape: number[]; k: number | P2; s?: number | P2; p?: number | P2; d?: number | P2; ceil?: boolean }[] = [];
for (const k of [1, 2, 3, 4]) {
  for (const s of [1, 2, 3]) {
    for (let p = 0; p <= Math.floor(k / 2); p++) {
      for (const ceil of [false, true]) MAX_CASES.push({ shape: [2, 3, 9, 8], k, s, p, d: k > 1 && s === 2 ? 2 : 1, ceil });
    }
  }
}
MAX_CASES.push({ shape: [1, 2, 7, 13], k: [2, 4], s: [1, 3], p: [1, 2], d: [3, 1], ceil: true }, { shape: [3, 5, 5], k: 3, ceil: true }, { shape: [1, 1, 1, 1], k: 1 });

describe('F: pooling', () => {
  describe('maxPool2d', () => {
    it(`matches a float64 reference forward (values and indices) and backward over ${MAX_CASES.length} windows`, () => {
      MAX_CASES.forEach((c, n) => {
        const w: Win = { k: two(c.k, [1, 1]), s: two(c.s, two(c.k, [1, 1])), p: two(c.p, [0, 0]), d: two(c.d, [1, 1]), ceil: c.ceil ?? false };
        const { t, v } = randomTensor(c.shape, 100 + n);
        const what = `maxPool2d ${JSON.stringify(c)}`;
        const ref = refMaxPool(v, c.shape, w);
        const [y, idx] = F.maxPool2d(t, c.k, { stride: c.s, padding: c.p, dilation: c.d, ceilMode: c.ceil, returnIndices: true });
        expect(y.shape, what).to.deep.equal(ref.shape);
        expectClose(y.dataSync(), ref.y, 0, 0, what);
        expect(Array.from(idx.dataSync()), what).to.deep.equal(Array.from(ref.idx));
        expectClose(F.maxPool2d(t, c.k, { stride: c.s, padding: c.p, dilation: c.d, ceilMode: c.ceil }).dataSync(), ref.y, 0, 0, what);
        const dy = randomDy(ref.shape, 200 + n);
        expectClose(maxPool2dBackward(dy.t, idx, c.shape).dataSync(), refMaxPool(v, c.shape, w, dy.v).dx, 1e-6, 1e-7, `${what} backward`);
      });
    });

    it('has the gradient of finite differences (distinct values)', () => {
      for (const [shape, k, o] of [[[2, 2, 6, 7], 2, {}], [[1, 2, 7, 7], 3, { stride: 2, padding: 1 }], [[1, 1, 8, 9], 2, { stride: 1, dilation: 2, ceilMode: true }]] as const) {
        gradCheck({
          what: `maxPool2d ${JSON.stringify(o)}`,
          inputs: [{ shape: [...shape], values: distinct(sizeOf(shape), 3) }],
          forward: ([x]) => F.maxPool2d(x, k, o),
          backward: (dy, [x]) => {
            const [, idx] = F.maxPool2d(x, k, { ...o, returnIndices: true });
            return [maxPool2dBackward(dy, idx, x.shape)];
          },
        });
      }
    });

    it('takes the first maximum on ties and propagates NaN as PyTorch (the last NaN wins)', () => {
      const [y, idx] = F.maxPool2d(cc.tensor([1, NaN, 3, NaN, 2, 2, 1, 0], { shape: [1, 1, 2, 4] }), [1, 4], { returnIndices: true });
      expect(Number.isNaN(y.dataSync()[0])).to.equal(true);
      expect(y.dataSync()[1]).to.equal(2);
      expect(Array.from(idx.dataSync())).to.deep.equal([3, 4]);
      const [z, zi] = F.maxPool2d(cc.full([1, 1, 1, 4], -Infinity), [1, 2], { padding: [0, 1], returnIndices: true });
      expect(Array.from(z.dataSync())).to.deep.equal([-Infinity, -Infinity, -Infinity]);
      expect(Array.from(zi.dataSync())).to.deep.equal([0, 1, 3]); // PyTorch: the first in-bounds tap
    });

    it('2x2 at stride 2 (LeNet\'s pools, with and without indices) follows the reference on ties, NaN, -inf and -0', () => {
      // every window's four taps drawn from a few values, so that ties, NaN (the last wins), all
      // -inf windows (the first tap) and 0 beside -0 (the first kept) all occur; odd sizes leave a
      // last row and column out. Rows of 3 to 35 outputs: under one vector, one (8, 16), one and
      // a remainder (AVX-512 masks its last step, AVX2 overlaps it), and the tensor's last rows,
      // where AVX-512 must not read past the end.
      const pool = [1, 2, 2, NaN, -Infinity, -Infinity, 0, -0];
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      const zeros = new Set<string>();
      for (const shape of [[2, 3, 8, 10], [1, 2, 7, 9], [2, 2, 6, 28], [1, 2, 5, 17], [1, 1, 4, 33], [2, 1, 4, 70], [1, 1, 3, 67]]) {
        const v = Float32Array.from({ length: sizeOf(shape) }, (_, i) => pool[(i * 7 + (i >> 3) * 5) % pool.length]);
        const w: Win = { k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false };
        const ref = refMaxPool(v, shape, w);
        const [y, idx] = F.maxPool2d(cc.tensor(v, { shape }), 2, { returnIndices: true });
        expect(bits(y.dataSync() as Float32Array), `${shape} values`).to.deep.equal(bits(Float32Array.from(ref.y)));
        expect(Array.from(idx.dataSync()), `${shape} indices`).to.deep.equal(Array.from(ref.idx));
        expect(bits(F.maxPool2d(cc.tensor(v, { shape }), 2).dataSync() as Float32Array), `${shape} values without indices`).to.deep.equal(bits(Float32Array.from(ref.y)));
        expect(Array.from(ref.idx).some((a, o) => Number.isNaN(ref.y[o]) && a % 2 === 1), 'a NaN won from a later tap').to.equal(true);
        zeros.add(Array.from(ref.y).some((a) => Object.is(a, -0)) ? '-0' : '').add(Array.from(ref.y).some((a) => Object.is(a, 0)) ? '0' : '');
      }
      expect(zeros.has('-0') && zeros.has('0'), 'both zeros won somewhere').to.equal(true);
    });

    it('3x3 at stride 1 and 2 (the whole windows\' fixed-tap path) follows the reference on ties, NaN and -inf, with and without indices', () => {
      // rows of 40 to 55 outputs (a vectorised stretch and its remainder) and of 3 to 13; padding
      // puts the border windows on the general path beside them
      const pool = [1, 2, 2, NaN, -Infinity, -Infinity, 0, -0, 3];
      const cases: [number[], Win][] = [
        [[2, 2, 9, 111], { k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], ceil: false }],
        [[1, 3, 7, 27], { k: [3, 3], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }],
        [[2, 2, 6, 42], { k: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], ceil: false }],
        [[1, 2, 5, 5], { k: [3, 3], s: [1, 1], p: [0, 0], d: [1, 1], ceil: false }],
      ];
      for (const [shape, w] of cases) {
        const v = Float32Array.from({ length: sizeOf(shape) }, (_, i) => pool[(i * 7 + (i >> 3) * 5) % pool.length]);
        const W = shape[3];
        if (W >= 9) for (let r = 0; r < 4; r++) v.fill(-Infinity, r * W + 3, r * W + 9);  // whole windows of -inf
        const ref = refMaxPool(v, shape, w);
        const o = { stride: w.s[0], padding: w.p[0] };
        const [y, idx] = F.maxPool2d(cc.tensor(v, { shape }), 3, { ...o, returnIndices: true });
        expectClose(y.dataSync(), ref.y, 0, 0, `${shape} values`);
        expect(Array.from(idx.dataSync()), `${shape} indices`).to.deep.equal(Array.from(ref.idx));
        expectClose(F.maxPool2d(cc.tensor(v, { shape }), 3, o).dataSync(), ref.y, 0, 0, `${shape} values without indices`);
        expect(Array.from(ref.y).some(Number.isNaN), `${shape}: NaN windows occur`).to.equal(true);
        if (W >= 9) expect(ref.y.includes(-Infinity), `${shape}: all -inf windows occur`).to.equal(true);
      }
    });

    it('backward writes dx densely when every index lies in its own 2x2 block, and scatters otherwise (in a fixed order, bit for bit)', () => {
      // dx as the scatter defines it, in float32: 0 + dy at each index (adds where indices repeat),
      // in the kernel's order: rows of 8 or more outputs take their even outputs, then the odd.
      const scatter = (dy: Float32Array, idx: Int32Array, planes: number, rows: number, cols: number, inPlane: number) => {
        const dx = new Float32Array(planes * inPlane);
        const add = (p: number, r: number, c: number) => {
          const o = (p * rows + r) * cols + c, at = p * inPlane + idx[o];
          dx[at] = Math.fround(dx[at] + dy[o]);
        };
        for (let p = 0; p < planes; p++) {
          for (let r = 0; r < rows; r++) {
            if (cols < 8) for (let c = 0; c < cols; c++) add(p, r, c);
            else for (const first of [0, 1]) for (let c = first; c < cols; c += 2) add(p, r, c);
          }
        }
        return dx;
      };
      const check = (what: string, shape: number[], dy: cc.Tensor, idx: cc.Tensor, dx: cc.Tensor) => {
        const expected = scatter(dy.dataSync() as Float32Array, idx.dataSync() as Int32Array, shape[0] * shape[1], dy.shape[2], dy.shape[3], shape[2] * shape[3]);
        expectBitIdentical(dx.dataSync(), expected, what);
      };
      // Rows of 8, 16 and 17 outputs (one vector, a vector and a lane), odd last rows and columns;
      // small planes (5 x 5 and 4 x 7 outputs).
      for (const shape of [[2, 3, 17, 16], [1, 4, 32, 33], [3, 2, 9, 35], [5, 3, 10, 10], [2, 2, 9, 15]]) {
        const x = randomTensor(shape, 31).t;
        for (const [what, [y, idx]] of [
          ['maxPool2d 2x2 stride 2', F.maxPool2d(x, 2, { returnIndices: true })],
          ['maxPool2d 3x3 stride 2 (indices outside the blocks)', F.maxPool2d(x, 3, { stride: 2, returnIndices: true })],
          ['adaptiveMaxPool2d halving', F.adaptiveMaxPool2d(x, [Math.floor(shape[2] / 2), Math.floor(shape[3] / 2)], { returnIndices: true })],
        ] as const) {
          const dy = randomTensor(y.shape, 32).t;
          check(`${what} ${JSON.stringify(shape)}`, shape, dy, idx, maxPool2dBackward(dy, idx, shape));
        }
      }
      // One index outside its block (still in range) in the middle of the planes: the planes from
      // there on scatter; -0 in dy gives +0, as 0 + -0. Rows of 10 outputs, and small planes of
      // 5 x 5 outputs (written 16 inputs at a time), with an odd last row.
      for (const shape of [[4, 8, 20, 20], [4, 8, 11, 10]]) {
        const ys = [4, 8, Math.floor(shape[2] / 2), Math.floor(shape[3] / 2)], out = ys[2] * ys[3];
        const [, idx] = F.maxPool2d(randomTensor(shape, 33).t, 2, { returnIndices: true });
        const moved = Int32Array.from(idx.dataSync() as Int32Array);
        moved[13 * out + out - 3] = 0;
        const dyValues = randomTensor(ys, 34).v;
        dyValues[5] = -0;
        const dy = cc.tensor(Float32Array.from(dyValues), { shape: ys });
        const movedIdx = cc.tensor(moved, { shape: ys });
        const dx = maxPool2dBackward(dy, movedIdx, shape);
        check(`one index outside its block ${JSON.stringify(shape)}`, shape, dy, movedIdx, dx);
        expect(Object.is(dx.dataSync()[idx.dataSync()[5]], 0), '-0 dy gives +0 dx').to.equal(true);
      }
    });
  });

  describe('maxUnpool2d', () => {
    // Plane by plane, each x[i] written at indices[i] in order (a later i wins), zeros elsewhere;
    // the gradient of x[i] is dy at its index if i was the one that stayed there.
    function unpoolRef(x: ArrayLike<number>, idx: ArrayLike<number>, inPlane: number, outPlane: number) {
      const planes = x.length / inPlane, y = new Float64Array(planes * outPlane), writer = new Int32Array(planes * outPlane).fill(-1);
      for (let p = 0; p < planes; p++) {
        for (let i = 0; i < inPlane; i++) {
          y[p * outPlane + idx[p * inPlane + i]] = x[p * inPlane + i];
          writer[p * outPlane + idx[p * inPlane + i]] = i;
        }
      }
      const kept = Int32Array.from({ length: x.length }, (_, j) => Number(writer[Math.floor(j / inPlane) * outPlane + idx[j]] === j % inPlane));
      const grad = (dy: ArrayLike<number>) => Float64Array.from({ length: x.length }, (_, j) => (kept[j] ? dy[Math.floor(j / inPlane) * outPlane + idx[j]] : 0));
      return { y, kept, grad };
    }

    /** Random indices into an outPlane-sized plane, with repeats. */
    function randomIndices(shape: number[], outPlane: number, seed: number): cc.Tensor<'int32'> {
      const next = rng(seed);
      return cc.tensor(Int32Array.from({ length: sizeOf(shape) }, () => Math.floor(next() * outPlane)), { shape, dtype: 'int32' });
    }

    it('puts each value at its index, the later of two in one place staying, as PyTorch; zeros elsewhere', () => {
      // PyTorch 1.13, F.max_unpool2d([[1, 2], [3, 4]], [[0, 0], [3, 0]], 2): [[4, 0, 0, 3], zeros...].
      const x = cc.tensor([[[[1, 2], [3, 4]]]]), idx = cc.tensor([[[[0, 0], [3, 0]]]], { dtype: 'int32' });
      expect(Array.from(F.maxUnpool2d(x, idx, 2).dataSync())).to.deep.equal([4, 0, 0, 3, ...new Array(12).fill(0)]);
      for (const [shape, k, o, hw] of [
        [[2, 3, 4, 5], 2, {}, [8, 10]],
        [[3, 4, 5], [3, 2], { stride: [2, 1], padding: [1, 0] }, [7, 6]],
        [[2, 2, 5, 4], 3, { stride: 2, outputSize: [12, 10] }, [12, 10]],
        [[1, 2, 5, 4], 3, { stride: 2, outputSize: [1, 2, 10, 9] }, [10, 9]],
        [[0, 2, 3, 3], 2, {}, [6, 6]],
      ] as const) {
        const { t, v } = randomTensor([...shape], 5);
        const outPlane = hw[0] * hw[1], inPlane = shape[shape.length - 2] * shape[shape.length - 1];
        const ti = randomIndices([...shape], outPlane, 6);
        const y = F.maxUnpool2d(t, ti, k as never, o as never);
        expect(y.shape, JSON.stringify(o)).to.deep.equal([...shape.slice(0, -2), ...hw]);
        expect(Array.from(y.dataSync()), JSON.stringify(o)).to.deep.equal(Array.from(unpoolRef(Float32Array.from(v), ti.dataSync(), inPlane, outPlane).y));
      }
    });

    it('undoes maxPool2d: the maxima back in place, pooling again gives the same', () => {
      const { t } = randomTensor([2, 3, 9, 8], 7, 0.1, 1);  // positive: zeros never win the second pooling
      const [y, idx] = F.maxPool2d(t, 2, { returnIndices: true });
      const back = F.maxUnpool2d(y, idx, 2, { outputSize: [9, 8] });
      expect(back.shape).to.deep.equal([2, 3, 9, 8]);
      const xv = t.dataSync(), bv = back.dataSync();
      for (let i = 0; i < xv.length; i++) expect(bv[i] === 0 || bv[i] === xv[i], `element ${i}`).to.equal(true);
      expect(Array.from(F.maxPool2d(back, 2).dataSync())).to.deep.equal(Array.from(y.dataSync()));
      // the module does the same (positional stride and padding as PyTorch's)
      expect(Array.from(new cc.nn.MaxUnpool2d(2, 2, 0).forward(y, idx, [9, 8]).dataSync())).to.deep.equal(Array.from(bv));
      expect(new cc.nn.MaxUnpool2d(2).toString()).to.match(/MaxUnpool2d\(kernel_size=2, stride=2, padding=0\)/);
    });

    it('has the gradient of finite differences, the value that stayed alone getting it; through the tape too', () => {
      const shape = [2, 2, 3, 4], outPlane = 5 * 8;
      const ti = randomIndices(shape, outPlane, 8);  // 12 indices into 40 places a plane: repeats
      const opts = { stride: 2, outputSize: [5, 8] };
      gradCheck({
        what: 'maxUnpool2d', inputs: [{ shape, values: distinct(sizeOf(shape), 9) }],
        forward: ([x]) => F.maxUnpool2d(x, ti, 2, opts),
        backward: (dy, [x]) => [maxUnpool2dBackward(dy, ti, maxUnpool2dForward(x, ti, [2, 2, 5, 8])[1], x.shape)],
      });
      const { t, v } = randomTensor(shape, 10);
      const x = t.requiresGrad_();
      const dy = randomTensor([2, 2, 5, 8], 11);
      F.maxUnpool2d(x, ti, 2, opts).backward(dy.t);
      const ref = unpoolRef(Float32Array.from(v), ti.dataSync(), 12, outPlane);
      expect(Array.from(x.grad!.dataSync())).to.deep.equal(Array.from(ref.grad(Float32Array.from(dy.v))));
      expect(ref.kept.filter((k) => k === 0).length, 'repeats leave some inputs without a gradient').to.be.above(0);
      // the forward's mark of the inputs that stayed, asked for when recorded or by the internal forward
      expect(Array.from(maxUnpool2dForward(t, ti, [2, 2, 5, 8])[1].dataSync())).to.deep.equal(Array.from(ref.kept));
    });

    it('gives the same bits at 1 and 2 threads', () => {
      const threads = cc.getNumThreads();
      const shape = [8, 16, 20, 20], { t } = randomTensor(shape, 12), ti = randomIndices(shape, 40 * 40, 13), dy = randomTensor([8, 16, 40, 40], 14).t;
      const run = (n: number) => {
        cc.setNumThreads(n);
        const [y, kept] = maxUnpool2dForward(t, ti, [8, 16, 40, 40]);
        return [y.dataSync(), kept.dataSync(), maxUnpool2dBackward(dy, ti, kept, shape).dataSync()];
      };
      try {
        const [y1, k1, g1] = run(1), [y2, k2, g2] = run(2);
        expectBitIdentical(y1, y2, 'forward');
        expectBitIdentical(k1, k2, 'kept');
        expectBitIdentical(g1, g2, 'backward');
      } finally {
        cc.setNumThreads(threads);
      }
    });

    it('refuses bad arguments with typed errors', () => {
      const x = cc.ones([1, 1, 2, 2]), idx = cc.tensor([[[[0, 1], [2, 3]]]], { dtype: 'int32' });
      expectError(() => F.maxUnpool2d(x, cc.tensor([[[[0, 1], [2, 16]]]], { dtype: 'int32' }), 2).dataSync(), 'E_INDEX', /index 16 at position 3 is out of range for an output plane of 16/);
      expectError(() => F.maxUnpool2d(x, cc.tensor([[[[0, -1], [2, 3]]]], { dtype: 'int32' }), 2).dataSync(), 'E_INDEX', /index -1 at position 1/);
      const ones = cc.ones([1, 1, 2, 2], 'int32');
      expectError(() => maxUnpool2dBackward(cc.ones([1, 1, 4, 4]), cc.tensor([[[[0, 1], [99, 3]]]], { dtype: 'int32' }), ones, [1, 1, 2, 2]).dataSync(), 'E_INDEX', /index 99/);
      expectError(() => maxUnpool2dBackward(cc.ones([1, 1, 4, 4]), idx, cc.ones([1, 1, 2, 2]), [1, 1, 2, 2]), 'E_DTYPE', /kept/);
      // good planes before and after, two bad ones; the first named
      const many = Int32Array.from({ length: 40 * 16 }, (_, i) => (i * 7) % 96);
      many[17 * 16 + 4] = -1;
      many[30 * 16] = 96;
      const manyKept = cc.ones([1, 40, 2, 8], 'int32');
      for (const threads of [1, 2, 3]) {
        const before = cc.getNumThreads();
        cc.setNumThreads(threads);
        try {
          const bad = cc.tensor(many, { shape: [1, 40, 2, 8] });
          expectError(() => maxUnpool2dBackward(cc.ones([1, 40, 6, 16]), bad, manyKept, [1, 40, 2, 8]).dataSync(), 'E_INDEX', /index -1 at position 276\b/);
        } finally {
          cc.setNumThreads(before);
        }
      }
      // planes of 512 indices are checked two at a time: the values of every group, and the
      // first bad index named when it lies in a later group than the first
      const big = Int32Array.from({ length: 5 * 512 }, (_, i) => (i * 3) % 2048);
      const bigKept = Int32Array.from({ length: 5 * 512 }, (_, i) => (i % 5 === 0 ? 0 : 1));
      const dyBig = cc.arange(0, 5 * 2048, 1, 'float32').reshape([1, 5, 32, 64]);
      const unpoolBack = () => maxUnpool2dBackward(dyBig, cc.tensor(big, { shape: [1, 5, 16, 32] }), cc.tensor(bigKept, { shape: [1, 5, 16, 32] }), [1, 5, 16, 32]);
      const want = Float32Array.from(big, (ix, i) => (bigKept[i] ? Math.floor(i / 512) * 2048 + ix : 0));
      expect(Array.from(unpoolBack().dataSync())).to.deep.equal(Array.from(want));
      big[3 * 512 + 100] = 2048;
      big[4 * 512] = -5;
      expectError(() => unpoolBack().dataSync(), 'E_INDEX', /index 2048 at position 1636\b/);
      expectError(() => maxUnpool2dBackward(cc.ones([1, 1, 4, 4]), idx, cc.ones([1, 1, 4], 'int32'), [1, 1, 2, 2]), 'E_SHAPE', /kept/);
      expectError(() => F.maxUnpool2d(x, cc.ones([1, 1, 2, 2]), 2), 'E_DTYPE');
      expectError(() => F.maxUnpool2d(x, cc.zeros([1, 1, 2, 3], 'int32'), 2), 'E_SHAPE');
      expectError(() => F.maxUnpool2d(cc.ones([2, 2]), cc.zeros([2, 2], 'int32'), 2), 'E_SHAPE');
      expectError(() => F.maxUnpool2d(x, idx, 0), 'E_ARG', /kernelSize/);
      expectError(() => F.maxUnpool2d(x, idx, 2, { stride: -1 }), 'E_ARG', /stride/);
      expectError(() => F.maxUnpool2d(x, idx, 2, { kernel: 2 } as never), 'E_ARG');
      // PyTorch: dim 0 must be between 2 and 6 (exclusive) for this input
      expectError(() => F.maxUnpool2d(x, idx, 2, { outputSize: [6, 4] }), 'E_ARG', /H must be between 3 and 5 for input \[1, 1, 2, 2\], got 6/);
      expectError(() => F.maxUnpool2d(x, idx, 2, { outputSize: [4] }), 'E_ARG', /outputSize/);
      expectError(() => F.maxUnpool2d(x, idx, 2, { outputSize: [4, 'a'] as never }), 'E_ARG', /outputSize/);
      expectError(() => F.maxUnpool2d(x, idx, 2, { outputSize: [NaN, 4] }), 'E_ARG', /outputSize/);
      // NaN values are carried to their places like any value
      const withNaN = F.maxUnpool2d(cc.tensor([[[[NaN, 2], [3, 4]]]]), idx, 2).dataSync();
      expect(Number.isNaN(withNaN[0]) && withNaN[1] === 2 && withNaN[15] === 0).to.equal(true);
      // at once, not after walking 2^31 - 1 holes (the fuzz, seed 27, mutation 8634)
      expectError(() => F.maxUnpool2d(x, idx, 2, { outputSize: new Array(2 ** 31 - 1) }), 'E_ARG', /outputSize/);
      expectError(() => F.maxUnpool2d(cc.ones([1, 1, 1, 1]), cc.zeros([1, 1, 1, 1], 'int32'), 2, { padding: 1 }), 'E_SHAPE', /empty/);
      expectError(() => new cc.nn.MaxUnpool2d(2, { stride: 0 }), 'E_ARG', /stride/);
      expect(Array.from(F.maxUnpool2d(x, idx, 2).dataSync()).filter((v) => v === 1).length, 'the queue works on').to.equal(4);
    });
  });

  describe('avgPool2d', () => {
    const cases: { shape: number[]; k: number | P2; s?: number | P2; p?: number | P2; ceil?: boolean; include?: boolean; div?: number }[] = [];
    for (const k of [1, 2, 3, 4]) {
      for (const s of [1, 2, 3]) {
        for (let p = 0; p <= Math.floor(k / 2); p++) {
          for (const ceil of [false, true]) for (const include of [true, false]) cases.push({ shape: [2, 3, 9, 8], k, s, p, ceil, include });
        }
      }
    }
    // Rows of one to four whole windows of 2 or 3 columns at stride 1 or 2: avg_pool.cc's gathered
    // sums start and end inside a window there.
    for (const width of [2, 3, 4, 5, 6]) {
      for (const k of [2, 3]) for (const s of [1, 2]) for (const p of [0, 1]) if (k <= width + 2 * p) cases.push({ shape: [1, 2, 5, width], k: [2, k], s: [1, s], p: [0, p], ceil: p === 1 });
    }
    cases.push({ shape: [1, 2, 7, 13], k: [2, 4], s: [1, 3], p: [1, 2], ceil: true, include: false }, { shape: [1, 2, 7, 7], k: 3, s: 2, p: 1, div: 7 }, { shape: [3, 5, 5], k: 2, ceil: true, div: 1 });

    it(`matches a float64 reference forward and backward over ${cases.length} windows (countIncludePad both ways, divisorOverride)`, () => {
      cases.forEach((c, n) => {
        const w: Win = { k: two(c.k, [1, 1]), s: two(c.s, two(c.k, [1, 1])), p: two(c.p, [0, 0]), d: [1, 1], ceil: c.ceil ?? false };
        const { t, v } = randomTensor(c.shape, 300 + n);
        const o = { stride: c.s, padding: c.p, ceilMode: c.ceil, countIncludePad: c.include, divisorOverride: c.div };
        const what = `avgPool2d ${JSON.stringify(c)}`;
        const dy = randomDy(geo(c.shape, w).yShape, 400 + n);
        const ref = refAvgPool(v, c.shape, w, c.include ?? true, c.div, dy.v);
        const y = F.avgPool2d(t, c.k, o);
        expect(y.shape, what).to.deep.equal(ref.shape);
        expectClose(y.dataSync(), ref.y, 2e-6, 1e-7, what);
        expectClose(avgPool2dBackward(dy.t, c.shape, c.k, o).dataSync(), ref.dx, 2e-6, 1e-7, `${what} backward`);
      });
    });

    it('2x2 stride 2 (its own path) gives the bits of the float32 sum (0 + a + b + c + d) / divisor, -0 included', () => {
      // The planes of x: random values, some -0 windows, shapes with a row and a column no window covers.
      for (const [shape, div] of [[[3, 5, 10, 10], undefined], [[2, 3, 9, 7], undefined], [[2, 2, 6, 8], 3], [[1, 2, 4, 4], 8]] as [number[], number | undefined][]) {
        const { v } = randomTensor(shape, 77);
        const vals = Float32Array.from(v);
        for (let i = 0; i < vals.length; i += 7) vals[i] = -0;
        vals.fill(-0, 0, 2 * shape[3]);  // the first two rows: windows of -0 only
        const x = cc.tensor(Array.from(vals)).reshape(shape);
        const [H, W] = [shape[2], shape[3]], oh = Math.floor(H / 2), ow = Math.floor(W / 2), planes = shape[0] * shape[1];
        const d = Math.fround(div ?? 4), f = Math.fround;
        const want = new Float32Array(planes * oh * ow);
        const dyv = Float32Array.from({ length: want.length }, (_, i) => (i % 5 === 0 ? -0 : f(Math.sin(i) * 3)));
        const wantDx = new Float32Array(planes * H * W);
        for (let p = 0; p < planes; p++) {
          for (let i = 0; i < oh; i++) {
            for (let j = 0; j < ow; j++) {
              const at = (r: number, c: number) => p * H * W + r * W + c;
              let s = f(0 + vals[at(2 * i, 2 * j)]);
              s = f(s + vals[at(2 * i, 2 * j + 1)]);
              s = f(s + vals[at(2 * i + 1, 2 * j)]);
              s = f(s + vals[at(2 * i + 1, 2 * j + 1)]);
              const o = (p * oh + i) * ow + j;
              want[o] = f(s / d);
              const share = f(0 + f(dyv[o] / d));
              for (const [r, c] of [[2 * i, 2 * j], [2 * i, 2 * j + 1], [2 * i + 1, 2 * j], [2 * i + 1, 2 * j + 1]]) wantDx[at(r, c)] = share;
            }
          }
        }
        const o = { stride: 2, divisorOverride: div };
        expectBitIdentical(F.avgPool2d(x, 2, o).dataSync(), want, `avgPool2d ${JSON.stringify(shape)} ${div}`);
        const dy = cc.tensor(Array.from(dyv)).reshape([shape[0], shape[1], oh, ow]);
        expectBitIdentical(avgPool2dBackward(dy, shape, 2, o).dataSync(), wantDx, `avgPool2d backward ${JSON.stringify(shape)} ${div}`);
      }
    });

    it('has the gradient of finite differences', () => {
      for (const o of [{}, { stride: 1, padding: 1, countIncludePad: false }, { stride: 2, padding: 1, ceilMode: true, divisorOverride: 3 }]) {
        const { v } = randomTensor([2, 2, 7, 6], 9);
        gradCheck({ what: `avgPool2d ${JSON.stringify(o)}`, inputs: [{ shape: [2, 2, 7, 6], values: v }], forward: ([x]) => F.avgPool2d(x, 3, o), backward: (dy, [x]) => [avgPool2dBackward(dy, x.shape, 3, o)] });
      }
    });
  });

  describe('lpPool2d', () => {
    const cases: { p: number; k: number | P2; s?: number | P2; ceil?: boolean; mean?: boolean; positive?: boolean }[] = [];
    for (const p of [1, 2, 3, 1.5, 30]) {
      for (const [k, s] of [[2, undefined], [3, 2], [[2, 3], [1, 2]], [4, 3]] as [number | P2, number | P2 | undefined][]) {
        for (const ceil of [false, true]) for (const mean of [false, true]) cases.push({ p, k, s, ceil, mean, positive: !Number.isInteger(p) || p > 20 });
      }
    }

    it(`matches a float64 reference forward and backward over ${cases.length} cases (p = 1, 2, 3, 1.5, 30; ceilMode; mean)`, () => {
      cases.forEach((c, n) => {
        const shape = [2, 3, 9, 8];
        const w: Win = { k: two(c.k, [1, 1]), s: two(c.s, two(c.k, [1, 1])), p: [0, 0], d: [1, 1], ceil: c.ceil ?? false };
        // Signed inputs for integer p (x^p defined); positive for fractional p and large p (no overflow to 0 or inf).
        const { t, v } = c.positive ? randomTensor(shape, 500 + n, 0.5, 1.5) : randomTensor(shape, 500 + n, -2, 2);
        const o = { stride: c.s, ceilMode: c.ceil, mean: c.mean };
        const what = `lpPool2d ${JSON.stringify(c)}`;
        const dy = randomDy(geo(shape, w).yShape, 600 + n);
        const ref = refLpPool(v, shape, c.p, w, c.mean ?? false, dy.v);
        const y = F.lpPool2d(t, c.p, c.k, o);
        expect(y.shape, what).to.deep.equal(ref.shape);
        // Odd p: windows with a negative sum give NaN for p = 3, as PyTorch; the reference agrees.
        expectClose(y.dataSync(), ref.y, c.p > 20 ? 2e-4 : 2e-5, 1e-6, what);
        expectClose(lpPool2dBackward(dy.t, t, y, c.p, c.k, o).dataSync(), ref.dx, c.p > 20 ? 2e-3 : 1e-4, 1e-5, `${what} backward`);
      });
    });

    it('approaches max pooling of |x| for large p; with mean and p = 1 it is exactly avgPool2d', () => {
      const { t, v } = randomTensor([2, 3, 8, 8], 7, 0.5, 1.5);
      const max = refMaxPool(v, [2, 3, 8, 8], { k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }).y;
      expectClose(F.lpPool2d(t, 200, 2).dataSync(), max, 1e-2, 0, 'p = 200 vs max');
      for (const o of [{}, { stride: 1 }, { stride: 2, ceilMode: true }]) {
        const { t: s } = randomTensor([2, 3, 7, 9], 8, -2, 2);
        expectBitIdentical(F.lpPool2d(s, 1, 3, { ...o, mean: true }).dataSync(), F.avgPool2d(s, 3, o).dataSync(), `mean p=1 ${JSON.stringify(o)}`);
      }
    });

    it('has the gradient of finite differences, and zero (not NaN) where a window sums to zero', () => {
      for (const [p, o] of [[2, {}], [3, { stride: 1 }], [1.5, { stride: 2, ceilMode: true, mean: true }]] as const) {
        const { v } = randomTensor([1, 2, 7, 6], 5, 0.5, 2);
        gradCheck({
          what: `lpPool2d p=${p}`, inputs: [{ shape: [1, 2, 7, 6], values: v }], h: 1e-3,
          forward: ([x]) => F.lpPool2d(x, p, 3, o),
          backward: (dy, [x], y) => [lpPool2dBackward(dy, x, y, p, 3, o)],
        });
      }
      const x = cc.tensor([0, 0, 1, 2, 0, 0, 3, 4], { shape: [1, 1, 2, 4] });
      const y = F.lpPool2d(x, 2, 2);
      expectClose(y.dataSync(), [0, Math.sqrt(30)], 1e-6, 0, 'lp zero window');
      const dx = lpPool2dBackward(cc.ones([1, 1, 1, 2]), x, y, 2, 2).dataSync();
      expectClose(dx, [0, 0, 1, 2, 0, 0, 3, 4].map((a, i) => (i % 4 < 2 ? 0 : a / Math.sqrt(30))), 1e-6, 1e-7, 'lp zero-window gradient');
    });
  });

  describe('mixedPool2d', () => {
    it('draws lambda per (sample, channel) from the seeded Philox stream: bernoulli {0, 1}, uniform [0, 1)', () => {
      const { t } = randomTensor([5, 7, 6, 6], 1);
      for (const mode of ['bernoulli', 'uniform'] as const) {
        cc.manualSeed(4321);
        cc.rand([6]); // moves the stream on by 2 blocks: the lambdas start at block 2
        const [y1, l1] = F.mixedPool2d(t, 2, { training: true, mode, returnLambda: true });
        const lam = l1.dataSync();
        expect(l1.shape).to.deep.equal([5, 7]);
        for (let i = 0; i < 35; i++) {
          const u = philoxUniform(4321n, 2, i);
          expect(lam[i], `${mode} lambda[${i}]`).to.equal(mode === 'bernoulli' ? (u < 0.5 ? 1 : 0) : u);
        }
        if (mode === 'bernoulli') {
          expect(new Set(lam).size).to.equal(2);
        } else {
          expect(lam.every((l) => l >= 0 && l < 1)).to.equal(true);
        }
        cc.manualSeed(4321);
        cc.rand([6]);
        const [y2, l2] = F.mixedPool2d(t, 2, { training: true, mode, returnLambda: true });
        expectBitIdentical(y1.dataSync(), y2.dataSync(), 'same seed, same output');
        expectBitIdentical(lam, l2.dataSync(), 'same seed, same lambda');
        const [, l3] = F.mixedPool2d(t, 2, { training: true, mode, returnLambda: true });
        expect(Array.from(l3.dataSync())).to.not.deep.equal(Array.from(lam)); // the stream moved on
      }
    });

    it('is lambda * maxPool2d + (1 - lambda) * avgPool2d (countIncludePad), forward and backward, vs float64', () => {
      const cases = [
        // 2x2 stride 2 has its own backward (Note [mixed 2x2 stride 2]): whole planes, and odd
        // sizes whose last row and column no window covers.
        { shape: [2, 3, 8, 8], k: 2, o: {} }, { shape: [2, 3, 9, 7], k: 2, o: {} }, { shape: [2, 2, 6, 45], k: 2, o: {} },
        { shape: [2, 3, 9, 7], k: 3, o: { stride: 2, padding: 1 } },
        { shape: [2, 3, 9, 7], k: 3, o: { stride: 2, padding: 1, ceilMode: true } }, { shape: [3, 6, 5], k: [2, 3] as P2, o: { stride: 1, padding: [1, 1] as P2 } },
      ];
      cases.forEach((c, n) => {
        const { t, v } = randomTensor(c.shape, 700 + n);
        const w: Win = { k: two(c.k, [1, 1]), s: two((c.o as { stride?: number }).stride, two(c.k, [1, 1])), p: two((c.o as { padding?: number | P2 }).padding as number, [0, 0]), d: [1, 1], ceil: (c.o as { ceilMode?: boolean }).ceilMode ?? false };
        for (const mode of [{ training: true, mode: 'uniform' as const }, { training: true }, { lambda: 0.3 }, {}]) {
          const what = `mixedPool2d ${JSON.stringify(c)} ${JSON.stringify(mode)}`;
          const [y, lambda, idx] = mixedPool2dForward(t, c.k, { ...c.o, ...mode });
          const lam = lambda.dataSync();
          if (!mode.training) expect(Array.from(lam)).to.deep.equal(Array(lam.length).fill(Math.fround(mode.lambda ?? 0.5)));
          const dy = randomDy(geo(c.shape, w).yShape, 800 + n);
          const ref = refMixedPool(v, c.shape, w, lam, dy.v);
          expect(y.shape).to.deep.equal(ref.shape);
          expectClose(y.dataSync(), ref.y, 2e-6, 1e-7, what);
          expectClose(mixedPool2dBackward(dy.t, idx, lambda, c.shape, c.k, c.o).dataSync(), ref.dx, 2e-6, 1e-7, `${what} backward`);
          expect(Array.from(idx.dataSync())).to.deep.equal(Array.from(F.maxPool2d(t, c.k, { ...c.o, returnIndices: true })[1].dataSync()));
          if (!mode.training) expectBitIdentical(F.mixedPool2d(t, c.k, { ...c.o, ...mode }).dataSync(), y.dataSync(), `${what}: with and without indices`);
          // The evaluation formula from the library's own max and average pooling, in float32.
          const mx = F.maxPool2d(t, c.k, c.o).dataSync(), av = F.avgPool2d(t, c.k, c.o).dataSync(), out = y.dataSync();
          const plane = mx.length / lam.length;
          for (let i = 0; i < out.length; i++) {
            const l = lam[Math.floor(i / plane)];
            expect(out[i], `${what}[${i}]`).to.equal(Math.fround(Math.fround(l * mx[i]) + Math.fround(Math.fround(1 - l) * av[i])));
          }
        }
      });
    });

    it('has the gradient of finite differences for a given lambda', () => {
      gradCheck({
        what: 'mixedPool2d', inputs: [{ shape: [2, 2, 6, 7], values: distinct(168, 4) }],
        forward: ([x]) => F.mixedPool2d(x, 3, { stride: 2, padding: 1, lambda: 0.3 }),
        backward: (dy, [x]) => {
          const [, lambda, idx] = mixedPool2dForward(x, 3, { stride: 2, padding: 1, lambda: 0.3 });
          return [mixedPool2dBackward(dy, idx, lambda, x.shape, 3, { stride: 2, padding: 1 })];
        },
      });
    });
  });

  describe('adaptive pools', () => {
    const cases: [number[], number | [number | null, number | null]][] = [
      [[2, 3, 8, 8], 1], [[2, 3, 9, 7], [4, 3]], [[2, 3, 13, 13], 6], [[1, 2, 5, 11], [null, 4]], [[3, 5, 6], [7, 2]], [[1, 1, 27, 27], 6], [[2, 2, 3, 3], 5],
    ];
    it(`match float64 references forward and backward (${cases.length} sizes, avg and max)`, () => {
      cases.forEach(([shape, size], n) => {
        const { t, v } = randomTensor(shape, 900 + n);
        const s: P2 = typeof size === 'number' ? [size, size] : [size[0] ?? shape[shape.length - 2], size[1] ?? shape[shape.length - 1]];
        const dy = randomDy([...shape.slice(0, -2), ...s], 950 + n);
        const what = `adaptive ${JSON.stringify([shape, size])}`;
        const avg = refAdaptive(v, shape, s, 'avg', dy.v), max = refAdaptive(v, shape, s, 'max', dy.v);
        const ya = F.adaptiveAvgPool2d(t, size);
        expect(ya.shape).to.deep.equal(avg.shape);
        expectClose(ya.dataSync(), avg.y, 2e-6, 1e-7, `${what} avg`);
        expectClose(adaptiveAvgPool2dBackward(dy.t, shape).dataSync(), avg.dx, 2e-6, 1e-7, `${what} avg backward`);
        const [ym, idx] = F.adaptiveMaxPool2d(t, size, { returnIndices: true });
        expectClose(ym.dataSync(), max.y, 0, 0, `${what} max`);
        expectClose(F.adaptiveMaxPool2d(t, size).dataSync(), max.y, 0, 0, `${what} max`);
        expect(Array.from(idx.dataSync())).to.deep.equal(Array.from(max.idx));
        expectClose(adaptiveMaxPool2dBackward(dy.t, idx, shape).dataSync(), max.dx, 1e-6, 1e-7, `${what} max backward`);
      });
    });

    it('have the gradients of finite differences', () => {
      gradCheck({ what: 'adaptiveAvgPool2d', inputs: [{ shape: [1, 2, 7, 5], values: distinct(70, 6) }], forward: ([x]) => F.adaptiveAvgPool2d(x, [3, 2]), backward: (dy, [x]) => [adaptiveAvgPool2dBackward(dy, x.shape)] });
      gradCheck({
        what: 'adaptiveMaxPool2d', inputs: [{ shape: [1, 2, 7, 5], values: distinct(70, 7) }], forward: ([x]) => F.adaptiveMaxPool2d(x, [3, 2]),
        backward: (dy, [x]) => [adaptiveMaxPool2dBackward(dy, F.adaptiveMaxPool2d(x, [3, 2], { returnIndices: true })[1], x.shape)],
      });
    });
  });

  describe('roiPool', () => {
    // Boxes inside, partly outside (negative corners, past the edge), degenerate (x2 < x1), on the
    // half-pixel (rounding), and in the second image.
    const boxes = [
      [0, 0, 0, 15, 11], [1, 2.5, 3.5, 9.4, 7.6], [0, -4, -3, 5, 6], [1, 10, 8, 30, 25], [0, 7, 7, 3, 2], [1, 0.5, 1.5, 2.5, 2.5], [0, 14, 11, 20, 20],
    ];
    for (const [size, scale] of [[[2, 2], 1], [[3, 4], 0.5], [[7, 7], 1], [[5, 3], 0.25]] as [P2, number][]) {
      it(`matches torchvision's algorithm (written plainly here) for outputSize ${size}, spatialScale ${scale}, forward and backward`, () => {
        const shape = [2, 3, 12, 16];
        const { t, v } = randomTensor(shape, 11);
        const b = cc.tensor(boxes.flat(), { shape: [boxes.length, 5] });
        const dy = randomDy([boxes.length, 3, ...size], 12);
        const ref = refRoiPool(v, shape, boxes.flat(), size, scale, dy.v);
        const [y, argmax] = roiPoolWithArgmax(t, b, size, scale);
        expect(y.shape).to.deep.equal(ref.shape);
        expectClose(y.dataSync(), ref.y, 0, 0, 'roiPool');
        expect(Array.from(argmax.dataSync())).to.deep.equal(Array.from(ref.argmax));
        expectClose(F.roiPool(t, b, size, scale).dataSync(), ref.y, 0, 0, 'roiPool');
        expectClose(roiPoolBackward(dy.t, argmax, b, shape).dataSync(), ref.dx, 1e-6, 1e-7, 'roiPool backward');
      });
    }

    it('reports a box whose batch index is out of range at the next wait (E_INDEX)', async () => {
      const x = cc.zeros([2, 1, 4, 4]);
      const y = F.roiPool(x, cc.tensor([[0, 0, 0, 1, 1], [2, 0, 0, 1, 1]]), 2);
      await expectRejects(y.data(), 'E_INDEX', /batch index 2/);
      const z = F.roiPool(x, cc.tensor([[-1, 0, 0, 1, 1]]), 2);
      expectError(() => z.dataSync(), 'E_INDEX');
      expect(F.roiPool(x, cc.zeros([0, 5]), 2).shape).to.deep.equal([0, 1, 2, 2]);
    });

    it('a box with a NaN coordinate gives NaN bins and no gradient; infinite and huge ones are clamped, not undefined', () => {
      // torchvision casts round(NaN) and round(1e30) to int (undefined behaviour in C++).
      const x = cc.arange(0, 2 * 16, 1, { dtype: 'float32' }).reshape([1, 2, 4, 4]).requiresGrad_();
      const boxes = cc.tensor([[0, NaN, 0, 1, 1], [0, 0, 0, 3, 3], [0, -Infinity, -Infinity, Infinity, Infinity], [0, -1e30, -1e30, 1e30, 1e30]]);
      const [y, argmax] = roiPoolWithArgmax(x, boxes, 2, 1);
      const v = y.dataSync(), a = argmax.dataSync();
      expect(Array.from(v.slice(0, 8)).every(Number.isNaN)).to.equal(true);
      expect(Array.from(a.slice(0, 8))).to.deep.equal(new Array(8).fill(-1));
      expect(Array.from(v.slice(8, 16))).to.deep.equal([5, 7, 13, 15, 21, 23, 29, 31]);
      expect(Array.from(v.slice(16, 24)).every(Number.isFinite)).to.equal(true);
      expect(Array.from(v.slice(24, 32))).to.deep.equal(Array.from(v.slice(16, 24)));   // both clamp to +-2^30
      const dx = roiPoolBackward(cc.ones(y.shape), argmax, boxes, x.shape).dataSync();
      expect(Array.from(dx).every(Number.isFinite)).to.equal(true);
      cc.sum(F.roiPool(x, boxes.narrow(0, 0, 1), 2)).backward();
      expect(Array.from(x.grad!.dataSync())).to.deep.equal(new Array(32).fill(0));
    });
  });

  it('agrees with PyTorch (committed fixtures: forward, indices, gradients)', () => {
    type T = { shape: number[]; values: number[] };
    type Case = { op: string; kwargs: Record<string, unknown>; x: T; dy: T; y: T; dx: T; indices?: T };
    const { cases } = loadFixture<{ cases: Case[] }>('pool');
    expect(cases.length).to.be.above(30);
    for (const c of cases) {
      const k = c.kwargs as { kernelSize: number | P2; stride: number | P2 | null; padding: number | P2; dilation: number | P2; ceilMode: boolean; countIncludePad: boolean; divisorOverride: number | null; normType: number; outputSize: number | [number | null, number | null] };
      const x = cc.tensor(c.x.values, { shape: c.x.shape });
      const dy = cc.tensor(c.dy.values, { shape: c.dy.shape });
      const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
      const stride = k.stride ?? undefined;
      let y: cc.Tensor, dx: cc.Tensor;
      if (c.op === 'maxPool2d') {
        const [my, idx] = F.maxPool2d(x, k.kernelSize, { stride, padding: k.padding, dilation: k.dilation, ceilMode: k.ceilMode, returnIndices: true });
        expect(Array.from(idx.dataSync()), what).to.deep.equal(c.indices?.values);
        [y, dx] = [my, maxPool2dBackward(dy, idx, c.x.shape)];
      } else if (c.op === 'avgPool2d') {
        const o = { stride, padding: k.padding, ceilMode: k.ceilMode, countIncludePad: k.countIncludePad, divisorOverride: k.divisorOverride ?? undefined };
        [y, dx] = [F.avgPool2d(x, k.kernelSize, o), avgPool2dBackward(dy, c.x.shape, k.kernelSize, o)];
      } else if (c.op === 'lpPool2d') {
        const o = { stride, ceilMode: k.ceilMode };
        y = F.lpPool2d(x, k.normType, k.kernelSize, o);
        dx = lpPool2dBackward(dy, x, y, k.normType, k.kernelSize, o);
      } else if (c.op === 'adaptiveAvgPool2d') {
        [y, dx] = [F.adaptiveAvgPool2d(x, k.outputSize), adaptiveAvgPool2dBackward(dy, c.x.shape)];
      } else {
        const [my, idx] = F.adaptiveMaxPool2d(x, k.outputSize, { returnIndices: true });
        expect(Array.from(idx.dataSync()), what).to.deep.equal(c.indices?.values);
        [y, dx] = [my, adaptiveMaxPool2dBackward(dy, idx, c.x.shape)];
      }
      expect(y.shape, what).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values, 1e-5, 1e-6, `${what} forward`);
      expectClose(dx.dataSync(), c.dx.values, 1e-4, 1e-5, `${what} backward`);
    }
  });

  it('gives bit-identical results for 1, 2 and 3 threads', () => {
    const before = cc.getNumThreads();
    const shape = [4, 8, 33, 31];
    const { t } = randomTensor(shape, 21, 0.1, 2);
    const boxes = cc.tensor([[0, 0, 0, 20, 20], [3, 5, 2, 30, 31], [1, -3, 4, 12, 40], [3, 1, 1, 9, 9]]);
    const run = (): (Float32Array | Int32Array)[] => {
      const out: (Float32Array | Int32Array)[] = [];
      const [ym, idx] = F.maxPool2d(t, 3, { stride: 2, padding: 1, returnIndices: true });
      const dy = cc.full(ym.shape as number[], 0.5).add(ym);
      out.push(ym.dataSync(), idx.dataSync(), maxPool2dBackward(dy, idx, shape).dataSync());
      out.push(F.maxPool2d(t, 2).dataSync(), avgPool2dBackward(dy, shape, 3, { stride: 2, padding: 1 }).dataSync(), F.avgPool2d(t, 3, { stride: 2, padding: 1 }).dataSync());
      const yl = F.lpPool2d(t, 3, 3, { stride: 2 });
      out.push(yl.dataSync(), lpPool2dBackward(F.lpPool2d(t, 3, 3, { stride: 2 }).add(1), t, yl, 3, 3, { stride: 2 }).dataSync());
      cc.manualSeed(5);
      const [yx, lam, ix] = mixedPool2dForward(t, 3, { stride: 2, padding: 1, training: true, mode: 'uniform' });
      out.push(yx.dataSync(), lam.dataSync(), ix.dataSync(), mixedPool2dBackward(dy, ix, lam, shape, 3, { stride: 2, padding: 1 }).dataSync());
      const ya = F.adaptiveAvgPool2d(t, 6);
      out.push(ya.dataSync(), adaptiveAvgPool2dBackward(ya, shape).dataSync());
      const [yam, iam] = F.adaptiveMaxPool2d(t, [5, 7], { returnIndices: true });
      out.push(yam.dataSync(), adaptiveMaxPool2dBackward(yam, iam, shape).dataSync());
      const [yr, ar] = roiPoolWithArgmax(t, boxes, 4, 0.5);
      out.push(yr.dataSync(), ar.dataSync(), roiPoolBackward(yr, ar, boxes, shape).dataSync());
      return out;
    };
    try {
      const results = [1, 2, 3].map((n) => (cc.setNumThreads(n), cc.tidy(run)));
      for (const r of results.slice(1)) r.forEach((a, i) => expectBitIdentical(results[0][i], a, `output ${i}`));
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('works on an empty batch', () => {
    const x = cc.zeros([0, 3, 8, 8]);
    expect(F.maxPool2d(x, 2).shape).to.deep.equal([0, 3, 4, 4]);
    const [y, idx] = F.maxPool2d(x, 2, { returnIndices: true });
    expect(maxPool2dBackward(y, idx, x.shape).shape).to.deep.equal([0, 3, 8, 8]);
    expect(F.avgPool2d(x, 2).dataSync().length).to.equal(0);
    expect(avgPool2dBackward(y, x.shape, 2).shape).to.deep.equal([0, 3, 8, 8]);
    expect(lpPool2dBackward(y, x, F.lpPool2d(x, 2, 2), 2, 2).shape).to.deep.equal([0, 3, 8, 8]);
    const [ym, lam, im] = mixedPool2dForward(x, 2, { training: true });
    expect([ym.shape, lam.shape, im.shape]).to.deep.equal([[0, 3, 4, 4], [0, 3], [0, 3, 4, 4]]);
    expect(mixedPool2dBackward(ym, im, lam, x.shape, 2).dataSync().length).to.equal(0);
    expect(F.adaptiveAvgPool2d(x, 2).shape).to.deep.equal([0, 3, 2, 2]);
    expect(adaptiveAvgPool2dBackward(cc.zeros([0, 3, 2, 2]), x.shape).shape).to.deep.equal([0, 3, 8, 8]);
    expect(F.adaptiveMaxPool2d(x, 2).dataSync().length).to.equal(0);
  });

  it('refuses bad input with typed errors, in TypeScript and again natively', () => {
    const x = cc.zeros([1, 2, 6, 6]);
    // rank, dtype, disposed, not a tensor
    expectError(() => F.maxPool2d(cc.zeros([6, 6]), 2), 'E_SHAPE', /maxPool2d: expected `x` of shape \[N, C, H, W\]/);
    expectError(() => F.avgPool2d(cc.zeros([1, 1, 2, 6, 6]), 2), 'E_SHAPE');
    expectError(() => F.roiPool(cc.zeros([2, 6, 6]), cc.zeros([1, 5]), 2), 'E_SHAPE');
    expectError(() => F.maxPool2d(cc.zeros([1, 0, 6, 6]), 2), 'E_SHAPE');
    expectError(() => F.maxPool2d(cc.zeros([1, 2, 6, 6], 'int32'), 2), 'E_DTYPE', /float32/);
    expectError(() => F.lpPool2d(cc.zeros([1, 2, 6, 6], 'int32'), 2, 2), 'E_DTYPE');
    expectError(() => F.roiPool(x, cc.zeros([1, 5], 'int32'), 2), 'E_DTYPE');
    expectError(() => F.adaptiveAvgPool2d('x' as unknown as cc.Tensor, 2), 'E_ARG', /to be a Tensor/);
    const d = cc.zeros([1, 2, 6, 6]);
    d.dispose();
    for (const fn of [() => F.maxPool2d(d, 2), () => F.avgPool2d(d, 2), () => F.lpPool2d(d, 2, 2), () => F.mixedPool2d(d, 2), () => F.adaptiveMaxPool2d(d, 2), () => F.roiPool(d, cc.zeros([1, 5]), 2)]) {
      expectError(fn, 'E_DISPOSED');
    }
    // window sizes: non-integer, zero, negative; padding over half the kernel; too large a kernel
    expectError(() => F.maxPool2d(x, 0), 'E_ARG', /kernelSize/);
    expectError(() => F.maxPool2d(x, 1.5), 'E_ARG');
    expectError(() => F.avgPool2d(x, 2, { stride: -1 }), 'E_ARG', /stride/);
    expectError(() => F.maxPool2d(x, 2, { dilation: 0 }), 'E_ARG', /dilation/);
    expectError(() => F.maxPool2d(x, [2, 2, 2] as unknown as [number, number]), 'E_ARG');
    expectError(() => F.avgPool2d(x, 3, { padding: 2 }), 'E_ARG', /at most half the kernel/);
    expectError(() => F.mixedPool2d(x, 2, { padding: -1 }), 'E_ARG');
    expectError(() => F.maxPool2d(x, 7), 'E_SHAPE', /too small/);
    expectError(() => F.maxPool2d(x, 3, { dilation: 3 }), 'E_SHAPE', /too small/);
    expectError(() => F.avgPool2d(x, 2, { divisorOverride: 0 }), 'E_ARG', /divisorOverride/);
    expectError(() => F.avgPool2d(x, 2, { ceilMode: 1 as unknown as boolean }), 'E_ARG', /ceilMode/);
    // p
    for (const p of [0, -1, NaN, Infinity]) expectError(() => F.lpPool2d(x, p, 2), 'E_ARG', /normType/);
    // mixed
    expectError(() => F.mixedPool2d(x, 2, { lambda: 1.5 }), 'E_ARG', /lambda/);
    expectError(() => F.mixedPool2d(x, 2, { mode: 'max' as 'uniform' }), 'E_ARG', /mode/);
    // adaptive sizes
    for (const s of [0, -2, 2.5, [2, 0], [2]] as unknown as number[]) expectError(() => F.adaptiveAvgPool2d(x, s), 'E_ARG', /outputSize/);
    // roi
    expectError(() => F.roiPool(x, cc.zeros([2, 4]), 2), 'E_SHAPE', /boxes/);
    expectError(() => F.roiPool(x, cc.zeros([1, 5]), 0), 'E_ARG');
    expectError(() => F.roiPool(x, cc.zeros([1, 5]), 2, 0), 'E_ARG', /spatialScale/);
    // backward shapes and dtypes
    const [y, idx] = F.maxPool2d(x, 2, { returnIndices: true });
    expectError(() => maxPool2dBackward(y, y, x.shape), 'E_DTYPE');
    expectError(() => maxPool2dBackward(y, idx, [1, 3, 6, 6]), 'E_SHAPE');
    expectError(() => avgPool2dBackward(y, x.shape, 3), 'E_SHAPE');
    expectError(() => lpPool2dBackward(y, x, cc.zeros([1, 2, 2, 2]), 2, 2), 'E_SHAPE');
    expectError(() => mixedPool2dBackward(y, idx, cc.zeros([2]), x.shape, 2), 'E_SHAPE', /lambda/);
    expectError(() => mixedPool2dBackward(y, y, cc.zeros([1, 2]), x.shape, 2), 'E_DTYPE', /indices/);
    expectError(() => roiPoolBackward(cc.zeros([1, 2, 2, 2]), cc.zeros([1, 2, 2, 2], 'int32'), cc.zeros([2, 5]), x.shape), 'E_SHAPE');
  });

  it('checks its arguments natively too (the addon called directly)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { native } = require('../lib/native') as typeof import('../lib/native');
    const x = cc.zeros([1, 2, 6, 6]), h = x.handle();
    expectError(() => native.maxPool2dForward(cc.zeros([6, 6]).handle(), [2, 2, 2, 2, 0, 0, 1, 1], false, false), 'E_SHAPE');
    expectError(() => native.maxPool2dForward(cc.zeros([1, 1, 6, 6], 'int32').handle(), [2, 2, 2, 2, 0, 0, 1, 1], false, false), 'E_DTYPE');
    expectError(() => native.maxPool2dForward(h, [0, 2, 2, 2, 0, 0, 1, 1], false, false), 'E_ARG');
    expectError(() => native.maxPool2dForward(h, [2, 2, 2, 2], false, false), 'E_ARG');
    expectError(() => native.avgPool2dForward(h, [3, 3, 1, 1, 2, 0, 1, 1], false, true, 0), 'E_ARG');
    expectError(() => native.avgPool2dForward(h, [7, 7, 1, 1, 0, 0, 1, 1], false, true, 0), 'E_SHAPE');
    expectError(() => native.lpPool2dForward(h, -1, [2, 2, 2, 2, 0, 0, 1, 1], false, false), 'E_ARG');
    expectError(() => native.mixedPool2dForward(h, [2, 2, 2, 2, 0, 0, 1, 1], false, 7 as 0, 0.5, false), 'E_ARG');
    expectError(() => native.adaptivePool2dForward(0, h, [0, 2], false), 'E_ARG');
    expectError(() => native.roiPoolForward(h, cc.zeros([1, 4]).handle(), [2, 2], 1), 'E_SHAPE');
    expectError(() => native.maxPoolBackward(cc.zeros([1, 2, 3, 3]).handle(), cc.zeros([1, 2, 3, 2], 'int32').handle(), [1, 2, 6, 6]), 'E_SHAPE');
    // indices are data: a bad one is found when the kernel runs
    const dx = native.maxPoolBackward(cc.zeros([1, 1, 1, 1]).handle(), cc.tensor(new Int32Array([36]), { shape: [1, 1, 1, 1] }).handle(), [1, 1, 6, 6]);
    await expectRejects(new cc.Tensor(dx, [1, 1, 6, 6], 'float32').data(), 'E_INDEX', /out of range/);
    // a negative one among good ones (the kernel checks a chunk's indices in one pass first)
    const idx = cc.tensor(new Int32Array([0, 5, 7, -1, 9, 35]), { shape: [1, 1, 2, 3] });
    const dx2 = native.maxPoolBackward(cc.ones([1, 1, 2, 3]).handle(), idx.handle(), [1, 1, 6, 6]);
    await expectRejects(new cc.Tensor(dx2, [1, 1, 6, 6], 'float32').data(), 'E_INDEX', /index -1 at position 3/);
    // planes are checked one by one: good planes before and after, two bad ones; the first named
    const many = Int32Array.from({ length: 40 * 16 }, (_, i) => (i * 7) % 96);
    many[17 * 16 + 4] = -1;
    many[30 * 16] = 96;
    for (const threads of [1, 2, 3]) {
      const before = cc.getNumThreads();
      cc.setNumThreads(threads);
      try {
        const dx3 = native.maxPoolBackward(cc.ones([1, 40, 2, 8]).handle(), cc.tensor(many, { shape: [1, 40, 2, 8] }).handle(), [1, 40, 6, 16]);
        await expectRejects(new cc.Tensor(dx3, [1, 40, 6, 16], 'float32').data(), 'E_INDEX', /index -1 at position 276\b/);
      } finally {
        cc.setNumThreads(before);
      }
    }
  });
});
