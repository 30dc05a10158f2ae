/**
 * examples/retrieval.ts at a small size: 60 training steps, 1000 held-out images. The trained
 * embedding must search MNIST clearly better than the raw pixels (mAP by far: pixels' ~0.45).
 */
import { expect } from 'chai';
import { run } from '../examples/retrieval';

describe('examples/retrieval', function () {
  this.timeout(120000);   // about 18 s on 2 quiet cores; mocha's 20 s default failed it when they were shared
  it('a triplet-trained CNN embedding beats the raw-pixel search (recall@1 and, by far, mAP)', async () => {
    const lines: string[] = [];
    const r = await run({ steps: 60, testSize: 1000, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith('trained embedding'))).to.equal(true);
    expect(r.pixels.recall1).to.be.within(0.8, 0.95);   // raw pixels are a strong 1-NN baseline on MNIST
    expect(r.embedding.recall1).to.be.above(r.pixels.recall1);
    expect(r.embedding.recall5).to.be.at.least(r.pixels.recall5 - 0.01);
    expect(r.embedding.map).to.be.above(r.pixels.map + 0.25);
    expect(Number.isFinite(r.loss)).to.equal(true);
  });

  it('--help prints the usage', async () => {
    const { execFileSync } = await import('child_process');
    const path = await import('path');
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'retrieval.js'), '--help'], { encoding: 'utf8' });
    expect(out).to.match(/Usage: node dist\/examples\/retrieval\.js/);
    expect(out).to.match(/--device/);
  });
});
