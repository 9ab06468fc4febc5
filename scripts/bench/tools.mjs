/**
 * The two load generators the benchmark drives: ours (`node dist/cli.js run <workload> --target
 * <url> --quiet --json --out <file>`, figures from the result JSON's summary) and libiscsi's
 * iscsi-perf (the yardstick: `iscsi-perf -m <qd> -b <blocks> [-r] -t <secs> <url>`, figures from
 * its final "iops average N (M MB/s)" line). Each run is bounded by a kill timer.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBounded } from "./proc.mjs";

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
export async function runOurs({ cli, cwd, workloadPath, url, seconds, outPath, extra = [], onStart }) {
  const started = Date.now();
  const r = await runBounded(
    process.execPath,
    [cli, "run", workloadPath, "--target", url, "--quiet", "--json", "--out", outPath, ...extra],
    seconds * 1000 + 30000,
    { cwd, onStart },
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
  return {
    ok: true,
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
export async function runIscsiPerf({ bin, url, seconds, blockBytes, queueDepth, random }) {
  const args = ["-m", String(queueDepth), "-b", String(blockBytes / LUN_BLOCK)];
  if (random) args.push("-r");
  args.push("-t", String(seconds), url);
  const started = Date.now();
  const r = await runBounded(bin, args, seconds * 1000 + 15000);
  const wallSec = (Date.now() - started) / 1000;
  if (r.timedOut) return { ok: false, wallSec, error: `killed after ${seconds + 15}s` };
  const out = `${r.stdout}\n${r.stderr}`;
  const iops = parseIscsiPerf(out);
  if (r.code !== 0 || iops === null) {
    return { ok: false, wallSec, error: `exit ${r.code ?? r.signal}: ${lastLine(out) || r.error}` };
  }
  // Its MB/s is MiB/s rounded to an integer: bytes/s from the IOPS is exact.
  return { ok: true, iops, bytesPerSec: iops * blockBytes, wallSec };
}
