/**
 * Test helpers on top of the initiator: READ/WRITE through submit() wrapped in a Promise, and a
 * deterministic byte pattern per (LBA, seed) so a read-back proves where each block came from.
 */
import type { Session } from "../../src/initiator/session.js";
import { newScsiTask, type ScsiTask } from "../../src/initiator/task.js";
import { buildReadAuto, buildWriteAuto } from "../../src/scsi/cdb.js";

/** Fills `buf` with a pattern unique to each block's LBA and the seed. */
export function fillPattern(buf: Buffer, lba: number, blockSize: number, seed: number): void {
  for (let off = 0; off < buf.length; off += 4) {
    const block = lba + Math.floor(off / blockSize);
    const v = (Math.imul(block + 1, 2654435761) ^ Math.imul(off % blockSize, 40503) ^ seed) >>> 0;
    if (off + 4 <= buf.length) buf.writeUInt32LE(v, off);
    else for (let i = off; i < buf.length; i++) buf[i] = v & 0xff;
  }
}

export function runTask(session: Session, task: ScsiTask): Promise<ScsiTask> {
  return new Promise((resolve) => {
    task.done = (t) => resolve(t);
    session.submit(task);
  });
}

export async function writeBlocks(
  session: Session,
  lun: number,
  lba: number,
  data: Buffer,
  blockSize: number,
): Promise<ScsiTask> {
  const t = newScsiTask(() => {});
  t.lun = lun;
  t.cdbLength = buildWriteAuto(t.cdb, lba, data.length / blockSize);
  t.dataOut = data;
  t.dataOutLength = data.length;
  return runTask(session, t);
}

export async function readBlocks(
  session: Session,
  lun: number,
  lba: number,
  length: number,
  blockSize: number,
): Promise<ScsiTask> {
  const t = newScsiTask(() => {});
  t.lun = lun;
  t.cdbLength = buildReadAuto(t.cdb, lba, length / blockSize);
  t.dataIn = Buffer.alloc(length);
  t.dataInLength = length;
  return runTask(session, t);
}

/** A one-line description of how a task ended, for assertion messages. */
export function taskOutcome(t: ScsiTask): string {
  if (t.error) return `error: ${t.error.message}`;
  return `status ${t.status}${t.sense ? ` sense ${t.sense.toString("hex")}` : ""} residual ${t.residual}`;
}
