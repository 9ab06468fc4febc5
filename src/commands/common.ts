/**
 * Options every initiator command shares (--initiator-name, digests, --timeout, --json, --debug,
 * --chap-secret-file) and how an iSCSI URL becomes session/discovery options.
 *
 * The CHAP secret, first found wins: the URL (user%secret@), --chap-secret-file, the environment
 * (ISCSI_BENCH_CHAP_SECRET, then libiscsi's LIBISCSI_CHAP_PASSWORD).
 */

import { InputError } from "../common/errors.js";
import { readUserFile } from "../common/read-file.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import { defaultInitiatorName, validateIscsiName } from "../iscsi/names.js";
import { type IscsiUrl, parseIscsiUrl, SECRET_ENV, USER_ENV } from "../iscsi/url.js";
import { parseDuration } from "../workload/units.js";

/** The raw option values commander hands over. */
export interface CommonCliOptions {
  initiatorName?: string;
  headerDigest?: boolean;
  dataDigest?: boolean;
  timeout?: string;
  json?: boolean;
  debug?: boolean;
  chapSecretFile?: string;
}

export interface CommonOptions {
  initiatorName: string;
  headerDigest: boolean;
  dataDigest: boolean;
  timeoutMs: number;
  json: boolean;
  debug: boolean;
}

export const DEFAULT_TIMEOUT_MS = 15000;

/** Validates the shared options; InputError naming the option at fault. */
export function resolveCommonOptions(o: CommonCliOptions): CommonOptions {
  const initiatorName = o.initiatorName ?? defaultInitiatorName();
  validateIscsiName(initiatorName, "--initiator-name");
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (o.timeout !== undefined) {
    timeoutMs = parseDuration(o.timeout, "--timeout");
    if (!(timeoutMs >= 1) || timeoutMs > 3_600_000)
      throw new InputError("--timeout: must be between 1 ms and 1 h");
  }
  return {
    initiatorName,
    headerDigest: o.headerDigest === true,
    dataDigest: o.dataDigest === true,
    timeoutMs,
    json: o.json === true,
    debug: o.debug === true,
  };
}

/** The most a CHAP secret file may hold (a secret is at most 255 bytes; room for a newline). */
const MAX_SECRET_FILE_BYTES = 4096;

/**
 * The CHAP secret in `path` (--chap-secret-file): the file's one line, a trailing newline
 * stripped. Errors name the file, never its content.
 */
export function readChapSecretFile(path: string): string {
  const what = `--chap-secret-file ${path}`;
  const text = readUserFile(
    path,
    "a file with the CHAP secret",
    (m) => new InputError(`--chap-secret-file ${m}`),
  );
  if (text.length > MAX_SECRET_FILE_BYTES) throw new InputError(`${what}: too large for a CHAP secret`);
  const secret = text.replace(/\r?\n$/, "");
  if (secret.length === 0) throw new InputError(`${what}: empty, expected the CHAP secret on one line`);
  if (/[\r\n]/.test(secret)) throw new InputError(`${what}: expected the CHAP secret on one line`);
  return secret;
}

/**
 * The environment the URL's secrets are read from, with --chap-secret-file's secret ahead of
 * the environment's own (the URL parser prefers a secret in the URL to both).
 */
export function secretEnvironment(
  chapSecretFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  if (chapSecretFile === undefined) return env;
  return { ...env, [SECRET_ENV[0]]: readChapSecretFile(chapSecretFile) };
}

/**
 * Parses a target/portal URL with the secrets of the file and the environment. A secret file
 * with no CHAP user (in the URL or LIBISCSI_CHAP_USERNAME) is an error, not silently unused.
 */
export function parseTargetUrl(
  text: string,
  need: { target: boolean; lun: boolean },
  chapSecretFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): IscsiUrl {
  const withSecret = secretEnvironment(chapSecretFile, env);
  const url = parseIscsiUrl(text, need, withSecret);
  if (chapSecretFile !== undefined && url.user === null) {
    throw new InputError(
      `--chap-secret-file: the URL names no CHAP user (iscsi://<user>@host/..., or set ${USER_ENV})`,
    );
  }
  return url;
}

/** CHAP credentials from a parsed URL (user/secret, mutual via target_user/target_password). */
export function chapFromUrl(url: IscsiUrl): ChapCredentials | undefined {
  if (url.user === null) {
    if (url.secret !== null) throw new InputError("URL: a CHAP secret was given without a user");
    return undefined;
  }
  if (url.secret === null || url.secret === "")
    throw new InputError(
      `URL: CHAP user given without a secret (put it after %, in --chap-secret-file or in ${SECRET_ENV[0]})`,
    );
  const chap: ChapCredentials = { user: url.user, secret: url.secret };
  if (url.targetSecret !== null && url.targetSecret !== "") {
    chap.targetSecret = url.targetSecret;
    if (url.targetUser !== null) chap.targetUser = url.targetUser;
  } else if (url.targetUser !== null) {
    throw new InputError("URL: target_user given without target_password (mutual CHAP needs both)");
  }
  return chap;
}
