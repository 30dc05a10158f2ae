/**
 * examples/image-folder.ts at a small size: the folder it writes is what ImageFolder expects
 * (classes, kinds of file, sizes), and a CNN trained on it for a few seconds beats always
 * guessing one class by far on the held-out pictures.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data, memory } from '../lib';
import { makeFolder, run, SHAPES } from '../examples/image-folder';
import { settle } from './helpers';

describe('examples/image-folder', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-folder-example-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes train/ and val/ folders of PNGs (RGB, grey, 16-bit) and PPMs, the same from a seed', () => {
    const a = makeFolder(path.join(tmp, 'a'), { perClass: 8, size: 20, seed: 3 });
    const b = makeFolder(path.join(tmp, 'b'), { perClass: 8, size: 20, seed: 3 });
    const train = new data.ImageFolder(path.join(a, 'train'));
    expect(train.classes).to.deep.equal([...SHAPES]);
    expect(train.length).to.equal(24);
    expect(new data.ImageFolder(path.join(a, 'val')).length).to.equal(6);
    expect(train.sampleShape).to.deep.equal([3, 20, 20]);
    const files = train.samples.map(([f]) => path.relative(a, f));
    expect(files.filter((f) => f.endsWith('.ppm')).length).to.equal(3);
    const kinds = new Set(train.samples.filter(([f]) => f.endsWith('.png')).map(([f]) => {
      const png = data.decodePng(fs.readFileSync(f));
      return `${png.channels} ${png.data instanceof Uint16Array ? 16 : 8}`;
    }));
    expect([...kinds].sort()).to.deep.equal(['1 8', '3 16', '3 8']);
    for (const f of files) expect(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f).to.equal(true);
  });

  it('trains a CNN that beats the majority-class baseline by far, on its own folder or on yours', async () => {
    await settle();
    const before = memory().tensors;
    const r = await run({ perClass: 160, epochs: 8, seed: 1 });
    try {
      expect(r.classes).to.deep.equal([...SHAPES]);
      expect([r.trainCount, r.valCount]).to.deep.equal([480, 120]);
      expect(r.baseline).to.be.closeTo(1 / 3, 1e-9);
      expect(r.valAccuracy, JSON.stringify(r.losses)).to.be.above(0.75);   // measured 0.925 (losses 1.09 → 0.13), 6 s
      expect(r.losses[r.losses.length - 1]).to.be.below(r.losses[0]);
    } finally {
      r.model.dispose();
    }
    const yours = await run({ root: path.join(tmp, 'a'), size: 16, epochs: 1 });
    expect([yours.trainCount, yours.valCount]).to.deep.equal([24, 6]);
    yours.model.dispose();
    expect(fs.existsSync(path.join(tmp, 'a'))).to.equal(true);   // your folder is left alone
    await settle();
    expect(memory().tensors).to.equal(before);
    await run({ root: path.join(tmp, 'nowhere') }).then(() => expect.fail('expected E_LOAD'), (e) => expect(e.code).to.equal('E_LOAD'));
    await run({ colour: true } as never).then(() => expect.fail('expected E_ARG'), (e) => expect(e.code).to.equal('E_ARG'));
  });
});
