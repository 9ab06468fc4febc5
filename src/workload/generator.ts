/**
 * The I/O stream of one worker of a job: offsets, lengths and the read/write mix, drawn from a
 * seeded PRNG so that a run is reproducible. `next` fills the caller's IoSpec and allocates
 * nothing.
 *
 * - Region: [offset, offset + size) of the LUN (size null: to the end of the LUN).
 * - Sequential: the region is cut into one slice per worker (in LUN blocks, the first ones one
 *   block larger when it does not divide evenly); each worker walks its slice from its start
 *   and wraps around to the start when the next I/O would pass the slice's end.
 * - Random: offsets are aligned to the chosen block size (absolute LUN offsets, fio's default
 *   blockalign), drawn over the whole region by the job's distribution; all workers share the
 *   region (and the same hot set) with distinct random streams. Verify jobs give each worker its
 *   own slice instead, so that no two workers write the same block.
 * - Read or write: read with probability readPercent / 100.
 */

import { InputError } from "../common/errors.js";
import type { BlockSizeTable } from "./block-sizes.js";
import { createBlockSizeTable, pickBlockSizeIndex } from "./block-sizes.js";
import type { OffsetSampler } from "./distribution.js";
import { createSampler } from "./distribution.js";
import { Rng } from "./rng.js";
import type { IoSpec, ResolvedJob } from "./types.js";
import { formatBytes } from "./units.js";

export interface GeneratorContext {
  /** The LUN's logical block size in bytes (512, 4096, ...). */
  lunBlockSize: number;
  /** The LUN's capacity in bytes. */
  lunBytes: number;
  /** 0-based index of this worker in the job, and the job's worker count. */
  workerIndex: number;
  workerCount: number;
  /**
   * The stream seed: normally the job's seed (the engine may add the sweep step). Each worker's
   * stream is derived from (seed, workerIndex), so workers never repeat each other.
   */
  seed: number;
}

export interface IoGenerator {
  /** Fills `out` with the next I/O; allocates nothing. */
  next(out: IoSpec): void;
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The job's region on a LUN in bytes, or an InputError naming the job when it does not fit the
 * LUN (offset beyond the end, region past the end, block sizes not multiples of the LUN block
 * size, region too small for one I/O per worker). The engine may call this before starting
 * workers to fail early with exit code 2.
 */
export function jobRegion(job: ResolvedJob, lunBytes: number, lunBlockSize: number): ByteRange {
  const problem = (text: string): InputError => new InputError(`job "${job.name}": ${text}`);
  for (const w of job.blockSizes) {
    if (w.bytes % lunBlockSize !== 0) {
      throw problem(
        `block size ${formatBytes(w.bytes)} is not a multiple of the LUN block size ${formatBytes(lunBlockSize)}`,
      );
    }
  }
  if (job.offset % lunBlockSize !== 0) {
    throw problem(
      `offset ${formatBytes(job.offset)} is not a multiple of the LUN block size ${formatBytes(lunBlockSize)}`,
    );
  }
  const lunEnd = Math.floor(lunBytes / lunBlockSize) * lunBlockSize;
  if (job.offset >= lunEnd) {
    throw problem(
      `offset ${formatBytes(job.offset)} is at or beyond the end of the LUN (${formatBytes(lunEnd)})`,
    );
  }
  const end = job.size === null ? lunEnd : job.offset + job.size;
  if (end > lunEnd) {
    throw problem(
      `region ${formatBytes(job.offset)}..${formatBytes(end)} goes beyond the end of the LUN (${formatBytes(lunEnd)})`,
    );
  }
  const largest = Math.max(...job.blockSizes.map((w) => w.bytes));
  const slices = job.pattern === "sequential" || job.verify ? job.workers : 1;
  // Every slice must hold one aligned I/O of the largest size.
  const slice = workerSlice({ start: job.offset, end }, lunBlockSize, slices - 1, slices);
  const alignedStart = Math.ceil(slice.start / largest) * largest;
  const room = job.pattern === "sequential" ? slice.end - slice.start : slice.end - alignedStart;
  if (room < largest) {
    const per = slices > 1 ? ` split over ${slices} workers` : "";
    throw problem(
      `region of ${formatBytes(end - job.offset)}${per} is too small for one ${formatBytes(largest)} I/O`,
    );
  }
  return { start: job.offset, end };
}

/** Worker `index`'s share of `region` (of `count` shares), in whole LUN blocks. */
export function workerSlice(
  region: ByteRange,
  lunBlockSize: number,
  index: number,
  count: number,
): ByteRange {
  const blocks = Math.floor((region.end - region.start) / lunBlockSize);
  const base = Math.floor(blocks / count);
  const extra = blocks % count;
  const first = index * base + Math.min(index, extra);
  const own = base + (index < extra ? 1 : 0);
  return {
    start: region.start + first * lunBlockSize,
    end: region.start + (first + own) * lunBlockSize,
  };
}

export function createIoGenerator(job: ResolvedJob, ctx: GeneratorContext): IoGenerator {
  const region = jobRegion(job, ctx.lunBytes, ctx.lunBlockSize);
  const rng = new Rng(ctx.seed, ctx.workerIndex);
  const table = createBlockSizeTable(job.blockSizes);
  const single = table.sizes.length === 1;
  const readPercent = job.readPercent;
  const chooseRead = (): boolean =>
    readPercent >= 100 ? true : readPercent <= 0 ? false : rng.nextFloat() * 100 < readPercent;
  const chooseSize = (): number => (single ? 0 : pickBlockSizeIndex(table, rng.nextFloat()));

  if (job.pattern === "sequential") {
    const slice = workerSlice(region, ctx.lunBlockSize, ctx.workerIndex, ctx.workerCount);
    let cursor = slice.start;
    return {
      next(out: IoSpec): void {
        out.read = chooseRead();
        const length = table.sizes[chooseSize()]!;
        if (cursor + length > slice.end) cursor = slice.start;
        out.offset = cursor;
        out.length = length;
        cursor += length;
      },
    };
  }

  const area = job.verify ? workerSlice(region, ctx.lunBlockSize, ctx.workerIndex, ctx.workerCount) : region;
  const samplers = randomSamplers(job, table, area, ctx.seed);
  const firstSlot = samplers.map((s) => s.firstSlot);
  const draws: OffsetSampler[] = samplers.map((s) => s.sampler);
  return {
    next(out: IoSpec): void {
      out.read = chooseRead();
      const i = chooseSize();
      const bytes = table.sizes[i]!;
      out.offset = (firstSlot[i]! + draws[i]!.next(rng)) * bytes;
      out.length = bytes;
    },
  };
}

/** One sampler per block size: the slots of that size, aligned to it, inside `area`. */
function randomSamplers(
  job: ResolvedJob,
  table: BlockSizeTable,
  area: ByteRange,
  seed: number,
): Array<{ firstSlot: number; sampler: OffsetSampler }> {
  return table.sizes.map((bytes) => {
    const firstSlot = Math.ceil(area.start / bytes);
    const slots = Math.floor(area.end / bytes) - firstSlot;
    if (slots < 1) {
      throw new InputError(
        `job "${job.name}": region ${formatBytes(area.start)}..${formatBytes(area.end)} holds no ${formatBytes(bytes)}-aligned block`,
      );
    }
    return { firstSlot, sampler: createSampler(job.distribution, slots, seed) };
  });
}
