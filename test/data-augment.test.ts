/**
 * The DataLoader's augmentations of lib/data/augment.ts (randomResizedCrop, randomRotation,
 * colorJitter, lighting, randomErasing): what each computes, checked on images whose answer is
 * known (identities, linear ramps, quarter turns, pure colours), their randomness by seed, and
 * bad options by class and code.
 */
import { expect } from 'chai';
import * as cc from '../lib';
import { expectError } from './helpers';

const { data } = cc;

/** n images [C, H, W] made by value(i, c, r, col). */
function images(n: number, [C, H, W]: number[], value: (i: number, c: number, r: number, col: number) => number): cc.data.ArrayDataset {
  const x = new Float32Array(n * C * H * W);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) for (let r = 0; r < H; r++) for (let col = 0; col < W; col++) x[((i * C + c) * H + r) * W + col] = value(i, c, r, col);
  return new data.ArrayDataset(x, [n, C, H, W], Array.from({ length: n }, (_, i) => i % 3));
}

/** Every sample of one pass, [n][values], and the batch shape. */
function samples(loader: cc.data.DataLoader): { values: Float32Array[]; shape: readonly number[] } {
  const values: Float32Array[] = [];
  let shape: readonly number[] = [];
  for (const b of loader) {
    const v = b.x.dataSync(), per = v.length / b.x.shape[0];
    for (let k = 0; k < b.x.shape[0]; k++) values.push(v.slice(k * per, (k + 1) * per));
    shape = b.x.shape;
    b.x.dispose(); b.y.dispose();
  }
  return { values, shape };
}

describe('DataLoader augmentations: randomResizedCrop, randomRotation, colorJitter, lighting, randomErasing', () => {
  it('randomResizedCrop of the whole image at its own size is the image; otherwise a bilinear resampling of a box', () => {
    const ds = images(4, [2, 6, 9], (i, c, r, col) => i * 100 + c * 50 + r * 9 + col);
    const whole = samples(new data.DataLoader(ds, { batchSize: 4, augment: { randomResizedCrop: { size: [6, 9], scale: [1, 1], ratio: [1.5, 1.5] } } }));
    const plain = samples(new data.DataLoader(ds, { batchSize: 4 }));
    expect(whole.values.map((v) => Array.from(v))).to.deep.equal(plain.values.map((v) => Array.from(v)));
    // A ramp along the columns, the same in every row: each output row is the same affine
    // sequence (a box's columns at even steps), inside the image's range; rows are equal.
    // (The resampling matched torch.nn.functional.interpolate(bilinear, align_corners=False) on a
    // 7x9 image to 10x5 within 3.6e-7, a /tmp script.)
    const ramp = images(12, [1, 16, 20], (_i, _c, _r, col) => col);
    const { values, shape } = samples(new data.DataLoader(ramp, { batchSize: 6, seed: 3, augment: { randomResizedCrop: { size: [8, 10], scale: [0.2, 0.6] } } }));
    expect(shape).to.deep.equal([6, 1, 8, 10]);
    const steps = new Set<string>();
    for (const v of values) {
      for (let r = 1; r < 8; r++) expect(Array.from(v.subarray(r * 10, r * 10 + 10))).to.deep.equal(Array.from(v.subarray(0, 10)));
      // (Columns 1 to 8: the first and last may sit past the box's edge pixels' centres, where
      // the interpolation holds the edge value, as torch's.)
      const d = v[2] - v[1];
      for (let j = 2; j < 8; j++) expect(v[j + 1] - v[j]).to.be.closeTo(d, 1e-4);
      expect(Math.min(...v)).to.be.at.least(0);
      expect(Math.max(...v)).to.be.at.most(19);
      steps.add(d.toFixed(3));
    }
    expect(steps.size).to.be.above(3);   // boxes of several widths
  });

  it('randomRotation by 90 degrees turns the image a quarter counter-clockwise; by 0 it changes nothing', () => {
    const ds = images(2, [2, 5, 5], (i, c, r, col) => i * 100 + c * 30 + r * 5 + col);
    const quarter = samples(new data.DataLoader(ds, { batchSize: 2, augment: { randomRotation: [90, 90] } }));
    const none = samples(new data.DataLoader(ds, { batchSize: 2, augment: { randomRotation: 0 } }));
    for (let i = 0; i < 2; i++) {
      for (let c = 0; c < 2; c++) for (let r = 0; r < 5; r++) for (let col = 0; col < 5; col++) {
        // Output (r, col) shows source (col, 4 - r): the right edge comes to the top.
        expect(quarter.values[i][(c * 5 + r) * 5 + col]).to.be.closeTo(i * 100 + c * 30 + col * 5 + (4 - r), 1e-4);
        expect(none.values[i][(c * 5 + r) * 5 + col]).to.be.closeTo(i * 100 + c * 30 + r * 5 + col, 1e-6);
      }
    }
    // Random angles: the corners (outside the rotated square) become 0 for some samples.
    const turned = samples(new data.DataLoader(images(8, [1, 9, 9], () => 1), { batchSize: 8, augment: { randomRotation: 45 } }));
    expect(turned.values.some((v) => v[0] < 0.5)).to.equal(true);
    expect(turned.values.every((v) => Math.abs(v[4 * 9 + 4] - 1) < 1e-6)).to.equal(true);   // the centre stays
  });

  it('colorJitter: brightness scales and clamps, contrast blends with the grey mean, saturation with the grey pixel, hue turns colours', () => {
    const rgb = images(3, [3, 2, 2], (i, c, r, col) => [[1, 0, 0], [0, 1, 0], [0.2, 0.4, 0.6]][i][c] * (r + col === 0 ? 1 : 0.5));
    const run = (colorJitter: cc.data.AugmentOptions['colorJitter']) => samples(new data.DataLoader(rgb, { batchSize: 3, augment: { colorJitter } })).values;
    const x = run({}).map((v) => Array.from(v));
    const bright = run({ brightness: [2, 2] });
    bright.forEach((v, i) => v.forEach((a, k) => expect(a).to.be.closeTo(Math.min(1, 2 * x[i][k]), 1e-6)));
    const flat = run({ contrast: [0, 0] });
    flat.forEach((v, i) => {
      let mean = 0;
      for (let q = 0; q < 4; q++) mean += 0.2989 * x[i][q] + 0.587 * x[i][q + 4] + 0.114 * x[i][q + 8];
      v.forEach((a) => expect(a).to.be.closeTo(mean / 4, 1e-6));
    });
    const grey = run({ saturation: [0, 0] });
    grey.forEach((v, i) => {
      for (let q = 0; q < 4; q++) {
        const g = 0.2989 * x[i][q] + 0.587 * x[i][q + 4] + 0.114 * x[i][q + 8];
        for (let c = 0; c < 3; c++) expect(v[q + c * 4]).to.be.closeTo(g, 1e-6);
      }
    });
    // A third of the way round: red becomes green, green blue; hue 0 changes nothing.
    const turned = run({ hue: [1 / 3, 1 / 3] });
    expect(Array.from(turned[0].filter((_, k) => k % 4 === 0))).to.deep.equal([0, 1, 0].map(Math.fround));
    expect(Array.from(turned[1].filter((_, k) => k % 4 === 0)).map((a) => +a.toFixed(5))).to.deep.equal([0, 0, 1]);
    run({ hue: 0 }).forEach((v, i) => v.forEach((a, k) => expect(a).to.be.closeTo(x[i][k], 1e-6)));
    // Drawn factors: brightness 0.5 spreads the scaled values over [0.5, 1.5] x.
    const spread = samples(new data.DataLoader(images(64, [1, 1, 1], () => 0.5), { batchSize: 64, augment: { colorJitter: { brightness: 0.5 } } })).values.map((v) => v[0]);
    expect(Math.min(...spread)).to.be.within(0.25, 0.32);
    expect(Math.max(...spread)).to.be.within(0.68, 0.75);
  });

  it('lighting adds one RGB offset per image, with AlexNet\'s PCA covariance', () => {
    const n = 600;
    const { values } = samples(new data.DataLoader(images(n, [3, 2, 3], () => 0.5), { batchSize: 100, augment: { lighting: 0.1 } }));
    const V = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.814], [-0.5836, -0.6948, 0.4203]], L = [0.2175, 0.0188, 0.0045];
    for (let c = 0; c < 3; c++) {
      let ss = 0;
      for (const v of values) {
        const d = v[c * 6] - 0.5;
        for (let q = 1; q < 6; q++) expect(v[c * 6 + q] - 0.5).to.be.closeTo(d, 1e-6);
        ss += d * d;
      }
      const want = Math.sqrt(V[c].reduce((s, e, j) => s + (e * L[j] * 0.1) ** 2, 0));
      expect(Math.sqrt(ss / n) / want).to.be.within(0.85, 1.15);
    }
  });

  it('randomErasing sets one box of random size to the value, after normalisation; p = 0 leaves the image', () => {
    const ds = images(40, [2, 20, 20], () => 1);
    const erased = samples(new data.DataLoader(ds, { batchSize: 20, normalize: { mean: 0, std: 0.5 }, augment: { randomErasing: { p: 1, value: -7 } } })).values;
    const areas = new Set<number>();
    for (const v of erased) {
      const hits: [number, number][] = [];
      for (let r = 0; r < 20; r++) for (let col = 0; col < 20; col++) {
        expect(v[r * 20 + col]).to.equal(v[400 + r * 20 + col]);   // every channel alike
        if (v[r * 20 + col] === -7) hits.push([r, col]); else expect(v[r * 20 + col]).to.equal(2);
      }
      const rows = hits.map((h) => h[0]), cols = hits.map((h) => h[1]);
      const h = Math.max(...rows) - Math.min(...rows) + 1, w = Math.max(...cols) - Math.min(...cols) + 1;
      expect(hits.length).to.equal(h * w);   // one rectangle
      expect(hits.length / 400).to.be.within(0.01, 0.4);
      areas.add(hits.length);
    }
    expect(areas.size).to.be.above(10);
    const kept = samples(new data.DataLoader(ds, { batchSize: 40, augment: { randomErasing: { p: 0 } } })).values;
    expect(kept.every((v) => v.every((a) => a === 1))).to.equal(true);
  });

  it('is the same for the same seed and epoch, and differs across epochs; the older augmentations draw as before', () => {
    const ds = images(6, [3, 12, 12], (i, c, r, col) => ((i + c + r * col) % 7) / 7);
    const augment: cc.data.AugmentOptions = {
      randomResizedCrop: { size: 8 }, horizontalFlip: 0.5, randomRotation: 10, colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
      lighting: 0.1, randomErasing: { p: 0.5 },
    };
    const a = new data.DataLoader(ds, { batchSize: 3, seed: 9, augment }), b = new data.DataLoader(ds, { batchSize: 2, seed: 9, augment });
    const first = samples(a).values.map((v) => Array.from(v));
    expect(samples(b).values.map((v) => Array.from(v))).to.deep.equal(first);
    expect(samples(a).values.map((v) => Array.from(v))).to.not.deep.equal(first);   // the next pass
    expect(first[0].length).to.equal(3 * 8 * 8);
    // Crop, shift and flip alone: the stream they draw from is unchanged by the new steps.
    const old = { randomCrop: { size: 10, padding: 1 }, randomShift: 1, horizontalFlip: 0.5 };
    const before = samples(new data.DataLoader(ds, { batchSize: 6, seed: 2, augment: old })).values.map((v) => Array.from(v));
    const withErasingOff = samples(new data.DataLoader(ds, { batchSize: 6, seed: 2, augment: { ...old, randomErasing: { p: 0 } } })).values.map((v) => Array.from(v));
    expect(withErasingOff).to.deep.equal(before);
  });

  it('refuses bad options with typed errors', () => {
    const ds = images(2, [3, 8, 8], () => 0.5), grey = images(2, [1, 8, 8], () => 0.5);
    const make = (augment: unknown, d = ds) => () => new data.DataLoader(d, { augment: augment as cc.data.AugmentOptions });
    expectError(make({ randomCrop: { size: 4 }, randomResizedCrop: { size: 4 } }), 'E_ARG', /both crop/);
    expectError(make({ randomResizedCrop: { size: 0 } }), 'E_ARG', /randomResizedCrop.size/);
    expectError(make({ randomResizedCrop: { size: 4, scale: [0.5, 2] } }), 'E_ARG', /scale/);
    expectError(make({ randomResizedCrop: { size: 4, ratio: [2, 1] } }), 'E_ARG', /ratio/);
    expectError(make({ randomResizedCrop: { size: 4, area: 1 } }), 'E_ARG', /area/);
    expectError(make({ randomRotation: -3 }), 'E_ARG', /randomRotation/);
    expectError(make({ colorJitter: { brightness: -1 } }), 'E_ARG', /brightness/);
    expectError(make({ colorJitter: { hue: 0.7 } }), 'E_ARG', /hue/);
    expectError(make({ colorJitter: { gamma: 1 } }), 'E_ARG', /gamma/);
    expectError(make({ colorJitter: { saturation: 0.2 } }, grey), 'E_SHAPE', /3 channels/);
    expectError(make({ lighting: 0.1 }, grey), 'E_SHAPE', /3 channels/);
    expectError(make({ lighting: -0.1 }), 'E_ARG', /lighting/);
    expectError(make({ randomErasing: { p: 2 } }), 'E_ARG', /randomErasing.p/);
    expectError(make({ randomErasing: { scale: [0.3, 0.1] } }), 'E_ARG', /randomErasing.scale/);
    expectError(make({ cutout: 1 }), 'E_ARG', /unknown augmentation `cutout`; expected one of/);
    // Brightness and contrast work on one channel.
    expect(samples(new data.DataLoader(grey, { batchSize: 2, augment: { colorJitter: { brightness: [0.5, 0.5], contrast: 0.1 } } })).values[0][0]).to.be.within(0.2, 0.3);
  });
});
