/**
 * The one error and exit policy of every subcommand: an error is one line on stderr naming the
 * problem (the stack only with --debug), secrets redacted, and the documented exit code.
 *   0 done; 1 failure at run time (unreachable, login refused, I/O errors over the limit,
 *   interrupted; for `compare`: a regression); 2 bad input (URL, option, workload or result file,
 *   commander's usage errors); 3 `run` only: verification found a mismatch.
 */
import { InputError } from "../common/errors.js";
import { redactUrl } from "../iscsi/url.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_VERIFY_FAILED = 3;
/** commander's usage errors are bad input too. */
export const EXIT_USAGE = EXIT_BAD_INPUT;

export interface ErrorStream {
  write(s: string): unknown;
}

/** 2 for bad input, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  return err instanceof InputError ? EXIT_BAD_INPUT : EXIT_FAILURE;
}

/** The one-line message for an error, with any URL secret hidden. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactUrl(message.replace(/\s*\n\s*/g, " ").trim()) || "unknown error";
}

/** Prints `iscsi-bench: error: <line>` (plus the stack with `debug`). */
export function printError(err: unknown, stderr: ErrorStream = process.stderr, debug = false): void {
  stderr.write(`iscsi-bench: error: ${errorLine(err)}\n`);
  if (debug && err instanceof Error && err.stack) stderr.write(`${redactUrl(err.stack)}\n`);
}

/** Prints the error and returns its exit code. */
export function reportError(err: unknown, debug: boolean, stderr: ErrorStream = process.stderr): number {
  printError(err, stderr, debug);
  return exitCodeFor(err);
}
