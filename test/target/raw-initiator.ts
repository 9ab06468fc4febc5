/**
 * A bare-bones initiator for watching the target's wire behaviour exactly: one login PDU straight
 * to the full feature phase (no authentication), SCSI commands and raw PDUs out, every PDU in
 * recorded (data copied), data digest errors seen by the framer recorded, the close observed. It
 * does no recovery and no retries, so what the tests see is what the target sent.
 */
import net from "node:net";
import { encodePdu } from "../../src/iscsi/encode.js";
import type { ProtocolError } from "../../src/iscsi/errors.js";
import { PduFramer } from "../../src/iscsi/framer.js";
import { encodeLun } from "../../src/iscsi/lun.js";
import { type InitiatorPdu, type LoginResponse, Opcode, type Pdu } from "../../src/iscsi/pdu.js";
import { buildText } from "../../src/iscsi/text.js";

export interface RawLoginOptions {
  port: number;
  targetName: string;
  initiatorName: string;
  isid: number;
  tsih?: number;
  digests?: boolean;
  timeoutMs?: number;
}

export interface RawResult {
  status: number;
  sense: Buffer | null;
  data: Buffer;
}

export class RawInitiator {
  readonly pdus: Pdu[] = [];
  readonly malformed: ProtocolError[] = [];
  closed = false;
  readonly closedAt: Promise<void>;
  tsih = 0;
  loginStatus = -1;
  private readonly framer: PduFramer;
  private digests = { headerDigest: false, dataDigest: false };
  private cmdSN = 1;
  private expStatSN = 0;
  private nextItt = 1;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket) {
    this.framer = new PduFramer({ headerDigest: false, dataDigest: false, maxDataSegmentLength: 262144 });
    socket.on("data", (chunk: Buffer) => {
      try {
        this.framer.push(chunk, {
          onPdu: (pdu) => this.record(pdu),
          onMalformed: (err) => {
            this.malformed.push(err);
            this.wake();
          },
        });
      } catch {
        socket.destroy();
      }
    });
    this.closedAt = new Promise<void>((resolve) => {
      socket.on("close", () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on("error", () => {});
  }

  private record(pdu: Pdu): void {
    const copy = { ...pdu, data: Buffer.from((pdu as { data: Buffer }).data ?? Buffer.alloc(0)) } as Pdu;
    if ("statSN" in pdu && pdu.opcode !== Opcode.DataIn) this.expStatSN = (pdu.statSN + 1) >>> 0;
    this.pdus.push(copy);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connects and logs in (one Login Request, operational stage to full feature). */
  static async login(o: RawLoginOptions): Promise<RawInitiator> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port: o.port }, () => resolve(s));
      s.once("error", reject);
    });
    const c = new RawInitiator(socket);
    const digest = o.digests === true ? "CRC32C" : "None";
    c.send({
      opcode: Opcode.LoginRequest,
      transit: true,
      cont: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionMin: 0,
      isid: o.isid,
      tsih: o.tsih ?? 0,
      itt: 0,
      cid: 0,
      cmdSN: c.cmdSN,
      expStatSN: 0,
      data: buildText([
        ["InitiatorName", o.initiatorName],
        ["TargetName", o.targetName],
        ["SessionType", "Normal"],
        ["HeaderDigest", digest],
        ["DataDigest", digest],
        ["InitialR2T", "No"],
        ["ImmediateData", "Yes"],
        ["MaxRecvDataSegmentLength", "8192"],
        ["MaxBurstLength", "262144"],
        ["FirstBurstLength", "65536"],
      ]),
    });
    const res = (await c.next(
      (p) => p.opcode === Opcode.LoginResponse,
      o.timeoutMs ?? 5000,
    )) as LoginResponse;
    c.loginStatus = (res.statusClass << 8) | res.statusDetail;
    c.tsih = res.tsih;
    if (c.loginStatus === 0 && o.digests === true) {
      c.digests = { headerDigest: true, dataDigest: true };
      c.framer.setOptions({ headerDigest: true, dataDigest: true, maxDataSegmentLength: 262144 });
    }
    return c;
  }

  send(pdu: InitiatorPdu): void {
    for (const chunk of encodePdu(pdu, this.digests)) this.socket.write(chunk);
  }

  /** Sends a SCSI command; returns its ITT. `read` = expected Data-In length. */
  command(cdb: Buffer, read = 0, write: Buffer | null = null, lun = 0): number {
    const itt = this.nextItt++;
    const full = Buffer.alloc(16);
    cdb.copy(full);
    this.send({
      opcode: Opcode.ScsiCommand,
      immediate: false,
      final: true,
      read: read > 0,
      write: write !== null,
      attr: 1,
      lun: encodeLun(lun),
      itt,
      expectedDataTransferLength: write !== null ? write.length : read,
      cmdSN: this.cmdSN,
      expStatSN: this.expStatSN,
      cdb: full,
      data: write ?? Buffer.alloc(0),
    });
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    return itt;
  }

  /** The first recorded PDU matching `match` (waiting up to `timeoutMs`); rejects on timeout or close. */
  async next(match: (p: Pdu) => boolean, timeoutMs: number): Promise<Pdu> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.pdus.find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error("connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching PDU within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until `cond()` holds (checked on every arrival and close), up to `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The status of command `itt` (SCSI Response or a Data-In with status), and its Data-In bytes. */
  async result(itt: number, timeoutMs = 5000): Promise<RawResult> {
    const end = await this.next(
      (p) =>
        (p.opcode === Opcode.ScsiResponse && p.itt === itt) ||
        (p.opcode === Opcode.DataIn && p.itt === itt && p.hasStatus),
      timeoutMs,
    );
    const data = Buffer.concat(
      this.pdus
        .filter((p) => p.opcode === Opcode.DataIn && p.itt === itt)
        .map((p) => (p as { data: Buffer }).data),
    );
    if (end.opcode === Opcode.DataIn) return { status: end.status, sense: null, data };
    const r = end as Extract<Pdu, { opcode: 0x21 }>;
    const sense = r.data.length >= 2 ? r.data.subarray(2, 2 + r.data.readUInt16BE(0)) : null;
    return { status: r.status, sense, data };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** READ(10) of `blocks` blocks at `lba`; TEST UNIT READY; INQUIRY. */
export function read10(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x28;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(blocks, 7);
  return c;
}
export const TEST_UNIT_READY = Buffer.alloc(6);
export function inquiry(alloc = 96): Buffer {
  const c = Buffer.alloc(6);
  c[0] = 0x12;
  c.writeUInt16BE(alloc, 3);
  return c;
}
