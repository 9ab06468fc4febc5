/**
 * The HTML report in a real browser: reports of real runs on the built-in target (a plain run, a
 * queue-depth sweep, and a 100 Mbit/s run overlaid on an unlimited one with --baseline), each
 * opened in Debian's headless Chromium. Every chart rendered (its canvas has the colour of every
 * series it plots), every legend names each result, the page logged no error and requested
 * nothing. A screenshot of each report is kept in .tmp/report-html/ (REPORT_HTML_ARTIFACTS).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, ROOT, runCli } from "../engine/e2e.js";
import { chartStates, launchChromium, openReport } from "./browser.js";

const ARTIFACTS = process.env["REPORT_HTML_ARTIFACTS"] ?? join(ROOT, ".tmp", "report-html");
let dir = "";
let browser: Browser;

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, ROOT, 90_000);
  expect(r.stderr.includes("iscsi-bench: error"), r.stderr).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").pop()!;
}

const reports: Record<string, string> = {};

beforeAll(async () => {
  buildDist();
  dir = mkdtempSync(join(tmpdir(), "iscsi-bench-report-html-"));
  const out = (name: string): string => join(dir, name);
  const runs = [
    ["run", "workloads/seq-read.json", "--duration", "3s", "--quiet", "--out", out("plain.json")],
    [
      "run",
      "workloads/seq-read.json",
      "--duration",
      "3s",
      "--quiet",
      "--link",
      "100mbit",
      "--out",
      out("slow.json"),
    ],
    ["run", "workloads/qd-sweep.json", "--duration", "1s", "--quiet", "--out", out("sweep.json")],
  ];
  await Promise.all(runs.map(cli));
  reports["plain"] = await cli(["report", out("plain.json"), "-o", out("plain.html")]);
  reports["sweep"] = await cli(["report", out("sweep.json"), "-o", out("sweep.html")]);
  reports["overlay"] = await cli([
    "report",
    out("slow.json"),
    "--baseline",
    out("plain.json"),
    "-o",
    out("overlay.html"),
    "--title",
    "unlimited against 100 Mbit/s",
  ]);
  browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CASES: Array<[string, string[], string[]]> = [
  // report, the charts it must have, the result labels every legend must name
  ["plain", ["throughput", "iops", "latency-time", "percentiles"], []],
  ["sweep", ["throughput", "iops", "latency-time", "percentiles", "sweep"], []],
  ["overlay", ["throughput", "iops", "latency-time", "percentiles"], ["plain (baseline)", "slow"]],
];

describe("the HTML report in headless Chromium", () => {
  it.each(CASES)("%s: every chart rendered, legends, no error, no request", async (name, ids, labels) => {
    const { page, requests, errors } = await openReport(browser, reports[name]!);
    try {
      const charts = await chartStates(page);
      expect(charts.map((c) => c.id)).toEqual(ids);
      for (const c of charts) {
        expect(c.rendered, c.id).toBe(true);
        expect(c.width, c.id).toBeGreaterThan(300);
        expect(c.height, c.id).toBeGreaterThan(200);
        // not blank: each series' colour is drawn (lines and markers), not only axes and grid
        expect(Object.keys(c.colorPixels).length, c.id).toBeGreaterThan(0);
        for (const [color, n] of Object.entries(c.colorPixels))
          expect(n, `${c.id} ${color}`).toBeGreaterThan(40);
        for (const label of labels) expect(c.legend, c.id).toContain(label);
      }
      if (name === "overlay") {
        // two results: two colours in every chart, the verdict table, both in the summary
        for (const c of charts) expect(Object.keys(c.colorPixels).length, c.id).toBeGreaterThanOrEqual(2);
        const verdicts = await page.locator("table.compare tbody tr").count();
        expect(verdicts).toBeGreaterThan(0);
        // 3 s runs measured once: compare cannot be sure, but says so, with both figures
        const compare = (await page.locator("#compare").textContent()) ?? "";
        expect(compare).toMatch(/REGRESSION|inconclusive/);
        expect(compare).toMatch(/iops .* IOPS/);
        expect(await page.locator("#summary").textContent()).toContain("100 Mbit/s");
      }
      if (name === "sweep") {
        const legend = charts.find((c) => c.id === "sweep")!.legend;
        expect(legend).toContain("p50");
        expect(legend).toContain("p99");
      }
      // hover read-out: moving over the throughput chart fills the legend with values
      const over = page.locator('.chart[data-chart="throughput"] .u-over');
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      expect(await page.locator('.chart[data-chart="throughput"] .u-legend').textContent()).toMatch(/MB\/s/);
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("a 30 s run's report stays small: the embedded series of a 3 s run are a few KiB", () => {
    const html = readFileSync(reports["plain"]!, "utf8");
    expect(html.length).toBeLessThan(150_000);
  });
});
