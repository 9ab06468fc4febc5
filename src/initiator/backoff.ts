/**
 * Delays between reinstatement attempts: capped exponential backoff with "full jitter" (each delay
 * drawn uniformly from [base/2, base], base doubling per attempt up to the cap), so initiators that
 * lost the same target at the same moment do not log in again in lock step.
 */
export interface Backoff {
  /** Milliseconds to wait before attempt `attempt` (1 = the first retry after a failed attempt). */
  delayMs(attempt: number): number;
}

export function createBackoff(firstMs: number, capMs: number, random: () => number = Math.random): Backoff {
  return {
    delayMs(attempt: number): number {
      const base = Math.min(capMs, firstMs * 2 ** Math.max(0, attempt - 1));
      return base / 2 + (base / 2) * random();
    },
  };
}

/** Backoff of reinstatement logins: 250 ms doubling to 5 s. */
export const RELOGIN_FIRST_MS = 250;
export const RELOGIN_CAP_MS = 5000;

/** Backoff of BUSY / TASK SET FULL retries: 1 ms doubling to 250 ms (Linux requeues a BUSY command after a few ms). */
export const BUSY_FIRST_MS = 1;
export const BUSY_CAP_MS = 250;
