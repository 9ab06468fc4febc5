#!/usr/bin/env node
/**
 * npm run compliance: libiscsi's compliance suite (`iscsi-test-cu`, Debian libiscsi-bin) against the
 * built-in target (from dist/, so run `npm run build` first). Starts the target on a free loopback
 * port with a sparse memory LUN and an access list that admits the suite's two initiator names,
 * runs `iscsi-test-cu -d -t ALL`, prints passed/failed/skipped per suite and in total, and exits
 * non-zero on any failure.
 *
 *   node scripts/compliance.mjs [--test <FAMILY[.SUITE[.TEST]]>] [--json] [--log <file>] [--block-size 512|4096]
 *
 * A test that passes after printing "[SKIPPED]" (the suite's way of saying "not implemented by this
 * target") counts as skipped.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { startTarget } from "../dist/target/index.js";

const INITIATOR = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test";
const INITIATOR_2 = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2";
const LUN_BYTES = 128 * 1024 * 1024;
const TIMEOUT_MS = 10 * 60 * 1000;

function parseArgs(argv) {
  const o = { test: "ALL", json: false, log: null, blockSize: 512 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--test") o.test = argv[++i];
    else if (a === "--json") o.json = true;
    else if (a === "--log") o.log = argv[++i];
    else if (a === "--block-size") o.blockSize = Number(argv[++i]);
    else {
      process.stderr.write(`compliance: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  if (!o.test || (o.blockSize !== 512 && o.blockSize !== 4096)) {
    process.stderr.write("compliance: --test needs a value, --block-size is 512 or 4096\n");
    process.exit(2);
  }
  return o;
}

/** CUnit's verbose output: "Suite: S", then "  Test: T ..." up to a line ending in "passed" or "FAILED". */
export function parseCunit(text) {
  const suites = new Map();
  let suite = null;
  let test = null;
  let skipped = false;
  const tests = [];
  for (const line of text.split("\n")) {
    const s = /^Suite: (.+)$/.exec(line);
    if (s) {
      suite = s[1].trim();
      if (!suites.has(suite)) suites.set(suite, { passed: 0, failed: 0, skipped: 0 });
      continue;
    }
    const t = /^ {2}Test: (\S+) \.\.\./.exec(line);
    if (t) {
      test = t[1];
      skipped = false;
    }
    if (test === null || suite === null) continue;
    if (line.includes("[SKIPPED]")) skipped = true;
    const end = /(passed|FAILED)\s*$/.exec(line);
    if (end) {
      const result = end[1] === "FAILED" ? "failed" : skipped ? "skipped" : "passed";
      suites.get(suite)[result]++;
      tests.push({ suite, test, result });
      test = null;
    }
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const c of suites.values()) {
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  return { suites, tests, total };
}

function runSuite(args) {
  return new Promise((resolve) => {
    const child = spawn("iscsi-test-cu", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}\n${err.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (spawnSync("iscsi-test-cu", ["--help"], { stdio: "ignore" }).error) {
    process.stderr.write("compliance: iscsi-test-cu not found (Debian: apt-get install libiscsi-bin)\n");
    process.exit(1);
  }
  const target = await startTarget({
    host: "127.0.0.1",
    port: 0,
    luns: [{ kind: "memory", sizeBytes: LUN_BYTES }],
    blockSize: o.blockSize,
    allow: [INITIATOR, INITIATOR_2],
  });
  const started = Date.now();
  let result;
  try {
    result = await runSuite(["-i", INITIATOR, "-I", INITIATOR_2, "-d", "-t", o.test, target.url(0)]);
  } finally {
    await target.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  if (o.log) writeFileSync(o.log, result.out);
  const { suites, tests, total } = parseCunit(result.out);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ total, seconds, suites: Object.fromEntries(suites), failed: tests.filter((t) => t.result === "failed") })}\n`,
    );
  } else {
    const w = Math.max(5, ...[...suites.keys()].map((k) => k.length));
    process.stdout.write(`${"suite".padEnd(w)}  passed  failed  skipped\n`);
    for (const [name, c] of suites) {
      process.stdout.write(
        `${name.padEnd(w)}  ${String(c.passed).padStart(6)}  ${String(c.failed).padStart(6)}  ${String(c.skipped).padStart(7)}\n`,
      );
    }
    process.stdout.write(
      `${"TOTAL".padEnd(w)}  ${String(total.passed).padStart(6)}  ${String(total.failed).padStart(6)}  ${String(total.skipped).padStart(7)}   (${tests.length} tests, ${seconds.toFixed(1)} s)\n`,
    );
    for (const t of tests) if (t.result === "failed") process.stdout.write(`FAILED ${t.suite}.${t.test}\n`);
  }
  if (tests.length === 0) {
    process.stderr.write(`compliance: no test results parsed (iscsi-test-cu exit ${result.code})\n`);
    process.exit(1);
  }
  process.exit(total.failed > 0 ? 1 : 0);
}

await main();
