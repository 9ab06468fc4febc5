/**
 * The goals of issue 11 ("Where we must get"), judged on one run of the suite: a goal holds when
 * its whole per-repetition range is on the right side of the line (the median alone is not
 * enough). Every goal reports its median figure, its per-repetition range and met / missed /
 * not measured.
 */
const MB = 1e6;

function judge(goal, rows, atLeast, line) {
  const per = rows.flatMap((r) => r?.pairedRatios ?? []).filter((x) => Number.isFinite(x));
  if (rows.length === 0 || rows.some((r) => !r) || per.length === 0)
    return { goal, median: null, range: null, status: "not measured" };
  const lo = Math.min(...per);
  const hi = Math.max(...per);
  const met = atLeast ? lo >= line : hi <= line;
  const medians = rows.map((r) => r.ratio);
  return { goal, median: medians, range: [lo, hi], status: met ? "met" : "missed" };
}

export function evaluateGoals(report) {
  const goals = [];
  const ini = report.initiator ?? [];
  const tgtdCases = ["rand-read-4k", "seq-read-128k", "rand-read-4k-qd1"];
  for (const id of tgtdCases) {
    const row = ini.find((r) => r.target === "tgtd" && r.case === id);
    goals.push(judge(`tgtd ${id}: ours/iscsi-perf throughput >= 1.0`, [row], true, 1.0));
  }
  for (const id of tgtdCases) {
    const row = ini.find((r) => r.target === "tgtd" && r.case === id)?.cpu;
    goals.push(judge(`tgtd ${id}: ours/iscsi-perf CPU per I/O <= 1.0`, [row], false, 1.0));
  }
  const wire = (report.wire ?? []).find((r) => r.case === "embedded-seq-read-1024k-w1");
  goals.push(judge("embedded 1 MiB seq read, 1 worker: >= 0.8x iperf3 (-l 1M)", [wire], true, 0.8));
  const w = report.targetWrite;
  goals.push(judge("built-in (cold) / tgtd, 4 KiB random write QD32 (ours) >= 2.0", [w?.compare], true, 2.0));
  const fl = (w?.firstLast ?? []).filter((x) => Number.isFinite(x));
  goals.push(
    fl.length === 0
      ? {
          goal: "built-in cold write: first second within 10% of the last",
          median: null,
          range: null,
          status: "not measured",
        }
      : {
          goal: "built-in cold write: first second within 10% of the last",
          median: null,
          range: [Math.min(...fl), Math.max(...fl)],
          status: fl.every((x) => Math.abs(x - 1) <= 0.1) ? "met" : "missed",
        },
  );
  for (const r of (report.target ?? []).filter((x) => x.case !== "rand-read-4k-qd1")) {
    goals.push(judge(`built-in/tgtd via iscsi-perf, ${r.case} >= 2.0`, [r], true, 2.0));
  }
  const m = report.memory;
  if (m?.at10 && m?.end) {
    const ok = Math.abs(m.growth) <= 0.1 && m.end.rssBytes < 300 * MB;
    goals.push({
      goal: `memory: RSS at end within 10% of RSS at 10 s, under 300 MB (4 workers, ${m.seconds} s)`,
      median: null,
      range: [m.at10.rssBytes / MB, m.end.rssBytes / MB],
      status: ok ? "met" : "missed",
    });
  } else goals.push({ goal: "memory: RSS", median: null, range: null, status: "not measured" });
  return goals;
}
