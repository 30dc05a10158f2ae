/**
 * Benchmark mode's choice between cuDNN's execution plans (native/cuda/fastest.h) runs only on a
 * GPU, but the choice itself is plain C++: native/cuda/fastest_selftest.cc drives it with scripted
 * noisy timers (a fast plan whose first sample read slow, plans that cannot run, ties), so it is
 * checked on every machine. Compiled here with the C++ compiler that builds the addon.
 */
import { expect } from 'chai';
import { runNativeSelftest } from './helpers';

describe('benchmark mode: picking the fastest plan from noisy timings (native/cuda/fastest.h)', function () {
  this.timeout(120000);

  it('re-times the finalists and keeps the least time; skips plans that cannot run', function () {
    const run = runNativeSelftest('cuda/fastest_selftest.cc');
    if (!run) this.skip();
    expect(run.stdout).to.match(/fastest_selftest: \d+ checks, 0 failed/);
    expect(run.status).to.equal(0);
  });
});
