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

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const given = (v: unknown) => v !== undefined && v !== null && v !== UNKNOWN;

/** Raw arguments (a host's `ssh` as the program or state gives it): every field is checked before it is trusted. */
type Raw = Record<string, unknown>;

/**
 * Checks one SSH connection (a resource's `host.ssh`, its `proxy`, or the provider config's `netboot:ssh`
 * defaults when `defaults`: then host and hostKey are not required, and not allowed in the defaults).
 * Keys and passwords are never echoed into a message.
 */
export function checkSsh(issues: Issues, f: string, s: Raw, defaults: boolean, proxy = false): void {
  if (defaults) {
    for (const k of ["host", "hostKey"]) if (given(s[k])) issues.add(`${f}.${k}`, s[k], "is per host: give it in the resource's host.ssh or a `netboot:hosts` entry, not in the defaults");
  } else if (s.host !== UNKNOWN && (typeof s.host !== "string" || !HOST_NAME.test(s.host)))
    issues.add(`${f}.host`, s.host, "must be a host name or address");
  if (given(s.port) && (!Number.isInteger(s.port) || (s.port as number) < 1 || (s.port as number) > 65535)) issues.add(`${f}.port`, s.port, "must be a TCP port 1-65535");
  if (given(s.user) && (typeof s.user !== "string" || !USER.test(s.user))) issues.add(`${f}.user`, s.user, "must be a user name");
  if (given(s.privateKey) && (typeof s.privateKey !== "string" || !PRIVATE_KEY.test(s.privateKey.trim())))
    issues.add(`${f}.privateKey`, "(secret)", "must be a PEM/OpenSSH private key (-----BEGIN ... PRIVATE KEY-----), unencrypted");
  if (given(s.privateKey) && typeof s.privateKey === "string" && /^-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(s.privateKey))
    issues.add(`${f}.privateKey`, "(secret)", "is encrypted: netboot cannot type its passphrase; load it into an ssh-agent (`ssh-add`) and leave privateKey out");
  if (given(s.password))
    issues.add(`${f}.password`, "(secret)", "password authentication is not supported: use privateKey, or an ssh-agent (SSH_AUTH_SOCK or agentSocketPath)");
  if (given(s.privateKeyPassword))
    issues.add(`${f}.privateKeyPassword`, "(secret)", "encrypted keys are not supported: load the key into an ssh-agent with `ssh-add` and leave privateKey out");
  if (given(s.agentSocketPath) && (typeof s.agentSocketPath !== "string" || !s.agentSocketPath.startsWith("/") || /[\0\n]/.test(s.agentSocketPath)))
    issues.add(`${f}.agentSocketPath`, s.agentSocketPath, "must be the absolute path of an ssh-agent socket");
  const num = (v: unknown) => v as number; // read only after Number.isInteger said it is one
  if (given(s.dialErrorLimit) && (!Number.isInteger(s.dialErrorLimit) || s.dialErrorLimit === 0 || num(s.dialErrorLimit) < -1 || num(s.dialErrorLimit) > 100))
    issues.add(`${f}.dialErrorLimit`, s.dialErrorLimit, "must be a number of attempts 1-100 (or -1: 10)");
  if (given(s.perDialTimeout) && (!Number.isInteger(s.perDialTimeout) || num(s.perDialTimeout) < 0 || num(s.perDialTimeout) > 3600))
    issues.add(`${f}.perDialTimeout`, s.perDialTimeout, "must be seconds 0-3600 (0: the default, 10)");
  if (!defaults && s.hostKey !== UNKNOWN && (typeof s.hostKey !== "string" || !HOST_KEY.test(s.hostKey.trim())))
    issues.add(`${f}.hostKey`, s.hostKey === undefined ? "(missing)" : s.hostKey,
      `must be ${proxy ? "the bastion's" : "the host's"} public key line such as \`ssh-ed25519 AAAA...\` (from \`ssh-keyscan\` or /etc/ssh/ssh_host_*_key.pub): netboot never connects unpinned`);
  if (proxy) {
    for (const k of ["proxy", "sudo"]) if (given(s[k])) issues.add(`${f}.${k}`, s[k], "is not supported on a bastion (one jump host; commands run on the target)");
    return;
  }
  if (given(s.sudo) && typeof s.sudo !== "boolean") issues.add(`${f}.sudo`, s.sudo, "must be true or false");
  if (!defaults && s.sudo === true && (s.user === undefined || s.user === "root"))
    issues.add(`${f}.sudo`, true, "needs a non-root `user` (root runs commands itself; sudo is for a login such as `admin` with a NOPASSWD sudoers entry)");
  if (given(s.proxy)) {
    if (typeof s.proxy !== "object" || Array.isArray(s.proxy)) issues.add(`${f}.proxy`, s.proxy, "must be an object with host and hostKey (the bastion)");
    else checkSsh(issues, `${f}.proxy`, s.proxy as Raw, false, true);
  }
}

/** The provider's SSH configuration (`netboot:hosts`, `netboot:ssh`), as configure() received it. */
export interface SshConfig {
  hosts?: Record<string, Record<string, unknown>>;
  ssh?: Record<string, unknown>;
}

/** Checks the provider config; every issue at once, fields named `netboot:hosts.NAME.FIELD`. */
export function checkSshConfig(issues: Issues, cfg: SshConfig): void {
  const c = reveal<SshConfig>(cfg);
  if (c.ssh !== undefined) {
    if (!c.ssh || typeof c.ssh !== "object") issues.add("netboot:ssh", c.ssh, "must be an object of connection defaults (user, privateKey, proxy, sudo...)");
    else checkSsh(issues, "netboot:ssh", c.ssh, true);
  }
  if (c.hosts !== undefined) {
    if (!c.hosts || typeof c.hosts !== "object") issues.add("netboot:hosts", c.hosts, "must be a map of host name -> connection");
    else
      for (const [name, e] of Object.entries(c.hosts)) {
        if (!HOST_NAME.test(name)) issues.add(`netboot:hosts.${name}`, name, "must be a host name (what resources give as host.ssh.host)");
        if (!e || typeof e !== "object") issues.add(`netboot:hosts.${name}`, e, "must be a connection (host, hostKey, user, ...)");
        else checkSsh(issues, `netboot:hosts.${name}`, { ...withoutHost(c.ssh), host: name, ...e }, false);
      }
  }
}

function withoutHost(d: Record<string, unknown> | undefined): Record<string, unknown> {
  const { host: _h, hostKey: _k, ...rest } = (d ?? {}) as Record<string, unknown>;
  return rest;
}

/**
 * A resource's `host.ssh` with the provider config under it: the `netboot:ssh` defaults, then the
 * `netboot:hosts` entry named by `ssh.host` (its `host` is the address), then the resource's own fields.
 * `proxy` is taken whole from the nearest level that gives one. Secret wrappers are kept where they were.
 */
export function withSshConfig(ssh: Record<string, unknown>, cfg: SshConfig | undefined): Record<string, unknown> {
  if (!cfg || (!cfg.hosts && !cfg.ssh)) return ssh;
  const name = reveal(ssh.host);
  const hosts = reveal<Record<string, unknown>>(cfg.hosts ?? {});
  const entry = typeof name === "string" && Object.prototype.hasOwnProperty.call(hosts, name) ? hosts[name] : undefined;
  const own = Object.fromEntries(Object.entries(ssh).filter(([, v]) => v !== undefined));
  const out: Record<string, unknown> = { ...withoutHost(reveal(cfg.ssh) as Parameters<typeof withoutHost>[0]), ...(entry ? reveal<Record<string, unknown>>(entry) : {}), ...own };
  if (entry && own.host === name) out.host = reveal<Record<string, unknown>>(entry).host ?? name;
  // Keys from the config stay secrets (reveal() above unwrapped them to merge).
  for (const k of ["privateKey"]) if (own[k] === undefined && out[k] !== undefined) out[k] = secret(out[k]);
  if (own.proxy === undefined && out.proxy && typeof out.proxy === "object" && (out.proxy as Raw).privateKey !== undefined)
    out.proxy = { ...(out.proxy as Raw), privateKey: secret((out.proxy as Raw).privateKey) };
  return out;
}

/**
 * Every `{ ssh: {...} }` host inside `v` (resource inputs of any shape: host, server.host, buildHost, an
 * inventory) with the provider config merged in (`withSshConfig`). Without config, `v` itself.
 */
export function resolveHosts<T>(v: T, cfg: SshConfig | undefined): T {
  if (!cfg || (!cfg.hosts && !cfg.ssh)) return v;
  const walk = (x: unknown): unknown => {
    if (isSecret(x)) {
      const inner = (x as { value: unknown }).value;
      const r = walk(inner);
      return r === inner ? x : secret(r);
    }
    if (Array.isArray(x)) {
      const r = x.map(walk);
      return r.some((e, i) => e !== x[i]) ? r : x;
    }
    // Plain data only (not an Output or a resource inside a component's inputs).
    if (!x || typeof x !== "object" || ![Object.prototype, null].includes(Object.getPrototypeOf(x))) return x;
    const o = x as Record<string, unknown>;
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(o)) {
      let r: unknown;
      if (k === "ssh" && e && typeof e === "object" && !Array.isArray(e) && !isSecret(e) && "host" in (e as object)) r = withSshConfig(e as Record<string, unknown>, cfg);
      else if (k === "ssh" && isSecret(e) && reveal(e) && typeof reveal(e) === "object") r = secret(withSshConfig(reveal(e) as Record<string, unknown>, cfg));
      else r = walk(e);
      if (r !== e) changed = true;
      out[k] = r;
    }
    return changed ? out : o;
  };
  return walk(v) as T;
}

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
    const s = h.ssh as unknown as Raw;
    const f = `${field}.ssh`;
    if (typeof s !== "object") {
      issues.add(f, s, "must be an object with host and hostKey (and privateKey, or an ssh-agent)");
      return h;
    }
    checkSsh(issues, f, s, false);
    // The agent is the provider process's (the shell that runs `pulumi`): known now, so say it now.
    const agent = s.agentSocketPath || process.env.SSH_AUTH_SOCK;
    if (!given(s.privateKey) && !agent)
      issues.add(`${f}.privateKey`, "(missing)", "no credentials: give privateKey (a Pulumi secret, here or in the provider config netboot:ssh / netboot:hosts), or run an ssh-agent (SSH_AUTH_SOCK in the shell that runs pulumi, or agentSocketPath)");
    const px = s.proxy && typeof s.proxy === "object" ? (s.proxy as Raw) : undefined;
    if (px && !given(px.privateKey) && !px.agentSocketPath && !agent)
      issues.add(`${f}.proxy.privateKey`, "(missing)", "no credentials for the bastion: give proxy.privateKey, or run an ssh-agent (SSH_AUTH_SOCK or agentSocketPath)");
    return { ...h, ssh: { ...(s as unknown as NonNullable<Host["ssh"]>), port: (s.port as number | undefined) ?? 22, user: (s.user as string | undefined) ?? "root" } };
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
  if (!h || !h.ssh) return h;
  const s = h.ssh as unknown as Raw;
  const wrap = (o: Raw) => (o && o.privateKey !== undefined && !isSecret(o.privateKey) ? { ...o, privateKey: secret(o.privateKey) } : o);
  const proxy = s.proxy && typeof s.proxy === "object" ? wrap(s.proxy as Raw) : s.proxy;
  if (proxy === s.proxy && wrap(s) === s) return h;
  return { ...h, ssh: { ...wrap(s), ...(proxy !== undefined ? { proxy } : {}) } as unknown as NonNullable<Host["ssh"]> };
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
