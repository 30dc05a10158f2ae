/**
 * F.unfold / F.fold (nn.Unfold / nn.Fold), PyTorch's im2col and col2im: against loops over the
 * definition in float64 (unfold's copies exact, fold's sums close), fold(unfold(x)) = x times the
 * blocks covering each pixel, gradients by finite differences, NaN and infinities, modules,
 * and errors by class and code.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { F, memory, nn, noGrad, tensor, tidy, zeros } from '../lib';
import { foldComposed, geometry, unfoldComposed } from '../lib/nn/functional/unfold';
import { native } from '../lib/native';
import { expectClose, expectError, randomTensor, settle, sizeOf, tapeCheck } from './helpers';

interface Geo { k: [number, number]; d: [number, number]; p: [number, number]; s: [number, number] }

const blocksOf = (H: number, W: number, g: Geo): [number, number] =>
  [0, 1].map((a) => Math.floor(([H, W][a] + 2 * g.p[a] - g.d[a] * (g.k[a] - 1) - 1) / g.s[a]) + 1) as [number, number];

/** unfold by its definition: out[n][c * kh * kw + i * kw + j][oh * bw + ow] = x at the tap, 0 in the padding. */
function unfoldRef(x: Float64Array, [N, C, H, W]: number[], g: Geo): Float64Array {
  const [bh, bw] = blocksOf(H, W, g), K = g.k[0] * g.k[1], L = bh * bw;
  const out = new Float64Array(N * C * K * L);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < g.k[0]; i++) for (let j = 0; j < g.k[1]; j++) {
    for (let oh = 0; oh < bh; oh++) for (let ow = 0; ow < bw; ow++) {
      const h = oh * g.s[0] + i * g.d[0] - g.p[0], w = ow * g.s[1] + j * g.d[1] - g.p[1];
      const v = h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w] : 0;
      out[((n * C + c) * K + i * g.k[1] + j) * L + oh * bw + ow] = v;
    }
  }
  return out;
}

/** fold by its definition: every column value added at its pixel (dropped in the padding). */
function foldRef(cols: Float64Array, N: number, C: number, H: number, W: number, g: Geo): Float64Array {
  const [bh, bw] = blocksOf(H, W, g), K = g.k[0] * g.k[1], L = bh * bw;
  const out = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < g.k[0]; i++) for (let j = 0; j < g.k[1]; j++) {
    for (let oh = 0; oh < bh; oh++) for (let ow = 0; ow < bw; ow++) {
      const h = oh * g.s[0] + i * g.d[0] - g.p[0], w = ow * g.s[1] + j * g.d[1] - g.p[1];
      if (h >= 0 && h < H && w >= 0 && w < W) out[((n * C + c) * H + h) * W + w] += cols[((n * C + c) * K + i * g.k[1] + j) * L + oh * bw + ow];
    }
  }
  return out;
}

const GEOMETRIES: { shape: number[]; g: Geo }[] = [
  { shape: [2, 3, 5, 6], g: { k: [3, 3], d: [1, 1], p: [1, 1], s: [1, 1] } },
  { shape: [1, 2, 7, 8], g: { k: [3, 2], d: [2, 1], p: [1, 2], s: [2, 1] } },
  { shape: [3, 1, 6, 6], g: { k: [2, 2], d: [1, 1], p: [0, 0], s: [2, 2] } },   // non-overlapping patches
  { shape: [1, 4, 4, 9], g: { k: [1, 4], d: [1, 2], p: [0, 3], s: [1, 3] } },
  // Rows long enough for the CPU kernel's vector paths (strides 2 and 4 along rows, dx by phases),
  // and planes enough to split over threads.
  { shape: [2, 5, 13, 37], g: { k: [3, 3], d: [1, 1], p: [1, 1], s: [2, 2] } },
  { shape: [1, 3, 11, 70], g: { k: [5, 4], d: [1, 2], p: [2, 3], s: [1, 4] } },
  { shape: [3, 8, 9, 40], g: { k: [2, 3], d: [3, 1], p: [4, 0], s: [3, 1] } },   // padding past the kernel: blocks of zeros
];

const opts = (g: Geo) => ({ dilation: g.d, padding: g.p, stride: g.s });

describe('F.unfold and F.fold', () => {
  for (const { shape, g } of GEOMETRIES) {
    const label = `${shape.join('x')}, kernel ${g.k.join('x')}, dilation ${g.d.join('x')}, padding ${g.p.join('x')}, stride ${g.s.join('x')}`;
    it(`unfold copies the definition's values exactly, fold sums them back (${label})`, () => {
      const { t: x, v } = randomTensor(shape, 7);
      const [N, C, H, W] = shape;
      const [bh, bw] = blocksOf(H, W, g), K = g.k[0] * g.k[1];
      const cols = F.unfold(x, g.k, opts(g));
      expect(cols.shape).to.deep.equal([N, C * K, bh * bw]);
      expect(Array.from(cols.dataSync())).to.deep.equal(Array.from(unfoldRef(v, shape, g)));
      // Unbatched: [C, H, W] -> [C * K, L], the first image's columns.
      const one = tidy(() => F.unfold(x.narrow(0, 0, 1).reshape(shape.slice(1)), g.k, opts(g)));
      expect(one.shape).to.deep.equal([C * K, bh * bw]);
      expect(Array.from(one.dataSync())).to.deep.equal(Array.from(cols.dataSync()).slice(0, C * K * bh * bw));
      // fold of arbitrary columns against the float64 sums.
      const { t: c2, v: cv } = randomTensor(cols.shape, 9);
      const back = F.fold(c2, [H, W], g.k, opts(g));
      expect(back.shape).to.deep.equal(shape);
      expectClose(back.dataSync(), foldRef(cv, N, C, H, W, g), 1e-6, 1e-6);
      // fold(unfold(x)) = x times the number of blocks covering each pixel.
      const count = foldRef(unfoldRef(new Float64Array(sizeOf(shape)).fill(1), shape, g), N, C, H, W, g);
      const round = tidy(() => F.fold(cols, [H, W], g.k, opts(g)));
      expectClose(round.dataSync(), Array.from(v, (a, i) => a * count[i]), 1e-6, 1e-6);
      for (const t of [x, cols, one, c2, back, round]) t.dispose();
    });
  }

  it('the CPU kernels give the bits of the GPU\'s composition (gather, indexAdd), at any thread count', () => {
    const threads = cc.getNumThreads();
    try {
      for (const { shape, g } of GEOMETRIES) {
        const [, , H, W] = shape;
        const geo = geometry('unfold', [H, W], g.k, opts(g));
        const { t: x } = randomTensor(shape, 11);
        const [bh, bw] = blocksOf(H, W, g);
        const { t: c } = randomTensor([shape[0], shape[1] * g.k[0] * g.k[1], bh * bw], 12);
        const want = tidy(() => [unfoldComposed(x, geo).dataSync(), foldComposed(c, geo, [H, W]).dataSync()]);
        for (const n of [1, 2, 3]) {
          cc.setNumThreads(n);
          const got = tidy(() => [F.unfold(x, g.k, opts(g)).dataSync(), F.fold(c, [H, W], g.k, opts(g)).dataSync()]);
          expect(Buffer.from(got[0].buffer).equals(Buffer.from(want[0].buffer)), `unfold ${shape} at ${n} threads`).to.equal(true);
          expect(Buffer.from(got[1].buffer).equals(Buffer.from(want[1].buffer)), `fold ${shape} at ${n} threads`).to.equal(true);
        }
        x.dispose(); c.dispose();
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('the CPU kernels\' own checks: typed errors for what lib/ would have refused', () => {
    const x = zeros([2, 4, 4]), cols = zeros([2, 4, 9]);
    const call = (fn: () => unknown) => () => tidy(() => { new cc.Tensor(fn() as never, [1], 'float32'); });
    expectError(call(() => native.unfold(x.handle(), [2, 2], [1, 1], [0, 0], [1, 1, 1])), 'E_ARG', /stride.*pair/);
    expectError(call(() => native.unfold(x.handle(), [0, 2], [1, 1], [0, 0], [1, 1])), 'E_ARG', /kernelSize/);
    expectError(call(() => native.unfold(x.handle(), [2, 2], [1, 1], [-1, 0], [1, 1])), 'E_ARG', /padding/);
    expectError(call(() => native.unfold(x.handle(), [5, 2], [1, 1], [0, 0], [1, 1])), 'E_SHAPE', /no 5x2 block/);
    expectError(call(() => native.unfold(cols.reshape([72]).handle(), [2, 2], [1, 1], [0, 0], [1, 1])), 'E_SHAPE', /\[planes, H, W\]/);
    expectError(call(() => native.fold(cols.handle(), [4, 4], [3, 3], [1, 1], [0, 0], [1, 1])), 'E_SHAPE', /do not match/);
    expectError(call(() => native.fold(cols.handle(), [0, 4], [2, 2], [1, 1], [0, 0], [1, 1])), 'E_ARG', /outputSize/);
    expectError(call(() => native.fold(cols.handle(), [2 ** 31 - 1, 2 ** 31 - 1], [1, 1], [1, 1], [2 ** 31 - 1, 2 ** 31 - 1], [1, 1])), 'E_OOM', /too many columns/);
    x.dispose(); cols.dispose();
  });

  it('gradients against finite differences: unfold\'s is fold, fold\'s is unfold', () => {
    for (const { shape, g } of GEOMETRIES.slice(0, 2)) {
      const [, , H, W] = shape;
      tapeCheck(`unfold ${shape}`, [{ shape }], ([x]) => F.unfold(x, g.k, opts(g)).square().sum());
      const [bh, bw] = blocksOf(H, W, g);
      tapeCheck(`fold ${shape}`, [{ shape: [shape[0], shape[1] * g.k[0] * g.k[1], bh * bw] }], ([c]) => F.fold(c, [H, W], g.k, opts(g)).square().sum());
    }
  });

  it('NaN and infinities are copied where they are, and summed by fold', () => {
    const x = tensor([1, NaN, Infinity, -Infinity], { shape: [1, 1, 2, 2] });
    const cols = F.unfold(x, [1, 2]);   // blocks [1, NaN] [Inf, -Inf]: row 0 the left taps, row 1 the right ones
    expect(Array.from(cols.dataSync())).to.deep.equal([1, Infinity, NaN, -Infinity]);
    // Blocks at columns 0 and 1 overlap at column 1: Infinity + -Infinity there.
    const summed = F.fold(tensor([1, Infinity, -Infinity, 2], { shape: [1, 2, 2] }), [1, 3], [1, 2]);
    expect(Array.from(summed.dataSync())).to.deep.equal([1, NaN, 2]);
    for (const t of [x, cols, summed]) t.dispose();
  });

  it('empty batches and channels give empty results, and empty gradients', () => {
    const x = cc.zeros([0, 2, 4, 4], { requiresGrad: true });
    const r = tidy(() => {
      const u = F.unfold(x, 2);
      u.sum().backward();
      return [u, F.unfold(zeros([1, 0, 4, 4]), 2), F.fold(zeros([0, 8, 9]), 4, 2), F.fold(zeros([1, 0, 9]), 4, 2)];
    });
    expect(r.map((t) => t.shape)).to.deep.equal([[0, 8, 9], [1, 0, 9], [0, 2, 4, 4], [1, 0, 4, 4]]);
    expect(x.grad!.shape).to.deep.equal([0, 2, 4, 4]);
    for (const t of [...r, x]) t.dispose();
  });

  it('nn.Unfold and nn.Fold: positional or option arguments, configs that rebuild them', () => {
    const x = randomTensor([2, 3, 6, 6], 3).t;
    const u = new nn.Unfold(3, 1, 1, 2), same = new nn.Unfold(3, { padding: 1, stride: 2 });
    const f = new nn.Fold([6, 6], 3, { padding: 1, stride: 2 });
    const [a, b, back] = noGrad(() => {
      const a = u.call(x), b = same.call(x);
      return [a, b, f.call(a)];
    });
    expect(a.shape).to.deep.equal([2, 27, 9]);
    expect(Array.from(a.dataSync())).to.deep.equal(Array.from(b.dataSync()));
    expect(back.shape).to.deep.equal([2, 3, 6, 6]);
    expect(u.config()).to.deep.equal([3, { dilation: 1, padding: 1, stride: 2 }]);
    expect(f.config()).to.deep.equal([[6, 6], 3, { padding: 1, stride: 2 }]);
    expect(String(f)).to.match(/Fold\(output_size=6,6, kernel_size=3/);
    for (const t of [x, a, b, back]) t.dispose();
  });

  it('leaves no tensor behind, and refuses bad input with typed errors', async () => {
    await settle();
    const before = memory().tensors;
    const x = zeros([1, 2, 4, 4]);
    tidy(() => { F.fold(F.unfold(x, 2), 4, 2); });
    expectError(() => F.unfold(zeros([4, 4]), 2), 'E_SHAPE', /\[N, C, H, W\]/);
    expectError(() => F.unfold(x, 5), 'E_SHAPE', /no 5x5 block/);
    expectError(() => F.unfold(x, 2, { dilation: 4 }), 'E_SHAPE', /no 2x2 block/);
    expectError(() => F.unfold(x, 0), 'E_ARG', /kernelSize/);
    expectError(() => F.unfold(x, 2, { stride: 0 }), 'E_ARG', /stride/);
    expectError(() => F.unfold(x, 2, { padding: -1 }), 'E_ARG', /padding/);
    expectError(() => F.unfold(x, 2, { strides: 1 } as never), 'E_ARG', /strides/);
    expectError(() => F.unfold(tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2], dtype: 'int32' }), 1), 'E_DTYPE');
    const cols = F.unfold(x, 2);   // [1, 8, 9]
    expectError(() => F.fold(cols, [4, 4], 3), 'E_SHAPE', /not a multiple of the kernel's 9 taps/);
    expectError(() => F.fold(cols, [5, 5], 2), 'E_SHAPE', /9 blocks.*16/);
    expectError(() => F.fold(cols, 4, 2, { stride: 2 }), 'E_SHAPE', /9 blocks.*2x2 = 4/);
    expectError(() => F.fold(x, 4, 2), 'E_SHAPE', /\[N, C \* kh \* kw, L\]/);
    expectError(() => F.fold(cols, [4] as never, 2), 'E_ARG', /outputSize/);
    expectError(() => new nn.Fold(4, 2, 1, 0, 1, 7 as never), 'E_ARG');
    cols.dispose(); x.dispose();
    await settle();
    expect(memory().tensors).to.equal(before);
  });
});
