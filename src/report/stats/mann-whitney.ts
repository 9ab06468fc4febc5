/**
 * Mann–Whitney U (Wilcoxon rank-sum) test, matching scipy.stats.mannwhitneyu (scipy 1.10,
 * use_continuity=True): U is the statistic of `x` (number of pairs with x_i > y_j, ties counting
 * one half), "greater" means x tends to be larger than y. method "auto" is scipy's rule: exact
 * when at least one sample has at most 8 values and there are no ties, asymptotic otherwise.
 *
 * The exact null distribution of U comes from the recurrence (Mann & Whitney 1947)
 *   p(m, n, k) = m/(m+n) · p(m−1, n, k−n) + n/(m+n) · p(m, n−1, k),
 * "the largest of the m+n values is an x (it beats all n y's) or a y", evaluated on probabilities
 * (all terms positive, so no cancellation and no huge counts). The asymptotic p-value is the normal
 * approximation with the tie-corrected variance mn/12 · ((N+1) − Σ(t³−t)/(N(N−1))) and a continuity
 * correction of 1/2 (scipy's _get_mwu_z).
 */
import { normalSf } from "./distributions.js";

export type Alternative = "two-sided" | "less" | "greater";
export type MwuMethod = "exact" | "asymptotic";

export interface MannWhitneyResult {
  /** U of x, as scipy's `statistic`: R_x − m(m+1)/2. */
  u: number;
  pValue: number;
  method: MwuMethod;
}

/**
 * Largest m·n for which the exact distribution is computed (cost ~ (m·n)²/4 additions). Above it
 * the normal approximation is used even where scipy's rule would say exact (e.g. 8 against 2000);
 * at such sizes the two agree to a few parts in a thousand.
 */
export const EXACT_MAX_PRODUCT = 10_000;

/** Average ranks (1-based) of `values`, ties getting the mean of the ranks they span (scipy rankdata "average"). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i + 1;
    while (j < order.length && values[order[j]!] === values[order[i]!]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let t = i; t < j; t++) ranks[order[t]!] = rank;
    i = j;
  }
  return ranks;
}

/** Sizes of the groups of tied values (only groups of 2 or more). */
function tieGroups(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const groups: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > 1) groups.push(j - i);
    i = j;
  }
  return groups;
}

const cdfCache = new Map<string, Float64Array>();

/**
 * Exact null CDF of U for sample sizes (m, n) with no ties: element k is P(U ≤ k), k = 0 .. m·n.
 * The distribution is symmetric in (m, n) and about m·n/2. Results are cached (read-only).
 */
export function exactUCdfTable(m: number, n: number): Float64Array {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1) {
    throw new RangeError(`sample sizes must be positive integers, got ${m} and ${n}`);
  }
  if (m * n > EXACT_MAX_PRODUCT)
    throw new RangeError(`exact U distribution limited to m·n ≤ ${EXACT_MAX_PRODUCT}`);
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const key = `${small},${large}`;
  const cached = cdfCache.get(key);
  if (cached) return cached;
  // rows[i] = pmf of U for (i, j) at the current j; j grows from 0 to `large`, i runs 0 .. small.
  let rows: Float64Array[] = [];
  for (let i = 0; i <= small; i++) rows.push(Float64Array.of(1)); // j = 0: U is 0
  for (let j = 1; j <= large; j++) {
    const next: Float64Array[] = [Float64Array.of(1)]; // i = 0: U is 0
    for (let i = 1; i <= small; i++) {
      const pmf = new Float64Array(i * j + 1);
      const a = i / (i + j); // largest value is an x: U = j + U(i−1, j)
      const xTop = next[i - 1]!;
      for (let k = 0; k < xTop.length; k++) pmf[k + j] = a * xTop[k]!;
      const b = j / (i + j); // largest value is a y: U = U(i, j−1)
      const yTop = rows[i]!;
      for (let k = 0; k < yTop.length; k++) pmf[k] = pmf[k]! + b * yTop[k]!;
      next.push(pmf);
    }
    rows = next;
  }
  const pmf = rows[small]!;
  const cdf = new Float64Array(pmf.length);
  let acc = 0;
  for (let k = 0; k < pmf.length; k++) {
    acc += pmf[k]!;
    cdf[k] = acc;
  }
  // Symmetry makes P(U ≤ mn) exactly 1; remove the rounding drift of the running sum.
  for (let k = 0; k < cdf.length; k++) cdf[k] = Math.min(1, cdf[k]! / acc);
  cdfCache.set(key, cdf);
  return cdf;
}

/** Exact P(U ≤ k) under the null for sizes (m, n), no ties; k may be any real (floored). */
export function exactUCdf(k: number, m: number, n: number): number {
  if (k < 0) return 0;
  if (k >= m * n) return 1;
  return exactUCdfTable(m, n)[Math.floor(k)]!;
}

/**
 * Exact P(U ≥ k) under the null (includes the mass at k, as the p-value needs). A fractional k
 * (ties forced through method "exact") is floored first, as scipy does.
 */
export function exactUSf(k: number, m: number, n: number): number {
  // By symmetry P(U ≥ k) = P(U ≤ mn − k).
  return exactUCdf(m * n - Math.floor(k), m, n);
}

/** scipy's method="auto" choice (see the module comment), bounded by EXACT_MAX_PRODUCT. */
export function chooseMethod(x: readonly number[], y: readonly number[]): MwuMethod {
  if (x.length > 8 && y.length > 8) return "asymptotic";
  if (tieGroups([...x, ...y]).length > 0) return "asymptotic";
  if (x.length * y.length > EXACT_MAX_PRODUCT) return "asymptotic";
  return "exact";
}

/** Mann–Whitney U test of x against y (see the module comment for the conventions). */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  alternative: Alternative = "two-sided",
  method: MwuMethod | "auto" = "auto",
): MannWhitneyResult {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError("Mann–Whitney U needs at least one value on each side");
  const all = [...x, ...y];
  if (all.some((v) => Number.isNaN(v))) throw new RangeError("Mann–Whitney U: NaN in the samples");
  const chosen = method === "auto" ? chooseMethod(x, y) : method;
  const ranks = averageRanks(all);
  let rx = 0;
  for (let i = 0; i < m; i++) rx += ranks[i]!;
  const u1 = rx - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  // As scipy: the p-value is always an upper tail of the U that points the alternative's way.
  const u = alternative === "greater" ? u1 : alternative === "less" ? u2 : Math.max(u1, u2);
  const factor = alternative === "two-sided" ? 2 : 1;
  let p: number;
  if (chosen === "exact") {
    p = exactUSf(u, m, n);
  } else {
    const total = m + n;
    const tieTerm = tieGroups(all).reduce((s, t) => s + t ** 3 - t, 0);
    const sd = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
    const z = (u - (m * n) / 2 - 0.5) / sd;
    p = normalSf(z);
  }
  p = Math.min(1, Math.max(0, p * factor));
  return { u: u1, pValue: p, method: chosen };
}
