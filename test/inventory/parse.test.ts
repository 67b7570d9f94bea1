/** Inventory validation: every error at once, each with file:line:column, the document path and a hint. */
import * as fs from "fs";
import * as path from "path";
import { formatInventoryIssue, parseInventory, closest, InventoryError, loadInventory } from "../../provider/inventory/parse";
import { planCluster, resolveUrl } from "../../provider/inventory/plan";

const FIX = path.join(__dirname, "fixtures");
const read = (f: string) => fs.readFileSync(path.join(FIX, f), "utf8");

describe("parseInventory", () => {
  test("a good inventory parses", () => {
    const r = parseInventory(read("good.yaml"), "good.yaml");
    expect(r.ok ? Object.keys(r.inventory.groups!) : r.issues.map(formatInventoryIssue)).toEqual(["compute", "storage"]);
  });

  test("a broken inventory: every error, with line, column and a hint", () => {
    const r = parseInventory(read("broken.yaml"), "broken.yaml");
    if (r.ok) throw new Error("broken.yaml was accepted");
    expect(r.issues.map(formatInventoryIssue)).toEqual([
      "broken.yaml:5:13: /servers/pxe/subnet: \"10.71.0.0/33\" is not valid here (hint: An IPv4 network in CIDR notation, e.g. `10.0.0.0/24`.)",
      "broken.yaml:7:15: /servers/pxe/dhcpMode: \"authoritive\" is not allowed (hint: one of: authoritative, static, proxy)",
      "broken.yaml:8:5: /servers/pxe/dynamicRnage: unknown key `dynamicRnage` (hint: did you mean `dynamicRange`?)",
      "broken.yaml:11:12: /groups/compute/image: image `stateless` is not defined in `images` (hint: add an `images:` entry)",
      "broken.yaml:14:14: /groups/compute/nodes/0/mac: \"52:54:00:71:00:1\" is not valid here (hint: A MAC address, e.g. `52:54:00:12:34:56`.)",
      "broken.yaml:16:9: /groups/compute/nodes/1: node `C02` has no MAC address (hint: add `mac: aa:bb:cc:dd:ee:ff`)",
      "broken.yaml:16:15: /groups/compute/nodes/1/name: \"C02\" is not valid here (hint: A lower-case DNS label, e.g. `compute` or `rack-1`.)",
      "broken.yaml:20:13: /groups/compute/nodes/2/ip: address 10.71.0.11 is also used by node c01 (group compute) (hint: give every node its own address)",
      "broken.yaml:21:19: /groups/compute/nodes/2/firmware: \"uefi\" is not allowed (hint: one of: bios, efi-x86_64, efi-arm64, http-x86_64, http-arm64)",
      "broken.yaml:23:13: /groups/storage/server: server `pxe2` is not defined in `servers` (hint: one of: pxe)",
      "broken.yaml:24:24: /groups/storage/boot/localDisk: localDisk boots the disk: kernelUrl and initrdUrl would be ignored (hint: remove either localDisk or the URLs)",
    ]);
    // The line and column point at the offending text.
    const lines = read("broken.yaml").split("\n");
    for (const i of r.issues) expect(lines[i.line - 1].slice(i.column - 1)).toMatch(/^[\w"{-]/);
    expect(lines[r.issues[2].line - 1].slice(r.issues[2].column - 1)).toMatch(/^dynamicRnage:/);
  });

  test("missing keys, wrong types, empty values, bad names, YAML syntax", () => {
    const text = [
      "version: 2",
      "servers:",
      "  Pxe_1:",
      "    interface: eth0",
      "    subnet: 10.0.0.0/24",
      "    dhcpMode: static",
      "    httpPort: eighty",
      "groups:",
      "  g:",
      "    nodes:",
      "      - name: n1",
      "        mac: 52:54:00:00:00:01",
      "        ip:",
    ].join("\n");
    const r = parseInventory(text, "t.yaml");
    if (r.ok) throw new Error("accepted");
    const msgs = r.issues.map(formatInventoryIssue);
    expect(msgs).toEqual(expect.arrayContaining([
      "t.yaml:1:10: /version: 2 is not supported (hint: write 1)",
      "t.yaml:3:3: /servers/Pxe_1: name `Pxe_1` is not a lower-case DNS label (hint: use lower-case letters, digits and `-`, e.g. `rack-1`)",
      "t.yaml:4:5: /servers/Pxe_1: missing required key `serverIp` (hint: add `serverIp:` (An IPv4 address, e.g. `10.0.0.1`.))",
      "t.yaml:7:15: /servers/Pxe_1/httpPort: expected an integer, found a string (\"eighty\") (hint: write an integer: nginx port (default 80).)",
      "t.yaml:13:12: /groups/g/nodes/0/ip: expected a string, found nothing (the value is empty) (hint: write a string: An IPv4 address, e.g. `10.0.0.1`.)",
      "t.yaml:10:5: /groups/g: the group boots nothing (hint: add `image:` or `boot:` (kernelUrl and initrdUrl, or localDisk: true))",
    ]));
    const syntax = parseInventory("version: 1\nservers:\n  a: 1\n  a: 2\n", "dup.yaml");
    expect(syntax.ok ? [] : syntax.issues.map(formatInventoryIssue)).toEqual(['dup.yaml:4:3: /servers/a: duplicate key "a" (first at line 3) (hint: each key may appear once in a map; merge the two entries)']);
  });

  test("loadInventory throws all issues at once", () => {
    expect(() => loadInventory(read("broken.yaml"), "broken.yaml")).toThrow(InventoryError);
    expect(() => loadInventory(read("broken.yaml"), "broken.yaml")).toThrow(/^11 inventory errors; nothing was written:\n {2}broken\.yaml:5:13/);
  });

  test("typo hints only for near misses", () => {
    expect(closest("dhcpmode", ["dhcpMode", "domain"])).toBe("dhcpMode");
    expect(closest("colour", ["dhcpMode", "domain"])).toBeUndefined();
  });
});

describe("planCluster", () => {
  test("maps sections to component args; relative roots follow the inventory file; mac becomes macs", () => {
    const inv = loadInventory(read("good.yaml"), "good.yaml");
    const plan = planCluster(inv, "/etc/cluster");
    expect(plan.servers).toEqual([{ name: "pxe", host: { root: "/etc/cluster/target" }, args: { interface: "nbs0", subnet: "10.71.0.0/24", serverIp: "10.71.0.1", dhcpMode: "authoritative", dynamicRange: { start: "10.71.0.200", end: "10.71.0.250" } } }]);
    expect(plan.groups.map((g) => [g.name, g.server, g.nodes.map((n) => n.macs)])).toEqual([
      ["compute", "pxe", [["52:54:00:71:00:01"], ["52:54:00:71:00:02", "52:54:00:71:01:02"]]],
      ["storage", "pxe", [["52:54:00:71:00:21"]]],
    ]);
    expect(plan.groups[1].boot).toEqual({ localDisk: true });
  });

  test("a group's overlay /etc/hosts gets the other servers and every other group's nodes, before its own extraHosts", () => {
    const inv = loadInventory(read("good.yaml"), "good.yaml");
    inv.servers!.pxe2 = { ...inv.servers!.pxe, serverIp: "10.72.0.1", subnet: "10.72.0.0/24", domain: "b.example" };
    inv.defaults = { ...inv.defaults, server: "pxe" };
    inv.groups!.compute.overlay = { extraHosts: [{ ip: "10.71.0.99", names: ["nas"] }] };
    inv.groups!.storage.overlay = { hosts: false };
    const plan = planCluster(inv, "/etc/cluster");
    expect(plan.groups[0].overlay!.extraHosts).toEqual([
      { ip: "10.72.0.1", names: ["pxe2.b.example", "pxe2"] },
      { ip: inv.groups!.storage.nodes[0].ip, names: [inv.groups!.storage.nodes[0].name] },
      { ip: "10.71.0.99", names: ["nas"] },
    ]);
    // /etc/hosts off: nothing added
    expect(plan.groups[1].overlay).toEqual({ hosts: false });
  });

  test("relative boot URLs are relative to the server's HTTP root", () => {
    expect(resolveUrl("http://10.0.0.1/", "images/vmlinuz")).toBe("http://10.0.0.1/images/vmlinuz");
    expect(resolveUrl("http://10.0.0.1:8080", "/images/vmlinuz")).toBe("http://10.0.0.1:8080/images/vmlinuz");
    expect(resolveUrl("http://10.0.0.1/", "https://mirror/k")).toBe("https://mirror/k");
  });
});
