#!/usr/bin/env node
/**
 * iscsi-bench command line: commander wiring only; each command lives in its own module.
 * Exit codes: 0 success, 1 failure at run time, 2 bad input (commander's usage errors included).
 */
import { Command, CommanderError } from "commander";
import type { CommonCliOptions } from "./commands/common.js";
import { type CompareCliOptions, compareCommand } from "./commands/compare.js";
import { discoverCommand } from "./commands/discover.js";
import { EXIT_USAGE, reportError } from "./commands/exit.js";
import { infoCommand } from "./commands/info.js";
import { type LinkCliOptions, linkCommand } from "./commands/link.js";
import { type ReportCliOptions, reportCommand } from "./commands/report.js";
import { type RunOptions, runCommand } from "./commands/run.js";
import { serveTarget, type TargetCommandOptions, targetCommandOptions } from "./commands/target.js";
import { toolVersion } from "./result/environment.js";

const CHAP_SECRET_FILE_HELP =
  "the CHAP secret on one line (a URL secret wins; else ISCSI_BENCH_CHAP_SECRET is read)";

/** Adds the options every initiator command takes. */
function withCommonOptions(cmd: Command): Command {
  return cmd
    .option("--initiator-name <iqn>", "initiator IQN (default: iqn.2026-11.io.iscsi-bench:<hostname>)")
    .option("--header-digest", "request HeaderDigest=CRC32C")
    .option("--data-digest", "request DataDigest=CRC32C")
    .option(
      "--timeout <duration>",
      "connect/login/command timeout (e.g. 15s, 500ms; a plain number is seconds)",
    )
    .option("--chap-secret-file <path>", CHAP_SECRET_FILE_HELP)
    .option("--json", "print JSON")
    .option("--debug", "print the stack trace of an error");
}

/** Runs a command body, turning its error into a one-line message and an exit code. */
async function run(body: () => Promise<void>, debug: boolean | undefined): Promise<void> {
  try {
    await body();
  } catch (err) {
    process.exitCode = reportError(err, debug === true);
  }
}

const program = new Command();
program
  .name("iscsi-bench")
  .description("iSCSI storage benchmark and load generator with a native TypeScript initiator")
  .version(toolVersion())
  .exitOverride()
  .showHelpAfterError(false);

withCommonOptions(
  program
    .command("discover")
    .description("list the targets and portals a portal reports (SendTargets)")
    .argument("<url>", "iscsi://[user[%secret]@]host[:port]"),
).action((url: string, opts: CommonCliOptions) => run(() => discoverCommand(url, opts), opts.debug));

withCommonOptions(
  program
    .command("info")
    .description("show a LUN's identity, capacity and the negotiated iSCSI parameters")
    .argument("<url>", "iscsi://[user[%secret]@]host[:port]/<target-iqn>/<lun>"),
).action((url: string, opts: CommonCliOptions) => run(() => infoCommand(url, opts), opts.debug));

program
  .command("run")
  .description("run a workload against a target (or the built-in target) and write a JSON result")
  .argument("<workload.json>", "workload file")
  .option(
    "--target <url>",
    "iscsi://[user[%secret]@]host[:port]/<target-iqn>/<lun> (overrides the workload's)",
  )
  .option("--duration <dur>", "measured time of each step (e.g. 30s, 2m), overriding the workload's")
  .option("--out <file>", "result file (default results/<name>-<YYYYMMDD-HHMMSS>.json)")
  .option("--json", "also print the result JSON on stdout")
  .option("--quiet", "no live progress")
  .option("--allow-write", "allow a workload with writes against a target other than the built-in one")
  .option("--initiator-name <iqn>", "initiator IQN (default: iqn.2026-11.io.iscsi-bench:<hostname>)")
  .option(
    "--max-errors <n>",
    "stop and fail after more than n I/O errors (default: 0 with verify, else no limit)",
  )
  .option(
    "--link <spec>",
    "emulate a link in front of the target: 100mbit, 1gbit, 10gbit, <n>[k|m|g]bit, with ,delay=2ms,mtu=9000",
  )
  .option("--link-rate <spec>", "declare the real link the run goes over (e.g. 1gbit), for link efficiency")
  .option(
    "--repeat <k>",
    "measure every step k times, each with its own ramp (repetitions are what compare judges)",
  )
  .option(
    "--warmup <dur>",
    "unmeasured time before the first measurement (a fresh process is slower at first), e.g. 5s",
  )
  .option("--header-digest", "request HeaderDigest=CRC32C")
  .option("--data-digest", "request DataDigest=CRC32C")
  .option(
    "--recovery-timeout <dur>",
    "after a connection loss, keep reinstating the session this long, then fail (default 120s; 0: fail at once)",
  )
  .option("--command-timeout <dur>", "abort a command without an answer after this long (default 30s)")
  .option(
    "--noop-timeout <dur>",
    "an unanswered NOP-Out ping this long means a dead connection (default 10s)",
  )
  .option(
    "--fault <spec>",
    "inject a fault into the built-in target (repeatable; see iscsi-bench target --help), e.g. close-every=2s, busy=5",
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  )
  .option("--fault-seed <n>", "seed of the built-in target's fault PRNG (default 1)")
  .option("--chap-secret-file <path>", CHAP_SECRET_FILE_HELP)
  .action(async (file: string, opts: RunOptions) => {
    process.exitCode = await runCommand(file, opts);
  });

program
  .command("compare")
  .description("judge candidate results against baseline results: regression, improvement, no change")
  .argument("<baseline.json...>", "baseline result files (their repetitions are the baseline sample)")
  .requiredOption("--against <candidate.json...>", "candidate result files")
  .option("--threshold <list>", "smallest change that matters, e.g. throughput=5%,p99=10% (default)")
  .option("--metric <list>", "metrics: iops, bytes, p50, p90, p99, p99.9, p99.99 (default iops,p99)")
  .option("--format <format>", "table, markdown (for a CI job summary) or json", "table")
  .option("--inconclusive <pass|fail>", "exit code of an inconclusive verdict", "pass")
  .option(
    "--assumed-noise <percent>",
    "run-to-run noise assumed when a side has fewer than 4 repetitions",
    "10%",
  )
  .option("--debug", "print the stack trace of an error")
  .action(async (baselines: string[], opts: CompareCliOptions) => {
    process.exitCode = await compareCommand(baselines, opts);
  });

program
  .command("link")
  .description("emulate a network link in front of any target, for any initiator, until SIGINT or SIGTERM")
  .option("--listen <host:port>", "where initiators connect", "127.0.0.1:3270")
  .requiredOption("--to <host:port>", "the target portal to relay to (port 3260 by default)")
  .requiredOption(
    "--rate <spec>",
    "100mbit, 1gbit, 10gbit, <n>[k|m|g]bit or unlimited, with ,delay=2ms,mtu=9000,queue=256k",
  )
  .action(async (opts: LinkCliOptions) => {
    process.exitCode = await linkCommand(opts);
  });

program
  .command("report")
  .description(
    "write one self-contained HTML report of one or more results (charts, tables, compare verdict)",
  )
  .argument("<result.json...>", "result files, shown side by side")
  .option("-o, --out <file>", "the HTML file (default: the first result's path with .html)")
  .option("--title <text>", "the report's title")
  .option("--baseline <result.json...>", "baseline results: the report adds compare's verdict on the results")
  .option("--metric <list>", "with --baseline: metrics of the verdict (default iops,p99)")
  .option("--threshold <list>", "with --baseline: smallest change that matters, e.g. throughput=5%,p99=10%")
  .option("--assumed-noise <percent>", "with --baseline: run-to-run noise assumed below 4 repetitions", "10%")
  .option("--debug", "print the stack trace of an error")
  .action(async (files: string[], opts: ReportCliOptions) => {
    process.exitCode = await reportCommand(files, opts);
  });

targetCommandOptions(
  program.command("target").description("serve the built-in iSCSI target until SIGINT or SIGTERM"),
).action(async (opts: TargetCommandOptions) => {
  process.exitCode = await serveTarget(opts);
});

for (const cmd of program.commands) cmd.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version exit 0; every other commander error is a usage error (already printed).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.exitCode = reportError(err, process.argv.includes("--debug"));
  }
}
