/**
 * iSCSI PDU types (RFC 7143 section 11). Plain typed objects, one per opcode, in a
 * discriminated union on `opcode`. The codec (encode.ts / decode.ts / framer.ts) turns
 * them into bytes and back; nothing here knows about sockets.
 *
 * Conventions:
 * - Sequence numbers and tags are unsigned 32-bit numbers (0 .. 0xffffffff).
 * - `lun` is the 8-byte LUN field as a bigint in SAM encoding (see encodeLun/decodeLun in lun.ts:
 *   LUN 0..255 use the peripheral addressing method, 256..16383 the flat space method).
 * - `data` is the data segment without padding or digest; on decode it may be a view into the
 *   receive buffer and is only valid until the framer's next push (copy it to keep it).
 */

export const Opcode = {
  // initiator -> target
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmtRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  SnackRequest: 0x10,
  // target -> initiator
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** The reserved "no tag" value of ITT/TTT (RFC 7143 11.18, 11.19). */
export const RESERVED_TAG = 0xffffffff;

/** Basic Header Segment length in bytes. */
export const BHS_LENGTH = 48;

/** Additional Header Segment (RFC 7143 11.2.1.3). */
export type Ahs =
  | { type: "extendedCdb"; cdb: Buffer } // AHSType 1: CDB bytes beyond the first 16
  | { type: "bidiReadLength"; length: number } // AHSType 2: expected bidirectional read data length
  | { type: "unknown"; ahsType: number; specific: number; data: Buffer };

/** SCSI task attributes (RFC 7143 11.3.1 ATTR). */
export const TaskAttr = { Untagged: 0, Simple: 1, Ordered: 2, HeadOfQueue: 3, ACA: 4 } as const;

export interface NopOut {
  opcode: 0x00;
  immediate: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  data: Buffer;
}

export interface ScsiCommand {
  opcode: 0x01;
  immediate: boolean;
  final: boolean;
  read: boolean;
  write: boolean;
  attr: number;
  lun: bigint;
  itt: number;
  expectedDataTransferLength: number;
  cmdSN: number;
  expStatSN: number;
  /** Full CDB; bytes beyond 16 travel in an extended-CDB AHS. */
  cdb: Buffer;
  /** Expected bidirectional read data length (AHS type 2), for bidirectional commands. */
  bidiReadLength?: number;
  /** Further AHS segments (types other than 1 and 2), carried after the ones above; decode fills it only when present. */
  extraAhs?: Ahs[];
  /** Immediate data. */
  data: Buffer;
}

export interface TaskMgmtRequest {
  opcode: 0x02;
  immediate: boolean;
  /** Function code (TmfFunction). */
  function: number;
  lun: bigint;
  itt: number;
  referencedTaskTag: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
  expDataSN: number;
}

export const TmfFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
  TaskReassign: 8,
} as const;

export const TmfResponse = {
  Complete: 0,
  TaskDoesNotExist: 1,
  LunDoesNotExist: 2,
  TaskStillAllegiant: 3,
  ReassignmentNotSupported: 4,
  NotSupported: 5,
  AuthorizationFailed: 6,
  Rejected: 255,
} as const;

export interface LoginRequest {
  opcode: 0x03;
  /** Always immediate on the wire (I bit set). */
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  /** 6-byte ISID as a number (48 bits fit in a double exactly). */
  isid: number;
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
  data: Buffer;
}

/** Login stages (CSG/NSG, RFC 7143 11.12.3). */
export const Stage = { Security: 0, Operational: 1, FullFeature: 3 } as const;

export interface LoginResponse {
  opcode: 0x23;
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: number;
  tsih: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  statusClass: number;
  statusDetail: number;
  data: Buffer;
}

export interface TextRequest {
  opcode: 0x04;
  immediate: boolean;
  final: boolean;
  cont: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  data: Buffer;
}

export interface TextResponse {
  opcode: 0x24;
  final: boolean;
  cont: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  data: Buffer;
}

export interface DataOut {
  opcode: 0x05;
  final: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
  data: Buffer;
}

export interface LogoutRequest {
  opcode: 0x06;
  immediate: boolean;
  /** 0 close session, 1 close connection, 2 remove connection for recovery. */
  reasonCode: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}

export interface SnackRequest {
  opcode: 0x10;
  /** 0 Data/R2T, 1 Status, 2 DataACK, 3 R-Data. */
  type: number;
  lun: bigint;
  itt: number;
  ttt: number;
  expStatSN: number;
  begRun: number;
  runLength: number;
}

export interface NopIn {
  opcode: 0x20;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  data: Buffer;
}

export interface ScsiResponse {
  opcode: 0x21;
  bidiOverflow: boolean;
  bidiUnderflow: boolean;
  overflow: boolean;
  underflow: boolean;
  /** iSCSI response: 0 command completed at target, 1 target failure. */
  response: number;
  /** SCSI status (0 GOOD, 2 CHECK CONDITION, 8 BUSY, 0x18 RESERVATION CONFLICT, 0x28 TASK SET FULL). */
  status: number;
  itt: number;
  snackTag: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  expDataSN: number;
  bidiReadResidualCount: number;
  residualCount: number;
  /** The raw data segment: 2-byte SenseLength, sense data, then any response data. */
  data: Buffer;
}

export interface TaskMgmtResponse {
  opcode: 0x22;
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

export interface DataIn {
  opcode: 0x25;
  final: boolean;
  ack: boolean;
  bidiOverflow: boolean;
  bidiUnderflow: boolean;
  overflow: boolean;
  underflow: boolean;
  /** S bit: status is carried in this PDU (only with final). */
  hasStatus: boolean;
  status: number;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataSN: number;
  bufferOffset: number;
  residualCount: number;
  data: Buffer;
}

export interface LogoutResponse {
  opcode: 0x26;
  /** 0 closed, 1 CID not found, 2 recovery not supported, 3 cleanup failed. */
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  time2Wait: number;
  time2Retain: number;
}

export interface R2T {
  opcode: 0x31;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  r2tSN: number;
  bufferOffset: number;
  desiredDataTransferLength: number;
}

export interface AsyncMessage {
  opcode: 0x32;
  lun: bigint;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  /** 0 SCSI async event, 1 logout request, 2 connection drop, 3 session drop, 4 renegotiate, 5 task termination, 255 vendor. */
  asyncEvent: number;
  asyncVCode: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
  data: Buffer;
}

export const AsyncEvent = {
  ScsiEvent: 0,
  LogoutRequest: 1,
  ConnectionDrop: 2,
  SessionDrop: 3,
  Renegotiate: 4,
  TaskTermination: 5,
  Vendor: 255,
} as const;

export interface Reject {
  opcode: 0x3f;
  /** Reason code (RejectReason). */
  reason: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataSN: number;
  /** The complete header of the rejected PDU (48 bytes), or whatever was carried. */
  data: Buffer;
}

export const RejectReason = {
  DataDigestError: 0x02,
  SnackReject: 0x03,
  ProtocolError: 0x04,
  CommandNotSupported: 0x05,
  ImmediateCommandReject: 0x06,
  TaskInProgress: 0x07,
  InvalidDataAck: 0x08,
  InvalidPduField: 0x09,
  LongOperationReject: 0x0a,
  DeprecatedNegotiationReset: 0x0b,
  WaitingForLogout: 0x0c,
} as const;

export type InitiatorPdu =
  | NopOut
  | ScsiCommand
  | TaskMgmtRequest
  | LoginRequest
  | TextRequest
  | DataOut
  | LogoutRequest
  | SnackRequest;

export type TargetPdu =
  | NopIn
  | ScsiResponse
  | TaskMgmtResponse
  | LoginResponse
  | TextResponse
  | DataIn
  | LogoutResponse
  | R2T
  | AsyncMessage
  | Reject;

export type Pdu = InitiatorPdu | TargetPdu;

/** Digest settings of one direction of a connection, fixed after login (RFC 7143 13.1). */
export interface DigestOptions {
  headerDigest: boolean;
  dataDigest: boolean;
}
