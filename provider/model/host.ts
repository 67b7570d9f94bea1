/**
 * A host as resources name it (`{ root }`, `{}` or `{ ssh }`): validated, keyed and protected here, in the
 * model, so the transport layer below knows nothing of resources, issues or secrets.
 */
import * as path from "path";
import { Host } from "../schema-types";
import { isSecret, reveal, secret, UNKNOWN } from "../values";
import { checkSafe, Issues, PATH_MAX } from "./errors";

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;
const PRIVATE_KEY = /^-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----/;

/**
 * Checks a host spec; the root of a local host is made absolute against the provider's working folder.
 * A host may arrive as one secret (a component whose inputs hold the SSH key); it is unwrapped here, and
 * `protectHost` wraps only the private key again for state.
 */
export function normalizeHost(issues: Issues, field: string, host: unknown): Host {
  host = reveal(host);
  if (!host || typeof host !== "object") {
    issues.add(field, host, "must be an object with `root` (a local folder) or `ssh`");
    return {};
  }
  const h = host as Host;
  if (h.ssh && h.root) issues.add(field, "root+ssh", "give either `root` (local) or `ssh`, not both");
  if (h.ssh) {
    const s = h.ssh as any;
    const f = `${field}.ssh`;
    if (typeof s !== "object") {
      issues.add(f, s, "must be an object with host, privateKey and hostKey");
      return h;
    }
    if (s.host !== UNKNOWN && (typeof s.host !== "string" || !/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(s.host)))
      issues.add(`${f}.host`, s.host, "must be a host name or address");
    if (s.port !== undefined && s.port !== UNKNOWN && (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535))
      issues.add(`${f}.port`, s.port, "must be a TCP port 1-65535");
    if (s.user !== undefined && s.user !== UNKNOWN && (typeof s.user !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(s.user)))
      issues.add(`${f}.user`, s.user, "must be a user name");
    // The key itself is never echoed into an error message.
    if (s.privateKey !== UNKNOWN && (typeof s.privateKey !== "string" || !PRIVATE_KEY.test(s.privateKey.trim())))
      issues.add(`${f}.privateKey`, "(secret)", "must be a PEM/OpenSSH private key (-----BEGIN ... PRIVATE KEY-----), unencrypted");
    if (s.hostKey !== UNKNOWN && (typeof s.hostKey !== "string" || !HOST_KEY.test(s.hostKey.trim())))
      issues.add(`${f}.hostKey`, s.hostKey, "must be a public key line such as `ssh-ed25519 AAAA...` (from `ssh-keyscan` or /etc/ssh/ssh_host_*_key.pub)");
    return { ...h, ssh: { ...s, port: s.port ?? 22, user: s.user ?? "root" } };
  }
  if (h.root !== undefined) {
    // The root is part of every path the rendered configs name (dnsmasq, nginx, volfiles): the same rules.
    if (h.root === "") issues.add(`${field}.root`, h.root, "must be a folder path");
    if (h.root === "" || !checkSafe(issues, `${field}.root`, h.root, { spaces: false, semicolons: false, max: PATH_MAX })) return h;
  }
  return { ...h, root: h.root === undefined ? undefined : path.resolve(h.root) };
}

/**
 * The host as a resource keeps it in state: the SSH private key wrapped as a secret (encrypted in state and
 * hidden in diffs), even when the program passed it as a plain string. Used by the custom resources' check().
 */
export function protectHost(h: Host): Host {
  if (!h || !h.ssh || (h.ssh as any).privateKey === undefined || isSecret((h.ssh as any).privateKey)) return h;
  return { ...h, ssh: { ...h.ssh, privateKey: secret((h.ssh as any).privateKey) as string } };
}

/** A stable key for one host (so resources can share a transport). The key material is not part of it. */
export function hostKey(host: Host): string {
  const h = reveal<Host>(host);
  return h.ssh ? `ssh:${h.ssh.user ?? "root"}@${h.ssh.host}:${h.ssh.port ?? 22}` : `local:${h.root ?? "/"}`;
}

/** The full path a rendered config must name for `p` on host `h` (below `root` for local target folders). */
export function hostPath(host: Host, p: string): string {
  const h = reveal<Host>(host);
  return h.ssh || !h.root ? p : path.posix.join(h.root, p);
}
