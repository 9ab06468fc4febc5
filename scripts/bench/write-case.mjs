/**
 * The target suite's write case: 4 KiB random writes at QD32 from our initiator, against the
 * built-in target freshly started for every repetition (a cold memory LUN: nothing allocated,
 * no page touched) and against tgtd (its LUN file on /dev/shm). No ramp: the first measured
 * second is the first second of the LUN's life, and the built-in target's first and last
 * seconds (from the result's timeline) show whether it warms up.
 */
import { join } from "node:path";
import { startBuiltinTarget } from "./peers.mjs";
import { runOurs, writeWorkload } from "./tools.mjs";

export const WRITE_CASE = {
  id: "rand-write-4k",
  label: "4 KiB random write, QD32 (ours)",
  pattern: "random",
  readPercent: 0,
  blockBytes: 4096,
  queueDepth: 32,
  metric: "iops",
};

/** First and last whole (>= 0.9 s) measured intervals of a timeline: { first, last, ratio }. */
export function firstLast(timeline) {
  const whole = (timeline ?? []).filter((x) => x.ms >= 900);
  if (whole.length < 2) return { first: null, last: null, ratio: null };
  const first = whole[0].iops;
  const last = whole.at(-1).iops;
  return { first, last, ratio: last > 0 ? first / last : null };
}

/**
 * One repetition of the write case: built-in (cold) and tgtd, in an order that flips every
 * repetition. Returns the samples (shape of the other suites' samples, plus firstLast).
 */
export async function writeCaseRep({ rep, cli, app, tmp, seconds, tgtd, log }) {
  const workloadPath = writeWorkload(tmp, `bench-${WRITE_CASE.id}`, { ...WRITE_CASE, seconds, rampMs: 0 });
  const order = tgtd === null ? ["built-in"] : rep % 2 === 0 ? ["built-in", "tgtd"] : ["tgtd", "built-in"];
  const samples = [];
  for (const name of order) {
    let builtin = null;
    try {
      if (name === "built-in") builtin = await startBuiltinTarget(cli, "1GiB", app);
      const r = await runOurs({
        cli,
        cwd: app,
        workloadPath,
        url: name === "built-in" ? builtin.url : tgtd.url,
        seconds,
        outPath: join(tmp, `write-${rep}-${name}.json`),
        extra: ["--allow-write"],
      });
      const fl = r.ok ? firstLast(r.timeline) : { first: null, last: null, ratio: null };
      samples.push({ rep, case: WRITE_CASE.id, target: name, tool: "ours", ...r, firstLast: fl });
      const what = `[rep ${rep + 1}] ours       ${name.padEnd(8)} ${WRITE_CASE.id.padEnd(13)}`;
      if (r.ok)
        log(
          `${what} ${Math.round(r.iops)} IOPS (first s ${Math.round(fl.first ?? 0)}, last s ${Math.round(fl.last ?? 0)})`,
        );
      else log(`${what} FAILED: ${r.error}`);
    } finally {
      if (builtin !== null) await builtin.stop();
    }
  }
  return samples;
}
