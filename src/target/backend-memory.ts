import type { LunBackend } from "./lun-backend.js";

/**
 * Bytes per accounting chunk: `allocatedBytes()` counts the chunks holding at least one mapped
 * (written, not since unmapped) block.
 */
export const CHUNK_SIZE = 64 * 1024;

/**
 * Bytes per slab: the unit of real allocation, one zero-filled ArrayBuffer reserved on the first
 * write into its range. Large on purpose: above glibc's largest mmap threshold (32 MiB on 64-bit),
 * so every slab is its own anonymous mapping, whose pages the kernel supplies zeroed on first
 * touch. An untouched page costs no memory, a first write costs one page fault, not an allocation,
 * and a 1 GiB LUN is 16 ArrayBuffers, not 16,384.
 */
export const SLAB_SIZE = 64 * 1024 * 1024;

interface Slab {
  data: Buffer;
  /** One byte per block: 1 = mapped. Invariant: an unmapped block's bytes are all zero. */
  mapped: Uint8Array;
  /** Mapped blocks per chunk of this slab. */
  chunkBlocks: Uint16Array;
  /** Mapped blocks in the whole slab: at 0 the slab is dropped (its memory returned). */
  blocks: number;
}

/** Shared, never written: what reads of unallocated slabs return; grown on demand. */
let zeroSpan = Buffer.alloc(CHUNK_SIZE);

function zeros(length: number): Buffer {
  if (zeroSpan.length < length) {
    let size = zeroSpan.length;
    while (size < length) size *= 2;
    zeroSpan = Buffer.alloc(size);
  }
  return zeroSpan.subarray(0, length);
}

/**
 * A sparse in-memory store: a 1 TiB LUN costs nothing until written. Reads inside one slab return
 * a view (of the slab, or of the shared zero buffer); reads spanning slabs copy. Writes copy the
 * payload into the slab once; no allocation on the write path after a slab exists.
 */
export interface MemoryBackend extends LunBackend {
  /** Bytes of the chunks that hold mapped blocks (tests, statistics). */
  allocatedBytes(): number;
}

export function createMemoryBackend(sizeBytes: number, blockSize: number): MemoryBackend {
  if (CHUNK_SIZE % blockSize !== 0) throw new RangeError("blockSize must divide the chunk size");
  const blocksPerChunk = CHUNK_SIZE / blockSize;
  const slabCount = Math.ceil(sizeBytes / SLAB_SIZE);
  const slabs: Array<Slab | undefined> = new Array(slabCount).fill(undefined);
  let chunksInUse = 0;
  let closed = false;

  function slabFor(index: number): Slab {
    let s = slabs[index];
    if (s === undefined) {
      // The last slab is cut to the LUN's end; ArrayBuffers are zero-filled (calloc: mmap'd
      // zero pages for a full slab, so nothing is touched here).
      const bytes = Math.min(SLAB_SIZE, sizeBytes - index * SLAB_SIZE);
      const blocks = Math.ceil(bytes / blockSize);
      s = {
        data: Buffer.from(new ArrayBuffer(bytes)),
        mapped: new Uint8Array(blocks),
        chunkBlocks: new Uint16Array(Math.ceil(blocks / blocksPerChunk)),
        blocks: 0,
      };
      slabs[index] = s;
    }
    return s;
  }

  function read(offset: number, length: number): Buffer {
    const index = Math.floor(offset / SLAB_SIZE);
    const within = offset - index * SLAB_SIZE;
    if (within + length <= SLAB_SIZE) {
      const s = slabs[index];
      return s === undefined ? zeros(length) : s.data.subarray(within, within + length);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const n = Math.min(SLAB_SIZE - w, length - done);
      const s = slabs[i];
      if (s === undefined) out.fill(0, done, done + n);
      else s.data.copy(out, done, w, w + n);
      done += n;
    }
    return out;
  }

  /** Marks blocks [first, end) of `s` mapped, keeping the chunk counts. */
  function markMapped(s: Slab, first: number, end: number): void {
    const mapped = s.mapped;
    for (let b = first; b < end; b++) {
      if (mapped[b] !== 0) continue;
      mapped[b] = 1;
      s.blocks++;
      const c = (b / blocksPerChunk) | 0;
      if (s.chunkBlocks[c]++ === 0) chunksInUse++;
    }
  }

  function write(offset: number, data: Buffer): void {
    let done = 0;
    const length = data.length;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const n = Math.min(SLAB_SIZE - w, length - done);
      const s = slabFor(i);
      data.copy(s.data, w, done, done + n);
      markMapped(s, w / blockSize, (w + n) / blockSize);
      done += n;
    }
  }

  /**
   * Unmaps blocks [first, end) of slab `i`: zeroes only the runs that were mapped (unmapped
   * bytes are zero already, and untouched pages stay untouched), and drops the slab when
   * nothing in it is mapped any more.
   */
  function unmapInSlab(i: number, first: number, end: number): void {
    const s = slabs[i];
    if (s === undefined) return;
    const mapped = s.mapped;
    let b = mapped.indexOf(1, first);
    while (b !== -1 && b < end) {
      let e = mapped.indexOf(0, b);
      if (e === -1 || e > end) e = end;
      for (let k = b; k < e; k++) {
        mapped[k] = 0;
        const c = (k / blocksPerChunk) | 0;
        if (--s.chunkBlocks[c]! === 0) chunksInUse--;
      }
      s.blocks -= e - b;
      if (s.blocks === 0) {
        slabs[i] = undefined; // nothing mapped: the whole slab goes back, no need to zero it
        return;
      }
      s.data.fill(0, b * blockSize, e * blockSize);
      b = e < end ? mapped.indexOf(1, e) : -1;
    }
  }

  function unmap(offset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const n = Math.min(SLAB_SIZE - w, length - done);
      unmapInSlab(i, w / blockSize, (w + n) / blockSize);
      done += n;
    }
  }

  function isMapped(pos: number): boolean {
    const i = Math.floor(pos / SLAB_SIZE);
    const s = slabs[i];
    return s !== undefined && s.mapped[(pos - i * SLAB_SIZE) / blockSize] === 1;
  }

  function extent(offset: number, maxLength: number): { mapped: boolean; length: number } {
    const mapped = isMapped(offset);
    let length = 0;
    while (length < maxLength) {
      const pos = offset + length;
      const i = Math.floor(pos / SLAB_SIZE);
      const w = pos - i * SLAB_SIZE;
      const slabBytes = Math.min(SLAB_SIZE, sizeBytes - i * SLAB_SIZE);
      if (slabBytes <= w) break; // the end of the LUN
      const s = slabs[i];
      if (s === undefined) {
        if (mapped) break;
        length += slabBytes - w;
        continue;
      }
      const other = s.mapped.indexOf(mapped ? 0 : 1, w / blockSize);
      if (other === -1) {
        length += slabBytes - w;
        continue;
      }
      length += other * blockSize - w;
      break;
    }
    return { mapped, length: Math.min(length, maxLength) };
  }

  return {
    kind: "memory",
    sizeBytes,
    read,
    write,
    unmap,
    extent,
    allocatedBytes: () => chunksInUse * CHUNK_SIZE,
    flush: () => Promise.resolve(),
    close: () => {
      if (!closed) {
        closed = true;
        slabs.fill(undefined);
        chunksInUse = 0;
      }
      return Promise.resolve();
    },
  };
}
