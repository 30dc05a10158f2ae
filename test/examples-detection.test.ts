/**
 * examples/detection.ts at a small size: the scenes are well formed, and the detector learns
 * (mAP@0.5 far above the untrained model's, which finds nearly nothing).
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { makeScenes, run, slidingWindows } from '../examples/detection';

describe('examples/detection', () => {
  it('makes seeded scenes of 1-3 digits whose boxes hold their ink and stay on the canvas', () => {
    const digits = cc.data.mnist({ split: 'test' });
    const a = makeScenes(digits, 20, 64, 7), b = makeScenes(digits, 20, 64, 7);
    expect(a.map((s) => s.boxes)).to.deep.equal(b.map((s) => s.boxes));
    for (const s of a) {
      expect(s.boxes.length).to.be.within(1, 3);
      expect(s.digits.length).to.equal(s.boxes.length);
      for (const [x1, y1, x2, y2] of s.boxes) {
        expect(x1).to.be.at.least(0);
        expect(y1).to.be.at.least(0);
        expect(x2).to.be.at.most(64);
        expect(y2).to.be.at.most(64);
        let ink = 0;
        for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) ink = Math.max(ink, s.image[y * 64 + x]);
        expect(ink).to.be.above(0.3);
      }
    }
    const windows = slidingWindows(64);
    expect(windows.every((w) => w[0] >= 0 && w[1] >= 0 && w[2] <= 64 + 1e-9 && w[3] <= 64 + 1e-9)).to.equal(true);
  });

  it('learns to detect digits: mAP@0.5 well above the untrained model', async function () {
    this.timeout(180000);   // about 30 s on 2 cores, more when they are shared
    const r = await run({ train: 2400, test: 40, epochs: 2, log: () => {} });
    expect(r.device).to.equal('cpu');
    expect(r.mapUntrained).to.be.below(0.02);
    expect(r.map).to.be.above(0.2);
    expect(r.mapNoRegression).to.be.above(0.1);
    expect(r.perDigit).to.have.length(10);
  });
});
