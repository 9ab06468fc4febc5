/**
 * No secret leaks: every subcommand (target, discover, info, run, compare, report, link) runs with
 * distinctive CHAP secrets, given in the URL, in --chap-secret-file and in the environment, on
 * success and failure paths (wrong secret, bad URL, bad file), and everything they wrote is
 * grepped for the secrets: stdout, stderr, result files, the HTML report and every file the
 * commands left in their working, home and temp directories. Plain, hex and base64 (at every byte
 * alignment) all count. Also: which secret wins (URL > file > environment).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, CLI, type CliRun } from "../engine/e2e.js";

const SECRET = "Qx7-chap-SECRET-kp29-Zm4w"; // the initiator's CHAP secret (25 bytes)
const MUTUAL = "Mt5-target-SECRET-aa81-Yr3"; // the target's, for mutual CHAP
const WRONG = "Wr0ng-chap-SECRET-nn17-Bq6"; // a wrong guess: a secret of the user too
const USER = "alice";
const TARGET_USER = "tgt";

/** The texts a leak of `s` could take: plain, hex, and base64 at each of the 3 byte alignments. */
function leakForms(s: string): string[] {
  const b = Buffer.from(s, "utf8");
  const forms = [s, b.toString("hex"), b.toString("hex").toUpperCase()];
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), b]);
    const groups = Math.floor(padded.length / 3);
    for (const enc of ["base64", "base64url"] as const) {
      forms.push(padded.toString(enc).slice(k > 0 ? 4 : 0, groups * 4));
    }
  }
  return [...new Set(forms)];
}

const FORMS = [SECRET, MUTUAL, WRONG].flatMap((s) => leakForms(s).map((f) => ({ secret: s, form: f })));

/** Everything the commands wrote, by where it came from. */
const outputs: Array<{ where: string; text: string }> = [];

function expectNoSecret(where: string, text: string): void {
  for (const { secret, form } of FORMS) {
    expect(
      text.includes(form),
      `${where} contains ${secret === form ? "a secret" : `an encoding of a secret (${form})`}`,
    ).toBe(false);
  }
}

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-secrets-"));
const work = join(dir, "work"); // the commands' cwd: results/ and reports land here
const home = join(dir, "home");
const tmp = join(dir, "tmp");
const inputs = join(dir, "inputs"); // what the user wrote: secret files, workloads (not grepped)
for (const d of [work, home, tmp, inputs]) mkdirSync(d, { recursive: true });

const SECRET_FILE = join(inputs, "secret");
const SECRET_FILE_CRLF = join(inputs, "secret-crlf");
const WRONG_FILE = join(inputs, "wrong");
const EMPTY_FILE = join(inputs, "empty");
const TWO_LINES = join(inputs, "two-lines");
const TARGET_SECRET_FILE = join(inputs, "target-secret");
const WORKLOAD = join(inputs, "read.json");
const WORKLOAD_WITH_SECRET = join(inputs, "read-with-target.json");

/** The environment of every command: no inherited CHAP variables; home and temp in the sandbox. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", HOME: home, TMPDIR: tmp };
  for (const k of Object.keys(env)) if (/CHAP/.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** Runs the CLI in `work`, records what it printed and checks it carries no secret. */
async function cli(
  label: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CliRun> {
  const r = await new Promise<CliRun>((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: work, timeout: timeoutMs, env: baseEnv(env), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        res({ code, stdout, stderr });
      },
    );
  });
  outputs.push({ where: `${label}: stdout`, text: r.stdout }, { where: `${label}: stderr`, text: r.stderr });
  expectNoSecret(`${label}: stdout`, r.stdout);
  expectNoSecret(`${label}: stderr`, r.stderr);
  return r;
}

interface Served {
  child: ChildProcess;
  first: string;
  out: () => string;
  err: () => string;
}

/** Starts a long-running subcommand (target, link) and waits for its first line on stdout. */
async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: work,
    env: baseEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes("\n") && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, first: out.split("\n")[0]!, out: () => out, err: () => err };
}

async function stop(label: string, s: Served | null): Promise<void> {
  if (s === null) return;
  if (s.child.exitCode === null) {
    s.child.kill("SIGINT");
    await once(s.child, "exit");
  }
  outputs.push({ where: `${label}: stdout`, text: s.out() }, { where: `${label}: stderr`, text: s.err() });
}

/** Every file under `d`. */
function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(d, e.name)) : [join(d, e.name)],
  );
}

let target: Served | null = null; // --chap alice:SECRET --mutual-chap tgt:MUTUAL
let fileTarget: Served | null = null; // --chap alice --chap-secret-file
let portal = ""; // 127.0.0.1:<port> of `target`
let iqn = "";
let filePortal = "";

const url = (secret: string | null, lun = true, p = portal): string =>
  `iscsi://${USER}${secret === null ? "" : `%${secret}`}@${p}/${iqn}${lun ? "/0" : ""}`;
const portalUrl = (secret: string | null, p = portal): string =>
  `iscsi://${USER}${secret === null ? "" : `%${secret}`}@${p}`;

beforeAll(async () => {
  buildDist();
  writeFileSync(SECRET_FILE, `${SECRET}\n`);
  writeFileSync(SECRET_FILE_CRLF, `${SECRET}\r\n`);
  writeFileSync(WRONG_FILE, WRONG);
  writeFileSync(EMPTY_FILE, "\n");
  writeFileSync(TWO_LINES, `${SECRET}\nsecond line\n`);
  writeFileSync(TARGET_SECRET_FILE, `${SECRET}\n`);
  const workload = {
    name: "secret-read",
    duration: "1s",
    rampTime: "0s",
    jobs: [{ name: "r", readPercent: 100, blockSize: "4KiB", queueDepth: 2, size: "4MiB" }],
  };
  writeFileSync(WORKLOAD, JSON.stringify(workload));
  target = await serve([
    "target",
    "--port",
    "0",
    "--lun",
    "64MiB",
    "--chap",
    `${USER}:${SECRET}`,
    "--mutual-chap",
    `${TARGET_USER}:${MUTUAL}`,
  ]);
  const m = /^iscsi:\/\/(127\.0\.0\.1:\d+)\/([^/]+)\/0$/.exec(target.first);
  expect(m, `target printed ${target.first} ${target.err()}`).not.toBeNull();
  portal = m![1]!;
  iqn = m![2]!;
  writeFileSync(WORKLOAD_WITH_SECRET, JSON.stringify({ ...workload, target: url(SECRET) }));
  fileTarget = await serve([
    "target",
    "--port",
    "0",
    "--lun",
    "64MiB",
    "--chap",
    USER,
    "--chap-secret-file",
    TARGET_SECRET_FILE,
  ]);
  const f = /^iscsi:\/\/(127\.0\.0\.1:\d+)\//.exec(fileTarget.first);
  expect(f, `target printed ${fileTarget.first} ${fileTarget.err()}`).not.toBeNull();
  filePortal = f![1]!;
}, 180_000);

afterAll(async () => {
  await stop("target", target);
  await stop("target --chap-secret-file", fileTarget);
  rmSync(dir, { recursive: true, force: true });
});

const AUTH_FAILED = /^iscsi-bench: error: .*authentication failed/;

describe("discover", () => {
  it("with the secret in the URL, in --chap-secret-file and in the environment", async () => {
    for (const [label, args, env] of [
      ["discover url", [portalUrl(SECRET)], {}],
      ["discover file", [portalUrl(null), "--chap-secret-file", SECRET_FILE], {}],
      ["discover file crlf", [portalUrl(null), "--chap-secret-file", SECRET_FILE_CRLF], {}],
      ["discover env", [portalUrl(null)], { ISCSI_BENCH_CHAP_SECRET: SECRET }],
      ["discover libiscsi env", [portalUrl(null)], { LIBISCSI_CHAP_PASSWORD: SECRET }],
      ["discover json", [portalUrl(SECRET), "--json"], {}],
    ] as Array<[string, string[], Record<string, string>]>) {
      const r = await cli(label, ["discover", ...args], env);
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
      expect(r.stdout, label).toContain(iqn);
    }
  }, 120_000);

  it("a wrong secret fails the login, from each source", async () => {
    for (const [label, args, env] of [
      ["discover wrong url", [portalUrl(WRONG)], {}],
      ["discover wrong file", [portalUrl(null), "--chap-secret-file", WRONG_FILE], {}],
      ["discover wrong env", [portalUrl(null)], { ISCSI_BENCH_CHAP_SECRET: WRONG }],
      ["discover wrong debug", [portalUrl(WRONG), "--debug"], {}],
    ] as Array<[string, string[], Record<string, string>]>) {
      const r = await cli(label, ["discover", ...args], env);
      expect(r.code, label).toBe(1);
      expect(r.stderr.split("\n")[0], label).toMatch(AUTH_FAILED);
    }
  }, 120_000);
});

describe("info", () => {
  it("with the secret from each source, and mutual CHAP", async () => {
    for (const [label, args, env] of [
      ["info url", [url(SECRET)], {}],
      ["info file", [url(null), "--chap-secret-file", SECRET_FILE], {}],
      ["info env", [url(null)], { ISCSI_BENCH_CHAP_SECRET: SECRET }],
      ["info mutual", [`${url(SECRET)}?target_user=${TARGET_USER}&target_password=${MUTUAL}`, "--json"], {}],
      [
        "info mutual env",
        [`${url(null)}?target_user=${TARGET_USER}`],
        { ISCSI_BENCH_CHAP_SECRET: SECRET, LIBISCSI_CHAP_TARGET_PASSWORD: MUTUAL },
      ],
      [
        "info user from env",
        [`iscsi://${portal}/${iqn}/0`, "--chap-secret-file", SECRET_FILE],
        { LIBISCSI_CHAP_USERNAME: USER },
      ],
    ] as Array<[string, string[], Record<string, string>]>) {
      const r = await cli(label, ["info", ...args], env);
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
      expect(r.stdout, label).toMatch(/capacity|capacityBytes/i);
    }
  }, 120_000);

  it("URL beats file beats environment", async () => {
    const urlWins = await cli("info url>file", ["info", url(SECRET), "--chap-secret-file", WRONG_FILE]);
    expect(urlWins.code, urlWins.stderr).toBe(0);
    const fileWins = await cli("info file>env", ["info", url(null), "--chap-secret-file", SECRET_FILE], {
      ISCSI_BENCH_CHAP_SECRET: WRONG,
      LIBISCSI_CHAP_PASSWORD: WRONG,
    });
    expect(fileWins.code, fileWins.stderr).toBe(0);
    // and the loser, when it is the only one, is really wrong (the wins above are not by accident)
    const fileWrong = await cli("info file wrong", ["info", url(null), "--chap-secret-file", WRONG_FILE], {
      ISCSI_BENCH_CHAP_SECRET: SECRET,
    });
    expect(fileWrong.code).toBe(1);
    expect(fileWrong.stderr).toMatch(AUTH_FAILED);
    const mutualWrong = await cli("info mutual wrong", [
      "info",
      `${url(SECRET)}?target_user=${TARGET_USER}&target_password=${WRONG}`,
    ]);
    expect(mutualWrong.code).toBe(1);
    expect(mutualWrong.stderr).toMatch(/^iscsi-bench: error: .*authentication failed/);
  }, 120_000);

  it("bad input: one line, exit 2, the secret not echoed", async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ["info bad port", [`iscsi://${USER}%${SECRET}@127.0.0.1:99999/${iqn}/0`], /port/],
      ["info bad lun", [`iscsi://${USER}%${SECRET}@${portal}/${iqn}/${SECRET}`], /LUN/],
      ["info bad target", [`iscsi://${USER}%${SECRET}@${portal}/${SECRET}/0`], /target name/],
      ["info bad query", [`${url(SECRET)}?target_password=${MUTUAL}`], /target_password/],
      [
        "info no such file",
        [url(null), "--chap-secret-file", join(inputs, "missing")],
        /--chap-secret-file .*file not found/,
      ],
      ["info empty file", [url(null), "--chap-secret-file", EMPTY_FILE], /--chap-secret-file .*empty/],
      ["info two lines", [url(null), "--chap-secret-file", TWO_LINES], /--chap-secret-file .*one line/],
      ["info file is a dir", [url(null), "--chap-secret-file", inputs], /--chap-secret-file .*directory/],
      [
        "info file without user",
        [`iscsi://${portal}/${iqn}/0`, "--chap-secret-file", SECRET_FILE],
        /no CHAP user/,
      ],
      ["info user without secret", [url(null)], /secret/],
    ];
    for (const [label, args, what] of cases) {
      const r = await cli(label, ["info", ...args]);
      expect(r.code, `${label}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      expect(lines, label).toHaveLength(1);
      expect(lines[0], label).toMatch(what);
    }
  }, 120_000);
});

describe("run, compare, report", () => {
  it("runs with the secret from each source; the results, compare and the HTML report carry none", async () => {
    const runs: Array<[string, string[], Record<string, string>]> = [
      ["run url", ["--target", url(SECRET), "--out", "results/url.json"], {}],
      [
        "run file",
        ["--target", url(null), "--chap-secret-file", SECRET_FILE, "--out", "results/file.json"],
        {},
      ],
      [
        "run env json",
        ["--target", url(null), "--json", "--out", "results/env.json"],
        { ISCSI_BENCH_CHAP_SECRET: SECRET },
      ],
    ];
    for (const [label, args, env] of runs) {
      const r = await cli(label, ["run", WORKLOAD, "--quiet", ...args], env);
      expect(r.code, `${label}: ${r.stderr}`).toBe(0);
    }
    // the target in the workload file, the result at its default path under results/
    const w = await cli("run workload target", ["run", WORKLOAD_WITH_SECRET, "--quiet"]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/results\/secret-read-\d{8}-\d{6}\.json/);

    const results = filesUnder(join(work, "results")).filter((f) => f.endsWith(".json"));
    expect(results.length).toBe(4);
    for (const f of results)
      expect(JSON.parse(readFileSync(f, "utf8")).target.url).toMatch(
        /^iscsi:\/\/alice(%\*\*\*)?@127\.0\.0\.1:/,
      );

    const c = await cli("compare", [
      "compare",
      "results/url.json",
      "results/file.json",
      "--against",
      "results/env.json",
    ]);
    expect([0, 1], c.stderr).toContain(c.code);
    const cj = await cli("compare json", [
      "compare",
      "results/url.json",
      "--against",
      "results/file.json",
      "--format",
      "json",
    ]);
    expect([0, 1], cj.stderr).toContain(cj.code);
    const rep = await cli("report", [
      "report",
      ...results,
      "-o",
      "report.html",
      "--baseline",
      "results/url.json",
    ]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(statSync(join(work, "report.html")).size).toBeGreaterThan(1000);
  }, 240_000);

  it("a wrong secret fails the run from each source; bad input exits 2", async () => {
    for (const [label, args, env] of [
      ["run wrong url", ["--target", url(WRONG)], {}],
      ["run wrong file", ["--target", url(null), "--chap-secret-file", WRONG_FILE], {}],
      ["run wrong env", ["--target", url(null)], { ISCSI_BENCH_CHAP_SECRET: WRONG }],
    ] as Array<[string, string[], Record<string, string>]>) {
      const r = await cli(label, ["run", WORKLOAD, "--quiet", ...args], env);
      expect(r.code, `${label}: ${r.stderr}`).toBe(1);
      expect(r.stderr, label).toMatch(AUTH_FAILED);
    }
    for (const [label, args, what] of [
      ["run bad url", ["--target", `iscsi://${USER}%${SECRET}@${portal}:x/${iqn}/0`], /port|host/],
      ["run file for the built-in target", ["--chap-secret-file", SECRET_FILE], /--chap-secret-file/],
      [
        "run missing file",
        ["--target", url(null), "--chap-secret-file", join(inputs, "nope")],
        /file not found/,
      ],
    ] as Array<[string, string[], RegExp]>) {
      const r = await cli(label, ["run", WORKLOAD, "--quiet", ...args]);
      expect(r.code, `${label}: ${r.stderr}`).toBe(2);
      expect(r.stderr, label).toMatch(what);
    }
  }, 240_000);
});

describe("link and target", () => {
  it("a login through the link emulator with the secret", async () => {
    const link = await serve(["link", "--listen", "127.0.0.1:0", "--to", portal, "--rate", "1gbit"]);
    try {
      const m = /^127\.0\.0\.1:(\d+) -> /.exec(link.first);
      expect(m, link.first + link.err()).not.toBeNull();
      const via = `127.0.0.1:${m![1]}`;
      const ok = await cli("info via link", ["info", url(SECRET, true, via)]);
      expect(ok.code, ok.stderr).toBe(0);
      const bad = await cli("info via link wrong", ["info", url(WRONG, true, via)]);
      expect(bad.code).toBe(1);
    } finally {
      await stop("link", link);
    }
  }, 120_000);

  it("target --chap <user> --chap-secret-file: the secret from the file admits, a wrong one does not", async () => {
    const ok = await cli("info file target", ["info", url(SECRET, true, filePortal)]);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await cli("info file target wrong", ["info", url(WRONG, true, filePortal)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(AUTH_FAILED);
  }, 120_000);

  it("target: bad credentials options exit 2 with one line that does not echo the secret", async () => {
    for (const [label, args] of [
      ["target user:secret with file", ["--chap", `${USER}:${SECRET}`, "--chap-secret-file", SECRET_FILE]],
      ["target file without --chap", ["--chap-secret-file", SECRET_FILE]],
      ["target no colon", ["--chap", SECRET]],
      ["target missing file", ["--chap", USER, "--chap-secret-file", join(inputs, "nope")]],
    ] as Array<[string, string[]]>) {
      const r = await cli(label, ["target", "--port", "0", ...args], {}, 30_000);
      expect(r.code, `${label}: ${r.stderr}`).toBe(2);
      expect(
        r.stderr.split("\n").filter((l) => l !== ""),
        label,
      ).toHaveLength(1);
    }
  }, 120_000);
});

describe("everything written", () => {
  it("no file the commands left (results, report, logs, home, temp) and no output carries a secret", async () => {
    await stop("target", target);
    target = null;
    await stop("target --chap-secret-file", fileTarget);
    fileTarget = null;
    const files = [work, home, tmp].flatMap(filesUnder);
    expect(files.some((f) => f.endsWith("report.html"))).toBe(true);
    for (const f of files) expectNoSecret(f, readFileSync(f, "latin1"));
    for (const o of outputs) expectNoSecret(o.where, o.text);
    // the greps can fail: the inputs do carry the secret, in the forms looked for
    expect(readFileSync(SECRET_FILE, "utf8")).toContain(SECRET);
    expect(() => expectNoSecret("self-check", Buffer.from(`xx${MUTUAL}`).toString("base64"))).toThrow();
    expect(() => expectNoSecret("self-check", Buffer.from(WRONG).toString("hex"))).toThrow();
  }, 60_000);
});
