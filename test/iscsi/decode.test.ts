/**
 * decodePdu / peekBhs against hand-written bytes (RFC 7143 section 11): AHS parsing, views, and the
 * typed errors for malformed input. Per-opcode byte-exact vectors (both directions) are in encode.test.ts.
 */
import { describe, expect, it } from "vitest";
import { decodePdu, peekBhs } from "../../src/iscsi/decode.js";
import { ProtocolError, type ProtocolErrorKind } from "../../src/iscsi/errors.js";
import { Opcode } from "../../src/iscsi/pdu.js";

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, "").replace(/\s+/g, ""), "hex");
}

const Z4 = "00 00 00 00";
const Z8 = `${Z4} ${Z4}`;
const Z16 = `${Z8} ${Z8}`;

function expectProtocolError(fn: () => unknown, kind: ProtocolErrorKind, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a ProtocolError").toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).kind).toBe(kind);
  expect((caught as ProtocolError).message).toMatch(message);
}

/** A SCSI Command BHS (READ(16), simple) with the given TotalAHSLength word count. */
function scsiCommandBhs(ahsWords: number, cdbByte0 = "88"): string {
  return `
    41 c1 00 00   # .|I|0x01, F|R|ATTR 1
    ${ahsWords.toString(16).padStart(2, "0")} 00 00 00   # TotalAHSLength, DataSegmentLength 0
    00 07 00 00 00 00 00 00   # LUN 7
    00 00 01 00   # Initiator Task Tag
    00 00 10 00   # Expected Data Transfer Length 4096
    00 00 00 20   # CmdSN
    00 00 00 21   # ExpStatSN
    ${cdbByte0} 00 00 00 00 00 00 00 00 01 00 00 00 08 00 00   # CDB bytes 0..15
  `;
}

describe("peekBhs", () => {
  it("returns the opcode and the framing lengths", () => {
    const bhs = hex(`
      ff ff         # padding before the BHS (offset 2)
      65 00 00 00   # .|I|0x25: the opcode is the low 6 bits
      03 01 02 03   # TotalAHSLength 3 words, DataSegmentLength 0x010203
      ${Z8} ${Z8} ${Z16} ${Z8}
    `);
    expect(peekBhs(bhs, 2)).toEqual({ opcode: 0x25, totalAhsLength: 12, dataSegmentLength: 0x010203 });
  });

  it("needs 48 bytes", () => {
    expectProtocolError(() => peekBhs(Buffer.alloc(47)), "length", /BHS/);
  });
});

describe("AHS decoding", () => {
  it("joins an extended CDB AHS to the 16 BHS bytes", () => {
    const header = hex(`
      ${scsiCommandBhs(3, "7f")}
      00 09 01 00   # AHSLength 9 (8 CDB bytes + reserved byte), AHSType 1, reserved
      a0 a1 a2 a3 a4 a5 a6 a7   # CDB bytes 16..23
    `);
    const pdu = decodePdu(header, Buffer.alloc(0));
    if (pdu.opcode !== Opcode.ScsiCommand) throw new Error("wrong opcode");
    expect(pdu.cdb.toString("hex")).toBe("7f0000000000000000010000000800" + "00a0a1a2a3a4a5a6a7");
    expect(pdu.cdb.length).toBe(24);
    expect(pdu.lun).toBe(0x0007000000000000n);
    expect(pdu.immediate).toBe(true);
    expect(pdu.attr).toBe(1);
    expect(pdu.bidiReadLength).toBeUndefined();
    expect(pdu.extraAhs).toBeUndefined();
  });

  it("reads the bidirectional read length and keeps unknown AHS types, in any order", () => {
    const header = hex(`
      ${scsiCommandBhs(4)}
      00 02 3d 09   # AHSLength 2, AHSType 61 (non-iSCSI extension), AHS-specific 9
      ee 00 00 00   # 1 data byte, padding
      00 05 02 00   # AHSLength 5, AHSType 2, reserved
      00 00 20 00   # Expected bidirectional read data length 8192
    `);
    const pdu = decodePdu(header, Buffer.alloc(0));
    if (pdu.opcode !== Opcode.ScsiCommand) throw new Error("wrong opcode");
    expect(pdu.bidiReadLength).toBe(8192);
    expect(pdu.extraAhs).toEqual([{ type: "unknown", ahsType: 0x3d, specific: 9, data: hex("ee") }]);
    expect(pdu.cdb.length).toBe(16);
  });

  it("copies the CDB out of the receive buffer", () => {
    const header = hex(scsiCommandBhs(0));
    const pdu = decodePdu(header, Buffer.alloc(0));
    header.fill(0);
    if (pdu.opcode !== Opcode.ScsiCommand) throw new Error("wrong opcode");
    expect(pdu.cdb[0]).toBe(0x88);
  });

  it("rejects an AHS that overruns TotalAHSLength", () => {
    const header = hex(`${scsiCommandBhs(1)} 00 09 01 00`);
    expectProtocolError(() => decodePdu(header, Buffer.alloc(0)), "field", /AHSLength 9 overruns/);
  });

  it("rejects a bidirectional AHS whose AHSLength is not 5", () => {
    const header = hex(`${scsiCommandBhs(2)} 00 04 02 00 00 00 20 00`);
    expectProtocolError(() => decodePdu(header, Buffer.alloc(0)), "field", /bidirectional.*AHSLength 4/);
  });

  it("rejects AHSLength 0 and a header shorter than TotalAHSLength says", () => {
    expectProtocolError(
      () => decodePdu(hex(`${scsiCommandBhs(1)} 00 00 01 00`), Buffer.alloc(0)),
      "field",
      /AHSLength 0/,
    );
    expectProtocolError(() => decodePdu(hex(scsiCommandBhs(1)), Buffer.alloc(0)), "length", /TotalAHSLength/);
  });
});

describe("decodePdu", () => {
  it("hands the data segment out as given (a view, no copy)", () => {
    const wire = hex(`
      25 00 00 00   # Data-In, not final
      00 00 00 04   # DataSegmentLength 4
      ${Z8}
      00 00 00 01   # ITT
      ff ff ff ff   # TTT
      ${Z4}         # StatSN
      00 00 00 02   # ExpCmdSN
      00 00 00 03   # MaxCmdSN
      00 00 00 00   # DataSN
      00 00 00 00   # Buffer Offset
      ${Z4}         # Residual Count
      01 02 03 04   # data
    `);
    const data = wire.subarray(48, 52);
    const pdu = decodePdu(wire.subarray(0, 48), data);
    if (pdu.opcode !== Opcode.DataIn) throw new Error("wrong opcode");
    expect(pdu.data).toBe(data);
    expect(pdu.data.buffer).toBe(wire.buffer);
  });

  it("decodes a failed Login Response (authentication failure) and its stage bits", () => {
    const pdu = decodePdu(
      hex(`
        23 00 00 00   # .|.|0x23, T=0 C=0 CSG 0 NSG 0
        ${Z4}         # no data
        40 00 01 2c   # ISID (type 01b, OUI format) ...
        00 07 00 00   # ... ISID, TSIH 0
        00 00 00 09   # ITT
        ${Z4}         # reserved
        00 00 00 00   # StatSN
        00 00 00 01   # ExpCmdSN
        00 00 00 01   # MaxCmdSN
        02 01 00 00   # Status-Class 2 (initiator error), Status-Detail 1 (authentication failure)
        ${Z8}
      `),
      Buffer.alloc(0),
    );
    expect(pdu).toMatchObject({
      opcode: Opcode.LoginResponse,
      transit: false,
      csg: 0,
      nsg: 0,
      isid: 0x4000012c0007,
      statusClass: 2,
      statusDetail: 1,
    });
  });

  it("decodes a Login Request's continue bit and CSG 1 (no transit)", () => {
    const pdu = decodePdu(
      hex(`43 44 00 00 ${Z4} 00 00 00 00 00 00 00 01 ${Z4} 00 01 00 00 ${Z4} ${Z4} ${Z16}`),
      Buffer.alloc(0),
    );
    expect(pdu).toMatchObject({
      opcode: Opcode.LoginRequest,
      transit: false,
      cont: true,
      csg: 1,
      nsg: 0,
      cid: 1,
    });
  });

  it("unknown opcode -> ProtocolError('opcode') naming it", () => {
    const bhs = hex(`1c 80 00 00 ${Z4} ${Z8} ${Z16} ${Z16}`);
    expectProtocolError(() => decodePdu(bhs, Buffer.alloc(0)), "opcode", /unknown opcode 0x1c/);
    const vendor = hex(`3e 80 00 00 ${Z4} ${Z8} ${Z16} ${Z16}`);
    expectProtocolError(() => decodePdu(vendor, Buffer.alloc(0)), "opcode", /unknown opcode 0x3e/);
  });

  it("checks the header and data lengths against the BHS", () => {
    expectProtocolError(() => decodePdu(Buffer.alloc(40), Buffer.alloc(0)), "length", /BHS/);
    const nopIn = hex(`20 80 00 00 00 00 00 08 ${Z8} ff ff ff ff ${Z4} ${Z16} ${Z8}`);
    expectProtocolError(() => decodePdu(nopIn, Buffer.alloc(4)), "length", /DataSegmentLength 8/);
  });

  const forbidden: Array<[string, string, RegExp]> = [
    ["Data-In S without F", `25 01 00 00 ${Z4}`, /S bit set without F/],
    ["Data-In O and U", `25 87 00 00 ${Z4}`, /O and U/],
    ["SCSI Response o and u", `21 98 00 00 ${Z4}`, /o and u/],
    ["SCSI Response O and U", `21 86 00 00 ${Z4}`, /O and U/],
    ["Text Request F and C", `04 c0 00 00 ${Z4}`, /Text Request: F and C/],
    ["Text Response F and C", `24 c0 00 00 ${Z4}`, /Text Response: F and C/],
    ["Login Request T and C", `43 c1 00 00 ${Z4}`, /T and C/],
    ["Login Response CSG 2", `23 08 00 00 ${Z4}`, /CSG 2/],
    ["Login Request NSG 2 with T", `43 86 00 00 ${Z4}`, /NSG 2/],
    ["SCSI Command ATTR 5", `01 85 00 00 ${Z4}`, /ATTR 5/],
    ["Logout Request reason 3", `46 83 00 00 ${Z4}`, /reason code 3/],
  ];
  for (const [name, head, message] of forbidden) {
    it(`rejects ${name} with a field error`, () => {
      const bhs = hex(`${head} ${Z8} ${Z16} ${Z16}`);
      expect(bhs.length).toBe(48);
      expectProtocolError(() => decodePdu(bhs, Buffer.alloc(0)), "field", message);
    });
  }

  it("rejects a data segment on PDU types that carry none", () => {
    for (const [op, name] of [
      ["31", "R2T"],
      ["22", "Task Management Response"],
      ["26", "Logout Response"],
      ["02", "Task Management Request"],
      ["10", "SNACK Request"],
    ] as const) {
      const bhs = hex(`${op} 80 00 00 00 00 00 04 ${Z8} ${Z16} ${Z16}`);
      expectProtocolError(
        () => decodePdu(bhs, Buffer.alloc(4)),
        "field",
        new RegExp(`${name}: DataSegmentLength must be 0`),
      );
    }
  });
});
