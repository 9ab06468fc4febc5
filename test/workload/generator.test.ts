import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { createBlockSizeTable, meanBlockSize, pickBlockSize } from "../../src/workload/block-sizes.js";
import { createSampler, formatDistribution, parseDistribution } from "../../src/workload/distribution.js";
import type { GeneratorContext } from "../../src/workload/generator.js";
import { createIoGenerator, workerSlice } from "../../src/workload/generator.js";
import { Rng } from "../../src/workload/rng.js";
import type { Distribution, IoSpec, ResolvedJob } from "../../src/workload/types.js";
import { resolvedJob } from "../helpers/workload-fixtures.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function makeJob(extra: Partial<ResolvedJob>): ResolvedJob {
  return resolvedJob(extra);
}

function ctx(extra: Partial<GeneratorContext> = {}): GeneratorContext {
  return { lunBlockSize: 512, lunBytes: 64 * MiB, workerIndex: 0, workerCount: 1, seed: 1, ...extra };
}

function draw(job: ResolvedJob, c: GeneratorContext, count: number): IoSpec[] {
  const gen = createIoGenerator(job, c);
  const out: IoSpec = { read: false, offset: -1, length: -1 };
  const list: IoSpec[] = [];
  for (let i = 0; i < count; i++) {
    gen.next(out);
    list.push({ ...out });
  }
  return list;
}

/** Share of all samples that fall on the hottest `fraction` of the slots. */
function hottestShare(counts: number[], fraction: number): number {
  const sorted = [...counts].sort((a, b) => b - a);
  const top = Math.round(counts.length * fraction);
  const total = counts.reduce((a, b) => a + b, 0);
  return sorted.slice(0, top).reduce((a, b) => a + b, 0) / total;
}

function sampleCounts(dist: Distribution, n: number, samples: number, seed = 7): number[] {
  const sampler = createSampler(dist, n, seed);
  const rng = new Rng(seed);
  const counts = new Array<number>(n).fill(0);
  let outside = 0;
  for (let i = 0; i < samples; i++) {
    const k = sampler.next(rng);
    if (k >= 0 && k < n && Number.isInteger(k)) counts[k]!++;
    else outside++;
  }
  expect(outside).toBe(0);
  return counts;
}

describe("Rng", () => {
  it("is reproducible per (seed, stream) and distinct across streams and seeds", () => {
    const seq = (seed: number, stream: number) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(seq(1, 0)).toEqual(seq(1, 0));
    expect(seq(1, 0)).not.toEqual(seq(1, 1));
    expect(seq(1, 0)).not.toEqual(seq(2, 0));
    for (const v of seq(3, 4)) expect(v >= 0 && v <= 0xffffffff && Number.isInteger(v)).toBe(true);
  });

  it("draws floats in [0, 1) with a uniform mean", () => {
    const r = new Rng(99);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
    }
    expect(sum / 20000).toBeCloseTo(0.5, 1);
  });
});

describe("sequential", () => {
  it("walks the region and wraps around to its start", () => {
    const job = makeJob({
      pattern: "sequential",
      offset: 1 * MiB,
      size: 64 * KiB,
      blockSizes: [{ bytes: 16 * KiB, weight: 1 }],
    });
    const offsets = draw(job, ctx(), 10).map((io) => io.offset);
    const b = 1 * MiB;
    expect(offsets).toEqual([
      b,
      b + 16 * KiB,
      b + 32 * KiB,
      b + 48 * KiB,
      b,
      b + 16 * KiB,
      b + 32 * KiB,
      b + 48 * KiB,
      b,
      b + 16 * KiB,
    ]);
  });

  it("wraps before an I/O would pass the end (mixed sizes)", () => {
    const job = makeJob({
      pattern: "sequential",
      size: 40 * KiB,
      blockSizes: [
        { bytes: 4 * KiB, weight: 1 },
        { bytes: 16 * KiB, weight: 1 },
      ],
    });
    for (const io of draw(job, ctx(), 2000)) {
      expect(io.offset + io.length).toBeLessThanOrEqual(40 * KiB);
      expect(io.offset % (4 * KiB)).toBe(0);
    }
  });

  it("gives each worker its own slice, together covering the region", () => {
    const region = { offset: 2 * MiB, size: 1 * MiB };
    const job = makeJob({
      pattern: "sequential",
      ...region,
      workers: 3,
      blockSizes: [{ bytes: 8 * KiB, weight: 1 }],
    });
    const seen: Array<Set<number>> = [];
    for (let w = 0; w < 3; w++) {
      const slice = workerSlice({ start: region.offset, end: region.offset + region.size }, 512, w, 3);
      const offsets = new Set<number>();
      for (const io of draw(job, ctx({ workerIndex: w, workerCount: 3 }), 200)) {
        expect(io.offset).toBeGreaterThanOrEqual(slice.start);
        expect(io.offset + io.length).toBeLessThanOrEqual(slice.end);
        offsets.add(io.offset);
      }
      expect(Math.min(...offsets)).toBe(slice.start);
      seen.push(offsets);
    }
    const s0 = workerSlice({ start: 0, end: 1 * MiB }, 512, 0, 3);
    const s2 = workerSlice({ start: 0, end: 1 * MiB }, 512, 2, 3);
    expect(s0.start).toBe(0);
    expect(s2.end).toBe(1 * MiB);
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++) for (const o of seen[a]!) expect(seen[b]!.has(o)).toBe(false);
  });
});

describe("random", () => {
  it("hits every aligned block of a small region", () => {
    const job = makeJob({ offset: 256 * KiB, size: 256 * KiB });
    const hit = new Set<number>();
    for (const io of draw(job, ctx(), 3000)) hit.add(io.offset);
    expect(hit.size).toBe(64);
    for (let o = 256 * KiB; o < 512 * KiB; o += 4 * KiB) expect(hit.has(o)).toBe(true);
  });

  it("aligns offsets to the chosen block size, inside the region", () => {
    const start = 1536; // a multiple of the LUN block size, not of 4 KiB
    const job = makeJob({
      offset: start,
      size: 4 * MiB,
      blockSizes: [
        { bytes: 4 * KiB, weight: 1 },
        { bytes: 64 * KiB, weight: 1 },
      ],
    });
    const sizes = new Set<number>();
    for (const io of draw(job, ctx(), 5000)) {
      expect(io.offset % io.length).toBe(0);
      expect(io.offset).toBeGreaterThanOrEqual(start);
      expect(io.offset + io.length).toBeLessThanOrEqual(start + 4 * MiB);
      sizes.add(io.length);
    }
    expect([...sizes].sort((a, b) => a - b)).toEqual([4 * KiB, 64 * KiB]);
  });

  it("mixes reads and writes by readPercent", () => {
    const reads = (readPercent: number) =>
      draw(makeJob({ readPercent }), ctx(), 20000).filter((io) => io.read).length / 20000;
    expect(reads(100)).toBe(1);
    expect(reads(0)).toBe(0);
    expect(Math.abs(reads(70) - 0.7)).toBeLessThan(0.02);
  });

  it("picks block sizes by weight", () => {
    const job = makeJob({
      blockSizes: [
        { bytes: 4 * KiB, weight: 70 },
        { bytes: 64 * KiB, weight: 20 },
        { bytes: 1 * MiB, weight: 10 },
      ],
    });
    const ios = draw(job, ctx(), 30000);
    const share = (n: number) => ios.filter((io) => io.length === n).length / ios.length;
    expect(Math.abs(share(4 * KiB) - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(share(64 * KiB) - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(share(1 * MiB) - 0.1)).toBeLessThan(0.02);
  });

  it("is reproducible by seed, and each worker has its own stream", () => {
    const job = makeJob({ readPercent: 50, workers: 2 });
    const a = draw(job, ctx({ seed: 5, workerCount: 2 }), 500);
    expect(draw(job, ctx({ seed: 5, workerCount: 2 }), 500)).toEqual(a);
    expect(draw(job, ctx({ seed: 6, workerCount: 2 }), 500)).not.toEqual(a);
    const b = draw(job, ctx({ seed: 5, workerIndex: 1, workerCount: 2 }), 500);
    expect(b).not.toEqual(a);
    const same = a.filter((io, i) => io.offset === b[i]!.offset).length;
    expect(same).toBeLessThan(10);
  });

  it("gives verify workers disjoint slices", () => {
    const job = makeJob({ verify: true, readPercent: 50, workers: 2, size: 1 * MiB });
    const w0 = draw(job, ctx({ workerCount: 2 }), 2000);
    const w1 = draw(job, ctx({ workerIndex: 1, workerCount: 2 }), 2000);
    for (const io of w0) expect(io.offset + io.length).toBeLessThanOrEqual(512 * KiB);
    for (const io of w1) expect(io.offset).toBeGreaterThanOrEqual(512 * KiB);
  });

  it("refuses a job that does not fit the LUN", () => {
    const lun = ctx({ lunBytes: 1 * MiB, lunBlockSize: 4096 });
    expect(() => createIoGenerator(makeJob({ blockSizes: [{ bytes: 512, weight: 1 }] }), lun)).toThrow(
      new InputError('job "j": block size 512B is not a multiple of the LUN block size 4KiB'),
    );
    expect(() => createIoGenerator(makeJob({ offset: 512 * KiB, size: 1 * MiB }), lun)).toThrow(
      'job "j": region 512KiB..1.5MiB goes beyond the end of the LUN (1MiB)',
    );
    expect(() => createIoGenerator(makeJob({ offset: 2 * MiB }), lun)).toThrow(
      'job "j": offset 2MiB is at or beyond the end of the LUN (1MiB)',
    );
    expect(() => createIoGenerator(makeJob({ offset: 1024 }), lun)).toThrow(
      'job "j": offset 1KiB is not a multiple of the LUN block size 4KiB',
    );
    expect(() =>
      createIoGenerator(
        makeJob({ pattern: "sequential", size: 64 * KiB, workers: 32 }),
        ctx({ workerCount: 32 }),
      ),
    ).toThrow('job "j": region of 64KiB split over 32 workers is too small for one 4KiB I/O');
  });
});

describe("distributions", () => {
  it("parses and formats the distribution strings", () => {
    for (const s of ["uniform", "zipf:1.2", "pareto:0.2", "normal:10"]) {
      expect(formatDistribution(parseDistribution(s)!)).toBe(s);
    }
    expect(parseDistribution("zipf")).toBeNull();
    expect(parseDistribution("zipf:-1")).toBeNull();
  });

  it("uniform spreads evenly", () => {
    expect(Math.abs(hottestShare(sampleCounts({ kind: "uniform" }, 1000, 100_000), 0.1) - 0.1)).toBeLessThan(
      0.03,
    );
  });

  it.each([0.8, 1.2])("zipf:%d gives the hottest tenth of the blocks their expected share", (theta) => {
    const n = 1000;
    let head = 0;
    let all = 0;
    for (let k = 1; k <= n; k++) {
      all += k ** -theta;
      if (k <= n / 10) head += k ** -theta;
    }
    const share = hottestShare(sampleCounts({ kind: "zipf", theta }, n, 200_000), 0.1);
    expect(Math.abs(share - head / all)).toBeLessThan(0.02);
  });

  it("zipf: rank 1 is the most frequent slot, with probability 1/H(n, theta)", () => {
    const n = 100;
    let h = 0;
    for (let k = 1; k <= n; k++) h += k ** -1;
    const counts = sampleCounts({ kind: "zipf", theta: 1 }, n, 100_000);
    expect(Math.abs(Math.max(...counts) / 100_000 - 1 / h)).toBeLessThan(0.01);
    expect(counts.every((c) => c > 0)).toBe(true); // the scatter is a bijection: every slot reachable
  });

  it("pareto:0.2 puts 80% of the I/O on 20% of the blocks (fio's meaning)", () => {
    const counts = sampleCounts({ kind: "pareto", h: 0.2 }, 1000, 200_000);
    expect(Math.abs(hottestShare(counts, 0.2) - 0.8)).toBeLessThan(0.02);
    expect(Math.abs(hottestShare(counts, 0.1) - 0.1 ** (Math.log(0.8) / Math.log(0.2)))).toBeLessThan(0.02);
  });

  it("normal:10 is centered with a standard deviation of 10% of the region", () => {
    const n = 1000;
    const sampler = createSampler({ kind: "normal", percent: 10 }, n);
    const rng = new Rng(3);
    const xs: number[] = [];
    for (let i = 0; i < 50_000; i++) xs.push(sampler.next(rng) + 0.5);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean - 500)).toBeLessThan(3);
    expect(Math.abs(sd - 100)).toBeLessThan(3);
    const within = xs.filter((x) => Math.abs(x - 500) <= 100).length / xs.length;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.015);
  });

  it("skewed random jobs keep the hot set shared by all workers", () => {
    const job = makeJob({ distribution: { kind: "zipf", theta: 1.2 }, size: 4 * MiB, workers: 2 });
    const hottest = (w: number) => {
      const counts = new Map<number, number>();
      for (const io of draw(job, ctx({ workerIndex: w, workerCount: 2 }), 20000)) {
        counts.set(io.offset, (counts.get(io.offset) ?? 0) + 1);
      }
      return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    };
    expect(hottest(0)).toBe(hottest(1));
  });
});

describe("block-size table", () => {
  it("maps uniform draws to sizes by cumulative weight", () => {
    const t = createBlockSizeTable([
      { bytes: 4096, weight: 3 },
      { bytes: 65536, weight: 1 },
    ]);
    expect(pickBlockSize(t, 0)).toBe(4096);
    expect(pickBlockSize(t, 0.7499)).toBe(4096);
    expect(pickBlockSize(t, 0.75)).toBe(65536);
    expect(pickBlockSize(t, 0.9999999)).toBe(65536);
    expect(t.min).toBe(4096);
    expect(t.max).toBe(65536);
    expect(
      meanBlockSize([
        { bytes: 4096, weight: 3 },
        { bytes: 65536, weight: 1 },
      ]),
    ).toBe((3 * 4096 + 65536) / 4);
  });
});
