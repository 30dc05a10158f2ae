/**
 * nn modules: names, shapes and counts against PyTorch's state dicts (fixture), PyTorch's
 * default initialisation and nn.init, seeding, state dicts, train/eval behaviour, the summary,
 * gradients through modules, memory over a training loop, and every error path.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { expectBitIdentical, expectClose, expectError, loadFixture, settle } from './helpers';

const { nn, F } = cc;
type Module = cc.nn.Module;

interface DictCase { name: string; keys: string[]; shapes: number[][]; dtypes: string[]; parameters: string[]; count: number }
interface BnCase {
  name: string; momentum: number | null; inputs: { shape: number[]; values: number[] }[];
  running_mean: { values: number[] }; running_var: { values: number[] }; num_batches_tracked: number; y_last: { values: number[] };
}
const fixture = loadFixture<{ cases: (DictCase | BnCase)[] }>('nn_modules').cases;
const dictCase = (name: string) => fixture.find((c) => c.name === name) as DictCase;

function lenet(): cc.nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(400, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10),
  );
}

function stats(v: Float32Array): { min: number; max: number; mean: number; variance: number } {
  let min = Infinity, max = -Infinity, s = 0, s2 = 0;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    s += x;
    s2 += x * x;
  }
  const mean = s / v.length;
  return { min, max, mean, variance: s2 / v.length - mean * mean };
}

/** U(-bound, bound): inside the bounds, reaching near them, variance bound^2 / 3. */
function expectUniform(t: cc.Tensor, bound: number, what: string): void {
  const s = stats(t.dataSync() as Float32Array);
  expect(s.min, what).to.be.at.least(-bound);
  expect(s.max, what).to.be.at.most(bound);
  expect(s.max, what).to.be.above(0.9 * bound);
  expect(s.min, what).to.be.below(-0.9 * bound);
  expect(Math.abs(s.mean), what).to.be.below(0.1 * bound);
  expect(s.variance / (bound * bound / 3), what).to.be.within(0.85, 1.15);
}

function expectNormal(t: cc.Tensor, std: number, what: string): void {
  const s = stats(t.dataSync() as Float32Array);
  expect(Math.abs(s.mean), what).to.be.below(0.1 * std);
  expect(Math.sqrt(s.variance) / std, what).to.be.within(0.93, 1.07);
}

describe('nn modules: names, shapes and counts as PyTorch', () => {
  it('a LeNet-like Sequential has PyTorch\'s state-dict keys, shapes, dtypes and parameter count', () => {
    const model = lenet(), ref = dictCase('lenet');
    const state = model.stateDict();
    expect(Object.keys(state)).to.deep.equal(ref.keys);
    expect(Object.values(state).map((t) => t.shape)).to.deep.equal(ref.shapes);
    expect(model.namedParameters().map(([n]) => n)).to.deep.equal(ref.parameters);
    expect(model.parameterCount()).to.equal(ref.count);
    for (const t of Object.values(state)) t.dispose();
    model.dispose();
  });

  it('nested Sequentials, BatchNorm2d buffers (affine / trackRunningStats off), PReLU, ConvTranspose2d, Conv1d, Linear without bias', () => {
    const model = new nn.Sequential(
      new nn.Sequential(new nn.Conv2d(3, 8, 3, { bias: false }), new nn.BatchNorm2d(8), new nn.PReLU({ numParameters: 8 })),
      new nn.ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1, groups: 2 }),
      new nn.BatchNorm2d(4, { affine: false }),
      new nn.BatchNorm2d(4, { trackRunningStats: false }),
      new nn.PReLU(),
      new nn.Conv1d(4, 6, 3),
      new nn.Linear(6, 2, { bias: false }),
    );
    const ref = dictCase('every');
    const state = model.stateDict();
    expect(Object.keys(state)).to.deep.equal(ref.keys);
    expect(Object.values(state).map((t) => t.shape)).to.deep.equal(ref.shapes);
    expect(Object.values(state).map((t) => t.dtype)).to.deep.equal(ref.dtypes);
    expect(model.namedParameters().map(([n]) => n)).to.deep.equal(ref.parameters);
    expect(model.parameterCount()).to.equal(ref.count);
    expect(model.buffers().length).to.equal(ref.keys.filter((k) => /running|num_batches/.test(k)).length);
    expect(model.at(0)).to.be.instanceOf(nn.Sequential);
    expect(model.at(-1)).to.be.instanceOf(nn.Linear);
    expect(model.length).to.equal(7);
    model.dispose();
  });

  it('Sequential from an object names its children by the keys; append; modules and children', () => {
    const m = new nn.Sequential({ features: new nn.Sequential(new nn.Conv2d(1, 2, 3)), classifier: new nn.Linear(2, 3) });
    m.append(new nn.ReLU());
    expect(m.namedParameters().map(([n]) => n)).to.deep.equal(['features.0.weight', 'features.0.bias', 'classifier.weight', 'classifier.bias']);
    expect(m.namedChildren().map(([n]) => n)).to.deep.equal(['features', 'classifier', '2']);
    expect(m.namedModules().map(([n]) => n)).to.deep.equal(['', 'features', 'features.0', 'classifier', '2']);
    m.dispose();
  });

  it('a parameter registered twice (tied weights) is listed once, under its first name', () => {
    const a = new nn.Linear(3, 3);
    class Tied extends nn.Module {
      constructor() {
        super();
        this.registerParameter('alias', a.weight);
        this.registerModule('a', a);
      }
      forward(x: cc.Tensor) { return a.call(x); }
    }
    const tied = new Tied();
    expect(tied.namedParameters().map(([n]) => n)).to.deep.equal(['alias', 'a.bias']);
    expect(tied.parameterCount()).to.equal(12);
    tied.dispose();
  });
});

describe('nn modules: initialisation', () => {
  before(() => cc.manualSeed(1234));

  it('Conv2d, Conv1d, Linear: PyTorch\'s kaiming_uniform(a = sqrt(5)) weights and U(±1/sqrt(fanIn)) biases', () => {
    const conv = new nn.Conv2d(16, 256, 3);              // fanIn 144
    expectUniform(conv.weight, 1 / 12, 'conv2d weight');
    expectUniform(conv.bias!, 1 / 12, 'conv2d bias');
    const grouped = new nn.Conv2d(16, 256, 3, { groups: 4 });   // fanIn 4 * 9 = 36
    expectUniform(grouped.weight, 1 / 6, 'grouped weight');
    const c1 = new nn.Conv1d(10, 400, 5);                 // fanIn 50
    expectUniform(c1.weight, 1 / Math.sqrt(50), 'conv1d weight');
    const fc = new nn.Linear(1000, 64);
    expectUniform(fc.weight, 1 / Math.sqrt(1000), 'linear weight');
    for (const m of [conv, grouped, c1, fc]) m.dispose();
  });

  it('ConvTranspose2d uses PyTorch\'s fan-in of its weight (weight.shape[1] * kh * kw)', () => {
    const up = new nn.ConvTranspose2d(64, 32, 4, { groups: 2 });   // weight [64, 16, 4, 4]: fanIn 256
    expect(up.weight.shape).to.deep.equal([64, 16, 4, 4]);
    expectUniform(up.weight, 1 / 16, 'convTranspose2d weight');
    up.dispose();
  });

  it('BatchNorm2d: weight 1, bias 0, running mean 0, running var 1; PReLU: init', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(Array.from(bn.weight!.dataSync())).to.deep.equal([1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync())).to.deep.equal([0, 0, 0]);
    expect(Array.from(bn.runningMean!.dataSync())).to.deep.equal([0, 0, 0]);
    expect(Array.from(bn.runningVar!.dataSync())).to.deep.equal([1, 1, 1]);
    expect(Array.from(new nn.PReLU({ numParameters: 2, init: 0.1 }).weight.dataSync())).to.deep.equal([Math.fround(0.1), Math.fround(0.1)]);
    bn.dispose();
  });

  it('nn.init: kaiming, xavier, lecun (uniform and normal) with their fan formulas', () => {
    const w = cc.zeros([256, 128, 3, 3]);                  // fanIn 1152, fanOut 2304
    const fanIn = 128 * 9, fanOut = 256 * 9;
    expect(nn.init.calculateFanInAndFanOut(w)).to.deep.equal({ fanIn, fanOut });
    expectUniform(nn.init.kaimingUniform_(w, { nonlinearity: 'relu' }), Math.sqrt(6 / fanIn), 'kaimingUniform relu');
    expectUniform(nn.init.kaimingUniform_(w, { mode: 'fanOut' }), Math.sqrt(6 / fanOut), 'kaimingUniform fanOut');
    expectNormal(nn.init.kaimingNormal_(w, { a: 0.2 }), Math.sqrt(2 / (1 + 0.04)) / Math.sqrt(fanIn), 'kaimingNormal leaky 0.2');
    expectUniform(nn.init.xavierUniform_(w), Math.sqrt(6 / (fanIn + fanOut)), 'xavierUniform');
    expectNormal(nn.init.xavierNormal_(w, 2), 2 * Math.sqrt(2 / (fanIn + fanOut)), 'xavierNormal gain 2');
    expectUniform(nn.init.lecunUniform_(w), Math.sqrt(3 / fanIn), 'lecunUniform');
    expectNormal(nn.init.lecunNormal_(w), Math.sqrt(1 / fanIn), 'lecunNormal');
    expectUniform(nn.init.uniform_(w, -0.5, 0.5), 0.5, 'uniform');
    expectNormal(nn.init.normal_(w, 0, 0.3), 0.3, 'normal');
    expect(new Set(nn.init.constant_(w, 0.5).dataSync()).size).to.equal(1);
    expect(nn.init.zeros_(w).dataSync().every((v) => v === 0)).to.equal(true);
    expect(nn.init.ones_(w).dataSync().every((v) => v === 1)).to.equal(true);
    w.dispose();
  });

  it('calculateGain as PyTorch', () => {
    // kaiming*_'s options are checked like every other options object (null was a TypeError).
    for (const init of [nn.init.kaimingNormal_, nn.init.kaimingUniform_]) {
      const w = cc.zeros([3, 4]);
      expectError(() => init(w, null as never), 'E_ARG', /expected options to be an object, got null/);
      expectError(() => init(w, 'fanOut' as never), 'E_ARG', /expected options to be an object/);
      expectError(() => init(w, { mod: 'fanOut' } as never), 'E_ARG', /unknown option `mod`/);
      w.dispose();
    }

    expect(nn.init.calculateGain('relu')).to.equal(Math.SQRT2);
    expect(nn.init.calculateGain('tanh')).to.equal(5 / 3);
    expect(nn.init.calculateGain('leaky_relu')).to.be.closeTo(Math.sqrt(2 / (1 + 1e-4)), 1e-12);
    expect(nn.init.calculateGain('conv2d')).to.equal(1);
    expect(nn.init.calculateGain('selu')).to.equal(0.75);
  });

  it('init fills in place: the parameter keeps its identity, views and earlier reads see the order', () => {
    const fc = new nn.Linear(4, 3);
    const w = fc.weight, view = w.detach();
    const before = w.clone();                               // queued before the fill: old values
    nn.init.constant_(w, 2);
    expect(fc.weight).to.equal(w);
    expect(Array.from(view.dataSync()).every((v) => v === 2)).to.equal(true);
    expect(Array.from(before.dataSync()).every((v) => v !== 2)).to.equal(true);
    expect(w.requiresGrad).to.equal(true);
    expect(w.isLeaf).to.equal(true);
    fc.dispose();
  });

  it('random and constant fills draw what rand / randn / full would, into the tensor itself (no temporary)', () => {
    const w = cc.zeros([64, 64]);
    cc.manualSeed(3);
    // kaimingUniform_ with fanIn 64 and gain 1 ('linear'): bound sqrt(3) / sqrt(64).
    const bound = Math.sqrt(3) * (1 / Math.sqrt(64));
    const u = cc.rand([64, 64], -0.5, 0.5), n = cc.randn([64, 64], 0, 0.3), k = cc.rand([64, 64], -bound, bound);
    cc.manualSeed(3);
    cc.syncBlocking();
    cc.emptyCache();
    expectBitIdentical(nn.init.uniform_(w, -0.5, 0.5).dataSync(), u.dataSync(), 'uniform_');
    expectBitIdentical(nn.init.normal_(w, 0, 0.3).dataSync(), n.dataSync(), 'normal_');
    expectBitIdentical(nn.init.kaimingUniform_(w, { nonlinearity: 'linear' }).dataSync(), k.dataSync(), 'kaimingUniform_');
    nn.init.constant_(w, 0.25);
    expect(new Set(w.dataSync())).to.deep.equal(new Set([0.25]));
    // A fill that made its values in a new tensor would have left that tensor's block in the cache.
    expect(cc.memory().devices.cpu.cachedBytes, 'no temporary block freed').to.be.below(64 * 64 * 4);
    // Bad targets are typed errors, from the library and from the native layer beneath it.
    const ints = cc.zeros([2], 'int32');
    expectError(() => nn.init.normal_(ints), 'E_DTYPE');
    expectError(() => nn.init.constant_(ints, 1), 'E_DTYPE');
    for (const fill of [() => native.fillInto(ints.handle(), 1), () => native.randomUniformInto(ints.handle(), 0, 1), () => native.randomNormalInto(ints.handle(), 0, 1)]) {
      expectError(fill, 'E_DTYPE');
    }
    const gone = cc.zeros([2]);
    gone.dispose();
    expectError(() => nn.init.normal_(gone), 'E_DISPOSED');
    expectError(() => native.fillInto(w.handle(), 'x' as never), 'E_ARG');
    expectError(() => native.randomNormalInto(w.handle(), 0, undefined as never), 'E_ARG');
    for (const t of [w, u, n, k, ints]) t.dispose();
  });

  it('a fill is seen by a convolution whose weight layout was kept (the weights\' version moves)', () => {
    const x = cc.randn([1, 8, 9, 9]), w = cc.randn([16, 8, 3, 3]);
    const conv = () => Array.from(F.conv2d(x, w, null, { padding: 1 }).dataSync());
    const first = conv();
    expect(conv()).to.deep.equal(first);  // the second call keeps w's layout
    nn.init.kaimingUniform_(w);
    const fresh = Array.from(F.conv2d(x, w.clone(), null, { padding: 1 }).dataSync());
    expect(fresh).to.not.deep.equal(first);
    expect(conv(), 'after kaimingUniform_').to.deep.equal(fresh);
    nn.init.constant_(w, 0.5);
    expect(conv(), 'after constant_').to.deep.equal(Array.from(F.conv2d(x, w.clone(), null, { padding: 1 }).dataSync()));
    x.dispose();
    w.dispose();
  });

  it('the same seed gives the same weights; another seed other weights', () => {
    const build = (seed: number) => {
      cc.manualSeed(seed);
      return lenet();
    };
    const a = build(7), b = build(7), c = build(8);
    a.parameters().forEach((p, i) => expectBitIdentical(p.dataSync(), b.parameters()[i].dataSync(), `param ${i}`));
    expect(Array.from(a.parameters()[0].dataSync())).to.not.deep.equal(Array.from(c.parameters()[0].dataSync()));
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('nn modules: state dicts', () => {
  it('round trip: loadStateDict copies values in place (identity kept), forwards agree, buffers included', () => {
    cc.manualSeed(1);
    const make = () => new nn.Sequential(new nn.Conv2d(1, 3, 3), new nn.BatchNorm2d(3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(12, 2));
    const a = make(), b = make();
    a.call(cc.randn([4, 1, 4, 4]));                          // a's running statistics move
    const params = b.parameters();
    const state = a.stateDict();
    const result = b.loadStateDict(state);
    expect(result).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
    expect(b.parameters()).to.deep.equal(params);
    for (const [k, t] of Object.entries(b.stateDict())) expectBitIdentical(t.dataSync(), state[k].dataSync(), k);
    expect((b.at(1) as cc.nn.BatchNorm2d).numBatchesTracked).to.equal(1);
    a.eval();
    b.eval();
    const x = cc.randn([2, 1, 4, 4]);
    expectBitIdentical(a.call(x).dataSync(), b.call(x).dataSync(), 'forward');
    // stateDict() values are views owned by the caller: disposing them leaves the model intact.
    for (const t of Object.values(state)) t.dispose();
    expect(a.parameters().every((p) => !p.isDisposed)).to.equal(true);
    a.dispose();
    b.dispose();
  });

  it('strict: false loads the matching keys and reports the others', () => {
    const m = new nn.Linear(2, 2);
    const w = cc.ones([2, 2]), extra = cc.zeros([1]);
    const r = m.loadStateDict({ weight: w, extra }, { strict: false });
    expect(r).to.deep.equal({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(Array.from(m.weight.dataSync())).to.deep.equal([1, 1, 1, 1]);
    m.dispose();
  });

  it('errors name the key, and nothing is half-loaded', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1));
    const good = m.stateDict();
    const original = Array.from(m.at(0).parameters()[0].dataSync());
    const changed: Record<string, cc.Tensor> = { ...good, '0.weight': cc.full([3, 2], 9) };
    expectError(() => m.loadStateDict({ ...changed, '1.weight': cc.zeros([2, 3]) }), 'E_SHAPE', /"1\.weight".*\[2, 3\].*\[1, 3\]/);
    expectError(() => m.loadStateDict({ ...changed, '1.bias': cc.zeros([1], 'int32') }), 'E_DTYPE', /"1\.bias"/);
    const { ['1.bias']: _omit, ...missing } = changed;
    expectError(() => m.loadStateDict(missing), 'E_ARG', /missing key\(s\) "1\.bias"/);
    expectError(() => m.loadStateDict({ ...changed, '2.weight': cc.zeros([1]) }), 'E_ARG', /unexpected key\(s\) "2\.weight"/);
    expectError(() => m.loadStateDict({ ...changed, '1.bias': 3 as unknown as cc.Tensor }), 'E_ARG', /"1\.bias" must be a Tensor/);
    const disposed = cc.zeros([1]);
    disposed.dispose();
    expectError(() => m.loadStateDict({ ...changed, '1.bias': disposed }), 'E_DISPOSED', /"1\.bias"/);
    expectError(() => m.loadStateDict(null as unknown as Record<string, cc.Tensor>), 'E_ARG');
    expectError(() => m.loadStateDict(good, { strict: 'yes' as unknown as boolean }), 'E_ARG');
    expect(Array.from(m.at(0).parameters()[0].dataSync())).to.deep.equal(original);
    m.dispose();
  });
});

describe('nn modules: training and evaluation modes', () => {
  it('train()/eval() set `training` on every descendant', () => {
    const m = new nn.Sequential(new nn.Sequential(new nn.Dropout()), new nn.BatchNorm2d(2));
    expect(m.modules().every((x) => x.training)).to.equal(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).to.equal(true);
    m.train();
    expect(m.modules().every((x) => x.training)).to.equal(true);
    m.dispose();
  });

  it('Dropout is active only in training', () => {
    const d = new nn.Dropout({ p: 0.25 }), x = cc.ones([1000]);
    const y = d.call(x).dataSync();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).to.be.within(180, 320);
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).to.equal(true);
    d.eval();
    expect(Array.from(d.call(x).dataSync()).every((v) => v === 1)).to.equal(true);
  });

  for (const momentum of [0.1, null]) {
    it(`BatchNorm2d running statistics after two training steps match PyTorch (momentum ${momentum}); eval uses them`, () => {
      const ref = fixture.find((c) => c.name === `batchnorm momentum ${momentum === null ? 'None' : momentum}`) as BnCase;
      const bn = new nn.BatchNorm2d(3, { momentum });
      let y: cc.Tensor | null = null;
      for (const inp of ref.inputs) y = bn.call(cc.tensor(inp.values, { shape: inp.shape }));
      expectClose(y!.dataSync(), ref.y_last.values, 1e-4, 1e-5, 'y');
      expectClose(bn.runningMean!.dataSync(), ref.running_mean.values, 1e-5, 1e-6, 'running_mean');
      expectClose(bn.runningVar!.dataSync(), ref.running_var.values, 1e-5, 1e-6, 'running_var');
      expect(bn.numBatchesTracked).to.equal(ref.num_batches_tracked);
      expect(bn.stateDict().num_batches_tracked.item()).to.equal(ref.num_batches_tracked);
      bn.eval();
      const x = cc.randn([2, 3, 2, 2]);
      const expected = F.batchNorm(x, bn.runningMean, bn.runningVar, bn.weight, bn.bias, { training: false });
      const before = Array.from(bn.runningMean!.dataSync());
      expectBitIdentical(bn.call(x).dataSync(), expected.dataSync(), 'eval');
      expect(Array.from(bn.runningMean!.dataSync())).to.deep.equal(before);
      expect(bn.numBatchesTracked).to.equal(ref.num_batches_tracked);
      bn.dispose();
    });
  }

  it('BatchNorm2d without running statistics uses batch statistics in evaluation too', () => {
    const bn = new nn.BatchNorm2d(2, { trackRunningStats: false }).eval();
    const x = cc.randn([3, 2, 2, 2], 5, 2);
    const y = bn.call(x);
    expectClose(y.dataSync(), F.batchNorm(x, null, null, bn.weight, bn.bias, { training: true }).dataSync(), 1e-6, 1e-6);
    expect(bn.buffers()).to.deep.equal([]);
  });

  it('MixedPool2d draws lambda only in training', () => {
    const m = new nn.MixedPool2d(2), x = cc.randn([4, 8, 4, 4]);
    const max = F.maxPool2d(x, 2).dataSync(), avg = F.avgPool2d(x, 2).dataSync();
    const y = m.call(x).dataSync();
    // bernoulli: each (n, c) plane is all max or all average
    for (let plane = 0; plane < 32; plane++) {
      const slice = (a: ArrayLike<number>) => Array.from(a).slice(plane * 4, plane * 4 + 4);
      const got = slice(y);
      expect([JSON.stringify(slice(max)), JSON.stringify(slice(avg))]).to.include(JSON.stringify(got));
    }
    m.eval();
    expectClose(m.call(x).dataSync(), Array.from(max, (v, i) => 0.5 * v + 0.5 * avg[i]), 1e-6, 1e-6);
  });
});

describe('nn modules: printing', () => {
  it('toString(): PyTorch\'s print-out with parameter counts', () => {
    const m = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(2), new nn.LeakyReLU({ negativeSlope: 0.2 }),
      new nn.Sequential(new nn.Flatten(), new nn.Linear(8, 3)));
    expect(m.toString()).to.equal([
      'Sequential(',
      '  (0): Conv2d(1, 2, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)   18 params',
      '  (1): BatchNorm2d(2, eps=0.00001, momentum=0.1, affine=true, track_running_stats=true)   4 params',
      '  (2): LeakyReLU(negative_slope=0.2)',
      '  (3): Sequential(',
      '    (0): Flatten(start_dim=1, end_dim=-1)',
      '    (1): Linear(in_features=8, out_features=3, bias=true)   27 params',
      '  )',
      ')',
      'Total parameters: 49 (49 trainable)',
    ].join('\n'));
    m.dispose();
  });

  it('summary(inputShape): output shapes and parameter counts per layer; modes restored; nothing leaked', () => {
    const m = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.Dropout(),
      new nn.Sequential(new nn.Flatten(), new nn.Linear(8, 3)));
    m.at(1).requiresGrad_(false);
    const tensors = cc.memory().tensors;
    const text = m.summary([1, 1, 4, 4]);
    expect(cc.memory().tensors).to.equal(tensors);
    expect(m.training).to.equal(true);
    expect((m.at(1) as cc.nn.BatchNorm2d).numBatchesTracked).to.equal(0);
    expect(text).to.equal([
      'Sequential summary for input [1, 1, 4, 4]',
      '========================================',
      'Layer (type)      Output Shape   Param #',
      '========================================',
      '0 (Conv2d)        [1, 2, 2, 2]        20',
      '1 (BatchNorm2d)   [1, 2, 2, 2]         4',
      '2 (Dropout)       [1, 2, 2, 2]         0',
      '3 (Sequential)    [1, 3]               0',
      '  3.0 (Flatten)   [1, 8]               0',
      '  3.1 (Linear)    [1, 3]              27',
      '========================================',
      'Total params: 51',
      'Trainable params: 47',
      'Non-trainable params: 4',
      'Output: [1, 3]',
    ].join('\n'));
    m.dispose();
  });
});

describe('nn modules: gradients', () => {
  it('gradients through modules equal those of the same functional graph', () => {
    cc.manualSeed(2);
    const conv = new nn.Conv2d(2, 3, 3, { padding: 1 }), fc = new nn.Linear(3 * 2 * 2, 4);
    const model = new nn.Sequential(conv, new nn.PReLU({ numParameters: 3 }), new nn.MaxPool2d(2), new nn.Flatten(), fc);
    const lossFn = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
    const x = cc.randn([5, 2, 4, 4]), y = cc.tensor([0, 1, 2, 3, 0], { dtype: 'int32' });
    lossFn.call(model.call(x), y).backward();
    const leaves = model.parameters().map((p) => p.clone().detach().requiresGrad_());
    const [w1, b1, a, w2, b2] = leaves;
    const h = F.maxPool2d(F.prelu(F.conv2d(x, w1, b1, { padding: 1 }), a), 2).flatten(1);
    F.crossEntropy(F.linear(h, w2, b2), y, { labelSmoothing: 0.1 }).backward();
    model.parameters().forEach((p, i) => expectBitIdentical(p.grad!.dataSync(), leaves[i].grad!.dataSync(), model.namedParameters()[i][0]));
    // Accumulation, zeroGrad, and freezing.
    const g0 = Array.from(conv.weight.grad!.dataSync());
    lossFn.call(model.call(x), y).backward();
    expectClose(conv.weight.grad!.dataSync(), g0.map((v) => 2 * v), 1e-5, 1e-6);
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === null)).to.equal(true);
    conv.requiresGrad_(false);
    lossFn.call(model.call(x), y).backward();
    expect(conv.weight.grad).to.equal(null);
    expect(fc.weight.grad).to.not.equal(null);
    model.dispose();
  });

  it('every loss module gives its functional value', () => {
    const x = cc.randn([4, 3]), p = cc.randn([4, 3]), n = cc.randn([4, 3]), t = cc.tensor([0, 2, 1, 1], { dtype: 'int32' });
    const pairs: [Module, cc.Tensor, cc.Tensor][] = [
      [new nn.CrossEntropyLoss({ weight: cc.tensor([1, 2, 3]) }), new nn.CrossEntropyLoss({ weight: cc.tensor([1, 2, 3]) }).call(x, t), F.crossEntropy(x, t, { weight: cc.tensor([1, 2, 3]) })],
      [new nn.NLLLoss(), new nn.NLLLoss().call(x, t), F.nllLoss(x, t)],
      [new nn.HingeLoss({ p: 2 }), new nn.HingeLoss({ p: 2 }).call(x, t), F.hingeLoss(x, t, { p: 2 })],
      [new nn.MultiMarginLoss(), new nn.MultiMarginLoss().call(x, t), F.multiMarginLoss(x, t)],
      [new nn.ContrastiveLoss({ margin: 2 }), new nn.ContrastiveLoss({ margin: 2 }).call(x, p, t), F.contrastiveLoss(x, p, t, { margin: 2 })],
      [new nn.TripletMarginLoss(), new nn.TripletMarginLoss().call(x, p, n), F.tripletMarginLoss(x, p, n)],
      [new nn.KLDivLoss({ reduction: 'batchmean' }), new nn.KLDivLoss({ reduction: 'batchmean' }).call(F.logSoftmax(x, 1), F.softmax(p, 1)), F.klDiv(F.logSoftmax(x, 1), F.softmax(p, 1), { reduction: 'batchmean' })],
    ];
    for (const [, a, b] of pairs) expect(a.item()).to.equal(b.item());
    const ce = new nn.CrossEntropyLoss({ weight: cc.tensor([1, 2, 3]) });
    expect(Object.keys(ce.stateDict())).to.deep.equal(['weight']);
  });

  it('RoIPool, Maxout, Softmax, LocalResponseNorm, AdaptiveAvgPool2d, AvgPool2d, LPPool2d, ELU, Sigmoid, Tanh modules forward their F op', () => {
    const x = cc.rand([1, 4, 6, 6], 0.1, 1);
    const boxes = cc.tensor([[0, 0, 0, 4, 4]]);
    const same = (a: cc.Tensor, b: cc.Tensor) => expectBitIdentical(a.dataSync(), b.dataSync());
    same(new nn.RoIPool(2, 0.5).call(x, boxes), F.roiPool(x, boxes, 2, 0.5));
    same(new nn.Maxout(2).call(x), F.maxout(x, 2));
    same(new nn.Softmax({ dim: 1 }).call(x), F.softmax(x, 1));
    same(new nn.LogSoftmax(1).call(x), F.logSoftmax(x, 1));
    same(new nn.LocalResponseNorm(3, { k: 2 }).call(x), F.localResponseNorm(x, 3, 1e-4, 0.75, 2));
    same(new nn.AdaptiveAvgPool2d(1).call(x), F.adaptiveAvgPool2d(x, 1));
    same(new nn.AvgPool2d(3, { stride: 1, padding: 1 }).call(x), F.avgPool2d(x, 3, { stride: 1, padding: 1 }));
    same(new nn.LPPool2d(2, 2).call(x), F.lpPool2d(x, 2, 2));
    same(new nn.ELU({ alpha: 0.5 }).call(x), F.elu(x, 0.5));
    same(new nn.Sigmoid().call(x), F.sigmoid(x));
    same(new nn.Tanh().call(x), F.tanh(x));
  });
});

describe('nn modules: memory', () => {
  it('memory stays flat over 500 training steps of a small CNN with manual sgdStep updates', async () => {
    cc.manualSeed(3);
    const model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Dropout({ p: 0.2 }), new nn.Flatten(), new nn.Linear(4 * 4 * 4, 3));
    const lossFn = new nn.CrossEntropyLoss();
    const x = cc.randn([8, 1, 8, 8]), y = cc.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int32' });
    let first = 0, last = 0;
    const counts: number[] = [];
    for (let step = 0; step < 500; step++) {
      const loss = cc.tidy(() => {
        const l = lossFn.call(model.call(x), y);
        l.backward();
        return l;
      });
      cc.noGrad(() => {
        for (const p of model.parameters()) cc.optim.sgdStep(p, p.grad!, null, { lr: 0.05 });
      });
      model.zeroGrad();
      if (step === 0) first = loss.item();
      if (step === 499) last = loss.item();
      loss.dispose();
      if (step === 49 || step === 499) {
        await settle();  // tensors earlier tests dropped must not be collected between the two counts
        counts.push(cc.memory().tensors, cc.memory().bytes);
      }
    }
    expect(counts[2]).to.equal(counts[0]);
    expect(counts[3]).to.equal(counts[1]);
    expect(last).to.be.below(first);
    model.dispose();
    lossFn.dispose();
  });

  it('dispose() frees every parameter, buffer and gradient; a model built inside tidy survives it', () => {
    const before = cc.memory().tensors;
    const m = cc.tidy(() => new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2)));
    expect(m.parameters().every((p) => !p.isDisposed)).to.equal(true);
    cc.tidy(() => { m.call(cc.randn([2, 1, 4, 4])).sum().backward(); });
    expect(m.parameters().every((p) => p.grad !== null)).to.equal(true);
    m.dispose();
    expect(cc.memory().tensors).to.equal(before);
  });
});

describe('nn modules: errors', () => {
  it('Parameter and registration', () => {
    expectError(() => new nn.Parameter(cc.zeros([2], 'int32')), 'E_DTYPE');
    expectError(() => new nn.Parameter(3 as unknown as cc.Tensor), 'E_ARG');
    class M extends nn.Module {
      forward(x: cc.Tensor) { return x; }
    }
    const m = new M();
    m.registerParameter('w', new nn.Parameter(cc.zeros([1])));
    expectError(() => m.registerParameter('w', null), 'E_ARG', /already registered/);
    expectError(() => m.registerBuffer('w', cc.zeros([1])), 'E_ARG', /already registered/);
    expectError(() => m.registerParameter('a.b', null), 'E_ARG', /no dots/);
    expectError(() => m.registerParameter('t', cc.zeros([1]) as unknown as cc.nn.Parameter), 'E_ARG', /Parameter/);
    expectError(() => m.registerModule('sub', {} as Module), 'E_ARG', /Module/);
    expectError(() => m.registerBuffer('b', 5 as unknown as cc.Tensor), 'E_ARG');
  });

  it('registerModule refuses a cycle (traversals overflowed the stack), and call() without forward() is E_ARG', () => {
    const s = new nn.Sequential();
    expectError(() => s.registerModule('self', s), 'E_ARG', /cycle.*itself/);
    const a = new nn.Sequential(), b = new nn.Sequential();
    a.registerModule('b', b);
    expectError(() => b.registerModule('a', a), 'E_ARG', /cycle.*already inside/);
    const c = new nn.Sequential();
    b.registerModule('c', c);
    expectError(() => c.registerModule('a', a), 'E_ARG', /cycle/);
    expect(a.modules().length).to.equal(3);
    // The same module in two places is not a cycle (shared, as PyTorch allows).
    const shared = new nn.ReLU();
    a.registerModule('r1', shared);
    b.registerModule('r2', shared);
    // What plain JavaScript allows (TypeScript refuses a class without forward at compile time).
    const NoForward = class NoForward extends (nn.Module as unknown as new () => object) {} as unknown as new () => cc.nn.Module;
    expectError(() => new NoForward().call(cc.ones([1])), 'E_ARG', /NoForward\.call: the class has no forward\(\)/);
  });

  it('layer constructors check their arguments', () => {
    expectError(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), 'E_ARG', /groups/);
    expectError(() => new nn.Conv2d(0, 4, 3), 'E_ARG');
    expectError(() => new nn.Conv2d(3, 4, [3] as unknown as number), 'E_ARG', /kernelSize/);
    expectError(() => new nn.Conv2d(3, 4, 3, { bais: false } as unknown as object), 'E_ARG', /unknown option `bais`/);
    expectError(() => new nn.Linear(3, 4, { bias: 1 as unknown as boolean }), 'E_ARG');
    expectError(() => new nn.ConvTranspose2d(3, 4, 3, { groups: 2 }), 'E_ARG');
    expectError(() => new nn.Dropout({ p: 1.5 }), 'E_ARG');
    expectError(() => new nn.BatchNorm2d(3, { momentum: 2 }), 'E_ARG');
    expectError(() => new nn.PReLU({ numParameters: 0 }), 'E_ARG');
    expectError(() => new nn.MaxPool2d(0), 'E_ARG');
    expectError(() => new nn.Softmax({ dim: 1.5 }), 'E_ARG');
    expectError(() => new nn.Sequential(3 as unknown as Module), 'E_ARG');
    expectError(() => new nn.Sequential(new nn.ReLU()).at(1), 'E_INDEX');
  });

  it('forward checks come from the F ops and the modules', () => {
    expectError(() => new nn.Conv2d(3, 4, 3).call(cc.zeros([1, 2, 5, 5])), 'E_SHAPE');
    expectError(() => new nn.BatchNorm2d(3).call(cc.zeros([2, 4, 2, 2])), 'E_SHAPE', /3 channels/);
    expectError(() => new nn.BatchNorm2d(3).call(cc.zeros([2, 3])), 'E_SHAPE');
    expectError(() => new nn.BatchNorm2d(3).call(cc.zeros([2, 3, 1, 1], 'int32')), 'E_DTYPE');
    // One value per channel cannot give batch statistics; the rejected call counts nothing.
    const bn = new nn.BatchNorm2d(3);
    expectError(() => bn.call(cc.zeros([1, 3, 1, 1])), 'E_SHAPE', /more than 1 value per channel/);
    expect(bn.numBatchesTracked).to.equal(0);
    expect(bn.stateDict().num_batches_tracked.item()).to.equal(0);
    expectError(() => new nn.Linear(3, 2).call(cc.zeros([2, 4])), 'E_SHAPE');
  });

  it('summary and init', () => {
    expectError(() => new nn.Linear(3, 2).summary([0, 3]), 'E_SHAPE');
    expectError(() => new nn.Linear(3, 2).summary('x' as unknown as number[]), 'E_SHAPE');
    expectError(() => new nn.Linear(3, 2).summary([1, 4]), 'E_SHAPE');
    expectError(() => nn.init.uniform_(cc.zeros([2], 'int32')), 'E_DTYPE');
    expectError(() => nn.init.kaimingUniform_(cc.zeros([5])), 'E_SHAPE', /at least 2 dimensions/);
    expectError(() => nn.init.kaimingUniform_(cc.zeros([2, 2]), { mode: 'in' as 'fanIn' }), 'E_ARG');
    expectError(() => nn.init.calculateGain('swish' as 'relu'), 'E_ARG');
    expectError(() => nn.init.uniform_(cc.zeros([2]), 1, 0), 'E_ARG');
    expectError(() => nn.init.normal_(cc.zeros([2]), 0, -1), 'E_ARG');
    expectError(() => nn.init.xavierUniform_(cc.zeros([0, 0])), 'E_SHAPE');
  });

  it('the native copyInto entry point checks shapes and dtypes', () => {
    const a = cc.zeros([2]);
    expectError(() => native.copyInto(a.handle(), cc.zeros([3]).handle()), 'E_SHAPE');
    expectError(() => native.copyInto(a.handle(), cc.zeros([2], 'int32').handle()), 'E_DTYPE');
  });
});

describe('nn.Module: forward hooks and apply', () => {
  it('a forward hook sees inputs and output, can replace the output, and is removed by its handle', () => {
    const { nn } = cc;
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const seen: number[][] = [];
    const fc1 = model.children()[0];
    const h = fc1.registerForwardHook((m, inputs, out) => { seen.push([...(inputs[0] as cc.Tensor).shape, ...out.shape]); });
    const x = cc.randn([5, 3]);
    const y = model.call(x);
    expect(seen).to.deep.equal([[5, 3, 5, 4]]);
    const zero = model.children()[2].registerForwardHook((m, i, out) => out.mul(0));
    expect(Array.from(model.call(x).dataSync()).every((v) => v === 0)).to.equal(true);
    zero.remove();
    expect(Array.from(model.call(x).dataSync())).to.deep.equal(Array.from(y.dataSync()));
    h.remove();
    h.remove();   // a second remove is harmless, as PyTorch
    model.call(x);
    expect(seen.length).to.equal(3);
    expectError(() => fc1.registerForwardHook(3 as never), 'E_ARG', /function/);
    const bad = fc1.registerForwardHook(() => 7 as never);
    expectError(() => model.call(x), 'E_ARG', /forward hook must return a Tensor/);
    bad.remove();
  });

  // Note [forward scope] (module.ts): a forward frees what it makes and does not return;
  // Sequential frees each layer's output once the next layer has run.
  it('a forward frees its intermediates as it goes, keeps what it returns, keep()s and in-place results', () => {
    const { nn } = cc;
    class Twice extends nn.Module {
      stored: cc.Tensor | null = null;
      kept: cc.Tensor | null = null;
      forward(x: cc.Tensor): cc.Tensor {
        this.stored = x.add(1);
        this.kept = cc.keep(x.add(2));
        return this.stored.mul(2);
      }
    }
    const twice = new Twice();
    const x = cc.ones([2, 3]);
    const y = twice.call(x);
    expect(Array.from(y.dataSync())).to.deep.equal([4, 4, 4, 4, 4, 4]);
    expect(twice.stored!.isDisposed, 'made and not returned: freed').to.equal(true);
    expect(twice.kept!.isDisposed, 'kept').to.equal(false);
    expect(x.isDisposed, 'the input').to.equal(false);
    twice.kept!.dispose();

    const outs: cc.Tensor[] = [];
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Identity(), new nn.Flatten(), new nn.Linear(4, 2));
    let atLast: boolean[] = [];
    model.children().forEach((m) => m.registerForwardHook((_m, _i, out) => { atLast = outs.map((t) => t.isDisposed); outs.push(out); }));
    const before = cc.memory().tensors;
    const z = cc.noGrad(() => model.call(cc.randn([5, 3])));  // (recording, the graph would hold what backward needs)
    expect(z.shape).to.deep.equal([5, 2]);
    // Linear's output is freed once ReLU ran; ReLU's, passed on by Identity, once Flatten made a
    // view of it; that view once the last Linear ran; the result is the caller's.
    expect(atLast, 'as the last Linear ran: freed as it went').to.deep.equal([true, true, true, false]);
    expect(outs.map((t) => t.isDisposed)).to.deep.equal([true, true, true, true, false]);
    expect(outs[2]).to.equal(outs[1]);
    expect(cc.memory().tensors - before).to.equal(2);  // the input (randn) and z
    // A forward that returns a Promise leaves what it made to the caller's scope.
    class Later extends nn.Module {
      made: cc.Tensor | null = null;
      forward(x: cc.Tensor): cc.Tensor {
        this.made = x.add(1);
        return Promise.resolve(this.made) as never;
      }
    }
    const later = new Later();
    cc.tidy(() => {
      void later.call(x);
      expect(later.made!.isDisposed).to.equal(false);
    });
    expect(later.made!.isDisposed, 'freed with the caller\'s scope').to.equal(true);
  });

  it('a forward pre-hook can replace the inputs; gradients flow through what hooks return', () => {
    const { nn } = cc;
    const fc = new nn.Linear(2, 1, { bias: false });
    fc.loadStateDict({ weight: cc.tensor([[1, 1]]) });
    const h = fc.registerForwardPreHook((m, [x]) => [(x as cc.Tensor).mul(2)]);
    const x = cc.tensor([[1, 2]], { requiresGrad: true });
    const y = fc.call(x);
    expect(y.item()).to.equal(6);
    y.backward();
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([2, 2]);
    h.remove();
    expect(fc.call(x).item()).to.equal(3);
    const bad = fc.registerForwardPreHook(() => 'x' as never);
    expectError(() => fc.call(x), 'E_ARG', /pre-hook must return an array/);
    bad.remove();
  });

  it('apply visits every submodule, children first, then the module itself', () => {
    const { nn } = cc;
    const model = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Sequential(new nn.ReLU(), new nn.Conv2d(2, 2, 1)));
    const order: string[] = [];
    expect(model.apply((m) => order.push(m.typeName))).to.equal(model);
    expect(order).to.deep.equal(['Conv2d', 'ReLU', 'Conv2d', 'Sequential', 'Sequential']);
    model.apply((m) => { if (m instanceof nn.Conv2d) nn.init.constant_(m.weight, 0.5); });
    for (const m of model.modules()) if (m instanceof nn.Conv2d) expect(Array.from(m.weight.dataSync()).every((v) => v === 0.5)).to.equal(true);
    expectError(() => model.apply(null as never), 'E_ARG', /apply/);
  });
});
