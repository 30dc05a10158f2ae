#!/usr/bin/env node
// prebuildify calls "node-gyp rebuild --target=... --release"; this stand-in runs the full CMake
// build instead (CPU + CUDA when nvcc is found), incrementally, so `npm run prebuild` packages
// the same binary that `npm run build:native` makes. It ignores node-gyp's arguments: the addon
// uses N-API only, so one binary serves every Node version.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'build', '--out', 'build'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status === null ? 1 : result.status);

// Note [fresh inode]: prebuildify then strips the binary and moves it into prebuilds/, and
// `strip` rewrites the file in place. A process that has build/Release/convnet.node loaded
// (the test run that calls `npm run prebuild`, a developer's server) would crash when its
// mapped code changes under it. So hand prebuildify a copy with a new inode.
const binary = path.join(root, 'build', 'Release', 'convnet.node');
fs.copyFileSync(binary, `${binary}.copy`);
fs.renameSync(`${binary}.copy`, binary);
