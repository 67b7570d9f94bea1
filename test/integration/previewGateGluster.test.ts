/**
 * Preview is the gate, on a fresh stack, for a BootImage fed a GlusterVolume's `clientVolfile`: the client
 * volfile is a pure render of the volume's arguments, so preview knows its content and the BootImage's
 * Initramfs check (the build plan against the build host: kernel, modules, busybox, glusterfs and the xlators
 * the volfile names) runs at preview, before the volume's files are written. At `up` the BootImage still builds
 * only once the volume's files are on the host (its volfile is what the client reads at boot). A managed volume's
 * volfile is glusterd's, unknown at preview: the Initramfs check then runs on a stand-in volfile, so every
 * build-host fact but the volfile's own xlators is still found at preview.
 *
 * Standalone mode on a local target root writes files only (no brick runs as a systemd unit here), so `up`
 * needs no gluster daemon.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as netboot from "../../sdk/nodejs";
import { cliProject, testStack, TestStack } from "../helpers/engine";
import { REPO, tmpDir } from "../helpers/env";

jest.setTimeout(600_000);

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;

function walk(d: string): string[] {
  return fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
}

/** Preview refused the bad module under the BootImage's name, wrote nothing, and stopped cleanly. */
function expectModuleRefused(r: { code: number; out: string }, root: string): void {
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/Initramfs resource 'img-initramfs' has a problem: netboot:index:BootImage "img": modules\[0\] = "no_such_module_nb": is not a module of kernel/);
  // refused before anything exists: preview writes nothing
  expect(walk(root)).toEqual([]);
  // a clean stop: no JavaScript stack trace, no gRPC noise
  expect(r.out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.out).not.toMatch(/grpc|client connection|resource monitor shut down/i);
}

const volume = (root: string) => ({
  host: { root }, mode: "standalone", layout: "distribute", clusterSubnet: "10.87.42.0/24",
  bricks: [{ host: "10.87.42.1", path: "/data/b1", port: 49400 }],
});
const bootImage = (root: string, image: string) => ({
  server: { host: { root }, httpRoot: "/srv/http", httpBaseUrl: "http://10.87.42.1/" },
  kernelVersion: KVER, imageSource: image, transport: "glusterfs", compression: "gzip", publishImage: false,
});

describe("a fresh stack: BootImage fed a GlusterVolume's clientVolfile", () => {
  const dir = tmpDir("preview-gate-gluster");
  const image = path.join(dir, "image");
  let t: TestStack | undefined;
  beforeAll(() => {
    fs.mkdirSync(path.join(image, "sbin"), { recursive: true });
    fs.writeFileSync(path.join(image, "sbin/init"), "#!/bin/sh\n", { mode: 0o755 });
  });
  afterAll(async () => {
    await t?.destroy().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("preview refuses a module the build host's kernel lacks, naming the BootImage, field and value; nothing written", () => {
    // Through the CLI: a failing inline program cannot report its error cleanly inside jest.
    const root = path.join(dir, "bad-target");
    fs.mkdirSync(root);
    const p = cliProject("preview-gate-bad", `
import * as netboot from "${REPO}/sdk/nodejs";
const gv = new netboot.GlusterVolume("gv", ${JSON.stringify(volume(root))});
new netboot.BootImage("img", { ...${JSON.stringify(bootImage(root, image))}, glusterVolfile: gv.clientVolfile, modules: ["no_such_module_nb"] } as any);
`);
    const r = p.run(["preview"]);
    const state = p.run(["stack", "export"]);
    p.remove();
    expectModuleRefused(r, root);
    expect(state.out).not.toContain("netboot:index:");
  });

  test("a managed volume's volfile (glusterd's, unknown at preview): preview still runs every build-host check that does not need it", () => {
    // glusterd is not started: at preview the managed volume's check is pure, and nothing talks to glusterd
    const root = path.join(dir, "bad-managed-target");
    fs.mkdirSync(root);
    const managed = { host: {}, mode: "managed", layout: "replicate", replica: 2, clusterSubnet: "10.87.43.0/24", allowSameHostSets: true, glusterdSocket: path.join(dir, "no-glusterd.sock"), bricks: [0, 1].map((i) => ({ host: "10.87.43.1", path: `/data/m${i}` })) };
    const project = (label: string, extra: string) => cliProject(label, `
import * as netboot from "${REPO}/sdk/nodejs";
const gv = new netboot.GlusterVolume("gv", ${JSON.stringify(managed)} as any);
new netboot.BootImage("img", { ...${JSON.stringify(bootImage(root, image))}, glusterVolfile: gv.clientVolfile${extra} } as any);
`);
    // the stand-in volfile refuses nothing a real one would pass: the same BootImage without the bad module previews
    const good = project("preview-gate-managed-ok", "");
    const ok = good.run(["preview"]);
    good.remove();
    expect(ok.out).toMatch(/netboot:index:Initramfs +img-initramfs +create/);
    expect(ok.code).toBe(0);
    const p = project("preview-gate-managed", `, modules: ["no_such_module_nb"]`);
    const r = p.run(["preview"]);
    const state = p.run(["stack", "export"]);
    p.remove();
    expectModuleRefused(r, root);
    expect(state.out).not.toContain("netboot:index:");
  });

  test("an image source unknown at preview (an upstream output, as an OsImage's root on a fresh stack): every other build-host check still runs", () => {
    const root = path.join(dir, "unknown-image-target");
    fs.mkdirSync(root);
    // a File's output is unknown at preview on a fresh stack; the image source follows it, as `os.rootPath` does
    const project = (label: string, extra: string) => cliProject(label, `
import * as netboot from "${REPO}/sdk/nodejs";
const gv = new netboot.GlusterVolume("gv", ${JSON.stringify(volume(root))});
const marker = new netboot.File("marker", { host: { root: ${JSON.stringify(root)} }, path: "/etc/marker", content: "x\\n" });
new netboot.BootImage("img", { ...${JSON.stringify(bootImage(root, image))}, imageSource: marker.sha256.apply(() => ${JSON.stringify(image)}), glusterVolfile: gv.clientVolfile${extra} } as any);
`);
    // the stand-in image source refuses nothing a real one would pass
    const good = project("preview-gate-image-ok", "");
    const ok = good.run(["preview"]);
    good.remove();
    expect(ok.out).toMatch(/netboot:index:Initramfs +img-initramfs +create/);
    expect(ok.code).toBe(0);
    const p = project("preview-gate-image", `, modules: ["no_such_module_nb"]`);
    const r = p.run(["preview"]);
    p.remove();
    expectModuleRefused(r, root);
  });

  test("a YAML Cluster whose image this build host cannot build: refused at preview, the construct answered by name, no gRPC noise", () => {
    // A YAML program's Cluster goes to an unversioned default provider and its children to the versioned one
    // (childOpts), so the refused check and the waiting construct are in two provider processes: the construct is
    // answered when the engine cancels the providers (provider.ts cancel), not cut off.
    const root = path.join(dir, "yaml-target");
    fs.mkdirSync(root);
    const p = cliProject("preview-gate-yaml", "");
    fs.rmSync(path.join(p.dir, "index.ts"));
    fs.writeFileSync(path.join(p.dir, "cluster.yaml"), [
      "version: 1",
      `defaults: { host: { root: ${JSON.stringify(root)} } }`,
      "servers: { pxe: { interface: eth1, subnet: 10.87.44.0/24, serverIp: 10.87.44.1, dhcpMode: authoritative, dynamicRange: { start: 10.87.44.200, end: 10.87.44.250 } } }",
      "volumes: { gv0: { mode: standalone, layout: distribute, clusterSubnet: 10.87.44.0/24, bricks: [{ host: 10.87.44.2, path: /bricks/gv0 }] } }",
      `images: { img: { volume: gv0, transport: glusterfs, imageSource: ${JSON.stringify(image)}, imagePath: /images/img, kernelVersion: ${KVER}, modules: [no_such_module_nb] } }`,
      "",
    ].join("\n"));
    fs.writeFileSync(path.join(p.dir, "Pulumi.yaml"), `name: preview-gate-yaml\nruntime: yaml\nplugins:\n  providers:\n    - name: netboot\n      path: ${path.join(REPO, "bin")}\n` +
      "resources:\n  lab:\n    type: netboot:index:Cluster\n    properties:\n      inventoryPath: ./cluster.yaml\n");
    const r = p.run(["preview"]);
    p.remove();
    expectModuleRefused(r, root);
    expect(r.out).toContain('netboot:index:Cluster "lab": not constructed: the engine stopped the run');
  });

  test("up builds the BootImage only after the volume's volfiles are written", async () => {
    const root = path.join(dir, "target");
    fs.mkdirSync(root);
    t = await testStack("preview-gate-order", async () => {
      const gv = new netboot.GlusterVolume("gv", volume(root) as netboot.GlusterVolumeArgs);
      const img = new netboot.BootImage("img", { ...bootImage(root, image), glusterVolfile: gv.clientVolfile } as any);
      return { initrdUrl: img.initrdUrl };
    });
    const events: EngineEvent[] = [];
    const up = await t.stack.up({ onOutput: (s) => t!.log.push(s), onEvent: (e) => events.push(e) });
    expect(up.summary.result).toBe("succeeded");
    const at = (kind: "resourcePreEvent" | "resOutputsEvent", suffix: string) =>
      events.findIndex((e) => {
        const m = (e as any)[kind]?.metadata;
        return m && m.op === "create" && String(m.urn).endsWith(suffix);
      });
    const volfilesDone = at("resOutputsEvent", "netboot:index:FileSet::gv-volfiles");
    const initramfsStarts = at("resourcePreEvent", "netboot:index:Initramfs::img-initramfs");
    expect(volfilesDone).toBeGreaterThanOrEqual(0);
    expect(initramfsStarts).toBeGreaterThanOrEqual(0);
    expect(initramfsStarts).toBeGreaterThan(volfilesDone);
    expect(fs.existsSync(path.join(root, "etc/netboot/gluster/gv/gv.tcp-fuse.vol"))).toBe(true);
  });
});
