import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, randomCpu } from './cuda-helpers';
import { native } from '../lib/native';
import { expectBitIdentical, expectClose, expectError, loadFixture, randomTensor, scratchDir, tapeCheck } from './helpers';

const { F, nn } = cc;

type Values = { shape: number[]; values: number[] };
interface NormCase {
  op: 'layerNorm' | 'groupNorm' | 'instanceNorm'; arg: number[] | number | null; eps: number; tol?: number;
  x: Values; dy: Values; y: Values; dx: Values; w?: Values; b?: Values; dw?: Values; db?: Values;
}

const make = (v: Values, requiresGrad = false) => cc.tensor(v.values, { shape: v.shape, requiresGrad });

function apply(c: NormCase, x: cc.Tensor, w: cc.Tensor | null, b: cc.Tensor | null): cc.Tensor {
  if (c.op === 'layerNorm') return F.layerNorm(x, c.arg as number[], { weight: w, bias: b, eps: c.eps });
  if (c.op === 'groupNorm') return F.groupNorm(x, c.arg as number, { weight: w, bias: b, eps: c.eps });
  return F.instanceNorm(x, { weight: w, bias: b, eps: c.eps });
}

describe('F.layerNorm, F.groupNorm, F.instanceNorm', () => {
  const { cases } = loadFixture<{ cases: NormCase[] }>('normalization');

  for (const c of cases) {
    it(`${c.op} ${JSON.stringify(c.arg)} x ${JSON.stringify(c.x.shape)}${c.w ? ' affine' : ''}: values and gradients match PyTorch in float64`, () => {
      const x = make(c.x, true);
      const w = c.w ? make(c.w, true) : null, b = c.b ? make(c.b, true) : null;
      const y = apply(c, x, w, b);
      expect(y.shape).to.deep.equal(c.y.shape);
      // The float32 mean is off by up to half an ulp of the values; over a small spread that
      // is the error of y (the case with mean 1000 and spread 0.01: ulp 6e-5, so ~3e-3).
      const tol = c.tol ?? 1e-5;
      expectClose(y.dataSync(), c.y.values, tol, tol, 'y');
      y.mul(make(c.dy)).sum().backward();
      const dxScale = Math.max(...c.dx.values.map(Math.abs));   // dx grows as 1 / spread, and so does its error
      expectClose(x.grad!.dataSync(), c.dx.values, 1e-4, Math.max(1e-4, tol * dxScale), 'dx');
      if (w && b) {
        expectClose(w.grad!.dataSync(), c.dw!.values, Math.max(1e-5, tol), Math.max(1e-4, 2 * tol), 'dweight');   // sum of dy * y: y's error
        expectClose(b.grad!.dataSync(), c.db!.values, 1e-5, 1e-4, 'dbias');
      }
    });
  }

  it('gradients match finite differences', () => {
    const x = { shape: [2, 4, 3] }, w = { shape: [4] }, b = { shape: [4] };
    tapeCheck('groupNorm', [x, w, b], ([a, g, h]) => F.groupNorm(a, 2, { weight: g, bias: h }));
    tapeCheck('layerNorm', [x, { shape: [4, 3] }], ([a, g]) => F.layerNorm(a, [4, 3], { weight: g }));
    tapeCheck('instanceNorm', [x, w], ([a, g]) => F.instanceNorm(a, { weight: g }));
  });

  it('group and instance norm\'s affine part has the bits of y * weight + bias', () => {
    const x = cc.randn([3, 6, 5, 4]), w = cc.randn([6]), b = cc.randn([6]);
    const y = F.groupNorm(x, 3), per = [1, 6, 1, 1];
    const same = (got: cc.Tensor, want: cc.Tensor, what: string) => expect(Array.from(got.dataSync()), what).to.deep.equal(Array.from(want.dataSync()));
    same(F.groupNorm(x, 3, { weight: w, bias: b }), y.mul(w.reshape(per)).add(b.reshape(per)), 'weight and bias');
    same(F.groupNorm(x, 3, { weight: w }), y.mul(w.reshape(per)), 'weight only');
    same(F.instanceNorm(x, { bias: b }), F.instanceNorm(x).add(b.reshape(per)), 'bias only');
    tapeCheck('groupNorm bias only', [{ shape: [2, 4, 3] }, { shape: [4] }], ([a, h]) => F.groupNorm(a, 2, { bias: h }));
  });

  it('empty batches give empty outputs; NaN stays in its group', () => {
    expect(F.groupNorm(cc.zeros([0, 4, 2, 2]), 2).shape).to.deep.equal([0, 4, 2, 2]);
    expect(F.layerNorm(cc.zeros([0, 8]), 8).shape).to.deep.equal([0, 8]);
    const x = cc.tensor([1, 2, NaN, 4, 5, 6, 7, 9], { shape: [1, 4, 2] });
    const y = Array.from(F.groupNorm(x, 2).dataSync());
    expect(y.slice(0, 4).every(Number.isNaN)).to.equal(true);
    expect(y.slice(4).every(Number.isFinite)).to.equal(true);
  });

  it('refuses bad arguments with typed errors', () => {
    const x = cc.zeros([2, 6, 3, 3]);
    expectError(() => F.groupNorm(x, 4), 'E_SHAPE', /divisible by numGroups \(4\)/);
    expectError(() => F.groupNorm(x, 0), 'E_ARG', /numGroups/);
    expectError(() => F.groupNorm(cc.zeros([6]), 2), 'E_SHAPE', /\[N, C, \.\.\.\]/);
    expectError(() => F.groupNorm(x, 3, { weight: cc.ones([3]) }), 'E_SHAPE', /weight/);
    expectError(() => F.groupNorm(x, 3, { eps: -1 }), 'E_ARG', /eps/);
    expectError(() => F.groupNorm(x, 3, { epsilon: 1 } as never), 'E_ARG', /epsilon/);
    expectError(() => F.groupNorm(cc.zeros([2, 6], 'int32'), 3), 'E_DTYPE');
    expectError(() => F.layerNorm(x, [3, 4]), 'E_SHAPE', /end in the normalized shape \[3, 4\]/);
    expectError(() => F.layerNorm(x, []), 'E_ARG', /normalizedShape/);
    expectError(() => F.layerNorm(x, [3], { bias: cc.zeros([4]) }), 'E_SHAPE', /bias/);
    expectError(() => F.instanceNorm(cc.zeros([2, 3])), 'E_SHAPE', /\[N, C, L\]/);
    expectError(() => F.instanceNorm(cc.zeros([2, 3, 1, 1])), 'E_SHAPE', /more than 1 position/);
  });
});

describe('nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d/2d', () => {
  it('hold PyTorch\'s parameters and compute the functional forms', () => {
    cc.manualSeed(1);
    const x = cc.randn([2, 4, 3, 3]);
    const gn = new nn.GroupNorm(2, 4);
    expect(Object.keys(gn.stateDict())).to.deep.equal(['weight', 'bias']);
    expect(Array.from(gn.weight!.dataSync())).to.deep.equal([1, 1, 1, 1]);
    expectClose(gn.call(x).dataSync(), F.groupNorm(x, 2).dataSync(), 0, 0);
    const ln = new nn.LayerNorm([3, 3], { eps: 1e-3 });
    expect(ln.weight!.shape).to.deep.equal([3, 3]);
    expectClose(ln.call(x).dataSync(), F.layerNorm(x, [3, 3], { eps: 1e-3 }).dataSync(), 0, 0);
    expect(new nn.LayerNorm(9, 1e-5, false).weight).to.equal(null);
    const inorm = new nn.InstanceNorm2d(4);
    expect(inorm.parameters().length).to.equal(0);                 // affine false by default, as PyTorch
    expect(new nn.InstanceNorm2d(4, { affine: true }).parameters().length).to.equal(2);
    expectClose(inorm.call(x).dataSync(), F.instanceNorm(x).dataSync(), 0, 0);
    expect(new nn.InstanceNorm1d(4).call(x.reshape([2, 4, 9])).shape).to.deep.equal([2, 4, 9]);
    expect(String(gn)).to.contain('GroupNorm(2, 4, eps=0.00001, affine=true)');
  });

  it('InstanceNorm with trackRunningStats: the running statistics of PyTorch\'s update in training, used in evaluation', () => {
    const [N, C, L] = [3, 2, 5];
    const batches = [randomTensor([N, C, L], 11, -2, 3), randomTensor([N, C, L], 12, -1, 1)];
    const m = new nn.InstanceNorm1d(C, { momentum: 0.3, trackRunningStats: true, affine: true });
    expect(Object.keys(m.stateDict())).to.deep.equal(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    // float64: r = (1 - m) r + m * mean over samples of each instance's mean (and unbiased variance).
    const rm = [0, 0], rv = [1, 1];
    for (const b of batches) {
      const y = m.call(b.t);
      expectClose(y.dataSync(), F.instanceNorm(b.t).dataSync(), 1e-6, 1e-6, 'training: instance statistics');
      for (let c = 0; c < C; c++) {
        let mean = 0, vari = 0;
        for (let n = 0; n < N; n++) {
          const v = Array.from({ length: L }, (_, l) => b.v[(n * C + c) * L + l]);
          const mu = v.reduce((p, q) => p + q, 0) / L;
          mean += mu / N;
          vari += v.reduce((p, q) => p + (q - mu) ** 2, 0) / (L - 1) / N;
        }
        rm[c] = 0.7 * rm[c] + 0.3 * mean;
        rv[c] = 0.7 * rv[c] + 0.3 * vari;
      }
    }
    expectClose(m.runningMean!.dataSync(), rm, 1e-5, 1e-6, 'running mean');
    expectClose(m.runningVar!.dataSync(), rv, 1e-5, 1e-6, 'running var');
    m.eval();
    const x = batches[0];
    const want = Array.from(x.v, (v, i) => (v - rm[Math.floor(i / L) % C]) / Math.sqrt(rv[Math.floor(i / L) % C] + 1e-5));
    expectClose(m.call(x.t).dataSync(), want, 1e-5, 1e-5, 'evaluation: running statistics');
    expect(m.stateDict().num_batches_tracked.item()).to.equal(0);   // PyTorch's InstanceNorm never counts
    // Without tracking (the default), evaluation keeps the instance statistics; a null momentum never updates.
    const plain = new nn.InstanceNorm1d(C).eval();
    expectClose(plain.call(x.t).dataSync(), F.instanceNorm(x.t).dataSync(), 0, 0, 'untracked');
    const frozen = new nn.InstanceNorm1d(C, { momentum: null, trackRunningStats: true });
    frozen.call(x.t);
    expect(Array.from(frozen.runningMean!.dataSync())).to.deep.equal([0, 0]);
    expect(String(m)).to.contain('InstanceNorm1d(2, eps=0.00001, momentum=0.3, affine=true, track_running_stats=true)');
  });

  it('train a parameter through the module and survive models.save/load', () => {
    const dir = scratchDir('convnet-norm-');
    const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.GroupNorm(2, 4), new nn.ReLU(), new nn.Flatten(), new nn.LayerNorm(16));
    const x = cc.randn([2, 1, 4, 4]);
    model.call(x).sum().backward();
    for (const p of model.parameters()) expect(p.grad, 'every parameter gets a gradient').to.not.equal(null);
    cc.models.save(model, dir);
    const again = cc.models.load(dir);
    expectClose(again.call(x).dataSync(), model.call(x).dataSync(), 0, 0, 'reloaded');
    expect(String(again)).to.contain('LayerNorm([16]');
  });

  it('refuses bad arguments and inputs with typed errors', () => {
    expectError(() => new nn.GroupNorm(3, 4), 'E_ARG', /divisible/);
    expectError(() => new nn.GroupNorm(2, 4, { momentum: 0.1 } as never), 'E_ARG', /momentum/);
    expectError(() => new nn.GroupNorm(2, 4).call(cc.zeros([2, 6, 2, 2])), 'E_SHAPE', /\[N, 4, \.\.\.\]/);
    expectError(() => new nn.InstanceNorm2d(4).call(cc.zeros([2, 4, 3])), 'E_SHAPE', /\[N, 4, H, W\]/);
    expectError(() => new nn.InstanceNorm1d(4, { trackRunningStats: 1 } as never), 'E_ARG', /trackRunningStats/);
    expectError(() => new nn.InstanceNorm2d(4, 1e-5, true as never), 'E_ARG', /momentum/);   // PyTorch's order: eps, momentum, affine, ...
    expectError(() => new nn.InstanceNorm2d(4, { momentum: 2 }), 'E_ARG', /momentum/);
    expectError(() => F.instanceNorm(cc.zeros([2, 4, 3]), { runningMean: cc.zeros([4]) }), 'E_ARG', /both/);
    expectError(() => F.instanceNorm(cc.zeros([2, 4, 3]), { useInputStats: false }), 'E_ARG', /running statistics/);
    expectError(() => F.instanceNorm(cc.zeros([2, 4, 3]), { runningMean: cc.zeros([3]), runningVar: cc.ones([3]) }), 'E_SHAPE', /runningMean/);
    expectError(() => new nn.LayerNorm([4, 0]), 'E_ARG', /normalizedShape\[1\]/);
  });
});

describeCuda('per-sample normalisations on the GPU', () => {
  // At cuDNN batch norm's bound (1e-4, as test/cuda-layers.test.ts measured on the H200).
  it('match the CPU, with gradients', () => {
    const x = randomCpu([3, 6, 5, 4], 21), w = randomCpu([6], 22), b = randomCpu([6], 23);
    compareDevices((t, g, h) => F.groupNorm(t, 3, { weight: g, bias: h }), [x, w, b], { grads: true, bound: 1e-4, what: 'groupNorm' });
    compareDevices((t, g, h) => F.instanceNorm(t, { weight: g, bias: h }), [x, w, b], { grads: true, bound: 1e-4, what: 'instanceNorm' });
    compareDevices((t) => F.layerNorm(t, [5, 4]), [x], { grads: true, bound: 1e-4, what: 'layerNorm' });
  });

  it('InstanceNorm2d with running statistics: the CPU\'s update in training and its normalisation in evaluation', () => {
    const x = randomCpu([3, 6, 5, 4], 24);
    const run = (device: 'cpu' | 'cuda') => {
      const m = new nn.InstanceNorm2d(6, { momentum: 0.3, trackRunningStats: true, affine: true }).to(device);
      m.call(x.to(device));
      const y = m.eval().call(x.to(device));
      return [y, m.runningMean!, m.runningVar!].map((t) => Array.from(t.dataSync()));
    };
    const [cpu, gpu] = [run('cpu'), run('cuda')];
    cpu.forEach((v, i) => expectClose(gpu[i], v, 1e-4, 1e-5, ['y', 'running mean', 'running var'][i]));
  });
});

describe('the native per-sample norms (layer_norm.cc, group_norm.cc)', () => {
  // A float64 reference written plainly: rows of m values, the affine index of value i of row r.
  interface Ref { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array }
  function reference(x: Float64Array, dy: Float64Array, rows: number, m: number, eps: number, affine: number,
    at: (r: number, i: number) => number, w: Float64Array | null, b: Float64Array | null): Ref {
    const y = new Float64Array(x.length), dx = new Float64Array(x.length);
    const dw = new Float64Array(affine), db = new Float64Array(affine);
    for (let r = 0; r < rows; r++) {
      let mean = 0, v = 0;
      for (let i = 0; i < m; i++) mean += x[r * m + i] / m;
      for (let i = 0; i < m; i++) v += (x[r * m + i] - mean) ** 2 / m;
      const rstd = m === 1 ? 0 : 1 / Math.sqrt(v + eps);
      let sg = 0, sgx = 0;
      for (let i = 0; i < m; i++) {
        const k = r * m + i, a = at(r, i), xhat = (x[k] - mean) * rstd, g = dy[k] * (w ? w[a] : 1);
        y[k] = xhat * (w ? w[a] : 1) + (b ? b[a] : 0);
        sg += g;
        sgx += g * xhat;
        dw[a] += dy[k] * xhat;
        db[a] += dy[k];
      }
      for (let i = 0; i < m; i++) {
        const k = r * m + i, g = dy[k] * (w ? w[at(r, i)] : 1), xhat = (x[k] - mean) * rstd;
        dx[k] = rstd * (g - sg / m - xhat * sgx / m);
      }
    }
    return { y, dx, dw, db };
  }

  interface Case { what: string; shape: number[]; affine: number[]; rows: number; m: number; at: (r: number, i: number) => number; run: (x: cc.Tensor, w: cc.Tensor | null, b: cc.Tensor | null) => cc.Tensor }
  const layer = (shape: number[], k: number): Case => {
    const normalized = shape.slice(shape.length - k), m = normalized.reduce((a, b) => a * b, 1);
    return {
      what: `layerNorm ${JSON.stringify(normalized)} of ${JSON.stringify(shape)}`, shape, affine: normalized, m,
      rows: shape.reduce((a, b) => a * b, 1) / m, at: (_r, i) => i,
      run: (x, w, b) => F.layerNorm(x, normalized, { weight: w, bias: b, eps: 1e-5 }),
    };
  };
  const group = (shape: number[], groups: number, instance = false): Case => {
    const C = shape[1], S = shape.slice(2).reduce((a, b) => a * b, 1), cg = C / groups;
    return {
      what: `${instance ? 'instanceNorm' : `groupNorm ${groups}`} of ${JSON.stringify(shape)}`, shape, affine: [C],
      rows: shape[0] * groups, m: cg * S, at: (r, i) => (r % groups) * cg + Math.floor(i / S),
      run: (x, w, b) => (instance ? F.instanceNorm(x, { weight: w, bias: b, eps: 1e-5 }) : F.groupNorm(x, groups, { weight: w, bias: b, eps: 1e-5 })),
    };
  };
  const cases: Case[] = [
    layer([7, 37], 1),                 // short rows, not a multiple of 16 values
    layer([2, 35, 45], 1),             // more rows than a block of 32 (dw, db partials added in order)
    layer([2, 3, 5, 7], 3),
    layer([40, 3000], 1),              // long rows: the column layout of the backward, two row blocks
    layer([3, 20000], 1),              // rows of two 16384-value pieces
    layer([1, 40000], 1),              // fewer rows than threads: the pieces spread over threads
    group([3, 6, 5, 4], 3),
    group([2, 4, 9000], 2),            // rows of 18000 values: pieces
    group([3, 6], 2),                  // [N, C]: no positions
    group([2, 3, 7, 5], 3, true),
  ];

  function runCase(c: Case, withAffine: boolean) {
    const xs = randomTensor(c.shape, 7, -2, 3), dys = randomTensor(c.shape, 8);
    const ws = randomTensor(c.affine, 9), bs = randomTensor(c.affine, 10);
    const x = xs.t.clone(), w = withAffine ? ws.t.clone() : null, b = withAffine ? bs.t.clone() : null;
    for (const t of [x, w, b]) if (t) t.requiresGrad = true;
    const y = c.run(x, w, b);
    y.backward(dys.t);
    const out = { y: y.dataSync(), dx: x.grad!.dataSync(), dw: w ? w.grad!.dataSync() : null, db: b ? b.grad!.dataSync() : null };
    return { out, xs, dys, ws, bs };
  }

  for (const c of cases) {
    for (const withAffine of [true, false]) {
      it(`${c.what}${withAffine ? ' affine' : ''}: y, dx, dweight, dbias match a float64 reference, at any thread count`, () => {
        const before = cc.getNumThreads();
        let one, many;
        try {
          cc.setNumThreads(1);
          one = runCase(c, withAffine);
          cc.setNumThreads(4);
          many = runCase(c, withAffine);
        } finally {
          cc.setNumThreads(before);
        }
        const { out, xs, dys, ws, bs } = one;
        const ref = reference(xs.v, dys.v, c.rows, c.m, 1e-5, ws.v.length, c.at, withAffine ? ws.v : null, withAffine ? bs.v : null);
        expectClose(out.y, ref.y, 1e-5, 1e-5, 'y');
        expectClose(out.dx, ref.dx, 1e-4, 1e-5, 'dx');
        if (withAffine) {
          expectClose(out.dw!, ref.dw, 1e-4, 1e-4, 'dweight');
          expectClose(out.db!, ref.db, 1e-4, 1e-4, 'dbias');
        }
        for (const k of ['y', 'dx', 'dw', 'db'] as const) {
          if (out[k]) expectBitIdentical(many.out[k]!, out[k]!, `${k} at 1 and 4 threads`);
        }
      });
    }
  }

  it('gradients of x, weight and bias match finite differences', () => {
    const x = { shape: [3, 2, 5] };
    tapeCheck('layerNorm weight and bias', [x, { shape: [2, 5] }, { shape: [2, 5] }], ([a, g, h]) => F.layerNorm(a, [2, 5], { weight: g, bias: h }));
    tapeCheck('layerNorm bias only', [x, { shape: [5] }], ([a, h]) => F.layerNorm(a, 5, { bias: h }));
    tapeCheck('layerNorm plain', [x], ([a]) => F.layerNorm(a, [2, 5]));
    tapeCheck('groupNorm weight only', [{ shape: [2, 4, 3] }, { shape: [4] }], ([a, g]) => F.groupNorm(a, 4, { weight: g }));
    tapeCheck('instanceNorm weight and bias', [{ shape: [2, 3, 4] }, { shape: [3] }, { shape: [3] }], ([a, g, h]) => F.instanceNorm(a, { weight: g, bias: h }));
  });

  it('a row of one value normalises to 0 (eps 0 included), its gradient is 0, and NaN propagates', () => {
    const x = cc.tensor([3, -2, NaN, 7], { shape: [4, 1], requiresGrad: true });
    const w = cc.tensor([2], { requiresGrad: true }), b = cc.tensor([0.5], { requiresGrad: true });
    const y = F.layerNorm(x, 1, { weight: w, bias: b, eps: 0 });
    expect(Array.from(y.dataSync())).to.deep.equal([0.5, 0.5, NaN, 0.5]);
    y.backward(cc.tensor([1, 2, 3, 4], { shape: [4, 1] }));
    expect(Array.from(x.grad!.dataSync()).map((v) => (Number.isNaN(v) ? v : Math.abs(v)))).to.deep.equal([0, 0, NaN, 0]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([10]);
    expect(Number.isNaN(w.grad!.dataSync()[0])).to.equal(true);    // the NaN row's xhat
    expect(Array.from(F.groupNorm(cc.tensor([1, 2, 3, 4], { shape: [2, 2] }), 2, { eps: 0 }).dataSync())).to.deep.equal([0, 0, 0, 0]);
    const rows = F.layerNorm(cc.tensor([1, 2, NaN, 4, 5, 6], { shape: [2, 3] }), 3).dataSync();
    expect(Array.from(rows.slice(0, 3)).every(Number.isNaN)).to.equal(true);
    expect(Array.from(rows.slice(3)).every(Number.isFinite)).to.equal(true);
  });

  it('empty inputs give empty outputs and zero affine gradients', () => {
    for (const [x, run] of [
      [cc.zeros([0, 8]), (t: cc.Tensor, w: cc.Tensor, b: cc.Tensor) => F.layerNorm(t, 8, { weight: w, bias: b })],
      [cc.zeros([2, 8, 0]), (t: cc.Tensor, w: cc.Tensor, b: cc.Tensor) => F.groupNorm(t, 4, { weight: w, bias: b })],
      [cc.zeros([0, 8, 3]), (t: cc.Tensor, w: cc.Tensor, b: cc.Tensor) => F.instanceNorm(t, { weight: w, bias: b })],
    ] as const) {
      const w = cc.ones([8], { requiresGrad: true }), b = cc.ones([8], { requiresGrad: true });
      const t = x.clone();
      t.requiresGrad = true;
      const y = run(t, w, b);
      expect(y.shape).to.deep.equal(x.shape);
      y.sum().backward();
      expect(Array.from(w.grad!.dataSync())).to.deep.equal(new Array(8).fill(0));
      expect(Array.from(b.grad!.dataSync())).to.deep.equal(new Array(8).fill(0));
      expect(t.grad!.shape).to.deep.equal(x.shape);
    }
  });

  it('the native entry points refuse bad arguments with typed errors', () => {
    const x = cc.zeros([2, 6, 5]), h = (t: cc.Tensor) => t.handle();
    expectError(() => native.layerNormForward(h(x), 7, null, null, 1e-5), 'E_SHAPE', /`m` >= 1 dividing the 60 elements/);
    expectError(() => native.layerNormForward(h(x), 5, h(cc.zeros([4])), null, 1e-5), 'E_SHAPE', /`weight` of 5 elements/);
    expectError(() => native.layerNormForward(h(x), 5, null, null, -1), 'E_ARG', /eps/);
    expectError(() => native.layerNormForward(h(cc.zeros([2, 5], 'int32')), 5, null, null, 1e-5), 'E_DTYPE');
    expectError(() => native.groupNormForward(h(x), 4, null, null, 1e-5), 'E_SHAPE', /divisible by groups, got 4/);
    expectError(() => native.groupNormForward(h(cc.zeros([6])), 2, null, null, 1e-5), 'E_SHAPE', /\[N, C, \.\.\.\]/);
    expectError(() => native.groupNormForward(h(x), 3, null, h(cc.zeros([3])), 1e-5), 'E_SHAPE', /`bias` of 6 elements/);
    const stats = h(cc.zeros([6]));
    expectError(() => native.groupNormBackward(h(x), h(x), 2, null, stats, stats, false, false), 'E_SHAPE', /`mean` of shape \[4\]/);
    expectError(() => native.groupNormBackward(h(cc.zeros([2, 6, 4])), h(x), 3, null, stats, stats, false, false), 'E_SHAPE', /dy and x/);
    expectError(() => native.layerNormBackward(h(x), h(x), 5, null, h(cc.zeros([3])), h(cc.zeros([12])), true, true), 'E_SHAPE', /`mean` of shape \[12\]/);
  });
});
