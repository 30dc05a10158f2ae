import { expect } from 'chai';
import * as cc from '../lib';
import { expectClose, expectError, loadFixture, settle } from './helpers';

const { optim } = cc;

type Values = { shape: number[]; values: number[] };
type Kwargs = Record<string, unknown>;
interface OptimizerCase { type: 'optimizer'; kind: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad'; defaults: Kwargs; group1: Kwargs; initial: Values[]; steps: { grads: (Values | null)[]; params: Values[] }[] }
interface ScheduleCase {
  type: 'schedule'; name: string; optimizer: 'SGD' | 'Adam' | 'AdamW'; optimizerKwargs: Kwargs;
  scheduler: 'StepLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'MultiStepLR' | 'ExponentialLR' | 'LinearLR' | 'LambdaLR';
  kwargs: Kwargs; lrs: number[][]; momenta: number[][];
}
interface ClipCase { type: 'clip'; maxNorm: number; normType: number | 'inf'; grads: (Values | null)[]; norm: number; clipped: (Values | null)[] }
interface PlateauCase { type: 'plateau'; kwargs: Kwargs; metrics: (number | 'nan')[]; lrs: number[][] }
interface ClipValueCase { type: 'clipValue'; clipValue: number; grads: Values[]; clipped: Values[] }
type Case = OptimizerCase | ScheduleCase | ClipCase | PlateauCase | ClipValueCase;

/** PyTorch's snake_case keyword arguments as our camelCase options. */
function camel(kwargs: Kwargs): Kwargs {
  const names: Record<string, string> = { weight_decay: 'weightDecay', step_size: 'stepSize', T_max: 'tMax', eta_min: 'etaMin', max_lr: 'maxLr',
    total_steps: 'totalSteps', pct_start: 'pctStart', anneal_strategy: 'annealStrategy', div_factor: 'divFactor', final_div_factor: 'finalDivFactor',
    three_phase: 'threePhase', cycle_momentum: 'cycleMomentum', base_momentum: 'baseMomentum', max_momentum: 'maxMomentum', epochs: 'epochs',
    steps_per_epoch: 'stepsPerEpoch', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue', start_factor: 'startFactor',
    end_factor: 'endFactor', total_iters: 'totalIters', lr_lambda: 'lrLambda', threshold_mode: 'thresholdMode', min_lr: 'minLr' };
  return Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [names[k] ?? k, v]));
}

const make = (v: Values) => cc.tensor(v.values, { shape: v.shape });
const OPTIMIZERS = { SGD: optim.SGD, Adam: optim.Adam, AdamW: optim.AdamW, RMSprop: optim.RMSprop, Adagrad: optim.Adagrad } as const;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const newOptimizer = (kind: keyof typeof OPTIMIZERS, params: any, options: Kwargs): cc.optim.Optimizer => new (OPTIMIZERS[kind] as any)(params, options);

describe('optim: SGD, Adam, AdamW, RMSprop and Adagrad classes', () => {
  it('a step that cannot update every parameter updates none (a disposed grad left earlier ones stepped)', () => {
    for (const make of [(ps: cc.Tensor[]) => new cc.optim.SGD(ps, { lr: 0.5, momentum: 0.9 }), (ps: cc.Tensor[]) => new cc.optim.Adam(ps, { lr: 0.5 })]) {
      const a = cc.ones([2], { requiresGrad: true }), b = cc.ones([2], { requiresGrad: true });
      const o = make([a, b]);
      a.grad = cc.ones([2]); b.grad = cc.ones([2]);
      o.step();                                   // creates the state
      const before = Array.from(a.dataSync());
      a.grad = cc.ones([2]); b.grad = cc.ones([2]);
      b.grad.dispose();
      expectError(() => o.step(), 'E_DISPOSED', /gradient of group 0, params\[1\] has been disposed/);
      expect(Array.from(a.dataSync())).to.deep.equal(before);
      b.grad = cc.ones([2]);
      const st = o.state.get(b)!;
      const key = Object.keys(st).find((k) => typeof st[k] !== 'number')!;
      (st[key] as cc.Tensor).dispose();
      expectError(() => o.step(), 'E_DISPOSED', /state `.*` of group 0, params\[1\]/);
      expect(Array.from(a.dataSync())).to.deep.equal(before);
      o.dispose(); a.dispose(); b.dispose();
    }
  });

  it('a parameter list lying about its length fails at its first non-tensor (it filled the heap)', () => {
    const p = cc.ones([2], { requiresGrad: true });
    const holes = new Array(2 ** 31);
    holes[0] = p;
    for (const make of [(ps: unknown) => new cc.optim.SGD(ps as cc.Tensor[], { lr: 0.1 }), (ps: unknown) => new cc.optim.Adam(ps as cc.Tensor[]), (ps: unknown) => new cc.optim.AdamW(ps as cc.Tensor[])]) {
      expectError(() => make(holes), 'E_ARG', /params\[1\]/);
      expectError(() => make(new Proxy([1, 2], { get: (t, k) => (k === 'length' ? 2 ** 31 : (t as unknown as Record<PropertyKey, unknown>)[k as string]) })), 'E_ARG', /params\[0\]/);
      expectError(() => make([{ params: holes }]), 'E_ARG', /params\[1\]/);
    }
    expectError(() => cc.optim.clipGradNorm(holes, 1), 'E_ARG', /params\[1\]/);
    p.dispose();
  });

  const cases = loadFixture<{ cases: Case[] }>('optim_classes').cases;

  for (const c of cases.filter((x): x is OptimizerCase => x.type === 'optimizer')) {
    it(`${c.kind} ${JSON.stringify(c.defaults)} + group ${JSON.stringify(c.group1)} matches PyTorch over 6 steps`, () => {
      const params = c.initial.map((v) => make(v).requiresGrad_());
      const opt = newOptimizer(c.kind, [{ params: params.slice(0, 2) }, { params: params.slice(2), ...camel(c.group1) }], camel(c.defaults));
      c.steps.forEach((s, i) => {
        params.forEach((p, k) => { p.grad = s.grads[k] === null ? null : make(s.grads[k]!); });
        opt.step();
        params.forEach((p, k) => expectClose(p.dataSync(), s.params[k].values, 2e-6, 2e-7, `step ${i + 1} param ${k}`));
      });
      opt.zeroGrad();
      expect(params.every((p) => p.grad === null)).to.equal(true);
      opt.dispose();
    });
  }

  it('fills group options from the defaults and checks them', () => {
    const [a, b] = [cc.zeros([2]).requiresGrad_(), cc.zeros([3]).requiresGrad_()];
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5, momentum: 0.9 }], { lr: 0.1, weightDecay: 0.01 });
    expect(opt.paramGroups[0]).to.include({ lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01 });
    expect(opt.paramGroups[1]).to.include({ lr: 0.5, momentum: 0.9, weightDecay: 0.01 });
    const adamw = new optim.AdamW([a]);
    expect(adamw.paramGroups[0]).to.deep.include({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false });
    expect(new optim.Adam([a]).paramGroups[0].weightDecay).to.equal(0);
  });

  it('skips parameters without a gradient and creates no state for them', () => {
    const [a, b] = [cc.ones([2]).requiresGrad_(), cc.ones([2]).requiresGrad_()];
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = cc.tensor([1, -1]);
    opt.step();
    expect(Array.from(b.dataSync())).to.deep.equal([1, 1]);
    expect(opt.state.has(b)).to.equal(false);
    expect(opt.state.get(a)!.step).to.equal(1);
  });

  it('keeps its state out of tidy scopes and frees it on dispose()', async () => {
    const w = cc.ones([4, 4]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    await settle();
    const before = cc.memory().tensors;
    cc.tidy(() => {
      cc.sum(cc.square(w)).backward();
      opt.step();
    });
    await settle();
    const buf = opt.state.get(w)!.momentumBuffer as cc.Tensor;
    expect(buf.isDisposed).to.equal(false);
    expect(cc.memory().tensors).to.equal(before + 2);   // the momentum buffer and w.grad
    opt.zeroGrad();
    opt.dispose();
    expect(buf.isDisposed).to.equal(true);
    await settle();
    expect(cc.memory().tensors).to.equal(before);
  });

  it('step(closure) re-evaluates the loss with grad enabled and returns it', () => {
    const w = cc.tensor([3]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.25 });
    const loss = cc.noGrad(() => opt.step(() => {
      opt.zeroGrad();
      const l = cc.sum(cc.square(w));
      l.backward();
      return l;
    }));
    expect(loss!.item()).to.equal(9);
    expect(w.dataSync()[0]).to.equal(3 - 0.25 * 6);
  });

  it('saves and restores its state: a restored optimizer continues identically', () => {
    const run = (opt: cc.optim.Optimizer, w: cc.Tensor, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        w.grad = cc.tensor([Math.sin(s), Math.cos(s), s / 10]);
        opt.step();
      }
    };
    const w1 = cc.tensor([1, 2, 3]).requiresGrad_();
    const opt1 = new optim.Adam([w1], { lr: 0.1, amsgrad: true });
    run(opt1, w1, 0, 3);
    const saved = opt1.stateDict();
    expect(saved.paramGroups[0].params).to.deep.equal([0]);
    expect(saved.state[0].step).to.equal(3);
    const w2 = cc.tensor(w1.dataSync()).requiresGrad_();
    const opt2 = new optim.Adam([w2], { lr: 0.5 });
    opt2.loadStateDict(saved);
    expect(opt2.paramGroups[0].lr).to.equal(0.1);
    expect(opt2.paramGroups[0].amsgrad).to.equal(true);
    // The copies are independent of the saved tensors.
    for (const v of Object.values(saved.state[0])) if (typeof v !== 'number') v.dispose();
    run(opt1, w1, 3, 6);
    run(opt2, w2, 3, 6);
    expect(Array.from(w2.dataSync())).to.deep.equal(Array.from(w1.dataSync()));
  });

  it('refuses a state dict that does not fit, changing nothing', () => {
    const w = cc.zeros([3]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    w.grad = cc.ones([3]);
    opt.step();
    const good = opt.stateDict();
    expectError(() => opt.loadStateDict({ ...good, paramGroups: [...good.paramGroups, good.paramGroups[0]] }), 'E_ARG', /2 parameter groups/);
    expectError(() => opt.loadStateDict({ ...good, state: { 0: { momentumBuffer: cc.zeros([4]) } } }), 'E_SHAPE', /momentumBuffer/);
    expectError(() => opt.loadStateDict({ ...good, state: { 5: {} } }), 'E_ARG', /does not exist/);
    expectError(() => opt.loadStateDict({ ...good, paramGroups: [{ ...good.paramGroups[0], lr: -1 }] }), 'E_ARG', /lr/);
    expect((opt.state.get(w)!.momentumBuffer as cc.Tensor).isDisposed).to.equal(false);
    expect(opt.paramGroups[0].lr).to.equal(0.1);
  });

  it('refuses bad arguments with typed errors', () => {
    const w = cc.zeros([2]).requiresGrad_();
    expectError(() => new optim.SGD([w], {}), 'E_ARG', /`lr` is required/);
    expectError(() => new optim.SGD([w], { lr: -0.1 }), 'E_ARG', /lr/);
    expectError(() => new optim.SGD([w], { lr: NaN }), 'E_ARG', /lr/);
    expectError(() => new optim.SGD([w], { lr: 0.1, momentum: -1 }), 'E_ARG', /momentum/);
    expectError(() => new optim.SGD([w], { lr: 0.1, nesterov: true }), 'E_ARG', /Nesterov/);
    expectError(() => new optim.SGD([w], { lr: 0.1, momentun: 0.9 } as never), 'E_ARG', /unknown option `momentun`/);
    expectError(() => new optim.SGD([{ params: [w], lrr: 1 }] as never, { lr: 0.1 }), 'E_ARG', /unknown option `lrr`/);
    expectError(() => new optim.Adam([w], { betas: [0.9, 1] }), 'E_ARG', /betas\[1\]/);
    expectError(() => new optim.Adam([w], { betas: [-0.1, 0.9] }), 'E_ARG', /betas\[0\]/);
    expectError(() => new optim.Adam([w], { betas: [0.9] as never }), 'E_ARG', /betas/);
    expectError(() => new optim.AdamW([w], { eps: -1 }), 'E_ARG', /eps/);
    expectError(() => new optim.AdamW([w], { weightDecay: -1 }), 'E_ARG', /weightDecay/);
    expectError(() => new optim.Adam([w], { amsgrad: 1 as never }), 'E_ARG', /amsgrad/);
    expectError(() => new optim.Adam([]), 'E_ARG', /empty parameter list/);
    expectError(() => new optim.Adam(w as never), 'E_ARG', /params/);
    expectError(() => new optim.Adam([w, w]), 'E_ARG', /more than once/);
    expectError(() => new optim.Adam([{ params: [w] }, { params: [w] }]), 'E_ARG', /more than once/);
    expectError(() => new optim.Adam([cc.zeros([2], 'int32')]), 'E_DTYPE');
    expectError(() => new optim.Adam([w.mul(2)]), 'E_ARG', /leaf/);
    expectError(() => new optim.Adam([3] as never), 'E_ARG', /parameter group/);
    expectError(() => new optim.Adam([w, 3] as never), 'E_ARG', /params\[1\]/);
    // A learning rate broken after construction is caught at the next step.
    const opt = new optim.SGD([w], { lr: 0.1 });
    opt.paramGroups[0].lr = -1;
    w.grad = cc.ones([2]);
    expectError(() => opt.step(), 'E_ARG', /lr/);
  });
});

describe('optim: learning-rate schedules', () => {
  const cases = loadFixture<{ cases: Case[] }>('optim_classes').cases;
  const SCHEDULERS = {
    StepLR: optim.StepLR, CosineAnnealingLR: optim.CosineAnnealingLR, OneCycleLR: optim.OneCycleLR, MultiStepLR: optim.MultiStepLR,
    ExponentialLR: optim.ExponentialLR, LinearLR: optim.LinearLR, LambdaLR: optim.LambdaLR,
  } as const;
  // The fixture's LambdaLR functions, by name (the same ones as in optim_classes.py).
  const LAMBDAS: Record<string, (t: number) => number> = { exp095: (t) => 0.95 ** t, warmup5: (t) => Math.min(1, (t + 1) / 5) };
  const options = (c: ScheduleCase): Kwargs => {
    const o = camel(c.kwargs);
    if (typeof o.lrLambda === 'string') o.lrLambda = LAMBDAS[o.lrLambda];
    return o;
  };

  for (const c of cases.filter((x): x is ScheduleCase => x.type === 'schedule')) {
    it(`${c.name}: the lr (and momentum) of every step match PyTorch`, () => {
      const [p0, p1] = [cc.zeros([2]).requiresGrad_(), cc.zeros([2]).requiresGrad_()];
      const lr = c.optimizerKwargs.lr as number;
      const opt = newOptimizer(c.optimizer, [{ params: [p0] }, { params: [p1], lr: lr * 0.5 }], camel(c.optimizerKwargs));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const sched: cc.optim.LRScheduler = new (SCHEDULERS[c.scheduler] as any)(opt, options(c));
      const momenta = () => opt.paramGroups.map((g) => (Array.isArray(g.betas) ? g.betas[0] : (g.momentum as number | undefined) ?? 0));
      c.lrs.forEach((expected, step) => {
        if (step > 0) {
          opt.step();
          sched.step();
        }
        expectClose(sched.getLastLr(), expected, 1e-12, 1e-15, `${c.name} lr at step ${step}`);
        expectClose(opt.paramGroups.map((g) => g.lr), expected, 1e-12, 1e-15, `group lr at step ${step}`);
        expectClose(momenta(), c.momenta[step], 1e-12, 1e-15, `${c.name} momentum at step ${step}`);
      });
    });
  }

  it('OneCycleLR refuses to step past totalSteps, changing nothing', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
    const sched = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) sched.step();
    const last = sched.getLastLr();
    expectError(() => sched.step(), 'E_ARG', /past totalSteps 3/);
    expect(sched.lastEpoch).to.equal(3);
    expect(sched.getLastLr()).to.deep.equal(last);
  });

  it('resumes from stateDict()', () => {
    const make = () => {
      const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
      return { opt, sched: new optim.CosineAnnealingLR(opt, { tMax: 10 }) };
    };
    const a = make();
    for (let i = 0; i < 4; i++) a.sched.step();
    const b = make();
    b.sched.loadStateDict(a.sched.stateDict());
    b.opt.loadStateDict(a.opt.stateDict());
    for (let i = 0; i < 5; i++) { a.sched.step(); b.sched.step(); }
    expect(b.sched.getLastLr()).to.deep.equal(a.sched.getLastLr());
  });

  it('refuses bad options with typed errors', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    expectError(() => new optim.StepLR(opt, {} as never), 'E_ARG', /stepSize/);
    expectError(() => new optim.StepLR(opt, { stepSize: 0 }), 'E_ARG', /stepSize/);
    expectError(() => new optim.StepLR(opt, { stepSize: 2, gama: 0.1 } as never), 'E_ARG', /unknown option `gama`/);
    expectError(() => new optim.StepLR({} as never, { stepSize: 2 }), 'E_ARG', /optimizer/);
    expectError(() => new optim.CosineAnnealingLR(opt, { tMax: 1.5 }), 'E_ARG', /tMax/);
    expectError(() => new optim.OneCycleLR(opt, { totalSteps: 10 } as never), 'E_ARG', /maxLr/);
    expectError(() => new optim.OneCycleLR(opt, { maxLr: 1 }), 'E_ARG', /totalSteps/);
    expectError(() => new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 1.5 }), 'E_ARG', /pctStart/);
    expectError(() => new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 10, annealStrategy: 'exp' as never }), 'E_ARG', /annealStrategy/);
    expectError(() => new optim.OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 10 }), 'E_ARG', /one per group/);
    expectError(() => new optim.MultiStepLR(opt, { milestones: 3 as never }), 'E_ARG', /milestones/);
    expectError(() => new optim.MultiStepLR(opt, { milestones: [2, 0] }), 'E_ARG', /milestones\[1\]/);
    expectError(() => new optim.ExponentialLR(opt, {} as never), 'E_ARG', /gamma/);
    expectError(() => new optim.LinearLR(opt, { startFactor: 0 }), 'E_ARG', /startFactor/);
    expectError(() => new optim.LinearLR(opt, { endFactor: 1.5 }), 'E_ARG', /endFactor/);
    expectError(() => new optim.LinearLR(opt, { totalIters: 0 }), 'E_ARG', /totalIters/);
    expectError(() => new optim.LambdaLR(opt, { lrLambda: 0.5 as never }), 'E_ARG', /lrLambda/);
    expectError(() => new optim.LambdaLR(opt, { lrLambda: [(t: number) => t, (t: number) => t] }), 'E_ARG', /one per group/);
    expectError(() => new optim.ReduceLROnPlateau(opt, { factor: 1 }), 'E_ARG', /factor/);
    expectError(() => new optim.ReduceLROnPlateau(opt, { mode: 'least' as never }), 'E_ARG', /mode/);
    expectError(() => new optim.ReduceLROnPlateau(opt, { thresholdMode: 'ratio' as never }), 'E_ARG', /thresholdMode/);
    expectError(() => new optim.ReduceLROnPlateau(opt, { minLr: [0, 0] }), 'E_ARG', /one per group/);
    expectError(() => new optim.ReduceLROnPlateau(opt, { patience: -1 }), 'E_ARG', /patience/);
    expect(opt.paramGroups[0].lr).to.equal(0.1);   // nothing changed by the refused ones
  });

  it('LambdaLR refuses a factor that is not a finite number, and does not take the step', () => {
    const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 0.1 });
    const sched = new optim.LambdaLR(opt, { lrLambda: (t) => (t === 2 ? NaN : 1 / (t + 1)) });
    sched.step();
    expectError(() => sched.step(), 'E_ARG', /lrLambda\(2\) returned NaN/);
    expect(sched.lastEpoch).to.equal(1);
    expect(sched.getLastLr()).to.deep.equal([0.05]);
  });
});

describe('optim: ReduceLROnPlateau', () => {
  const cases = loadFixture<{ cases: Case[] }>('optim_classes').cases;
  for (const c of cases.filter((x): x is PlateauCase => x.type === 'plateau')) {
    it(`${JSON.stringify(c.kwargs)}: the lrs after each metric match PyTorch`, () => {
      const opt = new optim.SGD([{ params: [cc.zeros([2]).requiresGrad_()] }, { params: [cc.zeros([2]).requiresGrad_()], lr: 0.05 }], { lr: 0.1 });
      const sched = new optim.ReduceLROnPlateau(opt, camel(c.kwargs));
      c.metrics.forEach((m, i) => {
        sched.step(m === 'nan' ? NaN : m);
        expectClose(opt.paramGroups.map((g) => g.lr), c.lrs[i], 1e-12, 1e-15, `lr after metric ${i}`);
        expect(sched.getLastLr()).to.deep.equal(opt.paramGroups.map((g) => g.lr));
      });
    });
  }

  it('takes a one-element tensor, resumes from its state dict, and refuses a metric that is not a number', () => {
    const make = () => {
      const opt = new optim.SGD([cc.zeros([1]).requiresGrad_()], { lr: 1 });
      return { opt, sched: new optim.ReduceLROnPlateau(opt, { patience: 1 }) };
    };
    const a = make();
    for (const m of [3, 2, 2]) a.sched.step(cc.tensor([m]));
    const b = make();
    b.sched.loadStateDict(a.sched.stateDict());
    b.opt.loadStateDict(a.opt.stateDict());
    for (const m of [2, 2, 2, 1]) { a.sched.step(m); b.sched.step(m); }
    expect(b.opt.paramGroups[0].lr).to.equal(a.opt.paramGroups[0].lr);
    expect(b.sched.stateDict()).to.deep.equal(a.sched.stateDict());
    expect(a.opt.paramGroups[0].lr).to.be.closeTo(0.01, 1e-12);
    expectError(() => a.sched.step('1' as never), 'E_ARG', /metric to be a number/);
    expectError(() => b.sched.loadStateDict({ ...a.sched.stateDict(), lastLr: [] }), 'E_ARG', /lastLr/);
  });

  it('steps in fit through callbacks.lrScheduler with the monitored log', async () => {
    cc.manualSeed(3);
    const model = new cc.nn.Linear(2, 1);
    const data = { length: 16, get: (i: number) => ({ x: Float32Array.of(i / 16, 1 - i / 16), y: 0 }) };
    const loss = (out: cc.Tensor) => out.square().mean();
    const opt = new optim.SGD(model.parameters(), { lr: 1e-6 });   // too small to improve: a plateau
    const plateau = new optim.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5, threshold: 0.5 });
    await model.fit(data, { epochs: 3, batchSize: 16, optimizer: opt, loss, metrics: [], validationData: data, verbose: 0,
      callbacks: [cc.callbacks.lrScheduler(plateau)] });
    expect(plateau.lastEpoch).to.equal(3);
    expect(opt.paramGroups[0].lr).to.be.closeTo(1e-6 / 4, 1e-18);   // the first epoch sets the best, the next two reduce
    expectError(() => cc.callbacks.lrScheduler(plateau, { per: 'step' }), 'E_ARG', /per epoch/);
    const noVal = cc.callbacks.lrScheduler(new optim.ReduceLROnPlateau(opt));
    let caught: unknown = null;
    await model.fit(data, { epochs: 1, batchSize: 16, optimizer: opt, loss, metrics: [], verbose: 0, callbacks: [noVal] }).catch((e) => { caught = e; });
    expect((caught as cc.ConvnetError).code).to.equal('E_ARG');
    expect(String(caught)).to.match(/no `valLoss`/);
  });
});

describe('optim: fit makes RMSprop and Adagrad by name', () => {
  for (const name of ['rmsprop', 'adagrad'] as const) {
    it(`optimizer: '${name}' trains a small regression`, async () => {
      cc.manualSeed(5);
      const model = new cc.nn.Linear(2, 1);
      const data = { length: 32, get: (i: number) => ({ x: Float32Array.of(i / 32, 1 - i / 32), y: 0 }) };
      const loss = (out: cc.Tensor) => out.sub(1).square().mean();   // learn to output 1
      const history = await model.fit(data, { epochs: 15, batchSize: 8, optimizer: name, lr: 0.05, loss, metrics: [], verbose: 0 });
      expect(history.loss[14]).to.be.below(history.loss[0] / 4);
    });
  }
});

describe('optim: clipGradValue', () => {
  const cases = loadFixture<{ cases: Case[] }>('optim_classes').cases;
  for (const c of cases.filter((x): x is ClipValueCase => x.type === 'clipValue')) {
    it(`clipValue ${c.clipValue} matches torch.nn.utils.clip_grad_value_`, () => {
      const params = c.grads.map((g) => cc.zeros(g.shape).requiresGrad_());
      params.forEach((p, k) => { p.grad = make(c.grads[k]); });
      optim.clipGradValue(params, c.clipValue);
      params.forEach((p, k) => expect(Array.from(p.grad!.dataSync())).to.deep.equal(Array.from(Float32Array.from(c.clipped[k].values))));
    });
  }

  it('skips parameters without a gradient and refuses bad arguments', () => {
    const [a, b] = [cc.zeros([2]).requiresGrad_(), cc.zeros([2]).requiresGrad_()];
    a.grad = cc.tensor([3, -3]);
    optim.clipGradValue([a, b], 1);
    expect(Array.from(a.grad!.dataSync())).to.deep.equal([1, -1]);
    expect(b.grad).to.equal(null);
    expectError(() => optim.clipGradValue([a], -1), 'E_ARG', /clipValue/);
    expectError(() => optim.clipGradValue([a], NaN), 'E_ARG', /clipValue/);
    expectError(() => optim.clipGradValue(3 as never, 1), 'E_ARG', /params/);
  });
});

describe('optim: clipGradNorm', () => {
  it('a disposed gradient is E_DISPOSED naming clipGradNorm and the parameter (it named the internal op "square")', () => {
    const p = cc.ones([2], { requiresGrad: true }) as cc.Tensor<'float32'>;
    const g = cc.ones([2]) as cc.Tensor<'float32'>;
    p.grad = g;
    g.dispose();
    expectError(() => optim.clipGradNorm([p], 1), 'E_DISPOSED', /^clipGradNorm: the gradient of params\[0\] has been disposed/);
    p.dispose();
  });

  const cases = loadFixture<{ cases: Case[] }>('optim_classes').cases;

  for (const c of cases.filter((x): x is ClipCase => x.type === 'clip')) {
    it(`maxNorm ${c.maxNorm}, normType ${c.normType} matches torch.nn.utils.clip_grad_norm_`, async () => {
      const params = c.grads.map((g, k) => cc.zeros(c.clipped[k]?.shape ?? g?.shape ?? [1]).requiresGrad_());
      params.forEach((p, k) => { p.grad = c.grads[k] === null ? null : make(c.grads[k]!); });
      await settle();
      const before = cc.memory().tensors;
      const norm = optim.clipGradNorm(params, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
      expect(norm.shape).to.deep.equal([]);
      expectClose([norm.item()], [c.norm], 1e-6, 0, 'total norm');
      params.forEach((p, k) => {
        if (c.clipped[k] === null) expect(p.grad).to.equal(null);
        else expectClose(p.grad!.dataSync(), c.clipped[k]!.values, 1e-6, 1e-9, `clipped grad ${k}`);
      });
      await settle();
      expect(cc.memory().tensors).to.equal(before + 1);   // only the returned norm is new
    });
  }

  it('returns 0 when no parameter has a gradient, and refuses bad arguments', () => {
    const w = cc.zeros([2]).requiresGrad_();
    expect(optim.clipGradNorm([w], 1).item()).to.equal(0);
    expectError(() => optim.clipGradNorm([w], -1), 'E_ARG', /maxNorm/);
    expectError(() => optim.clipGradNorm([w], 1, 0), 'E_ARG', /normType/);
    expectError(() => optim.clipGradNorm([w], 1, NaN), 'E_ARG', /normType/);
    expectError(() => optim.clipGradNorm(3 as never, 1), 'E_ARG', /params/);
    expectError(() => optim.clipGradNorm([3] as never, 1), 'E_ARG', /Tensor/);
  });

  it('accepts a single tensor', () => {
    const w = cc.zeros([2]).requiresGrad_();
    w.grad = cc.tensor([3, 4]);
    expectClose([optim.clipGradNorm(w, 1).item()], [5], 1e-7, 0);
    expectClose(w.grad!.dataSync(), [0.6, 0.8], 1e-6, 0);
  });
});
