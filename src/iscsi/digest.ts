/**
 * CRC32C digests (RFC 7143 13.1: HeaderDigest / DataDigest = CRC32C, generator 0x11edc6f41).
 * The CRC itself comes from @node-rs/crc32 (native, SIMD where the CPU has it).
 *
 * Wire byte order: the RFC's Appendix B.4 examples show 32 zero bytes giving the digest bytes
 * aa 36 91 8a; the conventional (reflected) CRC32C value of that input is 0x8a9136aa, so the
 * 32-bit value travels least significant byte first.
 */
import { crc32c as nativeCrc32c } from "@node-rs/crc32";

export const DIGEST_LENGTH = 4;

/** CRC32C of `buf`; pass a previous result as `initial` to continue over several buffers. */
export function crc32c(buf: Buffer, initial?: number): number {
  return initial === undefined ? nativeCrc32c(buf) : nativeCrc32c(buf, initial);
}

/** Writes a digest value in wire order (RFC 7143 B.4). */
export function writeDigest(value: number, out: Buffer, offset: number): void {
  out.writeUInt32LE(value >>> 0, offset);
}

/** Reads a digest value in wire order (RFC 7143 B.4). */
export function readDigest(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset);
}

const ZERO_PAD = Buffer.alloc(4);

/** Data digest over `data` plus its zero padding to a multiple of 4 (RFC 7143 13.1: padding is covered). */
export function dataDigest(data: Buffer): number {
  const pad = (4 - (data.length & 3)) & 3;
  const crc = nativeCrc32c(data);
  return pad === 0 ? crc : nativeCrc32c(ZERO_PAD.subarray(0, pad), crc);
}
