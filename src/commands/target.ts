/**
 * `iscsi-bench target`: the standalone built-in target. cli.ts wires these in:
 *   targetCommandOptions(program.command("target")).action(async (o) => (process.exitCode = await serveTarget(o)))
 * Prints one line per LUN with its URL, serves until SIGINT/SIGTERM, flushes, exits 0. The
 * target's log (each fault as it fires, refused and timed-out logins) goes to stderr.
 * Bad options: one line on stderr, exit 2. Secrets are never printed.
 */
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { InputError } from "../common/errors.js";
import { parseFaultSpecs } from "../target/faults.js";
import { type RunningTarget, startTargetInProcess } from "../target/index.js";
import {
  DEFAULT_TARGET_HOST,
  DEFAULT_TARGET_IQN,
  DEFAULT_TARGET_PORT,
  type LunSpec,
  type TargetOptions,
} from "../target/options.js";
import { parseDuration, parseSize } from "../workload/units.js";
import { readChapSecretFile } from "./common.js";
import { EXIT_OK, reportError } from "./exit.js";

export interface TargetCommandOptions {
  host?: string;
  port?: string | number;
  iqn?: string;
  lun?: string[];
  blockSize?: string | number;
  chap?: string;
  chapSecretFile?: string;
  mutualChap?: string;
  allow?: string[];
  commandWindow?: string | number;
  nopInterval?: string | number;
  fault?: string[];
  faultSeed?: string | number;
  insecure?: boolean;
  maxSessions?: string | number;
  maxConnections?: string | number;
  loginTimeout?: string;
}

const DEFAULT_LUN = "1GiB";

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the target's options to `cmd` (a commander Command). */
export function targetCommandOptions(cmd: Command): Command {
  return cmd
    .description("serve the built-in iSCSI target (memory or file LUNs) until SIGINT/SIGTERM")
    .option("--host <address>", "address to listen on", DEFAULT_TARGET_HOST)
    .option("--port <port>", "TCP port", String(DEFAULT_TARGET_PORT))
    .option("--iqn <iqn>", "target name", DEFAULT_TARGET_IQN)
    .option(
      "--lun <size|path>",
      `a LUN: a size for a sparse memory LUN (e.g. 1GiB), a file or device path, or path:size to create/extend a file (repeatable; default ${DEFAULT_LUN})`,
      collect,
    )
    .option("--block-size <bytes>", "logical block size: 512 or 4096", "512")
    .option(
      "--chap <user:secret>",
      "require initiators to authenticate with CHAP (user alone with --chap-secret-file)",
    )
    .option("--chap-secret-file <path>", "with --chap <user>: the CHAP secret, on one line")
    .option("--mutual-chap <user:secret>", "credentials the target answers mutual CHAP with")
    .option("--allow <initiator-iqn>", "admit only these initiator names (repeatable; default all)", collect)
    .option("--command-window <n>", "CmdSN window per session", "128")
    .option("--nop-interval <ms>", "NOP-In ping interval in ms (0 = off)", "0")
    .option(
      "--fault <spec>",
      "inject a fault (repeatable): close-after=<n>, close-every=<dur>, stall=<dur>[,every=<dur>][,after=<dur>], busy=<%>, task-set-full=<%>, drop-response=<n>, corrupt-digest=<n>, async-logout=<dur>[,within=<dur>], unit-attention=<dur>[,asc=<n>,ascq=<n>]",
      collect,
    )
    .option("--fault-seed <n>", "seed of the fault PRNG (busy and task-set-full shares)", "1")
    .option("--insecure", "accept CHAP secrets shorter than 12 bytes (RFC 7143 9.2.1 says no)")
    .option("--max-sessions <n>", "sessions at once; more logins are refused (Out of resources)", "64")
    .option(
      "--max-connections <n>",
      "connections at once; more logins are refused (Too many connections)",
      "128",
    )
    .option(
      "--login-timeout <dur>",
      "close a connection that has not completed its login in this time (0 = never)",
      "15s",
    );
}

function parseInteger(
  v: string | number | undefined,
  what: string,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : /^\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InputError(`${what}: expected an integer ${min}..${max}, got "${v}"`);
  return n;
}

function parseCredentials(v: string | undefined, what: string): { user: string; secret: string } | undefined {
  if (v === undefined) return undefined;
  const i = v.indexOf(":");
  if (i <= 0 || i === v.length - 1) throw new InputError(`${what}: expected user:secret`); // never echo the value
  return { user: v.slice(0, i), secret: v.slice(i + 1) };
}

/** --chap user:secret, or --chap user with --chap-secret-file. */
function chapCredentials(o: TargetCommandOptions): { user: string; secret: string } | undefined {
  if (o.chapSecretFile === undefined) return parseCredentials(o.chap, "--chap");
  if (o.chap === undefined) throw new InputError("--chap-secret-file: needs --chap <user>");
  if (o.chap.includes(":") || o.chap === "")
    throw new InputError("--chap: with --chap-secret-file give the user alone (the secret is in the file)");
  return { user: o.chap, secret: readChapSecretFile(o.chapSecretFile) };
}

/** "1GiB" -> memory LUN; an existing path -> file LUN; "path:size" -> file LUN created/extended to size. */
export function parseLunSpec(v: string): LunSpec {
  if (existsSync(v)) {
    const st = statSync(v);
    if (st.isDirectory()) throw new InputError(`lun: ${v} is a directory`);
    return { kind: "file", path: v };
  }
  const colon = v.lastIndexOf(":");
  if (colon > 0) {
    return { kind: "file", path: v.slice(0, colon), sizeBytes: parseSize(v.slice(colon + 1), `lun ${v}`) };
  }
  if (/^\s*\d/.test(v)) return { kind: "memory", sizeBytes: parseSize(v, "lun") };
  throw new InputError(
    `lun: "${v}" is neither a size (e.g. 1GiB) nor an existing file (use path:size to create one)`,
  );
}

/** Turns the command line into TargetOptions; InputError names the option at fault. */
export function targetOptionsFromCli(o: TargetCommandOptions): TargetOptions {
  const blockSize = parseInteger(o.blockSize, "--block-size", 512, 4096);
  if (blockSize !== undefined && blockSize !== 512 && blockSize !== 4096) {
    throw new InputError(`--block-size: must be 512 or 4096, got ${blockSize}`);
  }
  const options: TargetOptions = {
    host: o.host,
    port: parseInteger(o.port, "--port", 0, 65535),
    iqn: o.iqn,
    luns: (o.lun ?? [DEFAULT_LUN]).map(parseLunSpec),
    blockSize: blockSize as 512 | 4096 | undefined,
    chap: chapCredentials(o),
    mutualChap: parseCredentials(o.mutualChap, "--mutual-chap"),
    allow: o.allow,
    commandWindow: parseInteger(o.commandWindow, "--command-window", 1, 65536),
    nopIntervalMs: parseInteger(o.nopInterval, "--nop-interval", 0, 86_400_000),
    ...faultAndLimitOptions(o),
  };
  return options;
}

/** --fault, --fault-seed, --insecure and the limits; InputError names the option at fault. */
export function faultAndLimitOptions(o: TargetCommandOptions): Partial<TargetOptions> {
  const faults = o.fault ?? [];
  parseFaultSpecs(faults, "--fault"); // a bad spec fails here, naming the spec and the bad part
  const loginTimeoutMs =
    o.loginTimeout === undefined ? undefined : parseDuration(o.loginTimeout, "--login-timeout");
  return {
    faults,
    faultSeed: parseInteger(o.faultSeed, "--fault-seed", 0, 0xffffffff),
    insecure: o.insecure === true,
    maxSessions: parseInteger(o.maxSessions, "--max-sessions", 1, 0xffff),
    maxConnections: parseInteger(o.maxConnections, "--max-connections", 1, 1_000_000),
    loginTimeoutMs,
  };
}

/** Serves until SIGINT/SIGTERM. Returns the exit code: 0 after a clean stop, 2 bad options, 1 other failure. */
export async function serveTarget(o: TargetCommandOptions): Promise<number> {
  let target: RunningTarget;
  try {
    // the target's log (faults as they fire, refused logins) goes to stderr; the URLs to stdout
    target = await startTargetInProcess(targetOptionsFromCli(o), {
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (err) {
    return reportError(err, false);
  }
  for (const url of target.urls) process.stdout.write(`${url}\n`);
  // what backs each LUN (a memory LUN on tmpfs or in anonymous memory, a file) goes with the log
  for (const [i, what] of target.luns.entries()) process.stderr.write(`LUN ${i}: ${what}\n`);
  const signal = await new Promise<string>((resolve) => {
    const on = (s: string) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(s);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  void signal;
  await target.stop();
  return EXIT_OK;
}
