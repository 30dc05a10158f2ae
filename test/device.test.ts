/**
 * Devices on every machine: the device of a tensor, `to`, `Module.to`, creation with a device,
 * the CUDA settings, and the clear E_DEVICE errors where the CUDA backend cannot be used (this
 * machine in CI: nvcc compiled the backend, but there is no GPU and no cuDNN).
 */
import { expect } from 'chai';
import { arange, bernoulli, cuda, memory, nn, randn, tensor, zeros } from '../lib/index';
import { expectError } from './helpers';

describe('devices (every machine)', () => {
  it('a tensor knows its device; to(its own device) is itself', () => {
    const x = tensor([1, 2, 3]);
    expect(x.device).to.equal('cpu');
    expect(x.to('cpu')).to.equal(x);
    expect(x.cpu()).to.equal(x);
  });

  it('unknown devices and other GPUs are E_DEVICE errors naming what was asked', () => {
    const x = tensor([1]);
    expectError(() => x.to('gpu'), 'E_DEVICE', /unknown device "gpu"/);
    expectError(() => x.to('cuda:1'), 'E_DEVICE', /only one GPU/);
    expectError(() => zeros([2], { device: 'tpu' }), 'E_DEVICE', /unknown device/);
  });

  it('Module.to keeps the parameters (identity and values) and reports the device', () => {
    const m = new nn.Linear(3, 2);
    const before = m.parameters();
    const values = before.map((p) => Array.from(p.dataSync()));
    expect(m.to('cpu')).to.equal(m);
    expect(m.device).to.equal('cpu');
    expect(m.parameters()).to.deep.equal(before);
    m.parameters().forEach((p, i) => expect(Array.from(p.dataSync())).to.deep.equal(values[i]));
    expectError(() => m.to('nowhere'), 'E_DEVICE');
    m.dispose();
  });

  it('arange and bernoulli take a device (and arange an options object in place of its dtype)', () => {
    expect(Array.from(arange(0, 3, 1, { dtype: 'float32', device: 'cpu' }).dataSync())).to.deep.equal([0, 1, 2]);
    expect(arange(0, 3, 1, { dtype: 'float32' }).dtype).to.equal('float32');
    expect(arange(3).dtype).to.equal('int32');
    expectError(() => arange(0, 3, 1, { requiresGrad: true }), 'E_ARG', /requiresGrad/);
    expect(bernoulli([5], 0.5, { device: 'cpu' }).device).to.equal('cpu');
    expectError(() => bernoulli([5], 0.5, null as never), 'E_ARG');
    expectError(() => arange(3, undefined, 1, { device: 'nowhere' }), 'E_DEVICE');
  });

  it('cuda.setOptions checks every key and value before changing anything', () => {
    const before = cuda.options();
    expectError(() => cuda.setOptions({ benchmarks: true } as never), 'E_ARG', /unknown option `benchmarks`/);
    expectError(() => cuda.setOptions({ benchmark: 1 } as never), 'E_ARG', /boolean/);
    expectError(() => cuda.setOptions(null as never), 'E_ARG');
    expectError(() => cuda.setOptions(undefined as never), 'E_ARG');
    expect(cuda.options()).to.deep.equal(before);
  });

  it('cuda.info and cuda.load refuse an unknown option (a misspelt path would be ignored)', () => {
    expectError(() => cuda.info({ cudnnpath: '/x' } as never), 'E_ARG', /unknown option `cudnnpath`.*cudnnPath/);
    expectError(() => cuda.load({ cudnnPath: '' }), 'E_ARG', /non-empty string/);
    expectError(() => cuda.info(7 as never), 'E_ARG', /options/);
  });

  it("memory() has a cuda section (zeros until a GPU tensor exists)", () => {
    const m = memory();
    expect(m.devices.cuda).to.have.keys(['bytes', 'storages', 'cachedBytes']);
    if (!cuda.isAvailable()) expect(m.devices.cuda.bytes).to.equal(0);
  });

  describe('where the CUDA backend is not available', function () {
    before(function () {
      if (cuda.isAvailable()) this.skip();
    });

    it("to('cuda'), creation on 'cuda' and Module.to('cuda') say why, and lose nothing", () => {
      const x = randn([4]);
      const reason = cuda.info().reason;
      expect(reason).to.be.a('string').and.not.equal('');
      const e = expectError(() => x.to('cuda'), 'E_DEVICE', /the CUDA device is not available/);
      expect(e.message).to.contain(reason);
      expectError(() => zeros([2], { device: 'cuda' }), 'E_DEVICE');
      expectError(() => tensor([1, 2], { device: 'cuda' }), 'E_DEVICE');
      expectError(() => arange(0, 4, 1, { device: 'cuda' }), 'E_DEVICE');
      expectError(() => bernoulli([4], 0.5, { device: 'cuda' }), 'E_DEVICE');
      const m = new nn.Linear(2, 2);
      expectError(() => m.to('cuda'), 'E_DEVICE');
      expect(m.device).to.equal('cpu');
      expectError(() => new cuda.Event(), 'E_DEVICE', /cuda.Event: the CUDA device is not available/);
      expectError(() => cuda._sleep(1000), 'E_DEVICE');
      expectError(() => cuda._sleep(-1), 'E_ARG');
      expect(x.isDisposed).to.equal(false);
      expect(x.dataSync()).to.have.length(4);
      m.dispose();
    });

    it('the settings still read back with PyTorch defaults where the backend is compiled', () => {
      const o = cuda.options();
      if (!cuda.info().compiled) return expect(o).to.deep.equal({});
      expect(o).to.deep.equal({ benchmark: false, allowTF32Cudnn: true, allowTF32Matmul: false, deterministic: false });
      const m = cuda.memory();
      expect(m).to.deep.equal({ allocatedBytes: 0, cachedBytes: 0, reservedBytes: 0, peakBytes: 0, mallocCalls: 0 });
      cuda.emptyCache();  // nothing to give back, and no GPU to touch: a no-op
    });
  });
});
