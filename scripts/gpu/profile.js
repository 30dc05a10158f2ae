// Where a GPU op's time goes: host time per call (launch without waiting) and wall time per
// call (with the GPU), for our smallest op, a cuDNN op, the conv, cuBLAS. Run on the GPU machine.
const c = require('../../dist/lib/index.js');
const { native } = require('../../dist/lib/native.js');
const { conv2dBackward } = require('../../dist/lib/nn/functional/conv.js');
c.cuda.setOptions({ benchmark: true });
// fn's results are disposed at once (tidy keeps what it returns, so it returns nothing here).
const run = (fn) => c.tidy(() => { fn(); });
function time(label, fn, n = 300) {
  for (let i = 0; i < 20; i++) run(fn);
  c.syncBlocking();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(fn);
  const t1 = process.hrtime.bigint();
  c.syncBlocking();
  const t2 = process.hrtime.bigint();
  console.log(label.padEnd(44), 'host us/call', (Number(t1 - t0) / 1e3 / n).toFixed(1).padStart(7), '  wall us/call', (Number(t2 - t0) / 1e3 / n).toFixed(1).padStart(7));
}
const g = (shape) => c.randn(shape).cuda();
const small = g([1000]);
time('add(x, 1) [1000]', () => c.add(small, 1));
time('native binaryScalar [1000]', () => native.release(native.binaryScalar(0, small.handle(), 1, false)));
const a = g([64, 256, 13, 13]);
time('relu (cuDNN activation) [64,256,13,13]', () => c.F.relu(a));
time('native activationForward relu', () => native.release(native.activationForward(0, a.handle(), 0)));
const s1 = g([64, 1000]);
time('softmax [64,1000] (cuDNN)', () => c.F.softmax(s1, 1));
const x3 = g([2, 256, 13, 13]), w3 = g([384, 256, 3, 3]), b3 = g([384]);
time('F.conv2d alex c3 (bias)', () => c.F.conv2d(x3, w3, b3, { padding: 1 }));
time('native conv2dForward alex c3 (no bias)', () => native.release(native.conv2dForward(x3.handle(), w3.handle(), null, [1, 1, 1, 1, 1, 1, 1, 1, 1])));
const x1 = g([64, 1, 28, 28]), w1 = g([6, 1, 5, 5]);
time('native conv2dForward lenet c1 b64', () => native.release(native.conv2dForward(x1.handle(), w1.handle(), null, [1, 1, 2, 2, 2, 2, 1, 1, 1])));
const dy3 = g([2, 384, 13, 13]);
time('conv2dBackward alex c3 (dx, dw)', () => { const r = conv2dBackward(dy3, x3, w3, { padding: 1 }); return [r.dx, r.dw]; });
const l1 = g([64, 400]), lw = g([120, 400]), lb = g([120]);
time('F.linear [64,400]x[120,400] (cuBLAS)', () => c.F.linear(l1, lw, lb));
const m1 = g([512, 512]), m2 = g([512, 512]);
time('matmul [512,512]', () => c.matmul(m1, m2));
const p1 = g([64, 6, 28, 28]);
time('maxPool2d [64,6,28,28] k2', () => c.F.maxPool2d(p1, 2));
time('readback 10 floats (await-free dataSync)', () => { c.add(small, 1).dataSync(); }, 100);
console.log('allocator', JSON.stringify(c.cuda.memory()));
