import { expect } from 'chai';
import * as cc from '../lib';
import { expectBitIdentical, expectError, randomTensor, runNativeSelftest } from './helpers';

const EPS = 2 ** -24;

/** Float64 reference of op(a) @ op(b) for one matrix; returns values and the error bound per element. */
function matmulRef(a: Float64Array, b: Float64Array, M: number, N: number, K: number, transA: boolean, transB: boolean) {
  const y = new Float64Array(M * N), bound = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, s_abs = 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? a[k * M + i] : a[i * K + k];
        const bv = transB ? b[j * K + k] : b[k * N + j];
        s += av * bv;
        s_abs += Math.abs(av * bv);
      }
      y[i * N + j] = s;
      bound[i * N + j] = 2 * (K + 2) * EPS * s_abs + 1e-30;
    }
  }
  return { y, bound };
}

function expectMatmul(actual: Float32Array, ref: { y: Float64Array; bound: Float64Array }, what: string) {
  expect(actual.length).to.equal(ref.y.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - ref.y[i]) <= ref.bound[i])) {
      expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${ref.y[i]} ± ${ref.bound[i]}`);
    }
  }
}

describe('matmul (the GEMM)', () => {
  const SIZES: [number, number, number][] = [
    [1, 1, 1], [1, 7, 3], [7, 13, 17], [64, 10, 84], [6, 784, 25], [33, 65, 129], [257, 129, 65], [300, 500, 200], [1, 1000, 1000],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`matches a float64 reference (transA ${transA}, transB ${transB}) over ${SIZES.length} sizes`, () => {
        SIZES.forEach(([M, N, K], s) => {
          const A = randomTensor(transA ? [K, M] : [M, K], 1000 + s);
          const B = randomTensor(transB ? [N, K] : [K, N], 2000 + s);
          const y = cc.matmul(A.t, B.t, { transA, transB });
          expect(y.shape).to.deep.equal([M, N]);
          expectMatmul(y.dataSync(), matmulRef(A.v, B.v, M, N, K, transA, transB), `${M}x${N}x${K}`);
        });
      });
    }
  }

  it('batches, broadcasting the batch axes', () => {
    const cases: [number[], number[], number[]][] = [
      [[3, 5, 7], [3, 7, 4], [3, 5, 4]],
      [[2, 1, 5, 7], [3, 7, 4], [2, 3, 5, 4]],
      [[4, 5, 7], [7, 6], [4, 5, 6]],
      [[5, 7], [2, 7, 6], [2, 5, 6]],
    ];
    cases.forEach(([sa, sb, sy], c) => {
      const A = randomTensor(sa, 30 + c), B = randomTensor(sb, 40 + c);
      const y = cc.matmul(A.t, B.t);
      expect(y.shape).to.deep.equal(sy);
      const got = y.dataSync();
      const M = sy[sy.length - 2], N = sy[sy.length - 1], K = sa[sa.length - 1];
      const batch = sy.slice(0, -2);
      const count = batch.reduce((p, q) => p * q, 1);
      for (let i = 0; i < count; i++) {
        // Index each operand's batch the way broadcasting does.
        const idx: number[] = [];
        let rest = i;
        for (let d = batch.length - 1; d >= 0; d--) {
          idx.unshift(rest % batch[d]);
          rest = Math.floor(rest / batch[d]);
        }
        const pick = (shape: number[]) => {
          const b = shape.slice(0, -2);
          let off = 0;
          b.forEach((d, k) => (off = off * d + (d === 1 ? 0 : idx[idx.length - b.length + k])));
          return off;
        };
        const a = A.v.slice(pick(sa) * M * K, (pick(sa) + 1) * M * K), b = B.v.slice(pick(sb) * K * N, (pick(sb) + 1) * K * N);
        expectMatmul(got.slice(i * M * N, (i + 1) * M * N), matmulRef(a, b, M, N, K, false, false), `batch ${i} of case ${c}`);
      }
    });
  });

  it('treats 1-D operands as vectors, as torch.matmul', () => {
    const m = cc.tensor([[1, 2], [3, 4], [5, 6]]);
    expect(cc.matmul(m, cc.tensor([1, 1])).arraySync()).to.deep.equal([3, 7, 11]);
    expect(cc.matmul(cc.tensor([1, 0, 1]), m).arraySync()).to.deep.equal([6, 8]);
    expect(cc.matmul(cc.tensor([1, 2]), cc.tensor([3, 4])).shape).to.deep.equal([]);
    expect(cc.matmul(cc.tensor([1, 2]), cc.tensor([3, 4])).item()).to.equal(11);
  });

  it('handles empty dimensions: K = 0 gives zeros', () => {
    const y = cc.matmul(cc.zeros([3, 0]), cc.zeros([0, 2]));
    expect(y.shape).to.deep.equal([3, 2]);
    expect(Array.from(y.dataSync())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(cc.matmul(cc.zeros([0, 4]), cc.zeros([4, 2])).shape).to.deep.equal([0, 2]);
  });

  it('is bit-identical for 1, 2 and 3 threads', () => {
    const A = randomTensor([301, 517], 1), B = randomTensor([517, 263], 2);
    const Bt = randomTensor([263, 517], 3);
    const out: Float32Array[][] = [];
    const before = cc.getNumThreads();
    for (const n of [1, 2, 3]) {
      cc.setNumThreads(n);
      out.push([cc.matmul(A.t, B.t).dataSync(), cc.matmul(A.t, Bt.t, { transB: true }).dataSync()]);
    }
    cc.setNumThreads(before);
    for (const r of out.slice(1)) r.forEach((a, i) => expectBitIdentical(a, out[0][i], `matmul ${i}`));
  });

  it('rejects mismatched inner sizes, scalars, int32 and bad options', () => {
    expectError(() => cc.matmul(cc.zeros([2, 3]), cc.zeros([4, 5])), 'E_SHAPE', /matmul: expected `b` with 3 rows/);
    expectError(() => cc.matmul(cc.zeros([]), cc.zeros([2])), 'E_SHAPE');
    expectError(() => cc.matmul(cc.zeros([2, 2], 'int32'), cc.zeros([2, 2])), 'E_DTYPE');
    expectError(() => cc.matmul(cc.zeros([2, 3, 4]), cc.zeros([5, 4, 2])), 'E_SHAPE', /cannot be broadcast/);
    expectError(() => cc.matmul(cc.zeros([2, 2]), cc.zeros([2, 2]), { transA: 1 as unknown as boolean }), 'E_ARG');
  });
});

describe('GEMM kernels, every path this CPU runs (native/cpu/gemm_selftest.cc)', function () {
  this.timeout(300000);

  // The addon uses one path per process (AVX-512 here), so the AVX2 and portable kernels are
  // checked only by this: each against a float64 triple loop over many shapes, transposes,
  // alpha/beta (a NaN C under beta 0), batches, padded leading dimensions, and 1/2/3 threads
  // bit-identical.
  it('match a float64 reference and give the same bits at any thread count', function () {
    const run = runNativeSelftest('cpu/gemm_selftest.cc', {
      sources: ['cpu/gemm.cc', 'core/thread_pool.cc', 'core/wake_policy.cc', 'cpu/cpu_features.cc'],
      optimize: true,
      args: ['--no-bench'],
    });
    if (!run) this.skip();
    expect(run.stdout).to.match(/kernel portable: \d+ cases, 0 failed/);
    expect(run.stdout).to.include('ALL PASSED: 0 failures');
    expect(run.status).to.equal(0);
  });
});
