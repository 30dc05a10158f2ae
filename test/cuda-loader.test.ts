/**
 * The cuDNN/cuBLAS run-time loader (native/cuda/loader.cc) and lib/cuda.ts, on a machine with no
 * GPU and no cuDNN: the search and its report, every kind of bad library (missing, not cuDNN,
 * too old, sub-library missing), and 'auto' falling back to the CPU. The libraries it loads are
 * fakes built here with the C compiler: they export the right names and return chosen versions.
 * Nothing may crash the process.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backends, cuda, resolveDevice } from '../lib/index';
import { expectError } from './helpers';

const root = path.resolve(__dirname, '..', '..');

// Every function name the declarations list, read from the header so that the fakes stay complete.
function declaredFunctions(prefix: 'cudnn' | 'cublas'): string[] {
  const text = fs.readFileSync(path.join(root, 'native', 'cuda', 'cudnn_decls.h'), 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/X\((\w+), /g)) {
    if (m[1].startsWith(prefix) && /^[a-z]+[A-Z]/.test(m[1]) && !m[1].endsWith('_t')) names.add(m[1]);
  }
  return [...names];
}

/** Builds a shared library exporting `names` (each returning 0) plus `extra` C code; returns its path. */
function fakeLibrary(dir: string, file: string, names: string[], extra: string): string {
  const special = new Set([...extra.matchAll(/(\w+)\s*\(/g)].map((m) => m[1]));
  const src = names.filter((n) => !special.has(n)).map((n) => `long long ${n}(void) { return 0; }`).join('\n') + '\n' + extra + '\n';
  const c = path.join(dir, `${file}.c`);
  fs.writeFileSync(c, src);
  const out = path.join(dir, file);
  execFileSync('cc', ['-shared', '-fPIC', '-o', out, c]);
  return out;
}

function makeCudnn(dir: string, version: number, cudart: number, subLibraries = ['graph', 'ops', 'cnn', 'engines_precompiled']): string {
  fs.mkdirSync(dir, { recursive: true });
  const shim = fakeLibrary(dir, 'libcudnn.so.9', declaredFunctions('cudnn'),
    `unsigned long cudnnGetVersion(void) { return ${version}; }\nunsigned long cudnnGetCudartVersion(void) { return ${cudart}; }`);
  for (const s of subLibraries) fs.copyFileSync(shim, path.join(dir, `libcudnn_${s}.so.9`));
  return dir;
}

function makeCublas(dir: string, major: number, minor: number, patch: number): string {
  fs.mkdirSync(dir, { recursive: true });
  fakeLibrary(dir, `libcublasLt.so.${major}`, [], `unsigned long cublasLtGetVersion(void) { return ${major * 10000 + minor * 100 + patch}; }`);
  fakeLibrary(dir, `libcublas.so.${major}`, declaredFunctions('cublas').filter((n) => n !== 'cublasLtGetVersion'),
    `int cublasGetProperty(int type, int *value) { *value = type == 0 ? ${major} : type == 1 ? ${minor} : ${patch}; return 0; }`);
  return dir;
}

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  try {
    return fn();
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe('cuda: loading cuDNN and cuBLAS at run time', function () {
  this.timeout(60000);
  let tmp = '';

  before(function () {
    if (!backends().cuda.compiled) {
      console.log('      (skipped: this binary was built without the CUDA backend)');
      this.skip();
    }
    // The loader keeps a success for the life of the process, and the system loader finds the
    // real libraries on a GPU machine: the fake-library cases below can only run where cuDNN and
    // cuBLAS are not there (CI, any machine without a GPU stack). test:gpu says they were skipped.
    if (cuda.info().cudnn?.loaded || cuda.info().cublas?.loaded) {
      console.log('      (skipped: the real cuDNN/cuBLAS are loaded in this process; these cases run where they are absent)');
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-cuda-'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('with no GPU and no libraries: not available, and info() lists every place searched', function () {
    const i = cuda.info({ sitePackages: ['/nowhere/site-packages'], toolkitDirs: ['/nowhere/cuda/lib64'] });
    if (i.cudnn?.loaded || i.deviceCount > 0) {
      console.log('      (skipped: this machine has a GPU or cuDNN)');
      this.skip();
    }
    expect(cuda.isAvailable()).to.equal(false);
    expect(i.available).to.equal(false);
    expect(cuda.deviceCount()).to.equal(0);
    expect(i.devices).to.deep.equal([]);
    expect(i.runtimeVersion).to.be.greaterThan(0);
    expect(i.cudnn!.loaded).to.equal(false);
    expect(i.cudnn!.tried.map((t) => t.path)).to.deep.equal([
      'libcudnn.so.9 via the system loader', '/nowhere/site-packages/nvidia/cudnn/lib/libcudnn.so.9', '/nowhere/cuda/lib64/libcudnn.so.9',
    ]);
    expect(i.cudnn!.error!.code).to.equal('E_CUDNN');
    const cublasTried = i.cublas!.tried.map((t) => t.path);
    for (const p of ['/nowhere/site-packages/nvidia/cu13/lib/libcublas.so.13', '/nowhere/site-packages/nvidia/cublas/lib/libcublas.so.12', '/nowhere/cuda/lib64/libcublas.so.12']) {
      expect(cublasTried).to.include(p);
    }
    // cuda.load() turns the same report into an error that names every place.
    expectError(() => cuda.load({ sitePackages: ['/nowhere/site-packages'], toolkitDirs: [] }), 'E_CUDNN',
      /cuDNN not found\. Searched, in order: libcudnn\.so\.9 via the system loader \(not found\); \/nowhere\/site-packages\/nvidia\/cudnn\/lib\/libcudnn\.so\.9 \(no such file\)/);
  });

  it('the default search covers the site-packages and toolkit folders that exist', () => {
    const fakeHome = path.join(tmp, 'venv');
    fs.mkdirSync(path.join(fakeHome, 'lib', 'python3.11', 'site-packages'), { recursive: true });
    fs.mkdirSync(path.join(fakeHome, 'lib', 'python3.9', 'site-packages'), { recursive: true });
    const dirs = cuda.sitePackagesDirs({ VIRTUAL_ENV: fakeHome, PYTHONPATH: `/nowhere:${tmp}` });
    expect(dirs.slice(0, 3)).to.deep.equal([tmp, path.join(fakeHome, 'lib', 'python3.11', 'site-packages'), path.join(fakeHome, 'lib', 'python3.9', 'site-packages')]);
    expect(cuda.toolkitDirs({ CUDA_HOME: '/nowhere' })).to.not.include('/nowhere/lib64');
    const i = withEnv({ VIRTUAL_ENV: fakeHome }, () => cuda.info());
    expect(i.cudnn!.tried.map((t) => t.path)).to.include(path.join(fakeHome, 'lib', 'python3.11', 'site-packages', 'nvidia', 'cudnn', 'lib', 'libcudnn.so.9'));
  });

  it('an explicit path to a missing file is E_CUDNN naming it, and nothing else is searched', () => {
    const missing = path.join(tmp, 'nope', 'libcudnn.so.9');
    const err = withEnv({ CONVNET_CUDNN_PATH: missing }, () => expectError(() => cuda.load(), 'E_CUDNN', /no such file/));
    expect(err.message).to.contain(missing).and.contain('CONVNET_CUDNN_PATH');
    const i = cuda.info({ cudnnPath: missing });
    expect(i.cudnn!.tried).to.deep.equal([{ path: missing, result: 'no such file' }]);
    expectError(() => cuda.load({ cublasPath: path.join(tmp, 'libcublas.so.12'), cudnnPath: missing }), 'E_CUDNN');
  });

  it('a library that is not cuDNN (libz) is E_CUDNN "not cuDNN (missing symbol ...)", not a crash', function () {
    const libz = ['/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib64/libz.so.1', '/lib64/libz.so.1', '/usr/lib/libz.so.1']
      .find((p) => fs.existsSync(p));
    if (!libz) this.skip();
    withEnv({ CONVNET_CUDNN_PATH: libz }, () =>
      expectError(() => cuda.load(), 'E_CUDNN', /not cuDNN \(missing symbol cudnnGetVersion\)/));
    // The same for cuBLAS: a file of the wrong name, then a real .so that is not cuBLAS.
    expectError(() => cuda.load({ cudnnPath: libz!, cublasPath: libz! }), 'E_CUDNN');
    const i = cuda.info({ cublasPath: libz! });
    expect(i.cublas!.error!.code).to.equal('E_CUDA');
    expect(i.cublas!.error!.message).to.match(/expected a file named libcublas\.so\.12 or libcublas\.so\.13/);
  });

  it('cuDNN 8.9 is E_CUDNN "cuDNN >= 9.0 required, found 8.9.0"', () => {
    const dir = makeCudnn(path.join(tmp, 'cudnn89'), 8900, 12020);
    for (const p of [dir, path.join(dir, 'libcudnn.so.9')]) {
      withEnv({ CONVNET_CUDNN_PATH: p }, () => expectError(() => cuda.load(), 'E_CUDNN', /cuDNN >= 9\.0 required, found 8\.9\.0/));
    }
    expect(cuda.info({ cudnnPath: dir }).cudnn!.version).to.equal(null);
  });

  it('a cuDNN shim without its sub-libraries is refused before anything calls it (the shim would abort)', () => {
    const dir = makeCudnn(path.join(tmp, 'shim-only'), 90600, 12080, ['ops', 'cnn']);
    expectError(() => cuda.load({ cudnnPath: dir }), 'E_CUDNN', /libcudnn_graph\.so\.9 is missing beside it/);
    // A sub-library of the right name that is not cuDNN's.
    const dir2 = makeCudnn(path.join(tmp, 'bad-ops'), 90600, 12080, ['graph', 'cnn']);
    fakeLibrary(dir2, 'libcudnn_ops.so.9', [], 'int unrelated(void) { return 1; }');
    expectError(() => cuda.load({ cudnnPath: dir2 }), 'E_CUDNN', /libcudnn_ops\.so\.9 is not part of cuDNN \(missing symbol cudnnCreateTensorDescriptor\)/);
  });

  it('cuBLAS 11 is E_CUDA "cuBLAS 12 or 13 required, found 11.4.2"; a folder without libcublasLt is refused', () => {
    const dir = makeCublas(path.join(tmp, 'cublas11'), 11, 4, 2);
    const old = cuda.info({ cublasPath: path.join(dir, 'libcublas.so.11') }).cublas!;
    expect(old.loaded).to.equal(false);
    expect(old.error!.code).to.equal('E_CUDA');
    expect(old.error!.message).to.match(/cuBLAS 12 or 13 required, found 11\.4\.2/);
    const noLt = path.join(tmp, 'no-lt');
    fs.mkdirSync(noLt);
    fs.copyFileSync(path.join(dir, 'libcublas.so.11'), path.join(noLt, 'libcublas.so.12'));
    const i = cuda.info({ cublasPath: noLt });
    expect(i.cublas!.error!.message).to.match(/libcublasLt\.so\.12 is missing beside it/);
  });

  it("'auto' resolves to the CPU with a one-line reason; 'cuda' is E_DEVICE; backends() carries the loader's findings", () => {
    const r = resolveDevice('auto');
    expect(r.device).to.equal('cpu');
    expect(r.reason).to.match(/^CUDA not available: /);
    expect(r.reason).to.not.contain('\n');
    expect(resolveDevice('cpu')).to.deep.equal({ device: 'cpu', reason: null });
    expectError(() => resolveDevice('cuda'), 'E_DEVICE', /the CUDA device is not available/);
    expectError(() => resolveDevice('tpu' as 'cpu'), 'E_ARG');
    const b = backends().cuda;
    expect(b.available).to.equal(false);
    expect(b.cudnn).to.have.property('tried');
    expect(b.cublas).to.have.property('tried');
    expect(b.reason).to.equal(cuda.info().reason);
    expectError(() => cuda.info({ cudnnPath: 3 as unknown as string }), 'E_ARG', /cudnnPath/);
  });

  it('a complete cuDNN 9 and a matching cuBLAS load (in a child process: a success is kept for its life)', () => {
    const cudnnDir = makeCudnn(path.join(tmp, 'cudnn96'), 90600, 12080);
    const blas12 = makeCublas(path.join(tmp, 'cublas12'), 12, 6, 4);
    const blas13 = makeCublas(path.join(tmp, 'cublas13'), 13, 0, 1);
    const script = `
      const { cuda, resolveDevice } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'index.js'))});
      const mismatch = cuda.info({ cudnnPath: ${JSON.stringify(cudnnDir)}, cublasPath: ${JSON.stringify(blas13)} });
      const good = cuda.info({ cublasPath: ${JSON.stringify(blas12)} });
      const later = cuda.info({ cudnnPath: '/elsewhere' });
      console.log(JSON.stringify({ mismatch, good, later, auto: resolveDevice('auto') }));`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CONVNET_CUDNN_PATH: '', CONVNET_CUBLAS_PATH: '' } });
    expect(child.status, child.stderr).to.equal(0);
    const { mismatch, good, later, auto } = JSON.parse(child.stdout);
    expect(mismatch.cudnn.loaded).to.equal(true);
    expect(mismatch.cudnn.version).to.equal('9.6.0');
    expect(mismatch.cudnn.cudaVersion).to.equal(12080);
    expect(mismatch.cudnn.path).to.equal(path.join(cudnnDir, 'libcudnn.so.9'));
    expect(mismatch.cudnn.libraries.map((p: string) => path.basename(p))).to.deep.equal([
      'libcudnn_graph.so.9', 'libcudnn_ops.so.9', 'libcudnn_cnn.so.9', 'libcudnn_engines_precompiled.so.9', 'libcudnn.so.9',
    ]);
    expect(mismatch.cublas.error.code).to.equal('E_CUDA');
    expect(mismatch.cublas.error.message).to.match(/cuBLAS 13\.0\.1 does not match cuDNN, which was built for CUDA 12/);
    expect(good.cublas.loaded).to.equal(true);
    expect(good.cublas.version).to.equal('12.6.4');
    expect(good.cublas.libraries.map((p: string) => path.basename(p))).to.deep.equal(['libcublasLt.so.12', 'libcublas.so.12']);
    expect(good.available).to.equal(false);  // no GPU here, and no CUDA ops yet in any case
    expect(later.cudnn.path).to.equal(path.join(cudnnDir, 'libcudnn.so.9'));  // kept
    expect(auto.device).to.equal('cpu');
  });
});
