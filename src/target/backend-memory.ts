import * as fs from "node:fs";
import { DEFAULT_TMPFS_DIR, openUnlinkedTmpfsFile, preadFully, pwriteFully } from "./backend-tmpfs.js";
import { type LunBackend, NoSpaceError } from "./lun-backend.js";

/**
 * Bytes per accounting chunk: `allocatedBytes()` counts the chunks holding at least one mapped
 * (written, not since unmapped) block.
 */
export const CHUNK_SIZE = 64 * 1024;

/**
 * Bytes per region: the unit of bookkeeping (one `mapped` map per region, made on the first write
 * into it, so a 1 TiB LUN costs nothing until written) and, in the slab store, of allocation: one
 * zero-filled ArrayBuffer per region. Large on purpose: above glibc's largest mmap threshold
 * (32 MiB on 64-bit), so every slab is its own anonymous mapping, whose pages the kernel supplies
 * zeroed on first touch, and a 1 GiB LUN is 16 ArrayBuffers, not 16,384.
 */
export const SLAB_SIZE = 64 * 1024 * 1024;

/**
 * Where the bytes live. "tmpfs": an unlinked sparse file on a tmpfs, read and written with
 * pread/pwrite; the kernel allocates a page on the first write into a hole without a user page
 * fault, so a cold LUN writes as fast as a warm one. "slabs": anonymous memory, where every first
 * write into a page takes a page fault on the target's thread (13-29 us in a PVM guest, against
 * about 5 us for a whole 4 KiB pwrite to tmpfs): the fallback when no tmpfs is usable.
 */
export type MemoryStore = "tmpfs" | "slabs";

export interface MemoryBackendOptions {
  /**
   * "auto" (the default): tmpfs when usable and it has room for the whole LUN, else slabs.
   * "tmpfs": a tmpfs even with less room (writes beyond it fail as no-space); throws when unusable.
   */
  store?: "auto" | MemoryStore;
  /** The tmpfs directory (default /dev/shm). */
  tmpfsDir?: string;
}

/**
 * A sparse store with a per-block map: a block is mapped once written and until unmapped, and a
 * read of unmapped blocks returns zeros without touching the store (a shared zero buffer when the
 * whole range is unmapped: no copy, no syscall). Slab store: reads inside one slab return a view
 * of it. Tmpfs store: reads of mapped blocks are one pread into a fresh Buffer (never a reused one:
 * the target sends it zero-copy), writes one pwrite straight from the caller's Buffer.
 */
export interface MemoryBackend extends LunBackend {
  readonly kind: "memory";
  readonly store: MemoryStore;
  /** For the target's log, e.g. "memory LUN 1 GiB (tmpfs)" or "(slabs: /dev/shm is not a tmpfs)". */
  readonly description: string;
  /** Bytes of the chunks that hold mapped blocks (tests, statistics). */
  allocatedBytes(): number;
}

interface Region {
  /** One byte per block: 1 = mapped. Slab store invariant: an unmapped block's bytes are all zero. */
  mapped: Uint8Array;
  /** Mapped blocks per chunk of this region. */
  chunkBlocks: Uint16Array;
  /** Mapped blocks in the whole region: at 0 the region is dropped (a slab's memory returned). */
  blocks: number;
  /** Slab store: the region's bytes. Tmpfs store: null (the bytes are in the file). */
  data: Buffer | null;
}

/** Shared, never written: what reads of unmapped ranges return; grown on demand. */
let zeroSpan = Buffer.alloc(CHUNK_SIZE);

function zeros(length: number): Buffer {
  if (zeroSpan.length < length) {
    let size = zeroSpan.length;
    while (size < length) size *= 2;
    zeroSpan = Buffer.alloc(size);
  }
  return zeroSpan.subarray(0, length);
}

/** Closes the file of a backend dropped without close() (tests, a failed start-up). */
const unclosed = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing to do: the process is the only other owner
  }
});

function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/**
 * The store a memory LUN gets: the tmpfs file (fd >= 0) when asked for or usable, else slabs
 * (fd -1), and the description that says which and why.
 */
function chooseStore(
  sizeBytes: number,
  options: MemoryBackendOptions,
): { fd: number; store: MemoryStore; description: string } {
  const want = options.store ?? "auto";
  let fd = -1;
  let fallbackReason = "";
  if (want !== "slabs") {
    const dir = options.tmpfsDir ?? DEFAULT_TMPFS_DIR;
    // "auto" takes the tmpfs only when it can hold the whole LUN; "tmpfs" takes it thin
    const file = openUnlinkedTmpfsFile(dir, sizeBytes, want === "auto");
    if (typeof file === "string") {
      if (want === "tmpfs") throw new Error(`memory LUN: no tmpfs store: ${file}`);
      fallbackReason = file;
    } else {
      fd = file.fd;
    }
  }
  const store: MemoryStore = fd >= 0 ? "tmpfs" : "slabs";
  const why = fallbackReason === "" ? "" : `: ${fallbackReason}`;
  return { fd, store, description: `memory LUN ${formatSize(sizeBytes)} (${store}${why})` };
}

export function createMemoryBackend(
  sizeBytes: number,
  blockSize: number,
  options: MemoryBackendOptions = {},
): MemoryBackend {
  if (CHUNK_SIZE % blockSize !== 0) throw new RangeError("blockSize must divide the chunk size");
  const blocksPerChunk = CHUNK_SIZE / blockSize;
  const regionCount = Math.ceil(sizeBytes / SLAB_SIZE);
  const regions: Array<Region | undefined> = new Array(regionCount).fill(undefined);
  let chunksInUse = 0;
  let closed = false;

  const { fd, store, description } = chooseStore(sizeBytes, options);
  const tmpfs = fd >= 0;

  function ensureOpen(): void {
    if (closed) throw new Error("memory LUN: the store is closed");
  }

  /** The region `index`, made on the first write into it. */
  function regionFor(index: number): Region {
    let r = regions[index];
    if (r === undefined) {
      // The last region is cut to the LUN's end; ArrayBuffers are zero-filled (calloc: mmap'd
      // zero pages for a full slab, so nothing is touched here).
      const bytes = Math.min(SLAB_SIZE, sizeBytes - index * SLAB_SIZE);
      const blocks = Math.ceil(bytes / blockSize);
      let data: Buffer | null = null;
      if (!tmpfs) {
        try {
          data = Buffer.alloc(bytes);
        } catch (err) {
          throw new NoSpaceError(`memory LUN: no memory for a ${formatSize(bytes)} slab`, { cause: err });
        }
      }
      r = {
        mapped: new Uint8Array(blocks),
        chunkBlocks: new Uint16Array(Math.ceil(blocks / blocksPerChunk)),
        blocks: 0,
        data,
      };
      regions[index] = r;
    }
    return r;
  }

  /**
   * Copies bytes [pos, pos + n) of the LUN, all inside region `i`, into out[at..]: zeros for the
   * unmapped blocks, and (tmpfs store) one pread from the first mapped block to the last, whose
   * unmapped blocks in between are zeroed afterwards: the file keeps the stale bytes of unmapped
   * blocks. The map is scanned in JavaScript over [b0, b1) only (indexOf would run on past the
   * range, through a whole region of 131,072 entries at 512-byte blocks).
   */
  function readInto(out: Buffer, at: number, pos: number, n: number): void {
    const i = Math.floor(pos / SLAB_SIZE);
    const base = i * SLAB_SIZE;
    const r = regions[i];
    if (r === undefined) {
      out.fill(0, at, at + n);
      return;
    }
    if (r.data !== null) {
      r.data.copy(out, at, pos - base, pos - base + n);
      return;
    }
    const m = r.mapped;
    const b0 = (pos - base) / blockSize;
    const b1 = b0 + n / blockSize;
    let first = -1;
    let last = -1;
    for (let b = b0; b < b1; b++) {
      if (m[b] !== 0) {
        if (first < 0) first = b;
        last = b;
      }
    }
    if (first < 0) {
      out.fill(0, at, at + n);
      return;
    }
    const from = at + (first - b0) * blockSize;
    const to = at + (last + 1 - b0) * blockSize;
    out.fill(0, at, from);
    preadFully(fd, out, from, to - from, base + first * blockSize);
    out.fill(0, to, at + n);
    for (let b = first + 1; b < last; b++) {
      if (m[b] === 0) out.fill(0, at + (b - b0) * blockSize, at + (b + 1 - b0) * blockSize);
    }
  }

  /** Whether any block of [b0, b1) of `r` is mapped. */
  function anyMapped(r: Region, b0: number, b1: number): boolean {
    const m = r.mapped;
    for (let b = b0; b < b1; b++) if (m[b] !== 0) return true;
    return false;
  }

  function read(offset: number, length: number): Buffer {
    ensureOpen();
    const index = Math.floor(offset / SLAB_SIZE);
    const within = offset - index * SLAB_SIZE;
    if (within + length <= SLAB_SIZE) {
      const r = regions[index];
      if (r === undefined) return zeros(length);
      if (r.data !== null) return r.data.subarray(within, within + length);
      const b0 = within / blockSize;
      if (!anyMapped(r, b0, b0 + length / blockSize)) return zeros(length);
    }
    // a fresh Buffer: the caller may hold it until the socket has sent it (zero-copy writev)
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const n = Math.min(SLAB_SIZE - (pos % SLAB_SIZE), length - done);
      readInto(out, done, pos, n);
      done += n;
    }
    return out;
  }

  /** Marks blocks [first, end) of `r` mapped, keeping the chunk counts. */
  function markMapped(r: Region, first: number, end: number): void {
    const mapped = r.mapped;
    for (let b = first; b < end; b++) {
      if (mapped[b] !== 0) continue;
      mapped[b] = 1;
      r.blocks++;
      const c = (b / blocksPerChunk) | 0;
      if (r.chunkBlocks[c]++ === 0) chunksInUse++;
    }
  }

  function write(offset: number, data: Buffer): void {
    ensureOpen();
    const length = data.length;
    if (tmpfs) pwriteFully(fd, data, offset); // one syscall, whatever regions it spans
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const n = Math.min(SLAB_SIZE - w, length - done);
      const r = regionFor(i);
      if (r.data !== null) data.copy(r.data, w, done, done + n);
      markMapped(r, w / blockSize, (w + n) / blockSize);
      done += n;
    }
  }

  /**
   * Unmaps blocks [first, end) of region `i` and drops the region when nothing in it is mapped any
   * more. Slab store: zeroes only the runs that were mapped (unmapped bytes are zero already, and
   * untouched pages stay untouched). Tmpfs store: only the map changes; the file keeps the blocks'
   * bytes and their tmpfs pages (Node has no fallocate(PUNCH_HOLE)), but an unmapped block is
   * never read from the file again, and a later write into it reuses its page.
   */
  function unmapInRegion(i: number, first: number, end: number): void {
    const r = regions[i];
    if (r === undefined) return;
    const mapped = r.mapped;
    let b = mapped.indexOf(1, first);
    while (b !== -1 && b < end) {
      let e = mapped.indexOf(0, b);
      if (e === -1 || e > end) e = end;
      for (let k = b; k < e; k++) {
        mapped[k] = 0;
        const c = (k / blocksPerChunk) | 0;
        if (--r.chunkBlocks[c]! === 0) chunksInUse--;
      }
      r.blocks -= e - b;
      if (r.blocks === 0) {
        regions[i] = undefined; // nothing mapped: a slab goes back whole, no need to zero it
        return;
      }
      r.data?.fill(0, b * blockSize, e * blockSize);
      b = e < end ? mapped.indexOf(1, e) : -1;
    }
  }

  function unmap(offset: number, length: number): void {
    ensureOpen();
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const n = Math.min(SLAB_SIZE - w, length - done);
      unmapInRegion(i, w / blockSize, (w + n) / blockSize);
      done += n;
    }
  }

  function isMapped(pos: number): boolean {
    const i = Math.floor(pos / SLAB_SIZE);
    const r = regions[i];
    return r !== undefined && r.mapped[(pos - i * SLAB_SIZE) / blockSize] === 1;
  }

  function extent(offset: number, maxLength: number): { mapped: boolean; length: number } {
    ensureOpen();
    const mapped = isMapped(offset);
    let length = 0;
    while (length < maxLength) {
      const pos = offset + length;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const regionBytes = Math.min(SLAB_SIZE, sizeBytes - i * SLAB_SIZE);
      if (regionBytes <= w) break; // the end of the LUN
      const r = regions[i];
      if (r === undefined) {
        if (mapped) break;
        length += regionBytes - w;
        continue;
      }
      const other = r.mapped.indexOf(mapped ? 0 : 1, w / blockSize);
      if (other === -1) {
        length += regionBytes - w;
        continue;
      }
      length += other * blockSize - w;
      break;
    }
    return { mapped, length: Math.min(length, maxLength) };
  }

  const backend: MemoryBackend = {
    kind: "memory",
    store,
    description,
    sizeBytes,
    read,
    write,
    unmap,
    extent,
    allocatedBytes: () => chunksInUse * CHUNK_SIZE,
    // nothing to make durable: a memory LUN lives as long as the process (a tmpfs file too:
    // it is unlinked, so it goes with the descriptor)
    flush: () => (closed ? Promise.reject(new Error("memory LUN: the store is closed")) : Promise.resolve()),
    close: () => {
      if (!closed) {
        closed = true;
        regions.fill(undefined);
        chunksInUse = 0;
        if (tmpfs) {
          unclosed.unregister(backend);
          fs.closeSync(fd); // the last reference to the unlinked file: its pages are freed
        }
      }
      return Promise.resolve();
    },
  };
  if (tmpfs) unclosed.register(backend, fd, backend);
  return backend;
}
