/**
 * An initiator session in the full feature phase (one connection, ErrorRecoveryLevel 0).
 *
 * Hot path design: tasks live in reusable slots indexed by the low bits of their ITT (no Map, no
 * Promise, no closure per command); Data-In is copied straight into the caller's buffer; every PDU
 * sent during one tick goes out in one corked write (connection.ts); timeouts and keep-alive
 * share one coarse timer instead of a timer per command.
 */

import { InputError } from "../common/errors.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import { encodeLun } from "../iscsi/lun.js";
import type { OperationalParams } from "../iscsi/params.js";
import {
  AsyncEvent,
  type AsyncMessage,
  type DataIn,
  Opcode,
  type Pdu,
  type R2T,
  RESERVED_TAG,
  type Reject,
  type ScsiResponse,
  TmfFunction,
  TmfResponse,
} from "../iscsi/pdu.js";
import { buildText, parseText, TextAssembler, type TextPairs } from "../iscsi/text.js";
import { parseSense, type Sense } from "../scsi/sense.js";
import type { Connection, ConnectionHandler } from "./connection.js";
import { SessionError } from "./errors.js";
import { connectAndLogin, type LoginResult, type SessionType } from "./login.js";
import { serialAdd, serialGt, serialLe, serialLt } from "./serial.js";
import { newRecoveryCounters, type RecoveryCounters } from "./recovery-stats.js";
import { newScsiTask, type ScsiTask } from "./task.js";

export interface SessionOptions {
  host: string;
  port: number;
  targetName: string;
  initiatorName: string;
  /** 48-bit; default: random, type 0x80 (random qualifier, RFC 7143 11.12.5). */
  isid?: number;
  /** One-way when targetUser/targetSecret absent, else mutual. */
  chap?: ChapCredentials;
  /** Request CRC32C. */
  headerDigest?: boolean;
  dataDigest?: boolean;
  /** Our proposals (MaxBurstLength, ImmediateData, ...). */
  params?: Partial<OperationalParams>;
  /** Connect and login timeout (each attempt); default 15000. */
  timeoutMs?: number;
  /**
   * A command without an answer this long is aborted (ABORT TASK, then LUN RESET, then the
   * connection is dropped and recovered); default 30000 (run --command-timeout).
   */
  commandTimeoutMs?: number;
  /** Initiator NOP-Out keep-alive interval on an idle or stalled connection; 0 disables; default 5000. */
  nopIntervalMs?: number;
  /** A NOP-Out ping unanswered this long means the connection is dead; default 10000 (run --noop-timeout). */
  noopTimeoutMs?: number;
  /**
   * After a connection loss, how long to keep trying to reinstate the session before failing the
   * outstanding commands; 0 fails them at once; default 120000 (run --recovery-timeout).
   */
  recoveryTimeoutMs?: number;
  /** Called for each recovery event, for logs (never with secrets). */
  onEvent?: (message: string) => void;
  /** First CmdSN of the session (default 1); tests use values near 2^32 to exercise wrap-around. */
  initialCmdSN?: number;
}

export interface CommandResult {
  status: number;
  sense: Sense | null;
  data: Buffer;
  residual: number;
}

export interface Session {
  readonly negotiated: OperationalParams;
  readonly targetName: string;
  readonly isid: number;
  readonly tsih: number;
  /** Sent, not yet completed. */
  readonly inFlight: number;
  /** Waiting for the CmdSN window. */
  readonly queued: number;
  /** What recovery did so far (cumulative, updated in place). */
  readonly recovery: RecoveryCounters;
  /** Hot path: never throws; task.done is called exactly once. Queues inside when the CmdSN window (MaxCmdSN) is closed. */
  submit(task: ScsiTask): void;
  /** Convenience for control commands: retries once on a UNIT ATTENTION. Rejects only on transport errors. */
  execute(
    lun: number,
    cdb: Buffer,
    opts?: { dataInLength?: number; dataOut?: Buffer },
  ): Promise<CommandResult>;
  /** TMF response code. */
  abortTask(task: ScsiTask): Promise<number>;
  lunReset(lun: number): Promise<number>;
  /** NOP-Out round trip in microseconds. */
  ping(): Promise<number>;
  /** Waits for in-flight tasks, then Logout (close session). */
  logout(): Promise<void>;
  /** Drops the connection now; pending tasks end with an error. */
  close(): void;
  /** Called once when the session ends (null after a clean logout or close()). */
  onClose: ((err: Error | null) => void) | null;
}

/** Fast defaults we propose (each overridable through SessionOptions.params). */
export const INITIATOR_DEFAULT_PARAMS: Readonly<OperationalParams> = Object.freeze({
  headerDigest: false,
  dataDigest: false,
  maxRecvDataSegmentLength: 262144,
  peerMaxRecvDataSegmentLength: 8192,
  maxBurstLength: 1048576,
  firstBurstLength: 262144,
  initialR2T: false,
  immediateData: true,
  maxOutstandingR2T: 8,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  defaultTime2Wait: 2,
  defaultTime2Retain: 0,
  errorRecoveryLevel: 0,
  maxConnections: 1,
});

const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const MAX_SLOTS = 1 << SLOT_BITS;
const GEN_MASK = 0x7ff; // 11 bits: task ITTs stay below 2^31; control ITTs have bit 31 set
const SENSE_MAX = 252;
const EMPTY = Buffer.alloc(0);

const FREE = 0;
const QUEUED = 1;
const INFLIGHT = 2;
/** Completed towards the caller (timeout/abort) but the target may still answer: the ITT stays reserved. */
const ZOMBIE = 3;
/** Ended towards the caller while still in the CmdSN wait queue: freed when the queue reaches it. */
const CANCELLED = 4;

interface Slot {
  index: number;
  gen: number;
  itt: number;
  state: number;
  task: ScsiTask | null;
  cmdSN: number;
  expDataSN: number;
  transferred: number;
  startTick: number;
  uaRetried: boolean;
  senseBuf: Buffer;
}

interface ControlOp {
  kind: "nop" | "tmf" | "logout" | "text";
  resolve: (value: number) => void;
  reject: (err: Error) => void;
  sentAt: bigint;
  /** For ABORT TASK: the slot and ITT of the referenced task. */
  slot: Slot | null;
  refItt: number;
  lun: number;
  tmfFunction: number;
  /** For text: assembled response. */
  text: TextAssembler | null;
  textResult: Buffer | null;
}

function rethrow(err: unknown): void {
  throw err;
}

function isUnitAttention(sense: Buffer | null): boolean {
  if (!sense || sense.length < 3) return false;
  const code = sense[0]! & 0x7f;
  if (code === 0x70 || code === 0x71) return (sense[2]! & 0x0f) === 6;
  if (code === 0x72 || code === 0x73) return (sense[1]! & 0x0f) === 6;
  return false;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** Resets the result fields of a task before (re)sending it. */
function resetResult(task: ScsiTask): void {
  task.status = -1;
  task.sense = null;
  task.dataInTransferred = 0;
  task.residual = 0;
  task.error = null;
  task.reissued = 0;
}

/** A FIFO of slots waiting for the CmdSN window (grows, never shrinks; no per-push allocation once warm). */
class SlotQueue {
  private items: (Slot | null)[] = new Array(64).fill(null);
  private head = 0;
  private tail = 0;
  count = 0;
  push(s: Slot): void {
    if (this.count === this.items.length) {
      const bigger: (Slot | null)[] = new Array(this.items.length * 2).fill(null);
      for (let i = 0; i < this.count; i++) bigger[i] = this.items[(this.head + i) % this.items.length]!;
      this.items = bigger;
      this.head = 0;
      this.tail = this.count;
    }
    this.items[this.tail] = s;
    this.tail = (this.tail + 1) % this.items.length;
    this.count++;
  }
  shift(): Slot | null {
    if (this.count === 0) return null;
    const s = this.items[this.head]!;
    this.items[this.head] = null;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return s;
  }
}

export class InitiatorSession implements Session {
  onClose: ((err: Error | null) => void) | null = null;
  readonly negotiated: OperationalParams;
  readonly targetName: string;
  readonly isid: number;
  readonly tsih: number;
  readonly targetPortalGroupTag: number | null;
  readonly targetAlias: string | null;
  readonly recovery: RecoveryCounters = newRecoveryCounters();

  private readonly conn: Connection;
  private readonly timeoutMs: number;
  private readonly nopIntervalMs: number;
  private cmdSN: number;
  private expCmdSN: number;
  private maxCmdSN: number;
  private expStatSN: number;

  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly waiting = new SlotQueue();
  private inFlightCount = 0;
  private queuedCount = 0;
  private readonly control = new Map<number, ControlOp>();
  private controlCounter = 1;

  private closed = false;
  private closeError: Error | null = null;
  private readonly deferred: ScsiTask[] = [];
  private deferScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private lastLun = 0;
  private lastLunField: bigint = encodeLun(0);

  // Timer: task timeouts and keep-alive.
  private readonly tickMs: number;
  private tick = 0;
  private readonly timer: NodeJS.Timeout;
  private lastNopTick = 0;
  private nopOutstanding: number | null = null;
  private nopSentTick = 0;
  private logoutRequested = false;

  private readonly drainDeferredBound = (): void => this.drainDeferred();

  constructor(
    conn: Connection,
    login: LoginResult,
    init: {
      targetName: string;
      isid: number;
      timeoutMs: number;
      nopIntervalMs: number;
      cmdSN: number;
    },
  ) {
    this.conn = conn;
    this.negotiated = login.negotiated;
    this.targetName = init.targetName;
    this.isid = init.isid;
    this.tsih = login.tsih;
    this.targetPortalGroupTag = login.targetPortalGroupTag;
    this.targetAlias = login.targetAlias;
    this.timeoutMs = init.timeoutMs;
    this.nopIntervalMs = init.nopIntervalMs;
    // The login was immediate: the first command carries the login's CmdSN (RFC 7143 11.12.6),
    // unless the target says otherwise in ExpCmdSN.
    this.cmdSN = init.cmdSN;
    this.expCmdSN = login.expCmdSN;
    this.maxCmdSN = login.maxCmdSN;
    if (serialGt(login.expCmdSN, this.cmdSN)) this.cmdSN = login.expCmdSN;
    this.expStatSN = login.expStatSN;
    this.tickMs = Math.max(20, Math.min(1000, Math.floor(init.timeoutMs / 10)));
    this.timer = setInterval(() => this.onTick(), this.tickMs);
    this.timer.unref();
    const handler: ConnectionHandler = {
      onPdu: (pdu) => this.onPdu(pdu),
      onError: (err) => this.fail(err),
      onClose: () => {
        if (!this.closed) this.fail(new SessionError("the target closed the connection"));
      },
    };
    conn.handler = handler;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }
  get queued(): number {
    return this.queuedCount;
  }
  /** The CmdSN window as the session sees it (for tests and diagnostics). */
  get sequenceState(): { cmdSN: number; expCmdSN: number; maxCmdSN: number; expStatSN: number } {
    return { cmdSN: this.cmdSN, expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN, expStatSN: this.expStatSN };
  }
  get isClosed(): boolean {
    return this.closed;
  }

  // ------------------------------------------------------------------ submit path

  submit(task: ScsiTask): void {
    resetResult(task);
    if (this.closed || this.logoutRequested) {
      task.error = this.closeError ?? new SessionError("the session is closed");
      this.defer(task);
      return;
    }
    const bad = this.checkTask(task);
    if (bad !== null) {
      task.error = new InputError(bad);
      this.defer(task);
      return;
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.slots.length >= MAX_SLOTS) {
        task.error = new SessionError(`more than ${MAX_SLOTS} outstanding tasks`);
        this.defer(task);
        return;
      }
      const index = this.slots.length;
      slot = {
        index,
        gen: 0,
        itt: index,
        state: FREE,
        task: null,
        cmdSN: 0,
        expDataSN: 0,
        transferred: 0,
        startTick: 0,
        uaRetried: false,
        senseBuf: Buffer.allocUnsafe(SENSE_MAX),
      };
      this.slots.push(slot);
    }
    slot.task = task;
    slot.uaRetried = false;
    slot.startTick = this.tick;
    this.dispatch(slot);
  }

  private checkTask(task: ScsiTask): string | null {
    if (task.cdbLength < 1 || task.cdbLength > task.cdb.length)
      return `task: cdbLength ${task.cdbLength} is invalid`;
    if (task.dataInLength > 0 && (!task.dataIn || task.dataIn.length < task.dataInLength))
      return `task: dataIn buffer is smaller than dataInLength ${task.dataInLength}`;
    if (task.dataOutLength > 0 && (!task.dataOut || task.dataOut.length < task.dataOutLength))
      return `task: dataOut buffer is smaller than dataOutLength ${task.dataOutLength}`;
    if (task.dataInLength > 0 && task.dataOutLength > 0)
      return "task: bidirectional commands are not supported";
    return null;
  }

  /** Sends the slot's command if the CmdSN window is open and nothing waits before it, else queues it. */
  private dispatch(slot: Slot): void {
    if (this.waiting.count === 0 && serialLe(this.cmdSN, this.maxCmdSN)) {
      this.sendCommand(slot);
    } else {
      slot.state = QUEUED;
      this.queuedCount++;
      this.waiting.push(slot);
    }
  }

  /** Sends queued commands while the window is open (RFC 7143 4.2.2.1: never past MaxCmdSN). */
  private drain(): void {
    while (this.waiting.count > 0 && serialLe(this.cmdSN, this.maxCmdSN) && !this.closed) {
      const slot = this.waiting.shift()!;
      if (slot.state === CANCELLED) {
        this.releaseSlot(slot); // timed out or aborted while queued
        continue;
      }
      this.queuedCount--;
      this.sendCommand(slot);
    }
  }

  private lunField(lun: number): bigint {
    if (lun !== this.lastLun) {
      this.lastLunField = encodeLun(lun);
      this.lastLun = lun;
    }
    return this.lastLunField;
  }

  private sendCommand(slot: Slot): void {
    const task = slot.task!;
    const p = this.negotiated;
    slot.state = INFLIGHT;
    slot.cmdSN = this.cmdSN;
    slot.expDataSN = 0;
    slot.transferred = 0;
    this.cmdSN = serialAdd(this.cmdSN, 1);
    this.inFlightCount++;
    const write = task.dataOutLength > 0;
    const lun = this.lunField(task.lun);
    let immediate = 0;
    let unsolicitedEnd = 0;
    if (write) {
      const firstBurst = Math.min(p.firstBurstLength, task.dataOutLength);
      if (p.immediateData) immediate = Math.min(firstBurst, p.peerMaxRecvDataSegmentLength);
      // RFC 7143 13.13/13.14: with InitialR2T=No the initiator may send up to FirstBurstLength unsolicited.
      unsolicitedEnd = p.initialR2T ? immediate : firstBurst;
    }
    this.conn.send({
      opcode: Opcode.ScsiCommand,
      immediate: false,
      final: unsolicitedEnd <= immediate,
      read: task.dataInLength > 0,
      write,
      attr: task.attr,
      lun,
      itt: slot.itt,
      expectedDataTransferLength: write ? task.dataOutLength : task.dataInLength,
      cmdSN: slot.cmdSN,
      expStatSN: this.expStatSN,
      cdb: task.cdbLength === task.cdb.length ? task.cdb : task.cdb.subarray(0, task.cdbLength),
      data: immediate > 0 ? task.dataOut!.subarray(0, immediate) : EMPTY,
    });
    if (unsolicitedEnd > immediate)
      this.sendDataOut(slot, lun, RESERVED_TAG, immediate, unsolicitedEnd - immediate);
  }

  /** One Data-Out sequence: PDUs no larger than the target's MaxRecvDataSegmentLength, DataSN from 0, F on the last. */
  private sendDataOut(slot: Slot, lun: bigint, ttt: number, offset: number, length: number): void {
    const task = slot.task!;
    const max = this.negotiated.peerMaxRecvDataSegmentLength;
    const end = offset + length;
    let dataSN = 0;
    for (let off = offset; off < end; off += max) {
      const n = Math.min(max, end - off);
      this.conn.send({
        opcode: Opcode.DataOut,
        final: off + n >= end,
        lun,
        itt: slot.itt,
        ttt,
        expStatSN: this.expStatSN,
        dataSN: dataSN++,
        bufferOffset: off,
        data: task.dataOut!.subarray(off, off + n),
      });
    }
  }

  private defer(task: ScsiTask): void {
    this.deferred.push(task);
    if (!this.deferScheduled) {
      this.deferScheduled = true;
      process.nextTick(this.drainDeferredBound);
    }
  }

  private drainDeferred(): void {
    this.deferScheduled = false;
    const list = this.deferred.splice(0, this.deferred.length);
    for (const task of list) this.callDone(task);
  }

  private callDone(task: ScsiTask): void {
    try {
      task.done(task);
    } catch (err) {
      // A throwing callback must not break the receive loop: rethrow it on its own tick.
      process.nextTick(rethrow, err);
    }
  }

  private releaseSlot(slot: Slot): void {
    slot.state = FREE;
    slot.task = null;
    slot.gen = (slot.gen + 1) & GEN_MASK;
    slot.itt = ((slot.gen << SLOT_BITS) | slot.index) >>> 0;
    this.free.push(slot);
  }

  /** Ends an in-flight task towards the caller. */
  private finish(slot: Slot): void {
    const task = slot.task!;
    if (slot.state === INFLIGHT) this.inFlightCount--;
    else if (slot.state === QUEUED) this.queuedCount--;
    this.releaseSlot(slot);
    this.callDone(task);
    if (this.inFlightCount === 0 && this.queuedCount === 0 && this.idleWaiters.length > 0) this.notifyIdle();
  }

  /** Ends the task with an error; keeps the ITT reserved (ZOMBIE) if the target may still answer it. */
  private failTask(slot: Slot, err: Error, targetMayAnswer: boolean): void {
    const task = slot.task!;
    task.error = err;
    task.status = -1;
    if (slot.state === QUEUED) {
      // Still referenced by the wait queue: drain() frees it.
      this.queuedCount--;
      slot.state = CANCELLED;
    } else if (!targetMayAnswer) {
      this.finish(slot);
      return;
    } else {
      this.inFlightCount--;
      slot.state = ZOMBIE;
    }
    slot.task = null;
    this.callDone(task);
    if (this.inFlightCount === 0 && this.queuedCount === 0 && this.idleWaiters.length > 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  // ------------------------------------------------------------------ receive path

  onPdu(pdu: Pdu): void {
    if (this.closed) return;
    switch (pdu.opcode) {
      case Opcode.DataIn:
        this.onDataIn(pdu);
        break;
      case Opcode.ScsiResponse:
        this.onScsiResponse(pdu);
        break;
      case Opcode.R2T:
        this.onR2T(pdu);
        break;
      case Opcode.NopIn:
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        if (pdu.itt === RESERVED_TAG) {
          // Unsolicited NOP-In: StatSN is not advanced (RFC 7143 11.19).
          if (serialGt(pdu.statSN, this.expStatSN)) this.expStatSN = pdu.statSN;
        } else this.ackStatSN(pdu.statSN);
        if (pdu.ttt !== RESERVED_TAG) {
          // The target pings us: answer with the TTT and its data (RFC 7143 11.18).
          this.conn.send({
            opcode: Opcode.NopOut,
            immediate: true,
            lun: pdu.lun,
            itt: RESERVED_TAG,
            ttt: pdu.ttt,
            cmdSN: this.cmdSN,
            expStatSN: this.expStatSN,
            data: pdu.data.length > 0 ? Buffer.from(pdu.data) : EMPTY,
          });
        }
        if (pdu.itt !== RESERVED_TAG) this.onControlResponse(pdu.itt, "nop", 0, null);
        break;
      case Opcode.TaskMgmtResponse:
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        this.ackStatSN(pdu.statSN);
        this.onControlResponse(pdu.itt, "tmf", pdu.response, null);
        break;
      case Opcode.LogoutResponse:
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        this.ackStatSN(pdu.statSN);
        this.onControlResponse(pdu.itt, "logout", pdu.response, null);
        break;
      case Opcode.TextResponse: {
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        this.ackStatSN(pdu.statSN);
        const op = this.control.get(pdu.itt);
        if (op?.kind !== "text") {
          this.fail(new SessionError(`text response for unknown ITT ${hex(pdu.itt)}`));
          return;
        }
        let whole: Buffer | null;
        try {
          whole = op.text!.add(pdu.data, pdu.cont);
        } catch (err) {
          this.fail(new SessionError(`text response: ${(err as Error).message}`));
          return;
        }
        if (whole === null || !pdu.final) {
          // RFC 7143 11.10.4: ask for the rest with an empty Text Request carrying the target's TTT.
          this.sendText(pdu.itt, pdu.ttt, EMPTY);
          break;
        }
        op.textResult = Buffer.from(whole);
        this.onControlResponse(pdu.itt, "text", 0, null);
        break;
      }
      case Opcode.AsyncMessage:
        this.onAsync(pdu);
        break;
      case Opcode.Reject:
        this.onReject(pdu);
        break;
      default:
        this.fail(new SessionError(`unexpected PDU opcode ${hex(pdu.opcode)} in the full feature phase`));
        return;
    }
    if (this.waiting.count > 0) this.drain();
  }

  /** ExpCmdSN/MaxCmdSN from a response: update only if newer (RFC 7143 4.2.2.1). */
  private updateWindow(expCmdSN: number, maxCmdSN: number): void {
    // MaxCmdSN < ExpCmdSN - 1 (serial) is invalid and ignored.
    if (serialLt(maxCmdSN, serialAdd(expCmdSN, -1 >>> 0))) return;
    if (serialGt(expCmdSN, this.expCmdSN)) this.expCmdSN = expCmdSN;
    if (serialGt(maxCmdSN, this.maxCmdSN)) this.maxCmdSN = maxCmdSN;
  }

  private ackStatSN(statSN: number): void {
    const next = serialAdd(statSN, 1);
    if (serialGt(next, this.expStatSN)) this.expStatSN = next;
  }

  private taskSlot(itt: number, what: string): Slot | null {
    const slot = this.slots[itt & SLOT_MASK];
    if (slot === undefined || slot.itt !== itt || (slot.state !== INFLIGHT && slot.state !== ZOMBIE)) {
      this.fail(new SessionError(`${what} for unknown ITT ${hex(itt)}`));
      return null;
    }
    return slot;
  }

  private onDataIn(pdu: DataIn): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    const slot = this.taskSlot(pdu.itt, "Data-In");
    if (slot === null) return;
    if (slot.state === ZOMBIE) {
      if (pdu.hasStatus) {
        this.ackStatSN(pdu.statSN);
        this.releaseSlot(slot);
      }
      return;
    }
    const task = slot.task!;
    if (pdu.dataSN !== slot.expDataSN) {
      this.fail(
        new SessionError(
          `Data-In DataSN ${pdu.dataSN} out of order (expected ${slot.expDataSN}, ITT ${hex(pdu.itt)})`,
        ),
      );
      return;
    }
    slot.expDataSN = serialAdd(slot.expDataSN, 1);
    const n = pdu.data.length;
    if (n > 0) {
      const end = pdu.bufferOffset + n;
      if (end > task.dataInLength || task.dataIn === null) {
        this.fail(
          new SessionError(
            `Data-In at offset ${pdu.bufferOffset} length ${n} is outside the expected ${task.dataInLength} bytes (ITT ${hex(pdu.itt)})`,
          ),
        );
        return;
      }
      pdu.data.copy(task.dataIn, pdu.bufferOffset);
      if (end > slot.transferred) slot.transferred = end;
    }
    if (pdu.hasStatus) {
      this.ackStatSN(pdu.statSN);
      this.complete(
        slot,
        pdu.status,
        pdu.underflow ? pdu.residualCount : pdu.overflow ? -pdu.residualCount : 0,
        EMPTY,
        0,
      );
    }
  }

  private onScsiResponse(pdu: ScsiResponse): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    this.ackStatSN(pdu.statSN);
    const slot = this.taskSlot(pdu.itt, "SCSI Response");
    if (slot === null) return;
    if (slot.state === ZOMBIE) {
      this.releaseSlot(slot);
      return;
    }
    if (pdu.response !== 0) {
      this.failTask(slot, new SessionError(`target failure (iSCSI response ${hex(pdu.response)})`), false);
      return;
    }
    let senseLength = 0;
    if (pdu.data.length >= 2) {
      // RFC 7143 11.4.7: a 2-byte SenseLength, then the sense data.
      senseLength = pdu.data.readUInt16BE(0);
      if (senseLength > pdu.data.length - 2) {
        this.fail(new SessionError(`SCSI Response SenseLength ${senseLength} exceeds the data segment`));
        return;
      }
    }
    const residual = pdu.underflow ? pdu.residualCount : pdu.overflow ? -pdu.residualCount : 0;
    this.complete(slot, pdu.status, residual, pdu.data, senseLength);
  }

  private complete(
    slot: Slot,
    status: number,
    residual: number,
    senseData: Buffer,
    senseLength: number,
  ): void {
    const task = slot.task!;
    let sense: Buffer | null = null;
    if (senseLength > 0) {
      const n = Math.min(senseLength, SENSE_MAX);
      senseData.copy(slot.senseBuf, 0, 2, 2 + n);
      sense = slot.senseBuf.subarray(0, n);
    }
    if (status === 2 && !slot.uaRetried && isUnitAttention(sense)) {
      // A UNIT ATTENTION (typically "power on or reset occurred" right after login) is retried once,
      // with the same slot and buffers.
      slot.uaRetried = true;
      this.inFlightCount--;
      slot.state = FREE;
      this.dispatch(slot);
      return;
    }
    task.status = status;
    task.residual = residual;
    task.dataInTransferred = slot.transferred;
    task.sense = sense; // a view of the slot's buffer, valid until the next submit (task.ts)
    this.finish(slot);
  }

  private onR2T(pdu: R2T): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    const slot = this.taskSlot(pdu.itt, "R2T");
    if (slot === null || slot.state === ZOMBIE) return;
    const task = slot.task!;
    const end = pdu.bufferOffset + pdu.desiredDataTransferLength;
    if (pdu.desiredDataTransferLength === 0 || end > task.dataOutLength) {
      this.fail(
        new SessionError(
          `R2T for offset ${pdu.bufferOffset} length ${pdu.desiredDataTransferLength} is outside the ${task.dataOutLength} bytes to write`,
        ),
      );
      return;
    }
    this.sendDataOut(slot, this.lunField(task.lun), pdu.ttt, pdu.bufferOffset, pdu.desiredDataTransferLength);
  }

  private onAsync(pdu: AsyncMessage): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    this.ackStatSN(pdu.statSN);
    switch (pdu.asyncEvent) {
      case AsyncEvent.LogoutRequest:
        // RFC 7143 11.9.1: log out within Parameter3 seconds; we do it as soon as the tasks end.
        if (!this.logoutRequested) {
          this.logout().catch(() => {});
        }
        break;
      case AsyncEvent.ConnectionDrop:
      case AsyncEvent.SessionDrop:
        this.fail(
          new SessionError(
            `the target dropped the ${pdu.asyncEvent === AsyncEvent.SessionDrop ? "session" : "connection"}`,
          ),
        );
        break;
      default:
        // SCSI async events, renegotiation requests and vendor events need no action here.
        break;
    }
  }

  private onReject(pdu: Reject): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    this.ackStatSN(pdu.statSN);
    const reason = `the target rejected a PDU (reason ${hex(pdu.reason)})`;
    if (pdu.data.length < 48) {
      this.fail(new SessionError(reason));
      return;
    }
    const opcode = pdu.data[0]! & 0x3f;
    const itt = pdu.data.readUInt32BE(16);
    if (opcode === Opcode.ScsiCommand || opcode === Opcode.DataOut) {
      const slot = this.slots[itt & SLOT_MASK];
      if (slot !== undefined && slot.itt === itt && slot.state === INFLIGHT) {
        this.failTask(slot, new SessionError(reason), false);
        return;
      }
    }
    const op = this.control.get(itt);
    if (op) {
      this.control.delete(itt);
      op.reject(new SessionError(reason));
      return;
    }
    // A rejected PDU we cannot attribute: with ErrorRecoveryLevel 0 the session is not trustworthy.
    this.fail(new SessionError(`${reason} for opcode ${hex(opcode)}`));
  }

  // ------------------------------------------------------------------ control operations

  private newControl(kind: ControlOp["kind"]): { itt: number; op: ControlOp; promise: Promise<number> } {
    let itt: number;
    do {
      this.controlCounter = (this.controlCounter + 1) & 0x7ffffffe;
      itt = (0x80000000 | this.controlCounter) >>> 0;
    } while (this.control.has(itt));
    let resolve!: (v: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const op: ControlOp = {
      kind,
      resolve,
      reject,
      sentAt: process.hrtime.bigint(),
      slot: null,
      refItt: 0,
      lun: 0,
      tmfFunction: 0,
      text: null,
      textResult: null,
    };
    if (this.closed) reject(this.closeError ?? new SessionError("the session is closed"));
    else this.control.set(itt, op);
    return { itt, op, promise };
  }

  private onControlResponse(
    itt: number,
    kind: ControlOp["kind"],
    response: number,
    _data: Buffer | null,
  ): void {
    if (kind === "nop" && itt === this.nopOutstanding) {
      this.nopOutstanding = null;
      return;
    }
    const op = this.control.get(itt);
    if (!op || op.kind !== kind) {
      this.fail(new SessionError(`${kind} response for unknown ITT ${hex(itt)}`));
      return;
    }
    this.control.delete(itt);
    if (kind === "tmf") this.afterTmf(op, response);
    if (kind === "nop") {
      op.resolve(Number((process.hrtime.bigint() - op.sentAt) / 1000n));
      return;
    }
    if (kind === "logout") {
      this.finishClose(null);
    }
    op.resolve(response);
  }

  private afterTmf(op: ControlOp, response: number): void {
    if (response !== TmfResponse.Complete && response !== TmfResponse.TaskDoesNotExist) return;
    if (op.tmfFunction === TmfFunction.AbortTask) {
      const slot = op.slot;
      if (slot && slot.itt === op.refItt) {
        if (slot.state === INFLIGHT) this.failTask(slot, new SessionError("task aborted"), false);
        else if (slot.state === ZOMBIE) this.releaseSlot(slot);
      }
      return;
    }
    if (op.tmfFunction === TmfFunction.LogicalUnitReset && response === TmfResponse.Complete) {
      for (const slot of this.slots) {
        if (slot.state === INFLIGHT && slot.task!.lun === op.lun)
          this.failTask(slot, new SessionError("task aborted by LOGICAL UNIT RESET"), false);
        else if (slot.state === ZOMBIE) this.releaseSlot(slot);
      }
    }
  }

  private sendTmf(fn: number, lun: number, slot: Slot | null): Promise<number> {
    const { itt, op, promise } = this.newControl("tmf");
    op.tmfFunction = fn;
    op.lun = lun;
    op.slot = slot;
    op.refItt = slot ? slot.itt : RESERVED_TAG;
    this.conn.send({
      opcode: Opcode.TaskMgmtRequest,
      immediate: true,
      function: fn,
      lun: encodeLun(lun),
      itt,
      referencedTaskTag: op.refItt,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      refCmdSN: slot ? slot.cmdSN : 0,
      expDataSN: slot ? slot.expDataSN : 0,
    });
    return promise;
  }

  abortTask(task: ScsiTask): Promise<number> {
    for (const slot of this.slots) {
      if (slot.task !== task) continue;
      if (slot.state === QUEUED) {
        this.failTask(slot, new SessionError("task aborted"), false);
        return Promise.resolve(TmfResponse.Complete);
      }
      if (slot.state === INFLIGHT) return this.sendTmf(TmfFunction.AbortTask, task.lun, slot);
    }
    return Promise.resolve(TmfResponse.TaskDoesNotExist);
  }

  lunReset(lun: number): Promise<number> {
    return this.sendTmf(TmfFunction.LogicalUnitReset, lun, null);
  }

  ping(): Promise<number> {
    const { itt, promise } = this.newControl("nop");
    this.sendPing(itt);
    return promise;
  }

  /** An immediate NOP-Out that asks for a NOP-In (RFC 7143 11.18: ITT set, TTT reserved). */
  private sendPing(itt: number): void {
    this.conn.send({
      opcode: Opcode.NopOut,
      immediate: true,
      lun: 0n,
      itt,
      ttt: RESERVED_TAG,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      data: EMPTY,
    });
  }

  private sendText(itt: number, ttt: number, data: Buffer): void {
    this.conn.send({
      opcode: Opcode.TextRequest,
      immediate: false,
      final: true,
      cont: false,
      lun: 0n,
      itt,
      ttt,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      data,
    });
    this.cmdSN = serialAdd(this.cmdSN, 1);
  }

  /** A Text Request/Response exchange (e.g. SendTargets=All), following continued (C bit) responses. */
  async text(pairs: TextPairs): Promise<TextPairs> {
    const { itt, op, promise } = this.newControl("text");
    op.text = new TextAssembler(1 << 20);
    if (!this.closed) this.sendText(itt, RESERVED_TAG, buildText(pairs));
    await promise;
    return parseText(op.textResult ?? EMPTY);
  }

  async execute(
    lun: number,
    cdb: Buffer,
    opts?: { dataInLength?: number; dataOut?: Buffer },
  ): Promise<CommandResult> {
    const dataInLength = opts?.dataInLength ?? 0;
    const dataOut = opts?.dataOut ?? null;
    const task = await new Promise<ScsiTask>((resolve) => {
      const t = newScsiTask((done) => {
        if (done.sense) done.sense = Buffer.from(done.sense);
        resolve(done);
      });
      t.lun = lun;
      t.cdb = cdb;
      t.cdbLength = cdb.length;
      t.dataIn = dataInLength > 0 ? Buffer.alloc(dataInLength) : null;
      t.dataInLength = dataInLength;
      t.dataOut = dataOut;
      t.dataOutLength = dataOut ? dataOut.length : 0;
      this.submit(t);
    });
    if (task.error) throw task.error;
    return {
      status: task.status,
      sense: task.sense ? parseSense(task.sense) : null,
      data: task.dataIn ? task.dataIn.subarray(0, task.dataInTransferred) : EMPTY,
      residual: task.residual,
    };
  }

  async logout(): Promise<void> {
    if (this.closed) {
      if (this.closeError) throw this.closeError;
      return;
    }
    this.logoutRequested = true;
    if (this.inFlightCount + this.queuedCount > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    if (this.closed) {
      if (this.closeError) throw this.closeError;
      return;
    }
    const { itt, promise } = this.newControl("logout");
    this.conn.send({
      opcode: Opcode.LogoutRequest,
      immediate: true,
      reasonCode: 0,
      itt,
      cid: 0,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
    });
    const timer = setTimeout(
      () => this.fail(new SessionError(`logout timed out after ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    try {
      await promise;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.closed) return;
    this.finishClose(null, new SessionError("the session was closed"));
  }

  // ------------------------------------------------------------------ connection events, timer

  /** The session failed: every pending task and operation ends with `err`. */
  fail(err: Error): void {
    if (this.closed) return;
    this.finishClose(err, err);
  }

  private finishClose(
    reported: Error | null,
    taskError: Error = new SessionError("the session was closed"),
  ): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = reported;
    clearInterval(this.timer);
    if (reported === null) this.conn.end();
    this.conn.destroy();
    for (const slot of this.slots) {
      if (slot.state === INFLIGHT || slot.state === QUEUED) {
        const task = slot.task!;
        task.error = taskError;
        task.status = -1;
        this.defer(task);
        slot.state = FREE;
        slot.task = null;
      } else if (slot.state === ZOMBIE || slot.state === CANCELLED) slot.state = FREE;
    }
    this.inFlightCount = 0;
    this.queuedCount = 0;
    for (const [, op] of this.control) {
      if (op.kind === "logout" && reported === null) continue;
      op.reject(taskError);
    }
    this.control.clear();
    this.notifyIdle();
    const cb = this.onClose;
    if (cb) process.nextTick(cb, reported);
  }

  private onTick(): void {
    this.tick++;
    if (this.closed) return;
    const limit = Math.ceil(this.timeoutMs / this.tickMs);
    if (this.inFlightCount + this.queuedCount > 0) {
      for (const slot of this.slots) {
        if ((slot.state === INFLIGHT || slot.state === QUEUED) && this.tick - slot.startTick > limit) {
          const wasInFlight = slot.state === INFLIGHT;
          const task = slot.task!;
          this.failTask(slot, new SessionError(`command timed out after ${this.timeoutMs} ms`), wasInFlight);
          // Tell the target to forget it; the ITT stays reserved until the TMF answer.
          if (wasInFlight && !this.closed) {
            this.sendTmf(TmfFunction.AbortTask, task.lun, slot).catch(() => {});
          }
        }
      }
    }
    if (this.nopIntervalMs > 0) {
      if (this.nopOutstanding !== null) {
        if ((this.tick - this.nopSentTick) * this.tickMs > this.timeoutMs) {
          this.fail(new SessionError(`the target did not answer a NOP-Out ping within ${this.timeoutMs} ms`));
        }
      } else if ((this.tick - this.lastNopTick) * this.tickMs >= this.nopIntervalMs) {
        this.lastNopTick = this.tick;
        this.nopSentTick = this.tick;
        this.controlCounter = (this.controlCounter + 1) & 0x7ffffffe;
        const itt = (0x80000000 | this.controlCounter) >>> 0;
        this.nopOutstanding = itt;
        this.sendPing(itt);
      }
    }
  }
}

/** A random ISID of type 0x80 ("random", RFC 7143 11.12.5): T=10b, A=0, B/C/D random. */
export function randomIsid(): number {
  const b = (Math.random() * 0x1000000) >>> 0;
  const d = (Math.random() * 0x10000) >>> 0;
  return 0x80 * 2 ** 40 + b * 2 ** 16 + d;
}

export interface OpenOptions extends Omit<SessionOptions, "targetName"> {
  targetName: string | null;
  sessionType: SessionType;
}

/** Connects, logs in (following redirects) and returns the session in the full feature phase. */
export async function openSessionOfType(options: OpenOptions): Promise<InitiatorSession> {
  const timeoutMs = options.timeoutMs ?? 15000;
  const isid = options.isid ?? randomIsid();
  const cmdSN = (options.initialCmdSN ?? 1) >>> 0;
  const want: OperationalParams = { ...INITIATOR_DEFAULT_PARAMS, ...options.params };
  if (options.headerDigest !== undefined) want.headerDigest = options.headerDigest;
  if (options.dataDigest !== undefined) want.dataDigest = options.dataDigest;
  const { conn, result } = await connectAndLogin(options.host, options.port, {
    initiatorName: options.initiatorName,
    targetName: options.targetName,
    sessionType: options.sessionType,
    isid,
    chap: options.chap,
    want,
    timeoutMs,
    cmdSN,
  });
  return new InitiatorSession(conn, result, {
    targetName: options.targetName ?? "",
    isid,
    timeoutMs,
    nopIntervalMs: options.nopIntervalMs ?? 5000,
    cmdSN,
  });
}

/** Opens a normal session to `options.targetName`. Rejects with LoginError or SessionError. */
export function openSession(options: SessionOptions): Promise<Session> {
  return openSessionOfType({ ...options, sessionType: "Normal" });
}
