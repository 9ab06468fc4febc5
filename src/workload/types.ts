/**
 * A workload after validation and unit resolution: every size in bytes, every duration in
 * milliseconds, every default filled in. The engine works only from these types.
 */

export type Distribution =
  | { kind: "uniform" }
  | { kind: "zipf"; theta: number }
  | { kind: "pareto"; h: number }
  | { kind: "normal"; percent: number };

export interface BlockSizeWeight {
  bytes: number;
  weight: number;
}

export interface ResolvedJob {
  name: string;
  pattern: "sequential" | "random";
  /** 0..100: share of operations that are reads. */
  readPercent: number;
  /** One entry for a fixed block size; several for a weighted mix (fio's bssplit). */
  blockSizes: BlockSizeWeight[];
  /** One run per entry: a list makes a queue-depth sweep. */
  queueDepths: number[];
  workers: number;
  /** Region of the LUN in bytes; `size` null means "to the end of the LUN". */
  offset: number;
  size: number | null;
  distribution: Distribution;
  /** Open-loop rate for the whole job, shared by its workers; null = as fast as possible. */
  rate: { iops: number | null; bytesPerSec: number | null } | null;
  verify: boolean;
  seed: number;
  /** Optional stop conditions besides the duration. */
  maxIos: number | null;
  maxBytes: number | null;
  /** Index of the phase (stonewall group) this job runs in; phases run one after another. */
  phase: number;
}

export interface ResolvedWorkload {
  name: string;
  description: string;
  /** The target URL as written (may hold a secret: never print it unredacted). */
  target: string | null;
  durationMs: number;
  rampTimeMs: number;
  jobs: ResolvedJob[];
  /** Number of phases; jobs with the same `phase` run together. */
  phaseCount: number;
}

/** One I/O as a generator produces it. Reused: generators fill the caller's object. */
export interface IoSpec {
  read: boolean;
  /** Byte offset on the LUN, aligned to the LUN block size. */
  offset: number;
  /** Length in bytes, a multiple of the LUN block size. */
  length: number;
}
