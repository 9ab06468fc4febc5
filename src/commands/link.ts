/**
 * `iscsi-bench link --listen <host:port> --to <host:port> --rate <spec>`: the link emulator alone,
 * so that any initiator (iscsi-perf, fio, the kernel's) can be measured through the same emulated
 * link as `run --link`. Prints where it listens, relays until SIGINT/SIGTERM, then prints what it
 * carried each way. Exit 0 after a clean stop, 2 on bad options, 1 when it cannot listen.
 */
import { InputError } from "../common/errors.js";
import { type RunningLink, startLink } from "../link/index.js";
import type { RelayStats } from "../link/relay.js";
import { type LinkSpec, parseLinkSpec } from "../link/spec.js";
import { describeLink } from "../report/table.js";
import { EXIT_OK, reportError } from "./exit.js";

export interface LinkCliOptions {
  listen?: string;
  to?: string;
  rate?: string;
}

export const DEFAULT_LINK_LISTEN = "127.0.0.1:3270";

/** "127.0.0.1:3270", "[::1]:3260", "host" (port `defaultPort`). */
export function parseHostPort(
  text: string,
  what: string,
  defaultPort: number | null,
): { host: string; port: number } {
  const t = text.trim();
  let host = t;
  let port: string | null = null;
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close < 0) throw new InputError(`${what}: "${text}": unterminated IPv6 address`);
    host = t.slice(1, close);
    const after = t.slice(close + 1);
    if (after.startsWith(":")) port = after.slice(1);
    else if (after !== "") throw new InputError(`${what}: "${text}": expected [address]:port`);
  } else if (t.split(":").length === 2) {
    [host, port] = t.split(":") as [string, string];
  } else if (t.includes(":")) {
    throw new InputError(`${what}: "${text}": put an IPv6 address in brackets: [address]:port`);
  }
  if (host === "") throw new InputError(`${what}: "${text}": expected host:port`);
  if (port === null) {
    if (defaultPort === null) throw new InputError(`${what}: "${text}": expected host:port`);
    return { host, port: defaultPort };
  }
  const n = /^\d+$/.test(port) ? Number(port) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) throw new InputError(`${what}: "${text}": port must be 0..65535`);
  return { host, port: n };
}

function specOf(text: string | undefined): LinkSpec {
  if (text === undefined) throw new InputError("--rate: expected a link such as 1gbit or 100mbit,delay=2ms");
  return parseLinkSpec(text, "--rate");
}

const kib = (b: number): string => `${Math.round(b / 1024)} KiB`;

function carried(s: RelayStats, seconds: number): string {
  const dir = (name: string, d: RelayStats["up"]): string =>
    `${name} ${(d.bytes / 1e6).toFixed(1)} MB (${seconds > 0 ? (d.bytes / 1e6 / seconds).toFixed(2) : "0"} MB/s average, ${d.queuePauses} queue-full pauses)`;
  return `carried over ${s.connections.accepted} connection(s) in ${seconds.toFixed(1)} s: ${dir("to the target", s.up)}; ${dir("from the target", s.down)}`;
}

export async function linkCommand(o: LinkCliOptions): Promise<number> {
  let link: RunningLink;
  try {
    const listen = parseHostPort(o.listen ?? DEFAULT_LINK_LISTEN, "--listen", null);
    if (o.to === undefined) throw new InputError("--to: expected the target's host:port");
    const to = parseHostPort(o.to, "--to", 3260);
    const spec = specOf(o.rate);
    link = await startLink({ listenHost: listen.host, listenPort: listen.port, to, spec });
    const d = describeLink({
      nominalBitsPerSec: spec.bitsPerSec,
      mtu: spec.mtu,
      delayMs: spec.delayMs,
      emulated: true,
      source: "iscsi-bench link",
    });
    process.stdout.write(
      `${link.host.includes(":") ? `[${link.host}]` : link.host}:${link.port} -> ${o.to.trim()}: ${d}, queue ${kib(link.queueBytes)} each way\n`,
    );
  } catch (err) {
    return reportError(err, false);
  }
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const on = (): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve();
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  try {
    const s = await link.stats();
    process.stdout.write(`${carried(s, (performance.now() - started) / 1000)}\n`);
  } finally {
    await link.stop();
  }
  return EXIT_OK;
}
