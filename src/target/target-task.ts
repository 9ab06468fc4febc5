/**
 * A SCSI task as the target's connection tracks it: the command's fields, its data phase (immediate
 * and unsolicited data, the R2Ts outstanding) and its fault and write-buffer state.
 */
import type { ScsiCommand } from "../iscsi/pdu.js";
import type { LogicalUnit, Nexus, ScsiCommandIn, ScsiCommandOut } from "./logical-unit.js";

const EMPTY = Buffer.alloc(0);

/** An R2T sent and not yet satisfied by its Data-Out PDUs. */
export interface PendingR2T {
  ttt: number;
  offset: number;
  length: number;
  received: number;
  nextDataSN: number;
}

/** One SCSI task of a target connection. Pooled per connection: `complete` is bound once per object. */
export class Task {
  itt = 0;
  lun = 0;
  cmdSN = 0;
  active = false;
  aborted = false;
  executing = false;
  lu: LogicalUnit | undefined = undefined;
  cdb: Buffer = EMPTY;
  edtl = 0;
  readLength = 0;
  isWrite = false;
  dataOut: Buffer | null = null;
  received = 0;
  unsolicitedDone = true;
  unsolicitedDataSN = 0;
  unsolicitedLimit = 0;
  nextR2TOffset = 0;
  r2tSN = 0;
  r2ts: PendingR2T[] = [];
  /** Sense to answer with instead of executing (set during the data phase). */
  failSense: Buffer | null = null;
  /** Status to answer with instead of executing (-1: none; with failSense null, e.g. TASK SET FULL). */
  failStatus = -1;
  /** Bytes of write buffer this task holds against the connection's budget. */
  reserved = 0;
  /** Its number among the connection's SCSI commands when faults are on (0: not counted). */
  faultNumber = 0;
  /** drop-response: neither executed nor answered; stays in the task set until aborted. */
  dropped = false;
  /** Write residual computed from the CDB (positive underflow, negative overflow). */
  writeResidual = 0;
  /** Bytes of dataOut the LU gets (less than EDTL when the CDB asks for less). */
  writeLength = 0;
  /** dataOut is a buffer of the connection's write-buffer pool (returned on release). */
  pooledDataOut = false;
  readonly cmd: ScsiCommandIn;
  readonly complete: (out: ScsiCommandOut) => void;

  /** `done`: the connection's completion (answers the command, returns the task to the pool). */
  constructor(done: (t: Task, out: ScsiCommandOut) => void, nexus: Nexus) {
    this.cmd = { cdb: EMPTY, dataOut: null, expectedDataInLength: 0, nexus };
    this.complete = (out: ScsiCommandOut) => done(this, out);
  }

  /** Takes on a new command: every per-command field from the PDU or back to its start value. */
  begin(pdu: ScsiCommand, lun: number, lu: LogicalUnit | undefined): void {
    this.itt = pdu.itt;
    this.lun = lun;
    this.cmdSN = pdu.cmdSN;
    this.active = true;
    this.aborted = false;
    this.executing = false;
    this.lu = lu;
    this.cdb = Buffer.from(pdu.cdb); // the PDU is a view into the receive buffer
    this.failSense = null;
    this.failStatus = -1;
    this.reserved = 0;
    this.writeResidual = 0;
    this.received = 0;
    this.r2tSN = 0;
    this.r2ts.length = 0;
    this.readLength = pdu.read ? (pdu.write ? (pdu.bidiReadLength ?? 0) : pdu.expectedDataTransferLength) : 0;
    this.isWrite = pdu.write;
    this.edtl = pdu.write ? pdu.expectedDataTransferLength : 0;
    this.dropped = false;
    this.faultNumber = 0;
  }
}
