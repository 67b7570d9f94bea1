/**
 * Bad input through the real CLI, as a user meets it: `pulumi up` fails before anything is written, with every
 * error at once, each naming resource, field and value. (Run through the CLI and netboot's language host: a
 * failing inline program cannot report its error cleanly inside jest.)
 */
import * as fs from "fs";
import * as path from "path";
import { cliProject } from "../helpers/engine";
import { REPO, tmpDir } from "../helpers/env";

jest.setTimeout(180_000);

function walk(d: string): string[] {
  return fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
}

test("GlusterVolume: bad layout, duplicate bricks, same-host sets, bad options and injection, all at once", () => {
  const root = tmpDir("bad-gluster");
  const p = cliProject("bad-gluster", `
import * as netboot from "${REPO}/sdk/nodejs";
new netboot.GlusterVolume("gv", {
  host: { root: "${root}" }, mode: "standalone", layout: "replicate", replica: 3, clusterSubnet: "10.0.0.0/24",
  bricks: [
    { host: "10.0.0.1", path: "/data/b1" },
    { host: "10.0.0.1", path: "/data/b1" },
    { host: "10.0.0.2", path: "/data/b\`id\`" },
    { host: "10.0.0.3", path: "/data/b4" },
  ],
  options: { "performance.cache-size": "lots", "no.such.key": "1", "auth.allow": "10.0.0.0/24\\n*" },
});
`);
  const r = p.run(["up", "--yes"]);
  p.remove();
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/netboot:index:GlusterVolume "gv"/);
  for (const s of ["bricks", "bricks[1]", "bricks[2].path", "performance.cache-size", "no.such.key", "auth.allow"]) expect(r.out).toContain(s);
  expect(walk(root)).toEqual([]);
});

function bootImageProject(name: string, root: string, extra: string) {
  return cliProject(name, `
import * as netboot from "${REPO}/sdk/nodejs";
const volfile = "volume gv-client-0\\n  type protocol/client\\n  option remote-host 10.0.0.1\\n  option remote-subvolume /data/b0\\n  option remote-port 49152\\nend-volume\\nvolume gv-magic\\n  type features/no-such-xlator\\n  subvolumes gv-client-0\\nend-volume\\n";
new netboot.BootImage("img", {
  server: { name: "pxe", host: { root: "${root}" }, subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "static", hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.0.0.1/", pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"] },
  imageSource: "${root}/no-such-image",
  transport: "glusterfs", glusterVolfile: volfile, imagePath: "/images/os.tar.gz",
  ${extra}
});
`);
}

test("BootImage: every argument error at once (bad mode, no kernel given)", () => {
  const root = tmpDir("bad-image-args");
  // the SDK's BootMode type refuses "sideways" at compile time; `as any` reaches the provider's own check, as a
  // YAML or JavaScript program would
  const p = bootImageProject("bad-image-args", root, `mode: "sideways" as any,`);
  const r = p.run(["preview"]);
  p.remove();
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/mode = "sideways": must be one of/);
  expect(r.out).toMatch(/kernelVersion: give kernelVersion/);
  expect(walk(root)).toEqual([]);
});

test("BootImage: a volfile naming an xlator the build host lacks and a missing image fail at preview, together", () => {
  const root = tmpDir("bad-image-host");
  const kver = fs.readdirSync("/lib/modules").sort().pop();
  const p = bootImageProject("bad-image-host", root, `kernelVersion: "${kver}", mode: "ram",`);
  const r = p.run(["preview"]);
  p.remove();
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("features/no-such-xlator");
  expect(r.out).toContain("no-such-image");
  expect(walk(root)).toEqual([]);
});

test("File and FileSet: of several bad ones in one program, preview reports the one the engine checks first, and writes nothing", () => {
  // The engine (v3.248.0) checks custom resources one at a time: it receives all four registrations at once but
  // issues no second Check while the first is open (the provider holds a failing check until the run is quiet,
  // barrier.ts), and stops at the first failure. docs/bad-input.md ("Not done") has the trace. Should an engine
  // check them in parallel, this fails with all four found: then the docs' limit is gone and this asserts four.
  const root = tmpDir("bad-custom");
  const p = cliProject("bad-custom", `
import * as netboot from "${REPO}/sdk/nodejs";
new netboot.File("bad-file-1", { host: { root: "${root}" }, path: "/", content: "x" });
new netboot.File("bad-file-2", { host: { root: "${root}" }, path: "/etc/a", content: "x", mode: "0999" });
new netboot.FileSet("bad-set-1", { host: { root: "${root}" }, files: { "/etc/b": { content: "x", mode: "rwx" } } });
new netboot.FileSet("bad-set-2", { host: { root: "${root}" }, files: { "etc/c": { content: "x" } } });
`);
  const r = p.run(["preview"]);
  p.remove();
  expect(r.code).not.toBe(0);
  const errors = [
    'netboot:index:File "bad-file-1": path = "/": names a folder',
    'netboot:index:File "bad-file-2": mode = "0999": must be octal permission bits such as "0644"',
    'netboot:index:FileSet "bad-set-1": files["/etc/b"].mode = "rwx": must be octal permission bits such as "0644"',
    'netboot:index:FileSet "bad-set-2": files["etc/c"] = "etc/c": must be an absolute path',
  ];
  expect(errors.filter((e) => r.out.includes(e))).toHaveLength(1);
  expect(r.out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.out).not.toMatch(/grpc|client connection|resource monitor shut down/i);
  expect(walk(root)).toEqual([]);
});
