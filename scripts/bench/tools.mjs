/**
 * The two load generators the benchmark drives: ours (`node dist/cli.js run <workload> --target
 * <url> --quiet --json --out <file>`, figures from the result JSON's summary) and libiscsi's
 * iscsi-perf (the yardstick: `iscsi-perf -m <qd> -b <blocks> [-r] -t <secs> <url>`, figures from
 * its final "iops average N (M MB/s)" line). Each run is bounded by a kill timer.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBounded, sleep, spawnTracked, stopTracked } from "./proc.mjs";

/** iscsi-perf counts in blocks of the LUN; both targets here use 512-byte blocks. */
export const LUN_BLOCK = 512;

/**
 * A workload file for `iscsi-bench run`: one job, `workers` sessions, everything read unless
 * `readPercent` says otherwise. Returns its path.
 */
export function writeWorkload(dir, name, spec) {
  const workload = {
    name,
    description: `npm run bench: ${name}`,
    duration: `${spec.seconds}s`,
    rampTime: `${spec.rampMs ?? 500}ms`,
    jobs: [
      {
        name,
        pattern: spec.pattern,
        readPercent: spec.readPercent ?? 100,
        blockSize: spec.blockBytes,
        queueDepth: spec.queueDepth,
        workers: spec.workers ?? 1,
        offset: 0,
        seed: 1,
      },
    ],
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(workload, null, 2)}\n`);
  return path;
}

/** One line: the last non-empty line of a tool's stderr/stdout, for error reports. */
function lastLine(s) {
  const lines = s.split(/[\r\n]+/).filter((l) => l.trim() !== "");
  return (lines.at(-1) ?? "").trim().slice(0, 300);
}

/**
 * Runs our initiator once. Resolves to { ok, iops, bytesPerSec, ios, errors, wallSec, error }.
 * `extra` are more CLI options (e.g. --allow-write); `onStart(p)` sees the process (RSS sampling).
 */
export async function runOurs({
  cli,
  cwd,
  workloadPath,
  url,
  seconds,
  outPath,
  extra = [],
  onStart,
  cpu = false,
}) {
  const started = Date.now();
  // no url: the embedded default (the built-in target in a worker thread of the same process)
  const target = url === null || url === undefined ? [] : ["--target", url];
  const r = await runBounded(
    process.execPath,
    [cli, "run", workloadPath, ...target, "--duration", `${seconds}s`, "--quiet", "--out", outPath, ...extra],
    seconds * 1000 + 30000,
    { cwd, onStart, cpu },
  );
  const wallSec = (Date.now() - started) / 1000;
  if (r.timedOut) return { ok: false, wallSec, error: `killed after ${seconds + 30}s` };
  if (r.code !== 0) {
    return { ok: false, wallSec, error: `exit ${r.code ?? r.signal}: ${lastLine(r.stderr) || r.error}` };
  }
  let result;
  try {
    result = JSON.parse(readFileSync(outPath, "utf8"));
  } catch (err) {
    return { ok: false, wallSec, error: `result ${outPath}: ${err.message}` };
  }
  const s = result.summary;
  const ios = s.read.ios + s.write.ios;
  const main = s.write.ios > s.read.ios ? s.write : s.read;
  return {
    ok: true,
    cpuSec: r.cpuSec ?? null,
    p50Us: main.latencyUs?.p50 ?? null,
    p99Us: main.latencyUs?.p99 ?? null,
    // per measured interval (about 1 s each): IOPS of reads + writes, and the interval's length
    timeline: (result.timeline ?? []).map((x) => ({
      ms: x.ms,
      iops: x.read.iops + x.write.iops,
      bytesPerSec: x.read.bytesPerSec + x.write.bytesPerSec,
    })),
    iops: s.read.iops + s.write.iops,
    bytesPerSec: s.read.bytesPerSec + s.write.bytesPerSec,
    readIops: s.read.iops,
    writeIops: s.write.iops,
    ios,
    errors: s.errors,
    measuredSec: result.durationSec,
    wallSec,
  };
}

/**
 * The figure of an iscsi-perf run: its last "iops average N (M MB/s)". The tool redraws its
 * progress line with \r, so every progress line also says "iops average": the last one in the
 * output is the final summary. Returns the IOPS or null.
 */
export function parseIscsiPerf(output) {
  let last = null;
  for (const m of output.matchAll(/iops average\s+(\d+(?:\.\d+)?)\s*\(\s*(\d+(?:\.\d+)?)\s*MB\/s\)/g))
    last = m;
  return last === null ? null : Number(last[1]);
}

/** Runs iscsi-perf once. Resolves to { ok, iops, bytesPerSec, wallSec, error }. */
export async function runIscsiPerf({ bin, url, seconds, blockBytes, queueDepth, random, cpu = false }) {
  const args = ["-m", String(queueDepth), "-b", String(blockBytes / LUN_BLOCK)];
  if (random) args.push("-r");
  args.push("-t", String(seconds), url);
  const started = Date.now();
  const r = await runBounded(bin, args, seconds * 1000 + 15000, { cpu });
  const wallSec = (Date.now() - started) / 1000;
  if (r.timedOut) return { ok: false, wallSec, error: `killed after ${seconds + 15}s` };
  const out = `${r.stdout}\n${r.stderr}`;
  const iops = parseIscsiPerf(out);
  if (r.code !== 0 || iops === null) {
    return { ok: false, wallSec, error: `exit ${r.code ?? r.signal}: ${lastLine(out) || r.error}` };
  }
  // Its MB/s is MiB/s rounded to an integer: bytes/s from the IOPS is exact.
  return {
    ok: true,
    iops,
    bytesPerSec: iops * blockBytes,
    ios: Math.round(iops * seconds),
    cpuSec: r.cpuSec ?? null,
    wallSec,
  };
}

/**
 * The loopback wire ceiling: iperf3, one TCP stream from a client to a one-off server on
 * 127.0.0.1, `lengthBytes` per write (-l), for `seconds`. Resolves to { ok, bytesPerSec, error }
 * (the receiver's figure).
 */
export async function runIperf3(opts) {
  const first = await iperf3Once(opts);
  if (first.ok) return first;
  // one retry on a fresh port: a one-off server now and then misses its client
  const { freePort } = await import("./proc.mjs");
  const second = await iperf3Once({ ...opts, port: await freePort() });
  return second.ok ? second : { ...second, error: `${first.error}; retry: ${second.error}` };
}

async function iperf3Once({ bin, port, seconds, lengthBytes }) {
  const server = spawnTracked(bin, ["-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", String(port)]);
  try {
    const deadline = Date.now() + 5000;
    // no probe connection: a one-off server (-1) would take it as its one client
    while (!server.stdout().includes("Server listening")) {
      if (server.hasExited() || Date.now() > deadline)
        return { ok: false, error: `iperf3 server did not start: ${lastLine(server.stderr())}` };
      await sleep(50);
    }
    const r = await runBounded(
      bin,
      ["-c", "127.0.0.1", "-p", String(port), "-t", String(seconds), "-l", String(lengthBytes), "-J"],
      seconds * 1000 + 15000,
    );
    if (r.timedOut || r.code !== 0)
      return { ok: false, error: `iperf3 exit ${r.code ?? "timeout"}: ${lastLine(r.stdout)}` };
    if (r.stdout.trim() === "") return { ok: false, error: `iperf3: no output (${lastLine(r.stderr)})` };
    const bps = JSON.parse(r.stdout)?.end?.sum_received?.bits_per_second;
    return Number.isFinite(bps)
      ? { ok: true, bytesPerSec: bps / 8 }
      : { ok: false, error: "iperf3: no sum_received" };
  } catch (err) {
    return { ok: false, error: `iperf3: ${err.message}` };
  } finally {
    await stopTracked(server, "SIGKILL", 1000);
  }
}
