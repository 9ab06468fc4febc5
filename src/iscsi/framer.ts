/**
 * Streaming framer: TCP chunks in any split -> whole PDUs (RFC 7143 11.2: BHS | AHS | HeaderDigest |
 * DataSegment + padding | DataDigest).
 *
 * - A PDU that lies entirely inside one chunk is handed out as views into that chunk (zero copy).
 *   Only a PDU that crosses a chunk boundary is copied, into one accumulation buffer that is reused
 *   and sized to the negotiated maximum PDU.
 * - Lengths are checked as soon as the 48-byte BHS is in, before any AHS or data is buffered: a
 *   DataSegmentLength above maxDataSegmentLength or an AHS longer than any legal one is a framing error.
 * - A header digest mismatch is a framing error too (the lengths cannot be trusted, RFC 7143 7.8): it is
 *   checked before the data segment is buffered.
 * - Framing errors throw ProtocolError("length" | "headerDigest"); the connection must then be dropped,
 *   and further pushes rethrow the same error.
 * - A well-framed PDU that cannot be used (data digest error, unknown opcode, bad field) goes to
 *   sink.onMalformed and framing continues: the target answers such PDUs with a Reject (11.17, reason
 *   0x02 for a data digest error), the initiator may recover per its error recovery level.
 */

import { InputError } from "../common/errors.js";
import { decodePdu } from "./decode.js";
import { crc32c, DIGEST_LENGTH, readDigest } from "./digest.js";
import { MAX_DATA_SEGMENT_LENGTH, paddedLength } from "./encode.js";
import { ProtocolError } from "./errors.js";
import { BHS_LENGTH, type Pdu } from "./pdu.js";

export interface FramerOptions {
  headerDigest: boolean;
  dataDigest: boolean;
  /** The most data one PDU may carry: our declared MaxRecvDataSegmentLength. */
  maxDataSegmentLength: number;
}

export interface FrameSink {
  /** pdu.data may be a view valid only during this call. */
  onPdu(pdu: Pdu): void;
  /** A well-framed PDU that failed to decode (unknown opcode, bad field, data digest error); framing continues. `bhs` is a view valid only during this call. */
  onMalformed(err: ProtocolError, bhs: Buffer): void;
  /**
   * Direct placement (optional): a Data-In PDU whose data segment crosses a chunk boundary (and
   * has no data digest) is offered here once its header is in and checked, `bhs` being
   * bhs[off..off+48). A Buffer of exactly `dsl` bytes returned here receives the data segment as it
   * arrives, with no copy into the accumulation buffer, and is the `data` of the PDU handed to
   * onPdu; it must stay untouched by others until then. null: accumulate as usual.
   */
  placeData?(bhs: Buffer, off: number, dsl: number): Buffer | null;
}

/**
 * The largest AHS we accept. The AHS types RFC 7143 defines are the extended CDB (at most 248 bytes,
 * for a 260-byte CDB) and the bidirectional read length (8 bytes); we leave room for a few more.
 */
export const MAX_ACCEPTED_AHS_LENGTH = 512;

const EMPTY = Buffer.alloc(0);
/** SCSI Data-In (RFC 7143 11.7): the one PDU whose data segment may be placed directly. */
const OPCODE_DATA_IN = 0x25;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

export class PduFramer {
  private headerDigest: boolean;
  private dataDigest: boolean;
  private maxData: number;

  /** Accumulation buffer for a PDU that crosses chunk boundaries; reused. */
  private acc: Buffer = EMPTY;
  private accLen = 0;

  // Framing of the current PDU, known once its BHS is in (curTotal < 0: not yet).
  private curTotal = -1;
  private curHeaderEnd = 0; // BHS + AHS
  private curDataStart = 0; // + header digest
  private curDsl = 0;
  private curHd = false;
  private curDd = false;
  /** Where the data segment of the current (crossing) PDU goes, when the sink placed it. */
  private placing: Buffer | null = null;
  /** Header of the current crossing PDU complete (and checked): placement was decided. */
  private headerIn = false;
  /** DataSegmentLength of the latest PDU framed when it is a Data-In, else 0. */
  private lastDataInLength = 0;

  private failure: ProtocolError | null = null;

  constructor(options: FramerOptions) {
    checkMaxData(options.maxDataSegmentLength);
    this.headerDigest = options.headerDigest;
    this.dataDigest = options.dataDigest;
    this.maxData = options.maxDataSegmentLength;
  }

  /** Bytes of an incomplete PDU held from previous chunks. */
  get buffered(): number {
    return this.accLen;
  }

  /**
   * Applies from the next PDU on, including the next PDU of the chunk being pushed when called from
   * inside onPdu (digests start right after the final login response). Called between pushes while a
   * PDU's BHS is still incomplete, it applies to that PDU.
   */
  setOptions(options: Partial<FramerOptions>): void {
    if (options.maxDataSegmentLength !== undefined) {
      checkMaxData(options.maxDataSegmentLength);
      this.maxData = options.maxDataSegmentLength;
    }
    if (options.headerDigest !== undefined) this.headerDigest = options.headerDigest;
    if (options.dataDigest !== undefined) this.dataDigest = options.dataDigest;
  }

  /**
   * Feeds bytes in any chunking. Throws ProtocolError("length" | "headerDigest") on a framing error,
   * after which the connection must be dropped. Never buffers more than
   * 48 + AHS + 4 + maxDataSegmentLength + 8 bytes.
   */
  push(chunk: Buffer, sink: FrameSink): void {
    if (this.failure !== null) throw this.failure;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.accLen === 0) {
        if (end - pos >= BHS_LENGTH) {
          this.frame(chunk, pos);
          const total = this.curTotal;
          if (end - pos >= total) {
            // Whole PDU inside this chunk: hand out views.
            const start = pos;
            pos += total;
            this.curTotal = -1;
            this.deliver(chunk, start, sink, false);
            continue;
          }
          this.ensureCapacity(total);
        } else {
          this.curTotal = -1;
          this.ensureCapacity(BHS_LENGTH);
        }
      }
      // The PDU crosses the chunk boundary: accumulate (the data segment of a placed Data-In goes
      // straight to its destination instead).
      if (this.curTotal < 0) {
        const n = Math.min(BHS_LENGTH - this.accLen, end - pos);
        chunk.copy(this.acc, this.accLen, pos, pos + n);
        this.accLen += n;
        pos += n;
        if (this.accLen < BHS_LENGTH) break;
        this.frame(this.acc, 0);
        this.ensureCapacity(this.curTotal);
      }
      if (!this.headerIn) {
        const ds = this.curDataStart;
        const n = Math.min(ds - this.accLen, end - pos);
        if (n > 0) {
          chunk.copy(this.acc, this.accLen, pos, pos + n);
          this.accLen += n;
          pos += n;
        }
        if (this.accLen < ds) break;
        if (this.curHd) this.checkHeaderDigest(this.acc, 0);
        this.headerIn = true;
        const dsl = this.curDsl;
        if (
          dsl > 0 &&
          !this.curDd &&
          (this.acc[0]! & 0x3f) === OPCODE_DATA_IN &&
          sink.placeData !== undefined
        ) {
          const dest = sink.placeData(this.acc, 0, dsl);
          if (dest !== null && dest.length === dsl) this.placing = dest;
        }
      }
      const dest = this.placing;
      if (dest !== null) {
        // data bytes to the destination; the padding after them is skipped
        const got = this.accLen - this.curDataStart;
        const dataEnd = this.curDataStart + this.curDsl;
        if (this.accLen < dataEnd) {
          const n = Math.min(this.curDsl - got, end - pos);
          chunk.copy(dest, got, pos, pos + n);
          this.accLen += n;
          pos += n;
        }
        const n = Math.min(this.curTotal - this.accLen, end - pos);
        this.accLen += n;
        pos += n;
      } else {
        const n = Math.min(this.curTotal - this.accLen, end - pos);
        chunk.copy(this.acc, this.accLen, pos, pos + n);
        this.accLen += n;
        pos += n;
      }
      if (this.accLen === this.curTotal) {
        this.accLen = 0;
        this.curTotal = -1;
        this.headerIn = false;
        this.placing = null;
        if (dest !== null) this.deliverPlaced(dest, sink);
        else this.deliver(this.acc, 0, sink, true);
      }
    }
  }

  /**
   * Direct reads: while the data segment of a placed Data-In is arriving and at least `min` bytes of
   * it are still missing, the rest of its destination, for the caller to read the socket straight
   * into (the kernel's copy is then the only one); null otherwise. Report what such a read
   * delivered with pushDirect before pushing anything else.
   */
  directReadTarget(min: number): Buffer | null {
    const dest = this.placing;
    if (dest === null || this.failure !== null) return null;
    const got = this.accLen - this.curDataStart;
    if (this.curDsl - got < min) return null;
    return dest.subarray(got, this.curDsl);
  }

  /**
   * Header-first reads: at a PDU boundary right after a Data-In of at least `min` data bytes (a
   * large read is under way, so the next PDU is likely its next Data-In), the number of bytes the
   * next socket read should take: just the next header. Its data segment can then be read straight
   * into place (directReadTarget) instead of arriving in a read buffer with the header and being
   * copied out. 0: no limit (read as much as there is).
   */
  nextReadLimit(min: number): number {
    if (this.accLen !== 0 || this.failure !== null || this.dataDigest || this.lastDataInLength < min)
      return 0;
    return BHS_LENGTH + (this.headerDigest ? DIGEST_LENGTH : 0);
  }

  /** `n` bytes were read straight into the buffer directReadTarget returned. */
  pushDirect(n: number, sink: FrameSink): void {
    if (this.failure !== null) throw this.failure;
    const dest = this.placing;
    if (dest === null || n > this.curDsl - (this.accLen - this.curDataStart)) {
      throw new RangeError(`pushDirect(${n}): no direct read of that size was offered`);
    }
    this.accLen += n;
    if (this.accLen === this.curTotal) {
      this.accLen = 0;
      this.curTotal = -1;
      this.headerIn = false;
      this.placing = null;
      this.deliverPlaced(dest, sink);
    }
  }

  /** Reads the lengths of the BHS at buf[off..off+48) and fixes the framing of this PDU. */
  private frame(buf: Buffer, off: number): void {
    const ahs = buf[off + 4]! * 4;
    const dsl = (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!;
    if (ahs > MAX_ACCEPTED_AHS_LENGTH) {
      throw this.fail(
        new ProtocolError(
          "length",
          `TotalAHSLength ${ahs} bytes exceeds ${MAX_ACCEPTED_AHS_LENGTH} (opcode 0x${hex(buf[off]! & 0x3f, 2)})`,
        ),
      );
    }
    if (dsl > this.maxData) {
      throw this.fail(
        new ProtocolError(
          "length",
          `DataSegmentLength ${dsl} exceeds MaxRecvDataSegmentLength ${this.maxData} (opcode 0x${hex(buf[off]! & 0x3f, 2)})`,
        ),
      );
    }
    this.lastDataInLength = (buf[off]! & 0x3f) === OPCODE_DATA_IN ? dsl : 0;
    const hd = this.headerDigest;
    // The data digest is present only when there is a data segment.
    const dd = this.dataDigest && dsl > 0;
    this.curHd = hd;
    this.curDd = dd;
    this.curDsl = dsl;
    this.curHeaderEnd = BHS_LENGTH + ahs;
    this.curDataStart = this.curHeaderEnd + (hd ? DIGEST_LENGTH : 0);
    this.curTotal = this.curDataStart + paddedLength(dsl) + (dd ? DIGEST_LENGTH : 0);
    this.headerIn = false;
    this.placing = null;
  }

  private checkHeaderDigest(buf: Buffer, start: number): void {
    const headerEnd = start + this.curHeaderEnd;
    const expected = readDigest(buf, headerEnd);
    const actual = crc32c(buf.subarray(start, headerEnd));
    if (actual !== expected) {
      throw this.fail(
        new ProtocolError(
          "headerDigest",
          `header digest mismatch: got 0x${hex(expected, 8)}, computed 0x${hex(actual, 8)} (opcode 0x${hex(buf[start]! & 0x3f, 2)})`,
        ),
      );
    }
  }

  /** The PDU at buf[start..start+total) is complete: check digests, decode, hand it out. */
  private deliver(buf: Buffer, start: number, sink: FrameSink, headerChecked: boolean): void {
    if (this.curHd && !headerChecked) this.checkHeaderDigest(buf, start);
    const dsl = this.curDsl;
    const dataStart = start + this.curDataStart;
    if (this.curDd) {
      const padded = paddedLength(dsl);
      const expected = readDigest(buf, dataStart + padded);
      const actual = crc32c(buf.subarray(dataStart, dataStart + padded));
      if (actual !== expected) {
        const itt = buf.readUInt32BE(start + 16);
        sink.onMalformed(
          new ProtocolError(
            "dataDigest",
            `data digest mismatch: got 0x${hex(expected, 8)}, computed 0x${hex(actual, 8)} (opcode 0x${hex(buf[start]! & 0x3f, 2)}, ITT 0x${hex(itt, 8)})`,
          ),
          buf.subarray(start, start + BHS_LENGTH),
        );
        return;
      }
    }
    let pdu: Pdu;
    try {
      pdu = decodePdu(
        buf.subarray(start, start + this.curHeaderEnd),
        dsl === 0 ? EMPTY : buf.subarray(dataStart, dataStart + dsl),
      );
    } catch (err) {
      if (err instanceof ProtocolError) {
        sink.onMalformed(err, buf.subarray(start, start + BHS_LENGTH));
        return;
      }
      throw err;
    }
    sink.onPdu(pdu);
  }

  /** The placed Data-In PDU is complete: its header is in `acc`, its data in `dest`. */
  private deliverPlaced(dest: Buffer, sink: FrameSink): void {
    let pdu: Pdu;
    try {
      pdu = decodePdu(this.acc.subarray(0, this.curHeaderEnd), dest);
    } catch (err) {
      if (err instanceof ProtocolError) {
        sink.onMalformed(err, this.acc.subarray(0, BHS_LENGTH));
        return;
      }
      throw err;
    }
    sink.onPdu(pdu);
  }

  /** Grows the accumulation buffer (keeping its content) to hold `need` bytes, sized for the largest PDU. */
  private ensureCapacity(need: number): void {
    if (this.acc.length >= need) return;
    const largest =
      BHS_LENGTH + MAX_ACCEPTED_AHS_LENGTH + DIGEST_LENGTH + paddedLength(this.maxData) + DIGEST_LENGTH;
    const next = Buffer.allocUnsafe(Math.max(need, largest));
    if (this.accLen > 0) this.acc.copy(next, 0, 0, this.accLen);
    this.acc = next;
  }

  private fail(err: ProtocolError): ProtocolError {
    this.failure = err;
    this.accLen = 0;
    this.curTotal = -1;
    this.headerIn = false;
    this.placing = null;
    return err;
  }
}

function checkMaxData(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_DATA_SEGMENT_LENGTH) {
    throw new InputError(`maxDataSegmentLength ${n} is not in 1..${MAX_DATA_SEGMENT_LENGTH}`);
  }
}
