import { describe, expect, it } from "vitest";
import { CHUNK_SIZE, createMemoryBackend } from "../../src/target/backend-memory.js";
import { memoryLu, pattern, run, senseOf } from "./lu-helpers.js";

function write10(lba: number, blocks: number): number[] {
  return [0x2a, 0, 0, 0, (lba >> 8) & 0xff, lba & 0xff, 0, 0, blocks, 0];
}
function read10(lba: number, blocks: number): number[] {
  return [0x28, 0, 0, 0, (lba >> 8) & 0xff, lba & 0xff, 0, 0, blocks, 0];
}
/** UNMAP parameter list (SBC-3 5.28.2): header, then 16-byte descriptors (LBA 8, count 4, reserved 4). */
function unmapList(descs: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(8 + 16 * descs.length);
  b.writeUInt16BE(6 + 16 * descs.length, 0);
  b.writeUInt16BE(16 * descs.length, 2);
  descs.forEach(([lba, n], i) => {
    b.writeUInt32BE(lba, 8 + 16 * i + 4);
    b.writeUInt32BE(n, 8 + 16 * i + 8);
  });
  return b;
}
function unmapCdb(length: number): number[] {
  return [0x42, 0, 0, 0, 0, 0, 0, length >> 8, length & 0xff, 0];
}
function getLbaStatus(lba: number, alloc = 64): number[] {
  return [0x9e, 0x12, 0, 0, 0, 0, 0, 0, (lba >> 8) & 0xff, lba & 0xff, 0, 0, 0, alloc, 0, 0];
}

describe("memory backend", () => {
  it("allocates chunks on first write only, returns views within a chunk, frees unmapped chunks", () => {
    const be = createMemoryBackend(2 ** 40, 512, { store: "slabs" }); // 1 TiB costs nothing; views: slabs
    expect(be.allocatedBytes()).toBe(0);
    expect(be.read(2 ** 39, 4096).equals(Buffer.alloc(4096))).toBe(true);
    be.write(CHUNK_SIZE * 3 + 512, pattern(1024, 1));
    expect(be.allocatedBytes()).toBe(CHUNK_SIZE);
    const a = be.read(CHUNK_SIZE * 3 + 512, 1024);
    const b = be.read(CHUNK_SIZE * 3 + 512, 1024);
    expect(a.buffer).toBe(b.buffer); // a view of the chunk, not a copy
    expect(a.equals(pattern(1024, 1))).toBe(true);
    be.unmap(CHUNK_SIZE * 3 + 512, 512);
    expect(be.allocatedBytes()).toBe(CHUNK_SIZE); // one block is still mapped
    expect(be.extent(CHUNK_SIZE * 3 + 512, 4096)).toEqual({ mapped: false, length: 512 });
    expect(be.extent(CHUNK_SIZE * 3 + 1024, 4096)).toEqual({ mapped: true, length: 512 });
    be.unmap(CHUNK_SIZE * 3, CHUNK_SIZE);
    expect(be.allocatedBytes()).toBe(0);
  });
});

describe("UNMAP, WRITE SAME, GET LBA STATUS", () => {
  it("UNMAP deallocates: the blocks read as zeros and GET LBA STATUS reports them deallocated", async () => {
    const lu = await memoryLu();
    await run(lu, write10(0, 16), pattern(8192, 2));
    const list = unmapList([[4, 4]]);
    expect((await run(lu, unmapCdb(list.length), list)).status).toBe(0);
    const d = (await run(lu, read10(0, 16))).dataIn!;
    expect(d.subarray(2048, 4096).equals(Buffer.alloc(2048))).toBe(true);
    expect(d.subarray(0, 2048).equals(pattern(8192, 2).subarray(0, 2048))).toBe(true);
    const st = (await run(lu, getLbaStatus(0))).dataIn!;
    expect(st.readUInt32BE(0)).toBe(4 + 16 * 3);
    // descriptors: [0,4) mapped, [4,8) deallocated, [8,16) mapped
    expect([st.readUInt32BE(12), st.readUInt32BE(16), st[20]]).toEqual([0, 4, 0]);
    expect([st.readUInt32BE(28), st.readUInt32BE(32), st[36]]).toEqual([4, 4, 1]);
    expect([st.readUInt32BE(44), st.readUInt32BE(48), st[52]]).toEqual([8, 8, 0]);
  });

  it("UNMAP with no descriptors or a zero length is GOOD; bad lists are rejected", async () => {
    const lu = await memoryLu();
    expect((await run(lu, unmapCdb(0))).status).toBe(0);
    const empty = unmapList([]);
    expect((await run(lu, unmapCdb(8), empty)).status).toBe(0);
    const zero = unmapList([[2048, 0]]);
    expect((await run(lu, unmapCdb(zero.length), zero)).status).toBe(0);
    const beyond = unmapList([[2047, 2]]);
    expect(senseOf(await run(lu, unmapCdb(beyond.length), beyond))).toEqual([5, 0x21, 0]);
    expect(senseOf(await run(lu, unmapCdb(4), Buffer.alloc(4)))).toEqual([5, 0x1a, 0]);
  });

  it("WRITE SAME(10) replicates the block; with UNMAP it deallocates", async () => {
    const lu = await memoryLu();
    const block = Buffer.alloc(512, 0x5a);
    expect((await run(lu, [0x41, 0, 0, 0, 0, 10, 0, 0, 4, 0], block)).status).toBe(0);
    expect((await run(lu, read10(10, 4))).dataIn!.equals(Buffer.alloc(2048, 0x5a))).toBe(true);
    expect((await run(lu, [0x41, 0x08, 0, 0, 0, 10, 0, 0, 4, 0], block)).status).toBe(0);
    expect((await run(lu, read10(10, 4))).dataIn!.equals(Buffer.alloc(2048))).toBe(true);
    // 0 blocks: to the end of the medium (WSNZ = 0)
    expect((await run(lu, [0x41, 0, 0, 0, 0x07, 0xfe, 0, 0, 0, 0], block)).status).toBe(0);
    expect((await run(lu, read10(2046, 2))).dataIn!.equals(Buffer.alloc(1024, 0x5a))).toBe(true);
    expect(senseOf(await run(lu, [0x41, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0], block))).toEqual([5, 0x21, 0]);
    expect(senseOf(await run(lu, [0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0], Buffer.alloc(100)))).toEqual([
      5, 0x24, 0,
    ]);
    expect(senseOf(await run(lu, [0x41, 0x10, 0, 0, 0, 0, 0, 0, 1, 0], block))).toEqual([5, 0x24, 0]); // ANCHOR
  });

  it("WRITE SAME(16) with NDOB writes zeros without data-out", async () => {
    const lu = await memoryLu();
    await run(lu, write10(3, 1), Buffer.alloc(512, 1));
    const cdb = [0x93, 0x01, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0];
    expect((await run(lu, cdb, null)).status).toBe(0);
    expect((await run(lu, read10(3, 1))).dataIn!.equals(Buffer.alloc(512))).toBe(true);
  });

  it("GET LBA STATUS beyond the end is LBA OUT OF RANGE", async () => {
    const lu = await memoryLu();
    expect(senseOf(await run(lu, getLbaStatus(2048)))).toEqual([5, 0x21, 0]);
  });
});
