#!/usr/bin/env node
// prebuildify calls "node-gyp rebuild --target=... --release"; this stand-in runs the full CMake
// build instead (CPU + CUDA when nvcc is found), incrementally, so `npm run prebuild` packages
// the same binary that `npm run build:native` makes. It ignores node-gyp's arguments: the addon
// uses N-API only, so one binary serves every Node version.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const root = path.resolve(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'build', '--out', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(result.status === null ? 1 : result.status);
