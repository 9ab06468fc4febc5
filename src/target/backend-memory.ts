import type { LunBackend } from "./lun-backend.js";

/** Bytes per chunk: allocated on first write, freed when every block in it is unmapped. */
export const CHUNK_SIZE = 64 * 1024;

interface Chunk {
  data: Buffer;
  /** One byte per block: 1 = mapped (written since the last unmap). */
  mapped: Uint8Array;
}

/** Shared, never written: what unallocated chunks read as. */
const ZERO_CHUNK = Buffer.alloc(CHUNK_SIZE);
/** A larger shared zero buffer for reads that span only unallocated chunks; grown on demand. */
let zeroSpan = ZERO_CHUNK;

function zeros(length: number): Buffer {
  if (zeroSpan.length < length) {
    let size = zeroSpan.length;
    while (size < length) size *= 2;
    zeroSpan = Buffer.alloc(size);
  }
  return zeroSpan.subarray(0, length);
}

/**
 * A sparse in-memory store: a 1 TiB LUN costs nothing until written. Reads inside one chunk
 * return a view (of the chunk, or of the shared zero buffer); reads spanning chunks copy.
 */
export interface MemoryBackend extends LunBackend {
  /** Bytes currently held by allocated chunks (tests, statistics). */
  allocatedBytes(): number;
}

export function createMemoryBackend(sizeBytes: number, blockSize: number): MemoryBackend {
  if (CHUNK_SIZE % blockSize !== 0) throw new RangeError("blockSize must divide the chunk size");
  const blocksPerChunk = CHUNK_SIZE / blockSize;
  const chunks = new Map<number, Chunk>();
  let closed = false;

  function chunkFor(index: number): Chunk {
    let c = chunks.get(index);
    if (c === undefined) {
      c = { data: Buffer.alloc(CHUNK_SIZE), mapped: new Uint8Array(blocksPerChunk) };
      chunks.set(index, c);
    }
    return c;
  }

  function read(offset: number, length: number): Buffer {
    const index = Math.floor(offset / CHUNK_SIZE);
    const within = offset - index * CHUNK_SIZE;
    if (within + length <= CHUNK_SIZE) {
      const c = chunks.get(index);
      return (c === undefined ? ZERO_CHUNK : c.data).subarray(within, within + length);
    }
    const last = Math.floor((offset + length - 1) / CHUNK_SIZE);
    let anyAllocated = false;
    for (let i = index; i <= last && !anyAllocated; i++) anyAllocated = chunks.has(i);
    // Never written: a view of shared zeros, no allocation and no fill (the hot path of a
    // read benchmark on a fresh LUN).
    if (!anyAllocated) return zeros(length);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / CHUNK_SIZE);
      const w = pos - i * CHUNK_SIZE;
      const n = Math.min(CHUNK_SIZE - w, length - done);
      const c = chunks.get(i);
      if (c === undefined) out.fill(0, done, done + n);
      else c.data.copy(out, done, w, w + n);
      done += n;
    }
    return out;
  }

  function write(offset: number, data: Buffer): void {
    let done = 0;
    const length = data.length;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / CHUNK_SIZE);
      const w = pos - i * CHUNK_SIZE;
      const n = Math.min(CHUNK_SIZE - w, length - done);
      const c = chunkFor(i);
      data.copy(c.data, w, done, done + n);
      c.mapped.fill(1, w / blockSize, (w + n) / blockSize);
      done += n;
    }
  }

  function unmap(offset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const i = Math.floor(pos / CHUNK_SIZE);
      const w = pos - i * CHUNK_SIZE;
      const n = Math.min(CHUNK_SIZE - w, length - done);
      done += n;
      const c = chunks.get(i);
      if (c === undefined) continue;
      if (n === CHUNK_SIZE) {
        chunks.delete(i);
        continue;
      }
      c.data.fill(0, w, w + n);
      c.mapped.fill(0, w / blockSize, (w + n) / blockSize);
      if (c.mapped.indexOf(1) === -1) chunks.delete(i);
    }
  }

  function extent(offset: number, maxLength: number): { mapped: boolean; length: number } {
    const first = Math.floor(offset / CHUNK_SIZE);
    const firstChunk = chunks.get(first);
    const mapped =
      firstChunk !== undefined && firstChunk.mapped[(offset - first * CHUNK_SIZE) / blockSize] === 1;
    let length = 0;
    while (length < maxLength) {
      const pos = offset + length;
      const i = Math.floor(pos / CHUNK_SIZE);
      const w = pos - i * CHUNK_SIZE;
      const c = chunks.get(i);
      if (c === undefined) {
        if (mapped) break;
        length += CHUNK_SIZE - w;
        continue;
      }
      const other = c.mapped.indexOf(mapped ? 0 : 1, w / blockSize);
      if (other === -1) {
        length += CHUNK_SIZE - w;
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
    allocatedBytes: () => chunks.size * CHUNK_SIZE,
    flush: () => Promise.resolve(),
    close: () => {
      if (!closed) {
        closed = true;
        chunks.clear();
      }
      return Promise.resolve();
    },
  };
}
