/**
 * native/cpu/vec_math.h: the vectorised exp, log and row sums, on every path this CPU can run
 * (forced with setVecMathPath): accuracy against float64 over a dense sweep of all floats, the
 * special values, equal bits between the AVX-512 and AVX2 paths, tails of every length, and the
 * ops built on them (softmax, logSoftmax, crossEntropy, klDiv) under each path.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { crossEntropyBackward, klDivBackward } from '../lib/nn/functional/loss';
import { softmaxBackward } from '../lib/nn/functional/layers';
import { native } from '../lib/native';
import { erf64, erfc64, expectBitIdentical, expectClose, expectError, randomTensor, rng } from './helpers';

const PATHS = ['avx512', 'avx2', 'portable'] as const;
// Measured over all 2^32 floats by native/cpu/vec_math_selftest.cc (AVX2 path, session 36):
// sin 0.594 ulp, cos 0.594, expm1 0.632.
const TRIG_ULP = 0.6, EXPM1_ULP = 0.64;
// Measured over all 2^32 floats (see vec_math.h): exp 1.26 ulp, log 0.83 ulp on the SIMD paths;
// glibc's expf/logf 0.50 and 0.82 on the portable one.
// sin, cos and expm1 (vec_math.cc, Note [sin and cos], Note [expm1]): AVX2 code on both SIMD
// paths, glibc's sinf, cosf and expm1f on the portable one (see native/cpu/vec_math_selftest.cc).
type Bounds = { exp: number; log: number; sin: number; cos: number; expm1: number };
const SIMD_TRIG = { sin: TRIG_ULP, cos: TRIG_ULP, expm1: EXPM1_ULP };
const MAX_ULP: Record<string, Bounds> = {
  avx512: { exp: 1.3, log: 0.85, ...SIMD_TRIG }, avx2: { exp: 1.3, log: 0.85, ...SIMD_TRIG },
  portable: { exp: 1.0, log: 1.0, sin: 1.0, cos: 1.0, expm1: 1.0 },
};

function canRun(path: string): boolean {
  try {
    native.setVecMathPath(path);
    return true;
  } catch {
    return false;
  } finally {
    native.setVecMathPath(null);
  }
}
const runnable = PATHS.filter(canRun);

function withPath<T>(path: string, fn: () => T): T {
  native.setVecMathPath(path);
  try {
    return fn();
  } finally {
    native.setVecMathPath(null);
    cc.syncBlocking();
  }
}

/** The size of one float ulp in the binade of the float64 value r (subnormal spacing below 2^-126). */
function ulpAt(r: number): number {
  const a = Math.abs(r);
  if (a < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  return 2 ** (e - 23);
}

/** Float bit patterns: every `stride`-th of all 2^32, plus runs of consecutive floats around the edges that matter. */
function sweep(): Float32Array {
  const bits: number[] = [];
  for (let b = 0; b < 2 ** 32; b += 1031) bits.push(b);
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const around = (v: number, count: number) => {
    f32[0] = v;
    const c = u32[0];
    for (let k = -count; k <= count; k++) bits.push((c + k) >>> 0);
  };
  // exp: 0, overflow at 88.72, the smallest normal result (-87.34), half the smallest subnormal (-103.97)
  for (const v of [1e-30, -1e-30, 88.72283935546875, -87.33654022216797, -103.97208, 1, -1]) around(v, 20000);
  // log: 1 (cancellation), the normal/subnormal boundary, sqrt(1/2) (the reduction's switch)
  for (const v of [1, 1.1754943508222875e-38, 0.7071067690849304, 1.4142135381698608]) around(v, 20000);
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** The sweep, plus runs of floats around multiples of pi/2 (where sin or cos is near 0), the
 * end of the vector range (2^20) and expm1's switches (+-ln 2 / 2, 88, -30). */
function trigSweep(base: Float32Array): Float32Array {
  const bits: number[] = Array.from(new Uint32Array(base.buffer, base.byteOffset, base.length));
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const around = (v: number, count: number) => {
    f32[0] = v;
    const c = u32[0];
    for (let k = -count; k <= count; k++) bits.push((c + k) >>> 0);
  };
  for (let k = 1; k <= 12; k++) around(k * Math.PI / 2, 2000);
  for (const v of [1e3 * Math.PI, 12345 * Math.PI / 2, 1048576, -1048576, 0.34657359, -0.34657359, 88, -30, 1e-6]) around(v, 2000);
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** lgamma in float64 for x > 0: Stirling's series past 16 (error below 1e-15), shifted up
 * from below by lgamma(x) = lgamma(x + n) - log(x (x + 1) ... (x + n - 1)), and near its zeros
 * at 1 and 2 the Taylor series about them (the shift would cancel there). Within 1e-13 of
 * Python's math.lgamma, relative (and 1e-16 absolute at the zeros). NaN elsewhere (glibc's
 * lgammaf_r there: not this sweep's business). */
function lgamma64(x: number): number {
  if (!(x > 0) || x === Infinity) return NaN;
  // lgamma(1 + t) = -g t + sum_{k>=2} (-1)^k zeta(k) t^k / k; lgamma(2 + t) = lgamma(1 + t) + log1p(t)
  const zeta = [0, 0, 1.6449340668482264, 1.2020569031595942, 1.0823232337111381, 1.0369277551433699, 1.0173430619844491,
    1.0083492773819228, 1.0040773561979443, 1.0020083928260822, 1.0009945751278181, 1.0004941886041195, 1.0002460865533080,
    1.0001227133475785, 1.0000612481350587, 1.0000305882363070, 1.0000152822594087, 1.0000076371976379, 1.0000038172932650,
    1.0000019082127166, 1.0000009539620339, 1.0000004769329868, 1.0000002384505027, 1.0000001192199260, 1.0000000596081891,
    1.0000000298035035, 1.0000000149015548];
  const nearOne = (t: number) => {
    let sum = -0.5772156649015329 * t, p = -t;
    for (let k = 2; k < zeta.length; k++) { p *= -t; sum += (zeta[k] * p) / k; }
    return sum;
  };
  if (Math.abs(x - 1) < 0.2) return nearOne(x - 1);
  if (Math.abs(x - 2) < 0.2) return nearOne(x - 2) + Math.log1p(x - 2);
  let shift = 0, y = x;
  while (y < 16) { shift += Math.log(y); y += 1; }
  const z = 1 / (y * y);
  const series = (1 / y) * (1 / 12 - z * (1 / 360 - z * (1 / 1260 - z * (1 / 1680 - z * (1 / 1188)))));
  return (y - 0.5) * Math.log(y) - y + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

function maxUlp(x: Float32Array, y: Float32Array, ref: (v: number) => number): { ulp: number; at: number } {
  let worst = { ulp: 0, at: 0 };
  for (let i = 0; i < x.length; i++) {
    const r = ref(x[i]), got = y[i];
    if (Number.isNaN(r)) {
      if (!Number.isNaN(got)) return { ulp: Infinity, at: x[i] };
      continue;
    }
    if (got === Math.fround(r)) continue;  // includes the infinities and 0
    const err = Number.isFinite(got) ? Math.abs(got - r) / ulpAt(r) : Infinity;
    if (err > worst.ulp) worst = { ulp: err, at: x[i] };
  }
  return worst;
}

describe('vectorised math (native/cpu/vec_math)', function () {
  this.timeout(120000);
  const x = sweep();

  it('runs the detected path by default and refuses unknown paths', () => {
    expect(PATHS).to.include(cc.backends().cpu.vecMathKernel);
    expect(runnable).to.include('portable');
    expectError(() => native.setVecMathPath('sse9'), 'E_ARG', /setVecMathPath: 'sse9' is not a path/);
  });

  for (const path of PATHS) {
    describe(`the ${path} path`, () => {
      before(function () {
        if (!runnable.includes(path)) {
          console.log(`      (skipped: this CPU cannot run the ${path} path)`);
          this.skip();
        }
      });

      it(`exp is within ${MAX_ULP[path].exp} ulp of float64 over ${x.length} floats`, () => {
        const y = withPath(path, () => native.vecMathEval('exp', x));
        const { ulp, at } = maxUlp(x, y, Math.exp);
        expect(ulp, `worst at x = ${at}`).to.be.at.most(MAX_ULP[path].exp);
      });

      it(`log is within ${MAX_ULP[path].log} ulp of float64 over ${x.length} floats`, () => {
        const y = withPath(path, () => native.vecMathEval('log', x));
        const { ulp, at } = maxUlp(x, y, Math.log);
        expect(ulp, `worst at x = ${at}`).to.be.at.most(MAX_ULP[path].log);
      });

      it('gets the special values right', () => {
        const ex = Float32Array.from([-0, 0, -Infinity, Infinity, NaN, -104, -1e30, 88.7229, 88.7228, 1e30, -87.5, -100]);
        const ey = withPath(path, () => native.vecMathEval('exp', ex));
        expect(Array.from(ey.slice(0, 8))).to.deep.equal([1, 1, 0, Infinity, NaN, 0, 0, Infinity]);
        expect(ey[8]).to.be.above(3.4e38).and.below(Infinity);
        expect(ey[9]).to.equal(Infinity);
        // subnormal results, correctly placed
        expectClose([ey[10], ey[11]], [Math.exp(-87.5), Math.exp(-100)], 0, 2 ** -149);
        expect(ey[11]).to.be.above(0);
        const lx = Float32Array.from([0, -0, -1, -Infinity, Infinity, NaN, 1, 1.401298464324817e-45, 3.4028234663852886e38, 0.5, 2]);
        const ly = withPath(path, () => native.vecMathEval('log', lx));
        expect(Array.from(ly.slice(0, 7))).to.deep.equal([-Infinity, -Infinity, NaN, NaN, Infinity, NaN, 0]);
        expectClose(ly.slice(7), [Math.log(2 ** -149), Math.log(3.4028234663852886e38), -Math.LN2, Math.LN2].map(Math.fround), 1e-7, 0);
      });

      // vec::sigmoid: exp(-|x|) then one add and one division, in one pass (F.sigmoid's forward).
      it('sigmoid is within 3 ulp of float64 over the sweep, special values and every tail length included', () => {
        const ref = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
        const y = withPath(path, () => native.vecMathEval('sigmoid', x));
        const { ulp, at } = maxUlp(x, y, ref);
        expect(ulp, `worst at x = ${at}`).to.be.at.most(3);
        const sx = Float32Array.from([-0, 0, -Infinity, Infinity, NaN, 100, -100, -104, -1e30]);
        const sy = withPath(path, () => native.vecMathEval('sigmoid', sx));
        expect(Array.from(sy.slice(0, 6)).concat(Array.from(sy.slice(7)))).to.deep.equal([0.5, 0.5, 0, 1, NaN, 1, 0, 0]);
        expectClose([sy[6]], [Math.exp(-100)], 0, 2 ** -148);  // subnormal, not flushed
        expect(sy[6]).to.be.above(0);
        const next = rng(9);
        for (let n = 0; n <= 40; n++) {
          const v = Float32Array.from({ length: n }, () => next() * 40 - 20);
          expectClose(withPath(path, () => native.vecMathEval('sigmoid', v)), Array.from(v, ref), 4e-7, 0, `sigmoid n=${n}`);
        }
        // F.sigmoid runs it: the same bits as the function itself
        const { t, v } = randomTensor([3, 1000], 12, -30, 30);
        expectBitIdentical(withPath(path, () => cc.F.sigmoid(t).dataSync() as Float32Array), withPath(path, () => native.vecMathEval('sigmoid', Float32Array.from(v))), 'F.sigmoid');
      });

      for (const [fn, ref] of [['sin', Math.sin], ['cos', Math.cos], ['expm1', Math.expm1]] as const) {
        it(`${fn} is within ${MAX_ULP[path][fn]} ulp of float64 over the sweep and near its hard arguments`, () => {
          const tx = trigSweep(x);
          const y = withPath(path, () => native.vecMathEval(fn, tx));
          const { ulp, at } = maxUlp(tx, y, ref);
          expect(ulp, `worst at x = ${at}`).to.be.at.most(MAX_ULP[path][fn]);
        });
      }

      // cc.sinh, cc.cosh, cc.exp2, cc.erf and cc.erfc (native/cpu/elementwise.cc): exp or expm1 and a few float
      // operations, glibc's functions past the formulas' range (|x| > 88; exp2 outside [-126, 127]);
      // cc.asinh, acosh, atanh and log1p: log through Goldberg's log1p (glibc's atanhf at |x| >= 1); cc.asin
      // and acos: Cephes' polynomial and the half-angle identity; cc.erf and erfc: polynomials
      // and exp(-x^2); cc.tan: sin / cos in float64 (0.57 ulp below 2^20), glibc's tanf above (1.24).
      const hyperbolic = [['sinh', Math.sinh, 2.5], ['cosh', Math.cosh, 2.5], ['exp2', (v: number) => 2 ** v, 2.5], ['asinh', Math.asinh, 3.1],
        ['acosh', Math.acosh, 3.1], ['atanh', Math.atanh, 3.1], ['log1p', Math.log1p, 2.8], ['atan', Math.atan, 2.3], ['tan', Math.tan, 1.3], ['asin', Math.asin, 1.9], ['acos', Math.acos, 1.3],
        ['erf', erf64, 2.5], ['erfc', erfc64, 3.5]] as const;
      for (const [fn, ref, bound] of hyperbolic) {
        it(`${fn} is within ${bound} ulp of float64 over the sweep and around its switches`, () => {
          const bits = Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
          const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
          // erf and erfc: their switches (1/2, 3/2, 3, 5.5, 10.1) and subnormal results (past 9.3)
          for (const v of [88, -88, 89.4, 127, -126, -126.5, 0, 1e-6, 0.5, -0.5, 1, -1, 4096, -4096, 2, 0.53, -0.53, 1.5, 3, -3, 5.5, 9.3, 10.1]) {
            f32[0] = v;
            for (let k = -3000; k <= 3000; k++) bits.push((u32[0] + k) >>> 0);
          }
          const tx = new Float32Array(new Uint32Array(bits).buffer);
          const y = withPath(path, () => cc[fn](cc.tensor(tx)).dataSync() as Float32Array);
          const { ulp, at } = maxUlp(tx, y, ref);
          expect(ulp, `worst at x = ${at}`).to.be.at.most(bound);
          const special = cc.tensor([0, -0, Infinity, -Infinity, NaN]);
          const want = {
            sinh: [0, -0, Infinity, -Infinity, NaN], cosh: [1, 1, Infinity, Infinity, NaN], exp2: [1, 1, Infinity, 0, NaN],
            asinh: [0, -0, Infinity, -Infinity, NaN], acosh: [NaN, NaN, Infinity, NaN, NaN], atanh: [0, -0, NaN, NaN, NaN],
            log1p: [0, -0, Infinity, NaN, NaN], atan: [0, -0, Math.fround(Math.PI / 2), -Math.fround(Math.PI / 2), NaN], tan: [0, -0, NaN, NaN, NaN],
            asin: [0, -0, NaN, NaN, NaN], acos: [Math.fround(Math.PI / 2), Math.fround(Math.PI / 2), NaN, NaN, NaN],
            erf: [0, -0, 1, -1, NaN], erfc: [1, 1, 0, 2, NaN],
          }[fn];
          expect(Array.from(withPath(path, () => cc[fn](special).dataSync()))).to.deep.equal(want);
        });
      }

      it('lgamma is within 2.8 ulp of float64 for x > 0, over the sweep and around its switches and zeros', () => {
        const bits = Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
        const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
        for (const v of [0.5, 1, 1.25, 1.4616321, 1.75, 2, 2.5, 4, 8, 1e-30, 4e36]) {
          f32[0] = v;
          for (let k = -3000; k <= 3000; k++) bits.push((u32[0] + k) >>> 0);
        }
        const all = new Float32Array(new Uint32Array(bits).buffer);
        const tx = all.filter((v) => v > 0 && v < 4e36);  // lgamma overflows float past 4.08e36
        const y = withPath(path, () => cc.lgamma(cc.tensor(tx)).dataSync() as Float32Array);
        const { ulp, at } = maxUlp(tx, y, lgamma64);
        expect(ulp, `worst at x = ${at}`).to.be.at.most(2.8);
        // glibc's lgammaf_r at and below 0 and for the infinities and NaN; exact zeros at 1 and 2
        const special = cc.lgamma(cc.tensor([0, -0, -1, -2.5, -0.5, Infinity, -Infinity, NaN, 1, 2])).dataSync();
        expect(Array.from(special.slice(0, 3))).to.deep.equal([Infinity, Infinity, Infinity]);
        expectClose(special.slice(3, 5), [-0.05624371649767405, 1.2655121234846454], 2e-7, 0, 'lgamma of negatives');
        expect(Array.from(special.slice(5, 7))).to.deep.equal([Infinity, Infinity]);
        expect(Number.isNaN(special[7])).to.equal(true);
        expect(Array.from(special.slice(8))).to.deep.equal([0, 0]);
      });

      it('sin, cos and expm1 get the special values right, on every tail length, as cc.sin, cc.cos and cc.expm1 do', () => {
        const tx = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 1e30, 1048577, -3e6, Math.PI]);
        const sin = withPath(path, () => native.vecMathEval('sin', tx)), cos = withPath(path, () => native.vecMathEval('cos', tx));
        expect(Object.is(sin[0], 0) && Object.is(sin[1], -0)).to.equal(true);
        expect(Array.from(cos.slice(0, 2))).to.deep.equal([1, 1]);
        for (const y of [sin, cos]) expect(Array.from(y.slice(2, 5)).every(Number.isNaN)).to.equal(true);
        // past the vector range: reduced exactly (glibc), as PyTorch's sin of 1e30 is
        expectClose(sin.slice(5), Array.from(tx.slice(5), Math.sin), 2e-7, 1e-7, 'sin');
        expectClose(cos.slice(5), Array.from(tx.slice(5), Math.cos), 2e-7, 1e-7, 'cos');
        const ex = Float32Array.from([0, -0, -Infinity, Infinity, NaN, 100, 88.5, -30, -100, 1e-10, -1e-10]);
        const ey = withPath(path, () => native.vecMathEval('expm1', ex));
        expect(Object.is(ey[0], 0) && Object.is(ey[1], -0)).to.equal(true);
        expect(Array.from(ey.slice(2, 6))).to.deep.equal([-1, Infinity, NaN, Infinity]);
        expectClose(ey.slice(6), Array.from(ex.slice(6), Math.expm1), 2e-7, 0, 'expm1');
        const next = rng(10);
        for (let n = 0; n <= 40; n++) {
          const v = Float32Array.from({ length: n }, () => next() * 40 - 20);
          for (const [fn, ref] of [['sin', Math.sin], ['cos', Math.cos], ['expm1', Math.expm1]] as const) {
            expectClose(withPath(path, () => native.vecMathEval(fn, v)), Array.from(v, ref), 4e-7, 1e-7, `${fn} n=${n}`);
          }
        }
        const { t, v } = randomTensor([3, 1000], 13, -12, 12);
        for (const [fn, op] of [['sin', cc.sin], ['cos', cc.cos], ['expm1', cc.expm1]] as const) {
          expectBitIdentical(withPath(path, () => op(t).dataSync() as Float32Array), withPath(path, () => native.vecMathEval(fn, Float32Array.from(v))), fn);
        }
      });

      it('handles every tail length (0 to 40 elements) and sums exp(x - shift) in float64', () => {
        const next = rng(3);
        for (let n = 0; n <= 40; n++) {
          const v = Float32Array.from({ length: n }, () => next() * 20 - 10);
          const e = withPath(path, () => native.vecMathEval('exp', v));
          const l = withPath(path, () => native.vecMathEval('log', v.map(Math.abs)));
          expectClose(e, Array.from(v, (a) => Math.fround(Math.exp(a))), 2e-7, 0, `exp n=${n}`);
          expectClose(l, Array.from(v, (a) => Math.fround(Math.log(Math.abs(a)))), 2e-7, 1e-7, `log n=${n}`);
          const max = withPath(path, () => native.vecMathEval('max', v));
          expect(max).to.equal(n ? Math.max(...v) : -Infinity);
          const shifted = withPath(path, () => native.vecMathEval('expShift', v, max));
          const sum = withPath(path, () => native.vecMathEval('expSum', v, max));
          expectClose(shifted, Array.from(v, (a) => Math.fround(Math.exp(Math.fround(a - max)))), 2e-7, 0, `expShift n=${n}`);
          const ref = Array.from(shifted).reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - ref)).to.be.at.most(1e-12 * Math.max(1, ref));
        }
        // the max ignores NaN (the exp sum carries it instead)
        expect(withPath(path, () => native.vecMathEval('max', Float32Array.from([1, NaN, 3, NaN])))).to.equal(3);
        expect(Number.isNaN(withPath(path, () => native.vecMathEval('expSum', Float32Array.from([1, NaN, 3]), 3)))).to.equal(true);
      });

      it('sums and dots in Note [sum order]\'s lanes, the same bits on every path', () => {
        // element i to lane i % lanes in float64, then lane i + lanes / 2 into lane i, halving
        const inLanes = (terms: ArrayLike<number>, lanes: number) => {
          const acc = new Float64Array(lanes);
          for (let i = 0; i < terms.length; i++) acc[i % lanes] += terms[i];
          for (let half = lanes / 2; half >= 1; half /= 2) for (let i = 0; i < half; i++) acc[i] += acc[i + half];
          return acc[0];
        };
        // sum: each whole chunk c of 64 floats as 16 float32 terms (c[k] + c[k + 32]) + (c[k + 16] +
        // c[k + 48]) into lanes k (even chunks) or 16 + k (odd); the r elements after them in float32
        // pairs, rest[k] + rest[k + 32] (or rest[k] alone) into lane k
        const sumOrder = (v: Float32Array) => {
          const acc = new Float64Array(32), f = Math.fround;
          let i = 0;
          for (let chunk = 0; i + 64 <= v.length; i += 64, chunk++) {
            for (let k = 0; k < 16; k++) acc[(chunk % 2) * 16 + k] += f(f(v[i + k] + v[i + k + 32]) + f(v[i + k + 16] + v[i + k + 48]));
          }
          for (let k = 0; k < 32 && i + k < v.length; k++) acc[k] += f(v[i + k] + (i + k + 32 < v.length ? v[i + k + 32] : 0));
          return inLanes(acc, 32);
        };
        const next = rng(5);
        const lengths = [...Array.from({ length: 100 }, (_, i) => i), 127, 128, 129, 191, 192, 200, 255, 256, 300, 1000, 16384 + 17];
        for (const n of lengths) {
          // magnitudes spread over 2^60, so that any other order of additions rounds differently
          const v = Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * 60 - 30));
          expect(withPath(path, () => native.vecMathEval('sum', v)), `sum n=${n}`).to.equal(sumOrder(v));
          expect(withPath(path, () => native.vecMathEval('dot', v)), `dot n=${n}`).to.equal(inLanes(Array.from(v, (a) => a * a), 16));
        }
        expect(Number.isNaN(withPath(path, () => native.vecMathEval('sum', Float32Array.from([1, NaN, 3]))))).to.equal(true);
      });

      it('sums many short runs (a mean over maps) with the bits of a sum of each run', () => {
        // reduce.cc hands runs of 16 to 16384 elements to vec::sum_runs, many a call.
        const next = rng(6);
        for (const run of [16, 17, 31, 32, 33, 49, 100, 784]) {
          const rows = 67;
          const v = Float32Array.from({ length: rows * run }, () => (next() - 0.5) * 2 ** Math.floor(next() * 60 - 30));
          const x = cc.tensor(v, { shape: [rows, run] });
          const got = withPath(path, () => cc.tidy(() => cc.sum(x, 1).dataSync()));
          const want = Float32Array.from({ length: rows }, (_, r) => withPath(path, () => native.vecMathEval('sum', v.subarray(r * run, (r + 1) * run))));
          expect(Array.from(got), `runs of ${run}`).to.deep.equal(Array.from(want));
          x.dispose();
        }
      });

      it('nansum has the bits of sum over a copy with the NaNs replaced by 0, in every layout', () => {
        // reduce.cc reads each NaN as +0 where it reads x: vec::nansum (whole and short runs),
        // nansum_runs, the rows kernels (eight, four and one row a pass), and the runs-then-rows
        // partials, which add as a plain sum (inf - inf stays NaN there, as in sum of the copy).
        const next = rng(7);
        const cases: [number[], number[]][] = [
          [[0], [0]], [[1], [0]], [[15], [0]], [[16], [0]], [[100], [0]], [[16384 * 3 + 17], [0]],
          [[67, 3], [1]], [[67, 49], [1]], [[9, 784], [1]], [[2, 40000], [1]],
          [[37, 129], [0]], [[13, 5, 33], [0, 1]], [[5, 7, 49], [0, 2]], [[3, 8, 2, 20], [0, 2, 3]],
        ];
        for (const [shape, axes] of cases) {
          const n = shape.reduce((a, b) => a * b, 1);
          const v = Float32Array.from({ length: n }, () => (next() < 0.15 ? NaN : (next() - 0.5) * 2 ** Math.floor(next() * 40 - 20)));
          if (n > 40) [v[3], v[5]] = [Infinity, -Infinity];   // a NaN partial (inf - inf) in runs layouts
          const clean = v.map((a) => (Number.isNaN(a) ? 0 : a));
          const [got, want] = withPath(path, () => cc.tidy(() => [
            cc.nansum(cc.tensor(v, { shape }), axes).dataSync(), cc.sum(cc.tensor(clean, { shape }), axes).dataSync(),
          ]));
          expectBitIdentical(got, want, `nansum ${JSON.stringify(shape)} over ${axes}`);
        }
        // a line of NaNs only sums to +0
        const allNaN = withPath(path, () => cc.nansum(cc.full([3, 70], NaN), 1).dataSync());
        expect(Array.from(allNaN, (a) => Object.is(a, 0))).to.deep.equal([true, true, true]);
      });

      it('softmax, logSoftmax, crossEntropy and klDiv match float64 and do not depend on the thread count', () => {
        const shapes: [number[], number][] = [[[7, 37], 1], [[3, 19, 5], 1]];
        for (const [shape, dim] of shapes) {
          const { t, v } = randomTensor(shape, 11, -8, 8);
          const [outer, len, inner] = [shape[0], shape[1], shape.length > 2 ? shape[2] : 1];
          const refSoft = new Float64Array(v.length), refLog = new Float64Array(v.length);
          for (let o = 0; o < outer; o++) {
            for (let k = 0; k < inner; k++) {
              const at = (l: number) => (o * len + l) * inner + k;
              let m = -Infinity, s = 0;
              for (let l = 0; l < len; l++) m = Math.max(m, v[at(l)]);
              for (let l = 0; l < len; l++) s += Math.exp(v[at(l)] - m);
              for (let l = 0; l < len; l++) {
                refSoft[at(l)] = Math.exp(v[at(l)] - m) / s;
                refLog[at(l)] = v[at(l)] - m - Math.log(s);
              }
            }
          }
          const run = (threads: number) => withPath(path, () => {
            cc.setNumThreads(threads);
            const soft = cc.F.softmax(t, dim), log = cc.F.logSoftmax(t, dim);
            const dy = cc.onesLike(soft);
            const out = [soft, log, softmaxBackward('softmax', dy, soft, dim), softmaxBackward('logSoftmax', dy, log, dim)].map((r) => r.dataSync() as Float32Array);
            cc.setNumThreads(2);
            return out;
          });
          const [soft, log, dsoft, dlog] = run(1);
          expectClose(soft, refSoft, 1e-6, 1e-7, `softmax ${shape}`);
          expectClose(log, refLog, 1e-6, 1e-6, `logSoftmax ${shape}`);
          expectClose(dsoft, new Float64Array(v.length), 0, 1e-6, `softmax backward ${shape}`);  // rows of softmax sum to 1
          expectClose(dlog, Array.from(refSoft, (p) => 1 - len * p), 1e-5, 1e-5, `logSoftmax backward ${shape}`);
          run(2).forEach((r, i) => expectBitIdentical(r, [soft, log, dsoft, dlog][i], `${path} ${shape} output ${i}`));
        }

        // crossEntropy [N, C] and the same scores as [N, C, 1, 1] (strided rows): same bits
        const { t: scores, v } = randomTensor([9, 21], 5, -10, 10);
        const labels = Int32Array.from({ length: 9 }, (_, i) => (i * 7) % 21);
        const target = cc.tensor(labels, { shape: [9] });
        let refLoss = 0;
        const refGrad = new Float64Array(v.length);
        for (let n = 0; n < 9; n++) {
          const row = Array.from(v.slice(n * 21, n * 21 + 21));
          const m = Math.max(...row), s = row.reduce((a, b) => a + Math.exp(b - m), 0);
          refLoss += (m + Math.log(s) - row[labels[n]]) / 9;
          row.forEach((a, c) => { refGrad[n * 21 + c] = (Math.exp(a - m) / s - (c === labels[n] ? 1 : 0)) / 9; });
        }
        const one = cc.tensor(1, { shape: [] });
        const [loss, grad, loss4, grad4] = withPath(path, () => {
          const x4 = scores.reshape([9, 21, 1, 1]), t4 = target.reshape([9, 1, 1]);
          return [cc.F.crossEntropy(scores, target), crossEntropyBackward(one, scores, target),
            cc.F.crossEntropy(x4, t4), crossEntropyBackward(one, x4, t4)].map((r) => r.dataSync() as Float32Array);
        });
        expectClose(loss, [refLoss], 1e-6, 0, 'crossEntropy');
        expectClose(grad, refGrad, 1e-5, 1e-7, 'crossEntropy backward');
        expectBitIdentical(loss4, loss, 'crossEntropy [N, C, 1, 1]');
        expectBitIdentical(grad4, grad, 'crossEntropy backward [N, C, 1, 1]');

        // klDiv, both target kinds, over more than one 4096-element block
        const { t: lp, v: lpv } = randomTensor([3, 3000], 8, -9, -1);
        const { t: tp, v: tpv } = randomTensor([3, 3000], 9, 0, 1e-3);
        tpv[5] = 0;
        const tz = cc.tensor(Float32Array.from(tpv), { shape: [3, 3000] });
        let ref = 0, refLogT = 0;
        for (let i = 0; i < lpv.length; i++) {
          ref += (tpv[i] === 0 ? 0 : tpv[i] * Math.log(tpv[i])) - tpv[i] * lpv[i];
          refLogT += Math.exp(lpv[i]) * (lpv[i] - tpv[i] * 1000);
        }
        const tLog = cc.tensor(Float32Array.from(tpv, (a) => a * 1000), { shape: [3, 3000] });
        const [kl, klNone, klLog] = withPath(path, () => [
          cc.F.klDiv(lp, tz, { reduction: 'sum' }), cc.F.klDiv(lp, tz, { reduction: 'none' }),
          cc.F.klDiv(tLog, lp, { reduction: 'sum', logTarget: true }),
        ].map((r) => r.dataSync() as Float32Array));
        expectClose(kl, [ref], 1e-5, 0, 'klDiv sum');
        expectClose(klLog, [refLogT], 1e-5, 0, 'klDiv logTarget sum');
        expect(klNone[5]).to.equal(0);  // 0 log 0 = 0
        expectClose(klNone.slice(0, 5), Array.from(tpv.slice(0, 5), (a, i) => a * Math.log(a) - a * lpv[i]), 1e-5, 1e-9, 'klDiv none');
        expect(klDivBackward(one, lp, tp, { reduction: 'sum' })[0].dataSync().length).to.equal(9000);
      });
    });
  }

  it('gives the same bits on the AVX-512 and AVX2 paths', function () {
    if (!runnable.includes('avx512') || !runnable.includes('avx2')) {
      console.log('      (skipped: needs a CPU with AVX-512)');
      this.skip();
    }
    for (const fn of ['exp', 'log', 'sigmoid', 'sin', 'cos', 'expm1', 'expShift'] as const) {
      expectBitIdentical(withPath('avx512', () => native.vecMathEval(fn, x, 3)), withPath('avx2', () => native.vecMathEval(fn, x, 3)), fn);
    }
    const rows = randomTensor([1, 1000], 4, -50, 50).t.dataSync() as Float32Array;
    for (let n = 0; n <= 1000; n += 37) {
      const v = rows.subarray(0, n);
      expect(withPath('avx512', () => native.vecMathEval('expSum', v, 10))).to.equal(withPath('avx2', () => native.vecMathEval('expSum', v, 10)));
    }
  });
});
