/**
 * GEMM: our sgemm (through matmul) beside OpenBLAS's through NumPy and PyTorch's torch.mm
 * (CPU), square sizes 64–2048, at each thread count. Target (issue 2): at least 80% of
 * OpenBLAS single-threaded at 256, 512 and 1024. PyTorch runs size by size, each right before
 * ours (bench/python_worker.ts); NumPy runs every size first, in a process of its own, because
 * OpenBLAS reads its thread count (OPENBLAS_NUM_THREADS) when it loads. TensorFlow.js's `tf.matMul`
 * (bench/tfjs.ts) runs every size first too, in a Node process of its own; its plain-JavaScript
 * backend only up to 512 (2048^3 would take minutes).
 */
import * as cc from '../lib';
import { pythonTimer, runPython, time, wanted, type BenchOptions, type Row, type Timing } from './harness';
import { torchCase } from './python_worker';
import { TFJS_BACKENDS, tfjsCases, tfjsColumn } from './tfjs';

const NUMPY_SCRIPT = (sizes: number[], quick: boolean) => `
import json
import numpy as np
${pythonTimer(quick, 0.3)}
out = {}
for n in ${JSON.stringify(sizes)}:
    a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
    out[str(n)] = timed(lambda: a @ b)
out["numpy"] = np.__version__
print(json.dumps(out))
`;

// The same products through torch.mm, timed the same way (each call on its own).
const TORCH_SCRIPT = (sizes: number[], threads: number, quick: boolean) => `
import json, re
import torch
${pythonTimer(quick, 0.3)}
torch.set_num_threads(${threads})
out = {}
for n in ${JSON.stringify(sizes)}:
    a = torch.rand(n, n); b = torch.rand(n, n)
    out[str(n)] = timed(lambda: torch.mm(a, b))
out["torch"] = torch.__version__
m = re.search(r"BLAS_INFO=([^,]+)", torch.__config__.show())
out["blas"] = m.group(1) if m else "unknown"
print(json.dumps(out))
`;

export async function benchGemm(opts: BenchOptions): Promise<{ rows: Row[]; notes: string[]; peakGflops: Record<number, number> }> {
  const sizes = (opts.quick ? [64, 128] : [64, 128, 256, 512, 1024, 2048]).filter((n) => wanted(opts, `gemm ${n}x${n}x${n}`));
  if (!sizes.length) return { rows: [], notes: [], peakGflops: {} };
  const rows: Row[] = [];
  const notes: string[] = [`our GEMM kernel: ${cc.backends().cpu.gemmKernel}`];
  const peaks: Record<number, number> = {};
  for (const threads of opts.threads) {
    const tfjs = Object.fromEntries(TFJS_BACKENDS.map((backend) => [backend, tfjsCases({
      threads, quick: opts.quick, gemm: backend === 'cpu' ? sizes.filter((n) => n <= 512) : sizes,
    }, backend, notes)]));
    const blas = runPython(NUMPY_SCRIPT(sizes, opts.quick), { OPENBLAS_NUM_THREADS: String(threads), OPENBLAS_VERBOSE: '2' });
    let reference: Record<string, Timing> = {};
    if ('error' in blas) {
      notes.push(`OpenBLAS (NumPy) not measured at ${threads} thread(s): ${blas.error}`);
    } else {
      reference = blas.result as Record<string, Timing>;
      const core = /Core: (\S+)/.exec(blas.stderr)?.[1] ?? 'unknown';
      notes.push(`OpenBLAS via NumPy ${(reference as unknown as { numpy: string }).numpy}, ${threads} thread(s), kernel ${core}`);
    }
    cc.setNumThreads(threads);
    for (const n of sizes) {
      // PyTorch's size right before ours: a slow spell on this shared machine falls on both sides.
      const torchTimes = (await torchCase<Record<string, Timing>>({ code: TORCH_SCRIPT([n], threads, opts.quick) }, threads, notes)) ?? {};
      const info = torchTimes as unknown as { torch?: string; blas: string };
      if (info.torch) {
        // torch.mm calls the BLAS PyTorch was built with: Debian's python3-torch says "generic",
        // the system's libblas.so.3 (the reference BLAS unless an optimised one is installed;
        // the header's line from torchBlasLine says which was loaded).
        const note = `PyTorch ${info.torch} (CPU), torch.mm through its BLAS (BLAS_INFO=${info.blas}${info.blas === 'generic' ? ': the system libblas.so.3' : ''}); OpenBLAS is the GEMM to beat`;
        if (!notes.includes(note)) notes.push(note);
      }
      const a = cc.rand([n, n]), b = cc.rand([n, n]);
      await cc.sync();
      // Each timed sample queues back-to-back products (at least ~100 MFLOP) and waits once, so
      // the figure is the steady-state throughput of a pipeline of ops, not one round trip.
      const inner = Math.max(1, Math.ceil(1e8 / (2 * n * n * n)));
      const t = await time(async () => {
        for (let i = 0; i < inner; i++) cc.matmul(a, b).dispose();
        await cc.sync();
      }, opts.quick ? { warmup: 1, minRepeats: 1, minTotalMs: 0 } : {});
      const perProduct = { medianMs: t.medianMs / inner, minMs: t.minMs / inner, maxMs: t.maxMs / inner, repeats: t.repeats };
      rows.push({ case: `gemm ${n}x${n}x${n}`, threads, flops: 2 * n * n * n, ours: perProduct, references: {
        OpenBLAS: reference[String(n)], PyTorch: torchTimes[String(n)],
        ...Object.fromEntries(TFJS_BACKENDS.map((b) => [tfjsColumn(b), tfjs[b][String(n)]])),
      } });
      a.dispose();
      b.dispose();
    }
    // The machine's measured peak at this thread count: the best GEMM rate seen (ours or
    // OpenBLAS, any size). Each row shows the fraction of it ours reaches.
    const mine = rows.filter((r) => r.threads === threads);
    const rates = mine.flatMap((r) => [r.ours, r.references.OpenBLAS].filter((t): t is Timing => t !== undefined).map((t) => r.flops! / (t.minMs * 1e6)));
    const peak = Math.max(...rates);
    for (const r of mine) r.peakFraction = r.flops! / (r.ours.medianMs * 1e6) / peak;
    peaks[threads] = peak;
    notes.push(`measured peak at ${threads} thread(s): ${peak.toFixed(1)} GFLOP/s (the fastest GEMM sample, ours or OpenBLAS, any size); %peak: our median rate over it`);
  }
  cc.setNumThreads(require('os').cpus().length);
  return { rows, notes, peakGflops: peaks };
}
