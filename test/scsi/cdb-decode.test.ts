import { describe, expect, it } from "vitest";
import {
  byteCheck,
  cdbLength,
  decodeRwCdb,
  decodeRwCdbInto,
  opcodeName,
  type RwCdb,
  ScsiOp,
  ServiceAction,
  serviceAction,
  writeSameFlags,
} from "../../src/scsi/cdb-decode.js";

/** Hand-written hex ("28 08 12 34"); whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

function rw(opcode: number, lba: number, blocks: number, write: boolean, dpo = false, fua = false): RwCdb {
  return { opcode, lba, blocks, fua, dpo, write };
}

describe("ScsiOp", () => {
  it("has the opcode of every command the target serves", () => {
    const expected: Record<string, number> = {
      TEST_UNIT_READY: 0x00,
      REQUEST_SENSE: 0x03,
      READ_6: 0x08,
      WRITE_6: 0x0a,
      INQUIRY: 0x12,
      MODE_SELECT_6: 0x15,
      RESERVE_6: 0x16,
      RELEASE_6: 0x17,
      MODE_SENSE_6: 0x1a,
      START_STOP_UNIT: 0x1b,
      PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
      READ_CAPACITY_10: 0x25,
      READ_10: 0x28,
      WRITE_10: 0x2a,
      WRITE_AND_VERIFY_10: 0x2e,
      VERIFY_10: 0x2f,
      PRE_FETCH_10: 0x34,
      SYNCHRONIZE_CACHE_10: 0x35,
      WRITE_SAME_10: 0x41,
      UNMAP: 0x42,
      MODE_SELECT_10: 0x55,
      MODE_SENSE_10: 0x5a,
      PERSISTENT_RESERVE_IN: 0x5e,
      PERSISTENT_RESERVE_OUT: 0x5f,
      READ_16: 0x88,
      COMPARE_AND_WRITE: 0x89,
      WRITE_16: 0x8a,
      ORWRITE_16: 0x8b,
      WRITE_AND_VERIFY_16: 0x8e,
      VERIFY_16: 0x8f,
      PRE_FETCH_16: 0x90,
      SYNCHRONIZE_CACHE_16: 0x91,
      WRITE_SAME_16: 0x93,
      SERVICE_ACTION_IN_16: 0x9e,
      REPORT_LUNS: 0xa0,
      MAINTENANCE_IN: 0xa3,
      READ_12: 0xa8,
      WRITE_12: 0xaa,
      WRITE_AND_VERIFY_12: 0xae,
      VERIFY_12: 0xaf,
    };
    for (const [name, op] of Object.entries(expected))
      expect([name, (ScsiOp as Record<string, number>)[name]]).toEqual([name, op]);
    expect(ServiceAction.READ_CAPACITY_16).toBe(0x10);
    expect(ServiceAction.GET_LBA_STATUS).toBe(0x12);
    expect(ServiceAction.REPORT_SUPPORTED_OPERATION_CODES).toBe(0x0c);
  });

  it("names opcodes", () => {
    expect(opcodeName(0x28)).toBe("READ(10)");
    expect(opcodeName(0x93)).toBe("WRITE SAME(16)");
    expect(opcodeName(0x00)).toBe("TEST UNIT READY");
    expect(opcodeName(0xc0)).toBe("OPCODE 0xc0");
  });

  it("derives the CDB length from the group code", () => {
    expect(cdbLength(0x12)).toBe(6);
    expect(cdbLength(0x28)).toBe(10);
    expect(cdbLength(0x5a)).toBe(10);
    expect(cdbLength(0x88)).toBe(16);
    expect(cdbLength(0xa0)).toBe(12);
    expect(cdbLength(0x7f)).toBe(-1);
    expect(cdbLength(0xc0)).toBe(-1);
  });

  it("reads the service action", () => {
    expect(serviceAction(hex("9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00"))).toBe(0x10);
    expect(serviceAction(hex("a3 ec 00 00 00 00 00 00 00 00 00 00"))).toBe(0x0c);
  });
});

describe("decodeRwCdb", () => {
  it("READ(6): 21-bit LBA, transfer length 0 means 256 blocks", () => {
    expect(decodeRwCdb(hex("08 1f ff ff 00 00"))).toEqual(rw(0x08, 0x1fffff, 256, false));
    expect(decodeRwCdb(hex("08 e0 00 01 01 00"))).toEqual(rw(0x08, 1, 1, false)); // bits 7-5 of byte 1 are not LBA
  });
  it("WRITE(6)", () => {
    expect(decodeRwCdb(hex("0a 01 02 03 08 00"))).toEqual(rw(0x0a, 0x010203, 8, true));
    expect(decodeRwCdb(hex("0a 00 00 00 00 00"))).toEqual(rw(0x0a, 0, 256, true));
  });
  it("READ(10) / WRITE(10) with DPO and FUA", () => {
    expect(decodeRwCdb(hex("28 18 00 00 10 00 00 00 80 00"))).toEqual(
      rw(0x28, 0x1000, 128, false, true, true),
    );
    expect(decodeRwCdb(hex("2a 08 ff ff ff ff 00 ff ff 00"))).toEqual(
      rw(0x2a, 0xffffffff, 0xffff, true, false, true),
    );
    expect(decodeRwCdb(hex("2a 10 00 00 00 00 00 00 00 00"))).toEqual(rw(0x2a, 0, 0, true, true, false));
  });
  it("READ(12) / WRITE(12): length bytes 6-9", () => {
    expect(decodeRwCdb(hex("a8 00 00 00 00 02 00 01 00 00 00 00"))).toEqual(rw(0xa8, 2, 0x10000, false));
    expect(decodeRwCdb(hex("aa 08 00 00 00 01 00 00 01 00 00 00"))).toEqual(
      rw(0xaa, 1, 0x100, true, false, true),
    );
  });
  it("READ(16) / WRITE(16): 8-byte LBA", () => {
    expect(decodeRwCdb(hex("88 00 00 00 01 00 00 00 00 05 00 00 00 10 00 00"))).toEqual(
      rw(0x88, 2 ** 40 + 5, 16, false),
    );
    expect(decodeRwCdb(hex("8a 18 00 1f ff ff ff ff ff ff ff ff ff ff 00 00"))).toEqual(
      rw(0x8a, Number.MAX_SAFE_INTEGER, 0xffffffff, true, true, true),
    );
  });
  it("an LBA beyond 2^53 decodes to a value still >= 2^53 (fails any range check)", () => {
    const d = decodeRwCdb(hex("88 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00"))!;
    expect(d.lba).toBeGreaterThanOrEqual(2 ** 53);
  });
  it("COMPARE AND WRITE: NUMBER OF LOGICAL BLOCKS in byte 13", () => {
    expect(decodeRwCdb(hex("89 08 00 00 00 00 00 00 00 64 00 00 00 01 00 00"))).toEqual(
      rw(0x89, 100, 1, true, false, true),
    );
  });
  it("WRITE SAME(10)/(16): no DPO/FUA, the UNMAP and ANCHOR bits are separate", () => {
    const ws16 = hex("93 08 00 00 00 00 00 00 10 00 00 00 08 00 00 00");
    expect(decodeRwCdb(ws16)).toEqual(rw(0x93, 0x1000, 0x800, true));
    expect(writeSameFlags(ws16)).toEqual({ unmap: true, anchor: false, ndob: false });
    const ws10 = hex("41 18 00 00 00 20 00 00 04 00");
    expect(decodeRwCdb(ws10)).toEqual(rw(0x41, 0x20, 4, true));
    expect(writeSameFlags(ws10)).toEqual({ unmap: true, anchor: true, ndob: false });
    expect(writeSameFlags(hex("93 01 00 00 00 00 00 00 00 00 00 00 00 01 00 00")).ndob).toBe(true);
  });
  it("VERIFY 10/12/16: DPO and BYTCHK, never FUA, not a write", () => {
    const v10 = hex("2f 1a 00 00 00 08 00 00 02 00");
    expect(decodeRwCdb(v10)).toEqual(rw(0x2f, 8, 2, false, true, false));
    expect(byteCheck(v10)).toBe(1);
    expect(decodeRwCdb(hex("af 00 00 00 00 08 00 00 00 03 00 00"))).toEqual(rw(0xaf, 8, 3, false));
    const v16 = hex("8f 06 00 00 00 00 00 00 00 09 00 00 00 01 00 00");
    expect(decodeRwCdb(v16)).toEqual(rw(0x8f, 9, 1, false));
    expect(byteCheck(v16)).toBe(3);
  });
  it("WRITE AND VERIFY 10/12/16", () => {
    expect(decodeRwCdb(hex("2e 12 00 00 00 01 00 00 01 00"))).toEqual(rw(0x2e, 1, 1, true, true, false));
    expect(decodeRwCdb(hex("ae 00 00 00 00 01 00 00 00 02 00 00"))).toEqual(rw(0xae, 1, 2, true));
    expect(decodeRwCdb(hex("8e 00 00 00 00 00 00 00 00 03 00 00 00 04 00 00"))).toEqual(rw(0x8e, 3, 4, true));
  });
  it("PRE-FETCH 10/16 and ORWRITE(16)", () => {
    expect(decodeRwCdb(hex("34 02 00 00 00 05 00 00 06 00"))).toEqual(rw(0x34, 5, 6, false));
    expect(decodeRwCdb(hex("90 00 00 00 00 00 00 00 00 07 00 00 00 08 00 00"))).toEqual(
      rw(0x90, 7, 8, false),
    );
    expect(decodeRwCdb(hex("8b 08 00 00 00 00 00 00 00 09 00 00 00 0a 00 00"))).toEqual(
      rw(0x8b, 9, 10, true, false, true),
    );
  });
  it("SYNCHRONIZE CACHE(10)/(16): LBA and NUMBER OF LOGICAL BLOCKS, no medium write", () => {
    // SBC-3 5.22: (10) LBA bytes 2-5, count bytes 7-8; (16) LBA bytes 2-9, count bytes 10-13
    expect(decodeRwCdb(hex("35 00 00 00 10 00 00 00 08 00"))).toEqual(rw(0x35, 0x1000, 8, false));
    expect(decodeRwCdb(hex("91 00 00 00 00 00 00 00 20 00 00 00 00 10 00 00"))).toEqual(
      rw(0x91, 0x2000, 16, false),
    );
  });
  it("null for other commands and for CDBs shorter than their layout", () => {
    expect(decodeRwCdb(hex("12 00 00 00 60 00"))).toBeNull();
    expect(decodeRwCdb(hex("5a 00 3f 00 00 00 00 00 fc 00"))).toBeNull(); // MODE SENSE(10)
    expect(decodeRwCdb(hex("28 00 00 00 00 00"))).toBeNull();
    expect(decodeRwCdb(hex("88 00 00 00 00 00 00 00 00 00 00 00"))).toBeNull();
    expect(decodeRwCdb(hex("89 00 00 00 00 00 00 00 00 00 00 00 00"))).toBeNull();
    expect(decodeRwCdb(Buffer.alloc(0))).toBeNull();
  });
  it("decodeRwCdbInto reuses the caller's object", () => {
    const out = rw(0, 0, 0, false);
    expect(decodeRwCdbInto(hex("28 08 00 00 00 01 00 00 02 00"), out)).toBe(true);
    expect(out).toEqual(rw(0x28, 1, 2, false, false, true));
    expect(decodeRwCdbInto(hex("2a 00 00 00 00 03 00 00 04 00"), out)).toBe(true);
    expect(out).toEqual(rw(0x2a, 3, 4, true));
    expect(decodeRwCdbInto(hex("00 00 00 00 00 00"), out)).toBe(false);
  });
});
