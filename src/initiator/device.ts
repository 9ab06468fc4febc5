/**
 * What `info` reports about a logical unit: standard INQUIRY, the VPD pages it supports (unit
 * serial 0x80, device identification 0x83, block limits 0xB0) and the capacity (READ CAPACITY(16),
 * falling back to (10)).
 */

import { type Capacity, parseReadCapacity10, parseReadCapacity16, RC10_USE_16 } from "../scsi/capacity.js";
import { buildInquiry, buildReadCapacity10, buildReadCapacity16 } from "../scsi/cdb.js";
import {
  type BlockLimits,
  type Designator,
  parseBlockLimits,
  parseDeviceIdentification,
  parseStandardInquiry,
  parseSupportedVpdPages,
  parseUnitSerial,
} from "../scsi/inquiry.js";
import { formatSense } from "../scsi/sense.js";
import { ScsiStatus } from "../scsi/status.js";
import { SessionError } from "./errors.js";
import type { CommandResult, Session } from "./session.js";

export interface DeviceInfo {
  vendor: string;
  product: string;
  revision: string;
  serial: string | null;
  blockSize: number;
  blocks: number;
  capacityBytes: number;
  thinProvisioned: boolean;
  deviceType: number;
  designators: Designator[];
  blockLimits: BlockLimits | null;
}

function commandFailed(what: string, r: CommandResult): SessionError {
  const sense = r.sense ? `: ${formatSense(r.sense)}` : "";
  return new SessionError(`${what} failed with SCSI status 0x${r.status.toString(16)}${sense}`);
}

async function inquiry(
  session: Session,
  lun: number,
  page: number | undefined,
  len: number,
): Promise<CommandResult> {
  const cdb = Buffer.alloc(16);
  const n = buildInquiry(cdb, len, page);
  return session.execute(lun, cdb.subarray(0, n), { dataInLength: len });
}

async function vpd(session: Session, lun: number, page: number): Promise<Buffer | null> {
  const r = await inquiry(session, lun, page, 4096);
  return r.status === ScsiStatus.GOOD ? r.data : null;
}

async function readCapacity(session: Session, lun: number): Promise<Capacity> {
  const cdb = Buffer.alloc(16);
  let n = buildReadCapacity16(cdb, 32);
  let r = await session.execute(lun, cdb.subarray(0, n), { dataInLength: 32 });
  if (r.status === ScsiStatus.GOOD) return parseReadCapacity16(r.data);
  // READ CAPACITY(16) is optional for small devices: fall back to (10).
  cdb.fill(0);
  n = buildReadCapacity10(cdb);
  r = await session.execute(lun, cdb.subarray(0, n), { dataInLength: 8 });
  if (r.status !== ScsiStatus.GOOD) throw commandFailed("READ CAPACITY", r);
  const cap = parseReadCapacity10(r.data);
  if (cap.lastLba === RC10_USE_16)
    throw new SessionError("READ CAPACITY(10) says the device is too large, but (16) failed");
  return cap;
}

export async function readDeviceInfo(session: Session, lun: number): Promise<DeviceInfo> {
  const std = await inquiry(session, lun, undefined, 96);
  if (std.status !== ScsiStatus.GOOD) throw commandFailed("INQUIRY", std);
  const inq = parseStandardInquiry(std.data);
  if (inq.peripheralQualifier === 3) throw new SessionError(`LUN ${lun} does not exist on the target`);
  let pages: number[] = [];
  const p0 = await vpd(session, lun, 0x00);
  if (p0) pages = parseSupportedVpdPages(p0);
  let serial: string | null = null;
  let designators: Designator[] = [];
  let blockLimits: BlockLimits | null = null;
  if (pages.includes(0x80)) {
    const p = await vpd(session, lun, 0x80);
    if (p) serial = parseUnitSerial(p);
  }
  if (pages.includes(0x83)) {
    const p = await vpd(session, lun, 0x83);
    if (p)
      designators = parseDeviceIdentification(p).map((d) => ({
        codeSet: d.codeSet,
        association: d.association,
        type: d.type,
        value: d.value,
      }));
  }
  if (pages.includes(0xb0)) {
    const p = await vpd(session, lun, 0xb0);
    if (p) {
      const b = parseBlockLimits(p);
      blockLimits = {
        maxTransferBlocks: b.maxTransferBlocks,
        optimalTransferBlocks: b.optimalTransferBlocks,
        maxUnmapLbaCount: b.maxUnmapLbaCount,
        maxWriteSameBlocks: b.maxWriteSameBlocks,
        optimalTransferGranularity: b.optimalTransferGranularity,
      };
    }
  }
  const cap = await readCapacity(session, lun);
  return {
    vendor: inq.vendor,
    product: inq.product,
    revision: inq.revision,
    serial,
    blockSize: cap.blockSize,
    blocks: cap.blocks,
    capacityBytes: cap.blocks * cap.blockSize,
    thinProvisioned: cap.thinProvisioned,
    deviceType: inq.deviceType,
    designators,
    blockLimits,
  };
}
