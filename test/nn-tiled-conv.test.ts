// Tiled convolution (F.tiledConv2d, nn.TiledConv2d): against a float64 loop over the definition
// (output (i, j) computed with kernel w[i mod tileH][j mod tileW]), gradients by finite
// differences, the module, errors, and the GPU beside the CPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;

interface Geometry { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }

function tiledRef(x: Float64Array, xs: number[], w: Float64Array, ws: number[], b: Float64Array | null, g: Geometry): { y: number[]; shape: number[] } {
  const [N, C, H, W] = xs, [th, tl, K, cg, kh, kw] = ws;
  const { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups } = g;
  const outH = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, outW = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const kg = K / groups, y: number[] = [];
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let i = 0; i < outH; i++) for (let j = 0; j < outW; j++) {
    const a = i % th, c0 = j % tl, grp = Math.floor(k / kg);
    let acc = b ? b[k] : 0;
    for (let c = 0; c < cg; c++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const r = i * sh - ph + u * dh, q = j * sw - pw + v * dw;
      if (r < 0 || r >= H || q < 0 || q >= W) continue;
      const xv = x[((n * C + grp * cg + c) * H + r) * W + q];
      acc += xv * w[((((a * tl + c0) * K + k) * cg + c) * kh + u) * kw + v];
    }
    y.push(acc);
  }
  return { y, shape: [N, K, outH, outW] };
}

describe('tiledConv2d', () => {
  const cases: [string, number[], number[], Geometry][] = [
    ['2x2 tile, 3x3, padding 1', [2, 3, 7, 6], [2, 2, 4, 3, 3, 3], { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 }],
    ['3x2 tile, stride 2, dilation 2, 2 groups', [1, 4, 13, 11], [3, 2, 6, 2, 3, 2], { stride: [2, 2], padding: [2, 1], dilation: [2, 2], groups: 2 }],
    ['tile larger than the output', [1, 2, 5, 5], [4, 4, 3, 2, 3, 3], { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }],
    ['1x1 tile (a plain convolution), stride 3', [2, 2, 9, 8], [1, 1, 3, 2, 2, 2], { stride: [3, 3], padding: [1, 0], dilation: [1, 1], groups: 1 }],
  ];
  for (const [what, xs, ws, g] of cases) {
    it(`matches the definition: ${what}`, () => {
      const { t: x, v: xv } = randomTensor(xs, 1);
      const { t: w, v: wv } = randomTensor(ws, 2);
      const { t: b, v: bv } = randomTensor([ws[2]], 3);
      const ref = tiledRef(xv, xs, wv, ws, bv, g);
      const y = F.tiledConv2d(x, w, b, g);
      expect(y.shape).to.deep.equal(ref.shape);
      expectClose(y.dataSync(), ref.y, 1e-5, 1e-5, what);
      const noBias = tiledRef(xv, xs, wv, ws, null, g);
      expectClose(F.tiledConv2d(x, w, null, g).dataSync(), noBias.y, 1e-5, 1e-5, `${what}, no bias`);
    });
  }

  it('a 1 x 1 tile is conv2d', () => {
    const { t: x } = randomTensor([2, 3, 8, 8], 4);
    const { t: w } = randomTensor([5, 3, 3, 3], 5);
    const o = { stride: 2, padding: 1 };
    expectClose(F.tiledConv2d(x, w.reshape([1, 1, 5, 3, 3, 3]), null, o).dataSync(), F.conv2d(x, w, null, o).dataSync(), 1e-5, 1e-6, '1x1');
  });

  it('gradients to x, w and b match finite differences', () => {
    tapeCheck('tiledConv2d', [{ shape: [1, 2, 5, 6] }, { shape: [2, 3, 3, 2, 2, 3] }, { shape: [3] }],
      ([x, w, b]) => F.tiledConv2d(x, w, b, { padding: [1, 0], stride: [1, 2] }));
  });

  it('the module: weight shape, initialisation bound, forward, printing', () => {
    const m = new nn.TiledConv2d(4, 6, 3, { tile: [2, 3], padding: 1, groups: 2 });
    expect(m.weight.shape).to.deep.equal([2, 3, 6, 2, 3, 3]);
    const bound = 1 / Math.sqrt(2 * 9);
    for (const p of [m.weight, m.bias!]) {
      const v = Array.from(p.dataSync());
      expect(Math.max(...v.map(Math.abs))).to.be.at.most(bound);
      expect(Math.max(...v.map(Math.abs))).to.be.above(bound * 0.5);
    }
    const x = randomTensor([2, 4, 6, 7], 6).t;
    expectClose(m.call(x).dataSync(), F.tiledConv2d(x, m.weight, m.bias, { padding: 1, groups: 2 }).dataSync(), 0, 0, 'module');
    expect(m.toString()).to.contain('TiledConv2d(4, 6, kernel_size=[3, 3], tile=[2, 3], stride=[1, 1], padding=[1, 1], groups=2)');
    expect(new nn.TiledConv2d(1, 1, 2, { bias: false }).bias).to.equal(null);
  });

  it('an empty batch gives an empty output; a NaN reaches only the outputs that read it', () => {
    expect(F.tiledConv2d(cc.zeros([0, 2, 6, 6]), cc.zeros([2, 2, 3, 2, 3, 3])).shape).to.deep.equal([0, 3, 4, 4]);
    const v = new Array(36).fill(1);
    v[0] = NaN;
    const y = Array.from(F.tiledConv2d(cc.tensor(v, { shape: [1, 1, 6, 6] }), cc.ones([2, 2, 1, 1, 3, 3])).dataSync());
    expect(Number.isNaN(y[0])).to.equal(true);
    expect(y.slice(1)).to.deep.equal(new Array(15).fill(9));
  });

  it('refuses bad arguments by class and code', () => {
    const x = cc.zeros([1, 2, 6, 6]), w = cc.zeros([2, 2, 3, 2, 3, 3]);
    expectError(() => F.tiledConv2d(cc.zeros([2, 6, 6]), w), 'E_SHAPE', /tiledConv2d: expected `x` of shape \[N, C, H, W\]/);
    expectError(() => F.tiledConv2d(x, cc.zeros([3, 2, 3, 3])), 'E_SHAPE', /tiledConv2d: expected `w` of shape \[tileH, tileW, K, C \/ groups, kh, kw\]/);
    expectError(() => F.tiledConv2d(x, cc.zeros([2, 2, 3, 3, 3, 3])), 'E_SHAPE', /does not fit x/);
    expectError(() => F.tiledConv2d(x, w, cc.zeros([2])), 'E_SHAPE', /tiledConv2d: expected `b` of shape \[3\]/);
    expectError(() => F.tiledConv2d(x, cc.zeros([1, 1, 3, 2, 7, 7])), 'E_SHAPE', /larger than x/);
    expectError(() => F.tiledConv2d(x, w, null, { stride: 0 }), 'E_ARG', /tiledConv2d: /);
    expectError(() => F.tiledConv2d(x, w, null, { pad: 1 } as unknown as cc.F.TiledConv2dOptions), 'E_ARG', /tiledConv2d: /);
    expectError(() => F.tiledConv2d(cc.zeros([1, 2, 6, 6], 'int32'), w), 'E_DTYPE', /tiledConv2d: /);
    expectError(() => new nn.TiledConv2d(3, 4, 3, { groups: 2 }), 'E_ARG', /TiledConv2d: groups = 2 must divide/);
    expectError(() => new nn.TiledConv2d(3, 4, 3, { tile: 0 }), 'E_ARG', /TiledConv2d: /);
  });
});

describeCuda('tiledConv2d on the GPU', () => {
  it('matches the CPU, with gradients', () => {
    compareDevices((x, w, b) => F.tiledConv2d(x, w, b, { padding: 1, stride: [1, 2] }),
      [randomCpu([2, 3, 9, 10], 1), randomCpu([2, 3, 4, 3, 3, 3], 2), randomCpu([4], 3)], { bound: 1e-4, grads: true, what: 'tiledConv2d' });
    expectError(() => F.tiledConv2d(randomCpu([1, 3, 9, 10], 1).to('cuda'), randomCpu([2, 3, 4, 3, 3, 3], 2)), 'E_DEVICE', /tiledConv2d: /);
  });
});
