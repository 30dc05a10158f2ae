/**
 * The volumetric (3-D) layers: F.conv3d and F.convTranspose3d against a float64 convolution
 * written from the definition (groups, stride, padding, dilation, output padding), the 3-D pools
 * against float64 windows (indices as PyTorch's flat d * H * W + h * W + w), gradients by finite
 * differences, the modules (PyTorch's shapes, initialisation, state-dict keys), a C3D-style
 * block training step, and typed refusals. (PyTorch itself is compared in scripts/diff-torch.ts.)
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;
type V3 = [number, number, number];

/** conv3d in float64: y[n, k, o] = b[k] + sum over the group's channels and the kernel taps. */
function conv3dRef(x: Float64Array, xs: number[], w: Float64Array, ws: number[], b: Float64Array | null,
  stride: V3, pad: [V3, V3], dil: V3, groups: number): { v: Float64Array; shape: number[] } {
  const [N, C, D, H, W] = xs, [K, Cg, kd, kh, kw] = ws;
  const In = [D, H, W], k = [kd, kh, kw];
  const out = [0, 1, 2].map((a) => Math.floor((In[a] + pad[0][a] + pad[1][a] - dil[a] * (k[a] - 1) - 1) / stride[a]) + 1);
  const v = new Float64Array(N * K * out[0] * out[1] * out[2]);
  const Kg = K / groups;
  let i = 0;
  for (let n = 0; n < N; n++) for (let o = 0; o < K; o++) {
    const g = Math.floor(o / Kg);
    for (let z = 0; z < out[0]; z++) for (let y = 0; y < out[1]; y++) for (let xo = 0; xo < out[2]; xo++) {
      let s = b ? b[o] : 0;
      for (let c = 0; c < Cg; c++) for (let a = 0; a < kd; a++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
        const d = z * stride[0] - pad[0][0] + a * dil[0], h = y * stride[1] - pad[0][1] + p * dil[1], ww = xo * stride[2] - pad[0][2] + q * dil[2];
        if (d < 0 || d >= D || h < 0 || h >= H || ww < 0 || ww >= W) continue;
        s += x[(((n * C + g * Cg + c) * D + d) * H + h) * W + ww] * w[(((o * Cg + c) * kd + a) * kh + p) * kw + q];
      }
      v[i++] = s;
    }
  }
  return { v, shape: [N, K, ...out] };
}

/** convTranspose3d in float64: each input value scattered through the kernel, then cropped. */
function convTranspose3dRef(x: Float64Array, xs: number[], w: Float64Array, ws: number[], b: Float64Array | null,
  stride: V3, pad: V3, outPad: V3, dil: V3, groups: number): { v: Float64Array; shape: number[] } {
  const [N, C, D, H, W] = xs, [, Kg, kd, kh, kw] = ws, K = Kg * groups, Cg = C / groups;
  const In = [D, H, W], k = [kd, kh, kw];
  const out = [0, 1, 2].map((a) => (In[a] - 1) * stride[a] - 2 * pad[a] + dil[a] * (k[a] - 1) + outPad[a] + 1);
  const v = new Float64Array(N * K * out[0] * out[1] * out[2]);
  const at = (n: number, o: number, z: number, y: number, xx: number) => (((n * K + o) * out[0] + z) * out[1] + y) * out[2] + xx;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const g = Math.floor(c / Cg);
    for (let d = 0; d < D; d++) for (let h = 0; h < H; h++) for (let ww = 0; ww < W; ww++) {
      const xv = x[(((n * C + c) * D + d) * H + h) * W + ww];
      for (let ol = 0; ol < Kg; ol++) for (let a = 0; a < kd; a++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
        const z = d * stride[0] - pad[0] + a * dil[0], y = h * stride[1] - pad[1] + p * dil[1], xx = ww * stride[2] - pad[2] + q * dil[2];
        if (z < 0 || z >= out[0] || y < 0 || y >= out[1] || xx < 0 || xx >= out[2]) continue;
        v[at(n, g * Kg + ol, z, y, xx)] += xv * w[(((c * Kg + ol) * kd + a) * kh + p) * kw + q];
      }
    }
  }
  if (b) for (let n = 0; n < N; n++) for (let o = 0; o < K; o++) for (let j = 0; j < out[0] * out[1] * out[2]; j++) v[at(n, o, 0, 0, 0) + j] += b[o];
  return { v, shape: [N, K, ...out] };
}

/** The per-axis windows of a pool: for each output position its [start, end) in the input and the divisor's span. */
function windows(i: number, k: number, s: number, p: number, d: number, ceil: boolean): { taps: number[]; padSpan: number }[] {
  let o = Math.floor((i + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= i + p) o--;
  return Array.from({ length: o }, (_, j) => {
    const start = j * s - p;
    const taps = Array.from({ length: k }, (_, t) => start + t * d).filter((t) => t >= 0 && t < i);
    return { taps, padSpan: Math.min(start + (k - 1) * d + 1, i + p) - start };
  });
}

/** max or average pooling of [P, D, H, W] in float64 over per-axis windows. */
function pool3dRef(x: Float64Array, [P, D, H, W]: number[], wins: ReturnType<typeof windows>[], kind: 'max' | 'avg', include = true, override?: number) {
  const v: number[] = [], idx: number[] = [];
  for (let pl = 0; pl < P; pl++) for (const wd of wins[0]) for (const wh of wins[1]) for (const ww of wins[2]) {
    let best = -Infinity, at = -1, sum = 0;
    for (const d of wd.taps) for (const h of wh.taps) for (const w of ww.taps) {
      const val = x[((pl * D + d) * H + h) * W + w];
      sum += val;
      if (val > best) { best = val; at = (d * H + h) * W + w; }
    }
    if (kind === 'max') { v.push(best); idx.push(at); continue; }
    const count = override ?? (include ? wd.padSpan * wh.padSpan * ww.padSpan : wd.taps.length * wh.taps.length * ww.taps.length);
    v.push(sum / count);
  }
  return { v, idx };
}

describe('F.conv3d and F.convTranspose3d', () => {
  const cases: { x: number[]; w: [number, number, V3]; stride: V3; padding: V3 | 'same'; dil: V3; groups: number; bias: boolean }[] = [
    { x: [2, 3, 5, 6, 4], w: [4, 3, [3, 3, 3]], stride: [1, 1, 1], padding: [1, 1, 1], dil: [1, 1, 1], groups: 1, bias: true },
    { x: [1, 4, 7, 5, 6], w: [6, 2, [2, 3, 1]], stride: [2, 1, 2], padding: [1, 0, 0], dil: [2, 1, 1], groups: 2, bias: false },
    { x: [1, 2, 6, 6, 5], w: [3, 2, [2, 3, 2]], stride: [1, 1, 1], padding: 'same', dil: [3, 1, 2], groups: 1, bias: true },
    { x: [2, 1, 3, 4, 4], w: [2, 1, [3, 1, 2]], stride: [3, 2, 1], padding: [0, 0, 1], dil: [1, 1, 1], groups: 1, bias: true },
  ];
  for (const [ci, c] of cases.entries()) {
    it(`matches a float64 convolution (case ${ci}: kernel ${c.w[2].join('x')}, stride ${c.stride.join('x')}, padding ${c.padding}, dilation ${c.dil.join('x')}, groups ${c.groups})`, () => {
      const ws = [c.w[0], c.w[1], ...c.w[2]];
      const { t: x, v: xv } = randomTensor(c.x, 10 + ci);
      const { t: w, v: wv } = randomTensor(ws, 20 + ci);
      const { t: b, v: bv } = randomTensor([c.w[0]], 30 + ci);
      const pads: [V3, V3] = c.padding === 'same'
        ? [c.w[2].map((k, a) => Math.floor((c.dil[a] * (k - 1)) / 2)) as V3, c.w[2].map((k, a) => c.dil[a] * (k - 1) - Math.floor((c.dil[a] * (k - 1)) / 2)) as V3]
        : [c.padding, c.padding];
      const ref = conv3dRef(xv, c.x, wv, ws, c.bias ? bv : null, c.stride, pads, c.dil, c.groups);
      const y = F.conv3d(x, w, c.bias ? b : null, { stride: c.stride, padding: c.padding, dilation: c.dil, groups: c.groups });
      expect(y.shape).to.deep.equal(ref.shape);
      expectClose(y.dataSync(), ref.v, 1e-5, 1e-5, 'conv3d');
    });
  }

  it('convTranspose3d matches a float64 scatter, with output padding and groups', () => {
    for (const [ci, c] of [
      { x: [2, 2, 3, 4, 3], w: [2, 3, 3, 2, 3], stride: [2, 1, 2], pad: [1, 0, 1], outPad: [1, 0, 1], dil: [1, 1, 1], groups: 1 },
      { x: [1, 4, 2, 3, 3], w: [4, 1, 2, 2, 1], stride: [1, 2, 1], pad: [1, 1, 0], outPad: [0, 1, 0], dil: [2, 1, 1], groups: 2 },
      // outputPadding 1 at stride 1 (allowed by the dilation 2): the padded end still gets taps.
      { x: [1, 1, 3, 2, 2], w: [1, 2, 3, 1, 2], stride: [1, 1, 1], pad: [2, 0, 0], outPad: [1, 0, 0], dil: [2, 1, 1], groups: 1 },
    ].entries()) {
      const { t: x, v: xv } = randomTensor(c.x, 40 + ci);
      const { t: w, v: wv } = randomTensor(c.w, 50 + ci);
      const K = c.w[1] * c.groups;
      const { t: b, v: bv } = randomTensor([K], 60 + ci);
      const ref = convTranspose3dRef(xv, c.x, wv, c.w, bv, c.stride as V3, c.pad as V3, c.outPad as V3, c.dil as V3, c.groups);
      const y = F.convTranspose3d(x, w, b, { stride: c.stride as V3, padding: c.pad as V3, outputPadding: c.outPad as V3, dilation: c.dil as V3, groups: c.groups });
      expect(y.shape, `case ${ci}`).to.deep.equal(ref.shape);
      expectClose(y.dataSync(), ref.v, 1e-5, 1e-5, `convTranspose3d case ${ci}`);
    }
  });

  it('has the gradients of the definition (finite differences)', () => {
    tapeCheck('conv3d', [{ shape: [1, 2, 4, 3, 4] }, { shape: [2, 1, 2, 2, 3] }, { shape: [2] }],
      ([x, w, b]) => F.conv3d(x, w, b, { padding: [1, 0, 1], stride: [2, 1, 1], groups: 2 }));
    tapeCheck('convTranspose3d', [{ shape: [1, 2, 2, 3, 2] }, { shape: [2, 2, 3, 2, 2] }, { shape: [2] }],
      ([x, w, b]) => F.convTranspose3d(x, w, b, { stride: [2, 1, 2], padding: [1, 0, 0], outputPadding: [1, 0, 1] }));
  });

  it('takes an empty batch, as PyTorch: the output shape, and zero gradients for the weight and bias', () => {
    const cases: [typeof F.conv3d, number[], Record<string, unknown>, number[]][] = [
      [F.conv3d, [3, 2, 2, 2, 2], { padding: 1, stride: 2 }, [0, 3, 2, 3, 3]],
      [F.conv3d, [3, 2, 2, 2, 2], { padding: 'same' }, [0, 3, 3, 4, 4]],
      [F.convTranspose3d as typeof F.conv3d, [2, 3, 2, 2, 2], { padding: 1, stride: 2 }, [0, 3, 4, 6, 6]],
    ];
    for (const [f, ws, options, shape] of cases) {
      const x = cc.zeros([0, 2, 3, 4, 4]), w = cc.randn(ws), b = cc.randn([3]);
      for (const t of [x, w, b]) t.requiresGrad = true;
      const y = f(x, w, b, options);
      expect(y.shape).to.deep.equal(shape);
      cc.sum(y).backward();
      expect(x.grad!.shape).to.deep.equal([0, 2, 3, 4, 4]);
      expect(Array.from(w.grad!.dataSync()).every((v) => v === 0)).to.equal(true);
      expect(Array.from(b.grad!.dataSync())).to.deep.equal([0, 0, 0]);
      for (const t of [x, w, b, y]) t.dispose();
    }
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([1, 2, 4, 4, 4]), w = cc.zeros([3, 2, 3, 3, 3]);
    expectError(() => F.conv3d(cc.zeros([2, 4, 4, 4]), w), 'E_SHAPE', /\[N, C, D, H, W\]/);
    expectError(() => F.conv3d(x, cc.zeros([3, 2, 3, 3])), 'E_SHAPE', /kd, kh, kw/);
    expectError(() => F.conv3d(x, cc.zeros([3, 1, 3, 3, 3])), 'E_SHAPE', /expects 1/);
    expectError(() => F.conv3d(x, w, cc.zeros([2])), 'E_SHAPE', /\[3\]/);
    expectError(() => F.conv3d(x, cc.zeros([3, 2, 5, 1, 1])), 'E_SHAPE', /kernel depth/);
    expectError(() => F.conv3d(x, w, null, { padding: 'same', stride: [2, 1, 1] }), 'E_ARG', /stride 1/);
    expectError(() => F.conv3d(x, w, null, { stride: [1, 1] as never }), 'E_ARG', /three/);
    expectError(() => F.conv3d(x, w, null, { groups: 2 }), 'E_SHAPE', /groups/);
    expectError(() => F.conv3d(x, w, null, { padd: 1 } as never), 'E_ARG', /unknown option/);
    expectError(() => F.conv3d(x.int(), w), 'E_DTYPE');
    expectError(() => F.convTranspose3d(x, cc.zeros([3, 2, 3, 3, 3])), 'E_SHAPE', /expects 3/);
    expectError(() => F.convTranspose3d(x, w.reshape([2, 3, 3, 3, 3]), null, { outputPadding: 1 }), 'E_ARG', /outputPadding/);
    expectError(() => F.convTranspose3d(x, w.reshape([2, 3, 3, 3, 3]), null, { padding: 'same' as never }), 'E_ARG', /padding/);
  });
});

describe('3-D pooling', () => {
  const [N, C, D, H, W] = [2, 2, 5, 6, 7];
  const { t: x, v: xv } = randomTensor([N, C, D, H, W], 7);

  it('maxPool3d: values and flat indices of float64 windows (padding, dilation, ceil mode; batched and not)', () => {
    for (const o of [
      { k: [2, 2, 2], s: [2, 2, 2], p: [0, 0, 0], d: [1, 1, 1], ceil: false },
      { k: [3, 3, 2], s: [2, 1, 2], p: [1, 1, 1], d: [1, 2, 1], ceil: true },
      { k: [1, 3, 3], s: [1, 2, 2], p: [0, 1, 0], d: [1, 1, 2], ceil: false },
    ]) {
      const wins = [D, H, W].map((n, a) => windows(n, o.k[a], o.s[a], o.p[a], o.d[a], o.ceil));
      const ref = pool3dRef(xv, [N * C, D, H, W], wins, 'max');
      const [y, idx] = F.maxPool3d(x, o.k as V3, { stride: o.s as V3, padding: o.p as V3, dilation: o.d as V3, ceilMode: o.ceil, returnIndices: true });
      expect(y.shape).to.deep.equal([N, C, ...wins.map((w) => w.length)]);
      expectClose(y.dataSync(), ref.v, 0, 0, 'maxPool3d values');
      expect(Array.from(idx.dataSync())).to.deep.equal(ref.idx);
      const one = F.maxPool3d(x.reshape([N * C, D, H, W]), o.k as V3, { stride: o.s as V3, padding: o.p as V3, dilation: o.d as V3, ceilMode: o.ceil });
      expect(one.shape).to.deep.equal([N * C, ...wins.map((w) => w.length)]);
      expectClose(one.dataSync(), ref.v, 0, 0, 'maxPool3d unbatched');
    }
  });

  it('maxPool3d takes the first maximum in (d, h, w) order among ties, as PyTorch', () => {
    const t = cc.tensor([[[[[1, 5], [5, 0]], [[5, 5], [2, 5]]]]]);   // [1, 1, 2, 2, 2]
    const [y, i] = F.maxPool3d(t, 2, { returnIndices: true });
    expect(Array.from(y.dataSync())).to.deep.equal([5]);
    expect(Array.from(i.dataSync())).to.deep.equal([1]);
  });

  it('avgPool3d: float64 means with and without the padding counted, and a divisor override', () => {
    for (const o of [
      { k: [2, 2, 2], s: [2, 2, 2], p: [0, 0, 0], ceil: false, include: true },
      { k: [3, 2, 3], s: [2, 2, 2], p: [1, 1, 1], ceil: true, include: true },
      { k: [3, 3, 3], s: [2, 1, 3], p: [1, 0, 1], ceil: true, include: false },
      { k: [2, 3, 2], s: [1, 2, 2], p: [1, 1, 0], ceil: false, include: false, override: 7 },
    ]) {
      const wins = [D, H, W].map((n, a) => windows(n, o.k[a], o.s[a], o.p[a], 1, o.ceil));
      const ref = pool3dRef(xv, [N * C, D, H, W], wins, 'avg', o.include, o.override);
      const y = F.avgPool3d(x, o.k as V3, { stride: o.s as V3, padding: o.p as V3, ceilMode: o.ceil, countIncludePad: o.include, divisorOverride: o.override });
      expect(y.shape).to.deep.equal([N, C, ...wins.map((w) => w.length)]);
      expectClose(y.dataSync(), ref.v, 1e-6, 1e-6, `avgPool3d ${JSON.stringify(o)}`);
    }
  });

  it('lpPool3d: (sum of x^p over each window)^(1/p) in float64, a cut window scaled to the full kernel (PyTorch 2.2)', () => {
    const pos = cc.add(cc.abs(x), 0.1), pv = Float64Array.from(pos.dataSync());
    for (const o of [{ p: 2, k: [2, 2, 2], s: [2, 2, 2], ceil: false }, { p: 3, k: [1, 3, 2], s: [1, 2, 3], ceil: true }]) {
      const wins = [D, H, W].map((n, a) => windows(n, o.k[a], o.s[a], 0, 1, o.ceil));
      const powered = Float64Array.from(pv, (v) => v ** o.p);
      // A mean over the window's in-bounds taps (padding 0: the count is the clipped span), times the kernel's size.
      const mean = pool3dRef(powered, [N * C, D, H, W], wins, 'avg', true);
      const ref = mean.v.map((m) => (m * o.k[0] * o.k[1] * o.k[2]) ** (1 / o.p));
      expectClose(F.lpPool3d(pos, o.p, o.k as V3, { stride: o.s as V3, ceilMode: o.ceil }).dataSync(), ref, 1e-5, 1e-6, `lpPool3d p ${o.p}`);
    }
    tapeCheck('lpPool3d', [{ shape: [1, 2, 3, 4, 4], values: Float64Array.from({ length: 96 }, (_, i) => 0.5 + ((i * 7) % 13) / 10) }],
      ([t]) => F.lpPool3d(t, 2, [2, 2, 3], { stride: [1, 2, 1] }));
    expect(new nn.LPPool3d(2, [1, 2, 2]).call(pos).shape).to.deep.equal([N, C, D, 3, 3]);
    expectError(() => F.lpPool3d(x, 0, 2), 'E_ARG', /normType/);
  });

  it('adaptive pools: float64 bins [floor(i n / o), ceil((i + 1) n / o)) on each axis', () => {
    const bins = (n: number, o: number) => Array.from({ length: o }, (_, i) => {
      const a = Math.floor((i * n) / o), b = Math.ceil(((i + 1) * n) / o);
      return { taps: Array.from({ length: b - a }, (_, t) => a + t), padSpan: b - a };
    });
    for (const out of [[1, 1, 1], [2, 4, 3], [5, 3, 9]] as V3[]) {
      const wins = [bins(D, out[0]), bins(H, out[1]), bins(W, out[2])];
      const avg = pool3dRef(xv, [N * C, D, H, W], wins, 'avg');
      expectClose(F.adaptiveAvgPool3d(x, out).dataSync(), avg.v, 1e-6, 1e-6, `adaptiveAvgPool3d ${out}`);
      const max = pool3dRef(xv, [N * C, D, H, W], wins, 'max');
      const [y, i] = F.adaptiveMaxPool3d(x, out, { returnIndices: true });
      expect(y.shape).to.deep.equal([N, C, ...out]);
      expectClose(y.dataSync(), max.v, 0, 0, `adaptiveMaxPool3d ${out}`);
      expect(Array.from(i.dataSync())).to.deep.equal(max.idx);
    }
    expect(F.adaptiveAvgPool3d(x, [null, 2, null]).shape).to.deep.equal([N, C, D, 2, W]);
  });

  it('maxUnpool3d puts each maximum back at its flat index (zeros elsewhere), outputSize included', () => {
    const [y, idx] = F.maxPool3d(x, 2, { returnIndices: true });
    const back = F.maxUnpool3d(y, idx, 2, { outputSize: [D, H, W] });
    expect(back.shape).to.deep.equal([N, C, D, H, W]);
    const b = back.dataSync(), yv = y.dataSync(), iv = idx.dataSync();
    const expected = new Float64Array(N * C * D * H * W);
    const per = yv.length / (N * C);
    for (let j = 0; j < yv.length; j++) expected[Math.floor(j / per) * D * H * W + iv[j]] = yv[j];
    expectClose(b, expected, 0, 0, 'maxUnpool3d');
    const [y2, idx2] = F.maxPool3d(x.narrow(2, 0, 4).narrow(4, 0, 6), 2, { returnIndices: true });
    expect(F.maxUnpool3d(y2, idx2, 2).shape).to.deep.equal([N, C, 4, 6, 6]);
    expectError(() => F.maxUnpool3d(y, idx, 2, { outputSize: [9, 6, 7] }), 'E_ARG', /D must be between/);
    expectError(() => F.maxUnpool3d(y, idx.reshape([-1]) as never, 2), 'E_SHAPE', /indices/);
  });

  it('has the gradients of the definition (finite differences; distinct values, so no ties)', () => {
    const n = 2 * 3 * 4 * 5;
    // 0.05 apart: a step of h = 0.01 never changes which value is a window's maximum.
    const values = Float64Array.from({ length: n }, (_, i) => (((i * 37) % n) / n - 0.5) * 6);
    tapeCheck('maxPool3d', [{ shape: [1, 2, 3, 4, 5], values }], ([t]) => F.maxPool3d(t, [2, 2, 3], { stride: [1, 2, 1], padding: [1, 0, 1], ceilMode: true }));
    tapeCheck('avgPool3d', [{ shape: [1, 2, 3, 4, 5] }], ([t]) => F.avgPool3d(t, [2, 3, 2], { stride: [1, 2, 2], padding: [1, 1, 0], countIncludePad: false }));
    tapeCheck('adaptiveAvgPool3d', [{ shape: [2, 3, 4, 5] }], ([t]) => F.adaptiveAvgPool3d(t, [2, 3, 2]));
    tapeCheck('adaptiveMaxPool3d', [{ shape: [2, 3, 4, 5], values }], ([t]) => F.adaptiveMaxPool3d(t, [2, 3, 2]));
  });

  it('refuses bad arguments with typed errors', () => {
    expectError(() => F.maxPool3d(cc.zeros([4, 4, 4]), 2), 'E_SHAPE', /\[N, C, D, H, W\]/);
    expectError(() => F.maxPool3d(cc.zeros([1, 1, 0, 4, 4]), 2), 'E_SHAPE', /non-zero/);
    expectError(() => F.maxPool3d(x, [2, 2] as never), 'E_ARG', /three/);
    expectError(() => F.maxPool3d(x, 2, { padding: 2 }), 'E_ARG', /half the kernel/);
    expectError(() => F.maxPool3d(x, [9, 1, 1]), 'E_SHAPE', /too small/);
    expectError(() => F.avgPool3d(x, 2, { divisorOverride: 0 }), 'E_ARG', /divisorOverride/);
    expectError(() => F.avgPool3d(x, 2, { count: true } as never), 'E_ARG', /unknown option/);
    expectError(() => F.adaptiveAvgPool3d(x, [1, 2] as never), 'E_ARG', /outputSize/);
    expectError(() => F.adaptiveMaxPool3d(x.int(), 1), 'E_DTYPE');
  });
});

describe('volumetric modules', () => {
  it('Conv3d and ConvTranspose3d: PyTorch shapes, initialisation bounds, config round trip', () => {
    cc.manualSeed(3);
    const conv = new nn.Conv3d(4, 6, [3, 1, 2], { padding: 'same', groups: 2 });
    expect(conv.call(cc.zeros([1, 4, 3, 4, 5])).shape).to.deep.equal([1, 6, 3, 4, 5]);
    expectError(() => new nn.Conv3d(4, 6, 3, { stride: [1, 2, 1], padding: 'same' }), 'E_ARG', /stride 1/);
    expect(conv.weight.shape).to.deep.equal([6, 2, 3, 1, 2]);
    const fanIn = 2 * 3 * 1 * 2, bound = 1 / Math.sqrt(fanIn);
    for (const v of conv.bias!.dataSync()) expect(Math.abs(v)).to.be.at.most(bound);
    expect(Object.keys(conv.stateDict())).to.deep.equal(['weight', 'bias']);
    const up = new nn.ConvTranspose3d(4, 2, 2, 2, 0, 0, 1, false);
    expect(up.weight.shape).to.deep.equal([4, 2, 2, 2, 2]);
    expect(up.call(cc.zeros([1, 4, 2, 3, 4])).shape).to.deep.equal([1, 2, 4, 6, 8]);
    expect(up.toString()).to.contain('ConvTranspose3d(4, 2, kernel_size=[2, 2, 2], stride=[2, 2, 2], bias=false)');
    const again = new nn.ConvTranspose3d(...(up.config() as [number, number, V3]));
    expect(again.config()).to.deep.equal(up.config());
  });

  it('Conv3d padding modes pad first, as PyTorch (replicate of a constant volume stays constant)', () => {
    const conv = new nn.Conv3d(1, 1, 3, { padding: 1, paddingMode: 'replicate', bias: false });
    cc.noGrad(() => conv.weight.fill_(1));
    const y = conv.call(cc.full([1, 1, 3, 4, 5], 2));
    expect(y.shape).to.deep.equal([1, 1, 3, 4, 5]);
    expectClose(y.dataSync(), new Array(60).fill(54), 0, 1e-5, 'replicate');
    const z = new nn.Conv3d(1, 1, 3, { padding: 1, bias: false });
    cc.noGrad(() => z.weight.fill_(1));
    expect(z.call(cc.full([1, 1, 3, 4, 5], 2)).dataSync()[0]).to.equal(16);   // a corner: 2 x 2 x 2 taps
  });

  it('BatchNorm3d, InstanceNorm3d and Dropout3d normalise and drop per channel', () => {
    const { t: x } = randomTensor([3, 2, 2, 3, 4], 5, -2, 3);
    const bn = new nn.BatchNorm3d(2);
    const y = bn.call(x);
    const mean = y.mean([0, 2, 3, 4]).dataSync();
    expectClose(mean, [0, 0], 0, 1e-5, 'BatchNorm3d mean');
    expect(bn.runningMean!.dataSync()[0]).to.not.equal(0);
    expectError(() => bn.call(cc.zeros([3, 2, 4, 4])), 'E_SHAPE', /\[N, C, D, H, W\]/);
    const inorm = new nn.InstanceNorm3d(2, { affine: true });
    expectClose(inorm.call(x).mean([2, 3, 4]).dataSync(), new Array(6).fill(0), 0, 1e-5, 'InstanceNorm3d');
    expectError(() => inorm.call(cc.zeros([3, 2, 4, 4])), 'E_SHAPE', /D, H, W/);
    cc.manualSeed(1);
    const drop = new nn.Dropout3d(0.5);
    const d = drop.call(cc.ones([4, 8, 2, 2, 2])).reshape([32, 8]).dataSync();
    for (let r = 0; r < 32; r++) {
      const row = Array.from(d.subarray(r * 8, r * 8 + 8));
      expect(row.every((v) => v === row[0]) && (row[0] === 0 || row[0] === 2), `channel ${r}`).to.equal(true);
    }
    drop.eval();
    expect(Array.from(drop.call(cc.ones([1, 2, 1, 1, 1])).dataSync())).to.deep.equal([1, 1]);
    expectError(() => F.dropout3d(cc.ones([2, 2, 2]), 0.5), 'E_SHAPE', /4D or 5D/);
  });

  it('dropout3d\'s gradient is its mask scaled by 1 / (1 - p): dx = dy * y for x of ones', () => {
    cc.manualSeed(4);
    const x = cc.ones([3, 4, 2, 2, 3]);
    x.requiresGrad = true;
    const y = F.dropout3d(x, 0.3, true);
    const { t: dy } = randomTensor([3, 4, 2, 2, 3], 9);
    y.backward(dy);
    const yv = y.dataSync(), dyv = dy.dataSync();
    expectClose(x.grad!.dataSync(), Array.from(yv, (v, i) => v * dyv[i]), 1e-6, 1e-7, 'dropout3d gradient');
    expect(new Set(Array.from(yv)).size).to.equal(2);   // 0 and 1 / 0.7
    for (const t of [x, y, dy]) t.dispose();
  });

  it('the 3-D padding layers pad the last three axes in each mode', () => {
    const x = cc.arange(0, 8).reshape([1, 1, 2, 2, 2]);
    expect(new nn.ZeroPad3d(1).call(x).shape).to.deep.equal([1, 1, 4, 4, 4]);
    expect(new nn.ConstantPad3d([1, 0, 0, 0, 0, 1], -1).call(x).shape).to.deep.equal([1, 1, 3, 2, 3]);
    expect(Array.from(new nn.ReplicationPad3d([0, 0, 0, 0, 1, 0]).call(x).dataSync().slice(0, 4))).to.deep.equal([0, 1, 2, 3]);
    expect(Array.from(new nn.ReflectionPad3d([0, 0, 0, 0, 1, 0]).call(x).dataSync().slice(0, 4))).to.deep.equal([4, 5, 6, 7]);
    expectError(() => new nn.ReflectionPad3d([1, 1] as never), 'E_ARG', /front, back/);
    expectError(() => new nn.ReflectionPad3d(1).call(cc.zeros([2, 2, 2])), 'E_SHAPE', /D, H, W/);
  });

  it('a C3D-style block learns: one SGD step lowers the loss on a fixed batch', () => {
    cc.manualSeed(7);
    const model = new nn.Sequential(
      new nn.Conv3d(2, 4, 3, { padding: 1 }), new nn.BatchNorm3d(4), new nn.ReLU(), new nn.MaxPool3d([1, 2, 2]),
      new nn.Conv3d(4, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool3d(1), new nn.Flatten(), new nn.Linear(4, 3),
    );
    const x = randomCpu([4, 2, 4, 8, 8], 11), labels = cc.tensor([0, 1, 2, 1], { dtype: 'int32' });
    const opt = new cc.optim.SGD(model.parameters(), { lr: 0.1 });
    const loss = () => F.crossEntropy(model.call(x), labels);
    const before = loss();
    opt.zeroGrad();
    before.backward();
    opt.step();
    expect(loss().item()).to.be.below(before.item());
  });

  it('pooling modules match their functions and refuse returnIndices', () => {
    const { t: x } = randomTensor([1, 2, 4, 5, 6], 9);
    expect(Array.from(new nn.MaxPool3d(2, 1).call(x).dataSync())).to.deep.equal(Array.from(F.maxPool3d(x, 2, { stride: 1 }).dataSync()));
    expect(Array.from(new nn.AvgPool3d([1, 2, 2], null, 0, true).call(x).dataSync())).to.deep.equal(Array.from(F.avgPool3d(x, [1, 2, 2], { ceilMode: true }).dataSync()));
    expect(new nn.AdaptiveMaxPool3d([1, 2, 3]).call(x).shape).to.deep.equal([1, 2, 1, 2, 3]);
    const [y, i] = F.maxPool3d(x, 2, { returnIndices: true });
    expect(new nn.MaxUnpool3d(2).call(y, i, [4, 5, 6]).shape).to.deep.equal([1, 2, 4, 5, 6]);
    expectError(() => new nn.MaxPool3d(2, null, 0, 1, true as never), 'E_ARG', /returnIndices/);
    expectError(() => new nn.AdaptiveMaxPool3d(1, true as never), 'E_ARG', /returnIndices/);
    expect(new nn.MaxPool3d([1, 2, 2]).toString()).to.contain('MaxPool3d(kernel_size=[1, 2, 2], stride=[1, 2, 2], padding=0, dilation=1, ceil_mode=false)');
  });
});

describeCuda('volumetric layers on the GPU', () => {
  it('conv3d, convTranspose3d and the 3-D pools match the CPU, gradients included', () => {
    const x = randomCpu([2, 3, 4, 6, 5], 1);
    compareDevices((t, w, b) => F.conv3d(t, w, b, { padding: 1, stride: [1, 2, 1] }), [x, randomCpu([4, 3, 3, 3, 3], 2), randomCpu([4], 3)], { bound: 1e-5, grads: true, what: 'conv3d' });
    compareDevices((t, w) => F.convTranspose3d(t, w, null, { stride: 2, padding: 1, outputPadding: 1 }), [x, randomCpu([3, 2, 3, 3, 3], 4)], { bound: 1e-5, grads: true, what: 'convTranspose3d' });
    compareDevices((t) => F.maxPool3d(t, 2, { returnIndices: true }), [x], { grads: true, what: 'maxPool3d' });
    compareDevices((t) => F.avgPool3d(t, 3, { stride: 2, padding: 1, countIncludePad: false }), [x], { grads: true, what: 'avgPool3d' });
    compareDevices((t) => F.adaptiveMaxPool3d(t, [2, 3, 2], { returnIndices: true }), [x], { grads: true, what: 'adaptiveMaxPool3d' });
  });
});
