import { describe, expect, it } from "vitest";
import { CHUNK_SIZE, createMemoryBackend, SLAB_SIZE } from "../../src/target/backend-memory.js";
import { pattern } from "./lu-helpers.js";

const MiB = 1024 * 1024;

describe("memory backend: slabs", () => {
  it("a write and a read across a slab boundary land on both sides, and read back whole", () => {
    const be = createMemoryBackend(3 * SLAB_SIZE, 512);
    const at = SLAB_SIZE - 8192;
    const data = pattern(16384, 3);
    be.write(at, data);
    expect(be.read(at, 16384).equals(data)).toBe(true);
    expect(be.read(at - 512, 512).equals(Buffer.alloc(512))).toBe(true);
    expect(be.read(SLAB_SIZE, 8192).equals(data.subarray(8192))).toBe(true);
    // two chunks on each side hold mapped blocks: 64 KiB accounting, not the 64 MiB slabs
    expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
    expect(be.extent(at - 1024, 1 << 20)).toEqual({ mapped: false, length: 1024 });
    expect(be.extent(at, 1 << 20)).toEqual({ mapped: true, length: 16384 });
    expect(be.extent(at + 16384, 1 << 20)).toEqual({ mapped: false, length: 1 << 20 });
  });

  it("unmap zeroes only what it unmaps and frees a slab once nothing in it is mapped", () => {
    const be = createMemoryBackend(2 * SLAB_SIZE, 4096);
    be.write(0, pattern(3 * 4096, 5));
    be.write(SLAB_SIZE + 4096, pattern(4096, 6));
    be.unmap(4096, 4096);
    expect(
      be
        .read(0, 3 * 4096)
        .equals(
          Buffer.concat([
            pattern(3 * 4096, 5).subarray(0, 4096),
            Buffer.alloc(4096),
            pattern(3 * 4096, 5).subarray(8192),
          ]),
        ),
    ).toBe(true);
    expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
    // a rewrite of an unmapped block maps it again
    be.write(4096, pattern(4096, 7));
    expect(be.extent(0, 3 * 4096)).toEqual({ mapped: true, length: 3 * 4096 });
    be.unmap(0, 2 * SLAB_SIZE);
    expect(be.allocatedBytes()).toBe(0);
    expect(be.read(0, 3 * 4096).equals(Buffer.alloc(3 * 4096))).toBe(true);
    expect(be.read(SLAB_SIZE + 4096, 4096).equals(Buffer.alloc(4096))).toBe(true);
    expect(be.extent(0, 2 * SLAB_SIZE)).toEqual({ mapped: false, length: 2 * SLAB_SIZE });
  });

  it("the last slab is cut at the LUN's end and extents stop there", () => {
    const size = SLAB_SIZE + 5 * 4096;
    const be = createMemoryBackend(size, 4096);
    be.write(size - 4096, pattern(4096, 8));
    expect(be.read(size - 8192, 8192).equals(Buffer.concat([Buffer.alloc(4096), pattern(4096, 8)]))).toBe(
      true,
    );
    expect(be.extent(SLAB_SIZE, 1 << 30)).toEqual({ mapped: false, length: 4 * 4096 });
    expect(be.extent(size - 4096, 1 << 30)).toEqual({ mapped: true, length: 4096 });
  });

  it("repeated writes of the same range count each block once", () => {
    const be = createMemoryBackend(SLAB_SIZE, 512);
    for (let i = 0; i < 10; i++) be.write(CHUNK_SIZE - 512, pattern(1024, i));
    expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
    be.unmap(CHUNK_SIZE - 512, 512);
    expect(be.allocatedBytes()).toBe(CHUNK_SIZE);
    be.unmap(CHUNK_SIZE, 512);
    expect(be.allocatedBytes()).toBe(0);
  });

  it("a 1 GiB LUN written in every slab costs pages, not the LUN, in resident memory", () => {
    const rssBefore = process.memoryUsage().rss;
    const be = createMemoryBackend(1024 * MiB, 512);
    // one 4 KiB write in each of the 16 slabs, and reads of untouched ranges of those slabs
    for (let s = 0; s < 1024 / 64; s++) be.write(s * SLAB_SIZE + 12288, pattern(4096, s));
    for (let s = 0; s < 1024 / 64; s++) expect(be.read(s * SLAB_SIZE + MiB, 4096)[0]).toBe(0);
    const grown = process.memoryUsage().rss - rssBefore;
    expect(grown).toBeLessThan(64 * MiB); // the slabs are 1 GiB of address space
    for (let s = 0; s < 1024 / 64; s++)
      expect(be.read(s * SLAB_SIZE + 12288, 4096).equals(pattern(4096, s))).toBe(true);
  });
});
