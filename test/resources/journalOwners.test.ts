/**
 * Paths owned across stacks (issue 18): each journal entry records the host paths its resource owns, and a check
 * refuses a path that an entry of another stack on the same host holds, naming that resource and the entry to
 * remove if its stack is gone. Two provider contexts over one in-memory host stand for two stacks' runs (two
 * provider processes); the checks go through NetbootProvider.check, as the engine calls them.
 */
import * as fs from "fs";
import { NetbootProvider } from "../../provider/provider";
import { beginDelete, JOURNAL_DIR, journalPath, readEntry } from "../../provider/resources/journal";
import { MemoryTransport } from "../../provider/transport";
import { schemaPath } from "../../provider/version";
import { testContext } from "../helpers/context";

const A = "urn:pulumi:prod::site::netboot:index:File::motd";
const B = "urn:pulumi:lab::site::netboot:index:File::banner";
const host = { root: "/srv" };

/** One stack's provider process over the shared host. */
function stack(t: MemoryTransport) {
  // `local:/` is the build host FileSet reads `source` files from (none here)
  const { ctx } = testContext({ transports: { "local:/srv": t, "local:/": new MemoryTransport() } });
  const p = new NetbootProvider(ctx, "0.1.0", fs.readFileSync(schemaPath(), "utf8"));
  const up = async (urn: string, news: any) => {
    const r = await p.check(urn, {}, news);
    expect(r.failures ?? []).toEqual([]);
    return p.create(urn, r.inputs);
  };
  return { p, up, reasons: async (urn: string, news: any) => ((await p.check(urn, {}, news)).failures ?? []).map((f) => f.reason) };
}

test("an entry records the paths its resource owns (normalized, sorted), in every state", async () => {
  const t = new MemoryTransport();
  const a = stack(t);
  const made = await a.up(A, { host, path: "/etc/motd", content: "hi\n" });
  expect(await readEntry(t, A)).toMatchObject({ urn: A, state: "done", paths: ["/etc/motd"] });
  const set = "urn:pulumi:prod::site::netboot:index:FileSet::conf";
  await a.up(set, { host, files: { "/etc/b.conf": { content: "b" }, "/etc//a.conf": { content: "a" } } });
  expect((await readEntry(t, set))!.paths).toEqual(["/etc/a.conf", "/etc/b.conf"]);
  // a delete that was cut short still owns them: the entry says so
  await beginDelete(t, A, ["/etc/motd"]);
  expect(await readEntry(t, A)).toMatchObject({ state: "deleting", paths: ["/etc/motd"] });
  await a.p.delete(made.id, A, made.outs);
  expect(await readEntry(t, A)).toBeUndefined();
});

test("a path another stack's resource holds on the host is refused, naming it and the entry to remove", async () => {
  const t = new MemoryTransport();
  await stack(t).up(A, { host, path: "/etc/motd", content: "prod\n" });
  const before = new Map(t.files);
  const reasons = await stack(t).reasons(B, { host, path: "/etc/./motd", content: "lab\n" });
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toContain('netboot:index:File "banner": path = "/etc/./motd": is also written by netboot:index:File "motd" of stack "prod" of project "site"');
  expect(reasons[0]).toContain(A);
  expect(reasons[0]).toContain(`if that stack no longer exists, remove its journal entry: rm /srv${journalPath(A)}`);
  expect(t.files).toEqual(before);
  // another path on the same host is fine
  expect(await stack(t).reasons(B, { host, path: "/etc/issue", content: "lab\n" })).toEqual([]);
});

test("an interrupted delete of the other stack still owns the path", async () => {
  const t = new MemoryTransport();
  await stack(t).up(A, { host, path: "/etc/motd", content: "prod\n" });
  await beginDelete(t, A, ["/etc/motd"]);
  const [reason] = await stack(t).reasons(B, { host, path: "/etc/motd", content: "lab\n" });
  expect(reason).toMatch(/whose delete was interrupted.*or finish that stack's destroy/);
});

test("the same stack's own old entry (a renamed resource) does not refuse; this process's claims decide", async () => {
  const t = new MemoryTransport();
  await stack(t).up(A, { host, path: "/etc/motd", content: "prod\n" });
  const renamed = "urn:pulumi:prod::site::netboot:index:File::motd2";
  expect(await stack(t).reasons(renamed, { host, path: "/etc/motd", content: "prod\n" })).toEqual([]);
  // another project with the same stack name is another stack
  expect(await stack(t).reasons("urn:pulumi:prod::other::netboot:index:File::motd", { host, path: "/etc/motd", content: "x" })).toHaveLength(1);
});

test("entries of an older netboot (no paths), torn entries and an unreadable journal folder refuse nothing", async () => {
  const t = new MemoryTransport();
  await t.put(journalPath(A), JSON.stringify({ urn: A, state: "done", nonce: "n1" }) + "\n", { mode: 0o600 });
  await t.put(`${JOURNAL_DIR}/torn.json`, '{"urn":"x","paths":["/etc/mo', { mode: 0o600 });
  expect(await readEntry(t, A)).toEqual({ urn: A, state: "done", nonce: "n1" });
  expect(await stack(t).reasons(B, { host, path: "/etc/motd", content: "lab\n" })).toEqual([]);
  t.failOn = { op: "list", error: "permission denied" };
  expect(await stack(t).reasons(B, { host, path: "/etc/motd", content: "lab\n" })).toEqual([]);
});

test("the journal folder is read once per host per provider process", async () => {
  const t = new MemoryTransport();
  await stack(t).up(A, { host, path: "/etc/motd", content: "prod\n" });
  const b = stack(t);
  const list = t.list.bind(t);
  let lists = 0;
  t.list = async (d: string) => (d === JOURNAL_DIR && lists++, list(d));
  for (const n of ["a", "b", "c"]) await b.reasons(`urn:pulumi:lab::site::netboot:index:File::${n}`, { host, path: `/etc/${n}`, content: "x" });
  expect(lists).toBe(1);
});

test("a node group of one name on one server in two stacks is refused (its leases file would be rewritten in turn); its entry stays five paths", async () => {
  const t = new MemoryTransport();
  const server = {
    name: "pxe", host, subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "static",
    hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.0.0.1/",
    pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"],
  };
  const group = (name: string, n: number) => ({ group: name, server, boot: { localDisk: true }, nodes: Array.from({ length: n }, (_, i) => JSON.stringify({ name: `${name}-${i}`, macs: [`52:54:00:00:0${name.length}:${String(10 + i)}`], ip: `10.0.0.${20 + i + 30 * (name.length - 5)}` })) });
  const urn = (st: string, g: string) => `urn:pulumi:${st}::site::netboot:index:NodeGroup$netboot:index:NodeGroupFiles::${g}-files`;
  await stack(t).up(urn("prod", "rack1"), group("rack1", 20));
  expect((await readEntry(t, urn("prod", "rack1")))!.paths).toEqual([
    "/srv/netboot/dhcp-hosts.d/rack1", "/srv/netboot/dhcp-opts.d/rack1", "/srv/netboot/hosts.d/rack1.hosts",
    "/srv/netboot/http/ipxe/group-rack1.ipxe", "/srv/netboot/nginx-overlays.d/rack1.conf",
  ].sort());
  const before = new Map(t.files);
  // same group name, other nodes (no MAC, IP or name in common): only the files named by the group collide
  const reasons = await stack(t).reasons(urn("lab", "rack1"), { ...group("rack1", 0), nodes: [JSON.stringify({ name: "lab1", macs: ["52:54:00:00:09:01"], ip: "10.0.0.90" })] });
  expect(reasons.join("\n")).toContain('group = "/srv/netboot/dhcp-hosts.d/rack1": is also written by netboot:index:NodeGroupFiles "rack1-files" of stack "prod"');
  expect(t.files).toEqual(before);
  expect(await stack(t).reasons(urn("lab", "rack22"), { ...group("rack22", 0), nodes: [JSON.stringify({ name: "lab1", macs: ["52:54:00:00:09:01"], ip: "10.0.0.90" })] })).toEqual([]);
});

test("the apply-time re-read (claimed) matches folder claims both ways: a file below another stack's folder, a folder over its file", async () => {
  const { beginApply, JournalOwners } = await import("../../provider/resources/journal");
  const t = new MemoryTransport();
  const images = "urn:pulumi:prod::site::netboot:index:Initramfs::img";
  await beginApply(t, images, "n1", ["/netboot/http/images/img/"]);
  await beginApply(t, A, "n2", ["/etc/motd"]);
  const owners = new JournalOwners(() => t);
  const claim = (p: string) => ({ host: "local:/srv", path: p, field: "path" });
  const below = await owners.claimed(host, B, [claim("/netboot/http/images/img/vmlinuz-1a2b")]);
  expect(below.map((c) => [c.path, c.holder])).toEqual([["/netboot/http/images/img/vmlinuz-1a2b", images]]);
  const over = await owners.claimed(host, B, [claim("/etc/")]);
  expect(over.map((c) => [c.path, c.holder])).toEqual([["/etc/", A]]);
  expect(await owners.claimed(host, B, [claim("/netboot/http/images/img2/x")])).toEqual([]);
});
