/**
 * LeNet-5 trained on MNIST with the default recipe on each device, the same seed, and the
 * test accuracies compared: `node dist/bench/lenet5-devices.js [--devices cpu,cuda]
 * [--epochs 3] [--seed 0] [--min-accuracy 0.99] [--tolerance 0.003] [--json out.json]`.
 *
 * The weights start equal on every device (initialised on the CPU, then moved) and the loader
 * shuffles and augments alike, so the devices differ only by float rounding (cuDNN's
 * algorithms, TF32 convolutions): the accuracies should agree to about the seed-to-seed spread
 * (99.15–99.32% over seeds 0–4 on the CPU). PASS when every device trained where asked, the
 * last device's accuracy is at least --min-accuracy (default 0.99 for 3 or more epochs, else
 * none), and every device is within --tolerance (default 0.003: 0.3 percentage points) of the
 * first. Prints the images/s of the fastest epoch (the first pays for warm-up: cuDNN's
 * algorithm search, the allocator filling its cache). Exit status 0 on PASS, 1 otherwise.
 * scripts/gpu/test-gpu.sh runs it as `--devices cpu,cuda`.
 */
import * as fs from 'fs';
import * as cc from '../lib';

interface DeviceResult {
  device: string;
  trainedOn?: string;
  testAccuracy?: number;
  epochSeconds?: number[];
  imagesPerSecond?: number;
  seconds?: number;
  error?: string;
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1] ?? '';
    i++;
  }
  return out;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const known = ['devices', 'epochs', 'seed', 'min-accuracy', 'tolerance', 'json'];
  for (const k of Object.keys(a)) if (!known.includes(k)) throw new Error(`unknown option --${k} (expected ${known.map((n) => `--${n}`).join(', ')})`);
  const devices = (a.devices ?? 'cpu,cuda').split(',') as ('cpu' | 'cuda')[];
  for (const d of devices) if (d !== 'cpu' && d !== 'cuda') throw new Error(`--devices: expected cpu and/or cuda, got ${d}`);
  const epochs = Number(a.epochs ?? cc.models.LeNet5.defaultRecipe.epochs);
  const seed = Number(a.seed ?? 0);
  const minAccuracy = a['min-accuracy'] !== undefined ? Number(a['min-accuracy']) : epochs >= 3 ? 0.99 : 0;
  const tolerance = Number(a.tolerance ?? 0.003);
  console.log(`LeNet-5 on MNIST (60k train, 10k test), recipe ${JSON.stringify({ ...cc.models.LeNet5.defaultRecipe, epochs, seed })}, ` +
    `${cc.getNumThreads()} CPU threads; devices ${devices.join(', ')}`);
  const train = cc.data.mnist({ split: 'train' });
  const test = cc.data.mnist({ split: 'test' });
  const results: DeviceResult[] = [];
  for (const device of devices) {
    const r: DeviceResult = { device };
    results.push(r);
    try {
      const out = await cc.models.trainLeNet5({ device, epochs, seed, train, test, verbose: 0 });
      r.trainedOn = `${out.device} (parameters on ${out.model.device})`;
      if (out.device !== device || out.model.device !== device) throw new Error(`asked for ${device}, trained on ${r.trainedOn}`);
      r.testAccuracy = out.testAccuracy;
      r.epochSeconds = out.history.seconds;
      r.imagesPerSecond = train.length / Math.min(...out.history.seconds);
      r.seconds = out.seconds;
      out.model.dispose();
      console.log(`${device.padEnd(5)} test accuracy ${(100 * r.testAccuracy).toFixed(2)}%  epochs ${r.epochSeconds.map((s) => s.toFixed(2)).join(' / ')} s  ` +
        `fastest epoch ${r.imagesPerSecond.toFixed(0)} images/s  (${r.seconds.toFixed(1)} s with the evaluation)`);
    } catch (e) {
      r.error = `${(e as { code?: string }).code ?? 'Error'}: ${(e as Error).message}`;
      console.log(`${device.padEnd(5)} FAILED: ${r.error}`);
    }
  }
  const problems: string[] = [];
  for (const r of results) if (r.error) problems.push(`${r.device}: ${r.error.split('\n')[0]}`);
  const first = results[0], last = results[results.length - 1];
  if (!last.error && minAccuracy > 0 && last.testAccuracy! < minAccuracy) {
    problems.push(`${last.device}: test accuracy ${(100 * last.testAccuracy!).toFixed(2)}% is under ${(100 * minAccuracy).toFixed(2)}%`);
  }
  for (const r of results.slice(1)) {
    if (r.error || first.error) continue;
    const diff = r.testAccuracy! - first.testAccuracy!;
    console.log(`${r.device} - ${first.device}: ${(100 * diff).toFixed(2)} percentage points (tolerance ${(100 * tolerance).toFixed(2)})` +
      (r.imagesPerSecond && first.imagesPerSecond ? `; speed ${(r.imagesPerSecond / first.imagesPerSecond).toFixed(2)}x ${first.device}'s` : ''));
    if (Math.abs(diff) > tolerance) problems.push(`${r.device} differs from ${first.device} by ${(100 * diff).toFixed(2)} points`);
  }
  if (a.json) fs.writeFileSync(a.json, JSON.stringify({ epochs, seed, minAccuracy, tolerance, results, problems }, null, 2));
  console.log(problems.length ? `LENET5 FAIL: ${problems.join('; ')}` : 'LENET5 PASS');
  return problems.length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(`lenet5-devices: ${(e as Error).message}`);
  process.exitCode = 1;
});
