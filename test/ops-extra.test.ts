// Session 28's binary maths (remainder, fmod, atan2; native, both devices) and composed ops
// (any, all, isclose, allclose, nonzero, maskedSelect, roll, tril, triu): values as PyTorch 1.13
// gives them (its outputs written in by hand below), gradients against finite differences,
// errors by class and code, and the GPU beside the CPU.
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, rng, tapeCheck } from './helpers';

const NAN = NaN, INF = Infinity;
// Operands covering signs, zeros, infinities and NaN, and PyTorch 1.13's results for them.
const A = [-7.5, -3, 3, 7.5, 0, -0, 5, 1e30, INF, NAN, 2.5];
const B = [2, 5, -5, -2, 3, 3, INF, 3, 2, 1, -INF];
const TORCH = {
  remainder: [0.5, 2, -2, -0.5, 0, -0, 5, 0, NAN, NAN, -INF],
  fmod: [-1.5, -3, 3, 1.5, 0, -0, 5, 0, NAN, NAN, 2.5],
  atan2: [-1.3101938962936401, -0.5404195189476013, 2.601173162460327, 1.8313987255096436, 0, -0, 0, 1.5707963705062866, 1.5707963705062866, NAN, 3.1415927410125732],
};
const list = (t: cc.Tensor) => Array.from(t.dataSync());

describe('remainder, fmod, atan2', () => {
  it('match PyTorch on signs, zeros, infinities and NaN (remainder and fmod exactly, signed zeros too)', () => {
    const a = cc.tensor(A), b = cc.tensor(B);
    for (const op of ['remainder', 'fmod'] as const) {
      const y = list(cc[op](a, b));
      y.forEach((v, i) => expect(Object.is(v, Math.fround(TORCH[op][i])), `${op}(${A[i]}, ${B[i]}) = ${v}, PyTorch ${TORCH[op][i]}`).to.equal(true));
    }
    expectClose(cc.atan2(a, b).dataSync(), TORCH.atan2, 1.2e-7, 0, 'atan2');
    expect(Object.is(cc.atan2(cc.tensor([-0]), cc.tensor([1])).dataSync()[0], -0)).to.equal(true);
  });

  it('remainder and fmod are exact over operands of every scale (the vector path and its std::fmod fallback)', () => {
    // Quotients from 2^-40 to 2^80 (past 2^29 the kernel falls back to std::fmod), both signs,
    // zeros, infinities, NaN and subnormals among them, in rows that mix both paths.
    const next = rng(7), n = 4099, a = new Float32Array(n), b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 100 - 40) * (1 + next());
      b[i] = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 40 - 20) * (1 + next());
    }
    const specials = [0, -0, Infinity, -Infinity, NaN, 1e-45, -3e-39];
    specials.forEach((v, k) => { a[k] = v; b[k + 10] = v; a[k + 20] = v; b[k + 20] = specials[(k + 3) % specials.length]; });
    const pyMod = (x: number, y: number) => { const m = x % y; return m !== 0 && (y < 0) !== (m < 0) ? m + y : m; };
    const fm = list(cc.fmod(cc.tensor(a), cc.tensor(b))), rm = list(cc.remainder(cc.tensor(a), cc.tensor(b)));
    for (let i = 0; i < n; i++) {
      if (!Object.is(fm[i], Math.fround(a[i] % b[i]))) expect.fail(`fmod(${a[i]}, ${b[i]}) = ${fm[i]}, want ${Math.fround(a[i] % b[i])}`);
      const want = Math.fround(pyMod(a[i], b[i]));
      if (!Object.is(rm[i], want)) expect.fail(`remainder(${a[i]}, ${b[i]}) = ${rm[i]}, want ${want}`);
    }
  });

  it('atan2 within 1.6 ulp of float64 over operands of every scale, and C\'s special values', () => {
    const next = rng(11), n = 700, a = new Float32Array(n), b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 60 - 30) * (1 + next());
      b[i] = (next() < 0.5 ? -1 : 1) * 2 ** (next() * 60 - 30) * (1 + next());
    }
    const y = cc.atan2(cc.tensor(a, { shape: [n, 1] }), cc.tensor(b, { shape: [1, n] })).dataSync();
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const want = Math.atan2(a[i], b[j]);
        worst = Math.max(worst, Math.abs(y[i * n + j] - want) / (Math.max(Math.abs(want), 2 ** -126) * 2 ** -23));
      }
    }
    expect(worst).to.be.at.most(1.6);
    // Signed zeros and infinities, as Math.atan2 (C's atan2), rounded to float32.
    const edge = [0, -0, 1, -1, Infinity, -Infinity, NaN, 3e-39];
    const u = edge.flatMap((p) => edge.map(() => p)), v = edge.flatMap(() => edge);
    list(cc.atan2(cc.tensor(u), cc.tensor(v))).forEach((got, k) => {
      const want = Math.fround(Math.atan2(u[k], v[k]));
      if (!Object.is(got, want) && Math.abs(got - want) > 2.4e-7 * Math.abs(want)) expect.fail(`atan2(${u[k]}, ${v[k]}) = ${got}, want ${want}`);
    });
  });

  it('match float64 references on random operands, broadcasting and numbers on either side', () => {
    const { t: a, v: av } = randomTensor([4, 1, 6], 1, -50, 50);
    const { t: b, v: bv } = randomTensor([5, 1], 2, 0.5, 7);
    const at = (i: number, j: number, k: number) => av[i * 6 + k], bt = (j: number) => bv[j];
    const expected = (f: (x: number, y: number) => number) => {
      const out: number[] = [];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) for (let k = 0; k < 6; k++) out.push(f(at(i, j, k), bt(j)));
      return out;
    };
    const pyMod = (x: number, y: number) => { const m = x % y; return m !== 0 && (y < 0) !== (m < 0) ? m + y : m; };
    // fmod of floats is exact, so float64's % rounded once is the answer.
    expect(list(cc.remainder(a, cc.neg(b)))).to.deep.equal(expected((x, y) => Math.fround(pyMod(x, -y))));
    expect(list(cc.fmod(a, b))).to.deep.equal(expected((x, y) => Math.fround(x % y)));
    expectClose(cc.atan2(a, b).dataSync(), expected(Math.atan2), 2.4e-7, 1e-30, 'atan2');
    expect(list(cc.remainder(cc.tensor([-3, 7.5]), 5))).to.deep.equal([2, 2.5]);
    expect(list(cc.remainder(-3, cc.tensor([5, -2])))).to.deep.equal([2, -1]);
    expect(list(cc.fmod(cc.tensor([-3, 7.5]), 5))).to.deep.equal([-3, 2.5]);
    expectClose(cc.atan2(1, cc.tensor([1, -1])).dataSync(), [Math.PI / 4, 3 * Math.PI / 4], 1.2e-7, 0, 'atan2 number');
    expect(list(cc.tensor([-3]).remainder(5))).to.deep.equal([2]);
    expect(Number.isNaN(list(cc.remainder(cc.tensor([5]), cc.tensor([0])))[0])).to.equal(true);
  });

  it('gradients: 1 and -floor(a / b) (remainder), -trunc(a / b) (fmod), atan2 as PyTorch', () => {
    // Away from the jumps of floor and trunc: a / b not near an integer.
    const a = { shape: [2, 3], values: Float64Array.from([2.3, -4.6, 7.2, -1.3, 5.5, -8.7]) };
    const b = { shape: [2, 3], values: Float64Array.from([1.5, 1.9, -2.1, 2.8, -1.7, 3.3]) };
    tapeCheck('remainder', [a, b], ([x, y]) => cc.remainder(x, y));
    tapeCheck('fmod', [a, b], ([x, y]) => cc.fmod(x, y));
    tapeCheck('atan2', [a, b], ([x, y]) => cc.atan2(x, y));
    tapeCheck('atan2 broadcast', [{ shape: [2, 3] }, { shape: [3] }], ([x, y]) => cc.atan2(x, cc.add(y, 2)));
    tapeCheck('atan2 number', [{ shape: [4] }], ([x]) => cc.atan2(2, x));
    tapeCheck('remainder number', [b], ([y]) => cc.remainder(7.3, y));
  });

  it('empty operands give empty results', () => {
    for (const op of ['remainder', 'fmod', 'atan2'] as const) expect(cc[op](cc.zeros([0, 3]), cc.ones([3])).shape).to.deep.equal([0, 3]);
    expect(cc.roll(cc.zeros([0]), 3).shape).to.deep.equal([0]);
    expect(cc.triu(cc.zeros([2, 0, 3])).shape).to.deep.equal([2, 0, 3]);
    expect(cc.maskedSelect(cc.zeros([0, 2]), cc.ones([2])).shape).to.deep.equal([0]);
  });

  it('refuse int32, shapes that do not broadcast and bad operands', () => {
    expectError(() => cc.remainder(cc.zeros([2], 'int32'), 2), 'E_DTYPE', /remainder: expected `a` of dtype float32/);
    expectError(() => cc.fmod(cc.zeros([2]), cc.zeros([3])), 'E_SHAPE', /fmod: shapes \[2\] and \[3\] cannot be broadcast/);
    expectError(() => cc.atan2(cc.zeros([2]), 'x' as unknown as number), 'E_ARG', /atan2: expected `b`/);
  });
});

describe('any, all, isclose, allclose', () => {
  it('any and all over everything or over axes; NaN counts as true; of nothing: 0 and 1', () => {
    const x = cc.tensor([[0, 1, 0], [0, 0, 0], [2, NAN, -1]]);
    expect(x.any().item()).to.equal(1);
    expect(x.all().item()).to.equal(0);
    expect(list(cc.any(x, 1))).to.deep.equal([1, 0, 1]);
    expect(list(cc.all(x, 1))).to.deep.equal([0, 0, 1]);
    expect(list(cc.any(x, 0))).to.deep.equal([1, 1, 1]);
    expect(cc.all(x, [0, 1], true).shape).to.deep.equal([1, 1]);
    expect(cc.any(cc.zeros([0])).item()).to.equal(0);
    expect(cc.all(cc.zeros([0])).item()).to.equal(1);
    expect(list(cc.all(cc.zeros([2, 0]), 1))).to.deep.equal([1, 1]);
    const ints = cc.tensor(Int32Array.from([0, 3, -1]), { dtype: 'int32' });
    expect([ints.any().item(), ints.all().item(), cc.all(cc.tensor(Int32Array.from([4, 3]), { dtype: 'int32' })).item()]).to.deep.equal([1, 0, 1]);
    expect(cc.any(cc.isnan(cc.tensor([1, NAN]))).item()).to.equal(1);
  });

  it('isclose and allclose as torch.isclose: tolerances, infinities, NaN, broadcasting', () => {
    const a = cc.tensor([1, INF, NAN, 1e-9, INF, 1, -INF]);
    const b = cc.tensor([1 + 1e-6, INF, NAN, 0, 5, -INF, -INF]);
    expect(list(cc.isclose(a, b))).to.deep.equal([1, 1, 0, 1, 0, 0, 1]);   // PyTorch 1.13's answers
    expect(list(cc.isclose(a, b, { equalNan: true }))).to.deep.equal([1, 1, 1, 1, 0, 0, 1]);
    expect(list(cc.isclose(cc.tensor([1, 1.1]), cc.tensor([1.05]), { rtol: 0, atol: 0.06 }))).to.deep.equal([1, 1]);
    expect(list(cc.isclose(cc.tensor([100]), cc.tensor([101]), { rtol: 0.01, atol: 0 }))).to.deep.equal([1]);
    expect(list(cc.isclose(cc.tensor([101]), cc.tensor([100]), { rtol: 0.0099, atol: 0 }))).to.deep.equal([0]);
    expect(cc.allclose(cc.tensor([1, 2]), cc.tensor([1, 2.00001]))).to.equal(true);
    expect(cc.allclose(cc.tensor([1, 2]), cc.tensor([1, 2.001]))).to.equal(false);
    expect(cc.tensor([NAN]).allclose(cc.tensor([NAN]), { equalNan: true })).to.equal(true);
    expect(cc.allclose(cc.zeros([0]), cc.zeros([0]))).to.equal(true);
  });

  it('refuse bad arguments by class and code', () => {
    expectError(() => cc.any(cc.zeros([2]), 1), 'E_ARG', /any: /);
    expectError(() => cc.all(cc.zeros([2, 2]), [0, 0]), 'E_ARG', /all: axis 0 appears twice/);
    expectError(() => cc.any(cc.zeros([2]), 0, 'yes' as unknown as boolean), 'E_ARG', /any: expected `keepdim`/);
    expectError(() => cc.isclose(cc.zeros([2]), cc.zeros([3])), 'E_SHAPE', /isclose: /);
    expectError(() => cc.isclose(cc.zeros([2]), cc.zeros([2]), { rtol: -1 }), 'E_ARG', /non-negative tolerances/);
    expectError(() => cc.isclose(cc.zeros([2]), cc.zeros([2]), { tol: 1 } as unknown as cc.CloseOptions), 'E_ARG', /isclose: /);
    expectError(() => cc.allclose(cc.zeros([2], 'int32'), cc.zeros([2])), 'E_DTYPE', /isclose: /);
  });
});

describe('nonzero and maskedSelect', () => {
  it('nonzero gives the int32 positions of nonzero (and NaN) entries in order', () => {
    const y = cc.nonzero(cc.tensor([[0, 1], [NAN, 0]]));
    expect(y.dtype).to.equal('int32');
    expect(y.arraySync()).to.deep.equal([[0, 1], [1, 0]]);   // PyTorch's
    expect(cc.nonzero(cc.zeros([3, 4])).shape).to.deep.equal([0, 2]);
    expect(cc.nonzero(cc.tensor(5)).shape).to.deep.equal([1, 0]);
    expect(cc.tensor(Int32Array.from([0, 7, 0, -2]), { dtype: 'int32' }).nonzero().arraySync()).to.deep.equal([[1], [3]]);
    const { t, v } = randomTensor([3, 4, 5], 4);
    const mask = cc.gt(t, 0.3);
    const rows = cc.nonzero(mask).arraySync() as number[][];
    const want: number[][] = [];
    v.forEach((x, i) => { if (x > Math.fround(0.3)) want.push([Math.floor(i / 20), Math.floor(i / 5) % 4, i % 5]); });
    expect(rows).to.deep.equal(want);
    // The native pass (64 entries a block, rows of the last axis not split): widths around 64,
    // rank 1 to 4, empty axes, int32, NaN and -0 (zero).
    for (const [k, shape] of [[200], [3, 64], [2, 65], [5, 1, 129], [2, 3, 7, 63], [4, 0, 3], [0]].entries()) {
      const { v: w } = randomTensor(shape, 40 + k, -1, 1);
      const vals = Float32Array.from(w, (x, i) => (i % 11 === 0 ? NAN : i % 13 === 0 ? -0 : x > 0.2 ? x : 0));
      const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      const coords = (i: number) => shape.map((s, d) => Math.floor(i / strides[d]) % s);
      const wantRows: number[][] = [];
      vals.forEach((x, i) => { if (x !== 0) wantRows.push(coords(i)); });   // NaN !== 0
      const got = cc.nonzero(cc.tensor(vals, { shape }));
      expect(got.shape, `${shape}`).to.deep.equal([wantRows.length, shape.length]);
      expect(got.arraySync(), `${shape}`).to.deep.equal(wantRows);
      const ints = Int32Array.from(vals, (x) => (Number.isNaN(x) ? 5 : Math.round(x * 10)));
      const wantInts: number[][] = [];
      ints.forEach((x, i) => { if (x !== 0) wantInts.push(coords(i)); });
      expect(cc.nonzero(cc.tensor(ints, { shape, dtype: 'int32' })).arraySync(), `${shape} int32`).to.deep.equal(wantInts);
    }
  });

  it('maskedSelect picks the entries in order, broadcasting x and mask, with a gradient back to them', () => {
    const x = cc.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(list(cc.maskedSelect(x, cc.gt(x, 4)))).to.deep.equal([5, 6, 7, 8, 9]);   // PyTorch's
    expect(list(x.maskedSelect(cc.tensor([1, 0, 1])))).to.deep.equal([1, 3, 4, 6, 7, 9]);
    expect(list(cc.maskedSelect(cc.tensor([10, 20]), cc.tensor([[1, 0], [1, 1]])))).to.deep.equal([10, 10, 20]);
    expect(cc.maskedSelect(x, cc.zeros([3, 3])).shape).to.deep.equal([0]);
    const w = cc.tensor([1, 2, 3, 4], { requiresGrad: true });
    cc.maskedSelect(w, cc.tensor([[1, 0, 0, 1], [1, 1, 0, 0]])).sum().backward();
    expect(list(w.grad!)).to.deep.equal([2, 1, 0, 1]);
    const m = cc.tensor([1, 0, 1, 1, 0, 1]);
    tapeCheck('maskedSelect', [{ shape: [2, 6] }], ([t]) => cc.mul(cc.maskedSelect(t, m), cc.linspace(0, 7, 8)));
  });

  it('refuse bad arguments by class and code', () => {
    expectError(() => cc.nonzero([1] as unknown as cc.Tensor), 'E_ARG', /nonzero: expected `x`/);
    expectError(() => cc.maskedSelect(cc.zeros([2, 3]), cc.zeros([2])), 'E_SHAPE', /maskedSelect: /);
    expectError(() => cc.maskedSelect(cc.zeros([2]), null as unknown as cc.Tensor), 'E_ARG', /maskedSelect: expected `mask`/);
  });
});

describe('roll, tril, triu', () => {
  const x = () => cc.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  it('roll along axes, several at once, negative and large shifts, and flattened (PyTorch 1.13 results)', () => {
    expect(cc.roll(x(), 1, 0).arraySync()).to.deep.equal([[7, 8, 9], [1, 2, 3], [4, 5, 6]]);
    expect(cc.roll(x(), [1, -1], [0, 1]).arraySync()).to.deep.equal([[8, 9, 7], [2, 3, 1], [5, 6, 4]]);
    expect(cc.roll(x(), 4).arraySync()).to.deep.equal([[6, 7, 8], [9, 1, 2], [3, 4, 5]]);
    expect(x().roll(-7, 1).arraySync()).to.deep.equal(x().roll(2, 1).arraySync());
    expect(cc.roll(x(), 3, -1).arraySync()).to.deep.equal(x().arraySync());
    expect(cc.roll(cc.zeros([0, 2]), 1, 0).shape).to.deep.equal([0, 2]);
    expect(cc.roll(cc.tensor(Int32Array.from([1, 2, 3]), { dtype: 'int32' }), 1).dtype).to.equal('int32');
    tapeCheck('roll', [{ shape: [3, 4] }], ([t]) => cc.mul(cc.roll(t, [1, 2], [0, 1]), cc.linspace(0, 11, 12).reshape([3, 4])));
    // Every axis and shift of a [3, 4, 5] int32 tensor against index arithmetic.
    const shape = [3, 4, 5], v = Int32Array.from({ length: 60 }, (_, i) => i * 7 - 100);
    const t = cc.tensor(v, { dtype: 'int32', shape });
    for (let axis = 0; axis < 3; axis++) {
      for (const shift of [-6, -1, 1, 2, 4, 9]) {
        const got = cc.roll(t, shift, axis).dataSync();
        const inner = shape.slice(axis + 1).reduce((p, q) => p * q, 1), n = shape[axis];
        v.forEach((_, i) => {
          const a = Math.floor(i / inner) % n, from = i + ((((a - shift) % n) + n) % n - a) * inner;
          if (got[i] !== v[from]) expect.fail(`roll(${shift}, ${axis})[${i}] = ${got[i]}, want ${v[from]}`);
        });
      }
    }
  });

  it('tril and triu keep a triangle of the last two axes, any diagonal, batched, with gradients', () => {
    expect(cc.tril(x(), -1).arraySync()).to.deep.equal([[0, 0, 0], [4, 0, 0], [7, 8, 0]]);
    expect(cc.triu(x(), 1).arraySync()).to.deep.equal([[0, 2, 3], [0, 0, 6], [0, 0, 0]]);
    expect(x().tril().arraySync()).to.deep.equal([[1, 0, 0], [4, 5, 0], [7, 8, 9]]);
    expect(cc.triu(cc.ones([2, 2, 3]), -5).arraySync()).to.deep.equal(cc.ones([2, 2, 3]).arraySync());
    expect(cc.triu(cc.ones([2, 3]), 3).arraySync()).to.deep.equal([[0, 0, 0], [0, 0, 0]]);
    expect(cc.tril(cc.ones([2, 2, 3]), 0).arraySync()).to.deep.equal([[[1, 0, 0], [1, 1, 0]], [[1, 0, 0], [1, 1, 0]]]);
    expect(cc.tril(cc.tensor(Int32Array.from([1, 2, 3, 4]), { dtype: 'int32', shape: [2, 2] })).arraySync()).to.deep.equal([[1, 0], [3, 4]]);
    tapeCheck('triu', [{ shape: [2, 3, 4] }], ([t]) => cc.triu(t, 1));
    // Every diagonal of a batch of wide and tall matrices (NaN and -0 copied as they are), and huge ones.
    for (const [r, c] of [[5, 7], [7, 5]]) {
      const v = Float32Array.from({ length: 3 * r * c }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : i));
      const t = cc.tensor(v, { shape: [3, r, c] });
      for (let k = -9; k <= 9; k++) {
        for (const upper of [false, true]) {
          const got = (upper ? cc.triu(t, k) : cc.tril(t, k)).dataSync();
          v.forEach((e, i) => {
            const row = Math.floor(i / c) % r, col = i % c;
            const want = (upper ? col - row >= k : col - row <= k) ? e : 0;
            if (!Object.is(got[i], want)) expect.fail(`${upper ? 'triu' : 'tril'}([3, ${r}, ${c}], ${k})[${i}] = ${got[i]}, want ${want}`);
          });
        }
      }
    }
    expect(cc.tril(cc.ones([2, 2]), 2 ** 40).tolist()).to.deep.equal([[1, 1], [1, 1]]);
    // Empty matrices of either kind (a 0-column one once divided by 0: SIGFPE, found by scripts/fuzz-api.ts).
    for (const shape of [[3, 0], [0, 3], [2, 3, 0], [0, 0]]) for (const f of [cc.tril, cc.triu]) expect(f(cc.ones(shape), 1).shape).to.deep.equal(shape);
    expect(cc.triu(cc.ones([2, 2]), -(2 ** 40)).tolist()).to.deep.equal([[1, 1], [1, 1]]);
  });

  it('refuse bad arguments by class and code', () => {
    expectError(() => cc.roll(x(), [1, 2]), 'E_ARG', /roll: without `dims`, expected one shift/);
    expectError(() => cc.roll(x(), [1], [0, 1]), 'E_ARG', /roll: expected as many `shifts` as `dims`/);
    expectError(() => cc.roll(x(), 1, 2), 'E_ARG', /roll: /);
    expectError(() => cc.roll(x(), 0.5, 0), 'E_ARG', /roll: /);
    expectError(() => cc.tril(cc.zeros([3])), 'E_SHAPE', /tril: expected a tensor of rank 2 or more/);
    expectError(() => cc.triu(x(), 1.5), 'E_ARG', /triu: /);
  });
});

describeCuda('session 28 ops on the GPU', () => {
  it('remainder, fmod, atan2 and the composed ops match the CPU, with gradients', () => {
    const a = randomCpu([4, 7], 1, -20, 20), b = randomCpu([7], 2, 0.5, 5), s = cc.tensor(A), t = cc.tensor(B);
    for (const op of ['remainder', 'fmod'] as const) {
      compareDevices((u, v) => cc[op](u, v), [s, t], { bound: 0, what: `${op} special` });
      compareDevices((u, v) => cc[op](u, v), [a, b], { bound: 1e-6, grads: true, what: op });
    }
    compareDevices((u, v) => cc.atan2(u, v), [s, t], { bound: 2e-6, what: 'atan2 special' });
    compareDevices((u, v) => cc.atan2(u, v), [a, b], { bound: 1e-5, grads: true, what: 'atan2' });
    const x = randomCpu([3, 4, 5], 3);
    compareDevices((u) => cc.roll(u, [1, -2], [0, 2]), [x], { grads: true, what: 'roll' });
    compareDevices((u) => cc.tril(u, 1), [x], { grads: true, what: 'tril' });
    compareDevices((u) => cc.maskedSelect(u, cc.gt(u, 0.2)), [x], { grads: true, what: 'maskedSelect' });
    compareDevices((u) => cc.any(cc.gt(u, 0.9), 1), [x], { what: 'any' });
    compareDevices((u) => cc.isclose(u, cc.scale(u, 1.000001)), [x], { what: 'isclose' });
    const g = x.to('cuda');
    expect(cc.nonzero(cc.gt(g, 0)).device).to.equal('cuda');
    expect(cc.nonzero(cc.gt(g, 0)).arraySync()).to.deep.equal(cc.nonzero(cc.gt(x, 0)).arraySync());
    expect(cc.allclose(g, x.to('cuda'))).to.equal(true);
  });
});
