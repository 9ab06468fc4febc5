/**
 * Outgoing PDUs of one target connection, batched: every PDU written during one turn of the
 * event loop goes out in one writev (cork, then uncork on the next tick). Headers are carved out
 * of a slab (one allocation per few hundred PDUs, never copied again); data segments go out as
 * the caller's Buffer (a view of the LU's store for Data-In) followed by a small tail for padding
 * and the data digest (RFC 7143 11.2.3: digests cover the padding).
 */
import type { Socket } from "node:net";
import { crc32c, writeDigest } from "../iscsi/digest.js";
import { encodeBhs } from "../iscsi/encode.js";
import { BHS_LENGTH, type TargetPdu } from "../iscsi/pdu.js";

const SLAB_SIZE = 64 * 1024;
const ZERO_PAD = Buffer.alloc(4);

export class PduWriter {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private used = 0;
  private corked = false;
  headerDigest = false;
  dataDigest = false;
  /** Bytes handed to the socket and not yet flushed to the kernel (backpressure signal). */
  get pending(): number {
    return this.socket.writableLength;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  };

  constructor(
    private readonly socket: Socket,
    private readonly onBackpressure: () => void,
  ) {}

  private carve(n: number): Buffer {
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafe(SLAB_SIZE);
      this.used = 0;
    }
    const b = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }

  private write(chunk: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    if (!this.socket.write(chunk)) this.onBackpressure();
  }

  /**
   * Sends `pdu` with `data` as its data segment (pdu.data is used when `data` is omitted). Target
   * PDUs carry no AHS, so the header is always 48 bytes (+4 with HeaderDigest).
   */
  send(pdu: TargetPdu, data?: Buffer): void {
    if (this.socket.destroyed) return;
    const seg = data ?? ("data" in pdu ? pdu.data : undefined);
    const header = this.carve(BHS_LENGTH + (this.headerDigest ? 4 : 0));
    if (data !== undefined && "data" in pdu) {
      // encodeBhs takes DataSegmentLength from pdu.data; swap the segment in for the encode only
      const saved = pdu.data;
      (pdu as { data: Buffer }).data = data;
      encodeBhs(pdu, header, 0);
      (pdu as { data: Buffer }).data = saved;
    } else {
      encodeBhs(pdu, header, 0);
    }
    if (this.headerDigest) writeDigest(crc32c(header.subarray(0, BHS_LENGTH)), header, BHS_LENGTH);
    this.write(header);
    if (seg === undefined || seg.length === 0) return;
    this.write(seg);
    const pad = (4 - (seg.length & 3)) & 3;
    if (pad === 0 && !this.dataDigest) return;
    const tail = this.carve(pad + (this.dataDigest ? 4 : 0));
    if (pad > 0) tail.fill(0, 0, pad);
    if (this.dataDigest) {
      let crc = crc32c(seg);
      if (pad > 0) crc = crc32c(ZERO_PAD.subarray(0, pad), crc);
      writeDigest(crc, tail, pad);
    }
    this.write(tail);
  }
}
