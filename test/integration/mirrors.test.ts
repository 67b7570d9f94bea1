/**
 * Two head nodes through the real engine, on two local target roots (one per head): a NodeGroup with `mirrors`
 * writes the same leases and overlays (the same SSH host keys) on both servers, each server's scripts name its own
 * URLs, a preview after `up` has nothing to change (the mirror's inputs are stable), a node added reaches both,
 * and destroy leaves both roots empty. The booting proof (the first head powered off, the node served by the
 * second) is labProd.test.ts's; this one runs in seconds and pins the files.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { readCpio } from "../../provider/render/cpio";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";

jest.setTimeout(300_000);

describe("NodeGroup mirrors (two head nodes) through the engine", () => {
  const roots = { a: tmpDir("mirror-a"), b: tmpDir("mirror-b") };
  let nodes = [{ name: "c01", macs: ["52:54:00:74:00:01"], ip: "10.74.0.11" }];
  let t: TestStack;
  const out: string[] = [];
  const log = (s: string) => out.push(s);
  const read = (root: string, p: string) => fs.readFileSync(path.join(root, p), "utf8");
  const overlayKey = (root: string, node: string) => {
    const dir = path.join(root, "srv/netboot/http/overlays/compute");
    const f = fs.readdirSync(dir).find((x) => x.startsWith(`${node}-`))!;
    return readCpio(fs.readFileSync(path.join(dir, f))).find((e) => e.name === "etc/ssh/ssh_host_ed25519_key")!.data.toString();
  };
  const walk = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : []);

  beforeAll(async () => {
    t = await testStack("mirrors", async () => {
      const server = (name: string, root: string, ip: string) => new netboot.PxeServer(name, { host: { root }, interface: "nbm0", subnet: "10.74.0.0/24", serverIp: ip, dhcpMode: "static" });
      const a = server("pxe", roots.a, "10.74.0.1");
      const b = server("pxe2", roots.b, "10.74.0.2");
      new netboot.NodeGroup("compute", {
        server: a.info, mirrors: [b.info], nodes,
        boot: { kernelUrl: "http://10.74.0.1/images/x/vmlinuz", initrdUrl: "http://10.74.0.1/images/x/initrd.img", args: "netboot.image=http://10.74.0.1/images/x/image.tar.gz" },
        overlay: { hostKeys: true },
      });
      return {};
    });
    const r = await t.stack.up({ onOutput: log });
    expect(r.summary.result).toBe("succeeded");
  });
  afterAll(async () => {
    if (t) await t.destroy();
  });

  test("both servers hold the same leases and the same host key per node; each one's scripts name only its own URLs", () => {
    const leases = "srv/netboot/dhcp-hosts.d/compute";
    expect(read(roots.b, leases)).toBe(read(roots.a, leases));
    expect(read(roots.a, leases)).toContain("52:54:00:74:00:01,10.74.0.11,c01");
    expect(overlayKey(roots.b, "c01")).toBe(overlayKey(roots.a, "c01"));
    const group = "srv/netboot/http/ipxe/group-compute.ipxe";
    expect(read(roots.a, group)).toContain("kernel http://10.74.0.1/images/x/vmlinuz ");
    expect(read(roots.b, group)).toContain("kernel http://10.74.0.2/images/x/vmlinuz ");
    expect(read(roots.b, group)).toContain("netboot.image=http://10.74.0.2/images/x/image.tar.gz");
    expect(read(roots.b, group)).not.toContain("10.74.0.1/");
    const node = "srv/netboot/http/ipxe/node-52-54-00-74-00-01.ipxe";
    expect(read(roots.b, node)).toMatch(/netboot\.overlay=http:\/\/10\.74\.0\.2\/overlays\/compute\/c01-[0-9a-f]{12}\.cpio/);
  });

  test("a preview after up has nothing to change", async () => {
    expect(changed((await t.stack.preview({ expectNoChanges: true, onOutput: log })).changeSummary)).toEqual({});
  });

  test("a node added reaches both servers, with one new host key shared by both; c01 keeps its key", async () => {
    const before = overlayKey(roots.a, "c01");
    nodes = [...nodes, { name: "c02", macs: ["52:54:00:74:00:02"], ip: "10.74.0.12" }];
    expect((await t.stack.up({ onOutput: log })).summary.result).toBe("succeeded");
    for (const root of [roots.a, roots.b]) expect(read(root, "srv/netboot/dhcp-hosts.d/compute")).toContain("52:54:00:74:00:02,10.74.0.12,c02");
    expect(overlayKey(roots.b, "c02")).toBe(overlayKey(roots.a, "c02"));
    expect(overlayKey(roots.b, "c01")).toBe(before);
    expect(changed((await t.stack.preview({ expectNoChanges: true, onOutput: log })).changeSummary)).toEqual({});
  });

  test("destroy leaves both roots without a file of netboot's", async () => {
    await t.destroy();
    t = undefined as unknown as TestStack;
    expect([...walk(roots.a), ...walk(roots.b)]).toEqual([]);
  });
});
