/**
 * Two more of the survey's tools: the randomized leaky ReLU (F.rrelu, nn.RReLU; Xu et al. 2015)
 * and spatial pyramid pooling (F.spatialPyramidPool2d, nn.SpatialPyramidPool2d; He et al.
 * 2014). Values against float64 references, gradients against finite differences (training
 * RReLU reseeded before each forward, so that every difference sees the same slopes), the
 * slopes' range and seeding, modules, saving, the GPU beside the CPU, and the errors.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectClose, expectError, gradCheck, randomTensor } from './helpers';

const { F, nn } = cc;

/** Values away from 0 (the kink), both signs. */
function awayFromZero(shape: number[], seed: number): { t: cc.Tensor<'float32'>; v: Float64Array } {
  const { v } = randomTensor(shape, seed);
  const w = Float64Array.from(v, (x) => Math.fround(x < 0 ? x - 0.05 : x + 0.05));
  return { t: cc.tensor(Float32Array.from(w), { shape }), v: w };
}

describe('F.rrelu / nn.RReLU (randomized leaky ReLU)', () => {
  it('evaluation: a leaky ReLU with the mean slope (lower + upper) / 2, and its gradient', () => {
    const { t, v } = awayFromZero([2, 3, 4, 5], 1);
    for (const [lower, upper] of [[1 / 8, 1 / 3], [0.1, 0.1], [0, 0.5]]) {
      const a = (lower + upper) / 2;
      expectClose(F.rrelu(t, lower, upper).dataSync(), Array.from(v, (x) => (x > 0 ? x : a * x)), 1e-6, 1e-7, `rrelu eval [${lower}, ${upper}]`);
    }
    gradCheck({ what: 'rrelu eval', inputs: [{ shape: [2, 3, 4, 5], values: v }], forward: ([x]) => F.rrelu(x), backward: (dy, [x]) => [cc.tidy(() => { const xx = x.detach(); xx.requiresGrad = true; F.rrelu(xx).mul(dy).sum().backward(); return xx.grad!; })] });
  });

  it('training: each negative element scaled by its own slope in [lower, upper], positives unchanged, seeded', () => {
    const { t, v } = awayFromZero([64, 32], 2);
    cc.manualSeed(5);
    const y = F.rrelu(t, 0.1, 0.3, true).dataSync();
    const slopes: number[] = [];
    for (let i = 0; i < v.length; i++) {
      if (v[i] > 0) expect(y[i]).to.equal(Math.fround(v[i]));
      else slopes.push(y[i] / v[i]);
    }
    expect(slopes.length).to.be.above(500);
    expect(Math.min(...slopes)).to.be.at.least(0.1 - 1e-6);
    expect(Math.max(...slopes)).to.be.at.most(0.3 + 1e-6);
    const mean = slopes.reduce((s, x) => s + x, 0) / slopes.length;
    expect(mean).to.be.closeTo(0.2, 0.01);   // uniform on [0.1, 0.3]: sd of the mean ~0.002
    expect(new Set(slopes.map((s) => s.toFixed(4))).size).to.be.above(300);   // drawn, not one slope
    cc.manualSeed(5);
    expect(Array.from(F.rrelu(t, 0.1, 0.3, true).dataSync())).to.deep.equal(Array.from(y));
  });

  it('training: the gradient is each element\'s own slope (finite differences with the same draws)', () => {
    const { v } = awayFromZero([3, 4, 5], 3);
    const forward = ([x]: cc.Tensor<'float32'>[]) => {
      cc.manualSeed(9);
      return F.rrelu(x, 1 / 8, 1 / 3, true);
    };
    gradCheck({
      what: 'rrelu training', inputs: [{ shape: [3, 4, 5], values: v }], forward,
      backward: (dy, [x]) => [cc.tidy(() => { const xx = x.detach(); xx.requiresGrad = true; forward([xx]).mul(dy).sum().backward(); return xx.grad!; })],
    });
  });

  it('nn.RReLU: training draws, eval uses the mean; PyTorch\'s arguments; saved and loaded', () => {
    const m = new nn.RReLU(0.2, 0.4);
    expect([m.lower, m.upper]).to.deep.equal([0.2, 0.4]);
    expect(new nn.RReLU({ upper: 0.5 }).lower).to.equal(1 / 8);
    expect(m.toString()).to.contain('lower=0.2, upper=0.4');
    const x = cc.tensor([-1, -2, 3, -4]);
    expectClose(m.eval().call(x).dataSync(), [-0.3, -0.6, 3, -1.2], 1e-6, 1e-7, 'eval');
    cc.manualSeed(1);
    const trained = m.train().call(x).dataSync();
    expect(trained[2]).to.equal(3);
    for (const i of [0, 1, 3]) expect(trained[i] / x.dataSync()[i]).to.be.within(0.2 - 1e-6, 0.4 + 1e-6);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-rrelu-'));
    try {
      cc.models.save(new nn.Sequential(m, new nn.SpatialPyramidPool2d([1, 2], { mode: 'avg' })), dir);
      const back = cc.models.load(dir) as cc.nn.Sequential;
      expect(back.at(0)).to.be.instanceOf(nn.RReLU);
      expect((back.at(0) as cc.nn.RReLU).upper).to.equal(0.4);
      expect((back.at(1) as cc.nn.SpatialPyramidPool2d).levels).to.deep.equal([1, 2]);
      expect((back.at(1) as cc.nn.SpatialPyramidPool2d).mode).to.equal('avg');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with E_ARG', () => {
    const x = cc.ones([2]);
    expectError(() => F.rrelu(x, 0.5, 0.1), 'E_ARG', /lower.*<=.*upper/);
    expectError(() => F.rrelu(x, NaN), 'E_ARG', /lower/);
    expectError(() => F.rrelu(x, 0.1, 0.2, 1 as never), 'E_ARG', /training/);
    expectError(() => F.rrelu(cc.ones([2], 'int32') as never), 'E_DTYPE');
    expectError(() => new nn.RReLU(0.4, 0.2), 'E_ARG', /lower/);
    expect(F.rrelu(cc.zeros([0, 3]), 0.1, 0.3, true).shape).to.deep.equal([0, 3]);   // empty: nothing to draw
    expect(Number.isNaN(F.rrelu(cc.tensor([NaN]), 0.1, 0.3, true).dataSync()[0])).to.equal(true);   // NaN stays NaN, as PyTorch
  });
});

/** SPP in float64: per level n, bins [floor(i H / n), ceil((i + 1) H / n)) x the same for columns. */
function spp64(v: Float64Array, [N, C, H, W]: number[], levels: number[], mode: 'max' | 'avg'): number[] {
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (const L of levels) {
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < L; i++) {
          for (let j = 0; j < L; j++) {
            const r0 = Math.floor((i * H) / L), r1 = Math.ceil(((i + 1) * H) / L);
            const c0 = Math.floor((j * W) / L), c1 = Math.ceil(((j + 1) * W) / L);
            let acc = mode === 'max' ? -Infinity : 0;
            for (let r = r0; r < r1; r++) {
              for (let q = c0; q < c1; q++) {
                const x = v[((n * C + c) * H + r) * W + q];
                acc = mode === 'max' ? Math.max(acc, x) : acc + x;
              }
            }
            out.push(mode === 'max' ? acc : acc / ((r1 - r0) * (c1 - c0)));
          }
        }
      }
    }
  }
  return out;
}

describe('F.spatialPyramidPool2d / nn.SpatialPyramidPool2d (SPP-net)', () => {
  it('matches a float64 pyramid for several image sizes, max and average; the output size depends only on C and the levels', () => {
    for (const [k, shape] of [[2, 3, 7, 9], [1, 4, 13, 13], [3, 2, 4, 5], [1, 1, 1, 1]].entries()) {
      const { t, v } = randomTensor(shape, 10 + k);
      for (const mode of ['max', 'avg'] as const) {
        const levels = [1, 2, 4];
        const y = F.spatialPyramidPool2d(t, levels, { mode });
        expect(y.shape, `${shape} ${mode}`).to.deep.equal([shape[0], shape[1] * 21]);
        expectClose(y.dataSync(), spp64(v, shape, levels, mode), 1e-6, 1e-6, `spp ${shape} ${mode}`);
      }
    }
    expect(F.spatialPyramidPool2d(cc.ones([2, 3, 5, 5]), [3]).shape).to.deep.equal([2, 27]);
  });

  it('gradients against finite differences (max with distinct values, and average)', () => {
    const n = 2 * 3 * 6 * 7;
    const distinct = Float64Array.from({ length: n }, (_, i) => ((i * 37) % n) / n - 0.5);
    for (const mode of ['max', 'avg'] as const) {
      gradCheck({
        what: `spp ${mode}`, inputs: [{ shape: [2, 3, 6, 7], values: distinct }],
        forward: ([x]) => F.spatialPyramidPool2d(x, [1, 2, 3], { mode }),
        backward: (dy, [x]) => [cc.tidy(() => { const xx = x.detach(); xx.requiresGrad = true; F.spatialPyramidPool2d(xx, [1, 2, 3], { mode }).mul(dy).sum().backward(); return xx.grad!; })],
        h: 1e-3,
      });
    }
  });

  it('nn.SpatialPyramidPool2d lets one Linear take images of any size', () => {
    cc.manualSeed(4);
    const net = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.SpatialPyramidPool2d([1, 2, 4]), new nn.Linear(8 * 21, 5));
    for (const [h, w] of [[16, 16], [23, 31], [5, 9]]) expect(net.call(cc.randn([2, 3, h, w])).shape).to.deep.equal([2, 5]);
    expect(net.toString()).to.contain('SpatialPyramidPool2d(levels=[1, 2, 4], mode=max)');
  });

  it('refuses bad levels, modes and shapes with typed errors', () => {
    const x = cc.ones([1, 2, 4, 4]);
    for (const levels of [[], [0], [1.5], [2, -1], 'x', [1, 2 ** 17]]) expectError(() => F.spatialPyramidPool2d(x, levels as never), 'E_ARG', /levels/);
    expectError(() => F.spatialPyramidPool2d(x, Array(100).fill(1)), 'E_ARG', /1 to 64/);
    expectError(() => F.spatialPyramidPool2d(x, [1], { mode: 'min' as never }), 'E_ARG', /mode/);
    expectError(() => F.spatialPyramidPool2d(x, [1], { modes: 'max' } as never), 'E_ARG', /modes/);
    expectError(() => F.spatialPyramidPool2d(cc.ones([2, 4, 4]), [1]), 'E_SHAPE', /\[N, C, H, W\]/);
    expectError(() => F.spatialPyramidPool2d(cc.ones([1, 2, 0, 4]), [1]), 'E_SHAPE', /non-zero/);
    expectError(() => F.spatialPyramidPool2d(cc.ones([1, 2, 4, 4], 'int32') as never, [1]), 'E_DTYPE');
    expect(F.spatialPyramidPool2d(cc.ones([0, 2, 4, 4]), [1, 2]).shape).to.deep.equal([0, 10]);   // an empty batch
    expectError(() => new nn.SpatialPyramidPool2d([1], { mode: 'sum' as never }), 'E_ARG', /mode/);
  });
});

describeCuda('F.rrelu and F.spatialPyramidPool2d on the GPU', () => {
  it('the same values as on the CPU (eval RReLU, training RReLU with one seed, SPP max and average)', () => {
    const x = randomCpu([2, 3, 9, 11], 70);
    expectSameValues(F.rrelu(x.to('cuda'), 0.1, 0.3), F.rrelu(x, 0.1, 0.3), 1e-6, 'rrelu eval');
    cc.manualSeed(3);
    const gpu = F.rrelu(x.to('cuda'), 0.1, 0.3, true);
    cc.manualSeed(3);
    expectSameValues(gpu, F.rrelu(x, 0.1, 0.3, true), 1e-6, 'rrelu training (Philox gives both devices the same slopes)');
    for (const mode of ['max', 'avg'] as const) {
      expectSameValues(F.spatialPyramidPool2d(x.to('cuda'), [1, 2, 4], { mode }), F.spatialPyramidPool2d(x, [1, 2, 4], { mode }), 1e-6, `spp ${mode}`);
    }
  });
});
