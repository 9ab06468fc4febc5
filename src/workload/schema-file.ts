/**
 * The JSON Schema of workload files (workloads/workload.schema.json), generated from the zod
 * schema so that editors complete and check what the loader accepts. Regenerate with
 * `npm run build && node scripts/gen-schemas.mjs`; a test keeps the file in sync.
 */

import { z } from "zod";
import { workloadSchema } from "./schema.js";

export function workloadJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(workloadSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}

/** The file's exact text: 2-space JSON and a final newline. */
export function workloadJsonSchemaText(): string {
  return `${JSON.stringify(workloadJsonSchema(), null, 2)}\n`;
}
