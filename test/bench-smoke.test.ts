/** The benchmark harness runs (a quick pass, not a measurement) and writes its JSON. */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

describe('the benchmark harness', function () {
  this.timeout(120000);
  it('runs the gemm group quickly and writes JSON', () => {
    const root = path.resolve(__dirname, '..', '..');
    const json = path.join(os.tmpdir(), `convnet-bench-${process.pid}.json`);
    try {
      const out = execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), 'gemm', '--quick', '--threads', '1', '--json', json], { encoding: 'utf8' });
      expect(out).to.match(/gemm 64x64x64\s+1\s+[\d.]+/);
      const result = JSON.parse(fs.readFileSync(json, 'utf8'));
      expect(result.results.gemm.rows.length).to.be.above(0);
      expect(result.results.gemm.rows[0].ours.medianMs).to.be.above(0);
    } finally {
      fs.rmSync(json, { force: true });
    }
  });

  it('runs every group once (--quick), each with a table and our timings', () => {
    const root = path.resolve(__dirname, '..', '..');
    const json = path.join(os.tmpdir(), `convnet-bench-all-${process.pid}.json`);
    try {
      execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), '--quick', '--threads', '1', '--json', json], { encoding: 'utf8' });
      const result = JSON.parse(fs.readFileSync(json, 'utf8'));
      for (const group of ['gemm', 'loss', 'pool', 'layers']) {
        expect(result.results[group]?.rows.length, group).to.be.above(0);
        for (const row of result.results[group].rows) expect(row.ours.medianMs, `${group}: ${row.case}`).to.be.above(0);
      }
    } finally {
      fs.rmSync(json, { force: true });
    }
  });

  it('refuses an unknown group or option with a message and a non-zero exit', () => {
    const root = path.resolve(__dirname, '..', '..');
    for (const args of [['nope'], ['--bogus'], ['--threads', '0']]) {
      let failed = false;
      try {
        execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), ...args], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        failed = true;
        expect(String((e as { stderr: string }).stderr)).to.match(/^bench: /);
      }
      expect(failed, args.join(' ')).to.equal(true);
    }
  });
});
