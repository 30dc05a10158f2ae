// A dry run of the GPU tests on a machine without a GPU: their CPU halves, their expectations
// and their use of the API run here, so that a mistake in a test (or a CPU tensor made where a
// GPU one is needed) costs no device time. `bash scripts/gpu/dry-run.sh` runs every GPU test this
// way (mocha --require scripts/gpu/dry-run.js). How: the addon's
// exports are wrapped so that a "cuda" tensor is a CPU tensor marked as such (toDevice(x, 1)
// copies x and marks the copy, every op on marked inputs marks its outputs, creation with device 1
// marks, deviceOf says 1 for marked handles, an op mixing marked and unmarked tensors is
// E_DEVICE), and cuda.info() reports a device. Every op then runs the CPU kernel, so the "GPU"
// values are the CPU's: a comparison with the CPU passes trivially. What a dry run finds: tests
// that throw, call the API wrongly, or expect something the CPU side does not do, and library
// code that makes a CPU tensor for a GPU input (found so: BatchNorm's counter, nn.init, summary).
// What it cannot find: anything about the CUDA kernels. The tests that check what only a GPU
// has (memory counters, out-of-memory, GPU timing, host time per call, the native GPU path's
// own messages) are skipped, each named (SKIP_IN_DRY_RUN).
'use strict';
const path = require('path');

const dist = path.resolve(__dirname, '../../dist');
const { native } = require(path.join(dist, 'lib/native.js'));
const { ConvnetError } = require(path.join(dist, 'lib/errors.js'));

const orig = {};
for (const [name, value] of Object.entries(native)) if (typeof value === 'function') orig[name] = value.bind(native);

// Handles are numbers (Note [handles are numbers], native/api/napi_util.h): the marked ones are
// kept in a set until released (a released number is never handed out again).
const onGpu = new Set();
const isHandle = (v) => {
  if (typeof v !== 'number') return false;
  try {
    orig.deviceOf(v);
    return true;
  } catch {
    return false;
  }
};
const mark = (out) => {
  if (Array.isArray(out)) out.forEach(mark);
  else if (isHandle(out)) onGpu.add(out);
  return out;
};
// A copy of any tensor (either dtype): where(1, x, x) copies x's values bit for bit.
const copy = (h) => orig.where(orig.fill([], 0, 1), h, h);

// Creation functions take the device as their last argument (native/api/ops_api.cc: device_arg).
const DEVICE_ARG = { empty: 2, fill: 3, arange: 4, randomUniform: 3, randomNormal: 3, randomBernoulli: 2 };
let options = { benchmark: false, allowTF32Cudnn: true, allowTF32Matmul: false, deterministic: false };
const library = (name) => ({ loaded: true, path: `/dry-run/${name}`, version: '9.0.0', versionNumber: 90000, libraries: [], tried: [], error: null });
const SPECIAL = {
  cudaLoad: () => ({
    compiled: true, available: true, reason: '', devices: 1, runtimeVersion: 13000, driverVersion: 13000,
    deviceList: [{ index: 0, name: 'dry run (CPU)', totalMemory: 1 << 30, computeCapability: '9.0' }],
    cudnn: library('libcudnn.so.9'), cublas: library('libcublas.so.13'),
  }),
  backends: () => ({ ...orig.backends(), cuda: { compiled: true, available: true, reason: '', devices: 1 } }),
  cudaSetOptions: (o = {}) => (options = { ...options, ...o }),
  cudaMemory: () => ({ allocatedBytes: 0, cachedBytes: 0, reservedBytes: 0, peakBytes: 0 }),
  cudaEmptyCache: () => {},
  cudaEventCreate: () => ({ time: 0 }),
  cudaEventOp: (e, action) => {
    if (action === 0) e.time = performance.now();
    return action === 1 ? true : undefined;
  },
  cudaEventElapsed: (a, b) => b.time - a.time,
  cudaSleep: () => {},
  deviceOf: (h) => (onGpu.has(h) ? 1 : orig.deviceOf(h)),
  release: (h) => {
    onGpu.delete(h);
    return orig.release(h);
  },
  toDevice: (h, device) => {
    const from = onGpu.has(h) ? 1 : orig.deviceOf(h);
    if (device !== 0 && device !== 1) return orig.toDevice(h, device);  // its own E_ARG
    if (from === device) return device === 1 ? mark(orig.toDevice(h, 0)) : orig.toDevice(h, 0);
    return device === 1 ? mark(copy(h)) : copy(h);
  },
};

for (const name of Object.keys(orig)) {
  if (SPECIAL[name]) {
    native[name] = SPECIAL[name];
    continue;
  }
  if (['init', 'release', 'read', 'readSync', 'itemSync', 'sync', 'syncBlocking', 'memory', 'version'].includes(name)) continue;
  native[name] = (...args) => {
    let gpu = false, cpu = false;
    const look = (v) => {
      // concat takes its handles in a Float64Array.
      if (Array.isArray(v) || v instanceof Float64Array) return v.forEach(look);
      if (isHandle(v)) (onGpu.has(v) ? (gpu = true) : (cpu = true));
    };
    args.forEach(look);
    const at = DEVICE_ARG[name];
    if (at !== undefined && args[at] === 1) {
      args[at] = 0;
      gpu = true;
    }
    if (gpu && cpu) throw new ConvnetError(`${name}: tensors on both devices, cuda and cpu (dry run): an op's tensors must all be on one device`, 'E_DEVICE');
    const out = orig[name](...args);
    return gpu ? mark(out) : out;
  };
}

// Tests that check what only the GPU has; skipped (as pending) in a dry run.
const SKIP_IN_DRY_RUN = [
  'the graph path costs less host time per call than the legacy path',     // host time of cuDNN calls
  'the allocator reuses freed blocks and counts what it holds',             // GPU allocator counters
  'out of memory is E_OOM with the sizes',                                  // GPU memory
  'cuda.Event times GPU work',                                              // GPU timing
  'a label out of range is E_INDEX when the result is read, naming the op', // the GPU kernel's message
  'the functional steps on GPU tensors; mixed devices are E_DEVICE naming both',  // the native check's message
  'an op with tensors on both devices is E_DEVICE with a clear message',    // the native check's message
  'three workers training on the GPU at once',                              // child processes, with no dry-run marking
];

exports.mochaHooks = {
  beforeEach() {
    const title = this.currentTest ? this.currentTest.fullTitle() : '';
    if (SKIP_IN_DRY_RUN.some((t) => title.includes(t))) this.skip();
  },
};
