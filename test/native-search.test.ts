/**
 * Benchmark mode's choice between cuDNN's execution plans (native/cuda/fastest.h) runs only on a
 * GPU, but the choice itself is plain C++: native/cuda/fastest_selftest.cc drives it with scripted
 * noisy timers (a fast plan whose first sample read slow, plans that cannot run, ties), so it is
 * checked on every machine. Compiled here with the C++ compiler that builds the addon.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

describe('benchmark mode: picking the fastest plan from noisy timings (native/cuda/fastest.h)', function () {
  this.timeout(120000);

  it('re-times the finalists and keeps the least time; skips plans that cannot run', function () {
    const cxx = process.env.CXX ?? 'g++';
    if (spawnSync(cxx, ['--version']).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-fastest-'));
    try {
      const exe = path.join(dir, 'fastest_selftest');
      execFileSync(cxx, ['-std=c++17', '-Wall', '-Werror', '-I', path.join(root, 'native'), path.join(root, 'native', 'cuda', 'fastest_selftest.cc'), '-o', exe]);
      const run = spawnSync(exe, { encoding: 'utf8' });
      expect(run.stdout).to.match(/fastest_selftest: \d+ checks, 0 failed/);
      expect(run.status).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
