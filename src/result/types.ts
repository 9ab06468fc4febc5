/**
 * The result types, inferred from the zod schema (schema.ts) so that the file's shape is defined
 * once. The keys schemaVersion 2 and 3 added are optional in these types: an older file read back
 * lacks them, and every reader must say so rather than assume them.
 */
import type { z } from "zod";
import type {
  efficiencySchema,
  environmentSchema,
  intervalOpSchema,
  intervalSchema,
  jobRepetitionSchema,
  jobResultSchema,
  latencyStatsSchema,
  linkSchema,
  opEfficiencySchema,
  opSummarySchema,
  rateReportSchema,
  recoverySchema,
  resultSchema,
  targetReportSchema,
  timelineEntrySchema,
  timelineOpSchema,
  verifyMismatchSchema,
  verifySummarySchema,
} from "./schema.js";

export type LatencyStats = z.infer<typeof latencyStatsSchema>;
export type OpSummary = z.infer<typeof opSummarySchema>;
export type VerifyMismatchReport = z.infer<typeof verifyMismatchSchema>;
export type VerifySummary = z.infer<typeof verifySummarySchema>;
export type RateReport = z.infer<typeof rateReportSchema>;
export type RecoveryReport = z.infer<typeof recoverySchema>;
export type IntervalOp = z.infer<typeof intervalOpSchema>;
export type Interval = z.infer<typeof intervalSchema>;
export type JobRepetition = z.infer<typeof jobRepetitionSchema>;
export type JobResult = z.infer<typeof jobResultSchema>;
export type TargetReport = z.infer<typeof targetReportSchema>;
export type TimelineOp = z.infer<typeof timelineOpSchema>;
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;
export type LinkReport = z.infer<typeof linkSchema>;
export type Environment = z.infer<typeof environmentSchema>;
export type OpEfficiency = z.infer<typeof opEfficiencySchema>;
export type Efficiency = z.infer<typeof efficiencySchema>;
export type RunResult = z.infer<typeof resultSchema>;
export type RunSummary = RunResult["summary"];

export type OpName = "read" | "write";
export const OP_NAMES: readonly OpName[] = ["read", "write"];
