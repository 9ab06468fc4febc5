/**
 * PDU -> the chunks one socket write takes, without copying the data segment (RFC 7143 11.2:
 * BHS | AHS | HeaderDigest | DataSegment + padding | DataDigest).
 *
 * Headers (and the small padding + digest tails) are carved out of a slab: one allocation per few
 * hundred PDUs. A slab is never rewound, only replaced, so a carved chunk stays valid for as long as
 * the socket (or a held queue) keeps it. The data segment goes out as the caller's Buffer.
 */
import { crc32c, DIGEST_LENGTH, writeDigest } from "../iscsi/digest.js";
import { ahsLength, encodeAhs, encodeBhs } from "../iscsi/encode.js";
import { BHS_LENGTH, Opcode, type Pdu } from "../iscsi/pdu.js";

const SLAB_SIZE = 64 * 1024;
const ZERO_PAD = Buffer.alloc(4);

export class PduEncoder {
  /** Append a CRC32C header digest (RFC 7143 13.1); off until the final login response. */
  headerDigest = false;
  /** Append a CRC32C data digest after every non-empty data segment. */
  dataDigest = false;
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private used = 0;

  private carve(n: number): Buffer {
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.used = 0;
    }
    const b = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }

  /**
   * BHS + AHS (SCSI Command with a CDB over 16 bytes, bidirectional read length) + header digest.
   * `seg` is the data segment that will follow: when it is not the PDU's own `data` its length is
   * what DataSegmentLength says. Throws ProtocolError for a length the header cannot carry.
   */
  header(pdu: Pdu, seg: Buffer | null): Buffer {
    const ahs = pdu.opcode === Opcode.ScsiCommand ? ahsLength(pdu) : 0;
    const end = BHS_LENGTH + ahs;
    const header = this.carve(end + (this.headerDigest ? DIGEST_LENGTH : 0));
    if (seg !== null && "data" in pdu && pdu.data !== seg) {
      // encodeBhs takes DataSegmentLength from pdu.data: swap the segment in for the encode only
      const saved = pdu.data;
      (pdu as { data: Buffer }).data = seg;
      try {
        encodeBhs(pdu, header, 0);
      } finally {
        (pdu as { data: Buffer }).data = saved;
      }
    } else {
      encodeBhs(pdu, header, 0);
    }
    if (ahs > 0) encodeAhs(pdu, header, BHS_LENGTH);
    if (this.headerDigest) writeDigest(crc32c(header.subarray(0, end)), header, end);
    return header;
  }

  /**
   * Padding to 4 bytes and the data digest (which covers the padding, RFC 7143 11.2.3) after a
   * non-empty `seg`, or null when neither is due. `corrupt` writes a digest that is off by every bit.
   */
  tail(seg: Buffer, corrupt: boolean): Buffer | null {
    const pad = (4 - (seg.length & 3)) & 3;
    const dd = this.dataDigest;
    if (pad === 0 && !dd) return null;
    const tail = this.carve(pad + (dd ? DIGEST_LENGTH : 0));
    if (pad > 0) tail.fill(0, 0, pad);
    if (dd) {
      let crc = crc32c(seg);
      if (pad > 0) crc = crc32c(ZERO_PAD.subarray(0, pad), crc);
      writeDigest(corrupt ? ~crc >>> 0 : crc, tail, pad);
    }
    return tail;
  }
}
