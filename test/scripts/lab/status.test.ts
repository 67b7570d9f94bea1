/** The lab's view of a boot: steps from dnsmasq's log, nginx's access log and the serial console. */
import { cleanConsole, lastLines, leaseOf, observe, parseAccessLog } from "../../../scripts/lab/status";
import { LabNode } from "../../../scripts/lab/contract";

const node: LabNode = { name: "hyb1", group: "hybrid", mac: "52:54:00:90:00:21", ip: "10.90.0.21", firmware: "bios" };
const MARK = "STATELESS-GLUSTER-UP";
const ack = "Nov 27 10:01:08 dnsmasq-dhcp[1]: 2513445491 DHCPACK(nblbr0) 10.90.0.21 52:54:00:90:00:21 hyb1\n";
const get = (p: string, status = 200) => `10.90.0.21 - - [27/Nov/2026:10:01:21 +0000] "GET ${p} HTTP/1.1" ${status} 358 "-" "iPXE/1.0.0"\n`;

describe("observe", () => {
  test("nothing yet: waiting for DHCP", () => {
    expect(observe(node, { console: "SeaBIOS", dnsmasq: "", access: "" }, MARK)).toEqual({ step: "DHCP", leasedIp: undefined, failure: undefined, marker: undefined });
  });

  test("each source moves the node one step on", () => {
    const s = { console: "", dnsmasq: ack, access: "" };
    expect(observe(node, s, MARK).step).toBe("iPXE");
    s.access = get("/ipxe/boot.ipxe") + get("/ipxe/node-52-54-00-90-00-21.ipxe");
    expect(observe(node, s, MARK).step).toBe("iPXE");
    s.access += get("/ipxe/group-hybrid.ipxe");
    expect(observe(node, s, MARK).step).toBe("kernel");
    s.console = "[    0.000000] Linux version 6.1.0\nnetboot: boot image hybrid starting on 6.1.0 (node hyb1)\n";
    expect(observe(node, s, MARK).step).toBe("initramfs");
    s.console += "netboot: switching root to the image's /sbin/init\n";
    expect(observe(node, s, MARK).step).toBe("image");
    s.console += `${MARK} host=hyb1 ip=10.90.0.21 group=hybrid\n`;
    expect(observe(node, s, MARK)).toMatchObject({ step: "up", failure: undefined, marker: `${MARK} host=hyb1 ip=10.90.0.21 group=hybrid`, leasedIp: "10.90.0.21" });
  });

  test("a lease for another MAC does not count", () => {
    expect(observe(node, { console: "", dnsmasq: ack.replace("00:21", "00:22"), access: "" }, MARK).step).toBe("DHCP");
  });

  test("iPXE on the serial console (OVMF) counts as DHCP done", () => {
    expect(observe(node, { console: "Configuring (net0 52:54:00:90:00:21)...... ok\n", dnsmasq: "", access: "" }, MARK).step).toBe("iPXE");
  });

  test("failures: initramfs FAILED line, HTTP errors, iPXE errors, nothing to boot, a kernel panic", () => {
    const base = { console: "", dnsmasq: ack, access: get("/ipxe/group-hybrid.ipxe") };
    expect(observe(node, { ...base, console: "netboot: boot image hybrid starting on x\nnetboot: FAILED: timed out waiting for glusterfs mount\n" }, MARK))
      .toMatchObject({ step: "initramfs", failure: "timed out waiting for glusterfs mount" });
    expect(observe(node, { ...base, access: base.access + get("/images/hybrid/initrd-1.img", 404) }, MARK))
      .toMatchObject({ step: "kernel", failure: "HTTP 404 for /images/hybrid/initrd-1.img" });
    expect(observe(node, { ...base, console: "netboot: ERROR boot of hyb1 (group hybrid) failed; retrying in 10 s" }, MARK).failure).toMatch(/^boot of hyb1/);
    expect(observe(node, { ...base, console: "No bootable device." }, MARK).failure).toMatch(/found nothing to boot/);
    expect(observe(node, { ...base, console: "[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs" }, MARK).failure).toBe("kernel panic: VFS: Unable to mount root fs");
  });

  test("an image that names another host or address is a failed boot", () => {
    const s = { console: `${MARK} host=hyb2 ip=10.90.0.21\n`, dnsmasq: ack, access: "" };
    expect(observe(node, s, MARK).failure).toBe("the image says host=hyb2, expected hyb1");
    s.console = `${MARK} host=hyb1 ip=10.90.0.99\n`;
    expect(observe(node, s, MARK).failure).toBe("the image says ip=10.90.0.99, expected 10.90.0.21");
  });

  test("a systemd image that is not `running` (degraded, starting) is a failed boot naming its failed units", () => {
    const s = { console: `${MARK} host=hyb1 ip=10.90.0.21 state=degraded failed=ssh.service,e2scrub_reap.service\n`, dnsmasq: ack, access: "" };
    expect(observe(node, s, MARK).failure).toBe("systemd is degraded; failed units: ssh.service, e2scrub_reap.service");
    s.console = `${MARK} host=hyb1 ip=10.90.0.21 state=starting failed=none\n`;
    expect(observe(node, s, MARK).failure).toBe("systemd is starting");
    s.console = `${MARK} host=hyb1 ip=10.90.0.21 state=running failed=none\n`;
    expect(observe(node, s, MARK)).toMatchObject({ step: "up", failure: undefined });
  });

  test("a lease other than the static one is reported", () => {
    expect(observe(node, { console: "", dnsmasq: ack.replace("10.90.0.21 52", "10.90.0.200 52"), access: "" }, MARK).failure)
      .toBe("dnsmasq gave 10.90.0.200, not the node's static address 10.90.0.21");
  });
});

test("parseAccessLog reads nginx's combined format", () => {
  expect(parseAccessLog(get("/a b") + "garbage\n" + get("/x", 404))).toEqual([
    { ip: "10.90.0.21", method: "GET", path: "/a", status: 200, time: 1795773681 },
    { ip: "10.90.0.21", method: "GET", path: "/x", status: 404, time: 1795773681 },
  ]);
});

test("leaseOf takes the first acknowledged address of a MAC, in any case", () => {
  expect(leaseOf(ack.toUpperCase().replace("DHCPACK(NBLBR0)", "DHCPACK(nblbr0)"), node.mac)).toBe("10.90.0.21");
  expect(leaseOf("DHCPOFFER(nblbr0) 10.90.0.21 52:54:00:90:00:21", node.mac)).toBeUndefined();
});

test("console text loses ANSI escapes and carriage returns; lastLines keeps the last non-empty lines", () => {
  expect(cleanConsole("\x1b[2J\x1b[01;01Hok\r\n\x1b[1m\x1b[37m\x1b[40miPXE\x1b[0m")).toBe("ok\niPXE");
  expect(lastLines("a\n\n b \r\nc\n\n", 2)).toEqual([" b", "c"]);
});
