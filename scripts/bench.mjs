#!/usr/bin/env node
/**
 * `npm run bench [-- --suite initiator|target|memory] [--quick] [--reps N] [--seconds N] [--no-build]`
 *
 * The project's performance figures. The machine is shared and noisy, so every figure is a ratio
 * of two things measured side by side in the same run: several alternating repetitions, medians.
 *   initiator  our initiator / libiscsi's iscsi-perf against the same target (built-in and tgtd):
 *              4 KiB random QD32, 128 KiB sequential QD32, 4 KiB random QD1 (our p50/p99 beside),
 *              and CPU per I/O of both: (CPU long run - CPU 1 s run) / (I/Os long - I/Os short)
 *   target     built-in target / tgtd, both driven by iscsi-perf; and 4 KiB random writes QD32
 *              from our initiator, the built-in target freshly started (cold) every repetition,
 *              with its first and last measured seconds
 *   wire       the embedded default (1 MiB and 128 KiB sequential read/write, 1 and 2 workers) /
 *              iperf3 one stream over loopback with the same write size
 *   memory     RSS of `iscsi-bench run` at 10 s and at the end of a long mixed run
 * The defaults (3 repetitions of 3 s) keep the whole suite under 10 minutes. At the end the goals
 * of issue 11 are judged on their whole per-repetition range (scripts/bench/goals.mjs).
 * It compiles src/ to dist/ first (tsc; --no-build uses dist/ as it is) and runs from a private
 * copy of dist/, so a rebuild by someone else mid-run cannot change the code under test.
 * Every peer is started and stopped here, on 127.0.0.1; every run has a kill timer.
 * Output: tables on stdout, all samples in results/bench-<YYYYMMDD-HHMMSS>.json.
 * A missing peer skips its comparison, except with CI=true, where it fails (exit 1).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { evaluateGoals } from "./bench/goals.mjs";
import { GROWTH_WARNING, memorySuite } from "./bench/memory.mjs";
import { startBuiltinTarget, startTgtd } from "./bench/peers.mjs";
import { loopbackBytes, which } from "./bench/proc.mjs";
import {
  fmtIops,
  fmtMB,
  fmtMiB,
  fmtRange,
  fmtRate,
  fmtRatio,
  fmtUs,
  median,
  ratio,
  round,
} from "./bench/stats.mjs";
import { runIscsiPerf, runOurs, writeWorkload } from "./bench/tools.mjs";
import { iperfId, WIRE_CASES, wireRep } from "./bench/wire.mjs";
import { WRITE_CASE, writeCaseRep } from "./bench/write-case.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SUITES = ["initiator", "target", "wire", "memory"];
/** Seconds of the short run whose CPU and I/Os are subtracted from a sample's (start-up cancels). */
const SHORT_SECONDS = 1;
const CI = process.env.CI === "true";

/** The read cases of the initiator and target suites; `metric` is the figure compared. */
const CASES = [
  {
    id: "rand-read-4k",
    label: "4 KiB random read, QD32",
    pattern: "random",
    blockBytes: 4096,
    queueDepth: 32,
    metric: "iops",
  },
  {
    id: "seq-read-128k",
    label: "128 KiB sequential read, QD32",
    pattern: "sequential",
    blockBytes: 131072,
    queueDepth: 32,
    metric: "bytesPerSec",
  },
  {
    id: "rand-read-4k-qd1",
    label: "4 KiB random read, QD1",
    pattern: "random",
    blockBytes: 4096,
    queueDepth: 1,
    metric: "iops",
  },
];
const TARGET_LUN_BYTES = 1 << 30;
/** Plain tables: they are pasted into docs and read from logs. */
const NO_COLOR = { head: [], border: [] };

const log = (s) => process.stderr.write(`bench: ${s}\n`);

function usage() {
  return [
    "usage: npm run bench -- [--suite <name>[,<name>]] [--quick] [--reps N] [--seconds N] [--no-build]",
    `  --suite     ${SUITES.join(", ")} or all (default all; repeatable or comma-separated)`,
    "  --quick     shorter runs (2 s per sample, memory 20 s)",
    "  --reps      alternating repetitions per comparison (default 3; the whole suite then takes 7-10 minutes)",
    "  --seconds   measured seconds per sample (default 3)",
    "  --no-build  use dist/ as it is instead of compiling src/ first",
  ].join("\n");
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      suite: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      reps: { type: "string" },
      seconds: { type: "string" },
      "no-build": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const names = (values.suite ?? ["all"]).flatMap((s) => s.split(",")).map((s) => s.trim());
  const suites = names.includes("all") ? SUITES : names;
  for (const s of suites) {
    if (!SUITES.includes(s)) throw new Error(`--suite: unknown suite "${s}" (${SUITES.join(", ")}, all)`);
  }
  const int = (v, what, def, min, max) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${what}: expected ${min}..${max}, got ${v}`);
    return n;
  };
  return {
    suites,
    quick: values.quick,
    reps: int(values.reps, "--reps", 3, 1, 20),
    seconds: int(values.seconds, "--seconds", values.quick ? 2 : 3, 1, 300),
    memorySeconds: values.quick ? 20 : 60,
    build: !values["no-build"],
  };
}

/**
 * Compiles src/ to dist/ under the same lock directory the engine's e2e tests use, so neither
 * starts from a half-written dist/. Type errors do not stop tsc's emit: they are reported (and
 * fail the bench under CI=true).
 */
function build() {
  const lock = join(tmpdir(), "iscsi-bench-engine-build.lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    log("building: tsc -p tsconfig.json");
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 180_000,
    });
    const errors = (r.stdout ?? "").split("\n").filter((l) => /error TS\d+/.test(l));
    if (r.status !== 0) {
      log(
        `tsc exited ${r.status ?? r.signal} with ${errors.length} type error(s); first: ${errors[0] ?? "?"}`,
      );
      if (CI) throw new Error("the build has type errors (CI=true)");
    }
    return { ok: r.status === 0, typeErrors: errors.slice(0, 20) };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A private copy of dist/ (with package.json and node_modules beside it) to run from. */
function snapshotDist(tmp) {
  const app = join(tmp, "app");
  mkdirSync(app);
  cpSync(join(ROOT, "dist"), join(app, "dist"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(app, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"), "dir");
  const cli = join(app, "dist", "cli.js");
  if (!existsSync(cli)) throw new Error("dist/cli.js is missing: run npm run build");
  return { app, cli };
}

function git(args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", timeout: 10000 }).trim();
  } catch {
    return null;
  }
}

function hostInfo() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? "unknown",
    memBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    loadavgAtStart: loadavg().map((x) => round(x, 2)),
  };
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Peers the selected suites need; a missing one is skipped (or fatal under CI=true). */
function checkPeers(suites) {
  const perf = which("iscsi-perf");
  const tgtd = which("tgtd") && which("tgtadm") ? "tgtd" : null;
  const skipped = [];
  const missing = (what, pkg, why) => {
    const msg = `${what} is not installed (Debian package ${pkg}): ${why}`;
    if (CI) throw new Error(`${msg} (CI=true: failing)`);
    log(`skipping: ${msg}`);
    skipped.push(msg);
  };
  const wantsPerf = suites.includes("initiator") || suites.includes("target");
  if (wantsPerf && !perf) missing("iscsi-perf", "libiscsi-bin", "no initiator or target comparison");
  if (wantsPerf && perf && !tgtd) missing("tgtd/tgtadm", "tgt", "no tgtd cases, no target suite");
  return { perf, tgtd: tgtd !== null, skipped };
}

/**
 * The measurements of one repetition: each (case, target, tool) the suites need, in an order
 * that alternates from one repetition to the next so no side always goes first.
 */
function repPlan(rep, suites, targets) {
  const flip = (xs) => (rep % 2 === 1 ? [...xs].reverse() : xs);
  const plan = [];
  for (const c of flip(CASES)) {
    for (const t of flip(targets)) {
      const tools = [];
      if (suites.includes("initiator")) tools.push("ours");
      if (suites.includes("initiator") || (suites.includes("target") && targets.length > 1))
        tools.push("iscsi-perf");
      for (const tool of flip(tools)) plan.push({ case: c, target: t, tool });
    }
  }
  return plan;
}

const metricOf = (c, s) => (s.ok ? (s[c.metric] ?? null) : null);
const fmtMetric = (c, x) => (c.metric === "iops" ? fmtIops(x) : fmtRate(x));

function medianOf(samples, c, target, tool, caseId = c.id) {
  return median(
    samples
      .filter((s) => s.case === caseId && s.target === target && s.tool === tool)
      .map((s) => metricOf(c, s)),
  );
}

/** Ratio of medians, plus the per-repetition ratios (their spread shows the noise). */
function compare(samples, c, a, b) {
  const A = medianOf(samples, c, a.target, a.tool);
  const bCase = b.case ?? c.id;
  const B = medianOf(samples, c, b.target, b.tool, bCase);
  const reps = [...new Set(samples.map((s) => s.rep))];
  const paired = reps.map((rep) => {
    const x = samples.find(
      (s) => s.rep === rep && s.case === c.id && s.target === a.target && s.tool === a.tool,
    );
    const y = samples.find(
      (s) => s.rep === rep && s.case === bCase && s.target === b.target && s.tool === b.tool,
    );
    return x && y ? ratio(metricOf(c, x), metricOf(c, y)) : null;
  });
  const n = samples.filter(
    (s) =>
      s.ok &&
      ((s.case === c.id && s.target === a.target && s.tool === a.tool) ||
        (s.case === bCase && s.target === b.target && s.tool === b.tool)),
  ).length;
  return {
    case: c.id,
    metric: c.metric,
    a,
    b,
    medianA: A,
    medianB: B,
    ratio: ratio(A, B),
    pairedRatios: paired.map((r) => round(r)),
    samples: n,
  };
}

async function main() {
  const opts = parseOptions();
  const startedAt = new Date();
  const host = hostInfo();
  log(
    `suites: ${opts.suites.join(", ")}; ${opts.reps} repetitions of ${opts.seconds}s; ${host.cpus} CPUs, node ${host.node}`,
  );
  const peers = checkPeers(opts.suites);
  const buildInfo = opts.build ? build() : { ok: null, skipped: true };
  const tmp = mkdtempSync(join(tmpdir(), "iscsi-bench-bench-"));
  const report = {
    tool: "iscsi-bench npm run bench",
    startedAt: startedAt.toISOString(),
    host,
    git: {
      commit: git(["rev-parse", "HEAD"]),
      srcDirty: (git(["status", "--porcelain", "src"]) ?? "") !== "",
    },
    options: opts,
    build: buildInfo,
    skipped: peers.skipped,
    targets: [],
    failures: [],
    samples: [],
    initiator: null,
    target: null,
    targetWrite: null,
    wire: null,
    memory: null,
    goals: null,
  };
  const running = [];
  const stopAll = async () => {
    while (running.length > 0)
      await running
        .pop()
        .stop()
        .catch(() => {});
  };
  const onSignal = () => {
    log("interrupted: stopping peers");
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { cli, app } = snapshotDist(tmp);
    const wantsComparisons =
      peers.perf !== null && (opts.suites.includes("initiator") || opts.suites.includes("target"));
    if (wantsComparisons) {
      const targets = [];
      const builtin = await startBuiltinTarget(cli, "1GiB", app);
      running.push(builtin);
      targets.push({ name: "built-in", url: builtin.url, backing: "memory LUN (1 GiB, sparse)" });
      if (peers.tgtd) {
        const tgtd = await startTgtd(TARGET_LUN_BYTES);
        running.push(tgtd);
        targets.push({ name: "tgtd", url: tgtd.url, backing: tgtd.backing });
      }
      report.targets = targets;
      log(`targets: ${targets.map((t) => `${t.name} ${t.url} (${t.backing})`).join(", ")}`);
      const workloads = new Map(
        CASES.map((c) => [c.id, writeWorkload(tmp, `bench-${c.id}`, { ...c, seconds: opts.seconds })]),
      );
      for (let rep = 0; rep < opts.reps; rep++) {
        const plan = repPlan(rep, opts.suites, targets);
        for (const [i, m] of plan.entries()) {
          const c = m.case;
          const cpu = opts.suites.includes("initiator");
          const once = (seconds, tag) =>
            m.tool === "ours"
              ? runOurs({
                  url: m.target.url,
                  seconds,
                  cpu,
                  cli,
                  cwd: app,
                  workloadPath: workloads.get(c.id),
                  outPath: join(tmp, `ours-${rep}-${i}${tag}.json`),
                })
              : runIscsiPerf({
                  url: m.target.url,
                  seconds,
                  cpu,
                  bin: peers.perf,
                  blockBytes: c.blockBytes,
                  queueDepth: c.queueDepth,
                  random: c.pattern === "random",
                });
          const lo0 = loopbackBytes();
          const r = await once(opts.seconds, "");
          const lo1 = loopbackBytes();
          const sample = { rep, case: c.id, target: m.target.name, tool: m.tool, ...r };
          delete sample.timeline;
          if (cpu && r.ok && opts.seconds > SHORT_SECONDS) {
            // CPU per I/O without start-up: (CPU long - CPU short) / (I/Os long - I/Os short)
            const short = await once(SHORT_SECONDS, "-short");
            sample.short = { ok: short.ok, cpuSec: short.cpuSec ?? null, ios: short.ios ?? null };
            const dIos = short.ok ? r.ios - short.ios : 0;
            sample.cpuPerIo =
              short.ok && r.cpuSec !== null && short.cpuSec !== null && dIos > 0
                ? (r.cpuSec - short.cpuSec) / dIos
                : null;
          }
          if (lo0 !== null && lo1 !== null) {
            sample.loopbackBytes = lo1 - lo0;
            // The payload the tool claims for its measured time must have crossed loopback.
            sample.loopbackCheck = r.ok ? lo1 - lo0 >= r.bytesPerSec * opts.seconds : null;
            if (sample.loopbackCheck === false) {
              report.failures.push(
                `${m.tool} ${m.target.name} ${c.id} rep ${rep + 1}: claims more bytes than loopback carried`,
              );
            }
          }
          report.samples.push(sample);
          const what = `[rep ${rep + 1}/${opts.reps}] ${m.tool.padEnd(10)} ${m.target.name.padEnd(8)} ${c.id.padEnd(13)}`;
          if (r.ok)
            log(
              `${what} ${fmtMetric(c, r[c.metric])}${sample.cpuPerIo != null ? ` ${fmtUs(sample.cpuPerIo * 1e6)} CPU/IO` : ""}`,
            );
          else {
            log(`${what} FAILED: ${r.error}`);
            report.failures.push(`${m.tool} ${m.target.name} ${c.id} rep ${rep + 1}: ${r.error}`);
          }
        }
      }
      if (opts.suites.includes("target")) {
        const tgtd = targets.find((t) => t.name === "tgtd") ?? null;
        for (let rep = 0; rep < opts.reps; rep++) {
          const ws = await writeCaseRep({ rep, cli, app, tmp, seconds: opts.seconds, tgtd, log });
          for (const x of ws)
            if (!x.ok) report.failures.push(`ours ${x.target} ${x.case} rep ${rep + 1}: ${x.error}`);
          report.samples.push(...ws);
        }
        const fl = report.samples
          .filter((x) => x.case === WRITE_CASE.id && x.target === "built-in" && x.ok)
          .map((x) => x.firstLast);
        report.targetWrite = {
          compare: tgtd
            ? compare(
                report.samples,
                WRITE_CASE,
                { target: "built-in", tool: "ours" },
                { target: "tgtd", tool: "ours" },
              )
            : null,
          builtinFirst: median(fl.map((x) => x.first)),
          builtinLast: median(fl.map((x) => x.last)),
          firstLast: fl.map((x) => round(x.ratio)),
        };
      }
      await stopAll();
      if (opts.suites.includes("initiator")) {
        report.initiator = targets.flatMap((t) =>
          CASES.map((c) => {
            const ours = { target: t.name, tool: "ours" };
            const perf = { target: t.name, tool: "iscsi-perf" };
            const pick = (tool, key) =>
              median(
                report.samples
                  .filter((x) => x.case === c.id && x.target === t.name && x.tool === tool && x.ok)
                  .map((x) => x[key]),
              );
            return {
              target: t.name,
              ...compare(report.samples, c, ours, perf),
              p50Us: pick("ours", "p50Us"),
              p99Us: pick("ours", "p99Us"),
              cpu: compare(report.samples, { id: c.id, metric: "cpuPerIo" }, ours, perf),
            };
          }),
        );
      }
      if (opts.suites.includes("target") && targets.length > 1) {
        report.target = CASES.map((c) =>
          compare(
            report.samples,
            c,
            { target: "built-in", tool: "iscsi-perf" },
            { target: "tgtd", tool: "iscsi-perf" },
          ),
        );
      }
    }
    if (opts.suites.includes("wire")) {
      const iperf3 = which("iperf3");
      if (iperf3 === null) {
        const msg = "iperf3 is not installed (Debian package iperf3): no wire ceiling";
        if (CI) throw new Error(`${msg} (CI=true: failing)`);
        report.skipped.push(msg);
      }
      const ws = [];
      for (let rep = 0; rep < opts.reps; rep++)
        ws.push(...(await wireRep({ rep, cli, app, tmp, seconds: opts.seconds, iperf3, log })));
      for (const x of ws) if (!x.ok) report.failures.push(`${x.tool} ${x.case} rep ${x.rep + 1}: ${x.error}`);
      report.samples.push(...ws.map(({ timeline, ...x }) => x));
      report.wire = WIRE_CASES.map((c) => ({
        label: c.label,
        ...compare(
          report.samples,
          c,
          { target: "embedded", tool: "ours" },
          { target: "loopback", tool: "iperf3", case: iperfId(c.blockBytes) },
        ),
      }));
    }
    if (opts.suites.includes("memory")) {
      const m = await memorySuite({ cli, cwd: app, tmp, seconds: opts.memorySeconds, log });
      report.memory = m;
      if (!m.run.ok) report.failures.push(`memory run: ${m.run.error}`);
      if (m.warning) log(`WARNING: RSS grew ${(m.growth * 100).toFixed(0)}% between 10 s and the end`);
    }
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  report.goals = evaluateGoals(report);
  report.finishedAt = new Date().toISOString();
  report.host.loadavgAtEnd = loadavg().map((x) => round(x, 2));
  printTables(report);
  mkdirSync(join(ROOT, "results"), { recursive: true });
  const out = join(ROOT, "results", `bench-${stamp(startedAt)}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${out}\n`);
  if (report.failures.length > 0) {
    log(`${report.failures.length} run(s) failed; first: ${report.failures[0]}`);
    process.exitCode = 1;
  }
}

function printTables(report) {
  const h = report.host;
  const lines = [
    `host: ${h.cpus} CPUs (${h.cpuModel}), node ${h.node}, load ${h.loadavgAtStart.join(" ")} -> ${h.loadavgAtEnd.join(" ")}`,
  ];
  if (report.initiator || report.target) {
    lines.push(
      `medians of ${report.options.reps} alternating repetitions of ${report.options.seconds}s; "per rep" is the spread of the per-repetition ratios`,
    );
  }
  if (report.initiator) {
    const t = new Table({
      style: NO_COLOR,
      head: [
        "initiator",
        "target",
        "ours",
        "ours p50/p99",
        "iscsi-perf",
        "ours/perf",
        "per rep",
        "CPU/IO ours",
        "CPU/IO perf",
        "ours/perf",
        "per rep",
      ],
    });
    for (const r of report.initiator) {
      const c = CASES.find((x) => x.id === r.case);
      t.push([
        c.label,
        r.target,
        fmtMetric(c, r.medianA),
        `${fmtUs(r.p50Us)} / ${fmtUs(r.p99Us)}`,
        fmtMetric(c, r.medianB),
        fmtRatio(r.ratio),
        fmtRange(r.pairedRatios),
        fmtUs(r.cpu.medianA === null ? null : r.cpu.medianA * 1e6),
        fmtUs(r.cpu.medianB === null ? null : r.cpu.medianB * 1e6),
        fmtRatio(r.cpu.ratio),
        fmtRange(r.cpu.pairedRatios),
      ]);
    }
    lines.push(t.toString());
  }
  if (report.target) {
    const t = new Table({
      style: NO_COLOR,
      head: ["target (iscsi-perf)", "built-in", "tgtd", "built-in/tgtd", "per rep"],
    });
    for (const r of report.target) {
      const c = CASES.find((x) => x.id === r.case);
      t.push([
        c.label,
        fmtMetric(c, r.medianA),
        fmtMetric(c, r.medianB),
        fmtRatio(r.ratio),
        fmtRange(r.pairedRatios),
      ]);
    }
    lines.push(t.toString());
  }
  const w = report.targetWrite;
  if (w) {
    const t = new Table({
      style: NO_COLOR,
      head: [
        "target write (ours, no ramp)",
        "built-in (cold)",
        "tgtd",
        "built-in/tgtd",
        "per rep",
        "built-in first s / last s",
        "first/last per rep",
      ],
    });
    const c = w.compare;
    t.push([
      WRITE_CASE.label.replace(" (ours)", ""),
      fmtIops(c?.medianA ?? null),
      fmtIops(c?.medianB ?? null),
      fmtRatio(c?.ratio ?? null),
      fmtRange(c?.pairedRatios ?? []),
      `${fmtIops(w.builtinFirst)} / ${fmtIops(w.builtinLast)}`,
      fmtRange(w.firstLast),
    ]);
    lines.push(t.toString());
  }
  if (report.wire) {
    const t = new Table({
      style: NO_COLOR,
      head: [
        "embedded default (QD32 per worker)",
        "ours",
        "iperf3 1 stream, same -l",
        "ours/iperf3",
        "per rep",
      ],
    });
    for (const r of report.wire) {
      t.push([r.label, fmtMB(r.medianA), fmtMB(r.medianB), fmtRatio(r.ratio), fmtRange(r.pairedRatios)]);
    }
    lines.push(t.toString());
  }
  const m = report.memory;
  if (m) {
    const pct = (g) => (g === null ? "n/a" : `${g >= 0 ? "+" : ""}${(g * 100).toFixed(1)}%`);
    const t = new Table({
      style: NO_COLOR,
      head: [
        `memory (${m.seconds}s, 4 workers x QD16, 4 KiB 50/50)`,
        `RSS at ${m.at10?.t ?? "?"} s`,
        `RSS at ${m.end?.t ?? "?"} s (end)`,
        "growth",
      ],
    });
    t.push([
      `iscsi-bench run${m.run.ok ? `, ${fmtIops(m.run.iops)}` : ", run FAILED"}`,
      fmtMiB(m.at10?.rssBytes ?? null),
      fmtMiB(m.end?.rssBytes ?? null),
      `${pct(m.growth)}${m.warning ? ` WARNING > ${GROWTH_WARNING * 100}%` : ""}`,
    ]);
    t.push([
      "built-in target (for reference)",
      fmtMiB(m.at10?.targetRssBytes ?? null),
      fmtMiB(m.end?.targetRssBytes ?? null),
      pct(m.targetGrowth),
    ]);
    lines.push(t.toString());
  }
  if (report.goals) {
    const t = new Table({ style: NO_COLOR, head: ["goal (issue 11)", "per rep range", "status"] });
    for (const g of report.goals)
      t.push([
        g.goal,
        g.range === null ? "n/a" : `${g.range[0].toFixed(2)}–${g.range[1].toFixed(2)}`,
        g.status,
      ]);
    lines.push(t.toString());
  }
  for (const s of report.skipped) lines.push(`skipped: ${s}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
