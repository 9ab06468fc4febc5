/**
 * A small, fast, seeded PRNG: xoshiro128** (Blackman & Vigna) on 32-bit integers, seeded
 * through splitmix32 from (seed, stream). Drawing allocates nothing. Not for cryptography.
 */

/** splitmix32-style finaliser: a good 32-bit hash of a 32-bit integer. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Different `stream` values give independent sequences for the same seed (one per worker). */
  constructor(seed: number, stream = 0) {
    // Fold the full seed (it may exceed 32 bits) and the stream into four non-zero words.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let s = mix32(lo ^ mix32(hi ^ mix32(stream >>> 0)));
    this.a = s = mix32(s + 1);
    this.b = s = mix32(s + 2);
    this.c = s = mix32(s + 3);
    this.d = mix32(s + 4);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^53 (bias below n / 2^53). */
  nextBelow(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A generator seeded from (seed, stream). */
export function createRng(seed: number, stream = 0): Rng {
  return new Rng(seed, stream);
}
