/**
 * `vision` on the GPU: the box ops and box coding (composed from tensor ops) against the CPU
 * backend, with gradients; NMS (host-side) gives the CPU's indices as an int32 tensor on the
 * GPU. Skipped where no GPU is usable (describeCuda).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { describeCuda } from './cuda-helpers';
import { expectClose, rng } from './helpers';

const { vision, tensor } = cc;

function randomBoxes(n: number, seed: number): cc.Tensor<'float32'> {
  const next = rng(seed), v: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = next() * 20, y = next() * 20;
    v.push(x, y, x + 1 + next() * 15, y + 1 + next() * 15);
  }
  return tensor(v, { shape: [n, 4] });
}

describeCuda('cuda: vision', () => {
  it('boxArea, boxIou, boxConvert, encodeBoxes, decodeBoxes: the CPU values and gradients', () => {
    const a = randomBoxes(9, 1), b = randomBoxes(6, 2), deltas = randomBoxes(9, 3).mul(0.1).reshape([9, 4]);
    const ops: [string, (...x: cc.Tensor[]) => cc.Tensor, cc.Tensor[]][] = [
      ['boxArea', (x) => vision.boxArea(x), [a]],
      ['boxIou', (x, y) => vision.boxIou(x, y), [a, b]],
      ['boxConvert', (x) => vision.boxConvert(x, 'cxcywh', 'xywh'), [a]],
      ['encodeBoxes', (x, y) => vision.encodeBoxes(x, y, [10, 10, 5, 5]), [a, randomBoxes(9, 4)]],
      ['decodeBoxes', (d, p) => vision.decodeBoxes(d, p, [10, 10, 5, 5]), [deltas, a]],
    ];
    for (const [name, fn, inputs] of ops) {
      const run = (device: 'cpu' | 'cuda') => {
        const xs = inputs.map((t) => t.to(device).detach().requiresGrad_());
        const y = fn(...xs);
        y.mul(y.detach()).sum().backward();
        return { y: y.dataSync(), device: y.device, grads: xs.map((x) => x.grad!.dataSync()) };
      };
      const cpu = run('cpu'), gpu = run('cuda');
      expect(gpu.device, name).to.equal('cuda');
      expectClose(gpu.y, cpu.y, 1e-5, 1e-5, `${name} forward`);
      gpu.grads.forEach((g, i) => expectClose(g, cpu.grads[i], 1e-4, 1e-4, `${name} grad ${i}`));
    }
  });

  it('nms and batchedNms: the CPU indices, as int32 on the GPU', () => {
    const boxes = randomBoxes(200, 5), next = rng(6);
    const scores = tensor(Array.from({ length: 200 }, () => Math.floor(next() * 20) / 20));
    const labels = tensor(Int32Array.from({ length: 200 }, () => Math.floor(next() * 4)), { dtype: 'int32' });
    const keep = vision.nms(boxes.to('cuda'), scores.to('cuda'), 0.5);
    expect(keep.device).to.equal('cuda');
    expect(Array.from(keep.dataSync())).to.deep.equal(Array.from(vision.nms(boxes, scores, 0.5).dataSync()));
    const kb = vision.batchedNms(boxes.to('cuda'), scores.to('cuda'), labels.to('cuda'), 0.5);
    expect(Array.from(kb.dataSync())).to.deep.equal(Array.from(vision.batchedNms(boxes, scores, labels, 0.5).dataSync()));
  });
});
