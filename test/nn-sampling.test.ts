/**
 * F.pad and F.interpolate (lib/nn/functional/sampling.ts) against PyTorch's values (committed
 * fixtures, test/fixtures/make/sampling.py), their gradients by finite differences, the modules
 * nn.Pad2d and nn.Upsample, and typed errors; F.pixelShuffle / pixelUnshuffle against
 * torch.pixel_shuffle's definition.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, gradCheck, loadFixture, randomTensor, tapeCheck } from './helpers';

const { F, nn } = cc;

type Values = { shape: number[]; values: number[] };
type Case = { op: 'pad' | 'interpolate'; kwargs: Record<string, unknown>; x: Values; dy: Values; y: Values; dx: Values };

function run(c: Case, x: cc.Tensor): cc.Tensor {
  const k = c.kwargs as unknown as { pad: number[]; mode: string; value?: number; shape?: number[] } & cc.F.InterpolateOptions;
  if (c.op === 'pad') return F.pad(x, k.pad, k.mode as cc.F.PadMode, k.value ?? 0);
  const { shape: _shape, ...options } = k;   // "shape": x's, for the generator
  return F.interpolate(x, options);
}

/** A resize of [2, 5, 40, 37] to [97, 61] (or as `options` say) and its backward: the same bits at 1 and 2 threads. */
function expectSameBitsAnyThreads(mode: cc.F.InterpolateMode, options: cc.F.InterpolateOptions = { size: [97, 61] }): void {
  const { t: big } = randomTensor([2, 5, 40, 37], 99);
  const run = () => {
    const b = big.detach().requiresGrad_();
    const y = F.interpolate(b, { ...options, mode });
    y.backward(cc.onesLike(y));
    return [y.dataSync(), b.grad!.dataSync()];
  };
  const before = cc.getNumThreads();
  try {
    cc.setNumThreads(1);
    const one = run();
    cc.setNumThreads(2);
    run().forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(one[i].buffer)), `${mode} threads ${i}`).to.equal(true));
  } finally {
    cc.setNumThreads(before);
  }
}

describe('F.pad and F.interpolate', () => {
  it('agree with PyTorch, forward and the gradient of sum(y * dy) (committed fixtures)', () => {
    const { cases } = loadFixture<{ cases: Case[] }>('sampling');
    expect(cases.length).to.equal(30);
    for (const c of cases) {
      const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
      const x = cc.tensor(c.x.values, { shape: c.x.shape, requiresGrad: true });
      const y = run(c, x);
      expect(y.shape, what).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values, 1e-5, 1e-5, what);   // bicubic: four products summed in another order
      y.mul(cc.tensor(c.dy.values, { shape: c.dy.shape })).sum().backward();
      expectClose(x.grad!.dataSync(), c.dx.values, 1e-5, 1e-5, `${what} gradient`);
    }
  });

  // The CPU's bilinear resize is one native pass each way (native/cpu/upsample_bilinear.cc); the
  // GPU composes it from indexSelect, mul and sum (lib/nn/functional/interpolate.ts). Forward: the
  // composed form's bits (replayed here with the same ops on the CPU: PyTorch's float32 source
  // positions, an axis whose size stays copied); backward: the forward's adjoint, within float32.
  it('bilinear on the CPU: the composed form\'s bits forward, its adjoint backward, any thread count', () => {
    const shapes: [number[], { size?: [number, number]; scaleFactor?: number | [number, number]; alignCorners?: boolean }][] = [
      [[2, 3, 7, 5], { size: [16, 11] }], [[1, 2, 9, 13], { size: [4, 5], alignCorners: true }],
      [[2, 1, 6, 6], { scaleFactor: 2.5 }], [[1, 3, 8, 10], { scaleFactor: [0.75, 1.5], alignCorners: false }],
      [[3, 2, 5, 1], { size: [10, 3], alignCorners: true }], [[1, 1, 1, 1], { size: [3, 2] }], [[2, 2, 4, 3], { scaleFactor: 1.3 }],
    ];
    const f32 = Math.fround;
    const composed = (x: cc.Tensor<'float32'>, outSize: number[], scales: (number | null)[], align: boolean) => {
      let y = x;
      for (const axis of [2, 3]) {
        const n = x.shape[axis], m = outSize[axis - 2];
        if (n === m) continue;
        const scale = f32(align ? (m > 1 ? (n - 1) / (m - 1) : 0) : (scales[axis - 2] ?? n / m));
        const i0: number[] = [], i1: number[] = [], l0: number[] = [], l1: number[] = [];
        for (let j = 0; j < m; j++) {
          const src = align ? f32(j * scale) : Math.max(f32(f32(scale * (j + 0.5)) - 0.5), 0);
          const lo = Math.min(Math.floor(src), n - 1), frac = f32(src - lo);
          i0.push(lo); i1.push(lo < n - 1 ? lo + 1 : lo); l1.push(frac); l0.push(f32(1 - frac));
        }
        const w = (v: number[]) => cc.tensor(Float32Array.from(v)).reshape(axis === 2 ? [1, 1, m, 1] : [1, 1, 1, m]);
        const at = (v: number[]) => cc.tensor(Int32Array.from(v), { dtype: 'int32' }) as cc.Tensor<'int32'>;
        y = cc.add(cc.mul(cc.indexSelect(y, axis, at(i0)), w(l0)), cc.mul(cc.indexSelect(y, axis, at(i1)), w(l1)));
      }
      return y;
    };
    shapes.forEach(([shape, o], k) => {
      const { t: x } = randomTensor(shape, 70 + k, -3, 3);
      const y = F.interpolate(x, { ...o, mode: 'bilinear' });
      const outSize = [y.shape[2], y.shape[3]];
      const f = o.scaleFactor === undefined ? null : typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
      const want = composed(x, outSize, f ? f.map((v) => 1 / v) : [null, null], o.alignCorners ?? false);
      expect(Buffer.from(y.dataSync().buffer).equals(Buffer.from(want.dataSync().buffer)), `forward ${shape} ${JSON.stringify(o)}`).to.equal(true);
      // <A x, d> = <x, A^T d>: the backward is the forward's transpose
      const { t: d, v: dv } = randomTensor(y.shape, 90 + k);
      const xg = x.detach().requiresGrad_();
      F.interpolate(xg, { ...o, mode: 'bilinear' }).backward(d);
      const yv = y.dataSync(), xv = x.dataSync(), gv = xg.grad!.dataSync();
      let lhs = 0, rhs = 0;
      yv.forEach((v, i) => { lhs += v * dv[i]; });
      xv.forEach((v, i) => { rhs += v * gv[i]; });
      expect(Math.abs(lhs - rhs), `adjoint ${shape}`).to.be.below(1e-4 * (1 + Math.abs(lhs)));
    });
    expectSameBitsAnyThreads('bilinear');
  });

  // Nearest on the CPU is one native pass each way too (native/cpu/upsample_nearest.cc): the
  // composed form's (two indexSelects, as on the GPU) bits both ways, and any thread count.
  it('nearest on the CPU: the composed form\'s bits forward and backward, any thread count', () => {
    const shapes: [number[], { size?: [number, number]; scaleFactor?: number | [number, number] }][] = [
      [[2, 3, 7, 5], { size: [16, 11] }], [[1, 2, 9, 13], { size: [4, 5] }], [[2, 1, 6, 6], { scaleFactor: 2.5 }],
      [[1, 3, 8, 10], { scaleFactor: [0.75, 1.5] }], [[3, 2, 5, 1], { size: [10, 3] }], [[1, 1, 1, 1], { size: [3, 2] }],
      [[2, 2, 3, 7], { scaleFactor: 1.3 }], [[1, 2, 27, 59], { size: [49, 118] }],
    ];
    const bits = (t: cc.Tensor) => Buffer.from(t.dataSync().buffer);
    shapes.forEach(([shape, o], k) => {
      const { t: x } = randomTensor(shape, 170 + k, -3, 3);
      const xg = x.detach().requiresGrad_(), xc = x.detach().requiresGrad_();
      const y = F.interpolate(xg, { ...o, mode: 'nearest' });
      const f = o.scaleFactor === undefined ? null : typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
      let want: cc.Tensor = xc;
      for (const axis of [2, 3]) {
        // PyTorch's float32 positions (in float64, 110 of the sizes n < 60, m < 130 pick another row somewhere).
        const n = x.shape[axis], m = y.shape[axis], scale = Math.fround(f ? 1 / f[axis - 2] : n / m);
        const at = Int32Array.from({ length: m }, (_, j) => Math.min(Math.floor(Math.fround(j * scale)), n - 1));
        want = cc.indexSelect(want, axis, cc.tensor(at, { dtype: 'int32' }) as cc.Tensor<'int32'>);
      }
      expect(bits(y).equals(bits(want)), `forward ${shape} ${JSON.stringify(o)}`).to.equal(true);
      const { t: d } = randomTensor(y.shape, 190 + k);
      y.backward(d);
      want.backward(d);
      expect(bits(xg.grad!).equals(bits(xc.grad!)), `backward ${shape} ${JSON.stringify(o)}`).to.equal(true);
    });
    expectSameBitsAnyThreads('nearest');
  });

  it('gradients against finite differences (pad modes, bilinear both alignments)', () => {
    const values = Float64Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i * 1.3) * 2);
    const input = [{ shape: [1, 2, 3, 4], values }];
    for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
      tapeCheck(`pad ${mode}`, input, ([t]) => F.pad(t, [2, 1, 1, 2], mode));
    }
    tapeCheck('interpolate bilinear', input, ([t]) => F.interpolate(t, { size: [5, 7], mode: 'bilinear' }));
    tapeCheck('interpolate bilinear alignCorners', input, ([t]) => F.interpolate(t, { size: [2, 9], mode: 'bilinear', alignCorners: true }));
    tapeCheck('interpolate nearest', input, ([t]) => F.interpolate(t, { scaleFactor: 2 }));
    // The composed modes (taps gathered, weighted and summed along each axis).
    const big = [{ shape: [1, 2, 5, 6], values: Float64Array.from({ length: 60 }, (_, i) => Math.sin(i * 0.7) * 2) }];
    for (const alignCorners of [false, true]) tapeCheck(`bicubic align ${alignCorners}`, big, ([t]) => F.interpolate(t, { size: [7, 4], mode: 'bicubic', alignCorners }));
    tapeCheck('nearest-exact', big, ([t]) => F.interpolate(t, { size: [3, 9], mode: 'nearest-exact' }));
    tapeCheck('area', big, ([t]) => F.interpolate(t, { size: [3, 4], mode: 'area' }));
    tapeCheck('bilinear antialias', big, ([t]) => F.interpolate(t, { size: [2, 3], mode: 'bilinear', antialias: true }));
    tapeCheck('bicubic antialias', big, ([t]) => F.interpolate(t, { size: [3, 8], mode: 'bicubic', antialias: true }));
    const line = [{ shape: [2, 1, 5], values: Float64Array.from({ length: 10 }, (_, i) => Math.cos(i * 1.1)) }];
    tapeCheck('linear', line, ([t]) => F.interpolate(t, { size: 8, mode: 'linear' }));
    tapeCheck('linear 1-D nearest', line, ([t]) => F.interpolate(t, { scaleFactor: 1.3 }));
    const cube = [{ shape: [1, 1, 2, 3, 4], values: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i * 2.1)) }];
    tapeCheck('trilinear', cube, ([t]) => F.interpolate(t, { size: [3, 2, 5], mode: 'trilinear', alignCorners: true }));
    tapeCheck('3-D area', cube, ([t]) => F.interpolate(t, { size: [1, 2, 3], mode: 'area' }));
  });

  // The other modes resample each axis in one native pass on the CPU (native/cpu/resample_axis.cc):
  // separable (the product of the axes' matrices), its backward their transpose, no bits moved by threads.
  it('the taps\' native pass on the CPU: separable both ways, any thread count', () => {
    const x = randomTensor([2, 3, 9, 11], 7, -2, 2).t;
    const d = randomTensor([2, 3, 13, 6], 8).t;
    for (const options of [{ size: [13, 6], mode: 'bicubic' }, { size: [13, 6], mode: 'area' }, { size: [13, 6], mode: 'bilinear', antialias: true }] as cc.F.InterpolateOptions[]) {
      const native = x.detach().requiresGrad_();
      const y = F.interpolate(native, options);
      y.backward(d);
      // Each axis's resize as a matrix (its response to an impulse at each input position: the
      // identity's channels as column or row images), then y = R^T x C per plane, dx = R dy C^T.
      const [ho, wo] = options.size as number[];
      const R = F.interpolate(cc.eye(9).reshape([1, 9, 9, 1]), { ...options, size: [ho, 1] }).reshape([9, ho]);
      const C = F.interpolate(cc.eye(11).reshape([1, 11, 1, 11]), { ...options, size: [1, wo] }).reshape([11, wo]);
      const want = cc.matmul(cc.matmul(cc.transpose(R), x.reshape([6, 9, 11])), C);   // y = R^T x C per plane
      expectClose(y.reshape([6, 13, 6]).dataSync(), want.dataSync(), 1e-5, 1e-5, `${options.mode} forward`);
      const wantDx = cc.matmul(cc.matmul(R, d.reshape([6, 13, 6])), cc.transpose(C));
      expectClose(native.grad!.reshape([6, 9, 11]).dataSync(), wantDx.dataSync(), 1e-5, 1e-5, `${options.mode} backward`);
    }
    expectSameBitsAnyThreads('bicubic', { size: [97, 61] });
    expectSameBitsAnyThreads('area', { size: [17, 29] });
  });

  // A float64 reference written from the definitions (PyTorch's, in float64): each axis's m x n
  // resampling matrix, applied along H then W.
  function axisMatrix(mode: string, n: number, m: number, align: boolean, antialias: boolean): number[][] {
    const R = Array.from({ length: m }, () => new Array<number>(n).fill(0));
    const step = align ? (m > 1 ? (n - 1) / (m - 1) : 0) : n / m;
    const clampI = (i: number) => Math.min(Math.max(i, 0), n - 1);
    for (let j = 0; j < m; j++) {
      if (antialias) {   // PIL's filters: triangle (support 1) or cubic a = -0.5 (support 2), widened by the step, normalized
        const cubic = mode === 'bicubic', size = cubic ? 4 : 2, support = (step >= 1 ? step : 1) * size / 2, inv = step >= 1 ? 1 / step : 1;
        const f = (x: number) => { const u = Math.abs(x); return !cubic ? Math.max(0, 1 - u) : u < 1 ? (1.5 * u - 2.5) * u * u + 1 : u < 2 ? (((u - 5) * u + 8) * u - 4) * -0.5 : 0; };
        const c = step * (j + 0.5), lo = Math.max(Math.trunc(c - support + 0.5), 0), hi = Math.min(Math.trunc(c + support + 0.5), n);
        let total = 0;
        for (let i = lo; i < hi; i++) total += f((i - c + 0.5) * inv);
        for (let i = lo; i < hi; i++) R[j][i] += f((i - c + 0.5) * inv) / total;
      } else if (mode === 'area') {
        const a = Math.floor((j * n) / m), b = Math.ceil(((j + 1) * n) / m);
        for (let i = a; i < b; i++) R[j][i] = 1 / (b - a);
      } else if (mode === 'nearest-exact') {
        R[j][Math.min(Math.floor((j + 0.5) * step), n - 1)] = 1;
      } else if (mode === 'bicubic') {   // Keys, A = -0.75, the four neighbours clamped to the border
        const s = align ? j * step : step * (j + 0.5) - 0.5, i0 = Math.floor(s), t = s - i0, A = -0.75;
        const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1, far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
        [far(t + 1), near(t), near(1 - t), far(2 - t)].forEach((w, k) => { R[j][clampI(i0 - 1 + k)] += w; });
      } else {   // linear
        const s = n === m ? j : align ? j * step : Math.max(step * (j + 0.5) - 0.5, 0), i0 = Math.min(Math.floor(s), n - 1), t = s - i0;
        R[j][i0] += 1 - t;
        R[j][Math.min(i0 + 1, n - 1)] += t;
      }
    }
    return R;
  }

  it('every mode against a float64 reference from the definitions (separable: each axis\'s matrix)', () => {
    const [C, H, W] = [2, 5, 7];
    const { t: x, v } = randomTensor([1, C, H, W], 31, -2, 2);
    const cases: [string, number, number, boolean, boolean][] = [
      ['bicubic', 8, 4, false, false], ['bicubic', 3, 11, true, false], ['area', 3, 2, false, false], ['area', 4, 7, false, false],
      ['nearest-exact', 9, 3, false, false], ['bilinear', 3, 4, false, true], ['bicubic', 2, 5, false, true], ['bicubic', 9, 12, false, true],
    ];
    for (const [mode, ho, wo, align, antialias] of cases) {
      const Rh = axisMatrix(mode, H, ho, align, antialias), Rw = axisMatrix(mode, W, wo, align, antialias);
      const want: number[] = [];
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < ho; i++) {
          for (let j = 0; j < wo; j++) {
            let acc = 0;
            for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) acc += Rh[i][h] * Rw[j][w] * v[(c * H + h) * W + w];
            want.push(acc);
          }
        }
      }
      const options = { size: [ho, wo], mode, ...(mode === 'bicubic' || mode === 'bilinear' ? { alignCorners: align } : {}), ...(antialias ? { antialias } : {}) } as cc.F.InterpolateOptions;
      expectClose(F.interpolate(x, options).dataSync(), want, 1e-5, 1e-5, JSON.stringify(options));
    }
    // 'linear' and 'trilinear' along their axes, and a 3-D 'area'.
    const { t: line, v: lv } = randomTensor([1, 1, 6], 32, -2, 2);
    const R = axisMatrix('linear', 6, 10, false, false);
    expectClose(F.interpolate(line, { size: 10, mode: 'linear' }).dataSync(), R.map((r) => r.reduce((a, w, i) => a + w * lv[i], 0)), 1e-5, 1e-6, 'linear');
    const { t: cube, v: cv } = randomTensor([1, 1, 2, 3, 4], 33, -2, 2);
    const [Rd, Rh, Rw] = [axisMatrix('linear', 2, 3, true, false), axisMatrix('linear', 3, 2, true, false), axisMatrix('linear', 4, 5, true, false)];
    const tri: number[] = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 5; c++) {
      let acc = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) acc += Rd[a][i] * Rh[b][j] * Rw[c][k] * cv[(i * 3 + j) * 4 + k];
      tri.push(acc);
    }
    expectClose(F.interpolate(cube, { size: [3, 2, 5], mode: 'trilinear', alignCorners: true }).dataSync(), tri, 1e-5, 1e-6, 'trilinear');
  });

  it('the modes on simple inputs: bicubic keeps constants and mirrors, area averages, antialias low-passes', () => {
    // Cubic convolution's four weights sum to 1; with alignCorners, reversing x reverses y.
    expectClose(F.interpolate(cc.full([1, 1, 3, 5], 2.5), { size: [7, 4], mode: 'bicubic' }).dataSync(), new Array(28).fill(2.5), 1e-6, 0, 'constant');
    const ramp = cc.tensor([0, 1, 4, 9, 16, 25, 36, 49], { shape: [1, 1, 1, 8] });
    const up = Array.from(F.interpolate(ramp, { size: [1, 15], mode: 'bicubic', alignCorners: true }).dataSync());
    const down = Array.from(F.interpolate(cc.flip(ramp, [3]), { size: [1, 15], mode: 'bicubic', alignCorners: true }).dataSync());
    expectClose(down, up.reverse(), 1e-5, 1e-5, 'mirror');
    // area: the mean of each 2 x 3 block (adaptive average pooling).
    const x = cc.arange(0, 24).float().reshape([1, 1, 4, 6]);
    expectClose(F.interpolate(x, { size: [2, 2], mode: 'area' }).dataSync(), [(0 + 1 + 2 + 6 + 7 + 8) / 6, (3 + 4 + 5 + 9 + 10 + 11) / 6, (12 + 13 + 14 + 18 + 19 + 20) / 6, (15 + 16 + 17 + 21 + 22 + 23) / 6], 1e-6, 0, 'area');
    expect(F.interpolate(cc.zeros([1, 2, 3]), { scaleFactor: 0.3, mode: 'area' }).shape).to.deep.equal([1, 2, 0]);
    // An alternating pattern halved: plain bilinear picks up the aliasing, antialias averages it away.
    const stripes = cc.tensor(Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1)), { shape: [1, 1, 1, 16] });
    const plain = F.interpolate(stripes, { size: [1, 4], mode: 'bilinear' }).dataSync();
    const smooth = F.interpolate(stripes, { size: [1, 4], mode: 'bilinear', antialias: true }).dataSync();
    expect(Math.max(...Array.from(smooth, Math.abs))).to.be.below(0.2);
    expect(Math.max(...Array.from(plain, Math.abs))).to.equal(0);   // exactly between pairs: (1 - 1) / 2
    // nearest-exact picks the input pixel under each output centre (4 -> 3: floor((j + 1/2) 4/3) = 0, 2, 3); nearest floors j * 4 / 3.
    const col = cc.arange(0, 4).float().reshape([1, 1, 4]);
    expect(Array.from(F.interpolate(col, { size: 3, mode: 'nearest-exact' }).dataSync())).to.deep.equal([0, 2, 3]);
    expect(Array.from(F.interpolate(col, { size: 3 }).dataSync())).to.deep.equal([0, 1, 2]);
  });

  it('pad: any number of trailing dimensions, int32 kept, crops with negative amounts', () => {
    const x = cc.tensor([[1, 2, 3]], { dtype: 'int32' });
    expect(F.pad(x, [1, 2], 'reflect').tolist()).to.deep.equal([[2, 1, 2, 3, 2, 1]]);
    expect(F.pad(x, [0, 0, 1, 0], 'constant', 7).tolist()).to.deep.equal([[7, 7, 7], [1, 2, 3]]);
    expect(F.pad(cc.tensor([1, 2, 3, 4]), [-1, -2]).tolist()).to.deep.equal([2]);
    expect(F.pad(cc.tensor([1, 2, 3]), [3, 3], 'circular').tolist()).to.deep.equal([1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('refuse bad arguments with typed errors', () => {
    const x = cc.zeros([1, 1, 3, 3]);
    expectError(() => F.pad(x, [1]), 'E_ARG', /pairs/);
    expectError(() => F.pad(x, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 'E_ARG', /at most 4 dimensions/);
    expectError(() => F.pad(x, [1.5, 1]), 'E_ARG');
    expectError(() => F.pad(x, [1, 1], 'mirror' as cc.F.PadMode), 'E_ARG', /mode/);
    expectError(() => F.pad(x, [3, 0], 'reflect'), 'E_SHAPE', /below the size 3/);
    expectError(() => F.pad(x, [4, 0], 'circular'), 'E_SHAPE', /at most the size 3/);
    expectError(() => F.pad(x, [-1, 0], 'replicate'), 'E_ARG', /crop in mode 'constant' only/);
    expectError(() => F.pad(x, [-2, -2]), 'E_SHAPE', /leaves nothing/);
    expectError(() => F.pad(x, [1, 1], 'reflect', 2), 'E_ARG', /value/);
    expectError(() => F.interpolate(x, {}), 'E_ARG', /exactly one of/);
    expectError(() => F.interpolate(x, { size: 4, scaleFactor: 2 }), 'E_ARG', /exactly one of/);
    expectError(() => F.interpolate(x, { size: [0, 4] }), 'E_ARG', /size/);
    expectError(() => F.interpolate(x, { scaleFactor: 0.1 }), 'E_ARG', /gives the size/);
    expectError(() => F.interpolate(x, { size: 4, mode: 'lanczos' as 'bilinear' }), 'E_ARG', /mode/);
    expectError(() => F.interpolate(x, { size: 4, alignCorners: true }), 'E_ARG', /goes with the interpolating modes only/);
    expectError(() => F.interpolate(x, { size: 4, mode: 'area', alignCorners: false }), 'E_ARG', /interpolating modes only/);
    expectError(() => F.interpolate(x, { size: 4, mode: 'nearest', antialias: true }), 'E_ARG', /antialias/);
    expectError(() => F.interpolate(x, { size: 4, recomputeScaleFactor: true }), 'E_ARG', /recomputeScaleFactor/);
    expectError(() => F.interpolate(x, { size: [4, 4, 4] }), 'E_ARG', /of 2 value/);
    expectError(() => F.interpolate(x, { size: [4, 4, 4, 4] }), 'E_ARG', /one to three/);
    expectError(() => F.interpolate(x, { size: 4, mode: 'linear' }), 'E_SHAPE', /'linear' needs a 3-D x/);
    expectError(() => F.interpolate(cc.zeros([1, 1, 3]), { size: 4, mode: 'bicubic' }), 'E_SHAPE', /needs a 4-D x/);
    expectError(() => F.interpolate(cc.zeros([1, 1, 3, 3, 3]), { size: 4, mode: 'bilinear' }), 'E_SHAPE', /needs a 4-D x/);
    expectError(() => F.interpolate(x, { size: 4, sizes: 3 } as never), 'E_ARG');
    expectError(() => F.interpolate(cc.zeros([3, 3]), { size: 4 }), 'E_SHAPE', /\[N, C, H, W\]/);
    expectError(() => F.interpolate(cc.zeros([1, 1, 1, 1, 1, 1]), { size: 4 }), 'E_SHAPE', /\[N, C, D, H, W\]/);
    expectError(() => F.interpolate(cc.zeros([1, 1, 2, 2], 'int32'), { size: 4 }), 'E_DTYPE');
    // Empty inputs: constant padding of an empty axis fills it; the other modes and resizing refuse.
    expect(F.pad(cc.zeros([2, 0]), [1, 1], 'constant', 3).tolist()).to.deep.equal([[3, 3], [3, 3]]);
    expectError(() => F.pad(cc.zeros([2, 0]), [1, 1], 'replicate'), 'E_SHAPE', /empty dimension/);
    expectError(() => F.interpolate(cc.zeros([1, 1, 0, 3]), { size: 2 }), 'E_SHAPE', /empty input/);
    // NaN passes through as a value (nearest copies it; bilinear spreads it to its neighbours).
    const withNaN = F.interpolate(cc.tensor([NaN, 1, 2, 3], { shape: [1, 1, 2, 2] }), { scaleFactor: 2 }).dataSync();
    expect(Array.from(withNaN).filter(Number.isNaN).length).to.equal(4);
  });

  it('nn.Upsample and nn.Pad2d: the functions as modules, checked when built (io.test.ts saves and loads them)', () => {
    const x = cc.randn([2, 3, 4, 5]);
    const up = new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' });
    expect(Array.from(up.call(x).dataSync())).to.deep.equal(Array.from(F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' }).dataSync()));
    expect(String(up)).to.match(/Upsample\(scaleFactor=2, mode='bilinear'\)/);
    expect(String(new nn.Upsample({ size: [4, 4], mode: 'bicubic', antialias: true }))).to.match(/Upsample\(size=\[4,4\], mode='bicubic', antialias=true\)/);
    expect(new nn.Upsample({ scaleFactor: 2, mode: 'trilinear' }).call(cc.zeros([1, 1, 2, 2, 2])).shape).to.deep.equal([1, 1, 4, 4, 4]);
    expectError(() => new nn.Upsample({ size: 2, mode: 'area', antialias: true }), 'E_ARG', /antialias/);
    // PyTorch's older names: bilinear with the corners aligned, and nearest.
    const z = cc.randn([1, 2, 3, 4]);
    expect(Array.from(new nn.UpsamplingBilinear2d({ scaleFactor: 2 }).call(z).dataSync())).to.deep.equal(Array.from(F.interpolate(z, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }).dataSync()));
    expect(Array.from(new nn.UpsamplingNearest2d({ size: [5, 7] }).call(z).dataSync())).to.deep.equal(Array.from(F.interpolate(z, { size: [5, 7] }).dataSync()));
    expect(String(new nn.UpsamplingBilinear2d({ scaleFactor: 2 }))).to.match(/^UpsamplingBilinear2d\(scaleFactor=2, mode='bilinear', alignCorners=true\)/);
    expectError(() => new nn.UpsamplingBilinear2d({ scaleFactor: 2, mode: 'nearest' } as never), 'E_ARG', /unknown option/);
    const p = new nn.Pad2d([1, 2, 0, 1], { mode: 'replicate' });
    expect(p.call(x).shape).to.deep.equal([2, 3, 5, 8]);
    expectError(() => new nn.Upsample({ mode: 'nearest' }), 'E_ARG', /exactly one of/);
    expectError(() => new nn.Pad2d(1, { mode: 'wrap' as cc.F.PadMode }), 'E_ARG', /mode/);
    expectError(() => new nn.Pad2d([1, 2] as never), 'E_ARG', /padding/);
    const model = new nn.Sequential(new nn.Pad2d(1, { mode: 'reflect' }), new nn.Conv2d(3, 4, 3), new nn.Upsample({ size: [8, 10] }));
    expect(model.call(x).shape).to.deep.equal([2, 4, 8, 10]);
  });
});

describe('F.pixelShuffle and F.pixelUnshuffle', () => {
  // torch.pixel_shuffle's definition: out[..., c, h * r + i, w * r + j] = x[..., c * r^2 + i * r + j, h, w]
  function shuffleRef(x: ArrayLike<number>, shape: number[], r: number): number[] {
    const [C, H, W] = shape.slice(-3), lead = shape.slice(0, -3).reduce((a, b) => a * b, 1), c = C / (r * r);
    const out = new Array<number>(x.length);
    for (let n = 0; n < lead; n++) {
      for (let ch = 0; ch < c; ch++) {
        for (let h = 0; h < H * r; h++) {
          for (let w = 0; w < W * r; w++) {
            const src = ((n * C + ch * r * r + (h % r) * r + (w % r)) * H + Math.floor(h / r)) * W + Math.floor(w / r);
            out[((n * c + ch) * H * r + h) * W * r + w] = x[src];
          }
        }
      }
    }
    return out;
  }

  it('move each channel group\'s values into r x r pixel blocks and back, any leading axes, int32 too', () => {
    for (const [shape, r] of [[[2, 12, 3, 4], 2], [[8, 2, 2], 2], [[2, 1, 18, 2, 3], 3], [[1, 5, 3, 3], 1]] as const) {
      const x = cc.randn([...shape]);
      const y = F.pixelShuffle(x, r);
      const [C, H, W] = shape.slice(-3);
      expect(y.shape).to.deep.equal([...shape.slice(0, -3), C / (r * r), H * r, W * r]);
      expect(Array.from(y.dataSync()), JSON.stringify(shape)).to.deep.equal(shuffleRef(x.dataSync(), [...shape], r));
      expect(Array.from(F.pixelUnshuffle(y, r).dataSync()), 'unshuffle undoes it').to.deep.equal(Array.from(x.dataSync()));
    }
    const ints = cc.arange(0, 16, 1, 'int32').reshape([1, 4, 2, 2]);
    const shuffled = F.pixelShuffle(ints, 2);
    expect(shuffled.dtype).to.equal('int32');
    expect(Array.from(shuffled.dataSync())).to.deep.equal([0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15]);
  });

  it('pass the gradient back through the same permutation (tape), as modules too', () => {
    const x = cc.randn([2, 8, 3, 2]).requiresGrad_();
    const dy = cc.randn([2, 2, 6, 4]);
    F.pixelShuffle(x, 2).backward(dy);
    expect(Array.from(x.grad!.dataSync())).to.deep.equal(Array.from(F.pixelUnshuffle(dy, 2).dataSync()));
    const z = cc.randn([1, 3, 4, 6]);
    expect(Array.from(new nn.PixelUnshuffle(2).call(z).dataSync())).to.deep.equal(Array.from(F.pixelUnshuffle(z, 2).dataSync()));
    expect(String(new nn.Sequential(new nn.Conv2d(3, 12, 3, { padding: 1 }), new nn.PixelShuffle(2)))).to.match(/PixelShuffle\(upscale_factor=2\)/);
    for (const [f, shape] of [[F.pixelShuffle, [2, 8, 3, 2]], [F.pixelUnshuffle, [1, 2, 4, 6]]] as const) {
      gradCheck({
        what: f.name, inputs: [{ shape: [...shape], values: Float64Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, (_, i) => Math.sin(i)) }],
        forward: ([t]) => f(t, 2), backward: (dy, [t]) => { const v = t.detach().requiresGrad_(); f(v, 2).backward(dy); return [v.grad]; },
      });
    }
    // empty batches keep their shape; NaN is carried like any value
    expect(F.pixelShuffle(cc.zeros([0, 8, 2, 3]), 2).shape).to.deep.equal([0, 2, 4, 6]);
    expect(F.pixelUnshuffle(cc.zeros([0, 1, 4, 2]), 2).shape).to.deep.equal([0, 4, 2, 1]);
    expect(Number.isNaN(F.pixelShuffle(cc.full([1, 4, 1, 1], NaN), 2).dataSync()[3])).to.equal(true);
  });

  it('refuse bad arguments with typed errors', () => {
    expectError(() => F.pixelShuffle(cc.ones([1, 6, 2, 2]), 2), 'E_SHAPE', /6 channels .* not divisible by upscaleFactor\^2 = 4/);
    expectError(() => F.pixelShuffle(cc.ones([4, 2]), 2), 'E_SHAPE', /\[\.\.\., C, H, W\]/);
    expectError(() => F.pixelShuffle(cc.ones([1, 4, 2, 2]), 0), 'E_ARG', /upscaleFactor/);
    expectError(() => F.pixelShuffle(cc.ones([1, 4, 2, 2]), 1.5), 'E_ARG', /upscaleFactor/);
    expectError(() => F.pixelUnshuffle(cc.ones([1, 1, 3, 4]), 2), 'E_SHAPE', /3x4 .* not divisible by downscaleFactor 2/);
    expectError(() => F.pixelUnshuffle('x' as never, 2), 'E_ARG');
    expectError(() => new nn.PixelShuffle(-1), 'E_ARG', /upscaleFactor/);
    expectError(() => new nn.PixelUnshuffle(NaN), 'E_ARG', /downscaleFactor/);
  });
});

describeCuda('F.pad and F.interpolate on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([2, 3, 5, 6], 11);
    for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
      compareDevices((t) => F.pad(t, [2, 1, 1, 3], mode), [x], { grads: true, what: `pad ${mode}` });
    }
    compareDevices((t) => F.interpolate(t, { size: [9, 13], mode: 'bilinear' }), [x], { grads: true, what: 'bilinear' });
    compareDevices((t) => F.interpolate(t, { scaleFactor: 2 }), [x], { grads: true, what: 'nearest' });
    compareDevices((t) => F.interpolate(t, { scaleFactor: 1.3 }), [x], { grads: true, what: 'nearest 1.3' });
    compareDevices((t) => F.interpolate(t, { size: [4, 8], mode: 'bilinear', antialias: true }), [x], { grads: true, what: 'bilinear antialias' });
    compareDevices((t) => F.interpolate(t, { size: [8, 3], mode: 'bicubic' }), [x], { grads: true, what: 'bicubic' });
    compareDevices((t) => F.interpolate(t, { size: [3, 4], mode: 'area' }), [x], { grads: true, what: 'area' });
    compareDevices((t) => F.interpolate(t, { size: 9, mode: 'linear' }), [randomCpu([2, 3, 5], 14)], { grads: true, what: 'linear' });
    compareDevices((t) => F.pixelShuffle(t, 2), [randomCpu([2, 8, 3, 5], 12)], { bound: 0, gradBound: 0, grads: true, what: 'pixelShuffle' });
    compareDevices((t) => F.pixelUnshuffle(t, 3), [randomCpu([1, 2, 6, 9], 13)], { bound: 0, gradBound: 0, grads: true, what: 'pixelUnshuffle' });
  });
});

describe('nn.Conv2d paddingMode', () => {
  type ConvCase = {
    mode: 'reflect' | 'replicate' | 'circular'; padding: [number, number] | 'same'; kernel: [number, number]; dilation: [number, number];
    w: Values; b: Values; x: Values; dy: Values; y: Values; dx: Values; dw: Values; repr: string;
  };
  it('pads with reflect, replicate or circular values before convolving, as PyTorch (committed fixtures)', () => {
    const { cases } = loadFixture<{ cases: ConvCase[] }>('conv_padding_mode');
    expect(cases.length).to.equal(3);
    for (const c of cases) {
      const conv = new nn.Conv2d(2, 3, c.kernel, { padding: c.padding, dilation: c.dilation, paddingMode: c.mode });
      conv.loadStateDict({ weight: cc.tensor(c.w.values, { shape: c.w.shape }), bias: cc.tensor(c.b.values, { shape: c.b.shape }) });
      const x = cc.tensor(c.x.values, { shape: c.x.shape, requiresGrad: true });
      const y = conv.call(x);
      expect(y.shape, c.repr).to.deep.equal(c.y.shape);
      expectClose(y.dataSync(), c.y.values, 1e-5, 1e-6, c.repr);
      y.mul(cc.tensor(c.dy.values, { shape: c.dy.shape })).sum().backward();
      expectClose(x.grad!.dataSync(), c.dx.values, 1e-5, 1e-5, `${c.repr} dx`);
      expectClose(conv.weight.grad!.dataSync(), c.dw.values, 1e-5, 1e-5, `${c.repr} dw`);
      expect(String(conv)).to.contain(`padding_mode=${c.mode}`);
    }
    expect(String(new nn.Conv2d(1, 1, 3))).to.not.contain('padding_mode');
    // Saved and loaded with its mode (models.save writes the constructor's arguments).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-padmode-'));
    const conv = new nn.Conv2d(2, 3, 3, { padding: 2, paddingMode: 'circular' });
    cc.models.save(conv, path.join(dir, 'conv'));
    const back = cc.models.load(path.join(dir, 'conv')) as cc.nn.Conv2d;
    expect(back.paddingMode).to.equal('circular');
    const x = cc.randn([1, 2, 5, 5]);
    expect(Array.from(back.call(x).dataSync())).to.deep.equal(Array.from(conv.call(x).dataSync()));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(new nn.Conv2d(1, 2, 3, 1, 1, 1, 1, true, 'reflect').paddingMode).to.equal('reflect');
    expectError(() => new nn.Conv2d(1, 1, 3, { paddingMode: 'mirror' as 'reflect' }), 'E_ARG', /paddingMode/);
  });
});
