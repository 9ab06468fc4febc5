/**
 * Options every initiator command shares (--initiator-name, digests, --timeout, --json, --debug)
 * and how an iSCSI URL becomes session/discovery options.
 */

import { InputError } from "../common/errors.js";
import type { ChapCredentials } from "../iscsi/chap.js";
import { defaultInitiatorName, validateIscsiName } from "../iscsi/names.js";
import type { IscsiUrl } from "../iscsi/url.js";
import { parseDuration } from "../workload/units.js";

/** The raw option values commander hands over. */
export interface CommonCliOptions {
  initiatorName?: string;
  headerDigest?: boolean;
  dataDigest?: boolean;
  timeout?: string;
  json?: boolean;
  debug?: boolean;
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

/** CHAP credentials from a parsed URL (user/secret, mutual via target_user/target_password). */
export function chapFromUrl(url: IscsiUrl): ChapCredentials | undefined {
  if (url.user === null) {
    if (url.secret !== null) throw new InputError("URL: a CHAP secret was given without a user");
    return undefined;
  }
  if (url.secret === null || url.secret === "")
    throw new InputError(
      "URL: CHAP user given without a secret (put it after % or in ISCSI_BENCH_CHAP_SECRET)",
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
