// Writes workloads/workload.schema.json from the zod schema (src/workload/schema.ts).
// Run after a build: `npm run build && node scripts/gen-workload-schema.mjs`.
// With --check, only compares and exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { workloadJsonSchemaText } from "../dist/workload/schema-file.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "workloads", "workload.schema.json");
const text = workloadJsonSchemaText();

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current !== text) {
    console.error(
      "workloads/workload.schema.json is out of date: run npm run build && node scripts/gen-workload-schema.mjs",
    );
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  console.error(`wrote ${file}`);
}
