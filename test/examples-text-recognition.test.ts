/**
 * examples/text-recognition.ts at a small size: 200 training steps, 200 held-out strips. A CNN
 * trained with CTC from digit strings alone must read most held-out strips whole; the untrained
 * one reads none.
 */
import { expect } from 'chai';
import { run } from '../examples/text-recognition';

describe('examples/text-recognition', function () {
  this.timeout(180000);   // about 15 s on 2 quiet cores
  it('a CNN trained with the CTC loss reads strips of 3-5 MNIST digits (whole strings and characters)', async () => {
    const lines: string[] = [];
    const r = await run({ steps: 200, testSize: 200, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith('trained'))).to.equal(true);
    expect(r.untrained.stringAccuracy).to.equal(0);
    expect(r.untrained.characterErrorRate).to.be.above(0.5);
    expect(r.trained.stringAccuracy).to.be.above(0.5);
    expect(r.trained.characterErrorRate).to.be.below(0.15);
    expect(Number.isFinite(r.loss)).to.equal(true);
  });

  it('CRNN\'s head (a bidirectional LSTM over the columns) learns to read them too', async () => {
    // It leaves CTC's early plateau later than the convolutional head: 300 steps (84% at seed 1, 15 s).
    const r = await run({ steps: 300, testSize: 200, head: 'lstm', log: () => {} });
    expect(r.untrained.stringAccuracy).to.equal(0);
    expect(r.trained.stringAccuracy).to.be.above(0.5);
    expect(r.trained.characterErrorRate).to.be.below(0.15);
  });

  it('--help prints the usage', async () => {
    const { execFileSync } = await import('child_process');
    const path = await import('path');
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'text-recognition.js'), '--help'], { encoding: 'utf8' });
    expect(out).to.match(/Usage: node dist\/examples\/text-recognition\.js/);
    expect(out).to.match(/--device/);
    expect(out).to.match(/--head conv\|lstm/);
  });
});
