/**
 * Serial number arithmetic for 32-bit sequence numbers (RFC 1982, as RFC 7143 4.2.2.1 requires for
 * CmdSN, StatSN, DataSN ...): s1 < s2 when the forward distance from s1 to s2 is in (0, 2^31).
 */

/** s1 < s2 in serial arithmetic. */
export function serialLt(s1: number, s2: number): boolean {
  return ((s1 - s2) | 0) < 0;
}

/** s1 <= s2 in serial arithmetic. */
export function serialLe(s1: number, s2: number): boolean {
  return ((s1 - s2) | 0) <= 0;
}

/** s1 > s2 in serial arithmetic. */
export function serialGt(s1: number, s2: number): boolean {
  return ((s1 - s2) | 0) > 0;
}

/** s + n modulo 2^32. */
export function serialAdd(s: number, n: number): number {
  return (s + n) >>> 0;
}
