// The graph path's benchmark search, logged (CONVNET_CUDNN_GRAPH_LOG=1: every candidate engine,
// its notes and its timed GPU time, and the one kept) for bench/conv.ts layers given by name
// (default: the ones furthest from PyTorch's pick in the session-7 run), then the kept plan's
// GPU time per call (gpuTimePerCall). Run on the GPU machine: node scripts/gpu/diag-search.js ["alex c2" ...]
process.env.CONVNET_CUDNN_GRAPH_LOG = '1';
const c = require('../../dist/lib/index.js');
const { LAYERS, DIRECTIONS, directions, gpuTimePerCall } = require('../../dist/bench/conv.js');
c.cuda.setOptions({ benchmark: true, allowTF32Cudnn: true });
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['alex c2', 'alex c4', 'lenet c3'];
for (const l of LAYERS.filter((l) => wanted.some((w) => l.name.startsWith(w)))) {
  const g = (shape, std = 1) => c.tidy(() => c.randn(shape, 0, std).to('cuda'));
  const x = g(l.x), w = g(l.w, 0.1), b = g([l.w[0]]);
  const y = c.F.conv2d(x, w, b, l.o);
  const dy = g(y.shape);
  const run = directions(l, x, w, b, dy);
  for (const d of DIRECTIONS) {
    const fn = () => run[d]().dispose();
    fn();
    c.syncBlocking();
    process.stderr.write(`RESULT ${l.name} ${d}: GPU ${gpuTimePerCall(fn, 20, 7).medianMs.toFixed(4)} ms per call\n`);
  }
  for (const t of [x, w, b, y, dy]) t.dispose();
}
