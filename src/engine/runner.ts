/**
 * The main-thread side of a run: resolves the target (the workload's, --target's, or the
 * built-in one), reads the device once, runs the phases one after another and queue-depth
 * sweeps step by step with one piscina worker per job worker, merges the workers' interval
 * histograms (percentiles are never averaged), drives the live progress, enforces the error
 * limit and stops cleanly on request. Returns the versioned result; writing it is the caller's.
 *
 * Steps: a phase runs max(queueDepths.length) steps; a job with a queue-depth list runs step i at
 * depth i (and is idle once its list is done); a job with one depth runs in every step of its phase.
 */
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import { InputError } from "../common/errors.js";
import { readDeviceInfo } from "../initiator/device.js";
import { openSession } from "../initiator/session.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import type { OperationalParams } from "../iscsi/params.js";
import { type IscsiUrl, parseIscsiUrl, redactUrl } from "../iscsi/url.js";
import {
  buildResult,
  type JobResult,
  type RunResult,
  type TargetReport,
  type TimelineEntry,
  type VerifyMismatchReport,
  type VerifySummary,
} from "../report/result.js";
import { type RunningTarget, startTarget } from "../target/index.js";
import { jobRegion } from "../workload/generator.js";
import type { ResolvedJob, ResolvedWorkload } from "../workload/types.js";
import {
  CTL_GO,
  CTL_SLOTS,
  CTL_STOP,
  type IntervalMessage,
  type VerifyMap,
  type WorkerResult,
  type WorkerTask,
} from "./job-worker.js";
import type { ProgressReporter } from "./progress.js";
import {
  addToAccumulator,
  decodeOp,
  mergeInto,
  newLatencyHistogram,
  newOpAccumulator,
  type OpAccumulator,
  summarizeOp,
} from "./stats.js";

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
  headerDigest?: boolean;
  dataDigest?: boolean;
  progress?: ProgressReporter;
  /** Aborting stops the run cleanly; the result is marked interrupted. */
  signal?: AbortSignal;
  /** Test hook: called after each phase (e.g. to tamper with a backing file). */
  onPhaseEnd?: (phase: number) => Promise<void> | void;
  env?: NodeJS.ProcessEnv;
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

interface StepJob {
  job: ResolvedJob;
  queueDepth: number;
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

interface JobAcc {
  name: string;
  job: ResolvedJob;
  phase: number;
  step: number;
  queueDepth: number;
  read: OpAccumulator;
  write: OpAccumulator;
  measuredMs: number;
  errors: number;
  errorsBySense: Record<string, number>;
  reconnects: number;
  blocksChecked: number;
  mismatchCount: number;
  mismatches: VerifyMismatchReport[];
  maxLagMs: number;
  keptUp: boolean;
}

interface IntervalAcc {
  read: OpAccumulator;
  write: OpAccumulator;
  errors: number;
  ms: number;
}

function addSense(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

const rate = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);

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

  let pool: Piscina | null = null;
  try {
    if (isBuiltin) {
      builtin = await startTarget({ port: 0, luns: [{ kind: "memory", sizeBytes: builtinLunBytes(w) }] });
      urlText = builtin.url(0);
    }
    const url = parseIscsiUrl(urlText!, { target: true, lun: false }, env);
    const lun = url.lun ?? 0;
    const sessionSpec = {
      host: url.host,
      port: url.port,
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
    });
    let negotiated: OperationalParams | null = null;
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

    const jobsOut: JobAcc[] = [];
    const timeline: TimelineEntry[] = [];
    let totalErrors = 0;
    let interrupted = false;
    let failure: string | null = null;
    let stopReason: string | null = null;
    let stepIndex = 0;
    let elapsedBeforeStepSec = 0;
    const totalSteps = allSteps.reduce((n, p) => n + p.length, 0);
    const plannedSec = (totalSteps * (w.durationMs + w.rampTimeMs)) / 1000;

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
        const controls: Int32Array[] = [];
        const accs: JobAcc[] = [];
        const intervals = new Map<number, IntervalAcc>();
        const runs: Array<Promise<WorkerResult>> = [];
        const ports: MessagePort[] = [];
        let readyCount = 0;
        let workersTotal = 0;
        let onReady: (() => void) | null = null;
        const stopAll = (): void => {
          for (const c of controls) {
            Atomics.store(c, CTL_STOP, 1);
          }
        };
        const abortStart = (): void => {
          for (const c of controls) {
            Atomics.store(c, CTL_GO, 2);
            Atomics.notify(c, CTL_GO);
          }
        };

        const onInterval = (acc: JobAcc, m: IntervalMessage): void => {
          const r = decodeOp(m.read);
          const wr = decodeOp(m.write);
          addToAccumulator(acc.read, r);
          addToAccumulator(acc.write, wr);
          acc.errors += m.errors;
          let iv = intervals.get(m.index);
          if (iv === undefined) {
            iv = { read: newOpAccumulator(), write: newOpAccumulator(), errors: 0, ms: 0 };
            intervals.set(m.index, iv);
          }
          addToAccumulator(iv.read, r);
          addToAccumulator(iv.write, wr);
          iv.errors += m.errors;
          if (m.ms > iv.ms) iv.ms = m.ms;
          totalErrors += m.errors;
          if (opts.maxErrors !== null && totalErrors > opts.maxErrors && failure === null) {
            failure = `more than ${opts.maxErrors} I/O error${opts.maxErrors === 1 ? "" : "s"} (${totalErrors})`;
            stopReason = "max-errors";
            stopAll();
          }
        };

        for (const sj of step) {
          const ctlBuf = new SharedArrayBuffer(CTL_SLOTS * 4);
          const ctl = new Int32Array(ctlBuf);
          controls.push(ctl);
          const acc: JobAcc = {
            name: sj.job.name,
            job: sj.job,
            phase: p,
            step: stepNo,
            queueDepth: sj.queueDepth,
            read: newOpAccumulator(),
            write: newOpAccumulator(),
            measuredMs: 0,
            errors: 0,
            errorsBySense: {},
            reconnects: 0,
            blocksChecked: 0,
            mismatchCount: 0,
            mismatches: [],
            maxLagMs: 0,
            keptUp: true,
          };
          accs.push(acc);
          for (let i = 0; i < sj.job.workers; i++) {
            workersTotal++;
            const { port1, port2 } = new MessageChannel();
            ports.push(port1);
            port1.on("message", (m: IntervalMessage | { type: "ready" }) => {
              if (m.type === "ready") {
                readyCount++;
                onReady?.();
              } else if (m.type === "interval") onInterval(acc, m);
            });
            const task: WorkerTask = {
              job: sj.job,
              step: stepNo,
              queueDepth: sj.queueDepth,
              workerIndex: i,
              workerCount: sj.job.workers,
              session: sessionSpec,
              durationMs: w.durationMs,
              rampMs: w.rampTimeMs,
              control: ctlBuf,
              port: port2,
              verify: sj.job.verify ? verifyMap : null,
            };
            runs.push(
              pool.run(task, { transferList: [port2] }).then((res: WorkerResult) => {
                onInterval(acc, res.final);
                acc.measuredMs = Math.max(acc.measuredMs, res.measuredMs);
                addSense(acc.errorsBySense, res.errorsBySense);
                acc.reconnects += res.reconnects;
                acc.blocksChecked += res.blocksChecked;
                acc.mismatchCount += res.mismatchCount;
                for (const m of res.mismatches) {
                  if (acc.mismatches.length < 100) acc.mismatches.push({ job: acc.name, ...m });
                }
                acc.maxLagMs = Math.max(acc.maxLagMs, res.maxLagMs);
                acc.keptUp &&= res.keptUp;
                return res;
              }),
            );
          }
        }

        // Start barrier: all workers logged in -> go together; any failure -> abort the rest.
        const settled = Promise.allSettled(runs);
        const allReady = new Promise<boolean>((resolve) => {
          onReady = () => {
            if (readyCount === workersTotal) resolve(true);
          };
          void settled.then(() => resolve(false));
          for (const r of runs) r.catch(() => resolve(false));
        });
        const ready = await allReady;
        if (ready && !interrupted) {
          for (const c of controls) {
            Atomics.store(c, CTL_GO, 1);
            Atomics.notify(c, CTL_GO);
          }
        } else {
          abortStart();
        }

        const stepStart = Date.now();
        const onStop = (): void => stopAll();
        opts.signal?.addEventListener("abort", onStop);
        if (opts.signal?.aborted) stopAll();
        const tick = (): void => {
          if (progress === undefined) return;
          const last = Math.max(-1, ...intervals.keys());
          const iv = intervals.get(last);
          const ms = iv !== undefined && iv.ms > 0 ? iv.ms : 1000;
          const merged = newLatencyHistogram();
          if (iv !== undefined) {
            mergeInto(merged, iv.read.latency);
            mergeInto(merged, iv.write.latency);
          }
          const elapsed = (Date.now() - stepStart) / 1000;
          progress.update({
            elapsedSec: elapsedBeforeStepSec + elapsed,
            totalSec: plannedSec,
            label:
              totalSteps > 1
                ? `step ${stepNo + 1}/${totalSteps} qd ${step.map((s) => s.queueDepth).join(",")}`
                : "",
            ramp: elapsed * 1000 < w.rampTimeMs,
            readIops: iv ? rate(iv.read.ios, ms) : 0,
            readBytesPerSec: iv ? rate(iv.read.bytes, ms) : 0,
            writeIops: iv ? rate(iv.write.ios, ms) : 0,
            writeBytesPerSec: iv ? rate(iv.write.bytes, ms) : 0,
            p99Us: merged.totalCount > 0 ? merged.getValueAtPercentile(99) : 0,
            errors: totalErrors,
          });
        };
        // a quarter second after each worker interval (every second from the start), so the line shows it
        let ticker: NodeJS.Timeout | null = null;
        const kick = setTimeout(() => {
          ticker = setInterval(tick, 1000);
        }, 250);

        const outcomes = await settled;
        clearTimeout(kick);
        if (ticker !== null) clearInterval(ticker);
        opts.signal?.removeEventListener("abort", onStop);
        for (const port of ports) port.close();
        const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
        if (rejected !== undefined && failure === null) {
          const e = rejected.reason as Error;
          failure = e instanceof Error ? e.message : String(e);
          stopReason = failure;
        }
        jobsOut.push(...accs);

        // timeline of this step
        const stepMs = Math.max(0, ...accs.map((a) => a.measuredMs));
        const indexes = [...intervals.keys()].sort((a, b) => a - b);
        let t = elapsedBeforeStepSec;
        for (const k of indexes) {
          const iv = intervals.get(k)!;
          if (iv.ms <= 0 && iv.read.ios === 0 && iv.write.ios === 0) continue;
          const ms = iv.ms > 0 ? iv.ms : 1000;
          t += ms / 1000;
          timeline.push({
            t: Math.round(t * 1000) / 1000,
            step: stepNo,
            read: timelineOp(iv.read, ms),
            write: timelineOp(iv.write, ms),
            errors: iv.errors,
          });
        }
        elapsedBeforeStepSec += stepMs / 1000;
      }
      if (!interrupted && failure === null) await opts.onPhaseEnd?.(p);
    }
    opts.signal?.removeEventListener("abort", onAbort);
    progress?.done();

    return {
      result: assemble(w, startedAt, target, jobsOut, timeline, interrupted, failure, stopReason),
      failure,
    };
  } finally {
    if (pool !== null) await pool.destroy();
    if (builtin !== null) await builtin.stop();
  }
}

function timelineOp(op: OpAccumulator, ms: number): TimelineEntry["read"] {
  return {
    iops: Math.round(rate(op.ios, ms) * 100) / 100,
    bytesPerSec: Math.round(rate(op.bytes, ms)),
    p99Us: op.latency.totalCount > 0 ? op.latency.getValueAtPercentile(99) : 0,
  };
}

function verifyOf(
  enabled: boolean,
  checked: number,
  count: number,
  failures: VerifyMismatchReport[],
): VerifySummary {
  return { enabled, blocksChecked: checked, mismatches: count, failures: failures.slice(0, 100) };
}

function assemble(
  w: ResolvedWorkload,
  startedAt: Date,
  target: TargetReport,
  jobs: JobAcc[],
  timeline: TimelineEntry[],
  interrupted: boolean,
  failure: string | null,
  stopReason: string | null,
): RunResult {
  const read = newOpAccumulator();
  const write = newOpAccumulator();
  const errorsBySense: Record<string, number> = {};
  let errors = 0;
  let reconnects = 0;
  let checked = 0;
  let mismatches = 0;
  const failures: VerifyMismatchReport[] = [];
  // measured time: steps run one after another, jobs of a step together
  const stepMs = new Map<number, number>();
  for (const j of jobs) stepMs.set(j.step, Math.max(stepMs.get(j.step) ?? 0, j.measuredMs));
  const totalMs = [...stepMs.values()].reduce((a, b) => a + b, 0);
  const jobResults: JobResult[] = jobs.map((j) => {
    addToAccumulator(read, j.read);
    addToAccumulator(write, j.write);
    addSense(errorsBySense, j.errorsBySense);
    errors += j.errors;
    reconnects += j.reconnects;
    checked += j.blocksChecked;
    mismatches += j.mismatchCount;
    failures.push(...j.mismatches);
    const sec = j.measuredMs / 1000;
    return {
      name: j.name,
      phase: j.phase,
      step: j.step,
      queueDepth: j.queueDepth,
      workers: j.job.workers,
      durationSec: Math.round(sec * 1000) / 1000,
      read: summarizeOp(j.read.latency, j.read.service, j.read.ios, j.read.bytes, sec),
      write: summarizeOp(j.write.latency, j.write.service, j.write.ios, j.write.bytes, sec),
      errors: j.errors,
      errorsBySense: j.errorsBySense,
      reconnects: j.reconnects,
      rate:
        j.job.rate === null
          ? null
          : {
              iops: j.job.rate.iops,
              bytesPerSec: j.job.rate.bytesPerSec,
              keptUp: j.keptUp,
              maxLagMs: Math.round(j.maxLagMs),
            },
      verify: verifyOf(j.job.verify, j.blocksChecked, j.mismatchCount, j.mismatches),
    };
  });
  const sec = totalMs / 1000;
  return buildResult({
    workload: w,
    startedAt,
    durationSec: sec,
    // a run that ended early for any reason (SIGINT, error limit, failed worker) is partial
    interrupted: interrupted || failure !== null,
    stopReason,
    target,
    summary: {
      read: summarizeOp(read.latency, read.service, read.ios, read.bytes, sec),
      write: summarizeOp(write.latency, write.service, write.ios, write.bytes, sec),
      errors,
      errorsBySense,
      reconnects,
      verify: verifyOf(
        w.jobs.some((j) => j.verify),
        checked,
        mismatches,
        failures,
      ),
    },
    jobs: jobResults,
    timeline,
  });
}
