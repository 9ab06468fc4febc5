/**
 * Text key negotiation (RFC 7143 sections 6.2 and 13): the table of keys with their kind and
 * range, the responder's answer to an offer, the originator's check of an answer, and the
 * mapping of negotiated values onto OperationalParams.
 *
 * Kinds (RFC 7143 6.2.1, 6.2.2):
 * - list: the originator offers values in order of preference; the responder picks the first
 *   offered value it supports, or answers "Reject" when it supports none of them.
 * - and / or: Boolean Yes/No, the result is offer AND (OR) the responder's choice.
 * - min / max: numerical, the result is the minimum (maximum) of offer and the responder's choice.
 * - declarative: each side states its own value; there is nothing to negotiate.
 * Reserved answers: "NotUnderstood" (unknown key), "Irrelevant" (key meaningless in this
 * context), "Reject" (malformed or inadmissible value).
 */
import { InputError } from "../common/errors.js";
import { ProtocolError } from "./errors.js";
import type { OperationalParams } from "./params.js";
import type { TextPairs } from "./text.js";

export type KeyKind = "list" | "and" | "or" | "min" | "max" | "declarative";

/** RFC 7143 section 13 "Use": IO = initialize only (login), LO = leading only, ALL = login and
 * full feature phase, FFPO = full feature phase only, SEC = security negotiation stage (section 12). */
export type KeyUse = "IO" | "LO" | "ALL" | "FFPO" | "SEC";

export interface KeyDef {
  name: string;
  kind: KeyKind;
  /** Leading connection only (RFC 7143 "LO"). */
  leadingOnly: boolean;
  /** Admissible numerical values, inclusive. */
  range?: [number, number];
  /** Admissible values of list keys (and of enumerated declaratives). */
  values?: string[];
  /** RFC default, the result when the key is not negotiated. "" when the RFC has none. */
  defaultValue: string;
  use: KeyUse;
  /** Who may send the key: I = initiator, T = target. */
  senders: "I" | "T" | "IT";
  /** "Irrelevant when: SessionType=Discovery". */
  irrelevantInDiscovery: boolean;
  /** What this implementation supports (list keys) or chooses (others) when the caller gives no preference. */
  localDefault?: string;
  /** RFC 7143 13.25: obsoleted RFC 3720 keys, answered with "Reject". */
  obsolete?: boolean;
}

export const NOT_UNDERSTOOD = "NotUnderstood";
export const IRRELEVANT = "Irrelevant";
export const REJECT = "Reject";

const MAX_24 = 16777215; // 2^24 - 1

function def(
  name: string,
  kind: KeyKind,
  use: KeyUse,
  senders: KeyDef["senders"],
  defaultValue: string,
  extra: Partial<KeyDef> = {},
): KeyDef {
  return {
    name,
    kind,
    leadingOnly: use === "LO",
    defaultValue,
    use,
    senders,
    irrelevantInDiscovery: false,
    ...extra,
  };
}

const DISC = { irrelevantInDiscovery: true } as const;
const DIGESTS = ["None", "CRC32C"];

/** Every key of RFC 7143 section 13 (and the section 12 security keys we use). */
export const KEYS: Record<string, KeyDef> = Object.freeze({
  // 13.1 (digests may be used in discovery sessions too: no "Irrelevant when")
  HeaderDigest: def("HeaderDigest", "list", "IO", "IT", "None", {
    values: DIGESTS,
    localDefault: "CRC32C,None",
  }),
  DataDigest: def("DataDigest", "list", "IO", "IT", "None", { values: DIGESTS, localDefault: "CRC32C,None" }),
  // 13.2
  MaxConnections: def("MaxConnections", "min", "LO", "IT", "1", {
    range: [1, 65535],
    localDefault: "1",
    ...DISC,
  }),
  // 13.3 - 13.9
  SendTargets: def("SendTargets", "declarative", "FFPO", "I", ""),
  TargetName: def("TargetName", "declarative", "ALL", "IT", ""),
  InitiatorName: def("InitiatorName", "declarative", "IO", "I", ""),
  TargetAlias: def("TargetAlias", "declarative", "ALL", "T", ""),
  InitiatorAlias: def("InitiatorAlias", "declarative", "ALL", "I", ""),
  TargetAddress: def("TargetAddress", "declarative", "ALL", "T", ""),
  TargetPortalGroupTag: def("TargetPortalGroupTag", "declarative", "IO", "T", "", { range: [0, 65535] }),
  // 13.10 - 13.20
  InitialR2T: def("InitialR2T", "or", "LO", "IT", "Yes", { values: ["Yes", "No"], ...DISC }),
  ImmediateData: def("ImmediateData", "and", "LO", "IT", "Yes", { values: ["Yes", "No"], ...DISC }),
  MaxRecvDataSegmentLength: def("MaxRecvDataSegmentLength", "declarative", "ALL", "IT", "8192", {
    range: [512, MAX_24],
  }),
  MaxBurstLength: def("MaxBurstLength", "min", "LO", "IT", "262144", { range: [512, MAX_24], ...DISC }),
  FirstBurstLength: def("FirstBurstLength", "min", "LO", "IT", "65536", { range: [512, MAX_24], ...DISC }),
  DefaultTime2Wait: def("DefaultTime2Wait", "max", "LO", "IT", "2", { range: [0, 3600] }),
  DefaultTime2Retain: def("DefaultTime2Retain", "min", "LO", "IT", "20", { range: [0, 3600] }),
  MaxOutstandingR2T: def("MaxOutstandingR2T", "min", "LO", "IT", "1", { range: [1, 65535], ...DISC }),
  DataPDUInOrder: def("DataPDUInOrder", "or", "LO", "IT", "Yes", {
    values: ["Yes", "No"],
    localDefault: "Yes",
    ...DISC,
  }),
  DataSequenceInOrder: def("DataSequenceInOrder", "or", "LO", "IT", "Yes", {
    values: ["Yes", "No"],
    localDefault: "Yes",
    ...DISC,
  }),
  ErrorRecoveryLevel: def("ErrorRecoveryLevel", "min", "LO", "IT", "0", { range: [0, 2], localDefault: "0" }),
  // 13.21
  SessionType: def("SessionType", "declarative", "LO", "I", "Normal", { values: ["Discovery", "Normal"] }),
  // 13.23 (RFC 7143 section 13.23; X- and X# vendor keys, 13.22/13.23, are not in the table: NotUnderstood)
  TaskReporting: def("TaskReporting", "list", "LO", "IT", "RFC3720", {
    values: ["RFC3720", "ResponseFence", "FastAbort"],
    localDefault: "RFC3720",
    ...DISC,
  }),
  // 13.24 (RFC 7144): this implementation is RFC 7143 level 1.
  iSCSIProtocolLevel: def("iSCSIProtocolLevel", "min", "LO", "IT", "1", {
    range: [0, 31],
    localDefault: "1",
    ...DISC,
  }),
  // 13.25 obsoleted RFC 3720 keys: "Reject" (RFC 7143 13.25: SHOULD for the markers, MUST for the intervals)
  OFMarker: def("OFMarker", "and", "IO", "IT", "No", { values: ["Yes", "No"], obsolete: true }),
  IFMarker: def("IFMarker", "and", "IO", "IT", "No", { values: ["Yes", "No"], obsolete: true }),
  OFMarkInt: def("OFMarkInt", "declarative", "IO", "IT", "2048", { range: [1, 65535], obsolete: true }),
  IFMarkInt: def("IFMarkInt", "declarative", "IO", "IT", "2048", { range: [1, 65535], obsolete: true }),
  // Section 12: security stage keys (negotiated by the login state machines, not by answerOffers).
  AuthMethod: def("AuthMethod", "list", "SEC", "IT", "None", {
    values: ["None", "CHAP", "SRP", "KRB5", "SPKM1", "SPKM2"],
    localDefault: "CHAP,None",
  }),
  CHAP_A: def("CHAP_A", "list", "SEC", "IT", "", { values: ["5", "6", "7", "8"], localDefault: "7,6,8,5" }),
  CHAP_I: def("CHAP_I", "declarative", "SEC", "IT", "", { range: [0, 255] }),
  CHAP_C: def("CHAP_C", "declarative", "SEC", "IT", ""),
  CHAP_N: def("CHAP_N", "declarative", "SEC", "IT", ""),
  CHAP_R: def("CHAP_R", "declarative", "SEC", "IT", ""),
});

/** What decides "Irrelevant" (RFC 7143 13.x "Irrelevant when"). */
export interface NegotiationContext {
  sessionType: "Normal" | "Discovery";
  /** The InitialR2T / ImmediateData results so far (FirstBurstLength is irrelevant when Yes / No). */
  initialR2T?: boolean;
  immediateData?: boolean;
}

export function isReservedValue(value: string): boolean {
  return value === NOT_UNDERSTOOD || value === IRRELEVANT || value === REJECT;
}

/** True when `key` is irrelevant in `ctx` (RFC 7143 13.10-13.23, 13.14 for FirstBurstLength). */
export function isIrrelevant(key: string, ctx: NegotiationContext): boolean {
  const d = KEYS[key];
  if (!d) return false;
  if (d.irrelevantInDiscovery && ctx.sessionType === "Discovery") return true;
  return key === "FirstBurstLength" && ctx.initialR2T === true && ctx.immediateData === false;
}

/**
 * RFC 7143 6.1 numerical-value: a decimal-constant (0, or no leading zero) or a hex-constant
 * (0x...). Returns null for anything else. Values beyond 2^53 come back as Infinity.
 */
export function parseNumeric(value: string): number | null {
  if (/^(?:0|[1-9][0-9]*)$/.test(value)) {
    return value.length > 15 ? Number.POSITIVE_INFINITY : Number(value);
  }
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) {
    const hex = value.slice(2).replace(/^0+(?=.)/, "");
    return hex.length > 13 ? Number.POSITIVE_INFINITY : Number.parseInt(hex, 16);
  }
  return null;
}

function inRange(d: KeyDef, n: number): boolean {
  return d.range === undefined || (n >= d.range[0] && n <= d.range[1]);
}

function rangeText(d: KeyDef): string {
  return d.range ? `${d.range[0]}..${d.range[1]}` : "";
}

function listItems(value: string): string[] {
  return value.split(",");
}

function isBoolean(v: string): v is "Yes" | "No" {
  return v === "Yes" || v === "No";
}

/** A local preference the caller passed in; a bad one is a programming error. */
function localNumber(d: KeyDef, local: string): number {
  const n = parseNumeric(local);
  if (n === null || !inRange(d, n))
    throw new RangeError(`${d.name}: local value "${local}" is not in ${rangeText(d)}`);
  return n;
}

/**
 * Responder side: the answer to `offered` for `key`, given our preference `local` (for list keys
 * a comma list of what we support; for Boolean keys Yes/No; for numerical keys our limit).
 * Without `local`, the key's localDefault applies, else we accept the offer as it is.
 * Returns NotUnderstood for unknown keys (including X- and X# vendor keys), Irrelevant when
 * `ctx` makes the key irrelevant, Reject for malformed, out-of-range or unsupported offers.
 * For declarative keys there is nothing to answer: the result is `local` (our own declaration)
 * or "" (send nothing); a malformed declaration still gives Reject.
 */
export function answerOffer(
  key: string,
  offered: string,
  local: string | undefined,
  ctx?: NegotiationContext,
): string {
  const d = KEYS[key];
  if (!d) return NOT_UNDERSTOOD;
  if (ctx && isIrrelevant(key, ctx)) return IRRELEVANT;
  if (d.obsolete) return REJECT;
  const mine = local ?? d.localDefault;
  switch (d.kind) {
    case "list": {
      const offers = listItems(offered);
      // RFC 7143 6.1: each value at most 255 bytes; the reserved constants are not offerable values.
      if (offers.some((o) => o.length === 0 || Buffer.byteLength(o) > 255 || isReservedValue(o)))
        return REJECT;
      const supported = listItems(mine ?? (d.values ?? []).join(","));
      for (const o of offers) if (supported.includes(o)) return o;
      return REJECT;
    }
    case "and":
    case "or": {
      if (!isBoolean(offered)) return REJECT;
      const choice = mine ?? offered;
      if (!isBoolean(choice)) throw new RangeError(`${key}: local value "${choice}" is not Yes or No`);
      if (d.kind === "and") return offered === "Yes" && choice === "Yes" ? "Yes" : "No";
      return offered === "Yes" || choice === "Yes" ? "Yes" : "No";
    }
    case "min":
    case "max": {
      const n = parseNumeric(offered);
      if (n === null || !inRange(d, n)) return REJECT;
      if (mine === undefined) return String(n);
      const m = localNumber(d, mine);
      return String(d.kind === "min" ? Math.min(n, m) : Math.max(n, m));
    }
    case "declarative": {
      if (d.range) {
        const n = parseNumeric(offered);
        if (n === null || !inRange(d, n)) return REJECT;
      }
      if (d.values && !d.values.includes(offered)) return REJECT;
      return local ?? "";
    }
  }
}

/**
 * The result when the responder sent no answer: RFC 7143 6.2.2 makes the answer optional for
 * an AND key offered "No" and an OR key offered "Yes"; declaratives need no answer. null when an
 * answer was required.
 */
export function resultWithoutAnswer(key: string, offered: string): string | null {
  const d = KEYS[key];
  if (!d) return null;
  if (d.kind === "and" && offered === "No") return "No";
  if (d.kind === "or" && offered === "Yes") return "Yes";
  if (d.kind === "declarative") return offered;
  return null;
}

function illegal(key: string, problem: string): never {
  throw new ProtocolError("negotiation", `${key}: ${problem}`);
}

/**
 * Originator side: the negotiated result of our `offered` value and the peer's `answer`.
 * Reject / Irrelevant / NotUnderstood leave the key at its RFC default (returned). An answer the
 * rules forbid throws ProtocolError("negotiation", "<Key>: ..."): a list answer that was not
 * offered, Yes to an AND offer of No, No to an OR offer of Yes, a min answer above (max answer
 * below) the offer, a value out of range or malformed.
 */
export function resolveAnswer(key: string, offered: string, answer: string): string {
  const d = KEYS[key];
  if (!d) return answer;
  if (isReservedValue(answer)) return d.defaultValue;
  switch (d.kind) {
    case "list": {
      if (!listItems(offered).includes(answer) || answer.includes(",")) {
        illegal(key, `answer "${answer}" is not one of the offered values "${offered}"`);
      }
      return answer;
    }
    case "and":
    case "or": {
      if (!isBoolean(answer)) illegal(key, `answer "${answer}" is not Yes or No`);
      if (d.kind === "and" && offered === "No" && answer === "Yes") {
        illegal(key, "answer Yes to an offer of No (the result function is AND)");
      }
      if (d.kind === "or" && offered === "Yes" && answer === "No") {
        illegal(key, "answer No to an offer of Yes (the result function is OR)");
      }
      return answer;
    }
    case "min":
    case "max": {
      const n = parseNumeric(answer);
      if (n === null) illegal(key, `answer "${answer}" is not a number`);
      if (!inRange(d, n)) illegal(key, `answer ${answer} is outside ${rangeText(d)}`);
      const o = parseNumeric(offered);
      if (o !== null) {
        if (d.kind === "min" && n > o)
          illegal(key, `answer ${n} is above the offered ${o} (the result function is minimum)`);
        if (d.kind === "max" && n < o)
          illegal(key, `answer ${n} is below the offered ${o} (the result function is maximum)`);
      }
      return String(n);
    }
    case "declarative": {
      if (d.range) {
        const n = parseNumeric(answer);
        if (n === null || !inRange(d, n))
          illegal(key, `value "${answer}" is not a number in ${rangeText(d)}`);
        return String(n);
      }
      if (d.values && !d.values.includes(answer))
        illegal(key, `value "${answer}" is not one of ${d.values.join(", ")}`);
      return answer;
    }
  }
}

function parseBooleanParam(key: string, value: string): boolean {
  if (value === "Yes") return true;
  if (value === "No") return false;
  return illegal(key, `"${value}" is not Yes or No`);
}

function parseNumberParam(key: string, value: string): number {
  const d = KEYS[key]!;
  const n = parseNumeric(value);
  if (n === null) illegal(key, `"${value}" is not a number`);
  if (!inRange(d, n)) illegal(key, `${value} is outside ${rangeText(d)}`);
  return n;
}

function parseDigestParam(key: string, value: string): boolean {
  if (value === "CRC32C") return true;
  if (value === "None") return false;
  return illegal(key, `"${value}" is not CRC32C or None`);
}

/**
 * Applies one negotiated key=value to `params`: numbers parsed (ProtocolError when malformed or
 * out of range), Yes/No to booleans, digests CRC32C to true. Reserved answers (Reject,
 * Irrelevant, NotUnderstood) and keys outside OperationalParams are ignored. `side` says whose
 * MaxRecvDataSegmentLength it is: "local" = what we declared, "peer" (default) = what the peer
 * declared. FirstBurstLength is kept <= MaxBurstLength (RFC 7143 13.14).
 */
export function applyParam(
  params: OperationalParams,
  key: string,
  value: string,
  side: "local" | "peer" = "peer",
): void {
  if (isReservedValue(value)) return;
  switch (key) {
    case "HeaderDigest":
      params.headerDigest = parseDigestParam(key, value);
      return;
    case "DataDigest":
      params.dataDigest = parseDigestParam(key, value);
      return;
    case "MaxRecvDataSegmentLength":
      if (side === "local") params.maxRecvDataSegmentLength = parseNumberParam(key, value);
      else params.peerMaxRecvDataSegmentLength = parseNumberParam(key, value);
      return;
    case "MaxBurstLength":
      params.maxBurstLength = parseNumberParam(key, value);
      if (params.firstBurstLength > params.maxBurstLength) params.firstBurstLength = params.maxBurstLength;
      return;
    case "FirstBurstLength":
      params.firstBurstLength = Math.min(parseNumberParam(key, value), params.maxBurstLength);
      return;
    case "InitialR2T":
      params.initialR2T = parseBooleanParam(key, value);
      return;
    case "ImmediateData":
      params.immediateData = parseBooleanParam(key, value);
      return;
    case "MaxOutstandingR2T":
      params.maxOutstandingR2T = parseNumberParam(key, value);
      return;
    case "DataPDUInOrder":
      params.dataPDUInOrder = parseBooleanParam(key, value);
      return;
    case "DataSequenceInOrder":
      params.dataSequenceInOrder = parseBooleanParam(key, value);
      return;
    case "DefaultTime2Wait":
      params.defaultTime2Wait = parseNumberParam(key, value);
      return;
    case "DefaultTime2Retain":
      params.defaultTime2Retain = parseNumberParam(key, value);
      return;
    case "ErrorRecoveryLevel":
      params.errorRecoveryLevel = parseNumberParam(key, value);
      return;
    case "MaxConnections":
      params.maxConnections = parseNumberParam(key, value);
      return;
    default:
      return;
  }
}

/** Enforces the cross-key rule after negotiation: FirstBurstLength <= MaxBurstLength (RFC 7143 13.14). */
export function finalizeParams(params: OperationalParams): void {
  if (params.firstBurstLength > params.maxBurstLength) params.firstBurstLength = params.maxBurstLength;
}

const yesNo = (b: boolean): string => (b ? "Yes" : "No");

function checkWanted(key: string, n: number): string {
  const d = KEYS[key]!;
  if (!Number.isInteger(n) || !inRange(d, n)) throw new InputError(`${key}: ${n} is outside ${rangeText(d)}`);
  return String(n);
}

/**
 * The operational keys an initiator offers for `want`, in RFC text form. Digests are offered as
 * "CRC32C,None" when wanted (the target may still choose None; check the result) and "None"
 * otherwise. InitialR2T/ImmediateData come before the burst keys, MaxBurstLength before
 * FirstBurstLength (offered <= MaxBurstLength, and left out when irrelevant). A Discovery session
 * offers only the keys relevant to it. InputError when a wanted number is out of range.
 */
export function operationalOffer(
  want: OperationalParams,
  sessionType: "Normal" | "Discovery" = "Normal",
): TextPairs {
  const pairs: TextPairs = [
    ["HeaderDigest", want.headerDigest ? "CRC32C,None" : "None"],
    ["DataDigest", want.dataDigest ? "CRC32C,None" : "None"],
    ["MaxRecvDataSegmentLength", checkWanted("MaxRecvDataSegmentLength", want.maxRecvDataSegmentLength)],
  ];
  if (sessionType === "Discovery") return pairs;
  pairs.push(["InitialR2T", yesNo(want.initialR2T)], ["ImmediateData", yesNo(want.immediateData)]);
  const mbl = Number(checkWanted("MaxBurstLength", want.maxBurstLength));
  pairs.push(["MaxBurstLength", String(mbl)]);
  if (!(want.initialR2T && !want.immediateData)) {
    checkWanted("FirstBurstLength", want.firstBurstLength);
    pairs.push(["FirstBurstLength", String(Math.min(want.firstBurstLength, mbl))]);
  }
  pairs.push(
    ["DefaultTime2Wait", checkWanted("DefaultTime2Wait", want.defaultTime2Wait)],
    ["DefaultTime2Retain", checkWanted("DefaultTime2Retain", want.defaultTime2Retain)],
    ["MaxOutstandingR2T", checkWanted("MaxOutstandingR2T", want.maxOutstandingR2T)],
    ["DataPDUInOrder", yesNo(want.dataPDUInOrder)],
    ["DataSequenceInOrder", yesNo(want.dataSequenceInOrder)],
    ["ErrorRecoveryLevel", checkWanted("ErrorRecoveryLevel", want.errorRecoveryLevel)],
    ["MaxConnections", checkWanted("MaxConnections", want.maxConnections)],
  );
  return pairs;
}

/** The target's preference for `key` from its policy (undefined: the key's localDefault). */
function policyValue(key: string, policy: OperationalParams, params: OperationalParams): string | undefined {
  switch (key) {
    case "HeaderDigest":
      return policy.headerDigest ? "CRC32C,None" : "None";
    case "DataDigest":
      return policy.dataDigest ? "CRC32C,None" : "None";
    case "InitialR2T":
      return yesNo(policy.initialR2T);
    case "ImmediateData":
      return yesNo(policy.immediateData);
    case "DataPDUInOrder":
      return yesNo(policy.dataPDUInOrder);
    case "DataSequenceInOrder":
      return yesNo(policy.dataSequenceInOrder);
    case "MaxBurstLength":
      return String(policy.maxBurstLength);
    case "FirstBurstLength":
      // RFC 7143 13.14: FirstBurstLength MUST NOT exceed MaxBurstLength.
      return String(Math.min(policy.firstBurstLength, params.maxBurstLength, policy.maxBurstLength));
    case "MaxOutstandingR2T":
      return String(policy.maxOutstandingR2T);
    case "DefaultTime2Wait":
      return String(policy.defaultTime2Wait);
    case "DefaultTime2Retain":
      return String(policy.defaultTime2Retain);
    case "ErrorRecoveryLevel":
      return String(policy.errorRecoveryLevel);
    case "MaxConnections":
      return String(policy.maxConnections);
    default:
      return undefined;
  }
}

/** Keys whose results others depend on are decided first (InitialR2T/ImmediateData decide whether
 * FirstBurstLength is relevant; MaxBurstLength bounds FirstBurstLength). */
function priority(key: string): number {
  if (key === "InitialR2T" || key === "ImmediateData") return 0;
  if (key === "MaxBurstLength") return 1;
  return 2;
}

/**
 * Target side: answers a whole set of keys an initiator offered in one login (or text) request
 * for a session of `sessionType`, updating `params` with each result. `policy` holds what the
 * target supports/prefers; `params` should start from the RFC defaults (DEFAULT_PARAMS) so that
 * keys the initiator does not offer keep their RFC default. Returns the reply pairs in offer
 * order, followed by the target's own MaxRecvDataSegmentLength declaration (made when the
 * initiator declared its own, or when ours is not the default 8192; pass `declared` to make it
 * only once across several requests).
 * - Declaratives from the initiator (InitiatorName, InitiatorAlias, SessionType, TargetName) get
 *   no answer: the login state machine handles them. Its MaxRecvDataSegmentLength is recorded as
 *   params.peerMaxRecvDataSegmentLength; out of range -> ProtocolError("negotiation").
 * - Unknown and vendor (X-, X#) keys: NotUnderstood. Obsolete marker keys: Reject.
 * - Keys only a target sends, security keys and SendTargets: Irrelevant.
 * - A key offered twice in the set: ProtocolError("negotiation") (RFC 7143 6.2).
 */
export function answerOffers(
  offers: TextPairs,
  policy: OperationalParams,
  params: OperationalParams,
  sessionType: "Normal" | "Discovery",
  declared?: Set<string>,
): TextPairs {
  const seen = new Set<string>();
  for (const [k] of offers) {
    if (seen.has(k)) illegal(k, "offered more than once");
    seen.add(k);
  }
  const answers: Array<string | null> = new Array(offers.length).fill(null);
  const order = offers
    .map((_, i) => i)
    .sort((a, b) => priority(offers[a]![0]) - priority(offers[b]![0]) || a - b);
  let peerDeclaredMrdsl = false;
  for (const i of order) {
    const [key, value] = offers[i]!;
    const d = KEYS[key];
    if (!d) {
      answers[i] = NOT_UNDERSTOOD;
      continue;
    }
    if (d.use === "SEC" || d.use === "FFPO" || d.senders === "T") {
      answers[i] = IRRELEVANT;
      continue;
    }
    if (d.kind === "declarative" && !d.obsolete) {
      if (key === "MaxRecvDataSegmentLength") {
        applyParam(params, key, resolveAnswer(key, value, value), "peer");
        peerDeclaredMrdsl = true;
      }
      continue; // nothing to answer
    }
    const ctx: NegotiationContext = {
      sessionType,
      initialR2T: params.initialR2T,
      immediateData: params.immediateData,
    };
    const answer = answerOffer(key, value, policyValue(key, policy, params), ctx);
    applyParam(params, key, answer, "local");
    answers[i] = answer;
  }
  finalizeParams(params);
  const reply: TextPairs = [];
  offers.forEach(([key], i) => {
    const a = answers[i];
    if (a !== null && a !== undefined) reply.push([key, a]);
  });
  const mrdsl = "MaxRecvDataSegmentLength";
  if ((peerDeclaredMrdsl || policy.maxRecvDataSegmentLength !== 8192) && !declared?.has(mrdsl)) {
    const ours = checkWanted(mrdsl, policy.maxRecvDataSegmentLength);
    reply.push([mrdsl, ours]);
    params.maxRecvDataSegmentLength = Number(ours);
    declared?.add(mrdsl);
  }
  return reply;
}
