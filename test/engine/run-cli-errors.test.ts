/**
 * Bad command lines and bad workloads for `iscsi-bench run`, through the compiled CLI: each gets
 * its exact one-line message on stderr and exit code 2, before any I/O.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, runCli } from "./e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-cli-"));
beforeAll(() => {
  buildDist();
  const files: Record<string, string> = {
    "ok.json": '{"name":"x","jobs":[{"readPercent":100,"blockSize":"4KiB"}]}',
    "writes.json": '{"name":"x","jobs":[{"readPercent":50,"blockSize":"4KiB"}]}',
    "broken.json": '{"name":"x",\n',
    "deep.json": '{"name":"x","jobs":[{"queueDepth":"deep"}]}',
    "typo.json": '{"name":"x","jobs":[{"blockSize":"4KiB","queueDept":4}]}',
    "badtarget.json":
      '{"name":"x","target":"http://127.0.0.1/iqn.2000-01.com.example:t","jobs":[{"readPercent":100}]}',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CASES: Array<[string, string[], string]> = [
  ["a missing workload file", ["run", "missing.json"], "iscsi-bench: error: missing.json: file not found"],
  [
    "a workload that is not JSON",
    ["run", "broken.json"],
    "iscsi-bench: error: broken.json: invalid JSON at line 2, column 1: unexpected end of input",
  ],
  [
    "a queue depth that is not a number",
    ["run", "deep.json"],
    'iscsi-bench: error: deep.json: jobs[0].queueDepth: expected an integer from 1 to 65536, got "deep"',
  ],
  [
    "a misspelt key",
    ["run", "typo.json"],
    'iscsi-bench: error: typo.json: jobs[0].queueDept: unknown key (did you mean "queueDepth"?)',
  ],
  [
    "a bad target URL in the workload",
    ["run", "badtarget.json"],
    'iscsi-bench: error: badtarget.json: target: expected an iSCSI URL such as "iscsi://host/iqn.2003-01.org.example:disk/1", got "http://127.0.0.1/iqn.2000-01.com.exa...',
  ],
  [
    "a bad --duration",
    ["run", "ok.json", "--duration", "abc"],
    'iscsi-bench: error: --duration: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "abc"',
  ],
  [
    "a zero --duration",
    ["run", "ok.json", "--duration", "0"],
    'iscsi-bench: error: --duration: must be more than 0, got "0"',
  ],
  [
    "a bad --recovery-timeout",
    ["run", "ok.json", "--recovery-timeout", "soon"],
    'iscsi-bench: error: --recovery-timeout: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "soon"',
  ],
  [
    "a zero --command-timeout",
    ["run", "ok.json", "--command-timeout", "0"],
    'iscsi-bench: error: --command-timeout: must be more than 0, got "0"',
  ],
  [
    "a negative --noop-timeout",
    ["run", "ok.json", "--noop-timeout", "-5s"],
    'iscsi-bench: error: --noop-timeout: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "-5s"',
  ],
  [
    "a --recovery-timeout beyond a day",
    ["run", "ok.json", "--recovery-timeout", "25h"],
    'iscsi-bench: error: --recovery-timeout: at most 24h, got "25h"',
  ],
  [
    "a bad --max-errors",
    ["run", "ok.json", "--max-errors", "abc"],
    'iscsi-bench: error: --max-errors: expected a non-negative integer, got "abc"',
  ],
  [
    "a negative --max-errors",
    ["run", "ok.json", "--max-errors", "-1"],
    'iscsi-bench: error: --max-errors: expected a non-negative integer, got "-1"',
  ],
  [
    "a --target that is not iscsi://",
    ["run", "ok.json", "--target", "http://127.0.0.1/iqn.2000-01.com.example:t"],
    "iscsi-bench: error: iscsi URL: scheme: must be iscsi:// (got http://)",
  ],
  [
    "a --target without a target name",
    ["run", "ok.json", "--target", "iscsi://127.0.0.1"],
    "iscsi-bench: error: iscsi URL: target name: missing (iscsi://host[:port]/<target-iqn>/<lun>)",
  ],
  [
    "a bad --initiator-name",
    ["run", "ok.json", "--initiator-name", "bogus"],
    'iscsi-bench: error: --initiator-name "bogus": must start with iqn., eui. or naa.',
  ],
  [
    "writes to a real target without --allow-write (secret hidden)",
    ["run", "writes.json", "--target", "iscsi://alice%s3cr3t@127.0.0.1:3260/iqn.2000-01.com.example:t/1"],
    "iscsi-bench: error: the workload writes: LUN 1 of iscsi://alice%***@127.0.0.1:3260/iqn.2000-01.com.example:t/1 would be overwritten; pass --allow-write to proceed",
  ],
  ["an empty --out", ["run", "ok.json", "--out", ""], "iscsi-bench: error: --out: expected a file name"],
  [
    "a --repeat of 0",
    ["run", "ok.json", "--repeat", "0"],
    'iscsi-bench: error: --repeat: expected an integer from 1 to 100, got "0"',
  ],
  [
    "a --warmup that is not a duration",
    ["run", "ok.json", "--warmup", "soon"],
    'iscsi-bench: error: --warmup: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "soon"',
  ],
  [
    "a --warmup over an hour",
    ["run", "ok.json", "--warmup", "2h"],
    'iscsi-bench: error: --warmup: must be between 0 and 1h, got "2h"',
  ],
  ["an unknown option", ["run", "ok.json", "--bogus"], "error: unknown option '--bogus'"],
  ["no workload", ["run"], "error: missing required argument 'workload.json'"],
];

describe("run: bad input exits 2 with its message", () => {
  for (const [what, args, message] of CASES) {
    it(what, { timeout: 60_000 }, async () => {
      const r = await runCli(args, dir, 30_000);
      expect(r.stderr.trim()).toBe(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain("s3cr3t");
    });
  }
});
