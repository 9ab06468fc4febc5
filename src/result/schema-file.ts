/**
 * The JSON Schema of result files (docs/result.schema.json), generated from the zod schema so
 * that other tools can validate and read results. Regenerate with
 * `npm run build && node scripts/gen-schemas.mjs`; a test keeps the file in sync.
 */
import { z } from "zod";
import { resultSchema } from "./schema.js";

export function resultJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(resultSchema, { io: "input", target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: "iscsi-bench result",
    description:
      "The JSON result of `iscsi-bench run` (schemaVersion 1, 2 and 3; keys marked 'from schemaVersion N' are required in files of version N and later). See docs/result-schema.md.",
  };
}

/** The file's exact text: 2-space JSON and a final newline. */
export function resultJsonSchemaText(): string {
  return `${JSON.stringify(resultJsonSchema(), null, 2)}\n`;
}
