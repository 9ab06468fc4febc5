/**
 * Login as a target (RFC 7143 section 6 and 11.12/11.13): one TargetLogin per connection consumes
 * Login Requests and produces Login Responses, through the security stage (CHAP one-way and
 * mutual, RFC 7143 12.1.3), the operational stage (negotiate.ts answerOffers) and into the full
 * feature phase. It knows nothing of sockets: the connection fills in StatSN/ExpCmdSN/MaxCmdSN.
 */
import { timingSafeEqual } from "node:crypto";
import {
  type ChapAlgorithm,
  chapResponse,
  decodeBinary,
  encodeBinary,
  newChallenge,
  newChapId,
  parseChapAlgorithms,
  parseChapId,
} from "../iscsi/chap.js";
import { answerOffers } from "../iscsi/negotiate.js";
import type { OperationalParams } from "../iscsi/params.js";
import { DEFAULT_PARAMS } from "../iscsi/params.js";
import { type LoginRequest, type LoginResponse, Opcode, Stage } from "../iscsi/pdu.js";
import { buildText, parseText, TextAssembler, type TextPairs } from "../iscsi/text.js";
import { type Acl, isAllowed } from "./acl.js";

/** Login status class/detail (RFC 7143 11.13.5). */
export const LoginStatus = {
  Success: 0x0000,
  InitiatorError: 0x0200,
  AuthenticationFailure: 0x0201,
  AuthorizationFailure: 0x0202,
  NotFound: 0x0203,
  TargetRemoved: 0x0204,
  UnsupportedVersion: 0x0205,
  TooManyConnections: 0x0206,
  MissingParameter: 0x0207,
  CantIncludeInSession: 0x0208,
  SessionTypeNotSupported: 0x0209,
  SessionDoesNotExist: 0x020a,
  InvalidDuringLogin: 0x020b,
  TargetError: 0x0300,
  ServiceUnavailable: 0x0301,
  OutOfResources: 0x0302,
} as const;

export type SessionType = "Normal" | "Discovery";

export interface LoginIdentity {
  initiatorName: string;
  initiatorAlias: string | null;
  isid: number;
  /** TSIH the initiator sent (0 = new session). */
  tsih: number;
  cid: number;
  sessionType: SessionType;
  targetName: string;
}

/** The portal's side of admitting a session: allocates the TSIH, reinstates or refuses. */
export interface SessionAdmission {
  /** Returns the TSIH of the new session, or a login status (class << 8 | detail) to refuse with. */
  admit(identity: LoginIdentity): { tsih: number } | { status: number };
}

export interface LoginConfig {
  targetName: string;
  chap: { user: string; secret: string } | null;
  mutualChap: { user: string; secret: string } | null;
  acl: Acl;
  policy: OperationalParams;
  portalGroupTag: number;
  admission: SessionAdmission;
}

export type LoginStep =
  /** Send the response and keep reading Login Requests. */
  | { kind: "continue"; response: LoginResponse }
  /** Send the response (a failure status) and close the connection. */
  | { kind: "fail"; response: LoginResponse; reason: string }
  /** Send the response; the connection enters the full feature phase. */
  | { kind: "complete"; response: LoginResponse; identity: LoginIdentity; params: OperationalParams };

/** Keys that belong to login itself, never handed to operational negotiation. */
const LOGIN_KEYS = new Set([
  "InitiatorName",
  "InitiatorAlias",
  "TargetName",
  "TargetAlias",
  "TargetAddress",
  "TargetPortalGroupTag",
  "SessionType",
  "AuthMethod",
  "CHAP_A",
  "CHAP_I",
  "CHAP_C",
  "CHAP_N",
  "CHAP_R",
]);

type AuthState = "start" | "chap-algorithm" | "chap-response" | "done";

const MAX_LOGIN_TEXT = 65536;

export class TargetLogin {
  private first = true;
  private stage: number = Stage.Security;
  private readonly assembler = new TextAssembler(MAX_LOGIN_TEXT);
  private readonly params: OperationalParams = { ...DEFAULT_PARAMS };
  private readonly declared = new Set<string>();
  private identity: LoginIdentity | null = null;
  private auth: AuthState = "start";
  private chapAlg: ChapAlgorithm = 5;
  private chapId = 0;
  private chapChallenge: Buffer | null = null;
  private isid = 0;
  private tsih = 0;

  constructor(private readonly config: LoginConfig) {}

  /** The identity known so far (after the first request), for logs. */
  get initiatorName(): string | null {
    return this.identity?.initiatorName ?? null;
  }

  handle(req: LoginRequest): LoginStep {
    if (this.first) {
      this.isid = req.isid;
      this.tsih = req.tsih;
      // RFC 7143 11.12.4: this document is version 0x00
      if (req.versionMin > 0 || req.versionMax < 0) {
        return this.fail(req, LoginStatus.UnsupportedVersion, "unsupported version");
      }
    } else if (req.isid !== this.isid || req.tsih !== this.tsih) {
      return this.fail(req, LoginStatus.InitiatorError, "ISID or TSIH changed during login");
    }
    if (req.csg === 2 || req.csg === Stage.FullFeature) {
      return this.fail(req, LoginStatus.InitiatorError, `CSG ${req.csg} is not a login stage`);
    }
    if (this.first) {
      this.stage = req.csg;
    } else if (req.csg !== this.stage) {
      return this.fail(req, LoginStatus.InitiatorError, `CSG ${req.csg} while in stage ${this.stage}`);
    }
    if (req.transit && (req.nsg <= req.csg || req.nsg === 2)) {
      return this.fail(req, LoginStatus.InitiatorError, `NSG ${req.nsg} after CSG ${req.csg}`);
    }
    if (req.transit && req.cont) {
      return this.fail(req, LoginStatus.InitiatorError, "T and C bits both set");
    }

    let whole: Buffer | null;
    let pairs: TextPairs;
    try {
      whole = this.assembler.add(req.data, req.cont);
      pairs = whole === null ? [] : parseText(whole);
    } catch (err) {
      return this.fail(req, LoginStatus.InitiatorError, (err as Error).message);
    }
    if (whole === null) {
      // C bit: more text follows; answer with an empty response in the same stage (RFC 7143 11.12.2)
      return { kind: "continue", response: this.response(req, false, this.stage, [], 0) };
    }

    const reply: TextPairs = [];
    if (this.first) {
      this.first = false;
      const refused = this.identify(req, pairs, reply);
      if (refused !== null) return refused;
    }
    const identity = this.identity!;

    if (this.stage === Stage.Security) {
      const authFail = this.security(pairs, reply);
      if (authFail !== null) return this.fail(req, LoginStatus.AuthenticationFailure, authFail);
    } else if (this.config.chap !== null && this.auth !== "done") {
      // authentication is required, but the initiator started in the operational stage
      return this.fail(req, LoginStatus.AuthenticationFailure, "authentication required");
    }

    const offers = pairs.filter(([k]) => !LOGIN_KEYS.has(k));
    if (offers.length > 0) {
      try {
        for (const p of answerOffers(
          offers,
          this.config.policy,
          this.params,
          identity.sessionType,
          this.declared,
        ))
          reply.push(p);
      } catch (err) {
        return this.fail(req, LoginStatus.InitiatorError, (err as Error).message);
      }
    }
    if (!req.transit) {
      return { kind: "continue", response: this.response(req, false, this.stage, reply, 0) };
    }
    if (this.stage === Stage.Security && this.auth !== "done") {
      if (this.auth === "start") {
        return this.fail(req, LoginStatus.AuthenticationFailure, "authentication required");
      }
      // the exchange is still running: the target answers without T (RFC 7143 6.2, 11.13.1)
      return { kind: "continue", response: this.response(req, false, this.stage, reply, 0) };
    }
    if (req.nsg !== Stage.FullFeature) {
      this.stage = req.nsg;
      return { kind: "continue", response: this.response(req, true, req.csg, reply, 0, req.nsg) };
    }
    const admitted = this.config.admission.admit(identity);
    if ("status" in admitted) {
      return this.fail(req, admitted.status, "session refused");
    }
    const response = this.response(req, true, req.csg, reply, 0, Stage.FullFeature);
    response.tsih = admitted.tsih;
    identity.tsih = admitted.tsih;
    return { kind: "complete", response, identity, params: this.params };
  }

  /** First Login Request: names, session type, version, ACL (RFC 7143 6.1, 11.12). */
  private identify(req: LoginRequest, pairs: TextPairs, reply: TextPairs): LoginStep | null {
    const get = (key: string): string | undefined => pairs.find(([k]) => k === key)?.[1];
    const initiatorName = get("InitiatorName");
    if (initiatorName === undefined || initiatorName.length === 0) {
      return this.fail(req, LoginStatus.MissingParameter, "InitiatorName missing");
    }
    const sessionType = get("SessionType") ?? "Normal";
    if (sessionType !== "Normal" && sessionType !== "Discovery") {
      return this.fail(req, LoginStatus.SessionTypeNotSupported, `SessionType ${sessionType}`);
    }
    const targetName = get("TargetName");
    if (sessionType === "Normal") {
      if (targetName === undefined) return this.fail(req, LoginStatus.MissingParameter, "TargetName missing");
      if (targetName.toLowerCase() !== this.config.targetName.toLowerCase()) {
        return this.fail(req, LoginStatus.NotFound, "target not found");
      }
      if (!isAllowed(this.config.acl, initiatorName)) {
        return this.fail(req, LoginStatus.AuthorizationFailure, "initiator not in the access list");
      }
      // RFC 7143 13.9: returned in the first Login Response of a Normal session
      reply.push(["TargetPortalGroupTag", String(this.config.portalGroupTag)]);
    }
    this.identity = {
      initiatorName,
      initiatorAlias: get("InitiatorAlias") ?? null,
      isid: req.isid,
      tsih: req.tsih,
      cid: req.cid,
      sessionType,
      targetName: sessionType === "Normal" ? this.config.targetName : "",
    };
    if (this.config.chap === null) this.auth = "done";
    return null;
  }

  /** Security stage keys; returns a failure reason or null. Never mentions a secret. */
  private security(pairs: TextPairs, reply: TextPairs): string | null {
    const get = (key: string): string | undefined => pairs.find(([k]) => k === key)?.[1];
    const chap = this.config.chap;
    const method = get("AuthMethod");
    if (method !== undefined) {
      const offered = method.split(",");
      if (chap !== null) {
        if (!offered.includes("CHAP")) return "initiator does not offer CHAP";
        reply.push(["AuthMethod", "CHAP"]);
        this.auth = "chap-algorithm";
      } else if (offered.includes("None")) {
        reply.push(["AuthMethod", "None"]);
        this.auth = "done";
      } else {
        reply.push(["AuthMethod", "Reject"]);
        return "no common AuthMethod";
      }
    }
    if (chap === null) return null;
    const alg = get("CHAP_A");
    if (alg !== undefined) {
      if (this.auth !== "chap-algorithm") return "CHAP_A out of place";
      const algs = parseChapAlgorithms(alg);
      if (algs.length === 0) {
        reply.push(["CHAP_A", "Reject"]);
        return "no common CHAP algorithm";
      }
      this.chapAlg = algs[0]!;
      this.chapId = newChapId();
      this.chapChallenge = newChallenge(this.chapAlg);
      reply.push(["CHAP_A", String(this.chapAlg)]);
      reply.push(["CHAP_I", String(this.chapId)]);
      reply.push(["CHAP_C", encodeBinary(this.chapChallenge)]);
      this.auth = "chap-response";
      return null;
    }
    const name = get("CHAP_N");
    const resp = get("CHAP_R");
    if (name === undefined && resp === undefined) return null;
    if (this.auth !== "chap-response" || this.chapChallenge === null) return "CHAP_N/CHAP_R out of place";
    if (name === undefined || resp === undefined) return "CHAP_N or CHAP_R missing";
    let got: Buffer;
    try {
      got = decodeBinary(resp);
    } catch {
      return "CHAP_R malformed";
    }
    const want = chapResponse(this.chapAlg, this.chapId, chap.secret, this.chapChallenge);
    const challenge = this.chapChallenge;
    this.chapChallenge = null; // a challenge is used once
    if (name !== chap.user || got.length !== want.length || !timingSafeEqual(got, want)) {
      return "CHAP response does not match";
    }
    const mutualId = get("CHAP_I");
    const mutualChallenge = get("CHAP_C");
    if (mutualId !== undefined || mutualChallenge !== undefined) {
      const mutual = this.config.mutualChap;
      if (mutual === null) return "mutual CHAP requested but not configured";
      if (mutualId === undefined || mutualChallenge === undefined) return "CHAP_I or CHAP_C missing";
      let id: number;
      try {
        id = parseChapId(mutualId);
      } catch {
        return "CHAP_I malformed";
      }
      let c: Buffer;
      try {
        c = decodeBinary(mutualChallenge);
      } catch {
        return "CHAP_C malformed";
      }
      // RFC 7143 12.1.3: refuse a challenge equal to the one we sent (reflection attack)
      if (c.length === 0 || c.equals(challenge)) return "CHAP_C reflects our challenge";
      reply.push(["CHAP_N", mutual.user]);
      reply.push(["CHAP_R", encodeBinary(chapResponse(this.chapAlg, id, mutual.secret, c))]);
    }
    this.auth = "done";
    return null;
  }

  private response(
    req: LoginRequest,
    transit: boolean,
    csg: number,
    pairs: TextPairs,
    status: number,
    nsg = 0,
  ): LoginResponse {
    return {
      opcode: Opcode.LoginResponse,
      transit,
      cont: false,
      csg,
      nsg: transit ? nsg : 0,
      versionMax: 0,
      versionActive: 0,
      isid: req.isid,
      tsih: 0,
      itt: req.itt,
      statSN: 0,
      expCmdSN: 0,
      maxCmdSN: 0,
      statusClass: status >> 8,
      statusDetail: status & 0xff,
      data: pairs.length > 0 ? buildText(pairs) : Buffer.alloc(0),
    };
  }

  private fail(req: LoginRequest, status: number, reason: string): LoginStep {
    const response = this.response(req, false, req.csg === 3 ? 0 : req.csg, [], status);
    return { kind: "fail", response, reason };
  }
}
