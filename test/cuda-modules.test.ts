/**
 * Modules and helpers that make tensors of their own, on a model moved to the GPU: each must make
 * them on the model's device (a CPU tensor there is E_DEVICE in the op that meets it). Found by
 * the dry run of the GPU tests (scripts/gpu/dry-run.js): BatchNorm's `num_batches_tracked`
 * counter, nn.init's fills and summary()'s zeros were made on the CPU. Skipped where no GPU is
 * usable (describeCuda).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { compareDevices, describeCuda, expectSameValues, randomCpu } from './cuda-helpers';
import { expectBitIdentical } from './helpers';

const { nn } = cc;

describeCuda('modules on the GPU make their own tensors there', () => {
  it('BatchNorm1d/2d in training on the GPU: the values, the running statistics and num_batches_tracked match the CPU', () => {
    for (const [make, shape] of [[() => new nn.BatchNorm2d(3), [4, 3, 5, 5]], [() => new nn.BatchNorm1d(3, { momentum: null }), [6, 3]]] as const) {
      const cpu = make(), gpu = make().to('cuda');
      for (let step = 0; step < 3; step++) {
        // bound: cuDNN's batch norm against the CPU's, as in cuda-layers
        compareDevices((x) => (x.device === 'cuda' ? gpu : cpu).call(x), [randomCpu(shape, 40 + step)], { bound: 1e-4, grads: true, what: `${cpu.typeName} step ${step}` });
      }
      expect(gpu.numBatchesTracked).to.equal(3);
      const counter = new Map(gpu.namedBuffers()).get('num_batches_tracked')!;
      expect(counter.device).to.equal('cuda');
      expect(Array.from(counter.dataSync())).to.deep.equal([3]);
      expectSameValues(gpu.runningMean!, cpu.runningMean!, 1e-5, 'running mean');
      expectSameValues(gpu.runningVar!, cpu.runningVar!, 1e-4, 'running var');
    }
  });

  it('nn.init fills a GPU tensor in place with the CPU\'s values (same seed)', () => {
    const fills: [string, (t: cc.Tensor) => unknown, number][] = [
      ['uniform_', (t) => nn.init.uniform_(t, -2, 3), 0],
      ['constant_', (t) => nn.init.constant_(t, 0.25), 0],
      ['kaimingUniform_', (t) => nn.init.kaimingUniform_(t, { a: Math.sqrt(5) }), 0],
      ['xavierUniform_', (t) => nn.init.xavierUniform_(t), 0],
      ['lecunUniform_', (t) => nn.init.lecunUniform_(t), 0],
      ['normal_', (t) => nn.init.normal_(t, 1, 0.5), 2e-6],  // Box-Muller's log/cos: CUDA's, within a few ulp (cuda-ops' randn bound)
      ['kaimingNormal_', (t) => nn.init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu' }), 2e-6],
      ['xavierNormal_', (t) => nn.init.xavierNormal_(t), 2e-6],
      ['lecunNormal_', (t) => nn.init.lecunNormal_(t), 2e-6],
    ];
    for (const [name, fill, bound] of fills) {
      const cpu = randomCpu([6, 4, 3, 3], 1), gpu = cpu.to('cuda');
      cc.manualSeed(11);
      fill(cpu);
      cc.manualSeed(11);
      expect(fill(gpu), name).to.equal(gpu);  // in place: the same tensor, still on the GPU
      expect(gpu.device, name).to.equal('cuda');
      if (bound === 0) expectBitIdentical(gpu.dataSync() as Float32Array, cpu.dataSync() as Float32Array, name);
      else expectSameValues(gpu, cpu, bound, name);
    }
  });

  it('loadStateDict copies a CPU state dict into a GPU model and a GPU one into a CPU model (as PyTorch)', () => {
    const make = () => new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2));
    const source = make();
    source.call(randomCpu([2, 1, 5, 5], 3));  // running statistics and a counter of 1
    const gpu = make().to('cuda');
    gpu.loadStateDict(source.stateDict());
    const back = make();
    back.loadStateDict(gpu.stateDict());
    for (const [key, t] of Object.entries(source.stateDict())) {
      const g = gpu.stateDict()[key], c = back.stateDict()[key];
      expect(g.device, key).to.equal('cuda');
      expectBitIdentical(g.dataSync(), t.dataSync(), `${key} on the GPU`);
      expectBitIdentical(c.dataSync(), t.dataSync(), `${key} back on the CPU`);
    }
    expect((gpu.at(1) as cc.nn.BatchNorm2d).numBatchesTracked).to.equal(1);
  });

  it('nn.utils.prune on a GPU layer: the CPU\'s mask, kept on the GPU; the pruned weight and its gradient as on the CPU', () => {
    const make = () => { cc.manualSeed(5); return new cc.nn.Linear(8, 4); };
    const cpu = make(), gpu = make().to('cuda');
    for (const m of [cpu, gpu]) cc.nn.utils.prune.l1Unstructured(m, 'weight', 0.4);
    const mask = (m: cc.nn.Module) => m.namedBuffers().find(([k]) => k === 'weight_mask')![1];
    expect(mask(gpu).device).to.equal('cuda');
    expectBitIdentical(mask(gpu).to('cpu').dataSync() as Float32Array, mask(cpu).dataSync() as Float32Array, 'weight_mask');
    const x = randomCpu([3, 8], 6);
    const outs = [cpu, gpu].map((m) => cc.tidy(() => { const y = m.call(m === gpu ? x.to('cuda') : x); y.sum().backward(); return y; }));
    expectSameValues(outs[1], outs[0], 1e-6, 'pruned Linear output');
    const orig = (m: cc.nn.Module) => m.namedParameters().find(([k]) => k === 'weight_orig')![1];
    expectSameValues(orig(gpu).grad!, orig(cpu).grad!, 1e-6, 'weight_orig gradient');
    cpu.dispose(); gpu.dispose(); x.dispose(); for (const o of outs) o.dispose();
  });

  it('summary() of a model on the GPU runs it there', () => {
    const model = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(2 * 4 * 4, 3));
    const table = model.summary([1, 1, 6, 6]);
    expect(model.to('cuda').summary([1, 1, 6, 6])).to.equal(table);
    expect(model.training).to.equal(true);
  });

  it('nn.utils.fuseConvBn on a model on the GPU folds there: the fused weights and logits match the CPU\'s', () => {
    const make = () => {
      cc.manualSeed(61);
      const net = cc.models.resnet18({ numClasses: 5, cifar: true });
      for (const m of net.modules()) {
        if (!(m instanceof nn.BatchNorm2d)) continue;
        nn.init.uniform_(m.runningMean!, -0.5, 0.5);
        nn.init.uniform_(m.runningVar!, 0.3, 2);
        nn.init.uniform_(m.weight!, 0.5, 1.5);
      }
      return net.eval();
    };
    const cpu = make(), gpu = make().to('cuda');
    expect(nn.utils.fuseConvBn(cpu)).to.equal(20);
    expect(nn.utils.fuseConvBn(gpu)).to.equal(20);
    const weight = gpu.getSubmodule('layer3.0.conv2') as cc.nn.Conv2d;
    expect(weight.bias!.device).to.equal('cuda');
    expectSameValues(weight.weight, (cpu.getSubmodule('layer3.0.conv2') as cc.nn.Conv2d).weight, 1e-6, 'folded weight');
    const x = randomCpu([2, 3, 16, 16], 62);
    // bound: cuDNN's convolutions against the CPU's through 18 layers, as cuda-models
    expectSameValues(cc.noGrad(() => gpu.call(x.to('cuda'))), cc.noGrad(() => cpu.call(x)), 1e-3, 'fused ResNet-18 logits');
    cpu.dispose();
    gpu.dispose();
  });
});
