/**
 * Options arguments across the public API (validate.ts `checkOptions`): `undefined` is the
 * defaults; null, a number, a string, an array or a tensor is E_ARG at the call; so is an
 * unknown key, as PyTorch refuses an unexpected keyword argument (a misspelt option would
 * otherwise be ignored without a word); a key set to `undefined` counts as absent.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectError } from './helpers';

const { F, nn, optim } = cc;

describe('options arguments', () => {
  it('cuda.sitePackagesDirs / toolkitDirs check their env object (a non-string variable was a TypeError)', () => {
    expectError(() => cc.cuda.sitePackagesDirs({ PYTHONPATH: {} } as never), 'E_ARG', /`env.PYTHONPATH` to be a string/);
    expectError(() => cc.cuda.sitePackagesDirs({ VIRTUAL_ENV: 5 } as never), 'E_ARG', /VIRTUAL_ENV/);
    expectError(() => cc.cuda.sitePackagesDirs(null as never), 'E_ARG', /`env`/);
    expectError(() => cc.cuda.toolkitDirs({ CUDA_HOME: [] } as never), 'E_ARG', /CUDA_HOME/);
    expect(cc.cuda.sitePackagesDirs({})).to.be.an('array');
  });

  const x = () => cc.randn([2, 4, 6, 6]);
  const scores = () => cc.randn([2, 3]);
  const labels = () => cc.tensor([1, 0], { dtype: 'int32' });
  const emb = () => cc.randn([2, 5]);
  const param = () => new nn.Parameter(cc.randn([2]));
  const sgd = () => new optim.SGD([param()], { lr: 0.1 });

  // name, a call with these options, one option name it knows
  const calls: [string, (o: unknown) => unknown, string][] = [
    ['maxPool2d', (o) => F.maxPool2d(x(), 2, o as never), 'stride'],
    ['avgPool2d', (o) => F.avgPool2d(x(), 2, o as never), 'countIncludePad'],
    ['lpPool2d', (o) => F.lpPool2d(x(), 2, 2, o as never), 'mean'],
    ['mixedPool2d', (o) => F.mixedPool2d(x(), 2, o as never), 'lambda'],
    ['adaptiveMaxPool2d', (o) => F.adaptiveMaxPool2d(x(), 2, o as never), 'returnIndices'],
    ['conv2d', (o) => F.conv2d(x(), cc.randn([4, 4, 3, 3]), undefined, o as never), 'padding'],
    ['batchNorm', (o) => F.batchNorm(x(), null, null, null, null, o as never), 'eps'],
    ['crossEntropy', (o) => F.crossEntropy(scores(), labels(), o as never), 'labelSmoothing'],
    ['tripletMarginLoss', (o) => F.tripletMarginLoss(emb(), emb(), emb(), o as never), 'swap'],
    ['matmul', (o) => cc.matmul(scores(), cc.randn([3, 2]), o as never), 'transB'],
    ['tensor', (o) => cc.tensor([1, 2], o as never), 'dtype'],
    ['randn', (o) => cc.randn([2], 0, 1, o as never), 'requiresGrad'],
    ['bernoulli', (o) => cc.bernoulli([2], 0.5, o as never), 'device'],
    ['new nn.CrossEntropyLoss', (o) => new nn.CrossEntropyLoss(o as never), 'ignoreIndex'],
    ['new nn.NLLLoss', (o) => new nn.NLLLoss(o as never), 'reduction'],
    ['new nn.HingeLoss', (o) => new nn.HingeLoss(o as never), 'margin'],
    ['new nn.MultiMarginLoss', (o) => new nn.MultiMarginLoss(o as never), 'p'],
    ['new nn.ContrastiveLoss', (o) => new nn.ContrastiveLoss(o as never), 'margin'],
    ['new nn.TripletMarginLoss', (o) => new nn.TripletMarginLoss(o as never), 'eps'],
    ['new nn.KLDivLoss', (o) => new nn.KLDivLoss(o as never), 'logTarget'],
    // After PyTorch's positional arguments (all of them given), the options object.
    ['new nn.MaxPool2d', (o) => new nn.MaxPool2d(2, 2, 0, 1, false, false, o as never), 'ceilMode'],
    ['new nn.Conv2d', (o) => new nn.Conv2d(2, 2, 3, 1, 0, 1, 1, true, 'zeros', o as never), 'padding'],
    ['new nn.Linear', (o) => new nn.Linear(2, 2, true, o as never), 'bias'],
    ['new nn.BatchNorm1d', (o) => new nn.BatchNorm1d(2, 1e-5, 0.1, true, true, o as never), 'momentum'],
    ['new nn.MSELoss', (o) => new nn.MSELoss(o as never), 'reduction'],
    ['new nn.BCEWithLogitsLoss', (o) => new nn.BCEWithLogitsLoss(o as never), 'posWeight'],
    ['mseLoss', (o) => F.mseLoss(scores(), scores(), o as never), 'reduction'],
    ['smoothL1Loss', (o) => F.smoothL1Loss(scores(), scores(), o as never), 'beta'],
    ['binaryCrossEntropyWithLogits', (o) => F.binaryCrossEntropyWithLogits(scores(), scores(), o as never), 'posWeight'],
    ['optim.sgdStep', (o) => optim.sgdStep(cc.randn([2]), cc.randn([2]), null, o as never), 'lr'],
    ['optim.adamStep', (o) => optim.adamStep(cc.randn([2]), cc.randn([2]), cc.zeros([2]), cc.zeros([2]), null, o as never), 'lr'],
    ['new optim.SGD', (o) => new optim.SGD([param()], o as never), 'lr'],
    ['new optim.StepLR', (o) => new optim.StepLR(sgd(), o as never), 'stepSize'],
    ['backward', (o) => cc.sum(cc.randn([2], 0, 1, { requiresGrad: true })).backward(undefined, o as never), 'retainGraph'],
    ['earlyStopping', (o) => cc.callbacks.earlyStopping(o as never), 'patience'],
    ['models.LeNet5', (o) => cc.models.LeNet5(o as never), 'variant'],
    ['models.FCN', (o) => cc.models.FCN(o as never), 'variant'],
    ['metrics.segmentation.confusionMatrix', (o) => cc.metrics.segmentation.confusionMatrix([0], [0], 2, o as never), 'ignoreIndex'],
  ];

  for (const [name, call, known] of calls) {
    it(`${name}: refuses a non-object and an unknown option with E_ARG`, () => {
      cc.tidy(() => {
        // (Creators take a dtype name in the options' place: a string there is E_DTYPE.)
        for (const bad of [null, 0, ...(name === 'randn' ? [] : ['stride']), [], cc.ones([1])]) expectError(() => call(bad), 'E_ARG', /options/);
        expectError(() => call({ [known + 's']: 1 }), 'E_ARG', new RegExp(`unknown option \`${known}s\`.*${known}`));
        // An unknown key set to undefined is absent (spreads of optional fields stay valid).
        const required = { 'optim.sgdStep': { lr: 0.1 }, 'optim.adamStep': { lr: 0.1, step: 1 }, 'new optim.SGD': { lr: 0.1 }, 'new optim.StepLR': { stepSize: 1 } }[name] ?? {};
        expect(() => call({ ...required, [known + 's']: undefined })).not.to.throw();
      });
    });
  }

  it('a symbol or a bigint where none belongs is E_ARG with the value described, not a TypeError from the message', () => {
    // Symbols and bigints throw a TypeError in a template literal or JSON.stringify.
    expectError(() => cc.resolveDevice(2n as never), 'E_ARG', /bigint/);
    expectError(() => cc.cuda._sleep(Symbol('s') as never), 'E_ARG', /symbol/);
    expectError(() => cc.tidy(Symbol('s') as never), 'E_ARG', /symbol/);
    expectError(() => cc.cuda.setOptions({ benchmark: Symbol('s') } as never), 'E_ARG', /symbol/);
    expectError(() => cc.data.philox4x32(2n as never, 0, 0, 0, 0, 0, new Uint32Array(4)), 'E_ARG', /bigint/);
    expectError(() => cc.data.philox4x32(0, 0, 0, 0, 0, 0, [0, 0, 0, 0] as never), 'E_ARG', /Uint32Array/);
    expectError(() => new cc.data.PhiloxStream(Symbol('s') as never, 0, 0, 0), 'E_ARG', /symbol/);
  });
});
