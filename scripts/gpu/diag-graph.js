// Which cuDNN graph-API engines lose precision in plain float32 (allowTF32Cudnn false): AlexNet
// conv2's layer (groups 2 and not) in the three directions, on the graph path with the engine
// it picks and with each of heuristics mode A's configurations in turn (CONVNET_CUDNN_GRAPH_PICK,
// whatever their notes), each result's normalised error against the CPU. The build log
// (CONVNET_CUDNN_GRAPH_LOG) names each engine and its numerical notes. Run on the GPU machine.
const c = require('../../dist/lib/index.js');
const { conv2dBackward } = require('../../dist/lib/nn/functional/conv.js');
const picks = Number(process.argv[2] ?? 16);
const cases = [
  { name: 'alex c2 g2 N2', x: [2, 96, 27, 27], w: [256, 48, 5, 5], o: { padding: 2, groups: 2 } },
  { name: 'alex c2 N2 (no groups)', x: [2, 96, 27, 27], w: [256, 96, 5, 5], o: { padding: 2 } },
  { name: 'alex c3 N2', x: [2, 256, 13, 13], w: [384, 256, 3, 3], o: { padding: 1 } },
];
function err(a, b) {
  const u = a.dataSync(), v = b.dataSync();
  let d = 0, s = 1;
  for (let i = 0; i < u.length; i++) { d = Math.max(d, Math.abs(u[i] - v[i])); s = Math.max(s, Math.abs(v[i])); }
  return d / s;
}
const outputs = (x, w, dy, o) => {
  const y = c.F.conv2d(x, w, null, o);
  const { dx, dw } = conv2dBackward(dy, x, w, o, { needBias: false });
  return [y, dx, dw].map((t) => t.to('cpu'));
};
process.env.CONVNET_CUDNN_GRAPH_LOG = '1';
for (const tf32 of [false, true]) {
  c.cuda.setOptions({ allowTF32Cudnn: tf32, benchmark: false });
  for (const k of cases) {
    const x = c.randn(k.x), w = c.randn(k.w, 0, 0.1);
    const dy = c.randn(c.F.conv2d(x, w, null, k.o).shape);
    const ref = outputs(x, w, dy, k.o);
    const [xg, wg, dyg] = [x, w, dy].map((t) => t.to('cuda'));
    const line = (label) => {
      const got = outputs(xg, wg, dyg, k.o);
      process.stderr.write(`RESULT tf32 ${tf32} ${k.name} ${label}: error y ${err(got[0], ref[0]).toExponential(2)} dx ${err(got[1], ref[1]).toExponential(2)} dw ${err(got[2], ref[2]).toExponential(2)}\n`);
    };
    process.env.CONVNET_CUDNN_GRAPH = '0';
    delete process.env.CONVNET_CUDNN_GRAPH_PICK;
    line('legacy');
    process.env.CONVNET_CUDNN_GRAPH = '1';
    line('graph (its choice)');
    if (!tf32) for (let p = 0; p < picks; p++) { process.env.CONVNET_CUDNN_GRAPH_PICK = String(p); line(`graph pick ${p}`); }
    delete process.env.CONVNET_CUDNN_GRAPH_PICK;
  }
}
