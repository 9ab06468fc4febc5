/**
 * Deterministic pseudo-random latencies (µs) for histogram tests: xorshift32, spread over
 * `decades` powers of ten: 1 µs up to 10^(decades − 1) µs (7: up to 1 s, 8: up to 10 s).
 */
export function latencyValues(n: number, seed: number, decades = 7): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const exp = x % decades;
    out.push(1 + ((x >>> 3) % 10 ** exp));
  }
  return out;
}
