import { crc32c as referenceCrc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import { crc32c, DIGEST_LENGTH, dataDigest, readDigest, writeDigest } from "../../src/iscsi/digest.js";

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, "").replace(/\s+/g, ""), "hex");
}

/** The 4 digest bytes as they travel on the wire. */
function wireDigest(buf: Buffer): string {
  const out = Buffer.alloc(DIGEST_LENGTH);
  writeDigest(crc32c(buf), out, 0);
  return out.toString("hex");
}

// RFC 7143 Appendix B.4 "CRC Examples" (the CRC line lists the digest bytes in wire order).
describe("CRC32C, RFC 7143 Appendix B.4", () => {
  it("32 bytes of zeroes -> aa 36 91 8a", () => {
    expect(wireDigest(Buffer.alloc(32, 0))).toBe("aa36918a");
  });

  it("32 bytes of ones -> 43 ab a8 62", () => {
    expect(wireDigest(Buffer.alloc(32, 0xff))).toBe("43aba862");
  });

  it("32 bytes of incrementing 00..1f -> 4e 79 dd 46", () => {
    const b = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) b[i] = i;
    expect(wireDigest(b)).toBe("4e79dd46");
  });

  it("32 bytes of decrementing 1f..00 -> 5c db 3f 11", () => {
    const b = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) b[i] = 31 - i;
    expect(wireDigest(b)).toBe("5cdb3f11");
  });

  it("an iSCSI SCSI Read (10) command PDU -> 56 3a 96 d9", () => {
    const pdu = hex(`
      01 c0 00 00   # opcode SCSI Command, F|R, reserved
      00 00 00 00   # TotalAHSLength 0, DataSegmentLength 0
      00 00 00 00   # LUN
      00 00 00 00
      14 00 00 00   # Initiator Task Tag
      00 00 04 00   # Expected Data Transfer Length 1024
      00 00 00 14   # CmdSN 0x14
      00 00 00 18   # ExpStatSN 0x18
      28 00 00 00   # CDB: READ(10) ...
      00 00 00 00
      02 00 00 00   # ... transfer length 2 blocks
      00 00 00 00
    `);
    expect(pdu.length).toBe(48);
    expect(wireDigest(pdu)).toBe("563a96d9");
  });
});

describe("digest helpers", () => {
  it("writes the value least significant byte first and reads it back", () => {
    const out = Buffer.alloc(6, 0xee);
    writeDigest(0x8a9136aa, out, 1);
    expect(out.toString("hex")).toBe("eeaa36918aee");
    expect(readDigest(out, 1)).toBe(0x8a9136aa);
  });

  it("continues a CRC across buffers with `initial`", () => {
    const a = Buffer.from("iSCSI header ");
    const b = Buffer.from("and data");
    expect(crc32c(b, crc32c(a))).toBe(crc32c(Buffer.concat([a, b])));
    expect(crc32c(Buffer.concat([a, b]))).toBe(referenceCrc32c(Buffer.concat([a, b])));
  });

  it("dataDigest covers the zero padding to a 4-byte boundary", () => {
    const data = Buffer.from([1, 2, 3, 4, 5]);
    expect(dataDigest(data)).toBe(crc32c(Buffer.from([1, 2, 3, 4, 5, 0, 0, 0])));
    const aligned = Buffer.from([9, 8, 7, 6]);
    expect(dataDigest(aligned)).toBe(crc32c(aligned));
  });
});
