/**
 * A token bucket of wire bytes with an injectable clock: it fills at `bytesPerSec`, holds at most
 * `burstBytes`, and may go into debt. The relay uses reserve(): a chunk charges its wire bytes the
 * moment it arrives, and the returned wait is when its last byte has left the emulated link (the
 * debt is the link's queue, in wire bytes). Because every chunk's departure time is fixed when it is
 * charged, the long-run rate is exact however late the relay's timers fire.
 *
 * Burst: 2 full frames (2 × (MTU + 38) wire bytes; defaultBurstBytes). A real link has no burst at
 * all, but a bucket holding less than one frame would make a lone frame wait for its own
 * serialisation twice; two frames let an ACK-sized exchange through an idle link at once while a
 * 64 KiB chunk still waits about its serialisation time. Larger bursts would let an idle link
 * deliver faster than line rate for a moment, which a latency measurement would see.
 */
import { DEFAULT_MTU, FRAME_OVERHEAD_BYTES } from "./ethernet.js";

export interface Clock {
  /** Milliseconds on a monotonic clock (fractions allowed). */
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

export interface TokenBucketOptions {
  /** Fill rate in wire bytes per second; > 0. */
  bytesPerSec: number;
  /** Most tokens the bucket holds; default defaultBurstBytes(). The bucket starts full. */
  burstBytes?: number;
  clock?: Clock;
}

/** Two full frames on the wire: 2 × (MTU + 38). */
export function defaultBurstBytes(mtu = DEFAULT_MTU): number {
  return 2 * (mtu + FRAME_OVERHEAD_BYTES);
}

export class TokenBucket {
  readonly bytesPerSec: number;
  readonly burstBytes: number;
  private readonly clock: Clock;
  private readonly perMs: number;
  private tokens: number;
  private stamp: number;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.bytesPerSec > 0)) throw new RangeError("TokenBucket: bytesPerSec must be > 0");
    this.bytesPerSec = opts.bytesPerSec;
    this.burstBytes = opts.burstBytes ?? defaultBurstBytes();
    if (!(this.burstBytes > 0)) throw new RangeError("TokenBucket: burstBytes must be > 0");
    this.clock = opts.clock ?? monotonicClock;
    this.perMs = this.bytesPerSec / 1000;
    this.tokens = this.burstBytes;
    this.stamp = this.clock.now();
  }

  private refill(): void {
    const t = this.clock.now();
    if (t > this.stamp) {
      this.tokens = Math.min(this.burstBytes, this.tokens + (t - this.stamp) * this.perMs);
      this.stamp = t;
    }
  }

  /** Tokens now; negative while in debt. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Wire bytes charged but not yet sent (the emulated link's queue): max(0, −tokens). */
  debt(): number {
    const t = this.available();
    return t < 0 ? -t : 0;
  }

  /**
   * Milliseconds until take(n) succeeds: until the bucket holds min(n, burst) tokens (a chunk bigger
   * than the bucket goes when the bucket is full, and its excess becomes debt).
   */
  delayUntilAvailable(n: number): number {
    const need = Math.min(n, this.burstBytes) - this.available();
    // A millionth of a byte of slack: waiting exactly the returned time must make take() succeed
    // despite floating-point rounding in the refill.
    return need > 1e-6 ? need / this.perMs : 0;
  }

  /** Takes n tokens if delayUntilAvailable(n) is 0 (possibly into debt); false, taking none, if not. */
  take(n: number): boolean {
    if (this.delayUntilAvailable(n) > 0) return false;
    this.tokens -= n;
    return true;
  }

  /** Charges n tokens now, into debt if need be; returns the milliseconds until the debt is paid. */
  reserve(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens < 0 ? -this.tokens / this.perMs : 0;
  }
}
