/**
 * A remote host reached with the OpenSSH client binaries (`ssh`), one multiplexed connection per host.
 *
 * Why OpenSSH and not the npm `ssh2` library: no new dependency; the same client admins debug with; the
 * remote side runs plain coreutils, so errors are the kernel's own words (`No space left on device`,
 * `Permission denied`) where SFTP collapses most failures into `SSH_FX_FAILURE`; and the staging step of an
 * atomic write, the check on the staged file and the rename are all ordinary commands. ControlMaster keeps one
 * authenticated connection per host, so each further operation costs one channel, not one handshake.
 *
 * Secrets: the private key is written to a 0600 file in a 0700 temp folder only while the master connection
 * authenticates, then removed (the master never needs it again; a reconnect writes it anew). It never appears
 * in argv, environment or logs. File contents go over stdin, never argv.
 *
 * Host key: pinned. The known_hosts file holds only the pinned key (under a fixed alias, so the address does not
 * matter), StrictHostKeyChecking=yes, and no user or system ssh config is read (`-F /dev/null`).
 *
 * Atomic write: `cat > .NAME.netboot-RAND.tmp` (noclobber, umask 077) in the target's folder, chmod, fsync;
 * then the optional check runs on the staged file; then `mv -T` (rename(2)) over the target and fsync of the
 * folder. The folder is entered component by component without following symlinks where netboot owns it
 * (WALK below; the rule is in transport.ts), and the write happens from inside it. Confined reads walk the same
 * way, in the same one command per read (CSTAT, CGET, CLIST).
 * A failed or interrupted write never leaves a partial file at the target path; a temp file left by a killed
 * apply is removed by the next write of the same path.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shq } from "../util/shell";
import { BatchRead, Confine, confinedWalk, ExecResult, FileStat, PutOptions, PutResult, ReadFound, ReadOptions, readEach, readWalk, Transport, TransportError } from "./transport";

/** Folders a walk made (`+PATH` lines), outermost first. */
function made(stdout: Buffer): string[] {
  return stdout.toString().split("\n").filter((l) => l.startsWith("+")).map((l) => l.slice(1));
}

/** How one hop authenticates: a key (written to a 0600 file only during the handshake) or an ssh-agent. */
export interface SshHop {
  host: string;
  port: number;
  user: string;
  /** Unencrypted private key; without it, the agent at `agentSocket` is used. */
  privateKey?: string;
  /** ssh-agent socket (resolved by the caller from agentSocketPath or SSH_AUTH_SOCK). */
  agentSocket?: string;
  hostKey: string;
  /** ConnectTimeout, seconds (default 10). */
  connectTimeout?: number;
  /** ConnectionAttempts (default 1). */
  attempts?: number;
}

export interface SshTarget extends SshHop {
  /** A bastion: the connection goes through `ssh -W host:port` there (ProxyCommand), pinned like the host. */
  proxy?: SshHop;
  /** Every remote command through `sudo -n` (a non-root login with a NOPASSWD sudoers entry). */
  sudo?: boolean;
}


/** Host key algorithms the client may accept for a pinned key of this type. */
export function hostKeyAlgorithms(keyType: string): string {
  return keyType === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : keyType;
}

/** SHA256 fingerprint of a public key line, as `ssh-keygen -l` prints it. */
export function fingerprint(hostKey: string): string {
  const b64 = hostKey.trim().split(/\s+/)[1] ?? "";
  return "SHA256:" + createHash("sha256").update(Buffer.from(b64, "base64")).digest("base64").replace(/=+$/, "");
}

/**
 * Turns what the ssh client printed for a failed connection into one clear cause. Pure; exported for tests.
 * Returns undefined when the text is not a connection failure (the remote command itself failed).
 */
export function connectionFailure(stderr: string, t: SshTarget): string | undefined {
  const s = stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No .* host key is known|host key for .* has changed/i.test(s)) {
    const offered = /(SHA256:[A-Za-z0-9+/]+)/.exec(s)?.[1];
    return `host key mismatch: the host offered ${offered ?? "a different key"}, but hostKey pins ${fingerprint(t.hostKey)}; refusing to connect (update hostKey only if the host was really reinstalled)`;
  }
  if (/channel \d+: open failed|stdio forwarding failed|administratively prohibited/i.test(s))
    return `the bastion could not reach the host: ${s.trim().split("\n").pop()}`;
  if (/Permission denied \(|Too many authentication failures|Authentication failed/i.test(s))
    return `authentication failed for user ${t.user}: the host did not accept ${t.privateKey ? "privateKey" : `the keys of the ssh-agent at ${t.agentSocket}`}`;
  if (/Error connecting to agent|Could not open a connection to your authentication agent/i.test(s))
    return `cannot use the ssh-agent at ${t.agentSocket}: ${s.trim().split("\n").pop()}`;
  if (/Load key .*: (invalid format|error in libcrypto)|invalid format/i.test(s)) return "privateKey is not a usable private key (invalid format)";
  if (/Could not resolve hostname|Name or service not known|Temporary failure in name resolution/i.test(s)) return `host unreachable: cannot resolve ${t.host}`;
  if (/Connection refused/i.test(s)) return `host unreachable: connection refused on port ${t.port}`;
  if (/Connection timed out|Operation timed out|timed out during banner exchange/i.test(s)) return `host unreachable: connection to port ${t.port} timed out`;
  if (/No route to host|Network is unreachable/i.test(s)) return "host unreachable: no route to host";
  if (/kex_exchange_identification|Connection closed by|Connection reset|ssh_exchange_identification|Broken pipe|Timeout, server .* not responding|Control socket connect|mux_client/i.test(s))
    return `host unreachable: the connection was closed (${s.trim().split("\n").pop()})`;
  return undefined;
}

/**
 * What the bastion's ssh (the ProxyCommand, whose stderr is a file of its own) printed, as one clear cause
 * naming the bastion; undefined when it said nothing about a failure. Pure; exported for tests.
 */
export function bastionFailure(stderr: string, p: SshHop): string | undefined {
  const s = stderr;
  const where = `the bastion ${p.user}@${p.host}:${p.port}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No .* host key is known|host key for .* has changed/i.test(s))
    return `host key mismatch on ${where}: it offered ${/(SHA256:[A-Za-z0-9+/]+)/.exec(s)?.[1] ?? "a different key"}, but proxy.hostKey pins ${fingerprint(p.hostKey)}; refusing to connect`;
  if (/Permission denied \(|Too many authentication failures|Authentication failed/i.test(s))
    return `authentication failed on ${where} for user ${p.user}: it did not accept ${p.privateKey ? "proxy.privateKey" : `the keys of the ssh-agent at ${p.agentSocket}`}`;
  if (/channel \d+: open failed|stdio forwarding failed|administratively prohibited/i.test(s))
    return `${where} could not reach the host: ${s.trim().split("\n").pop()}`;
  if (/Connection refused|timed out|No route|Network is unreachable|Could not resolve|Connection closed|kex_exchange|Connection reset/i.test(s))
    return `${where} is unreachable: ${s.trim().split("\n").pop()}`;
  return undefined;
}

/** sudo's refusal (`sudo -n` never prompts), as a cause naming the user; undefined when sudo did not refuse. */
export function sudoFailure(stderr: string, user: string): string | undefined {
  if (/sudo: (a password is required|a terminal is required)/.test(stderr))
    return `sudo asks ${user} for a password: netboot runs \`sudo -n\` (non-interactive); give ${user} a NOPASSWD sudoers entry (\`${user} ALL=(root) NOPASSWD: ALL\`) or log in as root`;
  if (/is not in the sudoers file|is not allowed to execute|may not run sudo/.test(stderr)) return `${user} may not use sudo on this host (sudoers): ${stderr.trim().split("\n").pop()}`;
  if (/sudo: (command )?not found|sudo: No such file/.test(stderr)) return "sudo is not installed on this host (apt-get install sudo), or connect as root";
  return undefined;
}

/** What a remote coreutils error means, for messages naming host and path. */
export function fsCause(stderr: string): string {
  if (/No space left on device|Disk quota exceeded/i.test(stderr)) return "no space left on device";
  if (/Permission denied|Operation not permitted/i.test(stderr)) return "permission denied";
  if (/Read-only file system/i.test(stderr)) return "read-only file system";
  if (/Not a directory/i.test(stderr)) return "a parent of the path is not a folder";
  if (/netboot: upload incomplete/.test(stderr)) return `the upload was cut short (${/\((\d+ of \d+) bytes\)/.exec(stderr)?.[1] ?? "?"} bytes); the live file is unchanged`;
  return stderr.trim().split("\n").slice(-3).join("; ") || "failed";
}

class Slots {
  private free: number;
  private waiting: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

interface Raw {
  code: number;
  stdout: Buffer;
  stderr: string;
}

// `walk MODE N BASE... COMP...` (the last arguments of every script that writes, renames or deletes): the
// shell's openat. It enters the N folders of BASE by path (above what netboot owns symlinks are followed, see
// transport.ts), then each COMP by name from inside its parent, refusing a symlink: `[ -L ]` before the step,
// and `pwd -P` after it, so a folder swapped for a symlink between the two is still caught. The work is then
// done on `./NAME` from inside the folder, which stays the folder that was checked whatever its name now
// points to. With MODE an octal mode, missing folders are made and printed as `+PATH`; with `-`, a missing
// folder exits 3. Exit 4: a symlink, 5: not a folder, 7: mkdir failed (stderr names the path).
const WALK = String.raw`walk() {
  m=$1; n=$2; shift 2; l=/
  while [ "$n" -gt 0 ]; do
    l=$1; shift; n=$((n-1))
    [ -d "$l" ] && continue
    [ "$m" = - ] && exit 3
    e=$(mkdir -m "$m" -- "$l" 2>&1) && { echo "+$l"; continue; }
    [ -d "$l" ] || { echo "netboot: mkdir $l: $e" >&2; exit 7; }
  done
  # A folder that went away since the test above (another resource pruned it) is missing (3), not a failure.
  cd -P -- "$l" || { [ -d "$l" ] || [ "$m" != - ] || exit 3; exit 1; }
  [ "$l" = / ] && l=
  for c do
    p=$(pwd -P); [ "$p" = / ] && p=
    if [ -L "$c" ]; then echo "netboot: symlink $l/$c -> $(readlink -- "$c")" >&2; exit 4; fi
    if [ ! -e "$c" ]; then
      [ "$m" = - ] && exit 3
      e=$(mkdir -m "$m" -- "$c" 2>&1) && echo "+$l/$c" || { [ -d "$c" ] || { echo "netboot: mkdir $l/$c: $e" >&2; exit 7; }; }
    fi
    [ -d "$c" ] || { echo "netboot: not a folder $l/$c" >&2; exit 5; }
    cd -P -- "./$c" || { [ -d "./$c" ] || [ "$m" != - ] || exit 3; exit 1; }
    [ "$(pwd -P)" = "$p/$c" ] || { echo "netboot: symlink $l/$c -> $(pwd -P)" >&2; exit 4; }
    l=$l/$c
  done
}
`;

const STAT = `if [ -e "$1" ] || [ -L "$1" ]; then stat -c '%f %s %u %g' -- "$1" || exit 1; [ -L "$1" ] && readlink -- "$1"; exit 0; else echo none; fi`;
const GET = `if [ -e "$1" ]; then exec cat -- "$1"; else exit 3; fi`;
const MKDIRS = `${WALK}walk "$@"`;
// $1 temp name, $2 mode, $3 name, $4 commit (1: rename in the same session), $5 size, $6 sha256, then walk's.
// Size and hash are checked before the rename: if the provider dies mid-upload, ssh closes stdin and `cat`
// sees a normal end of file; without this check the cut-short file would be renamed into place.
// `mv -T` is rename(2): over a folder it fails instead of moving the file into it.
const STAGE = [
  WALK,
  `t=$1; md=$2; f=$3; cm=$4; sz=$5; sum=$6; shift 6; walk "$@" || exit $?`,
  `rm -f -- ./."$f".netboot-*.tmp 2>/dev/null`,
  `( set -C; umask 077; cat > "./$t" ) || { rc=$?; rm -f -- "./$t"; exit $rc; }`,
  `n=$(wc -c < "./$t"); h=$(sha256sum < "./$t"); h=\${h%% *}`,
  `if [ "$n" != "$sz" ] || [ "$h" != "$sum" ]; then rm -f -- "./$t"; echo "netboot: upload incomplete ($n of $sz bytes)" >&2; exit 1; fi`,
  `{ chmod "$md" -- "./$t" && sync -- "./$t"; } || { rc=$?; rm -f -- "./$t"; exit $rc; }`,
  `echo "=$(stat -c %u:%g -- "./$t")"`,
  `[ "$cm" = 1 ] || exit 0`,
  `mv -fT -- "./$t" "./$f" || { rc=$?; rm -f -- "./$t"; exit $rc; }`,
  `sync -- . 2>/dev/null; exit 0`,
].join("\n");
const COMMIT = `${WALK}t=$1; f=$2; shift 2; walk "$@" || exit $?; mv -fT -- "./$t" "./$f" || { rc=$?; rm -f -- "./$t"; exit $rc; }; sync -- . 2>/dev/null; exit 0`;
const REMOVE = `${WALK}f=$1; shift; walk "$@" || { rc=$?; [ $rc = 3 ] && exit 0; exit $rc; }; if [ -e "./$f" ] || [ -L "./$f" ]; then rm -f -- "./$f" && echo removed; fi`;
const RMDIR = `${WALK}f=$1; shift; walk "$@" || { rc=$?; [ $rc = 3 ] && exit 0; exit $rc; }; [ -d "./$f" ] && [ ! -L "./$f" ] || exit 0; [ -z "$(ls -A -- "./$f")" ] || exit 0; out=$(rmdir -- "./$f" 2>&1) && { echo removed; exit 0; }; case "$out" in *busy*|*"not empty"*|*"No such file"*) exit 0;; esac; echo "$out" >&2; exit 1`;
const LIST = `[ -d "$1" ] || exit 3; exec find "$1" -mindepth 1 -maxdepth 1 -printf '%f\\0'`;
// Confined reads: `walk -` into the folder (exit 3 missing, 4 a symlink, 5 not a folder: the read finds nothing,
// see transport.ts), then the entry from inside it, in the same command (one round trip, as the plain reads).
// CGET: a symlink at the last component is not read (exit 6); `dd iflag=nofollow` is open(O_NOFOLLOW), so one
// swapped in after the test is refused too (the caller sees ELOOP's words); a non-file is not read (exit 5).
const CSTAT = `${WALK}f=$1; shift; walk "$@"; if [ -e "./$f" ] || [ -L "./$f" ]; then stat -c '%f %s %u %g' -- "./$f" || exit 1; [ -L "./$f" ] && readlink -- "./$f"; exit 0; else echo none; fi`;
const CGET = `${WALK}f=$1; shift; walk "$@"; [ -L "./$f" ] && exit 6; [ -e "./$f" ] || exit 3; [ -f "./$f" ] || exit 5; exec dd if="./$f" iflag=nofollow bs=65536 status=none`;
const CLIST = `${WALK}walk "$@"; exec find . -mindepth 1 -maxdepth 1 -printf '%f\\0'`;
/** Exit codes of a confined read that mean "not there": missing, a symlink or a non-folder on the way, a symlink. */
const NOT_THERE = [3, 4, 5, 6];

/** The walk arguments for `folder` (see WALK and `confinedWalk`). */
function walkArgs(folder: string, mode: number | undefined, within: string | undefined): string[] {
  const { base, rest } = confinedWalk(folder, false, within);
  const parts = base.split("/").filter(Boolean);
  const chain = parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/"));
  return [mode === undefined ? "-" : mode.toString(8), String(chain.length), ...chain, ...rest];
}

/** What the walker said about a symlink or a non-folder, as the cause of a TransportError; undefined otherwise. */
export function walkCause(stderr: string): string | undefined {
  const link = /netboot: symlink (\S+) -> (.*)/.exec(stderr);
  if (link) return `${link[1]} is a symlink (to ${link[2].trim()}); netboot does not follow symlinks in folders it owns`;
  const nd = /netboot: not a folder (\S+)/.exec(stderr);
  if (nd) return `${nd[1]} is not a folder`;
  return undefined;
}

/** A command's own connection, used only if the master is gone, can neither trust a host nor log in. */
const NO_FALLBACK = [
  "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
  "-o", "HostKeyAlias=netboot-pinned", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null", "-o", "IdentityAgent=none",
  "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
];
/** What that fallback prints: no key is known for the pinned alias. */
const MUX_FALLBACK = /host key is known for netboot-pinned|Host key verification failed|netboot-mux-fallback/;
/**
 * With a proxy, the fallback's ProxyCommand: it must never connect around the bastion, and it says why it
 * failed (ssh would report only `Connection closed by remote host`), so `run` knows to open a new master.
 */
const NO_PROXY_FALLBACK = ["-o", `ProxyCommand=sh -c 'echo netboot-mux-fallback >&2; exit 1'`];

export class SshTransport implements Transport {
  readonly description: string;
  private dir = "";
  private connecting: Promise<void> | undefined;
  private readonly slots = new Slots(8); // sshd's MaxSessions is 10 by default

  constructor(private readonly target: SshTarget) {
    this.description = `${target.user}@${target.host}:${target.port}`;
  }

  fullPath(p: string): string {
    if (!p.startsWith("/")) throw new TransportError(this.description, "resolve", p, "host paths must be absolute");
    if (p.split("/").includes("..")) throw new TransportError(this.description, "resolve", p, "`..` is not allowed in host paths");
    return path.posix.normalize(p);
  }

  private get control(): string {
    return path.join(this.dir, "c");
  }

  private baseArgs(): string[] {
    return [
      "-F", "/dev/null",
      "-o", "BatchMode=yes",
      "-o", `ControlPath=${this.control}`,
      "-o", "LogLevel=ERROR",
      "-p", String(this.target.port),
      "-l", this.target.user,
    ];
  }

  /**
   * Opens (or reopens) the master connection: keys and known_hosts exist on disk only during the handshake.
   * With a proxy, the bastion's own ssh is the ProxyCommand (`ssh -W %h:%p`), with the same options: its key
   * and pinned known_hosts are files of the same 0700 folder (their paths are in the ProxyCommand, never the
   * key itself), and its stderr goes to a file of its own so a failure can be named as the bastion's.
   */
  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    if (this.dir && fs.existsSync(this.control)) return Promise.resolve();
    this.connecting = (async () => {
      if (!this.dir || !fs.existsSync(this.dir)) this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbssh-"));
      fs.chmodSync(this.dir, 0o700);
      const log = path.join(this.dir, "log");
      const plog = path.join(this.dir, "plog");
      const files = [log, plog];
      try {
        const args = [...this.baseArgs(), "-o", "ControlMaster=yes", "-o", "ControlPersist=120", ...this.hopArgs(this.target, "", files), this.target.host];
        const p = this.target.proxy;
        if (p) {
          const proxyArgv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-p", String(p.port), "-l", p.user, ...this.hopArgs(p, "p", files), "-W", "%h:%p", p.host];
          // ssh runs ProxyCommand as `exec CMD` in the user's shell; `%` is ssh's own token prefix.
          args.splice(args.length - 1, 0, "-o", `ProxyCommand=${proxyArgv.map((w) => (w === "%h:%p" ? w : shq(w).replace(/%/g, "%%"))).join(" ")} 2>${shq(plog)}`);
        }
        args.splice(args.length - 1, 0, "-f", "-N");
        fs.writeFileSync(plog, "", { mode: 0o600 });
        const fd = fs.openSync(log, "w", 0o600);
        // `-f`: the master goes to the background once authenticated; its stderr is a file, so waiting for
        // `exit` (not `close`) returns then.
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn("ssh", args, { stdio: ["ignore", "ignore", fd] });
          child.on("error", (e) => reject(new TransportError(this.description, "connect", "", `cannot run ssh: ${e.message}`)));
          child.on("exit", (c) => resolve(c ?? 255));
        });
        fs.closeSync(fd);
        const err = fs.readFileSync(log, "utf8");
        if (code !== 0 || !fs.existsSync(this.control)) {
          const perr = p ? fs.readFileSync(plog, "utf8") : "";
          const bastion = p ? bastionFailure(perr, p) ?? (perr.trim() ? `the bastion ${p.user}@${p.host}:${p.port}: ${perr.trim().split("\n").pop()}` : undefined) : undefined;
          const cause = bastion ?? connectionFailure(err, this.target) ?? `ssh exited ${code}: ${err.trim()}`;
          throw new TransportError(this.description, "connect", "", cause);
        }
      } finally {
        for (const f of files) fs.rmSync(f, { force: true });
      }
      if (this.target.sudo) {
        // Once per connection: a login that sudo refuses is named now, not as the cause of the first write.
        const r = await this.runOnce("sudo -n true", undefined, 30_000, true);
        if (r.code !== 0) throw new TransportError(this.description, "sudo", "", sudoFailure(r.stderr, this.target.user) ?? `sudo -n true failed (exit ${r.code}): ${r.stderr.trim()}`);
      }
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * The authentication and pinning options of one hop (the host, or the bastion with `tag` "p"); the files it
   * writes (key, known_hosts) are added to `files`, which the caller removes after the handshake.
   */
  private hopArgs(h: SshHop, tag: string, files: string[]): string[] {
    const known = path.join(this.dir, `kh${tag}`);
    const alias = tag ? "netboot-bastion" : "netboot-pinned";
    const pin = h.hostKey.trim().split(/\s+/).slice(0, 2).join(" ");
    fs.writeFileSync(known, `${alias} ${pin}\n`, { mode: 0o600 });
    files.push(known);
    const auth: string[] = [];
    if (h.privateKey) {
      const key = path.join(this.dir, `k${tag}`);
      fs.writeFileSync(key, h.privateKey.endsWith("\n") ? h.privateKey : h.privateKey + "\n", { mode: 0o600, flag: "w" });
      fs.chmodSync(key, 0o600);
      files.push(key);
      auth.push("-o", `IdentityFile=${key}`, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none");
    } else {
      // The agent's keys only: an IdentityFile that does not exist keeps ssh from trying ~/.ssh/id_* as well.
      auth.push("-o", `IdentityFile=${path.join(this.dir, "no-key")}`, "-o", "IdentitiesOnly=no", "-o", `IdentityAgent=${h.agentSocket}`);
    }
    return [
      ...auth,
      "-o", `UserKnownHostsFile=${known}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `HostKeyAlias=${alias}`,
      "-o", `HostKeyAlgorithms=${hostKeyAlgorithms(h.hostKey.trim().split(/\s+/)[0])}`,
      "-o", "CheckHostIP=no",
      "-o", "UpdateHostKeys=no",
      "-o", "PasswordAuthentication=no",
      "-o", "KbdInteractiveAuthentication=no",
      "-o", `ConnectTimeout=${h.connectTimeout || 10}`,
      "-o", `ConnectionAttempts=${h.attempts ?? 1}`,
      "-o", "ServerAliveInterval=5",
      "-o", "ServerAliveCountMax=3",
    ];
  }

  /**
   * One command on the host over the master connection. When the master is gone (it died, or its socket is not
   * accepting yet), ssh falls back to a connection of its own; that fallback is made to fail at once (no known
   * host key, no identity: it must never connect unpinned), and the command runs again over a new, pinned master.
   */
  private async run(remote: string, input?: Buffer | string, timeoutMs = 120_000): Promise<Raw> {
    const r = await this.runOnce(remote, input, timeoutMs);
    if (r.code !== 255 || !MUX_FALLBACK.test(r.stderr)) return r;
    fs.rmSync(this.control, { force: true });
    return this.runOnce(remote, input, timeoutMs);
  }

  private async runOnce(remote: string, input: Buffer | string | undefined, timeoutMs: number, inConnect = false): Promise<Raw> {
    if (!inConnect) await this.connect();
    const sudo = this.target.sudo && !inConnect;
    // As root through `sudo -n` (never a prompt): the same script, so writes keep their atomic rename, modes
    // and root ownership; `sh -c` because the remote login shell would otherwise run only `sudo`'s first word.
    if (sudo) remote = `sudo -n -- sh -c ${shq(remote)}`;
    await this.slots.take();
    try {
      return await new Promise<Raw>((resolve, reject) => {
        const child: ChildProcess = spawn("ssh", [...this.baseArgs(), "-o", "ControlMaster=no", ...NO_FALLBACK, ...(this.target.proxy ? NO_PROXY_FALLBACK : []), "-T", this.target.host, remote], {
          stdio: ["pipe", "pipe", "pipe"],
          timeout: timeoutMs,
        });
        const out: Buffer[] = [];
        let err = "";
        child.stdout!.on("data", (d: Buffer) => out.push(d));
        child.stderr!.on("data", (d) => (err += d));
        child.on("error", (e) => reject(new TransportError(this.description, "exec", "", `cannot run ssh: ${e.message}`)));
        child.on("close", (code, signal) => {
          const refused = sudo && code === 1 ? sudoFailure(err, this.target.user) : undefined;
          if (refused) reject(new TransportError(this.description, "sudo", "", refused));
          else resolve({ code: code ?? (signal ? 128 : 255), stdout: Buffer.concat(out), stderr: err });
        });
        child.stdin!.on("error", () => undefined);
        child.stdin!.end(input ?? "");
      });
    } finally {
      this.slots.give();
    }
  }

  /** Runs a POSIX sh script with arguments; throws a TransportError naming host, op and path on failure. */
  private async script(op: string, p: string, script: string, args: string[], input?: Buffer | string, okCodes: number[] = [0]): Promise<Raw> {
    const r = await this.run(["sh", "-c", script, "sh", ...args].map(shq).join(" "), input);
    if (!okCodes.includes(r.code)) {
      const conn = r.code === 255 ? connectionFailure(r.stderr, this.target) : undefined;
      const mk = r.code === 7 ? /netboot: mkdir (\S+): (.*)/.exec(r.stderr) : null;
      if (mk) throw new TransportError(this.description, "mkdir", mk[1], fsCause(mk[2]));
      throw new TransportError(this.description, op, p, conn ?? walkCause(r.stderr) ?? fsCause(r.stderr));
    }
    return r;
  }

  /** The walk arguments of a confined read of `p` (see `readWalk`). */
  private readArgs(full: string, opts: ReadOptions | undefined): string[] {
    const { base, rest } = readWalk(full, false, opts?.within);
    const parts = base.split("/").filter(Boolean);
    return ["-", String(parts.length), ...parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/")), ...rest];
  }

  async stat(p: string, opts?: ReadOptions): Promise<FileStat | undefined> {
    const full = this.fullPath(p);
    const confined = !!opts?.confined && full !== "/";
    const r = confined
      ? await this.script("stat", p, CSTAT, [path.posix.basename(full), ...this.readArgs(full, opts)], undefined, [0, ...NOT_THERE])
      : await this.script("stat", p, STAT, [full]);
    if (r.code !== 0) return undefined;
    const [line, target] = r.stdout.toString().replace(/\n$/, "").split("\n");
    if (line === "none") return undefined;
    const [hex, size, uid, gid] = line.split(" ");
    const raw = parseInt(hex, 16);
    const fmt = raw & 0o170000;
    const type = fmt === 0o100000 ? "file" : fmt === 0o040000 ? "dir" : fmt === 0o120000 ? "symlink" : "other";
    return { type, mode: raw & 0o7777, size: Number(size), isDir: type === "dir", uid: Number(uid), gid: Number(gid), ...(type === "symlink" ? { target } : {}) };
  }

  async get(p: string, opts?: ReadOptions): Promise<Buffer | undefined> {
    const full = this.fullPath(p);
    if (!opts?.confined || full === "/") {
      const r = await this.script("read", p, GET, [full], undefined, [0, 3]);
      return r.code === 3 ? undefined : r.stdout;
    }
    const r = await this.run(["sh", "-c", CGET, "sh", path.posix.basename(full), ...this.readArgs(full, opts)].map(shq).join(" "));
    if (NOT_THERE.includes(r.code)) return undefined;
    // dd refused a symlink swapped in after the test (open with O_NOFOLLOW): not there either.
    if (r.code === 1 && /Too many levels of symbolic links/.test(r.stderr)) return undefined;
    if (r.code !== 0) {
      const conn = r.code === 255 ? connectionFailure(r.stderr, this.target) : undefined;
      throw new TransportError(this.description, "read", p, conn ?? fsCause(r.stderr));
    }
    return r.stdout;
  }

  /**
   * Each read on its own (`stat` then `get`, 16 at a time over the master connection): every confined read is
   * one command that walks its folders in a shell already, so there is no opened folder to share between them.
   */
  readMany(reads: BatchRead[]): Promise<(ReadFound | undefined)[]> {
    return readEach(this, reads);
  }

  async mkdirp(dir: string, mode = 0o755, opts: Confine = {}): Promise<string[]> {
    const full = this.fullPath(dir);
    if (full === "/") return [];
    const r = await this.script("mkdir", dir, MKDIRS, walkArgs(full, mode, opts.within));
    return made(r.stdout);
  }

  /** Each put's script syncs its folder already (one round trip per file either way). */
  async syncDirs(): Promise<void> {}

  async put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    const full = this.fullPath(p);
    const dir = path.posix.dirname(full);
    const base = path.posix.basename(full);
    const tmp = `.${base}.netboot-${randomBytes(4).toString("hex")}.tmp`;
    const mode = opts.mode.toString(8);
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const sum = [String(buf.length), createHash("sha256").update(buf).digest("hex")];
    const walk = walkArgs(dir, 0o755, opts.within);
    const r = await this.script("write", p, STAGE, [tmp, mode, base, opts.validate ? "0" : "1", ...sum, ...walk], buf);
    const res = { createdDirs: made(r.stdout), owner: /^=(\d+:\d+)$/m.exec(r.stdout.toString())?.[1] ?? "" };
    if (!opts.validate) return res;
    try {
      // The check runs as its own command: it gets the staged file by name (it only reads it).
      await opts.validate(`${dir === "/" ? "" : dir}/${tmp}`);
    } catch (e) {
      await this.run(["rm", "-f", "--", `${dir}/${tmp}`].map(shq).join(" ")).catch(() => undefined);
      throw e;
    }
    await this.script("write", p, COMMIT, [tmp, base, ...walkArgs(dir, undefined, opts.within)]);
    return res;
  }

  async remove(p: string, opts: Confine = {}): Promise<boolean> {
    const full = this.fullPath(p);
    // 3: a folder on the way is gone, so the file is too: nothing to remove (walk's `exit` leaves the whole
    // script, so the script's own `|| { ... }` never sees it).
    const r = await this.script("remove", p, REMOVE, [path.posix.basename(full), ...walkArgs(path.posix.dirname(full), undefined, opts.within)], undefined, [0, 3]);
    return r.stdout.toString().trim() === "removed";
  }

  async removeDirIfEmpty(dir: string, opts: Confine = {}): Promise<boolean> {
    const full = this.fullPath(dir);
    if (full === "/") return false;
    // 3: a folder on the way is gone (another resource pruned a shared parent first): nothing to remove.
    const r = await this.script("rmdir", dir, RMDIR, [path.posix.basename(full), ...walkArgs(path.posix.dirname(full), undefined, opts.within)], undefined, [0, 3]);
    return r.stdout.toString().trim() === "removed";
  }

  async list(dir: string, opts?: ReadOptions): Promise<string[] | undefined> {
    const full = this.fullPath(dir);
    const confined = !!opts?.confined && full !== "/";
    // Confined, the folder itself is walked as well: its own name must not be a symlink.
    const r = confined
      ? await this.script("list", dir, CLIST, walkArgs(full, undefined, opts?.within), undefined, [0, ...NOT_THERE])
      : await this.script("list", dir, LIST, [full], undefined, [0, 3]);
    if (r.code !== 0) return undefined;
    return r.stdout.toString().split("\0").filter(Boolean).sort();
  }

  async exec(argv: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const words = env.length ? ["env", ...env, ...argv] : argv;
    const r = await this.run(words.map(shq).join(" "), opts.input, opts.timeoutMs);
    if (r.code === 255) {
      const conn = connectionFailure(r.stderr, this.target);
      if (conn) throw new TransportError(this.description, "exec", argv[0], conn);
    }
    return { code: r.code, stdout: r.stdout.toString(), stdoutBytes: r.stdout, stderr: r.stderr };
  }

  /** Ends the master connection and removes the temp folder. */
  async close(): Promise<void> {
    this.closeSync();
  }

  /** For exit hooks (the provider context closes its transports when the process ends). */
  closeSync(): void {
    if (this.dir && fs.existsSync(this.control)) spawnSync("ssh", [...this.baseArgs(), "-O", "exit", this.target.host], { stdio: "ignore", timeout: 5000 });
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
