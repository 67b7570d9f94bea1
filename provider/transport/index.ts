import * as path from "path";
import { Host } from "../schema-types";
import { Issues } from "../model/errors";
import { LocalTransport } from "./local";
import { Transport } from "./transport";

export { Transport, TransportError } from "./transport";
export { LocalTransport } from "./local";
export { MemoryTransport } from "./memory";

/** Checks a host spec; the root of a local host is made absolute against the provider's working folder. */
export function normalizeHost(issues: Issues, field: string, host: unknown): Host {
  if (!host || typeof host !== "object") {
    issues.add(field, host, "must be an object with `root` (a local folder) or `ssh`");
    return {};
  }
  const h = host as Host;
  if (h.ssh && h.root) issues.add(field, "root+ssh", "give either `root` (local) or `ssh`, not both");
  if (h.ssh) {
    issues.add(`${field}.ssh`, h.ssh.host, "SSH hosts are not supported yet (local target folders only)");
    return h;
  }
  if (h.root !== undefined && (typeof h.root !== "string" || h.root === "" || /[\n\0"'`]/.test(h.root))) {
    issues.add(`${field}.root`, h.root, "must be a folder path");
    return h;
  }
  return { ...h, root: h.root === undefined ? undefined : path.resolve(h.root) };
}

/** A stable key for one host (so resources can share a transport). */
export function hostKey(h: Host): string {
  return h.ssh ? `ssh:${h.ssh.user ?? "root"}@${h.ssh.host}:${h.ssh.port ?? 22}` : `local:${h.root ?? "/"}`;
}

/** The full path a rendered config must name for `p` on host `h` (below `root` for local target folders). */
export function hostPath(h: Host, p: string): string {
  return h.ssh || !h.root ? p : path.posix.join(h.root, p);
}

const cache = new Map<string, Transport>();

export function transportFor(h: Host): Transport {
  const key = hostKey(h);
  let t = cache.get(key);
  if (!t) {
    if (h.ssh) throw new Error(`SSH hosts are not supported yet: ${key}`);
    t = new LocalTransport(h.root);
    cache.set(key, t);
  }
  return t;
}
