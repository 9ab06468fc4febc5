/**
 * Live progress on stderr: on a terminal one line rewritten every second; on a non-terminal a
 * plain line every 5 seconds; nothing with --quiet.
 */

export interface ProgressSnapshot {
  elapsedSec: number;
  totalSec: number;
  /** e.g. "phase 1/2 qd 8"; empty when the run has a single step. */
  label: string;
  ramp: boolean;
  readIops: number;
  readBytesPerSec: number;
  writeIops: number;
  writeBytesPerSec: number;
  /** p99 latency of the last interval over reads and writes, µs (0 when nothing completed). */
  p99Us: number;
  errors: number;
}

export type ProgressMode = "tty" | "plain" | "none";

export interface ProgressSink {
  write(text: string): unknown;
}

export interface ProgressReporter {
  update(s: ProgressSnapshot): void;
  /** Clears the live line (tty) so the summary starts on a clean line. */
  done(): void;
}

const mbs = (b: number): string => (b / 1e6).toFixed(1);
const iops = (n: number): string => (n >= 100 ? Math.round(n).toString() : n.toFixed(1));

function lat(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

export function formatProgressLine(s: ProgressSnapshot): string {
  const parts = [
    `[${Math.floor(s.elapsedSec)}s/${Math.round(s.totalSec)}s]`,
    s.label,
    s.ramp ? "ramp" : "",
    `read ${mbs(s.readBytesPerSec)} MB/s ${iops(s.readIops)} IOPS`,
    `write ${mbs(s.writeBytesPerSec)} MB/s ${iops(s.writeIops)} IOPS`,
    `p99 ${lat(s.p99Us)}`,
    `errors ${s.errors}`,
  ];
  return parts.filter((p) => p !== "").join(" | ");
}

export const PLAIN_INTERVAL_SEC = 5;

export function progressMode(quiet: boolean, isTty: boolean): ProgressMode {
  if (quiet) return "none";
  return isTty ? "tty" : "plain";
}

export function createProgress(sink: ProgressSink, mode: ProgressMode): ProgressReporter {
  let lastPlain = Number.NEGATIVE_INFINITY;
  let lineShown = false;
  return {
    update(s) {
      if (mode === "none") return;
      const line = formatProgressLine(s);
      if (mode === "tty") {
        sink.write(`\r\x1b[2K${line}`);
        lineShown = true;
      } else if (s.elapsedSec - lastPlain >= PLAIN_INTERVAL_SEC - 0.001) {
        lastPlain = s.elapsedSec;
        sink.write(`${line}\n`);
      }
    },
    done() {
      if (mode === "tty" && lineShown) sink.write("\r\x1b[2K");
      lineShown = false;
    },
  };
}
