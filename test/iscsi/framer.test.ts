import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/iscsi/digest.js";
import { encodePdu } from "../../src/iscsi/encode.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import { type FrameSink, MAX_ACCEPTED_AHS_LENGTH, PduFramer } from "../../src/iscsi/framer.js";
import { type DigestOptions, Opcode, type Pdu } from "../../src/iscsi/pdu.js";

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, "").replace(/\s+/g, ""), "hex");
}

/** Records what the framer hands out; copies data (the framer's views are only valid during the call). */
class Recorder implements FrameSink {
  pdus: Pdu[] = [];
  malformed: Array<{ kind: string; message: string; bhs: Buffer }> = [];
  /** The ArrayBuffer under each non-empty data segment handed out (to tell views from copies). */
  views: ArrayBufferLike[] = [];
  onPdu(pdu: Pdu): void {
    if ("data" in pdu) {
      if (pdu.data.length > 0) this.views.push(pdu.data.buffer);
      this.pdus.push({ ...pdu, data: Buffer.from(pdu.data) } as Pdu);
    } else {
      this.pdus.push(pdu);
    }
  }
  onMalformed(err: ProtocolError, bhs: Buffer): void {
    this.malformed.push({ kind: err.kind, message: err.message, bhs: Buffer.from(bhs) });
  }
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A mixed stream: AHS, padding of 0..3 bytes, PDUs with and without data. */
const STREAM_PDUS: Pdu[] = [
  {
    opcode: Opcode.ScsiCommand,
    immediate: false,
    final: true,
    read: false,
    write: true,
    attr: 1,
    lun: 0x0001000000000000n,
    itt: 1,
    expectedDataTransferLength: 4096,
    cmdSN: 10,
    expStatSN: 3,
    cdb: pattern(18, 1), // extended CDB AHS, padded
    bidiReadLength: 512, // bidirectional AHS
    data: pattern(13, 2), // 3 bytes of padding
  },
  {
    opcode: Opcode.R2T,
    lun: 0x0001000000000000n,
    itt: 1,
    ttt: 0x77,
    statSN: 4,
    expCmdSN: 11,
    maxCmdSN: 40,
    r2tSN: 0,
    bufferOffset: 13,
    desiredDataTransferLength: 4083,
  },
  {
    opcode: Opcode.DataIn,
    final: true,
    ack: false,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: false,
    hasStatus: true,
    status: 0,
    lun: 0n,
    itt: 2,
    ttt: 0xffffffff,
    statSN: 5,
    expCmdSN: 11,
    maxCmdSN: 40,
    dataSN: 0,
    bufferOffset: 0,
    residualCount: 0,
    data: pattern(30, 3), // 2 bytes of padding
  },
  {
    opcode: Opcode.NopIn,
    lun: 0n,
    itt: 0xffffffff,
    ttt: 9,
    statSN: 6,
    expCmdSN: 11,
    maxCmdSN: 40,
    data: pattern(1, 4), // 3 bytes of padding
  },
  {
    opcode: Opcode.ScsiResponse,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: false,
    response: 0,
    status: 0,
    itt: 1,
    snackTag: 0,
    statSN: 7,
    expCmdSN: 11,
    maxCmdSN: 40,
    expDataSN: 0,
    bidiReadResidualCount: 0,
    residualCount: 0,
    data: Buffer.alloc(0),
  },
  {
    opcode: Opcode.DataOut,
    final: false,
    lun: 0n,
    itt: 3,
    ttt: 0x78,
    expStatSN: 8,
    dataSN: 1,
    bufferOffset: 64,
    data: pattern(64, 5), // no padding
  },
];

function wire(pdus: Pdu[], digests: DigestOptions): Buffer {
  return Buffer.concat(pdus.flatMap((p) => encodePdu(p, digests)));
}

const NO_DIGESTS = { headerDigest: false, dataDigest: false };
const DIGESTS = { headerDigest: true, dataDigest: true };

function framer(digests: DigestOptions, maxDataSegmentLength = 8192): PduFramer {
  return new PduFramer({ ...digests, maxDataSegmentLength });
}

describe("PduFramer: chunking", () => {
  for (const [label, digests] of [
    ["without digests", NO_DIGESTS],
    ["with header and data digests", DIGESTS],
    ["with header digest only", { headerDigest: true, dataDigest: false }],
    ["with data digest only", { headerDigest: false, dataDigest: true }],
  ] as const) {
    const stream = wire(STREAM_PDUS, digests);

    it(`${label}: many PDUs in one chunk, handed out as views of it`, () => {
      const f = framer(digests);
      const r = new Recorder();
      f.push(stream, r);
      expect(r.malformed).toEqual([]);
      expect(r.pdus).toEqual(STREAM_PDUS);
      expect(f.buffered).toBe(0);
      for (const b of r.views) expect(b).toBe(stream.buffer);
    });

    it(`${label}: split in two at every byte offset`, () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const f = framer(digests);
        const r = new Recorder();
        const a = Buffer.from(stream.subarray(0, cut));
        const b = Buffer.from(stream.subarray(cut));
        f.push(a, r);
        f.push(b, r);
        expect(r.malformed, `cut ${cut}`).toEqual([]);
        expect(r.pdus, `cut ${cut}`).toEqual(STREAM_PDUS);
        expect(f.buffered, `cut ${cut}`).toBe(0);
      }
    });

    it(`${label}: one byte at a time`, () => {
      const f = framer(digests);
      const r = new Recorder();
      for (let i = 0; i < stream.length; i++) {
        f.push(stream.subarray(i, i + 1), r);
        expect(f.buffered).toBeLessThanOrEqual(48 + 24 + 4 + 64 + 8);
      }
      expect(r.pdus).toEqual(STREAM_PDUS);
      expect(f.buffered).toBe(0);
    });
  }

  it("split in three at every pair of offsets (no digests)", () => {
    const stream = wire(STREAM_PDUS.slice(0, 3), NO_DIGESTS);
    const expected = STREAM_PDUS.slice(0, 3);
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j += 11) {
        const f = framer(NO_DIGESTS);
        const r = new Recorder();
        f.push(stream.subarray(0, i), r);
        f.push(stream.subarray(i, j), r);
        f.push(stream.subarray(j), r);
        if (r.pdus.length !== 3) throw new Error(`split ${i}/${j}: ${r.pdus.length} PDUs`);
        expect(r.pdus).toEqual(expected);
      }
    }
  });

  it("pseudo-random chunkings of a long stream with digests", () => {
    const pdus = Array.from({ length: 8 }, () => STREAM_PDUS).flat();
    const stream = wire(pdus, DIGESTS);
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const f = framer(DIGESTS);
      const r = new Recorder();
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + rand(200);
        f.push(stream.subarray(pos, pos + n), r);
        pos += n;
      }
      expect(r.malformed).toEqual([]);
      expect(r.pdus).toEqual(pdus);
    }
  });

  it("copies only PDUs that cross a chunk boundary, into one reused buffer", () => {
    const stream = wire(STREAM_PDUS, NO_DIGESTS);
    // Cut inside the first PDU's data, and again inside the third PDU's data.
    const first = encodePdu(STREAM_PDUS[0]!, NO_DIGESTS).reduce((n, b) => n + b.length, 0);
    const second = encodePdu(STREAM_PDUS[1]!, NO_DIGESTS).reduce((n, b) => n + b.length, 0);
    const cut1 = first - 5;
    const cut2 = first + second + 60;
    const chunks = [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)].map((c) =>
      Buffer.from(c),
    );
    const f = framer(NO_DIGESTS);
    const r = new Recorder();
    f.push(chunks[0]!, r);
    expect(r.pdus.length).toBe(0);
    expect(f.buffered).toBe(cut1);
    f.push(chunks[1]!, r);
    f.push(chunks[2]!, r);
    expect(r.pdus).toEqual(STREAM_PDUS);
    expect(r.views.length).toBe(4);
    const [v0, v2, v3, v5] = r.views; // PDUs 0, 2, 3 and 5 have data
    expect(v0).not.toBe(chunks[0]!.buffer);
    expect(v0).not.toBe(chunks[1]!.buffer);
    expect(v2).toBe(v0); // the same accumulation buffer, reused
    expect(v3).toBe(chunks[2]!.buffer); // whole inside the last chunk: a view
    expect(v5).toBe(chunks[2]!.buffer);
  });
});

/** A sink that places every Data-In offered (a fresh destination per PDU) unless `refuse` says no. */
class Placer extends Recorder {
  offers: Array<{ itt: number; dataSN: number; bufferOffset: number; dsl: number }> = [];
  /** For each PDU handed out: whether its data is the destination placeData returned. */
  placedOut: boolean[] = [];
  private dest: Buffer | null = null;
  constructor(private readonly refuse = false) {
    super();
  }
  placeData(bhs: Buffer, off: number, dsl: number): Buffer | null {
    this.offers.push({
      itt: bhs.readUInt32BE(off + 16),
      dataSN: bhs.readUInt32BE(off + 36),
      bufferOffset: bhs.readUInt32BE(off + 40),
      dsl,
    });
    if (this.refuse) return null;
    this.dest = Buffer.alloc(dsl, 0xee);
    return this.dest;
  }
  override onPdu(pdu: Pdu): void {
    this.placedOut.push(this.dest !== null && "data" in pdu && pdu.data === this.dest);
    this.dest = null;
    super.onPdu(pdu);
  }
}

describe("PduFramer: direct placement of Data-In", () => {
  const DATA_IN = STREAM_PDUS[2]!;
  const bigDataIn = { ...DATA_IN, itt: 9, dataSN: 3, bufferOffset: 8192, data: pattern(601, 7) } as Pdu;
  const pdus = [...STREAM_PDUS, bigDataIn, STREAM_PDUS[3]!];
  for (const [label, digests] of [
    ["without digests", NO_DIGESTS],
    ["with header digest", { headerDigest: true, dataDigest: false }],
  ] as const) {
    const stream = wire(pdus, digests);
    it(`${label}: a Data-In cut anywhere inside goes to the destination, at every split`, () => {
      let placedCuts = 0;
      for (let cut = 0; cut <= stream.length; cut++) {
        const f = framer(digests);
        const r = new Placer();
        f.push(Buffer.from(stream.subarray(0, cut)), r);
        f.push(Buffer.from(stream.subarray(cut)), r);
        expect(r.malformed, `cut ${cut}`).toEqual([]);
        expect(r.pdus, `cut ${cut}`).toEqual(pdus);
        expect(f.buffered).toBe(0);
        // offered only a Data-In whose header is in and whose data is not: exactly the cut ones
        expect(r.offers.length, `cut ${cut}`).toBeLessThanOrEqual(1);
        for (const o of r.offers) {
          expect([2, 9]).toContain(o.itt);
          const pdu = o.itt === 2 ? DATA_IN : bigDataIn;
          const { dataSN, bufferOffset, data } = pdu as {
            dataSN: number;
            bufferOffset: number;
            data: Buffer;
          };
          expect(o).toEqual({ itt: o.itt, dataSN, bufferOffset, dsl: data.length });
        }
        const placedIdx = r.placedOut.flatMap((p, i) => (p ? [i] : []));
        expect(placedIdx.length).toBe(r.offers.length);
        for (const i of placedIdx) expect([2, STREAM_PDUS.length]).toContain(i);
        placedCuts += placedIdx.length;
      }
      // every cut strictly inside either Data-In (header, data or padding: the data still to come
      // goes to the destination)
      const inside = (p: Pdu) => encodePdu(p, digests).reduce((n, b) => n + b.length, 0) - 1;
      expect(placedCuts).toBe(inside(DATA_IN) + inside(bigDataIn));
    });
  }

  it("one byte at a time: the data never enters the accumulation buffer", () => {
    const stream = wire([bigDataIn], NO_DIGESTS);
    const f = framer(NO_DIGESTS);
    const r = new Placer();
    for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1), r);
    expect(r.pdus).toEqual([bigDataIn]);
    expect(r.placedOut).toEqual([true]);
    expect(r.views).toEqual([r.views[0]]);
    expect(r.views[0]!.byteLength).toBe(601); // the destination's own memory, not the framer's
  });

  /**
   * A socket reader that reads straight into directReadTarget() when offered (as the transport's
   * onread does): every read takes at most `readSize` bytes of the stream.
   */
  function readDirect(stream: Buffer, readSize: number, min: number) {
    const f = framer(NO_DIGESTS);
    const r = new Placer();
    let direct = 0;
    for (let pos = 0; pos < stream.length; ) {
      const target = f.directReadTarget(min);
      const n = Math.min(readSize, stream.length - pos, target?.length ?? Infinity);
      if (target !== null) {
        expect(target.length).toBeGreaterThanOrEqual(min);
        stream.copy(target, 0, pos, pos + n);
        f.pushDirect(n, r);
        direct += n;
      } else f.push(Buffer.from(stream.subarray(pos, pos + n)), r);
      pos += n;
    }
    return { f, r, direct };
  }

  it("direct reads: the socket reads straight into the destination, at every read size", () => {
    const stream = wire(pdus, NO_DIGESTS);
    for (const min of [1, 64]) {
      for (let readSize = 1; readSize <= stream.length; readSize++) {
        const { f, r, direct } = readDirect(stream, readSize, min);
        expect(r.malformed, `read size ${readSize}`).toEqual([]);
        expect(r.pdus, `read size ${readSize}`).toEqual(pdus);
        expect(f.buffered).toBe(0);
        expect(f.directReadTarget(1)).toBeNull();
        // only data bytes go direct, never more than the Data-In PDUs carry
        expect(direct).toBeLessThanOrEqual(601 + (DATA_IN as { data: Buffer }).data.length);
        // of the big Data-In's 601 data bytes, only those read together with its header's end
        // (at most readSize - 1) and a last stretch shorter than `min` may miss the direct reads
        expect(direct, `read size ${readSize}`).toBeGreaterThanOrEqual(601 - (readSize - 1) - (min - 1));
      }
    }
  });

  it("direct reads: a read larger than what is missing is refused, nothing offered past the data", () => {
    const stream = wire([bigDataIn], NO_DIGESTS);
    const f = framer(NO_DIGESTS);
    const r = new Placer();
    expect(f.directReadTarget(1)).toBeNull(); // no PDU under way
    f.push(Buffer.from(stream.subarray(0, 100)), r); // header + 52 data bytes
    const target = f.directReadTarget(1)!;
    expect(target.length).toBe(601 - 52);
    expect(() => f.pushDirect(target.length + 1, r)).toThrow(RangeError);
    stream.copy(target, 0, 100, 100 + target.length);
    f.pushDirect(target.length, r);
    expect(r.pdus).toEqual([]); // 3 bytes of padding still to come
    expect(f.directReadTarget(1)).toBeNull();
    f.push(Buffer.from(stream.subarray(100 + target.length)), r);
    expect(r.pdus).toEqual([bigDataIn]);
    expect(r.placedOut).toEqual([true]);
  });

  it("header-first reads: after a large Data-In, the next read takes one header, then its data goes direct", () => {
    const second = { ...bigDataIn, dataSN: 4, bufferOffset: 8192 + 601, data: pattern(601, 8) } as Pdu;
    const small = STREAM_PDUS[3]!; // a SCSI Response: never placed
    for (const [label, digests, header] of [
      ["without digests", NO_DIGESTS, 48],
      ["with header digest", { headerDigest: true, dataDigest: false }, 52],
    ] as const) {
      const stream = wire([bigDataIn, second, small, bigDataIn], digests);
      for (let readSize = 1; readSize <= stream.length; readSize++) {
        const f = framer(digests);
        const r = new Placer();
        let direct = 0;
        let limited = 0;
        for (let pos = 0; pos < stream.length; ) {
          const target = f.directReadTarget(64);
          const limit = target === null ? f.nextReadLimit(64) : 0;
          if (limit > 0) {
            expect(limit).toBe(header);
            limited++;
          }
          const n = Math.min(readSize, stream.length - pos, target?.length ?? Infinity, limit || Infinity);
          if (target !== null) {
            stream.copy(target, 0, pos, pos + n);
            f.pushDirect(n, r);
            direct += n;
          } else f.push(Buffer.from(stream.subarray(pos, pos + n)), r);
          pos += n;
        }
        expect(r.pdus, `${label}, read size ${readSize}`).toEqual([bigDataIn, second, small, bigDataIn]);
        expect(r.malformed).toEqual([]);
        // reads of exactly the first PDU: a boundary after a big Data-In, so the next read is one
        // header, and then all of the second Data-In's data goes straight to its destination
        const firstWire = header + 604;
        if (readSize === firstWire) {
          expect(limited, label).toBeGreaterThanOrEqual(1);
          expect(direct, label).toBeGreaterThanOrEqual(601);
        }
      }
    }
  });

  it("no header-first read mid-PDU, after a small Data-In, or with data digests", () => {
    const small = { ...DATA_IN, data: pattern(40, 3) } as Pdu;
    const f = framer(NO_DIGESTS);
    const r = new Placer();
    const big = wire([bigDataIn], NO_DIGESTS);
    expect(f.nextReadLimit(64)).toBe(0); // nothing received yet
    f.push(Buffer.from(big.subarray(0, 100)), r);
    expect(f.nextReadLimit(64)).toBe(0); // mid-PDU
    f.push(Buffer.from(big.subarray(100)), r);
    expect(f.nextReadLimit(64)).toBe(48);
    expect(f.nextReadLimit(602)).toBe(0); // 601 data bytes are not "at least 602"
    f.push(Buffer.from(wire([small], NO_DIGESTS)), r);
    expect(f.nextReadLimit(64)).toBe(0);
    const d = framer(DIGESTS);
    d.push(Buffer.from(wire([bigDataIn], DIGESTS)), new Placer());
    expect(d.nextReadLimit(64)).toBe(0); // no placement with data digests: nothing to gain
  });

  it("a refused offer (null) accumulates as usual", () => {
    const stream = wire(pdus, NO_DIGESTS);
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const f = framer(NO_DIGESTS);
      const r = new Placer(true);
      f.push(Buffer.from(stream.subarray(0, cut)), r);
      f.push(Buffer.from(stream.subarray(cut)), r);
      expect(r.pdus, `cut ${cut}`).toEqual(pdus);
      expect(r.placedOut.every((p) => !p)).toBe(true);
    }
  });

  it("never offered with data digests, nor for other PDUs with data", () => {
    const withDigests = wire(pdus, DIGESTS);
    const others = wire([STREAM_PDUS[0]!, STREAM_PDUS[3]!, STREAM_PDUS[4]!], NO_DIGESTS);
    for (const [stream, d] of [
      [withDigests, DIGESTS],
      [others, NO_DIGESTS],
    ] as const) {
      for (let cut = 0; cut <= stream.length; cut++) {
        const f = framer(d);
        const r = new Placer();
        f.push(Buffer.from(stream.subarray(0, cut)), r);
        f.push(Buffer.from(stream.subarray(cut)), r);
        expect(r.malformed).toEqual([]);
        expect(r.offers).toEqual([]);
      }
    }
  });
});

describe("PduFramer: framing errors", () => {
  const nopIn = (data: Buffer): Pdu => ({
    opcode: Opcode.NopIn,
    lun: 0n,
    itt: 1,
    ttt: 0xffffffff,
    statSN: 1,
    expCmdSN: 1,
    maxCmdSN: 1,
    data,
  });

  function catchError(fn: () => void): ProtocolError {
    try {
      fn();
    } catch (err) {
      if (err instanceof ProtocolError) return err;
      throw err;
    }
    throw new Error("expected a ProtocolError");
  }

  it("DataSegmentLength above the maximum throws 'length' from the BHS alone", () => {
    const f = framer(NO_DIGESTS, 1024);
    const bhs = hex(`
      20 80 00 00   # NOP-In
      00 00 04 01   # DataSegmentLength 1025
      ${"00".repeat(40)}
    `);
    const err = catchError(() => f.push(bhs, new Recorder()));
    expect(err.kind).toBe("length");
    expect(err.message).toMatch(/DataSegmentLength 1025 exceeds MaxRecvDataSegmentLength 1024/);
    expect(f.buffered).toBe(0);
    // The connection is dead: further pushes rethrow.
    expect(() => f.push(Buffer.alloc(4), new Recorder())).toThrow(err);
  });

  it("the length check happens when the BHS completes, across chunks", () => {
    const f = framer(NO_DIGESTS, 512);
    const bhs = hex(`20 80 00 00 00 ff ff ff ${"00".repeat(40)}`);
    f.push(bhs.subarray(0, 30), new Recorder());
    expect(() => f.push(bhs.subarray(30), new Recorder())).toThrow(/DataSegmentLength 16777215/);
  });

  it("an absurd TotalAHSLength throws 'length' before the AHS is buffered", () => {
    const f = framer(NO_DIGESTS);
    const bhs = hex(`01 80 00 00 ff 00 00 00 ${"00".repeat(40)}`); // 255 words = 1020 bytes
    const err = catchError(() => f.push(bhs, new Recorder()));
    expect(err.kind).toBe("length");
    expect(err.message).toMatch(/TotalAHSLength 1020 bytes exceeds/);
    expect(MAX_ACCEPTED_AHS_LENGTH).toBeGreaterThanOrEqual(256);
  });

  it("a PDU of exactly the maximum size passes", () => {
    const f = framer(DIGESTS, 1000);
    const r = new Recorder();
    const pdu = nopIn(pattern(1000, 9));
    const stream = wire([pdu], DIGESTS);
    f.push(stream.subarray(0, 100), r);
    f.push(stream.subarray(100), r);
    expect(r.pdus).toEqual([pdu]);
  });

  it("a header digest mismatch throws 'headerDigest', before the data segment arrives", () => {
    const stream = wire([nopIn(pattern(40, 1))], DIGESTS);
    stream[20] = (stream[20]! ^ 0x01) & 0xff; // flip a bit of the TTT
    const f = framer(DIGESTS);
    f.push(stream.subarray(0, 51), new Recorder()); // BHS + 3 of the 4 digest bytes: nothing to check yet
    const err = catchError(() => f.push(stream.subarray(51, 53), new Recorder()));
    expect(err.kind).toBe("headerDigest");
    expect(err.message).toMatch(/header digest mismatch/);
  });

  it("a header digest mismatch in a whole chunk throws too", () => {
    const stream = wire([nopIn(Buffer.alloc(0))], DIGESTS);
    stream[48] = (stream[48]! ^ 0xff) & 0xff; // corrupt the digest itself
    const r = new Recorder();
    expect(catchError(() => framer(DIGESTS).push(stream, r)).kind).toBe("headerDigest");
    expect(r.pdus).toEqual([]);
  });

  it("a data digest mismatch goes to onMalformed with the BHS, and framing continues (split at every offset)", () => {
    const stream = wire(STREAM_PDUS, DIGESTS);
    // Corrupt one data byte of the Data-In (third PDU).
    const before = encodePdu(STREAM_PDUS[0]!, DIGESTS).reduce((n, b) => n + b.length, 0);
    const r2t = encodePdu(STREAM_PDUS[1]!, DIGESTS).reduce((n, b) => n + b.length, 0);
    const dataInStart = before + r2t;
    stream[dataInStart + 52 + 7] = (stream[dataInStart + 52 + 7]! ^ 0x40) & 0xff;
    const expected = STREAM_PDUS.filter((p) => p.opcode !== Opcode.DataIn);
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = framer(DIGESTS);
      const r = new Recorder();
      f.push(stream.subarray(0, cut), r);
      f.push(stream.subarray(cut), r);
      expect(r.pdus, `cut ${cut}`).toEqual(expected);
      expect(r.malformed.length).toBe(1);
      expect(r.malformed[0]!.kind).toBe("dataDigest");
      expect(r.malformed[0]!.message).toMatch(/data digest mismatch.*opcode 0x25, ITT 0x00000002/);
      expect(r.malformed[0]!.bhs.toString("hex")).toBe(
        stream.subarray(dataInStart, dataInStart + 48).toString("hex"),
      );
    }
  });

  it("an unknown opcode or a bad field goes to onMalformed; framing continues", () => {
    const unknown = hex(`
      1c 80 00 00   # opcode 0x1c (not defined)
      00 00 00 05   # DataSegmentLength 5
      ${"00".repeat(40)}
      01 02 03 04 05 00 00 00   # data + padding
    `);
    const badField = hex(`
      25 01 00 00   # Data-In with S but not F
      ${"00".repeat(44)}
    `);
    const good = wire([nopIn(pattern(3, 3))], NO_DIGESTS);
    const r = new Recorder();
    framer(NO_DIGESTS).push(Buffer.concat([unknown, badField, good]), r);
    expect(r.malformed.map((m) => [m.kind, m.message, m.bhs[0]])).toEqual([
      ["opcode", "unknown opcode 0x1c", 0x1c],
      ["field", "Data-In: S bit set without F bit", 0x25],
    ]);
    expect(r.pdus).toEqual([nopIn(pattern(3, 3))]);
  });

  it("checks data digests only when there is a data segment (RFC 7143 11.2)", () => {
    const stream = wire([nopIn(Buffer.alloc(0)), nopIn(Buffer.from("x"))], DIGESTS);
    expect(stream.length).toBe(52 + 52 + 4 + 4);
    const r = new Recorder();
    framer(DIGESTS).push(stream, r);
    expect(r.pdus.length).toBe(2);
    // The digest bytes are CRC32C of the data and its padding, least significant byte first.
    expect(stream.readUInt32LE(stream.length - 4)).toBe(crc32c(hex("78 00 00 00")));
  });
});

describe("PduFramer: setOptions", () => {
  const loginResponse: Pdu = {
    opcode: Opcode.LoginResponse,
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionActive: 0,
    isid: 0x80000000001,
    tsih: 1,
    itt: 1,
    statSN: 1,
    expCmdSN: 2,
    maxCmdSN: 2,
    statusClass: 0,
    statusDetail: 0,
    data: Buffer.from("HeaderDigest=CRC32C\0DataDigest=CRC32C\0"),
  };
  const nop: Pdu = {
    opcode: Opcode.NopIn,
    lun: 0n,
    itt: 0xffffffff,
    ttt: 5,
    statSN: 2,
    expCmdSN: 2,
    maxCmdSN: 9,
    data: Buffer.from("hello"),
  };

  function switchingSink(f: PduFramer): Recorder {
    const r = new Recorder();
    const onPdu = r.onPdu.bind(r);
    r.onPdu = (pdu) => {
      onPdu(pdu);
      if (pdu.opcode === Opcode.LoginResponse && pdu.transit && pdu.nsg === 3) {
        f.setOptions({ headerDigest: true, dataDigest: true, maxDataSegmentLength: 65536 });
      }
    };
    return r;
  }

  it("called from onPdu, applies to the very next PDU of the same chunk (and at every split)", () => {
    const stream = Buffer.concat([wire([loginResponse], NO_DIGESTS), wire([nop, nop], DIGESTS)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = framer(NO_DIGESTS);
      const r = switchingSink(f);
      f.push(stream.subarray(0, cut), r);
      f.push(stream.subarray(cut), r);
      expect(r.malformed, `cut ${cut}`).toEqual([]);
      expect(r.pdus, `cut ${cut}`).toEqual([loginResponse, nop, nop]);
    }
  });

  it("a larger maxDataSegmentLength lets bigger PDUs through afterwards", () => {
    const big: Pdu = { ...nop, data: pattern(20000, 1) } as Pdu;
    const stream = wire([big], NO_DIGESTS);
    const f = framer(NO_DIGESTS, 8192);
    expect(() => f.push(stream.subarray(0, 48), new Recorder())).toThrow(ProtocolError);
    const g = framer(NO_DIGESTS, 8192);
    g.setOptions({ maxDataSegmentLength: 32768 });
    const r = new Recorder();
    for (let pos = 0; pos < stream.length; pos += 1460) g.push(stream.subarray(pos, pos + 1460), r);
    expect(r.pdus).toEqual([big]);
  });

  it("refuses a maximum the 24-bit DataSegmentLength cannot reach", () => {
    expect(() => framer(NO_DIGESTS, 0)).toThrow(/maxDataSegmentLength/);
    expect(() => framer(NO_DIGESTS).setOptions({ maxDataSegmentLength: 0x1000000 })).toThrow(
      /maxDataSegmentLength/,
    );
  });
});
