import { expect } from 'chai';
import * as cc from '../lib';
import {
  conv1dBackward, conv2dBackward, convTranspose1dBackward, convTranspose2dBackward, linearBackward,
  type Conv2dOptions, type ConvBackwardResult, type ConvTranspose1dOptions, type ConvTranspose2dOptions,
} from '../lib/nn/functional/conv';
import { native } from '../lib/native';
import { expectBitIdentical, expectClose, expectError, gradCheck, loadFixture, randomTensor, sizeOf } from './helpers';

const { F, nn } = cc;

// ---- float64 references: plain nested loops over PyTorch's definitions -----------------------

interface Geo { sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; dh: number; dw: number; groups: number }

/** conv2d's geometry as PyTorch defines it from the options ('same' puts the odd pixel last). */
function geometry(wShape: number[], o: Conv2dOptions): Geo {
  const two = (v: number | readonly number[] | undefined, d: number): number[] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [...v]);
  const [sh, sw] = two(o.stride, 1), [dh, dw] = two(o.dilation, 1);
  let pads: number[];
  if (o.padding === 'same') {
    const th = dh * (wShape[2] - 1), tw = dw * (wShape[3] - 1);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else if (o.padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else {
    const [ph, pw] = two(o.padding as number | number[] | undefined, 0);
    pads = [ph, pw, ph, pw];
  }
  return { sh, sw, pt: pads[0], pl: pads[1], pb: pads[2], pr: pads[3], dh, dw, groups: o.groups ?? 1 };
}

function convOutShape(xs: number[], ws: number[], g: Geo): number[] {
  return [xs[0], ws[0], Math.floor((xs[2] + g.pt + g.pb - g.dh * (ws[2] - 1) - 1) / g.sh) + 1, Math.floor((xs[3] + g.pl + g.pr - g.dw * (ws[3] - 1) - 1) / g.sw) + 1];
}

/** Calls visit(yIndex, xIndex, wIndex) for every product term of conv2d. */
function convTerms(xs: number[], ws: number[], ys: number[], g: Geo, visit: (yi: number, xi: number, wi: number) => void): void {
  const [N, C, H, W] = xs, [K, Cg, kh, kw] = ws, [, , Ho, Wo] = ys, Kg = K / g.groups;
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
    const yi = ((n * K + k) * Ho + oh) * Wo + ow, c0 = Math.floor(k / Kg) * Cg;
    for (let c = 0; c < Cg; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const ih = oh * g.sh - g.pt + i * g.dh, iw = ow * g.sw - g.pl + j * g.dw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      visit(yi, ((n * C + c0 + c) * H + ih) * W + iw, ((k * Cg + c) * kh + i) * kw + j);
    }
  }
}

interface Ref { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array }

function convReference(xs: number[], x: Float64Array, ws: number[], w: Float64Array, b: Float64Array | null, g: Geo, dy: (ys: number[]) => Float64Array): Ref & { ys: number[]; dyv: Float64Array; abs: Ref } {
  const ys = convOutShape(xs, ws, g);
  const plane = ys[2] * ys[3];
  const y = new Float64Array(sizeOf(ys));
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / plane) % ys[1]];
  const dyv = dy(ys);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(ys[1]);
  // The sums of the terms' magnitudes: the scale of float32's rounding error in each sum.
  const abs = { y: y.map(Math.abs), dx: new Float64Array(x.length), dw: new Float64Array(w.length), db: new Float64Array(ys[1]) };
  convTerms(xs, ws, ys, g, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
    dx[xi] += dyv[yi] * w[wi];
    dw[wi] += dyv[yi] * x[xi];
    abs.y[yi] += Math.abs(x[xi] * w[wi]);
    abs.dx[xi] += Math.abs(dyv[yi] * w[wi]);
    abs.dw[wi] += Math.abs(dyv[yi] * x[xi]);
  });
  for (let i = 0; i < dyv.length; i++) {
    db[Math.floor(i / plane) % ys[1]] += dyv[i];
    abs.db[Math.floor(i / plane) % ys[1]] += Math.abs(dyv[i]);
  }
  return { ys, dyv, y, dx, dw, db, abs };
}

/**
 * Float32 sums against float64 ones: within TOL, or within 8 float32 epsilons of the sum of the
 * terms' magnitudes (a sum of 460,000 products, as a backward-filter over a batch of large
 * images, rounds further from the exact value than TOL allows however it is ordered).
 */
function expectCloseSums(actual: ArrayLike<number>, expected: Float64Array, magnitudes: Float64Array, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= TOL.atol + TOL.rtol * Math.abs(expected[i]) + 8 * 2 ** -23 * magnitudes[i])) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${diff}, terms' magnitudes ${magnitudes[i]})`);
    }
  }
  expect(actual.length, `${what} length`).to.equal(expected.length);
}

/** The transposed convolution straight from its definition: each input pixel scatters w. */
function convTransposeReference(xs: number[], x: Float64Array, ws: number[], w: Float64Array, b: Float64Array | null, o: Required<Omit<ConvTranspose2dOptions, 'padding' | 'stride' | 'outputPadding' | 'dilation'>> & { s: number[]; p: number[]; op: number[]; d: number[] }, dyOf: (ys: number[]) => Float64Array) {
  const [N, C, H, W] = xs, [, Kg, kh, kw] = ws, K = Kg * o.groups, Cg = C / o.groups;
  const Ho = (H - 1) * o.s[0] - 2 * o.p[0] + o.d[0] * (kh - 1) + o.op[0] + 1;
  const Wo = (W - 1) * o.s[1] - 2 * o.p[1] + o.d[1] * (kw - 1) + o.op[1] + 1;
  const ys = [N, K, Ho, Wo];
  const y = new Float64Array(sizeOf(ys));
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (Ho * Wo)) % K];
  const dy = dyOf(ys);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(K);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) {
    const xi = ((n * C + c) * H + ih) * W + iw, g = Math.floor(c / Cg);
    for (let k = 0; k < Kg; k++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const oh = ih * o.s[0] - o.p[0] + i * o.d[0], ow = iw * o.s[1] - o.p[1] + j * o.d[1];
      if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
      const yi = ((n * K + g * Kg + k) * Ho + oh) * Wo + ow, wi = ((c * Kg + k) * kh + i) * kw + j;
      y[yi] += x[xi] * w[wi];
      dx[xi] += dy[yi] * w[wi];
      dw[wi] += dy[yi] * x[xi];
    }
  }
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (Ho * Wo)) % K] += dy[i];
  return { ys, dy, y, dx, dw, db };
}

const read = (t: cc.Tensor | null): Float32Array => {
  expect(t, 'gradient').to.not.equal(null);
  return (t as cc.Tensor<'float32'>).dataSync();
};
const TOL = { rtol: 1e-4, atol: 1e-4 };

// ---- conv2d ----------------------------------------------------------------------------------

// winograd: run with CONVNET_WINOGRAD=1 (Winograd wherever it can run, even on maps too small
// for it to pay, so that its edge cases stay tested).
interface ConvCase { x: number[]; w: number[]; o: Conv2dOptions; bias?: boolean; what: string; winograd?: boolean }
const CONV2D_CASES: ConvCase[] = [
  { x: [1, 1, 5, 5], w: [1, 1, 3, 3], o: {}, bias: true, what: 'plain 3x3' },
  { x: [2, 3, 7, 9], w: [4, 3, 3, 3], o: { padding: 1 }, bias: true, what: 'padding 1' },
  { x: [2, 3, 8, 8], w: [5, 3, 3, 3], o: { stride: 2, padding: 1 }, bias: true, what: 'stride 2' },
  { x: [1, 2, 11, 10], w: [3, 2, 5, 3], o: { stride: 3, padding: [2, 0] }, bias: true, what: 'stride 3, padding [2, 0]' },
  // col2im's phases interleaved four at a time at stride 4 (a last group of 1, 2 or 3 columns)
  { x: [2, 3, 23, 29], w: [4, 3, 7, 6], o: { stride: 4, padding: [1, 2] }, bias: true, what: 'stride 4, width 4k + 1' },
  { x: [1, 2, 17, 30], w: [3, 2, 5, 5], o: { stride: 4 }, what: 'stride 4, width 4k + 2, no bias' },
  { x: [1, 2, 13, 19], w: [3, 2, 6, 7], o: { stride: [2, 4], padding: [0, 3] }, bias: true, what: 'stride [2, 4], width 4k + 3' },
  { x: [2, 2, 9, 7], w: [3, 2, 3, 2], o: { stride: [1, 2], padding: [0, 2], dilation: [2, 3] }, what: 'stride/dilation/padding pairs, no bias' },
  { x: [2, 3, 10, 10], w: [3, 3, 3, 3], o: { padding: 'same', dilation: 2 }, bias: true, what: "'same', dilation 2" },
  { x: [1, 2, 9, 8], w: [4, 2, 4, 2], o: { padding: 'same', dilation: [3, 1] }, bias: true, what: "'same' with even kernels (asymmetric)" },
  { x: [2, 3, 9, 9], w: [2, 3, 3, 3], o: { padding: 'valid', dilation: 3 }, bias: true, what: "'valid', dilation 3" },
  { x: [2, 4, 9, 9], w: [6, 2, 3, 3], o: { padding: 1, groups: 2 }, bias: true, what: 'groups 2' },
  { x: [2, 6, 7, 7], w: [9, 2, 3, 3], o: { stride: 2, groups: 3 }, bias: true, what: 'groups 3, stride 2' },
  { x: [2, 3, 8, 8], w: [3, 1, 3, 3], o: { padding: 1 , groups: 3 }, bias: true, what: 'depthwise' },
  { x: [2, 3, 9, 8], w: [6, 1, 3, 3], o: { stride: 2, padding: [1, 2], dilation: [1, 2], groups: 3 }, bias: true, what: 'depthwise, multiplier 2, strided, dilated' },
  { x: [1, 2, 6, 7], w: [2, 1, 2, 3], o: { stride: [3, 2], groups: 2 }, what: 'depthwise, stride 3, no bias' },
  { x: [2, 4, 5, 6], w: [6, 4, 1, 1], o: {}, bias: true, what: '1x1 (plain GEMM)' },
  { x: [2, 4, 5, 6], w: [6, 2, 1, 1], o: { groups: 2 }, what: '1x1, groups 2' },
  { x: [2, 4, 7, 6], w: [5, 4, 1, 1], o: { stride: 2, padding: 1 }, bias: true, what: '1x1, stride 2, padded' },
  { x: [3, 2, 5, 5], w: [3, 2, 3, 3], o: {}, bias: true, what: 'several images per GEMM' },
  { x: [7, 3, 15, 15], w: [4, 3, 3, 3], o: { padding: 1 }, bias: true, what: 'image chunks of 3, 3, 1' },
  { x: [2, 2, 4, 5], w: [3, 2, 6, 7], o: { padding: 1 }, bias: true, what: 'kernel as large as the padded input' },
  { x: [1, 1, 13, 1], w: [2, 1, 3, 1], o: { stride: [2, 1] }, bias: true, what: 'width 1' },
];

function checkConv2d(c: ConvCase, seed: number): void {
  if (c.winograd) {
    process.env.CONVNET_WINOGRAD = '1';
    try {
      return checkConv2d({ ...c, winograd: false }, seed);
    } finally {
      delete process.env.CONVNET_WINOGRAD;
    }
  }
  const { t: x, v: xv } = randomTensor(c.x, seed);
  const { t: w, v: wv } = randomTensor(c.w, seed + 1);
  const { t: b, v: bv } = randomTensor([c.w[0]], seed + 2);
  const ref = convReference(c.x, xv, c.w, wv, c.bias ? bv : null, geometry(c.w, c.o), (ys) => randomTensor(ys, seed + 3).v);
  const y = F.conv2d(x, w, c.bias ? b : undefined, c.o);
  expect(y.shape, c.what).to.deep.equal(ref.ys);
  expectCloseSums(y.dataSync(), ref.y, ref.abs.y, `${c.what}: y`);
  const dy = cc.tensor(Float32Array.from(ref.dyv), { shape: ref.ys });
  const g = conv2dBackward(dy, x, w, c.o);
  expectCloseSums(read(g.dx), ref.dx, ref.abs.dx, `${c.what}: dx`);
  expectCloseSums(read(g.dw), ref.dw, ref.abs.dw, `${c.what}: dw`);
  expectCloseSums(read(g.db), ref.db, ref.abs.db, `${c.what}: db`);
}

describe('F.conv2d', () => {
  it('matches a float64 reference, forward and backward, over many shapes', () => {
    CONV2D_CASES.forEach((c, i) => checkConv2d(c, 100 + 10 * i));
  });

  it('matches a float64 reference on larger shapes (every method, both thread strategies)', function () {
    this.timeout(600000);
    const cases: ConvCase[] = [
      { x: [3, 16, 20, 20], w: [24, 16, 3, 3], o: { padding: 1 }, bias: true, what: '3x3 (Winograd with AVX-512 or AVX2, else im2col, one image per GEMM)' },
      { x: [3, 16, 20, 20], w: [24, 16, 3, 3], o: { padding: 1, stride: [1, 2] }, bias: true, what: 'im2col, one image per GEMM' },
      { x: [5, 8, 6, 6], w: [16, 4, 3, 3], o: { padding: 1, groups: 2 }, bias: true, what: 'im2col, batched images' },
      { x: [2, 32, 48, 48], w: [12, 16, 3, 3], o: { padding: 2, dilation: 2, groups: 2 }, bias: true, what: 'panels from x, a GEMM per image' },
      { x: [2, 64, 21, 22], w: [20, 64, 3, 3], o: { padding: 1 }, what: '3x3 (Winograd with AVX-512 or AVX2, else panels from x, batch-wide GEMM, 2 K blocks)' },
      // 4..16 output channels per group: the direct AVX-512 kernel (where the CPU has it).
      { x: [4, 6, 14, 14], w: [16, 6, 5, 5], o: {}, bias: true, what: "direct, LeNet's c3 (5 taps a row, sliding)" },
      { x: [3, 6, 17, 33], w: [20, 3, 5, 5], o: { padding: 2, groups: 2 }, bias: true, what: 'direct, sliding, padded, groups, rows of 14 + 14 + 5' },
      { x: [2, 5, 19, 30], w: [9, 5, 3, 3], o: { padding: 1 }, what: 'direct, 3 taps a row, sliding, no bias' },
      { x: [2, 5, 19, 30], w: [9, 5, 2, 4], o: { padding: [1, 2] }, bias: true, what: 'direct, 4 taps a row, sliding' },
      { x: [1, 3, 21, 40], w: [12, 3, 7, 7], o: { padding: 3 }, what: 'direct, 7 taps a row, sliding' },
      { x: [2, 4, 16, 31], w: [10, 4, 3, 2], o: {}, what: 'direct, 2 taps a row, sliding' },
      { x: [2, 4, 23, 40], w: [12, 4, 3, 4], o: { stride: [2, 3], padding: [1, 2], dilation: [2, 1] }, bias: true, what: 'direct, strided, dilated, even kernel' },
      { x: [2, 3, 20, 21], w: [8, 3, 3, 3], o: { padding: 'same', dilation: 2 }, bias: true, what: 'direct, dilation 2 (no sliding)' },
      { x: [2, 16, 12, 12], w: [32, 16, 1, 1], o: {}, bias: true, what: '1x1 GEMM' },
      { x: [2, 16, 12, 12], w: [32, 1, 3, 3], o: { padding: 'same', dilation: 2, groups: 16 }, bias: true, what: 'depthwise x2' },
      // Depthwise with AVX-512 or AVX2: lanes along the rows, tiles of 1-4 vectors (the last
      // partial), prepared planes split into phases at a stride; backward-data at stride 1 as the
      // flipped forward (a padding past (k - 1) d crops dy's plane), else direct loops.
      { x: [2, 6, 13, 7], w: [6, 1, 3, 3], o: { padding: 1, groups: 6 }, bias: true, what: 'depthwise, rows of 7 (one partial vector), 13 rows (tiles of 8 + 5)' },
      { x: [1, 3, 21, 83], w: [3, 1, 3, 3], o: { padding: 1, groups: 3 }, bias: true, what: 'depthwise, rows of 83: 4 vectors + 2 (the last partial)' },
      { x: [2, 4, 19, 37], w: [4, 1, 3, 3], o: { stride: 2, padding: 1, groups: 4 }, bias: true, what: 'depthwise stride 2, odd width: phases of 19 (over a vector)' },
      { x: [2, 4, 14, 14], w: [8, 1, 3, 3], o: { stride: 2, padding: 1, groups: 4 }, what: 'depthwise stride 2, multiplier 2, 7 x 7 outputs (phases of 8), no bias' },
      { x: [1, 3, 17, 40], w: [3, 1, 5, 5], o: { stride: [1, 3], padding: 2, groups: 3 }, bias: true, what: 'depthwise 5x5, stride [1, 3] (three phases; backward-data by direct loops)' },
      { x: [2, 4, 11, 35], w: [8, 1, 3, 2], o: { padding: [3, 2], groups: 4 }, bias: true, what: 'depthwise, padding past the kernel (backward-data crops dy), multiplier 2' },
      { x: [1, 5, 24, 33], w: [5, 1, 4, 3], o: { padding: 'same', dilation: [2, 3], groups: 5 }, bias: true, what: "depthwise 'same' with an even kernel, dilation [2, 3]" },
      { x: [1, 2, 5, 70], w: [2, 1, 7, 7], o: { padding: 3, groups: 2 }, what: 'depthwise 7x7 on 5 rows (taps past the plane in every tile), 49 taps (filter sums 9 at a time + 4)' },
      { x: [2, 60, 6, 9], w: [120, 1, 7, 7], o: { padding: 3, groups: 60 }, what: 'depthwise 7x7, multiplier 2, 120 channels: backward-filter in blocks of 83 (the second block starts inside a pair)' },
      // Rows under 32 outputs, one output per input channel, 16 channels or more: the channels in
      // the lanes (forward, backward-data at stride 1, backward-filter), 16 at a time.
      { x: [2, 20, 9, 11], w: [20, 1, 3, 3], o: { padding: 1, groups: 20 }, bias: true, what: 'depthwise, channels in the lanes: 16 + 4 channels, 99 outputs (chunks of 16 across rows)' },
      { x: [3, 33, 14, 14], w: [33, 1, 3, 3], o: { stride: 2, padding: 1, groups: 33 }, bias: true, what: 'depthwise 3x3/2, channels in the lanes: 7 x 7 outputs (three chunks of 16 and one), 16 + 16 + 1 channels' },
      { x: [2, 16, 24, 29], w: [16, 1, 5, 5], o: { padding: 'same', dilation: 2, groups: 16 }, what: "depthwise 5x5 'same', dilation 2, channels in the lanes: rows of 29" },
      { x: [1, 17, 6, 30], w: [17, 1, 3, 2], o: { stride: [1, 2], padding: [0, 1], groups: 17 }, bias: true, what: 'depthwise even kernel at stride [1, 2], channels in the lanes: 6 rows of 16' },
      { x: [2, 16, 7, 7], w: [16, 1, 3, 3], o: { padding: 3, groups: 16 }, bias: true, what: 'depthwise, padding past the kernel: forward with the channels in the lanes, backward-data (cropping dy) on the rows' },
      { x: [1, 24, 10, 10], w: [24, 1, 7, 7], o: { padding: 3, groups: 24 }, what: 'depthwise 7x7, channels in the lanes: backward-filter 9 taps at a time + 4' },
      { x: [1, 16, 20, 21], w: [16, 1, 3, 3], o: { stride: 2, padding: 2, dilation: 2, groups: 16 }, bias: true, what: 'depthwise 3x3/2 dilation 2, channels in the lanes: backward-data by phases, three of them without taps (dx = bias there)' },
      { x: [2, 18, 12, 13], w: [18, 1, 4, 4], o: { stride: 2, padding: 1, groups: 18 }, bias: true, what: 'depthwise 4x4/2, channels in the lanes: backward-data by phases of 2 x 2 taps, 16 + 2 channels' },
      // backward-data at a stride by phases: each phase's taps, offsets and pixels.
      { x: [2, 3, 17, 38], w: [6, 1, 4, 4], o: { stride: 2, padding: 1, groups: 3 }, bias: true, what: 'depthwise 4x4/2, multiplier 2 (phases of 2 x 2 taps; dx by phases)' },
      { x: [1, 4, 20, 21], w: [4, 1, 3, 3], o: { stride: 2, padding: 2, dilation: 2, groups: 4 }, bias: true, what: 'depthwise 3x3/2 dilation 2 (one phase of 9 taps, three with none: dx 0 there)' },
      { x: [1, 2, 9, 10], w: [2, 1, 1, 1], o: { stride: [3, 2], groups: 2 }, bias: true, what: 'depthwise 1x1 at stride [3, 2]: most phases without taps' },
      // More than 16 output channels per group, stride 1, 2 or 4, rows of 4 or more: the direct AVX-512
      // kernel of 32-channel blocks (forward; backward-data as the flipped, transposed convolution
      // when the input has more than 16 channels per group too, in rows of 12 or more).
      { x: [2, 40, 15, 27], w: [96, 20, 5, 5], o: { padding: 2, groups: 2 }, bias: true, what: 'direct32, blocks of 48 (rows of 9 + 9 + 9), groups' },
      { x: [2, 24, 13, 20], w: [80, 24, 3, 3], o: { padding: 1 }, bias: true, what: 'direct32, blocks of 32 + 32 + 16, rows of 10 + 10' },
      { x: [2, 24, 14, 16], w: [40, 24, 3, 3], o: { padding: 'same', dilation: 2 }, bias: true, what: 'direct32, dilation 2, blocks of 32 + 8' },
      { x: [3, 40, 8, 9], w: [48, 40, 3, 3], o: { stride: 2, padding: 1 }, bias: true, what: 'direct32 at stride 2 on 4 x 5 outputs (rows of 4: the least it takes)' },
      { x: [2, 20, 16, 16], w: [40, 20, 3, 3], o: { stride: 2, padding: 1 }, bias: true, what: 'direct32 at stride 2 on 8 x 8 outputs: the top row and the first column leave out the padding\'s taps (a column tile, rows of 7)' },
      { x: [1, 18, 13, 13], w: [33, 18, 4, 2], o: { padding: 'same' }, bias: true, what: 'direct32, even kernel (asymmetric padding), 32 + 1 channels' },
      { x: [2, 17, 20, 14], w: [36, 17, 3, 3], o: { stride: [2, 1], padding: 1 }, what: 'direct32 forward with stride [2, 1] (backward-data by GEMM)' },
      { x: [2, 40, 31, 33], w: [96, 20, 3, 3], o: { stride: 2, padding: 1, groups: 2 }, bias: true, what: 'direct32 at stride 2, blocks of 48, groups (rows of 9 + 8); backward-data by im2col + GEMM + col2im (3x3: no phases)' },
      { x: [2, 12, 29, 28], w: [20, 12, 4, 5], o: { stride: 2, padding: 1 }, bias: true, what: 'backward-data by phases (with AVX-512; AVX2 takes them for kernels of 6 and up): 4x5/2, phases of 15 and 14 rows, 2 x 2 and 2 x 3 taps' },
      { x: [2, 24, 30, 33], w: [40, 24, 5, 4], o: { stride: 2, padding: [2, 1] }, bias: true, what: 'backward-data by phases on direct32 (24 channels, AVX-512): dy padded once for the four (5x4/2: 3 x 2 and 2 x 2 taps; 17 and 16 columns; a border on every side)' },
      { x: [1, 20, 30, 31], w: [24, 20, 7, 7], o: { stride: 2, padding: 3 }, bias: true, what: 'backward-data by phases, 7x7/2 (AVX2 too): 4 x 4 to 3 x 3 taps, the direct32 phases on dy padded once' },
      { x: [1, 24, 30, 40], w: [40, 24, 3, 3], o: { stride: [3, 2], padding: 2, dilation: 2 }, bias: true, what: 'direct32 at stride [3, 2], dilation 2, blocks of 32 + 8' },
      { x: [2, 20, 12, 12], w: [24, 20, 3, 3], o: { padding: 3 }, bias: true, what: 'direct32 forward, padding beyond the kernel (backward-data by GEMM)' },
      { x: [2, 64, 60, 11], w: [20, 64, 3, 3], o: { padding: 1 }, what: '3x3 (Winograd with AVX-512 or AVX2, else panels from x, batch-wide GEMM); backward-data\'s rows under 12: im2col' },
      { x: [2, 64, 60, 11], w: [20, 64, 3, 3], o: { padding: 2, dilation: 2 }, what: 'direct32 on rows of 11, dilation 2 (backward-data\'s rows under 12: im2col)' },
      { x: [2, 64, 160, 3], w: [20, 64, 3, 3], o: { padding: 2, dilation: 2 }, what: 'rows of 3, under direct32\'s 4: panels from x, batch-wide GEMM' },
      // Large kernels at a stride over few channels, large outputs: the direct kernel at stride 2
      // or 4 (more than 16 output channels), else forward's panels from x (as at stride [2, 3]).
      { x: [1, 3, 120, 122], w: [24, 3, 7, 7], o: { stride: 2, padding: 3 }, bias: true, what: 'a 7x7/2 stem: direct32 at stride 2' },
      { x: [1, 3, 140, 140], w: [20, 3, 5, 5], o: { stride: 2, padding: 2 }, bias: true, what: 'direct32 at stride 2, 5x5' },
      { x: [2, 3, 100, 90], w: [40, 3, 5, 5], o: { stride: 2, padding: 2 }, bias: true, what: 'direct32 at stride 2 on 50 x 45 outputs in bands of rows (over 256 KiB of sums a block), 32 + 8 channels' },
      { x: [2, 3, 52, 50], w: [24, 3, 8, 8], o: { stride: 4, padding: 2 }, bias: true, what: 'direct32 at stride 4, 8x8' },
      { x: [1, 3, 100, 190], w: [16, 3, 7, 7], o: { stride: 2, padding: 3 }, bias: true, what: '7x7/2 with 16 output channels: direct, channel lanes' },
      { x: [1, 3, 100, 190], w: [20, 3, 11, 11], o: { stride: [2, 3], padding: [0, 2] }, what: 'panels from x at stride [2, 3], 11x11' },
      // 3x3 at stride 1 with 16 or more channels in and out per group: Winograd F(2x2, 3x3)
      // (all three directions), where the CPU has AVX-512.
      { x: [2, 32, 12, 21], w: [48, 16, 3, 3], o: { padding: 1, groups: 2 }, bias: true, what: 'Winograd, groups, odd width' },
      { x: [3, 16, 9, 10], w: [16, 16, 3, 3], o: {}, bias: true, what: 'Winograd, no padding (7 x 8 outputs)' },
      { x: [1, 24, 7, 5], w: [17, 24, 3, 3], o: { padding: 2 }, what: 'Winograd, padding 2 (9 x 7 outputs), 17 channels', winograd: true },
      { x: [2, 16, 40, 40], w: [16, 16, 3, 3], o: { padding: 1 }, bias: true, what: 'Winograd, 800 tiles (items of whole panels across images)' },
      { x: [3, 16, 3, 3], w: [20, 16, 3, 3], o: {}, bias: true, what: 'Winograd, one output per image (tiles cut to 1 x 1)', winograd: true },
      { x: [2, 17, 1, 9], w: [16, 17, 3, 3], o: { padding: 1 }, bias: true, what: 'Winograd, one row of 9 (padding on both sides of a 1-row image)', winograd: true },
      // Panels of 12-14 rows (AVX-512, 48 or more output channels a group): the weight transform
      // writes the GEMM's packed panels itself; here with a short last panel and, over 512 input
      // channels, two K blocks (backward-data: 520 outputs, 2 rows in the last panel).
      { x: [1, 520, 4, 5], w: [50, 520, 3, 3], o: { padding: 1 }, bias: true, what: 'Winograd, weights written into 2 K blocks of panels, 50 = 13 + 13 + 13 + 11', winograd: true },
      // Too few runs of tiles for the threads (batch 1, a small map): at 2 threads each run is
      // split by output channels too, in whole panels of the weights' rows.
      { x: [1, 64, 14, 14], w: [50, 64, 3, 3], o: { padding: 1 }, bias: true, what: 'Winograd at batch 1 on 14x14: 2 runs of 32 + 17 tiles, by 2 channel blocks' },
      { x: [1, 16, 8, 8], w: [60, 16, 3, 3], o: { padding: 1 }, bias: true, what: 'Winograd, 1 run of 16 tiles by 4 channel blocks', winograd: true },
      { x: [1, 32, 6, 8], w: [34, 16, 3, 3], o: { padding: 1, groups: 2 }, bias: true, what: 'Winograd, groups, 1 run a group by 2 channel blocks', winograd: true },
      { x: [1, 48, 9, 9], w: [48, 48, 5, 5], o: { padding: 2 }, what: 'Winograd 5x5 at batch 1, 25 tiles by 4 channel blocks', winograd: true },
      // 5x5 with 48 or more channels in and out per group: Winograd F(2x2, 5x5), all three
      // directions.
      { x: [2, 96, 15, 27], w: [96, 48, 5, 5], o: { padding: 2, groups: 2 }, bias: true, what: "Winograd 5x5, groups, odd sizes (AlexNet's c2)" },
      { x: [2, 48, 9, 10], w: [48, 48, 5, 5], o: {}, bias: true, what: 'Winograd 5x5, no padding (5 x 6 outputs)', winograd: true },
      { x: [1, 48, 7, 6], w: [49, 48, 5, 5], o: { padding: [4, 1] }, what: 'Winograd 5x5, padding [4, 1] (11 x 4 outputs), 49 channels', winograd: true },
      { x: [1, 48, 36, 34], w: [48, 48, 5, 5], o: { padding: 2 }, bias: true, what: 'Winograd 5x5, 306 tiles (items of whole panels)' },
      { x: [3, 48, 5, 5], w: [50, 48, 5, 5], o: {}, bias: true, what: 'Winograd 5x5, one output per image', winograd: true },
      { x: [2, 49, 1, 9], w: [48, 49, 5, 5], o: { padding: 2 }, bias: true, what: 'Winograd 5x5, one row of 9 (padding on both sides of a 1-row image)', winograd: true },
      // Dilation 2, 4, 8 at stride 1: Winograd with tiles whose outputs lie d apart, when the
      // tiles' blocks of 2d waste little.
      { x: [2, 32, 20, 22], w: [32, 16, 3, 3], o: { padding: 2, dilation: 2, groups: 2 }, bias: true, what: 'dilated Winograd d2, groups, 5 x 6 blocks of 4' },
      { x: [1, 16, 34, 31], w: [24, 16, 3, 3], o: { padding: [4, 3], dilation: 4 }, what: 'dilated Winograd d4, padding [4, 3] (34 x 29 outputs, part blocks)' },
      { x: [2, 16, 48, 48], w: [16, 16, 3, 3], o: { padding: 8, dilation: 8 }, bias: true, what: 'dilated Winograd d8, 3 x 3 blocks of 16' },
      { x: [1, 48, 24, 26], w: [48, 48, 5, 5], o: { padding: 4, dilation: 2 }, bias: true, what: 'dilated Winograd 5x5 d2' },
      { x: [2, 16, 9, 9], w: [16, 16, 3, 3], o: { padding: 2, dilation: 2 }, what: 'dilation 2 on 9 x 9 (blocks would waste 98%: direct)' },
      // Winograd backward-filter's two ways: by parts (M of at most 64K floats: each part's runs of
      // tiles in chunks of 256 for 16 + 16 channels, the parts' sums added at the end), by xi.
      { x: [5, 16, 50, 50], w: [16, 16, 3, 3], o: { padding: 1 }, what: 'Winograd filter by parts: 13 chunks in 8 parts, chunks across images' },
      { x: [2, 16, 56, 56], w: [16, 16, 3, 3], o: { padding: 4, dilation: 4 }, what: 'dilated Winograd d4, filter by parts: 7 chunks' },
      { x: [2, 64, 12, 12], w: [80, 64, 3, 3], o: { padding: 1 }, what: 'Winograd filter by xi (M of 80K floats)' },
      { x: [1, 72, 20, 20], w: [72, 72, 3, 3], o: { padding: 2, dilation: 2 }, what: 'dilated Winograd d2, filter by xi' },
      // (On AVX2, backward-filter takes Winograd for 3x3 only from 96 channels each way; the cases above go by GEMM there.)
      { x: [2, 96, 10, 10], w: [96, 96, 3, 3], o: { padding: 1 }, what: 'Winograd filter by xi, 96 channels (AVX2 too)' },
      // At most 8 output channels per group, stride 1 along rows, rows of 10 or more: the direct
      // AVX-512 kernel with the lanes along the row (forward; backward-data when x has at most 8
      // channels per group and the stride is 1).
      { x: [2, 5, 13, 37], w: [7, 5, 3, 3], o: { padding: 1 }, bias: true, what: 'narrow, 7 channels (tiles of 3 rows), columns 16 + 16 + 5; backward-data 5 channels' },
      { x: [3, 4, 20, 19], w: [6, 2, 5, 3], o: { stride: [2, 1], padding: [2, 1], dilation: [1, 2], groups: 2 }, bias: true, what: 'narrow forward, row stride 2, dilation, groups (backward-data by GEMM)' },
      { x: [2, 8, 12, 12], w: [1, 8, 3, 3], o: {}, bias: true, what: 'narrow, 1 output channel (tiles of 8 rows); backward-data 8 channels' },
      { x: [2, 3, 11, 26], w: [16, 3, 5, 5], o: { padding: 2 }, what: "narrow backward-data (3 channels) of a 16-channel convolution, as LeNet's c3" },
      { x: [12, 6, 14, 14], w: [16, 6, 5, 5], o: {}, what: "LeNet c3's backward-data: narrow, each image padded by its own task" },
      // Backward-filter's direct kernel: 32-channel blocks (Kg a multiple of 16), kernel width 3, 4, 5, 7, 8 or 11.
      { x: [2, 6, 37, 35], w: [20, 6, 7, 7], o: { stride: 2, padding: 3 }, bias: true, what: 'direct filter, 7x7/2 (tiles of one tap row), 16 + 4 channels' },
      { x: [2, 8, 20, 22], w: [48, 4, 4, 4], o: { stride: 2, padding: 1, groups: 2 }, what: 'direct filter, 4x4/2, groups, 3 tap rows a tile' },
      { x: [1, 5, 50, 45], w: [17, 5, 8, 8], o: { stride: 4, padding: 2 }, what: 'direct filter, 8x8/4, 16 + 1 channels' },
      { x: [2, 3, 40, 40], w: [32, 3, 11, 11], o: { stride: 4, padding: 2 }, bias: true, what: 'direct filter, 11x11 stride 4' },
      { x: [2, 3, 45, 39], w: [48, 3, 11, 11], o: { stride: 4 }, what: "direct filter, 11x11 stride 4 reading x in place (no padding, its last 2 rows unused; AlexNet's c1)" },
      // Forward at a stride whose space-to-depth form is a Winograd problem (the two cases above too).
      { x: [2, 4, 21, 23], w: [16, 4, 5, 5], o: { stride: 2, padding: 2 }, bias: true, what: 'space to depth: 5x5/2 over 4 channels as 3x3 over 16' },
      { x: [2, 8, 19, 18], w: [32, 4, 5, 5], o: { stride: 2, padding: [1, 2], groups: 2 }, what: 'space to depth, groups, padding [1, 2]' },
      { x: [2, 6, 31, 29], w: [40, 3, 7, 7], o: { stride: 2, padding: 3, groups: 2 }, bias: true, what: 'direct32 at stride 2, 7x7, groups' },
      // Backward-data at a stride as one stride-1 convolution of dy into phase channels (Winograd 3x3).
      { x: [1, 16, 66, 63], w: [16, 16, 11, 11], o: { stride: 4 }, bias: true, what: 'backward-data as one convolution: 11x11/4 as 3x3 into 16 x 16 phase channels, dx of 4k + 2 rows and 4k + 3 columns' },
      { x: [2, 32, 33, 35], w: [32, 16, 5, 5], o: { stride: 2, padding: 2, groups: 2 }, bias: true, what: 'backward-data as one convolution: 5x5/2, groups, phases of unequal sizes' },
      { x: [2, 8, 55, 53], w: [40, 4, 6, 6], o: { stride: 3, padding: 1, groups: 2 }, bias: true, what: 'space to depth for the direct kernel: 6x6/3 as 2x2 over 36, groups' },
      { x: [2, 8, 20, 20], w: [64, 4, 3, 3], o: { padding: 2, dilation: 2, groups: 2 }, what: 'direct filter, dilation 2, groups' },
      { x: [3, 128, 92, 92], w: [32, 128, 3, 3], o: { stride: 3 }, what: 'direct filter, one image per padded chunk (sums carried over chunks)' },
      { x: [2, 10, 48, 48], w: [96, 10, 3, 3], o: { padding: 2, dilation: 2 }, what: "direct filter, 24 items: one image per chunk (a block's dy in L2)" },
      { x: [10, 6, 14, 14], w: [16, 6, 5, 5], o: {}, what: "direct filter, one 16-channel block (LeNet's c3), the images' sum in 5 parts" },
      { x: [9, 1, 232, 240], w: [6, 1, 3, 11], o: {}, what: 'direct filter, chunks of 2 images across parts of 3' },
      // ... and with lanes along rows (at most 8 output channels a group, stride 1 along rows, widths 3, 5, 7).
      { x: [2, 3, 20, 30], w: [5, 3, 7, 7], o: { padding: 3 }, bias: true, what: 'filter along rows, 7x7, 5 channels in blocks of 3 + 2, padded' },
      { x: [7, 1, 12, 20], w: [2, 1, 3, 3], o: {}, what: "filter along rows, 3 items: the images' sum in 3 parts" },
      { x: [64, 1, 32, 32], w: [6, 1, 5, 5], o: {}, bias: true, what: "filter along rows, LeNet's c1 (blocks of 3)" },
      // ... and more output channels, in blocks, where a dy element meets at most 80 taps and rows are 32 or wider (AVX-512).
      { x: [2, 3, 34, 33], w: [20, 3, 3, 3], o: { padding: 1 }, bias: true, what: 'filter along rows, 20 channels in blocks of 7 + 7 + 6, rows of 33' },
      { x: [3, 3, 20, 36], w: [12, 3, 5, 5], o: { padding: 2, dilation: [1, 1] }, what: 'filter along rows, 5x5 (75 taps), 12 channels in blocks of 4' },
    ];
    for (const threads of [1, 2]) {
      cc.setNumThreads(threads);
      cases.forEach((c, i) => checkConv2d({ ...c, what: `${c.what} (${threads} threads)` }, 500 + 10 * i));
    }
    cc.setNumThreads(cc.backends().cpu.threads);
  });

  it('runs Winograd where it applies: other rounding than CONVNET_WINOGRAD=0', function () {
    if (!['avx512', 'avx2'].includes(cc.backends().cpu.gemmKernel)) this.skip(); // Winograd needs AVX-512 or AVX2 (scripts/avx2-check.sh runs the latter)
    const cases: [number[], number[], Conv2dOptions][] = [
      [[2, 32, 9, 11], [32, 16, 3, 3], { padding: 1, groups: 2 }], [[2, 48, 9, 11], [48, 48, 5, 5], { padding: 2 }],
      [[2, 16, 16, 16], [16, 16, 3, 3], { padding: 2, dilation: 2 }], [[2, 72, 8, 8], [72, 72, 3, 3], { padding: 1 }], // filter by parts, by xi
      [[2, 96, 8, 8], [96, 96, 3, 3], { padding: 1 }],
    ];
    // On AVX2, backward-filter takes Winograd for 3x3 kernels only from 96 channels each way
    // (conv2d.cc: im2col + GEMM was as fast or faster for the 64 -> 64 layers).
    const avx2 = cc.backends().cpu.gemmKernel === 'avx2';
    for (const [xs, ws, o] of cases) {
      const x = randomTensor(xs, 1).t, w = randomTensor(ws, 2).t;
      const run = () => {
        const y = F.conv2d(x, w, undefined, o);
        const g = conv2dBackward(randomTensor(y.shape, 3).t, x, w, o);
        return [y, g.dx, g.dw].map((t) => read(t));
      };
      const winograd = run();
      process.env.CONVNET_WINOGRAD = '0';
      let direct: Float32Array[];
      try {
        direct = run();
      } finally {
        delete process.env.CONVNET_WINOGRAD;
      }
      ['y', 'dx', 'dw'].forEach((name, i) => {
        const what = `${ws[2]}x${ws[3]} ${JSON.stringify(o)} ${name}`;
        const groups = o.groups ?? 1;
        if (name === 'dw' && avx2 && ws[2] === 3 && Math.min(ws[0] / groups, ws[1]) < 96) {
          expect(Array.from(winograd[i]), `${what} (AVX2: im2col + GEMM)`).to.deep.equal(Array.from(direct[i]));
        } else {
          expect(Array.from(winograd[i]), what).to.not.deep.equal(Array.from(direct[i]));
        }
      });
    }
  });

  // The batch's tiles are the GEMMs' columns, in panels of 32 (AVX-512) or 16 (AVX2): on a 4x4 map
  // at batch 1 the 4 tiles would make the padded GEMMs do more multiplies than the direct sum.
  it('leaves Winograd out where the padded tiles do not pay (4x4 at batch 1), and takes it at batch 8', function () {
    if (!['avx512', 'avx2'].includes(cc.backends().cpu.gemmKernel)) this.skip(); // as above
    const w = randomTensor([32, 32, 3, 3], 2).t;
    const forward = (x: cc.Tensor, env?: string) => {
      if (env) process.env.CONVNET_WINOGRAD = env;
      try {
        return Array.from(read(F.conv2d(x, w, undefined, { padding: 1 })));
      } finally {
        delete process.env.CONVNET_WINOGRAD;
      }
    };
    const one = randomTensor([1, 32, 4, 4], 1).t, eight = randomTensor([8, 32, 4, 4], 1).t;
    expect(forward(one), 'batch 1: not Winograd').to.deep.equal(forward(one, '0'));
    expect(forward(one, '1'), 'CONVNET_WINOGRAD=1: Winograd').to.not.deep.equal(forward(one, '0'));
    expect(forward(eight), 'batch 8: Winograd').to.not.deep.equal(forward(eight, '0'));
  });

  it('runs a strided forward as its space-to-depth form, bit for bit, where that is Winograd or the direct kernel', function () {
    if (!['avx512', 'avx2'].includes(cc.backends().cpu.gemmKernel)) this.skip(); // Winograd needs AVX-512 or AVX2 (scripts/avx2-check.sh runs the latter)
    // x'[n, (c, p, q), u, v] = x[n, c, s u + p - pt, s v + q - pl], w'[k, (c, p, q), a, b] = w[k, c, s a + p, s b + q]
    // (0 outside), built here with tensor ops: conv2d(x', w') at stride 1 is the same computation.
    const regroup = (t: cc.Tensor, s: number, rows: number, cols: number, top: number, left: number) => cc.tidy(() => {
      const [n, c, h, w] = t.shape;
      let padded = cc.concat([cc.zeros([n, c, h, left]), t, cc.zeros([n, c, h, Math.max(0, cols * s - w - left)])], 3).narrow(3, 0, cols * s);
      padded = cc.concat([cc.zeros([n, c, top, cols * s]), padded, cc.zeros([n, c, Math.max(0, rows * s - h - top), cols * s])], 2).narrow(2, 0, rows * s);
      return padded.reshape([n, c, rows, s, cols, s]).permute([0, 1, 3, 5, 2, 4]).clone().reshape([n, c * s * s, rows, cols]);
    });
    // Winograd 3x3 over 48 and over 16 channels (16 output channels: too few for the direct kernel
    // of 32-channel blocks, which takes strides 2 and 4 itself from 17); the direct kernel (6x6/3
    // as 2x2 over 27).
    const cases: [number[], number[], number, number, boolean][] = [
      [[4, 3, 45, 39], [16, 3, 11, 11], 4, 0, true], [[2, 4, 21, 23], [16, 4, 5, 5], 2, 2, true], [[2, 3, 41, 40], [24, 3, 6, 6], 3, 1, false],
    ];
    for (const [xs, ws, s, pad, winograd] of cases) {
      if (!winograd && cc.backends().cpu.gemmKernel !== 'avx512') continue; // the direct kernel needs AVX-512
      cc.tidy(() => {
        const x = randomTensor(xs, 1).t, w = randomTensor(ws, 2).t, b = randomTensor([ws[0]], 3).t;
        const y = F.conv2d(x, w, b, { stride: s, padding: pad });
        const k = Math.ceil(ws[2] / s), [ho, wo] = y.shape.slice(2);
        const xr = regroup(x, s, ho + k - 1, wo + k - 1, pad, pad), wr = regroup(w, s, k, k, 0, 0);
        expect(Array.from(read(y)), `${ws[2]}x${ws[3]}/${s}`).to.deep.equal(Array.from(read(F.conv2d(xr, wr, b))));
        if (!winograd) return;
        process.env.CONVNET_WINOGRAD = '0';  // turns the Winograd cases off too: the strided method's rounding
        try {
          expect(Array.from(read(F.conv2d(x, w, b, { stride: s, padding: pad })))).to.not.deep.equal(Array.from(read(y)));
        } finally {
          delete process.env.CONVNET_WINOGRAD;
        }
      });
    }
  });

  // Where 512-bit FMAs are halved (AMD Zen 4), the forward of few output channels takes
  // Winograd along the rows and a strided backward-filter whose space-to-depth form is
  // Winograd takes that form (conv2d.cc); CONVNET_FMA512 picks either choice on any CPU.
  it('takes the forms for halved 512-bit FMAs (CONVNET_FMA512=halved) and the others (=full), both exact to float32 and thread-count-free', function () {
    this.timeout(600000);
    const cases: ConvCase[] = [
      { x: [3, 6, 14, 14], w: [16, 6, 5, 5], o: {}, bias: true, what: "rows Winograd F(2, 5): LeNet's c3" },
      { x: [2, 5, 13, 21], w: [12, 5, 5, 5], o: { padding: 2 }, bias: true, what: 'rows Winograd, padded, 21 outputs a row (a last tile of one)' },
      { x: [2, 4, 9, 40], w: [24, 2, 3, 3], o: { padding: 1, groups: 2 }, what: 'rows Winograd F(2, 3), groups of 12 channels, 20 tiles a row (two blocks)' },
      { x: [1, 3, 12, 37], w: [16, 3, 2, 5], o: {}, bias: true, what: 'rows Winograd, a 2x5 kernel, 33 outputs a row (a padded copy for the last tile)' },
      { x: [2, 6, 7, 7], w: [5, 6, 3, 3], o: {}, bias: true, what: 'rows Winograd, 5 channels, 5 x 5 outputs (the last group of tiles part-filled)' },
      { x: [4, 3, 45, 39], w: [48, 3, 11, 11], o: { stride: 4 }, what: "filter by space to depth: 11x11/4 as 3x3 over 48 (AlexNet's c1)" },
      { x: [2, 3, 40, 40], w: [32, 3, 11, 11], o: { stride: 4, padding: 2 }, bias: true, what: 'filter by space to depth, padded' },
      { x: [2, 8, 19, 18], w: [32, 4, 5, 5], o: { stride: 2, padding: [1, 2], groups: 2 }, what: 'filter by space to depth: 5x5/2, groups' },
    ];
    const results: Record<string, Float32Array[][]> = {};
    try {
      for (const mode of ['halved', 'full']) {
        process.env.CONVNET_FMA512 = mode;
        cases.forEach((c, i) => checkConv2d({ ...c, what: `${c.what} (${mode})` }, 900 + 10 * i));
        results[mode] = cases.map((c, i) => {
          const perThreads = [1, 2, 3].map((threads) => {
            cc.setNumThreads(threads);
            return cc.tidy(() => {
              const x = randomTensor(c.x, 950 + i).t, w = randomTensor(c.w, 960 + i).t;
              const y = F.conv2d(x, w, undefined, c.o);
              const g = conv2dBackward(randomTensor(y.shape, 970 + i).t, x, w, c.o);
              return [y, g.dx, g.dw].map((t) => read(t));
            });
          });
          perThreads.slice(1).forEach((r, t) => r.forEach((v, j) => expectBitIdentical(v, perThreads[0][j], `${c.what} (${mode}): ${t + 2} threads, output ${j}`)));
          return perThreads[0];
        });
      }
    } finally {
      delete process.env.CONVNET_FMA512;
      cc.setNumThreads(cc.backends().cpu.threads);
    }
    if (cc.backends().cpu.gemmKernel !== 'avx512') return;  // the forms need AVX-512: both runs took the same path
    // The halved forms really ran: y (rows Winograd) or dw (space to depth) rounds otherwise.
    cases.forEach((c, i) => {
      const which = c.what.startsWith('rows') ? 0 : 2;
      expect(Array.from(results.halved[i][which]), c.what).to.not.deep.equal(Array.from(results.full[i][which]));
    });
  });

  it('takes an empty batch (N = 0) as PyTorch does', () => {
    const x = cc.zeros([0, 3, 5, 5]), w = cc.randn([4, 3, 3, 3]), b = cc.randn([4]);
    const y = F.conv2d(x, w, b, { padding: 1 });
    expect(y.shape).to.deep.equal([0, 4, 5, 5]);
    expect(y.dataSync().length).to.equal(0);
    const g = conv2dBackward(cc.zeros([0, 4, 5, 5]), x, w, { padding: 1 });
    expect(g.dx?.shape).to.deep.equal([0, 3, 5, 5]);
    expect(Array.from(read(g.dw))).to.deep.equal(new Array(4 * 27).fill(0));
    expect(Array.from(read(g.db))).to.deep.equal([0, 0, 0, 0]);
  });

  it('computes only the gradients asked for', () => {
    const x = cc.randn([1, 2, 4, 4]), w = cc.randn([3, 2, 3, 3]);
    const g = conv2dBackward(cc.ones([1, 3, 2, 2]), x, w, {}, { needInput: false, needBias: false });
    expect(g.dx).to.equal(null);
    expect(g.db).to.equal(null);
    expect(g.dw?.shape).to.deep.equal([3, 2, 3, 3]);
  });

  it('has gradients that agree with finite differences', () => {
    const configs: [number[], number[], Conv2dOptions][] = [
      [[2, 3, 6, 5], [4, 3, 3, 3], { stride: 2, padding: 1 }],
      [[1, 4, 7, 7], [4, 2, 3, 2], { padding: 'same', dilation: 2, groups: 2 }],
      [[2, 2, 5, 5], [4, 1, 3, 3], { padding: [1, 0], groups: 2 }],
      [[2, 3, 4, 4], [2, 3, 1, 1], {}],
    ];
    configs.forEach(([xs, ws, o], k) => {
      gradCheck({
        what: `conv2d ${JSON.stringify(o)}`,
        inputs: [{ shape: xs, values: randomTensor(xs, 40 + k).v }, { shape: ws, values: randomTensor(ws, 50 + k).v }, { shape: [ws[0]], values: randomTensor([ws[0]], 60 + k).v }],
        forward: ([x, w, b]) => F.conv2d(x, w, b, o),
        backward: (dy, [x, w]) => {
          const g = conv2dBackward(dy, x, w, o);
          return [g.dx, g.dw, g.db];
        },
      });
    });
  });
});

// ---- conv1d ----------------------------------------------------------------------------------

// Note [prepared weights] (native/cpu/prepared_weights.h): the direct kernel's weight blocks and
// Winograd's U are kept between calls with unchanged weights, keyed by the version of the weights'
// memory each call reads (taken when it was enqueued).
describe('F.conv2d: weight layouts kept between calls', () => {
  const kept = () => cc.memory().devices.cpu.preparedBytes;
  // [what, x, kernel size, stride, environment, which CPUs keep a layout]
  const cases: [string, number[], number, number, Record<string, string>, string[]][] = [
    ['the direct kernel (blocks with the bias)', [1, 32, 12, 14], 3, 1, { CONVNET_WINOGRAD: '0' }, ['avx512']],
    ['Winograd', [2, 32, 12, 14], 3, 1, {}, ['avx512', 'avx2']],
    ['1x1, rows of w shared by the threads (batch 1, 7x7)', [1, 32, 7, 7], 1, 1, {}, ['avx512', 'avx2', 'portable']],
    ['1x1, column panels shared by the threads', [4, 32, 16, 16], 1, 1, {}, ['avx512', 'avx2', 'portable']],
    // Where neither the direct kernel (rows under 12 outputs with full-width FMAs) nor Winograd
    // (off) takes it: im2col GEMMs over few images, with w packed once (forward_gemm).
    ['3x3 im2col GEMM, rows of w shared by the threads (batch 1, 7x7)', [1, 32, 7, 7], 3, 1, { CONVNET_WINOGRAD: '0', CONVNET_FMA512: 'full' }, ['avx512', 'avx2', 'portable']],
    ['3x3/2 im2col GEMM over 3 images (one GEMM, copied out)', [3, 32, 13, 11], 3, 2, { CONVNET_WINOGRAD: '0', CONVNET_FMA512: 'full' }, ['avx512', 'avx2', 'portable']],
    ['1x1/2 im2col GEMM (batch 2)', [2, 32, 14, 14], 1, 2, {}, ['avx512', 'avx2', 'portable']],
    // 8x8: an image's 64 outputs fill two column panels, so a GEMM per image (the bias filled in
    // first): at batch 1 the threads share w's rows, at batch 4 the images' column panels.
    ['3x3 im2col GEMM per image, rows of w shared (batch 1, 8x8)', [1, 32, 8, 8], 3, 1, { CONVNET_WINOGRAD: '0', CONVNET_FMA512: 'full' }, ['avx512', 'avx2', 'portable']],
    ['3x3 im2col GEMM per image, column panels shared (batch 4, 8x8)', [4, 32, 8, 8], 3, 1, { CONVNET_WINOGRAD: '0', CONVNET_FMA512: 'full' }, ['avx512', 'avx2', 'portable']],
  ];
  for (const [what, xs, k, stride, env, keepers] of cases) {
    it(`${what}: the same bits on every call, never a stale layout after an in-place write`, () => {
      Object.assign(process.env, env);
      try {
        cc.emptyCache();
        const X = randomTensor(xs, 1), W = randomTensor([40, 32, k, k], 2), B = randomTensor([40], 3);
        const x = X.t, w = W.t, b = B.t;
        const w2 = randomTensor([40, 32, k, k], 4).t, b2 = randomTensor([40], 5).t;
        const options: Conv2dOptions = { padding: (k - 1) / 2, stride };
        const conv = (ww: cc.Tensor, bb: cc.Tensor) => F.conv2d(x, ww, bb, options);
        // Fresh tensors (memory never seen before): what the kernels make on every call.
        const fresh = (ww: cc.Tensor, bb: cc.Tensor) => Array.from(read(conv(ww.clone(), bb.clone())));
        const old = fresh(w, b), updated = fresh(w2, b2), biasOnly = fresh(w2, b);
        const ref = convReference(xs, X.v, [40, 32, k, k], W.v, B.v, geometry([40, 32, k, k], options), (ys) => new Float64Array(ys.reduce((p, q) => p * q, 1)));
        expectClose(Float32Array.from(old), ref.y, TOL.rtol, TOL.atol, `${what}: against float64`);
        const keeps = keepers.includes(cc.backends().cpu.gemmKernel);
        // Enqueued with no read in between, behind a product that keeps the queue busy meanwhile:
        // the first two read the old weights (the second keeps their layout), the next ones the new
        // ones written in place between them.
        const big = cc.randn([1024, 1024]);
        read(big);
        cc.matmul(big, big).dispose();
        const y1 = conv(w, b), y2 = conv(w, b);
        native.copyInto(w.handle(), w2.handle());
        native.copyInto(b.handle(), b2.handle());
        const y3 = conv(w, b), y4 = conv(w, b), y5 = conv(w, b);
        expect(Array.from(read(y1)), 'first call').to.deep.equal(old);
        expect(Array.from(read(y2)), 'second call (made and kept)').to.deep.equal(old);
        for (const [i, y] of [y3, y4, y5].entries()) expect(Array.from(read(y)), `after the write, call ${i + 1}`).to.deep.equal(updated);
        if (keeps) expect(kept(), 'a layout is kept').to.be.above(0);
        // The bias alone written in place (the direct kernel's blocks hold it).
        native.copyInto(b.handle(), randomTensor([40], 3).t.handle());
        for (let i = 0; i < 3; i++) expect(Array.from(read(conv(w, b))), `new bias, call ${i + 1}`).to.deep.equal(biasOnly);
        // Freed with the weights (at the next lookup), and by emptyCache.
        const before = kept();
        w.dispose();
        const other = randomTensor([40, 32, k, k], 6).t;
        read(conv(other, b));
        if (keeps) expect(kept(), 'the freed weights\' layout is dropped').to.be.below(before);
        read(conv(other, b));
        cc.emptyCache();
        expect(kept()).to.equal(0);
      } finally {
        for (const name of Object.keys(env)) delete process.env[name];
      }
    });
  }

  // Note [kept copies] (native/cpu/prepared_weights.cc): a kept layout's memory comes from the
  // tensors' block cache and goes back to it when the layout is dropped; emptyCache empties both.
  it('a dropped layout\'s memory goes back to the block cache, and emptyCache gives all of it back', () => {
    const cached = () => cc.memory().devices.cpu.cachedBytes;
    cc.emptyCache();
    const x = cc.randn([1, 32, 7, 7]), w = cc.randn([40, 32, 1, 1]), w2 = cc.randn([40, 32, 1, 1]);
    for (let i = 0; i < 3; i++) F.conv2d(x, w).dispose();  // the second call keeps w's layout
    cc.syncBlocking();
    const layout = kept();
    expect(layout, 'a 1x1 layout is kept on every CPU').to.be.at.least(40 * 32 * 4);
    w.dispose();
    const before = cached();
    F.conv2d(x, w2).dispose();  // its lookup drops the freed weights' layout
    cc.syncBlocking();
    expect(kept()).to.equal(0);
    // Its block, of the cache's rounded size (at most a quarter more).
    expect(cached() - before, 'the layout\'s block is cached').to.be.within(layout, layout * 1.25 + 64);
    F.conv2d(x, w2).dispose();  // kept again
    cc.syncBlocking();
    expect(kept()).to.equal(layout);
    cc.emptyCache();
    expect(kept()).to.equal(0);
    expect(cached(), 'nothing cached, the layouts\' blocks included').to.equal(0);
    x.dispose();
    w2.dispose();
  });

  it('an optimizer step between evaluations is seen (the layouts of the old weights are not used)', () => {
    cc.manualSeed(3);
    const model = new cc.nn.Sequential(new cc.nn.Conv2d(32, 48, 3, { padding: 1 }), new cc.nn.ReLU(), new cc.nn.Conv2d(48, 40, 3, { padding: 1 }));
    const x = randomTensor([2, 32, 12, 14], 7).t;
    const opt = new cc.optim.SGD(model.parameters(), { lr: 0.1 });
    const evaluate = () => cc.noGrad(() => Array.from(read(model.call(x))));
    for (let round = 0; round < 3; round++) {
      const a = evaluate(), b = evaluate(), c = evaluate();
      expect(b).to.deep.equal(a);
      expect(c).to.deep.equal(a);
      // The same model's weights, copied into fresh memory: what the step's weights give.
      cc.tidy(() => { model.call(x).sum().backward(); });
      opt.step();
      opt.zeroGrad();
      const copy = new cc.nn.Sequential(new cc.nn.Conv2d(32, 48, 3, { padding: 1 }), new cc.nn.ReLU(), new cc.nn.Conv2d(48, 40, 3, { padding: 1 }));
      copy.loadStateDict(Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.clone()])));
      const want = cc.noGrad(() => Array.from(read(copy.call(x))));
      expect(evaluate(), `after step ${round + 1}`).to.not.deep.equal(a);
      expect(evaluate(), `after step ${round + 1}`).to.deep.equal(want);
      copy.dispose();
    }
    opt.dispose();
    model.dispose();
  });
});

describe('F.conv1d', () => {
  const cases: { x: number[]; w: number[]; o: cc.F.Conv1dOptions; bias: boolean }[] = [
    { x: [2, 3, 12], w: [4, 3, 3], o: { padding: 1 }, bias: true },
    { x: [2, 4, 15], w: [4, 2, 4], o: { stride: 2, dilation: 2, groups: 2 }, bias: false },
    { x: [1, 2, 10], w: [3, 2, 4], o: { padding: 'same', dilation: [3] }, bias: true },
    { x: [3, 4, 9], w: [8, 1, 3], o: { stride: [3], padding: [2], groups: 4 }, bias: true },
    // more than 16 output channels, rows of 12 or more outputs: conv2d's direct kernel at stride 2 and 4
    { x: [2, 20, 60], w: [40, 20, 5], o: { stride: 2, padding: 2 }, bias: true },
    { x: [1, 24, 100], w: [33, 24, 8], o: { stride: 4 }, bias: false },
  ];

  it('matches a float64 reference (as conv2d over a height of 1), forward and backward', () => {
    cases.forEach((c, k) => {
      const { t: x, v: xv } = randomTensor(c.x, 70 + k), { t: w, v: wv } = randomTensor(c.w, 80 + k), { t: b, v: bv } = randomTensor([c.w[0]], 90 + k);
      const one = (v: number | readonly number[] | undefined): number | undefined => (v === undefined ? undefined : typeof v === 'number' ? v : v[0]);
      const pad = typeof c.o.padding === 'string' ? c.o.padding : one(c.o.padding as number | number[] | undefined);
      const o2: Conv2dOptions = { stride: [1, one(c.o.stride) ?? 1], dilation: [1, one(c.o.dilation) ?? 1], groups: c.o.groups };
      o2.padding = typeof pad === 'string' ? pad : [0, pad ?? 0];
      const xs4 = [c.x[0], c.x[1], 1, c.x[2]], ws4 = [c.w[0], c.w[1], 1, c.w[2]];
      const ref = convReference(xs4, xv, ws4, wv, c.bias ? bv : null, geometry(ws4, o2), (ys) => randomTensor(ys, 95 + k).v);
      const y = F.conv1d(x, w, c.bias ? b : null, c.o);
      expect(y.shape).to.deep.equal([ref.ys[0], ref.ys[1], ref.ys[3]]);
      expectClose(y.dataSync(), ref.y, TOL.rtol, TOL.atol, `conv1d ${k}: y`);
      const g = conv1dBackward(cc.tensor(Float32Array.from(ref.dyv), { shape: y.shape }), x, w, c.o);
      expect(g.dx?.shape).to.deep.equal(c.x);
      expect(g.dw?.shape).to.deep.equal(c.w);
      expectClose(read(g.dx), ref.dx, TOL.rtol, TOL.atol, `conv1d ${k}: dx`);
      expectClose(read(g.dw), ref.dw, TOL.rtol, TOL.atol, `conv1d ${k}: dw`);
      expectClose(read(g.db), ref.db, TOL.rtol, TOL.atol, `conv1d ${k}: db`);
    });
  });

  it('has gradients that agree with finite differences', () => {
    const o: cc.F.Conv1dOptions = { stride: 2, padding: 1, dilation: 2 };
    gradCheck({
      what: 'conv1d',
      inputs: [{ shape: [2, 3, 11], values: randomTensor([2, 3, 11], 1).v }, { shape: [2, 3, 3], values: randomTensor([2, 3, 3], 2).v }, { shape: [2], values: randomTensor([2], 3).v }],
      forward: ([x, w, b]) => F.conv1d(x, w, b, o),
      backward: (dy, [x, w]) => {
        const g = conv1dBackward(dy, x, w, o);
        return [g.dx, g.dw, g.db];
      },
    });
  });
});

// ---- convTranspose2d -------------------------------------------------------------------------

interface TCase { x: number[]; w: number[]; o: ConvTranspose2dOptions; bias: boolean }
const TRANSPOSED: TCase[] = [
  { x: [2, 3, 4, 4], w: [3, 2, 3, 3], o: {}, bias: true },
  { x: [2, 3, 4, 5], w: [3, 4, 4, 4], o: { stride: 2, padding: 1 }, bias: true },
  { x: [1, 4, 3, 3], w: [4, 3, 3, 3], o: { stride: 3, padding: 1, outputPadding: [2, 1], groups: 2 }, bias: true },
  { x: [2, 2, 4, 4], w: [2, 2, 3, 3], o: { dilation: 2, padding: 1, outputPadding: 1 }, bias: false },
  { x: [1, 2, 5, 4], w: [2, 3, 2, 3], o: { stride: [2, 1], padding: [0, 1], dilation: [1, 2] }, bias: true },
  { x: [2, 3, 3, 3], w: [3, 1, 3, 3], o: { stride: 2, groups: 3, outputPadding: 1 }, bias: true },
  { x: [4, 4, 5, 5], w: [4, 6, 1, 1], o: {}, bias: true },
  { x: [3, 8, 6, 6], w: [8, 4, 4, 4], o: { stride: 2, padding: 1 }, bias: true },
  { x: [1, 16, 16, 16], w: [16, 8, 5, 5], o: { stride: 2, padding: 2, outputPadding: 1 }, bias: true },  // one convolution into phase channels
  { x: [2, 5, 11, 19], w: [5, 1, 4, 4], o: { stride: 2, padding: 1, groups: 5 }, bias: true },  // FCN-style 2x bilinear upsampling, depthwise: conv2d's backward-data by phases, with the bias
];

function tOpts(o: ConvTranspose2dOptions) {
  const two = (v: number | readonly number[] | undefined, d: number): number[] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [...v]);
  return { s: two(o.stride, 1), p: two(o.padding, 0), op: two(o.outputPadding, 0), d: two(o.dilation, 1), groups: o.groups ?? 1 };
}

describe('F.convTranspose2d', () => {
  it('matches a float64 reference (the scatter definition), forward and backward', () => {
    TRANSPOSED.forEach((c, k) => {
      const { t: x, v: xv } = randomTensor(c.x, 200 + k), { t: w, v: wv } = randomTensor(c.w, 210 + k);
      const { t: b, v: bv } = randomTensor([c.w[1] * (c.o.groups ?? 1)], 220 + k);
      const ref = convTransposeReference(c.x, xv, c.w, wv, c.bias ? bv : null, tOpts(c.o), (ys) => randomTensor(ys, 230 + k).v);
      const y = F.convTranspose2d(x, w, c.bias ? b : null, c.o);
      expect(y.shape, `case ${k}`).to.deep.equal(ref.ys);
      expectClose(y.dataSync(), ref.y, TOL.rtol, TOL.atol, `convTranspose2d ${k}: y`);
      const g = convTranspose2dBackward(cc.tensor(Float32Array.from(ref.dy), { shape: ref.ys }), x, w, c.o);
      expectClose(read(g.dx), ref.dx, TOL.rtol, TOL.atol, `convTranspose2d ${k}: dx`);
      expectClose(read(g.dw), ref.dw, TOL.rtol, TOL.atol, `convTranspose2d ${k}: dw`);
      expectClose(read(g.db), ref.db, TOL.rtol, TOL.atol, `convTranspose2d ${k}: db`);
    });
  });

  it('has gradients that agree with finite differences', () => {
    const configs: [number[], number[], ConvTranspose2dOptions][] = [
      [[1, 2, 3, 3], [2, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
      [[2, 4, 3, 4], [4, 1, 2, 3], { dilation: 2, groups: 2, outputPadding: [1, 0] }],
    ];
    configs.forEach(([xs, ws, o], k) => {
      const K = ws[1] * (o.groups ?? 1);
      gradCheck({
        what: `convTranspose2d ${JSON.stringify(o)}`,
        inputs: [{ shape: xs, values: randomTensor(xs, 7 + k).v }, { shape: ws, values: randomTensor(ws, 17 + k).v }, { shape: [K], values: randomTensor([K], 27 + k).v }],
        forward: ([x, w, b]) => F.convTranspose2d(x, w, b, o),
        backward: (dy, [x, w]) => {
          const g = convTranspose2dBackward(dy, x, w, o);
          return [g.dx, g.dw, g.db];
        },
      });
    });
  });
});

describe('F.convTranspose1d', () => {
  const CASES: [number[], number[], ConvTranspose1dOptions, boolean][] = [
    [[2, 3, 5], [3, 2, 3], { stride: 2, padding: 1, outputPadding: 1 }, true],
    [[1, 4, 7], [4, 1, 2], { dilation: 2, groups: 2 }, false],
    [[3, 2, 1], [2, 3, 4], { stride: 3 }, true],
    [[0, 2, 4], [2, 2, 3], { padding: 1 }, true],
  ];
  it('matches a float64 reference (the scatter definition over a height of 1), forward and backward', () => {
    CASES.forEach(([xs, ws, o, bias], k) => {
      const { t: x, v: xv } = randomTensor(xs, 300 + k), { t: w, v: wv } = randomTensor(ws, 310 + k);
      const K = ws[1] * (o.groups ?? 1);
      const { t: b, v: bv } = randomTensor([K], 320 + k);
      const one = (v: number | readonly number[] | undefined, d: number) => (v === undefined ? d : typeof v === 'number' ? v : v[0]);
      const o2 = { s: [1, one(o.stride, 1)], p: [0, one(o.padding, 0)], op: [0, one(o.outputPadding, 0)], d: [1, one(o.dilation, 1)], groups: o.groups ?? 1 };
      const ref = convTransposeReference([xs[0], xs[1], 1, xs[2]], xv, [ws[0], ws[1], 1, ws[2]], wv, bias ? bv : null, o2, (ys) => randomTensor(ys, 330 + k).v);
      const ys = [ref.ys[0], ref.ys[1], ref.ys[3]];
      const y = F.convTranspose1d(x, w, bias ? b : null, o);
      expect(y.shape, `case ${k}`).to.deep.equal(ys);
      expectClose(y.dataSync(), ref.y, TOL.rtol, TOL.atol, `convTranspose1d ${k}: y`);
      const g = convTranspose1dBackward(cc.tensor(Float32Array.from(ref.dy), { shape: ys }), x, w, o);
      expectClose(read(g.dx), ref.dx, TOL.rtol, TOL.atol, `convTranspose1d ${k}: dx`);
      expectClose(read(g.dw), ref.dw, TOL.rtol, TOL.atol, `convTranspose1d ${k}: dw`);
      expectClose(read(g.db), ref.db, TOL.rtol, TOL.atol, `convTranspose1d ${k}: db`);
    });
  });

  it('has gradients that agree with finite differences, through the tape', () => {
    const [xs, ws, o] = CASES[0];
    gradCheck({
      what: 'convTranspose1d',
      inputs: [{ shape: xs, values: randomTensor(xs, 8).v }, { shape: ws, values: randomTensor(ws, 18).v }, { shape: [2], values: randomTensor([2], 28).v }],
      forward: ([x, w, b]) => F.convTranspose1d(x, w, b, o),
      backward: (dy, [x, w, b]) => {
        const [vx, vw, vb] = [x, w, b].map((t) => t.detach().requiresGrad_());
        F.convTranspose1d(vx, vw, vb, o).backward(dy);
        return [vx.grad, vw.grad, vb.grad];
      },
    });
  });

  it('nn.ConvTranspose1d: PyTorch\'s weight layout and arguments; typed errors', () => {
    const up = new nn.ConvTranspose1d(4, 6, 4, { stride: 2, padding: 1, groups: 2 });
    expect(up.weight.shape).to.deep.equal([4, 3, 4]);
    expect(up.call(cc.zeros([2, 4, 5])).shape).to.deep.equal([2, 6, 10]);
    expect(String(up)).to.match(/^ConvTranspose1d\(4, 6, kernel_size=\[4\], stride=\[2\], padding=\[1\], groups=2\)/);
    expect(new nn.ConvTranspose1d(2, 2, 3, 2, 1, 1).outputPadding).to.equal(1);   // positional, as PyTorch
    expectError(() => new nn.ConvTranspose1d(3, 4, 2, { groups: 2 }), 'E_ARG', /groups/);
    const x = cc.zeros([1, 2, 4]), w = cc.zeros([2, 3, 3]);
    expectError(() => F.convTranspose1d(cc.zeros([2, 4]), w), 'E_SHAPE', /\[N, C, L\]/);
    expectError(() => F.convTranspose1d(x, cc.zeros([3, 3, 3])), 'E_SHAPE', /channels/);
    expectError(() => F.convTranspose1d(x, w, null, { stride: 2, outputPadding: 2 }), 'E_ARG', /outputPadding \[2\] must be smaller/);
    expectError(() => F.convTranspose1d(x, w, null, { stride: [1, 1] as never }), 'E_ARG', /an array of one/);
    expectError(() => F.convTranspose1d(x, w, cc.zeros([2])), 'E_SHAPE', /\[3\]/);
    expectError(() => F.convTranspose1d(x.int(), w), 'E_DTYPE');
  });
});

// ---- linear ----------------------------------------------------------------------------------

describe('F.linear', () => {
  it('matches a float64 reference with leading dims folded, forward and backward', () => {
    // One row ([4], [1, 1, 37], [300], [16]): the forward by dot products (rows of w 4 at a time, 16 lanes, a tail).
    for (const [k, [xs, out, bias]] of ([[[5, 7], 3, true], [[2, 3, 4], 6, false], [[4], 2, true], [[64, 300], 70, true], [[0, 5], 4, true],
      [[1, 1, 37], 9, true], [[300], 1001, false], [[16], 4, true]] as [number[], number, boolean][]).entries()) {
      const inF = xs[xs.length - 1], M = sizeOf(xs) / inF;
      const { t: x, v: xv } = randomTensor(xs, 300 + k), { t: w, v: wv } = randomTensor([out, inF], 310 + k), { t: b, v: bv } = randomTensor([out], 320 + k);
      const ys = [...xs.slice(0, -1), out];
      const { t: dy, v: dyv } = randomTensor(ys, 330 + k);
      const y = new Float64Array(M * out), dx = new Float64Array(M * inF), dw = new Float64Array(out * inF), db = new Float64Array(out);
      for (let m = 0; m < M; m++) for (let o = 0; o < out; o++) {
        y[m * out + o] = bias ? bv[o] : 0;
        db[o] += dyv[m * out + o];
        for (let i = 0; i < inF; i++) {
          y[m * out + o] += xv[m * inF + i] * wv[o * inF + i];
          dx[m * inF + i] += dyv[m * out + o] * wv[o * inF + i];
          dw[o * inF + i] += dyv[m * out + o] * xv[m * inF + i];
        }
      }
      const yt = F.linear(x, w, bias ? b : undefined);
      expect(yt.shape).to.deep.equal(ys);
      expectClose(yt.dataSync(), y, TOL.rtol, TOL.atol, `linear ${k}: y`);
      const g = linearBackward(dy, x, w);
      expect(g.dx?.shape).to.deep.equal(xs);
      expectClose(read(g.dx), dx, TOL.rtol, TOL.atol, `linear ${k}: dx`);
      expectClose(read(g.dw), dw, TOL.rtol, TOL.atol, `linear ${k}: dw`);
      expectClose(read(g.db), db, TOL.rtol, TOL.atol, `linear ${k}: db`);
    }
  });

  it('gives the same bits at 1 and 2 threads for one row (dot products) and for many (the GEMM)', () => {
    const before = cc.getNumThreads();
    try {
      for (const M of [1, 6]) {
        const x = randomTensor([M, 1280], 41).t, w = randomTensor([1000, 1280], 42).t, b = randomTensor([1000], 43).t;
        cc.setNumThreads(1);
        const one = F.linear(x, w, b).dataSync();
        cc.setNumThreads(2);
        expect(Buffer.from(F.linear(x, w, b).dataSync().buffer).equals(Buffer.from(one.buffer)), `M = ${M}`).to.equal(true);
      }
    } finally {
      cc.setNumThreads(before);
    }
  });

  it('has gradients that agree with finite differences', () => {
    gradCheck({
      what: 'linear',
      inputs: [{ shape: [2, 3, 5], values: randomTensor([2, 3, 5], 1).v }, { shape: [4, 5], values: randomTensor([4, 5], 2).v }, { shape: [4], values: randomTensor([4], 3).v }],
      forward: ([x, w, b]) => F.linear(x, w, b),
      backward: (dy, [x, w]) => {
        const g = linearBackward(dy, x, w);
        return [g.dx, g.dw, g.db];
      },
    });
  });
});

// ---- PyTorch fixtures ------------------------------------------------------------------------

describe('convolution family against PyTorch', () => {
  type T = { shape: number[]; values: number[] };
  type Case = { op: 'conv2d' | 'conv1d' | 'convTranspose2d' | 'linear'; kwargs: Record<string, unknown>; x: T; w: T; b?: T; dy: T; y: T; dx: T; dw: T; db?: T };

  it('agrees with the committed fixtures (forward and every gradient)', () => {
    const { cases } = loadFixture<{ cases: Case[] }>('conv');
    expect(cases.length).to.be.at.least(20);
    const counts: Record<string, number> = {};
    for (const c of cases) {
      counts[c.op] = (counts[c.op] ?? 0) + 1;
      const t = (v: T) => cc.tensor(v.values, { shape: v.shape });
      const [x, w, dy] = [t(c.x), t(c.w), t(c.dy)];
      const b = c.b ? t(c.b) : null;
      let y: cc.Tensor, g: ConvBackwardResult;
      const o = c.kwargs as never;
      if (c.op === 'conv2d') [y, g] = [F.conv2d(x, w, b, o), conv2dBackward(dy, x, w, o)];
      else if (c.op === 'conv1d') [y, g] = [F.conv1d(x, w, b, o), conv1dBackward(dy, x, w, o)];
      else if (c.op === 'convTranspose2d') [y, g] = [F.convTranspose2d(x, w, b, o), convTranspose2dBackward(dy, x, w, o)];
      else [y, g] = [F.linear(x, w, b), linearBackward(dy, x, w)];
      const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
      expect(y.shape, what).to.deep.equal(c.y.shape);
      expectClose((y as cc.Tensor<'float32'>).dataSync(), c.y.values, 1e-4, 1e-5, `${what}: y`);
      expectClose(read(g.dx), c.dx.values, 1e-4, 1e-5, `${what}: dx`);
      expectClose(read(g.dw), c.dw.values, 1e-4, 1e-5, `${what}: dw`);
      if (c.db) expectClose(read(g.db), c.db.values, 1e-4, 1e-5, `${what}: db`);
    }
    expect(Object.keys(counts).sort()).to.deep.equal(['conv1d', 'conv2d', 'convTranspose2d', 'linear']);
  });
});

// ---- thread-count invariance -----------------------------------------------------------------

describe('convolution family: results do not depend on the thread count', () => {
  it('gives bit-identical forward and gradients for 1, 2 and 3 threads', function () {
    this.timeout(600000);
    const runs: (() => (cc.Tensor | null)[])[] = [];
    const conv = (xs: number[], ws: number[], o: Conv2dOptions, seed: number) => () => {
      const x = randomTensor(xs, seed).t, w = randomTensor(ws, seed + 1).t, b = randomTensor([ws[0]], seed + 2).t;
      const y = F.conv2d(x, w, b, o);
      const g = conv2dBackward(randomTensor(y.shape, seed + 3).t, x, w, o);
      return [y, g.dx, g.dw, g.db];
    };
    runs.push(conv([3, 16, 32, 32], [32, 16, 3, 3], { padding: 1 }, 1));           // one image per GEMM
    runs.push(conv([9, 8, 13, 13], [16, 4, 3, 3], { padding: 1, groups: 2 }, 2));  // batched images, 3 chunks
    runs.push(conv([64, 1, 32, 32], [6, 1, 5, 5], {}, 3));                         // LeNet's first layer
    runs.push(conv([5, 32, 10, 10], [32, 1, 3, 3], { padding: 1, groups: 32 }, 4)); // depthwise
    runs.push(conv([3, 32, 9, 9], [48, 32, 1, 1], {}, 5));                          // 1x1
    runs.push(conv([2, 64, 21, 22], [24, 64, 3, 3], { padding: 1 }, 11));          // panels from x, batch-wide GEMM
    runs.push(conv([6, 6, 14, 30], [16, 6, 5, 5], { padding: 1 }, 12));            // direct (4..16 channels), sliding
    runs.push(conv([5, 4, 15, 17], [10, 4, 3, 2], { stride: 2, padding: 1 }, 13)); // direct, strided
    runs.push(conv([3, 40, 15, 27], [96, 20, 5, 5], { padding: 2, groups: 2 }, 14)); // direct32, forward and backward-data
    runs.push(conv([2, 64, 60, 11], [20, 64, 3, 3], { padding: 1 }, 15));          // panels from x (rows under 12)
    runs.push(conv([3, 3, 40, 40], [48, 3, 11, 11], { stride: 4, padding: 2 }, 16)); // direct filter, 32 + 16 channels
    runs.push(conv([13, 6, 14, 14], [16, 6, 5, 5], {}, 17));                       // direct filter, the images' sum in parts
    runs.push(conv([5, 6, 14, 30], [6, 6, 5, 5], { padding: 1 }, 18));            // narrow (lanes along rows), forward and backward-data
    runs.push(conv([3, 32, 23, 19], [48, 16, 3, 3], { padding: 1, groups: 2 }, 19)); // Winograd (items depend on the thread count)
    runs.push(conv([3, 96, 15, 27], [96, 48, 5, 5], { padding: 2, groups: 2 }, 20)); // Winograd 5x5, all three directions (filter: a group per thread at 2)
    runs.push(conv([2, 24, 30, 33], [40, 24, 3, 3], { stride: 2, padding: 1 }, 23));  // direct32 at stride 2, backward-data by im2col + GEMM + col2im
    runs.push(conv([3, 16, 21, 18], [16, 16, 3, 3], { padding: 4, dilation: 4 }, 21)); // dilated Winograd
    runs.push(conv([5, 16, 50, 50], [16, 16, 3, 3], { padding: 1 }, 22));           // Winograd filter by parts: 13 chunks, 8 parts
    runs.push(conv([3, 8, 40, 38], [32, 8, 7, 7], { stride: 2, padding: 3 }, 24));   // direct filter 7x7/2, backward-data by phases
    runs.push(conv([2, 24, 30, 33], [40, 24, 5, 4], { stride: 2, padding: [2, 1] }, 25)); // backward-data by phases on direct32, dy padded once
    runs.push(conv([2, 32, 33, 35], [32, 16, 5, 5], { stride: 2, padding: 2, groups: 2 }, 26)); // backward-data as one Winograd convolution
    runs.push(() => {
      const x = randomTensor([3, 8, 9, 9], 6).t, w = randomTensor([8, 4, 4, 4], 7).t, b = randomTensor([4], 8).t;
      const o = { stride: 2, padding: 1 };
      const y = F.convTranspose2d(x, w, b, o);
      const g = convTranspose2dBackward(randomTensor(y.shape, 9).t, x, w, o);
      return [y, g.dx, g.dw, g.db];
    });
    runs.push(() => {
      const x = randomTensor([300, 200], 10).t, w = randomTensor([70, 200], 11).t, b = randomTensor([70], 12).t;
      const y = F.linear(x, w, b);
      const g = linearBackward(randomTensor(y.shape, 13).t, x, w);
      return [y, g.dx, g.dw, g.db];
    });
    const before = cc.getNumThreads();
    const results = [1, 2, 3].map((n) => {
      cc.setNumThreads(n);
      return runs.map((r) => r().map((t) => read(t)));
    });
    cc.setNumThreads(before);
    for (let n = 1; n < 3; n++) {
      results[n].forEach((outs, r) => outs.forEach((a, i) => expectBitIdentical(a, results[0][r][i], `run ${r} output ${i}, ${n + 1} threads vs 1`)));
    }
  });
});

// ---- errors ----------------------------------------------------------------------------------

describe('convolution family: typed errors', () => {
  const x = cc.zeros([2, 4, 8, 8]), w = cc.zeros([6, 4, 3, 3]);

  it('conv2d refuses bad shapes with E_SHAPE', () => {
    expectError(() => F.conv2d(cc.zeros([4, 8, 8]), w), 'E_SHAPE', /conv2d: expected `x` of shape \[N, C, H, W\], got \[4, 8, 8\]/);
    expectError(() => F.conv2d(x, cc.zeros([6, 4, 3])), 'E_SHAPE', /`w`/);
    expectError(() => F.conv2d(x, cc.zeros([6, 3, 3, 3])), 'E_SHAPE', /channels/);
    expectError(() => F.conv2d(x, cc.zeros([6, 2, 3, 3]), null, { groups: 3 }), 'E_SHAPE', /groups = 3 must divide/);
    expectError(() => F.conv2d(x, cc.zeros([5, 2, 3, 3]), null, { groups: 2 }), 'E_SHAPE', /groups = 2 must divide/);
    expectError(() => F.conv2d(x, w, cc.zeros([5])), 'E_SHAPE', /`b` of shape \[6\]/);
    expectError(() => F.conv2d(x, w, cc.zeros([6, 1])), 'E_SHAPE', /`b`/);
    expectError(() => F.conv2d(x, cc.zeros([6, 4, 9, 3])), 'E_SHAPE', /larger than the padded input/);
    expectError(() => F.conv2d(x, cc.zeros([6, 4, 3, 3]), null, { dilation: 5 }), 'E_SHAPE', /larger than the padded input/);
    expect(F.conv2d(x, cc.zeros([6, 4, 9, 3]), null, { padding: [1, 0] }).shape).to.deep.equal([2, 6, 2, 6]);
    expectError(() => conv2dBackward(cc.zeros([2, 6, 5, 5]), x, w), 'E_SHAPE', /`dy` of shape \[2, 6, 6, 6\]/);
  });

  it('conv2d refuses bad options with E_ARG', () => {
    for (const stride of [0, -1, 1.5, NaN, [1], [1, 0], '2']) {
      expectError(() => F.conv2d(x, w, null, { stride } as never), 'E_ARG', /stride/);
    }
    expectError(() => F.conv2d(x, w, null, { padding: -1 }), 'E_ARG', /padding/);
    expectError(() => F.conv2d(x, w, null, { padding: [1, -2] }), 'E_ARG', /padding/);
    expectError(() => F.conv2d(x, w, null, { padding: 'full' } as never), 'E_ARG', /'same' or 'valid'/);
    expectError(() => F.conv2d(x, w, null, { padding: 'same', stride: 2 }), 'E_ARG', /'same' needs stride 1/);
    // The module refuses it when built, as PyTorch's (it could never run).
    expectError(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: [1, 2] }), 'E_ARG', /'same' needs stride 1/);
    expectError(() => F.conv2d(x, w, null, { dilation: 0 }), 'E_ARG', /dilation/);
    expectError(() => F.conv2d(x, w, null, { groups: 0 }), 'E_ARG', /groups/);
    expectError(() => F.conv2d(x, w, null, { group: 2 } as never), 'E_ARG', /unknown option `group`/);
    expectError(() => F.conv2d(x, w, 3 as never), 'E_ARG', /`b` to be a Tensor/);
    expectError(() => conv2dBackward(cc.zeros([2, 6, 6, 6]), x, w, {}, { needInput: 1 } as never), 'E_ARG', /needInput/);
  });

  it('refuses int32 tensors with E_DTYPE and disposed ones with E_DISPOSED', () => {
    expectError(() => F.conv2d(cc.zeros([2, 4, 8, 8], 'int32'), w), 'E_DTYPE', /`x` of dtype float32/);
    expectError(() => F.conv2d(x, cc.zeros([6, 4, 3, 3], 'int32')), 'E_DTYPE', /`w`/);
    expectError(() => F.conv2d(x, w, cc.zeros([6], 'int32')), 'E_DTYPE', /`b`/);
    expectError(() => F.linear(cc.zeros([2, 3], 'int32'), cc.zeros([4, 3])), 'E_DTYPE');
    expectError(() => F.convTranspose2d(x, cc.zeros([4, 2, 3, 3], 'int32')), 'E_DTYPE');
    expectError(() => F.conv1d(cc.zeros([2, 4, 8], 'int32'), cc.zeros([2, 4, 3])), 'E_DTYPE');
    const gone = cc.zeros([6, 4, 3, 3]);
    gone.dispose();
    expectError(() => F.conv2d(x, gone), 'E_DISPOSED');
    expectError(() => conv2dBackward(cc.zeros([2, 6, 6, 6]), x, gone), 'E_DISPOSED');
    expectError(() => F.linear(cc.zeros([2, 3]), cc.zeros([4, 3]), gone), 'E_DISPOSED');
  });

  it('conv1d, convTranspose2d and linear check their own arguments', () => {
    expectError(() => F.conv1d(cc.zeros([2, 4, 8, 1]), cc.zeros([2, 4, 3])), 'E_SHAPE', /\[N, C, L\]/);
    expectError(() => F.conv1d(cc.zeros([2, 4, 8]), cc.zeros([2, 3, 3])), 'E_SHAPE', /channels/);
    expectError(() => F.conv1d(cc.zeros([2, 4, 2]), cc.zeros([2, 4, 3])), 'E_SHAPE', /larger than the padded input/);
    expectError(() => F.conv1d(cc.zeros([2, 4, 8]), cc.zeros([2, 4, 3]), null, { stride: [1, 1] } as never), 'E_ARG', /stride/);
    expectError(() => F.conv1d(cc.zeros([2, 4, 8]), cc.zeros([2, 4, 3]), null, { padding: 'same', stride: 2 }), 'E_ARG', /'same'/);
    const xt = cc.zeros([1, 4, 5, 5]), wt = cc.zeros([4, 3, 3, 3]);
    expectError(() => F.convTranspose2d(xt, cc.zeros([3, 3, 3, 3])), 'E_SHAPE', /channels/);
    expectError(() => F.convTranspose2d(xt, wt, null, { groups: 3 }), 'E_SHAPE', /groups = 3/);
    expectError(() => F.convTranspose2d(xt, wt, cc.zeros([4])), 'E_SHAPE', /`b` of shape \[3\]/);
    expectError(() => F.convTranspose2d(xt, wt, null, { outputPadding: 1 }), 'E_ARG', /outputPadding/);
    expectError(() => F.convTranspose2d(xt, wt, null, { stride: 2, outputPadding: 2 }), 'E_ARG', /outputPadding/);
    expect(F.convTranspose2d(xt, wt, null, { dilation: 2, outputPadding: 1 }).shape).to.deep.equal([1, 3, 10, 10]);
    expectError(() => F.convTranspose2d(xt, wt, null, { padding: 'same' } as never), 'E_ARG', /padding/);
    expectError(() => F.convTranspose2d(xt, wt, null, { padding: 4 }), 'E_SHAPE', /empty/);
    expectError(() => F.convTranspose2d(xt, wt, null, { stride: 0 }), 'E_ARG', /stride/);
    expectError(() => F.linear(cc.zeros([2, 3]), cc.zeros([4, 5])), 'E_SHAPE', /3 features/);
    expectError(() => F.linear(cc.zeros([2, 3]), cc.zeros([4, 3, 1])), 'E_SHAPE', /\[out, in\]/);
    expectError(() => F.linear(cc.zeros([2, 3]), cc.zeros([4, 3]), cc.zeros([3])), 'E_SHAPE', /`b`/);
    expectError(() => linearBackward(cc.zeros([2, 5]), cc.zeros([2, 3]), cc.zeros([4, 3])), 'E_SHAPE', /`dy`/);
  });

  it('the native layer checks again (a call that skips the TypeScript checks)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { native } = require('../lib/native') as typeof import('../lib/native');
    const h = (t: cc.Tensor) => t.handle();
    expectError(() => native.conv2dForward(h(x), h(cc.zeros([6, 3, 3, 3])), null, [1, 1, 0, 0, 0, 0, 1, 1, 1]), 'E_SHAPE');
    expectError(() => native.conv2dForward(h(x), h(w), null, [0, 1, 0, 0, 0, 0, 1, 1, 1]), 'E_ARG');
    expectError(() => native.conv2dForward(h(x), h(w), null, [1, 1, -1, 0, 0, 0, 1, 1, 1]), 'E_ARG');
    expectError(() => native.conv2dForward(h(x), h(w), null, [1, 1, 0, 0]), 'E_ARG');
    expectError(() => native.conv2dForward(h(x), h(cc.zeros([6, 4, 9, 9])), null, [1, 1, 0, 0, 0, 0, 1, 1, 1]), 'E_SHAPE');
    expectError(() => native.conv2dBackwardData(h(cc.zeros([2, 6, 5, 5])), h(w), null, [1, 1, 0, 0, 0, 0, 1, 1, 1], [2, 4, 8, 8]), 'E_SHAPE');
    expectError(() => native.conv2dBackwardFilter(h(cc.zeros([2, 6, 6, 6])), h(x), [1, 1, 0, 0, 0, 0, 1, 1, 2], [6, 4, 3, 3]), 'E_SHAPE');
    expectError(() => native.linearForward(h(cc.zeros([2, 3])), h(cc.zeros([4, 5])), null), 'E_SHAPE');
    expectError(() => native.conv2dForward(h(cc.zeros([2, 4, 8, 8], 'int32')), h(w), null, [1, 1, 0, 0, 0, 0, 1, 1, 1]), 'E_DTYPE');
  });
});
