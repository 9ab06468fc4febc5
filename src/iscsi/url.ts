/**
 * The iSCSI URL of libiscsi: iscsi://[user[%secret]@]host[:port][/<target-iqn>[/<lun>]][?args]
 * with the IPv6 literal in brackets and port 3260 by default. Query arguments (as libiscsi):
 * target_user / target_password for mutual CHAP, header_digest=crc32c|none.
 * Secrets never appear in an error message or in a formatted URL.
 */
import { isIPv4, isIPv6 } from "node:net";
import { InputError } from "../common/errors.js";
import { iscsiNameProblem } from "./names.js";

export interface IscsiUrl {
  host: string;
  port: number;
  targetName: string | null;
  lun: number | null;
  user: string | null;
  secret: string | null;
  targetUser: string | null;
  targetSecret: string | null;
  /** header_digest=crc32c|none from the query, when given. */
  headerDigest?: boolean;
}

export const DEFAULT_ISCSI_PORT = 3260;
export const MAX_LUN = 16383;

/** Environment variables read for secrets (ours first, then libiscsi's). */
export const SECRET_ENV = ["ISCSI_BENCH_CHAP_SECRET", "LIBISCSI_CHAP_PASSWORD"] as const;
export const TARGET_SECRET_ENV = "LIBISCSI_CHAP_TARGET_PASSWORD";
export const USER_ENV = "LIBISCSI_CHAP_USERNAME";
export const TARGET_USER_ENV = "LIBISCSI_CHAP_TARGET_USERNAME";

const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Text we may quote back in a message: it cannot carry a piece of a secret unnoticed. */
const SHOWABLE_RE = /^[A-Za-z0-9.\-_:[\]]{1,80}$/;

function show(text: string): string {
  return SHOWABLE_RE.test(text) ? ` "${text}"` : "";
}

/**
 * Parses an iSCSI URL. `need.target` / `need.lun` say what must be present (discovery needs
 * only host[:port]). When the URL has a user but no secret, the secret comes from
 * ISCSI_BENCH_CHAP_SECRET or LIBISCSI_CHAP_PASSWORD; the user may come from
 * LIBISCSI_CHAP_USERNAME. Mutual CHAP: ?target_user=..&target_password=.. or
 * LIBISCSI_CHAP_TARGET_USERNAME / LIBISCSI_CHAP_TARGET_PASSWORD.
 * Throws InputError("iscsi URL: <part>: <problem>"), never quoting a secret.
 */
export function parseIscsiUrl(
  text: string,
  need: { target: boolean; lun: boolean },
  env: NodeJS.ProcessEnv = process.env,
): IscsiUrl {
  const secrets: string[] = [];
  const fail = (part: string, problem: string): never => {
    // Quoted echoes of the input must not carry a secret (belt and braces: show() already
    // refuses text with '%', '@', '?' ...).
    const safe = problem.replace(/"[^"]*"/g, (quoted) =>
      secrets.some((s) => s.length > 0 && quoted.includes(s)) ? '"***"' : quoted,
    );
    throw new InputError(`iscsi URL: ${part}: ${safe}`);
  };

  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (!m) fail("scheme", "must start with iscsi://");
  if (m![1]!.toLowerCase() !== "iscsi") fail("scheme", `must be iscsi:// (got ${m![1]!.toLowerCase()}://)`);
  let rest = text.slice(m![0].length);

  // Query arguments (libiscsi splits at the first '?').
  let query: string | null = null;
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }

  // Userinfo: up to the last '@' (target names cannot contain '@', a secret may).
  let user: string | null = null;
  let secret: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    // libiscsi: '%' separates user and secret, ':' when there is no '%'.
    let sep = userinfo.indexOf("%");
    if (sep < 0) sep = userinfo.indexOf(":");
    if (sep >= 0) {
      user = userinfo.slice(0, sep);
      secret = userinfo.slice(sep + 1);
      secrets.push(secret);
      if (secret.length === 0) fail("secret", "empty after '%'");
    } else {
      user = userinfo;
    }
    if (user.length === 0) fail("user", "empty before '@'");
  }

  let targetUser: string | null = null;
  let targetSecret: string | null = null;
  let headerDigest: boolean | undefined;
  if (query !== null && query.length > 0) {
    const seen = new Set<string>();
    for (const arg of query.split("&")) {
      if (arg.length === 0) continue;
      const eq = arg.indexOf("=");
      const key = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? "" : arg.slice(eq + 1);
      if (key === "target_password") secrets.push(value);
      if (seen.has(key)) fail("query", `argument${show(key)} given twice`);
      seen.add(key);
      if (key === "target_user") {
        if (value.length === 0) fail("query", "target_user is empty");
        targetUser = decodePart(value, "target_user", fail);
      } else if (key === "target_password") {
        if (value.length === 0) fail("query", "target_password is empty");
        targetSecret = value;
      } else if (key === "header_digest") {
        if (value !== "crc32c" && value !== "none") fail("query", "header_digest must be crc32c or none");
        headerDigest = value === "crc32c";
      } else {
        fail("query", `unknown argument${show(key)} (known: target_user, target_password, header_digest)`);
      }
    }
  }

  // host[:port] up to the first '/'.
  const slash = rest.indexOf("/");
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : "";
  let host: string;
  let portText: string | null = null;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) fail("host", "IPv6 address misses ']'");
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(":")) fail("host", "expected ':' after the IPv6 address");
      portText = after.slice(1);
    }
    if (host.includes("%")) fail("host", "IPv6 zone identifiers are not supported");
    if (!isIPv6(host)) fail("host", `not an IPv6 address${show(host)}`);
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      host = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
      if (host.includes(":")) fail("host", "an IPv6 address must be written in brackets, e.g. [::1]");
    } else {
      host = authority;
    }
    if (host.length === 0) fail("host", "missing");
    if (!isIPv4(host) && !HOSTNAME_RE.test(host)) fail("host", `not a host name or address${show(host)}`);
  }
  let port = DEFAULT_ISCSI_PORT;
  if (portText !== null) {
    if (!/^[0-9]{1,5}$/.test(portText)) fail("port", `must be a number 1..65535${show(portText)}`);
    port = Number(portText);
    if (port < 1 || port > 65535) fail("port", `must be 1..65535 (got ${port})`);
  }

  // /<target>/<lun>
  const parts = path.length === 0 ? [] : path.split("/");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop(); // one trailing '/'
  if (parts.length > 2) fail("path", "unexpected part after /<target>/<lun>");
  let targetName: string | null = null;
  let lun: number | null = null;
  if (parts.length >= 1) {
    const t = decodePart(parts[0]!, "target name", fail);
    if (t.length === 0) fail("target name", "empty");
    const problem = iscsiNameProblem(t);
    if (problem !== null) fail("target name", `"${t}" ${problem}`);
    targetName = t;
  }
  if (parts.length === 2) {
    const l = parts[1]!;
    if (!/^[0-9]{1,5}$/.test(l) || Number(l) > MAX_LUN)
      fail("LUN", `must be an integer 0..${MAX_LUN}${show(l)}`);
    lun = Number(l);
  }
  if (need.target && targetName === null)
    fail("target name", "missing (iscsi://host[:port]/<target-iqn>/<lun>)");
  if (need.lun && lun === null) fail("LUN", "missing (iscsi://host[:port]/<target-iqn>/<lun>)");

  // Credentials from the environment.
  let envSecret: string | null = null;
  for (const name of SECRET_ENV) {
    const v = env[name];
    if (v) {
      envSecret = v;
      break;
    }
  }
  if (user === null && envSecret !== null && env[USER_ENV]) user = env[USER_ENV]; // libiscsi: both from env
  if (user !== null && secret === null) {
    secret = envSecret;
    if (secret === null) {
      fail(
        "secret",
        `user given but no CHAP secret (write user%secret@, pass --chap-secret-file or set ${SECRET_ENV[0]})`,
      );
    }
  }
  if (targetUser === null) {
    const envTargetUser = env[TARGET_USER_ENV];
    if (envTargetUser) targetUser = envTargetUser;
  }
  if (targetSecret !== null && targetUser === null) fail("query", "target_password needs target_user");
  if (targetUser !== null && targetSecret === null) {
    const v = env[TARGET_SECRET_ENV];
    if (v) targetSecret = v;
    else if (query?.includes("target_user=")) {
      fail(
        "query",
        `target_user given but no target secret (add target_password= or set ${TARGET_SECRET_ENV})`,
      );
    } else {
      targetUser = null; // a stray LIBISCSI_CHAP_TARGET_USERNAME alone does not ask for mutual CHAP
    }
  }
  if (targetUser !== null && user === null)
    fail("query", "mutual CHAP (target_user) needs a user for one-way CHAP");

  const url: IscsiUrl = { host, port, targetName, lun, user, secret, targetUser, targetSecret };
  if (headerDigest !== undefined) url.headerDigest = headerDigest;
  return url;
}

function decodePart(text: string, part: string, fail: (part: string, problem: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(part, "bad %-encoding");
  }
}

/** iscsi://[user@]host:port[/target[/lun]][?target_user=..]: never includes a secret. */
export function formatIscsiUrl(url: IscsiUrl): string {
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  let s = "iscsi://";
  if (url.user) s += `${encodeURIComponent(url.user)}@`;
  s += `${host}:${url.port}`;
  if (url.targetName !== null) {
    s += `/${url.targetName}`;
    if (url.lun !== null) s += `/${url.lun}`;
  }
  if (url.targetUser) s += `?target_user=${encodeURIComponent(url.targetUser)}`;
  return s;
}

const REDACTIONS: Array<[RegExp, string]> = [
  // scheme://user%secret@ or scheme://user:secret@ (secret up to the last '@' of the token)
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s@/%:?]*)[%:]\S*@/gi, "$1%***@"],
  // user%secret@host written without a scheme
  [/(^|[\s"'=(<])([A-Za-z0-9._-]+)%[^\s@]+@(?=[A-Za-z0-9[])/g, "$1$2%***@"],
  [/(target_password=)[^&\s"']*/gi, "$1***"],
  [/\b((?:ISCSI_BENCH_CHAP_SECRET|LIBISCSI_CHAP_PASSWORD|LIBISCSI_CHAP_TARGET_PASSWORD)=)\S*/g, "$1***"],
];

/** Hides every user%secret (or user:secret) of a URL and every target_password=... in free text. */
export function redactUrl(text: string): string {
  let out = text;
  for (const [re, replacement] of REDACTIONS) out = out.replace(re, replacement);
  return out;
}
