import { expect } from 'chai';
import * as cc from '../lib';
import { native } from '../lib/native';
import { expectError, expectRejects } from './helpers';

describe('Tensor', () => {
  it('PyTorch\'s spellings: view, t, numel, dim, maskedFill, float, int', () => {
    cc.tidy(() => {
      const x = cc.tensor([[1, -2, 3], [4, 5, -6]]);
      expect(x.view([3, 2]).tolist()).to.deep.equal([[1, -2], [3, 4], [5, -6]]);
      expect(x.view([-1]).shape).to.deep.equal([6]);
      expect(x.t().tolist()).to.deep.equal([[1, 4], [-2, 5], [3, -6]]);
      expect(cc.tensor([1, 2]).t().tolist()).to.deep.equal([1, 2]);
      expect([x.numel(), x.dim(), cc.tensor(3).dim()]).to.deep.equal([6, 2, 0]);
      expect(x.maskedFill(x.lt(0), 0).tolist()).to.deep.equal([[1, 0, 3], [4, 5, 0]]);
      expect(x.maskedFill(cc.tensor([1, 0, 0]), -1).tolist()).to.deep.equal([[-1, -2, 3], [-1, 5, -6]]);   // broadcast
      const i = cc.tensor([[1.7, -1.7]]).int();
      expect([i.dtype, ...i.dataSync()]).to.deep.equal(['int32', 1, -1]);
      expect([i.float().dtype, i.int() === i, x.float() === x]).to.deep.equal(['float32', true, true]);
      // maskedFill carries the gradient to the places it kept.
      const w = cc.tensor([1, 2, 3], { requiresGrad: true });
      w.maskedFill(cc.tensor([0, 1, 0]), 10).mul(cc.tensor([1, 2, 3])).sum().backward();
      expect(Array.from(w.grad!.dataSync())).to.deep.equal([1, 0, 3]);
      expectError(() => cc.zeros([2, 2, 2]).t(), 'E_SHAPE', /at most 2 dimensions/);
      expectError(() => x.view([4, 2]), 'E_SHAPE');
      expectError(() => x.maskedFill(cc.ones([4]), 0), 'E_SHAPE');
    });
  });

  it('reads of a disposed tensor name the method called (item said "dataSync")', async () => {
    const t = cc.ones([1]);
    t.dispose();
    expectError(() => t.item(), 'E_DISPOSED', /^item:/);
    expectError(() => t.arraySync(), 'E_DISPOSED', /^arraySync:/);
    await expectRejects(t.array(), 'E_DISPOSED', /^array:/);
  });

  it('shape and dtype cannot be written (JS fell out of step with the native memory)', () => {
    const t = cc.zeros([2, 3]);
    expect(() => { (t as unknown as { shape: number[] }).shape = [6]; }).to.throw(TypeError);
    expect(() => { (t as unknown as { dtype: string }).dtype = 'int32'; }).to.throw(TypeError);
    expect(() => { (t.shape as unknown as number[])[0] = 5; }).to.throw(TypeError);
    expect(Object.isFrozen(t.shape)).to.equal(true);
    expect(t.shape).to.deep.equal([2, 3]);
    expect(t.dtype).to.equal('float32');
    expect(t.size).to.equal(6);
    expect(t.add(1).shape).to.deep.equal([2, 3]);
    t.dispose();
  });

  it('a shape array the caller keeps is copied; frozen shapes (an input\'s, a scalar\'s) are shared', () => {
    const dims = [2, 3];
    const t = cc.zeros(dims);
    dims[0] = 7;  // the caller's array, not the tensor's
    expect(t.shape).to.deep.equal([2, 3]);
    const u = cc.add(t, t), r = cc.F.relu(t), s = cc.sum(t), v = cc.reshape(t, [6]);
    expect(u.shape).to.equal(t.shape);  // an op whose output has its input's shape hands the frozen array on
    expect(r.shape).to.equal(t.shape);
    for (const x of [u, r, s, v]) expect(Object.isFrozen(x.shape)).to.equal(true);
    expect(s.shape).to.deep.equal([]);
    expect(v.shape).to.deep.equal([6]);
    for (const x of [t, u, r, s, v]) x.dispose();
  });

  it('an object forging the Tensor brand is refused as not a tensor (E_ARG; it was a TypeError in ~60 ops)', () => {
    const fake = { [Symbol.for('cudnn-convnet.Tensor')]: true, shape: [2, 3], dtype: 'float32', size: 6, rank: 2, device: 'cpu' } as unknown as cc.Tensor;
    expectError(() => cc.add(fake, 1), 'E_ARG', /tensor/);
    expectError(() => cc.add(cc.ones([2, 3]), fake), 'E_ARG');
    expectError(() => cc.clone(fake), 'E_ARG', /Tensor/);
    expectError(() => cc.matmul(fake, fake), 'E_ARG');
    expectError(() => cc.optim.clipGradNorm([fake], 1), 'E_ARG');
    const real = cc.ones([1]);
    expect(cc.add(real, 1).item()).to.equal(2);
  });

  it('a tensor of a second copy of the library is E_ARG saying so, and each copy goes on with its own', () => {
    // A second copy: the library's modules loaded again, the addon too (as two installed copies
    // load two files), which then has its own handles and its own ConvnetError class.
    const sep = require('path').sep as string;
    const ours = Object.keys(require.cache).filter((k) => k.includes(`${sep}dist${sep}lib${sep}`) || k.endsWith('.node'));
    const saved = new Map(ours.map((k) => [k, require.cache[k]]));
    for (const k of ours) delete require.cache[k];
    let other: typeof cc;
    try {
      other = require('../lib') as typeof cc;
    } finally {
      for (const [k, m] of saved) require.cache[k] = m;
    }
    expect(other).to.not.equal(cc);
    const a = cc.ones([2]), b = other.full([2], 3);
    expectError(() => cc.add(a, b), 'E_ARG', /another copy of cudnn-convnet/);
    // (The second copy throws its own ConvnetError class.)
    expect(() => other.add(b, a)).to.throw(/another copy of cudnn-convnet/).with.property('code', 'E_ARG');
    expectError(() => cc.clone(b as unknown as cc.Tensor), 'E_ARG', /another copy of cudnn-convnet/);
    expect(Array.from(cc.add(a, 1).dataSync())).to.deep.equal([2, 2]);
    expect(Array.from(other.add(b, 1).dataSync())).to.deep.equal([4, 4]);
    a.dispose();
    b.dispose();
    // This copy's native errors are still its own ConvnetError.
    expect(() => native.unary(0, 0 as never)).to.throw(cc.ConvnetError).with.property('code', 'E_ARG');
  });

  it('copies a view of shared memory (it was a plain Error from the native side)', () => {
    const shared = new Float32Array(new SharedArrayBuffer(16));
    shared.set([1, 2, 3, 4]);
    const t = cc.tensor(shared, { shape: [2, 2] });
    shared[0] = 9;
    expect(Array.from(t.dataSync())).to.deep.equal([1, 2, 3, 4]);
    const i = cc.tensor(new Int32Array(new SharedArrayBuffer(8)));
    expect(i.dtype).to.equal('int32');
    t.dispose(); i.dispose();
  });

  it('nesting deeper than 64 levels, or an array that contains itself, is E_SHAPE (it overflowed the stack)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10000; i++) deep = [deep];
    expectError(() => cc.tensor(deep as number[]), 'E_SHAPE', /more than 64 levels/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expectError(() => cc.tensor(cyclic as number[]), 'E_SHAPE', /contains itself/);
    const inner: unknown[] = [1];
    const ragged: unknown[] = [inner, [2]];
    (ragged[1] as unknown[])[0] = ragged;
    expectError(() => cc.tensor(ragged as number[]), 'E_SHAPE', /ragged/);
    // Error messages describe such values without recursing forever.
    expectError(() => cc.zeros(cyclic as number[]), 'E_SHAPE', /\[\[\[\[…\]\]\]\]/);
    expectError(() => cc.zeros(deep as number[]), 'E_SHAPE');
  });

  it('rand and randn refuse a dtype other than float32 (E_DTYPE; it was ignored)', () => {
    expectError(() => cc.rand([2], 0, 1, { dtype: 'int32' as 'float32' }), 'E_DTYPE', /rand: makes float32 values only/);
    expectError(() => cc.randn([2], 0, 1, 'float64' as never), 'E_DTYPE', /randn/);
    cc.rand([2], 0, 1, { dtype: 'float32' }).dispose();
  });

  it('refuses shapes of more than 64 axes at once (a 2**31-long array hung)', () => {
    const x = cc.zeros([2]);
    expectError(() => x.reshape(new Array(2 ** 31)), 'E_SHAPE', /at most 64/);
    expectError(() => cc.reshape(x, new Proxy([1, 2], { get: (t, k) => (k === 'length' ? 2 ** 31 : (t as unknown as Record<PropertyKey, unknown>)[k as string]) }) as unknown as number[]), 'E_SHAPE', /at most 64/);
    expectError(() => cc.zeros(new Array(2 ** 31)), 'E_SHAPE', /at most 64/);
    expectError(() => cc.tensor([1, 2], { shape: new Array(65).fill(1) }), 'E_SHAPE', /at most 64/);
    expect(cc.zeros(new Array(64).fill(1)).rank).to.equal(64);
  });

  it('is made from nested arrays, typed arrays and numbers, with shape, dtype, device and size', () => {
    const x = cc.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.shape).to.deep.equal([2, 3]);
    expect(x.dtype).to.equal('float32');
    expect(x.device).to.equal('cpu');
    expect(x.size).to.equal(6);
    expect(x.rank).to.equal(2);
    expect(Array.from(x.dataSync())).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const s = cc.tensor(2.5);
    expect(s.shape).to.deep.equal([]);
    expect(s.item()).to.equal(2.5);
    const i = cc.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(i.dtype).to.equal('int32');
    expect(i.dataSync()).to.be.instanceOf(Int32Array);
    expect(cc.tensor(new Uint8Array([1, 255])).dataSync()).to.deep.equal(new Float32Array([1, 255]));
    expect(cc.tensor([]).shape).to.deep.equal([0]);
    expect(cc.tensor([[], []]).shape).to.deep.equal([2, 0]);
    // Nested numbers arrive exactly: int32's extremes, float32's rounding of a double.
    expect(Array.from(cc.tensor([[2147483647, -2147483648], [0, -1]], { dtype: 'int32' }).dataSync())).to.deep.equal([2147483647, -2147483648, 0, -1]);
    expect(cc.tensor([[0.1, 1e40, -1e-50]]).dataSync()).to.deep.equal(new Float32Array([0.1, Infinity, -0]));
  });

  it('reads large tensors back whole (buffers of 4 MiB and more are advised into huge pages)', async () => {
    const n = 3 * 1024 * 1024 + 5;  // 12 MiB and a bit: an unaligned end
    const x = cc.arange(n, undefined, 1, 'float32');
    for (const values of [x.dataSync(), await x.data()]) {
      expect(values.length).to.equal(n);
      for (const i of [0, 1, 524288, 1048577, n - 1]) expect(values[i]).to.equal(i);
    }
    x.dispose();
  });

  it('copies its input, so later changes to the array do not leak in', () => {
    const a = new Float32Array([1, 2, 3]);
    const x = cc.tensor(a);
    a[0] = 99;
    expect(x.dataSync()[0]).to.equal(1);
  });

  it('data() resolves with a copy, array() with nested arrays', async () => {
    const x = cc.tensor([[1, 2], [3, 4]]);
    const d = await x.data();
    expect(d).to.be.instanceOf(Float32Array);
    d[0] = 7;
    expect((await x.data())[0]).to.equal(1);
    expect(await x.array()).to.deep.equal([[1, 2], [3, 4]]);
    expect(cc.tensor(3).arraySync()).to.equal(3);
  });

  it('zeros, ones, full, arange and the *Like helpers', () => {
    expect(Array.from(cc.zeros([2, 2]).dataSync())).to.deep.equal([0, 0, 0, 0]);
    expect(Array.from(cc.ones([3], 'int32').dataSync())).to.deep.equal([1, 1, 1]);
    expect(Array.from(cc.full([2], -1.5).dataSync())).to.deep.equal([-1.5, -1.5]);
    expect(cc.arange(4).dtype).to.equal('int32');
    expect(Array.from(cc.arange(2, 8, 2).dataSync())).to.deep.equal([2, 4, 6]);
    expect(Array.from(cc.arange(0, 1, 0.25).dataSync())).to.deep.equal([0, 0.25, 0.5, 0.75]);
    expect(Array.from(cc.arange(5, 0, -2).dataSync())).to.deep.equal([5, 3, 1]);
    expect(cc.arange(3, 3).shape).to.deep.equal([0]);
    // int32 values past its range would wrap (2**31 read back as -2**31)
    expect(Array.from(cc.arange(2 ** 31 - 3, 2 ** 31 - 1, 1, 'int32').dataSync())).to.deep.equal([2 ** 31 - 3, 2 ** 31 - 2]);
    expectError(() => cc.arange(2 ** 31 - 2, 2 ** 31 + 2, 1, 'int32'), 'E_ARG', /last value 2147483649 is outside int32's range/);
    expectError(() => cc.arange(-(2 ** 31) - 1, 0), 'E_ARG', /start/);
    // start + i * step, not repeated addition: no drift over a long range
    const long = cc.arange(0, 1000, 0.1).dataSync();
    expect(long.length).to.equal(10000);
    expect(long[9999]).to.equal(Math.fround(999.9));
    expect(cc.zerosLike(cc.ones([2, 3], 'int32')).dtype).to.equal('int32');
    expect(Array.from(cc.onesLike(cc.zeros([2])).dataSync())).to.deep.equal([1, 1]);
    const f = cc.fullLike(cc.ones([2, 2], 'int32'), -3);
    expect([f.dtype, ...f.dataSync()]).to.deep.equal(['int32', -3, -3, -3, -3]);
    // randLike / randnLike: rand / randn in x's shape (float32 whatever x's dtype), seeded alike.
    cc.manualSeed(4);
    const [r, n] = [cc.randLike(cc.zeros([3], 'int32')), cc.randnLike(cc.zeros([2, 2]), { requiresGrad: true })];
    cc.manualSeed(4);
    expect(Array.from(r.dataSync())).to.deep.equal(Array.from(cc.rand([3]).dataSync()));
    expect(Array.from(n.dataSync())).to.deep.equal(Array.from(cc.randn([2, 2]).dataSync()));
    expect([r.dtype, n.shape, n.requiresGrad]).to.deep.equal(['float32', [2, 2], true]);
    expectError(() => cc.randLike(cc.zeros([2]), { device: 'cpu' } as never), 'E_ARG', /device/);
    expectError(() => cc.fullLike([1, 2] as never, 0), 'E_ARG');
  });

  it('prints its values the way PyTorch does', () => {
    // Expected strings were printed by PyTorch 1.13 (str(torch.tensor(...))).
    expect(cc.tensor([[1, 2], [3, 4]]).toString()).to.equal('tensor([[1., 2.],\n        [3., 4.]])');
    expect(cc.tensor([1.5, -2.25]).toString()).to.equal('tensor([ 1.5000, -2.2500])');
    expect(cc.tensor(3.5).toString()).to.equal('tensor(3.5000)');
    expect(cc.tensor([1e-5, 1]).toString()).to.equal('tensor([1.0000e-05, 1.0000e+00])');
    expect(cc.tensor([0, 0]).toString()).to.equal('tensor([0., 0.])');
    expect(cc.tensor([NaN, 1, Infinity]).toString()).to.equal('tensor([nan, 1., inf])');
    expect(cc.zeros([0]).toString()).to.equal('tensor([])');
    expect(cc.zeros([2, 0]).toString()).to.equal('tensor([], size=(2, 0))');
    expect(cc.tensor([1, 2, 3], { dtype: 'int32' }).toString()).to.equal('tensor([1, 2, 3], dtype=int32)');
    expect(cc.arange(2000, undefined, 1, 'float32').toString()).to.equal(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])');
    expect(cc.arange(0, 2, 0.1).toString()).to.equal(
      'tensor([0.0000, 0.1000, 0.2000, 0.3000, 0.4000, 0.5000, 0.6000, 0.7000, 0.8000,\n' +
      '        0.9000, 1.0000, 1.1000, 1.2000, 1.3000, 1.4000, 1.5000, 1.6000, 1.7000,\n' +
      '        1.8000, 1.9000])');
    expect(cc.arange(24, undefined, 1, 'float32').reshape([2, 3, 4]).toString()).to.equal(
      'tensor([[[ 0.,  1.,  2.,  3.],\n         [ 4.,  5.,  6.,  7.],\n         [ 8.,  9., 10., 11.]],\n\n' +
      '        [[12., 13., 14., 15.],\n         [16., 17., 18., 19.],\n         [20., 21., 22., 23.]]])');
    expect(cc.arange(1200, undefined, 1, 'float32').reshape([40, 30]).toString()).to.equal(PRINTED_40x30);
  });

  it('refuses bad input with typed errors', () => {
    expectError(() => cc.tensor([[1, 2], [3]]), 'E_SHAPE', /tensor: ragged nested array/);
    expectError(() => cc.tensor([1, 'a' as unknown as number]), 'E_SHAPE');
    expectError(() => cc.tensor({} as unknown as number[]), 'E_ARG', /tensor: expected a typed array/);
    expectError(() => cc.tensor([1, 2, 3], { shape: [2, 2] }), 'E_SHAPE', /3 values cannot fill shape \[2, 2\]/);
    expectError(() => cc.tensor([1.5], { dtype: 'int32' }), 'E_DTYPE', /int32 values must be integers/);
    expectError(() => cc.tensor([[1, 2], 3] as unknown as number[]), 'E_SHAPE', /expected 2 entries at depth 1, got 3/);
    expectError(() => cc.tensor([1, [2]] as unknown as number[]), 'E_SHAPE', /expected a number at depth 1/);
    expectError(() => cc.tensor([[[1], [2, 3]]] as unknown as number[]), 'E_SHAPE', /expected 1 entries at depth 2/);
    // One row shared 100,000 times claims 10^10 values: refused before any allocation.
    const row = new Array(100000).fill(0);
    expectError(() => cc.tensor(new Array(100000).fill(row)), 'E_OOM', /10000000000 values/);
    expectError(() => cc.tensor([1], { dtype: 'float64' as 'float32' }), 'E_DTYPE');
    expectError(() => cc.zeros([2, -1]), 'E_SHAPE', /zeros|full/);
    expectError(() => cc.zeros([2, 1.5]), 'E_SHAPE');
    expectError(() => cc.zeros([NaN]), 'E_SHAPE');
    expectError(() => cc.zeros('3' as unknown as number[]), 'E_SHAPE');
    expectError(() => cc.full([2], NaN, 'int32'), 'E_ARG');
    expectError(() => cc.arange(0, 5, 0), 'E_ARG', /step/);
    expectError(() => cc.arange(NaN), 'E_ARG');
    expectError(() => cc.tensor([1, 2]).item(), 'E_SHAPE');
  });

  // PyTorch refuses a finite value that overflows float32 where it stores it ("value cannot be
  // converted to type float without overflow"): full, fill_, linspace, clamp, pad, where,
  // indexFill, threshold. Infinities and float32's largest value pass; arithmetic (add(x, 1e300))
  // gives infinities in both.
  it('refuses fill values beyond float32 with E_ARG, as PyTorch, and keeps infinities', () => {
    const x = cc.ones([2]);
    const overflow = /overflows float32/;
    expectError(() => cc.full([2], 1e300), 'E_ARG', overflow);
    expectError(() => cc.full([2], -3.5e38), 'E_ARG', overflow);
    expectError(() => cc.ones([2]).fill_(1e39), 'E_ARG', overflow);
    expectError(() => cc.linspace(0, 1e300, 3), 'E_ARG', overflow);
    expectError(() => cc.clamp(x, -1e300), 'E_ARG', overflow);
    expectError(() => cc.F.pad(x, [1, 1], 'constant', 1e300), 'E_ARG', overflow);
    expectError(() => cc.where(cc.gt(x, 0), x, -1e300), 'E_ARG', overflow);
    expectError(() => cc.indexFill(x, 0, cc.tensor([0], { dtype: 'int32' }), 1e300), 'E_ARG', overflow);
    expectError(() => cc.F.threshold(x, 0, 1e300), 'E_ARG', overflow);
    expect(Array.from(cc.full([2], 3.4028234663852886e38).dataSync())).to.deep.equal([3.4028234663852886e38, 3.4028234663852886e38]);
    expect(Array.from(cc.full([1], -Infinity).dataSync())).to.deep.equal([-Infinity]);
    expect(Array.from(cc.clamp(x, undefined, Infinity).dataSync())).to.deep.equal([1, 1]);
    expect(Array.from(cc.add(x, 1e300).dataSync())).to.deep.equal([Infinity, Infinity]);
    expect(Array.from(x.dataSync())).to.deep.equal([1, 1]);  // nothing written by a refused call
  });

  // item() reads one value without a typed array (native itemSync): the same value, dtype,
  // waits and errors as dataSync()[0].
  it('item() gives dataSync()[0] exactly, waits for queued work and reports a failed op', () => {
    for (const v of [2.5, -0, NaN, Infinity, 3.4028234663852886e38, 1e-45]) {
      const t = cc.tensor([v]);
      expect(Object.is(t.item(), t.dataSync()[0]), `${v}`).to.equal(true);
    }
    expect(cc.tensor([[-2147483648]], { dtype: 'int32' }).item()).to.equal(-2147483648);
    // A queued product, then its sum: item waits for both.
    const big = cc.ones([300, 300]);
    expect(cc.sum(cc.matmul(big, big)).item()).to.equal(300 * 300 * 300);
    // The error of the op that computed it, named; the queue works on.
    const picked = cc.indexSelect(cc.ones([2, 3]), 1, cc.tensor([5], { dtype: 'int32' }));
    expectError(() => cc.sum(picked).item(), 'E_INDEX', /indexSelect/);
    expect(cc.add(cc.ones([1]), 1).item()).to.equal(2);
    // The native entry point checks the size itself (a tensor's shape is not trusted there).
    expectError(() => native.itemSync(cc.ones([2]).handle()), 'E_SHAPE', /one element/);
  });

  // Copies of more than 2 MiB in and out are split across the pool at the destination's 2 MiB
  // pages (parallel_copy in native/core/thread_pool.cc): every byte lands once, in place, at
  // any alignment and thread count.
  it('copies large arrays in and out whole (tensor, dataSync, data, at 1 and 2 threads)', async () => {
    const threads = cc.getNumThreads();
    try {
      for (const n of [(3 << 20) / 4 + 5, (5 << 20) / 4 - 3]) {
        for (const t of [1, 2]) {
          cc.setNumThreads(t);
          const f = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7);
          const i32 = Int32Array.from({ length: n }, (_, i) => (i * 2654435761) | 0);
          // from a view that starts 12 bytes into its buffer, so source and destination are aligned differently
          const buf = new Float32Array(n + 3);
          buf.set(f, 3);
          const x = cc.tensor(buf.subarray(3), { shape: [n] });
          buf.fill(0);  // the tensor holds its own copy
          expect(x.dataSync()).to.deep.equal(f);
          expect(await x.data()).to.deep.equal(f);
          expect(cc.tensor(i32, { shape: [n], dtype: 'int32' }).dataSync()).to.deep.equal(i32);
        }
      }
    } finally {
      cc.setNumThreads(threads);
    }
  });

  it('to() returns the tensor on its own device and refuses unavailable or unknown devices with E_DEVICE', () => {
    const x = cc.ones([2]);
    expect(x.to('cpu')).to.equal(x);
    expectError(() => x.to('cuda'), 'E_DEVICE', /CUDA device is not available/);
    expectError(() => x.to('tpu'), 'E_DEVICE', /unknown device "tpu"/);
  });

  it('refuses a disposed tensor everywhere with E_DISPOSED, and dispose() twice is harmless', async () => {
    const x = cc.tensor([1, 2]);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).to.equal(true);
    expectError(() => x.dataSync(), 'E_DISPOSED');
    await expectRejects(x.data(), 'E_DISPOSED');
    expectError(() => cc.add(x, 1), 'E_DISPOSED', /add: `a` has been disposed/);
    expectError(() => x.reshape([2]), 'E_DISPOSED');
    expect(x.toString()).to.equal('tensor(<disposed>)');
  });
});

// str(torch.arange(1200.).reshape(40, 30)) from PyTorch 1.13.
const PRINTED_40x30 = [
  'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01, 2.8000e+01,',
  '         2.9000e+01],',
  '        [3.0000e+01, 3.1000e+01, 3.2000e+01,  ..., 5.7000e+01, 5.8000e+01,',
  '         5.9000e+01],',
  '        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 8.7000e+01, 8.8000e+01,',
  '         8.9000e+01],',
  '        ...,',
  '        [1.1100e+03, 1.1110e+03, 1.1120e+03,  ..., 1.1370e+03, 1.1380e+03,',
  '         1.1390e+03],',
  '        [1.1400e+03, 1.1410e+03, 1.1420e+03,  ..., 1.1670e+03, 1.1680e+03,',
  '         1.1690e+03],',
  '        [1.1700e+03, 1.1710e+03, 1.1720e+03,  ..., 1.1970e+03, 1.1980e+03,',
  '         1.1990e+03]])',
].join('\n');
