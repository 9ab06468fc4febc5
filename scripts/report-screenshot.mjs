#!/usr/bin/env node
/**
 * Makes docs/report.png, the README's picture of an HTML report: two real runs of
 * workloads/seq-read.json on the built-in target, one through an emulated Gigabit link and one
 * through 100 Mbit/s, overlaid in one report, opened in Debian's headless Chromium and captured
 * from the title down to the last chart.
 *
 *   npm run build && node scripts/report-screenshot.mjs [--duration 10s] [--out docs/report.png]
 *                                                        [--keep <dir>] [--chromium /usr/bin/chromium]
 *
 * Needs the chromium package (scripts/install-peers.sh). --keep writes the results and the
 * report there instead of a temporary directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const duration = option("--duration", "10s");
const out = resolve(option("--out", join(ROOT, "docs", "report.png")));
const executablePath = option("--chromium", "/usr/bin/chromium");
const keep = option("--keep", null);

if (!existsSync(CLI)) throw new Error("dist/cli.js is missing: run npm run build first");
if (!existsSync(executablePath))
  throw new Error(`${executablePath} is missing: run scripts/install-peers.sh`);

const dir = keep ? resolve(keep) : mkdtempSync(join(tmpdir(), "iscsi-bench-report-"));
mkdirSync(dir, { recursive: true });
const cli = (args) => {
  try {
    return execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    process.stderr.write(String(err.stderr ?? ""));
    throw err;
  }
};

const results = [];
for (const link of ["1gbit", "100mbit"]) {
  const file = join(dir, `seq-read-${link}.json`);
  console.error(`run: seq-read through a ${link} link for ${duration}`);
  cli(["run", "workloads/seq-read.json", "--duration", duration, "--link", link, "--quiet", "--out", file]);
  results.push(file);
}
const html = join(dir, "report.html");
cli([
  "report",
  ...results,
  "-o",
  html,
  "--title",
  "seq-read on the built-in target: Gigabit against 100 Mbit/s",
]);

// launch() starts Chromium with a fresh temporary profile of its own (no --user-data-dir needed)
const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('.chart[data-chart="percentiles"][data-rendered="true"]');
  const end = await page.evaluate(() => {
    const figures = document.querySelectorAll("#charts figure");
    const last = figures[figures.length - 1];
    return Math.ceil(last.getBoundingClientRect().bottom + window.scrollY);
  });
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1200, height: end } });
} finally {
  await browser.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
console.log(`${out} (${(statSync(out).size / 1024).toFixed(0)} KiB)`);
