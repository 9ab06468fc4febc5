/**
 * Debian's headless Chromium (package chromium, /usr/bin/chromium) driven by playwright-core, for
 * the HTML report's tests: open a report from its file:// URL, record every request the page makes
 * (only the document itself may be loaded; anything else is aborted and counted), every page
 * error and every console error.
 */
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { requirePeers } from "../helpers/peers.js";

export const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  requirePeers(["chromium"], "chromium");
  // launch() gives the browser a fresh temporary profile (its own --user-data-dir)
  return chromium.launch({
    executablePath: CHROMIUM,
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
}

export interface OpenedReport {
  page: Page;
  /** Every request but the report document itself (each one aborted). */
  requests: string[];
  errors: string[];
}

export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    if (r.url() !== url) errors.push(`request failed: ${r.url()}`);
  });
  await page.route("**/*", (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, requests, errors };
}

export interface ChartState {
  id: string;
  rendered: boolean;
  width: number;
  height: number;
  /** Pixels of the plot canvas close to each series colour. */
  colorPixels: Record<string, number>;
  legend: string;
}

/** Runs in the page (plain JS: the tests compile without the DOM's types). */
const CHART_STATES = `(() => {
  const hex = (c) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16));
  return [...document.querySelectorAll(".chart")].map((el) => {
    const canvas = el.querySelector(".u-wrap canvas");
    const colors = (el.dataset.colors || "").split(",").filter((c) => c !== "");
    const colorPixels = {};
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      for (const c of colors) {
        const [r, g, b] = hex(c);
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 60 && px[i + 3] > 200) n++;
        }
        colorPixels[c] = n;
      }
    }
    const legend = el.querySelector(".u-legend");
    return {
      id: el.dataset.chart || "",
      rendered: el.dataset.rendered === "true",
      width: canvas ? canvas.width : 0,
      height: canvas ? canvas.height : 0,
      colorPixels,
      legend: legend ? legend.textContent : "",
    };
  });
})()`;

/** What each chart drew: its canvas size, the pixels of each series colour, its legend's text. */
export function chartStates(page: Page): Promise<ChartState[]> {
  return page.evaluate(CHART_STATES) as Promise<ChartState[]>;
}
