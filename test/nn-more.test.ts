/**
 * More of torch.nn, composed from tensor ops: the activations selu … softmin, the losses
 * cosineEmbeddingLoss … multilabelMarginLoss, the padding layers, 1-D pooling, channel shuffle,
 * embedding and Softmax2d. Values and gradients against PyTorch 1.13 (test/fixtures/nn_more.json,
 * from test/fixtures/make/nn_more.py), gradients against finite differences through the tape,
 * PyTorch's values at the kinks, typed errors, and the module classes.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { expectClose, expectError, loadFixture, randomTensor, rng, sizeOf, tapeCheck } from './helpers';

const { F, nn } = cc;
type F32 = cc.Tensor<'float32'>;
type Red = 'mean' | 'sum' | 'none';
const REDUCTIONS: Red[] = ['none', 'mean', 'sum'];

type Flat = { shape: number[]; values: number[]; dtype?: string };
type Kw = Record<string, never>;
interface Case { op: string; kwargs: Kw; inputs: Record<string, Flat>; out: Flat; dy: Flat; grads: Record<string, Flat>; indices?: Flat; weightAfter?: Flat }

const fromFlat = (f: Flat): cc.Tensor => cc.tensor(f.values, { shape: f.shape, dtype: f.dtype === 'int32' ? 'int32' : 'float32' });
const i32 = (values: number | number[] | number[][] | number[][][], shape?: number[]) => cc.tensor(values, { dtype: 'int32', ...(shape ? { shape } : {}) }) as cc.Tensor<'int32'>;
const PADS = ['ZeroPad2d', 'ConstantPad2d', 'ReflectionPad2d', 'ReplicationPad2d', 'ZeroPad1d', 'ConstantPad1d', 'ReflectionPad1d', 'ReplicationPad1d'] as const;
type PadName = typeof PADS[number];

function makePad(name: PadName, padding: number[], value: number | null): cc.nn.Module {
  const p = padding as never;
  switch (name) {
    case 'ZeroPad2d': return new nn.ZeroPad2d(p);
    case 'ConstantPad2d': return new nn.ConstantPad2d(p, value!);
    case 'ReflectionPad2d': return new nn.ReflectionPad2d(p);
    case 'ReplicationPad2d': return new nn.ReplicationPad2d(p);
    case 'ZeroPad1d': return new nn.ZeroPad1d(p);
    case 'ConstantPad1d': return new nn.ConstantPad1d(p, value!);
    case 'ReflectionPad1d': return new nn.ReflectionPad1d(p);
    case 'ReplicationPad1d': return new nn.ReplicationPad1d(p);
  }
}

/** Our op for a fixture case. */
function runCase(c: Case, t: Record<string, cc.Tensor>): cc.Tensor {
  const k = c.kwargs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const x = t.x;
  switch (c.op) {
    case 'selu': return F.selu(x);
    case 'celu': return F.celu(x, k.alpha);
    case 'softsign': return F.softsign(x);
    case 'logSigmoid': return F.logSigmoid(x);
    case 'tanhshrink': return F.tanhshrink(x);
    case 'softshrink': return F.softshrink(x, k.lambd);
    case 'hardshrink': return F.hardshrink(x, k.lambd);
    case 'threshold': return F.threshold(x, k.threshold, k.value);
    case 'glu': return F.glu(x, k.dim);
    case 'softmin': return F.softmin(x, k.dim);
    case 'cosineEmbeddingLoss': return F.cosineEmbeddingLoss(t.input1, t.input2, t.target, { margin: k.margin, reduction: k.reduction });
    case 'marginRankingLoss': return F.marginRankingLoss(t.input1, t.input2, t.target, { margin: k.margin, reduction: k.reduction });
    case 'softMarginLoss': return F.softMarginLoss(t.input, t.target, { reduction: k.reduction });
    case 'multilabelSoftMarginLoss': return F.multilabelSoftMarginLoss(t.input, t.target, { weight: t.weight, reduction: k.reduction });
    case 'hingeEmbeddingLoss': return F.hingeEmbeddingLoss(t.input, t.target, { margin: k.margin, reduction: k.reduction });
    case 'poissonNllLoss': return F.poissonNllLoss(t.input, t.target, { logInput: k.logInput, full: k.full, eps: k.eps, reduction: k.reduction });
    case 'gaussianNllLoss': return F.gaussianNllLoss(t.input, t.target, t.var, { full: k.full, eps: k.eps, reduction: k.reduction });
    case 'multilabelMarginLoss': return F.multilabelMarginLoss(t.input, t.target, { reduction: k.reduction });
    case 'maxPool1d': return F.maxPool1d(x, k.kernelSize, { stride: k.stride, padding: k.padding, dilation: k.dilation, ceilMode: k.ceilMode });
    case 'avgPool1d': return F.avgPool1d(x, k.kernelSize, { stride: k.stride, padding: k.padding, ceilMode: k.ceilMode, countIncludePad: k.countIncludePad });
    case 'channelShuffle': return F.channelShuffle(x, k.groups);
    case 'embedding': return F.embedding(t.input, t.weight, k);
    case 'Softmax2d': return new nn.Softmax2d().call(x);
    default:
      if ((PADS as readonly string[]).includes(c.op)) return makePad(c.op as PadName, k.padding, k.value).call(x);
      throw new Error(`unknown fixture op ${c.op}`);
  }
}

describe('nn: more activations, losses and layers', () => {
  describe('agree with PyTorch 1.13 (committed fixtures: float64 values and gradients)', () => {
    const { cases } = loadFixture<{ cases: Case[] }>('nn_more');

    it('every case: the output and the gradients of sum(output * dy)', () => {
      const seen = new Set<string>();
      for (const c of cases) {
        const what = `${c.op} ${JSON.stringify(c.kwargs)}`;
        const t = Object.fromEntries(Object.entries(c.inputs).map(([name, f]) => [name, fromFlat(f)]));
        for (const name of Object.keys(c.grads)) t[name].requiresGrad = true;
        const y = runCase(c, t);
        expect(y.shape, what).to.deep.equal(c.out.shape);
        expectClose(y.dataSync(), c.out.values, 2e-5, 2e-6, `${what} output`);
        y.backward(fromFlat(c.dy));
        for (const [name, g] of Object.entries(c.grads)) expectClose(t[name].grad!.dataSync(), g.values, 1e-4, 2e-6, `${what} d${name}`);
        if (c.indices) {
          const k = c.kwargs as Record<string, never>;
          const [, idx] = F.maxPool1d(t.x, k.kernelSize, { stride: k.stride, padding: k.padding, dilation: k.dilation, ceilMode: k.ceilMode, returnIndices: true });
          expect(Array.from(idx.dataSync()), `${what} indices`).to.deep.equal(c.indices.values);
        }
        if (c.weightAfter) expectClose(t.weight.dataSync(), c.weightAfter.values, 2e-6, 1e-7, `${what} renormalised weight`);
        seen.add(c.op);
      }
      expect([...seen].sort()).to.deep.equal([
        'ConstantPad1d', 'ConstantPad2d', 'ReflectionPad1d', 'ReflectionPad2d', 'ReplicationPad1d', 'ReplicationPad2d', 'Softmax2d', 'ZeroPad1d', 'ZeroPad2d',
        'avgPool1d', 'celu', 'channelShuffle', 'cosineEmbeddingLoss', 'embedding', 'gaussianNllLoss', 'glu', 'hardshrink', 'hingeEmbeddingLoss',
        'logSigmoid', 'marginRankingLoss', 'maxPool1d', 'multilabelMarginLoss', 'multilabelSoftMarginLoss', 'poissonNllLoss', 'selu', 'softMarginLoss',
        'softmin', 'softshrink', 'softsign', 'tanhshrink', 'threshold',
      ]);
      // Every loss in every reduction.
      for (const op of ['cosineEmbeddingLoss', 'marginRankingLoss', 'softMarginLoss', 'multilabelSoftMarginLoss', 'hingeEmbeddingLoss', 'poissonNllLoss', 'gaussianNllLoss', 'multilabelMarginLoss']) {
        const reductions = new Set(cases.filter((c) => c.op === op).map((c) => (c.kwargs as Record<string, string>).reduction));
        expect([...reductions].sort(), op).to.deep.equal(['mean', 'none', 'sum']);
      }
    });
  });

  describe('activations', () => {
    it('PyTorch\'s gradients at the kinks and its special values', () => {
      const grad = (fn: (x: F32) => cc.Tensor, values: number[]) => {
        const x = cc.tensor(values);
        x.requiresGrad = true;
        const y = fn(x);
        y.sum().backward();
        return { y: Array.from(y.dataSync()), g: Array.from(x.grad!.dataSync()) };
      };
      // selu and celu take the exponential branch at 0: selu'(0) = scale * alpha; celu'(0) = 1.
      expectClose(grad(F.selu, [0]).g, [1.0507009873554805 * 1.6732632423543772], 1e-6, 0, 'selu\'(0)');
      for (const alpha of [1, 0.5, -0.7]) expectClose(grad((x) => F.celu(x, alpha), [0]).g, [1], 1e-6, 0, `celu(${alpha})'(0)`);
      expectClose(grad(F.logSigmoid, [0]).g, [0.5], 0, 0, 'logSigmoid\'(0)');
      expectClose(grad(F.softsign, [0]).g, [1], 0, 0, 'softsign\'(0)');
      // No gradient at the bounds of the shrinks and the threshold (x == bound): PyTorch's rule.
      expect(grad((x) => F.softshrink(x, 0.5), [-0.5, 0.5, 0.75]).g).to.deep.equal([0, 0, 1]);
      expect(grad((x) => F.hardshrink(x, 0.5), [-0.5, 0.5, 0.75]).g).to.deep.equal([0, 0, 1]);
      expect(grad((x) => F.threshold(x, 0.5, 7), [0.5, 0.75])).to.deep.equal({ y: [7, 0.75], g: [0, 1] });
      // Inside the shrinks' band the result is +0, as PyTorch's (not -0 for negative x).
      expect([...F.softshrink(cc.tensor([-0.2])).dataSync(), ...F.hardshrink(cc.tensor([-0.2])).dataSync()].map((v) => Object.is(v, 0))).to.deep.equal([true, true]);
      // NaN stays NaN (softshrink as PyTorch >= 2.1; 1.13 gave 0); logSigmoid never overflows.
      for (const fn of [(x: F32) => F.softshrink(x), (x: F32) => F.hardshrink(x), (x: F32) => F.threshold(x, 0, 1), F.softsign, F.logSigmoid, F.selu, F.tanhshrink]) {
        expect(Number.isNaN(fn(cc.tensor([NaN])).dataSync()[0]), fn.name).to.equal(true);
      }
      const big = grad(F.logSigmoid, [1e4, -1e4, 88, -88]);
      expectClose(big.y, [0, -1e4, -Math.exp(-88), -88], 1e-6, 0, 'logSigmoid far out');
      expectClose(big.g, [0, 1, Math.exp(-88), 1], 1e-6, 0, 'logSigmoid\' far out');
      // celu with a negative alpha branches on x, as PyTorch (no overflow in the branch not taken).
      expectClose(grad((x) => F.celu(x, -0.5), [100, -1]).y, [100, -0.5 * Math.expm1(2)], 1e-6, 0, 'celu(-0.5)');
      expect(grad((x) => F.celu(x, -0.5), [100]).g).to.deep.equal([1]);
      expect(F.softmin(cc.tensor([[1, 2]]), 1).shape).to.deep.equal([1, 2]);
      expect(F.glu(cc.ones([2, 4, 3]), 1).shape).to.deep.equal([2, 2, 3]);
    });

    it('gradients match finite differences through the tape', () => {
      // Away from the kinks (|x| and |x| - lambd, x - threshold of at least 0.05 > h).
      const next = rng(7);
      const away = (n: number, kinks: number[]) => Float64Array.from({ length: n }, () => {
        let v: number;
        do v = -3 + 6 * next(); while (kinks.some((k) => Math.abs(v - k) < 0.05));
        return v;
      });
      const x = (kinks: number[] = [0]) => [{ shape: [3, 8], values: away(24, kinks) }];
      tapeCheck('selu', x(), ([t]) => F.selu(t));
      tapeCheck('celu', x(), ([t]) => F.celu(t, 0.7));
      tapeCheck('celu negative alpha', x(), ([t]) => F.celu(t, -1.3));
      tapeCheck('softsign', x(), ([t]) => F.softsign(t));
      tapeCheck('logSigmoid', x(), ([t]) => F.logSigmoid(t));
      tapeCheck('tanhshrink', x(), ([t]) => F.tanhshrink(t));
      tapeCheck('softshrink', x([-0.6, 0.6]), ([t]) => F.softshrink(t, 0.6));
      tapeCheck('hardshrink', x([-0.6, 0.6]), ([t]) => F.hardshrink(t, 0.6));
      tapeCheck('threshold', x([0.2]), ([t]) => F.threshold(t, 0.2, -4));
      tapeCheck('glu', x(), ([t]) => F.glu(t, 1));
      tapeCheck('softmin', x(), ([t]) => F.softmin(t, 0));
    });

    it('refuse bad input with typed errors, leaving it intact', () => {
      const x = cc.tensor([[1, -2], [3, 0.5]]);
      const ix = cc.tensor([[1, 2]], { dtype: 'int32' });
      for (const fn of [F.selu, F.celu, F.softsign, F.logSigmoid, F.tanhshrink, F.softshrink, F.hardshrink, (t: cc.Tensor) => F.threshold(t, 0, 0), F.glu, (t: cc.Tensor) => F.softmin(t, 0)]) {
        expectError(() => fn(ix as never), 'E_DTYPE');
        expectError(() => fn('x' as never), 'E_ARG');
      }
      expectError(() => F.celu(x, 0), 'E_ARG', /alpha cannot be 0/);
      expectError(() => F.celu(x, NaN), 'E_ARG');
      expectError(() => F.softshrink(x, -1), 'E_ARG', /lambd/);
      expectError(() => F.hardshrink(x, 'a' as never), 'E_ARG');
      expectError(() => F.threshold(x, NaN, 0), 'E_ARG');
      expectError(() => F.threshold(x, 0, 'a' as never), 'E_ARG');
      expectError(() => F.glu(cc.ones([3, 3])), 'E_SHAPE', /even/);
      expectError(() => F.glu(cc.tensor(1, { shape: [] })), 'E_SHAPE');
      expectError(() => F.glu(x, 2), 'E_ARG', /axis/);
      expectError(() => F.softmin(x, 2), 'E_ARG');
      expectError(() => F.softmin(x, undefined as never), 'E_ARG');
      expect(x.tolist()).to.deep.equal([[1, -2], [3, 0.5]]);
      expect(ix.tolist()).to.deep.equal([[1, 2]]);
    });
  });

  describe('losses', () => {
    it('edge cases as PyTorch: targets other than ±1, empty batches, broadcasting, int32 targets', () => {
      // cosineEmbeddingLoss: a target of 0 adds nothing; int32 and float32 targets agree.
      const a = cc.tensor([[1, 2, 3], [0, 1, -1]]), b = cc.tensor([[1, 0, 3], [2, 1, 1]]);
      const cos0 = 10 / Math.sqrt(14 * 10);
      expectClose(F.cosineEmbeddingLoss(a, b, cc.tensor([1, 0]), { reduction: 'none' }).dataSync(), [1 - cos0, 0], 1e-6, 1e-7);
      expectClose(F.cosineEmbeddingLoss(a, b, i32([-1, -1]), { margin: -0.5, reduction: 'none' }).dataSync(), [cos0 + 0.5, 0.5], 1e-6, 1e-7);
      // hingeEmbeddingLoss: a target that is neither 1 nor -1 takes both terms.
      expectClose(F.hingeEmbeddingLoss(cc.tensor([0.25, 3]), cc.tensor([0, 0]), { reduction: 'none' }).dataSync(), [1, 3], 1e-7, 0);
      // Empty batches: mean NaN, sum 0.
      const e = cc.zeros([0, 3]);
      expect(Number.isNaN(F.softMarginLoss(e, e).item())).to.equal(true);
      expect(F.softMarginLoss(e, e, { reduction: 'sum' }).item()).to.equal(0);
      expect(F.poissonNllLoss(e, e, { reduction: 'none' }).shape).to.deep.equal([0, 3]);
      expect(Number.isNaN(F.gaussianNllLoss(e, e, e).item())).to.equal(true);
      expect(F.multilabelSoftMarginLoss(e, e, { reduction: 'none' }).shape).to.deep.equal([0]);
      // Shapes of 'none': broadcast (marginRanking, hinge embedding, poisson), per sample, or a scalar for 1-D inputs.
      expect(F.marginRankingLoss(cc.ones([4, 1]), cc.ones([4, 3]), cc.ones([1, 3]), { reduction: 'none' }).shape).to.deep.equal([4, 3]);
      expect(F.poissonNllLoss(cc.ones([3, 1]), cc.ones([4]), { reduction: 'none' }).shape).to.deep.equal([3, 4]);
      expect(F.multilabelMarginLoss(cc.ones([4]), i32([0, -1, 0, 0]), { reduction: 'none' }).shape).to.deep.equal([]);
      expect(F.multilabelSoftMarginLoss(cc.ones([4]), cc.ones([4]), { reduction: 'none' }).shape).to.deep.equal([]);
      expect(F.cosineEmbeddingLoss(cc.ones([3]), cc.ones([3]), cc.tensor(1, { shape: [] }), { reduction: 'none' }).shape).to.deep.equal([]);
      // multilabelMarginLoss of PyTorch's doc example: 0.85.
      expectClose([F.multilabelMarginLoss(cc.tensor([[0.1, 0.2, 0.4, 0.8]]), i32([[3, 0, -1, 1]])).item()], [0.85], 1e-6, 0);
      // A scalar input is one class (its loss is 0), as PyTorch.
      expect(F.multilabelMarginLoss(cc.tensor(0.5, { shape: [] }), cc.tensor(0, { shape: [], dtype: 'int32' })).item()).to.equal(0);
      // softMarginLoss is stable far out, where PyTorch's log(1 + exp(-yx)) gives inf.
      expectClose(F.softMarginLoss(cc.tensor([-200, 200]), cc.tensor([1, 1]), { reduction: 'none' }).dataSync(), [200, 0], 1e-7, 0);
    });

    it('poissonNllLoss with full: no NaN gradient at target 0 (PyTorch gives NaN there)', () => {
      const x = cc.tensor([0.3, 0.5, 1.2]), t = cc.tensor([0, 1, 3]);
      x.requiresGrad = true;
      t.requiresGrad = true;
      F.poissonNllLoss(x, t, { full: true, reduction: 'sum' }).backward();
      // d/dt: -x, plus log(t) + 1/(2t) where t > 1 (PyTorch: NaN, -0.5, 0.0653).
      expectClose(t.grad!.dataSync(), [-0.3, -0.5, -1.2 + Math.log(3) + 1 / 6], 1e-6, 1e-7);
      expectClose(x.grad!.dataSync(), [Math.exp(0.3), Math.exp(0.5) - 1, Math.exp(1.2) - 3], 1e-6, 1e-7);
    });

    it('gaussianNllLoss: var below eps is clamped for the value, not for the gradient (as PyTorch)', () => {
      const x = cc.tensor([1, 2]), t = cc.tensor([0, 0]), v = cc.tensor([1e-9, 4]);
      v.requiresGrad = true;
      const loss = F.gaussianNllLoss(x, t, v, { eps: 1e-3, reduction: 'none' });
      expectClose(loss.dataSync(), [0.5 * (Math.log(1e-3) + 1 / 1e-3), 0.5 * (Math.log(4) + 1)], 1e-6, 0);
      loss.sum().backward();
      expectClose(v.grad!.dataSync(), [0.5 * (1 / 1e-3 - 1 / 1e-6), 0.5 * (1 / 4 - 4 / 16)], 1e-5, 1e-7);
    });

    it('gradients match finite differences through the tape, in every reduction', () => {
      const next = rng(11);
      // Values away from the hinges' kinks: margins chosen so that no term is within 0.05 of 0.
      const signs = (n: number) => Float64Array.from({ length: n }, () => (next() < 0.5 ? -1 : 1));
      const within = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * next());
      for (const reduction of REDUCTIONS) {
        const y6 = cc.tensor(Float32Array.from(signs(6)));
        tapeCheck(`cosineEmbeddingLoss ${reduction}`, [{ shape: [6, 4] }, { shape: [6, 4] }], ([p, q]) => F.cosineEmbeddingLoss(p, q, y6, { margin: -0.99, reduction }));
        const y8 = cc.tensor(Float32Array.from(signs(8)));
        const r1 = within(8, -1, 1), r2 = Float64Array.from(r1, (v, i) => v + (i % 2 ? 0.4 : -0.4));
        tapeCheck(`marginRankingLoss ${reduction}`, [{ shape: [8], values: r1 }, { shape: [8], values: r2 }], ([p, q]) => F.marginRankingLoss(p, q, y8, { margin: 0.1, reduction }));
        const y53 = cc.tensor(Float32Array.from(signs(15)), { shape: [5, 3] });
        tapeCheck(`softMarginLoss ${reduction}`, [{ shape: [5, 3] }], ([p]) => F.softMarginLoss(p, y53, { reduction }));
        tapeCheck(`multilabelSoftMarginLoss ${reduction}`, [{ shape: [4, 3] }, { shape: [4, 3], values: within(12, 0, 1) }],
          ([p, q]) => F.multilabelSoftMarginLoss(p, q, { weight: cc.tensor([0.5, 1, 2]), reduction }));
        const y10 = cc.tensor(Float32Array.from(signs(10)));
        tapeCheck(`hingeEmbeddingLoss ${reduction}`, [{ shape: [10], values: within(10, 1.2, 3) }], ([p]) => F.hingeEmbeddingLoss(p, y10, { reduction }));
        tapeCheck(`poissonNllLoss ${reduction}`, [{ shape: [3, 4] }, { shape: [3, 4], values: within(12, 1.2, 5) }],
          ([p, q]) => F.poissonNllLoss(p, q, { full: true, reduction }));
        tapeCheck(`poissonNllLoss rates ${reduction}`, [{ shape: [3, 4], values: within(12, 0.5, 3) }, { shape: [3, 4], values: within(12, 0, 4) }],
          ([p, q]) => F.poissonNllLoss(p, q, { logInput: false, reduction }));
        tapeCheck(`gaussianNllLoss ${reduction}`, [{ shape: [4, 3] }, { shape: [4, 3] }, { shape: [4, 1], values: within(4, 0.5, 1.5) }],
          ([p, q, v]) => F.gaussianNllLoss(p, q, v, { full: true, reduction }));
        // Scores 0.3 apart, so that no pair's 1 - (x[j] - x[i]) is near 0.
        tapeCheck(`multilabelMarginLoss ${reduction}`, [{ shape: [2, 4], values: Float64Array.of(0.1, 0.4, 1.6, -0.5, 2.2, 0.7, -0.6, 1.0) }],
          ([p]) => F.multilabelMarginLoss(p, i32([[2, 0, -1, 3], [1, 3, 3, -1]]), { reduction }));
      }
    });

    it('cosineEmbeddingLoss on the CPU (native): values and both gradients as float64; int32 targets, other target values, zero rows', () => {
      const N = 29, D = 67, next = rng(43);
      const a = Float32Array.from({ length: N * D }, () => next() - 0.5), b = Float32Array.from({ length: N * D }, () => next() - 0.5);
      for (let k = 0; k < D; k++) {
        a[3 * D + k] = 0;                      // a zero row: cos 0 (eps keeps it finite)
        b[5 * D + k] = 2 * a[5 * D + k];       // parallel rows: cos 1
        b[6 * D + k] = -a[6 * D + k];          // opposite rows: cos -1
      }
      const labels = Array.from({ length: N }, (_, i) => (i % 5 === 4 ? 0 : i % 2 ? -1 : 1));   // 0: adds nothing
      for (const [margin, reduction, dtype] of [[0, 'none', 'float32'], [0.2, 'mean', 'int32'], [-0.3, 'sum', 'float32']] as const) {
        const ta = cc.tensor(a, { shape: [N, D], requiresGrad: true }) as F32, tb = cc.tensor(b, { shape: [N, D], requiresGrad: true }) as F32;
        const y = F.cosineEmbeddingLoss(ta, tb, cc.tensor(labels, { dtype }), { margin, reduction });
        const dy = reduction === 'none' ? Float32Array.from({ length: N }, (_, n) => 0.5 + n / N) : Float32Array.of(1.5);
        y.backward(cc.tensor(dy, { shape: [...y.shape] }));
        const per: number[] = [], ga: number[] = [], gb: number[] = [];
        for (let n = 0; n < N; n++) {
          let dot = 0, na = 1e-12, nb = 1e-12;
          for (let k = 0; k < D; k++) {
            dot += a[n * D + k] * b[n * D + k];
            na += a[n * D + k] ** 2;
            nb += b[n * D + k] ** 2;
          }
          const denom = Math.sqrt(na * nb), cos = dot / denom, t = labels[n];
          per.push(t === 1 ? 1 - cos : t === -1 ? Math.max(0, cos - margin) : 0);
          const g = reduction === 'none' ? dy[n] : reduction === 'mean' ? dy[0] / N : dy[0];
          const c = t === 1 ? -g : t === -1 && cos - margin >= 0 ? g : 0;
          for (let k = 0; k < D; k++) {
            ga.push(c * (b[n * D + k] / denom - (cos * a[n * D + k]) / na));
            gb.push(c * (a[n * D + k] / denom - (cos * b[n * D + k]) / nb));
          }
        }
        const total = per.reduce((p, q) => p + q, 0);
        expectClose(y.dataSync(), reduction === 'none' ? per : [reduction === 'mean' ? total / N : total], 1e-6, 1e-7, `${reduction} loss`);
        expectClose(ta.grad!.dataSync(), ga, 1e-5, 1e-7, `${reduction} da`);
        expectClose(tb.grad!.dataSync(), gb, 1e-5, 1e-7, `${reduction} db`);
      }
      // The 1-D form, and inputs that broadcast (composed) give the same values.
      const a1 = cc.tensor(a.subarray(0, D)), b1 = cc.tensor(b.subarray(0, D));
      const one = F.cosineEmbeddingLoss(a1, b1, cc.tensor(1, { shape: [] }), { reduction: 'none' });
      expect(one.shape).to.deep.equal([]);
      const rows = cc.tensor(a.subarray(0, 3 * D), { shape: [3, D] });
      const composed = F.cosineEmbeddingLoss(rows, cc.reshape(b1, [1, D]), cc.tensor([1, -1, 1]), { reduction: 'none' });
      const native = F.cosineEmbeddingLoss(rows, cc.clone(cc.expand(cc.reshape(b1, [1, D]), [3, D])), cc.tensor([1, -1, 1]), { reduction: 'none' });
      expectClose(native.dataSync(), composed.dataSync(), 1e-6, 1e-7, 'broadcast');
      expectClose([one.item()], [native.dataSync()[0]], 1e-6, 1e-7, '1-D');
      expectError(() => F.cosineEmbeddingLoss(rows, rows, cc.tensor([1, 1])), 'E_SHAPE');
      // NaN gives NaN for either target, as PyTorch (its clamp_min keeps NaN)
      const withNaN = cc.tensor([[NaN, 1], [NaN, 1], [1, 2]]), other = cc.tensor([[1, 1], [1, 1], [2, 1]]);
      const per = F.cosineEmbeddingLoss(withNaN, other, cc.tensor([1, -1, -1]), { reduction: 'none' }).dataSync();
      expect(Number.isNaN(per[0]) && Number.isNaN(per[1]) && per[2] > 0).to.equal(true);
    });

    it('multilabelMarginLoss on the CPU (native): values and gradient as float64, repeats and empty rows, any thread count', () => {
      const N = 37, C = 50, next = rng(41);
      const x = Float32Array.from({ length: N * C }, () => (next() - 0.5) * 4);
      const labels = new Int32Array(N * C).fill(-1);
      for (let n = 0; n < N; n++) {
        const count = n % 9;   // 0 (an empty row) to 8 targets, a repeat now and then
        for (let j = 0; j < count; j++) labels[n * C + j] = Math.floor(next() * C);
        for (let j = count + 1; j < C; j++) labels[n * C + j] = Math.floor(next() * C);   // after the -1: ignored
      }
      const per = new Float64Array(N), grad = new Float64Array(N * C);
      for (let n = 0; n < N; n++) {
        const targets: number[] = [];
        for (let j = 0; j < C && labels[n * C + j] !== -1; j++) targets.push(labels[n * C + j]);
        const isTarget = new Set(targets);
        for (const j of targets) {
          for (let i = 0; i < C; i++) {
            const z = 1 - x[n * C + j] + x[n * C + i];
            if (isTarget.has(i) || z <= 0) continue;
            per[n] += z / C;
            grad[n * C + i] += 1 / C;
            grad[n * C + j] -= 1 / C;
          }
        }
      }
      const target = cc.tensor(labels, { shape: [N, C], dtype: 'int32' });
      for (const reduction of ['none', 'mean', 'sum'] as const) {
        const xt = cc.tensor(x, { shape: [N, C], requiresGrad: true }) as F32;
        const loss = F.multilabelMarginLoss(xt, target, { reduction });
        const dy = reduction === 'none' ? Float32Array.from({ length: N }, (_, n) => 0.5 + n / N) : Float32Array.of(1.5);
        loss.backward(cc.tensor(dy, { shape: [...loss.shape] }));
        const factor = (n: number) => (reduction === 'none' ? dy[n] : reduction === 'mean' ? dy[0] / N : dy[0]);
        const total = per.reduce((a, b) => a + b, 0);
        expectClose(loss.dataSync(), reduction === 'none' ? Array.from(per) : [reduction === 'mean' ? total / N : total], 1e-6, 1e-7, reduction);
        expectClose(xt.grad!.dataSync(), Array.from(grad, (g, k) => g * factor(Math.floor(k / C))), 1e-6, 1e-9, `${reduction} dx`);
      }
      const before = cc.getNumThreads();
      try {
        const run = () => {
          const xt = cc.tensor(x, { shape: [N, C], requiresGrad: true }) as F32;
          const loss = F.multilabelMarginLoss(xt, target, { reduction: 'sum' });
          loss.backward();
          return [...loss.dataSync(), ...xt.grad!.dataSync()];
        };
        cc.setNumThreads(1);
        const one = run();
        cc.setNumThreads(2);
        expect(run()).to.deep.equal(one);
      } finally {
        cc.setNumThreads(before);
      }
    });

    it('refuse bad input with typed errors, leaving it intact', () => {
      const a = cc.tensor([[1, 2], [3, 4]]), b = cc.tensor([[0.5, 1], [2, -1]]), y = cc.tensor([1, -1]);
      const ia = cc.tensor([[1, 2], [3, 4]], { dtype: 'int32' });
      // Three-operand losses.
      for (const [fn, y] of [[F.cosineEmbeddingLoss, cc.tensor([1, -1])], [F.marginRankingLoss, cc.tensor([[1, -1]])]] as const) {
        expectError(() => fn(ia, b, y), 'E_DTYPE');
        expectError(() => fn(a, 'b' as never, y), 'E_ARG');
        expectError(() => fn(a, b, y, { reduction: 'avg' as Red }), 'E_ARG', /reduction/);
        expectError(() => fn(a, b, y, { margin: NaN }), 'E_ARG', /margin/);
        expectError(() => fn(a, b, y, { p: 2 } as never), 'E_ARG', /unknown option/);
      }
      expectError(() => F.cosineEmbeddingLoss(a, b, cc.ones([2, 2])), 'E_SHAPE', /0-D or 1-D/);
      expectError(() => F.cosineEmbeddingLoss(cc.ones([2]), cc.ones([2]), y), 'E_SHAPE', /2-D inputs/);
      expectError(() => F.cosineEmbeddingLoss(a, b, cc.ones([3])), 'E_SHAPE');
      expectError(() => F.marginRankingLoss(cc.ones([2, 1]), cc.ones([2]), cc.ones([1])), 'E_SHAPE', /same rank/);
      expectError(() => F.marginRankingLoss(cc.ones([2]), cc.ones([3]), cc.ones([2])), 'E_SHAPE');
      // Two-operand losses.
      for (const fn of [F.softMarginLoss, F.hingeEmbeddingLoss, F.poissonNllLoss, F.multilabelSoftMarginLoss]) {
        expectError(() => fn(ia, b), 'E_DTYPE');
        expectError(() => fn(a, b, { reduction: 'batchmean' as Red }), 'E_ARG', /reduction/);
        expectError(() => fn(a, b, { bogus: 1 } as never), 'E_ARG', /unknown option `bogus`/);
        expectError(() => fn(a, b, 'mean' as never), 'E_ARG');
      }
      expectError(() => F.softMarginLoss(cc.ones([2]), cc.ones([2, 2])), 'E_SHAPE', /broadcastable/);
      expectError(() => F.hingeEmbeddingLoss(a, cc.ones([3])), 'E_SHAPE');
      expectError(() => F.poissonNllLoss(a, cc.ones([3])), 'E_SHAPE');
      expectError(() => F.poissonNllLoss(a, ia), 'E_DTYPE');
      expectError(() => F.poissonNllLoss(a, b, { logInput: 1 } as never), 'E_ARG', /logInput/);
      expectError(() => F.poissonNllLoss(a, b, { eps: -1 }), 'E_ARG', /eps/);
      expectError(() => F.multilabelSoftMarginLoss(a, cc.ones([2])), 'E_SHAPE');
      expectError(() => F.multilabelSoftMarginLoss(a, b, { weight: cc.ones([3]) }), 'E_SHAPE', /cannot be broadcast/);
      expectError(() => F.multilabelSoftMarginLoss(a, b, { weight: cc.ones([2], 'int32') }), 'E_DTYPE');
      expectError(() => F.multilabelSoftMarginLoss(cc.tensor(1, { shape: [] }), cc.tensor(1, { shape: [] })), 'E_SHAPE');
      // gaussianNllLoss: var's shape rules, a negative variance, options.
      const v = cc.ones([2, 2]);
      expectError(() => F.gaussianNllLoss(a, b, cc.ones([3])), 'E_SHAPE', /incorrect size/);
      expectError(() => F.gaussianNllLoss(a, b, cc.ones([2, 3])), 'E_SHAPE', /incorrect size/);
      expectError(() => F.gaussianNllLoss(cc.ones([2, 3]), cc.ones([2, 3]), cc.ones([3])), 'E_SHAPE', /incorrect size/);
      expectError(() => F.gaussianNllLoss(a, b, cc.tensor([[1, -1], [1, 1]])), 'E_ARG', /negative/);
      expectError(() => F.gaussianNllLoss(a, b, ia), 'E_DTYPE');
      expectError(() => F.gaussianNllLoss(a, cc.ones([3]), v), 'E_SHAPE');
      expectError(() => F.gaussianNllLoss(a, b, v, { eps: -1 }), 'E_ARG', /eps/);
      expectError(() => F.gaussianNllLoss(a, b, v, { full: 'yes' } as never), 'E_ARG', /full/);
      expectError(() => F.gaussianNllLoss(a, b, v, { reduction: 'all' as Red }), 'E_ARG', /reduction/);
      // multilabelMarginLoss: int32 targets of the input's shape, in [-1, C).
      const t = i32([[1, -1], [0, 1]]);
      expectError(() => F.multilabelMarginLoss(a, b), 'E_DTYPE', /int32/);
      expectError(() => F.multilabelMarginLoss(ia, t), 'E_DTYPE');
      expectError(() => F.multilabelMarginLoss(a, i32([1, -1])), 'E_SHAPE');
      expectError(() => F.multilabelMarginLoss(cc.ones([1, 2, 2]), i32([1, -1, 0, 0], [1, 2, 2])), 'E_SHAPE');
      expectError(() => F.multilabelMarginLoss(cc.ones([2, 0]), cc.zeros([2, 0], 'int32')), 'E_SHAPE', /at least one class/);
      // Labels are data: on the CPU the kernel checks them as it runs (E_INDEX when the loss is
      // read, as crossEntropy), every entry, even after the first -1, as PyTorch.
      expectError(() => F.multilabelMarginLoss(a, i32([[2, -1], [0, 1]])).item(), 'E_INDEX', /out of range/);
      expectError(() => F.multilabelMarginLoss(a, i32([[0, -2], [0, 1]])).item(), 'E_INDEX', /out of range/);
      expectError(() => F.multilabelMarginLoss(a, i32([[0, -1], [0, 5]]), { reduction: 'none' }).dataSync(), 'E_INDEX', /target 5 at position 3/);
      expectError(() => F.multilabelMarginLoss(a, t, { reduction: 'avg' as Red }), 'E_ARG');
      // Nothing was changed by the refusals.
      expect([a.tolist(), b.tolist(), y.tolist(), ia.tolist(), v.tolist(), t.tolist()]).to.deep.equal([
        [[1, 2], [3, 4]], [[0.5, 1], [2, -1]], [1, -1], [[1, 2], [3, 4]], [[1, 1], [1, 1]], [[1, -1], [0, 1]],
      ]);
    });
  });

  describe('layers', () => {
    it('padding layers: PyTorch\'s sides and modes, any dtype for the constant ones', () => {
      const x = cc.tensor([[[1, 2, 3]]]);
      expect(new nn.ReflectionPad1d([2, 1]).call(x).tolist()).to.deep.equal([[[3, 2, 1, 2, 3, 2]]]);
      expect(new nn.ReplicationPad1d(2).call(x).tolist()).to.deep.equal([[[1, 1, 1, 2, 3, 3, 3]]]);
      expect(new nn.ZeroPad1d([1, 0]).call(x).tolist()).to.deep.equal([[[0, 1, 2, 3]]]);
      expect(new nn.ConstantPad1d(1, -2).call(i32([[1, 2]])).tolist()).to.deep.equal([[-2, 1, 2, -2]]);
      const img = cc.tensor([[[1, 2], [3, 4]]]);
      expect(new nn.ZeroPad2d([1, 0, 0, 1]).call(img).tolist()).to.deep.equal([[[0, 1, 2], [0, 3, 4], [0, 0, 0]]]);
      expect(new nn.ConstantPad2d(1, 9).call(img).shape).to.deep.equal([1, 4, 4]);
      expect(new nn.ReplicationPad2d([0, 1, 1, 0]).call(img).tolist()).to.deep.equal([[[1, 2, 2], [1, 2, 2], [3, 4, 4]]]);
      expect(new nn.ReflectionPad2d([1, 0, 0, 0]).call(img).tolist()).to.deep.equal([[[2, 1, 2], [4, 3, 4]]]);
      expect(new nn.ZeroPad2d(2).padding).to.deep.equal([2, 2, 2, 2]);
      expect(new nn.ZeroPad2d([1, 1, 2, 0]).toString()).to.match(/^ZeroPad2d\(\(1, 1, 2, 0\)\)/);
      expect(new nn.ConstantPad1d([1, 3], 0.5).toString()).to.match(/^ConstantPad1d\(padding=\(1, 3\), value=0.5\)/);
      tapeCheck('ReflectionPad2d', [{ shape: [2, 2, 3, 4] }], ([t]) => new nn.ReflectionPad2d([2, 1, 2, 0]).call(t) as F32);
      tapeCheck('ReplicationPad1d', [{ shape: [2, 5] }], ([t]) => new nn.ReplicationPad1d([3, 1]).call(t) as F32);
      tapeCheck('ConstantPad2d (cropping)', [{ shape: [1, 3, 4] }], ([t]) => new nn.ConstantPad2d([-1, 2, 1, -1], 0.5).call(t) as F32);
    });

    it('maxPool1d / avgPool1d: [N, C, L] and [C, L], indices along L, one-element sizes', () => {
      const x = cc.tensor([[[1, 5, 2, 4, 3, 0, 7]]]);
      expect(F.maxPool1d(x, 3, { stride: 2, padding: 1 }).tolist()).to.deep.equal([[[5, 5, 4, 7]]]);
      const [y, idx] = F.maxPool1d(x, [2], { returnIndices: true });
      expect([y.tolist(), idx.tolist(), idx.dtype]).to.deep.equal([[[[5, 4, 3]]], [[[1, 3, 4]]], 'int32']);
      expect(F.avgPool1d(x.reshape([1, 7]), 2, { stride: [3] }).tolist()).to.deep.equal([[3, 3.5]]);
      expect(F.avgPool1d(x, 3, { padding: 1, countIncludePad: false }).dataSync()[0]).to.equal(3);
      tapeCheck('maxPool1d', [{ shape: [2, 3, 9] }], ([t]) => F.maxPool1d(t, 3, { stride: 2, padding: 1, dilation: 1 }));
      tapeCheck('avgPool1d', [{ shape: [2, 3, 9] }], ([t]) => F.avgPool1d(t, 4, { stride: 2, padding: 2, ceilMode: true, countIncludePad: false }));
    });

    it('maxUnpool1d puts each maximum back at its index along L (nn.MaxUnpool1d too); typed errors', () => {
      const x = cc.tensor([[[1, 5, 2, 4, 3, 0, 7]]]);
      const [y, idx] = F.maxPool1d(x, 2, { returnIndices: true });
      expect(F.maxUnpool1d(y, idx, 2).tolist()).to.deep.equal([[[0, 5, 0, 4, 3, 0]]]);
      expect(F.maxUnpool1d(y, idx, 2, { outputSize: [7] }).tolist()).to.deep.equal([[[0, 5, 0, 4, 3, 0, 0]]]);
      expect(F.maxUnpool1d(y.reshape([1, 3]), idx.reshape([1, 3]), [2], { stride: [2] }).tolist()).to.deep.equal([[0, 5, 0, 4, 3, 0]]);
      const m = new nn.MaxUnpool1d(2);
      expect(m.call(y, idx, [7]).tolist()).to.deep.equal([[[0, 5, 0, 4, 3, 0, 0]]]);
      expect(String(m)).to.match(/^MaxUnpool1d\(kernel_size=2, stride=2, padding=0\)/);
      // Its gradient: the unpooled places' back to the pooled values (finite differences through the pooling's choice).
      tapeCheck('maxUnpool1d', [{ shape: [2, 3, 4] }], ([t]) => F.maxUnpool1d(t, cc.tensor([1, 3, 4, 6], { dtype: 'int32' }).reshape([1, 1, 4]).expand([2, 3, 4]), 2));
      expectError(() => F.maxUnpool1d(y, idx, 2, { outputSize: [9] }), 'E_ARG', /between 5 and 7/);
      expectError(() => F.maxUnpool1d(cc.zeros([3]), idx, 2), 'E_SHAPE', /\[N, C, L\]/);
      expectError(() => F.maxUnpool1d(y, idx.reshape([1, 3]), 2), 'E_SHAPE', /indices/);
      expectError(() => F.maxUnpool1d(y, idx, 0), 'E_ARG', /kernelSize/);
      expectError(() => F.maxUnpool1d(y.int(), idx, 2), 'E_DTYPE');
      expectError(() => new nn.MaxUnpool1d(2, -1), 'E_ARG', /stride/);
    });

    it('maxPool1d of 2 and 3 at stride 2 (the one-row fixed windows): ties to the first, NaN takes over, against a loop', () => {
      // Small integers (many ties) and NaNs, rows long enough for whole vectors and a remainder.
      const L = 203, rows = 6;
      const v = Float32Array.from({ length: rows * L }, (_, i) => ((i * 7919) % 97 === 0 ? NaN : ((i * 2654435761) >>> 0) % 5));
      const x = cc.tensor(v, { shape: [2, 3, L] });
      for (const [k, padding] of [[2, 0], [3, 0], [3, 1], [2, 1]]) {
        const [y, idx] = F.maxPool1d(x, k, { stride: 2, padding, returnIndices: true });
        const plain = F.maxPool1d(x, k, { stride: 2, padding }).dataSync();
        const out = Math.floor((L + 2 * padding - k) / 2) + 1;
        const ys = y.dataSync(), is = idx.dataSync();
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < out; o++) {
            let best = -Infinity, at = -1;
            for (let j = 0; j < k; j++) {
              const c = o * 2 - padding + j;
              if (c < 0 || c >= L) continue;
              const e = v[r * L + c];
              if (at < 0 || e > best || Number.isNaN(e)) { best = e; at = c; }
            }
            const got = ys[r * out + o];
            if (!Object.is(got, best) || is[r * out + o] !== at || !Object.is(plain[r * out + o], best)) {
              expect.fail(`k ${k} padding ${padding}: row ${r} output ${o}: ${got} at ${is[r * out + o]} (without indices ${plain[r * out + o]}), expected ${best} at ${at}`);
            }
          }
        }
      }
    });

    it('channelShuffle: ShuffleNet\'s order, any dtype, its own inverse with C / groups', () => {
      const x = cc.tensor([0, 1, 2, 3, 4, 5], { shape: [1, 6, 1] });
      expect(F.channelShuffle(x, 2).reshape([6]).tolist()).to.deep.equal([0, 3, 1, 4, 2, 5]);
      expect(F.channelShuffle(F.channelShuffle(x, 2), 3).reshape([6]).tolist()).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(F.channelShuffle(i32([0, 1, 2, 3], [1, 4, 1]), 2).dtype).to.equal('int32');
      expect(new nn.ChannelShuffle(3).call(x).reshape([6]).tolist()).to.deep.equal([0, 2, 4, 1, 3, 5]);
      tapeCheck('channelShuffle', [{ shape: [2, 6, 2, 2] }], ([t]) => F.channelShuffle(t, 3));
    });

    it('embedding: lookup, paddingIdx gets no gradient, scaleGradByFreq, maxNorm in place', () => {
      const w = cc.tensor([[1, 2], [3, 4], [5, 6]]);
      w.requiresGrad = true;
      const idx = i32([[0, 1], [1, 2]]);
      const y = F.embedding(idx, w, { paddingIdx: 1 });
      expect(y.tolist()).to.deep.equal([[[1, 2], [3, 4]], [[3, 4], [5, 6]]]);
      y.sum().backward();
      expect(w.grad!.tolist()).to.deep.equal([[1, 1], [0, 0], [1, 1]]);
      w.grad = null;
      F.embedding(i32([2, 2, 0, 2]), w, { scaleGradByFreq: true }).sum().backward();
      expect(w.grad!.tolist()).to.deep.equal([[1, 1], [0, 0], [1, 1]]);
      expect(F.embedding(i32(2, []), w).shape).to.deep.equal([2]);
      const big = cc.tensor([[3, 4], [0.3, 0.4], [6, 8]]);
      F.embedding(i32([0, 1]), big, { maxNorm: 1 });
      expectClose(big.dataSync(), [3 / (5 + 1e-7), 4 / (5 + 1e-7), 0.3, 0.4, 6, 8], 1e-6, 0, 'only the referenced rows above maxNorm');
      // (the true gradient: paddingIdx and scaleGradByFreq change it on purpose)
      tapeCheck('embedding', [{ shape: [5, 3] }], ([t]) => F.embedding(i32([[4, 0, 4], [2, 2, 1]]), t));
    });

    it('layers refuse bad input with typed errors, leaving it intact', () => {
      const x = cc.tensor([[[1, 2, 3, 4]]]);
      const ix = i32([[[1, 2, 3, 4]]]);
      expectError(() => new nn.ZeroPad2d([1, 2] as never), 'E_ARG', /left, right, top, bottom/);
      expectError(() => new nn.ReflectionPad1d(1.5), 'E_ARG');
      expectError(() => new nn.ReflectionPad2d(-1), 'E_ARG', /non-negative/);
      expectError(() => new nn.ConstantPad2d(1, 'a' as never), 'E_ARG');
      expectError(() => new nn.ReflectionPad1d(4).call(x), 'E_SHAPE', /below the size/);
      expectError(() => new nn.ReflectionPad2d(1).call(cc.ones([2, 2])), 'E_SHAPE');
      expectError(() => new nn.ReplicationPad1d(1).call(cc.ones([1, 1, 2, 2])), 'E_SHAPE');
      expectError(() => new nn.ZeroPad2d(1).call(cc.ones([3])), 'E_SHAPE');
      for (const fn of [F.maxPool1d, F.avgPool1d]) {
        expectError(() => fn(ix as never, 2), 'E_DTYPE');
        expectError(() => fn(cc.ones([4]), 2), 'E_SHAPE', /\[N, C, L\]/);
        expectError(() => fn(cc.ones([1, 1, 2, 2]), 2), 'E_SHAPE');
        expectError(() => fn(x, 0), 'E_ARG', /kernelSize/);
        expectError(() => fn(x, [2, 2] as never), 'E_ARG');
        expectError(() => fn(x, 2, { padding: 2 }), 'E_ARG', /half/);
        expectError(() => fn(x, 5), 'E_SHAPE', /too small/);
        expectError(() => fn(x, 2, { stride: -1 }), 'E_ARG');
        expectError(() => fn(x, 2, { dilations: 1 } as never), 'E_ARG', /unknown option/);
      }
      expectError(() => F.avgPool1d(x, 2, { divisorOverride: 2 } as never), 'E_ARG', /unknown option/);
      expectError(() => F.channelShuffle(cc.ones([6, 2]), 3), 'E_SHAPE', /at least 3-D/);
      expectError(() => F.channelShuffle(cc.ones([1, 6, 2]), 4), 'E_SHAPE', /divisible/);
      expectError(() => F.channelShuffle(cc.ones([1, 6, 2]), 0), 'E_ARG');
      const w = cc.ones([3, 2]);
      expectError(() => F.embedding(cc.tensor([0, 1]), w), 'E_DTYPE', /int32 indices/);
      expectError(() => F.embedding(i32([0]), cc.ones([3, 2], 'int32')), 'E_DTYPE');
      expectError(() => F.embedding(i32([0]), cc.ones([3])), 'E_SHAPE');
      expectError(() => F.embedding(i32([0]), w, { paddingIdx: 3 }), 'E_ARG', /paddingIdx/);
      expectError(() => F.embedding(i32([0]), w, { paddingIdx: -4 }), 'E_ARG', /paddingIdx/);
      expectError(() => F.embedding(i32([0]), w, { maxNorm: -1 }), 'E_ARG', /maxNorm/);
      expectError(() => F.embedding(i32([0]), w, { maxNorm: 1, normType: 0 }), 'E_ARG', /normType/);
      expectError(() => F.embedding(i32([0]), w, { sparse: true }), 'E_ARG', /sparse/);
      expectError(() => F.embedding(i32([0]), w, { padding_idx: 0 } as never), 'E_ARG', /unknown option/);
      expectError(() => F.embedding(i32([5]), w).dataSync(), 'E_INDEX');
      expectError(() => new nn.Softmax2d().call(cc.ones([2, 3])), 'E_SHAPE');
      expectError(() => new nn.Softmax2d().call(ix), 'E_DTYPE');
      expect([x.tolist(), ix.tolist(), w.tolist()]).to.deep.equal([[[[1, 2, 3, 4]]], [[[1, 2, 3, 4]]], [[1, 1], [1, 1], [1, 1]]]);
    });
  });

  describe('module classes', () => {
    const x = randomTensor([2, 4, 3, 6], 3, -3, 3).t;

    it('activations: PyTorch\'s constructor arguments, forward = the functional form', () => {
      const pairs: [cc.nn.Module, cc.Tensor][] = [
        [new nn.SELU(), F.selu(x)], [new nn.SELU(true), F.selu(x)], [new nn.CELU(), F.celu(x)], [new nn.CELU(0.5, false), F.celu(x, 0.5)],
        [new nn.CELU({ alpha: 2 }), F.celu(x, 2)], [new nn.Softsign(), F.softsign(x)], [new nn.LogSigmoid(), F.logSigmoid(x)],
        [new nn.Tanhshrink(), F.tanhshrink(x)], [new nn.Softshrink(), F.softshrink(x)], [new nn.Softshrink(1), F.softshrink(x, 1)],
        [new nn.Hardshrink({ lambd: 0.2 }), F.hardshrink(x, 0.2)], [new nn.Threshold(0.1, 20), F.threshold(x, 0.1, 20)],
        [new nn.Threshold(0, -1, true), F.threshold(x, 0, -1)], [new nn.GLU(), F.glu(x)], [new nn.GLU(1), F.glu(x, 1)],
        [new nn.Softmin(1), F.softmin(x, 1)], [new nn.Softmin({ dim: -1 }), F.softmin(x, -1)], [new nn.Softmax2d(), F.softmax(x, 1)],
        [new nn.Softmax2d(), F.softmax(x, -3)],
      ];
      for (const [m, y] of pairs) expectClose(m.call(x).dataSync(), y.dataSync(), 0, 0, m.typeName);
      expectClose(new nn.Softmax2d().call(x.reshape([8, 3, 6])).dataSync(), F.softmax(x.reshape([8, 3, 6]), 0).dataSync(), 0, 0, 'Softmax2d of [C, H, W]');
      expect(new nn.CELU(0.5).toString()).to.match(/^CELU\(alpha=0.5\)/);
      expect(new nn.Threshold(0.1, 20).toString()).to.match(/^Threshold\(threshold=0.1, value=20\)/);
      expect(new nn.Softshrink().toString()).to.match(/^Softshrink\(0.5\)/);
      expect(new nn.GLU().toString()).to.match(/^GLU\(dim=-1\)/);
      expectError(() => new nn.CELU(0), 'E_ARG');
      expectError(() => new nn.Softshrink(-0.5), 'E_ARG');
      expectError(() => new nn.CELU(1, 'yes' as never), 'E_ARG');
      expectError(() => new nn.GLU(0.5), 'E_ARG');
      expectError(() => new nn.Softmin(undefined as never), 'E_ARG');
      expectError(() => new nn.Threshold(NaN, 1), 'E_ARG');
      expectError(() => new nn.SELU({ inplace: true, alpha: 1 } as never), 'E_ARG', /unknown option/);
    });

    it('losses: positional arguments as PyTorch, options, forward = the functional form', () => {
      const a = randomTensor([5, 4], 1).t, b = randomTensor([5, 4], 2).t, y = cc.tensor([1, -1, 1, 1, -1]);
      const t01 = cc.tensor(Float32Array.from({ length: 20 }, (_, i) => i % 3 === 0 ? 1 : 0), { shape: [5, 4] });
      const w = cc.tensor([0.5, 1, 2, 1]);
      const same = (m: cc.nn.Module, args: cc.Tensor[], y0: cc.Tensor) => expectClose(m.call(...args).dataSync(), y0.dataSync(), 0, 0, m.typeName);
      same(new nn.CosineEmbeddingLoss(0.3), [a, b, y], F.cosineEmbeddingLoss(a, b, y, { margin: 0.3 }));
      same(new nn.CosineEmbeddingLoss({ margin: 0.1, reduction: 'none' }), [a, b, y], F.cosineEmbeddingLoss(a, b, y, { margin: 0.1, reduction: 'none' }));
      same(new nn.MarginRankingLoss(0.2, { reduction: 'sum' }), [a, b, t01], F.marginRankingLoss(a, b, t01, { margin: 0.2, reduction: 'sum' }));
      same(new nn.SoftMarginLoss({ reduction: 'none' }), [a, b], F.softMarginLoss(a, b, { reduction: 'none' }));
      same(new nn.MultiLabelSoftMarginLoss(w), [a, t01], F.multilabelSoftMarginLoss(a, t01, { weight: w }));
      same(new nn.MultiLabelSoftMarginLoss({ weight: w, reduction: 'sum' }), [a, t01], F.multilabelSoftMarginLoss(a, t01, { weight: w, reduction: 'sum' }));
      same(new nn.HingeEmbeddingLoss(2), [a.abs(), t01], F.hingeEmbeddingLoss(a.abs(), t01, { margin: 2 }));
      same(new nn.PoissonNLLLoss(false, true, { eps: 1e-3 }), [a.abs(), t01], F.poissonNllLoss(a.abs(), t01, { logInput: false, full: true, eps: 1e-3 }));
      same(new nn.PoissonNLLLoss(), [a, t01], F.poissonNllLoss(a, t01));
      same(new nn.GaussianNLLLoss({ full: true }), [a, b, t01.add(1)], F.gaussianNllLoss(a, b, t01.add(1), { full: true }));
      const labels = i32([[0, 2, -1, 0], [1, -1, 0, 0], [3, 2, 1, 0], [-1, 0, 0, 0], [2, -1, 1, 1]]);
      same(new nn.MultiLabelMarginLoss({ reduction: 'none' }), [a, labels], F.multilabelMarginLoss(a, labels, { reduction: 'none' }));
      // The class weight is a copy kept as the buffer `weight` (stateDict), as PyTorch's _WeightedLoss.
      const m = new nn.MultiLabelSoftMarginLoss(w);
      expect(Object.keys(m.stateDict())).to.deep.equal(['weight']);
      expect(new nn.CosineEmbeddingLoss(0.5).toString()).to.match(/^CosineEmbeddingLoss\(margin=0.5\)/);
      expect(new nn.PoissonNLLLoss(false).config()).to.deep.equal([{ logInput: false }]);
      expectError(() => new nn.CosineEmbeddingLoss(0.5, { margin: 0.5 }), 'E_ARG', /both/);
      expectError(() => new nn.PoissonNLLLoss(true, false, 1e-8 as never), 'E_ARG');
      expectError(() => new nn.GaussianNLLLoss({ size_average: true } as never), 'E_ARG', /unknown option/);
      expectError(() => new nn.SoftMarginLoss({ margin: 1 } as never), 'E_ARG', /unknown option/);
    });

    it('pooling and shuffle modules: PyTorch\'s positional arguments', () => {
      const s = randomTensor([2, 3, 10], 4).t;
      expectClose(new nn.MaxPool1d(3, 2, 1).call(s).dataSync(), F.maxPool1d(s, 3, { stride: 2, padding: 1 }).dataSync(), 0, 0, 'MaxPool1d');
      expectClose(new nn.MaxPool1d(2, null, 0, 2, false, true).call(s).dataSync(), F.maxPool1d(s, 2, { dilation: 2, ceilMode: true }).dataSync(), 0, 0, 'MaxPool1d ceil');
      expectClose(new nn.AvgPool1d(4, 2, 2, false, false).call(s).dataSync(), F.avgPool1d(s, 4, { stride: 2, padding: 2, countIncludePad: false }).dataSync(), 0, 0, 'AvgPool1d');
      expect(new nn.MaxPool1d(3).toString()).to.match(/^MaxPool1d\(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=false\)/);
      expectError(() => new nn.MaxPool1d(3, { returnIndices: true } as never), 'E_ARG', /returnIndices/);
      expectError(() => new nn.MaxPool1d(0), 'E_ARG');
      expectError(() => new nn.AvgPool1d(2, { divisorOverride: 1 } as never), 'E_ARG');
      expectError(() => new nn.ChannelShuffle(0), 'E_ARG');
    });

    it('Embedding: N(0, 1) weight with a zero paddingIdx row that gets no gradient; fromPretrained', () => {
      cc.manualSeed(5);
      const e = new nn.Embedding(200, 50, 3);
      expect(e.paddingIdx).to.equal(3);
      expect(e.weight.shape).to.deep.equal([200, 50]);
      const v = e.weight.dataSync();
      expect(Array.from(v.subarray(150, 200))).to.deep.equal(new Array(50).fill(0));
      const rest = Array.from(v).filter((_, i) => i < 150 || i >= 200);
      const mean = rest.reduce((p, q) => p + q, 0) / rest.length;
      const std = Math.sqrt(rest.reduce((p, q) => p + (q - mean) ** 2, 0) / rest.length);
      expect(Math.abs(mean)).to.be.below(0.05);
      expect(Math.abs(std - 1)).to.be.below(0.05);
      const idx = i32([[3, 0, 3], [7, 3, 0]]);
      const y = e.call(idx);
      expect(y.shape).to.deep.equal([2, 3, 50]);
      expectClose(y.dataSync(), F.embedding(idx, e.weight).dataSync(), 0, 0, 'forward');
      y.mul(randomTensor([2, 3, 50], 9).t).sum().backward();
      const g = e.weight.grad!.dataSync();
      expect(Array.from(g.subarray(150, 200))).to.deep.equal(new Array(50).fill(0));
      expect(Array.from(g.subarray(0, 50)).some((q) => q !== 0)).to.equal(true);
      expect(new nn.Embedding(10, 4, -1).paddingIdx).to.equal(9);
      expect(new nn.Embedding(10, 4, { maxNorm: 1, normType: 1 }).toString()).to.match(/^Embedding\(10, 4, max_norm=1, norm_type=1\)/);
      expect(new nn.Embedding(10, 4, 0).toString()).to.match(/^Embedding\(10, 4, padding_idx=0\)/);
      // fromPretrained: the given tensor itself, frozen by default, the padding row left as it is.
      const table = cc.tensor([[1, 2], [3, 4], [5, 6]]);
      const frozen = nn.Embedding.fromPretrained(table, { paddingIdx: 1 });
      expect([frozen.weight.requiresGrad, frozen.weight.tolist(), frozen.paddingIdx]).to.deep.equal([false, [[1, 2], [3, 4], [5, 6]], 1]);
      expect(frozen.call(i32([1, 2])).tolist()).to.deep.equal([[3, 4], [5, 6]]);
      const trainable = nn.Embedding.fromPretrained(table, false);
      trainable.call(i32([2, 2])).sum().backward();
      expect(trainable.weight.grad!.tolist()).to.deep.equal([[0, 0], [0, 0], [2, 2]]);
      // maxNorm renormalises the module's weight in place.
      const capped = nn.Embedding.fromPretrained(cc.tensor([[3, 4], [0, 1]]), true, null, 1);
      capped.call(i32([0]));
      expectClose(capped.weight.dataSync(), [3 / (5 + 1e-7), 4 / (5 + 1e-7), 0, 1], 1e-6, 0, 'maxNorm');
      expectError(() => new nn.Embedding(3, 2, 3), 'E_ARG', /paddingIdx/);
      expectError(() => new nn.Embedding(0, 2), 'E_ARG');
      expectError(() => new nn.Embedding(3, 2, { sparse: true }), 'E_ARG', /sparse/);
      expectError(() => new nn.Embedding(3, 2, null, null, 2, false, false, 1 as never), 'E_ARG');
      expectError(() => nn.Embedding.fromPretrained(cc.ones([3])), 'E_SHAPE');
      expectError(() => nn.Embedding.fromPretrained(cc.ones([3, 2], 'int32')), 'E_DTYPE');
      expectError(() => nn.Embedding.fromPretrained(table, 'no' as never), 'E_ARG');
      expectError(() => e.call(cc.ones([2])), 'E_DTYPE');
    });

    it('config() rebuilds the same module', () => {
      const w = cc.tensor([1, 2]);
      const modules = [
        new nn.CELU(0.3), new nn.Softshrink(0.2), new nn.Threshold(1, 2), new nn.GLU(0), new nn.Softmin(2), new nn.MaxPool1d(3, 1, 1, 1, false, true),
        new nn.AvgPool1d(2, 1, 1, true, false), new nn.ChannelShuffle(4), new nn.ZeroPad2d([1, 2, 3, 4]), new nn.ConstantPad1d(1, 3),
        new nn.Embedding(5, 2, 1, 2.5, 1, true), new nn.PoissonNLLLoss(false, { eps: 0.1 }), new nn.MultiLabelSoftMarginLoss(w), new nn.HingeEmbeddingLoss(0.5),
      ];
      for (const m of modules) {
        const Ctor = m.constructor as new (...args: unknown[]) => cc.nn.Module;
        const back = new Ctor(...m.config()!);
        expect(back.toString(), m.typeName).to.equal(m.toString());
        expect(JSON.stringify(back.config()), m.typeName).to.equal(JSON.stringify(m.config()));
      }
    });
  });
});

describeCuda('more activations, losses and layers on the GPU', () => {
  it('match the CPU, with gradients', () => {
    const x = randomCpu([3, 4, 6], 21, -3, 3);
    for (const fn of [F.selu, (t: cc.Tensor) => F.celu(t, 0.6), F.softsign, F.logSigmoid, F.tanhshrink, (t: cc.Tensor) => F.softshrink(t, 0.4),
      (t: cc.Tensor) => F.hardshrink(t, 0.4), (t: cc.Tensor) => F.threshold(t, 0.1, 2), (t: cc.Tensor) => F.glu(t, 1), (t: cc.Tensor) => F.softmin(t, 2)]) {
      compareDevices((t) => fn(t), [x], { grads: true, what: fn.name || 'activation' });
    }
    const a = randomCpu([5, 4], 22), b = randomCpu([5, 4], 23), pos = randomCpu([5, 4], 24, 0.2, 2);
    const y = cc.tensor([1, -1, 1, -1, 1]), t01 = randomCpu([5, 4], 25, 0, 1);
    const on = (t: cc.Tensor, like: cc.Tensor) => t.to(like.device);
    for (const reduction of REDUCTIONS) {
      compareDevices((p, q) => F.cosineEmbeddingLoss(p, q, on(y, p), { margin: 0.1, reduction }), [a, b], { grads: true, what: 'cosineEmbeddingLoss' });
      compareDevices((p, q) => F.marginRankingLoss(p, q, on(t01, p), { margin: 0.1, reduction }), [a, b], { grads: true, what: 'marginRankingLoss' });
      compareDevices((p, q) => F.softMarginLoss(p, q, { reduction }), [a, b], { grads: true, what: 'softMarginLoss' });
      compareDevices((p, q) => F.multilabelSoftMarginLoss(p, q, { reduction }), [a, t01], { grads: true, what: 'multilabelSoftMarginLoss' });
      // The target (labels +-1) takes no gradient, as in PyTorch: closed over, not an input.
      compareDevices((p) => F.hingeEmbeddingLoss(p, on(cc.sign(b), p), { reduction }), [pos], { grads: true, what: 'hingeEmbeddingLoss' });
      compareDevices((p, q) => F.poissonNllLoss(p, q, { full: true, reduction }), [a, pos], { grads: true, what: 'poissonNllLoss' });
      compareDevices((p, q, v) => F.gaussianNllLoss(p, q, v, { reduction }), [a, b, pos], { grads: true, what: 'gaussianNllLoss' });
      compareDevices((p) => F.multilabelMarginLoss(p, on(i32([[0, 2, -1, 0], [1, -1, 0, 0], [3, 2, 1, 0], [-1, 0, 0, 0], [2, -1, 1, 1]]), p), { reduction }),
        [a], { grads: true, what: 'multilabelMarginLoss' });
    }
    const s = randomCpu([2, 3, 11], 26);
    compareDevices((t) => F.maxPool1d(t, 3, { stride: 2, padding: 1 }), [s], { grads: true, what: 'maxPool1d' });
    compareDevices((t) => F.avgPool1d(t, 3, { stride: 2, padding: 1, countIncludePad: false }), [s], { grads: true, what: 'avgPool1d' });
    compareDevices((t) => new nn.ReflectionPad1d([2, 3]).call(t), [s], { grads: true, what: 'ReflectionPad1d' });
    compareDevices((t) => F.channelShuffle(t, 3), [s], { grads: true, what: 'channelShuffle' });
    compareDevices((w) => F.embedding(on(i32([[0, 2], [2, 1]]), w), w, { paddingIdx: 1, scaleGradByFreq: true }), [randomCpu([3, 4], 27)], { grads: true, what: 'embedding' });
    const emb = new nn.Embedding(6, 3, 0).to('cuda');
    expect(emb.call(i32([0, 5]).to('cuda')).device).to.equal('cuda');
    expect(sizeOf(emb.weight.shape)).to.equal(18);
  });
});
