/**
 * The per-sample norms on the GPU against the CPU (lib/nn/functional/normalization.ts): the
 * statistics through batch norm in training mode on a [1, rows, values] view, and group and
 * instance norm's affine part through batch norm in evaluation mode with mean 0, variance 1
 * and eps 0 (cuDNN's inference function forward, our own kernels backward). Values and the
 * gradients of x, weight and bias. Skipped (and said so) where CUDA is not usable.
 */
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
});
