// Host time per native function during training steps on the GPU (AlexNet-64 batch 32 and
// LeNet-5 batch 64): every addon function is wrapped with a timer. GPU ops only launch, so a
// step whose wall time is close to the summed host time is bound by the host, not the GPU.
const c = require('../../dist/lib/index.js');
const { native } = require('../../dist/lib/native.js');
const { alexNetSmall } = require('../../dist/bench/models.js');
const stats = new Map();
// PROFILE_NO_WRAP=1: native functions unwrapped (for node --cpu-prof: the JavaScript side as it is)
for (const name of process.env.PROFILE_NO_WRAP === '1' ? [] : Object.keys(native)) {
  const f = native[name];
  if (typeof f !== 'function') continue;
  native[name] = function (...args) {
    const t0 = process.hrtime.bigint();
    try { return f.apply(this, args); } finally {
      const s = stats.get(name) ?? { calls: 0, ns: 0n };
      s.calls++; s.ns += process.hrtime.bigint() - t0;
      stats.set(name, s);
    }
  };
}
c.cuda.setOptions({ benchmark: true });
async function profile(label, model, batch, shape, classes, steps) {
  model.to('cuda');
  const opt = new c.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = c.randn([batch, ...shape]).cuda();
  const y = c.tensor(Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes)).cuda();
  const step = async () => {
    const l = c.tidy(() => { const loss = c.F.crossEntropy(model.call(x), y); loss.backward(); return loss.detach(); });
    opt.step(); opt.zeroGrad();
    await l.data(); l.dispose();
  };
  for (let i = 0; i < 5; i++) await step();
  stats.clear();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) await step();
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / steps;
  let host = 0n;
  for (const s of stats.values()) host += s.ns;
  console.log(`\n${label}: wall ${wall.toFixed(0)} us/step, host in native calls ${(Number(host) / 1e3 / steps).toFixed(0)} us/step`);
  const rows = [...stats.entries()].sort((a, b) => Number(b[1].ns - a[1].ns)).slice(0, 18);
  for (const [name, s] of rows) console.log('  ' + name.padEnd(28), String(s.calls / steps).padStart(6), 'calls/step', (Number(s.ns) / 1e3 / steps).toFixed(1).padStart(8), 'us/step', (Number(s.ns) / 1e3 / s.calls).toFixed(1).padStart(7), 'us/call');
  // GPU time per step: the GPU held by a busy kernel while one step is enqueued (no read; one
  // step at a time: CUDA's queue of pending launches, ~1000, must not fill up behind the sleep)
  const a = new c.cuda.Event(), b = new c.cuda.Event();
  const launch = () => { c.tidy(() => { c.F.crossEntropy(model.call(x), y).backward(); }); opt.step(); opt.zeroGrad(); };
  const gpu = [], enqueue = [];
  for (let r = 0, cycles = 2e7; r < 7 && cycles < 2e9;) {
    c.syncBlocking();
    c.cuda._sleep(cycles);
    a.record();
    const t0 = process.hrtime.bigint();
    launch();
    enqueue.push(Number(process.hrtime.bigint() - t0) / 1e3);
    b.record();
    const held = !a.query();
    b.synchronize();
    if (held) { gpu.push(a.elapsedTime(b) * 1e3); r++; } else cycles *= 2;
  }
  const med = (v) => v.slice().sort((p, q) => p - q)[v.length >> 1];
  if (gpu.length) console.log(`  GPU time ${med(gpu).toFixed(0)} us/step (median of ${gpu.length}; host time to enqueue a step without its read: ${med(enqueue).toFixed(0)} us)`);
  else console.log('  GPU time: not measured (the host never got ahead of the GPU)');
  opt.dispose(); model.dispose(); x.dispose(); y.dispose();
}
(async () => {
  await profile('alexnet64 b32', alexNetSmall(), 32, [3, 64, 64], 200, 20);
  await profile('lenet5 b64', c.models.LeNet5(), 64, [1, 28, 28], 10, 50);
})().catch((e) => console.log('FAIL', e.code, e.message));
