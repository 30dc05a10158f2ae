/**
 * models.FCN and nn.init.bilinear_: output shapes for many input sizes, state-dict keys and a
 * forward of each variant against PyTorch in float64 (hash-filled weights, see test/hashed.ts),
 * the bilinear "deconvolution" against F.interpolate, FCN's initial state, gradients, and
 * models.save/load.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, manualSeed, memory, models, nn, noGrad, randn, slice, tensor, tidy, zeros, type Tensor } from '../lib';
import { FCNModel, type FCNOptions } from '../lib/models/fcn';
import { fillHashed, hashed } from './hashed';
import { expectClose, expectError, loadFixture, settle } from './helpers';

interface FcnCase {
  name: string; config: FCNOptions; keys: string[]; shapes: number[][];
  inputSeed: number; inputShape: number[]; outputShape: number[]; outputEvery3: number[];
}

const cases = loadFixture<{ cases: FcnCase[] }>('models').cases.filter((c) => c.name.startsWith('fcn'));
const small: FCNOptions = { numClasses: 3, channels: [4, 4, 8, 8, 8], convsPerStage: 1, fcChannels: 8 };

describe('models.FCN', function () {
  this.timeout(60000);

  it('scores every pixel: [N, numClasses, H, W] for sizes divisible by 32 or not', () => {
    for (const variant of ['32s', '16s', '8s'] as const) {
      const net = models.FCN({ ...small, variant });
      try {
        expect(net.outputStride).to.equal({ '32s': 32, '16s': 16, '8s': 8 }[variant]);
        for (const [h, w] of [[64, 64], [32, 96], [1, 1], [7, 9], [37, 50], [33, 17], [65, 8], [100, 31]]) {
          const y = tidy(() => noGrad(() => net.call(randn([2, 3, h, w]))));
          expect(y.shape, `${variant} ${h}x${w}`).to.deep.equal([2, 3, h, w]);
          y.dispose();
        }
      } finally {
        net.dispose();
      }
    }
  });

  for (const c of cases) {
    it(`${c.config.variant}: keys, shapes and a forward on two 19x26 images match PyTorch (float64)`, async () => {
      await settle();
    const before = memory().tensors;
      const net = models.FCN(c.config);
      try {
        const state = net.stateDict();
        expect(Object.keys(state)).to.deep.equal(c.keys);
        expect(Object.values(state).map((t) => [...t.shape])).to.deep.equal(c.shapes);
        for (const t of Object.values(state)) t.dispose();
        fillHashed(net);
        net.eval();
        const n = c.inputShape.reduce((a, b) => a * b, 1);
        const x = tensor(hashed(n, c.inputSeed, 1), { shape: c.inputShape });
        const y = tidy(() => noGrad(() => net.call(x)));
        expect(y.shape).to.deep.equal(c.outputShape);
        const v = await y.data();
        const every3 = Array.from({ length: Math.ceil(v.length / 3) }, (_, i) => v[3 * i]);
        const scale = Math.max(...c.outputEvery3.map(Math.abs));
        expectClose(every3, c.outputEvery3, 1e-4, 1e-5 * scale, c.name);
        x.dispose(); y.dispose();
      } finally {
        net.dispose();
      }
      await settle();
      expect(memory().tensors).to.equal(before);
    });
  }

  it('starts as FCN does: zero scores, bilinear upsamplings, the last one fixed', async () => {
    const net = models.FCN({ ...small, variant: '8s' });
    try {
      const y = tidy(() => noGrad(() => net.call(randn([1, 3, 20, 20]))));
      expect(Array.from(await y.data()).every((v) => v === 0)).to.equal(true);
      y.dispose();
      for (const m of [net.scoreFr, net.scorePool4!, net.scorePool3!]) {
        expect(Array.from(await m.weight.data()).every((v) => v === 0)).to.equal(true);
      }
      const k = [0.25, 0.75, 0.75, 0.25];
      const w = await net.upscore2!.weight.data();   // [3, 3, 4, 4]: diagonal kernels
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) {
        expect(w[((i * 3 + j) * 4 + a) * 4 + b]).to.equal(i === j ? k[a] * k[b] : 0);
      }
      expect(net.upscore.weight.shape).to.deep.equal([3, 3, 16, 16]);
      expect(net.upscore.weight.requiresGrad).to.equal(false);
      expect(net.upscore2!.weight.requiresGrad).to.equal(true);
      expect(net.upscore2!.bias).to.equal(null);
      // With batch norm, the encoder's convolutions lose their bias; fc6 and fc7 (no norm after them) keep it.
      const bn = models.FCN({ ...small, batchNorm: true });
      const state = bn.stateDict(), keys = Object.keys(state);
      for (const t of Object.values(state)) t.dispose();
      expect(keys).to.include.members(['stage1.1.running_mean', 'head.fc6.bias', 'head.fc7.bias']);
      expect(keys).to.not.include('stage1.0.bias');
      bn.dispose();
    } finally {
      net.dispose();
    }
  });

  it('is bilinear interpolation of the coarse scores, cropped from f / 2 (32s: interpolate\'s interior)', async () => {
    const net = models.FCN({ ...small, variant: '32s' }).eval();
    try {
      nn.init.normal_(net.scoreFr.weight, 0, 1);   // non-zero scores: the zero init would hide mistakes
      const x = randn([1, 3, 70, 45]);   // scores 3x2 at stride 32, upsampled to 128x96, cropped from 16 to 70x45
      const { y, expected } = tidy(() => noGrad(() => {
        let h: Tensor = x;
        for (const s of net.stages) h = s.call(h);
        const scores = net.scoreFr.call(net.head.call(h));
        expect(scores.shape).to.deep.equal([1, 3, 3, 2]);
        const up = F.interpolate(scores, { scaleFactor: 32, mode: 'bilinear' });   // 96x64
        return { y: net.call(x), expected: slice(up, [0, 0, 0, 0], [1, 3, 70, 45]) };
      }));
      const a = await y.data(), e = await expected.data();
      // Interpolation repeats the border values; the transposed convolution fades out there:
      // they agree from row/column 16 on (the centre of the first coarse position).
      const inside: number[] = [], inE: number[] = [];
      for (let c = 0; c < 3; c++) for (let i = 16; i < 70; i++) for (let j = 16; j < 45; j++) {
        inside.push(a[(c * 70 + i) * 45 + j]);
        inE.push(e[(c * 70 + i) * 45 + j]);
      }
      expectClose(inside, inE, 1e-5, 1e-5, 'interior');
      expect(Math.abs(a[0] - e[0])).to.be.greaterThan(1e-3);   // the corner differs
      x.dispose(); y.dispose(); expected.dispose();
    } finally {
      net.dispose();
    }
  });

  it('backpropagates to the encoder, the scores and the 2x upsamplings, not the fixed last one', () => {
    // Seeded: with these 8-channel layers the first stage's gradient is exactly zero for about 4%
    // of initialisations (63 of seeds 0-1499, the same before and after session 29's changes: a
    // /tmp loop; the pools' score layers start at zero, so it can only come through fc6 and
    // fc7). The draw used to depend on what the tests before this one drew, and session 29's
    // new test files moved it onto such an initialisation.
    manualSeed(1);
    const net = models.FCN({ ...small, variant: '8s', batchNorm: true });
    try {
      nn.init.normal_(net.scoreFr.weight, 0, 0.1);   // non-zero scores, so that gradients reach the encoder
      const loss = tidy(() => F.crossEntropy(net.call(randn([2, 3, 24, 24])), zeros([2, 24, 24], 'int32')));
      loss.backward();
      loss.dispose();
      for (const [name, p] of net.namedParameters()) {
        if (name === 'upscore8.weight') expect(p.grad, name).to.equal(null);
        else expect(p.grad, name).to.not.equal(null);
      }
      const g = net.stages[0].parameters()[0].grad!.dataSync();
      expect(g.some((v) => v !== 0)).to.equal(true);
    } finally {
      net.dispose();
    }
  });

  it('survives models.save and models.load (with batch norm)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-fcn-'));
    const options: FCNOptions = { ...small, variant: '16s', inChannels: 1, batchNorm: true, dropout: 0.1 };
    const net = models.FCN(options);
    try {
      fillHashed(net);
      // Running variances must stay positive: set them to 1 + a small hash.
      for (const [name, b] of net.namedBuffers()) if (name.endsWith('running_var')) nn.init.uniform_(b as Tensor<'float32'>, 0.5, 1.5);
      net.eval();
      models.save(net, dir);
      const again = models.load(dir).eval() as FCNModel;
      try {
        expect(again).to.be.instanceOf(FCNModel);
        expect(again.config()).to.deep.equal(net.config());
        expect(again.upscore.weight.requiresGrad).to.equal(false);
        const x = randn([2, 1, 27, 41]);
        const [y1, y2] = tidy(() => noGrad(() => [net.call(x), again.call(x)]));
        expect(Array.from(await y2.data())).to.deep.equal(Array.from(await y1.data()));
        x.dispose(); y1.dispose(); y2.dispose();
      } finally {
        again.dispose();
      }
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with E_ARG and a wrong input with E_SHAPE', () => {
    expectError(() => models.FCN({ variant: '4s' as never }), 'E_ARG', /variant/);
    expectError(() => models.FCN({ numClasses: 0 }), 'E_ARG', /numClasses/);
    expectError(() => models.FCN({ channels: [8, 8, 8, 8] }), 'E_ARG', /channels/);
    expectError(() => models.FCN({ channels: [8, 8, 8, 8, 0] }), 'E_ARG', /channels\[4\]/);
    expectError(() => models.FCN({ convsPerStage: [1, 1] }), 'E_ARG', /convsPerStage/);
    expectError(() => models.FCN({ convsPerStage: 0 }), 'E_ARG', /convsPerStage/);
    expectError(() => models.FCN({ dropout: -0.1 }), 'E_ARG', /dropout/);
    expectError(() => models.FCN({ batchNorm: 1 as never }), 'E_ARG', /batchNorm/);
    expectError(() => models.FCN({ classes: 3 } as never), 'E_ARG', /classes/);
    const net = models.FCN(small);
    try {
      const x = randn([1, 1, 8, 8]), flat = randn([3, 8, 8]);
      expectError(() => net.call(x), 'E_SHAPE', /\[N, 3, H, W\]/);
      expectError(() => net.call(flat), 'E_SHAPE', /\[N, 3, H, W\]/);
      x.dispose(); flat.dispose();
    } finally {
      net.dispose();
    }
  });
});

describe('nn.init.bilinear_', () => {
  it('makes FCN\'s bilinear kernels', () => {
    expect(nn.init.bilinearKernel(4)).to.deep.equal([0.25, 0.75, 0.75, 0.25]);
    expect(nn.init.bilinearKernel(3)).to.deep.equal([0.5, 1, 0.5]);
    expect(nn.init.bilinearKernel(1)).to.deep.equal([1]);
    expect(nn.init.bilinearKernel(16).slice(6, 10)).to.deep.equal([13 / 16, 15 / 16, 15 / 16, 13 / 16]);
    // groups = C: every [c, 0] slot is the kernel; a [4, 2] (groups 2) weight maps i to i mod 2.
    const depthwise = new nn.ConvTranspose2d(2, 2, 3, { groups: 2 });
    nn.init.bilinear_(depthwise.weight);
    expect(Array.from(depthwise.weight.dataSync())).to.deep.equal([0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25].flatMap((v) => [v]).concat([0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25]));
    const grouped = new nn.ConvTranspose2d(4, 4, 1, { groups: 2 });
    nn.init.bilinear_(grouped.weight);
    expect(Array.from(grouped.weight.dataSync())).to.deep.equal([1, 0, 0, 1, 1, 0, 0, 1]);
    depthwise.dispose(); grouped.dispose();
    expectError(() => nn.init.bilinear_(zeros([3, 3])), 'E_SHAPE', /\[inChannels, outChannels \/ groups, kh, kw\]/);
    expectError(() => nn.init.bilinear_(zeros([1, 1, 2, 2], 'int32')), 'E_DTYPE');
  });

  for (const f of [2, 4, 8]) {
    it(`with kernel ${2 * f}, stride ${f}, padding ${f / 2} equals F.interpolate's bilinear x${f} away from the borders`, async () => {
      const up = new nn.ConvTranspose2d(3, 3, 2 * f, { stride: f, padding: f / 2, bias: false });
      nn.init.bilinear_(up.weight);
      const x = randn([2, 3, 5, 7]);
      const [y, e] = tidy(() => noGrad(() => [up.call(x), F.interpolate(x, { scaleFactor: f, mode: 'bilinear' })]));
      expect(y.shape).to.deep.equal([2, 3, 5 * f, 7 * f]);
      const a = await y.data(), b = await e.data();
      const H = 5 * f, W = 7 * f, inside: number[] = [], want: number[] = [];
      let borderDiffers = false;
      for (let p = 0; p < 6; p++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
        const k = (p * H + i) * W + j;
        const interior = i >= f / 2 && i < H - f / 2 && j >= f / 2 && j < W - f / 2;
        if (interior) { inside.push(a[k]); want.push(b[k]); } else if (Math.abs(a[k] - b[k]) > 1e-3) borderDiffers = true;
      }
      expectClose(inside, want, 1e-5, 1e-5, `x${f}`);
      expect(borderDiffers).to.equal(true);
      up.dispose(); x.dispose(); y.dispose(); e.dispose();
    });
  }
});
