/**
 * The misbehaviours of the hostile-target tests (test/helpers/hostile-target.ts), shared by the
 * session-API and the CLI tests: each is a script, the phase it strikes in, and what the one-line
 * error must say; and how an outcome is judged (typed one-line error, bounded time, CLI exit 1).
 */
import { expect } from "vitest";
import { LoginError, RecoveryTimeoutError, SessionError } from "../../src/initiator/errors.js";
import { encodePdu } from "../../src/iscsi/encode.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import {
  type DataIn,
  type LoginRequest,
  Opcode,
  RESERVED_TAG,
  type ScsiCommand,
  type ScsiResponse,
} from "../../src/iscsi/pdu.js";
import { runCli } from "../engine/e2e.js";
import type { HostilePeer, HostileScript } from "../helpers/hostile-target.js";

const NO_DIGESTS = { headerDigest: false, dataDigest: false };

export interface HostileCase {
  name: string;
  /** "login": strikes before the full feature phase; "ffp": on the first SCSI command. */
  phase: "login" | "ffp";
  script: () => HostileScript;
  /** What the error message must say. */
  message: RegExp;
}

/** A Data-In with status answering `cmd` (up to 36 bytes of zeros), with `over` applied. */
export function dataIn(p: HostilePeer, cmd: ScsiCommand, over: Partial<DataIn> = {}): DataIn {
  const len = Math.min(cmd.expectedDataTransferLength, 36);
  return {
    opcode: Opcode.DataIn,
    final: true,
    ack: false,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: len < cmd.expectedDataTransferLength,
    hasStatus: true,
    status: 0,
    lun: 0n,
    itt: cmd.itt,
    ttt: RESERVED_TAG,
    statSN: p.nextStatSN(),
    expCmdSN: p.expCmdSN,
    maxCmdSN: p.maxCmdSN,
    dataSN: 0,
    bufferOffset: 0,
    residualCount: cmd.expectedDataTransferLength - len,
    data: Buffer.alloc(len),
    ...over,
  };
}

/** A GOOD SCSI Response answering `cmd`, with `over` applied. */
export function scsiResponse(
  p: HostilePeer,
  cmd: ScsiCommand,
  over: Partial<ScsiResponse> = {},
): ScsiResponse {
  return {
    opcode: Opcode.ScsiResponse,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: cmd.expectedDataTransferLength > 0,
    response: 0,
    status: 0,
    itt: cmd.itt,
    snackTag: 0,
    statSN: p.nextStatSN(),
    expCmdSN: p.expCmdSN,
    maxCmdSN: p.maxCmdSN,
    expDataSN: 0,
    bidiReadResidualCount: 0,
    residualCount: cmd.expectedDataTransferLength,
    data: Buffer.alloc(0),
    ...over,
  };
}

/** The answer to a command that carries status; Data-In when it reads. */
function answer(p: HostilePeer, cmd: ScsiCommand, statSN: number): DataIn | ScsiResponse {
  return cmd.read && cmd.expectedDataTransferLength > 0
    ? dataIn(p, cmd, { statSN })
    : scsiResponse(p, cmd, { statSN });
}

function bytes(pdu: Parameters<typeof encodePdu>[0]): Buffer {
  return Buffer.concat(encodePdu(pdu, NO_DIGESTS));
}

/** A 48-byte BHS with `opcode`, everything else zero but the ITT. */
function bhs(opcode: number, itt: number): Buffer {
  const b = Buffer.alloc(48);
  b[0] = opcode;
  b[1] = 0x80;
  b.writeUInt32BE(itt, 16);
  return b;
}

/** The script acting on every SCSI command of the full feature phase. */
function onCommand(act: (cmd: ScsiCommand, p: HostilePeer) => void): () => HostileScript {
  return () => ({
    onPdu(pdu, p) {
      if (pdu.opcode === Opcode.ScsiCommand) act(pdu as ScsiCommand, p);
    },
  });
}

/** The script acting on the first Login Request (no login is done for it). */
function onLogin(act: (req: LoginRequest, p: HostilePeer) => void): () => HostileScript {
  return () => ({
    login: false,
    onPdu(pdu, p) {
      if (pdu.opcode === Opcode.LoginRequest) act(pdu as LoginRequest, p);
    },
  });
}

const HTTP = Buffer.from(
  "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".repeat(2),
);

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: "an HTTP answer instead of a login response",
    phase: "login",
    script: onLogin((_req, p) => p.sendRaw(HTTP)),
    message: /malformed|protocol|opcode/i,
  },
  {
    name: "0xff bytes instead of a login response",
    phase: "login",
    script: onLogin((_req, p) => p.sendRaw(Buffer.alloc(96, 0xff))),
    message: /malformed|protocol|length/i,
  },
  {
    name: "a truncated login response, then close",
    phase: "login",
    script: onLogin((req, p) => {
      const full = bytes({
        opcode: Opcode.LoginResponse,
        transit: true,
        cont: false,
        csg: req.csg,
        nsg: 1,
        versionMax: 0,
        versionActive: 0,
        isid: req.isid,
        tsih: 0,
        itt: req.itt,
        statSN: p.nextStatSN(),
        expCmdSN: req.cmdSN,
        maxCmdSN: req.cmdSN,
        statusClass: 0,
        statusDetail: 0,
        data: Buffer.from("AuthMethod=None\0"),
      });
      p.sendRaw(full.subarray(0, 30));
      p.end();
    }),
    message: /closed/i,
  },
  {
    name: "silence during login",
    phase: "login",
    script: () => ({ login: false }),
    message: /timed out/i,
  },
  {
    name: "garbage in the full feature phase",
    phase: "ffp",
    script: onCommand((_cmd, p) => p.sendRaw(HTTP)),
    message: /malformed|protocol|opcode/i,
  },
  {
    name: "a truncated Data-In, then close",
    phase: "ffp",
    script: onCommand((cmd, p) => {
      const full = bytes(
        dataIn(p, cmd, { data: Buffer.alloc(Math.max(36, cmd.expectedDataTransferLength)) }),
      );
      p.sendRaw(full.subarray(0, 48 + 10));
      p.end();
    }),
    message: /closed|connection/i,
  },
  {
    // only the header: an initiator that waits for the 16 MiB instead of refusing it hangs
    name: "a DataSegmentLength beyond the negotiated maximum",
    phase: "ffp",
    script: onCommand((cmd, p) => {
      const header = bytes(dataIn(p, cmd, { data: Buffer.alloc(0) }));
      header.writeUIntBE(0xfffff0, 5, 3);
      p.sendRaw(header);
    }),
    message: /DataSegmentLength|length|exceed/i,
  },
  {
    name: "Data-In for an unknown task",
    phase: "ffp",
    script: onCommand((cmd, p) => p.send(dataIn(p, cmd, { itt: (cmd.itt ^ 0x5a5a5) >>> 0 }))),
    message: /unknown ITT/i,
  },
  {
    name: "a SCSI Response for an unknown task",
    phase: "ffp",
    script: onCommand((cmd, p) => p.send(scsiResponse(p, cmd, { itt: (cmd.itt ^ 0x5a5a5) >>> 0 }))),
    message: /unknown ITT/i,
  },
  {
    name: "an undefined opcode (0x2a)",
    phase: "ffp",
    script: onCommand((cmd, p) => p.sendRaw(bhs(0x2a, cmd.itt))),
    message: /opcode/i,
  },
  {
    name: "an initiator opcode from the target (SCSI Command)",
    phase: "ffp",
    script: onCommand((cmd, p) => p.sendRaw(bhs(Opcode.ScsiCommand, cmd.itt))),
    message: /opcode/i,
  },
  {
    name: "silence after login",
    phase: "ffp",
    script: () => ({}),
    message: /timed out|time-?out|NOP|ping|answer/i,
  },
];

/**
 * StatSN far out of order: RFC 7143 4.2.2.2, "Initiators MUST undertake recovery actions if the
 * difference is greater than an implementation-defined constant that MUST NOT exceed 2**31-1".
 */
export const STATSN_CASES: HostileCase[] = [
  {
    name: "a StatSN 2^30 ahead",
    phase: "ffp",
    script: onCommand((cmd, p) => p.send(answer(p, cmd, (p.statSN + 0x40000000) >>> 0))),
    message: /StatSN/,
  },
  {
    name: "a StatSN 2^30 behind",
    phase: "ffp",
    script: onCommand((cmd, p) => p.send(answer(p, cmd, (p.statSN - 0x40000000) >>> 0))),
    message: /StatSN/,
  },
];

export const INQUIRY = Buffer.from([0x12, 0, 0, 0, 96, 0]);

/** Settles `p` or reports a hang after `boundMs`; the elapsed time either way. */
export async function settle<T>(
  p: Promise<T>,
  boundMs: number,
): Promise<{ value?: T; error?: unknown; hung: boolean; ms: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((r) => {
    timer = setTimeout(() => r("hang"), boundMs);
  });
  try {
    const v = await Promise.race([p, hang]);
    if (v === "hang") return { hung: true, ms: Date.now() - t0 };
    return { value: v as T, hung: false, ms: Date.now() - t0 };
  } catch (error) {
    return { error, hung: false, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** A typed initiator error whose message is one clear line saying `what`. */
export function expectTypedError(err: unknown, what: RegExp): void {
  const typed =
    err instanceof SessionError ||
    err instanceof LoginError ||
    err instanceof ProtocolError ||
    err instanceof RecoveryTimeoutError;
  expect(typed, `not a typed initiator error: ${String(err)}`).toBe(true);
  const message = (err as Error).message;
  expect(message).not.toMatch(/\n/);
  expect(message.length).toBeGreaterThan(10);
  expect(message).toMatch(what);
}

/** How long one CLI invocation may take: a login timeout of 15 s, a loaded machine. */
export const CLI_BOUND_MS = 60_000;

/** Runs the CLI in `cwd`: exit 1, exactly one error line on stderr saying `what`, no stack trace, within the bound. */
export async function expectCliFailure(args: string[], cwd: string, what: RegExp): Promise<string> {
  const t0 = Date.now();
  const r = await runCli(args, cwd, CLI_BOUND_MS + 10_000);
  const ms = Date.now() - t0;
  expect(ms, "the CLI did not end within the bound").toBeLessThan(CLI_BOUND_MS);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^iscsi-bench: error: /);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(lines[0]).toMatch(what);
  expect(r.code, r.stderr).toBe(1);
  return lines[0]!;
}

/** A small read-only workload for `run` against a hostile target. */
export const READ_WORKLOAD = JSON.stringify({
  name: "hostile-read",
  duration: "2s",
  jobs: [{ name: "r", readPercent: 100, blockSize: "4KiB", queueDepth: 1, size: "1MiB" }],
});
