import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import {
  checkBlock,
  checkBlocks,
  STAMP_MAGIC,
  stampBlock,
  stampBlocks,
  stampedLba,
} from "../../src/workload/stamp.js";

const BS = 512;
const SEED = 1234;

function stamped(blocks: number, lba: number, generation: number, bs = BS, seed = SEED): Buffer {
  const buf = Buffer.alloc(blocks * bs);
  stampBlocks(buf, buf.length, lba, bs, generation, seed);
  return buf;
}

describe("stamps", () => {
  it("writes the documented header: magic, crc32c of the rest, LBA, generation, seed, block size", () => {
    const lba = 2 ** 33 + 5; // needs the high word
    const buf = stamped(1, lba, 7);
    expect(buf.readUInt32BE(0)).toBe(STAMP_MAGIC);
    expect(buf.subarray(0, 4).toString("latin1")).toBe("iSBv");
    expect(buf.readUInt32BE(4)).toBe(crc32c(buf.subarray(8, BS)));
    expect(buf.readUInt32BE(8)).toBe(2);
    expect(buf.readUInt32BE(12)).toBe(5);
    expect(buf.readUInt32BE(16)).toBe(7);
    expect(buf.readUInt32BE(20)).toBe(SEED);
    expect(buf.readUInt32BE(24)).toBe(BS);
    expect(stampedLba(buf, 0, BS)).toBe(lba);
  });

  it("round-trips: stamped blocks check clean, for 512 and 4096-byte blocks", () => {
    for (const bs of [512, 4096]) {
      const buf = stamped(16, 1000, 3, bs);
      expect(checkBlocks(buf, buf.length, 1000, bs, () => 3, SEED)).toBeNull();
    }
  });

  it("is deterministic in (seed, lba, generation) and differs when any changes", () => {
    expect(stamped(4, 10, 1).equals(stamped(4, 10, 1))).toBe(true);
    const payload = (b: Buffer) => b.subarray(32, BS);
    const base = payload(stamped(1, 10, 1));
    expect(payload(stamped(1, 11, 1)).equals(base)).toBe(false);
    expect(payload(stamped(1, 10, 2)).equals(base)).toBe(false);
    expect(payload(stamped(1, 10, 1, BS, SEED + 1)).equals(base)).toBe(false);
    // The data is not trivially constant.
    expect(new Set(base).size).toBeGreaterThan(100);
  });

  it("stampBlock stamps one block in place, equal to stampBlocks", () => {
    const buf = Buffer.alloc(3 * BS);
    stampBlock(buf, BS, 41, BS, 2, SEED);
    expect(buf.subarray(BS, 2 * BS).equals(stamped(1, 41, 2))).toBe(true);
    expect(buf.subarray(0, BS).every((b) => b === 0)).toBe(true);
  });

  it("detects a stale block (older generation) and names its LBA", () => {
    const buf = stamped(8, 100, 5);
    stampBlocks(buf.subarray(3 * BS, 4 * BS), BS, 103, BS, 4, SEED); // block 103 lost its last write
    expect(checkBlocks(buf, buf.length, 100, BS, () => 5, SEED)).toEqual({
      lba: 103,
      kind: "stale",
      expectedGeneration: 5,
      foundGeneration: 4,
    });
  });

  it("detects data of another run (other seed) as stale", () => {
    const buf = stamped(2, 100, 1, BS, SEED + 9);
    expect(checkBlocks(buf, buf.length, 100, BS, () => 1, SEED)).toEqual({
      lba: 100,
      kind: "stale",
      expectedGeneration: 1,
      foundGeneration: 1,
    });
  });

  it("detects a misdirected block (valid stamp of another LBA)", () => {
    const buf = stamped(8, 100, 2);
    stamped(1, 555, 2).copy(buf, 6 * BS); // LBA 106 holds LBA 555's block
    expect(checkBlocks(buf, buf.length, 100, BS, () => 2, SEED)).toEqual({
      lba: 106,
      kind: "wrong-lba",
      expectedGeneration: 2,
      foundGeneration: 2,
    });
  });

  it("detects a flipped bit as corrupt (bad checksum)", () => {
    const buf = stamped(8, 100, 2);
    buf[5 * BS + 300]! ^= 0x01;
    expect(checkBlocks(buf, buf.length, 100, BS, () => 2, SEED)).toEqual({
      lba: 105,
      kind: "corrupt",
      expectedGeneration: 2,
      foundGeneration: null,
    });
  });

  it("detects a zeroed block as corrupt (bad magic)", () => {
    const buf = stamped(4, 100, 2);
    buf.fill(0, 2 * BS, 3 * BS);
    expect(checkBlocks(buf, buf.length, 100, BS, () => 2, SEED)).toEqual({
      lba: 102,
      kind: "corrupt",
      expectedGeneration: 2,
      foundGeneration: null,
    });
  });

  it("detects a tampered header even when the magic is intact", () => {
    const buf = stamped(1, 100, 2);
    buf.writeUInt32BE(1, 16); // generation field changed without fixing the checksum
    expect(checkBlock(buf, 0, 100, BS, 2, SEED)?.kind).toBe("corrupt");
  });

  it("reports a generation newer than expected as corrupt, with the generation found", () => {
    const buf = stamped(1, 100, 9);
    expect(checkBlock(buf, 0, 100, BS, 2, SEED)).toEqual({
      lba: 100,
      kind: "corrupt",
      expectedGeneration: 2,
      foundGeneration: 9,
    });
  });

  it("skips blocks whose expected generation is 0 (never written) and reports the first bad one", () => {
    const buf = Buffer.alloc(6 * BS); // unwritten: zeros
    stampBlocks(buf.subarray(2 * BS), 4 * BS, 102, BS, 1, SEED);
    buf.fill(0xff, 4 * BS, 5 * BS); // 104 corrupt
    buf.fill(0, 5 * BS, 6 * BS); // 105 corrupt too, reported after 104
    const expected = (lba: number) => (lba >= 102 ? 1 : 0);
    expect(checkBlocks(buf, buf.length, 100, BS, expected, SEED)?.lba).toBe(104);
    expect(checkBlocks(buf, 4 * BS, 100, BS, expected, SEED)).toBeNull();
  });
});
