/**
 * Multi-scale orderless pooling (the survey's MOP-CNN): F.vlad against a float64 VLAD written
 * out, with gradients by finite differences; vision.kmeans on separated clusters; and
 * models.patchFeatures / multiScaleOrderlessPooling against their definition composed by hand.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, tapeCheck } from './helpers';

const { F, models, vision } = cc;

/** VLAD in float64: nearest centre per row, residual sums, then the optional normalizations. */
function vladRef(x: Float64Array, P: number, D: number, c: Float64Array, K: number, intra: boolean, l2: boolean): number[] {
  const v = new Float64Array(K * D);
  for (let p = 0; p < P; p++) {
    let best = 0, bestD = Infinity;
    for (let k = 0; k < K; k++) {
      let d = 0;
      for (let j = 0; j < D; j++) d += (x[p * D + j] - c[k * D + j]) ** 2;
      if (d < bestD) { bestD = d; best = k; }
    }
    for (let j = 0; j < D; j++) v[best * D + j] += x[p * D + j] - c[best * D + j];
  }
  const scale = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) n += v[i] ** 2;
    n = Math.max(Math.sqrt(n), 1e-12);
    for (let i = from; i < to; i++) v[i] /= n;
  };
  if (intra) for (let k = 0; k < K; k++) scale(k * D, (k + 1) * D);
  if (l2) scale(0, K * D);
  return Array.from(v);
}

describe('F.vlad', () => {
  it('matches a float64 VLAD for every normalization, batched and for one set', () => {
    const [N, P, D, K] = [3, 11, 4, 5];
    const { t: x, v: xv } = randomTensor([N, P, D], 1, -2, 2);
    const { t: c, v: cv } = randomTensor([K, D], 2, -2, 2);
    for (const intraNorm of [false, true]) {
      for (const l2Norm of [false, true]) {
        const y = F.vlad(x, c, { intraNorm, l2Norm });
        expect(y.shape).to.deep.equal([N, K * D]);
        const want = Array.from({ length: N }, (_, n) => vladRef(xv.subarray(n * P * D, (n + 1) * P * D), P, D, cv, K, intraNorm, l2Norm)).flat();
        expectClose(y.dataSync(), want, 1e-5, 1e-6, `intra ${intraNorm} l2 ${l2Norm}`);
      }
    }
    const one = F.vlad(cc.narrow(x, 0, 1, 1).reshape([P, D]), c);
    expect(one.shape).to.deep.equal([K * D]);
    expectClose(one.dataSync(), vladRef(xv.subarray(P * D, 2 * P * D), P, D, cv, K, false, true), 1e-5, 1e-6, 'one set');
  });

  it('is orderless: permuting the features changes nothing; an unused codeword is zero', () => {
    const x = cc.tensor([[[0, 0], [1, 0], [10, 10], [0, 1]]]);
    const c = cc.tensor([[0, 0], [10, 11], [-50, -50]]);
    expect(Array.from(F.vlad(x, c, { l2Norm: false }).dataSync())).to.deep.equal([1, 1, 0, -1, 0, 0]);
    const shuffled = cc.indexSelect(x, 1, cc.tensor([3, 2, 0, 1], { dtype: 'int32' }));
    expect(Array.from(F.vlad(shuffled, c).dataSync())).to.deep.equal(Array.from(F.vlad(x, c).dataSync()));
  });

  it('has the gradients of its composition (x and the centres) against finite differences of the float64 VLAD', () => {
    // Features near their centres (the assignment, a step function, stays put under the probes).
    const centers = [0, 0, 3, 3, -3, 3];
    const xs = Float64Array.from({ length: 2 * 6 * 2 }, (_, i) => Math.fround(centers[(Math.floor(i / 2) % 3) * 2 + (i % 2)] + Math.sin(i * 1.7) * 0.4));
    const cs = Float64Array.from(centers, (v, i) => Math.fround(v + 0.1 * Math.cos(i)));
    for (const intraNorm of [false, true]) {
      const ref = (x: Float64Array, c: Float64Array) => [0, 1].flatMap((n) => vladRef(x.subarray(n * 12, (n + 1) * 12), 6, 2, c, 3, intraNorm, true));
      const w = ref(xs, cs).map((_, i) => Math.sin(i + 1));
      const loss = (x: Float64Array, c: Float64Array) => ref(x, c).reduce((s, v, i) => s + v * w[i], 0);
      const numeric = (which: 0 | 1) => Array.from(which === 0 ? xs : cs, (_, i) => {
        const up = Float64Array.from(which === 0 ? xs : cs), down = Float64Array.from(up);
        up[i] += 1e-6; down[i] -= 1e-6;
        return (which === 0 ? loss(up, cs) - loss(down, cs) : loss(xs, up) - loss(xs, down)) / 2e-6;
      });
      const x = cc.tensor(Float32Array.from(xs), { shape: [2, 6, 2], requiresGrad: true }), c = cc.tensor(Float32Array.from(cs), { shape: [3, 2], requiresGrad: true });
      const y = F.vlad(x, c, { intraNorm });
      cc.sum(cc.mul(y, cc.tensor(w, { shape: y.shape }))).backward();
      expectClose(x.grad!.dataSync(), numeric(0), 1e-3, 1e-4, `intra ${intraNorm}: d/dx`);
      expectClose(c.grad!.dataSync(), numeric(1), 1e-3, 1e-4, `intra ${intraNorm}: d/dcenters`);
    }
    tapeCheck('vlad without normalization', [{ shape: [2, 6, 2], values: xs }, { shape: [3, 2], values: cs }], ([x, c]) => F.vlad(x, c, { l2Norm: false }));
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([2, 3, 4]), c = cc.zeros([5, 4]);
    expectError(() => F.vlad(cc.zeros([4]), c), 'E_SHAPE', /\[N, P, D\]/);
    expectError(() => F.vlad(x, cc.zeros([5, 3])), 'E_SHAPE', /4 features/);
    expectError(() => F.vlad(x, cc.zeros([0, 4])), 'E_SHAPE', /K >= 1/);
    expectError(() => F.vlad(x, c, { power: 0.5 } as never), 'E_ARG', /unknown option/);
    expectError(() => F.vlad(x, c, { l2Norm: 1 as never }), 'E_ARG', /l2Norm/);
    expectError(() => F.vlad(x.int(), c), 'E_DTYPE');
  });
});

describe('vision.kmeans', () => {
  // Three blobs around (0, 0), (10, 5) and (20, 0), 100 points each.
  const blobs = () => cc.tensor(Array.from({ length: 300 }, (_, i) => {
    const k = i % 3;
    return [k * 10 + Math.sin(i * 0.9) * 0.5, (k === 1 ? 5 : 0) + Math.cos(i * 1.3) * 0.5];
  }));

  it('finds separated clusters: their means, each point\'s nearest centre, the same for a seed', () => {
    const x = blobs();
    const r = vision.kmeans(x, 3, { seed: 7 });
    const centers = r.centers.tolist() as number[][];
    const order = [0, 1, 2].sort((a, b) => centers[a][0] - centers[b][0]);
    const xv = x.tolist() as number[][];
    order.forEach((c, k) => {
      const members = xv.filter((_, i) => i % 3 === k);
      const mean = [0, 1].map((j) => members.reduce((s, p) => s + p[j], 0) / members.length);
      expectClose(centers[c], mean, 1e-5, 1e-5, `centre ${k}`);
    });
    const a = Array.from(r.assignments.dataSync());
    a.forEach((c, i) => expect(c, `point ${i}`).to.equal(order[i % 3]));
    let inertia = 0;
    xv.forEach((p, i) => { inertia += (p[0] - centers[a[i]][0]) ** 2 + (p[1] - centers[a[i]][1]) ** 2; });
    expect(r.inertia).to.be.closeTo(inertia, 1e-3 * inertia);
    const again = vision.kmeans(x, 3, { seed: 7 });
    expect(again.centers.tolist()).to.deep.equal(r.centers.tolist());
    expect(r.iterations).to.be.below(100);
  });

  it('takes k = M (every point its own centre) and identical points; refuses what it cannot do', () => {
    const x = cc.tensor([[1, 2], [3, 4], [5, 6]]);
    const all = vision.kmeans(x, 3);
    expect(all.inertia).to.equal(0);
    expect(new Set(Array.from(all.assignments.dataSync())).size).to.equal(3);
    const same = vision.kmeans(cc.ones([4, 2]), 2);
    expect(same.inertia).to.equal(0);
    expectError(() => vision.kmeans(x, 4), 'E_ARG', /at least k points/);
    expectError(() => vision.kmeans(x, 0), 'E_ARG');
    expectError(() => vision.kmeans(x.int(), 1), 'E_DTYPE');
    expectError(() => vision.kmeans(cc.zeros([3]), 1), 'E_SHAPE');
    expectError(() => vision.kmeans(cc.tensor([[NaN, 1], [0, 1]]), 1), 'E_ARG', /NaN/);
    expectError(() => vision.kmeans(x, 2, { iters: 3 } as never), 'E_ARG', /unknown option/);
  });
});

describe('models.multiScaleOrderlessPooling', () => {
  // A toy extractor: each channel's mean and its mean square (D = 2C).
  const extract = (b: cc.Tensor) => cc.concat([cc.mean(b, [2, 3]), cc.mean(cc.square(b), [2, 3])], 1);

  it('patchFeatures: every patch of the image row by row, through the extractor (resized first)', () => {
    const { t: imgs } = randomTensor([2, 3, 10, 12], 5);
    const f = models.patchFeatures(imgs, extract, 6, 3);
    expect(f.shape).to.deep.equal([2, 2 * 3, 6]);
    // patch (row 1, column 2) of image 1: rows 3..8, columns 6..11
    const patch = cc.narrow(cc.narrow(cc.narrow(imgs, 0, 1, 1), 2, 3, 6), 3, 6, 6);
    expectClose(cc.narrow(cc.narrow(f, 0, 1, 1), 1, 1 * 3 + 2, 1).reshape([6]).dataSync(), extract(patch).reshape([6]).dataSync(), 1e-5, 1e-6, 'patch (1, 2)');
    const resized = models.patchFeatures(imgs, extract, 6, 3, { inputSize: 9, batchSize: 5 });
    expectClose(cc.narrow(cc.narrow(resized, 0, 1, 1), 1, 5, 1).reshape([6]).dataSync(), extract(F.interpolate(patch, { size: [9, 9], mode: 'bilinear' })).reshape([6]).dataSync(), 1e-5, 1e-6, 'resized');
  });

  it('concatenates the L2-normalized global feature and each patch level\'s VLAD', () => {
    const { t: imgs } = randomTensor([2, 3, 16, 16], 6);
    const f8 = models.patchFeatures(imgs, extract, 8, 4);
    const { centers } = vision.kmeans(f8.reshape([-1, 6]), 4, { seed: 1 });
    const codes = models.multiScaleOrderlessPooling(imgs, extract, [{ patch: 'global' }, { patch: 8, stride: 4, centers }], { inputSize: 12 });
    expect(codes.shape).to.deep.equal([2, 6 + 4 * 6]);
    const global = F.normalize(extract(F.interpolate(imgs, { size: [12, 12], mode: 'bilinear' })), { dim: 1 });
    const local = F.vlad(models.patchFeatures(imgs, extract, 8, 4, { inputSize: 12 }), centers);
    expectClose(codes.dataSync(), cc.concat([global, local], 1).dataSync(), 1e-5, 1e-6, 'MOP');
    // A translated copy of a patch-periodic image gets the same orderless code.
    const tile = cc.tile(cc.narrow(cc.narrow(imgs, 2, 0, 4), 3, 0, 4), [1, 1, 5, 5]);
    const a = models.multiScaleOrderlessPooling(cc.narrow(cc.narrow(tile, 2, 0, 16), 3, 0, 16), extract, [{ patch: 4, stride: 4, centers }]);
    const b = models.multiScaleOrderlessPooling(cc.narrow(cc.narrow(tile, 2, 4, 16), 3, 4, 16), extract, [{ patch: 4, stride: 4, centers }]);
    expectClose(a.dataSync(), b.dataSync(), 1e-5, 1e-6, 'translated');
  });

  it('refuses bad arguments with typed errors', () => {
    const imgs = cc.zeros([1, 3, 8, 8]);
    const c = cc.zeros([2, 6]);
    expectError(() => models.patchFeatures(cc.zeros([3, 8, 8]), extract, 4), 'E_SHAPE', /\[N, C, H, W\]/);
    expectError(() => models.patchFeatures(imgs, extract, 9), 'E_SHAPE', /does not fit/);
    expectError(() => models.patchFeatures(imgs, 'fc7' as never, 4), 'E_ARG', /extract/);
    expectError(() => models.patchFeatures(imgs, () => cc.zeros([1]), 4), 'E_SHAPE', /must return a float32/);
    expectError(() => models.multiScaleOrderlessPooling(imgs, extract, []), 'E_ARG', /non-empty/);
    expectError(() => models.multiScaleOrderlessPooling(imgs, extract, [{ patch: 4 }]), 'E_ARG', /codebook/);
    expectError(() => models.multiScaleOrderlessPooling(imgs, extract, [{ patch: 4, centers: c, size: 2 } as never]), 'E_ARG', /unknown option/);
  });
});

describeCuda('F.vlad and vision.kmeans on the GPU', () => {
  it('match the CPU', () => {
    compareDevices((x, c) => F.vlad(x, c, { intraNorm: true }), [randomCpu([2, 9, 4], 3), randomCpu([5, 4], 4)], { grads: true, what: 'vlad' });
    const x = randomCpu([40, 3], 5);
    const cpu = vision.kmeans(x, 4, { seed: 3 }), gpu = vision.kmeans(x.to('cuda'), 4, { seed: 3 });
    expect(Array.from(gpu.assignments.dataSync())).to.deep.equal(Array.from(cpu.assignments.dataSync()));
    expectClose(gpu.centers.dataSync(), cpu.centers.dataSync(), 1e-5, 1e-5, 'kmeans');
  });
});
