// Which is off for AlexNet conv2's weight gradient (5x5, groups 2): cuDNN's grouped algorithm,
// or the CPU? Each result against a float64 reference on a sample of entries.
const c = require('../../dist/lib/index.js');
const { conv2dBackward } = require('../../dist/lib/nn/functional/conv.js');
function rnd(shape, seed) {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; v[i] = (s / 4294967296) * 2 - 1; }
  return c.tensor(v, { shape });
}
const N = 2, C = 96, H = 27, K = 256, G = 2, k = 5, pad = 2;
const x = rnd([N, C, H, H], 1), w = rnd([K, C / G, k, k], 2), dy = rnd([N, K, H, H], 3);
const X = x.dataSync(), DY = dy.dataSync();
function ref(kk, cc, i, j) {  // dw[kk, cc, i, j] in float64
  const g = Math.floor(kk / (K / G)), ci = g * (C / G) + cc;
  let s = 0;
  for (let n = 0; n < N; n++) for (let oh = 0; oh < H; oh++) for (let ow = 0; ow < H; ow++) {
    const ih = oh - pad + i, iw = ow - pad + j;
    if (ih < 0 || iw < 0 || ih >= H || iw >= H) continue;
    s += DY[((n * K + kk) * H + oh) * H + ow] * X[((n * C + ci) * H + ih) * H + iw];
  }
  return s;
}
const samples = [];
for (let t = 0; t < 400; t++) samples.push([(t * 37) % K, (t * 11) % (C / G), t % k, (t * 3) % k]);
const refs = samples.map((s) => ref(...s));
const scale = Math.max(1, ...refs.map(Math.abs));
function err(dw, label) {
  const v = dw.dataSync();
  let e = 0;
  samples.forEach(([kk, cc, i, j], t) => { e = Math.max(e, Math.abs(v[((kk * (C / G) + cc) * k + i) * k + j] - refs[t])); });
  console.log(label.padEnd(48), 'max err / max|ref|', (e / scale).toExponential(2), ' (max|ref|', scale.toFixed(1) + ')');
}
const opts = { padding: pad, groups: G };
err(conv2dBackward(dy, x, w, opts).dw, 'cpu');
for (const o of [{ allowTF32Cudnn: false }, { allowTF32Cudnn: false, deterministic: true }, { allowTF32Cudnn: false, benchmark: true }, { allowTF32Cudnn: true }]) {
  c.cuda.setOptions({ benchmark: false, deterministic: false, ...o });
  err(conv2dBackward(dy.cuda(), x.cuda(), w.cuda(), opts).dw, 'gpu grouped ' + JSON.stringify(o));
  // the same as two ungrouped convolutions, one per group
  const parts = [0, 1].map((g) => conv2dBackward(
    c.narrow(dy, 1, g * K / G, K / G).cuda(), c.narrow(x, 1, g * C / G, C / G).cuda(), c.narrow(w, 0, g * K / G, K / G).cuda(), { padding: pad }).dw);
  err(c.concat(parts, 0), 'gpu per group ' + JSON.stringify(o));
}
c.cuda.setOptions({ benchmark: false, deterministic: false, allowTF32Cudnn: true });
