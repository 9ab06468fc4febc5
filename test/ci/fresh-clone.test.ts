/**
 * The README's first command on a fresh clone, twice into the same path, as on a CI runner that
 * reuses its working directory: `rm -rf` the clone, clone again, `npm ci`, `npx iscsi-bench run`.
 * tsc writes dist/cli.js without its execute bit, and npx, finding its cached link for that path,
 * does not set it again (`sh: 1: iscsi-bench: Permission denied` on the second clone);
 * scripts/post-build.mjs sets it in the build. Both rounds use the default npm cache, so the
 * second round finds what the first left there. It clones HEAD: it tests what is committed.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const CLONE_TIMEOUT_MS = 60_000;
const NPM_CI_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 2 * (CLONE_TIMEOUT_MS + NPM_CI_TIMEOUT_MS + RUN_TIMEOUT_MS);

interface Done {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment without what `npm test` adds for its child processes (npm_config_*,
 * npm_package_*, npm_lifecycle_*): the commands run as a user types them, with npm's defaults
 * (the default cache among them).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.toLowerCase().startsWith("npm_") || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return env;
}

function exec(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Done> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${timeoutMs} ms: ${cmd} ${args.join(" ")})`;
      done({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
    });
  });
}

const show = (what: string, r: Done): string => `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "iscsi-bench-clone-"));
});

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe("a fresh clone", () => {
  it(
    "runs the README's first command, again after rm -rf and a new clone into the same path",
    async () => {
      const work = join(root, "work");
      for (const round of [1, 2]) {
        rmSync(work, { recursive: true, force: true });
        const clone = await exec(
          "git",
          ["clone", "-q", "--no-hardlinks", repoRoot, work],
          root,
          CLONE_TIMEOUT_MS,
        );
        expect(clone.code, show(`round ${round}: git clone`, clone)).toBe(0);

        const ci = await exec(
          "npm",
          ["ci", "--no-audit", "--no-fund", "--prefer-offline"],
          work,
          NPM_CI_TIMEOUT_MS,
        );
        expect(ci.code, show(`round ${round}: npm ci`, ci)).toBe(0);
        const cli = join(work, "dist/cli.js");
        expect(existsSync(cli), `round ${round}: npm ci built no dist/cli.js`).toBe(true);
        expect((statSync(cli).mode & 0o111).toString(8), `round ${round}: dist/cli.js mode`).toBe("111");

        const run = await exec(
          "npx",
          ["iscsi-bench", "run", "workloads/seq-read.json", "--duration", "1s", "--quiet"],
          work,
          RUN_TIMEOUT_MS,
        );
        expect(run.code, show(`round ${round}: npx iscsi-bench run`, run)).toBe(0);
        // The result's path is the last line on stdout.
        const resultPath = resolve(work, run.stdout.trim().split("\n").at(-1)!);
        expect(resultPath).toMatch(/\/results\/seq-read-\d{8}-\d{6}\.json$/);
        expect(resultPath.startsWith(`${work}/`)).toBe(true);
        expect(existsSync(resultPath)).toBe(true);
        expect((statSync(cli).mode & 0o111).toString(8), `round ${round}: dist/cli.js mode after npx`).toBe(
          "111",
        );
      }
    },
    TEST_TIMEOUT_MS,
  );
});
