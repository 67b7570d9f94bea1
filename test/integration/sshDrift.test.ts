/**
 * Drift beyond content and mode on a host reached over real SSH, through the real engine (a FileSet with owned
 * and exclusive folders, the way PxeServer and NodeGroup use them): a symlinked iPXE scripts folder, a file
 * replaced by a folder, an owner change, a deleted owned folder and a stray file in the hostsdir. Refresh
 * reports each; up repairs it and writes nothing through the symlink.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

describe("drift of types, owners, folders and strays over SSH", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let base = "";
  const outside = tmpDir("ssh-drift-outside");
  let scripts = ["a.ipxe"];
  const out: string[] = [];
  const log = (s: string) => out.push(s);
  const ipxe = () => `${base}/srv/netboot/http/ipxe`;
  const hostsDir = () => `${base}/srv/netboot/dhcp-hosts.d`;

  const program = async () => {
    const files: Record<string, any> = { [`${hostsDir()}/g1`]: { content: "52:54:00:73:00:01,10.73.0.11,n1,infinite\n", mode: "0644" } };
    for (const s of scripts) files[`${ipxe()}/${s}`] = { content: `#!ipxe\necho ${s}\n`, mode: "0644" };
    const set = new netboot.FileSet("srv", {
      host: { ssh: h.ssh() }, files,
      dirs: [`${base}/srv/netboot`, ipxe(), `${base}/srv/netboot/run`],
      exclusiveDirs: [hostsDir()],
    });
    return { manifest: set.manifest };
  };

  const refreshFinds = async () => {
    const r = await t.stack.refresh({ onOutput: log });
    out.length = 0;
    await t.stack.preview({ diff: true, onOutput: log });
    return changed(r.summary.resourceChanges);
  };
  const upClean = async () => {
    expect((await t.stack.up({ onOutput: log })).summary.result).toBe("succeeded");
    await t.stack.refresh({ expectNoChanges: true, onOutput: log });
    expect(changed((await t.stack.preview({ onOutput: log })).changeSummary)).toEqual({});
  };

  beforeAll(async () => {
    lab = new SshLab("d", "10.91.3");
    h = await lab.addHost(31);
    base = path.join(h.dir, "root");
    t = await testStack("ssh-drift", program);
    await upClean();
  }, 180000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 120000);

  test("a symlinked iPXE scripts folder: refresh reports it; up writes nothing through it and restores the folder", async () => {
    fs.copyFileSync(`${ipxe()}/a.ipxe`, `${outside}/a.ipxe`);
    fs.rmSync(ipxe(), { recursive: true });
    fs.symlinkSync(outside, ipxe());
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${ipxe()}: "symlink -> ${outside}"`);
    scripts = ["a.ipxe", "b.ipxe"];
    await upClean();
    expect(fs.readdirSync(outside)).toEqual(["a.ipxe"]);
    expect(fs.lstatSync(ipxe()).isDirectory()).toBe(true);
    expect(fs.readdirSync(ipxe()).sort()).toEqual(["a.ipxe", "b.ipxe"]);
  });

  test("a file replaced by an empty folder is reported and put back", async () => {
    fs.rmSync(`${ipxe()}/b.ipxe`);
    fs.mkdirSync(`${ipxe()}/b.ipxe`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${ipxe()}/b.ipxe`);
    await upClean();
    expect(fs.readFileSync(`${ipxe()}/b.ipxe`, "utf8")).toBe("#!ipxe\necho b.ipxe\n");
  });

  test("an owner change is drift: up writes the file again as root", async () => {
    fs.chownSync(`${hostsDir()}/g1`, 4242, 4242);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4242:4242");
    await upClean();
    const st = fs.statSync(`${hostsDir()}/g1`);
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test("a deleted owned folder is reported and made again", async () => {
    fs.rmdirSync(`${base}/srv/netboot/run`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${base}/srv/netboot/run: "missing"`);
    await upClean();
    expect(fs.lstatSync(`${base}/srv/netboot/run`).isDirectory()).toBe(true);
  });

  test("a stray file and a stray symlink in the hostsdir are reported and removed (the link's target is kept)", async () => {
    fs.writeFileSync(`${hostsDir()}/extra`, "52:54:00:73:00:99,10.73.0.99,intruder,infinite\n");
    fs.writeFileSync(`${outside}/leases`, "52:54:00:73:00:98,10.73.0.98,other,infinite\n");
    fs.symlinkSync(`${outside}/leases`, `${hostsDir()}/linked`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${hostsDir()}/extra`);
    expect(out.join("")).toContain(`${hostsDir()}/linked`);
    await upClean();
    expect(fs.readdirSync(hostsDir())).toEqual(["g1"]);
    expect(fs.readdirSync(outside).sort()).toEqual(["a.ipxe", "leases"]);
  });
});
