/**
 * The CLI's error policy, shared by every command: one line on stderr naming the problem (the
 * stack only with --debug), secrets redacted, and the exit code: 2 for bad input (URL, option,
 * file), 1 for a failure at run time (unreachable, login refused, I/O error).
 */
import { InputError } from "./iscsi/errors.js";
import { redactUrl } from "./iscsi/url.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** 2 for bad input, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  return err instanceof InputError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The one-line message for an error, with any URL secret hidden. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactUrl(message.replace(/\s*\n\s*/g, " ").trim()) || "unknown error";
}

/** Prints the error (one line, plus the stack with `debug`) and returns the exit code. */
export function reportError(err: unknown, debug: boolean, prog = "iscsi-bench"): number {
  process.stderr.write(`${prog}: error: ${errorLine(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(redactUrl(err.stack) + "\n");
  return exitCodeFor(err);
}
