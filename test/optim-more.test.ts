import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, loadFixture, settle } from './helpers';

const { optim, nn } = cc;

type Values = { shape: number[]; values: number[] };
type Kwargs = Record<string, unknown>;
type Kind = 'Adamax' | 'NAdam' | 'RAdam' | 'Adadelta' | 'Rprop' | 'ASGD';
interface OptimizerCase {
  type: 'optimizer'; kind: Kind; defaults: Kwargs; group1: Kwargs; initial: Values[];
  steps: { grads: (Values | null)[]; params: Values[]; ax?: Values[] }[];
}
interface ScheduleCase {
  type: 'schedule'; name: string; optimizer: 'SGD' | 'Adam' | 'Adagrad'; optimizerKwargs: Kwargs; scheduler: string;
  kwargs: Kwargs; lrs: number[][]; momenta: number[][]; subs?: [string, Kwargs][]; epochs?: (number | null)[];
}
interface DiracCase { type: 'dirac'; shape: number[]; groups: number; out: Values }
interface EyeCase { type: 'eye'; shape: number[]; out: Values }
interface WeightNormCase {
  type: 'weightNorm'; layer: 'linear' | 'conv'; dim: number | null; state: { weight: Values; bias: Values }; x: Values; r: Values;
  g: Values; v: Values; y: Values; gradG: Values; gradV: Values; gradBias: Values;
}
type Case = OptimizerCase | ScheduleCase | DiracCase | EyeCase | WeightNormCase;

/** PyTorch's snake_case keyword arguments as our camelCase options. */
function camel(kwargs: Kwargs): Kwargs {
  const names: Record<string, string> = {
    weight_decay: 'weightDecay', momentum_decay: 'momentumDecay', step_sizes: 'stepSizes', base_lr: 'baseLr', max_lr: 'maxLr',
    step_size_up: 'stepSizeUp', step_size_down: 'stepSizeDown', cycle_momentum: 'cycleMomentum', base_momentum: 'baseMomentum',
    max_momentum: 'maxMomentum', T_0: 't0', T_mult: 'tMult', eta_min: 'etaMin', total_iters: 'totalIters', lr_lambda: 'lrLambda',
    start_factor: 'startFactor', end_factor: 'endFactor', step_size: 'stepSize', T_max: 'tMax',
  };
  return Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [names[k] ?? k, v]));
}

const make = (v: Values) => cc.tensor(v.values, { shape: v.shape });
const cases = loadFixture<{ cases: Case[] }>('optim_more').cases;

const OPTIMIZERS = { Adamax: optim.Adamax, NAdam: optim.NAdam, RAdam: optim.RAdam, Adadelta: optim.Adadelta, Rprop: optim.Rprop, ASGD: optim.ASGD } as const;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const newOptimizer = (kind: string, params: any, options: Kwargs): cc.optim.Optimizer => new ((OPTIMIZERS as any)[kind] ?? (optim as any)[kind])(params, options);

describe('optim: Adamax, NAdam, RAdam, Adadelta, Rprop and ASGD', () => {
  for (const c of cases.filter((x): x is OptimizerCase => x.type === 'optimizer')) {
    it(`${c.kind} ${JSON.stringify(c.defaults)} + group ${JSON.stringify(c.group1)} matches PyTorch over ${c.steps.length} steps`, () => {
      const params = c.initial.map((v) => make(v).requiresGrad_());
      const opt = newOptimizer(c.kind, [{ params: params.slice(0, 2) }, { params: params.slice(2), ...camel(c.group1) }], camel(c.defaults));
      c.steps.forEach((s, i) => {
        params.forEach((p, k) => { p.grad = s.grads[k] === null ? null : make(s.grads[k]!); });
        opt.step();
        params.forEach((p, k) => expectClose(p.dataSync(), s.params[k].values, 1e-5, 1e-6, `step ${i + 1} param ${k}`));
        if (s.ax) params.forEach((p, k) => expectClose((opt.state.get(p)!.ax as cc.Tensor).dataSync(), s.ax![k].values, 1e-5, 1e-6, `step ${i + 1} ax ${k}`));
      });
      opt.zeroGrad();
      expect(params.every((p) => p.grad === null)).to.equal(true);
      opt.dispose();
      params.forEach((p) => p.dispose());
    });
  }

  it('fills the defaults as PyTorch 1.13', () => {
    const w = cc.zeros([2]).requiresGrad_();
    expect(new optim.Adamax([w]).paramGroups[0]).to.deep.include({ lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(new optim.NAdam([w]).paramGroups[0]).to.deep.include({ lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3 });
    expect(new optim.RAdam([w]).paramGroups[0]).to.deep.include({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(new optim.Adadelta([w]).paramGroups[0]).to.deep.include({ lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0 });
    expect(new optim.Rprop([w]).paramGroups[0]).to.deep.include({ lr: 0.01, etas: [0.5, 1.2], stepSizes: [1e-6, 50] });
    expect(new optim.ASGD([w]).paramGroups[0]).to.deep.include({ lr: 0.01, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0 });
  });

  for (const kind of Object.keys(OPTIMIZERS) as Kind[]) {
    it(`${kind}: a restored state dict continues identically`, () => {
      const run = (opt: cc.optim.Optimizer, w: cc.Tensor, from: number, to: number) => {
        for (let s = from; s < to; s++) {
          w.grad = cc.tensor([Math.sin(s + 1), Math.cos(s) + 0.2, s / 10 - 0.25]);
          opt.step();
        }
      };
      const w1 = cc.tensor([1, 2, 3]).requiresGrad_();
      const opt1 = newOptimizer(kind, [w1], { lr: 0.05 });
      run(opt1, w1, 0, 3);
      const saved = opt1.stateDict();
      expect(saved.paramGroups[0].params).to.deep.equal([0]);
      expect(saved.state[0].step).to.equal(3);
      const w2 = cc.tensor(w1.dataSync()).requiresGrad_();
      const opt2 = newOptimizer(kind, [w2], { lr: 0.5 });
      opt2.loadStateDict(saved);
      expect(opt2.paramGroups[0].lr).to.equal(0.05);
      for (const v of Object.values(saved.state[0])) if (typeof v !== 'number') v.dispose();   // the loaded copies are independent
      run(opt1, w1, 3, 6);
      run(opt2, w2, 3, 6);
      expect(Array.from(w2.dataSync())).to.deep.equal(Array.from(w1.dataSync()));
      opt1.dispose(); opt2.dispose();
    });
  }

  it('keeps its state out of tidy scopes and frees it on dispose()', async () => {
    const w = cc.ones([4, 4]).requiresGrad_();
    const opt = new optim.NAdam([w], { lr: 0.1 });
    await settle();
    const before = cc.memory().tensors;
    cc.tidy(() => {
      cc.sum(cc.square(w)).backward();
      opt.step();
    });
    await settle();
    const m = opt.state.get(w)!.expAvg as cc.Tensor;
    expect(m.isDisposed).to.equal(false);
    expect(cc.memory().tensors).to.equal(before + 3);   // expAvg, expAvgSq and w.grad
    opt.zeroGrad();
    opt.dispose();
    expect(m.isDisposed).to.equal(true);
    await settle();
    expect(cc.memory().tensors).to.equal(before);
  });

  it('updates the parameters in place: the same tensors, new values', () => {
    const w = cc.tensor([1, -2]).requiresGrad_();
    const opt = new optim.Rprop([w], { lr: 0.1 });
    w.grad = cc.tensor([0.5, -0.5]);
    opt.step();
    expect(opt.paramGroups[0].params[0]).to.equal(w);
    expectClose(w.dataSync(), [0.9, -1.9], 1e-6, 1e-7);
  });

  it('refuses bad options with typed errors, leaving the parameters intact', () => {
    const w = cc.tensor([1, 2]).requiresGrad_();
    const all = Object.keys(OPTIMIZERS) as Kind[];
    for (const kind of all) {
      expectError(() => newOptimizer(kind, [w], { lr: -0.1 }), 'E_ARG', /lr/);
      expectError(() => newOptimizer(kind, [w], { lr: NaN }), 'E_ARG', /lr/);
      expectError(() => newOptimizer(kind, [w], { lrr: 0.1 }), 'E_ARG', /unknown option `lrr`/);
      expectError(() => newOptimizer(kind, [{ params: [w], momentun: 1 }], {}), 'E_ARG', /unknown option `momentun`/);
      expectError(() => newOptimizer(kind, [], {}), 'E_ARG', /empty parameter list/);
      expectError(() => newOptimizer(kind, [w, w], {}), 'E_ARG', /more than once/);
    }
    for (const kind of ['Adamax', 'NAdam', 'RAdam'] as const) {
      expectError(() => newOptimizer(kind, [w], { betas: [0.9, 1] }), 'E_ARG', /betas\[1\]/);
      expectError(() => newOptimizer(kind, [w], { betas: [-0.1, 0.9] }), 'E_ARG', /betas\[0\]/);
      expectError(() => newOptimizer(kind, [w], { betas: [0.9] }), 'E_ARG', /betas/);
      expectError(() => newOptimizer(kind, [w], { eps: -1 }), 'E_ARG', /eps/);
      expectError(() => newOptimizer(kind, [w], { weightDecay: -1 }), 'E_ARG', /weightDecay/);
    }
    expectError(() => new optim.NAdam([w], { momentumDecay: -1 }), 'E_ARG', /momentumDecay/);
    expectError(() => new optim.Adadelta([w], { rho: 1.5 }), 'E_ARG', /rho/);
    expectError(() => new optim.Adadelta([w], { rho: -0.5 }), 'E_ARG', /rho/);
    expectError(() => new optim.Rprop([w], { etas: [1.2, 0.5] }), 'E_ARG', /etas\[0\]/);
    expectError(() => new optim.Rprop([w], { etas: [0.5, 1] }), 'E_ARG', /etas\[1\]/);
    expectError(() => new optim.Rprop([w], { etas: 0.5 as never }), 'E_ARG', /etas/);
    expectError(() => new optim.Rprop([w], { stepSizes: [1, 0.1] }), 'E_ARG', /stepSizes/);
    expectError(() => new optim.Rprop([w], { stepSizes: [-1, 0.1] }), 'E_ARG', /stepSizes\[0\]/);
    expectError(() => new optim.ASGD([w], { lambd: -1 }), 'E_ARG', /lambd/);
    expectError(() => new optim.ASGD([w], { weightDecay: -1 }), 'E_ARG', /weightDecay/);
    expectError(() => new optim.Adamax([cc.zeros([2], 'int32')]), 'E_DTYPE');
    // A group broken after construction is caught at the next step, before any parameter moves.
    for (const kind of all) {
      const a = cc.tensor([1, 2]).requiresGrad_(), b = cc.tensor([3, 4]).requiresGrad_();
      const opt = newOptimizer(kind, [{ params: [a] }, { params: [b] }], { lr: 0.1 });
      a.grad = cc.ones([2]); b.grad = cc.ones([2]);
      opt.step();
      const before = [Array.from(a.dataSync()), Array.from(b.dataSync())];
      opt.paramGroups[1].lr = -1;
      expectError(() => opt.step(), 'E_ARG', /lr/);
      expect([Array.from(a.dataSync()), Array.from(b.dataSync())]).to.deep.equal(before);
      opt.paramGroups[1].lr = 0.1;
      if ('betas' in opt.paramGroups[0]) {
        opt.paramGroups[0].betas = [1, 0.9];
        expectError(() => opt.step(), 'E_ARG', /betas\[0\]/);
        expect([Array.from(a.dataSync()), Array.from(b.dataSync())]).to.deep.equal(before);
      }
      opt.dispose();
    }
    expect(Array.from(w.dataSync())).to.deep.equal([1, 2]);
  });
});

describe('optim: CyclicLR, CosineAnnealingWarmRestarts, PolynomialLR, ConstantLR, MultiplicativeLR, SequentialLR, ChainedScheduler', () => {
  const LAMBDAS: Record<string, (t: number) => number> = { const095: () => 0.95, decay: (t) => 1 - 0.01 * t };
  const options = (kwargs: Kwargs): Kwargs => {
    const o = camel(kwargs);
    if (typeof o.lrLambda === 'string') o.lrLambda = LAMBDAS[o.lrLambda];
    return o;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const schedulerOf = (name: string): any => (optim as unknown as Record<string, unknown>)[name];

  for (const c of cases.filter((x): x is ScheduleCase => x.type === 'schedule')) {
    it(`${c.name}: the lr (and momentum) of every step match PyTorch`, () => {
      const [p0, p1] = [cc.zeros([2]).requiresGrad_(), cc.zeros([2]).requiresGrad_()];
      const lr = c.optimizerKwargs.lr as number;
      const opt = newOptimizer(c.optimizer, [{ params: [p0] }, { params: [p1], lr: lr * 0.5 }], camel(c.optimizerKwargs));
      let sched: cc.optim.LRScheduler;
      if (c.subs) {
        const subs = c.subs.map(([name, kwargs]) => new (schedulerOf(name))(opt, options(kwargs)));
        sched = c.scheduler === 'ChainedScheduler' ? new optim.ChainedScheduler(subs) : new (schedulerOf(c.scheduler))(opt, { schedulers: subs, ...options(c.kwargs) });
      } else {
        sched = new (schedulerOf(c.scheduler))(opt, options(c.kwargs));
      }
      const momenta = () => opt.paramGroups.map((g) => (Array.isArray(g.betas) ? g.betas[0] : (g.momentum as number | undefined) ?? 0));
      c.lrs.forEach((expected, step) => {
        if (step > 0) {
          opt.step();
          const epoch = c.epochs?.[step - 1];
          if (epoch === undefined || epoch === null) sched.step();
          else sched.step(epoch);
        }
        expectClose(sched.getLastLr(), expected, 1e-12, 1e-15, `${c.name} lr at step ${step}`);
        expectClose(opt.paramGroups.map((g) => g.lr), expected, 1e-12, 1e-15, `group lr at step ${step}`);
        expectClose(momenta(), c.momenta[step], 1e-12, 1e-15, `${c.name} momentum at step ${step}`);
      });
    });
  }

  it('CyclicLR cycles Adam\'s beta1 (as PyTorch 2; 1.13 refuses) and takes a scaleFn', () => {
    const opt = new optim.Adam([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    const sched = new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1, stepSizeUp: 2 });
    expect(opt.paramGroups[0].betas).to.deep.equal([0.9, 0.999]);
    sched.step();
    expectClose([opt.paramGroups[0].lr, opt.paramGroups[0].betas[0]], [0.55, 0.85], 1e-12, 1e-15);
    const sgd = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    const custom = new optim.CyclicLR(sgd, { baseLr: 0, maxLr: 1, stepSizeUp: 1, scaleFn: (x) => 1 / (x + 1), scaleMode: 'iterations', cycleMomentum: false });
    const lrs = [custom.getLastLr()[0]];
    for (let i = 0; i < 4; i++) { custom.step(); lrs.push(custom.getLastLr()[0]); }
    expectClose(lrs, [0, 0.5, 0, 0.25, 0], 1e-12, 1e-15);
  });

  it('CosineAnnealingWarmRestarts and SequentialLR resume from stateDict()', () => {
    const makeWarm = () => {
      const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
      return { opt, sched: new optim.CosineAnnealingWarmRestarts(opt, { t0: 3, tMult: 2 }) };
    };
    const a = makeWarm();
    for (let i = 0; i < 5; i++) a.sched.step();
    a.sched.step(5.5);
    const b = makeWarm();
    b.sched.loadStateDict(a.sched.stateDict());
    b.opt.loadStateDict(a.opt.stateDict());
    for (let i = 0; i < 7; i++) { a.sched.step(); b.sched.step(); }
    expect(b.sched.getLastLr()).to.deep.equal(a.sched.getLastLr());
    expect(b.sched.tI).to.equal(a.sched.tI);

    const makeSeq = () => {
      const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
      const s1 = new optim.LinearLR(opt, { startFactor: 0.2, totalIters: 3 });
      const s2 = new optim.CosineAnnealingLR(opt, { tMax: 6 });
      return { opt, sched: new optim.SequentialLR(opt, { schedulers: [s1, s2], milestones: [3] }) };
    };
    const c = makeSeq();
    for (let i = 0; i < 4; i++) c.sched.step();
    const d = makeSeq();
    d.sched.loadStateDict(c.sched.stateDict());
    d.opt.loadStateDict(c.opt.stateDict());
    for (let i = 0; i < 4; i++) { c.sched.step(); d.sched.step(); }
    expect(d.sched.getLastLr()).to.deep.equal(c.sched.getLastLr());
  });

  it('step(epoch) jumps through the closed forms of the recursive schedules', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 1 });
    const linear = new optim.LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
    linear.step(2);
    expectClose(linear.getLastLr(), [0.75], 1e-12, 1e-15);
    linear.step();
    expectClose(linear.getLastLr(), [0.875], 1e-12, 1e-15);
    expectError(() => linear.step(-1), 'E_ARG', /epoch/);
    expectError(() => linear.step(1.5), 'E_ARG', /epoch/);
    expect(linear.lastEpoch).to.equal(3);
  });

  it('refuses bad options with typed errors, changing nothing', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
    const other = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    expectError(() => new optim.CyclicLR(opt, { maxLr: 1 } as never), 'E_ARG', /baseLr/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: 0.1 } as never), 'E_ARG', /maxLr/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1, mode: 'triangle' as never }), 'E_ARG', /unknown mode "triangle"/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1, stepSizeUp: 0 }), 'E_ARG', /stepSizeUp/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: [0.1, 0.2], maxLr: 1 }), 'E_ARG', /one per group/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: -0.1, maxLr: 1 }), 'E_ARG', /baseLr/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1, scaleFn: 2 as never }), 'E_ARG', /scaleFn/);
    expectError(() => new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1, scaleFn: () => 1, scaleMode: 'epoch' as never }), 'E_ARG', /scaleMode/);
    expectError(() => new optim.CyclicLR(new optim.Adagrad([cc.zeros([1]).requiresGrad_()]), { baseLr: 0.1, maxLr: 1 }), 'E_ARG', /cycleMomentum/);
    expectError(() => new optim.CosineAnnealingWarmRestarts(opt, { t0: 0 }), 'E_ARG', /t0/);
    expectError(() => new optim.CosineAnnealingWarmRestarts(opt, { t0: 2.5 }), 'E_ARG', /t0/);
    expectError(() => new optim.CosineAnnealingWarmRestarts(opt, { t0: 2, tMult: 1.5 }), 'E_ARG', /tMult/);
    expectError(() => new optim.PolynomialLR(opt, { totalIters: 0 }), 'E_ARG', /totalIters/);
    expectError(() => new optim.PolynomialLR(opt, { power: 'two' as never }), 'E_ARG', /power/);
    expectError(() => new optim.ConstantLR(opt, { factor: 1.5 }), 'E_ARG', /factor/);
    expectError(() => new optim.ConstantLR(opt, { factor: 0 }), 'E_ARG', /factor/);
    expectError(() => new optim.MultiplicativeLR(opt, { lrLambda: 0.9 as never }), 'E_ARG', /lrLambda/);
    expectError(() => new optim.MultiplicativeLR(opt, { lrLambda: [() => 1, () => 1] }), 'E_ARG', /one per group/);
    expect(opt.paramGroups[0]).to.include({ lr: 0.1, momentum: 0.9 });   // nothing changed by the refused ones
    const s1 = new optim.ConstantLR(opt, { factor: 0.5 });
    const s2 = new optim.ExponentialLR(opt, { gamma: 0.9 });
    const s3 = new optim.ExponentialLR(other, { gamma: 0.9 });
    expectError(() => new optim.SequentialLR(opt, { schedulers: [s1, s2], milestones: [] }), 'E_ARG', /one milestone fewer/);
    expectError(() => new optim.SequentialLR(opt, { schedulers: [s1, s3], milestones: [2] }), 'E_ARG', /another optimizer/);
    expectError(() => new optim.SequentialLR(opt, { schedulers: [], milestones: [] }), 'E_ARG', /non-empty/);
    expectError(() => new optim.SequentialLR(opt, { schedulers: [s1, new optim.ReduceLROnPlateau(opt) as never], milestones: [2] }), 'E_ARG', /schedulers\[1\]/);
    expectError(() => new optim.SequentialLR(opt, { schedulers: [s1, s2, s2], milestones: [4, 2] }), 'E_ARG', /increasing/);
    expectError(() => new optim.ChainedScheduler([s1, s3]), 'E_ARG', /another optimizer/);
    expectError(() => new optim.ChainedScheduler([]), 'E_ARG', /non-empty/);
    expectError(() => new optim.ChainedScheduler([s1]).step(3), 'E_ARG', /no epoch/);
    const warm = new optim.CosineAnnealingWarmRestarts(other, { t0: 2 });
    expectError(() => warm.step(-1), 'E_ARG', /non-negative epoch/);
  });

  it('MultiplicativeLR refuses a factor that is not a finite number, and does not take the step', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    const sched = new optim.MultiplicativeLR(opt, { lrLambda: (t) => (t === 2 ? Infinity : 0.5) });
    sched.step();
    expectError(() => sched.step(), 'E_ARG', /lrLambda\(2\) returned Infinity/);
    expect(sched.lastEpoch).to.equal(1);
    expect(sched.getLastLr()).to.deep.equal([0.05]);
    expect(opt.paramGroups[0].lr).to.equal(0.05);
  });
});

describe('nn.init: orthogonal_, sparse_, dirac_, eye_', () => {
  for (const c of cases.filter((x): x is DiracCase => x.type === 'dirac')) {
    it(`dirac_ of ${JSON.stringify(c.shape)}, groups ${c.groups}, matches PyTorch`, () => {
      const t = cc.randn(c.shape);
      expect(nn.init.dirac_(t, c.groups)).to.equal(t);
      expect(Array.from(t.dataSync())).to.deep.equal(c.out.values);
    });
  }
  for (const c of cases.filter((x): x is EyeCase => x.type === 'eye')) {
    it(`eye_ of ${JSON.stringify(c.shape)} matches PyTorch`, () => {
      const t = cc.randn(c.shape);
      expect(nn.init.eye_(t)).to.equal(t);
      expect(Array.from(t.dataSync())).to.deep.equal(c.out.values);
    });
  }

  for (const [shape, gain] of [[[5, 5], 1], [[3, 8], 1], [[8, 3], 2], [[4, 2, 3, 3], 1.5], [[16, 5, 2], Math.SQRT2], [[1, 6], 1], [[6, 1], 0.5]] as [number[], number][]) {
    it(`orthogonal_ of ${JSON.stringify(shape)}, gain ${gain}: orthonormal rows (wide) or columns (tall), times the gain`, () => {
      cc.manualSeed(7);
      const t = cc.zeros(shape).requiresGrad_();
      expect(nn.init.orthogonal_(t, gain)).to.equal(t);
      const rows = shape[0], cols = t.size / rows;
      const w = t.dataSync();
      const at = (r: number, c: number) => w[r * cols + c];
      // W W^T (rows <= cols) or W^T W (rows >= cols) = gain^2 I.
      const k = Math.min(rows, cols), n = Math.max(rows, cols);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let dot = 0;
          for (let l = 0; l < n; l++) dot += rows <= cols ? at(i, l) * at(j, l) : at(l, i) * at(l, j);
          expect(Math.abs(dot - (i === j ? gain * gain : 0)), `(${i}, ${j})`).to.be.below(1e-5 * gain * gain);
        }
      }
      expect(t.grad).to.equal(null);
      expect(t.requiresGrad).to.equal(true);
    });
  }

  it('orthogonal_ draws from the seeded generator and refuses fewer than 2 dimensions', () => {
    cc.manualSeed(3);
    const a = nn.init.orthogonal_(cc.zeros([4, 6])).dataSync();
    cc.manualSeed(3);
    const b = nn.init.orthogonal_(cc.zeros([4, 6])).dataSync();
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    expectError(() => nn.init.orthogonal_(cc.zeros([4])), 'E_SHAPE', /2 or more dimensions/);
    expectError(() => nn.init.orthogonal_(cc.zeros([2, 2]), 'x' as never), 'E_ARG', /gain/);
    expectError(() => nn.init.orthogonal_(cc.zeros([2, 2], 'int32')), 'E_DTYPE');
    expect(nn.init.orthogonal_(cc.zeros([0, 3])).size).to.equal(0);
  });

  it('sparse_ zeroes ceil(sparsity * rows) entries in every column', () => {
    cc.manualSeed(5);
    const t = nn.init.sparse_(cc.zeros([10, 6]), 0.25, 0.5);
    const w = t.dataSync();
    for (let c = 0; c < 6; c++) {
      let zeros = 0;
      for (let r = 0; r < 10; r++) if (w[r * 6 + c] === 0) zeros++;
      expect(zeros, `column ${c}`).to.equal(3);
    }
    expect(Array.from(nn.init.sparse_(cc.ones([3, 2]), 0).dataSync()).every((v) => v !== 0)).to.equal(true);
    expectError(() => nn.init.sparse_(cc.zeros([2, 2, 2]), 0.5), 'E_SHAPE');
    expectError(() => nn.init.sparse_(cc.zeros([2, 2]), 1.5), 'E_ARG', /sparsity/);
    expectError(() => nn.init.sparse_(cc.zeros([2, 2]), 0.5, -1), 'E_ARG', /std/);
  });

  it('dirac_ and eye_ refuse the wrong shapes', () => {
    expectError(() => nn.init.dirac_(cc.zeros([2, 2])), 'E_SHAPE', /3-, 4- or 5-D/);
    expectError(() => nn.init.dirac_(cc.zeros([3, 2, 3, 3]), 2), 'E_SHAPE', /divisible by groups/);
    expectError(() => nn.init.dirac_(cc.zeros([4, 2, 3, 3]), 0), 'E_ARG', /groups/);
    expectError(() => nn.init.eye_(cc.zeros([2, 2, 2])), 'E_SHAPE', /2-D/);
  });
});

describe('nn.utils: parametersToVector, vectorToParameters, weightNorm', () => {
  it('parametersToVector and vectorToParameters round-trip, in place', () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const params = model.parameters();
    const vec = nn.utils.parametersToVector(params);
    expect(vec.shape).to.deep.equal([3 * 4 + 4 + 4 * 2 + 2]);
    const expected = params.flatMap((p) => Array.from(p.dataSync()));
    expect(Array.from(vec.dataSync())).to.deep.equal(expected);
    const doubled = vec.mul(2);
    nn.utils.vectorToParameters(doubled, params);
    expect(model.parameters()).to.deep.equal(params);   // the same tensors
    expect(model.parameters().every((p, i) => p === params[i])).to.equal(true);
    expect(params.flatMap((p) => Array.from(p.dataSync()))).to.deep.equal(expected.map((v) => Math.fround(2 * v)));
    expectError(() => nn.utils.vectorToParameters(cc.zeros([3]), params), 'E_SHAPE', /3 entries/);
    expectError(() => nn.utils.vectorToParameters(cc.zeros([2, 21]), params), 'E_SHAPE', /1-D/);
    expectError(() => nn.utils.vectorToParameters(cc.zeros([42], 'int32'), params), 'E_DTYPE');
    expectError(() => nn.utils.parametersToVector([]), 'E_ARG', /empty/);
    expectError(() => nn.utils.parametersToVector(vec as never), 'E_ARG', /parameters/);
    expect(params.flatMap((p) => Array.from(p.dataSync()))).to.deep.equal(expected.map((v) => Math.fround(2 * v)));   // intact
  });

  it('parametersToVector is differentiable', () => {
    const a = cc.tensor([1, 2]).requiresGrad_(), b = cc.tensor([[3], [4]]).requiresGrad_();
    cc.sum(cc.square(nn.utils.parametersToVector([a, b]))).backward();
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([2, 4]);
    expect(Array.from(b.grad!.dataSync())).to.deep.equal([6, 8]);
  });

  for (const c of cases.filter((x): x is WeightNormCase => x.type === 'weightNorm')) {
    it(`weightNorm of a ${c.layer}, dim ${c.dim}: g, v, forward and gradients match PyTorch`, () => {
      const m: cc.nn.Module = c.layer === 'linear' ? new nn.Linear(5, 4) : new nn.Conv2d(2, 3, 3);
      m.loadStateDict({ weight: make(c.state.weight), bias: make(c.state.bias) });
      const weight = (m as unknown as { weight: cc.nn.Parameter }).weight;
      expect(nn.utils.weightNorm(m, 'weight', c.dim)).to.equal(m);
      expect(m.namedParameters().map(([k]) => k)).to.deep.equal(['bias', 'weight_g', 'weight_v']);
      const state = m.stateDict();
      expect(state.weight_g.shape).to.deep.equal(c.g.shape);
      expectClose(state.weight_g.dataSync(), c.g.values, 1e-6, 1e-7, 'g');
      expectClose(state.weight_v.dataSync(), c.v.values, 0, 0, 'v');
      expect(m.namedParameters().find(([k]) => k === 'weight_v')![1]).to.equal(weight);
      const y = m.call(make(c.x));
      expectClose(y.dataSync(), c.y.values, 1e-5, 1e-6, 'y');
      cc.sum(cc.mul(y, make(c.r))).backward();
      const [g, v] = [m.namedParameters().find(([k]) => k === 'weight_g')![1], weight];
      const bias = m.namedParameters().find(([k]) => k === 'bias')![1];
      expectClose(g.grad!.dataSync(), c.gradG.values, 1e-5, 1e-6, 'grad g');
      expectClose(v.grad!.dataSync(), c.gradV.values, 1e-5, 1e-6, 'grad v');
      expectClose(bias.grad!.dataSync(), c.gradBias.values, 1e-5, 1e-6, 'grad bias');
      // An optimizer step on g and v shows in the next forward's weight.
      const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
      opt.step();
      const before = Array.from((m as unknown as { weight: cc.Tensor }).weight.dataSync());
      m.call(make(c.x));
      expect(Array.from((m as unknown as { weight: cc.Tensor }).weight.dataSync())).to.not.deep.equal(before);
      // removeWeightNorm: `weight` is the same Parameter again, holding g * v / ||v||.
      const w = Array.from((m as unknown as { weight: cc.Tensor }).weight.dataSync());
      expect(nn.utils.removeWeightNorm(m)).to.equal(m);
      expect(m.namedParameters().map(([k]) => k)).to.deep.equal(['bias', 'weight']);
      expect((m as unknown as { weight: cc.Tensor }).weight).to.equal(weight);
      expectClose(weight.dataSync(), w, 1e-6, 1e-7, 'weight after remove');
      expectClose(m.call(make(c.x)).dataSync(), m.call(make(c.x)).dataSync(), 0, 0);
    });
  }

  it('weightNorm refuses what it cannot do', () => {
    const fc = new nn.Linear(3, 2);
    expectError(() => nn.utils.weightNorm(fc, 'weights'), 'E_ARG', /no parameter named "weights"/);
    expectError(() => nn.utils.weightNorm(fc, 'weight', 2), 'E_ARG', /dim/);
    expectError(() => nn.utils.weightNorm({} as never), 'E_ARG', /Module/);
    nn.utils.weightNorm(fc);
    expectError(() => nn.utils.weightNorm(fc), 'E_ARG', /already/);
    expectError(() => nn.utils.removeWeightNorm(fc, 'bias'), 'E_ARG', /not found/);
    nn.utils.removeWeightNorm(fc);
    expectError(() => nn.utils.removeWeightNorm(fc), 'E_ARG', /not found/);
    // Loads PyTorch's keys.
    const a = nn.utils.weightNorm(new nn.Linear(3, 2)), b = nn.utils.weightNorm(new nn.Linear(3, 2));
    b.loadStateDict(a.stateDict());
    const x = cc.randn([4, 3]);
    expectClose(b.call(x).dataSync(), a.call(x).dataSync(), 0, 0);
  });
});
