/**
 * The interval recorder of a job worker: what completed, by operation (I/Os, bytes, latency and
 * service-time histograms), the I/O errors (total and by sense), and what the session's recovery
 * did, cut into encoded intervals of measured time (one a second, the last one partial).
 *
 * Measured-window rule: a command counts when it COMPLETES inside [measureStart, end]. The
 * commands in flight when the ramp ends complete in the window and count; those that drain after
 * the end do not; so throughput is completions over the measured time with no bias at either edge.
 * Errors count whenever they happen (a lost write matters in the ramp too).
 *
 * Outage per interval: the difference of the session's cumulative outage (RecoveryCounters,
 * an ongoing outage included through outageUpTo) between the interval's edges, so a timeline
 * shows a second without a session as such even while the outage lasts.
 */
import type { RecoveryCounters } from "../initiator/recovery-stats.js";
import { outageUpTo } from "../initiator/recovery-stats.js";
import { recordUs } from "../result/histogram.js";
import { newOpAccumulator, packOp, resetOp } from "../result/op.js";
import { correctedLatencyUs } from "./rate.js";
import type { IntervalMessage } from "./worker-messages.js";

export class IntervalRecorder {
  readonly read = newOpAccumulator();
  readonly write = newOpAccumulator();
  readonly errorsBySense = new Map<string, number>();
  private errors = 0;
  private measureStart = Number.POSITIVE_INFINITY;
  private end = Number.NEGATIVE_INFINITY;
  private lastAt = 0;
  private lastOutage = 0;
  private lastReconnects = 0;
  private based = false;

  /** `recovery`: the session's counters (read, never written), or null without a session. */
  constructor(private readonly recovery: RecoveryCounters | null) {}

  /** Sets the measured window; intervals start at `measureStart`. */
  window(measureStart: number, end: number): void {
    this.measureStart = measureStart;
    this.end = end;
    this.lastAt = measureStart;
  }

  get measureStartMs(): number {
    return this.measureStart;
  }

  get endMs(): number {
    return this.end;
  }

  /**
   * Takes the recovery baseline of the first interval (call once measurement has begun, i.e. at
   * the first tick at or after measureStart; before that, outage belongs to the ramp).
   */
  beginMeasuring(now: number): void {
    if (this.based) return;
    this.based = true;
    const r = this.recovery;
    this.lastOutage = r === null ? 0 : outageUpTo(r, Math.max(now, this.measureStart));
    this.lastReconnects = r === null ? 0 : r.reconnects;
  }

  /** A command that ended GOOD at `now`: counted when `now` is inside the measured window. */
  complete(isRead: boolean, bytes: number, intendedMs: number, submitMs: number, now: number): boolean {
    if (now < this.measureStart || now > this.end) return false;
    const op = isRead ? this.read : this.write;
    op.ios++;
    op.bytes += bytes;
    recordUs(op.latency, correctedLatencyUs(intendedMs, submitMs, now));
    recordUs(op.service, (now - submitMs) * 1000);
    return true;
  }

  /** An I/O error, by its sense text (or status / transport message). */
  error(key: string): void {
    this.errors++;
    this.errorsBySense.set(key, (this.errorsBySense.get(key) ?? 0) + 1);
  }

  /** Errors counted since the last snapshot. */
  get pendingErrors(): number {
    return this.errors;
  }

  /** The interval from the previous snapshot to `now` (as index `index`); resets the counters. */
  snapshot(now: number, index: number): IntervalMessage {
    const ms = Math.max(0, now - this.lastAt);
    let outageMs = 0;
    let reconnects = 0;
    const r = this.recovery;
    if (r !== null) {
      this.beginMeasuring(this.lastAt);
      const outage = outageUpTo(r, now);
      outageMs = Math.min(ms, Math.max(0, outage - this.lastOutage));
      reconnects = Math.max(0, r.reconnects - this.lastReconnects);
      this.lastOutage = Math.max(this.lastOutage, outage);
      this.lastReconnects = r.reconnects;
    }
    const msg: IntervalMessage = {
      type: "interval",
      index,
      ramp: false,
      ms,
      read: packOp(this.read),
      write: packOp(this.write),
      errors: this.errors,
      outageMs: Math.round(outageMs),
      reconnects,
    };
    resetOp(this.read);
    resetOp(this.write);
    this.errors = 0;
    this.lastAt = Math.max(this.lastAt, now);
    return msg;
  }
}
