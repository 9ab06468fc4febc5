/**
 * The target's network portal: a TCP server, its connections, the session registry (TSIH
 * allocation, session reinstatement by InitiatorName+ISID, RFC 7143 6.3.5; session-registry.ts),
 * the limits (--max-sessions, --max-connections) and the fault injector. Any number of concurrent
 * sessions up to the limit; a connection's failure never touches another.
 */
import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import type { TextPairs } from "../iscsi/text.js";
import { type Acl, createAcl, isAllowed } from "./acl.js";
import { FaultInjector } from "./fault-injector.js";
import { formatFault } from "./faults.js";
import type { LogicalUnit, LuContext } from "./logical-unit.js";
import type { ResolvedTargetOptions } from "./options.js";
import { SessionRegistry } from "./session-registry.js";
import { type ConnectionHost, TargetConnection } from "./target-connection.js";
import { type LoginIdentity, LoginStatus } from "./target-login.js";
import type { TargetSession } from "./target-session.js";

export const PORTAL_GROUP_TAG = 1;

export class Portal implements ConnectionHost {
  readonly acl: Acl;
  private readonly server: Server;
  private readonly connections = new Set<TargetConnection>();
  /** Connections in the full feature phase, counted against --max-connections. */
  private readonly loggedIn = new Set<TargetConnection>();
  readonly sessions: SessionRegistry<TargetConnection>;
  readonly faults: FaultInjector | null;
  private boundHost = "";
  private boundPort = 0;

  constructor(
    readonly config: ResolvedTargetOptions,
    private readonly luns: ReadonlyArray<LogicalUnit>,
    readonly luCtx: LuContext,
    private readonly logLine: (line: string) => void = () => {},
  ) {
    this.acl = createAcl(config.allow);
    this.sessions = new SessionRegistry({
      maxSessions: config.maxSessions,
      commandWindow: config.commandWindow,
    });
    this.faults =
      config.faults.length === 0
        ? null
        : new FaultInjector(config.faults, config.faultSeed, (line) => this.log(line));
    if (config.faults.length > 0) {
      this.log(`faults: ${config.faults.map(formatFault).join("; ")} (seed ${config.faultSeed})`);
    }
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

  log(line: string): void {
    this.logLine(line);
  }

  private onConnection(socket: Socket): void {
    // a flood of connections that never log in: beyond twice the limit they are not even read
    if (this.connections.size >= 2 * this.config.maxConnections) {
      this.log(
        `refusing a connection from ${socket.remoteAddress}: ${this.connections.size} connections open`,
      );
      socket.destroy();
      return;
    }
    const conn = new TargetConnection(socket, this);
    this.connections.add(conn);
  }

  lu(lun: number): LogicalUnit | undefined {
    return this.luns[lun];
  }

  admit(
    identity: LoginIdentity,
    conn: TargetConnection,
  ): { session: TargetSession<TargetConnection> } | { status: number } {
    const max = this.config.maxConnections;
    if (this.loggedIn.size >= max && !this.loggedIn.has(conn)) {
      const old = identity.tsih === 0 ? this.sessions.find(identity.initiatorName, identity.isid) : undefined;
      // a reinstatement frees the old session's connection, so it may take its place
      if (old === undefined || old.connections.size === 0) {
        this.log(`login refused: ${conn.remote}: ${max} connections already (--max-connections)`);
        return { status: LoginStatus.TooManyConnections };
      }
    }
    const r = this.sessions.admit(identity, conn);
    if ("status" in r) {
      this.log(`login refused: ${conn.remote} (${identity.initiatorName}): ${r.reason}`);
      return r;
    }
    this.loggedIn.add(conn);
    return r;
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
    this.loggedIn.delete(conn);
    const session = conn.targetSession;
    if (session !== null) this.sessions.connectionClosed(session, conn);
  }

  /** Stops accepting, closes every connection. */
  async close(): Promise<void> {
    this.faults?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.destroy();
    await closed;
  }
}
