// onnx.export (lib/onnx): each converter and the survey's models, exported and run by ONNX Runtime
// (onnxruntime-node, an independent implementation of ONNX's operators), whose outputs must be
// the model's own; other batch sizes along dynamic axes; every opset from 13 to 21 where an op's
// form changes; and typed refusals that leave the model as it was.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import * as cc from '../lib';
import type { Tensor } from '../lib';
import { describeCuda } from './cuda-helpers';
import { expectClose, expectError, scratchDir } from './helpers';

const { nn, F, models, onnx } = cc;
type F32 = Tensor<'float32'>;

/**
 * ONNX Runtime, a development dependency: every `npm ci` has it. The GPU machine's staged copy
 * leaves it out (scripts/gpu/stage.sh: it would not fit); the runs that need it are skipped there.
 */
function loadOrt(): typeof Ort | null {
  try {
    return require('onnxruntime-node') as typeof Ort;
  } catch {
    return null;
  }
}
const ortOrNull = loadOrt();

/** `describe` for tests that run files in ONNX Runtime: skipped, saying why, where it is missing. */
function describeOrt(title: string, fn: () => void): void {
  describe(title, function () {
    before(function () {
      if (ortOrNull === null) {
        console.log('      (skipped: onnxruntime-node is not installed; `npm ci` installs it)');
        this.skip();
      }
    });
    fn();
  });
}

/** A module whose forward is `fn` (constants it closes over become initializers). */
class Lambda extends nn.Module {
  constructor(readonly fn: (...xs: F32[]) => Tensor) {
    super();
  }

  forward(...xs: F32[]): Tensor {
    return this.fn(...xs);
  }
}

/** Runs the file in ONNX Runtime on `inputs` (fed as input, input_0, ... or the names given). */
async function runOnnx(bytes: Uint8Array, inputs: readonly Tensor[], names?: readonly string[]): Promise<Float32Array[]> {
  const ort = ortOrNull!;
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, Ort.Tensor> = {};
  inputs.forEach((x, i) => {
    feeds[session.inputNames[i]] = x.dtype === 'int32' ? new ort.Tensor('int32', x.dataSync() as Int32Array, [...x.shape]) : new ort.Tensor('float32', x.dataSync() as Float32Array, [...x.shape]);
  });
  if (names) expect(session.inputNames).to.deep.equal([...names]);
  const out = await session.run(feeds);
  return session.outputNames.map((n) => out[n].data as Float32Array);
}

interface CheckOptions extends cc.onnx.ExportOptions {
  /** Inputs of other sizes to run the file on (dynamic axes); default the traced ones. */
  runOn?: F32[];
  rtol?: number;
  atol?: number;
}

/** Exports `model` on `inputs`, runs the file in ONNX Runtime, and compares with the model's own outputs. */
async function checkExport(model: cc.nn.Module, inputs: F32[], o: CheckOptions = {}): Promise<Uint8Array> {
  const { runOn, rtol = 1e-4, atol = 1e-5, ...options } = o;
  const bytes = onnx.export(model, inputs, null, options);
  const feeds = runOn ?? inputs;
  model.eval();
  const want = cc.noGrad(() => model.call(...feeds));
  const got = await runOnnx(bytes, feeds);
  const wants = Array.isArray(want) ? want as Tensor[] : [want];
  expect(got.length).to.equal(wants.length);
  wants.forEach((w, i) => expectClose(got[i], w.dataSync() as Float32Array, rtol, atol, `output ${i}`));
  return bytes;
}

describe('onnx.export', function () {
  this.timeout(120000);
  before(() => cc.manualSeed(7));

  describeOrt('ops, each run by ONNX Runtime', () => {
    const x4 = () => cc.randn([2, 4, 9, 11]);
    const w = (shape: number[]) => cc.randn(shape).mul(0.3);
    const cases: [string, () => F32, (x: F32) => Tensor][] = [];
    const add = (name: string, x: () => F32, fn: (x: F32) => Tensor) => cases.push([name, x, fn]);

    // Convolutions and linear layers.
    const wc = w([6, 2, 3, 3]), bc = w([6]), w4 = w([5, 4, 4, 4]);
    add('conv2d: stride, padding, dilation, groups', x4, (x) => F.conv2d(x, wc, bc, { stride: 2, padding: [1, 2], dilation: [1, 2], groups: 2 }));
    add("conv2d: 'same' with an even kernel (uneven padding)", x4, (x) => F.conv2d(x, w4, null, { padding: 'same' }));
    const w1 = w([6, 2, 3]);
    add('conv1d', () => cc.randn([2, 4, 20]), (x) => F.conv1d(x, w1, null, { stride: 2, padding: 1, dilation: 2, groups: 2 }));
    const wt = w([4, 3, 3, 3]), bt = w([3]);
    add('convTranspose2d: stride, padding, outputPadding', x4, (x) => F.convTranspose2d(x, wt, bt, { stride: 2, padding: 1, outputPadding: 1 }));
    const wl = w([3, 11]), bl = w([3]);
    add('linear on a matrix (Gemm)', () => cc.randn([5, 11]), (x) => F.linear(x, wl, bl));
    add('linear on more axes (MatMul)', x4, (x) => F.linear(x, wl, bl));
    const wm = w([11, 6]);
    add('matmul', x4, (x) => cc.matmul(x, wm));
    // Normalization.
    const rm = w([4]), rv = cc.rand([4]).add(0.5), g = w([4]), b = w([4]);
    add('batchNorm (running statistics)', x4, (x) => F.batchNorm(x, rm, rv, g, b, { training: false, eps: 1e-3 }));
    add('batchNorm without weight and bias, on [N, C]', () => cc.randn([5, 4]), (x) => F.batchNorm(x, rm, rv, null, null, { training: false }));
    add('localResponseNorm', x4, (x) => F.localResponseNorm(x, 3, 1e-2, 0.75, 2));
    const lw = w([9, 11]).add(1), lb = w([9, 11]);
    add('layerNorm over two axes, with weight and bias', x4, (x) => F.layerNorm(x, [9, 11], { weight: lw, bias: lb, eps: 1e-3 }));
    add('layerNorm without weight', x4, (x) => F.layerNorm(x, 11));
    add('groupNorm', x4, (x) => F.groupNorm(x, 2, { weight: g, bias: b }));
    add('groupNorm on [N, C], no affine', () => cc.randn([3, 4]), (x) => F.groupNorm(x, 2));
    add('instanceNorm', x4, (x) => F.instanceNorm(x, { weight: g, bias: b }));
    add('instanceNorm, no affine', x4, (x) => F.instanceNorm(x));
    add('normalize (p = 2)', x4, (x) => F.normalize(x));
    add('normalize (p = 1, last axis)', x4, (x) => F.normalize(x, { p: 1, dim: -1 }));
    add('normalize (p = Infinity)', x4, (x) => F.normalize(x, { p: Infinity, dim: 2 }));
    add('softmax', x4, (x) => F.softmax(x, 1));
    add('logSoftmax', x4, (x) => F.logSoftmax(x, -1));
    // Pooling.
    add('maxPool2d: padding, ceilMode', x4, (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }));
    add('maxPool2d: dilation', x4, (x) => F.maxPool2d(x, 2, { stride: 1, dilation: 2 }));
    // PyTorch drops a last window that would start in the padding; ONNX's ceil mode keeps it.
    const odd = () => cc.randn([2, 3, 5, 7]);
    add('maxPool2d: ceilMode, a last window that would start in the padding', odd, (x) => F.maxPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }));
    add('avgPool2d: the same, countIncludePad false', odd, (x) => F.avgPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }));
    add('maxPool2d of one image [C, H, W]', () => cc.randn([4, 9, 11]), (x) => F.maxPool2d(x, 2));
    add('avgPool2d: countIncludePad false', x4, (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }));
    add('avgPool2d: ceilMode', x4, (x) => F.avgPool2d(x, 2, { ceilMode: true }));
    add('avgPool2d: divisorOverride', x4, (x) => F.avgPool2d(x, [2, 3], { padding: 1, divisorOverride: 4 }));
    add('adaptiveAvgPool2d to 1 (global)', x4, (x) => F.adaptiveAvgPool2d(x, 1));
    add('adaptiveAvgPool2d, sizes that divide', () => cc.randn([2, 3, 8, 12]), (x) => F.adaptiveAvgPool2d(x, [4, 3]));
    add('adaptiveAvgPool2d, uneven and overlapping windows', x4, (x) => F.adaptiveAvgPool2d(x, [4, 7]));
    add('adaptiveAvgPool2d, larger than the input', () => cc.randn([2, 3, 2, 3]), (x) => F.adaptiveAvgPool2d(x, 7));
    add('adaptiveMaxPool2d', () => cc.randn([2, 3, 8, 12]), (x) => F.adaptiveMaxPool2d(x, [2, 3]));
    add('adaptiveMaxPool2d to 1 (global)', x4, (x) => F.adaptiveMaxPool2d(x, 1));
    // Volumes.
    const v5 = () => cc.randn([2, 4, 5, 7, 6]);
    const w3 = w([6, 2, 3, 3, 2]), b3 = w([6]), wt3 = w([4, 3, 2, 3, 3]), wEven = w([3, 4, 2, 2, 4]), wFlat = w([3, 4, 1, 3, 3]), bFlat = w([3]);
    add('conv3d: stride, padding, dilation, groups', v5, (x) => F.conv3d(x, w3, b3, { stride: [1, 2, 1], padding: [1, 0, 1], dilation: [2, 1, 1], groups: 2 }));
    add("conv3d: 'same' with even kernels", v5, (x) => F.conv3d(x, wEven, null, { padding: 'same' }));
    add('conv3d: a 1 x k x k kernel', v5, (x) => F.conv3d(x, wFlat, bFlat, { padding: [0, 1, 1] }));
    add('convTranspose3d', v5, (x) => F.convTranspose3d(x, wt3, null, { stride: 2, padding: 1, outputPadding: [1, 0, 1] }));
    add('maxPool3d', v5, (x) => F.maxPool3d(x, [2, 3, 2], { stride: [1, 2, 2], padding: [1, 1, 0] }));
    add('avgPool3d', v5, (x) => F.avgPool3d(x, 2, { ceilMode: true, countIncludePad: false }));
    add('avgPool3d: divisorOverride', v5, (x) => F.avgPool3d(x, [1, 3, 2], { divisorOverride: 5 }));
    add('adaptiveAvgPool3d to 1', v5, (x) => F.adaptiveAvgPool3d(x, 1));
    add('adaptiveMaxPool3d, sizes that divide', v5, (x) => F.adaptiveMaxPool3d(x, [5, 1, 3]));
    // Activations.
    const slopes = w([4]), oneSlope = cc.tensor([0.3]);
    for (const [name, fn] of Object.entries<(x: F32) => Tensor>({
      relu: F.relu, sigmoid: F.sigmoid, tanh: F.tanh, selu: F.selu, softsign: F.softsign, hardsigmoid: F.hardsigmoid, hardswish: F.hardswish,
      silu: F.silu, mish: F.mish, logSigmoid: F.logSigmoid, tanhshrink: F.tanhshrink, relu6: F.relu6,
      'leakyRelu 0.2': (x) => F.leakyRelu(x, 0.2), 'elu 0.7': (x) => F.elu(x, 0.7), 'celu 1.3': (x) => F.celu(x, 1.3),
      'hardtanh -0.5, 2': (x) => F.hardtanh(x, -0.5, 2), 'clamp, a lower bound alone': (x) => cc.clamp(x, -0.3),
      'clamp to [-0.5, 0.5]': (x) => cc.clamp(x, -0.5, 0.5),
      'softshrink 0.4': (x) => F.softshrink(x, 0.4), 'hardshrink 0.4': (x) => F.hardshrink(x, 0.4),
      gelu: (x) => F.gelu(x), "gelu 'tanh'": (x) => F.gelu(x, { approximate: 'tanh' }),
      softplus: (x) => F.softplus(x), 'softplus beta 2': (x) => F.softplus(x, 2),
      'prelu, a slope per channel': (x) => F.prelu(x, slopes), 'prelu, one slope': (x) => F.prelu(x, oneSlope),
    })) add(name, x4, fn);
    // Arithmetic.
    const row = w([11]);
    for (const [name, fn] of Object.entries<(x: F32) => Tensor>({
      'add a number': (x) => cc.add(x, 2), 'sub from a number': (x) => cc.sub(3, x), 'mul itself': (x) => cc.mul(x, x),
      'div by a number': (x) => cc.div(x, 2.5), 'add a broadcast row': (x) => cc.add(x, row), 'div by itself plus 3': (x) => cc.div(x, cc.add(x, 3)),
      'pow 2': (x) => cc.pow(x, 2), 'pow 1.5': (x) => cc.pow(cc.add(cc.abs(x), 0.1), 1.5), 'pow by a tensor': (x) => cc.pow(cc.add(cc.abs(x), 0.1), row),
      maximum: (x) => cc.maximum(x, row), minimum: (x) => cc.minimum(x, 0.2), scale: (x) => cc.scale(x, 2, 1), 'scale by 1': (x) => cc.scale(x, 1),
      neg: cc.neg, abs: cc.abs, exp: cc.exp, erf: cc.erf, sin: cc.sin, cos: cc.cos, square: cc.square,
      log: (x) => cc.log(cc.add(cc.abs(x), 1)), sqrt: (x) => cc.sqrt(cc.abs(x)), rsqrt: (x) => cc.rsqrt(cc.add(cc.abs(x), 1)),
      reciprocal: (x) => cc.reciprocal(cc.add(cc.abs(x), 1)),
      'max over axis 3': (x) => cc.max(x, 3), 'min over [1, 2], keepdim': (x) => cc.min(x, [1, 2], true), 'amax of all': (x) => cc.amax(x),
      'sum over axis 1, keepdim': (x) => cc.sum(x, 1, true), 'sum of all': (x) => cc.sum(x), 'mean over [2, 3]': (x) => cc.mean(x, [2, 3]),
    })) add(name, x4, fn);
    // Shapes.
    for (const [name, fn] of Object.entries<(x: F32) => Tensor>({
      'flatten(1)': (x) => x.flatten(1), 'reshape to [-1, 11]': (x) => x.reshape([-1, 11]), 'reshape keeping two axes': (x) => x.reshape([2, 4, 99]),
      'unsqueeze, squeeze': (x) => x.unsqueeze(2).squeeze(2), permute: (x) => x.permute([0, 2, 3, 1]), transpose: (x) => x.transpose(1, 3),
      concat: (x) => cc.concat([x, F.relu(x), x], 1), slice: (x) => x.slice([0, 1, 2, 0], [2, 2, -1, 5]), narrow: (x) => x.narrow(3, 4, 6),
      expand: (x) => cc.expand(cc.sum(x, 1, true), [2, 3, 9, 11]), clone: (x) => x.clone(), 'dropout (eval)': (x) => F.dropout(x, 0.5, false),
      'dropout2d (eval)': (x) => F.dropout2d(x, 0.5, false),
      flip: (x) => x.flip([1, 3]), rot90: (x) => cc.rot90(x, 1, [2, 3]), 'rot90 twice': (x) => cc.rot90(x, 2, [2, 3]),
      'permute and flip': (x) => x.permute([0, 3, 1, 2]).flip([2]),
      'pad, constant': (x) => F.pad(x, [1, 2, 0, 3], 'constant', 0.5), 'pad, cropping': (x) => F.pad(x, [-1, 2, 1, -2]),
      'pad, reflect': (x) => F.pad(x, [2, 1, 1, 2], 'reflect'), 'pad, replicate': (x) => F.pad(x, [3, 0, 0, 2], 'replicate'),
      'interpolate nearest, by a size': (x) => F.interpolate(x, { size: [13, 7] }),
      'interpolate nearest, by a factor': (x) => F.interpolate(x, { scaleFactor: 2 }),
      'interpolate bilinear, by a size': (x) => F.interpolate(x, { size: [5, 17], mode: 'bilinear' }),
      'interpolate bilinear, by a factor': (x) => F.interpolate(x, { scaleFactor: [1.5, 2.5], mode: 'bilinear' }),
      'interpolate bilinear, alignCorners': (x) => F.interpolate(x, { size: [14, 6], mode: 'bilinear', alignCorners: true }),
      'interpolate bicubic': (x) => F.interpolate(x, { size: [12, 16], mode: 'bicubic' }),
    })) add(name, x4, fn);
    add("pad, circular (opset 19's 'wrap')", x4, (x) => F.pad(x, [2, 1, 1, 3], 'circular'));

    for (const [name, input, fn] of cases) {
      it(name, async () => {
        await checkExport(new Lambda(fn), [input()], name.includes('circular') ? { opsetVersion: 19 } : {});
      });
    }

    it("layers that pad on their own: Conv2d with paddingMode 'reflect', nn.ZeroPad2d; nn.Upsample", async () => {
      const net = new nn.Sequential(new nn.Conv2d(4, 5, 3, { padding: 1, paddingMode: 'reflect' }), new nn.ZeroPad2d([1, 0, 2, 1]),
        new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }));
      await checkExport(net, [cc.randn([1, 4, 9, 11])], { dynamicAxes: { input: [0], output: [0] }, runOn: [cc.randn([3, 4, 9, 11])] });
    });

    // Where an op's ONNX form changed with the opset.
    for (const opset of [13, 14, 17, 18, 20, 21]) {
      it(`opset ${opset}: mean, sum, normalize, layerNorm, gelu, hardswish, softmax`, async () => {
        const fn = (x: F32) => cc.add(cc.add(cc.mean(F.gelu(x), [2, 3], true), cc.sum(F.softmax(F.gelu(x, { approximate: 'tanh' }), 1), [1], true)),
          cc.add(F.normalize(x), F.layerNorm(x, [5, 4])));
        await checkExport(new Lambda((x) => opset >= 14 ? cc.add(fn(x), F.hardswish(x)) : fn(x)), [cc.randn([2, 3, 5, 4])], { opsetVersion: opset });
      });
    }

    it('two inputs and two outputs, with names', async () => {
      const model = new Lambda((a, b) => cc.mul(a, b));
      const bytes = onnx.export(model, [cc.randn([2, 3]), cc.randn([2, 3])], null, { inputNames: ['a', 'b'], outputNames: ['product'] });
      const [a, b] = [cc.randn([2, 3]), cc.randn([2, 3])];
      const [got] = await runOnnx(bytes, [a, b], ['a', 'b']);
      expectClose(got, cc.mul(a, b).dataSync() as Float32Array);
    });

    it('constants made in the forward by full, zeros and ones are kept (initializers)', async () => {
      await checkExport(new Lambda((x) => cc.add(cc.mul(x, cc.full([11], 0.5)), cc.ones([1, 4, 1, 1]))), [cc.randn([2, 4, 9, 11])]);
    });

    it('an input returned as it is', async () => {
      const x = cc.randn([2, 3]);
      const [got] = await runOnnx(onnx.export(new nn.Identity(), x), [x]);
      expectClose(got, x.dataSync() as Float32Array, 0, 0);
    });
  });

  describeOrt('models', () => {
    const batch = { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } };
    /** The model with its batch norms' running statistics moved off their initial 0 and 1. */
    const warmed = <M extends cc.nn.Module>(m: M, shape: number[]): M => {
      m.train();
      cc.noGrad(() => { for (let i = 0; i < 2; i++) m.call(cc.randn(shape)); });
      return m.eval();
    };

    it('LeNet-5, traced at batch 1, run at batch 5 (a dynamic batch axis)', async () => {
      await checkExport(models.LeNet5(), [cc.randn([1, 1, 28, 28])], { ...batch, runOn: [cc.randn([5, 1, 28, 28])] });
    });

    it('LeNet-5 classic (average pooling, tanh)', async () => {
      await checkExport(models.LeNet5({ variant: 'classic' }), [cc.randn([2, 1, 28, 28])]);
    });

    it("AlexNet (the paper's, with local response normalization)", async () => {
      await checkExport(models.AlexNet({ variant: 'original', numClasses: 10 }), [cc.randn([1, 3, 227, 227])], { ...batch, runOn: [cc.randn([2, 3, 227, 227])] });
    });

    it('ResNet-18 (residual additions, batch norm)', async () => {
      await checkExport(warmed(models.resnet18({ numClasses: 10 }), [4, 3, 64, 64]), [cc.randn([2, 3, 64, 64])], { ...batch, runOn: [cc.randn([3, 3, 64, 64])] });
    });

    it('MobileNet v2 (depthwise convolutions, ReLU6)', async () => {
      await checkExport(warmed(models.mobilenetV2({ numClasses: 10 }), [4, 3, 64, 64]), [cc.randn([2, 3, 64, 64])], { ...batch, runOn: [cc.randn([3, 3, 64, 64])] });
    });

    it('GoogLeNet (concatenated branches, ceil-mode pooling)', async () => {
      await checkExport(warmed(models.googlenet({ numClasses: 10 }), [2, 3, 96, 96]), [cc.randn([1, 3, 96, 96])]);
    });

    it('VGG-11 on 32x32 (its 7x7 adaptive pooling from 1x1)', async () => {
      await checkExport(models.vgg11({ numClasses: 10 }), [cc.randn([1, 3, 32, 32])]);
    });

    it('FCN-32s (deconvolution, cropping), its head given non-zero weights', async () => {
      const fcn = models.FCN({ numClasses: 5 });
      cc.noGrad(() => { for (const p of fcn.parameters()) if (p.abs().max().item() === 0) p.copy_(cc.randn(p.shape).mul(0.05)); });
      await checkExport(fcn, [cc.randn([1, 3, 64, 64])], { rtol: 1e-3 });
    });

    it("a video ResNet (r3d_18: 3-D convolutions and pooling)", async () => {
      await checkExport(warmed(models.r3d_18({ numClasses: 5 }), [2, 3, 4, 32, 32]), [cc.randn([1, 3, 4, 32, 32])], { ...batch, runOn: [cc.randn([2, 3, 4, 32, 32])] });
    });

    it('a text CNN: int32 token indices in, an embedding, 1-D convolutions, max over time', async () => {
      const embed = new nn.Embedding(50, 8, { paddingIdx: 0 }), conv = new nn.Conv1d(8, 6, 3, { padding: 1 }), fc = new nn.Linear(6, 2);
      const net = new Lambda((tokens) => fc.call(cc.max(F.relu(conv.call(embed.call(tokens).permute([0, 2, 1]))), 2)));
      for (const [k, m] of [['embed', embed], ['conv', conv], ['fc', fc]] as const) net.registerModule(k, m);
      const tokens = (n: number) => cc.randint(0, 50, [n, 12]) as unknown as F32;
      await checkExport(net, [tokens(2)], { dynamicAxes: { input: [0], output: [0] }, runOn: [tokens(5)] });
    });

    it('exports a frozen model, whose forward computes from a parameter alone, and leaves it frozen', async () => {
      class Biased extends nn.Module {
        readonly bias = this.registerParameter('bias', new nn.Parameter(cc.randn([3])));
        forward(x: Tensor): Tensor {
          return cc.add(x, this.bias.reshape([1, 3, 1, 1]).mul(2));
        }
      }
      const net = new Biased();
      net.requiresGrad_(false);
      await checkExport(net, [cc.randn([2, 3, 4, 4])]);
      expect(net.bias.requiresGrad).to.equal(false);
    });

    describe('recurrent layers (ONNX LSTM, GRU, RNN nodes)', () => {
      const seq = (T: number, N: number, F = 6) => cc.randn([T, N, F]);
      it('an LSTM, 2 layers, bidirectional, traced at batch 2 and run at batch 3 and 7 more steps', async () => {
        const lstm = new nn.LSTM(6, 5, { numLayers: 2, bidirectional: true });
        await checkExport(lstm, [seq(4, 2)], { dynamicAxes: { input: [0, 1], output: [0, 1] }, runOn: [seq(11, 3)] });
      });
      it('a GRU, batchFirst, bidirectional, with h0', async () => {
        const gru = new nn.GRU(6, 4, { batchFirst: true, bidirectional: true });
        await checkExport(gru, [cc.randn([3, 5, 6]), cc.randn([2, 3, 4])]);
      });
      it('an RNN with relu, 2 layers, without biases, on one unbatched sequence', async () => {
        await checkExport(new nn.RNN(6, 3, { numLayers: 2, nonlinearity: 'relu', bias: false }), [cc.randn([5, 6])]);
      });
      it("an LSTM's sequence and final states (forwardWithState), from given h0 and c0", async () => {
        const lstm = new nn.LSTM(6, 4, { numLayers: 2 });
        const net = new Lambda((x, h, c) => {
          const [y, [hN, cN]] = lstm.forwardWithState(x, [h, c]);
          return [y, hN, cN] as unknown as Tensor;
        });
        net.registerModule('lstm', lstm);
        await checkExport(net, [seq(5, 2), cc.randn([2, 2, 4]), cc.randn([2, 2, 4])]);
      });
      it('the cells: LSTMCell without states, GRUCell with h, a relu RNNCell on one unbatched step (their composed gates)', async () => {
        await checkExport(new nn.LSTMCell(6, 4), [cc.randn([3, 6])]);
        await checkExport(new nn.GRUCell(6, 4), [cc.randn([3, 6]), cc.randn([3, 4])]);
        await checkExport(new nn.RNNCell(6, 4, { nonlinearity: 'relu' }), [cc.randn([6])]);
      });
      it('F.gru with a weight list, and a CRNN head (convolutions, then a bidirectional LSTM over the columns)', async () => {
        const weights = [cc.randn([9, 6]), cc.randn([9, 3]), cc.randn([9]), cc.randn([9])].map((t) => t.mul(0.4));
        await checkExport(new Lambda((x) => F.gru(x, null, weights)[0]), [seq(4, 2)]);
        const conv = new nn.Conv2d(1, 4, 3, { padding: 1 }), lstm = new nn.LSTM(4 * 8, 6, { bidirectional: true }), fc = new nn.Linear(12, 11);
        const crnn = new Lambda((img) => {
          const f = F.relu(conv.call(img));                               // [N, 4, 8, W]
          const columns = f.permute([3, 0, 1, 2]).flatten(2);              // [W, N, 32]
          return fc.call(lstm.call(columns));                             // [W, N, 11]
        });
        for (const [k, m] of [['conv', conv], ['lstm', lstm], ['fc', fc]] as const) crnn.registerModule(k, m);
        await checkExport(crnn, [cc.randn([2, 1, 8, 20])], { dynamicAxes: { input: [0, 3], output: [0, 1] }, runOn: [cc.randn([3, 1, 8, 13])] });
      });
    });

    it('Network in Network', async () => {
      await checkExport(models.NiN({ numClasses: 10 }), [cc.randn([1, 3, 32, 32])]);
    });

    it("parameters and buffers are stored under their state-dict keys; the producer is this package's version", () => {
      const net = models.LeNet5();
      const text = Buffer.from(onnx.export(net, cc.randn([1, 1, 28, 28]))).toString('latin1');
      for (const key of Object.keys(net.stateDict())) expect(text, key).to.contain(key);
      const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
      expect(text).to.contain(`cudnn-convnet\x1a${String.fromCharCode(version.length)}${version}`);
    });
  });

  describeCuda('on the GPU', () => {
    it('a model on cuda exports the same file as on the CPU', () => {
      const net = models.LeNet5(), x = cc.randn([2, 1, 28, 28]);
      const cpu = onnx.export(net, x);
      const gpu = onnx.export(net.to('cuda'), x.to('cuda'));
      expect(Buffer.compare(Buffer.from(cpu), Buffer.from(gpu))).to.equal(0);
    });
  });

  describe('files, modes and refusals', () => {
    it('writes the bytes it returns to `path`', () => {
      const file = path.join(scratchDir('onnx-'), 'lenet5.onnx');
      const bytes = onnx.export(models.LeNet5(), cc.randn([1, 1, 28, 28]), file);
      expect(Buffer.compare(fs.readFileSync(file), Buffer.from(bytes))).to.equal(0);
    });

    it('restores training mode and leaves the input as it was', () => {
      const net = models.resnet18({ numClasses: 3 }).train();
      const x = cc.randn([1, 3, 32, 32]);
      onnx.export(net, x);
      expect(net.modules().every((m) => m.training)).to.equal(true);
      expect(x.requiresGrad).to.equal(false);
    });

    it('refuses an op it cannot write, naming it, and writes nothing', () => {
      const net = new nn.Sequential(new nn.Linear(4, 4), new Lambda((x) => cc.cumsum(x, 1))).train();
      const file = path.join(scratchDir('onnx-'), 'never.onnx');
      expectError(() => onnx.export(net, cc.randn([2, 4]), file), 'E_ARG', /`cumsum`.*cannot write/);
      expect(fs.existsSync(file)).to.equal(false);
      expect(net.modules().every((m) => m.training)).to.equal(true);
      // The hooks are gone: training goes on as before.
      const loss = cc.sum(net.call(cc.randn([2, 4])));
      loss.backward();
      expect((net.at(0) as cc.nn.Linear).weight.grad).to.not.equal(null);
    });

    it('refuses a tensor the forward computed without recording it (it would be frozen into the file)', () => {
      expectError(() => onnx.export(new Lambda((x) => cc.add(x, x.detach())), cc.randn([2, 3])), 'E_ARG', /computed in the forward.*records no gradient/);
      expectError(() => onnx.export(new Lambda((x) => cc.mul(x, cc.ge(x, 0).float())), cc.randn([2, 3])), 'E_ARG', /computed in the forward/);
      // Made from data in the forward: it might come from the input's values.
      expectError(() => onnx.export(new Lambda((x) => cc.add(x, cc.tensor([1, 2, 3]))), cc.randn([2, 3])), 'E_ARG', /computed in the forward/);
    });

    it('refuses outputs the trace did not compute, and forwards that return no tensor', () => {
      const k = cc.randn([2, 3]);
      expectError(() => onnx.export(new Lambda(() => k), cc.randn([2, 3])), 'E_ARG', /output 0 .* not computed by traced ops/);
    });

    it('refuses what ONNX cannot say as such', () => {
      const x = cc.randn([2, 4, 9, 11]);
      expectError(() => onnx.export(new Lambda((t) => F.batchNorm(t, null, null)), x), 'E_ARG', /training mode/);
      expectError(() => onnx.export(new Lambda((t) => F.avgPool2d(t, 2, { ceilMode: true, divisorOverride: 3 })), x), 'E_ARG', /divisorOverride and ceilMode/);
      expectError(() => onnx.export(new Lambda((t) => F.avgPool2d(t, 2, { stride: 2, padding: 1, ceilMode: true })), cc.randn([1, 2, 5, 5])), 'E_ARG', /start in the padding/);
      expectError(() => onnx.export(new Lambda((t) => F.adaptiveMaxPool2d(t, [4, 7])), x), 'E_ARG', /unequal windows/);
      expectError(() => onnx.export(new Lambda((t) => F.localResponseNorm(t, 4)), x), 'E_ARG', /even size/);
      expectError(() => onnx.export(new Lambda((t) => F.pad(t, [1, 1], 'circular')), x), 'E_ARG', /opset 19/);
      expectError(() => onnx.export(new Lambda((t) => F.normalize(t, { p: 3 })), x), 'E_ARG', /p = 3/);
      expectError(() => onnx.export(new Lambda((t) => F.adaptiveAvgPool3d(t.unsqueeze(0), [2, 3, 4])), x), 'E_ARG', /unequal windows/);
      expectError(() => onnx.export(nn.quantizeDynamic(new nn.Sequential(new nn.Flatten(), new nn.Linear(396, 3))), x), 'E_ARG', /8-bit layer \(QuantizedLinear\)/);
      expectError(() => onnx.export(new nn.LSTM(11, 4, { projSize: 2 }), cc.randn([9, 2, 11])), 'E_ARG', /projSize/);
      expectError(() => onnx.export(new Lambda((t) => cc.cumsum(t, 0)), x), 'E_ARG', /`cumsum`.*it covers: .*recurrent/);
      expectError(() => onnx.export(new Lambda((t) => F.interpolate(t, { size: [4, 4], mode: 'area' })), x), 'E_ARG', /mode 'area'/);
      expectError(() => onnx.export(new Lambda((t) => F.interpolate(t, { size: [4, 4], mode: 'bilinear', antialias: true })), x), 'E_ARG', /antialias/);
    });

    it('refuses bad arguments with typed errors', () => {
      const net = models.LeNet5(), x = cc.randn([1, 1, 28, 28]);
      expectError(() => onnx.export({} as cc.nn.Module, x), 'E_ARG', /nn.Module/);
      expectError(() => onnx.export(net, [] as F32[]), 'E_ARG', /example inputs/);
      expectError(() => onnx.export(net, [x, 3 as unknown as F32]), 'E_ARG', /example inputs/);
      const table = cc.randn([5, 2], { requiresGrad: true });
      expectError(() => onnx.export(new Lambda((t) => F.embedding(t, table, { maxNorm: 1 })), cc.tensor([[1, 2]], { dtype: 'int32' }) as unknown as F32), 'E_ARG', /maxNorm/);
      expectError(() => onnx.export(net, cc.zeros([1, 1, 28, 28], { dtype: 'int32' }) as unknown as F32), 'E_DTYPE', /conv2d: expected `x` of dtype float32/);
      const gone = cc.randn([1, 1, 28, 28]);
      gone.dispose();
      expectError(() => onnx.export(net, gone), 'E_DISPOSED');
      for (const opsetVersion of [12, 22, 17.5, '17' as unknown as number]) expectError(() => onnx.export(net, x, null, { opsetVersion }), 'E_ARG', /opsetVersion/);
      expectError(() => onnx.export(net, x, null, { inputNames: ['a', 'b'] }), 'E_ARG', /inputNames/);
      expectError(() => onnx.export(net, x, null, { outputNames: [''] }), 'E_ARG', /outputNames/);
      expectError(() => onnx.export(net, x, null, { inputNames: ['x'], outputNames: ['x'] }), 'E_ARG', /both an input and an output/);
      expectError(() => onnx.export(net, x, null, { dynamicAxes: { images: [0] } }), 'E_ARG', /neither an input/);
      expectError(() => onnx.export(net, x, null, { dynamicAxes: { input: [4] } }), 'E_ARG', /has 4 axes/);
      expectError(() => onnx.export(net, x, null, { opset: 17 } as cc.onnx.ExportOptions), 'E_ARG', /opset/);
      expectError(() => onnx.export(net, x, 42 as unknown as string), 'E_ARG', /path/);
      expectError(() => onnx.export(net, x, path.join(scratchDir('onnx-'), 'no', 'such', 'dir.onnx')), 'E_IO', /cannot write/);
    });
  });
});
