/**
 * The native Shape (native/core/shape.h) keeps up to four dimensions inline and has
 * std::vector's interface; native/core/shape_selftest.cc checks it against std::vector<int64_t>
 * over random sequences of every operation, crossing the inline capacity both ways, with
 * AddressSanitizer where the compiler has it (a write past the inline dims, a double free).
 */
import { expect } from 'chai';
import { runNativeSelftest } from './helpers';

describe('native shapes (native/core/shape.h)', function () {
  this.timeout(120000);

  it('behave as std::vector<int64_t> through random edits, inline and on the heap', function () {
    const run = runNativeSelftest('core/shape_selftest.cc', { sanitize: true });
    if (!run) this.skip();
    expect(run.stdout).to.match(/shape_selftest: \d+ checks, 0 failed/);
    expect(run.status).to.equal(0);
  });
});
