#!/usr/bin/env node
// The command-line tool: `npx cudnn-convnet --help`. The code is in lib/cli/.
'use strict';
require('../dist/lib/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(`cudnn-convnet: ${e && e.message ? e.message : e}`); process.exitCode = 1; },
);
