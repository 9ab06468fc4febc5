import { newLatencyHistogram, recordUs, summarizeOp } from "../../src/engine/stats.js";
import { buildResult, type RunResult } from "../../src/report/result.js";
import type { ResolvedWorkload } from "../../src/workload/types.js";
import { resolvedJob } from "../helpers/workload-fixtures.js";

export const workload: ResolvedWorkload = {
  name: "seq-read",
  description: "test",
  target: "iscsi://alice%s3cr3t@127.0.0.1:3260/iqn.2026-11.io.example:disk/0",
  durationMs: 2000,
  rampTimeMs: 0,
  phaseCount: 1,
  jobs: [
    resolvedJob({
      name: "reader",
      pattern: "sequential",
      blockSizes: [{ bytes: 131072, weight: 1 }],
      queueDepths: [32],
    }),
  ],
};

export function op(ios: number, bytesPerIo: number, baseUs: number, seconds: number) {
  const lat = newLatencyHistogram();
  const svc = newLatencyHistogram();
  for (let i = 0; i < ios; i++) {
    recordUs(lat, baseUs + (i % 100));
    recordUs(svc, baseUs + (i % 100));
  }
  return summarizeOp(lat, svc, ios, ios * bytesPerIo, seconds);
}

export function sampleResult(): RunResult {
  const read = op(2000, 131072, 400, 2);
  const write = op(0, 0, 0, 2);
  const verify = { enabled: false, blocksChecked: 0, mismatches: 0, failures: [] };
  return buildResult({
    workload,
    startedAt: new Date(2026, 10, 25, 9, 5, 7),
    durationSec: 2.0004,
    interrupted: false,
    stopReason: null,
    target: {
      url: workload.target!,
      builtin: false,
      lun: 0,
      vendor: "ISCSIBEN",
      product: "MEMORY",
      revision: "0001",
      blockSize: 512,
      capacityBytes: 1 << 30,
      negotiated: null,
    },
    summary: {
      read,
      write,
      errors: 1,
      errorsBySense: { "MEDIUM ERROR: UNRECOVERED READ ERROR": 1 },
      reconnects: 0,
      verify,
    },
    jobs: [
      {
        name: "reader",
        phase: 0,
        step: 0,
        queueDepth: 32,
        workers: 1,
        durationSec: 2,
        read,
        write,
        errors: 1,
        errorsBySense: { "MEDIUM ERROR: UNRECOVERED READ ERROR": 1 },
        reconnects: 0,
        rate: null,
        verify,
      },
    ],
    timeline: [
      {
        t: 1,
        step: 0,
        read: { iops: 1000, bytesPerSec: 131072000, p99Us: 499 },
        write: { iops: 0, bytesPerSec: 0, p99Us: 0 },
        errors: 0,
      },
    ],
  });
}
