/**
 * The verifier of a verify job's worker: the shared generation map (the last generation written
 * to each block, 0 never, INFLUX unknown), the writes in flight per block, the stamps of the
 * writes, the checks of the reads, and the read-back of everything written once the run drained.
 *
 * Rules:
 *   - no read or write is sent on a block while a write of it is in flight (`overlapsInflightWrite`;
 *     the I/O loop holds such a command until a completion), so a block has one writer at a time;
 *   - blocks with a write in flight are "old or new" and never checked;
 *   - a write that returns GOOD sets its blocks to the generation it carried (read back from its
 *     stamps); one that ends with an error leaves them unknown (INFLUX: never checked again until
 *     rewritten);
 *   - a write that returns GOOD after the session re-issued it (`ScsiTask.reissued > 0`, after a
 *     connection loss) may have reached the medium twice: its blocks were "old or new" while it was
 *     in flight and hold the new generation once it is GOOD. They are counted as recovered (never as
 *     mismatches), and the read-back checks them (it reads every block with a known generation);
 *   - a read checks only blocks with a known generation and no write in flight; when some write
 *     completed while the read was in flight, a stale block is tolerated (the read may have been
 *     served before that write).
 */
import type { Session } from "../initiator/session.js";
import { buildReadAuto } from "../scsi/cdb.js";
import { statusName } from "../scsi/status.js";
import { checkBlock, type StampMismatch, stampBlock } from "../workload/stamp.js";
import type { VerifyMap } from "./worker-messages.js";

export const INFLUX = 0xffffffff;
export const MAX_FAILURES_REPORTED = 100;
/** Bytes per READ of the read-back. */
export const READ_BACK_CHUNK_BYTES = 65536;

export class Verifier {
  /** Last generation written per block of the map (shared by the job's workers: disjoint slices). */
  readonly generations: Uint32Array;
  readonly baseLba: number;
  readonly blocks: number;
  readonly seed: number;
  /** Writes in flight per block. */
  private readonly inflight: Uint8Array;
  /** 1 for a block whose last write returned GOOD after a re-issue. */
  private readonly recovered: Uint8Array;
  blocksChecked = 0;
  mismatchCount = 0;
  recoveredBlocks = 0;
  /** Recovered blocks the read-back checked. */
  recoveredChecked = 0;
  readonly mismatches: StampMismatch[] = [];
  /** Writes completed so far (a read compares it with the value at its submission). */
  writesCompleted = 0;

  constructor(
    map: VerifyMap,
    readonly blockSize: number,
  ) {
    this.generations = new Uint32Array(map.generations);
    this.baseLba = map.baseLba;
    this.blocks = map.blocks;
    this.seed = map.seed;
    this.inflight = new Uint8Array(map.blocks);
    this.recovered = new Uint8Array(map.blocks);
  }

  /** Writes in flight on block `lba` (0 outside the map). */
  inflightAt(lba: number): number {
    const i = lba - this.baseLba;
    return i >= 0 && i < this.blocks ? this.inflight[i]! : 0;
  }

  overlapsInflightWrite(lba: number, blocks: number): boolean {
    const inflight = this.inflight;
    for (let b = lba - this.baseLba, e = b + blocks; b < e; b++) {
      if (b >= 0 && b < this.blocks && inflight[b]! > 0) return true;
    }
    return false;
  }

  /**
   * Stamps `length` bytes of `buf` as a write at `lba` with each block's next generation and marks
   * the blocks in flight. Blocks outside the map get generation 1.
   */
  beginWrite(buf: Buffer, lba: number, length: number): void {
    const bs = this.blockSize;
    const gens = this.generations;
    for (let b = lba - this.baseLba, pos = 0; pos < length; b++, pos += bs) {
      let g = 1;
      if (b >= 0 && b < this.blocks) {
        const cur = gens[b]!;
        g = cur === INFLUX ? 1 : cur + 1;
        this.inflight[b] = this.inflight[b]! + 1;
      }
      stampBlock(buf, pos, lba + pos / bs, bs, g, this.seed);
    }
  }

  /** A write ended: GOOD (`ok`) sets the generations it carried, an error leaves the blocks unknown. */
  endWrite(buf: Buffer, lba: number, length: number, ok: boolean, reissued: number): void {
    const bs = this.blockSize;
    const gens = this.generations;
    const first = lba - this.baseLba;
    for (let b = first, e = b + length / bs; b < e; b++) {
      if (b < 0 || b >= this.blocks) continue;
      this.inflight[b] = this.inflight[b]! - 1;
      if (ok) {
        // the generation this write carried is in its stamp: re-read it from the buffer
        gens[b] = buf.readUInt32BE((b - first) * bs + 16);
        if (reissued > 0) {
          this.recovered[b] = 1;
          this.recoveredBlocks++;
        } else {
          this.recovered[b] = 0;
        }
      } else {
        gens[b] = INFLUX;
        this.recovered[b] = 0;
      }
    }
    this.writesCompleted++;
  }

  /** Checks the blocks of a GOOD read; `tolerateStale` when writes completed during the read. */
  checkRead(buf: Buffer, lba: number, length: number, tolerateStale: boolean): void {
    const bs = this.blockSize;
    const gens = this.generations;
    for (let pos = 0, block = lba; pos < length; pos += bs, block++) {
      const i = block - this.baseLba;
      if (i < 0 || i >= this.blocks || this.inflight[i]! > 0) continue;
      const expected = gens[i]!;
      if (expected === 0 || expected === INFLUX) continue;
      this.blocksChecked++;
      const bad = checkBlock(buf, pos, block, bs, expected, this.seed);
      if (bad !== null && !(tolerateStale && bad.kind === "stale")) this.recordMismatch(bad);
    }
  }

  private recordMismatch(m: StampMismatch): void {
    this.mismatchCount++;
    if (this.mismatches.length < MAX_FAILURES_REPORTED) this.mismatches.push(m);
  }

  private known(lba: number): boolean {
    const g = this.generations[lba - this.baseLba];
    return g !== undefined && g !== 0 && g !== INFLUX;
  }

  /** The range [first, last) clipped to the map. */
  private clip(first: number, last: number): [number, number] {
    return [Math.max(first, this.baseLba), Math.min(last, this.baseLba + this.blocks)];
  }

  /** The first block at or after `lba` (below `hi`) with a known generation, else `hi`. */
  private nextKnown(lba: number, hi: number): number {
    while (lba < hi && !this.known(lba)) lba++;
    return lba;
  }

  /** Blocks with a known generation from `lba` on (below `hi`), at most one READ's worth. */
  private runLength(lba: number, hi: number): number {
    const chunkBlocks = Math.max(1, Math.floor(READ_BACK_CHUNK_BYTES / this.blockSize));
    let n = 1;
    while (n < chunkBlocks && lba + n < hi && this.known(lba + n)) n++;
    return n;
  }

  /**
   * The READs of the read-back of blocks [first, last) (clipped to the map): runs of blocks with a
   * known generation, at most READ_BACK_CHUNK_BYTES each. Calls `each(lba, blocks)` in order.
   */
  readBackPlan(first: number, last: number, each: (lba: number, blocks: number) => void): void {
    const [lo, hi] = this.clip(first, last);
    for (let lba = this.nextKnown(lo, hi); lba < hi; ) {
      const n = this.runLength(lba, hi);
      each(lba, n);
      lba = this.nextKnown(lba + n, hi);
    }
  }

  /**
   * Reads back blocks [first, last) through `session` and checks every block with a known
   * generation (recovered ones included). A READ that fails is passed to `onError`.
   */
  async readBack(
    session: Pick<Session, "execute">,
    lun: number,
    first: number,
    last: number,
    onError: (key: string) => void,
  ): Promise<void> {
    const [lo, hi] = this.clip(first, last);
    const cdb = Buffer.alloc(16);
    const bs = this.blockSize;
    for (let lba = this.nextKnown(lo, hi); lba < hi; ) {
      const n = this.runLength(lba, hi);
      const len = buildReadAuto(cdb, lba, n);
      const r = await session.execute(lun, cdb.subarray(0, len), { dataInLength: n * bs });
      const at = lba;
      lba = this.nextKnown(lba + n, hi);
      if (r.status !== 0) {
        onError(r.sense?.text ?? statusName(r.status));
        continue;
      }
      const got = Math.min(r.data.length, n * bs);
      for (let b = at - this.baseLba, e = b + got / bs; b < e; b++) {
        if (this.recovered[b] === 1) this.recoveredChecked++;
      }
      this.checkRead(r.data, at, got, false);
    }
  }
}
