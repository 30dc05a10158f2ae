/**
 * Environments that end with work still queued: a worker_thread terminated (or calling
 * process.exit()) in the middle of its convolutions and reads, and the process exiting with
 * reads in flight. The queue outlives them, so nothing of theirs may be touched afterwards:
 * Note [environment teardown] (native/api/napi_util.h), the never-destroyed caches
 * (native/cpu/prepared_weights.cc) and NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (CMakeLists.txt).
 * Before: a segfault on the first terminated worker (the read's copy into the worker's freed
 * heap), and one process exit in 20-30 a segfault (the weight cache's list destroyed under the
 * queue) or an abort (an error thrown into a stopping worker). Each case runs several times in
 * child processes, with the timing varied, since the faults were races.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';

const lib = JSON.stringify(path.resolve(__dirname, '..', 'lib'));

// A worker that convolves and reads in a loop (optionally ending itself with process.exit()).
const workerLoop = (exitChance: number) => `
  const cc = require(${lib});
  const x = cc.randn([4, 64, 56, 56]), w = cc.randn([64, 64, 3, 3]);
  (async () => {
    for (;;) {
      const ys = [];
      for (let i = 0; i < 8; i++) ys.push(cc.F.conv2d(x, w, null, { padding: 1 }));
      for (const y of ys) y.data();
      await ys[7].data();
      ys.forEach((y) => y.dispose());
      if (Math.random() < ${exitChance}) process.exit(3);
    }
  })();`;

function run(script: string): { status: number | null; signal: string | null; out: string } {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

describe('environments that end with work queued', function () {
  this.timeout(300000);

  it('worker_threads terminated in the middle of their work: the process and the main thread carry on', () => {
    const r = run(`
      const { Worker } = require('worker_threads');
      const cc = require(${lib});
      const code = ${JSON.stringify(workerLoop(0))};
      (async () => {
        for (let i = 0; i < 8; i++) {
          const w = new Worker(code, { eval: true });
          await new Promise((resolve) => { w.on('exit', resolve); setTimeout(() => w.terminate(), 30 + 23 * i); });
        }
        const y = cc.F.conv2d(cc.ones([1, 1, 3, 3]), cc.ones([1, 1, 3, 3]));
        console.log('main', Array.from(await y.data()).join(','));
      })();`);
    expect(r.signal, r.out).to.equal(null);
    expect(r.status, r.out).to.equal(0);
    expect(r.out).to.contain('main 9');
  });

  it('process.exit() with reads in flight, from the main thread and from workers', () => {
    for (let i = 0; i < 30; i++) {
      const r = run(`
        const { Worker } = require('worker_threads');
        const cc = require(${lib});
        const x = cc.randn([8, 64, 56, 56]), w = cc.randn([64, 64, 3, 3]);
        for (let i = 0; i < 12; i++) cc.F.conv2d(x, w, null, { padding: 1 }).data();
        new Worker(${JSON.stringify(workerLoop(0.1))}, { eval: true });
        setTimeout(() => process.exit(0), ${20 + 7 * i});`);
      expect(r.signal, `run ${i}: ${r.out}`).to.equal(null);
      expect(r.status, `run ${i}: ${r.out}`).to.equal(0);
    }
  });

  it('each worker_thread has its own random generator: seeded workers draw what a lone process draws, side by side', () => {
    // 1000 draws after manualSeed(7), yielding now and then, as an async function's body.
    const draws = `const cc = require(${lib}); cc.manualSeed(7); const out = [];
      for (let i = 0; i < 1000; i++) {
        out.push(cc.randn([3]).dataSync()[0], cc.rand([2]).dataSync()[1]);
        if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return out;`;
    // Workers start drawing together, on the main thread's word.
    const worker = `const { parentPort } = require('worker_threads');
      parentPort.once('message', async () => parentPort.postMessage(await (async () => { ${draws} })()));
      parentPort.postMessage('ready');`;
    const r = run(`
      const { Worker } = require('worker_threads');
      const cc = require(${lib});
      const next = (w) => new Promise((resolve) => w.once('message', resolve));
      (async () => {
        const alone = JSON.stringify(await (async () => { ${draws} })());
        const workers = [0, 1, 2].map(() => new Worker(${JSON.stringify(worker)}, { eval: true }));
        await Promise.all(workers.map(next));
        const results = Promise.all(workers.map(next));
        workers.forEach((w) => w.postMessage('go'));
        cc.manualSeed(99);
        for (let i = 0; i < 2000; i++) {   // the main thread draws meanwhile
          cc.randn([5]).dispose();
          if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        console.log(JSON.stringify((await results).map((got) => JSON.stringify(got) === alone)));
      })();`);
    expect(r.status, r.out).to.equal(0);
    expect(r.out.trim()).to.equal('[true,true,true]');
  });
});
