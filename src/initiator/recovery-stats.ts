/**
 * What a session's recovery did, counted from its login on (cumulative; readers take differences
 * for an interval). One plain object per session, updated in place, so reading it costs nothing.
 */
export interface RecoveryCounters {
  /** Connections lost and replaced (each loss counted once, however many login attempts it took). */
  reconnects: number;
  /** Logins with the old ISID and TSIH 0 that the target accepted (RFC 7143 6.3.5). */
  reinstatements: number;
  /** Commands sent again as new tasks after a connection loss. */
  reissued: number;
  /** ABORT TASK requests sent (command timeouts). */
  aborts: number;
  /** Commands that reached --command-timeout. */
  commandTimeouts: number;
  /** UNIT ATTENTIONs consumed (retried) instead of being reported as I/O errors. */
  unitAttentions: number;
  /** Commands answered BUSY or TASK SET FULL and sent again after a backoff. */
  busyRetries: number;
  /** Milliseconds without a usable connection, over completed outages. */
  outageMs: number;
  /** performance.now() when the current outage began, or -1 while connected. */
  downSince: number;
}

export function newRecoveryCounters(): RecoveryCounters {
  return {
    reconnects: 0,
    reinstatements: 0,
    reissued: 0,
    aborts: 0,
    commandTimeouts: 0,
    unitAttentions: 0,
    busyRetries: 0,
    outageMs: 0,
    downSince: -1,
  };
}

/** Outage time up to `now`, the current outage included. */
export function outageUpTo(c: RecoveryCounters, now: number): number {
  return c.outageMs + (c.downSince >= 0 ? Math.max(0, now - c.downSince) : 0);
}
