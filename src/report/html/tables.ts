/**
 * The report's tables, as static HTML (readable without scripts and in print): the run summary as
 * the terminal prints it, link efficiency, and side-by-side key/value tables of the run, the
 * workload, the target with its negotiated parameters, and errors, reconnects and verification.
 * With several results each one is a column and the rows whose values differ are marked.
 */
import type { OpSummary, RunResult } from "../../result/types.js";
import { formatBytes, formatDuration } from "../../workload/units.js";
import { describeLink, formatBitsPerSec, formatRate, opCells, SUMMARY_HEADER } from "../table.js";
import { opsOf, type ReportRun } from "./data.js";
import { esc, list, table } from "./html.js";

/** The run summary: every job step and the total, one row per operation (as in the terminal). */
export function summaryTable(runs: ReportRun[]): string {
  const many = runs.length > 1;
  const rows: string[][] = [];
  const rowClass: string[] = [];
  for (const run of runs) {
    const r = run.result;
    const parts: Array<[string, string, { read: OpSummary; write: OpSummary }, number, number]> = r.jobs.map(
      (j) => [j.name, String(j.queueDepth), j, j.errors, j.reconnects],
    );
    parts.push(["total", "", r.summary, r.summary.errors, r.summary.reconnects]);
    parts.forEach(([label, qd, ops, errors, reconnects], k) => {
      const names = opsOf(r).filter((op) => ops[op].ios > 0 || op === opsOf(r)[0]);
      names.forEach((op, n) => {
        const first = n === 0;
        rows.push(
          [
            ...(many ? [first && k === 0 ? esc(run.label) : ""] : []),
            first ? esc(label) : "",
            first ? qd : "",
            op,
            ...opCells(ops[op]).map(esc),
            first ? String(errors) : "",
            first ? String(reconnects) : "",
          ].map(String),
        );
        rowClass.push(
          [label === "total" ? "total" : "", first && k === 0 && many ? "first" : ""].join(" ").trim(),
        );
      });
    });
  }
  const offset = many ? 1 : 0;
  return table({
    head: [...(many ? ["result"] : []), ...SUMMARY_HEADER],
    rows,
    rowClass,
    numeric: [1, ...Array.from({ length: 13 }, (_, i) => i + 3)].map((i) => i + offset),
    className: "summary",
  });
}

/** Lines under the summary: repetitions, rates not kept up, interruptions, what a file lacks. */
export function summaryNotes(runs: ReportRun[]): string {
  const notes: string[] = [];
  for (const run of runs) {
    const r = run.result;
    const who = runs.length > 1 ? `${esc(run.label)}: ` : "";
    if ((r.repeat ?? 1) > 1)
      notes.push(`${who}each step measured ${r.repeat} times (--repeat); the rows are their total`);
    for (const j of r.jobs) {
      if (j.rate !== null && !j.rate.keptUp)
        notes.push(
          `${who}${esc(j.name)}: the target could not keep up with the requested rate (schedule ${Math.round(j.rate.maxLagMs)} ms behind)`,
        );
    }
    if (r.interrupted) notes.push(`${who}run interrupted${r.stopReason ? `: ${esc(r.stopReason)}` : ""}`);
    if (run.missing.length > 0)
      notes.push(
        `${who}schemaVersion ${r.schemaVersion} file: it has no ${run.missing.map(esc).join(", no ")}; the report shows what it has`,
      );
  }
  return list(notes);
}

const pct = (x: number): string => `${x.toFixed(1)} %`;
const mbs = (b: number): string => `${formatRate(b / 1e6)} MB/s`;

/** How close to the link each job and the total came, for the results whose link is known. */
export function efficiencyTable(runs: ReportRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    const r = run.result;
    if (!r.link) continue;
    const parts = [
      // every job step when there are several (as in the terminal), then the total
      ...(r.jobs.length > 1
        ? r.jobs.map((j) => [`${j.name} qd ${j.queueDepth}`, j, j.efficiency] as const)
        : []),
      ["total", r.summary, r.summary.efficiency] as const,
    ];
    for (const [label, ops, eff] of parts) {
      for (const op of opsOf(r)) {
        const e = eff?.[op];
        if (!e) continue;
        rows.push([
          esc(run.label),
          esc(describeLink(r.link)),
          esc(label),
          op,
          mbs(ops[op].bytesPerSec),
          pct(e.ofLineRatePct),
          pct(e.ofPayloadCeilingPct),
          mbs(e.payloadCeilingBytesPerSec),
        ]);
      }
    }
  }
  if (rows.length === 0) return "";
  return table({
    head: ["result", "link", "job", "op", "payload", "of line rate", "of payload ceiling", "payload ceiling"],
    rows,
    numeric: [4, 5, 6, 7],
  });
}

type Rows = Map<string, string>;

/** Key/value rows, one column per result; rows whose values differ are marked "≠" (and bold). */
export function sideBySide(runs: ReportRun[], perRun: Rows[], keyHead = "key"): string {
  const keys: string[] = [];
  for (const rows of perRun) for (const k of rows.keys()) if (!keys.includes(k)) keys.push(k);
  const many = runs.length > 1;
  const rowClass: string[] = [];
  const rows = keys.map((k) => {
    const vals = perRun.map((rows) => rows.get(k) ?? "—");
    const differs = many && new Set(vals).size > 1;
    rowClass.push(differs ? "differs" : "");
    return [`${differs ? '<span class="ne" title="differs">≠</span> ' : ""}${esc(k)}`, ...vals.map(esc)];
  });
  return table({ head: [keyHead, ...runs.map((r) => esc(r.label))], rows, rowClass, className: "kv" });
}

export function runRows(run: ReportRun): Rows {
  const r = run.result;
  const m: Rows = new Map();
  m.set("file", run.path + (run.baseline ? " (baseline)" : ""));
  m.set("started", r.startedAt);
  m.set("measured", `${r.durationSec} s`);
  m.set("repetitions", String(r.repeat ?? 1));
  m.set("finished", r.interrupted ? `interrupted${r.stopReason ? `: ${r.stopReason}` : ""}` : "yes");
  m.set("tool", `${r.tool.name} ${r.tool.version} (result schemaVersion ${r.schemaVersion})`);
  m.set("host", `${r.host.cpus} CPUs, Node ${r.host.node}, ${r.host.platform}`);
  if (r.environment) m.set("CPU", `${r.environment.cpu.model} × ${r.environment.cpu.count}`);
  m.set("link", r.link ? describeLink(r.link) : "not known");
  if (r.fingerprint) m.set("fingerprint", r.fingerprint);
  return m;
}

function workloadValue(key: string, v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (typeof v === "number" && (key === "size" || key === "offset" || key === "maxBytes"))
    return formatBytes(v);
  if (typeof v === "number" && key.endsWith("Ms")) return formatDuration(v);
  if (key === "blockSizes" && Array.isArray(v)) {
    const bs = v as Array<{ bytes: number; weight: number }>;
    const total = bs.reduce((n, b) => n + b.weight, 0);
    return bs.length === 1
      ? formatBytes(bs[0]!.bytes)
      : bs.map((b) => `${formatBytes(b.bytes)} ${Math.round((b.weight / total) * 100)} %`).join(", ");
  }
  if (key === "queueDepths" && Array.isArray(v)) return v.join(", ");
  if (key === "distribution" && typeof v === "object") {
    const { kind, ...rest } = v as Record<string, unknown>;
    const params = Object.values(rest);
    return params.length > 0 ? `${kind}:${params.join(",")}` : String(kind);
  }
  if (key === "rate" && typeof v === "object") {
    const rate = v as { iops?: number | null; bytesPerSec?: number | null };
    return rate.iops
      ? `${rate.iops} IOPS`
      : rate.bytesPerSec
        ? `${formatRate(rate.bytesPerSec / 1e6)} MB/s`
        : "none";
  }
  if (key === "readPercent" && typeof v === "number") return `${v} %`;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The resolved workload: its own keys, then "<job>: <key>" for each job. */
export function workloadRows(r: RunResult): Rows {
  const m: Rows = new Map();
  const w = r.workload;
  for (const [k, v] of Object.entries(w)) {
    if (k === "jobs" || k === "$schema") continue;
    m.set(
      k === "durationMs" ? "duration (per step)" : k === "rampTimeMs" ? "ramp (per step, not recorded)" : k,
      workloadValue(k, v),
    );
  }
  const jobs = Array.isArray(w["jobs"]) ? (w["jobs"] as Array<Record<string, unknown>>) : [];
  for (const j of jobs) {
    const name = String(j["name"] ?? "job");
    for (const [k, v] of Object.entries(j)) if (k !== "name") m.set(`${name}: ${k}`, workloadValue(k, v));
  }
  return m;
}

/** The target's identity, then every negotiated parameter. */
export function targetRows(r: RunResult): Rows {
  const t = r.target;
  const m: Rows = new Map();
  m.set("URL", t.url);
  m.set("built-in target", t.builtin ? "yes" : "no");
  m.set("LUN", String(t.lun));
  m.set("vendor / product / revision", `${t.vendor} / ${t.product} / ${t.revision}`);
  m.set("block size", `${t.blockSize} B`);
  m.set("capacity", formatBytes(t.capacityBytes));
  if (r.link) m.set("link rate", formatBitsPerSec(r.link.nominalBitsPerSec));
  for (const [k, v] of Object.entries(t.negotiated ?? {}))
    m.set(k, typeof v === "boolean" ? (v ? "Yes" : "No") : String(v));
  if (t.negotiated === null) m.set("negotiated", "not recorded");
  return m;
}

/** Errors (total and by sense), reconnects and verification, by result. */
export function healthRows(r: RunResult): Rows {
  const s = r.summary;
  const m: Rows = new Map();
  m.set("errors", String(s.errors));
  for (const [sense, n] of Object.entries(s.errorsBySense)) m.set(`errors: ${sense}`, String(n));
  m.set("reconnects", String(s.reconnects));
  if (r.jobs.length > 1)
    for (const j of r.jobs) m.set(`reconnects: ${j.name} qd ${j.queueDepth}`, String(j.reconnects));
  m.set("verify", s.verify.enabled ? "enabled" : "off");
  if (s.verify.enabled) {
    m.set("verify: blocks checked", String(s.verify.blocksChecked));
    m.set("verify: mismatches", String(s.verify.mismatches));
  }
  return m;
}

/** The recorded verification failures (the result keeps at most 100), by result. */
export function verifyFailures(runs: ReportRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    for (const f of run.result.summary.verify.failures) {
      rows.push([
        esc(run.label),
        esc(f.job),
        String(f.lba),
        f.kind,
        String(f.expectedGeneration),
        f.foundGeneration === null ? "none" : String(f.foundGeneration),
      ]);
    }
  }
  if (rows.length === 0) return "";
  return table({
    caption: "verification mismatches",
    head: ["result", "job", "LBA", "kind", "expected generation", "found generation"],
    rows,
    numeric: [2, 4, 5],
  });
}
