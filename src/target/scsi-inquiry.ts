import type { LuContext, ScsiCommandOut } from "./logical-unit.js";
import { type LuState, PRODUCT, REVISION, VENDOR } from "./lu-state.js";
import { goodAlloc, INVALID_FIELD_IN_CDB } from "./scsi-result.js";

/** Version descriptors (SPC-4 7.7.2 Table 144): SAM-5, iSCSI, SPC-4, SBC-3. */
const VERSION_DESCRIPTORS = [0x00a0, 0x0960, 0x0460, 0x04c0];

/** The pages of VPD 0x00, in ascending order. */
export const SUPPORTED_VPD_PAGES = [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2];

/**
 * Standard INQUIRY data (SPC-4 6.6.2): 96 bytes. `peripheral` is (qualifier << 5) | type;
 * 0x00 for a direct-access block device, 0x7f for "no LU at this LUN".
 */
export function standardInquiry(peripheral: number): Buffer {
  const b = Buffer.alloc(96);
  b[0] = peripheral;
  b[2] = 0x06; // VERSION: SPC-4
  b[3] = 0x10 | 0x02; // HISUP, RESPONSE DATA FORMAT 2
  b[4] = b.length - 5; // ADDITIONAL LENGTH
  b[5] = 0x00; // TPGS 0, no 3PC, no PROTECT
  b[7] = 0x02; // CMDQUE
  b.write(VENDOR, 8, 8, "ascii");
  b.write(PRODUCT, 16, 16, "ascii");
  b.write(REVISION, 32, 4, "ascii");
  VERSION_DESCRIPTORS.forEach((d, i) => {
    b.writeUInt16BE(d, 58 + 2 * i);
  });
  return b;
}

function vpdPage(code: number, body: Buffer): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b[1] = code;
  b.writeUInt16BE(body.length, 2);
  body.copy(b, 4);
  return b;
}

/** One identification descriptor (SPC-4 7.8.6.1). */
function designator(codeSet: number, piv: boolean, association: number, type: number, value: Buffer): Buffer {
  const d = Buffer.alloc(4 + value.length);
  d[0] = (piv ? 0x50 : 0x00) | codeSet; // protocol identifier 5 = iSCSI (valid only with PIV)
  d[1] = (piv ? 0x80 : 0) | (association << 4) | type;
  d[3] = value.length;
  value.copy(d, 4);
  return d;
}

/** A SCSI name string: UTF-8, NUL-terminated, padded to a multiple of 4. */
function nameString(name: string): Buffer {
  const raw = Buffer.from(name, "utf8");
  const len = (raw.length + 4) & ~3;
  const b = Buffer.alloc(len);
  raw.copy(b);
  return b;
}

export function deviceIdentification(lu: LuState): Buffer {
  const t10 = Buffer.alloc(8 + lu.serial.length, 0x20);
  t10.write(VENDOR, 0, 8, "ascii");
  t10.write(lu.serial, 8, "ascii");
  const port = Buffer.alloc(4);
  port.writeUInt16BE(1, 2); // relative target port 1
  return Buffer.concat([
    designator(1, false, 0, 3, lu.naa), // NAA, addressed logical unit
    designator(2, false, 0, 1, t10), // T10 vendor id
    designator(3, true, 2, 8, nameString(lu.ctx.targetName)), // SCSI name string, target device
    designator(3, true, 1, 8, nameString(`${lu.ctx.targetName},t,0x0001`)), // SCSI name string, target port
    designator(1, true, 1, 4, port), // relative target port
  ]);
}

function blockLimits(lu: LuState): Buffer {
  const b = Buffer.alloc(0x3c);
  // offsets below are of the page (SBC-3 6.5.3) minus the 4-byte header
  b[0] = 0x00; // WSNZ = 0: WRITE SAME with 0 blocks writes to the end of the medium
  b[1] = lu.maxCompareAndWriteBlocks;
  b.writeUInt16BE(Math.max(1, 4096 / lu.blockSize), 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
  b.writeUInt32BE(lu.maxTransferBlocks, 4); // MAXIMUM TRANSFER LENGTH
  b.writeUInt32BE((1024 * 1024) / lu.blockSize, 8); // OPTIMAL TRANSFER LENGTH
  b.writeUInt32BE(lu.maxTransferBlocks, 12); // MAXIMUM PREFETCH LENGTH
  b.writeUInt32BE(lu.maxUnmapBlocks, 16); // MAXIMUM UNMAP LBA COUNT
  b.writeUInt32BE(lu.maxUnmapDescriptors, 20); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
  b.writeUInt32BE(1, 24); // OPTIMAL UNMAP GRANULARITY
  b.writeUInt32BE(0, 28); // UGAVALID = 0
  b.writeUInt32BE(0, 32); // MAXIMUM WRITE SAME LENGTH (high)
  b.writeUInt32BE(lu.maxWriteSameBlocks, 36); // (low)
  return vpdPage(0xb0, b);
}

function blockDeviceCharacteristics(): Buffer {
  const b = Buffer.alloc(0x3c);
  b.writeUInt16BE(0x0001, 0); // MEDIUM ROTATION RATE: non-rotating medium
  return vpdPage(0xb1, b);
}

function logicalBlockProvisioning(): Buffer {
  const b = Buffer.alloc(4);
  b[0] = 0; // THRESHOLD EXPONENT
  b[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ
  b[2] = 0x02; // PROVISIONING TYPE: thin
  return vpdPage(0xb2, b);
}

/** VPD page `code` of `lu`, or null when not supported. */
export function vpd(lu: LuState, code: number): Buffer | null {
  switch (code) {
    case 0x00:
      return vpdPage(0x00, Buffer.from(SUPPORTED_VPD_PAGES));
    case 0x80:
      return vpdPage(0x80, Buffer.from(lu.serial, "ascii"));
    case 0x83:
      return vpdPage(0x83, deviceIdentification(lu));
    case 0xb0:
      return blockLimits(lu);
    case 0xb1:
      return blockDeviceCharacteristics();
    case 0xb2:
      return logicalBlockProvisioning();
    default:
      return null;
  }
}

/** Decodes the INQUIRY CDB (SPC-4 6.6.1): EVPD, PAGE CODE, ALLOCATION LENGTH; null if invalid. */
export function parseInquiryCdb(cdb: Buffer): { evpd: boolean; page: number; alloc: number } | null {
  if (cdb.length < 6) return null;
  const evpd = (cdb[1]! & 0x01) !== 0;
  if ((cdb[1]! & 0x02) !== 0) return null; // CMDDT (obsolete) set
  const page = cdb[2]!;
  if (!evpd && page !== 0) return null;
  return { evpd, page, alloc: cdb.readUInt16BE(3) };
}

export function inquiry(lu: LuState, cdb: Buffer): ScsiCommandOut {
  const q = parseInquiryCdb(cdb);
  if (q === null) return INVALID_FIELD_IN_CDB;
  if (!q.evpd) return goodAlloc(standardInquiry(0x00), q.alloc);
  const page = vpd(lu, q.page);
  if (page === null) return INVALID_FIELD_IN_CDB;
  page[0] = 0x00;
  return goodAlloc(page, q.alloc);
}

/** INQUIRY for a LUN without a logical unit: peripheral qualifier 3, type 1Fh; no VPD pages but 0x00. */
export function inquiryWithoutLun(_ctx: LuContext, cdb: Buffer): ScsiCommandOut {
  const q = parseInquiryCdb(cdb);
  if (q === null) return INVALID_FIELD_IN_CDB;
  if (!q.evpd) return goodAlloc(standardInquiry(0x7f), q.alloc);
  if (q.page !== 0x00) return INVALID_FIELD_IN_CDB;
  const b = Buffer.from([0x7f, 0x00, 0x00, 0x01, 0x00]);
  return goodAlloc(b, q.alloc);
}
