/**
 * Typed errors of the protocol layer. Every message names the offending part (a PDU field,
 * a text key, a URL part) so the CLI can print it as a one-line error.
 */

export type ProtocolErrorKind =
  | "length" // a length field is impossible or exceeds what was negotiated
  | "headerDigest"
  | "dataDigest"
  | "opcode" // unknown or unexpected opcode
  | "field" // a field has a value the protocol forbids
  | "text" // malformed key=value text
  | "negotiation" // an illegal negotiation answer
  | "sequence"; // a sequence number or tag out of place

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    readonly kind: ProtocolErrorKind,
    message: string,
  ) {
    super(message);
  }
}
