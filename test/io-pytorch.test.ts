/**
 * io.loadPytorch on checkpoints written by PyTorch 1.13's torch.save (test/fixtures/pt_*.pt, made
 * by test/fixtures/make/pytorch.py, which also wrote what they hold to pytorch.json): every dtype,
 * strided and shared-storage tensors, nested checkpoints, the legacy format, a LeNet-5 state dict
 * giving PyTorch's outputs, pickles that would run code, and every truncation of a file.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { ConvnetError, io, memory, models, noGrad, tensor, type Tensor } from '../lib';
import { crc32 } from '../lib/io/zip';
import { cudaAvailable, describeCuda } from './cuda-helpers';
import { expectClose, expectError, loadFixture } from './helpers';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (name: string) => path.join(FIXTURES, name);

interface Expected { shape: number[]; dtype: string; values: number[] }
const cases = loadFixture<{ cases: Record<string, Record<string, Expected>> }>('pytorch').cases;

function disposeAll(ts: Record<string, Tensor>): void {
  for (const t of Object.values(ts)) t.dispose();
}

/** Each tensor has PyTorch's shape and values, as float32 (floats) or int32 (the rest). */
function expectTensors(actual: Record<string, Tensor>, expected: Record<string, Expected>): void {
  expect(Object.keys(actual)).to.deep.equal(Object.keys(expected));
  for (const [key, e] of Object.entries(expected)) {
    const t = actual[key];
    expect(t.shape, key).to.deep.equal(e.shape);
    const float = e.dtype.startsWith('float') || e.dtype === 'bfloat16';
    expect(t.dtype, key).to.equal(float ? 'float32' : 'int32');
    // float64 values are rounded to float32 once, as loading does; the others are exact.
    const want = float ? Array.from(Float32Array.from(e.values)) : e.values;
    expect(Array.from(t.dataSync()), key).to.deep.equal(want);
  }
}

describe('io.loadPytorch', () => {
  it('reads every dtype torch.save writes, converting to float32 and int32; 0-d and empty tensors', () => {
    const before = memory().tensors;
    const ts = io.loadPytorch(fixture('pt_dtypes.pt'));
    expect(memory().tensors).to.equal(before + 13);
    expectTensors(ts, cases.dtypes);
    expect(ts.bool.dataSync()).to.deep.equal(new Int32Array([1, 0, 0, 1]));
    disposeAll(ts);
    // From bytes too.
    const again = io.loadPytorch(fs.readFileSync(fixture('pt_dtypes.pt')));
    expectTensors(again, cases.dtypes);
    disposeAll(again);
  });

  it('with { convert: false } loads float32 and int32 only; any other dtype is E_DTYPE naming the tensor, nothing left allocated', () => {
    const before = memory().tensors;
    expectError(() => io.loadPytorch(fixture('pt_dtypes.pt'), { convert: false }), 'E_DTYPE', /"float64" has dtype float64/);
    expect(memory().tensors).to.equal(before);
    const ts = io.loadPytorch(fixture('pt_views.pt'), { convert: false });
    expectTensors(ts, cases.views);
    disposeAll(ts);
  });

  it('honours offsets and strides: transposes, step slices, expanded (stride 0) and shared storages, Parameters', () => {
    const ts = io.loadPytorch(fixture('pt_views.pt'));
    expectTensors(ts, cases.views);
    // Each is its own copy, though they shared a storage in PyTorch.
    ts.base.dispose();
    expect(ts.row.dataSync()).to.deep.equal(new Float32Array([20, 21, 22, 23]));
    delete (ts as Record<string, Tensor>).base;
    disposeAll(ts);
  });

  it('reads the legacy (pre-1.6) format: _use_new_zipfile_serialization=False', () => {
    const ts = io.loadPytorch(fixture('pt_legacy.pt'));
    expectTensors(ts, cases.views);
    disposeAll(ts);
  });

  it('flattens a checkpoint to dotted paths, or gives its structure with { structure: true }', () => {
    const flat = io.loadPytorch(fixture('pt_nested.pt'));
    expectTensors(flat, cases.nested);
    disposeAll(flat);
    const ckpt = io.loadPytorch(fixture('pt_nested.pt'), { structure: true }) as Record<string, any>;
    expect(Object.keys(ckpt)).to.deep.equal(['model_state_dict', 'optimizer_state_dict', 'epoch', 'loss', 'name', 'flags', 'history', 'big']);
    expect(ckpt.epoch).to.equal(3);
    expect(ckpt.loss).to.equal(0.25);
    expect(ckpt.name).to.equal('lenet');
    expect(ckpt.flags).to.deep.equal([1, 2.5, null, true, false]);
    expect(ckpt.big).to.equal(2n ** 70n);
    expect(ckpt.optimizer_state_dict.param_groups).to.deep.equal([{ lr: 0.1, params: [0, 1] }]);
    // An int key (the optimizer's parameter index) becomes a string, as Python's str() writes it.
    expect(Object.keys(ckpt.optimizer_state_dict.state)).to.deep.equal(['0']);
    const sd = ckpt.model_state_dict as Record<string, Tensor>;
    expect(Object.keys(sd)).to.deep.equal(['conv.weight', 'conv.bias', 'bn.num_batches_tracked']);
    expect(Array.from(sd['bn.num_batches_tracked'].dataSync())).to.deep.equal([4]);
    expect(sd['conv.weight'].dataSync()).to.deep.equal(Float32Array.from(cases.nested['model_state_dict.conv.weight'].values));
    disposeAll(sd);
    ckpt.optimizer_state_dict.state['0'].momentum_buffer.dispose();
    for (const t of ckpt.history) t.dispose();
  });

  it('an int64 value outside int32\'s range is E_RANGE naming the tensor; nothing is left allocated', () => {
    const before = memory().tensors;
    expectError(() => io.loadPytorch(fixture('pt_int64_range.pt')), 'E_RANGE', /"counts" holds the int64 value 2147483648/);
    expect(memory().tensors).to.equal(before);
  });

  it('a LeNet-5 state dict (deflated entries) loads into models.LeNet5() and gives PyTorch\'s outputs', () => {
    const weights = io.loadPytorch(fixture('pt_lenet.pt'));
    const net = models.LeNet5();
    net.loadStateDict(weights);
    disposeAll(weights);
    net.eval();
    const x = tensor(Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => Math.sin(i * 0.37)), { shape: [2, 1, 28, 28] });
    const y = noGrad(() => net.call(x));
    const want = cases.lenet.y as unknown as { shape: number[]; values: number[] };
    expect(y.shape).to.deep.equal(want.shape);
    expectClose(y.dataSync(), want.values, 1e-4, 1e-5, 'LeNet-5 output vs PyTorch (float64)');
    [x, y].forEach((t) => t.dispose());
    net.dispose();
  });

  it('refuses a pickle naming os.system (E_FORMAT naming it) without running anything', () => {
    const marker = '/tmp/convnet-pytorch-evil';
    if (fs.existsSync(marker)) fs.unlinkSync(marker);
    const before = memory().tensors;
    expectError(() => io.loadPytorch(fixture('pt_evil.pt')), 'E_FORMAT', /Python global posix\.system/);
    expect(fs.existsSync(marker)).to.equal(false);
    expect(memory().tensors).to.equal(before);
    // An object of any user class too, named.
    expectError(() => io.loadPytorch(fixture('pt_class.pt')), 'E_FORMAT', /Python global mypackage\.Custom/);
  });

  // test/fixtures/make/pytorch_training.py: {epoch, arch, state_dict, optimizer, args:
  // argparse.Namespace, best_acc1: numpy.float64, NumPy scalars of each kind, a NumPy array}.
  describe('a whole training checkpoint (argparse.Namespace, NumPy scalars and arrays)', () => {
    const training = loadFixture<{ cases: { tensors: Record<string, { shape: number[]; values: number[] }>; epoch: number; best_acc1: number; args: Record<string, unknown>; numpy: Record<string, unknown> } }>('pytorch_training').cases;
    for (const name of ['pt_training.pt', 'pt_training_legacy.pt']) {
      it(`${name}: refused by default (E_FORMAT naming argparse.Namespace and the option), nothing left allocated`, () => {
        const before = memory().tensors;
        expectError(() => io.loadPytorch(fixture(name)), 'E_FORMAT', /Python global argparse\.Namespace, which is not on the allow-list.*pass \{ weightsOnly: false \}/);
        expectError(() => io.loadPytorch(fixture(name), { structure: true, weightsOnly: true }), 'E_FORMAT', /argparse\.Namespace/);
        expect(memory().tensors).to.equal(before);
      });

      it(`${name}: with { weightsOnly: false } loads: tensors, NumPy scalars as numbers, the Namespace and the array as inert placeholders`, () => {
        const ckpt = io.loadPytorch(fixture(name), { structure: true, weightsOnly: false }) as Record<string, unknown>;
        expect(ckpt.epoch).to.equal(training.epoch);
        expect(ckpt.arch).to.equal('resnet18');
        expect(ckpt.best_acc1).to.equal(training.best_acc1);
        const sd = ckpt.state_dict as Record<string, Tensor>;
        expect(Object.keys(sd)).to.deep.equal(Object.keys(training.tensors));
        for (const [k, e] of Object.entries(training.tensors)) {
          expect(sd[k].shape, k).to.deep.equal(e.shape);
          expect(Array.from(sd[k].dataSync()), k).to.deep.equal(Array.from(Float32Array.from(e.values)));
        }
        const args = ckpt.args as io.PythonObject;
        expect(args).to.be.instanceOf(io.PythonObject);
        expect([args.module, args.name, args.args, args.kwargs]).to.deep.equal(['argparse', 'Namespace', [], null]);
        expect(args.state).to.deep.equal(training.args);
        const { big, ...small } = training.numpy;
        expect(ckpt.numpy).to.deep.equal({ ...small, big: BigInt(big as string) });
        const array = ckpt.confusion as io.PythonObject;
        expect(array).to.be.instanceOf(io.PythonObject);
        expect(`${array.module}.${array.name}`).to.equal('numpy.core.multiarray._reconstruct');
        expect(String(array.args[0])).to.equal('numpy.ndarray');
        expect(array.args[0]).to.be.instanceOf(io.PythonGlobal);
        const momentum = ((ckpt.optimizer as { state: Record<string, Record<string, Tensor>> }).state['0']).momentum_buffer;
        expect(Array.from(momentum.dataSync())).to.deep.equal([0.5, 0.5]);
        // A tensor inside a placeholder's state is made too (structure only).
        const mean = ((ckpt.normalize as io.PythonObject).state as { mean: Tensor }).mean;
        expect(Array.from(mean.dataSync())).to.deep.equal(Array.from(Float32Array.of(0.485, 0.456, 0.406)));
        disposeAll(sd);
        [momentum, mean].forEach((t) => t.dispose());
        // The flat form: the tensors only, placeholders and numbers left out.
        const flat = io.loadPytorch(fixture(name), { weightsOnly: false });
        expect(Object.keys(flat)).to.deep.equal([...Object.keys(training.tensors).map((k) => `state_dict.${k}`), 'optimizer.state.0.momentum_buffer']);
        disposeAll(flat);
      });
    }

    it('{ weightsOnly: false } runs nothing: a payload calling os.system is a placeholder naming it; a user class keeps its attributes', () => {
      const marker = '/tmp/convnet-pytorch-evil';
      if (fs.existsSync(marker)) fs.unlinkSync(marker);
      const evil = io.loadPytorch(fixture('pt_evil.pt'), { structure: true, weightsOnly: false }) as { w: Tensor; payload: io.PythonObject };
      expect(fs.existsSync(marker)).to.equal(false);
      expect([evil.payload.module, evil.payload.name, evil.payload.args]).to.deep.equal(['posix', 'system', ['echo pwned > /tmp/convnet-pytorch-evil']]);
      evil.w.dispose();
      const custom = io.loadPytorch(fixture('pt_class.pt'), { structure: true, weightsOnly: false }) as { w: Tensor; config: io.PythonObject };
      expect([custom.config.module, custom.config.name, custom.config.state]).to.deep.equal(['mypackage', 'Custom', { value: 1 }]);
      custom.w.dispose();
      expectError(() => io.loadPytorch(fixture('pt_class.pt'), { weightsOnly: 'no' } as never), 'E_ARG', /`weightsOnly` to be a boolean/);
    });

    it('placeholders from hand-made pickles: INST, OBJ, NEWOBJ_EX with keyword arguments; NEWOBJ of an allowed function refused', () => {
      const u = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
      const pickle = (...ops: number[]) => zip({ 'a/data.pkl': Buffer.from([0x80, 0x04, ...ops, 0x2e]) });
      const load = (...ops: number[]) => io.loadPytorch(pickle(...ops), { structure: true, weightsOnly: false });
      // INST "m\nC\n" with (1,): C(1)
      const inst = load(0x28, 0x4b, 1, 0x69, ...Buffer.from('m\nC\n')) as io.PythonObject;
      expect([inst.module, inst.name, inst.args]).to.deep.equal(['m', 'C', [1]]);
      // OBJ: (m.C, 2)
      const obj = load(0x28, ...u('m'), ...u('C'), 0x93, 0x4b, 2, 0x6f) as io.PythonObject;
      expect([obj.name, obj.args]).to.deep.equal(['C', [2]]);
      // NEWOBJ_EX m.C, (), {'k': 3}
      const ex = load(...u('m'), ...u('C'), 0x93, 0x29, 0x7d, ...u('k'), 0x4b, 3, 0x73, 0x92) as io.PythonObject;
      expect([ex.args, ex.kwargs]).to.deep.equal([[], { k: 3 }]);
      // NEWOBJ of an allowed function is not a class: refused. The default mode refuses INST by name.
      expectError(() => load(...u('collections'), ...u('OrderedDict'), 0x93, 0x29, 0x81), 'E_FORMAT', /not a class off the allow-list/);
      expectError(() => io.loadPytorch(pickle(0x28, 0x4b, 1, 0x69, ...Buffer.from('m\nC\n'))), 'E_FORMAT', /builds an object of a Python class/);
    });
  });

  it('every truncation of a zip and a legacy file is E_FORMAT, with nothing left allocated', () => {
    const before = memory().tensors;
    for (const name of ['pt_views.pt', 'pt_legacy.pt']) {
      const bytes = fs.readFileSync(fixture(name));
      for (let n = 0; n < bytes.length; n++) {
        try {
          disposeAll(io.loadPytorch(bytes.subarray(0, n)));
          expect.fail(`${name} cut to ${n} bytes loaded`);
        } catch (e) {
          expect(e, `${name} cut to ${n} bytes: ${String(e)}`).to.be.instanceOf(ConvnetError);
          expect((e as ConvnetError).code, `${name} cut to ${n}`).to.equal('E_FORMAT');
        }
      }
    }
    expect(memory().tensors).to.equal(before);
  });

  it('any one corrupt byte gives a ConvnetError or a load, never a crash; in a zip, its CRC-32 catches the data', () => {
    const before = memory().tensors;
    for (const name of ['pt_views.pt', 'pt_legacy.pt']) {
      const bytes = fs.readFileSync(fixture(name));
      for (let i = 0; i < bytes.length; i++) {
        const bad = Buffer.from(bytes);
        bad[i] ^= 0x5a;
        try {
          disposeAll(io.loadPytorch(bad));
        } catch (e) {
          expect(e, `${name} with byte ${i} changed: ${String(e)}`).to.be.instanceOf(ConvnetError);
        }
      }
    }
    expect(memory().tensors).to.equal(before);
    // A changed byte of the zip's storage data is caught by the CRC-32.
    const bytes = fs.readFileSync(fixture('pt_views.pt'));
    const at = bytes.lastIndexOf(Buffer.from(new Float32Array([23]).buffer));
    const bad = Buffer.from(bytes);
    bad[at] ^= 1;
    expectError(() => io.loadPytorch(bad), 'E_FORMAT', /data\/\d+" fails its CRC-32 check/);
  });

  it('refuses what is not a checkpoint, TorchScript archives and bad arguments with typed errors', () => {
    expectError(() => io.loadPytorch(new Uint8Array(0)), 'E_FORMAT', /empty/);
    expectError(() => io.loadPytorch(Buffer.from('hello world')), 'E_FORMAT', /neither a zip archive/);
    expectError(() => io.loadPytorch(fixture('torch_model.safetensors')), 'E_FORMAT');
    expectError(() => io.loadPytorch(zip({ 'm/data.pkl': Buffer.from([0x80, 0x02, 0x4e, 0x2e]), 'm/code/m.py': Buffer.from('') })), 'E_FORMAT', /TorchScript/);
    expectError(() => io.loadPytorch(zip({ 'm/other': Buffer.from('x') })), 'E_FORMAT', /no <name>\/data\.pkl/);
    expectError(() => io.loadPytorch(path.join(FIXTURES, 'no-such.pt')), 'E_LOAD');
    expectError(() => io.loadPytorch(42 as never), 'E_ARG');
    expectError(() => io.loadPytorch(fixture('pt_views.pt'), { mmap: true } as never), 'E_ARG');
    expectError(() => io.loadPytorch(fixture('pt_views.pt'), { structure: 'yes' } as never), 'E_ARG');
    expectError(() => io.loadPytorch(fixture('pt_views.pt'), { device: 'tpu' }), 'E_DEVICE');
    if (!cudaAvailable()) expectError(() => io.loadPytorch(fixture('pt_views.pt'), { device: 'cuda' }), 'E_DEVICE', /not available/);
  });

  it('reads a hand-made pickle: protocol 4 frames, memo, big-endian storages (byteorder), a tensor at the top level', () => {
    const data = Buffer.alloc(24);
    [7, 1.5, -2].forEach((v, i) => data.writeDoubleBE(v, 8 * i));
    const t = io.loadPytorch(handMade(1, [2], [1], data, 'big'), { structure: true }) as Tensor;
    expect(t.shape).to.deep.equal([2]);
    expect(Array.from(t.dataSync())).to.deep.equal([1.5, -2]);
    t.dispose();
  });

  it('the pickle reader refuses classes, unknown opcodes and self-containing objects by E_FORMAT', () => {
    const u = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
    const pickle = (...ops: number[]) => zip({ 'a/data.pkl': Buffer.from([0x80, 0x04, ...ops, 0x2e]) });
    const load = (...ops: number[]) => io.loadPytorch(pickle(...ops), { structure: true });
    expect(load(0x7d, 0x94, ...u('k'), 0x4a, 255, 255, 255, 255, 0x73)).to.deep.equal({ k: -1 }); // {'k': -1}
    expectError(() => load(...u('builtins'), ...u('eval'), 0x93), 'E_FORMAT', /Python global builtins\.eval/);
    expectError(() => load(0x63, ...Buffer.from('subprocess\nPopen\n')), 'E_FORMAT', /Python global subprocess\.Popen/);
    expectError(() => load(...u('collections'), ...u('OrderedDict'), 0x93, 0x29, 0x81), 'E_FORMAT', /builds an object of a Python class/);
    expectError(() => load(0x5d, 0x7d, 0x62), 'E_FORMAT', /sets the state of an object that is not a dict/);
    expectError(() => load(0xff), 'E_FORMAT', /unsupported pickle opcode 0xff/);
    expectError(() => io.loadPytorch(zip({ 'a/data.pkl': Buffer.from([0x80, 0x06, 0x4e, 0x2e]) })), 'E_FORMAT', /protocol 6/);
    expectError(() => load(0x4e, 0x4e), 'E_FORMAT', /malformed stack/);
    expectError(() => load(0x30), 'E_FORMAT', /pops an empty stack/);
    expectError(() => load(0x68, 9), 'E_FORMAT', /memo 9, which was never stored/);
    expectError(() => load(0x7d, 0x29, 0x4e, 0x73), 'E_FORMAT', /key that is not a string or a number/);
    // l = []; l.append(l)
    expectError(() => load(0x5d, 0x94, 0x68, 0, 0x61), 'E_FORMAT', /contains itself/);
    expectError(() => io.loadPytorch(pickle(0x5d, 0x94, 0x68, 0, 0x61)), 'E_FORMAT', /contains itself/);
    expectError(() => load(0x28, ...u('storage'), 0x74, 0x51), 'E_FORMAT', /unexpected persistent id/);
    // What PyTorch 2 writes for float8 and uint16: an untyped storage.
    expectError(() => load(0x28, ...u('storage'), ...u('torch.storage'), ...u('UntypedStorage'), 0x93, ...u('0'), ...u('cpu'), 0x4b, 4, 0x74, 0x51), 'E_DTYPE', /untyped storage/);
  });

  it('refuses tensors that reach past their storage, or ask for over 2^31 - 1 elements from a small one (stride 0)', () => {
    const data = Buffer.alloc(24);
    const whole = io.loadPytorch(handMade(0, [3], [1], data, 'little'));
    expect(Object.keys(whole)).to.deep.equal(['']); // a tensor saved alone has the empty path
    expect(whole[''].shape).to.deep.equal([3]);
    disposeAll(whole);
    expectError(() => io.loadPytorch(handMade(1, [3], [1], data, 'little')), 'E_FORMAT', /reaches element 3 of storage "0", which has 3/);
    expectError(() => io.loadPytorch(handMade(0, [2, 2], [2, 1], data, 'little')), 'E_FORMAT', /reaches element 3/);
    expectError(() => io.loadPytorch(handMade(0, [100000, 100000], [0, 0], data, 'little')), 'E_FORMAT', /over 2\^31 - 1 elements/);
    expectError(() => io.loadPytorch(handMade(0, [2], [1], data, 'middle')), 'E_FORMAT', /byteorder is "middle"/);
    expectError(() => io.loadPytorch(handMade(0, [2], [1], data.subarray(0, 20), 'little')), 'E_FORMAT', /needs 24 bytes, its entry has 20/);
  });
});

describeCuda('io.loadPytorch', () => {
  it('puts the tensors on the GPU with { device: "cuda" }, the same values', () => {
    const ts = io.loadPytorch(fixture('pt_views.pt'), { device: 'cuda' });
    for (const t of Object.values(ts)) expect(t.device).to.equal('cuda');
    expectTensors(ts, cases.views);
    disposeAll(ts);
  });
});

/**
 * A checkpoint holding one tensor (a float64 storage of 3 elements, key "0"), pickled by hand with
 * protocol 4's opcodes (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE), the tensor then fetched
 * from the memo again (MEMOIZE, POP, BINGET).
 */
function handMade(offset: number, size: number[], stride: number[], data: Uint8Array, byteorder: string): Buffer {
  const u = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
  const int = (v: number) => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(v, 1); return [...b]; };
  const body = Buffer.from([
    0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 0,
    ...u('torch._utils'), 0x94, ...u('_rebuild_tensor_v2'), 0x94, 0x93, 0x94, // memo 0, 1, 2
    0x28, // MARK: the arguments
    0x28, ...u('storage'), ...u('torch'), ...u('DoubleStorage'), 0x93, ...u('0'), ...u('cpu'), 0x4b, 3, 0x74, 0x51,
    ...int(offset), 0x28, ...size.flatMap(int), 0x74, 0x28, ...stride.flatMap(int), 0x74, 0x89, 0x7d, 0x74,
    0x52, 0x94, 0x30, 0x68, 3, 0x2e, // REDUCE, MEMOIZE (3), POP, BINGET 3, STOP
  ]);
  return zip({ 'a/data.pkl': body, 'a/byteorder': Buffer.from(byteorder), 'a/data/0': data, 'a/version': Buffer.from('3\n') });
}

/** A zip archive of these entries, stored (what torch.save writes), with a plain end record. */
function zip(entries: Record<string, Uint8Array>): Buffer {
  const locals: Buffer[] = [], centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, Buffer.from(data));
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
