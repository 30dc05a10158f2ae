#!/usr/bin/env bash
# The early GPU check of the core (see smoke.js), then the core tests.
node scripts/gpu/smoke.js
npx mocha --no-config --node-option expose-gc --timeout 120000 dist/test/device.test.js dist/test/cuda-core.test.js 2>&1 | tail -60
