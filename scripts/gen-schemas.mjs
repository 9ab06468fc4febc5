// Writes the JSON Schemas generated from the zod schemas: workloads/workload.schema.json (from
// src/workload/schema.ts) and docs/result.schema.json (from src/result/schema.ts).
// Run after a build: `npm run build && node scripts/gen-schemas.mjs`.
// With --check, only compares and exits 1 when a committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resultJsonSchemaText } from "../dist/result/schema-file.js";
import { workloadJsonSchemaText } from "../dist/workload/schema-file.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  ["workloads/workload.schema.json", workloadJsonSchemaText()],
  ["docs/result.schema.json", resultJsonSchemaText()],
];

let stale = false;
for (const [name, text] of files) {
  const file = join(root, name);
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {}
    if (current !== text) {
      console.error(`${name} is out of date: run npm run build && node scripts/gen-schemas.mjs`);
      stale = true;
    }
  } else {
    writeFileSync(file, text);
    console.error(`wrote ${file}`);
  }
}
if (stale) process.exit(1);
