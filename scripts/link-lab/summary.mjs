#!/usr/bin/env node
// summary.mjs <out dir>: the markdown table of a link-lab.sh run (summary.md, also printed) and
// its data (summary.json). Reads cases.tsv (case, target, rate, mtu, result file, exit code, and
// "tc" or "emulator": tc's shaping, or iscsi-bench's --link on the unshaped veth), each
// iscsi-bench result JSON, iperf3-<rate>-<read|write>.json and iscsi-perf.tsv when present.
//
// Payload ceiling of one direction (what TCP/IPv4 over Ethernet can carry as iSCSI data):
//   rate/8 × L / ((48 + hd + L + pad + dd) × (MTU + 38)/(MTU − 52))
// with L the data bytes per PDU: for reads the target sends Data-In PDUs of at most the
// INITIATOR's declared MaxRecvDataSegmentLength (`maxRecvDataSegmentLength` in the result), for
// writes the initiator sends Data-Out / immediate data of at most the TARGET's
// (`peerMaxRecvDataSegmentLength`); and no PDU carries more than the I/O, so L = min(that, block
// size). hd / dd: 4 bytes each when the header / data digest was negotiated; pad to 4 bytes.
// Command, R2T, response PDUs and the reverse direction's ACKs are not counted: a ceiling.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: summary.mjs <link-lab out dir>");
  process.exit(2);
}

const RATE_BITS = { "100mbit": 100e6, "1gbit": 1e9 };

function readTsv(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t"));
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

export function payloadCeiling({ bitsPerSec, mtu, segment, headerDigest, dataDigest }) {
  const pad = (4 - (segment % 4)) % 4;
  const pdu = 48 + (headerDigest ? 4 : 0) + segment + pad + (dataDigest ? 4 : 0);
  return ((bitsPerSec / 8) * segment) / ((pdu * (mtu + 38)) / (mtu - 52));
}

function fmtUs(us) {
  if (typeof us !== "number") return "–";
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)}s`;
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : us >= 10_000 ? 1 : 2)}ms`;
  return `${Math.round(us)}µs`;
}
const mb = (bps) => (typeof bps === "number" ? (bps / 1e6).toFixed(2) : "–");
const pct = (a, b) =>
  typeof a === "number" && typeof b === "number" && b > 0 ? `${((100 * a) / b).toFixed(1)} %` : "–";

function iperfBytesPerSec(rate, dir) {
  const j = readJson(join(out, `iperf3-${rate}-${dir}.json`));
  const bits = j?.end?.sum_received?.bits_per_second;
  return typeof bits === "number" ? bits / 8 : undefined;
}

// iscsi-perf prints one "\r"-rewritten line a second:
//   "00:00:05 - lba 115968, iops current 89 (11 MB/s), iops average 88 (11 MB/s), in_flight 8, busy 0"
// Its MB/s are whole numbers, so the rate is taken from the LBA progress between the first and the
// last full-queue line (lba is where the next request starts: the in-flight offset cancels out).
function iscsiPerfBytesPerSec(file, blockBytes = 512) {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const re =
    /(\d+):(\d+):(\d+) - lba (\d+), iops current \d+ \([^)]*\), iops average (\d+)[^,]*, in_flight (\d+)/g;
  const pts = [];
  for (const m of text.matchAll(re)) {
    pts.push({ t: +m[1] * 3600 + +m[2] * 60 + +m[3], lba: +m[4], inFlight: +m[6] });
  }
  if (pts.length < 3) return undefined;
  const full = Math.max(...pts.map((p) => p.inFlight));
  const steady = pts.filter((p) => p.inFlight === full);
  const a = steady[0];
  const b = steady[steady.length - 1];
  if (!a || !b || b.t <= a.t) return undefined;
  return ((b.lba - a.lba) * blockBytes) / (b.t - a.t);
}

const rows = [];
for (const [kase, target, rate, mtuText, file, code, via = "tc"] of readTsv(join(out, "cases.tsv"))) {
  const mtu = Number(mtuText);
  const bitsPerSec = RATE_BITS[rate];
  const row = { case: kase, target, rate, mtu, file, exitCode: Number(code), via };
  const r = readJson(join(out, file));
  if (r) {
    const op = kase === "seq-write" ? "write" : "read";
    const s = r.summary?.[op];
    const n = r.target?.negotiated ?? {};
    const sizes = (r.workload?.jobs?.[0]?.blockSizes ?? []).map((b) => b.bytes);
    const bs = sizes.length > 0 ? Math.max(...sizes) : undefined;
    const declared = op === "read" ? n.maxRecvDataSegmentLength : n.peerMaxRecvDataSegmentLength;
    row.op = op;
    row.bytesPerSec = s?.bytesPerSec;
    row.iops = s?.iops;
    row.p50Us = s?.latencyUs?.p50;
    row.p99Us = s?.latencyUs?.p99;
    row.link = r.link ?? null;
    if (typeof declared === "number" && bitsPerSec) {
      row.segment = typeof bs === "number" ? Math.min(declared, bs) : declared;
      row.ceiling = payloadCeiling({
        bitsPerSec,
        mtu,
        segment: row.segment,
        headerDigest: n.headerDigest === true,
        dataDigest: n.dataDigest === true,
      });
    }
    row.iperf = iperfBytesPerSec(rate, op);
  }
  rows.push(row);
}

const perf = [];
for (const [rate, mtuText, file] of readTsv(join(out, "iscsi-perf.tsv"))) {
  const mtu = Number(mtuText);
  const bytesPerSec = iscsiPerfBytesPerSec(join(out, file));
  // libiscsi declares MaxRecvDataSegmentLength 262144: its 128 KiB reads come as one Data-In each.
  const ceiling = payloadCeiling({ bitsPerSec: RATE_BITS[rate], mtu, segment: 131072 });
  perf.push({ rate, mtu, file, bytesPerSec, ceiling, iperf: iperfBytesPerSec(rate, "read") });
}

const linkLabel = (rate, mtu) => (mtu === 1500 ? rate : `${rate},mtu=${mtu}`);
const lines = [];
lines.push(
  "| case | target | link | MB/s | IOPS | p50 | p99 | ceiling MB/s | % of ceiling | iperf3 MB/s | % of iperf3 |",
);
lines.push("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const x of rows) {
  // "tc": the real shaped veth; "--link": the same veth unshaped, iscsi-bench's emulator shaping
  const link = `${linkLabel(x.rate, x.mtu)}${x.via === "emulator" ? " (--link)" : " (tc)"}`;
  if (x.bytesPerSec === undefined) {
    lines.push(`| ${x.case} | ${x.target} | ${link} | failed (exit ${x.exitCode}) | | | | | | | |`);
    continue;
  }
  const flag = x.exitCode === 0 ? "" : ` (exit ${x.exitCode})`;
  lines.push(
    `| ${x.case}${flag} | ${x.target} | ${link} | ${mb(x.bytesPerSec)} | ${x.iops.toFixed(0)} | ${fmtUs(x.p50Us)} | ${fmtUs(x.p99Us)} | ${mb(x.ceiling)} | ${pct(x.bytesPerSec, x.ceiling)} | ${mb(x.iperf)} | ${pct(x.bytesPerSec, x.iperf)} |`,
  );
}
for (const p of perf) {
  lines.push(
    `| seq-read (iscsi-perf 128KiB QD8) | tgtd | ${linkLabel(p.rate, p.mtu)} | ${mb(p.bytesPerSec)} | ${p.bytesPerSec ? (p.bytesPerSec / 131072).toFixed(0) : "–"} | – | – | ${mb(p.ceiling)} | ${pct(p.bytesPerSec, p.ceiling)} | ${mb(p.iperf)} | ${pct(p.bytesPerSec, p.iperf)} |`,
  );
}

const notes = [];
const iperfRates = [
  ...new Set([...rows.map((r) => `${r.rate}\t${r.mtu}`), ...perf.map((p) => `${p.rate}\t${p.mtu}`)]),
];
for (const key of iperfRates) {
  const [rate, mtuText] = key.split("\t");
  const mtu = Number(mtuText);
  const rd = iperfBytesPerSec(rate, "read");
  const wr = iperfBytesPerSec(rate, "write");
  if (rd === undefined && wr === undefined) continue;
  const expected = (RATE_BITS[rate] * (mtu - 52)) / (mtu + 38);
  const mbit = (b) => (b === undefined ? "–" : `${((b * 8) / 1e6).toFixed(2)} Mbit/s`);
  notes.push(
    `- iperf3 TCP goodput at ${linkLabel(rate, mtu)}: read direction ${mbit(rd)}, write direction ${mbit(wr)}; a real wire carries rate × ${mtu - 52}/${mtu + 38} = ${(expected / 1e6).toFixed(2)} Mbit/s (${(expected / 8e6).toFixed(2)} MB/s).`,
  );
}
for (const p of perf) {
  const ours = rows.find(
    (r) =>
      r.case === "seq-read" && r.target === "tgtd" && r.rate === p.rate && r.mtu === p.mtu && r.via === "tc",
  );
  if (ours?.bytesPerSec !== undefined && p.bytesPerSec !== undefined) {
    notes.push(
      `- benchmark ${linkLabel(p.rate, p.mtu)}, 128 KiB reads at QD8 from tgtd's null LUN: iscsi-bench ${mb(ours.bytesPerSec)} MB/s = ${pct(ours.bytesPerSec, p.bytesPerSec)} of iscsi-perf (${mb(p.bytesPerSec)})${p.iperf ? `, ${pct(ours.bytesPerSec, p.iperf)} of iperf3 (${mb(p.iperf)}); iscsi-perf ${pct(p.bytesPerSec, p.iperf)} of iperf3` : ""}.`,
    );
  }
}
notes.push(
  "- MB/s = 10^6 bytes/s of iSCSI payload. Ceiling: rate/8 × L/((48 + digests + L) × (MTU+38)/(MTU−52)), L = min(data segment length the receiver declared, block size). seq-* 128 KiB QD8, rand-read-* 4 KiB.",
);

const md = `${lines.join("\n")}\n\n${notes.join("\n")}\n`;
writeFileSync(join(out, "summary.md"), md);
writeFileSync(join(out, "summary.json"), `${JSON.stringify({ cases: rows, iscsiPerf: perf }, null, 2)}\n`);
process.stdout.write(md);
