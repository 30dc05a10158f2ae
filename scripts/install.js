#!/usr/bin/env node
// npm install hook. Uses a matching prebuilt binary as it is; otherwise builds the addon from
// source: with CMake (cmake-js, the full build, CUDA included when nvcc is found) when cmake is on
// PATH, else with node-gyp (CPU backend). Nothing is downloaded either way.
// CONVNET_BUILD_FROM_SOURCE=1 skips the prebuilt binary; CONVNET_BUILDER=cmake|node-gyp picks
// the build tool instead of looking for cmake.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');

function prebuiltBinary() {
  if (process.env.CONVNET_BUILD_FROM_SOURCE) return null;
  try {
    const found = require('node-gyp-build').path(root);
    return found.includes(`${path.sep}prebuilds${path.sep}`) ? found : null;
  } catch {
    return null;
  }
}

function onPath(command) {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(command, args) {
  console.log(`cudnn-convnet: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status || 1);
}

const builder = process.env.CONVNET_BUILDER || (onPath('cmake') ? 'cmake' : 'node-gyp');
const prebuilt = prebuiltBinary();
if (prebuilt) {
  console.log(`cudnn-convnet: using the prebuilt binary ${path.relative(root, prebuilt)}`);
} else if (builder === 'cmake') {
  // Every core: Ninja's default, but CMake's Makefiles (no ninja on PATH) build one file at a time.
  const parallel = process.env.CMAKE_BUILD_PARALLEL_LEVEL ? [] : ['--parallel', String(Math.max(1, os.cpus().length))];
  run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'build', '--out', 'build', ...parallel]);
} else {
  // npm hands its bundled node-gyp to install scripts in npm_config_node_gyp. Point it at the
  // headers installed beside this node, when there are some, so that it downloads nothing.
  const args = ['rebuild'];
  // Every core, as the CMake build uses (node-gyp's make runs one compiler at a time unless
  // told; the ~90 sources then took ~3.5 minutes on 2 cores). JOBS, if set, still decides.
  if (!process.env.JOBS && !process.env.npm_config_jobs) args.push('--jobs=max');
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const nodeGyp = process.env.npm_config_node_gyp;
  if (nodeGyp) run(process.execPath, [nodeGyp, ...args]);
  else run('node-gyp', args);
}
