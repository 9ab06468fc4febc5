/**
 * Access list of initiator names (the "igroup" idea): only listed initiators may open a Normal
 * session and see the LUNs. An empty list admits everyone. iSCSI names compare case-insensitively
 * (RFC 7143 4.2.7.1: names are normalized to lower case by stringprep).
 */
export interface Acl {
  readonly open: boolean;
  readonly names: ReadonlySet<string>;
}

export function createAcl(allow: readonly string[]): Acl {
  return { open: allow.length === 0, names: new Set(allow.map((n) => n.toLowerCase())) };
}

export function isAllowed(acl: Acl, initiatorName: string): boolean {
  return acl.open || acl.names.has(initiatorName.toLowerCase());
}
