/**
 * torch.linalg's functions for small and medium matrices, with PyTorch's names in camelCase:
 * `det`, `slogdet`, `inv`, `solve`, `cholesky`, `qr`, `eigh`, `eigvalsh`, `svd`, `svdvals`,
 * `pinv`, `matrixRank`, `lstsq`, `matrixNorm`, `vectorNorm`, `norm`, `cond`, `matrixPower`,
 * `multiDot`, `vecdot` and `cross`. Each works on the last two axes, batched over the others.
 *
 * The factorisations run on the host in float64 with standard algorithms (LU with partial
 * pivoting, Cholesky, Householder QR, cyclic Jacobi for eigh, one-sided Jacobi for the SVD), and
 * the results come back as float32 tensors on the input's device (a GPU input pays a round trip
 * and waits for its queue). det, inv, solve and cholesky are queued native ops on the whole batch
 * (native/cpu/linalg_batched.cc: each matrix read into float64 in C++, threads over the batch);
 * the others read the input back as float64 into JavaScript, where LU, the triangular solves and
 * the float64 products run in C++ for matrices 16 wide or more and the rest in JavaScript. They
 * are meant for matrices up to a few hundred rows (the cost is cubic). Their gradients are
 * PyTorch's formulas, computed on the host in float64 from the factors kept by the forward;
 * the composite functions (norms, cond, matrixPower, multiDot, vecdot) are differentiable
 * through the tape as their parts are. Higher-order gradients are not supported.
 */
import { isRecording, record } from './autograd';
import { tensor } from './creation';
import { tidy } from './engine';
import { fail } from './errors';
import { native } from './native';
import { norm as vectorNormOp } from './composite';
import { abs, div, expand, matmul, max, min, mul, narrow, permute, reshape, squeeze, sum, transpose, unsqueeze } from './ops';
import { Tensor } from './tensor';
import {
  broadcastShapes, checkAxis, checkBool, checkFloat, checkHostBytes, checkInt, checkNumber, checkOptions, checkSameDevice, checkTensor, collectChecked,
  describe, shapeStr,
} from './validate';

export { cross } from './shapes';

type F32 = Tensor<'float32'>;
type Device = Tensor['device'];

const EPS32 = 1.1920928955078125e-7;

// ---- reading matrices back, making results --------------------------------------------------

interface Mats {
  t: F32;
  batch: number[];
  m: number;
  n: number;
  count: number;
  data: Float64Array;
}

type MatsInfo = Omit<Mats, 'data'>;

/** x checked: float32, rank >= 2, square when asked. */
function checkMats(op: string, name: string, x: unknown, square = false): MatsInfo {
  const t = checkTensor(op, name, x);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`${name}\` of dtype float32, got ${t.dtype} (linalg works on floating-point matrices, as PyTorch's)`);
  if (t.rank < 2) fail('E_SHAPE', `${op}: \`${name}\` must have at least 2 dimensions (a matrix or a batch of them), got ${shapeStr(t.shape)}`);
  const m = t.shape[t.rank - 2], n = t.shape[t.rank - 1];
  if (square && m !== n) fail('E_SHAPE', `${op}: \`${name}\` must be batches of square matrices, but they are ${m} by ${n} matrices`);
  // (the float64 copies: JavaScript's, or the native ops' scratch)
  checkHostBytes(op, t.size * 8 * 4, `the float64 copies of ${shapeStr(t.shape)}`);
  const batch = t.shape.slice(0, -2);
  const count = batch.reduce((a, b) => a * b, 1);
  return { t: t as F32, batch, m, n, count };
}

/** x read back as float64 matrices [count][m][n] (x: float32, rank >= 2; square when asked). */
function readMats(op: string, name: string, x: unknown, square = false): Mats {
  const s = checkMats(op, name, x, square);
  return { ...s, data: Float64Array.from(s.t.dataSync()) };
}

/**
 * fn(x) for x on the CPU; for x elsewhere, fn of x's CPU copy moved back to x's device (the
 * batched native kernels take host memory). Gradients flow through both copies.
 */
function onHost(x: F32, fn: (host: F32) => F32): F32 {
  if (x.device === 'cpu') return fn(x);
  return tidy(() => fn(x.to('cpu')).to(x.device));
}

/** A float32 tensor of `shape` on `device` from float64 values. */
function make(values: Float64Array, shape: readonly number[], device: Device): F32 {
  return tensor(Float32Array.from(values), { shape: [...shape], device }) as F32;
}

/** dy (a gradient) read back as float64. */
function readGrad(dy: Tensor): Float64Array {
  return Float64Array.from(dy.dataSync());
}

const isZero = (a: Float64Array, from = 0, to = a.length): boolean => {
  for (let i = from; i < to; i++) if (a[i] !== 0) return false;
  return true;
};

const batchNote = (count: number, b: number): string => (count > 1 ? `(Batch element ${b}): ` : '');

// ---- dense float64 kernels (row-major) ------------------------------------------------------
//
// Matrices NATIVE_MIN wide or more (products of NATIVE_MIN^3 multiply-adds or more) go to the
// addon's copies of these loops (native/cpu/linalg_f64.cc: the same arithmetic in the same order,
// so the same bits, vectorised): det of [64, 64, 64] took 9.4 ms here. Below that a native call
// costs more than the loop.
const NATIVE_MIN = 16;

/** a [m, k] (or its transpose) times b [k, n] (or its transpose). */
function mm(a: Float64Array, b: Float64Array, m: number, k: number, n: number, ta = false, tb = false): Float64Array {
  const c = new Float64Array(m * n);
  if (m * k * n >= NATIVE_MIN ** 3) {
    native.matmulF64(a, b, c, m, k, n, ta, tb);
    return c;
  }
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = ta ? a[p * m + i] : a[i * k + p];
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aip * (tb ? b[j * k + p] : b[p * n + j]);
    }
  }
  return c;
}

function transposed(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

function identity(n: number): Float64Array {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}

interface LU { lu: Float64Array; perm: Int32Array; sign: number; zeroAt: number }

/** LU with partial pivoting (LAPACK getrf): PA = LU; zeroAt is the first zero pivot (-1: none). */
function luFactor(a: Float64Array, n: number): LU {
  const lu = a.slice();
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  if (n >= NATIVE_MIN) {
    const [sign, zeroAt] = native.luFactorF64(lu, n, perm);
    return { lu, perm, sign, zeroAt };
  }
  let sign = 1, zeroAt = -1;
  for (let k = 0; k < n; k++) {
    let p = k, best = Math.abs(lu[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + k]);
      if (v > best) { best = v; p = i; }
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) { const s = lu[k * n + j]; lu[k * n + j] = lu[p * n + j]; lu[p * n + j] = s; }
      const s = perm[k]; perm[k] = perm[p]; perm[p] = s;
      sign = -sign;
    }
    const pivot = lu[k * n + k];
    if (pivot === 0) {
      if (zeroAt < 0) zeroAt = k;
      continue;
    }
    for (let i = k + 1; i < n; i++) {
      const f = (lu[i * n + k] /= pivot);
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) lu[i * n + j] -= f * lu[k * n + j];
    }
  }
  return { lu, perm, sign, zeroAt };
}

function luDet(f: LU, n: number): number {
  let d = f.sign;
  for (let i = 0; i < n; i++) d *= f.lu[i * n + i];
  return d;
}

/** Solves L^T X = B for a lower-triangular L [n, n], B [n, k]. */
function solveLowerT(l: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  if (n >= NATIVE_MIN) return triangularSolve(l, b, n, k, false, false, true);
  const x = b.slice();
  for (let i = n - 1; i >= 0; i--) {
    for (let p = i + 1; p < n; p++) {
      const v = l[p * n + i];
      if (v !== 0) for (let j = 0; j < k; j++) x[i * k + j] -= v * x[p * k + j];
    }
    const d = l[i * n + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
  return x;
}

/** Solves R X = B for an upper-triangular R [n, n] (row stride `stride`), B [n, k]. */
function solveUpper(r: Float64Array, stride: number, b: Float64Array, n: number, k: number): Float64Array {
  const x = b.slice();
  for (let i = n - 1; i >= 0; i--) {
    for (let p = i + 1; p < n; p++) {
      const v = r[i * stride + p];
      if (v !== 0) for (let j = 0; j < k; j++) x[i * k + j] -= v * x[p * k + j];
    }
    const d = r[i * stride + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
  return x;
}

/**
 * Householder QR as LAPACK's geqrf + orgqr (same sign convention: R's diagonal is -sign(alpha)
 * times the column's norm, and no reflection where the column below is already zero).
 * Q [m, qCols] (qCols = k or m), R [k' , n] with k' = qCols rows.
 */
function householderQR(a: Float64Array, m: number, n: number, qCols: number): { q: Float64Array; r: Float64Array } {
  const r = a.slice();
  const k = Math.min(m, n);
  const vs: Float64Array[] = [], taus: number[] = [];
  for (let j = 0; j < k; j++) {
    const alpha = r[j * n + j];
    let xnorm = 0;
    for (let i = j + 1; i < m; i++) xnorm = Math.hypot(xnorm, r[i * n + j]);
    const v = new Float64Array(m);
    v[j] = 1;
    if (xnorm === 0) {
      vs.push(v);
      taus.push(0);
      continue;
    }
    const beta = -(alpha >= 0 ? 1 : -1) * Math.hypot(alpha, xnorm);
    const tau = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) v[i] = r[i * n + j] * scale;
    r[j * n + j] = beta;
    for (let i = j + 1; i < m; i++) r[i * n + j] = 0;
    for (let c = j + 1; c < n; c++) {
      let s = 0;
      for (let i = j; i < m; i++) s += v[i] * r[i * n + c];
      s *= tau;
      if (s !== 0) for (let i = j; i < m; i++) r[i * n + c] -= s * v[i];
    }
    vs.push(v);
    taus.push(tau);
  }
  const q = new Float64Array(m * qCols);
  for (let i = 0; i < Math.min(m, qCols); i++) q[i * qCols + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j], tau = taus[j];
    if (tau === 0) continue;
    for (let c = 0; c < qCols; c++) {
      let s = 0;
      for (let i = j; i < m; i++) s += v[i] * q[i * qCols + c];
      s *= tau;
      if (s !== 0) for (let i = j; i < m; i++) q[i * qCols + c] -= s * v[i];
    }
  }
  const rows = qCols;
  const rOut = new Float64Array(rows * n);
  for (let i = 0; i < Math.min(rows, m); i++) for (let c = i; c < n; c++) rOut[i * n + c] = r[i * n + c];
  return { q, r: rOut };
}

const SWEEPS = 80;

function nonFinite(op: string, count: number, b: number): never {
  return fail('E_RANGE', `${op}: ${batchNote(count, b)}The algorithm failed to converge because the input matrix contained non-finite values`);
}

/** Symmetric eigendecomposition (cyclic Jacobi) of the symmetric a [n, n]: ascending values, vectors as columns. */
function symEig(a0: Float64Array, n: number): { w: Float64Array; v: Float64Array } {
  const a = a0.slice();
  const v = identity(n);
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p] * a[p * n + p];
      for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    }
    if (off === 0 || off <= 1e-34 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p], aqq = a[q * n + q];
        if (Math.abs(apq) <= 1e-18 * Math.sqrt(Math.abs(app * aqq))) { a[p * n + q] = 0; a[q * n + p] = 0; continue; }
        const theta = (aqq - app) / (2 * apq);
        const t = Math.abs(theta) > 1e150 ? 1 / (2 * theta) : (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const w = Float64Array.from(order, (i) => a[i * n + i]);
  const vs = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < n; c++) vs[k * n + c] = v[k * n + order[c]];
  return { w, v: vs };
}

/**
 * Adds orthonormal columns to the `have` first columns of q [m, cols] (orthonormal) until it has
 * `cols`: Gram-Schmidt (twice) of the unit vectors. One pass suffices: while the basis is short,
 * some unit vector keeps a residual of squared norm >= 1/m, above the 1/(2m) taken.
 */
function completeBasis(q: Float64Array, m: number, cols: number, have: number): void {
  let k = have;
  const r = new Float64Array(m);
  for (let e = 0; e < m && k < cols; e++) {
    r.fill(0);
    r[e] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let c = 0; c < k; c++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += q[i * cols + c] * r[i];
        for (let i = 0; i < m; i++) r[i] -= d * q[i * cols + c];
      }
    }
    let nr = 0;
    for (let i = 0; i < m; i++) nr += r[i] * r[i];
    if (nr < 1 / (2 * m)) continue;
    nr = Math.sqrt(nr);
    for (let i = 0; i < m; i++) q[i * cols + k] = r[i] / nr;
    k++;
  }
}

/**
 * SVD by one-sided Jacobi (Hestenes) of a [m, n]: U [m, uCols], S [k] descending, V [n, vCols]
 * (columns; uCols/vCols = k for the reduced factors, m/n for the full ones).
 */
function svdHost(a: Float64Array, m: number, n: number, full: boolean): { u: Float64Array; s: Float64Array; v: Float64Array; uCols: number; vCols: number } {
  if (m < n) {
    const r = svdHost(transposed(a, m, n), n, m, full);
    return { u: r.v, s: r.s, v: r.u, uCols: r.vCols, vCols: r.uCols };
  }
  const k = n;   // m >= n
  // g holds the columns of a (column j at j * m), v the columns of V.
  const g = transposed(a, m, n);
  const v = identity(n);   // v[j * n + i]: column j, row i
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = g[p * m + i], y = g[q * m + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.abs(zeta) > 1e150 ? 1 / (2 * zeta) : (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < m; i++) {
          const x = g[p * m + i], y = g[q * m + i];
          g[p * m + i] = c * x - s * y;
          g[q * m + i] = s * x + c * y;
        }
        for (let i = 0; i < n; i++) {
          const x = v[p * n + i], y = v[q * n + i];
          v[p * n + i] = c * x - s * y;
          v[q * n + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Float64Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s = Math.hypot(s, g[j * m + i]);
    return s;
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => norms[j] - norms[i]);
  const s = Float64Array.from(order, (j) => norms[j]);
  const uCols = full ? m : k, vCols = n;
  const u = new Float64Array(m * uCols);
  let good = 0;
  for (let c = 0; c < k; c++) {
    const j = order[c];
    if (!(s[c] > 0)) break;
    for (let i = 0; i < m; i++) u[i * uCols + c] = g[j * m + i] / s[c];
    good++;
  }
  completeBasis(u, m, uCols, good);
  const vOut = new Float64Array(n * vCols);
  for (let c = 0; c < n; c++) for (let i = 0; i < n; i++) vOut[i * vCols + c] = v[order[c] * n + i];
  return { u, s, v: vOut, uCols, vCols };
}

/** The symmetric matrix from one triangle of a [n, n] ('L': the lower). */
function symmetricFrom(a: Float64Array, off: number, n: number, lower: boolean): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = lower ? a[off + i * n + j] : a[off + j * n + i];
      s[i * n + j] = v;
      s[j * n + i] = v;
    }
  }
  return s;
}

function allFinite(a: Float64Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Outputs packed along one last axis while recorded, so that one backward sees all their gradients. */
function packedOutputs(
  op: string, x: F32, batch: number[], parts: { data: Float64Array; shape: number[] }[], device: Device,
  backward: (grads: Float64Array[]) => Float64Array, inputs: readonly unknown[] = [x],
): F32[] {
  const count = batch.reduce((a, b) => a * b, 1);
  const sizes = parts.map((p) => p.shape.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!isRecording(inputs) || count * total === 0) {
    return parts.map((p) => make(p.data, [...batch, ...p.shape], device));
  }
  const packed = new Float64Array(count * total);
  for (let b = 0; b < count; b++) {
    let off = b * total;
    parts.forEach((p, i) => {
      packed.set(p.data.subarray(b * sizes[i], (b + 1) * sizes[i]), off);
      off += sizes[i];
    });
  }
  const y = record(op, make(packed, [...batch, total], device), inputs, (dy) => {
    const g = readGrad(dy);
    const grads = parts.map((_, i) => new Float64Array(count * sizes[i]));
    for (let b = 0; b < count; b++) {
      let off = b * total;
      parts.forEach((_, i) => {
        grads[i].set(g.subarray(off, off + sizes[i]), b * sizes[i]);
        off += sizes[i];
      });
    }
    return [make(backward(grads), x.shape, device)];
  });
  let start = 0;
  try {
    return tidy(() => parts.map((p, i) => {
      const piece = narrow(y, batch.length, start, sizes[i]);
      start += sizes[i];
      return reshape(piece, [...batch, ...p.shape]);
    }));
  } finally {
    y.dispose();   // the outputs' graph keeps its node
  }
}

// ---- det, slogdet, inv, solve ----------------------------------------------------------------

/** The cofactor matrix det(A) A^-T of a [n, n], also for a singular A (from the SVD). */
function cofactor(a: Float64Array, n: number): Float64Array {
  const { u, s, v } = svdHost(a, n, n, false);
  const du = luDet(luFactor(u, n), n), dv = luDet(luFactor(v, n), n);
  const sign = Math.sign(du * dv);
  // U diag(prod_{j != i} s_j) V^T
  const d = Float64Array.from(s, (_, i) => {
    let p = sign;
    for (let j = 0; j < n; j++) if (j !== i) p *= s[j];
    return p;
  });
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let t = 0;
    for (let p = 0; p < n; p++) t += u[i * n + p] * d[p] * v[j * n + p];
    c[i * n + j] = t;
  }
  return c;
}

/**
 * The determinant of each square matrix (the last two axes), as torch.linalg.det; 1 for a 0 x 0
 * matrix. From an LU factorisation with partial pivoting, in float64 on the host (a GPU input
 * is read back). Its gradient is g det(A) A^-T, the matrix of cofactors, which is also defined
 * for a singular A: there it is computed from the SVD (as PyTorch 1.13 does).
 * @example det(tensor([[1, 2], [3, 4]]))   // -2
 */
export function det(A: Tensor): F32 {
  const op = 'linalg.det';
  const { t, batch, n, count } = checkMats(op, 'A', A, true);
  // The LUs in C++, threads over the batch (native/cpu/linalg_batched.cc).
  return onHost(t, (x) => record(op, new Tensor<'float32'>(native.detBatched(x.handle(op)), batch, 'float32'), [x], (dy, [xs]) => {
    const g = readGrad(dy);
    const data = Float64Array.from(xs.dataSync());
    const gA = new Float64Array(count * n * n);
    for (let b = 0; b < count; b++) {
      if (g[b] === 0) continue;
      const c = cofactor(data.subarray(b * n * n, (b + 1) * n * n), n);
      for (let i = 0; i < n * n; i++) gA[b * n * n + i] = g[b] * c[i];
    }
    return [make(gA, xs.shape, 'cpu')];
  }, [x]));
}

/** sign and log|det| of each square matrix. */
export interface SlogdetResult { sign: F32; logabsdet: F32 }

/**
 * The sign and the log of the absolute value of the determinant, as torch.linalg.slogdet:
 * det(A) = sign * exp(logabsdet), without the overflow of the product. A singular matrix has
 * sign 0 and logabsdet -Infinity. The gradient is in logabsdet (g A^-T); the sign has none. At
 * a singular matrix the gradient is not finite (PyTorch 1.13's too).
 * @example const { sign, logabsdet } = slogdet(covariance);
 */
export function slogdet(A: Tensor): SlogdetResult {
  const op = 'linalg.slogdet';
  const { t, batch } = checkMats(op, 'A', A, true);
  if (t.device !== 'cpu') {
    return tidy(() => {
      const r = slogdet(t.to('cpu'));
      return { sign: r.sign.to(t.device), logabsdet: r.logabsdet.to(t.device) };
    });
  }
  // The LUs in C++, threads over the batch (native/cpu/linalg_batched.cc).
  const [sh, lh] = native.slogdetBatched(t.handle(op));
  const logabsdet = record(op, new Tensor<'float32'>(lh, batch, 'float32'), [t], (dy, [xs]) => {
    // g A^-T, A^-1 from the same kernels (Infinity where A is singular: not finite, as PyTorch's)
    const [ih, zh] = native.invBatched(xs.handle(op));
    native.release(zh);
    const inv = new Tensor<'float32'>(ih, xs.shape, 'float32');
    return [mul(transpose(inv, -2, -1), reshape(dy, [...batch, 1, 1]))];
  }, [t]);
  return { sign: new Tensor<'float32'>(sh, batch, 'float32'), logabsdet };
}

function singular(op: string, what: string, count: number, b: number, at: number): never {
  return fail('E_RANGE', `${op}: ${batchNote(count, b)}The diagonal element ${at + 1} is zero, the ${what} could not be completed because the input matrix is singular.`);
}

/**
 * The inverses of A's matrices (checked square), recorded: LU in C++, threads over the batch
 * (native/cpu/linalg_batched.cc). A singular matrix is an E_RANGE error, or (for cond) gives
 * Infinity in every entry when `throwOnSingular` is false. Gradient: -A^-T g A^-T.
 */
function invRecorded(op: string, A: MatsInfo, throwOnSingular: boolean): F32 {
  const { t, batch, n, count } = A;
  return onHost(t, (x) => {
    const [yh, zh] = native.invBatched(x.handle(op));
    const y = new Tensor<'float32'>(yh, x.shape, 'float32');
    if (!throwOnSingular) {
      native.release(zh);   // (no wait for the queue)
    } else {
      const zeroAt = new Tensor<'int32'>(zh, batch, 'int32');
      const z = zeroAt.dataSync();
      zeroAt.dispose();
      const b = z.findIndex((v) => v >= 0);
      if (b >= 0) {
        y.dispose();
        singular(op, 'inversion', count, b, z[b]);
      }
    }
    return record(op, y, [x], (dy, [ys]) => {
      const g = readGrad(dy), inv = Float64Array.from(ys.dataSync());
      const gA = new Float64Array(count * n * n);
      for (let b = 0; b < count; b++) {
        const X = inv.subarray(b * n * n, (b + 1) * n * n), G = g.subarray(b * n * n, (b + 1) * n * n);
        // -X^T G X^T
        const r = mm(mm(X, G, n, n, n, true, false), X, n, n, n, false, true);
        for (let i = 0; i < n * n; i++) gA[b * n * n + i] = -r[i];
      }
      return [make(gA, ys.shape, 'cpu')];
    }, [y]);
  });
}

/**
 * The inverse of each square matrix, as torch.linalg.inv (LU with partial pivoting, float64 on
 * the host). A singular matrix (a zero pivot) is an E_RANGE error naming the batch element and
 * the pivot, as PyTorch's. Gradient: -A^-T g A^-T.
 * @example inv(tensor([[2, 0], [0, 4]]))   // [[0.5, 0], [0, 0.25]]
 */
export function inv(A: Tensor): F32 {
  const op = 'linalg.inv';
  return invRecorded(op, checkMats(op, 'A', A, true), true);
}

/** torch.inverse: `inv`. */
export const inverse = (A: Tensor): F32 => inv(A);

/** For each batch position of `outBatch`, the flat batch position in a broadcast operand of batch `inBatch`. */
function batchMap(outBatch: readonly number[], inBatch: readonly number[]): Int32Array {
  const count = outBatch.reduce((a, b) => a * b, 1);
  const lead = outBatch.length - inBatch.length;
  const map = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let rem = i, pos = 0, stride = 1;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const idx = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      if (d >= lead) {
        const size = inBatch[d - lead];
        pos += (size === 1 ? 0 : idx) * stride;
        stride *= size;
      }
    }
    map[i] = pos;
  }
  return map;
}

interface RhsInfo { t: F32; vector: boolean; batch: number[]; k: number }
interface Rhs extends RhsInfo { data: Float64Array }

/**
 * B of solve/lstsq checked: [..., rows, k], or a vector [..., rows] when B.rank is 1 or A.rank - 1
 * with A's batch (PyTorch's rule; never with `matrixOnly`, solve's left=false, whose B is a matrix).
 */
function checkRhs(op: string, B: unknown, a: MatsInfo, rows: number, matrixOnly = false): RhsInfo {
  const t = checkTensor(op, 'B', B);
  if (t.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`B\` of dtype float32, got ${t.dtype}`);
  checkSameDevice(op, { A: a.t, B: t });
  if (t.rank === 0) fail('E_SHAPE', `${op}: expected \`B\` with at least 1 dimension, got ${shapeStr(t.shape)}`);
  const vector = t.rank === 1 || (!matrixOnly && t.rank === a.t.rank - 1 && t.shape.every((d, i) => d === a.t.shape[i]));
  const r = vector ? t.shape[t.rank - 1] : t.shape[t.rank - 2];
  if (r !== rows) {
    fail('E_SHAPE', `${op}: incompatible shapes of A and B for the equation AX = B (${shapeStr(a.t.shape)} and ${shapeStr(t.shape)}): B needs ${rows} rows`);
  }
  return { t: t as F32, vector, batch: t.shape.slice(0, vector ? -1 : -2), k: vector ? 1 : t.shape[t.rank - 1] };
}

/** checkRhs, and B read back as float64. */
function readRhs(op: string, B: unknown, a: Mats, rows: number): Rhs {
  const rhs = checkRhs(op, B, a, rows);
  checkHostBytes(op, rhs.t.size * 8 * 4, `the float64 copies of ${shapeStr(rhs.t.shape)}`);
  return { ...rhs, data: Float64Array.from(rhs.t.dataSync()) };
}

/** Sums per-output-batch gradients (count x size) back into an operand of `inBatch`'s batch. */
function sumBack(per: Float64Array, map: Int32Array, size: number, inCount: number): Float64Array {
  const g = new Float64Array(inCount * size);
  for (let b = 0; b < map.length; b++) {
    const o = map[b] * size;
    for (let i = 0; i < size; i++) g[o + i] += per[b * size + i];
  }
  return g;
}

export interface SolveOptions {
  /** Solve AX = B (true, default) or XA = B (false). */
  left?: boolean;
}

/**
 * The solution X of AX = B for square A, as torch.linalg.solve (LU with partial pivoting,
 * float64 on the host). B is [..., n, k], or a vector [n] (also [..., n] with A's batch, as
 * PyTorch's rule); the batch axes broadcast. `{ left: false }` solves XA = B, B then always a
 * matrix [..., k, n] (PyTorch 1.13 refuses one with A's batch as its leading axes). A singular A is
 * E_RANGE. Gradients: gB = A^-T g, gA = -gB X^T.
 * @example solve(tensor([[3, 1], [1, 2]]), tensor([9, 8]))   // [2, 3]
 */
export function solve(A: Tensor, B: Tensor, options: SolveOptions = {}): F32 {
  const op = 'linalg.solve';
  const o = checkOptions<SolveOptions>(op, options, ['left']);
  const left = checkBool(op, 'left', o.left ?? true);
  if (!left) {
    // XA = B  <=>  A^T X^T = B^T
    const a = checkTensor(op, 'A', A), b = checkTensor(op, 'B', B);
    if (b.rank < 2) fail('E_SHAPE', `${op}: with left=false, \`B\` must have at least 2 dimensions, got ${shapeStr(b.shape)}`);
    if (a.rank < 2) fail('E_SHAPE', `${op}: \`A\` must have at least 2 dimensions, got ${shapeStr(a.shape)}`);
    return tidy(() => transpose(solveLeft(op, transpose(a, -2, -1), transpose(b, -2, -1), true), -2, -1));
  }
  return solveLeft(op, A, B, false);
}

function solveLeft(op: string, A: Tensor, B: Tensor, matrixOnly: boolean): F32 {
  const a = checkMats(op, 'A', A, true);
  const n = a.n;
  const rhs = checkRhs(op, B, a, n, matrixOnly);
  const outBatch = broadcastShapes(op, a.batch, rhs.batch);
  return tidy(() => {
    // Both to the broadcast batch (copies only where it differs: expand sums the gradient back).
    const broadcastTo = (t: F32, shape: number[]): F32 => (shape.every((d, i) => d === t.shape[i]) && shape.length === t.rank ? t : expand(t, shape));
    const a3 = broadcastTo(a.t, [...outBatch, n, n]);
    const b3 = broadcastTo(rhs.vector ? unsqueeze(rhs.t, -1) : rhs.t, [...outBatch, n, rhs.k]);
    const x = a.t.device === 'cpu' ? solveRecorded(op, a3, b3) : solveRecorded(op, a3.to('cpu'), b3.to('cpu')).to(a.t.device);
    return rhs.vector ? squeeze(x, -1) : x;
  });
}

/**
 * X = A^-1 B for CPU tensors A [..., n, n] and B [..., n, k] of one batch, recorded: LU in C++,
 * threads over the batch (native/cpu/linalg_batched.cc). A singular A is E_RANGE. Gradients:
 * gB = A^-T g (NaN where A is singular), gA = -gB X^T.
 */
function solveRecorded(op: string, A: F32, B: F32): F32 {
  const [xh, zh] = native.solveBatched(A.handle(op), B.handle(op));
  const x = new Tensor<'float32'>(xh, B.shape, 'float32');
  const zeroAt = new Tensor<'int32'>(zh, A.shape.slice(0, -2), 'int32');
  const z = zeroAt.dataSync();
  zeroAt.dispose();
  const b = z.findIndex((v) => v >= 0);
  if (b >= 0) {
    x.dispose();
    singular(op, 'solve', z.length, b, z[b]);
  }
  return record(op, x, [A, B], (dy, [As, xs], needs) => {
    const [gh, gz] = native.solveBatched(transpose(As, -2, -1).handle(op), dy.handle(op));
    native.release(gz);
    const gB = new Tensor<'float32'>(gh, dy.shape, 'float32');
    return [needs[0] ? mul(matmul(gB, xs, { transB: true }), -1) : null, gB];
  }, [A, x]);
}

/**
 * X with op(A) X = B for a triangular A (n x n) and B (n x k), in place of B's copy: forward
 * substitution down the rows for a lower op(A), back substitution up them for an upper one.
 * op(A) is A, or A^T when `trans` (its element (i, j) is A's (j, i): an upper A gives a lower
 * A^T). Only the triangle is read; `unit` takes the diagonal as ones. A zero on the diagonal
 * divides by zero (inf or NaN), as LAPACK's trsm that PyTorch calls.
 */
function triangularSolve(A: Float64Array, B: Float64Array, n: number, k: number, upper: boolean, unit: boolean, trans = false): Float64Array {
  const x = B.slice();
  if (n >= NATIVE_MIN) {
    native.triangularSolveF64(A, x, n, k, upper, unit, trans);
    return x;
  }
  const at = (i: number, j: number) => (trans ? A[j * n + i] : A[i * n + j]);
  const lower = upper === trans;  // op(A)'s triangle
  for (let step = 0; step < n; step++) {
    const i = lower ? step : n - 1 - step;
    const from = lower ? 0 : i + 1, to = lower ? i : n;
    for (let j = from; j < to; j++) {
      const aij = at(i, j);
      if (aij === 0) continue;
      for (let c = 0; c < k; c++) x[i * k + c] -= aij * x[j * k + c];
    }
    if (!unit) {
      const d = at(i, i);
      for (let c = 0; c < k; c++) x[i * k + c] /= d;
    }
  }
  return x;
}

export interface SolveTriangularOptions {
  /** Whether A is upper (true) or lower (false) triangular: required, as in PyTorch. */
  upper: boolean;
  /** Solve AX = B (true, default) or XA = B (false). */
  left?: boolean;
  /** Take A's diagonal as ones, without reading it. Default false. */
  unitriangular?: boolean;
}

/**
 * The solution X of AX = B (or XA = B with `{ left: false }`) for a triangular A, as
 * torch.linalg.solve_triangular: substitution in float64 on the host, reading only A's upper
 * (`upper: true`) or lower triangle, and with `unitriangular` not its diagonal either. A is
 * [..., n, n], B [..., n, k] (left) or [..., k, n] (right); the batch axes broadcast. A zero on
 * the diagonal gives inf or NaN, not an error (as PyTorch). Gradients: gB = A^-T g, and gA =
 * -gB X^T kept to the triangle read (strictly, with `unitriangular`).
 * @example solveTriangular(tensor([[2, 0], [1, 1]]), tensor([[4], [3]]), { upper: false })   // [[2], [1]]
 */
export function solveTriangular(A: Tensor, B: Tensor, options: SolveTriangularOptions): F32 {
  const op = 'linalg.solveTriangular';
  if (options === undefined) fail('E_ARG', `${op}: expected options with \`upper\` (true or false), got none`);
  const o = checkOptions<SolveTriangularOptions>(op, options, ['upper', 'left', 'unitriangular']);
  if (o.upper === undefined) fail('E_ARG', `${op}: \`upper\` is required (true or false), as in PyTorch`);
  const upper = checkBool(op, 'upper', o.upper);
  const left = checkBool(op, 'left', o.left ?? true);
  const unit = checkBool(op, 'unitriangular', o.unitriangular ?? false);
  const a = readMats(op, 'A', A, true);
  const b = checkTensor(op, 'B', B);
  if (b.dtype !== 'float32') fail('E_DTYPE', `${op}: expected \`B\` of dtype float32, got ${b.dtype}`);
  checkSameDevice(op, { A: a.t, B: b });
  if (b.rank < 2) fail('E_SHAPE', `${op}: \`B\` must have at least 2 dimensions, got ${shapeStr(b.shape)}`);
  const n = a.n;
  // XA = B  <=>  A^T X^T = B^T: B's rows are its last axis, and A's triangle turns over.
  const rows = b.shape[b.rank - (left ? 2 : 1)], k = b.shape[b.rank - (left ? 1 : 2)];
  if (rows !== n) {
    fail('E_SHAPE', `${op}: incompatible shapes of A and B for the equation ${left ? 'AX = B' : 'XA = B'} (${shapeStr(a.t.shape)} and ${shapeStr(b.shape)})`);
  }
  checkHostBytes(op, b.size * 8 * 4, `the float64 copies of ${shapeStr(b.shape)}`);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = broadcastShapes(op, a.batch, bBatch);
  const count = outBatch.reduce((x, y) => x * y, 1), bCount = bBatch.reduce((x, y) => x * y, 1);
  const mapA = batchMap(outBatch, a.batch), mapB = batchMap(outBatch, bBatch);
  const bData = Float64Array.from(b.dataSync());
  // Each batch's right-hand side as n x k (B itself, or B^T when right).
  const rhsOf = (data: Float64Array, at: number) => {
    const m = data.subarray(at * n * k, (at + 1) * n * k);
    return left ? m : transposed(m, k, n);
  };
  const trans = !left;  // right: op(A) = A^T
  const xs = new Float64Array(count * n * k);  // each as n x k
  for (let i = 0; i < count; i++) {
    xs.set(triangularSolve(a.data.subarray(mapA[i] * n * n, (mapA[i] + 1) * n * n), rhsOf(bData, mapB[i]), n, k, upper, unit, trans), i * n * k);
  }
  const out = left ? xs : transposeBatch(xs, count, n, k);
  const device = a.t.device;
  const shape = [...outBatch, ...(left ? [n, k] : [k, n])];
  return record(op, make(out, shape, device), [a.t, b], (dy, _saved, needs) => {
    const g = readGrad(dy);
    const gB = new Float64Array(count * n * k), gA = new Float64Array(count * n * n);
    for (let i = 0; i < count; i++) {
      const Ai = a.data.subarray(mapA[i] * n * n, (mapA[i] + 1) * n * n);
      // op(A) X = R: gR = op(A)^-T gX, g op(A) = -gR X^T; for the right case op(A) = A^T, so gA
      // is that transposed, and gB = gR^T.
      const y = triangularSolve(Ai, rhsOf(g, i), n, k, upper, unit, !trans);
      gB.set(left ? y : transposed(y, n, k), i * n * k);
      const r = mm(y, xs.subarray(i * n * k, (i + 1) * n * k), n, k, n, false, true);
      for (let p = 0; p < n; p++) {
        for (let q = 0; q < n; q++) {
          const keep = upper ? (unit ? q > p : q >= p) : unit ? q < p : q <= p;
          if (keep) gA[i * n * n + p * n + q] = -(trans ? r[q * n + p] : r[p * n + q]);
        }
      }
    }
    return [
      needs[0] ? make(sumBack(gA, mapA, n * n, a.count), a.t.shape, device) : null,
      needs[1] ? make(sumBack(gB, mapB, n * k, bCount), b.shape, device) : null,
    ];
  });
}

// ---- cholesky, qr, eigh, svd ------------------------------------------------------------------

export interface CholeskyOptions {
  /** Return the upper-triangular U = L^T (computed from A's upper triangle), as PyTorch's `upper`. */
  upper?: boolean;
}

/**
 * The Cholesky factor L (lower-triangular, A = L L^T) of each symmetric positive-definite
 * matrix, as torch.linalg.cholesky: only the lower triangle of A is read (the upper one with
 * `{ upper: true }`, which returns U = L^T). A matrix that is not positive-definite is an
 * E_RANGE error naming the batch element and the order of the leading minor, as PyTorch's.
 * Gradient: PyTorch's, L^-T Phi(L^T g) L^-1 with Phi the lower triangle, its diagonal halved,
 * made symmetric; it is symmetric, so a finite-difference check must perturb A symmetrically.
 * @example cholesky(tensor([[4, 2], [2, 5]]))   // [[2, 0], [1, 2]]
 */
export function cholesky(A: Tensor, options: CholeskyOptions = {}): F32 {
  const op = 'linalg.cholesky';
  const o = checkOptions<CholeskyOptions>(op, options, ['upper']);
  const upper = checkBool(op, 'upper', o.upper ?? false);
  const { t, batch, n, count } = checkMats(op, 'A', A, true);
  return onHost(t, (x) => {
    // The factors in C++, threads over the batch (native/cpu/linalg_batched.cc).
    const [yh, fh] = native.choleskyBatched(x.handle(op), upper);
    const y = new Tensor<'float32'>(yh, x.shape, 'float32');
    const failed = new Tensor<'int32'>(fh, batch, 'int32');
    const minors = failed.dataSync();
    failed.dispose();
    const b = minors.findIndex((v) => v > 0);
    if (b >= 0) {
      y.dispose();
      fail('E_RANGE', `${op}: ${batchNote(count, b)}The factorization could not be completed because the input is not positive-definite (the leading minor of order ${minors[b]} is not positive-definite).`);
    }
    return record(op, y, [x], (dy, [ys]) => {
      let g: Float64Array = readGrad(dy), ls: Float64Array = Float64Array.from(ys.dataSync());
      if (upper) {
        g = transposeBatch(g, count, n, n);
        ls = transposeBatch(ls, count, n, n);
      }
      const gA = new Float64Array(count * n * n);
      for (let b = 0; b < count; b++) {
        const L = ls.subarray(b * n * n, (b + 1) * n * n);
        const P = mm(L, g.subarray(b * n * n, (b + 1) * n * n), n, n, n, true, false);
        const phi = new Float64Array(n * n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < i; j++) {
            phi[i * n + j] = 0.5 * P[i * n + j];
            phi[j * n + i] = 0.5 * P[i * n + j];
          }
          phi[i * n + i] = 0.5 * P[i * n + i];
        }
        const x1 = solveLowerT(L, phi, n, n);                       // L^-T Phi
        const r = solveLowerT(L, transposed(x1, n, n), n, n);      // (X1 L^-1)^T
        gA.set(transposed(r, n, n), b * n * n);
      }
      return [make(gA, ys.shape, 'cpu')];
    }, [y]);
  });
}

function transposeBatch(a: Float64Array, count: number, m: number, n: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let b = 0; b < count; b++) out.set(transposed(a.subarray(b * m * n, (b + 1) * m * n), m, n), b * m * n);
  return out;
}

/** Q and R of a QR factorisation. */
export interface QRResult { Q: F32; R: F32 }

/** The QR gradient for m >= n (reduced): gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q. */
function qrBackward(Q: Float64Array, R: Float64Array, gQ: Float64Array, gR: Float64Array, m: number, n: number): Float64Array {
  const M = mm(R, gR, n, n, n, false, true);
  const QtgQ = mm(gQ, Q, n, m, n, true, false);
  for (let i = 0; i < n * n; i++) M[i] -= QtgQ[i];
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) { C[i * n + j] = M[i * n + j]; C[j * n + i] = M[i * n + j]; }
    C[i * n + i] = M[i * n + i];
  }
  const rhs = mm(Q, C, m, n, n);
  for (let i = 0; i < m * n; i++) rhs[i] += gQ[i];
  // gA = rhs R^-T  <=>  R gA^T = rhs^T
  return transposed(solveUpper(R, n, transposed(rhs, m, n), n, m), n, m);
}

/**
 * The QR factorisation A = QR of each matrix [m, n], as torch.linalg.qr (Householder, LAPACK's
 * sign convention, float64 on the host): mode 'reduced' (default: Q [m, k], R [k, n], k =
 * min(m, n)), 'complete' (Q [m, m], R [m, n]) or 'r' (R only; Q is an empty tensor).
 * Differentiable as PyTorch's: for 'reduced', and for 'complete' when m <= n; 'r' has no
 * gradient (backward is an E_ARG error, as PyTorch's).
 * @example const { Q, R } = qr(A);
 */
export function qr(A: Tensor, mode: 'reduced' | 'complete' | 'r' = 'reduced'): QRResult {
  const op = 'linalg.qr';
  if (mode !== 'reduced' && mode !== 'complete' && mode !== 'r') fail('E_ARG', `${op}: expected \`mode\` 'reduced', 'complete' or 'r', got ${describe(mode)}`);
  const { t, batch, m, n, count, data } = readMats(op, 'A', A);
  const k = Math.min(m, n);
  const qCols = mode === 'complete' ? m : k;
  const qs = new Float64Array(count * m * qCols), rs = new Float64Array(count * qCols * n);
  for (let b = 0; b < count; b++) {
    const { q, r } = householderQR(data.subarray(b * m * n, (b + 1) * m * n), m, n, qCols);
    qs.set(q, b * m * qCols);
    rs.set(r, b * qCols * n);
  }
  const device = t.device;
  const backward = ([gQ, gR]: Float64Array[]): Float64Array => {
    if (mode === 'r') fail('E_ARG', `${op}: The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use linalg.qr(A, 'reduced') if you are going to differentiate through linalg.qr.`);
    if (mode === 'complete' && m > n) fail('E_ARG', `${op}: The QR decomposition is not differentiable when mode='complete' and nrows > ncols.`);
    const gA = new Float64Array(count * m * n);
    for (let b = 0; b < count; b++) {
      const Q = qs.subarray(b * m * k, (b + 1) * m * k), R = rs.subarray(b * k * n, (b + 1) * k * n);
      const gq = gQ.subarray(b * m * k, (b + 1) * m * k), gr = gR.subarray(b * k * n, (b + 1) * k * n);
      if (m >= n) {
        gA.set(qrBackward(Q, R, gq, gr, m, n), b * m * n);
        continue;
      }
      // m < n: A = [X | Y], R = [U | V] with X = QU, Y = QV (X square).
      const U = new Float64Array(m * m), gU = new Float64Array(m * m), Y = new Float64Array(m * (n - m)), gV = new Float64Array(m * (n - m));
      const A0 = data.subarray(b * m * n, (b + 1) * m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          if (j < m) { U[i * m + j] = R[i * n + j]; gU[i * m + j] = gr[i * n + j]; } else { Y[i * (n - m) + j - m] = A0[i * n + j]; gV[i * (n - m) + j - m] = gr[i * n + j]; }
        }
      }
      const gQ2 = mm(Y, gV, m, n - m, m, false, true);
      for (let i = 0; i < m * m; i++) gQ2[i] += gq[i];
      const gX = qrBackward(Q, U, gQ2, gU, m, m);
      const gY = mm(Q, gV, m, m, n - m);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) gA[b * m * n + i * n + j] = j < m ? gX[i * m + j] : gY[i * (n - m) + j - m];
    }
    return gA;
  };
  if (mode === 'r') {
    const R = recordParts(op, t, batch, [{ data: rs, shape: [qCols, n] }], device, () => backward([]));
    return { Q: make(new Float64Array(0), [0], device), R: R[0] };
  }
  if (mode === 'complete' && m > n) {
    // Not differentiable: the outputs still record, so that backward fails as PyTorch's does.
    const [Q, R] = recordParts(op, t, batch, [{ data: qs, shape: [m, qCols] }, { data: rs, shape: [qCols, n] }], device, () => backward([]));
    return { Q, R };
  }
  const [Q, R] = recordParts(op, t, batch, [{ data: qs, shape: [m, qCols] }, { data: rs, shape: [qCols, n] }], device, backward);
  return { Q, R };
}

function recordParts(op: string, t: F32, batch: number[], parts: { data: Float64Array; shape: number[] }[], device: Device, backward: (grads: Float64Array[]) => Float64Array): F32[] {
  return packedOutputs(op, t, batch, parts, device, backward);
}

/** Eigenvalues (ascending) and eigenvectors (the columns) of symmetric matrices. */
export interface EighResult { eigenvalues: F32; eigenvectors: F32 }

function checkUplo(op: string, UPLO: unknown): boolean {
  if (UPLO !== 'L' && UPLO !== 'U') fail('E_ARG', `${op}: expected \`UPLO\` 'L' or 'U', got ${describe(UPLO)}`);
  return UPLO === 'L';
}

function eighHost(op: string, data: Float64Array, n: number, count: number, lower: boolean): { w: Float64Array; v: Float64Array } {
  const w = new Float64Array(count * n), v = new Float64Array(count * n * n);
  for (let b = 0; b < count; b++) {
    const sym = symmetricFrom(data, b * n * n, n, lower);
    if (!allFinite(sym, 0, n * n)) nonFinite(op, count, b);
    const r = symEig(sym, n);
    w.set(r.w, b * n);
    v.set(r.v, b * n * n);
  }
  return { w, v };
}

/**
 * The eigenvalues (ascending) and orthonormal eigenvectors (columns) of each symmetric matrix,
 * as torch.linalg.eigh: only the triangle `UPLO` ('L', default, or 'U') is read. Cyclic Jacobi
 * in float64 on the host. Each eigenvector is defined up to its sign (compare A V = V diag(w)).
 * Gradient: PyTorch's, V (diag(gw) + (skew(V^T gV) / 2) / (w_j - w_i)) V^T: symmetric, and
 * ill-defined (infinite) where eigenvalues repeat and the loss depends on their vectors.
 * Non-finite input is an E_RANGE error (LAPACK fails to converge on it in PyTorch).
 * @example const { eigenvalues, eigenvectors } = eigh(covariance);
 */
export function eigh(A: Tensor, UPLO: 'L' | 'U' = 'L'): EighResult {
  const op = 'linalg.eigh';
  const lower = checkUplo(op, UPLO);
  const { t, batch, n, count, data } = readMats(op, 'A', A, true);
  const { w, v } = eighHost(op, data, n, count, lower);
  const [eigenvalues, eigenvectors] = recordParts(op, t, batch, [{ data: w, shape: [n] }, { data: v, shape: [n, n] }], t.device, ([gw, gV]) => {
    const gA = new Float64Array(count * n * n);
    const withV = !isZero(gV);
    for (let b = 0; b < count; b++) {
      const V = v.subarray(b * n * n, (b + 1) * n * n), L = w.subarray(b * n, (b + 1) * n);
      const D = new Float64Array(n * n);
      if (withV) {
        const VtgV = mm(V, gV.subarray(b * n * n, (b + 1) * n * n), n, n, n, true, false);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
          if (i !== j) D[i * n + j] = 0.5 * (VtgV[i * n + j] - VtgV[j * n + i]) / (L[j] - L[i]);
        }
      }
      for (let i = 0; i < n; i++) D[i * n + i] = gw[b * n + i];
      gA.set(mm(mm(V, D, n, n, n), V, n, n, n, false, true), b * n * n);
    }
    return gA;
  });
  return { eigenvalues, eigenvectors };
}

/** The eigenvalues (ascending) of each symmetric matrix, as torch.linalg.eigvalsh (see `eigh`). Gradient V diag(g) V^T. */
export function eigvalsh(A: Tensor, UPLO: 'L' | 'U' = 'L'): F32 {
  const op = 'linalg.eigvalsh';
  const lower = checkUplo(op, UPLO);
  const { t, batch, n, count, data } = readMats(op, 'A', A, true);
  const { w, v } = eighHost(op, data, n, count, lower);
  return recordParts(op, t, batch, [{ data: w, shape: [n] }], t.device, ([gw]) => {
    const gA = new Float64Array(count * n * n);
    for (let b = 0; b < count; b++) {
      const V = v.subarray(b * n * n, (b + 1) * n * n);
      const D = new Float64Array(n * n);
      for (let i = 0; i < n; i++) D[i * n + i] = gw[b * n + i];
      gA.set(mm(mm(V, D, n, n, n), V, n, n, n, false, true), b * n * n);
    }
    return gA;
  })[0];
}

/** U, S (descending) and Vh of an SVD. */
export interface SVDResult { U: F32; S: F32; Vh: F32 }

export interface SVDOptions {
  /** Full U [m, m] and Vh [n, n] (true, default, as PyTorch's), or the reduced ones (k = min(m, n) columns/rows). */
  fullMatrices?: boolean;
}

interface SvdBatch { u: Float64Array; s: Float64Array; vh: Float64Array; uCols: number; vRows: number; k: number }

function svdBatch(op: string, data: Float64Array, m: number, n: number, count: number, full: boolean): SvdBatch {
  const k = Math.min(m, n);
  const uCols = full ? m : k, vRows = full ? n : k;
  const u = new Float64Array(count * m * uCols), s = new Float64Array(count * k), vh = new Float64Array(count * vRows * n);
  for (let b = 0; b < count; b++) {
    if (!allFinite(data, b * m * n, (b + 1) * m * n)) nonFinite(op, count, b);
    const r = svdHost(data.subarray(b * m * n, (b + 1) * m * n), m, n, full);
    u.set(r.u, b * m * uCols);
    s.set(r.s, b * k);
    // r.v [n, vCols] (columns); Vh keeps its first vRows columns as rows.
    for (let i = 0; i < vRows; i++) for (let j = 0; j < n; j++) vh[b * vRows * n + i * n + j] = r.v[j * r.vCols + i];
  }
  return { u, s, vh, uCols, vRows, k };
}

/**
 * PyTorch's svd_backward (real case) for one matrix, from the reduced factors U [m, k], S,
 * Vh [k, n] and the gradients (gU, gVh null when absent).
 */
function svdBackward(U: Float64Array, S: Float64Array, Vh: Float64Array, gU: Float64Array | null, gS: Float64Array, gVh: Float64Array | null, m: number, n: number): Float64Array {
  const k = Math.min(m, n);
  if (!gU && !gVh) {
    // U diag(gS) Vh
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
      const f = U[i * k + p] * gS[p];
      if (f !== 0) for (let j = 0; j < n; j++) out[i * n + j] += f * Vh[p * n + j];
    }
    return out;
  }
  const G = new Float64Array(k * k);
  const skew = (X: Float64Array) => { const Y = new Float64Array(k * k); for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) Y[i * k + j] = X[i * k + j] - X[j * k + i]; return Y; };
  const UhgU = gU ? skew(mm(U, gU, k, m, k, true, false)) : null;
  // V^T gV with V = Vh^T, gV = gVh^T: Vh gVh^T
  const VhgV = gVh ? skew(mm(Vh, gVh, k, n, k, false, true)) : null;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    if (i === j) continue;
    const E = S[j] * S[j] - S[i] * S[i];
    let v = 0;
    if (UhgU) v += UhgU[i * k + j] * S[j];
    if (VhgV) v += S[i] * VhgV[i * k + j];
    G[i * k + j] = v / E;
  }
  for (let i = 0; i < k; i++) G[i * k + i] += gS[i];
  if (m > n && gU) {
    // [U G + (I - U U^T) gU S^-1] Vh
    const UG = mm(U, G, m, k, k);
    const gUS = Float64Array.from(gU, (x, idx) => x / S[idx % k]);
    const proj = mm(U, mm(U, gUS, k, m, k, true, false), m, k, k);
    for (let i = 0; i < m * k; i++) UG[i] += gUS[i] - proj[i];
    return mm(UG, Vh, m, k, n);
  }
  if (m < n && gVh) {
    // U [G Vh + S^-1 gVh (I - V Vh)]
    const GV = mm(G, Vh, k, k, n);
    const SgV = Float64Array.from(gVh, (x, idx) => x / S[Math.floor(idx / n)]);
    const proj = mm(mm(SgV, Vh, k, n, k, false, true), Vh, k, k, n);
    for (let i = 0; i < k * n; i++) GV[i] += SgV[i] - proj[i];
    return mm(U, GV, m, k, n);
  }
  return mm(mm(U, G, m, k, k), Vh, m, k, n);
}

/**
 * The singular value decomposition A = U diag(S) Vh of each matrix [m, n], as torch.linalg.svd:
 * S descending; U [m, m] and Vh [n, n] with `fullMatrices` (default, as PyTorch's), else
 * [m, k] and [k, n], k = min(m, n). One-sided Jacobi in float64 on the host (accurate small
 * singular values). Singular vectors are defined up to sign (compare U diag(S) Vh with A).
 * Gradient: PyTorch's (with full matrices, only the first k columns of U and rows of Vh count,
 * as PyTorch's); ill-defined where singular values repeat (or, for m != n, one is 0) and the
 * loss depends on their vectors. Non-finite input is an E_RANGE error.
 * @example const { U, S, Vh } = svd(A, { fullMatrices: false });
 */
export function svd(A: Tensor, options: SVDOptions = {}): SVDResult {
  const op = 'linalg.svd';
  const o = checkOptions<SVDOptions>(op, options, ['fullMatrices']);
  const full = checkBool(op, 'fullMatrices', o.fullMatrices ?? true);
  const { t, batch, m, n, count, data } = readMats(op, 'A', A);
  const r = svdBatch(op, data, m, n, count, full);
  const { k, uCols, vRows } = r;
  const [U, S, Vh] = recordParts(op, t, batch, [{ data: r.u, shape: [m, uCols] }, { data: r.s, shape: [k] }, { data: r.vh, shape: [vRows, n] }], t.device, ([gU, gS, gVh]) => {
    const gA = new Float64Array(count * m * n);
    const useU = !isZero(gU), useV = !isZero(gVh);
    for (let b = 0; b < count; b++) {
      // The reduced factors (the first k columns of U, rows of Vh) and their gradients.
      const pickU = (src: Float64Array) => { const out = new Float64Array(m * k); for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) out[i * k + j] = src[b * m * uCols + i * uCols + j]; return out; };
      const Ur = pickU(r.u), Vr = r.vh.slice(b * vRows * n, b * vRows * n + k * n);
      const gUr = useU ? pickU(gU) : null, gVr = useV ? gVh.slice(b * vRows * n, b * vRows * n + k * n) : null;
      gA.set(svdBackward(Ur, r.s.subarray(b * k, (b + 1) * k), Vr, gUr, gS.subarray(b * k, (b + 1) * k), gVr, m, n), b * m * n);
    }
    return gA;
  });
  return { U, S, Vh };
}

/** The singular values (descending) of each matrix, as torch.linalg.svdvals (see `svd`). Gradient U diag(g) Vh. */
export function svdvals(A: Tensor): F32 {
  const op = 'linalg.svdvals';
  const { t, batch, m, n, count, data } = readMats(op, 'A', A);
  const r = svdBatch(op, data, m, n, count, false);
  const k = r.k;
  return recordParts(op, t, batch, [{ data: r.s, shape: [k] }], t.device, ([gS]) => {
    const gA = new Float64Array(count * m * n);
    for (let b = 0; b < count; b++) {
      gA.set(svdBackward(r.u.subarray(b * m * k, (b + 1) * m * k), r.s.subarray(b * k, (b + 1) * k), r.vh.subarray(b * k * n, (b + 1) * k * n), null, gS.subarray(b * k, (b + 1) * k), null, m, n), b * m * n);
    }
    return gA;
  })[0];
}

// ---- pinv, matrixRank, lstsq -------------------------------------------------------------------

export interface RankTolerance {
  /** Absolute tolerance: singular values <= atol count as zero (default 0). */
  atol?: number;
  /** Relative tolerance (times the largest singular value); default max(m, n) * eps(float32) when atol is not given, else 0 (PyTorch 1.13's). */
  rtol?: number;
  /** A is symmetric: use its eigenvalues (the lower triangle read), as PyTorch's `hermitian`. */
  hermitian?: boolean;
}

interface Spectrum { u: Float64Array; s: Float64Array; v: Float64Array; k: number; tol: number }

/** Per matrix: the SVD (or, hermitian, the eigendecomposition as U = V with signed S) and the cut-off. */
function spectra(op: string, data: Float64Array, m: number, n: number, count: number, o: RankTolerance): Spectrum[] {
  const opts = checkOptions<RankTolerance>(op, o, ['atol', 'rtol', 'hermitian']);
  const hermitian = checkBool(op, 'hermitian', opts.hermitian ?? false);
  const atol = opts.atol === undefined || opts.atol === null ? undefined : checkNumber(op, 'atol', opts.atol);
  const rtol0 = opts.rtol === undefined || opts.rtol === null ? undefined : checkNumber(op, 'rtol', opts.rtol);
  if ((atol ?? 0) < 0 || (rtol0 ?? 0) < 0) fail('E_ARG', `${op}: expected \`atol\` and \`rtol\` >= 0, got ${describe(atol)} and ${describe(rtol0)}`);
  const rtol = rtol0 ?? (atol === undefined ? Math.max(m, n) * EPS32 : 0);
  if (hermitian && m !== n) fail('E_SHAPE', `${op}: with hermitian, A must be batches of square matrices, but they are ${m} by ${n} matrices`);
  const out: Spectrum[] = [];
  const k = Math.min(m, n);
  for (let b = 0; b < count; b++) {
    if (!allFinite(data, b * m * n, (b + 1) * m * n)) nonFinite(op, count, b);
    let u: Float64Array, s: Float64Array, v: Float64Array;
    if (hermitian) {
      const r = symEig(symmetricFrom(data, b * m * n, n, true), n);
      u = r.v; v = r.v; s = r.w;
    } else {
      const r = svdHost(data.subarray(b * m * n, (b + 1) * m * n), m, n, false);
      u = r.u; s = r.s; v = r.v;
    }
    let smax = 0;
    for (const x of s) smax = Math.max(smax, Math.abs(x));
    out.push({ u, s, v, k, tol: Math.max(atol ?? 0, rtol * smax) });
  }
  return out;
}

/** A+ [n, m] from a spectrum: V diag(1/s, s above the cut-off) U^T. */
function pinvFrom(sp: Spectrum, m: number, n: number): Float64Array {
  const { u, s, v, k, tol } = sp;
  const out = new Float64Array(n * m);
  for (let p = 0; p < k; p++) {
    if (!(Math.abs(s[p]) > tol)) continue;
    const inv = 1 / s[p];
    for (let i = 0; i < n; i++) {
      const f = v[i * k + p] * inv;
      if (f !== 0) for (let j = 0; j < m; j++) out[i * m + j] += f * u[j * k + p];
    }
  }
  return out;
}

/** PyTorch's pinv_backward for one matrix: A [m, n], X = A+ [n, m], G [n, m]. */
function pinvBackward(G: Float64Array, X: Float64Array, A: Float64Array, m: number, n: number): Float64Array {
  const Gt = transposed(G, n, m);   // [m, n]
  const Xt = transposed(X, n, m);   // [m, n]
  const add = (a: Float64Array, b: Float64Array, s = 1) => { for (let i = 0; i < a.length; i++) a[i] += s * b[i]; return a; };
  if (m <= n) {
    const K = mm(Gt, X, m, n, m);                      // gradh pinvA [m, m]
    const KXt = mm(K, Xt, m, m, n);                    // K pinvAh [m, n]
    const out = transposed(mm(X, K, n, m, m), n, m);   // (pinvA K)^H [m, n]
    for (let i = 0; i < out.length; i++) out[i] = -out[i];
    add(out, KXt);
    add(out, mm(mm(A, X, m, n, m), KXt, m, m, n), -1);
    const right = add(Gt.slice(), mm(K, A, m, m, n), -1);   // gradh - K A [m, n]
    add(out, mm(mm(Xt, X, m, n, m), right, m, m, n));
    return out;
  }
  const K = mm(X, Gt, n, m, n);                        // pinvA gradh [n, n]
  const XtK = mm(Xt, K, m, n, n);                      // pinvAh K [m, n]
  const out = transposed(mm(K, X, n, n, m), n, m);     // (K pinvA)^H [m, n]
  for (let i = 0; i < out.length; i++) out[i] = -out[i];
  const left = add(Gt.slice(), mm(A, K, m, n, n), -1); // gradh - A K [m, n]
  add(out, mm(mm(left, X, m, n, m), Xt, m, m, n));
  add(out, XtK);
  add(out, mm(mm(XtK, X, m, n, m), A, m, m, n), -1);
  return out;
}

/**
 * The Moore-Penrose pseudo-inverse [..., n, m] of each matrix [..., m, n], as torch.linalg.pinv
 * (PyTorch 1.13's `atol`/`rtol`: singular values at most max(atol, rtol * the largest) count as
 * zero; `hermitian` uses the eigendecomposition). From the SVD in float64 on the host.
 * Gradient: PyTorch's pinv_backward (valid where the rank does not change).
 * @example pinv(tensor([[1, 2], [2, 4]]))
 */
export function pinv(A: Tensor, options: RankTolerance = {}): F32 {
  const op = 'linalg.pinv';
  const { t, batch, m, n, count, data } = readMats(op, 'A', A);
  const sp = spectra(op, data, m, n, count, options);
  const xs = new Float64Array(count * n * m);
  sp.forEach((s, b) => xs.set(pinvFrom(s, m, n), b * n * m));
  const device = t.device;
  return record(op, make(xs, [...batch, n, m], device), [t], (dy) => {
    const g = readGrad(dy);
    const gA = new Float64Array(count * m * n);
    for (let b = 0; b < count; b++) {
      gA.set(pinvBackward(g.subarray(b * n * m, (b + 1) * n * m), xs.subarray(b * n * m, (b + 1) * n * m), data.subarray(b * m * n, (b + 1) * m * n), m, n), b * m * n);
    }
    return [make(gA, t.shape, device)];
  });
}

/** torch.pinverse: `pinv` with `rtol` = rcond (default 1e-15). */
export function pinverse(A: Tensor, rcond = 1e-15): F32 {
  return pinv(A, { rtol: checkNumber('pinverse', 'rcond', rcond) });
}

/**
 * The numerical rank of each matrix, as torch.linalg.matrix_rank: the count of singular values
 * above max(atol, rtol * the largest) (see `pinv` for the defaults). An int32 tensor (PyTorch's
 * is int64); not differentiable.
 * @example matrixRank(tensor([[1, 2], [2, 4]]))   // 1
 */
export function matrixRank(A: Tensor, options: RankTolerance = {}): Tensor<'int32'> {
  const op = 'linalg.matrixRank';
  const { t, batch, m, n, count, data } = readMats(op, 'A', A);
  const sp = spectra(op, data, m, n, count, options);
  const ranks = Int32Array.from(sp, (s) => s.s.reduce((c, x) => c + (Math.abs(x) > s.tol ? 1 : 0), 0));
  return tensor(ranks, { shape: batch, dtype: 'int32', device: t.device });
}

export interface LstsqOptions {
  /** Singular values at most rcond times the largest count as zero (default max(m, n) * eps(float32), as PyTorch's; negative: eps(float32), as LAPACK's). */
  rcond?: number | null;
  /** LAPACK's driver name, as PyTorch's: it decides which extra results are filled (default 'gelsy'). */
  driver?: 'gels' | 'gelsy' | 'gelsd' | 'gelss';
}

/** lstsq's results; as PyTorch's, the empty ones depend on the driver. */
export interface LstsqResult { solution: F32; residuals: F32; rank: Tensor<'int32'>; singularValues: F32 }

/**
 * The least-squares (minimum-norm for a rank-deficient A) solution X of AX = B for A [..., m, n]
 * and B [..., m, k] (or a vector [m]), as torch.linalg.lstsq; batches broadcast. Computed from
 * the SVD in float64 on the host, singular values at most rcond times the largest counting as
 * zero. As PyTorch's CPU drivers: `rank` for all but 'gels'; `singularValues` for 'gelsd' and
 * 'gelss'; `residuals` (the squared residual norm of each column) for all but 'gelsy' when
 * m > n and A has full rank; empty tensors otherwise. Gradient in `solution` (A and B), as
 * PyTorch 1.13's: that of pinv(A) B.
 * @example const { solution } = lstsq(X, y.reshape([-1, 1]));
 */
export function lstsq(A: Tensor, B: Tensor, options: LstsqOptions = {}): LstsqResult {
  const op = 'linalg.lstsq';
  const o = checkOptions<LstsqOptions>(op, options, ['rcond', 'driver']);
  const driver = o.driver ?? 'gelsy';
  if (!['gels', 'gelsy', 'gelsd', 'gelss'].includes(driver as string)) fail('E_ARG', `${op}: expected \`driver\` 'gels', 'gelsy', 'gelsd' or 'gelss', got ${describe(driver)}`);
  const a = readMats(op, 'A', A);
  const { m, n } = a;
  const rhs = readRhs(op, B, a, m);
  const rcond = o.rcond === undefined || o.rcond === null ? Math.max(m, n) * EPS32 : checkNumber(op, 'rcond', o.rcond);
  // A negative rcond is machine precision, as LAPACK's (of float32, the input's dtype).
  const sp = spectra(op, a.data, m, n, a.count, { rtol: rcond < 0 ? EPS32 : rcond });
  const k = rhs.k, kk = Math.min(m, n);
  const outBatch = broadcastShapes(op, a.batch, rhs.batch);
  const count = outBatch.reduce((x, y) => x * y, 1);
  const mapA = batchMap(outBatch, a.batch), mapB = batchMap(outBatch, rhs.batch);
  const pinvs = sp.map((s) => pinvFrom(s, m, n));
  const ranks = sp.map((s) => s.s.reduce((c, x) => c + (x > s.tol ? 1 : 0), 0));
  const xs = new Float64Array(count * n * k);
  for (let b = 0; b < count; b++) xs.set(mm(pinvs[mapA[b]], rhs.data.subarray(mapB[b] * m * k, (mapB[b] + 1) * m * k), n, m, k), b * n * k);
  const device = a.t.device;
  const solution = record(op, make(xs, rhs.vector ? [...outBatch, n] : [...outBatch, n, k], device), [a.t, rhs.t], (dy, _s, needs) => {
    const g = readGrad(dy);
    const gA = new Float64Array(count * m * n), gB = new Float64Array(count * m * k);
    for (let b = 0; b < count; b++) {
      const X = pinvs[mapA[b]], Bm = rhs.data.subarray(mapB[b] * m * k, (mapB[b] + 1) * m * k), G = g.subarray(b * n * k, (b + 1) * n * k);
      gB.set(mm(X, G, m, n, k, true, false), b * m * k);
      if (needs[0]) gA.set(pinvBackward(mm(G, Bm, n, k, m, false, true), X, a.data.subarray(mapA[b] * m * n, (mapA[b] + 1) * m * n), m, n), b * m * n);
    }
    return [
      needs[0] ? make(sumBack(gA, mapA, m * n, a.count), a.t.shape, device) : null,
      needs[1] ? make(sumBack(gB, mapB, m * k, rhs.batch.reduce((x, y) => x * y, 1)), rhs.t.shape, device) : null,
    ];
  });
  const fullRank = ranks.every((r) => r === n);
  let residuals: F32;
  if (driver !== 'gelsy' && m > n && fullRank) {
    const res = new Float64Array(count * k);
    for (let b = 0; b < count; b++) {
      const Am = a.data.subarray(mapA[b] * m * n, (mapA[b] + 1) * m * n), Bm = rhs.data.subarray(mapB[b] * m * k, (mapB[b] + 1) * m * k);
      const AX = mm(Am, xs.subarray(b * n * k, (b + 1) * n * k), m, n, k);
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) { const d = AX[i * k + j] - Bm[i * k + j]; res[b * k + j] += d * d; }
    }
    residuals = make(res, rhs.vector ? outBatch : [...outBatch, k], device);
  } else residuals = make(new Float64Array(0), [0], device);
  const rank = driver === 'gels' ? tensor(new Int32Array(0), { shape: [0], dtype: 'int32', device }) : tensor(Int32Array.from(ranks), { shape: a.batch, dtype: 'int32', device });
  const singularValues = driver === 'gelsd' || driver === 'gelss'
    ? make(Float64Array.from(sp.flatMap((s) => Array.from(s.s))), [...a.batch, kk], device)
    : make(new Float64Array(0), [0], device);
  return { solution, residuals, rank, singularValues };
}

// ---- norms, cond, matrixPower, multiDot, vecdot ------------------------------------------------

export type MatrixNormOrd = 'fro' | 'nuc' | number;

/**
 * The matrix norm over the axes `dim` (default the last two), as torch.linalg.matrix_norm:
 * 'fro' (default), 'nuc' (the sum of singular values), Infinity / -Infinity (the largest /
 * smallest absolute row sum), 1 / -1 (column sum), 2 / -2 (the largest / smallest singular
 * value). Composed from differentiable ops (the singular values from `svdvals`).
 * @example matrixNorm(W, 2)   // the spectral norm
 */
export function matrixNorm(A: Tensor, ord: MatrixNormOrd = 'fro', dim: readonly number[] = [-2, -1], keepdim = false): F32 {
  const op = 'linalg.matrixNorm';
  const t = checkFloat(op, 'A', A);
  if (t.rank < 2) fail('E_SHAPE', `${op}: \`A\` must have at least 2 dimensions, got ${shapeStr(t.shape)}`);
  if (!['fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity].includes(ord as never)) {
    fail('E_ARG', `${op}: expected \`ord\` 'fro', 'nuc', 1, -1, 2, -2, Infinity or -Infinity, got ${describe(ord)}`);
  }
  if (!Array.isArray(dim) || dim.length !== 2) fail('E_ARG', `${op}: expected \`dim\` to be two axes, got ${describe(dim)}`);
  const d0 = checkAxis(op, 'dim', dim[0], t.rank), d1 = checkAxis(op, 'dim', dim[1], t.rank);
  if (d0 === d1) fail('E_ARG', `${op}: expected two different axes in \`dim\`, got ${dim[0]} and ${dim[1]}`);
  checkBool(op, 'keepdim', keepdim);
  const keptShape = t.shape.map((s, i) => (i === d0 || i === d1 ? 1 : s));
  const outShape = keepdim ? keptShape : t.shape.filter((_, i) => i !== d0 && i !== d1);
  if (ord === 'fro') return vectorNormOp(t, { p: 2, dim: [d0, d1], keepdim });
  // 1 / -1 take the extreme of the column sums, ±Infinity of the row sums: defined while there
  // is a column (a row) to take it over, even an empty one (its sum is 0), as in PyTorch.
  if (typeof ord === 'number' && Math.abs(ord) !== 2 && t.shape[Math.abs(ord) === 1 ? d1 : d0] === 0) {
    fail('E_SHAPE', `${op}: the ${String(ord)} norm of a matrix with no ${Math.abs(ord) === 1 ? 'columns' : 'rows'} (shape ${shapeStr(t.shape)}) is not defined (PyTorch refuses it too)`);
  }
  return tidy(() => {
    if (ord === 'nuc' || ord === 2 || ord === -2) {
      const rest = t.shape.map((_, i) => i).filter((i) => i !== d0 && i !== d1);
      const s = svdvals(permute(t, [...rest, d0, d1]));
      const last = s.rank - 1;
      if (s.shape[last] === 0 && ord !== 'nuc') fail('E_SHAPE', `${op}: the ${ord} norm of an empty matrix (shape ${shapeStr(t.shape)}) is not defined`);
      const r = ord === 'nuc' ? sum(s, last) : ord === 2 ? max(s, last) : min(s, last);
      return reshape(r, outShape);
    }
    const a = abs(t);
    // 1 / -1: column sums (over d0), then the extreme over d1; ±Infinity: row sums (over d1), then over d0.
    const [sumAxis, extAxis] = Math.abs(ord as number) === 1 ? [d0, d1] : [d1, d0];
    const sums = sum(a, sumAxis, true);
    const r = (ord as number) > 0 ? max(sums, extAxis, true) : min(sums, extAxis, true);
    return reshape(r, outShape);
  });
}

/**
 * The vector norm, as torch.linalg.vector_norm: `ord` 2 (default), any p > 0, 0, Infinity or
 * -Infinity, over `dim` (default all). The library's `norm` (lib/composite.ts) under
 * torch.linalg's signature.
 * @example vectorNorm(x, 1, -1)
 */
export function vectorNorm(x: Tensor, ord = 2, dim?: number | readonly number[], keepdim = false): F32 {
  return vectorNormOp(x, { p: ord, dim: dim as number | number[] | undefined, keepdim });
}

/**
 * torch.linalg.norm: a matrix norm when `ord` is a string or `dim` has two axes (or, with `ord`
 * given and no `dim`, A is 2-D), else the vector norm (of the flattened A without `dim`).
 * @example norm(A)   // Frobenius for a matrix, 2-norm of the flattened tensor
 */
export function norm(A: Tensor, ord?: MatrixNormOrd | null, dim?: number | readonly number[] | null, keepdim = false): F32 {
  const op = 'linalg.norm';
  const t = checkFloat(op, 'A', A);
  const o = ord ?? undefined, d = dim ?? undefined;
  if (typeof o === 'string' || (Array.isArray(d) && d.length === 2)) {
    if (d === undefined && t.rank !== 2) fail('E_SHAPE', `${op}: a matrix norm needs \`dim\` (two axes) or a 2-D input, got ${shapeStr(t.shape)}`);
    return matrixNorm(t, o ?? 'fro', (d as number[] | undefined) ?? [-2, -1], keepdim);
  }
  if (o !== undefined && d === undefined) {
    if (t.rank === 2) return matrixNorm(t, o, [-2, -1], keepdim);
    if (t.rank !== 1) fail('E_SHAPE', `${op}: with \`ord\` and no \`dim\`, A must be 1-D or 2-D, got ${shapeStr(t.shape)}`);
  }
  if (typeof o !== 'undefined' && typeof o !== 'number') fail('E_ARG', `${op}: expected \`ord\` a number or 'fro'/'nuc', got ${describe(o)}`);
  return vectorNorm(t, o ?? 2, d as number | number[] | undefined, keepdim);
}

/**
 * The condition number of each matrix, as torch.linalg.cond: for `p` 2 (default) or -2 the
 * ratio of the extreme singular values (any matrix shape); for 'fro', 'nuc', ±1 and ±Infinity,
 * matrixNorm(A, p) * matrixNorm(inv(A), p) (square A; Infinity for a singular one, as PyTorch's).
 * @example cond(A)
 */
export function cond(A: Tensor, p: MatrixNormOrd | null = null): F32 {
  const op = 'linalg.cond';
  const t = checkFloat(op, 'A', A);
  if (t.rank < 2) fail('E_SHAPE', `${op}: \`A\` must have at least 2 dimensions, got ${shapeStr(t.shape)}`);
  const ord = p ?? 2;
  if (!['fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity].includes(ord as never)) {
    fail('E_ARG', `${op}: expected \`p\` 'fro', 'nuc', 1, -1, 2, -2, Infinity or -Infinity, got ${describe(p)}`);
  }
  if (ord === 2 || ord === -2) {
    return tidy(() => {
      const s = svdvals(t);
      const last = s.rank - 1;
      if (s.shape[last] === 0) return reshape(make(new Float64Array(0), [0], t.device), t.shape.slice(0, -2));
      const hi = max(s, last), lo = min(s, last);
      return ord === 2 ? div(hi, lo) : div(lo, hi);
    });
  }
  const square = checkMats(op, 'A', t, true);
  return tidy(() => mul(matrixNorm(t, ord), matrixNorm(invRecorded(op, square, false), ord)));
}

/**
 * A^n for each square matrix and an integer n, as torch.linalg.matrix_power: repeated squaring
 * with matmul; n = 0 gives the identity, n < 0 the power of inv(A) (E_RANGE when singular).
 * @example matrixPower(A, 3)
 */
export function matrixPower(A: Tensor, n: number): F32 {
  const op = 'linalg.matrixPower';
  const t = checkFloat(op, 'A', A);
  const k = checkInt(op, 'n', n);
  if (t.rank < 2) fail('E_SHAPE', `${op}: \`A\` must have at least 2 dimensions, got ${shapeStr(t.shape)}`);
  const size = t.shape[t.rank - 1];
  if (t.shape[t.rank - 2] !== size) fail('E_SHAPE', `${op}: \`A\` must be batches of square matrices, but they are ${t.shape[t.rank - 2]} by ${size} matrices`);
  if (k === 0) {
    const count = t.size / Math.max(1, size * size);
    const e = new Float64Array(t.size);
    for (let b = 0; b < (size === 0 ? 0 : count); b++) for (let i = 0; i < size; i++) e[b * size * size + i * size + i] = 1;
    const device = t.device;
    // The identity, whose gradient in A is zero (as PyTorch's).
    return record(op, make(e, t.shape, device), [t], () => [make(new Float64Array(t.size), t.shape, device)]);
  }
  return tidy(() => {
    let base: F32 = k < 0 ? inv(t) : t;
    let e = Math.abs(k);
    let result: F32 | null = null;
    while (e > 0) {
      if (e & 1) result = result === null ? base : matmul(result, base);
      e = Math.floor(e / 2);
      if (e > 0) base = matmul(base, base);
    }
    return result === t ? mul(t, 1) : result!;
  });
}

/**
 * The product of a chain of matrices, as torch.linalg.multi_dot: the first may be a vector
 * [n] (a row) and the last a vector (a column), which are removed from the result; the others
 * must be 2-D. Multiplied left to right (PyTorch picks the cheapest order; the values agree up
 * to rounding).
 * @example multiDot([x, W1, W2, v])
 */
export function multiDot(tensors: readonly Tensor[]): F32 {
  const op = 'linalg.multiDot';
  if (!Array.isArray(tensors)) fail('E_ARG', `${op}: expected an array of tensors, got ${describe(tensors)}`);
  const list = collectChecked(op, 'tensors', tensors, (v, i) => checkFloat(op, `tensors[${i}]`, v), 1 << 16);
  if (list.length < 2) fail('E_ARG', `${op}: expected at least 2 tensors, got ${list.length}`);
  checkSameDevice(op, Object.fromEntries(list.map((t, i) => [`tensors[${i}]`, t])));
  list.forEach((t, i) => {
    const ends = i === 0 || i === list.length - 1;
    if (!(t.rank === 2 || (ends && t.rank === 1))) {
      fail('E_SHAPE', `${op}: ${ends ? 'the first and last tensors must be 1-D or 2-D' : 'the tensors between the first and the last must be 2-D'}, got ${shapeStr(t.shape)} at ${i}`);
    }
  });
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1], b = list[i];
    if (a.shape[a.rank - 1] !== b.shape[0]) fail('E_SHAPE', `${op}: tensors[${i - 1}] ${shapeStr(a.shape)} and tensors[${i}] ${shapeStr(b.shape)} cannot be multiplied`);
  }
  return tidy(() => {
    let y: F32 = list[0];
    for (let i = 1; i < list.length; i++) y = matmul(y, list[i]);
    return y;
  });
}

/**
 * The dot product of x and y along `dim` (default -1), broadcasting the other axes, as
 * torch.linalg.vecdot: sum(x * y, dim).
 * @example vecdot(a, b)   // [..., n] and [..., n] -> [...]
 */
export function vecdot(x: Tensor, y: Tensor, dim = -1): F32 {
  const op = 'linalg.vecdot';
  const a = checkFloat(op, 'x', x), b = checkFloat(op, 'y', y);
  checkSameDevice(op, { x: a, y: b });
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (shape.length === 0) fail('E_SHAPE', `${op}: expected tensors with at least 1 dimension, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const d = checkAxis(op, 'dim', dim, shape.length);
  return tidy(() => sum(mul(a, b), d));
}
