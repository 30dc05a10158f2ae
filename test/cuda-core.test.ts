/**
 * The CUDA backend's core on a GPU: moving data both ways, readback, Module.to, the caching
 * allocator and its counters, out-of-memory, device errors. Skipped where there is no GPU.
 */
import { expect } from 'chai';
import { add, arange, bernoulli, cuda, manualSeed, memory, nn, rand, randint, randperm, sync, syncBlocking, tensor, zeros, type Tensor } from '../lib/index';
import { expectError } from './helpers';
import { describeCuda, randomCpu } from './cuda-helpers';

describeCuda('CUDA core', () => {
  it('float32 and int32 values survive a round trip, at every size', async () => {
    for (const n of [0, 1, 7, 1000, 1 << 20]) {
      const x = randomCpu([n], n + 1);
      const g = x.to('cuda');
      expect(g.device).to.equal('cuda');
      expect(g.shape).to.deep.equal([n]);
      expect(Array.from(await g.data())).to.deep.equal(Array.from(x.dataSync()));
      expect(Array.from(g.dataSync())).to.deep.equal(Array.from(x.dataSync()));
      const back = g.to('cpu');
      expect(back.device).to.equal('cpu');
      expect(Array.from(back.dataSync())).to.deep.equal(Array.from(x.dataSync()));
      for (const t of [x, g, back]) t.dispose();
    }
    const labels = tensor(new Int32Array([3, -1, 2147483647, -2147483648]));
    const gl = labels.cuda();
    expect(gl.dtype).to.equal('int32');
    expect(Array.from(await gl.data())).to.deep.equal([3, -1, 2147483647, -2147483648]);
    expect(gl.to('cuda')).to.equal(gl);
    expect(tensor([[1, 2], [3, 4]], { device: 'cuda' }).arraySync()).to.deep.equal([[1, 2], [3, 4]]);
    expect(tensor([5]).cuda().item()).to.equal(5);
  });

  it('arange and bernoulli made on the GPU equal the CPU ones (the same seed, the same numbers)', () => {
    const g = arange(-2, 5, 0.5, { dtype: 'float32', device: 'cuda' });
    expect(g.device).to.equal('cuda');
    expect(Array.from(g.dataSync())).to.deep.equal(Array.from(arange(-2, 5, 0.5, 'float32').dataSync()));
    manualSeed(7);
    const gb = bernoulli([1001], 0.3, { device: 'cuda' });
    manualSeed(7);
    const cb = bernoulli([1001], 0.3);
    expect(Array.from(gb.dataSync())).to.deep.equal(Array.from(cb.dataSync()));
    // randint and randperm draw on the CPU and copy: the same numbers, the same stream after.
    manualSeed(8);
    const [gi, gp, gr] = [randint(-3, 40, [77], { device: 'cuda' }), randperm(50, { device: 'cuda' }), rand([3])];
    manualSeed(8);
    const [ci, cp, cr] = [randint(-3, 40, [77]), randperm(50), rand([3])];
    expect([gi.device, gp.device, gi.dtype]).to.deep.equal(['cuda', 'cuda', 'int32']);
    expect(Array.from(gi.dataSync())).to.deep.equal(Array.from(ci.dataSync()));
    expect(Array.from(gp.dataSync())).to.deep.equal(Array.from(cp.dataSync()));
    expect(Array.from(gr.dataSync())).to.deep.equal(Array.from(cr.dataSync()));
  });

  it('the source may change right after to(); reshape views stay on the GPU', async () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const x = tensor(data);
    const g = x.to('cuda');
    x.dispose();  // the upload copied the values already
    expect(Array.from(await g.reshape([2, 2]).data())).to.deep.equal([1, 2, 3, 4]);
    expect(g.reshape([2, 2]).device).to.equal('cuda');
  });

  it('gradients flow back through to() to the CPU leaf', () => {
    const x = randomCpu([5], 3);
    x.requiresGrad = true;
    const y = x.to('cuda').mul(2).sum();
    y.backward();
    expect(x.grad!.device).to.equal('cpu');
    expect(Array.from(x.grad!.dataSync())).to.deep.equal([2, 2, 2, 2, 2]);
  });

  it('Module.to moves parameters in place and back', () => {
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    const params = m.parameters();
    const values = params.map((p) => Array.from(p.dataSync()));
    m.to('cuda');
    expect(m.device).to.equal('cuda');
    expect(m.parameters()).to.deep.equal(params);
    params.forEach((p, i) => {
      expect(p.device).to.equal('cuda');
      expect(p.requiresGrad).to.equal(true);
      expect(Array.from(p.dataSync())).to.deep.equal(values[i]);
    });
    const out = m.call(randomCpu([2, 4], 5).to('cuda'));
    expect(out.device).to.equal('cuda');
    m.to('cpu');
    params.forEach((p, i) => expect(Array.from(p.dataSync())).to.deep.equal(values[i]));
    m.dispose();
  });

  it('the allocator reuses freed blocks and counts what it holds', () => {
    syncBlocking();
    const calls = () => cuda.memory()!.mallocCalls;
    zeros([1 << 20], { device: 'cuda' }).dispose();
    const before = calls();
    for (let i = 0; i < 20; i++) zeros([1 << 20], { device: 'cuda' }).dispose();
    expect(calls()).to.equal(before);
    const m0 = cuda.memory()!;
    const held = zeros([1 << 22], { device: 'cuda' });
    const m1 = cuda.memory()!;
    expect(m1.allocatedBytes - m0.allocatedBytes).to.be.at.least(16 << 20);
    expect(memory().devices.cuda.bytes).to.be.at.least(16 << 20);
    held.dispose();
    expect(cuda.memory()!.cachedBytes).to.be.at.least(16 << 20);
    cuda.emptyCache();
    expect(cuda.memory()!.cachedBytes).to.equal(0);
    expect(cuda.memory()!.reservedBytes).to.equal(cuda.memory()!.allocatedBytes);
  });

  it('out of memory is E_OOM with the sizes, and everything else keeps working', () => {
    const keepMe = tensor([1, 2, 3]).cuda();
    const total = cuda.info().devices[0].totalMemory;
    const tooMany = Math.ceil((total * 1.2) / 4);
    const e = expectError(() => zeros([tooMany], { device: 'cuda' }), 'E_OOM', /out of memory/);
    expect(e.message).to.match(/MiB/);
    expect(Array.from(keepMe.dataSync())).to.deep.equal([1, 2, 3]);
    expect(zeros([10], { device: 'cuda' }).sum().item()).to.equal(0);
  });

  it('tensors of one op must share a device: E_DEVICE names both', () => {
    const a = tensor([1, 2]);
    const b = tensor([1, 2]).cuda();
    const err = expectError(() => add(a, b), 'E_DEVICE');
    expect(err.message).to.match(/cuda/).and.to.match(/cpu/);
  });

  it('sync() and syncBlocking() wait for GPU work', async () => {
    let t: Tensor = tensor([1]).cuda();
    for (let i = 0; i < 100; i++) t = t.add(1);
    await sync();
    syncBlocking();
    expect(t.item()).to.equal(101);
  });

  it('reading a GPU tensor does not block the event loop', async () => {
    const x = randomCpu([1 << 22], 9).cuda();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const big = x.mul(2).add(1).mul(0.5);
    const values = await big.data();
    clearInterval(timer);
    expect(values.length).to.equal(1 << 22);
  });

  it('cuda.Event times GPU work: a 2e7-cycle sleep takes milliseconds of GPU time, an empty span almost none', () => {
    const a = new cuda.Event(), b = new cuda.Event(), c = new cuda.Event();
    a.record();
    b.record();
    cuda._sleep(2e7); // 10-20 ms at the GPU's 1-2 GHz clocks
    c.record();
    expect(c.query()).to.equal(false); // the host got here long before the GPU
    c.synchronize();
    expect(c.query()).to.equal(true);
    const empty = a.elapsedTime(b), slept = b.elapsedTime(c);
    expect(empty).to.be.within(0, 0.1);
    expect(slept).to.be.within(5, 40);
    expectError(() => a.elapsedTime({} as cuda.Event), 'E_ARG');
    const never = new cuda.Event();
    expectError(() => never.elapsedTime(a), 'E_CUDA');
  });
});
