/**
 * Safetensors files (ours and PyTorch's, corrupt and truncated ones, atomic writes) and whole
 * models through models.save / models.load.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { F, io, memory, models, nn, noGrad, tensor, tidy, type Tensor } from '../lib';
import { testHooks } from '../lib/io/file';
import { expectBitIdentical, expectClose, expectError, loadFixture, randomTensor, scratchDir } from './helpers';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const SCRIPT = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'make', 'safetensors.py');

function tmpdir(): string {
  return scratchDir('convnet-io-');
}

function disposeAll(ts: Record<string, Tensor>): void {
  for (const t of Object.values(ts)) t.dispose();
}

/** A file with this header (object or raw text) and data; the header padded to 8 unless `pad` is false. */
function file(header: unknown, data: Uint8Array, pad = true): Buffer {
  let h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  if (pad && h.length % 8) h = Buffer.concat([h, Buffer.alloc(8 - (h.length % 8), 0x20)]);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([n, h, data]);
}

describe('io: safetensors', () => {
  it('round-trips float32 and int32 tensors and metadata, bit for bit, in the reference layout', () => {
    const dir = tmpdir();
    const a = randomTensor([2, 3, 4], 1).t, b = tensor(new Int32Array([1, -2, 2147483647, -2147483648]), { shape: [2, 2] });
    const s = tensor(3.5), e = tensor(new Float32Array(0), { shape: [0, 4] });
    const f = path.join(dir, 'x.safetensors');
    io.saveSafetensors(f, { 'layer.weight': a, counts: b, scalar: s, empty: e }, { note: 'hi', format: 'pt' });
    const bytes = fs.readFileSync(f);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).to.equal(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    // F32 before I32 (the reference writer's dtype order), then by name; contiguous from 0.
    expect(Object.keys(header)).to.deep.equal(['__metadata__', 'empty', 'layer.weight', 'scalar', 'counts']);
    expect(header['layer.weight']).to.deep.equal({ dtype: 'F32', shape: [2, 3, 4], data_offsets: [0, 96] });
    expect(header.counts).to.deep.equal({ dtype: 'I32', shape: [2, 2], data_offsets: [100, 116] });
    const before = memory().tensors;
    const r = io.loadSafetensors(f);
    expect(memory().tensors).to.equal(before + 4);
    expect(r.metadata).to.deep.equal({ note: 'hi', format: 'pt' });
    expect(r.tensors.counts.dtype).to.equal('int32');
    expect(r.tensors.empty.shape).to.deep.equal([0, 4]);
    expect(r.tensors.scalar.shape).to.deep.equal([]);
    expectBitIdentical(r.tensors['layer.weight'].dataSync() as Float32Array, a.dataSync(), 'weight');
    expect([...r.tensors.counts.dataSync()]).to.deep.equal([1, -2, 2147483647, -2147483648]);
    // From bytes too, and the default metadata.
    const again = io.loadSafetensors(io.serializeSafetensors({ a }));
    expect(again.metadata).to.deep.equal({ format: 'pt' });
    disposeAll(r.tensors); disposeAll(again.tensors);
    [a, b, s, e].forEach((t) => t.dispose());
  });

  it('reads a PyTorch state dict written by Python (I64 counter converted) and gives PyTorch\'s output', () => {
    const { tensors, metadata, dtypes } = io.loadSafetensors(path.join(FIXTURES, 'torch_model.safetensors'));
    expect(metadata).to.deep.equal({ format: 'pt' });
    expect(dtypes['1.num_batches_tracked']).to.equal('I64');
    expect(tensors['1.num_batches_tracked'].dtype).to.equal('int32');
    expect(tensors['1.num_batches_tracked'].item()).to.equal(3);
    const model = twin();
    model.loadStateDict(tensors);
    model.eval();
    const { tensors: xy } = io.loadSafetensors(path.join(FIXTURES, 'torch_io.safetensors'));
    const y = noGrad(() => model.call(xy.x));
    expectClose(y.dataSync(), xy.y.dataSync(), 1e-5, 1e-6, 'y');
    expect((model.at(1) as nn.BatchNorm2d).numBatchesTracked).to.equal(3);
    y.dispose(); disposeAll(xy); disposeAll(tensors); model.dispose();
  });

  it('converts F16, BF16 and F64 to float32 and I64 to int32; refuses U8 and, without convert, F16', () => {
    const want = loadFixture<{ f16: number[]; bf16: number[]; f64: number[] }>('torch_dtypes');
    const f = path.join(FIXTURES, 'torch_dtypes.safetensors');
    const { tensors, dtypes } = io.loadSafetensors(f);
    expect(dtypes).to.include({ f16: 'F16', bf16: 'BF16', f64: 'F64', i64: 'I64', i32: 'I32' });
    expectBitIdentical(tensors.f16.dataSync() as Float32Array, Float32Array.from(want.f16), 'f16');
    expectBitIdentical(tensors.bf16.dataSync() as Float32Array, Float32Array.from(want.bf16), 'bf16');
    expectBitIdentical(tensors.f64.dataSync() as Float32Array, Float32Array.from(want.f64), 'f64');
    expect([...tensors.i64.dataSync()]).to.deep.equal([1, -2, 2147483647, -2147483648]);
    expect(tensors.scalar.shape).to.deep.equal([]);
    expect(tensors.empty.shape).to.deep.equal([0, 3]);
    disposeAll(tensors);
    const before = memory().tensors;
    expectError(() => io.loadSafetensors(path.join(FIXTURES, 'torch_u8.safetensors')), 'E_FORMAT', /"u8" has dtype U8/);
    expectError(() => io.loadSafetensors(f, { convert: false }), 'E_FORMAT', /dtype (F16|BF16|F64|I64)/);
    expectError(() => io.loadSafetensors(file({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.from([0, 0, 0, 0, 1, 0, 0, 0]))), 'E_FORMAT', /outside int32/);
    expect(memory().tensors).to.equal(before);
  });

  it('round-trips with PyTorch live (when /usr/bin/python3 has torch)', function () {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    } catch {
      console.log('      (skipped: /usr/bin/python3 with torch is not installed)');
      this.skip();
    }
    this.timeout(120000);
    const dir = tmpdir();
    const model = twin();
    model.train();
    tidy(() => noGrad(() => { for (let i = 0; i < 2; i++) model.call(randomTensor([4, 1, 8, 8], 10 + i).t); }));
    model.eval();
    const x = randomTensor([2, 1, 8, 8], 5).t;
    const y = noGrad(() => model.call(x));
    const state = model.stateDict();
    io.saveSafetensors(path.join(dir, 'ours_model.safetensors'), state, { format: 'pt', by: 'cudnn-convnet' });
    io.saveSafetensors(path.join(dir, 'ours_io.safetensors'), { x, y });
    disposeAll(state);
    const out = JSON.parse(execFileSync('/usr/bin/python3', [SCRIPT, 'check', dir], { encoding: 'utf8' }).trim().split('\n').pop()!);
    expect(out.metadata).to.deep.equal({ format: 'pt', by: 'cudnn-convnet' });
    expect(out.dtypes['1.num_batches_tracked']).to.equal('torch.int32');
    expect(out.maxdiff, 'PyTorch on our weights vs our output').to.be.below(1e-5);
    // And back: the file PyTorch wrote now, into a fresh model.
    const back = twin();
    const { tensors } = io.loadSafetensors(path.join(dir, 'torch_model.safetensors'));
    back.loadStateDict(tensors);
    back.eval();
    const { tensors: xy } = io.loadSafetensors(path.join(dir, 'torch_io.safetensors'));
    const y2 = noGrad(() => back.call(xy.x));
    expectClose(y2.dataSync(), xy.y.dataSync(), 1e-5, 1e-6, 'y');
    [x, y, y2].forEach((t) => t.dispose()); disposeAll(tensors); disposeAll(xy); model.dispose(); back.dispose();
  });

  describe('corrupt and truncated files are E_FORMAT and leave nothing allocated', () => {
    const a = new Uint8Array(24), b = new Uint8Array(16);
    const good = { __metadata__: { k: 'v' }, a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'I32', shape: [4], data_offsets: [24, 40] } };
    const data = Buffer.concat([a, b]);
    const valid = file(good, data);
    const n = Number(valid.readBigUInt64LE(0));
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /fewer than the 8/],
      ['truncated in the length', valid.subarray(0, 5), /fewer than the 8/],
      ['truncated after the length', valid.subarray(0, 8), /past the end/],
      ['truncated in the header', valid.subarray(0, 8 + Math.floor(n / 2)), /past the end/],
      ['truncated after the header', valid.subarray(0, 8 + n), /past the end of the data/],
      ['truncated in the first tensor', valid.subarray(0, 8 + n + 10), /"a".*past the end/],
      ['truncated in the last tensor', valid.subarray(0, valid.length - 1), /"b".*past the end/],
      ['header length too large', (() => { const c = Buffer.from(valid); c.writeBigUInt64LE(1n << 40n); return c; })(), /over the limit/],
      ['header length past the file', (() => { const c = Buffer.from(valid); c.writeBigUInt64LE(BigInt(valid.length)); return c; })(), /past the end/],
      ['not JSON', file('{"a": {"dtype": "F32",', data), /not valid JSON/],
      ['not an object', file('[1, 2, 3]', Buffer.alloc(0)), /start with/],
      ['not UTF-8', file(Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe]), Buffer.from('": 1}')]).toString('latin1'), Buffer.alloc(0)), /./],
      ['unknown dtype', file({ ...good, a: { ...good.a, dtype: 'F33' } }, data), /unknown dtype "F33"/],
      ['unsupported dtype', file({ a: { dtype: 'U8', shape: [24], data_offsets: [0, 24] } }, a), /dtype U8/],
      ['bad shape', file({ ...good, a: { ...good.a, shape: [2, -3] } }, data), /shape/],
      ['shape vs length', file({ ...good, a: { ...good.a, shape: [2, 4] } }, data), /needs 32 bytes.*hold 24/],
      ['overlap', file({ ...good, b: { ...good.b, data_offsets: [20, 36] } }, data.subarray(0, 36)), /overlaps/],
      ['gap', file({ ...good, b: { ...good.b, data_offsets: [28, 44] } }, Buffer.concat([data, Buffer.alloc(4)])), /gap/],
      ['offsets out of range', file({ ...good, b: { ...good.b, data_offsets: [24, 40] } }, data.subarray(0, 30)), /past the end/],
      ['end before begin', file({ ...good, b: { ...good.b, data_offsets: [40, 24] } }, data), /end before/],
      ['trailing garbage', Buffer.concat([valid, Buffer.from('garbage!')]), /8 bytes follow/],
      ['duplicate name', file('{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}', a), /twice/],
      ['metadata not strings', file({ ...good, __metadata__: { k: 1 } }, data), /must be a string/],
      ['unknown field', file({ ...good, a: { ...good.a, extra: 1 } }, data), /unknown field/],
    ];
    it('the valid file loads', () => {
      const r = io.loadSafetensors(valid);
      expect(Object.keys(r.tensors)).to.deep.equal(['a', 'b']);
      disposeAll(r.tensors);
    });
    for (const [name, bytes, pattern] of cases) {
      it(name, () => {
        const before = memory().tensors;
        expectError(() => io.loadSafetensors(bytes), 'E_FORMAT', pattern);
        expect(memory().tensors).to.equal(before);
      });
    }
    it('a corrupt file on disk names the file; a missing one is E_LOAD', () => {
      const f = path.join(tmpdir(), 'bad.safetensors');
      fs.writeFileSync(f, valid.subarray(0, 20));
      expectError(() => io.loadSafetensors(f), 'E_FORMAT', /bad\.safetensors is not a valid safetensors file/);
      expectError(() => io.loadSafetensors(path.join(tmpdir(), 'none.safetensors')), 'E_LOAD', /ENOENT/);
    });
    it('a tensor named "__proto__" is an own entry, not the prototype; an empty name is E_FORMAT as on save', () => {
      const header = (h: string) => {
        const j = Buffer.from(h);
        const n = Buffer.alloc(8);
        n.writeBigUInt64LE(BigInt(j.length));
        return Buffer.concat([n, j, Buffer.alloc(4)]);
      };
      const before = memory().tensors;
      const r = io.loadSafetensors(header('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'));
      expect(Object.getPrototypeOf(r.tensors)).to.equal(Object.prototype);
      expect(Object.keys(r.tensors)).to.deep.equal(['__proto__']);
      expect(Object.keys(r.dtypes)).to.deep.equal(['__proto__']);
      const t = Object.getOwnPropertyDescriptor(r.tensors, '__proto__')!.value as Tensor;
      expect(t.shape).to.deep.equal([1]);
      // And it round-trips through save.
      const again = io.loadSafetensors(io.serializeSafetensors(r.tensors, { ['__proto__']: 'm' } as Record<string, string>));
      expect(Object.keys(again.tensors)).to.deep.equal(['__proto__']);
      disposeAll(r.tensors); disposeAll(again.tensors);
      expectError(() => io.loadSafetensors(header('{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')), 'E_FORMAT', /empty name/);
      expect(memory().tensors).to.equal(before);
      const one = tensor([1]);
      expectError(() => io.serializeSafetensors({ '': one }), 'E_ARG', /cannot name a tensor/);
      one.dispose();
    });
    it('a device, FIFO or folder is E_LOAD saying so, never read forever', function () {
      if (fs.existsSync('/dev/zero')) expectError(() => io.loadSafetensors('/dev/zero'), 'E_LOAD', /\/dev\/zero: not a regular file/);
      expectError(() => io.loadSafetensors(tmpdir()), 'E_LOAD', /is a directory/);
      expectError(() => models.load(tmpdir()), 'E_LOAD');
    });
  });

  it('writes atomically: a failed write leaves the old file intact and no temporary file', () => {
    const dir = tmpdir();
    const f = path.join(dir, 'w.safetensors');
    const a = tensor([1, 2, 3]);
    io.saveSafetensors(f, { a });
    const old = fs.readFileSync(f);
    testHooks.beforeRename = () => { throw new Error('disk full (simulated)'); };
    try {
      expectError(() => io.saveSafetensors(f, { a, b: tensor([4]) }), 'E_IO', /disk full/);
    } finally {
      testHooks.beforeRename = null;
    }
    expect(fs.readFileSync(f).equals(old)).to.equal(true);
    expect(fs.readdirSync(dir)).to.deep.equal(['w.safetensors']);
    const gone = tensor([1]);
    gone.dispose();
    expectError(() => io.saveSafetensors(f, { a, gone }), 'E_DISPOSED');
    expectError(() => io.saveSafetensors(f, { a }, { n: 1 as unknown as string }), 'E_ARG');
    expectError(() => io.saveSafetensors(path.join(dir, 'no', 'such', 'dir.safetensors'), { a }), 'E_IO', /ENOENT/);
    expect(fs.readFileSync(f).equals(old)).to.equal(true);
    expect(fs.readdirSync(dir)).to.deep.equal(['w.safetensors']);
    a.dispose();
  });
});

/** The model of the PyTorch fixture: Conv2d(1, 4, 3, padding 1), BatchNorm2d, ReLU, MaxPool2d(2), Flatten, Linear(64, 3). */
function twin(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 3),
  );
}

/** One instance of every registered nn class, with arguments away from the defaults where there are some. */
/** The quantized layer of a float one, which is then disposed. */
function quantized<F extends nn.Module, Q extends nn.Module>(fromFloat: (m: F) => Q, float: F): Q {
  const q = fromFloat(float);
  float.dispose();
  return q;
}

function everyLayer(): Record<string, nn.Module> {
  const w = tensor([0.5, 2, 1]);
  const m: Record<string, nn.Module> = {
    Sequential: new nn.Sequential({ conv: new nn.Conv2d(2, 4, 3), act: new nn.ReLU() }),
    Conv1d: new nn.Conv1d(4, 6, 3, { stride: 2, padding: 'valid', dilation: 1, groups: 2, bias: false }),
    Conv2d: new nn.Conv2d(4, 6, [3, 2], { stride: [1, 1], padding: 'same', dilation: [1, 2], groups: 2 }),
    ConvTranspose2d: new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1, outputPadding: 1, dilation: 1, bias: false }),
    ConvTranspose1d: new nn.ConvTranspose1d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 1 }),
    Linear: new nn.Linear(5, 3, { bias: false }),
    Flatten: new nn.Flatten({ startDim: 2, endDim: 3 }),
    MaxPool2d: new nn.MaxPool2d([3, 2], { stride: 2, padding: 1, ceilMode: true }),
    AvgPool2d: new nn.AvgPool2d(3, { stride: 1, countIncludePad: false, divisorOverride: 4 }),
    LPPool2d: new nn.LPPool2d(3, 2, { stride: 1 }),
    MixedPool2d: new nn.MixedPool2d(2, { mode: 'uniform', lambda: 0.25 }),
    StochasticPool2d: new nn.StochasticPool2d(3, { stride: 2, padding: 1 }),
    DropConnectLinear: new nn.DropConnectLinear(6, 4, { p: 0.3, bias: false }),
    AdaptiveAvgPool2d: new nn.AdaptiveAvgPool2d([6, null]),
    RoIPool: new nn.RoIPool([7, 5], 1 / 16),
    RoIAlign: new nn.RoIAlign([7, 5], 1 / 16, 2, true),
    ReLU: new nn.ReLU(),
    LeakyReLU: new nn.LeakyReLU({ negativeSlope: 0.2 }),
    RReLU: new nn.RReLU(0.05, 0.25),
    PReLU: new nn.PReLU({ numParameters: 3, init: 0.1 }),
    ELU: new nn.ELU({ alpha: 0.7 }),
    Maxout: new nn.Maxout(3),
    Probout: new nn.Probout(3, { lambda: 2.5, dropout: true }),
    LargeMarginLinear: new nn.LargeMarginLinear(5, 3, { margin: 3, beta: 10 }),
    Sigmoid: new nn.Sigmoid(),
    Tanh: new nn.Tanh(),
    Softmax: new nn.Softmax(1),
    LogSoftmax: new nn.LogSoftmax({ dim: -1 }),
    Dropout: new nn.Dropout({ p: 0.3 }),
    LocalResponseNorm: new nn.LocalResponseNorm(5, { alpha: 2e-4, beta: 0.7, k: 2 }),
    BatchNorm2d: new nn.BatchNorm2d(3, { eps: 1e-3, momentum: null }),
    CrossEntropyLoss: new nn.CrossEntropyLoss({ weight: w, ignoreIndex: 2, reduction: 'sum', labelSmoothing: 0.1 }),
    NLLLoss: new nn.NLLLoss({ weight: w, reduction: 'none' }),
    HingeLoss: new nn.HingeLoss({ p: 2 }),
    MultiMarginLoss: new nn.MultiMarginLoss({ p: 2, margin: 0.5, weight: w }),
    ContrastiveLoss: new nn.ContrastiveLoss({ margin: 2 }),
    TripletMarginLoss: new nn.TripletMarginLoss({ margin: 0.2, p: 1 }),
    TripletMarginWithDistanceLoss: new nn.TripletMarginWithDistanceLoss({ margin: 0.4, swap: true }),
    KLDivLoss: new nn.KLDivLoss({ reduction: 'batchmean' }),
    ModuleList: new nn.ModuleList([new nn.Linear(3, 2), new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm1d(2))]),
    ModuleDict: new nn.ModuleDict([['head', new nn.Linear(3, 2)], ['7', new nn.ModuleList([new nn.Conv2d(1, 2, 3)])]]),
    AdaptiveMaxPool2d: new nn.AdaptiveMaxPool2d([null, 3]),
    SpatialPyramidPool2d: new nn.SpatialPyramidPool2d([1, 3], { mode: 'avg' }),
    Unflatten: new nn.Unflatten(1, [2, -1, 3]),
    Dropout2d: new nn.Dropout2d(0.2),
    Identity: new nn.Identity(54, { unused: 1 }),
    SiLU: new nn.SiLU(),
    GELU: new nn.GELU({ approximate: 'tanh' }),
    Upsample: new nn.Upsample({ size: [6, 4], mode: 'bilinear', alignCorners: true }),
    UpsamplingBilinear2d: new nn.UpsamplingBilinear2d({ scaleFactor: 2 }),
    UpsamplingNearest2d: new nn.UpsamplingNearest2d({ size: [5, 3] }),
    MaxUnpool2d: new nn.MaxUnpool2d([3, 2], { stride: 2, padding: [1, 0] }),
    MaxUnpool1d: new nn.MaxUnpool1d(3, { stride: 2, padding: 1 }),
    SpectralPool2d: new nn.SpectralPool2d([3, 2]),
    TiledConv2d: new nn.TiledConv2d(3, 4, [3, 2], { tile: [2, 3], stride: 2, padding: [1, 0], dilation: [1, 2], groups: 1, bias: false }),
    PixelShuffle: new nn.PixelShuffle(3),
    PixelUnshuffle: new nn.PixelUnshuffle(2),
    Unfold: new nn.Unfold([3, 2], { dilation: [1, 2], padding: 1, stride: 2 }),
    Fold: new nn.Fold([6, 5], [3, 2], { dilation: [1, 2], padding: 1, stride: 2 }),
    Pad2d: new nn.Pad2d([1, 2, 0, 1], { mode: 'constant', value: 0.5 }),
    ReLU6: new nn.ReLU6(true),
    Hardtanh: new nn.Hardtanh(-2, 3),
    Hardsigmoid: new nn.Hardsigmoid(),
    Hardswish: new nn.Hardswish(),
    Mish: new nn.Mish(),
    Softplus: new nn.Softplus(2, 10),
    BatchNorm1d: new nn.BatchNorm1d(3, 1e-3, 0.2, false),
    LayerNorm: new nn.LayerNorm([3, 4], { eps: 1e-3 }),
    GroupNorm: new nn.GroupNorm(2, 6, { eps: 1e-4, affine: false }),
    InstanceNorm1d: new nn.InstanceNorm1d(3),
    InstanceNorm2d: new nn.InstanceNorm2d(5, 1e-3, 0.2, true, true),
    MSELoss: new nn.MSELoss({ reduction: 'sum' }),
    L1Loss: new nn.L1Loss({ reduction: 'none' }),
    SmoothL1Loss: new nn.SmoothL1Loss({ beta: 0.5 }),
    HuberLoss: new nn.HuberLoss({ delta: 2 }),
    BCELoss: new nn.BCELoss({ weight: w, reduction: 'sum' }),
    BCEWithLogitsLoss: new nn.BCEWithLogitsLoss({ weight: w, posWeight: w }),
    SELU: new nn.SELU(),
    CELU: new nn.CELU(0.5),
    Softsign: new nn.Softsign(),
    LogSigmoid: new nn.LogSigmoid(),
    Tanhshrink: new nn.Tanhshrink(),
    Softshrink: new nn.Softshrink(0.25),
    Hardshrink: new nn.Hardshrink({ lambd: 0.75 }),
    Threshold: new nn.Threshold(0.1, 20),
    GLU: new nn.GLU(1),
    Softmin: new nn.Softmin(-1),
    Softmax2d: new nn.Softmax2d(),
    MaxPool1d: new nn.MaxPool1d(3, 2, 1, 1, false, true),
    AvgPool1d: new nn.AvgPool1d(3, { stride: 1, countIncludePad: false }),
    ChannelShuffle: new nn.ChannelShuffle(3),
    ZeroPad1d: new nn.ZeroPad1d([1, 2]),
    ZeroPad2d: new nn.ZeroPad2d(2),
    ConstantPad1d: new nn.ConstantPad1d(1, -0.5),
    ConstantPad2d: new nn.ConstantPad2d([1, 0, 2, -1], 3),
    ReflectionPad1d: new nn.ReflectionPad1d([2, 1]),
    ReflectionPad2d: new nn.ReflectionPad2d(1),
    ReplicationPad1d: new nn.ReplicationPad1d(3),
    ReplicationPad2d: new nn.ReplicationPad2d([0, 1, 2, 3]),
    // tidy frees the tensors given; the Parameters made on their memory stay.
    ParameterList: tidy(() => new nn.ParameterList([tensor([[1, 2, 3], [4, 5, 6]]), tensor([4])])),
    ParameterDict: tidy(() => new nn.ParameterDict([['b', tensor([2])], ['10', tensor([[1, 3]])]])),
    ZeroPad3d: new nn.ZeroPad3d([1, 0, 0, 1, 2, 0]),
    ConstantPad3d: new nn.ConstantPad3d(1, 0.5),
    ReflectionPad3d: new nn.ReflectionPad3d(1),
    ReplicationPad3d: new nn.ReplicationPad3d([0, 1, 0, 1, 0, 1]),
    Conv3d: new nn.Conv3d(4, 6, [3, 1, 2], { stride: [1, 2, 1], padding: [1, 0, 1], dilation: [2, 1, 1], groups: 2, paddingMode: 'reflect' }),
    ConvTranspose3d: new nn.ConvTranspose3d(2, 4, 2, { stride: 2, outputPadding: [1, 0, 0], groups: 2, bias: false }),
    MaxPool3d: new nn.MaxPool3d([1, 2, 2], null, 0, 1, false, true),
    AvgPool3d: new nn.AvgPool3d(2, 1, { countIncludePad: false, divisorOverride: 3 }),
    LPPool3d: new nn.LPPool3d(3, [1, 2, 2], null, true),
    AdaptiveAvgPool3d: new nn.AdaptiveAvgPool3d([1, null, 2]),
    AdaptiveMaxPool3d: new nn.AdaptiveMaxPool3d(2),
    MaxUnpool3d: new nn.MaxUnpool3d(2, { stride: [2, 2, 1] }),
    Dropout3d: new nn.Dropout3d(0.3),
    BatchNorm3d: new nn.BatchNorm3d(3, { momentum: null }),
    InstanceNorm3d: new nn.InstanceNorm3d(3, 1e-4, 0.2, true, true),
    Embedding: new nn.Embedding(7, 3, { paddingIdx: 2, maxNorm: 1.5, scaleGradByFreq: true }),
    EmbeddingBag: new nn.EmbeddingBag(7, 3, { mode: 'max', paddingIdx: 2, maxNorm: 1.5, includeLastOffset: true }),
    RNN: new nn.RNN(3, 4, 2, 'relu', false, true, 0.25, true),
    LSTM: new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true, projSize: 2 }),
    GRU: new nn.GRU(3, 5, { bias: false, dropout: 0.5, numLayers: 2 }),
    RNNCell: new nn.RNNCell(3, 4, false, 'relu'),
    LSTMCell: new nn.LSTMCell(3, 4),
    GRUCell: new nn.GRUCell(3, 4, { bias: false }),
    QuantizedLinear: quantized(nn.QuantizedLinear.fromFloat, new nn.Linear(5, 3)),
    QuantizedConv2d: quantized(nn.QuantizedConv2d.fromFloat, new nn.Conv2d(4, 6, [3, 2], { stride: [1, 1], padding: 'same', dilation: [1, 2], groups: 2, bias: false, paddingMode: 'reflect' })),
    QuantizedLSTM: quantized(nn.QuantizedLSTM.fromFloat, new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true })),
    QuantizedGRU: quantized(nn.QuantizedGRU.fromFloat, new nn.GRU(3, 4, { bias: false, dropout: 0.25, numLayers: 2 })),
    QuantizedRNNCell: quantized(nn.QuantizedRNNCell.fromFloat, new nn.RNNCell(3, 4, false, 'relu')),
    QuantizedLSTMCell: quantized(nn.QuantizedLSTMCell.fromFloat, new nn.LSTMCell(3, 4)),
    QuantizedGRUCell: quantized(nn.QuantizedGRUCell.fromFloat, new nn.GRUCell(3, 4, { bias: false })),
    CosineEmbeddingLoss: new nn.CosineEmbeddingLoss(0.25, { reduction: 'sum' }),
    MarginRankingLoss: new nn.MarginRankingLoss(0.5),
    SoftMarginLoss: new nn.SoftMarginLoss({ reduction: 'none' }),
    MultiLabelSoftMarginLoss: new nn.MultiLabelSoftMarginLoss(w, { reduction: 'sum' }),
    HingeEmbeddingLoss: new nn.HingeEmbeddingLoss({ margin: 2 }),
    PoissonNLLLoss: new nn.PoissonNLLLoss(false, true, { eps: 1e-4 }),
    GaussianNLLLoss: new nn.GaussianNLLLoss({ full: true, eps: 1e-3 }),
    MultiLabelMarginLoss: new nn.MultiLabelMarginLoss({ reduction: 'mean' }),
    CTCLoss: new nn.CTCLoss(1, 'sum', { zeroInfinity: true }),
    CosineSimilarity: new nn.CosineSimilarity(0, 1e-6),
    PairwiseDistance: new nn.PairwiseDistance({ p: 1, eps: 1e-4, keepdim: true }),
    Bilinear: new nn.Bilinear(3, 4, 2, { bias: false }),
    AdaptiveAvgPool1d: new nn.AdaptiveAvgPool1d(5),
    AdaptiveMaxPool1d: new nn.AdaptiveMaxPool1d([3]),
    LPPool1d: new nn.LPPool1d(1.5, 3, 2, true),
    Dropout1d: new nn.Dropout1d(0.3),
    AlphaDropout: new nn.AlphaDropout({ p: 0.2 }),
    FeatureAlphaDropout: new nn.FeatureAlphaDropout(0.1, false),
  };
  w.dispose();
  return m;
}

function sameState(a: nn.Module, b: nn.Module, what: string): void {
  const sa = a.stateDict(), sb = b.stateDict();
  expect(Object.keys(sb), what).to.deep.equal(Object.keys(sa));
  for (const k of Object.keys(sa)) {
    expect(sb[k].shape, `${what} ${k}`).to.deep.equal(sa[k].shape);
    expectBitIdentical(sb[k].dataSync() as Float32Array, sa[k].dataSync() as Float32Array, `${what} ${k}`);
  }
  disposeAll(sa); disposeAll(sb);
}

describe('models.save / models.load', () => {
  it('every nn class is covered by the round-trip test below', () => {
    const classes = Object.entries(nn).filter(([, v]) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof nn.Module).map(([k]) => k);
    const layers = everyLayer();
    expect(Object.keys(layers).sort()).to.deep.equal(classes.sort());
    for (const m of Object.values(layers)) m.dispose();
  });

  it('round-trips every layer class: same type, same config, bit-identical state', () => {
    const dir = tmpdir();
    const before = memory().tensors;
    const layers = everyLayer();
    // BatchNorm with real running statistics and a counter.
    const bnInput = randomTensor([4, 3, 2, 2], 3).t;
    noGrad(() => layers.BatchNorm2d.call(bnInput).dispose());
    bnInput.dispose();
    for (const [name, m] of Object.entries(layers)) {
      const saved = models.save(m, path.join(dir, name));
      expect(fs.existsSync(saved.weights)).to.equal(true);
      const back = models.load(path.join(dir, name));
      expect(back.constructor, name).to.equal(m.constructor);
      expect(JSON.stringify(back.config()), name).to.equal(JSON.stringify(m.config()));
      expect(back.toString(), name).to.equal(m.toString());
      sameState(m, back, name);
      back.dispose();
      m.dispose();
    }
    const bn = models.load(path.join(dir, 'BatchNorm2d')) as nn.BatchNorm2d;
    expect(bn.numBatchesTracked).to.equal(1);
    bn.dispose();
    expect(memory().tensors).to.equal(before);
  });

  it('round-trips a nested Sequential, giving the same output, through a folder or a .json path', () => {
    const dir = tmpdir();
    const model = new nn.Sequential(
      new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.PReLU({ numParameters: 4 })),
      new nn.MaxPool2d(2), new nn.Sequential({ flat: new nn.Flatten(), fc: new nn.Linear(64, 10) }), new nn.LogSoftmax(1),
    );
    tidy(() => { noGrad(() => model.call(randomTensor([3, 1, 8, 8], 1).t)); });
    model.eval();
    const x = randomTensor([2, 1, 8, 8], 2).t;
    const y = noGrad(() => model.call(x));
    for (const target of [path.join(dir, 'net'), path.join(dir, 'other', 'lenet.json')]) {
      const saved = models.save(model, target);
      if (target.endsWith('.json')) expect(saved.weights).to.equal(path.join(dir, 'other', 'lenet.safetensors'));
      const back = models.load(target).eval();
      sameState(model, back, target);
      expect(back.toString()).to.equal(model.toString());
      const y2 = noGrad(() => back.call(x));
      expectBitIdentical(y2.dataSync() as Float32Array, y.dataSync() as Float32Array, 'y');
      y2.dispose(); back.dispose();
    }
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'net', 'model.json'), 'utf8'));
    expect(doc).to.include({ format: 'cudnn-convnet/model', version: 1, weights: 'model.safetensors' });
    expect(doc.architecture.type).to.equal('Sequential');
    x.dispose(); y.dispose(); model.dispose();
  });

  it('custom modules need config() and models.register; unknown types are E_FORMAT on load', () => {
    class Net extends nn.Module {
      readonly fc: nn.Linear;
      constructor(readonly hidden: number) { super(); this.fc = this.registerModule('fc', new nn.Linear(4, hidden)); }
      forward(x: Tensor) { return this.fc.call(x); }
    }
    const dir = tmpdir();
    const net = new Net(3);
    expectError(() => models.save(net, path.join(dir, 'a')), 'E_ARG', /Net, which is not registered/);
    expect(fs.existsSync(path.join(dir, 'a'))).to.equal(false);
    // A function in a config (a custom distance) cannot go in model.json: refused, nothing written.
    const withDistance = new nn.TripletMarginWithDistanceLoss({ distanceFunction: (x, y) => F.pairwiseDistance(x, y, { p: 1 }) });
    expectError(() => models.save(withDistance, path.join(dir, 'a')), 'E_ARG', /distanceFunction is function, which model.json cannot hold/);
    expect(fs.existsSync(path.join(dir, 'a'))).to.equal(false);
    models.register('TestNet', Net);
    expectError(() => models.save(net, path.join(dir, 'a')), 'E_ARG', /has no config\(\)/);
    class Net2 extends Net { override config() { return [this.hidden]; } }
    models.register('TestNet2', Net2);
    expectError(() => models.register('TestNet2', Net), 'E_ARG', /already registered/);
    expectError(() => models.register('x', Object as never), 'E_ARG');
    const n2 = new Net2(3);
    models.save(new nn.Sequential(n2), path.join(dir, 'b'));
    const back = models.load(path.join(dir, 'b')) as nn.Sequential;
    expect(back.at(0)).to.be.instanceOf(Net2);
    sameState(n2, back.at(0), 'custom');
    back.dispose(); n2.dispose(); net.dispose();
    const json = path.join(dir, 'b', 'model.json');
    fs.writeFileSync(json, fs.readFileSync(json, 'utf8').replace('TestNet2', 'Unheard'));
    const before = memory().tensors;
    expectError(() => models.load(json), 'E_FORMAT', /unknown module type "Unheard".*models\.register/);
    expect(memory().tensors).to.equal(before);
  });

  it('saving a disposed model is E_DISPOSED naming stateDict and the key (it said "detach"), leaving nothing', () => {
    const m = new nn.Linear(2, 2);
    m.dispose();
    const before = memory().tensors;
    expectError(() => models.save(m, path.join(tmpdir(), 'm')), 'E_DISPOSED', /stateDict: "weight" has been disposed/);
    expect(memory().tensors).to.equal(before);
  });

  it('save refuses a config() holding a cycle or itself (it overflowed the stack) with E_ARG', () => {
    class Loop extends nn.Module {
      constructor(readonly arg: unknown) { super(); }
      override config() { return [this.arg]; }
      forward(x: Tensor) { return x; }
    }
    models.register('TestLoop', Loop);
    const dir = tmpdir();
    const a: unknown[] = [1];
    a.push(a);
    const o: Record<string, unknown> = {};
    o.self = o;
    expectError(() => models.save(new Loop(a), path.join(dir, 'a')), 'E_ARG', /args\[0\]\[1\] contains itself/);
    expectError(() => models.save(new Loop(o), path.join(dir, 'o')), 'E_ARG', /contains itself/);
    const m = new Loop(null);
    (m as unknown as { arg: unknown }).arg = m;
    expectError(() => models.save(m, path.join(dir, 'm')), 'E_ARG', /contains itself/);
    let deep: unknown = 1;
    for (let i = 0; i < 10000; i++) deep = [deep];
    expectError(() => models.save(new Loop(deep), path.join(dir, 'd')), 'E_ARG', /nested more than 256/);
    expect(fs.existsSync(path.join(dir, 'a'))).to.equal(false);
    // The same value twice (not a cycle) is fine.
    const shared = [1, 2];
    models.save(new Loop([shared, shared]), path.join(dir, 'ok'));
    // An option named "__proto__" stays an own key both ways (it replaced the prototype on load).
    models.save(new Loop(JSON.parse('{"__proto__": {"polluted": 1}}')), path.join(dir, 'proto'));
    const back = models.load(path.join(dir, 'proto')) as unknown as { arg: Record<string, unknown> };
    expect(Object.getPrototypeOf(back.arg)).to.equal(Object.prototype);
    expect(Object.keys(back.arg)).to.deep.equal(['__proto__']);
    expect((back.arg as { polluted?: number }).polluted).to.equal(undefined);
  });

  it('a corrupt or mismatched model file is E_FORMAT and leaves nothing allocated; a missing one E_LOAD', () => {
    const dir = tmpdir();
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU());
    models.save(model, path.join(dir, 'm'));
    const json = path.join(dir, 'm', 'model.json');
    const text = fs.readFileSync(json, 'utf8');
    const linearArgs = (s: string, inF: number, outF: number) => {
      const doc = JSON.parse(s);
      doc.architecture.args[0].$module.args.splice(0, 2, inF, outF);
      return JSON.stringify(doc);
    };
    const before = memory().tensors;
    const edits: [string, (s: string) => string, RegExp][] = [
      ['bad JSON', (s) => s.slice(0, 20), /not valid JSON/],
      ['other version', (s) => s.replace('"version": 1', '"version": 2'), /version 2/],
      ['other format', (s) => s.replace('cudnn-convnet/model', 'keras'), /format/],
      ['weights outside the folder', (s) => s.replace('"model.safetensors"', '"../x.safetensors"'), /same folder/],
      ['bad constructor arguments', (s) => linearArgs(s, -4, 3), /Linear cannot be built/],
      ['weights that do not fit', (s) => linearArgs(s, 4, 5), /do not fit.*size mismatch/],
      // These threw RangeError (stack overflow) instead of naming the file.
      ['10,000-deep nesting', (s) => s.replace('"args": [', `"args": [${'['.repeat(10000)}${']'.repeat(10000)}, `), /nested more than 256 levels/],
      ['10,000-deep modules', (s) => s.replace('"args": [', `"args": [${'{"$module": {"type": "Sequential", "args": ['.repeat(10000)}${']}}'.repeat(10000)}, `), /nested more than 256 levels/],
      ['100,000 children', (s) => s.replace('"args": [', `"args": [${'{"$module": {"type": "ReLU", "args": []}}, '.repeat(100000)}`), /100002 arguments \(at most 10000\)/],
    ];
    for (const [what, edit, pattern] of edits) {
      const changed = edit(text);
      expect(changed, what).to.not.equal(text);
      fs.writeFileSync(json, changed);
      expectError(() => models.load(path.join(dir, 'm')), 'E_FORMAT', pattern);
      expect(memory().tensors, what).to.equal(before);
    }
    fs.writeFileSync(json, text);
    const w = path.join(dir, 'm', 'model.safetensors');
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 100));
    expectError(() => models.load(path.join(dir, 'm')), 'E_FORMAT', /truncated/);
    fs.unlinkSync(w);
    expectError(() => models.load(path.join(dir, 'm')), 'E_LOAD');
    expectError(() => models.load(path.join(dir, 'nothing')), 'E_LOAD');
    expect(memory().tensors).to.equal(before);
    model.dispose();
  });
});
