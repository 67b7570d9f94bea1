/**
 * The NodeGroupFiles handler's lifecycle over the in-memory transport: check (every error, claims of this
 * stack and of the server's hostsdir), create, diff by node path, update writes one file, read finds drift and
 * check renders the drifted file for the line diff, delete removes only what it wrote.
 */
import { packNode, packNodes, unpackNodes } from "../../provider/model/packedNodes";
import { Node } from "../../provider/schema-types";
import { ClaimIndex } from "../../provider/model/pxe";
import { readHostsDir } from "../../provider/resources/hostsDir";
import { nodeGroupFilesHandler } from "../../provider/resources/nodeGroupFiles";
import { MemoryTransport } from "../../provider/transport/memory";
import { reveal } from "../../provider/values";

const server = {
  name: "pxe", host: { root: "/t" }, subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "static",
  hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.0.0.1/",
  pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"],
};
const nodes = [
  { name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" },
  { name: "n2", macs: ["52:54:00:00:00:02"], ip: "10.0.0.12" },
  { name: "n3", macs: ["52:54:00:00:00:03"], ip: "10.0.0.13" },
];
const inputs = (over: Record<string, unknown> = {}) => ({ group: "rack1", server, nodes, boot: { localDisk: true }, ...over });
const URN = "urn:pulumi:s::p::netboot:index:NodeGroup$netboot:index:NodeGroupFiles::rack1-files";

function setup() {
  const t = new MemoryTransport();
  const stack = new Map<string, ClaimIndex>();
  const h = nodeGroupFilesHandler({
    transport: () => t,
    registerClaims: (key, group, claims) => {
      let i = stack.get(key);
      if (!i) stack.set(key, (i = new ClaimIndex()));
      i.removeGroup(group);
      i.add(claims);
      return i;
    },
    serverClaims: async (_h, dir, group) => ({ index: await readHostsDir(t, dir), except: `${dir}/${group}` }),
  });
  return { t, h };
}

const LEASES = "/srv/netboot/dhcp-hosts.d/rack1";
const NODE2 = "/srv/netboot/http/ipxe/node-52-54-00-00-00-02.ipxe";

test("check reports every error at once, with the claims of this stack and of the server's hostsdir", async () => {
  const { t, h } = setup();
  t.files.set("/srv/netboot/dhcp-hosts.d/other", { data: Buffer.from("52:54:00:00:00:09,10.0.0.19,x9,infinite\n"), mode: 0o644 });
  t.dirs.add("/srv").add("/srv/netboot").add("/srv/netboot/dhcp-hosts.d");
  expect((await h.check(URN, undefined, inputs({ group: "rack0", nodes: [nodes[0]] }))).failures).toEqual([]);
  const bad = await h.check(URN, undefined, inputs({ nodes: [nodes[0], { name: "bad/x", macs: ["zz"], ip: "10.0.0.12" }], boot: { kernelUrl: "ftp://x" } }));
  expect(bad.failures).toEqual([{ property: "", reason: [
    "5 validation errors; nothing was written:",
    '  - netboot:index:NodeGroup "rack1": nodes[1].name = "bad/x": contains `/` or `..` (names must not reach outside their folder)',
    '  - netboot:index:NodeGroup "rack1": nodes[1].name = "bad/x": must be a host name (a DNS label: letters, digits, inner hyphens)',
    '  - netboot:index:NodeGroup "rack1": nodes[1].macs[0] = "zz": is not a MAC address (aa:bb:cc:dd:ee:ff)',
    '  - netboot:index:NodeGroup "rack1": boot.kernelUrl = "ftp://x": must be an http://, https:// or tftp:// URL',
    '  - netboot:index:NodeGroup "rack1": boot.initrdUrl: must be a string',
  ].join("\n") }]);
  const taken = await h.check(URN, undefined, inputs({ nodes: [nodes[0], { name: "n4", macs: ["52:54:00:00:00:09"], ip: "10.0.0.99" }] }));
  expect(taken.failures![0].reason.split("\n")).toEqual([
    "4 validation errors; nothing was written:",
    '  - netboot:index:NodeGroup "rack1": nodes[0].name = "n1": host name is already claimed by rack0 (nodes[0].name)',
    '  - netboot:index:NodeGroup "rack1": nodes[0].ip = "10.0.0.11": IP is already claimed by rack0 (nodes[0].ip)',
    '  - netboot:index:NodeGroup "rack1": nodes[0].macs[0] = "52:54:00:00:00:01": MAC is already claimed by rack0 (nodes[0].macs[0])',
    '  - netboot:index:NodeGroup "rack1": nodes[1].macs[0] = "52:54:00:00:00:09": MAC is already claimed by /srv/netboot/dhcp-hosts.d/other (line 1)',
  ]);
});

test("create, no-change diff, a one-node change named by path that rewrites one file without a signal, delete", async () => {
  const { t, h } = setup();
  t.files.set(server.pidFile, { data: Buffer.from("4242\n"), mode: 0o644 });
  const c = await h.check(URN, undefined, inputs());
  expect(c.failures).toEqual([]);
  const { id, outs } = await h.create(URN, c.inputs);
  expect(Object.keys(outs.manifest)).toHaveLength(3 + 3);
  expect(t.files.get(LEASES)!.data.toString()).toContain("52:54:00:00:00:02,10.0.0.12,n2,infinite");
  expect(JSON.stringify(outs)).not.toContain("#!ipxe"); // hashes, not contents
  expect(Object.keys(outs).sort()).toEqual(["createdDirs", "dirDrift", "files", "group", "lastApply", "manifest", "owner", "owners", "server"]); // no second node list
  expect(await h.diff(id, URN, outs, c.inputs, c.inputs)).toEqual({ changes: false, detailedDiff: {} });

  const changed = inputs({ nodes: [nodes[0], { ...nodes[1], kernelArgs: "nb.debug=1" }, nodes[2]] });
  const d = await h.diff(id, URN, outs, (await h.check(URN, c.inputs, changed)).inputs, c.inputs);
  expect(d).toEqual({ changes: true, detailedDiff: { "nodes[1].kernelArgs": { kind: "add", inputDiff: true } } });
  const before = new Map([...t.files].map(([p, f]) => [p, f.data]));
  const u = await h.update(id, URN, outs, changed);
  const rewritten = [...t.files].filter(([p, f]) => p !== server.pidFile && before.get(p) !== f.data).map(([p]) => p);
  expect(rewritten).toEqual([NODE2]);
  expect(u.outs.lastApply).toEqual({ written: "1", changed: "1", unchanged: "5", removed: "0", signalled: "not needed" });
  expect(t.execLog).toEqual([]);

  const fewer = inputs({ nodes: [nodes[0], nodes[1]] });
  const d2 = await h.diff(id, URN, u.outs, fewer, changed);
  expect(d2.detailedDiff).toEqual({ "nodes[1].kernelArgs": { kind: "delete", inputDiff: true }, "nodes[2]": { kind: "delete", inputDiff: true } });
  const u2 = await h.update(id, URN, u.outs, fewer);
  expect(u2.outs.lastApply!.signalled).toBe("sent SIGHUP to 4242");
  expect(t.execLog).toEqual([["kill", "-s", "HUP", "4242"]]);

  t.files.set("/srv/netboot/http/ipxe/not-ours.ipxe", { data: Buffer.from("x"), mode: 0o644 });
  await h.delete(id, URN, u2.outs);
  expect([...t.files.keys()].sort()).toEqual(["/srv/netboot/http/ipxe/not-ours.ipxe", server.pidFile]);
});

test("read finds a hand edit, a deletion and a mode change; the next check renders those files for the line diff", async () => {
  const { t, h } = setup();
  const c = await h.check(URN, undefined, inputs());
  const { id, outs } = await h.create(URN, c.inputs);
  const same = await h.read(id, URN, outs, c.inputs);
  expect(same.props).toEqual(outs);
  expect(same.inputs).toEqual(inputs());

  const group = "/srv/netboot/http/ipxe/group-rack1.ipxe";
  const edited = t.files.get(group)!.data.toString() + "shell\n";
  t.files.set(group, { data: Buffer.from(edited), mode: 0o644 });
  t.files.delete(LEASES);
  t.files.get(NODE2)!.mode = 0o666;
  const r = await h.read(id, URN, outs, c.inputs);
  expect(r.inputs!.drifted).toEqual([LEASES, group, NODE2].sort());
  expect(r.props.manifest[LEASES]).toBe("");
  expect(r.props.files[group].content).toBe(edited);
  expect(r.props.files[NODE2]).toEqual({ mode: "0666", sha256: outs.manifest[NODE2], owner: "0:0" });

  // refresh: the engine diffs the refreshed outputs against the old inputs
  expect((await h.diff(id, URN, r.props, c.inputs, r.inputs)).detailedDiff).toEqual({
    [`files["${LEASES}"]`]: { kind: "add" },
    [`files["${group}"]`]: { kind: "update" },
    [`files["${NODE2}"]`]: { kind: "update" },
  });
  const c2 = await h.check(URN, r.inputs, inputs());
  expect(Object.keys(c2.inputs.files).sort()).toEqual([LEASES, group, NODE2].sort());
  expect(c2.inputs.files[group].content).toBe(edited.replace("shell\n", ""));
  const u = await h.update(id, URN, r.props, c2.inputs);
  expect(u.outs.lastApply!.written).toBe("3");
  expect(t.files.get(NODE2)!.mode).toBe(0o644);
  expect(JSON.stringify(u.outs)).not.toContain("shell");
  expect((await h.diff(id, URN, u.outs, inputs(), c2.inputs)).changes).toBe(false);
});

test("a group's FileSet state (earlier versions, moved here by the NodeGroup's alias) updates in place", async () => {
  const { t, h } = setup();
  const stale = "/srv/netboot/http/ipxe/node-52-54-00-00-00-09.ipxe";
  t.files.set(stale, { data: Buffer.from("old"), mode: 0o644 });
  t.files.set(LEASES, { data: Buffer.from("old leases\n"), mode: 0o644 });
  t.files.set(server.pidFile, { data: Buffer.from("77\n"), mode: 0o644 });
  const fileSet = { host: server.host, files: { [stale]: { mode: "0644", sha256: "x" } }, manifest: { [stale]: "x", [LEASES]: "y" }, written: {}, createdDirs: ["/srv/netboot"] };
  const c = await h.check(URN, undefined, inputs());
  expect((await h.diff("id", URN, fileSet, c.inputs, { host: server.host, files: {} })).detailedDiff).toMatchObject({ nodes: { kind: "update", inputDiff: true } });
  const u = await h.update("id", URN, fileSet as any, c.inputs);
  expect(t.files.has(stale)).toBe(false);
  expect(u.outs.lastApply).toMatchObject({ removed: "1", changed: "1", signalled: "sent SIGHUP to 77" });
  expect((await h.diff("id", URN, u.outs, c.inputs, c.inputs)).changes).toBe(false);
});

test("a mirror's files (sharedHostKeys) take the first server's host keys; a node without one is an error", async () => {
  const boot = { kernelUrl: "http://10.0.0.1/k", initrdUrl: "http://10.0.0.1/i" };
  const first = setup();
  const made = await first.h.create!(URN, inputs({ boot, overlay: { hostKeys: true } }));
  const shared = reveal<Record<string, { publicKey: string }[]>>(made.outs.hostKeys);
  expect(Object.keys(shared).sort()).toEqual(["n1", "n2", "n3"]);
  const mirror = setup();
  const m = await mirror.h.create!(URN, inputs({ boot, overlay: { hostKeys: true }, server: { ...server, name: "pxe2", serverIp: "10.0.0.2", httpBaseUrl: "http://10.0.0.2/" }, sharedHostKeys: shared }));
  expect(m.outs.hostPublicKeys).toEqual(made.outs.hostPublicKeys);
  const { n3: _n3, ...partial } = shared;
  await expect(setup().h.create!(URN, inputs({ boot, overlay: { hostKeys: true }, sharedHostKeys: partial }))).rejects.toThrow(/sharedHostKeys = "n3": has no host key for these nodes/);
});

test("the packed node list (one JSON string per node, as NodeGroup passes it): same files, a change named by its node, no diff against a state of structs", async () => {
  const { t, h } = setup();
  const packed = (ns: Node[]) => inputs({ nodes: packNodes(ns) });
  const c = await h.check(URN, undefined, packed(nodes));
  expect(c.failures).toEqual([]);
  expect(c.inputs.nodes).toEqual(packNodes(nodes)); // kept packed: that is what the engine stores
  const { id, outs } = await h.create(URN, c.inputs);
  expect(t.files.get(LEASES)!.data.toString()).toContain("52:54:00:00:00:02,10.0.0.12,n2,infinite");
  expect(await h.diff(id, URN, outs, c.inputs, c.inputs)).toEqual({ changes: false, detailedDiff: {} });
  // a stack written before packing holds structs: the same nodes are no change
  expect(await h.diff(id, URN, outs, c.inputs, inputs())).toEqual({ changes: false, detailedDiff: {} });
  // the engine shows `nodes[1]` as its old and new string; a field path would resolve to nothing in a string
  const changed = packed([nodes[0], { ...nodes[1], kernelArgs: "nb.debug=1" }, nodes[2]]);
  expect(await h.diff(id, URN, outs, changed, c.inputs)).toEqual({ changes: true, detailedDiff: { "nodes[1]": { kind: "update", inputDiff: true } } });
  expect((await h.diff(id, URN, outs, packed(nodes.slice(0, 2)), c.inputs)).detailedDiff).toEqual({ "nodes[2]": { kind: "delete", inputDiff: true } });
  // a packed string that is not a node is the model's error, not a crash
  const bad = await h.check(URN, undefined, inputs({ nodes: [packNodes(nodes)[0], "not json"] }));
  expect(bad.failures![0].reason).toContain("nodes[1]");
});

test("packNode: fixed key order, absent fields left out, so one node always packs to one string", () => {
  expect(packNode({ ip: "10.0.0.11", kernelArgs: undefined, macs: ["52:54:00:00:00:01"], name: "n1" } as any)).toBe('{"name":"n1","macs":["52:54:00:00:00:01"],"ip":"10.0.0.11"}');
  expect(unpackNodes(packNodes(nodes))).toEqual(nodes);
  expect(unpackNodes(["[1]", 7])).toEqual(["[1]", 7]);
});

test("an owner change on the leases file or an iPXE script is drift: read reports it, diff names the file, update writes it again", async () => {
  const { t, h } = setup();
  const c = await h.check(URN, undefined, inputs());
  const { id, outs } = await h.create(URN, c.inputs);
  // one owner for the group, the files that differ apart (none): state does not grow by one value per file
  expect(outs.owner).toBe("0:0");
  expect(outs.owners).toEqual({});
  // a state with the full map (no `owner`) means the same
  const full = { ...outs, owner: undefined, owners: Object.fromEntries(Object.keys(outs.manifest).map((p) => [p, "0:0"])) };
  expect((await h.diff(id, URN, full, c.inputs, c.inputs)).changes).toBe(false);
  t.owners.set(LEASES, "4242:4242");
  t.owners.set(NODE2, "4242:0");
  const r = await h.read(id, URN, outs, c.inputs);
  expect(r.inputs!.drifted).toEqual([LEASES, NODE2].sort());
  expect(r.props.files[LEASES]).toEqual({ mode: "0644", sha256: outs.manifest[LEASES], owner: "4242:4242" });
  expect([r.props.owner, r.props.owners]).toEqual([outs.owner, outs.owners]);
  expect((await h.diff(id, URN, r.props, c.inputs, r.inputs)).detailedDiff).toEqual({
    [`files["${LEASES}"]`]: { kind: "update" },
    [`files["${NODE2}"]`]: { kind: "update" },
  });
  const c2 = await h.check(URN, r.inputs, inputs());
  const u = await h.update(id, URN, r.props, c2.inputs);
  expect(u.outs.lastApply!.written).toBe("2");
  expect(t.owners.has(LEASES) || t.owners.has(NODE2)).toBe(false);
  const again = await h.read(id, URN, u.outs, c2.inputs);
  expect(again.inputs!.drifted).toBeUndefined();
  expect((await h.diff(id, URN, again.props, inputs(), c2.inputs)).changes).toBe(false);
});

test("read never follows a symlinked iPXE folder: the scripts are missing (even when a matching copy is behind the link) and the folder is dirDrift; up makes it a folder again", async () => {
  const { t, h } = setup();
  const c = await h.check(URN, undefined, inputs());
  const { id, outs } = await h.create(URN, c.inputs);
  const ipxe = "/srv/netboot/http/ipxe";
  const scripts = [...t.files.keys()].filter((p) => p.startsWith(ipxe + "/"));
  expect(scripts.length).toBeGreaterThan(0);
  // The memory host keeps the files at their paths; with the folder a symlink they stand for what a read
  // through the link would find (the same bytes: following it would hide the drift).
  t.dirs.delete(ipxe);
  t.symlinks.set(ipxe, "/elsewhere");
  const r = await h.read(id, URN, outs, c.inputs);
  expect(r.inputs!.drifted).toEqual(scripts.sort());
  for (const p of scripts) expect(r.props.manifest[p]).toBe("");
  // the folder is drift of its own, named with where the link points, and the next up plans to repair it
  expect(r.props.dirDrift).toEqual({ [ipxe]: "symlink -> /elsewhere" });
  const c2 = await h.check(URN, r.inputs, inputs());
  expect((await h.diff(id, URN, r.props, c2.inputs, r.inputs)).detailedDiff).toMatchObject({ [`dirDrift["${ipxe}"]`]: { kind: "update" } });
  // up replaces the symlink by a real folder and writes the scripts into it (the copies were behind the link:
  // the folder that replaces it starts empty)
  for (const p of scripts) t.files.delete(p);
  const u = await h.update(id, URN, r.props, c2.inputs);
  expect(u.outs.dirDrift).toEqual({});
  expect(t.symlinks.has(ipxe)).toBe(false);
  expect(t.dirs.has(ipxe)).toBe(true);
  expect(u.outs.lastApply!.written).toBe(String(scripts.length));
  const again = await h.read(id, URN, u.outs, c2.inputs);
  expect([again.props.dirDrift, again.inputs!.drifted]).toEqual([{}, undefined]);
  expect((await h.diff(id, URN, again.props, inputs(), again.inputs)).changes).toBe(false);
});
