import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import {
  buildInquiry,
  buildRead10,
  buildRead16,
  buildReadAuto,
  buildReadCapacity10,
  buildReadCapacity16,
  buildReportLuns,
  buildRequestSense,
  buildSynchronizeCache10,
  buildSynchronizeCache16,
  buildTestUnitReady,
  buildWrite10,
  buildWrite16,
  buildWriteAuto,
} from "../../src/scsi/cdb.js";

/** Hand-written hex ("28 08 12 34"); whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

/** A dirty 16-byte CDB buffer, so that a builder that forgets to zero a byte is caught. */
function dirty(): Buffer {
  return Buffer.alloc(16, 0xff);
}

/** Runs a builder on a dirty buffer; returns the CDB bytes and checks the bytes after it are untouched. */
function build(fn: (cdb: Buffer) => number): Buffer {
  const cdb = dirty();
  const len = fn(cdb);
  for (let i = len; i < 16; i++) expect(cdb[i]).toBe(0xff);
  return cdb.subarray(0, len);
}

describe("READ/WRITE(10) (SBC-3 5.11, 5.32)", () => {
  it("READ(10): opcode 28, LBA bytes 2-5, TRANSFER LENGTH bytes 7-8", () => {
    expect(build((c) => buildRead10(c, 0x12345678, 0x0102))).toEqual(hex("28 00 12 34 56 78 00 01 02 00"));
  });
  it("READ(10) with FUA sets byte 1 bit 3", () => {
    expect(build((c) => buildRead10(c, 7, 1, true))).toEqual(hex("28 08 00 00 00 07 00 00 01 00"));
  });
  it("WRITE(10): opcode 2a, largest LBA and length", () => {
    expect(build((c) => buildWrite10(c, 0xffffffff, 0xffff))).toEqual(hex("2a 00 ff ff ff ff 00 ff ff 00"));
  });
  it("WRITE(10) with FUA", () => {
    expect(build((c) => buildWrite10(c, 0, 8, true))).toEqual(hex("2a 08 00 00 00 00 00 00 08 00"));
  });
  it("rejects values the 10-byte fields cannot hold, naming the field", () => {
    const cdb = dirty();
    expect(() => buildRead10(cdb, 2 ** 32, 1)).toThrow(InputError);
    expect(() => buildRead10(cdb, 2 ** 32, 1)).toThrow(/READ\(10\): lba/);
    expect(() => buildWrite10(cdb, 0, 65536)).toThrow(/WRITE\(10\): blocks 65536/);
    expect(() => buildWrite10(cdb, -1, 1)).toThrow(/lba -1/);
    expect(() => buildRead10(cdb, 1.5, 1)).toThrow(/lba 1.5/);
    expect(() => buildRead10(Buffer.alloc(8), 0, 1)).toThrow(/CDB buffer of 8 bytes/);
  });
});

describe("READ/WRITE(16) (SBC-3 5.14, 5.35)", () => {
  it("READ(16): LBA bytes 2-9 up to 2^53-1, TRANSFER LENGTH bytes 10-13", () => {
    expect(build((c) => buildRead16(c, Number.MAX_SAFE_INTEGER, 0x00010000))).toEqual(
      hex("88 00 | 00 1f ff ff ff ff ff ff | 00 01 00 00 | 00 00"),
    );
  });
  it("WRITE(16) with FUA at LBA 2^32", () => {
    expect(build((c) => buildWrite16(c, 2 ** 32, 8, true))).toEqual(
      hex("8a 08 | 00 00 00 01 00 00 00 00 | 00 00 00 08 | 00 00"),
    );
  });
  it("splits the LBA into its two 32-bit halves", () => {
    expect(build((c) => buildRead16(c, 0x123456789abc, 0xffffffff))).toEqual(
      hex("88 00 | 00 00 12 34 56 78 9a bc | ff ff ff ff | 00 00"),
    );
  });
  it("rejects an LBA of 2^53 or more and a length above 32 bits", () => {
    const cdb = dirty();
    expect(() => buildRead16(cdb, 2 ** 53, 1)).toThrow(/READ\(16\): lba/);
    expect(() => buildWrite16(cdb, 0, 2 ** 32)).toThrow(/WRITE\(16\): blocks/);
    expect(() => buildWrite16(Buffer.alloc(12), 0, 1)).toThrow(/need 16/);
  });
});

describe("buildReadAuto / buildWriteAuto", () => {
  it("use (10) while the LBA fits 32 bits and blocks <= 65535", () => {
    const cdb = dirty();
    expect(buildReadAuto(cdb, 0xffffffff, 0xffff)).toBe(10);
    expect(cdb.subarray(0, 10)).toEqual(hex("28 00 ff ff ff ff 00 ff ff 00"));
    expect(buildWriteAuto(cdb, 5, 1, true)).toBe(10);
    expect(cdb.subarray(0, 10)).toEqual(hex("2a 08 00 00 00 05 00 00 01 00"));
  });
  it("switch to (16) for a large LBA or a large transfer", () => {
    const cdb = dirty();
    expect(buildReadAuto(cdb, 2 ** 32, 1)).toBe(16);
    expect(cdb).toEqual(hex("88 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00"));
    expect(buildWriteAuto(cdb, 0, 65536, true)).toBe(16);
    expect(cdb).toEqual(hex("8a 08 00 00 00 00 00 00 00 00 00 01 00 00 00 00"));
  });
});

describe("control CDBs", () => {
  it("TEST UNIT READY: six zero bytes", () => {
    expect(build(buildTestUnitReady)).toEqual(hex("00 00 00 00 00 00"));
  });
  it("INQUIRY standard: EVPD 0, ALLOCATION LENGTH bytes 3-4", () => {
    expect(build((c) => buildInquiry(c, 96))).toEqual(hex("12 00 00 00 60 00"));
  });
  it("INQUIRY VPD: EVPD 1, PAGE CODE byte 2", () => {
    expect(build((c) => buildInquiry(c, 0x1000, 0x83))).toEqual(hex("12 01 83 10 00 00"));
    expect(build((c) => buildInquiry(c, 255, 0x00))).toEqual(hex("12 01 00 00 ff 00"));
  });
  it("INQUIRY rejects a bad allocation length or page", () => {
    expect(() => buildInquiry(dirty(), 65536)).toThrow(/INQUIRY: allocation length/);
    expect(() => buildInquiry(dirty(), 64, 256)).toThrow(/INQUIRY: VPD page 256/);
  });
  it("READ CAPACITY(10): opcode 25 and zeros", () => {
    expect(build(buildReadCapacity10)).toEqual(hex("25 00 00 00 00 00 00 00 00 00"));
  });
  it("READ CAPACITY(16): 9e / service action 10, ALLOCATION LENGTH bytes 10-13 (default 32)", () => {
    expect(build((c) => buildReadCapacity16(c))).toEqual(
      hex("9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00"),
    );
    expect(build((c) => buildReadCapacity16(c, 0x01020304))).toEqual(
      hex("9e 10 00 00 00 00 00 00 00 00 01 02 03 04 00 00"),
    );
  });
  it("REPORT LUNS: opcode a0, ALLOCATION LENGTH bytes 6-9, at least 16", () => {
    expect(build((c) => buildReportLuns(c, 4096))).toEqual(hex("a0 00 00 00 00 00 00 00 10 00 00 00"));
    expect(() => buildReportLuns(dirty(), 8)).toThrow(/REPORT LUNS: allocation length 8/);
  });
  it("SYNCHRONIZE CACHE(10): whole medium by default, or an LBA range", () => {
    expect(build((c) => buildSynchronizeCache10(c))).toEqual(hex("35 00 00 00 00 00 00 00 00 00"));
    expect(build((c) => buildSynchronizeCache10(c, 0x10, 0x20))).toEqual(
      hex("35 00 00 00 00 10 00 00 20 00"),
    );
  });
  it("SYNCHRONIZE CACHE(16): LBA bytes 2-9, blocks bytes 10-13", () => {
    expect(build((c) => buildSynchronizeCache16(c))).toEqual(
      hex("91 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
    );
    expect(build((c) => buildSynchronizeCache16(c, 2 ** 40, 0x100))).toEqual(
      hex("91 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00"),
    );
  });
  it("REQUEST SENSE: ALLOCATION LENGTH byte 4, DESC byte 1 bit 0", () => {
    expect(build((c) => buildRequestSense(c, 252))).toEqual(hex("03 00 00 00 fc 00"));
    expect(build((c) => buildRequestSense(c, 18, true))).toEqual(hex("03 01 00 00 12 00"));
    expect(() => buildRequestSense(dirty(), 256)).toThrow(/REQUEST SENSE: allocation length 256/);
  });
});
