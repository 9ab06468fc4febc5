/**
 * The one error a PDU transport reports to its owner (onError, then onClose). `kind` says which
 * part failed; a protocol failure keeps the framer's ProtocolError as `protocol`.
 */
import type { ProtocolError } from "../iscsi/errors.js";

export type TransportErrorKind =
  /** The byte stream cannot be framed any more (impossible length, header digest mismatch, RFC 7143 7.8). */
  | "framing"
  /** A well-framed PDU that cannot be used (data digest mismatch, unknown opcode, bad field) and the owner takes no malformed PDUs. */
  | "malformed"
  /** The socket failed (reset, refused, timed out). */
  | "socket";

export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    /** The framer's error for "framing" and "malformed". */
    readonly protocol: ProtocolError | null = null,
    /** The socket error's code (ECONNRESET, ...) for "socket", when it has one. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}
