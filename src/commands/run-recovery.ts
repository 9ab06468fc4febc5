/**
 * The recovery options of `run`: how long a session keeps trying to reinstate itself after a
 * connection loss (--recovery-timeout, like open-iscsi's replacement_timeout), when a command is
 * aborted (--command-timeout) and when an unanswered NOP-Out means a dead connection
 * (--noop-timeout). Bad values are one-line InputErrors (exit 2).
 */
import { InputError } from "../common/errors.js";
import { parseDuration } from "../workload/units.js";

export const DEFAULT_RECOVERY_TIMEOUT_MS = 120_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
export const DEFAULT_NOOP_TIMEOUT_MS = 10_000;
const MAX_MS = 24 * 3_600_000;

export interface RecoveryCliOptions {
  recoveryTimeout?: string;
  commandTimeout?: string;
  noopTimeout?: string;
}

export interface RecoverySettings {
  /** 0: fail the outstanding commands at once on a connection loss. */
  recoveryTimeoutMs: number;
  commandTimeoutMs: number;
  noopTimeoutMs: number;
}

function durationOption(v: string | undefined, what: string, fallback: number, zeroOk: boolean): number {
  if (v === undefined) return fallback;
  const ms = parseDuration(v, what);
  if (ms > MAX_MS) throw new InputError(`${what}: at most 24h, got ${JSON.stringify(v)}`);
  if (!zeroOk && ms <= 0) throw new InputError(`${what}: must be more than 0, got ${JSON.stringify(v)}`);
  return ms;
}

export function parseRecoveryOptions(o: RecoveryCliOptions): RecoverySettings {
  return {
    recoveryTimeoutMs: durationOption(
      o.recoveryTimeout,
      "--recovery-timeout",
      DEFAULT_RECOVERY_TIMEOUT_MS,
      true,
    ),
    commandTimeoutMs: durationOption(
      o.commandTimeout,
      "--command-timeout",
      DEFAULT_COMMAND_TIMEOUT_MS,
      false,
    ),
    noopTimeoutMs: durationOption(o.noopTimeout, "--noop-timeout", DEFAULT_NOOP_TIMEOUT_MS, false),
  };
}
