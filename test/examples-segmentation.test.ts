/**
 * examples/segmentation.ts at a small size: the synthetic data are what they claim (seeded,
 * labelled where drawn), and an FCN-8s trained for a few seconds segments the held-out images
 * far better than calling every pixel background.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { memory } from '../lib';
import { makeShapes, run } from '../examples/segmentation';
import { settle } from './helpers';

describe('examples/segmentation', function () {
  this.timeout(120000);

  it('makes the same labelled images from a seed, with every class present', () => {
    const a = makeShapes(64, 32, 5), b = makeShapes(64, 32, 5), c = makeShapes(64, 32, 6);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).to.equal(true);
    expect(Buffer.from(a.masks.buffer).equals(Buffer.from(b.masks.buffer))).to.equal(true);
    expect(Buffer.from(a.masks.buffer).equals(Buffer.from(c.masks.buffer))).to.equal(false);
    const counts = [0, 0, 0, 0];
    for (const v of a.masks) counts[v]++;
    expect(counts.every((n) => n > 0), String(counts)).to.equal(true);
    expect(counts[0] / a.masks.length).to.be.within(0.6, 0.95);   // mostly background, as real scenes
    let sum = 0, sq = 0;
    for (const v of a.images) { sum += v; sq += v * v; }
    const mean = sum / a.images.length, std = Math.sqrt(sq / a.images.length - mean * mean);
    expect(Math.abs(mean)).to.be.below(0.5);
    expect(std).to.be.within(0.5, 2);
  });

  it('trains an FCN-8s that beats the all-background baseline by far (mean IoU)', async () => {
    await settle();
    const before = memory().tensors;
    const png = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-seg-')), 'predictions.png');
    const r = await run({ size: 48, train: 1024, test: 64, epochs: 6, seed: 1, png });   // ~20 s on 2 cores
    try {
      // The baseline's mean IoU is the background's share over four classes (about 0.2).
      expect(r.baseline.meanIoU).to.be.below(0.25);
      expect(r.baseline.iouPerClass.slice(1)).to.deep.equal([0, 0, 0]);
      expect(r.test.meanIoU, JSON.stringify(r.test)).to.be.above(r.baseline.meanIoU + 0.2);   // measured 0.56 against 0.21
      expect(r.test.pixelAccuracy).to.be.above(r.baseline.pixelAccuracy);
      expect(r.losses[r.losses.length - 1]).to.be.below(r.losses[0]);
      expect(fs.statSync(png).size).to.be.above(1000);
    } finally {
      r.model.dispose();
      fs.rmSync(path.dirname(png), { recursive: true, force: true });
    }
    await settle();
    expect(memory().tensors).to.equal(before);
  });
});
