// Spectral pooling (F.spectralPool2d, nn.SpectralPool2d): against the definition computed in
// float64 with complex arithmetic (the lowest frequencies of each map's DFT kept, the Nyquist
// frequency of an even size split between its two bins), its properties, finite differences,
// errors, and the GPU beside the CPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;

/** The kept frequencies of a size-`size` axis resampled to `out`, with their weights. */
function kept(size: number, out: number): [number, number][] {
  const L = Math.min(size, out), half = Math.floor(L / 2);
  const list: [number, number][] = [];
  for (let k = -half; k <= half; k++) list.push([k, L % 2 === 0 && Math.abs(k) === half ? 0.5 : 1]);
  return list;
}

/** Spectral pooling of one [H, W] map to [h, w] by its definition, in float64. */
function spectralRef(x: ArrayLike<number>, H: number, W: number, h: number, w: number): number[] {
  const y: number[] = [];
  const ks1 = kept(H, h), ks2 = kept(W, w);
  // X[k1][k2] = mean of x e^{-2πi(k1 m1 / H + k2 m2 / W)}
  const X = ks1.map(([k1]) => ks2.map(([k2]) => {
    let re = 0, im = 0;
    for (let m1 = 0; m1 < H; m1++) for (let m2 = 0; m2 < W; m2++) {
      const a = -2 * Math.PI * (k1 * m1 / H + k2 * m2 / W);
      re += x[m1 * W + m2] * Math.cos(a);
      im += x[m1 * W + m2] * Math.sin(a);
    }
    return [re / (H * W), im / (H * W)];
  }));
  for (let n1 = 0; n1 < h; n1++) for (let n2 = 0; n2 < w; n2++) {
    let re = 0;
    ks1.forEach(([k1, w1], i) => ks2.forEach(([k2, w2], j) => {
      const a = 2 * Math.PI * (k1 * n1 / h + k2 * n2 / w);
      re += w1 * w2 * (X[i][j][0] * Math.cos(a) - X[i][j][1] * Math.sin(a));
    }));
    y.push(re);
  }
  return y;
}

describe('spectralPool2d', () => {
  it('matches the definition: odd and even crops, the same size (identity) and larger sizes (interpolation)', () => {
    const [N, C, H, W] = [2, 2, 8, 7];
    const { t, v } = randomTensor([N, C, H, W], 3);
    for (const [h, w] of [[5, 3], [4, 6], [2, 2], [1, 1], [8, 7], [10, 9], [3, 12]]) {
      const y = F.spectralPool2d(t, [h, w]);
      expect(y.shape).to.deep.equal([N, C, h, w]);
      const ref: number[] = [];
      for (let p = 0; p < N * C; p++) ref.push(...spectralRef(v.subarray(p * H * W, (p + 1) * H * W), H, W, h, w));
      expectClose(y.dataSync(), ref, 1e-5, 2e-6, `[${h}, ${w}]`);
    }
    expectClose(F.spectralPool2d(t, [H, W]).dataSync(), v, 0, 1e-6, 'identity');
  });

  it('keeps the mean and the frequencies it keeps: a constant stays, a slow wave is resampled exactly', () => {
    expectClose(F.spectralPool2d(cc.full([1, 1, 9, 6], 2.5), 3).dataSync(), new Array(9).fill(2.5), 1e-6, 1e-6, 'constant');
    // cos(2π m / 16) along W, sampled at 16 points, pooled to 6: cos(2π n / 6).
    const wave = Array.from({ length: 4 * 16 }, (_, i) => Math.cos(2 * Math.PI * (i % 16) / 16));
    const y = F.spectralPool2d(cc.tensor(wave, { shape: [1, 4, 16] }), [4, 6]).dataSync();
    expectClose(y, Array.from({ length: 24 }, (_, i) => Math.cos(2 * Math.PI * (i % 6) / 6)), 1e-5, 1e-6, 'wave');
    // A frequency above the kept band is gone: cos(2π 5 m / 16) pooled to 6 (band |k| <= 3) is 0.
    const fast = Array.from({ length: 16 }, (_, i) => Math.cos(2 * Math.PI * 5 * i / 16));
    expectClose(F.spectralPool2d(cc.tensor(fast, { shape: [1, 1, 16] }), [1, 6]).dataSync(), new Array(6).fill(0), 0, 1e-6, 'fast');
  });

  it('its gradient matches finite differences; rank 3 input; the module saves and prints', () => {
    tapeCheck('spectralPool2d', [{ shape: [2, 1, 6, 5] }], ([x]) => F.spectralPool2d(x, [4, 3]));
    tapeCheck('spectralPool2d up', [{ shape: [1, 3, 4] }], ([x]) => F.spectralPool2d(x, [5, 6]));
    const m = new nn.SpectralPool2d([3, 2]);
    const x = randomTensor([2, 5, 7], 4).t;
    expectClose(m.call(x).dataSync(), F.spectralPool2d(x, [3, 2]).dataSync(), 0, 0, 'module');
    expect(m.toString()).to.contain('SpectralPool2d(output_size=[3, 2])');
    expect(new nn.SpectralPool2d(4).call(randomTensor([1, 1, 8, 8], 5).t).shape).to.deep.equal([1, 1, 4, 4]);
  });

  it('an empty batch gives an empty output; a NaN spreads over its map only', () => {
    expect(F.spectralPool2d(cc.zeros([0, 2, 6, 6]), 3).shape).to.deep.equal([0, 2, 3, 3]);
    const x = cc.ones([1, 2, 4, 4]).mul(cc.tensor([NaN, 1]).reshape([1, 2, 1, 1]));
    const y = Array.from(F.spectralPool2d(x, 2).dataSync());
    expect(y.slice(0, 4).every(Number.isNaN)).to.equal(true);
    expectClose(y.slice(4), [1, 1, 1, 1], 1e-6, 1e-6, 'the other map');
  });

  it('refuses bad arguments by class and code', () => {
    expectError(() => F.spectralPool2d(cc.zeros([4, 4]), 2), 'E_SHAPE', /spectralPool2d: expected `x` of shape \[N, C, H, W\] or \[C, H, W\]/);
    expectError(() => F.spectralPool2d(cc.zeros([1, 4, 4], 'int32'), 2), 'E_DTYPE', /spectralPool2d: /);
    expectError(() => F.spectralPool2d(cc.zeros([1, 4, 4]), 0), 'E_ARG', /spectralPool2d: expected `outputSize`/);
    expectError(() => F.spectralPool2d(cc.zeros([1, 4, 4]), [2, 2, 2] as unknown as number), 'E_ARG', /spectralPool2d: /);
    expectError(() => F.spectralPool2d(cc.zeros([1, 4, 4]), [2 ** 25, 2]), 'E_ARG', /over 2\^26 entries/);
    expectError(() => new nn.SpectralPool2d(1.5), 'E_ARG', /SpectralPool2d: expected `outputSize`/);
  });
});

describeCuda('spectralPool2d on the GPU', () => {
  it('matches the CPU, with gradients', () => {
    compareDevices((x) => F.spectralPool2d(x, [5, 4]), [randomCpu([2, 3, 12, 9], 1)], { bound: 1e-5, grads: true, what: 'spectralPool2d' });
  });
});
