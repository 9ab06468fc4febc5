import { describe, expect, it } from "vitest";
import {
  addPacked,
  decodeHistogram,
  encodeHistogram,
  LATENCY_HIGHEST_US,
  latencyStats,
  mergeHistograms,
  mergeInto,
  newLatencyHistogram,
  packHistogram,
  recordUs,
} from "../../src/result/histogram.js";
import {
  addPackedOp,
  decodeOp,
  encodeOp,
  newOpAccumulator,
  packOp,
  summarizeOp,
} from "../../src/result/op.js";
import { latencyValues } from "../helpers/latency-values.js";

const values = (n: number, seed: number): number[] => latencyValues(n, seed, 7);

describe("latency histograms", () => {
  it("merging per-worker histograms equals one histogram fed all values", () => {
    const parts = [values(5000, 1), values(3000, 2), values(7000, 3)];
    const single = newLatencyHistogram();
    const perWorker = parts.map((vs) => {
      const h = newLatencyHistogram();
      for (const v of vs) {
        recordUs(h, v);
        recordUs(single, v);
      }
      return h;
    });
    // merge after an encode/decode round trip, as the worker -> main transfer does
    const merged = mergeHistograms(perWorker.map((h) => decodeHistogram(encodeHistogram(h))));
    expect(merged.totalCount).toBe(15000);
    expect(latencyStats(merged)).toEqual(latencyStats(single));
    for (const p of [1, 25, 50, 75, 90, 99, 99.9, 99.99, 100]) {
      expect(merged.getValueAtPercentile(p)).toBe(single.getValueAtPercentile(p));
    }
    expect(encodeHistogram(merged)).toBe(encodeHistogram(single));
  });

  it("keeps 3 significant digits from 1 µs to 60 s and clamps outside", () => {
    const h = newLatencyHistogram();
    recordUs(h, 0.2);
    recordUs(h, 123_456);
    recordUs(h, 3_600_000_000);
    expect(h.minNonZeroValue).toBe(1);
    expect(Math.abs(h.getValueAtPercentile(50) - 123_456) / 123_456).toBeLessThan(0.001);
    expect(h.maxValue).toBeGreaterThanOrEqual(LATENCY_HIGHEST_US * 0.999);
    expect(h.maxValue).toBeLessThanOrEqual(LATENCY_HIGHEST_US * 1.001);
  });

  it("the encoding is HdrHistogram compressed base64 and round-trips", () => {
    const h = newLatencyHistogram();
    for (const v of values(1000, 9)) recordUs(h, v);
    const s = encodeHistogram(h);
    expect(s.startsWith("HISTF")).toBe(true);
    expect(Buffer.from(s, "base64").readUInt32BE(0)).toBe(0x1c849314); // V2 compressed cookie: base 0x1c849304 | 0x10
    const d = decodeHistogram(s);
    expect(d.totalCount).toBe(1000);
    expect(d.getValueAtPercentile(100)).toBe(h.getValueAtPercentile(100));
  });

  it("summarizes an operation: rates from counts, percentiles ordered", () => {
    const lat = newLatencyHistogram();
    const svc = newLatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      recordUs(lat, i * 10);
      recordUs(svc, i);
    }
    const op = summarizeOp(lat, svc, 1000, 4096 * 1000, 2);
    expect(op.ios).toBe(1000);
    expect(op.iops).toBe(500);
    expect(op.bytesPerSec).toBe(2048000);
    expect(op.latencyUs.min).toBe(10);
    expect(op.latencyUs.p50).toBeGreaterThanOrEqual(5000);
    expect(op.latencyUs.p50).toBeLessThanOrEqual(5005);
    expect(op.latencyUs.p99).toBeGreaterThanOrEqual(9890);
    expect(op.latencyUs.p99).toBeLessThanOrEqual(9910);
    expect(op.latencyUs.max).toBeGreaterThanOrEqual(10000);
    expect(op.latencyUs.max).toBeLessThan(10010);
    expect(op.latencyUs.mean).toBeCloseTo(5005, -1);
    expect(op.serviceTimeUs.p50).toBe(500);
    expect(decodeHistogram(op.histogram).totalCount).toBe(1000);
  });

  it("an empty operation summarizes to zeros", () => {
    const op = summarizeOp(newLatencyHistogram(), newLatencyHistogram(), 0, 0, 2);
    expect(op.iops).toBe(0);
    expect(op.latencyUs).toEqual({
      min: 0,
      mean: 0,
      stddev: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p99_9: 0,
      p99_99: 0,
      max: 0,
    });
  });

  it("a packed histogram (the worker -> runner form) adds bucket for bucket what merging would", () => {
    const src = newLatencyHistogram();
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      recordUs(src, 1 + (x % 5_000_000) / (1 + (i % 7) * 50)); // 1 us .. 5 s, skewed
    }
    recordUs(src, LATENCY_HIGHEST_US); // the last bucket too
    const packed = structuredClone(packHistogram(src));
    expect(packed.length % 2).toBe(0);
    const viaPack = newLatencyHistogram();
    recordUs(viaPack, 123); // adds to what is there
    addPacked(viaPack, packed);
    const viaMerge = newLatencyHistogram();
    recordUs(viaMerge, 123);
    mergeInto(viaMerge, src);
    expect(viaPack.totalCount).toBe(20_002);
    expect(encodeHistogram(viaPack)).toBe(encodeHistogram(viaMerge));
    for (const p of [0, 50, 99, 99.99, 100])
      expect(viaPack.getValueAtPercentile(p)).toBe(viaMerge.getValueAtPercentile(p));
    // the figures of the result file, as the compressed form (what crossed before) gave them
    const viaDecode = newLatencyHistogram();
    recordUs(viaDecode, 123);
    mergeInto(viaDecode, decodeHistogram(encodeHistogram(src)));
    expect(latencyStats(viaPack)).toEqual(latencyStats(viaDecode));
    expect(latencyStats(viaPack).max).toBe(latencyStats(viaMerge).max);
    expect(packHistogram(newLatencyHistogram()).length).toBe(0);
    // only the non-empty buckets travel
    const two = newLatencyHistogram();
    recordUs(two, 10);
    recordUs(two, 10);
    recordUs(two, 40_000);
    expect(Array.from(packHistogram(two)).filter((_, i) => i % 2 === 1)).toEqual([2, 1]);
  });

  /** An accumulator of `latencies.length` 4 KiB I/Os with those latencies and service times. */
  function opOf(latencies: number[], services: number[]) {
    const a = newOpAccumulator();
    a.ios = latencies.length;
    a.bytes = 4096 * latencies.length;
    for (const us of latencies) recordUs(a.latency, us);
    for (const us of services) recordUs(a.service, us);
    return a;
  }

  it("op accumulators survive the packed form", () => {
    const b = opOf([200], []);
    addPackedOp(b, structuredClone(packOp(opOf([100, 300], [50]))));
    expect([b.ios, b.bytes, b.latency.totalCount, b.service.totalCount]).toEqual([3, 12288, 3, 1]);
    expect(b.latency.getValueAtPercentile(50)).toBe(200);
  });

  it("op accumulators survive the wire form", () => {
    const b = decodeOp(structuredClone(encodeOp(opOf([100, 200, 300], [50]))));
    expect(b.ios).toBe(3);
    expect(b.bytes).toBe(12288);
    expect(b.latency.totalCount).toBe(3);
    expect(b.service.totalCount).toBe(1);
    expect(b.latency.getValueAtPercentile(50)).toBe(200);
  });
});
