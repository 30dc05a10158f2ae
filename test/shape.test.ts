/**
 * The native Shape (native/core/shape.h) keeps up to four dimensions inline and has
 * std::vector's interface; native/core/shape_selftest.cc checks it against std::vector<int64_t>
 * over random sequences of every operation, crossing the inline capacity both ways. Compiled
 * here with the C++ compiler that builds the addon, with AddressSanitizer where it has it.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

describe('native shapes (native/core/shape.h)', function () {
  this.timeout(120000);

  it('behave as std::vector<int64_t> through random edits, inline and on the heap', function () {
    const cxx = process.env.CXX ?? 'g++';
    if (spawnSync(cxx, ['--version']).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-shape-'));
    try {
      const exe = path.join(dir, 'shape_selftest');
      const args = ['-std=c++17', '-O1', '-Wall', '-Werror', '-I', path.join(root, 'native'), path.join(root, 'native', 'core', 'shape_selftest.cc'), '-o', exe];
      // AddressSanitizer catches a write past the inline dims or a double free; not every
      // toolchain ships it, so the check runs without it there.
      const sanitized = spawnSync(cxx, ['-fsanitize=address,undefined', ...args]);
      if (sanitized.status !== 0) execFileSync(cxx, args);
      const run = spawnSync(exe, { encoding: 'utf8' });
      expect(run.stdout).to.match(/shape_selftest: \d+ checks, 0 failed/);
      expect(run.status).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
