/**
 * Rearranging, joining and combining tensors (lib/shapes.ts): values and gradients against
 * PyTorch (test/fixtures/make/pointwise_shapes.py, float64), gradients against finite
 * differences, logcumsumexp's range, shapes at the edges, typed errors, and the GPU against the
 * CPU.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, randomTensor, tapeCheck } from './helpers';
import { fixtureCases } from './pointwise-shapes-cases';

type Args = Record<string, unknown>;
type Dims = number | readonly [number | number[], number | number[]];

describe('rearranging, joining and combining tensors', () => {
  fixtureCases({
    tile: ([x], a) => cc.tile(x, a.dims as number[]),
    movedim: ([x], a) => cc.movedim(x, a.source as number, a.destination as number),
    swapaxes: ([x], a) => cc.swapaxes(x, a.axis0 as number, a.axis1 as number),
    unflatten: ([x], a) => cc.unflatten(x, a.dim as number, a.sizes as number[]),
    hstack: (ts) => cc.hstack(ts),
    vstack: (ts) => cc.vstack(ts),
    dstack: (ts) => cc.dstack(ts),
    columnStack: (ts) => cc.columnStack(ts),
    rot90: ([x], a) => cc.rot90(x, a.k as number, a.dims as number[]),
    diff: ([x, p, q], a) => cc.diff(x, { n: a.n as number, dim: a.dim as number, prepend: p, append: q }),
    takeAlongDim: ([x, i], a) => cc.takeAlongDim(x, i as cc.Tensor<'int32'>, a.dim as number | undefined),
    tensordot: ([x, y], a) => cc.tensordot(x, y, a.dims as Dims),
    cross: ([x, y], a) => cc.cross(x, y, a.dim as number | undefined),
    kron: ([x, y]) => cc.kron(x, y),
    blockDiag: (ts) => cc.blockDiag(ts),
    cartesianProd: (ts) => cc.cartesianProd(ts),
    trilIndices: (_, a) => cc.trilIndices(a.row as number, a.col as number, a.offset as number),
    triuIndices: (_, a) => cc.triuIndices(a.row as number, a.col as number, a.offset as number),
    vander: ([x], a) => cc.vander(x, a.N as number | null, a.increasing as boolean),
    cov: ([x, ...w], a: Args) => {
      const kinds = (a.weights as string | undefined) ?? '';
      return cc.cov(x, {
        correction: a.correction as number | undefined,
        fweights: kinds.includes('f') ? w[0] : undefined,
        aweights: kinds.includes('a') ? w[kinds.indexOf('a')] : undefined,
      });
    },
    corrcoef: ([x]) => cc.corrcoef(x),
    logcumsumexp: ([x], a) => cc.logcumsumexp(x, a.dim as number),
  });

  it('gradients match finite differences', () => {
    tapeCheck('tile', [{ shape: [2, 3] }], ([x]) => cc.tile(x, [2, 1, 2]));
    tapeCheck('movedim, swapaxes', [{ shape: [2, 3, 4] }], ([x]) => cc.cat([cc.movedim(x, [0, 1], [2, 0]).reshape([-1]), cc.swapaxes(x, 0, 2).reshape([-1])]));
    tapeCheck('unflatten', [{ shape: [2, 6] }], ([x]) => cc.unflatten(x, 1, [-1, 2]).mul(cc.unflatten(x, 1, [3, 2])));
    tapeCheck('hstack, vstack, dstack, columnStack', [{ shape: [3] }, { shape: [2, 3] }],
      ([v, m]) => cc.cat([cc.hstack([v, v]), cc.vstack([v, m]).reshape([-1]), cc.dstack([m, m]).reshape([-1]), cc.columnStack([v, m.t()]).reshape([-1])]));
    tapeCheck('rot90', [{ shape: [2, 3, 4] }], ([x]) => cc.rot90(x, 1, [1, 2]).sum(0).add(cc.rot90(x, 3, [2, 1]).sum(0)));
    tapeCheck('diff', [{ shape: [3, 5] }, { shape: [3, 1] }], ([x, p]) => cc.diff(x, { n: 2, prepend: p }));
    tapeCheck('takeAlongDim', [{ shape: [2, 3, 4] }], ([x]) => cc.takeAlongDim(x, cc.tensor([[[2, 0, 2]], [[1, 3, 0]]], { dtype: 'int32' }), 2));
    tapeCheck('tensordot', [{ shape: [2, 3, 4] }, { shape: [4, 3] }], ([a, b]) => cc.tensordot(a, b, [[2, 1], [0, 1]]));
    tapeCheck('cross', [{ shape: [2, 1, 3] }, { shape: [1, 4, 3] }], ([a, b]) => cc.cross(a, b));
    tapeCheck('kron', [{ shape: [2, 3] }, { shape: [2, 2] }], ([a, b]) => cc.kron(a, b));
    tapeCheck('blockDiag, cartesianProd', [{ shape: [2, 2] }, { shape: [3] }],
      ([a, v]) => cc.blockDiag([a, v, a]).sum(0).add(cc.cartesianProd([v, v]).sum(0).sum()));
    tapeCheck('vander', [{ shape: [4] }], ([x]) => cc.vander(x, 5));
    tapeCheck('cov', [{ shape: [3, 6] }, { shape: [6], values: Float64Array.from([0.5, 1, 2, 0.25, 1.5, 0.75]) }],
      ([x, w]) => cc.cov(x, { aweights: w, fweights: cc.tensor([1, 2, 1, 3, 1, 1], { dtype: 'int32' }) }), { samples: 20 });
    tapeCheck('corrcoef', [{ shape: [3, 6] }], ([x]) => cc.corrcoef(x).mul(cc.tensor([[0, 1, 2], [3, 0, 4], [5, 6, 0]])));
    tapeCheck('logcumsumexp', [{ shape: [3, 9] }], ([x]) => cc.logcumsumexp(x.mul(5), 1));
    tapeCheck('logcumsumexp wide range', [{ shape: [6], values: Float64Array.from([-1000, 0.5, 1000, -999.5, 998, 1000.25]) }],
      ([x]) => cc.logcumsumexp(x, 0));
  });

  it('logcumsumexp: any range of values, -Infinity adding nothing, long lines, dims', () => {
    expect(cc.logcumsumexp(cc.tensor([-1000, 0, 1000]), 0).tolist()).to.deep.equal([-1000, 0, 1000]);
    expect(cc.logcumsumexp(cc.tensor([1000, -1000]), 0).tolist()).to.deep.equal([1000, 1000]);
    expect(cc.logcumsumexp(cc.tensor([-Infinity, -Infinity, 0]), 0).tolist()).to.deep.equal([-Infinity, -Infinity, 0]);
    expect(cc.logcumsumexp(cc.tensor([1, NaN, 1]), 0).tolist()).to.deep.equal([1, NaN, NaN]);
    expect(cc.logcumsumexp(cc.tensor(2), 0).item()).to.equal(2);
    expect(cc.logcumsumexp(cc.zeros([2, 0]), 1).shape).to.deep.equal([2, 0]);
    // A line of 1000 (not a power of 2): against a float64 running log-sum-exp.
    const n = 1000, v = Float64Array.from({ length: n }, (_, i) => Math.fround(30 * Math.sin(i * 1.3) - i / 10));
    const expected = new Float64Array(n);
    for (let i = 0, m = -Infinity, s = 0; i < n; i++) {
      if (v[i] > m) { s = s * Math.exp(m - v[i]) + 1; m = v[i]; } else s += Math.exp(v[i] - m);
      expected[i] = m + Math.log(s);
    }
    expectClose(cc.logcumsumexp(cc.tensor(Float32Array.from(v), { shape: [1, n, 1] }), 1).dataSync(), expected, 1e-5, 1e-5, 'long line');
    // Along a middle axis, as along the last of the permuted tensor.
    const x = randomCpu([3, 5, 4], 70, -20, 20);
    expectClose(cc.logcumsumexp(x, 1).dataSync(), cc.logcumsumexp(x.permute([0, 2, 1]), 2).permute([0, 2, 1]).dataSync(), 0, 0, 'dim 1');
  });

  it('diff and cross (one native pass each) on long axes that threads split mid-slab, every axis', () => {
    // float64 references: a difference or a cross product of floats rounds once in float32.
    for (const [shape, dim] of [[[3, 7001, 5], 1], [[2, 40000], 0], [[40000, 2], 1], [[6, 5, 4, 3], 2]] as const) {
      const { t, v } = randomTensor(shape, 80 + dim, -100, 100);
      const n = shape[dim] as number, inner = shape.slice(dim + 1).reduce((p, d) => p * d, 1);
      const want = new Float64Array(v.length / n * (n - 1));
      for (let i = 0, k = 0; i < v.length; i++) if (Math.floor(i / inner) % n < n - 1) want[k++] = Math.fround(v[i + inner] - v[i]);
      expect(Array.from(cc.diff(t, { dim }).dataSync()), `diff ${shape} dim ${dim}`).to.deep.equal(Array.from(want));
    }
    for (const [shape, dim] of [[[50000, 3], 1], [[3, 7, 3001], 0], [[4, 3, 5], 1]] as const) {
      const { t: a, v: u } = randomTensor(shape, 90, -10, 10), { t: b, v: w } = randomTensor(shape, 91, -10, 10);
      const inner = shape.slice(dim + 1).reduce((p, d) => p * d, 1);
      const want = new Float64Array(u.length);
      for (let i = 0; i < u.length; i++) {
        const c = Math.floor(i / inner) % 3, at = i - c * inner;
        const [p, q] = [(c + 1) % 3, (c + 2) % 3];
        want[i] = Math.fround(Math.fround(u[at + p * inner] * w[at + q * inner]) - Math.fround(u[at + q * inner] * w[at + p * inner]));
      }
      expect(Array.from(cc.cross(a, b, dim).dataSync()), `cross ${shape} dim ${dim}`).to.deep.equal(Array.from(want));
    }
    tapeCheck('diff dim 0, append', [{ shape: [4, 3] }, { shape: [2, 3] }], ([x, q]) => cc.diff(x, { dim: 0, append: q }));
    tapeCheck('cross dim 0, inner 2', [{ shape: [3, 2] }, { shape: [3, 1] }], ([a, b]) => cc.cross(a, b, 0));
  });

  it('shapes at the edges: 0-D, empty, fewer or more counts, the first of several 1-D', () => {
    expect(cc.tile(cc.tensor([[1, 2]]), 2).tolist()).to.deep.equal([[1, 2, 1, 2]]);
    expect(cc.tile(cc.tensor(3), [2, 2]).tolist()).to.deep.equal([[3, 3], [3, 3]]);
    expect(cc.tile(cc.ones([2, 3]), [0, 1]).shape).to.deep.equal([0, 3]);
    expect(cc.tile(cc.tensor([1, 2], { dtype: 'int32' }), [2]).tolist()).to.deep.equal([1, 2, 1, 2]);
    expect(cc.movedim(cc.tensor(1), 0, -1).shape).to.deep.equal([]);
    expect(cc.movedim(cc.zeros([2, 3, 4, 5]), [3, 0], [0, 3]).shape).to.deep.equal([5, 3, 4, 2]);
    expect(cc.swapaxes(cc.tensor([1, 2]), 0, -1).tolist()).to.deep.equal([1, 2]);
    expect(cc.unflatten(cc.zeros([2, 0]), 1, [0, 5]).shape).to.deep.equal([2, 0, 5]);
    expect(cc.atleast1d(cc.tensor(2)).shape).to.deep.equal([1]);
    expect(cc.atleast2d(cc.tensor([1, 2])).shape).to.deep.equal([1, 2]);
    expect(cc.atleast3d(cc.tensor([1, 2])).shape).to.deep.equal([1, 2, 1]);
    expect(cc.atleast3d(cc.zeros([2, 3])).shape).to.deep.equal([2, 3, 1]);
    expect(cc.atleast3d(cc.tensor(1)).shape).to.deep.equal([1, 1, 1]);
    expect(cc.atleast2d(cc.zeros([2, 3, 4])).shape).to.deep.equal([2, 3, 4]);
    expect(cc.atleast1d([cc.tensor(1), cc.zeros([2, 2])]).map((t) => t.shape)).to.deep.equal([[1], [2, 2]]);
    expect(cc.atleast2d([] as cc.Tensor[])).to.deep.equal([]);
    expect(cc.hstack([cc.tensor(1), cc.tensor(2)]).tolist()).to.deep.equal([1, 2]);
    expect(cc.vstack([cc.tensor(1), cc.tensor(2)]).tolist()).to.deep.equal([[1], [2]]);
    expect(cc.columnStack([cc.tensor([1, 2], { dtype: 'int32' })]).tolist()).to.deep.equal([[1], [2]]);
    expect(cc.rot90(cc.tensor([[1, 2], [3, 4]]), 0).tolist()).to.deep.equal([[1, 2], [3, 4]]);
    expect(cc.rot90(cc.tensor([[1, 2], [3, 4]]), -1).tolist()).to.deep.equal([[3, 1], [4, 2]]);
    expect(cc.diff(cc.tensor([1, 4, 9, 16]), { n: 4 }).shape).to.deep.equal([0]);
    expect(cc.diff(cc.zeros([2, 0]), { n: 3 }).shape).to.deep.equal([2, 0]);
    expect(cc.diff(cc.tensor([1, 3]), { append: cc.tensor([10]) }).tolist()).to.deep.equal([2, 7]);
    expect(cc.takeAlongDim(cc.tensor([[10, 30, 20]]), cc.argsort(cc.tensor([[10, 30, 20]]), { dim: 1 }), 1).tolist()).to.deep.equal([[10, 20, 30]]);
    expect(cc.takeAlongDim(cc.tensor([[1, 2], [3, 4]], { dtype: 'int32' }), cc.tensor([3, 0], { dtype: 'int32' })).tolist()).to.deep.equal([4, 1]);
    expect(cc.tensordot(cc.ones([2, 3]), cc.ones([3, 2]), 0).shape).to.deep.equal([2, 3, 3, 2]);
    expect(cc.tensordot(cc.ones([2, 3]), cc.ones([2, 3])).item()).to.equal(6);
    expect(cc.cross(cc.tensor([[1, 0], [0, 1], [0, 0]]), cc.tensor([[0, 0], [1, 0], [0, 1]]), 0).tolist()).to.deep.equal([[0, 1], [0, 0], [1, 0]]);
    expect(cc.kron(cc.tensor([1, 2]), cc.tensor([1, 10])).tolist()).to.deep.equal([1, 10, 2, 20]);
    expect(cc.kron(cc.tensor(2), cc.tensor(3)).item()).to.equal(6);
    expect(cc.blockDiag([] as cc.Tensor[]).shape).to.deep.equal([1, 0]);   // as PyTorch's block_diag()
    expect(cc.blockDiag([cc.zeros([0, 2]), cc.ones([1, 1])]).tolist()).to.deep.equal([[0, 0, 1]]);
    expect(cc.blockDiag([cc.tensor([1, 2], { dtype: 'int32' }), cc.tensor(3, { dtype: 'int32' })]).tolist()).to.deep.equal([[1, 2, 0], [0, 0, 3]]);
    expect(cc.cartesianProd([cc.tensor([1, 2])]).tolist()).to.deep.equal([1, 2]);
    expect(cc.cartesianProd([cc.tensor([1, 2]), cc.zeros([0])]).shape).to.deep.equal([0, 2]);
    expect(cc.trilIndices(0, 0).shape).to.deep.equal([2, 0]);
    expect(cc.triuIndices(3, 3, 1).dtype).to.equal('int32');
    expect(cc.trilIndices(2, 2, 5).tolist()).to.deep.equal([[0, 0, 1, 1], [0, 1, 0, 1]]);
    expect(cc.vander(cc.tensor([2, 3]), 0).shape).to.deep.equal([2, 0]);
    expect(cc.vander(cc.tensor([0, 2]), 3, true).tolist()).to.deep.equal([[1, 0, 0], [1, 2, 4]]);
    // cov: one variable is 0-D; a divisor of 0 or less gives Infinity (or NaN), as PyTorch's.
    expect(cc.cov(cc.tensor([1, 2, 3, 4])).shape).to.deep.equal([]);
    expect(cc.cov(cc.tensor([[1, 2]]), { correction: 2 }).item()).to.equal(Infinity);
    expect(cc.cov(cc.tensor([[1, 1]]), { correction: 3 }).item()).to.be.NaN;
    expect(cc.cov(cc.tensor(5), { correction: 0 }).item()).to.equal(0);
    // corrcoef: 1 for one variable, NaN for a constant one.
    expect(cc.corrcoef(cc.tensor([1, 5, 2])).item()).to.equal(1);
    expect(cc.corrcoef(cc.tensor([[1, 2, 3], [4, 4, 4]])).tolist()).to.deep.equal([[1, NaN], [NaN, NaN]]);
  });

  it('the Tensor methods', () => {
    const x = cc.tensor([[1, 2, 3], [4, 5, 7]]);
    expect(x.tile([2]).shape).to.deep.equal([2, 6]);
    expect(x.movedim(0, 1).tolist()).to.deep.equal([[1, 4], [2, 5], [3, 7]]);
    expect(x.swapaxes(0, 1).shape).to.deep.equal([3, 2]);
    expect(x.unflatten(1, [3, 1]).shape).to.deep.equal([2, 3, 1]);
    expect(x.rot90(2).tolist()).to.deep.equal([[7, 5, 4], [3, 2, 1]]);
    expect(x.diff().tolist()).to.deep.equal([[1, 1], [1, 2]]);
    expect(x.takeAlongDim(cc.tensor([[2], [0]], { dtype: 'int32' }), 1).tolist()).to.deep.equal([[3], [4]]);
    expect(x.cross(cc.tensor([[0, 0, 1], [1, 0, 0]])).tolist()).to.deep.equal([[2, -1, 0], [0, 7, -5]]);
    expect(cc.tensor([1, 2]).kron(cc.tensor([1, 1])).tolist()).to.deep.equal([1, 1, 2, 2]);
    expect(x.cov().shape).to.deep.equal([2, 2]);
    expect(x.corrcoef().shape).to.deep.equal([2, 2]);
    expect(x.logcumsumexp(1).shape).to.deep.equal([2, 3]);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    const i = cc.tensor([0, 1], { dtype: 'int32' });
    expectError(() => cc.tile(x, [-1]), 'E_ARG');
    expectError(() => cc.tile(x, 'twice' as never), 'E_ARG');
    expectError(() => cc.tile('x' as never, [2]), 'E_ARG');
    expectError(() => cc.movedim(x, 0, 2), 'E_ARG');
    expectError(() => cc.movedim(x, [0, 1], [1]), 'E_ARG', /one length/);
    expectError(() => cc.movedim(x, [0, 0], [0, 1]), 'E_ARG', /twice/);
    expectError(() => cc.swapaxes(x, 0, 2), 'E_ARG');
    expectError(() => cc.unflatten(x, 1, [3]), 'E_SHAPE');
    expectError(() => cc.unflatten(x, 1, [-1, -1]), 'E_ARG');
    expectError(() => cc.unflatten(x, 1, []), 'E_ARG');
    expectError(() => cc.unflatten(x, 2, [2]), 'E_ARG');
    expectError(() => cc.unflatten(cc.zeros([2, 0]), 1, [0, -1]), 'E_SHAPE');
    expectError(() => cc.atleast1d(5 as never), 'E_ARG');
    expectError(() => cc.hstack([]), 'E_ARG');
    expectError(() => cc.hstack([x, i]), 'E_DTYPE');
    expectError(() => cc.vstack([x, cc.ones([3])]), 'E_SHAPE');
    expectError(() => cc.dstack([x, cc.ones([3, 2])]), 'E_SHAPE');
    expectError(() => cc.columnStack([x, cc.ones([3])]), 'E_SHAPE');
    expectError(() => cc.rot90(x, 1, [0]), 'E_ARG');
    expectError(() => cc.rot90(x, 1, [1, 1]), 'E_ARG');
    expectError(() => cc.rot90(x, 0.5), 'E_ARG');
    expectError(() => cc.rot90(cc.ones([3])), 'E_SHAPE');
    expectError(() => cc.diff(cc.tensor(1)), 'E_SHAPE');
    expectError(() => cc.diff(x, { n: -1 }), 'E_ARG');
    expectError(() => cc.diff(x, { dim: 3 }), 'E_ARG');
    expectError(() => cc.diff(x, { prepend: cc.ones([3, 1]) }), 'E_SHAPE');
    expectError(() => cc.diff(x, { append: cc.ones([2]) }), 'E_SHAPE');
    expectError(() => cc.diff(i), 'E_DTYPE');
    expectError(() => cc.diff(x, { order: 2 } as never), 'E_ARG', /unknown option/);
    expectError(() => cc.takeAlongDim(x, x as never, 1), 'E_DTYPE');
    expectError(() => cc.takeAlongDim(x, i, 1), 'E_SHAPE');
    expectError(() => cc.takeAlongDim(x, cc.zeros([3, 1], 'int32'), 1), 'E_SHAPE');
    expectError(() => cc.takeAlongDim(x, cc.zeros([2, 1], 'int32'), 2), 'E_ARG');
    expectError(() => cc.tensordot(x, x, 3), 'E_ARG');
    expectError(() => cc.tensordot(x, cc.ones([3, 2]), 1), 'E_SHAPE');
    expectError(() => cc.tensordot(x, x, [[0], [0, 1]]), 'E_ARG');
    expectError(() => cc.tensordot(x, x, 'all' as never), 'E_ARG');
    expectError(() => cc.tensordot(x, i as never), 'E_DTYPE');
    expectError(() => cc.cross(x, x), 'E_SHAPE');
    expectError(() => cc.cross(cc.ones([3]), cc.ones([2, 3])), 'E_SHAPE');
    expectError(() => cc.cross(cc.ones([2, 3]), cc.ones([3, 3])), 'E_SHAPE');
    expectError(() => cc.cross(cc.ones([3]), cc.ones([3]), 1), 'E_ARG');
    expectError(() => cc.kron(x, i), 'E_DTYPE');
    expectError(() => cc.blockDiag([cc.ones([1, 1, 1])]), 'E_SHAPE');
    expectError(() => cc.blockDiag([x, i]), 'E_DTYPE');
    expectError(() => cc.blockDiag(x as never), 'E_ARG');
    expectError(() => cc.cartesianProd([x]), 'E_SHAPE');
    expectError(() => cc.cartesianProd([]), 'E_ARG');
    expectError(() => cc.trilIndices(-1, 2), 'E_ARG');
    expectError(() => cc.triuIndices(2, 2, 0.5), 'E_ARG');
    expectError(() => cc.triuIndices(2, 2, 0, { device: 'tpu' }), 'E_DEVICE');
    expectError(() => cc.triuIndices(2, 2, 0, { dtype: 'int32' } as never), 'E_ARG', /unknown option/);
    expectError(() => cc.vander(x), 'E_SHAPE');
    expectError(() => cc.vander(cc.ones([2]), -1), 'E_ARG');
    expectError(() => cc.vander(cc.ones([2]), 2, 'yes' as never), 'E_ARG');
    expectError(() => cc.cov(cc.ones([2, 2, 2])), 'E_SHAPE');
    expectError(() => cc.cov(x, { correction: 0.5 }), 'E_ARG');
    expectError(() => cc.cov(x, { fweights: cc.ones([2]) }), 'E_DTYPE');
    expectError(() => cc.cov(x, { aweights: i }), 'E_DTYPE');
    expectError(() => cc.cov(x, { fweights: cc.tensor([1, 1, 1], { dtype: 'int32' }) }), 'E_SHAPE');
    expectError(() => cc.cov(x, { fweights: cc.tensor([1, -1], { dtype: 'int32' }) }), 'E_ARG', /non-negative/);
    expectError(() => cc.cov(x, { aweights: cc.tensor([1, NaN]) }), 'E_ARG', /non-negative/);
    expectError(() => cc.corrcoef(i), 'E_DTYPE');
    expectError(() => cc.logcumsumexp(x, 2), 'E_ARG');
    expectError(() => cc.logcumsumexp(i, 0), 'E_DTYPE');
    expectError(() => cc.logcumsumexp(x, undefined as never), 'E_ARG');
    expect(x.tolist()).to.deep.equal([[1, 2], [3, 4]]);
  });
});

describeCuda('rearranging, joining and combining tensors on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([3, 4, 3], 71, -5, 5), m = randomCpu([3, 6], 72), v = randomCpu([3], 73);
    compareDevices((u) => [cc.tile(u, [2, 1]), cc.movedim(u, 0, 2), cc.swapaxes(u, 0, 1), cc.unflatten(u, 1, [2, 2]), cc.rot90(u, 1, [1, 2]),
      cc.diff(u, { n: 2, dim: 1 }), cc.logcumsumexp(u.mul(40), 1)], [x], { grads: true, what: 'one tensor' });
    compareDevices((a, b) => [cc.hstack([a, b]), cc.vstack([a, b]), cc.dstack([a, b]), cc.columnStack([a, b]), cc.kron(a, b), cc.blockDiag([a, b]),
      cc.tensordot(a, b, [[1], [1]])], [m, randomCpu([3, 6], 74)], { grads: true, what: 'two tensors' });
    compareDevices((a, b, w) => [cc.cross(a, b, 0), cc.cartesianProd([w, w]), cc.vander(w, 4), cc.cov(a), cc.corrcoef(a)], [m, randomCpu([3, 6], 75), v], { grads: true, what: 'products' });
    compareDevices((u) => cc.takeAlongDim(u, cc.tensor([[[2, 0, 1]]], { dtype: 'int32', device: u.device }), 2), [x], { grads: true, what: 'takeAlongDim' });
    expect(cc.trilIndices(3, 4, 0, { device: 'cuda' }).device).to.equal('cuda');
    expectError(() => cc.cross(m.to('cuda'), m), 'E_DEVICE');
    expectError(() => cc.hstack([m.to('cuda'), m]), 'E_DEVICE');
    expectError(() => cc.takeAlongDim(x.to('cuda'), cc.zeros([1, 1, 1], 'int32')), 'E_DEVICE');
    expectError(() => cc.cov(m.to('cuda'), { aweights: cc.ones([6]) }), 'E_DEVICE');
    expectError(() => cc.diff(m.to('cuda'), { prepend: cc.ones([3, 1]) }), 'E_DEVICE');
  });
});
