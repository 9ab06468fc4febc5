import { describe, expect, it } from "vitest";
import type { LogicalUnit, Nexus } from "../../src/target/logical-unit.js";
import { memoryLu, nexus, run, senseOf } from "./lu-helpers.js";

const READ10 = [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0];
const WRITE10 = [0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0];
const BLOCK = Buffer.alloc(512);

/** PERSISTENT RESERVE OUT (SPC-4 6.16): SA, scope/type, parameter list length 24. */
function prout(lu: LogicalUnit, who: Nexus, sa: number, type: number, key: bigint, saKey: bigint) {
  const data = Buffer.alloc(24);
  data.writeBigUInt64BE(key, 0);
  data.writeBigUInt64BE(saKey, 8);
  return run(lu, [0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0], data, who);
}
function prin(lu: LogicalUnit, sa: number, who: Nexus = nexus(1)) {
  return run(lu, [0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0, 0], null, who);
}

async function access(lu: LogicalUnit, who: Nexus): Promise<[boolean, boolean]> {
  const r = await run(lu, READ10, null, who);
  const w = await run(lu, WRITE10, BLOCK, who);
  return [r.status === 0, w.status === 0];
}

describe("PERSISTENT RESERVE", () => {
  it("registers keys, bumps the generation, and READ KEYS lists them", async () => {
    const lu = await memoryLu();
    const [a, b] = [nexus(1), nexus(2)];
    expect((await prout(lu, a, 0x06, 0, 0n, 0xaan)).status).toBe(0); // REGISTER AND IGNORE EXISTING KEY
    expect((await prout(lu, b, 0x00, 0, 0n, 0xbbn)).status).toBe(0); // REGISTER
    expect((await prout(lu, b, 0x00, 0, 0x1n, 0xccn)).status).toBe(0x18); // wrong current key
    const keys = (await prin(lu, 0)).dataIn!;
    expect(keys.readUInt32BE(0)).toBe(2);
    expect(keys.readUInt32BE(4)).toBe(16);
    expect([keys.readBigUInt64BE(8), keys.readBigUInt64BE(16)]).toEqual([0xaan, 0xbbn]);
  });

  const table: Array<[string, number, [boolean, boolean], [boolean, boolean]]> = [
    // type, registered other's [read, write], unregistered other's [read, write] (SPC-4 5.13.1 Table 46)
    ["WE", 1, [true, false], [true, false]],
    ["EA", 3, [false, false], [false, false]],
    ["WE-RO", 5, [true, true], [true, false]],
    ["EA-RO", 6, [true, true], [false, false]],
    ["WE-AR", 7, [true, true], [true, false]],
    ["EA-AR", 8, [true, true], [false, false]],
  ];
  for (const [name, type, registered, unregistered] of table) {
    it(`${name}: holder has access, others as the type allows`, async () => {
      const lu = await memoryLu();
      const [a, b] = [nexus(1), nexus(2)];
      await prout(lu, a, 0x06, 0, 0n, 0x1n);
      await prout(lu, b, 0x06, 0, 0n, 0x2n);
      expect((await prout(lu, a, 0x01, type, 0x1n, 0n)).status).toBe(0); // RESERVE
      const rr = (await prin(lu, 1)).dataIn!;
      expect(rr.readUInt32BE(4)).toBe(16);
      expect(rr.readBigUInt64BE(8)).toBe(type >= 7 ? 0n : 0x1n); // all-registrants: key 0
      expect(rr[21]).toBe(type);
      expect(await access(lu, a)).toEqual([true, true]);
      expect(await access(lu, b)).toEqual(registered);
      expect((await prout(lu, b, 0x00, 0, 0x2n, 0n)).status).toBe(0); // unregister b
      expect(await access(lu, b)).toEqual(unregistered);
      expect((await prout(lu, a, 0x02, type, 0x1n, 0n)).status).toBe(0); // RELEASE
      expect(await access(lu, b)).toEqual([true, true]);
    });
  }

  it("RELEASE with the wrong type is INVALID RELEASE OF PERSISTENT RESERVATION", async () => {
    const lu = await memoryLu();
    await prout(lu, nexus(1), 0x06, 0, 0n, 0x1n);
    await prout(lu, nexus(1), 0x01, 1, 0x1n, 0n);
    expect(senseOf(await prout(lu, nexus(1), 0x02, 3, 0x1n, 0n))).toEqual([5, 0x26, 0x04]);
  });

  it("the reservation ends when its holder unregisters (non all-registrants types)", async () => {
    const lu = await memoryLu();
    await prout(lu, nexus(1), 0x06, 0, 0n, 0x1n);
    await prout(lu, nexus(1), 0x01, 6, 0x1n, 0n);
    await prout(lu, nexus(1), 0x00, 0, 0x1n, 0n);
    expect((await prin(lu, 1)).dataIn!.readUInt32BE(4)).toBe(0);
  });

  it("PREEMPT removes the other registration and bumps the generation by one", async () => {
    const lu = await memoryLu();
    await prout(lu, nexus(1), 0x06, 0, 0n, 0x1n);
    await prout(lu, nexus(2), 0x06, 0, 0n, 0x2n);
    const gen = (await prin(lu, 0)).dataIn!.readUInt32BE(0);
    expect((await prout(lu, nexus(2), 0x04, 3, 0x2n, 0x1n)).status).toBe(0);
    const keys = (await prin(lu, 0)).dataIn!;
    expect(keys.readUInt32BE(0)).toBe(gen + 1);
    expect(keys.readUInt32BE(4)).toBe(8);
    expect(keys.readBigUInt64BE(8)).toBe(0x2n);
  });

  it("CLEAR removes every registration and the reservation", async () => {
    const lu = await memoryLu();
    await prout(lu, nexus(1), 0x06, 0, 0n, 0x1n);
    await prout(lu, nexus(1), 0x01, 3, 0x1n, 0n);
    expect((await prout(lu, nexus(1), 0x03, 0, 0x1n, 0n)).status).toBe(0);
    expect((await prin(lu, 0)).dataIn!.readUInt32BE(4)).toBe(0);
    expect(await access(lu, nexus(2))).toEqual([true, true]);
  });

  it("REPORT CAPABILITIES lists every type; unknown PRIN service actions are rejected", async () => {
    const lu = await memoryLu();
    const caps = (await prin(lu, 2)).dataIn!;
    expect([...caps]).toEqual([0, 8, 0, 0x80, 0xea, 0x01, 0, 0]);
    expect(senseOf(await prin(lu, 7))).toEqual([5, 0x24, 0]);
  });

  it("READ FULL STATUS carries the iSCSI TransportID of each registrant", async () => {
    const lu = await memoryLu();
    await prout(lu, nexus(1), 0x06, 0, 0n, 0x1n);
    const fs = (await prin(lu, 3)).dataIn!;
    const tid = fs.subarray(8 + 24);
    expect(tid[0]).toBe(0x45);
    expect(tid.subarray(4).toString("utf8")).toContain("iqn.2026-11.test:init1,i,0x000000000001");
  });
});

describe("RESERVE(6) / RELEASE(6)", () => {
  it("reserves for one nexus; others get RESERVATION CONFLICT until release or nexus loss", async () => {
    const lu = await memoryLu();
    const [a, b] = [nexus(1), nexus(2)];
    expect((await run(lu, [0x16, 0, 0, 0, 0, 0], null, a)).status).toBe(0);
    expect((await run(lu, [0x16, 0, 0, 0, 0, 0], null, b)).status).toBe(0x18);
    expect((await run(lu, READ10, null, b)).status).toBe(0x18);
    expect((await run(lu, [0x12, 0, 0, 0, 36, 0], null, b)).status).toBe(0); // INQUIRY allowed
    expect((await run(lu, [0x17, 0, 0, 0, 0, 0], null, b)).status).toBe(0); // no-op
    expect((await run(lu, READ10, null, a)).status).toBe(0);
    lu.nexusGone(a);
    expect((await run(lu, READ10, null, b)).status).toBe(0);
    expect((await run(lu, [0x16, 0, 0, 0, 0, 0], null, b)).status).toBe(0);
    expect(lu.taskManagement(5, a)).toBe(0); // LOGICAL UNIT RESET releases it
    expect((await run(lu, READ10, null, a)).status).toBe(0);
  });
});
