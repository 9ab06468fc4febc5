/**
 * uPlot's minified script and stylesheet, read from the installed package so that the report
 * inlines them (the page loads nothing). The banner's project address is kept without its
 * scheme: a report contains no URL at all.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export interface Assets {
  script: string;
  css: string;
  version: string;
}

let cached: Assets | null = null;

export function uplotAssets(): Assets {
  if (cached) return cached;
  const read = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), "utf8");
  const pkg = JSON.parse(read("../package.json")) as { version: string };
  const noScheme = (s: string): string => s.replace(/https?:\/\//g, "");
  cached = {
    script: noScheme(read("uPlot.iife.min.js")).replace(/<\/script/gi, "<\\/script"),
    css: noScheme(read("uPlot.min.css")),
    version: pkg.version,
  };
  return cached;
}
