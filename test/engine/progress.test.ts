import { describe, expect, it } from "vitest";
import {
  createProgress,
  formatProgressLine,
  type ProgressSnapshot,
  progressMode,
} from "../../src/engine/progress.js";

const snap = (elapsedSec: number): ProgressSnapshot => ({
  elapsedSec,
  totalSec: 30,
  label: "",
  ramp: false,
  readIops: 1234.4,
  readBytesPerSec: 161_800_000,
  writeIops: 0,
  writeBytesPerSec: 0,
  p99Us: 2345,
  errors: 0,
});

describe("progress", () => {
  it("formats elapsed/total, MB/s and IOPS per direction, p99 and errors", () => {
    expect(formatProgressLine(snap(3.7))).toBe(
      "[3s/30s] | read 161.8 MB/s 1234 IOPS | write 0.0 MB/s 0.0 IOPS | p99 2.35ms | errors 0",
    );
    expect(formatProgressLine({ ...snap(1), label: "qd 8", ramp: true, p99Us: 870, errors: 2 })).toBe(
      "[1s/30s] | qd 8 | ramp | read 161.8 MB/s 1234 IOPS | write 0.0 MB/s 0.0 IOPS | p99 870µs | errors 2",
    );
  });

  it("rewrites one line on a terminal and clears it at the end", () => {
    const out: string[] = [];
    const p = createProgress({ write: (t: string) => out.push(t) }, "tty");
    p.update(snap(1));
    p.update(snap(2));
    p.done();
    expect(out.length).toBe(3);
    expect(out[0]!.startsWith("\r\x1b[2K[1s/30s]")).toBe(true);
    expect(out.every((l) => !l.includes("\n"))).toBe(true);
    expect(out[2]).toBe("\r\x1b[2K");
  });

  it("prints a plain line every 5 s on a non-terminal, none when quiet", () => {
    const out: string[] = [];
    const p = createProgress({ write: (t: string) => out.push(t) }, "plain");
    for (let s = 1; s <= 12; s++) p.update(snap(s));
    p.done();
    expect(out.map((l) => l.slice(0, 8))).toEqual(["[1s/30s]", "[6s/30s]", "[11s/30s"]);
    expect(out.every((l) => l.endsWith("\n") && !l.includes("\x1b"))).toBe(true);
    const q: string[] = [];
    const none = createProgress({ write: (t: string) => q.push(t) }, "none");
    none.update(snap(1));
    none.done();
    expect(q).toEqual([]);
    expect(progressMode(true, true)).toBe("none");
    expect(progressMode(false, true)).toBe("tty");
    expect(progressMode(false, false)).toBe("plain");
  });
});
