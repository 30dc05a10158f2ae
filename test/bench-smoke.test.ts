/** The benchmark harness runs (a quick pass, not a measurement) and writes its JSON. */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mergePasses, recheckSlowRows, type BenchOptions, type GroupResult, type Row } from '../bench/harness';

describe('the benchmark harness', function () {
  this.timeout(120000);
  it('--recheck measures the rows under 1x again alone and reports both ratios, keeping the run\'s rows', async () => {
    const timing = (ms: number) => ({ medianMs: ms, minMs: ms, maxMs: ms, repeats: 5 });
    const row = (name: string, ours: number, torch: number, blas?: number): Row =>
      ({ case: name, threads: 2, ours: timing(ours), references: { PyTorch: timing(torch), OpenBLAS: blas === undefined ? undefined : timing(blas) } });
    const result: GroupResult = { rows: [row('slow a', 2, 1), row('fast b', 1, 2), row('slow c', 1, 3, 0.5)], notes: [] };
    const asked: (string[] | undefined)[] = [];
    let pass = 0;
    // Alone, "slow a" is 1.25x on its best pass (ours 1.0 ms at best, PyTorch 1.25 at best), "slow c" is not rerun.
    const run = async (opts: BenchOptions): Promise<GroupResult> => {
      asked.push(opts.only);
      pass++;
      return { rows: [row('slow a', pass === 2 ? 1.0 : 1.5, pass === 3 ? 1.25 : 1.4)], notes: [] };
    };
    const lines = await recheckSlowRows(run, { threads: [2], quick: false }, result, 3);
    expect(asked).to.deep.equal([['slow a', 'slow c'], ['slow a', 'slow c'], ['slow a', 'slow c']]);
    expect(lines[0]).to.match(/3 passes of both sides/);
    expect(lines.slice(1)).to.deep.equal([
      '    slow a, 2 thr, against PyTorch: 0.50x in the run, 1.25x (ours 1.000 ms, PyTorch 1.250 ms)',
      '    slow c, 2 thr, against OpenBLAS: 0.50x in the run, not measured alone (the group runs this case only as part of a section)',
    ]);
    expect(result.recheck!.map((r) => [r.case, r.ours.medianMs])).to.deep.equal([['slow a', 1.0]]);
    expect(result.rows[0].ours.medianMs).to.equal(2);   // the run's figures stay
    expect(await recheckSlowRows(run, { threads: [2], quick: false }, { rows: [row('fast', 1, 2)], notes: [] }, 3)).to.deep.equal([]);
  });

  it('runs the gemm group quickly and writes JSON', () => {
    const root = path.resolve(__dirname, '..', '..');
    const json = path.join(os.tmpdir(), `convnet-bench-${process.pid}.json`);
    try {
      const out = execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), 'gemm', '--quick', '--threads', '1', '--json', json], { encoding: 'utf8' });
      expect(out).to.match(/gemm 64x64x64\s+1\s+[\d.]+/);
      const result = JSON.parse(fs.readFileSync(json, 'utf8'));
      expect(result.results.gemm.rows.length).to.be.above(0);
      expect(result.results.gemm.rows[0].ours.medianMs).to.be.above(0);
    } finally {
      fs.rmSync(json, { force: true });
      fs.rmSync(json.replace(/\.json$/, '.svg'), { force: true });
    }
  });

  it('runs every group once (--quick), each with a table and our timings', () => {
    const root = path.resolve(__dirname, '..', '..');
    const json = path.join(os.tmpdir(), `convnet-bench-all-${process.pid}.json`);
    try {
      execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), '--quick', '--threads', '1', '--json', json], { encoding: 'utf8' });
      const result = JSON.parse(fs.readFileSync(json, 'utf8'));
      for (const group of ['gemm', 'loss', 'pool', 'layers', 'ops', 'models', 'responsiveness']) {
        expect(result.results[group]?.rows.length, group).to.be.above(0);
        for (const row of result.results[group].rows) expect(row.ours.medianMs, `${group}: ${row.case}`).to.be.above(0);
      }
      for (const row of result.results.gemm.rows) expect(row.peakFraction, row.case).to.be.within(0, 1);
      const cases = result.results.models.rows.map((r: { case: string }) => r.case);
      for (const c of ['lenet5 train step b64', 'lenet5 inference b1', 'lenet5 inference b1000', 'alexnet64 train step b4', 'resnet18 train step b4', 'resnet18 inference b1', 'resnet18 inference b4', 'resnet50 inference b1 64x64', 'resnet50 inference b1 64x64 fused', 'googlenet inference b1 64x64', 'googlenet train step b2 64x64 (aux)', 'inception_v3 inference b1 96x96', 'densenet121 inference b1 64x64', 'mobilenet_v2 inference b1 64x64 fused']) expect(cases).to.include(c);
      expect(cases.some((c: string) => c.startsWith('lenet5 train epoch b64'))).to.equal(true);
      // TensorFlow.js beside LeNet-5 and GEMM: its plain-JavaScript backend everywhere, its wasm
      // backend where it has the kernels (no convolution gradients), and a note saying so
      const lenet = (name: string) => result.results.models.rows.find((r: { case: string }) => r.case === name);
      expect(lenet('lenet5 train step b64').references['TF.js cpu'].medianMs).to.be.above(0);
      expect(lenet('lenet5 train step b64').references['TF.js wasm']).to.equal(undefined);
      expect(result.results.models.notes.join('\n')).to.match(/TF\.js wasm cannot run lenet5 train step b64: .*Conv2DBackpropFilter/);
      for (const name of ['lenet5 inference b1', 'lenet5 inference b1000']) {
        for (const column of ['TF.js wasm', 'TF.js cpu']) expect(lenet(name).references[column].medianMs, `${name}: ${column}`).to.be.above(0);
      }
      for (const row of result.results.gemm.rows) expect(row.references['TF.js wasm'].medianMs, row.case).to.be.above(0);
      const delay = result.results.responsiveness.rows.find((r: { case: string }) => r.case.endsWith('event-loop delay p99'));
      expect(delay.references.naive.medianMs).to.be.above(0);
      // the chart beside the JSON: one bar per case with a reference, each with its ratio
      const svg = fs.readFileSync(json.replace(/\.json$/, '.svg'), 'utf8');
      expect(svg).to.match(/^<svg /);
      expect(svg).to.include('data-case="gemm 64x64x64"');
      expect(svg).to.match(/data-group="models" data-case="lenet5 train step b64" data-threads="1" data-ratio="[\d.]+"/);
    } finally {
      fs.rmSync(json, { force: true });
      fs.rmSync(json.replace(/\.json$/, '.svg'), { force: true });
    }
  });

  it('--only runs the cases whose name contains a word, in every group it names', () => {
    const root = path.resolve(__dirname, '..', '..');
    const json = path.join(os.tmpdir(), `convnet-bench-only-${process.pid}.json`);
    try {
      const out = execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), 'layers', 'loss', 'gemm', '--only', 'dropout,gemm 128x,tripletMarginLoss', '--quick', '--threads', '1', '--json', json], { encoding: 'utf8' });
      const result = JSON.parse(fs.readFileSync(json, 'utf8'));
      const cases = (group: string) => result.results[group].rows.map((r: { case: string }) => r.case);
      expect(cases('layers')).to.deep.equal(['dropout .5 fwd [64,4096]', 'dropout .5 bwd [64,4096]']);
      expect(cases('gemm')).to.deep.equal(['gemm 128x128x128']);
      expect(cases('loss').length).to.be.above(0);
      for (const c of cases('loss')) expect(c).to.include('tripletMarginLoss');
      expect(out).to.not.match(/responsiveness/);
    } finally {
      fs.rmSync(json, { force: true });
      fs.rmSync(json.replace(/\.json$/, '.svg'), { force: true });
    }
  });

  it('merges passes: each side from its own lowest median, min and max over all', () => {
    const t = (medianMs: number, minMs: number, maxMs: number) => ({ medianMs, minMs, maxMs, repeats: 10 });
    const pass = (ours: number, torch: number, note: string) => ({
      rows: [{ case: 'a', threads: 2, flops: 2e6, peakFraction: 0.5, ours: t(ours, ours - 1, ours + 1), references: { PyTorch: t(torch, torch - 1, torch + 5) } }],
      notes: ['same', note], peakGflops: { 2: ours === 3 ? 1 : 2 },
    });
    const m = mergePasses([pass(3, 9, 'one'), pass(5, 7, 'two')]);
    expect(m.rows[0].ours).to.deep.equal({ medianMs: 3, minMs: 2, maxMs: 6, repeats: 20 });
    expect(m.rows[0].references.PyTorch).to.deep.equal({ medianMs: 7, minMs: 6, maxMs: 14, repeats: 20 });
    expect(m.peakGflops).to.deep.equal({ 2: 2 });
    expect(m.rows[0].peakFraction).to.be.closeTo(2e6 / 3e6 / 2, 1e-12); // against the highest peak
    expect(m.notes.slice(0, 3)).to.deep.equal(['same', 'one', 'pass 2: two']);
  });

  it('refuses an unknown group or option with a message and a non-zero exit', () => {
    const root = path.resolve(__dirname, '..', '..');
    // (the --device cases are refused before anything runs, with or without a GPU)
    for (const args of [['nope'], ['--bogus'], ['--threads', '0'], ['--device', 'tpu'], ['gemm', '--device', 'cuda'], ['conv', '--device', 'cuda', '--cudnn-benchmark', 'yes'], ['gemm', '--passes', '0'], ['gemm', '--only']]) {
      let failed = false;
      try {
        execFileSync(process.execPath, [path.join(root, 'dist', 'bench', 'run.js'), ...args], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        failed = true;
        expect(String((e as { stderr: string }).stderr)).to.match(/^bench: /);
      }
      expect(failed, args.join(' ')).to.equal(true);
    }
  });
});
