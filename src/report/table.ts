/**
 * The summary table printed on stderr at the end of a run (cli-table3): per job step and in
 * total, read and write IOPS, MB/s and MiB/s, latency percentiles, errors and reconnects; below
 * it the link, verification, recovery (when anything happened) and errors by sense.
 */
import Table from "cli-table3";
import type {
  Efficiency,
  LinkReport,
  OpEfficiency,
  OpSummary,
  RecoveryReport,
  RunResult,
} from "../result/types.js";

/** 850 -> "850µs", 1234 -> "1.23ms", 2_500_000 -> "2.50s". */
export function formatLatencyUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : us < 100_000 ? 1 : 0)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

export function formatRate(n: number): string {
  if (n >= 100) return Math.round(n).toString();
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

const CYAN = "\x1b[36m";
const RESET = "\x1b[39m";

/** The summary table's columns (the terminal's and the HTML report's). */
export const SUMMARY_HEADER = [
  "job",
  "qd",
  "op",
  "IOPS",
  "MB/s",
  "MiB/s",
  "min",
  "mean",
  "p50",
  "p90",
  "p99",
  "p99.9",
  "p99.99",
  "max",
  "errors",
  "reconn",
];

/** One operation's cells: IOPS, MB/s, MiB/s and the latency figures. */
export function opCells(op: OpSummary): string[] {
  const l = op.latencyUs;
  return [
    formatRate(op.iops),
    formatRate(op.bytesPerSec / 1e6),
    formatRate(op.bytesPerSec / 1048576),
    formatLatencyUs(l.min),
    formatLatencyUs(l.mean),
    formatLatencyUs(l.p50),
    formatLatencyUs(l.p90),
    formatLatencyUs(l.p99),
    formatLatencyUs(l.p99_9),
    formatLatencyUs(l.p99_99),
    formatLatencyUs(l.max),
  ];
}

function opRows(
  label: string,
  qd: string,
  read: OpSummary,
  write: OpSummary,
  errors: number,
  reconnects: number,
) {
  const rows: string[][] = [];
  const ops: Array<["read" | "write", OpSummary]> = [];
  if (read.ios > 0 || write.ios === 0) ops.push(["read", read]);
  if (write.ios > 0) ops.push(["write", write]);
  ops.forEach(([name, op], i) => {
    rows.push([
      i === 0 ? label : "",
      i === 0 ? qd : "",
      name,
      ...opCells(op),
      i === 0 ? String(errors) : "",
      i === 0 ? String(reconnects) : "",
    ]);
  });
  return rows;
}

/** "100 Mbit/s" — decimal units, as links are sold. */
export function formatBitsPerSec(b: number): string {
  const short = (v: number): string => String(Number(v.toPrecision(4)));
  if (b >= 1e9) return `${short(b / 1e9)} Gbit/s`;
  if (b >= 1e6) return `${short(b / 1e6)} Mbit/s`;
  if (b >= 1e3) return `${short(b / 1e3)} kbit/s`;
  return `${short(b)} bit/s`;
}

/** "link 100 Mbit/s (emulated by --link, MTU 1500)" */
export function describeLink(l: Omit<LinkReport, "source"> & { source: string }): string {
  const rate = l.nominalBitsPerSec > 0 ? formatBitsPerSec(l.nominalBitsPerSec) : "unlimited";
  const how = l.emulated
    ? `emulated by ${l.source}`
    : `declared by ${l.source === "option" ? "--link-rate" : l.source}`;
  const delay = l.delayMs > 0 ? `, ${l.delayMs} ms one-way delay` : "";
  return `link ${rate} (${how}, MTU ${l.mtu}${delay})`;
}

/** MB/s with enough digits to tell a figure from its ceiling: 11.75, 117.0, 1170. */
const mbs = (b: number): string => {
  const v = b / 1e6;
  return v < 100 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : Math.round(v).toString();
};

function efficiencyText(name: string, op: OpSummary, e: OpEfficiency): string {
  return (
    `${name} ${mbs(op.bytesPerSec)} MB/s = ${e.ofLineRatePct.toFixed(1)} % of the line rate, ` +
    `${e.ofPayloadCeilingPct.toFixed(1)} % of the ${mbs(e.payloadCeilingBytesPerSec)} MB/s iSCSI payload ceiling` +
    // a declared link that carried more than it can: the declaration is wrong, not the wire
    (e.ofPayloadCeilingPct > 100.5 ? " (more than such a link can carry: is the declared rate right?)" : "")
  );
}

/** One line for the link, then how close to it each job (when several) and the total came. */
function linkLines(result: RunResult): string[] {
  if (!result.link) return [];
  const out = [`${describeLink(result.link)}:`];
  const add = (
    label: string,
    ops: { read: OpSummary; write: OpSummary },
    e: Efficiency | null | undefined,
  ) => {
    const parts: string[] = [];
    if (e?.read) parts.push(efficiencyText("read", ops.read, e.read));
    if (e?.write) parts.push(efficiencyText("write", ops.write, e.write));
    if (parts.length > 0) out.push(`  ${label}: ${parts.join("; ")}`);
  };
  if (result.jobs.length > 1)
    for (const j of result.jobs) add(`${j.name} qd ${j.queueDepth}`, j, j.efficiency);
  add("total", result.summary, result.summary.efficiency);
  return out;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * "recovery: 10 reconnects (10 reinstatements), 37 commands re-issued, outage 1.9 s", with each
 * other nonzero count; null when recovery did nothing (or the result has no recovery counts).
 */
export function recoveryLine(r: RecoveryReport | undefined): string | null {
  if (r === undefined) return null;
  const parts: string[] = [];
  if (r.reconnects > 0 || r.reinstatements > 0)
    parts.push(`${plural(r.reconnects, "reconnect")} (${plural(r.reinstatements, "reinstatement")})`);
  if (r.reissued > 0) parts.push(`${plural(r.reissued, "command")} re-issued`);
  if (r.commandTimeouts > 0) parts.push(`${plural(r.commandTimeouts, "command timeout")}`);
  if (r.aborts > 0) parts.push(`${plural(r.aborts, "abort")}`);
  if (r.unitAttentions > 0) parts.push(`${plural(r.unitAttentions, "unit attention")} consumed`);
  if (r.busyRetries > 0)
    parts.push(`${plural(r.busyRetries, "BUSY/TASK SET FULL retry", "BUSY/TASK SET FULL retries")}`);
  if (r.recoveredBlocks > 0) parts.push(`${plural(r.recoveredBlocks, "block")} recovered (checked again)`);
  if (r.outageMs > 0) parts.push(`outage ${(r.outageMs / 1000).toFixed(1)} s`);
  return parts.length > 0 ? `recovery: ${parts.join(", ")}` : null;
}

/** The table as text (no trailing newline). `color` enables the cyan header of a colour terminal. */
export function renderSummaryTable(result: RunResult, color: boolean): string {
  // The caller decides about colour (a colour TTY, NO_COLOR unset); cli-table3's own styling
  // would ask its colour library, which turns itself off whenever CI is set, so write the codes here.
  const table = new Table({
    head: color ? SUMMARY_HEADER.map((h) => `${CYAN}${h}${RESET}`) : SUMMARY_HEADER,
    style: { head: [], border: [] },
    colAligns: ["left", "right", "left", ...SUMMARY_HEADER.slice(3).map(() => "right" as const)],
  });
  for (const j of result.jobs) {
    for (const row of opRows(j.name, String(j.queueDepth), j.read, j.write, j.errors, j.reconnects)) {
      table.push(row);
    }
  }
  const s = result.summary;
  for (const row of opRows("total", "", s.read, s.write, s.errors, s.reconnects)) table.push(row);
  const lines = [table.toString()];
  lines.push(...linkLines(result));
  if ((result.repeat ?? 1) > 1) {
    lines.push(
      `each step measured ${result.repeat} times (--repeat); the rows are the total of the repetitions`,
    );
  }
  if (s.verify.enabled) {
    lines.push(
      `verify: ${s.verify.blocksChecked} blocks checked, ${s.verify.mismatches} mismatch${s.verify.mismatches === 1 ? "" : "es"}`,
    );
    for (const m of s.verify.failures.slice(0, 10)) {
      lines.push(
        `  ${m.job}: LBA ${m.lba}: ${m.kind} (expected generation ${m.expectedGeneration}, found ${m.foundGeneration ?? "none"})`,
      );
    }
  }
  const recovery = recoveryLine(s.recovery);
  if (recovery !== null) lines.push(recovery);
  for (const j of result.jobs) {
    if (j.rate !== null && !j.rate.keptUp) {
      lines.push(
        `${j.name}: the target could not keep up with the requested rate (schedule ${Math.round(j.rate.maxLagMs)} ms behind)`,
      );
    }
  }
  const senses = Object.entries(s.errorsBySense);
  if (senses.length > 0) {
    lines.push("errors by sense:");
    for (const [k, n] of senses) lines.push(`  ${n} x ${k}`);
  }
  if (result.interrupted) lines.push(`run interrupted${result.stopReason ? `: ${result.stopReason}` : ""}`);
  return lines.join("\n");
}
