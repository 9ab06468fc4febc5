/**
 * INQUIRY response parsers (SPC-4 6.6, 7.8): standard data, and the VPD pages 0x00 (Supported
 * VPD Pages), 0x80 (Unit Serial Number), 0x83 (Device Identification), 0xB0 (Block Limits, SBC-3
 * 6.6.4) and 0xB2 (Logical Block Provisioning, SBC-3 6.6.6).
 *
 * A target may return less than the allocation length asked for; that is normal. What is not is
 * a buffer shorter than the page itself says it is: every parser checks each field against the
 * buffer and throws ProtocolError("length") naming the page and the field instead of reading out
 * of bounds.
 */
import { ProtocolError } from "../iscsi/errors.js";

export const VpdPage = {
  SUPPORTED_PAGES: 0x00,
  UNIT_SERIAL_NUMBER: 0x80,
  DEVICE_IDENTIFICATION: 0x83,
  BLOCK_LIMITS: 0xb0,
  BLOCK_DEVICE_CHARACTERISTICS: 0xb1,
  LOGICAL_BLOCK_PROVISIONING: 0xb2,
} as const;

const VPD_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, "Supported VPD Pages"],
  [0x80, "Unit Serial Number"],
  [0x83, "Device Identification"],
  [0xb0, "Block Limits"],
  [0xb1, "Block Device Characteristics"],
  [0xb2, "Logical Block Provisioning"],
]);

function hex2(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

function vpdLabel(page: number): string {
  const name = VPD_NAMES.get(page);
  return "VPD page " + hex2(page) + (name ? " (" + name + ")" : "");
}

function truncated(what: string, field: string, need: number, have: number): ProtocolError {
  return new ProtocolError("length", `${what}: truncated at ${field} (need ${need} bytes, have ${have})`);
}

/** ASCII field: up to the first NUL, non-printable bytes shown as ".", surrounding spaces trimmed. */
function asciiField(buf: Buffer, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0) break;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
  }
  return s.trim();
}

// ---------------------------------------------------------------------------------------------
// Standard INQUIRY data (SPC-4 6.6.2)

export interface StandardInquiry {
  peripheralQualifier: number;
  deviceType: number;
  removable: boolean;
  version: number;
  vendor: string;
  product: string;
  revision: string;
  raw: Buffer;
}

/** Standard INQUIRY data with the capability bits a benchmark reports. */
export interface StandardInquiryData extends StandardInquiry {
  /** RESPONSE DATA FORMAT (2 for SPC-2 and later). */
  responseDataFormat: number;
  /** ADDITIONAL LENGTH: bytes after byte 4 the device has (n - 4). */
  additionalLength: number;
  /** HISUP: hierarchical LUN addressing. */
  hiSup: boolean;
  /** TPGS: asymmetric logical unit access support (0 none, 1 implicit, 2 explicit, 3 both). */
  tpgs: number;
  /** 3PC: third-party copy (EXTENDED COPY). */
  thirdPartyCopy: boolean;
  /** PROTECT: protection information support. */
  protect: boolean;
  /** CMDQUE: command queuing. */
  cmdQue: boolean;
}

const STD_FIELDS: ReadonlyArray<[end: number, name: string]> = [
  [1, "PERIPHERAL DEVICE TYPE"],
  [2, "RMB"],
  [3, "VERSION"],
  [4, "RESPONSE DATA FORMAT"],
  [5, "ADDITIONAL LENGTH"],
  [8, "CMDQUE"],
  [16, "T10 VENDOR IDENTIFICATION"],
  [32, "PRODUCT IDENTIFICATION"],
  [36, "PRODUCT REVISION LEVEL"],
];

/** Parses standard INQUIRY data (at least the first 36 bytes are required). */
export function parseStandardInquiry(buf: Buffer): StandardInquiryData {
  for (const [end, name] of STD_FIELDS) {
    if (buf.length < end) throw truncated("standard INQUIRY data", name, end, buf.length);
  }
  return {
    peripheralQualifier: buf[0]! >> 5,
    deviceType: buf[0]! & 0x1f,
    removable: (buf[1]! & 0x80) !== 0,
    version: buf[2]!,
    vendor: asciiField(buf, 8, 16),
    product: asciiField(buf, 16, 32),
    revision: asciiField(buf, 32, 36),
    raw: Buffer.from(buf),
    responseDataFormat: buf[3]! & 0x0f,
    additionalLength: buf[4]!,
    hiSup: (buf[3]! & 0x10) !== 0,
    tpgs: (buf[5]! >> 4) & 0x03,
    thirdPartyCopy: (buf[5]! & 0x08) !== 0,
    protect: (buf[5]! & 0x01) !== 0,
    cmdQue: (buf[7]! & 0x02) !== 0,
  };
}

/** SPC-4 peripheral device type names (the common ones). */
export function deviceTypeName(type: number): string {
  switch (type) {
    case 0x00:
      return "direct access block device";
    case 0x01:
      return "sequential access device";
    case 0x05:
      return "CD/DVD device";
    case 0x07:
      return "optical memory device";
    case 0x08:
      return "media changer";
    case 0x0c:
      return "storage array controller";
    case 0x0d:
      return "enclosure services device";
    case 0x0e:
      return "simplified direct-access device";
    case 0x1f:
      return "unknown or no device type";
    default:
      return "device type " + hex2(type);
  }
}

// ---------------------------------------------------------------------------------------------
// VPD pages

/**
 * Checks the 4-byte VPD header (PAGE CODE byte 1, PAGE LENGTH bytes 2-3) and that the buffer holds
 * the whole page. Returns the end offset of the page.
 */
function vpdEnd(buf: Buffer, page: number): number {
  const what = vpdLabel(page);
  if (buf.length < 2) throw truncated(what, "PAGE CODE", 2, buf.length);
  if (buf[1] !== page) throw new ProtocolError("field", `${what}: PAGE CODE is ${hex2(buf[1]!)}`);
  if (buf.length < 4) throw truncated(what, "PAGE LENGTH", 4, buf.length);
  const end = 4 + buf.readUInt16BE(2);
  if (buf.length < end) throw truncated(what, "page data (PAGE LENGTH " + (end - 4) + ")", end, buf.length);
  return end;
}

/** VPD page 0x00: the page codes the device supports, in the order listed. */
export function parseSupportedVpdPages(buf: Buffer): number[] {
  const end = vpdEnd(buf, VpdPage.SUPPORTED_PAGES);
  const pages: number[] = [];
  for (let i = 4; i < end; i++) pages.push(buf[i]!);
  return pages;
}

/** VPD page 0x80: PRODUCT SERIAL NUMBER (ASCII, trimmed). */
export function parseUnitSerial(buf: Buffer): string {
  const end = vpdEnd(buf, VpdPage.UNIT_SERIAL_NUMBER);
  return asciiField(buf, 4, end);
}

// Device Identification (SPC-4 7.8.6)

export interface Designator {
  codeSet: number;
  association: number;
  type: number;
  /** lowercase hex for binary code sets, text for ASCII / UTF-8 */
  value: string;
}

export interface DesignatorEntry extends Designator {
  /** PROTOCOL IDENTIFIER (5 = iSCSI), meaningful when `piv` is set. */
  protocolIdentifier: number;
  /** PIV: protocol identifier valid. */
  piv: boolean;
}

export const CodeSet = { BINARY: 1, ASCII: 2, UTF8: 3 } as const;

export const Association = { LOGICAL_UNIT: 0, TARGET_PORT: 1, TARGET_DEVICE: 2 } as const;

export const DesignatorType = {
  VENDOR_SPECIFIC: 0x0,
  T10_VENDOR_ID: 0x1,
  EUI64: 0x2,
  NAA: 0x3,
  RELATIVE_TARGET_PORT: 0x4,
  TARGET_PORT_GROUP: 0x5,
  LOGICAL_UNIT_GROUP: 0x6,
  MD5_LOGICAL_UNIT: 0x7,
  SCSI_NAME_STRING: 0x8,
  PROTOCOL_SPECIFIC_PORT: 0x9,
  UUID: 0xa,
} as const;

const DESIGNATOR_TYPE_NAMES = [
  "vendor specific",
  "T10 vendor ID",
  "EUI-64",
  "NAA",
  "relative target port",
  "target port group",
  "logical unit group",
  "MD5 logical unit",
  "SCSI name string",
  "protocol specific port",
  "UUID",
];

export function designatorTypeName(type: number): string {
  return DESIGNATOR_TYPE_NAMES[type] ?? "designator type " + hex2(type);
}

export function associationName(association: number): string {
  return ["logical unit", "target port", "target device"][association] ?? "reserved association";
}

/** Text of a designator: ASCII / UTF-8 up to the first NUL (SCSI name strings are NUL-padded), trimmed. */
function textDesignator(buf: Buffer, start: number, end: number, codeSet: number): string {
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++;
  return buf.toString(codeSet === CodeSet.UTF8 ? "utf8" : "latin1", start, stop).trim();
}

/** VPD page 0x83: every designation descriptor, in order. */
export function parseDeviceIdentification(buf: Buffer): DesignatorEntry[] {
  const page = VpdPage.DEVICE_IDENTIFICATION;
  const end = vpdEnd(buf, page);
  const what = vpdLabel(page);
  const out: DesignatorEntry[] = [];
  let off = 4;
  while (off < end) {
    if (off + 4 > end) throw truncated(what, `designation descriptor header at offset ${off}`, off + 4, end);
    const len = buf[off + 3]!;
    const start = off + 4;
    const stop = start + len;
    if (stop > end)
      throw truncated(what, `DESIGNATOR at offset ${start} (DESIGNATOR LENGTH ${len})`, stop, end);
    const codeSet = buf[off]! & 0x0f;
    const text = codeSet === CodeSet.ASCII || codeSet === CodeSet.UTF8;
    out.push({
      protocolIdentifier: buf[off]! >> 4,
      codeSet,
      piv: (buf[off + 1]! & 0x80) !== 0,
      association: (buf[off + 1]! >> 4) & 0x03,
      type: buf[off + 1]! & 0x0f,
      value: text ? textDesignator(buf, start, stop, codeSet) : buf.toString("hex", start, stop),
    });
    off = stop;
  }
  return out;
}

// Block Limits (SBC-3 6.6.4)

export interface BlockLimits {
  maxTransferBlocks: number;
  optimalTransferBlocks: number;
  maxUnmapLbaCount: number;
  maxWriteSameBlocks: number;
  optimalTransferGranularity: number;
}

export interface BlockLimitsData extends BlockLimits {
  /** WSNZ: WRITE SAME with 0 blocks is not supported. */
  wsnz: boolean;
  maxCompareAndWriteBlocks: number;
  maxPrefetchBlocks: number;
  maxUnmapDescriptors: number;
  optimalUnmapGranularity: number;
  /** UNMAP GRANULARITY ALIGNMENT, null unless UGAVALID. */
  unmapGranularityAlignment: number | null;
}

/**
 * VPD page 0xB0. Fields beyond a short PAGE LENGTH (older devices report 0x0c) read as 0, which
 * SBC-3 defines as "no limit reported"; a buffer shorter than the PAGE LENGTH throws.
 */
export function parseBlockLimits(buf: Buffer): BlockLimitsData {
  const end = vpdEnd(buf, VpdPage.BLOCK_LIMITS);
  const u8 = (o: number) => (o + 1 <= end ? buf[o]! : 0);
  const u16 = (o: number) => (o + 2 <= end ? buf.readUInt16BE(o) : 0);
  const u32 = (o: number) => (o + 4 <= end ? buf.readUInt32BE(o) : 0);
  const u64 = (o: number) =>
    o + 8 <= end ? buf.readUInt32BE(o) * 0x1_0000_0000 + buf.readUInt32BE(o + 4) : 0;
  const uga = u32(32);
  return {
    wsnz: (u8(4) & 0x01) !== 0,
    maxCompareAndWriteBlocks: u8(5),
    optimalTransferGranularity: u16(6),
    maxTransferBlocks: u32(8),
    optimalTransferBlocks: u32(12),
    maxPrefetchBlocks: u32(16),
    maxUnmapLbaCount: u32(20),
    maxUnmapDescriptors: u32(24),
    optimalUnmapGranularity: u32(28),
    unmapGranularityAlignment: (uga & 0x8000_0000) !== 0 ? uga & 0x7fff_ffff : null,
    maxWriteSameBlocks: u64(36),
  };
}

// Logical Block Provisioning (SBC-3 6.6.6)

export interface LogicalBlockProvisioning {
  thresholdExponent: number;
  /** LBPU: UNMAP supported. */
  lbpu: boolean;
  /** LBPWS: WRITE SAME(16) with UNMAP supported. */
  lbpws: boolean;
  /** LBPWS10: WRITE SAME(10) with UNMAP supported. */
  lbpws10: boolean;
  /** LBPRZ: unmapped blocks read as zeros. */
  lbprz: boolean;
  /** ANC_SUP: anchored LBAs supported. */
  ancSup: boolean;
  /** PROVISIONING TYPE: 0 full, 1 resource provisioned, 2 thin. */
  provisioningType: number;
}

/** VPD page 0xB2 (needs the first 8 bytes). */
export function parseLogicalBlockProvisioning(buf: Buffer): LogicalBlockProvisioning {
  const page = VpdPage.LOGICAL_BLOCK_PROVISIONING;
  const end = vpdEnd(buf, page);
  if (end < 7) throw truncated(vpdLabel(page), "PROVISIONING TYPE", 7, end);
  const b5 = buf[5]!;
  return {
    thresholdExponent: buf[4]!,
    lbpu: (b5 & 0x80) !== 0,
    lbpws: (b5 & 0x40) !== 0,
    lbpws10: (b5 & 0x20) !== 0,
    lbprz: (b5 & 0x04) !== 0,
    ancSup: (b5 & 0x02) !== 0,
    provisioningType: buf[6]! & 0x07,
  };
}
