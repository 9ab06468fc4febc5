import type { LogicalUnit, LuContext, Nexus, ScsiCommandOut } from "../../src/target/logical-unit.js";
import { createLogicalUnit } from "../../src/target/logical-unit.js";
import type { LunSpec } from "../../src/target/options.js";

export const TARGET = "iqn.2026-11.io.iscsi-bench:unit";

export function nexus(n: number): Nexus {
  return {
    id: `init${n},0x${n}`,
    initiatorName: `iqn.2026-11.test:init${n}`,
    isid: n,
    tpgt: 1,
    targetName: TARGET,
  };
}

export function ctx(blockSize: 512 | 4096 = 512): LuContext {
  return { targetName: TARGET, lunList: () => [0, 1], blockSize };
}

export function memoryLu(
  sizeBytes = 1024 * 1024,
  readOnly = false,
  blockSize: 512 | 4096 = 512,
): Promise<LogicalUnit> {
  const spec: LunSpec = { kind: "memory", sizeBytes, readOnly };
  return createLogicalUnit(0, spec, ctx(blockSize));
}

/** Runs one command and waits for its completion. */
export function run(
  lu: LogicalUnit,
  cdb: number[] | Buffer,
  dataOut: Buffer | null = null,
  who: Nexus = nexus(1),
): Promise<ScsiCommandOut> {
  const buf = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
  return new Promise((resolve) => {
    lu.execute({ cdb: buf, dataOut, expectedDataInLength: 65536, nexus: who }, resolve);
  });
}

/** [sense key, ASC, ASCQ] of a fixed-format sense buffer. */
export function senseOf(out: ScsiCommandOut): [number, number, number] {
  const s = out.sense!;
  return [s[2]! & 0x0f, s[12]!, s[13]!];
}

export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}
