/**
 * F.gridSample and F.affineGrid (lib/nn/functional/grid-sample.ts) against PyTorch's float64
 * values and gradients (committed fixtures, test/fixtures/make/grid_sample.py), the CPU kernel
 * against the composition the GPU runs, gradients by finite differences, a spatial transformer
 * trained end to end, non-finite points, the GPU beside the CPU, and typed errors.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, tapeCheck } from './helpers';
import { gridSampleComposed } from '../lib/nn/functional/grid-sample';

const { F, nn } = cc;

type Values = { shape: number[]; values: number[] };
type SampleCase = {
  mode: cc.F.GridSampleMode; paddingMode: cc.F.GridSamplePadding; alignCorners: boolean; extreme?: boolean;
  x: Values; grid: Values; dy: Values; y: Values; dx: Values; dgrid: Values;
};
type AffineCase = { size: number[]; alignCorners: boolean; theta: Values; dgrid: Values; grid: Values; dtheta: Values };

const fromValues = (v: Values, requiresGrad = false) => cc.tensor(v.values, { shape: v.shape, requiresGrad });

describe('F.gridSample', () => {
  it('agrees with PyTorch (float64) in every mode, padding and alignment, forward and both gradients', () => {
    const { cases } = loadFixture<{ cases: SampleCase[] }>('grid_sample');
    expect(cases.filter((c) => !c.extreme).length).to.equal(16);
    for (const c of cases.filter((c) => !c.extreme)) {
      const what = `${c.mode} ${c.paddingMode} alignCorners=${c.alignCorners} on ${JSON.stringify(c.x.shape)}`;
      cc.tidy(() => {
        const x = fromValues(c.x, true), grid = fromValues(c.grid, true);
        const y = F.gridSample(x, grid, { mode: c.mode, paddingMode: c.paddingMode, alignCorners: c.alignCorners });
        expect(y.shape, what).to.deep.equal(c.y.shape);
        expectClose(y.dataSync(), c.y.values, 1e-5, 1e-5, what);
        y.mul(fromValues(c.dy)).sum().backward();
        expectClose(x.grad!.dataSync(), c.dx.values, 1e-5, 1e-5, `${what}: dx`);
        // Nearest sampling is flat in the grid: PyTorch's zeros.
        if (c.mode === 'nearest') expect(c.dgrid.values.every((v) => v === 0), what).to.equal(true);
        expectClose(grid.grad!.dataSync(), c.dgrid.values, 1e-4, 1e-4, `${what}: dgrid`);
      });
    }
  });

  it('the CPU kernel and the composition the GPU runs agree, values and gradients', () => {
    const x = randomCpu([2, 3, 6, 7], 31), grid = cc.mul(randomCpu([2, 5, 4, 2], 32), 1.3);
    for (const mode of ['bilinear', 'nearest'] as const) {
      for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
        for (const alignCorners of [false, true]) {
          const what = `${mode} ${paddingMode} alignCorners=${alignCorners}`;
          cc.tidy(() => {
            const run = (f: (a: cc.Tensor, b: cc.Tensor) => cc.Tensor) => {
              const xs = x.detach().requiresGrad_(), gs = grid.detach().requiresGrad_();
              const y = f(xs, gs);
              y.mul(cc.sin(cc.arange(y.size, undefined, 1, 'float32')).reshape(y.shape)).sum().backward();
              return [y, xs.grad!, gs.grad ?? cc.zerosLike(gs)].map((t) => Array.from(t.dataSync()));
            };
            const native = run((a, b) => F.gridSample(a, b, { mode, paddingMode, alignCorners }));
            const composed = run((a, b) => gridSampleComposed(a as never, b as never, mode, paddingMode, alignCorners));
            ['y', 'dx', 'dgrid'].forEach((name, i) => expectClose(native[i], composed[i], 1e-5, 1e-5, `${what}: ${name}`));
          });
        }
      }
    }
  });

  it('has gradients that agree with finite differences (points off the pixel boundaries)', () => {
    // Pixel coordinates integer + 0.3 .. 0.7, so that a step of h stays on one bilinear patch;
    // some outside the image (zeros: no gradient there).
    const [H, W] = [4, 5];
    const points: number[] = [];
    for (let k = 0; k < 12; k++) {
      const px = (k * 7) % (W + 2) - 1 + 0.3 + 0.4 * ((k * 0.37) % 1), py = (k * 5) % (H + 2) - 1 + 0.3 + 0.4 * ((k * 0.61) % 1);
      points.push((2 * px + 1) / W - 1, (2 * py + 1) / H - 1);
    }
    const grid = { shape: [1, 3, 4, 2], values: Float64Array.from(points) };
    const x = { shape: [1, 2, H, W] };
    for (const paddingMode of ['zeros', 'border'] as const) {
      tapeCheck(`gridSample bilinear ${paddingMode}`, [x, grid], ([t, g]) => F.gridSample(t, g, { paddingMode }), { h: 1e-3, samples: 24 });
    }
    tapeCheck('gridSample nearest (x only)', [x], ([t]) => F.gridSample(t, cc.tensor(grid.values, { shape: grid.shape }), { mode: 'nearest' }));
  });

  it('samples huge, edge and tiny points as PyTorch does, the kernel and the composition alike', () => {
    const { cases } = loadFixture<{ cases: SampleCase[] }>('grid_sample');
    const extreme = cases.filter((c) => c.extreme);
    expect(extreme.length).to.equal(12);
    for (const c of extreme) {
      const what = `${c.mode} ${c.paddingMode} alignCorners=${c.alignCorners}`;
      cc.tidy(() => {
        const x = fromValues(c.x), grid = fromValues(c.grid);
        expectClose(F.gridSample(x, grid, { mode: c.mode, paddingMode: c.paddingMode, alignCorners: c.alignCorners }).dataSync(), c.y.values, 1e-5, 1e-5, `${what}: kernel`);
        expectClose(gridSampleComposed(x as never, grid as never, c.mode, c.paddingMode, c.alignCorners).dataSync(), c.y.values, 1e-5, 1e-5, `${what}: composition`);
      });
    }
  });

  it('samples NaN and infinite points as PyTorch does', () => {
    const x = cc.arange(12, undefined, 1, 'float32').reshape([1, 1, 3, 4]);
    const grid = cc.tensor([NaN, 0, 0.3, Infinity, 5, 0.2, -0.5, -0.5], { shape: [1, 1, 4, 2] });
    const at = (o: cc.F.GridSampleOptions) => Array.from(F.gridSample(x, grid, o).dataSync());
    // torch.nn.functional.grid_sample on the same input (PyTorch 1.13).
    expectClose(at({}), [NaN, NaN, 0, 1.5], 1e-6, 1e-6, 'zeros bilinear');
    expect(at({ mode: 'nearest' })).to.deep.equal([0, 0, 0, 0]);
    expectClose(at({ paddingMode: 'border' }), [4, 10.1, 8.2, 1.5], 1e-6, 1e-6, 'border');
    expectClose(at({ paddingMode: 'reflection' }), [4, 2.1, 8.2, 1.5], 1e-6, 1e-6, 'reflection');
    expectClose(at({ paddingMode: 'reflection', alignCorners: true }), [4, 1.95, 7.8, 2.75], 1e-6, 1e-6, 'reflection aligned');
    // Gradients (PyTorch's dx, no NaN on pixel 0; its dgrid [0, NaN] at the NaN point is 0 here), on
    // the kernel and the composition.
    for (const sample of [(a: cc.Tensor, b: cc.Tensor) => F.gridSample(a, b), (a: cc.Tensor, b: cc.Tensor) => gridSampleComposed(a as never, b as never, 'bilinear', 'zeros', false)]) {
      const xs = x.detach().requiresGrad_(), g = cc.tensor([NaN, 0, 0.3, 0.1], { shape: [1, 1, 2, 2], requiresGrad: true });
      const y = sample(xs, g);
      expectClose(y.dataSync(), [NaN, 6.7], 1e-6, 1e-5, 'y');
      y.sum().backward();
      expectClose(xs.grad!.dataSync(), [0, 0, 0, 0, 0, 0, 0.765, 0.085, 0, 0, 0.135, 0.015], 1e-5, 1e-6, 'dx');
      expectClose(g.grad!.dataSync(), [0, 0, 2, 6], 1e-5, 1e-5, 'dgrid');
    }
  });

  it('takes empty batches, channels and grids', () => {
    expect(F.gridSample(cc.ones([0, 3, 4, 4]), cc.ones([0, 2, 2, 2])).shape).to.deep.equal([0, 3, 2, 2]);
    expect(F.gridSample(cc.ones([2, 0, 4, 4]), cc.zeros([2, 2, 2, 2])).shape).to.deep.equal([2, 0, 2, 2]);
    expect(F.gridSample(cc.ones([2, 3, 4, 4]), cc.zeros([2, 0, 5, 2])).shape).to.deep.equal([2, 3, 0, 5]);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.ones([2, 3, 4, 4]), grid = cc.zeros([2, 3, 3, 2]);
    expectError(() => F.gridSample(x, cc.zeros([1, 3, 3, 2])), 'E_SHAPE', /grid of shape \[2, Ho, Wo, 2\]/);
    expectError(() => F.gridSample(x, cc.zeros([2, 3, 3, 3])), 'E_SHAPE', /grid/);
    expectError(() => F.gridSample(cc.ones([3, 4, 4]), grid), 'E_SHAPE', /\[N, C, H, W\] or \[N, C, D, H, W\]/);
    expectError(() => F.gridSample(cc.ones([2, 3, 0, 4]), grid), 'E_SHAPE', /empty/);
    expectError(() => F.gridSample(x, grid, { mode: 'bicubic' as never }), 'E_ARG', /mode/);
    expectError(() => F.gridSample(x, grid, { paddingMode: 'wrap' as never }), 'E_ARG', /paddingMode/);
    expectError(() => F.gridSample(x, grid, { alignCorners: 1 as never }), 'E_ARG', /alignCorners/);
    expectError(() => F.gridSample(x, grid, { align: true } as never), 'E_ARG', /align/);
    expectError(() => F.gridSample(x, cc.zeros([2, 3, 3, 2], { dtype: 'int32' })), 'E_DTYPE', /grid/);
    expectError(() => F.gridSample('x' as never, grid), 'E_ARG');
  });
});

describe('F.affineGrid', () => {
  it('agrees with PyTorch (float64), the grid and the gradient for theta, unit sizes included', () => {
    const { cases } = loadFixture<{ cases: AffineCase[] }>('affine_grid');
    expect(cases.length).to.equal(4);
    for (const c of cases) {
      const what = `size ${JSON.stringify(c.size)} alignCorners=${c.alignCorners}`;
      cc.tidy(() => {
        const theta = fromValues(c.theta, true);
        const g = F.affineGrid(theta, c.size, c.alignCorners);
        expect(g.shape, what).to.deep.equal(c.grid.shape);
        expectClose(g.dataSync(), c.grid.values, 1e-5, 1e-6, what);
        g.mul(fromValues(c.dgrid)).sum().backward();
        expectClose(theta.grad!.dataSync(), c.dtheta.values, 1e-5, 1e-5, `${what}: dtheta`);
      });
    }
  });

  it('its theta gradient matches finite differences (the native grid, a batched product back)', () => {
    for (const align of [false, true]) tapeCheck(`affineGrid align ${align}`, [{ shape: [2, 2, 3] }], ([th]) => F.affineGrid(th, [2, 1, 3, 4], align));
  });

  it('with gridSample, the identity reproduces the image and a zoom samples its centre', () => {
    const x = randomCpu([2, 3, 6, 8], 5);
    for (const alignCorners of [false, true]) {
      const identity = cc.tensor([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0], { shape: [2, 2, 3] });
      const y = F.gridSample(x, F.affineGrid(identity, x.shape, alignCorners), { alignCorners });
      expectClose(y.dataSync(), x.dataSync(), 1e-5, 1e-5, `identity, alignCorners=${alignCorners}`);
    }
    // theta = diag(0.5, 0.5) with corners aligned: output pixel (i, j) of 5 x 5 samples (i / 2 + 1, j / 2 + 1) of 5 x 5.
    const img = cc.arange(25, undefined, 1, 'float32').reshape([1, 1, 5, 5]);
    const zoom = F.gridSample(img, F.affineGrid(cc.tensor([[[0.5, 0, 0], [0, 0.5, 0]]]), [1, 1, 5, 5], true), { alignCorners: true });
    expectClose(zoom.dataSync(), Array.from({ length: 25 }, (_, k) => 5 * (Math.floor(k / 5) / 2 + 1) + (k % 5) / 2 + 1), 1e-5, 1e-5, 'zoom');
  });

  it('trains a spatial transformer: the localisation net learns the shift that aligns two images', () => {
    cc.manualSeed(3);
    // Target: the image shifted right by a quarter of its width; the net predicts theta from a
    // constant input, starting from the identity (PyTorch's STN recipe: zero weights, identity bias).
    const [H, W] = [8, 8];
    const img = cc.tensor(Array.from({ length: H * W }, (_, k) => Math.sin(k % W) + Math.cos(Math.floor(k / W) * 0.7)), { shape: [1, 1, H, W] });
    const target = F.gridSample(img, F.affineGrid(cc.tensor([[[1, 0, -0.5], [0, 1, 0]]]), [1, 1, H, W]), { paddingMode: 'border' });
    const loc = new nn.Linear(4, 6);
    loc.loadStateDict({ weight: cc.zeros([6, 4]), bias: cc.tensor([1, 0, 0, 0, 1, 0]) });
    const opt = new cc.optim.Adam(loc.parameters(), { lr: 0.02 });
    const input = cc.ones([1, 4]);
    let loss = Infinity;
    for (let step = 0; step < 150; step++) {
      cc.tidy(() => {
        opt.zeroGrad();
        const theta = loc.forward(input).reshape([1, 2, 3]);
        const out = F.gridSample(img, F.affineGrid(theta, [1, 1, H, W]), { paddingMode: 'border' });
        const l = F.mseLoss(out, target);
        l.backward();
        opt.step();
        loss = l.item();
      });
    }
    expect(loss).to.be.below(1e-4);
    const theta = Array.from(loc.forward(input).dataSync());
    expectClose(theta, [1, 0, -0.5, 0, 1, 0], 0, 0.03, 'learned theta');
  });

  it('refuses bad arguments with typed errors', () => {
    const theta = cc.zeros([2, 2, 3]);
    expectError(() => F.affineGrid(theta, [3, 1, 4, 4]), 'E_SHAPE', /\[3, 2, 3\]/);
    expectError(() => F.affineGrid(cc.zeros([2, 3, 3]), [2, 1, 4, 4]), 'E_SHAPE', /theta/);
    expectError(() => F.affineGrid(theta, [2, 1, 4]), 'E_ARG', /size/);
    expectError(() => F.affineGrid(theta, [2, 1, -1, 4]), 'E_ARG', /size/);
    expectError(() => F.affineGrid(theta, [2, 1, 4, 1.5]), 'E_ARG', /size/);
    expectError(() => F.affineGrid(theta, [2, 1, 4, 4], 'yes' as never), 'E_ARG', /alignCorners/);
    expectError(() => F.affineGrid(cc.zeros([2, 2, 3], { dtype: 'int32' }), [2, 1, 4, 4]), 'E_DTYPE', /theta/);
    expectError(() => F.affineGrid(theta, [2, 1, 2 ** 16, 2 ** 16]), 'E_SHAPE', /too large/);
  });
});

/** Trilinear (or nearest) sampling of x [N, C, D, H, W] at grid [N, Do, Ho, Wo, 3] in float64, zero padding, as PyTorch's. */
function sample3dRef(x: Float64Array, [N, C, D, H, W]: number[], g: Float64Array, out: number[], align: boolean, nearest: boolean): number[] {
  const P = out[0] * out[1] * out[2];
  const unnorm = (v: number, n: number) => (align ? ((v + 1) / 2) * (n - 1) : ((v + 1) * n - 1) / 2);
  const at = (n: number, c: number, z: number, y: number, xx: number) =>
    (z < 0 || z >= D || y < 0 || y >= H || xx < 0 || xx >= W ? 0 : x[(((n * C + c) * D + z) * H + y) * W + xx]);
  const res: number[] = [];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) {
    const ix = unnorm(g[(n * P + p) * 3], W), iy = unnorm(g[(n * P + p) * 3 + 1], H), iz = unnorm(g[(n * P + p) * 3 + 2], D);
    if (nearest) {
      const r = (v: number) => { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; };   // halves to even
      res.push(at(n, c, r(iz), r(iy), r(ix)));
      continue;
    }
    const [x0, y0, z0] = [Math.floor(ix), Math.floor(iy), Math.floor(iz)];
    let v = 0;
    for (const dz of [0, 1]) for (const dy of [0, 1]) for (const dx of [0, 1]) {
      const w = (dx ? ix - x0 : 1 - (ix - x0)) * (dy ? iy - y0 : 1 - (iy - y0)) * (dz ? iz - z0 : 1 - (iz - z0));
      v += w * at(n, c, z0 + dz, y0 + dy, x0 + dx);
    }
    res.push(v);
  }
  return res;
}

describe('F.gridSample and F.affineGrid on volumes (5-D)', () => {
  it('sample as a float64 trilinear (and nearest) reference, zero padding, both alignments', () => {
    const xs = [2, 2, 3, 4, 5], out = [2, 3, 2];
    const x = randomCpu(xs, 31), g = cc.mul(randomCpu([2, ...out, 3], 32), 1.2);
    const xv = Float64Array.from(x.dataSync()), gv = Float64Array.from(g.dataSync());
    for (const align of [false, true]) {
      for (const nearest of [false, true]) {
        const y = F.gridSample(x, g, { alignCorners: align, mode: nearest ? 'nearest' : 'bilinear' });
        expect(y.shape).to.deep.equal([2, 2, ...out]);
        expectClose(y.dataSync(), sample3dRef(xv, xs, gv, out, align, nearest), 1e-5, 1e-6, `align ${align} nearest ${nearest}`);
      }
    }
  });

  it('has the gradients of the definition for the volume and the grid (finite differences)', () => {
    // Voxel coordinates k + f, f 0.2 to 0.8 but never 0.5: away from the kinks of trilinear
    // weights (integers) and of reflection (the edges at -0.5 and n - 0.5).
    const sizes = [4, 3, 3];   // x along W, y along H, z along D
    const gridValues = Float64Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => {
      const n = sizes[i % 3], u = ((i * 5) % n) + [0.2, 0.3, 0.7, 0.8][i % 4];
      return (2 * u + 1) / n - 1;
    });
    for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
      tapeCheck(`gridSample 3-D ${paddingMode}`, [{ shape: [1, 2, 3, 3, 4] }, { shape: [1, 2, 2, 2, 3], values: gridValues }],
        ([t, g]) => F.gridSample(t, g, { paddingMode }), { h: 1e-3 });
    }
  });

  it('affineGrid of theta [N, 3, 4]: the identity reproduces the volume, points are theta @ (x, y, z, 1)', () => {
    const x = randomCpu([1, 2, 3, 4, 5], 33);
    const identity = cc.tensor([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]]);
    for (const align of [false, true]) {
      const grid = F.affineGrid(identity, [1, 2, 3, 4, 5], align);
      expect(grid.shape).to.deep.equal([1, 3, 4, 5, 3]);
      expectClose(F.gridSample(x, grid, { alignCorners: align }).dataSync(), x.dataSync(), 1e-6, 1e-6, `identity, align ${align}`);
    }
    const theta = cc.tensor([[[0.5, 0.1, 0, 0.2], [0, 1, 0.3, 0], [0.2, 0, 0.8, -0.1]]]);
    const grid = F.affineGrid(theta, [1, 1, 2, 2, 3], true).dataSync();
    // Point (d, h, w) = (1, 0, 2): (x, y, z) = (1, -1, 1).
    const k = ((1 * 2 + 0) * 3 + 2) * 3;
    expectClose(Array.from(grid.slice(k, k + 3)), [0.5 - 0.1 + 0.2, -1 + 0.3, 0.2 + 0.8 - 0.1], 1e-6, 1e-6, 'theta @ (x, y, z, 1)');
    tapeCheck('affineGrid 3-D', [{ shape: [2, 3, 4] }], ([th]) => F.affineGrid(th, [2, 1, 2, 3, 2]));
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.ones([2, 3, 2, 4, 4]);
    expectError(() => F.gridSample(x, cc.zeros([2, 2, 3, 3, 2])), 'E_SHAPE', /\[2, Do, Ho, Wo, 3\]/);
    expectError(() => F.gridSample(x, cc.zeros([2, 3, 3, 2])), 'E_SHAPE', /grid/);
    expectError(() => F.gridSample(cc.ones([2, 3, 0, 4, 4]), cc.zeros([2, 1, 1, 1, 3])), 'E_SHAPE', /empty/);
    expectError(() => F.affineGrid(cc.zeros([2, 2, 3]), [2, 1, 2, 4, 4]), 'E_SHAPE', /\[2, 3, 4\]/);
    expectError(() => F.affineGrid(cc.zeros([1, 3, 4]), [1, 1, 2, 4]), 'E_SHAPE', /\[1, 2, 3\]/);
  });
});

describeCuda('F.gridSample and F.affineGrid on the GPU', () => {
  it('match the CPU, with gradients for the image, the grid and theta', () => {
    const x = randomCpu([2, 3, 5, 7], 21);
    const grid = cc.mul(randomCpu([2, 4, 6, 2], 22), 0.8);
    for (const mode of ['bilinear', 'nearest'] as const) {
      for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
        compareDevices((t, g) => F.gridSample(t, g, { mode, paddingMode }), [x, grid], { grads: true, what: `${mode} ${paddingMode}` });
      }
    }
    compareDevices((th) => F.affineGrid(th, [2, 3, 5, 7]), [randomCpu([2, 2, 3], 23)], { grads: true, what: 'affineGrid' });
    const volume = randomCpu([2, 2, 3, 4, 5], 24), grid3 = cc.mul(randomCpu([2, 2, 3, 2, 3], 25), 0.8);
    compareDevices((t, g) => F.gridSample(t, g, { paddingMode: 'reflection' }), [volume, grid3], { grads: true, what: 'gridSample 3-D' });
    compareDevices((th) => F.affineGrid(th, [2, 3, 2, 5, 7]), [randomCpu([2, 3, 4], 26)], { grads: true, what: 'affineGrid 3-D' });
  });
});
