/**
 * Pointwise maths and NaN-aware reductions (lib/pointwise.ts): values and gradients against
 * PyTorch (test/fixtures/make/pointwise_shapes.py, float64), gradients against finite
 * differences, the edges (infinities, NaN, -0), typed errors, and the GPU against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectBitIdentical, expectError, tapeCheck } from './helpers';
import { native } from '../lib/native';
import { fixtureCases } from './pointwise-shapes-cases';

type Args = Record<string, unknown>;
const dim = (a: Args) => (a.dim ?? undefined) as number | number[] | undefined;

describe('pointwise maths and NaN-aware reductions', () => {
  fixtureCases({
    logaddexp: ([a, b]) => cc.logaddexp(a, b),
    logaddexp2: ([a, b]) => cc.logaddexp2(a, b),
    logit: ([x], a) => cc.logit(x, a.eps as number | null),
    xlogy: ([x, y]) => cc.xlogy(x, y),
    hypot: ([a, b]) => cc.hypot(a, b),
    lerp: ([s, e, w], a) => cc.lerp(s, e, w ?? (a.weight as number)),
    addcmul: ([i, t1, t2], a) => cc.addcmul(i, t1, t2, { value: a.value as number | undefined }),
    addcdiv: ([i, t1, t2], a) => cc.addcdiv(i, t1, t2, { value: a.value as number | undefined }),
    frac: ([x]) => cc.frac(x),
    sinc: ([x]) => cc.sinc(x),
    deg2rad: ([x]) => cc.deg2rad(x),
    rad2deg: ([x]) => cc.rad2deg(x),
    heaviside: ([x, v]) => cc.heaviside(x, v),
    copysign: ([a, b]) => cc.copysign(a, b),
    signbit: ([x]) => cc.signbit(x),
    nanToNum: ([x], a) => cc.nanToNum(x, a as cc.NanToNumOptions),
    nansum: ([x], a) => cc.nansum(x, dim(a), a.keepdim as boolean),
    nanmean: ([x], a) => cc.nanmean(x, dim(a), a.keepdim as boolean),
    countNonzero: ([x], a) => cc.countNonzero(x, dim(a)),
    amax: ([x], a) => cc.amax(x, dim(a), a.keepdim as boolean),
    amin: ([x], a) => cc.amin(x, dim(a), a.keepdim as boolean),
    aminmax: ([x], a) => {
      const r = cc.aminmax(x, { dim: a.dim as number | null, keepdim: a.keepdim as boolean });
      return [r.min, r.max];
    },
  });

  it('gradients match finite differences', () => {
    const away = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, (_, i) => lo + ((i * 7) % n + 0.5) * (hi - lo) / n);
    tapeCheck('logaddexp', [{ shape: [3, 4] }, { shape: [4] }], ([a, b]) => cc.logaddexp(a.mul(3), b));
    tapeCheck('logaddexp2', [{ shape: [3, 1] }, { shape: [4] }], ([a, b]) => cc.logaddexp2(a, b.mul(2)));
    tapeCheck('logit', [{ shape: [10], values: away(10, 0.1, 0.9) }], ([x]) => cc.logit(x));
    tapeCheck('logit eps', [{ shape: [10], values: away(10, 0.03, 0.97) }], ([x]) => cc.logit(x, 0.25));
    tapeCheck('xlogy', [{ shape: [2, 5] }, { shape: [5], values: away(5, 0.3, 2) }], ([x, y]) => cc.xlogy(x, y));
    tapeCheck('hypot', [{ shape: [8], values: away(8, -3, 3) }, { shape: [8], values: away(8, 0.5, 2) }], ([a, b]) => cc.hypot(a, b));
    tapeCheck('lerp', [{ shape: [3, 4] }, { shape: [4] }, { shape: [3, 1], values: Float64Array.from([-0.3, 0.45, 1.2]) }], ([s, e, w]) => cc.lerp(s, e, w));
    tapeCheck('lerp number', [{ shape: [6] }, { shape: [6] }], ([s, e]) => cc.lerp(s, e, 0.8).add(cc.lerp(s, e, 0.1)));
    tapeCheck('addcmul, addcdiv', [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1], values: Float64Array.from([0.7, -1.3]) }],
      ([i, a, b]) => cc.addcmul(i, a, b, { value: 0.5 }).add(cc.addcdiv(i, a, b, { value: -2 })));
    tapeCheck('frac', [{ shape: [6], values: Float64Array.from([0.3, -0.4, 1.7, -2.2, 5.45, -0.65]) }], ([x]) => cc.frac(x));
    tapeCheck('sinc', [{ shape: [8], values: away(8, -2.1, 2.3) }], ([x]) => cc.sinc(x));
    tapeCheck('deg2rad, rad2deg', [{ shape: [5] }], ([x]) => cc.deg2rad(x).add(cc.rad2deg(x)));
    tapeCheck('copysign', [{ shape: [6], values: away(6, -2, 2) }, { shape: [6] }], ([a, b]) => cc.copysign(a, b));
    tapeCheck('nanToNum', [{ shape: [5] }], ([x]) => cc.nanToNum(x.mul(2)));
    const withNaN = Float64Array.from({ length: 12 }, (_, i) => (i % 5 === 2 ? NaN : Math.sin(i)));
    tapeCheck('nansum', [{ shape: [3, 4], values: withNaN }], ([x]) => cc.nansum(x, 1, true));
    tapeCheck('nanmean', [{ shape: [3, 4], values: withNaN }], ([x]) => cc.nanmean(x, 0));
    const distinct = Float64Array.from({ length: 12 }, (_, i) => ((i * 5) % 12) / 6 - 1);
    tapeCheck('amax', [{ shape: [3, 4], values: distinct }], ([x]) => cc.amax(x, 1));
    tapeCheck('amin', [{ shape: [3, 4], values: distinct }], ([x]) => cc.amin(x, [0, 1], true));
    tapeCheck('aminmax', [{ shape: [3, 4], values: distinct }], ([x]) => {
      const { min, max } = cc.aminmax(x, { dim: 0 });
      return min.mul(2).add(max);
    });
  });

  it('the native hypot and logaddexp(2) against float64 over a sweep; copysign reads a NaN\'s sign bit', () => {
    // Operands from 1e-30 to 1e30 and their negatives, each against many others (broadcasting).
    const n = 600, a = new Float32Array(n), b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = (i % 2 ? -1 : 1) * 10 ** (-30 + (60 * i) / n);
      b[i] = (i % 3 ? 1 : -1) * 10 ** (Math.sin(i) * 30) * (1 + i / n);
    }
    const [ta, tb] = [cc.tensor(a, { shape: [n, 1] }), cc.tensor(b, { shape: [1, n] })];
    const ulp = (got: number, want: number) => Math.abs(got - want) / (Math.max(Math.abs(want), 2 ** -126) * 2 ** -23);
    const worst = (y: Float32Array, f: (u: number, v: number) => number) => {
      let w = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w = Math.max(w, ulp(y[i * n + j], f(a[i], b[j])));
      return w;
    };
    expect(worst(cc.hypot(ta, tb).dataSync() as Float32Array, Math.hypot)).to.be.at.most(0.51);
    // logaddexp on operands of a smaller range (exp(1e30) is no test); their differences span 0 to 200.
    const la = cc.tensor(a.map((v, i) => Math.sign(v) * (i % 200)), { shape: [n, 1] }), lb = cc.tensor(b.map((_, j) => (j % 37) - 18.5), { shape: [1, n] });
    const lae = (u: number, v: number) => Math.max(u, v) + Math.log1p(Math.exp(-Math.abs(u - v)));
    const la2 = (u: number, v: number) => Math.max(u, v) + Math.log1p(2 ** -Math.abs(u - v)) / Math.LN2;
    const [ya, yb] = [la.dataSync() as Float32Array, lb.dataSync() as Float32Array];
    // In ulps of the terms' size, |max(u, v)| + the log1p term: where they cancel (u = v = -0.5,
    // say), no float32 sum of them is relative-accurate, PyTorch's formula included.
    const worstOf = (y: Float32Array, f: (u: number, v: number) => number, base: number) => {
      let w = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const [u, v] = [ya[i], yb[j]];
          const size = Math.abs(Math.max(u, v)) + Math.log1p(base ** -Math.abs(u - v)) / Math.log(base);
          w = Math.max(w, Math.abs(y[i * n + j] - f(u, v)) / (size * 2 ** -23));
        }
      }
      return w;
    };
    expect(worstOf(cc.logaddexp(la, lb).dataSync() as Float32Array, lae, Math.E)).to.be.at.most(1.5);
    expect(worstOf(cc.logaddexp2(la, lb).dataSync() as Float32Array, la2, 2)).to.be.at.most(1.5);
    // A NaN with its sign bit set gives its sign, as torch.copysign.
    const negativeNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer);
    expect(cc.copysign(cc.tensor([2, -3]), cc.tensor(negativeNaN)).tolist()).to.deep.equal([-2, -3]);
    expect(cc.signbit(cc.tensor(negativeNaN)).tolist()).to.deep.equal([1]);
  });

  it('addcmul, addcdiv and lerp: the bits of PyTorch\'s steps, each rounded to float32 (no FMA), broadcasting every way', () => {
    const r = (shape: number[], seed: number) => { cc.manualSeed(seed); return cc.randn(shape); };
    for (const [sa, sb, sc] of [[[3, 700], [3, 700], [3, 700]], [[3, 700], [700], [3, 1]], [[1], [5, 1, 700], [2, 1]], [[2, 700], [1], [1, 700]]]) {
      const a = r(sa, 1), b = r(sb, 2), c = r(sc, 3).add(3);
      const same = (got: cc.Tensor, want: cc.Tensor, what: string) => {
        expect(got.shape, what).to.deep.equal(want.shape);
        const [g, w] = [got.dataSync(), want.dataSync()];
        for (let i = 0; i < w.length; i++) if (!Object.is(g[i], w[i])) expect.fail(`${what} [${sa}] [${sb}] [${sc}] at ${i}: ${g[i]} vs ${w[i]}`);
      };
      same(cc.addcmul(a, b, c, { value: 0.3 }), cc.add(a, cc.mul(cc.mul(b, 0.3), c)), 'addcmul');
      same(cc.addcdiv(a, b, c, { value: -1.7 }), cc.add(a, cc.div(cc.mul(b, -1.7), c)), 'addcdiv');
      const w = cc.sin(c);   // weights on both sides of 0.5
      const step = cc.sub(b, a);
      same(cc.lerp(a, b, w), cc.where(cc.lt(cc.abs(w), 0.5), cc.add(a, cc.mul(w, step)), cc.sub(b, cc.mul(step, cc.sub(1, w)))), 'lerp');
      same(cc.lerp(a, b, 0.3), cc.add(a, cc.mul(step, 0.3)), 'lerp 0.3');
      same(cc.lerp(a, b, 0.8), cc.sub(b, cc.mul(step, Math.fround(1 - Math.fround(0.8)))), 'lerp 0.8');
    }
  });

  it('edges: infinities, NaN, -0, zeros', () => {
    // Two equal infinities are themselves (inf - inf would be NaN inside).
    expect(cc.logaddexp(cc.tensor([-Infinity, Infinity, -Infinity]), cc.tensor([-Infinity, Infinity, 3])).tolist()).to.deep.equal([-Infinity, Infinity, 3]);
    expect(cc.logaddexp(cc.tensor([1000]), 1000).item()).to.be.closeTo(1000 + Math.LN2, 1e-3);
    expect(cc.logaddexp(-1000, cc.tensor([-1000])).item()).to.be.closeTo(-1000 + Math.LN2, 1e-3);
    expect(cc.logaddexp2(cc.tensor([3]), 3).item()).to.equal(4);
    // xlogy: 0 where x is 0, even for y 0 or Infinity; NaN wherever y is NaN.
    expect(cc.xlogy(cc.tensor([0, 0, 0, 1]), cc.tensor([0, Infinity, NaN, 0])).tolist()).to.deep.equal([0, 0, NaN, -Infinity]);
    expect(cc.xlogy(0, cc.tensor([NaN, 5])).tolist()).to.deep.equal([NaN, 0]);
    expect(cc.xlogy(cc.tensor([2]), Math.E).item()).to.be.closeTo(2, 1e-6);
    // x log(y) rounded once (log and product in float64), as x * log(y) in float64 rounds;
    // -0 from a negative x times log(1), NaN from an infinite x times it, as torch.xlogy.
    const xs = [3.5, -0.25, 1e-30, 7e20, -2, Infinity], ys = [0.1, 123.4, 2.5e-38, 1.0000001, 1, 1];
    const got = cc.xlogy(cc.tensor(xs), cc.tensor(ys)).tolist() as number[];
    expect(got.slice(0, 4)).to.deep.equal(xs.slice(0, 4).map((x, i) => Math.fround(Math.fround(x) * Math.log(Math.fround(ys[i])))));
    expect(Object.is(got[4], -0)).to.equal(true);
    expect(Number.isNaN(got[5])).to.equal(true);
    // hypot: no overflow in the squares; Infinity beats NaN.
    expect(cc.hypot(cc.tensor([3e30, Infinity, 0]), cc.tensor([4e30, NaN, 0])).tolist()).to.deep.equal([Math.fround(5e30), Infinity, 0]);
    expect(cc.hypot(cc.tensor([3e-30]), cc.tensor([4e-30])).item()).to.be.closeTo(5e-30, 1e-36);
    // sinc(0) is 1 and its gradient there 0 (no NaN from 0 / 0).
    const z = cc.tensor([0, 1e-3], { requiresGrad: true });
    const s = cc.sinc(z);
    s.sum().backward();
    expect(s.dataSync()[0]).to.equal(1);
    expect(z.grad!.dataSync()[0]).to.equal(0);
    // copysign and signbit read -0's sign; a NaN made from JavaScript's NaN is positive.
    expect(cc.copysign(cc.tensor([1, 2, 3, NaN]), cc.tensor([-0, 0, NaN, -1])).tolist()).to.deep.equal([-1, 2, 3, NaN]);
    expect(cc.copysign(cc.tensor([1, -2]), -0).tolist()).to.deep.equal([-1, -2]);
    expect(cc.signbit(cc.tensor([-0, 0, -Infinity, NaN])).tolist()).to.deep.equal([1, 0, 1, 0]);
    expect(cc.signbit(cc.tensor([-3, 0, 4], { dtype: 'int32' })).tolist()).to.deep.equal([1, 0, 0]);
    // heaviside: a number for values; NaN gives 0.
    expect(cc.heaviside(cc.tensor([-2, 0, 3, NaN]), 0.5).tolist()).to.deep.equal([0, 0.5, 1, 0]);
    // nanToNum's defaults, and an int32 x comes back as a copy.
    expect(cc.nanToNum(cc.tensor([NaN, Infinity, -Infinity])).tolist()).to.deep.equal([0, 3.4028234663852886e38, -3.4028234663852886e38]);
    const ints = cc.tensor([1, 2], { dtype: 'int32' });
    const copy = cc.nanToNum(ints);
    expect([copy.dtype, copy.tolist(), copy === ints]).to.deep.equal(['int32', [1, 2], false]);
    // lerp with a NaN weight is NaN, PyTorch's formula from the nearer end is exact at 1.
    expect(cc.lerp(cc.tensor([1]), cc.tensor([3]), NaN).item()).to.be.NaN;
    expect(cc.lerp(cc.tensor([0.1]), cc.tensor([1e8]), 1).item()).to.equal(1e8);
    // logit's clamp for eps > 0.5 follows PyTorch's comparisons (lo where x < lo, else hi where x > hi).
    expect(Array.from(cc.logit(cc.tensor([0.1, 0.9]), 0.6).dataSync(), (v) => Math.round(v * 1e4) / 1e4)).to.deep.equal([0.4055, -0.4055]);
    // frac keeps the sign; infinities give NaN.
    expect(cc.frac(cc.tensor([-2.5, Infinity])).tolist()).to.deep.equal([-0.5, NaN]);
  });

  it('aminmax reads x once (native) with the bits of amin and amax, in every layout, float32 and int32', () => {
    // runs (the last axis, long runs in blocks), rows (one stream, four rows a pass, few outputs
    // over many rows in blocks), all of x; ties of -0 and +0 and NaNs where they decide the bits.
    let seed = 11;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cases: [number[], number | null][] = [
      [[7], null], [[40], 0], [[5, 37], 1], [[3, 40000], 1], [[70000], null], [[37, 129], 0], [[9, 5, 33], 1],
      [[40000, 3], 0], [[6, 2, 5], 0], [[4, 6, 5], 2], [[], null], [[], 0],
    ];
    for (const [shape, dim] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (const withNaN of [false, true]) {
        const v = Float32Array.from({ length: n }, () => {
          const r = next();
          return withNaN && r < 0.001 ? NaN : r < 0.2 ? (r < 0.1 ? -0 : 0) : Math.round((next() - 0.5) * 64) / 8;
        });
        for (const keepdim of [false, true]) cc.tidy(() => {
          const x = cc.tensor(v, { shape });
          const { min, max } = cc.aminmax(x, { dim, keepdim });
          const what = `${JSON.stringify(shape)} dim ${dim} keepdim ${keepdim} NaN ${withNaN}`;
          const ax = dim === null ? undefined : dim;
          expectBitIdentical(min.dataSync() as Float32Array, cc.amin(x, ax, keepdim).dataSync() as Float32Array, `min ${what}`);
          expectBitIdentical(max.dataSync() as Float32Array, cc.amax(x, ax, keepdim).dataSync() as Float32Array, `max ${what}`);
          expect(min.shape, what).to.deep.equal(cc.amin(x, ax, keepdim).shape);
          const xi = cc.tensor(Int32Array.from(v, (a) => (Number.isNaN(a) ? 2 ** 31 - 1 : a * 8)), { shape, dtype: 'int32' });
          const r = cc.aminmax(xi, { dim, keepdim });
          expect([r.min.dtype, Array.from(r.min.dataSync())], what).to.deep.equal(['int32', Array.from(cc.amin(xi, ax, keepdim).dataSync())]);
          expect(Array.from(r.max.dataSync()), what).to.deep.equal(Array.from(cc.amax(xi, ax, keepdim).dataSync()));
        });
      }
    }
    expect(cc.aminmax(cc.tensor([[-2147483648, 5], [2147483647, 0]], { dtype: 'int32' })).max.item()).to.equal(2147483647);
    // The native entry point checks its arguments itself (typed errors, no crash).
    const x = cc.ones([2, 3]);
    expectError(() => native.aminmax(x.handle('test'), 2, false), 'E_ARG');
    expectError(() => native.aminmax(cc.zeros([2, 0]).handle('test'), 1, false), 'E_SHAPE');
    expectError(() => native.aminmax(cc.zeros([2, 0]).handle('test'), null, false), 'E_SHAPE');
  });

  it('reductions: NaN lines, empty reductions, int32, 0-D tensors and keepdim shapes', () => {
    const x = cc.tensor([[NaN, NaN], [1, NaN]]);
    expect(cc.nansum(x, 1).tolist()).to.deep.equal([0, 1]);
    expect(cc.nanmean(x, 1).tolist()).to.deep.equal([NaN, 1]);
    expect(cc.nanmean(x).item()).to.equal(1);
    expect(cc.nansum(cc.zeros([0, 3]), 0).tolist()).to.deep.equal([0, 0, 0]);
    expect(cc.nanmean(cc.zeros([0, 3]), 0).tolist()).to.deep.equal([NaN, NaN, NaN]);
    const i = cc.tensor([[1, -2], [3, 4]], { dtype: 'int32' });
    expect([cc.nansum(i).dtype, cc.nansum(i).item(), cc.nansum(i, [0], true).shape]).to.deep.equal(['int32', 6, [1, 2]]);
    expect([cc.amax(i, 0).dtype, cc.amax(i, 0).tolist(), cc.amin(i).item()]).to.deep.equal(['int32', [3, 4], -2]);
    expect(cc.countNonzero(cc.tensor([[0, NaN], [-0, 2]])).tolist()).to.equal(2);
    expect(cc.countNonzero(i, [0, 1]).dtype).to.equal('int32');
    expect(cc.countNonzero(cc.zeros([2, 0]), 1).tolist()).to.deep.equal([0, 0]);
    const s = cc.tensor(5);
    expect([cc.amax(s, 0).shape, cc.amax(s, -1, true).item(), cc.nansum(s, 0).item(), cc.countNonzero(s, 0).item()]).to.deep.equal([[], 5, 5, 1]);
    expect(cc.amax(cc.tensor([1, NaN, 3])).item()).to.be.NaN;
    const { min, max } = cc.aminmax(cc.tensor([[3, 1], [4, 0]]), { keepdim: true });
    expect([min.shape, min.item(), max.item()]).to.deep.equal([[1, 1], 0, 4]);
    // A line of only NaNs: nanmean is NaN, its gradient 0 (PyTorch's is NaN there: 0 / 0).
    const allNaN = cc.tensor([[NaN, NaN], [1, 3]], { requiresGrad: true });
    const m = cc.nanmean(allNaN, 1);
    m.sum().backward();
    expect([m.tolist(), allNaN.grad!.tolist()]).to.deep.equal([[NaN, 2], [[0, 0], [0.5, 0.5]]]);
    // amax shares the gradient evenly among equal maxima.
    const t = cc.tensor([1, 5, 5, 2], { requiresGrad: true });
    cc.amax(t).backward();
    expect(t.grad!.tolist()).to.deep.equal([0, 0.5, 0.5, 0]);
  });

  it('the Tensor methods', () => {
    const x = cc.tensor([[0.25, -1], [2, NaN]]);
    const y = cc.tensor([0.5, 3]);
    expect(x.logaddexp(y).shape).to.deep.equal([2, 2]);
    expect(x.logaddexp2(1).shape).to.deep.equal([2, 2]);
    expect(cc.tensor([0.5]).logit().item()).to.equal(0);
    expect(x.xlogy(y).shape).to.deep.equal([2, 2]);
    expect(cc.tensor([3]).hypot(cc.tensor([4])).item()).to.equal(5);
    expect(cc.tensor([0]).lerp(cc.tensor([4]), 0.25).item()).to.equal(1);
    expect(cc.tensor([1]).addcmul(cc.tensor([2]), cc.tensor([3])).item()).to.equal(7);
    expect(cc.tensor([1]).addcdiv(cc.tensor([2]), cc.tensor([4]), { value: 2 }).item()).to.equal(2);
    expect(cc.tensor([1.5]).frac().item()).to.equal(0.5);
    expect(cc.tensor([0]).sinc().item()).to.equal(1);
    expect(cc.tensor([180]).deg2rad().item()).to.be.closeTo(Math.PI, 1e-6);
    expect(cc.tensor([Math.PI]).rad2deg().item()).to.be.closeTo(180, 1e-4);
    expect(cc.tensor([0, 2]).heaviside(cc.tensor([7])).tolist()).to.deep.equal([7, 1]);
    expect(cc.tensor([2]).copysign(-1).item()).to.equal(-2);
    expect(cc.tensor([-0]).signbit().item()).to.equal(1);
    expect(x.nanToNum().tolist()).to.deep.equal([[0.25, -1], [2, 0]]);
    expect(x.nansum().item()).to.equal(1.25);
    expect(x.nanmean(1).tolist()).to.deep.equal([-0.375, 2]);
    expect(x.countNonzero().item()).to.equal(4);
    expect(y.amax().item()).to.equal(3);
    expect(y.amin(0, true).tolist()).to.deep.equal([0.5]);
    expect(y.aminmax().max.item()).to.equal(3);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    const i = cc.tensor([1, 2], { dtype: 'int32' });
    expectError(() => cc.logaddexp(1, 2), 'E_ARG', /at least one tensor/);
    expectError(() => cc.logaddexp(x, 'a' as never), 'E_ARG');
    expectError(() => cc.logaddexp(x, cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.logaddexp2(x, i), 'E_DTYPE');
    expectError(() => cc.logit(i), 'E_DTYPE');
    expectError(() => cc.logit(x, 'a' as never), 'E_ARG');
    expectError(() => cc.logit(x, NaN), 'E_ARG');
    expectError(() => cc.xlogy(x, cc.ones([3, 1, 3])), 'E_SHAPE');
    expectError(() => cc.xlogy(null as never, x), 'E_ARG');
    expectError(() => cc.hypot(x, i), 'E_DTYPE');
    expectError(() => cc.lerp(x, 1 as never, 0.5), 'E_ARG');
    expectError(() => cc.lerp(x, i, 0.5), 'E_DTYPE');
    expectError(() => cc.lerp(x, x, 'half' as never), 'E_ARG');
    expectError(() => cc.lerp(x, x, cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.addcmul(x, x, cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.addcdiv(x, x, x, { value: '2' } as never), 'E_ARG');
    expectError(() => cc.addcdiv(x, x, x, { scale: 2 } as never), 'E_ARG', /unknown option/);
    expectError(() => cc.frac(i), 'E_DTYPE');
    expectError(() => cc.sinc([1, 2] as never), 'E_ARG');
    expectError(() => cc.deg2rad(i), 'E_DTYPE');
    expectError(() => cc.rad2deg(undefined as never), 'E_ARG');
    expectError(() => cc.heaviside(x, cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.heaviside(x, 'v' as never), 'E_ARG');
    expectError(() => cc.copysign(x, i), 'E_DTYPE');
    expectError(() => cc.copysign(2 as never, x), 'E_ARG');
    expectError(() => cc.signbit({} as never), 'E_ARG');
    expectError(() => cc.nanToNum(x, { nan: 'zero' } as never), 'E_ARG');
    expectError(() => cc.nanToNum(x, { inf: 1 } as never), 'E_ARG', /unknown option/);
    expectError(() => cc.nansum(x, 2), 'E_ARG');
    expectError(() => cc.nansum(x, [0, 0]), 'E_ARG', /twice/);
    expectError(() => cc.nansum(x, 0, 1 as never), 'E_ARG');
    expectError(() => cc.nanmean(i), 'E_DTYPE');
    expectError(() => cc.nanmean(x, 'all' as never), 'E_ARG');
    expectError(() => cc.countNonzero(x, -3), 'E_ARG');
    expectError(() => cc.amax(x, [0, 5]), 'E_ARG');
    expectError(() => cc.amax(cc.zeros([2, 0]), 1), 'E_SHAPE');
    expectError(() => cc.amin(cc.zeros([0])), 'E_SHAPE');
    expectError(() => cc.aminmax(x, { dim: [0, 1] } as never), 'E_ARG');
    expectError(() => cc.aminmax(x, { dims: 0 } as never), 'E_ARG', /unknown option/);
    expectError(() => cc.aminmax(cc.zeros([0, 2]), { dim: 0 }), 'E_SHAPE');
    const gone = cc.tensor([1]);
    gone.dispose();
    expectError(() => cc.logit(gone), 'E_DISPOSED');
    // Nothing was lost: x is intact after every refusal.
    expect(x.tolist()).to.deep.equal([[1, 2], [3, 4]]);
  });
});

describeCuda('pointwise maths and NaN-aware reductions on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const a = randomCpu([4, 6], 61, -3, 3), b = randomCpu([6], 62, 0.1, 2), p = randomCpu([4, 6], 63, 0.05, 0.95);
    compareDevices((u, v) => [cc.logaddexp(u, v), cc.logaddexp2(u, v), cc.hypot(u, v), cc.xlogy(u, v), cc.copysign(u, v.sub(1))], [a, b], { grads: true, what: 'binary' });
    compareDevices((u) => [cc.logit(u), cc.logit(u, 0.2), cc.frac(u.mul(5)), cc.sinc(u), cc.deg2rad(u), cc.rad2deg(u)], [p], { grads: true, what: 'unary' });
    compareDevices((s, e, w) => [cc.lerp(s, e, w), cc.lerp(s, e, 0.7), cc.addcmul(s, e, w, { value: 0.5 }), cc.addcdiv(s, e, w.add(2))], [a, randomCpu([6], 64), randomCpu([4, 1], 65)], { grads: true, what: 'ternary' });
    const n = cc.where(cc.gt(a, 2), NaN, cc.where(cc.lt(a, -2.5), -Infinity, a));
    compareDevices((u) => [cc.nanToNum(u), cc.nansum(u, 1), cc.nanmean(u, 0, true), cc.amax(u.nanToNum(), [0, 1]), cc.aminmax(u.nanToNum(), { dim: 1 }).min], [n], { grads: true, what: 'reductions' });
    compareDevices((u) => [cc.signbit(u), cc.heaviside(u.round(), 0.5), cc.countNonzero(u.round()).float()], [a], { what: 'masks' });
    expectError(() => cc.logaddexp(a.to('cuda'), b), 'E_DEVICE');
    expectError(() => cc.lerp(a, a.to('cuda'), 0.5), 'E_DEVICE');
    expectError(() => cc.heaviside(a.to('cuda'), b), 'E_DEVICE');
  });
});
