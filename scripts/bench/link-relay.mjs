#!/usr/bin/env node
/**
 * `node scripts/bench/link-relay.mjs [--reps N] [--seconds S] [--gb G]` (after `npm run build`)
 *
 * The link emulator's own ceiling. A loopback source writes to a sink (both on this thread) either
 * directly or through the relay running in its worker (startLink from dist/link/index.js):
 *   direct         source → sink, the machine's loopback figure
 *   relay          source → relay (no rate, no delay) → sink; must carry ≥ 5× the iSCSI payload
 *                  ceiling of a 1 Gbit/s link (117.0 MB/s with 8 KiB PDUs at MTU 1500), ~585 MB/s
 *   1gbit, 100mbit source → emulated link → sink: the payload rate against the link's TCP payload
 *                  ceiling (line rate × 1448/1538); a relay fast enough to emulate the link lands
 *                  just under 100 %
 * Each unlimited transfer stops at --gb GB or --seconds s, whichever first; direct and relay
 * alternate --reps times and the medians are compared (the machine is shared). The relay's CPU
 * time is its worker thread's (/proc/thread-self/stat, 10 ms ticks) per GB carried.
 * MB = 1e6 bytes. Exit status 1 if the relay's ceiling is under 5×. Traffic: 127.0.0.1 only.
 */
import { existsSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = join(ROOT, "dist", "link", "index.js");
if (!existsSync(DIST)) {
  console.error(`${DIST} missing: run npm run build first`);
  process.exit(2);
}
const link = await import(pathToFileURL(DIST).href);

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    gb: { type: "string", default: "3" },
  },
});
const REPS = Math.max(1, Math.min(10, Number(values.reps) || 3));
const MAX_MS = Math.max(1, Math.min(30, Number(values.seconds) || 5)) * 1000;
const MAX_BYTES = Math.max(0.1, Math.min(20, Number(values.gb) || 3)) * 1e9;
const MB = 1e6;

const CHUNK = Buffer.alloc(1 << 20, 0x5a);

/** A sink that counts what each connection brings; resolves a connection's promise at its end. */
function startSink() {
  const waiting = [];
  const server = net.createServer((s) => {
    const w = waiting.shift();
    let bytes = 0;
    s.on("data", (d) => {
      bytes += d.length;
    });
    s.on("end", () => {
      s.end();
      w?.({ bytes, at: performance.now() });
    });
    s.on("error", () => {});
  });
  return new Promise((res) => {
    server.listen(0, "127.0.0.1", () =>
      res({
        port: server.address().port,
        next: () => new Promise((r) => waiting.push(r)),
        close: () => new Promise((r) => server.close(() => r())),
      }),
    );
  });
}

/** Writes CHUNK to port until maxBytes or maxMs, then ends; returns bytes and seconds to the sink's end. */
async function transfer(sink, port, maxBytes, maxMs) {
  const arrived = sink.next();
  const s = net.connect({ host: "127.0.0.1", port });
  s.on("error", () => {});
  await new Promise((r, j) => {
    s.once("connect", r);
    s.once("error", j);
  });
  const start = performance.now();
  const kill = setTimeout(() => s.destroy(), maxMs + 20_000);
  let sent = 0;
  while (sent < maxBytes && performance.now() - start < maxMs) {
    sent += CHUNK.length;
    if (!s.write(CHUNK)) await new Promise((r) => s.once("drain", r));
  }
  s.end();
  const { bytes, at } = await arrived;
  clearTimeout(kill);
  s.destroy();
  return { bytes, seconds: (at - start) / 1000 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (n, d = 1) => n.toFixed(d);

const sink = await startSink();
const to = { host: "127.0.0.1", port: sink.port };
const results = { direct: [], relay: [], cpuMsPerGb: [] };

console.log(`link relay ceiling: ${REPS} reps, each up to ${MAX_BYTES / 1e9} GB or ${MAX_MS / 1000} s`);
const unlimited = await link.startLink({
  listenHost: "127.0.0.1",
  listenPort: 0,
  to,
  spec: link.parseLinkSpec("0"),
});
try {
  for (let i = 0; i < REPS; i++) {
    const d = await transfer(sink, sink.port, MAX_BYTES, MAX_MS);
    results.direct.push(d.bytes / d.seconds / MB);
    const before = await unlimited.stats();
    const r = await transfer(sink, unlimited.port, MAX_BYTES, MAX_MS);
    const after = await unlimited.stats();
    results.relay.push(r.bytes / r.seconds / MB);
    if (before.cpu && after.cpu) {
      const ms = after.cpu.userMs + after.cpu.systemMs - before.cpu.userMs - before.cpu.systemMs;
      results.cpuMsPerGb.push(ms / (r.bytes / 1e9));
    }
    console.log(
      `  rep ${i + 1}: direct ${fmt(results.direct.at(-1))} MB/s, relay ${fmt(results.relay.at(-1))} MB/s` +
        (results.cpuMsPerGb.length ? `, relay CPU ${fmt(results.cpuMsPerGb.at(-1), 0)} ms/GB` : ""),
    );
  }
} finally {
  await unlimited.stop();
}

const ceiling1g = link.payloadCeilingBytesPerSec({ bitsPerSec: 1e9, maxRecvDataSegmentLength: 8192 }) / MB;
const relayMedian = median(results.relay);
const times = relayMedian / ceiling1g;
console.log("");
console.log(`direct loopback        ${fmt(median(results.direct))} MB/s (median)`);
console.log(
  `through the relay      ${fmt(relayMedian)} MB/s (median), ${fmt((relayMedian / median(results.direct)) * 100, 0)} % of direct`,
);
console.log(`1 Gbit payload ceiling ${fmt(ceiling1g)} MB/s (iSCSI, 8 KiB PDUs, MTU 1500)`);
console.log(`relay / ceiling        ${fmt(times, 2)}× (needs ≥ 5×): ${times >= 5 ? "ok" : "TOO SLOW"}`);
if (results.cpuMsPerGb.length) {
  console.log(
    `relay CPU              ${fmt(median(results.cpuMsPerGb), 0)} ms per GB (worker thread, median)`,
  );
}

console.log("");
console.log("emulated links (payload rate against the link's TCP payload ceiling):");
for (const [spec, seconds] of [
  ["1gbit", 3],
  ["100mbit", 2],
  ["1gbit,mtu=9000", 2],
]) {
  const parsed = link.parseLinkSpec(spec);
  const ceiling = link.tcpPayloadCeilingBytesPerSec(parsed.bitsPerSec, parsed.mtu);
  const l = await link.startLink({ listenHost: "127.0.0.1", listenPort: 0, to, spec: parsed });
  try {
    const r = await transfer(sink, l.port, ceiling * seconds, seconds * 1000 + 5000);
    const st = await l.stats();
    const rate = r.bytes / r.seconds;
    const wireSeconds = st.up.wireBytes / (parsed.bitsPerSec / 8);
    console.log(
      `  ${link.formatLinkSpec(parsed).padEnd(22)} ${fmt(rate / MB, 2)} MB/s of ${fmt(ceiling / MB, 2)} ` +
        `(${fmt((rate / ceiling) * 100, 1)} %); wire time / elapsed ${fmt((wireSeconds / r.seconds) * 100, 1)} %; ` +
        `max queued ${fmt(st.up.maxQueuedBytes / 1024, 0)} KiB of ${fmt(l.queueBytes / 1024, 0)} KiB`,
    );
  } finally {
    await l.stop();
  }
}
await sink.close();
process.exit(times >= 5 ? 0 : 1);
