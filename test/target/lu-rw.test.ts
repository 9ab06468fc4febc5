import { describe, expect, it } from "vitest";
import { memoryLu, pattern, run, senseOf } from "./lu-helpers.js";

// READ(10)/WRITE(10) CDBs laid out per SBC-3 5.11 / 5.35: opcode, flags, LBA (4), group, length (2), control
function rw10(op: number, lba: number, blocks: number, flags = 0): number[] {
  return [
    op,
    flags,
    lba >>> 24,
    (lba >> 16) & 0xff,
    (lba >> 8) & 0xff,
    lba & 0xff,
    0,
    blocks >> 8,
    blocks & 0xff,
    0,
  ];
}
function rw16(op: number, lba: number, blocks: number, flags = 0): number[] {
  const c = Buffer.alloc(16);
  c[0] = op;
  c[1] = flags;
  c.writeUInt32BE(Math.floor(lba / 2 ** 32), 2);
  c.writeUInt32BE(lba >>> 0, 6);
  c.writeUInt32BE(blocks, 10);
  return [...c];
}

describe("READ and WRITE", () => {
  it("reads back what was written; unwritten blocks read as zeros", async () => {
    const lu = await memoryLu();
    const data = pattern(4096, 3);
    expect((await run(lu, rw10(0x2a, 10, 8), data)).status).toBe(0);
    const out = await run(lu, rw10(0x28, 10, 8));
    expect(out.status).toBe(0);
    expect(out.dataIn!.equals(data)).toBe(true);
    const zeros = await run(lu, rw16(0x88, 100, 2));
    expect(zeros.dataIn!.equals(Buffer.alloc(1024))).toBe(true);
  });

  it("writes across a 64 KiB chunk boundary and reads it back in one piece", async () => {
    const lu = await memoryLu(4 * 1024 * 1024);
    const data = pattern(8192, 9);
    await run(lu, rw16(0x8a, 120, 16), data); // bytes 61440..69632 straddle 65536
    expect((await run(lu, rw16(0x88, 120, 16))).dataIn!.equals(data)).toBe(true);
  });

  it("READ(6) with transfer length 0 reads 256 blocks", async () => {
    const lu = await memoryLu();
    const out = await run(lu, [0x08, 0, 0, 0, 0, 0]);
    expect(out.dataIn!.length).toBe(256 * 512);
  });

  it("transfer length 0 is GOOD without data for READ(10)/WRITE(10)", async () => {
    const lu = await memoryLu();
    const r = await run(lu, rw10(0x28, 5, 0));
    expect([r.status, r.dataIn]).toEqual([0, null]);
    expect((await run(lu, rw10(0x2a, 5, 0))).status).toBe(0);
  });

  it("LBA + length beyond the capacity gives LOGICAL BLOCK ADDRESS OUT OF RANGE", async () => {
    const lu = await memoryLu(); // 2048 blocks
    expect(senseOf(await run(lu, rw10(0x28, 2047, 2)))).toEqual([5, 0x21, 0]);
    expect(senseOf(await run(lu, rw16(0x88, 2 ** 60, 1)))).toEqual([5, 0x21, 0]);
    expect(senseOf(await run(lu, rw10(0x2a, 2049, 0), Buffer.alloc(0)))).toEqual([5, 0x21, 0]);
  });

  it("rejects RDPROTECT/WRPROTECT (no protection information) with INVALID FIELD IN CDB", async () => {
    const lu = await memoryLu();
    expect(senseOf(await run(lu, rw10(0x28, 0, 1, 0x20)))).toEqual([5, 0x24, 0]);
  });

  it("accepts DPO and FUA", async () => {
    const lu = await memoryLu();
    expect((await run(lu, rw10(0x2a, 0, 1, 0x18), pattern(512, 1))).status).toBe(0);
    expect((await run(lu, rw10(0x28, 0, 1, 0x18))).dataIn!.equals(pattern(512, 1))).toBe(true);
  });

  it("writes to a read-only LUN fail with DATA PROTECT, WRITE PROTECTED", async () => {
    const lu = await memoryLu(1024 * 1024, true);
    const out = await run(lu, rw10(0x2a, 0, 1), Buffer.alloc(512));
    expect(out.status).toBe(2);
    expect(senseOf(out)).toEqual([7, 0x27, 0]);
    expect((await run(lu, rw10(0x28, 0, 1))).status).toBe(0);
  });

  it("writes only the whole blocks that arrived when data-out is shorter than the CDB implies", async () => {
    const lu = await memoryLu();
    await run(lu, rw10(0x2a, 0, 2), Buffer.alloc(1024, 0x61));
    expect((await run(lu, rw10(0x2a, 0, 2), Buffer.alloc(512, 0x62))).status).toBe(0);
    const d = (await run(lu, rw10(0x28, 0, 2))).dataIn!;
    expect(d.subarray(0, 512).equals(Buffer.alloc(512, 0x62))).toBe(true);
    expect(d.subarray(512).equals(Buffer.alloc(512, 0x61))).toBe(true);
    expect((await run(lu, rw10(0x2a, 0, 1), null)).status).toBe(0);
  });
});

describe("VERIFY, COMPARE AND WRITE, ORWRITE, PRE-FETCH, SYNCHRONIZE CACHE", () => {
  it("VERIFY(10) BYTCHK=1 reports MISCOMPARE with the byte offset in INFORMATION", async () => {
    const lu = await memoryLu();
    const data = pattern(1024, 5);
    await run(lu, rw10(0x2a, 4, 2), data);
    expect((await run(lu, rw10(0x2f, 4, 2, 0x02), data)).status).toBe(0);
    const bad = Buffer.from(data);
    bad[700] ^= 0xff;
    const out = await run(lu, rw10(0x2f, 4, 2, 0x02), bad);
    expect(out.status).toBe(2);
    expect(out.sense![0]).toBe(0xf0); // VALID, fixed format
    expect(senseOf(out)).toEqual([0x0e, 0x1d, 0]);
    expect(out.sense!.readUInt32BE(3)).toBe(700);
    expect((await run(lu, rw10(0x2f, 4, 2, 0x00))).status).toBe(0); // BYTCHK=0: no data compared
  });

  it("COMPARE AND WRITE writes only when the compare matches", async () => {
    const lu = await memoryLu();
    const a = Buffer.alloc(512, 0x41);
    const b = Buffer.alloc(512, 0x42);
    await run(lu, rw10(0x2a, 7, 1), a);
    const caw = [0x89, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0];
    expect((await run(lu, caw, Buffer.concat([a, b]))).status).toBe(0);
    expect((await run(lu, rw10(0x28, 7, 1))).dataIn!.equals(b)).toBe(true);
    const again = await run(lu, caw, Buffer.concat([a, Buffer.alloc(512, 0x43)]));
    expect(senseOf(again)).toEqual([0x0e, 0x1d, 0]);
    expect(again.sense!.readUInt32BE(3)).toBe(0);
    expect((await run(lu, rw10(0x28, 7, 1))).dataIn!.equals(b)).toBe(true);
    expect(senseOf(await run(lu, caw, a))).toEqual([5, 0x24, 0]); // data-out not 2 blocks
  });

  it("ORWRITE(16) ORs the data into the medium", async () => {
    const lu = await memoryLu();
    await run(lu, rw10(0x2a, 1, 1), Buffer.alloc(512, 0x0f));
    expect((await run(lu, rw16(0x8b, 1, 1), Buffer.alloc(512, 0xf0))).status).toBe(0);
    expect((await run(lu, rw10(0x28, 1, 1))).dataIn!.equals(Buffer.alloc(512, 0xff))).toBe(true);
  });

  it("PRE-FETCH and SYNCHRONIZE CACHE check the range", async () => {
    const lu = await memoryLu();
    expect((await run(lu, rw10(0x34, 0, 8))).status).toBe(0);
    expect(senseOf(await run(lu, rw16(0x90, 2048, 1)))).toEqual([5, 0x21, 0]);
    expect((await run(lu, rw10(0x35, 0, 0))).status).toBe(0);
    expect(senseOf(await run(lu, rw10(0x35, 3000, 1)))).toEqual([5, 0x21, 0]);
  });
});
