import type { ScsiCommandOut } from "./logical-unit.js";
import { goodAlloc, INVALID_FIELD_IN_CDB } from "./scsi-result.js";

/** One supported command: opcode, service action (null for commands without) and CDB usage data. */
interface CommandInfo {
  opcode: number;
  sa: number | null;
  usage: number[];
}

const C = 0x07; // CONTROL byte: NACA and LINK bits are looked at
const LBA4 = [0xff, 0xff, 0xff, 0xff];
const LBA8 = [...LBA4, ...LBA4];

function rw10(op: number, flags: number): CommandInfo {
  return { opcode: op, sa: null, usage: [op, flags, ...LBA4, 0x1f, 0xff, 0xff, C] };
}
function rw12(op: number, flags: number): CommandInfo {
  return { opcode: op, sa: null, usage: [op, flags, ...LBA4, ...LBA4, 0x1f, C] };
}
function rw16(op: number, flags: number): CommandInfo {
  return { opcode: op, sa: null, usage: [op, flags, ...LBA8, ...LBA4, 0x1f, C] };
}

/** Every command the logical unit serves (SPC-4 6.35 CDB USAGE DATA per command). */
export const SUPPORTED_COMMANDS: readonly CommandInfo[] = [
  { opcode: 0x00, sa: null, usage: [0x00, 0, 0, 0, 0, C] }, // TEST UNIT READY
  { opcode: 0x03, sa: null, usage: [0x03, 0x01, 0, 0, 0xff, C] }, // REQUEST SENSE
  { opcode: 0x08, sa: null, usage: [0x08, 0x1f, 0xff, 0xff, 0xff, C] }, // READ(6)
  { opcode: 0x0a, sa: null, usage: [0x0a, 0x1f, 0xff, 0xff, 0xff, C] }, // WRITE(6)
  { opcode: 0x12, sa: null, usage: [0x12, 0x01, 0xff, 0xff, 0xff, C] }, // INQUIRY
  { opcode: 0x15, sa: null, usage: [0x15, 0x11, 0, 0, 0xff, C] }, // MODE SELECT(6)
  { opcode: 0x16, sa: null, usage: [0x16, 0, 0, 0, 0, C] }, // RESERVE(6)
  { opcode: 0x17, sa: null, usage: [0x17, 0, 0, 0, 0, C] }, // RELEASE(6)
  { opcode: 0x1a, sa: null, usage: [0x1a, 0x08, 0xff, 0xff, 0xff, C] }, // MODE SENSE(6)
  { opcode: 0x1b, sa: null, usage: [0x1b, 0x01, 0, 0x0f, 0xf7, C] }, // START STOP UNIT
  { opcode: 0x1e, sa: null, usage: [0x1e, 0, 0, 0, 0x03, C] }, // PREVENT ALLOW MEDIUM REMOVAL
  { opcode: 0x25, sa: null, usage: [0x25, 0, ...LBA4, 0, 0, 0x01, C] }, // READ CAPACITY(10)
  rw10(0x28, 0x18), // READ(10)
  rw10(0x2a, 0x18), // WRITE(10)
  rw10(0x2e, 0x12), // WRITE AND VERIFY(10)
  rw10(0x2f, 0x16), // VERIFY(10)
  rw10(0x34, 0x02), // PRE-FETCH(10)
  rw10(0x35, 0x02), // SYNCHRONIZE CACHE(10)
  rw10(0x41, 0x08), // WRITE SAME(10)
  { opcode: 0x42, sa: null, usage: [0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, C] }, // UNMAP
  { opcode: 0x55, sa: null, usage: [0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, C] }, // MODE SELECT(10)
  { opcode: 0x5a, sa: null, usage: [0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, C] }, // MODE SENSE(10)
  ...[0, 1, 2, 3].map((sa) => ({ opcode: 0x5e, sa, usage: [0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, C] })), // PERSISTENT RESERVE IN
  ...[0, 1, 2, 3, 4, 5, 6].map((sa) => ({
    opcode: 0x5f,
    sa,
    usage: [0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, C],
  })), // PERSISTENT RESERVE OUT
  rw16(0x88, 0x18), // READ(16)
  { opcode: 0x89, sa: null, usage: [0x89, 0x18, ...LBA8, 0, 0, 0, 0xff, 0x1f, C] }, // COMPARE AND WRITE
  rw16(0x8a, 0x18), // WRITE(16)
  rw16(0x8b, 0x18), // ORWRITE(16)
  rw16(0x8e, 0x12), // WRITE AND VERIFY(16)
  rw16(0x8f, 0x16), // VERIFY(16)
  rw16(0x90, 0x02), // PRE-FETCH(16)
  rw16(0x91, 0x02), // SYNCHRONIZE CACHE(16)
  rw16(0x93, 0x09), // WRITE SAME(16)
  { opcode: 0x9e, sa: 0x10, usage: [0x9e, 0x1f, ...LBA8, ...LBA4, 0x01, C] }, // READ CAPACITY(16)
  { opcode: 0x9e, sa: 0x12, usage: [0x9e, 0x1f, ...LBA8, ...LBA4, 0, C] }, // GET LBA STATUS
  { opcode: 0xa0, sa: null, usage: [0xa0, 0, 0xff, 0, 0, 0, ...LBA4, 0, C] }, // REPORT LUNS
  { opcode: 0xa3, sa: 0x0c, usage: [0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, ...LBA4, 0, C] }, // REPORT SUPPORTED OPERATION CODES
  rw12(0xa8, 0x18), // READ(12)
  rw12(0xaa, 0x18), // WRITE(12)
  rw12(0xae, 0x12), // WRITE AND VERIFY(12)
  rw12(0xaf, 0x16), // VERIFY(12)
];

/** Opcodes that carry a service action field: reporting option 1 rejects them, option 2 requires them. */
const HAS_SERVICE_ACTIONS = new Set(SUPPORTED_COMMANDS.filter((c) => c.sa !== null).map((c) => c.opcode));

/** COMMAND TIMEOUTS DESCRIPTOR (SPC-4 6.35.4): 12 bytes, no timeouts known (0 = unspecified). */
function timeoutDescriptor(): Buffer {
  const t = Buffer.alloc(12);
  t.writeUInt16BE(0x0a, 0);
  return t;
}

/** REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0x0c), SPC-4 6.35. */
export function reportSupportedOpcodes(cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 12) return INVALID_FIELD_IN_CDB;
  const rctd = (cdb[2]! & 0x80) !== 0;
  const options = cdb[2]! & 0x07;
  const opcode = cdb[3]!;
  const sa = cdb.readUInt16BE(4);
  const alloc = cdb.readUInt32BE(6);
  if (options === 0) {
    const size = 8 + (rctd ? 12 : 0);
    const b = Buffer.alloc(4 + size * SUPPORTED_COMMANDS.length);
    b.writeUInt32BE(size * SUPPORTED_COMMANDS.length, 0);
    SUPPORTED_COMMANDS.forEach((c, i) => {
      const at = 4 + size * i;
      b[at] = c.opcode;
      b.writeUInt16BE(c.sa ?? 0, at + 2);
      b[at + 5] = (rctd ? 0x02 : 0) | (c.sa !== null ? 0x01 : 0); // CTDP, SERVACTV
      b.writeUInt16BE(c.usage.length, at + 6);
      if (rctd) timeoutDescriptor().copy(b, at + 8);
    });
    return goodAlloc(b, alloc);
  }
  let found: CommandInfo | undefined;
  if (options === 1) {
    if (HAS_SERVICE_ACTIONS.has(opcode)) return INVALID_FIELD_IN_CDB;
    found = SUPPORTED_COMMANDS.find((c) => c.opcode === opcode);
  } else if (options === 2) {
    if (!HAS_SERVICE_ACTIONS.has(opcode)) return INVALID_FIELD_IN_CDB;
    found = SUPPORTED_COMMANDS.find((c) => c.opcode === opcode && c.sa === sa);
  } else {
    return INVALID_FIELD_IN_CDB;
  }
  if (found === undefined) {
    const b = Buffer.alloc(4);
    b[1] = 0x01; // SUPPORT 001b: not supported
    return goodAlloc(b, alloc);
  }
  const b = Buffer.alloc(4 + found.usage.length + (rctd ? 12 : 0));
  b[1] = (rctd ? 0x80 : 0) | 0x03; // CTDP, SUPPORT 011b: supported as in the standard
  b.writeUInt16BE(found.usage.length, 2);
  Buffer.from(found.usage).copy(b, 4);
  if (rctd) timeoutDescriptor().copy(b, 4 + found.usage.length);
  return goodAlloc(b, alloc);
}
