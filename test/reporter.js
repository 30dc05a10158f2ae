// mocha's spec reporter, plus one plain closing line that CI reads in any language:
// "tests: N passed, N failed, N skipped". Skipped tests (GPU tests on a machine with no GPU)
// are counted as skipped, never as passed.
'use strict';
const Mocha = require('mocha');

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`\ntests: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SpecWithSummary;
