/**
 * The CUDA path of the activations and the other layers (native/cuda/relu.cu ... batch_norm.cu):
 * every op forward and backward (through autograd) on the GPU against the CPU backend.
 *
 * Bounds (normalised error, test/cuda-helpers.ts):
 * - 1e-5 for elementwise ops and our own kernels (float32 math, or the CPU's float64 formulas
 *   evaluated in another order);
 * - 1e-4 where cuDNN reduces or normalises in float32 while the CPU accumulates in float64
 *   (LRN's cuDNN path, batch norm's mean / variance and its backward's sums over up to a few
 *   hundred values per channel: a few float32 roundings of relative size 6e-8 each, plus the
 *   cancellation in dx = w invstd (dy - mean(dy) - xhat mean(dy xhat))).
 * Tensors whose values must match bit for bit (dropout's mask, maxout's winners) use bound 0.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import type { Tensor } from '../lib';
import { activationBackward } from '../lib/nn/functional/activation';
import { batchNormWithStats, dropoutBackward, dropoutWithMask } from '../lib/nn/functional/layers';
import { compareDevices, describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectError } from './helpers';

const { F } = cc;

/** A CPU tensor of the given values (float32). */
function values(v: number[], shape: number[] = [v.length]): Tensor {
  return cc.tensor(Float32Array.from(v), { shape });
}

/** Random values in [-1, 1) with the special values written over the first elements. */
function withSpecials(shape: number[], seed: number, specials: number[]): Tensor {
  const v = Array.from(randomCpu(shape, seed).dataSync());
  specials.forEach((s, i) => { v[i] = s; });
  return values(v, shape);
}

const ODD_SHAPES: number[][] = [[1], [7], [3, 33], [2, 3, 5, 7], [1, 1, 1, 1], [4, 17, 19, 3], [2, 3, 129, 257]];

describeCuda('activations', () => {
  const kinds: Array<[string, (x: Tensor) => Tensor]> = [
    ['relu', (x) => F.relu(x)],
    ['leakyRelu(0.01)', (x) => F.leakyRelu(x)],
    ['leakyRelu(-0.3)', (x) => F.leakyRelu(x, -0.3)],
    ['elu(1)', (x) => F.elu(x)],
    ['elu(0.5)', (x) => F.elu(x, 0.5)],
    ['elu(-0.7)', (x) => F.elu(x, -0.7)],  // alpha < 0: our own forward kernel
    ['elu(0)', (x) => F.elu(x, 0)],
    ['sigmoid', (x) => F.sigmoid(x)],
    ['tanh', (x) => F.tanh(x)],
  ];
  for (const [name, fn] of kinds) {
    it(`${name}: forward and gradient match the CPU on odd shapes`, () => {
      ODD_SHAPES.forEach((shape, i) => {
        compareDevices(fn, [randomCpu(shape, 10 + i, -4, 4)], { bound: 1e-5, grads: true, what: `${name} ${shape}` });
      });
    });
    it(`${name}: exactly 0 and -0 (the kink: ReLU's gradient there is 0, ELU's alpha), and large inputs`, () => {
      const x = withSpecials([5, 37], 3, [0, -0, 1e-45, -1e-45, 0, -0, 1e-38, -1e-38]);
      compareDevices(fn, [x], { bound: 1e-5, grads: true, what: `${name} zeros` });
      // alone, so that the random values are not measured against 3.4e38 (the error is relative
      // to the largest value); what matters is that nothing overflows to inf or NaN
      const large = values([30, -30, 50, -50, 88, -88, 100, -100, 1e4, -1e4, 3.4e38, -3.4e38]);
      compareDevices(fn, [large], { bound: 1e-5, grads: true, what: `${name} large` });
    });
    it(`${name}: empty tensors`, () => {
      compareDevices(fn, [cc.zeros([0, 3])], { bound: 0, grads: true, what: name });
    });
  }

  // The GPU composes these from tensor ops; the CPU runs them as one native pass each way
  // (native/cpu/gelu.cc, hardswish.cc, silu.cc, ...): the two must agree.
  for (const [name, fn] of [
    ['gelu', (x: Tensor) => F.gelu(x)],
    ['gelu tanh', (x: Tensor) => F.gelu(x, { approximate: 'tanh' })],
    ['hardsigmoid', (x: Tensor) => F.hardsigmoid(x)],
    ['hardswish', (x: Tensor) => F.hardswish(x)],
    ['silu', (x: Tensor) => F.silu(x)],
    ['mish', (x: Tensor) => F.mish(x)],
    ['softplus', (x: Tensor) => F.softplus(x)],
    ['softplus beta 2 threshold 5', (x: Tensor) => F.softplus(x, 2, 5)],
    ['logSigmoid', (x: Tensor) => F.logSigmoid(x)],
    ['softsign', (x: Tensor) => F.softsign(x)],
    ['tanhshrink', (x: Tensor) => F.tanhshrink(x)],
    ['softshrink', (x: Tensor) => F.softshrink(x, 0.5)],
    ['hardshrink', (x: Tensor) => F.hardshrink(x, 0.5)],
    ['threshold', (x: Tensor) => F.threshold(x, 0.1, 20)],
    ['hardtanh', (x: Tensor) => F.hardtanh(x, -2, 2)],
    ['selu', (x: Tensor) => F.selu(x)],
    ['celu 0.5', (x: Tensor) => F.celu(x, 0.5)],
  ] as const) {
    it(`${name} (composed on the GPU): forward and gradient match the CPU's native op`, () => {
      ODD_SHAPES.forEach((shape, i) => {
        compareDevices(fn, [randomCpu(shape, 40 + i, -6, 6)], { bound: 1e-5, grads: true, what: `${name} ${shape}` });
      });
    });
  }

  it('ReLU and Leaky ReLU: NaN and inf, as the CPU (NaN passes through; ReLU gradient 0 at NaN)', () => {
    const x = withSpecials([3, 41], 5, [NaN, Infinity, -Infinity, 0, -0, NaN, 1e-45, -1e-45, 1e-38, -1e-38]);
    // relu: cuDNN's kernel may flush the denormal 1e-45 to 0 (an error of 1e-45, under the bound)
    compareDevices((t) => F.relu(t), [x], { bound: 1e-30, grads: true, what: 'relu specials' });
    compareDevices((t) => F.leakyRelu(t, 0.2), [x], { bound: 0, grads: true, what: 'leakyRelu specials' });
    const y = F.relu(x.to('cuda')).dataSync();
    expect(Number.isNaN(y[0]) && Number.isNaN(y[5])).to.equal(true);
    expect([y[1], y[2], y[3], y[4]].map((v) => v + 0)).to.deep.equal([Infinity, 0, 0, 0]);  // + 0: -0 counts as 0
  });

  it('sigmoid and tanh saturate exactly at +-inf, as the CPU', () => {
    const x = values([Infinity, -Infinity, 0, -0, 1, -1]);
    compareDevices((t) => F.sigmoid(t), [x], { bound: 1e-6, grads: true, what: 'sigmoid inf' });
    compareDevices((t) => F.tanh(t), [x], { bound: 1e-6, grads: true, what: 'tanh inf' });
  });

  it('refuses mixed devices with E_DEVICE', () => {
    const g = randomCpu([2, 3], 1).to('cuda');
    expectError(() => activationBackward('relu', randomCpu([2, 3], 2), g, F.relu(g)), 'E_DEVICE');
    expectError(() => activationBackward('elu', g, randomCpu([2, 3], 2), g, 1), 'E_DEVICE');
  });
});

describeCuda('prelu, maxout', () => {
  it('prelu with one slope and with one per channel, 1-D to 4-D, large enough for several partial sums', () => {
    const cases: Array<[number[], number]> = [
      [[7], 1], [[4, 6], 6], [[4, 6], 1], [[2, 3, 5, 4], 3], [[2, 3, 5, 4], 1], [[1, 5, 9], 5],
      [[32, 4, 30, 30], 4], [[32, 4, 30, 30], 1], [[3, 17, 65], 17],
    ];
    cases.forEach(([shape, params], i) => {
      const w = randomCpu([params], 50 + i, -0.5, 0.5);
      compareDevices((x, ww) => F.prelu(x, ww), [randomCpu(shape, 20 + i, -2, 2), w], { bound: 1e-5, grads: true, what: `prelu ${shape} w[${params}]` });
    });
  });

  it('prelu: 0, -0 and x <= 0 positions of every channel', () => {
    const x = withSpecials([3, 4, 5], 9, [0, -0, 0, -0, -1e-45, 1e-45]);
    compareDevices((t, w) => F.prelu(t, w), [x, values([0.25, -0.5, 2, 0])], { bound: 1e-5, grads: true, what: 'prelu zeros' });
  });

  it('maxout over every divisor of C, with ties (the first maximum wins) and NaN', () => {
    const tied = (shape: number[], seed: number) => values(Array.from(randomCpu(shape, seed, 0, 3).dataSync()).map(Math.floor), shape);
    for (const pieces of [1, 2, 3, 6]) {
      compareDevices((x) => F.maxout(x, pieces), [randomCpu([2, 6, 5, 3], 30 + pieces)], { bound: 0, grads: true, what: `maxout ${pieces}` });
      compareDevices((x) => F.maxout(x, pieces), [tied([3, 6, 7], 40 + pieces)], { bound: 0, grads: true, what: `maxout ties ${pieces}` });
    }
    compareDevices((x) => F.maxout(x, 4), [randomCpu([5, 8], 61)], { bound: 0, grads: true, what: 'maxout 2-D' });
    compareDevices((x) => F.maxout(x, 3), [randomCpu([4, 9, 33, 17], 62)], { bound: 0, grads: true, what: 'maxout large' });
    const nan = withSpecials([1, 4, 3], 63, [NaN, 0.5, -0.5, 0.25, NaN, NaN]);
    compareDevices((x) => F.maxout(x, 2), [nan], { bound: 0, grads: true, what: 'maxout NaN' });
  });

  it('refuses mixed devices with E_DEVICE', () => {
    expectError(() => F.prelu(randomCpu([2, 3], 1).to('cuda'), values([0.1, 0.2, 0.3])), 'E_DEVICE');
  });
});

describeCuda('softmax, logSoftmax', () => {
  it('along every axis of a 4-D tensor, and of 1-D, 2-D and 0-D ones', () => {
    const x = randomCpu([3, 5, 7, 9], 70, -3, 3);
    for (const fn of [F.softmax, F.logSoftmax]) {
      for (let dim = -4; dim < 4; dim++) {
        compareDevices((t) => fn(t, dim), [x], { bound: 1e-5, grads: true, what: `${fn.name} dim ${dim}` });
      }
      compareDevices((t) => fn(t, 0), [randomCpu([1000], 71, -5, 5)], { bound: 1e-5, grads: true, what: `${fn.name} 1-D` });
      compareDevices((t) => fn(t, 1), [randomCpu([1, 10], 72)], { bound: 1e-5, grads: true, what: `${fn.name} batch 1` });
      compareDevices((t) => fn(t, 0), [randomCpu([37, 2], 73)], { bound: 1e-5, grads: true, what: `${fn.name} axis 0` });
      compareDevices((t) => fn(t, -1), [values([0.5], [])], { bound: 1e-5, grads: true, what: `${fn.name} 0-D` });
      compareDevices((t) => fn(t, 1), [randomCpu([2, 3000, 3], 74)], { bound: 1e-5, grads: true, what: `${fn.name} long axis` });
    }
  });

  it('large inputs do not overflow; -inf entries are masked out; empty tensors', () => {
    for (const fn of [F.softmax, F.logSoftmax]) {
      compareDevices((t) => fn(t, 1), [randomCpu([4, 33], 75, -1000, 1000)], { bound: 1e-5, grads: true, what: `${fn.name} 1000` });
      compareDevices((t) => fn(t, 1), [randomCpu([4, 33], 76, 1e30, 2e30)], { bound: 1e-5, grads: false, what: `${fn.name} 1e30` });
      const masked = withSpecials([2, 9], 77, [-Infinity, 0.5, -Infinity, 2, 1]);
      compareDevices((t) => fn(t, 1), [masked], { bound: 1e-5, grads: true, what: `${fn.name} -inf` });
      compareDevices((t) => fn(t, 1), [cc.zeros([0, 4])], { bound: 0, grads: true, what: `${fn.name} empty` });
    }
  });
});

describeCuda('dropout', () => {
  it('draws the same mask on both devices for the same manualSeed (p = 0.5, 0.1, 1), odd sizes', () => {
    for (const p of [0.5, 0.1, 1]) {
      for (const shape of [[1], [3], [5], [7, 13], [2, 3, 33, 17]]) {
        const x = randomCpu(shape, 80);
        cc.manualSeed(1234);
        const c = dropoutWithMask(x, p);
        cc.manualSeed(1234);
        const g = dropoutWithMask(x.to('cuda'), p);
        expectSameValues(g.mask!, c.mask!, 0, `mask p=${p} ${shape}`);
        expectSameValues(g.y, c.y, 0, `y p=${p} ${shape}`);
        const dy = randomCpu(shape, 81);
        expectSameValues(dropoutBackward(dy.to('cuda'), g.mask, p), dropoutBackward(dy, c.mask, p), 0, `dx p=${p}`);
      }
    }
  });

  it('later calls continue the same stream of numbers on both devices', () => {
    const x = randomCpu([1001], 82);
    cc.manualSeed(99);
    const c1 = dropoutWithMask(x, 0.3).mask!, c2 = dropoutWithMask(x, 0.3).mask!;
    cc.manualSeed(99);
    const g1 = dropoutWithMask(x.to('cuda'), 0.3).mask!, g2 = dropoutWithMask(x.to('cuda'), 0.3).mask!;
    expectSameValues(g1, c1, 0, 'first mask');
    expectSameValues(g2, c2, 0, 'second mask');
    expect(Array.from(c1.dataSync())).to.not.deep.equal(Array.from(c2.dataSync()));
  });

  it('forward and gradient through autograd (p = 0, 0.5, 1); a dropped NaN gives NaN, as the CPU', () => {
    for (const p of [0, 0.5, 1]) {
      compareDevices((t) => { cc.manualSeed(7); return F.dropout(t, p); }, [randomCpu([4, 5, 6], 83)], { bound: 0, grads: true, what: `dropout ${p}` });
    }
    const x = withSpecials([64], 84, [NaN, Infinity, -Infinity, NaN, 1]);
    compareDevices((t) => { cc.manualSeed(8); return F.dropout(t, 0.5); }, [x], { bound: 0, grads: false, what: 'dropout specials' });
  });

  it('refuses mixed devices with E_DEVICE', () => {
    cc.manualSeed(1);
    const { mask } = dropoutWithMask(randomCpu([6], 1), 0.5);
    expectError(() => dropoutBackward(randomCpu([6], 2).to('cuda'), mask, 0.5), 'E_DEVICE');
  });
});

describeCuda('localResponseNorm', () => {
  // alpha = 2 makes the window's contents matter (PyTorch's default 1e-4 would hide a window
  // off by one channel under the bound).
  const shapes = [[2, 7, 5, 3], [3, 6, 11], [2, 5, 3, 2, 2], [1, 16, 4, 4]];
  it('sizes 1..6 (odd: cuDNN; even: our kernels, PyTorch\'s window) on 3-D, 4-D and 5-D inputs', () => {
    for (let size = 1; size <= 6; size++) {
      const bound = size % 2 === 1 ? 1e-4 : 1e-5;
      shapes.forEach((shape, i) => {
        compareDevices((x) => F.localResponseNorm(x, size, 2, 0.75, 1), [randomCpu(shape, 90 + i)], { bound, grads: true, what: `lrn size ${size} ${shape}` });
      });
    }
  });

  it('beta 0.5, 1, 0.3 and 2; sizes past cuDNN\'s limits (17, larger than C), k below them, beta 0', () => {
    const x = randomCpu([2, 20, 3, 5], 95);
    const cases: Array<[number, number, number, number, number]> = [
      // size, alpha, beta, k, bound (1e-4: cuDNN's float32 path; 1e-5: ours)
      [5, 1, 0.5, 1, 1e-4], [3, 1, 1, 2, 1e-4], [5, 0.5, 0.3, 1, 1e-4], [5, 1, 2, 1, 1e-4], [5, 1e-4, 0.75, 1, 1e-4],
      [17, 1, 0.75, 1, 1e-5], [25, 1, 0.75, 1, 1e-5], [4, 1, 0.75, 0.5, 1e-5],
      [3, 1, 0.75, 0, 1e-5], [3, 1, 0, 1, 1e-5], [3, 1, 0.005, 1, 1e-5],
    ];
    for (const [size, alpha, beta, k, bound] of cases) {
      const input = k === 0 ? randomCpu([2, 20, 3, 5], 96, 0.5, 1.5) : x;  // k = 0: keep d away from 0
      compareDevices((t) => F.localResponseNorm(t, size, alpha, beta, k), [input], { bound, grads: true, what: `lrn ${size} ${alpha} ${beta} ${k}` });
    }
  });
});

describeCuda('batchNorm', () => {
  const shapes = [[8, 5], [4, 3, 7], [3, 4, 5, 6], [1, 3, 4, 4], [2, 3, 2, 2, 3], [16, 7, 13, 11]];

  for (const affine of [true, false]) {
    for (const stats of [true, false]) {
      it(`training, affine ${affine}, running stats ${stats}: y, saved mean / invstd, gradients and the updated running stats`, () => {
        shapes.forEach((shape, i) => {
          const C = shape[1];
          const rmCpu = randomCpu([C], 100 + i, -0.5, 0.5), rvCpu = randomCpu([C], 110 + i, 0.5, 1.5);
          const rmGpu = rmCpu.to('cuda'), rvGpu = rvCpu.to('cuda');
          const rm = (x: Tensor) => (stats ? (x.device === 'cuda' ? rmGpu : rmCpu) : null);
          const rv = (x: Tensor) => (stats ? (x.device === 'cuda' ? rvGpu : rvCpu) : null);
          const inputs = [randomCpu(shape, 120 + i, -2, 3)];
          if (affine) inputs.push(randomCpu([C], 130 + i, 0.5, 1.5), randomCpu([C], 140 + i));
          compareDevices((x, w, b) => {
            const r = batchNormWithStats(x, rm(x), rv(x), w ?? null, b ?? null, { training: true, momentum: 0.3, eps: 1e-5 });
            return [r.y, r.mean, r.invstd];
          }, inputs, { bound: 1e-4, grads: true, what: `bn train ${shape}` });
          if (stats) {
            // Note [in-place running stats]: unbiased variance, momentum 0.3, on both devices.
            expectSameValues(rmGpu, rmCpu, 1e-5, `running mean ${shape}`);
            expectSameValues(rvGpu, rvCpu, 1e-4, `running var ${shape}`);
          }
        });
      });
    }
    it(`evaluation, affine ${affine}: y, saves and gradients (our kernels for the backward)`, () => {
      shapes.forEach((shape, i) => {
        const C = shape[1];
        const rmCpu = randomCpu([C], 150 + i, -0.5, 0.5), rvCpu = randomCpu([C], 160 + i, 0.5, 1.5);
        const rmGpu = rmCpu.to('cuda'), rvGpu = rvCpu.to('cuda');
        const inputs = [randomCpu(shape, 170 + i, -2, 3)];
        if (affine) inputs.push(randomCpu([C], 180 + i, 0.5, 1.5), randomCpu([C], 190 + i));
        compareDevices((x, w, b) => {
          const gpu = x.device === 'cuda';
          const r = batchNormWithStats(x, gpu ? rmGpu : rmCpu, gpu ? rvGpu : rvCpu, w ?? null, b ?? null, { training: false, eps: 1e-3 });
          return [r.y, r.mean, r.invstd];
        }, inputs, { bound: 1e-5, grads: true, what: `bn eval ${shape}` });
        expectSameValues(rmGpu, rmCpu, 0, 'running mean untouched');
        expectSameValues(rvGpu, rvCpu, 0, 'running var untouched');
      });
    });
  }

  it('momentum 0 and 1, eps 0; an empty batch', () => {
    for (const momentum of [0, 1]) {
      const rmCpu = randomCpu([3], 200), rvCpu = randomCpu([3], 201, 0.5, 1);
      const rmGpu = rmCpu.to('cuda'), rvGpu = rvCpu.to('cuda');
      compareDevices((x) => {
        const gpu = x.device === 'cuda';
        return F.batchNorm(x, gpu ? rmGpu : rmCpu, gpu ? rvGpu : rvCpu, null, null, { momentum, eps: 0 });
      }, [randomCpu([5, 3, 4], 202)], { bound: 1e-4, grads: true, what: `momentum ${momentum}` });
      expectSameValues(rmGpu, rmCpu, 1e-5, `running mean, momentum ${momentum}`);
      expectSameValues(rvGpu, rvCpu, 1e-4, `running var, momentum ${momentum}`);
    }
    compareDevices((x) => {
      const r = batchNormWithStats(x, null, null, null, null, { training: true });
      return [r.y, r.mean, r.invstd];
    }, [cc.zeros([0, 3, 4])], { bound: 0, grads: false, what: 'empty batch' });
  });

  it('refuses running stats on another device with E_DEVICE', () => {
    expectError(() => F.batchNorm(randomCpu([4, 3], 1).to('cuda'), cc.zeros([3]), cc.ones([3])), 'E_DEVICE');
  });
});
