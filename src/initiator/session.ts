/**
 * An initiator session in the full feature phase: ISID, TSIH, the CmdSN window and the task
 * slots, owning one connection at a time (ErrorRecoveryLevel 0). When the connection is lost the
 * session outlives it: it logs in again with the same ISID and TSIH 0 (session reinstatement) and
 * sends every command that had no final status again, so `submit(task)` reports each task once
 * whatever happened on the wire.
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
  type DataOut,
  type NopIn,
  Opcode,
  type Pdu,
  type R2T,
  RESERVED_TAG,
  type Reject,
  type ScsiCommand,
  type ScsiResponse,
  type TextResponse,
  TmfFunction,
  TmfResponse,
} from "../iscsi/pdu.js";
import { buildText, parseText, TextAssembler, type TextPairs } from "../iscsi/text.js";
import { parseSense, type Sense } from "../scsi/sense.js";
import { BUSY_CAP_MS, BUSY_FIRST_MS, createBackoff, RELOGIN_CAP_MS, RELOGIN_FIRST_MS } from "./backoff.js";
import type { Connection, ConnectionHandler } from "./connection.js";
import { type ControlKind, type ControlOp, ControlOps } from "./control-ops.js";
import { RecoveryTimeoutError, SessionError } from "./errors.js";
import { connectAndLogin, type LoginOptions, type LoginResult, type SessionType } from "./login.js";
import { newRecoveryCounters, type RecoveryCounters } from "./recovery-stats.js";
import { Reinstatement } from "./reinstatement.js";
import { serialAdd, serialGt, serialLe, serialLt } from "./serial.js";
import { newScsiTask, type ScsiTask } from "./task.js";
import {
  CANCELLED,
  CONN_GEN_MASK,
  FREE,
  INFLIGHT,
  isIdempotent,
  isUnitAttention,
  ittConnGen,
  MAX_SLOTS,
  newSlot,
  QUEUED,
  RETRY_WAIT,
  renewItt,
  resetResult,
  SENSE_MAX,
  SLOT_MASK,
  type Slot,
  SlotQueue,
  STAGE_ABORT,
  STAGE_LUN_RESET,
  STAGE_NONE,
} from "./task-slot.js";

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
  // We need no pause before logging in again; the target may insist on one (result function Max).
  defaultTime2Wait: 0,
  defaultTime2Retain: 0,
  errorRecoveryLevel: 0,
  maxConnections: 1,
});

const EMPTY = Buffer.alloc(0);
const STATUS_BUSY = 0x08;
const STATUS_TASK_SET_FULL = 0x28;
/** Unit attentions consumed per command before one is reported (a target can queue several). */
const MAX_UNIT_ATTENTIONS = 4;
/** How far a StatSN may be from ExpStatSN before the connection is not trusted (RFC 7143 4.2.2.2). */
const MAX_STATSN_GAP = 1 << 16;

/** The session's life: in the full feature phase on a connection, between connections, or ended. */
const UP = 0;
const RECOVERING = 1;
/** The target asked for a logout (Async Message event 1): no new commands until it is done. */
const DRAINING = 2;
const CLOSED = 3;

/** buf[off, off+n) as the data segment of one PDU: the buffer itself when it is exactly that. */
function segment(buf: Buffer, off: number, n: number): Buffer {
  return off === 0 && n === buf.length ? buf : buf.subarray(off, off + n);
}

function rethrow(err: unknown): void {
  throw err;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** What a reinstatement needs to log in again exactly as the first login did (same name, ISID). */
interface Relogin {
  host: string;
  port: number;
  login: Omit<LoginOptions, "cmdSN">;
}

const NOOP_HANDLER: ConnectionHandler = { onPdu() {}, onError() {}, onClose() {} };

export class InitiatorSession implements Session {
  onClose: ((err: Error | null) => void) | null = null;
  negotiated: OperationalParams;
  readonly targetName: string;
  readonly isid: number;
  readonly targetPortalGroupTag: number | null;
  readonly targetAlias: string | null;
  readonly recovery: RecoveryCounters = newRecoveryCounters();

  private conn: Connection;
  /** Bumped per connection; part of every task ITT (task-slot.ts). */
  private connGen = 0;
  private currentTsih: number;
  private readonly relogin: Relogin | null;
  private readonly commandTimeoutMs: number;
  private readonly loginTimeoutMs: number;
  private readonly nopIntervalMs: number;
  private readonly noopTimeoutMs: number;
  private readonly recoveryTimeoutMs: number;
  private readonly onEvent: (message: string) => void;
  private cmdSN: number;
  private expCmdSN: number;
  private maxCmdSN: number;
  private expStatSN: number;

  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly waiting = new SlotQueue();
  private inFlightCount = 0;
  private queuedCount = 0;
  private readonly control = new ControlOps();

  private state = UP;
  private closeError: Error | null = null;
  private readonly deferred: ScsiTask[] = [];
  private deferScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private lastLun = 0;
  private lastLunField: bigint = encodeLun(0);

  // Recovery. An episode runs from a connection loss until a new connection has proved itself
  // (a command or ping answered on it): a target that accepts the login and drops the connection
  // again at once keeps one episode going, so the backoff keeps growing and the recovery timeout
  // still ends it, instead of a storm of logins that never gives up.
  private episodeStart = -1;
  private episodeAttempts = 0;
  private recoveryStart = 0;
  private readonly reinstatement = new Reinstatement();
  private drainTimer: NodeJS.Timeout | null = null;
  private readonly backoff = createBackoff(RELOGIN_FIRST_MS, RELOGIN_CAP_MS);
  private readonly busyBackoff = createBackoff(BUSY_FIRST_MS, BUSY_CAP_MS);

  // Timer: command timeouts and keep-alive.
  private readonly tickMs: number;
  private tick = 0;
  private readonly timer: NodeJS.Timeout;
  private lastRxTick = 0;
  private nopOutstanding: number | null = null;
  private nopSentTick = 0;
  private logoutRequested = false;

  private readonly drainDeferredBound = (): void => this.drainDeferred();
  /** One SCSI Command and one Data-Out PDU object, filled in per PDU (the transport encodes at once). */
  private readonly cmdPdu: ScsiCommand = {
    opcode: Opcode.ScsiCommand,
    immediate: false,
    final: true,
    read: false,
    write: false,
    attr: 0,
    lun: 0n,
    itt: 0,
    expectedDataTransferLength: 0,
    cmdSN: 0,
    expStatSN: 0,
    cdb: EMPTY,
    data: EMPTY,
  };
  private readonly dataOutPdu: DataOut = {
    opcode: Opcode.DataOut,
    final: false,
    lun: 0n,
    itt: 0,
    ttt: 0,
    expStatSN: 0,
    dataSN: 0,
    bufferOffset: 0,
    data: EMPTY,
  };
  /** A CDB of up to 16 bytes goes out from here (the task's bytes, zero filled), not as a new view. */
  private readonly cdbScratch = Buffer.alloc(16);
  /** The task-buffer view the framer is filling with the data of the current Data-In (placeData). */
  private placed: Buffer | null = null;

  constructor(
    conn: Connection,
    login: LoginResult,
    init: {
      targetName: string;
      isid: number;
      commandTimeoutMs: number;
      loginTimeoutMs: number;
      nopIntervalMs: number;
      noopTimeoutMs: number;
      recoveryTimeoutMs: number;
      cmdSN: number;
      relogin: Relogin | null;
      onEvent?: (message: string) => void;
    },
  ) {
    this.conn = conn;
    this.negotiated = login.negotiated;
    this.targetName = init.targetName;
    this.isid = init.isid;
    this.currentTsih = login.tsih;
    this.targetPortalGroupTag = login.targetPortalGroupTag;
    this.targetAlias = login.targetAlias;
    this.commandTimeoutMs = init.commandTimeoutMs;
    this.loginTimeoutMs = init.loginTimeoutMs;
    this.nopIntervalMs = init.nopIntervalMs;
    this.noopTimeoutMs = init.noopTimeoutMs;
    this.recoveryTimeoutMs = init.relogin === null ? 0 : init.recoveryTimeoutMs;
    this.relogin = init.relogin;
    this.onEvent = init.onEvent ?? (() => {});
    // The login was immediate: the first command carries the login's CmdSN (RFC 7143 11.12.6),
    // unless the target says otherwise in ExpCmdSN.
    this.cmdSN = init.cmdSN;
    this.expCmdSN = login.expCmdSN;
    this.maxCmdSN = login.maxCmdSN;
    if (serialGt(login.expCmdSN, this.cmdSN)) this.cmdSN = login.expCmdSN;
    this.expStatSN = login.expStatSN;
    const shortest = Math.min(
      init.commandTimeoutMs,
      init.noopTimeoutMs,
      init.nopIntervalMs > 0 ? init.nopIntervalMs : Number.POSITIVE_INFINITY,
    );
    this.tickMs = Math.max(20, Math.min(1000, Math.floor(shortest / 10)));
    this.timer = setInterval(() => this.onTick(), this.tickMs);
    this.timer.unref();
    this.attach(conn);
  }

  /** Makes `conn` the session's connection: its events count only while it is the current one. */
  private attach(conn: Connection): void {
    conn.handler = {
      onPdu: (pdu) => {
        if (conn === this.conn) this.onPdu(pdu);
      },
      placeData: (bhs, off, dsl) => (conn === this.conn ? this.placeData(bhs, off, dsl) : null),
      onError: (err) => {
        if (conn === this.conn) this.connectionLost(err);
      },
      onClose: () => {
        if (conn === this.conn) this.connectionLost(new SessionError("the target closed the connection"));
      },
    };
  }

  get tsih(): number {
    return this.currentTsih;
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
    return this.state === CLOSED;
  }
  /** Between connections (for tests and diagnostics). */
  get isRecovering(): boolean {
    return this.state === RECOVERING;
  }

  // ------------------------------------------------------------------ submit path

  submit(task: ScsiTask): void {
    resetResult(task);
    if (this.state === CLOSED || this.logoutRequested) {
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
      slot = newSlot(this.slots.length);
      renewItt(slot, this.connGen);
      this.slots.push(slot);
    }
    slot.task = task;
    slot.unitAttentions = 0;
    slot.busyRetries = 0;
    slot.firstTick = -1;
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

  /** Sends the slot's command if connected, the CmdSN window is open and nothing waits before it; else queues it. */
  private dispatch(slot: Slot): void {
    if (this.state === UP && this.waiting.count === 0 && serialLe(this.cmdSN, this.maxCmdSN)) {
      this.sendCommand(slot);
    } else {
      slot.state = QUEUED;
      this.queuedCount++;
      this.waiting.push(slot);
    }
  }

  /** Sends queued commands while the window is open (RFC 7143 4.2.2.1: never past MaxCmdSN). */
  private drain(): void {
    while (this.waiting.count > 0 && serialLe(this.cmdSN, this.maxCmdSN) && this.state === UP) {
      const slot = this.waiting.shift()!;
      if (slot.state === CANCELLED) {
        this.releaseSlot(slot); // aborted while queued
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
    slot.startTick = this.tick;
    if (slot.firstTick < 0) slot.firstTick = this.tick;
    slot.stage = STAGE_NONE;
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
    const pdu = this.cmdPdu;
    pdu.final = unsolicitedEnd <= immediate;
    pdu.read = task.dataInLength > 0;
    pdu.write = write;
    pdu.attr = task.attr;
    pdu.lun = lun;
    pdu.itt = slot.itt;
    pdu.expectedDataTransferLength = write ? task.dataOutLength : task.dataInLength;
    pdu.cmdSN = slot.cmdSN;
    pdu.expStatSN = this.expStatSN;
    pdu.cdb = this.cdbOf(task);
    pdu.data = immediate === 0 ? EMPTY : segment(task.dataOut!, 0, immediate);
    this.conn.send(pdu);
    pdu.data = EMPTY; // no reference to the caller's buffer past the send
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
      const pdu = this.dataOutPdu;
      pdu.final = off + n >= end;
      pdu.lun = lun;
      pdu.itt = slot.itt;
      pdu.ttt = ttt;
      pdu.expStatSN = this.expStatSN;
      pdu.dataSN = dataSN++;
      pdu.bufferOffset = off;
      pdu.data = segment(task.dataOut!, off, n);
      this.conn.send(pdu);
      pdu.data = EMPTY;
    }
  }

  /** The CDB to send: up to 16 bytes copied into the scratch buffer (zero filled), longer ones as a view. */
  private cdbOf(task: ScsiTask): Buffer {
    const n = task.cdbLength;
    if (n > 16) return n === task.cdb.length ? task.cdb : task.cdb.subarray(0, n);
    const c = this.cdbScratch;
    task.cdb.copy(c, 0, 0, n);
    if (n < 16) c.fill(0, n);
    return c;
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
    renewItt(slot, this.connGen);
    this.free.push(slot);
  }

  /** Ends an in-flight or queued task towards the caller. */
  private finish(slot: Slot): void {
    const task = slot.task!;
    if (slot.state === INFLIGHT) this.inFlightCount--;
    else if (slot.state === QUEUED || slot.state === RETRY_WAIT) this.queuedCount--;
    this.releaseSlot(slot);
    this.callDone(task);
    this.afterCompletion();
  }

  private afterCompletion(): void {
    if (this.inFlightCount === 0) {
      if (this.state === DRAINING) this.sendRequestedLogout();
      if (this.queuedCount === 0 && this.idleWaiters.length > 0) this.notifyIdle();
    }
  }

  /** Ends the task with an error. */
  private failTask(slot: Slot, err: Error): void {
    const task = slot.task!;
    task.error = err;
    task.status = -1;
    if (slot.state === QUEUED) {
      // Still referenced by the wait queue: drain() frees it.
      this.queuedCount--;
      slot.state = CANCELLED;
      slot.task = null;
      this.callDone(task);
      this.afterCompletion();
      return;
    }
    this.finish(slot);
  }

  /** Sends the slot's command again as a new task: new ITT now, new CmdSN when it goes out. */
  private reissue(slot: Slot): void {
    const task = slot.task!;
    if (slot.state === INFLIGHT) this.inFlightCount--;
    renewItt(slot, this.connGen);
    task.reissued++;
    this.recovery.reissued++;
    slot.state = FREE;
    this.dispatch(slot);
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  // ------------------------------------------------------------------ receive path

  onPdu(pdu: Pdu): void {
    if (this.state === CLOSED || this.state === RECOVERING) return;
    this.lastRxTick = this.tick;
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
        this.onNopIn(pdu);
        break;
      case Opcode.TaskMgmtResponse:
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        if (this.ackStatSN(pdu.statSN)) this.onControlResponse(pdu.itt, "tmf", pdu.response);
        break;
      case Opcode.LogoutResponse:
        this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
        if (this.ackStatSN(pdu.statSN)) this.onLogoutResponse(pdu.itt, pdu.response, pdu.time2Wait);
        break;
      case Opcode.TextResponse:
        this.onTextResponse(pdu);
        break;
      case Opcode.AsyncMessage:
        this.onAsync(pdu);
        break;
      case Opcode.Reject:
        this.onReject(pdu);
        break;
      default:
        this.connectionLost(
          new SessionError(`unexpected PDU opcode ${hex(pdu.opcode)} in the full feature phase`),
        );
        return;
    }
    if (this.waiting.count > 0 && this.state === UP) this.drain();
  }

  private onNopIn(pdu: NopIn): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    if (pdu.itt === RESERVED_TAG) {
      // Unsolicited NOP-In: StatSN is not advanced (RFC 7143 11.19).
      if (serialGt(pdu.statSN, this.expStatSN)) this.expStatSN = pdu.statSN;
    } else if (!this.ackStatSN(pdu.statSN)) return;
    if (pdu.ttt !== RESERVED_TAG) {
      // The target pings us: answer with its TTT, LUN and data (RFC 7143 11.18).
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
    if (pdu.itt !== RESERVED_TAG) this.onControlResponse(pdu.itt, "nop", 0);
  }

  private onTextResponse(pdu: TextResponse): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    if (!this.ackStatSN(pdu.statSN)) return;
    const op = this.control.get(pdu.itt);
    if (op?.kind !== "text") {
      this.connectionLost(new SessionError(`text response for unknown ITT ${hex(pdu.itt)}`));
      return;
    }
    let whole: Buffer | null;
    try {
      whole = op.text!.add(pdu.data, pdu.cont);
    } catch (err) {
      this.connectionLost(new SessionError(`text response: ${(err as Error).message}`));
      return;
    }
    if (whole === null || !pdu.final) {
      // RFC 7143 11.10.4: ask for the rest with an empty Text Request carrying the target's TTT.
      this.sendText(pdu.itt, pdu.ttt, EMPTY);
      return;
    }
    op.textResult = Buffer.from(whole);
    this.onControlResponse(pdu.itt, "text", 0);
  }

  /** ExpCmdSN/MaxCmdSN from a response: update only if newer (RFC 7143 4.2.2.1). */
  private updateWindow(expCmdSN: number, maxCmdSN: number): void {
    // MaxCmdSN < ExpCmdSN - 1 (serial) is invalid and ignored.
    if (serialLt(maxCmdSN, serialAdd(expCmdSN, -1 >>> 0))) return;
    if (serialGt(expCmdSN, this.expCmdSN)) this.expCmdSN = expCmdSN;
    if (serialGt(maxCmdSN, this.maxCmdSN)) this.maxCmdSN = maxCmdSN;
  }

  /**
   * Acknowledges a status. On our one connection statuses come in order; one far from ExpStatSN
   * means statuses were lost or the target is confused, which ErrorRecoveryLevel 0 answers with
   * a new connection (RFC 7143 4.2.2.2: recovery when the gap exceeds an implementation constant).
   * Returns false when it dropped the connection.
   */
  private ackStatSN(statSN: number): boolean {
    const gap = (statSN - this.expStatSN) | 0;
    if (gap > MAX_STATSN_GAP || gap < -MAX_STATSN_GAP) {
      this.connectionLost(
        new SessionError(
          `StatSN ${statSN} is ${gap > 0 ? "ahead of" : "behind"} the expected ${this.expStatSN} by ${Math.abs(gap)}`,
        ),
      );
      return false;
    }
    const next = serialAdd(statSN, 1);
    if (serialGt(next, this.expStatSN)) this.expStatSN = next;
    return true;
  }

  /** The slot a task PDU names, or null (a PDU of an earlier connection is dropped; an unknown ITT drops the connection). */
  private taskSlot(itt: number, what: string): Slot | null {
    const slot = this.slots[itt & SLOT_MASK];
    if (slot !== undefined && slot.itt === itt && slot.state === INFLIGHT) return slot;
    if (ittConnGen(itt) !== this.connGen) return null;
    this.connectionLost(new SessionError(`${what} for unknown ITT ${hex(itt)}`));
    return null;
  }

  /**
   * The framer offers the data segment of a Data-In that spans socket reads: when it is the next
   * PDU of a task in flight and lies inside the task's buffer, it goes straight there (one copy
   * from the read buffer, none into the framer's). Everything else is checked again in onDataIn.
   */
  private placeData(bhs: Buffer, off: number, dsl: number): Buffer | null {
    if (this.state === CLOSED || this.state === RECOVERING) return null;
    const itt = bhs.readUInt32BE(off + 16);
    const slot = this.slots[itt & SLOT_MASK];
    if (slot === undefined || slot.itt !== itt || slot.state !== INFLIGHT) return null;
    const dataIn = slot.task!.dataIn;
    if (dataIn === null || bhs.readUInt32BE(off + 36) !== slot.expDataSN) return null; // DataSN
    const bufferOffset = bhs.readUInt32BE(off + 40);
    if (bufferOffset + dsl > slot.task!.dataInLength) return null;
    const view = dataIn.subarray(bufferOffset, bufferOffset + dsl);
    this.placed = view;
    return view;
  }

  private onDataIn(pdu: DataIn): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    const slot = this.taskSlot(pdu.itt, "Data-In");
    if (slot === null) return;
    const task = slot.task!;
    if (pdu.dataSN !== slot.expDataSN) {
      this.connectionLost(
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
        this.connectionLost(
          new SessionError(
            `Data-In at offset ${pdu.bufferOffset} length ${n} is outside the expected ${task.dataInLength} bytes (ITT ${hex(pdu.itt)})`,
          ),
        );
        return;
      }
      if (pdu.data !== this.placed) pdu.data.copy(task.dataIn, pdu.bufferOffset);
      this.placed = null;
      if (end > slot.transferred) slot.transferred = end;
    }
    if (pdu.hasStatus) {
      if (!this.ackStatSN(pdu.statSN)) return;
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
    if (!this.ackStatSN(pdu.statSN)) return;
    const slot = this.taskSlot(pdu.itt, "SCSI Response");
    if (slot === null) return;
    if (pdu.response !== 0) {
      this.failTask(slot, new SessionError(`target failure (iSCSI response ${hex(pdu.response)})`));
      return;
    }
    let senseLength = 0;
    if (pdu.data.length >= 2) {
      // RFC 7143 11.4.7: a 2-byte SenseLength, then the sense data.
      senseLength = pdu.data.readUInt16BE(0);
      if (senseLength > pdu.data.length - 2) {
        this.connectionLost(
          new SessionError(`SCSI Response SenseLength ${senseLength} exceeds the data segment`),
        );
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
    if (this.episodeStart >= 0) this.episodeStart = -1; // the new connection works
    let sense: Buffer | null = null;
    if (senseLength > 0) {
      const n = Math.min(senseLength, SENSE_MAX);
      senseData.copy(slot.senseBuf, 0, 2, 2 + n);
      sense = slot.senseBuf.subarray(0, n);
    }
    if (status === 2 && slot.unitAttentions < MAX_UNIT_ATTENTIONS && isUnitAttention(sense)) {
      // A UNIT ATTENTION (power on or reset, I_T nexus loss after a reinstatement, ...) is the
      // target telling us of an event, not the command failing: count it, send the command again.
      slot.unitAttentions++;
      this.recovery.unitAttentions++;
      this.inFlightCount--;
      slot.state = FREE;
      this.dispatch(slot);
      return;
    }
    if (
      (status === STATUS_BUSY || status === STATUS_TASK_SET_FULL) &&
      (this.tick - slot.firstTick) * this.tickMs < this.commandTimeoutMs
    ) {
      this.retryLater(slot);
      return;
    }
    task.status = status;
    task.residual = residual;
    task.dataInTransferred = slot.transferred;
    task.sense = sense; // a view of the slot's buffer, valid until the next submit (task.ts)
    this.finish(slot);
  }

  /** BUSY / TASK SET FULL: send the command again after a capped backoff (until the command timeout). */
  private retryLater(slot: Slot): void {
    this.inFlightCount--;
    this.queuedCount++;
    slot.state = RETRY_WAIT;
    slot.busyRetries++;
    this.recovery.busyRetries++;
    if (slot.retry === null) {
      const s = slot;
      s.retry = () => {
        if (s.state !== RETRY_WAIT) return;
        this.queuedCount--;
        s.state = FREE;
        renewItt(s, this.connGen);
        this.dispatch(s);
      };
    }
    setTimeout(slot.retry!, this.busyBackoff.delayMs(slot.busyRetries));
  }

  private onR2T(pdu: R2T): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    const slot = this.taskSlot(pdu.itt, "R2T");
    if (slot === null) return;
    const task = slot.task!;
    const end = pdu.bufferOffset + pdu.desiredDataTransferLength;
    if (pdu.desiredDataTransferLength === 0 || end > task.dataOutLength) {
      this.connectionLost(
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
    if (!this.ackStatSN(pdu.statSN)) return;
    switch (pdu.asyncEvent) {
      case AsyncEvent.LogoutRequest:
        // RFC 7143 11.9.1: log out within Parameter3 seconds. We stop sending, let the commands in
        // flight finish (or re-issue them after Parameter3), log out and log in again.
        this.onEvent(`the target asked for a logout within ${pdu.parameter3} s`);
        this.beginDrain(pdu.parameter3 * 1000);
        break;
      case AsyncEvent.ConnectionDrop:
      case AsyncEvent.SessionDrop:
        // Parameter2 is the Time2Wait before a new login (RFC 7143 11.9.1).
        this.connectionLost(
          new SessionError(
            `the target dropped the ${pdu.asyncEvent === AsyncEvent.SessionDrop ? "session" : "connection"}`,
          ),
          pdu.parameter2 * 1000,
        );
        break;
      case AsyncEvent.Renegotiate:
        this.renegotiate();
        break;
      default:
        // SCSI async events and vendor events need no action here.
        break;
    }
  }

  private onReject(pdu: Reject): void {
    this.updateWindow(pdu.expCmdSN, pdu.maxCmdSN);
    if (!this.ackStatSN(pdu.statSN)) return;
    const reason = `the target rejected a PDU (reason ${hex(pdu.reason)})`;
    if (pdu.data.length < 48) {
      this.connectionLost(new SessionError(reason));
      return;
    }
    const opcode = pdu.data[0]! & 0x3f;
    const itt = pdu.data.readUInt32BE(16);
    if (opcode === Opcode.ScsiCommand || opcode === Opcode.DataOut) {
      const slot = this.slots[itt & SLOT_MASK];
      if (slot !== undefined && slot.itt === itt && slot.state === INFLIGHT) {
        this.failTask(slot, new SessionError(reason));
        return;
      }
    }
    const op = this.control.get(itt);
    if (op) {
      this.control.delete(itt);
      op.reject(new SessionError(reason));
      return;
    }
    // A rejected PDU we cannot attribute: with ErrorRecoveryLevel 0 the connection is not trustworthy.
    this.connectionLost(new SessionError(`${reason} for opcode ${hex(opcode)}`));
  }

  // ------------------------------------------------------------------ control operations

  private newControl(kind: ControlKind): { itt: number; op: ControlOp; promise: Promise<number> } {
    const refuse =
      this.state === CLOSED
        ? (this.closeError ?? new SessionError("the session is closed"))
        : this.state === RECOVERING
          ? new SessionError("the session has no connection (recovering)")
          : null;
    return this.control.create(kind, this.tick, refuse);
  }

  private onControlResponse(itt: number, kind: ControlKind, response: number): void {
    if (kind === "nop" && itt === this.nopOutstanding) {
      this.nopOutstanding = null;
      this.episodeStart = -1;
      return;
    }
    const op = this.control.take(itt, kind);
    if (op === null) {
      this.connectionLost(new SessionError(`${kind} response for unknown ITT ${hex(itt)}`));
      return;
    }
    if (kind === "tmf") this.afterTmf(op, response);
    if (kind === "nop") {
      op.resolve(Number((process.hrtime.bigint() - op.sentAt) / 1000n));
      return;
    }
    op.resolve(response);
  }

  private afterTmf(op: ControlOp, response: number): void {
    if (response !== TmfResponse.Complete && response !== TmfResponse.TaskDoesNotExist) return;
    if (op.tmfFunction === TmfFunction.AbortTask) {
      const slot = op.slot;
      if (slot === null || slot.itt !== op.refItt || slot.state !== INFLIGHT) return; // it completed first
      // An abort of ours after a command timeout: the command never got its status, so it is sent
      // again; a caller's abort ends it.
      if (op.internal) this.reissue(slot);
      else this.failTask(slot, new SessionError("task aborted"));
      return;
    }
    if (op.tmfFunction === TmfFunction.LogicalUnitReset && response === TmfResponse.Complete) {
      for (const slot of this.slots) {
        if (slot.state === INFLIGHT && slot.task!.lun === op.lun) {
          if (op.internal && isIdempotent(slot.task!)) this.reissue(slot);
          else this.failTask(slot, new SessionError("task aborted by LOGICAL UNIT RESET"));
        }
      }
    }
  }

  private sendTmf(fn: number, lun: number, slot: Slot | null, internal = false): Promise<number> {
    const { itt, op, promise } = this.newControl("tmf");
    op.tmfFunction = fn;
    op.lun = lun;
    op.slot = slot;
    op.internal = internal;
    op.refItt = slot ? slot.itt : RESERVED_TAG;
    if (this.state === CLOSED || this.state === RECOVERING) return promise;
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
      if (slot.state === QUEUED || slot.state === RETRY_WAIT) {
        this.failTask(slot, new SessionError("task aborted"));
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
    if (this.state === UP || this.state === DRAINING) this.sendPing(itt);
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
    if (this.state === UP || this.state === DRAINING) this.sendText(itt, RESERVED_TAG, buildText(pairs));
    await promise;
    return parseText(op.textResult ?? EMPTY);
  }

  /**
   * Async Message event 4 (RFC 7143 11.9.1): the target wants to renegotiate. We offer our receive
   * limit again and take the target's declared MaxRecvDataSegmentLength (the only operational key
   * a Text Request may change in the full feature phase, RFC 7143 13.12).
   */
  private renegotiate(): void {
    const mine = String(this.negotiated.maxRecvDataSegmentLength);
    this.text([["MaxRecvDataSegmentLength", mine]])
      .then((answer) => {
        for (const [k, v] of answer) {
          const n = Number(v);
          if (k === "MaxRecvDataSegmentLength" && Number.isInteger(n) && n >= 512 && n <= 16777215)
            this.negotiated = { ...this.negotiated, peerMaxRecvDataSegmentLength: n };
        }
        this.onEvent("renegotiated at the target's request");
      })
      .catch(() => {});
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
    if (this.state === CLOSED) {
      if (this.closeError) throw this.closeError;
      return;
    }
    this.logoutRequested = true;
    if (this.inFlightCount + this.queuedCount > 0 || this.state !== UP) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    while (this.state === RECOVERING || this.state === DRAINING) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    if (this.state === CLOSED) {
      if (this.closeError) throw this.closeError;
      return;
    }
    const { itt, promise } = this.newControl("logout");
    this.sendLogout(itt);
    const timer = setTimeout(
      () => this.finishClose(new SessionError(`logout timed out after ${this.loginTimeoutMs} ms`)),
      this.loginTimeoutMs,
    );
    try {
      await promise;
    } finally {
      clearTimeout(timer);
    }
  }

  private sendLogout(itt: number): void {
    this.conn.send({
      opcode: Opcode.LogoutRequest,
      immediate: true,
      reasonCode: 0,
      itt,
      cid: 0,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
    });
  }

  private onLogoutResponse(itt: number, response: number, time2Wait: number): void {
    const op = this.control.take(itt, "logout");
    if (op === null) {
      this.connectionLost(new SessionError(`logout response for unknown ITT ${hex(itt)}`));
      return;
    }
    if (op.relogin) {
      // The logout the target asked for is done: log in again (same ISID, TSIH 0) after its Time2Wait.
      op.resolve(response);
      this.connectionLost(new SessionError("logged out at the target's request"), time2Wait * 1000, true);
      return;
    }
    this.finishClose(null);
    op.resolve(response);
  }

  /** Async logout request: hold new commands, wait for the ones in flight (at most `withinMs`), log out. */
  private beginDrain(withinMs: number): void {
    if (this.state !== UP || this.relogin === null) {
      if (this.relogin === null && this.state === UP) this.logout().catch(() => {});
      return;
    }
    this.state = DRAINING;
    this.drainTimer = setTimeout(
      () => {
        this.drainTimer = null;
        if (this.state === DRAINING) this.sendRequestedLogout();
      },
      Math.max(0, withinMs - 500),
    );
    if (this.inFlightCount === 0) this.sendRequestedLogout();
  }

  private sendRequestedLogout(): void {
    if (this.state !== DRAINING) return;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    const { itt, op } = this.newControl("logout");
    op.relogin = true;
    // The commands still in flight (if Parameter3 ran out) are re-issued after the new login.
    this.sendLogout(itt);
  }

  close(): void {
    if (this.state === CLOSED) return;
    this.finishClose(null, new SessionError("the session was closed"));
  }

  // ------------------------------------------------------------------ connection loss and recovery

  /**
   * The connection is gone (reset, close, framing or digest error, NOP timeout, unanswered TMFs).
   * The session survives it: commands without a final status wait for a new connection, which is
   * a new login with the same initiator name and ISID and TSIH 0, so the target ends the old
   * session's tasks (session reinstatement, RFC 7143 6.3.5), after Time2Wait (RFC 7143 13.15).
   */
  private connectionLost(
    cause: Error,
    time2WaitMs = this.negotiated.defaultTime2Wait * 1000,
    planned = false,
  ): void {
    if (this.state === CLOSED || this.state === RECOVERING) return;
    const old = this.conn;
    old.handler = NOOP_HANDLER;
    old.destroy();
    if (this.logoutRequested && this.inFlightCount + this.queuedCount === 0) {
      // the session was ending anyway: nothing to recover
      this.finishClose(cause);
      return;
    }
    if (this.recoveryTimeoutMs <= 0) {
      this.finishClose(new RecoveryTimeoutError(0, cause.message));
      return;
    }
    this.state = RECOVERING;
    this.recoveryStart = performance.now();
    if (this.episodeStart < 0) {
      this.episodeStart = this.recoveryStart;
      this.episodeAttempts = 0;
    } else time2WaitMs = Math.max(time2WaitMs, this.backoff.delayMs(++this.episodeAttempts));
    this.recovery.downSince = this.recoveryStart;
    this.recovery.reconnects++;
    this.nopOutstanding = null;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    const lost = new SessionError(`the connection was lost (${cause.message})`);
    this.control.rejectAll(lost);
    this.requeueInFlight(cause);
    this.onEvent(
      `${planned ? "" : "connection lost: "}${cause.message}; logging in again in ${(time2WaitMs / 1000).toFixed(1)} s`,
    );
    void this.recover(cause, time2WaitMs);
  }

  /** Commands in flight on the lost connection go to the front of the queue, in CmdSN order, as new tasks. */
  private requeueInFlight(cause: Error): void {
    const again: Slot[] = [];
    for (const slot of this.slots) if (slot.state === INFLIGHT) again.push(slot);
    again.sort((a, b) => (a.cmdSN === b.cmdSN ? 0 : serialLt(a.cmdSN, b.cmdSN) ? -1 : 1));
    const front: Slot[] = [];
    for (const slot of again) {
      if (!isIdempotent(slot.task!)) {
        this.failTask(
          slot,
          new SessionError(`${cause.message}; a command that must not run twice was not re-issued`),
        );
        continue;
      }
      this.inFlightCount--;
      renewItt(slot, this.connGen);
      slot.task!.reissued++;
      this.recovery.reissued++;
      slot.state = QUEUED;
      this.queuedCount++;
      front.push(slot);
    }
    this.waiting.pushFront(front);
  }

  /** Logs in again (same ISID, TSIH 0) until it works or the recovery timeout of the episode passes. */
  private async recover(cause: Error, firstDelayMs: number): Promise<void> {
    const outcome = await this.reinstatement.run({
      deadline: this.episodeStart + this.recoveryTimeoutMs,
      firstDelayMs,
      nextDelayMs: () => this.backoff.delayMs(++this.episodeAttempts),
      loginTimeoutMs: this.loginTimeoutMs,
      attempt: async (timeoutMs) => {
        const { conn, result } = await connectAndLogin(this.relogin!.host, this.relogin!.port, {
          ...this.relogin!.login,
          timeoutMs,
          cmdSN: this.cmdSN,
        });
        if (this.state !== RECOVERING) conn.destroy();
        else this.resume(conn, result);
      },
    });
    if (outcome.kind !== "gave-up" || this.state !== RECOVERING) return;
    this.finishClose(
      new RecoveryTimeoutError(performance.now() - this.episodeStart, outcome.lastError ?? cause.message),
    );
  }

  /** A new connection and session (same ISID): the queue, re-issued commands first, goes out on it. */
  private resume(conn: Connection, login: LoginResult): void {
    const now = performance.now();
    this.conn = conn;
    this.connGen = (this.connGen + 1) & CONN_GEN_MASK;
    this.attach(conn);
    this.negotiated = login.negotiated;
    this.currentTsih = login.tsih;
    // A new session: its own CmdSN window and StatSN (the login carried our CmdSN).
    this.cmdSN = login.expCmdSN;
    this.expCmdSN = login.expCmdSN;
    this.maxCmdSN = login.maxCmdSN;
    this.expStatSN = login.expStatSN;
    this.recovery.reinstatements++;
    this.recovery.outageMs += now - this.recovery.downSince;
    this.recovery.downSince = -1;
    this.lastRxTick = this.tick;
    // Queued commands got their ITTs under the old generation: renew them for this connection.
    for (const slot of this.slots)
      if (slot.state === QUEUED || slot.state === FREE) renewItt(slot, this.connGen);
    this.state = UP;
    this.onEvent(
      `session reinstated after ${((now - this.recoveryStart) / 1000).toFixed(1)} s (TSIH ${login.tsih}); sending ${this.queuedCount} queued command${this.queuedCount === 1 ? "" : "s"}`,
    );
    this.drain();
    this.afterCompletion();
  }

  private finishClose(
    reported: Error | null,
    taskError: Error = reported ?? new SessionError("the session was closed"),
  ): void {
    if (this.state === CLOSED) return;
    const wasUp = this.state === UP || this.state === DRAINING;
    this.state = CLOSED;
    this.closeError = reported;
    clearInterval(this.timer);
    this.reinstatement.cancel();
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    if (this.recovery.downSince >= 0) {
      this.recovery.outageMs += performance.now() - this.recovery.downSince;
      this.recovery.downSince = -1;
    }
    this.conn.handler = NOOP_HANDLER;
    if (wasUp && reported === null) this.conn.end();
    this.conn.destroy();
    for (const slot of this.slots) {
      if (slot.state === INFLIGHT || slot.state === QUEUED || slot.state === RETRY_WAIT) {
        const task = slot.task!;
        task.error = taskError;
        task.status = -1;
        this.defer(task);
        slot.state = FREE;
        slot.task = null;
      } else if (slot.state === CANCELLED) slot.state = FREE;
    }
    this.inFlightCount = 0;
    this.queuedCount = 0;
    this.control.rejectAll(taskError, (op) => op.kind === "logout" && reported === null);
    this.notifyIdle();
    const cb = this.onClose;
    if (cb) process.nextTick(cb, reported);
  }

  private onTick(): void {
    this.tick++;
    if (this.state !== UP && this.state !== DRAINING) return;
    if (this.inFlightCount > 0) this.checkCommandTimeouts();
    if (this.control.size > 0) this.checkControlTimeouts();
    if (this.state !== UP && this.state !== DRAINING) return;
    this.keepAlive();
  }

  /**
   * A command without an answer for the command timeout is aborted (ABORT TASK naming its ITT and
   * CmdSN, RFC 7143 11.5.1) and re-issued when the abort is confirmed; an unanswered abort is
   * followed by LOGICAL UNIT RESET, and an unanswered reset by dropping the connection, which
   * recovery replaces. A response that arrives before the TMF's answer completes the command.
   */
  private checkCommandTimeouts(): void {
    const limit = Math.ceil(this.commandTimeoutMs / this.tickMs);
    for (const slot of this.slots) {
      if (slot.state !== INFLIGHT) continue;
      if (slot.stage === STAGE_NONE && this.tick - slot.startTick > limit) {
        slot.stage = STAGE_ABORT;
        slot.stageTick = this.tick;
        this.recovery.commandTimeouts++;
        this.recovery.aborts++;
        this.onEvent(`a command timed out after ${this.commandTimeoutMs} ms: ABORT TASK`);
        this.sendTmf(TmfFunction.AbortTask, slot.task!.lun, slot, true).catch(() => {});
      } else if (slot.stage === STAGE_ABORT && this.tick - slot.stageTick > limit) {
        slot.stage = STAGE_LUN_RESET;
        slot.stageTick = this.tick;
        this.onEvent(`ABORT TASK unanswered after ${this.commandTimeoutMs} ms: LOGICAL UNIT RESET`);
        this.sendTmf(TmfFunction.LogicalUnitReset, slot.task!.lun, null, true).catch(() => {});
      } else if (slot.stage === STAGE_LUN_RESET && this.tick - slot.stageTick > limit) {
        this.connectionLost(
          new SessionError(
            `a command timed out after ${this.commandTimeoutMs} ms and ABORT TASK and LOGICAL UNIT RESET went unanswered`,
          ),
          0,
        );
        return;
      }
    }
  }

  /**
   * A text, logout, ping or TMF of the caller's without an answer for the command timeout: the
   * connection is not working (the session's own aborts escalate in checkCommandTimeouts).
   */
  private checkControlTimeouts(): void {
    const limit = Math.ceil(this.commandTimeoutMs / this.tickMs);
    for (const op of this.control.values()) {
      if (op.internal || this.tick - op.sentTick <= limit) continue;
      const what = op.kind === "nop" ? "NOP-Out" : op.kind === "tmf" ? "task management" : op.kind;
      this.connectionLost(
        new SessionError(`the target did not answer a ${what} request within ${this.commandTimeoutMs} ms`),
      );
      return;
    }
  }

  /** NOP-Out pings on a connection that has been quiet for the interval; no answer within --noop-timeout: it is dead. */
  private keepAlive(): void {
    if (this.nopIntervalMs <= 0) return;
    if (this.nopOutstanding !== null) {
      if ((this.tick - this.nopSentTick) * this.tickMs > this.noopTimeoutMs) {
        this.connectionLost(
          new SessionError(`the target did not answer a NOP-Out ping within ${this.noopTimeoutMs} ms`),
        );
      }
    } else if ((this.tick - this.lastRxTick) * this.tickMs >= this.nopIntervalMs) {
      this.nopSentTick = this.tick;
      const itt = this.control.nextItt();
      this.nopOutstanding = itt;
      this.sendPing(itt);
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
  const login: Omit<LoginOptions, "cmdSN"> = {
    initiatorName: options.initiatorName,
    targetName: options.targetName,
    sessionType: options.sessionType,
    isid,
    chap: options.chap,
    want,
    timeoutMs,
  };
  const { conn, result } = await connectAndLogin(options.host, options.port, { ...login, cmdSN });
  return new InitiatorSession(conn, result, {
    targetName: options.targetName ?? "",
    isid,
    commandTimeoutMs: options.commandTimeoutMs ?? 30000,
    loginTimeoutMs: timeoutMs,
    nopIntervalMs: options.nopIntervalMs ?? 5000,
    noopTimeoutMs: options.noopTimeoutMs ?? 10000,
    recoveryTimeoutMs: options.recoveryTimeoutMs ?? 120000,
    cmdSN,
    // Discovery sessions are not recovered: a SendTargets exchange is simply asked again.
    relogin: options.sessionType === "Normal" ? { host: options.host, port: options.port, login } : null,
    onEvent: options.onEvent,
  });
}

/** Opens a normal session to `options.targetName`. Rejects with LoginError or SessionError. */
export function openSession(options: SessionOptions): Promise<Session> {
  return openSessionOfType({ ...options, sessionType: "Normal" });
}
