import { expect } from 'chai';
import * as cc from '../lib';
import { activationBackward } from '../lib/nn/functional/activation';
import { expectClose, expectError, gradCheck, loadFixture, randomTensor } from './helpers';

const { F } = cc;
type Kind = 'relu' | 'leakyRelu' | 'elu' | 'sigmoid' | 'tanh';
const forward: Record<Kind, (x: cc.Tensor, p: number) => cc.Tensor> = {
  relu: (x) => F.relu(x), leakyRelu: (x, p) => F.leakyRelu(x, p), elu: (x, p) => F.elu(x, p), sigmoid: (x) => F.sigmoid(x), tanh: (x) => F.tanh(x),
};
const reference: Record<Kind, (v: number, p: number) => number> = {
  relu: (v) => Math.max(v, 0),
  leakyRelu: (v, p) => (v > 0 ? v : p * v),
  elu: (v, p) => (v > 0 ? v : p * Math.expm1(v)),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: Math.tanh,
};
const PARAMS: [Kind, number][] = [['relu', 0], ['leakyRelu', 0.01], ['leakyRelu', 0.3], ['elu', 1], ['elu', 0.7], ['sigmoid', 0], ['tanh', 0]];

describe('F: pointwise activations', () => {
  for (const [kind, p] of PARAMS) {
    it(`${kind}(${p}) matches a float64 reference, and its gradient finite differences`, () => {
      for (const [k, shape] of [[1], [13], [2, 3, 5, 7], [100003]].entries()) {
        const { t, v } = randomTensor(shape, 11 + k, -6, 6);
        expectClose(forward[kind](t, p).dataSync(), v.map((x) => reference[kind](x, p)), 3e-6, 1e-7, kind);
      }
      // Keep away from the kink at 0: |x| >= 0.05 > h.
      const { v } = randomTensor([3, 4, 5], 5, -3, 3);
      const values = v.map((x) => (Math.abs(x) < 0.05 ? x + 0.1 * Math.sign(x || 1) : x));
      gradCheck({
        what: kind,
        inputs: [{ shape: [3, 4, 5], values }],
        forward: ([x]) => forward[kind](x, p),
        backward: (dy, [x], y) => [activationBackward(kind, dy, x, y, p)],
      });
    });
  }

  it('agrees with PyTorch (committed fixtures)', () => {
    type Case = { op: Kind; kwargs: { negativeSlope?: number; alpha?: number }; x: { shape: number[]; values: number[] }; dy: { values: number[] }; y: { values: number[] }; dx: { values: number[] } };
    const { cases } = loadFixture<{ cases: Case[] }>('activation');
    expect(cases.length).to.be.above(10);
    for (const c of cases) {
      const p = c.kwargs.negativeSlope ?? c.kwargs.alpha ?? 0;
      const x = cc.tensor(c.x.values, { shape: c.x.shape });
      const y = forward[c.op](x, p);
      expectClose(y.dataSync(), c.y.values, 2e-6, 1e-7, `${c.op} forward`);
      const dx = activationBackward(c.op, cc.tensor(c.dy.values, { shape: c.x.shape }), x, y, p);
      expectClose(dx.dataSync(), c.dx.values, 2e-6, 1e-7, `${c.op} backward`);
    }
  });

  it('ReLU has gradient 0 at exactly 0, as PyTorch; NaN passes through', () => {
    const x = cc.tensor([0, -0, 1, NaN]);
    const y = F.relu(x);
    expect(Number.isNaN(y.dataSync()[3])).to.equal(true);
    expect(Array.from(activationBackward('relu', cc.ones([4]), x, y).dataSync())).to.deep.equal([0, 0, 1, 0]);
  });

  it('ReLU gives exactly max(x, 0) with PyTorch\'s specials (NaN stays NaN, -0 stays -0), in the vector body and the tail', () => {
    const special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];
    const { v } = randomTensor([61], 5, -2, 2);
    const values = Float32Array.from([...special, ...v, ...special]);
    const y = F.relu(cc.tensor(values)).dataSync();
    values.forEach((xv, i) => {
      const want = xv < 0 ? 0 : xv;  // torch.relu: -0 -> -0, NaN -> NaN
      expect(Object.is(y[i], want), `y at ${i} (x = ${xv}): ${y[i]} vs ${want}`).to.equal(true);
    });
  });

  it('Leaky ReLU gives exactly x or fround(slope * x), special values included, in the vector body and the tail', () => {
    const slope = Math.fround(0.3);
    const special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];
    const { v } = randomTensor([61], 3, -2, 2);
    const values = Float32Array.from([...special, ...v, ...special]);
    const x = cc.tensor(values);
    const y = F.leakyRelu(x, slope).dataSync();
    const dx = activationBackward('leakyRelu', cc.full([values.length], -1.5), x, F.leakyRelu(x, slope), slope).dataSync();
    values.forEach((xv, i) => {
      const want = xv > 0 ? xv : Math.fround(xv * slope);
      expect(Object.is(y[i], want) || (Number.isNaN(y[i]) && Number.isNaN(want)), `y at ${i} (x = ${xv}): ${y[i]} vs ${want}`).to.equal(true);
      expect(dx[i], `dx at ${i} (x = ${xv})`).to.equal(xv > 0 ? -1.5 : Math.fround(-1.5 * slope));
    });
  });

  // ELU, sigmoid and tanh compute exp / expm1 / tanh in vector loops of their own
  // (native/cpu/inline_math.h, vec_math.h), not with the C library: check them over the whole
  // range, near the switch points (tanh's 0.55, the exp reduction's k = 0 edge at +-0.35), and at
  // the special values, ulp-tight.
  for (const [kind, p, ulps] of [['elu', 1, 1.5], ['elu', 0.7, 2.5], ['sigmoid', 0, 3], ['tanh', 0, 2]] as [Kind, number, number][]) {
    it(`${kind}(${p}): within ${ulps} ulp of float64 over [-100, 100], special values exact`, () => {
      const values: number[] = [];
      for (let i = 0; i <= 200000; i++) values.push(-100 + i / 1000);
      for (const c of [0.55, 0.3466, 0.1733, 1e-4, 1e-20]) for (let k = -200; k <= 200; k++) values.push(c * (1 + k * 1e-6), -c * (1 + k * 1e-6));
      const x = Float32Array.from(values);
      const y = cc.tidy(() => forward[kind](cc.tensor(x), p).dataSync());
      x.forEach((v, i) => {
        const want = reference[kind](v, p);
        // one float ulp at the reference, at least the smallest normal's (subnormal results keep fewer bits)
        const ulp = Math.max(Math.abs(want), 2 ** -126) * 2 ** -23;
        if (!(Math.abs(y[i] - want) <= ulps * ulp)) expect.fail(`${kind}(${v}) = ${y[i]}, float64 ${want}: ${(Math.abs(y[i] - want) / ulp).toFixed(2)} ulp`);
      });
      const special = Float32Array.from([NaN, Infinity, -Infinity, 0, -0, -88, -87.9, -1000, 1000, 3e38, -3e38, 1e-45, -1e-45]);
      const ys = cc.tidy(() => forward[kind](cc.tensor(special), p).dataSync());
      special.forEach((v, i) => {
        const want = Math.fround(reference[kind](v, p));
        const ok = Object.is(ys[i], want) || (Number.isNaN(ys[i]) && Number.isNaN(want)) || Math.abs(ys[i] - want) <= 2 ** -149;
        expect(ok, `${kind}(${v}) = ${ys[i]}, want ${want}`).to.equal(true);
      });
    });
  }

  it('refuses bad input with typed errors', () => {
    expectError(() => F.relu(cc.zeros([2], 'int32')), 'E_DTYPE', /relu: expected `x` of dtype float32/);
    expectError(() => F.leakyRelu(cc.zeros([2]), NaN), 'E_ARG', /negativeSlope/);
    expectError(() => F.elu('x' as unknown as cc.Tensor), 'E_ARG', /elu: expected `x` to be a Tensor/);
    expectError(() => activationBackward('tanh', cc.zeros([2]), cc.zeros([3]), cc.zeros([3])), 'E_SHAPE');
    const d = cc.zeros([2]);
    d.dispose();
    expectError(() => F.sigmoid(d), 'E_DISPOSED');
  });
});
