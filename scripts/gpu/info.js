// What the library sees on this machine: the GPU, the driver and runtime, the cuDNN and cuBLAS it
// loaded (versions and files), the CUDA settings, the CPU backend. Exit status 0 when
// cuda.isAvailable(), else 1 (with the reason and every place the loader looked).
// Usage: node scripts/gpu/info.js (after the build; test-gpu.sh runs it first).
'use strict';
const path = require('path');
const cc = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));

const version = (v) => (v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : '-');
const i = cc.cuda.info();
console.log(`compiled with CUDA: ${i.compiled}; available: ${i.available}${i.reason ? `; reason: ${i.reason}` : ''}`);
for (const d of i.devices) {
  console.log(`GPU ${d.index}: ${d.name}, compute capability ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB`);
}
console.log(`driver supports CUDA ${version(i.driverVersion)} (${i.driverVersion}); addon's CUDA runtime ${version(i.runtimeVersion)} (${i.runtimeVersion})`);
for (const [name, lib] of [['cuDNN', i.cudnn], ['cuBLAS', i.cublas]]) {
  if (!lib) {
    console.log(`${name}: - (no CUDA backend in this build)`);
    continue;
  }
  if (lib.loaded) {
    console.log(`${name} ${lib.version}${lib.cudaVersion ? ` (built for CUDA ${version(lib.cudaVersion)})` : ''}: ${lib.path}`);
    for (const f of lib.libraries) if (f !== lib.path) console.log(`    also loaded ${f}`);
  } else {
    console.log(`${name}: NOT LOADED: ${lib.error ? `${lib.error.code} ${lib.error.message}` : '?'}`);
    for (const t of lib.tried) console.log(`    tried ${t.path}: ${t.result}`);
  }
}
try {
  console.log(`cuda.options(): ${JSON.stringify(cc.cuda.options())}`);
} catch (e) {
  console.log(`cuda.options(): ${e.code || ''} ${e.message}`);
}
const b = cc.backends();
console.log(`CPU backend: ${JSON.stringify(b.cpu)}`);
console.log(`LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH || ''}`);
if (i.available) {
  // The smallest real use: a copy there and back, and the allocator's counters.
  try {
    const x = cc.tensor([1, 2, 3]).to('cuda');
    console.log(`round trip through the GPU: ${Array.from(x.to('cpu').dataSync()).join(', ')} (device ${x.device}); memory ${JSON.stringify(cc.cuda.memory())}`);
    x.dispose();
  } catch (e) {
    console.log(`round trip through the GPU FAILED: ${e.code || ''} ${e.message}`);
    process.exitCode = 1;
  }
} else {
  process.exitCode = 1;
}
