/**
 * The fallback build for machines with no CMake: node-gyp over binding.gyp, reading the same
 * source list as CMake, builds a CPU-only addon that loads and computes. Built in a temporary
 * copy so the checkout's own build is untouched; through scripts/install.js, as `npm install`
 * would run it.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function npmNodeGyp(): string | undefined {
  const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const candidate = path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(candidate) ? candidate : undefined;
}

describe('the node-gyp build (no CMake)', function () {
  this.timeout(600000);

  it('builds the CPU backend from binding.gyp and native/sources.txt, and computes', function () {
    // Under CONVNET_ADDON (scripts/avx2-check.sh: the suite again on another build of the
    // addon) this test has nothing to add: it builds and checks its own addon, the same one as
    // in the first run, and it is the slowest test by far (~2.5 min on 2 cores).
    const nodeGyp = npmNodeGyp();
    if (!nodeGyp || process.env.CONVNET_ADDON) this.skip();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-gyp-'));
    try {
      for (const item of ['native', 'scripts', 'binding.gyp', 'package.json']) {
        fs.cpSync(path.join(root, item), path.join(work, item), { recursive: true });
      }
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'));
      const env: NodeJS.ProcessEnv = { ...process.env, CONVNET_BUILDER: 'node-gyp', CONVNET_BUILD_FROM_SOURCE: '1', npm_config_node_gyp: nodeGyp };
      delete env.npm_config_nodedir;
      execFileSync(process.execPath, [path.join(work, 'scripts', 'install.js')], { cwd: work, env, stdio: 'pipe' });
      const binary = path.join(work, 'build', 'Release', 'convnet.node');
      expect(fs.existsSync(binary)).to.equal(true);
      const out = execFileSync(process.execPath, ['-e', `
        const addon = require(${JSON.stringify(binary)});
        class E extends Error { constructor(m, c) { super(m); this.code = c; } }
        addon.init(E);
        const a = addon.fromData(new Float32Array([1, 2, 3, 4]), [2, 2]);
        const y = addon.matmul(a, a, false, false);
        let code; try { addon.matmul(a, addon.fromData(new Float32Array(3), [3, 1]), false, false); } catch (e) { code = e.code; }
        console.log(JSON.stringify({ y: Array.from(addon.readSync(y)), code, backends: addon.backends() }));
      `], { encoding: 'utf8' });
      const result = JSON.parse(out);
      expect(result.y).to.deep.equal([7, 10, 15, 22]);
      expect(result.code).to.equal('E_SHAPE');
      expect(result.backends.cuda.compiled).to.equal(false);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
