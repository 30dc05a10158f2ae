/**
 * Weights and inputs from an integer hash of the position, computed the same way by
 * test/fixtures/make/models.py: a whole network's weights are "shared" with PyTorch without
 * storing them in a fixture.
 */
import { add, tensor, type Tensor } from '../lib';
import type { Module } from '../lib/nn/module';

/** n float32 values in [-bound, bound): murmur3's finaliser over i * 0x9E3779B1 + seed (models.py's `hashed`). */
export function hashed(n: number, seed: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;   // unsigned again: ^ gives a signed 32-bit integer
    out[i] = (2 * (x / 4294967296) - 1) * bound;
  }
  return out;
}

/**
 * models.py's `fill`: float32 tensor k of the state dict gets seed k; weights U(±sqrt(6 / fanIn)),
 * everything else (biases, batch norm's statistics) U(±0.1). int32 buffers stay as they are.
 */
export function fillHashed(model: { stateDict(): Record<string, Tensor>; loadStateDict(s: Record<string, Tensor>): unknown }): void {
  const state = model.stateDict();
  const filled: Record<string, Tensor> = {};
  Object.entries(state).forEach(([name, t], k) => {
    if (t.dtype !== 'float32') {
      filled[name] = t;
      return;
    }
    const fanIn = t.rank > 1 ? t.size / t.shape[0] : 1;
    const bound = name.endsWith('weight') ? Math.sqrt(6 / fanIn) : 0.1;
    filled[name] = tensor(hashed(t.size, k, bound), { shape: t.shape });
    t.dispose();
  });
  model.loadStateDict(filled);
  for (const t of Object.values(filled)) t.dispose();
}

/**
 * fillHashed, then 1 added to every running variance (a hashed variance in [-0.1, 0.1) could be
 * negative): the fill of the batch-norm model fixtures (hashed.py's `fill_bn`).
 */
export function fillHashedBn(model: Module): void {
  fillHashed(model);
  const vars: Record<string, Tensor> = {};
  for (const [name, b] of model.namedBuffers()) if (name.endsWith('running_var')) vars[name] = add(b, 1);
  model.loadStateDict(vars, { strict: false });
  for (const t of Object.values(vars)) t.dispose();
}
