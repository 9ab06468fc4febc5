/**
 * Offset distributions for random jobs: each sampler draws a slot index in [0, n) from a
 * seeded Rng, allocation-free.
 *
 * - uniform: every slot equally likely.
 * - zipf:<theta>: slot of rank k has probability proportional to 1 / k^theta (theta > 0,
 *   theta = 1 allowed), sampled by rejection-inversion (Hörmann & Derflinger 1996, "Rejection-
 *   inversion to generate variates from monotone discrete distributions"): O(1) setup and O(1)
 *   expected time per draw for any n, unlike the precomputed-zeta method.
 * - pareto:<h>: fio's meaning: index = (n) * u^(log h / log(1 - h)), so that a fraction h of the
 *   slots receives a fraction (1 - h) of the accesses (h = 0.2: 80% of the I/O on 20% of the
 *   blocks). 0 < h < 1; h = 0.5 is uniform.
 * - normal:<percent>: fio's meaning: Gaussian centered on the middle of the region, standard
 *   deviation = percent of the region; draws outside the region are redrawn.
 *
 * Like fio (which hashes zipf/pareto ranks), the ranks of zipf and pareto are scattered over the
 * region by a fixed bijection, so the hot set is not one contiguous run at the region's start.
 */

import type { Rng } from "./rng.js";
import { mix32 } from "./rng.js";
import type { Distribution } from "./types.js";

export interface OffsetSampler {
  /** Number of slots. */
  readonly n: number;
  /** A slot index in [0, n). */
  next(rng: Rng): number;
}

/** Parses "uniform", "zipf:1.2", "pareto:0.2", "normal:10"; null when not one of them. */
export function parseDistribution(text: string): Distribution | null {
  if (text === "uniform") return { kind: "uniform" };
  const m = /^(zipf|pareto|normal):(\d+(?:\.\d+)?|\.\d+)$/.exec(text);
  if (!m) return null;
  const v = Number(m[2]);
  switch (m[1]) {
    case "zipf":
      return { kind: "zipf", theta: v };
    case "pareto":
      return { kind: "pareto", h: v };
    default:
      return { kind: "normal", percent: v };
  }
}

/** Why a parsed distribution's parameter is out of range, or null when it is fine. */
export function distributionRangeProblem(d: Distribution): string | null {
  switch (d.kind) {
    case "uniform":
      return null;
    case "zipf":
      return d.theta > 0 && d.theta <= 10 ? null : "expected zipf:<theta> with 0 < theta <= 10";
    case "pareto":
      return d.h > 0 && d.h < 1 ? null : "expected pareto:<h> with 0 < h < 1";
    case "normal":
      return d.percent > 0 && d.percent <= 100 ? null : "expected normal:<percent> with 0 < percent <= 100";
  }
}

/** "zipf:1.2" etc., the inverse of parseDistribution. */
export function formatDistribution(d: Distribution): string {
  switch (d.kind) {
    case "uniform":
      return "uniform";
    case "zipf":
      return `zipf:${d.theta}`;
    case "pareto":
      return `pareto:${d.h}`;
    case "normal":
      return `normal:${d.percent}`;
  }
}

/**
 * A sampler of slot indexes in [0, n). `scatterSeed` picks the bijection that spreads zipf and
 * pareto ranks over the slots (same seed, same hot set).
 */
export function createSampler(dist: Distribution, n: number, scatterSeed = 0): OffsetSampler {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`sampler needs at least one slot, got ${n}`);
  switch (dist.kind) {
    case "uniform":
      return { n, next: (rng) => rng.nextBelow(n) };
    case "zipf":
      return scattered(zipfRanks(n, dist.theta), n, scatterSeed);
    case "pareto":
      return scattered(paretoRanks(n, dist.h), n, scatterSeed);
    case "normal":
      return normalSampler(n, dist.percent);
  }
}

/** Rank sampler (0 = hottest) by rejection-inversion; exponent s > 0. */
function zipfRanks(n: number, s: number): OffsetSampler {
  // Notation of Apache Commons RNG's RejectionInversionZipfSampler, itself after Hörmann &
  // Derflinger: H is an integral of h(x) = x^-s, so that sampling x from H^-1 and rounding
  // gives k with probability ~ h(k); the acceptance test makes it exact.
  const hIntegral = (x: number): number => {
    const logX = Math.log(x);
    return helper2((1 - s) * logX) * logX;
  };
  const h = (x: number): number => Math.exp(-s * Math.log(x));
  const hIntegralInverse = (x: number): number => {
    let t = x * (1 - s);
    if (t < -1) t = -1; // numerical safety, as in the reference implementation
    return Math.exp(helper1(t) * x);
  };
  const hIntegralX1 = hIntegral(1.5) - 1;
  const hIntegralN = hIntegral(n + 0.5);
  const sCut = 2 - hIntegralInverse(hIntegral(2.5) - h(2));
  return {
    n,
    next(rng: Rng): number {
      for (;;) {
        const u = hIntegralN + rng.nextFloat() * (hIntegralX1 - hIntegralN);
        const x = hIntegralInverse(u);
        let k = Math.floor(x + 0.5);
        if (k < 1) k = 1;
        else if (k > n) k = n;
        if (k - x <= sCut || u >= hIntegral(k + 0.5) - h(k)) return k - 1;
      }
    },
  };
}

/** log1p(x) / x, accurate near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x) / x, accurate near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}

/** fio's pareto: rank = n * u^(log h / log(1 - h)) (lib/zipf.c, pareto_next). */
function paretoRanks(n: number, hParam: number): OffsetSampler {
  const power = Math.log(hParam) / Math.log(1 - hParam);
  return {
    n,
    next(rng: Rng): number {
      const k = Math.floor(n * rng.nextFloat() ** power);
      return k < n ? k : n - 1;
    },
  };
}

function normalSampler(n: number, percent: number): OffsetSampler {
  const center = n / 2;
  const stddev = (n * percent) / 100;
  return {
    n,
    next(rng: Rng): number {
      for (let attempt = 0; attempt < 64; attempt++) {
        // Box-Muller (one of the pair); 1 - u keeps the log argument in (0, 1].
        const u1 = 1 - rng.nextFloat();
        const u2 = rng.nextFloat();
        const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        const k = Math.floor(center + z * stddev);
        if (k >= 0 && k < n) return k;
      }
      return Math.floor(center); // practically unreachable: 64 draws outside the region
    },
  };
}

/**
 * Maps ranks to slots by slot = (rank * a + b) mod n with gcd(a, n) = 1: a bijection that
 * spreads neighbouring ranks about n * 0.618 apart. For n > 2^37 (64 TiB of 512-byte blocks)
 * the product would lose precision, and only the rotation by b is applied.
 */
function scattered(ranks: OffsetSampler, n: number, seed: number): OffsetSampler {
  if (n === 1) return ranks;
  const b = (mix32(seed ^ 0x5bd1e995) * 65536 + mix32(seed + 1)) % n;
  if (n > 2 ** 37) {
    return { n, next: (rng) => (ranks.next(rng) + b) % n };
  }
  let a = Math.max(1, Math.floor(n * 0.6180339887498949));
  while (gcd(a, n) !== 1) a++;
  if (a >= n) a = 1;
  // (r * a) mod n without exceeding 2^53: a = a2 * 2^32 + a1 * 2^16 + a0, Horner in base 2^16,
  // every partial product below n * 2^16 <= 2^53.
  const a2 = Math.floor(a / 4294967296);
  const a1 = Math.floor(a / 65536) % 65536;
  const a0 = a % 65536;
  return {
    n,
    next(rng: Rng): number {
      const r = ranks.next(rng);
      let m = (r * a2) % n;
      m = (((m * 65536) % n) + ((r * a1) % n)) % n;
      m = (((m * 65536) % n) + ((r * a0) % n)) % n;
      return (m + b) % n;
    },
  };
}

function gcd(x: number, y: number): number {
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}
