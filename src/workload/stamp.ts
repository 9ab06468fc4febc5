/**
 * Verification stamps. Every LUN block written by a verify job carries a 32-byte header and
 * pseudo-random data:
 *
 *   bytes  0..3   magic "iSBv" (0x69534276)
 *   bytes  4..7   CRC32C (Castagnoli) of bytes 8..blockSize-1, big-endian
 *   bytes  8..15  LBA, big-endian 64-bit
 *   bytes 16..19  write generation (1 = first write of this LBA in the run), big-endian
 *   bytes 20..23  seed of the run, big-endian
 *   bytes 24..27  block size, big-endian
 *   bytes 28..31  zero
 *   bytes 32..    deterministic pseudo-random data from (seed, lba, generation)
 *
 * The data is a window of a per-seed random pattern, at an offset hashed from (lba,
 * generation): one memcpy per block, then one native CRC32C.
 *
 * checkBlocks classifies the first bad block of a read:
 *   "corrupt"   bad magic or checksum (torn write, bit rot, data never stamped);
 *   "wrong-lba" a valid stamp of another LBA (misdirected write or read);
 *   "stale"     a valid stamp of this LBA from an older generation (a lost write), or from
 *               another seed (data of an earlier run).
 * A valid stamp with a newer generation than expected is reported as "corrupt" with its
 * generation: the block holds data this run has not written yet, which only a bookkeeping
 * bug or a write racing the read can explain.
 */

import { crc32c } from "@node-rs/crc32";
import { mix32, Rng } from "./rng.js";

export const STAMP_MAGIC = 0x69534276;
export const STAMP_HEADER_BYTES = 32;

export interface StampMismatch {
  lba: number;
  kind: "stale" | "wrong-lba" | "corrupt";
  expectedGeneration: number;
  /** The generation in the block's stamp; null when there is no valid stamp. */
  foundGeneration: number | null;
}

const WINDOW = 65536;
const patterns = new Map<number, Buffer>();

/** The random pattern of a seed, long enough for a window of `dataBytes` at any offset < WINDOW. */
function patternFor(seed: number, dataBytes: number): Buffer {
  const key = seed >>> 0;
  const have = patterns.get(key);
  if (have && have.length >= WINDOW + dataBytes) return have;
  if (patterns.size >= 16) patterns.clear();
  const length = WINDOW + Math.max(dataBytes, 4096);
  const buf = Buffer.allocUnsafe(length);
  const rng = new Rng(key, 0x7374616d);
  for (let i = 0; i + 4 <= length; i += 4) buf.writeUInt32LE(rng.nextU32(), i);
  patterns.set(key, buf);
  return buf;
}

function windowOffset(seed: number, lba: number, generation: number): number {
  const lo = lba >>> 0;
  const hi = Math.floor(lba / 4294967296) >>> 0;
  const h = mix32(mix32(lo ^ mix32(hi)) ^ mix32((generation ^ Math.imul(seed, 0x9e3779b1)) >>> 0));
  return (h % WINDOW) & ~3;
}

function checkArgs(length: number, blockSize: number): void {
  if (blockSize < STAMP_HEADER_BYTES * 2 || blockSize % 4 !== 0)
    throw new RangeError(`bad block size ${blockSize}`);
  if (length % blockSize !== 0) throw new RangeError(`length ${length} is not a multiple of ${blockSize}`);
}

/**
 * Stamps buf[0..length) as the blocks lba, lba+1, ... written with `generation` (>= 1) by a run
 * seeded with `seed`.
 */
export function stampBlocks(
  buf: Buffer,
  length: number,
  lba: number,
  blockSize: number,
  generation: number,
  seed: number,
): void {
  checkArgs(length, blockSize);
  const dataBytes = blockSize - STAMP_HEADER_BYTES;
  const pattern = patternFor(seed, dataBytes);
  for (let pos = 0, block = lba; pos < length; pos += blockSize, block++) {
    stampOne(buf, pos, block, blockSize, generation, seed, pattern, dataBytes);
  }
}

/** Stamps one block at buf[pos..pos+blockSize) with the given generation (see stampBlocks). */
export function stampBlock(
  buf: Buffer,
  pos: number,
  lba: number,
  blockSize: number,
  generation: number,
  seed: number,
): void {
  checkArgs(blockSize, blockSize);
  const dataBytes = blockSize - STAMP_HEADER_BYTES;
  stampOne(buf, pos, lba, blockSize, generation, seed, patternFor(seed, dataBytes), dataBytes);
}

function stampOne(
  buf: Buffer,
  pos: number,
  lba: number,
  blockSize: number,
  generation: number,
  seed: number,
  pattern: Buffer,
  dataBytes: number,
): void {
  buf.writeUInt32BE(STAMP_MAGIC, pos);
  buf.writeUInt32BE(Math.floor(lba / 4294967296), pos + 8);
  buf.writeUInt32BE(lba >>> 0, pos + 12);
  buf.writeUInt32BE(generation >>> 0, pos + 16);
  buf.writeUInt32BE(seed >>> 0, pos + 20);
  buf.writeUInt32BE(blockSize >>> 0, pos + 24);
  buf.writeUInt32BE(0, pos + 28);
  const from = windowOffset(seed, lba, generation);
  pattern.copy(buf, pos + STAMP_HEADER_BYTES, from, from + dataBytes);
  buf.writeUInt32BE(crc32c(buf.subarray(pos + 8, pos + blockSize)), pos + 4);
}

/**
 * Checks buf[0..length) read from lba, lba+1, ... against the generations the run expects
 * (`expectedGeneration(lba)`; 0 = not written in this run, not checked). Returns the first
 * mismatch, or null when every checked block is right.
 */
export function checkBlocks(
  buf: Buffer,
  length: number,
  lba: number,
  blockSize: number,
  expectedGeneration: (lba: number) => number,
  seed: number,
): StampMismatch | null {
  checkArgs(length, blockSize);
  for (let pos = 0, block = lba; pos < length; pos += blockSize, block++) {
    const expected = expectedGeneration(block);
    if (expected === 0) continue;
    const bad = checkBlock(buf, pos, block, blockSize, expected, seed);
    if (bad) return bad;
  }
  return null;
}

/** Checks one block at buf[pos..pos+blockSize) (see checkBlocks); null when it is right. */
export function checkBlock(
  buf: Buffer,
  pos: number,
  lba: number,
  blockSize: number,
  expected: number,
  seed: number,
): StampMismatch | null {
  const corrupt = (found: number | null): StampMismatch => ({
    lba,
    kind: "corrupt",
    expectedGeneration: expected,
    foundGeneration: found,
  });
  if (buf.readUInt32BE(pos) !== STAMP_MAGIC) return corrupt(null);
  if (buf.readUInt32BE(pos + 4) !== crc32c(buf.subarray(pos + 8, pos + blockSize))) return corrupt(null);
  const foundLba = buf.readUInt32BE(pos + 8) * 4294967296 + buf.readUInt32BE(pos + 12);
  const foundGeneration = buf.readUInt32BE(pos + 16);
  const foundSeed = buf.readUInt32BE(pos + 20);
  if (buf.readUInt32BE(pos + 24) !== blockSize) return corrupt(null);
  if (foundLba !== lba) return { lba, kind: "wrong-lba", expectedGeneration: expected, foundGeneration };
  if (foundSeed !== seed >>> 0 || foundGeneration < expected) {
    return { lba, kind: "stale", expectedGeneration: expected, foundGeneration };
  }
  if (foundGeneration > expected) return corrupt(foundGeneration);
  return null;
}

/** The LBA a stamped block claims to be, or null when it carries no valid stamp. */
export function stampedLba(buf: Buffer, pos: number, blockSize: number): number | null {
  if (buf.readUInt32BE(pos) !== STAMP_MAGIC) return null;
  if (buf.readUInt32BE(pos + 4) !== crc32c(buf.subarray(pos + 8, pos + blockSize))) return null;
  return buf.readUInt32BE(pos + 8) * 4294967296 + buf.readUInt32BE(pos + 12);
}
