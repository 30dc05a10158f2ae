// The graph path's benchmark search, logged (CONVNET_CUDNN_GRAPH_LOG=1: every candidate engine,
// its notes and its timed GPU time, and the one kept) for bench/conv.ts layers given by name
// (default: the ones furthest from PyTorch's pick in the session-7 run), then the kept plan's
// GPU time per call (gpuTimePerCall). Run on the GPU machine: node scripts/gpu/diag-search.js ["alex c2" ...]
process.env.CONVNET_CUDNN_GRAPH_LOG = '1';
const c = require('../../dist/lib/index.js');
const { LAYERS, DIRECTIONS, layerOn, gpuTimePerCall } = require('../../dist/bench/conv.js');
c.cuda.setOptions({ benchmark: true, allowTF32Cudnn: true });
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['alex c2', 'alex c4', 'lenet c3'];
for (const l of LAYERS.filter((l) => wanted.some((w) => l.name.startsWith(w)))) {
  const { run, dispose } = layerOn(l, 'cuda');
  for (const d of DIRECTIONS) {
    const fn = () => run[d]().dispose();
    fn();
    c.syncBlocking();
    process.stderr.write(`RESULT ${l.name} ${d}: GPU ${gpuTimePerCall(fn, 20, 7).medianMs.toFixed(4)} ms per call\n`);
  }
  dispose();
}
