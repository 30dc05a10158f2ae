/** Pictures: PNG grids decoded back and checked pixel by pixel; SVGs checked as XML and counted. */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { tensor, viz } from '../lib';
import { expectError, scratchDir } from './helpers';

const dir = scratchDir('convnet-viz-');

function pixel(png: PNG, x: number, y: number): number[] {
  const i = 4 * (y * png.width + x);
  return [...png.data.subarray(i, i + 4)];
}

/** Every tag closes in order, attributes are quoted, and no stray '<' or '&' (a small well-formedness check). */
function expectWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0, m: RegExpExecArray | null;
  while ((m = tag.exec(body)) !== null) {
    const text = body.slice(at, m.index);
    expect(text, `text before <${m[2]}>`).to.not.match(/[<>]|&(?!amp;|lt;|gt;|quot;)/);
    at = tag.lastIndex;
    if (m[1]) expect(stack.pop(), `closing </${m[2]}>`).to.equal(m[2]);
    else if (!m[4]) stack.push(m[2]);
  }
  expect(body.slice(at).trim()).to.equal('');
  expect(stack).to.deep.equal([]);
  expect(body.startsWith('<svg')).to.equal(true);
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('viz: PNG grids', () => {
  it('filtersPng: one grey tile per filter, normalised per filter, at the documented positions', () => {
    const f = path.join(dir, 'filters.png');
    // Two 1-channel 2x2 filters: 0..3 (-> 0, 85, 170, 255) and a constant (-> black); a third, -1..2 scaled.
    const w = tensor([0, 1, 2, 3, 5, 5, 5, 5, -10, 20, 5, 5], { shape: [3, 1, 2, 2] });
    const info = viz.filtersPng(w, f, { scale: 2, gap: 1 });
    const png = PNG.sync.read(fs.readFileSync(f));
    // ceil(sqrt(3)) = 2 columns, 2 rows; tiles 4 x 4 pixels.
    expect(info).to.deep.equal({ width: 11, height: 11, rows: 2, cols: 2, tileWidth: 4, tileHeight: 4 });
    expect([png.width, png.height]).to.deep.equal([11, 11]);
    expect(pixel(png, 0, 0)).to.deep.equal([...viz.BORDER, 255]);
    expect(pixel(png, 5, 2)).to.deep.equal([...viz.BORDER, 255]);   // the gap between tiles
    // Tile 0 at (1, 1): value [y][x] fills a 2x2 block.
    expect(pixel(png, 1, 1)).to.deep.equal([0, 0, 0, 255]);
    expect(pixel(png, 4, 2)).to.deep.equal([85, 85, 85, 255]);
    expect(pixel(png, 2, 3)).to.deep.equal([170, 170, 170, 255]);
    expect(pixel(png, 4, 4)).to.deep.equal([255, 255, 255, 255]);
    // Tile 1 at (6, 1): constant -> black.
    expect(pixel(png, 7, 3)).to.deep.equal([0, 0, 0, 255]);
    // Tile 2 at (1, 6): -10 -> 0, 20 -> 255, 5 -> 127.5 rounded to 128.
    expect(pixel(png, 1, 6)).to.deep.equal([0, 0, 0, 255]);
    expect(pixel(png, 3, 6)).to.deep.equal([255, 255, 255, 255]);
    expect(pixel(png, 1, 8)).to.deep.equal([128, 128, 128, 255]);
    // The empty fourth cell is border colour.
    expect(pixel(png, 8, 8)).to.deep.equal([...viz.BORDER, 255]);
    w.dispose();
  });

  it('filtersPng: 3 channels make one colour tile; other counts a row of grey tiles per filter', () => {
    const rgb = tensor([1, 0, 0.5], { shape: [1, 3, 1, 1] });
    viz.filtersPng(rgb, path.join(dir, 'rgb.png'), { scale: 1, gap: 0 });
    const a = PNG.sync.read(fs.readFileSync(path.join(dir, 'rgb.png')));
    expect([a.width, a.height]).to.deep.equal([1, 1]);
    expect(pixel(a, 0, 0)).to.deep.equal([255, 0, 128, 255]);
    const two = tensor([0, 1, 2, 3, 4, 5, 6, 7], { shape: [2, 2, 1, 2] });
    const info = viz.filtersPng(two, path.join(dir, 'two.png'), { scale: 1, gap: 1 });
    expect(info).to.include({ rows: 2, cols: 2, width: 7, height: 5 });
    const b = PNG.sync.read(fs.readFileSync(path.join(dir, 'two.png')));
    // Filter 0 = [0 1 | 2 3] normalised over both channels: channel 1 (second tile) starts at 170.
    expect(pixel(b, 4, 1)[0]).to.equal(170);
    expect(pixel(b, 5, 3)[0]).to.equal(255);   // filter 1, channel 1, last value
    rgb.dispose(); two.dispose();
  });

  it('featureMapsPng: one tile per channel of [C, H, W] or [1, C, H, W], each normalised', () => {
    const maps = tensor([0, 2, 4, 6, -1, -1, -1, 1, 9, 9, 9, 9, 0, 0, 0, 3], { shape: [1, 4, 2, 2] });
    const info = viz.featureMapsPng(maps, path.join(dir, 'maps.png'), { scale: 3 });
    expect(info).to.deep.equal({ width: 15, height: 15, rows: 2, cols: 2, tileWidth: 6, tileHeight: 6 });
    const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'maps.png')));
    expect(pixel(png, 1, 1)[0]).to.equal(0);
    expect(pixel(png, 4, 1)[0]).to.equal(85);
    expect(pixel(png, 12, 5)[0]).to.equal(255);      // map 1 at (8, 1), bottom right
    expect(pixel(png, 2, 10)[0]).to.equal(0);        // map 2 at (1, 8) is constant
    expect(pixel(png, 11, 1)[0]).to.equal(0);        // map 1, top right (-1)
    expect(pixel(png, 13, 13)[0]).to.equal(255);     // map 3, bottom right
    const three = maps.reshape([4, 2, 2]);
    viz.featureMapsPng(three, path.join(dir, 'maps3.png'), { scale: 3 });
    expect(fs.readFileSync(path.join(dir, 'maps3.png')).equals(fs.readFileSync(path.join(dir, 'maps.png')))).to.equal(true);
    expectError(() => viz.featureMapsPng(tensor([1, 2], { shape: [2, 1, 1, 1] }), path.join(dir, 'x.png')), 'E_SHAPE');
    expectError(() => viz.filtersPng(maps, path.join(dir, 'x.png'), { scale: 0 }), 'E_ARG');
    expectError(() => viz.filtersPng(tensor([1, 2, 3]), path.join(dir, 'x.png')), 'E_SHAPE');
    maps.dispose(); three.dispose();
  });
});

describe('viz: SVG charts', () => {
  it('plotHistory draws loss and accuracy, train and validation, one point per epoch', () => {
    const history = { epoch: [1, 2, 3, 4], loss: [2.3, 1.1, 0.6, 0.4], accuracy: [0.3, 0.7, 0.85, 0.9], valLoss: [2.2, 1.2, 0.8, 0.7], valAccuracy: [0.32, 0.65, 0.8, 0.83] };
    const f = path.join(dir, 'history.svg');
    const svg = viz.plotHistory(history, f);
    expect(fs.readFileSync(f, 'utf8')).to.equal(svg);
    expectWellFormed(svg);
    for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy']) {
      expect(count(svg, new RegExp(`<circle data-series="${k}"`, 'g')), k).to.equal(4);
      expect(count(svg, new RegExp(`<polyline data-series="${k}"`, 'g')), k).to.equal(1);
    }
    expect(svg).to.include('data-epoch="3" data-value="0.85"');
    expect(count(svg, /<g data-panel=/g)).to.equal(2);
  });

  it('plotHistory refuses a series with holes or of 2**31 values (it hung) with E_ARG', () => {
    const dir = scratchDir('convnet-viz-');
    const file = path.join(dir, 'h.svg');
    expectError(() => viz.plotHistory({ loss: new Array(2 ** 31) }, file), 'E_ARG', /2147483648 values/);
    const lying = new Proxy([1, 2], { get: (t, k) => (k === 'length' ? 2 ** 31 : (t as unknown as Record<PropertyKey, unknown>)[k as string]) });
    expectError(() => viz.plotHistory({ epoch: lying as number[] }, file), 'E_ARG', /history.epoch has 2147483648 values/);
    const holes = [0.5, 0.4, 0.3];
    delete (holes as unknown as Record<number, unknown>)[1];
    expectError(() => viz.plotHistory({ loss: holes }, file), 'E_ARG', /undefined at \[1\]/);
    expect(fs.existsSync(file)).to.equal(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plotHistory skips missing series and panels, and leaves non-finite points out', () => {
    const svg = viz.plotHistory({ loss: [1, NaN, 0.5] }, path.join(dir, 'loss-only.svg'));
    expectWellFormed(svg);
    expect(count(svg, /<g data-panel=/g)).to.equal(1);
    expect(count(svg, /<circle data-series="loss"/g)).to.equal(2);
    expect(count(svg, /data-series="val/g)).to.equal(0);
    expectWellFormed(viz.plotHistory({}, path.join(dir, 'empty.svg')));
    expectError(() => viz.plotHistory({ epoch: [1, 2], loss: [1] }, path.join(dir, 'x.svg')), 'E_ARG', /1 values for 2 epochs/);
  });

  it('confusionMatrix counts (actual, predicted) pairs; confusionMatrixSvg draws n x n cells', () => {
    const predicted = tensor(new Int32Array([0, 1, 2, 2, 1, 0, 2]));
    const actual = tensor(new Int32Array([0, 1, 2, 1, 1, 2, 2]));
    const m = viz.confusionMatrix(predicted, actual, 3);
    expect(m).to.deep.equal([[1, 0, 0], [0, 2, 1], [1, 0, 2]]);
    const svg = viz.confusionMatrixSvg(m, path.join(dir, 'confusion.svg'), { labels: ['cat', 'dog', '<bird & co>'] });
    expectWellFormed(svg);
    expect(count(svg, /<rect class="cell"/g)).to.equal(9);
    expect(svg).to.include('data-actual="1" data-predicted="2" data-count="1"');
    expect(svg).to.include('&lt;bird &amp; co&gt;');
    expectError(() => viz.confusionMatrix([0, 3], [0, 1], 3), 'E_INDEX', /predicted\[1\] = 3/);
    expectError(() => viz.confusionMatrix([0], [0, 1], 3), 'E_SHAPE');
    expectError(() => viz.confusionMatrix(tensor([0.5]), [0], 3), 'E_DTYPE');
    expectError(() => viz.confusionMatrixSvg([[1, 2]], path.join(dir, 'x.svg')), 'E_ARG');
    // These were TypeErrors: a title that is not a string, a matrix with holes, options not an object.
    for (const title of [5, NaN, null, {}, ['a']]) {
      expectError(() => viz.confusionMatrixSvg([[1, 0], [0, 1]], path.join(dir, 'x.svg'), { title: title as string }), 'E_ARG', /`title` to be a string/);
    }
    const holes = [[1, 0], [0, 1]];
    delete (holes as unknown as Record<number, unknown>)[0];
    expectError(() => viz.confusionMatrixSvg(holes, path.join(dir, 'x.svg')), 'E_ARG', /square matrix/);
    const rowHole = [[1, 0], [0, 1]];
    delete (rowHole[1] as unknown as Record<number, unknown>)[0];
    expectError(() => viz.confusionMatrixSvg(rowHole, path.join(dir, 'x.svg')), 'E_ARG', /square matrix/);
    expectError(() => viz.confusionMatrixSvg([[1]], path.join(dir, 'x.svg'), 'title' as never), 'E_ARG', /options/);
    expectError(() => viz.confusionMatrixSvg([[1]], path.join(dir, 'x.svg'), { labels: [{}] as never }), 'E_ARG', /labels\[0\]/);
    expectError(() => viz.confusionMatrixSvg([[1]], path.join(dir, 'x.svg'), { titel: 'x' } as never), 'E_ARG', /unknown option `titel`/);
    expect(fs.existsSync(path.join(dir, 'x.svg'))).to.equal(false);
    predicted.dispose(); actual.dispose();
  });
});
