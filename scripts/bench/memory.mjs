/**
 * The `memory` suite: one long run of our initiator (4 workers, random 4 KiB 50/50 reads/writes,
 * QD16 each) against a fresh standalone built-in target, sampling the RSS of the `iscsi-bench run`
 * process (and, for information, of the target process) once a second. Reports the RSS at 10 s
 * and at the end and the growth between them; growth over 50 % is flagged as a warning.
 */
import { join } from "node:path";
import { startBuiltinTarget } from "./peers.mjs";
import { rssBytes } from "./proc.mjs";
import { runOurs, writeWorkload } from "./tools.mjs";

export const GROWTH_WARNING = 0.5;
/** Small enough that the target's memory LUN is fully written within seconds and stays flat. */
const LUN = "256MiB";

function pick(samples, atSec) {
  return samples.find((s) => s.t >= atSec) ?? samples.at(-1) ?? null;
}

export async function memorySuite({ cli, cwd, tmp, seconds, log }) {
  const target = await startBuiltinTarget(cli, LUN, cwd);
  const samples = [];
  let timer = null;
  let outcome;
  try {
    const workloadPath = writeWorkload(tmp, "memory-mix", {
      seconds,
      rampMs: 0,
      pattern: "random",
      readPercent: 50,
      blockBytes: 4096,
      queueDepth: 16,
      workers: 4,
    });
    log(`memory: ${seconds}s, 4 workers x QD16, random 4 KiB 50/50 against a ${LUN} built-in target`);
    outcome = await runOurs({
      cli,
      cwd,
      workloadPath,
      url: target.url,
      seconds,
      outPath: join(tmp, "memory-result.json"),
      extra: ["--allow-write"],
      onStart: (p) => {
        const t0 = Date.now();
        timer = setInterval(() => {
          if (p.hasExited()) return;
          const rss = rssBytes(p.pid);
          if (rss !== null) {
            samples.push({
              t: round1((Date.now() - t0) / 1000),
              rssBytes: rss,
              targetRssBytes: rssBytes(target.pid()),
            });
          }
        }, 1000);
      },
    });
  } finally {
    if (timer) clearInterval(timer);
    await target.stop();
  }
  const at10 = pick(samples, 10);
  const end = samples.at(-1) ?? null;
  const growth = at10 && end ? end.rssBytes / at10.rssBytes - 1 : null;
  const targetGrowth =
    at10?.targetRssBytes && end?.targetRssBytes ? end.targetRssBytes / at10.targetRssBytes - 1 : null;
  return {
    seconds,
    workload: { pattern: "random", blockBytes: 4096, readPercent: 50, queueDepth: 16, workers: 4, lun: LUN },
    run: outcome,
    samples,
    at10,
    end,
    growth,
    targetGrowth,
    warning: growth !== null && growth > GROWTH_WARNING,
  };
}

function round1(x) {
  return Math.round(x * 10) / 10;
}
