/**
 * Reading your own pictures and CIFAR: the PNG and PGM/PPM decoders against hand-made files
 * (test/fixtures/make/images.py: every colour type, bit depth, row filter, Adam7), against
 * pngjs and the library's own PNG writer; bilinear resizing against PyTorch's F.interpolate;
 * CIFAR-10/100 and ImageFolder on small files written here. Every bad input by its error code.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import * as cc from '../lib';
import { crc32 } from '../lib/data/png';
import { expectError, rng } from './helpers';

const { data } = cc;

interface PictureCase { name: string; width: number; height: number; channels: number; sixteen: boolean; data: number[] }
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'images.json'), 'utf8')).cases as {
  png: (PictureCase & { png: string })[];
  pnm: (PictureCase & { bytes: string })[];
  picture: { shape: number[]; values: number[] };
  resize: { size: [number, number]; rgb: number[]; grey: number[] }[];
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-images-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out, 4, 8 + body.length), 8 + body.length);
  return out;
}

/** A PNG from its parts, with correct CRCs: for files that are wrong in one particular way. */
function makePng(o: { width: number; height: number; depth?: number; color?: number; interlace?: number; raw: Uint8Array; extra?: Buffer[]; idat?: Buffer }): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width, 0);
  ihdr.writeUInt32BE(o.height, 4);
  ihdr.set([o.depth ?? 8, o.color ?? 0, 0, 0, o.interlace ?? 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(o.extra ?? []),
    o.idat ?? chunk('IDAT', zlib.deflateSync(o.raw)), chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Writes a PNG of RGB(A) 8-bit pixels with pngjs. */
function writePng(file: string, width: number, height: number, rgba: Uint8Array, options: Record<string, unknown> = {}): void {
  const png = new PNG({ width, height, ...options });
  png.data = Buffer.from(rgba);
  fs.writeFileSync(file, PNG.sync.write(png, options));
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

describe('data: decodePng', () => {
  it('decodes every colour type, bit depth, filter, palette, colour key and Adam7 as written by hand (fixtures)', () => {
    expect(fixture.png.length).to.equal(28);
    for (const c of fixture.png) {
      const image = data.decodePng(Buffer.from(c.png, 'base64'), c.name);
      expect([image.width, image.height, image.channels], c.name).to.deep.equal([c.width, c.height, c.channels]);
      expect(image.data, c.name).to.be.instanceOf(c.sixteen ? Uint16Array : Uint8Array);
      expect(Array.from(image.data), c.name).to.deep.equal(c.data);
    }
  });

  it('gives what pngjs gives for the 8-bit fixtures (an independent decoder)', () => {
    // Where a colour key makes a pixel transparent pngjs also blackens it; we keep its colour, as libpng and PIL.
    for (const c of fixture.png.filter((p) => !p.sixteen)) {
      const bytes = Buffer.from(c.png, 'base64');
      const ours = data.decodePng(bytes);
      const theirs = PNG.sync.read(bytes);   // always RGBA
      const rgba = new Uint8Array(ours.width * ours.height * 4);
      for (let i = 0; i < ours.width * ours.height; i++) {
        const p = ours.data.subarray(i * ours.channels, (i + 1) * ours.channels);
        const colour = ours.channels >= 3 ? [p[0], p[1], p[2]] : [p[0], p[0], p[0]];
        const alpha = ours.channels === 2 || ours.channels === 4 ? p[ours.channels - 1] : 255;
        rgba.set([...colour, alpha], 4 * i);
      }
      if (/colour key/.test(c.name)) for (let i = 0; i < rgba.length; i += 4) if (rgba[i + 3] === 0) rgba.fill(0, i, i + 3);
      expect(Buffer.from(rgba).equals(theirs.data), c.name).to.equal(true);
    }
  });

  it('reads what pngjs writes (colour types 0, 2, 4, 6; 8 and 16 bits; each filter) and what viz.filtersPng writes', () => {
    const width = 13, height = 7;
    const rgba = randomBytes(width * height * 4, 3);
    for (const colorType of [0, 2, 4, 6]) {
      for (const filterType of [0, 1, 2, 3, 4]) {
        const file = path.join(tmp, `pngjs-${colorType}-${filterType}.png`);
        writePng(file, width, height, rgba, { colorType, filterType, inputHasAlpha: true });
        const ours = data.decodePng(fs.readFileSync(file), file);
        const theirs = PNG.sync.read(fs.readFileSync(file));
        expect(ours.channels).to.equal({ 0: 1, 2: 3, 4: 2, 6: 4 }[colorType]);
        for (let i = 0; i < width * height; i++) {
          const p = Array.from(ours.data.subarray(i * ours.channels, (i + 1) * ours.channels));
          const q = Array.from(theirs.data.subarray(4 * i, 4 * i + 4));
          const want = colorType === 0 ? [q[0]] : colorType === 4 ? [q[0], q[3]] : colorType === 2 ? q.slice(0, 3) : q;
          expect(p, `colour type ${colorType}, filter ${filterType}, pixel ${i}`).to.deep.equal(want);
        }
      }
    }
    // 16 bits: pngjs takes the samples as a Uint16Array.
    const samples16 = Uint16Array.from(randomBytes(width * height * 8, 4).filter((_, i) => i % 2 === 0), (v, i) => v * 256 + (i % 256));
    const png16 = new PNG({ width, height, bitDepth: 16, colorType: 6, inputHasAlpha: true });
    png16.data = samples16 as unknown as Buffer;
    const deep = data.decodePng(PNG.sync.write(png16, { bitDepth: 16, colorType: 6, inputHasAlpha: true }));
    expect(deep.data).to.be.instanceOf(Uint16Array);
    expect(Array.from(deep.data)).to.deep.equal(Array.from(samples16));

    const weight = cc.tensor(Float32Array.from({ length: 4 * 3 * 5 * 5 }, (_, i) => Math.sin(i)), { shape: [4, 3, 5, 5] });
    const grid = path.join(tmp, 'filters.png');
    const info = cc.viz.filtersPng(weight, grid, { scale: 2 });
    weight.dispose();
    const ours = data.decodePng(fs.readFileSync(grid));
    const theirs = PNG.sync.read(fs.readFileSync(grid));
    expect([ours.width, ours.height]).to.deep.equal([info.width, info.height]);
    expect(ours.channels).to.equal(4);
    expect(Buffer.from(ours.data as Uint8Array).equals(theirs.data)).to.equal(true);
  });

  it('refuses every truncation and every changed byte of a file with E_FORMAT', () => {
    const bytes = Buffer.from(fixture.png.find((c) => c.name === 'palette 2-bit with tRNS')!.png, 'base64');
    for (let n = 0; n < bytes.length; n++) expectError(() => data.decodePng(bytes.subarray(0, n)), 'E_FORMAT');
    for (let i = 0; i < bytes.length; i++) {
      const bad = Buffer.from(bytes);
      bad[i] ^= 0x10;
      expectError(() => data.decodePng(bad), 'E_FORMAT');
    }
    expectError(() => data.decodePng(bytes.subarray(0, bytes.length - 3)), 'E_FORMAT', /truncated/);
    const crc = Buffer.from(bytes);
    crc[40] ^= 1;
    expectError(() => data.decodePng(crc), 'E_FORMAT', /CRC/);
    expectError(() => data.decodePng(Buffer.from('GIF89a......')), 'E_FORMAT', /not a PNG/);
  });

  it('refuses corrupt contents with correct CRCs with E_FORMAT, saying what is wrong', () => {
    const row = (filter: number, ...v: number[]) => [filter, ...v];
    const ok = makePng({ width: 2, height: 2, raw: Uint8Array.from([...row(0, 1, 2), ...row(4, 3, 4)]) });
    // Paeth on row 1: 3 + 1 (the byte above is the nearest guess), then 4 + 4 (the left byte is).
    expect(Array.from(data.decodePng(ok).data)).to.deep.equal([1, 2, 4, 8]);
    expectError(() => data.decodePng(makePng({ width: 2, height: 2, raw: Uint8Array.from([...row(0, 1, 2), ...row(5, 3, 4)]) })), 'E_FORMAT', /row 1 has filter type 5/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 2, raw: Uint8Array.from(row(0, 1, 2)) })), 'E_FORMAT', /truncated: its image data inflates to 3 bytes, its header says 6/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, raw: Uint8Array.from([...row(0, 1, 2), 9, 9]) })), 'E_FORMAT', /more than the 3 bytes/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, raw: new Uint8Array(0), idat: chunk('IDAT', Uint8Array.from([1, 2, 3, 4])) })), 'E_FORMAT', /does not inflate/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, depth: 3, raw: new Uint8Array(3) })), 'E_FORMAT', /bit depth 3 is not allowed for grey/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, color: 2, depth: 4, raw: new Uint8Array(3) })), 'E_FORMAT', /bit depth 4 is not allowed for RGB/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, color: 5, raw: new Uint8Array(3) })), 'E_FORMAT', /unknown colour type 5/);
    expectError(() => data.decodePng(makePng({ width: 0, height: 1, raw: new Uint8Array(1) })), 'E_FORMAT', /size 0 x 1/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, interlace: 2, raw: new Uint8Array(3) })), 'E_FORMAT', /interlace method 2/);
    expectError(() => data.decodePng(makePng({ width: 65536, height: 65536, raw: new Uint8Array(1) })), 'E_FORMAT', /more than this decoder takes/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, color: 3, raw: Uint8Array.from(row(0, 0, 0)) })), 'E_FORMAT', /without a palette/);
    const palette = chunk('PLTE', Uint8Array.from([10, 20, 30, 40, 50, 60]));
    const indexed = (...v: number[]) => makePng({ width: 2, height: 1, color: 3, raw: Uint8Array.from(row(0, ...v)), extra: [palette] });
    expect(Array.from(data.decodePng(indexed(1, 0)).data)).to.deep.equal([40, 50, 60, 10, 20, 30]);
    expectError(() => data.decodePng(indexed(0, 2)), 'E_FORMAT', /pixel 1, 0 uses palette entry 2 of 2/);
    expectError(() => data.decodePng(makePng({ width: 2, height: 1, raw: Uint8Array.from(row(0, 1, 2)), extra: [chunk('ABCD', new Uint8Array(2))] })), 'E_FORMAT', /unknown critical chunk ABCD/);
    expect(data.decodePng(makePng({ width: 2, height: 1, raw: Uint8Array.from(row(0, 1, 2)), extra: [chunk('abCD', new Uint8Array(2))] })).width).to.equal(2);
    const noIdat = makePng({ width: 1, height: 1, raw: new Uint8Array(2), idat: Buffer.alloc(0) });
    expectError(() => data.decodePng(noIdat), 'E_FORMAT', /no image data/);
    expectError(() => data.decodePng('x.png' as unknown as Uint8Array), 'E_ARG');
  });
});

describe('data: decodePnm (binary PGM and PPM)', () => {
  it('reads P5 and P6 with comments, any maxval (rescaled) and 16-bit samples (fixtures)', () => {
    for (const c of fixture.pnm) {
      const image = data.decodePnm(Buffer.from(c.bytes, 'base64'), c.name);
      expect([image.width, image.height, image.channels], c.name).to.deep.equal([c.width, c.height, c.channels]);
      expect(image.data, c.name).to.be.instanceOf(c.sixteen ? Uint16Array : Uint8Array);
      expect(Array.from(image.data), c.name).to.deep.equal(c.data);
    }
  });

  it('refuses truncated and corrupt files with E_FORMAT', () => {
    const bytes = Buffer.from(fixture.pnm[0].bytes, 'base64').subarray(0, 11 + 15);
    for (let n = 0; n < bytes.length; n++) expectError(() => data.decodePnm(bytes.subarray(0, n)), 'E_FORMAT');
    expectError(() => data.decodePnm(Buffer.from('P5\n2 2\n255\n\x01\x02\x03')), 'E_FORMAT', /need 4 bytes, the file has 3/);
    expectError(() => data.decodePnm(Buffer.from('P5\n2 x\n255\n\x01\x02\x03\x04')), 'E_FORMAT', /height/);
    expectError(() => data.decodePnm(Buffer.from('P5\n2 1\n0\n\x01\x02')), 'E_FORMAT', /maxval 0/);
    expectError(() => data.decodePnm(Buffer.from('P5\n2 1\n70000\n\x01\x02\x03\x04')), 'E_FORMAT', /maxval 70000/);
    expectError(() => data.decodePnm(Buffer.from('P5\n2 1\n9\n\x01\x0a')), 'E_FORMAT', /sample 1 is 10, more than its maxval 9/);
    expectError(() => data.decodePnm(Buffer.from('P2\n2 1\n9\n1 2')), 'E_FORMAT', /P5 or P6/);
  });
});

describe('data: imageToValues (channels, bilinear resizing as PyTorch)', () => {
  const [C, H, W] = fixture.picture.shape;
  const hwc = new Uint8Array(C * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) hwc[i * C + c] = fixture.picture.values[c * H * W + i];
  const picture: cc.data.DecodedImage = { width: W, height: H, channels: 3, data: hwc };

  it('resizes RGB and grey like F.interpolate(bilinear, align_corners=False, antialias=False) in float64', () => {
    for (const c of fixture.resize) {
      const rgb = data.imageToValues(picture, { size: c.size, channels: 3 });
      const grey = data.imageToValues(picture, { size: c.size, channels: 1 });
      expect(rgb.length).to.equal(3 * c.size[0] * c.size[1]);
      rgb.forEach((v, i) => expect(v).to.be.closeTo(c.rgb[i], 1e-6));
      grey.forEach((v, i) => expect(v).to.be.closeTo(c.grey[i], 1e-6));
    }
  });

  it('repeats grey into RGB, drops alpha and scales 16-bit samples by 1/65535', () => {
    const ga: cc.data.DecodedImage = { width: 2, height: 1, channels: 2, data: Uint8Array.from([51, 0, 255, 7]) };
    expect(Array.from(data.imageToValues(ga, { channels: 3 }))).to.deep.equal([0.2, 1, 0.2, 1, 0.2, 1].map(Math.fround));
    const rgba16: cc.data.DecodedImage = { width: 1, height: 1, channels: 4, data: Uint16Array.from([65535, 0, 13107, 0]) };
    expect(Array.from(data.imageToValues(rgba16))).to.deep.equal([1, 0, 0.2].map(Math.fround));
    expect(data.imageToValues(rgba16, { channels: 1 })[0]).to.be.closeTo(0.299 + 0.114 * 0.2, 1e-7);
    expect(Array.from(data.imageToValues(ga, { size: 1, channels: 1 }))).to.deep.equal([Math.fround(0.6)]); // (0.2 + 1) / 2
    expectError(() => data.imageToValues({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), 'E_ARG', /`image` has 11 samples; 2 x 2 x 3 needs 12/);
    expectError(() => data.imageToValues({ width: 1, height: 1, channels: 5, data: new Uint8Array(5) }), 'E_ARG', /channels 5/);
    expectError(() => data.imageToValues(picture, { channels: 2 as 1 }), 'E_ARG', /channels/);
    expectError(() => data.imageToValues(picture, { mode: 'nearest' } as never), 'E_ARG', /unknown option `mode`/);
  });
});

describe('data: cifar10 and cifar100 (binary versions, synthetic files)', () => {
  const record = (labels: number[], seed: number) => Buffer.concat([Buffer.from(labels), Buffer.from(randomBytes(3072, seed))]);
  const c10 = path.join(tmp, 'c10', 'cifar-10-batches-bin');
  const c100 = path.join(tmp, 'c100');
  before(() => {
    fs.mkdirSync(c10, { recursive: true });
    for (let k = 1; k <= 5; k++) fs.writeFileSync(path.join(c10, `data_batch_${k}.bin`), Buffer.concat([record([k], 10 * k), record([9 - k], 10 * k + 1)]));
    fs.writeFileSync(path.join(c10, 'test_batch.bin'), Buffer.concat([record([3], 1), record([0], 2), record([9], 3)]));
    fs.writeFileSync(path.join(c10, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    fs.mkdirSync(c100, { recursive: true });
    fs.writeFileSync(path.join(c100, 'train.bin'), Buffer.concat([record([19, 99], 5), record([0, 42], 6)]));
    fs.writeFileSync(path.join(c100, 'test.bin'), record([7, 3], 8));
    fs.writeFileSync(path.join(c100, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n') + '\n');
  });

  it('reads CIFAR-10 train and test: images [N, 3, 32, 32] = bytes / 255 in record order, labels, class names', () => {
    const train = data.cifar10({ dir: c10 });
    expect(train.length).to.equal(10);
    expect(train.shape).to.deep.equal([10, 3, 32, 32]);
    expect(Array.from(train.y)).to.deep.equal([1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
    const pixels = randomBytes(3072, 30); // batch 3's first record
    expect(Array.from(train.get(4).x)).to.deep.equal(Array.from(pixels, (v) => Math.fround(v / 255)));
    expect(train.classes![train.get(0).y]).to.equal('automobile');
    const test = data.cifar10({ dir: path.dirname(c10), split: 'test' }); // the folder holding cifar-10-batches-bin
    expect(Array.from(test.y)).to.deep.equal([3, 0, 9]);
    expect(test.x[2 * 3072 + 1024]).to.equal(Math.fround(randomBytes(3072, 3)[1024] / 255));
    expect(test).to.be.instanceOf(data.ArrayDataset);
  });

  it('reads CIFAR-100 with fine or coarse labels; classes null without a names file', () => {
    const fine = data.cifar100({ dir: c100 });
    expect(Array.from(fine.y)).to.deep.equal([99, 42]);
    expect(fine.classes).to.equal(null);
    const coarse = data.cifar100({ dir: c100, labels: 'coarse' });
    expect(Array.from(coarse.y)).to.deep.equal([19, 0]);
    expect(coarse.classes![19]).to.equal('super19');
    expect(Array.from(coarse.get(1).x.subarray(0, 5))).to.deep.equal(Array.from(randomBytes(5, 6), (v) => Math.fround(v / 255)));
    expect(Array.from(data.cifar100({ dir: c100, split: 'test', labels: 'coarse' }).y)).to.deep.equal([7]);
  });

  it('a missing folder or file is E_LOAD saying where to get it; a corrupt file E_FORMAT; bad options E_ARG', () => {
    expectError(() => data.cifar10({ dir: path.join(tmp, 'nowhere') }), 'E_LOAD', /cifar-10-binary\.tar\.gz from https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html/);
    expectError(() => data.cifar100({ dir: c10 }), 'E_LOAD', /no train\.bin in .*cifar-100-binary\.tar\.gz/);
    expectError(() => data.cifar10({} as cc.data.Cifar10Options), 'E_ARG', /expected `dir`, the folder cifar-10-batches-bin/);
    expectError(() => data.cifar10({ dir: c10, split: 'val' as 'test' }), 'E_ARG', /split/);
    expectError(() => data.cifar100({ dir: c100, labels: 'medium' as 'fine' }), 'E_ARG', /labels/);
    expectError(() => data.cifar10({ dir: c10, download: true } as cc.data.Cifar10Options), 'E_ARG', /unknown option `download`/);

    const bad = path.join(tmp, 'c10-bad');
    fs.cpSync(c10, bad, { recursive: true });
    const batch = path.join(bad, 'test_batch.bin');
    fs.writeFileSync(batch, record([3], 1).subarray(0, 3000));
    expectError(() => data.cifar10({ dir: bad, split: 'test' }), 'E_FORMAT', /3000 bytes is not a whole number of 3073-byte records/);
    fs.writeFileSync(batch, Buffer.alloc(0));
    expectError(() => data.cifar10({ dir: bad, split: 'test' }), 'E_FORMAT', /truncated/);
    fs.writeFileSync(batch, Buffer.concat([record([3], 1), record([10], 2)]));
    expectError(() => data.cifar10({ dir: bad, split: 'test' }), 'E_FORMAT', /record 1 has label 10 \(expected 0\.\.9\)/);
    fs.writeFileSync(batch, record([3], 1));
    fs.writeFileSync(path.join(bad, 'batches.meta.txt'), 'cat\ndog\n');
    expectError(() => data.cifar10({ dir: bad, split: 'test' }), 'E_FORMAT', /should hold 10 class names/);
    fs.rmSync(path.join(bad, 'data_batch_4.bin'));
    expectError(() => data.cifar10({ dir: bad }), 'E_LOAD', /no data_batch_4\.bin/);

    const bad100 = path.join(tmp, 'c100-bad');
    fs.mkdirSync(bad100);
    fs.writeFileSync(path.join(bad100, 'test.bin'), record([20, 3], 1));
    expectError(() => data.cifar100({ dir: bad100, split: 'test' }), 'E_FORMAT', /coarse label 20 \(expected 0\.\.19\)/);
    fs.writeFileSync(path.join(bad100, 'test.bin'), record([2, 100], 1));
    expectError(() => data.cifar100({ dir: bad100, split: 'test', labels: 'coarse' }), 'E_FORMAT', /fine label 100 \(expected 0\.\.99\)/);
  });
});

describe('data: ImageFolder', () => {
  const root = path.join(tmp, 'folder');
  const pixels = new Map<string, Uint8Array>(); // file → its RGBA pixels
  const W = 6, H = 4;
  before(() => {
    let seed = 100;
    const put = (file: string, options: Record<string, unknown> = {}) => {
      const rgba = randomBytes(W * H * 4, seed++);
      for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writePng(file, W, H, rgba, options);
      pixels.set(file, rgba);
    };
    put(path.join(root, 'dog', 'b.png'));
    put(path.join(root, 'dog', 'a.PNG'));
    put(path.join(root, 'cat', 'z.png'), { colorType: 0 });
    put(path.join(root, 'cat', 'deeper', 'y.png'));
    put(path.join(root, 'cat', 'a.png'));
    fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not a picture');
    // A PGM in a third class: grey.
    const grey = randomBytes(W * H, 7);
    fs.mkdirSync(path.join(root, 'emu'));
    fs.writeFileSync(path.join(root, 'emu', 'g.pgm'), Buffer.concat([Buffer.from(`P5 ${W} ${H} 255\n`), Buffer.from(grey)]));
    pixels.set(path.join(root, 'emu', 'g.pgm'), Uint8Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? 255 : grey[i >> 2])));
    fs.writeFileSync(path.join(root, 'stray.png'), 'files at the top are not samples');
  });

  it('finds classes and files as torchvision (sorted classes, sorted files, subfolders, extensions in any case)', () => {
    const folder = new data.ImageFolder(root);
    expect(folder.classes).to.deep.equal(['cat', 'dog', 'emu']);
    expect(folder.classToIdx).to.deep.equal({ cat: 0, dog: 1, emu: 2 });
    expect(folder.samples.map(([f, y]) => [path.relative(root, f), y])).to.deep.equal([
      ['cat/a.png', 0], ['cat/z.png', 0], ['cat/deeper/y.png', 0], ['dog/a.PNG', 1], ['dog/b.png', 1], ['emu/g.pgm', 2],
    ]);
    expect(Array.from(folder.targets)).to.deep.equal([0, 0, 0, 1, 1, 2]);
    expect(folder.length).to.equal(6);
    expect(folder.sampleShape).to.deep.equal([3, H, W]); // the first picture's size
  });

  it('gives each picture as [C, H, W] in [0, 1], RGB or grey, resized, cached or not', () => {
    const folder = new data.ImageFolder(root);
    folder.samples.forEach(([file, label], i) => {
      const rgba = pixels.get(file)!;
      const { x, y } = folder.get(i);
      expect(y).to.equal(label);
      const want = new Float32Array(3 * H * W);
      for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) want[c * H * W + p] = rgba[4 * p + c] / 255;
      if (path.basename(file) === 'z.png') { // written as grey by pngjs: compare with its own reading
        const g = PNG.sync.read(fs.readFileSync(file)).data;
        for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) want[c * H * W + p] = g[4 * p] / 255;
      }
      expect(Array.from(x), file).to.deep.equal(Array.from(want));
    });

    const small = new data.ImageFolder(root, { size: [2, 3], channels: 1, cache: true });
    expect(small.sampleShape).to.deep.equal([1, 2, 3]);
    const first = small.get(0).x;
    const direct = data.imageToValues(data.decodePng(fs.readFileSync(small.samples[0][0])), { size: [2, 3], channels: 1 });
    expect(Array.from(first)).to.deep.equal(Array.from(direct));
    expect(small.get(0).x).to.equal(first); // cached: the same array
    expect(new data.ImageFolder(root, { size: 3 }).get(5).x.length).to.equal(27);
    const loaded = data.loadImage(small.samples[0][0], { size: [2, 3], channels: 1 });
    expect(loaded.shape).to.deep.equal([1, 2, 3]);
    expect(Array.from(loaded.values)).to.deep.equal(Array.from(direct));
  });

  it('batches with DataLoader and trains with fit', async () => {
    const folder = new data.ImageFolder(root, { size: 8 });
    const loader = new data.DataLoader(folder, { batchSize: 4, shuffle: true, seed: 1, augment: { horizontalFlip: 0.5 } });
    const shapes: number[][] = [];
    for await (const { x, y } of loader) {
      shapes.push([...x.shape]);
      expect(y.dtype).to.equal('int32');
      x.dispose(); y.dispose();
    }
    expect(shapes).to.deep.equal([[4, 3, 8, 8], [2, 3, 8, 8]]);
    const { nn } = cc;
    const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 3));
    const history = await model.fit(folder, { epochs: 2, batchSize: 3, optimizer: 'adam', lr: 1e-2, verbose: 0 });
    expect(history.loss.length).to.equal(2);
    expect(history.loss.every(Number.isFinite)).to.equal(true);
    model.dispose?.();
  });

  it('uses your decode for other formats, and checks what it returns', () => {
    const other = path.join(tmp, 'custom');
    fs.mkdirSync(path.join(other, 'a'), { recursive: true });
    // A made-up format: width, height, then RGB bytes.
    fs.writeFileSync(path.join(other, 'a', '1.jpg'), Buffer.from([2, 1, 255, 0, 0, 0, 0, 255]));
    expectError(() => new data.ImageFolder(other), 'E_LOAD', /no files ending in \.png, \.ppm, \.pgm \(it has \.jpg files: pass `decode` to read them\)/);
    const decode = (bytes: Uint8Array) => ({ width: bytes[0], height: bytes[1], channels: 3, data: bytes.subarray(2) });
    const folder = new data.ImageFolder(other, { decode });
    expect(Array.from(folder.get(0).x)).to.deep.equal([1, 0, 0, 0, 0, 1]);
    const wrong = new data.ImageFolder(other, { size: 2, decode: (bytes) => ({ width: 2, height: 2, channels: 3, data: bytes.subarray(2) }) });
    expectError(() => wrong.get(0), 'E_ARG', /what decode returned for .*1\.jpg has 6 samples; 2 x 2 x 3 needs 12/);
    const throws = new data.ImageFolder(other, { size: 2, decode: () => { throw new Error('not a JPEG'); } });
    expectError(() => throws.get(0), 'E_FORMAT', /your decode failed on .*1\.jpg: not a JPEG/);
    const floats = new data.ImageFolder(other, { size: 2, decode: () => ({ width: 1, height: 1, channels: 3, data: new Float32Array(3) as unknown as Uint8Array }) });
    expectError(() => floats.get(0), 'E_ARG', /expected a Uint8Array/);
  });

  it('refuses a missing root, no classes, an empty class and bad options; a bad picture fails at its get', () => {
    expectError(() => new data.ImageFolder(path.join(tmp, 'nope')), 'E_LOAD', /no folder/);
    const flat = path.join(tmp, 'flat');
    fs.mkdirSync(flat);
    fs.writeFileSync(path.join(flat, 'a.png'), '');
    expectError(() => new data.ImageFolder(flat), 'E_LOAD', /no subfolders/);
    fs.mkdirSync(path.join(flat, 'empty'));
    expectError(() => new data.ImageFolder(flat), 'E_LOAD', /class folder .*empty has no files/);
    expectError(() => new data.ImageFolder(root, { size: 0 }), 'E_ARG', /size/);
    expectError(() => new data.ImageFolder(root, { size: [2] as unknown as number }), 'E_ARG', /size/);
    expectError(() => new data.ImageFolder(root, { channels: 4 as 3 }), 'E_ARG', /channels/);
    expectError(() => new data.ImageFolder(root, { extensions: [] }), 'E_ARG', /extensions/);
    expectError(() => new data.ImageFolder(root, { transform: 1 } as cc.data.ImageFolderOptions), 'E_ARG', /unknown option `transform`/);
    expectError(() => new data.ImageFolder(root).get(6), 'E_INDEX');

    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(path.join(broken, 'a'), { recursive: true });
    writePng(path.join(broken, 'a', '1.png'), 3, 2, randomBytes(24, 1));
    writePng(path.join(broken, 'a', '2.png'), 2, 2, randomBytes(16, 2));
    fs.writeFileSync(path.join(broken, 'a', '3.png'), fs.readFileSync(path.join(broken, 'a', '1.png')).subarray(0, 40));
    const folder = new data.ImageFolder(broken);
    expect(folder.get(0).x.length).to.equal(18);
    expectError(() => folder.get(1), 'E_SHAPE', /2\.png is 2 x 2 pixels, the data set's are 3 x 2/);
    expectError(() => folder.get(2), 'E_FORMAT', /3\.png is truncated/);
    expect(new data.ImageFolder(broken, { size: 2 }).get(1).x.length).to.equal(12);

    // Links are followed (as os.walk(followlinks=True)), a link back up the tree once.
    fs.symlinkSync(path.join(broken, 'a'), path.join(broken, 'a', 'again'));
    fs.symlinkSync(path.join(broken, 'a'), path.join(broken, 'b'));
    const linked = new data.ImageFolder(broken, { size: 2 });
    expect(linked.samples.map(([f, y]) => [path.relative(broken, f), y])).to.deep.equal([
      ['a/1.png', 0], ['a/2.png', 0], ['a/3.png', 0], ['b/1.png', 1], ['b/2.png', 1], ['b/3.png', 1],
    ]);
  });
});
