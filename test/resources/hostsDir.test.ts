/**
 * The hostsdir claims read (other groups' MACs, IPs and names) never goes through a symlink where the hostsdir
 * is or in it: on a host without a root (this machine, as an SSH host is), a hostsdir replaced by a symlink to a
 * folder of leases-like files would otherwise make check refuse (or accept) nodes on claims from elsewhere.
 */
import * as fs from "fs";
import * as path from "path";
import { readHostsDir } from "../../provider/resources/hostsDir";
import { LocalTransport } from "../../provider/transport/local";
import { tmpDir } from "../helpers/env";

const claim = { kind: "mac" as const, value: "52:54:00:aa:00:01", group: "mine", field: "nodes[0].macs[0]" };
const LEASES = "# written by hand\n52:54:00:aa:00:01,10.9.0.11,other01\n";

describe("readHostsDir", () => {
  // A host without a root: paths are this machine's, as on an SSH host.
  const t = new LocalTransport();

  test("reads the claims of a real hostsdir", async () => {
    const hostsDir = path.join(tmpDir("hostsdir"), "dhcp-hosts.d");
    fs.mkdirSync(hostsDir);
    fs.writeFileSync(path.join(hostsDir, "other"), LEASES);
    const index = await readHostsDir(t, hostsDir);
    expect(index.holder(claim, "mine")).toMatchObject({ group: `${hostsDir}/other`, field: "line 2" });
  });

  test("a hostsdir replaced by a symlink holds no claims: what is behind the link is not netboot's", async () => {
    const base = tmpDir("hostsdir-link");
    const outside = tmpDir("hostsdir-outside");
    fs.writeFileSync(path.join(outside, "other"), LEASES);
    const hostsDir = path.join(base, "dhcp-hosts.d");
    fs.symlinkSync(outside, hostsDir);
    expect((await readHostsDir(t, hostsDir)).holder(claim, "mine")).toBeUndefined();
  });

  test("a symlink in the hostsdir is not read either", async () => {
    const hostsDir = path.join(tmpDir("hostsdir-entry"), "dhcp-hosts.d");
    const outside = tmpDir("hostsdir-outside");
    fs.mkdirSync(hostsDir);
    fs.writeFileSync(path.join(outside, "other"), LEASES);
    fs.symlinkSync(path.join(outside, "other"), path.join(hostsDir, "other"));
    expect((await readHostsDir(t, hostsDir)).holder(claim, "mine")).toBeUndefined();
  });
});
