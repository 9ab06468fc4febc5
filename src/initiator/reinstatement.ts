/**
 * The wait-and-retry loop of a session reinstatement: wait the first delay (Time2Wait), try a
 * login, and after each failure wait the backoff's next delay, until a login succeeds, the
 * deadline (the recovery timeout) passes, or a failure says trying again is pointless. It knows
 * nothing of PDUs or sessions: `attempt` does the login, and `cancel()` ends the wait at once
 * (the session was closed meanwhile).
 */
import { LoginError } from "./errors.js";

export interface ReinstatementPlan {
  /** performance.now() after which no attempt starts. */
  deadline: number;
  firstDelayMs: number;
  /** The delay before the next attempt, after a failed one. */
  nextDelayMs(): number;
  /** One login, given the time it may take; rejects when it fails. */
  attempt(timeoutMs: number): Promise<void>;
  /** Longest a single login may take. */
  loginTimeoutMs: number;
}

export type ReinstatementOutcome =
  | { kind: "done" }
  | { kind: "cancelled" }
  | { kind: "gave-up"; lastError: string | null };

/** Failures that another attempt cannot fix: wrong credentials (login status 0x0201). */
export function isHopeless(err: unknown): boolean {
  return err instanceof LoginError && err.statusClass === 2 && err.statusDetail === 1;
}

export class Reinstatement {
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private cancelled = false;

  /** Ends the current wait and the loop; run() resolves with "cancelled". */
  cancel(): void {
    this.cancelled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    this.wake = null;
  }

  async run(plan: ReinstatementPlan): Promise<ReinstatementOutcome> {
    this.cancelled = false;
    let lastError: string | null = null;
    let delay = plan.firstDelayMs;
    for (;;) {
      const left = plan.deadline - performance.now();
      if (delay >= left) {
        await this.sleep(Math.max(0, left));
        break;
      }
      await this.sleep(delay);
      if (this.cancelled) return { kind: "cancelled" };
      try {
        const timeout = Math.max(1, Math.min(plan.loginTimeoutMs, plan.deadline - performance.now()));
        await plan.attempt(timeout);
        return this.cancelled ? { kind: "cancelled" } : { kind: "done" };
      } catch (err) {
        if (this.cancelled) return { kind: "cancelled" };
        lastError = (err as Error).message;
        if (isHopeless(err)) break;
      }
      delay = plan.nextDelayMs();
    }
    return this.cancelled ? { kind: "cancelled" } : { kind: "gave-up", lastError };
  }

  private sleep(ms: number): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, ms);
    });
  }
}
