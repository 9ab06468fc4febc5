import * as fs from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CHUNK_SIZE,
  createMemoryBackend,
  type MemoryBackend,
  type MemoryStore,
  SLAB_SIZE,
} from "../../src/target/backend-memory.js";
import { dispatch } from "../../src/target/logical-unit.js";
import { createLuState } from "../../src/target/lu-state.js";
import { isNoSpace, NoSpaceError } from "../../src/target/lun-backend.js";
import { ctx, nexus, pattern, senseOf } from "./lu-helpers.js";

// writeSync is wrapped so that a test can make one write fail as a full tmpfs would; by default
// it is the real one
const real = vi.hoisted(() => ({ writeSync: null as unknown as typeof import("node:fs").writeSync }));
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  real.writeSync = actual.writeSync;
  return { ...actual, writeSync: vi.fn(actual.writeSync) };
});

const MiB = 1024 * 1024;
const SHM = "/dev/shm";
const OUR_FILES = `iscsi-bench-lun-${process.pid}-`;

afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(fs.writeSync).mockReset().mockImplementation(real.writeSync);
});

function tmpfsUsable(): boolean {
  try {
    return fs.statfsSync(SHM).type === 0x01021994;
  } catch {
    return false;
  }
}

/**
 * The tmpfs tests need a tmpfs at /dev/shm, as the interop tests need their peers: without one
 * they are skipped locally, but under CI=true they run and fail.
 */
const NO_TMPFS = !tmpfsUsable() && process.env.CI !== "true";

/** Files of this process in /dev/shm (there should never be any: they are unlinked at once). */
function filesLeft(): string[] {
  return fs.readdirSync(SHM).filter((n) => n.startsWith(OUR_FILES));
}

/** Descriptors of this process open on one of its (unlinked) LUN files. */
function openLunFiles(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used
    }
    if (target.includes(`/${OUR_FILES}`)) out.push(target);
  }
  return out;
}

const ENOSPC = (): NodeJS.ErrnoException =>
  Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 });

/** Makes the next allocation of the store fail as a full tmpfs (or memory that is not there) would. */
/** Buffer.alloc itself, for the spies below (a spy layered on a spy would call itself). */
const realAlloc = Buffer.alloc.bind(Buffer);

function failNextAllocation(store: MemoryStore): void {
  if (store === "tmpfs") {
    vi.mocked(fs.writeSync).mockImplementationOnce(() => {
      throw ENOSPC();
    });
  } else {
    // the next slab (a region's worth, not the test's own small buffers) cannot be had
    let failed = false;
    vi.spyOn(Buffer, "alloc").mockImplementation((size, fill, encoding) => {
      if (size < MiB || failed) return realAlloc(size, fill, encoding);
      failed = true;
      throw new RangeError("Array buffer allocation failed");
    });
  }
}

const STORES: MemoryStore[] = ["tmpfs", "slabs"];

describe.each(STORES)("memory backend, %s store: the same behaviour", (store) => {
  const open = (size: number, bs: number): MemoryBackend => {
    const be = createMemoryBackend(size, bs, { store });
    expect(be.store).toBe(store);
    expect(be.kind).toBe("memory");
    return be;
  };
  const skip = store === "tmpfs" && NO_TMPFS;

  it.skipIf(skip)(
    "reads back what was written, across a region boundary too; unwritten blocks read as zeros",
    () => {
      const be = open(3 * SLAB_SIZE, 512);
      expect(be.read(0, 4096).equals(Buffer.alloc(4096))).toBe(true);
      const at = SLAB_SIZE - 8192;
      const data = pattern(16384, 3);
      be.write(at, data);
      expect(be.read(at, 16384).equals(data)).toBe(true);
      expect(be.read(at - 512, 512).equals(Buffer.alloc(512))).toBe(true);
      expect(be.read(SLAB_SIZE, 8192).equals(data.subarray(8192))).toBe(true);
      expect(
        be
          .read(at - 1024, 16384 + 2048)
          .equals(Buffer.concat([Buffer.alloc(1024), data, Buffer.alloc(1024)])),
      ).toBe(true);
      // two chunks on each side hold mapped blocks: 64 KiB accounting, not the regions
      expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
      expect(be.extent(at - 1024, 1 << 20)).toEqual({ mapped: false, length: 1024 });
      expect(be.extent(at, 1 << 20)).toEqual({ mapped: true, length: 16384 });
      expect(be.extent(at + 16384, 1 << 20)).toEqual({ mapped: false, length: 1 << 20 });
      void be.close();
    },
  );

  it.skipIf(skip)("unmap: the blocks read as zeros (mixed ranges too), a rewrite maps them again", () => {
    const be = open(2 * SLAB_SIZE, 4096);
    const six = pattern(6 * 4096, 5);
    be.write(0, six);
    be.write(SLAB_SIZE + 4096, pattern(4096, 6));
    // blocks 1, 3 and 5 unmapped: the store may still hold their old bytes, reads must not show them
    be.unmap(4096, 4096);
    be.unmap(3 * 4096, 4096);
    be.unmap(5 * 4096, 4096);
    const expected = Buffer.from(six);
    for (const b of [1, 3, 5]) expected.fill(0, b * 4096, (b + 1) * 4096);
    expect(be.read(0, 6 * 4096).equals(expected)).toBe(true);
    expect(be.read(4096, 3 * 4096).equals(expected.subarray(4096, 4 * 4096))).toBe(true);
    expect(be.read(3 * 4096, 4096).equals(Buffer.alloc(4096))).toBe(true);
    expect(be.extent(0, 6 * 4096)).toEqual({ mapped: true, length: 4096 });
    expect(be.extent(4096, 6 * 4096)).toEqual({ mapped: false, length: 4096 });
    expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
    be.write(3 * 4096, pattern(4096, 7));
    expect(be.read(3 * 4096, 4096).equals(pattern(4096, 7))).toBe(true);
    expect(be.extent(2 * 4096, 6 * 4096)).toEqual({ mapped: true, length: 3 * 4096 }); // blocks 2-4
    be.unmap(0, 2 * SLAB_SIZE);
    expect(be.allocatedBytes()).toBe(0);
    expect(be.read(0, 6 * 4096).equals(Buffer.alloc(6 * 4096))).toBe(true);
    expect(be.read(SLAB_SIZE + 4096, 4096).equals(Buffer.alloc(4096))).toBe(true);
    expect(be.extent(0, 2 * SLAB_SIZE)).toEqual({ mapped: false, length: 2 * SLAB_SIZE });
    void be.close();
  });

  it.skipIf(skip)("the last region is cut at the LUN's end and extents stop there", () => {
    const size = SLAB_SIZE + 5 * 4096;
    const be = open(size, 4096);
    be.write(size - 4096, pattern(4096, 8));
    expect(be.read(size - 8192, 8192).equals(Buffer.concat([Buffer.alloc(4096), pattern(4096, 8)]))).toBe(
      true,
    );
    expect(be.extent(SLAB_SIZE, 1 << 30)).toEqual({ mapped: false, length: 4 * 4096 });
    expect(be.extent(size - 4096, 1 << 30)).toEqual({ mapped: true, length: 4096 });
    void be.close();
  });

  it.skipIf(skip)("repeated writes of the same range count each block once", () => {
    const be = open(SLAB_SIZE, 512);
    for (let i = 0; i < 10; i++) be.write(CHUNK_SIZE - 512, pattern(1024, i));
    expect(be.read(CHUNK_SIZE - 512, 1024).equals(pattern(1024, 9))).toBe(true);
    expect(be.allocatedBytes()).toBe(2 * CHUNK_SIZE);
    be.unmap(CHUNK_SIZE - 512, 512);
    expect(be.allocatedBytes()).toBe(CHUNK_SIZE);
    be.unmap(CHUNK_SIZE, 512);
    expect(be.allocatedBytes()).toBe(0);
    void be.close();
  });

  it.skipIf(skip)(
    "a write with no room fails with the no-space error, leaves nothing mapped, and the next one succeeds",
    () => {
      const be = open(SLAB_SIZE * 2, 512);
      be.write(0, pattern(4096, 1));
      failNextAllocation(store);
      let thrown: unknown = null;
      try {
        be.write(SLAB_SIZE, pattern(4096, 2)); // the first write into the second region
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(NoSpaceError);
      expect(isNoSpace(thrown)).toBe(true);
      expect(be.read(SLAB_SIZE, 4096).equals(Buffer.alloc(4096))).toBe(true);
      expect(be.extent(SLAB_SIZE, 4096)).toEqual({ mapped: false, length: 4096 });
      expect(be.allocatedBytes()).toBe(CHUNK_SIZE);
      be.write(SLAB_SIZE, pattern(4096, 3));
      expect(be.read(SLAB_SIZE, 4096).equals(pattern(4096, 3))).toBe(true);
      expect(be.read(0, 4096).equals(pattern(4096, 1))).toBe(true);
      void be.close();
    },
  );

  it.skipIf(skip)(
    "WRITE on a store with no room: CHECK CONDITION, DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT",
    async () => {
      const be = open(MiB, 512);
      const lu = createLuState(0, be, ctx(512), false);
      /** `cdb` with `dataOut` while the store has no room: CHECK CONDITION, 7/27/07. */
      const refused = async (cdb: Buffer, dataOut: Buffer) => {
        failNextAllocation(store);
        const out = await dispatch(lu, { cdb, dataOut, expectedDataInLength: 0, nexus: nexus(1) });
        expect(out.status).toBe(2);
        expect(senseOf(out)).toEqual([0x07, 0x27, 0x07]);
      };
      // WRITE SAME with a pattern allocates too (tried first: nothing is allocated yet)
      await refused(Buffer.from([0x41, 0, 0, 0, 0, 64, 0, 0, 8, 0]), pattern(512, 5));
      const write10 = Buffer.from([0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0]);
      await refused(write10, pattern(4096, 4));
      // nothing was lost silently: the blocks read as they were (zeros), and a retry lands
      const read10 = Buffer.from([0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0]);
      const cmd = { cdb: read10, dataOut: null, expectedDataInLength: 4096, nexus: nexus(1) };
      expect((await dispatch(lu, cmd)).dataIn!.equals(Buffer.alloc(4096))).toBe(true);
      expect((await dispatch(lu, { ...cmd, cdb: write10, dataOut: pattern(4096, 4) })).status).toBe(0);
      expect((await dispatch(lu, cmd)).dataIn!.equals(pattern(4096, 4))).toBe(true);
      void be.close();
    },
  );

  it.skipIf(skip)(
    "close releases the store: every later call is an error, close itself can repeat",
    async () => {
      const be = open(MiB, 512);
      be.write(0, pattern(4096, 1));
      await be.close();
      expect(() => be.read(0, 512)).toThrow(/closed/);
      expect(() => be.write(0, pattern(512, 1))).toThrow(/closed/);
      expect(() => be.unmap(0, 512)).toThrow(/closed/);
      expect(() => be.extent(0, 512)).toThrow(/closed/);
      await expect(be.flush()).rejects.toThrow(/closed/);
      await be.close();
      expect(be.allocatedBytes()).toBe(0);
    },
  );
});

describe.skipIf(NO_TMPFS)("memory backend, tmpfs store: the file", () => {
  it("is the default where /dev/shm is a tmpfs, and says so", () => {
    const be = createMemoryBackend(1024 * MiB, 512);
    expect(be.store).toBe("tmpfs");
    expect(be.description).toBe("memory LUN 1 GiB (tmpfs)");
    void be.close();
  });

  it("leaves no file behind, open or closed; its descriptor goes with close()", async () => {
    const before = openLunFiles().length;
    const be = createMemoryBackend(64 * MiB, 512, { store: "tmpfs" });
    expect(filesLeft()).toEqual([]); // unlinked at once: a crash leaves nothing either
    const open = openLunFiles();
    expect(open.length).toBe(before + 1);
    expect(open.at(-1)).toMatch(/ \(deleted\)$/);
    be.write(0, pattern(8192, 1));
    await be.close();
    expect(openLunFiles().length).toBe(before);
    expect(filesLeft()).toEqual([]);
  });

  it("a read of written blocks is a fresh Buffer each time, untouched by later writes", () => {
    const be = createMemoryBackend(MiB, 512, { store: "tmpfs" });
    be.write(4096, pattern(4096, 1));
    const a = be.read(4096, 4096);
    const b = be.read(4096, 4096);
    expect(a.buffer).not.toBe(b.buffer);
    be.write(4096, pattern(4096, 2));
    expect(a.equals(pattern(4096, 1))).toBe(true);
    expect(be.read(4096, 4096).equals(pattern(4096, 2))).toBe(true);
    void be.close();
  });

  it("a 1 TiB LUN costs nothing until written", () => {
    const be = createMemoryBackend(2 ** 40, 4096, { store: "tmpfs" });
    be.write(2 ** 40 - 4096, pattern(4096, 9));
    expect(be.read(2 ** 40 - 8192, 8192).equals(Buffer.concat([Buffer.alloc(4096), pattern(4096, 9)]))).toBe(
      true,
    );
    expect(be.allocatedBytes()).toBe(CHUNK_SIZE);
    void be.close();
  });
});

describe("memory backend: the choice of store", () => {
  it("falls back to slabs, saying why, when the directory is missing or not a tmpfs", () => {
    const missing = createMemoryBackend(MiB, 512, { tmpfsDir: "/nonexistent-iscsi-bench" });
    expect(missing.store).toBe("slabs");
    expect(missing.description).toBe("memory LUN 1 MiB (slabs: /nonexistent-iscsi-bench: ENOENT)");
    const dir = process.cwd();
    if (fs.statfsSync(dir).type !== 0x01021994) {
      const notTmpfs = createMemoryBackend(MiB, 512, { tmpfsDir: dir });
      expect(notTmpfs.description).toBe(`memory LUN 1 MiB (slabs: ${dir} is not a tmpfs)`);
    }
    expect(() =>
      createMemoryBackend(MiB, 512, { store: "tmpfs", tmpfsDir: "/nonexistent-iscsi-bench" }),
    ).toThrow(/no tmpfs store/);
  });

  it.skipIf(NO_TMPFS)("takes the tmpfs only when it has room for the whole LUN, unless told to", () => {
    const huge = 2 ** 44; // 16 TiB: more than any /dev/shm here
    const auto = createMemoryBackend(huge, 4096);
    expect(auto.store).toBe("slabs");
    expect(auto.description).toMatch(
      /^memory LUN 16 TiB \(slabs: \/dev\/shm has \d+ MiB free, less than the LUN\)$/,
    );
    const thin = createMemoryBackend(huge, 4096, { store: "tmpfs" });
    expect(thin.store).toBe("tmpfs");
    void thin.close();
  });

  it.skipIf(NO_TMPFS)(
    "falls back to slabs when the tmpfs refuses the probe write (full), leaving no file",
    () => {
      vi.mocked(fs.writeSync).mockImplementationOnce(() => {
        throw ENOSPC();
      });
      const before = openLunFiles().length;
      const be = createMemoryBackend(MiB, 512);
      expect(be.description).toBe("memory LUN 1 MiB (slabs: /dev/shm: ENOSPC)");
      expect(filesLeft()).toEqual([]);
      expect(openLunFiles().length).toBe(before);
      be.write(0, pattern(512, 1));
      expect(be.read(0, 512).equals(pattern(512, 1))).toBe(true);
    },
  );
});

describe("memory backend, slab store", () => {
  it("a read inside one slab is a view of it, not a copy", () => {
    const be = createMemoryBackend(SLAB_SIZE, 512, { store: "slabs" });
    be.write(CHUNK_SIZE * 3 + 512, pattern(1024, 1));
    const a = be.read(CHUNK_SIZE * 3 + 512, 1024);
    expect(a.buffer).toBe(be.read(CHUNK_SIZE * 3 + 512, 1024).buffer);
    expect(a.equals(pattern(1024, 1))).toBe(true);
  });

  it("a 1 GiB LUN written in every slab costs pages, not the LUN, in resident memory", () => {
    const rssBefore = process.memoryUsage().rss;
    const be = createMemoryBackend(1024 * MiB, 512, { store: "slabs" });
    // one 4 KiB write in each of the 16 slabs, and reads of untouched ranges of those slabs
    for (let s = 0; s < 1024 / 64; s++) be.write(s * SLAB_SIZE + 12288, pattern(4096, s));
    for (let s = 0; s < 1024 / 64; s++) expect(be.read(s * SLAB_SIZE + MiB, 4096)[0]).toBe(0);
    const grown = process.memoryUsage().rss - rssBefore;
    expect(grown).toBeLessThan(64 * MiB); // the slabs are 1 GiB of address space
    for (let s = 0; s < 1024 / 64; s++)
      expect(be.read(s * SLAB_SIZE + 12288, 4096).equals(pattern(4096, s))).toBe(true);
  });
});
