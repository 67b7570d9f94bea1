/**
 * An NFS-Ganesha server (FSAL_VFS) for boot tests, inside a boot lab's network namespace: NFSv4 only (4.1 and
 * 4.2) on TCP port 2049 of the lab's server address, NLM, RQUOTA, UDP and the grace period off, so a client
 * needs nothing but that one port (no rpcbind, no mountd).
 *
 * Everything Ganesha writes stays in the test's folder (config, log, pid file, NFSv4 recovery root) or in a
 * private tmpfs: it runs in its own mount namespace (`ip netns exec` makes one) with an empty tmpfs over /run,
 * so it can neither reach the host's rpcbind (/run/rpcbind.sock, where it would unset and register NFS) nor
 * the host's D-Bus, and its /run/ganesha folder never appears on the host. /var/lib/nfs is not touched.
 */
import * as fs from "fs";
import * as path from "path";
import { requireTool, sh } from "./env";
import { Lab } from "./qemu";

export interface GaneshaExport {
  /** host folder to export */
  path: string;
  /** NFSv4 pseudo path the clients mount, e.g. /export */
  pseudo: string;
  /** RO (default: what nodes need) or RW (for a publisher that writes the image) */
  access?: "RO" | "RW";
}

export interface Ganesha {
  dir: string;
  configFile: string;
  logFile: string;
  pid: number;
  /** `IP:/pseudo` of the first export, as BootImage's nfsExport wants it */
  nfsExport: string;
}

/** The ganesha.conf text (pure). */
export function renderGaneshaConfig(o: { bindAddr: string; recoveryRoot: string; exports: GaneshaExport[] }): string {
  const exports = o.exports.map((e, i) => `EXPORT {
  Export_Id = ${i + 1};
  Path = "${e.path}";
  Pseudo = "${e.pseudo}";
  Access_Type = ${e.access ?? "RO"};
  Squash = No_Root_Squash;
  Protocols = 4;
  Transports = TCP;
  SecType = sys;
  FSAL { Name = VFS; }
}
`).join("");
  return `# NFS-Ganesha for a netboot boot test (generated)
NFS_CORE_PARAM {
  Protocols = 4;
  NFS_Port = 2049;
  Bind_addr = ${o.bindAddr};
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
}
NFS_KRB5 {
  Active_krb5 = false;
}
NFSV4 {
  Graceless = true;
  Minor_Versions = 1, 2;
  RecoveryBackend = fs;
  RecoveryRoot = "${o.recoveryRoot}";
}
LOG {
  Default_Log_Level = EVENT;
}
${exports}`;
}

/**
 * Renders the config into `dir`, starts ganesha.nfsd in the foreground inside the lab and waits until it
 * listens on serverIp:2049 (fails with the log's tail otherwise).
 */
export async function startGanesha(lab: Lab, dir: string, exports: GaneshaExport[], timeoutMs = 30_000): Promise<Ganesha> {
  const bin = requireTool("ganesha.nfsd");
  const libDirs = fs.readdirSync("/usr/lib").map((d) => path.join("/usr/lib", d, "ganesha")).concat(["/usr/lib/ganesha"]);
  if (!libDirs.some((d) => fs.existsSync(path.join(d, "libfsalvfs.so"))))
    throw new Error("the VFS backend of NFS-Ganesha is not installed: run 'apt-get install -y nfs-ganesha-vfs'");
  fs.mkdirSync(dir, { recursive: true });
  const recoveryRoot = path.join(dir, "recovery");
  fs.mkdirSync(recoveryRoot, { recursive: true });
  const configFile = path.join(dir, "ganesha.conf");
  const logFile = path.join(dir, "ganesha.log");
  const pidFile = path.join(dir, "ganesha.pid");
  fs.writeFileSync(configFile, renderGaneshaConfig({ bindAddr: lab.serverIp, recoveryRoot, exports }));
  // `ip netns exec` gives the command a new mount namespace (slave of the host's): the tmpfs over /run stays in it
  const child = lab.start("ganesha", ["sh", "-c", `mount -t tmpfs -o mode=0755 ganesha-run /run && exec "$0" "$@"`,
    bin, "-F", "-f", configFile, "-L", logFile, "-p", pidFile, "-N", "NIV_EVENT"]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const listening = sh(`ip netns exec ${lab.ns} ss -Htln 'sport = :2049'`, { allowFail: true }).out;
    if (listening.includes(lab.serverIp)) {
      return { dir, configFile, logFile, pid: child.pid!, nfsExport: `${lab.serverIp}:${exports[0].pseudo}` };
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "(no log)";
  const out = fs.readFileSync(path.join(lab.dir, "ganesha.log"), "utf8");
  throw new Error(`ganesha.nfsd did not listen on ${lab.serverIp}:2049 (exit ${child.exitCode ?? child.signalCode ?? "none yet"}):\n${out}\n${tail}`);
}
