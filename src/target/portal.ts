/**
 * The target's network portal: a TCP server, its connections, and the session registry (TSIH
 * allocation, session reinstatement by InitiatorName+ISID, RFC 7143 6.3.5). Any number of
 * concurrent sessions; a connection's failure never touches another.
 */
import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import type { TextPairs } from "../iscsi/text.js";
import { type Acl, createAcl, isAllowed } from "./acl.js";
import type { LogicalUnit, LuContext } from "./logical-unit.js";
import type { ResolvedTargetOptions } from "./options.js";
import { type ConnectionHost, sessionKey, TargetConnection } from "./target-connection.js";
import { type LoginIdentity, LoginStatus } from "./target-login.js";

export const PORTAL_GROUP_TAG = 1;

export class Portal implements ConnectionHost {
  readonly acl: Acl;
  private readonly server: Server;
  private readonly connections = new Set<TargetConnection>();
  private readonly sessions = new Map<string, TargetConnection>();
  private readonly byTsih = new Map<number, TargetConnection>();
  private nextTsih = 1;
  private boundHost = "";
  private boundPort = 0;

  constructor(
    readonly config: ResolvedTargetOptions,
    private readonly luns: ReadonlyArray<LogicalUnit>,
    readonly luCtx: LuContext,
  ) {
    this.acl = createAcl(config.allow);
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on("error", () => {});
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off("error", onError);
        const addr = this.server.address();
        if (addr !== null && typeof addr === "object") {
          this.boundHost = addr.address;
          this.boundPort = addr.port;
        }
        resolve({ host: this.boundHost, port: this.boundPort });
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private onConnection(socket: Socket): void {
    const conn = new TargetConnection(socket, this);
    this.connections.add(conn);
  }

  lu(lun: number): LogicalUnit | undefined {
    return this.luns[lun];
  }

  admit(identity: LoginIdentity, conn: TargetConnection): { tsih: number } | { status: number } {
    if (identity.tsih !== 0) {
      // adding a connection to an existing session: MaxConnections=1 (RFC 7143 6.3.4)
      return {
        status: this.byTsih.has(identity.tsih)
          ? LoginStatus.TooManyConnections
          : LoginStatus.SessionDoesNotExist,
      };
    }
    const key = sessionKey(identity.initiatorName, identity.isid);
    const old = this.sessions.get(key);
    if (old !== undefined && old !== conn) {
      // session reinstatement (RFC 7143 6.3.5): the old session is closed, its tasks dropped
      old.destroy();
    }
    let tsih = this.nextTsih;
    for (let i = 0; i < 0xffff && (tsih === 0 || this.byTsih.has(tsih)); i++) tsih = (tsih + 1) & 0xffff;
    if (tsih === 0 || this.byTsih.has(tsih)) return { status: LoginStatus.OutOfResources };
    this.nextTsih = (tsih + 1) & 0xffff || 1;
    this.sessions.set(key, conn);
    this.byTsih.set(tsih, conn);
    return { tsih };
  }

  /** Every address a client can reach this portal at: TargetAddress=ip:port,tpgt (IPv6 bracketed). */
  portalAddresses(): string[] {
    const hosts: string[] = [];
    if (this.boundHost === "0.0.0.0" || this.boundHost === "::") {
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) {
          if (this.boundHost === "0.0.0.0" && a.family !== "IPv4") continue;
          hosts.push(a.address);
        }
      }
    } else {
      hosts.push(this.boundHost);
    }
    return hosts.map((h) => `${h.includes(":") ? `[${h}]` : h}:${this.boundPort},${PORTAL_GROUP_TAG}`);
  }

  sendTargets(initiatorName: string, value: string, normalSession: boolean): TextPairs {
    const iqn = this.config.iqn;
    // RFC 7143 appendix C: "All" lists every target, "" the session's own, a name that target
    const wanted =
      value === "All" || (value === "" ? normalSession : value.toLowerCase() === iqn.toLowerCase());
    // the access list hides the target from initiators that may not log in to it
    if (!wanted || !isAllowed(this.acl, initiatorName)) return [];
    const pairs: TextPairs = [["TargetName", iqn]];
    for (const a of this.portalAddresses()) pairs.push(["TargetAddress", a]);
    return pairs;
  }

  resetTasks(lun: number, _origin: TargetConnection): void {
    for (const c of this.connections) c.abortTasks(lun);
  }

  closed(conn: TargetConnection): void {
    this.connections.delete(conn);
    const key = conn.sessionKey;
    if (key !== null && this.sessions.get(key) === conn) this.sessions.delete(key);
    if (conn.tsih !== 0 && this.byTsih.get(conn.tsih) === conn) this.byTsih.delete(conn.tsih);
  }

  /** Stops accepting, closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.destroy();
    await closed;
  }
}
