/**
 * Latency histograms: HdrHistograms in MICROSECONDS (1 µs .. 60 s, 3 significant digits), their
 * compressed-base64 encoding (worker -> main thread, and in the result file), merging, and the
 * latency figures of the result file. Percentiles are only ever computed from merged histograms,
 * never averaged.
 */
import * as hdr from "hdr-histogram-js";
import type { LatencyStats } from "./types.js";

export type Histogram = hdr.Histogram;

export const LATENCY_LOWEST_US = 1;
export const LATENCY_HIGHEST_US = 60_000_000;
export const LATENCY_DIGITS = 3;

/** An empty latency histogram (µs). Fixed range: values are clamped by `recordUs`, never resized. */
export function newLatencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: LATENCY_LOWEST_US,
    highestTrackableValue: LATENCY_HIGHEST_US,
    numberOfSignificantValueDigits: LATENCY_DIGITS,
    autoResize: false,
    bitBucketSize: 32,
  });
}

/** Records one latency in µs, rounded and clamped into 1 .. 60 s (hot path: no allocation). */
export function recordUs(h: Histogram, us: number): void {
  let v = Math.round(us);
  if (v < LATENCY_LOWEST_US) v = LATENCY_LOWEST_US;
  else if (v > LATENCY_HIGHEST_US) v = LATENCY_HIGHEST_US;
  h.recordValue(v);
}

/** HdrHistogram V2 compressed encoding, base64 ("HISTF..."), as other HdrHistogram tools read it. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false, LATENCY_HIGHEST_US);
  // Normalise to our fixed range so that merges never resize (a histogram of ours already is: it
  // was decoded with 32-bit buckets, like newLatencyHistogram's).
  if (hasLatencyLayout(decoded)) return decoded;
  const h = newLatencyHistogram();
  h.add(decoded);
  return h;
}

function hasLatencyLayout(h: Histogram): boolean {
  const j = h as unknown as hdr.JsHistogram;
  return (
    j.lowestDiscernibleValue === LATENCY_LOWEST_US &&
    j.highestTrackableValue === LATENCY_HIGHEST_US &&
    j.numberOfSignificantValueDigits === LATENCY_DIGITS &&
    !j.autoResize
  );
}

/** Scratch of packHistogram: room for every bucket of the layout as an (index, count) pair. */
let packScratch = new Float64Array(0);

/**
 * A histogram of newLatencyHistogram()'s layout as its non-empty buckets, [index, count, index,
 * count, ...]: the form a worker's per-second histograms cross to the runner in (postMessage,
 * transferable). Unlike the compressed encoding it needs no zlib stream, whose ~256 KiB of state
 * is fresh memory (a page fault per 4 KiB) every time, once a second per histogram.
 */
export function packHistogram(h: Histogram): Float64Array {
  const j = h as unknown as hdr.JsHistogram;
  if (j.totalCount === 0) return new Float64Array(0);
  const n = j.countsArrayLength;
  if (packScratch.length < 2 * n) packScratch = new Float64Array(2 * n);
  const scratch = packScratch;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = j.getCountAtIndex(i);
    if (c !== 0) {
      scratch[k++] = i;
      scratch[k++] = c;
    }
  }
  return scratch.slice(0, k);
}

/** Adds a packHistogram() of a histogram of the same layout into `into` (exact, bucket by bucket). */
export function addPacked(into: Histogram, packed: Float64Array): void {
  const j = into as unknown as hdr.JsHistogram;
  for (let k = 0; k + 1 < packed.length; k += 2)
    j.recordValueWithCount(j.valueFromIndex(packed[k]!), packed[k + 1]!);
}

/** Adds `from` into `into` (exact: counts per bucket add up). */
export function mergeInto(into: Histogram, from: Histogram): void {
  if (from.totalCount > 0) into.add(from);
}

export function mergeHistograms(parts: Histogram[]): Histogram {
  const h = newLatencyHistogram();
  for (const p of parts) mergeInto(h, p);
  return h;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function latencyStats(h: Histogram): LatencyStats {
  if (h.totalCount === 0) {
    return { min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, p99_99: 0, max: 0 };
  }
  return {
    // the lowest value equivalent to the smallest recorded one: stable across encode/decode, like max
    min: h.getValueAtPercentile(0),
    mean: round2(h.mean),
    stddev: round2(h.stdDeviation),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p99_9: h.getValueAtPercentile(99.9),
    p99_99: h.getValueAtPercentile(99.99),
    // the highest value equivalent to the largest recorded one: the same before and after a merge
    max: h.getValueAtPercentile(100),
  };
}
