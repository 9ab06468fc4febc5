/**
 * TargetOptions: defaults and validation. Everything the portal and the connections need is
 * resolved here once, so the hot paths never look at optional fields.
 */
import { InputError } from "../common/errors.js";
import { validateIscsiName } from "../iscsi/names.js";
import type { OperationalParams } from "../iscsi/params.js";
import { DEFAULT_PARAMS } from "../iscsi/params.js";
import { DEFAULT_FAULT_SEED, type FaultSpec, parseFaultSpecs } from "./faults.js";

function validateName(what: string, name: string): void {
  if (typeof name !== "string") throw new InputError(`${what}: must be an iSCSI name`);
  try {
    validateIscsiName(name);
  } catch (err) {
    throw new InputError(`${what}: ${(err as Error).message}`);
  }
}

export type LunSpec =
  | { kind: "memory"; sizeBytes: number; readOnly?: boolean }
  | { kind: "file"; path: string; sizeBytes?: number; readOnly?: boolean };

export interface TargetOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3260; 0 = ephemeral (tests). */
  port?: number;
  /** Default iqn.2026-11.io.iscsi-bench:target. */
  iqn?: string;
  /** LUN 0, 1, ... */
  luns: LunSpec[];
  /** Default 512. */
  blockSize?: 512 | 4096;
  /** Initiators must authenticate with CHAP. */
  chap?: { user: string; secret: string };
  /** The target authenticates itself to initiators that ask (mutual CHAP). */
  mutualChap?: { user: string; secret: string };
  /** Initiator names allowed (ACL); empty/absent = all. */
  allow?: string[];
  /** CmdSN window per session, default 128. */
  commandWindow?: number;
  /** Target NOP-In pings; 0 disables. Default 0. */
  nopIntervalMs?: number;
  /** Fault specs (see faults.ts), plain strings so they cross into the worker thread. */
  faults?: string[];
  /** Seed of the fault PRNG (busy/task-set-full shares). Default DEFAULT_FAULT_SEED. */
  faultSeed?: number;
  /** Accept CHAP secrets shorter than 12 bytes (RFC 7143 9.2.1 says no). Default false. */
  insecure?: boolean;
  /** Sessions at once; a login beyond is refused with Out of resources. Default 64. */
  maxSessions?: number;
  /** TCP connections at once; a login beyond is refused with Too many connections. Default 128. */
  maxConnections?: number;
  /** A connection that has not completed login in this time is closed. Default 15000; 0 = never. */
  loginTimeoutMs?: number;
}

export const DEFAULT_TARGET_IQN = "iqn.2026-11.io.iscsi-bench:target";
export const DEFAULT_TARGET_HOST = "127.0.0.1";
export const DEFAULT_TARGET_PORT = 3260;
export const DEFAULT_COMMAND_WINDOW = 128;
export const DEFAULT_MAX_SESSIONS = 64;
export const DEFAULT_MAX_CONNECTIONS = 128;
export const DEFAULT_LOGIN_TIMEOUT_MS = 15_000;
/** RFC 7143 9.2.1: CHAP secrets shorter than 96 bits are to be refused. */
export const MIN_CHAP_SECRET_BYTES = 12;

export interface ResolvedTargetOptions {
  host: string;
  port: number;
  iqn: string;
  luns: LunSpec[];
  blockSize: 512 | 4096;
  chap: { user: string; secret: string } | null;
  mutualChap: { user: string; secret: string } | null;
  allow: string[];
  commandWindow: number;
  nopIntervalMs: number;
  faults: FaultSpec[];
  faultSeed: number;
  maxSessions: number;
  maxConnections: number;
  loginTimeoutMs: number;
  /** What the target prefers/offers in operational negotiation. */
  policy: OperationalParams;
}

/**
 * The target's side of operational negotiation: large bursts and segments so that the target never
 * limits the initiator; the initiator's smaller offers win (min keys). MaxRecvDataSegmentLength is
 * what the framer accepts per PDU, so it also bounds the receive buffer of each connection.
 */
export const TARGET_POLICY: Readonly<OperationalParams> = Object.freeze({
  ...DEFAULT_PARAMS,
  headerDigest: true, // we accept CRC32C or None, whatever the initiator prefers
  dataDigest: true,
  maxRecvDataSegmentLength: 262144,
  peerMaxRecvDataSegmentLength: 8192,
  maxBurstLength: 16776192,
  firstBurstLength: 16776192,
  initialR2T: false,
  immediateData: true,
  maxOutstandingR2T: 16,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  defaultTime2Wait: 0,
  defaultTime2Retain: 0,
  errorRecoveryLevel: 0,
  maxConnections: 1,
});

function checkCredentials(what: string, c: { user: string; secret: string } | undefined, insecure: boolean) {
  if (c === undefined) return null;
  if (typeof c.user !== "string" || c.user.length === 0 || c.user.length > 255) {
    throw new InputError(`${what}: user must be 1..255 characters`);
  }
  if (typeof c.secret !== "string" || c.secret.length === 0 || c.secret.length > 255) {
    throw new InputError(`${what}: secret must be 1..255 characters`);
  }
  // RFC 7143 9.2.1: a target must not accept secrets shorter than 12 bytes (libiscsi and tgtd do)
  if (!insecure && Buffer.byteLength(c.secret) < MIN_CHAP_SECRET_BYTES) {
    throw new InputError(
      `${what}: the secret is shorter than ${MIN_CHAP_SECRET_BYTES} bytes (RFC 7143 9.2.1); use a longer one, or --insecure`,
    );
  }
  return { user: c.user, secret: c.secret };
}

/** Validates `options` and fills in the defaults. InputError names the option at fault. */
export function resolveTargetOptions(options: TargetOptions): ResolvedTargetOptions {
  const host = options.host ?? DEFAULT_TARGET_HOST;
  if (typeof host !== "string" || host.length === 0) throw new InputError("host: must be an address");
  const port = options.port ?? DEFAULT_TARGET_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError("port: must be 0..65535");
  const iqn = options.iqn ?? DEFAULT_TARGET_IQN;
  validateName("iqn", iqn);
  if (!Array.isArray(options.luns) || options.luns.length === 0)
    throw new InputError("luns: at least one LUN");
  if (options.luns.length > 255) throw new InputError("luns: at most 255 LUNs");
  options.luns.forEach((l, i) => {
    if (l.kind === "memory") {
      if (!Number.isSafeInteger(l.sizeBytes) || l.sizeBytes <= 0) {
        throw new InputError(`luns[${i}]: size must be a positive number of bytes`);
      }
    } else if (l.kind === "file") {
      if (typeof l.path !== "string" || l.path.length === 0)
        throw new InputError(`luns[${i}]: path is empty`);
      if (l.sizeBytes !== undefined && (!Number.isSafeInteger(l.sizeBytes) || l.sizeBytes <= 0)) {
        throw new InputError(`luns[${i}]: size must be a positive number of bytes`);
      }
    } else {
      throw new InputError(`luns[${i}]: kind must be "memory" or "file"`);
    }
  });
  const blockSize = options.blockSize ?? 512;
  if (blockSize !== 512 && blockSize !== 4096) throw new InputError("blockSize: must be 512 or 4096");
  for (const [i, l] of options.luns.entries()) {
    if (l.sizeBytes !== undefined && l.sizeBytes % blockSize !== 0) {
      throw new InputError(
        `luns[${i}]: size ${l.sizeBytes} is not a multiple of the block size ${blockSize}`,
      );
    }
  }
  const commandWindow = options.commandWindow ?? DEFAULT_COMMAND_WINDOW;
  if (!Number.isInteger(commandWindow) || commandWindow < 1 || commandWindow > 65536) {
    throw new InputError("commandWindow: must be 1..65536");
  }
  const nopIntervalMs = options.nopIntervalMs ?? 0;
  if (!Number.isFinite(nopIntervalMs) || nopIntervalMs < 0)
    throw new InputError("nopIntervalMs: must be >= 0");
  const limit = (what: string, v: number | undefined, fallback: number, min: number, max: number): number => {
    const n = v ?? fallback;
    if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${what}: must be ${min}..${max}`);
    return n;
  };
  const maxSessions = limit("maxSessions", options.maxSessions, DEFAULT_MAX_SESSIONS, 1, 0xffff);
  const maxConnections = limit(
    "maxConnections",
    options.maxConnections,
    DEFAULT_MAX_CONNECTIONS,
    1,
    1_000_000,
  );
  const loginTimeoutMs = limit(
    "loginTimeoutMs",
    options.loginTimeoutMs,
    DEFAULT_LOGIN_TIMEOUT_MS,
    0,
    86_400_000,
  );
  const faultSeed = limit("faultSeed", options.faultSeed, DEFAULT_FAULT_SEED, 0, 0xffffffff);
  if (options.faults !== undefined && !Array.isArray(options.faults))
    throw new InputError("faults: must be a list of specs");
  const faults = parseFaultSpecs(options.faults ?? []);
  const insecure = options.insecure === true;
  const allow = (options.allow ?? []).slice();
  for (const name of allow) {
    validateName("allow", name);
  }
  return {
    host,
    port,
    iqn,
    luns: options.luns.slice(),
    blockSize,
    chap: checkCredentials("chap", options.chap, insecure),
    mutualChap: checkCredentials("mutualChap", options.mutualChap, insecure),
    allow,
    commandWindow,
    nopIntervalMs,
    faults,
    faultSeed,
    maxSessions,
    maxConnections,
    loginTimeoutMs,
    policy: { ...TARGET_POLICY },
  };
}
