// A first look at the CUDA core on a GPU machine: moving data, the allocator, out-of-memory.
// Usage (on the GPU machine, from the staged tree): node scripts/gpu/smoke.js
const c = require('../../dist/lib/index.js');
const t0 = Date.now();
const i = c.cuda.info();
console.log('available', i.available, i.reason, i.devices[0] && i.devices[0].name, 'cudnn', i.cudnn && i.cudnn.version, 'cublas', i.cublas && i.cublas.version);
const step = (name, fn) => {
  try {
    const r = fn();
    console.log('OK  ', name, r === undefined ? '' : JSON.stringify(r));
  } catch (e) {
    console.log('FAIL', name, e.code, e.message);
  }
};
step('round trip', () => {
  const x = c.tensor(Float32Array.from({ length: 1000 }, (_, k) => k * 0.5));
  const g = x.to('cuda');
  const back = g.to('cpu').dataSync();
  return [g.device, back[999], g.dataSync()[3], back.length];
});
step('int32 round trip', () => Array.from(c.tensor(new Int32Array([1, -2, 3])).cuda().dataSync()));
step('zeros on cuda (fill)', () => Array.from(c.zeros([3], { device: 'cuda' }).dataSync()));
step('memory', () => c.cuda.memory());
step('OOM', () => {
  try { c.zeros([4e10], { device: 'cuda' }); return 'no error?'; } catch (e) { return [e.code, e.message]; }
});
step('after OOM', () => Array.from(c.tensor([7, 8]).cuda().dataSync()));
step('Module.to', () => {
  const m = new c.nn.Linear(3, 2).to('cuda');
  return [m.device, m.parameters().map((p) => p.device)];
});
(async () => {
  const big = c.randn([1 << 24]).cuda();
  let t = Date.now();
  for (let k = 0; k < 10; k++) await big.data();
  console.log('OK   readback 64 MiB x10', (Date.now() - t) / 10, 'ms each');
  t = Date.now();
  for (let k = 0; k < 10; k++) c.tidy(() => c.randn([1 << 24]).cuda());
  c.syncBlocking();
  console.log('OK   upload 64 MiB (with randn) x10', (Date.now() - t) / 10, 'ms each');
  step('memory after', () => c.cuda.memory());
  console.log('smoke total', Date.now() - t0, 'ms');
})().catch((e) => console.log('FAIL async', e.code, e.message));
