/**
 * The examples' seeded generator for the data they make and sample (scenes, shapes, batches):
 * mulberry32, a small 32-bit generator that gives the same numbers on every machine. The
 * library's own generator (Philox, `manualSeed`) is left to the model's initialisation.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
