/**
 * Normal and Student t distribution functions for the compare statistics. Thin, validated wrappers
 * around @stdlib (well-kept, typed, agrees with scipy.stats.norm / scipy.stats.t to ~1e-15), so
 * that the rest of src/report/stats depends on one small interface rather than on the library.
 */
import normalCdfStdlib from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantileStdlib from "@stdlib/stats-base-dists-normal-quantile";
import tQuantileStdlib from "@stdlib/stats-base-dists-t-quantile";

/** Standard normal CDF Φ(z). Φ(±∞) = 1 / 0. */
export function normalCdf(z: number): number {
  return normalCdfStdlib(z, 0, 1);
}

/** Standard normal survival function 1 − Φ(z), computed as Φ(−z) so the far tail keeps its precision. */
export function normalSf(z: number): number {
  return normalCdfStdlib(-z, 0, 1);
}

/** Standard normal quantile Φ⁻¹(p) for 0 ≤ p ≤ 1 (±∞ at the ends). */
export function normalQuantile(p: number): number {
  checkProbability(p);
  return normalQuantileStdlib(p, 0, 1);
}

/**
 * Student t quantile with `df` degrees of freedom (any real df > 0, e.g. Welch–Satterthwaite);
 * df = ∞ gives the normal quantile (the @stdlib function returns NaN there).
 */
export function tQuantile(p: number, df: number): number {
  checkProbability(p);
  if (!(df > 0)) throw new RangeError(`t quantile needs df > 0, got ${df}`);
  if (df === Number.POSITIVE_INFINITY) return normalQuantileStdlib(p, 0, 1);
  return tQuantileStdlib(p, df);
}

function checkProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0, 1], got ${p}`);
}
