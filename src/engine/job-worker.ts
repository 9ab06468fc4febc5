/**
 * The piscina worker that runs one worker of one job step: it logs in its own session (its own
 * random ISID), reads the capacity, waits at the start barrier, keeps `queueDepth` reusable
 * ScsiTasks in flight until the duration, an I/O/byte limit or a stop request, drains, reads
 * back what it wrote (verify jobs) and logs out. Every second it posts an encoded interval
 * (histograms + counters) on its MessagePort; the final partial interval is in the return value.
 *
 * Hot path: one `done` function bound once, per-slot metadata in typed arrays, no closures or
 * Promises per I/O.
 */
import type { MessagePort } from "node:worker_threads";
import { openSession, type Session } from "../initiator/session.js";
import { newScsiTask, type ScsiTask } from "../initiator/task.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import { recordUs } from "../result/histogram.js";
import { type EncodedOp, encodeOp, newOpAccumulator, resetOp } from "../result/op.js";
import { parseReadCapacity10, parseReadCapacity16 } from "../scsi/capacity.js";
import { buildReadAuto, buildReadCapacity10, buildReadCapacity16, buildWriteAuto } from "../scsi/cdb.js";
import { parseSense } from "../scsi/sense.js";
import { statusName } from "../scsi/status.js";
import { createIoGenerator, jobRegion, workerSlice } from "../workload/generator.js";
import { checkBlock, type StampMismatch, stampBlock } from "../workload/stamp.js";
import type { IoSpec, ResolvedJob } from "../workload/types.js";
import {
  correctedLatencyUs,
  createSchedule,
  fellBehind,
  meanBlockBytes,
  type RateSchedule,
  takeSlot,
} from "./rate.js";

/** Indexes into the shared control Int32Array. */
export const CTL_READY = 0; // workers logged in (Atomics.add)
export const CTL_GO = 1; // 0 wait, 1 go, 2 abort
export const CTL_STOP = 2; // 1: stop now (SIGINT, max errors)
export const CTL_DRAINED = 3; // workers drained (second barrier before the read-back)
export const CTL_SLOTS = 4;

export const MAX_RECONNECTS = 5;
const REPETITION_SEED_STRIDE = 1_000_003;
const MAX_FAILURES_REPORTED = 100;
const INFLUX = 0xffffffff;

export interface WorkerSessionSpec {
  host: string;
  port: number;
  targetName: string;
  lun: number;
  initiatorName: string;
  chap?: ChapCredentials;
  headerDigest?: boolean;
  dataDigest?: boolean;
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
  read: EncodedOp;
  write: EncodedOp;
  errors: number;
}

export interface ReadyMessage {
  type: "ready";
  workerIndex: number;
}

export interface WorkerResult {
  final: IntervalMessage;
  measuredMs: number;
  errorsBySense: Record<string, number>;
  reconnects: number;
  blocksChecked: number;
  mismatchCount: number;
  mismatches: StampMismatch[];
  maxLagMs: number;
  keptUp: boolean;
  stoppedBy: "duration" | "limit" | "stop";
}

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
    throw new Error(`READ CAPACITY(10) failed: ${statusText(r10.status, r10.sense?.text)}`);
  const c10 = parseReadCapacity10(r10.data);
  if (c10.lastLba !== 0xffffffff) return { blockSize: c10.blockSize, blocks: c10.blocks };
  const n = buildReadCapacity16(cdb, 32);
  const r16 = await session.execute(lun, cdb.subarray(0, n), { dataInLength: 32 });
  if (r16.status !== 0)
    throw new Error(`READ CAPACITY(16) failed: ${statusText(r16.status, r16.sense?.text)}`);
  const c16 = parseReadCapacity16(r16.data);
  return { blockSize: c16.blockSize, blocks: c16.blocks };
}

function statusText(status: number, sense: string | undefined): string {
  return sense ?? statusName(status);
}

function connect(s: WorkerSessionSpec): Promise<Session> {
  return openSession({
    host: s.host,
    port: s.port,
    targetName: s.targetName,
    initiatorName: s.initiatorName,
    chap: s.chap,
    headerDigest: s.headerDigest,
    dataDigest: s.dataDigest,
  });
}

function shareOf(limit: number | null, index: number, count: number): number {
  if (limit === null) return Number.POSITIVE_INFINITY;
  return Math.floor(limit / count) + (index < limit % count ? 1 : 0);
}

export default async function runJobWorker(task: WorkerTask): Promise<WorkerResult> {
  const ctl = new Int32Array(task.control);
  const { job, port } = task;
  const lun = task.session.lun;
  let session: Session;
  try {
    session = await connect(task.session);
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

  // --- verification state -------------------------------------------------------------------
  const verify = job.verify ? task.verify : null;
  const genMap = verify ? new Uint32Array(verify.generations) : new Uint32Array(0);
  const mapBase = verify ? verify.baseLba : 0;
  const mapBlocks = verify ? verify.blocks : 0;
  const inflight = new Uint8Array(verify ? mapBlocks : 0); // in-flight writes per block
  const verifySeed = verify ? verify.seed : 0;
  let blocksChecked = 0;
  let mismatchCount = 0;
  const mismatches: StampMismatch[] = [];
  let writesCompleted = 0;

  // --- slots --------------------------------------------------------------------------------
  const qd = task.queueDepth;
  const maxBytes = Math.max(...job.blockSizes.map((b) => b.bytes));
  const fill = Buffer.allocUnsafe(maxBytes);
  for (let i = 0; i < maxBytes; i += 4)
    fill.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ job.seed) >>> 0, i);
  const bufs: Buffer[] = [];
  const tasks: ScsiTask[] = [];
  const slotIntended = new Float64Array(qd);
  const slotSubmit = new Float64Array(qd);
  const slotLba = new Float64Array(qd);
  const slotLength = new Int32Array(qd);
  const slotRead = new Uint8Array(qd);
  const slotWritesSeen = new Float64Array(qd);
  const freeSlots = new Int32Array(qd);
  let freeCount = 0;

  // --- counters -----------------------------------------------------------------------------
  const read = newOpAccumulator();
  const write = newOpAccumulator();
  let intervalErrors = 0;
  const errorsBySense = new Map<string, number>();
  let reconnects = 0;
  const iosLimit = shareOf(job.maxIos, task.workerIndex, task.workerCount);
  const bytesLimit = shareOf(job.maxBytes, task.workerIndex, task.workerCount);
  let issuedIos = 0;
  let issuedBytes = 0;
  let inFlight = 0;
  let stopping = false;
  let stoppedBy: WorkerResult["stoppedBy"] = "duration";
  let sessionDown = false;
  let fatal: Error | null = null;
  let drainResolve: (() => void) | null = null;
  let pumpTimer: NodeJS.Timeout | null = null;

  let schedule: RateSchedule | null = null;
  let maxLagMs = 0;
  let keptUp = true;
  let startMs = 0;
  let measureStartMs = 0;
  let endMs = 0;

  const io: IoSpec = { read: true, offset: 0, length: 0 };

  function countError(key: string): void {
    intervalErrors++;
    errorsBySense.set(key, (errorsBySense.get(key) ?? 0) + 1);
  }

  function overlapsInflightWrite(lba: number, blocks: number): boolean {
    for (let b = lba - mapBase, e = b + blocks; b < e; b++) {
      if (b >= 0 && b < mapBlocks && inflight[b]! > 0) return true;
    }
    return false;
  }

  function recordMismatch(m: StampMismatch): void {
    mismatchCount++;
    if (mismatches.length < MAX_FAILURES_REPORTED) mismatches.push(m);
  }

  /** Checks blocks of a completed read; `tolerateStale` when writes completed during the read. */
  function checkRead(buf: Buffer, lba: number, length: number, tolerateStale: boolean): void {
    for (let pos = 0, block = lba; pos < length; pos += blockSize, block++) {
      const i = block - mapBase;
      if (i < 0 || i >= mapBlocks || inflight[i]! > 0) continue;
      const expected = genMap[i]!;
      if (expected === 0 || expected === INFLUX) continue;
      blocksChecked++;
      const bad = checkBlock(buf, pos, block, blockSize, expected, verifySeed);
      if (bad !== null && !(tolerateStale && bad.kind === "stale")) recordMismatch(bad);
    }
  }

  function onDone(t: ScsiTask): void {
    const now = performance.now();
    const slot = t.tag;
    inFlight--;
    const isRead = slotRead[slot] === 1;
    const lba = slotLba[slot]!;
    const length = slotLength[slot]!;
    const blocks = length / blockSize;
    let ok = t.error === null && t.status === 0;
    if (ok && isRead && t.dataInTransferred !== length) {
      ok = false;
      countError("SHORT READ: fewer bytes than requested");
    } else if (!ok) {
      if (t.error !== null) {
        countError(`TRANSPORT: ${t.error.message}`);
      } else {
        const sense = t.status === 2 && t.sense !== null ? parseSense(t.sense) : null;
        countError(sense !== null ? sense.text : statusName(t.status));
      }
    } else if (now >= measureStartMs && now <= endMs) {
      // Counted by completion inside the measured window: the commands in flight when the ramp
      // ends complete in it (and are counted), those that drain after the end do not, so that
      // throughput is completions over the measured time without a bias at either edge.
      const op = isRead ? read : write;
      op.ios++;
      op.bytes += length;
      const submit = slotSubmit[slot]!;
      recordUs(op.latency, correctedLatencyUs(slotIntended[slot]!, submit, now));
      recordUs(op.service, (now - submit) * 1000);
    }
    if (verify !== null) {
      if (isRead) {
        if (ok) checkRead(bufs[slot]!, lba, length, slotWritesSeen[slot] !== writesCompleted);
      } else {
        for (let b = lba - mapBase, e = b + blocks, g = 0; b < e; b++) {
          if (b < 0 || b >= mapBlocks) continue;
          inflight[b] = inflight[b]! - 1;
          // the generation this write carried is in its stamp: re-read it from the buffer
          g = bufs[slot]!.readUInt32BE((b - (lba - mapBase)) * blockSize + 16);
          genMap[b] = ok ? g : INFLUX; // a failed write leaves the block unknown
        }
        writesCompleted++;
      }
    }
    freeSlots[freeCount++] = slot;
    if (stopping || sessionDown) {
      if (inFlight === 0) onIdle();
      return;
    }
    pump();
  }

  function onIdle(): void {
    if (stopping) {
      if (drainResolve !== null) drainResolve();
      return;
    }
    if (sessionDown) void reconnect();
  }

  async function reconnect(): Promise<void> {
    if (reconnects >= MAX_RECONNECTS) {
      fatal = new Error(`session lost ${reconnects + 1} times; giving up`);
      stop("stop");
      return;
    }
    reconnects++;
    await new Promise((r) => setTimeout(r, 100 * reconnects));
    try {
      session = await connect(task.session);
      session.onClose = onSessionClose;
      sessionDown = false;
      if (!stopping) pump();
      else if (drainResolve !== null) drainResolve();
    } catch {
      if (stopping) {
        if (drainResolve !== null) drainResolve();
      } else void reconnect();
    }
  }

  function onSessionClose(err: Error | null): void {
    if (err === null || stopping) return;
    sessionDown = true;
    if (inFlight === 0) onIdle();
  }

  function pumpLater(): void {
    pumpTimer = null;
    if (!stopping && !sessionDown) pump();
  }

  function pump(): void {
    while (freeCount > 0 && !stopping) {
      if (issuedIos >= iosLimit || issuedBytes >= bytesLimit) {
        stoppedBy = "limit";
        if (inFlight === 0) stop("limit");
        return;
      }
      let now = performance.now();
      let intended = now;
      if (schedule !== null) {
        if (schedule.next > now) {
          if (pumpTimer === null)
            pumpTimer = setTimeout(pumpLater, Math.max(0, Math.floor(schedule.next - now)));
          return;
        }
        const lag = now - schedule.next;
        if (lag > maxLagMs) maxLagMs = lag;
        if (keptUp && fellBehind(lag, now - startMs)) keptUp = false;
      }
      gen.next(io);
      const lba = io.offset / blockSize;
      const blocks = io.length / blockSize;
      if (verify !== null && overlapsInflightWrite(lba, blocks)) {
        // never two writes (or a read and a write) on the same blocks at once: retry from a completion
        if (inFlight > 0) return;
      }
      if (schedule !== null) intended = takeSlot(schedule, io.length);
      const slot = freeSlots[--freeCount]!;
      const t = tasks[slot]!;
      const buf = bufs[slot]!;
      slotRead[slot] = io.read ? 1 : 0;
      slotLba[slot] = lba;
      slotLength[slot] = io.length;
      slotIntended[slot] = intended;
      t.status = -1;
      t.error = null;
      t.sense = null;
      if (io.read) {
        t.cdbLength = buildReadAuto(t.cdb, lba, blocks);
        t.dataIn = buf;
        t.dataInLength = io.length;
        t.dataOut = null;
        t.dataOutLength = 0;
        slotWritesSeen[slot] = writesCompleted;
      } else {
        t.cdbLength = buildWriteAuto(t.cdb, lba, blocks);
        if (verify !== null) {
          for (let b = lba - mapBase, pos = 0; pos < io.length; b++, pos += blockSize) {
            let g = 1;
            if (b >= 0 && b < mapBlocks) {
              const cur = genMap[b]!;
              g = cur === INFLUX ? 1 : cur + 1;
              inflight[b] = inflight[b]! + 1;
            }
            stampBlock(buf, pos, lba + pos / blockSize, blockSize, g, verifySeed);
          }
        }
        t.dataOut = verify !== null ? buf : fill;
        t.dataOutLength = io.length;
        t.dataIn = null;
        t.dataInLength = 0;
      }
      issuedIos++;
      issuedBytes += io.length;
      inFlight++;
      now = performance.now();
      slotSubmit[slot] = now;
      if (schedule === null) slotIntended[slot] = now;
      session.submit(t);
    }
  }

  function stop(reason: WorkerResult["stoppedBy"]): void {
    if (stopping) return;
    stopping = true;
    stoppedBy = reason;
    if (pumpTimer !== null) clearTimeout(pumpTimer);
    if (inFlight === 0 && drainResolve !== null) drainResolve();
  }

  for (let i = 0; i < qd; i++) {
    const t = newScsiTask(onDone);
    t.lun = lun;
    t.tag = i;
    tasks.push(t);
    bufs.push(Buffer.alloc(maxBytes));
    freeSlots[freeCount++] = i;
  }
  session.onClose = onSessionClose;

  // --- start barrier --------------------------------------------------------------------------
  Atomics.add(ctl, CTL_READY, 1);
  Atomics.notify(ctl, CTL_READY);
  port.postMessage({ type: "ready", workerIndex: task.workerIndex } satisfies ReadyMessage);
  await waitWhileEquals(ctl, CTL_GO, 0);
  if (Atomics.load(ctl, CTL_GO) === 2) {
    await session.logout().catch(() => session.close());
    port.close();
    throw new Error("aborted before the start");
  }

  startMs = performance.now();
  measureStartMs = startMs + task.rampMs;
  endMs = measureStartMs + task.durationMs;
  if (job.rate !== null) {
    schedule = createSchedule(
      job.rate,
      task.workerIndex,
      task.workerCount,
      startMs,
      meanBlockBytes(job.blockSizes),
    );
  }

  // Intervals cover measured time only: the ramp is neither recorded nor reported.
  let intervalIndex = 0;
  let nextIntervalAt = measureStartMs + 1000;
  let lastIntervalAt = measureStartMs;

  function snapshot(now: number, index: number): IntervalMessage {
    const msg: IntervalMessage = {
      type: "interval",
      index,
      ramp: false,
      ms: Math.max(0, now - lastIntervalAt),
      read: encodeOp(read),
      write: encodeOp(write),
      errors: intervalErrors,
    };
    resetOp(read);
    resetOp(write);
    intervalErrors = 0;
    lastIntervalAt = now;
    return msg;
  }

  const drained = new Promise<void>((resolve) => {
    drainResolve = resolve;
  });
  const ticker = setInterval(() => {
    const now = performance.now();
    if (Atomics.load(ctl, CTL_STOP) === 1) stop("stop");
    if (now >= endMs) stop("duration");
    if (!stopping && now >= nextIntervalAt) {
      port.postMessage(snapshot(Math.min(now, endMs), intervalIndex++));
      nextIntervalAt += 1000;
    }
  }, 50);
  const endTimer = setTimeout(() => stop("duration"), Math.max(0, endMs - performance.now()));

  pump();
  await drained;
  clearInterval(ticker);
  clearTimeout(endTimer);
  if (pumpTimer !== null) clearTimeout(pumpTimer);
  const stopAt = performance.now();
  const measuredMs = Math.max(0, Math.min(stopAt, endMs) - measureStartMs);
  const final = snapshot(Math.max(measureStartMs, Math.min(stopAt, endMs)), intervalIndex);

  // --- read-back of the written region (verify jobs) -------------------------------------------
  if (verify !== null && fatal === null && !sessionDown) {
    Atomics.add(ctl, CTL_DRAINED, 1);
    while (Atomics.load(ctl, CTL_DRAINED) < task.workerCount && Atomics.load(ctl, CTL_GO) !== 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await readBack();
  }

  async function readBack(): Promise<void> {
    const region = jobRegion(job, lunBytes, blockSize);
    const slice = workerSlice(region, blockSize, task.workerIndex, task.workerCount);
    const first = Math.max(slice.start / blockSize, mapBase);
    const last = Math.min(slice.end / blockSize, mapBase + mapBlocks);
    const chunkBlocks = Math.max(1, Math.floor(65536 / blockSize));
    const cdb = Buffer.alloc(16);
    let lba = first;
    while (lba < last) {
      // skip blocks never written
      while (lba < last && (genMap[lba - mapBase] === 0 || genMap[lba - mapBase] === INFLUX)) lba++;
      if (lba >= last) break;
      let n = 1;
      while (n < chunkBlocks && lba + n < last && genMap[lba + n - mapBase] !== 0) n++;
      const len = buildReadAuto(cdb, lba, n);
      const r = await session.execute(lun, cdb.subarray(0, len), { dataInLength: n * blockSize });
      if (r.status !== 0) {
        countError(r.sense?.text ?? statusName(r.status));
      } else {
        checkRead(r.data, lba, Math.min(r.data.length, n * blockSize), false);
      }
      lba += n;
    }
  }

  port.close();
  try {
    await session.logout();
  } catch {
    session.close();
  }
  if (fatal !== null) throw fatal;
  final.errors = intervalErrors + final.errors;
  return {
    final,
    measuredMs,
    errorsBySense: Object.fromEntries(errorsBySense),
    reconnects,
    blocksChecked,
    mismatchCount,
    mismatches,
    maxLagMs,
    keptUp,
    stoppedBy,
  };
}
