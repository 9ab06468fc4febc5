/**
 * One measured repetition of one step: a piscina task per job worker, the start barrier (all
 * workers logged in, then go together; any failure aborts the rest), live progress, the error
 * limit, and the workers' per-second intervals reduced (src/result/reduce.ts) into per-job and
 * per-step accumulators. Each repetition logs in afresh and has its own ramp.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { Piscina } from "piscina";
import { mergeInto, newLatencyHistogram } from "../result/histogram.js";
import { addPackedOp, newOpAccumulator, type OpAccumulator } from "../result/op.js";
import {
  addPackedInterval,
  addRecovery,
  addSenseCounts,
  type IntervalAccumulator,
  MAX_VERIFY_FAILURES,
  newRecoveryReport,
} from "../result/reduce.js";
import type { RecoveryReport, VerifyMismatchReport } from "../result/types.js";
import type { ResolvedJob } from "../workload/types.js";
import {
  CTL_GO,
  CTL_SLOTS,
  CTL_STOP,
  type IntervalMessage,
  type SessionEventMessage,
  type VerifyMap,
  type WorkerResult,
  type WorkerSessionSpec,
  type WorkerTask,
} from "./job-worker.js";
import type { ProgressReporter } from "./progress.js";

export interface StepJob {
  job: ResolvedJob;
  queueDepth: number;
}

/** What one job measured in one repetition of a step. */
export interface JobRepAcc {
  job: ResolvedJob;
  queueDepth: number;
  read: OpAccumulator;
  write: OpAccumulator;
  /** The job's own intervals (its workers added up), by interval index. */
  intervals: Map<number, IntervalAccumulator>;
  measuredMs: number;
  errors: number;
  errorsBySense: Record<string, number>;
  reconnects: number;
  /** The job's sessions' recovery (its workers added up). */
  recovery: RecoveryReport;
  blocksChecked: number;
  mismatchCount: number;
  mismatches: VerifyMismatchReport[];
  maxLagMs: number;
  keptUp: boolean;
}

export interface StepRunContext {
  pool: Piscina;
  session: WorkerSessionSpec;
  verifyMap: VerifyMap | null;
  durationMs: number;
  rampMs: number;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** Shared across steps: the error count so far and the limit. */
  errors: { total: number; max: number | null };
  /** Progress figures: seconds already run and planned in all, and the step's label. */
  elapsedBeforeSec: number;
  plannedSec: number;
  label: string;
  /** Recovery events of the workers' sessions, one line each. */
  onSessionEvent?: (line: string) => void;
}

export interface StepRunOutcome {
  jobs: JobRepAcc[];
  /** The step's intervals (all its jobs added up), by index: the timeline. */
  intervals: Map<number, IntervalAccumulator>;
  /** Set when the error limit was passed or a worker failed. */
  failure: string | null;
  stopReason: string | null;
}

const rate = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);

function newJobRepAcc(sj: StepJob): JobRepAcc {
  return {
    job: sj.job,
    queueDepth: sj.queueDepth,
    read: newOpAccumulator(),
    write: newOpAccumulator(),
    intervals: new Map(),
    measuredMs: 0,
    errors: 0,
    errorsBySense: {},
    reconnects: 0,
    recovery: newRecoveryReport(),
    blocksChecked: 0,
    mismatchCount: 0,
    mismatches: [],
    maxLagMs: 0,
    keptUp: true,
  };
}

/** Runs repetition `repetition` of step `stepNo` to its end and returns what it measured. */
export async function runStepOnce(
  ctx: StepRunContext,
  step: StepJob[],
  stepNo: number,
  repetition: number,
): Promise<StepRunOutcome> {
  const controls: Int32Array[] = [];
  const accs: JobRepAcc[] = [];
  const intervals = new Map<number, IntervalAccumulator>();
  const runs: Array<Promise<WorkerResult>> = [];
  const ports: MessagePort[] = [];
  let readyCount = 0;
  let workersTotal = 0;
  let onReady: (() => void) | null = null;
  let failure: string | null = null;
  let stopReason: string | null = null;
  const stopAll = (): void => {
    for (const c of controls) Atomics.store(c, CTL_STOP, 1);
  };
  const setGo = (value: 1 | 2): void => {
    for (const c of controls) {
      Atomics.store(c, CTL_GO, value);
      Atomics.notify(c, CTL_GO);
    }
  };

  // Once per worker per second: add the worker's packed interval straight into its job's total,
  // its job's interval and the step's interval (the timeline); no histogram is made for the part.
  const onInterval = (acc: JobRepAcc, m: IntervalMessage): void => {
    addPackedOp(acc.read, m.read);
    addPackedOp(acc.write, m.write);
    acc.errors += m.errors;
    addPackedInterval(acc.intervals, m.index, m);
    addPackedInterval(intervals, m.index, m);
    ctx.errors.total += m.errors;
    const max = ctx.errors.max;
    if (max !== null && ctx.errors.total > max && failure === null) {
      failure = `more than ${max} I/O error${max === 1 ? "" : "s"} (${ctx.errors.total})`;
      stopReason = "max-errors";
      stopAll();
    }
  };

  for (const sj of step) {
    const ctlBuf = new SharedArrayBuffer(CTL_SLOTS * 4);
    controls.push(new Int32Array(ctlBuf));
    const acc = newJobRepAcc(sj);
    accs.push(acc);
    for (let i = 0; i < sj.job.workers; i++) {
      workersTotal++;
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      port1.on("message", (m: IntervalMessage | SessionEventMessage | { type: "ready" }) => {
        if (m.type === "ready") {
          readyCount++;
          onReady?.();
        } else if (m.type === "interval") onInterval(acc, m);
        else if (m.type === "event") ctx.onSessionEvent?.(m.text);
      });
      const task: WorkerTask = {
        job: sj.job,
        step: stepNo,
        repetition,
        queueDepth: sj.queueDepth,
        workerIndex: i,
        workerCount: sj.job.workers,
        session: ctx.session,
        durationMs: ctx.durationMs,
        rampMs: ctx.rampMs,
        control: ctlBuf,
        port: port2,
        verify: sj.job.verify ? ctx.verifyMap : null,
      };
      runs.push(
        ctx.pool.run(task, { transferList: [port2] }).then((res: WorkerResult) => {
          onInterval(acc, res.final);
          acc.measuredMs = Math.max(acc.measuredMs, res.measuredMs);
          addSenseCounts(acc.errorsBySense, res.errorsBySense);
          acc.reconnects += res.reconnects;
          addRecovery(acc.recovery, res.recovery);
          acc.blocksChecked += res.blocksChecked;
          acc.mismatchCount += res.mismatchCount;
          for (const m of res.mismatches) {
            if (acc.mismatches.length < MAX_VERIFY_FAILURES) acc.mismatches.push({ job: sj.job.name, ...m });
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
  const ready = await new Promise<boolean>((resolve) => {
    onReady = () => {
      if (readyCount === workersTotal) resolve(true);
    };
    void settled.then(() => resolve(false));
    for (const r of runs) r.catch(() => resolve(false));
  });
  setGo(ready && ctx.signal?.aborted !== true ? 1 : 2);
  // A worker that fails (e.g. its session gave up recovering) ends the step: the others stop too.
  for (const r of runs) r.catch(stopAll);

  const stepStart = Date.now();
  const onStop = (): void => stopAll();
  ctx.signal?.addEventListener("abort", onStop);
  if (ctx.signal?.aborted) stopAll();
  // one histogram for every progress line (a new one each second is fresh memory each second)
  const merged = newLatencyHistogram();
  const tick = (): void => {
    if (ctx.progress === undefined) return;
    const last = Math.max(-1, ...intervals.keys());
    const iv = intervals.get(last);
    const ms = iv !== undefined && iv.ms > 0 ? iv.ms : 1000;
    merged.reset();
    if (iv !== undefined) {
      mergeInto(merged, iv.read.latency);
      mergeInto(merged, iv.write.latency);
    }
    const elapsed = (Date.now() - stepStart) / 1000;
    ctx.progress.update({
      elapsedSec: ctx.elapsedBeforeSec + elapsed,
      totalSec: ctx.plannedSec,
      label: ctx.label,
      ramp: elapsed * 1000 < ctx.rampMs,
      readIops: iv ? rate(iv.read.ios, ms) : 0,
      readBytesPerSec: iv ? rate(iv.read.bytes, ms) : 0,
      writeIops: iv ? rate(iv.write.ios, ms) : 0,
      writeBytesPerSec: iv ? rate(iv.write.bytes, ms) : 0,
      p99Us: merged.totalCount > 0 ? merged.getValueAtPercentile(99) : 0,
      errors: ctx.errors.total,
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
  ctx.signal?.removeEventListener("abort", onStop);
  for (const port of ports) port.close();
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (rejected !== undefined && failure === null) {
    const e = rejected.reason as Error;
    failure = e instanceof Error ? e.message : String(e);
    stopReason = failure;
  }
  return { jobs: accs, intervals, failure, stopReason };
}
