/**
 * What crosses between the runner (main thread) and a job worker: the piscina task, the shared
 * control slots, the per-second interval messages and the worker's result. Plain data only.
 */
import type { MessagePort } from "node:worker_threads";
import type { ChapCredentials } from "../iscsi/chap.js";
import type { PackedOp } from "../result/op.js";
import type { RecoveryReport } from "../result/types.js";
import type { StampMismatch } from "../workload/stamp.js";
import type { ResolvedJob } from "../workload/types.js";

/** Indexes into the shared control Int32Array. */
export const CTL_READY = 0; // workers logged in (Atomics.add)
export const CTL_GO = 1; // 0 wait, 1 go, 2 abort
export const CTL_STOP = 2; // 1: stop now (SIGINT, max errors)
export const CTL_DRAINED = 3; // workers drained (second barrier before the read-back)
export const CTL_SLOTS = 4;

export interface WorkerSessionSpec {
  host: string;
  port: number;
  targetName: string;
  lun: number;
  initiatorName: string;
  chap?: ChapCredentials;
  headerDigest?: boolean;
  dataDigest?: boolean;
  /** run --command-timeout: a command without an answer this long is aborted (session default if absent). */
  commandTimeoutMs?: number;
  /** run --noop-timeout: an unanswered NOP-Out ping this long means the connection is dead. */
  noopTimeoutMs?: number;
  /** run --recovery-timeout: how long the session tries to reinstate itself; 0 fails at once. */
  recoveryTimeoutMs?: number;
}

export interface VerifyMap {
  /** Uint32Array over LUN blocks [baseLba, baseLba + blocks): last generation written, 0 = never. */
  generations: SharedArrayBuffer;
  baseLba: number;
  blocks: number;
  seed: number;
}

export interface WorkerTask {
  job: ResolvedJob;
  step: number;
  /** Which measured repetition of the step (run --repeat), from 0. */
  repetition: number;
  queueDepth: number;
  workerIndex: number;
  workerCount: number;
  session: WorkerSessionSpec;
  durationMs: number;
  rampMs: number;
  control: SharedArrayBuffer;
  port: MessagePort;
  verify: VerifyMap | null;
}

export interface IntervalMessage {
  type: "interval";
  /** 0-based second of measurement, or -1 for an interval in the ramp. */
  index: number;
  ramp: boolean;
  /** Measured milliseconds covered (1000 but for the last one). */
  ms: number;
  read: PackedOp;
  write: PackedOp;
  errors: number;
  /** Milliseconds of the interval the worker's session had no connection (an ongoing outage included). */
  outageMs: number;
  /** Connections the session lost and replaced in the interval. */
  reconnects: number;
}

/** A recovery event of a worker's session (one line, no secrets), for the run's log. */
export interface SessionEventMessage {
  type: "event";
  text: string;
}

export interface ReadyMessage {
  type: "ready";
  workerIndex: number;
}

/**
 * What the worker's session's recovery did, from its login to its logout: the result's recovery
 * counters (recoveredBlocks: blocks of writes that returned GOOD after a re-issue).
 */
export type WorkerRecovery = RecoveryReport;

export interface WorkerResult {
  final: IntervalMessage;
  measuredMs: number;
  errorsBySense: Record<string, number>;
  /** Connections lost and replaced (the session's recovery.reconnects). */
  reconnects: number;
  recovery: WorkerRecovery;
  blocksChecked: number;
  mismatchCount: number;
  mismatches: StampMismatch[];
  maxLagMs: number;
  keptUp: boolean;
  stoppedBy: "duration" | "limit" | "stop";
}
