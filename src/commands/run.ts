/**
 * `iscsi-bench run <workload.json>`: load and check the workload and options, run it, print the
 * summary table on stderr, write the JSON result (its path printed last) and return the exit
 * code: 0 done, 1 run-time failure (including an interrupted run and the error limit), 2 bad
 * input, 3 verification failed.
 */
import { InputError } from "../common/errors.js";
import { createProgress, progressMode } from "../engine/progress.js";
import { defaultMaxErrors, type RunLink, runWorkload } from "../engine/runner.js";
import { defaultInitiatorName, validateIscsiName } from "../iscsi/names.js";
import { parseLinkSpec } from "../link/spec.js";
import { renderSummaryTable } from "../report/table.js";
import { defaultResultPath, serializeResult, writeResult } from "../result/file.js";
import { parseFaultSpecs } from "../target/faults.js";
import { loadWorkloadFile } from "../workload/load.js";
import { parseDuration } from "../workload/units.js";
import { parseTargetUrl, secretEnvironment } from "./common.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_VERIFY_FAILED, exitCodeFor, printError } from "./exit.js";
import { parseRecoveryOptions, type RecoveryCliOptions, type RecoverySettings } from "./run-recovery.js";

export interface RunOptions extends RecoveryCliOptions {
  target?: string;
  duration?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  allowWrite?: boolean;
  initiatorName?: string;
  maxErrors?: number;
  repeat?: string | number;
  warmup?: string;
  link?: string;
  linkRate?: string;
  headerDigest?: boolean;
  dataDigest?: boolean;
  /** --fault specs for the embedded built-in target (repeatable). */
  fault?: string[];
  faultSeed?: string | number;
  chapSecretFile?: string;
}

/** Test/embedding hooks; the CLI passes none. */
export interface RunHooks {
  onPhaseEnd?: (phase: number) => Promise<void> | void;
  signal?: AbortSignal;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown; isTTY?: boolean; hasColors?: () => boolean };
}

export const MAX_REPEAT = 100;

/** --fault-seed: an integer 0..2^32-1 (undefined: the target's default seed). */
export function parseFaultSeed(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InputError(`--fault-seed: expected an integer 0..4294967295, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** --repeat as commander hands it: measured repetitions of every step, 1..100. */
export function parseRepeat(v: unknown): number {
  const n =
    typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_REPEAT) {
    throw new InputError(`--repeat: expected an integer from 1 to ${MAX_REPEAT}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * --link emulates a link in front of the target; --link-rate declares the real one the run goes
 * over (source "link-lab" when scripts/link-lab.sh runs it: ISCSI_BENCH_LINK_SOURCE=link-lab).
 */
export function runLinkOf(o: RunOptions, env: NodeJS.ProcessEnv = process.env): RunLink | null {
  if (o.link !== undefined && o.linkRate !== undefined) {
    throw new InputError(
      "--link and --link-rate: give one (--link emulates a link, --link-rate declares a real one)",
    );
  }
  if (o.link !== undefined) return { spec: parseLinkSpec(o.link, "--link"), emulate: true, source: "--link" };
  if (o.linkRate !== undefined) {
    const spec = parseLinkSpec(o.linkRate, "--link-rate");
    if (spec.bitsPerSec === 0) throw new InputError("--link-rate: a real link has a rate (e.g. 1gbit)");
    if (spec.queueBytes !== undefined)
      throw new InputError("--link-rate: queue= is an emulator setting (use --link)");
    return {
      spec,
      emulate: false,
      source: env["ISCSI_BENCH_LINK_SOURCE"] === "link-lab" ? "link-lab" : "option",
    };
  }
  return null;
}

/** --max-errors as commander hands it (string or number): a non-negative integer. */
export function parseMaxErrors(v: unknown): number {
  const n =
    typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InputError(`--max-errors: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

export async function runCommand(
  workloadPath: string,
  options: RunOptions,
  hooks: RunHooks = {},
): Promise<number> {
  const stdout = hooks.stdout ?? process.stdout;
  const stderr = hooks.stderr ?? process.stderr;
  const fail = (err: unknown): number => {
    printError(err, stderr);
    return exitCodeFor(err);
  };

  // --- input ----------------------------------------------------------------------------------
  let workload: ReturnType<typeof loadWorkloadFile>;
  let initiatorName: string;
  let maxErrors: number | null;
  let repeat: number;
  let warmupMs = 0;
  let link: RunLink | null;
  let faults: string[] = [];
  let faultSeed: number | undefined;
  let recovery: RecoverySettings;
  let secretEnv: NodeJS.ProcessEnv = process.env;
  try {
    workload = loadWorkloadFile(workloadPath);
    if (options.duration !== undefined) {
      const ms = parseDuration(options.duration, "--duration");
      if (!(ms > 0))
        throw new InputError(`--duration: must be more than 0, got ${JSON.stringify(options.duration)}`);
      workload = { ...workload, durationMs: ms };
    }
    const targetUrl = options.target ?? workload.target;
    if (targetUrl !== null) {
      parseTargetUrl(targetUrl, { target: true, lun: false }, options.chapSecretFile);
      secretEnv = secretEnvironment(options.chapSecretFile);
    } else if (options.chapSecretFile !== undefined) {
      throw new InputError("--chap-secret-file: needs --target (the built-in target asks for no CHAP)");
    }
    initiatorName = options.initiatorName ?? defaultInitiatorName();
    validateIscsiName(initiatorName, "--initiator-name");
    maxErrors =
      options.maxErrors === undefined ? defaultMaxErrors(workload) : parseMaxErrors(options.maxErrors);
    repeat = options.repeat === undefined ? 1 : parseRepeat(options.repeat);
    if (options.warmup !== undefined) {
      warmupMs = parseDuration(options.warmup, "--warmup");
      if (!(warmupMs >= 0) || warmupMs > 3_600_000)
        throw new InputError(`--warmup: must be between 0 and 1h, got ${JSON.stringify(options.warmup)}`);
    }
    link = runLinkOf(options);
    faults = options.fault ?? [];
    parseFaultSpecs(faults, "--fault"); // a bad spec: one line naming the spec and the bad part
    faultSeed = parseFaultSeed(options.faultSeed);
    if (faults.length > 0 && (options.target ?? workload.target) !== null) {
      throw new InputError(
        "--fault: faults are injected by the built-in target only, not into an external target",
      );
    }
    recovery = parseRecoveryOptions(options);
    if (options.out !== undefined && options.out.trim() === "")
      throw new InputError("--out: expected a file name");
  } catch (err) {
    return fail(err);
  }

  // --- SIGINT: stop cleanly, keep the partial result --------------------------------------------
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    stderr.write("\niscsi-bench: stopping (in-flight commands finish; Ctrl-C again to quit now)\n");
    abort.abort();
  };
  if (hooks.signal) {
    hooks.signal.addEventListener("abort", () => abort.abort(), { once: true });
  } else {
    process.on("SIGINT", onSigint);
  }

  const isTty = stderr.isTTY === true;
  const progress = createProgress(stderr, progressMode(options.quiet === true, isTty));
  try {
    const outcome = await runWorkload({
      workload,
      targetUrl: options.target ?? null,
      env: secretEnv,
      initiatorName,
      allowWrite: options.allowWrite === true,
      maxErrors,
      repeat,
      warmupMs,
      link,
      recovery,
      headerDigest: options.headerDigest === true,
      dataDigest: options.dataDigest === true,
      faults,
      faultSeed,
      onTargetLog: (line) => stderr.write(`${line}\n`),
      onSessionEvent: (line) => stderr.write(`${line}\n`),
      progress,
      signal: abort.signal,
      onPhaseEnd: hooks.onPhaseEnd,
    });
    progress.done();
    const { result } = outcome;
    const color = isTty && (stderr.hasColors?.() ?? false) && process.env["NO_COLOR"] === undefined;
    stderr.write(`${renderSummaryTable(result, color)}\n`);
    const path = writeResult(
      result,
      options.out ?? defaultResultPath(workload.name, new Date(result.startedAt)),
    );
    if (options.json === true) {
      stdout.write(serializeResult(result));
      stderr.write(`result: ${path}\n`);
    } else {
      stdout.write(`${path}\n`);
    }
    if (result.summary.verify.mismatches > 0) {
      const m = result.summary.verify.failures[0]!;
      stderr.write(
        `iscsi-bench: error: verification failed: ${result.summary.verify.mismatches} mismatch(es), first at LBA ${m.lba} (${m.kind})\n`,
      );
      return EXIT_VERIFY_FAILED;
    }
    if (outcome.failure !== null) {
      printError(outcome.failure, stderr);
      return EXIT_FAILURE;
    }
    if (result.interrupted) return EXIT_FAILURE;
    return EXIT_OK;
  } catch (err) {
    progress.done();
    return fail(err);
  } finally {
    process.off("SIGINT", onSigint);
  }
}
