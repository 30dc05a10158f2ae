// A float64 model of 8-bit dynamic quantization's recipe (Note [dynamic quantization],
// native/cpu/quantize.h), float32 roundings and all, so that it gives our layers' bits: the
// reference of test/nn-quantized.test.ts and test/nn-quantized-rnn.test.ts.

export const f = Math.fround;

/** nearbyint in the default rounding mode: halves to even. */
export function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
export const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** The weights' recipe: per row, scale = max|w| / 127.5, q = clamp(rint(w / scale), -128, 127). */
export function quantizeWeightRows(w: Float32Array, O: number, K: number): { q: Int32Array; scale: number[]; sum: number[] } {
  const q = new Int32Array(O * K), scale: number[] = [], sum: number[] = [];
  for (let o = 0; o < O; o++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(w[o * K + k]));
    const s = amax > 0 ? f(amax / 127.5) : 1;
    let total = 0;
    for (let k = 0; k < K; k++) total += q[o * K + k] = clampTo(rint(f(w[o * K + k] / s)), -128, 127);
    scale.push(s);
    sum.push(total);
  }
  return { q, scale, sum };
}

/** The activations' recipe: one scale and zero point from the range of all of x, 7 bits. */
export function quantizeActivations(x: Float32Array): { q: Int32Array; scale: number; zero: number } {
  let lo = 0, hi = 0;
  for (const v of x) lo = Math.min(lo, v), hi = Math.max(hi, v);
  let scale = f(f(hi - lo) / 127), inv = f(1 / scale);
  if (!(scale > 0) || !Number.isFinite(inv)) scale = 1, inv = 1;
  const zero = clampTo(rint(f(-lo / scale)), 0, 127);
  return { q: Int32Array.from(x, (v) => clampTo(rint(f(v * inv)) + zero, 0, 127)), scale, zero };
}

/** out = f(f(sx * sw[o]) * f(acc - zero * sum[o])) + b[o]: the epilogue's float32 arithmetic. */
export const dequantize = (acc: number, sx: number, zero: number, sw: number, sum: number, b: number) => f(f(f(sx * sw) * f(acc - zero * sum)) + b);

export function refLinear(x: Float32Array, M: number, K: number, w: Float32Array, O: number, b: Float32Array | null): Float32Array {
  const a = quantizeActivations(x), wq = quantizeWeightRows(w, O, K);
  const y = new Float32Array(M * O);
  for (let m = 0; m < M; m++)
    for (let o = 0; o < O; o++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a.q[m * K + k] * wq.q[o * K + k];
      y[m * O + o] = dequantize(acc, a.scale, a.zero, wq.scale[o], wq.sum[o], b ? b[o] : 0);
    }
  return y;
}
