/**
 * Errors of the initiator: a refused login (with the target's status class/detail turned into a
 * plain message) and a failed session (connection lost, timeout, protocol violation by the target).
 */

/** Login status class/detail -> plain message (RFC 7143 11.13.5). */
const LOGIN_STATUS: Record<number, string> = {
  257: "target moved temporarily",
  258: "target moved permanently",
  512: "login refused: initiator error",
  513: "authentication failed",
  514: "not authorized to access the target (authorization failure)",
  515: "target not found",
  516: "target removed",
  517: "unsupported iSCSI version",
  518: "too many connections",
  519: "login refused: missing parameter",
  520: "login refused: cannot include this connection in the session",
  521: "login refused: session type not supported",
  522: "login refused: session does not exist",
  523: "login refused: request invalid during login",
  768: "login refused: target error",
  769: "target service unavailable",
  770: "target out of resources",
};

const CLASS_TEXT: Record<number, string> = {
  1: "login redirected",
  2: "login refused by the target (initiator error)",
  3: "login failed: target error",
};

function hex2(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

/** The plain message for a login status (class, detail). */
export function loginStatusMessage(statusClass: number, statusDetail: number): string {
  const known = LOGIN_STATUS[(statusClass << 8) | statusDetail];
  if (known !== undefined) return known;
  const base = CLASS_TEXT[statusClass] ?? "login failed";
  return `${base} (status class ${hex2(statusClass)}, detail ${hex2(statusDetail)})`;
}

/** The target refused the login. `message` is plain ("authentication failed", "target not found", ...). */
export class LoginError extends Error {
  override readonly name = "LoginError";
  constructor(
    readonly statusClass: number,
    readonly statusDetail: number,
    message: string = loginStatusMessage(statusClass, statusDetail),
  ) {
    super(message);
  }
}

/** The session failed: connection lost, timeout, protocol violation by the target. */
export class SessionError extends Error {
  override readonly name: string = "SessionError";
}

/**
 * The session could not be reinstated within the recovery timeout: the outstanding commands end
 * with this error. `waitedMs` is how long the initiator kept trying.
 */
export class RecoveryTimeoutError extends SessionError {
  override readonly name: string = "RecoveryTimeoutError";
  constructor(
    readonly waitedMs: number,
    readonly lastError: string,
  ) {
    super(
      waitedMs <= 0
        ? `${lastError} (recovery is off: recovery timeout 0)`
        : `no working session for ${(waitedMs / 1000).toFixed(1)} s: gave up recovering at the recovery timeout (last: ${lastError})`,
    );
  }
}
