#!/usr/bin/python3
"""Independent reference values for test/report/stats.test.ts, computed with Debian's python3-scipy.

Reads one JSON object of cases on stdin and writes the results as JSON on stdout:
  mwu:   scipy.stats.mannwhitneyu(x, y, alternative=..., method=...) (use_continuity=True)
  ucdf:  the exact null CDF of U by brute-force enumeration of all C(m+n, m) rank sets
  hl:    Hodges-Lehmann estimate and interval: the sorted y_j - x_i, k from the brute-force
         exact U distribution (exact Fractions) or, for large m*n, the normal approximation
  norm / t: scipy.stats.norm.ppf, scipy.stats.norm.sf, scipy.stats.t.ppf
  bm:    batch means with numpy.array_split batches and the batch-count rule of batch-means.ts
Run: /usr/bin/python3 test/report/stats-oracle.py < cases.json
"""
import itertools
import json
import math
import sys
from fractions import Fraction

import numpy as np
from scipy import stats

EXACT_MAX_PRODUCT = 10_000


def brute_u_counts(m, n):
    """counts[k] = number of ways the x's take m of the m+n ranks so that U_x = k."""
    counts = [0] * (m * n + 1)
    total = m + n
    for xs in itertools.combinations(range(total), m):
        # U of x = number of (x, y) pairs with x above y = sum over x of the y's below it
        u = sum(pos - i for i, pos in enumerate(xs))
        counts[u] += 1
    return counts


def ucdf(case):
    m, n = case["m"], case["n"]
    counts = brute_u_counts(m, n)
    total = math.comb(m + n, m)
    out, acc = [], 0
    for c in counts:
        acc += c
        out.append(acc / total)
    return out


def hl(case):
    x, y, conf = case["x"], case["y"], case["confidence"]
    m, n = len(x), len(y)
    d = sorted(yj - xi for xi in x for yj in y)
    est = float(np.median(d))
    mn = m * n
    half = (1 - conf) / 2
    if mn <= EXACT_MAX_PRODUCT and math.comb(m + n, m) <= 2_000_000:
        counts = brute_u_counts(m, n)
        total = math.comb(m + n, m)
        half_frac = Fraction(half)
        k, acc = 0, 0
        while k < mn and Fraction(acc + counts[k], total) <= half_frac:
            acc += counts[k]
            k += 1
        achieved = 1 - 2 * acc / total
        method = "exact"
    else:
        sd = math.sqrt(mn * (m + n + 1) / 12)
        z = stats.norm.ppf(1 - half)
        k = max(0, math.floor(mn / 2 + 0.5 - z * sd))
        achieved = 1 - 2 * stats.norm.cdf((k - 0.5 - mn / 2) / sd) if k > 0 else 1.0
        method = "asymptotic"
    lo = d[k - 1] if k > 0 else None
    hi = d[mn - k] if k > 0 else None
    return {"estimate": est, "lower": lo, "upper": hi, "k": k, "confidence": achieved, "method": method}


def lag1(v):
    v = np.asarray(v, dtype=float)
    dev = v - v.mean()
    den = float(np.dot(dev, dev))
    return 0.0 if den == 0 else float(np.dot(dev[:-1], dev[1:]) / den)


def bm(case):
    s = np.asarray(case["series"], dtype=float)
    n = len(s)
    most = min(10, n // 2)
    least = min(5, most)
    chosen = least
    for b in range(most, least, -1):
        means = [c.mean() for c in np.array_split(s, b)]
        if lag1(means) <= 0.2:
            chosen = b
            break
    means = np.array([c.mean() for c in np.array_split(s, chosen)])
    return {
        "batches": chosen,
        "mean": float(s.mean()),
        "se": float(means.std(ddof=1) / math.sqrt(chosen)),
        "df": chosen - 1,
        "lag1": lag1(means) if chosen >= 3 else None,
        "means": means.tolist(),
    }


def logstat(values):
    logs = np.log(np.asarray(values, dtype=float))
    return {"logMean": float(logs.mean()), "se": float(logs.std(ddof=1) / math.sqrt(len(logs)))}


def main():
    cases = json.load(sys.stdin)
    out = {
        "mwu": [],
        "ucdf": [ucdf(c) for c in cases.get("ucdf", [])],
        "hl": [hl(c) for c in cases.get("hl", [])],
        "normPpf": [float(stats.norm.ppf(p)) for p in cases.get("normPpf", [])],
        "normSf": [float(stats.norm.sf(z)) for z in cases.get("normSf", [])],
        "tPpf": [float(stats.t.ppf(c["p"], c["df"])) for c in cases.get("tPpf", [])],
        "bm": [bm(c) for c in cases.get("bm", [])],
        "logstat": [logstat(c) for c in cases.get("logstat", [])],
    }
    for c in cases.get("mwu", []):
        r = stats.mannwhitneyu(c["x"], c["y"], alternative=c["alternative"], method=c.get("method", "auto"))
        out["mwu"].append({"u": float(r.statistic), "p": float(r.pvalue)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
