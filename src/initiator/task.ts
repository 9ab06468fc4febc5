/**
 * A SCSI task as the initiator session executes it. The caller owns the object and may reuse it
 * for command after command (no per-I/O allocation or closure): fill in the request fields, call
 * `session.submit(task)`, and `task.done(task)` is called exactly once with the result fields set.
 */
export interface ScsiTask {
  // --- request ---
  lun: number;
  /** CDB bytes; only the first `cdbLength` are sent. */
  cdb: Buffer;
  cdbLength: number;
  /** For reads: the data lands here, at offset 0, up to `dataInLength` bytes. */
  dataIn: Buffer | null;
  dataInLength: number;
  /** For writes: the bytes to send, `dataOutLength` of them from offset 0. */
  dataOut: Buffer | null;
  dataOutLength: number;
  /** SCSI task attribute (TaskAttr.Simple by default). */
  attr: number;
  /** Called once when the task ends, with the result fields below filled in. */
  done: (task: ScsiTask) => void;
  /** Free for the caller (e.g. the submit timestamp); the session never touches it. */
  tag: number;

  // --- result (written by the session) ---
  /** SCSI status byte (0 GOOD), or -1 when the task failed without a status (see `error`). */
  status: number;
  /** Sense data when status is CHECK CONDITION, else null. A view valid until the next submit. */
  sense: Buffer | null;
  /** Bytes actually transferred into dataIn. */
  dataInTransferred: number;
  /** Residual count: positive underflow, negative overflow, 0 exact. */
  residual: number;
  /** Set when the task failed at the transport level (connection lost, aborted, timeout, protocol). */
  error: Error | null;
  /**
   * How many times the session sent this command again as a new task (new ITT and CmdSN) after
   * losing the connection it was in flight on (0: it went out once). A write with `reissued > 0`
   * may have reached the medium more than once; its blocks are "old or new" until it returns GOOD.
   */
  reissued: number;
}

export function newScsiTask(done: (task: ScsiTask) => void): ScsiTask {
  return {
    lun: 0,
    cdb: Buffer.alloc(16),
    cdbLength: 0,
    dataIn: null,
    dataInLength: 0,
    dataOut: null,
    dataOutLength: 0,
    attr: 1,
    done,
    tag: 0,
    status: -1,
    sense: null,
    dataInTransferred: 0,
    residual: 0,
    error: null,
    reissued: 0,
  };
}
