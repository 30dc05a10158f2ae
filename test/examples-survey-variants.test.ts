/**
 * examples/survey-variants.ts at a small size: 100 steps of each network, 1000 held-out images.
 * Both must learn (chance is 10%): the network of tiled convolutions, probout, spectral pooling and
 * an L-Softmax head trains end to end beside the plain one.
 */
import { expect } from 'chai';
import { run } from '../examples/survey-variants';

describe('examples/survey-variants', function () {
  this.timeout(180000);   // about 20 s on 2 quiet cores
  it('the survey-variant network and the plain one both learn MNIST', async () => {
    const lines: string[] = [];
    const r = await run({ steps: 100, testSize: 1000, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith('variants: test accuracy'))).to.equal(true);
    expect(r.plain.accuracy).to.be.above(0.85);
    expect(r.variants.accuracy).to.be.above(0.7);
    expect(Number.isFinite(r.variants.loss) && Number.isFinite(r.plain.loss)).to.equal(true);
  });

  it('--help prints the usage', async () => {
    const { execFileSync } = await import('child_process');
    const path = await import('path');
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'survey-variants.js'), '--help'], { encoding: 'utf8' });
    expect(out).to.match(/Usage: node dist\/examples\/survey-variants\.js/);
  });
});
