/**
 * The initiator side of the login phase (RFC 7143 section 6): security stage (AuthMethod, CHAP
 * one-way or mutual), operational stage (negotiation of the section 13 keys), transition to the
 * full feature phase, and login redirection (status class 1).
 *
 * Login is rare, so it is written plainly with Promises; the full feature phase is not.
 */
import {
  type ChapAlgorithm,
  type ChapCredentials,
  chapResponse,
  decodeBinary,
  encodeBinary,
  newChallenge,
  parseChapAlgorithms,
} from "../iscsi/chap.js";
import { ProtocolError } from "../iscsi/errors.js";
import { answerOffer, applyParam, operationalOffer, resolveAnswer } from "../iscsi/negotiate.js";
import { DEFAULT_PARAMS, type OperationalParams } from "../iscsi/params.js";
import { type LoginResponse, Opcode, type Pdu, Stage } from "../iscsi/pdu.js";
import { buildText, parseText, type TextPairs } from "../iscsi/text.js";
import { Connection, type ConnectionHandler, LOGIN_MAX_DATA_SEGMENT } from "./connection.js";
import { LoginError, SessionError } from "./errors.js";

export type SessionType = "Normal" | "Discovery";

export interface LoginOptions {
  initiatorName: string;
  /** null for a discovery session. */
  targetName: string | null;
  sessionType: SessionType;
  isid: number;
  chap?: ChapCredentials;
  /** CHAP algorithms we offer, in preference order (default 7, 6, 8, 5: the target picks). */
  chapAlgorithms?: ChapAlgorithm[];
  /** What we propose (digests, burst lengths, ...). */
  want: OperationalParams;
  timeoutMs: number;
  /** The CmdSN of the login (the session's first CmdSN). */
  cmdSN: number;
}

export interface LoginResult {
  negotiated: OperationalParams;
  tsih: number;
  /** StatSN of the final login response + 1. */
  expStatSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  targetPortalGroupTag: number | null;
  targetAlias: string | null;
}

export const DEFAULT_CHAP_ALGORITHMS: ChapAlgorithm[] = [7, 6, 8, 5];
/** How many login redirects (status class 1) we follow before giving up. */
export const MAX_REDIRECTS = 4;
const MAX_ROUNDS = 16;
const MAX_LOGIN_TEXT = 64 * 1024;
const LOGIN_ITT = 0x4c4f4731; // any tag; one login at a time per connection

/** Thrown inside login() when the target redirects us (status class 1). */
export class LoginRedirect extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`login redirected to ${host}:${port}`);
  }
}

/** The target refused our CHAP_A list with "initiator error" (see connectAndLogin). */
class ChapListRefused extends Error {}

/** Receives login PDUs one at a time as Promises (copying their data: the framer's views do not live). */
class LoginChannel implements ConnectionHandler {
  private queue: Pdu[] = [];
  private waiter: { resolve: (p: Pdu) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;

  onPdu(pdu: Pdu): void {
    const copy = "data" in pdu ? ({ ...pdu, data: Buffer.from(pdu.data) } as Pdu) : { ...pdu };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(copy);
    } else this.queue.push(copy);
  }
  onError(err: Error): void {
    this.setError(err);
  }
  onClose(): void {
    this.setError(new SessionError("the target closed the connection during login"));
  }
  private setError(err: Error): void {
    if (this.error) return;
    this.error = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }
  next(timeoutMs: number): Promise<Pdu> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new SessionError(`login timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }
}

/** Parses a TargetAddress value "host[:port][,tpgt]" (IPv6 host in brackets). */
export function parseTargetAddress(
  value: string,
  defaultPort = 3260,
): { host: string; port: number; tpgt: number | null } {
  let rest = value.trim();
  let tpgt: number | null = null;
  const comma = rest.lastIndexOf(",");
  if (comma >= 0 && comma > rest.lastIndexOf("]")) {
    const t = rest.slice(comma + 1);
    if (!/^\d+$/.test(t)) throw new ProtocolError("text", `TargetAddress "${value}": bad portal group tag`);
    tpgt = Number(t);
    rest = rest.slice(0, comma);
  }
  let host: string;
  let portText: string | null = null;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw new ProtocolError("text", `TargetAddress "${value}": unterminated IPv6 address`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith(":")) portText = after.slice(1);
    else if (after !== "")
      throw new ProtocolError("text", `TargetAddress "${value}": junk after the IPv6 address`);
  } else {
    const colon = rest.indexOf(":");
    if (colon >= 0 && rest.indexOf(":", colon + 1) >= 0) {
      host = rest; // bare IPv6 without brackets and without port
    } else if (colon >= 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else host = rest;
  }
  let port = defaultPort;
  if (portText !== null) {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)
      throw new ProtocolError("text", `TargetAddress "${value}": bad port`);
    port = Number(portText);
  }
  if (host === "") throw new ProtocolError("text", `TargetAddress "${value}": empty host`);
  return { host, port, tpgt };
}

function get(pairs: TextPairs, key: string): string | undefined {
  for (const [k, v] of pairs) if (k === key) return v;
  return undefined;
}

const DECLARATIVE_FROM_TARGET = new Set([
  "TargetAlias",
  "TargetPortalGroupTag",
  "TargetAddress",
  "MaxRecvDataSegmentLength",
]);

/**
 * Runs the login on an open connection. On success the connection is in the full feature phase
 * with digests switched on as negotiated. Throws LoginError (refused), LoginRedirect (status
 * class 1), SessionError (connection/timeout) or ProtocolError (the target broke the protocol).
 */
export async function login(conn: Connection, opts: LoginOptions): Promise<LoginResult> {
  const channel = new LoginChannel();
  conn.handler = channel;
  const params: OperationalParams = { ...DEFAULT_PARAMS };
  let expStatSN = 0;
  let expCmdSN = opts.cmdSN;
  let maxCmdSN = opts.cmdSN;
  let tsih = 0;
  let targetPortalGroupTag: number | null = null;
  let targetAlias: string | null = null;

  /** One request/response exchange, including continued (C bit) responses. */
  const exchange = async (csg: number, transit: boolean, nsg: number, pairs: TextPairs) => {
    const send = (data: Buffer, t: boolean) =>
      conn.send({
        opcode: Opcode.LoginRequest,
        transit: t,
        cont: false,
        csg,
        nsg: t ? nsg : 0,
        versionMax: 0,
        versionMin: 0,
        isid: opts.isid,
        tsih,
        itt: LOGIN_ITT,
        cid: 0,
        cmdSN: opts.cmdSN,
        expStatSN,
        data,
      });
    send(buildText(pairs), transit);
    const parts: Buffer[] = [];
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const pdu = await channel.next(opts.timeoutMs);
      if (pdu.opcode === Opcode.Reject)
        throw new SessionError(`the target rejected a login request (reason 0x${pdu.reason.toString(16)})`);
      if (pdu.opcode !== Opcode.LoginResponse)
        throw new ProtocolError("opcode", `unexpected PDU opcode 0x${pdu.opcode.toString(16)} during login`);
      const rsp = pdu as LoginResponse;
      expStatSN = (rsp.statSN + 1) >>> 0;
      expCmdSN = rsp.expCmdSN;
      maxCmdSN = rsp.maxCmdSN;
      if (rsp.statusClass !== 0) {
        if (rsp.statusClass === 1) {
          const addr = get(parseText(rsp.data), "TargetAddress");
          if (addr === undefined)
            throw new LoginError(1, rsp.statusDetail, "login redirected without a TargetAddress");
          const a = parseTargetAddress(addr);
          throw new LoginRedirect(a.host, a.port);
        }
        throw new LoginError(rsp.statusClass, rsp.statusDetail);
      }
      if (rsp.versionActive !== 0)
        throw new ProtocolError("field", `login response: unsupported VersionActive ${rsp.versionActive}`);
      total += rsp.data.length;
      if (total > MAX_LOGIN_TEXT) throw new ProtocolError("length", "login response text exceeds 64 KiB");
      parts.push(rsp.data);
      if (rsp.cont) {
        // RFC 7143 6.2: answer a continued response with an empty login request (T=0).
        send(Buffer.alloc(0), false);
        continue;
      }
      if (rsp.tsih !== 0) tsih = rsp.tsih;
      return { rsp, pairs: parseText(Buffer.concat(parts)) };
    }
    throw new ProtocolError("text", "login response continued too many times");
  };

  const leading: TextPairs = [
    ["InitiatorName", opts.initiatorName],
    ["SessionType", opts.sessionType],
  ];
  if (opts.sessionType === "Normal") {
    if (!opts.targetName) throw new SessionError("a normal session needs a target name");
    leading.push(["TargetName", opts.targetName]);
  }

  // ---- security stage ----
  const chap = opts.chap;
  const mutual = !!(chap?.targetSecret !== undefined && chap.targetSecret !== "");
  const authMethod = chap ? (mutual ? "CHAP" : "CHAP,None") : "None";
  let r = await exchange(Stage.Security, !chap, Stage.Operational, [...leading, ["AuthMethod", authMethod]]);
  const chosen = get(r.pairs, "AuthMethod");
  for (const [k, v] of r.pairs) {
    if (k === "TargetPortalGroupTag") targetPortalGroupTag = Number(v);
    if (k === "TargetAlias") targetAlias = v;
  }
  let rounds = 0;
  if (chap && chosen === "CHAP") {
    const offered = opts.chapAlgorithms ?? DEFAULT_CHAP_ALGORITHMS;
    try {
      r = await exchange(Stage.Security, false, Stage.Operational, [["CHAP_A", offered.join(",")]]);
    } catch (err) {
      // Some targets (tgtd 1.0.x) refuse a CHAP_A list whose first entry they do not know,
      // instead of picking from it: connectAndLogin() retries with MD5 alone.
      if (
        err instanceof LoginError &&
        err.statusClass === 2 &&
        err.statusDetail === 0 &&
        offered.join() !== "5"
      )
        throw new ChapListRefused();
      throw err;
    }
    const aText = get(r.pairs, "CHAP_A");
    const algs = aText === undefined ? [] : parseChapAlgorithms(aText);
    const alg = algs[0];
    if (alg === undefined || !offered.includes(alg))
      throw new LoginError(
        2,
        1,
        `authentication failed: the target supports none of the CHAP algorithms ${offered.join(",")}`,
      );
    const idText = get(r.pairs, "CHAP_I");
    const cText = get(r.pairs, "CHAP_C");
    if (idText === undefined || cText === undefined || !/^\d+$/.test(idText) || Number(idText) > 255)
      throw new ProtocolError("text", "CHAP: the target sent no valid CHAP_I/CHAP_C");
    const challenge = decodeBinary(cText);
    const reply: TextPairs = [
      ["CHAP_N", chap.user],
      ["CHAP_R", encodeBinary(chapResponse(alg, Number(idText), chap.secret, challenge))],
    ];
    let ourId = 0;
    let ourChallenge: Buffer | null = null;
    if (mutual) {
      ourId = (Math.random() * 256) | 0;
      ourChallenge = newChallenge(alg);
      // RFC 7143 12.1.3: never answer a challenge identical to one we sent (reflection).
      while (ourChallenge.equals(challenge)) ourChallenge = newChallenge(alg);
      reply.push(["CHAP_I", String(ourId)], ["CHAP_C", encodeBinary(ourChallenge)]);
    }
    try {
      r = await exchange(Stage.Security, true, Stage.Operational, reply);
    } catch (err) {
      // tgtd 1.0.x picks CHAP_A=7 but then refuses any SHA-256 response with "initiator error"
      // (a wrong secret is "authentication failure"): fall back to MD5 alone, like libiscsi offers.
      if (err instanceof LoginError && err.statusClass === 2 && err.statusDetail === 0 && alg !== 5)
        throw new ChapListRefused();
      throw err;
    }
    if (mutual && ourChallenge) {
      const n = get(r.pairs, "CHAP_N");
      const resp = get(r.pairs, "CHAP_R");
      if (resp === undefined)
        throw new LoginError(2, 1, "authentication failed: the target did not answer our CHAP challenge");
      if (chap.targetUser && n !== chap.targetUser)
        throw new LoginError(2, 1, "authentication failed: the target answered with an unexpected CHAP name");
      const expected = chapResponse(alg, ourId, chap.targetSecret as string, ourChallenge);
      if (!decodeBinary(resp).equals(expected))
        throw new LoginError(
          2,
          1,
          "authentication failed: the target's CHAP response is wrong (mutual CHAP)",
        );
    }
  } else if (mutual) {
    throw new LoginError(
      2,
      1,
      "authentication failed: the target did not agree to CHAP (mutual CHAP required)",
    );
  } else if (chosen === "Reject" || chosen === "NotUnderstood") {
    throw new LoginError(2, 1, `authentication failed: the target refused AuthMethod=${authMethod}`);
  }
  while (!(r.rsp.transit && r.rsp.csg === Stage.Security)) {
    // The target wants more security-stage exchanges (e.g. it answered AuthMethod=None to T=0).
    if (++rounds > MAX_ROUNDS) throw new ProtocolError("sequence", "login: the security stage does not end");
    r = await exchange(Stage.Security, true, Stage.Operational, []);
  }

  // ---- operational stage ----
  applyParam(params, "MaxRecvDataSegmentLength", String(opts.want.maxRecvDataSegmentLength), "local");
  const offer = operationalOffer(opts.want, opts.sessionType);
  const offered = new Map<string, string>(offer);
  let reply: TextPairs = offer;
  if (r.rsp.nsg !== Stage.FullFeature) {
    for (;;) {
      r = await exchange(Stage.Operational, true, Stage.FullFeature, reply);
      reply = [];
      for (const [k, v] of r.pairs) {
        if (k === "TargetPortalGroupTag") targetPortalGroupTag = Number(v);
        else if (k === "TargetAlias") targetAlias = v;
        if (k === "MaxRecvDataSegmentLength") {
          applyParam(params, k, v, "peer");
          continue;
        }
        if (DECLARATIVE_FROM_TARGET.has(k)) continue;
        const mine = offered.get(k);
        if (mine !== undefined) {
          applyParam(params, k, resolveAnswer(k, mine, v));
          offered.delete(k);
        } else {
          // A key the target offers: answer it (RFC 7143 6.2).
          const answer = answerOffer(k, v, undefined);
          reply.push([k, answer]);
          applyParam(params, k, answer);
        }
      }
      if (r.rsp.transit && r.rsp.nsg === Stage.FullFeature) break;
      if (++rounds > MAX_ROUNDS)
        throw new ProtocolError("sequence", "login: the operational stage does not end");
    }
  }
  if (tsih === 0 && r.rsp.tsih === 0) throw new ProtocolError("field", "final login response carries TSIH 0");
  // RFC 7143 13.1: digests apply from the first PDU after the final login response.
  conn.setNegotiated(
    params.headerDigest,
    params.dataDigest,
    Math.max(params.maxRecvDataSegmentLength, LOGIN_MAX_DATA_SEGMENT),
  );
  return { negotiated: params, tsih, expStatSN, expCmdSN, maxCmdSN, targetPortalGroupTag, targetAlias };
}

/**
 * Connects and logs in, following login redirects (status class 1) up to MAX_REDIRECTS times.
 * On failure the connection is destroyed.
 */
export async function connectAndLogin(
  host: string,
  port: number,
  opts: LoginOptions,
): Promise<{ conn: Connection; result: LoginResult }> {
  let h = host;
  let p = port;
  let current = opts;
  for (let i = 0; ; i++) {
    const conn = await Connection.open(h, p, opts.timeoutMs);
    try {
      const result = await login(conn, current);
      return { conn, result };
    } catch (err) {
      conn.destroy();
      if (err instanceof ChapListRefused) {
        current = { ...current, chapAlgorithms: [5] };
        continue;
      }
      if (err instanceof LoginRedirect) {
        if (i >= MAX_REDIRECTS) throw new SessionError(`login redirected more than ${MAX_REDIRECTS} times`);
        h = err.host;
        p = err.port;
        continue;
      }
      if (err instanceof ProtocolError) throw new SessionError(`login failed: ${err.message}`);
      throw err;
    }
  }
}
