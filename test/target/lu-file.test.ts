import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogicalUnit } from "../../src/target/logical-unit.js";
import { ctx, pattern, run, senseOf } from "./lu-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "lu-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("file-backed LUN", () => {
  it("creates the file at its size, writes positionally, flushes, and keeps data across reopen", async () => {
    const path = join(dir, "lun0.img");
    const lu = await createLogicalUnit(0, { kind: "file", path, sizeBytes: 1024 * 1024 }, ctx());
    expect(statSync(path).size).toBe(1024 * 1024);
    const data = pattern(1024, 4);
    expect((await run(lu, [0x2a, 0x08, 0, 0, 0, 3, 0, 0, 2, 0], data)).status).toBe(0); // FUA
    expect((await run(lu, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(0);
    await lu.close();
    expect(readFileSync(path).subarray(1536, 2560).equals(data)).toBe(true);
    const again = await createLogicalUnit(0, { kind: "file", path, readOnly: true }, ctx());
    expect(again.blocks).toBe(2048);
    expect((await run(again, [0x28, 0, 0, 0, 0, 3, 0, 0, 2, 0])).dataIn!.equals(data)).toBe(true);
    expect(senseOf(await run(again, [0x2a, 0, 0, 0, 0, 3, 0, 0, 1, 0], data))).toEqual([7, 0x27, 0]);
    await again.close();
  });

  it("UNMAP writes zeros in the file", async () => {
    const path = join(dir, "lun1.img");
    const lu = await createLogicalUnit(1, { kind: "file", path, sizeBytes: 64 * 1024 }, ctx());
    await run(lu, [0x2a, 0, 0, 0, 0, 0, 0, 0, 4, 0], Buffer.alloc(2048, 0xee));
    const list = Buffer.alloc(24);
    list.writeUInt16BE(22, 0);
    list.writeUInt16BE(16, 2);
    list.writeUInt32BE(1, 12);
    list.writeUInt32BE(2, 16);
    expect((await run(lu, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], list)).status).toBe(0);
    const d = (await run(lu, [0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0])).dataIn!;
    expect(d.subarray(512, 1536).equals(Buffer.alloc(1024))).toBe(true);
    expect(d.subarray(0, 512).equals(Buffer.alloc(512, 0xee))).toBe(true);
    await lu.close();
  });
});
