/**
 * The public API under junk arguments: the findings of scripts/fuzz-api.ts (each a call that
 * threw a raw TypeError or RangeError instead of a ConvnetError), one test each, and a fixed,
 * fast slice of the fuzz itself (run in a child process, so a crash fails the test instead of
 * killing mocha). The full fuzz: `node dist/scripts/fuzz-api.js --cases 20000`.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cc from '../lib';
import { readerCases, mutations, Rng, isTyped, scenarios } from '../scripts/fuzz-api';

function expectCode(f: () => unknown, code: string, message?: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(cc.ConvnetError);
    expect((e as cc.ConvnetError).code, (e as Error).message).to.equal(code);
    if (message) expect((e as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${code}, nothing was thrown`);
}

/** Values a plain `table[key]` or a template string mishandles. */
const hostileKeys: unknown[] = [new Array(2 ** 31 - 1), Object.create(null), Symbol('s'), 'constructor', '__proto__', 'toString', {}, [1, 2]];

describe('the public API under junk arguments (fuzz findings)', () => {
  it('isPng, isPnm and decodeImage refuse what is not bytes with E_ARG (was: TypeError reading .length)', () => {
    for (const junk of [undefined, null, 3, 'P5 1 1', [0x89, 0x50], new Array(2 ** 31 - 1), {}]) {
      expectCode(() => cc.data.isPng(junk as never), 'E_ARG', /isPng: expected the file's bytes/);
      expectCode(() => cc.data.isPnm(junk as never), 'E_ARG', /isPnm: expected the file's bytes/);
      expectCode(() => cc.data.decodeImage(junk as never, 'x.png'), 'E_ARG', /decodeImage: expected the file's bytes/);
    }
    const pgm = Buffer.concat([Buffer.from('P5\n2 1\n255\n'), Buffer.from([0, 255])]);
    expectCode(() => cc.data.decodeImage(pgm, 7 as never), 'E_ARG', /`name`/);
    expectCode(() => cc.data.decodeImage(Buffer.from('GIF89a'), 'a.gif', 'decode' as never), 'E_ARG', /`decode` to be a function/);
    // Bytes still work, and a Buffer is a Uint8Array.
    expect(cc.data.isPnm(pgm)).to.equal(true);
    expect(cc.data.isPng(pgm)).to.equal(false);
    expect(cc.data.decodeImage(pgm, 'a.pgm').width).to.equal(2);
  });

  it('new CifarDataset with labels that are not an Int32Array is E_ARG (was: TypeError reading y.length)', () => {
    const x = new Float32Array(3 * 32 * 32);
    expectCode(() => new cc.data.CifarDataset(x, undefined as never, null), 'E_ARG', /`y` to be an Int32Array/);
    expectCode(() => new cc.data.CifarDataset(x, [0] as never, null), 'E_ARG', /`y` to be an Int32Array/);
    expectCode(() => new cc.data.CifarDataset(x, new Int32Array([0]), 'cat' as never), 'E_ARG', /`classes`/);
    expectCode(() => new cc.data.CifarDataset(x, new Int32Array([0]), [1] as never), 'E_ARG', /`classes`/);
    const d = new cc.data.CifarDataset(x, new Int32Array([4]), ['a', 'b', 'c', 'd', 'e']);
    expect(d.length).to.equal(1);
    expect(d.classes).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('new BatchIterator outside a DataLoader is E_ARG (was: TypeError loader.order is not a function)', () => {
    const ds = new cc.data.ArrayDataset(new Float32Array(4 * 2), [4, 2], [0, 1, 0, 1]);
    const loader = new cc.data.DataLoader(ds, { batchSize: 2 });
    expectCode(() => new cc.data.BatchIterator(3 as never, 0, {} as never, undefined), 'E_ARG', /iterating a DataLoader/);
    expectCode(() => new cc.data.BatchIterator(loader, 0, { inShape: [2], outShape: [2] } as never, undefined), 'E_ARG', /iterating a DataLoader/);
    // Iterating still makes them.
    let batches = 0;
    for (const { x, y } of loader) {
      batches++;
      x.dispose();
      y.dispose();
    }
    expect(batches).to.equal(2);
  });

  it('a depth, dtype or table key that is not a plain string or number is E_ARG (was: RangeError: Invalid string length, TypeError)', () => {
    for (const key of hostileKeys) {
      expectCode(() => cc.models.ResNet(key as never), 'E_ARG', /ResNet: expected a depth/);
      expectCode(() => cc.models.VGG(key as never), 'E_ARG', /VGG: expected a depth/);
      expectCode(() => cc.data.encodeIdx(key as never, [1], [1]), 'E_ARG', /encodeIdx: unknown dtype/);
    }
    expect(cc.data.encodeIdx('uint8', [2], [1, 2]).length).to.equal(4 + 4 + 2);
  });

  it('nn.init.bilinearKernel takes a size in [1, 65536] (was: RangeError: Invalid array length, or NaN taps)', () => {
    for (const size of [0, -1, 1.5, NaN, Infinity, 1e300, 2 ** 31, '4', new Array(2 ** 31 - 1)]) {
      expectCode(() => cc.nn.init.bilinearKernel(size as never), 'E_ARG', /bilinearKernel: expected `size`/);
    }
    expect(cc.nn.init.bilinearKernel(4)).to.deep.equal([0.25, 0.75, 0.75, 0.25]);
  });

  it('PythonGlobal and PythonObject check their names, args and kwargs (was: TypeError in toString)', () => {
    for (const key of [Symbol('s'), Object.create(null), new Array(2 ** 31 - 1), 3, null]) {
      expectCode(() => new cc.io.PythonGlobal(key as never, 'f'), 'E_ARG', /PythonGlobal: expected `module`/);
      expectCode(() => new cc.io.PythonGlobal('m', key as never), 'E_ARG', /PythonGlobal: expected `name`/);
      expectCode(() => new cc.io.PythonObject(key as never, 'C', []), 'E_ARG', /PythonObject: expected `module`/);
    }
    expectCode(() => new cc.io.PythonObject('m', 'C', 'abc' as never), 'E_ARG', /`args`/);
    expectCode(() => new cc.io.PythonObject('m', 'C', [], [] as never), 'E_ARG', /`kwargs`/);
    expect(String(new cc.io.PythonGlobal('collections', 'OrderedDict'))).to.equal('collections.OrderedDict');
    expect(String(new cc.io.PythonObject('argparse', 'Namespace', [], { a: 1 }))).to.equal('<argparse.Namespace object>');
  });

  it('requireCuda, Module.namedModules and the Optimizer base check their string arguments (was: TypeError converting to a string)', () => {
    for (const junk of [Symbol('s'), Object.create(null), {}]) {
      expectCode(() => cc.cuda.requireCuda(junk as never), 'E_ARG', /requireCuda: expected `op`/);
      expectCode(() => new cc.nn.Linear(2, 2).namedModules(junk as never), 'E_ARG', /namedModules: expected `prefix`/);
    }
    expect(new cc.nn.Sequential(new cc.nn.ReLU()).namedModules('net').map(([n]) => n)).to.deep.equal(['net', 'net.0']);
    class Bare extends cc.optim.Optimizer {
      constructor(name: unknown) {
        super(name as string, [cc.zeros([1])], { lr: 0.1 });
      }
      protected checkGroup(): void {}
      protected updateParam(): void {}
    }
    expectCode(() => new Bare(Object.create(null)), 'E_ARG', /Optimizer: expected `name`/);
    expect(new Bare('Bare').paramGroups).to.have.length(1);
  });

  it('the LRScheduler base checks its name, as the Optimizer base (was: TypeError converting to a string)', () => {
    const opt = new cc.optim.SGD([cc.zeros([1])], { lr: 0.1 });
    class Bare extends cc.optim.LRScheduler {
      constructor(name: unknown) {
        super(name as string, opt);
      }
      protected getLr(): number[] {
        return [0.1];
      }
    }
    for (const junk of [Object.create(null), new Array(2 ** 31 - 1), Symbol('s')]) expectCode(() => new Bare(junk), 'E_ARG', /LRScheduler: expected `name`/);
    expect(new Bare('Bare').getLastLr()).to.deep.equal([]);
  });

  it('arange refuses an end on the wrong side of start, as torch.arange (was: an empty tensor)', () => {
    expectCode(() => cc.arange(-5), 'E_ARG', /goes against the sign of `step`/);
    expectCode(() => cc.arange(-(2 ** 31)), 'E_ARG', /goes against the sign of `step`/);
    expectCode(() => cc.arange(5, 0), 'E_ARG', /goes against the sign of `step`/);
    expectCode(() => cc.arange(0, 5, -1), 'E_ARG', /goes against the sign of `step`/);
    expectCode(() => cc.arange(0, 1, -0.5), 'E_ARG', /goes against the sign of `step`/);
    // Empty ranges that PyTorch allows stay empty.
    expect(cc.arange(0).shape).to.deep.equal([0]);
    expect(cc.arange(3, 3, -1).shape).to.deep.equal([0]);
    expect(Array.from(cc.arange(5, 0, -2).dataSync())).to.deep.equal([5, 3, 1]);
  });

  it('linspace computes in float64 and rounds once, without a float64 copy of the range', () => {
    // The same values as before the copy was dropped, both ends exact (PyTorch's float32
    // arithmetic gives 0.33333325 for the third).
    expect(Array.from(cc.linspace(-3, 7, 7).dataSync())).to.deep.equal([-3, -1.3333333730697632, 0.3333333432674408, 2, 3.6666667461395264, 5.333333492279053, 7]);
    expect(Array.from(cc.linspace(0, 10, 4, 'int32').dataSync())).to.deep.equal([0, 3, 6, 10]);
    expect(Array.from(cc.linspace(2, 5, 1).dataSync())).to.deep.equal([2]);
    expect(cc.linspace(0, 1, 0).shape).to.deep.equal([0]);
  });

  it('concat and stack stop at the first non-tensor of a sparse list (was: minutes walking new Array(2 ** 31 - 1))', function () {
    this.timeout(5000);
    expectCode(() => cc.concat(new Array(2 ** 31 - 1)), 'E_ARG', /concat: expected `tensors\[0\]` to be a Tensor/);
    expectCode(() => cc.stack(new Array(2 ** 31 - 1)), 'E_ARG', /stack: expected `tensors\[0\]` to be a Tensor/);
    const holey = [cc.ones([1])];
    holey[5] = cc.ones([1]);
    expectCode(() => cc.concat(holey), 'E_ARG', /`tensors\[1\]` to be a Tensor, got undefined/);
    expect(Array.from(cc.concat([cc.ones([1]), cc.zeros([2])]).dataSync())).to.deep.equal([1, 0, 0]);
  });

  it('lists of axes, sizes, sections, milestones and k stop early on a sparse 2**31-long array (was: minutes walking it)', async function () {
    this.timeout(10000);
    const sparse = (): never => new Array(2 ** 31 - 1) as never;
    const x = cc.randn([2, 3]);
    expectCode(() => cc.logsumexp(x, sparse()), 'E_ARG', /logsumexp: expected at most 2 axes/);
    expectCode(() => cc.norm(x, { dim: sparse() }), 'E_ARG', /norm: expected at most 2 axes/);
    expectCode(() => cc.flip(x, sparse()), 'E_ARG', /flip: expected at most 2 axes/);
    expectCode(() => cc.repeat(x, sparse()), 'E_ARG', /repeat: expected `repeats`/);
    expectCode(() => cc.expand(x, sparse()), 'E_SHAPE', /expand: expected a shape of 2 to 64 axes/);
    expectCode(() => cc.split(x, sparse()), 'E_ARG', /split: expected `sections\[0\]` to be an integer, got undefined/);
    expectCode(() => cc.F.layerNorm(x, sparse()), 'E_ARG', /layerNorm: expected `normalizedShape`.*at most 64/);
    expectCode(() => new cc.nn.LayerNorm(sparse()), 'E_ARG', /LayerNorm: expected `normalizedShape`.*at most 64/);
    expectCode(() => new cc.nn.Unflatten(1, sparse()), 'E_ARG', /Unflatten: expected `unflattenedSize`/);
    const opt = new cc.optim.SGD([cc.zeros([1])], { lr: 0.1 });
    expectCode(() => new cc.optim.MultiStepLR(opt, { milestones: sparse() }), 'E_ARG', /MultiStepLR: expected `milestones\[0\]` to be an integer/);
    let err: unknown = null;
    await cc.metrics.retrieval.recallAtK(x, cc.tensor([0, 1], { dtype: 'int32' }), x, cc.tensor([0, 1], { dtype: 'int32' }), sparse()).catch((e) => (err = e));
    expect(err).to.be.instanceOf(cc.ConvnetError);
    expect((err as cc.ConvnetError).message).to.match(/recallAtK: expected `k\[0\]` to be an integer/);
    // Valid lists still work.
    expect(cc.logsumexp(x, [0, 1]).shape).to.deep.equal([]);
    expect(cc.split(x, [1, 1]).length).to.equal(2);
    expect(new cc.optim.MultiStepLR(opt, { milestones: [3, 1] }).milestones).to.deep.equal([1, 3]);
  });

  it('F.pad and nn.Pad2d refuse a padding past int32 indices or the machine\'s memory (was: RangeError: Invalid array length, or minutes)', () => {
    const x = cc.randn([2, 3, 8, 8]);
    for (const p of [2 ** 31, 2 ** 32, 2 ** 53, 1e300]) {
      expectCode(() => new cc.nn.Pad2d([p, 1, 1, 1], { mode: 'replicate' }).call(x), 'E_SHAPE', /past int32 indices/);
    }
    expectCode(() => cc.F.pad(x, [2 ** 28, 0], 'replicate'), 'E_OOM', /pad: out of memory/);
    expectCode(() => cc.F.pad(x, [0, 0, 2 ** 28, 0], 'circular'), 'E_SHAPE', /circular padding/);
    // The index list still pads as before.
    const y = cc.F.pad(cc.tensor([[[[1, 2, 3]]]]), [2, 1], 'replicate');
    expect(Array.from(y.dataSync())).to.deep.equal([1, 1, 1, 2, 3, 3]);
    expect(Array.from(cc.F.pad(cc.tensor([[[[1, 2, 3]]]]), [2, 2], 'reflect').dataSync())).to.deep.equal([3, 2, 1, 2, 3, 2, 1]);
  });

  it('philox4x32 and PhiloxStream take integer words (was: NaN, 0.5 and 1e300 silently the word 0)', () => {
    const out = new Uint32Array(4);
    for (const bad of [NaN, 0.5, -1, 1e300, 2 ** 32, Infinity]) {
      expectCode(() => cc.data.philox4x32(bad, 0, 0, 0, 0, 0, out), 'E_ARG', /philox4x32: expected `k0` to be an integer in \[0, 4294967295\]/);
      expectCode(() => cc.data.philox4x32(0, 0, 0, 0, 0, bad, out), 'E_ARG', /`c3`/);
      expectCode(() => new cc.data.PhiloxStream(0, bad, 0, 0), 'E_ARG', /PhiloxStream: expected `index`/);
    }
    for (const bad of [NaN, 0.5, -1, 2 ** 53, Infinity]) expectCode(() => new cc.data.PhiloxStream(bad, 0, 0, 0), 'E_ARG', /PhiloxStream: expected `seed`/);
    // A seed past 32 bits still fills the second key word.
    expect(new cc.data.PhiloxStream(2 ** 40, 0, 0, 0).nextUint32()).to.not.equal(new cc.data.PhiloxStream(0, 0, 0, 0).nextUint32());
    expect(Array.from(cc.data.philox4x32(2 ** 32 - 1, 0, 0, 0, 0, 0, out))).to.have.length(4);
  });

  it('ArrayDataset labels and encodeIdx data are checked before conversion (was: TypeError from Int32Array.from, reading .length of undefined)', () => {
    for (const bad of [Symbol('s'), 10n, {}, Object.create(null), new Array(2 ** 31 - 1)]) {
      expectCode(() => new cc.data.ArrayDataset(new Float32Array(2), [2, 1], [0, bad as never]), 'E_ARG', /ArrayDataset: expected label 1 to be a number/);
    }
    for (const bad of [undefined, null, 3, 'ab', {}]) {
      expectCode(() => cc.data.encodeIdx('uint8', [2], bad as never), 'E_ARG', /encodeIdx: expected `data`/);
    }
    expect(cc.data.encodeIdx('uint8', [2], new Uint8Array([1, 2])).length).to.equal(10);
    expect(new cc.data.ArrayDataset(new Float32Array(2), [2, 1], [0, 1]).length).to.equal(2);
    // a hole is not a label (forEach and some skip holes; Int32Array.from made it 0)
    // eslint-disable-next-line no-sparse-arrays
    expectCode(() => new cc.data.ArrayDataset(new Float32Array(3), [3, 1], [1, , 2] as number[]), 'E_ARG', /expected label 1 to be a number, got undefined/);
  });

  it('Tensor.moveTo parses its device (was: RangeError: Invalid string length on a 2**31-long array)', () => {
    const t = cc.ones([3]);
    for (const junk of [new Array(2 ** 31 - 1), 'constructor', Object.create(null), 3, 'gpu']) {
      expectCode(() => t.moveTo(junk as never), 'E_DEVICE', /Module.to: unknown device/);
    }
    t.moveTo('cpu');
    expect(Array.from(t.dataSync())).to.deep.equal([1, 1, 1]);
  });

  it('fit and evaluate refuse a sparse metrics or callbacks list (was: a hole read as \'accuracy\', after minutes for 2**31 holes)', async function () {
    this.timeout(10000);
    const model = new cc.nn.Sequential(new cc.nn.Flatten(), new cc.nn.Linear(4, 2));
    const data = new cc.data.ArrayDataset(new Float32Array(4 * 4), [4, 1, 2, 2], [0, 1, 0, 1]);
    const refused = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
      let err: unknown = null;
      await p.catch((e) => (err = e));
      expect(err, 'expected a rejection').to.be.instanceOf(cc.ConvnetError);
      expect((err as cc.ConvnetError).code).to.equal('E_ARG');
      expect((err as Error).message).to.match(message);
    };
    // eslint-disable-next-line no-sparse-arrays
    const holey = [, ] as never;
    await refused(model.fit(data, { verbose: 0, metrics: holey }), /fit: expected `metrics`/);
    await refused(model.fit(data, { verbose: 0, metrics: new Array(2 ** 31 - 1) as never }), /fit: expected `metrics`/);
    await refused(model.evaluate(data, { metrics: holey }), /evaluate: expected `metrics`/);
    await refused(model.fit(data, { verbose: 0, callbacks: new Array(2 ** 31 - 1) as never }), /fit: expected `callbacks`/);
    await refused(model.fit(data, { verbose: 0, callbacks: [{}, , {}] as never }), /fit: expected `callbacks`/);
    const h = await model.fit(data, { verbose: 0, metrics: ['accuracy'], callbacks: [] });
    expect(h.accuracy).to.have.length(1);
    model.dispose();
  });

  it('the abstract Optimizer and LRScheduler refuse new from JavaScript (was: TypeError this.checkGroup / this.getLr is not a function)', () => {
    const opt = new cc.optim.SGD([cc.zeros([1])], { lr: 0.1 });
    const Opt = cc.optim.Optimizer as unknown as new (...a: unknown[]) => unknown;
    const Sched = cc.optim.LRScheduler as unknown as new (...a: unknown[]) => unknown;
    expectCode(() => new Opt('x', [cc.zeros([1])], { lr: 1 }), 'E_ARG', /Optimizer: the base class is abstract/);
    expectCode(() => new Sched('x', opt), 'E_ARG', /LRScheduler: the base class is abstract/);
    expect(new cc.optim.StepLR(opt, { stepSize: 1 }).getLastLr()).to.deep.equal([0.1]);
  });

  it('a forward or tidy returning a sparse array of 2**31 - 1 holes returns at once (was: a minute walking the holes for tensors)', function () {
    this.timeout(10000);   // a hang guard, as the sparse-list tests above
    const sparse = Array(2 ** 31 - 1);
    sparse[5] = cc.ones([2]);
    expect(new cc.nn.Sequential().call(sparse)).to.equal(sparse);
    expect(cc.tidy(() => sparse)).to.equal(sparse);
    expect((sparse[5] as cc.Tensor).sum().item()).to.equal(2);   // returned, so kept
    (sparse[5] as cc.Tensor).dispose();
  });

  it('nn.MixedPool2d checks mode and lambda when made, as the other layers do (was: accepted, failing at the first forward)', () => {
    expectCode(() => new cc.nn.MixedPool2d(2, { mode: 'constructor' as never }), 'E_ARG', /MixedPool2d: expected `mode`/);
    expectCode(() => new cc.nn.MixedPool2d(2, { lambda: 2 }), 'E_ARG', /MixedPool2d: expected `lambda`/);
    expectCode(() => new cc.nn.MixedPool2d(2, { lambda: NaN }), 'E_ARG', /MixedPool2d: expected `lambda`/);
    const y = cc.tidy(() => new cc.nn.MixedPool2d(2, { mode: 'uniform', lambda: 0.25 }).eval().call(cc.ones([1, 1, 4, 4])) as cc.Tensor);
    expect(y.shape).to.deep.equal([1, 1, 2, 2]);
    y.dispose();
  });

  it('a disposed tensor\'s handle(op) with an op that is not a string is E_DISPOSED (was: TypeError converting a Symbol, seed 27 case 18289)', () => {
    const t = cc.ones([1]);
    t.dispose();
    for (const op of [Symbol('s'), Object.create(null), 7]) expectCode(() => t.handle(op as never), 'E_DISPOSED', /^tensor: the tensor has been disposed/);
    expectCode(() => t.handle('myOp'), 'E_DISPOSED', /^myOp:/);
  });

  it('models.patchFeatures checks `patch` before its default stride uses it (was: TypeError from patch / 4 on a Symbol, seed 1 case 1316)', () => {
    const images = cc.ones([1, 3, 8, 8]);
    const extract = (x: cc.Tensor) => cc.flatten(x, 1);
    expectCode(() => cc.models.patchFeatures(images, extract, Symbol('p') as never), 'E_ARG', /patchFeatures: .*patch/);
    expectCode(() => cc.models.patchFeatures(images, extract, 4, Symbol('s') as never), 'E_ARG', /patchFeatures: .*stride/);
    const f = cc.models.patchFeatures(images, extract, 4);   // the default stride, 1: 25 patches
    expect(f.shape).to.deep.equal([1, 25, 48]);
    for (const t of [images, f]) t.dispose();
  });
});

describe('the public API under junk arguments (a fixed slice of the fuzz)', function () {
  this.timeout(120000);

  it('2000 fuzz cases: every failure a ConvnetError with a code, nothing lost, no crash or hang', () => {
    const script = path.join(__dirname, '..', 'scripts', 'fuzz-api.js');
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'api-fuzz-')), 'out.json');
    const run = spawnSync(process.execPath, [script, '--cases', '2000', '--batch', '2000', '--seed', '1', '--hang-s', '30', '--flips', '0', '--no-scenarios', '--json', json], { encoding: 'utf8', timeout: 110000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = JSON.parse(fs.readFileSync(json, 'utf8')) as { counts: Record<string, number>; findings: { case: number; target: string; kind: string; detail: string; args: string }[] };
    fs.rmSync(path.dirname(json), { recursive: true, force: true });
    const shown = out.findings.map((f) => `case ${f.case} ${f.kind} ${f.target} ${f.args}: ${f.detail}`);
    expect(shown, shown.join('\n')).to.deep.equal([]);
    // The slice reaches deep enough: most cases throw a typed error, some succeed.
    expect(out.counts.typed).to.be.above(1200);
    expect(out.counts.ok).to.be.above(200);
  });

  it('every reader, fed truncated and byte-flipped files, loads them or throws a typed error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-fuzz-readers-'));
    const rng = new Rng(5);
    let typed = 0;
    try {
      const cases = readerCases(dir);
      expect(cases.length).to.be.above(12);
      for (const rc of cases) {
        mutations(rc.bytes, rng, 8).forEach((m, i) => {
          if (rc.sameLength && m.bytes.length !== rc.bytes.length) return;
          const file = path.join(dir, `f${i}`);
          fs.writeFileSync(file, m.bytes);
          try {
            cc.tidy(() => {
              const r = rc.read(m.bytes, file);
              if (r && typeof r === 'object' && 'tensors' in r) for (const t of Object.values((r as { tensors: Record<string, cc.Tensor> }).tensors)) t.dataSync();
            });
          } catch (e) {
            expect(isTyped(e), `${rc.name} ${m.what}: ${(e as Error)?.stack}`).to.equal(true);
            typed++;
          }
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(typed).to.be.above(100);
  });

  it('a failed forward, loadStateDict, optimizer step or models.load loses nothing', () => {
    const problems: string[] = [];
    for (const sc of scenarios()) {
      const p = sc.run();
      if (p) problems.push(`${sc.name}: ${p}`);
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
