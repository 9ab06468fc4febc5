import { describe, expect, it } from "vitest";
import { executeWithoutLun, type ScsiCommandOut } from "../../src/target/logical-unit.js";
import { ctx, memoryLu, nexus, run, senseOf } from "./lu-helpers.js";

describe("INQUIRY", () => {
  it("returns standard data: SPC-4, HiSup, CmdQue, ASCII identification, version descriptors", async () => {
    const lu = await memoryLu();
    const out = await run(lu, [0x12, 0, 0, 0x01, 0x04, 0]);
    expect(out.status).toBe(0);
    const d = out.dataIn!;
    expect(d.length).toBe(96);
    expect(d[0]).toBe(0x00); // connected direct-access block device
    expect(d[2]).toBe(0x06); // SPC-4
    expect(d[3]).toBe(0x12); // HISUP | response data format 2
    expect(d[4]).toBe(91);
    expect(d[7]! & 0x02).toBe(0x02); // CMDQUE
    expect(d.subarray(8, 16).toString("ascii")).toBe("ISCSIBEN");
    expect(d.subarray(16, 32).toString("ascii")).toBe("iscsi-bench LUN ");
    expect(d.readUInt16BE(58)).toBe(0x00a0); // SAM-5
    expect(d.readUInt16BE(64)).toBe(0x04c0); // SBC-3
  });

  it("truncates to the allocation length", async () => {
    const lu = await memoryLu();
    const out = await run(lu, [0x12, 0, 0, 0, 36, 0]);
    expect(out.dataIn!.length).toBe(36);
  });

  it("rejects a page code without EVPD and unknown VPD pages with INVALID FIELD IN CDB", async () => {
    const lu = await memoryLu();
    expect(senseOf(await run(lu, [0x12, 0, 0x80, 0, 255, 0]))).toEqual([5, 0x24, 0]);
    expect(senseOf(await run(lu, [0x12, 1, 0x99, 0, 255, 0]))).toEqual([5, 0x24, 0]);
  });

  it("lists the supported VPD pages", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0x12, 1, 0x00, 0, 255, 0])).dataIn!;
    expect([...d]).toEqual([0, 0, 0, 6, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
  });

  it("derives a stable serial number and NAA designator from target name and LUN", async () => {
    const a = await memoryLu();
    const b = await memoryLu();
    const sa = (await run(a, [0x12, 1, 0x80, 0, 255, 0])).dataIn!;
    const sb = (await run(b, [0x12, 1, 0x80, 0, 255, 0])).dataIn!;
    expect(sa[1]).toBe(0x80);
    expect(sa.readUInt16BE(2)).toBe(sa.length - 4);
    expect(sa.equals(sb)).toBe(true);
    const id = (await run(a, [0x12, 1, 0x83, 0, 255, 0])).dataIn!;
    expect(id[1]).toBe(0x83);
    // first designator: binary, LU association, NAA, 16 bytes, NAA 6
    expect([id[4], id[5], id[7]]).toEqual([0x01, 0x03, 16]);
    expect(id[8]! >> 4).toBe(6);
    expect(id.includes(Buffer.from("iqn.2026-11.io.iscsi-bench:unit"))).toBe(true);
  });

  it("reports block limits (page length 0x3c) and thin provisioning (LBPU, LBPWS, LBPWS10, LBPRZ)", async () => {
    const lu = await memoryLu();
    const bl = (await run(lu, [0x12, 1, 0xb0, 0, 255, 0])).dataIn!;
    expect(bl.readUInt16BE(2)).toBe(0x3c);
    expect(bl.readUInt32BE(20)).toBeGreaterThan(0); // MAXIMUM UNMAP LBA COUNT
    expect(bl.readUInt32BE(24)).toBeGreaterThanOrEqual(256); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
    const lbp = (await run(lu, [0x12, 1, 0xb2, 0, 255, 0])).dataIn!;
    expect(lbp[5]).toBe(0xe4);
    const bdc = (await run(lu, [0x12, 1, 0xb1, 0, 255, 0])).dataIn!;
    expect(bdc.readUInt16BE(4)).toBe(1); // non-rotating
  });
});

describe("capacity, REPORT LUNS, REQUEST SENSE", () => {
  it("READ CAPACITY(10) and (16) report the last LBA, block length, LBPME and LBPRZ", async () => {
    const lu = await memoryLu(1024 * 1024);
    const c10 = (await run(lu, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0])).dataIn!;
    expect([...c10]).toEqual([0, 0, 0x07, 0xff, 0, 0, 0x02, 0x00]);
    const c16 = (await run(lu, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])).dataIn!;
    expect(c16.length).toBe(32);
    expect(c16.readUInt32BE(4)).toBe(2047);
    expect(c16.readUInt32BE(8)).toBe(512);
    expect(c16[14]).toBe(0xc0);
    const short = (await run(lu, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0])).dataIn!;
    expect(short.length).toBe(8);
  });

  it("REPORT LUNS lists the LUNs and checks SELECT REPORT and the allocation length", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])).dataIn!;
    expect([...d]).toEqual([0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(senseOf(await run(lu, [0xa0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0]))).toEqual([5, 0x24, 0]);
    expect(senseOf(await run(lu, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0]))).toEqual([5, 0x24, 0]);
  });

  it("REQUEST SENSE returns NO SENSE in fixed or descriptor format", async () => {
    const lu = await memoryLu();
    const f = (await run(lu, [0x03, 0, 0, 0, 252, 0])).dataIn!;
    expect([f[0], f[2], f[7], f[12]]).toEqual([0x70, 0, 10, 0]);
    const d = (await run(lu, [0x03, 1, 0, 0, 252, 0])).dataIn!;
    expect([...d]).toEqual([0x72, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("unknown opcodes get INVALID COMMAND OPERATION CODE", async () => {
    const lu = await memoryLu();
    const out = await run(lu, [0x04, 0, 0, 0, 0, 0]); // FORMAT UNIT
    expect(out.status).toBe(2);
    expect(senseOf(out)).toEqual([5, 0x20, 0]);
  });
});

describe("executeWithoutLun", () => {
  function noLun(cdb: number[]): ScsiCommandOut {
    let result: ScsiCommandOut | null = null;
    executeWithoutLun(
      { cdb: Buffer.from(cdb), dataOut: null, expectedDataInLength: 255, nexus: nexus(1) },
      ctx(),
      (o) => {
        result = o;
      },
    );
    return result!;
  }

  it("answers INQUIRY with peripheral qualifier 3 and REPORT LUNS normally", () => {
    expect(noLun([0x12, 0, 0, 0, 96, 0]).dataIn![0]).toBe(0x7f);
    expect(noLun([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0]).dataIn!.readUInt32BE(0)).toBe(16);
  });

  it("fails other commands with LOGICAL UNIT NOT SUPPORTED", () => {
    expect(senseOf(noLun([0x00, 0, 0, 0, 0, 0]))).toEqual([5, 0x25, 0]);
    const rs = noLun([0x03, 0, 0, 0, 18, 0]).dataIn!;
    expect([rs[2], rs[12]]).toEqual([5, 0x25]);
  });
});
