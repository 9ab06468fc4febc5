/**
 * The main-thread side of a run: resolves the target (the workload's, --target's, or the
 * built-in one), reads the device once, runs the phases one after another and queue-depth
 * sweeps step by step with one piscina worker per job worker, merges the workers' interval
 * histograms (percentiles are never averaged), drives the live progress, enforces the error
 * limit and stops cleanly on request. Returns the versioned result; writing it is the caller's.
 *
 * Steps: a phase runs max(queueDepths.length) steps; a job with a queue-depth list runs step i at
 * depth i (and is idle once its list is done); a job with one depth runs in every step of its phase.
 * With `repeat` k, every step is measured k times one after another (each logs in afresh and has
 * its own ramp); the result keeps each repetition and their total.
 */
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { InputError } from "../common/errors.js";
import { readDeviceInfo } from "../initiator/device.js";
import { openSession } from "../initiator/session.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import { type IscsiUrl, parseIscsiUrl, redactUrl } from "../iscsi/url.js";
import { type RunningLink, startLink } from "../link/index.js";
import type { LinkSpec } from "../link/spec.js";
import { buildResult } from "../result/build.js";
import {
  addSenseCounts,
  intervalsOf,
  reduceRecovery,
  reduceRepetitions,
  reduceVerify,
  summarizeAccumulator,
  timelineOf,
} from "../result/reduce.js";
import type {
  JobRepetition,
  JobResult,
  LinkReport,
  RunResult,
  TargetReport,
  TimelineEntry,
} from "../result/types.js";
import { type RunningTarget, startTarget } from "../target/index.js";
import { jobRegion } from "../workload/generator.js";
import type { ResolvedWorkload } from "../workload/types.js";
import type { ProgressReporter } from "./progress.js";
import { type JobRepAcc, runStepOnce, type StepJob } from "./step-run.js";
import type { VerifyMap, WorkerSessionSpec } from "./worker-messages.js";

export const DEFAULT_BUILTIN_LUN_BYTES = 1024 * 1024 * 1024;
/** Largest region a verify run tracks (generations: 4 bytes per LUN block). */
export const MAX_VERIFY_BLOCKS = 64 * 1024 * 1024;

export interface RunnerOptions {
  workload: ResolvedWorkload;
  /** --target, overriding the workload's target; null/undefined: the workload's, else built-in. */
  targetUrl?: string | null;
  initiatorName: string;
  allowWrite: boolean;
  /** Stop (and fail) once more than this many I/O errors happened; null = no limit. */
  maxErrors: number | null;
  /** Measured repetitions of every step (run --repeat); 1 by default. */
  repeat?: number;
  /**
   * Unmeasured time added to the ramp of the run's first repetition (run --warmup): a fresh
   * process (JIT, caches, the target's first touches) is slower for its first seconds, so without
   * it the first repetition is not like the others.
   */
  warmupMs?: number;
  /**
   * The link: `emulate` puts the link emulator (src/link/) between the initiator and the target;
   * otherwise the spec only declares a real link the tool cannot see (run --link-rate, link-lab).
   */
  link?: RunLink | null;
  /**
   * The sessions' recovery settings (run --recovery-timeout, --command-timeout, --noop-timeout);
   * absent ones take the session's defaults.
   */
  recovery?: { recoveryTimeoutMs?: number; commandTimeoutMs?: number; noopTimeoutMs?: number };
  headerDigest?: boolean;
  dataDigest?: boolean;
  /** Fault specs for the built-in target (run --fault); an InputError with an external target. */
  faults?: string[];
  faultSeed?: number;
  /** The built-in target's log lines (faults as they fire). */
  onTargetLog?: (line: string) => void;
  /** Recovery events of the workers' sessions (connection lost, reinstated, command aborted). */
  onSessionEvent?: (line: string) => void;
  progress?: ProgressReporter;
  /** Aborting stops the run cleanly; the result is marked interrupted. */
  signal?: AbortSignal;
  /** Test hook: called after each phase (e.g. to tamper with a backing file). */
  onPhaseEnd?: (phase: number) => Promise<void> | void;
  env?: NodeJS.ProcessEnv;
}

export interface RunLink {
  spec: LinkSpec;
  emulate: boolean;
  source: LinkReport["source"];
}

export interface RunOutcome {
  result: RunResult;
  /** Set when the run failed at run time (max errors, a worker failed); the result is partial. */
  failure: string | null;
}

/** The default error limit: 0 for runs with verify jobs, else unlimited. */
export function defaultMaxErrors(w: ResolvedWorkload): number | null {
  return w.jobs.some((j) => j.verify) ? 0 : null;
}

export function hasWrites(w: ResolvedWorkload): boolean {
  return w.jobs.some((j) => j.readPercent < 100);
}

/** Bytes the built-in LUN needs: the end of the furthest region, at least 1 GiB. */
export function builtinLunBytes(w: ResolvedWorkload): number {
  let end = DEFAULT_BUILTIN_LUN_BYTES;
  for (const j of w.jobs) {
    const e = j.size === null ? j.offset + 1 : j.offset + j.size;
    if (e > end) end = e;
  }
  const mib = 1024 * 1024;
  return Math.ceil(end / mib) * mib;
}

function workerFile(): string {
  const here = import.meta.url;
  // Compiled: dist/engine/job-worker.js next to this file. From sources (tests): the compiled copy.
  const url = here.endsWith(".ts")
    ? new URL("../../dist/engine/job-worker.js", here)
    : new URL("./job-worker.js", here);
  return fileURLToPath(url);
}

function chapOf(u: IscsiUrl): ChapCredentials | undefined {
  if (u.user === null || u.secret === null) return undefined;
  const c: ChapCredentials = { user: u.user, secret: u.secret };
  if (u.targetUser !== null && u.targetSecret !== null) {
    c.targetUser = u.targetUser;
    c.targetSecret = u.targetSecret;
  }
  return c;
}

/** The steps of phase `phase`: for each, the jobs that run and at which queue depth. */
export function phaseSteps(w: ResolvedWorkload, phase: number): StepJob[][] {
  const jobs = w.jobs.filter((j) => j.phase === phase);
  const count = Math.max(0, ...jobs.map((j) => j.queueDepths.length));
  const steps: StepJob[][] = [];
  for (let i = 0; i < count; i++) {
    const s: StepJob[] = [];
    for (const job of jobs) {
      if (job.queueDepths.length === 1) s.push({ job, queueDepth: job.queueDepths[0]! });
      else if (i < job.queueDepths.length) s.push({ job, queueDepth: job.queueDepths[i]! });
    }
    steps.push(s);
  }
  return steps;
}

export async function runWorkload(opts: RunnerOptions): Promise<RunOutcome> {
  const w = opts.workload;
  const env = opts.env ?? process.env;
  const startedAt = new Date();
  const progress = opts.progress;
  let builtin: RunningTarget | null = null;
  let urlText = opts.targetUrl ?? w.target;
  const isBuiltin = urlText === null || urlText === undefined;

  if (!isBuiltin && hasWrites(w) && !opts.allowWrite) {
    const u = parseIscsiUrl(urlText!, { target: true, lun: false }, env);
    throw new InputError(
      `the workload writes: LUN ${u.lun ?? 0} of ${redactUrl(urlText!)} would be overwritten; pass --allow-write to proceed`,
    );
  }

  const faults = opts.faults ?? [];
  if (!isBuiltin && faults.length > 0) {
    throw new InputError(
      "--fault: faults are injected by the built-in target only, not into an external target",
    );
  }

  let pool: Piscina | null = null;
  let relay: RunningLink | null = null;
  try {
    if (isBuiltin) {
      builtin = await startTarget(
        {
          port: 0,
          luns: [{ kind: "memory", sizeBytes: builtinLunBytes(w) }],
          faults,
          faultSeed: opts.faultSeed,
        },
        { log: opts.onTargetLog },
      );
      urlText = builtin.url(0);
    }
    const url = parseIscsiUrl(urlText!, { target: true, lun: false }, env);
    const lun = url.lun ?? 0;
    // With --link every connection of the run (the device query and every worker's session) goes
    // through the emulator; the result still names the real target.
    let via = { host: url.host, port: url.port };
    if (opts.link?.emulate) {
      relay = await startLink({ listenHost: "127.0.0.1", listenPort: 0, to: via, spec: opts.link.spec });
      via = { host: relay.host, port: relay.port };
    }
    const sessionSpec: WorkerSessionSpec = {
      ...opts.recovery,
      host: via.host,
      port: via.port,
      targetName: url.targetName!,
      lun,
      initiatorName: opts.initiatorName,
      chap: chapOf(url),
      headerDigest: opts.headerDigest ?? false,
      dataDigest: opts.dataDigest ?? false,
    };

    // --- the device, once ---------------------------------------------------------------------
    const control = await openSession({
      host: sessionSpec.host,
      port: sessionSpec.port,
      targetName: sessionSpec.targetName,
      initiatorName: sessionSpec.initiatorName,
      chap: sessionSpec.chap,
      headerDigest: sessionSpec.headerDigest,
      dataDigest: sessionSpec.dataDigest,
      commandTimeoutMs: sessionSpec.commandTimeoutMs,
      noopTimeoutMs: sessionSpec.noopTimeoutMs,
      recoveryTimeoutMs: sessionSpec.recoveryTimeoutMs,
    });
    let negotiated: TargetReport["negotiated"] = null;
    let target: TargetReport;
    try {
      const info = await readDeviceInfo(control, lun);
      negotiated = { ...control.negotiated };
      target = {
        url: urlText!,
        builtin: isBuiltin,
        lun,
        vendor: info.vendor,
        product: info.product,
        revision: info.revision,
        blockSize: info.blockSize,
        capacityBytes: info.capacityBytes,
        negotiated,
      };
    } finally {
      await control.logout().catch(() => control.close());
    }

    // Regions must fit the LUN: fail before starting anything (InputError -> exit 2).
    const regions = w.jobs.map((j) => jobRegion(j, target.capacityBytes, target.blockSize));

    // --- verification map ---------------------------------------------------------------------
    let verifyMap: VerifyMap | null = null;
    const verifyJobs = w.jobs.map((j, i) => ({ j, r: regions[i]! })).filter((x) => x.j.verify);
    if (verifyJobs.length > 0) {
      const bs = target.blockSize;
      const base = Math.min(...verifyJobs.map((x) => x.r.start)) / bs;
      const end = Math.max(...verifyJobs.map((x) => x.r.end)) / bs;
      if (end - base > MAX_VERIFY_BLOCKS) {
        throw new InputError(
          `verify region of ${end - base} blocks is too large to track (at most ${MAX_VERIFY_BLOCKS}); give the verify jobs a size`,
        );
      }
      verifyMap = {
        generations: new SharedArrayBuffer((end - base) * 4),
        baseLba: base,
        blocks: end - base,
        seed: verifyJobs[0]!.j.seed,
      };
    }

    // --- the pool -----------------------------------------------------------------------------
    const allSteps: StepJob[][][] = [];
    for (let p = 0; p < w.phaseCount; p++) allSteps.push(phaseSteps(w, p));
    const maxThreads = Math.max(1, ...allSteps.flat().map((s) => s.reduce((n, sj) => n + sj.job.workers, 0)));
    pool = new Piscina({
      filename: workerFile(),
      minThreads: 0,
      maxThreads,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      atomics: "disabled",
    });

    const repeat = opts.repeat ?? 1;
    const jobsOut: JobResult[] = [];
    const timeline: TimelineEntry[] = [];
    const errors = { total: 0, max: opts.maxErrors };
    let interrupted = false;
    let failure: string | null = null;
    let stopReason: string | null = null;
    let stepIndex = 0;
    let elapsedSec = 0;
    const totalSteps = allSteps.reduce((n, p) => n + p.length, 0);
    const warmupMs = opts.warmupMs ?? 0;
    const plannedSec = (totalSteps * repeat * (w.durationMs + w.rampTimeMs) + warmupMs) / 1000;

    const onAbort = (): void => {
      interrupted = true;
      stopReason ??= "interrupted";
    };
    opts.signal?.addEventListener("abort", onAbort);
    if (opts.signal?.aborted) onAbort();

    outer: for (let p = 0; p < w.phaseCount; p++) {
      for (const step of allSteps[p]!) {
        if (interrupted || failure !== null) break outer;
        const stepNo = stepIndex++;
        const reps: JobRepAcc[][] = [];
        for (let r = 0; r < repeat; r++) {
          if (r > 0 && (interrupted || failure !== null)) break;
          const labels: string[] = [];
          if (totalSteps > 1)
            labels.push(`step ${stepNo + 1}/${totalSteps} qd ${step.map((s) => s.queueDepth).join(",")}`);
          if (repeat > 1) labels.push(`rep ${r + 1}/${repeat}`);
          const out = await runStepOnce(
            {
              pool,
              session: sessionSpec,
              verifyMap,
              durationMs: w.durationMs,
              rampMs: w.rampTimeMs + (stepNo === 0 && r === 0 ? warmupMs : 0),
              signal: opts.signal,
              progress,
              errors,
              elapsedBeforeSec: elapsedSec,
              plannedSec,
              label: labels.join(" "),
              onSessionEvent: opts.onSessionEvent,
            },
            step,
            stepNo,
            r,
          );
          if (out.failure !== null && failure === null) {
            failure = out.failure;
            stopReason = out.stopReason;
          }
          reps.push(out.jobs);
          timeline.push(...timelineOf(out.intervals, stepNo, r, elapsedSec));
          elapsedSec += Math.max(0, ...out.jobs.map((a) => a.measuredMs)) / 1000;
        }
        step.forEach((_sj, k) => {
          jobsOut.push(
            jobResult(
              p,
              stepNo,
              reps.map((rep) => rep[k]!),
            ),
          );
        });
      }
      if (!interrupted && failure === null) await opts.onPhaseEnd?.(p);
    }
    opts.signal?.removeEventListener("abort", onAbort);
    progress?.done();

    const result = buildResult({
      workload: w,
      startedAt,
      // a run that ended early for any reason (SIGINT, error limit, failed worker) is partial
      interrupted: interrupted || failure !== null,
      stopReason,
      target,
      jobs: jobsOut,
      timeline,
      repeat,
      link: linkReport(opts.link ?? null),
    });
    return { result, failure };
  } finally {
    if (pool !== null) await pool.destroy();
    if (relay !== null) await relay.stop();
    if (builtin !== null) await builtin.stop();
  }
}

function linkReport(l: RunLink | null): LinkReport | null {
  if (l === null) return null;
  return {
    nominalBitsPerSec: l.spec.bitsPerSec,
    mtu: l.spec.mtu,
    delayMs: l.spec.delayMs,
    emulated: l.emulate,
    source: l.source,
  };
}

/** One job step's result: its repetitions as measured, and their total through the reducer. */
function jobResult(phase: number, step: number, reps: JobRepAcc[]): JobResult {
  const first = reps[0]!;
  const repetitions: JobRepetition[] = reps.map((a, r) => {
    const sec = a.measuredMs / 1000;
    return {
      repetition: r,
      durationSec: Math.round(sec * 1000) / 1000,
      read: summarizeAccumulator(a.read, sec),
      write: summarizeAccumulator(a.write, sec),
      errors: a.errors,
      intervals: intervalsOf(a.intervals),
      recovery: { ...a.recovery },
    };
  });
  const total = reduceRepetitions(repetitions);
  const errorsBySense: Record<string, number> = {};
  for (const a of reps) addSenseCounts(errorsBySense, a.errorsBySense);
  const job = first.job;
  return {
    name: job.name,
    phase,
    step,
    queueDepth: first.queueDepth,
    workers: job.workers,
    durationSec: total.durationSec,
    read: total.read,
    write: total.write,
    errors: total.errors,
    errorsBySense,
    reconnects: reps.reduce((n, a) => n + a.reconnects, 0),
    rate:
      job.rate === null
        ? null
        : {
            iops: job.rate.iops,
            bytesPerSec: job.rate.bytesPerSec,
            keptUp: reps.every((a) => a.keptUp),
            maxLagMs: Math.round(Math.max(...reps.map((a) => a.maxLagMs))),
          },
    verify: reduceVerify(
      reps.map((a) => ({
        enabled: job.verify,
        blocksChecked: a.blocksChecked,
        mismatches: a.mismatchCount,
        failures: a.mismatches,
      })),
    ),
    repetitions,
    recovery: reduceRecovery(reps.map((a) => a.recovery)),
  };
}
