/**
 * linalg (lib/linalg.ts): values and gradients against PyTorch 1.13 in float64
 * (test/fixtures/make/linalg.py), the sign-ambiguous factors (QR, eigh, SVD) by their invariants
 * and up to sign, gradients against finite differences, typed errors with the inputs intact,
 * empty matrices, and the GPU against the CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, randomTensor, tapeCheck } from './helpers';

const L = cc.linalg;
type Values = { shape: number[]; values: (number | string)[]; dtype?: 'int32' };
interface Case {
  op: string; inputs: Values[]; kw: Record<string, unknown>; outputs: Record<string, Values>;
  weights?: Record<string, Values>; square?: string[]; grads?: Values[];
}

const numbers = (v: Values) => v.values.map(Number);
const make = (v: Values, requiresGrad = false) => cc.tensor(numbers(v), { shape: v.shape, dtype: v.dtype ?? 'float32', requiresGrad: requiresGrad && v.dtype !== 'int32' });
const ordOf = (v: unknown) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v) as cc.linalg.MatrixNormOrd;

/** The op of a case: its outputs by PyTorch's names (y0, y1... for plain results). */
function apply(c: Case, xs: cc.Tensor[]): Record<string, cc.Tensor> {
  const kw = c.kw;
  const [a, b] = xs;
  switch (c.op) {
    case 'det': return { y0: L.det(a) };
    case 'slogdet': { const r = L.slogdet(a); return { sign: r.sign, logabsdet: r.logabsdet }; }
    case 'inv': return { y0: L.inv(a) };
    case 'solve': return { y0: L.solve(a, b, { left: kw.left as boolean | undefined }) };
    case 'solveTriangular': return { y0: L.solveTriangular(a, b, kw as unknown as cc.linalg.SolveTriangularOptions) };
    case 'cholesky': return { y0: L.cholesky(a, { upper: kw.upper as boolean | undefined }) };
    case 'qr': { const r = L.qr(a, (kw.mode as 'reduced' | 'complete' | undefined) ?? 'reduced'); return { Q: r.Q, R: r.R }; }
    case 'eigh': { const r = L.eigh(a, (kw.UPLO as 'L' | 'U' | undefined) ?? 'L'); return { eigenvalues: r.eigenvalues, eigenvectors: r.eigenvectors }; }
    case 'eigvalsh': return { y0: L.eigvalsh(a) };
    case 'svd': { const r = L.svd(a, { fullMatrices: kw.fullMatrices as boolean | undefined }); return { U: r.U, S: r.S, Vh: r.Vh }; }
    case 'svdvals': return { y0: L.svdvals(a) };
    case 'pinv': return { y0: L.pinv(a, kw) };
    case 'matrixRank': return { y0: L.matrixRank(a, kw) };
    case 'lstsq': return { y0: L.lstsq(a, b).solution };
    case 'lstsqFull': { const r = L.lstsq(a, b, kw); return { solution: r.solution, residuals: r.residuals, rank: r.rank, singularValues: r.singularValues }; }
    case 'matrixNorm': return { y0: L.matrixNorm(a, ordOf(kw.ord), (kw.dim as number[] | undefined) ?? [-2, -1], (kw.keepdim as boolean | undefined) ?? false) };
    case 'vectorNorm': return { y0: L.vectorNorm(a, kw.ord as number, kw.dim as number[]) };
    case 'norm': return { y0: L.norm(a, kw.ord as number | undefined, kw.dim as number | undefined) };
    case 'cond': return { y0: L.cond(a, kw.p === null ? null : ordOf(kw.p)) };
    case 'matrixPower': return { y0: L.matrixPower(a, kw.n as number) };
    case 'multiDot': return { y0: L.multiDot(xs) };
    case 'vecdot': return { y0: L.vecdot(a, b, (kw.dim as number | undefined) ?? -1) };
    default: throw new Error(c.op);
  }
}

/** The columns of a batch of matrices [..., r, c] as arrays (of each matrix in turn). */
function columns(t: cc.Tensor): number[][] {
  const v = t.dataSync(), r = t.shape[t.rank - 2], c = t.shape[t.rank - 1], count = t.size / Math.max(1, r * c);
  const out: number[][] = [];
  for (let b = 0; b < count; b++) for (let j = 0; j < c; j++) out.push(Array.from({ length: r }, (_, i) => v[b * r * c + i * c + j]));
  return out;
}

/** Each column of `actual` equal to the column of `expected` or to its negation. */
function sameUpToSign(actual: cc.Tensor, expected: Values, what: string, tol = 2e-5): void {
  expect(actual.shape, `${what} shape`).to.deep.equal(expected.shape);
  const a = columns(actual), e = columns(make(expected));
  a.forEach((col, j) => {
    const dot = col.reduce((s, x, i) => s + x * e[j][i], 0);
    const s = dot < 0 ? -1 : 1;
    expectClose(col.map((x) => s * x), e[j], tol, tol, `${what} column ${j}`);
  });
}

/** max |A - B| over two tensors of one shape. */
function maxDiff(a: cc.Tensor, b: cc.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  expect(a.shape).to.deep.equal(b.shape);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

/** Q^T Q = I for the columns of a batch of matrices. */
function expectOrthonormalColumns(q: cc.Tensor, what: string): void {
  const k = q.shape[q.rank - 1];
  const batch = q.shape.slice(0, -2);
  const eye = cc.eye(k).expand([...batch, k, k]);
  expect(maxDiff(cc.matmul(q, q, { transA: true }), eye), `${what} orthonormal`).to.be.below(2e-6);
}

// float64 references from the same float32 inputs: Gauss-Jordan with partial pivoting.
const refSolve = (a: Float64Array, b: Float64Array, n: number, k: number): { x: Float64Array; det: number } => {
  const m = a.slice(), x = b.slice();
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(m[i * n + c]) > Math.abs(m[p * n + c])) p = i;
    if (p !== c) {
      det = -det;
      for (let j = 0; j < n; j++) [m[c * n + j], m[p * n + j]] = [m[p * n + j], m[c * n + j]];
      for (let j = 0; j < k; j++) [x[c * k + j], x[p * k + j]] = [x[p * k + j], x[c * k + j]];
    }
    const d = m[c * n + c];
    det *= d;
    for (let j = 0; j < n; j++) m[c * n + j] /= d;
    for (let j = 0; j < k; j++) x[c * k + j] /= d;
    for (let i = 0; i < n; i++) {
      const f = m[i * n + c];
      if (i === c || f === 0) continue;
      for (let j = 0; j < n; j++) m[i * n + j] -= f * m[c * n + j];
      for (let j = 0; j < k; j++) x[i * k + j] -= f * x[c * k + j];
    }
  }
  return { x, det };
};
const eye64 = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

describe('linalg', () => {
  const { cases } = loadFixture<{ cases: Case[] }>('linalg');

  for (const c of cases) {
    it(`${c.op} ${JSON.stringify(c.kw)} ${c.inputs.map((x) => `[${x.shape.join(', ')}]`).join(' ')} matches PyTorch${c.grads ? ' (with gradients)' : ''}`, () => {
      const xs = c.inputs.map((v) => make(v, c.grads !== undefined));
      const before = xs.map((x) => Array.from(x.dataSync()));
      const out = apply(c, xs);
      const a = xs[0];
      for (const [name, expected] of Object.entries(c.outputs)) {
        const y = out[name];
        expect(y, name).to.not.equal(undefined);
        if (c.op === 'svd' && name !== 'S' && c.kw.fullMatrices !== false) {
          // Full matrices: past the first k, any orthonormal completion is right (checked below).
          const k = Math.min(...c.inputs[0].shape.slice(-2)), axis = name === 'U' ? y.rank - 1 : y.rank - 2;
          const mine = cc.narrow(y, axis, 0, k), theirs = cc.narrow(make(expected), axis, 0, k);
          const cols = (t: cc.Tensor) => (name === 'U' ? t : cc.transpose(t, -2, -1));
          sameUpToSign(cols(mine), { shape: [...cols(theirs).shape], values: Array.from(cols(theirs).dataSync()) }, name);
        } else if (c.op === 'qr' || (c.op === 'eigh' && name === 'eigenvectors') || (c.op === 'svd' && name !== 'S')) {
          // Defined up to sign: columns of Q, U, V (rows of R and Vh) compared up to sign.
          if (name === 'R' || name === 'Vh') {
            const et = cc.transpose(make(expected), -2, -1);
            sameUpToSign(cc.transpose(y, -2, -1), { shape: [...et.shape], values: Array.from(et.dataSync()) }, name);
          } else sameUpToSign(y, expected, name);
        } else {
          expect(y.shape, `${name} shape`).to.deep.equal(expected.shape);
          if (expected.dtype === 'int32') expect(y.dtype).to.equal('int32');
          expectClose(y.dataSync(), numbers(expected), 2e-5, 2e-5, name);
        }
      }
      // Invariants of the factorisations.
      if (c.op === 'qr') {
        expect(maxDiff(cc.matmul(out.Q, out.R), a)).to.be.below(3e-6);
        expectOrthonormalColumns(out.Q, 'Q');
        expect(maxDiff(out.R, cc.triu(out.R)), 'R upper').to.equal(0);
      }
      if (c.op === 'svd') {
        const k = out.S.shape[out.S.rank - 1];
        const U = cc.narrow(out.U, out.U.rank - 1, 0, k), Vh = cc.narrow(out.Vh, out.Vh.rank - 2, 0, k);
        expect(maxDiff(cc.matmul(cc.mul(U, cc.unsqueeze(out.S, -2)), Vh), a)).to.be.below(3e-6);
        expectOrthonormalColumns(out.U, 'U');
        expectOrthonormalColumns(cc.transpose(out.Vh, -2, -1), 'V');
      }
      if (c.op === 'eigh' && c.kw.UPLO === undefined) {
        const sym = c.inputs[0].shape.length === 2 ? cc.tril(a).add(cc.tril(a, -1).transpose(-2, -1)) : a;
        const V = out.eigenvectors;
        expect(maxDiff(cc.matmul(sym, V), cc.mul(V, cc.unsqueeze(out.eigenvalues, -2)))).to.be.below(1e-5);
        expectOrthonormalColumns(V, 'V');
      }
      if (c.grads) {
        let loss: cc.Tensor | null = null;
        for (const [name, w] of Object.entries(c.weights!)) {
          const y = out[name];
          const term = cc.sum(cc.mul(c.square!.includes(name) ? cc.mul(y, y) : y, make(w)));
          loss = loss === null ? term : cc.add(loss, term);
        }
        loss!.backward();
        const gradded = xs.filter((x) => x.dtype === 'float32');
        c.grads.forEach((g, i) => {
          expect(gradded[i].grad, `grad ${i}`).to.not.equal(null);
          expectClose(gradded[i].grad!.dataSync(), numbers(g), 5e-4, 5e-5, `grad ${i}`);
        });
      }
      xs.forEach((x, i) => expect(Array.from(x.dataSync()), `input ${i} intact`).to.deep.equal(before[i]));
    });
  }

  it('gradients match finite differences', () => {
    const spd = (x: cc.Tensor) => cc.add(cc.div(cc.matmul(x, x, { transB: true }), x.shape[x.rank - 1]), cc.eye(x.shape[x.rank - 1]));
    const symm = (x: cc.Tensor) => cc.div(cc.add(x, cc.transpose(x, -2, -1)), 2);
    const o = { samples: 12 };
    tapeCheck('det', [{ shape: [2, 3, 3] }], ([a]) => L.det(a), o);
    tapeCheck('slogdet', [{ shape: [3, 3] }], ([a]) => L.slogdet(cc.add(a, cc.eye(3))).logabsdet, o);
    tapeCheck('inv', [{ shape: [3, 3] }], ([a]) => L.inv(cc.add(a, cc.mul(cc.eye(3), 2))), o);
    tapeCheck('solve', [{ shape: [2, 3, 3] }, { shape: [3, 2] }], ([a, b]) => L.solve(cc.add(a, cc.mul(cc.eye(3), 2)), b), o);
    tapeCheck('solve left=false', [{ shape: [3, 3] }, { shape: [2, 3] }], ([a, b]) => L.solve(cc.add(a, cc.mul(cc.eye(3), 2)), b, { left: false }), o);
    const tri = (a: cc.Tensor) => cc.add(a, cc.mul(cc.eye(a.shape[a.rank - 1]), 3));
    tapeCheck('solveTriangular', [{ shape: [2, 3, 3] }, { shape: [3, 2] }], ([a, b]) => L.solveTriangular(tri(a), b, { upper: true }), o);
    tapeCheck('solveTriangular right, unit', [{ shape: [3, 3] }, { shape: [2, 3] }], ([a, b]) => L.solveTriangular(tri(a), b, { upper: false, left: false, unitriangular: true }), o);
    tapeCheck('cholesky', [{ shape: [2, 3, 3] }], ([a]) => L.cholesky(spd(a)), o);
    tapeCheck('cholesky upper', [{ shape: [3, 3] }], ([a]) => L.cholesky(spd(a), { upper: true }), o);
    tapeCheck('qr tall', [{ shape: [4, 3] }], ([a]) => { const { Q, R } = L.qr(a); return cc.concat([cc.mul(Q, Q).flatten(), cc.mul(R, R).flatten()]); }, o);
    tapeCheck('qr wide', [{ shape: [2, 4] }], ([a]) => { const { Q, R } = L.qr(a); return cc.concat([cc.mul(Q, Q).flatten(), cc.mul(R, R).flatten()]); }, o);
    tapeCheck('eigh', [{ shape: [4, 4] }], ([a]) => { const r = L.eigh(symm(a)); return cc.concat([r.eigenvalues, cc.mul(r.eigenvectors, r.eigenvectors).flatten()]); }, o);
    tapeCheck('eigvalsh', [{ shape: [2, 3, 3] }], ([a]) => L.eigvalsh(symm(a), 'U'), o);
    tapeCheck('svd', [{ shape: [4, 3] }], ([a]) => { const r = L.svd(a, { fullMatrices: false }); return cc.concat([r.S, cc.mul(r.U, r.U).flatten(), cc.mul(r.Vh, r.Vh).flatten()]); }, o);
    tapeCheck('svd wide, full', [{ shape: [2, 4] }], ([a]) => { const r = L.svd(a); return cc.concat([r.S, cc.mul(cc.narrow(r.Vh, 0, 0, 2), cc.narrow(r.Vh, 0, 0, 2)).flatten()]); }, o);
    tapeCheck('svdvals', [{ shape: [2, 3, 4] }], ([a]) => L.svdvals(a), o);
    tapeCheck('pinv tall', [{ shape: [4, 3] }], ([a]) => L.pinv(a), o);
    tapeCheck('pinv wide', [{ shape: [2, 4] }], ([a]) => L.pinv(a), o);
    tapeCheck('pinv hermitian', [{ shape: [3, 3] }], ([a]) => L.pinv(spd(a), { hermitian: true }), o);
    tapeCheck('lstsq', [{ shape: [5, 3] }, { shape: [5, 2] }], ([a, b]) => L.lstsq(a, b).solution, o);
    // Distinct entries at least 0.05 from 0 and row and column sums far apart (no kink within a step).
    const spread = Float64Array.from({ length: 24 }, (_, i) => (((i * 7) % 24) / 10 - 1.15) * (1 + (i % 4)));
    for (const ord of ['fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity] as const) tapeCheck(`matrixNorm ${ord}`, [{ shape: [2, 3, 4], values: spread }], ([a]) => L.matrixNorm(a, ord), o);
    tapeCheck('cond', [{ shape: [3, 3] }], ([a]) => L.cond(cc.add(a, cc.eye(3))), o);
    tapeCheck('cond fro', [{ shape: [3, 3] }], ([a]) => L.cond(cc.add(a, cc.mul(cc.eye(3), 2)), 'fro'), o);
    tapeCheck('matrixPower', [{ shape: [3, 3] }], ([a]) => L.matrixPower(a, 3), o);
    tapeCheck('matrixPower negative', [{ shape: [3, 3] }], ([a]) => L.matrixPower(cc.add(a, cc.mul(cc.eye(3), 2)), -2), o);
    tapeCheck('multiDot', [{ shape: [3] }, { shape: [3, 4] }, { shape: [4] }], (ts) => L.multiDot(ts), o);
    tapeCheck('vecdot', [{ shape: [2, 3] }, { shape: [3] }], ([a, b]) => L.vecdot(a, b), o);
  });

  it('matrices 16 wide or more (the native float64 kernels): values against float64 references, gradients, errors', () => {
    for (const n of [16, 17, 40]) {
      const { t: r } = randomTensor([2, n, n], n);
      const A = cc.add(r, cc.mul(cc.eye(n), 3));            // well conditioned
      const a = Float64Array.from(A.dataSync());
      const { t: B, v: bv } = randomTensor([n, 3], n + 1);
      const dets = L.det(A).dataSync(), invs = L.inv(A).dataSync(), xs = L.solve(A, B).dataSync();
      const logabs = L.slogdet(A).logabsdet.dataSync();
      for (let b = 0; b < 2; b++) {
        const ab = a.subarray(b * n * n, (b + 1) * n * n);
        const ref = refSolve(ab, eye64(n), n, n);
        expectClose([dets[b]], [ref.det], 1e-5, 0, `det n ${n}`);
        expectClose([logabs[b]], [Math.log(Math.abs(ref.det))], 1e-6, 1e-6, `slogdet n ${n}`);
        expectClose(invs.subarray(b * n * n, (b + 1) * n * n), ref.x, 1e-5, 1e-6, `inv n ${n}`);
        expectClose(xs.subarray(b * n * 3, (b + 1) * n * 3), refSolve(ab, Float64Array.from(bv), n, 3).x, 1e-5, 1e-6, `solve n ${n}`);
      }
      // Cholesky of A A^T / n + I, against L L^T = A in float64; upper gives L^T.
      const S = cc.add(cc.div(cc.matmul(r, r, { transB: true }), n), cc.eye(n));
      const s = Float64Array.from(S.dataSync()), l = Float64Array.from(L.cholesky(S).dataSync());
      const u = L.cholesky(S, { upper: true }).dataSync();
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let t = 0;
            for (let p = 0; p < n; p++) t += l[b * n * n + i * n + p] * l[b * n * n + j * n + p];
            if (Math.abs(t - s[b * n * n + i * n + j]) > 1e-5 * n) expect.fail(`cholesky n ${n}: (L L^T)[${i}, ${j}] = ${t}, A's ${s[b * n * n + i * n + j]}`);
            if (j > i && l[b * n * n + i * n + j] !== 0) expect.fail('cholesky: nonzero above the diagonal');
            expect(u[b * n * n + j * n + i]).to.equal(l[b * n * n + i * n + j]);
          }
        }
      }
      // Triangular solves, every form, against the general solve of the triangle.
      for (const upper of [false, true]) {
        for (const left of [true, false]) {
          const T = upper ? cc.triu(A) : cc.tril(A);
          const rhs = left ? B : cc.transpose(B, 0, 1);
          const got = L.solveTriangular(T, rhs, { upper, left }).dataSync();
          const want = left ? L.solve(T, B) : L.solve(T, rhs, { left: false });
          expectClose(got, want.dataSync(), 1e-5, 1e-6, `solveTriangular n ${n} upper ${upper} left ${left}`);
        }
      }
    }
    // Gradients through the native kernels (forward and the backward's products and solves).
    const o = { samples: 10 };
    const well = (a: cc.Tensor) => cc.add(a, cc.mul(cc.eye(16), 4));
    tapeCheck('det 16', [{ shape: [16, 16] }], ([a]) => L.det(cc.div(well(a), 4)), o);
    tapeCheck('inv 16', [{ shape: [16, 16] }], ([a]) => L.inv(well(a)), o);
    tapeCheck('solve 16', [{ shape: [16, 16] }, { shape: [16, 2] }], ([a, b]) => L.solve(well(a), b), o);
    tapeCheck('cholesky 16', [{ shape: [16, 16] }], ([a]) => L.cholesky(cc.add(cc.div(cc.matmul(a, a, { transB: true }), 16), cc.eye(16))), o);
    tapeCheck('solveTriangular 16', [{ shape: [16, 16] }, { shape: [16, 3] }], ([a, b]) => L.solveTriangular(well(a), b, { upper: true }), o);
    // A zero column makes pivot 6 exactly zero; a negative diagonal entry, minor 8 not positive-definite.
    const zeroColumn = cc.mul(cc.add(randomTensor([20, 20], 3).t, cc.mul(cc.eye(20), 3)), cc.tensor(Float32Array.from({ length: 20 }, (_, j) => (j === 5 ? 0 : 1))));
    expectError(() => L.inv(zeroColumn), 'E_RANGE', /diagonal element 6 is zero/);
    expect(L.det(zeroColumn).item()).to.equal(0);
    const notPd = cc.diag(cc.tensor(Float32Array.from({ length: 20 }, (_, j) => (j === 7 ? -1 : 2))));
    expectError(() => L.cholesky(notPd), 'E_RANGE', /leading minor of order 8/);
  });

  it('det, inv and cholesky of a batch run in C++, threads over the batch: every width, panels, errors by batch element', () => {
    // A float64 reference Cholesky (dot products, left-looking).
    const refCholesky = (a: Float64Array, n: number): Float64Array => {
      const l = new Float64Array(n * n);
      for (let j = 0; j < n; j++) {
        for (let i = j; i < n; i++) {
          let t = a[i * n + j];
          for (let p = 0; p < j; p++) t -= l[i * n + p] * l[j * n + p];
          l[i * n + j] = i === j ? Math.sqrt(t) : t / l[j * n + j];
        }
      }
      return l;
    };
    // Widths below, at and across the 32 where Cholesky goes in panels of 8 (and not a multiple of 8).
    for (const n of [1, 3, 8, 31, 32, 33, 47, 64]) {
      const { t: r } = randomTensor([3, 2, n, n], 100 + n);
      const A = cc.add(r, cc.mul(cc.eye(n), 3));
      const S = cc.add(cc.div(cc.matmul(r, r, { transB: true }), n), cc.eye(n));
      const a = Float64Array.from(A.dataSync()), sv = Float64Array.from(S.dataSync());
      const dets = L.det(A), invs = L.inv(A).dataSync(), ls = L.cholesky(S).dataSync(), us = L.cholesky(S, { upper: true }).dataSync();
      expect(dets.shape).to.deep.equal([3, 2]);
      const slog = L.slogdet(A);
      for (let b = 0; b < 6; b++) {
        const at = b * n * n;
        const ref = refSolve(a.subarray(at, at + n * n), eye64(n), n, n);
        expectClose([dets.dataSync()[b]], [ref.det], 1e-5, 0, `det n ${n}`);
        expectClose([slog.logabsdet.dataSync()[b]], [Math.log(Math.abs(ref.det))], 1e-6, 1e-6, `slogdet n ${n}`);
        expect(slog.sign.dataSync()[b], `slogdet sign n ${n}`).to.equal(Math.sign(ref.det));
        expectClose(invs.subarray(at, at + n * n), ref.x, 1e-5, 1e-6, `inv n ${n}`);
        const lr = refCholesky(sv.subarray(at, at + n * n), n);
        expectClose(ls.subarray(at, at + n * n), lr, 1e-5, 1e-6, `cholesky n ${n}`);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) expect(us[at + j * n + i], `upper n ${n}`).to.equal(ls[at + i * n + j]);
        }
      }
    }
    // The same bits on one thread as on several.
    const { t: r } = randomTensor([16, 40, 40], 7);
    const spd = cc.add(cc.div(cc.matmul(r, r, { transB: true }), 40), cc.eye(40));
    const run = () => [L.det(r).dataSync(), L.inv(r).dataSync(), L.cholesky(spd).dataSync()].map((v) => Array.from(v));
    const threads = cc.getNumThreads();
    cc.setNumThreads(1);
    const one = run();
    cc.setNumThreads(Math.max(2, threads));
    const several = run();
    cc.setNumThreads(threads);
    expect(several).to.deep.equal(one);
    // The first failing matrix of a batch is named, with its minor or pivot: in the first panel,
    // in a later one, in the last (narrower) one, and a NaN.
    for (const [minor, n] of [[5, 40], [17, 40], [38, 40], [30, 33]]) {
      const diag = (bad: boolean) => cc.diag(cc.tensor(Float32Array.from({ length: n }, (_, j) => (bad && j === minor - 1 ? -1 : 2))));
      const batch = cc.stack([diag(false), diag(false), diag(true), diag(true)]);
      expectError(() => L.cholesky(batch), 'E_RANGE', new RegExp(`Batch element 2\\).*leading minor of order ${minor} is`));
      expectError(() => L.cholesky(batch, { upper: true }), 'E_RANGE', new RegExp(`leading minor of order ${minor} is`));
      expect(Array.from(batch.dataSync().subarray(2 * n * n, 2 * n * n + n * n)).filter((v) => v === -1).length).to.equal(1);
    }
    const withNaN = cc.diag(cc.tensor(Float32Array.from({ length: 36 }, (_, j) => (j === 20 ? NaN : 1))));
    expectError(() => L.cholesky(withNaN), 'E_RANGE', /leading minor of order 21 is/);
    // A zero pivot inside LU's panels (48 wide or more): column 30 of 50 zero.
    const zeroColumn = cc.mul(cc.add(randomTensor([50, 50], 5).t, cc.mul(cc.eye(50), 3)), cc.tensor(Float32Array.from({ length: 50 }, (_, j) => (j === 29 ? 0 : 1))));
    expectError(() => L.inv(zeroColumn), 'E_RANGE', /diagonal element 30 is zero/);
    expectError(() => L.solve(zeroColumn, cc.ones([50, 1])), 'E_RANGE', /diagonal element 30 is zero/);
    expect(L.det(zeroColumn).item()).to.equal(0);
    const singularBatch = cc.stack([cc.eye(3), cc.tensor([[1, 2, 3], [2, 4, 6], [0, 0, 1]])]);
    expectError(() => L.inv(singularBatch), 'E_RANGE', /Batch element 1\)/);
    const d = L.det(singularBatch).dataSync();
    expect(d[0]).to.equal(1);
    expect(d[1]).to.equal(0);   // (-0: a row swap)
    // Gradients through the panels.
    const o = { samples: 8 };
    tapeCheck('cholesky 33', [{ shape: [33, 33] }], ([x]) => L.cholesky(cc.add(cc.div(cc.matmul(x, x, { transB: true }), 33), cc.eye(33)), { upper: true }), o);
    tapeCheck('inv 33', [{ shape: [2, 33, 33] }], ([x]) => L.inv(cc.add(x, cc.mul(cc.eye(33), 5))), o);
    // slogdet: batched too; a singular matrix in the panels has sign 0 and logabsdet -Infinity.
    const sl = L.slogdet(zeroColumn);
    expect([sl.sign.item(), sl.logabsdet.item()]).to.deep.equal([0, -Infinity]);
    tapeCheck('slogdet 50', [{ shape: [2, 50, 50] }], ([x]) => L.slogdet(cc.add(x, cc.mul(cc.eye(50), 8))).logabsdet, o);
    // solve: batched too, A broadcast against B (its gradient summed back), and with left=false a
    // B that looks like A's batch of vectors is still a matrix (it was read as vectors: [3, 1, 3];
    // PyTorch 1.13 refuses it, "Incompatible shapes ... (3x3 and 3x1)").
    tapeCheck('solve 50, A broadcast', [{ shape: [50, 50] }, { shape: [2, 50, 3] }], ([x, b]) => L.solve(cc.add(x, cc.mul(cc.eye(50), 8)), b), o);
    const A3 = cc.add(randomTensor([3, 3, 3], 11).t, cc.mul(cc.eye(3), 3)), B3 = randomTensor([3, 3], 12).t;
    const X3 = L.solve(A3, B3, { left: false });
    expect(X3.shape).to.deep.equal([3, 3, 3]);
    expectClose(cc.matmul(X3, A3).dataSync(), B3.expand([3, 3, 3]).dataSync(), 1e-5, 1e-5, 'XA = B');
    expectError(() => native.solveBatched(cc.zeros([2, 3, 3]).handle('t'), cc.zeros([3, 3, 1]).handle('t')), 'E_SHAPE', /batch/);
    expectError(() => native.solveBatched(cc.zeros([2, 3, 3]).handle('t'), cc.zeros([2, 4, 1]).handle('t')), 'E_SHAPE');
    // The native entry points check their arguments.
    expectError(() => native.detBatched(cc.zeros([3, 3], 'int32').handle('t')), 'E_DTYPE');
    expectError(() => native.invBatched(cc.zeros([3, 4]).handle('t')), 'E_SHAPE', /square/);
    expectError(() => native.choleskyBatched(cc.zeros([3]).handle('t'), false), 'E_SHAPE', /square/);
    expectError(() => native.choleskyBatched(cc.zeros([3, 3]).handle('t'), 1 as never), 'E_ARG');
  });

  it('the native float64 kernels check their arguments (typed errors, no write out of bounds)', () => {
    const n16 = new Float64Array(256), perm = new Int32Array(16);
    expectError(() => native.luFactorF64(new Float64Array(255), 16, perm), 'E_ARG', /at least 256/);
    expectError(() => native.luFactorF64(n16, 16, new Int32Array(15)), 'E_ARG', /perm/);
    expectError(() => native.luFactorF64(new Float32Array(256) as never, 16, perm), 'E_ARG', /Float64Array/);
    expectError(() => native.luFactorF64(n16, -1, perm), 'E_ARG');
    expectError(() => native.triangularSolveF64(n16, n16.subarray(0, 16), 16, 1, true, false, false), 'E_ARG', /share memory/);
    expectError(() => native.matmulF64(n16, n16, new Float64Array(10), 16, 16, 16, false, false), 'E_ARG', /`c`/);
    expectError(() => native.matmulF64(n16, n16, n16, 16, 16, 16, false, true), 'E_ARG', /share memory/);
  });

  it('det: the gradient at a singular matrix is the cofactor matrix', () => {
    const a = cc.tensor([[1, 2], [2, 4]], { requiresGrad: true });
    L.det(a).backward();
    expectClose(a.grad!.dataSync(), [4, -2, -2, 1], 1e-6, 1e-6, 'cofactors');
    const b = cc.tensor([[1, 2, 3], [2, 4, 6], [3, 6, 9]], { requiresGrad: true });   // rank 1: no cofactor survives
    L.det(b).backward();
    expectClose(b.grad!.dataSync(), new Array(9).fill(0), 0, 1e-5, 'rank 1');
  });

  it('top-level aliases', () => {
    const a = cc.tensor([[2, 1], [1, 3]]);
    expectClose(cc.det(a).dataSync(), [5]);
    expectClose(cc.inverse(a).dataSync(), L.inv(a).dataSync());
    expectClose(cc.slogdet(a).logabsdet.dataSync(), [Math.log(5)], 1e-6);
    expectClose(cc.pinverse(a).dataSync(), L.inv(a).dataSync(), 1e-5, 1e-6);
    expectClose(cc.matrixPower(a, 2).dataSync(), [5, 5, 5, 10]);
    expectClose(cc.cholesky(a).dataSync(), L.cholesky(a).dataSync());
    expect(L.cross).to.equal(cc.cross);
  });

  it('batched results match one matrix at a time', () => {
    const { t } = randomTensor([3, 2, 4, 4], 5);
    const one = (i: number, j: number) => t.narrow(0, i, 1).narrow(1, j, 1).reshape([4, 4]);
    const d = L.det(t), iv = L.inv(t), s = L.svdvals(t);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
      expectClose([d.dataSync()[i * 2 + j]], L.det(one(i, j)).dataSync(), 1e-6, 1e-7);
      expectClose(iv.narrow(0, i, 1).narrow(1, j, 1).dataSync(), L.inv(one(i, j)).dataSync(), 1e-6, 1e-7);
      expectClose(s.narrow(0, i, 1).narrow(1, j, 1).dataSync(), L.svdvals(one(i, j)).dataSync(), 1e-6, 1e-7);
    }
  });

  it('empty matrices as PyTorch', () => {
    expect(L.det(cc.zeros([0, 0])).tolist()).to.equal(1);
    expect(L.det(cc.zeros([0, 3, 3])).shape).to.deep.equal([0]);
    expect(L.inv(cc.zeros([2, 0, 0])).shape).to.deep.equal([2, 0, 0]);
    expect(L.cholesky(cc.zeros([0, 0])).shape).to.deep.equal([0, 0]);
    const r = L.svd(cc.zeros([3, 0]));
    expect([r.U.shape, r.S.shape, r.Vh.shape]).to.deep.equal([[3, 3], [0], [0, 0]]);
    const q = L.qr(cc.zeros([0, 2]));
    expect([q.Q.shape, q.R.shape]).to.deep.equal([[0, 0], [0, 2]]);
    expect(L.eigh(cc.zeros([0, 0])).eigenvalues.shape).to.deep.equal([0]);
    expect(L.pinv(cc.zeros([3, 0])).shape).to.deep.equal([0, 3]);
    expect(L.matrixNorm(cc.zeros([0, 3])).tolist()).to.equal(0);
    expect(L.matrixNorm(cc.zeros([0, 3]), 'nuc').tolist()).to.equal(0);
    expect(L.matrixRank(cc.zeros([2, 0, 4])).tolist()).to.deep.equal([0, 0]);
    expect(L.matrixPower(cc.zeros([0, 0]), 3).shape).to.deep.equal([0, 0]);
    expect(L.solve(cc.zeros([0, 0]), cc.zeros([0])).shape).to.deep.equal([0]);
  });

  it('typed errors, with the inputs intact', () => {
    const rect = cc.tensor([[1, 2, 3], [4, 5, 6]]);
    for (const f of [L.det, L.inv, L.cholesky, (x: cc.Tensor) => L.eigh(x), L.eigvalsh, (x: cc.Tensor) => L.slogdet(x), (x: cc.Tensor) => L.matrixPower(x, 2)]) {
      expectError(() => f(rect), 'E_SHAPE', /square/);
    }
    expectError(() => L.solve(rect, cc.ones([2])), 'E_SHAPE', /square/);
    expectError(() => L.solve(cc.eye(3), cc.ones([2])), 'E_SHAPE');
    expectError(() => L.det(cc.ones([3])), 'E_SHAPE');
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 1]), undefined as never), 'E_ARG', /upper/);
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 1]), {} as never), 'E_ARG', /upper.*required/);
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 1]), { upper: 1 as never }), 'E_ARG');
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 1]), { upper: true, lower: true } as never), 'E_ARG');
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2]), { upper: true }), 'E_SHAPE', /at least 2/);
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([3, 1]), { upper: true }), 'E_SHAPE', /AX = B/);
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 3]), { upper: true, left: false }), 'E_SHAPE', /XA = B/);
    expectError(() => L.solveTriangular(rect, cc.ones([2, 1]), { upper: true }), 'E_SHAPE', /square/);
    expectError(() => L.solveTriangular(cc.eye(2), cc.ones([2, 1], { dtype: 'int32' }), { upper: true }), 'E_DTYPE');
    // A zero on the diagonal divides by zero, as PyTorch (no error); the other triangle is never read.
    const zeroDiag = L.solveTriangular(cc.tensor([[0, NaN], [1, 1]]), cc.tensor([[1], [0]]), { upper: false }).dataSync();
    expect(zeroDiag[0]).to.equal(Infinity);
    expect(Array.from(L.solveTriangular(cc.tensor([[2, NaN], [1, 1]]), cc.tensor([[4], [3]]), { upper: false }).dataSync())).to.deep.equal([2, 1]);
    // Empty: n = 0, k = 0, an empty batch (PyTorch's shapes); a batch that cannot broadcast is E_SHAPE.
    expect(L.solveTriangular(cc.zeros([0, 0]), cc.zeros([0, 2]), { upper: true }).shape).to.deep.equal([0, 2]);
    expect(L.solveTriangular(cc.eye(2), cc.zeros([2, 0]), { upper: true }).shape).to.deep.equal([2, 0]);
    expect(L.solveTriangular(cc.zeros([0, 2, 2]), cc.zeros([2, 1]), { upper: true }).shape).to.deep.equal([0, 2, 1]);
    expectError(() => L.solveTriangular(cc.zeros([3, 2, 2]), cc.zeros([0, 2, 1]), { upper: true }), 'E_SHAPE', /broadcast/);
    const notPd = cc.tensor([[[4, 0], [0, 1]], [[1, 2], [2, 1]]]);
    expectError(() => L.cholesky(notPd), 'E_RANGE', /Batch element 1.*leading minor of order 2 is not positive-definite/);
    expectError(() => L.cholesky(cc.tensor([[-1, 0], [0, 1]])), 'E_RANGE', /^linalg.cholesky: The factorization.*order 1/);
    const sing = cc.tensor([[1, 2], [2, 4]]);
    expectError(() => L.inv(sing), 'E_RANGE', /singular/);
    expectError(() => L.solve(sing, cc.ones([2])), 'E_RANGE', /singular/);
    expectError(() => L.matrixPower(sing, -1), 'E_RANGE', /singular/);
    const ints = cc.tensor([[1, 0], [0, 1]], { dtype: 'int32' });
    for (const f of [L.det, L.inv, L.cholesky, L.svdvals, L.pinv, (x: cc.Tensor) => L.qr(x), (x: cc.Tensor) => L.matrixNorm(x), (x: cc.Tensor) => L.matrixRank(x)]) {
      expectError(() => f(ints), 'E_DTYPE');
    }
    expectError(() => L.svd(cc.tensor([[NaN, 1], [0, 1]])), 'E_RANGE', /non-finite/);
    expectError(() => L.eigh(cc.tensor([[Infinity, 1], [1, 1]])), 'E_RANGE', /non-finite/);
    expectError(() => L.qr(cc.eye(2), 'full' as never), 'E_ARG');
    expectError(() => L.eigh(cc.eye(2), 'X' as never), 'E_ARG');
    expectError(() => L.matrixNorm(cc.eye(2), 3), 'E_ARG');
    expectError(() => L.matrixNorm(cc.eye(2), 'fro', [0, 0]), 'E_ARG');
    expectError(() => L.matrixPower(cc.eye(2), 1.5), 'E_ARG');
    expectError(() => L.multiDot([cc.eye(2)]), 'E_ARG');
    expectError(() => L.multiDot([cc.eye(2), cc.ones([3, 2])]), 'E_SHAPE');
    expectError(() => L.svd(cc.eye(2), { full: true } as never), 'E_ARG');
    expectError(() => L.pinv(cc.eye(2), { rtol: -1 }), 'E_ARG');
    expectError(() => L.lstsq(cc.eye(2), cc.ones([2]), { driver: 'x' as never }), 'E_ARG');
    // 'r' mode has no gradient, as PyTorch's.
    const x = cc.eye(2).requiresGrad_();
    expectError(() => L.qr(x, 'r').R.sum().backward(), 'E_ARG', /mode='r'/);
    for (const t of [rect, notPd, sing, ints]) expect(t.isDisposed).to.equal(false);
    expect(sing.tolist()).to.deep.equal([[1, 2], [2, 4]]);
    expect(notPd.tolist()).to.deep.equal([[[4, 0], [0, 1]], [[1, 2], [2, 1]]]);
  });

  it('cond is Infinity for a singular matrix with a norm that needs inv', () => {
    expect(L.cond(cc.tensor([[1, 2], [2, 4]]), 1).tolist()).to.equal(Infinity);
    expect(L.cond(cc.tensor([[1, 2], [2, 4]])).item()).to.be.above(1e6);
  });

  it('handles a medium-sized matrix accurately', () => {
    const { t } = randomTensor([64, 48], 9);
    const r = L.svd(t, { fullMatrices: false });
    expect(maxDiff(cc.matmul(cc.mul(r.U, cc.unsqueeze(r.S, 0)), r.Vh), t)).to.be.below(5e-6);
    const sym = cc.matmul(t, t, { transA: true });
    const e = L.eigh(sym);
    expect(maxDiff(cc.matmul(sym, e.eigenvectors), cc.mul(e.eigenvectors, cc.unsqueeze(e.eigenvalues, 0)))).to.be.below(1e-4);
    const x = L.solve(cc.add(sym, cc.eye(48)), cc.ones([48, 2]));
    expect(maxDiff(cc.matmul(cc.add(sym, cc.eye(48)), x), cc.ones([48, 2]))).to.be.below(1e-4);
  });
});

describeCuda('linalg on the GPU', () => {
  it('matches the CPU, with gradients, results on the GPU', () => {
    const a = randomCpu([2, 3, 3], 71), b = randomCpu([2, 3, 2], 72), r = randomCpu([4, 3], 73);
    const shift = (t: cc.Tensor) => cc.add(t, cc.mul(cc.eye(3, { device: t.device }), 2));
    compareDevices((t) => [L.det(t), L.inv(shift(t)), L.slogdet(shift(t)).logabsdet], [a], { grads: true, what: 'det, inv, slogdet' });
    compareDevices((t, u) => L.solve(shift(t), u), [a, b], { grads: true, what: 'solve' });
    compareDevices((t) => L.cholesky(cc.add(cc.matmul(t, t, { transB: true }), cc.eye(3, { device: t.device }))), [a], { grads: true, what: 'cholesky' });
    compareDevices((t) => { const q = L.qr(t); return [cc.mul(q.Q, q.Q), cc.mul(q.R, q.R)]; }, [r], { grads: true, what: 'qr' });
    compareDevices((t) => { const e = L.eigh(t); return [e.eigenvalues, cc.mul(e.eigenvectors, e.eigenvectors)]; }, [a], { grads: true, what: 'eigh' });
    compareDevices((t) => { const s = L.svd(t, { fullMatrices: false }); return [s.S, cc.mul(s.U, s.U)]; }, [r], { grads: true, what: 'svd' });
    compareDevices((t) => [L.pinv(t), L.matrixNorm(t, 'nuc'), L.matrixNorm(t, Infinity), L.cond(t)], [r], { grads: true, what: 'pinv, norms' });
    compareDevices((t, u) => L.lstsq(t, u).solution, [r, randomCpu([4, 2], 74)], { grads: true, what: 'lstsq' });
    compareDevices((t) => [L.matrixPower(shift(t), -2), L.multiDot([t.reshape([6, 3]), t.reshape([3, 6]), t.reshape([6, 3])])], [a], { grads: true, what: 'matrixPower, multiDot' });
    const g = a.to('cuda');
    const full = L.lstsq(r.to('cuda'), randomCpu([4, 2], 75).to('cuda'), { driver: 'gelsd' });
    for (const t of [L.matrixRank(g), full.rank, full.residuals, full.singularValues, L.svd(g).U, L.qr(g, 'r').Q, L.slogdet(g).sign, L.matrixPower(g, 0)]) {
      expect(t.device).to.equal('cuda');
    }
  });
});
