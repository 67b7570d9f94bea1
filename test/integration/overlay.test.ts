/**
 * Node overlays through the real engine on a local target root: one archive per node under the server's HTTP
 * root, pinned by sha256 in the node's iPXE script; host keys generated once and kept across `up`s and an image
 * change, new only when rotateHostKeys changes; secrets (host keys, a munge key) never in `pulumi stack
 * export`, engine output or a diff; one node's file change rewrites only that node's archive; a template
 * variable typo fails at preview naming the file and the variable. Access: the PxeServer's nginx, run in a
 * network namespace with the rendered configuration, serves each node's archive to that node's address and
 * refuses it (403) to the other node's.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { readCpio } from "../../provider/render/cpio";
import { cliProject, testStack, TestStack } from "../helpers/engine";
import { Lab } from "../helpers/netns";
import { REPO, requireTool, tmpDir } from "../helpers/env";

jest.setTimeout(300_000);

const MUNGE = "munge-key-that-must-stay-secret-3f9a";

describe("overlays through the engine", () => {
  const root = tmpDir("overlay-target");
  const overlays = path.join(root, "srv/netboot/http/overlays/compute");
  let kernel = "http://10.73.0.1/images/a/vmlinuz";
  let c02Motd = "c02 motd v1\n";
  let rotate = 0;
  let t: TestStack;
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  /** node -> { archive file name, its files } as published. */
  function published(): Record<string, { file: string; files: Record<string, { mode: number; data: string }> }> {
    const res: Record<string, { file: string; files: Record<string, { mode: number; data: string }> }> = {};
    for (const f of fs.readdirSync(overlays).sort()) {
      const node = f.split("-")[0];
      const entries = readCpio(fs.readFileSync(path.join(overlays, f)));
      res[node] = { file: f, files: Object.fromEntries(entries.map((e) => [e.name, { mode: e.mode & 0o7777, data: e.data.toString() }])) };
    }
    return res;
  }
  const hostKey = (node: string) => published()[node].files["etc/ssh/ssh_host_ed25519_key.pub"].data;
  /**
   * `pulumi stack export` as a user runs it (the Automation API's exportStack asks for --show-secrets).
   */
  const exported = async () => {
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(t.dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only", PULUMI_HOME: path.join(t.dir, "home"), PULUMI_SKIP_UPDATE_CHECK: "true" };
    const r = spawnSync("pulumi", ["stack", "export", "--stack", "test"], { cwd: t.dir, env, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("hostKeys");
    return r.stdout;
  };
  const up = async () => {
    const r = await t.stack.up({ onOutput: log, diff: true });
    expect(r.summary.result).toBe("succeeded");
  };

  beforeAll(async () => {
    requireTool("dnsmasq");
    t = await testStack("overlay", async () => {
      const pxe = new netboot.PxeServer("pxe", { host: { root }, interface: "nbd0", subnet: "10.73.0.0/24", serverIp: "10.73.0.1", dhcpMode: "static" });
      const g = new netboot.NodeGroup("compute", {
        server: pxe.info,
        boot: { kernelUrl: kernel, initrdUrl: "http://10.73.0.1/images/a/initrd.img" },
        overlay: {
          hostKeys: true,
          rotateHostKeys: rotate,
          tags: { rack: "r1" },
          files: [
            { path: "/etc/motd", content: "{{ name }} in {{ tags.rack }}\n", template: true },
            { path: "/etc/munge/munge.key", content: pulumi.secret(MUNGE), secret: true, owner: "0:0" },
          ],
        },
        nodes: [
          { name: "c01", macs: ["52:54:00:73:00:01"], ip: "10.73.0.11" },
          { name: "c02", macs: ["52:54:00:73:00:02"], ip: "10.73.0.12", overlay: { files: [{ path: "/etc/motd", content: c02Motd }] } },
        ],
      });
      return { nodes: g.nodeTable };
    });
    await up();
  });
  afterAll(async () => {
    if (t) await t.destroy();
  });

  test("each node has an archive with its hostname, /etc/hosts, templated file, secret and host key; its iPXE script pins it; the node table has the public keys", async () => {
    const p = published();
    expect(Object.keys(p)).toEqual(["c01", "c02"]);
    const c01 = p.c01.files;
    expect(c01["etc/hostname"].data).toBe("c01\n");
    expect(c01["etc/hosts"].data).toMatch(/\n10\.73\.0\.12\tc02\n/);
    expect(c01["etc/motd"].data).toBe("c01 in r1\n");
    expect(p.c02.files["etc/motd"].data).toBe("c02 motd v1\n");
    expect(c01["etc/munge/munge.key"]).toEqual({ mode: 0o600, data: MUNGE });
    expect(c01["etc/ssh/ssh_host_ed25519_key"].mode).toBe(0o600);
    expect(c01["etc/ssh/ssh_host_ed25519_key.pub"].mode).toBe(0o644);
    expect(hostKey("c01")).not.toBe(hostKey("c02"));
    // the private key is one sshd reads: ssh-keygen derives the published public key from it
    const keyFile = path.join(tmpDir("overlay-key"), "k");
    fs.writeFileSync(keyFile, c01["etc/ssh/ssh_host_ed25519_key"].data, { mode: 0o600 });
    const derived = spawnSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
    expect(derived.stdout.split(" ").slice(0, 2)).toEqual(hostKey("c01").split(" ").slice(0, 2));
    const script = fs.readFileSync(path.join(root, "srv/netboot/http/ipxe/node-52-54-00-73-00-01.ipxe"), "utf8");
    const sha = spawnSync("sha256sum", [path.join(overlays, p.c01.file)], { encoding: "utf8" }).stdout.split(" ")[0];
    expect(script).toContain(`netboot.overlay=http://10.73.0.1/overlays/compute/${p.c01.file} netboot.overlay.sha256=${sha}`);
    // the node table gives each public key (for known_hosts), not as a secret
    const o = await t.stack.outputs();
    expect(o.nodes.secret).toBe(false);
    expect(o.nodes.value.map((n: { name: string; hostKey: string }) => [n.name, n.hostKey])).toEqual([["c01", hostKey("c01").trim()], ["c02", hostKey("c02").trim()]]);
  });

  test("no secret in stack export or engine output", async () => {
    const state = await exported();
    const privateKey = published().c01.files["etc/ssh/ssh_host_ed25519_key"].data;
    for (const s of [MUNGE, privateKey.split("\n")[1], "OPENSSH PRIVATE KEY"]) {
      expect(state).not.toContain(s);
      expect(out.join("")).not.toContain(s);
    }
  });

  test("host keys stay across an image change; one node's file change rewrites only its archive", async () => {
    const before = published();
    const c01Stat = fs.statSync(path.join(overlays, before.c01.file));
    kernel = "http://10.73.0.1/images/b/vmlinuz";
    c02Motd = "c02 motd v2\n";
    out.length = 0;
    const preview = await t.stack.preview({ diff: true, onOutput: log });
    expect(preview.changeSummary?.update).toBeGreaterThan(0);
    // the diff names the node whose overlay changed and shows the line of a non-secret file
    expect(out.join("")).toMatch(/~ \[1\]: \{[^]*~ overlay: \{[^]*- c02 motd v1\s+\+ c02 motd v2/);
    expect(out.join("")).toContain("[secret]");
    expect(out.join("")).not.toContain(MUNGE);
    await up();
    const after = published();
    expect(after.c01.file).toBe(before.c01.file);
    expect(fs.statSync(path.join(overlays, after.c01.file)).ino).toBe(c01Stat.ino);
    expect(after.c02.file).not.toBe(before.c02.file);
    expect(after.c02.files["etc/motd"].data).toBe("c02 motd v2\n");
    expect(hostKey("c01")).toBe(before.c01.files["etc/ssh/ssh_host_ed25519_key.pub"].data);
    expect(hostKey("c02")).toBe(before.c02.files["etc/ssh/ssh_host_ed25519_key.pub"].data);
    expect(fs.readdirSync(overlays)).toHaveLength(2);
    expect(out.join("")).not.toContain(MUNGE);
  });

  test("nginx serves a node's archive to its own address only (403 to the other node's)", async () => {
    requireTool("nginx");
    requireTool("curl");
    const lab = new Lab("nbov");
    try {
      const srv = lab.ns("srv");
      const a = lab.ns("a");
      const b = lab.ns("b");
      lab.bridge(srv, [[srv, "eth0", "10.73.0.1/24"], [a, "eth0", "10.73.0.11/24"], [b, "eth0", "10.73.0.12/24"]]);
      const conf = path.join(root, "srv/netboot/nginx.conf");
      const pidFile = path.join(root, "srv/netboot/run/nginx-pxe.pid");
      lab.start(srv, ["nginx", "-c", conf, "-g", "daemon off;"], path.join(tmpDir("overlay-nginx"), "nginx.log"));
      // nginx writes its pid file once it listens; no time limit is asserted, the test's own timeout applies
      while (!fs.existsSync(pidFile)) await new Promise((r) => setTimeout(r, 100));
      const p = published();
      const get = (ns: string, file: string) => ` ${lab.run(ns, `curl -s -o /dev/null -w '%{http_code}' http://10.73.0.1/overlays/compute/${file}`, true).out.trim()} `;
      expect(get(a, p.c01.file)).toMatch(/ 200 /);
      expect(get(b, p.c01.file)).toMatch(/ 403 /);
      expect(get(b, p.c02.file)).toMatch(/ 200 /);
      expect(get(a, p.c02.file)).toMatch(/ 403 /);
      // a name of no archive below /overlays/ is refused too, not a 404 that tells names apart
      expect(get(a, "c01-000000000000.cpio")).toMatch(/ 403 /);
      // a new archive after an up: the provider reloads this nginx through its pid file, the rule follows
      c02Motd = "c02 motd v3\n";
      await up();
      const q = published();
      expect(q.c02.file).not.toBe(p.c02.file);
      let status = "";
      // the reload is asynchronous in nginx: its workers take the new rules once they restart
      for (let i = 0; i < 100 && !/ 200 /.test(status); i++) {
        status = get(b, q.c02.file);
        if (!/ 200 /.test(status)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toMatch(/ 200 /);
      expect(get(a, q.c02.file)).toMatch(/ 403 /);
    } finally {
      await lab.cleanup();
    }
  });

  test("rotateHostKeys gives every node a new key, still secret", async () => {
    const before = { c01: hostKey("c01"), c02: hostKey("c02") };
    rotate = 1;
    await up();
    expect(hostKey("c01")).not.toBe(before.c01);
    expect(hostKey("c02")).not.toBe(before.c02);
    const state = await exported();
    expect(state).not.toContain(published().c01.files["etc/ssh/ssh_host_ed25519_key"].data.split("\n")[1]);
  });
});

test("a template variable the node lacks fails at preview, naming the file, the variable and the node", () => {
  const root = tmpDir("overlay-bad");
  const p = cliProject("overlay-bad", `
import * as netboot from "${REPO}/sdk/nodejs";
new netboot.NodeGroup("g", {
  server: { name: "pxe", host: { root: "${root}" }, subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "static", hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.0.0.1/", pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"] },
  boot: { kernelUrl: "http://10.0.0.1/k", initrdUrl: "http://10.0.0.1/i" },
  overlay: { files: [{ path: "/etc/role", content: "{{ tags.role }} {{ nmae }}", template: true }] },
  nodes: [{ name: "n1", macs: ["52:54:00:74:00:01"], ip: "10.0.0.11", tags: { role: "x" } }, { name: "n2", macs: ["52:54:00:74:00:02"], ip: "10.0.0.12" }],
});
`);
  const r = p.run(["preview"]);
  p.remove();
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("overlay.files[0].content");
  expect(r.out).toContain("template /etc/role: variable nmae is not defined for node n1, n2");
  expect(r.out).toContain("template /etc/role: variable tags.role is not defined for node n2");
  expect(fs.readdirSync(root)).toEqual([]);
});
