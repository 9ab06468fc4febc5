/**
 * One operation type's figures (the OP object of the result file) and the counters behind them:
 * I/Os, bytes, the latency and service-time histograms. The accumulator is what workers fill,
 * the packed form what crosses from a worker to the runner, the encoded form what files hold;
 * reduce.ts combines them.
 */
import {
  addPacked,
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  latencyStats,
  mergeInto,
  newLatencyHistogram,
  packHistogram,
} from "./histogram.js";
import type { OpSummary } from "./types.js";

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Summary of one operation type over `seconds` of measured time. */
export function summarizeOp(
  latency: Histogram,
  service: Histogram,
  ios: number,
  bytes: number,
  seconds: number,
): OpSummary {
  const s = Math.max(seconds, 0);
  return {
    ios,
    bytes,
    iops: s > 0 ? round2(ios / s) : 0,
    bytesPerSec: s > 0 ? Math.round(bytes / s) : 0,
    latencyUs: latencyStats(latency),
    serviceTimeUs: latencyStats(service),
    histogram: encodeHistogram(latency),
    serviceHistogram: encodeHistogram(service),
  };
}

/** Counters and histograms of one operation type, as a worker records them and reduce.ts adds them. */
export interface OpAccumulator {
  ios: number;
  bytes: number;
  latency: Histogram;
  service: Histogram;
}

export function newOpAccumulator(): OpAccumulator {
  return { ios: 0, bytes: 0, latency: newLatencyHistogram(), service: newLatencyHistogram() };
}

export function addToAccumulator(into: OpAccumulator, from: OpAccumulator): void {
  into.ios += from.ios;
  into.bytes += from.bytes;
  mergeInto(into.latency, from.latency);
  mergeInto(into.service, from.service);
}

/** The encoded form of an accumulator: what crosses from a worker, and what a result file holds. */
export interface EncodedOp {
  ios: number;
  bytes: number;
  latency: string;
  service: string;
}

export function encodeOp(op: OpAccumulator): EncodedOp {
  return {
    ios: op.ios,
    bytes: op.bytes,
    latency: encodeHistogram(op.latency),
    service: encodeHistogram(op.service),
  };
}

/**
 * An accumulator as it crosses from a worker to the runner of the same process: counts and the
 * histograms packed (see packHistogram; the arrays can be transferred).
 */
export interface PackedOp {
  ios: number;
  bytes: number;
  latency: Float64Array;
  service: Float64Array;
}

export function packOp(op: OpAccumulator): PackedOp {
  return {
    ios: op.ios,
    bytes: op.bytes,
    latency: packHistogram(op.latency),
    service: packHistogram(op.service),
  };
}

export function addPackedOp(into: OpAccumulator, from: PackedOp): void {
  into.ios += from.ios;
  into.bytes += from.bytes;
  addPacked(into.latency, from.latency);
  addPacked(into.service, from.service);
}

export function decodeOp(e: EncodedOp): OpAccumulator {
  return {
    ios: e.ios,
    bytes: e.bytes,
    latency: decodeHistogram(e.latency),
    service: decodeHistogram(e.service),
  };
}

export function resetOp(op: OpAccumulator): void {
  op.ios = 0;
  op.bytes = 0;
  op.latency.reset();
  op.service.reset();
}
