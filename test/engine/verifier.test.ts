import { describe, expect, it } from "vitest";
import { INFLUX, Verifier } from "../../src/engine/verifier.js";
import type { CommandResult } from "../../src/initiator/session.js";
import { stampBlock } from "../../src/workload/stamp.js";

const BS = 512;
const SEED = 7;

function verifier(blocks = 64, baseLba = 100): Verifier {
  return new Verifier({ generations: new SharedArrayBuffer(blocks * 4), baseLba, blocks, seed: SEED }, BS);
}

/** A memory disk of blocks from LBA 0 that a write lands on and a read-back reads from. */
class Disk {
  readonly bytes: Buffer;
  reads: Array<[number, number]> = [];
  constructor(blocks: number) {
    this.bytes = Buffer.alloc(blocks * BS);
  }
  write(buf: Buffer, lba: number, length: number): void {
    buf.copy(this.bytes, lba * BS, 0, length);
  }
  async execute(_lun: number, cdb: Buffer, opts?: { dataInLength?: number }): Promise<CommandResult> {
    // READ(10): LBA in bytes 2..5, blocks in 7..8
    const lba = cdb.readUInt32BE(2);
    const n = cdb.readUInt16BE(7);
    this.reads.push([lba, n]);
    expect(opts?.dataInLength).toBe(n * BS);
    return {
      status: 0,
      sense: null,
      data: Buffer.from(this.bytes.subarray(lba * BS, (lba + n) * BS)),
      residual: 0,
    };
  }
}

describe("Verifier", () => {
  it("stamps each block of a write with its next generation and tracks it in flight", () => {
    const v = verifier();
    const buf = Buffer.alloc(4 * BS);
    v.beginWrite(buf, 110, 2 * BS);
    expect(buf.readUInt32BE(16)).toBe(1);
    expect(v.inflightAt(110)).toBe(1);
    expect(v.inflightAt(111)).toBe(1);
    expect(v.inflightAt(112)).toBe(0);
    expect(v.overlapsInflightWrite(111, 4)).toBe(true);
    expect(v.overlapsInflightWrite(112, 4)).toBe(false);
    expect(v.overlapsInflightWrite(108, 2)).toBe(false);
    v.endWrite(buf, 110, 2 * BS, true, 0);
    expect(v.generations[10]).toBe(1);
    expect(v.inflightAt(110)).toBe(0);
    expect(v.overlapsInflightWrite(110, 2)).toBe(false);
    v.beginWrite(buf, 110, BS);
    expect(buf.readUInt32BE(16)).toBe(2);
    expect(v.writesCompleted).toBe(1);
  });

  it("a failed write leaves its blocks unknown, never checked, and the next write starts over at 1", () => {
    const v = verifier();
    const buf = Buffer.alloc(BS);
    v.beginWrite(buf, 100, BS);
    v.endWrite(buf, 100, BS, false, 0);
    expect(v.generations[0]).toBe(INFLUX);
    v.checkRead(Buffer.alloc(BS), 100, BS, false); // garbage, but unknown: not checked
    expect(v.blocksChecked).toBe(0);
    expect(v.mismatchCount).toBe(0);
    v.beginWrite(buf, 100, BS);
    expect(buf.readUInt32BE(16)).toBe(1);
  });

  it("checks reads: right data passes, an old generation is stale unless a write completed meanwhile", () => {
    const v = verifier();
    const buf = Buffer.alloc(BS);
    v.beginWrite(buf, 120, BS);
    const first = Buffer.from(buf);
    v.endWrite(buf, 120, BS, true, 0);
    v.beginWrite(buf, 120, BS);
    // in flight: not checked
    v.checkRead(first, 120, BS, false);
    expect(v.blocksChecked).toBe(0);
    v.endWrite(buf, 120, BS, true, 0);
    v.checkRead(buf, 120, BS, false);
    expect(v.blocksChecked).toBe(1);
    expect(v.mismatchCount).toBe(0);
    v.checkRead(first, 120, BS, true);
    expect(v.mismatchCount).toBe(0);
    v.checkRead(first, 120, BS, false);
    expect(v.mismatchCount).toBe(1);
    expect(v.mismatches[0]).toEqual({ lba: 120, kind: "stale", expectedGeneration: 2, foundGeneration: 1 });
  });

  it("counts the blocks of a re-issued write that returned GOOD as recovered, never as mismatches", () => {
    const v = verifier();
    const buf = Buffer.alloc(4 * BS);
    v.beginWrite(buf, 130, 4 * BS);
    v.endWrite(buf, 130, 4 * BS, true, 1);
    expect(v.recoveredBlocks).toBe(4);
    expect(v.mismatchCount).toBe(0);
    expect([...v.generations.subarray(30, 34)]).toEqual([1, 1, 1, 1]);
    // a re-issued write that failed after all: unknown, not recovered
    v.beginWrite(buf, 140, BS);
    v.endWrite(buf, 140, BS, false, 2);
    expect(v.recoveredBlocks).toBe(4);
    expect(v.generations[40]).toBe(INFLUX);
  });

  it("reads back every block with a known generation, recovered ones included, in chunks; unknown ones skipped", async () => {
    const v = verifier(256, 0);
    const disk = new Disk(256);
    const buf = Buffer.alloc(200 * BS);
    // blocks 0..149 written (150 blocks: more than one 64 KiB READ), 150 failed, 160..163 recovered
    v.beginWrite(buf, 0, 150 * BS);
    disk.write(buf, 0, 150 * BS);
    v.endWrite(buf, 0, 150 * BS, true, 0);
    v.beginWrite(buf, 150, BS);
    v.endWrite(buf, 150, BS, false, 0);
    v.beginWrite(buf, 160, 4 * BS);
    disk.write(buf, 160, 4 * BS);
    v.endWrite(buf, 160, 4 * BS, true, 1);
    const errors: string[] = [];
    await v.readBack(disk, 0, 0, 256, (k) => errors.push(k));
    expect(disk.reads).toEqual([
      [0, 128],
      [128, 22],
      [160, 4],
    ]);
    expect(v.blocksChecked).toBe(154);
    expect(v.recoveredChecked).toBe(4);
    expect(v.mismatchCount).toBe(0);
    expect(errors).toEqual([]);
  });

  it("the read-back finds a recovered block that holds the old data (the re-issue was lost)", async () => {
    const v = verifier(16, 0);
    const disk = new Disk(16);
    const buf = Buffer.alloc(BS);
    v.beginWrite(buf, 3, BS);
    disk.write(buf, 3, BS);
    v.endWrite(buf, 3, BS, true, 0);
    v.beginWrite(buf, 3, BS); // generation 2, re-issued, "GOOD", but the medium kept generation 1
    v.endWrite(buf, 3, BS, true, 1);
    await v.readBack(disk, 0, 0, 16, () => {});
    expect(v.recoveredChecked).toBe(1);
    expect(v.mismatchCount).toBe(1);
    expect(v.mismatches[0]).toMatchObject({
      lba: 3,
      kind: "stale",
      expectedGeneration: 2,
      foundGeneration: 1,
    });
  });

  it("plans only inside the map and reports a failed READ of the read-back as an error", async () => {
    const v = verifier(8, 10);
    const buf = Buffer.alloc(BS);
    stampBlock(buf, 0, 12, BS, 1, SEED);
    v.generations[2] = 1;
    const plan: Array<[number, number]> = [];
    v.readBackPlan(0, 100, (lba, n) => plan.push([lba, n]));
    expect(plan).toEqual([[12, 1]]);
    const errors: string[] = [];
    await v.readBack(
      {
        execute: async () => ({ status: 8, sense: null, data: Buffer.alloc(0), residual: 0 }),
      },
      0,
      0,
      100,
      (k) => errors.push(k),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/BUSY/);
    expect(v.blocksChecked).toBe(0);
  });
});
