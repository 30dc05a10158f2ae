// The cuDNN legacy convolution path against the graph-API path (native/cuda/conv_graph.cc), on
// bench/conv.ts's layers: wall time per call (host included) and GPU time per call (see
// gpuTimePerCall), the two paths interleaved in one process (CONVNET_CUDNN_GRAPH is read per call).
// Run on the GPU machine: node scripts/gpu/conv-paths.js [--benchmark]
const c = require('../../dist/lib/index.js');
const { LAYERS, DIRECTIONS, layerOn, gpuTimePerCall } = require('../../dist/bench/conv.js');
c.cuda.setOptions({ benchmark: process.argv.includes('--benchmark'), allowTF32Cudnn: true });
const inner = 20;
function wall(fn) {
  const got = [];
  for (let s = 0; s < 7; s++) {
    c.syncBlocking();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    c.syncBlocking();
    got.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return got.sort((a, b) => a - b)[3];
}
const paths = { legacy: '0', graph: '1' };
console.log('case'.padEnd(44), 'legacy wall', ' graph wall', ' legacy GPU', '  graph GPU  (ms per call)');
for (const l of LAYERS) {
  const { run, dispose } = layerOn(l, 'cuda');
  for (const d of DIRECTIONS) {
    const fn = () => run[d]().dispose();
    const r = {};
    try {
      for (const [p, v] of Object.entries(paths)) { process.env.CONVNET_CUDNN_GRAPH = v; for (let i = 0; i < 3; i++) fn(); }
      for (const [p, v] of Object.entries(paths)) { process.env.CONVNET_CUDNN_GRAPH = v; r[p + 'Wall'] = wall(fn); r[p + 'Gpu'] = gpuTimePerCall(fn, inner, 5).medianMs; }
      console.log(`${l.name} ${d}`.padEnd(44), ...['legacyWall', 'graphWall', 'legacyGpu', 'graphGpu'].map((k) => r[k].toFixed(4).padStart(11)));
    } catch (e) {
      console.log(`${l.name} ${d}`.padEnd(44), 'FAIL', e.code, e.message.split('\n')[0]);
    }
  }
  dispose();
}
