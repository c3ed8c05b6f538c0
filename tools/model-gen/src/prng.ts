// Seeded pseudo-random numbers, so model weights are a pure function of a seed.
//
// mulberry32 is a tiny 32-bit generator: good enough statistical quality for
// weight initialisation, and it uses only 32-bit integer operations, which
// behave identically in every JS engine. Math.random() is never used.

export interface Rng {
  /** Uniform in [0, 1), 2^-32 resolution. */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
}

/** The raw mulberry32 step: returns a function yielding uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded generator with normal sampling by the Marsaglia polar method.
 * The polar method needs only sqrt (exactly rounded by IEEE 754) and log
 * (V8 uses the same fdlibm port on every platform), so samples are
 * reproducible bit for bit; it also avoids the sin/cos of Box-Muller.
 * Each accepted pair yields two samples; the second one is cached.
 */
export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  let spare: number | undefined;
  return {
    uniform: next,
    normal(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      for (;;) {
        const u = 2 * next() - 1;
        const v = 2 * next() - 1;
        const s = u * u + v * v;
        if (s > 0 && s < 1) {
          const m = Math.sqrt((-2 * Math.log(s)) / s);
          spare = v * m;
          return u * m;
        }
      }
    },
  };
}

/** `n` independent N(0, std^2) samples. */
export function normals(rng: Rng, n: number, std: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}
