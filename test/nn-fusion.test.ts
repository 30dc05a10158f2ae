/**
 * nn.utils' batch-norm folding (lib/nn/fusion.ts) and the module surgery it rests on
 * (Module.getSubmodule / setSubmodule): the folded weights against a float64 fold of the same
 * values, the fused layers' outputs against the two modules they replace, whole models
 * (Sequential, ResNet) before and after, and every refusal, which leaves the model as it was.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { expectClose, expectError, randomTensor } from './helpers';

const { nn } = cc;
type Module = cc.nn.Module;

/** Running statistics and affine parameters far from 0/1, so that a fold that skipped one shows. */
function randomizeBn(bn: cc.nn.BatchNorm1d | cc.nn.BatchNorm2d | cc.nn.BatchNorm3d): void {
  if (bn.runningMean) nn.init.uniform_(bn.runningMean, -0.5, 0.5);
  if (bn.runningVar) nn.init.uniform_(bn.runningVar, 0.3, 2);
  if (bn.weight) nn.init.uniform_(bn.weight, 0.5, 1.5);
  if (bn.bias) nn.init.uniform_(bn.bias, -0.3, 0.3);
}

function randomizeModel(model: Module): void {
  for (const m of model.modules()) if (m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d || m instanceof nn.BatchNorm3d) randomizeBn(m);
}

const values = (t: cc.Tensor): Float64Array => Float64Array.from(t.dataSync() as Float32Array);

/** The fold in float64: w'[o, …] = w[o, …] s[o], b' = (b - mean) s + beta, s = gamma / sqrt(var + eps). */
function fold64(w: cc.Tensor, b: cc.Tensor | null, bn: cc.nn.BatchNorm1d | cc.nn.BatchNorm2d | cc.nn.BatchNorm3d, transpose = false, groups = 1): { w: Float64Array; b: Float64Array } {
  const wv = values(w), mean = values(bn.runningMean!), variance = values(bn.runningVar!);
  const gamma = bn.weight ? values(bn.weight) : null, beta = bn.bias ? values(bn.bias) : null, bias = b ? values(b) : null;
  const C = mean.length;
  const s = Array.from({ length: C }, (_, c) => (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + bn.eps));
  const inner = wv.length / w.shape[0] / (transpose ? w.shape[1] : 1);
  const out = new Float64Array(wv.length);
  for (let i = 0; i < wv.length; i++) {
    let c: number;
    if (!transpose) c = Math.floor(i / (wv.length / C));
    else {
      const row = Math.floor(i / (w.shape[1] * inner)), j = Math.floor(i / inner) % w.shape[1];
      c = Math.floor(row / (w.shape[0] / groups)) * w.shape[1] + j;
    }
    out[i] = wv[i] * s[c];
  }
  return { w: out, b: Float64Array.from({ length: C }, (_, c) => ((bias ? bias[c] : 0) - mean[c]) * s[c] + (beta ? beta[c] : 0)) };
}

describe('nn.utils: batch norm folded into the layer before it', () => {
  it('fuseConvBnEval: the weights are the float64 fold, and the layer computes bn(conv(x))', () => {
    const cases: { what: string; layer: () => Module; bn: () => cc.nn.BatchNorm1d | cc.nn.BatchNorm2d | cc.nn.BatchNorm3d; x: number[]; transpose?: boolean; groups?: number }[] = [
      { what: 'Conv2d with bias', layer: () => new nn.Conv2d(3, 8, 3, { padding: 1 }), bn: () => new nn.BatchNorm2d(8), x: [2, 3, 7, 6] },
      { what: 'Conv2d without bias, strided, grouped, dilated', layer: () => new nn.Conv2d(4, 6, 3, { stride: 2, padding: 2, dilation: 2, groups: 2, bias: false }), bn: () => new nn.BatchNorm2d(6), x: [2, 4, 9, 9] },
      { what: 'Conv2d with reflect padding, batch norm without affine', layer: () => new nn.Conv2d(2, 5, 3, { padding: 1, paddingMode: 'reflect' }), bn: () => new nn.BatchNorm2d(5, { affine: false, eps: 1e-3 }), x: [1, 2, 6, 5] },
      { what: 'ConvTranspose2d, groups 2', layer: () => new nn.ConvTranspose2d(4, 6, 3, { stride: 2, groups: 2 }), bn: () => new nn.BatchNorm2d(6), x: [2, 4, 4, 5], transpose: true, groups: 2 },
      { what: 'Conv1d', layer: () => new nn.Conv1d(3, 4, 3, { padding: 1 }), bn: () => new nn.BatchNorm1d(4), x: [2, 3, 11] },
      { what: 'Conv3d, grouped, without bias', layer: () => new nn.Conv3d(4, 6, [3, 1, 3], { padding: [1, 0, 1], groups: 2, bias: false }), bn: () => new nn.BatchNorm3d(6), x: [2, 4, 3, 4, 5] },
      { what: 'ConvTranspose3d, groups 2', layer: () => new nn.ConvTranspose3d(4, 6, 2, { stride: 2, groups: 2 }), bn: () => new nn.BatchNorm3d(6), x: [1, 4, 2, 3, 2], transpose: true, groups: 2 },
      { what: 'Linear', layer: () => new nn.Linear(7, 5), bn: () => new nn.BatchNorm1d(5), x: [6, 7] },
    ];
    for (const [k, c] of cases.entries()) {
      cc.manualSeed(100 + k);
      const layer = c.layer().eval() as cc.nn.Conv2d, bn = c.bn().eval();
      randomizeBn(bn);
      const before = { w: values(layer.weight), keys: Object.keys(bn.stateDict()) };
      const fused = (layer instanceof nn.Linear ? nn.utils.fuseLinearBnEval(layer, bn as cc.nn.BatchNorm1d) : nn.utils.fuseConvBnEval(layer, bn)) as cc.nn.Conv2d;
      expect(fused.constructor, c.what).to.equal(layer.constructor);
      expect(fused.training, c.what).to.equal(false);
      const ref = fold64(layer.weight, layer.bias, bn, c.transpose, c.groups);
      expectClose(fused.weight.dataSync(), ref.w, 1e-6, 1e-7, `${c.what}: weight`);
      expectClose(fused.bias!.dataSync(), ref.b, 1e-6, 1e-6, `${c.what}: bias`);
      const { t: x } = randomTensor(c.x, 7 + k);
      const expected = cc.noGrad(() => bn.call(layer.call(x)));
      const got = cc.noGrad(() => fused.call(x));
      expect(got.shape, c.what).to.deep.equal(expected.shape);
      expectClose(got.dataSync(), values(expected), 1e-5, 1e-5, `${c.what}: output`);
      // the two modules given are untouched
      expect(Array.from(layer.weight.dataSync()), c.what).to.deep.equal(Array.from(before.w, Math.fround));
      expect(Object.keys(bn.stateDict()), c.what).to.deep.equal(before.keys);
      for (const t of [x, expected, got]) t.dispose();
      for (const m of [layer, bn, fused]) m.dispose();
    }
  });

  it('fuseConvBnWeights takes the tensors themselves (PyTorch\'s fuse_conv_bn_weights), nulls as 0, 1 and 0', () => {
    cc.manualSeed(3);
    const conv = new nn.Conv2d(2, 3, 1, { bias: false }), bn = new nn.BatchNorm2d(3, { affine: false });
    randomizeBn(bn);
    const [w, b] = nn.utils.fuseConvBnWeights(conv.weight, null, bn.runningMean!, bn.runningVar!, 1e-5, null, null);
    expect(w).to.be.instanceOf(nn.Parameter);
    expect(b.shape).to.deep.equal([3]);
    const ref = fold64(conv.weight, null, bn);
    expectClose(w.dataSync(), ref.w, 1e-6, 1e-7, 'weight');
    expectClose(b.dataSync(), ref.b, 1e-6, 1e-7, 'bias');
    for (const t of [w, b]) t.dispose();
    conv.dispose();
    bn.dispose();
  });

  it('refuses, with typed errors: training mode, no running statistics, mismatched pairs and shapes', () => {
    const conv = new nn.Conv2d(2, 4, 3), bn = new nn.BatchNorm2d(4);
    expectError(() => nn.utils.fuseConvBnEval(conv, bn), 'E_STATE', /eval mode/);
    conv.eval();
    expectError(() => nn.utils.fuseConvBnEval(conv, bn), 'E_STATE', /eval mode/);
    bn.eval();
    const noStats = new nn.BatchNorm2d(4, { trackRunningStats: false }).eval();
    expectError(() => nn.utils.fuseConvBnEval(conv, noStats), 'E_ARG', /running statistics/);
    expectError(() => nn.utils.fuseConvBnEval(conv, new nn.BatchNorm2d(5).eval()), 'E_ARG', /4 output channels.*5/);
    expectError(() => nn.utils.fuseConvBnEval(conv, new nn.BatchNorm1d(4).eval()), 'E_ARG', /pairs/);
    expectError(() => nn.utils.fuseConvBnEval(new nn.ReLU() as never, bn), 'E_ARG', /Conv2d/);
    expectError(() => nn.utils.fuseConvBnEval(new nn.Linear(3, 4).eval() as never, new nn.BatchNorm1d(4).eval()), 'E_ARG', /fuseLinearBnEval/);
    expectError(() => nn.utils.fuseLinearBnEval(conv as never, bn as never), 'E_ARG', /nn.Linear/);
    class MyConv extends nn.Conv2d {}
    expectError(() => nn.utils.fuseConvBnEval(new MyConv(2, 4, 3).eval(), bn), 'E_ARG', /MyConv/);
    expectError(() => nn.utils.fuseConvBnWeights(cc.zeros([4, 3, 3, 3]), null, bn.runningMean!, bn.runningVar!, 1e-5, null, null, true), 'E_SHAPE', /transposed/);
    expectError(() => nn.utils.fuseConvBnWeights(cc.zeros([5, 2, 3, 3]), null, bn.runningMean!, bn.runningVar!, 1e-5, null, null), 'E_SHAPE', /4 output channels/);
    expectError(() => nn.utils.fuseConvBnWeights(conv.weight, cc.zeros([3]), bn.runningMean!, bn.runningVar!, 1e-5, null, null), 'E_SHAPE', /`b` of shape \[4\]/);
    expectError(() => nn.utils.fuseConvBnWeights(conv.weight, null, bn.runningMean!, bn.runningVar!, -1, null, null), 'E_ARG', /eps/);
    expectError(() => nn.utils.fuseConvBnWeights(conv.weight, null, bn.runningMean!, bn.runningVar!, 1e-5, null, null, 'yes' as never), 'E_ARG', /transpose/);
    for (const m of [conv, bn, noStats]) m.dispose();
  });

  it('fuseModules: [conv, bn], [conv, bn, relu] and [conv, relu] in a Sequential, PyTorch\'s keys, the same outputs', () => {
    cc.manualSeed(11);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 6, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(6), new nn.ReLU(),
      new nn.Conv2d(6, 8, 3), new nn.BatchNorm2d(8), new nn.ReLU(),
      new nn.Conv2d(8, 4, 1), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 5), new nn.BatchNorm1d(5),
    );
    randomizeModel(model);
    model.eval();
    const { t: x } = randomTensor([2, 3, 8, 8], 12);
    const expected = values(cc.noGrad(() => model.call(x)));
    const result = nn.utils.fuseModules(model, [['0', '1'], ['3', '4', '5'], ['6', '7'], ['9', '10']]);
    expect(result).to.equal(model);
    expect(Object.keys(model.stateDict())).to.deep.equal(['0.weight', '0.bias', '3.0.weight', '3.0.bias', '6.0.weight', '6.0.bias', '9.weight', '9.bias']);
    expect(model.at(1)).to.be.instanceOf(nn.Identity);
    expect(model.at(3)).to.be.instanceOf(nn.Sequential);
    expectClose(cc.noGrad(() => model.call(x)).dataSync(), expected, 1e-5, 1e-5, 'fused Sequential');
    // one group alone
    const single = new nn.Sequential(new nn.Conv2d(3, 2, 1), new nn.BatchNorm2d(2)).eval();
    nn.utils.fuseModules(single, ['0', '1']);
    expect(Object.keys(single.stateDict())).to.deep.equal(['0.weight', '0.bias']);
    model.dispose();
    single.dispose();
  });

  it('fuseModules refuses a bad group before changing anything (the model loses nothing)', () => {
    cc.manualSeed(12);
    const shared = new nn.Conv2d(2, 2, 1);
    const model = new nn.Sequential(new nn.Conv2d(2, 2, 1), new nn.BatchNorm2d(2), shared, new nn.BatchNorm2d(2), shared, new nn.Sigmoid()).eval();
    const keys = Object.keys(model.stateDict());
    const check = (groups: unknown, code: string, pattern: RegExp) => {
      expectError(() => nn.utils.fuseModules(model, groups as string[][]), code, pattern);
      expect(Object.keys(model.stateDict())).to.deep.equal(keys);
      expect(model.at(1)).to.be.instanceOf(nn.BatchNorm2d);
    };
    check([['0', '1'], ['2', '3']], 'E_ARG', /more than once/);
    check([['0', '1'], ['0', '1']], 'E_ARG', /more than one group/);
    check([['0', '1'], ['0', 'nope']], 'E_ARG', /no child module named "nope"/);
    check([['0', '1'], ['1', '0']], 'E_ARG', /expected an nn.Conv1d/);
    check([['0', '1', '5']], 'E_ARG', /end with an nn.ReLU/);
    check([['0']], 'E_ARG', /2 or 3 module names/);
    check('0', 'E_ARG', /array of groups/);
    model.at(1).train();
    check([['0', '1']], 'E_STATE', /eval mode/);
    model.dispose();
  });

  it('fuseConvBn folds every pair of a ResNet (stem, blocks, shortcuts): the same logits, no batch norm left', () => {
    cc.manualSeed(21);
    const net = cc.models.resnet18({ numClasses: 10, cifar: true });
    randomizeModel(net);
    expectError(() => nn.utils.fuseConvBn(net), 'E_STATE', /eval mode/);
    net.eval();
    const { t: x } = randomTensor([2, 3, 16, 16], 22);
    const expected = values(cc.noGrad(() => net.call(x)));
    const parameters = net.parameterCount();
    // 1 stem + 8 blocks x 2 + 3 shortcuts
    expect(nn.utils.fuseConvBn(net)).to.equal(20);
    expect(net.modules().filter((m) => m instanceof nn.BatchNorm2d)).to.have.length(0);
    expect(Object.keys(net.stateDict()).filter((k) => /running|bn/.test(k))).to.deep.equal([]);
    expect(net.stateDict()['layer2.0.downsample.0.bias'].shape).to.deep.equal([128]);
    // a bias (C) per conv instead of the batch norm's weight and bias (2C)
    expect(net.parameterCount()).to.be.below(parameters);
    expectClose(cc.noGrad(() => net.call(x)).dataSync(), expected, 1e-4, 1e-4, 'fused ResNet-18');
    expect(nn.utils.fuseConvBn(net)).to.equal(0);   // nothing left to fold
    net.dispose();
  });

  it('fuseConvBn folds a video ResNet\'s Conv3d + BatchNorm3d pairs (R(2+1)D\'s inner ones too): the same logits', () => {
    cc.manualSeed(23);
    const net = new cc.models.VideoResNetModel({ convs: ['2plus1d', 'noTemporal', '3d', '3d'], layers: [1, 1, 1, 1], stem: 'r2plus1d', numClasses: 5 });
    randomizeModel(net);
    net.eval();
    const { t: x } = randomTensor([1, 3, 4, 16, 16], 24);
    const expected = values(cc.noGrad(() => net.call(x)));
    // stem 2; layer1's R(2+1)D block 4 (each factored convolution's inner pair, and its last
    // Conv3d with the batch norm after the Sequential); layers 2-4: 2 each, and 3 shortcuts
    expect(nn.utils.fuseConvBn(net)).to.equal(2 + 4 + 3 * 2 + 3);
    expect(net.modules().filter((m) => m instanceof nn.BatchNorm3d)).to.have.length(0);
    expectClose(cc.noGrad(() => net.call(x)).dataSync(), expected, 1e-4, 1e-4, 'fused video ResNet');
    expectError(() => nn.utils.fuseConvBnEval(new nn.Conv3d(2, 3, 1).eval(), new nn.BatchNorm2d(3).eval() as never), 'E_ARG', /BatchNorm3d/);
    net.dispose();
  });

  it('fuseConvBn follows fusableGroups() in a module of one\'s own, and leaves what cannot fold', () => {
    class Block extends nn.Module {
      conv = this.registerModule('conv', new nn.Conv2d(2, 3, 3, { padding: 1 }));
      bn = this.registerModule('bn', new nn.BatchNorm2d(3));
      forward(x: cc.Tensor): cc.Tensor {
        return cc.F.relu(this.bn.call(this.conv.call(x)));
      }
      override fusableGroups(): string[][] {
        return [['conv', 'bn']];
      }
    }
    cc.manualSeed(31);
    const model = new nn.Sequential(new Block(), new nn.Conv2d(3, 3, 1), new nn.BatchNorm2d(3, { trackRunningStats: false }));
    randomizeModel(model);
    model.eval();
    const { t: x } = randomTensor([2, 2, 5, 5], 32);
    const expected = values(cc.noGrad(() => model.call(x)));
    expect(nn.utils.fuseConvBn(model)).to.equal(1);
    const block = model.at(0) as Block;
    expect(block.bn).to.be.instanceOf(nn.Identity);   // the field follows the registry
    expect(block.conv.bias).to.not.equal(null);
    expect(model.at(2)).to.be.instanceOf(nn.BatchNorm2d);   // batch statistics: not folded
    expectClose(cc.noGrad(() => model.call(x)).dataSync(), expected, 1e-5, 1e-5, 'custom block');
    model.dispose();
  });
});

describe('nn.utils: PyTorch\'s names for gradient clipping', () => {
  it('clipGradNorm_ and clipGradValue_ are optim.clipGradNorm and optim.clipGradValue', () => {
    expect(nn.utils.clipGradNorm_).to.equal(cc.optim.clipGradNorm);
    expect(nn.utils.clipGradValue_).to.equal(cc.optim.clipGradValue);
  });
});

describe('models.save after fusing', () => {
  it('a fused Sequential saves and loads as it is; a fused ResNet (config of options only) is refused before anything is written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-fusion-'));
    try {
      cc.manualSeed(51);
      const seq = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU());
      randomizeModel(seq);
      nn.utils.fuseConvBn(seq.eval());
      cc.models.save(seq, path.join(dir, 'seq'));
      const back = cc.models.load(path.join(dir, 'seq')).eval();
      const { t: x } = randomTensor([1, 1, 5, 5], 52);
      expect(Array.from(back.call(x).dataSync())).to.deep.equal(Array.from(seq.call(x).dataSync()));
      const net = cc.models.resnet18({ numClasses: 3, cifar: true }).eval();
      nn.utils.fuseConvBn(net);
      expectError(() => cc.models.save(net, path.join(dir, 'net')), 'E_ARG', /had a child replaced.*save the model before fusing/);
      expect(fs.existsSync(path.join(dir, 'net'))).to.equal(false);
      for (const m of [seq, back, net]) m.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Module.getSubmodule / setSubmodule', () => {
  it('replaces a descendant by path: the registry, the field its parent reads, Sequential\'s and ModuleList\'s order', () => {
    cc.manualSeed(41);
    const net = cc.models.resnet18({ numClasses: 4, cifar: true }).eval();
    const block = net.getSubmodule('layer1.0') as cc.models.BasicBlock;
    expect(block).to.equal(net.layer1.at(0));
    expect(net.getSubmodule('')).to.equal(net);
    const old = net.setSubmodule('layer1.0.bn1', new nn.Identity());
    expect(old).to.be.instanceOf(nn.BatchNorm2d);
    expect(block.bn1).to.be.instanceOf(nn.Identity);
    old.dispose();
    const fc = net.setSubmodule('fc', new nn.Linear(512, 7));
    expect(net.numClasses).to.equal(7);
    const { t: x } = randomTensor([1, 3, 8, 8], 42);
    expect(cc.noGrad(() => net.call(x)).shape).to.deep.equal([1, 7]);
    fc.dispose();
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    seq.setSubmodule('2', new nn.Linear(4, 6)).dispose();
    expect(seq.at(2)).to.be.instanceOf(nn.Linear);
    expect(cc.noGrad(() => seq.call(cc.zeros([1, 3]))).shape).to.deep.equal([1, 6]);
    expect(Object.keys(seq.stateDict())).to.deep.equal(['0.weight', '0.bias', '2.weight', '2.bias']);
    const list = new nn.ModuleList([new nn.ReLU(), new nn.ReLU()]);
    const tanh = new nn.Tanh();
    list.setSubmodule('1', tanh);
    expect(list.at(1)).to.equal(tanh);
    expect([...list][1]).to.equal(tanh);
    // VGG's last layer inside its classifier: numClasses follows it.
    const vgg = new cc.models.VGGModel(11, { numClasses: 5 });
    vgg.setSubmodule('classifier.6', new nn.Linear(4096, 3)).dispose();
    expect(vgg.numClasses).to.equal(3);
    expect((vgg.classifier.at(6) as cc.nn.Linear).outFeatures).to.equal(3);
    vgg.dispose();
    net.dispose();
    seq.dispose();
  });

  it('refuses missing paths, non-modules and cycles with E_ARG, changing nothing', () => {
    const inner = new nn.Sequential(new nn.ReLU());
    const outer = new nn.Sequential(inner, new nn.Linear(2, 2));
    expectError(() => outer.getSubmodule('0.5'), 'E_ARG', /`0` \(a Sequential\) has no child module named "5"/);
    expectError(() => outer.getSubmodule(3 as never), 'E_ARG', /dotted path/);
    expectError(() => outer.setSubmodule('', new nn.ReLU()), 'E_ARG', /non-empty/);
    expectError(() => outer.setSubmodule('2', new nn.ReLU()), 'E_ARG', /no child module named "2"/);
    expectError(() => outer.setSubmodule('1', {} as never), 'E_ARG', /must be a Module/);
    expectError(() => outer.setSubmodule('0.0', outer), 'E_ARG', /cycle/);
    expectError(() => outer.setSubmodule('0.0', new nn.Sequential(inner)), 'E_ARG', /cycle/);
    expect(inner.at(0)).to.be.instanceOf(nn.ReLU);
    expect(outer.at(0)).to.equal(inner);
    outer.dispose();
  });
});
