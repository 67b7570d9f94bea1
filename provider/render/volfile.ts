/**
 * GlusterFS volfiles (client and brick) and brick systemd units. Pure: model -> RenderedFile[].
 *
 * The graphs are the ones glusterd 10.x builds (glusterd-volgen.c; measured against glusterd 10.3 by
 * test/integration/glusterOracle.test.ts), plus what serving without glusterd needs:
 * - client: `remote-port` on every protocol/client (no port mapper);
 * - brick: `transport.socket.listen-port` on protocol/server;
 * - no `auth.login.*` credentials (glusterd's are random; access control is `auth.addr.*`);
 * - storage/posix without `volume-id` (it would require the brick root xattr) and with `shared-brick-count 1`;
 * - marker's timestamp-file below the state dir instead of /var/lib/glusterd;
 * - with TLS, the certificate paths (`transport.socket.ssl-own-cert` etc.) below the state dir.
 * Format reference: https://docs.gluster.org/en/main/Developer-guide/xlator-graph/ (libglusterfs graph.y).
 */
import * as path from "path";
import { GlusterModel, BrickModel, isOn } from "../model/gluster";
import { RenderedFile } from "./types";

/** A volume in a graph, before text. Options keep insertion order. */
export interface XlatorSpec {
  name: string;
  type: string;
  options: Array<[string, string]>;
  subvolumes: string[];
}

/** Paths of everything standalone mode writes (host paths, not below a local root). */
export interface GlusterPaths {
  dir: string;
  client: string;
  brick: (b: BrickModel) => string;
  unit: (b: BrickModel) => string;
  tlsDir: string;
  markerTimestamp: string;
  logDir: string;
  runDir: string;
}

export function glusterPaths(m: GlusterModel): GlusterPaths {
  const dir = path.posix.join(m.stateDir, m.name);
  return {
    dir,
    client: `${dir}/${m.name}.tcp-fuse.vol`,
    brick: (b) => `${dir}/${brickVolfileName(m.name, b)}`,
    // a brick that runs as a unit is installed where systemd reads units; otherwise the file is there to install by hand
    unit: (b) => (b.systemdUnit ? `/etc/systemd/system/${unitName(m.name, b)}` : `${dir}/systemd/${unitName(m.name, b)}`),
    tlsDir: `${dir}/tls`,
    markerTimestamp: `${dir}/marker.tstamp`,
    logDir: `/var/log/glusterfs/netboot-${m.name}`,
    runDir: `/run/netboot-gluster-${m.name}`,
  };
}

/** glusterd's name: `VOL.HOST.brick-path.vol` (the path's slashes become dashes, the leading one dropped). */
export function brickVolfileName(vol: string, b: BrickModel): string {
  return `${vol}.${b.host}.${b.path.replace(/^\/+/, "").replace(/\//g, "-")}.vol`;
}

export function unitName(vol: string, b: BrickModel): string {
  return `netboot-glusterfsd-${vol}-${b.index}.service`;
}

/** Full paths as the daemons see them (below a local target root); identity by default. */
export type FullPath = (p: string) => string;
const identity: FullPath = (p) => p;

// ---------------------------------------------------------------------------------------------------------
// Text

/** Quotes a value only when glusterfs would otherwise split or misread it (validation keeps these rare). */
function word(v: string): string {
  if (v !== "" && !/[\s"\\#]/.test(v) && !["volume", "type", "option", "subvolumes", "end-volume"].includes(v.toLowerCase())) return v;
  return `"${v.replace(/["\\]/g, (c) => "\\" + c)}"`;
}

export function volfileText(graph: XlatorSpec[]): string {
  const blocks = graph.map((x) => {
    const lines = [`volume ${word(x.name)}`, `    type ${x.type}`];
    for (const [k, v] of x.options) lines.push(`    option ${k} ${word(v)}`);
    if (x.subvolumes.length) lines.push(`    subvolumes ${x.subvolumes.map(word).join(" ")}`);
    lines.push("end-volume");
    return lines.join("\n") + "\n";
  });
  return blocks.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Graphs

function tlsOptions(m: GlusterModel, on: boolean, full: FullPath): Array<[string, string]> {
  const out: Array<[string, string]> = [["transport.socket.ssl-enabled", on ? "on" : "off"]];
  if (on && m.tls) {
    const p = glusterPaths(m);
    out.push(["transport.socket.ssl-own-cert", full(`${p.tlsDir}/glusterfs.pem`)]);
    out.push(["transport.socket.ssl-private-key", full(`${p.tlsDir}/glusterfs.key`)]);
    out.push(["transport.socket.ssl-ca-list", full(`${p.tlsDir}/glusterfs.ca`)]);
  }
  return out;
}

/** The client (FUSE) graph, bottom to top. `standalone` adds remote-port. */
export function clientGraph(m: GlusterModel, opts: { standalone: boolean; full?: FullPath } = { standalone: true }): XlatorSpec[] {
  const o = m.options;
  const full = opts.full ?? identity;
  const V = m.name;
  const g: XlatorSpec[] = [];
  const clients = m.bricks.map((b) => {
    const options: Array<[string, string]> = [
      ["send-gids", "true"],
      ["strict-locks", "off"],
    ];
    if (o["client.event-threads"]) options.push(["event-threads", o["client.event-threads"]]);
    options.push(["transport.socket.keepalive-count", "9"], ["transport.socket.keepalive-interval", "2"], ["transport.socket.keepalive-time", "20"]);
    if (o["network.frame-timeout"]) options.push(["frame-timeout", o["network.frame-timeout"]]);
    options.push(["transport.tcp-user-timeout", "0"]);
    options.push(...tlsOptions(m, isOn(o["client.ssl"], false), full));
    options.push(["transport.address-family", "inet"], ["transport-type", "tcp"], ["remote-subvolume", b.path], ["remote-host", b.host]);
    if (opts.standalone) options.push(["remote-port", String(b.port)]);
    options.push(["ping-timeout", o["network.ping-timeout"] ?? "42"]);
    const x: XlatorSpec = { name: `${V}-client-${b.index}`, type: "protocol/client", options, subvolumes: [] };
    g.push(x);
    return x.name;
  });

  let dhtChildren: string[];
  switch (m.layout) {
    case "distribute":
      dhtChildren = clients;
      break;
    case "replicate":
    case "arbiter":
      dhtChildren = [];
      for (let s = 0; s < m.sets; s++) {
        const members = clients.slice(s * m.setSize, (s + 1) * m.setSize);
        const options: Array<[string, string]> = [];
        if (o["cluster.favorite-child-policy"]) options.push(["favorite-child-policy", o["cluster.favorite-child-policy"]]);
        if (o["cluster.quorum-type"]) options.push(["quorum-type", o["cluster.quorum-type"]]);
        if (o["cluster.read-hash-mode"]) options.push(["read-hash-mode", o["cluster.read-hash-mode"]]);
        options.push(["use-anonymous-inode", "yes"], ["use-compound-fops", "off"], ["granular-entry-heal", "on"]);
        if (m.layout === "arbiter") options.push(["arbiter-count", "1"]);
        options.push(["volume-id", m.volumeId], ["afr-pending-xattr", members.join(",")]);
        const x: XlatorSpec = { name: `${V}-replicate-${s}`, type: "cluster/replicate", options, subvolumes: members };
        g.push(x);
        dhtChildren.push(x.name);
      }
      break;
    case "disperse":
      dhtChildren = [];
      for (let s = 0; s < m.sets; s++) {
        const members = clients.slice(s * m.setSize, (s + 1) * m.setSize);
        // glusterd writes a volume-set option before the ones it generates (as on replicate above)
        const options: Array<[string, string]> = o["disperse.read-policy"] ? [["read-policy", o["disperse.read-policy"]]] : [];
        options.push(["redundancy", String(m.redundancy)]);
        const x: XlatorSpec = { name: `${V}-disperse-${s}`, type: "cluster/disperse", options, subvolumes: members };
        g.push(x);
        dhtChildren.push(x.name);
      }
      break;
    default: {
      const never: never = m.layout;
      throw new Error(`unknown layout ${never}`);
    }
  }

  const dhtOptions: Array<[string, string]> = [];
  if (o["cluster.min-free-disk"]) dhtOptions.push(["min-free-disk", o["cluster.min-free-disk"]]);
  if (o["cluster.lookup-optimize"]) dhtOptions.push(["lookup-optimize", o["cluster.lookup-optimize"]]);
  dhtOptions.push(["force-migration", "off"], ["lock-migration", "off"]);
  g.push({ name: `${V}-dht`, type: "cluster/distribute", options: dhtOptions, subvolumes: dhtChildren });
  // shard sits right above distribute, as glusterd places it: each piece is a file of its own that dht places
  let top = `${V}-dht`;
  if (isOn(o["features.shard"], false)) {
    g.push({ name: `${V}-shard`, type: "features/shard", options: o["features.shard-block-size"] ? [["shard-block-size", o["features.shard-block-size"]]] : [], subvolumes: [top] });
    top = `${V}-shard`;
  }
  g.push({ name: `${V}-utime`, type: "features/utime", options: [["noatime", "on"]], subvolumes: [top] });

  // Performance xlators in glusterd's order, each only when on.
  const replicated = m.layout === "replicate" || m.layout === "arbiter";
  const perf: Array<[string, string, boolean, Array<[string, string]>]> = [
    ["write-behind", "performance/write-behind", isOn(o["performance.write-behind"], true), o["performance.write-behind-window-size"] ? [["cache-size", o["performance.write-behind-window-size"]]] : []],
    ["read-ahead", "performance/read-ahead", isOn(o["performance.read-ahead"], false), []],
    ["readdir-ahead", "performance/readdir-ahead", isOn(o["performance.readdir-ahead"], false), [["rda-cache-limit", "10MB"], ["rda-request-size", "131072"], ["parallel-readdir", "off"]]],
    ["io-cache", "performance/io-cache", isOn(o["performance.io-cache"], false), [
      ...(o["performance.cache-max-file-size"] ? [["max-file-size", o["performance.cache-max-file-size"]] as [string, string]] : []),
      ...(o["performance.cache-size"] ? [["cache-size", o["performance.cache-size"]] as [string, string]] : []),
    ]],
    ["open-behind", "performance/open-behind", isOn(o["performance.open-behind"], true), []],
    ["quick-read", "performance/quick-read", isOn(o["performance.quick-read"], true), [
      ...(o["performance.qr-cache-timeout"] ? [["cache-timeout", o["performance.qr-cache-timeout"]] as [string, string]] : []),
      ...(o["performance.cache-size"] ? [["cache-size", o["performance.cache-size"]] as [string, string]] : []),
    ]],
    ["nl-cache", "performance/nl-cache", isOn(o["performance.nl-cache"], false), [["nl-cache-limit", "10MB"]]],
    ["md-cache", "performance/md-cache", isOn(o["performance.stat-prefetch"], true), o["performance.md-cache-timeout"] ? [["md-cache-timeout", o["performance.md-cache-timeout"]]] : []],
    ["io-threads", "performance/io-threads", isOn(o["performance.client-io-threads"], !replicated), o["performance.io-thread-count"] ? [["thread-count", o["performance.io-thread-count"]]] : []],
  ];
  let below = `${V}-utime`;
  for (const [suffix, type, on, options] of perf) {
    if (!on) continue;
    g.push({ name: `${V}-${suffix}`, type, options, subvolumes: [below] });
    below = `${V}-${suffix}`;
  }
  g.push({ name: V, type: "debug/io-stats", options: ioStatsOptions(o["diagnostics.client-log-level"]), subvolumes: [below] });
  return g;
}

function ioStatsOptions(level: string | undefined): Array<[string, string]> {
  return [["global-threading", "off"], ["count-fop-hits", "off"], ["latency-measurement", "off"], ["threads", "16"], ["log-level", level ?? "INFO"]];
}

/** One brick's server graph, bottom to top. */
export function brickGraph(m: GlusterModel, b: BrickModel, opts: { standalone: boolean; full?: FullPath } = { standalone: true }): XlatorSpec[] {
  const o = m.options;
  const full = opts.full ?? identity;
  const V = m.name;
  const P = b.path;
  const g: XlatorSpec[] = [];
  const add = (suffix: string, type: string, options: Array<[string, string]>) => {
    const below = g.length ? [g[g.length - 1].name] : [];
    g.push({ name: suffix.startsWith("/") ? suffix : `${V}-${suffix}`, type, options, subvolumes: below });
  };
  const posix: Array<[string, string]> = [];
  if (o["storage.owner-gid"]) posix.push(["brick-gid", o["storage.owner-gid"]]);
  if (o["storage.owner-uid"]) posix.push(["brick-uid", o["storage.owner-uid"]]);
  posix.push(["shared-brick-count", "1"], ["fips-mode-rchecksum", "on"], ["directory", P]);
  add("posix", "storage/posix", posix);
  if (b.arbiter) add("arbiter", "features/arbiter", []);
  add("trash", "features/trash", [["trash-internal-op", "off"], ["brick-path", P], ["trash-dir", ".trashcan"]]);
  add("changelog", "features/changelog", [["changelog-barrier-timeout", "120"], ["changelog-notification", "off"], ["changelog-dir", `${P}/.glusterfs/changelogs`], ["changelog-brick", P]]);
  add("bitrot-stub", "features/bitrot-stub", [["bitrot", "disable"], ["export", P]]);
  add("access-control", "features/access-control", []);
  add("locks", "features/locks", [["enforce-mandatory-lock", "off"]]);
  add("worm", "features/worm", [["worm-files-deletable", "on"], ["worm-file-level", "off"], ["worm", "off"]]);
  add("read-only", "features/read-only", [["read-only", isOn(o["features.read-only"], false) ? "on" : "off"]]);
  add("leases", "features/leases", [["leases", "off"]]);
  add("upcall", "features/upcall", [["cache-invalidation", "off"]]);
  add("io-threads", "performance/io-threads", o["performance.io-thread-count"] ? [["thread-count", o["performance.io-thread-count"]]] : []);
  add("selinux", "features/selinux", [["selinux", "on"]]);
  add("marker", "features/marker", [
    ["inode-quota", "off"], ["quota", "off"], ["gsync-force-xtime", "off"], ["xtime", "off"], ["quota-version", "0"],
    ["timestamp-file", full(glusterPaths(m).markerTimestamp)], ["volume-uuid", m.volumeId],
  ]);
  add("barrier", "features/barrier", [["barrier-timeout", "120"], ["barrier", "disable"]]);
  const index: Array<[string, string]> = m.layout === "disperse"
    ? [["xattrop64-watchlist", "trusted.ec.dirty"]]
    : [["xattrop-pending-watchlist", `trusted.afr.${V}-`], ["xattrop-dirty-watchlist", "trusted.afr.dirty"]];
  add("index", "features/index", [...index, ["index-base", `${P}/.glusterfs/indices`]]);
  add("quota", "features/quota", [["deem-statfs", "off"], ["server-quota", "off"], ["volume-uuid", V]]);
  add(P, "debug/io-stats", [...ioStatsOptions(o["diagnostics.brick-log-level"]), ["volume-id", m.volumeId], ["unique-id", P]]);
  const server: Array<[string, string]> = [["transport.listen-backlog", "1024"]];
  if (o["server.event-threads"]) server.push(["event-threads", o["server.event-threads"]]);
  server.push(["transport.socket.keepalive-count", "9"], ["transport.socket.keepalive-interval", "2"], ["transport.socket.keepalive-time", "20"]);
  server.push(...tlsOptions(m, isOn(o["server.ssl"], false), full));
  server.push(["transport.socket.keepalive", "1"]);
  if (o["auth.reject"]) server.push([`auth.addr.${P}.reject`, o["auth.reject"]]);
  server.push([`auth.addr.${P}.allow`, o["auth.allow"]], ["auth-path", P], ["transport.address-family", "inet"], ["transport-type", "tcp"]);
  if (opts.standalone) server.push(["transport.socket.listen-port", String(b.port)]);
  add("server", "protocol/server", server);
  return g;
}

// ---------------------------------------------------------------------------------------------------------
// Files

/**
 * The volfile header. No backticks here: glusterfs runs backticks through a shell even inside comments
 * (the project's common `header()` quotes commands in backticks, so it must not be used for volfiles).
 */
function volfileHeader(what: string): string {
  return `# Rendered by netboot for ${what}. Do not edit: pulumi up replaces this file and pulumi refresh reports edits.\n\n`;
}

export function renderClientVolfile(m: GlusterModel, full: FullPath = identity): RenderedFile {
  return { path: glusterPaths(m).client, mode: 0o644, content: volfileHeader(`the client of GlusterFS volume ${m.name}`) + volfileText(clientGraph(m, { standalone: true, full })) };
}

export function renderBrickVolfile(m: GlusterModel, b: BrickModel, full: FullPath = identity): RenderedFile {
  return { path: glusterPaths(m).brick(b), mode: 0o644, content: volfileHeader(`brick ${b.index} (${b.host}:${b.path}) of GlusterFS volume ${m.name}`) + volfileText(brickGraph(m, b, { standalone: true, full })) };
}

/** A systemd unit that serves one brick with `glusterfsd -f` (no glusterd). */
export function renderBrickUnit(m: GlusterModel, b: BrickModel, full: FullPath = identity): RenderedFile {
  const p = glusterPaths(m);
  const id = `${m.name}-${b.index}`;
  const content = [
    "# Rendered by netboot. Do not edit: `pulumi up` replaces this file and `pulumi refresh` reports edits.",
    "[Unit]",
    `Description=GlusterFS brick ${b.host}:${b.path} of volume ${m.name} (standalone, no glusterd)`,
    "After=network-online.target local-fs.target",
    "Wants=network-online.target",
    `ConditionPathIsDirectory=${b.path}`,
    "",
    "[Service]",
    "Type=simple",
    // features/index refuses to start without BRICK/.glusterfs (glusterd creates it at volume create).
    `ExecStartPre=/bin/mkdir -p ${b.path}/.glusterfs ${full(p.logDir)} ${full(p.runDir)}`,
    `ExecStart=/usr/sbin/glusterfsd -N -f ${full(p.brick(b))} -l ${full(`${p.logDir}/brick-${id}.log`)} -p ${full(`${p.runDir}/brick-${id}.pid`)}`,
    "Restart=on-failure",
    // glusterfsd leaves with the signal's number (cleanup_and_exit): a stop's SIGTERM is a clean end, not a failure
    "SuccessExitStatus=15",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
  return { path: p.unit(b), mode: 0o644, content };
}

/** TLS material (mode 0600), only when TLS is configured. */
export function renderTlsFiles(m: GlusterModel): RenderedFile[] {
  if (!m.tls) return [];
  const d = glusterPaths(m).tlsDir;
  const nl = (s: string) => (s.endsWith("\n") ? s : s + "\n");
  return [
    { path: `${d}/glusterfs.key`, mode: 0o600, content: nl(m.tls.key) },
    { path: `${d}/glusterfs.pem`, mode: 0o600, content: nl(m.tls.certificate) },
    { path: `${d}/glusterfs.ca`, mode: 0o600, content: nl(m.tls.ca) },
  ];
}

/**
 * What standalone mode writes on the volume's host: the client volfile first, then the volfiles and unit files of
 * the bricks that do not run as units of their own (`systemdUnit`: see renderBrickFiles), then TLS material.
 */
export function renderStandalone(m: GlusterModel, full: FullPath = identity): RenderedFile[] {
  const withVolume = m.bricks.filter((b) => !b.systemdUnit);
  return [
    renderClientVolfile(m, full),
    ...withVolume.map((b) => renderBrickVolfile(m, b, full)),
    ...withVolume.map((b) => renderBrickUnit(m, b, full)),
    ...renderTlsFiles(m),
  ];
}

/** A brick that runs as a systemd unit on its own host: its volfile and its unit, as one set placed on that host. */
export function renderBrickFiles(m: GlusterModel, b: BrickModel, full: FullPath = identity): RenderedFile[] {
  return [renderBrickVolfile(m, b, full), renderBrickUnit(m, b, full)];
}
