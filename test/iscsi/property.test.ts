/**
 * Property-based tests of the PDU codec (encode.ts, decode.ts, framer.ts) with fast-check.
 *
 * 1. Round trips: for every PDU type (initiator and target opcodes), arbitrary valid field values are
 *    encoded and decoded back, directly and through the framer fed in random chunks, with and without
 *    header/data digests, and with digests switched on from onPdu mid-stream (as after login); the
 *    result equals the original field by field.
 * 2. Robustness: arbitrary bytes (fully random, and valid PDUs with flipped bits, edited length fields,
 *    truncated or extended) fed to the framer in random chunkings, with digests on and off and various
 *    MaxRecvDataSegmentLength values, and to decodePdu directly: every outcome is decoded PDUs or a
 *    ProtocolError, never another exception, and the framer consumes exactly the bytes a chunking-free
 *    reference framing says (never more than given).
 *
 * Every property runs with one seed, printed in the suite name and in a failure message; replay with
 *   FC_SEED=<seed> npx vitest run test/iscsi/property.test.ts
 * and explore more inputs with FC_RUNS_SCALE=<factor> (and a random FC_SEED).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePdu, peekBhs } from "../../src/iscsi/decode.js";
import { crc32c, dataDigest } from "../../src/iscsi/digest.js";
import {
  encodeHeader,
  encodeHeaderInto,
  encodePdu,
  headerLength,
  paddedLength,
  pduData,
} from "../../src/iscsi/encode.js";
import { ProtocolError, type ProtocolErrorKind } from "../../src/iscsi/errors.js";
import { type FrameSink, MAX_ACCEPTED_AHS_LENGTH, PduFramer } from "../../src/iscsi/framer.js";
import {
  type Ahs,
  type AsyncMessage,
  type DataIn,
  type DataOut,
  type DigestOptions,
  type LoginRequest,
  type LoginResponse,
  type LogoutRequest,
  type LogoutResponse,
  type NopIn,
  type NopOut,
  Opcode,
  type Pdu,
  type R2T,
  type Reject,
  type ScsiCommand,
  type ScsiResponse,
  type SnackRequest,
  type TaskMgmtRequest,
  type TaskMgmtResponse,
  type TextRequest,
  type TextResponse,
} from "../../src/iscsi/pdu.js";

const SEED = process.env["FC_SEED"] !== undefined ? Number(process.env["FC_SEED"]) : 0x7143;
const RUNS_SCALE = process.env["FC_RUNS_SCALE"] !== undefined ? Number(process.env["FC_RUNS_SCALE"]) : 1;

/** fc.assert with the suite's seed; a failure names the seed and how to replay it. */
function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>, numRuns: number): void {
  try {
    fc.assert(property, { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * RUNS_SCALE)) });
  } catch (err) {
    if (err instanceof Error) {
      err.message = `seed ${SEED} (replay: FC_SEED=${SEED} npx vitest run test/iscsi/property.test.ts)\n${err.message}`;
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries of valid PDUs
// ---------------------------------------------------------------------------------------------------

/** fc.record of ordinary objects: the decoder builds plain objects, and toStrictEqual compares prototypes. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bool = fc.boolean();

/** Any 64-bit LUN field, and often a single-level one (bytes 2..7 zero, the decoder's cached path). */
const lun = fc.oneof(
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
  u16.map((n) => BigInt(n) << 48n),
  fc.constant(0n),
);

function bytes(minLength: number, maxLength: number): fc.Arbitrary<Buffer> {
  // size "max": lengths anywhere in the range (fast-check's default "small" keeps them under about 10).
  return fc.uint8Array({ minLength, maxLength, size: "max" }).map((u) => Buffer.from(u));
}

/** Data segments: empty, short (every padding 0..3), and a few hundred bytes. */
const data = fc.oneof(
  { arbitrary: fc.constant(Buffer.alloc(0)), weight: 2 },
  { arbitrary: bytes(1, 9), weight: 3 },
  { arbitrary: bytes(0, 600), weight: 2 },
);

/** An AHS of a type the codec carries as "unknown": the AHSType code (low 6 bits) is neither 1 nor 2. */
const unknownAhs: fc.Arbitrary<Ahs> = fc
  .record({
    ahsType: u8.filter((t) => (t & 0x3f) !== 1 && (t & 0x3f) !== 2),
    specific: u8,
    data: bytes(0, 60),
  })
  .map((r) => ({ type: "unknown", ...r }));

const nopOut: fc.Arbitrary<NopOut> = record({
  opcode: fc.constant(Opcode.NopOut),
  immediate: bool,
  lun,
  itt: u32,
  ttt: u32,
  cmdSN: u32,
  expStatSN: u32,
  data,
});

const scsiCommand: fc.Arbitrary<ScsiCommand> = fc
  .record({
    immediate: bool,
    final: bool,
    read: bool,
    write: bool,
    attr: fc.integer({ min: 0, max: 4 }),
    lun,
    itt: u32,
    expectedDataTransferLength: u32,
    cmdSN: u32,
    expStatSN: u32,
    // 16 bytes in the BHS, or up to 260 with an extended CDB AHS (RFC 7143 11.2.2.3).
    cdb: fc.oneof(bytes(16, 16), bytes(17, 260)),
    bidiReadLength: fc.option(u32, { nil: undefined }),
    // At most 248 + 8 + 3 * 64 AHS bytes: within the framer's MAX_ACCEPTED_AHS_LENGTH.
    extraAhs: fc.array(unknownAhs, { maxLength: 3 }),
    data,
  })
  .map(({ bidiReadLength, extraAhs, ...rest }) => {
    const pdu: ScsiCommand = { opcode: Opcode.ScsiCommand, ...rest };
    if (bidiReadLength !== undefined) pdu.bidiReadLength = bidiReadLength;
    if (extraAhs.length > 0) pdu.extraAhs = extraAhs;
    return pdu;
  });

const taskMgmtRequest: fc.Arbitrary<TaskMgmtRequest> = record({
  opcode: fc.constant(Opcode.TaskMgmtRequest),
  immediate: bool,
  function: fc.integer({ min: 0, max: 0x7f }),
  lun,
  itt: u32,
  referencedTaskTag: u32,
  cmdSN: u32,
  expStatSN: u32,
  refCmdSN: u32,
  expDataSN: u32,
});

/** T, C, CSG, NSG as RFC 7143 11.12.2/11.12.3 allow them: not T and C together, no stage 2 (NSG only with T). */
const loginStages = fc
  .record({ transit: bool, cont: bool, csg: fc.constantFrom(0, 1, 3), nsg: fc.integer({ min: 0, max: 3 }) })
  .map((s) => ({ ...s, cont: s.transit ? false : s.cont, nsg: s.transit && s.nsg === 2 ? 3 : s.nsg }));

const isid = fc.integer({ min: 0, max: 2 ** 48 - 1 });

const loginRequest: fc.Arbitrary<LoginRequest> = fc
  .record({
    stages: loginStages,
    versionMax: u8,
    versionMin: u8,
    isid,
    tsih: u16,
    itt: u32,
    cid: u16,
    cmdSN: u32,
    expStatSN: u32,
    data,
  })
  .map(({ stages, ...rest }) => ({ opcode: Opcode.LoginRequest, ...stages, ...rest }));

const textRequest: fc.Arbitrary<TextRequest> = fc
  .record({
    immediate: bool,
    final: bool,
    cont: bool,
    lun,
    itt: u32,
    ttt: u32,
    cmdSN: u32,
    expStatSN: u32,
    data,
  })
  // 11.10.2: C=1 requires F=0.
  .map((r) => ({ opcode: Opcode.TextRequest, ...r, final: r.cont ? false : r.final }));

const dataOut: fc.Arbitrary<DataOut> = record({
  opcode: fc.constant(Opcode.DataOut),
  final: bool,
  lun,
  itt: u32,
  ttt: u32,
  expStatSN: u32,
  dataSN: u32,
  bufferOffset: u32,
  data,
});

const logoutRequest: fc.Arbitrary<LogoutRequest> = record({
  opcode: fc.constant(Opcode.LogoutRequest),
  immediate: bool,
  reasonCode: fc.integer({ min: 0, max: 2 }),
  itt: u32,
  cid: u16,
  cmdSN: u32,
  expStatSN: u32,
});

const snackRequest: fc.Arbitrary<SnackRequest> = record({
  opcode: fc.constant(Opcode.SnackRequest),
  type: fc.integer({ min: 0, max: 15 }),
  lun,
  itt: u32,
  ttt: u32,
  expStatSN: u32,
  begRun: u32,
  runLength: u32,
});

const nopIn: fc.Arbitrary<NopIn> = record({
  opcode: fc.constant(Opcode.NopIn),
  lun,
  itt: u32,
  ttt: u32,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
  data,
});

/** At most one of overflow / underflow (RFC 7143 11.4.1, 11.7.5). */
const overUnder = fc.constantFrom([false, false], [true, false], [false, true]);

const scsiResponse: fc.Arbitrary<ScsiResponse> = fc
  .record({
    bidi: overUnder,
    ou: overUnder,
    response: u8,
    status: u8,
    itt: u32,
    snackTag: u32,
    statSN: u32,
    expCmdSN: u32,
    maxCmdSN: u32,
    expDataSN: u32,
    bidiReadResidualCount: u32,
    residualCount: u32,
    data,
  })
  .map(({ bidi, ou, ...rest }) => ({
    opcode: Opcode.ScsiResponse,
    bidiOverflow: bidi[0]!,
    bidiUnderflow: bidi[1]!,
    overflow: ou[0]!,
    underflow: ou[1]!,
    ...rest,
  }));

const taskMgmtResponse: fc.Arbitrary<TaskMgmtResponse> = record({
  opcode: fc.constant(Opcode.TaskMgmtResponse),
  response: u8,
  itt: u32,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
});

const loginResponse: fc.Arbitrary<LoginResponse> = fc
  .record({
    stages: loginStages,
    versionMax: u8,
    versionActive: u8,
    isid,
    tsih: u16,
    itt: u32,
    statSN: u32,
    expCmdSN: u32,
    maxCmdSN: u32,
    statusClass: u8,
    statusDetail: u8,
    data,
  })
  .map(({ stages, ...rest }) => ({ opcode: Opcode.LoginResponse, ...stages, ...rest }));

const textResponse: fc.Arbitrary<TextResponse> = fc
  .record({
    final: bool,
    cont: bool,
    lun,
    itt: u32,
    ttt: u32,
    statSN: u32,
    expCmdSN: u32,
    maxCmdSN: u32,
    data,
  })
  // 11.11.2: C=1 requires F=0.
  .map((r) => ({ opcode: Opcode.TextResponse, ...r, final: r.cont ? false : r.final }));

const dataIn: fc.Arbitrary<DataIn> = fc
  .record({
    final: bool,
    ack: bool,
    ou: overUnder,
    hasStatus: bool,
    status: u8,
    lun,
    itt: u32,
    ttt: u32,
    statSN: u32,
    expCmdSN: u32,
    maxCmdSN: u32,
    dataSN: u32,
    bufferOffset: u32,
    residualCount: u32,
    data,
  })
  .map(({ ou, ...rest }) => ({
    opcode: Opcode.DataIn,
    ...rest,
    // 11.7.1: no bidirectional o/u bits in Data-In; S only with F.
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: ou[0]!,
    underflow: ou[1]!,
    hasStatus: rest.hasStatus && rest.final,
  }));

const logoutResponse: fc.Arbitrary<LogoutResponse> = record({
  opcode: fc.constant(Opcode.LogoutResponse),
  response: u8,
  itt: u32,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
  time2Wait: u16,
  time2Retain: u16,
});

const r2t: fc.Arbitrary<R2T> = record({
  opcode: fc.constant(Opcode.R2T),
  lun,
  itt: u32,
  ttt: u32,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
  r2tSN: u32,
  bufferOffset: u32,
  desiredDataTransferLength: u32,
});

const asyncMessage: fc.Arbitrary<AsyncMessage> = record({
  opcode: fc.constant(Opcode.AsyncMessage),
  lun,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
  asyncEvent: u8,
  asyncVCode: u8,
  parameter1: u16,
  parameter2: u16,
  parameter3: u16,
  data,
});

const reject: fc.Arbitrary<Reject> = record({
  opcode: fc.constant(Opcode.Reject),
  reason: u8,
  statSN: u32,
  expCmdSN: u32,
  maxCmdSN: u32,
  dataSN: u32,
  data,
});

/** One arbitrary per opcode of pdu.ts; the test below checks that none is missing. */
const PDU_ARBITRARIES: Record<string, fc.Arbitrary<Pdu>> = {
  NopOut: nopOut,
  ScsiCommand: scsiCommand,
  TaskMgmtRequest: taskMgmtRequest,
  LoginRequest: loginRequest,
  TextRequest: textRequest,
  DataOut: dataOut,
  LogoutRequest: logoutRequest,
  SnackRequest: snackRequest,
  NopIn: nopIn,
  ScsiResponse: scsiResponse,
  TaskMgmtResponse: taskMgmtResponse,
  LoginResponse: loginResponse,
  TextResponse: textResponse,
  DataIn: dataIn,
  LogoutResponse: logoutResponse,
  R2T: r2t,
  AsyncMessage: asyncMessage,
  Reject: reject,
};

const anyPdu: fc.Arbitrary<Pdu> = fc.oneof(...Object.values(PDU_ARBITRARIES));

const digestOptions: fc.Arbitrary<DigestOptions> = record({ headerDigest: bool, dataDigest: bool });

/** Chunk sizes to cut a stream into (0-byte chunks included); whatever remains is the last chunk. */
const chunkSizes = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 8 }),
    fc.integer({ min: 0, max: 120 }),
    fc.integer({ min: 0, max: 2000 }),
  ),
  { maxLength: 30, size: "max" },
);

function chunk(stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const n of sizes) {
    if (pos >= stream.length) break;
    // Copies, so that a chunk is its own ArrayBuffer as a socket would give it.
    out.push(Buffer.from(stream.subarray(pos, pos + n)));
    pos += n;
  }
  out.push(Buffer.from(stream.subarray(pos)));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Recording what the framer hands out
// ---------------------------------------------------------------------------------------------------

type FrameEvent =
  | { event: "pdu"; pdu: Pdu }
  | { event: "malformed"; kind: ProtocolErrorKind; message: string; bhs: string };

function copyPdu(pdu: Pdu): Pdu {
  return "data" in pdu ? ({ ...pdu, data: Buffer.from(pdu.data) } as Pdu) : { ...pdu };
}

/** Copies everything (the framer's views are only valid during the call); checks what it is given. */
class Recorder implements FrameSink {
  events: FrameEvent[] = [];
  onPdu(pdu: Pdu): void {
    this.events.push({ event: "pdu", pdu: copyPdu(pdu) });
  }
  onMalformed(err: ProtocolError, bhs: Buffer): void {
    expect(err).toBeInstanceOf(ProtocolError);
    expect(bhs.length).toBe(48);
    this.events.push({ event: "malformed", kind: err.kind, message: err.message, bhs: bhs.toString("hex") });
  }
  get pdus(): Pdu[] {
    return this.events.flatMap((e) => (e.event === "pdu" ? [e.pdu] : []));
  }
}

// ---------------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------------

describe(`PDU codec properties (fast-check seed ${SEED})`, () => {
  it("has an arbitrary for every opcode of pdu.ts", () => {
    expect(Object.keys(PDU_ARBITRARIES).sort()).toEqual(Object.keys(Opcode).sort());
    for (const [name, arb] of Object.entries(PDU_ARBITRARIES)) {
      const [sample] = fc.sample(arb, { seed: SEED, numRuns: 1 });
      expect(sample!.opcode, name).toBe(Opcode[name as keyof typeof Opcode]);
    }
  });

  for (const [name, arb] of Object.entries(PDU_ARBITRARIES)) {
    it(`${name}: encodePdu -> decodePdu gives the PDU back, with the wire layout of RFC 7143 11.2`, () => {
      check(
        fc.property(arb, digestOptions, u8, fc.nat({ max: 7 }), (pdu, digests, fill, offset) => {
          const chunks = encodePdu(pdu, digests);
          const wire = Buffer.concat(chunks);
          const hdLen = headerLength(pdu, digests);
          const header = wire.subarray(0, hdLen - (digests.headerDigest ? 4 : 0));
          const segment = pduData(pdu) ?? Buffer.alloc(0);
          const dd = digests.dataDigest && segment.length > 0 ? 4 : 0;
          expect(wire.length).toBe(hdLen + paddedLength(segment.length) + dd);
          // Lengths in the BHS.
          const peek = peekBhs(wire);
          expect(peek.opcode).toBe(pdu.opcode);
          expect(peek.totalAhsLength).toBe(header.length - 48);
          expect(peek.dataSegmentLength).toBe(segment.length);
          // Header digest over BHS + AHS; zero padding; data digest over data + padding.
          if (digests.headerDigest) expect(wire.readUInt32LE(header.length)).toBe(crc32c(header));
          const dataStart = hdLen;
          const padEnd = dataStart + paddedLength(segment.length);
          expect(wire.subarray(dataStart, dataStart + segment.length)).toEqual(segment);
          expect([...wire.subarray(dataStart + segment.length, padEnd)].every((b) => b === 0)).toBe(true);
          if (dd > 0) expect(wire.readUInt32LE(padEnd)).toBe(dataDigest(segment));
          // Every header byte is written: encoding into a dirty buffer at an offset gives the same bytes.
          const dirty = Buffer.alloc(offset + hdLen + 8, fill);
          expect(encodeHeaderInto(pdu, digests, dirty, offset)).toBe(offset + hdLen);
          expect(dirty.subarray(offset, offset + hdLen)).toEqual(encodeHeader(pdu, digests));
          // And back.
          const decoded = decodePdu(
            Buffer.from(header),
            wire.subarray(dataStart, dataStart + segment.length),
          );
          expect(decoded).toStrictEqual(pdu);
        }),
        300,
      );
    });
  }

  it("any sequence of PDUs survives the framer in any chunking, with and without digests", () => {
    check(
      fc.property(
        fc.array(anyPdu, { minLength: 1, maxLength: 8 }),
        digestOptions,
        chunkSizes,
        fc.nat({ max: 1000 }),
        (pdus, digests, sizes, slack) => {
          const stream = Buffer.concat(pdus.flatMap((p) => encodePdu(p, digests)));
          const largest = Math.max(1, ...pdus.map((p) => pduData(p)?.length ?? 0));
          // The negotiated maximum: exactly the largest segment, or more.
          const f = new PduFramer({
            ...digests,
            maxDataSegmentLength: largest + (slack % 2 === 0 ? 0 : slack),
          });
          const r = new Recorder();
          for (const c of chunk(stream, sizes)) f.push(c, r);
          expect(r.events.filter((e) => e.event === "malformed")).toEqual([]);
          expect(r.pdus).toStrictEqual(pdus);
          expect(f.buffered).toBe(0);
        },
      ),
      800,
    );
  });

  it("options changed from onPdu (digests on after login) apply from the very next PDU on, in any chunking", () => {
    const largest = (pdus: Pdu[]) => Math.max(1, ...pdus.map((p) => pduData(p)?.length ?? 0));
    check(
      fc.property(
        fc.array(anyPdu, { minLength: 1, maxLength: 4 }),
        fc.array(anyPdu, { maxLength: 4 }),
        digestOptions,
        digestOptions,
        chunkSizes,
        (before, after, first, then, sizes) => {
          const stream = Buffer.concat([
            ...before.flatMap((p) => encodePdu(p, first)),
            ...after.flatMap((p) => encodePdu(p, then)),
          ]);
          const f = new PduFramer({ ...first, maxDataSegmentLength: largest(before) });
          const r = new Recorder();
          const sink: FrameSink = {
            onPdu(pdu) {
              r.onPdu(pdu);
              if (r.events.length === before.length)
                f.setOptions({ ...then, maxDataSegmentLength: largest(after) });
            },
            onMalformed: (err, bhs) => r.onMalformed(err, bhs),
          };
          for (const c of chunk(stream, sizes)) f.push(c, sink);
          expect(r.events.filter((e) => e.event === "malformed")).toEqual([]);
          expect(r.pdus).toStrictEqual([...before, ...after]);
          expect(f.buffered).toBe(0);
        },
      ),
      500,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Robustness: arbitrary bytes
// ---------------------------------------------------------------------------------------------------

interface FramerConfig {
  headerDigest: boolean;
  dataDigest: boolean;
  maxDataSegmentLength: number;
}

const framerConfig: fc.Arbitrary<FramerConfig> = record({
  headerDigest: bool,
  dataDigest: bool,
  maxDataSegmentLength: fc.oneof(
    fc.integer({ min: 1, max: 700 }),
    fc.constantFrom(1, 8192, 262144, 0xffffff),
  ),
});

interface ReferenceFraming {
  /** Complete PDUs, in order: where each starts and ends in the stream. */
  frames: Array<{
    start: number;
    headerEnd: number;
    dataStart: number;
    dsl: number;
    end: number;
    dd: boolean;
  }>;
  /** The framing error the stream must end in, if any. */
  error: ProtocolErrorKind | null;
  /** Bytes of an incomplete PDU left buffered at the end (0 after an error). */
  rest: number;
}

/**
 * RFC 7143 11.2 framing of a whole stream at once, written plainly: BHS | AHS | HeaderDigest | data +
 * padding | DataDigest (only with data), lengths checked when the BHS is in, the header digest when it is in.
 */
function referenceFraming(stream: Buffer, cfg: FramerConfig): ReferenceFraming {
  const frames: ReferenceFraming["frames"] = [];
  let pos = 0;
  while (stream.length - pos >= 48) {
    const ahs = stream[pos + 4]! * 4;
    const dsl = stream.readUIntBE(pos + 5, 3);
    if (ahs > MAX_ACCEPTED_AHS_LENGTH || dsl > cfg.maxDataSegmentLength)
      return { frames, error: "length", rest: 0 };
    const headerEnd = pos + 48 + ahs;
    const dataStart = headerEnd + (cfg.headerDigest ? 4 : 0);
    const dd = cfg.dataDigest && dsl > 0;
    const end = dataStart + paddedLength(dsl) + (dd ? 4 : 0);
    if (cfg.headerDigest && stream.length >= dataStart) {
      if (stream.readUInt32LE(headerEnd) !== crc32c(stream.subarray(pos, headerEnd))) {
        return { frames, error: "headerDigest", rest: 0 };
      }
    }
    if (stream.length < end) break;
    frames.push({ start: pos, headerEnd, dataStart, dsl, end, dd });
    pos = end;
  }
  return { frames, error: null, rest: stream.length - pos };
}

/** What the framer must hand out for one complete frame. */
function expectedEvent(stream: Buffer, fr: ReferenceFraming["frames"][number]): FrameEvent {
  const bhs = stream.subarray(fr.start, fr.start + 48).toString("hex");
  const segment = Buffer.from(stream.subarray(fr.dataStart, fr.dataStart + fr.dsl));
  if (fr.dd) {
    const digestAt = fr.dataStart + paddedLength(fr.dsl);
    // The digest covers the padding as sent (RFC 7143 13.1), whatever its bytes.
    if (stream.readUInt32LE(digestAt) !== crc32c(stream.subarray(fr.dataStart, digestAt))) {
      return { event: "malformed", kind: "dataDigest", message: expect.any(String) as string, bhs };
    }
  }
  try {
    return { event: "pdu", pdu: decodePdu(Buffer.from(stream.subarray(fr.start, fr.headerEnd)), segment) };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { event: "malformed", kind: err.kind, message: err.message, bhs };
  }
}

/**
 * Feeds `stream` to a framer in the given chunking. Checks: every push returns or throws a ProtocolError
 * (and, once failed, rethrows the same error); the framer never holds more than one PDU's worth; the
 * PDUs, malformed PDUs, error and the bytes left buffered are those of referenceFraming.
 */
function checkFramer(stream: Buffer, cfg: FramerConfig, sizes: number[]): void {
  const f = new PduFramer(cfg);
  const r = new Recorder();
  const bound = 48 + MAX_ACCEPTED_AHS_LENGTH + 4 + paddedLength(cfg.maxDataSegmentLength) + 4;
  let failure: unknown = null;
  let pushed = 0;
  for (const c of chunk(stream, sizes)) {
    try {
      f.push(c, r);
      pushed += c.length;
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        throw new Error(`push threw ${String(err)}, not a ProtocolError`, { cause: err });
      }
      if (failure === null) failure = err;
      else expect(err).toBe(failure);
      continue;
    }
    expect(failure, "a push after a framing error must rethrow it").toBeNull();
    expect(f.buffered).toBeLessThanOrEqual(Math.min(bound, pushed));
  }
  const ref = referenceFraming(stream, cfg);
  expect(failure === null ? null : (failure as ProtocolError).kind).toBe(ref.error);
  expect(r.events).toEqual(ref.frames.map((fr) => expectedEvent(stream, fr)));
  if (failure === null) {
    // Every byte given is either in a PDU handed out or still buffered: none consumed twice or lost.
    const consumed = ref.frames.reduce((n, fr) => n + fr.end - fr.start, 0);
    expect(consumed + f.buffered).toBe(stream.length);
    expect(f.buffered).toBe(ref.rest);
  } else {
    expect(() => f.push(Buffer.alloc(1), new Recorder())).toThrow(failure as ProtocolError);
  }
}

/** Valid PDUs, then damaged: header bytes and length fields edited (digest recomputed or not), bits flipped, cut, extended. */
function damagedStream(cfg: FramerConfig): fc.Arbitrary<Buffer> {
  return fc
    .record({
      pdus: fc.array(anyPdu, { minLength: 1, maxLength: 4 }),
      headerEdits: fc.array(
        record({
          pdu: fc.nat(),
          field: fc.constantFrom("bit", "bit", "ahs", "dsl", "byte"),
          at: fc.nat(),
          value: fc.oneof(fc.nat({ max: 700 }), fc.nat({ max: 0xffffff })),
        }),
        { maxLength: 4 },
      ),
      redigest: bool,
      streamFlips: fc.array(record({ at: fc.nat(), bit: fc.nat({ max: 7 }) }), { maxLength: 3 }),
      cut: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.nat(), weight: 1 }),
      extra: bytes(0, 80),
    })
    .map(({ pdus, headerEdits, redigest, streamFlips, cut, extra }) => {
      const digests = { headerDigest: false, dataDigest: cfg.dataDigest };
      const parts = pdus.map((p) => {
        const [header, ...rest] = encodePdu(p, digests);
        return { header: Buffer.from(header!), digest: crc32c(header!), rest: Buffer.concat(rest) };
      });
      for (const e of headerEdits) {
        const h = parts[e.pdu % parts.length]!.header;
        if (e.field === "bit") h[e.at % h.length] ^= 1 << (e.value % 8);
        else if (e.field === "byte") h[e.at % h.length] = e.value & 0xff;
        else if (e.field === "ahs") h[4] = e.value % 160;
        else h.writeUIntBE(e.value, 5, 3);
      }
      const stream = Buffer.concat(
        parts.flatMap(({ header, digest, rest }) => {
          if (!cfg.headerDigest) return [header, rest];
          const hd = Buffer.alloc(4);
          hd.writeUInt32LE(redigest ? crc32c(header) : digest);
          return [header, hd, rest];
        }),
      );
      for (const { at, bit } of streamFlips) stream[at % stream.length] ^= 1 << bit;
      const kept = cut === undefined ? stream : stream.subarray(0, cut % (stream.length + 1));
      return Buffer.concat([kept, extra]);
    });
}

/**
 * Random BHS bytes (a defined opcode most of the time) with small TotalAHSLength and DataSegmentLength,
 * random AHS and data of those lengths, header and data digests right most of the time; sometimes junk
 * between PDUs. This gets the framer past the length and digest checks to decodePdu's field checks.
 */
function framedRandomStream(cfg: FramerConfig): fc.Arbitrary<Buffer> {
  const piece = record({
    opcode: fc.oneof(fc.constantFrom(...Object.values(Opcode)), u8),
    bhs: bytes(48, 48),
    ahs: fc.oneof(
      fc.constant(Buffer.alloc(0)),
      bytes(4, 40).map((b) => b.subarray(0, b.length & ~3)),
    ),
    data: fc.oneof(fc.constant(Buffer.alloc(0)), bytes(1, 300)),
    padding: bytes(3, 3),
    goodHeaderDigest: fc.oneof(
      { arbitrary: fc.constant(true), weight: 9 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    goodDataDigest: fc.oneof(
      { arbitrary: fc.constant(true), weight: 4 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    junk: fc.oneof(
      { arbitrary: fc.constant(Buffer.alloc(0)), weight: 9 },
      { arbitrary: bytes(1, 60), weight: 1 },
    ),
  });
  return fc.array(piece, { minLength: 1, maxLength: 5 }).map((pieces) =>
    Buffer.concat(
      pieces.flatMap((p) => {
        const header = Buffer.concat([p.bhs, p.ahs]);
        header[0] = (header[0]! & 0xc0) | (p.opcode & 0x3f);
        header[4] = p.ahs.length / 4;
        header.writeUIntBE(p.data.length, 5, 3);
        const out: Buffer[] = [header];
        if (cfg.headerDigest) {
          const hd = Buffer.alloc(4);
          hd.writeUInt32LE(p.goodHeaderDigest ? crc32c(header) : (crc32c(header) ^ 1) >>> 0);
          out.push(hd);
        }
        if (p.data.length > 0) {
          const padded = Buffer.concat([
            p.data,
            p.padding.subarray(0, paddedLength(p.data.length) - p.data.length),
          ]);
          out.push(padded);
          if (cfg.dataDigest) {
            const dd = Buffer.alloc(4);
            dd.writeUInt32LE(p.goodDataDigest ? crc32c(padded) : (crc32c(padded) ^ 0x80000000) >>> 0);
            out.push(dd);
          }
        }
        out.push(p.junk);
        return out;
      }),
    ),
  );
}

describe(`PDU codec robustness (fast-check seed ${SEED})`, () => {
  it("random bytes: the framer hands out PDUs or throws a ProtocolError, consuming exactly what it is given", () => {
    check(
      fc.property(framerConfig, fc.oneof(bytes(0, 100), bytes(0, 2000)), chunkSizes, (cfg, stream, sizes) => {
        checkFramer(stream, cfg, sizes);
      }),
      1000,
    );
  });

  it("random PDUs framed with plausible lengths and digests: the framer hands out PDUs or throws a ProtocolError", () => {
    check(
      fc.property(
        framerConfig.chain((cfg) => fc.tuple(fc.constant(cfg), framedRandomStream(cfg))),
        chunkSizes,
        ([cfg, stream], sizes) => {
          checkFramer(stream, cfg, sizes);
        },
      ),
      800,
    );
  });

  it("damaged valid PDUs: the framer hands out PDUs or throws a ProtocolError, in any chunking", () => {
    check(
      fc.property(
        framerConfig.chain((cfg) => fc.tuple(fc.constant(cfg), damagedStream(cfg))),
        chunkSizes,
        ([cfg, stream], sizes) => {
          checkFramer(stream, cfg, sizes);
        },
      ),
      1500,
    );
  });

  it("decodePdu of any header and data returns a PDU or throws a ProtocolError; a PDU re-encodes to itself", () => {
    // Headers whose TotalAHSLength matches their length (to reach the AHS and field checks), with AHS
    // segments of random AHSLength and type; data whose length matches DataSegmentLength; and anything.
    const ahsSegment = fc
      .record({ len: fc.oneof(fc.nat({ max: 8 }), u16), type: u8, specific: u8, body: bytes(0, 64) })
      .map(({ len, type, specific, body }) => {
        const seg = Buffer.alloc(4 + body.length);
        seg.writeUInt16BE(len, 0);
        seg[2] = type;
        seg[3] = specific;
        body.copy(seg, 4);
        return seg;
      });
    const opcodes = Object.values(Opcode);
    const consistent = fc
      .record({
        opcode: fc.oneof(fc.constantFrom(...opcodes), fc.constant(Opcode.ScsiCommand), u8),
        bhs: bytes(48, 48),
        ahs: fc.oneof(
          fc.array(ahsSegment, { maxLength: 4 }).map((s) => Buffer.concat(s)),
          bytes(0, 64),
        ),
        data: fc.oneof(fc.constant(Buffer.alloc(0)), bytes(0, 40)),
      })
      .map(({ opcode, bhs, ahs, data }) => {
        const words = Math.min(255, Math.ceil(ahs.length / 4));
        const header = Buffer.concat([bhs, ahs, Buffer.alloc(words * 4 - Math.min(ahs.length, words * 4))]);
        header[0] = (header[0]! & 0xc0) | (opcode & 0x3f);
        header[4] = words;
        header.writeUIntBE(data.length, 5, 3);
        return { header: header.subarray(0, 48 + words * 4), data };
      });
    const anything = record({ header: bytes(0, 120), data: bytes(0, 40) });
    check(
      fc.property(fc.oneof(consistent, consistent, anything), ({ header, data }) => {
        let pdu: Pdu;
        try {
          pdu = decodePdu(header, data);
        } catch (err) {
          if (!(err instanceof ProtocolError)) {
            throw new Error(`decodePdu threw ${String(err)}, not a ProtocolError`, { cause: err });
          }
          return;
        }
        // What was decoded is a valid PDU: it encodes, and decodes to the same fields.
        const digests = { headerDigest: false, dataDigest: false };
        const wire = Buffer.concat(encodePdu(pdu, digests));
        const hl = headerLength(pdu, digests);
        expect(decodePdu(wire.subarray(0, hl), wire.subarray(hl, hl + data.length))).toStrictEqual(pdu);
      }),
      3000,
    );
  });
});
