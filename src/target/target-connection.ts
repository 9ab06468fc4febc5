/**
 * One iSCSI connection of the target (MaxConnections=1, so also its session): login through
 * TargetLogin, then the full feature phase (RFC 7143 section 11): SCSI commands with immediate
 * data, unsolicited Data-Out and R2T-solicited Data-Out, Data-In with phase collapse, the CmdSN
 * window, NOP, Text (SendTargets), Task Management and Logout. Malformed PDUs get a Reject; a
 * framing error closes this connection only.
 */
import type { Socket } from "node:net";
import { encodeBhs } from "../iscsi/encode.js";
import type { ProtocolError } from "../iscsi/errors.js";
import { decodeLun, encodeLun } from "../iscsi/lun.js";
import type { OperationalParams } from "../iscsi/params.js";
import {
  AsyncEvent,
  type AsyncMessage,
  BHS_LENGTH,
  type DataIn,
  type DataOut,
  type LoginRequest,
  type LogoutRequest,
  type NopIn,
  type NopOut,
  Opcode,
  type Pdu,
  type R2T,
  RESERVED_TAG,
  RejectReason,
  type ScsiCommand,
  type ScsiResponse,
  type TargetPdu,
  type TaskMgmtRequest,
  type TextRequest,
  TmfFunction,
  TmfResponse,
} from "../iscsi/pdu.js";
import { buildText, parseText, splitText, TextAssembler, type TextPairs } from "../iscsi/text.js";
import { buildFixedSense } from "../scsi/sense.js";
import { TransportError } from "../transport/errors.js";
import { PduTransport, type TransportHandler } from "../transport/pdu-transport.js";
import type { Acl } from "./acl.js";
import type { ConnectionFaults, FaultInjector, FaultTarget } from "./fault-injector.js";
import {
  executeWithoutLun,
  type LogicalUnit,
  type LuContext,
  type Nexus,
  type ScsiCommandOut,
} from "./logical-unit.js";
import type { ResolvedTargetOptions } from "./options.js";
import { type LoginIdentity, TargetLogin } from "./target-login.js";
import type { TargetSession } from "./target-session.js";
import { Task } from "./target-task.js";
import { cdbWriteLength, withTransferLength } from "./write-length.js";

/** What a connection needs from the portal that owns it. */
export interface ConnectionHost {
  readonly config: ResolvedTargetOptions;
  readonly acl: Acl;
  readonly luCtx: LuContext;
  lu(lun: number): LogicalUnit | undefined;
  /** Admits a completed login: its session (new or reinstating one), or the login status refusing it. */
  admit(
    identity: LoginIdentity,
    conn: TargetConnection,
  ): { session: TargetSession<TargetConnection> } | { status: number };
  /** The fault injector of the target, or null when no fault is configured. */
  readonly faults: FaultInjector | null;
  /** One line for the target's log (faults that fire, refused or timed-out logins). */
  log(line: string): void;
  /** SendTargets answer for `initiatorName` (value "All", a target name, or "" for the session's target). */
  sendTargets(initiatorName: string, value: string, normalSession: boolean): TextPairs;
  /** A LOGICAL UNIT RESET / TARGET WARM RESET: every connection drops its tasks on `lun` (-1 = all). */
  resetTasks(lun: number, origin: TargetConnection): void;
  closed(conn: TargetConnection): void;
}

const EMPTY = Buffer.alloc(0);
const MAX_ABORTED_REMEMBERED = 256;
const MAX_TEXT_BYTES = 64 * 1024;
/** ILLEGAL REQUEST / INVALID FIELD IN COMMAND INFORMATION UNIT (SPC-4: ASC 0x0E ASCQ 0x03). */
const SENSE_INVALID_FIELD_IN_IU = buildFixedSense(0x05, 0x0e, 0x03);
/** ABORTED COMMAND / DATA PHASE ERROR (ASC 0x4B ASCQ 0x00): a Data-Out sequence error. */
const SENSE_DATA_PHASE_ERROR = buildFixedSense(0x0b, 0x4b, 0x00);
/** ILLEGAL REQUEST / INVALID MESSAGE ERROR (bidirectional commands are not supported). */
const SENSE_INVALID_MESSAGE = buildFixedSense(0x05, 0x49, 0x00);
/** ILLEGAL REQUEST / INVALID FIELD IN CDB: a transfer larger than the target takes in one command. */
const SENSE_INVALID_FIELD_IN_CDB = buildFixedSense(0x05, 0x24, 0x00);
/** The largest write one command may transfer, and all of a connection's commands together. */
const MAX_COMMAND_WRITE = 64 * 1024 * 1024;
const MAX_PENDING_WRITE = 256 * 1024 * 1024;
/**
 * Write buffers kept for reuse per connection, in bytes: a fresh large buffer is fresh pages (a
 * page fault each, ~10-20 µs on a VM), a reused one is warm.
 */
const MAX_POOLED_WRITE = 32 * 1024 * 1024;

type Phase = "login" | "full" | "closed";

export class TargetConnection implements TransportHandler, FaultTarget {
  private phase: Phase = "login";
  /** The socket, framing, sending, counters and fault hooks of this connection. */
  readonly transport: PduTransport;
  private readonly login: TargetLogin;
  private identity: LoginIdentity | null = null;
  private params: OperationalParams | null = null;
  private nexus: Nexus | null = null;
  private statSN = 0;
  /** CmdSN numbering during login; afterwards the session's (RFC 7143 4.2.2.1). */
  private loginExpCmdSN = 0;
  private loginMaxCmdSN = 0;
  private readonly window: number;
  /** The session this connection belongs to, once admitted. */
  private session: TargetSession<TargetConnection> | null = null;
  /** This connection's faults (null: none configured, the usual case). */
  private readonly faults: ConnectionFaults | null;
  private loginTimer: NodeJS.Timeout | null = null;
  private readonly tasks = new Map<number, Task>();
  private readonly pool: Task[] = [];
  private readonly aborted: number[] = [];
  private nextTag = 1;
  private pendingWriteBytes = 0;
  /** Reusable write buffers by exact size (workloads repeat a few sizes), at most MAX_POOLED_WRITE. */
  private readonly writeBuffers = new Map<number, Buffer[]>();
  private pooledWriteBytes = 0;
  private nopTimer: NodeJS.Timeout | null = null;
  private nopOutstanding = 0;
  private nopMissed = 0;
  private readonly textIn = new TextAssembler(MAX_TEXT_BYTES);
  private textOut: { ttt: number; segments: Buffer[]; itt: number } | null = null;
  private logoutPending = false;
  /** Reused PDU objects for the hot path (encoded synchronously, never retained). */
  private readonly dataIn: DataIn;
  private readonly resp: ScsiResponse;
  private readonly r2t: R2T;
  readonly remote: string;

  constructor(
    socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    // a slow reader must not make the target buffer every response: reading pauses meanwhile
    this.transport = new PduTransport(socket, { pauseReadingOnBackpressure: true });
    this.remote = this.transport.remote;
    this.window = host.config.commandWindow;
    this.login = new TargetLogin({
      targetName: host.config.iqn,
      chap: host.config.chap,
      mutualChap: host.config.mutualChap,
      acl: host.acl,
      policy: host.config.policy,
      portalGroupTag: 1,
      admission: {
        admit: (id) => {
          const r = host.admit(id, this);
          if ("status" in r) return r;
          this.session = r.session;
          return { tsih: r.session.tsih };
        },
      },
    });
    this.dataIn = {
      opcode: Opcode.DataIn,
      final: false,
      ack: false,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: false,
      hasStatus: false,
      status: 0,
      lun: 0n,
      itt: 0,
      ttt: RESERVED_TAG,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      dataSN: 0,
      bufferOffset: 0,
      residualCount: 0,
      data: EMPTY,
    };
    this.resp = {
      opcode: Opcode.ScsiResponse,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: false,
      response: 0,
      status: 0,
      itt: 0,
      snackTag: 0,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      expDataSN: 0,
      bidiReadResidualCount: 0,
      residualCount: 0,
      data: EMPTY,
    };
    this.r2t = {
      opcode: Opcode.R2T,
      lun: 0n,
      itt: 0,
      ttt: 0,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      r2tSN: 0,
      bufferOffset: 0,
      desiredDataTransferLength: 0,
    };
    this.transport.handler = this;
    this.faults = host.faults?.forConnection(this) ?? null;
    const loginTimeout = host.config.loginTimeoutMs;
    if (loginTimeout > 0) {
      // a half-open login holds a socket and a slot: it has this long to reach the full feature phase
      this.loginTimer = setTimeout(() => {
        this.loginTimer = null;
        if (this.phase !== "login") return;
        host.log(
          `login timeout: ${this.remote} did not complete its login within ${loginTimeout} ms; closing it`,
        );
        this.destroy();
      }, loginTimeout);
      this.loginTimer.unref();
    }
  }

  get sessionKey(): string | null {
    return this.session?.key ?? null;
  }
  get tsih(): number {
    return this.session?.tsih ?? 0;
  }
  /** The session this connection belongs to, once logged in. */
  get targetSession(): TargetSession<TargetConnection> | null {
    return this.session;
  }
  get sessionType(): string | null {
    return this.identity?.sessionType ?? null;
  }
  get activeTasks(): number {
    return this.tasks.size;
  }

  // ---------------------------------------------------------------- input

  onError(err: Error): void {
    // framing error (impossible length, header digest): this connection cannot resync; what was
    // already answered still goes out. A socket error leaves nothing to send.
    this.destroy(!(err instanceof TransportError && err.kind === "socket"));
  }

  onClose(): void {
    this.destroy();
  }

  onPdu(pdu: Pdu): void {
    if (this.phase === "closed") return;
    if (this.phase === "login") {
      if (pdu.opcode !== Opcode.LoginRequest) {
        this.destroy(); // RFC 7143 6.2: only Login Requests before the full feature phase
        return;
      }
      this.onLogin(pdu);
      return;
    }
    switch (pdu.opcode) {
      case Opcode.ScsiCommand:
        this.onCommand(pdu);
        break;
      case Opcode.DataOut:
        this.onDataOut(pdu);
        break;
      case Opcode.NopOut:
        this.onNopOut(pdu);
        break;
      case Opcode.TaskMgmtRequest:
        this.onTaskMgmt(pdu);
        break;
      case Opcode.TextRequest:
        this.onText(pdu);
        break;
      case Opcode.LogoutRequest:
        this.onLogout(pdu);
        break;
      case Opcode.SnackRequest:
        // ErrorRecoveryLevel=0: SNACK support is not required (RFC 7143 11.16)
        this.reject(RejectReason.CommandNotSupported, null, pdu);
        break;
      case Opcode.LoginRequest:
        this.reject(RejectReason.ProtocolError, null, pdu);
        break;
      default:
        // a target-side opcode sent by the initiator
        this.reject(RejectReason.ProtocolError, null, pdu);
    }
  }

  onMalformed(err: ProtocolError, bhs: Buffer): void {
    if (this.phase !== "full") {
      this.destroy();
      return;
    }
    const reason =
      err.kind === "dataDigest"
        ? RejectReason.DataDigestError
        : err.kind === "opcode"
          ? RejectReason.CommandNotSupported
          : RejectReason.InvalidPduField;
    // a rejected non-immediate command still consumes its CmdSN, or the window would stall
    const op = bhs[0]! & 0x3f;
    if ((bhs[0]! & 0x40) === 0 && (op === 0x00 || op === 0x01 || op === 0x02 || op === 0x04 || op === 0x06)) {
      this.acceptCmdSN(bhs.readUInt32BE(24));
    }
    this.reject(reason, bhs, null);
  }

  // ---------------------------------------------------------------- login

  private onLogin(req: LoginRequest): void {
    if (this.identity === null && this.statSN === 0) {
      // first PDU: the starting StatSN is ours to choose; CmdSN starts where the initiator says
      this.statSN = 1;
      this.loginExpCmdSN = req.cmdSN;
      this.loginMaxCmdSN = (req.cmdSN + this.window - 1) >>> 0;
    }
    const step = this.login.handle(req);
    const res = step.response;
    res.statSN = this.statSN;
    this.statSN = (this.statSN + 1) >>> 0;
    res.expCmdSN = this.loginExpCmdSN;
    res.maxCmdSN = this.loginMaxCmdSN;
    this.transport.send(res);
    if (step.kind === "fail") {
      this.phase = "closed";
      this.transport.end();
      setTimeout(() => this.destroy(), 1000).unref();
      return;
    }
    if (step.kind === "continue") return;
    if (this.loginTimer !== null) {
      clearTimeout(this.loginTimer);
      this.loginTimer = null;
    }
    // the session's numbering starts with the leading login's CmdSN (RFC 7143 4.2.2.1)
    this.session!.startCmdSN(this.loginExpCmdSN);
    this.identity = step.identity;
    this.params = step.params;
    this.nexus = {
      id: `${step.identity.initiatorName},i,0x${step.identity.isid.toString(16).padStart(12, "0")},${this.host.config.iqn},t,0x1`,
      initiatorName: step.identity.initiatorName,
      isid: step.identity.isid,
      tpgt: 1,
      targetName: this.host.config.iqn,
    };
    this.phase = "full";
    // digests start right after the final login response (RFC 7143 13.1)
    this.transport.setNegotiated(
      step.params.headerDigest,
      step.params.dataDigest,
      step.params.maxRecvDataSegmentLength,
    );
    const nop = this.host.config.nopIntervalMs;
    if (nop > 0) {
      this.nopTimer = setInterval(() => this.ping(), nop);
      this.nopTimer.unref();
    }
    this.faults?.onLogin();
  }

  // ---------------------------------------------------------------- CmdSN window

  /** RFC 7143 4.2.2.1: accepts a non-immediate CmdSN inside [ExpCmdSN, MaxCmdSN]; false = ignore it. */
  private acceptCmdSN(cmdSN: number): boolean {
    return this.session!.acceptCmdSN(cmdSN);
  }

  /** MaxCmdSN = ExpCmdSN + window - 1, less the tasks still running; never decreases. */
  private currentMaxCmdSN(): number {
    return this.session!.currentMaxCmdSN(this.tasks.size);
  }

  private stamp(pdu: { statSN: number; expCmdSN: number; maxCmdSN: number }, advance: boolean): void {
    pdu.statSN = this.statSN;
    if (advance) this.statSN = (this.statSN + 1) >>> 0;
    pdu.expCmdSN = this.session!.expCmdSN;
    pdu.maxCmdSN = this.currentMaxCmdSN();
  }

  // ---------------------------------------------------------------- SCSI commands

  private allocTask(): Task {
    return this.pool.pop() ?? new Task((t, out) => this.taskDone(t, out), this.nexus!);
  }

  private onCommand(pdu: ScsiCommand): void {
    if (!pdu.immediate && !this.acceptCmdSN(pdu.cmdSN)) return; // outside the window: silently ignored
    if (this.identity!.sessionType === "Discovery") {
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    if (this.tasks.has(pdu.itt)) {
      this.reject(RejectReason.TaskInProgress, null, pdu);
      return;
    }
    const params = this.params!;
    const immediateLength = pdu.data.length;
    if (immediateLength > 0 && (!params.immediateData || !pdu.write)) {
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    if (immediateLength > pdu.expectedDataTransferLength || immediateLength > params.firstBurstLength) {
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    let lun: number;
    try {
      lun = decodeLun(pdu.lun);
    } catch {
      lun = -1;
    }
    const t = this.allocTask();
    t.begin(pdu, lun, lun >= 0 ? this.host.lu(lun) : undefined);
    const faults = this.faults;
    if (faults !== null) {
      // fault injection: BUSY / TASK SET FULL instead of executing, or a command never answered
      const status = faults.onCommand(t.cdb[0] ?? 0);
      t.faultNumber = faults.commands;
      if (status >= 0) t.failStatus = status;
      t.dropped = faults.dropThis(t.itt);
    }
    this.tasks.set(t.itt, t);
    if (pdu.read && pdu.write) t.failSense = SENSE_INVALID_MESSAGE;

    if (t.edtl === 0) {
      t.dataOut = null;
      t.unsolicitedDone = true;
      t.nextR2TOffset = 0;
      const want = cdbWriteLength(t.cdb, t.lu?.blockSize ?? this.host.luCtx.blockSize);
      if (want > 0 && t.failStatus < 0 && !t.dropped) {
        // a write CDB with nothing transferred: nothing is written, the whole length is overflow
        t.isWrite = true;
        t.writeResidual = -want;
        t.executing = true;
        this.sendStatus(t, 0, null, t.writeResidual, 0);
        this.finish(t);
        return;
      }
      this.startTask(t);
      return;
    }
    // RFC 7143 11.4.5.1 write residuals: when the CDB and EDTL disagree we take all EDTL bytes and
    // write min(EDTL, CDB length) (FCP-4 9.4.2 a); a partial block is refused without writing
    const bs = t.lu?.blockSize ?? this.host.luCtx.blockSize;
    const want = cdbWriteLength(t.cdb, bs);
    t.writeLength = t.edtl;
    if (want >= 0 && want !== t.edtl) {
      t.writeResidual = t.edtl - want;
      if (t.edtl > want) t.writeLength = want;
      else if (t.edtl % bs !== 0) t.failSense = SENSE_INVALID_FIELD_IN_IU;
      else t.cdb = withTransferLength(t.cdb, t.edtl / bs);
    }
    // memory stays bounded whatever the initiator declares: one command, and all of a connection's
    if (t.edtl > MAX_COMMAND_WRITE) {
      t.failStatus = 2;
      t.failSense = SENSE_INVALID_FIELD_IN_CDB;
    } else if (this.pendingWriteBytes + t.edtl > MAX_PENDING_WRITE) {
      t.failStatus = 0x28; // TASK SET FULL
    }
    if (t.failStatus < 0 && pdu.final && immediateLength === t.edtl) {
      // All the data is in this PDU and the task starts now, synchronously: the LU copies it
      // straight from the receive buffer into the store (one copy, no write buffer). The view is
      // let go as soon as the LU has been called.
      t.dataOut = pdu.data;
      t.received = immediateLength;
      t.unsolicitedDone = true;
      t.unsolicitedDataSN = 0;
      t.unsolicitedLimit = immediateLength;
      t.nextR2TOffset = t.edtl;
      this.startTask(t);
      t.dataOut = null;
      t.cmd.dataOut = null;
      return;
    }
    if (t.failStatus < 0) {
      t.dataOut = this.takeWriteBuffer(t.edtl);
      t.pooledDataOut = true;
      t.reserved = t.edtl;
      this.pendingWriteBytes += t.edtl;
      if (immediateLength > 0) pdu.data.copy(t.dataOut, 0);
    } else {
      t.dataOut = null; // unsolicited data of a refused command is read and dropped
    }
    t.received = immediateLength;
    // unsolicited Data-Out follows unless F is set (RFC 7143 11.3.4); at most FirstBurstLength in all
    t.unsolicitedDone = pdu.final || params.initialR2T;
    t.unsolicitedDataSN = 0;
    t.unsolicitedLimit = params.initialR2T ? immediateLength : Math.min(params.firstBurstLength, t.edtl);
    if (!pdu.final && params.initialR2T) {
      // F=0 but no unsolicited data is allowed: a protocol error
      this.tasks.delete(t.itt);
      this.releaseTask(t);
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    // a refused command solicits nothing; it answers once the unsolicited data is in (RFC 7143 11.17.1)
    t.nextR2TOffset = t.failStatus >= 0 ? t.edtl : t.unsolicitedDone ? immediateLength : t.unsolicitedLimit;
    this.solicit(t);
    this.maybeStart(t);
  }

  /** Issues R2Ts for the rest of the data, up to MaxOutstandingR2T at a time, each <= MaxBurstLength. */
  private solicit(t: Task): void {
    const params = this.params!;
    while (t.nextR2TOffset < t.edtl && t.r2ts.length < params.maxOutstandingR2T) {
      const length = Math.min(params.maxBurstLength, t.edtl - t.nextR2TOffset);
      const ttt = this.newTag();
      t.r2ts.push({ ttt, offset: t.nextR2TOffset, length, received: 0, nextDataSN: 0 });
      const r = this.r2t;
      r.lun = encodeLunSafe(t.lun);
      r.itt = t.itt;
      r.ttt = ttt;
      this.stamp(r, false);
      r.r2tSN = t.r2tSN;
      t.r2tSN = (t.r2tSN + 1) >>> 0;
      r.bufferOffset = t.nextR2TOffset;
      r.desiredDataTransferLength = length;
      this.transport.send(r);
      t.nextR2TOffset += length;
    }
  }

  private onDataOut(pdu: DataOut): void {
    const t = this.tasks.get(pdu.itt);
    if (t === undefined || !t.isWrite || t.executing) {
      if (this.aborted.includes(pdu.itt)) return; // data of an aborted task: ignored
      this.reject(RejectReason.InvalidPduField, null, pdu);
      return;
    }
    const len = pdu.data.length;
    const off = pdu.bufferOffset;
    if (off + len > t.edtl) {
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    let last: boolean;
    if (pdu.ttt === RESERVED_TAG) {
      if (t.unsolicitedDone || off + len > t.unsolicitedLimit) {
        this.reject(RejectReason.ProtocolError, null, pdu);
        return;
      }
      if (pdu.dataSN !== t.unsolicitedDataSN) t.failSense = SENSE_DATA_PHASE_ERROR;
      t.unsolicitedDataSN++;
      last = pdu.final;
      if (last) t.unsolicitedDone = true;
    } else {
      let i = 0;
      while (i < t.r2ts.length && t.r2ts[i]!.ttt !== pdu.ttt) i++;
      const r = t.r2ts[i];
      if (r === undefined || off < r.offset || off + len > r.offset + r.length) {
        this.reject(RejectReason.InvalidPduField, null, pdu);
        return;
      }
      // RFC 7143 11.7.5: DataSN counts the Data-Out PDUs of one R2T sequence from 0
      if (pdu.dataSN !== r.nextDataSN) t.failSense = SENSE_DATA_PHASE_ERROR;
      r.nextDataSN++;
      r.received += len;
      last = pdu.final || r.received >= r.length;
      if (last) t.r2ts.splice(i, 1);
    }
    if (len > 0 && t.dataOut !== null) pdu.data.copy(t.dataOut, off);
    t.received += len;
    if (last) {
      this.solicit(t);
      this.maybeStart(t);
    }
  }

  private maybeStart(t: Task): void {
    if (t.unsolicitedDone && t.r2ts.length === 0 && t.nextR2TOffset >= t.edtl) this.startTask(t);
  }

  private startTask(t: Task): void {
    if (t.dropped) {
      // drop-response: the command is lost in the target; its data is let go, the task stays
      this.pendingWriteBytes -= t.reserved;
      t.reserved = 0;
      t.dataOut = null;
      return;
    }
    t.executing = true;
    if (t.failSense !== null || t.failStatus >= 0) {
      this.sendStatus(t, t.failStatus >= 0 ? t.failStatus : 2, t.failSense, t.writeResidual, 0);
      this.finish(t);
      return;
    }
    const cmd = t.cmd;
    cmd.cdb = t.cdb;
    cmd.dataOut =
      t.dataOut !== null && t.writeLength < t.dataOut.length
        ? t.dataOut.subarray(0, t.writeLength)
        : t.dataOut;
    cmd.expectedDataInLength = t.readLength;
    if (t.lu !== undefined) t.lu.execute(cmd, t.complete);
    else executeWithoutLun(cmd, this.host.luCtx, t.complete);
  }

  /** Called by the LU (possibly synchronously) when the task ends. */
  taskDone(t: Task, out: ScsiCommandOut): void {
    if (t.aborted || !t.active) {
      // aborted while the LU ran: no response (the TMF response covers it); now reusable
      t.active = false;
      t.dataOut = null;
      if (t.aborted) this.releaseTask(t);
      return;
    }
    if (this.phase === "closed") {
      t.active = false;
      return;
    }
    const data = out.dataIn;
    const available = data === null ? 0 : data.length;
    const send = Math.min(available, t.readLength);
    // residual of the read direction: positive underflow, negative overflow
    const residual = t.readLength - available;
    let dataSN = 0;
    if (send > 0) {
      const mrdsl = this.params!.peerMaxRecvDataSegmentLength;
      const burst = this.params!.maxBurstLength;
      const collapse = out.status === 0 && out.sense === null;
      const d = this.dataIn;
      d.lun = encodeLunSafe(t.lun);
      d.itt = t.itt;
      let burstLeft = burst;
      for (let off = 0; off < send; ) {
        const n = Math.min(mrdsl, send - off, burstLeft);
        const lastPdu = off + n >= send;
        burstLeft -= n;
        // F closes each Data-In sequence of at most MaxBurstLength (RFC 7143 11.7.1)
        d.final = lastPdu || burstLeft === 0;
        if (burstLeft === 0) burstLeft = burst;
        d.dataSN = dataSN++;
        d.bufferOffset = off;
        if (lastPdu && collapse) {
          // phase collapse: status in the final Data-In (RFC 7143 11.7.4)
          d.hasStatus = true;
          d.status = 0;
          setResidual(d, residual);
          this.stamp(d, true);
        } else {
          d.hasStatus = false;
          d.status = 0;
          d.overflow = d.underflow = false;
          d.residualCount = 0;
          this.stamp(d, false);
          d.statSN = 0;
        }
        if (this.faults !== null) this.faults.beforeDataIn();
        this.transport.send(d, data!.subarray(off, off + n));
        off += n;
      }
      if (collapse) {
        this.finish(t);
        return;
      }
    }
    const writeResidual = t.isWrite ? t.writeResidual : 0;
    this.sendStatus(
      t,
      out.status,
      out.sense,
      t.isWrite && t.readLength === 0 ? writeResidual : residual,
      dataSN,
    );
    this.finish(t);
  }

  private sendStatus(t: Task, status: number, sense: Buffer | null, residual: number, dataSN: number): void {
    const r = this.resp;
    r.itt = t.itt;
    r.status = status;
    r.response = 0;
    setResidual(r, residual);
    r.expDataSN = dataSN > 0 ? dataSN : t.r2tSN;
    this.stamp(r, true);
    if (sense !== null && sense.length > 0) {
      const seg = Buffer.allocUnsafe(2 + sense.length);
      seg.writeUInt16BE(sense.length, 0);
      sense.copy(seg, 2);
      r.data = seg;
    } else {
      r.data = EMPTY;
    }
    this.transport.send(r);
    r.data = EMPTY;
  }

  private finish(t: Task): void {
    this.tasks.delete(t.itt);
    const n = t.faultNumber;
    this.releaseTask(t);
    if (this.faults !== null && n > 0) this.faults.answered(n);
  }

  private takeWriteBuffer(length: number): Buffer {
    const b = this.writeBuffers.get(length)?.pop();
    if (b === undefined) return Buffer.allocUnsafeSlow(length);
    this.pooledWriteBytes -= length;
    return b;
  }

  private releaseTask(t: Task): void {
    this.pendingWriteBytes -= t.reserved;
    t.reserved = 0;
    const b = t.dataOut;
    if (t.pooledDataOut && b !== null && this.pooledWriteBytes + b.length <= MAX_POOLED_WRITE) {
      const list = this.writeBuffers.get(b.length);
      if (list === undefined) this.writeBuffers.set(b.length, [b]);
      else list.push(b);
      this.pooledWriteBytes += b.length;
    }
    t.pooledDataOut = false;
    t.active = false;
    t.dataOut = null;
    t.cmd.dataOut = null;
    t.cdb = EMPTY;
    t.lu = undefined;
    if (this.pool.length < this.window) this.pool.push(t);
  }

  /** Drops a task without a response (TMF abort, reset, connection end). */
  private abortTask(t: Task): void {
    this.tasks.delete(t.itt);
    this.aborted.push(t.itt);
    if (this.aborted.length > MAX_ABORTED_REMEMBERED) this.aborted.shift();
    if (t.executing) {
      t.aborted = true; // released when the LU calls back
    } else {
      this.releaseTask(t);
    }
  }

  /** Aborts every task on `lun` (-1: all LUNs). Used by the portal for resets from any session. */
  abortTasks(lun: number, exceptItt = -1): number {
    let n = 0;
    for (const t of [...this.tasks.values()]) {
      if ((lun < 0 || t.lun === lun) && t.itt !== exceptItt) {
        this.abortTask(t);
        n++;
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- NOP

  private onNopOut(pdu: NopOut): void {
    if (!pdu.immediate && !this.acceptCmdSN(pdu.cmdSN)) return;
    if (pdu.itt === RESERVED_TAG) {
      // an answer to our NOP-In ping, or a ping that wants no answer (RFC 7143 11.18)
      if (pdu.ttt !== RESERVED_TAG && pdu.ttt === this.nopOutstanding) {
        this.nopOutstanding = 0;
        this.nopMissed = 0;
      }
      return;
    }
    if (pdu.ttt !== RESERVED_TAG) {
      this.reject(RejectReason.InvalidPduField, null, pdu);
      return;
    }
    const nop: NopIn = {
      opcode: Opcode.NopIn,
      lun: pdu.lun,
      itt: pdu.itt,
      ttt: RESERVED_TAG,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      data: pdu.data.length > 0 ? Buffer.from(pdu.data) : EMPTY,
    };
    this.stamp(nop, true);
    this.transport.send(nop);
  }

  private ping(): void {
    if (this.phase !== "full") return;
    if (this.nopOutstanding !== 0) {
      if (++this.nopMissed >= 2) {
        this.destroy(); // the initiator stopped answering
        return;
      }
      return;
    }
    this.nopOutstanding = this.newTag();
    const nop: NopIn = {
      opcode: Opcode.NopIn,
      lun: 0n,
      itt: RESERVED_TAG,
      ttt: this.nopOutstanding,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      data: EMPTY,
    };
    this.stamp(nop, false); // a NOP-In that is not a response does not advance StatSN
    this.transport.send(nop);
  }

  // ---------------------------------------------------------------- Task Management

  private onTaskMgmt(pdu: TaskMgmtRequest): void {
    if (!pdu.immediate && !this.acceptCmdSN(pdu.cmdSN)) return;
    const response = this.taskMgmt(pdu);
    this.transport.send({
      opcode: Opcode.TaskMgmtResponse,
      response,
      itt: pdu.itt,
      ...this.stamped(),
    });
  }

  private taskMgmt(pdu: TaskMgmtRequest): number {
    if (this.identity!.sessionType === "Discovery") return TmfResponse.Rejected;
    let lun: number;
    try {
      lun = decodeLun(pdu.lun);
    } catch {
      lun = -1;
    }
    const lu = lun >= 0 ? this.host.lu(lun) : undefined;
    switch (pdu.function) {
      case TmfFunction.AbortTask: {
        const t = this.tasks.get(pdu.referencedTaskTag);
        if (t !== undefined && t.lun === lun) {
          this.abortTask(t);
          return TmfResponse.Complete;
        }
        // RFC 7143 11.5.1: a task never received, whose RefCmdSN is inside the window, counts as done
        const inWindow =
          ((pdu.refCmdSN - this.session!.expCmdSN) | 0) >= 0 &&
          ((this.session!.maxCmdSN - pdu.refCmdSN) | 0) >= 0 &&
          ((pdu.cmdSN - pdu.refCmdSN) | 0) > 0;
        return inWindow ? TmfResponse.Complete : TmfResponse.TaskDoesNotExist;
      }
      case TmfFunction.AbortTaskSet:
      case TmfFunction.ClearTaskSet:
        if (lu === undefined) return TmfResponse.LunDoesNotExist;
        this.abortTasks(lun);
        return TmfResponse.Complete;
      case TmfFunction.LogicalUnitReset:
        if (lu === undefined) return TmfResponse.LunDoesNotExist;
        this.host.resetTasks(lun, this);
        return lu.taskManagement(pdu.function, this.nexus!);
      case TmfFunction.TargetWarmReset: {
        this.host.resetTasks(-1, this);
        let result: number = TmfResponse.Complete;
        for (const l of this.host.luCtx.lunList()) {
          const r = this.host.lu(l)?.taskManagement(pdu.function, this.nexus!) ?? TmfResponse.Complete;
          if (r !== TmfResponse.Complete) result = r;
        }
        return result;
      }
      default:
        return TmfResponse.NotSupported;
    }
  }

  private stamped(): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    const s = { statSN: 0, expCmdSN: 0, maxCmdSN: 0 };
    this.stamp(s, true);
    return s;
  }

  // ---------------------------------------------------------------- Text

  private onText(pdu: TextRequest): void {
    if (!pdu.immediate && !this.acceptCmdSN(pdu.cmdSN)) return;
    if (pdu.ttt !== RESERVED_TAG) {
      // continuation of a long response (RFC 7143 11.10.4)
      const out = this.textOut;
      if (out === null || out.ttt !== pdu.ttt || out.itt !== pdu.itt) {
        this.reject(RejectReason.InvalidPduField, null, pdu);
        return;
      }
      this.sendTextSegment(pdu);
      return;
    }
    this.textOut = null;
    let whole: Buffer | null;
    let pairs: TextPairs;
    try {
      whole = this.textIn.add(pdu.data, pdu.cont);
      pairs = whole === null ? [] : parseText(whole);
    } catch {
      this.reject(RejectReason.ProtocolError, null, pdu);
      return;
    }
    const reply: TextPairs = [];
    if (whole !== null) {
      for (const [key, value] of pairs) {
        if (key === "SendTargets") {
          const normal = this.identity!.sessionType === "Normal";
          for (const p of this.host.sendTargets(this.identity!.initiatorName, value, normal)) reply.push(p);
        } else {
          reply.push([key, "NotUnderstood"]);
        }
      }
    }
    const payload = reply.length > 0 ? buildText(reply) : EMPTY;
    const segments =
      payload.length > 0 ? splitText(payload, this.params!.peerMaxRecvDataSegmentLength) : [EMPTY];
    this.textOut = { ttt: RESERVED_TAG, segments, itt: pdu.itt };
    this.sendTextSegment(pdu);
  }

  private sendTextSegment(pdu: TextRequest): void {
    const out = this.textOut!;
    const seg = out.segments.shift() ?? EMPTY;
    const more = out.segments.length > 0;
    out.ttt = more ? this.newTag() : RESERVED_TAG;
    this.transport.send({
      opcode: Opcode.TextResponse,
      final: !more,
      cont: more,
      lun: pdu.lun,
      itt: pdu.itt,
      ttt: out.ttt,
      ...this.stamped(),
      data: seg,
    });
    if (!more) this.textOut = null;
  }

  // ---------------------------------------------------------------- Logout

  private onLogout(pdu: LogoutRequest): void {
    if (!pdu.immediate && !this.acceptCmdSN(pdu.cmdSN)) return;
    let response = 0;
    if (pdu.reasonCode === 1 && pdu.cid !== this.identity!.cid)
      response = 1; // CID not found
    else if (pdu.reasonCode === 2)
      response = 2; // connection recovery is not supported (ERL 0)
    else if (pdu.reasonCode > 2) {
      this.reject(RejectReason.InvalidPduField, null, pdu);
      return;
    }
    this.transport.send({
      opcode: Opcode.LogoutResponse,
      response,
      itt: pdu.itt,
      ...this.stamped(),
      time2Wait: 0,
      time2Retain: 0,
    });
    if (response === 0) {
      this.faults?.onLogout();
      this.logoutPending = true;
      this.abortTasks(-1);
      this.phase = "closed";
      this.transport.end();
      setTimeout(() => this.destroy(), 2000).unref();
    }
  }

  // ---------------------------------------------------------------- Reject and helpers

  /** Sends a Reject carrying the rejected PDU's header (RFC 7143 11.17). */
  private reject(reason: number, bhs: Buffer | null, pdu: Pdu | null): void {
    let header: Buffer;
    if (bhs !== null) {
      header = Buffer.from(bhs.subarray(0, BHS_LENGTH));
    } else {
      // the decoded PDU's header, re-encoded (same fields, the receive buffer is gone)
      header = Buffer.alloc(BHS_LENGTH);
      if (pdu !== null) encodeBhs(pdu, header, 0);
    }
    this.transport.send({
      opcode: Opcode.Reject,
      reason,
      ...this.stamped(),
      dataSN: RESERVED_TAG,
      data: header,
    });
  }

  private newTag(): number {
    const tag = this.nextTag;
    this.nextTag = this.nextTag >= 0x7fffffff ? 1 : this.nextTag + 1;
    return tag;
  }

  /** Sends an arbitrary target PDU (tests, async messages). */
  send(pdu: TargetPdu): void {
    this.transport.send(pdu);
  }

  // ---------------------------------------------------------------- fault injection (FaultTarget)

  get dataDigest(): boolean {
    return this.params?.dataDigest === true;
  }

  faultClose(graceful: boolean): void {
    this.destroy(graceful);
  }

  /** RFC 7143 11.9.1: AsyncEvent 1, the initiator is to log out within Parameter3 seconds. */
  sendAsyncLogout(withinS: number): void {
    if (this.phase !== "full") return;
    const msg: AsyncMessage = {
      opcode: Opcode.AsyncMessage,
      lun: 0n,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      asyncEvent: AsyncEvent.LogoutRequest,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: withinS,
      data: EMPTY,
    };
    this.stamp(msg, true);
    this.transport.send(msg);
  }

  raiseUnitAttention(asc: number, ascq: number): void {
    const nexus = this.nexus;
    if (nexus === null) return;
    for (const l of this.host.luCtx.lunList()) this.host.lu(l)?.unitAttention(nexus, asc, ascq);
  }

  /** Closes the connection now; tasks end without responses; the session's nexus is gone. */
  destroy(graceful = false): void {
    if (this.phase === "closed" && this.transport.isClosed && this.nexus === null) return;
    const wasFull = this.nexus !== null;
    this.phase = "closed";
    if (this.nopTimer !== null) {
      clearInterval(this.nopTimer);
      this.nopTimer = null;
    }
    if (this.loginTimer !== null) {
      clearTimeout(this.loginTimer);
      this.loginTimer = null;
    }
    this.faults?.dispose();
    for (const t of [...this.tasks.values()]) this.abortTask(t);
    if (graceful) this.transport.end(1000);
    else this.transport.destroy();
    if (wasFull) {
      const nexus = this.nexus!;
      this.nexus = null;
      for (const l of this.host.luCtx.lunList()) this.host.lu(l)?.nexusGone(nexus);
    }
    this.host.closed(this);
    void this.logoutPending;
  }
}

function setResidual(
  pdu: { overflow: boolean; underflow: boolean; residualCount: number },
  residual: number,
): void {
  pdu.overflow = residual < 0;
  pdu.underflow = residual > 0;
  pdu.residualCount = residual < 0 ? -residual : residual;
}

function encodeLunSafe(lun: number): bigint {
  return lun >= 0 ? encodeLun(lun) : 0n;
}
