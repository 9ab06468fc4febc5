/**
 * `iscsi-bench report` from dist/, without a browser: the file is self-contained (no URL, nothing
 * to load), small, shows a version 1 result and says what it lacks, and every bad input is one
 * line and exit 2. Also the series of data.ts against the histograms they come from.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildReportData,
  type LineChart,
  percentileCurve,
  percentileGrid,
} from "../../src/report/html/data.js";
import { labelsFor } from "../../src/report/html/report.js";
import { readResult } from "../../src/result/file.js";
import { newLatencyHistogram, recordUs } from "../../src/result/histogram.js";
import { buildDist, ROOT, runCli } from "../engine/e2e.js";

const V1 = join(ROOT, "test", "result", "fixtures", "v1-seq-read.json");
let dir = "";
let result = "";

beforeAll(async () => {
  buildDist();
  dir = mkdtempSync(join(tmpdir(), "iscsi-bench-report-cli-"));
  result = join(dir, "a.json");
  const r = await runCli(
    ["run", "workloads/mixed-70-30.json", "--duration", "2s", "--repeat", "2", "--quiet", "--out", result],
    ROOT,
  );
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every way a page could load something: a URL, a tag attribute that names a resource, a CSS url(). */
function externalReferences(html: string): string[] {
  const found = [...html.matchAll(/(?:https?|ftp|wss?):\/\/[^\s"'<>)]*/gi)].map((m) => m[0]);
  for (const m of html.matchAll(
    /<[a-z][^>]*?\s(?:src|href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]*)/gi,
  )) {
    if (!m[1]!.startsWith("#")) found.push(m[0]);
  }
  for (const m of html.matchAll(/@import|url\(\s*["']?(?!data:)([^)"']*)/gi)) found.push(m[0]);
  return found;
}

describe("iscsi-bench report", () => {
  it("writes one self-contained file: the path on stdout, the size on stderr", async () => {
    const out = join(dir, "a.html");
    const r = await runCli(["report", result, "-o", out, "--title", "mixed <70/30>"], ROOT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect(r.stderr).toMatch(/^report: 1 result, \d+\.\d KiB\n$/);
    const html = readFileSync(out, "utf8");
    expect(externalReferences(html)).toEqual([]);
    expect(html).toContain("<title>mixed &lt;70/30&gt;</title>");
    expect(html).toContain("default-src 'none'");
    expect(html.length).toBeLessThan(200_000);
    // both operations, and the repetitions marked on the timeline
    const data = JSON.parse(
      /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!,
    );
    const throughput = data.charts.find((c: LineChart) => c.id === "throughput");
    expect(throughput.series.map((s: { label: string }) => s.label)).toEqual(["read MB/s", "write MB/s"]);
    expect(throughput.marks.map((m: { label: string }) => m.label)).toEqual(["rep 1", "rep 2"]);
    expect(html).toContain("each step measured 2 times");
  });

  it("shows a schemaVersion 1 file and says what it lacks; the default output is next to it", async () => {
    const copy = join(dir, "old.json");
    writeFileSync(copy, readFileSync(V1));
    const r = await runCli(["report", copy], ROOT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${join(dir, "old.html")}\n`);
    const html = readFileSync(join(dir, "old.html"), "utf8");
    expect(html).toContain("schemaVersion 1 file: it has no repetitions");
    expect(html).toContain(
      "records no interval histograms, only each interval&#39;s p99".replace("&#39;", "'"),
    );
    const data = buildReportData([{ label: "old", baseline: false, ...readResult(copy) }]);
    const time = data.charts.find((c) => c.id === "latency-time") as LineChart;
    expect(time.series.map((s) => s.label)).toEqual(["p99"]);
    const pct = data.charts.find((c) => c.id === "percentiles") as LineChart;
    expect(pct.series.map((s) => s.label)).toEqual(["latency"]);
  });

  it("overlays several results, and with --baseline adds the verdict table", async () => {
    const out = join(dir, "ab.html");
    const r = await runCli(["report", result, "--baseline", result, "-o", out], ROOT);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toContain('<table class="compare">');
    expect(html).toContain("a (baseline)");
    expect(html).toContain("a (2)");
  });

  const bad: Array<[string, (d: string) => string[], RegExp]> = [
    ["a missing file", (d) => [join(d, "nope.json")], /nope\.json: file not found/],
    ["not JSON", (d) => [write(d, "x.json", "hello")], /not an iscsi-bench result \(not JSON/],
    [
      "not a result",
      (d) => [write(d, "y.json", '{"a": 1}')],
      /not an iscsi-bench result \(no schemaVersion\)/,
    ],
    [
      "an unknown schemaVersion",
      (d) => [write(d, "z.json", '{"schemaVersion": 9}')],
      /schemaVersion: unknown version 9/,
    ],
    ["a bad baseline", (d) => [result, "--baseline", join(d, "gone.json")], /gone\.json: file not found/],
    ["different work", () => [result, "--baseline", V1], /measured different work/],
    [
      "a bad metric",
      () => [result, "--baseline", result, "--metric", "p42"],
      /--metric: unknown metric "p42"/,
    ],
  ];
  it.each(bad)("%s: one line, exit 2", async (_what, args, message) => {
    const r = await runCli(["report", ...args(dir), "-o", join(dir, "bad.html")], ROOT);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

function write(d: string, name: string, text: string): string {
  writeFileSync(join(d, name), text);
  return join(d, name);
}

describe("the plotted series", () => {
  it("the percentile curve is the histogram at q = 1 - 1/x, then its maximum once", () => {
    const h = newLatencyHistogram();
    for (let i = 1; i <= 1000; i++) recordUs(h, i * 10);
    const grid = percentileGrid(1e5, 200);
    expect(grid[0]).toBe(1);
    expect(grid.at(-1)).toBe(1e5);
    const curve = percentileCurve(h, grid);
    grid.forEach((x, i) => {
      if (x <= 1000) expect(curve[i]).toBe(h.getValueAtPercentile(100 * (1 - 1 / x)));
    });
    const past = grid.findIndex((x) => x > 1000);
    expect(curve[past]).toBe(h.getValueAtPercentile(100));
    expect(curve.slice(past + 1).every((v) => v === null)).toBe(true);
  });

  it("labels results by file name, equal names numbered", () => {
    expect(labelsFor(["x/a.json", "y/a.json", "b.JSON"])).toEqual(["a", "a (2)", "b"]);
  });
});
