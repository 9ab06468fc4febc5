/**
 * The I/O loop of a job worker: `queueDepth` reusable ScsiTasks, each issued again as soon as it
 * completes (or at its slot of the rate schedule), until the duration, an I/O or byte limit or a
 * stop request; then it drains (waits for the commands in flight) and resolves.
 *
 * Recovery is the session's: a task ends once, GOOD or with an error, whatever happened on the
 * wire. A task that ends with an error is an I/O error; one that ends with RecoveryTimeoutError
 * (the session gave up reinstating itself) is fatal: the loop stops and `fatal` holds it.
 *
 * Hot path: one `done` function bound once, per-slot state in typed arrays, no closure or Promise
 * per I/O; the only Promise is the one `run()` returns.
 */
import { RecoveryTimeoutError } from "../initiator/errors.js";
import type { Session } from "../initiator/session.js";
import { newScsiTask, type ScsiTask } from "../initiator/task.js";
import { buildReadAuto, buildWriteAuto } from "../scsi/cdb.js";
import { parseSense } from "../scsi/sense.js";
import { statusName } from "../scsi/status.js";
import type { IoSpec } from "../workload/types.js";
import type { IntervalRecorder } from "./interval-recorder.js";
import { createSchedule, fellBehind, type JobRate, type RateSchedule, takeSlot } from "./rate.js";
import type { Verifier } from "./verifier.js";

export type StopReason = "duration" | "limit" | "stop";

/** What the loop needs of a session: the hot-path submit. */
export type Submitter = Pick<Session, "submit">;

/** Where the commands come from (the workload's I/O generator). */
export interface IoSource {
  next(io: IoSpec): void;
}

export interface IoLoopConfig {
  lun: number;
  queueDepth: number;
  /** The LUN's block size. */
  blockSize: number;
  /** Largest I/O of the job (each slot's buffer). */
  maxIoBytes: number;
  /** Seeds the fill pattern of writes without verify. */
  fillSeed: number;
  /** This worker's share of the job's limits (Infinity: none). */
  iosLimit: number;
  bytesLimit: number;
  /** The job's rate (null: as fast as the target answers) and this worker's part of it. */
  rate: JobRate | null;
  workerIndex: number;
  workerCount: number;
  meanIoBytes: number;
}

/** True for the error of a session that gave up recovering (also across module copies). */
export function isRecoveryTimeout(err: Error): boolean {
  return err instanceof RecoveryTimeoutError || err.name === "RecoveryTimeoutError";
}

/** The error key of a task that did not end GOOD (its sense text, status or transport error). */
export function errorKey(t: ScsiTask): string {
  if (t.error !== null) return `TRANSPORT: ${t.error.message}`;
  const sense = t.status === 2 && t.sense !== null ? parseSense(t.sense) : null;
  return sense !== null ? sense.text : statusName(t.status);
}

export class IoLoop {
  stoppedBy: StopReason = "duration";
  maxLagMs = 0;
  keptUp = true;
  /** The RecoveryTimeoutError that stopped the loop, if one did. */
  fatal: Error | null = null;
  inFlight = 0;
  issuedIos = 0;
  issuedBytes = 0;

  private readonly tasks: ScsiTask[] = [];
  private readonly bufs: Buffer[] = [];
  private readonly fill: Buffer;
  private readonly slotIntended: Float64Array;
  private readonly slotSubmit: Float64Array;
  private readonly slotLba: Float64Array;
  private readonly slotLength: Int32Array;
  private readonly slotRead: Uint8Array;
  private readonly slotWritesSeen: Float64Array;
  private readonly freeSlots: Int32Array;
  private freeCount = 0;
  /** A generated command held back (it overlaps a write in flight) until a completion. */
  private held = false;
  private readonly io: IoSpec = { read: true, offset: 0, length: 0 };
  private stopping = false;
  private startMs = 0;
  private schedule: RateSchedule | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private drainResolve: (() => void) | null = null;
  private readonly done = (t: ScsiTask): void => this.complete(t);
  private readonly pumpLater = (): void => {
    this.pumpTimer = null;
    if (!this.stopping) this.pump();
  };

  constructor(
    private readonly cfg: IoLoopConfig,
    private readonly session: Submitter,
    private readonly source: IoSource,
    private readonly recorder: IntervalRecorder,
    private readonly verifier: Verifier | null,
  ) {
    const qd = cfg.queueDepth;
    this.slotIntended = new Float64Array(qd);
    this.slotSubmit = new Float64Array(qd);
    this.slotLba = new Float64Array(qd);
    this.slotLength = new Int32Array(qd);
    this.slotRead = new Uint8Array(qd);
    this.slotWritesSeen = new Float64Array(qd);
    this.freeSlots = new Int32Array(qd);
    const max = cfg.maxIoBytes;
    this.fill = Buffer.allocUnsafe(max);
    for (let i = 0; i + 4 <= max; i += 4)
      this.fill.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ cfg.fillSeed) >>> 0, i);
    for (let i = 0; i < qd; i++) {
      const t = newScsiTask(this.done);
      t.lun = cfg.lun;
      t.tag = i;
      this.tasks.push(t);
      this.bufs.push(Buffer.alloc(max));
      this.freeSlots[this.freeCount++] = i;
    }
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /** Starts issuing at `startMs` (the rate schedule's origin); resolves once stopped and drained. */
  run(startMs: number): Promise<void> {
    this.startMs = startMs;
    const c = this.cfg;
    if (c.rate !== null)
      this.schedule = createSchedule(c.rate, c.workerIndex, c.workerCount, startMs, c.meanIoBytes);
    const drained = new Promise<void>((resolve) => {
      this.drainResolve = resolve;
    });
    if (!this.stopping) this.pump();
    else if (this.inFlight === 0) this.drainResolve!();
    return drained;
  }

  /** Stops issuing; the promise of run() resolves once the commands in flight completed. */
  stop(reason: StopReason): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stoppedBy = reason;
    if (this.pumpTimer !== null) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = null;
    }
    if (this.inFlight === 0 && this.drainResolve !== null) this.drainResolve();
  }

  private complete(t: ScsiTask): void {
    const now = performance.now();
    const slot = t.tag;
    this.inFlight--;
    const isRead = this.slotRead[slot] === 1;
    const lba = this.slotLba[slot]!;
    const length = this.slotLength[slot]!;
    let ok = t.error === null && t.status === 0;
    if (ok && isRead && t.dataInTransferred !== length) {
      ok = false;
      this.recorder.error("SHORT READ: fewer bytes than requested");
    } else if (!ok) {
      if (t.error !== null && isRecoveryTimeout(t.error)) {
        // the session gave up: not an I/O result but the end of the run
        if (this.fatal === null) this.fatal = t.error;
        this.stop("stop");
      } else {
        this.recorder.error(errorKey(t));
      }
    } else {
      this.recorder.complete(isRead, length, this.slotIntended[slot]!, this.slotSubmit[slot]!, now);
    }
    const v = this.verifier;
    if (v !== null) {
      if (isRead) {
        if (ok) v.checkRead(this.bufs[slot]!, lba, length, this.slotWritesSeen[slot] !== v.writesCompleted);
      } else {
        v.endWrite(this.bufs[slot]!, lba, length, ok, t.reissued);
      }
    }
    this.freeSlots[this.freeCount++] = slot;
    if (this.stopping) {
      if (this.inFlight === 0 && this.drainResolve !== null) this.drainResolve();
      return;
    }
    this.pump();
  }

  private pump(): void {
    const c = this.cfg;
    const io = this.io;
    const v = this.verifier;
    const bs = c.blockSize;
    while (this.freeCount > 0 && !this.stopping) {
      if (this.issuedIos >= c.iosLimit || this.issuedBytes >= c.bytesLimit) {
        this.stoppedBy = "limit";
        if (this.inFlight === 0) this.stop("limit");
        return;
      }
      let now = performance.now();
      let intended = now;
      const schedule = this.schedule;
      if (schedule !== null) {
        if (schedule.next > now) {
          if (this.pumpTimer === null)
            this.pumpTimer = setTimeout(this.pumpLater, Math.max(0, Math.floor(schedule.next - now)));
          return;
        }
        const lag = now - schedule.next;
        if (lag > this.maxLagMs) this.maxLagMs = lag;
        if (this.keptUp && fellBehind(lag, now - this.startMs)) this.keptUp = false;
      }
      if (!this.held) this.source.next(io);
      const lba = io.offset / bs;
      const blocks = io.length / bs;
      // never two writes (or a read and a write) on the same blocks at once: hold the command and
      // issue it from a completion (nothing in flight: nothing it can overlap)
      if (v !== null && this.inFlight > 0 && v.overlapsInflightWrite(lba, blocks)) {
        this.held = true;
        return;
      }
      this.held = false;
      if (schedule !== null) intended = takeSlot(schedule, io.length);
      const slot = this.freeSlots[--this.freeCount]!;
      const t = this.tasks[slot]!;
      const buf = this.bufs[slot]!;
      this.slotRead[slot] = io.read ? 1 : 0;
      this.slotLba[slot] = lba;
      this.slotLength[slot] = io.length;
      t.status = -1;
      t.error = null;
      t.sense = null;
      if (io.read) {
        t.cdbLength = buildReadAuto(t.cdb, lba, blocks);
        t.dataIn = buf;
        t.dataInLength = io.length;
        t.dataOut = null;
        t.dataOutLength = 0;
        this.slotWritesSeen[slot] = v !== null ? v.writesCompleted : 0;
      } else {
        t.cdbLength = buildWriteAuto(t.cdb, lba, blocks);
        if (v !== null) v.beginWrite(buf, lba, io.length);
        t.dataOut = v !== null ? buf : this.fill;
        t.dataOutLength = io.length;
        t.dataIn = null;
        t.dataInLength = 0;
      }
      this.issuedIos++;
      this.issuedBytes += io.length;
      this.inFlight++;
      now = performance.now();
      this.slotSubmit[slot] = now;
      this.slotIntended[slot] = schedule !== null ? intended : now;
      this.session.submit(t);
    }
  }
}
