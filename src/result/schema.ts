/**
 * The zod schema of a result file, the one definition of its shape: the types in types.ts are
 * inferred from it, readResult() validates with it, and docs/result.schema.json is generated from
 * it (a test keeps that file in sync). docs/result-schema.md documents every key.
 *
 * One schema reads every version. Each version extends the one before and renames nothing; the
 * keys a version adds are optional here so that older files parse, and `v2Problems()` /
 * `v3Problems()` require them in files of that version or later. What an older file lacks stays
 * absent: it is never invented.
 */
import { z } from "zod";

export const SCHEMA_VERSION = 3;
export const SUPPORTED_SCHEMA_VERSIONS = [1, 2, 3] as const;

const num = z.number({ error: "expected number" });
const int = z.int({ error: "expected integer" });
const count = int.min(0, { error: "expected a non-negative integer" });
const str = z.string({ error: "expected string" });
const bool = z.boolean({ error: "expected boolean" });

const v2 = (description: string) => ({ description: `${description} (from schemaVersion 2)` });
const v3 = (description: string) => ({ description: `${description} (from schemaVersion 3)` });

export const latencyStatsSchema = z
  .object({
    min: num,
    mean: num,
    stddev: num,
    p50: num,
    p90: num,
    p99: num,
    p99_9: num,
    p99_99: num,
    max: num,
  })
  .meta({ description: "latency figures in microseconds, from one (merged) histogram" });

export const opSummarySchema = z
  .object({
    ios: count,
    bytes: count,
    iops: num,
    bytesPerSec: num,
    latencyUs: latencyStatsSchema,
    serviceTimeUs: latencyStatsSchema,
    histogram: str.meta({ description: "latency histogram (µs), HdrHistogram V2 compressed base64" }),
    serviceHistogram: str.optional().meta(v2("service-time histogram (µs), HdrHistogram compressed base64")),
  })
  .meta({ description: "one operation type (read or write) over the measured time" });

const senseCounts = z.record(z.string(), count);

export const verifyMismatchSchema = z.object({
  job: str,
  lba: count,
  kind: z.enum(["stale", "wrong-lba", "corrupt"], { error: 'expected "stale", "wrong-lba" or "corrupt"' }),
  expectedGeneration: count,
  foundGeneration: count.nullable(),
});

export const verifySummarySchema = z.object({
  enabled: bool,
  blocksChecked: count,
  mismatches: count,
  failures: z.array(verifyMismatchSchema),
});

export const rateReportSchema = z.object({
  iops: num.nullable(),
  bytesPerSec: num.nullable(),
  keptUp: bool,
  maxLagMs: num,
});

/**
 * What the initiator's recovery did (schemaVersion 3): each worker's session counts from its login
 * to its logout (ramp and read-back included); parts add up (workers, repetitions, jobs).
 */
export const recoverySchema = z
  .object({
    reconnects: count.meta({ description: "connections lost and replaced" }),
    reinstatements: count.meta({
      description: "logins with the old ISID and TSIH 0 the target accepted (RFC 7143 6.3.5)",
    }),
    reissued: count.meta({ description: "commands sent again as new tasks after a connection loss" }),
    aborts: count.meta({ description: "ABORT TASK requests sent (command timeouts)" }),
    commandTimeouts: count.meta({ description: "commands that reached --command-timeout" }),
    unitAttentions: count.meta({ description: "UNIT ATTENTIONs consumed instead of reported as errors" }),
    busyRetries: count.meta({ description: "commands answered BUSY or TASK SET FULL and sent again" }),
    outageMs: num.min(0).meta({
      description: "milliseconds without a connection, summed over sessions (two workers down 1 s: 2000)",
    }),
    recoveredBlocks: count.meta({
      description:
        "blocks of verified writes that returned GOOD after a re-issue (checked again, never mismatches)",
    }),
  })
  .meta(v3("what the initiator's recovery did"));

/** One operation of one interval: exact counters and that interval's latency histogram. */
export const intervalOpSchema = z.object({
  ios: count,
  bytes: count,
  histogram: str.meta({
    description: "the interval's latency histogram (µs), HdrHistogram compressed base64",
  }),
});

/** The link the run went over, when known (emulated by --link, declared by --link-rate or link-lab). */
export const linkSchema = z
  .object({
    nominalBitsPerSec: num.meta({ description: "line rate, bits per second" }),
    mtu: int,
    delayMs: num.meta({ description: "one-way delay added per direction (emulated links), ms" }),
    emulated: bool.meta({ description: "true: iscsi-bench's relay shaped it; false: a real link declared" }),
    source: z.enum(["--link", "link-lab", "option"]),
  })
  .meta({ description: "the link between initiator and target (from schemaVersion 2)" });

/** How close to the wire one operation came (an operation's payload direction of the link). */
export const opEfficiencySchema = z.object({
  ofLineRatePct: num.meta({ description: "payload bits per second as a percentage of the line rate" }),
  ofPayloadCeilingPct: num.meta({
    description: "payload as a percentage of the most iSCSI payload TCP/IPv4 over Ethernet carries",
  }),
  payloadCeilingBytesPerSec: num.meta({
    description: "that ceiling: full data PDUs of the negotiated MaxRecvDataSegmentLength, digests and MTU",
  }),
});

export const efficiencySchema = z
  .object({ read: opEfficiencySchema.nullable(), write: opEfficiencySchema.nullable() })
  .meta({ description: "link efficiency per operation; null without a known link (from schemaVersion 2)" });

/** One measured interval (normally 1 s; the last one of a step may be shorter) of one job. */
export const intervalSchema = z.object({
  index: count.meta({ description: "0-based interval of the repetition's measured time" }),
  startSec: num.meta({
    description: "start of the interval, seconds after the repetition's measurement began",
  }),
  ms: num.meta({ description: "milliseconds the interval covers" }),
  read: intervalOpSchema,
  write: intervalOpSchema,
  errors: count,
  outageMs: num
    .min(0)
    .optional()
    .meta(v3("milliseconds of the interval without a connection, summed over the job's sessions")),
  reconnects: count.optional().meta(v3("connections lost and replaced in the interval")),
});

/** One measured repetition of one job step (`run --repeat`). */
export const jobRepetitionSchema = z.object({
  repetition: count,
  durationSec: num,
  read: opSummarySchema,
  write: opSummarySchema,
  errors: count,
  intervals: z.array(intervalSchema),
  recovery: recoverySchema.optional(),
});

export const jobResultSchema = z.object({
  name: str,
  phase: count,
  step: count,
  queueDepth: int.min(1),
  workers: int.min(1),
  durationSec: num,
  read: opSummarySchema,
  write: opSummarySchema,
  errors: count,
  errorsBySense: senseCounts,
  reconnects: count,
  rate: rateReportSchema.nullable(),
  verify: verifySummarySchema,
  repetitions: z
    .array(jobRepetitionSchema)
    .optional()
    .meta(v2("every measured repetition of this step, in order; their total is this object")),
  efficiency: efficiencySchema.nullable().optional(),
  recovery: recoverySchema.optional(),
});

const negotiatedSchema = z.record(z.string(), z.union([num, bool, str]));

export const targetReportSchema = z.object({
  url: str,
  builtin: bool,
  lun: count,
  vendor: str,
  product: str,
  revision: str,
  blockSize: int.min(1),
  capacityBytes: count,
  negotiated: negotiatedSchema.nullable(),
});

export const timelineOpSchema = z.object({
  iops: num,
  bytesPerSec: num,
  p99Us: num,
  ios: count.optional().meta(v2("I/Os completed in the interval")),
  bytes: count.optional().meta(v2("bytes transferred in the interval")),
  histogram: str.optional().meta(v2("the interval's latency histogram (µs), HdrHistogram compressed base64")),
});

export const timelineEntrySchema = z.object({
  t: num.meta({ description: "end of the interval, seconds of measured time since the run began" }),
  step: count,
  read: timelineOpSchema,
  write: timelineOpSchema,
  errors: count,
  repetition: count.optional().meta(v2("the repetition of the step")),
  index: count.optional().meta(v2("0-based interval of the repetition")),
  ms: num.optional().meta(v2("milliseconds the interval covers")),
  outageMs: num
    .min(0)
    .optional()
    .meta(v3("milliseconds of the interval without a connection, summed over the step's sessions")),
  reconnects: count.optional().meta(v3("connections lost and replaced in the interval")),
});

export const environmentSchema = z
  .object({
    tool: z.object({ name: str, version: str }),
    node: str,
    platform: str,
    cpu: z.object({ model: str, count: count }),
    target: z.object({
      builtin: bool,
      vendor: str,
      product: str,
      revision: str,
      blockSize: int.min(1),
      capacityBytes: count,
    }),
    negotiated: negotiatedSchema.nullable(),
    link: linkSchema.nullable(),
  })
  .meta({ description: "what the run ran on: it says what differed between two results" });

export const resultSchema = z.object({
  schemaVersion: z.union([z.literal(1), z.literal(2), z.literal(3)], { error: "expected 1, 2 or 3" }),
  tool: z.object({ name: str, version: str }),
  startedAt: str,
  durationSec: num,
  interrupted: bool,
  stopReason: str.nullable(),
  host: z.object({ cpus: count, node: str, platform: str }),
  workload: z.record(z.string(), z.unknown()),
  target: targetReportSchema,
  summary: z.object({
    read: opSummarySchema,
    write: opSummarySchema,
    errors: count,
    errorsBySense: senseCounts,
    reconnects: count,
    verify: verifySummarySchema,
    efficiency: efficiencySchema.nullable().optional(),
    recovery: recoverySchema.optional(),
  }),
  jobs: z.array(jobResultSchema),
  timeline: z.array(timelineEntrySchema),
  repeat: int.min(1).optional().meta(v2("measured repetitions of every step (run --repeat)")),
  fingerprint: str
    .optional()
    .meta(v2("hash of the resolved workload: equal fingerprints measured the same work")),
  environment: environmentSchema.optional(),
  link: linkSchema.nullable().optional(),
});

type PathPart = string | number;
export interface SchemaProblem {
  path: PathPart[];
  message: string;
}

/** The keys a version 2 file must have that version 1 did not. */
export function v2Problems(r: z.infer<typeof resultSchema>): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const need = (ok: boolean, path: PathPart[]): void => {
    if (!ok) out.push({ path, message: "missing (required from schemaVersion 2)" });
  };
  need(r.repeat !== undefined, ["repeat"]);
  need(r.fingerprint !== undefined, ["fingerprint"]);
  need(r.environment !== undefined, ["environment"]);
  need(r.link !== undefined, ["link"]);
  need(r.summary.efficiency !== undefined, ["summary", "efficiency"]);
  for (const op of ["read", "write"] as const) {
    need(r.summary[op].serviceHistogram !== undefined, ["summary", op, "serviceHistogram"]);
  }
  r.jobs.forEach((j, i) => {
    need(j.repetitions !== undefined, ["jobs", i, "repetitions"]);
    need(j.efficiency !== undefined, ["jobs", i, "efficiency"]);
    for (const op of ["read", "write"] as const) {
      need(j[op].serviceHistogram !== undefined, ["jobs", i, op, "serviceHistogram"]);
    }
  });
  r.timeline.forEach((e, i) => {
    need(e.repetition !== undefined, ["timeline", i, "repetition"]);
    need(e.index !== undefined, ["timeline", i, "index"]);
    need(e.ms !== undefined, ["timeline", i, "ms"]);
    for (const op of ["read", "write"] as const) {
      need(e[op].histogram !== undefined, ["timeline", i, op, "histogram"]);
      need(e[op].ios !== undefined, ["timeline", i, op, "ios"]);
      need(e[op].bytes !== undefined, ["timeline", i, op, "bytes"]);
    }
  });
  return out;
}

/** The keys a version 3 file must have that version 2 did not. */
export function v3Problems(r: z.infer<typeof resultSchema>): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const need = (ok: boolean, path: PathPart[]): void => {
    if (!ok) out.push({ path, message: "missing (required from schemaVersion 3)" });
  };
  need(r.summary.recovery !== undefined, ["summary", "recovery"]);
  r.jobs.forEach((j, i) => {
    need(j.recovery !== undefined, ["jobs", i, "recovery"]);
    j.repetitions?.forEach((rep, k) => {
      need(rep.recovery !== undefined, ["jobs", i, "repetitions", k, "recovery"]);
      rep.intervals.forEach((iv, n) => {
        need(iv.outageMs !== undefined, ["jobs", i, "repetitions", k, "intervals", n, "outageMs"]);
        need(iv.reconnects !== undefined, ["jobs", i, "repetitions", k, "intervals", n, "reconnects"]);
      });
    });
  });
  r.timeline.forEach((e, i) => {
    need(e.outageMs !== undefined, ["timeline", i, "outageMs"]);
    need(e.reconnects !== undefined, ["timeline", i, "reconnects"]);
  });
  return out;
}
