/**
 * The benchmark's long-lived reference process (bench/python_worker.ts / .py), with plain
 * Python scripts (no torch needed): one process serves every request, a script's failure is its
 * reply, a process that dies or hangs is replaced, and an idle worker never keeps Node running.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeTorchBlas, pythonWorker } from '../bench/python_worker';

describe('the benchmark reference worker', function () {
  this.timeout(60000);
  const PID = 'import json, os; print("noise"); print(json.dumps(os.getpid()))';

  it('runs scripts one after another in one process, with their environment and arguments', async () => {
    const w = pythonWorker('python3', { CONVNET_TEST_WORKER: 'a' });
    const first = await w.run({ code: PID });
    const second = await w.run({ code: PID });
    expect('result' in first && 'result' in second).to.equal(true);
    expect((first as { result: number }).result).to.equal((second as { result: number }).result);
    // a request's env is set for that script only; the spawn env stays
    expect(await w.run({ code: 'import json, os; print(json.dumps([os.environ.get("A"), os.environ["CONVNET_TEST_WORKER"]]))', env: { A: '1' } })).to.deep.include({ result: ['1', 'a'] });
    expect(await w.run({ code: 'import json, os; print(json.dumps(os.environ.get("A")))' })).to.deep.include({ result: null });
    const file = path.join(os.tmpdir(), `convnet-worker-${process.pid}.py`);
    fs.writeFileSync(file, 'import json, sys\nprint(json.dumps(sys.argv[1:]))\nsys.exit(0)\n');
    try {
      expect(await w.run({ script: file, argv: ['2', '--part', '1'] })).to.deep.include({ result: ['2', '--part', '1'] });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('answers a failing script with its error, and replaces a process that died or hung', async () => {
    const w = pythonWorker('python3', { CONVNET_TEST_WORKER: 'b' });
    expect(await w.run({ code: 'raise ValueError("boom")' })).to.deep.equal({ error: 'python3: ValueError: boom' });
    expect(await w.run({ code: 'import sys; sys.exit(3)' })).to.deep.equal({ error: 'python3: SystemExit: 3' });
    expect(await w.run({ code: 'print("not json")' })).to.deep.equal({ error: 'python3: could not read its output' });
    const before = (await w.run({ code: PID })) as { result: number };
    expect(await w.run({ code: 'import os; os._exit(5)' })).to.deep.equal({ error: 'python3: exited with 5' });
    const after = (await w.run({ code: PID })) as { result: number };
    expect(after.result).to.be.a('number').and.not.equal(before.result);
    const saved = process.env.CONVNET_BENCH_PYTHON_TIMEOUT;
    process.env.CONVNET_BENCH_PYTHON_TIMEOUT = '1';
    try {
      const hung = await w.run({ code: 'import time; time.sleep(30)' });
      expect(hung).to.have.property('error').that.matches(/no reply within 1 s/);
    } finally {
      if (saved === undefined) delete process.env.CONVNET_BENCH_PYTHON_TIMEOUT;
      else process.env.CONVNET_BENCH_PYTHON_TIMEOUT = saved;
    }
    expect(await w.run({ code: 'import json; print(json.dumps(7))' })).to.deep.include({ result: 7 });
  });

  it('reports a missing interpreter', async () => {
    const reply = await pythonWorker('/nonexistent/python3').run({ code: 'pass' });
    expect(reply).to.have.property('error').that.matches(/ENOENT/);
  });

  it('does not keep Node running once its requests are answered', () => {
    const worker = path.resolve(__dirname, '..', 'bench', 'python_worker.js');
    const script = `require(${JSON.stringify(worker)}).pythonWorker('python3').run({ code: 'import json; print(json.dumps(1))' }).then((r) => console.log(JSON.stringify(r)));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
    expect(JSON.parse(out)).to.deep.equal({ result: 1, stderr: '' });
  });
  it("warns when PyTorch's BLAS is the reference one, and only then", () => {
    const reference = describeTorchBlas('1.13.0', ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0']);
    expect(reference).to.match(/^PyTorch 1\.13\.0 \(CPU\) BLAS: \/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\.11\.0: the reference BLAS/);
    expect(reference).to.include('apt-get install libopenblas0-pthread');
    const open = describeTorchBlas('1.13.0', ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3', '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so']);
    expect(open).to.equal('PyTorch 1.13.0 (CPU) BLAS: /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3, /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so');
    expect(describeTorchBlas('2.1', [])).to.equal('PyTorch 2.1 (CPU) BLAS: none found in the process (linked statically?)');
  });
});
