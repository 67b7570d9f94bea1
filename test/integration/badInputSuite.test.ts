/**
 * The bad-input suite, through the CLI as a user meets it: every bad program is refused at `pulumi preview`,
 * each error named with its resource, field and value (escaped, cut), with no stack trace and no gRPC noise,
 * and nothing changes: the target folder stays empty and the stack's state is byte for byte what it was.
 *
 * CLI runs are slow (a preview costs several seconds), so many bad programs share one run: each bad component
 * is one "program" of the suite, and one run holds a group of them (they are independent, so every one must be
 * reported: that is the all-errors-at-once property itself). A custom resource (File, FileSet) fails at its
 * check, which the engine runs one at a time and stops at: one per run, beside a group of components.
 *
 * The injection matrix: every string field of the components that reaches a rendered file or a command line,
 * with each payload (newline, NUL, backtick, `${`, double quote, 5,000 characters).
 */
import * as fs from "fs";
import * as path from "path";
import { cliProject } from "../helpers/engine";
import { REPO, hashTree, tmpDir } from "../helpers/env";
import { show } from "../../provider/model/errors";

jest.setTimeout(600_000);

type Token = "PxeServer" | "NodeGroup" | "GlusterVolume" | "BootImage" | "File" | "FileSet" | "Cluster";

interface Case {
  token: Token;
  args: Record<string, unknown>;
  /** the issue lines that must appear: field and value (the value is shown as formatIssue shows it) */
  expect: Array<{ field: string; value?: unknown; message?: string; orUnder?: string }>;
}

const ROOT = "@ROOT@";
const INFO = {
  name: "pxe", host: { root: ROOT }, subnet: "10.71.0.0/24", serverIp: "10.71.0.1", dhcpMode: "static",
  hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.71.0.1/",
  pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"], dnsmasqUnit: "dnsmasq",
};
const BASE: Record<Exclude<Token, "File" | "FileSet" | "Cluster">, Record<string, unknown>> = {
  PxeServer: { host: { root: ROOT }, interface: "nbs0", subnet: "10.71.0.0/24", serverIp: "10.71.0.1", dhcpMode: "static" },
  NodeGroup: { server: INFO, nodes: [{ name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.71.0.10" }], boot: { kernelUrl: "http://10.71.0.1/k", initrdUrl: "http://10.71.0.1/i" } },
  GlusterVolume: { host: { root: ROOT }, mode: "standalone", layout: "distribute", clusterSubnet: "10.0.0.0/24", bricks: [{ host: "10.0.0.1", path: "/data/b1" }] },
  BootImage: { server: INFO, imageSource: "/srv/no-such-image", transport: "http", kernelVersion: "6.1.0-1-amd64" },
};

/** A copy of `base` with the value at `at` (dotted path, numeric parts index arrays) set to `v`. */
function withValue(base: Record<string, unknown>, at: string, v: unknown): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(base));
  const parts = at.split(".");
  let o = out;
  for (const p of parts.slice(0, -1)) o = o[p] ??= {};
  o[parts[parts.length - 1]] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------- injection matrix

/** [token, where the value goes in the args, the field the issue names] */
const STRING_FIELDS: Array<[keyof typeof BASE, string, string]> = [
  ["PxeServer", "interface", "interface"],
  ["PxeServer", "subnet", "subnet"],
  ["PxeServer", "serverIp", "serverIp"],
  ["PxeServer", "domain", "domain"],
  ["PxeServer", "bootFiles.bios", "bootFiles.bios"],
  ["PxeServer", "ipxeFiles.undionly.kpxe", 'ipxeFiles["undionly.kpxe"]'],
  ["PxeServer", "baseDir", "baseDir"],
  ["PxeServer", "dnsmasqUnit", "dnsmasqUnit"],
  ["PxeServer", "host.root", "host.root"],
  ["NodeGroup", "nodes.0.name", "nodes[0].name"],
  ["NodeGroup", "nodes.0.macs.0", "nodes[0].macs[0]"],
  ["NodeGroup", "nodes.0.ip", "nodes[0].ip"],
  ["NodeGroup", "nodes.0.kernelArgs", "nodes[0].kernelArgs"],
  ["NodeGroup", "boot.kernelUrl", "boot.kernelUrl"],
  ["NodeGroup", "boot.initrdUrl", "boot.initrdUrl"],
  ["NodeGroup", "boot.args", "boot.args"],
  ["GlusterVolume", "volumeName", "volumeName"],
  ["GlusterVolume", "bricks.0.host", "bricks[0].host"],
  ["GlusterVolume", "bricks.0.path", "bricks[0].path"],
  ["GlusterVolume", "options.auth.allow", 'options["auth.allow"]'],
  ["GlusterVolume", "clusterSubnet", "clusterSubnet"],
  ["GlusterVolume", "stateDir", "stateDir"],
  ["BootImage", "kernelVersion", "kernelVersion"],
  ["BootImage", "kernelPath", "kernelPath"],
  ["BootImage", "imageSource", "imageSource"],
  ["BootImage", "kernelArgs", "kernelArgs"],
  ["BootImage", "modules.0", "modules[0]"],
];

const PAYLOADS: Record<string, string> = {
  newline: "/nb1\nnb2",
  nul: "/nb1\0nb2",
  backtick: "/nb`id`",
  expansion: "/nb${x}",
  quote: '/nb"q',
  long: "/" + "l".repeat(4999),
};

/** `options.auth.allow` means the key `auth.allow` of `options`; `ipxeFiles.undionly.kpxe` likewise. */
function setField(base: Record<string, unknown>, at: string, v: unknown): Record<string, unknown> {
  for (const m of ["options.", "ipxeFiles."]) if (at.startsWith(m)) return { ...JSON.parse(JSON.stringify(base)), [m.slice(0, -1)]: { [at.slice(m.length)]: v } };
  if (at === "modules.0") return { ...JSON.parse(JSON.stringify(base)), modules: [v] };
  return withValue(base, at, v);
}

function injectionCases(payload: string): Case[] {
  return STRING_FIELDS.map(([token, at, field]) => ({ token, args: setField(BASE[token], at, payload), expect: [{ field, value: payload }] }));
}

// ------------------------------------------------------------------------------------------ other bad input

const OTHER: Case[] = [
  // addresses and host names
  { token: "GlusterVolume", args: withValue(BASE.GlusterVolume, "bricks.0.host", "10.0.0.300"), expect: [{ field: "bricks[0].host", value: "10.0.0.300", message: "IPv4 address" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "serverIp", "10.71.0.256"), expect: [{ field: "serverIp", value: "10.71.0.256" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "subnet", "10.71.0.0/33"), expect: [{ field: "subnet", value: "10.71.0.0/33" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "serverIp", "10.72.0.1"), expect: [{ field: "serverIp", value: "10.72.0.1", message: "is not a host address of subnet" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "dhcpMode", "authoritive"), expect: [{ field: "dhcpMode", value: "authoritive" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "httpPort", 70000), expect: [{ field: "httpPort", value: 70000 }] },
  { token: "PxeServer", args: withValue(withValue(BASE.PxeServer, "dhcpMode", "authoritative"), "dynamicRange", { start: "10.71.0.1", end: "10.71.0.9" }), expect: [{ field: "dynamicRange", value: "10.71.0.1-10.71.0.9", message: "contains the server's own address" }] },
  // unit names and missing files
  { token: "PxeServer", args: withValue(BASE.PxeServer, "dnsmasqUnit", "dnsmasq;reboot"), expect: [{ field: "dnsmasqUnit", value: "dnsmasq;reboot", message: "systemd unit name" }] },
  { token: "PxeServer", args: withValue(BASE.PxeServer, "dnsmasqUnit", "-dnsmasq"), expect: [{ field: "dnsmasqUnit", value: "-dnsmasq" }] },
  { token: "PxeServer", args: { ...BASE.PxeServer, bootFiles: { bios: "custom.kpxe" }, ipxeFiles: { "custom.kpxe": "/srv/no-such-ipxe/custom.kpxe" } }, expect: [{ field: 'ipxeFiles["custom.kpxe"]', value: "/srv/no-such-ipxe/custom.kpxe", message: "does not exist on the build host" }] },
  { token: "PxeServer", args: { ...BASE.PxeServer, bootFiles: { bios: "custom.kpxe" }, ipxeFiles: { "custom.kpxe": "/usr/lib/ipxe" } }, expect: [{ field: 'ipxeFiles["custom.kpxe"]', value: "/usr/lib/ipxe", message: "is a folder" }] },
  // node groups
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "nodes.0.ip", "10.71.0.1"), expect: [{ field: "nodes[0].ip", value: "10.71.0.1", message: "own address" }] },
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "nodes.0.ip", "10.99.0.5"), expect: [{ field: "nodes[0].ip", value: "10.99.0.5", message: "outside" }] },
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "nodes.0.kernelArgs", "console=ttyS0 " + "x".repeat(200_000)), expect: [{ field: "nodes[0].kernelArgs", value: "console=ttyS0 " + "x".repeat(200_000), message: "at most 2047" }] },
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "nodes", [{ name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.71.0.10" }, { name: "n2", macs: ["52:54:00:00:00:01"], ip: "10.71.0.10" }]), expect: [{ field: "nodes[1].macs[0]", value: "52:54:00:00:00:01" }, { field: "nodes[1].ip", value: "10.71.0.10" }] },
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "boot", { kernelUrl: "ftp://x/k", initrdUrl: "http://10.71.0.1/i" }), expect: [{ field: "boot.kernelUrl", value: "ftp://x/k" }] },
  { token: "NodeGroup", args: withValue(BASE.NodeGroup, "nodes.0.firmware", "efi-sparc"), expect: [{ field: "nodes[0].firmware", value: "efi-sparc" }] },
  // gluster
  { token: "GlusterVolume", args: withValue(BASE.GlusterVolume, "bricks.0.path", "/" + "d/".repeat(5000)), expect: [{ field: "bricks[0].path", value: "/" + "d/".repeat(5000), message: "at most 4095" }] },
  { token: "GlusterVolume", args: { ...BASE.GlusterVolume, options: { "no.such.key": "1" } }, expect: [{ field: 'options["no.such.key"]', value: "1", message: 'unknown option key "no.such.key"' }] },
  { token: "GlusterVolume", args: { ...BASE.GlusterVolume, options: { "performance.cache-size": "lots" } }, expect: [{ field: 'options["performance.cache-size"]', value: "lots" }] },
  { token: "GlusterVolume", args: { ...BASE.GlusterVolume, layout: "replicate", replica: 2, bricks: [{ host: "10.0.0.1", path: "/d/a" }, { host: "10.0.0.1", path: "/d/b" }] }, expect: [{ field: "bricks[1].host", value: "10.0.0.1", message: "same host" }] },
  { token: "GlusterVolume", args: { ...BASE.GlusterVolume, bricks: [{ host: "10.0.0.1", path: "/d/a" }, { host: "10.0.0.1", path: "/d/a" }] }, expect: [{ field: "bricks[1]", value: "10.0.0.1:/d/a", message: "duplicate brick" }] },
  { token: "GlusterVolume", args: withValue(BASE.GlusterVolume, "mode", "clustered"), expect: [{ field: "mode", value: "clustered" }] },
  // boot images
  { token: "BootImage", args: withValue(BASE.BootImage, "kernelArgs", "quiet; shell"), expect: [{ field: "kernelArgs", value: "quiet; shell", message: "nginx syntax" }] },
  { token: "BootImage", args: withValue(BASE.BootImage, "kernelArgs", "quiet #x"), expect: [{ field: "kernelArgs", value: "quiet #x" }] },
  { token: "BootImage", args: withValue(BASE.BootImage, "mode", "sideways"), expect: [{ field: "mode", value: "sideways" }] },
  { token: "BootImage", args: withValue(BASE.BootImage, "transport", "nfs"), expect: [{ field: "nfsExport", message: "IPv4:/export" }] },
  { token: "BootImage", args: { ...BASE.BootImage, transport: "glusterfs", mode: "hybrid", hybridPaths: ["/etc"], glusterVolfile: "volume a\n  type protocol/client\nend-volume\n" }, expect: [{ field: "hybridPaths[0]", value: "/etc" }] },
  { token: "BootImage", args: withValue(BASE.BootImage, "imagePath", "/images"), expect: [{ field: "imagePath", value: "/images", message: "only used with glusterfs or nfs" }] },
  // the inventory
  { token: "Cluster", args: { inventory: "version: 1\nservers:\n  a: 1\n  a: 2\n" }, expect: [{ field: "inventory", message: 'duplicate key "a" (first at line 3)' }] },
  { token: "Cluster", args: { inventory: "version: 1\nservers:\n  pxe:\n    interface: nbs0\n    subnet: 10.71.0.0/33\n    serverIp: 10.71.0.1\n    dhcpMode: static\n" }, expect: [{ field: "inventory", message: "/servers/pxe/subnet" }] },
];

/** Custom resources: the engine checks them one at a time and stops at the first failure, so one per run. */
const CUSTOM: Case[] = [
  { token: "File", args: { host: { root: ROOT }, path: "/", content: "x" }, expect: [{ field: "path", value: "/", message: "names a folder" }] },
  { token: "FileSet", args: { host: { root: ROOT }, files: { "/etc/a": { content: "x", source: "/etc/hostname" } } }, expect: [{ field: 'files["/etc/a"]', value: "content+source", message: "not both" }] },
  { token: "FileSet", args: { host: { root: ROOT }, files: { "/etc/a": { source: "/srv/no-such-source" } } }, expect: [{ field: 'files["/etc/a"].source', value: "/srv/no-such-source", message: "does not exist on the build host" }] },
  { token: "FileSet", args: { host: { root: ROOT }, files: { "/etc/a": { content: "x" } }, signal: { systemdUnit: "dnsmasq\n\0", signal: "BOGUS" } }, expect: [{ field: "signal.systemdUnit", value: "dnsmasq\n\0" }, { field: "signal.signal", value: "BOGUS" }] },
  { token: "File", args: { host: { root: ROOT }, path: "/etc/n\nl", content: "x".repeat(100_000) }, expect: [{ field: "path", value: "/etc/n\nl", message: "newline" }] },
  // Which of the two the engine checks first is its choice: the second one is refused, naming the first.
  { token: "File", args: { host: { root: ROOT }, path: "/etc/shared", content: "b" }, expect: [{ field: "path", value: "/etc/shared", message: "is also written by netboot:index:File", orUnder: 'netboot:index:File "owner"' }] },
];

// -------------------------------------------------------------------------------------------------- the runs


interface Named extends Case {
  name: string;
}

/** One CLI preview of many bad programs; asserts every one is refused with its message and nothing changed. */
function runGroup(label: string, cases: Case[], extraSource = "", replace: Record<string, string> = {}): void {
  const root = tmpDir(`bad-${label}`);
  const named: Named[] = cases.map((c, i) => ({ ...c, name: `${label}-${i}` }));
  const lit = (v: unknown) => JSON.stringify(v).split(JSON.stringify(ROOT)).join(JSON.stringify(root));
  const src = [`import * as netboot from "${REPO}/sdk/nodejs";`, extraSource.split(ROOT).join(root)]
    .concat(named.map((c) => `new netboot.${c.token}(${JSON.stringify(c.name)}, ${lit(c.args)} as any);`))
    .join("\n");
  let program = src;
  for (const [from, to] of Object.entries(replace)) program = program.split(from).join(to);
  const p = cliProject(`bad-${label}`, program);
  const state = path.join(p.dir, "state");
  const before = hashTree(state);
  const t0 = Date.now();
  const r = p.run(["preview"]);
  const seconds = (Date.now() - t0) / 1000;
  const after = hashTree(state);
  p.remove();
  fs.writeFileSync(path.join(REPO, "test", ".work", `badInput-${label}.out`), r.out);
  process.stdout.write(`badInput ${label}: ${named.length} programs, preview ${seconds.toFixed(1)} s\n`);

  expect(r.code).not.toBe(0);
  const missing: string[] = [];
  for (const c of named) {
    const resource = `netboot:index:${c.token} "${c.name}"`;
    for (const e of c.expect) {
      const heads = [resource, ...(e.orUnder ? [e.orUnder] : [])].map((res) => `${res}: ${e.field}${e.value === undefined ? "" : ` = ${show(e.value)}`}`);
      const line = r.out.split("\n").find((l) => heads.some((h) => l.includes(h)) && (e.message === undefined || l.includes(e.message)) && (!e.orUnder || (l.includes(resource) && l.includes(e.orUnder))));
      if (!line) missing.push(`${heads.join(" or ")}${e.message ? ` ... ${e.message}` : ""}`);
    }
  }
  expect(missing).toEqual([]);
  // no JavaScript stack trace, no gRPC noise, no raw control characters, no value printed whole
  expect(r.out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.out).not.toMatch(/grpc|client connection|resource monitor shut down|error serializing/i);
  expect(r.out).not.toMatch(/nb1\nnb2|nb1\0nb2|\0/);
  expect(r.out).not.toContain("l".repeat(200));
  expect(r.out).not.toContain("x".repeat(200));
  expect(fs.readdirSync(root)).toEqual([]);
  expect(after).toBe(before);
}

const started = Date.now();
afterAll(() => process.stdout.write(`badInput suite: ${((Date.now() - started) / 1000).toFixed(0)} s\n`));

describe("bad input through the CLI: refused at preview, every error at once, nothing changed", () => {
  const payloads = Object.keys(PAYLOADS);
  // Two payloads per run (54 components), each run beside one custom resource.
  for (let i = 0; i < payloads.length; i += 2) {
    const ps = payloads.slice(i, i + 2);
    const custom = CUSTOM[i / 2];
    test(`injection: ${ps.join(", ")} in every string field; and ${custom.token} ${custom.expect[0].field}`, () => {
      runGroup(`inj${i / 2}`, [...ps.flatMap((p) => injectionCases(PAYLOADS[p])), custom]);
    });
  }

  test("addresses, names, limits, conflicts, missing files and the inventory, all in one run", () => {
    runGroup("other", [...OTHER, CUSTOM[3]]);
  });

  test("a fresh stack's preview, with the volume's files not written yet: a hybrid path missing from the image source is found", () => {
    const image = tmpDir("bad-fresh-image");
    fs.mkdirSync(path.join(image, "usr/share"), { recursive: true });
    fs.mkdirSync(path.join(image, "sbin"));
    fs.writeFileSync(path.join(image, "sbin/init"), "#!/bin/sh\n", { mode: 0o755 });
    const gv = { ...BASE.GlusterVolume, volumeName: "gv" };
    runGroup("fresh", [
      { token: "BootImage", args: { ...BASE.BootImage, imageSource: image, transport: "glusterfs", mode: "hybrid", hybridPaths: ["/usr/share", "/usr/nope"], glusterVolfile: "@VOLFILE@" }, expect: [{ field: "hybridPaths", value: "/usr/nope", message: "is not a folder in the image source" }] },
    ], `const gv = new netboot.GlusterVolume("gv", ${JSON.stringify(gv)} as any);`, { "\"@VOLFILE@\"": "gv.clientVolfile" });
    fs.rmSync(image, { recursive: true, force: true });
  });

  test("a File at a path another File of the stack owns, and a FileSet source and content at once", () => {
    runGroup("own", [CUSTOM[5], ...OTHER.slice(0, 3)], `new netboot.File("owner", { host: { root: "${ROOT}" }, path: "/etc/shared", content: "a" });`);
    runGroup("src", [CUSTOM[4]]);
  });
});
