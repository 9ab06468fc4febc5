import { describe, expect, it } from "vitest";
import { memoryLu, run, senseOf } from "./lu-helpers.js";

describe("MODE SENSE / MODE SELECT", () => {
  it("MODE SENSE(6) all pages: header, block descriptor, CACHING and CONTROL pages", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0x1a, 0, 0x3f, 0, 255, 0])).dataIn!;
    expect(d[0]).toBe(d.length - 1); // MODE DATA LENGTH
    expect(d[2]).toBe(0x10); // DPOFUA, not write protected
    expect(d[3]).toBe(8); // block descriptor length
    expect(d.readUInt32BE(4) & 0xffffff).toBe(2048); // blocks
    expect(d.readUInt32BE(8) & 0xffffff).toBe(512); // block length
    expect([d[12], d[13]]).toEqual([0x08, 0x12]); // CACHING
    expect([d[32], d[33]]).toEqual([0x0a, 0x0a]); // CONTROL
    expect(d.length).toBe(4 + 8 + 20 + 12);
  });

  it("MODE SENSE(10) with DBD returns only pages; saved values are not supported", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0x5a, 0x08, 0x0a, 0, 0, 0, 0, 0, 255, 0])).dataIn!;
    expect(d.readUInt16BE(0)).toBe(6 + 12);
    expect(d.readUInt16BE(6)).toBe(0);
    expect([d[8], d[9]]).toEqual([0x0a, 0x0a]);
    expect(senseOf(await run(lu, [0x1a, 0, 0xc8, 0, 255, 0]))).toEqual([5, 0x39, 0]);
    expect(senseOf(await run(lu, [0x1a, 0, 0x19, 0, 255, 0]))).toEqual([5, 0x24, 0]);
  });

  it("sets WP for a read-only LUN and reports SWP as changeable", async () => {
    const ro = await memoryLu(1024 * 1024, true);
    expect((await run(ro, [0x1a, 0x08, 0x0a, 0, 255, 0])).dataIn![2]).toBe(0x90);
    const lu = await memoryLu();
    const ch = (await run(lu, [0x1a, 0x08, 0x4a, 0, 255, 0])).dataIn!;
    expect(ch[4 + 4]).toBe(0x08);
  });

  it("MODE SELECT(6) of the CONTROL page with SWP write-protects the LUN until cleared", async () => {
    const lu = await memoryLu();
    const page = Buffer.from((await run(lu, [0x1a, 0x08, 0x0a, 0, 255, 0])).dataIn!.subarray(4));
    page[4]! |= 0x08;
    const list = Buffer.concat([Buffer.alloc(4), page]);
    expect((await run(lu, [0x15, 0x10, 0, 0, list.length, 0], list)).status).toBe(0);
    const w = await run(lu, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], Buffer.alloc(512));
    expect(senseOf(w)).toEqual([7, 0x27, 0]);
    page[4]! &= ~0x08;
    await run(lu, [0x15, 0x10, 0, 0, list.length, 0], Buffer.concat([Buffer.alloc(4), page]));
    expect((await run(lu, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], Buffer.alloc(512))).status).toBe(0);
    page[3] = 0x00; // QAM is not changeable
    expect(
      senseOf(await run(lu, [0x15, 0x10, 0, 0, list.length, 0], Buffer.concat([Buffer.alloc(4), page]))),
    ).toEqual([5, 0x26, 0]);
  });
});

describe("REPORT SUPPORTED OPERATION CODES", () => {
  it("lists all commands with SERVACTV for service-action opcodes, and timeouts with RCTD", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0])).dataIn!;
    const n = d.readUInt32BE(0) / 8;
    const ops: Array<[number, number, number, number]> = [];
    for (let i = 0; i < n; i++) {
      const at = 4 + 8 * i;
      ops.push([d[at]!, d.readUInt16BE(at + 2), d[at + 5]!, d.readUInt16BE(at + 6)]);
    }
    expect(ops).toContainEqual([0x28, 0, 0, 10]);
    expect(ops).toContainEqual([0x9e, 0x10, 1, 16]);
    expect(ops).toContainEqual([0x5f, 0x06, 1, 10]);
    const t = (await run(lu, [0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0])).dataIn!;
    expect(t.readUInt32BE(0)).toBe(n * 20);
    expect(t[4 + 5]! & 0x02).toBe(0x02); // CTDP
    expect(t.readUInt16BE(4 + 8)).toBe(0x0a); // timeout descriptor length
  });

  it("one-command formats: usage bitmap for READ(10); service-action rules", async () => {
    const lu = await memoryLu();
    const d = (await run(lu, [0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0])).dataIn!;
    expect([d[1], d.readUInt16BE(2), d[4]]).toEqual([0x03, 10, 0x28]);
    expect(senseOf(await run(lu, [0xa3, 0x0c, 0x01, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0]))).toEqual([5, 0x24, 0]);
    const sa = (await run(lu, [0xa3, 0x0c, 0x02, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0])).dataIn!;
    expect([sa[1], sa.readUInt16BE(2), sa[4]]).toEqual([0x03, 16, 0x9e]);
    expect(senseOf(await run(lu, [0xa3, 0x0c, 0x02, 0x28, 0, 0, 0, 0, 1, 0, 0, 0]))).toEqual([5, 0x24, 0]);
    const none = (await run(lu, [0xa3, 0x0c, 0x01, 0x04, 0, 0, 0, 0, 1, 0, 0, 0])).dataIn!;
    expect(none[1]).toBe(0x01); // not supported
  });
});
