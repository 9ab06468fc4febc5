/**
 * Fault-injection and observation hooks of a PDU transport (issue 10: stalls, dropped responses,
 * corrupt digests; later link shaping and statistics). The transport keeps one HookState while any
 * hook is armed and none otherwise, so a transport without hooks pays one null check per PDU.
 */
import type { Pdu } from "../iscsi/pdu.js";

/**
 * Called once for every outgoing PDU, before it is encoded, in send order. Return true to send it,
 * false to drop it: it is then never encoded, written, held or counted as sent (counters.pdusDropped
 * counts it). `pdu` and `data` (its data segment, or null for a PDU type without one) are the
 * caller's objects, valid only during the call: the sender may reuse them. The hook may call the
 * transport (hold, destroy, ...); the PDU is not sent when the hook closed the transport.
 */
export type SendHook = (pdu: Pdu, data: Buffer | null) => boolean;

/** What is armed on one transport. Owned by PduTransport; not for use elsewhere. */
export class HookState {
  sendHook: SendHook | null = null;
  /** While holding: the encoded chunks of the held PDUs, in send order. */
  held: Buffer[] | null = null;
  heldPdus = 0;
  heldBytes = 0;
  corruptDataDigest = false;

  get idle(): boolean {
    return this.sendHook === null && this.held === null && !this.corruptDataDigest;
  }
}
