/**
 * The `wire` suite: the embedded default (`iscsi-bench run` with no target: the built-in target
 * in a worker thread of the same process) for 1 MiB and 128 KiB sequential reads and writes with
 * 1 and 2 workers (QD32 each), against the loopback wire ceiling measured in the same repetition:
 * iperf3, one stream, the same write size (-l) as the case's block size.
 */
import { join } from "node:path";
import { freePort } from "./proc.mjs";
import { runIperf3, runOurs, writeWorkload } from "./tools.mjs";

export const WIRE_SIZES = [1048576, 131072];

export const WIRE_CASES = WIRE_SIZES.flatMap((blockBytes) =>
  ["read", "write"].flatMap((op) =>
    [1, 2].map((workers) => ({
      id: `embedded-seq-${op}-${blockBytes >> 10}k-w${workers}`,
      label: `embedded, ${blockBytes >= 1048576 ? `${blockBytes >> 20} MiB` : `${blockBytes >> 10} KiB`} sequential ${op}, ${workers} worker${workers > 1 ? "s" : ""}`,
      pattern: "sequential",
      readPercent: op === "read" ? 100 : 0,
      blockBytes,
      queueDepth: 32,
      workers,
      metric: "bytesPerSec",
    })),
  ),
);

const iperfId = (blockBytes) => `iperf3-${blockBytes >> 10}k`;

/** One repetition: both iperf3 figures and every embedded case, the order flipped every repetition. */
export async function wireRep({ rep, cli, app, tmp, seconds, iperf3, log }) {
  const flip = (xs) => (rep % 2 === 1 ? [...xs].reverse() : xs);
  const plan = flip([...WIRE_SIZES.map((b) => ({ iperf: b })), ...WIRE_CASES.map((c) => ({ c }))]);
  const samples = [];
  for (const [i, m] of plan.entries()) {
    if (m.iperf !== undefined) {
      if (iperf3 === null) continue;
      const r = await runIperf3({ bin: iperf3, port: await freePort(), seconds, lengthBytes: m.iperf });
      samples.push({ rep, case: iperfId(m.iperf), target: "loopback", tool: "iperf3", ...r });
      log(
        `[rep ${rep + 1}] iperf3 -l ${m.iperf >> 10}K ${r.ok ? `${(r.bytesPerSec / 1e6).toFixed(0)} MB/s` : `FAILED: ${r.error}`}`,
      );
      continue;
    }
    const c = m.c;
    const workloadPath = writeWorkload(tmp, `bench-${c.id}`, { ...c, seconds });
    const r = await runOurs({
      cli,
      cwd: app,
      workloadPath,
      url: null,
      seconds,
      outPath: join(tmp, `wire-${rep}-${i}.json`),
    });
    samples.push({ rep, case: c.id, target: "embedded", tool: "ours", ...r });
    log(
      `[rep ${rep + 1}] ours embedded ${c.id} ${r.ok ? `${(r.bytesPerSec / 1e6).toFixed(0)} MB/s` : `FAILED: ${r.error}`}`,
    );
  }
  return samples;
}

export { iperfId };
