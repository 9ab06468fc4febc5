// Writes docs/result.schema.json from the zod schema (src/result/schema.ts).
// Run after a build: `npm run build && node scripts/gen-result-schema.mjs`.
// With --check, only compares and exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resultJsonSchemaText } from "../dist/result/schema-file.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "docs", "result.schema.json");
const text = resultJsonSchemaText();

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current !== text) {
    console.error(
      "docs/result.schema.json is out of date: run npm run build && node scripts/gen-result-schema.mjs",
    );
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  console.error(`wrote ${file}`);
}
