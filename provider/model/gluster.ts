/**
 * The validated model of a GlusterVolume, built from raw args. Every problem is collected and reported at once,
 * each naming resource, field and value. Pure: no fs, no transport.
 *
 * The option table lists the glusterd keys netboot understands (glusterd-volume-set.c names), with a value
 * check for each and where the value lands in the graphs (see render/volfile.ts).
 */
import * as crypto from "crypto";
import * as path from "path";
import { Host } from "../schema-types";
import { GLUSTER_LAYOUT_VALUES, GLUSTER_MODE_VALUES, GlusterLayout, GlusterMode } from "../schema-enums";
import { checkAbsPath, checkSafe, Issues, show } from "./errors";
import { listValues } from "./enums";
import { isDomain, isHostOrIPv4, parseCidr, parseIPv4 } from "./net";
import { hostKey, normalizeHost } from "./host";

export type { GlusterMode };
export type Layout = GlusterLayout;

/** First brick port glusterd hands out (base-port); standalone bricks default to BASE_PORT + index. */
export const BASE_PORT = 49152;
export const DEFAULT_STATE_DIR = "/etc/netboot/gluster";

export interface BrickModel {
  index: number;
  host: string;
  path: string;
  port: number;
  /** Index of the replica or disperse set (0 for pure distribute: every brick is its own set). */
  set: number;
  /** The arbiter brick: the last brick of each arbiter set. */
  arbiter: boolean;
  /** Standalone mode: the host given as the brick's own `target` (absent: the volume's `host`). */
  target?: Host;
  /**
   * Standalone mode on a systemd host (the brick's target, or the volume's host): the brick is a unit in
   * /etc/systemd/system of that host, with its volfile, placed by a file set of its own that enables, starts and
   * restarts it. Otherwise its volfile and a unit file to install by hand go with the volume's files.
   */
  systemdUnit: boolean;
}

export interface TlsModel {
  key: string;
  certificate: string;
  ca: string;
}

export interface GlusterModel {
  /** The resource name (for messages and child names). */
  resource: string;
  name: string;
  mode: GlusterMode;
  host: Host;
  layout: Layout;
  /** Bricks per replica or disperse set; 1 for distribute. */
  setSize: number;
  replica: number;
  disperse: number;
  redundancy: number;
  bricks: BrickModel[];
  sets: number;
  /** glusterd option keys and values as the user gave them, plus the secure defaults (auth.allow). */
  options: Record<string, string>;
  clusterSubnet: string;
  allowSameHostSets: boolean;
  tls?: TlsModel;
  stateDir: string;
  /** Deterministic volume id (a UUID derived from the name and the bricks): re-rendering gives the same bytes. */
  volumeId: string;
  systemd: boolean;
  /** Managed mode: glusterd's CLI socket (`gluster --glusterd-sock`), default glusterd's own. */
  glusterdSocket?: string;
  /** Managed mode: pass `force` to `volume create` (bricks on the root file system or same-host sets). */
  force: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Option table

export type ValueCheck = (v: string) => string | undefined;

const BOOL: ReadonlySet<string> = new Set(["on", "off", "true", "false", "yes", "no", "enable", "disable", "1", "0"]);
const bool: ValueCheck = (v) => (BOOL.has(v.toLowerCase()) ? undefined : "must be on/off (or true/false, yes/no, enable/disable)");
const int = (min: number, max: number): ValueCheck => (v) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be an integer from ${min} to ${max}`);
const size: ValueCheck = (v) => (/^\d+(B|KB|MB|GB|TB)?$/i.test(v) ? undefined : "must be a size such as 64MB, 4MB or 1048576");
/** features.shard-block-size: glusterd takes 4MB to 4TB. */
const shardSize: ValueCheck = (v) => {
  const m = /^(\d+)(B|KB|MB|GB|TB)?$/i.exec(v);
  const bytes = m ? Number(m[1]) * 1024 ** ["B", "KB", "MB", "GB", "TB"].indexOf((m[2] ?? "B").toUpperCase()) : NaN;
  return bytes >= 4 * 1024 ** 2 && bytes <= 4 * 1024 ** 4 ? undefined : "must be a size from 4MB to 4TB (glusterd's bounds), such as 64MB";
};
const sizeOrPercent: ValueCheck = (v) => (/^\d+(\.\d+)?%$/.test(v) || size(v) === undefined ? undefined : "must be a percentage (5%) or a size (10GB)");
const oneOf = (...xs: string[]): ValueCheck => (v) => (xs.includes(v) ? undefined : `must be one of ${xs.join(", ")}`);
const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "TRACE", "NONE"];
/** auth.allow / auth.reject: comma-separated addresses, `*` wildcards, CIDR subnets or host names. */
const addrList: ValueCheck = (v) => {
  for (const a of v.split(",")) {
    if (a === "*") continue;
    if (/^[0-9*.]+$/.test(a)) {
      // Numeric: an address, possibly with `*` octets; never a host name.
      if (a.split(".").length === 4 && a.split(".").every((p) => p === "*" || parseIPv4(`${p}.0.0.0`) !== undefined)) continue;
    } else if (a.includes("/")) {
      if (parseCidrLoose(a)) continue;
    } else if (isDomain(a) && /[A-Za-z]/.test(a)) continue;
    return `"${a}" is not an address, wildcard address (10.88.1.*), CIDR subnet or host name`;
  }
  return undefined;
};
function parseCidrLoose(s: string): boolean {
  const [ip, len] = s.split("/");
  return parseIPv4(ip) !== undefined && /^\d{1,2}$/.test(len ?? "") && Number(len) <= 32;
}

export interface OptionSpec {
  check: ValueCheck;
  /** What it does, for docs and messages. */
  doc: string;
}

/** Known glusterd keys. Unknown keys are refused (glusterd refuses them too: "option : KEY does not exist"). */
export const OPTIONS: Record<string, OptionSpec> = {
  "performance.write-behind": { check: bool, doc: "client write-behind xlator (default on)" },
  "performance.read-ahead": { check: bool, doc: "client read-ahead xlator (default off)" },
  "performance.readdir-ahead": { check: bool, doc: "client readdir-ahead xlator (default off)" },
  "performance.io-cache": { check: bool, doc: "client io-cache xlator (default off)" },
  "performance.open-behind": { check: bool, doc: "client open-behind xlator (default on)" },
  "performance.quick-read": { check: bool, doc: "client quick-read xlator (default on)" },
  "performance.nl-cache": { check: bool, doc: "client nl-cache xlator (default off)" },
  "performance.stat-prefetch": { check: bool, doc: "client md-cache xlator (default on)" },
  "performance.client-io-threads": { check: bool, doc: "client io-threads xlator (default on, off for replicate and arbiter)" },
  "performance.cache-size": { check: size, doc: "io-cache and quick-read cache-size" },
  "performance.cache-max-file-size": { check: size, doc: "io-cache max-file-size" },
  "performance.qr-cache-timeout": { check: int(1, 60), doc: "quick-read cache-timeout" },
  "performance.write-behind-window-size": { check: size, doc: "write-behind cache-size" },
  "performance.md-cache-timeout": { check: int(0, 600), doc: "md-cache md-cache-timeout" },
  "performance.io-thread-count": { check: int(1, 64), doc: "io-threads thread-count (bricks, and clients with client-io-threads)" },
  "network.ping-timeout": { check: int(0, 1013), doc: "protocol/client ping-timeout (seconds)" },
  "network.frame-timeout": { check: int(30, 1013), doc: "protocol/client frame-timeout (seconds)" },
  "client.event-threads": { check: int(1, 32), doc: "protocol/client event-threads" },
  "server.event-threads": { check: int(1, 1024), doc: "protocol/server event-threads" },
  "client.ssl": { check: bool, doc: "TLS on client connections (needs `tls`)" },
  "server.ssl": { check: bool, doc: "TLS on brick listeners (needs `tls`)" },
  "auth.allow": { check: addrList, doc: "clients allowed on every brick (default: clusterSubnet)" },
  "auth.reject": { check: addrList, doc: "clients rejected on every brick" },
  "cluster.quorum-type": { check: oneOf("none", "auto", "fixed"), doc: "replicate quorum-type" },
  "cluster.favorite-child-policy": { check: oneOf("none", "size", "ctime", "mtime", "majority"), doc: "replicate split-brain policy" },
  "cluster.read-hash-mode": { check: int(0, 5), doc: "replicate read-hash-mode (set: boot images keep it instead of spreading reads per node, model/readSpread.ts)" },
  "disperse.read-policy": { check: oneOf("round-robin", "gfid-hash"), doc: "disperse read-policy (unset: boot images read round-robin, model/readSpread.ts)" },
  "cluster.min-free-disk": { check: sizeOrPercent, doc: "distribute min-free-disk" },
  "cluster.lookup-optimize": { check: bool, doc: "distribute lookup-optimize" },
  "diagnostics.client-log-level": { check: oneOf(...LOG_LEVELS), doc: "client io-stats log-level" },
  "diagnostics.brick-log-level": { check: oneOf(...LOG_LEVELS), doc: "brick io-stats log-level" },
  "features.read-only": { check: bool, doc: "bricks refuse writes" },
  "features.shard": { check: bool, doc: "client shard xlator above distribute (default off): a file is stored in pieces, so one boot image spreads over every replica or disperse set; set it before any file is written (glusterd's advice: never turn it off on a volume with sharded files)" },
  "features.shard-block-size": { check: shardSize, doc: "shard piece size (glusterd's default 64MB)" },
  "storage.owner-uid": { check: int(0, 4294967294), doc: "posix brick-uid" },
  "storage.owner-gid": { check: int(0, 4294967294), doc: "posix brick-gid" },
};

export function isOn(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return ["on", "true", "yes", "enable", "1"].includes(v.toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------

/** A deterministic UUID (v4 layout) from a seed, so the rendered volfiles are stable across runs. */
export function stableUuid(seed: string): string {
  const h = crypto.createHash("sha256").update(seed).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const VOLNAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface GlusterArgsLike {
  host?: unknown;
  volumeName?: unknown;
  mode?: unknown;
  bricks?: unknown;
  layout?: unknown;
  replica?: unknown;
  disperse?: unknown;
  redundancy?: unknown;
  options?: unknown;
  clusterSubnet?: unknown;
  allowSameHostSets?: unknown;
  tls?: unknown;
  stateDir?: unknown;
  glusterdSocket?: unknown;
  force?: unknown;
}

/** Builds the model; adds every problem to `issues` (returns undefined when the args are unusable). */
export function buildGlusterModel(resource: string, a: GlusterArgsLike, host: Host, issues: Issues): GlusterModel | undefined {
  const name = a.volumeName === undefined || a.volumeName === "" ? resource : a.volumeName;
  if (typeof name !== "string" || !VOLNAME.test(name) || name.startsWith("-")) {
    issues.add("volumeName", name, "must be 1-64 letters, digits, `_` or `-` (glusterd's volume name rule), not starting with `-`");
  }
  const mode = a.mode;
  if (!GLUSTER_MODE_VALUES.includes(mode as GlusterMode)) issues.add("mode", mode, `must be one of ${listValues(GLUSTER_MODE_VALUES)}`);

  const layout = a.layout as Layout;
  if (!GLUSTER_LAYOUT_VALUES.includes(layout)) issues.add("layout", a.layout, `must be one of ${listValues(GLUSTER_LAYOUT_VALUES)} (distributed forms follow from the brick count)`);

  const intField = (field: string, v: unknown): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      issues.add(field, v, "must be an integer");
      return undefined;
    }
    return v;
  };
  let replica = intField("replica", a.replica);
  const disperse = intField("disperse", a.disperse);
  const redundancy = intField("redundancy", a.redundancy);

  // Bricks
  const rawBricks = Array.isArray(a.bricks) ? a.bricks : [];
  if (!Array.isArray(a.bricks) || rawBricks.length === 0) issues.add("bricks", a.bricks, "must list at least one brick");
  const bricks: BrickModel[] = [];
  const seen = new Map<string, number>();
  const ports = new Map<string, number>();
  rawBricks.forEach((b: any, i: number) => {
    const f = `bricks[${i}]`;
    if (!b || typeof b !== "object") {
      issues.add(f, b, "must be an object with host and path");
      return;
    }
    const hostOk = checkSafe(issues, `${f}.host`, b.host, { spaces: false, slashes: false, commas: false, semicolons: false });
    if (hostOk && !isHostOrIPv4(b.host)) issues.add(`${f}.host`, b.host, "must be an IPv4 address (four numbers 0-255) or a host name");
    const pathOk = checkAbsPath(issues, `${f}.path`, b.path);
    if (pathOk && (b.path === "/" || b.path.includes(":") || b.path.includes(","))) issues.add(`${f}.path`, b.path, "must be a folder below `/` without `:` or `,`");
    let port = BASE_PORT + i;
    if (b.port !== undefined && b.port !== null) {
      if (!Number.isInteger(b.port) || b.port < 1024 || b.port > 65535 || b.port === 24007 || b.port === 24008) {
        issues.add(`${f}.port`, b.port, "must be an integer from 1024 to 65535, not glusterd's 24007/24008");
      } else port = b.port;
    }
    const key = `${b.host}:${String(b.path).replace(/\/+$/, "")}`;
    if (seen.has(key)) issues.add(f, key, `duplicate brick (same as bricks[${seen.get(key)}])`);
    else seen.set(key, i);
    const pkey = `${b.host}:${port}`;
    if (mode === "standalone" && ports.has(pkey)) issues.add(`${f}.port`, port, `port already used by bricks[${ports.get(pkey)}] on ${b.host}`);
    else ports.set(pkey, i);
    let target: Host | undefined;
    if (b.target !== undefined && b.target !== null) {
      if (mode === "managed") issues.add(`${f}.target`, "(set)", "is for standalone mode (a managed volume's bricks are placed by glusterd on the hosts it probed)");
      else target = normalizeHost(issues, `${f}.target`, b.target);
    }
    const on = target ?? host;
    const systemdUnit = mode === "standalone" && on.systemd === true;
    // Without systemd nothing would start a brick on another machine: its files only go with the volume's.
    if (mode === "standalone" && !systemdUnit && on.ssh) issues.add(target ? `${f}.target` : "host", "ssh", "standalone bricks on an SSH host run as systemd units: give the host `systemd: true`");
    else if (mode === "standalone" && !systemdUnit && target && hostKey(target) !== hostKey(host)) issues.add(`${f}.target`, "(local)", "a brick placed apart from the volume's files runs as a systemd unit: give its target `systemd: true`, or leave target out");
    bricks.push({ index: i, host: String(b.host), path: String(b.path).replace(/(.)\/+$/, "$1"), port, set: 0, arbiter: false, ...(target ? { target } : {}), systemdUnit });
  });

  // Layout and set size
  let setSize = 1;
  const n = rawBricks.length;
  switch (layout) {
    case "distribute":
      for (const [f, v] of [["replica", replica], ["disperse", disperse], ["redundancy", redundancy]] as const) if (v !== undefined) issues.add(f, v, "is not used by layout `distribute`");
      setSize = 1;
      break;
    case "replicate":
      if (replica === undefined || replica < 2) issues.add("replica", a.replica, "layout `replicate` needs replica >= 2");
      else setSize = replica;
      break;
    case "arbiter":
      if (replica !== undefined && replica !== 3) issues.add("replica", replica, "layout `arbiter` is replica 3 arbiter 1");
      replica = 3;
      setSize = 3;
      break;
    case "disperse":
      if (disperse === undefined || disperse < 3) issues.add("disperse", a.disperse, "layout `disperse` needs disperse >= 3");
      else {
        setSize = disperse;
        if (redundancy === undefined) issues.add("redundancy", redundancy, "layout `disperse` needs redundancy (1 <= R < disperse/2)");
        else if (redundancy < 1 || 2 * redundancy >= disperse) issues.add("redundancy", redundancy, `must be at least 1 and less than half of disperse ${disperse} (glusterd's rule)`);
      }
      break;
    default:
      break;
  }
  if (layout !== "replicate" && layout !== "arbiter" && replica !== undefined && layout !== "distribute") issues.add("replica", replica, `is not used by layout \`${layout}\``);
  if (layout !== "disperse" && layout !== "distribute") {
    if (disperse !== undefined) issues.add("disperse", disperse, `is not used by layout \`${layout}\``);
    if (redundancy !== undefined) issues.add("redundancy", redundancy, `is not used by layout \`${layout}\``);
  }
  if (n > 0 && setSize > 1 && n % setSize !== 0) issues.add("bricks", n, `brick count ${n} is not a multiple of the set size ${setSize}`);
  const sets = setSize > 0 ? Math.max(1, Math.floor(n / setSize)) : 1;
  for (const b of bricks) {
    b.set = setSize > 1 ? Math.floor(b.index / setSize) : 0;
    b.arbiter = layout === "arbiter" && b.index % 3 === 2;
  }
  const allowSameHostSets = a.allowSameHostSets === true;
  if (a.allowSameHostSets !== undefined && typeof a.allowSameHostSets !== "boolean") issues.add("allowSameHostSets", a.allowSameHostSets, "must be a boolean");
  if (setSize > 1 && !allowSameHostSets) {
    for (let s = 0; s * setSize < bricks.length; s++) {
      const members = bricks.slice(s * setSize, (s + 1) * setSize);
      const hosts = new Map<string, number>();
      for (const b of members) {
        if (hosts.has(b.host)) issues.add(`bricks[${b.index}].host`, b.host, `same host as bricks[${hosts.get(b.host)}] in ${layout === "disperse" ? "disperse" : "replica"} set ${s}: one host failure loses redundancy (set allowSameHostSets to override, as glusterd's \`force\`)`);
        else hosts.set(b.host, b.index);
      }
    }
  }

  // Subnet and options
  const subnet = parseCidr(a.clusterSubnet);
  if (!subnet) issues.add("clusterSubnet", a.clusterSubnet, "must be an IPv4 subnet in CIDR form such as 10.88.1.0/24");
  const options: Record<string, string> = {};
  if (a.options !== undefined && a.options !== null && (typeof a.options !== "object" || Array.isArray(a.options))) issues.add("options", a.options, "must be a map of glusterd keys to string values");
  const rawOpts = (a.options && typeof a.options === "object" ? a.options : {}) as Record<string, unknown>;
  for (const key of Object.keys(rawOpts).sort()) {
    const v = rawOpts[key];
    const f = `options["${key}"]`;
    const spec = OPTIONS[key];
    if (!spec) {
      // The value shown is the option's value; the key is in the field name already.
      issues.add(f, v, `unknown option key ${show(key)} (known: ${Object.keys(OPTIONS).sort().join(", ")})`);
      continue;
    }
    if (!checkSafe(issues, f, v, { spaces: false, semicolons: false })) continue;
    const why = spec.check(v as string);
    if (why) issues.add(f, v, why);
    else options[key] = v as string;
  }
  if (options["auth.allow"] === "*" ) issues.add(`options["auth.allow"]`, "*", "`*` allows every address; give the cluster subnet or a list of addresses");
  if (options["auth.allow"] === undefined && subnet) options["auth.allow"] = a.clusterSubnet as string;

  // TLS
  let tls: TlsModel | undefined;
  if (a.tls !== undefined && a.tls !== null) {
    const t = a.tls as Record<string, unknown>;
    let ok = true;
    for (const k of ["key", "certificate", "ca"]) {
      if (typeof t[k] !== "string" || !(t[k] as string).includes("-----BEGIN")) {
        issues.add(`tls.${k}`, "(secret)", "must be PEM text");
        ok = false;
      } else if ((t[k] as string).includes("`")) {
        issues.add(`tls.${k}`, "(secret)", "contains a backtick");
        ok = false;
      }
    }
    if (ok) tls = { key: t.key as string, certificate: t.certificate as string, ca: t.ca as string };
  }
  for (const k of ["client.ssl", "server.ssl"]) if (isOn(options[k], false) && !tls) issues.add(`options["${k}"]`, options[k], "TLS is on but `tls` (key, certificate, ca) is not given");
  // The TLS files are written with the volume's files, on its host; a brick unit on a host of its own would not find them.
  if (tls && bricks.some((b) => b.systemdUnit)) issues.add("tls", "(secret)", "is not supported yet for bricks that run as systemd units (the key, certificate and CA would be needed on every brick's host); use a managed volume with glusterd's /etc/ssl/glusterfs.* files");

  // State dir and host
  let stateDir = DEFAULT_STATE_DIR;
  if (a.stateDir !== undefined && a.stateDir !== null && a.stateDir !== "") {
    if (checkAbsPath(issues, "stateDir", a.stateDir)) stateDir = path.posix.normalize(a.stateDir as string).replace(/(.)\/+$/, "$1");
  }
  let glusterdSocket: string | undefined;
  if (a.glusterdSocket !== undefined && a.glusterdSocket !== null && a.glusterdSocket !== "") {
    if (checkAbsPath(issues, "glusterdSocket", a.glusterdSocket)) glusterdSocket = a.glusterdSocket as string;
  }
  if (a.force !== undefined && typeof a.force !== "boolean") issues.add("force", a.force, "must be a boolean");

  if (!issues.ok) return undefined;
  const volumeId = stableUuid(`netboot-gluster:${name}:${bricks.map((b) => `${b.host}:${b.path}`).join(",")}`);
  return {
    resource,
    name: name as string,
    mode: mode as GlusterMode,
    host,
    layout,
    setSize,
    replica: replica ?? (layout === "arbiter" ? 3 : 0),
    disperse: disperse ?? 0,
    redundancy: redundancy ?? 0,
    bricks,
    sets,
    options,
    clusterSubnet: a.clusterSubnet as string,
    allowSameHostSets,
    tls,
    stateDir,
    volumeId,
    systemd: host.systemd === true,
    glusterdSocket,
    force: a.force === true || allowSameHostSets,
  };
}

/** The `gluster volume create` argv tail for a model (managed mode). */
export function createArgs(m: GlusterModel): string[] {
  const out = ["volume", "create", m.name];
  switch (m.layout) {
    case "distribute":
      break;
    case "replicate":
      out.push("replica", String(m.replica));
      break;
    case "arbiter":
      out.push("replica", "3", "arbiter", "1");
      break;
    case "disperse":
      out.push("disperse", String(m.disperse), "redundancy", String(m.redundancy));
      break;
    default: {
      const never: never = m.layout;
      throw new Error(`unknown layout ${never}`);
    }
  }
  out.push("transport", "tcp");
  for (const b of m.bricks) out.push(`${b.host}:${b.path}`);
  if (m.force) out.push("force");
  return out;
}
