/**
 * The zod schema of a workload file as written (raw JSON). Every message is an "expected ..."
 * phrase; load.ts adds the file, the JSON path and what was found. Cross-field rules (duplicate
 * names, "after", sequential + distribution, verify without writes, ...) live in load.ts.
 * The descriptions double as the JSON Schema in workloads/workload.schema.json (with their
 * defaults), so they are written for a user.
 */

import { z } from "zod";
import { distributionRangeProblem, parseDistribution } from "./distribution.js";
import { formatBytes, SIZE_EXPECTED, tryDuration, trySize } from "./units.js";

export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_EXPECTED =
  'expected a name of 1 to 64 letters, digits, ".", "_" or "-" (starting with a letter or digit)';

// JSON Schema patterns for editors (zod checks the same rules in code, with better messages).
const SIZE_STRING_PATTERN = "^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*([kKmMgGtTpP]([iI]?[bB])?|[bB])?\\s*$";
const DURATION_STRING_PATTERN = "^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*([uUmM]?[sS]|[mMhHdD])?\\s*$";
const DISTRIBUTION_PATTERN = "^(uniform|(zipf|pareto|normal):(\\d+(\\.\\d+)?|\\.\\d+))$";

interface SizeRule {
  min: number;
  max?: number;
  multipleOf?: number;
}

function sizeRuleText(rule: SizeRule): string {
  const parts: string[] = [];
  if (rule.multipleOf) parts.push(`a multiple of ${rule.multipleOf} bytes`);
  else parts.push("a size");
  if (rule.max !== undefined)
    parts.push(`from ${formatBytes(rule.min || rule.multipleOf || 0)} to ${formatBytes(rule.max)}`);
  else if (rule.min > 0) parts.push(`of at least ${formatBytes(rule.min)}`);
  return `expected ${parts.join(" ")}`;
}

/** A size problem (an "expected ..." message) for a value, or null when it satisfies `rule`. */
export function sizeProblem(v: unknown, rule: SizeRule): string | null {
  const r = trySize(v);
  if (typeof r === "string") return r;
  if (
    r < rule.min ||
    (rule.max !== undefined && r > rule.max) ||
    (rule.multipleOf && r % rule.multipleOf !== 0)
  ) {
    return sizeRuleText(rule);
  }
  return null;
}

type Meta = { description: string; default?: unknown };

function meta(description: string, def: unknown): Meta {
  return def === undefined ? { description } : { description, default: def };
}

/** The integer (bytes) branch of a size; the JSON Schema carries the rule for editors. */
function sizeInt(rule: SizeRule) {
  const m = `expected ${SIZE_EXPECTED}`;
  const json: Record<string, number> = { minimum: rule.min };
  if (rule.max !== undefined) json["maximum"] = rule.max;
  if (rule.multipleOf !== undefined) json["multipleOf"] = rule.multipleOf;
  return z.int({ error: m }).min(0, { error: m }).meta(json);
}

function sizeField(rule: SizeRule, description: string, def?: number | string) {
  return z
    .union([sizeInt(rule), z.string().meta({ pattern: SIZE_STRING_PATTERN })], {
      error: `expected ${SIZE_EXPECTED}`,
    })
    .superRefine((v, ctx) => {
      const p = sizeProblem(v, rule);
      if (p) ctx.addIssue({ code: "custom", message: p, input: v });
    })
    .meta(meta(description, def));
}

function durationField(minMs: number, description: string, def?: number | string) {
  const expected = 'expected a duration such as 30, "500ms", "30s", "2m" or "1h"';
  return z
    .union([z.number({ error: expected }), z.string().meta({ pattern: DURATION_STRING_PATTERN })], {
      error: expected,
    })
    .superRefine((v, ctx) => {
      const r = tryDuration(v);
      if (typeof r === "string") ctx.addIssue({ code: "custom", message: r, input: v });
      else if (r < minMs)
        ctx.addIssue({ code: "custom", message: `expected a duration of at least ${minMs}ms`, input: v });
    })
    .meta(meta(description, def));
}

function intField(min: number, max: number, description: string, def?: number) {
  const m = `expected an integer from ${min} to ${max}`;
  return z.int({ error: m }).min(min, { error: m }).max(max, { error: m }).meta(meta(description, def));
}

function nameField(description: string) {
  return z
    .string({ error: NAME_EXPECTED })
    .regex(NAME_PATTERN, { error: NAME_EXPECTED })
    .meta({ description });
}

const BLOCK_RULE: SizeRule = { min: 512, max: MAX_BLOCK_SIZE, multipleOf: 512 };

const queueDepthOne = z
  .int({ error: "expected an integer from 1 to 65536" })
  .min(1, { error: "expected an integer from 1 to 65536" })
  .max(65536, { error: "expected an integer from 1 to 65536" });

const blockSizeWeights = z
  .record(
    z.string(),
    z.number({ error: "expected a positive weight" }).positive({ error: "expected a positive weight" }),
  )
  .superRefine((weights, ctx) => {
    const keys = Object.keys(weights);
    if (keys.length === 0) {
      ctx.addIssue({ code: "custom", message: "expected at least one block size", input: weights });
      return;
    }
    const seen = new Map<number, string>();
    for (const key of keys) {
      const p = sizeProblem(key, BLOCK_RULE);
      if (p) {
        ctx.addIssue({ code: "custom", message: p, path: [key], input: key });
        continue;
      }
      const bytes = trySize(key) as number;
      const before = seen.get(bytes);
      if (before !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `expected each block size once, got the same size as ${JSON.stringify(before)}`,
          path: [key],
          input: key,
        });
      }
      seen.set(bytes, key);
    }
  })
  .meta({ description: 'Block sizes with relative weights, as fio\'s bssplit: {"4KiB": 70, "64KiB": 30}.' });

export const rateSchema = z
  .strictObject(
    {
      iops: z
        .number({ error: "expected a positive number of I/Os per second" })
        .positive({ error: "expected a positive number of I/Os per second" })
        .meta({ description: "I/Os per second for the whole job, shared by its workers." }),
      bytesPerSec: sizeField(
        { min: 1 },
        'Bytes per second for the whole job, shared by its workers ("100MiB").',
      ),
    },
    { error: 'expected an object with "iops" or "bytesPerSec"' },
  )
  .partial()
  .superRefine((rate, ctx) => {
    const n = (rate.iops !== undefined ? 1 : 0) + (rate.bytesPerSec !== undefined ? 1 : 0);
    if (n !== 1) {
      ctx.addIssue({
        code: "custom",
        message: 'expected exactly one of "iops" or "bytesPerSec"',
        input: rate,
      });
    }
  })
  .meta({
    description:
      "Open-loop rate limit for the whole job: each I/O has an intended start time and latency is measured from it (coordinated omission corrected). Default: none (as fast as possible).",
  });

export const jobSchema = z
  .strictObject(
    {
      name: nameField(
        'Job name, unique in the file (used by "after" and in reports). Default: "job<N>", N its 1-based position.',
      ),
      pattern: z
        .enum(["sequential", "random"], { error: 'expected "sequential" or "random"' })
        .meta({ description: "Access pattern. Default: sequential.", default: "sequential" }),
      readPercent: z
        .number({ error: "expected a number from 0 to 100" })
        .min(0, { error: "expected a number from 0 to 100" })
        .max(100, { error: "expected a number from 0 to 100" })
        .meta({
          description: "Share of I/Os that are reads, 0 to 100 (0 = all writes). Default: 100.",
          default: 100,
        }),
      blockSize: z
        .union([sizeField(BLOCK_RULE, "One block size, a multiple of 512 bytes."), blockSizeWeights], {
          error: `expected ${SIZE_EXPECTED}, or an object of sizes and weights such as {"4KiB": 70, "64KiB": 30}`,
        })
        .meta({
          description:
            'I/O size: one size ("128KiB"), or sizes with weights ({"4KiB": 70, "64KiB": 30}). Multiples of 512 bytes, up to 64MiB, and of the LUN block size. Default: 4KiB.',
          default: "4KiB",
        }),
      queueDepth: z
        .union(
          [
            queueDepthOne,
            z.array(queueDepthOne).min(1, { error: "expected a non-empty list of integers from 1 to 65536" }),
          ],
          {
            error: (issue) =>
              Array.isArray(issue.input)
                ? "expected a non-empty list of integers from 1 to 65536"
                : "expected an integer from 1 to 65536",
          },
        )
        .meta({
          description:
            "Commands kept in flight per worker, 1 to 65536; a list ([1, 2, 4, 8]) runs the job once per depth (a sweep). Default: 1.",
          default: 1,
        }),
      workers: intField(1, 256, "Worker threads, each with its own iSCSI session. Default: 1.", 1),
      offset: sizeField(
        { min: 0, multipleOf: 512 },
        "Start of the job's region on the LUN, a multiple of 512 bytes (and of the LUN block size). Default: 0.",
        0,
      ),
      size: sizeField(
        { min: 512, multipleOf: 512 },
        "Length of the job's region, a multiple of 512 bytes. Default: from offset to the end of the LUN.",
      ),
      distribution: z
        .string({ error: 'expected "uniform", "zipf:<theta>", "pareto:<h>" or "normal:<percent>"' })
        .superRefine((v, ctx) => {
          const d = parseDistribution(v);
          const p = d
            ? distributionRangeProblem(d)
            : 'expected "uniform", "zipf:<theta>", "pareto:<h>" or "normal:<percent>"';
          if (p) ctx.addIssue({ code: "custom", message: p, input: v });
        })
        .meta({
          pattern: DISTRIBUTION_PATTERN,
          description:
            "Offset distribution of a random job: uniform; zipf:<theta> (theta > 0, e.g. zipf:1.2); pareto:<h> (0 < h < 1: a share h of the blocks gets 1 - h of the I/O, e.g. pareto:0.2 = 80/20); normal:<percent> (centered, standard deviation as a percent of the region). Sequential jobs take only uniform. Default: uniform.",
          default: "uniform",
        }),
      rate: rateSchema,
      verify: z.boolean({ error: "expected true or false" }).meta({
        description:
          "Stamp every written block (LBA, generation, seed, checksum), check every read of a written block, and read the written region back at the end. Needs writes (readPercent below 100). Default: false.",
        default: false,
      }),
      seed: intField(0, 4294967295, "Seed of the offsets, the read/write mix and the data. Default: 1.", 1),
      ios: z
        .int({ error: "expected a positive integer" })
        .min(1, { error: "expected a positive integer" })
        .meta({
          description: "Stop the job after this many I/Os (per queue depth of a sweep), or at the duration.",
        }),
      bytes: sizeField(
        { min: 1 },
        'Stop the job after this many bytes ("10GiB") of I/O (per queue depth of a sweep), or at the duration.',
      ),
      after: nameField(
        "Name of a job this one runs after (fio's stonewall): the job goes into a later phase than that job.",
      ),
    },
    { error: "expected a job object" },
  )
  .partial();

const PHASES_OR_JOBS =
  'missing "jobs" (jobs that run together) or "phases" (groups of jobs run one after another)';

export const workloadSchema = z
  .strictObject(
    {
      $schema: z
        .string({ error: "expected a string" })
        .meta({ description: "JSON Schema reference for editors." }),
      name: nameField("Workload name, used in the result file name. Default: the file name without .json."),
      description: z
        .string({ error: "expected a string" })
        .meta({ description: "Free text. Default: empty." }),
      target: z
        .string({ error: 'expected an iSCSI URL such as "iscsi://host/iqn.2003-01.org.example:disk/1"' })
        .regex(/^iscsi:\/\//i, {
          error: 'expected an iSCSI URL such as "iscsi://host/iqn.2003-01.org.example:disk/1"',
        })
        .meta({
          description:
            "iscsi://[user[%secret]@]host[:port]/<target-iqn>/<lun>. --target overrides it. Default: the built-in target, with a memory LUN covering the workload's regions.",
        }),
      duration: durationField(
        1,
        'How long each phase runs (30, "500ms", "30s", "2m", "1h"). Default: 30s.',
        "30s",
      ),
      rampTime: durationField(
        0,
        "Time at the start of each phase whose I/O is left out of the statistics. Default: 0.",
        0,
      ),
      jobs: z
        .array(jobSchema, { error: "expected a list of jobs" })
        .min(1, { error: "expected at least one job" })
        .meta({ description: 'Jobs that run at the same time (those with "after" in later phases).' }),
      phases: z
        .array(
          z
            .array(jobSchema, { error: "expected a list of jobs" })
            .min(1, { error: "expected at least one job" }),
          { error: "expected a list of phases, each a list of jobs" },
        )
        .min(1, { error: "expected at least one phase" })
        .meta({
          description: "Groups of jobs run one after another; the jobs of a group run at the same time.",
        }),
    },
    { error: "expected a JSON object" },
  )
  .partial()
  .superRefine((w, ctx) => {
    if (w.jobs !== undefined && w.phases !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: 'expected "jobs" or "phases", not both',
        path: ["phases"],
        input: w.phases,
      });
    } else if (w.jobs === undefined && w.phases === undefined) {
      ctx.addIssue({ code: "custom", message: PHASES_OR_JOBS, params: { missing: true } });
    }
  })
  .meta({
    title: "iscsi-bench workload",
    description: "A workload for `iscsi-bench run`: jobs, their I/O pattern, and how long they run.",
  });

export type RawWorkload = z.output<typeof workloadSchema>;
export type RawJob = z.output<typeof jobSchema>;

export const TOP_KEYS: readonly string[] = Object.keys(workloadSchema.shape);
export const JOB_KEYS: readonly string[] = Object.keys(jobSchema.shape);
export const RATE_KEYS: readonly string[] = Object.keys(rateSchema.shape);
