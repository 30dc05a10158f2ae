/**
 * The install path a user takes: `npm run prebuild` makes prebuilds/ (prebuildify over the
 * CMake build), `npm pack` makes the tarball, and the tarball installs into an empty project
 * with no install scripts and no compiler on PATH (so nothing can compile), then loads and computes.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

describe('the packed package', function () {
  this.timeout(600000);
  let work: string;
  let hadPrebuilds: boolean;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-pack-'));
    hadPrebuilds = fs.existsSync(path.join(root, 'prebuilds'));
  });

  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
    // Leave no prebuilt binary behind in a development checkout: a later `npm ci` would prefer
    // it to the sources.
    if (!hadPrebuilds) fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  });

  it('installs from the tarball without compiling, and computes', () => {
    run(npm, ['run', 'prebuild', '--silent'], root);
    const binary = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cudnn-convnet.node');
    expect(fs.existsSync(binary), `${binary} exists`).to.equal(true);

    const packed = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root));
    const tarball = path.join(work, packed[0].filename);
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    expect(files).to.include('prebuilds/linux-x64/cudnn-convnet.node');
    expect(files).to.include('dist/lib/index.js');
    expect(files).to.include('dist/lib/index.d.ts');
    expect(files.some((f) => f.startsWith('dist/test/'))).to.equal(false);

    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    // No compiler can run: scripts are off and PATH holds only node's own folder. The
    // dependencies come from npm's cache where it has them; --offline would also need their
    // registry metadata cached, which `npm ci` (lockfile, tarballs only) never fetches, so a
    // fresh machine failed with ENOTCACHED. Nothing of ours is downloaded: the binary is in the
    // tarball. CONVNET_ADDON (scripts/avx2-check.sh) is dropped: the tarball's binary is tested.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.dirname(process.execPath) };
    delete env.CONVNET_ADDON;
    run(process.execPath, [npmCli(), 'install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app, env);

    const out = run(process.execPath, ['-e', `
      const cc = require('cudnn-convnet');
      const y = cc.matmul(cc.tensor([[1, 2], [3, 4]]), cc.tensor([[1], [1]]));
      console.log(JSON.stringify({ y: Array.from(y.dataSync()), file: require.resolve('cudnn-convnet') }));
    `], app, env);
    const result = JSON.parse(out);
    expect(result.y).to.deep.equal([3, 7]);
    expect(result.file).to.contain(path.join(app, 'node_modules', 'cudnn-convnet'));
  });
});

/** npm's own entry script, so npm runs under this node even with PATH reduced. */
function npmCli(): string {
  const npmBin = run('sh', ['-c', 'command -v npm'], root).trim();
  const real = fs.realpathSync(npmBin);
  return real.endsWith('.js') ? real : path.join(path.dirname(real), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
}
