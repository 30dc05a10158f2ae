/**
 * The per-sample norms on the GPU against the CPU (lib/nn/functional/normalization.ts): the
 * native layer norm and group norm ops (native/cuda/layer_norm.cu, group_norm.cu; instance
 * norm is group norm with one group per channel). Values and the gradients of x, weight and
 * bias, over short and long rows, many rows (dweight and dbias summed over groups of 64 rows),
 * rows of one value, NaN and empty inputs. Skipped (and said so) where CUDA is not usable.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';

const { F } = cc;

describeCuda('cuda: layerNorm, groupNorm, instanceNorm', () => {
  it('forward and backward (x, weight, bias) within float rounding of the CPU', () => {
    const x = randomCpu([4, 16, 7, 5], 1, -2, 3);
    const w16 = randomCpu([16], 2), b16 = randomCpu([16], 3);
    compareDevices((t, w, b) => F.groupNorm(t, 4, { weight: w, bias: b }), [x, w16, b16], { bound: 1e-5, grads: true, what: 'groupNorm' });
    compareDevices((t, w) => F.groupNorm(t, 8, { weight: w }), [x, w16], { bound: 1e-5, grads: true, what: 'groupNorm weight only' });
    compareDevices((t, b) => F.instanceNorm(t, { bias: b }), [x, b16], { bound: 1e-5, grads: true, what: 'instanceNorm bias only' });
    compareDevices((t, w, b) => F.instanceNorm(t, { weight: w, bias: b }), [x, w16, b16], { bound: 1e-5, grads: true, what: 'instanceNorm' });
    compareDevices((t) => F.groupNorm(t, 2), [randomCpu([3, 6], 4)], { bound: 1e-5, grads: true, what: 'groupNorm [N, C]' });
    const wl = randomCpu([7, 5], 5), bl = randomCpu([7, 5], 6);
    compareDevices((t, w, b) => F.layerNorm(t, [7, 5], { weight: w, bias: b }), [x, wl, bl], { bound: 1e-5, grads: true, what: 'layerNorm' });
  });

  it('layer norm over long rows and many rows, group norm over long groups, as the CPU', () => {
    const wide = randomCpu([3, 20000], 11, -2, 3), ww = randomCpu([20000], 12), bw = randomCpu([20000], 13);
    compareDevices((t, w, b) => F.layerNorm(t, 20000, { weight: w, bias: b }), [wide, ww, bw], { bound: 1e-5, grads: true, what: 'layerNorm [20000]' });
    const tall = randomCpu([300, 45], 14), wt = randomCpu([45], 15), bt = randomCpu([45], 16);
    compareDevices((t, w, b) => F.layerNorm(t, 45, { weight: w, bias: b }), [tall, wt, bt], { bound: 1e-5, grads: true, what: 'layerNorm 300 rows' });
    compareDevices((t) => F.layerNorm(t, 45), [tall], { bound: 1e-5, grads: true, what: 'layerNorm no affine' });
    const long = randomCpu([2, 4, 9000], 17), w4 = randomCpu([4], 18), b4 = randomCpu([4], 19);
    compareDevices((t, w, b) => F.groupNorm(t, 2, { weight: w, bias: b }), [long, w4, b4], { bound: 1e-5, grads: true, what: 'groupNorm [2, 4, 9000]' });
  });

  it('more rows than the 2^20 blocks of the per-row kernels: each block loops over rows', () => {
    // norm_rows.cuh's row_blocks caps the grid at 2^20 blocks: only here do layer_norm.cu's and
    // group_norm.cu's per-row kernels (and group norm's per-(n, c) sums) take a second row.
    cc.manualSeed(42);
    const x = cc.rand([(1 << 20) + 7, 4], -2, 3), w4 = randomCpu([4], 7), b4 = randomCpu([4], 8);
    compareDevices((t, w, b) => F.layerNorm(t, 4, { weight: w, bias: b }), [x, w4, b4], { bound: 1e-5, grads: true, what: 'layerNorm of 2^20 + 7 rows' });
    compareDevices((t, w, b) => F.groupNorm(t, 2, { weight: w, bias: b }), [x, w4, b4], { bound: 1e-5, grads: true, what: 'groupNorm of 2^20 + 7 samples' });
  });

  it('rows of one value give 0 (and b), NaN propagates, empty inputs give empty outputs', () => {
    const one = cc.tensor([3, -2, 7, 1], { shape: [4, 1] }), w = cc.tensor([2]), b = cc.tensor([0.5]);
    compareDevices((t, g, h) => F.layerNorm(t, 1, { weight: g, bias: h, eps: 0 }), [one, w, b], { bound: 1e-6, grads: true, what: 'layerNorm of one value' });
    const nan = cc.tensor([1, 2, NaN, 4, 5, 6], { shape: [2, 3] }).to('cuda');
    const y = Array.from(F.layerNorm(nan, 3).dataSync());
    expect(y.slice(0, 3).every(Number.isNaN)).to.equal(true);
    expect(y.slice(3).every(Number.isFinite)).to.equal(true);
    const w8 = cc.ones([8], { device: 'cuda', requiresGrad: true });
    const empty = cc.zeros([2, 8, 0], { device: 'cuda', requiresGrad: true });
    const e = F.groupNorm(empty, 4, { weight: w8 });
    expect(e.shape).to.deep.equal([2, 8, 0]);
    e.sum().backward();
    expect(Array.from(w8.grad!.dataSync())).to.deep.equal(new Array(8).fill(0));
  });
});
