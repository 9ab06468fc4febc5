/**
 * The piscina worker that runs one worker of one job step, as glue between its parts: it logs in
 * its own session (its own random ISID; the session recovers from connection loss by itself),
 * reads the capacity, waits at the start barrier, runs the I/O loop (io-loop.ts) until the
 * duration, a limit or a stop request, posts an encoded interval every second (interval-recorder.ts),
 * waits for the job's other workers to drain, reads back what it wrote (verifier.ts, verify jobs)
 * and logs out. The final partial interval is in the return value.
 *
 * A session that gave up recovering (RecoveryTimeoutError) fails the worker with that error's
 * one-line message; the runner stops the run with it.
 */
import { outageUpTo } from "../initiator/recovery-stats.js";
import { openSession, type Session } from "../initiator/session.js";
import { parseReadCapacity10, parseReadCapacity16 } from "../scsi/capacity.js";
import { buildReadCapacity10, buildReadCapacity16 } from "../scsi/cdb.js";
import { statusName } from "../scsi/status.js";
import { createIoGenerator, jobRegion, workerSlice } from "../workload/generator.js";
import { IntervalRecorder } from "./interval-recorder.js";
import { IoLoop } from "./io-loop.js";
import { meanBlockBytes } from "./rate.js";
import { Verifier } from "./verifier.js";
import {
  CTL_DRAINED,
  CTL_GO,
  CTL_READY,
  CTL_STOP,
  type ReadyMessage,
  type SessionEventMessage,
  type WorkerRecovery,
  type WorkerResult,
  type WorkerSessionSpec,
  type WorkerTask,
} from "./worker-messages.js";

export * from "./worker-messages.js";

const REPETITION_SEED_STRIDE = 1_000_003;
const TICK_MS = 50;

type AtomicsWithWaitAsync = typeof Atomics & {
  waitAsync(
    ta: Int32Array,
    index: number,
    value: number,
    timeout?: number,
  ): { async: boolean; value: Promise<string> | string };
};

async function waitWhileEquals(ctl: Int32Array, index: number, value: number): Promise<void> {
  const A = Atomics as AtomicsWithWaitAsync;
  while (Atomics.load(ctl, index) === value) {
    const r = A.waitAsync(ctl, index, value, 1000);
    if (r.async) await r.value;
  }
}

async function readCapacity(session: Session, lun: number): Promise<{ blockSize: number; blocks: number }> {
  const cdb = Buffer.alloc(16);
  buildReadCapacity10(cdb);
  const r10 = await session.execute(lun, cdb.subarray(0, 10), { dataInLength: 8 });
  if (r10.status !== 0)
    throw new Error(`READ CAPACITY(10) failed: ${r10.sense?.text ?? statusName(r10.status)}`);
  const c10 = parseReadCapacity10(r10.data);
  if (c10.lastLba !== 0xffffffff) return { blockSize: c10.blockSize, blocks: c10.blocks };
  const n = buildReadCapacity16(cdb, 32);
  const r16 = await session.execute(lun, cdb.subarray(0, n), { dataInLength: 32 });
  if (r16.status !== 0)
    throw new Error(`READ CAPACITY(16) failed: ${r16.sense?.text ?? statusName(r16.status)}`);
  const c16 = parseReadCapacity16(r16.data);
  return { blockSize: c16.blockSize, blocks: c16.blocks };
}

/** The worker's session, with the run's recovery options. */
export function connect(s: WorkerSessionSpec, onEvent?: (message: string) => void): Promise<Session> {
  return openSession({
    host: s.host,
    port: s.port,
    targetName: s.targetName,
    initiatorName: s.initiatorName,
    chap: s.chap,
    headerDigest: s.headerDigest,
    dataDigest: s.dataDigest,
    commandTimeoutMs: s.commandTimeoutMs,
    noopTimeoutMs: s.noopTimeoutMs,
    recoveryTimeoutMs: s.recoveryTimeoutMs,
    onEvent,
  });
}

/** This worker's share of a job's limit (null: none). */
export function shareOf(limit: number | null, index: number, count: number): number {
  if (limit === null) return Number.POSITIVE_INFINITY;
  return Math.floor(limit / count) + (index < limit % count ? 1 : 0);
}

/** The session's recovery counters as the result reports them (outage up to `now`). */
export function recoveryOf(session: Session, recoveredBlocks: number, now: number): WorkerRecovery {
  const r = session.recovery;
  return {
    reconnects: r.reconnects,
    reinstatements: r.reinstatements,
    reissued: r.reissued,
    aborts: r.aborts,
    commandTimeouts: r.commandTimeouts,
    unitAttentions: r.unitAttentions,
    busyRetries: r.busyRetries,
    outageMs: Math.round(outageUpTo(r, now)),
    recoveredBlocks,
  };
}

async function endSession(session: Session, failed: boolean): Promise<void> {
  if (failed) {
    session.close();
    return;
  }
  try {
    await session.logout();
  } catch {
    session.close();
  }
}

export default async function runJobWorker(task: WorkerTask): Promise<WorkerResult> {
  const ctl = new Int32Array(task.control);
  const { job, port } = task;
  const lun = task.session.lun;
  let session: Session;
  try {
    // recovery events (connection lost, reinstated, aborts) go to the runner, which logs them
    const who = `${task.job.name} worker ${task.workerIndex + 1}`;
    session = await connect(task.session, (text) =>
      task.port.postMessage({ type: "event", text: `${who}: ${text}` } satisfies SessionEventMessage),
    );
  } catch (err) {
    Atomics.store(ctl, CTL_GO, 2);
    Atomics.notify(ctl, CTL_GO);
    throw err;
  }
  const cap = await readCapacity(session, lun);
  const blockSize = cap.blockSize;
  const lunBytes = cap.blocks * blockSize;
  const gen = createIoGenerator(job, {
    lunBlockSize: blockSize,
    lunBytes,
    workerIndex: task.workerIndex,
    workerCount: task.workerCount,
    // each step and each repetition draws its own reproducible offsets
    seed: job.seed + task.step + REPETITION_SEED_STRIDE * task.repetition,
  });
  const verifier = job.verify && task.verify !== null ? new Verifier(task.verify, blockSize) : null;
  const recorder = new IntervalRecorder(session.recovery);
  const loop = new IoLoop(
    {
      lun,
      queueDepth: task.queueDepth,
      blockSize,
      maxIoBytes: Math.max(...job.blockSizes.map((b) => b.bytes)),
      fillSeed: job.seed,
      iosLimit: shareOf(job.maxIos, task.workerIndex, task.workerCount),
      bytesLimit: shareOf(job.maxBytes, task.workerIndex, task.workerCount),
      rate: job.rate,
      workerIndex: task.workerIndex,
      workerCount: task.workerCount,
      meanIoBytes: meanBlockBytes(job.blockSizes),
    },
    session,
    gen,
    recorder,
    verifier,
  );

  // --- start barrier --------------------------------------------------------------------------
  Atomics.add(ctl, CTL_READY, 1);
  Atomics.notify(ctl, CTL_READY);
  port.postMessage({ type: "ready", workerIndex: task.workerIndex } satisfies ReadyMessage);
  await waitWhileEquals(ctl, CTL_GO, 0);
  if (Atomics.load(ctl, CTL_GO) === 2) {
    await endSession(session, false);
    port.close();
    throw new Error("aborted before the start");
  }

  const startMs = performance.now();
  const measureStartMs = startMs + task.rampMs;
  const endMs = measureStartMs + task.durationMs;
  recorder.window(measureStartMs, endMs);

  // Intervals cover measured time only: the ramp is neither recorded nor reported.
  let intervalIndex = 0;
  let nextIntervalAt = measureStartMs + 1000;
  const ticker = setInterval(() => {
    const now = performance.now();
    if (Atomics.load(ctl, CTL_STOP) === 1) loop.stop("stop");
    if (now >= endMs) loop.stop("duration");
    if (now >= measureStartMs) recorder.beginMeasuring(now);
    if (!loop.stopped && now >= nextIntervalAt) {
      port.postMessage(recorder.snapshot(Math.min(now, endMs), intervalIndex++));
      nextIntervalAt += 1000;
    }
  }, TICK_MS);
  const endTimer = setTimeout(() => loop.stop("duration"), Math.max(0, endMs - performance.now()));

  await loop.run(startMs);
  clearInterval(ticker);
  clearTimeout(endTimer);
  const stopAt = performance.now();
  const measuredMs = Math.max(0, Math.min(stopAt, endMs) - measureStartMs);
  const final = recorder.snapshot(Math.max(measureStartMs, Math.min(stopAt, endMs)), intervalIndex);

  // --- read-back of the written region (verify jobs), once every worker of the job drained ------
  const fatal = loop.fatal;
  if (verifier !== null && fatal === null) {
    Atomics.add(ctl, CTL_DRAINED, 1);
    while (Atomics.load(ctl, CTL_DRAINED) < task.workerCount && Atomics.load(ctl, CTL_GO) !== 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const region = jobRegion(job, lunBytes, blockSize);
    const slice = workerSlice(region, blockSize, task.workerIndex, task.workerCount);
    try {
      await verifier.readBack(session, lun, slice.start / blockSize, slice.end / blockSize, (key) =>
        recorder.error(key),
      );
    } catch (err) {
      port.close();
      session.close();
      throw err;
    }
  }

  port.close();
  const recovery = recoveryOf(session, verifier?.recoveredBlocks ?? 0, performance.now());
  await endSession(session, fatal !== null);
  if (fatal !== null) throw fatal;
  // errors of the read-back come after the final snapshot
  final.errors += recorder.pendingErrors;
  return {
    final,
    measuredMs,
    errorsBySense: Object.fromEntries(recorder.errorsBySense),
    reconnects: recovery.reconnects,
    recovery,
    blocksChecked: verifier?.blocksChecked ?? 0,
    mismatchCount: verifier?.mismatchCount ?? 0,
    mismatches: verifier?.mismatches ?? [],
    maxLagMs: loop.maxLagMs,
    keptUp: loop.keptUp,
    stoppedBy: loop.stoppedBy,
  };
}
