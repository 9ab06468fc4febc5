/**
 * Weighted block-size choice (fio's bssplit): {"4KiB": 70, "64KiB": 30} picks 4 KiB for 70% of
 * the I/Os and 64 KiB for 30%. Weights are relative; they need not add up to 100.
 */

import type { BlockSizeWeight } from "./types.js";

export interface BlockSizeTable {
  /** Sizes in bytes, in the order given. */
  readonly sizes: readonly number[];
  /** cumulative[i] = share of sizes[0..i], the last one exactly 1. */
  readonly cumulative: Float64Array;
  readonly min: number;
  readonly max: number;
}

export function createBlockSizeTable(weights: readonly BlockSizeWeight[]): BlockSizeTable {
  if (weights.length === 0) throw new RangeError("block size table needs at least one size");
  let total = 0;
  for (const w of weights) {
    if (!(w.weight > 0) || !Number.isFinite(w.weight)) throw new RangeError(`bad weight ${w.weight}`);
    total += w.weight;
  }
  const cumulative = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!.weight;
    cumulative[i] = acc / total;
  }
  cumulative[weights.length - 1] = 1;
  const sizes = weights.map((w) => w.bytes);
  return { sizes, cumulative, min: Math.min(...sizes), max: Math.max(...sizes) };
}

/** The index of the size chosen by a uniform draw u in [0, 1). */
export function pickBlockSizeIndex(table: BlockSizeTable, u: number): number {
  const c = table.cumulative;
  const last = c.length - 1;
  for (let i = 0; i < last; i++) {
    if (u < c[i]!) return i;
  }
  return last;
}

/** The size in bytes chosen by a uniform draw u in [0, 1). */
export function pickBlockSize(table: BlockSizeTable, u: number): number {
  return table.sizes[pickBlockSizeIndex(table, u)]!;
}

/** Expected bytes per I/O (for turning a bytes-per-second rate into an I/O rate). */
export function meanBlockSize(weights: readonly BlockSizeWeight[]): number {
  let total = 0;
  let sum = 0;
  for (const w of weights) {
    total += w.weight;
    sum += w.weight * w.bytes;
  }
  return total > 0 ? sum / total : 0;
}
